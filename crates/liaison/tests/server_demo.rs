//! `liaison demo` serves; `liaison serve` with passwords and CLI-made tokens, over a socket.

mod server_util;
use server_util::*;

const TAXII: &str = "application/taxii+json;version=2.1";

#[test]
fn demo_serves_the_demo_collection_to_admin() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = bin();
    c.args([
        "demo",
        "--objects",
        "200",
        "--seed",
        "3",
        "--port",
        "0",
        "--dir",
    ])
    .arg(tmp.path().join("demo"));
    let s = start(c);
    let admin = basic("admin", PASSWORD);
    let r = http(&s.addr, "GET", "/health", &[], "");
    assert_eq!(r.status, 200);
    let r = http(
        &s.addr,
        "GET",
        "/taxii2/",
        &[("Authorization", &admin), ("Accept", TAXII)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(TAXII));
    let r = http(
        &s.addr,
        "GET",
        "/taxii2/liaison/collections/",
        &[("Authorization", &admin)],
        "",
    );
    let c = &r.json()["collections"][0];
    assert_eq!(c["id"], DEMO_COLLECTION);
    assert_eq!(c["can_read"], true);
    assert_eq!(c["can_write"], true);
    let uri =
        format!("/taxii2/liaison/collections/{DEMO_COLLECTION}/objects/?match[id]={GRIDSPIKE}");
    let r = http(&s.addr, "GET", &uri, &[("Authorization", &admin)], "");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("GridSpike"), "{}", r.body);
    // bob (CONFIDENTIAL) gets the same as for an absent object
    let bob = basic("bob", PASSWORD);
    let r = http(&s.addr, "GET", &uri, &[("Authorization", &bob)], "");
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("GridSpike"));
    assert_eq!(r.json()["more"], false);
    // wrong password
    let r = http(
        &s.addr,
        "GET",
        "/taxii2/",
        &[("Authorization", &basic("admin", "nope-nope"))],
        "",
    );
    assert_eq!(r.status, 401);
}

#[test]
fn cli_tokens_create_list_revoke() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo_dir(tmp.path(), 50);
    let token = |args: &[&str]| {
        let out = bin()
            .arg("--data")
            .arg(&d)
            .args(["serve", "token"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let live = token(&[
        "create", "--user", "alice", "--scope", "read", "--name", "live",
    ]);
    let dead = token(&[
        "create", "--user", "alice", "--scope", "write", "--name", "dead",
    ]);
    assert!(live.starts_with("lsn_") && dead.starts_with("lsn_"));
    let list = token(&["list"]);
    assert!(!list.contains(&live), "secrets are never listed");
    let dead_id = list
        .lines()
        .find(|l| l.ends_with("dead"))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_string();
    token(&["revoke", &dead_id]);
    assert!(token(&["list"]).contains("revoked"));
    // an admin-scope token for a non-admin is refused
    let out = bin()
        .arg("--data")
        .arg(&d)
        .args([
            "serve", "token", "create", "--user", "alice", "--scope", "admin",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());

    let s = serve(&d);
    let bearer = |t: &str| format!("Bearer {t}");
    let r = http(
        &s.addr,
        "GET",
        "/taxii2/",
        &[("Authorization", &bearer(&live))],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http(
        &s.addr,
        "GET",
        "/taxii2/",
        &[("Authorization", &bearer(&dead))],
        "",
    );
    assert_eq!(r.status, 401);
    // a read token cannot add objects
    let path = format!("/taxii2/liaison/collections/{DEMO_COLLECTION}/objects/");
    let r = http(
        &s.addr,
        "POST",
        &path,
        &[("Authorization", &bearer(&live)), ("Content-Type", TAXII)],
        r#"{"objects":[]}"#,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(TAXII));
}

#[test]
fn passwd_sets_a_password() {
    let tmp = tempfile::tempdir().unwrap();
    let d = demo_dir(tmp.path(), 20);
    let out = bin()
        .arg("--data")
        .arg(&d)
        .args(["serve", "passwd", "chen"])
        .env("LIAISON_PASSWORD", "a much better password")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = serve(&d);
    let r = http(
        &s.addr,
        "GET",
        "/taxii2/",
        &[("Authorization", &basic("chen", "a much better password"))],
        "",
    );
    assert_eq!(r.status, 200);
    let r = http(
        &s.addr,
        "GET",
        "/taxii2/",
        &[("Authorization", &basic("chen", PASSWORD))],
        "",
    );
    assert_eq!(r.status, 401);
}
