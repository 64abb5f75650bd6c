#!/usr/bin/env python3
"""Write a synthetic MISP event of N objects (default 20000) to stdout, cycling
through the object templates the converter maps (file, ip-port,
network-connection, user-account, url, email, x509, registry-key, asn,
domain-ip, mutex, github-user). Values and UUIDs derive from the index, so
runs are identical. Only templates both the old and the new converter map,
so an A/B compares the same work."""
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000


def uid(kind, i):
    return f"{kind:08x}-0000-4000-8000-{i:012x}"


def a(k, i, rel, ty, value, to_ids=None):
    d = {"uuid": uid(k, i), "object_relation": rel, "type": ty, "value": value}
    if to_ids is not None:
        d["to_ids"] = to_ids
    return d


def obj(i):
    c = i % 12
    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    if c == 0:
        name, attrs = "file", [a(1, i, "filename", "filename", f"f{i}.exe"),
                               a(2, i, "md5", "md5", f"{i:032x}"),
                               a(3, i, "sha256", "sha256", f"{i:064x}"),
                               a(4, i, "size-in-bytes", "size-in-bytes", str(i)),
                               a(5, i, "path", "text", f"C:\\dir{i}", False)]
    elif c == 1:
        name, attrs = "ip-port", [a(1, i, "ip", "ip-dst", ip), a(2, i, "dst-port", "port", "443"),
                                  a(3, i, "domain", "domain", f"h{i}.example.com")]
    elif c == 2:
        name, attrs = "network-connection", [a(1, i, "ip-src", "ip-src", ip),
                                             a(2, i, "ip-dst", "ip-dst", "192.0.2.1"),
                                             a(3, i, "dst-port", "port", "80"),
                                             a(4, i, "layer4-protocol", "text", "TCP")]
    elif c == 3:
        name, attrs = "user-account", [a(1, i, "username", "text", f"u{i}"),
                                       a(2, i, "user-id", "text", str(i)),
                                       a(3, i, "group-id", "text", "100"),
                                       a(4, i, "home_dir", "text", f"/home/u{i}")]
    elif c == 4:
        name, attrs = "url", [a(1, i, "url", "url", f"https://h{i}.example.org/p"),
                              a(2, i, "domain", "domain", f"h{i}.example.org")]
    elif c == 5:
        name, attrs = "email", [a(1, i, "from", "email-src", f"s{i}@example.com"),
                                a(2, i, "to", "email-dst", f"d{i}@example.com"),
                                a(3, i, "subject", "email-subject", f"invoice {i}"),
                                a(4, i, "attachment", "email-attachment", f"inv{i}.pdf")]
    elif c == 6:
        name, attrs = "x509", [a(1, i, "x509-fingerprint-sha1", "x509-fingerprint-sha1", f"{i:040x}"),
                               a(2, i, "issuer", "text", "CN=Test CA"),
                               a(3, i, "serial-number", "text", str(i)),
                               a(4, i, "pubkey-info-exponent", "text", "65537")]
    elif c == 7:
        name, attrs = "registry-key", [a(1, i, "key", "regkey", f"HKLM\\Software\\k{i}"),
                                       a(2, i, "name", "text", "Run"),
                                       a(3, i, "data", "text", f"x{i}.exe")]
    elif c == 8:
        name, attrs = "asn", [a(1, i, "asn", "AS", f"AS{i % 65000 + 1}"),
                              a(2, i, "description", "text", "net"),
                              a(3, i, "subnet-announced", "ip-src", f"{ip}/32")]
    elif c == 9:
        name, attrs = "domain-ip", [a(1, i, "domain", "domain", f"d{i}.example.net"),
                                    a(2, i, "ip", "ip-dst", ip)]
    elif c == 10:
        name, attrs = "mutex", [a(1, i, "name", "text", f"mx{i}", True)]
    else:
        name, attrs = "github-user", [a(1, i, "username", "github-username", f"gh{i}"),
                                      a(2, i, "id", "text", str(i))]
    return {"uuid": uid(0xabcd0000, i), "name": name, "meta-category": "misc",
            "timestamp": "1795910400", "Attribute": attrs}


out = sys.stdout
out.write(json.dumps({"Event": {
    "uuid": uid(0xe7e7e7e7, 0), "info": f"Synthetic event with {n} objects",
    "date": "2026-11-29", "timestamp": "1795910400", "published": True,
    "Orgc": {"name": "Bench CERT", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
    "Object": [obj(i) for i in range(n)]}}))
