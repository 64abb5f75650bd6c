//! Tasks (list, board, create, act) and the alert triage queue.
//!
//! The rules are `liaison_tasks` (status machine, who may act, the clock, triage),
//! applied as the CLI applies them: every change is a new version through
//! `Store::import`, every read goes through the label-filtered `get`, `versions` and
//! `export` with the viewer's subject.

use super::html::{banner, esc, url};
use super::i18n::{t, term, M};
use super::pages::obj_link;
use super::{redirect, Viewer};
use crate::tasks_api::{AlertFilter, WorkError};
use crate::{AppError, AppState, Path, Query};
use axum::extract::State;
use axum::response::Response;
use axum::Form;
use liaison_tasks::alert::{state_of, Severity, Triage};
use liaison_tasks::time::fmt_ms;
use liaison_tasks::{clock, Action, NewTask, Party, Status, Task, TaskFilter};
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write;

pub(crate) use liaison_tasks::alert::ALERT_TYPE;

pub(crate) use crate::tasks_api::with_work;

pub(crate) fn severity_of(v: &Value) -> Severity {
    v["alert_severity"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default()
}

/// A live countdown (the script ticks it; the text is right without the script).
pub(crate) fn countdown(t: &Task, now: i64) -> String {
    if !t.status.is_open() {
        return String::new();
    }
    let dl = clock::effective_deadline(t, now);
    let left = dl - now;
    let m = left.abs() / 60_000;
    let class = if left < 0 {
        "overdue"
    } else if clock::fraction_used(t, now) >= 0.8 {
        "late"
    } else {
        "ok"
    };
    format!(
        "<span class=\"countdown {class}\" data-deadline=\"{dl}\"{}>{}{}h {:02}m</span>",
        if t.is_paused() { " data-paused" } else { "" },
        if left < 0 { "-" } else { "" },
        m / 60,
        m % 60
    )
}

fn bad_input(e: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(e.to_string())
}

fn opt(s: String) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

// ------------------------------------------------------------------------- tasks UI

#[derive(Deserialize, Default)]
pub(crate) struct TaskListParams {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    filter: Option<String>,
}

const BOARD: &[Status] = &[
    Status::Draft,
    Status::Assigned,
    Status::Accepted,
    Status::InProgress,
    Status::Answered,
    Status::Rejected,
];

pub(crate) async fn tasks(
    State(state): State<AppState>,
    v: Viewer,
    Query(p): Query<TaskListParams>,
) -> Response {
    let l = v.lang;
    let now = liaison_stix::Timestamp::now().millis();
    let filter = p.filter.as_deref().unwrap_or("open").to_string();
    let board = p.view.as_deref() == Some("board");
    let f = TaskFilter {
        mine: filter == "mine",
        my_unit: filter == "unit",
        overdue: filter == "overdue",
        all: filter == "all",
        ..TaskFilter::default()
    };
    let rows = match with_work(&state, v.caller.subject.clone(), move |w| w.tasks(&f)).await {
        Ok(r) => r,
        Err(e) => return v.error(e),
    };
    let filter = filter.as_str();
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{}</h1><p class=\"actions\"><a class=\"button\" id=\"new-task\" href=\"/ui/tasks/new\">{}</a></p><nav class=\"tabs\">",
        t(l, M::Tasks),
        t(l, M::NewTask)
    );
    let view = if board { "board" } else { "list" };
    for (key, m) in [
        ("open", M::Open),
        ("mine", M::Mine),
        ("unit", M::MyUnit),
        ("overdue", M::Overdue),
        ("all", M::All),
    ] {
        let _ = write!(
            b,
            "<a href=\"/ui/tasks?view={view}&amp;filter={key}\"{}>{}</a>",
            if key == filter {
                " aria-current=\"page\""
            } else {
                ""
            },
            t(l, m)
        );
    }
    b.push_str(" · ");
    for (key, m) in [("list", M::List), ("board", M::Board)] {
        let _ = write!(
            b,
            "<a href=\"/ui/tasks?view={key}&amp;filter={filter}\"{}>{}</a>",
            if key == view {
                " aria-current=\"page\""
            } else {
                ""
            },
            t(l, m)
        );
    }
    b.push_str("</nav>");
    if rows.is_empty() {
        let _ = write!(b, "<p>{}</p>", t(l, M::NoTasks));
    } else if board {
        b.push_str("<div class=\"board\" id=\"board\">");
        for s in BOARD {
            let col: Vec<_> = rows.iter().filter(|(_, t)| t.status == *s).collect();
            let _ = write!(
                b,
                "<section class=\"col\" data-status=\"{}\"><h2>{} <span class=\"count\">{}</span></h2>",
                s.as_str(),
                term(l, s.as_str()),
                col.len()
            );
            for (_, task) in col {
                let _ = write!(
                    b,
                    "<article class=\"cardlet nav-row prio-{}\"><a href=\"/ui/task/{}\">{}</a><div class=\"muted\">{} · {}</div>{}</article>",
                    task.priority.as_str(),
                    url(&task.id),
                    esc(&task.title),
                    term(l, task.task_type.as_str()),
                    term(l, task.priority.as_str()),
                    countdown(task, now)
                );
            }
            b.push_str("</section>");
        }
        b.push_str("</div>");
    } else {
        let _ = write!(
            b,
            "<table class=\"list\" id=\"task-list\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(l, M::Title),
            t(l, M::Status),
            t(l, M::Priority),
            t(l, M::Type),
            t(l, M::Deadline),
            t(l, M::DueInCol)
        );
        for (_, task) in &rows {
            let _ = write!(
                b,
                "<tr class=\"nav-row\"><td><a href=\"/ui/task/{}\">{}</a></td><td><span class=\"status st-{}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                url(&task.id),
                esc(&task.title),
                task.status.as_str(),
                term(l, task.status.as_str()),
                term(l, task.priority.as_str()),
                term(l, task.task_type.as_str()),
                fmt_ms(clock::effective_deadline(task, now)),
                countdown(task, now)
            );
        }
        b.push_str("</tbody></table>");
    }
    let top = super::html::high_water(state.0.store.policy(), rows.iter().map(|r| &r.0.label));
    v.page("tasks", t(l, M::Tasks), top.as_deref(), &b)
}

