//! Figures for leaders: completion cycle, on-time rate and backlog per quarter,
//! by organization, unit, type and priority.
//!
//! - A task *completes* in the quarter in which it was answered.
//! - Its *cycle* is the wall time from its (first) assignment to its answer, in hours;
//!   the median is the middle value (mean of the two middle ones), p90 the nearest rank.
//! - It is *on time* when its clock (pauses excluded) did not run past its budget.
//! - The *backlog* is the tasks assigned and neither answered nor ended at the end of the
//!   quarter (or now, for the running quarter); *overdue* are those of the backlog past
//!   their pause-extended deadline then.
//! - A task counts for every assignee organization (and unit) it names.

use crate::clock;
use crate::model::Task;
use crate::TaskError;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quarter {
    /// Year.
    pub year: i32,
    /// 1 to 4.
    pub q: u8,
}

impl Quarter {
    /// Parse `2026Q4` (or `2026-Q4`, `2026q4`).
    pub fn parse(text: &str) -> Result<Quarter, TaskError> {
        let t = text.trim().to_ascii_uppercase().replace('-', "");
        let bad = || TaskError::Invalid {
            path: "quarter".into(),
            reason: format!("'{text}' is not a quarter such as 2026Q4"),
        };
        let (y, q) = t.split_once('Q').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let q: u8 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&q) || !(1970..=9999).contains(&year) {
            return Err(bad());
        }
        Ok(Quarter { year, q })
    }

    /// The quarter containing a Unix ms time.
    pub fn of(ms: i64) -> Quarter {
        let d = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        Quarter {
            year: d.year(),
            q: (d.month0() / 3 + 1) as u8,
        }
    }

    /// First instant (Unix ms).
    pub fn start_ms(self) -> i64 {
        month_start(self.year, u32::from(self.q.clamp(1, 4) - 1) * 3 + 1)
    }

    /// First instant after the quarter (Unix ms).
    pub fn end_ms(self) -> i64 {
        if self.q >= 4 {
            month_start(self.year + 1, 1)
        } else {
            month_start(self.year, u32::from(self.q.max(1)) * 3 + 1)
        }
    }
}

fn month_start(year: i32, month: u32) -> i64 {
    NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
        .unwrap_or_default()
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

/// The figures of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Tasks answered in the quarter.
    pub completed: u64,
    /// Of those, answered in time.
    pub on_time: u64,
    /// `on_time / completed`; `None` without completions.
    pub on_time_rate: Option<f64>,
    /// Median cycle in hours.
    pub cycle_median_hours: Option<f64>,
    /// 90th percentile cycle in hours (nearest rank).
    pub cycle_p90_hours: Option<f64>,
    /// Tasks open at the end of the quarter (or now).
    pub backlog: u64,
    /// Of the backlog, past their deadline then.
    pub overdue: u64,
}

/// The figures of a quarter, overall and by group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TaskStats {
    /// `2026Q4`.
    pub quarter: String,
    /// Every task.
    pub overall: Figures,
    /// By assignee organization.
    pub by_org: BTreeMap<String, Figures>,
    /// By assignee `org/unit`.
    pub by_unit: BTreeMap<String, Figures>,
    /// By task type.
    pub by_type: BTreeMap<String, Figures>,
    /// By priority.
    pub by_priority: BTreeMap<String, Figures>,
}

#[derive(Default)]
struct Acc {
    cycles: Vec<i64>,
    on_time: u64,
    backlog: u64,
    overdue: u64,
}

impl Acc {
    fn figures(mut self) -> Figures {
        self.cycles.sort_unstable();
        let n = self.cycles.len();
        let h = |ms: i64| ms as f64 / 3_600_000.0;
        let median = (n > 0).then(|| {
            if n % 2 == 1 {
                h(self.cycles[n / 2])
            } else {
                (h(self.cycles[n / 2 - 1]) + h(self.cycles[n / 2])) / 2.0
            }
        });
        let p90 = (n > 0).then(|| h(self.cycles[(n * 9).div_ceil(10).max(1) - 1]));
        Figures {
            completed: n as u64,
            on_time: self.on_time,
            on_time_rate: (n > 0).then(|| self.on_time as f64 / n as f64),
            cycle_median_hours: median,
            cycle_p90_hours: p90,
            backlog: self.backlog,
            overdue: self.overdue,
        }
    }
}

/// The figures of `quarter` over `tasks` (latest versions), as of `now`.
pub fn stats<'a, I: IntoIterator<Item = &'a Task>>(
    tasks: I,
    quarter: Quarter,
    now: i64,
) -> TaskStats {
    let (qs, qe) = (quarter.start_ms(), quarter.end_ms());
    let point = qe.min(now);
    let mut overall = Acc::default();
    let mut groups: [BTreeMap<String, Acc>; 4] = Default::default();
    for t in tasks {
        let completed = t.answered.filter(|&a| a >= qs && a < qe);
        let open_at_point = t.assigned.is_some_and(|a| a <= point)
            && t.answered.is_none_or(|a| a > point)
            && t.ended.is_none_or(|e| e > point);
        if completed.is_none() && !open_at_point {
            continue;
        }
        let orgs: BTreeSet<String> = t.assignees.iter().map(|a| a.org.clone()).collect();
        let units: BTreeSet<String> = t
            .assignees
            .iter()
            .filter_map(|a| a.unit.as_ref().map(|u| format!("{}/{u}", a.org)))
            .collect();
        let keys: [Vec<String>; 4] = [
            orgs.into_iter().collect(),
            units.into_iter().collect(),
            vec![t.task_type.to_string()],
            vec![t.priority.to_string()],
        ];
        let record = |acc: &mut Acc| {
            if let Some(a) = completed {
                acc.cycles.push(a - clock::start(t));
                if clock::on_time(t) == Some(true) {
                    acc.on_time += 1;
                }
            }
            if open_at_point {
                acc.backlog += 1;
                if point > clock::effective_deadline(t, point) {
                    acc.overdue += 1;
                }
            }
        };
        record(&mut overall);
        for (g, ks) in groups.iter_mut().zip(keys) {
            for k in ks {
                record(g.entry(k).or_default());
            }
        }
    }
    let [by_org, by_unit, by_type, by_priority] =
        groups.map(|g| g.into_iter().map(|(k, a)| (k, a.figures())).collect());
    TaskStats {
        quarter: quarter.to_string(),
        overall: overall.figures(),
        by_org,
        by_unit,
        by_type,
        by_priority,
    }
}
