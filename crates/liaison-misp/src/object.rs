//! MISP objects (templates: file, domain-ip, ip-port, email, url, x509,
//! registry-key, …) → one observed-data with its observables and, when any
//! attribute is for IDS, one indicator whose pattern joins the attributes.

use crate::attribute::{ip_type, parse_asn, parse_port};
use crate::pattern::{cmp, hash_key, hash_path, observation};
use crate::to_stix::{epoch, misp_bool, text, Ctx};
use crate::types::default_to_ids;
use serde_json::{json, Map, Value};

/// One attribute of an object, as the converters need it.
#[derive(Clone)]
pub(crate) struct ObjAttr {
    pub relation: String,
    pub ty: String,
    pub value: String,
    pub uuid: String,
    pub to_ids: bool,
    pub data: Option<String>,
}

fn sco(ty: &str, uuid: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!(ty));
    m.insert("spec_version".into(), json!("2.1"));
    m.insert("id".into(), json!(format!("{ty}--{uuid}")));
    m
}

fn id_of(m: &Map<String, Value>) -> String {
    m["id"].as_str().unwrap_or_default().to_string()
}

/// The observables of a template and the comparisons of its pattern. Only
/// attributes marked for IDS contribute comparisons, as in MISP's own export.
#[derive(Default)]
struct Built {
    scos: Vec<Map<String, Value>>,
    comparisons: Vec<String>,
}

impl Built {
    fn cmp(&mut self, a: &ObjAttr, path: &str, value: &str) {
        if a.to_ids {
            self.comparisons.push(cmp(path, value));
        }
    }
}

fn attrs_of<'a>(attrs: &'a [ObjAttr], rel: &'a str) -> impl Iterator<Item = &'a ObjAttr> + 'a {
    attrs.iter().filter(move |a| a.relation == rel)
}

fn first<'a>(attrs: &'a [ObjAttr], rel: &str) -> Option<&'a ObjAttr> {
    attrs.iter().find(|a| a.relation == rel)
}

fn x_key(relation: &str) -> String {
    format!(
        "x_misp_{}",
        relation.to_ascii_lowercase().replace(['-', ' ', '.'], "_")
    )
}

/// The attributes with their relations renamed (templates that are a file
/// under other names).
fn renamed(attrs: &[ObjAttr], names: &[(&str, &str)]) -> Vec<ObjAttr> {
    attrs
        .iter()
        .map(|a| {
            let mut a = a.clone();
            if let Some((_, to)) = names.iter().find(|(from, _)| *from == a.relation) {
                a.relation = (*to).to_string();
            }
            a
        })
        .collect()
}

/// Attributes not consumed by a template mapping are kept as `x_misp_*`
/// properties of the main observable (a list when repeated; `{value, data}`
/// for attachments), and contribute `x_misp_*` comparisons when for IDS.
fn rest(b: &mut Built, main: &mut Map<String, Value>, attrs: &[ObjAttr], used: &[&str]) {
    let ty = main["type"].as_str().unwrap_or_default().to_string();
    for a in attrs {
        if used.contains(&a.relation.as_str()) {
            continue;
        }
        let key = x_key(&a.relation);
        b.cmp(a, &format!("{ty}:{key}"), &a.value);
        let v = match &a.data {
            Some(d) => json!({"value": a.value, "data": d}),
            None => json!(a.value),
        };
        match main.get_mut(&key) {
            Some(Value::Array(list)) => list.push(v),
            Some(old) => {
                let o = old.take();
                *old = json!([o, v]);
            }
            None => {
                main.insert(key, v);
            }
        }
    }
}

/// An IP address observable, and its comparisons as `side_ref` of a traffic.
fn traffic_ip(
    b: &mut Built,
    nt: &mut Map<String, Value>,
    a: &ObjAttr,
    side: &str,
) -> Result<Map<String, Value>, String> {
    crate::attribute::check_ip(&a.value)?;
    let ty = ip_type(&a.value);
    let mut m = sco(ty, &a.uuid);
    m.insert("value".into(), json!(a.value));
    nt.insert(format!("{side}_ref"), json!(id_of(&m)));
    b.cmp(a, &format!("network-traffic:{side}_ref.type"), ty);
    b.cmp(a, &format!("network-traffic:{side}_ref.value"), &a.value);
    Ok(m)
}

fn traffic_ports(
    b: &mut Built,
    nt: &mut Map<String, Value>,
    attrs: &[ObjAttr],
) -> Result<(), String> {
    for side in ["src", "dst"] {
        if let Some(p) = first(attrs, &format!("{side}-port")) {
            nt.insert(format!("{side}_port"), json!(parse_port(&p.value)?));
            b.cmp(p, &format!("network-traffic:{side}_port"), &p.value);
        }
    }
    Ok(())
}

/// A destination host name of a traffic: kept as `x_misp_*` on the traffic,
/// compared as a domain-name destination.
fn traffic_host(b: &mut Built, attrs: &[ObjAttr], rel: &str) {
    for a in attrs_of(attrs, rel) {
        b.cmp(a, "network-traffic:dst_ref.type", "domain-name");
        b.cmp(a, "network-traffic:dst_ref.value", &a.value);
    }
}

/// Templates that are one observable with plain properties:
/// (template, STIX type, [(relation, property, is a list)]).
/// (template, STIX type, fields).
type SimpleTemplate = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, bool)],
);

const SIMPLE: &[SimpleTemplate] = &[
    (
        "cpe-asset",
        "software",
        &[
            ("product", "name", false),
            ("cpe", "cpe", false),
            ("language", "languages", true),
            ("vendor", "vendor", false),
            ("version", "version", false),
        ],
    ),
    ("android-app", "software", &[("name", "name", false)]),
    (
        "directory",
        "directory",
        &[
            ("path", "path", false),
            ("path-encoding", "path_enc", false),
            ("creation-time", "ctime", false),
            ("modification-time", "mtime", false),
            ("access-time", "atime", false),
        ],
    ),
];

