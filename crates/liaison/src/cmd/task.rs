//! `liaison task …`: tasks between organizations, stored as `x-liaison-task` STIX objects.
//!
//! Every change is a new version imported through `Store::import` (so the versions are
//! the history), and every read goes through `Store::get`, `versions` or `export`, which
//! filter by the reader's label rights. The task rules (who may do what, which status may
//! follow which, deadlines) are `liaison_tasks::apply`; this module only checks the
//! deployment's directory (organizations, units, users) and the labels.

use crate::config::{parse_label, Config};
use crate::kb::Ctx;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use liaison_policy::{can_read, Label, Releasability, Role, Subject};
use liaison_stix::label::{set_tlp, LabelExtension};
use liaison_stix::StixObject;
use liaison_store::{ExportFilter, ImportOptions, Prepared, SqliteStore, Store, StoredObject};
use liaison_tasks::time::fmt_ms;
use liaison_tasks::{
    apply, clock, parse_deadline, task_extension_definition, Action, Party, Priority, Quarter,
    Status, Task, TaskType, Update, TASK_EXTENSION_ID, TASK_TYPE,
};
use serde_json::Value;
use std::process::ExitCode;

const H: i64 = 3_600_000;

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
    let env = Env {
        cfg: &cfg,
        store: &store,
        subject: &subject,
        now,
    };
    match c {
        TaskCommand::New(a) => env.new_task(a),
        TaskCommand::List(a) => env.list(a),
        TaskCommand::Show(a) => env.show(a),
        TaskCommand::Assign(a) => {
            let parties =
                a.to.iter()
                    .map(|s| Party::parse(s).map_err(anyhow::Error::from))
                    .collect::<Result<Vec<_>>>()?;
            env.change(&a.id, Action::Assign(parties))
        }
        TaskCommand::Accept(a) => env.change(&a.id, Action::Accept),
        TaskCommand::Reject(a) => env.change(&a.id, Action::Reject(a.reason)),
        TaskCommand::Start(a) => env.change(&a.id, Action::Start),
        TaskCommand::Pause(a) => env.change(&a.id, Action::Pause(a.reason)),
        TaskCommand::Resume(a) => env.change(&a.id, Action::Resume),
        TaskCommand::Update(a) => {
            for r in &a.refs {
                if store.get(&subject, r)?.is_none() {
                    bail!("--ref {r}: no such object that {} may read", subject.name);
                }
            }
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
        TaskCommand::Answer(a) => {
            if let Some(r) = &a.answer_ref {
                if !(r.starts_with("report--") || r.starts_with("note--")) {
                    bail!("--ref {r}: an answer is a report or a note (report--… or note--…)");
                }
                if store.get(&subject, r)?.is_none() {
                    bail!(
                        "--ref {r}: no such report or note that {} may read; import it first",
                        subject.name
                    );
                }
            }
            env.change(&a.id, Action::Answer(a.answer_ref))
        }
        TaskCommand::Close(a) => env.change(&a.id, Action::Close),
        TaskCommand::Reopen(a) => env.change(&a.id, Action::Reopen(a.reason)),
        TaskCommand::Cancel(a) => env.change(&a.id, Action::Cancel(a.reason)),
        TaskCommand::Stats(a) => env.stats(a),
    }
}

/// What a new task needs (the CLI's `task new`, or an alert escalated into a task).
pub(crate) struct NewTask {
    pub title: String,
    pub task_type: String,
    pub priority: String,
    pub deadline: Option<String>,
    pub description: Option<String>,
    pub assign: Vec<String>,
    pub refs: Vec<String>,
    pub label: Option<Label>,
}

/// Config, store, acting subject and the time, for task operations.
pub(crate) struct Env<'a> {
    pub cfg: &'a Config,
    pub store: &'a SqliteStore,
    pub subject: &'a Subject,
    pub now: i64,
}

/// The acting user as a task party.
fn actor_of(s: &Subject) -> Party {
    Party::new(&s.org, s.unit.as_deref(), Some(&s.name))
}

