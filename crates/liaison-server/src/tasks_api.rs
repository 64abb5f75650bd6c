//! Tasks, alerts and notifications: [`Work`], the store operations the CLI
//! (`liaison task …`, `liaison alert …`) and the REST API share, and the REST routes
//! under `/api/v1` (`/tasks`, `/alerts`, `/notifications`).
//!
//! The rules are `liaison_tasks`' pure functions (transitions, who may act, deadlines,
//! directory checks, triage); [`Work`] reads through the label-filtered store reads
//! (`get`, `versions`, `export`) and writes each change as a new STIX version through
//! `Store::import`, one transaction per operation (an alert escalated into a task: the
//! task and the alert's new version together). A task or alert the caller may not read
//! is answered exactly as an absent one.

use crate::{blocking, AppError, AppState, Caller, Path, Query, Scope};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use liaison_policy::{Level, Subject};
use liaison_protect::audit::action::WRITE;
use liaison_stix::StixObject;
use liaison_store::{
    ExportFilter, ImportOptions, Prepared, SqliteStore, Store, StoreError, StoredObject,
};
use liaison_tasks::alert::{
    accuracy, escalation, promotion, state_of, triage_version, Accuracy, Severity, Triage,
    ALERT_TYPE,
};
use liaison_tasks::ops::{parse_parties, prepare_new, task_object, writer_for};
use liaison_tasks::{
    actor_of, apply, clock, parse_deadline, task_extension_definition, Action, Directory, NewTask,
    Quarter, Task, TaskError, TaskFilter, TaskStats, Templates, Update, TASK_EXTENSION_ID,
    TASK_TYPE,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// A webhook notifications are POSTed to.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Whose notifications: an organization (`cert`), a unit (`cert/analysis`), or
    /// `None` for every recipient.
    pub target: Option<String>,
    /// The URL.
    pub url: String,
    /// Highest classification level of a task whose notifications this webhook gets
    /// (the receiving system is not a cleared user); above it they stay in the app.
    pub max_level: Level,
}

/// How the deadline monitor runs and where it sends.
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    /// Time between checks.
    pub interval: Duration,
    /// Webhooks; the most specific one for a recipient (unit, then organization, then
    /// the catch-all) gets its notifications.
    pub webhooks: Vec<Webhook>,
    /// The HMAC key webhook bodies are signed with.
    pub secret: Option<Vec<u8>>,
    /// First retry delay of a failed delivery; each further one doubles it.
    pub retry_base: Duration,
    /// Attempts before a delivery is given up (kept in the log as failed).
    pub max_attempts: u32,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        MonitorSettings {
            interval: Duration::from_secs(60),
            webhooks: Vec::new(),
            secret: None,
            retry_base: Duration::from_secs(5),
            max_attempts: 8,
        }
    }
}

/// What tasks need from the deployment: the directory (units and their heads), the
/// deadline templates and warning fractions, and the monitor's settings.
#[derive(Debug, Clone, Default)]
pub struct TasksSetup {
    /// Organizations, units, heads and users.
    pub directory: Directory,
    /// Default deadlines and warning fractions.
    pub templates: Templates,
    /// The deadline monitor.
    pub monitor: MonitorSettings,
}

impl AppState {
    /// The same state with the deployment's task setup (before the app is built).
    pub fn with_tasks(self, setup: TasksSetup) -> Self {
        let _ = self.0.tasks.set(Arc::new(setup));
        self
    }

    /// The task setup: the one given, else one made from the server's directory
    /// (no unit heads, default templates, no webhooks).
    pub fn tasks(&self) -> Arc<TasksSetup> {
        self.0
            .tasks
            .get_or_init(|| {
                let users = &self.0.users;
                Arc::new(TasksSetup {
                    directory: Directory {
                        orgs: users
                            .orgs()
                            .iter()
                            .map(|o| liaison_tasks::directory::OrgEntry {
                                id: o.id.clone(),
                                units: o
                                    .units
                                    .iter()
                                    .map(|u| liaison_tasks::directory::UnitEntry {
                                        id: u.id.clone(),
                                        head: None,
                                    })
                                    .collect(),
                            })
                            .collect(),
                        users: users.all().into_iter().cloned().collect(),
                    },
                    ..TasksSetup::default()
                })
            })
            .clone()
    }
}

