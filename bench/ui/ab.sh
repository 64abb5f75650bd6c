#!/usr/bin/env bash
# A/B of web UI page times: two `liaison` release binaries (BEFORE, AFTER) measured
# alternately (before, after, before, after) by bench/ui/run.sh over the same store.
# usage: BEFORE=/path/liaison-before AFTER=/path/liaison-after bench/ui/ab.sh [OBJECTS]
#   env as run.sh (BENCH_TMP, BUNDLE, HUB, PORT, DUR, ONLY); ROUNDS (2).
# Building the two binaries from one tree that differs only in the change measured
# (so that nothing else differs), e.g. for the UI change of 2026-11-29:
#   git archive HEAD | tar -x -C /tmp/ab/src; cd /tmp/ab/src
#   CARGO_TARGET_DIR=/tmp/ab/target cargo build --release -p liaison; cp /tmp/ab/target/release/liaison /tmp/ab/liaison-after
#   git -C /work/main archive 7221bc7 crates/liaison-server/src/ui crates/liaison-server/assets crates/liaison-server/src/rest.rs | tar -x -C .
#   rm crates/liaison-server/src/ui/upload.rs
#   CARGO_TARGET_DIR=/tmp/ab/target cargo build --release -p liaison; cp /tmp/ab/target/release/liaison /tmp/ab/liaison-before
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${BEFORE:?BEFORE=path of the binary before the change}" "${AFTER:?AFTER=path of the binary after it}"
for i in $(seq 1 "${ROUNDS:-2}"); do
    for side in before after; do
        bin=$BEFORE; [ $side = after ] && bin=$AFTER
        echo "#### $side (round $i; load $(cut -d' ' -f1-3 /proc/loadavg))"
        NO_BUILD=1 LIAISON_BIN=$bin bench/ui/run.sh "$@"
    done
done
