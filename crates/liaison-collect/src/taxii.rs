//! TAXII 2.1 collection pull: page through `objects/` with `next`, and remember the
//! last `date_added` seen so the next run asks only for what was added since
//! (`added_after`). Pulled objects are kept verbatim (labels included, when the
//! source is another Liaison), which is how two Liaison instances federate.

use crate::{Connector, Error, ErrorKind, Item, Request, Response};
use serde_json::{json, Value};

/// The media type of TAXII 2.1.
pub const TAXII_ACCEPT: &str = "application/taxii+json;version=2.1";

/// Objects asked for per page.
pub const PAGE: usize = 1000;

/// The pull state machine of one run.
#[derive(Debug, Clone)]
pub struct TaxiiPull {
    objects_url: String,
    added_after: Option<String>,
    next: Option<String>,
    newest: Option<String>,
    started: bool,
    done: bool,
    pages: u32,
}

impl TaxiiPull {
    /// A pull of the collection at `url` (the collection's URL, ending in its id,
    /// or its `objects/` endpoint), resuming after the cursor's `added_after`.
    pub fn new(url: &str, cursor: Option<&Value>) -> Result<Self, Error> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::new(
                ErrorKind::Config,
                "url",
                format!("'{url}': a TAXII collection is an http(s) URL"),
            ));
        }
        let mut base = url.trim_end_matches('/').to_string();
        if !base.ends_with("/objects") {
            base.push_str("/objects");
        }
        base.push('/');
        let added_after = cursor
            .and_then(|c| c.get("added_after"))
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(TaxiiPull {
            objects_url: base,
            newest: added_after.clone(),
            added_after,
            next: None,
            started: false,
            done: false,
            pages: 0,
        })
    }

    /// The `added_after` the next run will use.
    pub fn added_after(&self) -> Option<&str> {
        self.newest.as_deref()
    }
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Connector for TaxiiPull {
    fn next_request(&mut self) -> Option<Request> {
        if self.done || (self.started && self.next.is_none()) {
            return None;
        }
        self.started = true;
        let mut url = format!("{}?limit={PAGE}", self.objects_url);
        if let Some(a) = &self.added_after {
            url.push_str(&format!("&added_after={}", enc(a)));
        }
        if let Some(n) = self.next.take() {
            url.push_str(&format!("&next={}", enc(&n)));
        }
        Some(Request {
            url,
            conditional: false,
            accept: Some(TAXII_ACCEPT),
        })
    }

    fn take(&mut self, resp: &Response<'_>, sink: &mut dyn FnMut(Item)) -> Result<(), Error> {
        self.pages += 1;
        let at = format!("page {}", self.pages);
        let env: Value = serde_json::from_slice(resp.body)
            .map_err(|e| Error::syntax(at.clone(), format!("not a TAXII envelope: {e}")))?;
        let objects = match env.get("objects") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return Err(Error::syntax(format!("{at} $.objects"), "expected a list")),
        };
        for o in objects {
            sink(Item::Stix(o.clone()));
        }
        if let Some(last) = &resp.date_added_last {
            let newer = self.newest.as_deref().is_none_or(|n| ts(last) > ts(n));
            if newer {
                self.newest = Some(last.clone());
            }
        }
        let more = env.get("more").and_then(Value::as_bool).unwrap_or(false);
        self.next = env
            .get("next")
            .and_then(Value::as_str)
            .map(str::to_string)
            .filter(|_| more);
        if more && self.next.is_none() {
            // `more` without `next`: page on by added_after (TAXII 2.1 §3.4.1).
            if self.newest != self.added_after {
                self.added_after = self.newest.clone();
                self.started = false;
            } else {
                self.done = true;
            }
        }
        if !more {
            self.done = true;
        }
        Ok(())
    }

    fn cursor(&self) -> Option<Value> {
        self.newest.as_ref().map(|a| json!({"added_after": a}))
    }
}

fn ts(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_micros())
        .unwrap_or(i64::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_remembers() {
        let mut p = TaxiiPull::new("http://h/taxii2/r/collections/c1/", None).unwrap();
        let r = p.next_request().unwrap();
        assert_eq!(
            r.url,
            "http://h/taxii2/r/collections/c1/objects/?limit=1000"
        );
        let body = br#"{"more":true,"next":"abc","objects":[{"id":"x--1"}]}"#;
        let mut n = 0;
        p.take(
            &Response {
                status: 200,
                body,
                content_type: None,
                date_added_last: Some("2026-11-29T10:00:00.000Z".into()),
            },
            &mut |_| n += 1,
        )
        .unwrap();
        let r = p.next_request().unwrap();
        assert!(r.url.ends_with("&next=abc"), "{}", r.url);
        p.take(
            &Response {
                status: 200,
                body: br#"{"more":false}"#,
                content_type: None,
                date_added_last: None,
            },
            &mut |_| n += 1,
        )
        .unwrap();
        assert!(p.next_request().is_none());
        assert_eq!(n, 1);
        let c = p.cursor().unwrap();
        let mut again = TaxiiPull::new("http://h/taxii2/r/collections/c1", Some(&c)).unwrap();
        let r = again.next_request().unwrap();
        assert!(
            r.url.contains("added_after=2026-11-29T10%3A00%3A00.000Z"),
            "{}",
            r.url
        );
    }
}
