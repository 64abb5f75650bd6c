//! The conformance suite every [`Store`] backend runs: the same assertions on
//! SQLite and PostgreSQL alike.
//!
//! Each check takes a fresh, empty store built with [`policy`] and panics with a
//! message naming what failed.

use crate::*;
use liaison_policy::{Policy, Releasability, Role, Subject, Tlp};
use liaison_stix::StixObject;
use serde_json::json;

/// The deployment policy the suite's stores must be opened with.
pub fn policy() -> Policy {
    Policy::new(Policy::standard_levels(), ["GRID", "TELCO"]).expect("static policy")
}

/// An administrator of `cert` cleared for everything.
pub fn admin() -> Subject {
    policy()
        .subject(
            "admin",
            "cert",
            "TOP SECRET",
            ["GRID", "TELCO"],
            [Role::Admin],
        )
        .expect("static subject")
}

fn subject(org: &str, level: &str, comps: &[&str]) -> Subject {
    policy()
        .subject("s", org, level, comps.iter().copied(), [Role::Reader])
        .expect("static subject")
}

fn obj(v: serde_json::Value) -> StixObject {
    StixObject::from_value(v).expect("test object")
}

fn malware(uuid: &str, name: &str, modified: &str) -> StixObject {
    obj(
        json!({"type": "malware", "spec_version": "2.1", "id": format!("malware--{uuid}"),
        "created": "2024-01-01T00:00:00.000Z", "modified": modified, "name": name,
        "description": format!("{name} is a remote access tool used against energy grids."),
        "is_family": true}),
    )
}

const M1: &str = "0b5c1d02-6a7b-4c3d-8e9f-0a1b2c3d4e5f";
const M2: &str = "1b5c1d02-6a7b-4c3d-8e9f-0a1b2c3d4e5f";
const M3: &str = "2b5c1d02-6a7b-4c3d-8e9f-0a1b2c3d4e5f";

fn import(
    store: &dyn Store,
    who: &Subject,
    objs: Vec<StixObject>,
    label: Option<liaison_policy::Label>,
) -> ImportReport {
    let opts = ImportOptions {
        default_label: label,
        strict: false,
        ..Default::default()
    };
    store
        .import(
            who,
            &mut objs.into_iter().map(|o| Ok(o.into())),
            &opts,
            &mut |_| {},
        )
        .expect("import")
}

fn secret_grid() -> liaison_policy::Label {
    policy()
        .label(
            "SECRET",
            ["GRID"],
            Tlp::Amber,
            "cert",
            Releasability::to(["ministry"]),
        )
        .expect("label")
}

/// Run every check, each on a fresh store from `make`.
pub fn run_all(make: &dyn Fn() -> Box<dyn Store>) {
    versions_are_kept(make().as_ref());
    versions_within_one_batch(make().as_ref());
    same_version_different_content_is_refused(make().as_ref());
    stored_versions_cannot_be_relabelled(make().as_ref());
    failed_strict_batch_leaves_nothing(make().as_ref());
    reads_are_label_filtered(make().as_ref());
    search_finds_cjk_and_words(make().as_ref());
    graph_walks_relationships(make().as_ref());
    revocation_hides_from_search(make().as_ref());
    export_round_trip_is_fixed_point(make().as_ref());
    unreadable_instance_is_not_a_duplicate(make().as_ref());
    readable_instance_is_a_duplicate(make().as_ref());
    versions_and_revocation_per_subject(make().as_ref());
    search_facets_are_label_filtered(make().as_ref());
    source_and_month_facets_hide_labelled_objects(make().as_ref());
}

/// Every version is kept; the latest is what `get` returns.
pub fn versions_are_kept(store: &dyn Store) {
    let a = admin();
    let r = import(
        store,
        &a,
        vec![malware(M1, "Ivy", "2024-01-01T00:00:00.000Z")],
        None,
    );
    assert_eq!((r.new, r.updated, r.unchanged), (1, 0, 0), "{r:?}");
    let r = import(
        store,
        &a,
        vec![malware(M1, "Ivy2", "2024-02-01T00:00:00.000Z")],
        None,
    );
    assert_eq!((r.new, r.updated), (0, 1));
    // An older version arriving late is kept but does not become the latest.
    let r = import(
        store,
        &a,
        vec![malware(M1, "Ivy0", "2024-01-15T00:00:00.000Z")],
        None,
    );
    assert_eq!(r.updated, 1);
    let r = import(
        store,
        &a,
        vec![malware(M1, "Ivy2", "2024-02-01T00:00:00.000Z")],
        None,
    );
    assert_eq!(r.unchanged, 1);
    let got = store
        .get(&a, &format!("malware--{M1}"))
        .unwrap()
        .expect("present");
    assert_eq!(got.object.name(), Some("Ivy2"));
    let v = store.versions(&a, &format!("malware--{M1}")).unwrap();
    let names: Vec<_> = v
        .iter()
        .map(|s| s.object.name().unwrap_or_default().to_string())
        .collect();
    assert_eq!(names, ["Ivy", "Ivy0", "Ivy2"]);
    assert_eq!(v.iter().filter(|s| s.latest).count(), 1);
}

