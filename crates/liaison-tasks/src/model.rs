//! The task: its STIX form, its kinds, its status machine.

use crate::time::{fmt_ms, parse_ms};
use crate::TaskError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::fmt;
use std::str::FromStr;

/// The STIX type of a task.
pub const TASK_TYPE: &str = "x-liaison-task";

/// The fixed id of the extension definition that declares `x-liaison-task` (`new-sdo`).
pub const TASK_EXTENSION_ID: &str = "extension-definition--0d6c1a8e-2f4b-4c55-9e7a-6b1f3c2d4e51";

/// The extension-definition object declaring the task SDO; ship it with every task
/// export so partners can resolve it.
pub fn task_extension_definition() -> Value {
    json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": TASK_EXTENSION_ID,
        "created_by_ref": liaison_stix::label::LIAISON_IDENTITY_ID,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Liaison task",
        "description": "A task one organization gives another (request for information, collection, analysis, joint response) with a deadline, a status and an answer. Every change is a new version.",
        "schema": "https://liaison.invalid/schemas/x-liaison-task.json",
        "version": "1.0.0",
        "extension_types": ["new-sdo"]
    })
}

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal $(| $alias:literal)*),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $v),* }
        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$v),*];
            /// The STIX property value.
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $s),* } }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = TaskError;
            fn from_str(s: &str) -> Result<Self, TaskError> {
                let t = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                match t.as_str() {
                    $($s $(| $alias)* => Ok($name::$v),)*
                    _ => Err(TaskError::Invalid {
                        path: stringify!($name).to_ascii_lowercase(),
                        reason: format!("unknown {} '{s}' (expected one of: {})",
                            stringify!($name).to_ascii_lowercase(),
                            [$($s),*].join(", ")),
                    }),
                }
            }
        }
    };
}

str_enum!(
    /// What kind of work a task asks for.
    TaskType {
        /// Request for information.
        Rfi = "rfi" | "request_for_information",
        /// Collection task.
        Collection = "collection",
        /// Analysis task.
        Analysis = "analysis",
        /// Joint response.
        JointResponse = "joint_response" | "joint",
    }
);

str_enum!(
    /// How urgent a task is.
    Priority {
        /// Answer within hours.
        Urgent = "urgent",
        /// Answer within days.
        High = "high",
        /// Routine.
        Normal = "normal" | "medium",
        /// When convenient.
        Low = "low",
    }
);

str_enum!(
    /// Where a task stands.
    Status {
        /// Written, not yet given to anyone.
        Draft = "draft",
        /// Given to assignees, not yet accepted.
        Assigned = "assigned",
        /// Accepted by an assignee.
        Accepted = "accepted",
        /// Being worked on.
        InProgress = "in_progress",
        /// Answered; the requester has not closed it yet.
        Answered = "answered",
        /// Done.
        Closed = "closed",
        /// Refused by the assignee.
        Rejected = "rejected",
        /// Withdrawn by the requester.
        Cancelled = "cancelled" | "canceled",
    }
);

impl Status {
    /// Whether the task still runs against its deadline.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Assigned | Status::Accepted | Status::InProgress
        )
    }

    /// Whether nothing more can happen to the task.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Cancelled)
    }

    /// The statuses a task may move to from this one.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Draft => &[Assigned, Cancelled],
            Assigned => &[Assigned, Accepted, Rejected, Cancelled],
            Accepted => &[InProgress, Answered, Cancelled],
            InProgress => &[Answered, Cancelled],
            // The requester may send an answer back for more work.
            Answered => &[Closed, InProgress],
            // A rejected task may be given to someone else, or withdrawn.
            Rejected => &[Assigned, Cancelled],
            Closed | Cancelled => &[],
        }
    }
}

