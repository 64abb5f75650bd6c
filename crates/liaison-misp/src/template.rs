//! The MISP object templates that become one main observable, as a table:
//! template → STIX type, and for each attribute relation the property path
//! it lands on (with the MISP attribute type, so the table serves both
//! directions). What a table cannot say (observables that refer to other
//! observables: addresses, parent processes, attached artifacts) is a hook
//! in `object.rs`, named by the template's entry.

use serde_json::{Map, Value};

/// How a MISP value becomes the value of a STIX property.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// The value as a string.
    Str,
    /// A non-negative integer; a value that is not one is left to the
    /// `x_misp_*` properties.
    Count,
    /// An integer; a value that is not one is left to `x_misp_*`.
    Int,
    /// An integer when it is one, else the string.
    IntOrStr,
    /// A number; a value that is not one is left to `x_misp_*`.
    Float,
    /// `True`/`1` or `False`/`0`; anything else is left to `x_misp_*`.
    Bool,
    /// Every value of the relation, as a list.
    List,
    /// Every value of the relation, lowercased, as a list (language tags:
    /// case-insensitive by RFC 5646, lowercase by STIX's schema).
    LowerList,
    /// `AS1234` → 1234; anything else is an error (the object is kept as MISP data).
    Asn,
    /// A port number; anything else is an error.
    Port,
    /// A registry key with its hive spelled out (`HKLM` → `HKEY_LOCAL_MACHINE`).
    RegKey,
}

/// Where an attribute's comparison goes in the object's pattern.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Pat {
    /// The property path itself.
    Same,
    /// No comparison (properties MISP's export leaves out of patterns).
    Off,
    /// Another path (already in pattern syntax), as misp-stix writes it.
    At(&'static str),
}

/// One attribute relation of a template.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    /// The attribute's `object_relation`.
    pub rel: &'static str,
    /// The MISP attribute type it has (for STIX → MISP).
    pub misp: &'static str,
    /// The property path in the observable: steps joined by dots.
    pub path: &'static str,
    pub kind: Kind,
    pub pat: Pat,
}

const fn f(rel: &'static str, misp: &'static str, path: &'static str) -> Field {
    Field {
        rel,
        misp,
        path,
        kind: Kind::Str,
        pat: Pat::Same,
    }
}

impl Field {
    const fn kind(mut self, kind: Kind) -> Field {
        self.kind = kind;
        self
    }
    const fn pat(mut self, pat: Pat) -> Field {
        self.pat = pat;
        self
    }
    /// A field MISP's export leaves out of patterns.
    const fn quiet(self) -> Field {
        self.pat(Pat::Off)
    }
}

/// When a template yields no observable (the object is then converted by
/// the SDO templates or kept as `x-misp-object`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Needs {
    Nothing,
    /// Without an attribute of this relation.
    Rel(&'static str),
    /// When the observable got no property at all.
    AnyProperty,
    /// When the observable has none of these properties.
    AnyOf(&'static [&'static str]),
}

/// Where attributes the table does not name go (as `x_misp_*` properties).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Rest {
    /// On the main observable, compared when for IDS.
    Main,
    /// On the main observable, never compared (network traffic: its host
    /// names are compared as destinations by the hook instead).
    Quiet,
    /// Inside the object at this path of the main observable (an extension).
    At(&'static str),
}

/// The structural part of a template, done in code (see `object.rs`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Hook {
    None,
    Artifact,
    Email,
    File,
    HttpRequest,
    Image,
    IpPort,
    Netflow,
    NetworkConnection,
    NetworkSocket,
    Pe,
    Process,
    Registry,
}

/// One template.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Template {
    pub name: &'static str,
    /// The STIX type of the main observable (its id takes the object's UUID).
    pub ty: &'static str,
    pub fields: &'static [Field],
    /// Relations that are hashes (`md5`, `sha256`, …) after this prefix
    /// land in `hashes`.
    pub hashes: Option<&'static str>,
    /// Constant properties (`account_type` of the social-network accounts),
    /// compared when any attribute is for IDS.
    pub fixed: &'static [(&'static str, &'static str)],
    pub needs: Needs,
    pub rest: Rest,
    pub hook: Hook,
    /// Relations known to stay `x_misp_*` properties, with their MISP types
    /// (only the way back needs them: the property name alone says neither
    /// the type nor the relation's case).
    pub also: &'static [(&'static str, &'static str)],
}

