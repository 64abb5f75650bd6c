//! TLP 2.0 (and the TLP 1.0 markings STIX 2.1 predefines) as marking definitions.

use serde_json::{json, Value};

/// The OASIS extension definition that TLP 2.0 marking definitions carry.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// A Traffic Light Protocol level, TLP 2.0 order (CLEAR least restrictive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Tlp {
    /// TLP:CLEAR (TLP 1.0 WHITE maps here).
    #[default]
    Clear,
    /// TLP:GREEN.
    Green,
    /// TLP:AMBER.
    Amber,
    /// TLP:AMBER+STRICT.
    AmberStrict,
    /// TLP:RED.
    Red,
}

/// Every level, least restrictive first.
pub const ALL: [Tlp; 5] = [
    Tlp::Clear,
    Tlp::Green,
    Tlp::Amber,
    Tlp::AmberStrict,
    Tlp::Red,
];

impl Tlp {
    /// The published marking-definition id of the TLP 2.0 level.
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// `clear`, `green`, `amber`, `amber+strict`, `red`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// Parse a level name, with or without `TLP:`, any case; `white` is CLEAR.
    ///
    /// ```
    /// use liaison_stix::tlp::Tlp;
    /// assert_eq!(Tlp::parse("TLP:AMBER+STRICT"), Some(Tlp::AmberStrict));
    /// assert_eq!(Tlp::parse("white"), Some(Tlp::Clear));
    /// ```
    pub fn parse(text: &str) -> Option<Tlp> {
        let t = text.trim().to_ascii_lowercase();
        let t = t.strip_prefix("tlp:").unwrap_or(&t);
        Some(match t {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" | "amber_strict" | "amber-strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return None,
        })
    }

    /// The level a marking-definition id stands for: TLP 2.0 ids, and the TLP 1.0
    /// ids STIX 2.1 predefines (white, green, amber, red).
    pub fn from_marking_id(id: &str) -> Option<Tlp> {
        match id {
            "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9" => Some(Tlp::Clear),
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da" => Some(Tlp::Green),
            "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82" => Some(Tlp::Amber),
            "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed" => Some(Tlp::Red),
            _ => ALL.into_iter().find(|t| t.marking_id() == id),
        }
    }

    /// The TLP 2.0 marking-definition object, as OASIS publishes it.
    pub fn marking_definition(self) -> Value {
        json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": self.marking_id(),
            "created": "2022-10-01T00:00:00.000Z",
            "name": format!("TLP:{}", self.as_str().to_ascii_uppercase()),
            "extensions": {
                TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": self.as_str()}
            }
        })
    }
}

impl std::fmt::Display for Tlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLP:{}", self.as_str().to_ascii_uppercase())
    }
}

/// The most restrictive TLP among an object's `object_marking_refs`, if any.
pub fn tlp_of(marking_refs: &[&str]) -> Option<Tlp> {
    marking_refs
        .iter()
        .filter_map(|r| Tlp::from_marking_id(r))
        .max()
}
