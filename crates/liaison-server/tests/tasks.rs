//! Tasks, alerts and notifications over the REST API, the deadline monitor and the
//! webhook sender: what a requester, an assignee, a unit head and an outsider see.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use liaison_policy::{Label, Policy, Releasability, Role, Subject, Tlp};
use liaison_server::tasks_api::{MonitorSettings, TasksSetup, Webhook};
use liaison_server::{app, monitor, notify, AppState, AuthDb, Directory, Scope, Settings};
use liaison_stix::StixObject;
use liaison_store::{ImportOptions, Prepared, SqliteStore, Store};
use liaison_tasks::directory::{OrgEntry, UnitEntry};
use liaison_tasks::ops::task_object;
use liaison_tasks::{apply, Action, Party, Priority, Task, TaskType, Templates};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

const H: i64 = 3_600_000;
const ABSENT_TASK: &str = "x-liaison-task--00000000-0000-4000-8000-000000000000";
const ABSENT_ALERT: &str = "x-liaison-alert--00000000-0000-4000-8000-000000000000";

struct Fx {
    app: Router,
    state: AppState,
    store: Arc<SqliteStore>,
    policy: Policy,
    users: HashMap<String, Subject>,
    tokens: HashMap<String, String>,
    setup: TasksSetup,
}

