//! STIX 2.0 → 2.1 on import.
//!
//! What changes (STIX 2.1 Appendix "Changes from STIX 2.0"), and only where 2.1
//! says MUST or where 2.0 used a property that 2.1 renamed:
//!
//! * every object gets `"spec_version": "2.1"` (2.0 carried it on the bundle);
//!   ids are kept (2.0 TLP marking definitions keep theirs);
//! * `malware`: `labels` → `malware_types`, `is_family: true` (2.0 malware
//!   described families; 2.1 requires the property);
//! * `indicator`: `labels` → `indicator_types`, `pattern_type: "stix"` (required
//!   in 2.1); `pattern` and `valid_from` are kept;
//! * `tool`: `labels` → `tool_types`; `threat-actor`: `labels` →
//!   `threat_actor_types`; `report`: `labels` → `report_types`; `identity` keeps
//!   `identity_class`;
//! * `observed-data`: the 2.0 `objects` dictionary becomes 2.1 SCOs with
//!   deterministic ids ([`crate::sco_id`]) and `object_refs` listing them. The
//!   local references between them (`"src_ref": "0"`) become the new ids. The
//!   `objects` property is dropped: STIX 2.1 deprecates it and forbids it next
//!   to `object_refs`, and keeping both would store every observable twice.
//!   Observables whose type has no ID contributing properties (`process`) get
//!   a UUIDv5 derived from the observed-data id and their key, so importing the
//!   same file twice gives the same ids;
//! * SCO properties that 2.0 named differently: `created`/`modified`/`accessed`
//!   → `ctime`/`mtime`/`atime` (file, directory), `created` → `created_time`
//!   and `binary_ref` → `image_ref` (process), `modified` → `modified_time`
//!   (windows-registry-key), `password_last_changed` →
//!   `credential_last_changed` (user-account).
//!
//! Every other property, custom `x_` ones included, is kept verbatim.
//!
//! ```
//! use liaison_stix::upgrade_20;
//! use serde_json::json;
//! let out = upgrade_20(json!({
//!   "type": "malware", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
//!   "created": "2016-04-06T20:07:09.000Z", "modified": "2016-04-06T20:07:09.000Z",
//!   "name": "Poison Ivy", "labels": ["remote-access-trojan"]
//! })).unwrap();
//! assert_eq!(out.len(), 1);
//! assert_eq!(out[0]["spec_version"], "2.1");
//! assert_eq!(out[0]["is_family"], true);
//! assert_eq!(out[0]["malware_types"], json!(["remote-access-trojan"]));
//! ```

use crate::bundle::BundleReader;
use crate::error::{Error, ErrorKind};
use crate::object::{json_kind, StixObject};
use crate::sco_id::{id_contributing_properties, sco_id};
use crate::types::{category_of, Category};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Read;
use uuid::Uuid;

/// Namespace of the UUIDv5 ids this crate gives 2.0 observables whose type has
/// no ID contributing properties (a name-based id of `<observed-data id>/<key>`).
pub const UPGRADE_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f0a2e_5b8d_4f43_9e1a_3d2b7c9e4f10);

/// Whether a JSON object is STIX 2.0 content. `bundle_spec_version` is the
/// enclosing bundle's `spec_version`, which 2.0 bundles carry.
///
/// An object without `spec_version` is 2.0 when the bundle says so, or when it
/// is of a kind that 2.1 requires to carry one (SDOs, SROs, marking
/// definitions, and custom objects with a `created` timestamp).
pub fn is_stix20(obj: &Map<String, Value>, bundle_spec_version: Option<&str>) -> bool {
    match obj.get("spec_version").and_then(Value::as_str) {
        Some(v) => v == "2.0",
        None => {
            if bundle_spec_version == Some("2.0") {
                return true;
            }
            let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
            match category_of(ty) {
                Category::Sdo | Category::Sro => true,
                Category::Meta => ty == "marking-definition",
                Category::Custom => obj.contains_key("created"),
                Category::Sco => false,
            }
        }
    }
}

