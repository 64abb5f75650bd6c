//! Object templates beyond the reference events: objects folded into another
//! (a file's PE, a PE's sections, a registry key's values), what happens
//! when the object they are folded into cannot be an observable, and bad
//! values in the templates mapped this session.

use liaison_misp::{event_to_stix, stix_to_events, Options};
use liaison_stix::{validate::errors, StixObject};
use serde_json::{json, Value};

const FILE: &str = "5ac47782-e1b8-40b6-96b4-02510a00020f";
const PE: &str = "2183705f-e8d6-4c08-a820-5b56a1303bb1";
const SECTION: &str = "68bd413b-5392-4239-93a9-e574fb80af8c";

fn attr(uuid: &str, rel: &str, ty: &str, value: &str) -> Value {
    json!({"uuid": uuid, "object_relation": rel, "type": ty, "value": value})
}

fn event(objects: Value) -> Value {
    json!({"Event": {"uuid": "0b5e6c1d-7a8e-4c0a-9d2f-4f1e2d3c4b5a", "info": "templates",
        "timestamp": "1603642920", "Orgc": {"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
        "Object": objects}})
}

/// A file including a PE including a section; `md5` is the file's hash.
fn file_pe_section(md5: &str) -> Value {
    event(json!([
        {"uuid": FILE, "name": "file", "meta-category": "file", "timestamp": "1603642920",
         "Attribute": [attr("91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f", "filename", "filename", "oui.exe"),
                       attr("518b4bcb-a86b-4783-9457-391d548b605b", "md5", "md5", md5)],
         "ObjectReference": [{"uuid": "10244768-3e45-5877-9a4a-73db0339b13f", "referenced_uuid": PE,
                              "relationship_type": "includes"}]},
        {"uuid": PE, "name": "pe", "meta-category": "file", "timestamp": "1603642920",
         "Attribute": [attr("34cb1a7c-55ec-412a-8684-ba4a88d83a45", "type", "text", "dll"),
                       attr("f2259650-bc33-4b64-a3a8-a324aa7ea6bb", "imphash", "imphash", "23ea835ab4b9017c74dfb023d2301c99"),
                       attr("d01ef2c6-3154-4f8a-a3dc-9de1f34dd5d0", "company-name", "text", "ACME"),
                       attr("0251692e-6bb8-4de5-9e94-4dfa2834b032", "original-filename", "filename", "oui.dll")],
         "ObjectReference": [{"uuid": "f4b89dc9-35e7-5e82-9987-e1237855a124", "referenced_uuid": SECTION,
                              "relationship_type": "includes"}]},
        {"uuid": SECTION, "name": "pe-section", "meta-category": "file", "timestamp": "1603642920",
         "Attribute": [attr("94a2b00f-bec3-4f8a-bea4-e4ccf0de776f", "name", "text", ".text"),
                       attr("e072dfbb-c6fd-4312-8201-d140575536c4", "size-in-bytes", "size-in-bytes", "4096"),
                       attr("cee48d41-5e2f-560f-ab7d-99eb47f072fd", "sha256", "sha256",
                            "c6b3ac8303a72be90b0e47f69977e6f5665693d4ea0aa93e5c27b5c556c7cf9b")]},
    ]))
}

fn by_id<'a>(objects: &'a [Value], id: &str) -> Option<&'a Value> {
    objects.iter().find(|o| o["id"] == id)
}

fn assert_valid(objects: &[Value]) {
    for o in objects {
        let obj = StixObject::from_value(o.clone()).unwrap_or_else(|e| panic!("{e}: {o}"));
        let errs = errors(&obj);
        assert!(errs.is_empty(), "{} invalid: {errs:?}", obj.id());
    }
}

#[test]
fn pe_and_sections_fold_into_the_file_observable() {
    let conv = event_to_stix(
        &file_pe_section("b2a5abfeef9e36964281a31e17b57c97"),
        &Options::default(),
    )
    .expect("converts");
    assert!(conv.warnings.is_empty(), "{:?}", conv.warnings);
    assert_valid(&conv.objects);
    let file = by_id(&conv.objects, &format!("file--{FILE}")).expect("the file observable");
    let ext = &file["extensions"]["windows-pebinary-ext"];
    assert_eq!(ext["pe_type"], "dll");
    assert_eq!(ext["imphash"], "23ea835ab4b9017c74dfb023d2301c99");
    assert_eq!(ext["x_misp_company_name"], "ACME");
    assert_eq!(
        ext["sections"],
        json!([{"name": ".text", "size": 4096,
        "hashes": {"SHA-256": "c6b3ac8303a72be90b0e47f69977e6f5665693d4ea0aa93e5c27b5c556c7cf9b"}}])
    );
    // No object of their own, no relationship to themselves.
    for gone in [PE, SECTION] {
        assert!(
            !conv
                .objects
                .iter()
                .any(|o| o["id"].as_str().is_some_and(|i| i.ends_with(gone))),
            "{gone} converted on its own"
        );
    }
    assert!(!conv
        .objects
        .iter()
        .any(|o| o["type"] == "relationship" && o["relationship_type"] == "includes"));
    let pattern = by_id(&conv.objects, &format!("indicator--{FILE}")).expect("indicator")
        ["pattern"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        pattern.contains(
            "file:extensions.'windows-pebinary-ext'.imphash = '23ea835ab4b9017c74dfb023d2301c99'"
        ),
        "{pattern}"
    );
    assert!(pattern.contains("file:extensions.'windows-pebinary-ext'.sections[0].hashes.'SHA-256' = 'c6b3ac8303a72be90b0e47f69977e6f5665693d4ea0aa93e5c27b5c556c7cf9b'"), "{pattern}");
}

