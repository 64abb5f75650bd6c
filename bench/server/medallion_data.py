"""Write medallion's memory-backend data and config for a STIX bundle, so that medallion
serves the same objects as Liaison in one collection.

usage: medallion_data.py BUNDLE COLLECTION_ID PORT OUT_DIR
"""
import json
import sys

bundle, coll_id, port, out = sys.argv[1:5]
objs = json.load(open(bundle))["objects"]
added = "2026-01-01T00:00:00.000000Z"
manifest, objects = [], []
for o in objs:
    version = o.get("modified") or o.get("created") or added
    manifest.append({"id": o["id"], "date_added": added, "version": version,
                     "media_type": "application/stix+json;version=2.1"})
    o = dict(o)
    o["_date_added"] = added
    objects.append(o)
base = f"http://127.0.0.1:{port}"
data = {
    "/discovery": {"title": "medallion bench", "default": f"{base}/api1/", "api_roots": [f"{base}/api1/"]},
    "api1": {
        "information": {"title": "bench", "versions": ["application/taxii+json;version=2.1"],
                        "max_content_length": 104857600},
        "status": [],
        "collections": [{
            "id": coll_id, "title": "bench", "can_read": True, "can_write": True,
            "media_types": ["application/stix+json;version=2.1"],
            "objects": objects, "manifest": manifest,
        }],
    },
}
json.dump(data, open(f"{out}/medallion-data.json", "w"))
json.dump({
    "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                "filename": f"{out}/medallion-data.json"},
    "users": {"admin": "bench-password-1"},
    "taxii": {"max_page_size": 100},
}, open(f"{out}/medallion-config.json", "w"))