/// Account templates that are a `user-account` of a given `account_type`:
/// (template, account_type, [(relation, property)]).
/// (template, account_type, fields).
type AccountTemplate = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const ACCOUNTS: &[AccountTemplate] = &[
    (
        "gitlab-user",
        "gitlab",
        &[
            ("id", "user_id"),
            ("name", "display_name"),
            ("username", "account_login"),
        ],
    ),
    (
        "telegram-account",
        "telegram",
        &[("id", "user_id"), ("username", "account_login")],
    ),
    (
        "facebook-account",
        "facebook",
        &[("account-id", "user_id"), ("account-name", "account_login")],
    ),
    (
        "github-user",
        "github",
        &[
            ("id", "user_id"),
            ("user-fullname", "display_name"),
            ("username", "account_login"),
        ],
    ),
    (
        "parler-account",
        "parler",
        &[("account-id", "user_id"), ("account-name", "account_login")],
    ),
    (
        "reddit-account",
        "reddit",
        &[("account-id", "user_id"), ("account-name", "account_login")],
    ),
    (
        "twitter-account",
        "twitter",
        &[
            ("id", "user_id"),
            ("name", "account_login"),
            ("displayed-name", "display_name"),
        ],
    ),
];

fn build(
    name: &str,
    obj_uuid: &str,
    attrs: &[ObjAttr],
    merged: &[Vec<ObjAttr>],
) -> Result<Option<Built>, String> {
    let mut b = Built::default();
    match name {
        "hashlookup" => {
            let attrs = renamed(
                attrs,
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
            );
            return build("file", obj_uuid, &attrs, merged);
        }
        "lnk" => {
            let attrs = renamed(
                attrs,
                &[
                    ("fullpath", "path"),
                    ("lnk-creation-time", "creation-time"),
                    ("lnk-modification-time", "modification-time"),
                    ("lnk-access-time", "access-time"),
                ],
            );
            return build("file", obj_uuid, &attrs, merged);
        }
        "artifact" => {
            let mut m = sco("artifact", obj_uuid);
            let mut used = vec![];
            let mut hashes = Map::new();
            for a in attrs {
                if let Some(k) = hash_key(&a.relation) {
                    hashes.insert(k.into(), json!(a.value));
                    b.cmp(a, &hash_path("artifact:", k), &a.value);
                    used.push(a.relation.as_str());
                }
            }
            if let Some(a) = first(attrs, "payload_bin") {
                if let Some(d) = a.data.as_ref().filter(|d| crate::attribute::is_base64(d)) {
                    m.insert("payload_bin".into(), json!(d));
                    used.push("payload_bin");
                }
            }
            for (rel, key) in [
                ("mime_type", "mime_type"),
                ("url", "url"),
                ("encryption_algorithm", "encryption_algorithm"),
                ("decryption_key", "decryption_key"),
            ] {
                if let Some(a) = first(attrs, rel) {
                    m.insert(key.into(), json!(a.value));
                    b.cmp(a, &format!("artifact:{key}"), &a.value);
                    used.push(rel);
                }
            }
            if !hashes.is_empty() {
                m.insert("hashes".into(), Value::Object(hashes));
            }
            if !m.contains_key("payload_bin") && !m.contains_key("url") {
                return Ok(None);
            }
            rest(&mut b, &mut m, attrs, &used);
            b.scos.push(m);
        }
        "domain-ip" => {
            let mut ips = vec![];
            for a in attrs_of(attrs, "ip") {
                crate::attribute::check_ip(&a.value)?;
                let mut m = sco(ip_type(&a.value), &a.uuid);
                m.insert("value".into(), json!(a.value));
                ips.push(m);
            }
            let ip_ids: Vec<String> = ips.iter().map(id_of).collect();
            let mut domains = vec![];
            for a in attrs_of(attrs, "domain") {
                let mut m = sco("domain-name", &a.uuid);
                m.insert("value".into(), json!(a.value));
                if !ip_ids.is_empty() {
                    m.insert("resolves_to_refs".into(), json!(ip_ids));
                }
                b.cmp(a, "domain-name:value", &a.value);
                domains.push(m);
            }
            for a in attrs_of(attrs, "ip") {
                b.cmp(a, "domain-name:resolves_to_refs[*].value", &a.value);
            }
            if domains.is_empty() {
                return Ok(None);
            }
            if domains.len() == 1
                && attrs
                    .iter()
                    .any(|a| !matches!(a.relation.as_str(), "ip" | "domain"))
            {
                // Extra attributes need a home: the single domain takes the
                // object's UUID and keeps them as custom properties.
                let mut d = domains.remove(0);
                let old = id_of(&d);
                d.insert("id".into(), json!(format!("domain-name--{obj_uuid}")));
                let _ = old;
                rest(&mut b, &mut d, attrs, &["ip", "domain"]);
                domains.push(d);
            }
            b.scos.extend(ips);
            b.scos.extend(domains);
        }
        "ip-port" => {
            let mut nt = sco("network-traffic", obj_uuid);
            if let Some(fs) = first(attrs, "first-seen") {
                nt.insert("start".into(), json!(fs.value));
            }
            let mut addrs = vec![];
            for (rel, side) in [("ip-src", "src"), ("ip-dst", "dst"), ("ip", "dst")] {
                for a in attrs_of(attrs, rel) {
                    addrs.push(traffic_ip(&mut b, &mut nt, a, side)?);
                }
            }
            traffic_ports(&mut b, &mut nt, attrs)?;
            traffic_host(&mut b, attrs, "domain");
            traffic_host(&mut b, attrs, "hostname");
            nt.insert("protocols".into(), json!(["ipv4"]));
            let mut extra = Built::default();
            rest(
                &mut extra,
                &mut nt,
                attrs,
                &[
                    "ip-src",
                    "ip-dst",
                    "ip",
                    "src-port",
                    "dst-port",
                    "first-seen",
                ],
            );
            b.scos.push(nt);
            b.scos.extend(addrs);
        }
        "network-connection" | "network-socket" => {
            let mut nt = sco("network-traffic", obj_uuid);
            let mut addrs = vec![];
            for (rel, side) in [("ip-src", "src"), ("ip-dst", "dst")] {
                for a in attrs_of(attrs, rel) {
                    addrs.push(traffic_ip(&mut b, &mut nt, a, side)?);
                }
            }
            traffic_ports(&mut b, &mut nt, attrs)?;
            traffic_host(&mut b, attrs, "hostname-dst");
            let mut protocols = vec![];
            for rel in [
                "layer3-protocol",
                "layer4-protocol",
                "layer7-protocol",
                "protocol",
            ] {
                for a in attrs_of(attrs, rel) {
                    let p = a.value.to_ascii_lowercase();
                    b.cmp(a, "network-traffic:protocols[*]", &p);
                    protocols.push(p);
                }
            }
            if protocols.is_empty() {
                protocols.push("tcp".into());
            }
            nt.insert("protocols".into(), json!(protocols));
            let mut used = vec![
                "ip-src",
                "ip-dst",
                "src-port",
                "dst-port",
                "layer3-protocol",
                "layer4-protocol",
                "layer7-protocol",
                "protocol",
            ];
            if name == "network-socket" {
                let mut ext = Map::new();
                if let Some(a) = first(attrs, "address-family") {
                    ext.insert("address_family".into(), json!(a.value));
                    used.push("address-family");
                }
                if let Some(a) = first(attrs, "state") {
                    if let Some(flag) = match a.value.as_str() {
                        "listening" => Some("is_listening"),
                        "blocking" => Some("is_blocking"),
                        _ => None,
                    } {
                        ext.insert(flag.into(), json!(true));
                        used.push("state");
                    }
                }
                if let Some(a) = first(attrs, "socket-type") {
                    ext.insert("socket_type".into(), json!(a.value));
                    used.push("socket-type");
                }
                if !ext.is_empty() {
                    nt.insert("extensions".into(), json!({"socket-ext": ext}));
                }
            }
            let mut extra = Built::default();
            rest(&mut extra, &mut nt, attrs, &used);
            b.scos.push(nt);
            b.scos.extend(addrs);
        }
        "url" => {
            let Some(u) = first(attrs, "url") else {
                return Ok(None);
            };
            let mut m = sco("url", obj_uuid);
            m.insert("value".into(), json!(u.value));
            b.cmp(u, "url:value", &u.value);
            rest(&mut b, &mut m, attrs, &["url"]);
            b.scos.push(m);
        }
        "asn" => {
            let Some(a) = first(attrs, "asn") else {
                return Ok(None);
            };
            let n = parse_asn(&a.value)?;
            let mut m = sco("autonomous-system", obj_uuid);
            m.insert("number".into(), json!(n));
            b.cmp(a, "autonomous-system:number", &n.to_string());
            if let Some(d) = first(attrs, "description") {
                m.insert("name".into(), json!(d.value));
                b.cmp(d, "autonomous-system:name", &d.value);
            }
            let subnets: Vec<&str> = attrs_of(attrs, "subnet-announced")
                .map(|a| a.value.as_str())
                .collect();
            if !subnets.is_empty() {
                m.insert("x_misp_subnet_announced".into(), json!(subnets));
            }
            for a in attrs_of(attrs, "subnet-announced") {
                b.cmp(a, "autonomous-system:x_misp_subnet_announced", &a.value);
            }
            rest(
                &mut b,
                &mut m,
                attrs,
                &["asn", "description", "subnet-announced"],
            );
            b.scos.push(m);
        }
        "mutex" => {
            let Some(a) = first(attrs, "name") else {
                return Ok(None);
            };
            let mut m = sco("mutex", obj_uuid);
            m.insert("name".into(), json!(a.value));
            b.cmp(a, "mutex:name", &a.value);
            rest(&mut b, &mut m, attrs, &["name"]);
            b.scos.push(m);
        }
        "x509" => {
            let mut m = sco("x509-certificate", obj_uuid);
            let mut hashes = Map::new();
            let mut used = vec![];
            for a in attrs {
                if let Some(k) = a
                    .relation
                    .strip_prefix("x509-fingerprint-")
                    .and_then(hash_key)
                {
                    hashes.insert(k.into(), json!(a.value));
                    b.cmp(a, &hash_path("x509-certificate:", k), &a.value);
                    used.push(a.relation.as_str());
                }
            }
            if !hashes.is_empty() {
                m.insert("hashes".into(), Value::Object(hashes));
            }
            for (rel, key) in [
                ("version", "version"),
                ("serial-number", "serial_number"),
                ("signature_algorithm", "signature_algorithm"),
                ("issuer", "issuer"),
                ("validity-not-before", "validity_not_before"),
                ("validity-not-after", "validity_not_after"),
                ("subject", "subject"),
                ("pubkey-info-algorithm", "subject_public_key_algorithm"),
                ("pubkey-info-modulus", "subject_public_key_modulus"),
                ("pubkey-info-exponent", "subject_public_key_exponent"),
            ] {
                if let Some(a) = first(attrs, rel) {
                    let v = if key == "subject_public_key_exponent" {
                        a.value
                            .parse::<i64>()
                            .map(|n| json!(n))
                            .unwrap_or(json!(a.value))
                    } else {
                        json!(a.value)
                    };
                    m.insert(key.into(), v);
                    b.cmp(a, &format!("x509-certificate:{key}"), &a.value);
                    used.push(rel);
                }
            }
            rest(&mut b, &mut m, attrs, &used);
            b.scos.push(m);
        }
        "registry-key" | "registry-key-value" => {
            let mut m = sco("windows-registry-key", obj_uuid);
            let mut used = vec![];
            if let Some(k) = first(attrs, "key") {
                let key = crate::attribute::expand_hive(&k.value);
                m.insert("key".into(), json!(key));
                b.cmp(k, "windows-registry-key:key", &key);
                used.push("key");
            }
            let mut values = vec![];
            for group in std::iter::once(attrs).chain(merged.iter().map(Vec::as_slice)) {
                let mut value = Map::new();
                for (rel, key) in [
                    ("name", "name"),
                    ("data", "data"),
                    ("data-type", "data_type"),
                ] {
                    if let Some(a) = first(group, rel) {
                        value.insert(key.into(), json!(a.value));
                        b.cmp(
                            a,
                            &format!("windows-registry-key:values[*].{key}"),
                            &a.value,
                        );
                    }
                }
                if !value.is_empty() {
                    values.push(Value::Object(value));
                }
            }
            used.extend(["name", "data", "data-type"]);
            if !values.is_empty() {
                m.insert("values".into(), json!(values));
            }
            if let Some(a) = first(attrs, "last-modified") {
                m.insert("modified_time".into(), json!(a.value));
                b.cmp(a, "windows-registry-key:modified_time", &a.value);
                used.push("last-modified");
            }
            if m.len() == 3 {
                return Ok(None);
            }
            rest(&mut b, &mut m, attrs, &used);
            b.scos.push(m);
        }
        "file" => {
            let mut m = sco("file", obj_uuid);
            let mut hashes = Map::new();
            let mut used = vec![];
            for a in attrs {
                if let Some(k) = hash_key(&a.relation) {
                    hashes.insert(k.into(), json!(a.value));
                    b.cmp(a, &hash_path("file:", k), &a.value);
                    used.push(a.relation.as_str());
                }
            }
            if !hashes.is_empty() {
                m.insert("hashes".into(), Value::Object(hashes));
            }
            if let Some(a) = first(attrs, "size-in-bytes") {
                if let Ok(n) = a.value.parse::<u64>() {
                    m.insert("size".into(), json!(n));
                    b.cmp(a, "file:size", &a.value);
                    used.push("size-in-bytes");
                }
            }
            for (rel, key) in [
                ("filename", "name"),
                ("file-encoding", "name_enc"),
                ("mime-type", "mime_type"),
                ("creation-time", "ctime"),
                ("modification-time", "mtime"),
                ("access-time", "atime"),
            ] {
                if let Some(a) = first(attrs, rel) {
                    m.insert(key.into(), json!(a.value));
                    b.cmp(a, &format!("file:{key}"), &a.value);
                    used.push(rel);
                }
            }
            let mut extra = vec![];
            if let Some(p) = first(attrs, "path") {
                let mut d = sco("directory", &p.uuid);
                d.insert("path".into(), json!(p.value));
                m.insert("parent_directory_ref".into(), json!(id_of(&d)));
                b.cmp(p, "file:parent_directory_ref.path", &p.value);
                extra.push(d);
                used.push("path");
            }
            if let Some(s) = first(attrs, "malware-sample") {
                if let (None, Some((fname, md5))) = (&s.data, s.value.split_once('|')) {
                    // No payload: the sample is described, not carried.
                    m.insert("x_misp_malware_sample".into(), json!(s.value));
                    used.push("malware-sample");
                    b.cmp(s, "file:content_ref.x_misp_filename", fname);
                    b.cmp(s, &hash_path("file:content_ref.", "MD5"), md5);
                    b.cmp(s, "file:content_ref.mime_type", "application/zip");
                    b.cmp(
                        s,
                        "file:content_ref.encryption_algorithm",
                        "mime-type-indicated",
                    );
                    b.cmp(s, "file:content_ref.decryption_key", "infected");
                }
                let data = s.data.as_ref().filter(|d| crate::attribute::is_base64(d));
                if let (Some(data), Some((fname, md5))) = (data, s.value.split_once('|')) {
                    let mut art = sco("artifact", &s.uuid);
                    art.insert("mime_type".into(), json!("application/zip"));
                    art.insert("payload_bin".into(), json!(data));
                    art.insert("hashes".into(), json!({"MD5": md5}));
                    art.insert("encryption_algorithm".into(), json!("mime-type-indicated"));
                    art.insert("decryption_key".into(), json!("infected"));
                    art.insert("x_misp_filename".into(), json!(fname));
                    m.insert("content_ref".into(), json!(id_of(&art)));
                    b.cmp(s, "file:content_ref.payload_bin", data);
                    b.cmp(s, "file:content_ref.x_misp_filename", fname);
                    b.cmp(s, &hash_path("file:content_ref.", "MD5"), md5);
                    b.cmp(s, "file:content_ref.mime_type", "application/zip");
                    b.cmp(
                        s,
                        "file:content_ref.encryption_algorithm",
                        "mime-type-indicated",
                    );
                    b.cmp(s, "file:content_ref.decryption_key", "infected");
                    extra.push(art);
                    used.push("malware-sample");
                }
            }
            rest(&mut b, &mut m, attrs, &used);
            b.scos.push(m);
            b.scos.extend(extra);
        }
        "email" => {
            let mut m = sco("email-message", obj_uuid);
            let attachments: Vec<&ObjAttr> = attrs_of(attrs, "attachment").collect();
            m.insert("is_multipart".into(), json!(!attachments.is_empty()));
            let mut addrs = vec![];
            let mut used = vec!["attachment"];
            for (rel, key, many) in [
                ("from", "from_ref", false),
                ("to", "to_refs", true),
                ("cc", "cc_refs", true),
                ("bcc", "bcc_refs", true),
            ] {
                let list: Vec<&ObjAttr> = attrs_of(attrs, rel).collect();
                let names_rel = format!("{rel}-display-name");
                let names: Vec<&ObjAttr> =
                    attrs.iter().filter(|a| a.relation == names_rel).collect();
                let paired = names.len() == list.len();
                let mut ids = vec![];
                for (i, a) in list.iter().enumerate() {
                    let mut e = sco("email-addr", &a.uuid);
                    e.insert("value".into(), json!(a.value));
                    if paired {
                        e.insert("display_name".into(), json!(names[i].value));
                    }
                    ids.push(id_of(&e));
                    let path = if many {
                        format!("email-message:{key}[{i}].value")
                    } else {
                        format!("email-message:{key}.value")
                    };
                    b.cmp(a, &path, &a.value);
                    addrs.push(e);
                }
                if !ids.is_empty() {
                    used.push(rel);
                    if paired {
                        used.push(if rel == "from" {
                            "from-display-name"
                        } else if rel == "to" {
                            "to-display-name"
                        } else if rel == "cc" {
                            "cc-display-name"
                        } else {
                            "bcc-display-name"
                        });
                    }
                    m.insert(key.into(), if many { json!(ids) } else { json!(ids[0]) });
                }
            }
            for (rel, key) in [
                ("message-id", "message_id"),
                ("subject", "subject"),
                ("email-body", "body"),
                ("send-date", "date"),
            ] {
                if let Some(a) = first(attrs, rel) {
                    m.insert(key.into(), json!(a.value));
                    b.cmp(a, &format!("email-message:{key}"), &a.value);
                    used.push(rel);
                }
            }
            let mut headers = Map::new();
            for (rel, header, field) in [
                ("reply-to", "Reply-To", "reply_to"),
                ("x-mailer", "X-Mailer", "x_mailer"),
            ] {
                if let Some(a) = first(attrs, rel) {
                    headers.insert(header.into(), json!(a.value));
                    b.cmp(
                        a,
                        &format!("email-message:additional_header_fields.{field}"),
                        &a.value,
                    );
                    used.push(rel);
                }
            }
            if !headers.is_empty() {
                m.insert("additional_header_fields".into(), Value::Object(headers));
            }
            let mut files = vec![];
            let mut parts = vec![];
            for (i, a) in attachments.iter().enumerate() {
                let mut f = sco("file", &a.uuid);
                f.insert("name".into(), json!(a.value));
                parts.push(json!({"body_raw_ref": id_of(&f), "content_disposition": format!("attachment; filename='{}'", a.value)}));
                b.cmp(
                    a,
                    &format!("email-message:body_multipart[{i}].body_raw_ref.name"),
                    &a.value,
                );
                b.cmp(
                    a,
                    &format!("email-message:body_multipart[{i}].content_disposition"),
                    "attachment",
                );
                files.push(f);
            }
            if !parts.is_empty() {
                m.insert("body_multipart".into(), json!(parts));
            }
            rest(&mut b, &mut m, attrs, &used);
            b.scos.push(m);
            b.scos.extend(addrs);
            b.scos.extend(files);
        }
        "user-account" | "credential" => {
            let mut m = sco("user-account", obj_uuid);
            let mut used = vec![];
            let fields: &[(&str, &str)] = if name == "credential" {
                &[("username", "user_id"), ("password", "credential")]
            } else {
                &[
                    ("user-id", "user_id"),
                    ("password", "credential"),
                    ("username", "account_login"),
                    ("account-type", "account_type"),
                    ("display-name", "display_name"),
                    ("password_last_changed", "credential_last_changed"),
                ]
            };
            for (rel, key) in fields {
                if let Some(a) = first(attrs, rel) {
                    m.insert((*key).into(), json!(a.value));
                    b.cmp(a, &format!("user-account:{key}"), &a.value);
                    used.push(*rel);
                }
            }
            let mut unix = Map::new();
            if let Some(a) = first(attrs, "group-id") {
                if let Ok(n) = a.value.parse::<i64>() {
                    unix.insert("gid".into(), json!(n));
                    used.push("group-id");
                }
            }
            let groups: Vec<&str> = attrs_of(attrs, "group").map(|a| a.value.as_str()).collect();
            if !groups.is_empty() {
                unix.insert("groups".into(), json!(groups));
                used.push("group");
            }
            if let Some(a) = first(attrs, "home_dir") {
                unix.insert("home_dir".into(), json!(a.value));
                used.push("home_dir");
            }
            if let Some(a) = first(attrs, "shell") {
                unix.insert("shell".into(), json!(a.value));
                used.push("shell");
            }
            if !unix.is_empty() {
                m.insert("extensions".into(), json!({"unix-account-ext": unix}));
            }
            if m.len() == 3 {
                return Ok(None);
            }
            rest(&mut b, &mut m, attrs, &used);
            b.scos.push(m);
        }
        _ if SIMPLE.iter().any(|(t, _, _)| *t == name) => {
            let Some((_, ty, fields)) = SIMPLE.iter().find(|(t, _, _)| *t == name) else {
                return Ok(None);
            };
            let mut m = sco(ty, obj_uuid);
            let mut used = vec![];
            for (rel, key, list) in fields.iter() {
                let values: Vec<&ObjAttr> = attrs_of(attrs, rel).collect();
                if values.is_empty() {
                    continue;
                }
                for a in &values {
                    b.cmp(a, &format!("{ty}:{key}"), &a.value);
                }
                let v = if *key == "languages" {
                    // RFC 5646 tags are case-insensitive; STIX's schema wants `eng`, not `ENG`.
                    json!(values
                        .iter()
                        .map(|a| a.value.to_ascii_lowercase())
                        .collect::<Vec<_>>())
                } else if *list {
                    json!(values.iter().map(|a| a.value.as_str()).collect::<Vec<_>>())
                } else {
                    json!(values[0].value)
                };
                m.insert((*key).into(), v);
                used.push(*rel);
            }
            if used.is_empty() {
                return Ok(None);
            }
            rest(&mut b, &mut m, attrs, &used);
            b.scos.push(m);
        }
        _ => {
            let Some((_, account_type, fields)) = ACCOUNTS.iter().find(|(t, _, _)| *t == name)
            else {
                return Ok(None);
            };
            let mut m = sco("user-account", obj_uuid);
            let mut used = vec![];
            m.insert("account_type".into(), json!(account_type));
            b.comparisons
                .push(cmp("user-account:account_type", account_type));
            for (rel, key) in fields.iter() {
                if let Some(a) = first(attrs, rel) {
                    m.insert((*key).into(), json!(a.value));
                    b.cmp(a, &format!("user-account:{key}"), &a.value);
                    used.push(*rel);
                }
            }
            rest(&mut b, &mut m, attrs, &used);
            if !attrs.iter().any(|a| a.to_ids) {
                b.comparisons.clear();
            }
            b.scos.push(m);
        }
    }
    Ok(Some(b))
}

