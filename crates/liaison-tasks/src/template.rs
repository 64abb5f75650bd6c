//! Default deadlines per task type and priority, overridable by configuration.

use crate::model::{Priority, TaskType};
use crate::TaskError;
use std::collections::BTreeMap;

/// Default deadlines (hours) by type and priority, and the monitor's warning fractions.
#[derive(Debug, Clone, PartialEq)]
pub struct Templates {
    hours: BTreeMap<(TaskType, Priority), u32>,
    /// Fractions of the time at which the monitor warns, ascending, each in (0, 1).
    pub warn_fractions: Vec<f64>,
}

impl Default for Templates {
    /// Urgent 24 h, high 72 h, normal 7 days, low 30 days; a joint response gets three
    /// times as long (urgent 72 h). Warnings at 50 % and 80 %.
    fn default() -> Self {
        let mut hours = BTreeMap::new();
        for &t in TaskType::ALL {
            for &p in Priority::ALL {
                let base = match p {
                    Priority::Urgent => 24,
                    Priority::High => 72,
                    Priority::Normal => 168,
                    Priority::Low => 720,
                };
                let h = if t == TaskType::JointResponse {
                    base * 3
                } else {
                    base
                };
                hours.insert((t, p), h);
            }
        }
        Templates {
            hours,
            warn_fractions: vec![0.5, 0.8],
        }
    }
}

impl Templates {
    /// The defaults with overrides. Keys are `priority` (every type) or
    /// `type.priority` (`rfi.urgent`, `joint_response.urgent`); values are hours.
    /// Type-specific keys win over priority-only ones, whatever the order.
    pub fn with_overrides(
        deadlines: &BTreeMap<String, u32>,
        warn_fractions: Option<&[f64]>,
    ) -> Result<Self, TaskError> {
        let mut t = Templates::default();
        let mut specific = Vec::new();
        for (k, &h) in deadlines {
            let path = format!("tasks.deadlines.{k}");
            if h == 0 {
                return Err(TaskError::Invalid {
                    path,
                    reason: "a deadline of 0 hours is always in the past".into(),
                });
            }
            let bad = |e: TaskError| TaskError::Invalid {
                path: path.clone(),
                reason: e.to_string(),
            };
            match k.split_once('.') {
                Some((ty, pr)) => specific.push((
                    ty.parse::<TaskType>().map_err(bad)?,
                    pr.parse::<Priority>().map_err(bad)?,
                    h,
                )),
                None => {
                    let p: Priority = k.parse().map_err(bad)?;
                    for &ty in TaskType::ALL {
                        t.hours.insert((ty, p), h);
                    }
                }
            }
        }
        for (ty, p, h) in specific {
            t.hours.insert((ty, p), h);
        }
        if let Some(f) = warn_fractions {
            if f.iter().any(|x| !(*x > 0.0 && *x < 1.0)) || f.windows(2).any(|w| w[0] >= w[1]) {
                return Err(TaskError::Invalid {
                    path: "tasks.warn_fractions".into(),
                    reason: format!("{f:?}: fractions must be ascending, each above 0 and below 1 (e.g. [0.5, 0.8])"),
                });
            }
            t.warn_fractions = f.to_vec();
        }
        Ok(t)
    }

    /// The default time for a type and priority, in hours.
    pub fn hours(&self, ty: TaskType, p: Priority) -> u32 {
        self.hours.get(&(ty, p)).copied().unwrap_or(168)
    }

    /// The default deadline (Unix ms) of a task created at `now`.
    pub fn deadline(&self, ty: TaskType, p: Priority, now: i64) -> i64 {
        now + i64::from(self.hours(ty, p)) * 3_600_000
    }
}