/// An organization, optionally narrowed to a unit and a user.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Party {
    /// Organization id.
    pub org: String,
    /// Unit id within the organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl Party {
    /// A party from its parts.
    pub fn new(org: &str, unit: Option<&str>, user: Option<&str>) -> Self {
        Party {
            org: org.to_string(),
            unit: unit.map(str::to_string),
            user: user.map(str::to_string),
        }
    }

    /// Parse `org[/unit][:user]`, e.g. `ministry/soc:dana`, `cert:alice`, `isac`.
    pub fn parse(text: &str) -> Result<Self, TaskError> {
        let bad = || TaskError::Invalid {
            path: "assignee".into(),
            reason: format!("'{text}' is not org[/unit][:user]"),
        };
        let (ou, user) = match text.split_once(':') {
            Some((a, u)) => (a, Some(u)),
            None => (text, None),
        };
        let (org, unit) = match ou.split_once('/') {
            Some((o, u)) => (o, Some(u)),
            None => (ou, None),
        };
        if org.is_empty() || unit == Some("") || user == Some("") {
            return Err(bad());
        }
        Ok(Party::new(org, unit, user))
    }

    /// Whether an actor (a user of an org and unit) is this party or inside it.
    pub fn covers(&self, actor: &Party) -> bool {
        self.org == actor.org
            && self
                .unit
                .as_ref()
                .is_none_or(|u| actor.unit.as_ref() == Some(u))
            && self
                .user
                .as_ref()
                .is_none_or(|u| actor.user.as_ref() == Some(u))
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.org)?;
        if let Some(u) = &self.unit {
            write!(f, "/{u}")?;
        }
        if let Some(u) = &self.user {
            write!(f, ":{u}")?;
        }
        Ok(())
    }
}

/// A stretch of time the clock stood still (waiting on the requester).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// When the pause began.
    #[serde(with = "crate::time::ts")]
    pub from: i64,
    /// When it ended; `None` while it lasts.
    #[serde(
        default,
        with = "crate::time::ts_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub to: Option<i64>,
    /// Why.
    pub reason: String,
}

/// A task as a typed value. Times are Unix milliseconds; [`Task::to_stix`] and
/// [`Task::from_stix`] convert to and from the `x-liaison-task` STIX object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// `x-liaison-task--<uuid>`.
    pub id: String,
    /// Creation time.
    #[serde(with = "crate::time::ts")]
    pub created: i64,
    /// Time of this version.
    #[serde(with = "crate::time::ts")]
    pub modified: i64,
    /// Short title.
    pub title: String,
    /// What is asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Kind of work.
    pub task_type: TaskType,
    /// Urgency.
    pub priority: Priority,
    /// Who asks.
    pub requester: Party,
    /// Who must answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<Party>,
    /// When the answer is due (before pauses are added).
    #[serde(with = "crate::time::ts")]
    pub deadline: i64,
    /// Where it stands.
    pub status: Status,
    /// When the clock started: the first assignment.
    #[serde(
        default,
        with = "crate::time::ts_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub assigned: Option<i64>,
    /// When it was (last) answered.
    #[serde(
        default,
        with = "crate::time::ts_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub answered: Option<i64>,
    /// When it was closed, rejected or cancelled.
    #[serde(
        default,
        with = "crate::time::ts_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub ended: Option<i64>,
    /// Pauses of the clock.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paused: Vec<Pause>,
    /// Intelligence the task is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_refs: Vec<String>,
    /// The answer: a report or a note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_ref: Option<String>,
    /// Why the task was rejected or cancelled, or the last remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

/// STIX properties the typed task carries; everything else of the object is kept as is.
const TASK_KEYS: &[&str] = &[
    "id",
    "created",
    "modified",
    "title",
    "description",
    "task_type",
    "priority",
    "requester",
    "assignees",
    "deadline",
    "status",
    "assigned",
    "answered",
    "ended",
    "paused",
    "object_refs",
    "answer_ref",
    "status_reason",
];

