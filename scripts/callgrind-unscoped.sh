#!/usr/bin/env bash
# What the re-entrancy check costs: the same instruction counts as scripts/callgrind-ops.sh, on a
# copy of the tree whose re-entrancy scope (mapsafe-core/src/reentry.rs) is patched to do nothing.
# The patched build is a measurement only: no such mode ships. Prints the same table.
#
#   scripts/callgrind-unscoped.sh
#
# Needs valgrind and python3. The copy lives in a temporary directory and shares this tree's
# target directory for dependencies it does not change.
set -euo pipefail
cd "$(dirname "$0")/.."
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
git ls-files -z | xargs -0 -I{} cp --parents {} "$copy"
python3 - "$copy/mapsafe-core/src/reentry.rs" <<'PY'
import sys
path = sys.argv[1]
s = open(path).read()
enter = """    let enclosing = INNERMOST.with(Cell::get);
    if enclosing != 0 {
        return enter_nested(enclosing, id, op, refused());
    }
    INNERMOST.with(|c| c.set(pack(id, op)));
    Scope { enclosing: 0 }"""
leave = """        if self.enclosing == 0 {
            INNERMOST.with(|c| c.set(0));
        } else {
            leave_nested();
        }"""
assert enter in s and leave in s, "reentry.rs changed: update this script's patch"
s = s.replace(enter, "    let _ = (id, op, refused);\n    Scope { enclosing: 0 }")
s = s.replace(leave, "        let _ = self.enclosing;")
open(path, "w").write(s)
PY
cd "$copy"
CARGO_TARGET_DIR="$OLDPWD/target/unscoped" RUSTFLAGS="-A dead_code" scripts/callgrind-ops.sh
