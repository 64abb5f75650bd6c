//! The embedded SQLite backend (WAL, bundled SQLite).

use crate::search_text::{fts_query, segment_for_index};
use crate::*;
use liaison_policy::{can_read, check_write, Label, Policy, Releasability, Tlp};
use liaison_stix::label::LabelExtension;
use liaison_stix::{Category, StixObject, Timestamp};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Mutex, RwLock};

pub mod collections;
pub mod crypt;
mod doccols;
pub mod feeds;
mod recent;
mod search;
pub(crate) mod work;
use collections::ImportHook;

/// 2: versions are polyinstantiated, `(id, version, inst)`; `latest` is per label; `multi`
/// marks the rows of ids stored at more than one label.
/// 4: `docs` keeps each document's source (`created_by_ref`, interned in `sources`) and
/// month of `modified`, so search counts its source and month facets from the rows it
/// already reads. (3 kept them as text for a few hours of development; such stores are
/// migrated like version 2 ones.)
const SCHEMA_VERSION: i64 = 4;

/// Search counts and facets stop at this many readable matches (and say so), as
/// Elasticsearch's `track_total_hits` does: exact below, "at least" above.
const TOTAL_CAP: i64 = 10_000;

/// A Bloom filter of the ids a batch has written, for first loads into an empty store.
struct Bloom {
    bits: Vec<u64>,
    mask: u64,
    state: std::collections::hash_map::RandomState,
}

impl Bloom {
    /// About ten bits an expected id (1 % false positives), 1 MiB at least, 16 MiB at most.
    fn new(expected: u64) -> Self {
        let want = (expected.saturating_mul(10))
            .clamp(1 << 23, 1 << 27)
            .next_power_of_two();
        Bloom {
            bits: vec![0; (want / 64) as usize],
            mask: want - 1,
            state: Default::default(),
        }
    }

    /// Add `id`; returns whether it may have been there already.
    fn insert(&mut self, id: &str) -> bool {
        use std::hash::BuildHasher;
        let h = self.state.hash_one(id);
        let mut present = true;
        for i in 0..3u32 {
            let bit = h.rotate_left(i * 21).wrapping_mul(0x9E37_79B9_7F4A_7C15) & self.mask;
            let (word, b) = ((bit / 64) as usize, bit % 64);
            if self.bits[word] & (1 << b) == 0 {
                present = false;
                self.bits[word] |= 1 << b;
            }
        }
        present
    }
}

fn hit(r: &rusqlite::Row) -> rusqlite::Result<SearchHit> {
    Ok(SearchHit {
        id: r.get(0)?,
        r#type: r.get(1)?,
        name: r.get(2)?,
        // `0.0 -`, not `-`: an unscored 0 stays 0, not -0.
        score: 0.0 - r.get::<_, f64>(3)?,
    })
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS labels(
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    level TEXT NOT NULL,
    compartments TEXT NOT NULL,
    tlp TEXT NOT NULL,
    owner TEXT,
    releasable TEXT
);
-- `inst` tells apart instances of one (id, version) stored under labels that cannot read
-- each other (polyinstantiation); `latest` marks the newest version of an id *within its
-- label*, and `multi` the rows of ids stored at more than one label, the only rows whose
-- reads must pick, per subject, the one instance and the one latest version it sees.
CREATE TABLE IF NOT EXISTS objects(
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    inst INTEGER NOT NULL DEFAULT 0,
    type TEXT NOT NULL,
    label_id INTEGER NOT NULL REFERENCES labels(id),
    latest INTEGER NOT NULL,
    revoked INTEGER NOT NULL,
    added INTEGER NOT NULL,
    modified TEXT,
    name TEXT,
    multi INTEGER NOT NULL DEFAULT 0,
    UNIQUE(id, version, inst)
);
-- The JSON apart, so that the rows scanned by look-ups, stats and graph walks stay narrow.
CREATE TABLE IF NOT EXISTS bodies(rid INTEGER PRIMARY KEY, json TEXT NOT NULL);
-- One narrow row per full-text document (latest, unrevoked versions): what search
-- filters, counts and facets by (type, label, source, month), without touching the wide
-- tables: a facet is then no extra row read per match. `source` is the `sources` id of
-- its `created_by_ref`, `month` the month of its `modified` (or `created`) as YYYYMM:
-- small integers keep the row, read once per match, narrow.
CREATE TABLE IF NOT EXISTS docs(rid INTEGER PRIMARY KEY, type TEXT NOT NULL, label_id INTEGER NOT NULL,
    multi INTEGER NOT NULL DEFAULT 0, source INTEGER, month INTEGER);
-- Interned `created_by_ref` ids (creators are few, documents many).
CREATE TABLE IF NOT EXISTS sources(id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE);
CREATE INDEX IF NOT EXISTS objects_type ON objects(type, label_id) WHERE latest = 1;
CREATE INDEX IF NOT EXISTS objects_multi ON objects(id) WHERE multi = 1;
CREATE TABLE IF NOT EXISTS edges(
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    kind TEXT NOT NULL,
    via TEXT,
    label_id INTEGER NOT NULL,
    owner_rid INTEGER NOT NULL,
    multi INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS edges_multi ON edges(owner_rid) WHERE multi = 1;
CREATE INDEX IF NOT EXISTS edges_src ON edges(src);
CREATE INDEX IF NOT EXISTS edges_dst ON edges(dst);
CREATE INDEX IF NOT EXISTS edges_owner ON edges(owner_rid);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    name, aliases, body,
    tokenize = 'unicode61 remove_diacritics 2',
    content = '', contentless_delete = 1
);
-- A larger in-memory term buffer means fewer, larger segments on bulk import.
INSERT INTO fts(fts, rank) VALUES ('hashsize', 16777216);
"#;

/// Label interning: labels are few, objects many, so objects point at a label id and
/// the read filter is "label id in the set this subject may read".
#[derive(Default)]
struct LabelCache {
    by_key: HashMap<String, i64>,
    by_id: Vec<(i64, Label)>,
}

/// The SQLite store.
pub struct SqliteStore {
    path: Option<PathBuf>,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    policy: Policy,
    labels: RwLock<LabelCache>,
    /// The data key of an encrypted store (`crypt`), applied to every connection.
    key: Option<crypt::DbKey>,
    /// The `docs` columns search filters and counts by, in memory (see `doccols`).
    doc_cols: RwLock<std::sync::Arc<doccols::DocCols>>,
}

fn open_conn(path: Option<&Path>, key: Option<&crypt::DbKey>) -> Result<Connection, StoreError> {
    let conn = match path {
        Some(p) => Connection::open(p)?,
        None => Connection::open_in_memory()?,
    };
    crypt::apply_key(&conn, key)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // Takes effect only when the file is new. Measured on 200k objects: 16 KiB pages import
    // 25-30% faster than 4 KiB ones (fewer B-tree levels for the random id keys) and search
    // faster too; 32 and 64 KiB were no better.
    conn.execute_batch("PRAGMA page_size = 16384;")?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = OFF;
         PRAGMA cache_size = -102400;",
    )?;
    rusqlite::vtab::array::load_module(&conn)?;
    search::register_search_functions(&conn)?;
    Ok(conn)
}

