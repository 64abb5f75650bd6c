//! The `docs` columns search filters and counts by (type, label, source, month, and the
//! `multi` mark), kept in memory so that a search page reads only full-text rowids from
//! SQLite and looks each match up here instead of seeking its `docs` row: at 1M objects
//! a common word's page read 10,001 `docs` rows (a B-tree seek each, ~10 ms).
//!
//! Kept right without hooks in every write path, including other processes writing the
//! same file (`liaison import` while `liaison serve` runs), because of how `docs` rows
//! live: a row is written once, with its version's rid, and never changed but for its
//! `multi` mark, which only goes from 0 to 1 (an id stored at a second label); rows are
//! deleted when their version stops being the latest, and so are their full-text rows,
//! so a deleted row kept here is never met by a walk. Rids grow with every write
//! (objects rows are never deleted), so each search, inside its read transaction, loads
//! the rows past the largest rid held, and reloads the `multi` marks when the number of
//! rows marked changed (the partial index `objects_multi` counts them). A rid the walk
//! meets that is not held (none known today: `fix_multi_label_ids` indexes old rids, but
//! only when a version 1 store is opened) is read from `docs` on the spot.

use crate::StoreError;
use rusqlite::Connection;
use std::collections::HashMap;

/// One document's columns (20 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DocRow {
    pub label_id: u32,
    /// `sources` id, 0 for none.
    pub source: u32,
    /// YYYYMM, 0 for none.
    pub month: u32,
    /// Index into [`DocCols::types`].
    /// (u32: types come from input, and 65,536 custom types must not stop search.)
    pub ty: u32,
    pub multi: bool,
}

/// The in-memory copy of `docs`, as of the snapshot that last refreshed it.
#[derive(Debug, Default, Clone)]
pub(crate) struct DocCols {
    /// (rid, row), rids ascending: 32 bytes a document. Together, not in two arrays, so
    /// that a look-up misses the cache once, not twice (look-ups were 18 % of a one-word
    /// page's CPU at 1M objects).
    rows: Vec<(i64, DocRow)>,
    /// Type names, by [`DocRow::ty`].
    pub types: Vec<String>,
    type_ids: HashMap<String, u32>,
    /// `sources` refs by id, and back.
    source_refs: HashMap<u32, String>,
    source_ids: HashMap<String, u32>,
    max_source: i64,
    /// How many objects rows were marked `multi` when the marks were last read.
    multi_rows: i64,
}

/// What a snapshot holds, read in one statement: the largest `docs` rid, the number of
/// rows marked `multi`, the largest `sources` id.
pub(crate) type Extent = (i64, i64, i64);

/// The [`Extent`] of the snapshot `conn` reads: three index look-ups.
pub(crate) fn extent(conn: &Connection) -> Result<Extent, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT coalesce(max(rid), 0) FROM docs),
                    (SELECT count(*) FROM objects WHERE multi = 1),
                    (SELECT coalesce(max(id), 0) FROM sources)",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
}

fn small<T: TryFrom<i64>>(v: i64, what: &str) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("docs: {what} {v} out of range")))
}

impl DocCols {
    /// Whether this copy already holds what a snapshot of `extent` holds.
    pub fn covers(&self, extent: Extent) -> bool {
        let (max_rid, multi, max_source) = extent;
        self.rows.last().map_or(0, |e| e.0) >= max_rid
            && self.multi_rows >= multi
            && self.max_source >= max_source
    }

    /// Bring this copy up to the snapshot `conn` reads (in a transaction, the one the
    /// search then walks in). Never goes back: a copy newer than the snapshot is right
    /// for it too (see the module documentation).
    pub fn refresh(&mut self, conn: &Connection, extent: Extent) -> Result<(), StoreError> {
        let (max_rid, multi, max_source) = extent;
        if max_source > self.max_source {
            let mut stmt = conn.prepare_cached("SELECT id, ref FROM sources WHERE id > ?1")?;
            let mut rows = stmt.query([self.max_source])?;
            while let Some(r) = rows.next()? {
                let id: u32 = small(r.get(0)?, "source id")?;
                let s: String = r.get(1)?;
                self.source_ids.insert(s.clone(), id);
                self.source_refs.insert(id, s);
            }
            self.max_source = max_source;
        }
        let held = self.rows.last().map_or(0, |e| e.0);
        if max_rid > held {
            let mut stmt = conn.prepare_cached(
                "SELECT rid, type, label_id, multi, source, month FROM docs WHERE rid > ?1 ORDER BY rid",
            )?;
            // Room for exactly the rows to come: growing by doubling would leave a
            // million-row copy at up to twice the 24 MB it needs.
            let more: i64 = conn
                .prepare_cached("SELECT count(*) FROM docs WHERE rid > ?1")?
                .query_row([held], |r| r.get(0))?;
            self.rows.reserve_exact(usize::try_from(more).unwrap_or(0));
            let mut rows = stmt.query([held])?;
            while let Some(r) = rows.next()? {
                let rid: i64 = r.get(0)?;
                let ty = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
                let row = self.row_from(ty, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)?;
                self.rows.push((rid, row));
            }
        }
        if multi > self.multi_rows {
            let mut stmt = conn.prepare_cached("SELECT rid FROM objects WHERE multi = 1")?;
            let mut rows = stmt.query([])?;
            let mut n = 0;
            while let Some(r) = rows.next()? {
                n += 1;
                let rid: i64 = r.get(0)?;
                if let Ok(i) = self.rows.binary_search_by_key(&rid, |e| e.0) {
                    self.rows[i].1.multi = true;
                }
            }
            self.multi_rows = n;
        }
        Ok(())
    }