/// The object's attributes, skipping (with a warning) those without type or value.
fn collect_attrs(ctx: &mut Ctx, o: &Value, path: &str) -> Vec<ObjAttr> {
    let mut out = vec![];
    let Some(list) = o.get("Attribute").and_then(Value::as_array) else {
        return out;
    };
    for (i, a) in list.iter().enumerate() {
        let apath = format!("{path}.Attribute[{i}]");
        let Some(ty) = a.get("type").and_then(Value::as_str) else {
            ctx.warn(
                format!("{apath}.type"),
                "missing attribute type; attribute skipped",
            );
            continue;
        };
        let Some(value) = text(a.get("value")) else {
            ctx.warn(
                format!("{apath}.value"),
                "missing attribute value; attribute skipped",
            );
            continue;
        };
        let relation = a
            .get("object_relation")
            .and_then(Value::as_str)
            .unwrap_or(ty)
            .to_string();
        let uuid = ctx.item_uuid(a, &apath);
        out.push(ObjAttr {
            relation,
            ty: ty.to_string(),
            to_ids: misp_bool(a.get("to_ids")).unwrap_or_else(|| default_to_ids(ty)),
            value,
            uuid,
            data: a.get("data").and_then(Value::as_str).map(str::to_string),
        });
    }
    out
}