/// The schema version a store records, if it has a `meta` table yet (a new file has none).
fn schema_version(conn: &Connection) -> Result<Option<String>, StoreError> {
    let has_meta: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?)
}

/// Bring a version 1 store to version 2 (instances, per-label latest, `multi` marks) in
/// one transaction; returns whether it did. The ids stored at several labels are then
/// re-marked by `SqliteStore::fix_multi_label_ids`.
fn migrate_from_v1(conn: &Connection) -> Result<bool, StoreError> {
    let v = schema_version(conn)?;
    if v.as_deref() != Some("1") {
        return Ok(false);
    }
    conn.execute_batch(
        "BEGIN;
         CREATE TABLE objects_v2(
             rid INTEGER PRIMARY KEY, id TEXT NOT NULL, version INTEGER NOT NULL,
             inst INTEGER NOT NULL DEFAULT 0, type TEXT NOT NULL,
             label_id INTEGER NOT NULL REFERENCES labels(id), latest INTEGER NOT NULL,
             revoked INTEGER NOT NULL, added INTEGER NOT NULL, modified TEXT, name TEXT,
             multi INTEGER NOT NULL DEFAULT 0, UNIQUE(id, version, inst));
         INSERT INTO objects_v2(rid, id, version, type, label_id, latest, revoked, added, modified, name)
             SELECT rid, id, version, type, label_id, latest, revoked, added, modified, name FROM objects;
         DROP TABLE objects;
         ALTER TABLE objects_v2 RENAME TO objects;
         ALTER TABLE docs ADD COLUMN multi INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE edges ADD COLUMN multi INTEGER NOT NULL DEFAULT 0;
         UPDATE meta SET value = '2' WHERE key = 'schema_version';
         COMMIT;",
    )?;
    Ok(true)
}

/// Bring a version 2 (or 3) store to version 4 in one transaction: `docs` rebuilt in
/// rowid order with each document's source (its `created_by_ref` edge, interned) and
/// month (of its `objects` row's `modified`). Returns whether it did.
fn migrate_docs(conn: &Connection) -> Result<bool, StoreError> {
    let v = schema_version(conn)?;
    if !matches!(v.as_deref(), Some("2" | "3")) {
        return Ok(false);
    }
    conn.execute_batch(&format!(
        "BEGIN;
         CREATE TABLE IF NOT EXISTS sources(id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE);
         INSERT OR IGNORE INTO sources(ref)
             SELECT DISTINCT dst FROM edges WHERE kind = 'created_by_ref' ORDER BY dst;
         CREATE TABLE docs_v4(rid INTEGER PRIMARY KEY, type TEXT NOT NULL, label_id INTEGER NOT NULL,
             multi INTEGER NOT NULL DEFAULT 0, source INTEGER, month INTEGER);
         INSERT INTO docs_v4(rid, type, label_id, multi, source, month)
             SELECT d.rid, d.type, d.label_id, d.multi,
                 (SELECT s.id FROM edges e JOIN sources s ON s.ref = e.dst
                  WHERE e.owner_rid = d.rid AND e.kind = 'created_by_ref' LIMIT 1),
                 (SELECT {} FROM objects o WHERE o.rid = d.rid)
             FROM docs d ORDER BY d.rid;
         DROP TABLE docs;
         ALTER TABLE docs_v4 RENAME TO docs;
         UPDATE meta SET value = '4' WHERE key = 'schema_version';
         COMMIT;",
        MONTH_OF_MODIFIED
    ))?;
    Ok(true)
}

/// SQL: the month of `o.modified` as YYYYMM, as [`month_of`] computes it.
const MONTH_OF_MODIFIED: &str = "CASE WHEN o.modified GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]*'
    THEN CAST(substr(o.modified, 1, 4) || substr(o.modified, 6, 2) AS INTEGER) END";

/// Strings as an `rarray(?)` parameter (the SQL `IN` list of a statement).
pub(crate) fn text_array<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Rc<Vec<SqlValue>> {
    Rc::new(
        items
            .into_iter()
            .map(|t| SqlValue::Text(t.as_ref().to_owned()))
            .collect(),
    )
}

/// The month of a STIX timestamp as YYYYMM (`2024-07-14T…` → 202407), for the month facet.
fn month_of(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    if b.len() < 7 || b[4] != b'-' || !b[..4].iter().chain(&b[5..7]).all(u8::is_ascii_digit) {
        return None;
    }
    Some(ts[..4].parse::<i64>().ok()? * 100 + ts[5..7].parse::<i64>().ok()?)
}

