//! The task model as a user of it would check it.

use liaison_tasks::monitor::{self, level, EventKind};
use liaison_tasks::time::{fmt_ms, parse_ms};
use liaison_tasks::*;
use std::collections::BTreeMap;

const H: i64 = 3_600_000;
const ID: &str = "x-liaison-task--6f1c3a52-3a9b-4b8e-9d3e-5c1f2b3a4d5e";

fn t0() -> i64 {
    parse_ms("2026-11-02T08:00:00.000Z").unwrap()
}
fn dana() -> Party {
    Party::new("ministry", Some("cyber"), Some("dana"))
}
fn alice() -> Party {
    Party::new("cert", Some("analysis"), Some("alice"))
}
fn analysis() -> Party {
    Party::new("cert", Some("analysis"), None)
}

/// A task assigned at t0 to cert/analysis with `hours` to answer.
fn assigned(hours: i64) -> Task {
    let t = Task::draft(
        ID.into(),
        t0() - 1,
        "Who is behind GRIDSPIKE?",
        TaskType::Rfi,
        Priority::Urgent,
        dana(),
        t0() + hours * H,
    )
    .unwrap();
    apply(&t, &dana(), Action::Assign(vec![analysis()]), t0()).unwrap()
}

#[test]
fn full_life_cycle_each_change_a_later_version() {
    let t = assigned(24);
    assert_eq!(t.status, Status::Assigned);
    assert_eq!(t.assigned, Some(t0()));
    let a = apply(&t, &alice(), Action::Accept, t0() + H).unwrap();
    let b = apply(&a, &alice(), Action::Start, t0() + H).unwrap();
    assert!(
        b.modified > a.modified,
        "same-ms changes still make a new version"
    );
    let c = apply(
        &b,
        &alice(),
        Action::Answer(Some("note--1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d".into())),
        t0() + 5 * H,
    )
    .unwrap();
    assert_eq!(c.status, Status::Answered);
    assert_eq!(c.answered, Some(t0() + 5 * H));
    let d = apply(&c, &dana(), Action::Close, t0() + 6 * H).unwrap();
    assert_eq!(d.status, Status::Closed);
    assert!(d.status.is_final());
    assert_eq!(clock::on_time(&d), Some(true));
}

#[test]
fn illegal_transition_names_current_and_requested_status() {
    let t = assigned(24);
    let e = apply(&t, &dana(), Action::Close, t0() + H).unwrap_err();
    assert_eq!(
        e,
        TaskError::IllegalTransition {
            from: Status::Assigned,
            to: Status::Closed,
            allowed: vec![
                Status::Assigned,
                Status::Accepted,
                Status::Rejected,
                Status::Cancelled
            ],
        }
    );
    let msg = e.to_string();
    assert!(msg.contains("assigned") && msg.contains("closed"), "{msg}");
    // Answering before accepting.
    let e = apply(&t, &alice(), Action::Answer(None), t0() + H).unwrap_err();
    assert!(e.to_string().contains("cannot become answered"), "{e}");
    // Nothing moves out of a final status.
    let c = apply(&t, &dana(), Action::Cancel("overtaken".into()), t0() + H).unwrap();
    let e = apply(&c, &dana(), Action::Assign(vec![analysis()]), t0() + 2 * H).unwrap_err();
    assert!(e.to_string().contains("it is final"), "{e}");
}

#[test]
fn only_the_right_side_acts() {
    let t = assigned(24);
    // The requester cannot accept on the assignee's behalf.
    let e = apply(&t, &dana(), Action::Accept, t0() + H).unwrap_err();
    assert!(matches!(e, TaskError::NotPermitted { .. }), "{e}");
    assert!(e.to_string().contains("cert/analysis"), "{e}");
    // Someone of another unit of the assignee org is not an assignee.
    let bob = Party::new("cert", Some("soc"), Some("bob"));
    assert!(apply(&t, &bob, Action::Accept, t0() + H).is_err());
    // An assignee cannot close.
    let a = apply(&t, &alice(), Action::Accept, t0() + H).unwrap();
    let e = apply(&a, &alice(), Action::Cancel("no".into()), t0() + H).unwrap_err();
    assert!(e.to_string().contains("only the requester"), "{e}");
}

