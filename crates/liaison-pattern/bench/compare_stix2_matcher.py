#!/usr/bin/env python3
"""Time the reference Python matcher (stix2-matcher) on the OASIS matcher cases.

Same cases as `benches/matcher.rs` (tests/fixtures/matcher_cases.json), in-process loop.
Reports the per-match time of:
  - match_only: patterns compiled in advance (stix2matcher.matcher.Pattern), timing
    Pattern.match(observations) for every case whose pattern compiles;
  - compile_and_match: stix2matcher.matcher.match(pattern, observations) from text.

With --rust-json FILE (output of `cargo run --release -p liaison-pattern --example
time_cases`), also times every case on its own (pattern compiled in advance) and reports
the per-case speed ratio Python/Rust (median, geometric mean, minimum).

Usage: pip install stix2-matcher==3.0.0
       python3 crates/liaison-pattern/bench/compare_stix2_matcher.py [--rounds N] [--rust-json FILE]
"""
import statistics
import math
import argparse
import json
import os
import time

from stix2matcher.matcher import Pattern, match

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "tests", "fixtures", "matcher_cases.json")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rust-json")
    args = ap.parse_args()
    with open(FIXTURE, encoding="utf-8") as f:
        cases = json.load(f)["cases"]

    compiled = []
    for c in cases:
        try:
            compiled.append((Pattern(c["pattern"], c["stix_version"]), c))
        except Exception:
            pass

    def run_match_only():
        hits = 0
        for p, c in compiled:
            try:
                if p.match(c["observations"]):
                    hits += 1
            except Exception:
                pass
        return hits

    def run_compile_and_match():
        hits = 0
        for c in cases:
            try:
                if match(c["pattern"], c["observations"], stix_version=c["stix_version"]):
                    hits += 1
            except Exception:
                pass
        return hits

    for name, fn, n in (("match_only", run_match_only, len(compiled)),
                        ("compile_and_match", run_compile_and_match, len(cases))):
        fn()  # warm-up
        best = None
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        print(f"{name}: {n} cases, best of {args.rounds}: {best:.3f} s per pass, "
              f"{best / n * 1e6:.1f} us per match")

    if args.rust_json:
        with open(args.rust_json, encoding="utf-8") as f:
            rust = json.load(f)
        ratios = []
        for p, c in compiled:
            if c["id"] not in rust:
                continue
            reps, per = 1, None
            while True:
                t0 = time.perf_counter()
                for _ in range(reps):
                    try:
                        p.match(c["observations"])
                    except Exception:
                        pass
                dt = time.perf_counter() - t0
                if dt > 0.02 or reps >= 4096:
                    per = dt / reps
                    break
                reps *= 4
            ratios.append((per / rust[c["id"]], per, rust[c["id"]], c["id"]))
        ratios.sort()
        r = [x[0] for x in ratios]
        py_med = statistics.median(x[1] for x in ratios)
        rs_med = statistics.median(x[2] for x in ratios)
        print(f"per-case (pattern precompiled), {len(r)} cases: median Python {py_med * 1e6:.1f} us, "
              f"median Rust {rs_med * 1e6:.2f} us")
        print(f"per-case ratio Python/Rust: median {statistics.median(r):.0f}x, "
              f"geometric mean {math.exp(sum(math.log(x) for x in r) / len(r)):.0f}x, "
              f"min {r[0]:.0f}x ({ratios[0][3]}), max {r[-1]:.0f}x")


if __name__ == "__main__":
    main()