impl Env<'_> {
    /// Check an assignee against the directory, and that it may read the task's label.
    fn check_assignee(&self, p: &Party, label: &Label) -> Result<()> {
        let cfg = self.cfg;
        let Some(org) = cfg.orgs.iter().find(|o| o.id == p.org) else {
            bail!(
                "unknown assignee '{p}': no organization '{}' (known: {})",
                p.org,
                cfg.orgs
                    .iter()
                    .map(|o| o.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        if let Some(u) = &p.unit {
            if !org.units.iter().any(|x| &x.id == u) {
                bail!(
                    "unknown assignee '{p}': organization '{}' has no unit '{u}' (units: {})",
                    org.id,
                    org.units
                        .iter()
                        .map(|x| x.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        if let Some(name) = &p.user {
            let Some(user) = cfg.users.iter().find(|u| &u.name == name) else {
                bail!("unknown assignee '{p}': no user '{name}'");
            };
            if user.org != p.org || (p.unit.is_some() && user.unit != p.unit) {
                bail!(
                    "unknown assignee '{p}': user '{name}' belongs to {}{}",
                    user.org,
                    user.unit
                        .as_ref()
                        .map(|u| format!("/{u}"))
                        .unwrap_or_default()
                );
            }
            let s = cfg.subject(Some(name))?;
            if !can_read(&s, label) {
                bail!(
                    "assignee '{p}' may not read the task's label {}: choose a label they are cleared for",
                    self.store.policy().banner(label)
                );
            }
        } else if !label.readable_by_org(&p.org) {
            bail!(
                "assignee '{p}' may not read the task's label {}: make it releasable to '{}'",
                self.store.policy().banner(label),
                p.org
            );
        }
        Ok(())
    }

    fn new_task(&self, a: NewArgs) -> Result<ExitCode> {
        let label = match &a.label {
            Some(text) => Some(parse_label(self.store.policy(), text, &self.subject.org)?),
            None => None,
        };
        let json = a.json;
        let stored = self.create(NewTask {
            title: a.title,
            task_type: a.task_type,
            priority: a.priority,
            deadline: a.deadline,
            description: a.description,
            assign: a.assign,
            refs: a.refs,
            label,
        })?;
        self.print_task(&stored, json)?;
        Ok(ExitCode::SUCCESS)
    }

    /// Create a task (assigned at once when assignees are given) and store it.
    pub(crate) fn create(&self, a: NewTask) -> Result<StoredObject> {
        let s = self.subject;
        let ty: TaskType = a.task_type.parse()?;
        let prio: Priority = a.priority.parse()?;
        let templates = self.cfg.tasks.templates()?;
        let deadline = match &a.deadline {
            Some(d) => parse_deadline(d, self.now)?,
            None => templates.deadline(ty, prio, self.now),
        };
        let assignees = a
            .assign
            .iter()
            .map(|x| Party::parse(x).map_err(anyhow::Error::from))
            .collect::<Result<Vec<_>>>()?;
        let label = match a.label {
            Some(l) => l,
            None => {
                let mut l = Label::public(Some(s.org.clone()));
                l.releasable_to = Releasability::to(
                    assignees
                        .iter()
                        .map(|p| p.org.clone())
                        .filter(|o| o != &s.org),
                );
                l
            }
        };
        if !can_read(s, &label) {
            bail!(
                "the label {} is beyond {}'s clearance, compartments or releasability: a requester may only ask at a label they can read",
                self.store.policy().banner(&label),
                s.name
            );
        }
        for p in &assignees {
            self.check_assignee(p, &label)?;
        }
        for r in &a.refs {
            if self.store.get(s, r)?.is_none() {
                bail!("--ref {r}: no such object that {} may read", s.name);
            }
        }
        let id = format!("{TASK_TYPE}--{}", uuid::Uuid::new_v4());
        let mut task = Task::draft(id, self.now, &a.title, ty, prio, actor_of(s), deadline)?;
        task.description = a.description;
        task.object_refs = a.refs;
        if !assignees.is_empty() {
            task = apply(&task, &actor_of(s), Action::Assign(assignees), self.now)?;
        }
        self.write(&task, None, &label, s)
    }

    /// Write a task version at `label` for `writer`, with the extension definition the
    /// first time.
    fn write(
        &self,
        task: &Task,
        previous: Option<&Value>,
        label: &Label,
        writer: &Subject,
    ) -> Result<StoredObject> {
        let extra = previous.and_then(Value::as_object);
        let mut obj = StixObject::from_value(task.to_stix(extra))?;
        if previous.is_none() {
            let policy = self.store.policy();
            LabelExtension {
                level: policy.level_name(label.level).to_string(),
                compartments: label.compartments.iter().cloned().collect(),
                releasable_to: match &label.releasable_to {
                    Releasability::All => vec!["*".into()],
                    Releasability::To(set) => set.iter().cloned().collect(),
                },
                owner: label.owner.clone(),
            }
            .write(&mut obj);
            if let Some(t) = liaison_stix::tlp::Tlp::parse(label.tlp.as_str()) {
                set_tlp(&mut obj, t);
            }
        }
        let mut batch: Vec<StixObject> = Vec::new();
        if self.store.get(writer, TASK_EXTENSION_ID)?.is_none() {
            batch.push(StixObject::from_value(task_extension_definition())?);
        }
        batch.push(obj);
        let opts = ImportOptions {
            default_label: Some(Label::public(None)),
            strict: true,
            expected_objects: None,
        };
        let mut items = batch.into_iter().map(|o| Ok(Prepared::new(o)));
        self.store
            .import(writer, &mut items, &opts, &mut |_| {})
            .map_err(|e| anyhow!("the task was not stored: {e}"))?;
        self.store
            .get(writer, &task.id)?
            .ok_or_else(|| anyhow!("{} was stored but cannot be read back", task.id))
    }

    /// Read the latest version of a task the subject may read.
    fn load(&self, id: &str) -> Result<(StoredObject, Task)> {
        let stored = self
            .store
            .get(self.subject, id)?
            .filter(|o| o.object.type_name() == TASK_TYPE);
        let Some(stored) = stored else {
            bail!("no task {id} that {} may read", self.subject.name);
        };
        let task = Task::from_stix(&stored.object.to_value())
            .with_context(|| format!("stored task {id}"))?;
        Ok((stored, task))
    }

    fn change(&self, id: &str, action: Action) -> Result<ExitCode> {
        let (stored, task) = self.load(id)?;
        let actor = actor_of(self.subject);
        let verb = action.verb();
        if let Action::Assign(parties) = &action {
            for p in parties {
                self.check_assignee(p, &stored.label)?;
            }
        }
        let next = apply(&task, &actor, action, self.now)?;
        // The task belongs to the requesting organization. An assignee of another
        // organization changes it through the task rules (just checked), so the new
        // version is written on the owner's behalf, with the actor's own clearance,
        // compartments and roles (a reader still cannot write).
        let mut writer = self.subject.clone();
        if let Some(owner) = &stored.label.owner {
            writer.org = owner.clone();
            writer.roles.remove(&Role::Admin);
            if !self.subject.has_role(Role::Analyst) {
                bail!(
                    "{} holds no analyst role and may not change tasks",
                    self.subject.name
                );
            }
            writer.roles.insert(Role::Analyst);
        }
        let previous = self.store.labelled_value(&stored);
        let out = self.write(&next, Some(&previous), &stored.label, &writer)?;
        let t = Task::from_stix(&out.object.to_value())?;
        println!(
            "{verb}: {} is {} (version {})",
            t.id,
            t.status,
            fmt_ms(t.modified)
        );
        Ok(ExitCode::SUCCESS)
    }

    /// Every task the subject may read (latest versions).
    fn readable_tasks(&self) -> Result<Vec<(StoredObject, Task)>> {
        let filter = ExportFilter {
            types: vec![TASK_TYPE.into()],
            since: None,
            all_versions: false,
        };
        let mut out = Vec::new();
        let mut bad = None;
        self.store.export(self.subject, &filter, &mut |o| {
            match Task::from_stix(&o.object.to_value()) {
                Ok(t) => out.push((o, t)),
                Err(e) => bad = Some(format!("{}: {e}", o.object.id())),
            }
            Ok(())
        })?;
        if let Some(b) = bad {
            tracing::warn!("skipped an unreadable task: {b}");
        }
        Ok(out)
    }

    fn list(&self, a: ListArgs) -> Result<ExitCode> {
        let me = actor_of(self.subject);
        let status: Option<Status> = a.status.as_deref().map(str::parse).transpose()?;
        let now = self.now;
        let mut rows: Vec<(StoredObject, Task)> = self
            .readable_tasks()?
            .into_iter()
            .filter(|(_, t)| {
                (a.all || status.is_some() || !t.status.is_final())
                    && status.is_none_or(|s| t.status == s)
                    && (!a.mine
                        || t.requester.user == me.user
                        || t.assignees
                            .iter()
                            .any(|p| p.user.is_some() && p.covers(&me)))
                    && (!a.my_unit || {
                        let unit =
                            |p: &Party| p.org == me.org && p.unit.is_some() && p.unit == me.unit;
                        unit(&t.requester) || t.assignees.iter().any(unit)
                    })
                    && (!a.overdue || t.is_overdue(now))
                    && a.due_within.is_none_or(|h| {
                        t.status.is_open()
                            && clock::effective_deadline(t, now) <= now + i64::from(h) * H
                    })
            })
            .collect();
        rows.sort_by_key(|(_, t)| (clock::effective_deadline(t, now), t.id.clone()));
        if a.json {
            let list: Vec<Value> = rows
                .iter()
                .map(|(o, _)| self.store.labelled_value(o))
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
        let versions: Vec<StoredObject> = if a.history {
            self.store.versions(self.subject, &a.id)?
        } else {
            self.store.get(self.subject, &a.id)?.into_iter().collect()
        };
        let versions: Vec<StoredObject> = versions
            .into_iter()
            .filter(|v| v.object.type_name() == TASK_TYPE)
            .collect();
        if versions.is_empty() {
            eprintln!(
                "liaison: no task {} that {} may read",
                a.id, self.subject.name
            );
            return Ok(ExitCode::from(1));
        }
        if a.json {
            let list: Vec<Value> = versions
                .iter()
                .map(|v| self.store.labelled_value(v))
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
            let banner = self.store.policy().banner(&versions[0].label);
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
                serde_json::to_string_pretty(&self.store.labelled_value(stored))?
            );
            return Ok(());
        }
        let t = Task::from_stix(&stored.object.to_value())?;
        let now = self.now;
        let banner = self.store.policy().banner(&stored.label);
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
            None => Quarter::of(self.now),
        };
        let tasks: Vec<Task> = self.readable_tasks()?.into_iter().map(|(_, t)| t).collect();
        let st = liaison_tasks::stats(&tasks, q, self.now);
        if a.json {
            println!("{}", serde_json::to_string_pretty(&st)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "Tasks {} (those {} may read)",
            st.quarter, self.subject.name
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
