//! MISP ↔ STIX 2.1 for Liaison: pure conversions, no IO.
//!
//! * [`event_to_stix`] turns one MISP event (the JSON MISP exports, a MISP
//!   feed's event files, `{"Event": {...}}` or the bare event) into STIX 2.1
//!   objects the way MISP's own converter (misp-stix) does: the organisation as
//!   an `identity`, the event as a `report` (published) or `grouping`,
//!   attributes and MISP objects as `indicator`s (patterns, when `to_ids`) and
//!   `observed-data` with their cyber-observables, galaxies as SDOs, tags as
//!   TLP markings or labels, sightings as `sighting`s. MISP UUIDs are reused
//!   for the STIX ids, so converting the same event twice gives the same ids
//!   and importing it twice is idempotent.
//! * [`parse_manifest`] reads a MISP feed's `manifest.json`.
//! * [`stix_to_events`] goes back: a report or grouping (or, lacking one, all
//!   the objects) becomes a MISP event whose attributes keep type, value,
//!   category and `to_ids`, and whose objects (observed-data labelled with a
//!   MISP template) keep their attributes' relations and types.
//!
//! MISP object templates with an observable form are one table (`template.rs`:
//! template → STIX type, attribute relation → property path and MISP type),
//! read forwards by the MISP → STIX direction and backwards by STIX → MISP;
//! what a table cannot say (observables referring to other observables) is a
//! hook per template shape in `object.rs` and `from_object.rs`.
//!
//! ```
//! use liaison_misp::{event_to_stix, Options};
//! let event = serde_json::json!({"Event": {
//!   "uuid": "a6ef17d6-91cb-4a05-b10b-2f045daf874c", "info": "Phishing wave",
//!   "timestamp": "1603642920",
//!   "Orgc": {"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
//!   "Attribute": [{"uuid": "91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f", "type": "domain",
//!     "category": "Network activity", "value": "circl.lu", "to_ids": true,
//!     "timestamp": "1603642920"}]}});
//! let conv = event_to_stix(&event, &Options::default()).unwrap();
//! let ind = conv.objects.iter().find(|o| o["type"] == "indicator").unwrap();
//! assert_eq!(ind["id"], "indicator--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f");
//! assert_eq!(ind["pattern"], "[domain-name:value = 'circl.lu']");
//! ```

mod attribute;
mod from_object;
mod from_stix;
mod manifest;
mod object;
mod pattern;
mod template;
mod to_stix;
mod types;

pub use from_stix::stix_to_events;
pub use manifest::{parse_manifest, ManifestEntry};
pub use pattern::escape as escape_pattern_value;
pub use to_stix::EventConverter;
pub use types::{default_category, default_to_ids, is_known_type};

use serde_json::Value;

/// How to convert.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Attribute types this deployment accepts besides MISP's own list (they
    /// become `x-misp-attribute` objects without a warning).
    pub extra_types: Vec<String>,
    /// Leave out `x-misp-attribute` / `x-misp-object` / `x-misp-galaxy-cluster`
    /// objects (what has no STIX mapping), keeping only standard STIX content.
    pub standard_only: bool,
}

/// The STIX objects an event became, and what the conversion noticed.
#[derive(Debug, Clone, Default)]
pub struct Conversion {
    /// STIX 2.1 objects, each a JSON object: the creating organisation's
    /// identity first, the event's report or grouping last.
    pub objects: Vec<Value>,
    /// Things converted with loss or skipped, each with its JSON path.
    pub warnings: Vec<Warning>,
}

impl Conversion {
    /// The id of the report or grouping the event became.
    pub fn container_id(&self) -> Option<&str> {
        self.objects
            .iter()
            .find(|o| o["type"] == "report" || o["type"] == "grouping")
            .and_then(|o| o["id"].as_str())
    }
}

/// A non-fatal finding: the JSON path in the MISP input (`Event.Attribute[12].type`)
/// and what happened there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// JSON path in the MISP input.
    pub path: String,
    /// What was found and what was done with it.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Input that cannot be converted at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The JSON is not a MISP event (or manifest, or STIX content) where
    /// one was expected: `path` names the place, `expected` what should be there.
    #[error("{path}: {expected}")]
    Shape {
        /// JSON path of the offending value.
        path: String,
        /// What was expected there.
        expected: String,
    },
}

impl Error {
    pub(crate) fn shape(path: impl Into<String>, expected: impl Into<String>) -> Self {
        Error::Shape {
            path: path.into(),
            expected: expected.into(),
        }
    }

    /// The JSON path the error names.
    pub fn path(&self) -> &str {
        match self {
            Error::Shape { path, .. } => path,
        }
    }
}

/// Whether a JSON document looks like a MISP event (`{"Event": {...}}`, or a
/// bare event with `info` and `Attribute`/`Object`/`uuid`), as opposed to STIX.
pub fn is_misp_event(json: &Value) -> bool {
    match json {
        Value::Object(m) => {
            if let Some(Value::Object(_)) = m.get("Event") {
                return true;
            }
            m.contains_key("info")
                && !m.contains_key("type")
                && (m.contains_key("Attribute")
                    || m.contains_key("Object")
                    || m.contains_key("uuid"))
        }
        _ => false,
    }
}

/// Convert one MISP event to STIX 2.1 objects. Errors only when the input is
/// not an event at all (or lacks the event `uuid`); anything narrower (an
/// unknown attribute type, a malformed value) is converted as far as possible
/// and reported in [`Conversion::warnings`] with its JSON path.
pub fn event_to_stix(event_json: &Value, opts: &Options) -> Result<Conversion, Error> {
    to_stix::convert(event_json, opts)
}
