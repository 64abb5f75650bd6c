//! The newest readable objects of some types, for dashboards ("recent intelligence").

use super::{shadowed_latest, text_array, SqliteStore};
use crate::{StoreError, StoredObject};
use rusqlite::params;

impl SqliteStore {
    /// The `limit` most recently added objects of `types` (latest, unrevoked versions)
    /// that `subject` may read, newest first. Label-filtered in SQL like every read, and
    /// bounded by `limit`, so it costs about the same in a million objects as in a
    /// thousand (an export of the same types would read all of them).
    pub fn recent(
        &self,
        subject: &liaison_policy::Subject,
        types: &[&str],
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        self.recent_in(subject, types, limit, NEWEST_WINDOW)
    }

    fn recent_in(
        &self,
        subject: &liaison_policy::Subject,
        types: &[&str],
        limit: usize,
        window: i64,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let readable = self.readable(subject);
        let types = text_array(types.iter());
        let limit = limit.clamp(1, 1000);
        let visible = format!(
            "o.latest = 1 AND o.revoked = 0 AND (o.multi = 0 OR NOT {})",
            shadowed_latest("o", "?1")
        );
        self.with_reader(|conn| {
            // First the newest rows of the store, newest first: for most readers the
            // page is found within them.
            let mut rids: Vec<i64> = {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT o.rid FROM objects o
                     WHERE o.rid > (SELECT max(rid) FROM objects) - ?4 AND +o.type IN rarray(?2)
                       AND o.label_id IN rarray(?1) AND {visible}
                     ORDER BY o.rid DESC LIMIT ?3"
                ))?;
                let rows = stmt.query_map(
                    params![readable, types, limit as i64, window],
                    |r| r.get(0),
                )?;
                rows.collect::<Result<_, _>>()?
            };
            if rids.len() < limit {
                // Otherwise each (type, label) range of the type index, read backwards
                // for at most a page: the cost is bounded by the labels, not the objects.
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT o.rid FROM objects o WHERE o.type = ?2 AND o.label_id = ?5 AND {visible}
                     ORDER BY o.rid DESC LIMIT ?3"
                ))?;
                rids.clear();
                for t in types.iter() {
                    for l in readable.iter() {
                        let rows = stmt.query_map(
                            params![readable, t, limit as i64, window, l],
                            |r| r.get::<_, i64>(0),
                        )?;
                        for r in rows {
                            rids.push(r?);
                        }
                    }
                }
                rids.sort_unstable_by(|a, b| b.cmp(a));
                rids.dedup();
                rids.truncate(limit);
            }
            let mut stmt = conn.prepare_cached(
                "SELECT b.json, o.label_id, o.added FROM objects o JOIN bodies b ON b.rid = o.rid WHERE o.rid = ?1",
            )?;
            let mut out = Vec::with_capacity(rids.len());
            for rid in rids {
                let (j, l, a): (String, i64, i64) =
                    stmt.query_row(params![rid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                out.push(self.stored_from_row(&j, l, a, true)?);
            }
            Ok(out)
        })
    }
}

/// How many of the newest rows the first, cheap pass of [`SqliteStore::recent`] reads.
const NEWEST_WINDOW: i64 = 5_000;

#[cfg(test)]
mod tests {
    use crate::{ImportOptions, SqliteStore, Store};
    use liaison_policy::{Policy, Role};
    use liaison_stix::StixObject;

    fn report(n: u32, level: &str) -> StixObject {
        StixObject::from_json(&format!(
            r#"{{"type":"report","spec_version":"2.1","id":"report--00000000-0000-4000-8000-{n:012}",
            "created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"r{n}",
            "published":"2026-01-01T00:00:00.000Z","object_refs":["identity--00000000-0000-4000-8000-000000000001"],
            "extensions":{{"extension-definition--5b3c8a34-6a8e-4b64-9a43-1f2d0c6e7a11":
              {{"extension_type":"property-extension","level":"{level}","releasable_to":["*"]}}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn newest_readable_first_and_nothing_unreadable() {
        let policy = Policy::new(["UNCLASSIFIED", "SECRET"], ["GRID"]).unwrap();
        let store = SqliteStore::open_in_memory(policy.clone()).unwrap();
        let admin = policy
            .subject("admin", "cert", "SECRET", ["GRID"], [Role::Admin])
            .unwrap();
        let low = policy
            .subject(
                "low",
                "cert",
                "UNCLASSIFIED",
                Vec::<String>::new(),
                [Role::Reader],
            )
            .unwrap();
        for (n, level) in [
            (1, "UNCLASSIFIED"),
            (2, "SECRET"),
            (3, "UNCLASSIFIED"),
            (4, "SECRET"),
        ] {
            store
                .import(
                    &admin,
                    &mut std::iter::once(Ok(report(n, level).into())),
                    &ImportOptions::default(),
                    &mut |_| {},
                )
                .unwrap();
        }
        let names = |v: Vec<crate::StoredObject>| -> Vec<String> {
            v.iter()
                .map(|o| o.object.name().unwrap_or_default().to_string())
                .collect()
        };
        assert_eq!(
            names(store.recent(&admin, &["report"], 3).unwrap()),
            ["r4", "r3", "r2"]
        );
        assert_eq!(
            names(store.recent(&low, &["report"], 10).unwrap()),
            ["r3", "r1"],
            "a subject without clearance sees no SECRET report"
        );
        assert!(store.recent(&admin, &["malware"], 10).unwrap().is_empty());
        // The second pass (per type and label) answers the same when the newest rows
        // do not hold a page.
        assert_eq!(
            names(store.recent_in(&low, &["report"], 10, 1).unwrap()),
            ["r3", "r1"]
        );
        assert_eq!(
            names(store.recent_in(&admin, &["report"], 3, 1).unwrap()),
            ["r4", "r3", "r2"]
        );
    }
}
