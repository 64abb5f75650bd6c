//! State of the task and alert work that is not intelligence, so not STIX: in-app
//! notifications, the deadline levels the monitor already reported, the webhook
//! delivery log, and burst-detection baselines.
//!
//! A notification is stored with the label id of the task it is about, and read only
//! by its recipient *and* only while the recipient may read that label (the same
//! readable-label filter as every other read), so a notification never tells a user
//! about a task the user cannot read, even after a label or clearance changes.

use super::SqliteStore;
use crate::StoreError;
use liaison_policy::{Label, Subject};
use rusqlite::params;
use serde::Serialize;
use serde_json::Value;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS task_levels(
    task_id TEXT PRIMARY KEY,
    deadline INTEGER NOT NULL,
    level INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications(
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    task_id TEXT NOT NULL,
    label_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS notifications_recipient ON notifications(recipient, id);
CREATE TABLE IF NOT EXISTS webhook_deliveries(
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT,
    next_at INTEGER NOT NULL,
    created INTEGER NOT NULL,
    done INTEGER
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(next_at) WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS burst_baselines(
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY(scope, key)
);
"#;

/// A latest version as [`SqliteStore::latest_since`] hands it over: JSON text, label,
/// revoked.
pub type RawLatest = (String, Label, bool);

/// A notification to store for a recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// The recipient's user name.
    pub recipient: String,
    /// The task it is about.
    pub task_id: String,
    /// The task's label: who may read the notification (besides its recipient).
    pub label: Label,
    /// `warn` or `breach`.
    pub kind: String,
    /// What the recipient sees.
    pub body: Value,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// Its id (to mark it read).
    pub id: i64,
    /// The task.
    pub task_id: String,
    /// `warn` or `breach`.
    pub kind: String,
    /// The content.
    pub body: Value,
    /// When it was made (Unix ms).
    pub created_ms: i64,
    /// Whether the recipient marked it read.
    pub read: bool,
}

/// A webhook POST to make.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    /// Where.
    pub url: String,
    /// The exact body (signed when sent).
    pub body: String,
}

/// A webhook delivery and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Its id.
    pub id: i64,
    /// Where.
    pub url: String,
    /// The body.
    pub body: String,
    /// `pending`, `delivered` or `failed` (gave up).
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// HTTP status of the last attempt, if one was answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due (Unix ms).
    pub next_at: i64,
    /// When it was queued (Unix ms).
    pub created_ms: i64,
    /// When it was delivered or given up (Unix ms).
    pub done_ms: Option<i64>,
}

fn delivery(r: &rusqlite::Row) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        url: r.get(1)?,
        body: r.get(2)?,
        state: r.get(3)?,
        attempts: r.get(4)?,
        last_status: r.get(5)?,
        last_error: r.get(6)?,
        next_at: r.get(7)?,
        created_ms: r.get(8)?,
        done_ms: r.get(9)?,
    })
}

const DELIVERY_COLS: &str =
    "id, url, body, state, attempts, last_status, last_error, next_at, created, done";