/// Versions of one id inside a single batch, into an empty store (the first-load path).
pub fn versions_within_one_batch(store: &dyn Store) {
    let a = admin();
    let r = import(
        store,
        &a,
        vec![
            malware(M1, "Ivy", "2024-01-01T00:00:00.000Z"),
            malware(M1, "Ivy II", "2024-02-01T00:00:00.000Z"),
            malware(M1, "Ivy", "2024-01-01T00:00:00.000Z"),
            malware(M1, "Other", "2024-01-01T00:00:00.000Z"),
            malware(M2, "Oak", "2024-01-01T00:00:00.000Z"),
        ],
        None,
    );
    assert_eq!(
        (r.new, r.updated, r.unchanged, r.invalid.len()),
        (2, 1, 1, 1),
        "{r:?}"
    );
    let got = store.get(&a, &format!("malware--{M1}")).unwrap().unwrap();
    assert_eq!(got.object.name(), Some("Ivy II"));
    assert_eq!(
        store.versions(&a, &format!("malware--{M1}")).unwrap().len(),
        2
    );
}

/// Same id and modified with other content: refused with the path, the stored one kept.
pub fn same_version_different_content_is_refused(store: &dyn Store) {
    let a = admin();
    import(
        store,
        &a,
        vec![malware(M1, "Ivy", "2024-01-01T00:00:00.000Z")],
        None,
    );
    let r = import(
        store,
        &a,
        vec![malware(M1, "Changed", "2024-01-01T00:00:00.000Z")],
        None,
    );
    assert_eq!(r.invalid.len(), 1);
    assert_eq!(r.invalid[0].path, "$.modified");
    assert!(
        r.invalid[0].reason.contains("immutable"),
        "{}",
        r.invalid[0].reason
    );
    assert_eq!(
        store
            .get(&a, &format!("malware--{M1}"))
            .unwrap()
            .unwrap()
            .object
            .name(),
        Some("Ivy")
    );
}

/// Re-importing a stored version without a label of its own leaves it as it was; with an
/// explicit, different label it is refused: a stored version cannot be relabelled.
pub fn stored_versions_cannot_be_relabelled(store: &dyn Store) {
    let a = admin();
    import(
        store,
        &a,
        vec![malware(M1, "Ivy", "2024-01-01T00:00:00.000Z")],
        Some(secret_grid()),
    );
    let r = import(
        store,
        &a,
        vec![malware(M1, "Ivy", "2024-01-01T00:00:00.000Z")],
        None,
    );
    assert_eq!((r.unchanged, r.invalid.len()), (1, 0));
    let mut lowered = malware(M1, "Ivy", "2024-01-01T00:00:00.000Z");
    liaison_stix::label::LabelExtension {
        level: "UNCLASSIFIED".into(),
        releasable_to: vec!["*".into()],
        ..Default::default()
    }
    .write(&mut lowered);
    let r = import(store, &a, vec![lowered], None);
    assert_eq!(r.invalid.len(), 1, "{r:?}");
    assert!(r.invalid[0].reason.contains("different security label"));
    let got = store.get(&a, &format!("malware--{M1}")).unwrap().unwrap();
    assert_eq!(got.label, secret_grid());
}

/// A strict batch with a bad object stores nothing of the batch.
pub fn failed_strict_batch_leaves_nothing(store: &dyn Store) {
    let a = admin();
    let bad = obj(json!({"type": "malware", "id": "malware--not-a-uuid", "name": "x"}));
    let items: Vec<ImportItem> = vec![
        Ok(malware(M1, "Ivy", "2024-01-01T00:00:00.000Z").into()),
        Ok(bad.into()),
    ];
    let opts = ImportOptions {
        strict: true,
        ..Default::default()
    };
    let err = store
        .import(&a, &mut items.into_iter(), &opts, &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Aborted(ref r) if r.index == 1 && r.path == "$.id"),
        "{err}"
    );
    assert!(store.get(&a, &format!("malware--{M1}")).unwrap().is_none());
    assert_eq!(
        store.stats(&a).unwrap().objects,
        crate::BUILT_IN_OBJECTS,
        "only the built-in objects"
    );
}

