//! Sealed sources and Admiralty grading through import, get and the raw store.

mod common;
use common::*;
use std::path::Path;

const SOURCE: &str = r#"{"type":"bundle","id":"bundle--5d4c4b3a-1111-4111-8111-111111111111","objects":[
{"type":"identity","spec_version":"2.1","id":"identity--023d105b-752e-4e3c-941c-7d3f3cb15e9e",
 "created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z",
 "name":"Jane Qorvath","identity_class":"individual","contact_information":"+1 555 0199 qorvath@example.org"},
{"type":"report","spec_version":"2.1","id":"report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
 "created":"2026-01-02T00:00:00.000Z","modified":"2026-01-02T00:00:00.000Z","name":"Substation visit",
 "published":"2026-01-02T00:00:00.000Z","created_by_ref":"identity--023d105b-752e-4e3c-941c-7d3f3cb15e9e",
 "object_refs":["identity--023d105b-752e-4e3c-941c-7d3f3cb15e9e"]}]}"#;

fn keyed(data: &Path, key: &Path, args: &[&str]) -> Run {
    let out = bin()
        .env("LIAISON_MASTER_KEY_FILE", key)
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn source_identities_are_sealed_and_graded() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(tmp.path());
    let key = tmp.path().join("master.key");
    let r = run(
        &data,
        &["keys", "init", "--generate-key-file", key.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = tmp.path().join("source.json");
    std::fs::write(&f, SOURCE).unwrap();
    let r = keyed(
        &data,
        &key,
        &[
            "import",
            "--label",
            "SECRET//GRID//REL TO ALL",
            "--grade",
            "B2",
            f.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("2 new"), "{}", r.stdout);

    // Someone holding the database key (not the compartment keys) reads every row:
    // the source's name and contact details are not there, in the JSON or the index.
    let ring = liaison_protect::keyring::Keyring::from_json(
        &std::fs::read_to_string(data.join("keyring.json")).unwrap(),
    )
    .unwrap();
    let master =
        liaison_protect::cipher::Key::parse(&std::fs::read_to_string(&key).unwrap(), "key")
            .unwrap();
    let (_, dbkey) = ring.data_key(&master).unwrap();
    let cfg = std::fs::read_to_string(data.join("config.toml")).unwrap();
    assert!(cfg.contains("GRID"));
    let policy = common::test_policy(&["GRID", "TELCO", "FIN"]);
    {
        use liaison_store::Store;
        let store = liaison_store::SqliteStore::open_encrypted(
            &data.join("liaison.db"),
            policy.clone(),
            liaison_store::crypt::DbKey::from_bytes(dbkey.as_bytes()),
        )
        .unwrap();
        let all = policy
            .subject(
                "dba",
                "cert",
                "TOP SECRET",
                ["GRID", "TELCO", "FIN"],
                [liaison_policy::Role::Admin],
            )
            .unwrap();
        let mut text = String::new();
        store
            .export(&all, &Default::default(), &mut |o| {
                text.push_str(&o.object.to_json());
                Ok(())
            })
            .unwrap();
        assert!(text.contains("x_liaison_sealed"), "{text}");
        for secret in ["Qorvath", "555 0199", "qorvath@example.org"] {
            assert!(
                !text.contains(secret),
                "{secret} readable with the database key alone"
            );
        }
        let hits = store
            .search(&all, &liaison_store::SearchQuery::text("Qorvath"))
            .unwrap();
        assert_eq!(hits.total, 0, "the full-text index holds no sealed words");
    }
    let raw = std::fs::read(data.join("liaison.db")).unwrap();
    assert!(!raw.windows(7).any(|w| w == b"Qorvath"));

    // A reader holding the compartment (and the keyring) sees the source.
    let r = keyed(
        &data,
        &key,
        &[
            "get",
            "--json",
            "identity--023d105b-752e-4e3c-941c-7d3f3cb15e9e",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["name"], "Jane Qorvath");
    assert_eq!(v["contact_information"], "+1 555 0199 qorvath@example.org");
    assert_eq!(v["x_liaison_admiralty"], "B");

    // The report carries the grade and the confidence the STIX appendix gives credibility 2.
    let r = keyed(
        &data,
        &key,
        &[
            "get",
            "--json",
            "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
        ],
    );
    let v = json(&r);
    assert_eq!(v["x_liaison_admiralty"], "B2");
    assert_eq!(v["confidence"], 70);

    // A bad grade is refused before anything is stored.
    let r = keyed(
        &data,
        &key,
        &["import", "--grade", "G9", f.to_str().unwrap()],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("G9"), "{}", r.stderr);
}

/// `export` opens sealed source fields for a reader holding their compartment, as
/// `get` does; a reader without it gets nothing that reveals the source.
#[test]
fn export_opens_sealed_fields_for_cleared_readers_only() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(tmp.path());
    let key = tmp.path().join("master.key");
    let r = run(
        &data,
        &["keys", "init", "--generate-key-file", key.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = tmp.path().join("source.json");
    std::fs::write(&f, SOURCE).unwrap();
    let r = keyed(
        &data,
        &key,
        &[
            "import",
            "--label",
            "SECRET//GRID//REL TO ALL",
            f.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let mut cfg = std::fs::read_to_string(data.join("config.toml")).unwrap();
    cfg.push_str(concat!(
        "\n[[users]]\nname = \"grid\"\norg = \"cert\"\nclearance = \"SECRET\"\ncompartments = [\"GRID\"]\nroles = [\"reader\"]\n",
        "\n[[users]]\nname = \"telco\"\norg = \"cert\"\nclearance = \"TOP SECRET\"\ncompartments = [\"TELCO\"]\nroles = [\"reader\"]\n",
    ));
    std::fs::write(data.join("config.toml"), cfg).unwrap();
    let export = |user: &str, extra: &[&str]| {
        let out = tmp.path().join(format!("{user}{}.json", extra.len()));
        let mut args = vec!["--as", user, "export", "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let r = keyed(&data, &key, &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        std::fs::read_to_string(out).unwrap()
    };
    let source_id = "identity--023d105b-752e-4e3c-941c-7d3f3cb15e9e";

    // Cleared for GRID: the source's name and contact details, in clear, nothing sealed.
    let text = export("grid", &[]);
    let bundle: serde_json::Value = serde_json::from_str(&text).unwrap();
    let source = objects_of(&bundle)
        .into_iter()
        .find(|o| o["id"] == source_id)
        .expect("the source is exported");
    assert_eq!(source["name"], "Jane Qorvath");
    assert_eq!(
        source["contact_information"],
        "+1 555 0199 qorvath@example.org"
    );
    assert!(source.get("x_liaison_sealed").is_none(), "{source}");

    // The same reader asking to keep them sealed (a bundle for partners).
    let text = export("grid", &["--keep-sealed"]);
    assert!(text.contains("x_liaison_sealed"));
    for secret in ["Qorvath", "555 0199"] {
        assert!(!text.contains(secret), "{secret} in a --keep-sealed export");
    }

    // Not cleared for GRID: neither the source nor any trace of it.
    let text = export("telco", &[]);
    for trace in [
        "Qorvath",
        "555 0199",
        "qorvath@example.org",
        "contact_information",
        "x_liaison_sealed",
        "[sealed source]",
        source_id,
    ] {
        assert!(
            !text.contains(trace),
            "{trace} in an export by a reader without GRID"
        );
    }

    // The export records say how many objects had their sealed fields opened.
    let r = keyed(
        &data,
        &key,
        &["audit", "query", "--action", "export", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let details: Vec<String> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["detail"].to_string())
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("1 with sealed source fields opened")),
        "{details:?}"
    );
}