/// Why a task or alert operation was refused. Nothing changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// Absent, or not readable by the caller (the two are alike).
    #[error("no {kind} {id} that {user} may read")]
    NotFound {
        /// `task` or `alert`.
        kind: &'static str,
        /// The id asked for.
        id: String,
        /// The caller.
        user: String,
    },
    /// The task rules refused.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// The request cannot be carried out (a missing reference, a triage move).
    #[error("{0}")]
    Refused(String),
    /// The store refused or failed.
    #[error("nothing changed: {0}")]
    Store(#[from] StoreError),
}

impl From<WorkError> for AppError {
    fn from(e: WorkError) -> Self {
        match e {
            WorkError::NotFound { .. } => AppError::NotFound,
            WorkError::Task(TaskError::NotPermitted { .. }) => AppError::Forbidden(e.to_string()),
            WorkError::Task(_) | WorkError::Refused(_) => AppError::Unprocessable(e.to_string()),
            WorkError::Store(StoreError::Denied(m)) => AppError::Forbidden(m),
            WorkError::Store(s) => AppError::from(s),
        }
    }
}

/// Filters of alert lists.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AlertFilter {
    /// Only this triage state: `new`, `acknowledged`, `dismissed`, `escalated`, `promoted`.
    #[serde(default)]
    pub state: Option<String>,
    /// Only this severity and above.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Triaged alerts too.
    #[serde(default)]
    pub all: bool,
}

/// Task and alert operations of one subject at one time, over a store.
pub struct Work<'a> {
    /// The store.
    pub store: &'a SqliteStore,
    /// Organizations, units, users.
    pub dir: &'a Directory,
    /// Deadline templates.
    pub templates: &'a Templates,
    /// Who acts.
    pub subject: &'a Subject,
    /// Now (Unix ms).
    pub now: i64,
}

