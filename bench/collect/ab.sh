#!/usr/bin/env bash
# A/B of the CSV indicator feed's first load (issue 8): the same generated feed, run by
# `liaison feed run` into a fresh data directory with each binary in turn, RUNS times,
# alternated, so that the machine's other load falls on both alike. Prints wall, CPU
# (user + sys, which the other load does not change) and peak RSS per run.
#   bench/collect/ab.sh LINES RUNS BIN_A [BIN_B ...]     env: BENCH_TMP
# Example: bench/collect/ab.sh 100000 3 /tmp/liaison-before target/release/liaison
set -euo pipefail
cd "$(dirname "$0")/../.."
N=$1
RUNS=$2
shift 2
W=${BENCH_TMP:-/tmp/liaison-bench-collect}
mkdir -p "$W"
if [ ! -f "$W/iocs-$N.csv" ]; then
    mkdir -p "$W/gen"
    python3 bench/collect/gen.py "$W/gen" "$N" 1
    mv "$W/gen/iocs.csv" "$W/iocs-$N.csv"
fi
echo "machine: $(nproc) cores; feed: $N lines, $(du -h "$W/iocs-$N.csv" | cut -f1)"
printf '%-40s %4s %8s %8s %8s %8s %9s %s\n' binary run wall user sys cpu rss_MiB load_before
for r in $(seq 1 "$RUNS"); do
    for bin in "$@"; do
        D="$W/data-ab"
        rm -rf "$D"
        "$bin" --data "$D" init --org cert >/dev/null
        "$bin" --data "$D" feed add big "$W/iocs-$N.csv" --format csv --header --value-column ioc \
            --type-column ioc_type --labels-column threat --first-seen-column dateadded 2>/dev/null
        load=$(cut -d' ' -f1 /proc/loadavg)
        /usr/bin/time -o "$W/time.txt" -f "%e %U %S %M" "$bin" --data "$D" feed run big >"$W/run.txt" 2>&1
        read -r wall user sys rss <"$W/time.txt"
        printf '%-40s %4s %8s %8s %8s %8.2f %9d %s\n' "$bin" "$r" "$wall" "$user" "$sys" \
            "$(echo "$user + $sys" | bc)" "$((rss / 1024))" "$load"
    done
done
rm -rf "$W/data-ab"
