//! The audit log on disk: `audit/audit.log` (JSON lines: records and signed
//! checkpoints, see `liaison_protect::audit`) and `audit/head.json` (the last record
//! and the log's length, vouched for by an HMAC and an Ed25519 signature), in the data
//! directory beside the store.
//!
//! The head is renewed after every append, under the same lock as the append, so
//! whenever no writer holds the lock the head vouches for the whole log and cutting
//! anything off its end shows. It has two parts. The MAC part (HMAC-SHA256 under a key
//! derived from the signing seed, about a microsecond) covers `(last record, hash,
//! length)` after every append. The Ed25519-signed part is renewed only when the last
//! signature is [`SIGN_AFTER`] old or [`SIGN_EVERY`] records behind, and at every
//! checkpoint and close: one thread appending one record per call would otherwise
//! spend half its time signing. A verifier with the master key (the head key) checks
//! the MAC part and so the whole log; one holding only the public key checks up to the
//! newest signature and reports the records after it as covered only by the MAC
//! (`mac_tail`), not as intact. A crash between an append and the head leaves records
//! after both: `verify` reports them as an unsigned tail, apart from tampering. The head
//! is rewritten in place (one write of one sector, padded), not through
//! a temporary file and a rename, to keep an append cheap.
//!
//! With an [`AuditKey`] (encrypted deployments) records are sealed: only their number
//! and the chain hashes stay readable, so the log beside an encrypted store does not
//! name users, objects or queries in clear. `verify` needs only the public key.
//!
//! Why a file of its own and not a table of the store: the log must record what
//! happens to the store itself (a refused key, a rekey that replaces the database
//! file, an import that rolls back), must not vanish with a store restored from
//! backup, and must be cheap to ship elsewhere (append-only lines, `tail -f` to a
//! collector). Appends take an advisory lock (`flock`), so a server and CLI commands
//! writing at once keep one chain; each process re-reads the last record when
//! another has written since.

use liaison_protect::audit::{
    self, AuditKey, Chain, Checkpoint, Head, HeadKey, MacHead, Query, Record, Report,
};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Errors of the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file system failed.
    #[error("{path}: {err}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        err: std::io::Error,
    },
    /// The log's last line cannot be continued.
    #[error("{path}: {reason}")]
    Broken {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn io(path: &Path, err: std::io::Error) -> AuditError {
    AuditError::Io {
        path: path.display().to_string(),
        err,
    }
}

struct Inner {
    file: File,
    /// `head.json`, opened once: rewritten in place after every append.
    head: Option<File>,
    /// Records were appended since the head was last signed.
    head_stale: bool,
    chain: Chain,
    /// File length after our last write: another process wrote when it differs.
    len: u64,
    since_checkpoint: u64,
    /// The newest Ed25519-signed head part this process wrote (JSON), the record it
    /// vouches for and when it was signed.
    signed: Option<(String, u64, std::time::Instant)>,
}

/// The Ed25519 part of the head is renewed once the last signature is this old…
pub const SIGN_AFTER: std::time::Duration = std::time::Duration::from_millis(100);
/// …or this many records behind (and at every checkpoint and close).
pub const SIGN_EVERY: u64 = 1000;

/// An open audit log. Records are appended by [`AuditLog::record`]; a checkpoint is
/// signed every `checkpoint_every` records and when the log is dropped.
pub struct AuditLog {
    dir: PathBuf,
    inner: Mutex<Inner>,
    signer: Option<ed25519_dalek::SigningKey>,
    /// MACs the head after every append (derived from `signer`).
    head_key: Option<HeadKey>,
    seal: Option<AuditKey>,
    checkpoint_every: u64,
    /// When the signed part of the head is renewed: see [`SIGN_EVERY`], [`SIGN_AFTER`].
    sign_every: u64,
    sign_after: std::time::Duration,
    /// Threads of this process waiting to append (group commit of the head).
    waiting: AtomicUsize,
}

/// Size the head file is padded to: one sector, written whole by one `pwrite` (both
/// parts fit: about 490 bytes with 20-digit numbers, see the test).
const HEAD_SIZE: usize = 512;

/// The log file in an audit directory.
pub fn log_path(dir: &Path) -> PathBuf {
    dir.join("audit.log")
}

/// The head file in an audit directory.
pub fn head_path(dir: &Path) -> PathBuf {
    dir.join("head.json")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Number and hash of the last record of the log (reading only its tail), and the
/// log's length.
fn last_record(
    file: &mut File,
    path: &Path,
) -> Result<(Option<(u64, audit::Hash)>, u64), AuditError> {
    let len = file.seek(SeekFrom::End(0)).map_err(|e| io(path, e))?;
    let mut back = 4096u64;
    loop {
        let start = len.saturating_sub(back);
        file.seek(SeekFrom::Start(start)).map_err(|e| io(path, e))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf).map_err(|e| io(path, e))?;
        let complete = if start == 0 {
            &buf[..]
        } else {
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => &buf[i + 1..],
                None => &[][..],
            }
        };
        for line in complete.split(|&b| b == b'\n').rev() {
            if let Some(pos) = audit::chain_position(line) {
                return Ok((Some(pos), len));
            }
        }
        if start == 0 {
            return Ok((None, len));
        }
        back *= 4;
    }
}

