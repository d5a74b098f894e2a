#!/usr/bin/env bash
# Reproduces every number in BENCHMARKS.md but etcd's: runs the throughput, figures, memory,
# compound and revision-counter benches, the macro compile-cost script and (where valgrind is
# installed) the callgrind instruction counts, and writes their outputs, the machine's description
# and the throughput charts to benches/results/.
#
#   scripts/bench-all.sh
#
# The benches' own environment variables (see the top of each file in benches/) pass through,
# e.g. MAPSAFE_BENCH_ROUNDS=3 for a shorter throughput run. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benches/results
mkdir -p "$out"

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!benches/results' || echo ' (with uncommitted changes)')"
    echo "rustc: $(rustc --version)"
    echo "nproc: $(nproc)"
    echo "kernel: $(uname -sr)"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    lscpu | grep -E '^(Architecture|Model name|CPU family|Model:|CPU\(s\)|Thread|Core|Socket|L1d|L2|L3|Hypervisor)'
} >"$out/machine.txt"
cat "$out/machine.txt"

cargo bench --no-run -q
MAPSAFE_BENCH_CSV="$out/throughput.csv" cargo bench -q --bench throughput \
    2>"$out/throughput.log" | tee "$out/throughput.md"
# The same on tables that fit in the last-level cache (2^18 slots, 4x as many operations so that a
# run lasts long enough to time), where per-operation costs weigh more.
small=(MAPSAFE_BENCH_CAP_LOG2="${MAPSAFE_SMALL_CAP_LOG2:-18}" MAPSAFE_BENCH_OPS="${MAPSAFE_SMALL_OPS:-4}"
    MAPSAFE_BENCH_ROUNDS="${MAPSAFE_SMALL_ROUNDS:-7}")
env "${small[@]}" MAPSAFE_BENCH_CSV="$out/throughput-small.csv" cargo bench -q --bench throughput \
    2>"$out/throughput-small.log" | tee "$out/throughput-small.md"
# Where a versioned map's cost goes: dashmap with the same hasher, with 16-byte entries (a plain
# mapsafe entry's size) and with 24-byte ones (a versioned entry's: record and revision).
env "${small[@]}" MAPSAFE_BENCH_MAPS=mapsafe,mapsafe-versioned,dashmap-foldhash,dashmap-foldhash-wide \
    MAPSAFE_BENCH_BASELINE=dashmap-foldhash cargo bench -q --bench throughput \
    2>/dev/null | tee "$out/throughput-entry-size.md"
cargo bench -q --bench figures | tee "$out/figures.md"
# The same with glibc's allocator told to keep freed memory (no trimming, no per-allocation mmap, one
# arena), which shows how much of a writer's stall is its copy landing on freshly mapped memory.
MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 \
    cargo bench -q --bench figures | tee "$out/figures-warm-allocator.md"
cargo bench -q --bench memory | tee "$out/memory.md"
cargo bench -q --bench compound | tee "$out/compound.md"
cargo bench -q --bench counter | tee "$out/counter.md"
scripts/macro-compile-cost.sh | tee "$out/compile-cost.md"
if command -v valgrind >/dev/null; then
    scripts/callgrind-ops.sh | tee "$out/instructions.md"
fi
python3 scripts/throughput-chart.py "$out/throughput.csv" "$out/throughput.svg" \
    "tables of 2^${MAPSAFE_BENCH_CAP_LOG2:-22} slots"
python3 scripts/throughput-chart.py "$out/throughput-small.csv" "$out/throughput-small.svg" \
    "tables of 2^${MAPSAFE_SMALL_CAP_LOG2:-18} slots"
echo "wrote $out/"
