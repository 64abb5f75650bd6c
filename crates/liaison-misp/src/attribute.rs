//! One MISP attribute (type, value) → cyber-observables and pattern comparisons.

use crate::pattern::{cmp, hash_key, hash_path};
use serde_json::{json, Map, Value};

/// What an attribute type becomes in STIX.
pub(crate) enum Mapping {
    /// Observables (ids set) and the comparisons of the indicator pattern.
    Observable {
        scos: Vec<Map<String, Value>>,
        comparisons: Vec<String>,
    },
    /// No observable, but a pattern when the attribute is for IDS.
    PatternOnly { comparisons: Vec<String> },
    /// A detection rule in another language (`pattern_type`).
    Rule(&'static str),
    /// A `campaign`.
    Campaign,
    /// A `vulnerability`.
    Vulnerability,
    /// No STIX mapping: an `x-misp-attribute`.
    Custom,
}

fn sco(ty: &str, uuid: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!(ty));
    m.insert("spec_version".into(), json!("2.1"));
    m.insert("id".into(), json!(format!("{ty}--{uuid}")));
    m
}

/// An IP address or CIDR block, checked: `Err` says why not.
pub(crate) fn check_ip(value: &str) -> Result<(), String> {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (value, None),
    };
    let max = match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => 32,
        Ok(std::net::IpAddr::V6(_)) => 128,
        Err(_) => return Err(format!("{value:?} is not an IP address")),
    };
    match prefix.map(|p| p.parse::<u8>()) {
        None => Ok(()),
        Some(Ok(p)) if p <= max => Ok(()),
        Some(_) => Err(format!("{value:?} has an invalid CIDR prefix")),
    }
}

/// `ipv6-addr` when the address has a colon, else `ipv4-addr`.
pub(crate) fn ip_type(value: &str) -> &'static str {
    if value.contains(':') {
        "ipv6-addr"
    } else {
        "ipv4-addr"
    }
}

pub(crate) fn parse_port(value: &str) -> Result<u16, String> {
    value
        .trim()
        .parse::<u16>()
        .map_err(|_| format!("port {value:?} is not a number from 0 to 65535"))
}

pub(crate) fn parse_asn(value: &str) -> Result<u64, String> {
    let v = value.trim();
    let digits = v
        .strip_prefix("AS")
        .or_else(|| v.strip_prefix("as"))
        .unwrap_or(v);
    digits
        .parse::<u64>()
        .map_err(|_| format!("AS number {value:?} is not `AS` followed by digits"))
}

fn split2<'a>(t: &str, value: &'a str) -> Result<(&'a str, &'a str), String> {
    value
        .split_once('|')
        .ok_or_else(|| format!("a {t} value is two parts joined by `|`, got {value:?}"))
}

fn ip_traffic(uuid: &str, value: &str, side: &str, port: Option<u16>) -> Result<Mapping, String> {
    check_ip(value)?;
    let ity = ip_type(value);
    let mut addr = sco(ity, uuid);
    addr.insert("value".into(), json!(value));
    let mut nt = sco("network-traffic", uuid);
    nt.insert(format!("{side}_ref"), json!(format!("{ity}--{uuid}")));
    let mut comparisons = vec![
        cmp(&format!("network-traffic:{side}_ref.type"), ity),
        cmp(&format!("network-traffic:{side}_ref.value"), value),
    ];
    if let Some(p) = port {
        nt.insert(format!("{side}_port"), json!(p));
        comparisons.push(cmp(&format!("network-traffic:{side}_port"), &p.to_string()));
    }
    nt.insert("protocols".into(), json!(["tcp"]));
    Ok(Mapping::Observable {
        scos: vec![nt, addr],
        comparisons,
    })
}

fn email_message(uuid: &str) -> Map<String, Value> {
    let mut m = sco("email-message", uuid);
    m.insert("is_multipart".into(), json!(false));
    m
}

