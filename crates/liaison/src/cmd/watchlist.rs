//! `liaison watchlist`: watchlists kept in the store, so that screening runs against
//! what the organization watches for without files passed around, under labels like any
//! other intelligence.
//!
//! A watchlist is a custom STIX object of type `x-liaison-watchlist` (name, description,
//! terms with their options). Being an object of the knowledge base, it is labelled,
//! versioned, audited and shared like the rest, and every read goes through the store's
//! label rules: a user sees only the watchlists their clearance allows, and screening with
//! `--from-store` uses only those.

use crate::config::parse_label;
use crate::kb::Ctx;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use liaison_policy::{join, Label, Releasability, Subject};
use liaison_screen::{IndicatorRule, Term, Watchlist};
use liaison_stix::{StixObject, Timestamp};
use liaison_store::{ExportFilter, ImportOptions, Prepared, SqliteStore, Store, StoredObject};
use liaison_tasks::alert::bump_modified;
use liaison_tasks::ops::write_label;
use liaison_tasks::time::fmt_ms;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// The STIX type of a stored watchlist.
pub const WATCHLIST_TYPE: &str = "x-liaison-watchlist";

/// Watchlists kept in the store.
#[derive(Subcommand, Debug)]
pub enum WatchlistCommand {
    /// Keep a watchlist file in the store under a name (a new version when you can
    /// already read a watchlist of that name).
    #[command(after_help = "Examples:\n  \
        liaison watchlist add energy terms.csv --label 'SECRET//GRID'\n  \
        liaison watchlist add vip-domains domains.txt --description 'look-alike domains'\n  \
        liaison screen --from-store sensor.log\n\n\
        The file is read as `liaison screen --watchlist` reads it: one term a line, or CSV\n\
        with a header `term,case_insensitive,whole_word,severity,tags,label`.")]
    Add(AddArgs),
    /// List the watchlists you may read.
    #[command(after_help = "Example:\n  liaison watchlist list --json")]
    List(ListArgs),
    /// Print a watchlist's terms as CSV (which `watchlist add` and `screen -f` read back).
    #[command(after_help = "Example:\n  liaison watchlist show energy > energy.csv")]
    Show(ShowArgs),
    /// Remove a watchlist (it is revoked: earlier versions stay in its history).
    #[command(after_help = "Example:\n  liaison watchlist remove energy")]
    Remove(RemoveArgs),
}

/// `watchlist add`.
#[derive(Args, Debug)]
pub struct AddArgs {
    /// Name of the watchlist.
    pub name: String,
    /// The terms: one a line, or CSV with a `term` header column.
    pub file: PathBuf,
    /// Security label (banner, e.g. `SECRET//GRID//REL TO cert`); default: your
    /// organization's own, or the label the watchlist already has.
    #[arg(long, value_name = "BANNER")]
    pub label: Option<String>,
    /// What the watchlist is for.
    #[arg(long)]
    pub description: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `watchlist list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `watchlist show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Name or id of the watchlist.
    pub name: String,
    /// Print the stored object (with its label) as JSON instead of CSV.
    #[arg(long)]
    pub json: bool,
}

/// `watchlist remove`.
#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// Name or id of the watchlist.
    pub name: String,
}

/// Run `liaison watchlist …`.
pub fn run(ctx: &Ctx, cmd: WatchlistCommand) -> Result<ExitCode> {
    match cmd {
        WatchlistCommand::Add(a) => add(ctx, a),
        WatchlistCommand::List(a) => list(ctx, a),
        WatchlistCommand::Show(a) => show(ctx, a),
        WatchlistCommand::Remove(a) => remove(ctx, a),
    }
}

/// The watchlists the subject may read (latest versions, not revoked), in name order.
fn readable(store: &SqliteStore, subject: &Subject) -> Result<Vec<StoredObject>> {
    let filter = ExportFilter {
        types: vec![WATCHLIST_TYPE.into()],
        ..ExportFilter::default()
    };
    let mut out = Vec::new();
    store.export(subject, &filter, &mut |o| {
        if !o.object.revoked() {
            out.push(o);
        }
        Ok(())
    })?;
    out.sort_by(|a, b| {
        name_of(a)
            .cmp(name_of(b))
            .then(a.object.id().cmp(b.object.id()))
    });
    Ok(out)
}

