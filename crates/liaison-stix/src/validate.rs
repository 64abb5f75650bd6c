//! Validation of one STIX 2.1 object against the specification's MUSTs.
//!
//! [`validate`] returns every finding, each with the JSON path of the offending
//! value and a message saying what was expected. Findings of
//! [`Severity::Error`] are violations of a MUST: such an object is not valid
//! STIX 2.1. Findings of [`Severity::Warning`] are SHOULDs (a non-deterministic
//! SCO id, a custom property without the `x_` prefix, a hash of the wrong
//! length for its algorithm …): the object is valid, but worth a look.
//!
//! The rules are table-driven: [`type_spec`] gives, per type, the required
//! properties, the type of every known property (string, list, integer range,
//! timestamp, hashes, reference with the types it may point to …) and the
//! ID contributing properties of SCOs; a few per-type functions check what
//! tables cannot say (`modified >= created`, an artifact has `payload_bin` or
//! `url`, TLP marking definitions are the published ones, …).
//!
//! ```
//! use liaison_stix::{validate::{validate, is_valid, Severity}, StixObject};
//! let obj = StixObject::from_json(r#"{
//!   "type": "indicator", "spec_version": "2.1",
//!   "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
//!   "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:47.000Z",
//!   "pattern": "[ipv4-addr:value = '198.51.100.1']", "valid_from": "2016-01-01T00:00:00Z",
//!   "confidence": 101
//! }"#).unwrap();
//! let errors: Vec<_> = validate(&obj).into_iter().filter(|e| e.severity == Severity::Error).collect();
//! let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
//! assert_eq!(paths, ["$.pattern_type", "$.confidence", "$.modified"]);
//! assert!(errors[0].message.contains("required"));
//! assert!(!is_valid(&obj));
//! ```

use crate::object::{json_kind, StixObject};
use crate::sco_id;
use crate::types::{category_of, Category, SCO_TYPES};
use crate::vocab;
use crate::Timestamp;
use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A SHOULD of the spec is not met; the object is still valid.
    Warning,
    /// A MUST of the spec is violated; the object is invalid.
    Error,
}

/// One finding: where, what was expected, how serious.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    /// MUST (error) or SHOULD (warning).
    pub severity: Severity,
    /// JSON path of the offending value, e.g. `$.external_references[0].external_id`.
    pub path: String,
    /// What was wrong and what was expected.
    pub message: String,
}

/// Validate one object. Findings come in a stable order: required properties,
/// then properties in the object's order, then cross-property rules.
pub fn validate(obj: &StixObject) -> Vec<ValidationError> {
    let mut v = Validator {
        out: Vec::new(),
        in_sco: false,
    };
    v.object(obj.as_map(), "$", Context::TopLevel);
    v.out
}

/// Validate any JSON value: an object, or a bundle (each of its objects is
/// validated, paths `$.objects[i]…`). STIX 2.0 objects (see
/// [`crate::upgrade::is_stix20`]) are validated as their 2.1 upgrade
/// ([`crate::upgrade_20`]), which is how Liaison imports them, with a warning
/// saying so.
pub fn validate_value(value: &Value) -> Vec<ValidationError> {
    let mut v = Validator {
        out: Vec::new(),
        in_sco: false,
    };
    match value {
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("bundle") => {
            v.bundle(map)
        }
        Value::Object(map) => v.object_any_version(map, "$", None),
        other => v.err(
            "$",
            format!("expected a STIX object, found {}", json_kind(other)),
        ),
    }
    v.out
}

/// True when no MUST is violated (warnings allowed).
pub fn is_valid(obj: &StixObject) -> bool {
    validate(obj).iter().all(|e| e.severity != Severity::Error)
}

/// Only the MUST violations.
pub fn errors(obj: &StixObject) -> Vec<ValidationError> {
    validate(obj)
        .into_iter()
        .filter(|e| e.severity == Severity::Error)
        .collect()
}

/// Whether an SCO's id is its deterministic UUIDv5 (SHOULD, so a warning).
pub fn is_deterministic_id_ok(obj: &StixObject) -> bool {
    sco_id::is_deterministic_id_ok(obj)
}

// ---------------------------------------------------------------------------
// The registry.

/// What a reference may point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Any object type.
    Any,
    /// One of these types.
    Types(&'static [&'static str]),
    /// Any cyber-observable type (and custom types).
    Sco,
    /// SCOs or SROs (observed-data `object_refs`).
    ScoOrSro,
    /// An SDO or a custom object (sighting_of_ref).
    SdoOrCustom,
    /// SDOs, SCOs and custom objects: not a relationship, sighting,
    /// marking-definition, bundle or language-content (relationship ends).
    NotSroOrMeta,
}

/// The type of a property's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A string.
    Str,
    /// A boolean.
    Bool,
    /// An integer in a range.
    Int(i64, i64),
    /// A number in a range.
    Num(f64, f64),
    /// A timestamp (RFC 3339, `Z`).
    Ts,
    /// A non-empty list of strings.
    StrList,
    /// A list of strings, possibly empty.
    StrListOrEmpty,
    /// An identifier of an object of the given types.
    Ref(Target),
    /// A non-empty list of identifiers.
    RefList(Target),
    /// A hashes dictionary.
    Hashes,
    /// A dictionary (JSON object).
    Dict,
    /// A non-empty list of kill chain phases.
    KillChains,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// Base64 binary.
    Bin,
    /// Hex string.
    Hex,
    /// A URL (RFC 3986, with a scheme).
    Url,
    /// A non-empty list of objects (checked elsewhere).
    ObjList,
    /// Anything (checked elsewhere).
    Any,
}

/// The rules of one type.
#[derive(Debug)]
pub struct TypeSpec {
    /// The type name.
    pub name: &'static str,
    /// Properties that MUST be present.
    pub required: &'static [&'static str],
    /// Known properties and their kinds (common properties excluded).
    pub props: &'static [(&'static str, Kind)],
}

impl TypeSpec {
    /// The kind of a known property.
    pub fn kind(&self, prop: &str) -> Option<Kind> {
        self.props.iter().find(|(p, _)| *p == prop).map(|(_, k)| *k)
    }
    /// The ID contributing properties (SCOs only).
    pub fn id_contributing(&self) -> &'static [&'static str] {
        sco_id::id_contributing_properties(self.name).unwrap_or(&[])
    }
}

use Kind::*;

const SOFTWARE: Target = Target::Types(&["software"]);
const ADDR: Target = Target::Types(&["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"]);

/// Properties every SDO and SRO may have.
const SDO_COMMON: &[(&str, Kind)] = &[
    ("spec_version", Str),
    ("created_by_ref", Ref(Target::Any)),
    ("created", Ts),
    ("modified", Ts),
    ("revoked", Bool),
    ("labels", StrList),
    ("confidence", Int(0, 100)),
    ("lang", Str),
    ("external_references", ObjList),
    (
        "object_marking_refs",
        RefList(Target::Types(&["marking-definition"])),
    ),
    ("granular_markings", ObjList),
    ("extensions", Dict),
];

/// Properties every SCO may have.
const SCO_COMMON: &[(&str, Kind)] = &[
    ("spec_version", Str),
    (
        "object_marking_refs",
        RefList(Target::Types(&["marking-definition"])),
    ),
    ("granular_markings", ObjList),
    ("defanged", Bool),
    ("extensions", Dict),
];

macro_rules! spec {
    ($name:literal, [$($req:literal),*], [$(($p:literal, $k:expr)),* $(,)?]) => {
        TypeSpec { name: $name, required: &[$($req),*], props: &[$(($p, $k)),*] }
    };
}

