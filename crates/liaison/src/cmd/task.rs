//! `liaison task …`: tasks between organizations, stored as `x-liaison-task` STIX objects.
//!
//! The operations are `liaison_server::tasks_api::Work`, shared with the REST API: every
//! change is a new version imported through `Store::import` (so the versions are the
//! history), and every read goes through `Store::get`, `versions` or `export`, which
//! filter by the reader's label rights; the rules are `liaison_tasks`'. This module
//! parses arguments and prints.

use crate::config::{parse_label, Config};
use crate::kb::Ctx;
use anyhow::Result;
use clap::{Args, Subcommand};
use liaison_server::tasks_api::{Work, WorkError};
use liaison_store::StoredObject;
use liaison_tasks::directory::{OrgEntry, UnitEntry};
use liaison_tasks::ops::parse_parties;
use liaison_tasks::time::fmt_ms;
use liaison_tasks::{
    clock, parse_deadline, Action, Directory, NewTask, Party, Quarter, Task, TaskFilter, Update,
};
use serde_json::Value;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum TaskCommand {
    /// Create a task (a draft, or assigned at once with --assign).
    #[command(
        after_help = "Examples:\n  liaison task new --title 'Who is behind GRIDSPIKE?' --type rfi --priority urgent --assign cert/analysis\n  liaison task new --title 'Joint response to the outage' --type joint_response --priority urgent \\\n      --deadline 2026-12-01T12:00:00Z --assign cert --assign energy-isac/soc --label 'SECRET//GRID//REL TO cert, energy-isac'"
    )]
    New(NewArgs),
    /// List the tasks you may read (open ones unless --all).
    #[command(
        after_help = "Examples:\n  liaison task list --mine\n  liaison task list --my-unit --due-within 12\n  liaison task list --overdue --json"
    )]
    List(ListArgs),
    /// Show a task, or its history (every version).
    #[command(after_help = "Example:\n  liaison task show x-liaison-task--… --history")]
    Show(ShowArgs),
    /// Give a task to assignees (org, org/unit or org/unit:user). Requester.
    Assign(AssignArgs),
    /// Accept a task. Assignee.
    Accept(IdArgs),
    /// Refuse a task, with a reason. Assignee.
    Reject(ReasonArgs),
    /// Start work on a task. Assignee.
    Start(IdArgs),
    /// Stop the clock while waiting on the requester, with a reason. Assignee.
    Pause(ReasonArgs),
    /// Restart the clock.
    Resume(IdArgs),
    /// Change title, description, priority or deadline, or link intelligence. Requester.
    Update(UpdateArgs),
    /// Hand in the answer (a report or note). Assignee.
    Answer(AnswerArgs),
    /// Accept the answer and close the task. Requester.
    Close(IdArgs),
    /// Send an answer back for more work, with a reason. Requester.
    Reopen(ReasonArgs),
    /// Withdraw a task, with a reason. Requester.
    Cancel(ReasonArgs),
    /// Completion cycle, on-time rate and backlog of a quarter, by org, unit, type, priority.
    #[command(after_help = "Example:\n  liaison task stats --quarter 2026Q4 --json")]
    Stats(StatsArgs),
}

