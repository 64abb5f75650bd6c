//! The bundle reader streams: memory is bounded by the largest object, not by
//! the input; errors carry positions; sco ids match the OASIS library.

use liaison_stix::bundle::BundleReader;
use liaison_stix::{sco_id, ErrorKind};
use serde_json::Value;
use std::io::{self, Read};

/// An endless-looking bundle produced on the fly: `n` objects, never held whole.
struct Generated {
    n: usize,
    i: usize,
    pending: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Generated {
    fn new(n: usize) -> Self {
        let head = br#"{"objects": ["#.to_vec();
        Generated {
            n,
            i: 0,
            pending: head,
            pos: 0,
            done: false,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.pending.len() {
            if self.done {
                return Ok(0);
            }
            self.pending.clear();
            self.pos = 0;
            if self.i < self.n {
                if self.i > 0 {
                    self.pending.push(b',');
                }
                let obj = format!(
                    r#"{{"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--{:08x}-4cbf-4cbf-938f-98ee46b3cd3f", "value": "10.{}.{}.{}", "x_note": "{}"}}"#,
                    self.i,
                    (self.i >> 16) & 255,
                    (self.i >> 8) & 255,
                    self.i & 255,
                    "padding ".repeat(20)
                );
                self.pending.extend_from_slice(obj.as_bytes());
                self.i += 1;
            } else {
                self.pending.extend_from_slice(br#"], "type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}"#);
                self.done = true;
            }
        }
        let n = out.len().min(self.pending.len() - self.pos);
        out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn hundred_megabytes_in_bounded_memory() {
    let n = 400_000; // ~100 MB
    let mut reader = BundleReader::new(Generated::new(n));
    let mut count = 0;
    for obj in reader.by_ref() {
        let obj = obj.expect("valid object");
        assert_eq!(obj.type_name(), "ipv4-addr");
        count += 1;
    }
    assert_eq!(count, n);
    assert!(
        reader.bytes_read() > 90_000_000,
        "read {} bytes",
        reader.bytes_read()
    );
    assert!(
        reader.max_buffer() <= 1 << 20,
        "read buffer grew to {} bytes",
        reader.max_buffer()
    );
    assert_eq!(
        reader.bundle_id(),
        Some("bundle--5d0092c5-5f74-4287-9642-33f4c354e56d")
    );
}

#[test]
fn one_large_object_grows_the_buffer_only_for_itself() {
    let big = "x".repeat(5_000_000);
    let text = format!(
        r#"[{{"type":"note","id":"note--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","content":"{big}"}},{{"type":"note","id":"note--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3e"}}]"#
    );
    let mut reader = BundleReader::new(text.as_bytes());
    assert_eq!(
        reader
            .next()
            .unwrap()
            .unwrap()
            .str_prop("content")
            .map(str::len),
        Some(5_000_000)
    );
    assert!(reader.next().unwrap().is_ok());
    assert!(reader.next().is_none());
    assert!(reader.max_buffer() >= 5_000_000 && reader.max_buffer() < 20_000_000);
}

#[test]
fn truncated_stream_reports_line_and_index() {
    let text = "{\"type\": \"bundle\", \"objects\": [\n  {\"type\": \"a-b\", \"id\": \"a-b--1\"},\n  {\"type\": \"a-b\", \"id\": \"a-b--2\"},\n  {\"type\": \"a-b\", \"id\": ";
    let results: Vec<_> = BundleReader::new(text.as_bytes()).collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_ok());
    let err = results[2].as_ref().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Truncated);
    assert_eq!(err.path(), "$.objects[2]");
    let pos = err.position().expect("position");
    assert_eq!(pos.line, 4);
    assert_eq!(pos.offset, text.len() as u64);
    assert!(err.to_string().contains("line 4"), "{err}");
}

#[test]
fn sco_ids_match_the_oasis_python_library() {
    let vectors: Vec<Value> = serde_json::from_str(include_str!("fixtures/sco_id_vectors.json"))
        .expect("fixture is JSON");
    assert_eq!(vectors.len(), 10);
    for v in vectors {
        let map = v.as_object().expect("object");
        let ty = map["type"].as_str().expect("type");
        let id = sco_id(ty, map).expect("has contributing properties");
        assert_eq!(id, map["id"].as_str().expect("id"), "{v}");
    }
}
