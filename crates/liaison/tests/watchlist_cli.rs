//! Watchlists and indicators kept in the store, screened with `liaison screen
//! --from-store`: what a user may read is screened, nothing else leaves a trace.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CONFIG: &str = r#"
[deployment]
name = "Watchlist test"
levels = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
compartments = ["GRID", "TELCO"]
default_user = "admin"

[[orgs]]
id = "cert"
name = "National CERT"

[[users]]
name = "admin"
org = "cert"
clearance = "TOP SECRET"
compartments = ["GRID", "TELCO"]
roles = ["admin"]

[[users]]
name = "alice"
org = "cert"
clearance = "SECRET"
compartments = ["GRID"]
roles = ["analyst"]

[[users]]
name = "sam"
org = "cert"
clearance = "RESTRICTED"
compartments = ["TELCO"]
roles = ["analyst"]
"#;

/// Indicators: a public one (IP), a secret one (domain), a revoked one, an expired one
/// and one the literal compiler cannot take (a comparison), which the matcher evaluates.
const INDICATORS: &str = r#"{"type":"bundle","id":"bundle--5d0d8a4e-7a64-4bb0-9d5c-2b1e1a3f0a01","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--0a6b1f1e-54a5-4c36-9a5f-6f0d6e7c2a11","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"C2 address","pattern":"[ipv4-addr:value = '45.77.12.34']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--1b7c2a2f-65b6-4d47-8b6a-7a1e7f8d3b22","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Revoked","pattern":"[ipv4-addr:value = '45.77.12.35']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","revoked":true},
 {"type":"indicator","spec_version":"2.1","id":"indicator--2c8d3b3a-76c7-4e58-9c7b-8b2f8a9e4c33","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Expired","pattern":"[ipv4-addr:value = '45.77.12.36']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z","valid_until":"2021-01-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--3d9e4c4b-87d8-4f69-8d8c-9c3a9baf5d44","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Port range","pattern":"[network-traffic:dst_port > 60000]","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}
]}"#;

const SECRET_INDICATOR: &str = r#"{"type":"bundle","id":"bundle--6e1e9b5f-8b75-4cc1-8d6e-3c2f2b4f1b02","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--4eaf5d5c-98e9-4a7a-9e9d-ad4bacb06e55","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Grid C2 domain","pattern":"[domain-name:value = 'grid-update.example-c2.net']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}
]}"#;

const TEXT: &str = "relay lantern seen near the substation\n\
beacon to 45.77.12.34 and 45.77.12.35 and 45.77.12.36\n\
resolver asked for grid-update.example-c2.net\n\
Blackout planned by KESTREL-9, said the source\n\
run stage--kestrel now\n\
nothing here\n";

fn setup(dir: &Path) -> PathBuf {
    let d = init(dir);
    write(&d, "config.toml", CONFIG);
    // A public watchlist with per-term options, and a secret one in compartment GRID.
    write(
        dir,
        "public.csv",
        "term,case_insensitive,whole_word,severity,tags,label\n\
         Lantern,true,false,high,apt;relay,\"Lantern, relay\"\n\
         substation,false,true,low,,\n",
    );
    write(
        dir,
        "secret.txt",
        "# grid operation names\nKESTREL-9\nstage--kestrel\n",
    );
    write(dir, "ind.json", INDICATORS);
    write(dir, "secret-ind.json", SECRET_INDICATOR);
    write(dir, "text.log", TEXT);
    let ok = |r: Run| assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let p = |n: &str| dir.join(n).display().to_string();
    ok(run(&d, &["watchlist", "add", "ops", &p("public.csv")]));
    ok(run(
        &d,
        &[
            "watchlist",
            "add",
            "grid-ops",
            &p("secret.txt"),
            "--label",
            "SECRET//GRID//REL TO cert",
            "--description",
            "operation names",
        ],
    ));
    ok(run(&d, &["import", &p("ind.json")]));
    ok(run(
        &d,
        &[
            "import",
            &p("secret-ind.json"),
            "--label",
            "SECRET//GRID//REL TO cert",
        ],
    ));
    d
}