/// Upgrade one STIX 2.0 object (or a 2.0 bundle) to 2.1.
///
/// Returns the 2.1 objects: for an `observed-data`, the SCOs made from its
/// `objects` first, then the observed-data itself; for a bundle, every object
/// of it. An object that already says `spec_version: "2.1"` is returned as is.
pub fn upgrade_20(value: Value) -> Result<Vec<Value>, Error> {
    let map = match value {
        Value::Object(map) => map,
        other => {
            return Err(Error::new(
                ErrorKind::Json,
                "$",
                format!("expected a STIX object, found {}", json_kind(&other)),
            ))
        }
    };
    let ty = match map.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(other) => {
            return Err(Error::new(
                ErrorKind::Invalid,
                "$.type",
                format!("expected a string, found {}", json_kind(other)),
            ))
        }
        None => {
            return Err(Error::new(
                ErrorKind::Missing,
                "$.type",
                "required property 'type' is missing",
            ))
        }
    };
    if ty == "bundle" {
        let mut out = Vec::new();
        let Some(objects) = map.get("objects") else {
            return Ok(out);
        };
        let Value::Array(objects) = objects else {
            return Err(Error::new(
                ErrorKind::Invalid,
                "$.objects",
                format!(
                    "a bundle's objects must be a list, found {}",
                    json_kind(objects)
                ),
            ));
        };
        let bundle_spec = map.get("spec_version").and_then(Value::as_str);
        for (i, obj) in objects.iter().enumerate() {
            let path = format!("$.objects[{i}]");
            match obj {
                Value::Object(m) if !is_stix20(m, bundle_spec) => out.push(obj.clone()),
                _ => out.extend(upgrade_20(obj.clone()).map_err(|e| e.under(&path))?),
            }
        }
        return Ok(out);
    }
    if map.get("spec_version").and_then(Value::as_str) == Some("2.1") {
        return Ok(vec![Value::Object(map)]);
    }
    upgrade_object(&ty, map)
}

fn upgrade_object(ty: &str, map: Map<String, Value>) -> Result<Vec<Value>, Error> {
    let mut map = with_spec_version(map);
    match ty {
        "malware" => {
            move_labels(&mut map, "malware_types");
            map.entry("is_family").or_insert(Value::Bool(true));
        }
        "indicator" => {
            move_labels(&mut map, "indicator_types");
            map.entry("pattern_type")
                .or_insert_with(|| Value::String("stix".into()));
        }
        "tool" => move_labels(&mut map, "tool_types"),
        "threat-actor" => move_labels(&mut map, "threat_actor_types"),
        "report" => move_labels(&mut map, "report_types"),
        "observed-data" => return upgrade_observed_data(map),
        _ => {}
    }
    Ok(vec![Value::Object(map)])
}

/// `type`, then `spec_version: "2.1"`, then the other properties in their order.
fn with_spec_version(map: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(map.len() + 1);
    let mut rest = Vec::with_capacity(map.len());
    for (k, v) in map {
        if k == "type" {
            out.insert(k, v);
            out.insert("spec_version".into(), Value::String("2.1".into()));
        } else if k != "spec_version" {
            rest.push((k, v));
        }
    }
    out.extend(rest);
    out
}

fn move_labels(map: &mut Map<String, Value>, to: &str) {
    if map.contains_key(to) {
        return;
    }
    if let Some(labels) = map.shift_remove("labels") {
        map.insert(to.to_string(), labels);
    }
}

