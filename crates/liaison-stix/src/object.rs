//! [`StixObject`]: one STIX object, every property kept verbatim.

use crate::error::{Error, ErrorKind};
use crate::types::{category_of, Category};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// One STIX object. The JSON map is the source of truth: nothing is dropped or
/// reordered, so serializing gives back the value that was parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct StixObject {
    map: Map<String, Value>,
}

/// A reference from one object to another: a `*_ref` or `*_refs` property
/// anywhere in the object (inside extensions and lists too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// JSON path of the property holding the reference, e.g. `$.object_refs[2]`.
    pub path: String,
    /// The property name (`source_ref`, `object_refs`, …).
    pub property: String,
    /// The referenced id.
    pub target: String,
}

impl StixObject {
    /// Wrap a JSON value. It must be an object with string `type` and `id`.
    pub fn from_value(value: Value) -> Result<Self, Error> {
        match value {
            Value::Object(map) => Self::from_map(map),
            other => Err(Error::new(
                ErrorKind::Json,
                "$",
                format!("expected a JSON object, found {}", json_kind(&other)),
            )),
        }
    }

    /// Wrap a JSON map. It must have string `type` and `id`.
    pub fn from_map(map: Map<String, Value>) -> Result<Self, Error> {
        for key in ["type", "id"] {
            match map.get(key) {
                Some(Value::String(_)) => {}
                Some(other) => {
                    return Err(Error::new(
                        ErrorKind::Invalid,
                        format!("$.{key}"),
                        format!("expected a string, found {}", json_kind(other)),
                    ))
                }
                None => {
                    return Err(Error::new(
                        ErrorKind::Missing,
                        format!("$.{key}"),
                        format!("required property '{key}' is missing"),
                    ))
                }
            }
        }
        Ok(StixObject { map })
    }

    /// Parse one object from JSON text.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::Json,
                "$",
                format!(
                    "invalid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        Self::from_value(value)
    }

    /// The `type` property.
    pub fn type_name(&self) -> &str {
        self.str_prop("type").unwrap_or_default()
    }

    /// The `id` property.
    pub fn id(&self) -> &str {
        self.str_prop("id").unwrap_or_default()
    }

    /// SDO, SCO, SRO, meta or custom.
    pub fn category(&self) -> Category {
        category_of(self.type_name())
    }

    /// `spec_version`, if present (STIX 2.0 objects have none).
    pub fn spec_version(&self) -> Option<&str> {
        self.str_prop("spec_version")
    }

    /// `created` as written.
    pub fn created(&self) -> Option<&str> {
        self.str_prop("created")
    }

    /// `modified` as written.
    pub fn modified(&self) -> Option<&str> {
        self.str_prop("modified")
    }

    /// The version key of this object: `modified`, else `created`, else empty
    /// (SCOs and other unversioned objects have a single version).
    pub fn version(&self) -> &str {
        self.modified().or_else(|| self.created()).unwrap_or("")
    }

    /// `created_by_ref`.
    pub fn created_by_ref(&self) -> Option<&str> {
        self.str_prop("created_by_ref")
    }

    /// `revoked`, false when absent.
    pub fn revoked(&self) -> bool {
        matches!(self.map.get("revoked"), Some(Value::Bool(true)))
    }

    /// `name`, when the type has one.
    pub fn name(&self) -> Option<&str> {
        self.str_prop("name")
    }

    /// `description`.
    pub fn description(&self) -> Option<&str> {
        self.str_prop("description")
    }

    /// `confidence` (0–100).
    pub fn confidence(&self) -> Option<i64> {
        self.map.get("confidence").and_then(Value::as_i64)
    }

    /// `labels` (the STIX open vocabulary tags, not security labels).
    pub fn labels(&self) -> Vec<&str> {
        self.str_list("labels")
    }

    /// `object_marking_refs`.
    pub fn object_marking_refs(&self) -> Vec<&str> {
        self.str_list("object_marking_refs")
    }

    /// `extensions` map, if any.
    pub fn extensions(&self) -> Option<&Map<String, Value>> {
        self.map.get("extensions").and_then(Value::as_object)
    }

    /// Any property.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// A string property.
    pub fn str_prop(&self, key: &str) -> Option<&str> {
        self.map.get(key).and_then(Value::as_str)
    }

    /// A list-of-strings property (non-strings skipped).
    pub fn str_list(&self, key: &str) -> Vec<&str> {
        match self.map.get(key) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Set a property. Setting `type` or `id` to a non-string is refused.
    pub fn set(&mut self, key: &str, value: Value) -> Result<(), Error> {
        if (key == "type" || key == "id") && !value.is_string() {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!("$.{key}"),
                "expected a string",
            ));
        }
        self.map.insert(key.to_string(), value);
        Ok(())
    }

    /// Remove a property (never `type` or `id`).
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        if key == "type" || key == "id" {
            return None;
        }
        self.map.shift_remove(key)
    }

    /// The properties, in their original order.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// Mutable access to the properties. `type` and `id` must stay strings.
    pub fn as_map_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.map
    }

    /// The object as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.map.clone())
    }

    /// The object as a JSON value, consuming it.
    pub fn into_value(self) -> Value {
        Value::Object(self.map)
    }

    /// Compact JSON text.
    pub fn to_json(&self) -> String {
        // Serializing a Map of Values cannot fail.
        serde_json::to_string(&self.map).unwrap_or_default()
    }

    /// Every `*_ref` / `*_refs` in the object, at any depth, with its path.
    /// Relationship `source_ref`/`target_ref` and sighting refs are among them.
    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        for (k, v) in &self.map {
            collect_refs(k, v, &format!("$.{k}"), &mut out);
        }
        out
    }
}

