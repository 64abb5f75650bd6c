//! `liaison import` of MISP events and `liaison export --format misp`, end to end.
//! Fixtures: the misp-stix test events of liaison-misp (BSD-2-Clause, see
//! crates/liaison-misp/tests/fixtures/NOTICE.md).

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn misp_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../liaison-misp/tests/fixtures/events")
        .join(name)
}

fn all_misp_fixtures() -> Vec<PathBuf> {
    let dir = misp_fixture("");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn stats_objects(d: &Path, user: &str) -> u64 {
    json(&run(d, &["--as", user, "stats", "--json"]))["objects"]
        .as_u64()
        .unwrap()
}

fn attributes(doc: &Value) -> Vec<(String, String, bool)> {
    let events: Vec<&Value> = match doc.get("response") {
        Some(list) => list.as_array().unwrap().iter().collect(),
        None => vec![doc],
    };
    let mut out: Vec<(String, String, bool)> = events
        .iter()
        .flat_map(|e| {
            e["Event"]["Attribute"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_string(),
                a["value"].as_str().unwrap().to_string(),
                a["to_ids"].as_bool().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn misp_event_imports_idempotently_and_exports_as_misp() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let f = misp_fixture("event_with_ip_attributes.json");
    let r = run(&d, &["import", "--json", f.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let rep = &json(&r)[0];
    assert_eq!(rep["format"], "misp");
    // identity, grouping, 2 × (observed-data, network-traffic, ipv4-addr, indicator, relationship)
    assert_eq!(rep["report"]["new"], 12, "{rep}");
    let again = json(&run(&d, &["import", "--json", f.to_str().unwrap()]));
    assert_eq!(
        again[0]["report"]["new"], 0,
        "re-import creates nothing: {again}"
    );
    assert_eq!(again[0]["report"]["unchanged"], 12);
    let ind = json(&run(
        &d,
        &[
            "get",
            "indicator--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f",
            "--json",
        ],
    ));
    assert_eq!(
        ind["pattern"],
        "[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '1.2.3.4']"
    );
    let out = tmp.path().join("events.json");
    let r = run(
        &d,
        &["export", "--format", "misp", "--out", out.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(doc["Event"]["uuid"], "a6ef17d6-91cb-4a05-b10b-2f045daf874c");
    assert_eq!(
        attributes(&doc),
        vec![
            ("ip-dst".to_string(), "5.6.7.8".to_string(), true),
            ("ip-src".to_string(), "1.2.3.4".to_string(), true)
        ]
    );
    // The exported MISP event imports again, into the same objects.
    let back = json(&run(&d, &["import", "--json", out.to_str().unwrap()]));
    assert_eq!(back[0]["format"], "misp");
    assert_eq!(back[0]["report"]["invalid"], json!([]), "{back}");
}

#[test]
fn unknown_types_warn_with_json_path_and_import_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let f = write(
        tmp.path(),
        "ev.json",
        &json!({"Event": {"uuid": "0b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a", "info": "odd",
            "timestamp": "1700000000",
            "Orgc": {"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
            "Attribute": [
                {"uuid": "91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f", "type": "domain", "value": "evil.example", "to_ids": true},
                {"uuid": "518b4bcb-a86b-4783-9457-391d548b605b", "type": "quantum-hash", "value": "q"},
                {"uuid": "34cb1a7c-55ec-412a-8684-ba4a88d83a45", "type": "ip-dst", "value": "999.1.1.1", "to_ids": true}
            ]}})
        .to_string(),
    );
    let r = run(&d, &["import", f.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("Event.Attribute[1].type") && r.stderr.contains("quantum-hash"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Event.Attribute[2].value"),
        "{}",
        r.stderr
    );
    assert_eq!(
        run(
            &d,
            &["get", "indicator--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f"]
        )
        .code,
        0
    );
    // The bad address is kept as MISP data, not as an invalid observable.
    assert_eq!(
        run(
            &d,
            &[
                "get",
                "x-misp-attribute--34cb1a7c-55ec-412a-8684-ba4a88d83a45"
            ]
        )
        .code,
        0
    );
    assert_eq!(
        run(
            &d,
            &["get", "ipv4-addr--34cb1a7c-55ec-412a-8684-ba4a88d83a45"]
        )
        .code,
        1
    );
}

#[test]
fn malformed_misp_json_stores_nothing_and_names_the_place() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    // A new store already holds the TLP markings and its own definitions.
    let fresh = stats_objects(&d, "admin");
    let good = r#"{"uuid": "91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f", "type": "domain", "value": "a.example", "to_ids": true}"#;
    let text = format!(
        "{{\"Event\": {{\"uuid\": \"0b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a\", \"info\": \"broken\",\n \"Attribute\": [\n {good},\n {good},\n {{\"type\": \"url\", \"value\": \"https://x.example/\" \"to_ids\": true}}\n ]}}}}"
    );
    let f = write(tmp.path(), "broken.json", &text);
    let r = run(&d, &["import", "--format", "misp", f.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Event.Attribute[2]"), "{}", r.stderr);
    assert!(r.stderr.contains("line 5"), "{}", r.stderr);
    assert!(
        r.stderr.contains("nothing of this file was stored"),
        "{}",
        r.stderr
    );
    assert_eq!(stats_objects(&d, "admin"), fresh);
    // Not an event at all: the missing uuid is named.
    let f = write(
        tmp.path(),
        "nouuid.json",
        r#"{"Event": {"info": "x", "Attribute": []}}"#,
    );
    let r = run(&d, &["import", f.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Event.uuid"), "{}", r.stderr);
    assert_eq!(stats_objects(&d, "admin"), fresh);
}

/// MISP content under a SECRET label: alice (SECRET, GRID) sees it in the
/// MISP export; bob (CONFIDENTIAL) gets no trace of it.
#[test]
fn misp_import_and_export_respect_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo(tmp.path());
    let before_bob = stats_objects(&d, "bob");
    let f = misp_fixture("event_with_domain_attribute.json");
    let r = run(
        &d,
        &[
            "--as",
            "alice",
            "import",
            "--label",
            "SECRET//GRID//TLP:AMBER",
            f.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let export = |user: &str| -> String {
        let out = tmp.path().join(format!("{user}.json"));
        let r = run(
            &d,
            &[
                "--as",
                user,
                "export",
                "--format",
                "misp",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        std::fs::read_to_string(out).unwrap()
    };
    let alice = export("alice");
    assert!(alice.contains("circl.lu"), "alice sees the attribute");
    assert!(alice.contains("a6ef17d6-91cb-4a05-b10b-2f045daf874c"));
    let bob = export("bob");
    assert!(!bob.contains("circl.lu"), "bob must not see the value");
    assert!(
        !bob.contains("a6ef17d6-91cb-4a05-b10b-2f045daf874c")
            && !bob.contains("91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f"),
        "bob must not see the event's or attribute's UUID"
    );
    assert_eq!(
        stats_objects(&d, "bob"),
        before_bob,
        "bob's counts do not move"
    );
    assert_eq!(
        run(
            &d,
            &[
                "--as",
                "bob",
                "get",
                "indicator--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f"
            ]
        )
        .code,
        1
    );
}

/// Every fixture event imports without an invalid object (each into a fresh
/// store: the fixtures reuse UUIDs across events), and our STIX conversion of
/// every event passes the OASIS reference validator (from .venv).
#[test]
fn misp_conversions_pass_stix2_validator() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bundles = vec![];
    for (i, f) in all_misp_fixtures().into_iter().enumerate() {
        let d = tmp.path().join(format!("store{i}"));
        assert_eq!(run(&d, &["init"]).code, 0);
        let r = run(&d, &["import", "--json", f.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}: {}{}", f.display(), r.stdout, r.stderr);
        assert_eq!(
            json(&r)[0]["report"]["invalid"],
            json!([]),
            "{}",
            f.display()
        );
        let event: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let conv = liaison_misp::event_to_stix(&event, &liaison_misp::Options::default()).unwrap();
        let bundle = json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()),
                            "objects": conv.objects});
        let out = tmp.path().join(format!("bundle{i}.json"));
        std::fs::write(&out, bundle.to_string()).unwrap();
        bundles.push(out);
    }
    let venv = std::env::var("LIAISON_VENV").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.venv")
            .to_string_lossy()
            .into_owned()
    });
    let tool = PathBuf::from(venv).join("bin/stix2_validator");
    assert!(
        tool.exists(),
        "{} is missing: run scripts/setup.sh (or scripts/test.sh) first",
        tool.display()
    );
    let v = Command::new(tool)
        .args(["--version", "2.1"])
        .args(&bundles)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.status.success() && !text.contains("[X]"),
        "stix2_validator refused the MISP conversions:\n{}",
        &text[..text.len().min(8000)]
    );
}