fn task_form_fields(v: &Viewer, title: &str, refs: &str) -> String {
    let l = v.lang;
    let opts = |items: &[&str], sel: &str| {
        items
            .iter()
            .map(|i| {
                format!(
                    "<option value=\"{i}\"{}>{}</option>",
                    if *i == sel { " selected" } else { "" },
                    term(l, i)
                )
            })
            .collect::<String>()
    };
    format!(
        "<label>{}<input name=\"title\" id=\"task-title\" required value=\"{}\"></label>\
         <label>{}<select name=\"task_type\">{}</select></label>\
         <label>{}<select name=\"priority\">{}</select></label>\
         <label>{}<input name=\"deadline\" placeholder=\"24h\"><small>{}</small></label>\
         <label>{}<input name=\"assign\" id=\"task-assign\"><small>{}</small></label>\
         <label>{}<input name=\"refs\" value=\"{}\"><small>{}</small></label>\
         <label>{}<textarea name=\"description\" rows=\"4\"></textarea></label>",
        t(l, M::Title),
        esc(title),
        t(l, M::Type),
        opts(
            &["rfi", "collection", "analysis", "joint_response"],
            "analysis"
        ),
        t(l, M::Priority),
        opts(&["urgent", "high", "normal", "low"], "high"),
        t(l, M::Deadline),
        t(l, M::DeadlineHelp),
        t(l, M::Assignees),
        t(l, M::AssignHelp),
        t(l, M::About),
        esc(refs),
        t(l, M::RefsHelp),
        t(l, M::Description),
    )
}

