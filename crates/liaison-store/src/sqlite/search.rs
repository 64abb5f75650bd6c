//! Search pages. The path used walks the full-text rowids of a query once, newest first,
//! and looks each match up in the in-memory `docs` columns ([`super::doccols`]): the
//! label rule, the facet filters, the counts and the facets are applied in Rust to those
//! columns, so a page reads no `docs` row per match. The reference path (three walks in
//! SQL, filtering and counting on the `docs` rows) is kept to check it against.

use super::doccols::{self, DocCols, DocRow};
use super::*;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::sync::Arc;

/// The facet filters of a search as SQL on the `docs` row `d`, with their parameters.
struct FilterSql<'f> {
    filter: &'f SearchFilter,
    params: Vec<Box<dyn rusqlite::ToSql>>,
}

impl<'f> FilterSql<'f> {
    fn new(
        store: &SqliteStore,
        subject: &liaison_policy::Subject,
        filter: &'f SearchFilter,
    ) -> Self {
        // The label filter is a second set of label ids, narrowed from the readable ones:
        // the statement's readable set stays whole, as it decides which version is
        // "latest" for this subject.
        let mut params: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if !filter.labels.is_empty() {
            let chosen: Vec<SqlValue> = store
                .chosen_labels(subject, filter)
                .into_iter()
                .map(SqlValue::Integer)
                .collect();
            params.push(Box::new(Rc::new(chosen)));
        }
        if !filter.sources.is_empty() {
            params.push(Box::new(text_array(filter.sources.iter())));
        }
        if by_time(filter) {
            params.push(Box::new(filter.modified_from.clone()));
            params.push(Box::new(filter.modified_before.clone()));
        }
        FilterSql { filter, params }
    }

    /// The conditions, numbering their parameters from `first` (after a statement's own).
    fn sql(&self, first: usize) -> String {
        let mut n = first;
        let mut sql = String::new();
        if !self.filter.labels.is_empty() {
            sql.push_str(&format!(" AND d.label_id IN rarray(?{n})"));
            n += 1;
        }
        if !self.filter.sources.is_empty() {
            sql.push_str(&format!(
                " AND d.source IN (SELECT id FROM sources WHERE ref IN rarray(?{n}))"
            ));
            n += 1;
        }
        if by_time(self.filter) {
            // Filters are timestamps or prefixes of one (not whole months): they compare
            // with the object's own `modified`, read only when filtering.
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM objects t WHERE t.rid = d.rid AND {})",
                time_condition("t", n)
            ));
        }
        sql
    }

    /// A statement's own parameters followed by the filters'.
    fn with<'a>(&'a self, own: Vec<&'a dyn rusqlite::ToSql>) -> Vec<&'a dyn rusqlite::ToSql> {
        own.into_iter()
            .chain(self.params.iter().map(|b| b.as_ref()))
            .collect()
    }
}

fn by_time(filter: &SearchFilter) -> bool {
    filter.modified_from.is_some() || filter.modified_before.is_some()
}

/// SQL: `o.modified` within the filter's range, its bounds parameters `n` and `n + 1`.
fn time_condition(o: &str, n: usize) -> String {
    format!(
        "(?{n} IS NULL OR {o}.modified >= ?{n}) AND (?{m} IS NULL OR {o}.modified < ?{m})",
        m = n + 1
    )
}

/// The page size a query asks for (20 by default, 10,000 at most).
fn page_limit(query: &SearchQuery) -> usize {
    if query.limit == 0 {
        20
    } else {
        query.limit.min(10_000)
    }
}

/// Label ids as a lookup table by id.
fn id_mask(ids: impl IntoIterator<Item = i64>) -> Vec<bool> {
    let mut mask = Vec::new();
    for id in ids {
        if let Ok(i) = usize::try_from(id) {
            if i >= mask.len() {
                mask.resize(i + 1, false);
            }
            mask[i] = true;
        }
    }
    mask
}

/// BM25 order: best (lowest) first; equal scores newest first.
fn by_rank(a: &(f64, i64), b: &(f64, i64)) -> Ordering {
    a.0.partial_cmp(&b.0)
        .unwrap_or(Ordering::Equal)
        .then_with(|| b.1.cmp(&a.1))
}

/// The read rule and the label, source and type filters of a search, on a match's
/// in-memory columns: what the reference path's SQL conditions say on its `docs` row.
#[derive(Clone)]
struct Admission {
    /// By label id: readable by the subject.
    readable: Vec<bool>,
    /// By label id: picked by the label filter, when there is one.
    chosen: Option<Vec<bool>>,
    /// `sources` ids picked by the source filter, when there is one.
    sources: Option<HashSet<u32>>,
    /// By [`DocRow::ty`]: of the query's types.
    types: Vec<bool>,
}

impl Admission {
    /// The read rule and the label and source filters.
    fn admits(&self, row: &DocRow) -> bool {
        let label = row.label_id as usize;
        self.readable.get(label).copied().unwrap_or(false)
            && self
                .chosen
                .as_ref()
                .is_none_or(|c| c.get(label).copied().unwrap_or(false))
            && self
                .sources
                .as_ref()
                .is_none_or(|s| s.contains(&row.source))
    }

    /// Of the query's types (a type these columns do not know: left to the caller).
    fn wanted(&self, ty: u32) -> bool {
        self.types.get(ty as usize).copied().unwrap_or(true)
    }
}

/// What the SQL functions of a search walk consult, set on the thread running the
/// search for its duration (SQLite calls a statement's functions on the thread stepping it).
struct WalkCtx {
    cols: Arc<DocCols>,
    admit: Admission,
    /// The name matches, which the walk of every match does not rank again.
    names: HashSet<i64>,
    /// Set by the walk between rows: the next row of the page's kind is a page row.
    score_next: bool,
    /// The last row `liaison_doc` let through, for the walk to take without a look-up.
    last: Option<(i64, DocRow)>,
    /// In a walk newest first, where the last row was found: the next is below.
    upto: Option<usize>,
}

