#!/usr/bin/env bash
# Server figures of issue 5, measured in one run on this machine:
#   1. GET a page of 100 objects from a 5,000-object collection: Liaison vs medallion
#      (the OASIS reference TAXII server, memory backend), same objects, same page size,
#      same concurrency, same load generator (wrk), HTTP Basic auth on both.
#   2. POST of 10,000-object envelopes: objects acknowledged per second (filling a
#      collection to BIG objects, default 1,000,000).
#   3. GET a page of 100 from that collection: p99 latency.
# usage: bench/server/run.sh [BIG]   (BIG=100000 for a quick run)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIG=${1:-1000000}
DUR=${DUR:-20s}
CONC=${CONC:-16}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
scripts/setup.sh >/dev/null
cargo build --release -q -p liaison
B=$PWD/target/release/liaison
W=$(mktemp -d /tmp/liaison-server-bench.XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
PW=bench-password-1
AUTH="Basic $(printf 'admin:%s' "$PW" | base64 -w0)"
MEDIA='application/taxii+json;version=2.1'
SMALL=91a7b528-80eb-42ed-a74d-c6fbd5a26116
LARGE=52892447-4d7e-4f70-b94d-d7f22742ff63

echo "== machine"; nproc; grep -m1 'model name' /proc/cpuinfo || true; uptime
echo "== data"
$B gen bundle --objects 5000 --seed 1 --out "$W/b5k.json"
$B --data "$W/lz" init --org cert >/dev/null
sed -i "/^\\[server\\]$/d" "$W/lz/config.toml"
cat >> "$W/lz/config.toml" <<CFG

[server]
rate_limit = 0.0
max_body_mib = 256

[[server.collections]]
id = "$SMALL"
api_root = "liaison"
title = "bench 5k"
ceiling_level = "TOP SECRET"
ceiling_compartments = ["GRID", "TELCO", "FIN"]
read = ["*"]
write = ["cert"]

[[server.collections]]
id = "$LARGE"
api_root = "liaison"
title = "bench big"
ceiling_level = "TOP SECRET"
ceiling_compartments = ["GRID", "TELCO", "FIN"]
read = ["*"]
write = ["cert"]
CFG
LIAISON_PASSWORD=$PW $B --data "$W/lz" serve passwd admin
$B --data "$W/lz" serve --port 18080 2>"$W/liaison.log" &
.venv/bin/python bench/server/medallion_data.py "$W/b5k.json" "$SMALL" 18081 "$W"
.venv/bin/medallion --port 18081 "$W/medallion-config.json" >"$W/medallion.log" 2>&1 &
for i in $(seq 1 100); do
  curl -sf -o /dev/null http://127.0.0.1:18080/health && curl -s -o /dev/null http://127.0.0.1:18081/ && break
  sleep 0.3
done
L=http://127.0.0.1:18080/taxii2/liaison/collections
M=http://127.0.0.1:18081/api1/collections/$SMALL/objects/
.venv/bin/python bench/server/post_envelopes.py "$L/$SMALL/objects/" "$AUTH" "$W/b5k.json" >/dev/null

check() { # url: one page of 100 objects, same count on both servers
  curl -sf -H "Authorization: $AUTH" -H "Accept: $MEDIA" "$1" | .venv/bin/python -c 'import json,sys; print(len(json.load(sys.stdin)["objects"]))'
}
echo "objects on a page: liaison $(check "$L/$SMALL/objects/?limit=100"), medallion $(check "$M?limit=100")"
bench() { # name url [connections] [duration]
  echo "== $1 (c=${3:-$CONC})"
  wrk -t"$(( ${3:-$CONC} < 2 ? 1 : 2 ))" -c"${3:-$CONC}" -d"${4:-$DUR}" --timeout 300s --latency -H "Authorization: $AUTH" -H "Accept: $MEDIA" "$2" | tee "$W/$1.txt" \
    | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|requests in'
}
# medallion sorts the collection against its manifest on every request (quadratic in
# the collection size), so one page takes minutes: one connection, a long run.
bench medallion-5k "$M?limit=100" 1 "${DUR_M:-300s}"
bench liaison-5k-c1 "$L/$SMALL/objects/?limit=100" 1
bench liaison-5k "$L/$SMALL/objects/?limit=100"
rps() { # completed requests / duration (wrk prints the duration as 20.01s or 5.00m)
  awk '/requests in/ {d = $4; sub(/,$/, "", d); m = (d ~ /m$/) ? 60 : 1; sub(/[ms]$/, "", d); print $1 / (d * m)}' "$W/$1.txt"
}
reqs() { awk '/requests in/ {print $1}' "$W/$1.txt"; }
echo "RATIO liaison/medallion requests/s (5k collection, page 100, c=1): $(.venv/bin/python -c "m=$(rps medallion-5k); print(round($(rps liaison-5k-c1)/m) if m else 'medallion completed no request in the run')") (medallion completed $(reqs medallion-5k) requests)"
kill %2 2>/dev/null || true   # medallion no longer needed

echo "== POST 10,000-object envelopes into a $BIG-object collection"
N=$((BIG / 10000))
mkdir -p "$W/env"
for i in $(seq 1 "$N"); do $B gen bundle --objects 10000 --seed $((1000 + i)) --out "$W/env/e$i.json"; done
.venv/bin/python bench/server/post_envelopes.py "$L/$LARGE/objects/" "$AUTH" $(ls -v "$W"/env/e*.json) | tee "$W/post.json"
rm -rf "$W/env"
bench liaison-big-first-page "$L/$LARGE/objects/?limit=100"
bench liaison-big-first-page-c2 "$L/$LARGE/objects/?limit=100" 2
# A page deep in the collection: the cursor of entry BIG/2.
NEXT=$(curl -sf -H "Authorization: $AUTH" -H "Accept: $MEDIA" "$L/$LARGE/manifest/?limit=1" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["next"])')
MID=$(.venv/bin/python - "$NEXT" "$BIG" <<'PY'
import base64, sys
seq = int(base64.urlsafe_b64decode(sys.argv[1] + "==")[1:]) + int(sys.argv[2]) // 2
print(base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("="))
PY
)
bench liaison-big-mid-page "$L/$LARGE/objects/?limit=100&next=$MID"
bench liaison-big-mid-page-c2 "$L/$LARGE/objects/?limit=100&next=$MID" 2
echo "== store"; ls -la "$W/lz/liaison.db"
