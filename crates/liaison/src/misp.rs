//! MISP event files in `liaison import` and MISP JSON from `liaison export`.
//!
//! A MISP event is one JSON object, often tens of megabytes for a large
//! event. It is read twice, streaming: first everything but the `Attribute`
//! and `Object` lists (the event header: UUID, organisation, tags, galaxies,
//! which may come after the attributes in the file), then the attributes one
//! at a time, each converted and handed to the store as it is parsed. Memory
//! stays bounded by the converted objects in flight, not by the event.

use crate::ui;
use liaison_misp::{EventConverter, Options, Warning};
use liaison_policy::Subject;
use liaison_stix::StixObject;
use liaison_store::{
    ImportItem, ImportOptions, ImportReport, Prepared, Rejection, Store, StoreError,
};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

fn open(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    let f = File::open(path)?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(f)))
    } else {
        Box::new(f)
    })
}

/// Whether a file holds a MISP event (`{"Event": …}`, or a bare event whose
/// first key is a MISP event field) rather than STIX.
pub fn looks_like_misp(path: &Path) -> bool {
    let Ok(mut r) = open(path) else {
        return false;
    };
    let mut buf = vec![0u8; 4096];
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let text = String::from_utf8_lossy(&buf[..n]);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let Some(rest) = t.strip_prefix('{') else {
        return false;
    };
    let rest = rest.trim_start();
    let Some(rest) = rest.strip_prefix('"') else {
        return false;
    };
    let key = rest.split('"').next().unwrap_or_default();
    matches!(
        key,
        "Event" | "info" | "orgc_id" | "org_id" | "threat_level_id" | "analysis" | "Attribute"
    )
}

/// What the event visitor does with the big lists.
enum Mode<'a> {
    /// Collect the header only; skip attributes and objects.
    Header,
    /// Convert attributes and objects, sending STIX objects on.
    Stream(&'a mut dyn FnMut(Part)),
}

enum Part {
    Attribute(usize, Value),
    Objects(Vec<Value>),
}

struct EventSeed<'a, 'b> {
    mode: &'b mut Mode<'a>,
    header: &'b mut Map<String, Value>,
    at: &'b AtomicU64,
}

impl<'de> DeserializeSeed<'de> for EventSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MISP event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            if first && key == "Event" {
                // Wrapped form: the event is the value; other top-level keys are ignored.
                map.next_value_seed(EventSeed {
                    mode: self.mode,
                    header: self.header,
                    at: self.at,
                })?;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(());
            }
            first = false;
            match (key.as_str(), &mut *self.mode) {
                ("Attribute", Mode::Header) => {
                    // Skipped, but counted: a syntax error names its attribute.
                    map.next_value_seed(AttributeSeq {
                        f: None,
                        at: self.at,
                    })?;
                }
                ("Object", Mode::Header) => {
                    map.next_value::<IgnoredAny>()?;
                }
                ("Attribute", Mode::Stream(f)) => {
                    map.next_value_seed(AttributeSeq {
                        f: Some(&mut **f),
                        at: self.at,
                    })?;
                }
                ("Object", Mode::Stream(f)) => {
                    let list: Value = map.next_value()?;
                    match list {
                        Value::Array(objs) => f(Part::Objects(objs)),
                        other => {
                            self.header.insert(key, other);
                        }
                    }
                }
                _ => {
                    let v: Value = map.next_value()?;
                    self.header.insert(key, v);
                }
            }
        }
        Ok(())
    }
}

struct AttributeSeq<'b> {
    f: Option<&'b mut dyn FnMut(Part)>,
    at: &'b AtomicU64,
}

impl<'de> DeserializeSeed<'de> for AttributeSeq<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for AttributeSeq<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of MISP attributes")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            self.at.store(i as u64, Ordering::Relaxed);
            match &mut self.f {
                Some(f) => match seq.next_element::<Value>()? {
                    Some(v) => f(Part::Attribute(i, v)),
                    None => break,
                },
                None => {
                    if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                }
            }
            i += 1;
        }
        self.at.store(u64::MAX, Ordering::Relaxed);
        Ok(())
    }
}