impl WalkCtx {
    /// `liaison_doc(rowid, typed)`: whether a match may leave SQLite. A row not held in
    /// the columns passes, and the walk reads and checks it itself.
    fn admit(&mut self, rid: i64, typed: bool) -> bool {
        self.last = None;
        match self.cols.find(rid, self.upto.unwrap_or(usize::MAX)) {
            Ok((at, row)) => {
                if let Some(upto) = self.upto.as_mut() {
                    *upto = at;
                }
                if !self.admit.admits(&row) || (typed && !self.admit.wanted(row.ty)) {
                    return false;
                }
                self.last = Some((rid, row));
                true
            }
            Err(at) => {
                if let Some(upto) = self.upto.as_mut() {
                    *upto = at;
                }
                true
            }
        }
    }

    /// `liaison_page_row(rowid)`: whether to rank this row (it may be on the page).
    fn page_row(&self, rid: i64) -> bool {
        self.score_next
            && matches!(self.last, Some((r, row)) if r == rid && self.admit.wanted(row.ty))
            && !self.names.contains(&rid)
    }
}

thread_local! {
    static WALK: RefCell<Option<WalkCtx>> = const { RefCell::new(None) };
}

/// Clears the thread's walk context when a search ends, however it ends.
struct WalkGuard;

impl Drop for WalkGuard {
    fn drop(&mut self) {
        WALK.with(|w| w.borrow_mut().take());
    }
}

/// Registers the SQL functions of the search walk on a connection. Neither is
/// deterministic, so SQLite calls them once per row, after the conditions left of them.
pub(super) fn register_search_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function("liaison_doc", 2, FunctionFlags::SQLITE_UTF8, |ctx| {
        let rid: i64 = ctx.get(0)?;
        let typed: bool = ctx.get(1)?;
        Ok(WALK.with(|w| match w.borrow_mut().as_mut() {
            Some(walk) => walk.admit(rid, typed),
            // No walk on this thread: let every row through (the caller checks).
            None => true,
        }))
    })?;
    conn.create_scalar_function("liaison_page_row", 1, FunctionFlags::SQLITE_UTF8, |ctx| {
        let rid: i64 = ctx.get(0)?;
        Ok(WALK.with(|w| w.borrow().as_ref().is_some_and(|walk| walk.page_row(rid))))
    })
}

impl SqliteStore {
    /// One search page. `reference` takes the former path (three full-text walks in SQL:
    /// the counts, the name matches, the other matches), kept to check the one used against.
    pub(super) fn search_page(
        &self,
        subject: &liaison_policy::Subject,
        query: &SearchQuery,
        filter: &SearchFilter,
        reference: bool,
    ) -> Result<SearchResults, StoreError> {
        if reference {
            self.search_page_reference(subject, query, filter)
        } else {
            self.search_page_walk(subject, query, filter)
        }
    }

    /// Load the in-memory search columns now. A server calls it as it starts, so that the
    /// first search after a start does not wait for them (0.2–0.5 s at 1M objects).
    pub fn warm_search(&self) -> Result<(), StoreError> {
        self.with_reader(|conn| {
            let tx = conn.unchecked_transaction()?;
            self.doc_cols(&tx)?;
            Ok(())
        })
    }

    /// The readable label ids whose banner the filter picked.
    fn chosen_labels(&self, subject: &liaison_policy::Subject, filter: &SearchFilter) -> Vec<i64> {
        self.readable_labels(subject)
            .into_iter()
            .filter(|(_, l)| filter.labels.contains(&self.policy.banner(l)))
            .map(|(id, _)| id)
            .collect()
    }

    /// The in-memory `docs` columns, brought up to the snapshot `conn` reads.
    fn doc_cols(&self, conn: &Connection) -> Result<Arc<DocCols>, StoreError> {
        let poisoned = || StoreError::Corrupt("lock poisoned".into());
        let extent = doccols::extent(conn)?;
        {
            let cols = self.doc_cols.read().map_err(|_| poisoned())?;
            if cols.covers(extent) {
                return Ok(cols.clone());
            }
        }
        let mut cols = self.doc_cols.write().map_err(|_| poisoned())?;
        // In place unless a search still holds the copy (then it is cloned).
        Arc::make_mut(&mut cols).refresh(conn, extent)?;
        Ok(cols.clone())
    }

