//! MISP objects (templates: file, domain-ip, ip-port, email, url, x509,
//! registry-key, …) → one observed-data with its observables and, when any
//! attribute is for IDS, one indicator whose pattern joins the attributes.

use crate::attribute::{ip_type, parse_asn, parse_port};
use crate::pattern::{cmp, hash_key, hash_path, observation};
use crate::to_stix::{epoch, misp_bool, text, Ctx};
use crate::types::default_to_ids;
use serde_json::{json, Map, Value};

/// One attribute of an object, as the converters need it.
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

/// Observables and comparisons of a template, or `None` when the template
/// has no observable mapping.
struct Built {
    scos: Vec<Map<String, Value>>,
    comparisons: Vec<String>,
}

fn attrs_of<'a>(attrs: &'a [ObjAttr], rel: &str) -> impl Iterator<Item = &'a ObjAttr> + 'a {
    let rel = rel.to_string();
    attrs.iter().filter(move |a| a.relation == rel)
}

fn first<'a>(attrs: &'a [ObjAttr], rel: &str) -> Option<&'a ObjAttr> {
    attrs.iter().find(|a| a.relation == rel)
}

fn x_key(relation: &str) -> String {
    format!("x_misp_{}", relation.replace(['-', ' ', '.'], "_"))
}

/// Attributes not consumed by a template mapping are kept as `x_misp_*`
/// properties of the main observable.
fn rest(main: &mut Map<String, Value>, attrs: &[ObjAttr], used: &[&str]) {
    for a in attrs {
        if used.contains(&a.relation.as_str()) {
            continue;
        }
        let key = x_key(&a.relation);
        match main.get_mut(&key) {
            Some(Value::Array(list)) => list.push(json!(a.value)),
            Some(v) => {
                let old = v.take();
                *v = json!([old, a.value]);
            }
            None => {
                main.insert(key, json!(a.value));
            }
        }
    }
}

