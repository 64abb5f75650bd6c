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