#[test]
fn pe_stands_alone_when_its_file_cannot_be_an_observable() {
    let conv =
        event_to_stix(&file_pe_section("not-a-hash"), &Options::default()).expect("converts");
    assert_valid(&conv.objects);
    assert!(
        conv.warnings
            .iter()
            .any(|w| w.path == "Event.Object[0].Attribute" && w.message.contains("x-misp-object")),
        "{:?}",
        conv.warnings
    );
    let kept = format!("x-misp-object--{FILE}");
    assert!(
        by_id(&conv.objects, &kept).is_some(),
        "file kept as MISP data"
    );
    // The PE becomes a file of its own (named after its original file
    // name), still with its section; the inclusion is a relationship.
    let pe = by_id(&conv.objects, &format!("file--{PE}")).expect("PE as a file observable");
    assert_eq!(pe["name"], "oui.dll");
    assert_eq!(
        pe["extensions"]["windows-pebinary-ext"]["sections"][0]["name"],
        ".text"
    );
    assert!(conv.objects.iter().any(|o| o["type"] == "relationship"
        && o["source_ref"] == kept.as_str()
        && o["relationship_type"] == "includes"
        && o["target_ref"] == format!("observed-data--{PE}").as_str()));
}

#[test]
fn folded_objects_come_back_as_objects_with_references() {
    let conv = event_to_stix(
        &file_pe_section("b2a5abfeef9e36964281a31e17b57c97"),
        &Options::default(),
    )
    .expect("converts");
    let back = stix_to_events(&conv.objects, &Options::default()).expect("converts back");
    let objects = back[0]["Event"]["Object"].as_array().expect("objects");
    let named = |n: &str| {
        objects
            .iter()
            .filter(|o| o["name"] == n)
            .collect::<Vec<_>>()
    };
    let (file, pe, section) = (named("file"), named("pe"), named("pe-section"));
    assert_eq!((file.len(), pe.len(), section.len()), (1, 1, 1));
    assert_eq!(file[0]["uuid"], FILE);
    assert_eq!(
        file[0]["ObjectReference"][0]["referenced_uuid"],
        pe[0]["uuid"]
    );
    assert_eq!(
        pe[0]["ObjectReference"][0]["referenced_uuid"],
        section[0]["uuid"]
    );
    let values = |o: &Value| -> Vec<(String, String, bool)> {
        let mut v: Vec<_> = o["Attribute"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a["object_relation"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    a["value"].as_str().unwrap_or_default().to_string(),
                    a["to_ids"] == true,
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        values(pe[0]),
        vec![
            ("company-name".into(), "ACME".into(), false),
            (
                "imphash".into(),
                "23ea835ab4b9017c74dfb023d2301c99".into(),
                true
            ),
            ("original-filename".into(), "oui.dll".into(), true),
            ("type".into(), "dll".into(), false),
        ]
    );
    assert_eq!(
        values(section[0]),
        vec![
            ("name".into(), ".text".into(), false),
            (
                "sha256".into(),
                "c6b3ac8303a72be90b0e47f69977e6f5665693d4ea0aa93e5c27b5c556c7cf9b".into(),
                true
            ),
            ("size-in-bytes".into(), "4096".into(), false),
        ]
    );
}

#[test]
fn registry_values_fold_without_dropped_reference_warnings() {
    let key = "0b88c0c4-1f3a-4e6b-9a2d-1c4d5e6f7a80";
    let value = "0b88c0c4-1f3a-4e6b-9a2d-1c4d5e6f7a81";
    let ev = event(json!([
        {"uuid": key, "name": "registry-key", "meta-category": "misc",
         "Attribute": [attr("1c99d1d5-2f4b-4f7c-8b3e-2d5e6f7a8b90", "key", "regkey", "HKLM\\Software\\x")],
         "ObjectReference": [{"uuid": "1c99d1d5-2f4b-4f7c-8b3e-2d5e6f7a8b91", "referenced_uuid": value,
                              "relationship_type": "contains"}]},
        {"uuid": value, "name": "registry-key-value", "meta-category": "misc",
         "Attribute": [attr("1c99d1d5-2f4b-4f7c-8b3e-2d5e6f7a8b92", "name", "text", "Run"),
                       attr("1c99d1d5-2f4b-4f7c-8b3e-2d5e6f7a8b93", "data", "text", "evil.exe")]},
    ]));
    let conv = event_to_stix(&ev, &Options::default()).expect("converts");
    assert!(conv.warnings.is_empty(), "{:?}", conv.warnings);
    let k = by_id(&conv.objects, &format!("windows-registry-key--{key}")).expect("key");
    assert_eq!(k["key"], "HKEY_LOCAL_MACHINE\\Software\\x");
    assert_eq!(k["values"], json!([{"name": "Run", "data": "evil.exe"}]));
}

#[test]
fn bad_values_in_new_templates_keep_the_object_as_misp_data_and_say_where() {
    let cases = [
        (
            "netflow",
            attr(
                "53a12da9-4b66-4809-b0b4-e9de3172e7a0",
                "src-as",
                "AS",
                "AS-one",
            ),
            "not `AS` followed by digits",
        ),
        (
            "netflow",
            attr(
                "a94c6f3e-1224-5099-bcae-83fdef51c336",
                "src-port",
                "port",
                "http",
            ),
            "port",
        ),
        (
            "http-request",
            attr(
                "91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f",
                "ip-dst",
                "ip-dst",
                "1.2.3",
            ),
            "IP address",
        ),
    ];
    for (template, bad, why) in cases {
        let mut attrs = vec![attr(
            "518b4bcb-a86b-4783-9457-391d548b605b",
            "ip-src",
            "ip-src",
            "198.51.100.7",
        )];
        if template == "http-request" {
            attrs.push(attr(
                "f3a7de4c-6aa0-5670-afae-09c03122a37f",
                "method",
                "http-method",
                "GET",
            ));
            attrs.push(attr(
                "6491c90c-b659-5e33-93b8-b8d5a48b0683",
                "uri",
                "uri",
                "/",
            ));
        }
        attrs.push(bad);
        let uuid = "419eb5a9-d232-4aa1-864e-2f4d7270a8f9";
        let ev = event(
            json!([{"uuid": uuid, "name": template, "meta-category": "network", "Attribute": attrs}]),
        );
        let conv = event_to_stix(&ev, &Options::default()).expect("converts");
        assert_valid(&conv.objects);
        assert!(
            conv.warnings
                .iter()
                .any(|w| w.path == "Event.Object[0].Attribute" && w.message.contains(why)),
            "{template}: {:?}",
            conv.warnings
        );
        let kept =
            by_id(&conv.objects, &format!("x-misp-object--{uuid}")).expect("kept as MISP data");
        assert_eq!(
            kept["x_misp_attributes"].as_array().map(Vec::len),
            Some(attrs_len(template))
        );
        assert!(by_id(&conv.objects, &format!("network-traffic--{uuid}")).is_none());
    }
}

fn attrs_len(template: &str) -> usize {
    if template == "http-request" {
        4
    } else {
        2
    }
}

#[test]
fn process_without_pid_number_keeps_it_as_misp_property() {
    let uuid = "5e39776a-b284-40b3-8079-22fea964451a";
    let ev = event(
        json!([{"uuid": uuid, "name": "process", "meta-category": "misc", "Attribute": [
        attr("91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f", "pid", "text", "twelve"),
        attr("518b4bcb-a86b-4783-9457-391d548b605b", "command-line", "text", "sh -c id"),
        attr("34cb1a7c-55ec-412a-8684-ba4a88d83a45", "child-pid", "text", "7")]}]),
    );
    let conv = event_to_stix(&ev, &Options::default()).expect("converts");
    assert_valid(&conv.objects);
    let p = by_id(&conv.objects, &format!("process--{uuid}")).expect("process");
    assert_eq!(p["command_line"], "sh -c id");
    assert_eq!(p["x_misp_pid"], "twelve");
    assert!(p.get("pid").is_none());
    assert_eq!(
        p["child_refs"],
        json!(["process--34cb1a7c-55ec-412a-8684-ba4a88d83a45"])
    );
}

#[test]
fn objects_sharing_a_uuid_keep_the_first_and_warn_about_the_others() {
    let uuid = "5d234f25-539c-4d12-bf93-2c46a964451a";
    let account = |ty: &str, n: &str| {
        json!({"uuid": uuid, "name": "user-account", "meta-category": "misc", "Attribute": [
            attr(&format!("91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1{n}"), "username", "text", "iglocska"),
            attr(&format!("518b4bcb-a86b-4783-9457-391d548b605{n}"), "account-type", "text", ty)]})
    };
    let ev = event(json!([account("unix", "1"), account("windows-local", "2")]));
    let conv = event_to_stix(&ev, &Options::default()).expect("converts");
    let accounts: Vec<&Value> = conv
        .objects
        .iter()
        .filter(|o| o["type"] == "user-account")
        .collect();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["account_type"], "unix");
    let w: Vec<_> = conv.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(w, ["Event.Object[1].uuid"], "{:?}", conv.warnings);
}
