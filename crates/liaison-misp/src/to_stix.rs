//! MISP event → STIX 2.1.

use crate::attribute::{self, Mapping};
use crate::object;
use crate::pattern::observation;
use crate::types::{default_category, default_to_ids, is_known_type};
use crate::{Conversion, Error, Options, Warning};
use liaison_stix::tlp::Tlp;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Namespace of the ids this crate derives (relationships, missing UUIDs):
/// the one misp-stix uses, so that derived relationship ids agree with MISP's
/// own conversion.
pub(crate) const NAMESPACE: Uuid = Uuid::from_u128(0x76beed5f_7251_457e_8c2a_b45f7b589d3d);

/// STIX timestamps of a MISP epoch: (`created` form with milliseconds, plain form).
pub(crate) fn timestamps(secs: i64) -> (String, String) {
    thread_local! {
        // Most attributes of an event share a timestamp: format it once.
        static LAST: std::cell::RefCell<(i64, String, String)> =
            const { std::cell::RefCell::new((i64::MIN, String::new(), String::new())) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != secs {
            let dt = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
            *last = (
                secs,
                dt.format("%Y-%m-%dT%H:%M:%S.000Z").to_string(),
                dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            );
        }
        (last.1.clone(), last.2.clone())
    })
}

/// An epoch given as a number or a string of digits.
pub(crate) fn epoch(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A MISP boolean: `true`, `1`, `"1"`, `"true"`.
pub(crate) fn misp_bool(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_i64() != Some(0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A value as text: strings as they are, numbers printed.
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn valid_uuid(s: &str) -> bool {
    Uuid::parse_str(s).is_ok()
}

/// The relationship id misp-stix derives: UUIDv5 over `source - type - target`.
pub(crate) fn relationship_id(source: &str, rel: &str, target: &str) -> String {
    let name = format!("{source} - {rel} - {target}");
    format!(
        "relationship--{}",
        Uuid::new_v5(&NAMESPACE, name.as_bytes())
    )
}

/// Galaxy type → STIX type of its clusters.
fn galaxy_stix_type(galaxy_type: &str) -> &'static str {
    let t = galaxy_type.strip_prefix("mitre-").unwrap_or(galaxy_type);
    let t = t
        .strip_prefix("enterprise-attack-")
        .or_else(|| t.strip_prefix("mobile-attack-"))
        .or_else(|| t.strip_prefix("pre-attack-"))
        .unwrap_or(t);
    match t {
        "attack-pattern" => "attack-pattern",
        "course-of-action" => "course-of-action",
        "intrusion-set" => "intrusion-set",
        "malware" | "android" | "backdoor" | "banker" | "botnet" | "exploit-kit" | "ransomware"
        | "rat" | "stealer" | "malpedia" => "malware",
        "tool" => "tool",
        "threat-actor" | "microsoft-activity-group" => "threat-actor",
        "branded-vulnerability" | "vulnerability" => "vulnerability",
        "sector" => "identity",
        "country" | "region" => "location",
        "campaign" => "campaign",
        _ => "x-misp-galaxy-cluster",
    }
}

pub(crate) struct Ctx {
    pub opts: Options,
    pub warnings: Vec<Warning>,
    pub objects: Vec<Value>,
    pub refs: Vec<String>,
    pub seen: HashSet<String>,
    pub created_by: Option<String>,
    pub event_uuid: String,
    pub event_ts: i64,
    /// Which STIX object stands for a MISP attribute or object UUID
    /// (for object references and sightings).
    pub stix_of: HashMap<String, String>,
    /// Galaxy cluster UUIDs → STIX id, and their tag names (`misp-galaxy:type="value"`).
    pub clusters: HashMap<String, String>,
    pub cluster_tags: HashSet<String>,
    /// Every STIX object an attribute or object UUID became (notes refer to all).
    pub all_of: HashMap<String, Vec<String>>,
    /// Whether to remember every object an attribute became (event reports
    /// refer to them; without reports that memory is saved).
    pub keep_all_of: bool,
    /// `registry-key-value` objects folded into the registry key that contains them.
    pub absorbed: HashMap<String, Value>,
    markings: Vec<Value>,
}

impl Ctx {
    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Add an object to the output and the container's `object_refs`.
    pub fn push(&mut self, obj: Map<String, Value>) {
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        if !self.seen.insert(id.clone()) {
            return;
        }
        self.refs.push(id);
        self.objects.push(Value::Object(obj));
    }

    pub fn relate(&mut self, source: &str, rel: &str, target: &str, ts: i64) {
        self.relate_with_id(None, source, rel, target, ts)
    }

    /// A relationship with a given id (a MISP object reference's UUID) or,
    /// without one, the id misp-stix derives.
    pub fn relate_with_id(
        &mut self,
        id: Option<String>,
        source: &str,
        rel: &str,
        target: &str,
        ts: i64,
    ) {
        let id = id.unwrap_or_else(|| relationship_id(source, rel, target));
        if self.seen.contains(&id) {
            return;
        }
        let (created, _) = timestamps(ts);
        let mut r = Map::new();
        r.insert("type".into(), json!("relationship"));
        r.insert("spec_version".into(), json!("2.1"));
        r.insert("id".into(), json!(id));
        if let Some(c) = &self.created_by {
            r.insert("created_by_ref".into(), json!(c));
        }
        r.insert("created".into(), json!(created));
        r.insert("modified".into(), json!(created));
        r.insert("relationship_type".into(), json!(rel));
        r.insert("source_ref".into(), json!(source));
        r.insert("target_ref".into(), json!(target));
        self.push(r);
    }

    /// Common SDO properties.
    pub fn sdo(&self, ty: &str, uuid: &str, ts: i64) -> Map<String, Value> {
        let (created, _) = timestamps(ts);
        let mut m = Map::new();
        m.insert("type".into(), json!(ty));
        m.insert("spec_version".into(), json!("2.1"));
        m.insert("id".into(), json!(format!("{ty}--{uuid}")));
        if let Some(c) = &self.created_by {
            m.insert("created_by_ref".into(), json!(c));
        }
        m.insert("created".into(), json!(created));
        m.insert("modified".into(), json!(created));
        m
    }

    /// A UUID for an item: its own when valid, else one derived from the event
    /// and the item's JSON path (stable across runs), with a warning.
    pub fn item_uuid(&mut self, item: &Value, path: &str) -> String {
        match item.get("uuid").and_then(Value::as_str) {
            Some(u) if valid_uuid(u) => u.to_ascii_lowercase(),
            other => {
                let derived =
                    Uuid::new_v5(&NAMESPACE, format!("{}:{path}", self.event_uuid).as_bytes())
                        .to_string();
                self.warn(
                    format!("{path}.uuid"),
                    match other {
                        Some(u) => format!("{u:?} is not a UUID; using {derived}"),
                        None => format!("missing; using {derived}"),
                    },
                );
                derived
            }
        }
    }

    /// Tags of an item: TLP tags to marking refs, others to labels.
    pub fn tags(&mut self, item: &Value, path: &str, labels: &mut Vec<String>) -> Vec<String> {
        let mut marks = Vec::new();
        let Some(tags) = item.get("Tag") else {
            return marks;
        };
        let Some(tags) = tags.as_array() else {
            self.warn(format!("{path}.Tag"), "expected a list of tags; ignored");
            return marks;
        };
        for (i, tag) in tags.iter().enumerate() {
            let name = tag
                .get("name")
                .and_then(Value::as_str)
                .or_else(|| tag.as_str());
            let Some(name) = name else {
                self.warn(format!("{path}.Tag[{i}].name"), "missing tag name; ignored");
                continue;
            };
            if let Some(level) = name.strip_prefix("tlp:").and_then(Tlp::parse) {
                let id = level.marking_id().to_string();
                if !marks.contains(&id) {
                    marks.push(id);
                }
                if !self.markings.iter().any(|m| m["id"] == level.marking_id()) {
                    self.markings.push(level.marking_definition());
                }
            } else if self.cluster_tags.contains(name) {
                // The galaxy cluster itself is converted; its tag adds nothing.
            } else {
                labels.push(name.to_string());
            }
        }
        marks
    }

    /// Galaxies attached to an item (`Galaxy` list): their clusters, and a
    /// relationship from `from` to each when given.
    pub fn galaxies(&mut self, item: &Value, path: &str, from: Option<&str>, ts: i64) {
        let Some(galaxies) = item.get("Galaxy").and_then(Value::as_array) else {
            return;
        };
        for (gi, g) in galaxies.iter().enumerate() {
            let gpath = format!("{path}.Galaxy[{gi}]");
            let gtype = g.get("type").and_then(Value::as_str).unwrap_or_default();
            let gname = g.get("name").and_then(Value::as_str).unwrap_or(gtype);
            let Some(clusters) = g.get("GalaxyCluster").and_then(Value::as_array) else {
                continue;
            };
            for (ci, c) in clusters.iter().enumerate() {
                let cpath = format!("{gpath}.GalaxyCluster[{ci}]");
                let Some(id) = self.cluster(c, &cpath, gtype, gname, ts) else {
                    continue;
                };
                if let Some(from) = from {
                    let rel = if from.starts_with("course-of-action--")
                        && id.starts_with("attack-pattern--")
                    {
                        "mitigates"
                    } else {
                        "related-to"
                    };
                    self.relate(from, rel, &id, ts);
                }
            }
        }
    }

    fn cluster(
        &mut self,
        c: &Value,
        path: &str,
        gtype: &str,
        gname: &str,
        ts: i64,
    ) -> Option<String> {
        let ctype = c.get("type").and_then(Value::as_str).unwrap_or(gtype);
        let value = match c.get("value").and_then(Value::as_str) {
            Some(v) => v,
            None => {
                self.warn(
                    format!("{path}.value"),
                    "galaxy cluster without a value; skipped",
                );
                return None;
            }
        };
        let uuid = self.item_uuid(c, path);
        if let Some(id) = self.clusters.get(&uuid) {
            return Some(id.clone());
        }
        let mut stype = galaxy_stix_type(ctype);
        if self.opts.standard_only && stype.starts_with("x-misp") {
            return None;
        }
        let meta0 = c.get("meta").and_then(Value::as_object);
        let meta_str = |k: &str| meta0.and_then(|m| m.get(k)).and_then(Value::as_str);
        if ctype == "stix-2.1-location" {
            stype = "location";
        }
        let location = if stype == "location" {
            let country = meta_str("ISO").or_else(|| meta_str("country"));
            let region = (ctype == "region").then(|| {
                value
                    .split_once(" - ")
                    .map(|(_, r)| r)
                    .unwrap_or(value)
                    .to_ascii_lowercase()
                    .replace(' ', "-")
            });
            if country.is_none() && region.is_none() {
                stype = "x-misp-galaxy-cluster";
            }
            Some((
                country.map(str::to_string),
                region,
                meta_str("administrative_area").map(str::to_string),
            ))
        } else {
            None
        };
        let meta = c.get("meta").and_then(Value::as_object);
        let external_id = meta
            .and_then(|m| m.get("external_id"))
            .and_then(|v| match v {
                Value::Array(a) => a.first().and_then(Value::as_str),
                Value::String(s) => Some(s.as_str()),
                _ => None,
            });
        let mut m = self.sdo(stype, &uuid, ts);
        m.remove("created_by_ref");
        let name = match external_id {
            Some(e) => value
                .strip_suffix(&format!(" - {e}"))
                .unwrap_or(value)
                .to_string(),
            None => value.to_string(),
        };
        if stype == "x-misp-galaxy-cluster" {
            m.insert("x_misp_name".into(), json!(gname));
            m.insert("x_misp_type".into(), json!(ctype));
            m.insert("x_misp_value".into(), json!(value));
        } else {
            m.insert("name".into(), json!(name));
        }
        if let Some(d) = c.get("description").and_then(Value::as_str) {
            if !d.is_empty() {
                let key = if stype == "x-misp-galaxy-cluster" {
                    "x_misp_description"
                } else {
                    "description"
                };
                m.insert(key.into(), json!(d));
            }
        }
        if stype == "malware" {
            m.insert("is_family".into(), json!(false));
        }
        if stype == "identity" {
            m.insert("identity_class".into(), json!("class"));
        }
        if let (Some((country, region, area)), "location") = (location, stype) {
            if let Some(c) = country {
                m.insert("country".into(), json!(c));
            }
            if let Some(r) = region {
                m.insert("region".into(), json!(r));
            }
            if let Some(a) = area {
                m.insert("administrative_area".into(), json!(a));
            }
        }
        if stype == "attack-pattern" {
            if let Some(kc) = meta
                .and_then(|m| m.get("kill_chain"))
                .and_then(Value::as_array)
            {
                let phases: Vec<Value> = kc
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(|p| p.rsplit_once(':'))
                    .map(|(k, p)| json!({"kill_chain_name": k, "phase_name": p}))
                    .collect();
                if !phases.is_empty() {
                    m.insert("kill_chain_phases".into(), json!(phases));
                }
            }
        }
        m.insert(
            "labels".into(),
            json!([
                format!("misp:galaxy-name=\"{gname}\""),
                format!("misp:galaxy-type=\"{ctype}\"")
            ]),
        );
        let mut ext = Vec::new();
        if let Some(e) = external_id {
            let source = if e.starts_with("CVE-") {
                "cve"
            } else if e.starts_with("CAPEC-") {
                "capec"
            } else {
                "mitre-attack"
            };
            ext.push(json!({"source_name": source, "external_id": e}));
        }
        if let Some(refs) = meta.and_then(|m| m.get("refs")).and_then(Value::as_array) {
            for r in refs.iter().filter_map(Value::as_str) {
                ext.push(json!({"source_name": "url", "url": r}));
            }
        }
        if !ext.is_empty() {
            m.insert("external_references".into(), json!(ext));
        }
        let id = m["id"].as_str().unwrap_or_default().to_string();
        self.clusters.insert(uuid, id.clone());
        self.push(m);
        Some(id)
    }

    /// Sightings of an attribute or object (`Sighting` list) as STIX sightings
    /// of `of` (type 0), and false-positive reports (type 1) as opinions.
    pub fn sightings(&mut self, item: &Value, path: &str, of: &str, observed: Option<&str>) {
        let Some(list) = item.get("Sighting").and_then(Value::as_array) else {
            return;
        };
        for (i, s) in list.iter().enumerate() {
            let spath = format!("{path}.Sighting[{i}]");
            let uuid = self.item_uuid(s, &spath);
            let ts = epoch(s.get("date_sighting")).unwrap_or(self.event_ts);
            let (created, plain) = timestamps(ts);
            let org = s.get("Organisation").or_else(|| s.get("Org"));
            let org_id = org.and_then(|o| self.identity(o));
            let kind = text(s.get("type")).unwrap_or_else(|| "0".into());
            let mut m = Map::new();
            match kind.as_str() {
                "1" => {
                    m.insert("type".into(), json!("opinion"));
                    m.insert("spec_version".into(), json!("2.1"));
                    m.insert("id".into(), json!(format!("opinion--{uuid}")));
                    m.insert("created".into(), json!(created));
                    m.insert("modified".into(), json!(created));
                    m.insert("explanation".into(), json!("False positive Sighting"));
                    if let Some(name) = org.and_then(|o| o.get("name")).and_then(Value::as_str) {
                        m.insert("authors".into(), json!([name]));
                    }
                    m.insert("opinion".into(), json!("strongly-disagree"));
                    let mut refs = vec![];
                    if let Some(o) = observed {
                        refs.push(o.to_string());
                    }
                    if observed != Some(of) {
                        refs.push(of.to_string());
                    }
                    m.insert("object_refs".into(), json!(refs));
                }
                _ => {
                    m.insert("type".into(), json!("sighting"));
                    m.insert("spec_version".into(), json!("2.1"));
                    m.insert("id".into(), json!(format!("sighting--{uuid}")));
                    m.insert("created".into(), json!(created));
                    m.insert("modified".into(), json!(created));
                    m.insert("first_seen".into(), json!(plain));
                    m.insert("last_seen".into(), json!(plain));
                    m.insert("count".into(), json!(1));
                    m.insert("sighting_of_ref".into(), json!(of));
                    if let Some(o) = observed.filter(|o| *o != of) {
                        m.insert("observed_data_refs".into(), json!([o]));
                    }
                    if let Some(id) = org_id {
                        m.insert("where_sighted_refs".into(), json!([id]));
                    }
                }
            }
            self.push(m);
        }
    }

    /// MISP analyst data (`Note`, `Opinion` lists) on an item as STIX notes and
    /// opinions about the objects the item became.
    pub fn analyst_data(&mut self, item: &Value, path: &str, item_uuid: &str) {
        let refs = match self.all_of.get(item_uuid) {
            Some(r) => r.clone(),
            None => return,
        };
        self.analyst_data_on(item, path, refs);
    }

    pub fn analyst_data_on(&mut self, item: &Value, path: &str, refs: Vec<String>) {
        for (kind, key) in [("note", "Note"), ("opinion", "Opinion")] {
            let Some(list) = item.get(key).and_then(Value::as_array) else {
                continue;
            };
            for (i, n) in list.iter().enumerate() {
                let npath = format!("{path}.{key}[{i}]");
                let uuid = self.item_uuid(n, &npath);
                let stamp = |k: &str| {
                    n.get(k)
                        .and_then(Value::as_str)
                        .and_then(|t| {
                            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok()
                        })
                        .map(|t| t.and_utc().format("%Y-%m-%dT%H:%M:%S.000Z").to_string())
                };
                let created = stamp("created").unwrap_or_else(|| timestamps(self.event_ts).0);
                let modified = stamp("modified").unwrap_or_else(|| created.clone());
                let mut m = Map::new();
                m.insert("type".into(), json!(kind));
                m.insert("spec_version".into(), json!("2.1"));
                m.insert("id".into(), json!(format!("{kind}--{uuid}")));
                m.insert("created".into(), json!(created));
                m.insert("modified".into(), json!(modified));
                let authors = n.get("authors").and_then(Value::as_str);
                if kind == "note" {
                    m.insert(
                        "content".into(),
                        json!(n.get("note").and_then(Value::as_str).unwrap_or_default()),
                    );
                } else {
                    if let Some(c) = n.get("comment").and_then(Value::as_str) {
                        m.insert("explanation".into(), json!(c));
                    }
                    let score = text(n.get("opinion"))
                        .and_then(|s| s.parse::<i64>().ok())
                        .unwrap_or(50);
                    let opinion = match score {
                        i64::MIN..=20 => "strongly-disagree",
                        21..=40 => "disagree",
                        41..=60 => "neutral",
                        61..=80 => "agree",
                        _ => "strongly-agree",
                    };
                    m.insert("opinion".into(), json!(opinion));
                    m.insert("x_misp_opinion".into(), json!(score));
                }
                if let Some(a) = authors {
                    m.insert("authors".into(), json!([a]));
                }
                m.insert("object_refs".into(), json!(refs));
                let layer = if kind == "note" {
                    "Analyst Note"
                } else {
                    "Analyst Opinion"
                };
                m.insert(
                    "labels".into(),
                    json!([format!("misp:context-layer=\"{layer}\"")]),
                );
                if let Some(l) = n.get("language").and_then(Value::as_str) {
                    m.insert("lang".into(), json!(l));
                }
                let id = format!("{kind}--{uuid}");
                self.push(m);
                // Analyst data can itself carry analyst data.
                self.analyst_data_on(n, &npath, vec![id]);
            }
        }
    }

    /// The identity of a MISP organisation (`{"name", "uuid"}`), added once.
    pub fn identity(&mut self, org: &Value) -> Option<String> {
        let uuid = org
            .get("uuid")
            .and_then(Value::as_str)
            .filter(|u| valid_uuid(u))?;
        let name = org.get("name").and_then(Value::as_str).unwrap_or(uuid);
        let id = format!("identity--{}", uuid.to_ascii_lowercase());
        if !self.seen.contains(&id) {
            let (created, _) = timestamps(self.event_ts);
            // Identities are context, not content of the report: kept out of object_refs.
            self.seen.insert(id.clone());
            self.objects.push(Value::Object(
                json!({"type": "identity", "spec_version": "2.1", "id": id,
                       "created": created, "modified": created, "name": name,
                       "identity_class": "organization"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ));
        }
        Some(id)
    }

    fn finish_common(&self, m: &mut Map<String, Value>, labels: Vec<String>, marks: Vec<String>) {
        if !labels.is_empty() {
            m.insert("labels".into(), json!(labels));
        }
        if !marks.is_empty() {
            m.insert("object_marking_refs".into(), json!(marks));
        }
    }

    /// An indicator with a STIX (or other language) pattern.
    #[allow(clippy::too_many_arguments)]
    pub fn indicator(
        &self,
        uuid: &str,
        ts: i64,
        pattern: String,
        pattern_type: &str,
        category: &str,
        comment: Option<&str>,
        labels: Vec<String>,
        marks: Vec<String>,
    ) -> Map<String, Value> {
        let (_, plain) = timestamps(ts);
        let mut m = self.sdo("indicator", uuid, ts);
        if let Some(c) = comment.filter(|c| !c.is_empty()) {
            m.insert("description".into(), json!(c));
        }
        m.insert("pattern".into(), json!(pattern));
        m.insert("pattern_type".into(), json!(pattern_type));
        m.insert("pattern_version".into(), json!("2.1"));
        m.insert("valid_from".into(), json!(plain));
        m.insert(
            "kill_chain_phases".into(),
            json!([{"kill_chain_name": "misp-category", "phase_name": category}]),
        );
        self.finish_common(&mut m, labels, marks);
        m
    }

    pub fn observed_data(
        &self,
        uuid: &str,
        ts: i64,
        refs: Vec<String>,
        labels: Vec<String>,
        marks: Vec<String>,
    ) -> Map<String, Value> {
        let (_, plain) = timestamps(ts);
        let mut m = self.sdo("observed-data", uuid, ts);
        m.insert("first_observed".into(), json!(plain));
        m.insert("last_observed".into(), json!(plain));
        m.insert("number_observed".into(), json!(1));
        m.insert("object_refs".into(), json!(refs));
        self.finish_common(&mut m, labels, marks);
        m
    }

    pub fn add_markings(&mut self) {
        for m in std::mem::take(&mut self.markings) {
            if let Some(id) = m["id"].as_str() {
                if self.seen.insert(id.to_string()) {
                    self.objects.push(m);
                }
            }
        }
    }

    /// One event attribute.
    fn attribute(&mut self, a: &Value, path: &str) {
        if !a.is_object() {
            self.warn(path, "expected an attribute object; skipped");
            return;
        }
        let Some(t) = a.get("type").and_then(Value::as_str) else {
            self.warn(
                format!("{path}.type"),
                "missing attribute type; attribute skipped",
            );
            return;
        };
        let Some(value) = text(a.get("value")) else {
            self.warn(
                format!("{path}.value"),
                "missing attribute value; attribute skipped",
            );
            return;
        };
        let known = is_known_type(t) || self.opts.extra_types.iter().any(|e| e == t);
        if !known {
            self.warn(
                format!("{path}.type"),
                format!("unknown MISP attribute type {t:?}; kept as x-misp-attribute"),
            );
        }
        let uuid = self.item_uuid(a, path);
        let ts = epoch(a.get("timestamp")).unwrap_or(self.event_ts);
        let category = a
            .get("category")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| default_category(t).map(str::to_string))
            .unwrap_or_else(|| "Other".into());
        let to_ids = misp_bool(a.get("to_ids")).unwrap_or_else(|| default_to_ids(t));
        let comment = a.get("comment").and_then(Value::as_str);
        let mut labels = vec![
            format!("misp:type=\"{t}\""),
            format!("misp:category=\"{category}\""),
        ];
        let marks = self.tags(a, path, &mut labels);
        let data = a.get("data").and_then(Value::as_str);
        if data.is_some_and(|d| !attribute::is_base64(d)) {
            self.warn(
                format!("{path}.data"),
                "not base64; the payload is left out of the STIX artifact",
            );
        }
        let mapping = match attribute::map(t, &value, &uuid, data).and_then(check_scos) {
            Ok(m) => m,
            Err(why) => {
                self.warn(
                    format!("{path}.value"),
                    format!("{why}; kept as x-misp-attribute"),
                );
                Mapping::Custom
            }
        };
        let main = match mapping {
            Mapping::Observable { scos, comparisons } => {
                let ids: Vec<String> = scos
                    .iter()
                    .map(|s| s["id"].as_str().unwrap_or_default().to_string())
                    .collect();
                let mut od = self.observed_data(&uuid, ts, ids, labels.clone(), marks.clone());
                if let Some(c) = comment.filter(|c| !c.is_empty() && !to_ids) {
                    // observed-data has no description; without an indicator
                    // to carry it, the comment would be lost.
                    od.insert("x_misp_comment".into(), json!(c));
                }
                let od_id = format!("observed-data--{uuid}");
                self.push(od);
                for s in scos {
                    self.push(s);
                }
                self.stix_of.insert(uuid.clone(), od_id.clone());
                if to_ids {
                    let ind = self.indicator(
                        &uuid,
                        ts,
                        observation(&comparisons),
                        "stix",
                        &category,
                        comment,
                        labels,
                        marks,
                    );
                    let ind_id = format!("indicator--{uuid}");
                    self.push(ind);
                    self.relate(&ind_id, "based-on", &od_id, ts);
                    self.sightings(a, path, &ind_id, Some(&od_id));
                } else {
                    self.sightings(a, path, &od_id, Some(&od_id));
                }
                od_id
            }
            Mapping::PatternOnly { comparisons } if to_ids => {
                let ind = self.indicator(
                    &uuid,
                    ts,
                    observation(&comparisons),
                    "stix",
                    &category,
                    comment,
                    labels,
                    marks,
                );
                self.push(ind);
                format!("indicator--{uuid}")
            }
            Mapping::Rule(language) => {
                let ind = self.indicator(
                    &uuid,
                    ts,
                    value.clone(),
                    language,
                    &category,
                    comment,
                    labels,
                    marks,
                );
                self.push(ind);
                format!("indicator--{uuid}")
            }
            Mapping::Campaign | Mapping::Vulnerability => {
                let ty = if matches!(mapping, Mapping::Campaign) {
                    "campaign"
                } else {
                    "vulnerability"
                };
                let mut m = self.sdo(ty, &uuid, ts);
                m.insert("name".into(), json!(value));
                if let Some(c) = comment.filter(|c| !c.is_empty()) {
                    m.insert("description".into(), json!(c));
                }
                self.finish_common(&mut m, labels, marks);
                if ty == "vulnerability" {
                    let source = if value.starts_with("CVE-") {
                        "cve"
                    } else {
                        "vulnerability"
                    };
                    m.insert(
                        "external_references".into(),
                        json!([{"source_name": source, "external_id": value}]),
                    );
                }
                self.push(m);
                format!("{ty}--{uuid}")
            }
            Mapping::PatternOnly { .. } | Mapping::Custom => {
                if self.opts.standard_only {
                    return;
                }
                let mut m = self.sdo("x-misp-attribute", &uuid, ts);
                self.finish_common(&mut m, labels, marks);
                m.insert("x_misp_category".into(), json!(category));
                if let Some(c) = comment.filter(|c| !c.is_empty()) {
                    m.insert("x_misp_comment".into(), json!(c));
                }
                m.insert("x_misp_type".into(), json!(t));
                m.insert("x_misp_value".into(), json!(value));
                if to_ids {
                    m.insert("x_misp_to_ids".into(), json!(true));
                }
                self.push(m);
                format!("x-misp-attribute--{uuid}")
            }
        };
        let has_notes = a.get("Note").is_some() || a.get("Opinion").is_some();
        if self.keep_all_of || has_notes {
            let mut all = vec![main.clone()];
            if main.starts_with("observed-data--")
                && self.seen.contains(&format!("indicator--{uuid}"))
            {
                all.push(format!("indicator--{uuid}"));
            }
            if has_notes {
                self.analyst_data_on(a, path, all.clone());
            }
            if self.keep_all_of {
                self.all_of.insert(uuid.clone(), all);
            }
        }
        self.galaxies(a, path, Some(&main), ts);
        self.stix_of.entry(uuid).or_insert(main);
    }
}

/// Converts one MISP event piece by piece, so that an event with a hundred
/// thousand attributes need not be held, with its STIX objects, in memory at
/// once: give it the event without its `Attribute` list ([`EventConverter::new`]),
/// then each attribute ([`EventConverter::attribute`]), then the MISP objects
/// ([`EventConverter::objects`]), taking the STIX objects produced so far
/// with [`EventConverter::drain`]; [`EventConverter::finish`] adds the
/// galaxies, reports and the event's report or grouping.
///
/// ```
/// use liaison_misp::{EventConverter, Options};
/// let header = serde_json::json!({"uuid": "a6ef17d6-91cb-4a05-b10b-2f045daf874c", "info": "x"});
/// let mut conv = EventConverter::new(&header, &Options::default()).unwrap();
/// conv.attribute(&serde_json::json!({"type": "url", "value": "https://example.org/a",
///     "uuid": "91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f"}), 0);
/// let first = conv.drain();
/// assert!(first.iter().any(|o| o["type"] == "url"));
/// let rest = conv.finish();
/// assert_eq!(rest.objects.last().unwrap()["type"], "grouping");
/// ```
pub struct EventConverter {
    ctx: Ctx,
    base: &'static str,
    header: Value,
    labels: Vec<String>,
    marks: Vec<String>,
}

impl EventConverter {
    /// Start an event. `event` is `{"Event": {...}}` or the bare event; its
    /// `Attribute` and `Object` lists, if present, are ignored here (give them
    /// to [`attribute`](Self::attribute) and [`objects`](Self::objects)).
    pub fn new(json_in: &Value, opts: &Options) -> Result<Self, Error> {
        let (event, base) = match json_in.get("Event") {
            Some(e) => (e, "Event"),
            None => (json_in, "$"),
        };
        let Some(map) = event.as_object() else {
            return Err(Error::shape(base, "expected a MISP event object"));
        };
        let event_uuid = match event.get("uuid").and_then(Value::as_str) {
            Some(u) if valid_uuid(u) => u.to_ascii_lowercase(),
            Some(u) => {
                return Err(Error::shape(
                    format!("{base}.uuid"),
                    format!("expected a UUID, got {u:?}"),
                ))
            }
            None => {
                return Err(Error::shape(
                    format!("{base}.uuid"),
                    "missing: a MISP event has a uuid",
                ))
            }
        };
        for key in ["Attribute", "Object", "Galaxy", "Tag", "EventReport"] {
            if let Some(v) = event.get(key) {
                if !v.is_array() && !v.is_null() {
                    return Err(Error::shape(format!("{base}.{key}"), "expected a list"));
                }
            }
        }
        let header: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| *k != "Attribute" && *k != "Object")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let header = Value::Object(header);
        let event_ts = epoch(header.get("timestamp"))
            .or_else(|| {
                header
                    .get("date")
                    .and_then(Value::as_str)
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc().timestamp())
            })
            .unwrap_or(0);
        let mut ctx = Ctx {
            opts: opts.clone(),
            warnings: vec![],
            objects: vec![],
            refs: vec![],
            seen: HashSet::new(),
            created_by: None,
            event_uuid,
            event_ts,
            stix_of: HashMap::new(),
            clusters: HashMap::new(),
            cluster_tags: HashSet::new(),
            all_of: HashMap::new(),
            keep_all_of: header
                .get("EventReport")
                .and_then(Value::as_array)
                .is_some_and(|r| !r.is_empty()),
            absorbed: HashMap::new(),
            markings: vec![],
        };
        if let Some(orgc) = header.get("Orgc").or_else(|| header.get("Org")) {
            ctx.created_by = ctx.identity(orgc);
        }
        if ctx.created_by.is_none() {
            ctx.warn(
                format!("{base}.Orgc"),
                "no creating organisation (name, uuid); objects have no created_by_ref",
            );
        }
        // Galaxy tags whose cluster is converted are not repeated as labels.
        for g in header
            .get("Galaxy")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let gtype = g.get("type").and_then(Value::as_str).unwrap_or_default();
            for c in g
                .get("GalaxyCluster")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(v) = c.get("value").and_then(Value::as_str) {
                    ctx.cluster_tags
                        .insert(format!("misp-galaxy:{gtype}=\"{v}\""));
                }
            }
        }
        let mut labels = vec![
            "Threat-Report".to_string(),
            "misp:tool=\"MISP-STIX-Converter\"".to_string(),
        ];
        let marks = ctx.tags(&header, base, &mut labels);
        Ok(EventConverter {
            ctx,
            base,
            header,
            labels,
            marks,
        })
    }

    /// Convert the attribute at `index` of the event's `Attribute` list.
    pub fn attribute(&mut self, attribute: &Value, index: usize) {
        let path = format!("{}.Attribute[{index}]", self.base);
        self.ctx.attribute(attribute, &path);
    }

    /// Convert the event's `Object` list (all at once: object references and
    /// registry values need to see every object).
    pub fn objects(&mut self, objects: &[Value]) {
        let base = self.base;
        object::find_absorbed(&mut self.ctx, objects);
        for (i, o) in objects.iter().enumerate() {
            object::convert(&mut self.ctx, o, &format!("{base}.Object[{i}]"));
        }
        for (i, o) in objects.iter().enumerate() {
            object::references(&mut self.ctx, o, &format!("{base}.Object[{i}]"));
        }
    }

    /// The STIX objects produced since the last drain.
    pub fn drain(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.ctx.objects)
    }

    /// The warnings so far (each with its JSON path).
    pub fn warnings(&self) -> &[Warning] {
        &self.ctx.warnings
    }

    /// Galaxies, event reports, analyst notes, the event's report or grouping
    /// (last) and the TLP marking definitions used, with every warning.
    pub fn finish(mut self) -> Conversion {
        let base = self.base;
        let header = std::mem::take(&mut self.header);
        let ctx = &mut self.ctx;
        let (event_uuid, event_ts) = (ctx.event_uuid.clone(), ctx.event_ts);
        ctx.galaxies(&header, base, None, event_ts);
        if let Some(reports) = header.get("EventReport").and_then(Value::as_array) {
            for (i, r) in reports.iter().enumerate() {
                event_report(ctx, r, &format!("{base}.EventReport[{i}]"));
            }
        }
        let published = misp_bool(header.get("published")).unwrap_or(false);
        let container_type = if published { "report" } else { "grouping" };
        let container_id = format!("{container_type}--{event_uuid}");
        if ctx.refs.is_empty() {
            // STIX requires object_refs to be non-empty; misp-stix adds a note.
            let note_id = format!("note--{event_uuid}");
            let mut n = ctx.sdo("note", &event_uuid, event_ts);
            n.insert(
                "content".into(),
                json!("This MISP Event is empty and contains no attribute, object, galaxy or tag."),
            );
            n.insert("object_refs".into(), json!([container_id]));
            ctx.refs.push(note_id);
            ctx.objects.push(Value::Object(n));
        }
        ctx.analyst_data_on(&header, base, vec![container_id.clone()]);
        let mut c = ctx.sdo(container_type, &event_uuid, event_ts);
        c.insert(
            "name".into(),
            json!(header
                .get("info")
                .and_then(Value::as_str)
                .unwrap_or("MISP event")),
        );
        if published {
            let pts = epoch(header.get("publish_timestamp")).unwrap_or(event_ts);
            c.insert("published".into(), json!(timestamps(pts).1));
        } else {
            c.insert("context".into(), json!("suspicious-activity"));
        }
        // Moved, not copied: a large event refers to hundreds of thousands of objects.
        let refs: Vec<Value> = std::mem::take(&mut ctx.refs)
            .into_iter()
            .map(Value::String)
            .collect();
        c.insert("object_refs".into(), Value::Array(refs));
        ctx.finish_common(
            &mut c,
            std::mem::take(&mut self.labels),
            std::mem::take(&mut self.marks),
        );
        ctx.objects.push(Value::Object(c));
        ctx.add_markings();
        Conversion {
            objects: std::mem::take(&mut ctx.objects),
            warnings: std::mem::take(&mut ctx.warnings),
        }
    }
}

