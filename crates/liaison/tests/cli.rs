//! End-to-end tests of the `liaison` binary: what a user types, what a user checks.

mod common;
use common::*;
use serde_json::{json, Value};

const GRIDSPIKE: &str = "malware--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const VOLT: &str = "intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29";
const BLACKOUT: &str = "campaign--1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f";

fn malware(uuid_tail: &str, name: &str, modified: &str) -> Value {
    json!({"type": "malware", "spec_version": "2.1", "id": format!("malware--0b5c1d02-6a7b-4c3d-8e9f-{uuid_tail}"),
        "created": "2024-01-01T00:00:00.000Z", "modified": modified, "name": name, "is_family": true})
}

fn bundle(objs: Vec<Value>) -> String {
    json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objs})
        .to_string()
}

#[test]
fn demo_users_see_what_their_clearance_allows() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo(tmp.path());
    let d = d.as_path();
    // alice (SECRET, GRID, cert) reads the SECRET//GRID malware; bob (CONFIDENTIAL) does not.
    assert_eq!(
        run(d, &["--as", "alice", "get", GRIDSPIKE, "--json"]).code,
        0
    );
    let r = run(d, &["--as", "bob", "get", GRIDSPIKE]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.is_empty(),
        "nothing of the object is printed: {}",
        r.stdout
    );
    // Search: results, total and facets hide it from bob.
    let s = json(&run(d, &["--as", "bob", "search", "gridspike", "--json"]));
    assert!(s["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["id"] != GRIDSPIKE));
    assert_eq!(
        s["facets"].get("malware"),
        None,
        "a malware facet would reveal it: {s}"
    );
    let s = json(&run(d, &["--as", "alice", "search", "gridspike", "--json"]));
    assert_eq!(s["facets"]["malware"], 1);
    // The TOP SECRET ministry-only campaign: dana (ministry, TS, GRID) sees it; admin of cert does not.
    assert_eq!(run(d, &["--as", "dana", "get", BLACKOUT]).code, 0);
    assert_eq!(run(d, &["--as", "admin", "get", BLACKOUT]).code, 1);
    // Graph: sam (RESTRICTED) sees Volt Lantern but neither the malware nor the campaign.
    let g = json(&run(
        d,
        &["--as", "sam", "graph", VOLT, "--depth", "2", "--json"],
    ));
    let ids: Vec<&str> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&VOLT));
    assert!(
        !ids.contains(&GRIDSPIKE) && !ids.contains(&BLACKOUT),
        "{ids:?}"
    );
    let g = json(&run(
        d,
        &["--as", "dana", "graph", VOLT, "--depth", "2", "--json"],
    ));
    let ids: Vec<&str> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&GRIDSPIKE) && ids.contains(&BLACKOUT),
        "{ids:?}"
    );
    // Stats: bob's counts contain no SECRET or TOP SECRET object.
    let st = json(&run(d, &["--as", "bob", "stats", "--json"]));
    assert_eq!(st["by_level"].get("SECRET"), None);
    assert_eq!(st["by_level"].get("TOP SECRET"), None);
    let all = json(&run(d, &["--as", "admin", "stats", "--json"]));
    assert!(all["objects"].as_u64().unwrap() > st["objects"].as_u64().unwrap());
    // Export as chen holds nothing above RESTRICTED and nothing outside GRID.
    let out = tmp.path().join("chen.json");
    assert_eq!(
        run(
            d,
            &["--as", "chen", "export", "--out", out.to_str().unwrap()]
        )
        .code,
        0
    );
    let exported: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let ext = liaison_label_ext();
    for o in objects_of(&exported) {
        if let Some(l) = o["extensions"].get(ext) {
            let level = l["level"].as_str().unwrap();
            assert!(
                level == "UNCLASSIFIED" || level == "RESTRICTED",
                "chen got {level}: {}",
                o["id"]
            );
            for c in l["compartments"].as_array().into_iter().flatten() {
                assert_eq!(c, "GRID");
            }
        }
    }
    // Chinese two-character words are found.
    let s = json(&run(d, &["--as", "chen", "search", "电网", "--json"]));
    assert!(
        s["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == VOLT),
        "{s}"
    );
}

fn liaison_label_ext() -> &'static str {
    "extension-definition--5b3c8a34-6a8e-4b64-9a43-1f2d0c6e7a11"
}

