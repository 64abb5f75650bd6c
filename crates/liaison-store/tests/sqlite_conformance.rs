//! The shared `Store` conformance suite, on SQLite (in memory and on disk).

use liaison_store::{testsuite, SqliteStore, Store};

#[test]
fn sqlite_in_memory_passes_the_suite() {
    testsuite::run_all(&|| {
        Box::new(SqliteStore::open_in_memory(testsuite::policy()).unwrap()) as Box<dyn Store>
    });
}

#[test]
fn sqlite_on_disk_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::cell::Cell::new(0);
    testsuite::run_all(&|| {
        n.set(n.get() + 1);
        let path = dir.path().join(format!("store-{}.db", n.get()));
        Box::new(SqliteStore::open(&path, testsuite::policy()).unwrap()) as Box<dyn Store>
    });
}

#[test]
fn labels_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let s = SqliteStore::open(&path, testsuite::policy()).unwrap();
        testsuite::reads_are_label_filtered(&s);
    }
    let s = SqliteStore::open(&path, testsuite::policy()).unwrap();
    let st = s.stats(&testsuite::admin()).unwrap();
    assert_eq!(st.objects, 2 + liaison_store::BUILT_IN_OBJECTS);
    assert_eq!(st.by_level.get("SECRET"), Some(&1));
}

/// Counts stop at 10,000 readable matches and say so; a subject who may read none of
/// them gets an exact zero, not a capped count.
#[test]
fn search_counts_are_capped_and_label_filtered() {
    use liaison_policy::{Releasability, Role, Tlp};
    use liaison_store::{ImportOptions, SearchQuery};
    let policy = testsuite::policy();
    let store = SqliteStore::open_in_memory(policy.clone()).unwrap();
    let admin = testsuite::admin();
    let objs = (0..10_050u32).map(|i| {
        let o = liaison_stix::StixObject::from_value(serde_json::json!({
            "type": "malware", "spec_version": "2.1", "id": format!("malware--00000000-0000-4000-8000-{i:012}"),
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "name": format!("Sample {i}"), "description": "a common loader", "is_family": false}))
        .unwrap();
        Ok(o.into())
    });
    let secret = policy
        .label("SECRET", ["GRID"], Tlp::Amber, "cert", Releasability::All)
        .unwrap();
    let opts = ImportOptions {
        default_label: Some(secret),
        strict: false,
        ..Default::default()
    };
    let rep = store
        .import(&admin, &mut objs.into_iter(), &opts, &mut |_| {})
        .unwrap();
    assert_eq!(rep.new, 10_050);
    let r = store.search(&admin, &SearchQuery::text("loader")).unwrap();
    assert!(r.capped);
    assert!(r.total >= 10_000 && r.total <= 10_050, "{}", r.total);
    assert_eq!(r.hits.len(), 20);
    let low = policy
        .subject("low", "cert", "RESTRICTED", ["GRID"], [Role::Reader])
        .unwrap();
    let r = store.search(&low, &SearchQuery::text("loader")).unwrap();
    assert_eq!((r.total, r.capped, r.hits.len()), (0, false, 0));
    assert!(r.facets.is_empty());
}

