//! STIX 2.1 → MISP events.
//!
//! Content converted from MISP (labels `misp:type="…"`, `misp:category="…"`)
//! goes back to the attribute it came from, keeping type, value, category and
//! `to_ids` (an attribute is for IDS when an indicator of the same UUID
//! exists). Other STIX content is mapped by its observables and patterns:
//! a domain-name becomes a `domain` attribute, an indicator's comparisons
//! become IDS attributes, other pattern languages their MISP rule types.

use crate::pattern::hash_key;
use crate::{Error, Options};
use liaison_stix::tlp::Tlp;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use uuid::Uuid;

/// Turn STIX objects into MISP events (`{"Event": {...}}` each): every
/// report or grouping becomes an event with the objects it refers to; objects
/// no container refers to form one more event when there are any.
///
/// ```
/// use serde_json::json;
/// let objects = vec![json!({"type": "indicator", "spec_version": "2.1",
///   "id": "indicator--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f",
///   "created": "2020-10-25T16:22:00.000Z", "modified": "2020-10-25T16:22:00.000Z",
///   "pattern": "[domain-name:value = 'circl.lu']", "pattern_type": "stix",
///   "valid_from": "2020-10-25T16:22:00Z"})];
/// let events = liaison_misp::stix_to_events(&objects, &Default::default()).unwrap();
/// let attr = &events[0]["Event"]["Attribute"][0];
/// assert_eq!((attr["type"].as_str(), attr["value"].as_str()), (Some("domain"), Some("circl.lu")));
/// assert_eq!(attr["to_ids"], true);
/// ```
pub fn stix_to_events(objects: &[Value], opts: &Options) -> Result<Vec<Value>, Error> {
    let _ = opts;
    let mut by_id: HashMap<&str, &Value> = HashMap::new();
    for (i, o) in objects.iter().enumerate() {
        let id = o.get("id").and_then(Value::as_str).ok_or_else(|| {
            Error::shape(format!("$[{i}].id"), "expected a STIX object with an id")
        })?;
        by_id.insert(id, o);
    }
    // SCOs an observed-data refers to are converted with it.
    let observed: HashSet<&str> = objects
        .iter()
        .filter(|o| o["type"] == "observed-data")
        .flat_map(|o| o["object_refs"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    let mut events = vec![];
    let mut covered: HashSet<&str> = HashSet::new();
    for o in objects {
        let ty = o["type"].as_str().unwrap_or_default();
        if ty != "report" && ty != "grouping" {
            continue;
        }
        let refs: Vec<&str> = o["object_refs"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        covered.extend(refs.iter().copied());
        let members: Vec<&Value> = refs.iter().filter_map(|r| by_id.get(r).copied()).collect();
        events.push(event(Some(o), &members, &by_id, &observed));
    }
    let rest: Vec<&Value> = objects
        .iter()
        .filter(|o| {
            let ty = o["type"].as_str().unwrap_or_default();
            let id = o["id"].as_str().unwrap_or_default();
            ty != "report" && ty != "grouping" && !covered.contains(id)
        })
        .collect();
    let contentful = rest.iter().any(|o| {
        !matches!(
            o["type"].as_str(),
            Some("identity" | "marking-definition" | "extension-definition" | "relationship")
        )
    });
    if contentful {
        events.push(event(None, &rest, &by_id, &observed));
    }
    Ok(events)
}

fn uuid_of(id: &str) -> &str {
    id.split_once("--").map(|(_, u)| u).unwrap_or(id)
}

fn label(o: &Value, key: &str) -> Option<String> {
    let prefix = format!("misp:{key}=\"");
    o["labels"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|l| {
            l.strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix('"'))
                .map(str::to_string)
        })
}

fn epoch_of(ts: Option<&str>) -> String {
    ts.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.timestamp().to_string())
        .unwrap_or_else(|| "0".into())
}

fn tags_of(o: &Value) -> Vec<Value> {
    let mut tags = vec![];
    for m in o["object_marking_refs"].as_array().into_iter().flatten() {
        if let Some(t) = m.as_str().and_then(Tlp::from_marking_id) {
            tags.push(json!({"name": format!("tlp:{}", t.as_str())}));
        }
    }
    for l in o["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let internal = l == "Threat-Report"
            || l.starts_with("misp:type=")
            || l.starts_with("misp:category=")
            || l.starts_with("misp:name=")
            || l.starts_with("misp:meta-category=")
            || l.starts_with("misp:tool=")
            || l.starts_with("misp:galaxy-");
        if !internal {
            tags.push(json!({"name": l}));
        }
    }
    tags
}

struct Builder<'a> {
    by_id: &'a HashMap<&'a str, &'a Value>,
    observed: &'a HashSet<&'a str>,
    attributes: Vec<Value>,
    objects: Vec<Value>,
    galaxies: Vec<Value>,
    done: HashSet<String>,
}

