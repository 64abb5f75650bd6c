//! Throughput of [`BundleReader`] on a generated bundle of typical objects.
//!
//! `CARGO_TARGET_DIR=/work/target-stix cargo bench -p liaison-stix --bench bundle`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use liaison_stix::bundle::BundleReader;
use liaison_stix::upgrade::Upgrading;
use std::io::Write;

/// A bundle of `n` indicators, malware and relationships, ~800 bytes each.
pub fn generate(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 900);
    out.extend_from_slice(b"{\"type\": \"bundle\", \"id\": \"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d\", \"objects\": [\n");
    for i in 0..n {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        let obj = match i % 3 {
            0 => format!(
                r#"{{"type": "indicator", "spec_version": "2.1", "id": "indicator--{i:08x}-8e2e-4cbf-938f-98ee46b3cd3f", "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z", "indicator_types": ["malicious-activity"], "name": "Poison Ivy Malware {i}", "description": "This file is part of Poison Ivy, seen in campaign \"{i}\" \u00e9 — with an escaped \\ backslash.", "pattern": "[file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877']", "pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z", "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"], "x_liaison_score": {i}}}"#
            ),
            1 => format!(
                r#"{{"type": "malware", "spec_version": "2.1", "id": "malware--{i:08x}-6f7f-459a-80ea-9c1f17b5891b", "created": "2016-04-06T20:07:09.000Z", "modified": "2016-04-06T20:07:09.000Z", "name": "Poison Ivy {i}", "malware_types": ["remote-access-trojan"], "is_family": true, "kill_chain_phases": [{{"kill_chain_name": "mandiant-attack-lifecycle-model", "phase_name": "establish-foothold"}}], "external_references": [{{"source_name": "capec", "external_id": "CAPEC-{i}", "url": "https://example.com/{i}"}}], "description": "Poison Ivy is a remote access tool, first released in 2005 but unchanged since 2008. It includes features common to most Windows-based RATs."}}"#
            ),
            _ => format!(
                r#"{{"type": "relationship", "spec_version": "2.1", "id": "relationship--{i:08x}-9e2a-4d4b-bb0e-1b6b0d5a2c3e", "created": "2016-04-06T20:06:37.000Z", "modified": "2016-04-06T20:06:37.000Z", "relationship_type": "indicates", "source_ref": "indicator--{i:08x}-8e2e-4cbf-938f-98ee46b3cd3f", "target_ref": "malware--{i:08x}-6f7f-459a-80ea-9c1f17b5891b", "confidence": 80}}"#
            ),
        };
        out.extend_from_slice(obj.as_bytes());
    }
    out.extend_from_slice(b"\n]}\n");
    out
}

fn bench(c: &mut Criterion) {
    let data = generate(30_000);
    let mut g = c.benchmark_group("bundle");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("read_values", |b| {
        b.iter(|| {
            let mut r = BundleReader::new(&data[..]);
            let mut n = 0usize;
            while let Some(v) = r.next_value() {
                n += v.is_ok() as usize;
            }
            assert_eq!(n, 30_000);
        })
    });
    g.bench_function("read_objects_upgrading", |b| {
        b.iter(|| {
            let n = Upgrading::new(&data[..]).filter(|o| o.is_ok()).count();
            assert_eq!(n, 30_000);
        })
    });
    g.bench_function("serde_json_whole_document", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_slice(&data).unwrap_or_default();
            assert!(v.is_object());
        })
    });
    g.finish();
    let _ = std::io::stderr().write_all(format!("bundle size: {} bytes\n", data.len()).as_bytes());
}

criterion_group!(benches, bench);
criterion_main!(benches);
