#!/usr/bin/env bash
# A/B of two `liaison screen` binaries on the three ratios of issue 4, in one
# alternated loop with ripgrep, so that all see the same load:
#   cs    screen -c --no-extract -f watchlist.txt corpus.txt        (>= 5x rg)
#   ci    the same with -i                                          (>= 0.80 of cs)
#   full  screen -c -f watchlist.txt --indicators indicators.json   (>= 2.5x rg)
#   rg    rg -F -c -f watchlist.txt corpus.txt
# Prints each run's wall and CPU seconds (user + system), then the medians
# and the ratios of the medians (wall, and CPU for reference).
#
#   A=/tmp/old/liaison-screen B=/work/target-screen/release/examples/liaison-screen \
#     WORK=/tmp/liaison-screen-bench REPS=7 bench/screen/ab-margin.sh
set -euo pipefail
REPS=${REPS:-7}
source "$(dirname "$0")/ab-lib.sh"
for ((r = 1; r <= REPS; r++)); do
  one rg rg -F -c -f "$W" "$C"
  for v in A B; do
    bin=${!v}
    one "$v-cs" "$bin" $SUB -c --no-extract -f "$W" "$C"
    one "$v-ci" "$bin" $SUB -c --no-extract -i -f "$W" "$C"
    one "$v-full" "$bin" $SUB -c -f "$W" --indicators "$I" "$C"
  done
done
declare -A MW MC
echo "medians of $REPS (wall s, CPU s):"
for n in rg A-cs B-cs A-ci B-ci A-full B-full; do
  MW[$n]=$(echo "${WALL[$n]}" | median); MC[$n]=$(echo "${CPU[$n]}" | median)
  printf '%-8s %s %s\n' "$n" "${MW[$n]}" "${MC[$n]}"
done
for v in A B; do
  echo "$v: cs $(ratio "${MW[rg]}" "${MW[$v-cs]}")x rg (target 5), full $(ratio "${MW[rg]}" "${MW[$v-full]}")x rg (target 2.5), ci/cs $(ratio "${MW[$v-cs]}" "${MW[$v-ci]}") (target 0.80); per CPU-s: cs $(ratio "${MC[rg]}" "${MC[$v-cs]}")x, full $(ratio "${MC[rg]}" "${MC[$v-full]}")x, ci/cs $(ratio "${MC[$v-cs]}" "${MC[$v-ci]}")"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
