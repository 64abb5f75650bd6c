"""POST TAXII envelopes (bundle files) to a collection one after another and report the
objects acknowledged per second.

usage: post_envelopes.py OBJECTS_URL AUTH_HEADER FILE...
"""
import json
import sys
import time
import urllib.request

url, auth = sys.argv[1:3]
files = sys.argv[3:]
MEDIA = "application/taxii+json;version=2.1"
total_ok = total_fail = 0
busy = 0.0
worst = 0.0
for i, f in enumerate(files):
    body = open(f, "rb").read()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": auth, "Content-Type": MEDIA, "Accept": MEDIA})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        status = json.load(r)
    dt = time.perf_counter() - t0
    busy += dt
    ok, fail = status["success_count"], status["failure_count"]
    total_ok += ok
    total_fail += fail
    worst = max(worst, dt)
    if fail:
        print(f"  {f}: {fail} failures, first: {status['failures'][0]}", file=sys.stderr)
    if (i + 1) % 10 == 0 or i + 1 == len(files):
        print(f"  {i + 1}/{len(files)} envelopes, {total_ok} acknowledged, last {ok / dt:,.0f} objects/s",
              file=sys.stderr)
print(json.dumps({"envelopes": len(files), "acknowledged": total_ok, "failed": total_fail,
                  "seconds": round(busy, 2), "objects_per_s": round(total_ok / busy),
                  "slowest_envelope_s": round(worst, 3)}))
