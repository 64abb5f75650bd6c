"""Drive a Liaison server with the OASIS taxii2-client: discovery, collections,
paging, manifest, add_objects with status, versions, object by id, delete.

usage: taxii2_client_flow.py BASE_URL USER PASSWORD COLLECTION_ID
Prints one JSON line with what it saw; exits non-zero on any failure.
"""
import json
import sys
import uuid

import requests
from taxii2client.v21 import Server, as_pages

base, user, password, coll_id = sys.argv[1:5]
MEDIA = "application/taxii+json;version=2.1"

server = Server(base + "/taxii2/", user=user, password=password)
assert server.title, "discovery has a title"
assert server.default is not None, "discovery names a default API root"
root = server.default
assert MEDIA in root.versions, root.versions
collections = {c.id: c for c in root.collections}
assert coll_id in collections, list(collections)
coll = collections[coll_id]
assert coll.can_read and coll.can_write

# Page through the collection, 100 at a time.
pages, seen = 0, []
for envelope in as_pages(coll.get_objects, per_request=100):
    pages += 1
    seen.extend(o["id"] for o in envelope.get("objects", []))
assert pages >= 5, f"only {pages} pages"
assert len(seen) == len(set(seen)), "no object twice across pages"

manifest = coll.get_manifest()
assert manifest["objects"], "manifest lists objects"
for m in manifest["objects"]:
    assert m["media_type"] == "application/stix+json;version=2.1"
    assert m["version"] and m["date_added"]

# Two versions of a new object, added with a status resource.
oid = f"malware--{uuid.uuid4()}"
def malware(modified, name):
    return {"type": "malware", "spec_version": "2.1", "id": oid, "created": "2026-03-01T00:00:00.000Z",
            "modified": modified, "name": name, "is_family": False}
envelope = {"objects": [malware("2026-03-01T00:00:00.000Z", "Interop v1"),
                        malware("2026-03-02T00:00:00.000Z", "Interop v2")]}
status = coll.add_objects(json.dumps(envelope))
assert status.status == "complete", status.status
assert status.success_count == 2 and status.failure_count == 0, (status.success_count, status.failures)
status.refresh()  # GET the status resource
assert status.total_count == 2

versions = coll.object_versions(oid)
assert versions["versions"] == ["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z"], versions
latest = coll.get_object(oid)
assert latest["objects"][0]["name"] == "Interop v2", latest
first = coll.get_object(oid, version="first")
assert first["objects"][0]["name"] == "Interop v1", first

coll.delete_object(oid)
try:
    coll.get_object(oid)
    raise AssertionError("deleted object still served")
except requests.exceptions.HTTPError as e:
    assert e.response.status_code == 404, e.response.status_code

print(json.dumps({"pages": pages, "objects": len(seen), "manifest": len(manifest["objects"])}))
