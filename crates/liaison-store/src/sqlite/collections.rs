//! TAXII collections: named, access-controlled sets of object versions with an
//! added-order sequence.
//!
//! A collection holds object *versions* (rows of `objects`) in the order they were
//! added: `collection_objects.seq` is a never-reused, increasing sequence that gives
//! TAXII's `date_added` order and the paging cursor, so a page boundary stays correct
//! while objects are being added. Reads filter by the subject's readable label set in
//! SQL, like every other read of the store: an object the subject may not read is
//! absent from pages, manifests, version lists and `more` alike.

use super::{now_ms, SqliteStore};
use crate::{ImportItem, ImportOptions, ImportReport, StoreError};
use liaison_policy::{Label, Level, Role, Subject};
use liaison_stix::{StixObject, Timestamp};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::rc::Rc;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS collections(
    id TEXT PRIMARY KEY,
    api_root TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    ceiling_level TEXT NOT NULL,
    ceiling_compartments TEXT NOT NULL,
    read_acl TEXT NOT NULL,
    write_acl TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS collection_objects(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    rid INTEGER NOT NULL,
    added INTEGER NOT NULL,
    UNIQUE(collection, rid)
);
CREATE INDEX IF NOT EXISTS collection_objects_seq ON collection_objects(collection, seq);
-- TAXII status resources of add-objects requests: readable by the user who made the
-- request, under the API root it was made to, until they expire.
CREATE TABLE IF NOT EXISTS taxii_status(
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    api_root TEXT NOT NULL,
    created INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS taxii_status_created ON taxii_status(created);
"#;

/// What an import must also satisfy, and what it tells its caller, inside the transaction.
pub(crate) struct ImportHook<'a> {
    /// Objects above this ceiling are refused.
    pub ceiling: Option<&'a Ceiling>,
    /// Called for every object stored or found stored unchanged: (tx, index, object, rid).
    #[allow(clippy::type_complexity)]
    pub on_stored: &'a mut dyn FnMut(&Transaction, u64, &StixObject, i64) -> Result<(), StoreError>,
}

/// The highest label a collection takes: level and compartments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceiling {
    level: Level,
    level_name: String,
    compartments: BTreeSet<String>,
}

impl Ceiling {
    /// Whether a label fits under the ceiling; the reason when not.
    pub fn admits(&self, label: &Label) -> Result<(), String> {
        if label.level > self.level {
            return Err(format!(
                "the object's classification is above this collection's ceiling ({})",
                self.level_name
            ));
        }
        if !label.compartments.is_subset(&self.compartments) {
            return Err("the object's compartments are outside this collection's ceiling".into());
        }
        Ok(())
    }
}

/// A TAXII collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    /// Collection id (TAXII requires a UUID; any URL-safe id is accepted).
    pub id: String,
    /// The API root it belongs to (the path segment under `/taxii2/`).
    pub api_root: String,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Highest classification level objects added to it may carry.
    pub ceiling_level: String,
    /// Compartments objects added to it may carry.
    #[serde(default)]
    pub ceiling_compartments: Vec<String>,
    /// Who reads it: `*` (everyone), an organization id (`cert`) or a unit (`cert/soc`).
    #[serde(default)]
    pub read: Vec<String>,
    /// Who adds to and deletes from it, in the same notation.
    #[serde(default)]
    pub write: Vec<String>,
}

fn acl_admits(acl: &[String], subject: &Subject) -> bool {
    acl.iter().any(|e| {
        if e == "*" || e == &subject.org {
            return true;
        }
        match (e.split_once('/'), &subject.unit) {
            (Some((org, unit)), Some(u)) => org == subject.org && unit == u,
            _ => false,
        }
    })
}

impl Collection {
    /// Whether the subject may read the collection (its objects stay label-filtered).
    pub fn can_read(&self, subject: &Subject) -> bool {
        acl_admits(&self.read, subject)
    }

    /// Whether the subject may add objects to and delete objects from the collection.
    pub fn can_write(&self, subject: &Subject) -> bool {
        acl_admits(&self.write, subject) && subject.has_role(Role::Analyst)
    }
}

