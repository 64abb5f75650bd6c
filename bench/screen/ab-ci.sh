#!/usr/bin/env bash
# A/B of two `liaison screen` binaries on the case-insensitive figure of
# issue 4 only (watchlist only, -i at >= 80 % of the same binary's
# case-sensitive throughput), in one alternated loop so that all runs see
# the same load. Quicker than ab-margin.sh (no ripgrep, no extraction).
#   cs    screen -c --no-extract -f watchlist.txt corpus.txt
#   ci    the same with -i
# Prints each run's wall and CPU seconds (user + system), the medians, and
# ci/cs of the medians (wall and CPU).
#
#   A=/tmp/old/liaison-screen B=/work/target-screen/release/examples/liaison-screen \
#     WORK=/tmp/liaison-screen-bench REPS=9 bench/screen/ab-ci.sh
set -euo pipefail
REPS=${REPS:-9}
source "$(dirname "$0")/ab-lib.sh"
for ((r = 1; r <= REPS; r++)); do
  for v in A B; do
    bin=${!v}
    one "$v-cs" "$bin" $SUB -c --no-extract -f "$W" "$C"
    one "$v-ci" "$bin" $SUB -c --no-extract -i -f "$W" "$C"
  done
done
declare -A MW MC
echo "medians of $REPS (wall s, CPU s):"
for n in A-cs A-ci B-cs B-ci; do
  MW[$n]=$(echo "${WALL[$n]}" | median); MC[$n]=$(echo "${CPU[$n]}" | median)
  printf '%-6s %s %s\n' "$n" "${MW[$n]}" "${MC[$n]}"
done
for v in A B; do
  echo "$v: ci/cs $(ratio "${MW[$v-cs]}" "${MW[$v-ci]}") wall, $(ratio "${MC[$v-cs]}" "${MC[$v-ci]}") CPU (target 0.80)"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
