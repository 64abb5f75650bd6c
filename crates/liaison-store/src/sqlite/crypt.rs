//! Encryption at rest: SQLCipher (AES-256-CBC pages with HMAC-SHA512, built into the
//! bundled SQLite) keyed with a raw 256-bit data key.
//!
//! The data key never comes from a passphrase directly: the binary unwraps it from
//! the keyring with the master key and hands it here. Every connection the store
//! opens (writer and pooled readers) applies the key before its first statement.
//! A store opened without its key, or with another, is refused with a clear error
//! before anything is read or written.
//!
//! Rekey (a new data key for the whole file) copies the database into a new file
//! under the new key with `sqlcipher_export`, then renames it over the old one. The
//! old file is untouched until the rename, which is atomic, so a crash at any point
//! leaves either the old file (under the old key) or the new one (under the new key);
//! the keyring records the new key as *pending* before the copy starts, so whichever
//! it is opens. Running the copy again after a crash starts it over.

use crate::StoreError;
use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};

/// The raw data key of an encrypted store, wiped when dropped.
pub struct DbKey {
    hex: zeroize::Zeroizing<String>,
}

impl DbKey {
    /// A data key from its 32 bytes.
    pub fn from_bytes(key: &[u8; 32]) -> Self {
        let mut hex = zeroize::Zeroizing::new(String::with_capacity(64));
        for b in key {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        DbKey { hex }
    }

    fn pragma(&self, schema: &str) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!(
            "PRAGMA {schema}key = \"x'{}'\";",
            self.hex.as_str()
        ))
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(..)")
    }
}

/// The page size SQLCipher uses for Liaison's stores (the plain store's 16 KiB: fewer
/// B-tree levels, and one HMAC per 16 KiB instead of per 4 KiB).
const CIPHER_PAGE_SIZE: u32 = 16384;

/// Key a fresh connection (must be its first statement), then check the key opens it.
pub(crate) fn apply_key(conn: &Connection, key: Option<&DbKey>) -> Result<(), StoreError> {
    if let Some(k) = key {
        conn.execute_batch(&k.pragma(""))?;
        conn.execute_batch(&format!("PRAGMA cipher_page_size = {CIPHER_PAGE_SIZE};"))?;
    }
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(|e| locked(e, key.is_some()))
}

fn locked(e: rusqlite::Error, keyed: bool) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) if keyed => StoreError::Denied(
            "the database key does not open this store: wrong key (or the file is not a Liaison store)".into(),
        ),
        Some(ErrorCode::NotADatabase) => StoreError::Denied(
            "this store is encrypted: it opens only with its key".into(),
        ),
        _ => StoreError::Db(e),
    }
}

/// Whether the file at `path` is an encrypted store (a plain SQLite file starts with
/// its magic string; an encrypted one with random salt). Absent or empty: false.
pub fn is_encrypted(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut head = [0u8; 16];
    let n = f.read(&mut head)?;
    Ok(n == 16 && &head != b"SQLite format 3\0")
}

/// Whether `key` opens the store at `path` (false for another key or a plain file).
pub fn probe(path: &Path, key: &DbKey) -> Result<bool, StoreError> {
    let conn = Connection::open(path)?;
    match apply_key(&conn, Some(key)) {
        Ok(()) => Ok(true),
        Err(StoreError::Denied(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The marker a rekey keeps beside the store while it runs: Liaison refuses to open
/// the store while it exists, so that no process holds the old file when the new one
/// is renamed in (its writes would be lost with the old file).
pub fn rekey_marker_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".rekeying");
    PathBuf::from(p)
}

/// The file a rekey copies into before it replaces the store.
pub fn rekey_temp_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".rekey");
    PathBuf::from(p)
}

/// Re-encrypt the store at `path` from `old` (None: a plain store) to `new`,
/// calling `progress(bytes written, bytes of the store)` as the copy grows.
///
/// The store must not be open elsewhere (a server, another command): the copy takes
/// the exclusive lock and is refused with a clear error while anyone holds it.
pub fn rekey_file(
    path: &Path,
    old: Option<&DbKey>,
    new: &DbKey,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), StoreError> {
    let tmp = rekey_temp_path(path);
    let marker = rekey_marker_path(path);
    std::fs::write(&marker, b"rekey in progress\n")
        .map_err(|e| StoreError::Sink(format!("{}: {e}", marker.display())))?;
    let out = rekey_locked(path, &tmp, old, new, progress);
    if out.is_err() {
        // The rename is the last step, so the store was not replaced: the copy is of no use.
        let _ = std::fs::remove_file(&tmp);
    }
    // A crash leaves the marker, and Liaison refuses the store until a rekey is run again.
    let _ = std::fs::remove_file(&marker);
    out
}