struct Resp {
    status: StatusCode,
    text: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

fn subjects(policy: &Policy) -> Vec<Subject> {
    let mk = |name: &str, org: &str, unit: Option<&str>, level: &str, role: Role| {
        let comps: Vec<&str> = if level == "UNCLASSIFIED" {
            vec![]
        } else {
            vec!["GRID"]
        };
        let mut s = policy.subject(name, org, level, comps, [role]).unwrap();
        s.unit = unit.map(String::from);
        s
    };
    vec![
        mk("dana", "ministry", Some("cyber"), "SECRET", Role::Analyst),
        mk("alice", "cert", Some("analysis"), "SECRET", Role::Analyst),
        mk("carol", "cert", Some("analysis"), "SECRET", Role::Analyst),
        // In the assignee unit, but not cleared for SECRET tasks.
        mk(
            "low",
            "cert",
            Some("analysis"),
            "UNCLASSIFIED",
            Role::Analyst,
        ),
        // Cleared, but of another organization.
        mk("eve", "isac", None, "SECRET", Role::Analyst),
        mk("admin", "cert", None, "TOP SECRET", Role::Admin),
    ]
}

fn setup(users: &[Subject], webhooks: Vec<Webhook>) -> TasksSetup {
    let unit = |id: &str, head: &str| UnitEntry {
        id: id.into(),
        head: Some(head.into()),
    };
    TasksSetup {
        directory: liaison_tasks::Directory {
            orgs: vec![
                OrgEntry {
                    id: "ministry".into(),
                    units: vec![unit("cyber", "dana")],
                },
                OrgEntry {
                    id: "cert".into(),
                    units: vec![unit("analysis", "carol")],
                },
                OrgEntry {
                    id: "isac".into(),
                    units: vec![],
                },
            ],
            users: users.to_vec(),
        },
        templates: Templates::default(),
        monitor: MonitorSettings {
            interval: Duration::from_secs(3600),
            webhooks,
            secret: Some(b"hook secret".to_vec()),
            retry_base: Duration::from_millis(50),
            max_attempts: 3,
        },
    }
}

fn fixture_with(webhooks: Vec<Webhook>) -> Fx {
    let policy = Policy::new(["UNCLASSIFIED", "SECRET", "TOP SECRET"], ["GRID"]).unwrap();
    let store = Arc::new(SqliteStore::open_in_memory(policy.clone()).unwrap());
    let subs = subjects(&policy);
    let auth = AuthDb::open_in_memory().unwrap();
    let mut tokens = HashMap::new();
    for s in &subs {
        let (_, secret) = auth
            .create_token(&s.name, "test", Scope::Admin, None)
            .unwrap();
        tokens.insert(s.name.clone(), secret);
    }
    let setup = setup(&subs, webhooks);
    let state = AppState::new(
        store.clone(),
        auth,
        Directory::new(subs.clone()),
        Settings::default(),
    )
    .with_tasks(setup.clone());
    Fx {
        app: app(state.clone()),
        state,
        store,
        policy,
        users: subs.into_iter().map(|s| (s.name.clone(), s)).collect(),
        tokens,
        setup,
    }
}

fn fixture() -> Fx {
    fixture_with(vec![])
}

impl Fx {
    async fn call(&self, method: &str, uri: &str, user: &str, body: Option<&Value>) -> Resp {
        let b = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.tokens[user]));
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A SECRET//GRID task of the ministry, assigned to cert/analysis.
    async fn secret_task(&self) -> String {
        let r = self
            .call(
                "POST",
                "/api/v1/tasks",
                "dana",
                Some(&json!({
                    "title": "Who is behind GRIDSPIKE?",
                    "type": "rfi", "priority": "urgent",
                    "assignees": ["cert/analysis"],
                    "label": "SECRET//GRID//REL TO cert"
                })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json()["object"]["id"].as_str().unwrap().to_string()
    }

    fn dana_versions(&self, id: &str) -> usize {
        self.store.versions(&self.users["dana"], id).unwrap().len()
    }

    /// Import objects as a user (labels from their extensions).
    fn import(&self, user: &str, objs: Vec<StixObject>) {
        let opts = ImportOptions {
            strict: true,
            ..Default::default()
        };
        self.store
            .import(
                &self.users[user],
                &mut objs.into_iter().map(|o| Ok(Prepared::new(o))),
                &opts,
                &mut |_| {},
            )
            .unwrap();
    }

    fn secret_label(&self, owner: &str, rel: &[&str]) -> Label {
        self.policy
            .label(
                "SECRET",
                ["GRID"],
                Tlp::Clear,
                owner,
                Releasability::to(rel.iter().copied()),
            )
            .unwrap()
    }

    /// A task of the ministry assigned to cert/analysis `age_h` hours ago with a
    /// budget of `budget_h` hours, stored directly (times in the past).
    fn aged_task(&self, n: u32, age_h: i64, budget_h: i64) -> String {
        let now = liaison_stix::Timestamp::now().millis();
        let created = now - age_h * H;
        let id = format!("x-liaison-task--00000000-0000-4000-8000-{n:012}");
        let req = Party::new("ministry", Some("cyber"), Some("dana"));
        let t = Task::draft(
            id.clone(),
            created,
            &format!("Task {n}"),
            TaskType::Rfi,
            Priority::Urgent,
            req.clone(),
            created + budget_h * H,
        )
        .unwrap();
        let t = apply(
            &t,
            &req,
            Action::Assign(vec![Party::new("cert", Some("analysis"), None)]),
            created,
        )
        .unwrap();
        let label = self.secret_label("ministry", &["cert"]);
        let obj = task_object(&t, None, &label, &self.policy).unwrap();
        let def = StixObject::from_value(liaison_tasks::task_extension_definition()).unwrap();
        let def_opts = ImportOptions {
            default_label: Some(Label::public(None)),
            ..Default::default()
        };
        self.store
            .import(
                &self.users["dana"],
                &mut std::iter::once(Ok(Prepared::new(def))),
                &def_opts,
                &mut |_| {},
            )
            .unwrap();
        self.import("dana", vec![obj]);
        id
    }
}

#[tokio::test]
async fn task_life_cycle_over_rest_every_change_a_version() {
    let f = fixture();
    let id = f.secret_task().await;
    let path = |a: &str| format!("/api/v1/tasks/{id}/{a}");
    // The requester cannot accept; the assignee can.
    let r = f.call("POST", &path("accept"), "dana", None).await;
    assert_eq!(r.status, 403, "{}", r.text);
    for (user, action, body) in [
        ("alice", "accept", None),
        ("alice", "start", None),
        ("alice", "pause", Some(json!({"reason": "need the logs"}))),
        ("dana", "resume", None),
        (
            "dana",
            "update",
            Some(json!({"priority": "high", "deadline": "48h"})),
        ),
        ("alice", "answer", None),
        ("dana", "close", None),
    ] {
        let r = f.call("POST", &path(action), user, body.as_ref()).await;
        assert_eq!(r.status, 200, "{action} as {user}: {}", r.text);
    }
    let r = f
        .call(
            "GET",
            &format!("/api/v1/tasks/{id}?history=true"),
            "alice",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["object"]["status"], "closed");
    assert_eq!(v["object"]["priority"], "high");
    assert_eq!(v["label"], "SECRET//GRID//REL TO ministry, cert//TLP:CLEAR");
    let statuses: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "assigned",
            "accepted",
            "in_progress",
            "in_progress",
            "in_progress",
            "in_progress",
            "answered",
            "closed"
        ]
    );
    // Lists: closed tasks only with `all`; `mine` for the requester.
    let r = f.call("GET", "/api/v1/tasks", "dana", None).await;
    assert!(r.json()["tasks"].as_array().unwrap().is_empty());
    let r = f
        .call("GET", "/api/v1/tasks?all=true&mine=true", "dana", None)
        .await;
    assert_eq!(r.json()["tasks"].as_array().unwrap().len(), 1);
    let r = f.call("GET", "/api/v1/tasks/stats", "dana", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["overall"]["completed"], 1);
}

