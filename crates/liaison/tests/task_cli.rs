//! `liaison task …` end to end: what a requester, an assignee and a leader check.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CONFIG: &str = r#"
[deployment]
name = "Task test"
levels = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
compartments = ["GRID", "TELCO"]
default_user = "admin"

[[orgs]]
id = "cert"
name = "National CERT"
units = [{ id = "analysis", name = "Threat Analysis", head = "carol" }, { id = "soc", name = "SOC", head = "sam" }]

[[orgs]]
id = "ministry"
name = "Ministry"
units = [{ id = "cyber", name = "Cyber Directorate", head = "dana" }]

[[orgs]]
id = "isac"
name = "Energy ISAC"

[[users]]
name = "admin"
org = "cert"
clearance = "TOP SECRET"
compartments = ["GRID", "TELCO"]
roles = ["admin"]

[[users]]
name = "dana"
org = "ministry"
unit = "cyber"
clearance = "SECRET"
compartments = ["GRID"]
roles = ["analyst"]

[[users]]
name = "alice"
org = "cert"
unit = "analysis"
clearance = "SECRET"
compartments = ["GRID"]
roles = ["analyst"]

[[users]]
name = "carol"
org = "cert"
unit = "analysis"
clearance = "SECRET"
compartments = ["GRID"]
roles = ["analyst"]

[[users]]
name = "sam"
org = "cert"
unit = "soc"
clearance = "RESTRICTED"
roles = ["analyst"]

[[users]]
name = "eve"
org = "isac"
clearance = "SECRET"
compartments = ["GRID"]
roles = ["analyst"]
"#;

fn setup(dir: &Path) -> PathBuf {
    let d = init(dir);
    write(&d, "config.toml", CONFIG);
    d
}

/// Run as a user; the command must succeed.
fn ok(d: &Path, user: &str, args: &[&str]) -> String {
    let mut all = vec!["--as", user, "task"];
    all.extend_from_slice(args);
    let r = run(d, &all);
    assert_eq!(r.code, 0, "{args:?} as {user}: {}\n{}", r.stdout, r.stderr);
    r.stdout
}

/// Run as a user; the command must fail. Returns stderr.
fn fails(d: &Path, user: &str, args: &[&str]) -> String {
    let mut all = vec!["--as", user, "task"];
    all.extend_from_slice(args);
    let r = run(d, &all);
    assert_ne!(r.code, 0, "{args:?} as {user} should fail: {}", r.stdout);
    r.stderr
}

fn new_task(d: &Path, user: &str, extra: &[&str]) -> String {
    let mut args = vec!["new", "--title", "Who is behind GRIDSPIKE?", "--json"];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_str(&ok(d, user, &args)).unwrap();
    v["id"].as_str().unwrap().to_string()
}

fn list(d: &Path, user: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["list", "--json"];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_str(&ok(d, user, &args)).unwrap();
    v.as_array().unwrap().clone()
}

fn status(d: &Path, user: &str, id: &str) -> String {
    let v: Value = serde_json::from_str(&ok(d, user, &["show", id, "--json"])).unwrap();
    v["status"].as_str().unwrap().to_string()
}

