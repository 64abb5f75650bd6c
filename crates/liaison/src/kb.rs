//! Knowledge-base commands: init, import, get, search, graph, export, stats, config.

use crate::config::{parse_label, Config};
use crate::ui;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use liaison_policy::Subject;
use liaison_stix::bundle::BundleReader;
use liaison_stix::{ErrorKind, StixObject};
use liaison_store::{
    ExportFilter, ImportItem, ImportOptions, ImportReport, Prepared, Rejection, SearchQuery,
    SqliteStore, Store, StoreError,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What every command gets from the global flags.
pub struct Ctx {
    /// The data directory.
    pub data: PathBuf,
    /// `--as`.
    pub as_user: Option<String>,
}

impl Ctx {
    /// Config, store and the acting subject.
    pub fn open(&self) -> Result<(Config, SqliteStore, Subject)> {
        let cfg = Config::load(&self.data)?;
        let subject = cfg.subject(self.as_user.as_deref())?;
        let store = crate::cmd::keys::open_store(&self.data, cfg.policy()?)
            .with_context(|| format!("opening the store in {}", self.data.display()))?;
        Ok((cfg, store, subject))
    }

    /// The audit log (every read of labelled content, write and export is recorded).
    pub fn audit(&self) -> Result<liaison_store::audit::AuditLog> {
        crate::cmd::keys::audit_log(&self.data)
    }
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Id of your organization.
    #[arg(long, default_value = "local")]
    org: String,
    /// Overwrite an existing config.toml.
    #[arg(long)]
    force: bool,
}

pub fn init(ctx: &Ctx, a: InitArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&ctx.data)
        .with_context(|| format!("creating {}", ctx.data.display()))?;
    let path = Config::path(&ctx.data);
    if path.exists() && !a.force {
        bail!("{} exists (use --force to overwrite)", path.display());
    }
    let cfg = Config::starter(&a.org);
    cfg.save(&ctx.data)?;
    SqliteStore::open(&ctx.data.join("liaison.db"), cfg.policy()?)?;
    println!(
        "Created {} with organization '{}' and user 'admin'.",
        ctx.data.display(),
        a.org
    );
    println!(
        "Edit {} to add levels, compartments, organizations and users.",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Check config.toml: organizations, units, levels and compartments of every user.
    #[command(after_help = "Example:\n  liaison config check --data /srv/liaison")]
    Check,
}

pub fn config(ctx: &Ctx, c: ConfigCommand) -> Result<ExitCode> {
    match c {
        ConfigCommand::Check => {
            let cfg = Config::load(&ctx.data)?;
            println!(
                "{}: ok ({} levels, {} compartments, {} organizations, {} users)",
                Config::path(&ctx.data).display(),
                cfg.deployment.levels.len(),
                cfg.deployment.compartments.len(),
                cfg.orgs.len(),
                cfg.users.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Files: a STIX bundle, a JSON list of objects, or one object; `.gz` is decompressed.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Label for objects that carry none, as a banner: `SECRET//GRID//REL TO cert, ministry//TLP:AMBER`.
    #[arg(long)]
    label: Option<String>,
    /// Stop at the first invalid object; nothing of that file is stored.
    #[arg(long)]
    strict: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Admiralty grade of the source and information (`B2`): sources get the reliability,
    /// reports, notes, opinions, indicators and sightings the grade and its STIX confidence.
    #[arg(long)]
    grade: Option<String>,
    /// Refuse files without a detached signature (FILE.jws) by a partner pinned in config.toml.
    /// A FILE.jws next to a file is always checked, and a bad one always refused.
    #[arg(long)]
    require_signature: bool,
    /// Input format: `auto` tells a MISP event (`{"Event": …}`) from STIX by its first key.
    #[arg(long, value_enum, default_value = "auto")]
    format: InputFormat,
}

/// What an import file holds.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// Decide per file.
    Auto,
    /// STIX 2.1 or 2.0 (bundle, list or object).
    Stix,
    /// A MISP event (MISP JSON, as MISP exports it and MISP feeds publish it).
    Misp,
}

struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where an item came from in its file, to name it in errors.
fn split_path(path: &str) -> (String, Option<u32>) {
    if let Some(stripped) = path.strip_suffix(']') {
        if let Some((prefix, idx)) = stripped.rsplit_once('[') {
            if let Ok(i) = idx.parse() {
                return (prefix.to_string(), Some(i));
            }
        }
    }
    (path.to_string(), None)
}

fn rejection_from(e: &liaison_stix::Error, index: u64, id: Option<String>) -> Rejection {
    let fatal = matches!(
        e.kind(),
        ErrorKind::Json | ErrorKind::Truncated | ErrorKind::Io
    );
    let mut reason = e.message().to_string();
    if let Some(p) = e.position() {
        reason = format!("{reason} (at {p})");
    }
    Rejection {
        index,
        id,
        path: e.path().to_string(),
        reason,
        fatal,
    }
}

/// Parse a file on a second thread (JSON parsing and 2.0 upgrade) while this one writes.
pub fn import_file(
    store: &dyn Store,
    subject: &Subject,
    path: &Path,
    opts: &ImportOptions,
    show_progress: bool,
) -> Result<ImportReport, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return Err(StoreError::Aborted(Rejection {
                index: 0,
                id: None,
                path: "$".into(),
                reason: format!("cannot open: {e}"),
                fatal: true,
            }))
        }
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let gz = path.extension().is_some_and(|e| e == "gz");
    // About 700 bytes an object in typical bundles; gzip shrinks JSON about fivefold.
    let opts = &ImportOptions {
        expected_objects: Some(len * if gz { 5 } else { 1 } / 700),
        ..opts.clone()
    };
    let count = Arc::new(AtomicU64::new(0));
    let counting = CountingReader {
        inner: file,
        count: count.clone(),
    };
    let reader: Box<dyn Read + Send> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 20,
            counting,
        )))
    } else {
        Box::new(counting)
    };
    let (tx, rx) = crossbeam_channel::bounded::<Vec<(String, ImportItem)>>(16);
    let parser = std::thread::spawn(move || {
        let mut reader = BundleReader::new(BufReader::with_capacity(1 << 20, reader));
        let mut batch = Vec::with_capacity(256);
        let mut n = 0u64;
        while let Some(next) = reader.next_value_with_path() {
            match next {
                Ok((p, value)) => {
                    let is20 = match &value {
                        Value::Object(m) => {
                            liaison_stix::upgrade::is_stix20(m, reader.bundle_spec_version())
                        }
                        _ => false,
                    };
                    let id = value.get("id").and_then(Value::as_str).map(String::from);
                    let items: Vec<ImportItem> = if is20 {
                        match liaison_stix::upgrade_20(value) {
                            Ok(vals) => vals
                                .into_iter()
                                .map(|v| {
                                    StixObject::from_value(v)
                                        .map(Prepared::new)
                                        .map_err(|e| rejection_from(&e, n, id.clone()))
                                })
                                .collect(),
                            Err(e) => vec![Err(rejection_from(&e, n, id))],
                        }
                    } else {
                        vec![StixObject::from_value(value)
                            .map(Prepared::new)
                            .map_err(|e| rejection_from(&e, n, id))]
                    };
                    for it in items {
                        batch.push((p.clone(), it));
                    }
                }
                Err(e) => {
                    let fatal = rejection_from(&e, n, None);
                    let stop = fatal.fatal;
                    batch.push((e.path().to_string(), Err(fatal)));
                    if stop {
                        break;
                    }
                }
            }
            n += 1;
            if batch.len() >= 256
                && tx
                    .send(std::mem::replace(&mut batch, Vec::with_capacity(256)))
                    .is_err()
            {
                return;
            }
        }
        let _ = tx.send(batch);
    });

    // Input paths per item, kept compactly: one prefix and an index per item.
    let mut prefix = String::from("$");
    let mut where_from: Vec<u32> = Vec::new();
    let mut items = rx.iter().flatten().map(|(p, item)| {
        let (pre, idx) = split_path(&p);
        if idx.is_some() {
            prefix = pre;
        }
        where_from.push(idx.unwrap_or(u32::MAX));
        item
    });
    let pb = if show_progress {
        ui::bytes_bar(len, &path.display().to_string())
    } else {
        indicatif::ProgressBar::hidden()
    };
    let result = store.import(subject, &mut items, opts, &mut |_| {
        pb.set_position(count.load(Ordering::Relaxed))
    });
    drop(items);
    pb.finish_and_clear();
    let _ = parser.join();
    let locate = |r: &mut Rejection| {
        let idx = where_from
            .get(r.index as usize)
            .copied()
            .unwrap_or(u32::MAX);
        if !r.path.starts_with("$.objects") && !r.path.starts_with("$[") && idx != u32::MAX {
            let rest = r.path.strip_prefix('$').unwrap_or(&r.path);
            r.path = format!("{prefix}[{idx}]{rest}");
        }
        if idx != u32::MAX {
            r.index = idx as u64;
        }
    };
    match result {
        Ok(mut report) => {
            report.invalid.iter_mut().for_each(locate);
            Ok(report)
        }
        Err(StoreError::Aborted(mut r)) => {
            locate(&mut r);
            Err(StoreError::Aborted(r))
        }
        Err(e) => Err(e),
    }
}

