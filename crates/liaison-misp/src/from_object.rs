//! STIX → MISP for observed-data that came from a MISP object template: the
//! template's table (`template.rs`) read backwards, plus the observables the
//! main one refers to (addresses, images, parent processes, PE sections).
//!
//! What STIX cannot tell is decided thus: an attribute is for IDS when the
//! object's indicator makes the comparison the attribute makes on the way
//! out; an `x_misp_*` property comes back with the relation and type the
//! template's `also` column gives, else as a `text` attribute whose relation
//! is the property name with `-` for `_`.

use crate::pattern::{escape, hash_path};
use crate::template::{
    get_path, pattern_path, template, Field, Hook, Kind, Pat, Rest, Template, ALIASES,
    PARENT_PROCESS_FIELDS, PE_EXT, PE_FIELDS, PE_SECTION_FIELDS,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// One attribute on its way back.
struct Back {
    rel: String,
    ty: String,
    value: String,
    data: Option<String>,
    /// The observable it became on its own (its UUID is the attribute's).
    own: Option<String>,
    /// The comparison it makes when for IDS: (pattern path, value).
    cmp: Option<(String, String)>,
}

/// A MISP object on its way back.
struct Obj {
    name: String,
    uuid: String,
    meta: String,
    attrs: Vec<Back>,
    /// (relationship, object UUID) of the objects folded into this one.
    refs: Vec<(String, String)>,
}

struct Reader<'a> {
    scos: &'a [&'a Value],
    /// The pattern of the object's indicator ("" without one).
    pattern: &'a str,
}

