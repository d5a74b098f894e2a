#!/usr/bin/env bash
# Reproduces every number in BENCHMARKS.md: runs the throughput, figures and memory benches and
# the macro compile-cost script, and writes their outputs, the machine's description and the
# throughput chart to benches/results/.
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
    lscpu | grep -E '^(Architecture|Model name|CPU\(s\)|Thread|Core|Socket|L1d|L2|L3|Hypervisor)'
} >"$out/machine.txt"
cat "$out/machine.txt"

cargo bench --no-run -q
MAPSAFE_BENCH_CSV="$out/throughput.csv" cargo bench -q --bench throughput \
    2>"$out/throughput.log" | tee "$out/throughput.md"
cargo bench -q --bench figures | tee "$out/figures.md"
cargo bench -q --bench memory | tee "$out/memory.md"
scripts/macro-compile-cost.sh | tee "$out/compile-cost.md"
python3 scripts/throughput-chart.py "$out/throughput.csv" "$out/throughput.svg"
echo "wrote $out/"