#[test]
fn task_life_cycle_every_change_a_version() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let id = new_task(
        &d,
        "dana",
        &[
            "--type",
            "rfi",
            "--priority",
            "urgent",
            "--assign",
            "cert/analysis",
        ],
    );
    let v: Value = serde_json::from_str(&ok(&d, "dana", &["show", &id, "--json"])).unwrap();
    assert_eq!(v["type"], "x-liaison-task");
    assert_eq!(v["status"], "assigned");
    assert_eq!(v["requester"]["org"], "ministry");
    assert_eq!(v["requester"]["user"], "dana");
    assert_eq!(v["assignees"][0]["unit"], "analysis");
    assert_eq!(
        v["extensions"][liaison_tasks::TASK_EXTENSION_ID]["extension_type"],
        "new-sdo"
    );
    // The urgent template: 24 hours from creation.
    let created = liaison_tasks::time::parse_ms(v["created"].as_str().unwrap()).unwrap();
    let deadline = liaison_tasks::time::parse_ms(v["deadline"].as_str().unwrap()).unwrap();
    assert_eq!(deadline - created, 24 * 3_600_000);
    // The extension definition travels with it.
    let r = run(
        &d,
        &["--as", "dana", "get", liaison_tasks::TASK_EXTENSION_ID],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The assignee unit sees it as theirs and due within a day.
    assert_eq!(list(&d, "alice", &["--my-unit"]).len(), 1);
    assert_eq!(list(&d, "alice", &["--due-within", "25"]).len(), 1);
    assert_eq!(list(&d, "alice", &["--due-within", "1"]).len(), 0);
    assert_eq!(list(&d, "alice", &["--overdue"]).len(), 0);
    assert_eq!(list(&d, "dana", &["--mine"]).len(), 1);
    assert_eq!(
        list(&d, "alice", &["--mine"]).len(),
        0,
        "assigned to the unit, not to alice by name"
    );

    ok(&d, "alice", &["accept", &id]);
    ok(&d, "alice", &["start", &id]);
    ok(
        &d,
        "alice",
        &["pause", &id, "--reason", "need the outage timeline"],
    );
    ok(&d, "dana", &["resume", &id]);
    ok(&d, "alice", &["answer", &id]);
    assert_eq!(status(&d, "dana", &id), "answered");
    ok(&d, "dana", &["close", &id]);
    assert_eq!(status(&d, "alice", &id), "closed");

    // The history is the versions, in order, with the pause.
    let h: Value =
        serde_json::from_str(&ok(&d, "dana", &["show", &id, "--history", "--json"])).unwrap();
    let statuses: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "assigned",
            "accepted",
            "in_progress",
            "in_progress",
            "in_progress",
            "answered",
            "closed"
        ]
    );
    let last = h.as_array().unwrap().last().unwrap();
    assert_eq!(last["paused"][0]["reason"], "need the outage timeline");
    assert!(last["paused"][0]["to"].is_string());
    let text = ok(&d, "dana", &["show", &id, "--history"]);
    assert!(
        text.contains("(clock paused: need the outage timeline)"),
        "{text}"
    );

    // Closed tasks leave the default list, stay with --all, and count in the figures.
    assert!(list(&d, "dana", &[]).is_empty());
    assert_eq!(list(&d, "dana", &["--all"]).len(), 1);
    let q = liaison_tasks::Quarter::of(created).to_string();
    let s: Value =
        serde_json::from_str(&ok(&d, "dana", &["stats", "--quarter", &q, "--json"])).unwrap();
    assert_eq!(s["overall"]["completed"], 1);
    assert_eq!(s["overall"]["on_time"], 1);
    assert_eq!(s["by_org"]["cert"]["completed"], 1);
    assert_eq!(s["by_unit"]["cert/analysis"]["on_time_rate"], 1.0);
    assert_eq!(s["by_priority"]["urgent"]["completed"], 1);
    let text = ok(&d, "dana", &["stats", "--quarter", &q]);
    assert!(text.contains("org cert") && text.contains("100%"), "{text}");
}

#[test]
fn illegal_transition_is_refused_and_nothing_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let id = new_task(&d, "dana", &["--assign", "cert/analysis:alice"]);
    let err = fails(&d, "dana", &["close", &id]);
    assert!(
        err.contains("the task is assigned and cannot become closed"),
        "{err}"
    );
    let err = fails(&d, "alice", &["answer", &id]);
    assert!(
        err.contains("assigned") && err.contains("answered"),
        "{err}"
    );
    // The wrong side: the requester cannot accept, another unit cannot either.
    let err = fails(&d, "dana", &["accept", &id]);
    assert!(
        err.contains("only an assignee (cert/analysis:alice)"),
        "{err}"
    );
    let err = fails(&d, "carol", &["accept", &id]);
    assert!(err.contains("may not accept"), "{err}");
    let h: Value =
        serde_json::from_str(&ok(&d, "dana", &["show", &id, "--history", "--json"])).unwrap();
    assert_eq!(h.as_array().unwrap().len(), 1, "no version was added: {h}");
    assert_eq!(status(&d, "dana", &id), "assigned");
    // Linking intelligence that does not exist (or that dana may not read) is refused.
    let err = fails(
        &d,
        "dana",
        &[
            "update",
            &id,
            "--ref",
            "malware--0b5c1d02-6a7b-4c3d-8e9f-000000000001",
        ],
    );
    assert!(err.contains("no such object that dana may read"), "{err}");
    // Rejecting with a reason is legal, and then the requester may re-assign.
    ok(&d, "alice", &["reject", &id, "--reason", "not our sector"]);
    ok(&d, "dana", &["assign", &id, "--to", "cert/soc"]);
    assert_eq!(status(&d, "dana", &id), "assigned");
}

