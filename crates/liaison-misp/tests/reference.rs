//! Our MISP → STIX conversion against misp-stix's reference conversion of
//! the 129 events of its test suite (fixtures: see tests/fixtures/NOTICE.md).
//!
//! For every event we compare four things with the reference bundle:
//! - indicators: the same ids, each with the same pattern (compared as the
//!   set of its comparisons, so whitespace, parentheses and order do not count);
//! - observables: the same cyber-observables (type, id and every property);
//! - relationships: the same (source, type, target) triples;
//! - the report/grouping: the same type and `object_refs` set.
//!
//! Where we knowingly differ, the difference is listed in `EXPECTED` with the
//! reason. The test fails on any difference not listed there, and on any
//! listed difference that no longer occurs (so the table stays true).

use liaison_misp::{event_to_stix, Options};
use liaison_stix::{validate::errors, StixObject};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// (event file stem, kind, reason).
const EXPECTED: &[(&str, &str, &str)] = &[
    (
        "event_with_cpe_asset_object",
        "observables",
        "language codes lowercased (ENG -> eng): the OASIS validator rejects ENG as an RFC 5646 tag; misp-stix keeps it",
    ),
    (
        "event_with_email_with_display_names_object",
        "observables",
        "we pair display names with addresses by position when their counts match; misp-stix leaves the cc name (Marie Curie, for diana.prince@dc.us) unpaired as x_misp_cc_display_name",
    ),
    (
        "event_with_escaped_values_v20",
        "indicators",
        "values that make invalid STIX (quoted IPs, bad MAC, hive abbreviations, non-base64 payloads) are kept as x-misp-attribute/x-misp-object with a warning; misp-stix emits them invalid or drops them",
    ),
    (
        "event_with_escaped_values_v20",
        "observables",
        "values that make invalid STIX (quoted IPs, bad MAC, hive abbreviations, non-base64 payloads) are kept as x-misp-attribute/x-misp-object with a warning; misp-stix emits them invalid or drops them",
    ),
    (
        "event_with_escaped_values_v20",
        "relationships",
        "values that make invalid STIX (quoted IPs, bad MAC, hive abbreviations, non-base64 payloads) are kept as x-misp-attribute/x-misp-object with a warning; misp-stix emits them invalid or drops them",
    ),
    (
        "event_with_escaped_values_v20",
        "report",
        "values that make invalid STIX (quoted IPs, bad MAC, hive abbreviations, non-base64 payloads) are kept as x-misp-attribute/x-misp-object with a warning; misp-stix emits them invalid or drops them",
    ),
    (
        "event_with_escaped_values_v21",
        "indicators",
        "same as event_with_escaped_values_v20",
    ),
    (
        "event_with_escaped_values_v21",
        "observables",
        "same as event_with_escaped_values_v20",
    ),
    (
        "event_with_escaped_values_v21",
        "relationships",
        "same as event_with_escaped_values_v20",
    ),
    (
        "event_with_escaped_values_v21",
        "report",
        "same as event_with_escaped_values_v20",
    ),
    (
        "event_with_file_object",
        "observables",
        "misp-stix puts the attribute UUID as `data` of an attachment without data; we keep the value only",
    ),
    (
        "event_with_http_request_object",
        "observables",
        "HTTP request header values are lists of strings, as the OASIS validator requires; misp-stix writes plain strings",
    ),
    (
        "event_with_regkey_attribute",
        "indicators",
        "hive abbreviation HKLM expanded to HKEY_LOCAL_MACHINE (a STIX 2.1 MUST); misp-stix keeps HKLM",
    ),
    (
        "event_with_regkey_attribute",
        "observables",
        "hive abbreviation HKLM expanded to HKEY_LOCAL_MACHINE (a STIX 2.1 MUST); misp-stix keeps HKLM",
    ),
    (
        "event_with_regkey_value_attribute",
        "indicators",
        "hive expanded as above; misp-stix also escapes % in the pattern value (\\%DATA\\%), which changes the matched string",
    ),
    (
        "event_with_regkey_value_attribute",
        "observables",
        "hive expanded as above; misp-stix also escapes % in the pattern value (\\%DATA\\%), which changes the matched string",
    ),
    (
        "event_with_user_account_objects",
        "observables",
        "three user-account objects share one UUID: misp-stix emits three observables with the same id; we keep the first (an id names one object) and warn about the others",
    ),
];

