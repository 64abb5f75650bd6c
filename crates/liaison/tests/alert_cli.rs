//! `liaison screen --store` and `liaison alert …` end to end: hits become sightings and
//! alerts under the joined label, and an analyst triages them.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CONFIG: &str = r#"
[deployment]
name = "Alert test"
levels = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
compartments = ["GRID", "TELCO"]
default_user = "admin"

[[orgs]]
id = "cert"
name = "National CERT"
units = [{ id = "analysis", name = "Threat Analysis", head = "alice" }]

[[orgs]]
id = "ministry"
name = "Ministry"

[[users]]
name = "admin"
org = "cert"
clearance = "TOP SECRET"
compartments = ["GRID", "TELCO"]
roles = ["admin"]

[[users]]
name = "alice"
org = "cert"
unit = "analysis"
clearance = "SECRET"
compartments = ["GRID"]
roles = ["analyst"]

[[users]]
name = "sam"
org = "cert"
clearance = "RESTRICTED"
compartments = ["GRID", "TELCO"]
roles = ["analyst"]

[[users]]
name = "dana"
org = "ministry"
clearance = "TOP SECRET"
compartments = ["GRID", "TELCO"]
roles = ["analyst"]
"#;

fn setup(dir: &Path) -> PathBuf {
    let d = init(dir);
    write(&d, "config.toml", CONFIG);
    write(
        dir,
        "w.csv",
        "term,severity\ngridspike,high\nsubstation,medium\n",
    );
    write(
        dir,
        "feed.txt",
        "the gridspike malware hit a substation\nbeacon to 185.220.101.45; gridspike again\n",
    );
    d
}

fn alerts(d: &Path, user: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["--as", user, "alert", "list", "--json"];
    args.extend_from_slice(extra);
    let r = run(d, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    json(&r).as_array().unwrap().clone()
}

fn by_rule<'a>(list: &'a [Value], rule: &str) -> &'a Value {
    list.iter()
        .find(|a| a["rule"] == rule)
        .unwrap_or_else(|| panic!("no alert for {rule} in {list:?}"))
}

fn screen(d: &Path, tmp: &Path, extra: &[&str]) -> Run {
    let w = tmp.join("w.csv");
    let f = tmp.join("feed.txt");
    let mut args = vec![
        "screen",
        "--store",
        "--watchlist",
        w.to_str().unwrap(),
        "--min-severity",
        "info",
    ];
    args.extend_from_slice(extra);
    args.push(f.to_str().unwrap());
    run(d, &args)
}

