"""Generate benchmark feeds: a CSV indicator feed of N lines and an RSS feed of M items.

usage: gen.py OUT_DIR [CSV_LINES] [RSS_ITEMS]
Values are unique and deterministic (no randomness), so runs compare.
"""
import hashlib
import sys

out = sys.argv[1]
n_csv = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
n_rss = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000

with open(f"{out}/iocs.csv", "w") as f:
    f.write("# generated indicator feed\nid,dateadded,ioc,ioc_type,threat\n")
    for i in range(n_csv):
        k = i % 4
        if k == 0:
            v, t = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", "ip"
        elif k == 1:
            v, t = f"host{i}.bad-{i % 997}.example", "domain"
        elif k == 2:
            v, t = f"http://drop{i}.example.net/p/{i}.exe", "url"
        else:
            v, t = hashlib.sha256(str(i).encode()).hexdigest(), "sha256"
        f.write(f"{i},2026-11-{1 + i % 28:02d} 10:{i % 60:02d}:00,{v},{t},threat_{i % 13}\n")

with open(f"{out}/news.rss", "w") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>bench</title>\n')
    for i in range(n_rss):
        f.write(
            f"<item><title>Advisory {i}: flaw in product {i % 311}</title>"
            f"<link>https://news.example/a/{i}</link>"
            f"<description><![CDATA[<p>Attackers exploit CVE-2026-{10000 + i} in product {i % 311}; "
            f"patch now. Indicators: host{i}.bad.example</p>]]></description>"
            f"<pubDate>Sat, 28 Nov 2026 {i % 24:02d}:{i % 60:02d}:00 +0000</pubDate>"
            f"<guid>adv-{i}</guid><category>vuln</category></item>\n"
        )
    f.write("</channel></rss>\n")
