//! Alerts from screening hits: sightings, alert labels, bursts, triage.

use liaison_policy::{Label, Level, Releasability};
use liaison_tasks::alert::*;
use liaison_tasks::time::parse_ms;
use std::collections::BTreeSet;

fn day() -> i64 {
    parse_ms("2026-11-02T00:00:00.000Z").unwrap()
}

fn label(level: u16, comps: &[&str], owner: &str, rel: &[&str]) -> Label {
    Label {
        level: Level(level),
        compartments: comps.iter().map(|s| s.to_string()).collect(),
        tlp: Default::default(),
        owner: Some(owner.into()),
        releasable_to: Releasability::to(rel.iter().copied()),
    }
}

fn hit<'a>(rule: &'a str, source: &'a str, at_ms: i64, severity: Severity) -> HitRef<'a> {
    HitRef {
        rule,
        source,
        at_ms,
        severity,
    }
}

#[test]
fn hits_become_one_sighting_per_rule_source_and_day() {
    let mut agg = Aggregator::new(
        |_: &str| label(0, &[], "cert", &["ministry"]),
        |_: &str| label(0, &[], "cert", &["ministry"]),
    );
    let h = 3_600_000;
    agg.push(&hit(
        "term:gridspike",
        "news",
        day() + 5 * h,
        Severity::Medium,
    ));
    agg.push(&hit(
        "term:gridspike",
        "news",
        day() + 2 * h,
        Severity::High,
    ));
    agg.push(&hit("term:gridspike", "news", day() + 9 * h, Severity::Low));
    agg.push(&hit(
        "term:gridspike",
        "news",
        day() + 26 * h,
        Severity::Low,
    )); // next day
    agg.push(&hit("term:gridspike", "sensor", day() + h, Severity::Low));
    agg.push(&hit("indicator--x", "news", day() + h, Severity::Critical));
    // Hits folded elsewhere (a screening worker) count as many.
    agg.push_folded(
        &hit("term:gridspike", "news", day() + 3 * h, Severity::Low),
        10,
        day() + 4 * h,
    );
    assert_eq!(agg.hits(), 16);
    let s = agg.sightings();
    assert_eq!(s.len(), 4);
    let first = s
        .iter()
        .find(|s| s.rule == "term:gridspike" && s.source == "news" && s.day_ms == day())
        .unwrap();
    assert_eq!(first.count, 13);
    assert_eq!(first.first_seen, day() + 2 * h);
    assert_eq!(first.last_seen, day() + 9 * h);
    assert_eq!(first.severity, Severity::High);
    let alerts = agg.alerts();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].rule, "indicator--x", "highest severity first");
    assert_eq!(alerts[1].count, 15);
    assert_eq!(alerts[1].sources, vec!["news", "sensor"]);
    assert_eq!(alerts[1].first_seen, day() + h);
    assert_eq!(alerts[1].last_seen, day() + 26 * h);
    // The STIX sighting: count, first/last seen, a stable id across re-aggregation.
    let v = sighting_object(
        first,
        "indicator--1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        Some("identity--9c2bd3a8-3b8e-4a53-8f33-4b9d9e4f5a01"),
        day() + 10 * h,
    );
    assert_eq!(v["type"], "sighting");
    assert_eq!(v["count"], 13);
    assert_eq!(v["first_seen"], "2026-11-02T02:00:00.000Z");
    assert_eq!(v["last_seen"], "2026-11-02T09:00:00.000Z");
    let v2 = sighting_object(
        first,
        "indicator--1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        None,
        day() + 11 * h,
    );
    assert_eq!(v["id"], v2["id"]);
    assert_ne!(v["modified"], v2["modified"]);
    let obj = liaison_stix::StixObject::from_value(v).unwrap();
    let errs: Vec<_> = liaison_stix::validate(&obj)
        .into_iter()
        .filter(|e| e.severity == liaison_stix::Severity::Error)
        .collect();
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn an_alert_label_is_the_join_of_rule_and_source_labels() {
    let mut agg = Aggregator::new(
        |rule: &str| {
            if rule == "term:substation" {
                label(3, &["GRID"], "cert", &["ministry", "isac"])
            } else {
                label(0, &[], "cert", &[])
            }
        },
        |source: &str| {
            if source == "sensor-net" {
                label(2, &["TELCO"], "cert", &["ministry"])
            } else {
                Label::public(Some("cert".into()))
            }
        },
    );
    agg.push(&hit("term:substation", "sensor-net", day(), Severity::Low));
    agg.push(&hit("term:substation", "news", day(), Severity::Low));
    let a = &agg.alerts()[0];
    assert_eq!(a.label.level, Level(3));
    let comps: BTreeSet<String> = ["GRID", "TELCO"].iter().map(|s| s.to_string()).collect();
    assert_eq!(a.label.compartments, comps);
    // Readable only by those both may read: cert (owner) and ministry.
    assert!(a.label.readable_by_org("cert"));
    assert!(a.label.readable_by_org("ministry"));
    assert!(!a.label.readable_by_org("isac"));
    // The per-source sighting from the public source carries the rule's label only.
    let s = agg
        .sightings()
        .into_iter()
        .find(|s| s.source == "news")
        .unwrap();
    assert_eq!(s.label.level, Level(3));
    assert!(s.label.readable_by_org("isac"));
}