fn upgrade_observed_data(mut map: Map<String, Value>) -> Result<Vec<Value>, Error> {
    let Some(objects) = map.shift_remove("objects") else {
        return Ok(vec![Value::Object(map)]);
    };
    let Value::Object(objects) = objects else {
        return Err(Error::new(
            ErrorKind::Invalid,
            "$.objects",
            format!(
                "a STIX 2.0 observed-data's objects must be a dictionary, found {}",
                json_kind(&objects)
            ),
        ));
    };
    let od_id = map
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut types: HashMap<&str, &str> = HashMap::new();
    for (key, obj) in &objects {
        match obj.get("type") {
            Some(Value::String(t)) if obj.is_object() => {
                types.insert(key.as_str(), t.as_str());
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    format!("$.objects.'{key}'"),
                    "expected a cyber-observable object with a string 'type'",
                ))
            }
        }
    }
    // Ids depend on the ids of referenced observables (src_ref, from_ref, …):
    // resolve them in dependency order; a cycle falls back to the local keys.
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut pending: Vec<&String> = objects.keys().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut still = Vec::new();
        for key in pending {
            let obj = objects.get(key).and_then(Value::as_object);
            let ty = types.get(key.as_str()).copied().unwrap_or("");
            let Some(obj) = obj else { continue };
            let renamed = rename_sco_props(ty, obj);
            let mut contributing = Map::new();
            let mut resolved = true;
            for &p in id_contributing_properties(ty).unwrap_or(&[]) {
                if let Some(v) = renamed.get(p) {
                    let mut v = v.clone();
                    resolved &= rewrite_refs(p, &mut v, &ids, &types);
                    contributing.insert(p.to_string(), v);
                }
            }
            if resolved {
                ids.insert(key.clone(), new_sco_id(ty, &contributing, &od_id, key));
            } else {
                still.push(key);
            }
        }
        if still.len() == before {
            // A reference cycle or a dangling local reference: use what we have.
            for key in still {
                let ty = types.get(key.as_str()).copied().unwrap_or("");
                let Some(obj) = objects.get(key).and_then(Value::as_object) else {
                    continue;
                };
                let renamed = rename_sco_props(ty, obj);
                let mut contributing = Map::new();
                for &p in id_contributing_properties(ty).unwrap_or(&[]) {
                    if let Some(v) = renamed.get(p) {
                        contributing.insert(p.to_string(), v.clone());
                    }
                }
                ids.insert(key.clone(), new_sco_id(ty, &contributing, &od_id, key));
            }
            break;
        }
        pending = still;
    }

    let mut out = Vec::with_capacity(objects.len() + 1);
    let mut refs = Vec::with_capacity(objects.len());
    let mut seen = HashSet::new();
    for (key, obj) in &objects {
        let ty = types.get(key.as_str()).copied().unwrap_or("");
        let Some(obj) = obj.as_object() else { continue };
        let Some(id) = ids.get(key) else { continue };
        if !seen.insert(id.clone()) {
            continue;
        }
        let mut sco = Map::with_capacity(obj.len() + 2);
        sco.insert("type".into(), Value::String(ty.to_string()));
        sco.insert("spec_version".into(), Value::String("2.1".into()));
        sco.insert("id".into(), Value::String(id.clone()));
        for (k, v) in rename_sco_props(ty, obj) {
            if k == "type" || k == "id" || k == "spec_version" {
                continue;
            }
            let mut v = v;
            rewrite_refs(&k, &mut v, &ids, &types);
            sco.insert(k, v);
        }
        refs.push(Value::String(id.clone()));
        out.push(Value::Object(sco));
    }
    map.insert("object_refs".into(), Value::Array(refs));
    out.push(Value::Object(map));
    Ok(out)
}

fn new_sco_id(ty: &str, contributing: &Map<String, Value>, od_id: &str, key: &str) -> String {
    sco_id(ty, contributing).unwrap_or_else(|| {
        let name = format!("{od_id}/{key}");
        format!(
            "{ty}--{}",
            Uuid::new_v5(&UPGRADE_NAMESPACE, name.as_bytes())
        )
    })
}