/// Map one attribute. `data` is the base64 payload of attachments and
/// malware samples. An `Err` says why the value does not fit its type.
pub(crate) fn map(t: &str, value: &str, uuid: &str, data: Option<&str>) -> Result<Mapping, String> {
    let obs = |scos: Vec<Map<String, Value>>, comparisons: Vec<String>| {
        Ok(Mapping::Observable { scos, comparisons })
    };
    match t {
        "ip-src" | "ip-dst" => ip_traffic(uuid, value, &t[3..], None),
        "ip-src|port" | "ip-dst|port" => {
            let (ip, port) = split2(t, value)?;
            ip_traffic(uuid, ip, &t[3..6], Some(parse_port(port)?))
        }
        "domain" | "hostname" => {
            let mut d = sco("domain-name", uuid);
            d.insert("value".into(), json!(value));
            obs(vec![d], vec![cmp("domain-name:value", value)])
        }
        "domain|ip" => {
            let (domain, ip) = split2(t, value)?;
            check_ip(ip)?;
            let ity = ip_type(ip);
            let mut d = sco("domain-name", uuid);
            d.insert("value".into(), json!(domain));
            d.insert("resolves_to_refs".into(), json!([format!("{ity}--{uuid}")]));
            let mut a = sco(ity, uuid);
            a.insert("value".into(), json!(ip));
            obs(
                vec![d, a],
                vec![
                    cmp("domain-name:value", domain),
                    cmp("domain-name:resolves_to_refs[*].value", ip),
                ],
            )
        }
        "hostname|port" => {
            let (host, port) = split2(t, value)?;
            let port = parse_port(port)?;
            let mut d = sco("domain-name", uuid);
            d.insert("value".into(), json!(host));
            let mut nt = sco("network-traffic", uuid);
            nt.insert("dst_ref".into(), json!(format!("domain-name--{uuid}")));
            nt.insert("dst_port".into(), json!(port));
            nt.insert("protocols".into(), json!(["tcp"]));
            obs(
                vec![d, nt],
                vec![
                    cmp("domain-name:value", host),
                    cmp("network-traffic:dst_port", &port.to_string()),
                ],
            )
        }
        "url" | "uri" | "link" => {
            let mut u = sco("url", uuid);
            u.insert("value".into(), json!(value));
            obs(vec![u], vec![cmp("url:value", value)])
        }
        "email" => {
            let mut a = sco("email-addr", uuid);
            a.insert("value".into(), json!(value));
            obs(vec![a], vec![cmp("email-addr:value", value)])
        }
        "email-src" | "email-dst" => {
            let mut m = email_message(uuid);
            let (key, path) = if t == "email-src" {
                ("from_ref", "email-message:from_ref.value")
            } else {
                ("to_refs", "email-message:to_refs[*].value")
            };
            let addr_id = format!("email-addr--{uuid}");
            m.insert(
                key.into(),
                if key == "to_refs" {
                    json!([addr_id])
                } else {
                    json!(addr_id)
                },
            );
            let mut a = sco("email-addr", uuid);
            a.insert("value".into(), json!(value));
            obs(vec![m, a], vec![cmp(path, value)])
        }
        "email-subject" | "email-body" | "email-message-id" => {
            let key = match t {
                "email-subject" => "subject",
                "email-body" => "body",
                _ => "message_id",
            };
            let mut m = email_message(uuid);
            m.insert(key.into(), json!(value));
            obs(vec![m], vec![cmp(&format!("email-message:{key}"), value)])
        }
        "email-header" => {
            let mut m = email_message(uuid);
            m.insert("received_lines".into(), json!([value]));
            obs(vec![m], vec![cmp("email-message:received_lines", value)])
        }
        "email-reply-to" | "email-x-mailer" => {
            let (header, field) = if t == "email-reply-to" {
                ("Reply-To", "reply_to")
            } else {
                ("X-Mailer", "x_mailer")
            };
            let mut m = email_message(uuid);
            m.insert("additional_header_fields".into(), json!({ header: value }));
            obs(
                vec![m],
                vec![cmp(
                    &format!("email-message:additional_header_fields.{field}"),
                    value,
                )],
            )
        }
        "email-attachment" => {
            let mut m = sco("email-message", uuid);
            m.insert("is_multipart".into(), json!(true));
            m.insert(
                "body_multipart".into(),
                json!([{"body_raw_ref": format!("file--{uuid}"),
                        "content_disposition": format!("attachment; filename='{value}'")}]),
            );
            let mut f = sco("file", uuid);
            f.insert("name".into(), json!(value));
            obs(
                vec![m, f],
                vec![cmp(
                    "email-message:body_multipart[*].body_raw_ref.name",
                    value,
                )],
            )
        }
        "filename" => {
            let mut f = sco("file", uuid);
            f.insert("name".into(), json!(value));
            obs(vec![f], vec![cmp("file:name", value)])
        }
        "attachment" | "malware-sample" => {
            let (name, md5) = if t == "malware-sample" {
                let (n, h) = split2(t, value)?;
                (n, Some(h))
            } else {
                (value, None)
            };
            let mut f = sco("file", uuid);
            let mut comparisons = Vec::new();
            if let Some(h) = md5 {
                f.insert("hashes".into(), json!({"MD5": h}));
            }
            f.insert("name".into(), json!(name));
            comparisons.push(cmp("file:name", name));
            if let Some(h) = md5 {
                comparisons.push(cmp(&hash_path("file:", "MD5"), h));
            }
            let mut scos = vec![];
            if let Some(d) = data.filter(|d| is_base64(d)) {
                let mut a = sco("artifact", uuid);
                if t == "malware-sample" {
                    a.insert("mime_type".into(), json!("application/zip"));
                }
                a.insert("payload_bin".into(), json!(d));
                if t == "malware-sample" {
                    a.insert("encryption_algorithm".into(), json!("mime-type-indicated"));
                    a.insert("decryption_key".into(), json!("infected"));
                }
                f.insert("content_ref".into(), json!(format!("artifact--{uuid}")));
                comparisons.push(cmp("file:content_ref.payload_bin", d));
                if t == "malware-sample" {
                    comparisons.push(cmp("file:content_ref.mime_type", "application/zip"));
                    comparisons.push(cmp(
                        "file:content_ref.encryption_algorithm",
                        "mime-type-indicated",
                    ));
                    comparisons.push(cmp("file:content_ref.decryption_key", "infected"));
                }
                scos.push(f);
                scos.push(a);
            } else {
                scos.push(f);
            }
            obs(scos, comparisons)
        }
        "mutex" => {
            let mut m = sco("mutex", uuid);
            m.insert("name".into(), json!(value));
            obs(vec![m], vec![cmp("mutex:name", value)])
        }
        "regkey" => {
            let value = &expand_hive(value);
            let mut k = sco("windows-registry-key", uuid);
            k.insert("key".into(), json!(value));
            obs(vec![k], vec![cmp("windows-registry-key:key", value)])
        }
        "regkey|value" => {
            let (key, data) = split2(t, value)?;
            let key = &expand_hive(key);
            let mut k = sco("windows-registry-key", uuid);
            k.insert("key".into(), json!(key));
            k.insert("values".into(), json!([{ "data": data }]));
            obs(
                vec![k],
                vec![
                    cmp("windows-registry-key:key", key),
                    cmp("windows-registry-key:values.data", data),
                ],
            )
        }
        "mac-address" => {
            let v = value.to_ascii_lowercase();
            let mut m = sco("mac-addr", uuid);
            m.insert("value".into(), json!(v));
            obs(vec![m], vec![cmp("mac-addr:value", &v)])
        }
        "AS" => {
            let n = parse_asn(value)?;
            let mut a = sco("autonomous-system", uuid);
            a.insert("number".into(), json!(n));
            obs(
                vec![a],
                vec![cmp("autonomous-system:number", &n.to_string())],
            )
        }
        "x509-fingerprint-md5" | "x509-fingerprint-sha1" | "x509-fingerprint-sha256" => {
            let key = hash_key(&t[17..]).unwrap_or("MD5");
            let mut c = sco("x509-certificate", uuid);
            c.insert("hashes".into(), json!({ key: value }));
            obs(
                vec![c],
                vec![cmp(&hash_path("x509-certificate:", key), value)],
            )
        }
        "github-username" => {
            let mut a = sco("user-account", uuid);
            a.insert("account_login".into(), json!(value));
            a.insert("account_type".into(), json!("github"));
            obs(
                vec![a],
                vec![
                    cmp("user-account:account_type", "github"),
                    cmp("user-account:account_login", value),
                ],
            )
        }
        "user-agent" => Ok(Mapping::PatternOnly {
            comparisons: vec![cmp(
                "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
                value,
            )],
        }),
        "yara" => Ok(Mapping::Rule("yara")),
        "snort" => Ok(Mapping::Rule("snort")),
        "sigma" => Ok(Mapping::Rule("sigma")),
        "suricata" => Ok(Mapping::Rule("suricata")),
        "pcre" => Ok(Mapping::Rule("pcre")),
        "stix2-pattern" => Ok(Mapping::Rule("stix")),
        "campaign-name" => Ok(Mapping::Campaign),
        "vulnerability" => Ok(Mapping::Vulnerability),
        _ => {
            if let Some((name, hash)) = t
                .strip_prefix("filename|")
                .map(|h| (true, h))
                .or(Some((false, t)))
            {
                if let Some(key) = hash_key(hash) {
                    let mut f = sco("file", uuid);
                    let mut comparisons = vec![];
                    if name {
                        let (n, h) = split2(t, value)?;
                        f.insert("hashes".into(), json!({ key: h }));
                        f.insert("name".into(), json!(n));
                        comparisons.push(cmp("file:name", n));
                        comparisons.push(cmp(&hash_path("file:", key), h));
                    } else {
                        f.insert("hashes".into(), json!({ key: value }));
                        comparisons.push(cmp(&hash_path("file:", key), value));
                    }
                    return obs(vec![f], comparisons);
                }
            }
            Ok(Mapping::Custom)
        }
    }
}