#[test]
fn a_burst_far_above_the_baseline_raises_one_early_warning() {
    let cfg = BurstConfig {
        bucket_ms: 60_000,
        window: 10,
        factor: 5.0,
        min_count: 10,
        warmup: 30,
        alpha: 0.05,
    };
    let mut d = BurstDetector::new(cfg);
    let t0 = day();
    // Two hours of a steady two mentions a minute: no warning.
    let mut raised = Vec::new();
    for m in 0..120 {
        for k in 0..2 {
            raised.extend(d.observe("substation", t0 + m * 60_000 + k * 1000));
        }
    }
    assert!(raised.is_empty(), "{raised:?}");
    // Then 30 a minute: a warning within the first minutes, once.
    for m in 120..130 {
        for k in 0..30 {
            raised.extend(d.observe("substation", t0 + m * 60_000 + k * 1000));
        }
    }
    assert_eq!(raised.len(), 1, "{raised:?}");
    let b = &raised[0];
    assert_eq!(b.key, "substation");
    assert!(b.window_count as f64 >= 5.0 * b.expected);
    assert!(
        (b.expected - 20.0).abs() < 2.0,
        "baseline ~2/min × 10: {}",
        b.expected
    );
    // Another term at its usual rate stays quiet; a new term is not judged before warm-up.
    for m in 0..20 {
        for k in 0..50 {
            assert!(d.observe("new-term", t0 + m * 60_000 + k * 100).is_none());
        }
    }
}

#[test]
fn triage_moves_and_refusals() {
    let new = Triage::New;
    let ack = new
        .advance(Triage::Acknowledged { by: "alice".into() })
        .unwrap();
    let e = ack
        .advance(Triage::Dismissed {
            by: "alice".into(),
            reason: " ".into(),
        })
        .unwrap_err();
    assert!(e.contains("needs a reason"), "{e}");
    let dis = ack
        .advance(Triage::Dismissed {
            by: "alice".into(),
            reason: "test traffic".into(),
        })
        .unwrap();
    let e = dis
        .advance(Triage::Escalated {
            by: "alice".into(),
            task_ref: "x-liaison-task--1".into(),
        })
        .unwrap_err();
    assert_eq!(e, "an alert that is dismissed cannot become escalated");
    let esc = new
        .advance(Triage::Escalated {
            by: "bob".into(),
            task_ref: "x-liaison-task--1".into(),
        })
        .unwrap();
    let pro = esc
        .advance(Triage::Promoted {
            by: "bob".into(),
            object_refs: vec!["indicator--1".into()],
        })
        .unwrap();
    assert!(ack
        .advance(Triage::Acknowledged { by: "x".into() })
        .is_err());
    let a = accuracy([&dis, &pro, &esc, &new, &dis]);
    assert_eq!((a.true_positives, a.false_positives), (2, 2));
    assert_eq!(a.precision, Some(0.5));
    assert_eq!(a.reasons, vec![("test traffic".to_string(), 2)]);
}
