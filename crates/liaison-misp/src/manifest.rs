//! A MISP feed's `manifest.json`: event UUID → summary, as MISP publishes it
//! next to the `<uuid>.json` event files.

use crate::to_stix::epoch;
use crate::Error;
use serde_json::Value;

/// One event of a feed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Event UUID (the event file is `<uuid>.json`).
    pub uuid: String,
    /// Event title.
    pub info: String,
    /// Last change (epoch seconds): a feed reader fetches events whose
    /// timestamp moved since it last looked.
    pub timestamp: i64,
    /// Event date (`YYYY-MM-DD`), when given.
    pub date: Option<String>,
    /// Creating organisation (name, uuid), when given.
    pub orgc: Option<(String, String)>,
    /// Tag names.
    pub tags: Vec<String>,
}

/// Parse `manifest.json`: an object keyed by event UUID. Entries come back
/// sorted by UUID so that a feed run is deterministic.
///
/// ```
/// let m = serde_json::json!({"5e8a8c6f-7b58-4bd2-a2b6-3e0b1a6b2a11":
///     {"info": "Phishing", "timestamp": "1603642920", "Tag": [{"name": "tlp:green"}]}});
/// let entries = liaison_misp::parse_manifest(&m).unwrap();
/// assert_eq!(entries[0].timestamp, 1603642920);
/// assert_eq!(entries[0].tags, ["tlp:green"]);
/// ```
pub fn parse_manifest(manifest: &Value) -> Result<Vec<ManifestEntry>, Error> {
    let map = manifest
        .as_object()
        .ok_or_else(|| Error::shape("$", "expected an object keyed by event UUID"))?;
    let mut out = Vec::with_capacity(map.len());
    for (uuid, e) in map {
        let path = format!("$[{uuid:?}]");
        if uuid::Uuid::parse_str(uuid).is_err() {
            return Err(Error::shape(path, "expected an event UUID as key"));
        }
        let obj = e
            .as_object()
            .ok_or_else(|| Error::shape(&path, "expected an event summary object"))?;
        let timestamp = epoch(obj.get("timestamp"))
            .ok_or_else(|| Error::shape(format!("{path}.timestamp"), "expected epoch seconds"))?;
        let orgc = obj.get("Orgc").and_then(|o| {
            Some((
                o.get("name")?.as_str()?.to_string(),
                o.get("uuid")?.as_str()?.to_string(),
            ))
        });
        let tags = obj
            .get("Tag")
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(|t| t.get("name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        out.push(ManifestEntry {
            uuid: uuid.to_ascii_lowercase(),
            info: obj
                .get("info")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            timestamp,
            date: obj.get("date").and_then(Value::as_str).map(str::to_string),
            orgc,
            tags,
        });
    }
    out.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    Ok(out)
}
