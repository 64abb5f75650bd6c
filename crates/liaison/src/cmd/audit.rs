//! `liaison audit`: verify the audit chain, query it, measure it.

use crate::cmd::keys::{audit_dir, audit_key, load_keyring};
use crate::kb::Ctx;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use liaison_protect::audit::Query;
use std::io::Write;
use std::process::ExitCode;

/// `liaison audit …`
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the chain, its signed checkpoints and head; name every altered, deleted, inserted or reordered record and any cut.
    #[command(
        after_help = "With the master key in the environment (LIAISON_MASTER_KEY, LIAISON_MASTER_KEY_FILE or LIAISON_PASSPHRASE) the head's MAC is checked too, so the whole log is verified up to the last append; with only the public key, up to the newest signature (renewed every 100 ms or 1,000 records, and at close), and the records after it are reported as covered only by the MAC.\n\nExit status: 0 intact and signed; 1 tampered (each problem named); 2 nothing wrong, but the last records follow the newest head this verifier can check (a crash between an append and the head, a writer without the signing key, or records only the head's MAC covers when verifying without the master key).\n\nExample:\n  liaison audit verify --json\n  LIAISON_MASTER_KEY_FILE=/etc/liaison/master.key liaison audit verify"
    )]
    Verify(VerifyArgs),
    /// Records by user, object, action and time.
    #[command(
        after_help = "Example:\n  liaison audit query --user alice --action read --since 2026-11-01T00:00:00Z --json"
    )]
    Query(QueryArgs),
    /// Measure append and verify speed on a scratch log (nothing in the data directory is touched).
    #[command(
        after_help = "Example:\n  liaison audit bench --records 1000000 --batch 100\n  liaison audit bench --records 100000 --batch 1 --writers 4\n  liaison audit bench --records 1000000 --plain --json"
    )]
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Records to append, then verify.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Records per append call (the head is renewed once per call: its MAC each time,
    /// its signature every 100 ms or 1,000 records; 1 is a server's one-record-per-request
    /// pattern).
    #[arg(long, default_value_t = 100)]
    batch: u64,
    /// Plain records (default: sealed, as an encrypted deployment writes them).
    #[arg(long)]
    plain: bool,
    /// Threads appending at once to the one log (as a server's request handlers do).
    #[arg(long, default_value_t = 1)]
    writers: u64,
    /// Verify on at most this many threads (0: every core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Scratch directory (default: a new temporary one, removed afterwards).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// JSON output.
    #[arg(long)]
    json: bool,
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
        AuditCommand::Bench(a) => bench(a),
        AuditCommand::Verify(a) => {
            let mut head_key = None;
            let key = match (&a.public_key, load_keyring(&ctx.data)?) {
                (Some(k), _) => liaison_protect::jws::parse_public_key(k, "--public-key")?,
                (None, Some(ring)) => {
                    // The master key at hand unwraps the signing seed, from which the head's
                    // MAC key comes: the records after the newest signature are checked too.
                    let given = ["MASTER_KEY", "MASTER_KEY_FILE", "PASSPHRASE"]
                        .iter()
                        .any(|v| std::env::var_os(format!("LIAISON_{v}")).is_some());
                    if given {
                        let sk = ring.signing_key(&crate::cmd::keys::master_key(&ring)?)?;
                        head_key = Some(liaison_protect::audit::HeadKey::derive(&sk));
                    }
                    ring.verifying_key()?
                }
                (None, None) => bail!(
                    "no keyring in {} (checkpoints are signed only in encrypted deployments): pass --public-key",
                    ctx.data.display()
                ),
            };
            let bar = crate::ui::bytes_bar(0, "verify");
            let r = liaison_store::audit::verify_keyed(
                &dir,
                &key,
                head_key.as_ref(),
                0,
                &mut |done, len| {
                    bar.set_length(len);
                    bar.set_position(done);
                },
            )?;
            bar.finish_and_clear();
            let code = match r.status() {
                "ok" => 0,
                "unsigned_tail" => 2,
                _ => 1,
            };
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "ok": r.ok(), "status": r.status(), "report": r,
                        "problems_text": r.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                    }))?
                );
            } else {
                for p in &r.problems {
                    println!("TAMPERED: {p}");
                }
                if r.mac_tail > 0 {
                    println!(
                        "UNSIGNED: records {} to {} follow the newest signature and only the head's MAC vouches for them, which needs the master key to check (set LIAISON_MASTER_KEY, LIAISON_MASTER_KEY_FILE or LIAISON_PASSPHRASE); a cut among them would not show without it",
                        r.signature_through + 1,
                        r.signature_through + r.mac_tail
                    );
                } else if r.unsigned_tail > 0 {
                    println!(
                        "UNSIGNED: records {} to {} follow the newest signature: a crash between an append and the head's re-signing, or a writer without the signing key (a cut among them would not show; the next signed append covers them)",
                        r.signed_through + 1,
                        r.last_seq
                    );
                }
                println!(
                    "{}: {} records, {} checkpoints, last record {}, signed through {}",
                    match code {
                        0 => "ok",
                        2 => "unsigned tail",
                        _ => "FAILED",
                    },
                    r.records,
                    r.checkpoints,
                    r.last_seq,
                    r.signed_through
                );
            }
            Ok(ExitCode::from(code))
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
            let key = audit_key(&ctx.data)?;
            let out = std::io::stdout();
            let mut w = std::io::BufWriter::new(out.lock());
            let got = liaison_store::audit::query_with(&dir, key.as_ref(), &q, &mut |r| {
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
            let n = got.matched;
            if got.unreadable > 0 {
                eprintln!(
                    "warning: {} lines could not be read (altered, or sealed under another key): run `liaison audit verify`",
                    got.unreadable
                );
            }
            w.flush()?;
            if !a.json {
                eprintln!("{n} records");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// CPU time of this process so far (user + system, every thread), in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass; all-zero is a valid rusage.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `liaison audit bench`: append `records` through the real log (file, lock, head
/// renewed per call, sealing), close it, then verify it as `audit verify` with the
/// master key does (the head's MAC checked).
fn bench(a: BenchArgs) -> Result<ExitCode> {
    use liaison_protect::audit::AuditKey;
    use liaison_store::audit::AuditLog;
    if a.batch == 0 || a.records == 0 || a.writers == 0 {
        bail!("--records, --batch and --writers must be at least 1");
    }
    /// Removes the scratch directory it made, also when the bench fails.
    struct Scratch(Option<std::path::PathBuf>);
    impl Drop for Scratch {
        fn drop(&mut self) {
            if let Some(d) = &self.0 {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }
    let (dir, _scratch) = match &a.dir {
        Some(d) => {
            if liaison_store::audit::log_path(d).exists() {
                bail!(
                    "{} already holds an audit log: give an empty scratch directory",
                    d.display()
                );
            }
            (d.clone(), Scratch(None))
        }
        None => {
            let d = std::env::temp_dir().join(format!(
                "liaison-audit-bench-{}-{}",
                std::process::id(),
                chrono::Utc::now().timestamp_millis()
            ));
            (d.clone(), Scratch(Some(d)))
        }
    };
    let sk =
        ed25519_dalek::SigningKey::from_bytes(liaison_protect::cipher::Key::generate().as_bytes());
    let seal = (!a.plain).then(|| AuditKey::derive(&sk));
    let objects: Vec<String> = (0..1000)
        .map(|i| format!("indicator--{i:08x}-17d4-4cbf-938f-98ee46b3cd3f"))
        .collect();
    let load_before = loadavg();
    let bar = crate::ui::count_bar(a.records, "append");
    let (c0, t0) = (cpu_seconds(), std::time::Instant::now());
    {
        let log = AuditLog::open_sealed(&dir, Some(sk.clone()), seal)?;
        let done = std::sync::atomic::AtomicU64::new(0);
        let per = a.records.div_ceil(a.writers);
        std::thread::scope(|s| -> Result<()> {
            let mut handles = Vec::new();
            for w in 0..a.writers {
                let (log, objects, done, bar) = (&log, &objects, &done, &bar);
                let (from, to) = ((w * per).min(a.records), ((w + 1) * per).min(a.records));
                handles.push(s.spawn(move || -> Result<()> {
                    let mut i = from;
                    while i < to {
                        let n = a.batch.min(to - i);
                        log.record_many(&mut (i..i + n).map(|k| {
                            (
                                "analyst-17",
                                liaison_protect::audit::action::READ,
                                Some(objects[(k % 1000) as usize].as_str()),
                                "GET /objects/{id}",
                            )
                        }))?;
                        i += n;
                        let d = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
                        if d % 10_000 < n {
                            bar.set_position(d);
                        }
                    }
                    Ok(())
                }));
            }
            for h in handles {
                h.join()
                    .map_err(|_| anyhow::anyhow!("an append thread panicked"))??;
            }
            Ok(())
        })?;
        // Closing: a checkpoint line, the head, fsync.
    }
    bar.finish_and_clear();
    let (append_wall, append_cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    let size = std::fs::metadata(liaison_store::audit::log_path(&dir))?.len();
    let (c1, t1) = (cpu_seconds(), std::time::Instant::now());
    let hk = liaison_protect::audit::HeadKey::derive(&sk);
    let r = liaison_store::audit::verify_keyed(
        &dir,
        &sk.verifying_key(),
        Some(&hk),
        a.threads,
        &mut |_, _| {},
    )?;
    let (verify_wall, verify_cpu) = (t1.elapsed().as_secs_f64(), cpu_seconds() - c1);
    if !r.ok() || r.records != a.records {
        bail!(
            "the bench log did not verify: {} records of {}, {:?}",
            r.records,
            a.records,
            r.problems
        );
    }
    let threads = if a.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    } else {
        a.threads
    };
    let n = a.records as f64;
    let out = serde_json::json!({
        "records": a.records, "batch": a.batch, "writers": a.writers, "sealed": !a.plain, "log_bytes": size,
        "append": {"wall_s": append_wall, "cpu_s": append_cpu, "records_per_s": n / append_wall},
        "verify": {"wall_s": verify_wall, "cpu_s": verify_cpu, "records_per_s": n / verify_wall, "threads": threads},
        "load_before": load_before, "load_after": loadavg(),
    });
    if a.json {
        println!("{out}");
    } else {
        println!(
            "{} records ({}), {} per append call, {} writer(s), log {:.1} MB, load {} -> {}",
            a.records,
            if a.plain { "plain" } else { "sealed" },
            a.batch,
            a.writers,
            size as f64 / 1e6,
            load_before,
            loadavg()
        );
        println!(
            "append: {:>10.0} records/s  ({append_wall:.2} s wall, {append_cpu:.2} s CPU)",
            n / append_wall
        );
        println!(
            "verify: {:>10.0} records/s  ({verify_wall:.2} s wall, {verify_cpu:.2} s CPU, {threads} threads)",
            n / verify_wall
        );
    }
    Ok(ExitCode::SUCCESS)
}
