//! Running feeds: the IO side of `liaison-collect`.
//!
//! [`run_feed`] runs one feed once: it drives the feed's [`Connector`] (fetching over
//! HTTP with `If-None-Match` / `If-Modified-Since` and a size limit, or reading a local
//! file, tailing it from the last offset when the feed follows it), screens news items
//! against the feed's watchlist, turns items into STIX objects with provenance, merges
//! them with what the store holds (the same indicator from several feeds stays one
//! object with every feed's reference), imports them as the feed's user under the
//! feed's label, and records the outcome in the feed's state. [`start`] spawns the
//! scheduler that runs every feed on its schedule; a failing feed backs off and shows
//! its error in its state, and never stops the others.

use chrono::{DateTime, Utc};
use liaison_collect::state::{FeedState, RunOutcome};
use liaison_collect::stix::{merge, Builder, FeedContext, SOURCE_PREFIX};
use liaison_collect::tail::{Plan, TailState};
use liaison_collect::{backoff, connector_for, Connector, FeedConfig, Item, Request, Response};
use liaison_policy::Subject;
use liaison_stix::StixObject;
use liaison_store::{FeedRecord, ImportItem, ImportOptions, Prepared, SqliteStore, Store};
use serde_json::Value;
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Items built and validated at a time: bounds memory on million-line feeds.
/// `LIAISON_FEED_CHUNK` overrides it (tests use tiny chunks to cross chunk boundaries).
fn chunk_size() -> usize {
    std::env::var("LIAISON_FEED_CHUNK")
        .ok()
        .and_then(|v| v.parse().ok())
        // 10,000: a 1M-line CSV feed peaks at ~0.55 GB RSS instead of ~1.2-1.6 GB with
        // 100,000, for about the same CPU (bench/records/collect-2026-11-29-csv.md).
        .unwrap_or(10_000usize)
        .max(1)
}

/// Skip reasons kept in the state for `feed status`.
const KEEP_WARNINGS: usize = 10;

/// A feed run that failed: the message `feed status` shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FeedError(pub String);

fn err(s: impl Into<String>) -> FeedError {
    FeedError(s.into())
}

