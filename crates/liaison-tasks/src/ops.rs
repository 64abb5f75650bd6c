//! The parts of a task operation that need no store: preparing a new task (type,
//! priority, deadline, label, directory checks), the STIX object of a version with its
//! label, the subject a version is written as, and the list filters. The CLI and the
//! server's REST API both go through these (and `liaison_server::tasks_api::Work` for
//! the store reads and writes), so the rules live in one place.

use crate::clock;
use crate::directory::Directory;
use crate::model::{Party, Priority, Status, Task, TaskType, TASK_TYPE};
use crate::template::Templates;
use crate::transition::{apply, Action};
use crate::{parse_deadline, TaskError};
use liaison_policy::{can_read, Label, Policy, Releasability, Role, Subject};
use liaison_stix::label::{set_tlp, LabelExtension};
use liaison_stix::StixObject;
use serde::Deserialize;
use serde_json::Value;

const H: i64 = 3_600_000;

/// What a new task needs (`liaison task new`, `POST /api/v1/tasks`, or an alert
/// escalated into a task).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewTask {
    /// Short title.
    pub title: String,
    /// `rfi`, `collection`, `analysis`, `joint_response` (default `rfi`).
    #[serde(default, rename = "type")]
    pub task_type: Option<String>,
    /// `urgent`, `high`, `normal`, `low` (default `normal`).
    #[serde(default)]
    pub priority: Option<String>,
    /// RFC 3339 time or a duration from now (`24h`); default: the template.
    #[serde(default)]
    pub deadline: Option<String>,
    /// What is asked.
    #[serde(default)]
    pub description: Option<String>,
    /// Assignees: `org`, `org/unit` or `org/unit:user`; the task is assigned at once.
    #[serde(default)]
    pub assignees: Vec<String>,
    /// Intelligence the task is about.
    #[serde(default)]
    pub refs: Vec<String>,
    /// The label (resolved by the caller from a banner); default: the lowest level,
    /// readable by the requester's and the assignees' organizations.
    #[serde(skip)]
    pub label: Option<Label>,
}

/// The acting user as a task party.
pub fn actor_of(s: &Subject) -> Party {
    Party::new(&s.org, s.unit.as_deref(), Some(&s.name))
}

/// Parse a list of assignees.
pub fn parse_parties(list: &[String]) -> Result<Vec<Party>, TaskError> {
    list.iter().map(|x| Party::parse(x)).collect()
}

/// Prepare a new task asked by `requester` at `now`, with id `id`: the task (assigned
/// when assignees are given) and its label. Refused, with the reason, when the label is
/// beyond the requester's clearance, an assignee is unknown or cannot read the label,
/// or the deadline is in the past. References are checked by the caller (a store read).
#[allow(clippy::too_many_arguments)]
pub fn prepare_new(
    a: &NewTask,
    requester: &Subject,
    dir: &Directory,
    templates: &Templates,
    policy: &Policy,
    id: String,
    now: i64,
) -> Result<(Task, Label), TaskError> {
    let ty: TaskType = a.task_type.as_deref().unwrap_or("rfi").parse()?;
    let prio: Priority = a.priority.as_deref().unwrap_or("normal").parse()?;
    let deadline = match &a.deadline {
        Some(d) => parse_deadline(d, now)?,
        None => templates.deadline(ty, prio, now),
    };
    let assignees = parse_parties(&a.assignees)?;
    let label = match &a.label {
        Some(l) => l.clone(),
        None => {
            let mut l = Label::public(Some(requester.org.clone()));
            l.releasable_to = Releasability::to(
                assignees
                    .iter()
                    .map(|p| p.org.clone())
                    .filter(|o| o != &requester.org),
            );
            l
        }
    };
    if !can_read(requester, &label) {
        return Err(TaskError::BeyondClearance {
            requester: requester.name.clone(),
            label: policy.banner(&label),
        });
    }
    for p in &assignees {
        dir.check_assignee(p, &label, policy)?;
    }
    let me = actor_of(requester);
    let mut task = Task::draft(id, now, &a.title, ty, prio, me.clone(), deadline)?;
    task.description = a.description.clone();
    task.object_refs = a.refs.clone();
    if !assignees.is_empty() {
        task = apply(&task, &me, Action::Assign(assignees), now)?;
    }
    Ok((task, label))
}

/// The subject a new version of a task is written as. The task belongs to the
/// requesting organization; an assignee of another organization changes it through the
/// task rules (checked by [`apply`]), so the version is written on the owner's behalf
/// with the actor's own clearance, compartments and roles (a reader still cannot write).
pub fn writer_for(actor: &Subject, label: &Label) -> Result<Subject, TaskError> {
    let mut writer = actor.clone();
    if let Some(owner) = &label.owner {
        if !actor.has_role(Role::Analyst) {
            return Err(TaskError::NotPermitted {
                actor: actor.name.clone(),
                action: "change",
                why: "only analysts change tasks".into(),
            });
        }
        writer.org = owner.clone();
        writer.roles.remove(&Role::Admin);
        writer.roles.insert(Role::Analyst);
    }
    Ok(writer)
}

