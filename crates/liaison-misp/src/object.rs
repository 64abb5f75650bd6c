//! MISP objects (templates: file, domain-ip, ip-port, email, url, x509,
//! registry-key, process, pe, …) → one observed-data with its observables and,
//! when any attribute is for IDS, one indicator whose pattern joins the
//! attributes. The relation → property mapping of each template is the table
//! in `template.rs`; this file holds what a table cannot say (observables
//! that refer to other observables) as one hook per template shape.

use crate::attribute::{ip_type, parse_asn, parse_port};
use crate::pattern::{cmp, hash_key, hash_path, observation};
use crate::template::{
    object_at, pattern_path, set_path, template, Field, Hook, Kind, Needs, Pat, Rest, ABSORBED,
    ALIASES, PARENT_PROCESS_FIELDS, PE_EXT, PE_FIELDS, PE_SECTION_FIELDS,
};
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

/// An object folded into the one that refers to it (see `template::ABSORBED`),
/// with the objects folded into it in turn.
pub(crate) struct Merged {
    name: String,
    uuid: String,
    attrs: Vec<ObjAttr>,
    children: Vec<Merged>,
    /// The object itself, converted on its own when the object it is folded
    /// into has no observable form.
    value: Value,
    path: String,
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

pub(crate) fn x_key(relation: &str) -> String {
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
/// properties of `target` (a list when repeated; `{value, data}` for
/// attachments), and contribute comparisons `{prefix}x_misp_*` when for IDS.
fn rest(
    b: &mut Built,
    target: &mut Map<String, Value>,
    attrs: &[ObjAttr],
    used: &[&str],
    prefix: &str,
) {
    for a in attrs {
        if used.contains(&a.relation.as_str()) {
            continue;
        }
        let key = x_key(&a.relation);
        b.cmp(a, &format!("{prefix}{key}"), &a.value);
        let v = match (&a.data, a.ty.as_str()) {
            (Some(d), _) => json!({"value": a.value, "data": d}),
            // A MISP boolean is a boolean in STIX too.
            (None, "boolean") => match typed(Kind::Bool, &a.value) {
                Ok(Some((b, _))) => b,
                _ => json!(a.value),
            },
            (None, _) => json!(a.value),
        };
        match target.get_mut(&key) {
            Some(Value::Array(list)) => list.push(v),
            Some(old) => {
                let o = old.take();
                *old = json!([o, v]);
            }
            None => {
                target.insert(key, v);
            }
        }
    }
}

/// Whether some attribute is not consumed yet.
fn leftover(attrs: &[ObjAttr], used: &[&str]) -> bool {
    attrs.iter().any(|a| !used.contains(&a.relation.as_str()))
}

/// One value as its property value and the value its comparison uses;
/// `Ok(None)` when the value does not fit (it stays an `x_misp_*` property).
fn typed(kind: Kind, value: &str) -> Result<Option<(Value, String)>, String> {
    let plain = |v: Value| Ok(Some((v, value.to_string())));
    match kind {
        Kind::Str | Kind::List => plain(json!(value)),
        Kind::LowerList => plain(json!(value.to_ascii_lowercase())),
        Kind::Count => match value.parse::<u64>() {
            Ok(n) => plain(json!(n)),
            Err(_) => Ok(None),
        },
        Kind::Int => match value.parse::<i64>() {
            Ok(n) => plain(json!(n)),
            Err(_) => Ok(None),
        },
        Kind::IntOrStr => plain(
            value
                .parse::<i64>()
                .map(|n| json!(n))
                .unwrap_or(json!(value)),
        ),
        Kind::Float => match value.parse::<f64>() {
            Ok(n) if n.is_finite() => plain(json!(n)),
            _ => Ok(None),
        },
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "1" | "true" => plain(json!(true)),
            "0" | "false" => plain(json!(false)),
            _ => Ok(None),
        },
        Kind::Asn => {
            let n = parse_asn(value)?;
            Ok(Some((json!(n), n.to_string())))
        }
        Kind::Port => plain(json!(parse_port(value)?)),
        Kind::RegKey => {
            let k = crate::attribute::expand_hive(value);
            Ok(Some((json!(k), k)))
        }
    }
}

/// The table's fields of `attrs` into `m`, their comparisons at `prefix` +
/// the property path; the relations consumed are added to `used`.
fn apply_fields<'a>(
    b: &mut Built,
    m: &mut Map<String, Value>,
    attrs: &'a [ObjAttr],
    fields: &'a [Field],
    prefix: &str,
    used: &mut Vec<&'a str>,
) -> Result<(), String> {
    for f in fields {
        let many = matches!(f.kind, Kind::List | Kind::LowerList);
        let mut values = vec![];
        for a in attrs_of(attrs, f.rel) {
            let Some((v, c)) = typed(f.kind, &a.value)? else {
                continue;
            };
            // Paths are made only for what the pattern takes.
            if a.to_ids {
                match f.pat {
                    Pat::Same => b.cmp(a, &format!("{prefix}{}", pattern_path(f.path)), &c),
                    Pat::At(p) => b.cmp(a, &format!("{prefix}{p}"), &c),
                    Pat::Off => {}
                }
            }
            values.push(v);
            if !many {
                break;
            }
        }
        if values.is_empty() {
            continue;
        }
        let v = if many {
            Value::Array(values)
        } else {
            values.remove(0)
        };
        set_path(m, f.path, v);
        used.push(f.rel);
    }
    Ok(())
}

