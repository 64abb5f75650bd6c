//! The audit log on disk: `audit/audit.log` (JSON lines: records and signed
//! checkpoints, see `liaison_protect::audit`) and `audit/head.json` (the newest
//! checkpoint, replaced atomically), in the data directory beside the store.
//!
//! Why a file of its own and not a table of the store: the log must record what
//! happens to the store itself (a refused key, a rekey that replaces the database
//! file, an import that rolls back), must not vanish with a store restored from
//! backup, and must be cheap to ship elsewhere (append-only lines, `tail -f` to a
//! collector). Appends take an advisory lock (`flock`), so a server and CLI commands
//! writing at once keep one chain; each process re-reads the last record when
//! another has written since.

use liaison_protect::audit::{self, Chain, Checkpoint, Query, Record, Report};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
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
    chain: Chain,
    /// File length after our last write: another process wrote when it differs.
    len: u64,
    since_checkpoint: u64,
}

/// An open audit log. Records are appended by [`AuditLog::record`]; a checkpoint is
/// signed every `checkpoint_every` records and when the log is dropped.
pub struct AuditLog {
    dir: PathBuf,
    inner: Mutex<Inner>,
    signer: Option<ed25519_dalek::SigningKey>,
    checkpoint_every: u64,
}

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

/// The last record of the log (reading only its tail).
fn last_record(file: &mut File, path: &Path) -> Result<(Option<Record>, u64), AuditError> {
    let len = file.seek(SeekFrom::End(0)).map_err(|e| io(path, e))?;
    let mut back = 4096u64;
    loop {
        let start = len.saturating_sub(back);
        file.seek(SeekFrom::Start(start)).map_err(|e| io(path, e))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf).map_err(|e| io(path, e))?;
        let text = String::from_utf8_lossy(&buf);
        let complete = if start == 0 {
            &text[..]
        } else {
            match text.find('\n') {
                Some(i) => &text[i + 1..],
                None => "",
            }
        };
        for line in complete.lines().rev() {
            if let Ok(audit::Line::Record(r)) = audit::parse_line(line) {
                return Ok((Some(r), len));
            }
        }
        if start == 0 {
            return Ok((None, len));
        }
        back *= 4;
    }
}

struct Flock<'a>(&'a File);

impl<'a> Flock<'a> {
    fn new(f: &'a File, path: &Path) -> Result<Self, AuditError> {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a file descriptor we own; released in Drop.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io(path, std::io::Error::last_os_error()));
        }
        Ok(Flock(f))
    }
}

impl Drop for Flock<'_> {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: unlocking the descriptor locked in `new`.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

