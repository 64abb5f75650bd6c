//! Liaison's security-label property extension: classification, compartments,
//! releasability and owner, carried inside the STIX object so other tools keep it.

use crate::object::StixObject;
use crate::tlp::{tlp_of, Tlp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The fixed id of Liaison's label extension definition.
pub const LABEL_EXTENSION_ID: &str = "extension-definition--5b3c8a34-6a8e-4b64-9a43-1f2d0c6e7a11";

/// The identity that created the extension definition.
pub const LIAISON_IDENTITY_ID: &str = "identity--9c2bd3a8-3b8e-4a53-8f33-4b9d9e4f5a01";

/// A security label as written in an object (names, not yet checked against a deployment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LabelExtension {
    /// Classification level name, e.g. `RESTRICTED`.
    pub level: String,
    /// Compartment names; a reader must hold all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compartments: Vec<String>,
    /// Organizations the object may be read by besides its owner; `["*"]` for everyone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub releasable_to: Vec<String>,
    /// The owning organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// What an object says of its own label: the extension (if any) and its TLP.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectLabel {
    /// Liaison's extension, when present.
    pub extension: Option<LabelExtension>,
    /// The most restrictive TLP marking, when present.
    pub tlp: Option<Tlp>,
}

impl LabelExtension {
    /// Read the label extension of an object. `Err` names the JSON path when the
    /// extension is present but malformed.
    pub fn read(obj: &StixObject) -> Result<Option<LabelExtension>, crate::Error> {
        let Some(ext) = obj.extensions().and_then(|e| e.get(LABEL_EXTENSION_ID)) else {
            return Ok(None);
        };
        serde_json::from_value::<LabelExtension>(ext.clone())
            .map(Some)
            .map_err(|e| {
                crate::Error::new(
                    crate::ErrorKind::Invalid,
                    format!("$.extensions.'{LABEL_EXTENSION_ID}'"),
                    format!("invalid Liaison label extension: {e}"),
                )
            })
    }

    /// Write the extension into an object (replacing any).
    pub fn write(&self, obj: &mut StixObject) {
        let mut body = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut body {
            m.insert("extension_type".into(), json!("property-extension"));
        }
        let map = obj.as_map_mut();
        let exts = map.entry("extensions").or_insert_with(|| json!({}));
        if !exts.is_object() {
            *exts = json!({});
        }
        if let Value::Object(e) = exts {
            e.insert(LABEL_EXTENSION_ID.to_string(), body);
        }
    }
}

/// Read both parts of an object's label.
pub fn object_label(obj: &StixObject) -> Result<ObjectLabel, crate::Error> {
    Ok(ObjectLabel {
        extension: LabelExtension::read(obj)?,
        tlp: tlp_of(&obj.object_marking_refs()),
    })
}

/// Set the TLP marking of an object, replacing any TLP marking it had and keeping other markings.
pub fn set_tlp(obj: &mut StixObject, tlp: Tlp) {
    let mut refs: Vec<Value> = obj
        .object_marking_refs()
        .into_iter()
        .filter(|r| Tlp::from_marking_id(r).is_none())
        .map(|r| json!(r))
        .collect();
    refs.push(json!(tlp.marking_id()));
    obj.as_map_mut()
        .insert("object_marking_refs".into(), Value::Array(refs));
}

/// The extension-definition object that declares the label extension; shipped in every
/// store and every export so partners can resolve it.
pub fn label_extension_definition() -> Value {
    json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": LABEL_EXTENSION_ID,
        "created_by_ref": LIAISON_IDENTITY_ID,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Liaison security label",
        "description": "Classification level, compartments, releasability and owner of a STIX object, as Liaison enforces them.",
        "schema": "https://liaison.invalid/schemas/label-extension.json",
        "version": "1.0.0",
        "extension_types": ["property-extension"]
    })
}

/// The identity of Liaison as the creator of its extension definitions.
pub fn liaison_identity() -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": LIAISON_IDENTITY_ID,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Liaison",
        "identity_class": "system"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read() {
        let mut o = StixObject::from_value(json!({"type": "malware", "id": "malware--1"})).unwrap();
        let l = LabelExtension {
            level: "SECRET".into(),
            compartments: vec!["GRID".into()],
            releasable_to: vec!["cert".into()],
            owner: Some("ministry".into()),
        };
        l.write(&mut o);
        set_tlp(&mut o, Tlp::Amber);
        let got = object_label(&o).unwrap();
        assert_eq!(got.extension, Some(l));
        assert_eq!(got.tlp, Some(Tlp::Amber));
    }

    #[test]
    fn malformed_extension_names_path() {
        let o = StixObject::from_value(json!({"type": "malware", "id": "malware--1",
            "extensions": {LABEL_EXTENSION_ID: {"level": 3}}}))
        .unwrap();
        let e = LabelExtension::read(&o).unwrap_err();
        assert!(e.path().contains(LABEL_EXTENSION_ID));
    }
}