    /// The page from one walk of the query's full-text rowids, newest first, up to the
    /// count cap: each match's type, label, source, month and `multi` mark come from
    /// [`DocCols`], where the SQL function `liaison_doc` applies the read rule and the
    /// label and source filters before a row leaves SQLite (a `multi` row's shadowing
    /// and a time filter still ask SQLite, per row that reaches them). The name matches
    /// keep a walk of their own (BM25 over the name columns); in the walk of every
    /// match, BM25 is computed for the page's rows only (`liaison_page_row`).
    fn search_page_walk(
        &self,
        subject: &liaison_policy::Subject,
        query: &SearchQuery,
        filter: &SearchFilter,
    ) -> Result<SearchResults, StoreError> {
        let Some(q) = fts_query(&query.text) else {
            return Ok(SearchResults::default());
        };
        let readable_ids = self.readable_ids(subject);
        let readable: Rc<Vec<SqlValue>> =
            Rc::new(readable_ids.iter().map(|&i| SqlValue::Integer(i)).collect());
        let by_time = by_time(filter);
        let any_type = query.types.is_empty();
        let limit = page_limit(query);
        let want = query.offset + limit;
        let name_q = format!("{{name aliases}} : ({q})");
        self.with_reader(|conn| {
            // One snapshot for the columns' refresh, both walks and the page's rows.
            let tx = conn.unchecked_transaction()?;
            let cols = self.doc_cols(&tx)?;
            let admit = Admission {
                readable: id_mask(readable_ids.iter().copied()),
                chosen: (!filter.labels.is_empty())
                    .then(|| id_mask(self.chosen_labels(subject, filter))),
                sources: (!filter.sources.is_empty())
                    .then(|| filter.sources.iter().filter_map(|s| cols.source_id(s)).collect()),
                types: cols.types.iter().map(|t| any_type || query.types.contains(t)).collect(),
            };
            WALK.with(|w| {
                *w.borrow_mut() = Some(WalkCtx {
                    cols: cols.clone(),
                    admit: admit.clone(),
                    names: HashSet::new(),
                    score_next: false,
                    last: None,
                    upto: None,
                })
            });
            let _clear = WalkGuard;
            // Rows not held in `cols` (see `doccols`) are read here; their types follow
            // `cols.types` in this list.
            let mut extra_types: Vec<String> = Vec::new();
            let wanted = |ty: u32, extra: &[String]| match admit.types.get(ty as usize) {
                Some(w) => *w,
                None => any_type || extra.get(ty as usize - admit.types.len()).is_some_and(|t| query.types.contains(t)),
            };
            // A match's row: the one `liaison_doc` let through for it, else looked up
            // and checked against the read rule and the label and source filters here.
            let row_of = |rid: i64, extra: &mut Vec<String>| -> Result<Option<DocRow>, StoreError> {
                let vouched = WALK.with(|w| {
                    w.borrow_mut().as_mut().and_then(|walk| walk.last.take()).filter(|(r, _)| *r == rid)
                });
                if let Some((_, row)) = vouched {
                    return Ok(Some(row));
                }
                let row = match cols.find(rid, usize::MAX) {
                    Ok((_, row)) => row,
                    Err(_) => match cols.read_one(&tx, rid, extra)? {
                        Some(row) => row,
                        None => return Ok(None),
                    },
                };
                Ok(admit.admits(&row).then_some(row))
            };
            let mut shadow = tx.prepare_cached(&format!(
                "SELECT {} FROM objects w WHERE w.rid = ?1",
                shadowed_latest("w", "?2")
            ))?;
            let mut in_time = tx.prepare_cached(&format!(
                "SELECT {} FROM objects t WHERE t.rid = ?1",
                time_condition("t", 2)
            ))?;
            // What SQLite still decides for a row that passed the rest: a `multi` row's
            // shadowing (a later version of its id this subject reads) and the time filter.
            let mut rest = |rid: i64, row: &DocRow| -> Result<bool, StoreError> {
                if row.multi {
                    let hidden: Option<bool> = shadow
                        .query_row(params![rid, readable.clone()], |r| r.get(0))
                        .optional()?;
                    if hidden == Some(true) {
                        return Ok(false);
                    }
                }
                if by_time {
                    let within: Option<Option<bool>> = in_time
                        .query_row(params![rid, filter.modified_from, filter.modified_before], |r| r.get(0))
                        .optional()?;
                    if within.flatten() != Some(true) {
                        return Ok(false);
                    }
                }
                Ok(true)
            };

            // Name matches of the query's types, ranked by BM25 (best first, then
            // newest), the first `want`.
            let mut named: Vec<(f64, i64)> = Vec::new();
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT rowid, bm25(fts, 10.0, 5.0, 1.0) FROM fts WHERE fts MATCH ?1 AND liaison_doc(rowid, 1)",
                )?;
                let mut rows = stmt.query([&name_q])?;
                while let Some(r) = rows.next()? {
                    let rid: i64 = r.get(0)?;
                    let Some(row) = row_of(rid, &mut extra_types)? else {
                        continue;
                    };
                    if wanted(row.ty, &extra_types) && rest(rid, &row)? {
                        named.push((r.get(1)?, rid));
                    }
                }
            }
            if named.len() > want {
                named.select_nth_unstable_by(want, by_rank);
                named.truncate(want);
            }
            named.sort_unstable_by(by_rank);
            let name_hits = named.len();
            let name_set: HashSet<i64> = named.iter().map(|&(_, rid)| rid).collect();
            let mut page_rows: Vec<(i64, Option<f64>)> = named
                .iter()
                .skip(query.offset)
                .map(|&(score, rid)| (rid, Some(score)))
                .collect();
            // The page's other matches: after the name matches, newest first, `skip`
            // of them skipped.
            let skip = query.offset.saturating_sub(name_hits);
            let page = limit.saturating_sub(page_rows.len());
            let mut others: Vec<(i64, Option<f64>)> = Vec::new();
            let mut eligible = 0usize;
            WALK.with(|w| {
                if let Some(walk) = w.borrow_mut().as_mut() {
                    walk.names = name_set.clone();
                    walk.upto = Some(cols.len());
                    walk.score_next = !filter.unscored && page > 0 && skip == 0;
                }
            });

            // Every readable, filtered match (any type), newest first, up to the cap + 1.
            let mut set: Vec<(i64, DocRow)> = Vec::new();
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT rowid, CASE WHEN liaison_page_row(rowid) THEN bm25(fts, 10.0, 5.0, 1.0) END
                     FROM fts WHERE fts MATCH ?1 AND liaison_doc(rowid, 0) ORDER BY rowid DESC",
                )?;
                let mut rows = stmt.query([&q])?;
                while let Some(r) = rows.next()? {
                    let rid: i64 = r.get(0)?;
                    let Some(row) = row_of(rid, &mut extra_types)? else {
                        continue;
                    };
                    if !rest(rid, &row)? {
                        continue;
                    }
                    if wanted(row.ty, &extra_types) && !name_set.contains(&rid) {
                        if eligible >= skip && others.len() < page {
                            let score = match filter.unscored {
                                true => Some(0.0),
                                false => r.get::<_, Option<f64>>(1)?,
                            };
                            others.push((rid, score));
                        }
                        eligible += 1;
                        WALK.with(|w| {
                            if let Some(walk) = w.borrow_mut().as_mut() {
                                walk.score_next =
                                    !filter.unscored && eligible >= skip && others.len() < page;
                            }
                        });
                    }
                    set.push((rid, row));
                    if set.len() as i64 > TOTAL_CAP {
                        break;
                    }
                }
            }
            let capped = set.len() as i64 > TOTAL_CAP;
            let mut by_type: Vec<u64> = vec![0; cols.types.len() + extra_types.len()];
            let mut total = 0u64;
            let mut labels: HashMap<u32, u64> = HashMap::new();
            let mut sources: HashMap<u32, u64> = HashMap::new();
            let mut months: BTreeMap<u32, u64> = BTreeMap::new();
            for (_, row) in &set {
                by_type[row.ty as usize] += 1;
                if wanted(row.ty, &extra_types) {
                    total += 1;
                    if filter.facets {
                        *labels.entry(row.label_id).or_default() += 1;
                        if row.source != 0 {
                            *sources.entry(row.source).or_default() += 1;
                        }
                        if row.month != 0 {
                            *months.entry(row.month).or_default() += 1;
                        }
                    }
                }
            }
            let type_name = |ty: usize| -> &str {
                match cols.types.get(ty) {
                    Some(t) => t,
                    None => &extra_types[ty - cols.types.len()],
                }
            };
            let facets: BTreeMap<String, u64> = by_type
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(ty, c)| (type_name(ty).to_string(), *c))
                .collect();
            let mut label_facets: BTreeMap<String, u64> = BTreeMap::new();
            for (id, c) in labels {
                *label_facets
                    .entry(self.policy.banner(&self.label_by_id(id.into())?))
                    .or_default() += c;
            }
            let mut by_source: Vec<(String, u64)> = Vec::with_capacity(sources.len());
            for (id, c) in sources {
                let r = match cols.source_ref(id) {
                    Some(r) => r.to_string(),
                    None => tx
                        .prepare_cached("SELECT ref FROM sources WHERE id = ?1")?
                        .query_row([id], |r| r.get(0))?,
                };
                by_source.push((r, c));
            }
            by_source.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            by_source.truncate(SOURCE_FACETS);
            let time_facets: BTreeMap<String, u64> = months
                .into_iter()
                .map(|(mo, c)| (format!("{:04}-{:02}", mo / 100, mo % 100), c))
                .collect();

            // The walk holds the page's other matches when it met every match, or at
            // least the page's (every match past the cap is older than those it met).
            // Otherwise the name matches stay and the statement below gives the rest.
            let mut fallback = capped && others.len() < page;
            if !fallback {
                page_rows.extend(others);
            }
            let mut hits = Vec::with_capacity(page_rows.len());
            let mut obj = tx.prepare_cached("SELECT id, type, name FROM objects WHERE rid = ?1")?;
            for (rid, score) in page_rows {
                let Some(score) = score else {
                    // A page row the walk did not rank (one `liaison_doc` did not vouch
                    // for): the statement below gives the page's other rows with theirs.
                    fallback = true;
                    break;
                };
                if let Some(h) = obj
                    .query_row([rid], |r| {
                        Ok(SearchHit {
                            id: r.get(0)?,
                            r#type: r.get(1)?,
                            name: r.get(2)?,
                            score: 0.0 - score,
                        })
                    })
                    .optional()?
                {
                    hits.push(h);
                }
            }
            if fallback {
                hits.truncate(name_hits.saturating_sub(query.offset));
                let names: Vec<i64> = named.iter().map(|&(_, rid)| rid).collect();
                hits.extend(self.other_matches(&tx, subject, query, filter, &q, &readable, names, name_hits)?);
            }
            Ok(SearchResults {
                hits,
                total,
                facets,
                label_facets,
                source_facets: by_source.into_iter().collect(),
                time_facets,
                capped,
            })
        })
    }

    /// The page's matches outside the name matches (`names`, every one of them: fewer
    /// than the page reaches), newest first, from a full-text walk of their own.
    #[allow(clippy::too_many_arguments)]
    fn other_matches(
        &self,
        conn: &Connection,
        subject: &liaison_policy::Subject,
        query: &SearchQuery,
        filter: &SearchFilter,
        q: &str,
        readable: &Rc<Vec<SqlValue>>,
        names: Vec<i64>,
        name_hits: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let limit = page_limit(query);
        let shown = name_hits.saturating_sub(query.offset).min(limit);
        let skip = query.offset.saturating_sub(name_hits) as i64;
        let page = (limit - shown) as i64;
        let types = text_array(query.types.iter());
        let any_type = query.types.is_empty();
        let extra = FilterSql::new(self, subject, filter);
        // For several words, excluding the name matches by rowid saves an FTS evaluation
        // of the query (`q NOT {name aliases}: q` walks the AND of prefix terms twice:
        // ~12 ms of ~70 for two common words at 1M objects). One term is cheap to walk,
        // and the FTS NOT drops the name matches before their `docs` rows are read,
        // which the rowid test cannot.
        let several_terms = q.contains(" AND ");
        let body_q = format!("({q}) NOT {{name aliases}} : ({q})");
        let (body_match, names) = if several_terms {
            (
                q,
                Rc::new(names.into_iter().map(SqlValue::Integer).collect::<Vec<_>>()),
            )
        } else {
            (body_q.as_str(), Rc::new(Vec::new()))
        };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT o.id, o.type, o.name, r.score FROM (
                 SELECT fts.rowid AS rid, {} AS score
                 FROM fts JOIN docs d ON d.rid = fts.rowid
                 WHERE fts MATCH ?1 AND fts.rowid NOT IN rarray(?7)
                   AND d.label_id IN rarray(?2) AND (?3 OR d.type IN rarray(?4))
                   AND (d.multi = 0 OR NOT EXISTS (SELECT 1 FROM objects w WHERE w.rid = d.rid AND {}))
                   {}
                 ORDER BY fts.rowid DESC LIMIT ?5 OFFSET ?6
             ) r JOIN objects o ON o.rid = r.rid",
            if filter.unscored {
                "0.0"
            } else {
                "bm25(fts, 10.0, 5.0, 1.0)"
            },
            shadowed_latest("w", "?2"),
            extra.sql(8)
        ))?;
        let ps = extra.with(vec![
            &body_match,
            readable,
            &any_type,
            &types,
            &page,
            &skip,
            &names,
        ]);
        let rows = stmt.query_map(&ps[..], hit)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The former path: counts and facets, the name matches, the other matches, each
    /// a full-text walk in SQL over the `docs` rows.
    fn search_page_reference(
        &self,
        subject: &liaison_policy::Subject,
        query: &SearchQuery,
        filter: &SearchFilter,
    ) -> Result<SearchResults, StoreError> {
        let Some(q) = fts_query(&query.text) else {
            return Ok(SearchResults::default());
        };
        let readable = self.readable(subject);
        let types = text_array(query.types.iter());
        let any_type = query.types.is_empty();
        let limit = page_limit(query);
        let want = (query.offset + limit) as i64;
        let name_q = format!("{{name aliases}} : ({q})");
        let shadow = format!(
            "EXISTS (SELECT 1 FROM objects w WHERE w.rid = d.rid AND {})",
            shadowed_latest("w", "?2")
        );
        let extra = FilterSql::new(self, subject, filter);
        self.with_reader(|conn| {
            let mut facets = BTreeMap::new();
            let mut by_label: BTreeMap<String, u64> = BTreeMap::new();
            let mut by_source: Vec<(String, u64)> = Vec::new();
            let mut by_month = BTreeMap::new();
            let mut total = 0u64;
            let capped;
            let mut hits = Vec::with_capacity(limit);
            let mut name_hits = 0usize;
            let mut name_rids: Vec<i64> = Vec::new();
            {
                // Ties in BM25: newest first.
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT o.id, o.type, o.name, r.score, r.rid FROM (
                         SELECT fts.rowid AS rid, bm25(fts, 10.0, 5.0, 1.0) AS score
                         FROM fts JOIN docs d ON d.rid = fts.rowid
                         WHERE fts MATCH ?1 AND d.label_id IN rarray(?2) AND (?3 OR d.type IN rarray(?4))
                           AND (d.multi = 0 OR NOT {shadow}){}
                         ORDER BY score, fts.rowid DESC LIMIT ?5
                     ) r JOIN objects o ON o.rid = r.rid ORDER BY r.score, r.rid DESC",
                    extra.sql(6)
                ))?;
                let ps = extra.with(vec![&name_q, &readable, &any_type, &types, &want]);
                let rows = stmt.query_map(&ps[..], |r| Ok((hit(r)?, r.get::<_, i64>(4)?)))?;
                for h in rows {
                    let (h, rid) = h?;
                    name_hits += 1;
                    name_rids.push(rid);
                    if name_hits > query.offset {
                        hits.push(h);
                    }
                }
            }
            {
                // Counts and facets over readable matches only, up to TOTAL_CAP of them
                // (newest first): bounded work, and nothing counted that the subject may
                // not read. Types are counted over every type; the other facets over the
                // query's types, as the total is.
                let mut stmt = conn.prepare_cached(&format!(
                    "WITH m AS MATERIALIZED (
                         SELECT d.type AS type, d.label_id AS label_id, d.source AS source, d.month AS month
                         FROM fts JOIN docs d ON d.rid = fts.rowid
                         WHERE fts MATCH ?1 AND d.label_id IN rarray(?2) AND (d.multi = 0 OR NOT {shadow}){}
                         ORDER BY fts.rowid DESC LIMIT ?3
                     ), k AS MATERIALIZED (SELECT label_id, source, month FROM m WHERE ?4 OR type IN rarray(?5))
                     SELECT 0, type, count(*) FROM m GROUP BY type{}",
                    extra.sql(6),
                    if filter.facets {
                        "
                     UNION ALL SELECT 1, CAST(label_id AS TEXT), count(*) FROM k GROUP BY label_id
                     UNION ALL SELECT 2, (SELECT ref FROM sources s WHERE s.id = g.source), g.c
                         FROM (SELECT source, count(*) AS c FROM k WHERE source IS NOT NULL GROUP BY source) g
                     UNION ALL SELECT 3, printf('%04d-%02d', month / 100, month % 100), count(*) FROM k
                         WHERE month IS NOT NULL GROUP BY month"
                    } else {
                        ""
                    }
                ))?;
                let cap = TOTAL_CAP + 1;
                let ps = extra.with(vec![&q, &readable, &cap, &any_type, &types]);
                let rows = stmt.query_map(&ps[..], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)? as u64))
                })?;
                let mut seen = 0u64;
                for row in rows {
                    match row? {
                        (0, t, c) => {
                            seen += c;
                            if any_type || query.types.contains(&t) {
                                total += c;
                            }
                            facets.insert(t, c);
                        }
                        (1, l, c) => {
                            let id = l
                                .parse::<i64>()
                                .map_err(|_| StoreError::Corrupt(format!("label id {l}")))?;
                            *by_label.entry(self.policy.banner(&self.label_by_id(id)?)).or_default() += c;
                        }
                        (2, s, c) => by_source.push((s, c)),
                        (_, m, c) => {
                            by_month.insert(m, c);
                        }
                    }
                }
                capped = seen > TOTAL_CAP as u64;
            }
            by_source.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            by_source.truncate(SOURCE_FACETS);
            if hits.len() < limit {
                // Fewer name matches than the page reaches (else it would be full): the
                // query above found every one of them.
                hits.extend(self.other_matches(conn, subject, query, filter, &q, &readable, name_rids, name_hits)?);
            }
            Ok(SearchResults {
                hits,
                total,
                facets,
                label_facets: by_label,
                source_facets: by_source.into_iter().collect(),
                time_facets: by_month,
                capped,
            })
        })
    }
}

