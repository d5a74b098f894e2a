#!/usr/bin/env bash
# Compile-time cost of #[concurrent_map]: builds a throwaway crate with 20 annotated structs and
# the same crate with the attribute (and #[key]) removed, both depending on mapsafe from this
# repository, and times `cargo build` of the crate itself (its dependencies are built once first,
# so only the crate's own expansion, type checking and code generation are timed).
#
#   scripts/macro-compile-cost.sh            # dev profile, 5 timed builds each, medians
#   RUNS=9 PROFILE=release scripts/macro-compile-cost.sh
#
# Prints a markdown table. Needs bash 5, cargo and python3 (for the medians).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
runs="${RUNS:-5}"
profile="${PROFILE:-dev}"
structs="${STRUCTS:-20}"
work="$(mktemp -d "${TMPDIR:-/tmp}/mapsafe-compile-cost.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$work/target"

make_crate() { # name annotated(0|1)
    local dir="$work/$1"
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
mapsafe = { path = "$repo" }

[workspace]
TOML
    cp "$repo/Cargo.lock" "$dir/Cargo.lock"
    {
        echo "//! $structs record structs$([ "$2" = 1 ] && echo ', each a #[concurrent_map]')."
        echo "#![allow(dead_code)]"
        for i in $(seq 1 "$structs"); do
            echo
            [ "$2" = 1 ] && echo "#[mapsafe::concurrent_map]"
            echo "#[derive(Clone, Debug, PartialEq)]"
            echo "pub struct Record$i {"
            [ "$2" = 1 ] && echo "    #[key]"
            echo "    pub id: u64,"
            echo "    pub name: String,"
            echo "    pub count: u32,"
            echo "    pub updated_at: u64,"
            echo "}"
        done
    } >"$dir/src/lib.rs"
}

# Median wall time, in seconds, of $runs builds of crate $1 after touching its source.
time_builds() {
    local dir="$work/$1" times=()
    (cd "$dir" && cargo build -q --profile "$profile") # dependencies, not timed
    for _ in $(seq 1 "$runs"); do
        touch "$dir/src/lib.rs"
        local start="$EPOCHREALTIME"
        (cd "$dir" && cargo build -q --profile "$profile")
        times+=("$start:$EPOCHREALTIME")
    done
    python3 -c 'import statistics, sys
spans = [tuple(map(float, a.split(":"))) for a in sys.argv[1:]]
print(f"{statistics.median(end - start for start, end in spans):.3f}")' "${times[@]}"
}

make_crate plain_records 0
make_crate annotated_records 1
plain=$(time_builds plain_records)
annotated=$(time_builds annotated_records)
python3 - "$plain" "$annotated" "$structs" "$profile" "$runs" <<'PY'
import sys
plain, annotated, n, profile, runs = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"| crate ({n} structs, `cargo build --profile {profile}`, median of {runs}) | seconds |")
print("|---|---:|")
print(f"| plain structs | {plain:.2f} |")
print(f"| `#[concurrent_map]` structs | {annotated:.2f} |")
print(f"| cost of the attribute | {annotated - plain:+.2f} s ({(annotated - plain) / n * 1000:.0f} ms per struct, {annotated / plain:.1f}x) |")
PY
