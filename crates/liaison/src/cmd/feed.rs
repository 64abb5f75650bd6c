//! `liaison feed`: define collection feeds, run them, pause and resume them, and see
//! their state. `liaison serve` runs them on their schedules.

use crate::config::parse_label;
use crate::kb::Ctx;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use liaison_collect::state::FeedState;
use liaison_collect::{FeedConfig, Format, Reliability, Schedule, ValueKind};
use liaison_store::{FeedRecord, SqliteStore};
use serde_json::json;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum FeedCommand {
    /// Define a feed (or redefine one: its state is kept).
    #[command(after_help = "Examples:
  liaison feed add abuse-ips https://feeds.example/ips.txt --format list --schedule 1h \\
      --label 'UNCLASSIFIED//REL TO ALL//TLP:CLEAR' --reliability B
  liaison feed add urlhaus https://feeds.example/urlhaus.csv --format csv --header \\
      --value-column url --labels-column threat --first-seen-column dateadded
  liaison feed add news https://news.example/rss.xml --format news --schedule 'cron:*/30 * * * *' \\
      --watchlist watch.txt
  liaison feed add partner https://partner.example/taxii2/api/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/ \\
      --format taxii --auth-env PARTNER_TOKEN
  liaison feed add circl https://www.circl.lu/doc/misp/feed-osint/ --format misp --schedule 6h
  liaison feed add sensor /var/log/suricata/eve.json --format eve --follow --schedule 1m")]
    Add(Box<AddArgs>),
    /// List the feeds you may read.
    #[command(after_help = "Example:\n  liaison feed list --json")]
    List(JsonArg),
    /// Run a feed now (whatever its schedule or pause), and show what it did.
    #[command(after_help = "Example:\n  liaison feed run abuse-ips --json")]
    Run(NameJson),
    /// Pause a feed: the scheduler skips it until it is resumed.
    #[command(after_help = "Example:\n  liaison feed pause abuse-ips")]
    Pause(NameArg),
    /// Resume a paused feed.
    #[command(after_help = "Example:\n  liaison feed resume abuse-ips")]
    Resume(NameArg),
    /// State of one feed or all: last run and success, error, backoff, counts, cursor.
    #[command(
        after_help = "Examples:\n  liaison feed status\n  liaison feed status abuse-ips --json"
    )]
    Status(StatusArgs),
    /// Remove a feed definition (what it collected stays in the store).
    #[command(after_help = "Example:\n  liaison feed remove abuse-ips")]
    Remove(NameArg),
}