/// The 2.0 → 2.1 renames of SCO properties.
fn rename_sco_props(ty: &str, obj: &Map<String, Value>) -> Map<String, Value> {
    let renames: &[(&str, &str)] = match ty {
        "file" | "directory" => &[
            ("created", "ctime"),
            ("modified", "mtime"),
            ("accessed", "atime"),
        ],
        "process" => &[("created", "created_time"), ("binary_ref", "image_ref")],
        "windows-registry-key" => &[("modified", "modified_time")],
        "user-account" => &[("password_last_changed", "credential_last_changed")],
        _ => &[],
    };
    obj.iter()
        .map(|(k, v)| {
            let k = renames
                .iter()
                .find(|(from, to)| from == k && !obj.contains_key(*to))
                .map(|(_, to)| to.to_string())
                .unwrap_or_else(|| k.clone());
            (k, v.clone())
        })
        .collect()
}

/// Replace local references (`"0"`) under `key` by the ids in `ids`. Returns
/// false if a local reference could not be resolved yet.
fn rewrite_refs(
    key: &str,
    value: &mut Value,
    ids: &HashMap<String, String>,
    keys: &HashMap<&str, &str>,
) -> bool {
    let is_ref = key.ends_with("_ref");
    let is_refs = key.ends_with("_refs");
    let mut ok = true;
    match value {
        Value::String(s) if is_ref => ok &= resolve(s, ids, keys),
        Value::Array(items) if is_refs => {
            for item in items {
                if let Value::String(s) = item {
                    ok &= resolve(s, ids, keys);
                }
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                ok &= rewrite_refs(k, v, ids, keys);
            }
        }
        Value::Array(items) => {
            for item in items {
                if let Value::Object(map) = item {
                    for (k, v) in map.iter_mut() {
                        ok &= rewrite_refs(k, v, ids, keys);
                    }
                }
            }
        }
        _ => {}
    }
    ok
}

fn resolve(s: &mut String, ids: &HashMap<String, String>, keys: &HashMap<&str, &str>) -> bool {
    if let Some(id) = ids.get(s.as_str()) {
        *s = id.clone();
        true
    } else {
        // Unresolved only if it names another observable of this observed-data.
        !keys.contains_key(s.as_str())
    }
}

/// Reads a bundle like [`BundleReader`] and upgrades STIX 2.0 objects to 2.1
/// on the way ([`upgrade_20`]); 2.1 objects pass through untouched.
///
/// ```
/// use liaison_stix::upgrade::Upgrading;
/// let text = r#"{"type":"bundle","id":"bundle--0","spec_version":"2.0","objects":[
///   {"type":"observed-data","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
///    "created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z",
///    "first_observed":"2015-12-21T19:00:00Z","last_observed":"2015-12-21T19:00:00Z",
///    "number_observed":1,"objects":{"0":{"type":"ipv4-addr","value":"198.51.100.3"}}}]}"#;
/// let objs: Vec<_> = Upgrading::new(text.as_bytes()).collect::<Result<_, _>>().unwrap();
/// assert_eq!(objs[0].id(), "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4");
/// assert_eq!(objs[1].str_list("object_refs"), [objs[0].id()]);
/// ```
pub struct Upgrading<R> {
    reader: BundleReader<R>,
    pending: VecDeque<Result<StixObject, Error>>,
    upgraded: u64,
}

impl<R: Read> Upgrading<R> {
    /// Read from `src`.
    pub fn new(src: R) -> Self {
        Self::from_reader(BundleReader::new(src))
    }

    /// Wrap an existing reader.
    pub fn from_reader(reader: BundleReader<R>) -> Self {
        Upgrading {
            reader,
            pending: VecDeque::new(),
            upgraded: 0,
        }
    }

    /// The underlying reader (bundle id, position, …).
    pub fn reader(&self) -> &BundleReader<R> {
        &self.reader
    }

    /// How many input objects were STIX 2.0 and were upgraded.
    pub fn upgraded(&self) -> u64 {
        self.upgraded
    }
}