fn text_of(v: &Value, kind: Kind) -> Option<String> {
    match (v, kind) {
        (Value::Number(n), Kind::Asn) => Some(format!("AS{n}")),
        (Value::String(s), _) => Some(s.clone()),
        (Value::Number(n), _) => Some(n.to_string()),
        // MISP's own spelling of a boolean attribute.
        (Value::Bool(b), _) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

/// The MISP hash type of a STIX `hashes` key (`SHA-256` → `sha256`).
fn misp_hash(key: &str) -> Option<&'static str> {
    [
        "md5",
        "sha1",
        "sha224",
        "sha256",
        "sha384",
        "sha512",
        "sha512/224",
        "sha512/256",
        "sha3-224",
        "sha3-256",
        "sha3-384",
        "sha3-512",
        "ssdeep",
        "tlsh",
        "imphash",
        "impfuzzy",
        "authentihash",
        "vhash",
        "pehash",
        "telfhash",
        "cdhash",
    ]
    .into_iter()
    .find(|t| crate::pattern::hash_key(t) == Some(key))
}

fn back(rel: &str, ty: &str, value: String) -> Back {
    Back {
        rel: rel.to_string(),
        ty: ty.to_string(),
        value,
        data: None,
        own: None,
        cmp: None,
    }
}

impl Back {
    /// Compared at `path` with its own value.
    fn at(mut self, path: impl Into<String>) -> Back {
        self.cmp = Some((path.into(), self.value.clone()));
        self
    }
    fn own(mut self, s: &Value) -> Back {
        self.own = s["id"].as_str().map(str::to_string);
        self
    }
}

impl Reader<'_> {
    fn get(&self, id: &Value) -> Option<&Value> {
        let id = id.as_str()?;
        self.scos.iter().copied().find(|s| s["id"] == id)
    }

    /// The table's fields of `v` (paths relative to it, comparisons at `prefix` + path).
    fn fields(&self, v: &Value, fields: &[Field], prefix: &str, out: &mut Vec<Back>) {
        for f in fields {
            let Some(p) = get_path(v, f.path) else {
                continue;
            };
            let values = match p {
                Value::Array(list) => list.iter().collect(),
                one => vec![one],
            };
            for x in values {
                let Some(s) = text_of(x, f.kind) else {
                    continue;
                };
                let mut b = back(f.rel, f.misp, s);
                let path = match f.pat {
                    Pat::Same => Some(pattern_path(f.path)),
                    Pat::Off => None,
                    Pat::At(p) => Some(p.to_string()),
                };
                if let Some(p) = path {
                    let value = match (f.kind, x) {
                        (Kind::Asn, Value::Number(n)) => n.to_string(),
                        _ => b.value.clone(),
                    };
                    b.cmp = Some((format!("{prefix}{p}"), value));
                }
                out.push(b);
            }
        }
    }

    fn hashes(&self, v: &Value, rel_prefix: &str, prefix: &str, out: &mut Vec<Back>) {
        for (k, h) in v["hashes"].as_object().into_iter().flatten() {
            if let (Some(t), Some(h)) = (misp_hash(k), h.as_str()) {
                let rel = format!("{rel_prefix}{t}");
                out.push(back(&rel, &rel, h.to_string()).at(hash_path(prefix, k)));
            }
        }
    }

    /// `x_misp_*` properties of `v` the fields do not name; `also` gives the
    /// relation and type of those the template knows.
    fn custom(
        &self,
        v: &Value,
        fields: &[Field],
        also: &[(&str, &str)],
        at: &str,
        prefix: &str,
        out: &mut Vec<Back>,
    ) {
        for (k, x) in v.as_object().into_iter().flatten() {
            let Some(rel) = k.strip_prefix("x_misp_") else {
                continue;
            };
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if fields.iter().any(|f| f.path == path) {
                continue;
            }
            let known = also.iter().find(|(r, _)| crate::object::x_key(r) == *k);
            let (rel, ty) = match known {
                Some((r, t)) => (r.to_string(), *t),
                None => (rel.replace('_', "-"), "text"),
            };
            let values = match x {
                Value::Array(list) => list.iter().collect(),
                one => vec![one],
            };
            for x in values {
                match x {
                    Value::Object(o) => {
                        let mut b = back(
                            &rel,
                            if known.is_some() { ty } else { "attachment" },
                            o.get("value")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .into(),
                        );
                        b.data = o.get("data").and_then(Value::as_str).map(str::to_string);
                        out.push(b.at(format!("{prefix}{k}")));
                    }
                    other => {
                        if let Some(s) = text_of(other, Kind::Str) {
                            out.push(back(&rel, ty, s).at(format!("{prefix}{k}")));
                        }
                    }
                }
            }
        }
    }

    /// The address or host observable at `side` (`src_ref`, `dst_ref`) of a traffic.
    fn address(&self, main: &Value, side: &str, ip_rel: &str, host_rel: &str, out: &mut Vec<Back>) {
        let id = &main[side];
        let Some(s) = self.get(id) else {
            return;
        };
        let Some(v) = s["value"].as_str() else {
            return;
        };
        let (rel, ty) = match s["type"].as_str() {
            Some("domain-name") => (host_rel, "hostname"),
            _ if side == "src_ref" => (ip_rel, "ip-src"),
            _ => (ip_rel, "ip-dst"),
        };
        out.push(
            back(rel, ty, v.to_string())
                .own(s)
                .at(format!("network-traffic:{side}.value")),
        );
    }

    fn sections(&self, pe: &Value, pe_uuid: &str, objs: &mut Vec<Obj>) -> Vec<(String, String)> {
        let mut refs = vec![];
        let list = get_path(pe, &format!("{PE_EXT}.sections"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, s) in list.iter().enumerate() {
            let mut attrs = vec![];
            let prefix = format!("file:{}.sections[{i}].", pattern_path(PE_EXT));
            self.fields(s, PE_SECTION_FIELDS, &prefix, &mut attrs);
            self.hashes(s, "", &prefix, &mut attrs);
            self.custom(s, PE_SECTION_FIELDS, &[], "", &prefix, &mut attrs);
            let uuid = derived(&format!("{pe_uuid}:pe-section:{i}"));
            refs.push(("includes".to_string(), uuid.clone()));
            objs.push(Obj {
                name: "pe-section".into(),
                uuid,
                meta: "file".into(),
                attrs,
                refs: vec![],
            });
        }
        refs
    }

    /// The PE extension of a file as a `pe` object (with its sections).
    fn pe(&self, file: &Value, uuid: &str, objs: &mut Vec<Obj>) -> Obj {
        let mut attrs = vec![];
        self.fields(file, PE_FIELDS, "file:", &mut attrs);
        if let Some(ext) = get_path(file, PE_EXT) {
            let prefix = format!("file:{}.", pattern_path(PE_EXT));
            self.custom(ext, PE_FIELDS, &[], PE_EXT, &prefix, &mut attrs);
        }
        let refs = self.sections(file, uuid, objs);
        Obj {
            name: "pe".into(),
            uuid: uuid.to_string(),
            meta: "file".into(),
            attrs,
            refs,
        }
    }

    /// What the template's hook made, read back.
    fn hook(
        &self,
        t: &Template,
        main: &Value,
        uuid: &str,
        out: &mut Vec<Back>,
        objs: &mut Vec<Obj>,
    ) -> Vec<(String, String)> {
        let mut refs = vec![];
        match t.hook {
            Hook::IpPort
            | Hook::NetworkConnection
            | Hook::NetworkSocket
            | Hook::Netflow
            | Hook::HttpRequest => {
                let host = match t.hook {
                    Hook::HttpRequest => "host",
                    Hook::IpPort => "hostname",
                    _ => "hostname-dst",
                };
                self.address(main, "src_ref", "ip-src", "hostname-src", out);
                // ip-port's destination is its `ip`.
                let dst = if t.hook == Hook::IpPort {
                    "ip"
                } else {
                    "ip-dst"
                };
                self.address(main, "dst_ref", dst, host, out);
                if t.hook == Hook::HttpRequest {
                    // The host resolving to the destination address.
                    for s in self.scos.iter().filter(|s| s["type"] == "domain-name") {
                        if s["resolves_to_refs"]
                            .as_array()
                            .is_some_and(|r| r.contains(&main["dst_ref"]))
                        {
                            if let Some(v) = s["value"].as_str() {
                                out.push(
                                    back("host", "hostname", v.to_string())
                                        .own(s)
                                        .at("network-traffic:dst_ref.value"),
                                );
                            }
                        }
                    }
                }
                if t.hook == Hook::Netflow {
                    for (side, rel) in [("src_ref", "src-as"), ("dst_ref", "dst-as")] {
                        let ip = self.get(&main[side]);
                        let asn = ip
                            .and_then(|ip| ip["belongs_to_refs"].get(0))
                            .and_then(|r| self.get(r));
                        if let Some(a) = asn {
                            if let Some(n) = a["number"].as_u64() {
                                let mut b = back(rel, "AS", format!("AS{n}")).own(a);
                                b.cmp = Some((
                                    format!("network-traffic:{side}.belongs_to_refs[*].number"),
                                    n.to_string(),
                                ));
                                out.push(b);
                            }
                        }
                    }
                    // `tcp` is what every flow gets; others were the MISP protocol (upper case there).
                    for p in main["protocols"].as_array().into_iter().flatten().skip(1) {
                        if let Some(p) = p.as_str() {
                            let mut b = back("protocol", "text", p.to_ascii_uppercase());
                            b.cmp = Some(("network-traffic:protocols[*]".into(), p.to_string()));
                            out.push(b);
                        }
                    }
                }
                if matches!(t.hook, Hook::NetworkConnection | Hook::NetworkSocket) {
                    // Protocols back by their layer (MISP writes them in upper case).
                    for p in main["protocols"].as_array().into_iter().flatten() {
                        let Some(p) = p.as_str() else {
                            continue;
                        };
                        let rel = match (t.hook, p) {
                            (Hook::NetworkSocket, _) => "protocol",
                            (_, "ip" | "ipv4" | "ipv6" | "icmp" | "arp") => "layer3-protocol",
                            (_, "tcp" | "udp" | "sctp") => "layer4-protocol",
                            _ => "layer7-protocol",
                        };
                        let mut b = back(rel, "text", p.to_ascii_uppercase());
                        b.cmp = Some(("network-traffic:protocols[*]".into(), p.to_string()));
                        out.push(b);
                    }
                }
                if t.hook == Hook::NetworkSocket {
                    let ext = &main["extensions"]["socket-ext"];
                    for (flag, state) in
                        [("is_listening", "listening"), ("is_blocking", "blocking")]
                    {
                        if ext[flag] == true {
                            out.push(back("state", "text", state.to_string()));
                        }
                    }
                }
            }
            Hook::File => {
                if let Some(d) = self.get(&main["parent_directory_ref"]) {
                    if let Some(p) = d["path"].as_str() {
                        out.push(
                            back("path", "text", p.to_string())
                                .own(d)
                                .at("file:parent_directory_ref.path"),
                        );
                    }
                }
                if let Some(a) = self.get(&main["content_ref"]) {
                    if let (Some(f), Some(md5), Some(data)) = (
                        a["x_misp_filename"].as_str(),
                        a["hashes"]["MD5"].as_str(),
                        a["payload_bin"].as_str(),
                    ) {
                        let mut b =
                            back("malware-sample", "malware-sample", format!("{f}|{md5}")).own(a);
                        b.data = Some(data.to_string());
                        b.cmp = Some(("file:content_ref.payload_bin".into(), data.to_string()));
                        out.push(b);
                    }
                }
                if get_path(main, PE_EXT).is_some() {
                    let pe_uuid = derived(&format!("{uuid}:pe"));
                    let pe = self.pe(main, &pe_uuid, objs);
                    objs.push(pe);
                    refs.push(("includes".to_string(), pe_uuid));
                }
            }
            Hook::Pe => refs = self.sections(main, uuid, objs),
            Hook::Image => {
                if let Some(a) = self.get(&main["content_ref"]) {
                    let mut b = back(
                        "attachment",
                        "attachment",
                        a["x_misp_filename"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    );
                    b.data = a["payload_bin"].as_str().map(str::to_string);
                    b.own = a["id"].as_str().map(str::to_string);
                    if let Some(d) = &b.data {
                        b.cmp = Some(("file:content_ref.payload_bin".into(), d.clone()));
                    }
                    out.push(b);
                    if let Some(u) = a["x_misp_url"].as_str() {
                        out.push(back("url", "url", u.to_string()).at("file:content_ref.url"));
                    }
                }
            }
            Hook::Process => {
                if let Some(p) = self.get(&main["parent_ref"]) {
                    let before = out.len();
                    self.fields(p, PARENT_PROCESS_FIELDS, "process:parent_ref.", out);
                    if let Some(b) = out.get_mut(before) {
                        b.own = p["id"].as_str().map(str::to_string);
                    }
                    self.file_name(
                        &p["image_ref"],
                        "parent-image",
                        "process:parent_ref.image_ref.name",
                        out,
                    );
                }
                for c in main["child_refs"].as_array().into_iter().flatten() {
                    if let Some(c) = self.get(c) {
                        if let Some(pid) = c["pid"].as_u64() {
                            out.push(
                                back("child-pid", "text", pid.to_string())
                                    .own(c)
                                    .at("process:child_refs[*].pid"),
                            );
                        }
                    }
                }
                self.file_name(&main["image_ref"], "image", "process:image_ref.name", out);
            }
            Hook::Registry => {
                for (i, v) in main["values"].as_array().into_iter().flatten().enumerate() {
                    let mut attrs = vec![];
                    for (rel, key) in [
                        ("name", "name"),
                        ("data", "data"),
                        ("data-type", "data_type"),
                    ] {
                        if let Some(x) = v[key].as_str() {
                            attrs.push(
                                back(rel, "text", x.to_string())
                                    .at(format!("windows-registry-key:values[*].{key}")),
                            );
                        }
                    }
                    if i == 0 {
                        // The key's own value; further ones were objects of their own.
                        out.extend(attrs);
                        continue;
                    }
                    let u = derived(&format!("{uuid}:registry-key-value:{i}"));
                    refs.push(("contains".to_string(), u.clone()));
                    objs.push(Obj {
                        name: "registry-key-value".into(),
                        uuid: u,
                        meta: "misc".into(),
                        attrs,
                        refs: vec![],
                    });
                }
            }
            Hook::Email => {
                for (key, rel, names) in [
                    ("from_ref", "from", "from-display-name"),
                    ("to_refs", "to", "to-display-name"),
                    ("cc_refs", "cc", "cc-display-name"),
                    ("bcc_refs", "bcc", "bcc-display-name"),
                ] {
                    let ids: Vec<&Value> = match &main[key] {
                        Value::Array(list) => list.iter().collect(),
                        Value::Null => vec![],
                        one => vec![one],
                    };
                    let ty = if rel == "from" {
                        "email-src"
                    } else {
                        "email-dst"
                    };
                    for (i, id) in ids.into_iter().enumerate() {
                        let Some(e) = self.get(id) else {
                            continue;
                        };
                        if let Some(v) = e["value"].as_str() {
                            let path = if rel == "from" {
                                format!("email-message:{key}.value")
                            } else {
                                format!("email-message:{key}[{i}].value")
                            };
                            out.push(back(rel, ty, v.to_string()).own(e).at(path));
                        }
                        if let Some(n) = e["display_name"].as_str() {
                            out.push(back(names, &format!("{ty}-display-name"), n.to_string()));
                        }
                    }
                }
                for (i, part) in main["body_multipart"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let path = format!("email-message:body_multipart[{i}].body_raw_ref.name");
                    self.file_name(&part["body_raw_ref"], "attachment", &path, out);
                    if let Some(b) = out.last_mut().filter(|b| b.rel == "attachment") {
                        b.ty = "email-attachment".into();
                    }
                }
            }
            Hook::Artifact => {
                if let Some(d) = main["payload_bin"].as_str() {
                    let mut b = back("payload_bin", "attachment", "payload_bin".to_string());
                    b.data = Some(d.to_string());
                    out.push(b);
                }
            }
            Hook::None => {}
        }
        refs
    }

    fn file_name(&self, id: &Value, rel: &str, path: &str, out: &mut Vec<Back>) {
        if let Some(f) = self.get(id) {
            if let Some(n) = f["name"].as_str() {
                out.push(back(rel, "filename", n.to_string()).own(f).at(path));
            }
        }
    }

    /// Whether the object's indicator makes this attribute's comparison.
    fn for_ids(&self, b: &Back) -> bool {
        b.cmp.as_ref().is_some_and(|(path, value)| {
            self.pattern
                .contains(&format!("{path} = '{}'", escape(value)))
        })
    }

    fn attribute(&self, b: &Back, i: usize, ts: &str, obj_uuid: &str) -> Value {
        let uuid = b
            .own
            .as_deref()
            .and_then(|id| id.split_once("--"))
            .map(|(_, u)| u.to_string())
            .unwrap_or_else(|| derived(&format!("{obj_uuid}:{}:{i}", b.rel)));
        let mut a = json!({
            "uuid": uuid, "type": b.ty, "object_relation": b.rel,
            "category": crate::default_category(&b.ty).unwrap_or("Other"),
            "value": b.value, "to_ids": self.for_ids(b), "timestamp": ts,
        });
        if let Some(d) = &b.data {
            a["data"] = json!(d);
        }
        a
    }
}

/// `x_misp_*` properties whose comparison is not at their own path: host
/// names of traffic are compared as the destination, a described malware
/// sample as the file's content.
fn compared_elsewhere(hook: Hook, b: &mut Back) {
    let cmp = match (hook, b.rel.as_str()) {
        (Hook::IpPort, "domain" | "hostname")
        | (Hook::NetworkConnection | Hook::NetworkSocket, "hostname-dst") => {
            ("network-traffic:dst_ref.value".to_string(), b.value.clone())
        }
        (Hook::File, "malware-sample") if b.own.is_none() => match b.value.split_once('|') {
            Some((name, _)) => (
                "file:content_ref.x_misp_filename".to_string(),
                name.to_string(),
            ),
            None => return,
        },
        _ => return,
    };
    b.cmp = Some(cmp);
}

fn derived(seed: &str) -> String {
    Uuid::new_v5(&crate::to_stix::NAMESPACE, seed.as_bytes()).to_string()
}

/// The MISP objects (the template's, then those folded into it) an
/// observed-data labelled `misp:name="{name}"` stands for; `None` when the
/// template is not in the table or its main observable is missing.
pub(crate) fn objects(
    name: &str,
    uuid: &str,
    meta: &str,
    ts: &str,
    scos: &[&Value],
    pattern: &str,
) -> Option<Vec<Value>> {
    let alias = ALIASES.iter().find(|(n, _, _, _)| *n == name);
    let t = template(alias.map(|(_, target, _, _)| *target).unwrap_or(name))?;
    let main_id = format!("{}--{uuid}", t.ty);
    let main = scos.iter().copied().find(|s| s["id"] == main_id.as_str())?;
    let r = Reader { scos, pattern };
    let mut attrs = vec![];
    let mut objs = vec![];
    let prefix = format!("{}:", t.ty);
    if let Some(rel_prefix) = t.hashes {
        r.hashes(main, rel_prefix, &prefix, &mut attrs);
    }
    r.fields(main, t.fields, &prefix, &mut attrs);
    let refs = r.hook(t, main, uuid, &mut attrs, &mut objs);
    match t.rest {
        Rest::Main | Rest::Quiet => {
            let also = alias.map(|(_, _, _, also)| *also).unwrap_or(t.also);
            r.custom(main, t.fields, also, "", &prefix, &mut attrs)
        }
        Rest::At(path) => {
            if let Some(at) = get_path(main, path) {
                let at_prefix = format!("{prefix}{}.", pattern_path(path));
                r.custom(at, t.fields, t.also, path, &at_prefix, &mut attrs);
            }
        }
    }
    for b in &mut attrs {
        compared_elsewhere(t.hook, b);
    }
    if let Some((_, _, names, _)) = alias {
        for b in &mut attrs {
            if let Some((from, _)) = names.iter().find(|(_, to)| *to == b.rel) {
                b.rel = (*from).to_string();
            }
        }
    }
    objs.insert(
        0,
        Obj {
            name: name.to_string(),
            uuid: uuid.to_string(),
            meta: meta.to_string(),
            attrs,
            refs,
        },
    );
    Some(
        objs.iter()
            .map(|o| {
                let list: Vec<Value> = o
                    .attrs
                    .iter()
                    .enumerate()
                    .map(|(i, b)| r.attribute(b, i, ts, &o.uuid))
                    .collect();
                let refs: Vec<Value> = o
                    .refs
                    .iter()
                    .map(|(rel, target)| {
                        json!({"uuid": derived(&format!("{}:{rel}:{target}", o.uuid)),
                               "object_uuid": o.uuid, "referenced_uuid": target,
                               "relationship_type": rel})
                    })
                    .collect();
                let mut v = json!({"uuid": o.uuid, "name": o.name, "meta-category": o.meta,
                                   "timestamp": ts, "Attribute": list});
                if !refs.is_empty() {
                    v["ObjectReference"] = json!(refs);
                }
                v
            })
            .collect(),
    )
}