fn event(
    container: Option<&Value>,
    members: &[&Value],
    by_id: &HashMap<&str, &Value>,
    observed: &HashSet<&str>,
) -> Value {
    let mut b = Builder {
        by_id,
        observed,
        attributes: vec![],
        objects: vec![],
        galaxies: vec![],
        done: HashSet::new(),
    };
    let member_ids: HashSet<&str> = members.iter().filter_map(|m| m["id"].as_str()).collect();
    for m in members {
        b.member(m, &member_ids);
    }
    let (uuid, info, ts, published) = match container {
        Some(c) => (
            uuid_of(c["id"].as_str().unwrap_or_default()).to_string(),
            c["name"].as_str().unwrap_or("STIX content").to_string(),
            c["modified"].as_str().or(c["created"].as_str()),
            c["type"] == "report",
        ),
        None => {
            // Stable across runs: derived from the member ids.
            let ids: BTreeSet<&str> = member_ids.iter().copied().collect();
            let joined = ids.into_iter().collect::<Vec<_>>().join(",");
            (
                Uuid::new_v5(&crate::to_stix::NAMESPACE, joined.as_bytes()).to_string(),
                "STIX content exported by Liaison".to_string(),
                members.iter().filter_map(|m| m["modified"].as_str()).max(),
                false,
            )
        }
    };
    let mut e = Map::new();
    e.insert("uuid".into(), json!(uuid));
    e.insert("info".into(), json!(info));
    e.insert(
        "date".into(),
        json!(ts
            .map(|t| t.chars().take(10).collect::<String>())
            .unwrap_or_default()),
    );
    e.insert("timestamp".into(), json!(epoch_of(ts)));
    e.insert("published".into(), json!(published));
    e.insert("analysis".into(), json!("2"));
    e.insert("threat_level_id".into(), json!("4"));
    if let Some(c) = container {
        if let Some(org) = c["created_by_ref"].as_str().and_then(|r| by_id.get(r)) {
            let o = json!({"name": org["name"], "uuid": uuid_of(org["id"].as_str().unwrap_or_default())});
            e.insert("Orgc".into(), o.clone());
            e.insert("Org".into(), o);
        }
        e.insert("Tag".into(), json!(tags_of(c)));
    }
    e.insert("Attribute".into(), json!(b.attributes));
    e.insert("Object".into(), json!(b.objects));
    e.insert("Galaxy".into(), json!(b.galaxies));
    json!({ "Event": e })
}