/// Hash relations (after `rel_prefix`) into `m.hashes`.
fn apply_hashes<'a>(
    b: &mut Built,
    m: &mut Map<String, Value>,
    attrs: &'a [ObjAttr],
    rel_prefix: &str,
    prefix: &str,
    used: &mut Vec<&'a str>,
) {
    let mut hashes = Map::new();
    for a in attrs {
        if let Some(k) = a.relation.strip_prefix(rel_prefix).and_then(hash_key) {
            hashes.insert(k.into(), json!(a.value));
            b.cmp(a, &hash_path(prefix, k), &a.value);
            used.push(a.relation.as_str());
        }
    }
    if !hashes.is_empty() {
        m.insert("hashes".into(), Value::Object(hashes));
    }
}

/// A template being built: the main observable (its id takes the object's
/// UUID), the observables it refers to, the relations consumed so far.
struct Job<'a> {
    b: Built,
    main: Map<String, Value>,
    extra: Vec<Map<String, Value>>,
    used: Vec<&'a str>,
    attrs: &'a [ObjAttr],
    merged: &'a [Merged],
}

impl<'a> Job<'a> {
    /// An address observable of the attribute as `side_ref` of the traffic.
    fn traffic_ip(&mut self, a: &ObjAttr, side: &str) -> Result<String, String> {
        crate::attribute::check_ip(&a.value)?;
        let ty = ip_type(&a.value);
        let mut m = sco(ty, &a.uuid);
        m.insert("value".into(), json!(a.value));
        let id = id_of(&m);
        self.main.insert(format!("{side}_ref"), json!(id));
        self.b
            .cmp(a, &format!("network-traffic:{side}_ref.type"), ty);
        self.b
            .cmp(a, &format!("network-traffic:{side}_ref.value"), &a.value);
        self.extra.push(m);
        Ok(id)
    }

