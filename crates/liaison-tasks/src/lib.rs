//! Tasks between organizations and the alerts that feed them, as pure domain logic (no IO).
//!
//! - [`Task`] is the typed form of the `x-liaison-task` STIX object (declared by the
//!   `new-sdo` extension definition [`task_extension_definition`]); every change made by
//!   [`apply`] is a new version, and the versions are the task's history.
//! - [`clock`]: time used is the time since assignment minus the pauses (waiting on the
//!   requester); [`Templates`] give default deadlines per type and priority.
//! - [`Monitor`] computes the warnings and breaches due at a time, each once.
//! - [`stats()`] gives completion cycle, on-time rate and backlog per quarter and group.
//! - [`sign`] signs webhook bodies (HMAC-SHA256).
//! - [`alert`] aggregates screening hits into sightings and alerts, detects bursts and
//!   holds the triage rules.
//!
//! ```
//! use liaison_tasks::{apply, Action, Party, Priority, Status, Task, TaskType, Templates};
//! let now = 1_780_000_000_000;
//! let req = Party::new("ministry", Some("cyber"), Some("dana"));
//! let deadline = Templates::default().deadline(TaskType::Rfi, Priority::Urgent, now);
//! let t = Task::draft("x-liaison-task--6f1c3a52-3a9b-4b8e-9d3e-5c1f2b3a4d5e".into(), now,
//!     "Who is behind GRIDSPIKE?", TaskType::Rfi, Priority::Urgent, req.clone(), deadline).unwrap();
//! let t = apply(&t, &req, Action::Assign(vec![Party::new("cert", Some("analysis"), None)]), now + 1).unwrap();
//! let alice = Party::new("cert", Some("analysis"), Some("alice"));
//! let t = apply(&t, &alice, Action::Accept, now + 2).unwrap();
//! assert_eq!(t.status, Status::Accepted);
//! // Closing before an answer is refused, naming both statuses.
//! let e = apply(&t, &req, Action::Close, now + 3).unwrap_err();
//! assert!(e.to_string().contains("accepted") && e.to_string().contains("closed"));
//! ```

pub mod alert;
pub mod clock;
pub mod directory;
mod model;
pub mod monitor;
pub mod ops;
pub mod sign;
pub mod stats;
mod template;
pub mod time;
mod transition;

pub use directory::Directory;
pub use model::{
    check_deadline, parse_deadline, parse_duration_ms, task_extension_definition, Party, Pause,
    Priority, Status, Task, TaskType, TASK_EXTENSION_ID, TASK_TYPE,
};
pub use monitor::{Event, EventKind, Monitor};
pub use ops::{actor_of, NewTask, TaskFilter};
pub use stats::{stats, Figures, Quarter, TaskStats};
pub use template::Templates;
pub use transition::{apply, Action, Update};

/// Why a task operation was refused. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The status machine does not allow this move.
    #[error("illegal transition: the task is {from} and cannot become {to} (from {from} it may become: {})", names(allowed))]
    IllegalTransition {
        /// Current status.
        from: Status,
        /// Requested status.
        to: Status,
        /// What the current status allows.
        allowed: Vec<Status>,
    },
    /// The action is not possible in the task's current state.
    #[error("cannot {action} a task that is {status}: {why}")]
    NotNow {
        /// The action.
        action: &'static str,
        /// Current status.
        status: Status,
        /// Why not.
        why: String,
    },
    /// The actor is not the party allowed to do this.
    #[error("{actor} may not {action} this task: {why}")]
    NotPermitted {
        /// Who tried.
        actor: String,
        /// What.
        action: &'static str,
        /// Who may.
        why: String,
    },
    /// The deadline is not in the future.
    #[error("the deadline {deadline} is in the past (now: {now})")]
    DeadlineInPast {
        /// The deadline given.
        deadline: String,
        /// The current time.
        now: String,
    },
    /// The assignee is not in the deployment's directory.
    #[error("unknown assignee '{assignee}': {why}")]
    UnknownAssignee {
        /// The assignee as given.
        assignee: String,
        /// What is missing.
        why: String,
    },
    /// The assignee may not read the task's label.
    #[error("assignee '{assignee}' may not read the task's label {label}: {hint}")]
    AssigneeCannotRead {
        /// The assignee.
        assignee: String,
        /// The label's banner.
        label: String,
        /// What to do.
        hint: String,
    },
    /// The requester asked at a label it cannot read itself.
    #[error("the label {label} is beyond {requester}'s clearance, compartments or releasability: a requester may only ask at a label they can read")]
    BeyondClearance {
        /// The requester.
        requester: String,
        /// The label's banner.
        label: String,
    },
    /// A value is malformed.
    #[error("{path}: {reason}")]
    Invalid {
        /// Where.
        path: String,
        /// What was expected.
        reason: String,
    },
}

fn names(s: &[Status]) -> String {
    if s.is_empty() {
        return "nothing, it is final".into();
    }
    s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}