#[tokio::test]
async fn list_filters_mine_my_unit_overdue_due_within() {
    let f = fixture();
    let soon = f.aged_task(1, 20, 24); // due in 4 h
    let late = f.aged_task(2, 30, 24); // 6 h overdue
    let far = f.aged_task(3, 1, 240); // due in 239 h
    let ids = |r: Resp| -> Vec<String> {
        r.json()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["object"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = f
        .call("GET", "/api/v1/tasks?overdue=true", "alice", None)
        .await;
    assert_eq!(ids(r), vec![late.clone()]);
    let r = f
        .call("GET", "/api/v1/tasks?due_within=12", "alice", None)
        .await;
    assert_eq!(ids(r), vec![late.clone(), soon.clone()]);
    let r = f
        .call("GET", "/api/v1/tasks?my_unit=true", "carol", None)
        .await;
    assert_eq!(ids(r).len(), 3);
    // Assigned to the unit, not to alice by name.
    let r = f
        .call("GET", "/api/v1/tasks?mine=true", "alice", None)
        .await;
    assert!(ids(r).is_empty());
    let r = f.call("GET", "/api/v1/tasks?mine=true", "dana", None).await;
    assert_eq!(ids(r), vec![late, soon, far]);
    let r = f
        .call("GET", "/api/v1/tasks?due_within=soon", "dana", None)
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn task_routes_answer_an_unreadable_task_as_an_absent_one() {
    let f = fixture();
    let id = f.secret_task().await;
    let before = f.dana_versions(&id);
    for user in ["low", "eve"] {
        for (method, suffix, body) in [
            ("GET", "".to_string(), None),
            ("GET", "?history=true".to_string(), None),
            ("POST", "/accept".to_string(), None),
            ("POST", "/reject".to_string(), Some(json!({"reason": "no"}))),
            ("POST", "/start".to_string(), None),
            ("POST", "/pause".to_string(), Some(json!({"reason": "no"}))),
            ("POST", "/resume".to_string(), None),
            ("POST", "/answer".to_string(), None),
            ("POST", "/assign".to_string(), Some(json!({"to": ["cert"]}))),
            ("POST", "/update".to_string(), Some(json!({"title": "x"}))),
            ("POST", "/close".to_string(), None),
            ("POST", "/reopen".to_string(), Some(json!({"reason": "no"}))),
            ("POST", "/cancel".to_string(), Some(json!({"reason": "no"}))),
        ] {
            let hidden = f
                .call(
                    method,
                    &format!("/api/v1/tasks/{id}{suffix}"),
                    user,
                    body.as_ref(),
                )
                .await;
            let absent = f
                .call(
                    method,
                    &format!("/api/v1/tasks/{ABSENT_TASK}{suffix}"),
                    user,
                    body.as_ref(),
                )
                .await;
            assert_eq!(
                hidden.status, 404,
                "{user} {method} {suffix}: {}",
                hidden.text
            );
            assert_eq!(hidden.text, absent.text, "{user} {method} {suffix}");
        }
        let r = f.call("GET", "/api/v1/tasks?all=true", user, None).await;
        assert_eq!(r.json()["tasks"], json!([]), "{user}");
        let r = f.call("GET", "/api/v1/tasks/stats", user, None).await;
        assert_eq!(r.json()["overall"]["backlog"], 0, "{user}");
    }
    assert_eq!(f.dana_versions(&id), before, "nothing changed");
    // Without credentials: 401.
    let req = Request::get(format!("/api/v1/tasks/{id}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(f.app.clone().oneshot(req).await.unwrap().status(), 401);
}

#[tokio::test]
async fn bad_task_input_is_a_clear_4xx_and_changes_nothing() {
    let f = fixture();
    let id = f.secret_task().await;
    let before = f.dana_versions(&id);
    let cases: Vec<(&str, String, &str, Value, u16, &str)> = vec![
        // Illegal transition: closing an assigned task.
        (
            "POST",
            format!("/api/v1/tasks/{id}/close"),
            "dana",
            json!(null),
            422,
            "illegal transition",
        ),
        // A deadline in the past.
        (
            "POST",
            format!("/api/v1/tasks/{id}/update"),
            "dana",
            json!({"deadline": "2020-01-01T00:00:00Z"}),
            422,
            "in the past",
        ),
        // Unknown assignees.
        (
            "POST",
            format!("/api/v1/tasks/{id}/assign"),
            "dana",
            json!({"to": ["cert/nowhere"]}),
            422,
            "unknown assignee",
        ),
        (
            "POST",
            format!("/api/v1/tasks/{id}/assign"),
            "dana",
            json!({"to": ["cert:mallory"]}),
            422,
            "no user 'mallory'",
        ),
        // An assignee who may not read the label.
        (
            "POST",
            format!("/api/v1/tasks/{id}/assign"),
            "dana",
            json!({"to": ["cert/analysis:low"]}),
            422,
            "may not read",
        ),
        // A reason is required.
        (
            "POST",
            format!("/api/v1/tasks/{id}/reject"),
            "alice",
            json!({}),
            400,
            "$.reason",
        ),
        // Unknown property, unknown action.
        (
            "POST",
            format!("/api/v1/tasks/{id}/update"),
            "dana",
            json!({"colour": "red"}),
            400,
            "unknown field",
        ),
        (
            "POST",
            format!("/api/v1/tasks/{id}/explode"),
            "dana",
            json!(null),
            404,
            "not found",
        ),
        // A reference the requester cannot read.
        (
            "POST",
            format!("/api/v1/tasks/{id}/update"),
            "dana",
            json!({"refs": ["malware--00000000-0000-4000-8000-000000000000"]}),
            422,
            "no such object",
        ),
    ];
    for (method, uri, user, body, status, text) in cases {
        let b = (!body.is_null()).then_some(&body);
        let r = f.call(method, &uri, user, b).await;
        assert_eq!(r.status, status, "{uri} {body}: {}", r.text);
        assert!(r.text.contains(text), "{uri} {body}: {}", r.text);
        assert_eq!(
            f.dana_versions(&id),
            before,
            "{uri} {body}: nothing changed"
        );
    }
    // New tasks: past deadline, beyond the requester's clearance, unknown assignee,
    // unknown type. None is stored.
    for (body, text) in [
        (
            json!({"title": "x", "deadline": "2020-01-01T00:00:00Z"}),
            "in the past",
        ),
        (
            json!({"title": "x", "label": "TOP SECRET//GRID"}),
            "beyond dana's clearance",
        ),
        (
            json!({"title": "x", "assignees": ["nowhere"]}),
            "unknown assignee 'nowhere'",
        ),
        (
            json!({"title": "x", "type": "heist"}),
            "unknown tasktype 'heist'",
        ),
        (json!({"title": "  "}), "needs a title"),
        (json!({"title": "x", "label": "PURPLE"}), "label"),
    ] {
        let r = f.call("POST", "/api/v1/tasks", "dana", Some(&body)).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert!(r.text.contains(text), "{body}: {}", r.text);
    }
    let r = f.call("GET", "/api/v1/tasks?all=true", "dana", None).await;
    assert_eq!(r.json()["tasks"].as_array().unwrap().len(), 1);
    let r = f.call("POST", "/api/v1/tasks", "dana", None).await;
    assert_eq!(r.status, 415);
}

fn alert(id: &str, rule: &str, values: &[&str], owner: &str) -> StixObject {
    let v = json!({
        "type": "x-liaison-alert", "spec_version": "2.1", "id": id,
        "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
        "name": format!("rule {rule}"), "rule": rule, "alert_severity": "high", "count": 7,
        "first_seen": "2026-11-01T00:00:00.000Z", "last_seen": "2026-11-01T01:00:00.000Z",
        "sources": ["feeds/news"],
        "triage": {"state": "new"},
        "extensions": {liaison_stix::LABEL_EXTENSION_ID: {
            "extension_type": "property-extension", "level": "SECRET",
            "compartments": ["GRID"], "owner": owner}}
    });
    let mut v = v;
    if !values.is_empty() {
        v["observed_values"] = json!(values);
    }
    StixObject::from_value(v).unwrap()
}

const ALERT_A: &str = "x-liaison-alert--11111111-1111-4111-8111-111111111111";
const ALERT_B: &str = "x-liaison-alert--22222222-2222-4222-8222-222222222222";
const ALERT_C: &str = "x-liaison-alert--33333333-3333-4333-8333-333333333333";

#[tokio::test]
async fn alert_triage_over_rest() {
    let f = fixture();
    f.import(
        "alice",
        vec![
            alert(ALERT_A, "term:gridspike", &[], "cert"),
            alert(ALERT_B, "ipv4:203.0.113.7", &["203.0.113.7"], "cert"),
            alert(ALERT_C, "term:noise", &[], "cert"),
        ],
    );
    let r = f.call("GET", "/api/v1/alerts", "alice", None).await;
    assert_eq!(r.json()["alerts"].as_array().unwrap().len(), 3);
    // Acknowledge, then dismiss needs a reason.
    let r = f
        .call(
            "POST",
            &format!("/api/v1/alerts/{ALERT_C}/acknowledge"),
            "alice",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = f
        .call(
            "POST",
            &format!("/api/v1/alerts/{ALERT_C}/dismiss"),
            "alice",
            Some(&json!({})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = f
        .call(
            "POST",
            &format!("/api/v1/alerts/{ALERT_C}/dismiss"),
            "alice",
            Some(&json!({"reason": "a band name"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["object"]["triage"]["state"], "dismissed");
    // A dismissed alert cannot be escalated: 422, nothing created.
    let r = f
        .call(
            "POST",
            &format!("/api/v1/alerts/{ALERT_C}/escalate"),
            "alice",
            Some(&json!({})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    // Escalation with an unknown assignee: nothing stored, the alert stays new.
    let r = f
        .call(
            "POST",
            &format!("/api/v1/alerts/{ALERT_A}/escalate"),
            "alice",
            Some(&json!({"assignees": ["nowhere"]})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        f.store.versions(&f.users["alice"], ALERT_A).unwrap().len(),
        1
    );
    let r = f.call("GET", "/api/v1/tasks?all=true", "alice", None).await;
    assert_eq!(r.json()["tasks"], json!([]));
    // Escalate: the task carries the alert's label and refers to it.
    let r = f
        .call(
            "POST",
            &format!("/api/v1/alerts/{ALERT_A}/escalate"),
            "alice",
            Some(&json!({"assignees": ["cert/analysis"], "priority": "urgent"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    let task_id = v["task"]["object"]["id"].as_str().unwrap().to_string();
    assert_eq!(v["alert"]["object"]["triage"]["task_ref"], task_id.as_str());
    assert_eq!(v["task"]["label"], "SECRET//GRID//REL TO cert//TLP:CLEAR");
    assert_eq!(v["task"]["object"]["object_refs"][0], ALERT_A);
    assert_eq!(v["task"]["object"]["status"], "assigned");
    // Promote: an observable and an indicator.
    let r = f
        .call(
            "POST",
            &format!("/api/v1/alerts/{ALERT_B}/promote"),
            "alice",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["objects_created"], 2);
    let obs = r.json()["alert"]["object"]["triage"]["object_refs"][0]
        .as_str()
        .unwrap()
        .to_string();
    let stored = f.store.get(&f.users["alice"], &obs).unwrap().unwrap();
    assert_eq!(stored.object.to_value()["value"], "203.0.113.7");
    assert!(
        f.store.get(&f.users["low"], &obs).unwrap().is_none(),
        "promoted under the alert's label"
    );
    // A watchlist term has no observable to promote.
    let r = f
        .call(
            "POST",
            &format!("/api/v1/alerts/{ALERT_C}/promote"),
            "alice",
            None,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = f
        .call("GET", "/api/v1/alerts/accuracy", "alice", None)
        .await;
    assert_eq!(r.json()["true_positives"], 2);
    assert_eq!(r.json()["false_positives"], 1);
    let r = f
        .call(
            "GET",
            &format!("/api/v1/alerts/{ALERT_A}?history=true"),
            "alice",
            None,
        )
        .await;
    assert_eq!(r.json()["history"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn alert_routes_answer_an_unreadable_alert_as_an_absent_one() {
    let f = fixture();
    f.import(
        "alice",
        vec![alert(ALERT_B, "ipv4:203.0.113.7", &["203.0.113.7"], "cert")],
    );
    for user in ["low", "eve"] {
        for (method, suffix, body) in [
            ("GET", "", None),
            ("GET", "?history=true", None),
            ("POST", "/acknowledge", None),
            ("POST", "/dismiss", Some(json!({"reason": "x"}))),
            ("POST", "/escalate", Some(json!({}))),
            ("POST", "/promote", None),
        ] {
            let hidden = f
                .call(
                    method,
                    &format!("/api/v1/alerts/{ALERT_B}{suffix}"),
                    user,
                    body.as_ref(),
                )
                .await;
            let absent = f
                .call(
                    method,
                    &format!("/api/v1/alerts/{ABSENT_ALERT}{suffix}"),
                    user,
                    body.as_ref(),
                )
                .await;
            assert_eq!(hidden.status, 404, "{user} {suffix}: {}", hidden.text);
            assert_eq!(hidden.text, absent.text);
        }
        let r = f.call("GET", "/api/v1/alerts?all=true", user, None).await;
        assert_eq!(r.json()["alerts"], json!([]));
        let r = f.call("GET", "/api/v1/alerts/accuracy", user, None).await;
        assert_eq!(r.json()["true_positives"], 0);
    }
    assert_eq!(
        f.store.versions(&f.users["alice"], ALERT_B).unwrap().len(),
        1
    );
}

fn notes(f: &Fx, user: &str) -> Vec<Value> {
    f.store
        .notifications(&f.users[user], false, 100)
        .unwrap()
        .into_iter()
        .map(|n| json!({"task": n.task_id, "kind": n.kind, "read": n.read}))
        .collect()
}

#[tokio::test]
async fn monitor_notifies_once_only_those_who_may_read_and_survives_a_restart() {
    let f = fixture();
    let warn = f.aged_task(1, 20, 24); // 83 % used: second warning
    let breach = f.aged_task(2, 30, 24); // past the deadline
    let fresh = f.aged_task(3, 1, 24); // 4 %: nothing
    let store = f.store.clone();
    let mut m = monitor::restore(&store, &f.setup).unwrap();
    let now = liaison_stix::Timestamp::now().millis();
    let r = monitor::tick(&store, &f.setup, &mut m, now).unwrap();
    assert_eq!(r.open_tasks, 3);
    assert_eq!(r.events, 2);
    // Warning: the unit head (no user named) and the requester; breach: the same.
    let carol = notes(&f, "carol");
    assert_eq!(carol.len(), 2, "{carol:?}");
    assert!(carol.contains(&json!({"task": breach, "kind": "breach", "read": false})));
    assert!(carol.contains(&json!({"task": warn, "kind": "warn", "read": false})));
    assert_eq!(notes(&f, "dana").len(), 2);
    // alice is in the unit but not named, not head; low and eve may not read the tasks.
    for u in ["alice", "low", "eve"] {
        assert!(notes(&f, u).is_empty(), "{u}");
    }
    // Over REST, and marked read per recipient.
    let r = f
        .call("GET", "/api/v1/notifications?unread=true", "carol", None)
        .await;
    assert_eq!(r.json()["notifications"].as_array().unwrap().len(), 2);
    let first = r.json()["notifications"][0]["id"].as_i64().unwrap();
    let r = f
        .call(
            "POST",
            "/api/v1/notifications/read",
            "carol",
            Some(&json!({"ids": [first]})),
        )
        .await;
    assert_eq!(r.json()["marked_read"], 1);
    let r = f
        .call("GET", "/api/v1/notifications?unread=true", "carol", None)
        .await;
    assert_eq!(r.json()["notifications"].as_array().unwrap().len(), 1);
    // low cannot mark carol's read.
    let r = f
        .call("POST", "/api/v1/notifications/read", "low", None)
        .await;
    assert_eq!(r.json()["marked_read"], 0);
    let r = f.call("GET", "/api/v1/notifications", "low", None).await;
    assert_eq!(r.json()["notifications"], json!([]));
    // Same monitor again: nothing new. A "restarted" monitor (from the store): nothing.
    let r = monitor::tick(&store, &f.setup, &mut m, now + 1000).unwrap();
    assert_eq!(r.events, 0);
    let mut again = monitor::restore(&store, &f.setup).unwrap();
    let r = monitor::tick(&store, &f.setup, &mut again, now + 2000).unwrap();
    assert_eq!(r.events, 0);
    assert_eq!(notes(&f, "carol").len(), 2);
    // The warned task runs past its deadline later: one breach, once.
    let r = monitor::tick(&store, &f.setup, &mut again, now + 12 * H).unwrap();
    assert_eq!(r.events, 2, "warn→breach and fresh→50 %");
    assert_eq!(notes(&f, "carol").len(), 4);
    let _ = fresh;
    // A closed task is forgotten.
    let task = f.store.get(&f.users["dana"], &warn).unwrap().unwrap();
    let t = Task::from_stix(&task.object.to_value()).unwrap();
    let t = apply(
        &t,
        &Party::new("ministry", Some("cyber"), Some("dana")),
        Action::Cancel("done elsewhere".into()),
        now + 13 * H,
    )
    .unwrap();
    let prev = f.store.labelled_value(&task);
    f.import(
        "dana",
        vec![task_object(&t, Some(&prev), &task.label, &f.policy).unwrap()],
    );
    monitor::tick(&store, &f.setup, &mut again, now + 14 * H).unwrap();
    assert!(!f
        .store
        .reported_levels()
        .unwrap()
        .iter()
        .any(|(id, _, _)| id == &warn));
}

/// A webhook receiver that checks the signature and fails its first `fail` requests.
async fn receiver(fail: usize) -> (String, Arc<Mutex<Vec<(bool, Value)>>>) {
    let got: Arc<Mutex<Vec<(bool, Value)>>> = Arc::default();
    let seen = got.clone();
    let app = Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    let sig = headers
                        .get("x-liaison-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let ok = liaison_tasks::sign::verify_signature(b"hook secret", &body, sig);
                    let mut s = seen.lock().unwrap();
                    s.push((ok, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                    if s.len() <= fail {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else if ok {
                        StatusCode::NO_CONTENT
                    } else {
                        StatusCode::UNAUTHORIZED
                    }
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_logged() {
    let (url, got) = receiver(1).await;
    let (ministry_url, ministry_got) = receiver(0).await;
    let policy = Policy::new(["UNCLASSIFIED", "SECRET", "TOP SECRET"], ["GRID"]).unwrap();
    let f = fixture_with(vec![
        Webhook {
            target: Some("cert/analysis".into()),
            url: url.clone(),
            max_level: policy.level("SECRET").unwrap(),
        },
        // The ministry's chat is not cleared for SECRET: it hears nothing of it.
        Webhook {
            target: Some("ministry".into()),
            url: ministry_url,
            max_level: policy.level("UNCLASSIFIED").unwrap(),
        },
    ]);
    let breach = f.aged_task(2, 30, 24);
    let store = f.store.clone();
    let mut m = monitor::restore(&store, &f.setup).unwrap();
    let now = liaison_stix::Timestamp::now().millis();
    let r = monitor::tick(&store, &f.setup, &mut m, now).unwrap();
    assert_eq!(r.deliveries, 1);
    let client = notify::client().unwrap();
    let s = notify::send_due(store.clone(), &client, &f.setup.monitor, now)
        .await
        .unwrap();
    assert_eq!((s.delivered, s.retrying), (0, 1));
    // Not due again before the backoff.
    let s = notify::send_due(store.clone(), &client, &f.setup.monitor, now + 10)
        .await
        .unwrap();
    assert_eq!(s, notify::SendReport::default());
    let s = notify::send_due(store.clone(), &client, &f.setup.monitor, now + 60)
        .await
        .unwrap();
    assert_eq!(s.delivered, 1);
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|(ok, _)| *ok), "signature verified");
    assert_eq!(got[1].1["task_id"], breach.as_str());
    assert_eq!(got[1].1["event"], "task.deadline.breach");
    assert_eq!(got[1].1["recipients"], json!(["carol"]));
    assert!(ministry_got.lock().unwrap().is_empty());
    // The delivery log, for administrators only.
    let r = f
        .call("GET", "/api/v1/notifications/deliveries", "admin", None)
        .await;
    let log = &r.json()["deliveries"][0];
    assert_eq!(log["state"], "delivered");
    assert_eq!(log["attempts"], 2);
    assert_eq!(log["last_status"], 204);
    let r = f
        .call("GET", "/api/v1/notifications/deliveries", "alice", None)
        .await;
    assert_eq!(r.status, 403);
    let _ = &f.state;
}

#[tokio::test]
async fn a_webhook_that_never_answers_is_given_up_and_logged() {
    let policy = Policy::new(["UNCLASSIFIED", "SECRET", "TOP SECRET"], ["GRID"]).unwrap();
    // Nothing listens on port 9 of localhost (discard): connection refused.
    let f = fixture_with(vec![Webhook {
        target: Some("cert".into()),
        url: "http://127.0.0.1:9/hook".into(),
        max_level: policy.level("SECRET").unwrap(),
    }]);
    f.aged_task(2, 30, 24);
    let store = f.store.clone();
    let mut m = monitor::restore(&store, &f.setup).unwrap();
    let now = liaison_stix::Timestamp::now().millis();
    monitor::tick(&store, &f.setup, &mut m, now).unwrap();
    let client = notify::client().unwrap();
    let mut t = now;
    let mut last = notify::SendReport::default();
    for _ in 0..3 {
        last = notify::send_due(store.clone(), &client, &f.setup.monitor, t)
            .await
            .unwrap();
        t += 10_000;
    }
    assert_eq!(last.given_up, 1);
    let log = store.deliveries(10).unwrap();
    assert_eq!(log[0].state, "failed");
    assert_eq!(log[0].attempts, 3);
    assert!(log[0].last_error.is_some());
}

#[tokio::test]
async fn openapi_documents_every_task_alert_and_notification_route() {
    let f = fixture();
    let r = f.call("GET", "/api/v1/openapi.json", "low", None).await;
    let doc = r.json();
    for (path, method) in [
        ("/tasks", "get"),
        ("/tasks", "post"),
        ("/tasks/stats", "get"),
        ("/tasks/{id}", "get"),
        ("/tasks/{id}/{action}", "post"),
        ("/alerts", "get"),
        ("/alerts/accuracy", "get"),
        ("/alerts/{id}", "get"),
        ("/alerts/{id}/{action}", "post"),
        ("/notifications", "get"),
        ("/notifications/read", "post"),
        ("/notifications/deliveries", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(op["responses"]["401"].is_object(), "{method} {path}");
    }
    // Every action the route takes is in the enum.
    let actions = &doc["paths"]["/tasks/{id}/{action}"]["post"]["parameters"][1]["schema"]["enum"];
    assert_eq!(actions.as_array().unwrap().len(), 11);
    assert!(doc["components"]["schemas"]["NewTask"].is_object());
    // The objects routes are still there.
    assert!(doc["paths"]["/objects"]["post"].is_object());
}
