//! The deadline monitor as a pure function: which warnings and breaches are due now.
//!
//! The server calls [`Monitor::check`] on a timer with the open tasks and sends what it
//! returns (in the app and by webhook). The monitor remembers the level it last reported
//! per task and deadline, so an event is emitted once; changing a task's deadline starts
//! its levels again.

use crate::clock;
use crate::model::{Party, Task};
use serde::Serialize;
use std::collections::HashMap;

/// What a task's clock says.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EventKind {
    /// A warning fraction of the time is used.
    Warn {
        /// The fraction crossed (0.5 = half the time).
        fraction: f64,
    },
    /// The deadline has passed without an answer.
    Breach,
}

/// One notification to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The task.
    pub task_id: String,
    /// Warning or breach.
    #[serde(flatten)]
    pub kind: EventKind,
    /// The fraction of the time used when checked.
    pub used: f64,
    /// The (pause-extended) deadline, Unix ms.
    pub deadline_ms: i64,
}

/// Levels already reported: per task, the deadline they were computed for and the level.
#[derive(Debug, Clone, Default)]
pub struct Monitor {
    fractions: Vec<f64>,
    reported: HashMap<String, (i64, u8)>,
}

/// The level a task's clock is at: 0 = nothing due, `i + 1` = warning fraction `i` crossed,
/// `fractions.len() + 1` = breached.
pub fn level(task: &Task, now: i64, fractions: &[f64]) -> u8 {
    if !task.status.is_open() {
        return 0;
    }
    let used = clock::used_ms(task, now);
    let budget = clock::budget_ms(task);
    if used > budget {
        return fractions.len() as u8 + 1;
    }
    let f = used as f64 / budget as f64;
    fractions.iter().take_while(|&&x| f >= x).count() as u8
}

/// Who hears of an event. A warning goes to the assignees (their unit head when no user
/// is named) and the requester; a breach also goes to every assignee's unit head.
/// `unit_head(org, unit)` looks the head up in the deployment's directory.
pub fn recipients(
    task: &Task,
    kind: EventKind,
    unit_head: &dyn Fn(&str, &str) -> Option<String>,
) -> Vec<Party> {
    let mut out: Vec<Party> = Vec::new();
    let mut push = |p: Party| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    for a in &task.assignees {
        let head = a
            .unit
            .as_deref()
            .and_then(|u| unit_head(&a.org, u))
            .map(|h| Party::new(&a.org, a.unit.as_deref(), Some(&h)));
        if a.user.is_some() {
            push(a.clone());
        } else if let Some(h) = head.clone() {
            push(h);
        } else {
            push(a.clone());
        }
        if matches!(kind, EventKind::Breach) {
            if let Some(h) = head {
                push(h);
            }
        }
    }
    push(task.requester.clone());
    out
}

impl Monitor {
    /// A monitor warning at `fractions` (ascending, each in (0, 1)).
    pub fn new(fractions: &[f64]) -> Self {
        Monitor {
            fractions: fractions.to_vec(),
            reported: HashMap::new(),
        }
    }

    /// A monitor that knows levels already reported (e.g. restored after a restart):
    /// `(task id, deadline ms, level)`.
    pub fn with_reported<I: IntoIterator<Item = (String, i64, u8)>>(
        fractions: &[f64],
        reported: I,
    ) -> Self {
        let mut m = Monitor::new(fractions);
        m.reported = reported
            .into_iter()
            .map(|(id, d, l)| (id, (d, l)))
            .collect();
        m
    }

    /// The events due at `now` over `tasks`, each reported once: a task that crossed
    /// several levels since the last check yields only the highest. Tasks that are no
    /// longer open are forgotten. Who hears of an event is [`recipients`]' answer; the
    /// sender asks it, so the check itself stays cheap.
    pub fn check<'a, I>(&mut self, tasks: I, now: i64) -> Vec<Event>
    where
        I: IntoIterator<Item = &'a Task>,
    {
        let mut events = Vec::new();
        let tasks = tasks.into_iter();
        if self.reported.is_empty() {
            self.reported.reserve(tasks.size_hint().0);
        }
        for task in tasks {
            if !task.status.is_open() {
                if !self.reported.is_empty() {
                    self.reported.remove(&task.id);
                }
                continue;
            }
            let lvl = level(task, now, &self.fractions);
            let prev = match self.reported.get(&task.id) {
                Some(&(d, l)) if d == task.deadline => l,
                _ => 0,
            };
            if lvl <= prev {
                continue;
            }
            self.reported.insert(task.id.clone(), (task.deadline, lvl));
            let kind = if usize::from(lvl) > self.fractions.len() {
                EventKind::Breach
            } else {
                EventKind::Warn {
                    fraction: self.fractions[usize::from(lvl) - 1],
                }
            };
            events.push(Event {
                task_id: task.id.clone(),
                kind,
                used: clock::fraction_used(task, now),
                deadline_ms: clock::effective_deadline(task, now),
            });
        }
        events
    }

    /// Forget the tasks not in `open` (closed, cancelled, deleted or no longer
    /// readable), returning their ids so the caller can forget them too.
    pub fn forget_others(&mut self, open: &std::collections::HashSet<&str>) -> Vec<String> {
        let gone: Vec<String> = self
            .reported
            .keys()
            .filter(|k| !open.contains(k.as_str()))
            .cloned()
            .collect();
        for k in &gone {
            self.reported.remove(k);
        }
        gone
    }

    /// The level reported for a task: `(deadline ms, level)`.
    pub fn reported_for(&self, task_id: &str) -> Option<(i64, u8)> {
        self.reported.get(task_id).copied()
    }

    /// What the monitor has reported: `(task id, deadline ms, level)`, to persist.
    pub fn reported(&self) -> impl Iterator<Item = (&str, i64, u8)> {
        self.reported
            .iter()
            .map(|(id, &(d, l))| (id.as_str(), d, l))
    }
}