fn severity_of(v: &Value) -> Severity {
    v["alert_severity"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default()
}

impl Work<'_> {
    fn not_found(&self, kind: &'static str, id: &str) -> WorkError {
        WorkError::NotFound {
            kind,
            id: id.to_string(),
            user: self.subject.name.clone(),
        }
    }

    /// Import objects as `writer` in one transaction (all or nothing).
    fn import(&self, writer: &Subject, objs: Vec<StixObject>) -> Result<(), WorkError> {
        let opts = ImportOptions {
            // Only the extension definition comes without a label: readable by all.
            default_label: Some(liaison_policy::Label::public(None)),
            strict: true,
            expected_objects: None,
        };
        let mut items = objs.into_iter().map(|o| Ok(Prepared::new(o)));
        self.store.import(writer, &mut items, &opts, &mut |_| {})?;
        Ok(())
    }

    /// The extension definition of tasks, when `writer` cannot read it in the store yet.
    fn extension_definition(&self, writer: &Subject) -> Result<Option<StixObject>, WorkError> {
        if self.store.get(writer, TASK_EXTENSION_ID)?.is_some() {
            return Ok(None);
        }
        let o = StixObject::from_value(task_extension_definition())
            .map_err(|e| WorkError::Refused(e.to_string()))?;
        Ok(Some(o))
    }

    fn check_refs(&self, refs: &[String]) -> Result<(), WorkError> {
        for r in refs {
            if self.store.get(self.subject, r)?.is_none() {
                return Err(WorkError::Refused(format!(
                    "ref {r}: no such object that {} may read",
                    self.subject.name
                )));
            }
        }
        Ok(())
    }

    /// The objects of a new task: (task, label, objects to import).
    fn new_task_objects(&self, a: &NewTask) -> Result<(Task, Vec<StixObject>), WorkError> {
        self.check_refs(&a.refs)?;
        let id = format!("{TASK_TYPE}--{}", uuid::Uuid::new_v4());
        let policy = self.store.policy();
        let (task, label) = prepare_new(
            a,
            self.subject,
            self.dir,
            self.templates,
            policy,
            id,
            self.now,
        )?;
        let mut objs: Vec<StixObject> = self
            .extension_definition(self.subject)?
            .into_iter()
            .collect();
        objs.push(task_object(&task, None, &label, policy)?);
        Ok((task, objs))
    }

    /// Create a task (assigned at once when assignees are given) and store it.
    pub fn create(&self, a: &NewTask) -> Result<StoredObject, WorkError> {
        let (task, objs) = self.new_task_objects(a)?;
        self.import(self.subject, objs)?;
        self.store
            .get(self.subject, &task.id)?
            .ok_or_else(|| self.not_found("task", &task.id))
    }

    /// The latest version of a task the subject may read.
    pub fn task(&self, id: &str) -> Result<(StoredObject, Task), WorkError> {
        let stored = self
            .store
            .get(self.subject, id)?
            .filter(|o| o.object.type_name() == TASK_TYPE)
            .ok_or_else(|| self.not_found("task", id))?;
        let task = Task::from_stix(&stored.object.to_value())?;
        Ok((stored, task))
    }

    /// Every readable version of a task, oldest first: its history.
    pub fn task_history(&self, id: &str) -> Result<Vec<StoredObject>, WorkError> {
        let v: Vec<StoredObject> = self
            .store
            .versions(self.subject, id)?
            .into_iter()
            .filter(|v| v.object.type_name() == TASK_TYPE)
            .collect();
        if v.is_empty() {
            return Err(self.not_found("task", id));
        }
        Ok(v)
    }

    /// Apply an action to a task and store the new version. References an update
    /// links or an answer names must be readable by the actor (an answer: a report or
    /// a note); new assignees must be in the directory and able to read the label.
    pub fn change(&self, id: &str, action: Action) -> Result<StoredObject, WorkError> {
        let (stored, task) = self.task(id)?;
        match &action {
            Action::Assign(parties) => {
                for p in parties {
                    self.dir
                        .check_assignee(p, &stored.label, self.store.policy())?;
                }
            }
            Action::Update(u) => self.check_refs(&u.add_refs)?,
            Action::Answer(Some(r)) => {
                if !(r.starts_with("report--") || r.starts_with("note--")) {
                    return Err(WorkError::Refused(format!(
                        "ref {r}: an answer is a report or a note (report--… or note--…)"
                    )));
                }
                if self.store.get(self.subject, r)?.is_none() {
                    return Err(WorkError::Refused(format!(
                        "ref {r}: no such report or note that {} may read; import it first",
                        self.subject.name
                    )));
                }
            }
            _ => {}
        }
        let next = apply(&task, &actor_of(self.subject), action, self.now)?;
        let writer = writer_for(self.subject, &stored.label)?;
        let previous = self.store.labelled_value(&stored);
        let obj = task_object(&next, Some(&previous), &stored.label, self.store.policy())?;
        self.import(&writer, vec![obj])?;
        self.store
            .get(self.subject, id)?
            .ok_or_else(|| self.not_found("task", id))
    }

    /// Every task the subject may read (latest versions); unreadable ones are logged.
    pub fn all_tasks(&self) -> Result<Vec<(StoredObject, Task)>, WorkError> {
        let filter = ExportFilter {
            types: vec![TASK_TYPE.into()],
            since: None,
            all_versions: false,
        };
        let mut out = Vec::new();
        self.store.export(self.subject, &filter, &mut |o| {
            match Task::from_stix(&o.object.to_value()) {
                Ok(t) => out.push((o, t)),
                Err(e) => {
                    tracing::warn!(id = o.object.id(), error = %e, "skipped a malformed task")
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The tasks passing `filter`, soonest deadline first.
    pub fn tasks(&self, filter: &TaskFilter) -> Result<Vec<(StoredObject, Task)>, WorkError> {
        let me = actor_of(self.subject);
        let now = self.now;
        let mut rows: Vec<(StoredObject, Task)> = self
            .all_tasks()?
            .into_iter()
            .filter(|(_, t)| filter.matches(t, &me, now))
            .collect();
        rows.sort_by_key(|(_, t)| (clock::effective_deadline(t, now), t.id.clone()));
        Ok(rows)
    }

    /// Quarterly figures over the tasks the subject may read.
    pub fn stats(&self, quarter: Quarter) -> Result<TaskStats, WorkError> {
        let tasks: Vec<Task> = self.all_tasks()?.into_iter().map(|(_, t)| t).collect();
        Ok(liaison_tasks::stats(&tasks, quarter, self.now))
    }

    /// Every alert the subject may read (latest versions).
    pub fn all_alerts(&self) -> Result<Vec<StoredObject>, WorkError> {
        let filter = ExportFilter {
            types: vec![ALERT_TYPE.into()],
            since: None,
            all_versions: false,
        };
        let mut out = Vec::new();
        self.store.export(self.subject, &filter, &mut |o| {
            out.push(o);
            Ok(())
        })?;
        Ok(out)
    }

    /// The alerts passing `filter`, most severe and most recent first.
    pub fn alerts(&self, f: &AlertFilter) -> Result<Vec<(StoredObject, Value)>, WorkError> {
        let mut rows: Vec<(StoredObject, Value)> = self
            .all_alerts()?
            .into_iter()
            .map(|o| {
                let v = o.object.to_value();
                (o, v)
            })
            .filter(|(_, v)| {
                let st = state_of(v);
                (f.all
                    || f.state.is_some()
                    || matches!(st, Triage::New | Triage::Acknowledged { .. }))
                    && f.state.as_deref().is_none_or(|s| st.name() == s)
                    && f.severity.is_none_or(|m| severity_of(v) >= m)
            })
            .collect();
        rows.sort_by(|x, y| {
            severity_of(&y.1)
                .cmp(&severity_of(&x.1))
                .then_with(|| y.1["last_seen"].as_str().cmp(&x.1["last_seen"].as_str()))
        });
        Ok(rows)
    }

    /// The latest version of an alert the subject may read, its label written in.
    pub fn alert(&self, id: &str) -> Result<(StoredObject, Value), WorkError> {
        let o = self
            .store
            .get(self.subject, id)?
            .filter(|o| o.object.type_name() == ALERT_TYPE)
            .ok_or_else(|| self.not_found("alert", id))?;
        let v = self.store.labelled_value(&o);
        Ok((o, v))
    }

    /// Every readable version of an alert, oldest first.
    pub fn alert_history(&self, id: &str) -> Result<Vec<StoredObject>, WorkError> {
        let v: Vec<StoredObject> = self
            .store
            .versions(self.subject, id)?
            .into_iter()
            .filter(|v| v.object.type_name() == ALERT_TYPE)
            .collect();
        if v.is_empty() {
            return Err(self.not_found("alert", id));
        }
        Ok(v)
    }

    fn alert_version(
        &self,
        id: &str,
        alert: &Value,
        next: Triage,
    ) -> Result<StixObject, WorkError> {
        let v = triage_version(alert, next, self.now)
            .map_err(|e| WorkError::Refused(format!("{id}: {e}; nothing changed")))?;
        StixObject::from_value(v).map_err(|e| WorkError::Refused(e.to_string()))
    }

    /// Acknowledge or dismiss an alert (a new version).
    pub fn triage(&self, id: &str, next: Triage) -> Result<StoredObject, WorkError> {
        let (_, v) = self.alert(id)?;
        let obj = self.alert_version(id, &v, next)?;
        self.import(self.subject, vec![obj])?;
        Ok(self.alert(id)?.0)
    }

    /// Escalate an alert into a task carrying the alert's label and referring to it and
    /// its sightings; the task and the alert's escalated version are stored in one
    /// transaction. `spec`'s title and description default to the alert's.
    pub fn escalate(
        &self,
        id: &str,
        mut spec: NewTask,
    ) -> Result<(StoredObject, StoredObject), WorkError> {
        let (stored, v) = self.alert(id)?;
        // Refuse before anything is built if the alert cannot be escalated.
        state_of(&v)
            .advance(Triage::Escalated {
                by: self.subject.name.clone(),
                task_ref: String::new(),
            })
            .map_err(|e| WorkError::Refused(format!("{id}: {e}; nothing changed")))?;
        let (title, description, refs) = escalation(&v, id);
        if spec.title.trim().is_empty() {
            spec.title = title;
        }
        spec.description.get_or_insert(description);
        spec.refs.extend(refs);
        spec.task_type.get_or_insert_with(|| "analysis".into());
        spec.priority.get_or_insert_with(|| "high".into());
        spec.label = Some(stored.label.clone());
        let (task, mut objs) = self.new_task_objects(&spec)?;
        objs.push(self.alert_version(
            id,
            &v,
            Triage::Escalated {
                by: self.subject.name.clone(),
                task_ref: task.id.clone(),
            },
        )?);
        self.import(self.subject, objs)?;
        let t = self
            .store
            .get(self.subject, &task.id)?
            .ok_or_else(|| self.not_found("task", &task.id))?;
        Ok((t, self.alert(id)?.0))
    }

    /// Promote an alert's observed values into observables and indicators, stored
    /// with the alert's promoted version in one transaction. Returns the alert and
    /// how many objects were made.
    pub fn promote(&self, id: &str) -> Result<(StoredObject, usize), WorkError> {
        let (_, v) = self.alert(id)?;
        let (objects, refs) =
            promotion(&v, id, self.now).map_err(|e| WorkError::Refused(format!("{id}: {e}")))?;
        let n = objects.len();
        let mut objs = objects
            .into_iter()
            .map(StixObject::from_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WorkError::Refused(e.to_string()))?;
        objs.push(self.alert_version(
            id,
            &v,
            Triage::Promoted {
                by: self.subject.name.clone(),
                object_refs: refs,
            },
        )?);
        self.import(self.subject, objs)?;
        Ok((self.alert(id)?.0, n))
    }

    /// Triage accuracy over the alerts the subject may read.
    pub fn accuracy(&self) -> Result<Accuracy, WorkError> {
        let states: Vec<Triage> = self
            .all_alerts()?
            .iter()
            .map(|o| state_of(&o.object.to_value()))
            .collect();
        Ok(accuracy(&states))
    }
}

// ---------------------------------------------------------------------------------------
// REST routes.

/// The routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list_tasks).post(create_task))
        .route("/tasks/stats", get(task_stats))
        .route("/tasks/{id}", get(show_task))
        .route("/tasks/{id}/{action}", post(task_action))
        .route("/alerts", get(list_alerts))
        .route("/alerts/accuracy", get(alert_accuracy))
        .route("/alerts/{id}", get(show_alert))
        .route("/alerts/{id}/{action}", post(alert_action))
        .route("/notifications", get(list_notifications))
        .route("/notifications/read", post(read_notifications))
        .route("/notifications/deliveries", get(list_deliveries))
}

use crate::rest::{json_response, rest_caller as allow};

/// A JSON body that may be absent (actions without details).
fn optional_body<T: serde::de::DeserializeOwned + Default>(b: &Bytes) -> Result<T, AppError> {
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(b).map_err(|e| AppError::BadRequest(format!("malformed JSON body: {e}")))
}

fn stored(state: &AppState, s: &StoredObject) -> Value {
    json!({
        "object": state.0.store.labelled_value(s),
        "label": state.0.store.policy().banner(&s.label),
    })
}

/// Run `f` with the task and alert operations of `subject` (a [`Work`]), off the async
/// threads. The REST routes and the web UI both go through here.
pub(crate) async fn with_work<T: Send + 'static>(
    state: &AppState,
    subject: liaison_policy::Subject,
    f: impl FnOnce(&Work<'_>) -> Result<T, WorkError> + Send + 'static,
) -> Result<T, AppError> {
    let st = state.clone();
    let setup = state.tasks();
    blocking(move || {
        let w = Work {
            store: &st.0.store,
            dir: &setup.directory,
            templates: &setup.templates,
            subject: &subject,
            now: liaison_stix::Timestamp::now().millis(),
        };
        f(&w).map_err(AppError::from)
    })
    .await
}

#[derive(Deserialize)]
struct NewTaskBody {
    #[serde(flatten)]
    spec: NewTask,
    #[serde(default)]
    label: Option<String>,
}

/// A label from its banner, owned by the caller's organization.
fn label_of(state: &AppState, banner: &str, org: &str) -> Result<liaison_policy::Label, AppError> {
    state
        .0
        .store
        .policy()
        .parse_banner(banner, org)
        .map_err(|e| AppError::Unprocessable(e.to_string()))
}

async fn create_task(
    State(state): State<AppState>,
    caller: Caller,
    crate::Json(b): crate::Json<NewTaskBody>,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Write)?;
    let mut spec = b.spec;
    if let Some(l) = &b.label {
        spec.label = Some(label_of(&state, l, &caller.subject.org)?);
    }
    let st = state.clone();
    let by = caller.subject.name.clone();
    let s = with_work(&state, caller.subject, move |w| w.create(&spec)).await?;
    state.audit(&by, WRITE, Some(s.object.id()), "task created");
    Ok(json_response(StatusCode::CREATED, &stored(&st, &s)))
}

async fn list_tasks(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<TaskFilter>,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Read)?;
    let rows = with_work(&state, caller.subject, move |w| w.tasks(&f)).await?;
    let list: Vec<Value> = rows.iter().map(|(s, _)| stored(&state, s)).collect();
    Ok(json_response(StatusCode::OK, &json!({ "tasks": list })))
}

#[derive(Deserialize, Default)]
struct HistoryParam {
    #[serde(default)]
    history: bool,
}

/// A task or alert as JSON, with every version (oldest first) when the history was read.
fn with_history(
    state: &AppState,
    latest: &liaison_store::StoredObject,
    history: Option<Vec<liaison_store::StoredObject>>,
) -> Response {
    let mut v = stored(state, latest);
    if let Some(h) = history {
        v["history"] = json!(h
            .iter()
            .map(|s| state.0.store.labelled_value(s))
            .collect::<Vec<_>>());
    }
    json_response(StatusCode::OK, &v)
}

async fn show_task(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<HistoryParam>,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Read)?;
    let (latest, history) = with_work(&state, caller.subject, move |w| {
        let (s, _) = w.task(&id)?;
        let h = if p.history {
            Some(w.task_history(&id)?)
        } else {
            None
        };
        Ok((s, h))
    })
    .await?;
    Ok(with_history(&state, &latest, history))
}

#[derive(Deserialize, Default)]
struct QuarterParam {
    #[serde(default)]
    quarter: Option<String>,
}

async fn task_stats(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<QuarterParam>,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Read)?;
    let st = with_work(&state, caller.subject, move |w| {
        let q = match &p.quarter {
            Some(q) => Quarter::parse(q)?,
            None => Quarter::of(w.now),
        };
        w.stats(q)
    })
    .await?;
    Ok(json_response(StatusCode::OK, &json!(st)))
}