/// The MISP value of an attribute of type `t` from the observables `scos`.
fn value_from_scos(t: &str, scos: &[&Value]) -> Option<String> {
    let of = |ty: &str| scos.iter().find(|s| s["type"] == ty).copied();
    let ip = || {
        of("ipv4-addr").or_else(|| of("ipv6-addr"))?["value"]
            .as_str()
            .map(str::to_string)
    };
    let s = |v: &Value| v.as_str().map(str::to_string);
    match t {
        "ip-src" | "ip-dst" => ip(),
        "ip-src|port" | "ip-dst|port" => {
            let port = of("network-traffic")?[if t == "ip-src|port" {
                "src_port"
            } else {
                "dst_port"
            }]
            .as_u64()?;
            Some(format!("{}|{port}", ip()?))
        }
        "domain" | "hostname" => s(&of("domain-name")?["value"]),
        "domain|ip" => Some(format!("{}|{}", s(&of("domain-name")?["value"])?, ip()?)),
        "hostname|port" => Some(format!(
            "{}|{}",
            s(&of("domain-name")?["value"])?,
            of("network-traffic")?["dst_port"].as_u64()?
        )),
        "url" | "uri" | "link" => s(&of("url")?["value"]),
        "email" | "email-src" | "email-dst" => s(&of("email-addr")?["value"]),
        "email-subject" => s(&of("email-message")?["subject"]),
        "email-body" => s(&of("email-message")?["body"]),
        "email-message-id" => s(&of("email-message")?["message_id"]),
        "email-header" => s(&of("email-message")?["received_lines"][0]),
        "email-reply-to" => s(&of("email-message")?["additional_header_fields"]["Reply-To"]),
        "email-x-mailer" => s(&of("email-message")?["additional_header_fields"]["X-Mailer"]),
        "email-attachment" | "filename" | "attachment" => s(&of("file")?["name"]),
        "malware-sample" => {
            let f = of("file")?;
            Some(format!("{}|{}", s(&f["name"])?, s(&f["hashes"]["MD5"])?))
        }
        "mutex" => s(&of("mutex")?["name"]),
        "regkey" => s(&of("windows-registry-key")?["key"]),
        "regkey|value" => {
            let k = of("windows-registry-key")?;
            Some(format!("{}|{}", s(&k["key"])?, s(&k["values"][0]["data"])?))
        }
        "mac-address" => s(&of("mac-addr")?["value"]),
        "AS" => Some(format!(
            "AS{}",
            of("autonomous-system")?["number"].as_u64()?
        )),
        "github-username" => s(&of("user-account")?["account_login"]),
        _ => {
            if let Some(h) = t.strip_prefix("x509-fingerprint-") {
                return s(&of("x509-certificate")?["hashes"][hash_key(h)?]);
            }
            if let Some(h) = t.strip_prefix("filename|") {
                let f = of("file")?;
                return Some(format!(
                    "{}|{}",
                    s(&f["name"])?,
                    s(&f["hashes"][hash_key(h)?])?
                ));
            }
            if let Some(k) = hash_key(t) {
                return s(&of("file")?["hashes"][k]);
            }
            None
        }
    }
}

/// Comparisons `path = 'value'` of a simple STIX pattern.
fn comparisons(pattern: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut rest = pattern;
    while let Some(eq) = rest.find(" = '") {
        let before = &rest[..eq];
        let path_start = before.rfind(['[', '(', ' ']).map(|i| i + 1).unwrap_or(0);
        let path = before[path_start..].to_string();
        let after = &rest[eq + 4..];
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '\'' => {
                    end = i + 1;
                    break;
                }
                _ => value.push(c),
            }
        }
        out.push((path, value));
        rest = &after[end.min(after.len())..];
    }
    out
}

/// The MISP attribute type a STIX pattern comparison stands for.
fn type_of_path(path: &str) -> Option<&'static str> {
    Some(match path {
        "domain-name:value" => "domain",
        "ipv4-addr:value" | "ipv6-addr:value" => "ip-dst",
        "network-traffic:dst_ref.value" => "ip-dst",
        "network-traffic:src_ref.value" => "ip-src",
        "url:value" => "url",
        "email-addr:value" => "email",
        "email-message:from_ref.value" => "email-src",
        "email-message:subject" => "email-subject",
        "file:name" => "filename",
        "mutex:name" => "mutex",
        "windows-registry-key:key" => "regkey",
        "mac-addr:value" => "mac-address",
        "autonomous-system:number" => "AS",
        _ => {
            if let Some(h) = path.strip_prefix("file:hashes.") {
                let h = h.trim_matches('\'').to_ascii_lowercase().replace('-', "");
                return match h.as_str() {
                    "md5" => Some("md5"),
                    "sha1" => Some("sha1"),
                    "sha256" => Some("sha256"),
                    "sha512" => Some("sha512"),
                    "ssdeep" => Some("ssdeep"),
                    "tlsh" => Some("tlsh"),
                    _ => None,
                };
            }
            return None;
        }
    })
}

