#!/usr/bin/env python3
"""Cross-check: every object that liaison-stix rejects must be rejected by the
OASIS reference validator too (pip install stix2-validator).

Input: lines "FILE OBJECT_ID" of objects we reject, e.g. collected from
`cargo test -p liaison-stix --test real_bundles -- --nocapture` output.
Prints, per file, the objects we reject that the reference accepts.
"""
import collections
import re
import sys

from stix2validator import ValidationOptions, validate_file

ours = collections.defaultdict(set)
for line in open(sys.argv[1]):
    f, oid = line.split()[:2]
    ours[f].add(oid)
opts = ValidationOptions(version="2.1")
total = 0
for f, ids in sorted(ours.items()):
    ref_bad = set()
    for r in validate_file(f, opts).object_results:
        for e in r.errors:
            m = re.match(r"^([a-z0-9-]+--[0-9a-fA-F-]+)", getattr(e, "message", str(e)))
            if m:
                ref_bad.add(m.group(1))
    extra = sorted(ids - ref_bad)
    total += len(extra)
    print(f"{f}: we reject {len(ids)}, reference rejects {len(ref_bad)}, only we reject: {extra}")
print("objects we reject that the reference accepts:", total)
sys.exit(1 if total else 0)