#[derive(Args, Debug)]
pub struct NewArgs {
    /// Short title.
    #[arg(long)]
    title: String,
    /// rfi, collection, analysis, joint_response.
    #[arg(long = "type", default_value = "rfi")]
    task_type: String,
    /// urgent, high, normal, low.
    #[arg(long, default_value = "normal")]
    priority: String,
    /// RFC 3339 time or a duration from now (24h, 3d); default: the template for type and priority.
    #[arg(long)]
    deadline: Option<String>,
    /// What is asked.
    #[arg(long)]
    description: Option<String>,
    /// Assignee: org, org/unit or org/unit:user (repeatable); the task is assigned at once.
    #[arg(long = "assign", value_name = "ASSIGNEE")]
    assign: Vec<String>,
    /// Intelligence the task is about (repeatable).
    #[arg(long = "ref", value_name = "ID")]
    refs: Vec<String>,
    /// Security label as a banner; default: the lowest level, readable by your
    /// organization and the assignees' organizations.
    #[arg(long)]
    label: Option<String>,
    /// Print the stored task as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Tasks you requested or that are assigned to you by name.
    #[arg(long)]
    mine: bool,
    /// Tasks requested by or assigned to your unit.
    #[arg(long)]
    my_unit: bool,
    /// Open tasks past their deadline.
    #[arg(long)]
    overdue: bool,
    /// Open tasks due within this many hours (overdue ones included).
    #[arg(long, value_name = "HOURS")]
    due_within: Option<u32>,
    /// Only this status.
    #[arg(long)]
    status: Option<String>,
    /// Closed and cancelled tasks too.
    #[arg(long)]
    all: bool,
    /// JSON output (the STIX objects).
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Task id.
    id: String,
    /// Every version, oldest first: the task's history.
    #[arg(long)]
    history: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct IdArgs {
    /// Task id.
    id: String,
}

#[derive(Args, Debug)]
pub struct ReasonArgs {
    /// Task id.
    id: String,
    /// Why.
    #[arg(long)]
    reason: String,
}

#[derive(Args, Debug)]
pub struct AssignArgs {
    /// Task id.
    id: String,
    /// Assignee: org, org/unit or org/unit:user (repeatable).
    #[arg(long = "to", value_name = "ASSIGNEE", required = true)]
    to: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Task id.
    id: String,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    description: Option<String>,
    #[arg(long)]
    priority: Option<String>,
    /// RFC 3339 time or a duration from now (24h, 3d).
    #[arg(long)]
    deadline: Option<String>,
    /// Intelligence to link (repeatable).
    #[arg(long = "ref", value_name = "ID")]
    refs: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AnswerArgs {
    /// Task id.
    id: String,
    /// The answer: the id of a report or note in the store.
    #[arg(long = "ref", value_name = "ID")]
    answer_ref: Option<String>,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Quarter, e.g. 2026Q4 (default: the current one).
    #[arg(long)]
    quarter: Option<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, c: TaskCommand) -> Result<ExitCode> {
    let (cfg, store, subject) = ctx.open()?;
    let now = liaison_stix::Timestamp::now().millis();
    let dir = directory(&cfg)?;
    let templates = cfg.tasks.templates()?;
    let env = Env {
        work: Work {
            store: &store,
            dir: &dir,
            templates: &templates,
            subject: &subject,
            now,
        },
    };
    match c {
        TaskCommand::New(a) => env.new_task(a),
        TaskCommand::List(a) => env.list(a),
        TaskCommand::Show(a) => env.show(a),
        TaskCommand::Assign(a) => env.change(&a.id, Action::Assign(parse_parties(&a.to)?)),
        TaskCommand::Accept(a) => env.change(&a.id, Action::Accept),
        TaskCommand::Reject(a) => env.change(&a.id, Action::Reject(a.reason)),
        TaskCommand::Start(a) => env.change(&a.id, Action::Start),
        TaskCommand::Pause(a) => env.change(&a.id, Action::Pause(a.reason)),
        TaskCommand::Resume(a) => env.change(&a.id, Action::Resume),
        TaskCommand::Update(a) => {
            let u = Update {
                title: a.title,
                description: a.description,
                priority: a.priority.as_deref().map(str::parse).transpose()?,
                deadline: a
                    .deadline
                    .as_deref()
                    .map(|d| parse_deadline(d, now))
                    .transpose()?,
                add_refs: a.refs,
            };
            env.change(&a.id, Action::Update(u))
        }
        TaskCommand::Answer(a) => env.change(&a.id, Action::Answer(a.answer_ref)),
        TaskCommand::Close(a) => env.change(&a.id, Action::Close),
        TaskCommand::Reopen(a) => env.change(&a.id, Action::Reopen(a.reason)),
        TaskCommand::Cancel(a) => env.change(&a.id, Action::Cancel(a.reason)),
        TaskCommand::Stats(a) => env.stats(a),
    }
}

/// The deployment's directory for the task rules: organizations, units with their
/// heads, and every user's subject.
pub(crate) fn directory(cfg: &Config) -> Result<Directory> {
    Ok(Directory {
        orgs: cfg
            .orgs
            .iter()
            .map(|o| OrgEntry {
                id: o.id.clone(),
                units: o
                    .units
                    .iter()
                    .map(|u| UnitEntry {
                        id: u.id.clone(),
                        head: u.head.clone(),
                    })
                    .collect(),
            })
            .collect(),
        users: cfg
            .users
            .iter()
            .map(|u| cfg.subject(Some(&u.name)))
            .collect::<Result<Vec<_>>>()?,
    })
}

/// The task and alert operations of the acting user (shared with the REST API).
pub(crate) struct Env<'a> {
    pub work: Work<'a>,
}

impl Env<'_> {
    fn new_task(&self, a: NewArgs) -> Result<ExitCode> {
        let w = &self.work;
        let label = match &a.label {
            Some(text) => Some(parse_label(w.store.policy(), text, &w.subject.org)?),
            None => None,
        };
        let stored = w.create(&NewTask {
            title: a.title,
            task_type: Some(a.task_type),
            priority: Some(a.priority),
            deadline: a.deadline,
            description: a.description,
            assignees: a.assign,
            refs: a.refs,
            label,
        })?;
        self.print_task(&stored, a.json)?;
        Ok(ExitCode::SUCCESS)
    }