fn collect_refs(key: &str, value: &Value, path: &str, out: &mut Vec<Reference>) {
    if key.ends_with("_ref") {
        if let Value::String(s) = value {
            out.push(Reference {
                path: path.to_string(),
                property: key.to_string(),
                target: s.clone(),
            });
            return;
        }
    }
    if key.ends_with("_refs") {
        if let Value::Array(items) = value {
            for (i, item) in items.iter().enumerate() {
                if let Value::String(s) = item {
                    out.push(Reference {
                        path: format!("{path}[{i}]"),
                        property: key.to_string(),
                        target: s.clone(),
                    });
                }
            }
            return;
        }
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                collect_refs(k, v, &format!("{path}.{}", path_key(k)), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                if let Value::Object(map) = v {
                    for (k, v) in map {
                        collect_refs(k, v, &format!("{path}[{i}].{}", path_key(k)), out);
                    }
                }
            }
        }
        _ => {}
    }
}

fn path_key(k: &str) -> String {
    if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        k.to_string()
    } else {
        format!("'{k}'")
    }
}

/// A human word for a JSON value's type, for error messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Serialize for StixObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StixObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        StixObject::from_map(map).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for StixObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

/// A STIX timestamp: RFC 3339, UTC (`Z`), any sub-second precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Parse a STIX timestamp. STIX requires the `Z` suffix (UTC).
    ///
    /// ```
    /// use liaison_stix::Timestamp;
    /// let t = Timestamp::parse("2016-05-12T08:17:27.000Z").unwrap();
    /// assert_eq!(t.to_string(), "2016-05-12T08:17:27.000Z");
    /// assert!(Timestamp::parse("2016-05-12 08:17").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.ends_with('Z') {
            return Err(format!(
                "'{text}' is not a STIX timestamp: it must be UTC, ending in 'Z'"
            ));
        }
        // RFC 3339 requires the 'T'; chrono's parser accepts a space too, so check.
        if text.as_bytes().get(10) != Some(&b'T') {
            return Err(format!(
                "'{text}' is not an RFC 3339 timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)"
            ));
        }
        DateTime::parse_from_rfc3339(text)
            .map(|t| Timestamp(t.with_timezone(&Utc)))
            .map_err(|e| format!("'{text}' is not an RFC 3339 timestamp: {e}"))
    }

    /// The current time, at millisecond precision.
    pub fn now() -> Self {
        Self::from_millis(Utc::now().timestamp_millis())
    }

    /// From Unix milliseconds.
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(DateTime::from_timestamp_millis(ms).unwrap_or_default())
    }

    /// Unix milliseconds.
    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// The underlying chrono value.
    pub fn datetime(&self) -> DateTime<Utc> {
        self.0
    }
}

impl fmt::Display for Timestamp {
    /// Millisecond precision, as DESIGN.md's conventions ask.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_everything() {
        let v = json!({"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "x_a": {"b": [1, 2.5, null]}, "extensions": {"x": {"y": true}}, "labels": ["a"]});
        let o = StixObject::from_value(v.clone()).unwrap();
        assert_eq!(o.to_value(), v);
        let text = o.to_json();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }

    #[test]
    fn missing_type_names_path() {
        let e = StixObject::from_value(json!({"id": "x--1"})).unwrap_err();
        assert_eq!(e.path(), "$.type");
        assert_eq!(e.kind(), &ErrorKind::Missing);
    }

    #[test]
    fn references_found_at_depth() {
        let o = StixObject::from_value(json!({
            "type": "email-message", "id": "email-message--1",
            "from_ref": "email-addr--a", "to_refs": ["email-addr--b", "email-addr--c"],
            "body_multipart": [{"body_raw_ref": "artifact--d"}],
            "extensions": {"x-ext": {"thing_ref": "file--e"}}
        }))
        .unwrap();
        let refs = o.references();
        let targets: Vec<_> = refs.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "email-addr--a",
                "email-addr--b",
                "email-addr--c",
                "artifact--d",
                "file--e"
            ]
        );
        assert_eq!(refs[2].path, "$.to_refs[1]");
        assert_eq!(refs[3].path, "$.body_multipart[0].body_raw_ref");
        assert_eq!(refs[4].path, "$.extensions.'x-ext'.thing_ref");
    }

    #[test]
    fn timestamp_requires_utc() {
        assert!(Timestamp::parse("2016-05-12T08:17:27+01:00").is_err());
        let a = Timestamp::parse("2016-05-12T08:17:27Z").unwrap();
        let b = Timestamp::parse("2016-05-12T08:17:27.001Z").unwrap();
        assert!(a < b);
    }
}
