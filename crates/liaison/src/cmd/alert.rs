//! Alerts: screening hits folded into STIX sightings and `x-liaison-alert` objects
//! (`liaison screen --store`), and their triage (`liaison alert …`).
//!
//! The folding, labels, burst detection and triage rules are `liaison_tasks::alert`;
//! this module feeds it hits and keeps the results in the store: every change is a new
//! version imported through `Store::import`, every read goes through `get`, `versions`
//! or `export`, which filter by the reader's label rights.

use crate::config::parse_label;
use crate::kb::Ctx;
use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use liaison_policy::{join, Label, Releasability, Subject};
use liaison_server::tasks_api::{AlertFilter, Work, WorkError};
use liaison_stix::StixObject;
use liaison_store::{ImportOptions, Prepared, SqliteStore, Store};
use liaison_tasks::alert::{
    bump_modified, name_uuid, sighting_object, state_of, strings, Aggregator, Burst, BurstConfig,
    BurstDetector, HitRef, KeyBaseline, Severity, Triage, ALERT_TYPE,
};
use liaison_tasks::ops::write_label;
use liaison_tasks::time::fmt_ms;
use liaison_tasks::NewTask;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

const DAY: i64 = 86_400_000;

/// Sample values kept per alert (for promotion into intelligence).
const MAX_VALUES: usize = 20;

// ---------------------------------------------------------------------------------------
// Collecting hits from `liaison screen --store`.

/// The hits of one rule and source on one day, folded as they arrive (memory grows
/// with the distinct rules and sources, not with the hits).
struct Folded {
    count: u64,
    first: i64,
    last: i64,
    severity: Severity,
}

/// What the collector keeps about a rule.
#[derive(Default)]
struct RuleInfo {
    name: String,
    values: BTreeSet<String>,
}

#[derive(Default)]
struct SinkState {
    partial: Vec<u8>,
    folded: BTreeMap<(String, String, i64), Folded>,
    rules: BTreeMap<String, RuleInfo>,
    /// The rules whose hits carried each tag (`topic:TAG`), so that a burst of a topic is
    /// labelled no lower than the rules it was seen through.
    topics: BTreeMap<String, BTreeSet<String>>,
    bursts: Vec<Burst>,
    detector: Option<BurstDetector>,
    hits: u64,
    skipped: u64,
}

/// A `Write` that takes the screener's JSON lines instead of stdout and keeps the hits
/// at or above a severity. Clone it to keep a handle while the screener writes.
#[derive(Clone)]
pub struct AlertSink {
    min: Severity,
    state: Arc<Mutex<SinkState>>,
}

impl AlertSink {
    /// A sink keeping hits of severity `min` and above.
    pub fn new(min: Severity) -> Self {
        AlertSink {
            min,
            state: Arc::new(Mutex::new(SinkState::default())),
        }
    }