fn name_of(o: &StoredObject) -> &str {
    o.object.name().unwrap_or("")
}

/// The one readable watchlist with this name or id. Several of one name (kept under
/// different labels) must be named by id.
fn find(store: &SqliteStore, subject: &Subject, key: &str) -> Result<Option<StoredObject>> {
    // An id names by id only: a list named like another's id must not shadow it.
    let by_id = is_id(key);
    let mut found: Vec<StoredObject> = readable(store, subject)?
        .into_iter()
        .filter(|o| {
            if by_id {
                o.object.id() == key
            } else {
                name_of(o) == key
            }
        })
        .collect();
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => {
            let ids: Vec<String> = found
                .iter()
                .map(|o| format!("{} ({})", o.object.id(), store.policy().banner(&o.label)))
                .collect();
            bail!(
                "{} watchlists are named '{key}'; name one by id: {}",
                ids.len(),
                ids.join(", ")
            )
        }
    }
}

/// Whether `key` is a watchlist id rather than a name.
fn is_id(key: &str) -> bool {
    key.strip_prefix(WATCHLIST_TYPE)
        .is_some_and(|rest| rest.starts_with("--"))
}

/// A term as the stored object holds it (false options and empty lists left out).
fn term_json(t: &Term) -> Value {
    let mut v = json!({ "term": t.text, "severity": t.severity.to_string() });
    if t.case_insensitive {
        v["case_insensitive"] = json!(true);
    }
    if t.whole_word {
        v["whole_word"] = json!(true);
    }
    if !t.tags.is_empty() {
        v["tags"] = json!(t.tags);
    }
    if let Some(l) = &t.label {
        v["label"] = json!(l);
    }
    v
}

/// The terms of a stored watchlist object. `where_` names the object in errors.
fn terms_of(obj: &Value, where_: &str) -> Result<Watchlist> {
    let arr = obj["terms"]
        .as_array()
        .ok_or_else(|| anyhow!("{where_}: $.terms: expected an array of terms"))?;
    let mut list = Watchlist::new();
    list.terms.reserve(arr.len());
    for (i, t) in arr.iter().enumerate() {
        let path = format!("{where_}: $.terms[{i}]");
        let text = t["term"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| anyhow!("{path}.term: expected a non-empty string"))?;
        let severity = match t.get("severity") {
            None => Default::default(),
            Some(s) => s
                .as_str()
                .ok_or_else(|| anyhow!("{path}.severity: expected a string"))?
                .parse()
                .map_err(|e: String| anyhow!("{path}.severity: {e}"))?,
        };
        let flag = |k: &str| -> Result<bool> {
            match t.get(k) {
                None => Ok(false),
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| anyhow!("{path}.{k}: expected true or false")),
            }
        };
        let mut term = Term::new(text)
            .ignore_case(flag("case_insensitive")?)
            .whole_word(flag("whole_word")?)
            .severity(severity);
        if let Some(tags) = t.get("tags") {
            let tags = tags
                .as_array()
                .ok_or_else(|| anyhow!("{path}.tags: expected an array of strings"))?;
            for (j, tag) in tags.iter().enumerate() {
                term.tags.push(
                    tag.as_str()
                        .ok_or_else(|| anyhow!("{path}.tags[{j}]: expected a string"))?
                        .to_string(),
                );
            }
        }
        if let Some(l) = t.get("label") {
            term.label = Some(
                l.as_str()
                    .ok_or_else(|| anyhow!("{path}.label: expected a string"))?
                    .to_string(),
            );
        }
        list.terms.push(term);
    }
    Ok(list)
}

/// Now as a STIX timestamp.
fn now_text() -> String {
    fmt_ms(Timestamp::now().millis())
}

