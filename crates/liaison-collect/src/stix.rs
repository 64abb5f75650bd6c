//! Items into STIX 2.1 objects with provenance, and the merge that keeps one object
//! per indicator across feeds.
//!
//! Ids are deterministic, so that the same thing from two feeds (or two runs) lands
//! on the same object:
//! - an indicator's id is a UUIDv5 of its pattern and the *label scope* (the feed's
//!   default label as a banner). Two feeds under the same label share one indicator,
//!   which keeps an `external_references` entry per feed (added by [`merge`] as a new
//!   version). Feeds under different labels keep separate objects on purpose: a
//!   merged version could only carry one label, and either the higher feed's
//!   provenance would leak into the lower object or the lower readers would lose the
//!   indicator.
//! - SCOs use the STIX deterministic ids (UUIDv5 of their value).
//! - a sighting is per (what was sighted, feed) and an observed-data per (observable,
//!   feed): repeated runs add to `count` / `number_observed` and widen the seen window.
//! - a news report is a UUIDv5 of its link (or guid, or title) and the feed.

use crate::{Article, FeedConfig, IndicatorItem, Item, Observation, Reliability, ValueKind};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// The namespace of Liaison's collect ids (a fixed random UUID).
const NS: Uuid = Uuid::from_u128(0x6c1a_5e0b_2f4d_4b7e_9a31_8d0c_e5f2_a947);

/// `source_name` prefix of a feed's external references.
pub const SOURCE_PREFIX: &str = "liaison-feed:";

fn id_of(kind: &str, parts: &[&str]) -> String {
    format!(
        "{kind}--{}",
        Uuid::new_v5(&NS, parts.join("\u{1f}").as_bytes())
    )
}

/// The deterministic id of a feed's identity object.
pub fn feed_identity_id(feed: &str) -> String {
    id_of("identity", &["feed", feed])
}

/// Quote a value for a STIX pattern string literal.
pub fn quote(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\'', "\\'")
}

/// What every object of a run carries: the feed, its label scope and the run time.
#[derive(Debug, Clone)]
pub struct FeedContext {
    /// Feed name.
    pub name: String,
    /// Feed URL or path.
    pub url: String,
    /// Its identity id.
    pub identity: String,
    /// Source grade.
    pub reliability: Reliability,
    /// The label scope ids are made in (the feed's label banner).
    pub scope: String,
    /// The run's time (STIX timestamp).
    pub now: String,
    /// The TLP marking definition id to put in `object_marking_refs`, if any.
    pub tlp_marking: Option<String>,
}

impl FeedContext {
    /// The context of a run of `cfg` under label scope `scope` at `now`.
    pub fn new(cfg: &FeedConfig, scope: &str, now: &str) -> Self {
        FeedContext {
            name: cfg.name.clone(),
            url: cfg.url.clone(),
            identity: cfg.identity_id(),
            reliability: cfg.reliability,
            scope: scope.to_string(),
            now: now.to_string(),
            tlp_marking: None,
        }
    }

    /// The feed's identity object.
    pub fn identity_object(&self) -> Value {
        json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": self.identity,
            "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z",
            "name": format!("Feed {}", self.name),
            "identity_class": "system",
            "description": format!("Liaison feed '{}' from {}; source reliability {} ({})",
                self.name, self.url, self.reliability.as_str(), self.reliability.meaning()),
            "x_liaison_source_reliability": self.reliability.as_str(),
        })
    }

    fn provenance(&self, reference: Option<&str>) -> Value {
        let mut r = Map::new();
        r.insert(
            "source_name".into(),
            json!(format!("{SOURCE_PREFIX}{}", self.name)),
        );
        if self.url.starts_with("http://") || self.url.starts_with("https://") {
            r.insert("url".into(), json!(self.url));
        }
        r.insert(
            "description".into(),
            json!(format!(
                "reported by feed '{}' (source reliability {}) at {}",
                self.name,
                self.reliability.as_str(),
                self.now
            )),
        );
        if let Some(x) = reference {
            r.insert("external_id".into(), json!(x));
        }
        Value::Object(r)
    }

    fn common(&self, obj: &mut Map<String, Value>) {
        obj.insert("spec_version".into(), json!("2.1"));
        obj.insert("created_by_ref".into(), json!(self.identity));
        if let Some(m) = &self.tlp_marking {
            obj.insert("object_marking_refs".into(), json!([m]));
        }
    }
}