/// SDO templates: vulnerability, course-of-action, attack-pattern, person…
fn sdo_object(
    ctx: &mut Ctx,
    name: &str,
    uuid: &str,
    ts: i64,
    attrs: &[ObjAttr],
) -> Option<Map<String, Value>> {
    let get = |rel: &str| first(attrs, rel).map(|a| a.value.clone());
    let (ty, mut m, used): (&str, Map<String, Value>, Vec<&str>) = match name {
        "vulnerability" => {
            let mut m = ctx.sdo("vulnerability", uuid, ts);
            let id = get("id")?;
            m.insert("name".into(), json!(id));
            if let Some(d) = get("summary").or_else(|| get("description")) {
                m.insert("description".into(), json!(d));
            }
            let source = if id.starts_with("CVE-") {
                "cve"
            } else {
                "vulnerability"
            };
            m.insert(
                "external_references".into(),
                json!([{"source_name": source, "external_id": id}]),
            );
            ("vulnerability", m, vec!["id", "summary", "description"])
        }
        "course-of-action" => {
            let mut m = ctx.sdo("course-of-action", uuid, ts);
            m.insert("name".into(), json!(get("name")?));
            if let Some(d) = get("description") {
                m.insert("description".into(), json!(d));
            }
            ("course-of-action", m, vec!["name", "description"])
        }
        "attack-pattern" => {
            let mut m = ctx.sdo("attack-pattern", uuid, ts);
            m.insert("name".into(), json!(get("name")?));
            if let Some(d) = get("summary") {
                m.insert("description".into(), json!(d));
            }
            if let Some(id) = get("id") {
                let ext = if id.starts_with("CAPEC-") {
                    id
                } else {
                    format!("CAPEC-{id}")
                };
                m.insert(
                    "external_references".into(),
                    json!([{"source_name": "capec", "external_id": ext}]),
                );
            }
            ("attack-pattern", m, vec!["name", "summary", "id"])
        }
        "intrusion-set" => {
            let mut m = ctx.sdo("intrusion-set", uuid, ts);
            m.insert("name".into(), json!(get("name")?));
            if let Some(d) = get("description") {
                m.insert("description".into(), json!(d));
            }
            ("intrusion-set", m, vec!["name", "description"])
        }
        "person" | "employee" => {
            let mut m = ctx.sdo("identity", uuid, ts);
            let full = match (get("first-name"), get("last-name"), get("full-name")) {
                (_, _, Some(f)) => f,
                (Some(f), Some(l), _) => format!("{f} {l}"),
                (Some(f), None, _) => f,
                (None, Some(l), _) => l,
                _ => return None,
            };
            m.insert("name".into(), json!(full));
            m.insert("identity_class".into(), json!("individual"));
            ("identity", m, vec!["first-name", "last-name", "full-name"])
        }
        "organization" | "legal-entity" | "news-agency" => {
            let mut m = ctx.sdo("identity", uuid, ts);
            m.insert("name".into(), json!(get("name")?));
            if let Some(d) = get("description") {
                m.insert("description".into(), json!(d));
            }
            m.insert("identity_class".into(), json!("organization"));
            ("identity", m, vec!["name", "description"])
        }
        "identity" => {
            let mut m = ctx.sdo("identity", uuid, ts);
            m.insert("name".into(), json!(get("name")?));
            if let Some(d) = get("description") {
                m.insert("description".into(), json!(d));
            }
            let roles: Vec<String> = attrs_of(attrs, "roles").map(|a| a.value.clone()).collect();
            if !roles.is_empty() {
                m.insert("roles".into(), json!(roles));
            }
            m.insert(
                "identity_class".into(),
                json!(get("identity_class").unwrap_or_else(|| "unknown".into())),
            );
            if let Some(c) = get("contact_information") {
                m.insert("contact_information".into(), json!(c));
            }
            (
                "identity",
                m,
                vec![
                    "name",
                    "description",
                    "roles",
                    "identity_class",
                    "contact_information",
                ],
            )
        }
        "geolocation" => {
            let mut m = ctx.sdo("location", uuid, ts);
            let num = |rel: &str| get(rel).and_then(|v| v.parse::<f64>().ok());
            let mut used = vec![];
            if let (Some(lat), Some(lon)) = (num("latitude"), num("longitude")) {
                m.insert("latitude".into(), json!(lat));
                m.insert("longitude".into(), json!(lon));
                used.extend(["latitude", "longitude"]);
                if let Some(r) = num("accuracy-radius") {
                    m.insert("precision".into(), json!(r * 1000.0));
                    used.push("accuracy-radius");
                }
            }
            for (rel, key) in [
                ("region", "region"),
                ("countrycode", "country"),
                ("city", "city"),
                ("address", "street_address"),
                ("zipcode", "postal_code"),
            ] {
                if let Some(v) = get(rel) {
                    m.insert(key.into(), json!(v));
                    used.push(rel);
                }
            }
            if !m.contains_key("latitude")
                && !m.contains_key("region")
                && !m.contains_key("country")
            {
                return None;
            }
            ("location", m, used)
        }
        "owasp-crs-rule" | "nova-rule" | "sigma" | "suricata" | "wazuh-rule" | "yara" => {
            let (language, rule_rel, name_rel) = match name {
                "owasp-crs-rule" => ("crs", "raw-rule", Some("rule-id")),
                "nova-rule" => ("nova", "raw-rule", Some("rule-name")),
                "sigma" => ("sigma", "sigma", Some("sigma-rule-name")),
                "suricata" => ("suricata", "suricata", None),
                "wazuh-rule" => ("wazuh", "wazuh-rule", Some("rule-id")),
                _ => ("yara", "yara", Some("yara-rule-name")),
            };
            let rule = get(rule_rel)?;
            let mut m = ctx.sdo("indicator", uuid, ts);
            let mut used = vec![rule_rel, "comment", "version", "reference", "ref"];
            if let Some(n) = name_rel.and_then(get) {
                m.insert("name".into(), json!(n));
                used.extend(name_rel);
            }
            if let Some(c) = get("comment") {
                m.insert("description".into(), json!(c));
            }
            m.insert("pattern".into(), json!(rule));
            m.insert("pattern_type".into(), json!(language));
            m.insert(
                "pattern_version".into(),
                json!(get("version").unwrap_or_else(|| "2.1".into())),
            );
            m.insert("valid_from".into(), json!(crate::to_stix::timestamps(ts).1));
            let links: Vec<Value> = attrs
                .iter()
                .filter(|a| a.relation == "reference" || a.relation == "ref")
                .map(|a| json!({"source_name": "url", "url": a.value}))
                .collect();
            if !links.is_empty() {
                m.insert("external_references".into(), json!(links));
            }
            ("indicator", m, used)
        }
        "script" => {
            let malicious = get("state").is_some_and(|s| s.eq_ignore_ascii_case("malicious"));
            let ty = if malicious { "malware" } else { "tool" };
            let mut m = ctx.sdo(ty, uuid, ts);
            m.insert("name".into(), json!(get("filename")?));
            if let Some(d) = get("comment") {
                m.insert("description".into(), json!(d));
            }
            let mut used = vec!["filename", "comment"];
            if malicious {
                m.insert("is_family".into(), json!(false));
                if let Some(l) = get("language") {
                    m.insert("implementation_languages".into(), json!([l]));
                    used.push("language");
                }
            }
            (ty, m, used)
        }
        _ => return None,
    };
    let _ = ty;
    let mut b = Built::default();
    rest(&mut b, &mut m, attrs, &used);
    Some(m)
}