/// A subject without clearance, compartment or releasability sees nothing: no object,
/// no version, no search hit, no count, no facet, no graph node, no export.
pub fn reads_are_label_filtered(store: &dyn Store) {
    let a = admin();
    import(
        store,
        &a,
        vec![malware(M1, "Blackgrid", "2024-01-01T00:00:00.000Z")],
        Some(secret_grid()),
    );
    import(
        store,
        &a,
        vec![malware(M2, "Opengrid", "2024-01-01T00:00:00.000Z")],
        None,
    );
    let id = format!("malware--{M1}");
    let cleared = subject("ministry", "SECRET", &["GRID"]);
    let uncleared = [
        subject("ministry", "CONFIDENTIAL", &["GRID"]), // level too low
        subject("ministry", "TOP SECRET", &["TELCO"]),  // missing compartment
        subject("isac", "TOP SECRET", &["GRID", "TELCO"]), // not releasable to isac
    ];
    assert!(store.get(&cleared, &id).unwrap().is_some());
    assert_eq!(
        store
            .search(&cleared, &SearchQuery::text("grid"))
            .unwrap()
            .total,
        2
    );
    for s in &uncleared {
        assert!(store.get(s, &id).unwrap().is_none(), "get leaked to {s:?}");
        assert!(
            store.versions(s, &id).unwrap().is_empty(),
            "versions leaked"
        );
        let r = store.search(s, &SearchQuery::text("grid")).unwrap();
        assert_eq!(r.total, 1, "search count leaked to {s:?}");
        assert_eq!(r.facets.get("malware"), Some(&1), "facet leaked");
        assert!(r.hits.iter().all(|h| h.id != id));
        assert!(
            store
                .search(s, &SearchQuery::text("blackgrid"))
                .unwrap()
                .total
                == 0
        );
        assert!(
            store.graph(s, &id, 2, 100).unwrap().is_none(),
            "graph leaked"
        );
        let st = store.stats(s).unwrap();
        assert_eq!(st.objects, 1 + crate::BUILT_IN_OBJECTS, "stats leaked");
        let mut ids = Vec::new();
        store
            .export(s, &ExportFilter::default(), &mut |o| {
                ids.push(o.object.id().to_string());
                Ok(())
            })
            .unwrap();
        assert!(!ids.contains(&id), "export leaked");
    }
}

/// Words match by prefix; Chinese matches as substrings of two characters or more.
pub fn search_finds_cjk_and_words(store: &dyn Store) {
    let a = admin();
    let mut m = malware(M3, "暗网窃密木马", "2024-01-01T00:00:00.000Z");
    m.set(
        "description",
        json!("该恶意软件针对能源行业的工控系统。Targets SCADA historians."),
    )
    .unwrap();
    import(
        store,
        &a,
        vec![m, malware(M2, "Poison Ivy", "2024-01-01T00:00:00.000Z")],
        None,
    );
    for q in [
        "木马",
        "窃密",
        "恶意软件",
        "能源",
        "scada",
        "histor",
        "poison ivy",
        "POISON",
    ] {
        let r = store.search(&a, &SearchQuery::text(q)).unwrap();
        assert_eq!(r.total, 1, "query {q:?} found {r:?}");
    }
    assert_eq!(
        store.search(&a, &SearchQuery::text("木软")).unwrap().total,
        0,
        "non-substring must not match"
    );
    let name_hit = store.search(&a, &SearchQuery::text("ivy")).unwrap();
    assert_eq!(name_hit.hits[0].name.as_deref(), Some("Poison Ivy"));
    assert!(!name_hit.capped);
    // A match in the name outranks matches in descriptions, and paging walks on into them.
    let mut body_only = malware(M1, "Oak", "2024-01-01T00:00:00.000Z");
    body_only
        .set(
            "description",
            json!("Unrelated to Poison Ivy, although the name is often confused."),
        )
        .unwrap();
    import(store, &a, vec![body_only], None);
    let r = store.search(&a, &SearchQuery::text("poison")).unwrap();
    let names: Vec<_> = r
        .hits
        .iter()
        .map(|h| h.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["Poison Ivy", "Oak"]);
    assert_eq!(r.total, 2);
    let page2 = store
        .search(
            &a,
            &SearchQuery {
                offset: 1,
                limit: 1,
                ..SearchQuery::text("poison")
            },
        )
        .unwrap();
    assert_eq!(page2.hits.len(), 1);
    assert_eq!(page2.hits[0].name.as_deref(), Some("Oak"));
}