pub fn import(ctx: &Ctx, a: ImportArgs) -> Result<ExitCode> {
    let (_cfg, store, subject) = ctx.open()?;
    let default_label = a
        .label
        .as_deref()
        .map(|l| parse_label(store.policy(), l, &subject.org))
        .transpose()?;
    let opts = ImportOptions {
        default_label,
        strict: a.strict,
        ..Default::default()
    };
    let mut failed = false;
    let mut all = Vec::new();
    let audit = ctx.audit()?;
    for file in &a.files {
        let t0 = Instant::now();
        let name = file.display().to_string();
        if a.require_signature || crate::cmd::sign::signature_path(file).exists() {
            match crate::cmd::sign::verify_file(&ctx.data, file) {
                Ok(kid) => audit.record(
                    &subject.name,
                    liaison_protect::audit::action::SHARE,
                    Some(&name),
                    &format!("received, signed by {kid}"),
                )?,
                Err(e) => {
                    audit.record(
                        &subject.name,
                        liaison_protect::audit::action::DENIED,
                        Some(&name),
                        &format!("bad signature: {e:#}"),
                    )?;
                    return Err(e);
                }
            }
        }
        let is_misp = match a.format {
            InputFormat::Misp => true,
            InputFormat::Stix => false,
            InputFormat::Auto => crate::misp::looks_like_misp(file),
        };
        let mut warnings = Vec::new();
        let result = if is_misp {
            crate::misp::import_misp_file(&store, &subject, file, &opts, !a.json).map(|(r, w)| {
                warnings = w;
                r
            })
        } else {
            let compartments: Vec<String> = opts
                .default_label
                .as_ref()
                .map(|l| l.compartments.iter().cloned().collect())
                .unwrap_or_default();
            let protect =
                crate::cmd::keys::Protect::new(&ctx.data, a.grade.as_deref(), &compartments)?;
            if protect.wanted(file) {
                let input = protect.through_fifo(file)?;
                import_file(&store, &subject, &input.fifo, &opts, !a.json)
            } else {
                import_file(&store, &subject, file, &opts, !a.json)
            }
        };
        if !a.json {
            for w in &warnings {
                eprintln!("warning: {name}: {}: {}", w.path, w.message);
            }
        }
        let warnings: Vec<Value> = warnings
            .iter()
            .map(|w| json!({"path": w.path, "message": w.message}))
            .collect();
        let outcome = match &result {
            Ok(r) => format!(
                "{} new, {} updated, {} unchanged, {} invalid",
                r.new,
                r.updated,
                r.unchanged,
                r.invalid.len()
            ),
            Err(e) => format!("refused: {e}"),
        };
        audit.record(
            &subject.name,
            liaison_protect::audit::action::WRITE,
            Some(&name),
            &outcome,
        )?;
        match result {
            Ok(report) => {
                let secs = t0.elapsed().as_secs_f64();
                let total =
                    report.new + report.updated + report.unchanged + report.invalid.len() as u64;
                if !report.invalid.is_empty() {
                    failed = true;
                }
                if a.json {
                    all.push(json!({"file": name, "ok": true, "report": report, "seconds": secs,
                                    "format": if is_misp { "misp" } else { "stix" }, "warnings": warnings}));
                } else {
                    println!(
                        "{name}: {} new, {} updated, {} unchanged, {} invalid ({total} objects in {secs:.2} s, {:.0}/s)",
                        report.new,
                        report.updated,
                        report.unchanged,
                        report.invalid.len(),
                        total as f64 / secs.max(1e-9)
                    );
                    for r in &report.invalid {
                        println!(
                            "  invalid: {name}: object {} ({}) at {}: {}",
                            r.index,
                            r.id.as_deref().unwrap_or("no id"),
                            r.path,
                            r.reason
                        );
                    }
                }
            }
            Err(StoreError::Aborted(r)) => {
                failed = true;
                if a.json {
                    all.push(json!({"file": name, "ok": false, "error": r, "warnings": warnings}));
                } else {
                    eprintln!(
                        "liaison: {name}: object {} ({}) at {}: {}; nothing of this file was stored",
                        r.index,
                        r.id.as_deref().unwrap_or("no id"),
                        r.path,
                        r.reason
                    );
                }
                if a.strict {
                    break;
                }
            }
            Err(e) => return Err(e).with_context(|| format!("importing {name}")),
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// Object id.
    id: String,
    /// Every version, oldest first.
    #[arg(long)]
    versions: bool,
    /// Print JSON only (the object, or a list of versions).
    #[arg(long)]
    json: bool,
}

pub fn get(ctx: &Ctx, a: GetArgs) -> Result<ExitCode> {
    let (_cfg, store, subject) = ctx.open()?;
    let versions = if a.versions {
        store.versions(&subject, &a.id)?
    } else {
        store.get(&subject, &a.id)?.into_iter().collect()
    };
    // Only reads that return something are recorded: an absent and a forbidden object
    // answer alike, and the log must not tell them apart either.
    if !versions.is_empty() {
        let banner = store.policy().banner(&versions[versions.len() - 1].label);
        ctx.audit()?.record(
            &subject.name,
            liaison_protect::audit::action::READ,
            Some(&a.id),
            &format!("{} version(s) at {banner}", versions.len()),
        )?;
    }
    if versions.is_empty() {
        eprintln!("liaison: no object {} that {} may read", a.id, subject.name);
        return Ok(ExitCode::from(1));
    }
    if a.json {
        let mut list: Vec<Value> = versions.iter().map(|v| store.labelled_value(v)).collect();
        for v in &mut list {
            crate::cmd::keys::unseal_for(&ctx.data, &subject, v)?;
        }
        let out = if a.versions {
            Value::Array(list)
        } else {
            list.into_iter().next().unwrap_or(Value::Null)
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    for v in &versions {
        let banner = store.policy().banner(&v.label);
        println!("== {banner} ==");
        println!(
            "{} version {}{}{}",
            v.object.id(),
            v.object.version(),
            if v.latest { " (latest)" } else { "" },
            if v.object.revoked() { " REVOKED" } else { "" }
        );
        let mut shown = v.object.to_value();
        crate::cmd::keys::unseal_for(&ctx.data, &subject, &mut shown)?;
        println!("{}", serde_json::to_string_pretty(&shown)?);
        println!("== {banner} ==");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Words (matched by prefix) or Chinese, Japanese, Korean text (matched as substrings).
    text: String,
    /// Only these types (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    types: Vec<String>,
    /// Results per page.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Results to skip.
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn search(ctx: &Ctx, a: SearchArgs) -> Result<ExitCode> {
    let (_cfg, store, subject) = ctx.open()?;
    let q = SearchQuery {
        text: a.text.clone(),
        types: a.types,
        limit: a.limit,
        offset: a.offset,
    };
    let r = store.search(&subject, &q)?;
    ctx.audit()?.record(
        &subject.name,
        liaison_protect::audit::action::SEARCH,
        Some(&q.text),
        &format!("{} readable matches", r.total),
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        for h in &r.hits {
            println!(
                "{:>7.2}  {:<18} {}  {}",
                h.score,
                h.r#type,
                h.id,
                h.name.as_deref().unwrap_or("")
            );
        }
        let facets: Vec<String> = r.facets.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!(
            "{} match{} for {:?}: {}",
            r.total,
            if r.total == 1 { "" } else { "es" },
            a.text,
            facets.join(", ")
        );
    }
    Ok(if r.total == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// Start object id.
    id: String,
    /// Hops to walk.
    #[arg(long, default_value_t = 1)]
    depth: u32,
    /// Stop after this many nodes.
    #[arg(long, default_value_t = 1000)]
    max_nodes: usize,
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// Graphviz DOT output.
    #[arg(long, conflicts_with = "json")]
    dot: bool,
}

pub fn graph(ctx: &Ctx, a: GraphArgs) -> Result<ExitCode> {
    let (_cfg, store, subject) = ctx.open()?;
    let Some(g) = store.graph(&subject, &a.id, a.depth, a.max_nodes)? else {
        eprintln!("liaison: no object {} that {} may read", a.id, subject.name);
        return Ok(ExitCode::from(1));
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&g)?);
    } else if a.dot {
        println!("digraph liaison {{\n  rankdir=LR; node [shape=box, fontname=\"sans-serif\"];");
        for n in &g.nodes {
            let label =
                format!("{}\\n{}", n.r#type, n.name.as_deref().unwrap_or(&n.id)).replace('"', "'");
            println!("  \"{}\" [label=\"{label}\"];", n.id);
        }
        for e in &g.edges {
            println!(
                "  \"{}\" -> \"{}\" [label=\"{}\"];",
                e.source, e.target, e.kind
            );
        }
        println!("}}");
    } else {
        let name = |id: &str| {
            g.nodes
                .iter()
                .find(|n| n.id == id)
                .map(|n| format!("{} {}", n.r#type, n.name.as_deref().unwrap_or(&n.id)))
                .unwrap_or_else(|| id.to_string())
        };
        println!(
            "{} ({} nodes, {} edges{})",
            name(&a.id),
            g.nodes.len(),
            g.edges.len(),
            if g.truncated { ", truncated" } else { "" }
        );
        for e in &g.edges {
            println!(
                "  {}  --{}-->  {}",
                name(&e.source),
                e.kind,
                name(&e.target)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Only these types (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    types: Vec<String>,
    /// Only versions modified at or after this time (RFC 3339, UTC).
    #[arg(long)]
    since: Option<String>,
    /// Every version, not only the latest.
    #[arg(long)]
    all_versions: bool,
    /// Leave Liaison's label extension out of the objects.
    #[arg(long)]
    no_labels: bool,
    /// Write here instead of standard output.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// `stix` (a bundle) or `misp` (MISP event JSON: each report or grouping an event).
    #[arg(long, value_enum, default_value = "stix")]
    format: OutputFormat,
    /// Sign the written file with this Ed25519 key file (`liaison sign keygen`): writes OUT.jws.
    #[arg(long, requires = "out", requires = "kid", value_name = "KEY")]
    sign: Option<PathBuf>,
    /// The key id partners pinned the signing key under.
    #[arg(long)]
    kid: Option<String>,
    /// Leave human-source fields sealed even where you hold their compartment (for
    /// bundles leaving the organization); by default they are opened, as `get` opens them.
    #[arg(long)]
    keep_sealed: bool,
}

/// What `export` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// A STIX 2.1 bundle.
    Stix,
    /// MISP event JSON.
    Misp,
}

pub fn export(ctx: &Ctx, a: ExportArgs) -> Result<ExitCode> {
    let (_cfg, store, subject) = ctx.open()?;
    let audit = ctx.audit()?;
    let target = a
        .out
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "stdout".into());
    let signing = a.sign.clone().zip(a.kid.clone()).zip(a.out.clone());
    if a.format == OutputFormat::Misp {
        audit.record(
            &subject.name,
            liaison_protect::audit::action::EXPORT,
            Some(&target),
            "misp",
        )?;
        let code = export_misp(ctx, &store, &subject, a)?;
        if let Some(((key, kid), out)) = signing {
            crate::cmd::sign::sign_file(&out, &key, &kid)?;
            audit.record(
                &subject.name,
                liaison_protect::audit::action::SHARE,
                Some(&target),
                &format!("signed as {kid}"),
            )?;
        }
        return Ok(code);
    }
    let out: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let bundle_id = format!("bundle--{}", uuid::Uuid::new_v4());
    write!(
        w,
        "{{\"type\":\"bundle\",\"id\":\"{bundle_id}\",\"objects\":["
    )?;
    let mut first = true;
    let mut markings: BTreeSet<String> = BTreeSet::new();
    let mut emit = |w: &mut BufWriter<Box<dyn Write>>, v: &Value| -> std::io::Result<()> {
        if !std::mem::take(&mut first) {
            w.write_all(b",\n")?;
        } else {
            w.write_all(b"\n")?;
        }
        serde_json::to_writer(&mut *w, v).map_err(std::io::Error::other)
    };
    let mut seen_ids: BTreeSet<String> = BTreeSet::new();
    let filter = ExportFilter {
        types: a.types,
        since: a.since,
        all_versions: a.all_versions,
    };
    let mut unsealer = crate::cmd::keys::Unsealer::new(&ctx.data, &subject);
    let n = store.export(&subject, &filter, &mut |o| {
        for m in o.object.object_marking_refs() {
            markings.insert(m.to_string());
        }
        if o.object.type_name() == "marking-definition"
            || o.object.type_name() == "extension-definition"
        {
            seen_ids.insert(o.object.id().to_string());
        }
        let mut v = if a.no_labels {
            o.object.to_value()
        } else {
            store.labelled_value(&o)
        };
        if !a.keep_sealed {
            unsealer
                .unseal(&mut v)
                .map_err(|e| StoreError::Sink(format!("{}: {e:#}", o.object.id())))?;
        }
        emit(&mut w, &v).map_err(|e| StoreError::Sink(e.to_string()))
    })?;
    // Make the bundle self-contained: the TLP markings it uses and our label extension.
    let mut extra = 0;
    for m in markings {
        if let Some(t) = liaison_stix::tlp::Tlp::from_marking_id(&m) {
            if !seen_ids.contains(&m) && t.marking_id() == m {
                emit(&mut w, &t.marking_definition())?;
                extra += 1;
            }
        }
    }
    if !a.no_labels && n > 0 && !seen_ids.contains(liaison_stix::LABEL_EXTENSION_ID) {
        emit(&mut w, &liaison_stix::label::label_extension_definition())?;
        extra += 1;
    }
    w.write_all(b"\n]}\n")?;
    w.flush()?;
    drop(w);
    audit.record(
        &subject.name,
        liaison_protect::audit::action::EXPORT,
        Some(&target),
        &format!(
            "{n} objects, {} with sealed source fields opened",
            unsealer.opened
        ),
    )?;
    if let Some(((key, kid), out)) = signing {
        let sig = crate::cmd::sign::sign_file(&out, &key, &kid)?;
        audit.record(
            &subject.name,
            liaison_protect::audit::action::SHARE,
            Some(&target),
            &format!("signed as {kid}"),
        )?;
        eprintln!("signature: {}", sig.display());
    }
    eprintln!(
        "exported {n} objects (+{extra} marking and extension definitions) readable by {}",
        subject.name
    );
    Ok(ExitCode::SUCCESS)
}

/// Export as MISP events: every readable object is converted in memory
/// (MISP events are single JSON documents).
fn export_misp(
    ctx: &Ctx,
    store: &SqliteStore,
    subject: &Subject,
    a: ExportArgs,
) -> Result<ExitCode> {
    let filter = ExportFilter {
        types: a.types,
        since: a.since,
        all_versions: false,
    };
    let mut objects = Vec::new();
    let mut unsealer = crate::cmd::keys::Unsealer::new(&ctx.data, subject);
    store.export(subject, &filter, &mut |o| {
        let mut v = o.object.to_value();
        if !a.keep_sealed {
            unsealer
                .unseal(&mut v)
                .map_err(|e| StoreError::Sink(format!("{}: {e:#}", o.object.id())))?;
        }
        objects.push(v);
        Ok(())
    })?;
    let doc = crate::misp::events_json(&objects)?;
    let out: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::new(out);
    serde_json::to_writer_pretty(&mut w, &doc)?;
    w.write_all(b"\n")?;
    w.flush()?;
    let events = doc
        .get("response")
        .and_then(Value::as_array)
        .map_or(1, Vec::len);
    eprintln!(
        "exported {} objects as {events} MISP event(s) readable by {}",
        objects.len(),
        subject.name
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn stats(ctx: &Ctx, a: StatsArgs) -> Result<ExitCode> {
    let (cfg, store, subject) = ctx.open()?;
    let st = store.stats(&subject)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: {} objects ({} versions, {} graph edges) readable by {} ({})",
        cfg.deployment.name, st.objects, st.versions, st.edges, subject.name, subject.org
    );
    let mut by_type: Vec<(String, u64)> = st.by_type.into_iter().collect();
    by_type.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!("\nby type:\n{}", ui::bar_chart(&by_type, 40));
    let by_level: Vec<(String, u64)> = cfg
        .deployment
        .levels
        .iter()
        .map(|l| (l.clone(), st.by_level.get(l).copied().unwrap_or(0)))
        .collect();
    println!("by classification:\n{}", ui::bar_chart(&by_level, 40));
    Ok(ExitCode::SUCCESS)
}