/// Registry values a registry key `contains` become part of the key's
/// observable (as MISP's export does) instead of objects of their own.
pub(crate) fn find_absorbed(ctx: &mut Ctx, objs: &[Value]) {
    let by_uuid: std::collections::HashMap<&str, &Value> = objs
        .iter()
        .filter(|o| o.get("name").and_then(Value::as_str) == Some("registry-key-value"))
        .filter_map(|o| Some((o.get("uuid")?.as_str()?, o)))
        .collect();
    if by_uuid.is_empty() {
        return;
    }
    for o in objs {
        if o.get("name").and_then(Value::as_str) != Some("registry-key") {
            continue;
        }
        for r in o
            .get("ObjectReference")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let target = r
                .get("referenced_uuid")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if r.get("relationship_type").and_then(Value::as_str) == Some("contains") {
                if let Some(v) = by_uuid.get(target) {
                    ctx.absorbed
                        .insert(target.to_ascii_lowercase(), (*v).clone());
                }
            }
        }
    }
}

fn merged_values(ctx: &mut Ctx, o: &Value) -> Vec<Vec<ObjAttr>> {
    let mut out = vec![];
    for r in o
        .get("ObjectReference")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let target = r
            .get("referenced_uuid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if let Some(v) = ctx.absorbed.get(&target).cloned() {
            out.push(collect_attrs(ctx, &v, "(registry value)"));
        }
    }
    out
}