#[test]
fn bad_input_is_refused_with_nothing_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let base = ["new", "--title", "x"];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            with(&["--deadline", "2020-01-01T00:00:00Z"]),
            "the deadline 2020-01-01T00:00:00.000Z is in the past",
        ),
        (
            with(&["--assign", "nosuch"]),
            "unknown assignee 'nosuch': no organization 'nosuch'",
        ),
        (
            with(&["--assign", "cert/legal"]),
            "organization 'cert' has no unit 'legal'",
        ),
        (
            with(&["--assign", "cert/analysis:mallory"]),
            "no user 'mallory'",
        ),
        (
            with(&["--assign", "cert/soc:alice"]),
            "user 'alice' belongs to cert/analysis",
        ),
        (
            with(&["--label", "TOP SECRET//REL TO cert"]),
            "beyond dana's clearance",
        ),
        (
            with(&["--label", "SECRET//TELCO//REL TO cert"]),
            "beyond dana's clearance",
        ),
        (
            with(&["--label", "SECRET//GRID", "--assign", "cert"]),
            "may not read the task's label",
        ),
        (
            with(&[
                "--label",
                "SECRET//GRID//REL TO cert",
                "--assign",
                "cert/soc:sam",
            ]),
            "'cert/soc:sam' may not read",
        ),
        (with(&["--type", "gossip"]), "unknown tasktype 'gossip'"),
        (
            with(&["--priority", "whenever"]),
            "unknown priority 'whenever'",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = fails(&d, "dana", &args);
        assert!(err.contains(want), "{args:?}: expected '{want}' in: {err}");
    }
    assert!(list(&d, "admin", &["--all"]).is_empty());
    assert!(list(&d, "dana", &["--all"]).is_empty());
}

#[test]
fn a_subject_without_clearance_cannot_list_show_or_count_a_labelled_task() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let id = new_task(
        &d,
        "dana",
        &[
            "--label",
            "SECRET//GRID//REL TO cert",
            "--assign",
            "cert/analysis",
            "--priority",
            "urgent",
        ],
    );
    // alice (cert, SECRET, GRID) reads it.
    assert_eq!(list(&d, "alice", &[]).len(), 1);
    assert_eq!(status(&d, "alice", &id), "assigned");
    // sam (cert, RESTRICTED), eve (isac, not releasable) see nothing: not in lists, not
    // in show, not in history, not in the figures.
    for user in ["sam", "eve"] {
        assert!(list(&d, user, &["--all"]).is_empty(), "{user} lists it");
        assert!(list(&d, user, &["--due-within", "100"]).is_empty());
        let r = run(&d, &["--as", user, "task", "show", &id]);
        assert_eq!(r.code, 1, "{user}: {}", r.stdout);
        assert!(r.stdout.is_empty());
        let r = run(
            &d,
            &["--as", user, "task", "show", &id, "--history", "--json"],
        );
        assert_eq!(r.code, 1);
        let s: Value = serde_json::from_str(&ok(&d, user, &["stats", "--json"])).unwrap();
        assert_eq!(s["overall"]["backlog"], 0, "{user} counts it: {s}");
        assert!(s["by_org"].as_object().unwrap().is_empty());
        // Nor can they act on it: it is absent for them.
        let err = fails(&d, user, &["cancel", &id, "--reason", "x"]);
        assert!(err.contains("no task"), "{err}");
    }
    let s: Value = serde_json::from_str(&ok(&d, "alice", &["stats", "--json"])).unwrap();
    assert_eq!(s["overall"]["backlog"], 1);
    // The assignee's change is written on the owner's behalf and keeps the label.
    ok(&d, "alice", &["accept", &id]);
    let v: Value = serde_json::from_str(&ok(&d, "dana", &["show", &id, "--json"])).unwrap();
    let ext = &v["extensions"][liaison_stix::LABEL_EXTENSION_ID];
    assert_eq!(ext["level"], "SECRET");
    assert_eq!(ext["owner"], "ministry");
    assert_eq!(ext["compartments"][0], "GRID");
    assert!(list(&d, "sam", &["--all"]).is_empty());
}