/// Which versions of each object a collection query returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VersionMatch {
    /// The newest version the subject may read (TAXII's default, `last`).
    #[default]
    Last,
    /// The oldest version the subject may read.
    First,
    /// Every version.
    All,
    /// These versions (version keys, see [`version_key_of`]).
    At(Vec<i64>),
}

/// The version key of a TAXII `match[version]` timestamp.
pub fn version_key_of(text: &str) -> Result<i64, String> {
    Timestamp::parse(text).map(|t| t.datetime().timestamp_micros())
}

/// A query over a collection's contents.
#[derive(Debug, Clone, Default)]
pub struct CollectionQuery {
    /// Only versions added after this time (Unix ms).
    pub added_after_ms: Option<i64>,
    /// Only entries after this sequence number (the paging cursor).
    pub after_seq: Option<i64>,
    /// Only these ids, when not empty.
    pub ids: Vec<String>,
    /// Only these types, when not empty.
    pub types: Vec<String>,
    /// Which versions.
    pub versions: VersionMatch,
    /// Only these spec versions, when not empty (the store holds 2.1 only).
    pub spec_versions: Vec<String>,
    /// Page size (at least 1).
    pub limit: usize,
    /// Read the JSON bodies (objects pages) or not (manifests, version lists).
    pub with_bodies: bool,
}

/// One object version in a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionEntry {
    /// Position in the collection's added order.
    pub seq: i64,
    /// When it was added to the collection (Unix ms).
    pub added_ms: i64,
    /// Object id.
    pub id: String,
    /// The version: `modified`, else `created`, else empty (unversioned SCOs).
    pub version: Option<String>,
    /// The object's JSON, verbatim as stored (when asked for).
    pub json: Option<String>,
}

/// A page of a collection query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionPage {
    /// The entries, in added order.
    pub entries: Vec<CollectionEntry>,
    /// Whether more readable entries follow.
    pub more: bool,
}

/// What adding objects to a collection did.
#[derive(Debug, Clone, Default)]
pub struct CollectionAdd {
    /// The store's import report (failures with index, id and reason).
    pub report: ImportReport,
    /// Objects now in the collection: (input index, id, version).
    pub stored: Vec<(u64, String, Option<String>)>,
}

fn acl_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn acl_parse(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("collection acl: {e}")))
}

impl SqliteStore {
    /// Create or replace a collection (administrators only).
    pub fn put_collection(&self, subject: &Subject, c: &Collection) -> Result<(), StoreError> {
        if !subject.roles.contains(&Role::Admin) {
            return Err(StoreError::Denied(
                "only administrators manage collections".into(),
            ));
        }
        self.policy().level(&c.ceiling_level)?;
        self.policy()
            .compartment_set(c.ceiling_compartments.iter().cloned())?;
        let conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        conn.execute(
            "INSERT INTO collections(id, api_root, title, description, ceiling_level, ceiling_compartments, read_acl, write_acl)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(id) DO UPDATE SET api_root = ?2, title = ?3, description = ?4, ceiling_level = ?5,
                 ceiling_compartments = ?6, read_acl = ?7, write_acl = ?8",
            params![
                c.id,
                c.api_root,
                c.title,
                c.description,
                c.ceiling_level,
                acl_json(&c.ceiling_compartments),
                acl_json(&c.read),
                acl_json(&c.write)
            ],
        )?;
        Ok(())
    }

