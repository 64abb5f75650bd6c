//! The STIX 2.1 object types and their categories.

/// The four kinds of STIX object, plus the meta objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// STIX Domain Object (attack-pattern, indicator, …).
    Sdo,
    /// STIX Cyber-observable Object (ipv4-addr, file, …).
    Sco,
    /// STIX Relationship Object (relationship, sighting).
    Sro,
    /// marking-definition, language-content, extension-definition.
    Meta,
    /// A type this crate does not know (custom `x-` types among them).
    Custom,
}

/// STIX 2.1 domain object types.
pub const SDO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

/// STIX 2.1 cyber-observable object types.
pub const SCO_TYPES: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// STIX 2.1 relationship object types.
pub const SRO_TYPES: &[&str] = &["relationship", "sighting"];

/// STIX 2.1 meta object types.
pub const META_TYPES: &[&str] = &[
    "marking-definition",
    "language-content",
    "extension-definition",
];

/// The category of a type name.
///
/// ```
/// use liaison_stix::{category_of, Category};
/// assert_eq!(category_of("ipv4-addr"), Category::Sco);
/// assert_eq!(category_of("x-liaison-task"), Category::Custom);
/// ```
pub fn category_of(type_name: &str) -> Category {
    if SDO_TYPES.contains(&type_name) {
        Category::Sdo
    } else if SCO_TYPES.contains(&type_name) {
        Category::Sco
    } else if SRO_TYPES.contains(&type_name) {
        Category::Sro
    } else if META_TYPES.contains(&type_name) {
        Category::Meta
    } else {
        Category::Custom
    }
}
