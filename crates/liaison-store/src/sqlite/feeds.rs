//! Feed definitions and their state (cursors, ETags, last success, errors, counts),
//! kept in the store so they survive restarts.
//!
//! A feed carries the label its items get, interned like every object label, and
//! a feed is itself read under that label: listing feeds filters by the subject's
//! readable label ids in SQL, as every other read does, so a subject without
//! clearance sees neither the feed nor its counts. The definition and state are
//! opaque JSON here (their types live in `liaison-collect`); the store only keeps
//! them.

use super::{now_ms, SqliteStore};
use crate::StoreError;
use liaison_policy::{check_write, Label, Subject};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, OptionalExtension};
use serde_json::Value;
use std::collections::HashMap;
use std::rc::Rc;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS feeds(
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    label_id INTEGER NOT NULL,
    user TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}',
    updated INTEGER NOT NULL
);
"#;

/// A stored feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRecord {
    /// Unique name.
    pub name: String,
    /// The definition (a `liaison_collect::FeedConfig` as JSON).
    pub config: Value,
    /// The label of the feed and of what it collects.
    pub label: Label,
    /// The user the feed collects as (its writes obey that user's rights).
    pub user: String,
    /// The state (a `liaison_collect::state::FeedState` as JSON).
    pub state: Value,
    /// When the definition or state last changed (Unix ms).
    pub updated_ms: i64,
}

impl SqliteStore {
    /// Create or replace a feed. The subject must be allowed to write at the feed's
    /// label (its items will be written there), and replacing a feed it cannot read
    /// is refused like a missing one. The state is kept when the feed exists.
    pub fn put_feed(
        &self,
        subject: &Subject,
        name: &str,
        config: &Value,
        label: &Label,
        user: &str,
    ) -> Result<(), StoreError> {
        check_write(subject, label).map_err(|e| StoreError::Denied(e.to_string()))?;
        let readable = self.readable_set(subject);
        {
            let mut conn = self
                .writer
                .lock()
                .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
            let tx = conn.transaction()?;
            let existing: Option<i64> = tx
                .query_row("SELECT label_id FROM feeds WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?;
            if let Some(l) = existing {
                if !readable.contains(&l) {
                    return Err(StoreError::Denied(format!(
                        "a feed named '{name}' exists and you may not change it"
                    )));
                }
            }
            let mut batch = HashMap::new();
            let label_id = self.intern_label(&tx, label, &mut batch)?;
            tx.execute(
                "INSERT INTO feeds(name, config, label_id, user, state, updated) VALUES (?1, ?2, ?3, ?4, '{}', ?5)
                 ON CONFLICT(name) DO UPDATE SET config = ?2, label_id = ?3, user = ?4, updated = ?5",
                params![name, config.to_string(), label_id, user, now_ms()],
            )?;
            tx.commit()?;
        }
        self.load_labels()
    }

    fn feed_rows(
        &self,
        filter: Option<Rc<Vec<SqlValue>>>,
        name: Option<&str>,
    ) -> Result<Vec<FeedRecord>, StoreError> {
        let rows: Vec<(String, String, i64, String, String, i64)> = self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT name, config, label_id, user, state, updated FROM feeds
                 WHERE (?1 OR label_id IN rarray(?2)) AND (?3 IS NULL OR name = ?3) ORDER BY name",
            )?;
            let all = filter.is_none();
            let ids = filter.unwrap_or_else(|| Rc::new(vec![]));
            let rows = stmt.query_map(params![all, ids, name], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        rows.into_iter()
            .map(|(name, config, label_id, user, state, updated)| {
                let parse = |s: &str, what: &str| {
                    serde_json::from_str(s)
                        .map_err(|e| StoreError::Corrupt(format!("feed {name} {what}: {e}")))
                };
                Ok(FeedRecord {
                    config: parse(&config, "config")?,
                    state: parse(&state, "state")?,
                    label: self.label_by_id(label_id)?,
                    name,
                    user,
                    updated_ms: updated,
                })
            })
            .collect()
    }

    /// The feeds the subject may read (by their label), by name.
    pub fn feeds(&self, subject: &Subject) -> Result<Vec<FeedRecord>, StoreError> {
        self.feed_rows(Some(self.readable(subject)), None)
    }

    /// One feed, if it exists and the subject may read it (the two are indistinguishable).
    pub fn feed(&self, subject: &Subject, name: &str) -> Result<Option<FeedRecord>, StoreError> {
        Ok(self
            .feed_rows(Some(self.readable(subject)), Some(name))?
            .pop())
    }

    /// Every feed, for the scheduler only: it runs each feed as the feed's own user
    /// (whose reads and writes the store checks as usual) and shows nothing to anyone.
    pub fn feeds_for_scheduler(&self) -> Result<Vec<FeedRecord>, StoreError> {
        self.feed_rows(None, None)
    }

    /// Replace a feed's state (after a run). Unknown names are ignored: a feed removed
    /// while it ran leaves nothing behind.
    pub fn set_feed_state(&self, name: &str, state: &Value) -> Result<(), StoreError> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        conn.execute(
            "UPDATE feeds SET state = ?2, updated = ?3 WHERE name = ?1",
            params![name, state.to_string(), now_ms()],
        )?;
        Ok(())
    }

