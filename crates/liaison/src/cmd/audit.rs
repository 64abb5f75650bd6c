//! `liaison audit`: verify the audit chain, query it.

use crate::cmd::keys::{audit_dir, load_keyring};
use crate::kb::Ctx;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use liaison_protect::audit::Query;
use std::io::Write;
use std::process::ExitCode;

/// `liaison audit …`
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the chain and its signed checkpoints; name every altered, deleted, inserted or reordered record.
    #[command(after_help = "Example:\n  liaison audit verify --json")]
    Verify(VerifyArgs),
    /// Records by user, object, action and time.
    #[command(
        after_help = "Example:\n  liaison audit query --user alice --action read --since 2026-11-01T00:00:00Z --json"
    )]
    Query(QueryArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Verify against this Ed25519 public key (base64) instead of the keyring's.
    #[arg(long)]
    public_key: Option<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// Only this user.
    #[arg(long)]
    user: Option<String>,
    /// Only records whose object (id, query, file) contains this.
    #[arg(long)]
    object: Option<String>,
    /// Only this action (read, search, write, export, share, login, key, permission, denied).
    #[arg(long)]
    action: Option<String>,
    /// From this time (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// JSON lines output.
    #[arg(long)]
    json: bool,
}

fn ms(flag: &str, t: &Option<String>) -> Result<Option<i64>> {
    t.as_deref()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp_millis())
                .with_context(|| {
                    format!(
                        "--{flag} '{s}': expected an RFC 3339 time such as 2026-11-29T06:00:00Z"
                    )
                })
        })
        .transpose()
}

/// Run `liaison audit …`.
pub fn run(ctx: &Ctx, c: AuditCommand) -> Result<ExitCode> {
    let dir = audit_dir(&ctx.data);
    match c {
        AuditCommand::Verify(a) => {
            let key = match (&a.public_key, load_keyring(&ctx.data)?) {
                (Some(k), _) => liaison_protect::jws::parse_public_key(k, "--public-key")?,
                (None, Some(ring)) => ring.verifying_key()?,
                (None, None) => bail!(
                    "no keyring in {} (checkpoints are signed only in encrypted deployments): pass --public-key",
                    ctx.data.display()
                ),
            };
            let r = liaison_store::audit::verify(&dir, &key)?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "ok": r.ok(), "report": r,
                        "problems_text": r.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                    }))?
                );
            } else {
                for p in &r.problems {
                    println!("TAMPERED: {p}");
                }
                println!(
                    "{}: {} records, {} checkpoints, last record {}{}",
                    if r.ok() { "ok" } else { "FAILED" },
                    r.records,
                    r.checkpoints,
                    r.last_seq,
                    if r.unsigned_tail > 0 {
                        format!(
                            ", {} after the newest checkpoint (not yet signed)",
                            r.unsigned_tail
                        )
                    } else {
                        String::new()
                    }
                );
            }
            Ok(if r.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        AuditCommand::Query(a) => {
            // The records name every user's searches and the ids they were shown, at
            // every label: reading them is an administrator's job.
            let subject =
                crate::config::Config::load(&ctx.data)?.subject(ctx.as_user.as_deref())?;
            if !subject.roles.contains(&liaison_policy::Role::Admin) {
                bail!(
                    "'{}' may not read the audit log: it names other users' searches and the ids they saw (administrators only)",
                    subject.name
                );
            }
            let q = Query {
                user: a.user,
                object: a.object,
                action: a.action,
                since_ms: ms("since", &a.since)?,
                until_ms: ms("until", &a.until)?,
            };
            let out = std::io::stdout();
            let mut w = std::io::BufWriter::new(out.lock());
            let n = liaison_store::audit::query(&dir, &q, &mut |r| {
                if a.json {
                    writeln!(w, "{}", r.to_line())
                } else {
                    let t = chrono::DateTime::from_timestamp_millis(r.ts)
                        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                        .unwrap_or_default();
                    writeln!(
                        w,
                        "{:>8}  {t}  {:<12} {:<10} {}  {}",
                        r.seq,
                        r.user,
                        r.action,
                        r.object.as_deref().unwrap_or("-"),
                        r.detail
                    )
                }
            })?;
            w.flush()?;
            if !a.json {
                eprintln!("{n} records");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