/// Turns a run's items into STIX objects, merging duplicates within the run.
pub struct Builder {
    ctx: FeedContext,
    objects: Vec<Value>,
    index: HashMap<String, usize>,
}

impl Builder {
    /// A builder for one run; the feed's identity object comes first.
    pub fn new(ctx: FeedContext) -> Self {
        let mut b = Builder {
            objects: Vec::new(),
            index: HashMap::new(),
            ctx,
        };
        let ident = b.ctx.identity_object();
        b.push(ident);
        b
    }

    /// The context.
    pub fn context(&self) -> &FeedContext {
        &self.ctx
    }

    /// Objects so far.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether only the identity is there.
    pub fn is_empty(&self) -> bool {
        self.objects.len() <= 1
    }

    fn push(&mut self, obj: Value) {
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        match self.index.get(&id) {
            Some(&i) => {
                if let Some(m) = merge(&self.objects[i], &obj, &self.ctx.now) {
                    self.objects[i] = m;
                }
            }
            None => {
                self.index.insert(id, self.objects.len());
                self.objects.push(obj);
            }
        }
    }

    /// Add an item.
    pub fn add(&mut self, item: Item) {
        match item {
            Item::Indicator(i) => self.indicator(i),
            Item::Article(a) => self.article(a),
            Item::Observation(o) => self.observation(o),
            Item::Stix(v) => self.push(v),
            Item::Skipped { .. } => {}
        }
    }

    fn indicator(&mut self, i: IndicatorItem) {
        let Some(kind) = i.kind.or_else(|| ValueKind::guess(&i.value)) else {
            return;
        };
        let value = kind.normalise(&i.value);
        let obj = indicator_object(&self.ctx, kind, &value, &i);
        self.push(obj);
    }

    fn article(&mut self, a: Article) {
        let key = a
            .link
            .clone()
            .or(a.guid.clone())
            .unwrap_or_else(|| a.title.clone());
        let id = id_of("report", &[&self.ctx.name, &key]);
        let published = a.published.clone().unwrap_or_else(|| self.ctx.now.clone());
        let mut o = Map::new();
        o.insert("type".into(), json!("report"));
        o.insert("id".into(), json!(id));
        // The article's own time keeps re-runs identical (the same version, not a new one).
        o.insert("created".into(), json!(published));
        o.insert("modified".into(), json!(published));
        o.insert("name".into(), json!(a.title));
        if let Some(s) = &a.summary {
            o.insert("description".into(), json!(s));
        }
        o.insert("published".into(), json!(published));
        o.insert("report_types".into(), json!(["threat-report"]));
        // A report must refer to something; before triage it refers to its source.
        o.insert("object_refs".into(), json!([self.ctx.identity]));
        if !a.categories.is_empty() {
            o.insert("labels".into(), json!(a.categories));
        }
        let mut refs = vec![self.ctx.provenance(a.guid.as_deref())];
        if let Some(l) = &a.link {
            refs.push(json!({"source_name": "article", "url": l}));
        }
        o.insert("external_references".into(), json!(refs));
        self.ctx.common(&mut o);
        self.push(Value::Object(o));
    }