#[test]
fn import_reports_counts_and_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let f1 = write(
        tmp.path(),
        "v1.json",
        &bundle(vec![malware(
            "000000000001",
            "Ivy",
            "2024-01-01T00:00:00.000Z",
        )]),
    );
    let r = run(&d, &["import", "--json", f1.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r)[0]["report"]["new"], 1);
    let f2 = write(
        tmp.path(),
        "v2.json",
        &bundle(vec![
            malware("000000000001", "Ivy II", "2024-03-01T00:00:00.000Z"),
            malware("000000000001", "Ivy", "2024-01-01T00:00:00.000Z"),
        ]),
    );
    let r = json(&run(&d, &["import", "--json", f2.to_str().unwrap()]));
    assert_eq!(
        (
            r[0]["report"]["updated"].as_u64(),
            r[0]["report"]["unchanged"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let v = json(&run(
        &d,
        &[
            "get",
            "malware--0b5c1d02-6a7b-4c3d-8e9f-000000000001",
            "--versions",
            "--json",
        ],
    ));
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ivy", "Ivy II"]);
}

#[test]
fn truncated_json_names_the_place_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let full = bundle(vec![
        malware("000000000001", "One", "2024-01-01T00:00:00.000Z"),
        malware("000000000002", "Two", "2024-01-01T00:00:00.000Z"),
    ]);
    let cut = &full[..full.len() - 40];
    let f = write(tmp.path(), "cut.json", cut);
    let r = run(&d, &["import", f.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cut.json") && r.stderr.contains("line 1 column"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("nothing of this file was stored"),
        "{}",
        r.stderr
    );
    let st = json(&run(&d, &["stats", "--json"]));
    assert_eq!(
        st["objects"], 7,
        "the complete first object must not be stored either"
    );
}

#[test]
fn invalid_objects_are_named_and_skipped_or_strict_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let mut wrong_type = malware("000000000002", "Two", "2024-01-01T00:00:00.000Z");
    wrong_type["is_family"] = json!("yes");
    let unknown_comp = {
        let mut m = malware("000000000003", "Three", "2024-01-01T00:00:00.000Z");
        m["extensions"] = json!({liaison_label_ext(): {"extension_type": "property-extension", "level": "SECRET", "compartments": ["NUCLEAR"]}});
        m
    };
    let text = bundle(vec![
        malware("000000000001", "One", "2024-01-01T00:00:00.000Z"),
        wrong_type,
        unknown_comp,
    ]);
    let f = write(tmp.path(), "mixed.json", &text);
    let r = run(&d, &["import", f.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("1 new") && r.stdout.contains("2 invalid"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("$.objects[1].is_family"), "{}", r.stdout);
    assert!(
        r.stdout.contains("unknown compartment 'NUCLEAR'"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("$.objects[2].extensions"), "{}", r.stdout);

    // --strict: the first invalid object stops the file and nothing of it is stored.
    let tmp2 = tempfile::tempdir().unwrap();
    let d2 = init(tmp2.path());
    let r = run(&d2, &["import", "--strict", f.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("$.objects[1].is_family"), "{}", r.stderr);
    // Only the seven built-in objects (identity, label extension, TLP markings).
    assert_eq!(json(&run(&d2, &["stats", "--json"]))["objects"], 7);
}

#[test]
fn same_id_and_modified_with_other_content_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let f1 = write(
        tmp.path(),
        "a.json",
        &bundle(vec![malware(
            "000000000001",
            "Ivy",
            "2024-01-01T00:00:00.000Z",
        )]),
    );
    let f2 = write(
        tmp.path(),
        "b.json",
        &bundle(vec![malware(
            "000000000001",
            "Oak",
            "2024-01-01T00:00:00.000Z",
        )]),
    );
    run(&d, &["import", f1.to_str().unwrap()]);
    let r = run(&d, &["import", f2.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("$.objects[0].modified") && r.stdout.contains("immutable"),
        "{}",
        r.stdout
    );
    let g = json(&run(
        &d,
        &[
            "get",
            "malware--0b5c1d02-6a7b-4c3d-8e9f-000000000001",
            "--json",
        ],
    ));
    assert_eq!(g["name"], "Ivy", "the stored version is kept");
}

#[test]
fn unknown_object_type_is_rejected_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let f = write(
        tmp.path(),
        "u.json",
        &bundle(vec![
            json!({"type": "threat-thing", "spec_version": "2.1", "id": "threat-thing--0b5c1d02-6a7b-4c3d-8e9f-000000000001",
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"}),
        ]),
    );
    let r = run(&d, &["import", f.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("$.objects[0]") && r.stdout.contains("1 invalid"),
        "{}",
        r.stdout
    );
}

#[test]
fn label_flag_applies_to_unlabelled_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let f = write(
        tmp.path(),
        "a.json",
        &bundle(vec![malware(
            "000000000001",
            "Ivy",
            "2024-01-01T00:00:00.000Z",
        )]),
    );
    let r = run(
        &d,
        &[
            "import",
            "--label",
            "SECRET//GRID//REL TO ministry//TLP:AMBER",
            f.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let g = run(
        &d,
        &["get", "malware--0b5c1d02-6a7b-4c3d-8e9f-000000000001"],
    );
    assert!(
        g.stdout
            .starts_with("== SECRET//GRID//REL TO cert, ministry//TLP:AMBER =="),
        "{}",
        g.stdout
    );
    let bad = run(
        &d,
        &["import", "--label", "SECRET//NUCLEAR", f.to_str().unwrap()],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unknown compartment 'NUCLEAR'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn stix20_is_upgraded_on_import() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let f = fixtures().join("attack-enterprise-v15-sample-stix20.json");
    let r = json(&run(&d, &["import", "--json", f.to_str().unwrap()]));
    assert_eq!(
        r[0]["report"]["invalid"].as_array().unwrap().len(),
        0,
        "{r}"
    );
    assert!(r[0]["report"]["new"].as_u64().unwrap() > 100);
    let s = json(&run(
        &d,
        &["search", "--type", "attack-pattern", "--json", "phishing"],
    ));
    assert!(s["total"].as_u64().unwrap() > 0);
    let hit = s["hits"][0]["id"].as_str().unwrap().to_string();
    let o = json(&run(&d, &["get", &hit, "--json"]));
    assert_eq!(o["spec_version"], "2.1");
}

/// import → export → import is a fixed point on real third-party data.
#[test]
fn export_reimports_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let fx = fixtures().join("bundles");
    let files: Vec<String> = [
        "oasis/threat-reports/apt1.json",
        "oasis/threat-reports/poisonivy.json",
        "mitre/ics-attack-18.1-sample.json",
        "mitre/capec-2.1-sample.json",
    ]
    .iter()
    .map(|f| fx.join(f).to_string_lossy().into_owned())
    .collect();
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    let r = run(&d, &args);
    // The only refusals are the two CAPEC objects whose URL starts with a space, which the
    // reference validator refuses too.
    let refused: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("invalid:"))
        .collect();
    assert_eq!(refused.len(), 2, "{}", r.stdout);
    assert!(
        refused
            .iter()
            .all(|l| l.contains("external_references") && l.contains("' https://")),
        "{refused:?}"
    );
    let out = tmp.path().join("export.json");
    assert_eq!(run(&d, &["export", "--out", out.to_str().unwrap()]).code, 0);
    let first: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let r = json(&run(&d, &["import", "--json", out.to_str().unwrap()]));
    let rep = &r[0]["report"];
    // Everything is already there, the built-in marking and extension definitions included.
    assert_eq!(rep["new"], 0, "{rep}");
    assert_eq!(rep["updated"], 0);
    assert_eq!(rep["invalid"].as_array().unwrap().len(), 0, "{rep}");
    // Into a fresh store, then out again: the same objects.
    let d2 = tmp.path().join("second");
    run(&d2, &["init", "--org", "cert"]);
    run(&d2, &["import", out.to_str().unwrap()]);
    let out2 = tmp.path().join("export2.json");
    run(&d2, &["export", "--out", out2.to_str().unwrap()]);
    let second: Value = serde_json::from_slice(&std::fs::read(&out2).unwrap()).unwrap();
    // The knowledge (not the marking and extension definitions the export appends) is the same.
    let key = |v: &Value| {
        let mut objs: Vec<Value> = objects_of(v)
            .into_iter()
            .filter(|o| o["type"] != "marking-definition" && o["type"] != "extension-definition")
            .collect();
        objs.sort_by(|a, b| {
            (a["id"].as_str(), a["modified"].as_str())
                .cmp(&(b["id"].as_str(), b["modified"].as_str()))
        });
        objs
    };
    let (a, b) = (key(&first), key(&second));
    assert_eq!(a.len(), b.len());
    assert!(a.len() > 700);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "object {} differs after a second round trip", x["id"]);
    }
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        "init", "import", "get", "search", "graph", "export", "stats", "demo", "screen",
    ] {
        let out = bin().args([cmd, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{cmd} --help failed");
        assert!(
            text.contains("liaison "),
            "{cmd} --help shows no example:\n{text}"
        );
    }
}

#[test]
fn pattern_check_and_match_speak_json() {
    let out = bin()
        .args(["pattern", "check", "--json", "[ipv4-addr:value = '1.2.3.4'"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "parse_error");
    assert!(v["message"].as_str().unwrap().starts_with("1:"), "{v}");
    let tmp = tempfile::tempdir().unwrap();
    let obs = write(
        tmp.path(),
        "obs.json",
        &json!([{"type": "observed-data", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
            "created": "2016-04-06T19:58:16.000Z", "modified": "2016-04-06T19:58:16.000Z",
            "first_observed": "2015-12-21T19:00:00Z", "last_observed": "2015-12-21T19:00:00Z", "number_observed": 1,
            "objects": {"0": {"type": "ipv4-addr", "value": "198.51.100.3"}}}])
        .to_string(),
    );
    let out = bin()
        .args([
            "pattern",
            "match",
            "--json",
            "--stix-version",
            "2.0",
            "[ipv4-addr:value = '198.51.100.3']",
            "--observations",
        ])
        .arg(&obs)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "match", "{v}");
}