/// Relationships and embedded references are walked in both directions.
pub fn graph_walks_relationships(store: &dyn Store) {
    let a = admin();
    let actor = obj(json!({"type": "intrusion-set", "spec_version": "2.1",
        "id": "intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29", "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z", "name": "Sandstorm"}));
    let rel = obj(json!({"type": "relationship", "spec_version": "2.1",
        "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad", "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z", "relationship_type": "uses",
        "source_ref": "intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29", "target_ref": format!("malware--{M1}")}));
    let rel2 = obj(json!({"type": "relationship", "spec_version": "2.1",
        "id": "relationship--54298a74-ba52-4f0c-87a3-1824e67d7fad", "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z", "relationship_type": "variant-of",
        "source_ref": format!("malware--{M2}"), "target_ref": format!("malware--{M1}")}));
    import(
        store,
        &a,
        vec![
            actor,
            rel,
            rel2,
            malware(M1, "Ivy", "2024-01-01T00:00:00.000Z"),
        ],
        None,
    );
    import(
        store,
        &a,
        vec![malware(M2, "Ivy-B", "2024-01-01T00:00:00.000Z")],
        Some(secret_grid()),
    );
    let g = store
        .graph(
            &a,
            "intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29",
            2,
            100,
        )
        .unwrap()
        .unwrap();
    let ids: Vec<_> = g.nodes.iter().map(|n| n.id.as_str()).collect();
    assert!(ids.contains(&format!("malware--{M1}").as_str()));
    assert!(
        ids.contains(&format!("malware--{M2}").as_str()),
        "depth 2 reached: {ids:?}"
    );
    assert_eq!(g.edges.len(), 2);
    let low = subject("cert", "RESTRICTED", &[]);
    let g = store
        .graph(
            &low,
            "intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29",
            2,
            100,
        )
        .unwrap()
        .unwrap();
    assert!(
        !g.nodes.iter().any(|n| n.id.ends_with(M2)),
        "protected node leaked into graph"
    );
    assert_eq!(g.edges.len(), 1);
    let g1 = store
        .graph(
            &a,
            "intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29",
            1,
            100,
        )
        .unwrap()
        .unwrap();
    assert_eq!(g1.nodes.len(), 2);
}

/// A revoked object stays readable by id but leaves search.
pub fn revocation_hides_from_search(store: &dyn Store) {
    let a = admin();
    import(
        store,
        &a,
        vec![malware(M1, "Ivy", "2024-01-01T00:00:00.000Z")],
        Some(secret_grid()),
    );
    let id = format!("malware--{M1}");
    let r = store.revoke(&a, &id).unwrap();
    assert!(r.object.revoked());
    assert_eq!(r.label, secret_grid(), "revocation keeps the label");
    assert_eq!(store.versions(&a, &id).unwrap().len(), 2);
    assert_eq!(
        store.search(&a, &SearchQuery::text("ivy")).unwrap().total,
        0
    );
}