impl Task {
    /// The STIX object of this version. `extra` holds properties to keep (the label
    /// extension, markings, `created_by_ref`); the task's own properties replace theirs.
    pub fn to_stix(&self, extra: Option<&Map<String, Value>>) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!(TASK_TYPE));
        m.insert("spec_version".into(), json!("2.1"));
        if let Some(extra) = extra {
            for (k, v) in extra {
                if !TASK_KEYS.contains(&k.as_str()) && k != "type" && k != "spec_version" {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        if let Ok(Value::Object(own)) = serde_json::to_value(self) {
            for (k, v) in own {
                m.insert(k, v);
            }
        }
        let exts = m.entry("extensions").or_insert_with(|| json!({}));
        if !exts.is_object() {
            *exts = json!({});
        }
        if let Value::Object(e) = exts {
            e.insert(
                TASK_EXTENSION_ID.into(),
                json!({"extension_type": "new-sdo"}),
            );
        }
        Value::Object(m)
    }

    /// Read a task from its STIX object; an error names the JSON path.
    pub fn from_stix(v: &Value) -> Result<Task, TaskError> {
        let ty = v.get("type").and_then(Value::as_str);
        if ty != Some(TASK_TYPE) {
            return Err(TaskError::Invalid {
                path: "$.type".into(),
                reason: format!("expected '{TASK_TYPE}', found {ty:?}"),
            });
        }
        // Deserialized from the borrowed value: the monitor reads 100,000 tasks a tick.
        let task = Task::deserialize(v).map_err(|e| TaskError::Invalid {
            path: "$".into(),
            reason: format!("not a valid {TASK_TYPE}: {e}"),
        })?;
        Ok(task)
    }

    /// A new draft task. The deadline must lie after `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn draft(
        id: String,
        now: i64,
        title: &str,
        task_type: TaskType,
        priority: Priority,
        requester: Party,
        deadline: i64,
    ) -> Result<Task, TaskError> {
        if title.trim().is_empty() {
            return Err(TaskError::Invalid {
                path: "title".into(),
                reason: "a task needs a title".into(),
            });
        }
        check_deadline(deadline, now)?;
        Ok(Task {
            id,
            created: now,
            modified: now,
            title: title.to_string(),
            description: None,
            task_type,
            priority,
            requester,
            assignees: vec![],
            deadline,
            status: Status::Draft,
            assigned: None,
            answered: None,
            ended: None,
            paused: vec![],
            object_refs: vec![],
            answer_ref: None,
            status_reason: None,
        })
    }

    /// Whether the task is past its (pause-extended) deadline at `now` and still open.
    pub fn is_overdue(&self, now: i64) -> bool {
        self.status.is_open() && now > crate::clock::effective_deadline(self, now)
    }

    /// Whether the clock is stopped now.
    pub fn is_paused(&self) -> bool {
        self.paused.last().is_some_and(|p| p.to.is_none())
    }

    /// Whether `actor` is among the assignees.
    pub fn is_assignee(&self, actor: &Party) -> bool {
        self.assignees.iter().any(|a| a.covers(actor))
    }

    /// Whether `actor` is on the requesting side (the requester party covers it).
    pub fn is_requester(&self, actor: &Party) -> bool {
        // The requester is recorded down to the user; anyone of the requesting unit (or
        // organization, without a unit) acts for it.
        let side = Party {
            org: self.requester.org.clone(),
            unit: self.requester.unit.clone(),
            user: None,
        };
        side.covers(actor)
    }
}

/// A deadline must lie in the future.
pub fn check_deadline(deadline: i64, now: i64) -> Result<(), TaskError> {
    if deadline <= now {
        return Err(TaskError::DeadlineInPast {
            deadline: fmt_ms(deadline),
            now: fmt_ms(now),
        });
    }
    Ok(())
}

/// Parse a deadline given as an RFC 3339 time or as a duration from now (`24h`, `3d`, `90m`).
pub fn parse_deadline(text: &str, now: i64) -> Result<i64, TaskError> {
    let t = text.trim();
    if let Some(d) = parse_duration_ms(t) {
        return Ok(now + d);
    }
    parse_ms(t).map_err(|reason| TaskError::Invalid {
        path: "deadline".into(),
        reason: format!("{reason} (or give a duration such as 24h, 3d, 90m)"),
    })
}

/// `90m`, `24h`, `3d`, `2w` → milliseconds.
pub fn parse_duration_ms(t: &str) -> Option<i64> {
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let per = match unit {
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(per)
}