const fn t(name: &'static str, ty: &'static str, fields: &'static [Field]) -> Template {
    Template {
        name,
        ty,
        fields,
        hashes: None,
        fixed: &[],
        needs: Needs::Nothing,
        rest: Rest::Main,
        hook: Hook::None,
        also: &[],
    }
}

impl Template {
    const fn hashes(mut self, prefix: &'static str) -> Template {
        self.hashes = Some(prefix);
        self
    }
    const fn needs(mut self, needs: Needs) -> Template {
        self.needs = needs;
        self
    }
    const fn rest(mut self, rest: Rest) -> Template {
        self.rest = rest;
        self
    }
    const fn hook(mut self, hook: Hook) -> Template {
        self.hook = hook;
        self
    }
    const fn account(mut self, account_type: &'static [(&'static str, &'static str)]) -> Template {
        self.fixed = account_type;
        self
    }
    const fn also(mut self, also: &'static [(&'static str, &'static str)]) -> Template {
        self.also = also;
        self
    }
}

/// The PE extension of a file, as a path prefix.
pub(crate) const PE_EXT: &str = "extensions.windows-pebinary-ext";

/// `pe` attributes, relative to the file that carries the extension.
pub(crate) const PE_FIELDS: &[Field] = &[
    f("type", "text", "extensions.windows-pebinary-ext.pe_type"),
    f(
        "imphash",
        "imphash",
        "extensions.windows-pebinary-ext.imphash",
    ),
    f(
        "number-sections",
        "counter",
        "extensions.windows-pebinary-ext.number_of_sections",
    )
    .kind(Kind::Count),
    f(
        "entrypoint-address",
        "text",
        "extensions.windows-pebinary-ext.optional_header.address_of_entry_point",
    )
    .kind(Kind::Count),
    f(
        "compilation-timestamp",
        "datetime",
        "extensions.windows-pebinary-ext.x_misp_compilation_timestamp",
    ),
    f(
        "company-name",
        "text",
        "extensions.windows-pebinary-ext.x_misp_company_name",
    ),
    f(
        "file-description",
        "text",
        "extensions.windows-pebinary-ext.x_misp_file_description",
    ),
    f(
        "file-version",
        "text",
        "extensions.windows-pebinary-ext.x_misp_file_version",
    ),
    f(
        "impfuzzy",
        "impfuzzy",
        "extensions.windows-pebinary-ext.x_misp_impfuzzy",
    ),
    f(
        "internal-filename",
        "filename",
        "extensions.windows-pebinary-ext.x_misp_internal_filename",
    ),
    f(
        "lang-id",
        "text",
        "extensions.windows-pebinary-ext.x_misp_lang_id",
    ),
    f(
        "legal-copyright",
        "text",
        "extensions.windows-pebinary-ext.x_misp_legal_copyright",
    ),
    f(
        "original-filename",
        "filename",
        "extensions.windows-pebinary-ext.x_misp_original_filename",
    ),
    f(
        "product-name",
        "text",
        "extensions.windows-pebinary-ext.x_misp_product_name",
    ),
    f(
        "product-version",
        "text",
        "extensions.windows-pebinary-ext.x_misp_product_version",
    ),
];

/// `pe-section` attributes, relative to one entry of the extension's `sections`.
pub(crate) const PE_SECTION_FIELDS: &[Field] = &[
    f("name", "text", "name"),
    f("size-in-bytes", "size-in-bytes", "size").kind(Kind::Count),
    f("entropy", "float", "entropy").kind(Kind::Float),
];

/// The `parent-*` attributes of a process, relative to the parent process.
pub(crate) const PARENT_PROCESS_FIELDS: &[Field] = &[
    f("parent-pid", "text", "pid").kind(Kind::Count),
    f("parent-command-line", "text", "command_line"),
    f("parent-process-name", "text", "x_misp_process_name"),
];