    fn all_collections(&self) -> Result<Vec<Collection>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, api_root, title, description, ceiling_level, ceiling_compartments, read_acl, write_acl
                 FROM collections ORDER BY api_root, id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, api_root, title, description, level, comps, read, write) = row?;
                out.push(Collection {
                    id,
                    api_root,
                    title,
                    description,
                    ceiling_level: level,
                    ceiling_compartments: acl_parse(&comps)?,
                    read: acl_parse(&read)?,
                    write: acl_parse(&write)?,
                });
            }
            Ok(out)
        })
    }

    /// The API roots that hold at least one collection, in order.
    pub fn api_roots(&self) -> Result<Vec<String>, StoreError> {
        let mut roots: Vec<String> = self
            .all_collections()?
            .into_iter()
            .map(|c| c.api_root)
            .collect();
        roots.dedup();
        Ok(roots)
    }

    /// The collections of an API root the subject may read or write.
    pub fn collections(
        &self,
        subject: &Subject,
        api_root: &str,
    ) -> Result<Vec<Collection>, StoreError> {
        Ok(self
            .all_collections()?
            .into_iter()
            .filter(|c| c.api_root == api_root && (c.can_read(subject) || c.can_write(subject)))
            .collect())
    }

    /// One collection, if it exists and the subject may read or write it (the two
    /// cases are indistinguishable).
    pub fn collection(
        &self,
        subject: &Subject,
        api_root: &str,
        id: &str,
    ) -> Result<Option<Collection>, StoreError> {
        Ok(self
            .collections(subject, api_root)?
            .into_iter()
            .find(|c| c.id == id))
    }

    /// The ceiling of a collection.
    pub fn ceiling(&self, c: &Collection) -> Result<Ceiling, StoreError> {
        Ok(Ceiling {
            level: self.policy().level(&c.ceiling_level)?,
            level_name: c.ceiling_level.clone(),
            compartments: self
                .policy()
                .compartment_set(c.ceiling_compartments.iter().cloned())?,
        })
    }

    /// A page of what the subject may read in a collection, in added order. A subject
    /// that may not read the collection gets an empty page.
    pub fn collection_page(
        &self,
        subject: &Subject,
        c: &Collection,
        q: &CollectionQuery,
    ) -> Result<CollectionPage, StoreError> {
        if !c.can_read(subject) {
            return Ok(CollectionPage::default());
        }
        if !q.spec_versions.is_empty() && !q.spec_versions.iter().any(|v| v == "2.1") {
            return Ok(CollectionPage::default());
        }
        let readable = self.readable(subject);
        let list = |v: &[String]| -> Rc<Vec<SqlValue>> {
            Rc::new(v.iter().map(|s| SqlValue::Text(s.clone())).collect())
        };
        let ids = list(&q.ids);
        let types = list(&q.types);
        let (version_sql, at): (&str, Rc<Vec<SqlValue>>) = match &q.versions {
            VersionMatch::All => ("1", Rc::new(vec![])),
            VersionMatch::Last => (
                "NOT EXISTS (SELECT 1 FROM objects o2 JOIN collection_objects c2 ON c2.rid = o2.rid AND c2.collection = c.collection
                  WHERE o2.id = o.id AND o2.version > o.version AND o2.label_id IN rarray(?4))",
                Rc::new(vec![]),
            ),
            VersionMatch::First => (
                "NOT EXISTS (SELECT 1 FROM objects o2 JOIN collection_objects c2 ON c2.rid = o2.rid AND c2.collection = c.collection
                  WHERE o2.id = o.id AND o2.version < o.version AND o2.label_id IN rarray(?4))",
                Rc::new(vec![]),
            ),
            VersionMatch::At(keys) => (
                "o.version IN rarray(?10)",
                Rc::new(keys.iter().map(|k| SqlValue::Integer(*k)).collect()),
            ),
        };
        let body_sql = if q.with_bodies {
            "(SELECT json FROM bodies b WHERE b.rid = c.rid)"
        } else {
            "NULL"
        };
        let sql = format!(
            "SELECT c.seq, c.added, o.id, o.modified, o.version, {body_sql}
             FROM collection_objects c JOIN objects o ON o.rid = c.rid
             WHERE c.collection = ?1 AND c.seq > ?2 AND c.added > ?3 AND o.label_id IN rarray(?4)
               AND (?5 OR o.id IN rarray(?6)) AND (?7 OR o.type IN rarray(?8)) AND {version_sql}
               AND (o.multi = 0 OR NOT EXISTS (SELECT 1 FROM collection_objects c3 JOIN objects o3 ON o3.rid = c3.rid
                    WHERE c3.collection = c.collection AND o3.id = o.id AND o3.version = o.version
                      AND o3.rid < o.rid AND o3.label_id IN rarray(?4)))
               AND (?10 IS NULL OR 1)
             ORDER BY c.seq LIMIT ?9"
        );
        let limit = q.limit.max(1);
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![
                c.id,
                q.after_seq.unwrap_or(i64::MIN),
                q.added_after_ms.unwrap_or(i64::MIN),
                readable,
                q.ids.is_empty(),
                ids,
                q.types.is_empty(),
                types,
                (limit + 1) as i64,
                at
            ])?;
            let mut page = CollectionPage::default();
            while let Some(r) = rows.next()? {
                if page.entries.len() == limit {
                    page.more = true;
                    break;
                }
                let version_key: i64 = r.get(4)?;
                let modified: Option<String> = r.get(3)?;
                page.entries.push(CollectionEntry {
                    seq: r.get(0)?,
                    added_ms: r.get(1)?,
                    id: r.get(2)?,
                    version: if version_key == i64::MIN {
                        None
                    } else {
                        modified
                    },
                    json: r.get(5)?,
                });
            }
            Ok(page)
        })
    }

    /// Add objects to a collection in one transaction: each goes through the store's
    /// import (validation, write rule) and the collection's label ceiling; an object
    /// already stored unchanged is simply added to the collection.
    pub fn collection_add(
        &self,
        subject: &Subject,
        c: &Collection,
        items: &mut dyn Iterator<Item = ImportItem>,
    ) -> Result<CollectionAdd, StoreError> {
        if !c.can_write(subject) {
            return Err(StoreError::Denied(format!(
                "no write access to collection {}",
                c.id
            )));
        }
        let ceiling = self.ceiling(c)?;
        let mut stored = Vec::new();
        let mut next_added: Option<i64> = None;
        let mut on_stored = |tx: &Transaction,
                             index: u64,
                             obj: &StixObject,
                             rid: i64|
         -> Result<(), StoreError> {
            let added = match next_added {
                Some(a) => a,
                None => {
                    // date_added never goes backwards, so `added_after` and the sequence agree.
                    let last: Option<i64> = tx
                        .query_row("SELECT max(added) FROM collection_objects", [], |r| {
                            r.get(0)
                        })
                        .optional()?
                        .flatten();
                    let a = now_ms().max(last.unwrap_or(0));
                    next_added = Some(a);
                    a
                }
            };
            tx.prepare_cached(
                "INSERT OR IGNORE INTO collection_objects(collection, rid, added) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![c.id, rid, added])?;
            let version = obj.modified().or(obj.created()).map(str::to_string);
            stored.push((index, obj.id().to_string(), version));
            Ok(())
        };
        let mut hook = ImportHook {
            ceiling: Some(&ceiling),
            on_stored: &mut on_stored,
        };
        let report = self.import_inner(
            subject,
            items,
            &ImportOptions::default(),
            &mut |_| {},
            &mut hook,
        )?;
        Ok(CollectionAdd { report, stored })
    }

    /// Add the latest versions already in the store that the subject may read (and that
    /// fit under the collection's ceiling), of the given types (all when empty), to a
    /// collection (administrators only). Returns how many were added.
    pub fn collection_include_stored(
        &self,
        subject: &Subject,
        c: &Collection,
        types: &[String],
    ) -> Result<u64, StoreError> {
        if !subject.roles.contains(&Role::Admin) {
            return Err(StoreError::Denied(
                "only administrators fill collections from the store".into(),
            ));
        }
        let ceiling = self.ceiling(c)?;
        let ids: Rc<Vec<SqlValue>> = {
            let cache = self
                .labels
                .read()
                .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
            Rc::new(
                cache
                    .by_id
                    .iter()
                    .filter(|(_, l)| {
                        liaison_policy::can_read(subject, l) && ceiling.admits(l).is_ok()
                    })
                    .map(|(id, _)| SqlValue::Integer(*id))
                    .collect(),
            )
        };
        let types_v: Rc<Vec<SqlValue>> =
            Rc::new(types.iter().map(|t| SqlValue::Text(t.clone())).collect());
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        let tx = conn.transaction()?;
        let last: Option<i64> =
            tx.query_row("SELECT max(added) FROM collection_objects", [], |r| {
                r.get(0)
            })?;
        let added = now_ms().max(last.unwrap_or(0));
        let n = tx.execute(
            "INSERT OR IGNORE INTO collection_objects(collection, rid, added)
             SELECT ?1, rid, ?2 FROM objects
             WHERE latest = 1 AND label_id IN rarray(?3) AND (?4 OR type IN rarray(?5))
             ORDER BY rid",
            params![c.id, added, ids, types.is_empty(), types_v],
        )?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// Remove the versions of an object the subject may read from a collection (the
    /// store keeps them), every instance of them it may read. Returns how many versions
    /// were removed; 0 when none is readable.
    pub fn collection_delete(
        &self,
        subject: &Subject,
        c: &Collection,
        id: &str,
        versions: &VersionMatch,
    ) -> Result<u64, StoreError> {
        let q = CollectionQuery {
            ids: vec![id.to_string()],
            versions: versions.clone(),
            limit: 100_000,
            ..Default::default()
        };
        let page = self.collection_page(subject, c, &q)?;
        if page.entries.is_empty() {
            return Ok(0);
        }
        if !c.can_write(subject) {
            return Err(StoreError::Denied(format!(
                "no write access to collection {}",
                c.id
            )));
        }
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        let readable = self.readable(subject);
        let tx = conn.transaction()?;
        let mut n = 0;
        for e in &page.entries {
            let key = match &e.version {
                None => i64::MIN,
                Some(v) => version_key_of(v).map_err(StoreError::Corrupt)?,
            };
            // The page shows one instance per version; the subject's delete removes every
            // instance of it that the subject may read, so none shows up in its place.
            let removed = tx.execute(
                "DELETE FROM collection_objects WHERE collection = ?1 AND rid IN
                   (SELECT rid FROM objects WHERE id = ?2 AND version = ?3 AND label_id IN rarray(?4))",
                params![c.id, e.id, key, readable.clone()],
            )?;
            n += (removed > 0) as u64;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Keep a TAXII status resource (its JSON) for the user who made the request, and
    /// drop those older than `max_age`.
    pub fn put_taxii_status(
        &self,
        user: &str,
        api_root: &str,
        id: &str,
        body: &str,
        max_age: std::time::Duration,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))?;
        conn.prepare_cached("DELETE FROM taxii_status WHERE created <= ?1")?
            .execute([now.saturating_sub(max_age.as_millis() as i64)])?;
        conn.prepare_cached(
            "INSERT OR REPLACE INTO taxii_status(id, user, api_root, created, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, user, api_root, now, body])?;
        Ok(())
    }

    /// A TAXII status resource's JSON, if `user` made that request under `api_root`
    /// and it is younger than `max_age` (else `None`, as for an unknown id).
    pub fn taxii_status(
        &self,
        user: &str,
        api_root: &str,
        id: &str,
        max_age: std::time::Duration,
    ) -> Result<Option<String>, StoreError> {
        let oldest = now_ms().saturating_sub(max_age.as_millis() as i64);
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT body FROM taxii_status WHERE id = ?1 AND user = ?2 AND api_root = ?3 AND created > ?4",
                )?
                .query_row(params![id, user, api_root, oldest], |r| r.get(0))
                .optional()?)
        })
    }

    /// Objects (version rows) held by all collections: for metrics.
    pub fn collection_sizes(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT c.id, (SELECT count(*) FROM collection_objects co WHERE co.collection = c.id) FROM collections c",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// The size of the database file in bytes (0 in memory): for metrics.
    pub fn file_size(&self) -> u64 {
        self.path
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .unwrap_or(0)
    }
}