#[cfg(test)]
mod search_one_walk {
    //! The page from one full-text walk over the in-memory `docs` columns gives what the
    //! former three-walk path over the `docs` rows gave, before and after writes.
    use super::*;
    use crate::testsuite::{admin, policy};
    use liaison_policy::{Releasability, Role, Subject, Tlp};

    fn subject(name: &str, level: &str, comps: &[&str]) -> Subject {
        policy()
            .subject(name, "cert", level, comps.iter().copied(), [Role::Reader])
            .expect("static subject")
    }

    fn label(level: &str, comps: &[&str]) -> Label {
        policy()
            .label(
                level,
                comps.iter().copied(),
                Tlp::Amber,
                "cert",
                Releasability::owner_only(),
            )
            .expect("label")
    }

    const WORDS: [&str; 6] = [
        "lantern",
        "substation",
        "operator",
        "电网",
        "lanterns",
        "grid",
    ];

    /// Malware `n` (of a family of ids shared between labels when `id` repeats).
    fn malware(id: usize, n: usize, label_no: usize) -> StixObject {
        let w = |k: usize| WORDS[(n * 7 + k * 3 + label_no) % WORDS.len()];
        let name = if n.is_multiple_of(5) {
            format!("{} {}", w(0), w(1))
        } else {
            format!("family {n}")
        };
        let mut v = json!({"type": "malware", "spec_version": "2.1",
            "id": format!("malware--{id:08x}-0000-4000-8000-000000000000"),
            "created": "2023-01-01T00:00:00.000Z",
            "modified": format!("2024-{:02}-{:02}T00:00:00.{:03}Z", 1 + n % 12, 1 + n % 28, label_no),
            "name": name,
            "description": format!(
                "{} seen near the {} with {}{}",
                w(2),
                w(3),
                w(4),
                if n.is_multiple_of(10) { "" } else { " on the power grid" }
            ),
            "is_family": true});
        if !n.is_multiple_of(3) {
            v["created_by_ref"] = json!(format!(
                "identity--{:08x}-0000-4000-8000-000000000000",
                n % 4
            ));
        }
        if n.is_multiple_of(11) {
            v["aliases"] = json!([w(5)]);
        }
        StixObject::from_value(v).expect("test object")
    }