const UNIX_ACCOUNT: [Field; 4] = [
    f("group-id", "text", "extensions.unix-account-ext.gid")
        .kind(Kind::Int)
        .quiet(),
    f("group", "text", "extensions.unix-account-ext.groups")
        .kind(Kind::List)
        .quiet(),
    f("home_dir", "text", "extensions.unix-account-ext.home_dir").quiet(),
    f("shell", "text", "extensions.unix-account-ext.shell").quiet(),
];

const PORTS: [Field; 2] = [
    f("src-port", "port", "src_port").kind(Kind::Port),
    f("dst-port", "port", "dst_port").kind(Kind::Port),
];

/// Every template with a main observable (`domain-ip`, whose observables are
/// all alike, and the SDO templates are converted elsewhere).
pub(crate) const TEMPLATES: &[Template] = &[
    t(
        "artifact",
        "artifact",
        &[
            f("mime_type", "mime-type", "mime_type"),
            f("url", "url", "url"),
            f("encryption_algorithm", "text", "encryption_algorithm"),
            f("decryption_key", "text", "decryption_key"),
        ],
    )
    .hashes("")
    .needs(Needs::AnyOf(&["payload_bin", "url"]))
    .hook(Hook::Artifact),
    t(
        "asn",
        "autonomous-system",
        &[
            f("asn", "AS", "number").kind(Kind::Asn),
            f("description", "text", "name"),
            f("subnet-announced", "ip-src", "x_misp_subnet_announced").kind(Kind::List),
        ],
    )
    .needs(Needs::Rel("asn")),
    t(
        "email",
        "email-message",
        &[
            f("message-id", "email-message-id", "message_id"),
            f("subject", "email-subject", "subject"),
            f("email-body", "email-body", "body"),
            f("send-date", "datetime", "date"),
            f(
                "reply-to",
                "email-reply-to",
                "additional_header_fields.Reply-To",
            )
            .pat(Pat::At("additional_header_fields.reply_to")),
            f(
                "x-mailer",
                "email-x-mailer",
                "additional_header_fields.X-Mailer",
            )
            .pat(Pat::At("additional_header_fields.x_mailer")),
        ],
    )
    .hook(Hook::Email)
    .also(&[("mime-boundary", "email-mime-boundary")]),
    t(
        "file",
        "file",
        &[
            f("size-in-bytes", "size-in-bytes", "size").kind(Kind::Count),
            f("filename", "filename", "name"),
            f("file-encoding", "text", "name_enc"),
            f("mime-type", "mime-type", "mime_type"),
            f("creation-time", "datetime", "ctime"),
            f("modification-time", "datetime", "mtime"),
            f("access-time", "datetime", "atime"),
            f("entropy", "float", "x_misp_entropy"),
        ],
    )
    .hashes("")
    .hook(Hook::File)
    .also(&[
        ("malware-sample", "malware-sample"),
        ("attachment", "attachment"),
    ]),
    t(
        "http-request",
        "network-traffic",
        &[
            f(
                "method",
                "http-method",
                "extensions.http-request-ext.request_method",
            ),
            f("uri", "uri", "extensions.http-request-ext.request_value"),
            // Header values are lists (the OASIS validator insists; misp-stix
            // writes strings).
            f(
                "user-agent",
                "user-agent",
                "extensions.http-request-ext.request_header.User-Agent",
            )
            .kind(Kind::List)
            .pat(Pat::At(
                "extensions.'http-request-ext'.request_header.'User-Agent'[*]",
            )),
            f(
                "content-type",
                "text",
                "extensions.http-request-ext.request_header.Content-Type",
            )
            .kind(Kind::List)
            .pat(Pat::At(
                "extensions.'http-request-ext'.request_header.'Content-Type'[*]",
            )),
            // misp-stix compares the URL as the request value.
            f("url", "url", "x_misp_url")
                .pat(Pat::At("extensions.'http-request-ext'.request_value")),
        ],
    )
    .hook(Hook::HttpRequest),
    t(
        "image",
        "file",
        &[
            f("filename", "filename", "name"),
            f("image-text", "text", "x_misp_image_text"),
        ],
    )
    .needs(Needs::AnyProperty)
    .hook(Hook::Image),
    t(
        "ip-port",
        "network-traffic",
        &[
            f("first-seen", "datetime", "start").quiet(),
            PORTS[0],
            PORTS[1],
        ],
    )
    .rest(Rest::Quiet)
    .hook(Hook::IpPort)
    .also(&[("domain", "domain"), ("hostname", "hostname")]),
    t("mutex", "mutex", &[f("name", "text", "name")]).needs(Needs::Rel("name")),
    t(
        "netflow",
        "network-traffic",
        &[
            PORTS[0],
            PORTS[1],
            f("first-packet-seen", "datetime", "start"),
            f("last-packet-seen", "datetime", "end"),
            f("tcp-flags", "text", "extensions.tcp-ext.src_flags_hex"),
        ],
    )
    .hook(Hook::Netflow),
    t("network-connection", "network-traffic", &PORTS)
        .rest(Rest::Quiet)
        .hook(Hook::NetworkConnection)
        .also(&[("hostname-dst", "hostname"), ("hostname-src", "hostname")]),
    t(
        "network-socket",
        "network-traffic",
        &[
            PORTS[0],
            PORTS[1],
            f(
                "address-family",
                "text",
                "extensions.socket-ext.address_family",
            )
            .quiet(),
            f("socket-type", "text", "extensions.socket-ext.socket_type").quiet(),
        ],
    )
    .rest(Rest::Quiet)
    .hook(Hook::NetworkSocket)
    .also(&[
        ("hostname-dst", "hostname"),
        ("hostname-src", "hostname"),
        ("domain-family", "text"),
    ]),
    t("pe", "file", PE_FIELDS)
        .rest(Rest::At(PE_EXT))
        .hook(Hook::Pe),
    t(
        "process",
        "process",
        &[
            f("pid", "text", "pid").kind(Kind::Count),
            f("command-line", "text", "command_line"),
            f("creation-time", "datetime", "created_time"),
            f("current-directory", "text", "cwd"),
            f("hidden", "boolean", "is_hidden").kind(Kind::Bool),
            f("name", "text", "x_misp_name"),
            f("port", "port", "x_misp_port"),
        ],
    )
    .needs(Needs::AnyProperty)
    .hook(Hook::Process),
    t(
        "registry-key",
        "windows-registry-key",
        &[
            f("key", "regkey", "key").kind(Kind::RegKey),
            f("last-modified", "datetime", "modified_time"),
        ],
    )
    .needs(Needs::AnyProperty)
    .hook(Hook::Registry),
    t(
        "registry-key-value",
        "windows-registry-key",
        &[
            f("key", "regkey", "key").kind(Kind::RegKey),
            f("last-modified", "datetime", "modified_time"),
        ],
    )
    .needs(Needs::AnyProperty)
    .hook(Hook::Registry),
    t("url", "url", &[f("url", "url", "value")])
        .needs(Needs::Rel("url"))
        .also(&[
            ("domain", "domain"),
            ("host", "hostname"),
            ("ip", "ip-dst"),
            ("port", "port"),
        ]),
    t(
        "x509",
        "x509-certificate",
        &[
            f("version", "text", "version"),
            f("serial-number", "text", "serial_number"),
            f("signature_algorithm", "text", "signature_algorithm"),
            f("issuer", "text", "issuer"),
            f("validity-not-before", "datetime", "validity_not_before"),
            f("validity-not-after", "datetime", "validity_not_after"),
            f("subject", "text", "subject"),
            f(
                "pubkey-info-algorithm",
                "text",
                "subject_public_key_algorithm",
            ),
            f("pubkey-info-modulus", "text", "subject_public_key_modulus"),
            f(
                "pubkey-info-exponent",
                "text",
                "subject_public_key_exponent",
            )
            .kind(Kind::IntOrStr),
        ],
    )
    .hashes("x509-fingerprint-"),
    // User accounts.
    t(
        "user-account",
        "user-account",
        &[
            f("user-id", "text", "user_id"),
            f("password", "text", "credential"),
            f("username", "text", "account_login"),
            f("account-type", "text", "account_type"),
            f("display-name", "text", "display_name"),
            f(
                "password_last_changed",
                "datetime",
                "credential_last_changed",
            ),
            UNIX_ACCOUNT[0],
            UNIX_ACCOUNT[1],
            UNIX_ACCOUNT[2],
            UNIX_ACCOUNT[3],
        ],
    )
    .needs(Needs::AnyProperty)
    .also(&[("user-avatar", "attachment")]),
    t(
        "credential",
        "user-account",
        &[
            f("username", "text", "user_id"),
            f("password", "text", "credential"),
            UNIX_ACCOUNT[0],
            UNIX_ACCOUNT[1],
            UNIX_ACCOUNT[2],
            UNIX_ACCOUNT[3],
        ],
    )
    .needs(Needs::AnyProperty),
    t(
        "facebook-account",
        "user-account",
        &[
            f("account-id", "text", "user_id"),
            f("account-name", "text", "account_login"),
        ],
    )
    .account(&[("account_type", "facebook")])
    .also(&[("link", "link"), ("user-avatar", "attachment")]),
    t(
        "github-user",
        "user-account",
        &[
            f("id", "text", "user_id"),
            f("user-fullname", "text", "display_name"),
            f("username", "github-username", "account_login"),
        ],
    )
    .account(&[("account_type", "github")])
    .also(&[
        ("organisation", "github-organisation"),
        ("profile-image", "attachment"),
    ]),
    t(
        "gitlab-user",
        "user-account",
        &[
            f("id", "text", "user_id"),
            f("name", "text", "display_name"),
            f("username", "text", "account_login"),
        ],
    )
    .account(&[("account_type", "gitlab")]),
    t(
        "parler-account",
        "user-account",
        &[
            f("account-id", "text", "user_id"),
            f("account-name", "text", "account_login"),
        ],
    )
    .account(&[("account_type", "parler")])
    .also(&[("human", "boolean"), ("profile-photo", "attachment")]),
    t(
        "reddit-account",
        "user-account",
        &[
            f("account-id", "text", "user_id"),
            f("account-name", "text", "account_login"),
        ],
    )
    .account(&[("account_type", "reddit")])
    .also(&[("account-avatar", "attachment")]),
    t(
        "telegram-account",
        "user-account",
        &[
            f("id", "text", "user_id"),
            f("username", "text", "account_login"),
        ],
    )
    .account(&[("account_type", "telegram")]),
    t(
        "twitter-account",
        "user-account",
        &[
            f("id", "text", "user_id"),
            f("name", "text", "account_login"),
            f("displayed-name", "text", "display_name"),
        ],
    )
    .account(&[("account_type", "twitter")])
    .also(&[("profile-image", "attachment")]),
    // Software and directories.
    t("android-app", "software", &[f("name", "text", "name")])
        .needs(Needs::AnyProperty)
        .also(&[("certificate", "sha1"), ("domain", "domain")]),
    t(
        "cpe-asset",
        "software",
        &[
            f("product", "text", "name"),
            f("cpe", "cpe", "cpe"),
            f("language", "text", "languages").kind(Kind::LowerList),
            f("vendor", "text", "vendor"),
            f("version", "text", "version"),
        ],
    )
    .needs(Needs::AnyProperty),
    t(
        "directory",
        "directory",
        &[
            f("path", "text", "path"),
            f("path-encoding", "text", "path_enc"),
            f("creation-time", "datetime", "ctime"),
            f("modification-time", "datetime", "mtime"),
            f("access-time", "datetime", "atime"),
        ],
    )
    .needs(Needs::AnyProperty),
];