#[test]
fn deadline_in_the_past_is_refused() {
    let e = Task::draft(
        ID.into(),
        t0(),
        "x",
        TaskType::Analysis,
        Priority::Low,
        dana(),
        t0() - H,
    )
    .unwrap_err();
    assert!(matches!(e, TaskError::DeadlineInPast { .. }));
    assert!(e.to_string().contains("2026-11-02T07:00:00.000Z"), "{e}");
    let t = assigned(24);
    let e = apply(
        &t,
        &dana(),
        Action::Update(Update {
            deadline: Some(t0()),
            ..Default::default()
        }),
        t0() + H,
    )
    .unwrap_err();
    assert!(matches!(e, TaskError::DeadlineInPast { .. }));
}

#[test]
fn waiting_on_the_requester_pauses_the_clock() {
    let t = assigned(10);
    let t = apply(&t, &alice(), Action::Accept, t0() + H).unwrap();
    let t = apply(
        &t,
        &alice(),
        Action::Pause("need the logs".into()),
        t0() + 2 * H,
    )
    .unwrap();
    assert!(t.is_paused());
    // Four hours of waiting do not count.
    assert_eq!(clock::used_ms(&t, t0() + 6 * H), 2 * H);
    let e = apply(&t, &alice(), Action::Pause("again".into()), t0() + 3 * H).unwrap_err();
    assert!(e.to_string().contains("already paused"), "{e}");
    let t = apply(&t, &dana(), Action::Resume, t0() + 6 * H).unwrap();
    assert_eq!(t.paused[0].from, t0() + 2 * H);
    assert_eq!(t.paused[0].to, Some(t0() + 6 * H));
    assert_eq!(t.paused[0].reason, "need the logs");
    assert_eq!(clock::used_ms(&t, t0() + 8 * H), 4 * H);
    // The deadline moves by the pause: answered 13 h after assignment, 9 h used of 10.
    assert_eq!(clock::effective_deadline(&t, t0() + 8 * H), t0() + 14 * H);
    let t = apply(&t, &alice(), Action::Answer(None), t0() + 13 * H).unwrap();
    assert_eq!(clock::on_time(&t), Some(true));
    assert!(!t.is_overdue(t0() + 13 * H));
}