fn hits(d: &Path, dir: &Path, user: &str, extra: &[&str]) -> Vec<Value> {
    let t = dir.join("text.log").display().to_string();
    let mut args = vec!["--as", user, "screen", "--no-extract"];
    args.extend_from_slice(extra);
    args.push(&t);
    let r = run(d, &args);
    assert!(r.code <= 1, "{}", r.stderr);
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `liaison --as USER watchlist add LIST FILE EXTRA…`.
fn add_as(d: &Path, user: &str, list: &str, file: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "--as",
        user,
        "watchlist",
        "add",
        list,
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(d, &args)
}

/// (line, matched, rule) of each hit.
fn summary(hits: &[Value]) -> Vec<(u64, String, String)> {
    hits.iter()
        .map(|h| {
            let rule = match h["rule"]["type"].as_str().unwrap() {
                "term" => format!("term:{}", h["rule"]["term"].as_str().unwrap()),
                _ => h["rule"]["id"].as_str().unwrap_or("?").to_string(),
            };
            (
                h["line"].as_u64().unwrap(),
                h["matched"].as_str().unwrap().to_string(),
                rule,
            )
        })
        .collect()
}

#[test]
fn stored_watchlists_and_indicators_are_screened_for_the_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let s = |m: &str, r: &str, l: u64| (l, m.to_string(), r.to_string());

    let admin = hits(&d, tmp.path(), "admin", &["--from-store"]);
    let got = summary(&admin);
    assert_eq!(
        got,
        vec![
            s("lantern", "term:Lantern", 1),
            s("substation", "term:substation", 1),
            s(
                "45.77.12.34",
                "indicator--0a6b1f1e-54a5-4c36-9a5f-6f0d6e7c2a11",
                2
            ),
            s(
                "grid-update.example-c2.net",
                "indicator--4eaf5d5c-98e9-4a7a-9e9d-ad4bacb06e55",
                3
            ),
            s("KESTREL-9", "term:KESTREL-9", 4),
            s("stage--kestrel", "term:stage--kestrel", 5),
        ],
        "{admin:#?}"
    );
    // Per-term options survive the store: severity, tags and the display label; a term
    // without a label shows its watchlist's name.
    assert_eq!(admin[0]["severity"], "high");
    assert_eq!(admin[0]["tags"], serde_json::json!(["apt", "relay"]));
    assert_eq!(admin[0]["label"], "Lantern, relay");
    assert_eq!(admin[4]["label"], "grid-ops");

    // alice holds SECRET//GRID: the same. sam (RESTRICTED, TELCO) gets the public part only.
    assert_eq!(
        summary(&hits(&d, tmp.path(), "alice", &["--from-store"])),
        got
    );
    let sam = summary(&hits(&d, tmp.path(), "sam", &["--from-store"]));
    assert_eq!(
        sam,
        vec![
            s("lantern", "term:Lantern", 1),
            s("substation", "term:substation", 1),
            s(
                "45.77.12.34",
                "indicator--0a6b1f1e-54a5-4c36-9a5f-6f0d6e7c2a11",
                2
            ),
        ]
    );

    // One named watchlist, without the indicators.
    let only = summary(&hits(
        &d,
        tmp.path(),
        "admin",
        &["--store-watchlist", "grid-ops"],
    ));
    assert_eq!(
        only,
        vec![
            s("KESTREL-9", "term:KESTREL-9", 4),
            s("stage--kestrel", "term:stage--kestrel", 5)
        ]
    );
}