/// Templates that are another template under other relation names:
/// (template, converted as, [(relation, relation it stands for)], relations
/// kept as `x_misp_*` with their MISP types, as `Template::also`).
pub(crate) type Alias = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [(&'static str, &'static str)],
);

pub(crate) const ALIASES: &[Alias] = &[
    (
        "hashlookup",
        "file",
        &[
            ("FileName", "filename"),
            ("FileSize", "size-in-bytes"),
            ("MD5", "md5"),
            ("SHA-1", "sha1"),
            ("SHA-256", "sha256"),
            ("SHA-512", "sha512"),
            ("SSDEEP", "ssdeep"),
            ("TLSH", "tlsh"),
        ],
        &[
            ("KnownMalicious", "text"),
            ("PackageArch", "text"),
            ("PackageDescription", "text"),
            ("PackageMaintainer", "text"),
            ("PackageName", "text"),
            ("PackageRelease", "text"),
            ("PackageVersion", "text"),
            ("source", "text"),
        ],
    ),
    (
        "lnk",
        "file",
        &[
            ("fullpath", "path"),
            ("lnk-creation-time", "creation-time"),
            ("lnk-modification-time", "modification-time"),
            ("lnk-access-time", "access-time"),
        ],
        &[("malware-sample", "malware-sample")],
    ),
];

