//! Sealed fields: who a human source is and how to reach them, encrypted per
//! compartment inside the STIX object itself.
//!
//! An `identity` of `identity_class` `individual` has its `name`, `description`,
//! `contact_information` and `roles` sealed; any other object its
//! `contact_information`. The clear values leave the object (a `name` is required by
//! STIX, so it becomes [`SEALED_NAME`]) and travel in `x_liaison_sealed`, encrypted
//! under the compartment's key and bound to the object id, so that the database (and
//! anyone holding only its key) holds no readable trace: not in the JSON, not in the
//! full-text index. A reader holding the compartment gets the fields back.

use crate::cipher::{self, Key};
use crate::{b64, malformed, ProtectError};
use base64::Engine;
use serde_json::{json, Map, Value};

/// The property sealed fields travel in.
pub const SEALED_PROP: &str = "x_liaison_sealed";
/// The `name` a sealed identity shows.
pub const SEALED_NAME: &str = "[sealed source]";
/// The compartment key name for objects whose label has no compartment.
pub const NO_COMPARTMENT: &str = "_";

const IDENTITY_FIELDS: &[&str] = &["name", "description", "contact_information", "roles"];
const OTHER_FIELDS: &[&str] = &["contact_information"];

/// Which fields of `obj` are sealed (present ones only).
pub fn fields_to_seal(obj: &Map<String, Value>) -> Vec<&'static str> {
    let individual = obj.get("type").and_then(Value::as_str) == Some("identity")
        && obj.get("identity_class").and_then(Value::as_str) == Some("individual");
    let list = if individual {
        IDENTITY_FIELDS
    } else {
        OTHER_FIELDS
    };
    list.iter()
        .copied()
        .filter(|f| obj.contains_key(*f) && !(*f == "name" && obj[*f] == SEALED_NAME))
        .collect()
}

fn aad(id: &str, compartment: &str, key_id: u32) -> Vec<u8> {
    format!("liaison sealed v1 {id} {compartment} {key_id}").into_bytes()
}

/// Seal the source fields of `obj` under `key` (id `key_id`) of `compartment`.
/// Returns whether anything was sealed. An object already sealed is left alone.
pub fn seal_object(
    obj: &mut Map<String, Value>,
    compartment: &str,
    key_id: u32,
    key: &Key,
) -> Result<bool, ProtectError> {
    if obj.contains_key(SEALED_PROP) {
        return Ok(false);
    }
    let fields = fields_to_seal(obj);
    if fields.is_empty() {
        return Ok(false);
    }
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("$.id", "a sealed object needs an id"))?
        .to_string();
    let mut clear = Map::new();
    for f in &fields {
        if let Some(v) = obj.shift_remove(*f) {
            clear.insert((*f).to_string(), v);
        }
    }
    let plain = zeroize::Zeroizing::new(Value::Object(clear).to_string().into_bytes());
    let blob = cipher::seal(key, &aad(&id, compartment, key_id), &plain)?;
    if fields.contains(&"name") {
        obj.insert("name".into(), json!(SEALED_NAME));
    }
    obj.insert(
        SEALED_PROP.into(),
        json!({
            "compartment": compartment,
            "key": key_id,
            "fields": fields,
            "data": b64().encode(blob),
        }),
    );
    Ok(true)
}

/// The compartment and key id an object is sealed under, if it is sealed.
pub fn sealed_under(obj: &Map<String, Value>) -> Option<(String, u32)> {
    let s = obj.get(SEALED_PROP)?;
    Some((
        s.get("compartment")?.as_str()?.to_string(),
        u32::try_from(s.get("key")?.as_u64()?).ok()?,
    ))
}

/// Put the sealed fields back, with `key` (the compartment key named by [`sealed_under`]).
pub fn unseal_object(obj: &mut Map<String, Value>, key: &Key) -> Result<(), ProtectError> {
    let Some((compartment, key_id)) = sealed_under(obj) else {
        return Err(malformed(
            format!("$.{SEALED_PROP}"),
            "absent or without compartment and key",
        ));
    };
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let data = obj[SEALED_PROP]
        .get("data")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(format!("$.{SEALED_PROP}.data"), "missing"))?;
    let raw = b64()
        .decode(data)
        .map_err(|e| malformed(format!("$.{SEALED_PROP}.data"), e.to_string()))?;
    let plain = zeroize::Zeroizing::new(cipher::open_named(
        key,
        &aad(&id, &compartment, key_id),
        &raw,
        &format!("sealed fields of {id}"),
    )?);
    let clear: Map<String, Value> = serde_json::from_slice(&plain)
        .map_err(|e| malformed(format!("sealed fields of {id}"), e.to_string()))?;
    obj.shift_remove(SEALED_PROP);
    for (k, v) in clear {
        obj.insert(k, v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Map<String, Value> {
        serde_json::from_str(
            r#"{"type":"identity","spec_version":"2.1","id":"identity--023d105b-752e-4e3c-941c-7d3f3cb15e9e",
            "created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z",
            "name":"Jane Informant","identity_class":"individual",
            "contact_information":"+1 555 0100, jane@example.org","roles":["insider"]}"#,
        )
        .unwrap()
    }

    #[test]
    fn seal_and_unseal() {
        let key = Key::generate();
        let mut o = source();
        let orig = o.clone();
        assert!(seal_object(&mut o, "HUMINT", 3, &key).unwrap());
        let text = Value::Object(o.clone()).to_string();
        assert!(!text.contains("Jane"), "{text}");
        assert!(!text.contains("555"), "{text}");
        assert!(!text.contains("insider"), "{text}");
        assert_eq!(o["name"], SEALED_NAME);
        assert_eq!(sealed_under(&o), Some(("HUMINT".into(), 3)));
        assert!(
            !seal_object(&mut o, "HUMINT", 3, &key).unwrap(),
            "idempotent"
        );
        assert!(matches!(
            unseal_object(&mut o.clone(), &Key::generate()),
            Err(ProtectError::Decrypt { .. })
        ));
        unseal_object(&mut o, &key).unwrap();
        let mut a: Vec<_> = o.iter().collect();
        let mut b: Vec<_> = orig.iter().collect();
        a.sort_by_key(|x| x.0);
        b.sort_by_key(|x| x.0);
        assert_eq!(a, b);
    }

    #[test]
    fn sealed_fields_are_bound_to_their_object() {
        let key = Key::generate();
        let mut o = source();
        seal_object(&mut o, "HUMINT", 1, &key).unwrap();
        o.insert(
            "id".into(),
            json!("identity--11111111-752e-4e3c-941c-7d3f3cb15e9e"),
        );
        assert!(unseal_object(&mut o, &key).is_err());
    }

    #[test]
    fn organizations_keep_their_name() {
        let key = Key::generate();
        let mut o = source();
        o.insert("identity_class".into(), json!("organization"));
        assert!(seal_object(&mut o, "_", 1, &key).unwrap());
        assert_eq!(o["name"], "Jane Informant");
        assert!(!o.contains_key("contact_information"));
        let mut plain = source();
        plain.shift_remove("contact_information");
        plain.insert("identity_class".into(), json!("organization"));
        assert!(!seal_object(&mut plain, "_", 1, &key).unwrap());
    }
}