fn label_key(policy: &Policy, l: &Label) -> String {
    let rel = match &l.releasable_to {
        Releasability::All => Value::Null,
        Releasability::To(s) => json!(s),
    };
    json!([
        policy.level_name(l.level),
        l.compartments,
        l.tlp.as_str(),
        l.owner,
        rel
    ])
    .to_string()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The version key of an object: `modified`, else `created`, in microseconds;
/// unversioned objects (SCOs) have one version, keyed `i64::MIN`.
pub(crate) fn version_key(obj: &StixObject) -> Result<i64, (String, String)> {
    let (field, text) = match (obj.modified(), obj.created()) {
        (Some(m), _) => ("modified", m),
        (None, Some(c)) => ("created", c),
        (None, None) => return Ok(i64::MIN),
    };
    Timestamp::parse(text)
        .map(|t| t.datetime().timestamp_micros())
        .map_err(|e| (format!("$.{field}"), e))
}

/// Text for the three indexed columns.
pub(crate) fn index_text(obj: &StixObject) -> (String, String, String) {
    let name = obj.name().unwrap_or_default().to_string();
    let mut aliases = String::new();
    for key in ["aliases", "x_mitre_aliases"] {
        for a in obj.str_list(key) {
            aliases.push_str(a);
            aliases.push(' ');
        }
    }
    let mut body = String::new();
    let mut add = |s: &str| {
        body.push_str(s);
        body.push('\n');
    };
    for key in [
        "description",
        "pattern",
        "value",
        "display_name",
        "abstract",
        "content",
        "explanation",
        "path",
        "key",
        "subject",
        "body",
        "user_id",
        "account_login",
    ] {
        if let Some(s) = obj.str_prop(key) {
            add(s);
        }
    }
    if let Some(Value::Object(h)) = obj.get("hashes") {
        for v in h.values().filter_map(Value::as_str) {
            add(v);
        }
    }
    if let Some(Value::Array(refs)) = obj.get("external_references") {
        for r in refs {
            if let Some(id) = r.get("external_id").and_then(Value::as_str) {
                add(id);
            }
        }
    }
    for l in obj.labels() {
        add(l);
    }
    (
        segment_for_index(&name),
        segment_for_index(&aliases),
        segment_for_index(&body),
    )
}

/// The object with Liaison's label extension taken out, for content comparison:
/// the label is kept beside the object, so an export (which writes it in) and the
/// original compare equal.
fn without_label_ext(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(Value::Object(exts)) = v.get_mut("extensions") {
        exts.shift_remove(liaison_stix::LABEL_EXTENSION_ID);
        if exts.is_empty() {
            if let Value::Object(m) = &mut v {
                m.shift_remove("extensions");
            }
        }
    }
    v
}

fn reject(
    index: u64,
    obj: Option<&StixObject>,
    path: impl Into<String>,
    reason: impl Into<String>,
) -> Rejection {
    Rejection {
        index,
        id: obj.map(|o| o.id().to_string()),
        path: path.into(),
        reason: reason.into(),
        fatal: false,
    }
}

impl SqliteStore {
    /// Open (or create) the store in a file.
    pub fn open(path: &Path, policy: Policy) -> Result<Self, StoreError> {
        Self::open_inner(Some(path.to_path_buf()), policy, None)
    }

    /// A store in memory, for tests.
    pub fn open_in_memory(policy: Policy) -> Result<Self, StoreError> {
        Self::open_inner(None, policy, None)
    }

    fn open_inner(
        path: Option<PathBuf>,
        policy: Policy,
        key: Option<crypt::DbKey>,
    ) -> Result<Self, StoreError> {
        let conn = open_conn(path.as_deref(), key.as_ref())?;
        let migrated = migrate_from_v1(&conn)?;
        migrate_docs(&conn)?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(collections::SCHEMA)?;
        feeds::create_or_migrate(&conn)?;
        conn.execute_batch(work::SCHEMA)?;
        let found: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match found {
            None => {
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )?;
            }
            Some(v) if v == SCHEMA_VERSION.to_string() => {}
            Some(v) => {
                return Err(StoreError::Corrupt(format!(
                    "store schema version {v}, this build reads version {SCHEMA_VERSION}"
                )))
            }
        }
        let store = SqliteStore {
            path,
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            policy,
            labels: RwLock::new(LabelCache::default()),
            key,
            doc_cols: RwLock::new(Default::default()),
        };
        store.load_labels()?;
        if migrated {
            store.fix_multi_label_ids()?;
        }
        store.seed()?;
        Ok(store)
    }

    /// The objects every store ships with: Liaison's identity, the extension definition
    /// of its label extension, and the TLP 2.0 marking definitions, readable by all, so
    /// that labelled objects and their markings resolve inside the store and in exports.
    fn seed(&self) -> Result<(), StoreError> {
        let objs = crate::built_in_objects();
        let system = liaison_policy::Subject {
            name: "liaison".into(),
            org: String::new(),
            unit: None,
            clearance: liaison_policy::Level((self.policy.levels().len() - 1) as u16),
            compartments: self.policy.compartments().clone(),
            roles: [liaison_policy::Role::Admin].into(),
        };
        let items: Vec<ImportItem> = objs
            .into_iter()
            .filter_map(|v| StixObject::from_value(v).ok())
            .map(|o| Ok(Prepared::new(o)))
            .collect();
        let opts = ImportOptions {
            default_label: Some(Label::public(None)),
            ..Default::default()
        };
        let report = self.import(&system, &mut items.into_iter(), &opts, &mut |_| {})?;
        match report.invalid.first() {
            None => Ok(()),
            Some(r) => Err(StoreError::Corrupt(format!(
                "built-in object {} refused: {}",
                r.id.as_deref().unwrap_or("?"),
                r.reason
            ))),
        }
    }

    /// Ids of readable objects with the most graph edges (hubs), for benchmarks and
    /// the UI's "most connected" lists. Label-filtered like every read.
    pub fn hubs(
        &self,
        subject: &liaison_policy::Subject,
        n: usize,
    ) -> Result<Vec<String>, StoreError> {
        let readable = self.readable(subject);
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                &format!("SELECT e.dst, count(*) AS c FROM edges e
                 WHERE e.label_id IN rarray(?1) AND e.kind NOT IN ('created_by_ref')
                   AND EXISTS (SELECT 1 FROM objects o WHERE o.id = e.dst AND o.latest = 1 AND o.label_id IN rarray(?1))
                   AND (e.multi = 0 OR NOT EXISTS (SELECT 1 FROM objects w WHERE w.rid = e.owner_rid AND {}))
                 GROUP BY e.dst ORDER BY c DESC LIMIT ?2", shadowed_latest("w", "?1")),
            )?;
            let rows = stmt.query_map(params![readable, n as i64], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// The deployment policy this store resolves labels with.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn load_labels(&self) -> Result<(), StoreError> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        let mut stmt = conn
            .prepare("SELECT id, key, level, compartments, tlp, owner, releasable FROM labels")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        let mut cache = LabelCache::default();
        for row in rows {
            let (id, key, level, comps, tlp, owner, rel) = row?;
            let comps: Vec<String> =
                serde_json::from_str(&comps).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let releasable_to = match rel {
                None => Releasability::All,
                Some(r) => Releasability::to(
                    serde_json::from_str::<Vec<String>>(&r)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ),
            };
            let label = Label {
                level: self.policy.level(&level)?,
                compartments: comps.into_iter().collect(),
                tlp: Tlp::parse(&tlp)
                    .ok_or_else(|| StoreError::Corrupt(format!("bad tlp {tlp}")))?,
                owner,
                releasable_to,
            };
            cache.by_key.insert(key, id);
            cache.by_id.push((id, label));
        }
        drop(stmt);
        *self
            .labels
            .write()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))? = cache;
        Ok(())
    }

    /// The id of a label, adding it when new. `batch` holds the labels this
    /// transaction added, which the shared cache only learns after commit.
    fn intern_label(
        &self,
        tx: &Transaction,
        label: &Label,
        batch: &mut HashMap<String, i64>,
    ) -> Result<i64, StoreError> {
        let key = label_key(&self.policy, label);
        if let Some(id) = self
            .labels
            .read()
            .ok()
            .and_then(|c| c.by_key.get(&key).copied())
        {
            return Ok(id);
        }
        if let Some(id) = batch.get(&key) {
            return Ok(*id);
        }
        if let Some(id) = tx
            .query_row("SELECT id FROM labels WHERE key = ?1", [&key], |r| r.get(0))
            .optional()?
        {
            return Ok(id);
        }
        let rel = match &label.releasable_to {
            Releasability::All => None,
            Releasability::To(s) => Some(json!(s).to_string()),
        };
        tx.execute(
            "INSERT INTO labels(key, level, compartments, tlp, owner, releasable) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                key,
                self.policy.level_name(label.level),
                json!(label.compartments).to_string(),
                label.tlp.as_str(),
                label.owner,
                rel
            ],
        )?;
        // The shared cache learns the label only after commit (see `import`), so a
        // rolled-back batch leaves no phantom label behind.
        let id = tx.last_insert_rowid();
        batch.insert(key, id);
        Ok(id)
    }

    /// The label ids `subject` may read, as an SQL array parameter.
    fn readable(&self, subject: &liaison_policy::Subject) -> Rc<Vec<SqlValue>> {
        Rc::new(
            self.readable_ids(subject)
                .into_iter()
                .map(SqlValue::Integer)
                .collect(),
        )
    }

    /// The labels `subject` may read, with their ids.
    fn readable_labels(&self, subject: &liaison_policy::Subject) -> Vec<(i64, Label)> {
        match self.labels.read() {
            Ok(cache) => cache
                .by_id
                .iter()
                .filter(|(_, l)| can_read(subject, l))
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The label ids `subject` may read, for checks inside the store's own loops.
    fn readable_set(&self, subject: &liaison_policy::Subject) -> HashSet<i64> {
        self.readable_ids(subject).into_iter().collect()
    }

    /// The one place the read rule is applied to the store's labels.
    fn readable_ids(&self, subject: &liaison_policy::Subject) -> Vec<i64> {
        match self.labels.read() {
            Ok(cache) => cache
                .by_id
                .iter()
                .filter(|(_, l)| can_read(subject, l))
                .map(|(id, _)| *id)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn label_by_id(&self, id: i64) -> Result<Label, StoreError> {
        let cache = self
            .labels
            .read()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        cache
            .by_id
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, l)| l.clone())
            .ok_or_else(|| StoreError::Corrupt(format!("label {id} missing")))
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.path.is_none() {
            let conn = self
                .writer
                .lock()
                .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
            return f(&conn);
        }
        let pooled = self.readers.lock().ok().and_then(|mut p| p.pop());
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = open_conn(self.path.as_deref(), self.key.as_ref())?;
                // Readers map the file: page look-ups without a read() system call each.
                // (The writer does not, keeping an import's resident memory bounded.)
                c.execute_batch("PRAGMA mmap_size = 4294967296;")?;
                c
            }
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < 16 {
                pool.push(conn);
            }
        }
        out
    }

    /// Resolve the label an incoming object gets.
    fn resolve_label(
        &self,
        subject: &liaison_policy::Subject,
        obj: &StixObject,
        opts: &ImportOptions,
    ) -> Result<Label, (String, String)> {
        let tlp = liaison_stix::tlp::tlp_of(&obj.object_marking_refs())
            .map(|t| Tlp::parse(t.as_str()).unwrap_or(Tlp::Red));
        let ext = LabelExtension::read(obj)
            .map_err(|e| (e.path().to_string(), e.message().to_string()))?;
        let mut label = match ext {
            Some(ext) => {
                let path = format!("$.extensions.'{}'", liaison_stix::LABEL_EXTENSION_ID);
                let level = self
                    .policy
                    .level(&ext.level)
                    .map_err(|e| (format!("{path}.level"), e.to_string()))?;
                let compartments = self
                    .policy
                    .compartment_set(ext.compartments.iter().cloned())
                    .map_err(|e| (format!("{path}.compartments"), e.to_string()))?;
                // Absent or empty: owner only. `*`: everyone the level and compartments admit.
                let releasable_to = if ext.releasable_to.iter().any(|r| r == "*") {
                    Releasability::All
                } else {
                    Releasability::to(ext.releasable_to.iter().cloned())
                };
                Label {
                    level,
                    compartments,
                    tlp: Tlp::Clear,
                    owner: Some(ext.owner.clone().unwrap_or_else(|| subject.org.clone())),
                    releasable_to,
                }
            }
            None => opts
                .default_label
                .clone()
                .unwrap_or_else(|| Label::public(Some(subject.org.clone()))),
        };
        if let Some(t) = tlp {
            label.tlp = t;
        }
        Ok(label)
    }

    fn stored_from_row(
        &self,
        json_text: &str,
        label_id: i64,
        added: i64,
        latest: bool,
    ) -> Result<StoredObject, StoreError> {
        let object =
            StixObject::from_json(json_text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(StoredObject {
            object,
            label: self.label_by_id(label_id)?,
            added_ms: added,
            latest,
        })
    }

    /// Write the object's label into its label extension, for export to systems that
    /// must keep it (another Liaison, or a file that will be imported again).
    pub fn labelled_value(&self, stored: &StoredObject) -> Value {
        let mut obj = stored.object.clone();
        // The built-in objects are the same in every deployment and carry no label.
        if crate::is_built_in(obj.id()) {
            return obj.into_value();
        }
        let ext = LabelExtension {
            level: self.policy.level_name(stored.label.level).to_string(),
            compartments: stored.label.compartments.iter().cloned().collect(),
            releasable_to: match &stored.label.releasable_to {
                Releasability::All => vec!["*".to_string()],
                Releasability::To(s) => s.iter().cloned().collect(),
            },
            owner: stored.label.owner.clone(),
        };
        ext.write(&mut obj);
        obj.into_value()
    }

    #[allow(clippy::too_many_arguments)]
    fn import_one(
        &self,
        tx: &Transaction,
        subject: &liaison_policy::Subject,
        index: u64,
        prepared: Prepared,
        opts: &ImportOptions,
        added: i64,
        report: &mut ImportReport,
        labels: &mut HashMap<String, i64>,
        fresh: &mut Option<Bloom>,
        reads: &HashSet<i64>,
        hook: &mut ImportHook,
    ) -> Result<Option<Rejection>, StoreError> {
        let Prepared {
            obj,
            json: json_text,
            version,
            fault,
            text,
            refs,
        } = prepared;
        if let Some((path, reason)) = fault {
            return Ok(Some(reject(index, Some(&obj), path, reason)));
        }
        let label = match self.resolve_label(subject, &obj, opts) {
            Ok(l) => l,
            Err((path, reason)) => return Ok(Some(reject(index, Some(&obj), path, reason))),
        };
        if let Err(denied) = check_write(subject, &label) {
            return Ok(Some(reject(
                index,
                Some(&obj),
                "$",
                format!("not permitted to write at this label: {denied}"),
            )));
        }
        if let Some(ceiling) = hook.ceiling {
            if let Err(why) = ceiling.admits(&label) {
                return Ok(Some(reject(index, Some(&obj), "$", why)));
            }
        }
        let label_id = self.intern_label(tx, &label, labels)?;
        let id = obj.id().to_string();
        // Labels interned by this batch are the writer's own, hence readable by it.
        let writer_reads = |l: i64| reads.contains(&l) || labels.values().any(|&b| b == l);

        // One look-up of the id's rows answers every question: is this version stored
        // in an instance the writer can read (then today's duplicate rule), does the
        // writer see the id at all (new or updated, as the writer sees it), which row
        // is the latest of this label, and is the id stored at other labels. A first
        // load into an empty store skips it for ids the batch has certainly not seen.
        let mut same_version: Option<(i64, i64)> = None; // (rid, label_id), first readable
        let mut next_inst = 0i64;
        let mut sees_id = false;
        let mut label_latest: Option<(i64, i64)> = None; // (rid, version)
        let mut other_label = false;
        let mut already_multi = false;
        let certainly_new = match fresh {
            Some(bloom) if !crate::is_built_in(&id) => !bloom.insert(&id),
            _ => false,
        };
        if !certainly_new {
            let mut stmt = tx.prepare_cached(
                "SELECT rid, version, label_id, latest, inst, multi FROM objects WHERE id = ?1",
            )?;
            let mut rows = stmt.query([&id])?;
            while let Some(r) = rows.next()? {
                let (rid, v, l, latest, inst, multi): (i64, i64, i64, i64, i64, i64) = (
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                );
                let readable = writer_reads(l);
                sees_id |= readable;
                if v == version {
                    next_inst = next_inst.max(inst + 1);
                    if readable && same_version.is_none_or(|(first, _)| rid < first) {
                        same_version = Some((rid, l));
                    }
                }
                if l == label_id {
                    if latest == 1 {
                        label_latest = Some((rid, v));
                    }
                } else {
                    other_label = true;
                }
                already_multi |= multi == 1;
            }
        }
        if let Some((old_rid, old_label)) = same_version {
            let old_json: String = tx
                .prepare_cached("SELECT json FROM bodies WHERE rid = ?1")?
                .query_row([old_rid], |r| r.get(0))?;
            let old: Value =
                serde_json::from_str(&old_json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let same = without_label_ext(&old) == without_label_ext(&obj.to_value());
            // The same content without a label of its own (the label came from the import's
            // default) is the stored version again: it keeps its label. An explicit label
            // that differs is an attempt to relabel an immutable version, and is refused.
            let explicit = obj
                .extensions()
                .is_some_and(|e| e.contains_key(liaison_stix::LABEL_EXTENSION_ID));
            if same && (old_label == label_id || !explicit) {
                report.unchanged += 1;
                (hook.on_stored)(tx, index, &obj, old_rid)?;
                return Ok(None);
            }
            let what = if same {
                "a different security label"
            } else {
                "different content"
            };
            return Ok(Some(reject(
                index,
                Some(&obj),
                "$.modified",
                format!("a version with this id and modified is already stored with {what}; versions are immutable: give the change a later 'modified'"),
            )));
        }
        // Instances the writer cannot read do not exist for it: this version is stored
        // as a new instance under the writer's label and reported as the writer sees
        // it, exactly as if the id were absent (no write-then-read channel).
        if sees_id {
            report.updated += 1;
        } else {
            report.new += 1;
        }
        let becomes_latest = label_latest.is_none_or(|(_, v)| version > v);
        if becomes_latest {
            if let Some((old_rid, _)) = label_latest {
                tx.prepare_cached("UPDATE objects SET latest = 0 WHERE rid = ?1")?
                    .execute([old_rid])?;
                unindex(tx, old_rid)?;
            }
        }
        let multi = already_multi || other_label;
        if multi && !already_multi {
            mark_multi(tx, &id)?;
        }
        let revoked = obj.revoked();
        tx.prepare_cached(
            "INSERT INTO objects(id, version, inst, type, label_id, latest, revoked, added, modified, name, multi)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            id,
            version,
            next_inst,
            obj.type_name(),
            label_id,
            becomes_latest as i64,
            revoked as i64,
            added,
            obj.modified().or(obj.created()),
            obj.name(),
            multi as i64,
        ])?;
        let rid = tx.last_insert_rowid();
        tx.prepare_cached("INSERT INTO bodies(rid, json) VALUES (?1, ?2)")?
            .execute(params![rid, json_text])?;
        if becomes_latest && !revoked {
            index_latest(tx, rid, &obj, label_id, multi, text, refs)?;
        }
        (hook.on_stored)(tx, index, &obj, rid)?;
        Ok(None)
    }

    /// Stores written by schema version 1 knew one instance per version and one latest
    /// version per id. Ids stored there at several labels get what version 2 keeps:
    /// a latest version per label (indexed for search and the graph) and the `multi` mark.
    fn fix_multi_label_ids(&self) -> Result<(), StoreError> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        let tx = conn.transaction()?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT id FROM objects GROUP BY id HAVING count(DISTINCT label_id) > 1",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for id in ids {
            let rows: Vec<(i64, i64, i64, bool, bool)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT rid, version, label_id, latest, revoked FROM objects WHERE id = ?1 ORDER BY rid",
                )?;
                let rows = stmt.query_map([&id], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get::<_, i64>(3)? == 1,
                        r.get::<_, i64>(4)? == 1,
                    ))
                })?;
                rows.collect::<Result<_, _>>()?
            };
            mark_multi(&tx, &id)?;
            let mut newest: HashMap<i64, (i64, i64)> = HashMap::new(); // label -> (version, rid)
            for &(rid, v, l, _, _) in &rows {
                let e = newest.entry(l).or_insert((v, rid));
                if v > e.0 {
                    *e = (v, rid);
                }
            }
            for (rid, _, l, latest, revoked) in rows {
                let want = newest.get(&l).is_some_and(|&(_, r)| r == rid);
                if latest && !want {
                    tx.execute("UPDATE objects SET latest = 0 WHERE rid = ?1", [rid])?;
                    unindex(&tx, rid)?;
                } else if want && !latest {
                    tx.execute("UPDATE objects SET latest = 1 WHERE rid = ?1", [rid])?;
                    if !revoked {
                        let json: String =
                            tx.query_row("SELECT json FROM bodies WHERE rid = ?1", [rid], |r| {
                                r.get(0)
                            })?;
                        let obj = StixObject::from_json(&json)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        let (text, refs) = (index_text(&obj), obj.references());
                        index_latest(&tx, rid, &obj, l, true, text, refs)?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The row of an id a subject sees: (rid, revoked, type, name).
type Seen = (i64, bool, String, Option<String>);

/// Take a row that stopped being the latest of its label out of search and the graph.
fn unindex(tx: &Transaction, rid: i64) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM docs WHERE rid = ?1")?
        .execute([rid])?;
    tx.prepare_cached("DELETE FROM fts WHERE rowid = ?1")?
        .execute([rid])?;
    tx.prepare_cached("DELETE FROM edges WHERE owner_rid = ?1")?
        .execute([rid])?;
    Ok(())
}

/// Mark an id as stored at more than one label: from now on its rows' reads pick the
/// one instance and latest version each subject sees.
fn mark_multi(tx: &Transaction, id: &str) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE objects SET multi = 1 WHERE id = ?1")?
        .execute([id])?;
    tx.prepare_cached(
        "UPDATE docs SET multi = 1 WHERE rid IN (SELECT rid FROM objects WHERE id = ?1)",
    )?
    .execute([id])?;
    tx.prepare_cached(
        "UPDATE edges SET multi = 1 WHERE owner_rid IN (SELECT rid FROM objects WHERE id = ?1)",
    )?
    .execute([id])?;
    Ok(())
}

/// Index the latest, unrevoked version of its label for search and the graph.
fn index_latest(
    tx: &Transaction,
    rid: i64,
    obj: &StixObject,
    label_id: i64,
    multi: bool,
    text: (String, String, String),
    refs: Vec<liaison_stix::Reference>,
) -> Result<(), StoreError> {
    let (name, aliases, body) = text;
    let source = obj.str_prop("created_by_ref");
    if let Some(s) = source {
        tx.prepare_cached("INSERT OR IGNORE INTO sources(ref) VALUES (?1)")?
            .execute([s])?;
    }
    tx.prepare_cached(
        "INSERT INTO docs(rid, type, label_id, multi, source, month)
         VALUES (?1, ?2, ?3, ?4, (SELECT id FROM sources WHERE ref = ?5), ?6)",
    )?
    .execute(params![
        rid,
        obj.type_name(),
        label_id,
        multi as i64,
        source,
        obj.modified().or(obj.created()).and_then(month_of),
    ])?;
    tx.prepare_cached("INSERT INTO fts(rowid, name, aliases, body) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![rid, name, aliases, body])?;
    let mut edge = tx.prepare_cached(
        "INSERT INTO edges(src, dst, kind, via, label_id, owner_rid, multi) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let id = obj.id();
    let is_rel = obj.type_name() == "relationship";
    if is_rel {
        if let (Some(s), Some(t)) = (obj.str_prop("source_ref"), obj.str_prop("target_ref")) {
            let kind = obj.str_prop("relationship_type").unwrap_or("related-to");
            edge.execute(params![s, t, kind, id, label_id, rid, multi as i64])?;
        }
    }
    for r in refs {
        if matches!(r.property.as_str(), "object_marking_refs" | "marking_ref")
            || (is_rel && matches!(r.property.as_str(), "source_ref" | "target_ref"))
        {
            continue;
        }
        edge.execute(params![
            id,
            r.target,
            r.property,
            Option::<String>::None,
            label_id,
            rid,
            multi as i64
        ])?;
    }
    Ok(())
}

/// Rows of ids stored at more than one label (`multi`) are shown to a subject only if
/// no other latest row of the id it may read is newer, or as new and stored first.
/// `o` is the row's alias, `r` the readable-labels parameter.
fn shadowed_latest(o: &str, r: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM objects s WHERE s.id = {o}.id AND s.latest = 1 AND s.rid <> {o}.rid
           AND s.label_id IN rarray({r})
           AND (s.version > {o}.version OR (s.version = {o}.version AND s.rid < {o}.rid)))"
    )
}

/// A row hidden behind an instance of the same version, stored earlier, that the
/// subject may read: each subject sees one instance per (id, version).
fn shadowed_instance(o: &str, r: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM objects s WHERE s.id = {o}.id AND s.version = {o}.version
           AND s.rid < {o}.rid AND s.label_id IN rarray({r}))"
    )
}