/// Objects folded into the observable of the object that refers to them,
/// as MISP's export does: (referring template, relationship, folded template).
pub(crate) const ABSORBED: &[(&str, &str, &str)] = &[
    ("registry-key", "contains", "registry-key-value"),
    ("file", "includes", "pe"),
    ("pe", "includes", "pe-section"),
];

/// The table entry of a template.
pub(crate) fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// A property path in pattern syntax: steps that are not plain identifiers
/// are quoted (`extensions.'windows-pebinary-ext'.imphash`).
pub(crate) fn pattern_path(path: &str) -> String {
    path.split('.')
        .map(|step| {
            if step.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                step.to_string()
            } else {
                format!("'{step}'")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Set a property at a path, making the objects on the way.
pub(crate) fn set_path(m: &mut Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        None => {
            m.insert(path.to_string(), v);
        }
        Some((head, tail)) => {
            let inner = m
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !inner.is_object() {
                *inner = Value::Object(Map::new());
            }
            if let Value::Object(inner) = inner {
                set_path(inner, tail, v);
            }
        }
    }
}

/// The object at a path, made when missing.
pub(crate) fn object_at<'m>(
    m: &'m mut Map<String, Value>,
    path: &str,
) -> &'m mut Map<String, Value> {
    let mut cur = m;
    for step in path.split('.') {
        let next = cur
            .entry(step.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        cur = match next {
            Value::Object(o) => o,
            _ => unreachable!("made an object just above"),
        };
    }
    cur
}

/// The property at a path.
pub(crate) fn get_path<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |cur, step| cur.get(step))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn template_names_are_unique_and_relations_unique_per_template() {
        let mut names = std::collections::HashSet::new();
        for t in TEMPLATES {
            assert!(names.insert(t.name), "{} twice", t.name);
            let mut rels = std::collections::HashSet::new();
            for f in t.fields {
                assert!(rels.insert(f.rel), "{}: {} twice", t.name, f.rel);
                assert!(
                    crate::is_known_type(f.misp),
                    "{}: {} has unknown MISP type {}",
                    t.name,
                    f.rel,
                    f.misp
                );
            }
            for (rel, ty) in t.also {
                assert!(rels.insert(rel), "{}: {rel} both mapped and kept", t.name);
                assert!(crate::is_known_type(ty), "{}: {rel}: {ty}", t.name);
            }
        }
        for (name, target, _, also) in ALIASES {
            assert!(template(target).is_some(), "{name} stands for {target}");
            for (_, ty) in *also {
                assert!(crate::is_known_type(ty), "{name}: {ty}");
            }
        }
    }

    #[test]
    fn paths_quote_steps_that_are_not_identifiers() {
        assert_eq!(
            pattern_path("extensions.windows-pebinary-ext.imphash"),
            "extensions.'windows-pebinary-ext'.imphash"
        );
        assert_eq!(pattern_path("hashes.SHA-256"), "hashes.'SHA-256'");
        let mut m = Map::new();
        set_path(&mut m, "a.b-c.d", json!(1));
        set_path(&mut m, "a.e", json!(2));
        assert_eq!(
            Value::Object(m.clone()),
            json!({"a": {"b-c": {"d": 1}, "e": 2}})
        );
        assert_eq!(get_path(&Value::Object(m), "a.b-c.d"), Some(&json!(1)));
    }
}