#[test]
fn a_watchlist_above_clearance_answers_as_an_absent_one() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let list = |u: &str| -> Vec<String> {
        let r = run(&d, &["--as", u, "watchlist", "list", "--json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r)
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(list("alice"), ["grid-ops", "ops"]);
    assert_eq!(list("sam"), ["ops"]);
    let human = run(&d, &["--as", "sam", "watchlist", "list"]);
    assert!(!human.stdout.contains("grid") && !human.stdout.contains("KESTREL"));

    // show, remove and --store-watchlist answer byte for byte as for a name never used.
    for args in [
        vec!["watchlist", "show", "grid-ops"],
        vec!["watchlist", "remove", "grid-ops"],
        vec!["screen", "--store-watchlist", "grid-ops", "-"],
    ] {
        let mut hidden = vec!["--as", "sam"];
        hidden.extend_from_slice(&args);
        let absent: Vec<&str> = hidden
            .iter()
            .map(|a| if *a == "grid-ops" { "no-such-list" } else { a })
            .collect();
        let h = run(&d, &hidden);
        let a = run(&d, &absent);
        assert_ne!(h.code, 0);
        assert_eq!(h.code, a.code, "{args:?}");
        assert_eq!(h.stdout, a.stdout, "{args:?}");
        assert_eq!(
            h.stderr.replace("grid-ops", "NAME"),
            a.stderr.replace("no-such-list", "NAME"),
            "{args:?}"
        );
    }
    // sam's attempt removed nothing.
    assert_eq!(list("admin"), ["grid-ops", "ops"]);
    // By id too.
    let id = json(&run(&d, &["watchlist", "list", "--json"]))[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = run(&d, &["--as", "sam", "watchlist", "show", &id]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
}

#[test]
fn a_stored_term_hit_is_kept_under_its_watchlists_label() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let t = tmp.path().join("text.log").display().to_string();
    let r = run(
        &d,
        &[
            "--as",
            "alice",
            "screen",
            "--from-store",
            "--store",
            "--no-extract",
            "--min-severity",
            "info",
            &t,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let alerts = |u: &str| -> Vec<Value> {
        let r = run(&d, &["--as", u, "alert", "list", "--json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r).as_array().unwrap().clone()
    };
    let rules = |l: &[Value]| -> Vec<String> {
        let mut v: Vec<String> = l
            .iter()
            .map(|a| a["rule"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let a = alerts("alice");
    assert_eq!(
        rules(&a),
        [
            "indicator--0a6b1f1e-54a5-4c36-9a5f-6f0d6e7c2a11",
            "indicator--4eaf5d5c-98e9-4a7a-9e9d-ad4bacb06e55",
            "term:KESTREL-9",
            "term:Lantern",
            "term:stage--kestrel",
            "term:substation",
        ]
    );
    // The secret terms' (one with `--` in it, as indicator ids have) and the secret indicator's alerts are not readable below SECRET//GRID.
    let sam = alerts("sam");
    assert_eq!(
        rules(&sam),
        [
            "indicator--0a6b1f1e-54a5-4c36-9a5f-6f0d6e7c2a11",
            "term:Lantern",
            "term:substation",
        ]
    );
    let kestrel = a.iter().find(|x| x["rule"] == "term:KESTREL-9").unwrap();
    let ext = kestrel["extensions"]
        .as_object()
        .and_then(|e| e.values().find(|v| v.get("level").is_some()))
        .unwrap_or_else(|| panic!("no label extension: {kestrel:#}"));
    assert_eq!(ext["level"], "SECRET", "{kestrel:#}");
    assert_eq!(ext["compartments"], serde_json::json!(["GRID"]));
}

#[test]
fn show_prints_csv_that_add_reads_back_and_a_second_add_is_a_new_version() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let r = run(&d, &["watchlist", "show", "ops"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "term,case_insensitive,whole_word,severity,tags,label\n\
         Lantern,true,false,high,apt;relay,\"Lantern, relay\"\n\
         substation,false,true,low,,\n"
    );
    let back = write(tmp.path(), "back.csv", &r.stdout);
    let again = run(
        &d,
        &["watchlist", "add", "ops", back.to_str().unwrap(), "--json"],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        json(&again)["unchanged"],
        true,
        "same terms: no new version"
    );

    let more = write(tmp.path(), "more.txt", "lantern\nturbine\n");
    let r = run(
        &d,
        &["watchlist", "add", "ops", more.to_str().unwrap(), "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["new_version"], true);
    assert_eq!(v["terms"], 2);
    let id = v["id"].as_str().unwrap().to_string();
    let versions = json(&run(&d, &["get", &id, "--versions", "--json"]));
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert_eq!(
        run(&d, &["watchlist", "show", "ops"]).stdout,
        "term,case_insensitive,whole_word,severity,tags,label\n\
         lantern,false,false,medium,,\n\
         turbine,false,false,medium,,\n"
    );
    // Removed: no longer listed or screened, its history kept.
    assert_eq!(run(&d, &["watchlist", "remove", "ops"]).code, 0);
    let names: Vec<Value> = json(&run(&d, &["watchlist", "list", "--json"]))
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0]["name"], "grid-ops");
    let left = summary(&hits(
        &d,
        tmp.path(),
        "admin",
        &["--store-watchlist", "grid-ops"],
    ));
    assert_eq!(left.len(), 2);
    assert_eq!(run(&d, &["watchlist", "show", "ops"]).code, 1);
}

#[test]
fn a_bad_watchlist_file_is_refused_with_its_line_and_nothing_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let bad = write(
        tmp.path(),
        "bad.csv",
        "term,severity\nfine,high\nbroken,urgent\n",
    );
    let r = run(&d, &["watchlist", "add", "ops", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("bad.csv") && r.stderr.contains('3') && r.stderr.contains("urgent"),
        "{}",
        r.stderr
    );
    // The stored version is the one from before.
    let shown = run(&d, &["watchlist", "show", "ops"]).stdout;
    assert!(
        shown.contains("Lantern") && !shown.contains("fine"),
        "{shown}"
    );
    let empty = write(tmp.path(), "empty.txt", "# nothing\n\n");
    let r = run(&d, &["watchlist", "add", "new", empty.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no terms"), "{}", r.stderr);
    assert_eq!(
        json(&run(&d, &["watchlist", "list", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_burst_of_a_secret_terms_tag_is_kept_under_the_terms_label() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let list = write(
        tmp.path(),
        "tagged.csv",
        "term,severity,tags\nKESTREL-9,high,op-kestrel\n",
    );
    let r = add_as(
        &d,
        "alice",
        "grid-tagged",
        &list,
        &["--label", "SECRET//GRID//REL TO cert"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A topic that has been quiet for a long time (a trusted baseline of 0.1 a minute),
    // so that twelve mentions in one run are a burst.
    let policy = common::test_policy(&["GRID", "TELCO"]);
    let store = liaison_store::SqliteStore::open(&d.join("liaison.db"), policy).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let quiet = liaison_tasks::alert::KeyBaseline {
        bucket: now / 60_000,
        count: 0,
        closed: vec![],
        baseline: 0.1,
        seen: 100,
        in_burst: false,
    };
    store
        .save_burst_baselines(
            "cert",
            &[(
                "topic:op-kestrel".to_string(),
                serde_json::to_string(&quiet).unwrap(),
            )],
        )
        .unwrap();
    drop(store);
    let text = write(tmp.path(), "burst.log", &"KESTREL-9 again\n".repeat(12));
    let r = run(
        &d,
        &[
            "--as",
            "alice",
            "screen",
            "--store-watchlist",
            "grid-tagged",
            "--store",
            "--no-extract",
            text.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("(1 bursts)"), "{}", r.stderr);
    let rules = |u: &str| -> Vec<String> {
        let r = run(&d, &["--as", u, "alert", "list", "--json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r)
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["rule"].as_str().unwrap().to_string())
            .collect()
    };
    let alice = rules("alice");
    assert!(
        alice.contains(&"burst:topic:op-kestrel".to_string()),
        "{alice:?}"
    );
    assert!(alice.contains(&"term:KESTREL-9".to_string()), "{alice:?}");
    assert_eq!(rules("sam"), Vec::<String>::new());
}

#[test]
fn an_id_names_its_list_only_and_a_lowered_label_leaves_the_description_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let list = |u: &str| -> Vec<Value> {
        let r = run(&d, &["--as", u, "watchlist", "list", "--json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r).as_array().unwrap().clone()
    };
    let secret = list("alice")
        .into_iter()
        .find(|w| w["name"] == "grid-ops")
        .unwrap();
    let id = secret["id"].as_str().unwrap().to_string();
    // sam names a list of his own like alice's id: it must not shadow hers.
    let n = write(tmp.path(), "n.txt", "decoy\n");
    let r = add_as(&d, "sam", &id, &n, &[]);
    assert_eq!(
        r.code, 2,
        "a new list is named, not given an id: {}",
        r.stdout
    );
    let r = run(&d, &["--as", "alice", "watchlist", "show", &id]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("KESTREL-9"));
    // A new version by id keeps the list's name.
    let more = write(tmp.path(), "more.txt", "KESTREL-9\nKESTREL-10\n");
    let r = add_as(&d, "alice", &id, &more, &["--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r)["name"], "grid-ops");
    assert!(run(&d, &["--as", "alice", "watchlist", "show", "grid-ops"])
        .stdout
        .contains("KESTREL-10"));
    // Lowered to a label sam reads: the terms go down (alice chose that), the
    // description written under SECRET//GRID does not.
    let r = add_as(
        &d,
        "alice",
        "grid-ops",
        &more,
        &["--label", "UNCLASSIFIED//REL TO cert"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("description stays"), "{}", r.stderr);
    let seen = list("sam")
        .into_iter()
        .find(|w| w["name"] == "grid-ops")
        .expect("lowered list readable");
    assert_eq!(seen["description"], Value::Null, "{seen}");
    assert_eq!(seen["terms"], 2);
}

#[test]
fn a_malformed_stored_list_or_indicator_is_named_and_left_out_unless_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let d = setup(tmp.path());
    let bad = write(
        tmp.path(),
        "bad.json",
        r#"{"type":"bundle","id":"bundle--5d0d8a4e-7a64-4bb0-9d5c-2b1e1a3f0a09","objects":[
 {"type":"x-liaison-watchlist","spec_version":"2.1","id":"x-liaison-watchlist--0d8a4e5d-7a64-4bb0-9d5c-2b1e1a3f0a10","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"partner-list","terms":[{"term":"Lantern"},{"severity":"high"}]},
 {"type":"indicator","spec_version":"2.1","id":"indicator--0d8a4e5d-7a64-4bb0-9d5c-2b1e1a3f0a11","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '45.77.12.99']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","x_liaison_severity":3}]}"#,
    );
    let r = run(&d, &["import", bad.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Screening for everything readable: both are named and the rest is screened.
    let t = tmp.path().join("text.log").display().to_string();
    let r = run(&d, &["screen", "--no-extract", "--from-store", &t]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("x-liaison-watchlist--0d8a4e5d-7a64-4bb0-9d5c-2b1e1a3f0a10")
            && r.stderr.contains("$.terms[1]")
            && r.stderr
                .contains("indicator--0d8a4e5d-7a64-4bb0-9d5c-2b1e1a3f0a11"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("KESTREL-9"), "{}", r.stdout);
    // Asked for by name, the malformed list is an error naming where.
    let r = run(
        &d,
        &[
            "screen",
            "--no-extract",
            "--store-watchlist",
            "partner-list",
            &t,
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("--store-watchlist") && r.stderr.contains("$.terms[1]"),
        "{}",
        r.stderr
    );
}