fn rekey_locked(
    path: &Path,
    tmp: &Path,
    old: Option<&DbKey>,
    new: &DbKey,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), StoreError> {
    let tmp = tmp.to_path_buf();
    for p in [
        tmp.clone(),
        PathBuf::from(format!("{}-journal", tmp.display())),
    ] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Sink(format!("{}: {e}", p.display()))),
        }
    }
    let total = std::fs::metadata(path)
        .map_err(|e| StoreError::Sink(format!("{}: {e}", path.display())))?
        .len()
        .max(1);
    {
        let conn = Connection::open(path)?;
        apply_key(&conn, old)?;
        conn.busy_timeout(std::time::Duration::from_millis(200))?;
        conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE;")?;
        conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;").map_err(|e| {
            if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) {
                StoreError::Denied(format!(
                    "{} is in use (a server or another command has it open): stop it, then run the rekey again",
                    path.display()
                ))
            } else {
                StoreError::Db(e)
            }
        })?;
        // Everything in the main file, so the copy is complete and the old log can go.
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        let tmp_text = tmp
            .to_str()
            .ok_or_else(|| StoreError::Sink(format!("{}: path is not UTF-8", tmp.display())))?
            .replace('\'', "''");
        conn.execute_batch(&zeroize::Zeroizing::new(format!(
            "ATTACH DATABASE '{tmp_text}' AS rekeyed KEY \"x'{}'\";
             PRAGMA rekeyed.cipher_page_size = {CIPHER_PAGE_SIZE};",
            new.hex.as_str()
        )))?;
        // The copy runs on its own thread; this one reports its progress from the size of
        // the file it writes.
        let done = std::sync::atomic::AtomicBool::new(false);
        let flag = &done;
        let result = std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                let r = conn
                    .execute_batch("BEGIN EXCLUSIVE; SELECT sqlcipher_export('rekeyed'); COMMIT;");
                flag.store(true, std::sync::atomic::Ordering::Release);
                (conn, r)
            });
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                let n = std::fs::metadata(&tmp).map(|m| m.len()).unwrap_or(0);
                progress(n.min(total), total);
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            worker.join()
        });
        let conn = match result {
            Ok((conn, r)) => {
                r?;
                conn
            }
            Err(_) => return Err(StoreError::Corrupt("rekey copy thread panicked".into())),
        };
        conn.execute_batch("DETACH DATABASE rekeyed;")?;
        // Check the copy opens under the new key and holds every object before it replaces anything.
        let check = Connection::open(&tmp)?;
        apply_key(&check, Some(new))?;
        let (a, b): (i64, i64) = (
            conn.query_row("SELECT count(*) FROM objects", [], |r| r.get(0))?,
            check.query_row("SELECT count(*) FROM objects", [], |r| r.get(0))?,
        );
        if a != b {
            return Err(StoreError::Corrupt(format!(
                "rekey copy holds {b} object versions, the store {a}: the store was left as it was"
            )));
        }
        drop(check);
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::Sink(format!("{}: {e}", tmp.display())))?;
    }
    std::fs::rename(&tmp, path)
        .map_err(|e| StoreError::Sink(format!("{} -> {}: {e}", tmp.display(), path.display())))?;
    // The old store's (empty) WAL index must not be taken for the new file's.
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    progress(total, total);
    Ok(())
}

impl super::SqliteStore {
    /// Open (or create) an encrypted store with its data key. A wrong key is refused
    /// with [`StoreError::Denied`] before anything is read.
    pub fn open_encrypted(
        path: &Path,
        policy: liaison_policy::Policy,
        key: DbKey,
    ) -> Result<Self, StoreError> {
        Self::open_inner(Some(path.to_path_buf()), policy, Some(key))
    }
}
