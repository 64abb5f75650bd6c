//! STIX 2.1 objects for Liaison: the model every other crate speaks.
//!
//! A [`StixObject`] keeps every property verbatim (custom `x_` properties and
//! extensions included), so parse → serialize is loss-free, and exposes the
//! common properties through typed accessors.
//!
//! ```
//! use liaison_stix::StixObject;
//! let obj = StixObject::from_json(r#"{
//!   "type": "malware", "spec_version": "2.1",
//!   "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
//!   "created": "2016-04-06T20:07:09.000Z", "modified": "2016-04-06T20:07:09.000Z",
//!   "name": "Poison Ivy", "is_family": true, "x_custom": [1, 2]
//! }"#).unwrap();
//! assert_eq!(obj.type_name(), "malware");
//! assert_eq!(obj.name(), Some("Poison Ivy"));
//! assert_eq!(obj.get("x_custom").unwrap(), &serde_json::json!([1, 2]));
//! ```
//!
//! Importing is a stream: [`bundle::BundleReader`] yields one object at a time
//! from a bundle, a list or a single object, in memory bounded by the largest
//! object; [`upgrade::Upgrading`] also turns STIX 2.0 content into 2.1
//! ([`upgrade_20`]); [`validate()`] checks the spec's MUSTs (errors) and SHOULDs
//! (warnings), each finding with its JSON path; [`sco_id()`] gives the
//! deterministic id of a cyber-observable.
//!
//! ```
//! use liaison_stix::{upgrade::Upgrading, validate::is_valid};
//! let bundle = br#"{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
//!   "spec_version": "2.0", "objects": [{"type": "tool", "id": "tool--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
//!   "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
//!   "name": "VNC", "labels": ["remote-access"]}]}"#;
//! for obj in Upgrading::new(&bundle[..]) {
//!     let obj = obj.unwrap();
//!     assert_eq!(obj.spec_version(), Some("2.1"));
//!     assert_eq!(obj.str_list("tool_types"), ["remote-access"]);
//!     assert!(is_valid(&obj));
//! }
//! ```

pub mod bundle;
pub mod error;
pub mod label;
pub mod object;
pub mod sco_id;
pub mod tlp;
pub mod types;
pub mod upgrade;
pub mod validate;
pub mod vocab;

pub use bundle::BundleReader;
pub use error::{Error, ErrorKind, Position};
pub use label::{LabelExtension, LABEL_EXTENSION_ID};
pub use object::{Reference, StixObject, Timestamp};
pub use sco_id::sco_id;
pub use types::{category_of, Category};
pub use upgrade::upgrade_20;
pub use validate::{validate, Severity, ValidationError};