static SPECS: &[TypeSpec] = &[
    // --- SDOs
    spec!(
        "attack-pattern",
        ["name"],
        [
            ("name", Str),
            ("description", Str),
            ("aliases", StrList),
            ("kill_chain_phases", KillChains)
        ]
    ),
    spec!(
        "campaign",
        ["name"],
        [
            ("name", Str),
            ("description", Str),
            ("aliases", StrList),
            ("first_seen", Ts),
            ("last_seen", Ts),
            ("objective", Str)
        ]
    ),
    spec!(
        "course-of-action",
        ["name"],
        [("name", Str), ("description", Str)]
    ),
    spec!(
        "grouping",
        ["context", "object_refs"],
        [
            ("name", Str),
            ("description", Str),
            ("context", Str),
            ("object_refs", RefList(Target::Any))
        ]
    ),
    spec!(
        "identity",
        ["name"],
        [
            ("name", Str),
            ("description", Str),
            ("roles", StrList),
            ("identity_class", Str),
            ("sectors", StrList),
            ("contact_information", Str)
        ]
    ),
    spec!(
        "incident",
        ["name"],
        [
            ("name", Str),
            ("description", Str),
            ("kill_chain_phases", KillChains)
        ]
    ),
    spec!(
        "indicator",
        ["pattern", "pattern_type", "valid_from"],
        [
            ("name", Str),
            ("description", Str),
            ("indicator_types", StrList),
            ("pattern", Str),
            ("pattern_type", Str),
            ("pattern_version", Str),
            ("valid_from", Ts),
            ("valid_until", Ts),
            ("kill_chain_phases", KillChains)
        ]
    ),
    spec!(
        "infrastructure",
        ["name"],
        [
            ("name", Str),
            ("description", Str),
            ("infrastructure_types", StrList),
            ("aliases", StrList),
            ("kill_chain_phases", KillChains),
            ("first_seen", Ts),
            ("last_seen", Ts)
        ]
    ),
    spec!(
        "intrusion-set",
        ["name"],
        [
            ("name", Str),
            ("description", Str),
            ("aliases", StrList),
            ("first_seen", Ts),
            ("last_seen", Ts),
            ("goals", StrList),
            ("resource_level", Str),
            ("primary_motivation", Str),
            ("secondary_motivations", StrList)
        ]
    ),
    spec!(
        "location",
        [],
        [
            ("name", Str),
            ("description", Str),
            ("latitude", Num(-90.0, 90.0)),
            ("longitude", Num(-180.0, 180.0)),
            ("precision", Num(0.0, f64::MAX)),
            ("region", Str),
            ("country", Str),
            ("administrative_area", Str),
            ("city", Str),
            ("street_address", Str),
            ("postal_code", Str)
        ]
    ),
    spec!(
        "malware",
        ["is_family"],
        [
            ("name", Str),
            ("description", Str),
            ("malware_types", StrList),
            ("is_family", Bool),
            ("aliases", StrList),
            ("kill_chain_phases", KillChains),
            ("first_seen", Ts),
            ("last_seen", Ts),
            ("operating_system_refs", RefList(SOFTWARE)),
            ("architecture_execution_envs", StrList),
            ("implementation_languages", StrList),
            ("capabilities", StrList),
            ("sample_refs", RefList(Target::Types(&["file", "artifact"])))
        ]
    ),
    spec!(
        "malware-analysis",
        ["product"],
        [
            ("product", Str),
            ("version", Str),
            ("host_vm_ref", Ref(SOFTWARE)),
            ("operating_system_ref", Ref(SOFTWARE)),
            ("installed_software_refs", RefList(SOFTWARE)),
            ("configuration_version", Str),
            ("modules", StrList),
            ("analysis_engine_version", Str),
            ("analysis_definition_version", Str),
            ("submitted", Ts),
            ("analysis_started", Ts),
            ("analysis_ended", Ts),
            ("result_name", Str),
            ("result", Str),
            ("analysis_sco_refs", RefList(Target::Sco)),
            (
                "sample_ref",
                Ref(Target::Types(&["file", "network-traffic", "artifact"]))
            )
        ]
    ),
    spec!(
        "note",
        ["content", "object_refs"],
        [
            ("abstract", Str),
            ("content", Str),
            ("authors", StrList),
            ("object_refs", RefList(Target::Any))
        ]
    ),
    spec!(
        "observed-data",
        ["first_observed", "last_observed", "number_observed"],
        [
            ("first_observed", Ts),
            ("last_observed", Ts),
            ("number_observed", Int(1, 999_999_999)),
            ("objects", Dict),
            ("object_refs", RefList(Target::ScoOrSro))
        ]
    ),
    spec!(
        "opinion",
        ["opinion", "object_refs"],
        [
            ("explanation", Str),
            ("authors", StrList),
            ("opinion", Enum(vocab::OPINIONS)),
            ("object_refs", RefList(Target::Any))
        ]
    ),
    spec!(
        "report",
        ["name", "published", "object_refs"],
        [
            ("name", Str),
            ("description", Str),
            ("report_types", StrList),
            ("published", Ts),
            ("object_refs", RefList(Target::Any))
        ]
    ),
    spec!(
        "threat-actor",
        ["name"],
        [
            ("name", Str),
            ("description", Str),
            ("threat_actor_types", StrList),
            ("aliases", StrList),
            ("first_seen", Ts),
            ("last_seen", Ts),
            ("roles", StrList),
            ("goals", StrList),
            ("sophistication", Str),
            ("resource_level", Str),
            ("primary_motivation", Str),
            ("secondary_motivations", StrList),
            ("personal_motivations", StrList)
        ]
    ),
    spec!(
        "tool",
        ["name"],
        [
            ("name", Str),
            ("description", Str),
            ("tool_types", StrList),
            ("aliases", StrList),
            ("kill_chain_phases", KillChains),
            ("tool_version", Str)
        ]
    ),
    spec!(
        "vulnerability",
        ["name"],
        [("name", Str), ("description", Str)]
    ),
    // --- SROs
    spec!(
        "relationship",
        ["relationship_type", "source_ref", "target_ref"],
        [
            ("relationship_type", Str),
            ("description", Str),
            ("source_ref", Ref(Target::NotSroOrMeta)),
            ("target_ref", Ref(Target::NotSroOrMeta)),
            ("start_time", Ts),
            ("stop_time", Ts)
        ]
    ),
    spec!(
        "sighting",
        ["sighting_of_ref"],
        [
            ("description", Str),
            ("first_seen", Ts),
            ("last_seen", Ts),
            ("count", Int(0, 999_999_999)),
            ("sighting_of_ref", Ref(Target::SdoOrCustom)),
            (
                "observed_data_refs",
                RefList(Target::Types(&["observed-data"]))
            ),
            (
                "where_sighted_refs",
                RefList(Target::Types(&["identity", "location"]))
            ),
            ("summary", Bool)
        ]
    ),
    // --- meta
    spec!(
        "marking-definition",
        ["created"],
        [
            ("spec_version", Str),
            ("created_by_ref", Ref(Target::Any)),
            ("created", Ts),
            ("name", Str),
            ("definition_type", Str),
            ("definition", Dict),
            ("external_references", ObjList),
            (
                "object_marking_refs",
                RefList(Target::Types(&["marking-definition"]))
            ),
            ("granular_markings", ObjList),
            ("extensions", Dict)
        ]
    ),
    spec!(
        "language-content",
        ["object_ref", "contents"],
        [
            ("object_ref", Ref(Target::Any)),
            ("object_modified", Ts),
            ("contents", Dict)
        ]
    ),
    spec!(
        "extension-definition",
        [
            "created_by_ref",
            "name",
            "schema",
            "version",
            "extension_types"
        ],
        [
            ("name", Str),
            ("description", Str),
            ("schema", Str),
            ("version", Str),
            ("extension_types", Any),
            ("extension_properties", StrList)
        ]
    ),
    // --- SCOs
    spec!(
        "artifact",
        [],
        [
            ("mime_type", Str),
            ("payload_bin", Bin),
            ("url", Url),
            ("hashes", Hashes),
            ("encryption_algorithm", Enum(vocab::ENCRYPTION_ALGORITHMS)),
            ("decryption_key", Str)
        ]
    ),
    spec!(
        "autonomous-system",
        ["number"],
        [("number", Int(0, i64::MAX)), ("name", Str), ("rir", Str)]
    ),
    spec!(
        "directory",
        ["path"],
        [
            ("path", Str),
            ("path_enc", Str),
            ("ctime", Ts),
            ("mtime", Ts),
            ("atime", Ts),
            (
                "contains_refs",
                RefList(Target::Types(&["file", "directory"]))
            )
        ]
    ),
    spec!(
        "domain-name",
        ["value"],
        [
            ("value", Str),
            (
                "resolves_to_refs",
                RefList(Target::Types(&["ipv4-addr", "ipv6-addr", "domain-name"]))
            )
        ]
    ),
    spec!(
        "email-addr",
        ["value"],
        [
            ("value", Str),
            ("display_name", Str),
            ("belongs_to_ref", Ref(Target::Types(&["user-account"])))
        ]
    ),
    spec!(
        "email-message",
        ["is_multipart"],
        [
            ("is_multipart", Bool),
            ("date", Ts),
            ("content_type", Str),
            ("from_ref", Ref(Target::Types(&["email-addr"]))),
            ("sender_ref", Ref(Target::Types(&["email-addr"]))),
            ("to_refs", RefList(Target::Types(&["email-addr"]))),
            ("cc_refs", RefList(Target::Types(&["email-addr"]))),
            ("bcc_refs", RefList(Target::Types(&["email-addr"]))),
            ("message_id", Str),
            ("subject", Str),
            ("received_lines", StrListOrEmpty),
            ("additional_header_fields", Dict),
            ("body", Str),
            ("body_multipart", Any),
            ("raw_email_ref", Ref(Target::Types(&["artifact"])))
        ]
    ),
    spec!(
        "file",
        [],
        [
            ("hashes", Hashes),
            ("size", Int(0, i64::MAX)),
            ("name", Str),
            ("name_enc", Str),
            ("magic_number_hex", Hex),
            ("mime_type", Str),
            ("ctime", Ts),
            ("mtime", Ts),
            ("atime", Ts),
            ("parent_directory_ref", Ref(Target::Types(&["directory"]))),
            ("contains_refs", RefList(Target::Sco)),
            ("content_ref", Ref(Target::Types(&["artifact"])))
        ]
    ),
    spec!(
        "ipv4-addr",
        ["value"],
        [
            ("value", Str),
            ("resolves_to_refs", RefList(Target::Types(&["mac-addr"]))),
            (
                "belongs_to_refs",
                RefList(Target::Types(&["autonomous-system"]))
            )
        ]
    ),
    spec!(
        "ipv6-addr",
        ["value"],
        [
            ("value", Str),
            ("resolves_to_refs", RefList(Target::Types(&["mac-addr"]))),
            (
                "belongs_to_refs",
                RefList(Target::Types(&["autonomous-system"]))
            )
        ]
    ),
    spec!("mac-addr", ["value"], [("value", Str)]),
    spec!("mutex", ["name"], [("name", Str)]),
    spec!(
        "network-traffic",
        ["protocols"],
        [
            ("start", Ts),
            ("end", Ts),
            ("is_active", Bool),
            ("src_ref", Ref(ADDR)),
            ("dst_ref", Ref(ADDR)),
            ("src_port", Int(0, 65535)),
            ("dst_port", Int(0, 65535)),
            ("protocols", StrList),
            ("src_byte_count", Int(0, i64::MAX)),
            ("dst_byte_count", Int(0, i64::MAX)),
            ("src_packets", Int(0, i64::MAX)),
            ("dst_packets", Int(0, i64::MAX)),
            ("ipfix", Dict),
            ("src_payload_ref", Ref(Target::Types(&["artifact"]))),
            ("dst_payload_ref", Ref(Target::Types(&["artifact"]))),
            (
                "encapsulates_refs",
                RefList(Target::Types(&["network-traffic"]))
            ),
            (
                "encapsulated_by_ref",
                Ref(Target::Types(&["network-traffic"]))
            )
        ]
    ),
    spec!(
        "process",
        [],
        [
            ("is_hidden", Bool),
            ("pid", Int(i64::MIN, i64::MAX)),
            ("created_time", Ts),
            ("cwd", Str),
            ("command_line", Str),
            ("environment_variables", Dict),
            (
                "opened_connection_refs",
                RefList(Target::Types(&["network-traffic"]))
            ),
            ("creator_user_ref", Ref(Target::Types(&["user-account"]))),
            ("image_ref", Ref(Target::Types(&["file"]))),
            ("parent_ref", Ref(Target::Types(&["process"]))),
            ("child_refs", RefList(Target::Types(&["process"])))
        ]
    ),
    spec!(
        "software",
        ["name"],
        [
            ("name", Str),
            ("cpe", Str),
            ("swid", Str),
            ("languages", StrList),
            ("vendor", Str),
            ("version", Str)
        ]
    ),
    spec!("url", ["value"], [("value", Url)]),
    spec!(
        "user-account",
        [],
        [
            ("user_id", Str),
            ("credential", Str),
            ("account_login", Str),
            ("account_type", Str),
            ("display_name", Str),
            ("is_service_account", Bool),
            ("is_privileged", Bool),
            ("can_escalate_privs", Bool),
            ("is_disabled", Bool),
            ("account_created", Ts),
            ("account_expires", Ts),
            ("credential_last_changed", Ts),
            ("account_first_login", Ts),
            ("account_last_login", Ts)
        ]
    ),
    spec!(
        "windows-registry-key",
        [],
        [
            ("key", Str),
            ("values", Any),
            ("modified_time", Ts),
            ("creator_user_ref", Ref(Target::Types(&["user-account"]))),
            ("number_of_subkeys", Int(0, i64::MAX))
        ]
    ),
    spec!(
        "x509-certificate",
        [],
        [
            ("is_self_signed", Bool),
            ("hashes", Hashes),
            ("version", Str),
            ("serial_number", Str),
            ("signature_algorithm", Str),
            ("issuer", Str),
            ("validity_not_before", Ts),
            ("validity_not_after", Ts),
            ("subject", Str),
            ("subject_public_key_algorithm", Str),
            ("subject_public_key_modulus", Str),
            ("subject_public_key_exponent", Int(0, i64::MAX)),
            ("x509_v3_extensions", Dict)
        ]
    ),
];

