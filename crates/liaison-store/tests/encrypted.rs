//! The encrypted (SQLCipher) store: the conformance suite, refused keys, rekey.

use liaison_store::crypt::{self, DbKey};
use liaison_store::{testsuite, SqliteStore, Store, StoreError};

fn key(b: u8) -> DbKey {
    DbKey::from_bytes(&[b; 32])
}

#[test]
fn encrypted_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::cell::Cell::new(0);
    testsuite::run_all(&|| {
        n.set(n.get() + 1);
        let path = dir.path().join(format!("store-{}.db", n.get()));
        Box::new(SqliteStore::open_encrypted(&path, testsuite::policy(), key(7)).unwrap())
            as Box<dyn Store>
    });
}

#[test]
fn wrong_or_missing_key_is_refused_and_rekey_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let s = SqliteStore::open_encrypted(&path, testsuite::policy(), key(1)).unwrap();
        testsuite::reads_are_label_filtered(&s);
    }
    assert!(crypt::is_encrypted(&path).unwrap());
    let denied = |r: Result<SqliteStore, StoreError>, want: &str| match r {
        Err(StoreError::Denied(m)) => assert!(m.contains(want), "{m}"),
        Err(e) => panic!("expected a refusal, got {e}"),
        Ok(_) => panic!("expected a refusal, the store opened"),
    };
    denied(
        SqliteStore::open_encrypted(&path, testsuite::policy(), key(2)),
        "wrong key",
    );
    denied(SqliteStore::open(&path, testsuite::policy()), "encrypted");
    let before = SqliteStore::open_encrypted(&path, testsuite::policy(), key(1))
        .unwrap()
        .stats(&testsuite::admin())
        .unwrap();

    let mut seen = Vec::new();
    crypt::rekey_file(&path, Some(&key(1)), &key(3), &mut |d, t| seen.push((d, t))).unwrap();
    assert_eq!(
        seen.last().map(|(d, t)| d == t),
        Some(true),
        "progress ends at 100 %"
    );
    assert!(!crypt::rekey_marker_path(&path).exists());
    assert!(!crypt::rekey_temp_path(&path).exists());
    denied(
        SqliteStore::open_encrypted(&path, testsuite::policy(), key(1)),
        "wrong key",
    );
    let after = SqliteStore::open_encrypted(&path, testsuite::policy(), key(3)).unwrap();
    assert_eq!(after.stats(&testsuite::admin()).unwrap(), before);
    // A subject without clearance still sees nothing after the rekey.
    testsuite::reads_are_label_filtered(&after);
}
