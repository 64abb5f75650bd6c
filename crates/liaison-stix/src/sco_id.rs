//! Deterministic identifiers of cyber-observable objects (STIX 2.1 §2.9).
//!
//! An SCO's id SHOULD be a UUIDv5 in the namespace
//! `00abedb4-aa42-466c-9c01-fed23315a9b7` over the canonical JSON (RFC 8785,
//! JCS: keys sorted, no whitespace) of its *ID contributing properties*: so two
//! producers who see the same IP address give it the same id. Of `hashes`
//! only one hash contributes, by preference MD5, SHA-1, SHA-256, SHA-512, else
//! the first one listed.
//!
//! ```
//! use liaison_stix::sco_id;
//! use serde_json::json;
//! let props = json!({"value": "198.51.100.3"});
//! let id = sco_id("ipv4-addr", props.as_object().unwrap()).unwrap();
//! assert_eq!(id, "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4");
//! // process has no ID contributing properties: its ids are random (UUIDv4).
//! assert_eq!(sco_id("process", props.as_object().unwrap()), None);
//! ```

use serde_json::{Map, Value};
use uuid::Uuid;

/// The namespace of STIX 2.1 deterministic SCO ids.
pub const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// The ID contributing properties of an SCO type, in the spec's order.
/// `None` for types that are not SCOs; an empty list for `process`, whose ids
/// are UUIDv4.
pub fn id_contributing_properties(type_name: &str) -> Option<&'static [&'static str]> {
    Some(match type_name {
        "artifact" => &["hashes", "payload_bin"],
        "autonomous-system" => &["number"],
        "directory" => &["path"],
        "domain-name" | "email-addr" | "ipv4-addr" | "ipv6-addr" | "mac-addr" | "url" => &["value"],
        "email-message" => &["from_ref", "subject", "body"],
        "file" => &["hashes", "name", "extensions", "parent_directory_ref"],
        "mutex" => &["name"],
        "network-traffic" => &[
            "start",
            "end",
            "src_ref",
            "dst_ref",
            "src_port",
            "dst_port",
            "protocols",
            "extensions",
        ],
        "process" => &[],
        "software" => &["name", "cpe", "swid", "vendor", "version"],
        "user-account" => &["account_type", "user_id", "account_login"],
        "windows-registry-key" => &["key", "values"],
        "x509-certificate" => &["hashes", "serial_number"],
        _ => return None,
    })
}

/// The hash algorithms preferred for ids, best first.
const HASH_PREFERENCE: [&str; 4] = ["MD5", "SHA-1", "SHA-256", "SHA-512"];

/// The deterministic id of an SCO of `type_name` with properties `props`, or
/// `None` when the type has no ID contributing properties (process, custom
/// types) or none of them is present: then the spec asks for a UUIDv4.
pub fn sco_id(type_name: &str, props: &Map<String, Value>) -> Option<String> {
    let contributing = id_contributing_properties(type_name)?;
    let mut selected: Vec<(&str, Value)> = Vec::new();
    for &key in contributing {
        let Some(value) = props.get(key) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        if key == "hashes" {
            if let Some(one) = choose_one_hash(value) {
                selected.push((key, one));
            }
        } else {
            selected.push((key, value.clone()));
        }
    }
    if selected.is_empty() {
        return None;
    }
    let map: Map<String, Value> = selected
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let text = canonical_json(&Value::Object(map));
    Some(format!(
        "{type_name}--{}",
        Uuid::new_v5(&SCO_NAMESPACE, text.as_bytes())
    ))
}

/// The deterministic id the object should have, if its type has one.
pub fn expected_id(obj: &crate::StixObject) -> Option<String> {
    sco_id(obj.type_name(), obj.as_map())
}

/// Whether an SCO's id is the deterministic one (or its type has none).
/// The spec says SHOULD: use this for a warning, never to reject.
pub fn is_deterministic_id_ok(obj: &crate::StixObject) -> bool {
    match expected_id(obj) {
        Some(expected) => expected == obj.id(),
        None => true,
    }
}

fn choose_one_hash(value: &Value) -> Option<Value> {
    let hashes = value.as_object()?;
    let key = HASH_PREFERENCE
        .iter()
        .copied()
        .find(|k| hashes.contains_key(*k))
        .or_else(|| hashes.keys().next().map(String::as_str))?;
    let mut one = Map::new();
    one.insert(key.to_string(), hashes.get(key)?.clone());
    Some(Value::Object(one))
}

/// Canonical JSON (RFC 8785): object keys sorted by UTF-16 code units, no
/// whitespace, minimal string escapes; integral numbers without a fraction.
///
/// ```
/// use liaison_stix::sco_id::canonical_json;
/// let v = serde_json::json!({"b": [1, 2.0, "é\n"], "a": null});
/// assert_eq!(canonical_json(&v), r#"{"a":null,"b":[1,2,"é\n"]}"#);
/// ```
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                out.push_str(&n.to_string());
            } else if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < 1e21 {
                    // ECMAScript prints integral doubles without a fraction.
                    out.push_str(&format!("{f:.0}"));
                } else {
                    out.push_str(&n.to_string());
                }
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(t: &str, v: Value) -> Option<String> {
        sco_id(t, v.as_object().unwrap())
    }

    #[test]
    fn hash_preference_and_extra_props_ignored() {
        let a = id(
            "file",
            json!({"hashes": {"SHA-256": "aa", "MD5": "bb"}, "size": 3}),
        );
        let b = id("file", json!({"hashes": {"MD5": "bb"}}));
        assert_eq!(a, b);
        let c = id("file", json!({"hashes": {"SHA-256": "aa"}}));
        assert_ne!(a, c);
    }

    #[test]
    fn key_order_does_not_matter() {
        let a = id(
            "network-traffic",
            json!({"src_port": 1, "protocols": ["tcp"], "dst_port": 2}),
        );
        let b = id(
            "network-traffic",
            json!({"dst_port": 2, "src_port": 1, "protocols": ["tcp"]}),
        );
        assert_eq!(a, b);
        assert!(a.unwrap().starts_with("network-traffic--"));
    }

    #[test]
    fn no_contributing_props() {
        assert_eq!(id("file", json!({"size": 3})), None);
        assert_eq!(id("x-custom", json!({"value": 3})), None);
    }
}
