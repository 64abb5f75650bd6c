//! `liaison feed`: define collection feeds, run them, pause and resume them, and see
//! their state. `liaison serve` runs them on their schedules.

use crate::kb::Ctx;
use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use liaison_collect::state::FeedState;
use liaison_server::feeds_api::{FeedError, FeedSpec, FeedView, Feeds};
use liaison_store::FeedWrite;
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
    /// Run as this user (default: you; another user: administrators only); the feed
    /// writes with that user's rights.
    #[arg(long)]
    user: Option<String>,
    /// Print the definition as JSON.
    #[arg(long)]
    json: bool,
}

fn state_of(v: &serde_json::Value) -> FeedState {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// A refused feed operation, with a definition's field named as its flag.
fn cli_error(e: FeedError) -> anyhow::Error {
    match e {
        FeedError::Invalid { field, message } => match field.as_str() {
            "name" | "url" => anyhow!("{field}: {message}"),
            f => anyhow!("--{} {message}", f.replace('_', "-")),
        },
        other => anyhow!("{other}"),
    }
}

/// Writes to a feed are audit records, whatever their outcome, worded as the REST
/// API words them. An absent and an unreadable name give the same error text, so
/// the log does not tell them apart either.
fn record<T>(
    ctx: &Ctx,
    subject: &liaison_policy::Subject,
    name: &str,
    what: &str,
    res: &Result<T, FeedError>,
) -> Result<()> {
    let outcome = match res {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("refused: {e}"),
    };
    ctx.audit()?.record(
        &subject.name,
        liaison_protect::audit::action::WRITE,
        Some(&format!("feed:{name}")),
        &format!("{what}: {outcome}"),
    )?;
    Ok(())
}

pub fn run(ctx: &Ctx, c: FeedCommand) -> Result<ExitCode> {
    let (cfg, store, subject) = ctx.open()?;
    let users = |n: &str| cfg.subject(Some(n)).ok();
    let ops = Feeds {
        store: &store,
        subject: &subject,
        users: &users,
        local_files: true,
    };
    match c {
        FeedCommand::Add(a) => {
            let mut url = a.url.clone();
            if !url.starts_with("http://") && !url.starts_with("https://") {
                let p = std::fs::canonicalize(&url)
                    .with_context(|| format!("{url}: no such file or directory"))?;
                url = p.display().to_string();
            }
            let auth = match &a.auth_env {
                Some(var) => Some(
                    std::env::var(var).with_context(|| format!("--auth-env: ${var} is not set"))?,
                ),
                None => None,
            };
            let watchlist = match &a.watchlist {
                Some(w) => Some(
                    std::fs::canonicalize(w)
                        .with_context(|| format!("--watchlist {w}"))?
                        .display()
                        .to_string(),
                ),
                None => None,
            };
            let spec = FeedSpec {
                name: a.name,
                url,
                format: a.format,
                schedule: Some(a.schedule),
                label: Some(a.label),
                reliability: Some(a.reliability),
                paused: a.paused,
                follow: a.follow,
                delimiter: Some(a.delimiter),
                comment: Some(a.comment),
                header: a.header,
                value_column: Some(a.value_column),
                type_column: a.type_column,
                kind: a.kind,
                labels_column: a.labels_column,
                description_column: a.description_column,
                first_seen_column: a.first_seen_column,
                encoding: a.encoding,
                max_mib: Some(a.max_mib),
                auth,
                watchlist,
                user: a.user,
            };
            let name = spec.name.clone();
            let res = ops.define(&spec, FeedWrite::Upsert);
            record(ctx, &subject, &name, "define feed", &res)?;
            let (v, _) = res.map_err(cli_error)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&v.definition)?);
            } else {
                eprintln!(
                    "feed {} ({}, {}) defined{}",
                    v.name,
                    v.format.unwrap_or("?"),
                    v.schedule.as_deref().unwrap_or("?"),
                    if v.paused { ", paused" } else { "" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        FeedCommand::List(j) => {
            let feeds = ops.list().map_err(cli_error)?;
            if j.json {
                println!("{}", serde_json::to_string_pretty(&feeds)?);
            } else {
                for v in &feeds {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}{}",
                        v.name,
                        v.format.unwrap_or("?"),
                        v.schedule.as_deref().unwrap_or("?"),
                        v.reliability.unwrap_or("?"),
                        v.label,
                        v.url.as_deref().unwrap_or("?"),
                        if v.paused { "\tpaused" } else { "" }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FeedCommand::Pause(n) => {
            let res = ops.set_paused(&n.name, true);
            record(ctx, &subject, &n.name, "pause feed", &res)?;
            res.map_err(cli_error)?;
            eprintln!("feed {} paused", n.name);
            Ok(ExitCode::SUCCESS)
        }
        FeedCommand::Resume(n) => {
            let res = ops.set_paused(&n.name, false);
            record(ctx, &subject, &n.name, "resume feed", &res)?;
            res.map_err(cli_error)?;
            eprintln!("feed {} resumed", n.name);
            Ok(ExitCode::SUCCESS)
        }
        FeedCommand::Remove(n) => {
            let res = ops.remove(&n.name);
            record(ctx, &subject, &n.name, "remove feed", &res)?;
            res.map_err(cli_error)?;
            eprintln!("feed {} removed", n.name);
            Ok(ExitCode::SUCCESS)
        }
        FeedCommand::Status(s) => {
            let feeds = match &s.name {
                Some(n) => vec![ops.show(n).map_err(cli_error)?],
                None => ops.list().map_err(cli_error)?,
            };
            if s.json {
                println!("{}", serde_json::to_string_pretty(&feeds)?);
            } else {
                for v in &feeds {
                    print_status(v);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FeedCommand::Run(n) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?;
            let client = liaison_server::feeds::client()?;
            // A spinner on a terminal (a million-line feed takes a while); nothing when piped.
            let spin = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                let p = indicatif::ProgressBar::new_spinner();
                p.set_message(format!("running feed {}", n.name));
                p.enable_steady_tick(std::time::Duration::from_millis(120));
                p
            } else {
                indicatif::ProgressBar::hidden()
            };
            let res = ops.run(&n.name, &client, rt.handle());
            spin.finish_and_clear();
            record(ctx, &subject, &n.name, "run feed", &res)?;
            let r = res.map_err(cli_error)?;
            if n.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else if let Some(out) = &r.outcome {
                eprintln!(
                    "feed {}: {} items, {} new, {} updated, {} unchanged, {} skipped{} in {:.2} s",
                    r.feed,
                    out.items,
                    out.new,
                    out.updated,
                    out.unchanged,
                    out.rejected,
                    if out.not_modified {
                        " (not modified)"
                    } else {
                        ""
                    },
                    r.seconds
                );
                for w in &r.warnings {
                    eprintln!("  {w}");
                }
            } else {
                eprintln!(
                    "feed {}: failed: {}",
                    r.feed,
                    r.error.as_deref().unwrap_or("?")
                );
            }
            Ok(if r.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn print_status(v: &FeedView) {
    let s = state_of(&v.state);
    println!("{} [{}] {}", v.name, v.health, v.label);
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
    show("not running", v.blocked.as_ref());
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