    /// Remove a feed the subject may read and write; its collected objects stay.
    /// Returns whether it was there.
    pub fn delete_feed(&self, subject: &Subject, name: &str) -> Result<bool, StoreError> {
        let Some(f) = self.feed(subject, name)? else {
            return Ok(false);
        };
        check_write(subject, &f.label).map_err(|e| StoreError::Denied(e.to_string()))?;
        let conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        Ok(conn.execute("DELETE FROM feeds WHERE name = ?1", [name])? > 0)
    }

    /// Whether the store holds nothing but its built-in objects, as a reader sees it:
    /// then no id a feed makes is stored yet and its merge look-ups can be skipped
    /// (one rowid probe; a run's own uncommitted writes are not visible here).
    pub fn holds_only_built_ins(&self) -> Result<bool, StoreError> {
        self.with_reader(|conn| {
            let max: i64 =
                conn.query_row("SELECT coalesce(max(rid), 0) FROM objects", [], |r| {
                    r.get(0)
                })?;
            Ok(max <= crate::BUILT_IN_OBJECTS as i64)
        })
    }

    /// The latest versions (JSON, verbatim) of those of `ids` the subject may read:
    /// what a feed run merges its provenance into. Label-filtered in SQL.
    pub fn latest_json(
        &self,
        subject: &Subject,
        ids: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let readable = self.readable(subject);
        let mut out = HashMap::new();
        for chunk in ids.chunks(10_000) {
            let list: Rc<Vec<SqlValue>> =
                Rc::new(chunk.iter().map(|s| SqlValue::Text(s.clone())).collect());
            self.with_reader(|conn| {
                // An id stored under several labels (polyinstantiation) has a latest row
                // per label: the subject's version is the newest it may read, and among
                // instances of that version the first stored, as `get` answers.
                let mut stmt = conn.prepare_cached(
                    "SELECT o.id, b.json, o.version, o.rid FROM objects o
                     JOIN bodies b ON b.rid = o.rid
                     WHERE o.id IN rarray(?1) AND o.latest = 1 AND o.label_id IN rarray(?2)",
                )?;
                let mut rows = stmt.query(params![list, readable])?;
                let mut best: HashMap<String, (i64, i64)> = HashMap::new();
                while let Some(r) = rows.next()? {
                    let id: String = r.get(0)?;
                    let key = (r.get::<_, i64>(2)?, -r.get::<_, i64>(3)?);
                    if best.get(&id).is_some_and(|b| *b >= key) {
                        continue;
                    }
                    best.insert(id.clone(), key);
                    out.insert(id, r.get(1)?);
                }
                Ok(())
            })?;
        }
        Ok(out)
    }
}