/// An advisory lock on a log file descriptor, released when dropped. It holds the
/// raw descriptor (no duplicate per append): the `File` it came from outlives it in
/// every use (a local or the locked `Inner`).
struct Flock(std::os::fd::RawFd);

impl Flock {
    fn new(f: &File, path: &Path) -> Result<Self, AuditError> {
        Self::with(f, path, libc::LOCK_EX)
    }

    /// A shared lock: no writer is between its append and its head.
    fn shared(f: &File, path: &Path) -> Result<Self, AuditError> {
        Self::with(f, path, libc::LOCK_SH)
    }

    fn with(f: &File, path: &Path, op: libc::c_int) -> Result<Self, AuditError> {
        use std::os::fd::AsRawFd;
        let fd = f.as_raw_fd();
        // SAFETY: flock on an open descriptor; released in Drop, while still open.
        if unsafe { libc::flock(fd, op) } != 0 {
            return Err(io(path, std::io::Error::last_os_error()));
        }
        Ok(Flock(fd))
    }
}

impl Drop for Flock {
    fn drop(&mut self) {
        // SAFETY: unlocking the descriptor locked in `with`, which is still open.
        unsafe { libc::flock(self.0, libc::LOCK_UN) };
    }
}

impl AuditLog {
    /// Open (or create) the log in `dir`. Without a signer, records are chained but no
    /// checkpoint or head is signed (verification reports them as unsigned).
    pub fn open(
        dir: &Path,
        signer: Option<ed25519_dalek::SigningKey>,
    ) -> Result<AuditLog, AuditError> {
        Self::open_sealed(dir, signer, None)
    }

