//! Suricata EVE JSON (one event a line) into [`Observation`]s: `alert` events become
//! sightings of the signature (with the addresses involved), `dns`, `http` and `tls`
//! events observed domains and URLs. Other event types (flow, stats…) are ignored.
//! A line that is not JSON is skipped and counted, as sensors cut lines on rotation.

use crate::csvfeed::{skipped, MAX_ITEM_BYTES};
use crate::{Error, Item, Observation, ValueKind};
use serde_json::Value;

/// EVE's `timestamp` (`2026-11-29T10:00:00.123456+0000`) as a STIX timestamp.
pub fn eve_time(s: &str) -> Option<String> {
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|t| liaison_stix::Timestamp::from_millis(t.timestamp_millis()).to_string())
        .or_else(|| crate::csvfeed::parse_time(s))
}

fn ip(v: Option<&Value>) -> Option<(ValueKind, String)> {
    let s = v?.as_str()?;
    let kind = match s.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(_) => ValueKind::Ipv4,
        std::net::IpAddr::V6(_) => ValueKind::Ipv6,
    };
    Some((kind, s.to_string()))
}

fn domain(v: Option<&Value>) -> Option<(ValueKind, String)> {
    let s = v?.as_str()?;
    (ValueKind::guess(s) == Some(ValueKind::Domain))
        .then(|| (ValueKind::Domain, s.to_ascii_lowercase()))
}

/// One EVE event, or `None` for event types that carry nothing for the knowledge base.
pub fn event(v: &Value) -> Result<Option<Observation>, String> {
    let et = v
        .get("event_type")
        .and_then(Value::as_str)
        .ok_or("no event_type")?;
    let ts = v
        .get("timestamp")
        .and_then(Value::as_str)
        .ok_or("no timestamp")?;
    let time = eve_time(ts).ok_or_else(|| format!("timestamp '{ts}' is not a time"))?;
    let mut ob = Observation {
        time,
        event_type: et.to_string(),
        ..Default::default()
    };
    match et {
        "alert" => {
            let a = v.get("alert").ok_or("alert event without 'alert'")?;
            let sid = a
                .get("signature_id")
                .and_then(Value::as_u64)
                .ok_or("$.alert.signature_id: expected a number")?;
            let msg = a
                .get("signature")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            ob.signature = Some((sid, msg));
            ob.observables.extend(ip(v.get("src_ip")));
            ob.observables.extend(ip(v.get("dest_ip")));
        }
        "dns" => {
            let d = v.get("dns").ok_or("dns event without 'dns'")?;
            ob.observables.extend(domain(d.get("rrname")));
            for q in d
                .get("queries")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                ob.observables.extend(domain(q.get("rrname")));
            }
        }
        "http" => {
            let h = v.get("http").ok_or("http event without 'http'")?;
            let host = h.get("hostname").and_then(Value::as_str);
            ob.observables.extend(domain(h.get("hostname")));
            if let (Some(host), Some(path)) = (host, h.get("url").and_then(Value::as_str)) {
                ob.observables
                    .push((ValueKind::Url, format!("http://{host}{path}")));
            }
        }
        "tls" => {
            let t = v.get("tls").ok_or("tls event without 'tls'")?;
            ob.observables.extend(domain(t.get("sni")));
        }
        _ => return Ok(None),
    }
    ob.observables.dedup();
    Ok((!ob.observables.is_empty() || ob.signature.is_some()).then_some(ob))
}

/// Parse EVE JSON lines.
pub fn parse(body: &[u8], sink: &mut dyn FnMut(Item)) -> Result<(), Error> {
    for (n, line) in body.split(|b| *b == b'\n').enumerate() {
        let at = format!("line {}", n + 1);
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if line.len() > MAX_ITEM_BYTES {
            sink(skipped(
                at,
                format!("event of {} bytes, more than {MAX_ITEM_BYTES}", line.len()),
            ));
            continue;
        }
        let v: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(e) => {
                sink(skipped(at, format!("not JSON: {e}")));
                continue;
            }
        };
        match event(&v) {
            Ok(Some(ob)) => sink(Item::Observation(ob)),
            Ok(None) => {}
            Err(why) => sink(skipped(at, why)),
        }
    }
    Ok(())
}