impl SqliteStore {
    /// [`Store::import`] with a hook: a label ceiling checked per object, and a call
    /// inside the transaction for every object stored (or already stored unchanged).
    pub(crate) fn import_inner(
        &self,
        subject: &liaison_policy::Subject,
        items: &mut dyn Iterator<Item = ImportItem>,
        opts: &ImportOptions,
        progress: &mut dyn FnMut(u64),
        hook: &mut ImportHook,
    ) -> Result<ImportReport, StoreError> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        let tx = conn.transaction()?;
        // A batch that is large against what is stored builds the graph indexes afresh
        // at the end (one sort) instead of inserting into them at random per edge. DDL
        // is transactional in SQLite, so a failed batch restores them as they were.
        let existing: i64 = tx.query_row("SELECT coalesce(max(rowid), 0) FROM edges", [], |r| {
            r.get(0)
        })?;
        let bulk = opts
            .expected_objects
            .is_some_and(|n| n >= 50_000 && n as i64 >= existing);
        if bulk {
            tx.execute_batch("DROP INDEX IF EXISTS edges_src; DROP INDEX IF EXISTS edges_dst;")?;
        }
        // Into a store that holds only its built-in objects, an id the batch has not seen
        // cannot be stored yet: a Bloom filter of the batch's ids answers that without
        // an index probe (a false positive only costs the probe).
        let max_rid: i64 = tx.query_row("SELECT coalesce(max(rid), 0) FROM objects", [], |r| {
            r.get(0)
        })?;
        let mut fresh = (max_rid <= crate::BUILT_IN_OBJECTS as i64)
            .then(|| Bloom::new(opts.expected_objects.unwrap_or(0)));
        let mut report = ImportReport::default();
        let reads = self.readable_set(subject);
        let added = now_ms();
        let mut n = 0u64;
        let mut batch_labels = HashMap::new();
        for item in items {
            let rejection = match item {
                Err(r) => Some(r),
                Ok(p) => self.import_one(
                    &tx,
                    subject,
                    n,
                    p,
                    opts,
                    added,
                    &mut report,
                    &mut batch_labels,
                    &mut fresh,
                    &reads,
                    hook,
                )?,
            };
            if let Some(r) = rejection {
                if opts.strict || r.fatal {
                    // Dropping the transaction rolls it back.
                    return Err(StoreError::Aborted(r));
                }
                report.invalid.push(r);
            }
            n += 1;
            if n.is_multiple_of(4096) {
                progress(n);
            }
        }
        if bulk {
            tx.execute_batch(
                "CREATE INDEX IF NOT EXISTS edges_src ON edges(src);
                 CREATE INDEX IF NOT EXISTS edges_dst ON edges(dst);",
            )?;
        }
        tx.commit()?;
        progress(n);
        drop(conn);
        self.load_labels()?;
        Ok(report)
    }
}