/// The HTTP client feeds use: rustls, redirects limited, a timeout per request.
pub fn client() -> Result<reqwest::Client, FeedError> {
    reqwest::Client::builder()
        .user_agent(concat!("liaison/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(300))
        .connect_timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| err(format!("HTTP client: {e}")))
}

struct Fetched {
    status: u16,
    body: Vec<u8>,
    content_type: Option<String>,
    date_added_last: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
}

async fn fetch_http(
    client: &reqwest::Client,
    req: &Request,
    cfg: &FeedConfig,
    state: &FeedState,
) -> Result<Fetched, FeedError> {
    let mut rb = client.get(&req.url);
    if let Some(a) = req.accept {
        rb = rb.header(reqwest::header::ACCEPT, a);
    }
    if let Some(a) = &cfg.auth {
        rb = rb.header(reqwest::header::AUTHORIZATION, a);
    }
    if req.conditional {
        if let Some(e) = &state.etag {
            rb = rb.header(reqwest::header::IF_NONE_MATCH, e);
        }
        if let Some(m) = &state.last_modified {
            rb = rb.header(reqwest::header::IF_MODIFIED_SINCE, m);
        }
    }
    let mut resp = rb
        .send()
        .await
        .map_err(|e| err(format!("GET {}: {e}", req.url)))?;
    let status = resp.status().as_u16();
    let header = |r: &reqwest::Response, h: &str| {
        r.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(&resp, "content-type");
    let date_added_last = header(&resp, "x-taxii-date-added-last");
    let etag = header(&resp, "etag");
    let last_modified = header(&resp, "last-modified");
    if status == 304 {
        return Ok(Fetched {
            status,
            body: Vec::new(),
            content_type,
            date_added_last,
            etag,
            last_modified,
        });
    }
    if !(200..300).contains(&status) {
        let mut text = resp.text().await.unwrap_or_default();
        text.truncate(200);
        return Err(err(format!(
            "GET {}: HTTP {status}{}",
            req.url,
            if text.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", text.trim())
            }
        )));
    }
    if resp.content_length().is_some_and(|n| n > cfg.max_bytes) {
        return Err(err(format!(
            "GET {}: {} bytes announced, more than the feed's limit of {} bytes",
            req.url,
            resp.content_length().unwrap_or(0),
            cfg.max_bytes
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| err(format!("GET {}: reading the body: {e}", req.url)))?
    {
        if (body.len() + chunk.len()) as u64 > cfg.max_bytes {
            return Err(err(format!(
                "GET {}: body larger than the feed's limit of {} bytes",
                req.url, cfg.max_bytes
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        status,
        body,
        content_type,
        date_added_last,
        etag,
        last_modified,
    })
}

#[cfg(unix)]
fn inode(m: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(m)
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

fn local_path(url: &str) -> &str {
    url.strip_prefix("file://").unwrap_or(url)
}

/// Read a local file whole (size-limited), or, when following, what was appended
/// since the last run, up to the last complete line.
fn fetch_file(
    path: &str,
    cfg: &FeedConfig,
    tail: Option<&TailState>,
) -> Result<(Vec<u8>, Option<TailState>), FeedError> {
    let mut f = std::fs::File::open(path).map_err(|e| err(format!("{path}: {e}")))?;
    let meta = f.metadata().map_err(|e| err(format!("{path}: {e}")))?;
    let size = meta.len();
    if !cfg.follow {
        if size > cfg.max_bytes {
            return Err(err(format!(
                "{path}: {size} bytes, more than the feed's limit of {} bytes",
                cfg.max_bytes
            )));
        }
        let mut body = Vec::with_capacity(size as usize);
        f.read_to_end(&mut body)
            .map_err(|e| err(format!("{path}: {e}")))?;
        return Ok((body, None));
    }
    let ino = inode(&meta);
    let start = match tail.cloned().unwrap_or_default().plan(ino, size) {
        Plan::From(o) => o,
        Plan::Restart => 0,
    };
    let want = (size - start.min(size)).min(cfg.max_bytes);
    f.seek(SeekFrom::Start(start))
        .map_err(|e| err(format!("{path}: {e}")))?;
    let mut chunk = Vec::with_capacity(want as usize);
    f.take(want)
        .read_to_end(&mut chunk)
        .map_err(|e| err(format!("{path}: {e}")))?;
    let (done, st) = TailState::consume(ino, start, &chunk);
    let n = done.len();
    chunk.truncate(n);
    Ok((chunk, Some(st)))
}

/// Tail every regular file of a directory (hidden ones aside): what was appended since
/// the last run, up to each file's last complete line. Files are known by inode.
fn fetch_dir(
    dir: &str,
    cfg: &FeedConfig,
    known: &std::collections::BTreeMap<String, TailState>,
) -> Result<(Vec<u8>, std::collections::BTreeMap<String, TailState>), FeedError> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| err(format!("{dir}: {e}")))?
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut body = Vec::new();
    let mut tails = std::collections::BTreeMap::new();
    for p in files {
        let path = p.display().to_string();
        let meta = std::fs::metadata(&p).map_err(|e| err(format!("{path}: {e}")))?;
        let ino = inode(&meta);
        let prev = known.get(&ino.to_string());
        let (chunk, st) = fetch_file(
            &path,
            cfg,
            Some(prev.cloned().unwrap_or(TailState {
                inode: ino,
                offset: 0,
            }))
            .as_ref(),
        )?;
        if (body.len() + chunk.len()) as u64 > cfg.max_bytes {
            return Err(err(format!(
                "{dir}: more than the feed's limit of {} bytes appended",
                cfg.max_bytes
            )));
        }
        body.extend_from_slice(&chunk);
        if let Some(st) = st {
            tails.insert(ino.to_string(), st);
        }
    }
    Ok((body, tails))
}

/// Screening of news items: watchlist terms found in a title or summary become labels.
struct Screen {
    engine: liaison_screen::Engine,
}

impl Screen {
    fn load(path: &str) -> Result<Screen, FeedError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| err(format!("watchlist {path}: {e}")))?;
        let list = liaison_screen::Watchlist::parse(path, &text)
            .map_err(|e| err(format!("watchlist {path}: {e}")))?;
        let engine = liaison_screen::EngineBuilder::new()
            .watchlist(list)
            .ignore_case(true)
            .whole_word(true)
            .extract(None)
            .build()
            .map_err(|e| err(format!("watchlist {path}: {e}")))?;
        Ok(Screen { engine })
    }

    fn apply(&self, item: &mut Item, scratch: &mut liaison_screen::Scratch) {
        let Item::Article(a) = item else { return };
        let text = format!("{}\n{}", a.title, a.summary.as_deref().unwrap_or(""));
        let hits = self.engine.scan("feed", text.as_bytes(), 1, 0, scratch);
        for h in hits {
            if let liaison_screen::Rule::Term { term } = h.rule {
                let l = format!("watchlist:{}", term.to_lowercase());
                if !a.categories.contains(&l) {
                    a.categories.push(l);
                }
            }
        }
    }
}

/// Runs a feed's items into the store, a chunk at a time.
struct Sink<'a> {
    store: &'a SqliteStore,
    subject: &'a Subject,
    ctx: FeedContext,
    label: liaison_policy::Label,
    pending: Vec<Item>,
    out: RunOutcome,
    warnings: Vec<String>,
    failed: Option<FeedError>,
    screen: Option<Screen>,
    scratch: liaison_screen::Scratch,
    /// The store writer's queue: chunks are prepared here while the previous one is written.
    writer: Option<std::sync::mpsc::SyncSender<(Option<u64>, Vec<ImportItem>)>>,
    /// Items per chunk.
    chunk: usize,
    /// Tailing a directory: the positions to record on success.
    new_tails: Option<std::collections::BTreeMap<String, TailState>>,
    /// About how many objects the run brings (from the first body's size), for the store's bulk mode.
    expected: Option<u64>,
    /// Ids handed to the writer by earlier chunks of this run.
    sent: HashSet<String>,
    /// Objects whose id an earlier chunk already holds: merged after the writer is done,
    /// when the store can tell what that chunk stored.
    late: Vec<Value>,
}

/// What the writer thread stored.
#[derive(Default)]
struct Written {
    new: u64,
    updated: u64,
    unchanged: u64,
    invalid: Vec<liaison_store::Rejection>,
}

fn write_chunk(
    store: &SqliteStore,
    subject: &Subject,
    label: &liaison_policy::Label,
    items: Vec<ImportItem>,
    w: &mut Written,
) -> Result<(), FeedError> {
    let opts = ImportOptions {
        default_label: Some(label.clone()),
        strict: false,
        // A full chunk into a store that holds few edges is written in bulk mode.
        expected_objects: Some(items.len() as u64),
    };
    let report = store
        .import(subject, &mut items.into_iter(), &opts, &mut |_| {})
        .map_err(|e| err(format!("store: {e}")))?;
    w.new += report.new;
    w.updated += report.updated;
    w.unchanged += report.unchanged;
    w.invalid.extend(report.invalid);
    Ok(())
}

impl Sink<'_> {
    fn push(&mut self, mut item: Item) {
        if self.failed.is_some() {
            return;
        }
        if let Item::Skipped { at, reason } = &item {
            self.out.rejected += 1;
            if self.warnings.len() < KEEP_WARNINGS {
                self.warnings.push(format!("{at}: {reason}"));
            }
            return;
        }
        self.out.items += 1;
        if let Some(s) = &self.screen {
            s.apply(&mut item, &mut self.scratch);
        }
        self.pending.push(item);
        if self.pending.len() >= self.chunk {
            if let Err(e) = self.flush() {
                self.failed = Some(e);
            }
        }
    }

    /// Build the pending items into objects and hand them on.
    fn flush(&mut self) -> Result<(), FeedError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut b = Builder::new(self.ctx.clone());
        for i in self.pending.drain(..) {
            b.add(i);
        }
        let mut objects = Vec::new();
        for v in b.finish() {
            let id = v.get("id").and_then(Value::as_str).unwrap_or("");
            if self.sent.contains(id) {
                if id != self.ctx.identity {
                    self.late.push(v);
                }
            } else {
                objects.push(v);
            }
        }
        let items = self.prepare(objects)?;
        for i in items.iter().flatten() {
            self.sent.insert(i.object().id().to_string());
        }
        // The identity is settled by the first chunk, also when it was found unchanged
        // and not handed on: later chunks neither look it up nor count it again.
        self.sent.insert(self.ctx.identity.clone());
        match &self.writer {
            Some(tx) => tx
                .send((self.expected, items))
                .map_err(|_| err("the store writer stopped (see the error before)")),
            None => {
                let mut w = Written::default();
                write_chunk(self.store, self.subject, &self.label, items, &mut w)?;
                self.count(w);
                Ok(())
            }
        }
    }

    fn count(&mut self, w: Written) {
        self.out.new += w.new;
        self.out.updated += w.updated;
        self.out.unchanged += w.unchanged;
        self.out.rejected += w.invalid.len() as u64;
        for r in w.invalid {
            if self.warnings.len() < KEEP_WARNINGS {
                self.warnings.push(format!(
                    "{}: {}: {}",
                    r.id.as_deref().unwrap_or("object"),
                    r.path,
                    r.reason
                ));
            }
        }
    }

    /// Merge objects with what the store holds (provenance added to stored versions)
    /// and validate them, ready for the writer.
    fn prepare(&mut self, objects: Vec<Value>) -> Result<Vec<ImportItem>, FeedError> {
        let ours = format!("{SOURCE_PREFIX}{}", self.ctx.name);
        let made_here = |v: &Value| {
            v.get("external_references")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .any(|r| r.get("source_name").and_then(Value::as_str) == Some(&ours))
                })
        };
        let identity = self.ctx.identity.clone();
        // On a first load nothing can be found: the chunk's look-ups (an index probe
        // per object) are skipped. Checked per chunk, since a run into an in-memory
        // store commits chunk by chunk.
        let first_load = self
            .store
            .holds_only_built_ins()
            .map_err(|e| err(format!("store: {e}")))?;
        let ids: Vec<String> = if first_load {
            Vec::new()
        } else {
            objects
                .iter()
                .filter(|v| {
                    v.get("modified").is_some() && (made_here(v) || v["id"] == identity.as_str())
                })
                .filter_map(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
                .collect()
        };
        let existing = if ids.is_empty() {
            Default::default()
        } else {
            self.store
                .latest_json(self.subject, &ids)
                .map_err(|e| err(format!("store: {e}")))?
        };
        let merge_ids: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut skipped_same = 0u64;
        let mut items: Vec<ImportItem> = Vec::with_capacity(objects.len());
        for v in objects {
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let v = match existing.get(&id) {
                Some(old) if id == identity => {
                    // The feed's identity changes when the feed is redefined (its URL or
                    // grade): then it gets a new version; otherwise it is left alone.
                    let old: Value =
                        serde_json::from_str(old).map_err(|e| err(format!("stored {id}: {e}")))?;
                    let same = ["name", "description", "x_liaison_source_reliability"]
                        .iter()
                        .all(|k| old.get(*k) == v.get(*k));
                    if same {
                        skipped_same += 1;
                        continue;
                    }
                    let mut v = v;
                    let prev = old.get("modified").and_then(Value::as_str).unwrap_or("");
                    let prev_ms = liaison_stix::Timestamp::parse(prev).map_or(0, |t| t.millis());
                    v["modified"] = Value::from(
                        liaison_stix::Timestamp::from_millis(
                            now().timestamp_millis().max(prev_ms + 1),
                        )
                        .to_string(),
                    );
                    v
                }
                Some(old) if merge_ids.contains(id.as_str()) => {
                    let old: Value =
                        serde_json::from_str(old).map_err(|e| err(format!("stored {id}: {e}")))?;
                    match merge(&old, &v, &self.ctx.now) {
                        Some(m) => m,
                        None => {
                            skipped_same += 1;
                            continue;
                        }
                    }
                }
                _ => v,
            };
            items.push(StixObject::from_value(v).map(Prepared::new).map_err(|e| {
                liaison_store::Rejection {
                    index: 0,
                    id: Some(id.clone()),
                    path: e.path().to_string(),
                    reason: e.message().to_string(),
                    fatal: false,
                }
            }));
        }
        self.out.unchanged += skipped_same;
        Ok(items)
    }

    /// The objects held back because an earlier chunk had their id: folded together,
    /// then merged with what that chunk stored.
    fn finish_late(&mut self) -> Result<(), FeedError> {
        let late = std::mem::take(&mut self.late);
        if late.is_empty() {
            return Ok(());
        }
        let mut folded: Vec<Value> = Vec::new();
        let mut at: std::collections::HashMap<String, usize> = Default::default();
        for v in late {
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            match at.get(&id) {
                Some(&i) => {
                    if let Some(m) = merge(&folded[i], &v, &self.ctx.now) {
                        folded[i] = m;
                    }
                }
                None => {
                    at.insert(id, folded.len());
                    folded.push(v);
                }
            }
        }
        let items = self.prepare(folded)?;
        let mut w = Written::default();
        write_chunk(self.store, self.subject, &self.label, items, &mut w)?;
        self.count(w);
        Ok(())
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn ts(t: DateTime<Utc>) -> String {
    liaison_stix::Timestamp::from_millis(t.timestamp_millis()).to_string()
}

/// Run one feed once, as `subject`, and record the outcome in its state (also on
/// failure). Blocking: call it from a blocking thread; `rt` runs the HTTP fetches.
pub fn run_feed(
    store: &SqliteStore,
    subject: &Subject,
    rec: &FeedRecord,
    client: &reqwest::Client,
    rt: &tokio::runtime::Handle,
) -> Result<RunOutcome, FeedError> {
    let mut state: FeedState = serde_json::from_value(rec.state.clone()).unwrap_or_default();
    let started = now();
    state.last_run = Some(ts(started));
    let result = run_inner(store, subject, rec, client, rt, &mut state, started);
    let cfg: Option<FeedConfig> = serde_json::from_value(rec.config.clone()).ok();
    let scheduled = cfg
        .as_ref()
        .map(|c| c.schedule.next_after(started))
        .unwrap_or(started + chrono::Duration::hours(1));
    match &result {
        Ok((out, warnings)) => {
            state.succeeded(&ts(now()), out);
            state.warnings = warnings.clone();
            state.next_run = Some(ts(scheduled));
        }
        Err(e) => {
            state.failed(&e.0);
            state.next_run = Some(ts(backoff::retry_at(
                state.failures,
                &rec.name,
                now(),
                scheduled,
            )));
        }
    }
    let sv = serde_json::to_value(&state).map_err(|e| err(e.to_string()))?;
    store
        .set_feed_state(rec, &sv)
        .map_err(|e| err(format!("store: {e}")))?;
    result.map(|(o, _)| o)
}

fn run_inner(
    store: &SqliteStore,
    subject: &Subject,
    rec: &FeedRecord,
    client: &reqwest::Client,
    rt: &tokio::runtime::Handle,
    state: &mut FeedState,
    started: DateTime<Utc>,
) -> Result<(RunOutcome, Vec<String>), FeedError> {
    let cfg: FeedConfig = serde_json::from_value(rec.config.clone())
        .map_err(|e| err(format!("feed definition: {e}")))?;
    let mut conn: Box<dyn Connector> =
        connector_for(&cfg, state.cursor.as_ref()).map_err(|e| err(e.to_string()))?;
    let scope = store.policy().banner(&rec.label);
    let mut ctx = FeedContext::new(&cfg, &scope, &ts(started));
    ctx.tlp_marking =
        liaison_stix::tlp::Tlp::parse(rec.label.tlp.as_str()).map(|t| t.marking_id().to_string());
    let screen = cfg.watchlist.as_deref().map(Screen::load).transpose()?;
    let mut sink = Sink {
        store,
        subject,
        ctx,
        label: rec.label.clone(),
        pending: Vec::new(),
        out: RunOutcome::default(),
        warnings: Vec::new(),
        failed: None,
        screen,
        scratch: liaison_screen::Scratch::default(),
        writer: None,
        chunk: chunk_size(),
        new_tails: None,
        expected: None,
        sent: HashSet::new(),
        late: Vec::new(),
    };
    // Chunks are built and validated here while a second thread writes the previous one.
    // A file store is written by a second thread, in one transaction for the whole run,
    // while chunks are built and validated here. (An in-memory store has one connection,
    // which the merge look-ups need while the writer holds it: there, chunks are written
    // one after the other.)
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Option<u64>, Vec<ImportItem>)>(1);
    let pipelined = store.file_size() > 0;
    // Without the pipeline the sender goes here too: dropped with the sink, so the
    // writer thread, getting nothing, ends (an in-memory store's run would wait forever).
    sink.writer = pipelined.then_some(tx);
    let label = rec.label.clone();
    std::thread::scope(|sc| {
        let writer = sc.spawn(move || -> Result<Written, FeedError> {
            let mut w = Written::default();
            let Ok((expected, first)) = rx.recv() else {
                return Ok(w);
            };
            let mut items = first
                .into_iter()
                .chain(rx.iter().flat_map(|(_, chunk)| chunk));
            let opts = ImportOptions {
                default_label: Some(label.clone()),
                strict: false,
                expected_objects: expected,
            };
            let report = store
                .import(subject, &mut items, &opts, &mut |_| {})
                .map_err(|e| err(format!("store: {e}")))?;
            w.new = report.new;
            w.updated = report.updated;
            w.unchanged = report.unchanged;
            w.invalid = report.invalid;
            Ok(w)
        });
        let read = read_all(&mut *conn, &cfg, client, rt, state, &mut sink);
        if let (Err(e), Some(tx)) = (&read, &sink.writer) {
            // Abandon the run's transaction: nothing of a failed run is stored.
            let _ = tx.send((
                None,
                vec![Err(liaison_store::Rejection {
                    index: 0,
                    id: None,
                    path: "$".into(),
                    reason: format!("feed run failed: {e}"),
                    fatal: true,
                })],
            ));
        }
        sink.writer = None;
        let written = writer
            .join()
            .map_err(|_| err("the store writer panicked"))?;
        let (new_etag, new_tail) = read?;
        let w = written?;
        sink.count(w);
        sink.finish_late()?;
        if let Some((etag, lm)) = new_etag {
            if !sink.out.not_modified {
                state.etag = etag;
                state.last_modified = lm;
            }
        }
        if new_tail.is_some() {
            state.tail = new_tail;
        }
        if let Some(t) = sink.new_tails.take() {
            state.tails = t;
        }
        if let Some(c) = conn.cursor() {
            state.cursor = Some(c);
        }
        Ok((
            std::mem::take(&mut sink.out),
            std::mem::take(&mut sink.warnings),
        ))
    })
}

/// Fetch and parse everything the connector asks for, pushing items into the sink.
/// Returns the new (ETag, Last-Modified) and tail state, to record on success.
#[allow(clippy::type_complexity)]
fn read_all(
    conn: &mut dyn Connector,
    cfg: &FeedConfig,
    client: &reqwest::Client,
    rt: &tokio::runtime::Handle,
    state: &FeedState,
    sink: &mut Sink<'_>,
) -> Result<(Option<(Option<String>, Option<String>)>, Option<TailState>), FeedError> {
    let mut new_etag = None;
    let mut new_tail = None;
    let mut first = true;
    while let Some(req) = conn.next_request() {
        let is_http = req.url.starts_with("http://") || req.url.starts_with("https://");
        let fetched = if is_http {
            rt.block_on(fetch_http(client, &req, cfg, state))?
        } else {
            let path = local_path(&req.url);
            let (body, tail) = if cfg.follow && std::path::Path::new(path).is_dir() {
                let (body, tails) = fetch_dir(path, cfg, &state.tails)?;
                sink.new_tails = Some(tails);
                (body, None)
            } else {
                fetch_file(path, cfg, state.tail.as_ref())?
            };
            if first {
                new_tail = tail;
            }
            Fetched {
                status: 200,
                body,
                content_type: None,
                date_added_last: None,
                etag: None,
                last_modified: None,
            }
        };
        if req.conditional && first {
            if fetched.status == 304 {
                sink.out.not_modified = true;
            }
            new_etag = Some((fetched.etag.clone(), fetched.last_modified.clone()));
        }
        first = false;
        if sink.expected.is_none() {
            // About 40 bytes an indicator line; a run large against the store is written in bulk mode.
            sink.expected = Some(fetched.body.len() as u64 / 40);
        }
        let resp = Response {
            status: fetched.status,
            body: &fetched.body,
            content_type: fetched.content_type.clone(),
            date_added_last: fetched.date_added_last.clone(),
        };
        conn.take(&resp, &mut |i| sink.push(i))
            .map_err(|e| err(format!("{}: {e}", req.url)))?;
        if let Some(e) = sink.failed.take() {
            return Err(e);
        }
    }
    sink.flush()?;
    Ok((new_etag, new_tail))
}

/// Whether a feed is due: not paused, and its next run time has come (or it never ran).
pub fn is_due(rec: &FeedRecord, at: DateTime<Utc>) -> bool {
    let paused = rec
        .config
        .get("paused")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if paused {
        return false;
    }
    rec.state
        .get("next_run")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .is_none_or(|t| t.with_timezone(&Utc) <= at)
}

/// Feed instances running in this process (scheduler and "run now" alike): one run of
/// a feed at a time, so two runs never race on its state.
fn running() -> &'static Mutex<HashSet<i64>> {
    static RUNNING: std::sync::OnceLock<Mutex<HashSet<i64>>> = std::sync::OnceLock::new();
    RUNNING.get_or_init(Mutex::default)
}

