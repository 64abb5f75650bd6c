#!/usr/bin/env bash
# A/B of MISP object conversion (MISP -> STIX) between two builds of the
# misp2stix example: the table-driven templates (B, this tree) against the
# crate before them (A, commit 994bc2f, built into $OLD). Alternates A and B
# (same load), prints wall and user+sys seconds per run.
#   OLD=/tmp/misp-old crates/liaison-misp/bench/objects_ab.sh [objects] [rounds]
# Build A once:
#   mkdir -p $OLD && git archive 994bc2f crates/liaison-misp | tar -x -C $OLD
#   (plus a workspace Cargo.toml there: see bench/records/misp-objects-2026-11-29-misp.md)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
n=${1:-20000}
rounds=${2:-5}
OLD=${OLD:-/tmp/misp-old}
a="$OLD/target/release/examples/misp2stix"
b="$root/target/release/examples/misp2stix"
(cd "$root" && cargo build --release -q -p liaison-misp --example misp2stix)
ev=$(mktemp /tmp/misp-objects-XXXXXX.json)
trap 'rm -f "$ev"' EXIT
python3 "$here/gen_objects.py" "$n" > "$ev"
echo "event: $n objects, $(stat -c %s "$ev") bytes; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for side in A B; do
    bin=$a; [ "$side" = B ] && bin=$b
    /usr/bin/time -f "$side round $r: wall %e s, user+sys %U+%S s, max RSS %M KB" "$bin" "$ev" --count
  done
done