/// `hubs` (used by `liaison bench graph`) lists only hubs the subject may read.
#[test]
fn hubs_are_label_filtered() {
    use liaison_policy::{Releasability, Role, Tlp};
    use liaison_store::ImportOptions;
    let policy = testsuite::policy();
    let store = SqliteStore::open_in_memory(policy.clone()).unwrap();
    let admin = testsuite::admin();
    let hub = "malware--00000000-0000-4000-8000-000000000001";
    let mut objs = vec![
        serde_json::json!({"type": "malware", "spec_version": "2.1", "id": hub,
        "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "Hub", "is_family": true}),
    ];
    for i in 0..5 {
        objs.push(serde_json::json!({"type": "relationship", "spec_version": "2.1",
            "id": format!("relationship--00000000-0000-4000-8000-{i:012}"),
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "relationship_type": "uses", "source_ref": format!("intrusion-set--00000000-0000-4000-8000-{i:012}"),
            "target_ref": hub}));
    }
    let secret = policy
        .label("SECRET", ["GRID"], Tlp::Amber, "cert", Releasability::All)
        .unwrap();
    let items = objs
        .into_iter()
        .map(|v| Ok(liaison_stix::StixObject::from_value(v).unwrap().into()));
    let opts = ImportOptions {
        default_label: Some(secret),
        ..Default::default()
    };
    store
        .import(&admin, &mut items.into_iter(), &opts, &mut |_| {})
        .unwrap();
    assert_eq!(store.hubs(&admin, 10).unwrap(), [hub]);
    let low = policy
        .subject("low", "cert", "RESTRICTED", ["GRID"], [Role::Reader])
        .unwrap();
    assert!(store.hubs(&low, 10).unwrap().is_empty());
}

/// A store written by schema version 1 (one latest version per id, whatever its label)
/// opens as version 2: a subject cleared only for the older version's label sees it,
/// in `get` and in search, as its latest.
#[test]
fn schema_1_store_opens_with_latest_per_label() {
    use liaison_policy::{Label, Releasability, Role, Tlp};
    use liaison_store::{ImportOptions, SearchQuery};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let policy = testsuite::policy();
    let admin = testsuite::admin();
    let id = "malware--00000000-0000-4000-8000-0000000000aa";
    let version = |name: &str, modified: &str| {
        let v = serde_json::json!({"type": "malware", "spec_version": "2.1", "id": id,
            "created": "2024-01-01T00:00:00.000Z", "modified": modified, "name": name, "is_family": true});
        Ok(liaison_stix::StixObject::from_value(v).unwrap().into())
    };
    {
        let s = SqliteStore::open(&path, policy.clone()).unwrap();
        let public = ImportOptions {
            default_label: Some(Label::public(Some("cert".into()))),
            ..Default::default()
        };
        let secret = ImportOptions {
            default_label: Some(
                policy
                    .label("SECRET", ["GRID"], Tlp::Amber, "cert", Releasability::All)
                    .unwrap(),
            ),
            ..Default::default()
        };
        s.import(
            &admin,
            &mut std::iter::once(version("Elderberry", "2024-01-01T00:00:00.000Z")),
            &public,
            &mut |_| {},
        )
        .unwrap();
        s.import(
            &admin,
            &mut std::iter::once(version("Hawthorn", "2024-02-01T00:00:00.000Z")),
            &secret,
            &mut |_| {},
        )
        .unwrap();
    }
    // Rewrite it as version 1 kept it: no instances or marks, the older version neither
    // latest nor indexed.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let old: i64 = conn
        .query_row(
            "SELECT rid FROM objects WHERE name = 'Elderberry'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch(&format!(
        "DROP INDEX objects_multi; DROP INDEX edges_multi;
         ALTER TABLE docs DROP COLUMN multi; ALTER TABLE edges DROP COLUMN multi;
         ALTER TABLE docs DROP COLUMN source; ALTER TABLE docs DROP COLUMN month;
         DROP TABLE sources;
         CREATE TABLE o1(rid INTEGER PRIMARY KEY, id TEXT NOT NULL, version INTEGER NOT NULL,
             type TEXT NOT NULL, label_id INTEGER NOT NULL, latest INTEGER NOT NULL,
             revoked INTEGER NOT NULL, added INTEGER NOT NULL, modified TEXT, name TEXT,
             UNIQUE(id, version));
         INSERT INTO o1 SELECT rid, id, version, type, label_id, latest, revoked, added, modified, name FROM objects;
         DROP TABLE objects; ALTER TABLE o1 RENAME TO objects;
         CREATE INDEX objects_type ON objects(type, label_id) WHERE latest = 1;
         UPDATE objects SET latest = 0 WHERE rid = {old};
         DELETE FROM docs WHERE rid = {old}; DELETE FROM fts WHERE rowid = {old};
         UPDATE meta SET value = '1' WHERE key = 'schema_version';"
    ))
    .unwrap();
    drop(conn);
    let s = SqliteStore::open(&path, policy.clone()).unwrap();
    let low = policy
        .subject(
            "low",
            "cert",
            "UNCLASSIFIED",
            Vec::<String>::new(),
            [Role::Reader],
        )
        .unwrap();
    let name = |sub| {
        s.get(sub, id)
            .unwrap()
            .map(|o| o.object.name().unwrap().to_string())
    };
    assert_eq!(name(&low).as_deref(), Some("Elderberry"));
    assert_eq!(name(&admin).as_deref(), Some("Hawthorn"));
    assert_eq!(
        s.search(&low, &SearchQuery::text("elderberry"))
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        s.search(&admin, &SearchQuery::text("elderberry"))
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        s.stats(&admin).unwrap().objects,
        1 + liaison_store::BUILT_IN_OBJECTS
    );
    assert_eq!(s.versions(&admin, id).unwrap().len(), 2);
}

/// A version 2 store (its search rows without source and month) opens as version 4
/// with both filled in from the objects and their `created_by_ref` edges: the source and
/// month facets and filters find what a fresh store would, and still only what a
/// subject may read.
#[test]
fn schema_2_store_opens_with_source_and_month_facets() {
    use liaison_policy::{Releasability, Role, Tlp};
    use liaison_store::{ImportOptions, SearchFilter, SearchQuery, SearchResults};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let policy = testsuite::policy();
    let admin = testsuite::admin();
    let src_open = "identity--5e3c0b0a-0000-4000-8000-00000000c001";
    let src_secret = "identity--5e3c0b0a-0000-4000-8000-00000000c002";
    let malware = |n: u32, name: &str, modified: &str, src: &str| {
        let v = serde_json::json!({"type": "malware", "spec_version": "2.1",
            "id": format!("malware--00000000-0000-4000-8000-0000000000{n:02}"),
            "created": "2024-01-01T00:00:00.000Z", "modified": modified, "name": name,
            "is_family": true, "created_by_ref": src});
        Ok(liaison_stix::StixObject::from_value(v).unwrap().into())
    };
    {
        let s = SqliteStore::open(&path, policy.clone()).unwrap();
        let secret = ImportOptions {
            default_label: Some(
                policy
                    .label("SECRET", ["GRID"], Tlp::Amber, "cert", Releasability::All)
                    .unwrap(),
            ),
            ..Default::default()
        };
        s.import(
            &admin,
            &mut std::iter::once(malware(1, "Bluestem", "2024-02-03T00:00:00.000Z", src_open)),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        s.import(
            &admin,
            &mut std::iter::once(malware(
                2,
                "Bluebell",
                "2024-05-06T00:00:00.000Z",
                src_secret,
            )),
            &secret,
            &mut |_| {},
        )
        .unwrap();
    }
    // Rewrite the search rows as version 2 kept them.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "ALTER TABLE docs DROP COLUMN source; ALTER TABLE docs DROP COLUMN month;
         DROP TABLE sources;
         UPDATE meta SET value = '2' WHERE key = 'schema_version';",
    )
    .unwrap();
    drop(conn);
    let s = SqliteStore::open(&path, policy.clone()).unwrap();
    let version: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, "4");
    let blue = SearchQuery::text("blue");
    let facets = |sub, f: SearchFilter| {
        s.search_filtered(sub, &blue, &SearchFilter { facets: true, ..f })
            .unwrap()
    };
    let all = facets(&admin, SearchFilter::default());
    assert_eq!(all.total, 2);
    assert_eq!(all.source_facets.get(src_open), Some(&1), "{all:?}");
    assert_eq!(all.source_facets.get(src_secret), Some(&1), "{all:?}");
    assert_eq!(all.time_facets.get("2024-02"), Some(&1), "{all:?}");
    assert_eq!(all.time_facets.get("2024-05"), Some(&1), "{all:?}");
    let may = SearchFilter {
        modified_from: Some("2024-05".into()),
        modified_before: Some("2024-06".into()),
        ..Default::default()
    };
    let by_source = SearchFilter {
        sources: vec![src_secret.into()],
        ..Default::default()
    };
    assert_eq!(facets(&admin, may.clone()).total, 1);
    assert_eq!(facets(&admin, by_source.clone()).total, 1);
    let low = policy
        .subject(
            "low",
            "cert",
            "UNCLASSIFIED",
            Vec::<String>::new(),
            [Role::Reader],
        )
        .unwrap();
    let seen = facets(&low, SearchFilter::default());
    assert_eq!(seen.total, 1);
    assert_eq!(
        seen.source_facets.keys().collect::<Vec<_>>(),
        [src_open],
        "{seen:?}"
    );
    assert_eq!(
        seen.time_facets.keys().collect::<Vec<_>>(),
        ["2024-02"],
        "{seen:?}"
    );
    assert_eq!(facets(&low, may), SearchResults::default());
    assert_eq!(facets(&low, by_source), SearchResults::default());
}