    fn change(&self, id: &str, action: Action) -> Result<ExitCode> {
        let verb = action.verb();
        let out = self.work.change(id, action)?;
        let t = Task::from_stix(&out.object.to_value())?;
        println!(
            "{verb}: {} is {} (version {})",
            t.id,
            t.status,
            fmt_ms(t.modified)
        );
        Ok(ExitCode::SUCCESS)
    }

    fn list(&self, a: ListArgs) -> Result<ExitCode> {
        let w = &self.work;
        let now = w.now;
        let filter = TaskFilter {
            mine: a.mine,
            my_unit: a.my_unit,
            overdue: a.overdue,
            due_within: a.due_within,
            status: a.status.as_deref().map(str::parse).transpose()?,
            all: a.all,
        };
        let rows = w.tasks(&filter)?;
        if a.json {
            let list: Vec<Value> = rows
                .iter()
                .map(|(o, _)| self.work.store.labelled_value(o))
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
            return Ok(ExitCode::SUCCESS);
        }
        if rows.is_empty() {
            println!("no tasks");
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "{:<52} {:<11} {:<8} {:<14} {:<24} {:>9}  TITLE",
            "ID", "STATUS", "PRIORITY", "TYPE", "DEADLINE", "DUE IN"
        );
        for (_, t) in &rows {
            println!(
                "{:<52} {:<11} {:<8} {:<14} {:<24} {:>9}  {}",
                t.id,
                t.status.as_str(),
                t.priority.as_str(),
                t.task_type.as_str(),
                fmt_ms(clock::effective_deadline(t, now)),
                due_in(t, now),
                t.title
            );
        }
        Ok(ExitCode::SUCCESS)
    }

