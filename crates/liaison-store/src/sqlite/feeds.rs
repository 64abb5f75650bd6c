//! Feed definitions and their state (cursors, ETags, last success, errors, counts),
//! kept in the store so they survive restarts.
//!
//! A feed carries the label its items get, interned like every object label, and
//! a feed is itself read under that label: every read filters by the subject's
//! readable label ids inside the store, as every other read does, so a subject
//! without clearance sees neither the feed nor its state and counts.
//!
//! Feed names are polyinstantiated like object versions (ARCHITECTURE invariant 4):
//! a feed is keyed by `(name, label)`. A subject sees, for each name, the first
//! stored instance among those it may read; defining a name that exists only under
//! labels the subject cannot read stores the subject's own instance, with the
//! answer a fresh name gets, so a refusal never reveals that the name is taken.
//!
//! The definition and state are opaque JSON here (their types live in
//! `liaison-collect`); the store only keeps them.

use super::{now_ms, text_array, SqliteStore};
use crate::StoreError;
use liaison_policy::{check_write, Label, Subject};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::collections::HashMap;
use std::rc::Rc;

/// The table. `id` only names an instance for state updates; AUTOINCREMENT so a
/// run that outlives its feed's removal cannot write into a feed defined after it.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS feeds(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    label_id INTEGER NOT NULL,
    config TEXT NOT NULL,
    user TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}',
    updated INTEGER NOT NULL,
    UNIQUE(name, label_id)
);
CREATE INDEX IF NOT EXISTS feeds_user ON feeds(user);
"#;

/// Create the feeds table, or move a store's feeds from the first layout (one row
/// per name: `name TEXT PRIMARY KEY`) into the per-label one, keeping their order,
/// definitions and state. One transaction: an interrupted migration leaves the old
/// table as it was.
pub(crate) fn create_or_migrate(conn: &Connection) -> Result<(), StoreError> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'feeds'",
        [],
        |r| r.get(0),
    )?;
    let has_id: bool = conn.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('feeds') WHERE name = 'id'",
        [],
        |r| r.get(0),
    )?;
    if !exists || has_id {
        conn.execute_batch(SCHEMA)?;
        return Ok(());
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         ALTER TABLE feeds RENAME TO feeds_v1;
         {SCHEMA}
         INSERT INTO feeds(name, label_id, config, user, state, updated)
             SELECT name, label_id, config, user, state, updated FROM feeds_v1 ORDER BY rowid;
         DROP TABLE feeds_v1;
         COMMIT;"
    ))
    .map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        StoreError::from(e)
    })
}

/// A stored feed: one instance of a name, under one label.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRecord {
    /// The store's key of this instance (a name may have one instance per label).
    pub instance: i64,
    /// The name, unique among the feeds one subject sees.
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

/// What [`SqliteStore::put_feed`] may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedWrite {
    /// Define a new feed; a name the subject already sees is left alone.
    Create,
    /// Change the feed the subject sees under this name; nothing when it sees none.
    Replace,
    /// Either: change the feed the subject sees, else define it.
    Upsert,
}

/// What [`SqliteStore::put_feed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedPut {
    /// A new instance was stored (whatever the subject cannot see under this name).
    Created,
    /// The feed the subject sees was changed (its state kept).
    Replaced,
    /// Nothing: [`FeedWrite::Create`] of a name the subject already sees.
    Exists,
    /// Nothing: [`FeedWrite::Replace`] of a name the subject does not see.
    Absent,
}

type Row = (i64, String, String, i64, String, String, i64);

/// One instance per name: the first stored among the readable ones (`?1`: the
/// readable label ids).
const VISIBLE: &str = "f.label_id IN rarray(?1) AND NOT EXISTS (SELECT 1 FROM feeds g
     WHERE g.name = f.name AND g.id < f.id AND g.label_id IN rarray(?1))";