fn add(ctx: &Ctx, a: AddArgs) -> Result<ExitCode> {
    if a.name.trim().is_empty() {
        bail!("the watchlist name is empty");
    }
    let name_of_file = a.file.display().to_string();
    let text = std::fs::read_to_string(&a.file).with_context(|| name_of_file.clone())?;
    let list = Watchlist::parse(&name_of_file, &text)?;
    if list.is_empty() {
        bail!("{name_of_file}: no terms (empty lines and # comments only)");
    }
    let (_cfg, store, subject) = ctx.open()?;
    let policy = store.policy();
    let previous = find(&store, &subject, &a.name)?;
    // Named by id: a new version of that list, under its own name.
    let name = match (&previous, is_id(&a.name)) {
        (Some(p), true) => name_of(p).to_string(),
        (None, true) => {
            bail!(
                "no watchlist '{}' that {} may read (a new list is named, not given an id)",
                a.name,
                subject.name
            )
        }
        _ => a.name.clone(),
    };
    let label: Label = match (&a.label, &previous) {
        (Some(t), _) => parse_label(policy, t, &subject.org)?,
        (None, Some(p)) => p.label.clone(),
        (None, None) => Label {
            releasable_to: Releasability::owner_only(),
            ..Label::public(Some(subject.org.clone()))
        },
    };
    let terms: Vec<Value> = list.terms.iter().map(term_json).collect();
    if let Some(p) = &previous {
        let same = p.label == label
            && p.object.get("terms") == Some(&Value::Array(terms.clone()))
            && (a.description.is_none() || a.description.as_deref() == p.object.description());
        if same {
            if a.json {
                println!(
                    "{}",
                    json!({"id": p.object.id(), "name": name, "terms": list.len(),
                           "label": policy.banner(&label), "unchanged": true})
                );
            } else {
                println!("watchlist '{name}' unchanged ({})", p.object.id());
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    let now_ms = Timestamp::now().millis();
    let now = fmt_ms(now_ms);
    let (id, created) = match &previous {
        Some(p) => (
            p.object.id().to_string(),
            p.object.created().unwrap_or(&now).to_string(),
        ),
        None => (
            format!("{WATCHLIST_TYPE}--{}", uuid::Uuid::new_v4()),
            now.clone(),
        ),
    };
    let mut v = json!({
        "type": WATCHLIST_TYPE,
        "spec_version": "2.1",
        "id": id,
        "created": created,
        "modified": now,
        "name": name,
        "terms": terms,
    });
    // `modified` must move forward even when two versions come within a millisecond.
    if let Some(p) = &previous {
        bump_modified(&mut v, &json!({"modified": p.object.modified()}), now_ms);
    }
    // A description written at the old label is not carried to a label that does not
    // dominate it: it would become readable by people the old label kept it from.
    let kept = previous
        .as_ref()
        .filter(|p| label.dominates(&p.label))
        .and_then(|p| p.object.description());
    if a.description.is_none() && kept.is_none() {
        if let Some(p) = previous
            .as_ref()
            .filter(|p| p.object.description().is_some())
        {
            eprintln!(
                "liaison: the description stays with the version at {} (give --description to set one at {})",
                policy.banner(&p.label),
                policy.banner(&label)
            );
        }
    }
    if let Some(d) = a.description.as_deref().or(kept) {
        v["description"] = json!(d);
    }
    let mut obj = StixObject::from_value(v)?;
    write_label(&mut obj, &label, policy);
    let opts = ImportOptions {
        default_label: None,
        strict: true,
        expected_objects: None,
    };
    // The audit log is opened before the write: a list is not stored unaudited.
    let audit = ctx.audit()?;
    let mut it = std::iter::once(Ok(Prepared::new(obj)));
    // Strict: an invalid object aborts the import (nothing stored) with its reason.
    let result = store
        .import(&subject, &mut it, &opts, &mut |_| {})
        .map_err(|e| anyhow!("{e}"));
    let banner = policy.banner(&label);
    let outcome = match &result {
        Ok(_) => format!(
            "watchlist '{}': {} terms at {banner}{}",
            name,
            list.len(),
            if previous.is_some() {
                ", new version"
            } else {
                ""
            }
        ),
        Err(e) => format!("watchlist '{}': refused: {e}", name),
    };
    audit.record(
        &subject.name,
        liaison_protect::audit::action::WRITE,
        Some(&id),
        &outcome,
    )?;
    result?;
    if a.json {
        println!(
            "{}",
            json!({"id": id, "name": name, "terms": list.len(), "label": banner,
                   "new_version": previous.is_some(), "unchanged": false})
        );
    } else {
        println!(
            "{} watchlist '{}' ({id}): {} terms at {banner}",
            if previous.is_some() {
                "updated"
            } else {
                "added"
            },
            name,
            list.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list(ctx: &Ctx, a: ListArgs) -> Result<ExitCode> {
    let (_cfg, store, subject) = ctx.open()?;
    let lists = readable(&store, &subject)?;
    let policy = store.policy();
    let rows: Vec<Value> = lists
        .iter()
        .map(|o| {
            let v = o.object.to_value();
            json!({
                "id": o.object.id(),
                "name": v["name"],
                "terms": v["terms"].as_array().map_or(0, Vec::len),
                "label": policy.banner(&o.label),
                "modified": v["modified"],
                "description": v["description"],
            })
        })
        .collect();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("no watchlists that {} may read", subject.name);
    } else {
        for r in &rows {
            println!(
                "{:<24} {:>7} terms  {:<24} {}  {}",
                r["name"].as_str().unwrap_or(""),
                r["terms"],
                r["label"].as_str().unwrap_or(""),
                r["modified"].as_str().unwrap_or(""),
                r["id"].as_str().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// [`find`], saying on stderr when there is none (worded alike for absent and unreadable).
fn find_or_say(store: &SqliteStore, subject: &Subject, key: &str) -> Result<Option<StoredObject>> {
    let found = find(store, subject, key)?;
    if found.is_none() {
        eprintln!(
            "liaison: no watchlist '{key}' that {} may read",
            subject.name
        );
    }
    Ok(found)
}

fn show(ctx: &Ctx, a: ShowArgs) -> Result<ExitCode> {
    let (_cfg, store, subject) = ctx.open()?;
    let Some(o) = find_or_say(&store, &subject, &a.name)? else {
        return Ok(ExitCode::from(1));
    };
    let banner = store.policy().banner(&o.label);
    ctx.audit()?.record(
        &subject.name,
        liaison_protect::audit::action::READ,
        Some(o.object.id()),
        &format!("watchlist at {banner}"),
    )?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&store.labelled_value(&o))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let terms = terms_of(&o.object.to_value(), o.object.id())?;
    let mut out = String::from("term,case_insensitive,whole_word,severity,tags,label\n");
    for (i, t) in terms.terms.iter().enumerate() {
        let exact = !t.text.contains(['\n', '\r'])
            && t.tags
                .iter()
                .all(|g| !g.contains([';', '|']) && g.trim() == g)
            && t.label.as_deref().is_none_or(|l| l.trim() == l);
        if !exact {
            eprintln!(
                "liaison: warning: term {} ({:?}) holds a line break, a ';' or '|' in a tag, or spaces around a tag or label, which the CSV form cannot keep; `--json` shows it exactly",
                i + 1,
                t.text
            );
        }
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            csv_field(&t.text),
            t.case_insensitive,
            t.whole_word,
            t.severity,
            csv_field(&t.tags.join(";")),
            csv_field(t.label.as_deref().unwrap_or(""))
        ));
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn remove(ctx: &Ctx, a: RemoveArgs) -> Result<ExitCode> {
    let (_cfg, store, subject) = ctx.open()?;
    let Some(o) = find_or_say(&store, &subject, &a.name)? else {
        return Ok(ExitCode::from(1));
    };
    let id = o.object.id().to_string();
    let audit = ctx.audit()?;
    let result = store.revoke(&subject, &id);
    audit.record(
        &subject.name,
        liaison_protect::audit::action::WRITE,
        Some(&id),
        &match &result {
            Ok(_) => format!("watchlist '{}' removed", a.name),
            Err(e) => format!("watchlist '{}': removal refused: {e}", a.name),
        },
    )?;
    result.map_err(|e| anyhow!("{e}"))?;
    println!("removed watchlist '{}' ({id})", a.name);
    Ok(ExitCode::SUCCESS)
}

/// What screening takes from the store.
#[derive(Default)]
pub struct FromStore {
    /// Terms of the chosen watchlists, each with the watchlist's display name as the
    /// hit label when the term has none.
    pub terms: Watchlist,
    /// Rules of the active indicators.
    pub rules: Vec<IndicatorRule>,
    /// The security label of each term's text (joined over the watchlists holding it),
    /// so that hits stored as sightings are labelled no lower than what they reveal.
    pub term_labels: HashMap<String, Label>,
    /// How many watchlists were read.
    pub lists: usize,
}

/// Read what `screen --from-store` / `--store-watchlist` asks for, as the subject may
/// read it: with `all`, every active indicator and every watchlist; and the watchlists
/// named in `names`. A name the subject cannot read is an error, worded as for an
/// absent one.
pub fn for_screen(
    ctx: &Ctx,
    store: &SqliteStore,
    subject: &Subject,
    all: bool,
    names: &[String],
) -> Result<FromStore> {
    let mut out = FromStore::default();
    let mut chosen: Vec<StoredObject> = Vec::new();
    if all {
        chosen = readable(store, subject)?;
    }
    // Lists asked for by name: one that cannot be read as a watchlist is an error.
    let mut named: Vec<String> = Vec::new();
    for n in names {
        match find(store, subject, n)? {
            Some(o) => {
                named.push(o.object.id().to_string());
                if !chosen.iter().any(|c| c.object.id() == o.object.id()) {
                    chosen.push(o);
                }
            }
            None => bail!(
                "--store-watchlist: no watchlist '{n}' that {} may read",
                subject.name
            ),
        }
    }
    for o in &chosen {
        let v = o.object.to_value();
        // A malformed list (say, from a partner's feed) must not stop screening for
        // everyone who can read it: it is named and left out, unless it was asked
        // for by name.
        let list = match terms_of(&v, o.object.id()) {
            Ok(l) => l,
            Err(e) if named.iter().any(|n| n == o.object.id()) => {
                return Err(e.context("--store-watchlist"));
            }
            Err(e) => {
                eprintln!("liaison: warning: {e:#} (watchlist not screened)");
                continue;
            }
        };
        let name = v["name"].as_str().unwrap_or("").to_string();
        for mut t in list.terms {
            out.term_labels
                .entry(t.text.clone())
                .and_modify(|l| *l = join(l, &o.label))
                .or_insert_with(|| o.label.clone());
            if t.label.is_none() && !name.is_empty() {
                t.label = Some(name.clone());
            }
            out.terms.terms.push(t);
        }
    }
    out.lists = chosen.len();
    let mut indicators = 0usize;
    if all {
        let filter = ExportFilter {
            types: vec!["indicator".into()],
            ..ExportFilter::default()
        };
        let mut objects: Vec<Value> = Vec::new();
        store.export(subject, &filter, &mut |o| {
            objects.push(o.object.to_value());
            Ok(())
        })?;
        indicators = objects.len();
        // As for lists: one indicator that cannot be read (a partner's, say) is
        // named and left out, the others are screened for.
        let now = now_text();
        for v in &objects {
            match liaison_screen::rules_from_values(std::slice::from_ref(v), Some(&now)) {
                Ok(rules) => out.rules.extend(rules),
                Err(e) => eprintln!(
                    "liaison: warning: indicator {} in the store: {e} (not screened)",
                    v["id"].as_str().unwrap_or("without id")
                ),
            }
        }
    }
    ctx.audit()?.record(
        &subject.name,
        liaison_protect::audit::action::READ,
        None,
        &format!(
            "screening: {} watchlists ({} terms), {indicators} indicators ({} active)",
            out.lists,
            out.terms.len(),
            out.rules.len()
        ),
    )?;
    Ok(out)
}
