//! The task clock: time used is the time since assignment minus the pauses.

use crate::model::{Status, Task};

/// When the clock started: the first assignment (the creation, before one).
pub fn start(task: &Task) -> i64 {
    task.assigned.unwrap_or(task.created)
}

/// Milliseconds the clock stood still up to `now` (an open pause counts up to `now`).
pub fn paused_ms(task: &Task, now: i64) -> i64 {
    task.paused
        .iter()
        .map(|p| (p.to.unwrap_or(now).min(now) - p.from).max(0))
        .sum()
}

/// The time the task was given: deadline minus start (at least 1 ms).
pub fn budget_ms(task: &Task) -> i64 {
    (task.deadline - start(task)).max(1)
}

/// When the clock stops: the answer, or the end, or `now` while the task runs.
pub fn stop(task: &Task, now: i64) -> i64 {
    match task.status {
        Status::Answered | Status::Closed => task.answered.unwrap_or(now).min(now),
        Status::Cancelled | Status::Rejected => task.ended.unwrap_or(now).min(now),
        _ => now,
    }
}

/// Time used at `now`: elapsed since the start, minus pauses.
pub fn used_ms(task: &Task, now: i64) -> i64 {
    let end = stop(task, now);
    (end - start(task) - paused_ms(task, end)).max(0)
}

/// The fraction of the budget used at `now` (1.0 = the deadline).
pub fn fraction_used(task: &Task, now: i64) -> f64 {
    used_ms(task, now) as f64 / budget_ms(task) as f64
}

/// The deadline pushed back by the pauses so far.
pub fn effective_deadline(task: &Task, now: i64) -> i64 {
    task.deadline + paused_ms(task, now)
}

/// Whether the answer came in time (the clock, pauses excluded, within the budget).
/// `None` while unanswered.
pub fn on_time(task: &Task) -> Option<bool> {
    let answered = task.answered?;
    Some(used_ms_at(task, answered) <= budget_ms(task))
}

fn used_ms_at(task: &Task, at: i64) -> i64 {
    (at - start(task) - paused_ms(task, at)).max(0)
}
