//! Protection end to end: encrypted store, wrong key, rotation and rekey (under
//! concurrent readers and writers), the audit chain, signed sharing.

mod common;
use common::*;
use std::path::{Path, PathBuf};

const WORD: &str = "Zqxwvplumbago";

fn bundle(dir: &Path, name: &str, n: usize, word: &str) -> PathBuf {
    // Ids distinct per bundle name, so bundles add objects rather than conflict.
    let tag = name
        .bytes()
        .fold(0u16, |h, b| h.wrapping_mul(31).wrapping_add(u16::from(b)));
    let objs: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"malware","spec_version":"2.1","id":"malware--{i:08x}-{tag:04x}-459a-80ea-9c1f17b5891b","created":"2016-04-06T20:07:09.000Z","modified":"2016-04-06T20:07:09.000Z","name":"{word} {name} {i}","is_family":true}}"#
            )
        })
        .collect();
    let p = dir.join(format!("{name}.json"));
    std::fs::write(
        &p,
        format!(
            r#"{{"type":"bundle","id":"bundle--11111111-1111-4111-8111-111111111111","objects":[{}]}}"#,
            objs.join(",")
        ),
    )
    .unwrap();
    p
}

fn keyed(data: &Path, key: &Path, args: &[&str]) -> Run {
    let out = bin()
        .env("LIAISON_MASTER_KEY_FILE", key)
        .env_remove("LIAISON_MASTER_KEY")
        .env_remove("LIAISON_PASSPHRASE")
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run liaison");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every byte of the store and its WAL.
fn raw_store(data: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for ext in ["", "-wal"] {
        if let Ok(b) = std::fs::read(format!("{}{ext}", data.join("liaison.db").display())) {
            all.extend(b);
        }
    }
    all
}

/// A digest of everything the admin can export (objects sorted by id and version).
fn content_hash(data: &Path, key: &Path) -> (usize, String) {
    let r = keyed(data, key, &["export", "--all-versions", "--no-labels"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let mut objs: Vec<String> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.to_string())
        .collect();
    objs.sort();
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for o in &objs {
        h.update(o.as_bytes());
        h.update(b"\n");
    }
    (objs.len(), hex::encode(h.finalize()))
}

#[test]
fn encrypted_store_refuses_missing_and_wrong_keys_and_hides_its_content() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(tmp.path());
    let f = bundle(tmp.path(), "plain", 50, WORD);
    assert_eq!(run(&data, &["import", f.to_str().unwrap()]).code, 0);
    assert!(
        contains(&raw_store(&data), WORD.as_bytes()),
        "a plain store holds the word"
    );

    let key = tmp.path().join("master.key");
    let r = run(
        &data,
        &["keys", "init", "--generate-key-file", key.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !contains(&raw_store(&data), WORD.as_bytes()),
        "the encrypted store file must not contain the imported text"
    );

    // No key: refused, saying how to give one.
    let r = run(&data, &["search", WORD]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("LIAISON_MASTER_KEY"), "{}", r.stderr);

    // Another key: refused, naming the mismatch.
    let wrong = tmp.path().join("wrong.key");
    std::fs::write(&wrong, "11".repeat(32)).unwrap();
    let r = keyed(&data, &wrong, &["search", WORD]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not the keyring's"), "{}", r.stderr);

    // Keyring gone: the file alone does not open.
    let ring = std::fs::read(data.join("keyring.json")).unwrap();
    std::fs::remove_file(data.join("keyring.json")).unwrap();
    let r = keyed(&data, &key, &["search", WORD]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("encrypted"), "{}", r.stderr);
    std::fs::write(data.join("keyring.json"), ring).unwrap();

    // The right key: everything is there, and new writes are encrypted too.
    let r = keyed(&data, &key, &["search", "--json", WORD]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r)["total"], 50);
    let g = bundle(tmp.path(), "later", 5, "Yvortlequin");
    assert_eq!(keyed(&data, &key, &["import", g.to_str().unwrap()]).code, 0);
    assert!(!contains(&raw_store(&data), b"Yvortlequin"));

    // The refused opens are in the audit log, and the chain still verifies.
    let r = keyed(
        &data,
        &key,
        &["audit", "query", "--json", "--action", "denied"],
    );
    // (The open without a keyring is not: the data directory then has no audit signer.)
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(r.stdout.contains("not the keyring's"), "{}", r.stdout);
    let r = keyed(&data, &key, &["audit", "verify"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn rotation_and_rekey_under_concurrent_readers_and_writers_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(tmp.path());
    let key = tmp.path().join("master.key");
    let f = bundle(tmp.path(), "base", 300, WORD);
    assert_eq!(run(&data, &["import", f.to_str().unwrap()]).code, 0);
    let r = run(
        &data,
        &["keys", "init", "--generate-key-file", key.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let before = content_hash(&data, &key);

    // Rotations (re-wrapping under new master keys) while readers and a writer work.
    let writes: Vec<PathBuf> = (0..6)
        .map(|i| bundle(tmp.path(), &format!("w{i}"), 20, &format!("Wrt{i}")))
        .collect();
    let cur = std::sync::Arc::new(std::sync::Mutex::new(key.clone()));
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            for _ in 0..8 {
                let k = cur.lock().unwrap().clone();
                let r = keyed(&data, &k, &["search", "--json", WORD]);
                // A reader may pick up the key file of a rotation that is not saved yet.
                if r.code == 0 {
                    assert_eq!(json(&r)["total"], 300);
                }
            }
        });
        let writer = s.spawn(|| {
            for w in &writes {
                loop {
                    let k = cur.lock().unwrap().clone();
                    let r = keyed(&data, &k, &["import", w.to_str().unwrap()]);
                    if r.code == 0 {
                        break;
                    }
                    // Retry on a key file not yet saved by a rotation, and on SQLite's busy
                    // snapshot when another process's open wrote (its seed) meanwhile: both
                    // leave the store as it was (one transaction per file).
                    assert!(
                        r.stderr.contains("master key") || r.stderr.contains("locked"),
                        "{}",
                        r.stderr
                    );
                }
            }
        });
        for i in 0..3 {
            let mut g = cur.lock().unwrap();
            let new = tmp.path().join(format!("master{i}.key"));
            let r = keyed(
                &data,
                &g,
                &[
                    "keys",
                    "rotate",
                    "--generate-key-file",
                    new.to_str().unwrap(),
                ],
            );
            assert_eq!(r.code, 0, "{}", r.stderr);
            *g = new;
            drop(g);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        reader.join().unwrap();
        writer.join().unwrap();
    });
    let key = cur.lock().unwrap().clone();
    let after_rotation = content_hash(&data, &key);
    assert_eq!(after_rotation.0, before.0 + 120, "every write kept");

    // Rekey: the data re-encrypted under a new data key, content unchanged.
    let r = keyed(&data, &key, &["keys", "rekey", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let status = json(&r);
    let states: Vec<&str> = status["data_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["retired", "current"]);
    assert_eq!(content_hash(&data, &key), after_rotation);
    let events: Vec<&str> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "init",
            "rotate",
            "rotate",
            "rotate",
            "rekey-start",
            "rekey-done"
        ]
    );
}

#[test]
fn rekey_is_refused_while_the_store_is_open_and_recovers_after_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(tmp.path());
    let key = tmp.path().join("master.key");
    let f = bundle(tmp.path(), "base", 40, WORD);
    assert_eq!(run(&data, &["import", f.to_str().unwrap()]).code, 0);
    assert_eq!(
        run(
            &data,
            &["keys", "init", "--generate-key-file", key.to_str().unwrap()]
        )
        .code,
        0
    );
    let before = content_hash(&data, &key);
    // A crash in the middle of a copy leaves the marker and a partial copy.
    std::fs::write(data.join("liaison.db.rekeying"), "x").unwrap();
    std::fs::write(data.join("liaison.db.rekey"), "partial").unwrap();
    let r = keyed(&data, &key, &["search", WORD]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("rekey"), "{}", r.stderr);
    let r = keyed(&data, &key, &["keys", "rekey"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!data.join("liaison.db.rekeying").exists());
    assert!(!data.join("liaison.db.rekey").exists());
    assert_eq!(content_hash(&data, &key), before);
}

#[test]
fn audit_records_reads_writes_exports_and_detects_tampering() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(tmp.path());
    let key = tmp.path().join("master.key");
    assert_eq!(
        run(
            &data,
            &["keys", "init", "--generate-key-file", key.to_str().unwrap()]
        )
        .code,
        0
    );
    let f = bundle(tmp.path(), "a", 3, WORD);
    assert_eq!(keyed(&data, &key, &["import", f.to_str().unwrap()]).code, 0);
    let tag = b"a"[0];
    let id = &format!("malware--00000001-{:04x}-459a-80ea-9c1f17b5891b", tag);
    assert_eq!(keyed(&data, &key, &["get", id]).code, 0);
    assert_eq!(keyed(&data, &key, &["search", WORD]).code, 0);
    let out = tmp.path().join("out.json");
    assert_eq!(
        keyed(&data, &key, &["export", "--out", out.to_str().unwrap()]).code,
        0
    );
    let r = keyed(&data, &key, &["audit", "query", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let recs: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = recs.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["key", "write", "read", "search", "export"]);
    let r = keyed(
        &data,
        &key,
        &[
            "audit", "query", "--json", "--action", "read", "--object", id,
        ],
    );
    assert_eq!(r.stdout.lines().count(), 1, "{}{}", r.stdout, r.stderr);

    // The log names every user's searches and ids: a reader who is not an
    // administrator may not query it.
    let mut cfg = std::fs::read_to_string(data.join("config.toml")).unwrap();
    cfg.push_str(
        "\n[[users]]\nname = \"reader\"\norg = \"cert\"\nclearance = \"TOP SECRET\"\ncompartments = [\"GRID\"]\nroles = [\"reader\"]\n",
    );
    std::fs::write(data.join("config.toml"), cfg).unwrap();
    let r = keyed(&data, &key, &["--as", "reader", "audit", "query", "--json"]);
    assert_ne!(r.code, 0);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("administrators only"), "{}", r.stderr);

    let r = keyed(&data, &key, &["audit", "verify"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // The store is encrypted, so the log beside it is sealed: the user, the object id
    // read and the query searched are not in the file.
    let log = data.join("audit/audit.log");
    let text = std::fs::read_to_string(&log).unwrap();
    for needle in [id.as_str(), WORD, "\"admin\"", "\"read\""] {
        assert!(!text.contains(needle), "{needle} readable in the audit log");
    }

    // Alter the read record (line of record 3, one character of its ciphertext): named
    // by verify, which needs no decryption key.
    let tampered: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("{\"v\":2,\"seq\":3,") {
                let at = l.find("\"enc\":\"").unwrap() + 20;
                let c = if &l[at..at + 1] == "A" { "B" } else { "A" };
                format!("{}{c}{}", &l[..at], &l[at + 1..])
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&log, tampered.join("\n") + "\n").unwrap();
    let r = keyed(&data, &key, &["audit", "verify", "--json"]);
    assert_eq!(r.code, 1);
    let v = json(&r);
    assert_eq!(v["report"]["problems"][0]["kind"], "altered");
    assert_eq!(v["report"]["problems"][0]["seq"], 3);

    // Cut the log short: the head checkpoint shows it.
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&log, lines[..2].join("\n") + "\n").unwrap();
    let r = keyed(&data, &key, &["audit", "verify"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("truncated"), "{}", r.stdout);

    // Only the last record and the checkpoint after it cut: named too.
    let last_record = lines.iter().rposition(|l| l.starts_with("{\"v\"")).unwrap();
    let kept = lines[..last_record].join("\n") + "\n";
    std::fs::write(&log, &kept).unwrap();
    let r = keyed(&data, &key, &["audit", "verify", "--json"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v = json(&r);
    assert_eq!(v["status"], "tampered");
    assert!(
        v["problems_text"][0]
            .as_str()
            .unwrap()
            .contains("ends at record 4"),
        "{}",
        r.stdout
    );

    // The head removed: named.
    std::fs::write(&log, &text).unwrap();
    std::fs::remove_file(data.join("audit/head.json")).unwrap();
    let r = keyed(&data, &key, &["audit", "verify", "--json"]);
    assert_eq!(r.code, 1);
    assert_eq!(json(&r)["report"]["problems"][0]["kind"], "head_missing");
}

#[test]
fn signed_bundles_verify_against_pinned_keys_and_bad_ones_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = init(tmp.path());
    let f = bundle(tmp.path(), "share", 4, WORD);
    assert_eq!(run(&ours, &["import", f.to_str().unwrap()]).code, 0);
    let sk = tmp.path().join("share.key");
    let r = run(&ours, &["sign", "keygen", "--out", sk.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let public = r.stdout.trim().to_string();
    let out = tmp.path().join("bundle.json");
    let r = run(
        &ours,
        &[
            "export",
            "--out",
            out.to_str().unwrap(),
            "--sign",
            sk.to_str().unwrap(),
            "--kid",
            "cert-2026",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sig = tmp.path().join("bundle.json.jws");
    assert!(std::fs::read_to_string(&sig).unwrap().contains(".."));

    // The partner pins our key and imports.
    let partner_dir = tmp.path().join("partner");
    std::fs::create_dir_all(&partner_dir).unwrap();
    let theirs = init(&partner_dir);
    let cfg = theirs.join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "\n[[partners]]\nkid = \"cert-2026\"\norg = \"cert\"\nkey = \"{public}\"\n"
    ));
    std::fs::write(&cfg, text).unwrap();
    let r = run(&theirs, &["import", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("4 new"), "{}", r.stdout);

    // One changed byte in the bundle: refused, nothing stored.
    let changed = tmp.path().join("changed.json");
    let body = std::fs::read_to_string(&out)
        .unwrap()
        .replacen(WORD, "Zqxwvplumbagp", 1);
    std::fs::write(&changed, body).unwrap();
    std::fs::copy(&sig, tmp.path().join("changed.json.jws")).unwrap();
    let fresh = init(&tmp.path().join("fresh"));
    std::fs::copy(&cfg, fresh.join("config.toml")).unwrap();
    let r = run(&fresh, &["import", changed.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("signature"), "{}", r.stderr);
    assert!(r.stderr.contains("changed.json"), "{}", r.stderr);
    let r = run(&fresh, &["search", "--json", "Zqxwvplumbagp"]);
    assert_eq!(json(&r)["total"], 0);

    // Unsigned files are refused when a signature is required.
    let r = run(
        &fresh,
        &["import", "--require-signature", f.to_str().unwrap()],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(".jws"), "{}", r.stderr);
}

/// A record written without the signing key (a refused open: no master key at hand) is
/// reported as an unsigned tail, exit status 2, apart from tampering; the next keyed
/// command signs it.
#[test]
fn records_no_signature_covers_are_reported_apart_from_tampering() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(tmp.path());
    let key = tmp.path().join("master.key");
    assert_eq!(
        run(
            &data,
            &["keys", "init", "--generate-key-file", key.to_str().unwrap()]
        )
        .code,
        0
    );
    let r = keyed(&data, &key, &["audit", "verify"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // No master key: the open is refused, and the refusal is recorded unsigned.
    let r = run(&data, &["search", WORD]);
    assert_ne!(r.code, 0);
    let r = run(&data, &["audit", "verify"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("UNSIGNED: records 2 to 2"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("TAMPERED"), "{}", r.stdout);
    let r = run(&data, &["audit", "verify", "--json"]);
    assert_eq!(json(&r)["status"], "unsigned_tail");

    // A keyed command appends and re-signs the head over everything (a search that
    // finds nothing exits 1, and is recorded all the same).
    keyed(&data, &key, &["search", WORD]);
    let r = run(&data, &["audit", "verify"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}
