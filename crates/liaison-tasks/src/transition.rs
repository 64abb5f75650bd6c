//! What may happen to a task, and who may make it happen.
//!
//! [`apply`] takes a task, an actor and an [`Action`] and returns the next version, or
//! an error that names the current and the requested status and changes nothing.

use crate::model::{check_deadline, Party, Pause, Priority, Status, Task};
use crate::TaskError;

/// A change to a task.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Give the task to assignees (draft, rejected, or re-assign while assigned). Requester side.
    Assign(Vec<Party>),
    /// Take the task on. Assignee.
    Accept,
    /// Refuse the task, with a reason. Assignee.
    Reject(String),
    /// Start work. Assignee.
    Start,
    /// Stop the clock while waiting on the requester, with a reason. Assignee.
    Pause(String),
    /// Restart the clock. Either side.
    Resume,
    /// Hand in the answer (a report or note id). Assignee.
    Answer(Option<String>),
    /// Accept the answer and close. Requester side.
    Close,
    /// Send an answer back for more work, with a reason. Requester side.
    Reopen(String),
    /// Withdraw the task, with a reason. Requester side.
    Cancel(String),
    /// Change details (not the status). Requester side.
    Update(Update),
}

/// Details the requester may change while the task is not final.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New deadline (must lie in the future).
    pub deadline: Option<i64>,
    /// Intelligence to link.
    pub add_refs: Vec<String>,
}

impl Action {
    /// The status the action leads to (`None`: the status stays).
    pub fn target(&self, current: Status) -> Option<Status> {
        Some(match self {
            Action::Assign(_) => Status::Assigned,
            Action::Accept => Status::Accepted,
            Action::Reject(_) => Status::Rejected,
            Action::Start => Status::InProgress,
            Action::Answer(_) => Status::Answered,
            Action::Close => Status::Closed,
            Action::Reopen(_) => Status::InProgress,
            Action::Cancel(_) => Status::Cancelled,
            Action::Pause(_) | Action::Resume | Action::Update(_) => {
                let _ = current;
                return None;
            }
        })
    }

    /// The verb, for messages.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Assign(_) => "assign",
            Action::Accept => "accept",
            Action::Reject(_) => "reject",
            Action::Start => "start",
            Action::Pause(_) => "pause",
            Action::Resume => "resume",
            Action::Answer(_) => "answer",
            Action::Close => "close",
            Action::Reopen(_) => "reopen",
            Action::Cancel(_) => "cancel",
            Action::Update(_) => "update",
        }
    }

    fn by_assignee(&self) -> bool {
        matches!(
            self,
            Action::Accept
                | Action::Reject(_)
                | Action::Start
                | Action::Pause(_)
                | Action::Answer(_)
        )
    }
}

/// Apply `action` by `actor` at `now`: the next version of the task, with `modified`
/// later than the current version's. Nothing changes on error.
pub fn apply(task: &Task, actor: &Party, action: Action, now: i64) -> Result<Task, TaskError> {
    let who_ok = match &action {
        Action::Resume => task.is_assignee(actor) || task.is_requester(actor),
        a if a.by_assignee() => task.is_assignee(actor),
        _ => task.is_requester(actor),
    };
    if !who_ok {
        return Err(TaskError::NotPermitted {
            actor: actor.to_string(),
            action: action.verb(),
            why: if action.by_assignee() {
                format!(
                    "only an assignee ({}) may",
                    list(&task.assignees).unwrap_or_else(|| "none yet".into())
                )
            } else {
                format!("only the requester ({}) may", task.requester)
            },
        });
    }
    if let Some(to) = action.target(task.status) {
        if !task.status.next().contains(&to) {
            return Err(TaskError::IllegalTransition {
                from: task.status,
                to,
                allowed: task.status.next().to_vec(),
            });
        }
    }
    let mut t = task.clone();
    t.modified = now.max(task.modified + 1);
    let at = t.modified;
    match action {
        Action::Assign(parties) => {
            if parties.is_empty() {
                return Err(TaskError::Invalid {
                    path: "assignees".into(),
                    reason: "assign needs at least one assignee".into(),
                });
            }
            check_deadline(t.deadline, now)?;
            t.assignees = parties;
            t.assigned.get_or_insert(at);
            t.status = Status::Assigned;
            t.status_reason = None;
        }
        Action::Accept => t.status = Status::Accepted,
        Action::Reject(reason) => {
            t.status = Status::Rejected;
            t.status_reason = Some(reason);
            end_pause(&mut t, at);
        }
        Action::Start => t.status = Status::InProgress,
        Action::Pause(reason) => {
            if !matches!(t.status, Status::Accepted | Status::InProgress) {
                return Err(TaskError::NotNow {
                    action: "pause",
                    status: t.status,
                    why: "only an accepted or in-progress task waits on its requester".into(),
                });
            }
            if t.is_paused() {
                return Err(TaskError::NotNow {
                    action: "pause",
                    status: t.status,
                    why: "the clock is already paused".into(),
                });
            }
            t.paused.push(Pause {
                from: at,
                to: None,
                reason,
            });
        }
        Action::Resume => {
            if !t.is_paused() {
                return Err(TaskError::NotNow {
                    action: "resume",
                    status: t.status,
                    why: "the clock is not paused".into(),
                });
            }
            end_pause(&mut t, at);
        }
        Action::Answer(answer_ref) => {
            end_pause(&mut t, at);
            t.status = Status::Answered;
            t.answered = Some(at);
            if answer_ref.is_some() {
                t.answer_ref = answer_ref;
            }
        }
        Action::Close => {
            t.status = Status::Closed;
            t.ended = Some(at);
        }
        Action::Reopen(reason) => {
            t.status = Status::InProgress;
            t.status_reason = Some(reason);
        }
        Action::Cancel(reason) => {
            end_pause(&mut t, at);
            t.status = Status::Cancelled;
            t.ended = Some(at);
            t.status_reason = Some(reason);
        }
        Action::Update(u) => {
            if t.status.is_final() {
                return Err(TaskError::NotNow {
                    action: "update",
                    status: t.status,
                    why: "a closed or cancelled task does not change".into(),
                });
            }
            if let Some(d) = u.deadline {
                check_deadline(d, now)?;
                t.deadline = d;
            }
            if let Some(x) = u.title {
                if x.trim().is_empty() {
                    return Err(TaskError::Invalid {
                        path: "title".into(),
                        reason: "a task needs a title".into(),
                    });
                }
                t.title = x;
            }
            if let Some(x) = u.description {
                t.description = Some(x);
            }
            if let Some(p) = u.priority {
                t.priority = p;
            }
            for r in u.add_refs {
                if !t.object_refs.contains(&r) {
                    t.object_refs.push(r);
                }
            }
        }
    }
    Ok(t)
}

fn end_pause(t: &mut Task, at: i64) {
    if let Some(p) = t.paused.last_mut() {
        if p.to.is_none() {
            p.to = Some(at);
        }
    }
}

fn list(parties: &[Party]) -> Option<String> {
    if parties.is_empty() {
        return None;
    }
    Some(
        parties
            .iter()
            .map(Party::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    )
}