    /// The source and destination addresses of a traffic.
    fn traffic_ips(&mut self, rels: &[(&'a str, &str)], all: bool) -> Result<(), String> {
        for (rel, side) in rels {
            for a in attrs_of(self.attrs, rel) {
                self.traffic_ip(a, side)?;
                if !all {
                    break;
                }
            }
            if first(self.attrs, rel).is_some() {
                self.used.push(rel);
            }
        }
        Ok(())
    }

    /// A destination host name of a traffic, compared as a domain-name
    /// destination (kept as `x_misp_*` by the quiet rest).
    fn traffic_host(&mut self, rel: &str) {
        for a in attrs_of(self.attrs, rel) {
            self.b.cmp(a, "network-traffic:dst_ref.type", "domain-name");
            self.b.cmp(a, "network-traffic:dst_ref.value", &a.value);
        }
    }

    /// Protocols from these relations, lowercased; `tcp` when none.
    fn protocols(&mut self, rels: &[&'a str]) {
        let mut protocols = vec![];
        for rel in rels {
            for a in attrs_of(self.attrs, rel) {
                let p = a.value.to_ascii_lowercase();
                self.b.cmp(a, "network-traffic:protocols[*]", &p);
                protocols.push(p);
            }
        }
        self.used.extend(rels);
        if protocols.is_empty() {
            protocols.push("tcp".into());
        }
        self.main.insert("protocols".into(), json!(protocols));
    }

    fn hook(&mut self, hook: Hook) -> Result<(), String> {
        match hook {
            Hook::None => {}
            Hook::Artifact => {
                if let Some(a) = first(self.attrs, "payload_bin") {
                    if let Some(d) = a.data.as_ref().filter(|d| crate::attribute::is_base64(d)) {
                        self.main.insert("payload_bin".into(), json!(d));
                        self.used.push("payload_bin");
                    }
                }
            }
            Hook::Email => self.email(),
            Hook::File => self.file()?,
            Hook::HttpRequest => self.http_request()?,
            Hook::Image => self.image(),
            Hook::IpPort => {
                self.traffic_ips(&[("ip-src", "src"), ("ip-dst", "dst"), ("ip", "dst")], true)?;
                self.traffic_host("domain");
                self.traffic_host("hostname");
                self.main.insert("protocols".into(), json!(["ipv4"]));
            }
            Hook::Netflow => self.netflow()?,
            Hook::NetworkConnection | Hook::NetworkSocket => {
                self.traffic_ips(&[("ip-src", "src"), ("ip-dst", "dst")], true)?;
                self.traffic_host("hostname-dst");
                self.protocols(&[
                    "layer3-protocol",
                    "layer4-protocol",
                    "layer7-protocol",
                    "protocol",
                ]);
                if hook == Hook::NetworkSocket {
                    if let Some(a) = first(self.attrs, "state") {
                        let flag = match a.value.as_str() {
                            "listening" => Some("is_listening"),
                            "blocking" => Some("is_blocking"),
                            _ => None,
                        };
                        if let Some(flag) = flag {
                            set_path(
                                &mut self.main,
                                &format!("extensions.socket-ext.{flag}"),
                                json!(true),
                            );
                            self.used.push("state");
                        }
                    }
                }
            }
            Hook::Pe => {
                // A PE without its file: the file is named after the PE's
                // original (or internal) file name.
                let name = first(self.attrs, "original-filename")
                    .or_else(|| first(self.attrs, "internal-filename"));
                if let Some(a) = name {
                    self.main.insert("name".into(), json!(a.value));
                }
                let merged = self.merged;
                self.sections(merged)?;
            }
            Hook::Process => self.process()?,
            Hook::Registry => self.registry(),
        }
        Ok(())
    }

    fn email(&mut self) {
        let attrs = self.attrs;
        let attachments: Vec<&ObjAttr> = attrs_of(attrs, "attachment").collect();
        self.main
            .insert("is_multipart".into(), json!(!attachments.is_empty()));
        self.used.push("attachment");
        for (rel, names_rel, key, many) in [
            ("from", "from-display-name", "from_ref", false),
            ("to", "to-display-name", "to_refs", true),
            ("cc", "cc-display-name", "cc_refs", true),
            ("bcc", "bcc-display-name", "bcc_refs", true),
        ] {
            let list: Vec<&ObjAttr> = attrs_of(attrs, rel).collect();
            let names: Vec<&ObjAttr> = attrs_of(attrs, names_rel).collect();
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
                self.b.cmp(a, &path, &a.value);
                self.extra.push(e);
            }
            if !ids.is_empty() {
                self.used.push(rel);
                if paired {
                    self.used.push(names_rel);
                }
                self.main
                    .insert(key.into(), if many { json!(ids) } else { json!(ids[0]) });
            }
        }
        let mut files = vec![];
        let mut parts = vec![];
        for (i, a) in attachments.iter().enumerate() {
            let mut f = sco("file", &a.uuid);
            f.insert("name".into(), json!(a.value));
            parts.push(json!({"body_raw_ref": id_of(&f), "content_disposition": format!("attachment; filename='{}'", a.value)}));
            self.b.cmp(
                a,
                &format!("email-message:body_multipart[{i}].body_raw_ref.name"),
                &a.value,
            );
            self.b.cmp(
                a,
                &format!("email-message:body_multipart[{i}].content_disposition"),
                "attachment",
            );
            files.push(f);
        }
        if !parts.is_empty() {
            self.main.insert("body_multipart".into(), json!(parts));
        }
        self.extra.extend(files);
    }

    fn file(&mut self) -> Result<(), String> {
        let attrs = self.attrs;
        if let Some(p) = first(attrs, "path") {
            let mut d = sco("directory", &p.uuid);
            d.insert("path".into(), json!(p.value));
            self.main
                .insert("parent_directory_ref".into(), json!(id_of(&d)));
            self.b.cmp(p, "file:parent_directory_ref.path", &p.value);
            self.extra.push(d);
            self.used.push("path");
        }
        if let Some(s) = first(attrs, "malware-sample") {
            let sample = s.value.split_once('|');
            let data = s.data.as_ref().filter(|d| crate::attribute::is_base64(d));
            if let Some((fname, md5)) = sample {
                let described = match (&s.data, data) {
                    // No payload: the sample is described, not carried.
                    (None, _) => {
                        self.main
                            .insert("x_misp_malware_sample".into(), json!(s.value));
                        true
                    }
                    (Some(_), Some(data)) => {
                        let mut art = sco("artifact", &s.uuid);
                        art.insert("mime_type".into(), json!("application/zip"));
                        art.insert("payload_bin".into(), json!(data));
                        art.insert("hashes".into(), json!({"MD5": md5}));
                        art.insert("encryption_algorithm".into(), json!("mime-type-indicated"));
                        art.insert("decryption_key".into(), json!("infected"));
                        art.insert("x_misp_filename".into(), json!(fname));
                        self.main.insert("content_ref".into(), json!(id_of(&art)));
                        self.b.cmp(s, "file:content_ref.payload_bin", data);
                        self.extra.push(art);
                        true
                    }
                    // A payload that is not base64: kept as MISP data.
                    (Some(_), None) => false,
                };
                if described {
                    self.used.push("malware-sample");
                    self.b.cmp(s, "file:content_ref.x_misp_filename", fname);
                    self.b.cmp(s, &hash_path("file:content_ref.", "MD5"), md5);
                    self.b
                        .cmp(s, "file:content_ref.mime_type", "application/zip");
                    self.b.cmp(
                        s,
                        "file:content_ref.encryption_algorithm",
                        "mime-type-indicated",
                    );
                    self.b.cmp(s, "file:content_ref.decryption_key", "infected");
                }
            }
        }
        // The PE the file includes is its extension.
        let merged = self.merged;
        for pe in merged.iter().filter(|m| m.name == "pe") {
            let mut used = vec![];
            apply_fields(
                &mut self.b,
                &mut self.main,
                &pe.attrs,
                PE_FIELDS,
                "file:",
                &mut used,
            )?;
            self.sections(&pe.children)?;
            if leftover(&pe.attrs, &used) {
                rest(
                    &mut self.b,
                    object_at(&mut self.main, PE_EXT),
                    &pe.attrs,
                    &used,
                    &format!("file:{}.", pattern_path(PE_EXT)),
                );
            }
        }
        Ok(())
    }

    /// The `pe-section` objects a PE includes, as the extension's sections.
    fn sections(&mut self, merged: &[Merged]) -> Result<(), String> {
        let mut sections = vec![];
        for (i, s) in merged.iter().filter(|m| m.name == "pe-section").enumerate() {
            let prefix = format!("file:{}.sections[{i}].", pattern_path(PE_EXT));
            let mut m = Map::new();
            let mut used = vec![];
            apply_fields(
                &mut self.b,
                &mut m,
                &s.attrs,
                PE_SECTION_FIELDS,
                &prefix,
                &mut used,
            )?;
            apply_hashes(&mut self.b, &mut m, &s.attrs, "", &prefix, &mut used);
            rest(&mut self.b, &mut m, &s.attrs, &used, &prefix);
            sections.push(Value::Object(m));
        }
        if !sections.is_empty() {
            object_at(&mut self.main, PE_EXT).insert("sections".into(), json!(sections));
        }
        Ok(())
    }

    fn http_request(&mut self) -> Result<(), String> {
        let attrs = self.attrs;
        let mut dst = None;
        if let Some(a) = first(attrs, "ip-src") {
            self.traffic_ip(a, "src")?;
            self.used.push("ip-src");
        }
        if let Some(a) = first(attrs, "ip-dst") {
            dst = Some(self.traffic_ip(a, "dst")?);
            self.used.push("ip-dst");
        }
        if let Some(h) = first(attrs, "host") {
            let mut d = sco("domain-name", &h.uuid);
            d.insert("value".into(), json!(h.value));
            match &dst {
                Some(ip) => {
                    d.insert("resolves_to_refs".into(), json!([ip]));
                }
                None => {
                    self.main.insert("dst_ref".into(), json!(id_of(&d)));
                }
            }
            self.traffic_host("host");
            self.extra.push(d);
            self.used.push("host");
        }
        self.main.insert("protocols".into(), json!(["tcp", "http"]));
        // The extension needs a request value: without a URI, the URL is it.
        let ext = "extensions.http-request-ext";
        let has_value = self
            .main
            .get("extensions")
            .and_then(|e| e.get("http-request-ext"))
            .is_some_and(|e| e.get("request_value").is_some());
        if !has_value {
            if let Some(url) = self.main.remove("x_misp_url") {
                set_path(&mut self.main, &format!("{ext}.request_value"), url);
            }
        }
        Ok(())
    }

    fn image(&mut self) {
        let attrs = self.attrs;
        let Some(a) = first(attrs, "attachment") else {
            return;
        };
        let Some(data) = a.data.as_ref().filter(|d| crate::attribute::is_base64(d)) else {
            return;
        };
        let mut art = sco("artifact", &a.uuid);
        let ext = a
            .value
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let mime = match ext.as_str() {
            "png" => Some("image/png"),
            "jpg" | "jpeg" => Some("image/jpeg"),
            "gif" => Some("image/gif"),
            "bmp" => Some("image/bmp"),
            "webp" => Some("image/webp"),
            "tif" | "tiff" => Some("image/tiff"),
            "svg" => Some("image/svg+xml"),
            "ico" => Some("image/vnd.microsoft.icon"),
            _ => None,
        };
        if let Some(m) = mime {
            art.insert("mime_type".into(), json!(m));
        }
        art.insert("payload_bin".into(), json!(data));
        art.insert("x_misp_filename".into(), json!(a.value));
        self.b.cmp(a, "file:content_ref.payload_bin", data);
        self.used.push("attachment");
        if let Some(u) = first(attrs, "url") {
            // The image's source travels with its content.
            art.insert("x_misp_url".into(), json!(u.value));
            self.b.cmp(u, "file:content_ref.url", &u.value);
            self.used.push("url");
        }
        self.main.insert("content_ref".into(), json!(id_of(&art)));
        self.extra.push(art);
    }

    fn netflow(&mut self) -> Result<(), String> {
        let attrs = self.attrs;
        for (rel, as_rel, side) in [("ip-src", "src-as", "src"), ("ip-dst", "dst-as", "dst")] {
            let Some(a) = first(attrs, rel) else {
                continue;
            };
            self.traffic_ip(a, side)?;
            self.used.push(rel);
            if let Some(asn) = first(attrs, as_rel) {
                let n = parse_asn(&asn.value)?;
                let mut m = sco("autonomous-system", &asn.uuid);
                m.insert("number".into(), json!(n));
                if let Some(ip) = self.extra.last_mut() {
                    ip.insert("belongs_to_refs".into(), json!([id_of(&m)]));
                }
                self.b.cmp(
                    asn,
                    &format!("network-traffic:{side}_ref.belongs_to_refs[*].number"),
                    &n.to_string(),
                );
                self.extra.push(m);
                self.used.push(as_rel);
            }
        }
        let mut protocols = vec!["tcp".to_string()];
        for a in attrs_of(attrs, "protocol") {
            let p = a.value.to_ascii_lowercase();
            self.b.cmp(a, "network-traffic:protocols[*]", &p);
            if !protocols.contains(&p) {
                protocols.push(p);
            }
        }
        self.used.push("protocol");
        self.main.insert("protocols".into(), json!(protocols));
        Ok(())
    }

    fn process(&mut self) -> Result<(), String> {
        let attrs = self.attrs;
        let mut parent = None;
        let parent_rels = [
            "parent-pid",
            "parent-command-line",
            "parent-process-name",
            "parent-image",
        ];
        if let Some(p) = parent_rels.iter().find_map(|r| first(attrs, r)) {
            let mut m = sco("process", &p.uuid);
            let mut used = vec![];
            apply_fields(
                &mut self.b,
                &mut m,
                attrs,
                PARENT_PROCESS_FIELDS,
                "process:parent_ref.",
                &mut used,
            )?;
            self.used.extend(used);
            if let Some(i) = first(attrs, "parent-image") {
                let mut f = sco("file", &i.uuid);
                f.insert("name".into(), json!(i.value));
                m.insert("image_ref".into(), json!(id_of(&f)));
                self.b.cmp(i, "process:parent_ref.image_ref.name", &i.value);
                self.extra.push(f);
                self.used.push("parent-image");
            }
            if m.len() > 3 {
                self.main.insert("parent_ref".into(), json!(id_of(&m)));
                parent = Some(m);
            }
        }
        self.extra.extend(parent);
        let mut children = vec![];
        for a in attrs_of(attrs, "child-pid") {
            let Ok(pid) = a.value.parse::<u64>() else {
                continue;
            };
            let mut m = sco("process", &a.uuid);
            m.insert("pid".into(), json!(pid));
            children.push(id_of(&m));
            self.b.cmp(a, "process:child_refs[*].pid", &a.value);
            self.extra.push(m);
        }
        if !children.is_empty() {
            self.main.insert("child_refs".into(), json!(children));
            self.used.push("child-pid");
        }
        if let Some(i) = first(attrs, "image") {
            let mut f = sco("file", &i.uuid);
            f.insert("name".into(), json!(i.value));
            self.main.insert("image_ref".into(), json!(id_of(&f)));
            self.b.cmp(i, "process:image_ref.name", &i.value);
            self.extra.push(f);
            self.used.push("image");
        }
        Ok(())
    }

    /// The key's own value and those of the `registry-key-value` objects it contains.
    fn registry(&mut self) {
        let mut values = vec![];
        let merged = self
            .merged
            .iter()
            .filter(|m| m.name == "registry-key-value")
            .map(|m| m.attrs.as_slice());
        for group in std::iter::once(self.attrs).chain(merged) {
            let mut value = Map::new();
            for (rel, key) in [
                ("name", "name"),
                ("data", "data"),
                ("data-type", "data_type"),
            ] {
                if let Some(a) = first(group, rel) {
                    value.insert(key.into(), json!(a.value));
                    self.b.cmp(
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
        self.used.extend(["name", "data", "data-type"]);
        if !values.is_empty() {
            self.main.insert("values".into(), json!(values));
        }
    }
}

/// `domain-ip`: every domain and address an observable of its own, the
/// domains resolving to the addresses.
fn domain_ip(obj_uuid: &str, attrs: &[ObjAttr]) -> Result<Option<Built>, String> {
    let mut b = Built::default();
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
        d.insert("id".into(), json!(format!("domain-name--{obj_uuid}")));
        rest(&mut b, &mut d, attrs, &["ip", "domain"], "domain-name:");
        domains.push(d);
    }
    b.scos.extend(ips);
    b.scos.extend(domains);
    Ok(Some(b))
}

/// The observables of one object by its template's table entry; `Ok(None)`
/// when the template has no observable form (or not with these attributes).
fn build(
    name: &str,
    obj_uuid: &str,
    attrs: &[ObjAttr],
    merged: &[Merged],
) -> Result<Option<Built>, String> {
    if let Some((_, target, names, _)) = ALIASES.iter().find(|(n, _, _, _)| *n == name) {
        return build(target, obj_uuid, &renamed(attrs, names), merged);
    }
    if name == "domain-ip" {
        return domain_ip(obj_uuid, attrs);
    }
    let Some(t) = template(name) else {
        return Ok(None);
    };
    if let Needs::Rel(rel) = t.needs {
        if first(attrs, rel).is_none() {
            return Ok(None);
        }
    }
    let mut job = Job {
        b: Built::default(),
        main: sco(t.ty, obj_uuid),
        extra: vec![],
        used: vec![],
        attrs,
        merged,
    };
    let prefix = format!("{}:", t.ty);
    let for_ids = attrs.iter().any(|a| a.to_ids);
    for (path, v) in t.fixed {
        set_path(&mut job.main, path, json!(v));
        if for_ids {
            job.b
                .comparisons
                .push(cmp(&format!("{prefix}{}", pattern_path(path)), v));
        }
    }
    if let Some(rel_prefix) = t.hashes {
        apply_hashes(
            &mut job.b,
            &mut job.main,
            attrs,
            rel_prefix,
            &prefix,
            &mut job.used,
        );
    }
    apply_fields(
        &mut job.b,
        &mut job.main,
        attrs,
        t.fields,
        &prefix,
        &mut job.used,
    )?;
    job.hook(t.hook)?;
    let empty = match t.needs {
        Needs::AnyProperty => job.main.len() == 3,
        Needs::AnyOf(keys) => !keys.iter().any(|k| job.main.contains_key(*k)),
        Needs::Nothing | Needs::Rel(_) => false,
    };
    if empty {
        return Ok(None);
    }
    match t.rest {
        Rest::Main => rest(&mut job.b, &mut job.main, attrs, &job.used, &prefix),
        Rest::Quiet => rest(
            &mut Built::default(),
            &mut job.main,
            attrs,
            &job.used,
            &prefix,
        ),
        Rest::At(path) if leftover(attrs, &job.used) => {
            let at = format!("{prefix}{}.", pattern_path(path));
            rest(
                &mut job.b,
                object_at(&mut job.main, path),
                attrs,
                &job.used,
                &at,
            )
        }
        Rest::At(_) => {}
    }
    let mut b = job.b;
    b.scos.push(job.main);
    b.scos.extend(job.extra);
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
        // MISP's JSON may carry a boolean attribute's value as a JSON boolean.
        let value = text(a.get("value")).or_else(|| {
            a.get("value")
                .and_then(Value::as_bool)
                .map(|b| if b { "1" } else { "0" }.to_string())
        });
        let Some(value) = value else {
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

/// SDO templates that are a name (required), a description and constant
/// properties: (template, SDO type, constants).
type NamedSdo = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const NAMED_SDOS: &[NamedSdo] = &[
    ("course-of-action", "course-of-action", &[]),
    ("intrusion-set", "intrusion-set", &[]),
    (
        "organization",
        "identity",
        &[("identity_class", "organization")],
    ),
    (
        "legal-entity",
        "identity",
        &[("identity_class", "organization")],
    ),
    (
        "news-agency",
        "identity",
        &[("identity_class", "organization")],
    ),
];

/// SDO templates: vulnerability, course-of-action, attack-pattern, person…
fn sdo_object(
    ctx: &mut Ctx,
    name: &str,
    uuid: &str,
    ts: i64,
    attrs: &[ObjAttr],
) -> Option<Map<String, Value>> {
    let get = |rel: &str| first(attrs, rel).map(|a| a.value.clone());
    if let Some((_, ty, fixed)) = NAMED_SDOS.iter().find(|(t, _, _)| *t == name) {
        let mut m = ctx.sdo(ty, uuid, ts);
        m.insert("name".into(), json!(get("name")?));
        if let Some(d) = get("description") {
            m.insert("description".into(), json!(d));
        }
        for (k, v) in *fixed {
            m.insert((*k).into(), json!(v));
        }
        rest(
            &mut Built::default(),
            &mut m,
            attrs,
            &["name", "description"],
            "",
        );
        return Some(m);
    }
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
    rest(&mut b, &mut m, attrs, &used, "");
    Some(m)
}

/// Registry values a registry key `contains` become part of the key's
/// observable (as MISP's export does) instead of objects of their own.
pub(crate) fn find_absorbed(ctx: &mut Ctx, objs: &[Value]) {
    let by_uuid: std::collections::HashMap<&str, &Value> = objs
        .iter()
        .filter(|o| ABSORBED.iter().any(|(_, _, child)| *child == name_of(o)))
        .filter_map(|o| Some((o.get("uuid")?.as_str()?, o)))
        .collect();
    if by_uuid.is_empty() {
        return;
    }
    for o in objs {
        for r in object_refs(o) {
            let target = r
                .get("referenced_uuid")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(v) = by_uuid.get(target) {
                if folds(o, r, v) {
                    ctx.absorbed
                        .insert(target.to_ascii_lowercase(), (*v).clone());
                }
            }
        }
    }
}

fn name_of(o: &Value) -> &str {
    o.get("name").and_then(Value::as_str).unwrap_or_default()
}

fn object_refs(o: &Value) -> impl Iterator<Item = &Value> {
    o.get("ObjectReference")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Whether `parent`'s reference `r` folds `child` into it.
fn folds(parent: &Value, r: &Value, child: &Value) -> bool {
    let rel = r
        .get("relationship_type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    ABSORBED
        .iter()
        .any(|(p, how, c)| *p == name_of(parent) && *how == rel && *c == name_of(child))
}

/// The objects folded into `o`, each with those folded into it.
fn merged_values(ctx: &mut Ctx, o: &Value, path: &str) -> Vec<Merged> {
    let mut out = vec![];
    for (i, r) in object_refs(o).enumerate() {
        let target = r
            .get("referenced_uuid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let Some(v) = ctx.absorbed.get(&target).cloned() else {
            continue;
        };
        if !folds(o, r, &v) {
            continue;
        }
        // Warnings name the object where it stands, and the reference that folded it.
        let vpath = format!("{path}.ObjectReference[{i}] (object {target})");
        let attrs = collect_attrs(ctx, &v, &vpath);
        let children = merged_values(ctx, &v, &vpath);
        out.push(Merged {
            name: name_of(&v).to_string(),
            uuid: target,
            attrs,
            children,
            value: v,
            path: vpath,
        });
    }
    out
}

/// Folded objects stand for the observable they became (for references
/// to them and sightings of them).
fn map_merged(ctx: &mut Ctx, merged: &[Merged], main: &str) {
    for m in merged {
        ctx.stix_of.insert(m.uuid.clone(), main.to_string());
        for a in &m.attrs {
            ctx.stix_of
                .entry(a.uuid.clone())
                .or_insert_with(|| main.to_string());
        }
        map_merged(ctx, &m.children, main);
    }
}

/// What an object becomes when it is not kept as MISP data.
enum Form {
    Observable(Built),
    Sdo(Map<String, Value>),
}

/// One MISP object (objects folded into another are converted with it).
pub(crate) fn convert(ctx: &mut Ctx, o: &Value, path: &str) {
    if let Some(u) = o.get("uuid").and_then(Value::as_str) {
        if ctx.absorbed.contains_key(&u.to_ascii_lowercase()) {
            return;
        }
    }
    convert_object(ctx, o, path);
}

fn convert_object(ctx: &mut Ctx, o: &Value, path: &str) {
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
    if ctx.stix_of.contains_key(&uuid) {
        // STIX ids name one object: the first with this UUID is the one kept.
        ctx.warn(
            format!("{path}.uuid"),
            format!("UUID {uuid} is already used by another object of this event; this object's content is not in the STIX output"),
        );
    }
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
    let merged = merged_values(ctx, o, path);
    let built = build(name, &uuid, &attrs, &merged).and_then(|b| match b {
        Some(mut b) => match crate::to_stix::invalid_sco(&mut b.scos) {
            Some(why) => Err(format!("not a valid STIX observable ({why})")),
            None => Ok(Some(b)),
        },
        None => Ok(None),
    });
    let observable = matches!(built, Ok(Some(_)));
    let built = match built {
        Err(why) => {
            ctx.warn(
                format!("{path}.Attribute"),
                format!("{why}; object kept as x-misp-object"),
            );
            None
        }
        Ok(None) => sdo_object(ctx, name, &uuid, ts, &attrs).map(Form::Sdo),
        Ok(Some(b)) => Some(Form::Observable(b)),
    };
    let main = match built {
        Some(Form::Observable(b)) => {
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
        Some(Form::Sdo(mut m)) => {
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
    };
    if !observable {
        // Nothing to fold them into: the folded objects stand on their own.
        for m in &merged {
            convert_object(ctx, &m.value, &m.path);
        }
    }
    if main.is_empty() {
        return;
    }
    if observable {
        map_merged(ctx, &merged, &main);
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
    rest(&mut b, &mut m, &attrs, &["text"], "");
    ctx.push(m);
}