pub(crate) async fn new_task_form(v: Viewer) -> Response {
    let l = v.lang;
    let b = format!(
        "<h1>{}</h1><form method=\"post\" action=\"/ui/tasks/new\" class=\"stack\" id=\"task-form\">{}{}<button>{}</button></form>",
        t(l, M::NewTask),
        v.csrf_field(),
        task_form_fields(&v, "", ""),
        t(l, M::Create)
    );
    v.page("tasks", t(l, M::NewTask), None, &b)
}

#[derive(Deserialize)]
pub(crate) struct TaskForm {
    #[serde(default)]
    csrf: String,
    title: String,
    #[serde(default)]
    task_type: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    assign: String,
    #[serde(default)]
    refs: String,
    #[serde(default)]
    description: String,
}

fn list_of(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

pub(crate) async fn new_task(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<TaskForm>,
) -> Response {
    if let Some(r) = v.refuse_csrf(&f.csrf) {
        return r;
    }
    let spec = NewTask {
        title: f.title,
        task_type: opt(f.task_type),
        priority: opt(f.priority),
        deadline: opt(f.deadline),
        description: opt(f.description),
        assignees: list_of(&f.assign),
        refs: list_of(&f.refs),
        label: None,
    };
    let r = with_work(&state, v.caller.subject.clone(), move |w| w.create(&spec)).await;
    match r {
        Ok(o) => redirect(&format!("/ui/task/{}", url(o.object.id()))),
        Err(e) => v.error(e),
    }
}

pub(crate) async fn task(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let r = with_work(&state, v.caller.subject.clone(), move |w| {
        let (stored, task) = w.task(&id)?;
        let versions = w.task_history(&id)?;
        Ok((stored, task, versions))
    })
    .await;
    let (stored, task, versions) = match r {
        Ok(x) => x,
        Err(AppError::NotFound) => return super::not_found(v.lang),
        Err(e) => return v.error(e),
    };
    let l = v.lang;
    let now = liaison_stix::Timestamp::now().millis();
    let policy = state.0.store.policy();
    let top = banner(policy, &stored.label);
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{}</h1><p class=\"id\">{}</p><table class=\"props\" id=\"task\"><tbody>",
        esc(&task.title),
        obj_link(&task.id, None)
    );
    let row = |b: &mut String, k: M, v: String| {
        let _ = write!(b, "<tr><th scope=\"row\">{}</th><td>{v}</td></tr>", t(l, k));
    };
    row(
        &mut b,
        M::Status,
        format!(
            "<span class=\"status st-{s}\" id=\"task-status\">{}</span>{}",
            term(l, task.status.as_str()),
            if task.is_paused() {
                format!(" ({})", t(l, M::Paused))
            } else {
                String::new()
            },
            s = task.status.as_str()
        ),
    );
    row(&mut b, M::Type, esc(term(l, task.task_type.as_str())));
    row(&mut b, M::Priority, esc(term(l, task.priority.as_str())));
    row(&mut b, M::Requester, esc(&task.requester.to_string()));
    row(
        &mut b,
        M::Assignees,
        esc(&task
            .assignees
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ")),
    );
    row(
        &mut b,
        M::Deadline,
        format!(
            "{} {}",
            fmt_ms(clock::effective_deadline(&task, now)),
            countdown(&task, now)
        ),
    );
    if let Some(d) = &task.description {
        // Stored free text (data), in whatever language it was written.
        row(
            &mut b,
            M::Description,
            format!("<span class=\"data\">{}</span>", esc(d)),
        );
    }
    if !task.object_refs.is_empty() {
        row(
            &mut b,
            M::About,
            task.object_refs
                .iter()
                .map(|r| obj_link(r, None))
                .collect::<Vec<_>>()
                .join("<br>"),
        );
    }
    if let Some(a) = &task.answer_ref {
        row(&mut b, M::Answer, obj_link(a, None));
    }
    if let Some(r) = &task.status_reason {
        row(&mut b, M::Reason, esc(r));
    }
    b.push_str("</tbody></table>");
    // The actions the status machine allows next; the rules decide who may take them.
    let next = task.status.next();
    let mut acts: Vec<(&str, M, bool)> = Vec::new();
    let allow = |s: Status| next.contains(&s);
    if allow(Status::Accepted) {
        acts.push(("accept", M::Accept, false));
    }
    if allow(Status::Rejected) {
        acts.push(("reject", M::Reject, true));
    }
    if allow(Status::InProgress) && task.status != Status::Answered {
        acts.push(("start", M::Start, false));
    }
    if task.status.is_open() && !task.is_paused() {
        acts.push(("pause", M::Pause, true));
    }
    if task.is_paused() {
        acts.push(("resume", M::Resume, false));
    }
    if allow(Status::Closed) {
        acts.push(("close", M::Close, false));
    }
    if task.status == Status::Answered {
        acts.push(("reopen", M::Reopen, true));
    }
    if allow(Status::Cancelled) {
        acts.push(("cancel", M::Cancel, true));
    }
    b.push_str("<section class=\"acts\" id=\"task-actions\">");
    for (key, m, reason) in acts {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/ui/task/{}/act\" class=\"inline\">{}<input type=\"hidden\" name=\"action\" value=\"{key}\">{}<button id=\"act-{key}\">{}</button></form>",
            url(&task.id),
            v.csrf_field(),
            if reason {
                format!("<input name=\"reason\" required placeholder=\"{}\">", t(l, M::Reason))
            } else {
                String::new()
            },
            t(l, m)
        );
    }
    if allow(Status::Answered) {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/ui/task/{}/act\" class=\"inline\">{}<input type=\"hidden\" name=\"action\" value=\"answer\"><input name=\"answer_ref\" id=\"answer-ref\" placeholder=\"{}\"><button id=\"act-answer\">{}</button></form>",
            url(&task.id),
            v.csrf_field(),
            t(l, M::AnswerRef),
            t(l, M::Answer)
        );
    }
    if allow(Status::Assigned) {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/ui/task/{}/act\" class=\"inline\">{}<input type=\"hidden\" name=\"action\" value=\"assign\"><input name=\"to\" required placeholder=\"{}\"><button id=\"act-assign\">{}</button></form>",
            url(&task.id),
            v.csrf_field(),
            t(l, M::AssignHelp),
            t(l, M::Assign)
        );
    }
    b.push_str("</section>");
    // History: every version is a change.
    let _ = write!(
        b,
        "<section><h2>{}</h2><ol class=\"versions\" id=\"history\">",
        t(l, M::History)
    );
    for s in &versions {
        if let Ok(tv) = Task::from_stix(&s.object.to_value()) {
            let _ = write!(
                b,
                "<li><b>{}</b> {}{}</li>",
                fmt_ms(tv.modified),
                term(l, tv.status.as_str()),
                tv.status_reason
                    .as_ref()
                    .map(|r| format!(" — {}", esc(r)))
                    .unwrap_or_default()
            );
        }
    }
    b.push_str("</ol></section>");
    v.page("tasks", &task.title, Some(&top), &b)
}