/// One MISP object.
pub(crate) fn convert(ctx: &mut Ctx, o: &Value, path: &str) {
    if let Some(u) = o.get("uuid").and_then(Value::as_str) {
        if ctx.absorbed.contains_key(&u.to_ascii_lowercase()) {
            return;
        }
    }
    if o.get("name").and_then(Value::as_str) == Some("annotation") {
        // Converted with the references, once the annotated objects exist.
        return;
    }
    if !o.is_object() {
        ctx.warn(path, "expected a MISP object; skipped");
        return;
    }
    let Some(name) = o.get("name").and_then(Value::as_str) else {
        ctx.warn(
            format!("{path}.name"),
            "missing object template name; object skipped",
        );
        return;
    };
    let uuid = ctx.item_uuid(o, path);
    let ts = epoch(o.get("timestamp")).unwrap_or(ctx.event_ts);
    let meta = o
        .get("meta-category")
        .and_then(Value::as_str)
        .unwrap_or("misc")
        .to_string();
    let comment = o.get("comment").and_then(Value::as_str).map(str::to_string);
    let attrs = collect_attrs(ctx, o, path);
    let mut labels = vec![
        format!("misp:name=\"{name}\""),
        format!("misp:meta-category=\"{meta}\""),
    ];
    let marks = ctx.tags(o, path, &mut labels);
    let merged = merged_values(ctx, o);
    let built = build(name, &uuid, &attrs, &merged).and_then(|b| match b {
        Some(mut b) => match crate::to_stix::invalid_sco(&mut b.scos) {
            Some(why) => Err(format!("not a valid STIX observable ({why})")),
            None => Ok(Some(b)),
        },
        None => Ok(None),
    });
    let main = match built {
        Ok(Some(b)) => {
            let ids: Vec<String> = b.scos.iter().map(id_of).collect();
            let od_id = format!("observed-data--{uuid}");
            let od = ctx.observed_data(&uuid, ts, ids, labels.clone(), marks.clone());
            ctx.push(od);
            for s in b.scos {
                ctx.push(s);
            }
            if !b.comparisons.is_empty() {
                let ind = ctx.indicator(
                    &uuid,
                    ts,
                    observation(&b.comparisons),
                    "stix",
                    &meta,
                    comment.as_deref(),
                    labels,
                    marks,
                );
                let ind_id = format!("indicator--{uuid}");
                ctx.push(ind);
                ctx.relate(&ind_id, "based-on", &od_id, ts);
                ctx.all_of.entry(uuid.clone()).or_default().push(ind_id);
            }
            ctx.all_of
                .entry(uuid.clone())
                .or_default()
                .insert(0, od_id.clone());
            od_id
        }
        Ok(None) => match sdo_object(ctx, name, &uuid, ts, &attrs) {
            Some(mut m) => {
                m.insert("labels".into(), json!(labels));
                if !marks.is_empty() {
                    m.insert("object_marking_refs".into(), json!(marks));
                }
                let id = id_of(&m);
                ctx.push(m);
                id
            }
            None => custom(
                ctx,
                name,
                &meta,
                &uuid,
                ts,
                comment.as_deref(),
                &attrs,
                labels,
                marks,
            ),
        },
        Err(why) => {
            ctx.warn(
                format!("{path}.Attribute"),
                format!("{why}; object kept as x-misp-object"),
            );
            custom(
                ctx,
                name,
                &meta,
                &uuid,
                ts,
                comment.as_deref(),
                &attrs,
                labels,
                marks,
            )
        }
    };
    if main.is_empty() {
        return;
    }
    ctx.stix_of.insert(uuid.clone(), main.clone());
    for a in &attrs {
        ctx.stix_of
            .entry(a.uuid.clone())
            .or_insert_with(|| main.clone());
    }
    ctx.galaxies(o, path, Some(&main), ts);
    ctx.analyst_data(o, path, &uuid);
    if let Some(list) = o.get("Attribute").and_then(Value::as_array) {
        for (i, a) in list.iter().enumerate() {
            let apath = format!("{path}.Attribute[{i}]");
            ctx.galaxies(a, &apath, Some(&main), ts);
            ctx.analyst_data_on(
                a,
                &apath,
                ctx.all_of.get(&uuid).cloned().unwrap_or_default(),
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn custom(
    ctx: &mut Ctx,
    name: &str,
    meta: &str,
    uuid: &str,
    ts: i64,
    comment: Option<&str>,
    attrs: &[ObjAttr],
    labels: Vec<String>,
    marks: Vec<String>,
) -> String {
    if ctx.opts.standard_only {
        return String::new();
    }
    let mut m = ctx.sdo("x-misp-object", uuid, ts);
    m.insert("labels".into(), json!(labels));
    if !marks.is_empty() {
        m.insert("object_marking_refs".into(), json!(marks));
    }
    let list: Vec<Value> = attrs
        .iter()
        .map(|a| {
            let mut v = json!({"type": a.ty, "object_relation": a.relation, "value": a.value,
                               "uuid": a.uuid});
            if a.to_ids {
                v["to_ids"] = json!(true);
            }
            if let Some(d) = &a.data {
                v["data"] = json!(d);
            }
            v
        })
        .collect();
    if !list.is_empty() {
        m.insert("x_misp_attributes".into(), json!(list));
    }
    if let Some(c) = comment.filter(|c| !c.is_empty()) {
        m.insert("x_misp_comment".into(), json!(c));
    }
    m.insert("x_misp_meta_category".into(), json!(meta));
    m.insert("x_misp_name".into(), json!(name));
    let id = id_of(&m);
    ctx.push(m);
    id
}

/// `ObjectReference`s of an object → relationships, once every object is converted.
pub(crate) fn references(ctx: &mut Ctx, o: &Value, path: &str) {
    if o.get("name").and_then(Value::as_str) == Some("annotation") {
        annotation(ctx, o, path);
        return;
    }
    let Some(refs) = o.get("ObjectReference").and_then(Value::as_array) else {
        return;
    };
    let Some(src_uuid) = o.get("uuid").and_then(Value::as_str) else {
        return;
    };
    let Some(source) = ctx.stix_of.get(&src_uuid.to_ascii_lowercase()).cloned() else {
        return;
    };
    let ts = epoch(o.get("timestamp")).unwrap_or(ctx.event_ts);
    for (i, r) in refs.iter().enumerate() {
        let target_uuid = r
            .get("referenced_uuid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let rel = r
            .get("relationship_type")
            .and_then(Value::as_str)
            .unwrap_or("related-to");
        match ctx.stix_of.get(&target_uuid.to_ascii_lowercase()).cloned() {
            Some(target) if target == source => {}
            Some(target) => {
                let id = r
                    .get("uuid")
                    .and_then(Value::as_str)
                    .filter(|u| uuid::Uuid::parse_str(u).is_ok())
                    .map(|u| format!("relationship--{}", u.to_ascii_lowercase()));
                ctx.relate_with_id(id, &source, rel, &target, ts)
            }
            None => ctx.warn(
                format!("{path}.ObjectReference[{i}].referenced_uuid"),
                format!("{target_uuid:?} is not an attribute or object of this event; reference dropped"),
            ),
        }
    }
}

/// An `annotation` object: a note on the objects it annotates.
fn annotation(ctx: &mut Ctx, o: &Value, path: &str) {
    let uuid = ctx.item_uuid(o, path);
    let ts = epoch(o.get("timestamp")).unwrap_or(ctx.event_ts);
    let attrs = collect_attrs(ctx, o, path);
    let mut labels = vec![
        "misp:name=\"annotation\"".to_string(),
        format!(
            "misp:meta-category=\"{}\"",
            o.get("meta-category")
                .and_then(Value::as_str)
                .unwrap_or("misc")
        ),
    ];
    let marks = ctx.tags(o, path, &mut labels);
    let mut refs = vec![];
    for r in o
        .get("ObjectReference")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let t = r
            .get("referenced_uuid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if let Some(ids) = ctx.all_of.get(&t) {
            refs.extend(ids.iter().cloned());
        }
    }
    let mut m = ctx.sdo("note", &uuid, ts);
    let content = first(&attrs, "text")
        .map(|a| a.value.clone())
        .unwrap_or_default();
    m.insert("content".into(), json!(content));
    if refs.is_empty() {
        // A STIX note must refer to something.
        ctx.warn(
            format!("{path}.ObjectReference"),
            "annotation refers to nothing in this event; skipped",
        );
        return;
    }
    m.insert("object_refs".into(), json!(refs));
    m.insert("labels".into(), json!(labels));
    if !marks.is_empty() {
        m.insert("object_marking_refs".into(), json!(marks));
    }
    let mut b = Built::default();
    rest(&mut b, &mut m, &attrs, &["text"]);
    ctx.push(m);
}