    fn observation(&mut self, ob: Observation) {
        let mut sco_ids = Vec::new();
        for (kind, value) in &ob.observables {
            if let Some(sco) = sco_object(*kind, value) {
                sco_ids.push(sco["id"].as_str().unwrap_or_default().to_string());
                self.push(sco);
            }
        }
        if sco_ids.is_empty() {
            return;
        }
        let od_id = id_of(
            "observed-data",
            &[&self.ctx.name, &self.ctx.scope, &sco_ids.join(",")],
        );
        let mut od = Map::new();
        od.insert("type".into(), json!("observed-data"));
        od.insert("id".into(), json!(od_id));
        od.insert("created".into(), json!(ob.time));
        od.insert("modified".into(), json!(ob.time));
        od.insert("first_observed".into(), json!(ob.time));
        od.insert("last_observed".into(), json!(ob.time));
        od.insert("number_observed".into(), json!(1));
        od.insert("object_refs".into(), json!(sco_ids));
        od.insert("x_liaison_event_type".into(), json!(ob.event_type));
        od.insert(
            "external_references".into(),
            json!([self.ctx.provenance(None)]),
        );
        self.ctx.common(&mut od);
        self.push(Value::Object(od));
        if let Some((sid, msg)) = &ob.signature {
            // A Suricata signature is an indicator of pattern type `suricata`; the alert is
            // its sighting, where the sensor (the feed) saw it.
            let sid_s = sid.to_string();
            let ind_id = id_of("indicator", &["suricata", &sid_s, &self.ctx.scope]);
            let mut ind = Map::new();
            ind.insert("type".into(), json!("indicator"));
            ind.insert("id".into(), json!(ind_id));
            ind.insert("created".into(), json!(ob.time));
            ind.insert("modified".into(), json!(ob.time));
            ind.insert("name".into(), json!(msg));
            ind.insert("pattern".into(), json!(format!("sid:{sid};")));
            ind.insert("pattern_type".into(), json!("suricata"));
            ind.insert("valid_from".into(), json!(ob.time));
            ind.insert("indicator_types".into(), json!(["malicious-activity"]));
            ind.insert(
                "external_references".into(),
                json!([self.ctx.provenance(Some(&format!("sid:{sid}")))]),
            );
            self.ctx.common(&mut ind);
            self.push(Value::Object(ind));
            let s_id = id_of("sighting", &[&ind_id, &self.ctx.name, &self.ctx.scope]);
            let mut s = Map::new();
            s.insert("type".into(), json!("sighting"));
            s.insert("id".into(), json!(s_id));
            s.insert("created".into(), json!(ob.time));
            s.insert("modified".into(), json!(ob.time));
            s.insert("first_seen".into(), json!(ob.time));
            s.insert("last_seen".into(), json!(ob.time));
            s.insert("count".into(), json!(1));
            s.insert("sighting_of_ref".into(), json!(ind_id));
            s.insert("observed_data_refs".into(), json!([od_id]));
            s.insert("where_sighted_refs".into(), json!([self.ctx.identity]));
            s.insert(
                "external_references".into(),
                json!([self.ctx.provenance(None)]),
            );
            self.ctx.common(&mut s);
            self.push(Value::Object(s));
        }
    }

    /// The objects, the feed's identity first.
    pub fn finish(self) -> Vec<Value> {
        self.objects
    }
}

/// The indicator object for a value.
pub fn indicator_object(
    ctx: &FeedContext,
    kind: ValueKind,
    value: &str,
    i: &IndicatorItem,
) -> Value {
    let pattern = kind.pattern(value);
    let id = id_of("indicator", &[&pattern, &ctx.scope]);
    let mut o = Map::new();
    o.insert("type".into(), json!("indicator"));
    o.insert("id".into(), json!(id));
    o.insert("created".into(), json!(ctx.now));
    o.insert("modified".into(), json!(ctx.now));
    o.insert("name".into(), json!(value));
    if let Some(d) = &i.description {
        o.insert("description".into(), json!(d));
    }
    o.insert("pattern".into(), json!(pattern));
    o.insert("pattern_type".into(), json!("stix"));
    o.insert(
        "valid_from".into(),
        json!(i.first_seen.clone().unwrap_or_else(|| ctx.now.clone())),
    );
    o.insert("indicator_types".into(), json!(["malicious-activity"]));
    if !i.labels.is_empty() {
        o.insert("labels".into(), json!(i.labels));
    }
    o.insert(
        "external_references".into(),
        json!([ctx.provenance(i.reference.as_deref())]),
    );
    ctx.common(&mut o);
    Value::Object(o)
}