impl AuditLog {
    /// Open (or create) the log in `dir`. Without a signer, records are chained but no
    /// checkpoint is signed (verification then cannot see truncation).
    pub fn open(
        dir: &Path,
        signer: Option<ed25519_dalek::SigningKey>,
    ) -> Result<AuditLog, AuditError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let path = log_path(dir);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let (last, len) = {
            let f = file.try_clone().map_err(|e| io(&path, e))?;
            let _lock = Flock::new(&f, &path)?;
            last_record(&mut file, &path)?
        };
        Ok(AuditLog {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                file,
                chain: last.as_ref().map(Chain::after).unwrap_or_default(),
                len,
                since_checkpoint: 0,
            }),
            signer,
            checkpoint_every: 1000,
        })
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

    /// Append several records under one lock and one write.
    pub fn record_many<'a>(
        &self,
        events: &mut dyn Iterator<Item = (&'a str, &'a str, Option<&'a str>, &'a str)>,
    ) -> Result<(), AuditError> {
        let path = log_path(&self.dir);
        let mut g = self.inner.lock().map_err(|_| AuditError::Broken {
            path: path.display().to_string(),
            reason: "lock poisoned".into(),
        })?;
        let inner = &mut *g;
        let f = inner.file.try_clone().map_err(|e| io(&path, e))?;
        let _lock = Flock::new(&f, &path)?;
        let len = inner.file.metadata().map_err(|e| io(&path, e))?.len();
        if len != inner.len {
            let (last, l) = last_record(&mut inner.file, &path)?;
            inner.chain = last.as_ref().map(Chain::after).unwrap_or_default();
            inner.len = l;
        }
        let mut buf = String::new();
        let ts = now_ms();
        for (user, action, object, detail) in events {
            let r = inner.chain.append(ts, user, action, object, detail);
            buf.push_str(&r.to_line());
            buf.push('\n');
            inner.since_checkpoint += 1;
            if inner.since_checkpoint >= self.checkpoint_every {
                if let Some(sk) = &self.signer {
                    buf.push_str(&Checkpoint::sign(sk, r.seq, r.hash).to_line());
                    buf.push('\n');
                    inner.since_checkpoint = 0;
                }
            }
        }
        inner
            .file
            .write_all(buf.as_bytes())
            .map_err(|e| io(&path, e))?;
        inner.len += buf.len() as u64;
        Ok(())
    }

    /// Sign a checkpoint of the last record, append it and make it the head.
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
        let f = inner.file.try_clone().map_err(|e| io(&path, e))?;
        let _lock = Flock::new(&f, &path)?;
        let (last, len) = last_record(&mut inner.file, &path)?;
        let Some(last) = last else {
            return Ok(());
        };
        let cp = Checkpoint::sign(sk, last.seq, last.hash);
        let line = cp.to_line() + "\n";
        inner
            .file
            .write_all(line.as_bytes())
            .map_err(|e| io(&path, e))?;
        inner.file.sync_data().map_err(|e| io(&path, e))?;
        inner.len = len + line.len() as u64;
        inner.chain = Chain::after(&last);
        inner.since_checkpoint = 0;
        let head = head_path(&self.dir);
        let tmp = self.dir.join("head.json.tmp");
        std::fs::write(&tmp, cp.to_line()).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &head).map_err(|e| io(&head, e))?;
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

/// The head checkpoint of an audit directory, if any.
pub fn read_head(dir: &Path) -> Result<Option<Checkpoint>, AuditError> {
    let p = head_path(dir);
    match std::fs::read_to_string(&p) {
        Ok(t) => match audit::parse_line(t.trim()) {
            Ok(audit::Line::Checkpoint(c)) => Ok(Some(c)),
            _ => Err(AuditError::Broken {
                path: p.display().to_string(),
                reason: "not a checkpoint".into(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&p, e)),
    }
}

/// Verify the log of an audit directory against the pinned public key.
pub fn verify(dir: &Path, key: &ed25519_dalek::VerifyingKey) -> Result<Report, AuditError> {
    let path = log_path(dir);
    let head = read_head(dir)?;
    let f = File::open(&path).map_err(|e| io(&path, e))?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let mut v = audit::Verifier::new(*key);
    let mut buf = Vec::new();
    let mut n = 0u64;
    let mut incomplete = None;
    loop {
        buf.clear();
        let got = r.read_until(b'\n', &mut buf).map_err(|e| io(&path, e))?;
        if got == 0 {
            break;
        }
        n += 1;
        if buf.last() != Some(&b'\n') {
            incomplete = Some(n);
        } else {
            buf.pop();
        }
        v.feed(n, &String::from_utf8_lossy(&buf));
    }
    Ok(v.finish(head.as_ref(), incomplete))
}

/// The records of the log that pass `q`, in order (unreadable lines are skipped:
/// `verify` reports them).
pub fn query(
    dir: &Path,
    q: &Query,
    sink: &mut dyn FnMut(&Record) -> std::io::Result<()>,
) -> Result<u64, AuditError> {
    let path = log_path(dir);
    let f = File::open(&path).map_err(|e| io(&path, e))?;
    let mut n = 0;
    for line in BufReader::with_capacity(1 << 20, f).lines() {
        let line = line.map_err(|e| io(&path, e))?;
        if let Ok(audit::Line::Record(r)) = audit::parse_line(&line) {
            if q.matches(&r) {
                sink(&r).map_err(|e| io(&path, e))?;
                n += 1;
            }
        }
    }
    Ok(n)
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
}