/// Write a label into an object: the label extension and the TLP marking.
pub fn write_label(obj: &mut StixObject, label: &Label, policy: &Policy) {
    LabelExtension {
        level: policy.level_name(label.level).to_string(),
        compartments: label.compartments.iter().cloned().collect(),
        releasable_to: match &label.releasable_to {
            Releasability::All => vec!["*".into()],
            Releasability::To(set) => set.iter().cloned().collect(),
        },
        owner: label.owner.clone(),
    }
    .write(obj);
    if let Some(t) = liaison_stix::tlp::Tlp::parse(label.tlp.as_str()) {
        set_tlp(obj, t);
    }
}

/// The STIX object of a task version. `previous` (the stored previous version, label
/// written in) keeps properties the task does not own; the first version gets `label`.
pub fn task_object(
    task: &Task,
    previous: Option<&Value>,
    label: &Label,
    policy: &Policy,
) -> Result<StixObject, TaskError> {
    let mut obj = StixObject::from_value(task.to_stix(previous.and_then(Value::as_object)))
        .map_err(|e| TaskError::Invalid {
            path: e.path().to_string(),
            reason: e.message().to_string(),
        })?;
    if previous.is_none() {
        write_label(&mut obj, label, policy);
    }
    Ok(obj)
}

/// Filters of `task list` and `GET /api/v1/tasks`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TaskFilter {
    /// Tasks the user requested or that are assigned to the user by name.
    #[serde(default)]
    pub mine: bool,
    /// Tasks requested by or assigned to the user's unit.
    #[serde(default)]
    pub my_unit: bool,
    /// Open tasks past their deadline.
    #[serde(default)]
    pub overdue: bool,
    /// Open tasks due within this many hours (overdue ones included).
    #[serde(default)]
    pub due_within: Option<u32>,
    /// Only this status.
    #[serde(default)]
    pub status: Option<Status>,
    /// Closed and cancelled tasks too.
    #[serde(default)]
    pub all: bool,
}

impl TaskFilter {
    /// Whether `t` passes, for the user `me` at `now`.
    pub fn matches(&self, t: &Task, me: &Party, now: i64) -> bool {
        (self.all || self.status.is_some() || !t.status.is_final())
            && self.status.is_none_or(|s| t.status == s)
            && (!self.mine
                || t.requester.user == me.user
                || t.assignees.iter().any(|p| p.user.is_some() && p.covers(me)))
            && (!self.my_unit || {
                let unit = |p: &Party| p.org == me.org && p.unit.is_some() && p.unit == me.unit;
                unit(&t.requester) || t.assignees.iter().any(unit)
            })
            && (!self.overdue || t.is_overdue(now))
            && self.due_within.is_none_or(|h| {
                t.status.is_open() && clock::effective_deadline(t, now) <= now + i64::from(h) * H
            })
    }
}

/// Whether a stored object is a task.
pub fn is_task(type_name: &str) -> bool {
    type_name == TASK_TYPE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{OrgEntry, UnitEntry};

    #[test]
    fn new_task_refused_beyond_clearance_and_for_unknown_assignee() {
        let policy = Policy::new(["UNCLASSIFIED", "SECRET"], ["GRID"]).unwrap();
        let mut dana = policy
            .subject(
                "dana",
                "ministry",
                "UNCLASSIFIED",
                ["GRID"],
                [Role::Analyst],
            )
            .unwrap();
        dana.unit = Some("cyber".into());
        let dir = Directory {
            orgs: vec![
                OrgEntry {
                    id: "ministry".into(),
                    units: vec![UnitEntry {
                        id: "cyber".into(),
                        head: None,
                    }],
                },
                OrgEntry {
                    id: "cert".into(),
                    units: vec![],
                },
            ],
            users: vec![dana.clone()],
        };
        let now = 1_780_000_000_000;
        let t = Templates::default();
        let mut a = NewTask {
            title: "Who?".into(),
            assignees: vec!["cert".into()],
            ..Default::default()
        };
        let (task, label) = prepare_new(&a, &dana, &dir, &t, &policy, "x".into(), now).unwrap();
        assert_eq!(task.status, Status::Assigned);
        assert!(label.readable_by_org("cert"));
        a.label = Some(
            policy
                .label(
                    "SECRET",
                    Vec::<String>::new(),
                    liaison_policy::Tlp::Clear,
                    "ministry",
                    Releasability::All,
                )
                .unwrap(),
        );
        let e = prepare_new(&a, &dana, &dir, &t, &policy, "x".into(), now).unwrap_err();
        assert!(matches!(e, TaskError::BeyondClearance { .. }), "{e}");
        a.label = None;
        a.assignees = vec!["isac".into()];
        let e = prepare_new(&a, &dana, &dir, &t, &policy, "x".into(), now).unwrap_err();
        assert!(matches!(e, TaskError::UnknownAssignee { .. }), "{e}");
        a.assignees = vec![];
        a.deadline = Some("2020-01-01T00:00:00Z".into());
        let e = prepare_new(&a, &dana, &dir, &t, &policy, "x".into(), now).unwrap_err();
        assert!(matches!(e, TaskError::DeadlineInPast { .. }), "{e}");
    }
}
