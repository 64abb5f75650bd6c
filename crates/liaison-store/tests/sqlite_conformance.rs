//! The shared `Store` conformance suite, on SQLite (in memory and on disk).

use liaison_store::{testsuite, SqliteStore, Store};

#[test]
fn sqlite_in_memory_passes_the_suite() {
    testsuite::run_all(&|| {
        Box::new(SqliteStore::open_in_memory(testsuite::policy()).unwrap()) as Box<dyn Store>
    });
}

#[test]
fn sqlite_on_disk_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::cell::Cell::new(0);
    testsuite::run_all(&|| {
        n.set(n.get() + 1);
        let path = dir.path().join(format!("store-{}.db", n.get()));
        Box::new(SqliteStore::open(&path, testsuite::policy()).unwrap()) as Box<dyn Store>
    });
}

#[test]
fn labels_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let s = SqliteStore::open(&path, testsuite::policy()).unwrap();
        testsuite::reads_are_label_filtered(&s);
    }
    let s = SqliteStore::open(&path, testsuite::policy()).unwrap();
    let st = s.stats(&testsuite::admin()).unwrap();
    assert_eq!(st.objects, 2);
    assert_eq!(st.by_level.get("SECRET"), Some(&1));
}
