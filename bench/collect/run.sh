#!/usr/bin/env bash
# Collection figures: a 1M-line CSV indicator feed and a 10,000-item RSS feed, each
# ingested end to end (parse, STIX objects with provenance, merge look-up, store)
# by `liaison feed run` into a fresh store. Needs a release build.
#   bench/collect/run.sh [CSV_LINES] [RSS_ITEMS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${LIAISON_BIN:-target/release/liaison}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
python3 bench/collect/gen.py "$W" "${1:-1000000}" "${2:-10000}"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "csv: $(wc -l < "$W/iocs.csv") lines, $(du -h "$W/iocs.csv" | cut -f1); rss: $(du -h "$W/news.rss" | cut -f1)"
for feed in csv rss; do
  D="$W/data-$feed"
  "$BIN" --data "$D" init --org cert >/dev/null
  if [ $feed = csv ]; then
    "$BIN" --data "$D" feed add big "$W/iocs.csv" --format csv --header --value-column ioc \
      --type-column ioc_type --labels-column threat --first-seen-column dateadded 2>/dev/null
  else
    "$BIN" --data "$D" feed add news "$W/news.rss" --format news 2>/dev/null
  fi
  name=$([ $feed = csv ] && echo big || echo news)
  /usr/bin/time -f "$feed: wall %e s, user %U s, sys %S s, max RSS %M KiB" "$BIN" --data "$D" feed run "$name"
  echo "load after $feed: $(cut -d' ' -f1-3 /proc/loadavg)"
  # A second run of the same content: every object is found stored and unchanged.
  /usr/bin/time -f "$feed again: wall %e s, user %U s, sys %S s, max RSS %M KiB" "$BIN" --data "$D" feed run "$name"
done
