//! MISP → STIX → MISP keeps every event attribute's type, value, category,
//! `to_ids` and comment (fixtures: the misp-stix events, see tests/fixtures/NOTICE.md),
//! plus bad-input behaviour of the converter.

use liaison_misp::{event_to_stix, is_misp_event, parse_manifest, stix_to_events, Options};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

fn events() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(dir)
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).expect("fixture");
            (
                e.file_name().to_string_lossy().to_string(),
                serde_json::from_str(&text).expect("JSON"),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

type Key = (String, String, String, bool, String);

/// (type, value, category, to_ids) of the event-level attributes, with MISP's
/// defaults applied where the input leaves category or to_ids out.
fn attribute_keys(event: &Value) -> BTreeSet<Key> {
    let e = event.get("Event").unwrap_or(event);
    e["Attribute"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let t = a["type"].as_str()?.to_string();
            let v = match &a["value"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let c = a["category"]
                .as_str()
                .or_else(|| liaison_misp::default_category(&t))
                .unwrap_or("Other")
                .to_string();
            let ids = match &a["to_ids"] {
                Value::Bool(b) => *b,
                Value::String(s) => s == "1" || s == "true",
                _ => liaison_misp::default_to_ids(&t),
            };
            let comment = a["comment"].as_str().unwrap_or_default().to_string();
            Some((t, v, c, ids, comment))
        })
        .collect()
}

/// Values STIX cannot carry as MISP had them: a registry hive is spelled out
/// (`HKLM` → `HKEY_LOCAL_MACHINE`), a MAC address lowercased.
fn normalised(mut k: Key) -> Key {
    for (short, long) in [
        ("HKLM\\", "HKEY_LOCAL_MACHINE\\"),
        ("HKCU\\", "HKEY_CURRENT_USER\\"),
    ] {
        if let Some(rest) = k.1.strip_prefix(short) {
            k.1 = format!("{long}{rest}");
        }
    }
    if k.0 == "mac-address" {
        k.1 = k.1.to_ascii_lowercase();
    }
    k
}

#[test]
fn misp_stix_misp_keeps_attributes() {
    let mut checked = 0;
    for (name, event) in events() {
        let before: BTreeSet<Key> = attribute_keys(&event).into_iter().map(normalised).collect();
        if before.is_empty() {
            continue;
        }
        let conv = event_to_stix(&event, &Options::default()).expect("converts");
        let back = stix_to_events(&conv.objects, &Options::default()).expect("converts back");
        assert_eq!(back.len(), 1, "{name}: one event back");
        let uuid = event["Event"]["uuid"].as_str().unwrap_or_default();
        assert_eq!(back[0]["Event"]["uuid"], uuid, "{name}: event UUID kept");
        let after: BTreeSet<Key> = attribute_keys(&back[0])
            .into_iter()
            .map(normalised)
            .collect();
        assert_eq!(
            before,
            after,
            "{name}: lost {:?}, gained {:?}",
            before.difference(&after).collect::<Vec<_>>(),
            after.difference(&before).collect::<Vec<_>>()
        );
        checked += 1;
    }
    // 55 of the 129 fixture events carry event-level attributes.
    assert!(
        checked >= 50,
        "only {checked} events with attributes checked"
    );
}

#[test]
fn tlp_tags_become_markings_and_come_back() {
    let event = json!({"Event": {"uuid": "0b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a", "info": "t",
        "timestamp": "1603642920", "Orgc": {"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
        "Tag": [{"name": "tlp:amber"}, {"name": "kill-chain:delivery"}],
        "Attribute": [{"uuid": "91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f", "type": "ip-dst",
            "category": "Network activity", "value": "198.51.100.7", "to_ids": true,
            "Tag": [{"name": "tlp:red"}]}]}});
    let conv = event_to_stix(&event, &Options::default()).unwrap();
    let grouping = conv
        .objects
        .iter()
        .find(|o| o["type"] == "grouping")
        .unwrap();
    assert_eq!(
        grouping["object_marking_refs"],
        json!([liaison_stix::tlp::Tlp::Amber.marking_id()])
    );
    assert!(grouping["labels"]
        .as_array()
        .unwrap()
        .contains(&json!("kill-chain:delivery")));
    let ind = conv
        .objects
        .iter()
        .find(|o| o["type"] == "indicator")
        .unwrap();
    assert_eq!(
        ind["object_marking_refs"],
        json!([liaison_stix::tlp::Tlp::Red.marking_id()])
    );
    assert!(conv
        .objects
        .iter()
        .any(|o| o["id"] == liaison_stix::tlp::Tlp::Red.marking_id()));
    let back = stix_to_events(&conv.objects, &Options::default()).unwrap();
    let tags: Vec<&str> = back[0]["Event"]["Tag"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        tags.contains(&"tlp:amber") && tags.contains(&"kill-chain:delivery"),
        "{tags:?}"
    );
    assert_eq!(
        back[0]["Event"]["Attribute"][0]["Tag"][0]["name"],
        "tlp:red"
    );
}

#[test]
fn unknown_type_and_bad_values_warn_with_json_path() {
    let event = json!({"Event": {"uuid": "0b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a", "info": "t",
    "Attribute": [
        {"uuid": "91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f", "type": "domain", "value": "ok.example"},
        {"uuid": "518b4bcb-a86b-4783-9457-391d548b605b", "type": "no-such-type", "value": "x"},
        {"uuid": "34cb1a7c-55ec-412a-8684-ba4a88d83a45", "type": "ip-dst", "value": "not an ip"},
        {"uuid": "94a2b00f-bec3-4f8a-bea4-e4ccf0de776f", "value": "no type"},
        {"uuid": "f2259650-bc33-4b64-a3a8-a324aa7ea6bb", "type": "ip-src|port", "value": "1.2.3.4|99999"}
    ]}});
    let conv = event_to_stix(&event, &Options::default()).unwrap();
    let paths: Vec<&str> = conv.warnings.iter().map(|w| w.path.as_str()).collect();
    assert!(
        paths.contains(&"Event.Attribute[1].type"),
        "{:?}",
        conv.warnings
    );
    assert!(
        paths.contains(&"Event.Attribute[2].value"),
        "{:?}",
        conv.warnings
    );
    assert!(
        paths.contains(&"Event.Attribute[3].type"),
        "{:?}",
        conv.warnings
    );
    assert!(
        paths.contains(&"Event.Attribute[4].value"),
        "{:?}",
        conv.warnings
    );
    assert!(
        conv.warnings[0].to_string().contains("no-such-type")
            || conv
                .warnings
                .iter()
                .any(|w| w.message.contains("no-such-type"))
    );
    // The good attribute is converted; the unknown and invalid ones are kept as MISP data.
    assert!(conv
        .objects
        .iter()
        .any(|o| o["id"] == "indicator--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f"));
    assert!(conv
        .objects
        .iter()
        .any(|o| o["id"] == "x-misp-attribute--518b4bcb-a86b-4783-9457-391d548b605b"));
    assert!(conv
        .objects
        .iter()
        .any(|o| o["id"] == "x-misp-attribute--34cb1a7c-55ec-412a-8684-ba4a88d83a45"));
    assert!(!conv.objects.iter().any(|o| o["id"]
        .as_str()
        .unwrap_or_default()
        .ends_with("94a2b00f-bec3-4f8a-bea4-e4ccf0de776f")));
}

#[test]
fn not_an_event_is_an_error_naming_the_path() {
    let e = event_to_stix(&json!({"Event": {"info": "no uuid"}}), &Options::default()).unwrap_err();
    assert_eq!(e.path(), "Event.uuid");
    let e = event_to_stix(
        &json!({"Event": {"uuid": "0b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a", "Attribute": {"a": 1}}}),
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(e.path(), "Event.Attribute");
    let e = event_to_stix(&json!([1, 2]), &Options::default()).unwrap_err();
    assert_eq!(e.path(), "$");
    assert!(!is_misp_event(
        &json!({"type": "bundle", "id": "bundle--0b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a"})
    ));
    assert!(is_misp_event(&json!({"Event": {"uuid": "x"}})));
}

#[test]
fn manifest_entries_and_errors() {
    let m = json!({
        "5e8a8c6f-7b58-4bd2-a2b6-3e0b1a6b2a11": {"info": "b", "timestamp": 1603642921, "Orgc": {"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"}},
        "0b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a": {"info": "a", "timestamp": "1603642920", "date": "2020-10-25"}
    });
    let entries = parse_manifest(&m).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].uuid, "0b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a");
    assert_eq!(
        entries[1].orgc.as_ref().map(|o| o.0.as_str()),
        Some("CIRCL")
    );
    let bad = json!({"5e8a8c6f-7b58-4bd2-a2b6-3e0b1a6b2a11": {"info": "b", "timestamp": "soon"}});
    let e = parse_manifest(&bad).unwrap_err();
    assert_eq!(
        e.path(),
        "$[\"5e8a8c6f-7b58-4bd2-a2b6-3e0b1a6b2a11\"].timestamp"
    );
}

#[test]
fn foreign_stix_becomes_one_event_with_attributes() {
    let objects = vec![
        json!({"type": "indicator", "spec_version": "2.1", "id": "indicator--0b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a",
               "created": "2021-01-01T00:00:00.000Z", "modified": "2021-01-01T00:00:00.000Z",
               "pattern": "[file:hashes.'SHA-256' = 'ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b']",
               "pattern_type": "stix", "valid_from": "2021-01-01T00:00:00Z"}),
        json!({"type": "indicator", "spec_version": "2.1", "id": "indicator--1b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a",
               "created": "2021-01-01T00:00:00.000Z", "modified": "2021-01-01T00:00:00.000Z",
               "pattern": "rule x { condition: true }", "pattern_type": "yara", "valid_from": "2021-01-01T00:00:00Z"}),
        json!({"type": "malware", "spec_version": "2.1", "id": "malware--2b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a",
               "created": "2021-01-01T00:00:00.000Z", "modified": "2021-01-01T00:00:00.000Z",
               "name": "Emotet", "is_family": true}),
    ];
    let events = stix_to_events(&objects, &Options::default()).unwrap();
    assert_eq!(events.len(), 1);
    let attrs = events[0]["Event"]["Attribute"].as_array().unwrap();
    let pairs: BTreeSet<(&str, &str)> = attrs
        .iter()
        .map(|a| (a["type"].as_str().unwrap(), a["value"].as_str().unwrap()))
        .collect();
    assert!(pairs.contains(&(
        "sha256",
        "ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b"
    )));
    assert!(pairs.contains(&("yara", "rule x { condition: true }")));
    assert_eq!(
        events[0]["Event"]["Galaxy"][0]["GalaxyCluster"][0]["value"],
        "Emotet"
    );
    // The exported event converts again without error.
    event_to_stix(&events[0], &Options::default()).unwrap();
}

/// The templates whose STIX form has a misp-stix reference and comes back
/// as the MISP object it was (pe and pe-section folded into their file or pe).
const OBJECT_TEMPLATES: &[&str] = &[
    "http-request",
    "image",
    "netflow",
    "pe",
    "pe-section",
    "process",
];

type AttrKey = (String, String, String, bool, Option<String>);

/// An attribute value as text; MISP's spellings of a boolean (`True`, `1`,
/// JSON `true`) as one.
fn misp_value(t: &str, v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if t == "boolean" {
        return match s.to_ascii_lowercase().as_str() {
            "1" | "true" => "1".into(),
            "0" | "false" => "0".into(),
            _ => s,
        };
    }
    s
}

/// (relation, value, type, to_ids, data) of an object's attributes, with
/// MISP's default for `to_ids` where the input leaves it out.
fn object_attributes(o: &Value) -> BTreeSet<AttrKey> {
    o["Attribute"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let t = a["type"].as_str().unwrap_or_default().to_string();
            let ids = match &a["to_ids"] {
                Value::Bool(b) => *b,
                _ => liaison_misp::default_to_ids(&t),
            };
            (
                a["object_relation"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                misp_value(&t, &a["value"]),
                t,
                ids,
                a["data"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn objects_named<'a>(event: &'a Value, name: &str) -> Vec<&'a Value> {
    event["Event"]["Object"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["name"] == name)
        .collect()
}

#[test]
fn misp_stix_misp_keeps_mapped_objects() {
    let mut checked = BTreeSet::new();
    for (name, event) in events() {
        let has = |t: &str| !objects_named(&event, t).is_empty();
        if !OBJECT_TEMPLATES.iter().any(|t| has(t)) {
            continue;
        }
        let conv = event_to_stix(&event, &Options::default()).expect("converts");
        let back = stix_to_events(&conv.objects, &Options::default()).expect("converts back");
        assert_eq!(back.len(), 1, "{name}: one event back");
        for t in OBJECT_TEMPLATES {
            let before = objects_named(&event, t);
            let after = objects_named(&back[0], t);
            assert_eq!(before.len(), after.len(), "{name}: {t} objects back");
            for (b, a) in before.iter().zip(&after) {
                let (kb, ka) = (object_attributes(b), object_attributes(a));
                assert_eq!(
                    kb,
                    ka,
                    "{name}: {t} lost {:?}, gained {:?}",
                    kb.difference(&ka).collect::<Vec<_>>(),
                    ka.difference(&kb).collect::<Vec<_>>()
                );
                // Objects that were not folded into another keep their UUID
                // (sections always are; a PE is when its file is there).
                let folded = *t == "pe-section" || (*t == "pe" && has("file"));
                if !folded {
                    assert_eq!(a["uuid"], b["uuid"], "{name}: {t} UUID");
                }
                checked.insert(*t);
            }
        }
        // What included what comes back as references.
        let refs = |e: &Value, from: &str, to: &str| -> usize {
            let targets: BTreeSet<&str> = objects_named(e, to)
                .iter()
                .filter_map(|o| o["uuid"].as_str())
                .collect();
            objects_named(e, from)
                .iter()
                .flat_map(|o| o["ObjectReference"].as_array().into_iter().flatten())
                .filter(|r| {
                    r["relationship_type"] == "includes"
                        && r["referenced_uuid"]
                            .as_str()
                            .is_some_and(|u| targets.contains(u))
                })
                .count()
        };
        for (from, to) in [("file", "pe"), ("pe", "pe-section")] {
            assert_eq!(
                refs(&event, from, to),
                refs(&back[0], from, to),
                "{name}: {from} includes {to}"
            );
        }
    }
    assert_eq!(
        checked.len(),
        OBJECT_TEMPLATES.len(),
        "every template checked at least once: {checked:?}"
    );
}

/// Where MISP → STIX → MISP knowingly changes an object's attributes:
/// (event, template, relation, why).
const OBJECT_LOSSES: &[(&str, &str, &str, &str)] = &[
    (
        "event_with_artifact_payload_object.json",
        "artifact",
        "payload_bin",
        "the payload's file name is not in STIX (an artifact carries only its bytes)",
    ),
    (
        "event_with_cpe_asset_object.json",
        "cpe-asset",
        "language",
        "language tags are lowercased for STIX (ENG -> eng)",
    ),
    (
        "event_with_domain_ip_object_custom.json",
        "domain-ip",
        "hostname",
        "domain-ip is not in the template table: it comes back by its observables (domains and addresses only)",
    ),
    (
        "event_with_domain_ip_object_custom.json",
        "domain-ip",
        "port",
        "as above",
    ),
    (
        "event_with_escaped_values_v20.json",
        "network-socket",
        "protocol",
        "a traffic without protocol is TCP in STIX and comes back with protocol TCP",
    ),
    (
        "event_with_escaped_values_v21.json",
        "network-socket",
        "protocol",
        "as above",
    ),
    (
        "event_with_registry_key_and_values_objects.json",
        "registry-key",
        "name",
        "the first value of a key (here from a folded registry-key-value object) comes back on the key",
    ),
    (
        "event_with_registry_key_and_values_objects.json",
        "registry-key",
        "data",
        "as above",
    ),
    (
        "event_with_registry_key_and_values_objects.json",
        "registry-key",
        "data-type",
        "as above",
    ),
    (
        "event_with_user_account_objects.json",
        "user-account",
        "account-type",
        "three objects share one UUID: only the first is in STIX",
    ),
    (
        "event_with_vulnerability_and_weakness_objects.json",
        "weakness",
        "description",
        "attributes without a type are skipped (with a warning)",
    ),
    (
        "event_with_vulnerability_and_weakness_objects.json",
        "weakness",
        "id",
        "as above",
    ),
    (
        "event_with_weakness_object.json",
        "weakness",
        "description",
        "attributes without a type are skipped (with a warning)",
    ),
    (
        "event_with_weakness_object.json",
        "weakness",
        "id",
        "as above",
    ),
];

/// Every fixture object that comes back under its UUID keeps each
/// attribute's relation, type, value and `to_ids`, but for the listed losses
/// (and the list stays true: a listed loss that no longer occurs fails too).
#[test]
fn misp_stix_misp_keeps_object_attributes() {
    use std::collections::BTreeMap;
    type Key = (String, String, String, bool);
    let counted = |o: &Value| -> BTreeMap<Key, usize> {
        let mut m = BTreeMap::new();
        for a in o["Attribute"].as_array().into_iter().flatten() {
            let t = a["type"].as_str().unwrap_or_default().to_string();
            let ids = match &a["to_ids"] {
                Value::Bool(b) => *b,
                Value::String(s) => s == "1" || s == "true" || s == "True",
                _ => liaison_misp::default_to_ids(&t),
            };
            let v = misp_value(&t, &a["value"]);
            let rel = a["object_relation"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            *m.entry((rel, t, v, ids)).or_default() += 1;
        }
        m
    };
    let mut differing = BTreeSet::new();
    let mut compared = 0;
    for (name, event) in events() {
        let conv = event_to_stix(&event, &Options::default()).expect("converts");
        let back = stix_to_events(&conv.objects, &Options::default()).expect("converts back");
        let Some(back) = back.first() else {
            continue;
        };
        for o in event["Event"]["Object"].as_array().into_iter().flatten() {
            let Some(b) = back["Event"]["Object"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|b| b["uuid"] == o["uuid"])
            else {
                continue;
            };
            compared += 1;
            let (before, after) = (counted(o), counted(b));
            for k in before.keys().chain(after.keys()) {
                if before.get(k) != after.get(k) {
                    let t = o["name"].as_str().unwrap_or_default().to_string();
                    differing.insert((name.clone(), t, k.0.clone()));
                }
            }
        }
    }
    let listed: BTreeSet<(String, String, String)> = OBJECT_LOSSES
        .iter()
        .map(|(e, t, r, _)| (e.to_string(), t.to_string(), r.to_string()))
        .collect();
    assert_eq!(
        differing,
        listed,
        "unlisted: {:?}; listed but no longer lost: {:?}",
        differing.difference(&listed).collect::<Vec<_>>(),
        listed.difference(&differing).collect::<Vec<_>>()
    );
    // 90 of the fixtures' objects come back as objects under their UUID (SDO
    // templates come back as galaxy clusters or attributes, folded ones
    // under derived UUIDs): the comparison must not quietly shrink.
    assert!(compared >= 90, "only {compared} objects compared");
}