    fn tool(n: usize) -> StixObject {
        StixObject::from_value(json!({"type": "tool", "spec_version": "2.1",
            "id": format!("tool--{n:08x}-0000-4000-8000-000000000000"),
            "created": "2022-05-01T00:00:00.000Z", "modified": "2022-06-01T00:00:00.000Z",
            "name": if n.is_multiple_of(4) { "substation lantern" } else { "kit" },
            "description": "used by the operator of a lantern substation on the grid"}))
        .expect("test object")
    }

    fn store() -> SqliteStore {
        let store = SqliteStore::open_in_memory(policy()).expect("store");
        let labels = [
            label("UNCLASSIFIED", &[]),
            label("SECRET", &["GRID"]),
            label("SECRET", &["TELCO"]),
        ];
        for (label_no, label) in labels.iter().enumerate() {
            // Enough matches of a common word to pass the 10,000 cap; ids 0..300 exist
            // under every label (an object the subject reads in one label and not another).
            let mut objs: Vec<StixObject> = (0..5_000)
                .map(|n| {
                    let id = if n < 300 { n } else { label_no * 100_000 + n };
                    malware(id, n, label_no)
                })
                .collect();
            if label_no == 0 {
                // The oldest rows: a type filter that the newest 10,000 matches miss.
                objs.splice(0..0, (0..200).map(tool));
            }
            let opts = ImportOptions {
                default_label: Some(label.clone()),
                strict: true,
                ..Default::default()
            };
            let r = store
                .import(
                    &admin(),
                    &mut objs.into_iter().map(|o| Ok(o.into())),
                    &opts,
                    &mut |_| {},
                )
                .expect("import");
            assert!(r.invalid.is_empty(), "{r:?}");
        }
        store
    }

