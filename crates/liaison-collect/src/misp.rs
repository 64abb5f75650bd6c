//! MISP feeds as MISP publishes them: `manifest.json` (event uuid → info and
//! timestamp) next to one `<uuid>.json` file per event. A run fetches the manifest,
//! then only the events that are new or changed since the last run (by their
//! manifest timestamp, kept in the cursor), and converts each with
//! `liaison_misp::event_to_stix`, which reuses MISP's UUIDs as STIX ids so a
//! re-published event lands on the same objects.

use crate::{Connector, Error, Item, Request, Response};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;

/// The MISP feed state machine of one run.
#[derive(Debug, Clone)]
pub struct MispFeed {
    base: String,
    seen: Map<String, Value>,
    queue: VecDeque<(String, Value)>,
    pending: Option<(String, Value)>,
    manifest_done: bool,
    manifest_asked: bool,
}

impl MispFeed {
    /// A feed at `url` (the directory holding `manifest.json`, or the manifest itself).
    pub fn new(url: &str, cursor: Option<&Value>) -> Self {
        let base = url
            .strip_suffix("manifest.json")
            .unwrap_or(url)
            .trim_end_matches('/')
            .to_string();
        MispFeed {
            base,
            seen: cursor
                .and_then(|c| c.get("events"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            queue: VecDeque::new(),
            pending: None,
            manifest_done: false,
            manifest_asked: false,
        }
    }

    /// Events the manifest lists that this run will fetch.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

/// Parse `manifest.json`: the events as (uuid, timestamp), in manifest order.
pub fn manifest(body: &[u8]) -> Result<Vec<(String, Value)>, Error> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Error::syntax("manifest.json", format!("not JSON: {e}")))?;
    let m = v.as_object().ok_or_else(|| {
        Error::syntax(
            "manifest.json $",
            "expected an object of event uuid → event summary",
        )
    })?;
    let mut out = Vec::new();
    for (uuid, e) in m {
        if uuid.len() != 36 || !uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(Error::syntax(
                format!("manifest.json $.'{uuid}'"),
                "expected an event UUID as key",
            ));
        }
        let ts = e.get("timestamp").cloned().unwrap_or(Value::Null);
        out.push((uuid.clone(), ts));
    }
    Ok(out)
}

impl Connector for MispFeed {
    fn next_request(&mut self) -> Option<Request> {
        if !self.manifest_asked {
            self.manifest_asked = true;
            return Some(Request {
                url: format!("{}/manifest.json", self.base),
                conditional: true,
                accept: Some("application/json"),
            });
        }
        if !self.manifest_done {
            return None;
        }
        let (uuid, ts) = self.queue.pop_front()?;
        let url = format!("{}/{uuid}.json", self.base);
        self.pending = Some((uuid, ts));
        Some(Request {
            url,
            conditional: false,
            accept: Some("application/json"),
        })
    }

    fn take(&mut self, resp: &Response<'_>, sink: &mut dyn FnMut(Item)) -> Result<(), Error> {
        if !self.manifest_done {
            self.manifest_done = true;
            if resp.status == 304 {
                return Ok(());
            }
            for (uuid, ts) in manifest(resp.body)? {
                if self.seen.get(&uuid) != Some(&ts) || ts.is_null() {
                    self.queue.push_back((uuid, ts));
                }
            }
            return Ok(());
        }
        let Some((uuid, ts)) = self.pending.take() else {
            return Ok(());
        };
        let at = format!("{uuid}.json");
        let v: Value = serde_json::from_slice(resp.body)
            .map_err(|e| Error::syntax(at.clone(), format!("not JSON: {e}")))?;
        let conv = liaison_misp::event_to_stix(&v, &liaison_misp::Options::default())
            .map_err(|e| Error::syntax(format!("{at} {}", e.path()), e.to_string()))?;
        for o in conv.objects {
            sink(Item::Stix(o));
        }
        for w in conv.warnings {
            sink(Item::Skipped {
                at: format!("{at} {}", w.path),
                reason: w.message,
            });
        }
        self.seen.insert(uuid, ts);
        Ok(())
    }

    fn cursor(&self) -> Option<Value> {
        Some(json!({"events": self.seen}))
    }
}