#[test]
fn stix_form_round_trips_and_validates() {
    let mut t = assigned(24);
    t.paused.push(Pause {
        from: t0() + H,
        to: Some(t0() + 2 * H),
        reason: "waiting".into(),
    });
    t.object_refs
        .push("malware--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".into());
    let v = t.to_stix(None);
    assert_eq!(v["type"], TASK_TYPE);
    assert_eq!(v["deadline"], "2026-11-03T08:00:00.000Z");
    assert_eq!(v["requester"]["user"], "dana");
    assert_eq!(
        v["extensions"][TASK_EXTENSION_ID]["extension_type"],
        "new-sdo"
    );
    let obj = liaison_stix::StixObject::from_value(v.clone()).unwrap();
    let errors: Vec<_> = liaison_stix::validate(&obj)
        .into_iter()
        .filter(|e| e.severity == liaison_stix::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(Task::from_stix(&v).unwrap(), t);
    let def = liaison_stix::StixObject::from_value(task_extension_definition()).unwrap();
    assert!(liaison_stix::validate(&def)
        .iter()
        .all(|e| e.severity != liaison_stix::Severity::Error));
    // Extra properties (label extension, markings) are kept.
    let mut extra = serde_json::Map::new();
    extra.insert("created_by_ref".into(), serde_json::json!("identity--x"));
    let v2 = t.to_stix(Some(&extra));
    assert_eq!(v2["created_by_ref"], "identity--x");
    let e = Task::from_stix(&serde_json::json!({"type": "x-liaison-task", "id": "x"})).unwrap_err();
    assert!(e.to_string().contains("missing field"), "{e}");
}

#[test]
fn templates_give_default_deadlines_and_take_overrides() {
    let d = Templates::default();
    assert_eq!(d.hours(TaskType::Rfi, Priority::Urgent), 24);
    assert_eq!(d.hours(TaskType::JointResponse, Priority::Urgent), 72);
    assert_eq!(
        d.deadline(TaskType::Rfi, Priority::Urgent, t0()),
        t0() + 24 * H
    );
    let mut o = BTreeMap::new();
    o.insert("urgent".to_string(), 12);
    o.insert("joint_response.urgent".to_string(), 48);
    let t = Templates::with_overrides(&o, Some(&[0.25, 0.75])).unwrap();
    assert_eq!(t.hours(TaskType::Analysis, Priority::Urgent), 12);
    assert_eq!(t.hours(TaskType::JointResponse, Priority::Urgent), 48);
    assert_eq!(t.warn_fractions, vec![0.25, 0.75]);
    o.insert("urgnet".to_string(), 1);
    let e = Templates::with_overrides(&o, None).unwrap_err();
    assert!(e.to_string().contains("tasks.deadlines.urgnet"), "{e}");
    assert!(Templates::with_overrides(&BTreeMap::new(), Some(&[0.8, 0.5])).is_err());
}

#[test]
fn parse_inputs() {
    assert_eq!(parse_deadline("24h", t0()).unwrap(), t0() + 24 * H);
    assert_eq!(
        parse_deadline("2026-11-05T00:00:00Z", t0()).unwrap(),
        parse_ms("2026-11-05T00:00:00.000Z").unwrap()
    );
    assert!(parse_deadline("tomorrow", t0()).is_err());
    assert_eq!(
        Party::parse("ministry/cyber:dana").unwrap(),
        Party::new("ministry", Some("cyber"), Some("dana"))
    );
    assert_eq!(Party::parse("cert:alice").unwrap().unit, None);
    assert!(Party::parse("/x").is_err());
    assert_eq!(
        "joint-response".parse::<TaskType>().unwrap(),
        TaskType::JointResponse
    );
    let e = "sometime".parse::<Priority>().unwrap_err();
    assert!(e.to_string().contains("urgent, high, normal, low"), "{e}");
    assert_eq!(fmt_ms(t0()), "2026-11-02T08:00:00.000Z");
}

#[test]
fn monitor_warns_at_fractions_and_escalates_once() {
    let heads =
        |org: &str, unit: &str| (org == "cert" && unit == "analysis").then(|| "carol".to_string());
    let t = assigned(10);
    let mut m = Monitor::new(&[0.5, 0.8]);
    assert!(m.check([&t], t0() + 4 * H).is_empty());
    let e = m.check([&t], t0() + 5 * H);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].kind, EventKind::Warn { fraction: 0.5 });
    // Warnings go to the unit (its head, no user being named) and the requester.
    assert_eq!(
        monitor::recipients(&t, e[0].kind, &heads),
        vec![Party::new("cert", Some("analysis"), Some("carol")), dana()]
    );
    // Not again.
    assert!(m.check([&t], t0() + 6 * H).is_empty());
    let e = m.check([&t], t0() + 8 * H);
    assert_eq!(e[0].kind, EventKind::Warn { fraction: 0.8 });
    let e = m.check([&t], t0() + 10 * H + 1);
    assert_eq!(e[0].kind, EventKind::Breach);
    assert!(m.check([&t], t0() + 20 * H).is_empty());
    // A breach with a named assignee goes to them, the unit head and the requester.
    let mut t2 = assigned(10);
    t2.assignees = vec![alice()];
    let e = Monitor::new(&[0.5]).check([&t2], t0() + 11 * H);
    assert_eq!(
        e.len(),
        1,
        "only the highest level when several were crossed"
    );
    assert_eq!(e[0].kind, EventKind::Breach);
    assert_eq!(
        monitor::recipients(&t2, e[0].kind, &heads),
        vec![
            alice(),
            Party::new("cert", Some("analysis"), Some("carol")),
            dana()
        ]
    );
    // A new deadline starts the levels again; a paused clock does not advance.
    let t3 = apply(
        &t,
        &dana(),
        Action::Update(Update {
            deadline: Some(t0() + 40 * H),
            ..Default::default()
        }),
        t0() + 20 * H,
    )
    .unwrap();
    let e = m.check([&t3], t0() + 21 * H);
    assert_eq!(e[0].kind, EventKind::Warn { fraction: 0.5 });
    let a = apply(&assigned(10), &alice(), Action::Accept, t0()).unwrap();
    let p = apply(&a, &alice(), Action::Pause("q".into()), t0() + H).unwrap();
    assert_eq!(level(&p, t0() + 30 * H, &[0.5, 0.8]), 0);
    // Closed tasks raise nothing.
    let c = apply(&t, &dana(), Action::Cancel("x".into()), t0()).unwrap();
    assert!(Monitor::new(&[0.5]).check([&c], t0() + 50 * H).is_empty());
}