    /// A typed query whose name matches are older than the 10,000 newest matches
    /// of other types: the count is capped and the walk meets none of the page's
    /// other matches, and the name matches still lead the page.
    #[test]
    fn name_matches_stay_on_a_page_past_the_cap() {
        let store = SqliteStore::open_in_memory(policy()).expect("store");
        let public = label("UNCLASSIFIED", &[]);
        let tools: Vec<StixObject> = (0..5)
            .map(|n| {
                StixObject::from_value(json!({"type": "tool", "spec_version": "2.1",
                    "id": format!("tool--{n:08x}-0000-4000-8000-000000000000"),
                    "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
                    "name": format!("lantern kit {n}"),
                    "description": "an old lantern"}))
                .expect("tool")
            })
            .collect();
        import_as(&store, &public, tools);
        let newer: Vec<StixObject> = (0..10_050)
            .map(|n| {
                StixObject::from_value(json!({"type": "malware", "spec_version": "2.1",
                    "id": format!("malware--{n:08x}-0000-4000-8000-000000000000"),
                    "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
                    "name": format!("family {n}"), "is_family": true,
                    "description": "seen near a lantern"}))
                .expect("malware")
            })
            .collect();
        import_as(&store, &public, newer);
        for (offset, limit) in [(0, 20), (2, 20), (0, 3)] {
            let query = SearchQuery {
                text: "lantern".into(),
                types: vec!["tool".to_string()],
                limit,
                offset,
            };
            let page = both_walks(&store, &admin(), &query, &SearchFilter::default());
            assert!(page.capped, "more than 10,000 matches");
            let names: Vec<&str> = page.hits.iter().filter_map(|h| h.name.as_deref()).collect();
            assert_eq!(
                names.len(),
                (5 - offset).min(limit),
                "{offset} {limit}: {names:?}"
            );
            assert!(
                names.iter().all(|n| n.starts_with("lantern kit")),
                "{names:?}"
            );
        }
    }

    #[test]
    fn warm_search_loads_the_columns_before_any_search() {
        let store = store();
        let covered = |store: &SqliteStore| {
            store
                .with_reader(|c| {
                    let extent = doccols::extent(c)?;
                    Ok(store.doc_cols.read().expect("lock").covers(extent))
                })
                .expect("read")
        };
        assert!(!covered(&store), "nothing loaded before the first search");
        store.warm_search().expect("warm");
        assert!(covered(&store));
    }