impl Store for SqliteStore {
    fn import(
        &self,
        subject: &liaison_policy::Subject,
        items: &mut dyn Iterator<Item = ImportItem>,
        opts: &ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport, StoreError> {
        let mut hook = ImportHook {
            ceiling: None,
            on_stored: &mut |_, _, _, _| Ok(()),
        };
        self.import_inner(subject, items, opts, progress, &mut hook)
    }

    fn get(
        &self,
        subject: &liaison_policy::Subject,
        id: &str,
    ) -> Result<Option<StoredObject>, StoreError> {
        let readable = self.readable(subject);
        self.with_reader(|conn| {
            let row: Option<(String, i64, i64)> = conn
                .prepare_cached(
                    // The newest version the subject may read; of its instances, the first stored.
                    "SELECT b.json, o.label_id, o.added FROM objects o JOIN bodies b ON b.rid = o.rid
                     WHERE o.id = ?1 AND o.latest = 1 AND o.label_id IN rarray(?2)
                     ORDER BY o.version DESC, o.rid LIMIT 1",
                )?
                .query_row(params![id, readable], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            row.map(|(j, l, a)| self.stored_from_row(&j, l, a, true)).transpose()
        })
    }

    fn versions(
        &self,
        subject: &liaison_policy::Subject,
        id: &str,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let readable = self.readable(subject);
        self.with_reader(|conn| {
            // One instance per version: the first stored that the subject may read. The
            // newest of what it may read is its latest.
            let mut stmt = conn.prepare_cached(
                "SELECT o.version, o.label_id, o.added, (SELECT json FROM bodies b WHERE b.rid = o.rid)
                 FROM objects o WHERE o.id = ?1 AND o.label_id IN rarray(?2) ORDER BY o.version, o.rid",
            )?;
            let mut rows = stmt.query(params![id, readable])?;
            let mut out: Vec<StoredObject> = Vec::new();
            let mut last_version = None;
            while let Some(r) = rows.next()? {
                let v: i64 = r.get(0)?;
                if last_version == Some(v) {
                    continue;
                }
                last_version = Some(v);
                let j: String = r.get(3)?;
                out.push(self.stored_from_row(&j, r.get(1)?, r.get(2)?, false)?);
            }
            if let Some(l) = out.last_mut() {
                l.latest = true;
            }
            Ok(out)
        })
    }

    fn revoke(
        &self,
        subject: &liaison_policy::Subject,
        id: &str,
    ) -> Result<StoredObject, StoreError> {
        let current = self
            .get(subject, id)?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        check_write(subject, &current.label).map_err(|e| StoreError::Denied(e.to_string()))?;
        if current.object.category() == Category::Sco || current.object.modified().is_none() {
            return Err(StoreError::Denied(format!(
                "{id} has no versions (no 'modified'), so it cannot be revoked"
            )));
        }
        let mut obj = current.object.clone();
        let prev = obj
            .modified()
            .and_then(|m| Timestamp::parse(m).ok())
            .map(|t| t.millis())
            .unwrap_or(0);
        let now = Timestamp::from_millis(now_ms().max(prev + 1));
        obj.set("revoked", json!(true))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        obj.set("modified", json!(now.to_string()))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let opts = ImportOptions {
            default_label: Some(current.label.clone()),
            strict: true,
            ..Default::default()
        };
        // The label travels beside the object, not in it: keep it by passing it as the default.
        self.import(
            subject,
            &mut std::iter::once(Ok(Prepared::new(obj))),
            &opts,
            &mut |_| {},
        )?;
        self.get(subject, id)?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    fn search_filtered(
        &self,
        subject: &liaison_policy::Subject,
        query: &SearchQuery,
        filter: &SearchFilter,
    ) -> Result<SearchResults, StoreError> {
        self.search_page(subject, query, filter, false)
    }

    fn graph(
        &self,
        subject: &liaison_policy::Subject,
        id: &str,
        depth: u32,
        max_nodes: usize,
    ) -> Result<Option<Graph>, StoreError> {
        // A walk makes thousands of point look-ups; each checks its row's label against
        // the subject's readable set here, inside the store, before the row is used (an
        // SQL `IN rarray(..)` per look-up would rebuild that set for every statement).
        let readable = self.readable_set(subject);
        self.with_reader(|conn| {
            let mut node_stmt = conn.prepare_cached(
                "SELECT rid, version, label_id, revoked, type, name FROM objects WHERE id = ?1 AND latest = 1",
            )?;
            // The row of `nid` the subject sees: the newest it may read, the first stored
            // of that version's instances (an id has one latest row per label).
            let mut winner = |nid: &str| -> Result<Option<Seen>, StoreError> {
                let mut rows = node_stmt.query([nid])?;
                let mut best: Option<(i64, i64, bool, String, Option<String>)> = None;
                while let Some(r) = rows.next()? {
                    let (rid, v, l): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                    if !readable.contains(&l) || best.as_ref().is_some_and(|b| (b.1, -b.0) >= (v, -rid)) {
                        continue;
                    }
                    best = Some((rid, v, r.get::<_, i64>(3)? == 1, r.get(4)?, r.get(5)?));
                }
                Ok(best.map(|(rid, _, revoked, t, n)| (rid, revoked, t, n)))
            };
            // Owners of edges of multi-label ids: the row the subject sees, by owner id.
            let mut owners: HashMap<String, Option<i64>> = HashMap::new();
            let Some((_, false, t, n)) = winner(id)? else { return Ok(None) };
            let mut graph = Graph::default();
            graph.nodes.push(GraphNode { id: id.to_string(), r#type: t, name: n, depth: 0 });
            let mut seen: HashMap<String, bool> = HashMap::new(); // id -> readable
            seen.insert(id.to_string(), true);
            let mut edge_seen: HashSet<(String, String, String)> = HashSet::new();
            let mut queue = VecDeque::from([(id.to_string(), 0u32)]);
            let mut edge_stmt = conn.prepare_cached(
                "SELECT * FROM (SELECT src, dst, kind, via, label_id, multi, owner_rid FROM edges WHERE src = ?1 LIMIT ?2)
                 UNION ALL
                 SELECT * FROM (SELECT src, dst, kind, via, label_id, multi, owner_rid FROM edges WHERE dst = ?1 LIMIT ?2)",
            )?;
            'walk: while let Some((cur, d)) = queue.pop_front() {
                if d >= depth {
                    continue;
                }
                let mut edges = Vec::new();
                // A node never needs more edges than the walk has room for nodes: this bounds
                // the cost of passing through a hub (an identity that created 100,000 objects).
                let room = (max_nodes.saturating_sub(graph.nodes.len()) + 1) as i64;
                let mut rows = edge_stmt.query(params![&cur, room])?;
                let mut fetched = 0;
                while let Some(r) = rows.next()? {
                    fetched += 1;
                    if readable.contains(&r.get::<_, i64>(4)?) {
                        edges.push((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, i64>(5)? == 1,
                            r.get::<_, i64>(6)?,
                        ));
                    }
                }
                drop(rows);
                if fetched >= room {
                    graph.truncated = true;
                }
                for (src, dst, kind, via, multi, owner_rid) in edges {
                    if multi {
                        // An edge of a row the subject does not see (an older version, or
                        // another instance) is not in its graph.
                        let oid = via.clone().unwrap_or_else(|| src.clone());
                        let w = match owners.get(&oid) {
                            Some(w) => *w,
                            None => {
                                let w = winner(&oid)?.map(|w| w.0);
                                owners.insert(oid, w);
                                w
                            }
                        };
                        if w != Some(owner_rid) {
                            continue;
                        }
                    }
                    let other = if src == cur { dst.clone() } else { src.clone() };
                    let readable_other = match seen.get(&other) {
                        Some(r) => *r,
                        None => {
                            if graph.nodes.len() >= max_nodes {
                                graph.truncated = true;
                                break 'walk;
                            }
                            let found = winner(&other)?.filter(|w| !w.1);
                            let ok = found.is_some();
                            if let Some((_, _, t, n)) = found {
                                graph.nodes.push(GraphNode { id: other.clone(), r#type: t, name: n, depth: d + 1 });
                                queue.push_back((other.clone(), d + 1));
                            }
                            seen.insert(other.clone(), ok);
                            ok
                        }
                    };
                    if readable_other && edge_seen.insert((src.clone(), dst.clone(), kind.clone())) {
                        graph.edges.push(GraphEdge { source: src, target: dst, kind, via });
                    }
                }
            }
            Ok(Some(graph))
        })
    }

    fn labels_of(
        &self,
        subject: &liaison_policy::Subject,
        ids: &[String],
    ) -> Result<HashMap<String, Label>, StoreError> {
        // One statement for every id, and no body read: the label id of the row each id
        // shows this subject (as in `graph`: the newest version it may read, the first
        // stored of that version's instances), checked against the readable set here.
        let readable = self.readable_set(subject);
        let wanted: Rc<Vec<SqlValue>> =
            Rc::new(ids.iter().map(|i| SqlValue::Text(i.clone())).collect());
        let best = self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, rid, version, label_id FROM objects WHERE id IN rarray(?1) AND latest = 1",
            )?;
            let mut rows = stmt.query([wanted])?;
            let mut best: HashMap<String, (i64, i64, i64)> = HashMap::new();
            while let Some(r) = rows.next()? {
                let (id, rid, v, l): (String, i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                if !readable.contains(&l) {
                    continue;
                }
                let e = best.entry(id).or_insert((rid, v, l));
                if (v, -rid) > (e.1, -e.0) {
                    *e = (rid, v, l);
                }
            }
            Ok(best)
        })?;
        let mut labels: HashMap<i64, Label> = HashMap::new();
        let mut out = HashMap::with_capacity(best.len());
        for (id, (_, _, l)) in best {
            let label = match labels.get(&l) {
                Some(x) => x.clone(),
                None => {
                    let x = self.label_by_id(l)?;
                    labels.insert(l, x.clone());
                    x
                }
            };
            out.insert(id, label);
        }
        Ok(out)
    }

    fn export(
        &self,
        subject: &liaison_policy::Subject,
        filter: &ExportFilter,
        sink: &mut dyn FnMut(StoredObject) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let readable = self.readable(subject);
        let types = text_array(filter.types.iter());
        let since = match &filter.since {
            None => i64::MIN,
            Some(s) => Timestamp::parse(s)
                .map_err(|e| StoreError::Denied(format!("--since: {e}")))?
                .datetime()
                .timestamp_micros(),
        };
        self.with_reader(|conn| {
            // One instance per version, and "latest" as this subject sees it; only rows of
            // ids stored at several labels (`multi`) need the look at their siblings.
            let latest = format!("(o.latest = 1 AND (o.multi = 0 OR NOT {}))", shadowed_latest("o", "?2"));
            // Latest versions of named types (tasks, alerts) are found through the type
            // index instead of a scan of every row.
            let by_type = if !filter.all_versions && !filter.types.is_empty() {
                "o.latest = 1 AND o.type IN rarray(?4)"
            } else {
                "(?3 OR o.type IN rarray(?4))"
            };
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT b.json, o.label_id, o.added, {latest} FROM objects o JOIN bodies b ON b.rid = o.rid
                 WHERE o.label_id IN rarray(?2) AND {by_type} AND o.version >= ?5
                   AND CASE WHEN ?1 THEN o.multi = 0 OR NOT {} ELSE {latest} END
                 ORDER BY o.rid",
                shadowed_instance("o", "?2")
            ))?;
            let mut rows = stmt.query(params![filter.all_versions, readable, filter.types.is_empty(), types, since])?;
            let mut n = 0;
            while let Some(r) = rows.next()? {
                let j: String = r.get(0)?;
                let stored = self.stored_from_row(&j, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? == 1)?;
                sink(stored)?;
                n += 1;
            }
            Ok(n)
        })
    }

    fn stats(&self, subject: &liaison_policy::Subject) -> Result<Stats, StoreError> {
        let readable = self.readable(subject);
        self.with_reader(|conn| {
            let mut stats = Stats::default();
            let mut stmt = conn.prepare_cached(
                "SELECT type, label_id, count(*) FROM objects WHERE latest = 1 AND label_id IN rarray(?1) GROUP BY type, label_id",
            )?;
            let rows = stmt.query_map(params![readable.clone()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })?;
            for row in rows {
                let (t, l, c) = row?;
                let c = c as u64;
                stats.objects += c;
                *stats.by_type.entry(t).or_default() += c;
                let level = self.label_by_id(l)?.level;
                *stats.by_level.entry(self.policy.level_name(level).to_string()).or_default() += c;
            }
            // Ids stored at several labels: take back what the subject does not see (older
            // latest rows of other labels, later instances of a version, their edges).
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT o.type, o.label_id, count(*) FROM objects o
                 WHERE o.multi = 1 AND o.latest = 1 AND o.label_id IN rarray(?1) AND {}
                 GROUP BY o.type, o.label_id",
                shadowed_latest("o", "?1")
            ))?;
            let rows = stmt.query_map(params![readable.clone()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })?;
            for row in rows {
                let (t, l, c) = row?;
                let c = c as u64;
                stats.objects -= c;
                let by_type = stats.by_type.entry(t.clone()).or_default();
                *by_type -= c;
                if *by_type == 0 {
                    stats.by_type.remove(&t);
                }
                let level = self.policy.level_name(self.label_by_id(l)?.level).to_string();
                let by_level = stats.by_level.entry(level.clone()).or_default();
                *by_level -= c;
                if *by_level == 0 {
                    stats.by_level.remove(&level);
                }
            }
            let versions: i64 = conn
                .prepare_cached("SELECT count(*) FROM objects WHERE label_id IN rarray(?1)")?
                .query_row(params![readable.clone()], |r| r.get(0))?;
            let hidden_versions: i64 = conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM objects o WHERE o.multi = 1 AND o.label_id IN rarray(?1) AND {}",
                    shadowed_instance("o", "?1")
                ))?
                .query_row(params![readable.clone()], |r| r.get(0))?;
            stats.versions = (versions - hidden_versions) as u64;
            let edges: i64 = conn
                .prepare_cached("SELECT count(*) FROM edges WHERE label_id IN rarray(?1)")?
                .query_row(params![readable.clone()], |r| r.get(0))?;
            let hidden_edges: i64 = conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM edges e JOIN objects o ON o.rid = e.owner_rid
                     WHERE e.multi = 1 AND e.label_id IN rarray(?1) AND {}",
                    shadowed_latest("o", "?1")
                ))?
                .query_row(params![readable], |r| r.get(0))?;
            stats.edges = (edges - hidden_edges) as u64;
            Ok(stats)
        })
    }
}