fn build(name: &str, obj_uuid: &str, attrs: &[ObjAttr]) -> Result<Option<Built>, String> {
    let mut scos = vec![];
    let mut comparisons = vec![];
    match name {
        "domain-ip" => {
            let mut ips = vec![];
            for a in attrs.iter().filter(|a| a.relation == "ip") {
                let ty = ip_type(&a.value);
                let mut m = sco(ty, &a.uuid);
                m.insert("value".into(), json!(a.value));
                ips.push(m);
            }
            let ip_ids: Vec<String> = ips.iter().map(id_of).collect();
            let mut domains = vec![];
            for a in attrs
                .iter()
                .filter(|a| a.relation == "domain" || a.relation == "hostname")
            {
                let mut m = sco("domain-name", &a.uuid);
                m.insert("value".into(), json!(a.value));
                if !ip_ids.is_empty() {
                    m.insert("resolves_to_refs".into(), json!(ip_ids));
                }
                comparisons.push(cmp("domain-name:value", &a.value));
                domains.push(m);
            }
            for a in attrs.iter().filter(|a| a.relation == "ip") {
                comparisons.push(cmp("domain-name:resolves_to_refs[*].value", &a.value));
            }
            if domains.is_empty() {
                return Ok(None);
            }
            if let Some(d) = domains.first_mut() {
                rest(d, attrs, &["ip", "domain", "hostname"]);
            }
            scos.extend(ips);
            scos.extend(domains);
        }
        "ip-port" => {
            let mut nt = sco("network-traffic", obj_uuid);
            let mut addrs = vec![];
            for side in ["src", "dst"] {
                for a in attrs_of(attrs, &format!("ip-{side}")) {
                    let ty = ip_type(&a.value);
                    let mut m = sco(ty, &a.uuid);
                    m.insert("value".into(), json!(a.value));
                    nt.insert(format!("{side}_ref"), json!(id_of(&m)));
                    comparisons.push(cmp(&format!("network-traffic:{side}_ref.type"), ty));
                    comparisons.push(cmp(&format!("network-traffic:{side}_ref.value"), &a.value));
                    addrs.push(m);
                }
                if let Some(p) = first(attrs, &format!("{side}-port")) {
                    nt.insert(format!("{side}_port"), json!(parse_port(&p.value)?));
                    comparisons.push(cmp(&format!("network-traffic:{side}_port"), &p.value));
                }
            }
            for a in attrs_of(attrs, "ip") {
                let ty = ip_type(&a.value);
                let mut m = sco(ty, &a.uuid);
                m.insert("value".into(), json!(a.value));
                nt.insert("dst_ref".into(), json!(id_of(&m)));
                comparisons.push(cmp("network-traffic:dst_ref.type", ty));
                comparisons.push(cmp("network-traffic:dst_ref.value", &a.value));
                addrs.push(m);
            }
            if let Some(fs) = first(attrs, "first-seen") {
                nt.insert("start".into(), json!(fs.value));
            }
            nt.insert("protocols".into(), json!(["ipv4"]));
            rest(
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
            scos.push(nt);
            scos.extend(addrs);
        }
        "url" => {
            let Some(u) = first(attrs, "url") else {
                return Ok(None);
            };
            let mut m = sco("url", obj_uuid);
            m.insert("value".into(), json!(u.value));
            comparisons.push(cmp("url:value", &u.value));
            rest(&mut m, attrs, &["url"]);
            scos.push(m);
        }
        "asn" => {
            let Some(a) = first(attrs, "asn") else {
                return Ok(None);
            };
            let n = parse_asn(&a.value)?;
            let mut m = sco("autonomous-system", obj_uuid);
            m.insert("number".into(), json!(n));
            comparisons.push(cmp("autonomous-system:number", &n.to_string()));
            if let Some(d) = first(attrs, "description") {
                m.insert("name".into(), json!(d.value));
                comparisons.push(cmp("autonomous-system:name", &d.value));
            }
            let subnets: Vec<&str> = attrs_of(attrs, "subnet-announced")
                .map(|a| a.value.as_str())
                .collect();
            if !subnets.is_empty() {
                m.insert("x_misp_subnet_announced".into(), json!(subnets));
            }
            rest(&mut m, attrs, &["asn", "description", "subnet-announced"]);
            scos.push(m);
        }
        "mutex" => {
            let Some(a) = first(attrs, "name") else {
                return Ok(None);
            };
            let mut m = sco("mutex", obj_uuid);
            m.insert("name".into(), json!(a.value));
            comparisons.push(cmp("mutex:name", &a.value));
            rest(&mut m, attrs, &["name"]);
            scos.push(m);
        }
        "x509" => {
            let mut m = sco("x509-certificate", obj_uuid);
            let mut hashes = Map::new();
            for a in attrs {
                if let Some(h) = a.relation.strip_prefix("x509-fingerprint-") {
                    if let Some(k) = hash_key(h) {
                        hashes.insert(k.into(), json!(a.value));
                        comparisons.push(cmp(&hash_path("x509-certificate:", k), &a.value));
                    }
                }
            }
            if !hashes.is_empty() {
                m.insert("hashes".into(), Value::Object(hashes));
            }
            let fields = [
                ("issuer", "issuer"),
                ("serial-number", "serial_number"),
                ("subject", "subject"),
                ("version", "version"),
                ("validity-not-before", "validity_not_before"),
                ("validity-not-after", "validity_not_after"),
                ("signature_algorithm", "signature_algorithm"),
                ("pubkey-info-algorithm", "subject_public_key_algorithm"),
                ("pubkey-info-exponent", "subject_public_key_exponent"),
                ("pubkey-info-modulus", "subject_public_key_modulus"),
            ];
            let mut used = vec![
                "x509-fingerprint-md5",
                "x509-fingerprint-sha1",
                "x509-fingerprint-sha256",
            ];
            for (rel, key) in fields {
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
                    comparisons.push(cmp(&format!("x509-certificate:{key}"), &a.value));
                    used.push(rel);
                }
            }
            rest(&mut m, attrs, &used);
            scos.push(m);
        }
        "registry-key" => {
            let Some(k) = first(attrs, "key") else {
                return Ok(None);
            };
            let mut m = sco("windows-registry-key", obj_uuid);
            m.insert("key".into(), json!(k.value));
            comparisons.push(cmp("windows-registry-key:key", &k.value));
            let mut value = Map::new();
            for (rel, key) in [
                ("data", "data"),
                ("data-type", "data_type"),
                ("name", "name"),
            ] {
                if let Some(a) = first(attrs, rel) {
                    value.insert(key.into(), json!(a.value));
                    comparisons.push(cmp(
                        &format!("windows-registry-key:values[*].{key}"),
                        &a.value,
                    ));
                }
            }
            if !value.is_empty() {
                m.insert("values".into(), json!([value]));
            }
            if let Some(a) = first(attrs, "last-modified") {
                m.insert("modified_time".into(), json!(a.value));
                comparisons.push(cmp("windows-registry-key:modified_time", &a.value));
            }
            rest(
                &mut m,
                attrs,
                &["key", "data", "data-type", "name", "last-modified"],
            );
            scos.push(m);
        }
        "file" => {
            let mut m = sco("file", obj_uuid);
            let mut hashes = Map::new();
            let mut used = vec![];
            for a in attrs {
                if let Some(k) = hash_key(&a.relation) {
                    hashes.insert(k.into(), json!(a.value));
                    comparisons.push(cmp(&hash_path("file:", k), &a.value));
                    used.push(a.relation.as_str());
                }
            }
            if !hashes.is_empty() {
                m.insert("hashes".into(), Value::Object(hashes));
            }
            if let Some(a) = first(attrs, "size-in-bytes") {
                if let Ok(n) = a.value.parse::<u64>() {
                    m.insert("size".into(), json!(n));
                    comparisons.push(cmp("file:size", &a.value));
                    used.push("size-in-bytes");
                }
            }
            if let Some(a) = first(attrs, "filename") {
                m.insert("name".into(), json!(a.value));
                comparisons.push(cmp("file:name", &a.value));
                used.push("filename");
            }
            for (rel, key) in [
                ("file-encoding", "name_enc"),
                ("mime-type", "mime_type"),
                ("creation-time", "ctime"),
                ("modification-time", "mtime"),
                ("access-time", "atime"),
            ] {
                if let Some(a) = first(attrs, rel) {
                    m.insert(key.into(), json!(a.value));
                    comparisons.push(cmp(&format!("file:{key}"), &a.value));
                    used.push(rel);
                }
            }
            let mut extra = vec![];
            if let Some(p) = first(attrs, "path") {
                let mut d = sco("directory", &p.uuid);
                d.insert("path".into(), json!(p.value));
                m.insert("parent_directory_ref".into(), json!(id_of(&d)));
                comparisons.push(cmp("file:parent_directory_ref.path", &p.value));
                extra.push(d);
                used.push("path");
            }
            rest(&mut m, attrs, &used);
            scos.push(m);
            scos.extend(extra);
        }
        "network-connection" | "network-socket" => {
            let mut nt = sco("network-traffic", obj_uuid);
            let mut addrs = vec![];
            for side in ["src", "dst"] {
                if let Some(a) = first(attrs, &format!("ip-{side}")) {
                    let ty = ip_type(&a.value);
                    let mut m = sco(ty, &a.uuid);
                    m.insert("value".into(), json!(a.value));
                    nt.insert(format!("{side}_ref"), json!(id_of(&m)));
                    comparisons.push(cmp(&format!("network-traffic:{side}_ref.type"), ty));
                    comparisons.push(cmp(&format!("network-traffic:{side}_ref.value"), &a.value));
                    addrs.push(m);
                }
                if let Some(p) = first(attrs, &format!("{side}-port")) {
                    nt.insert(format!("{side}_port"), json!(parse_port(&p.value)?));
                    comparisons.push(cmp(&format!("network-traffic:{side}_port"), &p.value));
                }
            }
            let protocols: Vec<String> = attrs
                .iter()
                .filter(|a| a.relation.starts_with("layer") || a.relation == "protocol")
                .map(|a| a.value.to_ascii_lowercase())
                .collect();
            for p in &protocols {
                comparisons.push(cmp("network-traffic:protocols[*]", p));
            }
            nt.insert(
                "protocols".into(),
                json!(if protocols.is_empty() {
                    vec!["tcp".to_string()]
                } else {
                    protocols
                }),
            );
            rest(
                &mut nt,
                attrs,
                &[
                    "ip-src",
                    "ip-dst",
                    "src-port",
                    "dst-port",
                    "layer3-protocol",
                    "layer4-protocol",
                    "layer7-protocol",
                    "protocol",
                ],
            );
            scos.push(nt);
            scos.extend(addrs);
        }
        "email" => {
            let mut m = sco("email-message", obj_uuid);
            m.insert("is_multipart".into(), json!(false));
            let mut addrs = vec![];
            let mut used = vec![];
            for (rel, key, many) in [
                ("from", "from_ref", false),
                ("to", "to_refs", true),
                ("cc", "cc_refs", true),
                ("bcc", "bcc_refs", true),
            ] {
                let mut ids = vec![];
                for a in attrs_of(attrs, rel) {
                    let mut e = sco("email-addr", &a.uuid);
                    e.insert("value".into(), json!(a.value));
                    ids.push(id_of(&e));
                    let path = if many {
                        format!("email-message:{key}[*].value")
                    } else {
                        format!("email-message:{key}.value")
                    };
                    comparisons.push(cmp(&path, &a.value));
                    addrs.push(e);
                }
                if !ids.is_empty() {
                    used.push(rel);
                    if many {
                        m.insert(key.into(), json!(ids));
                    } else {
                        m.insert(key.into(), json!(ids[0]));
                    }
                }
            }
            for (rel, key) in [
                ("subject", "subject"),
                ("message-id", "message_id"),
                ("email-body", "body"),
                ("send-date", "date"),
            ] {
                if let Some(a) = first(attrs, rel) {
                    m.insert(key.into(), json!(a.value));
                    comparisons.push(cmp(&format!("email-message:{key}"), &a.value));
                    used.push(rel);
                }
            }
            rest(&mut m, attrs, &used);
            scos.push(m);
            scos.extend(addrs);
        }
        "user-account" => {
            let mut m = sco("user-account", obj_uuid);
            let mut used = vec![];
            for (rel, key) in [
                ("username", "account_login"),
                ("user-id", "user_id"),
                ("display-name", "display_name"),
                ("account-type", "account_type"),
                ("password", "credential"),
            ] {
                if let Some(a) = first(attrs, rel) {
                    m.insert(key.into(), json!(a.value));
                    comparisons.push(cmp(&format!("user-account:{key}"), &a.value));
                    used.push(rel);
                }
            }
            if used.is_empty() {
                return Ok(None);
            }
            rest(&mut m, attrs, &used);
            scos.push(m);
        }
        _ => return Ok(None),
    }
    Ok(Some(Built { scos, comparisons }))
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
        _ => return None,
    };
    let _ = ty;
    rest(&mut m, attrs, &used);
    Some(m)
}

/// One MISP object.
pub(crate) fn convert(ctx: &mut Ctx, o: &Value, path: &str) {
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
    let main = match build(name, &uuid, &attrs) {
        Ok(Some(b)) => {
            let ids: Vec<String> = b.scos.iter().map(id_of).collect();
            let od_id = format!("observed-data--{uuid}");
            let od = ctx.observed_data(&uuid, ts, ids, labels.clone(), marks.clone());
            ctx.push(od);
            for s in b.scos {
                ctx.push(s);
            }
            if attrs.iter().any(|a| a.to_ids) && !b.comparisons.is_empty() {
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
            }
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
    if let Some(list) = o.get("Attribute").and_then(Value::as_array) {
        for (i, a) in list.iter().enumerate() {
            ctx.galaxies(a, &format!("{path}.Attribute[{i}]"), Some(&main), ts);
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
    m.insert("x_misp_attributes".into(), json!(list));
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
            Some(target) => ctx.relate(&source, rel, &target, ts),
            None => ctx.warn(
                format!("{path}.ObjectReference[{i}].referenced_uuid"),
                format!("{target_uuid:?} is not an attribute or object of this event; reference dropped"),
            ),
        }
    }
}