    #[test]
    fn one_walk_page_equals_three_walk_page() {
        let store = store();
        let subjects = [
            admin(),
            subject("grid", "SECRET", &["GRID"]),
            subject("low", "UNCLASSIFIED", &[]),
        ];
        let source = "identity--00000001-0000-4000-8000-000000000000".to_string();
        let filters = [
            SearchFilter {
                facets: true,
                ..Default::default()
            },
            SearchFilter::default(),
            SearchFilter {
                facets: true,
                sources: vec![source],
                ..Default::default()
            },
            SearchFilter {
                facets: true,
                labels: vec![policy().banner(&label("SECRET", &["GRID"]))],
                ..Default::default()
            },
            SearchFilter {
                facets: true,
                modified_from: Some("2024-03".into()),
                modified_before: Some("2024-07".into()),
                ..Default::default()
            },
            SearchFilter {
                facets: true,
                unscored: true,
                ..Default::default()
            },
        ];
        let mut capped = 0;
        let mut compared = 0;
        for text in [
            "lantern",
            "grid",
            "substation operator",
            "电网",
            "grid lantern",
            "kit",
            "nothing",
        ] {
            for (types, offset, limit) in [
                (vec![], 0, 20),
                (vec![], 30, 20),
                (vec![], 9_990, 50),
                (vec!["tool".to_string()], 0, 20),
                (vec!["tool".to_string()], 45, 10),
            ] {
                let query = SearchQuery {
                    text: text.into(),
                    types,
                    limit,
                    offset,
                };
                for who in &subjects {
                    for filter in &filters {
                        let new = both_walks(&store, who, &query, filter);
                        capped += usize::from(new.capped);
                        compared += usize::from(!new.hits.is_empty());
                    }
                }
            }
        }
        // The comparison covered capped counts and pages with hits, not only empty ones.
        assert!(
            capped > 0 && compared > 100,
            "capped {capped}, with hits {compared}"
        );
    }

    #[test]
    fn one_walk_page_shows_nothing_without_clearance() {
        let store = store();
        let nobody = policy()
            .subject(
                "nobody",
                "elsewhere",
                "UNCLASSIFIED",
                Vec::<String>::new(),
                [Role::Reader],
            )
            .expect("static subject");
        for text in ["lantern", "substation operator", "电网"] {
            let query = SearchQuery {
                text: text.into(),
                types: vec![],
                limit: 20,
                offset: 0,
            };
            let filter = SearchFilter {
                facets: true,
                ..Default::default()
            };
            let seen = store
                .search_page(&nobody, &query, &filter, false)
                .expect("search");
            assert_eq!(seen, SearchResults::default(), "{text:?}");
        }
    }