/// A feed instance claimed for one run; released when dropped.
#[derive(Debug)]
pub struct RunClaim(i64);

impl Drop for RunClaim {
    fn drop(&mut self) {
        if let Ok(mut set) = running().lock() {
            set.remove(&self.0);
        }
    }
}

/// Claim `rec` for a run, unless a run of it is under way in this process.
pub fn claim(rec: &FeedRecord) -> Option<RunClaim> {
    let mut set = running().lock().ok()?;
    // Not `then_some`: a claim made eagerly and dropped on refusal would release
    // the run under way (and take this lock again).
    if set.insert(rec.instance) {
        Some(RunClaim(rec.instance))
    } else {
        None
    }
}

/// Start the scheduler: every few seconds it runs the feeds that are due, two at a
/// time, each as its user from the server's directory. The store hands it only the
/// feeds whose user is in the directory and may read the feed's label; `feed status`
/// says why another will not run. Returns at once.
pub fn start(state: crate::AppState) {
    let slots = Arc::new(tokio::sync::Semaphore::new(2));
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "feeds: no HTTP client; the scheduler is off");
            return;
        }
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            let st = state.clone();
            let recs = match tokio::task::spawn_blocking(move || {
                let runners: Vec<Subject> = st.0.users.all().into_iter().cloned().collect();
                st.store().feeds_to_run(&runners)
            })
            .await
            {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "feeds: cannot list feeds");
                    continue;
                }
                Err(_) => continue,
            };
            for rec in recs {
                if !is_due(&rec, now()) {
                    continue;
                }
                let Some(claimed) = claim(&rec) else {
                    continue;
                };
                let (st, slots, client) = (state.clone(), slots.clone(), client.clone());
                tokio::spawn(async move {
                    let _permit = slots.acquire_owned().await;
                    let name = rec.name.clone();
                    let rt = tokio::runtime::Handle::current();
                    let res = tokio::task::spawn_blocking(move || {
                        let _claimed = claimed;
                        let store = st.store().clone();
                        match st.0.users.get(&rec.user).cloned() {
                            Some(subject) => run_feed(&store, &subject, &rec, &client, &rt),
                            // Left the directory since the list was read: next tick skips it.
                            None => {
                                Err(err(format!("user '{}' is not in the directory", rec.user)))
                            }
                        }
                    })
                    .await;
                    match res {
                        Ok(Ok(out)) => {
                            tracing::info!(feed = %name, items = out.items, new = out.new, updated = out.updated, "feed run")
                        }
                        Ok(Err(e)) => tracing::warn!(feed = %name, error = %e, "feed run failed"),
                        Err(e) => tracing::error!(feed = %name, error = %e, "feed run panicked"),
                    }
                });
            }
        }
    });
}
