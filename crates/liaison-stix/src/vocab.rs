//! Closed vocabularies and formats of STIX 2.1 used by validation.

/// Extension types of an extension definition (`extension-type-enum`).
pub const EXTENSION_TYPES: &[&str] = &[
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];

/// `opinion` values (`opinion-enum`).
pub const OPINIONS: &[&str] = &[
    "strongly-disagree",
    "disagree",
    "neutral",
    "agree",
    "strongly-agree",
];

/// Artifact `encryption_algorithm` values (`encryption-algorithm-enum`).
pub const ENCRYPTION_ALGORITHMS: &[&str] =
    &["AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"];

/// Windows registry value data types (`windows-registry-datatype-enum`).
pub const REGISTRY_DATATYPES: &[&str] = &[
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
    "REG_INVALID_TYPE",
];

/// Windows registry hives a `key` must start with (full names; abbreviations
/// such as `HKLM` are not allowed).
pub const REGISTRY_HIVES: &[&str] = &[
    "HKEY_LOCAL_MACHINE",
    "HKEY_CURRENT_USER",
    "HKEY_CLASSES_ROOT",
    "HKEY_CURRENT_CONFIG",
    "HKEY_PERFORMANCE_DATA",
    "HKEY_USERS",
    "HKEY_DYN_DATA",
];

/// Top-level media types an artifact `mime_type` may have (IANA).
pub const MEDIA_TYPES: &[&str] = &[
    "application",
    "audio",
    "font",
    "example",
    "image",
    "message",
    "model",
    "multipart",
    "text",
    "video",
];

/// The hash algorithms STIX names (`hash-algorithm-ov`) and the length of their
/// hex value, where fixed.
pub const HASH_ALGORITHMS: &[(&str, Option<usize>)] = &[
    ("MD5", Some(32)),
    ("SHA-1", Some(40)),
    ("SHA-256", Some(64)),
    ("SHA-512", Some(128)),
    ("SHA3-256", Some(64)),
    ("SHA3-512", Some(128)),
    ("SSDEEP", None),
    ("TLSH", Some(70)),
];

/// Reserved property names no object may use.
pub const RESERVED_PROPERTIES: &[&str] = &["severity", "action", "username", "phone_numbers"];

/// Reserved type names.
pub const RESERVED_TYPES: &[&str] = &["action"];

/// The STIX 2.1 predefined TLP 1.0 marking definitions: level and id.
pub const TLP1_MARKINGS: &[(&str, &str)] = &[
    (
        "white",
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    ),
    (
        "green",
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    ),
    (
        "amber",
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    ),
    (
        "red",
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    ),
];

/// ISO 639-1 two-letter language codes, for `lang` and language tags.
pub const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// Common character-set names registered with IANA (preferred MIME names and
/// frequent aliases), for `name_enc` / `path_enc`.
pub const CHARSETS: &[&str] = &[
    "US-ASCII",
    "ASCII",
    "ISO-8859-1",
    "ISO-8859-2",
    "ISO-8859-3",
    "ISO-8859-4",
    "ISO-8859-5",
    "ISO-8859-6",
    "ISO-8859-7",
    "ISO-8859-8",
    "ISO-8859-9",
    "ISO-8859-10",
    "ISO-8859-13",
    "ISO-8859-14",
    "ISO-8859-15",
    "ISO-8859-16",
    "UTF-8",
    "UTF-16",
    "UTF-16BE",
    "UTF-16LE",
    "UTF-32",
    "UTF-32BE",
    "UTF-32LE",
    "UTF-7",
    "Shift_JIS",
    "EUC-JP",
    "EUC-KR",
    "ISO-2022-JP",
    "ISO-2022-KR",
    "ISO-2022-CN",
    "GB2312",
    "GBK",
    "GB18030",
    "Big5",
    "Big5-HKSCS",
    "KOI8-R",
    "KOI8-U",
    "windows-1250",
    "windows-1251",
    "windows-1252",
    "windows-1253",
    "windows-1254",
    "windows-1255",
    "windows-1256",
    "windows-1257",
    "windows-1258",
    "IBM437",
    "IBM850",
    "IBM852",
    "IBM866",
    "macintosh",
    "TIS-620",
    "CESU-8",
    "SCSU",
    "BOCU-1",
    "latin1",
];

/// Common ISO 639-2 three-letter codes (bibliographic and terminology forms),
/// accepted for backward compatibility in language tags.
pub const ISO_639_2_COMMON: &[&str] = &[
    "afr", "alb", "amh", "ara", "arm", "aze", "baq", "bel", "ben", "bos", "bul", "cat", "ces",
    "chi", "cym", "cze", "dan", "deu", "dut", "ell", "eng", "est", "eus", "fas", "fin", "fra",
    "fre", "geo", "ger", "gle", "glg", "gre", "guj", "hau", "heb", "hin", "hrv", "hun", "hye",
    "ibo", "ice", "ind", "isl", "ita", "jpn", "kan", "kat", "kaz", "kor", "kur", "lat", "lav",
    "lit", "mac", "mal", "mar", "may", "mkd", "mlt", "mon", "msa", "nep", "nld", "nor", "pan",
    "per", "pol", "por", "pus", "ron", "rum", "rus", "sin", "slk", "slo", "slv", "som", "spa",
    "sqi", "srp", "swa", "swe", "tam", "tel", "tgl", "tha", "tur", "ukr", "urd", "uzb", "vie",
    "wel", "xho", "yor", "zho", "zul",
];