/// The feed merge reads the current versions of many ids at once (`latest_json`): for
/// an id stored under two labels it hands a subject the newest version it may read,
/// whatever order the instances were stored in, and nothing it may not read.
#[test]
fn feed_merge_reads_the_subjects_newest_version() {
    use liaison_policy::{Releasability, Role, Tlp};
    use liaison_store::ImportOptions;
    let policy = testsuite::policy();
    let store = SqliteStore::open_in_memory(policy.clone()).unwrap();
    let version = |id: &str, modified: &str, name: &str| {
        let o = liaison_stix::StixObject::from_value(serde_json::json!({
            "type": "indicator", "spec_version": "2.1", "id": id,
            "created": "2024-01-01T00:00:00.000Z", "modified": modified, "name": name,
            "pattern": "[ipv4-addr:value = '198.51.100.9']", "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z"}))
        .unwrap();
        vec![Ok(o.into())]
    };
    let high = policy
        .subject("high", "cert", "SECRET", ["GRID"], [Role::Analyst])
        .unwrap();
    let low = policy
        .subject(
            "low",
            "cert",
            "UNCLASSIFIED",
            Vec::<&str>::new(),
            [Role::Analyst],
        )
        .unwrap();
    let secret = policy
        .label("SECRET", ["GRID"], Tlp::Amber, "cert", Releasability::All)
        .unwrap();
    let open = policy
        .label(
            "UNCLASSIFIED",
            Vec::<&str>::new(),
            Tlp::Green,
            "cert",
            Releasability::All,
        )
        .unwrap();
    let newer = (&high, &secret, "2024-03-01T00:00:00.000Z", "newer, secret");
    let older = (&low, &open, "2024-02-01T00:00:00.000Z", "older, open");
    // One id gets the SECRET newer version first, the other the open older one first.
    let a = "indicator--00000000-0000-4000-8000-0000000000aa";
    let b = "indicator--00000000-0000-4000-8000-0000000000bb";
    for (id, order) in [(a, [newer, older]), (b, [older, newer])] {
        for (who, label, modified, name) in order {
            let opts = ImportOptions {
                default_label: Some(label.clone()),
                ..Default::default()
            };
            let rep = store
                .import(
                    who,
                    &mut version(id, modified, name).into_iter(),
                    &opts,
                    &mut |_| {},
                )
                .unwrap();
            assert_eq!(rep.new + rep.updated, 1, "{rep:?}");
        }
    }
    let ids = vec![a.to_string(), b.to_string()];
    let names_of = |s: &liaison_policy::Subject| {
        let got = store.latest_json(s, &ids).unwrap();
        ids.iter()
            .map(|id| {
                got.get(id).map(|j| {
                    serde_json::from_str::<serde_json::Value>(j).unwrap()["name"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
            })
            .collect::<Vec<_>>()
    };
    let s = |x: &str| Some(x.to_string());
    assert_eq!(names_of(&high), [s("newer, secret"), s("newer, secret")]);
    assert_eq!(names_of(&low), [s("older, open"), s("older, open")]);
}
