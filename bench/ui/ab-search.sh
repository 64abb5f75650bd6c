#!/usr/bin/env bash
# A/B of the search pages' server CPU per request (bench/ui/run.sh, ONLY=search) between
# two liaison binaries, alternated, over an existing 1M-object data directory.
# usage: BEFORE=<binary> AFTER=<binary> BENCH_TMP=<dir holding data-1000000> bench/ui/ab-search.sh
# BENCH_TMP/data-1000000 must already be built (its .built file present); the bundle is
# not read (HUB names the hub identity), so an empty placeholder stands in for it.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BEFORE:?binary A}" "${AFTER:?binary B}" "${BENCH_TMP:?dir with data-1000000}"
[ -f "$BENCH_TMP/data-1000000/.built" ] || { echo "no built store in $BENCH_TMP/data-1000000" >&2; exit 1; }
[ -f "$BENCH_TMP/bundle-1000000.json" ] || touch "$BENCH_TMP/bundle-1000000.json"
for r in 1 2; do
    for bin in "$BEFORE" "$AFTER"; do
        echo "### $bin run $r $(date -u +%T) $(uptime | sed 's/.*load/load/')"
        HUB=${HUB:-identity--71b2e35e-23e5-410b-a2bf-1ddadd310bb2} BUNDLE=$BENCH_TMP/bundle-1000000.json \
        DUR=${DUR:-5s} BENCH_TMP=$BENCH_TMP LIAISON_BIN=$bin ONLY=search bench/ui/run.sh
    done
done