impl SqliteStore {
    fn work_writer(&self) -> Result<std::sync::MutexGuard<'_, rusqlite::Connection>, StoreError> {
        self.writer
            .lock()
            .map_err(|_| StoreError::Corrupt("lock poisoned".into()))
    }

    /// Latest versions of objects of `type_name` stored after row `after` (0: all),
    /// readable by `subject` (filtered by readable label ids in SQL, like every read),
    /// as `(JSON text, label, revoked)`, and the last row the answer covers (pass it as
    /// `after` next time). The deadline monitor keeps the open tasks in memory and reads
    /// only what changed since its last check; the JSON is handed over unparsed so the
    /// caller deserializes straight into its own type.
    pub fn latest_since(
        &self,
        subject: &Subject,
        type_name: &str,
        after: i64,
    ) -> Result<(Vec<RawLatest>, i64), StoreError> {
        let readable = self.readable(subject);
        self.with_reader(|conn| {
            let upto: i64 =
                conn.query_row("SELECT coalesce(max(rid), 0) FROM objects", [], |r| {
                    r.get(0)
                })?;
            let mut stmt = conn.prepare_cached(
                "SELECT b.json, o.label_id, o.revoked, o.multi, o.id, o.version FROM objects o
                 JOIN bodies b ON b.rid = o.rid
                 WHERE o.rid > ?3 AND o.rid <= ?4 AND o.type = ?1 AND o.latest = 1
                   AND o.label_id IN rarray(?2)",
            )?;
            let mut rows = stmt.query(params![type_name, readable, after, upto])?;
            let mut out = Vec::new();
            // An id stored under several labels has a latest row per label: the subject
            // sees its newest (as `get` answers), once.
            let mut multi: std::collections::HashMap<String, (i64, usize)> = Default::default();
            while let Some(r) = rows.next()? {
                let label = self.label_by_id(r.get(1)?)?;
                let item = (r.get::<_, String>(0)?, label, r.get::<_, i64>(2)? != 0);
                if r.get::<_, i64>(3)? == 1 {
                    let id: String = r.get(4)?;
                    let version: i64 = r.get(5)?;
                    match multi.get(&id) {
                        Some(&(v, _)) if v >= version => continue,
                        Some(&(_, at)) => {
                            out[at] = item;
                            multi.insert(id, (version, at));
                            continue;
                        }
                        None => {
                            multi.insert(id, (version, out.len()));
                        }
                    }
                }
                out.push(item);
            }
            Ok((out, upto))
        })
    }

    /// The deadline levels already reported: `(task id, deadline ms, level)`.
    pub fn reported_levels(&self) -> Result<Vec<(String, i64, u8)>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT task_id, deadline, level FROM task_levels")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, i64>(2)?.clamp(0, 255) as u8,
                ))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Record one monitor tick in one transaction: the levels now reported, the tasks
    /// to forget (no longer open), the notifications and the webhook deliveries. A
    /// restart after this sees the levels and does not notify again; a crash before it
    /// loses nothing that was sent.
    pub fn record_tick(
        &self,
        levels: &[(String, i64, u8)],
        forget: &[String],
        notes: &[NewNotification],
        deliveries: &[NewDelivery],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut new_labels = std::collections::HashMap::new();
        let mut conn = self.work_writer()?;
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO task_levels(task_id, deadline, level) VALUES (?1, ?2, ?3)
                 ON CONFLICT(task_id) DO UPDATE SET deadline = ?2, level = ?3",
            )?;
            for (id, d, l) in levels {
                put.execute(params![id, d, i64::from(*l)])?;
            }
            let mut del = tx.prepare_cached("DELETE FROM task_levels WHERE task_id = ?1")?;
            for id in forget {
                del.execute([id])?;
            }
            let mut note = tx.prepare_cached(
                "INSERT INTO notifications(recipient, task_id, label_id, kind, body, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for n in notes {
                let label = self.intern_label(&tx, &n.label, &mut new_labels)?;
                note.execute(params![
                    n.recipient,
                    n.task_id,
                    label,
                    n.kind,
                    n.body.to_string(),
                    now_ms
                ])?;
            }
            let mut d = tx.prepare_cached(
                "INSERT INTO webhook_deliveries(url, body, state, next_at, created)
                 VALUES (?1, ?2, 'pending', ?3, ?3)",
            )?;
            for x in deliveries {
                d.execute(params![x.url, x.body, now_ms])?;
            }
        }
        tx.commit()?;
        drop(conn);
        if !new_labels.is_empty() {
            self.load_labels()?;
        }
        Ok(())
    }

    /// The subject's own notifications about tasks it may still read, newest first.
    pub fn notifications(
        &self,
        subject: &Subject,
        unread_only: bool,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        let readable = self.readable(subject);
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, task_id, kind, body, created, read FROM notifications
                 WHERE recipient = ?1 AND label_id IN rarray(?2) AND (?3 = 0 OR read = 0)
                 ORDER BY id DESC LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![subject.name, readable, unread_only as i64, limit as i64],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (id, task_id, kind, body, created, read) = row?;
                out.push(Notification {
                    id,
                    task_id,
                    kind,
                    body: serde_json::from_str(&body)
                        .map_err(|e| StoreError::Corrupt(format!("notification {id}: {e}")))?,
                    created_ms: created,
                    read: read != 0,
                });
            }
            Ok(out)
        })
    }

    /// Mark the subject's notifications read (`ids`: these only; `None`: all it may
    /// read). Returns how many changed; others' and unreadable ones are left alone.
    pub fn mark_notifications_read(
        &self,
        subject: &Subject,
        ids: Option<&[i64]>,
    ) -> Result<usize, StoreError> {
        let readable = self.readable(subject);
        let conn = self.work_writer()?;
        let n = match ids {
            None => conn.execute(
                "UPDATE notifications SET read = 1 WHERE recipient = ?1 AND read = 0 AND label_id IN rarray(?2)",
                params![subject.name, readable],
            )?,
            Some(ids) => {
                let ids = std::rc::Rc::new(
                    ids.iter()
                        .map(|i| rusqlite::types::Value::Integer(*i))
                        .collect::<Vec<_>>(),
                );
                conn.execute(
                    "UPDATE notifications SET read = 1 WHERE recipient = ?1 AND read = 0
                     AND label_id IN rarray(?2) AND id IN rarray(?3)",
                    params![subject.name, readable, ids],
                )?
            }
        };
        Ok(n)
    }

    /// Webhook deliveries due at `now_ms`, oldest first.
    pub fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {DELIVERY_COLS} FROM webhook_deliveries
                 WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![now_ms, limit as i64], delivery)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Record an attempt: delivered (`next_at` ignored), or failed with the next
    /// attempt due at `next_at` (`None`: give up).
    pub fn delivery_attempt(
        &self,
        id: i64,
        delivered: bool,
        status: Option<u16>,
        error: Option<&str>,
        next_at: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let state = match (delivered, next_at) {
            (true, _) => "delivered",
            (false, Some(_)) => "pending",
            (false, None) => "failed",
        };
        let done = (state != "pending").then_some(now_ms);
        self.work_writer()?.execute(
            "UPDATE webhook_deliveries SET state = ?2, attempts = attempts + 1, last_status = ?3,
                 last_error = ?4, next_at = coalesce(?5, next_at), done = ?6 WHERE id = ?1",
            params![id, state, status, error, next_at, done],
        )?;
        Ok(())
    }

    /// The delivery log, newest first.
    pub fn deliveries(&self, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {DELIVERY_COLS} FROM webhook_deliveries ORDER BY id DESC LIMIT ?1"
            ))?;
            let rows = stmt.query_map([limit as i64], delivery)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Burst-detection baselines of a scope (an organization): `(key, state JSON)`.
    pub fn burst_baselines(&self, scope: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT key, state FROM burst_baselines WHERE scope = ?1")?;
            let rows = stmt.query_map([scope], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Replace a scope's burst baselines (one transaction).
    pub fn save_burst_baselines(
        &self,
        scope: &str,
        states: &[(String, String)],
    ) -> Result<(), StoreError> {
        let mut conn = self.work_writer()?;
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO burst_baselines(scope, key, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT(scope, key) DO UPDATE SET state = ?3",
            )?;
            for (k, s) in states {
                put.execute(params![scope, k, s])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{ImportOptions, Prepared, SqliteStore, Store};
    use liaison_policy::{Policy, Role};
    use liaison_stix::StixObject;
    use serde_json::json;

    fn store() -> (SqliteStore, Policy) {
        let policy = Policy::new(["UNCLASSIFIED", "SECRET"], ["GRID"]).unwrap();
        (SqliteStore::open_in_memory(policy.clone()).unwrap(), policy)
    }

    fn task(id: &str, status: &str, level: &str) -> StixObject {
        StixObject::from_value(json!({
            "type": "x-liaison-task", "spec_version": "2.1", "id": id,
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "status": status,
            "extensions": {liaison_stix::LABEL_EXTENSION_ID: {
                "extension_type": "property-extension", "level": level, "owner": "cert"}}
        }))
        .unwrap()
    }

    const OPEN: &str = "x-liaison-task--11111111-1111-4111-8111-111111111111";
    const SECRET: &str = "x-liaison-task--22222222-2222-4222-8222-222222222222";
    const CLOSED: &str = "x-liaison-task--33333333-3333-4333-8333-333333333333";

    #[test]
    fn open_tasks_and_notifications_are_label_filtered() {
        let (s, p) = store();
        let admin = p
            .subject("admin", "cert", "SECRET", ["GRID"], [Role::Admin])
            .unwrap();
        let low = p
            .subject("low", "cert", "UNCLASSIFIED", ["GRID"], [Role::Analyst])
            .unwrap();
        let other = p
            .subject("other", "isac", "SECRET", ["GRID"], [Role::Analyst])
            .unwrap();
        let items = vec![
            task(OPEN, "assigned", "UNCLASSIFIED"),
            task(SECRET, "in_progress", "SECRET"),
            task(CLOSED, "closed", "UNCLASSIFIED"),
        ];
        s.import(
            &admin,
            &mut items.into_iter().map(|o| Ok(Prepared::new(o))),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        let ids = |(v, _): (Vec<(String, liaison_policy::Label, bool)>, i64)| {
            let mut v: Vec<String> = v
                .iter()
                .map(|(j, _, _)| {
                    serde_json::from_str::<serde_json::Value>(j).unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            v.sort();
            v
        };
        let all = s.latest_since(&admin, "x-liaison-task", 0).unwrap();
        let upto = all.1;
        assert_eq!(
            ids(all),
            vec![OPEN.to_string(), SECRET.to_string(), CLOSED.to_string()]
        );
        assert_eq!(
            ids(s.latest_since(&low, "x-liaison-task", 0).unwrap()),
            vec![OPEN.to_string(), CLOSED.to_string()]
        );
        assert!(ids(s.latest_since(&other, "x-liaison-task", 0).unwrap()).is_empty());
        // Nothing new since.
        assert!(ids(s.latest_since(&admin, "x-liaison-task", upto).unwrap()).is_empty());
        // A new version is read again; the old one is not latest any more.
        let mut v2 = task(OPEN, "accepted", "UNCLASSIFIED").into_value();
        v2["modified"] = serde_json::json!("2026-02-01T00:00:00.000Z");
        s.import(
            &admin,
            &mut std::iter::once(Ok(Prepared::new(StixObject::from_value(v2).unwrap()))),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        let (new, _) = s.latest_since(&admin, "x-liaison-task", upto).unwrap();
        assert_eq!(new.len(), 1);
        assert!(new[0].0.contains("accepted"));
        assert!(s
            .latest_since(&other, "x-liaison-task", upto)
            .unwrap()
            .0
            .is_empty());

        // A notification about the SECRET task, addressed to "low" (as if a label
        // had been raised after it was made), is not shown to "low"; "low" cannot
        // mark it read either.
        let label_of = |id: &str| {
            s.get(&admin, id)
                .unwrap()
                .map(|o| o.label)
                .unwrap_or_else(|| liaison_policy::Label::public(Some("cert".into())))
        };
        let note = |who: &str, task: &str| super::NewNotification {
            recipient: who.into(),
            task_id: task.into(),
            label: label_of(task),
            kind: "warn".into(),
            body: json!({"task_id": task}),
        };
        s.record_tick(
            &[(OPEN.into(), 5, 1)],
            &[],
            &[
                note("low", OPEN),
                note("low", SECRET),
                note("admin", SECRET),
            ],
            &[],
            1000,
        )
        .unwrap();
        let mine = s.notifications(&low, false, 100).unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].task_id, OPEN);
        assert_eq!(s.notifications(&admin, false, 100).unwrap().len(), 1);
        assert!(s.notifications(&other, false, 100).unwrap().is_empty());
        assert_eq!(s.mark_notifications_read(&low, None).unwrap(), 1);
        assert!(s.notifications(&low, true, 100).unwrap().is_empty());
        // admin's stays unread: marking is per recipient.
        assert_eq!(s.notifications(&admin, true, 100).unwrap().len(), 1);
        assert_eq!(s.reported_levels().unwrap(), vec![(OPEN.to_string(), 5, 1)]);
        // Levels are replaced, and forgotten per task.
        s.record_tick(&[(OPEN.into(), 5, 2)], &[], &[], &[], 2000)
            .unwrap();
        assert_eq!(s.reported_levels().unwrap(), vec![(OPEN.to_string(), 5, 2)]);
        s.record_tick(&[], &[OPEN.into()], &[], &[], 3000).unwrap();
        assert!(s.reported_levels().unwrap().is_empty());
    }

    #[test]
    fn deliveries_and_baselines() {
        let (s, _) = store();
        s.record_tick(
            &[],
            &[],
            &[],
            &[super::NewDelivery {
                url: "http://127.0.0.1:1/".into(),
                body: "{}".into(),
            }],
            100,
        )
        .unwrap();
        let due = s.due_deliveries(100, 10).unwrap();
        assert_eq!(due.len(), 1);
        s.delivery_attempt(
            due[0].id,
            false,
            Some(500),
            Some("HTTP 500"),
            Some(200),
            100,
        )
        .unwrap();
        assert!(s.due_deliveries(150, 10).unwrap().is_empty());
        assert_eq!(s.due_deliveries(200, 10).unwrap()[0].attempts, 1);
        s.delivery_attempt(due[0].id, true, Some(204), None, None, 200)
            .unwrap();
        let log = s.deliveries(10).unwrap();
        assert_eq!(log[0].state, "delivered");
        assert_eq!(log[0].attempts, 2);
        assert_eq!(log[0].done_ms, Some(200));
        s.save_burst_baselines("cert", &[("term:x".into(), "{\"a\":1}".into())])
            .unwrap();
        s.save_burst_baselines("cert", &[("term:x".into(), "{\"a\":2}".into())])
            .unwrap();
        assert_eq!(
            s.burst_baselines("cert").unwrap(),
            vec![("term:x".to_string(), "{\"a\":2}".to_string())]
        );
        assert!(s.burst_baselines("isac").unwrap().is_empty());
    }
}