/// The details an action may carry.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    #[serde(default)]
    reason: Option<String>,
    /// assign: the assignees.
    #[serde(default)]
    to: Vec<String>,
    /// answer: the report or note.
    #[serde(default, rename = "ref")]
    answer_ref: Option<String>,
    /// update:
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    deadline: Option<String>,
    #[serde(default)]
    refs: Vec<String>,
}

fn need_reason(b: &mut ActionBody, action: &str) -> Result<String, AppError> {
    match b.reason.take().filter(|r| !r.trim().is_empty()) {
        Some(r) => Ok(r),
        None => Err(AppError::BadRequest(format!(
            "$.reason: {action} needs a reason"
        ))),
    }
}

/// The task action a route names, from its body. Parsing errors are 400s.
fn task_action_of(action: &str, mut b: ActionBody, now: i64) -> Result<Action, AppError> {
    let bad = |e: TaskError| AppError::BadRequest(e.to_string());
    Ok(match action {
        "assign" => {
            if b.to.is_empty() {
                return Err(AppError::BadRequest(
                    "$.to: assign needs at least one assignee".into(),
                ));
            }
            Action::Assign(parse_parties(&b.to).map_err(bad)?)
        }
        "accept" => Action::Accept,
        "reject" => Action::Reject(need_reason(&mut b, action)?),
        "start" => Action::Start,
        "pause" => Action::Pause(need_reason(&mut b, action)?),
        "resume" => Action::Resume,
        "answer" => Action::Answer(b.answer_ref),
        "close" => Action::Close,
        "reopen" => Action::Reopen(need_reason(&mut b, action)?),
        "cancel" => Action::Cancel(need_reason(&mut b, action)?),
        "update" => Action::Update(Update {
            title: b.title,
            description: b.description,
            priority: b
                .priority
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(bad)?,
            // A deadline in the past is refused by the task rules (422), not here.
            deadline: b
                .deadline
                .as_deref()
                .map(|d| parse_deadline(d, now))
                .transpose()
                .map_err(bad)?,
            add_refs: b.refs,
        }),
        _ => return Err(AppError::NotFound),
    })
}