impl SqliteStore {
    /// Define or redefine a feed (see [`FeedWrite`]). The subject must be allowed to
    /// write at the feed's label (its items will be written there). Only the instance
    /// the subject sees is ever changed: a name that exists only under labels it
    /// cannot read is answered as a fresh one, and a new instance is stored. A
    /// redefinition keeps the state.
    #[allow(clippy::too_many_arguments)]
    pub fn put_feed(
        &self,
        subject: &Subject,
        name: &str,
        config: &Value,
        label: &Label,
        user: &str,
        how: FeedWrite,
    ) -> Result<FeedPut, StoreError> {
        check_write(subject, label).map_err(|e| StoreError::Denied(e.to_string()))?;
        let readable = self.readable(subject);
        let done = {
            let mut conn = self
                .writer
                .lock()
                .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
            let tx = conn.transaction()?;
            let seen: Option<(i64, i64)> = tx
                .query_row(
                    &format!(
                        "SELECT f.id, f.label_id FROM feeds f WHERE f.name = ?2 AND {VISIBLE}"
                    ),
                    params![readable, name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let done = match (seen, how) {
                (Some(_), FeedWrite::Create) => FeedPut::Exists,
                (None, FeedWrite::Replace) => FeedPut::Absent,
                (Some((id, old_label)), _) => {
                    // Changing a feed takes the right to write at its present label too.
                    check_write(subject, &self.label_by_id(old_label)?)
                        .map_err(|e| StoreError::Denied(e.to_string()))?;
                    let mut batch = HashMap::new();
                    let label_id = self.intern_label(&tx, label, &mut batch)?;
                    if label_id != old_label {
                        // Another instance at the new label is one the subject can read
                        // (it may write there): naming it hides nothing.
                        let other: Option<i64> = tx
                            .query_row(
                                "SELECT id FROM feeds WHERE name = ?1 AND label_id = ?2",
                                params![name, label_id],
                                |r| r.get(0),
                            )
                            .optional()?;
                        if other.is_some() {
                            return Err(StoreError::Denied(format!(
                                "another feed named '{name}' exists at label {}; remove it first",
                                self.policy.banner(label)
                            )));
                        }
                    }
                    tx.execute(
                        "UPDATE feeds SET config = ?2, label_id = ?3, user = ?4, updated = ?5 WHERE id = ?1",
                        params![id, config.to_string(), label_id, user, now_ms()],
                    )?;
                    FeedPut::Replaced
                }
                (None, _) => {
                    let mut batch = HashMap::new();
                    let label_id = self.intern_label(&tx, label, &mut batch)?;
                    // (name, label) is free: an instance there would be readable, so seen.
                    tx.execute(
                        "INSERT INTO feeds(name, label_id, config, user, state, updated)
                         VALUES (?1, ?2, ?3, ?4, '{}', ?5)",
                        params![name, label_id, config.to_string(), user, now_ms()],
                    )?;
                    FeedPut::Created
                }
            };
            tx.commit()?;
            done
        };
        if matches!(done, FeedPut::Created | FeedPut::Replaced) {
            self.load_labels()?;
        }
        Ok(done)
    }

    fn decode_feed(&self, row: Row) -> Result<FeedRecord, StoreError> {
        let (instance, name, config, label_id, user, state, updated) = row;
        let parse = |s: &str, what: &str| {
            serde_json::from_str(s)
                .map_err(|e| StoreError::Corrupt(format!("feed {name} {what}: {e}")))
        };
        Ok(FeedRecord {
            instance,
            config: parse(&config, "config")?,
            state: parse(&state, "state")?,
            label: self.label_by_id(label_id)?,
            name,
            user,
            updated_ms: updated,
        })
    }

    fn feed_query(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Row>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(args, |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The feeds the subject sees, by name: for each name, the first stored instance
    /// among those whose label it may read.
    pub fn feeds(&self, subject: &Subject) -> Result<Vec<FeedRecord>, StoreError> {
        let rows = self.feed_query(
            &format!(
                "SELECT f.id, f.name, f.config, f.label_id, f.user, f.state, f.updated
                 FROM feeds f WHERE {VISIBLE} ORDER BY f.name"
            ),
            params![self.readable(subject)],
        )?;
        rows.into_iter().map(|r| self.decode_feed(r)).collect()
    }

    /// The feed the subject sees under `name`, if any: an absent name and one whose
    /// every instance is unreadable are indistinguishable.
    pub fn feed(&self, subject: &Subject, name: &str) -> Result<Option<FeedRecord>, StoreError> {
        let rows = self.feed_query(
            &format!(
                "SELECT f.id, f.name, f.config, f.label_id, f.user, f.state, f.updated
                 FROM feeds f WHERE f.name = ?2 AND {VISIBLE}"
            ),
            params![self.readable(subject), name],
        )?;
        rows.into_iter()
            .next()
            .map(|r| self.decode_feed(r))
            .transpose()
    }

    /// The feeds the scheduler runs: every instance whose user is one of `runners`
    /// and whose label that user may read (checked here, in the store, against the
    /// user's readable labels). A feed whose user is gone or lost the clearance is
    /// not run, and nobody is shown anything.
    pub fn feeds_to_run(&self, runners: &[Subject]) -> Result<Vec<FeedRecord>, StoreError> {
        let by_name: HashMap<&str, std::collections::HashSet<i64>> = runners
            .iter()
            .map(|s| (s.name.as_str(), self.readable_set(s)))
            .collect();
        let names = text_array(by_name.keys());
        let rows = self.feed_query(
            "SELECT id, name, config, label_id, user, state, updated FROM feeds
             WHERE user IN rarray(?1) ORDER BY name, id",
            params![names],
        )?;
        rows.into_iter()
            .filter(|r| {
                by_name
                    .get(r.4.as_str())
                    .is_some_and(|ok| ok.contains(&r.3))
            })
            .map(|r| self.decode_feed(r))
            .collect()
    }

    /// Replace a feed instance's state (after a run). A feed removed while it ran
    /// leaves nothing behind (its instance is never reused).
    pub fn set_feed_state(&self, feed: &FeedRecord, state: &Value) -> Result<(), StoreError> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        conn.execute(
            "UPDATE feeds SET state = ?2, updated = ?3 WHERE id = ?1",
            params![feed.instance, state.to_string(), now_ms()],
        )?;
        Ok(())
    }

    /// Remove the feed the subject sees under `name` (it must be allowed to write at
    /// its label); what it collected stays. Returns whether there was one.
    pub fn delete_feed(&self, subject: &Subject, name: &str) -> Result<bool, StoreError> {
        let Some(f) = self.feed(subject, name)? else {
            return Ok(false);
        };
        check_write(subject, &f.label).map_err(|e| StoreError::Denied(e.to_string()))?;
        let conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        Ok(conn.execute("DELETE FROM feeds WHERE id = ?1", [f.instance])? > 0)
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

#[cfg(test)]
mod tests {
    //! Feed reads and writes under labels, in the conformance suite's style: each check
    //! on a plain, a file and an encrypted store.

    use super::*;
    use crate::testsuite::{admin, policy};
    use liaison_policy::{Releasability, Role, Tlp};
    use serde_json::json;

    fn intern() -> Subject {
        policy()
            .subject(
                "intern",
                "cert",
                "UNCLASSIFIED",
                [] as [&str; 0],
                [Role::Analyst],
            )
            .expect("static subject")
    }

    fn secret() -> Label {
        policy()
            .label(
                "SECRET",
                ["GRID"],
                Tlp::Amber,
                "cert",
                Releasability::to(["cert"]),
            )
            .expect("label")
    }

    fn open() -> Label {
        Label::public(Some("cert".into()))
    }

    fn cfg(url: &str) -> Value {
        json!({"name": "ips", "url": url, "format": "list"})
    }

    fn names(v: &[FeedRecord]) -> Vec<(String, String)> {
        v.iter()
            .map(|f| {
                (
                    f.name.clone(),
                    f.config["url"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// A name held only under an unreadable label: every read answers as for an absent
    /// name, and defining it stores the definer's own instance with a fresh name's
    /// answer; each subject then sees and changes only its instance.
    fn polyinstantiated_names(s: &SqliteStore) {
        let (a, i) = (admin(), intern());
        let put = |who: &Subject, name: &str, url: &str, l: &Label, how| {
            s.put_feed(who, name, &cfg(url), l, &who.name, how).unwrap()
        };
        assert_eq!(
            put(&a, "ips", "https://a/ips", &secret(), FeedWrite::Create),
            FeedPut::Created
        );
        // The intern sees nothing of it, and cannot tell it from an absent name.
        assert!(s.feeds(&i).unwrap().is_empty());
        assert_eq!(s.feed(&i, "ips").unwrap(), None);
        assert_eq!(s.feed(&i, "none").unwrap(), None);
        assert!(!s.delete_feed(&i, "ips").unwrap());
        assert_eq!(
            put(&i, "ips", "https://i/ips", &open(), FeedWrite::Replace),
            FeedPut::Absent
        );
        assert_eq!(
            put(&i, "none", "https://i/ips", &open(), FeedWrite::Replace),
            FeedPut::Absent
        );
        assert_eq!(s.feed(&i, "none").unwrap(), None);
        // Defining the name answers as for a fresh one and stores the intern's own feed.
        assert_eq!(
            put(&i, "ips", "https://i/ips", &open(), FeedWrite::Create),
            FeedPut::Created
        );
        assert_eq!(
            put(&i, "fresh", "https://i/f", &open(), FeedWrite::Create),
            FeedPut::Created
        );
        assert_eq!(
            names(&s.feeds(&i).unwrap()),
            vec![
                ("fresh".into(), "https://i/f".into()),
                ("ips".into(), "https://i/ips".into())
            ]
        );
        // The admin reads both instances but sees the first stored: its own, unchanged.
        let mine = s.feed(&a, "ips").unwrap().unwrap();
        assert_eq!(mine.config["url"], "https://a/ips");
        assert_eq!(mine.label, secret());
        assert_eq!(s.feeds(&a).unwrap().len(), 2, "one per name");
        // Redefinitions touch only the instance each one sees.
        assert_eq!(
            put(&i, "ips", "https://i/v2", &open(), FeedWrite::Upsert),
            FeedPut::Replaced
        );
        assert_eq!(
            put(&i, "ips", "https://i/v3", &open(), FeedWrite::Create),
            FeedPut::Exists
        );
        assert_eq!(
            s.feed(&i, "ips").unwrap().unwrap().config["url"],
            "https://i/v2"
        );
        assert_eq!(
            s.feed(&a, "ips").unwrap().unwrap().config["url"],
            "https://a/ips"
        );
        // State goes to the instance that ran.
        let theirs = s.feed(&i, "ips").unwrap().unwrap();
        s.set_feed_state(&theirs, &json!({"runs": 3})).unwrap();
        assert_eq!(s.feed(&i, "ips").unwrap().unwrap().state["runs"], 3);
        assert_eq!(s.feed(&a, "ips").unwrap().unwrap().state, json!({}));
        // The scheduler runs each instance as its user, only where the user may read it.
        let run = s.feeds_to_run(&[a.clone(), i.clone()]).unwrap();
        assert_eq!(run.len(), 3, "{run:?}");
        assert!(s
            .feeds_to_run(std::slice::from_ref(&i))
            .unwrap()
            .iter()
            .all(|f| f.user == "intern"));
        s.put_feed(
            &a,
            "lost",
            &cfg("https://a/l"),
            &secret(),
            "intern",
            FeedWrite::Create,
        )
        .unwrap();
        let run = s.feeds_to_run(std::slice::from_ref(&i)).unwrap();
        assert!(run.iter().all(|f| f.name != "lost"), "{run:?}");
        assert_eq!(run.len(), 2);
        // Removing removes only the remover's instance.
        assert!(s.delete_feed(&i, "ips").unwrap());
        assert_eq!(s.feed(&i, "ips").unwrap(), None);
        assert_eq!(
            s.feed(&a, "ips").unwrap().unwrap().config["url"],
            "https://a/ips"
        );
        // A reader may see a feed but not change it.
        let reader = policy()
            .subject("r", "cert", "UNCLASSIFIED", [] as [&str; 0], [Role::Reader])
            .unwrap();
        assert!(s.feed(&reader, "fresh").unwrap().is_some());
        assert!(matches!(
            s.delete_feed(&reader, "fresh"),
            Err(StoreError::Denied(_))
        ));
    }

    /// Moving the feed one sees onto a label where another of its instances lives is
    /// refused by name (the mover can read that label: nothing is revealed).
    fn relabel_onto_another_instance_is_refused(s: &SqliteStore) {
        let a = admin();
        let i = intern();
        s.put_feed(
            &a,
            "x",
            &cfg("https://a"),
            &secret(),
            "admin",
            FeedWrite::Create,
        )
        .unwrap();
        s.put_feed(
            &i,
            "x",
            &cfg("https://i"),
            &open(),
            "intern",
            FeedWrite::Create,
        )
        .unwrap();
        let e = s
            .put_feed(
                &a,
                "x",
                &cfg("https://a2"),
                &open(),
                "admin",
                FeedWrite::Replace,
            )
            .unwrap_err();
        assert!(e.to_string().contains("another feed named 'x'"), "{e}");
        assert_eq!(s.feed(&a, "x").unwrap().unwrap().config["url"], "https://a");
    }

    fn all(s: &SqliteStore) {
        polyinstantiated_names(s);
    }

    #[test]
    fn feeds_in_memory() {
        all(&SqliteStore::open_in_memory(policy()).unwrap());
        relabel_onto_another_instance_is_refused(&SqliteStore::open_in_memory(policy()).unwrap());
    }

    #[test]
    fn feeds_in_files_plain_and_encrypted() {
        let d = tempfile::tempdir().unwrap();
        all(&SqliteStore::open(&d.path().join("p.db"), policy()).unwrap());
        let key = crate::crypt::DbKey::from_bytes(&[9; 32]);
        all(&SqliteStore::open_encrypted(&d.path().join("e.db"), policy(), key).unwrap());
    }

    /// A store from before polyinstantiated feeds (one row per name) moves its feeds,
    /// with their state, into the per-label table when opened; then a name held under
    /// an unreadable label can be defined by another subject.
    #[test]
    fn first_layout_migrates_on_open() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("old.db");
        let secret_id = {
            let s = SqliteStore::open(&path, policy()).unwrap();
            // Interns the label (as a feed defined by the old build would have).
            s.put_feed(
                &admin(),
                "tmp",
                &cfg("u"),
                &secret(),
                "admin",
                FeedWrite::Create,
            )
            .unwrap();
            s.readable_ids(&admin())
                .into_iter()
                .find(|id| s.label_by_id(*id).unwrap() == secret())
                .unwrap()
        };
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(&format!(
                "DROP TABLE feeds;
                 CREATE TABLE feeds(name TEXT PRIMARY KEY, config TEXT NOT NULL,
                     label_id INTEGER NOT NULL, user TEXT NOT NULL,
                     state TEXT NOT NULL DEFAULT '{{}}', updated INTEGER NOT NULL);
                 INSERT INTO feeds VALUES ('b-feed', '{{\"url\":\"https://b\"}}', {secret_id}, 'admin', '{{\"runs\":7}}', 1);
                 INSERT INTO feeds VALUES ('a-feed', '{{\"url\":\"https://a\"}}', {secret_id}, 'admin', '{{}}', 2);"
            ))
            .unwrap();
        }
        let s = SqliteStore::open(&path, policy()).unwrap();
        let got = s.feeds(&admin()).unwrap();
        assert_eq!(
            names(&got),
            vec![
                ("a-feed".into(), "https://a".into()),
                ("b-feed".into(), "https://b".into())
            ]
        );
        assert_eq!(got[1].state["runs"], 7);
        assert_eq!(got[1].label, secret());
        assert!(s.feeds(&intern()).unwrap().is_empty());
        assert_eq!(
            s.put_feed(
                &intern(),
                "b-feed",
                &cfg("https://i"),
                &open(),
                "intern",
                FeedWrite::Create
            )
            .unwrap(),
            FeedPut::Created
        );
        drop(s);
        // Opening again neither migrates twice nor loses anything.
        let s = SqliteStore::open(&path, policy()).unwrap();
        assert_eq!(s.feeds(&admin()).unwrap().len(), 2);
        assert_eq!(
            s.feed(&intern(), "b-feed").unwrap().unwrap().config["url"],
            "https://i"
        );
        assert_eq!(
            s.feed(&admin(), "b-feed").unwrap().unwrap().state["runs"],
            7
        );
    }
}