    fn row_from(
        &mut self,
        ty: &str,
        label_id: i64,
        multi: i64,
        source: Option<i64>,
        month: Option<i64>,
    ) -> Result<DocRow, StoreError> {
        let ty = match self.type_ids.get(ty) {
            Some(t) => *t,
            None => {
                let t: u32 = small(self.types.len() as i64, "type count")?;
                self.types.push(ty.to_string());
                self.type_ids.insert(ty.to_string(), t);
                t
            }
        };
        Ok(DocRow {
            label_id: small(label_id, "label id")?,
            source: small(source.unwrap_or(0), "source id")?,
            month: small(month.unwrap_or(0), "month")?,
            ty,
            multi: multi == 1,
        })
    }

    /// The row of `rid` and its position, looked for below `upto` only (a walk newest
    /// first narrows the range as it goes); when not held, where it would be.
    ///
    /// Rids are distinct integers, so the row of `rid` is at most `rid - the first rid` places
    /// in: with few gaps (superseded versions) it is at or just below that place. A
    /// search downwards from there, by doubling steps, then a binary search, touches a
    /// few neighbouring entries where a binary search over a million would miss the
    /// cache some twenty times (~0.5 µs a look-up, measured).
    pub fn find(&self, rid: i64, upto: usize) -> Result<(usize, DocRow), usize> {
        let upto = upto.min(self.rows.len());
        let Some(&(first, _)) = self.rows.first() else {
            return Err(0);
        };
        if upto == 0 || rid < first {
            return Err(0);
        }
        let bound = usize::try_from(rid - first).unwrap_or(usize::MAX);
        let mut hi = bound.min(upto - 1);
        if self.rows[hi].0 < rid {
            return Err(hi + 1);
        }
        // rows[hi].0 >= rid: step down until an entry <= rid.
        let mut step = 1;
        let lo = loop {
            if self.rows[hi].0 == rid {
                return Ok((hi, self.rows[hi].1));
            }
            let next = hi.saturating_sub(step);
            if self.rows[next].0 <= rid {
                break next;
            }
            if next == 0 {
                return Err(0);
            }
            hi = next;
            step *= 2;
        };
        match self.rows[lo..hi].binary_search_by_key(&rid, |e| e.0) {
            Ok(i) => Ok((lo + i, self.rows[lo + i].1)),
            Err(i) => Err(lo + i),
        }
    }

    /// How many rows are held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The `sources` id of a creator ref, if any document has it.
    pub fn source_id(&self, r: &str) -> Option<u32> {
        self.source_ids.get(r).copied()
    }

    /// The creator ref of a `sources` id.
    pub fn source_ref(&self, id: u32) -> Option<&str> {
        self.source_refs.get(&id).map(String::as_str)
    }

    /// A row not held (see the module documentation), read from `docs`; its type is
    /// interned in `extra_types` (after [`DocCols::types`]), not here.
    pub fn read_one(
        &self,
        conn: &Connection,
        rid: i64,
        extra_types: &mut Vec<String>,
    ) -> Result<Option<DocRow>, StoreError> {
        use rusqlite::OptionalExtension;
        let found = conn
            .prepare_cached("SELECT type, label_id, multi, source, month FROM docs WHERE rid = ?1")?
            .query_row([rid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            })
            .optional()?;
        let Some((ty, label_id, multi, source, month)) = found else {
            return Ok(None);
        };
        let ty = match self.type_ids.get(&ty) {
            Some(t) => *t,
            None => match extra_types.iter().position(|t| *t == ty) {
                Some(i) => small((self.types.len() + i) as i64, "type count")?,
                None => {
                    extra_types.push(ty);
                    small(
                        (self.types.len() + extra_types.len() - 1) as i64,
                        "type count",
                    )?
                }
            },
        };
        Ok(Some(DocRow {
            label_id: small(label_id, "label id")?,
            source: small(source.unwrap_or(0), "source id")?,
            month: small(month.unwrap_or(0), "month")?,
            ty,
            multi: multi == 1,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Types come from input: more distinct ones than a u16 holds are still held.
    #[test]
    fn seventy_thousand_types_are_held() {
        let mut cols = DocCols::default();
        for i in 0..70_000 {
            let row = cols
                .row_from(&format!("x-t{i}"), 1, 0, None, Some(202611))
                .unwrap();
            assert_eq!(cols.types[row.ty as usize], format!("x-t{i}"));
        }
    }

    /// `find` answers what a binary search over every rid answers, for rids with gaps
    /// of every size, any `upto`, and rids held or not.
    #[test]
    fn find_agrees_with_binary_search() {
        let mut cols = DocCols::default();
        let mut rid = 5i64;
        let mut x = 7u64;
        for _ in 0..5_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Mostly dense, sometimes a gap of up to a few thousand.
            rid += if x >> 60 == 0 {
                1 + (x >> 20) as i64 % 4_000
            } else {
                1 + (x >> 40) as i64 % 3
            };
            cols.rows.push((
                rid,
                DocRow {
                    label_id: (rid % 7) as u32,
                    source: 0,
                    month: 0,
                    ty: 0,
                    multi: false,
                },
            ));
        }
        let last = rid;
        let mut checked = 0;
        for probe in (0..last + 10).step_by(3) {
            for upto in [usize::MAX, 0, 1, 2_500, 4_999, 5_000] {
                let n = upto.min(cols.rows.len());
                let want = cols.rows[..n]
                    .binary_search_by_key(&probe, |e| e.0)
                    .map(|i| (i, cols.rows[i].1));
                assert_eq!(cols.find(probe, upto), want, "rid {probe} upto {upto}");
                checked += 1;
            }
        }
        assert!(checked > 10_000);
        assert_eq!(DocCols::default().find(3, usize::MAX), Err(0));
    }
}