    /// Every page a subject could ask for in `texts`, compared between the two paths.
    fn assert_same(
        store: &SqliteStore,
        who: &Subject,
        texts: &[&str],
        sources: &[String],
    ) -> usize {
        let mut with_hits = 0;
        let filters = [
            SearchFilter {
                facets: true,
                ..Default::default()
            },
            SearchFilter {
                facets: true,
                sources: sources.to_vec(),
                ..Default::default()
            },
            SearchFilter {
                facets: true,
                labels: store
                    .readable_labels(who)
                    .iter()
                    .take(1)
                    .map(|(_, l)| policy().banner(l))
                    .collect(),
                ..Default::default()
            },
            SearchFilter {
                facets: true,
                modified_from: Some("2024-02".into()),
                modified_before: Some("2024-09-15".into()),
                ..Default::default()
            },
        ];
        for text in texts {
            for (types, offset, limit) in [
                (vec![], 0, 20),
                (vec![], 3, 5),
                (vec!["tool".to_string()], 0, 20),
            ] {
                let query = SearchQuery {
                    text: text.to_string(),
                    types,
                    limit,
                    offset,
                };
                for filter in &filters {
                    let new = both_walks(store, who, &query, filter);
                    with_hits += usize::from(!new.hits.is_empty());
                    // Unscored: the same page, each score the scored page's or 0.
                    let unscored = SearchFilter {
                        unscored: true,
                        ..filter.clone()
                    };
                    let bare = both_walks(store, who, &query, &unscored);
                    assert_eq!(bare.hits.len(), new.hits.len());
                    for (b, n) in bare.hits.iter().zip(&new.hits) {
                        assert_eq!((&b.id, &b.r#type, &b.name), (&n.id, &n.r#type, &n.name));
                        assert!(
                            b.score == n.score || (b.score == 0.0 && b.score.is_sign_positive())
                        );
                    }
                    assert_eq!(
                        SearchResults {
                            hits: vec![],
                            ..bare
                        },
                        SearchResults {
                            hits: vec![],
                            ..new
                        }
                    );
                }
            }
        }
        with_hits
    }

    /// The page of the one-walk path, checked equal to the reference path's.
    fn both_walks(
        store: &SqliteStore,
        who: &Subject,
        query: &SearchQuery,
        filter: &SearchFilter,
    ) -> SearchResults {
        let new = store
            .search_page(who, query, filter, false)
            .expect("search");
        let old = store.search_page(who, query, filter, true).expect("search");
        assert_eq!(new, old, "{query:?} {filter:?} as {}", who.name);
        new
    }

    fn import_as(store: &SqliteStore, label: &Label, objs: Vec<StixObject>) {
        let opts = ImportOptions {
            default_label: Some(label.clone()),
            strict: true,
            ..Default::default()
        };
        let r = store
            .import(
                &admin(),
                &mut objs.into_iter().map(|o| Ok(o.into())),
                &opts,
                &mut |_| {},
            )
            .expect("import");
        assert!(r.invalid.is_empty(), "{r:?}");
    }

    /// Writes after the columns were loaded (new objects, new versions, an id stored at
    /// a second label, which marks rows already held `multi`, a revocation) show in the
    /// next page, made by this store or by another one on the same file (another
    /// process: `liaison import` while `liaison serve` runs).
    #[test]
    fn walk_sees_writes_made_after_its_columns_were_loaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("liaison.db");
        let serving = SqliteStore::open(&path, policy()).expect("store");
        let other = SqliteStore::open(&path, policy()).expect("second store on the file");
        let grid = subject("grid", "SECRET", &["GRID"]);
        let low = subject("low", "UNCLASSIFIED", &[]);
        let sources = vec!["identity--00000001-0000-4000-8000-000000000000".to_string()];
        let texts = ["lantern", "grid lantern", "电网", "kit"];
        import_as(
            &serving,
            &label("UNCLASSIFIED", &[]),
            (0..40).map(|n| malware(n, n, 0)).collect(),
        );
        for who in [admin(), grid.clone(), low.clone()] {
            assert_same(&serving, &who, &texts, &sources);
        }
        let mut with_hits = 0;
        for (step, writer) in [&serving, &other, &serving, &other].into_iter().enumerate() {
            match step {
                // The same ids at a second label: rows already held become `multi`.
                0 => import_as(
                    writer,
                    &label("SECRET", &["GRID"]),
                    (0..20).map(|n| malware(n, n, 1)).collect(),
                ),
                // New ids, and tools, through the other store.
                1 => import_as(
                    writer,
                    &label("SECRET", &["GRID"]),
                    (100..130)
                        .map(|n| malware(n, n, 2))
                        .chain((0..8).map(tool))
                        .collect(),
                ),
                // Later versions replace rows held (their `docs` rows are deleted).
                2 => {
                    let newer = (20..30)
                        .map(|n| {
                            let mut v = malware(n, n + 1, 0).into_value();
                            v["modified"] = json!("2025-01-01T00:00:00.000Z");
                            StixObject::from_value(v).expect("test object")
                        })
                        .collect();
                    import_as(writer, &label("UNCLASSIFIED", &[]), newer);
                }
                _ => {
                    let id = malware(35, 35, 0).id().to_string();
                    writer.revoke(&admin(), &id).expect("revoke");
                }
            }
            for who in [admin(), grid.clone(), low.clone()] {
                with_hits += assert_same(&serving, &who, &texts, &sources);
            }
        }
        assert!(with_hits > 50, "pages with hits: {with_hits}");
        // The rows the other store wrote are found by the serving store's walk.
        let tools = serving
            .search_page(
                &admin(),
                &SearchQuery {
                    types: vec!["tool".into()],
                    ..SearchQuery::text("grid")
                },
                &SearchFilter::default(),
                false,
            )
            .expect("search");
        assert_eq!(tools.total, 8);
        // The revoked object is gone from search.
        let revoked = malware(35, 35, 0).id().to_string();
        for text in ["lantern", "family"] {
            let found = serving
                .search_page(
                    &admin(),
                    &SearchQuery {
                        limit: 200,
                        ..SearchQuery::text(text)
                    },
                    &SearchFilter::default(),
                    false,
                )
                .expect("search");
            assert!(found.hits.iter().all(|h| h.id != revoked), "{text}");
        }
    }

    mod random_labels {
        //! Random objects under random labels, read by random subjects.
        use super::*;
        use proptest::prelude::*;

        const ORGS: [&str; 3] = ["cert", "partner", "other"];
        const COMPS: [&str; 2] = ["GRID", "TELCO"];

        /// A label from (level, compartment bits, owner, releasable to all).
        fn label_of(level: usize, comps: u8, owner: usize, to_all: bool) -> Label {
            let p = policy();
            let comps: Vec<&str> = COMPS
                .iter()
                .enumerate()
                .filter(|(i, _)| comps & (1 << i) != 0)
                .map(|(_, c)| *c)
                .collect();
            let rel = if to_all {
                Releasability::All
            } else if owner == 0 {
                Releasability::owner_only()
            } else {
                // Also released to `cert`, so that the importing admin may write it.
                Releasability::to(["cert", ORGS[owner]])
            };
            p.label(
                &p.levels()[level].clone(),
                comps,
                Tlp::Amber,
                ORGS[owner],
                rel,
            )
            .expect("label")
        }

        fn any_label() -> impl Strategy<Value = (usize, u8, usize, bool)> {
            (0..5usize, 0..4u8, 0..2usize, any::<bool>())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

            /// Pages, counts and facets of the walk equal the reference's for any labels
            /// and any reader; a reader of another organization without clearance gets
            /// nothing at all.
            #[test]
            fn walk_equals_reference_for_random_labels(
                batches in prop::collection::vec((any_label(), 1..40usize, 0..3usize), 1..5),
                readers in prop::collection::vec((0..5usize, 0..4u8, 0..3usize), 1..4),
            ) {
                let store = SqliteStore::open_in_memory(policy()).expect("store");
                for (i, ((level, comps, owner, to_all), n, shift)) in batches.iter().enumerate() {
                    // Ids overlap between batches (`shift`), so some ids are stored at
                    // several labels.
                    let objs = (0..*n).map(|k| malware(k + shift * 10, k + i, i)).collect();
                    import_as(&store, &label_of(*level, *comps, *owner, *to_all), objs);
                }
                let sources = vec!["identity--00000002-0000-4000-8000-000000000000".to_string()];
                for (level, comps, org) in readers {
                    let comps: Vec<&str> = COMPS.iter().enumerate().filter(|(i, _)| comps & (1 << i) != 0).map(|(_, c)| *c).collect();
                    let who = policy()
                        .subject("reader", ORGS[org], &policy().levels()[level].clone(), comps, [Role::Reader])
                        .expect("subject");
                    assert_same(&store, &who, &["lantern", "grid operator", "电网", "family"], &sources);
                }
                let nobody = policy()
                    .subject("nobody", "elsewhere", "UNCLASSIFIED", Vec::<String>::new(), [Role::Reader])
                    .expect("subject");
                let readable_by_all = batches.iter().any(|((level, comps, _, to_all), _, _)| *level == 0 && *comps == 0 && *to_all);
                if !readable_by_all {
                    for text in ["lantern", "grid operator", "family"] {
                        let seen = store
                            .search_page(&nobody, &SearchQuery::text(text), &SearchFilter { facets: true, ..Default::default() }, false)
                            .expect("search");
                        prop_assert_eq!(seen, SearchResults::default());
                    }
                }
            }
        }
    }
}