/// Whether `s` is standard base64 (what STIX requires of `payload_bin`).
pub(crate) fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len() & 3 == 0
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// A registry key with its hive spelled out: STIX requires `HKEY_LOCAL_MACHINE`
/// where MISP data often has `HKLM`.
pub(crate) fn expand_hive(key: &str) -> String {
    let (hive, rest) = match key.find('\\') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    let full = match hive.to_ascii_uppercase().as_str() {
        "HKLM" => "HKEY_LOCAL_MACHINE",
        "HKCU" => "HKEY_CURRENT_USER",
        "HKCR" => "HKEY_CLASSES_ROOT",
        "HKU" => "HKEY_USERS",
        "HKCC" => "HKEY_CURRENT_CONFIG",
        _ => return key.to_string(),
    };
    format!("{full}{rest}")
}

/// Checks beyond the STIX MUSTs that the OASIS validator makes on observable
/// values (host names, e-mail addresses, hash lengths): MISP data often has
/// quotes or stray characters that would make the exported STIX invalid.
pub(crate) fn value_problem(sco: &Map<String, Value>) -> Option<String> {
    let ty = sco.get("type").and_then(Value::as_str).unwrap_or_default();
    let value = sco.get("value").and_then(Value::as_str);
    match ty {
        "domain-name" => {
            let v = value.unwrap_or_default();
            if !is_hostname(v) {
                return Some(format!("{v:?} is not a host name"));
            }
        }
        "email-addr" => {
            let v = value.unwrap_or_default();
            let ok = v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local
                        .chars()
                        .all(|c| c.is_alphanumeric() || "._%+-".contains(c))
                    && is_hostname(domain)
            });
            if !ok {
                return Some(format!("{v:?} is not an e-mail address"));
            }
        }
        _ => {}
    }
    if let Some(hashes) = sco.get("hashes").and_then(Value::as_object) {
        for (k, h) in hashes {
            let len = match k.as_str() {
                "MD5" => 32,
                "SHA-1" => 40,
                "SHA224" | "SHA3-224" => 56,
                "SHA-256" | "SHA3-256" => 64,
                "SHA384" | "SHA3-384" => 96,
                "SHA-512" | "SHA3-512" => 128,
                _ => continue,
            };
            let h = h.as_str().unwrap_or_default();
            if h.len() != len || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Some(format!("{h:?} is not a {k} hash"));
            }
        }
    }
    None
}

/// Letters (any script), digits, `-` and `_` in dot-separated labels.
fn is_hostname(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && v.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}
