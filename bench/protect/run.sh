#!/usr/bin/env bash
# Encryption cost on the store benchmarks (issue 7): the same generated bundle imported
# into a plain and an encrypted (SQLCipher) store, then `liaison bench search` on each,
# alternating plain/encrypted for ROUNDS rounds so that machine load hits both alike.
# Prints a Markdown table. Usage: bench/protect/run.sh [OBJECTS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-300000}
ROUNDS=${2:-2}
W=${BENCH_TMP:-/tmp/liaison-bench-protect}
mkdir -p "$W"
[ -n "${NO_BUILD:-}" ] || cargo build --release -p liaison --quiet
L=$PWD/target/release/liaison
[ -f "$W/bundle-$N.json" ] || $L gen bundle --objects "$N" --seed 1 --out "$W/bundle-$N.json"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| round | store | import (wall) | import CPU (user+sys) | liaison bench search --queries 500 | load |"
echo "|---|---|---|---|---|---|"
for r in $(seq 1 "$ROUNDS"); do
  for mode in plain encrypted; do
    D="$W/$mode"; rm -rf "$D" "$W/$mode.key"
    $L init --data "$D" >/dev/null
    env=()
    if [ "$mode" = encrypted ]; then
      $L keys init --data "$D" --generate-key-file "$W/$mode.key" >/dev/null
      env=(LIAISON_MASTER_KEY_FILE="$W/$mode.key")
    fi
    /usr/bin/time -f "%e %U %S" -o "$W/t.txt" env "${env[@]}" $L import --data "$D" "$W/bundle-$N.json" >/dev/null
    read -r secs usr sys < "$W/t.txt"
    cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN{printf "%.1f", u+s}')
    search=$(env "${env[@]}" $L bench search --data "$D" --queries 500)
    echo "| $r | $mode | $(awk -v n="$N" -v s="$secs" 'BEGIN{printf "%.0f objects/s (%.1f s)", n/s, s}') | $cpu s | $search | $(cut -d' ' -f1 /proc/loadavg) |"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
