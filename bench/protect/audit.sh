#!/usr/bin/env bash
# Audit log speed (issue 7: append >= 50,000 records/s, verify >= 500,000 records/s):
# `liaison audit bench` appends N records through the real log (file, flock, head
# renewed after every append call: its HMAC each time, its Ed25519 signature every
# 100 ms or 1,000 records; records sealed as an encrypted deployment writes them, or
# plain), closes it, then verifies it as `liaison audit verify` with the master key does. Runs
# sealed and plain alternately for ROUNDS rounds, then one round of one record per
# append call (a server's pattern), and prints wall and CPU (user+sys) times with the
# load average. Usage: bench/protect/audit.sh [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
ROUNDS=${2:-2}
[ -n "${NO_BUILD:-}" ] || cargo build --release -p liaison --quiet
L=$PWD/target/release/liaison
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  echo "-- round $r"
  $L audit bench --records "$N" --batch 100
  $L audit bench --records "$N" --batch 100 --plain
  $L audit bench --records "$N" --batch 100 --threads 1
done
echo "-- one record per append call: one writer (head MAC'd each time), four writers (group commit)"
$L audit bench --records $((N / 10)) --batch 1
$L audit bench --records $((N / 10)) --batch 1 --writers 4
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
