#!/usr/bin/env python3
"""The case-insensitive figure of issue 4 (-i at >= 80 % of the same binary's
case-sensitive throughput), measured with millisecond resolution: case-sensitive
and case-insensitive runs alternate (cs, ci, cs, ci, ...), so that both see the
same load; the order within a pair flips every pair.

For each binary: the median wall and CPU (user + system) times, the ratio of
the medians, the median of the per-pair ratios and a bootstrap interval of it
(90 %, 2,000 resamples of the pairs). ab-ci.sh prints to 10 ms only, which is
as coarse as the figure's margin.

    bench/screen/ci-ratio.py --pairs 31 /work/main/target/release/liaison
    bench/screen/ci-ratio.py --pairs 21 --work /tmp/liaison-screen-bench A B --json out.json
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import time


def run(cmd):
    """Wall seconds, CPU seconds (user + system), user and system seconds of
    one run, output dropped."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_utime, ru.ru_stime


def interval(ratios, n=2000, seed=1):
    rnd = random.Random(seed)
    meds = sorted(
        statistics.median(rnd.choice(ratios) for _ in ratios) for _ in range(n)
    )
    return meds[int(0.05 * n)], meds[int(0.95 * n) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--pairs", type=int, default=21)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--work", default="/tmp/liaison-screen-bench")
    ap.add_argument("--sub", default="screen", help="subcommand (stand-in and liaison: screen)")
    ap.add_argument("--json", help="write every run to this file")
    a = ap.parse_args()
    corpus = os.path.join(a.work, "corpus.txt")
    wl = os.path.join(a.work, "watchlist.txt")
    with open(corpus, "rb") as f:  # into the page cache
        while f.read(1 << 24):
            pass

    def cmd(b, ci):
        c = [b, a.sub, "-c", "--no-extract", "-f", wl, corpus]
        return c[:3] + ["-i"] + c[3:] if ci else c

    print("load average at start:", open("/proc/loadavg").read().split()[:3])
    runs = {b: {"cs": [], "ci": []} for b in a.binaries}
    for b in a.binaries:
        for _ in range(a.warmup):
            run(cmd(b, False))
            run(cmd(b, True))
    for i in range(a.pairs):
        for b in a.binaries:
            order = [False, True] if i % 2 == 0 else [True, False]
            for ci in order:
                runs[b]["ci" if ci else "cs"].append(run(cmd(b, ci)))
    for b in a.binaries:
        cs, ci = runs[b]["cs"], runs[b]["ci"]
        mw = [statistics.median(x[0] for x in v) for v in (cs, ci)]
        mc = [statistics.median(x[1] for x in v) for v in (cs, ci)]
        pw = [c[0] / i[0] for c, i in zip(cs, ci)]
        pc = [c[1] / i[1] for c, i in zip(cs, ci)]
        lo, hi = interval(pw)
        clo, chi = interval(pc)
        print(f"{b}: {a.pairs} pairs")
        print(f"  cs median wall {mw[0] * 1000:7.1f} ms  CPU {mc[0] * 1000:7.1f} ms")
        print(f"  ci median wall {mw[1] * 1000:7.1f} ms  CPU {mc[1] * 1000:7.1f} ms")
        print(
            f"  ci/cs speed, wall: ratio of medians {mw[0] / mw[1]:.3f}, "
            f"median of pairs {statistics.median(pw):.3f} (90 % {lo:.3f}..{hi:.3f}), "
            f"ratio of means {statistics.mean(x[0] for x in cs) / statistics.mean(x[0] for x in ci):.3f}"
        )
        print(
            f"  ci/cs speed, CPU:  ratio of medians {mc[0] / mc[1]:.3f}, "
            f"median of pairs {statistics.median(pc):.3f} (90 % {clo:.3f}..{chi:.3f})"
        )
        # System time carries the machine's page-fault stalls (huge pages
        # zeroed, occasionally 0.2 s in one run); user time is the scan.
        mu = [statistics.median(x[2] for x in v) for v in (cs, ci)]
        print(f"  ci/cs speed, user CPU: ratio of medians {mu[0] / mu[1]:.3f}")
    print("load average at end:", open("/proc/loadavg").read().split()[:3])
    if a.json:
        with open(a.json, "w") as f:
            json.dump(runs, f)


if __name__ == "__main__":
    main()