impl<R: Read> Iterator for Upgrading<R> {
    type Item = Result<StixObject, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(item) = self.pending.pop_front() {
            return Some(item);
        }
        let (path, value) = match self.reader.next_value_with_path()? {
            Ok(pv) => pv,
            Err(e) => return Some(Err(e)),
        };
        let is20 = match &value {
            Value::Object(m) => is_stix20(m, self.reader.bundle_spec_version()),
            _ => false,
        };
        if !is20 {
            return Some(StixObject::from_value(value).map_err(|e| e.under(&path)));
        }
        self.upgraded += 1;
        match upgrade_20(value) {
            Ok(values) => {
                for v in values {
                    self.pending
                        .push_back(StixObject::from_value(v).map_err(|e| e.under(&path)));
                }
                self.pending.pop_front()
            }
            Err(e) => Some(Err(e.under(&path))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn observed_data_refs_become_ids() {
        let out = upgrade_20(json!({
            "type": "observed-data", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
            "created": "2016-04-06T19:58:16.000Z", "modified": "2016-04-06T19:58:16.000Z",
            "first_observed": "2015-12-21T19:00:00Z", "last_observed": "2015-12-21T19:00:00Z",
            "number_observed": 50,
            "objects": {
                "2": {"type": "network-traffic", "src_ref": "0", "dst_ref": "1", "protocols": ["tcp"]},
                "0": {"type": "ipv4-addr", "value": "198.51.100.3"},
                "1": {"type": "ipv4-addr", "value": "198.51.100.4"},
                "3": {"type": "process", "pid": 4, "created": "2015-12-21T19:00:00Z"}
            }
        }))
        .unwrap();
        assert_eq!(out.len(), 5);
        let od = &out[4];
        assert!(od.get("objects").is_none());
        assert_eq!(od["spec_version"], "2.1");
        let nt = &out[0];
        assert_eq!(nt["src_ref"], out[1]["id"]);
        assert_eq!(nt["dst_ref"], out[2]["id"]);
        assert_eq!(
            out[1]["id"],
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
        );
        assert_eq!(
            od["object_refs"],
            json!([nt["id"], out[1]["id"], out[2]["id"], out[3]["id"]])
        );
        assert_eq!(out[3]["created_time"], "2015-12-21T19:00:00Z");
        // Deterministic: the same input gives the same ids.
        let again = upgrade_20(json!({"type": "observed-data", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
            "objects": {"3": {"type": "process", "pid": 4}}}))
        .unwrap();
        assert_eq!(again[0]["id"], out[3]["id"]);
    }

    #[test]
    fn indicator_and_tool() {
        let out = upgrade_20(
            json!({"type": "indicator", "id": "indicator--1", "labels": ["malicious-activity"],
            "pattern": "[file:name = 'x']", "valid_from": "2016-01-01T00:00:00Z"}),
        )
        .unwrap();
        assert_eq!(out[0]["pattern_type"], "stix");
        assert_eq!(out[0]["indicator_types"], json!(["malicious-activity"]));
        assert!(out[0].get("labels").is_none());
        let keys: Vec<_> = out[0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(&keys[..2], ["type", "spec_version"]);
        let out = upgrade_20(json!({"type": "tool", "id": "tool--1", "labels": ["remote-access"]}))
            .unwrap();
        assert_eq!(out[0]["tool_types"], json!(["remote-access"]));
    }

    #[test]
    fn detection() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert!(is_stix20(
            &m(json!({"type": "malware", "id": "malware--1"})),
            None
        ));
        assert!(!is_stix20(
            &m(json!({"type": "ipv4-addr", "id": "ipv4-addr--1"})),
            None
        ));
        assert!(!is_stix20(
            &m(json!({"type": "malware", "spec_version": "2.1"})),
            Some("2.0")
        ));
        assert!(is_stix20(
            &m(json!({"type": "x-mitre-tactic", "created": "2016-01-01T00:00:00Z"})),
            None
        ));
    }
}