/// The comparisons of a pattern, for order- and layout-insensitive comparison:
/// `[a = 'x' AND (b = 'y')]` → {"a = 'x'", "b = 'y'"}.
fn comparisons(pattern: &str, pattern_type: &str) -> BTreeSet<String> {
    if pattern_type != "stix" {
        // misp-stix wraps rules of other languages in brackets; the rule is what counts.
        let p = pattern.trim();
        let p = p
            .strip_prefix('[')
            .and_then(|p| p.strip_suffix(']'))
            .unwrap_or(p);
        return BTreeSet::from([p.split_whitespace().collect::<Vec<_>>().join(" ")]);
    }
    let mut out = BTreeSet::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut chars = pattern.chars().peekable();
    let flush = |cur: &mut String, out: &mut BTreeSet<String>| {
        let t = cur.split_whitespace().collect::<Vec<_>>().join(" ");
        let t = t
            .trim()
            .trim_end_matches(" AND")
            .trim_end_matches(" OR")
            .trim()
            .to_string();
        if !t.is_empty() && t != "AND" && t != "OR" {
            out.insert(t);
        }
        cur.clear();
    };
    while let Some(c) = chars.next() {
        if in_quote {
            cur.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            } else if c == '\'' {
                in_quote = false;
            }
            continue;
        }
        match c {
            '\'' => {
                in_quote = true;
                cur.push(c);
            }
            // `[*]` and `[0]` are list steps of an object path, not observation brackets.
            '[' if matches!(chars.peek(), Some('*') | Some('0'..='9')) => {
                cur.push(c);
                for n in chars.by_ref() {
                    cur.push(n);
                    if n == ']' {
                        break;
                    }
                }
            }
            '[' | ']' | '(' | ')' => flush(&mut cur, &mut out),
            _ => {
                cur.push(c);
                for kw in [" AND ", " OR "] {
                    if cur.ends_with(kw) {
                        let keep = cur.len() - kw.len();
                        cur.truncate(keep);
                        flush(&mut cur, &mut out);
                    }
                }
            }
        }
    }
    flush(&mut cur, &mut out);
    out
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<_, _> = m.iter().map(|(k, v)| (k.clone(), canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[derive(Default)]
struct Facts {
    indicators: BTreeMap<String, BTreeSet<String>>,
    observables: BTreeSet<String>,
    relationships: BTreeSet<(String, String, String)>,
    container: Option<(String, BTreeSet<String>)>,
}

fn facts(objects: &[Value]) -> Facts {
    let mut f = Facts::default();
    for o in objects {
        let ty = o["type"].as_str().unwrap_or_default();
        let id = o["id"].as_str().unwrap_or_default().to_string();
        match ty {
            "indicator" => {
                let pt = o["pattern_type"].as_str().unwrap_or("stix");
                let p = o["pattern"].as_str().unwrap_or_default();
                f.indicators.insert(id, comparisons(p, pt));
            }
            "relationship" => {
                f.relationships.insert((
                    o["source_ref"].as_str().unwrap_or_default().into(),
                    o["relationship_type"].as_str().unwrap_or_default().into(),
                    o["target_ref"].as_str().unwrap_or_default().into(),
                ));
            }
            "report" | "grouping" => {
                let refs = o["object_refs"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                f.container = Some((ty.to_string(), refs));
            }
            _ if liaison_stix::category_of(ty) == liaison_stix::Category::Sco => {
                let mut c = o.clone();
                if let Some(m) = c.as_object_mut() {
                    m.remove("spec_version");
                }
                f.observables.insert(canonical(&c).to_string());
            }
            _ => {}
        }
    }
    f
}

/// The differences of one event, by kind, with a short description.
fn differences(ours: &Facts, theirs: &Facts) -> BTreeMap<&'static str, String> {
    let mut d = BTreeMap::new();
    if ours.indicators != theirs.indicators {
        let mut why = vec![];
        for (id, p) in &theirs.indicators {
            match ours.indicators.get(id) {
                None => why.push(format!("missing {id}")),
                Some(q) if q != p => why.push(format!(
                    "{id}: ours {:?} vs reference {:?}",
                    q.difference(p).collect::<Vec<_>>(),
                    p.difference(q).collect::<Vec<_>>()
                )),
                _ => {}
            }
        }
        for id in ours.indicators.keys() {
            if !theirs.indicators.contains_key(id) {
                why.push(format!("extra {id}"));
            }
        }
        d.insert("indicators", why.join("; "));
    }
    if ours.observables != theirs.observables {
        d.insert(
            "observables",
            format!(
                "ours only {:?}; reference only {:?}",
                ours.observables
                    .difference(&theirs.observables)
                    .collect::<Vec<_>>(),
                theirs
                    .observables
                    .difference(&ours.observables)
                    .collect::<Vec<_>>()
            ),
        );
    }
    if ours.relationships != theirs.relationships {
        d.insert(
            "relationships",
            format!(
                "ours only {:?}; reference only {:?}",
                ours.relationships
                    .difference(&theirs.relationships)
                    .collect::<Vec<_>>(),
                theirs
                    .relationships
                    .difference(&ours.relationships)
                    .collect::<Vec<_>>()
            ),
        );
    }
    if ours.container != theirs.container {
        let (ot, or) = ours.container.clone().unwrap_or_default();
        let (tt, tr) = theirs.container.clone().unwrap_or_default();
        d.insert(
            "report",
            format!(
                "{ot} vs {tt}; ours only {:?}; reference only {:?}",
                or.difference(&tr).collect::<Vec<_>>(),
                tr.difference(&or).collect::<Vec<_>>()
            ),
        );
    }
    d
}

fn fixture_events() -> Vec<(String, Value, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = vec![];
    let mut names: Vec<_> = std::fs::read_dir(dir.join("events"))
        .expect("fixtures/events")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    for n in names {
        let read = |sub: &str| -> Value {
            let text = std::fs::read_to_string(dir.join(sub).join(&n)).expect("fixture");
            serde_json::from_str(&text).expect("fixture JSON")
        };
        out.push((
            n.trim_end_matches(".json").to_string(),
            read("events"),
            read("events_stix21"),
        ));
    }
    out
}

#[test]
fn agrees_with_misp_stix_reference_conversion() {
    let events = fixture_events();
    assert_eq!(events.len(), 129, "the 129 events of the misp-stix suite");
    let mut actual: BTreeMap<(String, &'static str), String> = BTreeMap::new();
    let mut agreeing = 0;
    for (name, event, reference) in &events {
        let conv =
            event_to_stix(event, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs = facts(reference["objects"].as_array().expect("bundle objects"));
        let ours = facts(&conv.objects);
        let d = differences(&ours, &theirs);
        if d.is_empty() {
            agreeing += 1;
        }
        for (kind, why) in d {
            actual.insert((name.clone(), kind), why);
        }
    }
    let expected: BTreeSet<(String, &str)> = EXPECTED
        .iter()
        .map(|(e, k, _)| (e.to_string(), *k))
        .collect();
    let unlisted: Vec<String> = actual
        .iter()
        .filter(|(k, _)| !expected.contains(&(k.0.clone(), k.1)))
        .map(|((e, k), why)| format!("  ({e:?}, {k:?}): {why}"))
        .collect();
    let gone: Vec<String> = expected
        .iter()
        .filter(|(e, k)| !actual.contains_key(&(e.clone(), *k)))
        .map(|(e, k)| format!("  ({e:?}, {k:?})"))
        .collect();
    println!(
        "agreement: {agreeing} of {} events agree fully with the reference",
        events.len()
    );
    assert!(
        unlisted.is_empty() && gone.is_empty(),
        "unlisted differences:\n{}\nlisted differences that no longer occur:\n{}",
        unlisted.join("\n"),
        gone.join("\n")
    );
}

#[test]
fn every_converted_object_passes_the_stix_validator() {
    for (name, event, _) in fixture_events() {
        let conv = event_to_stix(&event, &Options::default()).expect("converts");
        for o in conv.objects {
            let obj =
                StixObject::from_value(o.clone()).unwrap_or_else(|e| panic!("{name}: {e}: {o}"));
            let errs = errors(&obj);
            assert!(errs.is_empty(), "{name}: {} invalid: {errs:?}", obj.id());
        }
    }
}

#[test]
fn conversion_is_deterministic() {
    for (name, event, _) in fixture_events() {
        let a = event_to_stix(&event, &Options::default()).expect("converts");
        let b = event_to_stix(&event, &Options::default()).expect("converts");
        assert_eq!(a.objects, b.objects, "{name}");
    }
}

#[test]
fn pattern_comparisons_ignore_order_and_parentheses() {
    assert_eq!(
        comparisons("[(a:b = 'x') AND c:d = 'it\\'s (AND)']", "stix"),
        comparisons("[c:d = 'it\\'s (AND)' AND a:b = 'x']", "stix")
    );
    assert_ne!(
        comparisons("[a:b = 'x']", "stix"),
        comparisons("[a:b = 'y']", "stix")
    );
}