/// Exported objects re-import as unchanged.
pub fn export_round_trip_is_fixed_point(store: &dyn Store) {
    let a = admin();
    import(
        store,
        &a,
        vec![
            malware(M1, "Ivy", "2024-01-01T00:00:00.000Z"),
            malware(M2, "Oak", "2024-01-01T00:00:00.000Z"),
        ],
        Some(secret_grid()),
    );
    let mut out = Vec::new();
    store
        .export(
            &a,
            &ExportFilter {
                types: vec!["malware".into()],
                ..Default::default()
            },
            &mut |o| {
                out.push(o);
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(out.len(), 2);
    let r = import(
        store,
        &a,
        out.into_iter().map(|o| o.object).collect(),
        Some(secret_grid()),
    );
    assert_eq!(
        (r.new, r.updated, r.unchanged, r.invalid.len()),
        (0, 0, 2, 0)
    );
}

fn writer(name: &str, level: &str, comps: &[&str]) -> Subject {
    policy()
        .subject(name, "cert", level, comps.iter().copied(), [Role::Analyst])
        .expect("static subject")
}

/// The low writer's label: UNCLASSIFIED, for its own organization only.
fn low_label() -> liaison_policy::Label {
    policy()
        .label(
            "UNCLASSIFIED",
            Vec::<String>::new(),
            Tlp::Green,
            "cert",
            Releasability::owner_only(),
        )
        .expect("label")
}

/// An SCO: its id is derived from its value, so two organizations that see the same
/// address write the same id.
fn ipv4(value: &str) -> StixObject {
    let mut v = json!({"type": "ipv4-addr", "spec_version": "2.1", "value": value});
    let id = liaison_stix::sco_id("ipv4-addr", v.as_object().expect("object")).expect("sco id");
    v["id"] = json!(id);
    obj(v)
}

/// What a subject sees of one id, through every read: (get's label, number of
/// versions, search total, stats objects/versions/edges beyond what a subject of no
/// standing sees (the built-in objects), exported copies, graph nodes).
#[allow(clippy::type_complexity)]
fn view(
    store: &dyn Store,
    s: &Subject,
    id: &str,
    text: &str,
) -> (
    Option<liaison_policy::Label>,
    usize,
    u64,
    (u64, u64, u64),
    usize,
    usize,
) {
    let got = store.get(s, id).expect("get").map(|o| o.label);
    let versions = store.versions(s, id).expect("versions").len();
    let search = store.search(s, &SearchQuery::text(text)).expect("search");
    let st = store.stats(s).expect("stats");
    let base = store
        .stats(&subject("nobody", "UNCLASSIFIED", &[]))
        .expect("stats");
    let mut exported = 0;
    store
        .export(
            s,
            &ExportFilter {
                all_versions: true,
                ..Default::default()
            },
            &mut |o| {
                exported += usize::from(o.object.id() == id);
                Ok(())
            },
        )
        .expect("export");
    let graph = store
        .graph(s, id, 1, 100)
        .expect("graph")
        .map_or(0, |g| g.nodes.len());
    (
        got,
        versions,
        search.total,
        (
            st.objects - base.objects,
            st.versions - base.versions,
            st.edges - base.edges,
        ),
        exported,
        graph,
    )
}

/// Regression, issue 5: writing an (id, version) that exists only under a label the
/// writer cannot read is answered exactly as a fresh write, and stores the writer's own
/// instance; each subject sees one instance (the first stored it may read), and no
/// count shows the other.
pub fn unreadable_instance_is_not_a_duplicate(store: &dyn Store) {
    let high = writer("high", "SECRET", &["GRID"]);
    let low = writer("low", "UNCLASSIFIED", &[]);
    let ip = ipv4("198.51.100.7");
    let id = ip.id().to_string();
    let fresh = import(store, &high, vec![ip.clone()], Some(secret_grid()));
    assert_eq!(
        (
            fresh.new,
            fresh.updated,
            fresh.unchanged,
            fresh.invalid.len()
        ),
        (1, 0, 0, 0),
        "{fresh:?}"
    );
    let r = import(store, &low, vec![ip.clone()], Some(low_label()));
    assert_eq!(r, fresh, "the low writer learns nothing of the SECRET copy");
    assert_eq!(
        view(store, &low, &id, "198.51.100.7"),
        (Some(low_label()), 1, 1, (1, 1, 0), 1, 1)
    );
    assert_eq!(
        view(store, &high, &id, "198.51.100.7"),
        (Some(secret_grid()), 1, 1, (1, 1, 0), 1, 1)
    );
    let found = store
        .search(&high, &SearchQuery::text("198.51.100.7"))
        .expect("search");
    assert_eq!(found.facets.get("ipv4-addr"), Some(&1));
    assert_eq!(found.hits.len(), 1);
    // Written again by either, it is that writer's duplicate, unchanged.
    let again = import(store, &low, vec![ip.clone()], Some(low_label()));
    assert_eq!((again.new, again.unchanged), (0, 1));
    let again = import(store, &high, vec![ip], Some(secret_grid()));
    assert_eq!((again.new, again.unchanged), (0, 1));
    // A subject cleared for neither copy (not releasable to its organization) sees nothing.
    let outsider = subject("isac", "TOP SECRET", &["GRID", "TELCO"]);
    assert_eq!(
        view(store, &outsider, &id, "198.51.100.7"),
        (None, 0, 0, (0, 0, 0), 0, 0)
    );
}

/// The reverse order: the high writer can read the low copy, so the same version is
/// its duplicate (unchanged, keeping its label; an explicit other label is refused).
pub fn readable_instance_is_a_duplicate(store: &dyn Store) {
    let high = writer("high", "SECRET", &["GRID"]);
    let low = writer("low", "UNCLASSIFIED", &[]);
    let ip = ipv4("198.51.100.8");
    let id = ip.id().to_string();
    import(store, &low, vec![ip.clone()], Some(low_label()));
    let r = import(store, &high, vec![ip.clone()], Some(secret_grid()));
    assert_eq!(
        (r.new, r.updated, r.unchanged, r.invalid.len()),
        (0, 0, 1, 0),
        "{r:?}"
    );
    let mut labelled = ip;
    liaison_stix::label::LabelExtension {
        level: "SECRET".into(),
        compartments: vec!["GRID".into()],
        owner: Some("cert".into()),
        ..Default::default()
    }
    .write(&mut labelled);
    let r = import(store, &high, vec![labelled], None);
    assert_eq!(r.invalid.len(), 1, "{r:?}");
    assert!(
        r.invalid[0].reason.contains("different security label"),
        "{}",
        r.invalid[0].reason
    );
    assert_eq!(
        view(store, &high, &id, "198.51.100.8"),
        (Some(low_label()), 1, 1, (1, 1, 0), 1, 1)
    );
}

/// "Latest", search, the graph's edges and revocation as each subject sees them: a
/// low writer's older version of an object it cannot see is new to it and its latest;
/// the high subject sees both versions and its own newer one; a relationship written
/// by both counts and draws one edge; the high subject's revocation leaves the low
/// copy as it was.
pub fn versions_and_revocation_per_subject(store: &dyn Store) {
    let a = admin();
    let high = writer("high", "SECRET", &["GRID"]);
    let low = writer("low", "UNCLASSIFIED", &[]);
    let id = format!("malware--{M1}");
    import(
        store,
        &high,
        vec![malware(M1, "Ivy v2", "2024-02-01T00:00:00.000Z")],
        Some(secret_grid()),
    );
    let r = import(
        store,
        &low,
        vec![malware(M1, "Ivy v1", "2024-01-01T00:00:00.000Z")],
        Some(low_label()),
    );
    assert_eq!(
        (r.new, r.updated, r.unchanged, r.invalid.len()),
        (1, 0, 0, 0),
        "{r:?}"
    );
    let name = |s: &Subject| {
        store
            .get(s, &id)
            .expect("get")
            .and_then(|o| o.object.name().map(String::from))
    };
    assert_eq!(name(&low).as_deref(), Some("Ivy v1"));
    assert_eq!(name(&high).as_deref(), Some("Ivy v2"));
    let names = |s: &Subject| -> Vec<(String, bool)> {
        store
            .versions(s, &id)
            .expect("versions")
            .iter()
            .map(|o| (o.object.name().unwrap_or_default().to_string(), o.latest))
            .collect()
    };
    assert_eq!(
        names(&high),
        [("Ivy v1".to_string(), false), ("Ivy v2".to_string(), true)]
    );
    assert_eq!(names(&low), [("Ivy v1".to_string(), true)]);
    assert_eq!(
        store
            .search(&high, &SearchQuery::text("ivy"))
            .expect("search")
            .total,
        1
    );
    assert_eq!(
        store
            .search(&high, &SearchQuery::text("v1"))
            .expect("search")
            .total,
        0,
        "high's latest is v2"
    );
    assert_eq!(
        store
            .search(&low, &SearchQuery::text("v1"))
            .expect("search")
            .total,
        1
    );
    assert_eq!(view(store, &high, &id, "ivy").3, (1, 2, 0));
    assert_eq!(view(store, &low, &id, "ivy").3, (1, 1, 0));
    let mut latest = Vec::new();
    store
        .export(&high, &ExportFilter::default(), &mut |o| {
            latest.push(o.object.name().unwrap_or_default().to_string());
            Ok(())
        })
        .expect("export");
    assert_eq!(
        latest
            .iter()
            .filter(|n| n.starts_with("Ivy"))
            .collect::<Vec<_>>(),
        ["Ivy v2"]
    );

    // A relationship written by both (the same id and version) between public objects.
    let m2 = format!("malware--{M2}");
    import(
        store,
        &a,
        vec![malware(M2, "Oak", "2024-01-01T00:00:00.000Z")],
        Some(liaison_policy::Label::public(Some("cert".into()))),
    );
    let rel = obj(json!({"type": "relationship", "spec_version": "2.1",
        "id": "relationship--64298a74-ba52-4f0c-87a3-1824e67d7fad", "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z", "relationship_type": "variant-of",
        "source_ref": m2, "target_ref": id}));
    import(store, &high, vec![rel.clone()], Some(secret_grid()));
    assert_eq!(import(store, &low, vec![rel], Some(low_label())).new, 1);
    for s in [&high, &low] {
        let g = store.graph(s, &m2, 1, 100).expect("graph").expect("start");
        assert_eq!(g.edges.len(), 1, "{g:?}");
        assert_eq!(view(store, s, &m2, "oak").3 .2, 1, "edges counted once");
    }

    // High revokes what it sees; the low copy stays as it was for the low writer.
    let revoked = store.revoke(&high, &id).expect("revoke");
    assert!(revoked.object.revoked());
    assert_eq!(
        store
            .search(&high, &SearchQuery::text("ivy"))
            .expect("search")
            .total,
        0
    );
    assert!(store.graph(&high, &id, 1, 100).expect("graph").is_none());
    let mine = store.get(&low, &id).expect("get").expect("low copy");
    assert!(!mine.object.revoked());
    assert_eq!(
        store
            .search(&low, &SearchQuery::text("ivy"))
            .expect("search")
            .total,
        1
    );
    assert_eq!(
        store
            .graph(&low, &m2, 1, 100)
            .expect("graph")
            .expect("start")
            .edges
            .len(),
        1
    );
    let outsider = subject("isac", "TOP SECRET", &["GRID", "TELCO"]);
    assert!(store.get(&outsider, &id).expect("get").is_none());
    assert!(store.versions(&outsider, &id).expect("versions").is_empty());
    assert_eq!(
        store
            .search(&outsider, &SearchQuery::text("ivy"))
            .expect("search")
            .total,
        0
    );
}

/// Label, source and time facets, and the filters they lead to, count only what the
/// subject may read: a labelled object lends a subject without clearance no banner,
/// no creator id and no month, and filtering on those finds what an absent one would.
pub fn search_facets_are_label_filtered(store: &dyn Store) {
    const SECRET_SRC: &str = "identity--5e3c0b0a-0000-4000-8000-00000000a001";
    const OPEN_SRC: &str = "identity--5e3c0b0a-0000-4000-8000-00000000a002";
    let a = admin();
    let mut hidden = malware(M1, "Blackgrid", "2024-07-14T00:00:00.000Z");
    hidden.set("created_by_ref", json!(SECRET_SRC)).unwrap();
    let mut open = malware(M2, "Opengrid", "2024-01-01T00:00:00.000Z");
    open.set("created_by_ref", json!(OPEN_SRC)).unwrap();
    import(store, &a, vec![hidden], Some(secret_grid()));
    import(store, &a, vec![open], None);
    let secret_banner = policy().banner(&secret_grid());
    let grid = SearchQuery::text("grid");
    let filtered = |s: &Subject, f: SearchFilter| {
        let f = SearchFilter { facets: true, ..f };
        store.search_filtered(s, &grid, &f).unwrap()
    };

    // A plain search counts types only (the other facets cost row reads per match).
    let cleared = subject("ministry", "SECRET", &["GRID"]);
    let plain = store.search(&cleared, &grid).unwrap();
    assert_eq!((plain.total, plain.facets.get("malware")), (2, Some(&2)));
    assert!(plain.label_facets.is_empty() && plain.source_facets.is_empty());
    assert!(plain.time_facets.is_empty());

    // Someone cleared sees every facet value, and each filter narrows to its object.
    let r = filtered(&cleared, SearchFilter::default());
    assert_eq!(r.total, 2);
    assert_eq!(r.label_facets.get(&secret_banner), Some(&1), "{r:?}");
    assert_eq!(r.label_facets.values().sum::<u64>(), 2, "{r:?}");
    assert_eq!(r.source_facets.get(SECRET_SRC), Some(&1), "{r:?}");
    assert_eq!(r.source_facets.get(OPEN_SRC), Some(&1), "{r:?}");
    assert_eq!(r.time_facets.get("2024-07"), Some(&1), "{r:?}");
    assert_eq!(r.time_facets.get("2024-01"), Some(&1), "{r:?}");
    let by_label = filtered(
        &cleared,
        SearchFilter {
            labels: vec![secret_banner.clone()],
            ..Default::default()
        },
    );
    assert_eq!(
        by_label
            .hits
            .iter()
            .map(|h| h.id.as_str())
            .collect::<Vec<_>>(),
        [format!("malware--{M1}")]
    );
    assert_eq!(by_label.total, 1);
    let by_source = filtered(
        &cleared,
        SearchFilter {
            sources: vec![OPEN_SRC.into()],
            ..Default::default()
        },
    );
    assert_eq!(
        by_source
            .hits
            .iter()
            .map(|h| h.id.as_str())
            .collect::<Vec<_>>(),
        [format!("malware--{M2}")]
    );
    assert_eq!(by_source.source_facets.len(), 1, "{by_source:?}");
    let july = SearchFilter {
        modified_from: Some("2024-07".into()),
        modified_before: Some("2024-08".into()),
        ..Default::default()
    };
    let by_time = filtered(&cleared, july.clone());
    assert_eq!(
        by_time
            .hits
            .iter()
            .map(|h| h.id.as_str())
            .collect::<Vec<_>>(),
        [format!("malware--{M1}")]
    );
    assert_eq!(by_time.total, 1);
    assert_eq!(by_time.facets.get("malware"), Some(&1));
    // The many-ids label look-up pages use for portion marks and banners.
    let ids = [
        format!("malware--{M1}"),
        format!("malware--{M2}"),
        format!("malware--{M3}"),
    ];
    let labels = store.labels_of(&cleared, &ids).unwrap();
    assert_eq!(labels.get(&ids[0]), Some(&secret_grid()));
    assert!(
        labels.contains_key(&ids[1]) && !labels.contains_key(&ids[2]),
        "{labels:?}"
    );

    let uncleared = [
        subject("ministry", "CONFIDENTIAL", &["GRID"]),
        subject("ministry", "TOP SECRET", &["TELCO"]),
        subject("isac", "TOP SECRET", &["GRID", "TELCO"]),
    ];
    for s in &uncleared {
        let r = filtered(s, SearchFilter::default());
        assert_eq!(r.total, 1, "count leaked to {s:?}");
        assert!(
            !r.label_facets.contains_key(&secret_banner),
            "banner leaked to {s:?}: {r:?}"
        );
        assert_eq!(
            r.label_facets.values().sum::<u64>(),
            1,
            "label count leaked: {r:?}"
        );
        assert_eq!(
            r.source_facets.keys().collect::<Vec<_>>(),
            [OPEN_SRC],
            "source leaked: {r:?}"
        );
        assert_eq!(
            r.time_facets.keys().collect::<Vec<_>>(),
            ["2024-01"],
            "month leaked: {r:?}"
        );
        let labels = store.labels_of(s, &ids).unwrap();
        assert_eq!(
            labels.keys().collect::<Vec<_>>(),
            [&ids[1]],
            "label look-up leaked to {s:?}"
        );
        // Filtering on what the subject cannot see answers as for nothing at all.
        for f in [
            SearchFilter {
                labels: vec![secret_banner.clone()],
                ..Default::default()
            },
            SearchFilter {
                sources: vec![SECRET_SRC.into()],
                ..Default::default()
            },
            july.clone(),
        ] {
            let r = filtered(s, f.clone());
            assert_eq!(r, SearchResults::default(), "filter {f:?} leaked to {s:?}");
        }
    }
}

/// Source and month facets are counted from each match's own search row: a subject
/// without clearance counts zero in every source and month bucket of labelled objects,
/// also for an id stored at two labels whose other instance has another source and month,
/// and a subject who reads both instances counts only the one it sees (the newest).
pub fn source_and_month_facets_hide_labelled_objects(store: &dyn Store) {
    const ONLY_SRC: &str = "identity--5e3c0b0a-0000-4000-8000-00000000b001";
    const HIGH_SRC: &str = "identity--5e3c0b0a-0000-4000-8000-00000000b002";
    const LOW_SRC: &str = "identity--5e3c0b0a-0000-4000-8000-00000000b003";
    let high = writer("high", "SECRET", &["GRID"]);
    let low = writer("low", "UNCLASSIFIED", &[]);
    let with_source = |mut o: StixObject, src: &str| {
        o.set("created_by_ref", json!(src)).expect("set");
        o
    };
    let only = with_source(
        malware(M1, "Quillwort", "2024-03-05T00:00:00.000Z"),
        ONLY_SRC,
    );
    let r = import(store, &high, vec![only], Some(secret_grid()));
    assert_eq!((r.new, r.invalid.len()), (1, 0), "{r:?}");
    let low_version = with_source(
        malware(M2, "Quillfeather", "2024-01-10T00:00:00.000Z"),
        LOW_SRC,
    );
    import(store, &low, vec![low_version], Some(low_label()));
    let high_version = with_source(
        malware(M2, "Quillfeather", "2024-09-20T00:00:00.000Z"),
        HIGH_SRC,
    );
    let r = import(store, &high, vec![high_version], Some(secret_grid()));
    assert_eq!((r.new, r.updated, r.invalid.len()), (0, 1, 0), "{r:?}");

    let quill = SearchQuery::text("quill");
    let facets = |s: &Subject, f: SearchFilter| {
        store
            .search_filtered(s, &quill, &SearchFilter { facets: true, ..f })
            .expect("search")
    };
    let keys = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter().map(|(k, v)| (k.clone(), *v)).collect::<Vec<_>>()
    };
    let pairs = |v: &[(&str, u64)]| {
        v.iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect::<Vec<_>>()
    };

    let seen = facets(&high, SearchFilter::default());
    assert_eq!(seen.total, 2, "{seen:?}");
    assert_eq!(
        keys(&seen.source_facets),
        pairs(&[(ONLY_SRC, 1), (HIGH_SRC, 1)]),
        "the hidden older instance's source counted: {seen:?}"
    );
    assert_eq!(
        keys(&seen.time_facets),
        pairs(&[("2024-03", 1), ("2024-09", 1)]),
        "{seen:?}"
    );
    let older_source = facets(
        &high,
        SearchFilter {
            sources: vec![LOW_SRC.into()],
            ..Default::default()
        },
    );
    assert_eq!(older_source.total, 0, "{older_source:?}");

    let mine = facets(&low, SearchFilter::default());
    assert_eq!(mine.total, 1, "{mine:?}");
    assert_eq!(
        keys(&mine.source_facets),
        pairs(&[(LOW_SRC, 1)]),
        "{mine:?}"
    );
    assert_eq!(
        keys(&mine.time_facets),
        pairs(&[("2024-01", 1)]),
        "{mine:?}"
    );
    assert_eq!(
        mine.hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        [format!("malware--{M2}")]
    );

    let nobody = subject("ministry", "CONFIDENTIAL", &["GRID"]);
    assert_eq!(
        facets(&nobody, SearchFilter::default()),
        SearchResults::default(),
        "a subject who reads none of them counts nothing"
    );
    for s in [&low, &nobody] {
        for f in [
            SearchFilter {
                sources: vec![ONLY_SRC.into(), HIGH_SRC.into()],
                ..Default::default()
            },
            SearchFilter {
                modified_from: Some("2024-09".into()),
                modified_before: Some("2024-10".into()),
                ..Default::default()
            },
            SearchFilter {
                modified_from: Some("2024-03".into()),
                modified_before: Some("2024-04".into()),
                ..Default::default()
            },
        ] {
            let r = facets(s, f.clone());
            assert_eq!(r, SearchResults::default(), "filter {f:?} leaked to {s:?}");
        }
    }
}
