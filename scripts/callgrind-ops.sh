#!/usr/bin/env bash
# Instructions per operation (callgrind, so independent of machine load) for mapsafe's maps and
# the peers, from benches/instructions.rs: one `#[inline(never)]` loop of 16384 operations per
# (map, operation); its inclusive instruction count divided by 16384 is printed as a table.
#
#   scripts/callgrind-ops.sh
#
# Needs valgrind. Uses the bench profile (optimised, as `cargo bench` builds).
set -euo pipefail
cd "$(dirname "$0")/.."
n=16384
bin=$(cargo bench --no-run --bench instructions --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "instructions" and m.get("executable"):
        print(m["executable"])')
out=$(mktemp)
trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" 2>/dev/null
callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null | python3 -c '
import re, sys
n = int(sys.argv[1])
maps = ["engine_plain_64", "engine_versioned_64", "engine_unprobed_64", "dashmap_foldhash_64", "mapsafe_plain", "mapsafe_versioned", "dashmap_std", "dashmap_foldhash", "hashbrown_unsync"]
ops = ["get", "read", "update", "insert", "remove", "load", "entry", "transfer", "grow"]
cost = {}
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) .*?instructions::(\w+)::(get|read|update|insert|remove|load|entry|transfer|grow)\b", line)
    if m:
        cost[(m.group(2), m.group(3))] = int(m.group(1).replace(",", "")) / n
print("| map | " + " | ".join(ops) + " |")
print("|---|" + "---:|" * len(ops))
for mp in maps:
    cells = [cost.get((mp, op)) for op in ops]
    print(f"| {mp} | " + " | ".join("?" if c is None else f"{c:.0f}" for c in cells) + " |")
' "$n"