#[test]
fn screening_hits_become_sightings_and_alerts_that_an_analyst_triages() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let r = screen(&d, tmp.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "hits are stored, not printed");
    assert!(
        r.stderr
            .contains("stored 4 hits as 3 sightings and 3 alerts"),
        "{}",
        r.stderr
    );
    let list = alerts(&d, "admin", &[]);
    assert_eq!(list.len(), 3);
    let grid = by_rule(&list, "term:gridspike");
    assert_eq!(grid["count"], 2);
    assert_eq!(grid["alert_severity"], "high");
    assert_eq!(grid["triage"]["state"], "new");
    assert_eq!(list[0]["rule"], "term:gridspike", "highest severity first");
    // The sighting: count, first/last seen, the source.
    let sid = grid["sighting_refs"][0].as_str().unwrap().to_string();
    let s = json(&run(&d, &["get", &sid, "--json"]));
    assert_eq!(s["type"], "sighting");
    assert_eq!(s["count"], 2);
    assert!(s["first_seen"].is_string() && s["last_seen"].is_string());
    assert!(s["x_liaison_source"]
        .as_str()
        .unwrap()
        .ends_with("feed.txt"));
    // Screening again folds into the same sighting and alert (new versions).
    assert_eq!(screen(&d, tmp.path(), &[]).code, 0);
    let list = alerts(&d, "admin", &[]);
    assert_eq!(list.len(), 3);
    assert_eq!(by_rule(&list, "term:gridspike")["count"], 4);
    assert_eq!(json(&run(&d, &["get", &sid, "--json"]))["count"], 4);

    // Triage.
    let sub = by_rule(&list, "term:substation")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ip = by_rule(&list, "ipv4:185.220.101.45")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let grid = by_rule(&list, "term:gridspike")["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(run(&d, &["alert", "ack", &sub]).code, 0);
    let r = run(&d, &["alert", "dismiss", &sub, "--reason", "generic word"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A dismissed alert is not escalated, and nothing changes.
    let r = run(
        &d,
        &["alert", "escalate", &sub, "--assign", "cert/analysis"],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("an alert that is dismissed cannot become escalated"),
        "{}",
        r.stderr
    );
    let h = json(&run(&d, &["alert", "show", &sub, "--history", "--json"]));
    let states: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["triage"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["new", "new", "acknowledged", "dismissed"]);
    assert_eq!(h[3]["triage"]["reason"], "generic word");
    let tasks = json(&run(&d, &["task", "list", "--json"]));
    assert!(tasks.as_array().unwrap().is_empty(), "no task was created");
    // Escalating makes a task that refers to the alert and its sightings.
    let r = run(
        &d,
        &[
            "alert",
            "escalate",
            &grid,
            "--assign",
            "cert/analysis",
            "--priority",
            "urgent",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tasks = json(&run(&d, &["task", "list", "--json"]));
    let t = &tasks.as_array().unwrap()[0];
    assert_eq!(t["priority"], "urgent");
    assert_eq!(t["object_refs"][0], grid.as_str());
    assert_eq!(t["title"], "Alert: gridspike");
    let a = json(&run(&d, &["alert", "show", &grid, "--json"]));
    assert_eq!(a["triage"]["state"], "escalated");
    assert_eq!(a["triage"]["task_ref"], t["id"]);
    // Promoting the extracted IP makes an observable and an indicator.
    let r = run(&d, &["alert", "promote", &ip]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let of_type = |t: &str| -> Vec<Value> {
        objects_of(&json(&run(&d, &["export", "--type", t])))
            .into_iter()
            .filter(|o| o["type"] == t)
            .collect()
    };
    let ind = of_type("indicator");
    assert_eq!(ind.len(), 1);
    assert_eq!(ind[0]["pattern"], "[ipv4-addr:value = '185.220.101.45']");
    assert_eq!(of_type("ipv4-addr")[0]["value"], "185.220.101.45");
    // A watchlist term has nothing to promote.
    let r = run(&d, &["alert", "promote", &sub]);
    assert_ne!(r.code, 0);
    // Accuracy figures keep the dismissal.
    let acc = json(&run(&d, &["alert", "accuracy", "--json"]));
    assert_eq!(acc["true_positives"], 2);
    assert_eq!(acc["false_positives"], 1);
    assert_eq!(acc["reasons"][0][0], "generic word");
    // Untriaged-only by default.
    assert!(alerts(&d, "admin", &[]).is_empty());
    assert_eq!(alerts(&d, "admin", &["--all"]).len(), 3);
}

#[test]
fn an_alert_carries_the_join_of_rule_and_source_labels_and_is_hidden_from_others() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let r = screen(
        &d,
        tmp.path(),
        &[
            "--rule-label",
            "SECRET//GRID//REL TO ministry",
            "--source-label",
            "RESTRICTED//TELCO",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let list = alerts(&d, "admin", &["--all"]);
    assert_eq!(list.len(), 3);
    let ext = &by_rule(&list, "term:gridspike")["extensions"][liaison_stix::LABEL_EXTENSION_ID];
    assert_eq!(ext["level"], "SECRET");
    assert_eq!(ext["compartments"], serde_json::json!(["GRID", "TELCO"]));
    assert_eq!(ext["owner"], "cert");
    assert!(
        ext.get("releasable_to").is_none(),
        "ministry may not read the source: {ext}"
    );
    // sam (RESTRICTED), alice (no TELCO), dana (ministry: the source is cert's only) see nothing.
    for user in ["sam", "alice", "dana"] {
        assert!(
            alerts(&d, user, &["--all"]).is_empty(),
            "{user} sees alerts"
        );
        let id = by_rule(&list, "term:gridspike")["id"].as_str().unwrap();
        let r = run(&d, &["--as", user, "alert", "show", id]);
        assert_eq!(r.code, 1, "{user}");
        assert!(r.stdout.is_empty());
        let r = run(&d, &["--as", user, "alert", "ack", id]);
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains("no alert"), "{}", r.stderr);
        let acc = json(&run(&d, &["--as", user, "alert", "accuracy", "--json"]));
        assert_eq!(acc["true_positives"], 0);
        let sightings = json(&run(&d, &["--as", user, "export", "--type", "sighting"]));
        assert!(
            objects_of(&sightings)
                .iter()
                .all(|o| o["type"] != "sighting"),
            "{user} reads sightings"
        );
    }
}

#[test]
fn store_flags_are_checked_before_screening() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let r = screen(&d, tmp.path(), &["--rule-label", "COSMIC//GRID"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("COSMIC"), "{}", r.stderr);
    let r = run(&d, &["screen", "--store", "--min-severity", "dire", "x"]);
    assert!(r.stderr.contains("unknown severity 'dire'"), "{}", r.stderr);
    assert!(alerts(&d, "admin", &["--all"]).is_empty());
}

/// Mentions of a key inside the burst window, from the baselines kept in the store.
fn window_mentions(d: &Path, org: &str, key: &str) -> Option<u64> {
    let policy = common::test_policy(&["GRID", "TELCO"]);
    let store = liaison_store::SqliteStore::open(&d.join("liaison.db"), policy).unwrap();
    let states = store.burst_baselines(org).unwrap();
    let (_, s) = states.iter().find(|(k, _)| k == key)?;
    let b: liaison_tasks::alert::KeyBaseline = serde_json::from_str(s).unwrap();
    Some(b.count + b.closed.iter().sum::<u64>())
}

#[test]
fn burst_baselines_carry_over_between_screen_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    assert_eq!(window_mentions(&d, "cert", "term:gridspike"), None);
    let r = screen(&d, tmp.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(window_mentions(&d, "cert", "term:gridspike"), Some(2));
    // The second run starts from the first run's window: 2 + 2 mentions.
    let r = screen(&d, tmp.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(window_mentions(&d, "cert", "term:gridspike"), Some(4));
    // Another organization's runs keep their own baselines.
    assert_eq!(window_mentions(&d, "ministry", "term:gridspike"), None);
}

#[test]
fn escalation_refused_leaves_no_task_and_the_alert_new() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    assert_eq!(screen(&d, tmp.path(), &[]).code, 0);
    let id = by_rule(&alerts(&d, "admin", &[]), "term:gridspike")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = run(
        &d,
        &[
            "--as", "admin", "alert", "escalate", &id, "--assign", "nowhere",
        ],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("unknown assignee 'nowhere'"),
        "{}",
        r.stderr
    );
    let r = run(&d, &["--as", "admin", "task", "list", "--all", "--json"]);
    assert_eq!(json(&r), serde_json::json!([]));
    assert_eq!(
        by_rule(&alerts(&d, "admin", &[]), "term:gridspike")["triage"]["state"],
        "new"
    );
    let r = run(
        &d,
        &[
            "--as",
            "admin",
            "alert",
            "escalate",
            &id,
            "--assign",
            "cert/analysis",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        &d,
        &["--as", "admin", "alert", "show", &id, "--history", "--json"],
    );
    let versions = json(&r);
    assert_eq!(
        versions.as_array().unwrap().len(),
        2,
        "one new alert version"
    );
    let tasks = run(&d, &["--as", "admin", "task", "list", "--json"]);
    let tasks = json(&tasks);
    assert_eq!(tasks.as_array().unwrap().len(), 1);
    assert_eq!(
        versions[1]["triage"]["task_ref"], tasks[0]["id"],
        "the alert names the task stored with it"
    );
}