    fn show(&self, a: ShowArgs) -> Result<ExitCode> {
        let w = &self.work;
        let found = if a.history {
            w.task_history(&a.id)
        } else {
            w.task(&a.id).map(|(s, _)| vec![s])
        };
        let versions = match found {
            Ok(v) => v,
            Err(e @ WorkError::NotFound { .. }) => {
                eprintln!("liaison: {e}");
                return Ok(ExitCode::from(1));
            }
            Err(e) => return Err(e.into()),
        };
        if a.json {
            let list: Vec<Value> = versions
                .iter()
                .map(|v| self.work.store.labelled_value(v))
                .collect();
            let out = if a.history {
                Value::Array(list)
            } else {
                list.into_iter().next().unwrap_or(Value::Null)
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(ExitCode::SUCCESS);
        }
        if a.history {
            let banner = self.work.store.policy().banner(&versions[0].label);
            println!("== {banner} ==");
            for v in &versions {
                let t = Task::from_stix(&v.object.to_value())?;
                let pause = match t.paused.last() {
                    Some(p) if p.to.is_none() => format!("  (clock paused: {})", p.reason),
                    _ => String::new(),
                };
                let reason = t
                    .status_reason
                    .as_ref()
                    .map(|r| format!("  reason: {r}"))
                    .unwrap_or_default();
                println!(
                    "{}  {:<11}{reason}{pause}",
                    fmt_ms(t.modified),
                    t.status.as_str()
                );
            }
            println!("== {banner} ==");
            return Ok(ExitCode::SUCCESS);
        }
        self.print_task(&versions[0], false)?;
        Ok(ExitCode::SUCCESS)
    }

    fn print_task(&self, stored: &StoredObject, as_json: bool) -> Result<()> {
        if as_json {
            println!(
                "{}",
                serde_json::to_string_pretty(&self.work.store.labelled_value(stored))?
            );
            return Ok(());
        }
        let t = Task::from_stix(&stored.object.to_value())?;
        let now = self.work.now;
        let banner = self.work.store.policy().banner(&stored.label);
        println!("== {banner} ==");
        println!("{}  {}", t.id, t.title);
        println!("  type        {}   priority {}", t.task_type, t.priority);
        println!(
            "  status      {}{}",
            t.status,
            if t.is_paused() { " (clock paused)" } else { "" }
        );
        println!("  requester   {}", t.requester);
        let assignees: Vec<String> = t.assignees.iter().map(Party::to_string).collect();
        println!(
            "  assignees   {}",
            if assignees.is_empty() {
                "-".into()
            } else {
                assignees.join(", ")
            }
        );
        println!(
            "  deadline    {} ({}; {:.0}% of the time used)",
            fmt_ms(clock::effective_deadline(&t, now)),
            due_in(&t, now),
            clock::fraction_used(&t, now) * 100.0
        );
        for p in &t.paused {
            println!(
                "  paused      {} → {}: {}",
                fmt_ms(p.from),
                p.to.map(fmt_ms).unwrap_or_else(|| "now".into()),
                p.reason
            );
        }
        if let Some(d) = &t.description {
            println!("  description {d}");
        }
        for r in &t.object_refs {
            println!("  about       {r}");
        }
        if let Some(r) = &t.answer_ref {
            println!("  answer      {r}");
        }
        if let Some(r) = &t.status_reason {
            println!("  reason      {r}");
        }
        println!("== {banner} ==");
        Ok(())
    }

    fn stats(&self, a: StatsArgs) -> Result<ExitCode> {
        let q = match &a.quarter {
            Some(q) => Quarter::parse(q)?,
            None => Quarter::of(self.work.now),
        };
        let st = self.work.stats(q)?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&st)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "Tasks {} (those {} may read)",
            st.quarter, self.work.subject.name
        );
        println!(
            "{:<28} {:>9} {:>8} {:>12} {:>10} {:>8} {:>8}",
            "", "completed", "on time", "median (h)", "p90 (h)", "backlog", "overdue"
        );
        let row = |name: &str, f: &liaison_tasks::Figures| {
            let opt = |x: Option<f64>| x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
            println!(
                "{:<28} {:>9} {:>8} {:>12} {:>10} {:>8} {:>8}",
                name,
                f.completed,
                f.on_time_rate
                    .map(|r| format!("{:.0}%", r * 100.0))
                    .unwrap_or_else(|| "-".into()),
                opt(f.cycle_median_hours),
                opt(f.cycle_p90_hours),
                f.backlog,
                f.overdue
            );
        };
        row("all", &st.overall);
        for (title, group) in [
            ("org", &st.by_org),
            ("unit", &st.by_unit),
            ("type", &st.by_type),
            ("priority", &st.by_priority),
        ] {
            for (k, f) in group {
                row(&format!("{title} {k}"), f);
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `5h 12m`, `-3h 02m` (overdue), or `-` for tasks not running.
fn due_in(t: &Task, now: i64) -> String {
    if !t.status.is_open() {
        return "-".into();
    }
    let left = clock::effective_deadline(t, now) - now;
    let m = left.abs() / 60_000;
    format!(
        "{}{}h {:02}m",
        if left < 0 { "-" } else { "" },
        m / 60,
        m % 60
    )
}