#[derive(Deserialize)]
pub(crate) struct ActForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    answer_ref: String,
}

pub(crate) async fn task_act(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(r) = v.refuse_csrf(&f.csrf) {
        return r;
    }
    let action = match f.action.as_str() {
        "accept" => Action::Accept,
        "reject" => Action::Reject(f.reason),
        "start" => Action::Start,
        "pause" => Action::Pause(f.reason),
        "resume" => Action::Resume,
        "close" => Action::Close,
        "reopen" => Action::Reopen(f.reason),
        "cancel" => Action::Cancel(f.reason),
        "answer" => Action::Answer(Some(f.answer_ref.trim().to_string()).filter(|s| !s.is_empty())),
        "assign" => {
            match list_of(&f.to)
                .iter()
                .map(|x| Party::parse(x))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(p) => Action::Assign(p),
                Err(e) => return v.error(bad_input(e)),
            }
        }
        other => {
            return v.error(AppError::BadRequest(format!(
                "action: unknown action '{other}'"
            )))
        }
    };
    let tid = id.clone();
    let r = with_work(&state, v.caller.subject.clone(), move |w| {
        w.change(&tid, action)
    })
    .await;
    match r {
        Ok(_) => redirect(&format!("/ui/task/{}", url(&id))),
        Err(AppError::NotFound) => super::not_found(v.lang),
        Err(e) => v.error(e),
    }
}