async fn task_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    crate::Body(body): crate::Body,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Write)?;
    let b: ActionBody = optional_body(&body)?;
    let now = liaison_stix::Timestamp::now().millis();
    let act = task_action_of(&action, b, now)?;
    let by = caller.subject.name.clone();
    let s = with_work(&state, caller.subject, move |w| w.change(&id, act)).await?;
    state.audit(&by, WRITE, Some(s.object.id()), &format!("task {action}"));
    Ok(json_response(StatusCode::OK, &stored(&state, &s)))
}

async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<AlertFilter>,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Read)?;
    let rows = with_work(&state, caller.subject, move |w| w.alerts(&f)).await?;
    let list: Vec<Value> = rows.iter().map(|(s, _)| stored(&state, s)).collect();
    Ok(json_response(StatusCode::OK, &json!({ "alerts": list })))
}

async fn show_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<HistoryParam>,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Read)?;
    let (latest, history) = with_work(&state, caller.subject, move |w| {
        let (s, _) = w.alert(&id)?;
        let h = if p.history {
            Some(w.alert_history(&id)?)
        } else {
            None
        };
        Ok((s, h))
    })
    .await?;
    Ok(with_history(&state, &latest, history))
}

async fn alert_accuracy(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Read)?;
    let a = with_work(&state, caller.subject, |w| w.accuracy()).await?;
    Ok(json_response(StatusCode::OK, &json!(a)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AlertActionBody {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default, rename = "type")]
    task_type: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    deadline: Option<String>,
    #[serde(default)]
    assignees: Vec<String>,
}