    /// [`AuditLog::open`], sealing every record under `seal` when given.
    pub fn open_sealed(
        dir: &Path,
        signer: Option<ed25519_dalek::SigningKey>,
        seal: Option<AuditKey>,
    ) -> Result<AuditLog, AuditError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let path = log_path(dir);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let head = match &signer {
            Some(_) => {
                let hp = head_path(dir);
                Some(
                    OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .read(true)
                        .write(true)
                        .open(&hp)
                        .map_err(|e| io(&hp, e))?,
                )
            }
            None => None,
        };
        let (last, len) = {
            let _lock = Flock::new(&file, &path)?;
            last_record(&mut file, &path)?
        };
        Ok(AuditLog {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                file,
                head,
                chain: last.map(|(s, h)| Chain::resume(s, h)).unwrap_or_default(),
                len,
                since_checkpoint: 0,
                head_stale: false,
                signed: None,
            }),
            head_key: signer.as_ref().map(HeadKey::derive),
            signer,
            seal,
            checkpoint_every: 1000,
            sign_every: SIGN_EVERY,
            sign_after: SIGN_AFTER,
            waiting: AtomicUsize::new(0),
        })
    }

    /// Renew the head's signature once it is `records` behind or `after` old (defaults
    /// [`SIGN_EVERY`], [`SIGN_AFTER`]); it is renewed at every checkpoint and close too.
    pub fn head_signing(mut self, records: u64, after: std::time::Duration) -> Self {
        self.sign_every = records.max(1);
        self.sign_after = after;
        self
    }

    /// Whether records are sealed.
    pub fn is_sealed(&self) -> bool {
        self.seal.is_some()
    }

    /// Append a record: `user` did `action` (see `liaison_protect::audit::action`) on
    /// `object`, with `detail`.
    pub fn record(
        &self,
        user: &str,
        action: &str,
        object: Option<&str>,
        detail: &str,
    ) -> Result<(), AuditError> {
        self.record_many(&mut std::iter::once((user, action, object, detail)))
    }

    /// Append several records under one lock and one write, then renew the head.
    ///
    /// Group commit: when other threads of this process wait to append, the head is
    /// left to the last of them (each renewal costs a MAC, a write and sometimes a
    /// signature), so a burst of appends pays for one; when no append is under way the
    /// head covers the whole log.
    pub fn record_many<'a>(
        &self,
        events: &mut dyn Iterator<Item = (&'a str, &'a str, Option<&'a str>, &'a str)>,
    ) -> Result<(), AuditError> {
        let path = log_path(&self.dir);
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let g = self.inner.lock();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let mut g = g.map_err(|_| AuditError::Broken {
            path: path.display().to_string(),
            reason: "lock poisoned".into(),
        })?;
        let inner = &mut *g;
        let r = self.append_locked(inner, events, &path);
        if r.is_err() {
            // The chain may have moved past what reached the file: read it again next time.
            inner.len = u64::MAX;
        }
        if inner.head_stale && (r.is_err() || self.waiting.load(Ordering::SeqCst) == 0) {
            self.write_head(inner, false)?;
            inner.head_stale = false;
        }
        r
    }

    fn append_locked<'a>(
        &self,
        inner: &mut Inner,
        events: &mut dyn Iterator<Item = (&'a str, &'a str, Option<&'a str>, &'a str)>,
        path: &Path,
    ) -> Result<(), AuditError> {
        let _lock = Flock::new(&inner.file, path)?;
        let len = inner.file.metadata().map_err(|e| io(path, e))?.len();
        if len != inner.len {
            let (last, l) = last_record(&mut inner.file, path)?;
            inner.chain = last.map(|(s, h)| Chain::resume(s, h)).unwrap_or_default();
            inner.len = l;
        }
        let mut buf = String::new();
        let ts = now_ms();
        let broken = |e: liaison_protect::ProtectError| AuditError::Broken {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        for (user, action, object, detail) in events {
            let (seq, hash) = inner
                .chain
                .append_to(
                    &mut buf,
                    ts,
                    user,
                    action,
                    object,
                    detail,
                    self.seal.as_ref(),
                )
                .map_err(broken)?;
            buf.push('\n');
            inner.since_checkpoint += 1;
            if inner.since_checkpoint >= self.checkpoint_every {
                if let Some(sk) = &self.signer {
                    buf.push_str(&Checkpoint::sign(sk, seq, hash).to_line());
                    buf.push('\n');
                    inner.since_checkpoint = 0;
                }
            }
        }
        if buf.is_empty() {
            return Ok(());
        }
        inner
            .file
            .write_all(buf.as_bytes())
            .map_err(|e| io(path, e))?;
        inner.len += buf.len() as u64;
        inner.head_stale = true;
        Ok(())
    }

    /// Renew the head over the last record and the log's length (lock held): the MAC
    /// part always, the signed part when `sign` or when the last signature is old.
    fn write_head(&self, inner: &mut Inner, sign: bool) -> Result<(), AuditError> {
        let (Some(sk), Some(hk), Some(file)) = (&self.signer, &self.head_key, &inner.head) else {
            return Ok(());
        };
        let (seq, hash) = inner.chain.last();
        let now = std::time::Instant::now();
        let renew = sign
            || match &inner.signed {
                None => true,
                Some((_, s, at)) => {
                    seq.saturating_sub(*s) >= self.sign_every
                        || *s > seq
                        || now.duration_since(*at) >= self.sign_after
                }
            };
        if renew {
            let c = Checkpoint::sign_head_v3(sk, seq, hash, inner.len);
            let json = serde_json::to_string(&c).map_err(|e| AuditError::Broken {
                path: head_path(&self.dir).display().to_string(),
                reason: e.to_string(),
            })?;
            inner.signed = Some((json, seq, now));
        }
        let mut line = String::with_capacity(HEAD_SIZE);
        line.push_str("{\"checkpoint\":");
        if let Some((json, _, _)) = &inner.signed {
            line.push_str(json);
        }
        line.push_str(",\"mac\":");
        MacHead::new(hk, seq, hash, inner.len).push_json(&mut line);
        line.push('}');
        // Padded to a fixed size: the whole head is replaced by one write.
        while line.len() < HEAD_SIZE - 1 {
            line.push(' ');
        }
        line.push('\n');
        let hp = head_path(&self.dir);
        file.write_all_at(line.as_bytes(), 0)
            .map_err(|e| io(&hp, e))?;
        Ok(())
    }

    /// Renew the head's Ed25519 signature when it lags behind the records this log
    /// wrote (appends sign it at most every [`SIGN_EVERY`] records or [`SIGN_AFTER`]).
    /// A server calls this when idle, so that a public-key-only verifier sees no
    /// MAC-only tail after a burst. Returns whether it signed. Cheap when up to date.
    pub fn renew_head(&self) -> Result<bool, AuditError> {
        if self.signer.is_none() {
            return Ok(false);
        }
        let path = log_path(&self.dir);
        let mut g = self.inner.lock().map_err(|_| AuditError::Broken {
            path: path.display().to_string(),
            reason: "lock poisoned".into(),
        })?;
        let inner = &mut *g;
        let (seq, _) = inner.chain.last();
        if seq == 0 || matches!(&inner.signed, Some((_, s, _)) if *s == seq) {
            return Ok(false);
        }
        // Another process may have appended since: sign what the file holds.
        let _lock = Flock::new(&inner.file, &path)?;
        let (last, len) = last_record(&mut inner.file, &path)?;
        let Some((seq, hash)) = last else {
            return Ok(false);
        };
        inner.len = len;
        inner.chain = Chain::resume(seq, hash);
        self.write_head(inner, true)?;
        inner.head_stale = false;
        Ok(true)
    }

    /// Sign a checkpoint of the last record, append it, re-sign the head, and make both
    /// durable (at close).
    pub fn checkpoint(&self) -> Result<(), AuditError> {
        let Some(sk) = &self.signer else {
            return Ok(());
        };
        let path = log_path(&self.dir);
        let mut g = self.inner.lock().map_err(|_| AuditError::Broken {
            path: path.display().to_string(),
            reason: "lock poisoned".into(),
        })?;
        let inner = &mut *g;
        let _lock = Flock::new(&inner.file, &path)?;
        let (last, len) = last_record(&mut inner.file, &path)?;
        let Some((seq, hash)) = last else {
            return Ok(());
        };
        let line = Checkpoint::sign(sk, seq, hash).to_line() + "\n";
        inner
            .file
            .write_all(line.as_bytes())
            .map_err(|e| io(&path, e))?;
        inner.file.sync_data().map_err(|e| io(&path, e))?;
        inner.len = len + line.len() as u64;
        inner.chain = Chain::resume(seq, hash);
        inner.since_checkpoint = 0;
        self.write_head(inner, true)?;
        inner.head_stale = false;
        if let Some(h) = &inner.head {
            h.sync_data().map_err(|e| io(&head_path(&self.dir), e))?;
        }
        Ok(())
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if let Err(e) = self.checkpoint() {
            eprintln!("audit: final checkpoint failed: {e}");
        }
    }
}