/// The SCO of an observable, with its deterministic id.
pub fn sco_object(kind: ValueKind, value: &str) -> Option<Value> {
    let (t, mut props) = match kind {
        ValueKind::Ipv4 => ("ipv4-addr", json!({"value": value})),
        ValueKind::Ipv6 => ("ipv6-addr", json!({"value": value})),
        ValueKind::Domain => ("domain-name", json!({"value": kind.normalise(value)})),
        ValueKind::Url => ("url", json!({"value": value})),
        ValueKind::Email => ("email-addr", json!({"value": value})),
        ValueKind::Md5 => ("file", json!({"hashes": {"MD5": kind.normalise(value)}})),
        ValueKind::Sha1 => ("file", json!({"hashes": {"SHA-1": kind.normalise(value)}})),
        ValueKind::Sha256 => (
            "file",
            json!({"hashes": {"SHA-256": kind.normalise(value)}}),
        ),
    };
    let map = props.as_object_mut()?;
    let id = liaison_stix::sco_id(t, map)?;
    map.insert("type".into(), json!(t));
    map.insert("spec_version".into(), json!("2.1"));
    map.insert("id".into(), json!(id));
    Some(props)
}

/// Later of two STIX timestamps (both RFC 3339 UTC of the same form compare as text).
fn later(a: &str, b: &str) -> String {
    if ts_ms(a) >= ts_ms(b) {
        a.to_string()
    } else {
        b.to_string()
    }
}

fn ts_ms(s: &str) -> i64 {
    liaison_stix::Timestamp::parse(s)
        .map(|t| t.millis())
        .unwrap_or(i64::MIN)
}

