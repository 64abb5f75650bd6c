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

pub mod bundle;
pub mod error;
pub mod label;
pub mod tlp;
pub mod object;
pub mod sco_id;
pub mod types;
pub mod upgrade;
pub mod validate;
pub mod vocab;

pub use bundle::BundleReader;
pub use error::{Error, ErrorKind, Position};
pub use sco_id::sco_id;
pub use upgrade::upgrade_20;
pub use validate::{validate, Severity, ValidationError};
pub use label::{LabelExtension, LABEL_EXTENSION_ID};
pub use object::{Reference, StixObject, Timestamp};
pub use types::{category_of, Category};