    fn take_line(&self, st: &mut SinkState, line: &[u8], now: i64) {
        let Ok(h) = serde_json::from_slice::<Value>(line) else {
            st.skipped += 1;
            return;
        };
        let severity: Severity = h["severity"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        if severity < self.min {
            return;
        }
        let value = h["value"].as_str().map(str::to_string);
        let matched = h["matched"].as_str().unwrap_or_default();
        let (rule, name) = match h["rule"]["type"].as_str() {
            Some("term") => {
                let t = h["rule"]["term"].as_str().unwrap_or(matched);
                (
                    format!("term:{t}"),
                    h["label"].as_str().unwrap_or(t).to_string(),
                )
            }
            Some("indicator") => {
                let id = h["rule"]["id"].as_str().unwrap_or_default().to_string();
                let name = h["label"].as_str().unwrap_or(&id).to_string();
                (id, name)
            }
            _ => {
                let kind = h["rule"]["kind"].as_str().unwrap_or("value");
                let v = value.as_deref().unwrap_or(matched);
                (format!("{kind}:{v}"), format!("{kind} {v}"))
            }
        };
        st.hits += 1;
        let detector = st
            .detector
            .get_or_insert_with(|| BurstDetector::new(BurstConfig::default()));
        let mut found: Vec<Burst> = detector.observe(&rule, now).into_iter().collect();
        for t in h["tags"].as_array().into_iter().flatten() {
            if let Some(t) = t.as_str() {
                let topic = format!("topic:{t}");
                found.extend(detector.observe(&topic, now));
                st.topics.entry(topic).or_default().insert(rule.clone());
            }
        }
        st.bursts.extend(found);
        let info = st.rules.entry(rule.clone()).or_default();
        if info.name.is_empty() {
            info.name = name;
        }
        let value = value.or_else(|| Some(matched.to_string()).filter(|m| !m.is_empty()));
        if let Some(v) = value {
            if info.values.len() < MAX_VALUES {
                info.values.insert(v);
            }
        }
        let source = h["source"].as_str().unwrap_or("stdin").to_string();
        let day = now.div_euclid(DAY) * DAY;
        let f = st.folded.entry((rule, source, day)).or_insert(Folded {
            count: 0,
            first: now,
            last: now,
            severity,
        });
        f.count += 1;
        f.first = f.first.min(now);
        f.last = f.last.max(now);
        f.severity = f.severity.max(severity);
    }
}

impl Write for AlertSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let now = liaison_stix::Timestamp::now().millis();
        let mut st = self
            .state
            .lock()
            .map_err(|_| std::io::Error::other("alert collector poisoned"))?;
        // Lines are taken straight from the screener's buffer; only a line cut by a
        // write boundary is copied.
        let mut start = 0;
        if !st.partial.is_empty() {
            let Some(n) = memchr::memchr(b'\n', buf) else {
                st.partial.extend_from_slice(buf);
                return Ok(buf.len());
            };
            let mut line = std::mem::take(&mut st.partial);
            line.extend_from_slice(&buf[..n]);
            self.take_line(&mut st, &line, now);
            start = n + 1;
        }
        while let Some(n) = memchr::memchr(b'\n', &buf[start..]) {
            let line = &buf[start..start + n];
            if !line.is_empty() {
                self.take_line(&mut st, line, now);
            }
            start += n + 1;
        }
        st.partial.extend_from_slice(&buf[start..]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `liaison screen`, with `--store` folding the hits into sightings and alerts.
pub fn screen(ctx: &Ctx, mut args: crate::cmd::screen::ScreenArgs) -> Result<ExitCode> {
    let from_store = args.from_store || !args.store_watchlists.is_empty();
    if !from_store && !args.store {
        return crate::cmd::screen::run(args);
    }
    // Fail before reading the store (and auditing the read) if an argument, the
    // store, the user or a label is wrong; the store is opened once.
    let min: Option<Severity> = match args.store {
        true => Some(
            args.min_severity
                .parse()
                .map_err(|e: String| anyhow!("--min-severity: {e}"))?,
        ),
        false => None,
    };
    let (_cfg, store, subject) = ctx.open()?;
    if args.store {
        for l in [&args.rule_label, &args.source_label].into_iter().flatten() {
            parse_label(store.policy(), l, &subject.org)?;
        }
    }
    let mut term_labels = std::collections::HashMap::new();
    if from_store {
        let got = crate::cmd::watchlist::for_screen(
            ctx,
            &store,
            &subject,
            args.from_store,
            &args.store_watchlists,
        )?;
        args.store_terms = got.terms;
        args.store_rules = got.rules;
        term_labels = got.term_labels;
    }
    let Some(min) = min else {
        drop(store);
        return crate::cmd::screen::run(args);
    };
    let sink = AlertSink::new(min);
    // Burst baselines carry over from earlier runs (per organization), so a term's
    // usual rate is known from the first hit of this run.
    let mut baselines = Vec::new();
    for (key, state) in store.burst_baselines(&subject.org)? {
        match serde_json::from_str::<KeyBaseline>(&state) {
            Ok(b) => baselines.push((key, b)),
            Err(e) => tracing::warn!(%key, error = %e, "ignored a malformed burst baseline"),
        }
    }
    if let Ok(mut st) = sink.state.lock() {
        st.detector = Some(BurstDetector::with_baselines(
            BurstConfig::default(),
            baselines,
        ));
    }
    drop(store);
    let opts = StoreOptions {
        rule_label: args.rule_label.clone(),
        source_label: args.source_label.clone(),
        term_labels,
    };
    let data = ctx.data.clone();
    let as_user = ctx.as_user.clone();
    let keep = sink.clone();
    let divert = crate::cmd::screen::Diversion {
        out: Box::new(sink),
        finish: Box::new(move || {
            let ctx = Ctx { data, as_user };
            store_hits(&ctx, &keep, &opts)
        }),
    };
    crate::cmd::screen::run_diverted(args, Some(divert))
}

/// Labels and thresholds for storing collected hits.
pub struct StoreOptions {
    /// Label of watchlist terms and of indicators not in the store.
    pub rule_label: Option<String>,
    /// Label of the screened sources.
    pub source_label: Option<String>,
    /// Labels of terms read from watchlists in the store, by term text.
    pub term_labels: std::collections::HashMap<String, Label>,
}

/// What storing the hits did.
#[derive(Debug, serde::Serialize)]
pub struct StoreSummary {
    hits: u64,
    sightings: usize,
    alerts: usize,
    bursts: Vec<Burst>,
}

/// Fold the collected hits into sightings and alerts and store them for the acting user.
pub fn store_hits(ctx: &Ctx, sink: &AlertSink, opts: &StoreOptions) -> Result<()> {
    let (_cfg, store, subject) = ctx.open()?;
    let st = {
        let mut st = sink
            .state
            .lock()
            .map_err(|_| anyhow!("alert collector poisoned"))?;
        std::mem::take(&mut *st)
    };
    let now = liaison_stix::Timestamp::now().millis();
    let policy = store.policy();
    let own = Label {
        releasable_to: Releasability::owner_only(),
        ..Label::public(Some(subject.org.clone()))
    };
    let rule_default = match &opts.rule_label {
        Some(t) => parse_label(policy, t, &subject.org)?,
        None => own.clone(),
    };
    let source_label = match &opts.source_label {
        Some(t) => parse_label(policy, t, &subject.org)?,
        None => own,
    };
    // A rule that is an indicator in the store carries that indicator's label.
    let mut rule_labels: BTreeMap<String, Label> = BTreeMap::new();
    for rule in st.rules.keys() {
        let l = if let Some(l) = rule
            .strip_prefix("term:")
            .and_then(|t| opts.term_labels.get(t))
        {
            join(l, &rule_default)
        } else if rule.starts_with("indicator--") {
            store
                .get(&subject, rule)?
                .map(|o| join(&o.label, &rule_default))
                .unwrap_or_else(|| rule_default.clone())
        } else {
            rule_default.clone()
        };
        rule_labels.insert(rule.clone(), l);
    }
    let mut agg = Aggregator::new(
        |r: &str| {
            rule_labels
                .get(r)
                .cloned()
                .unwrap_or_else(|| rule_default.clone())
        },
        |_: &str| source_label.clone(),
    );
    for ((rule, source, _day), f) in &st.folded {
        agg.push_folded(
            &HitRef {
                rule,
                source,
                at_ms: f.first,
                severity: f.severity,
            },
            f.count,
            f.last,
        );
    }
    let found = st.bursts;
    let mut batch: Vec<(StixObject, Label)> = Vec::new();
    let alerts = agg.alerts();
    let sightings = agg.sightings();
    let alert_id = |rule: &str, day_ms: i64| {
        format!(
            "{ALERT_TYPE}--{}",
            name_uuid(&format!("alert\u{1f}{rule}\u{1f}{}", day_ms))
        )
    };
    for s in &sightings {
        let aid = alert_id(&s.rule, s.day_ms);
        let of = if s.rule.starts_with("indicator--") {
            s.rule.clone()
        } else {
            aid.clone()
        };
        let mut v = sighting_object(s, &of, None, now);
        v["x_liaison_source"] = json!(s.source);
        v["x_liaison_rule"] = json!(s.rule);
        let id = v["id"].as_str().unwrap_or_default().to_string();
        let mut label = s.label.clone();
        if let Some(old) = store.get(&subject, &id)? {
            let o = old.object.to_value();
            v["count"] = json!(o["count"].as_u64().unwrap_or(0) + s.count);
            keep_earliest(&mut v, &o, "first_seen");
            keep_earliest(&mut v, &o, "created");
            keep_latest(&mut v, &o, "last_seen");
            bump_modified(&mut v, &o, now);
            label = join(&old.label, &label);
        }
        batch.push((StixObject::from_value(v)?, label));
    }
    // One alert per rule and day (hits of one run fall on one day, so per rule).
    for a in &alerts {
        let day = a.first_seen.div_euclid(DAY) * DAY;
        let id = alert_id(&a.rule, day);
        let refs: Vec<String> = batch
            .iter()
            .filter(|(o, _)| {
                o.type_name() == "sighting" && o.str_prop("x_liaison_rule") == Some(&a.rule)
            })
            .map(|(o, _)| o.id().to_string())
            .collect();
        let info = st.rules.get(&a.rule);
        let vals: Vec<&str> = info
            .map(|i| i.values.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let mut v = json!({
            "type": ALERT_TYPE,
            "spec_version": "2.1",
            "id": id,
            "created": fmt_ms(a.first_seen),
            "modified": fmt_ms(now.max(a.first_seen)),
            "name": info.map(|i| i.name.as_str()).unwrap_or(&a.rule),
            "rule": a.rule,
            "alert_severity": a.severity,
            "count": a.count,
            "first_seen": fmt_ms(a.first_seen),
            "last_seen": fmt_ms(a.last_seen),
            "sources": a.sources,
            "sighting_refs": refs,
            "observed_values": vals,
            "triage": Triage::New,
        });
        let mut label = a.label.clone();
        if let Some(old) = store.get(&subject, &id)? {
            let o = old.object.to_value();
            v["count"] = json!(o["count"].as_u64().unwrap_or(0) + a.count);
            keep_earliest(&mut v, &o, "first_seen");
            keep_earliest(&mut v, &o, "created");
            keep_latest(&mut v, &o, "last_seen");
            bump_modified(&mut v, &o, now);
            v["triage"] = o["triage"].clone();
            let sev = o["alert_severity"]
                .as_str()
                .and_then(|s| s.parse::<Severity>().ok())
                .unwrap_or_default()
                .max(a.severity);
            v["alert_severity"] = json!(sev);
            for key in ["sources", "sighting_refs", "observed_values"] {
                let mut set: BTreeSet<String> = strings(&o[key]);
                set.extend(strings(&v[key]));
                v[key] = json!(set
                    .into_iter()
                    .take(if key == "observed_values" {
                        MAX_VALUES
                    } else {
                        usize::MAX
                    })
                    .collect::<Vec<_>>());
            }
            label = join(&old.label, &label);
        }
        batch.push((StixObject::from_value(v)?, label));
    }
    // Early warnings: a burst raises an alert of its own even if no hit is severe.
    for b in &found {
        let day = b.at_ms.div_euclid(DAY) * DAY;
        let id = alert_id(&format!("burst:{}", b.key), day);
        if store.get(&subject, &id)?.is_some() {
            continue;
        }
        // A topic's burst tells of every rule that carried the tag.
        let topic_label = st.topics.get(b.key.as_str()).and_then(|rules| {
            liaison_policy::join_all(rules.iter().filter_map(|r| rule_labels.get(r)))
        });
        let label = rule_labels
            .get(b.key.as_str())
            .or(topic_label.as_ref())
            .map(|l| join(l, &source_label))
            .unwrap_or_else(|| join(&rule_default, &source_label));
        let v = json!({
            "type": ALERT_TYPE,
            "spec_version": "2.1",
            "id": id,
            "created": fmt_ms(b.at_ms),
            "modified": fmt_ms(now.max(b.at_ms)),
            "name": format!("burst of {}", b.key),
            "rule": format!("burst:{}", b.key),
            "alert_severity": Severity::High,
            "count": b.window_count,
            "first_seen": fmt_ms(b.at_ms),
            "last_seen": fmt_ms(b.at_ms),
            "expected": b.expected,
            "triage": Triage::New,
        });
        batch.push((StixObject::from_value(v)?, label));
    }
    let n_alerts = batch
        .iter()
        .filter(|(o, _)| o.type_name() == ALERT_TYPE)
        .count();
    import_labelled(&store, &subject, batch)?;
    if let Some(d) = &st.detector {
        let states = d
            .baselines()
            .into_iter()
            .map(|(k, b)| Ok((k, serde_json::to_string(&b)?)))
            .collect::<Result<Vec<_>>>()?;
        store.save_burst_baselines(&subject.org, &states)?;
    }
    let summary = StoreSummary {
        hits: st.hits,
        sightings: sightings.len(),
        alerts: n_alerts,
        bursts: found,
    };
    eprintln!(
        "liaison: stored {} hits as {} sightings and {} alerts ({} bursts)",
        summary.hits,
        summary.sightings,
        summary.alerts,
        summary.bursts.len()
    );
    Ok(())
}

fn keep_earliest(v: &mut Value, old: &Value, key: &str) {
    if let (Some(a), Some(b)) = (v[key].as_str(), old[key].as_str()) {
        if b < a {
            v[key] = json!(b);
        }
    }
}

fn keep_latest(v: &mut Value, old: &Value, key: &str) {
    if let (Some(a), Some(b)) = (v[key].as_str(), old[key].as_str()) {
        if b > a {
            v[key] = json!(b);
        }
    }
}

/// Write each object's label into its label extension and import the batch in one
/// transaction (all or nothing).
fn import_labelled(
    store: &SqliteStore,
    subject: &Subject,
    batch: Vec<(StixObject, Label)>,
) -> Result<()> {
    let policy = store.policy();
    let items: Vec<StixObject> = batch
        .into_iter()
        .map(|(mut o, l)| {
            write_label(&mut o, &l, policy);
            o
        })
        .collect();
    let opts = ImportOptions {
        default_label: None,
        strict: true,
        expected_objects: None,
    };
    let mut it = items.into_iter().map(|o| Ok(Prepared::new(o)));
    store
        .import(subject, &mut it, &opts, &mut |_| {})
        .map_err(|e| anyhow!("nothing was stored: {e}"))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// `liaison alert …`

#[derive(Subcommand, Debug)]
pub enum AlertCommand {
    /// List the alerts you may read (untriaged ones unless --all).
    #[command(after_help = "Example:\n  liaison alert list --severity high --json")]
    List(ListArgs),
    /// Show an alert, or its history (every version).
    Show(ShowArgs),
    /// Acknowledge an alert.
    Ack(IdArgs),
    /// Dismiss an alert as a false positive, with a reason (kept for accuracy figures).
    Dismiss(DismissArgs),
    /// Escalate an alert into a task (the task refers to the alert and carries its label).
    #[command(
        after_help = "Example:\n  liaison alert escalate x-liaison-alert--… --assign cert/analysis --priority urgent"
    )]
    Escalate(EscalateArgs),
    /// Promote an alert's observed values into intelligence: observables and indicators.
    Promote(IdArgs),
    /// Triage accuracy: true and false positives, dismissal reasons.
    Accuracy(JsonArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only this triage state: new, acknowledged, dismissed, escalated, promoted.
    #[arg(long)]
    state: Option<String>,
    /// Only this severity and above.
    #[arg(long)]
    severity: Option<String>,
    /// Triaged alerts too.
    #[arg(long)]
    all: bool,
    /// JSON output (the STIX objects).
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Alert id.
    id: String,
    /// Every version, oldest first.
    #[arg(long)]
    history: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct IdArgs {
    /// Alert id.
    id: String,
}

#[derive(Args, Debug)]
pub struct JsonArgs {
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct DismissArgs {
    /// Alert id.
    id: String,
    /// Why it is a false positive.
    #[arg(long)]
    reason: String,
}

#[derive(Args, Debug)]
pub struct EscalateArgs {
    /// Alert id.
    id: String,
    /// Task title (default: the alert's name).
    #[arg(long)]
    title: Option<String>,
    /// rfi, collection, analysis, joint_response.
    #[arg(long = "type", default_value = "analysis")]
    task_type: String,
    /// urgent, high, normal, low.
    #[arg(long, default_value = "high")]
    priority: String,
    /// RFC 3339 time or a duration (24h); default: the template.
    #[arg(long)]
    deadline: Option<String>,
    /// Assignee: org, org/unit or org/unit:user (repeatable).
    #[arg(long = "assign", value_name = "ASSIGNEE")]
    assign: Vec<String>,
}

pub fn run(ctx: &Ctx, c: AlertCommand) -> Result<ExitCode> {
    let (cfg, store, subject) = ctx.open()?;
    let now = liaison_stix::Timestamp::now().millis();
    let dir = crate::cmd::task::directory(&cfg)?;
    let templates = cfg.tasks.templates()?;
    let w = Work {
        store: &store,
        dir: &dir,
        templates: &templates,
        subject: &subject,
        now,
    };
    let by = subject.name.clone();
    match c {
        AlertCommand::List(a) => list(&w, a),
        AlertCommand::Show(a) => show(&w, a),
        AlertCommand::Ack(a) => {
            w.triage(&a.id, Triage::Acknowledged { by })?;
            println!("{} is acknowledged", a.id);
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Dismiss(a) => {
            w.triage(
                &a.id,
                Triage::Dismissed {
                    by,
                    reason: a.reason,
                },
            )?;
            println!("{} is dismissed", a.id);
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Escalate(a) => {
            let (task, _) = w.escalate(
                &a.id,
                NewTask {
                    title: a.title.unwrap_or_default(),
                    task_type: Some(a.task_type),
                    priority: Some(a.priority),
                    deadline: a.deadline,
                    assignees: a.assign,
                    ..NewTask::default()
                },
            )?;
            println!("{} is escalated", a.id);
            println!("task {}", task.object.id());
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Promote(a) => {
            let (_, n) = w
                .promote(&a.id)
                .with_context(|| format!("promoting {}", a.id))?;
            println!("{} is promoted", a.id);
            println!("{} observables and {} indicators created", n / 2, n / 2);
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Accuracy(a) => {
            let acc = w.accuracy()?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&acc)?);
            } else {
                println!(
                    "{} true positives (escalated or promoted), {} false positives; precision {}",
                    acc.true_positives,
                    acc.false_positives,
                    acc.precision
                        .map(|p| format!("{:.0}%", p * 100.0))
                        .unwrap_or_else(|| "-".into())
                );
                for (r, n) in &acc.reasons {
                    println!("  {n:>5}  {r}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list(w: &Work<'_>, a: ListArgs) -> Result<ExitCode> {
    let filter = AlertFilter {
        state: a.state,
        severity: a
            .severity
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| anyhow!(e))?,
        all: a.all,
    };
    let rows = w.alerts(&filter)?;
    if a.json {
        let list: Vec<Value> = rows
            .iter()
            .map(|(o, _)| w.store.labelled_value(o))
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no alerts");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<54} {:<8} {:<12} {:>7} {:<24}  NAME",
        "ID", "SEVERITY", "STATE", "HITS", "LAST SEEN"
    );
    for (_, v) in &rows {
        println!(
            "{:<54} {:<8} {:<12} {:>7} {:<24}  {}",
            v["id"].as_str().unwrap_or_default(),
            v["alert_severity"].as_str().unwrap_or_default(),
            state_of(v).name(),
            v["count"].as_u64().unwrap_or(0),
            v["last_seen"].as_str().unwrap_or_default(),
            v["name"].as_str().unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(w: &Work<'_>, a: ShowArgs) -> Result<ExitCode> {
    let found = if a.history {
        w.alert_history(&a.id)
    } else {
        w.alert(&a.id).map(|(s, _)| vec![s])
    };
    let versions = match found {
        Ok(v) => v,
        Err(e @ WorkError::NotFound { .. }) => {
            eprintln!("liaison: {e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let list: Vec<Value> = versions.iter().map(|v| w.store.labelled_value(v)).collect();
    if a.json {
        let out = if a.history {
            Value::Array(list)
        } else {
            list.into_iter().next().unwrap_or(Value::Null)
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let banner = w.store.policy().banner(&versions[0].label);
    println!("== {banner} ==");
    for v in &list {
        println!(
            "{}  {}  {}  severity {}  {} hits  {} → {}",
            v["modified"].as_str().unwrap_or_default(),
            v["name"].as_str().unwrap_or_default(),
            state_of(v).name(),
            v["alert_severity"].as_str().unwrap_or_default(),
            v["count"],
            v["first_seen"].as_str().unwrap_or_default(),
            v["last_seen"].as_str().unwrap_or_default(),
        );
    }
    println!("== {banner} ==");
    Ok(ExitCode::SUCCESS)
}