/// The new version of `existing` that also carries what `incoming` adds, or `None`
/// when it adds nothing (the stored version stays as it is).
///
/// - `external_references`: entries of `incoming` whose `source_name` is not there yet
///   are appended (every feed's provenance kept; `created_by_ref` stays the first feed's).
/// - `labels`: union.
/// - sightings and observed-data: `count` / `number_observed` add up, the seen
///   window widens, `observed_data_refs` are united.
///
/// The new version's `modified` is `now`, or 1 ms after the existing one if that is later.
pub fn merge(existing: &Value, incoming: &Value, now: &str) -> Option<Value> {
    let (Some(old), Some(new)) = (existing.as_object(), incoming.as_object()) else {
        return None;
    };
    // SCOs have one version: nothing to merge.
    old.get("modified")?;
    let mut out = old.clone();
    let mut changed = false;
    let old_refs: Vec<Value> = old
        .get("external_references")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let known = |name: &str| {
        old_refs
            .iter()
            .any(|r| r.get("source_name").and_then(Value::as_str) == Some(name))
    };
    let mut refs = old_refs.clone();
    for r in new
        .get("external_references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = r.get("source_name").and_then(Value::as_str).unwrap_or("");
        if name.starts_with(SOURCE_PREFIX) && !known(name) {
            refs.push(r.clone());
            changed = true;
        }
    }
    if changed {
        out.insert("external_references".into(), Value::Array(refs));
    }
    let mut labels: Vec<Value> = old
        .get("labels")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for l in new
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !labels.contains(l) {
            labels.push(l.clone());
            changed = true;
        }
    }
    if !labels.is_empty() {
        out.insert("labels".into(), Value::Array(labels));
    }
    for (count, first, last) in [
        ("count", "first_seen", "last_seen"),
        ("number_observed", "first_observed", "last_observed"),
    ] {
        if let (Some(a), Some(b)) = (
            old.get(count).and_then(Value::as_u64),
            new.get(count).and_then(Value::as_u64),
        ) {
            // Counts add up: a tailed source hands each event over once.
            let (of, ol) = (
                old.get(first).and_then(Value::as_str),
                old.get(last).and_then(Value::as_str),
            );
            let (nf, nl) = (
                new.get(first).and_then(Value::as_str),
                new.get(last).and_then(Value::as_str),
            );
            let (Some(of), Some(ol), Some(nf), Some(nl)) = (of, ol, nf, nl) else {
                continue;
            };
            out.insert(count.into(), json!(a.saturating_add(b).min(999_999_999)));
            let f = if ts_ms(nf) < ts_ms(of) { nf } else { of };
            out.insert(first.into(), json!(f));
            out.insert(last.into(), json!(later(ol, nl)));
            changed = true;
        }
    }
    if let Some(nrefs) = new.get("observed_data_refs").and_then(Value::as_array) {
        let mut refs: Vec<Value> = old
            .get("observed_data_refs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for r in nrefs {
            if !refs.contains(r) && refs.len() < 1000 {
                refs.push(r.clone());
                changed = true;
            }
        }
        out.insert("observed_data_refs".into(), Value::Array(refs));
    }
    if !changed {
        return None;
    }
    let prev = old.get("modified").and_then(Value::as_str).unwrap_or(now);
    let next = if ts_ms(now) > ts_ms(prev) {
        now.to_string()
    } else {
        liaison_stix::Timestamp::from_millis(ts_ms(prev).saturating_add(1)).to_string()
    };
    out.insert("modified".into(), json!(next));
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    fn ctx(name: &str, now: &str) -> FeedContext {
        FeedContext::new(
            &FeedConfig::new(name, "https://f.example/x", Format::List),
            "U",
            now,
        )
    }

    fn ind(c: &FeedContext, v: &str) -> Value {
        indicator_object(c, ValueKind::Ipv4, v, &IndicatorItem::default())
    }

    #[test]
    fn same_value_same_id_across_feeds_not_across_scopes() {
        let a = ind(&ctx("a", "2026-11-29T00:00:00.000Z"), "198.51.100.7");
        let b = ind(&ctx("b", "2026-11-29T01:00:00.000Z"), "198.51.100.7");
        assert_eq!(a["id"], b["id"]);
        let mut c2 = ctx("b", "2026-11-29T01:00:00.000Z");
        c2.scope = "SECRET".into();
        assert_ne!(a["id"], ind(&c2, "198.51.100.7")["id"]);
    }

    #[test]
    fn merge_adds_provenance_once() {
        let a = ind(&ctx("a", "2026-11-29T00:00:00.000Z"), "198.51.100.7");
        let b = ind(&ctx("b", "2026-11-29T01:00:00.000Z"), "198.51.100.7");
        let m = merge(&a, &b, "2026-11-29T01:00:00.000Z").unwrap();
        let names: Vec<_> = m["external_references"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["source_name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["liaison-feed:a", "liaison-feed:b"]);
        assert_eq!(m["created_by_ref"], a["created_by_ref"]);
        assert_eq!(m["modified"], "2026-11-29T01:00:00.000Z");
        assert_eq!(m["created"], a["created"]);
        // Feed b again: nothing new.
        assert!(merge(&m, &b, "2026-11-29T02:00:00.000Z").is_none());
    }

    #[test]
    fn merge_never_goes_back_in_time() {
        let a = ind(&ctx("a", "2026-11-29T05:00:00.000Z"), "198.51.100.7");
        let b = ind(&ctx("b", "2026-11-29T01:00:00.000Z"), "198.51.100.7");
        let m = merge(&a, &b, "2026-11-29T01:00:00.000Z").unwrap();
        assert_eq!(m["modified"], "2026-11-29T05:00:00.001Z");
    }

    #[test]
    fn sighting_counts_add_up() {
        let c = ctx("sensor", "2026-11-29T00:00:00.000Z");
        let mut b = Builder::new(c);
        for t in ["2026-11-29T00:00:01.000Z", "2026-11-29T00:00:05.000Z"] {
            b.add(Item::Observation(Observation {
                time: t.into(),
                observables: vec![(ValueKind::Ipv4, "203.0.113.9".into())],
                signature: Some((2019401, "ET TROJAN test".into())),
                event_type: "alert".into(),
            }));
        }
        let objs = b.finish();
        let s = objs.iter().find(|o| o["type"] == "sighting").unwrap();
        assert_eq!(s["count"], 2);
        assert_eq!(s["first_seen"], "2026-11-29T00:00:01.000Z");
        assert_eq!(s["last_seen"], "2026-11-29T00:00:05.000Z");
        assert_eq!(objs.iter().filter(|o| o["type"] == "sighting").count(), 1);
        assert_eq!(objs.iter().filter(|o| o["type"] == "ipv4-addr").count(), 1);
    }
}
