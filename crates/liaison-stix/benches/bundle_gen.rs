//! A generator of typical STIX 2.1 bundles for benchmarks: indicators,
//! malware and relationships in turn, ~600 bytes each.
#![allow(dead_code)]

use std::io::{self, Write};

/// A bundle of `n` objects, in memory.
pub fn generate(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 700);
    // Writing into a Vec cannot fail.
    let _ = write_objects(&mut out, n, u64::MAX);
    out
}

/// Write a bundle of about `bytes` bytes; returns the bytes written.
pub fn write_bundle<W: Write>(w: &mut W, bytes: u64) -> io::Result<u64> {
    write_objects(w, usize::MAX, bytes)
}

fn write_objects<W: Write>(out: &mut W, n: usize, max_bytes: u64) -> io::Result<u64> {
    let head: &[u8] = b"{\"type\": \"bundle\", \"id\": \"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d\", \"objects\": [\n";
    out.write_all(head)?;
    let mut written = head.len() as u64;
    let mut i = 0usize;
    while i < n && written < max_bytes {
        if i > 0 {
            out.write_all(b",\n")?;
            written += 2;
        }
        let obj = object(i);
        out.write_all(obj.as_bytes())?;
        written += obj.len() as u64;
        i += 1;
    }
    out.write_all(b"\n]}\n")?;
    Ok(written + 4)
}

/// The `i`th object.
pub fn object(i: usize) -> String {
    match i % 3 {
        0 => format!(
            r#"{{"type": "indicator", "spec_version": "2.1", "id": "indicator--{i:08x}-8e2e-4cbf-938f-98ee46b3cd3f", "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z", "indicator_types": ["malicious-activity"], "name": "Poison Ivy Malware {i}", "description": "This file is part of Poison Ivy, seen in campaign \"{i}\" \u00e9 — with an escaped \\ backslash.", "pattern": "[file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877']", "pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z", "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"], "x_liaison_score": {i}}}"#
        ),
        1 => format!(
            r#"{{"type": "malware", "spec_version": "2.1", "id": "malware--{i:08x}-6f7f-459a-80ea-9c1f17b5891b", "created": "2016-04-06T20:07:09.000Z", "modified": "2016-04-06T20:07:09.000Z", "name": "Poison Ivy {i}", "malware_types": ["remote-access-trojan"], "is_family": true, "kill_chain_phases": [{{"kill_chain_name": "mandiant-attack-lifecycle-model", "phase_name": "establish-foothold"}}], "external_references": [{{"source_name": "capec", "external_id": "CAPEC-{i}", "url": "https://example.com/{i}"}}], "description": "Poison Ivy is a remote access tool, first released in 2005 but unchanged since 2008. It includes features common to most Windows-based RATs."}}"#
        ),
        _ => format!(
            r#"{{"type": "relationship", "spec_version": "2.1", "id": "relationship--{i:08x}-9e2a-4d4b-bb0e-1b6b0d5a2c3e", "created": "2016-04-06T20:06:37.000Z", "modified": "2016-04-06T20:06:37.000Z", "relationship_type": "indicates", "source_ref": "indicator--{i:08x}-8e2e-4cbf-938f-98ee46b3cd3f", "target_ref": "malware--{i:08x}-6f7f-459a-80ea-9c1f17b5891b", "confidence": 80}}"#
        ),
    }
}