/// Predefined SCO extensions: (SCO type, extension name, required, properties).
static SCO_EXTENSIONS: &[(&str, TypeSpec)] = &[
    (
        "file",
        spec!(
            "archive-ext",
            ["contains_refs"],
            [
                (
                    "contains_refs",
                    RefList(Target::Types(&["file", "directory"]))
                ),
                ("comment", Str)
            ]
        ),
    ),
    (
        "file",
        spec!(
            "ntfs-ext",
            [],
            [("sid", Str), ("alternate_data_streams", ObjList)]
        ),
    ),
    (
        "file",
        spec!(
            "pdf-ext",
            [],
            [
                ("version", Str),
                ("is_optimized", Bool),
                ("document_info_dict", Dict),
                ("pdfid0", Str),
                ("pdfid1", Str)
            ]
        ),
    ),
    (
        "file",
        spec!(
            "raster-image-ext",
            [],
            [
                ("image_height", Int(i64::MIN, i64::MAX)),
                ("image_width", Int(i64::MIN, i64::MAX)),
                ("bits_per_pixel", Int(i64::MIN, i64::MAX)),
                ("exif_tags", Dict)
            ]
        ),
    ),
    (
        "file",
        spec!(
            "windows-pebinary-ext",
            ["pe_type"],
            [
                ("pe_type", Str),
                ("imphash", Str),
                ("machine_hex", Hex),
                ("number_of_sections", Int(0, i64::MAX)),
                ("time_date_stamp", Ts),
                ("pointer_to_symbol_table_hex", Hex),
                ("number_of_symbols", Int(0, i64::MAX)),
                ("size_of_optional_header", Int(0, i64::MAX)),
                ("characteristics_hex", Hex),
                ("file_header_hashes", Hashes),
                ("optional_header", Dict),
                ("sections", ObjList)
            ]
        ),
    ),
    (
        "network-traffic",
        spec!(
            "http-request-ext",
            ["request_method", "request_value"],
            [
                ("request_method", Str),
                ("request_value", Str),
                ("request_version", Str),
                ("request_header", Dict),
                ("message_body_length", Int(0, i64::MAX)),
                ("message_body_data_ref", Ref(Target::Types(&["artifact"])))
            ]
        ),
    ),
    (
        "network-traffic",
        spec!(
            "icmp-ext",
            ["icmp_type_hex", "icmp_code_hex"],
            [("icmp_type_hex", Hex), ("icmp_code_hex", Hex)]
        ),
    ),
    (
        "network-traffic",
        spec!(
            "socket-ext",
            ["address_family"],
            [
                ("address_family", Str),
                ("is_blocking", Bool),
                ("is_listening", Bool),
                ("options", Dict),
                ("socket_type", Str),
                ("socket_descriptor", Int(0, i64::MAX)),
                ("socket_handle", Int(i64::MIN, i64::MAX))
            ]
        ),
    ),
    (
        "network-traffic",
        spec!(
            "tcp-ext",
            [],
            [("src_flags_hex", Hex), ("dst_flags_hex", Hex)]
        ),
    ),
    (
        "process",
        spec!(
            "windows-process-ext",
            [],
            [
                ("aslr_enabled", Bool),
                ("dep_enabled", Bool),
                ("priority", Str),
                ("owner_sid", Str),
                ("window_title", Str),
                ("startup_info", Dict),
                ("integrity_level", Str)
            ]
        ),
    ),
    (
        "process",
        spec!(
            "windows-service-ext",
            [],
            [
                ("service_name", Str),
                ("descriptions", StrList),
                ("display_name", Str),
                ("group_name", Str),
                ("start_type", Str),
                ("service_dll_refs", RefList(Target::Types(&["file"]))),
                ("service_type", Str),
                ("service_status", Str)
            ]
        ),
    ),
    (
        "user-account",
        spec!(
            "unix-account-ext",
            [],
            [
                ("gid", Int(i64::MIN, i64::MAX)),
                ("groups", StrList),
                ("home_dir", Str),
                ("shell", Str)
            ]
        ),
    ),
];

/// The rules of a STIX 2.1 type (`None` for custom types).
pub fn type_spec(type_name: &str) -> Option<&'static TypeSpec> {
    SPECS.iter().find(|s| s.name == type_name)
}

// ---------------------------------------------------------------------------
// Formats.

static TYPE_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*-?$"));
static PROP_NAME_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][a-z0-9_]{2,249}$"));
static PROP_NAME_LAX_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][A-Za-z0-9_]{2,249}$"));
static TIMESTAMP_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?Z$",
    )
});
static SELECTOR_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([a-z0-9_-]{3,249}(\.(\[\d+\]|[a-z0-9_-]{1,250}))*|id)$"));
static EXT_NAME_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*-ext$"));
static HASH_KEY_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-zA-Z0-9_-]{3,250}$"));
static IPV4_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(/(3[0-2]|[12]?[0-9]))?$",
    )
});
static MAC_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$"));
static CVE_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^CVE-\d{4}-(0\d{3}|[1-9]\d{3,})$"));
static CAPEC_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^CAPEC-\d+$"));
static LANG_TAG_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?i)([a-z]{2,3})(-[a-z]{3}){0,3}(-[a-z]{4})?(-([a-z]{2}|[0-9]{3}))?(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*(-[0-9a-wyz](-[a-z0-9]{2,8})+)*(-x(-[a-z0-9]{1,8})+)?$",
    )
});
static URL_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$"));
static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
});
static CHARSET_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-zA-Z0-9_()-]+$"));
static MIME_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^([a-z]+)/[a-zA-Z0-9.+_-]+"));
static BASE64_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$")
});
static SSDEEP_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-zA-Z0-9/+:.]{1,128}$"));
static CPE_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^cpe:(2\.3:[aho*-]|/[aho]?)"));

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, tested by the unit tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

/// Parse `type--UUID`: the type part and whether the UUID part is an RFC 4122
/// UUID (versions 1–5, variant `10xx`), as the reference validator requires.
fn split_id(id: &str) -> Option<(&str, uuid::Uuid)> {
    let (ty, uuid_part) = id.split_once("--")?;
    if uuid_part.len() != 36 {
        return None;
    }
    let b = uuid_part.as_bytes();
    for (i, c) in b.iter().enumerate() {
        let hyphen = matches!(i, 8 | 13 | 18 | 23);
        if hyphen != (*c == b'-') || (!hyphen && !c.is_ascii_hexdigit()) {
            return None;
        }
    }
    let version = b[14];
    let variant = b[19].to_ascii_lowercase();
    if !(b'1'..=b'5').contains(&version) || !matches!(variant, b'8' | b'9' | b'a' | b'b') {
        return None;
    }
    Some((ty, uuid::Uuid::parse_str(uuid_part).ok()?))
}

fn is_identifier(id: &str) -> bool {
    match split_id(id) {
        Some((ty, _)) => ty.len() >= 3 && TYPE_RE.is_match(ty),
        None => false,
    }
}

fn target_ok(target: Target, ty: &str) -> bool {
    if ty == "bundle" {
        return false;
    }
    match target {
        Target::Any => true,
        Target::Types(types) => types.contains(&ty),
        Target::Sco => matches!(category_of(ty), Category::Sco | Category::Custom),
        Target::ScoOrSro => matches!(
            category_of(ty),
            Category::Sco | Category::Sro | Category::Custom
        ),
        Target::SdoOrCustom => matches!(category_of(ty), Category::Sdo | Category::Custom),
        Target::NotSroOrMeta => {
            !matches!(category_of(ty), Category::Sro | Category::Meta) && ty != "bundle"
        }
    }
}

fn describe_target(target: Target) -> String {
    match target {
        Target::Any => "an object".into(),
        Target::Types(types) => types.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(" or "),
        Target::Sco => "a cyber-observable object".into(),
        Target::ScoOrSro => "a cyber-observable or relationship object".into(),
        Target::SdoOrCustom => "a domain object or a custom object".into(),
        Target::NotSroOrMeta => {
            "a domain, cyber-observable or custom object (not a relationship, sighting, marking-definition, \
             language-content or bundle)"
                .into()
        }
    }
}

fn is_language_tag(tag: &str) -> bool {
    if !LANG_TAG_RE.is_match(tag) {
        return false;
    }
    let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
    match primary.len() {
        2 => vocab::ISO_639_1.contains(&primary.as_str()),
        // Three-letter primary subtags: ISO 639-2/3 codes; accept the common ones.
        3 => {
            vocab::ISO_639_2_COMMON.contains(&primary.as_str())
                || [
                    "fil", "haw", "yue", "cmn", "gsw", "ast", "ckb", "kok", "syr", "chr", "sah",
                    "moh", "arn", "quz", "nso", "smj", "sma", "smn", "sms", "tzm", "prs", "hsb",
                    "dsb", "qut", "fur", "mul", "und", "zxx",
                ]
                .contains(&primary.as_str())
        }
        _ => false,
    }
}

fn path_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        k.to_string()
    } else {
        format!("'{k}'")
    }
}

fn child(path: &str, k: &str) -> String {
    format!("{path}.{}", path_key(k))
}

