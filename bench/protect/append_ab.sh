#!/usr/bin/env bash
# A/B of one-record appends (issue 7: append >= 50,000 records/s): one writer, one
# record per `record` call, through the real log, alternating two builds of `liaison`
# at the same load. Prints each run's JSON (wall and CPU seconds, load averages).
# Usage: bench/protect/append_ab.sh A_BINARY B_BINARY [RECORDS] [ROUNDS]
#   e.g. git worktree/old build copied to /tmp/liaison-A, target/release/liaison as B.
set -euo pipefail
A=$1
B=$2
N=${3:-200000}
ROUNDS=${4:-2}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for r in $(seq 1 "$ROUNDS"); do
  for v in A B; do
    bin=$A
    [ "$v" = B ] && bin=$B
    echo "$v $("$bin" audit bench --records "$N" --batch 1 --writers 1 --json)"
  done
done
