//! Write a large synthetic MISP event (for the import benchmark) to stdout:
//! `cargo run --release -p liaison-misp --example gen_event -- 100000 > event.json`
//!
//! Attribute types cycle through the common IDS types (ip-dst, domain, url,
//! sha256, md5, email-src, hostname, filename) with every third attribute not
//! for IDS; values and UUIDs are derived from the index, so runs are identical.

use std::io::{BufWriter, Write};

fn uuid(kind: u32, i: u64) -> String {
    // A valid UUIDv4 layout with the index in the last group.
    format!(
        "{kind:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (i >> 32) & 0xffff,
        (i >> 20) & 0xfff,
        (i >> 8) & 0xfff,
        i
    )
}

fn main() -> std::io::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let out = std::io::stdout().lock();
    let mut w = BufWriter::with_capacity(1 << 20, out);
    write!(
        w,
        r#"{{"Event": {{"uuid": "{}", "info": "Synthetic event with {n} attributes", "date": "2026-11-29",
 "timestamp": "1795910400", "published": true, "publish_timestamp": "1795910400", "analysis": "2", "threat_level_id": "2",
 "Orgc": {{"name": "Bench CERT", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"}},
 "Tag": [{{"name": "tlp:green"}}, {{"name": "type:OSINT"}}],
 "Attribute": ["#,
        uuid(0xe7e7e7e7, 0)
    )?;
    for i in 0..n {
        let (t, cat, v) = match i % 8 {
            0 => (
                "ip-dst",
                "Network activity",
                format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
            ),
            1 => ("domain", "Network activity", format!("host{i}.example.net")),
            2 => (
                "url",
                "Network activity",
                format!("https://cdn{}.example.org/p/{i}.php", i % 97),
            ),
            3 => (
                "sha256",
                "Payload delivery",
                format!(
                    "{:064x}",
                    (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
                ),
            ),
            4 => (
                "md5",
                "Payload delivery",
                format!("{:032x}", (i as u128).wrapping_mul(0x2545_f491_4f6c_dd1d)),
            ),
            5 => (
                "email-src",
                "Payload delivery",
                format!("sender{i}@mail.example.com"),
            ),
            6 => (
                "hostname",
                "Network activity",
                format!("c2-{i}.example.com"),
            ),
            _ => (
                "filename",
                "Payload delivery",
                format!("invoice_{i}.pdf.exe"),
            ),
        };
        let to_ids = i % 3 != 2;
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(
            w,
            "\n  {{\"uuid\": \"{}\", \"type\": \"{t}\", \"category\": \"{cat}\", \"value\": \"{v}\", \"to_ids\": {to_ids}, \"timestamp\": \"1795910400\", \"comment\": \"generated #{i}\"}}",
            uuid(0xa77a77a7, i)
        )?;
    }
    w.write_all(b"\n ],\n \"Object\": [],\n \"Galaxy\": []\n}}\n")?;
    w.flush()
}