#[test]
fn quarter_parsing_and_bounds() {
    let q = Quarter::parse("2026Q4").unwrap();
    assert_eq!(fmt_ms(q.start_ms()), "2026-10-01T00:00:00.000Z");
    assert_eq!(fmt_ms(q.end_ms()), "2027-01-01T00:00:00.000Z");
    assert_eq!(Quarter::of(t0()), q);
    assert!(Quarter::parse("2026Q5").is_err());
    assert_eq!(Quarter::parse("2026-q1").unwrap().to_string(), "2026Q1");
}

/// Tasks with known cycles: the figures a leader would compute by hand.
#[test]
fn stats_on_known_cycles() {
    let mk = |i: u32, org: &str, unit: &str, prio: Priority, cycle_h: i64, budget_h: i64| {
        let id = format!("x-liaison-task--6f1c3a52-3a9b-4b8e-9d3e-{i:012}");
        let t = Task::draft(
            id,
            t0() - 1,
            "t",
            TaskType::Rfi,
            prio,
            dana(),
            t0() + budget_h * H,
        )
        .unwrap();
        let p = Party::new(org, Some(unit), None);
        let t = apply(&t, &dana(), Action::Assign(vec![p.clone()]), t0()).unwrap();
        let actor = Party::new(org, Some(unit), Some("u"));
        let t = apply(&t, &actor, Action::Accept, t0()).unwrap();
        if cycle_h > 0 {
            apply(&t, &actor, Action::Answer(None), t0() + cycle_h * H).unwrap()
        } else {
            t
        }
    };
    let tasks = vec![
        // cert/analysis: cycles 2, 4, 6, 30 h with 24 h budgets: 3 of 4 on time.
        mk(1, "cert", "analysis", Priority::Urgent, 2, 24),
        mk(2, "cert", "analysis", Priority::Urgent, 4, 24),
        mk(3, "cert", "analysis", Priority::Urgent, 6, 24),
        mk(4, "cert", "analysis", Priority::Urgent, 30, 24),
        // isac/soc: cycle 10 h of 72, and one open task past its deadline.
        mk(5, "isac", "soc", Priority::High, 10, 72),
        mk(6, "isac", "soc", Priority::High, 0, 72),
    ];
    let now = t0() + 100 * H;
    let s = stats(&tasks, Quarter::parse("2026Q4").unwrap(), now);
    assert_eq!(s.quarter, "2026Q4");
    assert_eq!(s.overall.completed, 5);
    assert_eq!(s.overall.on_time, 4);
    assert_eq!(s.overall.on_time_rate, Some(0.8));
    assert_eq!(s.overall.cycle_median_hours, Some(6.0));
    assert_eq!(s.overall.cycle_p90_hours, Some(30.0));
    assert_eq!(s.overall.backlog, 1);
    assert_eq!(s.overall.overdue, 1);
    let cert = &s.by_org["cert"];
    assert_eq!((cert.completed, cert.on_time), (4, 3));
    assert_eq!(cert.cycle_median_hours, Some(5.0));
    assert_eq!(cert.cycle_p90_hours, Some(30.0));
    assert_eq!(s.by_unit["isac/soc"].backlog, 1);
    assert_eq!(s.by_priority["high"].completed, 1);
    assert_eq!(s.by_type["rfi"].completed, 5);
    // Another quarter has none of these completions; the open one is in its backlog only
    // if it was assigned by then.
    let s = stats(&tasks, Quarter::parse("2026Q3").unwrap(), now);
    assert_eq!(s.overall.completed, 0);
    assert_eq!(s.overall.backlog, 0);
    assert_eq!(s.overall.on_time_rate, None);
}