impl Builder<'_> {
    fn attr(
        &mut self,
        uuid: &str,
        t: &str,
        value: String,
        category: Option<String>,
        to_ids: bool,
        o: &Value,
    ) -> Value {
        let mut a = Map::new();
        a.insert("uuid".into(), json!(uuid));
        a.insert("type".into(), json!(t));
        a.insert(
            "category".into(),
            json!(category
                .unwrap_or_else(|| crate::default_category(t).unwrap_or("Other").to_string())),
        );
        a.insert("value".into(), json!(value));
        a.insert("to_ids".into(), json!(to_ids));
        a.insert(
            "timestamp".into(),
            json!(epoch_of(o["modified"].as_str().or(o["created"].as_str()))),
        );
        if let Some(c) = o["description"].as_str().or(o["x_misp_comment"].as_str()) {
            a.insert("comment".into(), json!(c));
        }
        let tags = tags_of(o);
        if !tags.is_empty() {
            a.insert("Tag".into(), json!(tags));
        }
        Value::Object(a)
    }

    fn member(&mut self, o: &Value, members: &HashSet<&str>) {
        let id = o["id"].as_str().unwrap_or_default();
        if !self.done.insert(id.to_string()) {
            return;
        }
        let uuid = uuid_of(id).to_string();
        let ty = o["type"].as_str().unwrap_or_default();
        let category = label(o, "category");
        match ty {
            "observed-data" => {
                let scos: Vec<&Value> = o["object_refs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .filter_map(|r| self.by_id.get(r).copied())
                    .collect();
                let ind = format!("indicator--{uuid}");
                let to_ids =
                    members.contains(ind.as_str()) || self.by_id.contains_key(ind.as_str());
                self.done.insert(ind);
                if let Some(t) = label(o, "type") {
                    if let Some(v) = value_from_scos(&t, &scos) {
                        let mut a = self.attr(&uuid, &t, v, category, to_ids, o);
                        // The comment travels on the indicator (observed-data has no description).
                        if let Some(c) = self
                            .by_id
                            .get(format!("indicator--{uuid}").as_str())
                            .and_then(|i| i["description"].as_str())
                        {
                            a["comment"] = json!(c);
                        }
                        if let Some(data) = scos
                            .iter()
                            .find(|s| s["type"] == "artifact")
                            .and_then(|s| s["payload_bin"].as_str())
                        {
                            a["data"] = json!(data);
                        }
                        self.attributes.push(a);
                        return;
                    }
                }
                if let Some(name) = label(o, "name") {
                    let pattern = self
                        .by_id
                        .get(format!("indicator--{uuid}").as_str())
                        .and_then(|i| i["pattern"].as_str())
                        .unwrap_or_default();
                    let meta = label(o, "meta-category").unwrap_or_else(|| "misc".into());
                    let ts = epoch_of(o["modified"].as_str());
                    if let Some(objs) =
                        crate::from_object::objects(&name, &uuid, &meta, &ts, &scos, pattern)
                    {
                        for s in &scos {
                            self.done
                                .insert(s["id"].as_str().unwrap_or_default().to_string());
                        }
                        self.objects.extend(objs);
                        return;
                    }
                }
                let attrs: Vec<Value> = scos
                    .iter()
                    .flat_map(|s| self.sco_attributes(s, to_ids))
                    .collect();
                match label(o, "name") {
                    Some(name) => self.objects.push(json!({
                        "uuid": uuid, "name": name,
                        "meta-category": label(o, "meta-category").unwrap_or_else(|| "misc".into()),
                        "timestamp": epoch_of(o["modified"].as_str()),
                        "Attribute": attrs,
                    })),
                    None => self.attributes.extend(attrs),
                }
            }
            "indicator" => {
                let pattern = o["pattern"].as_str().unwrap_or_default().to_string();
                let pt = o["pattern_type"].as_str().unwrap_or("stix");
                if pt != "stix" {
                    let t = label(o, "type").unwrap_or_else(|| pt.to_string());
                    let a = self.attr(&uuid, &t, pattern, category, true, o);
                    self.attributes.push(a);
                    return;
                }
                let comps = comparisons(&pattern);
                if let Some(t) = label(o, "type") {
                    // From a MISP attribute without observable (e.g. user-agent).
                    if let Some((_, v)) = comps.last() {
                        let a = self.attr(&uuid, &t, v.clone(), category, true, o);
                        self.attributes.push(a);
                        return;
                    }
                }
                let mapped: Vec<(&'static str, String)> = comps
                    .iter()
                    .filter_map(|(p, v)| type_of_path(p).map(|t| (t, v.clone())))
                    .collect();
                if mapped.len() == 1 {
                    let (t, v) = mapped[0].clone();
                    let a = self.attr(&uuid, t, v, category, true, o);
                    self.attributes.push(a);
                } else if mapped.len() == comps.len() && !mapped.is_empty() {
                    let attrs: Vec<Value> = mapped
                        .into_iter()
                        .enumerate()
                        .map(|(i, (t, v))| {
                            let u = Uuid::new_v5(
                                &crate::to_stix::NAMESPACE,
                                format!("{id}:{i}").as_bytes(),
                            );
                            let mut a = self.attr(&u.to_string(), t, v, None, true, o);
                            a["object_relation"] = json!(t);
                            a
                        })
                        .collect();
                    self.objects.push(json!({
                        "uuid": uuid, "name": label(o, "name").unwrap_or_else(|| "stix2-pattern".into()),
                        "meta-category": "misc", "timestamp": epoch_of(o["modified"].as_str()),
                        "Attribute": attrs,
                    }));
                } else {
                    let a = self.attr(&uuid, "stix2-pattern", pattern, category, true, o);
                    self.attributes.push(a);
                }
            }
            "x-misp-attribute" => {
                let t = o["x_misp_type"].as_str().unwrap_or("text").to_string();
                let v = crate::to_stix::text(o.get("x_misp_value")).unwrap_or_default();
                let to_ids = o["x_misp_to_ids"].as_bool().unwrap_or(false);
                let category = o["x_misp_category"]
                    .as_str()
                    .map(str::to_string)
                    .or(category);
                let mut a = self.attr(&uuid, &t, v, category, to_ids, o);
                if let Some(c) = o["x_misp_comment"].as_str() {
                    a["comment"] = json!(c);
                }
                self.attributes.push(a);
            }
            "x-misp-object" => {
                self.objects.push(json!({
                    "uuid": uuid,
                    "name": o["x_misp_name"].as_str().or(label(o, "name").as_deref()).unwrap_or("x-misp-object"),
                    "meta-category": o["x_misp_meta_category"].as_str().unwrap_or("misc"),
                    "timestamp": epoch_of(o["modified"].as_str()),
                    "Attribute": o["x_misp_attributes"].as_array().cloned().unwrap_or_default(),
                }));
            }
            "campaign" | "vulnerability" if label(o, "type").is_some() || ty == "campaign" => {
                let t = if ty == "campaign" {
                    "campaign-name"
                } else {
                    "vulnerability"
                };
                let v = o["name"].as_str().unwrap_or_default().to_string();
                let a = self.attr(&uuid, t, v, category, false, o);
                self.attributes.push(a);
            }
            "attack-pattern" | "course-of-action" | "intrusion-set" | "malware"
            | "threat-actor" | "tool" | "vulnerability" | "campaign" | "location" => {
                let gtype = label(o, "galaxy-type").unwrap_or_else(|| ty.to_string());
                let gname = label(o, "galaxy-name").unwrap_or_else(|| ty.to_string());
                let mut cluster = json!({"uuid": uuid, "type": gtype, "value": o["name"]});
                if let Some(d) = o["description"].as_str() {
                    cluster["description"] = json!(d);
                }
                match self.galaxies.iter_mut().find(|g| g["type"] == gtype.as_str()) {
                    Some(g) => {
                        if let Some(list) = g["GalaxyCluster"].as_array_mut() {
                            list.push(cluster);
                        }
                    }
                    None => self.galaxies.push(json!({
                        "uuid": Uuid::new_v5(&crate::to_stix::NAMESPACE, gtype.as_bytes()).to_string(),
                        "type": gtype, "name": gname, "GalaxyCluster": [cluster],
                    })),
                }
            }
            _ if liaison_stix::category_of(ty) == liaison_stix::Category::Sco
                && !self.observed.contains(id) =>
            {
                let attrs = self.sco_attributes(o, false);
                self.attributes.extend(attrs);
            }
            _ => {}
        }
    }

    /// Attributes for one observable outside any MISP label context.
    fn sco_attributes(&mut self, s: &Value, to_ids: bool) -> Vec<Value> {
        let id = s["id"].as_str().unwrap_or_default();
        self.done.insert(id.to_string());
        let uuid = uuid_of(id).to_string();
        let mut out = vec![];
        let mut push = |t: &str, v: Option<String>, rel: &str| {
            if let Some(v) = v {
                let u = if out.is_empty() {
                    uuid.clone()
                } else {
                    Uuid::new_v5(&crate::to_stix::NAMESPACE, format!("{id}:{rel}").as_bytes())
                        .to_string()
                };
                let mut a = json!({"uuid": u, "type": t, "object_relation": rel,
                    "category": crate::default_category(t).unwrap_or("Other"),
                    "value": v, "to_ids": to_ids});
                if t == "text" {
                    a["to_ids"] = json!(false);
                }
                out.push(a);
            }
        };
        let s_str = |k: &str| s[k].as_str().map(str::to_string);
        match s["type"].as_str().unwrap_or_default() {
            "ipv4-addr" | "ipv6-addr" => push("ip-dst", s_str("value"), "ip"),
            "domain-name" => push("domain", s_str("value"), "domain"),
            "url" => push("url", s_str("value"), "url"),
            "email-addr" => push("email", s_str("value"), "email"),
            "mac-addr" => push("mac-address", s_str("value"), "mac-address"),
            "mutex" => push("mutex", s_str("name"), "name"),
            "windows-registry-key" => push("regkey", s_str("key"), "key"),
            "autonomous-system" => {
                push("AS", s["number"].as_u64().map(|n| format!("AS{n}")), "asn")
            }
            "directory" => push("text", s_str("path"), "path"),
            "file" => {
                push("filename", s_str("name"), "filename");
                for (k, v) in s["hashes"].as_object().into_iter().flatten() {
                    let t = match k.as_str() {
                        "MD5" => "md5",
                        "SHA-1" => "sha1",
                        "SHA-256" => "sha256",
                        "SHA-512" => "sha512",
                        "SSDEEP" => "ssdeep",
                        "TLSH" => "tlsh",
                        _ => continue,
                    };
                    push(t, v.as_str().map(str::to_string), t);
                }
            }
            "x509-certificate" => {
                for (k, v) in s["hashes"].as_object().into_iter().flatten() {
                    let t = match k.as_str() {
                        "MD5" => "x509-fingerprint-md5",
                        "SHA-1" => "x509-fingerprint-sha1",
                        "SHA-256" => "x509-fingerprint-sha256",
                        _ => continue,
                    };
                    push(t, v.as_str().map(str::to_string), t);
                }
            }
            "user-account" => {
                push("text", s_str("account_login"), "username");
                push("text", s_str("user_id"), "user-id");
            }
            "email-message" => {
                push("email-subject", s_str("subject"), "subject");
                push("email-message-id", s_str("message_id"), "message-id");
            }
            "software" => push("text", s_str("name"), "name"),
            _ => {}
        }
        out
    }
}