// ---------------------------------------------------------------------------
// The validator.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context<'a> {
    /// A top-level object.
    TopLevel,
    /// An SCO inside a (deprecated) observed-data `objects` dictionary: its
    /// references are keys of that dictionary.
    Embedded(&'a Map<String, Value>),
}

struct Validator {
    out: Vec<ValidationError>,
    /// Validating an SCO: the reference validator's schemas type SCO references
    /// as plain strings, so a malformed UUID there is only a warning.
    in_sco: bool,
}

impl Validator {
    fn err(&mut self, path: &str, message: impl Into<String>) {
        self.out.push(ValidationError {
            severity: Severity::Error,
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.out.push(ValidationError {
            severity: Severity::Warning,
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn bundle(&mut self, map: &Map<String, Value>) {
        match map.get("id") {
            Some(Value::String(id)) => {
                if !id.starts_with("bundle--") || split_id(id).is_none() {
                    self.err(
                        "$.id",
                        format!(
                            "'{id}' is not a bundle id: expected 'bundle--' and an RFC 4122 UUID"
                        ),
                    );
                }
            }
            Some(other) => self.err(
                "$.id",
                format!("expected a string, found {}", json_kind(other)),
            ),
            None => self.err("$.id", "required property 'id' is missing"),
        }
        match map.get("objects") {
            None => {}
            Some(Value::Array(items)) => {
                if items.is_empty() {
                    self.err("$.objects", "a bundle's objects must not be an empty list");
                }
                for (i, item) in items.iter().enumerate() {
                    let path = format!("$.objects[{i}]");
                    let bundle_spec = map.get("spec_version").and_then(Value::as_str);
                    match item {
                        Value::Object(m) => self.object_any_version(m, &path, bundle_spec),
                        other => self.err(
                            &path,
                            format!("expected a STIX object, found {}", json_kind(other)),
                        ),
                    }
                }
            }
            Some(other) => self.err(
                "$.objects",
                format!("expected a list of objects, found {}", json_kind(other)),
            ),
        }
    }

    /// Validate an object that may be STIX 2.0 (then as its 2.1 upgrade).
    fn object_any_version(
        &mut self,
        map: &Map<String, Value>,
        path: &str,
        bundle_spec: Option<&str>,
    ) {
        if !crate::upgrade::is_stix20(map, bundle_spec) {
            self.object(map, path, Context::TopLevel);
            return;
        }
        self.warn(
            path,
            "a STIX 2.0 object: validated as its upgrade to STIX 2.1",
        );
        match crate::upgrade::upgrade_20(Value::Object(map.clone())) {
            Ok(objects) => {
                for o in objects {
                    if let Value::Object(m) = o {
                        self.object(&m, path, Context::TopLevel);
                    }
                }
            }
            Err(e) => {
                let e = e.under(path);
                self.err(e.path(), e.message());
            }
        }
    }

    fn object(&mut self, map: &Map<String, Value>, path: &str, ctx: Context<'_>) {
        let ty = match map.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(other) => {
                self.err(
                    &child(path, "type"),
                    format!("expected a string, found {}", json_kind(other)),
                );
                return;
            }
            None => {
                self.err(&child(path, "type"), "required property 'type' is missing");
                return;
            }
        };
        if ty.len() < 3 || ty.len() > 250 || !TYPE_RE.is_match(ty) || ty.contains("--") {
            self.err(
                &child(path, "type"),
                format!(
                    "'{ty}' is not a valid type name: expected 3 to 250 characters of lowercase ASCII letters, \
                     digits and single hyphens, starting with a letter"
                ),
            );
        }
        if vocab::RESERVED_TYPES.contains(&ty) {
            self.err(
                &child(path, "type"),
                format!("'{ty}' is a reserved type name"),
            );
        }
        let category = category_of(ty);
        let spec = type_spec(ty);
        let is_sco =
            category == Category::Sco || (category == Category::Custom && custom_is_sco(map));
        // Everything but SCOs and marking definitions is versioned (`modified`).
        let sdo_like = ty != "marking-definition";

        // id
        self.check_id(map, path, ty, is_sco, ctx);

        // required common properties
        let mut required: Vec<&str> = Vec::new();
        if !is_sco {
            required.push("spec_version");
            required.push("created");
            if sdo_like {
                required.push("modified");
            }
        }
        if let Some(spec) = spec {
            required.extend(spec.required.iter().copied());
        }
        for r in required {
            if !map.contains_key(r) {
                self.err(
                    &child(path, r),
                    format!("required property '{r}' is missing"),
                );
            }
        }

        // every property
        let common = if is_sco { SCO_COMMON } else { SDO_COMMON };
        let outer_sco = std::mem::replace(&mut self.in_sco, is_sco);
        for (k, v) in map {
            let p = child(path, k);
            if k == "type" || k == "id" {
                continue;
            }
            if vocab::RESERVED_PROPERTIES.contains(&k.as_str()) {
                self.err(
                    &p,
                    format!("'{k}' is a reserved property name and must not be used"),
                );
                continue;
            }
            let kind = spec
                .and_then(|s| s.kind(k))
                .or_else(|| common.iter().find(|(n, _)| n == k).map(|(_, kind)| *kind));
            match kind {
                Some(kind) => self.value(v, &p, kind, ctx),
                None => {
                    self.custom_property(k, v, &p);
                    // Properties of custom types are theirs; on STIX types they are additions.
                    if spec.is_some()
                        && !k.starts_with("x_")
                        && !vocab::RESERVED_PROPERTIES.contains(&k.as_str())
                    {
                        self.warn(
                            &p,
                            format!("custom property '{k}' should be defined by an extension (or at least start with 'x_')"),
                        );
                    }
                }
            }
            if (k == "created" || k == "modified") && !is_sco && ty != "marking-definition" {
                if let Value::String(s) = v {
                    if !has_millis(s) {
                        self.err(&p, format!("'{s}' must be precise to the millisecond (YYYY-MM-DDTHH:MM:SS.sssZ)"));
                    }
                }
            }
        }

        self.common_rules(map, path, ty);
        self.type_rules(map, path, ty, ctx);
        if let Some(Value::Object(exts)) = map.get("extensions") {
            self.extensions(exts, &child(path, "extensions"), ty, is_sco, ctx);
        }
        if category == Category::Sco {
            self.sco_id_rules(map, path, ty);
        }
        self.in_sco = outer_sco;
    }

    fn check_id(
        &mut self,
        map: &Map<String, Value>,
        path: &str,
        ty: &str,
        is_sco: bool,
        ctx: Context<'_>,
    ) {
        let p = child(path, "id");
        match map.get("id") {
            Some(Value::String(id)) => match split_id(id) {
                Some((id_ty, _)) if id_ty != ty => {
                    self.err(&p, format!("'{id}' does not start with '{ty}--': an id's prefix must be the object's type"))
                }
                Some(_) => {}
                None => self.err(
                    &p,
                    format!("'{id}' is not a valid id: expected '{ty}--' followed by an RFC 4122 UUID (version 1 to 5)"),
                ),
            },
            Some(other) => self.err(&p, format!("expected a string, found {}", json_kind(other))),
            None => {
                // SCOs inside a deprecated observed-data `objects` dictionary may omit ids.
                if !(is_sco && matches!(ctx, Context::Embedded(_))) {
                    self.err(&p, "required property 'id' is missing");
                }
            }
        }
    }

    fn value(&mut self, v: &Value, p: &str, kind: Kind, ctx: Context<'_>) {
        match kind {
            Str => {
                if !v.is_string() {
                    self.err(p, format!("expected a string, found {}", json_kind(v)));
                }
            }
            Bool => {
                if !v.is_boolean() {
                    self.err(
                        p,
                        format!("expected a boolean (true or false), found {}", json_kind(v)),
                    );
                }
            }
            Int(min, max) => match v.as_i64() {
                Some(n) if n < min || n > max => self.err(
                    p,
                    format!("{n} is out of range: expected an integer from {min} to {max}"),
                ),
                Some(_) => {}
                None if v.is_u64() && max == i64::MAX => {}
                None => self.err(p, format!("expected an integer, found {}", json_kind(v))),
            },
            Num(min, max) => match v.as_f64() {
                Some(n) if n < min || n > max => self.err(
                    p,
                    format!("{n} is out of range: expected a number from {min} to {max}"),
                ),
                Some(_) => {}
                None => self.err(p, format!("expected a number, found {}", json_kind(v))),
            },
            Ts => {
                self.timestamp(v, p);
            }
            StrList | StrListOrEmpty => match v {
                Value::Array(items) => {
                    if items.is_empty() && kind == StrList {
                        self.err(
                            p,
                            "expected a non-empty list of strings, found an empty list",
                        );
                    }
                    for (i, item) in items.iter().enumerate() {
                        if !item.is_string() {
                            self.err(
                                &format!("{p}[{i}]"),
                                format!("expected a string, found {}", json_kind(item)),
                            );
                        }
                    }
                }
                other => self.err(
                    p,
                    format!("expected a list of strings, found {}", json_kind(other)),
                ),
            },
            Ref(target) => self.reference(v, p, target, ctx),
            RefList(target) => match v {
                Value::Array(items) => {
                    if items.is_empty() {
                        self.err(
                            p,
                            "expected a non-empty list of identifiers, found an empty list",
                        );
                    }
                    for (i, item) in items.iter().enumerate() {
                        self.reference(item, &format!("{p}[{i}]"), target, ctx);
                    }
                }
                other => self.err(
                    p,
                    format!("expected a list of identifiers, found {}", json_kind(other)),
                ),
            },
            Hashes => self.hashes(v, p),
            Dict => match v {
                Value::Object(m) => {
                    for k in m.keys() {
                        if k.len() > 250 {
                            self.err(
                                &child(p, k),
                                "dictionary keys must be at most 250 characters long",
                            );
                        }
                    }
                }
                other => self.err(
                    p,
                    format!(
                        "expected a dictionary (JSON object), found {}",
                        json_kind(other)
                    ),
                ),
            },
            KillChains => match v {
                Value::Array(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        let ip = format!("{p}[{i}]");
                        match item {
                            Value::Object(m) => {
                                for req in ["kill_chain_name", "phase_name"] {
                                    match m.get(req) {
                                        Some(Value::String(_)) => {}
                                        Some(o) => self.err(
                                            &child(&ip, req),
                                            format!("expected a string, found {}", json_kind(o)),
                                        ),
                                        None => self.err(
                                            &child(&ip, req),
                                            format!("required property '{req}' is missing"),
                                        ),
                                    }
                                }
                            }
                            o => self.err(
                                &ip,
                                format!(
                                    "expected a kill chain phase object, found {}",
                                    json_kind(o)
                                ),
                            ),
                        }
                    }
                }
                other => self.err(
                    p,
                    format!(
                        "expected a non-empty list of kill chain phases, found {}",
                        json_kind(other)
                    ),
                ),
            },
            Enum(values) => match v.as_str() {
                Some(s) if values.contains(&s) => {}
                Some(s) => self.err(p, format!("'{s}' is not one of: {}", values.join(", "))),
                None => self.err(p, format!("expected a string, found {}", json_kind(v))),
            },
            Bin => match v.as_str() {
                Some(s) if BASE64_RE.is_match(s) => {}
                Some(s) => self.err(p, format!("'{}' is not base64-encoded binary", truncate(s))),
                None => self.err(
                    p,
                    format!("expected a base64 string, found {}", json_kind(v)),
                ),
            },
            Hex => match v.as_str() {
                Some(s) if s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {}
                Some(s) => self.err(
                    p,
                    format!(
                        "'{}' is not a hex string (an even number of hex digits)",
                        truncate(s)
                    ),
                ),
                None => self.err(p, format!("expected a hex string, found {}", json_kind(v))),
            },
            Url => match v.as_str() {
                Some(s) if URL_RE.is_match(s) => {}
                Some(s) => self.err(
                    p,
                    format!(
                        "'{}' is not a URL: expected an RFC 3986 URI with a scheme",
                        truncate(s)
                    ),
                ),
                None => self.err(p, format!("expected a string, found {}", json_kind(v))),
            },
            ObjList => match v {
                Value::Array(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        if !item.is_object() {
                            self.err(
                                &format!("{p}[{i}]"),
                                format!("expected an object, found {}", json_kind(item)),
                            );
                        }
                    }
                }
                Value::Array(_) => self.err(p, "expected a non-empty list, found an empty list"),
                other => self.err(
                    p,
                    format!("expected a list of objects, found {}", json_kind(other)),
                ),
            },
            Any => {}
        }
    }

    fn timestamp(&mut self, v: &Value, p: &str) -> Option<Timestamp> {
        let Some(s) = v.as_str() else {
            self.err(
                p,
                format!("expected a timestamp string, found {}", json_kind(v)),
            );
            return None;
        };
        if !TIMESTAMP_RE.is_match(s) {
            self.err(
                p,
                format!(
                    "'{}' is not a timestamp: expected YYYY-MM-DDTHH:MM:SS[.s+]Z (RFC 3339, UTC)",
                    truncate(s)
                ),
            );
            return None;
        }
        match Timestamp::parse(s) {
            Ok(t) => Some(t),
            Err(_) => {
                self.err(p, format!("'{s}' is not a valid date and time (e.g. the day is out of range for the month)"));
                None
            }
        }
    }

    fn reference(&mut self, v: &Value, p: &str, target: Target, ctx: Context<'_>) {
        let Some(s) = v.as_str() else {
            self.err(
                p,
                format!("expected an identifier string, found {}", json_kind(v)),
            );
            return;
        };
        if let Context::Embedded(objects) = ctx {
            // Inside an observed-data `objects` dictionary, references are its keys.
            if let Some(obj) = objects.get(s) {
                let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
                if !target_ok(target, ty) {
                    self.err(
                        p,
                        format!(
                            "'{s}' refers to an object of type '{ty}': expected {}",
                            describe_target(target)
                        ),
                    );
                }
                return;
            }
            if !is_identifier(s) {
                self.err(
                    p,
                    format!("'{s}' is not a key of the observed-data's objects"),
                );
                return;
            }
        }
        match split_id(s) {
            Some((ty, _)) if ty.len() >= 3 && TYPE_RE.is_match(ty) => {
                if !target_ok(target, ty) {
                    self.err(
                        p,
                        format!(
                            "'{s}' refers to an object of type '{ty}': expected {}",
                            describe_target(target)
                        ),
                    );
                }
            }
            _ => {
                let msg = format!(
                    "'{}' is not an identifier: expected 'type--' followed by an RFC 4122 UUID",
                    truncate(s)
                );
                match s.split_once("--") {
                    Some((ty, _)) if self.in_sco && ty.len() >= 3 && TYPE_RE.is_match(ty) => {
                        self.warn(p, msg);
                        if !target_ok(target, ty) {
                            self.err(
                                p,
                                format!(
                                    "'{s}' refers to an object of type '{ty}': expected {}",
                                    describe_target(target)
                                ),
                            );
                        }
                    }
                    _ => self.err(p, msg),
                }
            }
        }
    }

    fn hashes(&mut self, v: &Value, p: &str) {
        let Value::Object(m) = v else {
            self.err(
                p,
                format!("expected a dictionary of hashes, found {}", json_kind(v)),
            );
            return;
        };
        if m.is_empty() {
            self.err(p, "a hashes dictionary must not be empty");
        }
        for (alg, value) in m {
            let hp = child(p, alg);
            let Some(s) = value.as_str() else {
                self.err(
                    &hp,
                    format!("expected a hash string, found {}", json_kind(value)),
                );
                continue;
            };
            if !HASH_KEY_RE.is_match(alg) {
                self.err(&hp, format!("'{alg}' is not a valid hash algorithm name: expected 3 to 250 of a-z, A-Z, 0-9, '_', '-'"));
                continue;
            }
            match vocab::HASH_ALGORITHMS.iter().find(|(name, _)| *name == alg) {
                Some((name, Some(len))) => {
                    if s.len() != *len || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                        self.warn(
                            &hp,
                            format!(
                                "'{}' is not a {name} hash: expected {len} hex digits",
                                truncate(s)
                            ),
                        );
                    }
                }
                Some((name, None)) => {
                    if !SSDEEP_RE.is_match(s) {
                        self.warn(&hp, format!("'{}' is not a {name} hash", truncate(s)));
                    }
                }
                None => {
                    let upper = alg.to_ascii_uppercase().replace('_', "-");
                    if vocab::HASH_ALGORITHMS
                        .iter()
                        .any(|(name, _)| *name == upper || name.replace('-', "") == upper)
                    {
                        self.warn(&hp, format!("'{alg}' should be written as in the hash-algorithm vocabulary (e.g. 'SHA-256')"));
                    }
                }
            }
        }
    }

    fn custom_property(&mut self, k: &str, v: &Value, p: &str) {
        if PROP_NAME_LAX_RE.is_match(k) && !PROP_NAME_RE.is_match(k) {
            // STIX 2.1 §3.1 says lowercase; MISP emits e.g. `x_misp_Population`
            // and the reference validator accepts it, so we only warn.
            self.warn(
                p,
                format!(
                    "'{k}' should be lowercase: property names are limited to a-z, 0-9 and '_'"
                ),
            );
        } else if !PROP_NAME_RE.is_match(k) {
            self.err(
                p,
                format!("'{k}' is not a valid property name: expected 3 to 250 characters of a-z, 0-9 and '_', starting with a letter"),
            );
            return;
        }
        if k.ends_with("_bin") {
            self.value(v, p, Bin, Context::TopLevel);
        } else if k.ends_with("_hex") {
            self.value(v, p, Hex, Context::TopLevel);
        }
        match v {
            Value::Array(items) if items.is_empty() => {
                self.err(p, "a list property must not be empty")
            }
            Value::Null => self.err(p, "a property must not be null: omit it instead"),
            _ => {}
        }
    }

    fn common_rules(&mut self, map: &Map<String, Value>, path: &str, ty: &str) {
        if let Some(v) = map.get("spec_version") {
            match v.as_str() {
                Some("2.1") | None => {}
                Some(other) => self.err(
                    &child(path, "spec_version"),
                    format!(
                        "'{other}' is not '2.1': this object must be upgraded to STIX 2.1 first"
                    ),
                ),
            }
        }
        self.ordered(map, path, "created", "modified", false);
        if let Some(Value::String(by)) = map.get("created_by_ref") {
            if split_id(by).is_some_and(|(t, _)| t != "identity") {
                self.warn(
                    &child(path, "created_by_ref"),
                    format!("'{by}' should refer to an identity"),
                );
            }
        }
        if let Some(Value::String(lang)) = map.get("lang") {
            if !is_language_tag(lang) {
                self.err(
                    &child(path, "lang"),
                    format!("'{lang}' is not an RFC 5646 language tag of a known language"),
                );
            }
        }
        if let Some(Value::Array(refs)) = map.get("external_references") {
            for (i, r) in refs.iter().enumerate() {
                if let Value::Object(r) = r {
                    self.external_reference(r, &format!("{path}.external_references[{i}]"));
                }
            }
        }
        let id = map.get("id").and_then(Value::as_str).unwrap_or("");
        if let Some(Value::Array(refs)) = map.get("object_marking_refs") {
            if ty == "marking-definition" && refs.iter().any(|r| r.as_str() == Some(id)) {
                self.err(
                    &child(path, "object_marking_refs"),
                    "a marking definition must not mark itself (circular reference)",
                );
            }
        }
        if let Some(Value::Array(gms)) = map.get("granular_markings") {
            for (i, gm) in gms.iter().enumerate() {
                if let Value::Object(gm) = gm {
                    self.granular_marking(
                        gm,
                        &format!("{path}.granular_markings[{i}]"),
                        map,
                        ty,
                        id,
                    );
                }
            }
        }
    }

    fn external_reference(&mut self, r: &Map<String, Value>, p: &str) {
        match r.get("source_name") {
            Some(Value::String(_)) => {}
            Some(o) => self.err(
                &child(p, "source_name"),
                format!("expected a string, found {}", json_kind(o)),
            ),
            None => self.err(
                &child(p, "source_name"),
                "required property 'source_name' is missing",
            ),
        }
        for k in ["description", "external_id"] {
            if let Some(v) = r.get(k) {
                self.value(v, &child(p, k), Str, Context::TopLevel);
            }
        }
        if let Some(v) = r.get("url") {
            self.value(v, &child(p, "url"), Url, Context::TopLevel);
        }
        if let Some(v) = r.get("hashes") {
            self.hashes(v, &child(p, "hashes"));
        }
        if !["description", "url", "external_id"]
            .iter()
            .any(|k| r.contains_key(*k))
        {
            self.err(p, "an external reference must have at least one of 'description', 'url' or 'external_id' besides 'source_name'");
        }
        let source = r.get("source_name").and_then(Value::as_str);
        let ext_id = r.get("external_id").and_then(Value::as_str);
        match (source, ext_id) {
            (Some("cve"), Some(e)) if !CVE_RE.is_match(e) => self.err(
                &child(p, "external_id"),
                format!("'{e}' is not a CVE id: expected CVE-YYYY-NNNN"),
            ),
            (Some("capec"), Some(e)) if !CAPEC_RE.is_match(e) => self.err(
                &child(p, "external_id"),
                format!("'{e}' is not a CAPEC id: expected CAPEC-N"),
            ),
            (Some("cve" | "capec"), None) => self.err(
                &child(p, "external_id"),
                "a 'cve' or 'capec' reference requires 'external_id'",
            ),
            (Some(src), Some(e)) if src != "cve" && CVE_RE.is_match(e) => self.err(
                &child(p, "source_name"),
                format!("'{e}' is a CVE id: the source_name of a CVE reference must be 'cve'"),
            ),
            (Some(src), Some(e)) if src != "capec" && CAPEC_RE.is_match(e) => self.err(
                &child(p, "source_name"),
                format!(
                    "'{e}' is a CAPEC id: the source_name of a CAPEC reference must be 'capec'"
                ),
            ),
            _ => {}
        }
    }

    fn granular_marking(
        &mut self,
        gm: &Map<String, Value>,
        p: &str,
        obj: &Map<String, Value>,
        ty: &str,
        id: &str,
    ) {
        match (gm.get("marking_ref"), gm.get("lang")) {
            (None, None) => self.err(p, "a granular marking requires 'marking_ref' or 'lang'"),
            (Some(_), Some(_)) => self.err(
                p,
                "a granular marking must have only one of 'marking_ref' and 'lang'",
            ),
            (Some(r), None) => {
                self.reference(
                    r,
                    &child(p, "marking_ref"),
                    Target::Types(&["marking-definition"]),
                    Context::TopLevel,
                );
                if ty == "marking-definition" && r.as_str() == Some(id) {
                    self.err(
                        &child(p, "marking_ref"),
                        "a marking definition must not mark itself (circular reference)",
                    );
                }
            }
            (None, Some(l)) => self.value(l, &child(p, "lang"), Str, Context::TopLevel),
        }
        match gm.get("selectors") {
            Some(Value::Array(sels)) if !sels.is_empty() => {
                for (i, s) in sels.iter().enumerate() {
                    let sp = format!("{p}.selectors[{i}]");
                    match s.as_str() {
                        Some(sel) if !SELECTOR_RE.is_match(sel) => {
                            self.err(&sp, format!("'{sel}' is not a selector: expected property names and [index] joined by '.'"))
                        }
                        Some(sel) => {
                            if let Err(why) = resolve_selector(obj, sel) {
                                self.err(&sp, format!("'{sel}' does not select anything in this object: {why}"));
                            }
                        }
                        None => self.err(&sp, format!("expected a string, found {}", json_kind(s))),
                    }
                }
            }
            Some(_) => self.err(
                &child(p, "selectors"),
                "expected a non-empty list of selectors",
            ),
            None => self.err(
                &child(p, "selectors"),
                "required property 'selectors' is missing",
            ),
        }
    }

    /// `later` must not be before `earlier` (or strictly after when `strict`).
    fn ordered(
        &mut self,
        map: &Map<String, Value>,
        path: &str,
        earlier: &str,
        later: &str,
        strict: bool,
    ) {
        let (Some(Value::String(a)), Some(Value::String(b))) = (map.get(earlier), map.get(later))
        else {
            return;
        };
        let (Ok(ta), Ok(tb)) = (Timestamp::parse(a), Timestamp::parse(b)) else {
            return;
        };
        if tb < ta || (strict && tb == ta) {
            let rel = if strict {
                "later than"
            } else {
                "later than or equal to"
            };
            self.err(
                &child(path, later),
                format!("'{later}' ({b}) must be {rel} '{earlier}' ({a})"),
            );
        }
    }

    fn type_rules(&mut self, map: &Map<String, Value>, path: &str, ty: &str, ctx: Context<'_>) {
        let has = |k: &str| map.contains_key(k);
        let s = |k: &str| map.get(k).and_then(Value::as_str);
        match ty {
            "campaign" | "intrusion-set" | "threat-actor" | "infrastructure" | "sighting" => {
                self.ordered(map, path, "first_seen", "last_seen", false)
            }
            "indicator" => {
                self.ordered(map, path, "valid_from", "valid_until", true);
                if let (Some(pattern), Some("stix")) = (s("pattern"), s("pattern_type")) {
                    for problem in stix_pattern_problems(pattern) {
                        self.err(&child(path, "pattern"), problem);
                    }
                }
            }
            "relationship" => {
                self.ordered(map, path, "start_time", "stop_time", true);
                if let Some(rt) = s("relationship_type") {
                    if rt.is_empty()
                        || !rt
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    {
                        self.err(&child(path, "relationship_type"), format!("'{rt}' contains invalid characters: expected lowercase a-z, 0-9 and '-'"));
                    }
                }
            }
            "observed-data" => {
                self.ordered(map, path, "first_observed", "last_observed", false);
                match (map.get("objects"), has("object_refs")) {
                    (Some(_), true) => self.err(
                        &child(path, "objects"),
                        "'objects' (deprecated) must not be present together with 'object_refs'",
                    ),
                    (None, false) => self.err(
                        &child(path, "object_refs"),
                        "required property 'object_refs' is missing",
                    ),
                    (Some(Value::Object(objects)), false) => {
                        self.warn(
                            &child(path, "objects"),
                            "'objects' is deprecated in STIX 2.1: use SCOs and 'object_refs'",
                        );
                        if objects.is_empty() {
                            self.err(&child(path, "objects"), "'objects' must not be empty");
                        }
                        for (k, o) in objects {
                            let op = child(&child(path, "objects"), k);
                            match o {
                                Value::Object(m) => self.object(m, &op, Context::Embedded(objects)),
                                other => self.err(
                                    &op,
                                    format!(
                                        "expected a cyber-observable object, found {}",
                                        json_kind(other)
                                    ),
                                ),
                            }
                        }
                    }
                    _ => {}
                }
            }
            "malware" => {
                self.ordered(map, path, "first_seen", "last_seen", false);
                if map.get("is_family") == Some(&Value::Bool(true)) && !has("name") {
                    self.err(
                        &child(path, "name"),
                        "'name' is required when 'is_family' is true",
                    );
                }
            }
            "malware-analysis" if !has("result") && !has("analysis_sco_refs") => {
                self.err(
                    path,
                    "a malware-analysis requires 'result' or 'analysis_sco_refs'",
                );
            }
            "location" => {
                let (lat, lon) = (has("latitude"), has("longitude"));
                if lat != lon {
                    self.err(path, "'latitude' and 'longitude' must be present together");
                }
                if has("precision") && !(lat && lon) {
                    self.err(
                        &child(path, "precision"),
                        "'precision' requires 'latitude' and 'longitude'",
                    );
                }
                if !(has("region") || has("country") || (lat && lon)) {
                    self.err(
                        path,
                        "a location requires 'region', 'country', or 'latitude' and 'longitude'",
                    );
                }
            }
            "marking-definition" => self.marking_definition(map, path),
            "language-content" => self.language_content(map, path),
            "extension-definition" => self.extension_definition(map, path),
            "artifact" => {
                if has("payload_bin") && has("url") {
                    self.err(
                        path,
                        "an artifact must have 'payload_bin' or 'url', not both",
                    );
                } else if !has("payload_bin") && !has("url") {
                    self.err(path, "an artifact requires 'payload_bin' or 'url'");
                }
                if has("url") && !has("hashes") {
                    self.err(
                        &child(path, "hashes"),
                        "'hashes' is required when 'url' is present",
                    );
                }
                if has("decryption_key") && !has("encryption_algorithm") {
                    self.err(
                        &child(path, "decryption_key"),
                        "'decryption_key' requires 'encryption_algorithm'",
                    );
                }
                if let Some(m) = s("mime_type") {
                    let ok = MIME_RE
                        .captures(m)
                        .and_then(|c| c.get(1))
                        .is_some_and(|t| vocab::MEDIA_TYPES.contains(&t.as_str()));
                    if !ok {
                        self.err(
                            &child(path, "mime_type"),
                            format!("'{m}' is not an IANA media type (type/subtype)"),
                        );
                    }
                }
            }
            "directory" => self.charset(map, path, "path_enc"),
            "file" => {
                self.charset(map, path, "name_enc");
                if !has("hashes") && !has("name") {
                    self.err(path, "a file requires 'hashes' or 'name'");
                }
            }
            "email-addr" => {
                if let Some(v) = s("value") {
                    if !EMAIL_RE.is_match(v) {
                        self.err(
                            &child(path, "value"),
                            format!(
                                "'{v}' is not an email address (addr-spec, without a display name)"
                            ),
                        );
                    }
                }
            }
            "email-message" => self.email_message(map, path, ctx),
            "ipv4-addr" => {
                if let Some(v) = s("value") {
                    if !IPV4_RE.is_match(v) {
                        self.err(
                            &child(path, "value"),
                            format!("'{v}' is not an IPv4 address or CIDR block"),
                        );
                    }
                }
            }
            "ipv6-addr" => {
                if let Some(v) = s("value") {
                    if !is_ipv6(v) {
                        self.err(
                            &child(path, "value"),
                            format!("'{v}' is not an IPv6 address or CIDR block"),
                        );
                    }
                }
            }
            "mac-addr" => {
                if let Some(v) = s("value") {
                    if !MAC_RE.is_match(v) {
                        self.err(&child(path, "value"), format!("'{v}' is not a MAC address: expected six lowercase hex pairs joined by ':'"));
                    }
                }
            }
            "network-traffic" => {
                if !has("src_ref") && !has("dst_ref") {
                    self.err(path, "a network-traffic requires 'src_ref' or 'dst_ref'");
                }
                if map.get("is_active") == Some(&Value::Bool(true)) && has("end") {
                    self.err(
                        &child(path, "end"),
                        "'end' must not be present when 'is_active' is true",
                    );
                }
                self.ordered(map, path, "start", "end", false);
            }
            "software" => {
                if let Some(cpe) = s("cpe") {
                    if !CPE_RE.is_match(cpe) {
                        self.err(
                            &child(path, "cpe"),
                            format!("'{cpe}' is not a CPE name: expected 'cpe:2.3:…'"),
                        );
                    }
                }
                if let Some(Value::Array(langs)) = map.get("languages") {
                    for (i, l) in langs.iter().enumerate() {
                        if let Some(l) = l.as_str() {
                            if !is_language_tag(l) {
                                self.err(
                                    &format!("{path}.languages[{i}]"),
                                    format!(
                                        "'{l}' is not an RFC 5646 language tag of a known language"
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            "windows-registry-key" => {
                if let Some(k) = s("key") {
                    let hive = k.split('\\').next().unwrap_or("");
                    if !vocab::REGISTRY_HIVES
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(hive))
                    {
                        self.err(&child(path, "key"), format!("'{k}' must start with a full hive name (e.g. HKEY_LOCAL_MACHINE), not an abbreviation"));
                    }
                }
                self.registry_values(map, path);
            }
            "process" | "user-account" | "x509-certificate" => {
                let props = map
                    .keys()
                    .filter(|k| {
                        !matches!(
                            k.as_str(),
                            "type"
                                | "id"
                                | "spec_version"
                                | "object_marking_refs"
                                | "granular_markings"
                                | "defanged"
                        )
                    })
                    .count();
                if props == 0 {
                    self.err(
                        path,
                        format!("a {ty} must have at least one property besides the common ones"),
                    );
                }
            }
            _ => {}
        }
    }

    fn charset(&mut self, map: &Map<String, Value>, path: &str, prop: &str) {
        if let Some(Value::String(cs)) = map.get(prop) {
            let known = vocab::CHARSETS.iter().any(|c| c.eq_ignore_ascii_case(cs));
            if !known && !CHARSET_RE.is_match(cs) {
                self.err(
                    &child(path, prop),
                    format!("'{cs}' is not an IANA registered character set"),
                );
            }
        }
    }

    fn email_message(&mut self, map: &Map<String, Value>, path: &str, ctx: Context<'_>) {
        match map.get("is_multipart") {
            Some(Value::Bool(false)) if map.contains_key("body_multipart") => {
                self.err(
                    &child(path, "body_multipart"),
                    "'body_multipart' must not be present when 'is_multipart' is false",
                );
            }
            Some(Value::Bool(true)) if map.contains_key("body") => {
                self.err(
                    &child(path, "body"),
                    "'body' must not be present when 'is_multipart' is true",
                );
            }
            _ => {}
        }
        if let Some(v) = map.get("body_multipart") {
            let bp = child(path, "body_multipart");
            match v {
                Value::Array(parts) => {
                    for (i, part) in parts.iter().enumerate() {
                        let pp = format!("{bp}[{i}]");
                        let Value::Object(part) = part else {
                            self.err(
                                &pp,
                                format!("expected a MIME part object, found {}", json_kind(part)),
                            );
                            continue;
                        };
                        if part.contains_key("body") && part.contains_key("body_raw_ref") {
                            self.err(
                                &pp,
                                "a MIME part must have only one of 'body' and 'body_raw_ref'",
                            );
                        }
                        if let Some(r) = part.get("body_raw_ref") {
                            self.reference(
                                r,
                                &child(&pp, "body_raw_ref"),
                                Target::Types(&["artifact", "file"]),
                                ctx,
                            );
                        }
                        for k in ["body", "content_type", "content_disposition"] {
                            if let Some(v) = part.get(k) {
                                self.value(v, &child(&pp, k), Str, ctx);
                            }
                        }
                    }
                }
                other => self.err(
                    &bp,
                    format!("expected a list of MIME parts, found {}", json_kind(other)),
                ),
            }
        }
    }

    fn registry_values(&mut self, map: &Map<String, Value>, path: &str) {
        let Some(v) = map.get("values") else { return };
        let vp = child(path, "values");
        let Value::Array(values) = v else {
            self.err(
                &vp,
                format!("expected a list of registry values, found {}", json_kind(v)),
            );
            return;
        };
        for (i, item) in values.iter().enumerate() {
            let ip = format!("{vp}[{i}]");
            let Value::Object(item) = item else {
                self.err(
                    &ip,
                    format!(
                        "expected a registry value object, found {}",
                        json_kind(item)
                    ),
                );
                continue;
            };
            for k in ["name", "data"] {
                if let Some(v) = item.get(k) {
                    self.value(v, &child(&ip, k), Str, Context::TopLevel);
                }
            }
            if let Some(v) = item.get("data_type") {
                self.value(
                    v,
                    &child(&ip, "data_type"),
                    Enum(vocab::REGISTRY_DATATYPES),
                    Context::TopLevel,
                );
            }
        }
    }

    fn marking_definition(&mut self, map: &Map<String, Value>, path: &str) {
        if map.contains_key("modified") {
            self.warn(
                &child(path, "modified"),
                "marking definitions are not versioned: 'modified' is not a property of them",
            );
        }
        let dt = map.get("definition_type").and_then(Value::as_str);
        let def = map.get("definition");
        let id = map.get("id").and_then(Value::as_str).unwrap_or("");
        let has_ext = map
            .get("extensions")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty());
        match (dt, def) {
            (None, None) => {
                if !has_ext {
                    self.err(path, "a marking definition requires 'definition_type' and 'definition', or an extension defining it");
                }
            }
            (Some(_), None) => self.err(
                &child(path, "definition"),
                "'definition' is required with 'definition_type'",
            ),
            (None, Some(_)) => self.err(
                &child(path, "definition_type"),
                "'definition_type' is required with 'definition'",
            ),
            (Some(dt), Some(def)) => {
                if has_ext
                    && map
                        .get("extensions")
                        .and_then(Value::as_object)
                        .is_some_and(|m| m.keys().any(|k| k.starts_with("extension-definition--")))
                    && dt == "tlp"
                {
                    self.err(path, "a marking definition defined by an extension must not also have a TLP 'definition'");
                }
                let dp = child(path, "definition");
                match dt {
                    "tlp" => {
                        let level = def.get("tlp").and_then(Value::as_str);
                        let known = vocab::TLP1_MARKINGS.iter().find(|(l, _)| Some(*l) == level);
                        match known {
                            Some((_, known_id)) if *known_id == id && def.as_object().is_some_and(|m| m.len() == 1) => {}
                            _ => self.err(&dp, "a TLP marking definition must be one of the four that STIX 2.1 defines (same id, name and definition)"),
                        }
                    }
                    "statement" => match def.get("statement") {
                        Some(Value::String(_)) => {}
                        _ => self.err(
                            &child(&dp, "statement"),
                            "a statement marking requires a string 'statement'",
                        ),
                    },
                    _ => {}
                }
            }
        }
    }

    fn language_content(&mut self, map: &Map<String, Value>, path: &str) {
        let Some(Value::Object(contents)) = map.get("contents") else {
            return;
        };
        let cp = child(path, "contents");
        for (lang, v) in contents {
            let lp = child(&cp, lang);
            if !is_language_tag(lang) {
                self.err(&lp, format!("'{lang}' is not an RFC 5646 language tag"));
            }
            match v {
                Value::Object(props) => {
                    for k in props.keys() {
                        if !PROP_NAME_RE.is_match(k) {
                            self.err(
                                &child(&lp, k),
                                format!("'{k}' is not a valid property name"),
                            );
                        }
                    }
                }
                other => self.err(
                    &lp,
                    format!(
                        "expected a dictionary of translated properties, found {}",
                        json_kind(other)
                    ),
                ),
            }
        }
    }

    fn extension_definition(&mut self, map: &Map<String, Value>, path: &str) {
        let tp = child(path, "extension_types");
        let mut types: Vec<&str> = Vec::new();
        match map.get("extension_types") {
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(t) if vocab::EXTENSION_TYPES.contains(&t) => types.push(t),
                        _ => self.err(
                            &format!("{tp}[{i}]"),
                            format!("expected one of: {}", vocab::EXTENSION_TYPES.join(", ")),
                        ),
                    }
                }
            }
            Some(_) => self.err(&tp, "expected a non-empty list of extension types"),
            None => {}
        }
        if map.contains_key("extension_properties")
            && !types.contains(&"toplevel-property-extension")
        {
            self.err(&child(path, "extension_properties"), "'extension_properties' is only allowed with the 'toplevel-property-extension' extension type");
        }
    }

    fn extensions(
        &mut self,
        exts: &Map<String, Value>,
        p: &str,
        ty: &str,
        is_sco: bool,
        ctx: Context<'_>,
    ) {
        if exts.is_empty() {
            self.err(p, "'extensions' must not be an empty dictionary");
        }
        for (name, ext) in exts {
            let ep = child(p, name);
            let Value::Object(ext) = ext else {
                self.err(
                    &ep,
                    format!("expected an extension object, found {}", json_kind(ext)),
                );
                continue;
            };
            if let Some(rest) = name.strip_prefix("extension-definition--") {
                if split_id(name).is_none() || rest.is_empty() {
                    self.err(&ep, format!("'{name}' is not an extension-definition id"));
                }
                match ext.get("extension_type") {
                    Some(Value::String(t)) if vocab::EXTENSION_TYPES.contains(&t.as_str()) => {
                        let custom = category_of(ty) == Category::Custom;
                        let ok = match t.as_str() {
                            "new-sdo" | "new-sco" | "new-sro" => custom,
                            _ => true,
                        };
                        if !ok {
                            self.err(&child(&ep, "extension_type"), format!("'{t}' extensions define new object types; '{ty}' is a STIX type"));
                        }
                    }
                    Some(Value::String(t)) => self.err(&child(&ep, "extension_type"), format!("'{t}' is not one of: {}", vocab::EXTENSION_TYPES.join(", "))),
                    Some(other) => self.err(&child(&ep, "extension_type"), format!("expected a string, found {}", json_kind(other))),
                    None => self.warn(&child(&ep, "extension_type"), "an extension keyed by an extension-definition id should say its 'extension_type'"),
                }
                for (k, v) in ext {
                    if k != "extension_type" && !PROP_NAME_RE.is_match(k) && k != "id" {
                        self.err(
                            &child(&ep, k),
                            format!("'{k}' is not a valid property name"),
                        );
                    }
                    if let Value::Array(items) = v {
                        if items.is_empty() {
                            self.err(&child(&ep, k), "a list property must not be empty");
                        }
                    }
                }
                continue;
            }
            if !is_sco {
                self.err(&ep, format!("'{name}' is not an extension-definition id: only cyber-observables have predefined '-ext' extensions"));
                continue;
            }
            if !EXT_NAME_RE.is_match(name) {
                self.err(&ep, format!("'{name}' is not an extension name: expected 'extension-definition--UUID' or a name ending in '-ext'"));
                continue;
            }
            match SCO_EXTENSIONS
                .iter()
                .find(|(t, s)| s.name == name.as_str() && *t == ty)
            {
                Some((_, spec)) => {
                    for r in spec.required {
                        if !ext.contains_key(*r) {
                            self.err(
                                &child(&ep, r),
                                format!("required property '{r}' is missing"),
                            );
                        }
                    }
                    for (k, v) in ext {
                        match spec.kind(k) {
                            Some(kind) => self.value(v, &child(&ep, k), kind, ctx),
                            None => self.custom_property(k, v, &child(&ep, k)),
                        }
                    }
                    if spec.name == "windows-pebinary-ext" {
                        if let Some(Value::Object(oh)) = ext.get("optional_header") {
                            for (k, v) in oh {
                                if k.ends_with("_hex") {
                                    self.value(
                                        v,
                                        &child(&child(&ep, "optional_header"), k),
                                        Hex,
                                        ctx,
                                    );
                                }
                            }
                        }
                    }
                    if spec.name == "socket-ext" {
                        if let Some(Value::Object(opts)) = ext.get("options") {
                            for (k, v) in opts {
                                let kp = child(&child(&ep, "options"), k);
                                if !(k.starts_with("SO_")
                                    || k.starts_with("IP_")
                                    || k.starts_with("MCAST_")
                                    || k.starts_with("IPV6_")
                                    || k.starts_with("TCP_"))
                                {
                                    self.warn(
                                        &kp,
                                        format!(
                                            "'{k}' is not a socket option name (SO_*, IP_*, …)"
                                        ),
                                    );
                                }
                                if !v.is_i64() && !v.is_u64() {
                                    self.err(
                                        &kp,
                                        format!("expected an integer, found {}", json_kind(v)),
                                    );
                                }
                            }
                        }
                    }
                }
                None => {
                    if SCO_EXTENSIONS.iter().any(|(_, s)| s.name == name.as_str()) {
                        self.err(&ep, format!("'{name}' is not an extension of '{ty}'"));
                    } else {
                        self.warn(&ep, format!("'{name}' is not a predefined extension: define it with an extension-definition"));
                    }
                }
            }
        }
    }

    fn sco_id_rules(&mut self, map: &Map<String, Value>, path: &str, ty: &str) {
        let Some(Value::String(id)) = map.get("id") else {
            return;
        };
        let Some((_, uuid)) = split_id(id) else {
            return;
        };
        let contributing = sco_id::id_contributing_properties(ty).unwrap_or(&[]);
        let any_present = contributing.iter().any(|k| map.contains_key(*k));
        if ty == "process"
            || (!any_present
                && matches!(
                    ty,
                    "artifact"
                        | "email-message"
                        | "user-account"
                        | "windows-registry-key"
                        | "x509-certificate"
                ))
        {
            if uuid.get_version_num() != 4 {
                self.err(
                    &child(path, "id"),
                    format!(
                        "'{id}' must use a UUIDv4: this object has no ID contributing properties"
                    ),
                );
            }
            return;
        }
        match sco_id::sco_id(ty, map) {
            Some(expected) if expected != *id => self.warn(
                &child(path, "id"),
                format!("'{id}' is not the deterministic id of this {ty}: expected '{expected}' (UUIDv5 of its ID contributing properties)"),
            ),
            _ => {}
        }
    }
}

/// A custom object is SCO-like when an extension defines it as `new-sco`, or it
/// has no `created` (SDO-like custom objects must have one).
fn custom_is_sco(map: &Map<String, Value>) -> bool {
    if let Some(Value::Object(exts)) = map.get("extensions") {
        for ext in exts.values() {
            match ext.get("extension_type").and_then(Value::as_str) {
                Some("new-sco") => return true,
                Some("new-sdo" | "new-sro") => return false,
                _ => {}
            }
        }
    }
    false
}

/// A light check of a STIX pattern: the lexical structure (single-quoted
/// strings, balanced brackets) and the names in object paths. The full grammar
/// lives in `liaison-pattern`.
fn stix_pattern_problems(pattern: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let b = pattern.as_bytes();
    let mut depth: i64 = 0;
    let mut i = 0;
    let mut outside = String::with_capacity(pattern.len());
    while i < b.len() {
        match b[i] {
            b'\'' => {
                // A string literal (with b/h/t prefixes handled by the caller's grammar).
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if i >= b.len() {
                    problems.push("unterminated string literal in the pattern".to_string());
                    return problems;
                }
                outside.push_str(" '' ");
            }
            b'"' => {
                problems.push(format!(
                    "unexpected '\"' at offset {i}: pattern strings use single quotes"
                ));
                return problems;
            }
            b'[' | b'(' => {
                depth += 1;
                outside.push(b[i] as char);
            }
            b']' | b')' => {
                depth -= 1;
                if depth < 0 {
                    problems.push(format!("unbalanced '{}' at offset {i}", b[i] as char));
                    return problems;
                }
                outside.push(b[i] as char);
            }
            c => outside.push(c as char),
        }
        i += 1;
    }
    if depth != 0 {
        problems.push("unbalanced brackets in the pattern".to_string());
    }
    if !pattern.trim_start().starts_with('[') && !pattern.trim_start().starts_with('(') {
        problems.push("a STIX pattern must start with an observation expression '[…]'".to_string());
    }
    static PATH_RE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?:^|[\[\s(])([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)"));
    for c in PATH_RE.captures_iter(&outside) {
        let (ty, prop) = (&c[1], &c[2]);
        if ty.len() < 3 || ty.len() > 250 || !TYPE_RE.is_match(ty) {
            problems.push(format!(
                "'{ty}' is not a valid observable type name in the pattern"
            ));
        }
        if prop != "id" && (prop.len() < 3 || !PROP_NAME_RE.is_match(prop)) {
            problems.push(format!(
                "'{prop}' is not a valid observable property name in the pattern"
            ));
        }
    }
    problems
}

fn has_millis(ts: &str) -> bool {
    // ...THH:MM:SS.sss[s…]Z
    match ts.rfind('.') {
        Some(dot) => {
            ts.len() >= dot + 5
                && ts[dot + 1..ts.len() - 1]
                    .bytes()
                    .all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn is_ipv6(v: &str) -> bool {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    if addr.parse::<std::net::Ipv6Addr>().is_err() {
        return false;
    }
    match prefix {
        None => true,
        Some(p) => {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && !(p.len() > 1 && p.starts_with('0'))
                && p.parse::<u8>().is_ok_and(|n| n <= 128)
        }
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
}

/// Follow a granular-marking selector through an object.
fn resolve_selector(obj: &Map<String, Value>, selector: &str) -> Result<(), String> {
    let mut cur: Option<&Value> = None;
    for (i, seg) in selector.split('.').enumerate() {
        let next = if let Some(idx) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let n: usize = idx
                .parse()
                .map_err(|_| format!("'{seg}' is not an index"))?;
            match cur {
                Some(Value::Array(items)) => items
                    .get(n)
                    .ok_or_else(|| format!("index {n} is out of range"))?,
                _ => return Err(format!("'{seg}' indexes something that is not a list")),
            }
        } else if i == 0 {
            obj.get(seg)
                .ok_or_else(|| format!("'{seg}' is not a property"))?
        } else {
            match cur {
                Some(Value::Object(m)) => m
                    .get(seg)
                    .ok_or_else(|| format!("'{seg}' is not a property"))?,
                _ => return Err(format!("'{seg}' is not a property")),
            }
        };
        cur = Some(next);
    }
    Ok(())
}

/// All SCO type names, for callers building their own rules.
pub fn sco_types() -> &'static [&'static str] {
    SCO_TYPES
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(v: Value) -> Vec<String> {
        validate_value(&v)
            .into_iter()
            .filter(|e| e.severity == Severity::Error)
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect()
    }

    #[test]
    fn builtin_patterns_compile() {
        for r in [
            &*TYPE_RE,
            &*PROP_NAME_RE,
            &*TIMESTAMP_RE,
            &*SELECTOR_RE,
            &*EXT_NAME_RE,
            &*HASH_KEY_RE,
            &*IPV4_RE,
            &*MAC_RE,
            &*CVE_RE,
            &*CAPEC_RE,
            &*LANG_TAG_RE,
            &*URL_RE,
            &*EMAIL_RE,
            &*CHARSET_RE,
            &*MIME_RE,
            &*BASE64_RE,
            &*SSDEEP_RE,
            &*CPE_RE,
        ] {
            assert!(!r.as_str().is_empty());
        }
    }

    #[test]
    fn valid_sco_and_ids() {
        let ok = json!({"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", "value": "198.51.100.3"});
        assert_eq!(errs(ok.clone()), Vec::<String>::new());
        assert!(validate_value(&ok).is_empty());
        let bad = json!({"type": "ipv4-addr", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", "value": "999.1.1.1"});
        assert_eq!(errs(bad).len(), 1);
        let wrong_prefix = json!({"type": "ipv4-addr", "id": "file--28bb3599-77cd-5a82-a950-b5bc3caf07c4", "value": "1.1.1.1"});
        assert!(errs(wrong_prefix)[0].starts_with("$.id"));
        let not_det = json!({"type": "ipv4-addr", "id": "ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "value": "1.1.1.1"});
        let all = validate_value(&not_det);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].severity, Severity::Warning);
    }

    #[test]
    fn hashes_and_refs() {
        let f = json!({"type": "file", "id": "file--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "hashes": {"MD": "x"}, "parent_directory_ref": "file--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"});
        let e = errs(f);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("$.hashes.MD"));
        assert!(e[1].contains("'directory'"));
    }

    #[test]
    fn selectors_resolve() {
        let base = json!({"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z", "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix",
            "valid_from": "2016-01-01T00:00:00Z", "external_references": [{"source_name": "x", "url": "https://x"}],
            "granular_markings": [{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["external_references.[0].url", "pattern"]}]});
        assert_eq!(errs(base.clone()), Vec::<String>::new());
        let mut bad = base;
        bad["granular_markings"][0]["selectors"] = json!(["external_references.[1].url"]);
        assert_eq!(errs(bad).len(), 1);
    }
}