/// The head of an audit directory, if any (an empty head file, made by a writer that
/// has not appended yet, is none): its signed part and, from format 3, its MAC part.
pub fn read_head(dir: &Path) -> Result<Option<Head>, AuditError> {
    let p = head_path(dir);
    match std::fs::read_to_string(&p) {
        Ok(t) if t.trim().is_empty() => Ok(None),
        Ok(t) => match audit::parse_head(t.trim()) {
            Ok(h) => Ok(Some(h)),
            _ => Err(AuditError::Broken {
                path: p.display().to_string(),
                reason: "not a signed checkpoint (altered or damaged head)".into(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&p, e)),
    }
}

/// Verify the log of an audit directory against the pinned public key.
///
/// The head and the log's length are read together under a shared lock (no writer
/// is then between an append and its head); the log is then read up to that length
/// in large blocks whose lines are checked on every core, while writers go on
/// appending after it.
pub fn verify(dir: &Path, key: &ed25519_dalek::VerifyingKey) -> Result<Report, AuditError> {
    verify_with(dir, key, 0)
}

/// [`verify`] on at most `threads` threads (0: every core).
pub fn verify_with(
    dir: &Path,
    key: &ed25519_dalek::VerifyingKey,
    threads: usize,
) -> Result<Report, AuditError> {
    verify_progress(dir, key, threads, &mut |_, _| {})
}

/// [`verify_with`], telling `progress` the bytes read so far and the bytes to read.
pub fn verify_progress(
    dir: &Path,
    key: &ed25519_dalek::VerifyingKey,
    threads: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, AuditError> {
    verify_keyed(dir, key, None, threads, progress)
}

/// [`verify_progress`], checking the head's MAC part with `head_key` (derived from the
/// signing key, which the master key unwraps): then the whole log up to the last append
/// is checked, not only up to the newest signature.
pub fn verify_keyed(
    dir: &Path,
    key: &ed25519_dalek::VerifyingKey,
    head_key: Option<&HeadKey>,
    threads: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, AuditError> {
    let path = log_path(dir);
    let mut v = audit::Verifier::new(*key);
    v.head_key(head_key.cloned());
    if threads > 0 {
        v.threads(threads);
    }
    let f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // No log at all: intact only if nothing was ever signed.
            let head = read_head(dir)?.unwrap_or_default();
            v.expect(&head);
            return Ok(v.finish_head(&head, None));
        }
        Err(e) => return Err(io(&path, e)),
    };
    let (head, len) = {
        let _lock = Flock::shared(&f, &path)?;
        let len = f.metadata().map_err(|e| io(&path, e))?.len();
        (read_head(dir), len)
    };
    // A damaged head is tampering to report, not a failure to verify.
    let (head, damaged) = match head {
        Ok(h) => (h.unwrap_or_default(), None),
        Err(AuditError::Broken { reason, .. }) => (Head::default(), Some(reason)),
        Err(e) => return Err(e),
    };
    v.expect(&head);
    const BLOCK: usize = 8 << 20;
    let mut r = f.take(len);
    let mut buf = vec![0u8; BLOCK];
    let mut filled = 0;
    let mut read = 0u64;
    loop {
        if filled == buf.len() {
            // One line longer than a block: grow rather than split it.
            buf.resize(buf.len() * 2, 0);
        }
        let got = r.read(&mut buf[filled..]).map_err(|e| io(&path, e))?;
        if got == 0 {
            break;
        }
        filled += got;
        read += got as u64;
        progress(read, len);
        if let Some(end) = buf[..filled].iter().rposition(|&b| b == b'\n') {
            v.feed_block(&buf[..=end]);
            buf.copy_within(end + 1..filled, 0);
            filled -= end + 1;
        }
    }
    let mut incomplete = None;
    if filled > 0 {
        let n = v.lines_fed() + 1;
        v.feed(n, &String::from_utf8_lossy(&buf[..filled]));
        incomplete = Some(n);
    }
    let mut report = v.finish_head(&head, incomplete);
    if let Some(reason) = damaged {
        report
            .problems
            .retain(|p| !matches!(p, audit::Problem::HeadMissing { .. }));
        report.problems.push(audit::Problem::BadCheckpoint {
            line: 0,
            seq: 0,
            reason,
        });
    }
    Ok(report)
}

/// The records of a plain log that pass `q`, in order (unreadable lines are skipped:
/// `verify` reports them). A sealed record is an error: see [`query_with`].
pub fn query(
    dir: &Path,
    q: &Query,
    sink: &mut dyn FnMut(&Record) -> std::io::Result<()>,
) -> Result<u64, AuditError> {
    query_with(dir, None, q, sink).map(|o| o.matched)
}

/// What [`query_with`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryOutcome {
    /// Records passed to the sink.
    pub matched: u64,
    /// Lines that are neither a readable record nor a checkpoint (altered, or sealed
    /// records that do not open): `verify` names them.
    pub unreadable: u64,
}

/// The records that pass `q`, in order, opening sealed records with `key`. Without a
/// key, the first sealed record is an error naming it.
pub fn query_with(
    dir: &Path,
    key: Option<&AuditKey>,
    q: &Query,
    sink: &mut dyn FnMut(&Record) -> std::io::Result<()>,
) -> Result<QueryOutcome, AuditError> {
    let path = log_path(dir);
    let f = File::open(&path).map_err(|e| io(&path, e))?;
    let mut out = QueryOutcome::default();
    for (i, line) in BufReader::with_capacity(1 << 20, f).lines().enumerate() {
        let line = line.map_err(|e| io(&path, e))?;
        if key.is_none() && line.contains("\"enc\":\"") && line.starts_with("{\"v\":") {
            return Err(AuditError::Broken {
                path: path.display().to_string(),
                reason: format!(
                    "line {}: the record is sealed; reading the log needs the audit key (give the master key)",
                    i + 1
                ),
            });
        }
        match audit::parse_line_with(&line, key) {
            Ok(audit::Line::Record(r)) => {
                if q.matches(&r) {
                    sink(&r).map_err(|e| io(&path, e))?;
                    out.matched += 1;
                }
            }
            Ok(audit::Line::Checkpoint(_)) => {}
            Err(_) => out.unreadable += 1,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_writers_keep_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let sk = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        {
            let a = AuditLog::open(dir.path(), Some(sk.clone())).unwrap();
            let b = AuditLog::open(dir.path(), Some(sk.clone())).unwrap();
            for i in 0..50 {
                let (log, who) = if i % 3 == 0 { (&a, "a") } else { (&b, "b") };
                log.record(who, "read", Some("x"), "").unwrap();
            }
        }
        let r = verify(dir.path(), &sk.verifying_key()).unwrap();
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!((r.records, r.last_seq, r.unsigned_tail), (50, 50, 0));
        let mut by_a = 0;
        query(
            dir.path(),
            &Query {
                user: Some("a".into()),
                ..Default::default()
            },
            &mut |_| {
                by_a += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(by_a, 17);
    }

    #[test]
    fn truncation_after_a_checkpoint_shows() {
        let dir = tempfile::tempdir().unwrap();
        let sk = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        {
            let a = AuditLog::open(dir.path(), Some(sk.clone())).unwrap();
            for _ in 0..10 {
                a.record("u", "write", None, "").unwrap();
            }
        }
        let p = log_path(dir.path());
        let text = std::fs::read_to_string(&p).unwrap();
        let cut: Vec<&str> = text.lines().collect();
        std::fs::write(&p, cut[..5].join("\n") + "\n").unwrap();
        let r = verify(dir.path(), &sk.verifying_key()).unwrap();
        assert!(
            r.problems.iter().any(|p| matches!(
                p,
                audit::Problem::Truncated {
                    last_seq: 5,
                    expected_seq: 10
                }
            )),
            "{:?}",
            r.problems
        );
    }

    use audit::Problem;

    fn key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[1; 32])
    }

    /// A log of `n` records by "alice" on "indicator--<i>", sealed or not; the caller
    /// keeps it open or drops (closes) it.
    fn write(dir: &Path, n: usize, sealed: bool) -> AuditLog {
        let seal = sealed.then(|| AuditKey::derive(&key()));
        let log = AuditLog::open_sealed(dir, Some(key()), seal).unwrap();
        for i in 0..n {
            log.record("alice", "read", Some(&format!("indicator--{i:04}")), "get")
                .unwrap();
        }
        log
    }

    /// Verify as `liaison audit verify` with the master key: the head's MAC checked.
    fn check(dir: &Path) -> Report {
        let hk = HeadKey::derive(&key());
        verify_keyed(dir, &key().verifying_key(), Some(&hk), 0, &mut |_, _| {}).unwrap()
    }

    /// Verify with the public key only (an auditor without the master key).
    fn check_public(dir: &Path) -> Report {
        verify(dir, &key().verifying_key()).unwrap()
    }

    /// Keep the first `keep` bytes of the log.
    fn cut_to(dir: &Path, keep: usize) {
        let p = log_path(dir);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..keep]).unwrap();
    }

    fn line_starts(dir: &Path) -> Vec<usize> {
        let bytes = std::fs::read(log_path(dir)).unwrap();
        let mut v = vec![0];
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                v.push(i + 1);
            }
        }
        v
    }

    #[test]
    fn a_live_log_verifies_without_closing() {
        let dir = tempfile::tempdir().unwrap();
        let log = write(dir.path(), 25, true);
        let r = check(dir.path());
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!((r.records, r.signed_through, r.status()), (25, 25, "ok"));
        drop(log);
        assert!(check(dir.path()).ok());
        // Closed: the signature covers everything, the public key alone suffices.
        let r = check_public(dir.path());
        assert!(r.ok(), "{:?} {}", r.problems, r.unsigned_tail);
        assert_eq!((r.signature_through, r.mac_tail), (25, 0));
    }

    /// A log whose signed head stays at record `signed` while records go on to `n`
    /// (signature renewal pushed out of reach), kept open.
    fn write_with_mac_tail(dir: &Path, signed: usize, n: usize) -> AuditLog {
        let log = AuditLog::open(dir, Some(key()))
            .unwrap()
            .head_signing(u64::MAX, std::time::Duration::from_secs(3600));
        for i in 0..n {
            log.record("alice", "read", Some(&format!("indicator--{i:04}")), "")
                .unwrap();
            if i + 1 == signed {
                // A checkpoint signs the head (as a close or a flush does).
                log.checkpoint().unwrap();
            }
        }
        log
    }

    #[test]
    fn renewing_the_head_signs_the_mac_only_tail() {
        let dir = tempfile::tempdir().unwrap();
        let log = write_with_mac_tail(dir.path(), 4, 10);
        assert_eq!(check_public(dir.path()).mac_tail, 6);
        assert!(log.renew_head().unwrap());
        let r = check_public(dir.path());
        assert!(r.ok(), "{:?} {}", r.problems, r.mac_tail);
        assert_eq!((r.signature_through, r.mac_tail), (10, 0));
        // Up to date: nothing to sign.
        assert!(!log.renew_head().unwrap());
        // A cut of the newly signed records is now named by the public key too.
        let starts = line_starts(dir.path());
        cut_to(dir.path(), starts[9]);
        let r = check_public(dir.path());
        assert!(!r.ok());
        assert_eq!(r.status(), "tampered", "{:?}", r.problems);
    }

    #[test]
    fn a_cut_within_the_mac_covered_tail_is_named_by_the_keyed_verify() {
        let dir = tempfile::tempdir().unwrap();
        let _log = write_with_mac_tail(dir.path(), 4, 10);
        // Intact: the keyed verify vouches for all ten; the public key only for four,
        // and the six after the signature are not called intact.
        let r = check(dir.path());
        assert!(r.ok(), "{:?} {}", r.problems, r.unsigned_tail);
        assert_eq!((r.signed_through, r.signature_through), (10, 4));
        let r = check_public(dir.path());
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(
            (r.signature_through, r.mac_tail, r.unsigned_tail, r.status()),
            (4, 6, 6, "unsigned_tail")
        );
        assert!(!r.ok());

        // Lines: records 1-4, the checkpoint of 4, records 5-10. Cut records 8-10.
        let starts = line_starts(dir.path());
        cut_to(dir.path(), starts[8]);
        let r = check(dir.path());
        assert!(
            r.problems.contains(&Problem::Truncated {
                last_seq: 7,
                expected_seq: 10
            }),
            "{:?}",
            r.problems
        );
        assert!(
            r.problems
                .iter()
                .any(|p| matches!(p, Problem::Shortened { .. })),
            "{:?}",
            r.problems
        );
        assert_eq!(r.status(), "tampered");
        // Without the key: nothing it can prove, but not intact either.
        let r = check_public(dir.path());
        assert_eq!(
            (r.signature_through, r.mac_tail, r.status()),
            (4, 6, "unsigned_tail"),
            "{:?}",
            r.problems
        );
        assert!(!r.ok());

        // Every record after the signature cut: the public verify still does not say ok.
        cut_to(dir.path(), starts[5]);
        let r = check(dir.path());
        assert!(
            r.problems.contains(&Problem::Truncated {
                last_seq: 4,
                expected_seq: 10
            }),
            "{:?}",
            r.problems
        );
        let r = check_public(dir.path());
        assert_eq!(
            (r.last_seq, r.mac_tail, r.status()),
            (4, 6, "unsigned_tail")
        );
    }

    #[test]
    fn a_head_without_its_mac_part_or_with_a_forged_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let _log = write_with_mac_tail(dir.path(), 3, 6);
        let text = std::fs::read_to_string(head_path(dir.path())).unwrap();
        let head = audit::parse_head(&text).unwrap();
        let signed = head.signed.clone().unwrap();
        // The MAC part removed (and records 4-6 cut to match the signed head).
        let starts = line_starts(dir.path());
        cut_to(dir.path(), starts[4]);
        std::fs::write(
            head_path(dir.path()),
            audit::Head::signed(signed.clone()).to_line(),
        )
        .unwrap();
        for r in [check(dir.path()), check_public(dir.path())] {
            assert!(
                r.problems
                    .iter()
                    .any(|p| matches!(p, Problem::BadCheckpoint { line: 0, reason, .. } if reason.contains("MAC part is missing"))),
                "{:?}",
                r.problems
            );
        }
        // A MAC head rewritten to the shorter log without the key: its tag fails.
        let mut forged = head.mac.clone().unwrap();
        forged.seq = 3;
        forged.len = starts[4] as u64;
        forged.hash = signed.hash;
        let h = audit::Head {
            signed: Some(signed),
            mac: Some(forged),
        };
        std::fs::write(head_path(dir.path()), h.to_line()).unwrap();
        let r = check(dir.path());
        assert!(
            r.problems
                .iter()
                .any(|p| matches!(p, Problem::BadCheckpoint { line: 0, reason, .. } if reason.contains("MAC does not hold"))),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn the_largest_head_fits_in_one_sector() {
        let sk = key();
        let (seq, len, hash) = (u64::MAX, u64::MAX, [0xab; 32]);
        let h = audit::Head {
            signed: Some(Checkpoint::sign_head_v3(&sk, seq, hash, len)),
            mac: Some(MacHead::new(&HeadKey::derive(&sk), seq, hash, len)),
        };
        let line = h.to_line();
        assert!(line.len() < HEAD_SIZE, "{} bytes", line.len());
        assert_eq!(audit::parse_head(&line).unwrap(), h);
    }

    #[test]
    fn a_version_2_head_still_verifies() {
        // A head file written before the MAC part existed: only the signed head.
        let dir = tempfile::tempdir().unwrap();
        drop(write(dir.path(), 5, false));
        let text = std::fs::read_to_string(head_path(dir.path())).unwrap();
        let h = audit::parse_head(&text).unwrap().signed.unwrap();
        let old = Checkpoint::sign_head(&key(), h.seq, h.hash, h.len.unwrap());
        assert!(old.v.is_none());
        std::fs::write(head_path(dir.path()), old.to_line() + "\n").unwrap();
        for r in [check(dir.path()), check_public(dir.path())] {
            assert!(r.ok(), "{:?} {}", r.problems, r.unsigned_tail);
            assert_eq!(r.signed_through, 5);
        }
        // …and a cut under it still shows.
        let starts = line_starts(dir.path());
        cut_to(dir.path(), starts[3]);
        let r = check(dir.path());
        assert!(
            r.problems.contains(&Problem::Truncated {
                last_seq: 3,
                expected_seq: 5
            }),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn deleting_the_last_record_of_a_live_log_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let _log = write(dir.path(), 10, false);
        let starts = line_starts(dir.path());
        // 10 record lines, no checkpoint line yet (the log is open): drop line 10.
        cut_to(dir.path(), starts[9]);
        let r = check(dir.path());
        assert!(
            r.problems.contains(&Problem::Truncated {
                last_seq: 9,
                expected_seq: 10
            }),
            "{:?}",
            r.problems
        );
        assert_eq!(r.status(), "tampered");
    }

    #[test]
    fn deleting_the_last_records_of_a_closed_log_is_named() {
        let dir = tempfile::tempdir().unwrap();
        drop(write(dir.path(), 10, true));
        let starts = line_starts(dir.path());
        // Lines 1-10 records, 11 the closing checkpoint: keep records 1-6.
        cut_to(dir.path(), starts[6]);
        let r = check(dir.path());
        assert!(
            r.problems.contains(&Problem::Truncated {
                last_seq: 6,
                expected_seq: 10
            }),
            "{:?}",
            r.problems
        );
        // Only the closing checkpoint line cut: no record lost, but the log is shorter
        // than the head signed.
        let dir = tempfile::tempdir().unwrap();
        drop(write(dir.path(), 3, false));
        let starts = line_starts(dir.path());
        cut_to(dir.path(), starts[3]);
        let r = check(dir.path());
        assert!(
            r.problems
                .iter()
                .any(|p| matches!(p, Problem::Shortened { .. })),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn a_log_cut_mid_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let _log = write(dir.path(), 5, true);
        let starts = line_starts(dir.path());
        cut_to(dir.path(), starts[4] + 20);
        let r = check(dir.path());
        assert!(
            r.problems.contains(&Problem::IncompleteLine { line: 5 }),
            "{:?}",
            r.problems
        );
        assert!(
            r.problems
                .iter()
                .any(|p| matches!(p, Problem::Shortened { .. })),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn a_removed_head_is_named() {
        let dir = tempfile::tempdir().unwrap();
        drop(write(dir.path(), 4, false));
        std::fs::remove_file(head_path(dir.path())).unwrap();
        let r = check(dir.path());
        assert_eq!(r.problems, vec![Problem::HeadMissing { records: 4 }]);
        // A damaged head is named too.
        std::fs::write(head_path(dir.path()), "{\"checkpoint\":{\"seq\":").unwrap();
        let r = check(dir.path());
        assert!(
            matches!(&r.problems[..], [Problem::BadCheckpoint { line: 0, .. }]),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn records_after_the_head_after_a_crash_are_reported_as_unsigned() {
        let dir = tempfile::tempdir().unwrap();
        let log = write(dir.path(), 6, false);
        let head = std::fs::read(head_path(dir.path())).unwrap();
        for _ in 0..2 {
            log.record("alice", "write", None, "").unwrap();
        }
        // A crash between the append and the head: the head still vouches for record 6.
        std::mem::forget(log);
        std::fs::write(head_path(dir.path()), head).unwrap();
        let r = check(dir.path());
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(
            (r.unsigned_tail, r.signed_through, r.status()),
            (2, 6, "unsigned_tail")
        );
        assert!(!r.ok());
        // The next keyed append signs them.
        drop(AuditLog::open(dir.path(), Some(key())).unwrap());
        let log = AuditLog::open(dir.path(), Some(key())).unwrap();
        log.record("bob", "read", None, "").unwrap();
        let r = check(dir.path());
        assert!(r.ok(), "{:?} {}", r.problems, r.unsigned_tail);
        assert_eq!(r.records, 9);
    }

    #[test]
    fn sealed_records_do_not_name_users_or_objects_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        drop(write(dir.path(), 20, true));
        let text = std::fs::read_to_string(log_path(dir.path())).unwrap();
        // Quoted as the clear record has them: a bare `get` turned up in
        // the base64 of the sealed records about once a hundred runs.
        for needle in ["alice", "indicator--0007", "\"read\"", "\"get\""] {
            assert!(!text.contains(needle), "{needle} found in the sealed log");
        }
        let r = check(dir.path());
        assert!(r.ok(), "{:?}", r.problems);
        // Reading needs the key; with it, the records are whole.
        let q = Query {
            object: Some("indicator--0007".into()),
            ..Default::default()
        };
        let e = query(dir.path(), &q, &mut |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("sealed"), "{e}");
        let mut got = Vec::new();
        let o = query_with(dir.path(), Some(&AuditKey::derive(&key())), &q, &mut |r| {
            got.push(r.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!((o.matched, o.unreadable), (1, 0));
        assert_eq!(
            (got[0].seq, got[0].user.as_str(), got[0].detail.as_str()),
            (8, "alice", "get")
        );
        // A wrong key opens nothing.
        let other = AuditKey::derive(&ed25519_dalek::SigningKey::from_bytes(&[2; 32]));
        let o = query_with(dir.path(), Some(&other), &Query::default(), &mut |_| Ok(())).unwrap();
        assert_eq!((o.matched, o.unreadable), (0, 20));
    }

    #[test]
    fn tampering_with_a_sealed_record_is_named() {
        let dir = tempfile::tempdir().unwrap();
        drop(write(dir.path(), 8, true));
        let p = log_path(dir.path());
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        // Change one character of record 3's ciphertext.
        let at = lines[2].find("\"enc\":\"").unwrap() + 12;
        let mut b = lines[2].clone().into_bytes();
        b[at] = if b[at] == b'A' { b'B' } else { b'A' };
        lines[2] = String::from_utf8(b).unwrap();
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        let r = check(dir.path());
        assert!(
            r.problems.contains(&Problem::Altered { line: 3, seq: 3 }),
            "{:?}",
            r.problems
        );
        // Record 5 removed.
        let mut del = text.lines().map(str::to_string).collect::<Vec<_>>();
        del.remove(4);
        std::fs::write(&p, del.join("\n") + "\n").unwrap();
        let r = check(dir.path());
        assert!(
            r.problems.contains(&Problem::Deleted {
                from: 5,
                to: 5,
                line: 5
            }),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn concurrent_appends_leave_the_head_over_the_whole_log() {
        // Group commit skips re-signing while others wait; once every append returned,
        // the head must cover them all (no unsigned tail), with the log still open.
        let dir = tempfile::tempdir().unwrap();
        let log = write(dir.path(), 0, true);
        std::thread::scope(|s| {
            for t in 0..8 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..200 {
                        log.record(&format!("u{t}"), "read", Some(&format!("x{i}")), "")
                            .unwrap();
                    }
                });
            }
        });
        let r = check(dir.path());
        assert!(r.ok(), "{:?}, unsigned {}", r.problems, r.unsigned_tail);
        assert_eq!((r.records, r.signed_through), (1600, 1600));
        drop(log);
    }

    #[test]
    fn verify_reads_blocks_across_line_boundaries() {
        // More than one 8 MiB block, on one and on two threads: the same report.
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), Some(key())).unwrap();
        let detail = "x".repeat(300);
        let n = 30_000;
        let events: Vec<String> = (0..n).map(|i| format!("indicator--{i}")).collect();
        log.record_many(
            &mut events
                .iter()
                .map(|o| ("alice", "read", Some(o.as_str()), detail.as_str())),
        )
        .unwrap();
        drop(log);
        assert!(std::fs::metadata(log_path(dir.path())).unwrap().len() > 8 << 20);
        for threads in [1, 2] {
            let r = verify_with(dir.path(), &key().verifying_key(), threads).unwrap();
            assert!(r.ok(), "{:?}", r.problems);
            assert_eq!((r.records, r.last_seq), (n, n));
        }
    }
}