pub(crate) fn convert(json_in: &Value, opts: &Options) -> Result<Conversion, Error> {
    let mut conv = EventConverter::new(json_in, opts)?;
    let event = json_in.get("Event").unwrap_or(json_in);
    if let Some(attrs) = event.get("Attribute").and_then(Value::as_array) {
        for (i, a) in attrs.iter().enumerate() {
            conv.attribute(a, i);
        }
    }
    if let Some(objs) = event.get("Object").and_then(Value::as_array) {
        conv.objects(objs);
    }
    let mut objects = conv.drain();
    let rest = conv.finish();
    objects.extend(rest.objects);
    Ok(Conversion {
        objects,
        warnings: rest.warnings,
    })
}

/// An event report (markdown with `@[attribute](uuid)` / `@[object](uuid)`
/// mentions) as a note on the objects it mentions.
fn event_report(ctx: &mut Ctx, r: &Value, path: &str) {
    let uuid = ctx.item_uuid(r, path);
    let ts = epoch(r.get("timestamp")).unwrap_or(ctx.event_ts);
    let content = r.get("content").and_then(Value::as_str).unwrap_or_default();
    let mut refs: Vec<String> = vec![];
    let mut rest = content;
    while let Some(at) = rest.find("@[") {
        rest = &rest[at + 2..];
        let Some(close) = rest.find("](") else { break };
        let after = &rest[close + 2..];
        let Some(end) = after.find(')') else { break };
        let mentioned = after[..end].to_ascii_lowercase();
        for id in ctx.all_of.get(&mentioned).cloned().unwrap_or_default() {
            if !refs.contains(&id) {
                refs.push(id);
            }
        }
        rest = &after[end..];
    }
    if refs.is_empty() {
        ctx.warn(
            format!("{path}.content"),
            "mentions nothing converted in this event; the note refers to the event's objects",
        );
        refs = ctx.refs.clone();
    }
    if refs.is_empty() {
        return;
    }
    let mut m = ctx.sdo("note", &uuid, ts);
    if let Some(name) = r.get("name").and_then(Value::as_str) {
        m.insert("abstract".into(), json!(name));
    }
    m.insert("content".into(), json!(content));
    m.insert("object_refs".into(), json!(refs));
    m.insert("labels".into(), json!(["misp:data-layer=\"Event Report\""]));
    let id = format!("note--{uuid}");
    ctx.push(m);
    ctx.analyst_data_on(r, path, vec![id]);
}

/// The first STIX MUST an observable breaks, as a reason to keep the value
/// as MISP data instead.
pub(crate) fn invalid_sco(scos: &mut [Map<String, Value>]) -> Option<String> {
    for s in scos.iter_mut() {
        // Validated in place: the map is lent to a StixObject and given back.
        let obj = match liaison_stix::StixObject::from_map(std::mem::take(s)) {
            Ok(o) => o,
            Err(e) => return Some(e.to_string()),
        };
        let problem = liaison_stix::validate::errors(&obj)
            .into_iter()
            .next()
            .map(|e| format!("{}: {}", e.path, e.message));
        if let Value::Object(m) = obj.into_value() {
            *s = m;
        }
        if let Some(p) = problem.or_else(|| attribute::value_problem(s)) {
            return Some(p);
        }
    }
    None
}

fn check_scos(mut m: Mapping) -> Result<Mapping, String> {
    if let Mapping::Observable { scos, .. } = &mut m {
        if let Some(why) = invalid_sco(scos) {
            return Err(format!("not a valid STIX observable ({why})"));
        }
    }
    Ok(m)
}
