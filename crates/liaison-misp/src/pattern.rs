//! Building STIX patterns from MISP values.

/// A value as a STIX pattern string literal body: `\` and `'` escaped.
///
/// ```
/// assert_eq!(liaison_misp::escape_pattern_value(r"it's C:\x"), r"it\'s C:\\x");
/// ```
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `path = 'value'`.
pub(crate) fn cmp(path: &str, value: &str) -> String {
    format!("{path} = '{}'", escape(value))
}

/// The comparisons joined into one observation expression.
pub(crate) fn observation(comparisons: &[String]) -> String {
    format!("[{}]", comparisons.join(" AND "))
}

/// The STIX `hashes` key of a MISP hash type (`sha256` → `SHA-256`).
pub(crate) fn hash_key(misp_type: &str) -> Option<&'static str> {
    Some(match misp_type {
        "md5" => "MD5",
        "sha1" => "SHA-1",
        "sha224" => "SHA224",
        "sha256" => "SHA-256",
        "sha384" => "SHA384",
        "sha512" => "SHA-512",
        "sha512/224" => "SHA512/224",
        "sha512/256" => "SHA512/256",
        "sha3-224" => "SHA3-224",
        "sha3-256" => "SHA3-256",
        "sha3-384" => "SHA3-384",
        "sha3-512" => "SHA3-512",
        "ssdeep" => "SSDEEP",
        "tlsh" => "TLSH",
        "imphash" => "IMPHASH",
        "impfuzzy" => "IMPFUZZY",
        "authentihash" => "AUTHENTIHASH",
        "vhash" => "VHASH",
        "pehash" => "PEHASH",
        "telfhash" => "TELFHASH",
        "cdhash" => "CDHASH",
        _ => return None,
    })
}

/// `hashes.MD5` or `hashes.'SHA-256'`: keys that are not plain identifiers are quoted.
pub(crate) fn hash_path(prefix: &str, key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{prefix}hashes.{key}")
    } else {
        format!("{prefix}hashes.'{key}'")
    }
}