// ------------------------------------------------------------------------ alerts UI

pub(crate) async fn alerts(State(state): State<AppState>, v: Viewer) -> Response {
    let l = v.lang;
    let list = with_work(&state, v.caller.subject.clone(), |w| {
        w.alerts(&AlertFilter::default())
    })
    .await;
    let (stored, rows): (Vec<_>, Vec<Value>) = match list {
        Ok(r) => r.into_iter().unzip(),
        Err(e) => return v.error(e),
    };
    let top = super::html::high_water(
        state.0.store.policy(),
        stored
            .iter()
            .map(|o: &liaison_store::StoredObject| &o.label),
    );
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{}</h1><p class=\"muted\" id=\"triage-help\">{}</p>",
        t(l, M::TriageQueue),
        t(l, M::TriageHelp)
    );
    if rows.is_empty() {
        let _ = write!(b, "<p>{}</p>", t(l, M::NoAlerts));
        return v.page("alerts", t(l, M::Alerts), None, &b);
    }
    let _ = write!(
        b,
        "<table class=\"list triage\" id=\"queue\" data-csrf=\"{}\" data-t-reason=\"{}\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(&v.csrf),
        t(l, M::Reason),
        t(l, M::Severity),
        t(l, M::Name),
        t(l, M::State),
        t(l, M::Hits),
        t(l, M::LastSeen)
    );
    for a in &rows {
        let id = a["id"].as_str().unwrap_or_default();
        let _ = write!(
            b,
            "<tr class=\"nav-row alert-row\" data-id=\"{}\"><td><span class=\"sev sev-{s}\">{}</span></td><td><a href=\"/ui/alert/{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(id),
            term(l, severity_of(a).as_str()),
            url(id),
            esc(a["name"].as_str().unwrap_or(id)),
            term(l, state_of(a).name()),
            a["count"].as_u64().unwrap_or(0),
            esc(a["last_seen"].as_str().unwrap_or_default()),
            s = severity_of(a).as_str()
        );
    }
    b.push_str("</tbody></table>");
    v.page("alerts", t(l, M::Alerts), top.as_deref(), &b)
}

