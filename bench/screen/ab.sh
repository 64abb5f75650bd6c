#!/usr/bin/env bash
# A/B of two `liaison screen` binaries on the bench corpus, alternated (so that
# both see the same load on a shared machine), with ripgrep in the same loop:
# wall and CPU seconds (user + system) of each run, then the medians.
#
#   A=/tmp/old/liaison-screen B=target-screen2/release/examples/liaison-screen \
#     WORK=/tmp/liaison-screen-bench bench/screen/ab.sh
#
# A and B are the stand-in binary of `crates/liaison-screen/examples/liaison-screen.rs`
# (or `liaison`: set SUB="screen"). REPS runs of each (default 5); the corpus,
# watchlist and indicators are those `bench/screen/run.sh` generated in WORK.
set -euo pipefail
REPS=${REPS:-5}
source "$(dirname "$0")/ab-lib.sh"
for ((r = 1; r <= REPS; r++)); do
  one A-c "$A" $SUB -c -f "$W" --indicators "$I" "$C"
  one B-c "$B" $SUB -c -f "$W" --indicators "$I" "$C"
  one A-json "$A" $SUB -f "$W" --indicators "$I" "$C"
  one B-json "$B" $SUB -f "$W" --indicators "$I" "$C"
  one rg rg -F -c -f "$W" "$C"
done
echo "medians of $REPS (wall s, CPU s):"
for n in A-c B-c A-json B-json rg; do
  printf '%-8s %s %s\n' "$n" "$(echo "${WALL[$n]}" | median)" "$(echo "${CPU[$n]}" | median)"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
