#!/usr/bin/env bash
# A/B of two `liaison screen` binaries on the watchlist-only figure of issue 4
# (`screen -c --no-extract -f watchlist.txt corpus.txt` against `rg -F -c`),
# alternated so that both see the same load: wall, CPU seconds (user + system)
# and peak RSS of each run, then the medians. Extra arguments for B only go in
# B_ARGS (e.g. B_ARGS=--no-mmap to compare B with itself reading).
#
#   A=/tmp/old/liaison-screen B=/work/target-screen/release/examples/liaison-screen \
#     WORK=/tmp/liaison-screen-bench REPS=7 bench/screen/ab-wl.sh
set -euo pipefail
REPS=${REPS:-7}
B_ARGS=${B_ARGS:-}
source "$(dirname "$0")/ab-lib.sh"
for ((r = 1; r <= REPS; r++)); do
  one A "$A" $SUB -c --no-extract -f "$W" "$C"
  # shellcheck disable=SC2086
  one B "$B" $SUB -c --no-extract $B_ARGS -f "$W" "$C"
  one rg rg -F -c -f "$W" "$C"
done
echo "medians of $REPS (wall s, CPU s, peak RSS MiB):"
for n in A B rg; do
  printf '%-4s %s %s %s\n' "$n" "$(echo "${WALL[$n]}" | median)" "$(echo "${CPU[$n]}" | median)" "$(echo "${RSS[$n]}" | median)"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