#[derive(Args, Debug)]
pub struct JsonArg {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct NameArg {
    /// The feed's name.
    name: String,
}

#[derive(Args, Debug)]
pub struct NameJson {
    /// The feed's name.
    name: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// One feed (all when absent).
    name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// Name: lower-case letters, digits, '.', '_' and '-'.
    name: String,
    /// `http(s)://` URL or a local file (or, for MISP, a directory holding manifest.json).
    url: String,
    /// news (RSS or Atom), csv, list, misp, taxii or eve.
    #[arg(long)]
    format: String,
    /// Interval (30s, 15m, 6h, 1d) or `cron:MIN HOUR DOM MON DOW` (UTC).
    #[arg(long, default_value = "1h")]
    schedule: String,
    /// Label of what the feed collects, as a banner (as `liaison import --label`).
    #[arg(long, default_value = "UNCLASSIFIED//REL TO ALL")]
    label: String,
    /// Source reliability, Admiralty scale A (completely reliable) to F (cannot be judged).
    #[arg(long, default_value = "F")]
    reliability: String,
    /// Define the feed paused.
    #[arg(long)]
    paused: bool,
    /// Local file: read only what was appended since the last run (log tailing; handles rotation).
    #[arg(long)]
    follow: bool,
    /// CSV: field delimiter.
    #[arg(long, default_value = ",")]
    delimiter: char,
    /// CSV and list: comment character.
    #[arg(long, default_value = "#")]
    comment: char,
    /// CSV: the first line names the columns.
    #[arg(long)]
    header: bool,
    /// CSV: column of the value (header name or 1-based number).
    #[arg(long, default_value = "1")]
    value_column: String,
    /// CSV: column of the value's type (ip, domain, url, email, md5, sha1, sha256).
    #[arg(long)]
    type_column: Option<String>,
    /// CSV and list: one type for every value (else guessed per value).
    #[arg(long)]
    kind: Option<String>,
    /// CSV: a column whose text becomes STIX labels (repeatable).
    #[arg(long = "labels-column")]
    labels_column: Vec<String>,
    /// CSV: column of a description.
    #[arg(long)]
    description_column: Option<String>,
    /// CSV: column of the first-seen time.
    #[arg(long)]
    first_seen_column: Option<String>,
    /// Text encoding (utf-8, windows-1252, iso-8859-1, gbk, shift_jis…; a BOM wins).
    #[arg(long)]
    encoding: Option<String>,
    /// Largest body accepted, in MiB.
    #[arg(long, default_value_t = 256)]
    max_mib: u64,
    /// TAXII: the environment variable holding the token (sent as `Bearer`), or a whole
    /// `Authorization` value (`Basic …`).
    #[arg(long)]
    auth_env: Option<String>,
    /// News: a watchlist file; matching terms become labels `watchlist:TERM`.
    #[arg(long)]
    watchlist: Option<String>,
    /// Run as this user (default: you); the feed writes with that user's rights.
    #[arg(long)]
    user: Option<String>,
    /// Print the definition as JSON.
    #[arg(long)]
    json: bool,
}

fn config_of(rec: &FeedRecord) -> Result<FeedConfig> {
    serde_json::from_value(rec.config.clone())
        .with_context(|| format!("feed {}: stored definition", rec.name))
}

fn state_of(rec: &FeedRecord) -> FeedState {
    serde_json::from_value(rec.state.clone()).unwrap_or_default()
}

pub fn run(ctx: &Ctx, c: FeedCommand) -> Result<ExitCode> {
    let (cfg, store, subject) = ctx.open()?;
    match c {
        FeedCommand::Add(a) => {
            let format = Format::parse(&a.format).ok_or_else(|| {
                anyhow!(
                    "--format '{}': expected news, csv, list, misp, taxii or eve",
                    a.format
                )
            })?;
            let mut f = FeedConfig::new(&a.name, &a.url, format);
            f.schedule = Schedule::parse(&a.schedule).map_err(|e| anyhow!("--{e}"))?;
            f.reliability = Reliability::parse(&a.reliability)
                .ok_or_else(|| anyhow!("--reliability '{}': expected A to F", a.reliability))?;
            f.label = a.label.clone();
            f.paused = a.paused;
            f.follow = a.follow;
            f.max_bytes = a.max_mib << 20;
            f.csv.delimiter = a.delimiter;
            f.csv.comment = Some(a.comment);
            f.csv.header = a.header;
            f.csv.value = a.value_column;
            f.csv.r#type = a.type_column;
            f.csv.kind = a
                .kind
                .as_deref()
                .map(|k| {
                    ValueKind::parse(k).ok_or_else(|| {
                        anyhow!("--kind '{k}': expected ip, ipv6, domain, url, email, md5, sha1 or sha256")
                    })
                })
                .transpose()?;
            f.csv.labels = a.labels_column;
            f.csv.description = a.description_column;
            f.csv.first_seen = a.first_seen_column;
            f.csv.encoding = a.encoding;
            if let Some(var) = &a.auth_env {
                let tok =
                    std::env::var(var).with_context(|| format!("--auth-env: ${var} is not set"))?;
                // A full header value (`Basic …`, `Bearer …`) is taken as is; a bare token is a bearer token.
                f.auth = Some(if tok.starts_with("Basic ") || tok.starts_with("Bearer ") {
                    tok
                } else {
                    format!("Bearer {tok}")
                });
            }
            if let Some(w) = &a.watchlist {
                let p = std::fs::canonicalize(w).with_context(|| format!("--watchlist {w}"))?;
                f.watchlist = Some(p.display().to_string());
            }
            if !f.url.starts_with("http://") && !f.url.starts_with("https://") {
                let p = std::fs::canonicalize(&f.url)
                    .with_context(|| format!("{}: no such file or directory", f.url))?;
                f.url = p.display().to_string();
            }
            f.check().map_err(|e| anyhow!("{e}"))?;
            let label = parse_label(store.policy(), &a.label, &subject.org)?;
            let user = a.user.unwrap_or_else(|| subject.name.clone());
            let runner = cfg.subject(Some(&user))?;
            liaison_policy::check_write(&runner, &label)
                .map_err(|e| anyhow!("user '{user}' may not write at label '{}': {e}", a.label))?;
            let value = serde_json::to_value(&f)?;
            store.put_feed(&subject, &f.name, &value, &label, &user)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&public_config(&f))?);
            } else {
                eprintln!(
                    "feed {} ({}, {}) defined{}",
                    f.name,
                    f.format.as_str(),
                    f.schedule,
                    if f.paused { ", paused" } else { "" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        FeedCommand::List(j) => {
            let feeds = store.feeds(&subject)?;
            if j.json {
                let v: Vec<_> = feeds
                    .iter()
                    .map(|r| {
                        let c = config_of(r).ok();
                        json!({
                            "name": r.name,
                            "url": c.as_ref().map(|c| c.url.clone()),
                            "format": c.as_ref().map(|c| c.format.as_str()),
                            "schedule": c.as_ref().map(|c| c.schedule.to_string()),
                            "label": store.policy().banner(&r.label),
                            "reliability": c.as_ref().map(|c| c.reliability.as_str()),
                            "paused": c.as_ref().is_some_and(|c| c.paused),
                            "user": r.user,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for r in &feeds {
                    let c = config_of(r)?;
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}{}",
                        r.name,
                        c.format.as_str(),
                        c.schedule,
                        c.reliability.as_str(),
                        store.policy().banner(&r.label),
                        c.url,
                        if c.paused { "\tpaused" } else { "" }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FeedCommand::Pause(n) => set_paused(&store, &subject, &n.name, true),
        FeedCommand::Resume(n) => set_paused(&store, &subject, &n.name, false),
        FeedCommand::Remove(n) => {
            if !store.delete_feed(&subject, &n.name)? {
                bail!("no feed named '{}'", n.name);
            }
            eprintln!("feed {} removed", n.name);
            Ok(ExitCode::SUCCESS)
        }
        FeedCommand::Status(s) => {
            let feeds: Vec<FeedRecord> = match &s.name {
                Some(n) => vec![store
                    .feed(&subject, n)?
                    .ok_or_else(|| anyhow!("no feed named '{n}'"))?],
                None => store.feeds(&subject)?,
            };
            if s.json {
                let v: Vec<_> = feeds
                    .iter()
                    .map(|r| {
                        let paused = r.config.get("paused").and_then(|p| p.as_bool()).unwrap_or(false);
                        json!({"name": r.name, "paused": paused, "label": store.policy().banner(&r.label), "state": r.state})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for r in &feeds {
                    print_status(r, &state_of(r), &store);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FeedCommand::Run(n) => {
            let rec = store
                .feed(&subject, &n.name)?
                .ok_or_else(|| anyhow!("no feed named '{}'", n.name))?;
            let runner = cfg
                .subject(Some(&rec.user))
                .with_context(|| format!("feed {}: its user", rec.name))?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?;
            let client = liaison_server::feeds::client()?;
            let started = std::time::Instant::now();
            // A spinner on a terminal (a million-line feed takes a while); nothing when piped.
            let spin = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                let p = indicatif::ProgressBar::new_spinner();
                p.set_message(format!("running feed {}", rec.name));
                p.enable_steady_tick(std::time::Duration::from_millis(120));
                p
            } else {
                indicatif::ProgressBar::hidden()
            };
            let res = liaison_server::feeds::run_feed(&store, &runner, &rec, &client, rt.handle());
            spin.finish_and_clear();
            let secs = started.elapsed().as_secs_f64();
            let after = store.feed(&subject, &n.name)?.map(|r| state_of(&r));
            match res {
                Ok(out) => {
                    if n.json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&json!({
                                "feed": rec.name, "ok": true, "seconds": secs, "outcome": out,
                                "warnings": after.map(|s| s.warnings).unwrap_or_default(),
                            }))?
                        );
                    } else {
                        eprintln!(
                            "feed {}: {} items, {} new, {} updated, {} unchanged, {} skipped{} in {secs:.2} s",
                            rec.name,
                            out.items,
                            out.new,
                            out.updated,
                            out.unchanged,
                            out.rejected,
                            if out.not_modified { " (not modified)" } else { "" }
                        );
                        for w in after.map(|s| s.warnings).unwrap_or_default() {
                            eprintln!("  {w}");
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if n.json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(
                                &json!({"feed": rec.name, "ok": false, "error": e.0})
                            )?
                        );
                    } else {
                        eprintln!("feed {}: failed: {e}", rec.name);
                    }
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// The definition without the TAXII token.
fn public_config(f: &FeedConfig) -> serde_json::Value {
    let mut v = serde_json::to_value(f).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        if m.contains_key("auth") {
            m.insert("auth".into(), json!("(set)"));
        }
    }
    v
}

fn set_paused(
    store: &SqliteStore,
    subject: &liaison_policy::Subject,
    name: &str,
    paused: bool,
) -> Result<ExitCode> {
    let rec = store
        .feed(subject, name)?
        .ok_or_else(|| anyhow!("no feed named '{name}'"))?;
    let mut f = config_of(&rec)?;
    f.paused = paused;
    store.put_feed(
        subject,
        name,
        &serde_json::to_value(&f)?,
        &rec.label,
        &rec.user,
    )?;
    eprintln!("feed {name} {}", if paused { "paused" } else { "resumed" });
    Ok(ExitCode::SUCCESS)
}

fn print_status(r: &FeedRecord, s: &FeedState, store: &SqliteStore) {
    let paused = r
        .config
        .get("paused")
        .and_then(|p| p.as_bool())
        .unwrap_or(false);
    let health = if paused {
        "paused"
    } else if s.failures > 0 {
        "failing"
    } else if s.last_success.is_some() {
        "ok"
    } else {
        "never run"
    };
    println!("{} [{health}] {}", r.name, store.policy().banner(&r.label));
    let show = |k: &str, v: Option<&String>| {
        if let Some(v) = v {
            println!("  {k:<13}{v}");
        }
    };
    show("last run", s.last_run.as_ref());
    show("last success", s.last_success.as_ref());
    show("next run", s.next_run.as_ref());
    if s.failures > 0 {
        println!("  {:<13}{} in a row (backing off)", "failures", s.failures);
    }
    show("error", s.last_error.as_ref());
    println!(
        "  {:<13}{} runs, {} items, {} stored, {} skipped; last run {} items",
        "counts", s.runs, s.items, s.stored, s.rejected, s.last_items
    );
    if let Some(c) = &s.cursor {
        let text = c.to_string();
        if text.len() < 200 {
            println!("  {:<13}{text}", "cursor");
        }
    }
    for w in &s.warnings {
        println!("  skipped      {w}");
    }
}
