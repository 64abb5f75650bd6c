#!/usr/bin/env python3
"""Time IntelMQ's own validation and event machinery on the lines we screen.

IntelMQ (PyPI `intelmq`) has no bulk text screener: its parser bots (e.g. the
IOC extractor parser) split text into tokens, match candidates with regular
expressions, validate them through `intelmq.lib.harmonization` and add each
one to an `Event` (`event.add(field, value)`, which sanitises and validates
again). This script is that loop, written plainly, over the first N lines of
the corpus, single-threaded as an IntelMQ bot runs:

  refang substitutions -> candidate regexes (IPv4, URL, FQDN, e-mail, hashes)
  -> harmonization.*.is_valid(sanitize=True) -> Event.add(...)

Redis, the pipeline and message serialisation between bots are left out, so
this is a lower bound on IntelMQ's real cost.

usage: intelmq_bench.py CORPUS N_LINES
prints: lines, bytes, seconds, MB/s, events
"""
import re
import sys
import time

from intelmq.lib import harmonization as h
from intelmq.lib.message import Event
from intelmq.lib.utils import load_configuration
from pkg_resources import resource_filename

# Loaded once, as a running bot does (Event() alone would re-read it each time).
HARM = load_configuration(resource_filename("intelmq", "etc/harmonization.conf"))

SUBS = [("[.]", "."), ("(.)", "."), ("[dot]", "."), ("(dot)", "."), ("[@]", "@"), ("hxxp", "http")]
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)")
URL = re.compile(r"\b(?:https?|ftp)://[^\s\"'<>]+", re.I)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
FQDN = re.compile(r"\b(?:[a-z0-9-]+\.)+[a-z]{2,}\b", re.I)
HASH = re.compile(r"\b(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})\b", re.I)


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    lines = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f):
            if i >= n:
                break
            lines.append(line)
    nbytes = sum(len(l.encode("utf-8")) for l in lines)
    events = 0
    t = time.perf_counter()
    for line in lines:
        for a, b in SUBS:
            if a in line:
                line = line.replace(a, b)
        found = []
        for m in IPV4.findall(line):
            if h.IPAddress.is_valid(m, sanitize=True):
                found.append(("source.ip", m))
        for m in URL.findall(line):
            m = m.rstrip(".,;:)")
            if h.URL.is_valid(m, sanitize=True):
                found.append(("source.url", m))
        for m in EMAIL.findall(line):
            if h.FQDN.is_valid(m.rsplit("@", 1)[1], sanitize=True):
                found.append(("source.account", m))
        for m in FQDN.findall(line):
            if not IPV4.fullmatch(m) and h.FQDN.is_valid(m, sanitize=True):
                found.append(("source.fqdn", m))
        for m in HASH.findall(line):
            found.append(("malware.hash.sha256" if len(m) == 64 else "malware.hash.md5" if len(m) == 32 else "malware.hash.sha1", m.lower()))
        for field, value in found:
            ev = Event(harmonization=HARM)
            try:
                ev.add(field, value, overwrite=True)
                ev.add("classification.type", "blacklist")
                events += 1
            except Exception:
                pass
    secs = time.perf_counter() - t
    print(f"lines={len(lines)} bytes={nbytes} seconds={secs:.3f} mbps={nbytes / 1e6 / secs:.2f} events={events}")


if __name__ == "__main__":
    main()
