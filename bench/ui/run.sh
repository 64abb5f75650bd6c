#!/usr/bin/env bash
# Web UI figures (issue 9): server time of every page over a store of OBJECTS generated
# objects (default 1,000,000), measured with wrk against `liaison serve` (release build)
# with a signed-in session cookie. Prints one line per page: requests/s, p50, p90, p99.
# usage: bench/ui/run.sh [OBJECTS]      env: DUR (10s), CONC (1), BENCH_TMP, BUNDLE,
#   LIAISON_BIN (a binary to measure instead of target/release/liaison, for A/B runs),
#   ONLY (an extended regex: measure only the pages it matches, e.g. ONLY=search)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
DUR=${DUR:-10s}
CONC=${CONC:-1}
W=${BENCH_TMP:-/tmp/liaison-bench-ui}
PORT=${PORT:-18090}
PW=bench-password-1
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ -n "${LIAISON_BIN:-}" ]; then
    L=$(realpath "$LIAISON_BIN")
else
    [ -n "${NO_BUILD:-}" ] || cargo build --release -q -p liaison
    L=$PWD/target/release/liaison
fi
BUNDLE=${BUNDLE:-$W/bundle-$N.json}
mkdir -p "$W"
[ -f "$BUNDLE" ] || $L gen bundle --objects "$N" --seed 1 --out "$BUNDLE"
D=$W/data-$N
if [ ! -f "$D/.built" ]; then
    rm -rf "$D"
    $L init --data "$D" --org cert >/dev/null
    # No per-user rate limit: the figure is the server's time, not the limiter's.
    sed -i '/^\[server\]$/d' "$D/config.toml"
    cat >> "$D/config.toml" <<CFG

[server]
rate_limit = 0.0

[[users]]
name = "ana"
org = "cert"
clearance = "SECRET"
compartments = ["GRID"]
roles = ["analyst"]
CFG
    $L --data "$D" import "$BUNDLE"
    # Alerts from screening, and a task escalated from one, so the triage and task
    # pages have something to show.
    printf 'term,severity\nlantern,high\nsubstation,medium\noperator,low\n' > "$W/w.csv"
    printf 'the lantern implant hit a substation\nbeacon to 203.0.113.77 from lantern\ngrid operator outage\n' > "$W/feed.txt"
    $L --data "$D" --as admin screen --store --min-severity info --watchlist "$W/w.csv" "$W/feed.txt"
    A=$($L --data "$D" --as admin alert list --json | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["id"])')
    $L --data "$D" --as admin alert escalate "$A" --assign cert >/dev/null
    $L --data "$D" --as admin task new --title "Who runs 203.0.113.77?" --assign cert --deadline 12h >/dev/null
    touch "$D/.built"
fi
for u in admin ana; do LIAISON_PASSWORD=$PW $L --data "$D" serve passwd $u; done
LIAISON_LOG=warn $L --data "$D" serve --port "$PORT" --insecure-cookies 2>"$W/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
B=http://127.0.0.1:$PORT
for i in $(seq 1 100); do curl -sf "$B/health" >/dev/null && break; sleep 0.2; done
cookie() {
    curl -si -X POST -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$PW\"}" "$B/api/v1/session" |
        sed -n 's/^[Ss]et-[Cc]ookie: \(liaison_session=[^;]*\).*/\1/p'
}
ADMIN=$(cookie admin)
ANA=$(cookie ana)
get() { curl -sf -H "Cookie: $ADMIN" "$B$1"; }
# Objects to open: a search hit, the most connected identity, a task and an alert.
IND=$(get "/api/v1/search?q=water&type=indicator&limit=1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["hits"][0]["id"])')
MAL=$(get "/api/v1/search?q=campaigns&type=malware&limit=1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["hits"][0]["id"])')
TASK=$($L --data "$D" --as admin task list --all --json | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["id"])')
ALERT=$($L --data "$D" --as admin alert list --all --json | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["id"])')
# The most connected identity (HUB may name it, to skip reading the bundle again).
[ -n "${HUB:-}" ] || HUB=$(python3 - "$BUNDLE" <<'PY'
import json, re, sys, collections
c = collections.Counter()
with open(sys.argv[1]) as f:
    for line in f:
        m = re.search(r'"created_by_ref":"(identity--[0-9a-f-]+)"', line)
        if m: c[m.group(1)] += 1
print(c.most_common(1)[0][0])
PY
)
PAGES=(
    "/ui/login"
    "/ui/"
    "/ui/search?q=lantern"
    "/ui/search?q=lantern&type=indicator"
    "/ui/search?q=substation%20operator"
    "/ui/search?q=%E7%94%B5%E7%BD%91"
    "/ui/object/$IND"
    "/ui/object/$MAL"
    "/ui/object/$HUB"
    "/ui/graph/$MAL"
    "/ui/graph-data/$MAL?depth=2&max=300"
    "/ui/graph-data/$HUB?depth=2&max=1000"
    "/ui/tasks"
    "/ui/tasks?view=board&filter=all"
    "/ui/task/$TASK"
    "/ui/tasks/new"
    "/ui/alerts"
    "/ui/alert/$ALERT"
    "/ui/upload"
    "/ui/export"
    "/ui/feeds"
    "/ui/admin"
    # For reference: the same store reads through the REST API (no HTML).
    "/api/v1/search?q=lantern&limit=25"
    "/api/v1/search?q=substation%20operator&limit=25"
)
echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(uptime | sed 's/.*load/load/'); commit $(git rev-parse --short HEAD)"
echo "== $N objects; wrk -t1 -c$CONC -d$DUR --latency, session cookie"
# Server CPU (user+sys) per request, from /proc: beside wall time, which another
# process's load stretches, CPU time is what the page costs the server.
HZ=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
printf '%-8s %-58s %9s %9s %9s %9s %6s %10s\n' user page req/s p50 p90 p99 non2xx cpu/req
for who in admin ana; do
    C=$ADMIN; [ $who = ana ] && C=$ANA
    for p in "${PAGES[@]}"; do
        [ $who = ana ] && [ "$p" = /ui/admin ] && continue
        [ -n "${ONLY:-}" ] && ! [[ "$p" =~ $ONLY ]] && continue
        c0=$(cpu)
        out=$(wrk -t1 -c"$CONC" -d"$DUR" --latency -H "Cookie: $C" "$B$p")
        c1=$(cpu)
        rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
        p50=$(echo "$out" | awk '$1=="50%"{print $2}')
        p90=$(echo "$out" | awk '$1=="90%"{print $2}')
        p99=$(echo "$out" | awk '$1=="99%"{print $2}')
        bad=$(echo "$out" | awk '/Non-2xx/{print $5}')
        reqs=$(echo "$out" | awk '/requests in/{print $1}')
        cpr=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v n="${reqs:-0}" 'BEGIN { if (n > 0) printf "%.3fms", 1000 * d / hz / n; else print "-" }')
        printf '%-8s %-58s %9s %9s %9s %9s %6s %10s\n' "$who" "${p:0:58}" "$rps" "$p50" "$p90" "$p99" "${bad:-0}" "$cpr"
    done
done
