//! Validation rules one by one: what this project's own objects look like, and
//! each MUST with the path it reports.

use liaison_stix::label::{label_extension_definition, liaison_identity, set_tlp, LabelExtension};
use liaison_stix::tlp::{Tlp, ALL};
use liaison_stix::validate::{validate, validate_value, Severity};
use liaison_stix::StixObject;
use serde_json::{json, Value};

fn errors(v: &Value) -> Vec<String> {
    validate_value(v)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.path)
        .collect()
}

fn warnings(v: &Value) -> Vec<String> {
    validate_value(v)
        .into_iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| f.path)
        .collect()
}

fn indicator() -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
        "name": "Poison Ivy", "pattern": "[file:hashes.'SHA-256' = 'aa']", "pattern_type": "stix",
        "valid_from": "2016-01-01T00:00:00Z"
    })
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

#[test]
fn liaison_objects_are_valid() {
    for tlp in ALL {
        assert_eq!(
            errors(&tlp.marking_definition()),
            Vec::<String>::new(),
            "{tlp}"
        );
    }
    assert_eq!(errors(&label_extension_definition()), Vec::<String>::new());
    assert_eq!(errors(&liaison_identity()), Vec::<String>::new());
    let mut obj = StixObject::from_value(indicator()).unwrap();
    set_tlp(&mut obj, Tlp::Amber);
    LabelExtension {
        level: "RESTRICTED".into(),
        compartments: vec!["NATO".into()],
        releasable_to: vec![],
        owner: None,
    }
    .write(&mut obj);
    let findings = validate(&obj);
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn custom_object_defined_by_extension() {
    let task = json!({
        "type": "x-liaison-task", "spec_version": "2.1", "id": "x-liaison-task--2f1b3a5e-8f0c-4d5e-9a1b-3c4d5e6f7a8b",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "title": "Triage", "due": "2026-01-02T00:00:00.000Z",
        "extensions": {"extension-definition--a932fcc6-e032-476c-a26f-cb970a5a1ade": {"extension_type": "new-sdo"}}
    });
    assert_eq!(errors(&task), Vec::<String>::new());
    let no_created = {
        let mut t = task.clone();
        t.as_object_mut().unwrap().remove("created");
        t
    };
    assert_eq!(errors(&no_created), ["$.created"]);
    // new-sdo on a STIX type is wrong.
    let wrong = with(indicator(), "extensions", task["extensions"].clone());
    assert_eq!(errors(&wrong), ["$.extensions.'extension-definition--a932fcc6-e032-476c-a26f-cb970a5a1ade'.extension_type"]);
}

#[test]
fn each_must_names_its_path() {
    let cases: Vec<(Value, &[&str])> = vec![
        (
            with(indicator(), "confidence", json!(101)),
            &["$.confidence"],
        ),
        (
            with(indicator(), "modified", json!("2016-04-06T20:03:47.000Z")),
            &["$.modified"],
        ),
        (
            with(indicator(), "created", json!("2016-04-31T20:03:48.000Z")),
            &["$.created"],
        ),
        (
            with(indicator(), "created", json!("2016-04-06T20:03:48Z")),
            &["$.created"],
        ),
        (
            with(indicator(), "valid_until", json!("2016-01-01T00:00:00Z")),
            &["$.valid_until"],
        ),
        (
            with(
                indicator(),
                "id",
                json!("indicator--8e2e2d2b-17d4-7cbf-938f-98ee46b3cd3f"),
            ),
            &["$.id"],
        ),
        (
            with(
                indicator(),
                "id",
                json!("malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            ),
            &["$.id"],
        ),
        (with(indicator(), "labels", json!([])), &["$.labels"]),
        (
            with(indicator(), "severity", json!("high")),
            &["$.severity"],
        ),
        (with(indicator(), "x-bad", json!(1)), &["$.'x-bad'"]),
        (with(indicator(), "lang", json!("zz")), &["$.lang"]),
        (
            with(indicator(), "pattern", json!("[f:n = 'x']")),
            &["$.pattern", "$.pattern"],
        ),
        (
            with(
                indicator(),
                "external_references",
                json!([{"source_name": "cve", "external_id": "CVE-16-1"}]),
            ),
            &["$.external_references[0].external_id"],
        ),
        (
            with(
                indicator(),
                "external_references",
                json!([{"source_name": "x"}]),
            ),
            &["$.external_references[0]"],
        ),
        (
            with(
                indicator(),
                "object_marking_refs",
                json!(["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]),
            ),
            &["$.object_marking_refs[0]"],
        ),
        (
            with(
                indicator(),
                "granular_markings",
                json!([{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["nothing_here"]}]),
            ),
            &["$.granular_markings[0].selectors[0]"],
        ),
        (
            json!({"type": "relationship", "spec_version": "2.1", "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
                "created": "2016-04-06T20:06:37.000Z", "modified": "2016-04-06T20:06:37.000Z", "relationship_type": "indicates",
                "source_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "target_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"}),
            &["$.target_ref"],
        ),
        (
            json!({"type": "sighting", "spec_version": "2.1", "id": "sighting--6b0e3956-95f3-4c04-a882-116832996da0",
                "created": "2016-08-22T14:09:00.123Z", "modified": "2016-08-22T14:09:00.123Z",
                "sighting_of_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "count": -1,
                "where_sighted_refs": ["malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}),
            &["$.count", "$.where_sighted_refs[0]"],
        ),
        (
            json!({"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
                "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "definition": {"tlp": "red"}}),
            &["$.definition"],
        ),
        (
            json!({"type": "observed-data", "spec_version": "2.1", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
                "created": "2016-04-06T19:58:16.000Z", "modified": "2016-04-06T19:58:16.000Z",
                "first_observed": "2015-12-21T19:00:00Z", "last_observed": "2015-12-21T19:00:00Z", "number_observed": 0,
                "object_refs": ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}),
            &["$.number_observed", "$.object_refs[0]"],
        ),
        (
            json!({"type": "network-traffic", "id": "network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d",
                "protocols": ["tcp"], "dst_port": 70000}),
            &["$.dst_port", "$"],
        ),
        (
            json!({"type": "email-message", "id": "email-message--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "is_multipart": true, "body": "x", "from_ref": "ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}),
            &["$.from_ref", "$.body"],
        ),
        (
            json!({"type": "language-content", "spec_version": "2.1", "id": "language-content--b86bd89f-98bb-4fa9-8cb2-9ad421da981d",
                "created": "2017-02-08T21:31:22.007Z", "modified": "2017-02-08T21:31:22.007Z",
                "object_ref": "campaign--12a111f0-b824-4baf-a224-83b80237a094", "contents": {"de": {"na": "x"}}}),
            &["$.contents.de.na"],
        ),
        (
            json!({"type": "extension-definition", "spec_version": "2.1", "id": "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e",
                "created_by_ref": "identity--11b76a96-5d2b-45e0-8a5a-f6994f370731",
                "created": "2014-02-20T09:16:08.000Z", "modified": "2014-02-20T09:16:08.000Z",
                "name": "x", "schema": "x", "version": "1", "extension_types": ["new-thing"]}),
            &["$.extension_types[0]"],
        ),
        (
            json!({"type": "file", "id": "file--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "name": "a",
                "extensions": {"archive-ext": {}, "x-foo": {"a": 1}}}),
            &[
                "$.extensions.'archive-ext'.contains_refs",
                "$.extensions.'x-foo'",
            ],
        ),
        (
            json!({"type": "process", "id": "process--07bc30cad-ebc2-4579-881d-b9cdc7f2b33c", "pid": 1}),
            &["$.id"],
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(errors(&value), expected.to_vec(), "{value}");
    }
}

#[test]
fn shoulds_are_warnings_only() {
    // A wrong-length MD5 and a random id on an ipv4-addr: SHOULDs.
    let f = json!({"type": "file", "id": "file--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "hashes": {"MD5": "abc"}});
    assert_eq!(errors(&f), Vec::<String>::new());
    assert_eq!(warnings(&f), ["$.hashes.MD5", "$.id"]);
    let ip = json!({"type": "ipv4-addr", "id": "ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "value": "10.0.0.1"});
    assert_eq!(errors(&ip), Vec::<String>::new());
    assert_eq!(warnings(&ip), ["$.id"]);
    let custom = with(indicator(), "rank", json!(3));
    assert_eq!(errors(&custom), Vec::<String>::new());
    assert_eq!(warnings(&custom), ["$.rank"]);
}

#[test]
fn stix20_values_are_validated_as_upgraded() {
    let v = json!({"type": "malware", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
        "created": "2016-04-06T20:07:09.000Z", "modified": "2016-04-06T20:07:09.000Z",
        "name": "Poison Ivy", "labels": ["remote-access-trojan"]});
    assert_eq!(errors(&v), Vec::<String>::new());
    assert_eq!(warnings(&v), ["$"]);
    // But `validate` on a StixObject is strict 2.1.
    let obj = StixObject::from_value(v).unwrap();
    let paths: Vec<_> = validate(&obj)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.path)
        .collect();
    assert_eq!(paths, ["$.spec_version", "$.is_family"]);
}