pub(crate) async fn alert(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let r = with_work(&state, v.caller.subject.clone(), move |w| w.alert(&id)).await;
    let stored = match r {
        Ok((x, _)) => x,
        Err(AppError::NotFound) => return super::not_found(v.lang),
        Err(e) => return v.error(e),
    };
    let l = v.lang;
    let policy = state.0.store.policy();
    let top = banner(policy, &stored.label);
    let a = stored.object.to_value();
    let id = stored.object.id().to_string();
    let state_now = state_of(&a);
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{}</h1><p class=\"id\">{}</p><table class=\"props\"><tbody>\
         <tr><th>{}</th><td><span class=\"sev sev-{s}\">{}</span></td></tr>\
         <tr><th>{}</th><td id=\"alert-state\">{}</td></tr>\
         <tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr></tbody></table>",
        esc(a["name"].as_str().unwrap_or(&id)),
        obj_link(&id, None),
        t(l, M::Severity),
        term(l, severity_of(&a).as_str()),
        t(l, M::State),
        term(l, state_now.name()),
        t(l, M::Hits),
        a["count"].as_u64().unwrap_or(0),
        t(l, M::LastSeen),
        esc(a["last_seen"].as_str().unwrap_or_default()),
        s = severity_of(&a).as_str()
    );
    if let Triage::Escalated { task_ref, .. } = &state_now {
        let _ = write!(
            b,
            "<p>→ <a id=\"escalated-task\" class=\"id\" href=\"/ui/task/{}\">{}</a></p>",
            url(task_ref),
            esc(task_ref)
        );
    }
    if matches!(
        state_now,
        Triage::New | Triage::Acknowledged { .. } | Triage::Escalated { .. }
    ) {
        let form = |b: &mut String, action: &str, inner: String, m: M| {
            let _ = write!(
                b,
                "<form method=\"post\" action=\"/ui/alert/{}/act\" class=\"stack acts\" id=\"form-{action}\">{}<input type=\"hidden\" name=\"action\" value=\"{action}\">{inner}<button id=\"alert-{action}\">{}</button></form>",
                url(&id),
                v.csrf_field(),
                t(l, m)
            );
        };
        if matches!(state_now, Triage::New) {
            form(&mut b, "ack", String::new(), M::Acknowledge);
        }
        if !matches!(state_now, Triage::Escalated { .. }) {
            form(
                &mut b,
                "dismiss",
                format!(
                    "<label>{}<input name=\"reason\" id=\"dismiss-reason\" required></label>",
                    t(l, M::DismissReason)
                ),
                M::Dismiss,
            );
            let title = format!(
                "{}: {}",
                t(l, M::AlertTitle),
                a["name"].as_str().unwrap_or(&id)
            );
            form(
                &mut b,
                "escalate",
                task_form_fields(&v, &title, ""),
                M::Escalate,
            );
        }
        form(&mut b, "promote", String::new(), M::Promote);
    }
    v.page("alerts", a["name"].as_str().unwrap_or(&id), Some(&top), &b)
}

#[derive(Deserialize)]
pub(crate) struct AlertForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    task_type: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    assign: String,
    #[serde(default)]
    description: String,
    /// Where to go afterwards (the queue, when acting from it).
    #[serde(default)]
    back: String,
}

pub(crate) async fn alert_act(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<AlertForm>,
) -> Response {
    if let Some(r) = v.refuse_csrf(&f.csrf) {
        return r;
    }
    let aid = id.clone();
    let back = f.back.clone();
    let by = v.caller.subject.name.clone();
    let r = with_work(&state, v.caller.subject.clone(), move |w| {
        match f.action.as_str() {
            "ack" => {
                w.triage(&aid, Triage::Acknowledged { by })?;
            }
            "dismiss" => {
                w.triage(
                    &aid,
                    Triage::Dismissed {
                        by,
                        reason: f.reason,
                    },
                )?;
            }
            "promote" => {
                w.promote(&aid)?;
            }
            "escalate" => {
                let spec = NewTask {
                    title: f.title,
                    task_type: opt(f.task_type),
                    priority: opt(f.priority),
                    deadline: opt(f.deadline),
                    description: opt(f.description),
                    assignees: list_of(&f.assign),
                    refs: Vec::new(),
                    label: None,
                };
                let (task, _) = w.escalate(&aid, spec)?;
                return Ok(Some(task.object.id().to_string()));
            }
            other => {
                return Err(WorkError::Refused(format!(
                    "action: unknown action '{other}'"
                )))
            }
        }
        Ok(None)
    })
    .await;
    match r {
        Ok(Some(task)) => redirect(&format!("/ui/task/{}", url(&task))),
        Ok(None) if back == "queue" => redirect("/ui/alerts"),
        Ok(None) => redirect(&format!("/ui/alert/{}", url(&id))),
        Err(AppError::NotFound) => super::not_found(v.lang),
        Err(e) => v.error(e),
    }
}