/// Run the event visitor over a file; JSON errors carry line and column, and
/// the attribute being read when they arose.
fn walk(
    path: &Path,
    mut mode: Mode,
    header: &mut Map<String, Value>,
    counter: Option<Arc<AtomicU64>>,
) -> Result<(), Rejection> {
    let reader = open(path).map_err(|e| Rejection {
        index: 0,
        id: None,
        path: "$".into(),
        reason: format!("cannot open: {e}"),
        fatal: true,
    })?;
    let reader: Box<dyn Read> = match counter {
        Some(c) => Box::new(Counting {
            inner: reader,
            count: c,
        }),
        None => reader,
    };
    let at = AtomicU64::new(u64::MAX);
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 20, reader));
    let seed = EventSeed {
        mode: &mut mode,
        header,
        at: &at,
    };
    let result = seed.deserialize(&mut de).and_then(|_| de.end());
    result.map_err(|e| {
        let i = at.load(Ordering::Relaxed);
        let path = if i == u64::MAX {
            "$".to_string()
        } else {
            format!("Event.Attribute[{i}]")
        };
        Rejection {
            index: if i == u64::MAX { 0 } else { i },
            id: None,
            path,
            reason: format!(
                "malformed MISP JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
            fatal: true,
        }
    })
}

struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn to_item(v: Value, n: u64) -> ImportItem {
    let id = v.get("id").and_then(Value::as_str).map(String::from);
    StixObject::from_value(v)
        .map(Prepared::new)
        .map_err(|e| Rejection {
            index: n,
            id,
            path: e.path().to_string(),
            reason: e.message().to_string(),
            fatal: false,
        })
}

/// Import one MISP event file as one transaction: the STIX objects it
/// converts to, with the conversion's warnings (JSON paths in the event).
pub fn import_misp_file(
    store: &dyn Store,
    subject: &Subject,
    path: &Path,
    opts: &ImportOptions,
    show_progress: bool,
) -> Result<(ImportReport, Vec<Warning>), StoreError> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut header = Map::new();
    walk(path, Mode::Header, &mut header, None).map_err(StoreError::Aborted)?;
    // Wrapped so that warnings name paths as `Event.Attribute[12].type`.
    let header = serde_json::json!({ "Event": header });
    let mut conv = EventConverter::new(&header, &Options::default()).map_err(|e| {
        StoreError::Aborted(Rejection {
            index: 0,
            id: None,
            path: e.path().to_string(),
            reason: e.to_string(),
            fatal: true,
        })
    })?;
    // About five STIX objects per attribute, an attribute per 250 bytes.
    let opts = &ImportOptions {
        expected_objects: Some(len / 50),
        ..opts.clone()
    };
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicU64::new(0));
    let (tx, rx) = crossbeam_channel::bounded::<Vec<ImportItem>>(16);
    let parser = {
        let path = path.to_path_buf();
        let warnings = warnings.clone();
        let count = count.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            let mut batch: Vec<ImportItem> = Vec::with_capacity(512);
            let mut send = |batch: &mut Vec<ImportItem>, objs: Vec<Value>| {
                for v in objs {
                    batch.push(to_item(v, n));
                    n += 1;
                }
                if batch.len() >= 512 {
                    let _ = tx.send(std::mem::replace(batch, Vec::with_capacity(512)));
                }
            };
            let mut ignored = Map::new();
            let walked = {
                let mut on_part = |p: Part| {
                    match p {
                        Part::Attribute(i, v) => conv.attribute(&v, i),
                        Part::Objects(objs) => conv.objects(&objs),
                    }
                    let objs = conv.drain();
                    send(&mut batch, objs);
                };
                walk(&path, Mode::Stream(&mut on_part), &mut ignored, Some(count))
            };
            match walked {
                Ok(()) => {
                    let rest = conv.finish();
                    send(&mut batch, rest.objects);
                    if let Ok(mut w) = warnings.lock() {
                        *w = rest.warnings;
                    }
                }
                Err(r) => batch.push(Err(r)),
            }
            let _ = tx.send(batch);
        })
    };
    let pb = if show_progress {
        ui::bytes_bar(len, &path.display().to_string())
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut items = rx.iter().flatten();
    let result = store.import(subject, &mut items, opts, &mut |_| {
        pb.set_position(count.load(Ordering::Relaxed))
    });
    drop(items);
    pb.finish_and_clear();
    let _ = parser.join();
    let warnings = warnings.lock().map(|w| w.clone()).unwrap_or_default();
    result.map(|r| (r, warnings))
}

/// The MISP JSON of exported STIX objects: one event as `{"Event": …}`,
/// several as `{"response": [{"Event": …}, …]}` (MISP's own search format).
pub fn events_json(objects: &[Value]) -> anyhow::Result<Value> {
    let mut events = liaison_misp::stix_to_events(objects, &Options::default())?;
    Ok(if events.len() == 1 {
        events.remove(0)
    } else {
        serde_json::json!({ "response": events })
    })
}