async fn alert_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    crate::Body(body): crate::Body,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Write)?;
    let b: AlertActionBody = optional_body(&body)?;
    let by = caller.subject.name.clone();
    let who = by.clone();
    let asked = id.clone();
    let st = state.clone();
    let v = match action.as_str() {
        "acknowledge" => {
            let s = with_work(&state, caller.subject, move |w| {
                w.triage(&id, Triage::Acknowledged { by })
            })
            .await?;
            stored(&st, &s)
        }
        "dismiss" => {
            let reason = b.reason.filter(|r| !r.trim().is_empty()).ok_or_else(|| {
                AppError::BadRequest(
                    "$.reason: a dismissal needs a reason (it feeds the accuracy figures)".into(),
                )
            })?;
            let s = with_work(&state, caller.subject, move |w| {
                w.triage(&id, Triage::Dismissed { by, reason })
            })
            .await?;
            stored(&st, &s)
        }
        "escalate" => {
            let spec = NewTask {
                title: b.title.unwrap_or_default(),
                task_type: b.task_type,
                priority: b.priority,
                deadline: b.deadline,
                assignees: b.assignees,
                ..NewTask::default()
            };
            let (task, alert) =
                with_work(&state, caller.subject, move |w| w.escalate(&id, spec)).await?;
            json!({"task": stored(&st, &task), "alert": stored(&st, &alert)})
        }
        "promote" => {
            let (alert, n) = with_work(&state, caller.subject, move |w| w.promote(&id)).await?;
            json!({"alert": stored(&st, &alert), "objects_created": n})
        }
        _ => return Err(AppError::NotFound),
    };
    state.audit(&who, WRITE, Some(&asked), &format!("alert {action}"));
    Ok(json_response(StatusCode::OK, &v))
}

#[derive(Deserialize, Default)]
struct NotificationParams {
    #[serde(default)]
    unread: bool,
    #[serde(default)]
    limit: Option<usize>,
}

async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<NotificationParams>,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Read)?;
    let st = state.clone();
    let list = blocking(move || {
        Ok(st.0.store.notifications(
            &caller.subject,
            p.unread,
            p.limit.unwrap_or(100).clamp(1, 1000),
        )?)
    })
    .await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "notifications": list }),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReadBody {
    #[serde(default)]
    ids: Option<Vec<i64>>,
}

async fn read_notifications(
    State(state): State<AppState>,
    caller: Caller,
    crate::Body(body): crate::Body,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Write)?;
    let b: ReadBody = optional_body(&body)?;
    let st = state.clone();
    let n = blocking(move || {
        Ok(st
            .0
            .store
            .mark_notifications_read(&caller.subject, b.ids.as_deref())?)
    })
    .await?;
    Ok(json_response(StatusCode::OK, &json!({ "marked_read": n })))
}

async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Admin)?;
    let st = state.clone();
    let list = blocking(move || Ok(st.0.store.deliveries(500)?)).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "deliveries": list }),
    ))
}
