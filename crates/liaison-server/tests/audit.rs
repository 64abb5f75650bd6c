//! The server's audit trail: logins, reads of labelled content, writes and permission
//! changes land in the hash-chained log, verify, and are found by `query`.

mod common;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use common::*;
use liaison_protect::audit::{Query, Record};
use liaison_store::audit::{self, AuditLog};
use serde_json::json;
use std::sync::Arc;

struct Audited {
    f: Fixture,
    log: Arc<AuditLog>,
    dir: tempfile::TempDir,
    key: ed25519_dalek::SigningKey,
}

fn audited() -> Audited {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let log = Arc::new(AuditLog::open(dir.path(), Some(key.clone())).unwrap());
    let _ = f.state.clone().with_audit(log.clone());
    Audited { f, log, dir, key }
}

impl Audited {
    fn records(&self, q: Query) -> Vec<Record> {
        let mut out = Vec::new();
        audit::query(self.dir.path(), &q, &mut |r| {
            out.push(r.clone());
            Ok(())
        })
        .unwrap();
        out
    }

    fn by(&self, user: &str, action: &str) -> Vec<Record> {
        self.records(Query {
            user: Some(user.into()),
            action: Some(action.into()),
            ..Default::default()
        })
    }

    fn text(&self) -> String {
        std::fs::read_to_string(audit::log_path(self.dir.path())).unwrap()
    }
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[tokio::test]
async fn a_scripted_session_is_recorded_and_verifies() {
    let a = audited();
    let f = &a.f;
    f.state
        .auth()
        .set_password("admin", "correct horse battery")
        .unwrap();

    // Session login with a password.
    let r = f
        .call(
            Request::post("/api/v1/session")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"username": "admin", "password": "correct horse battery"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // TAXII page, as Basic.
    let r = f
        .call(
            Request::get(coll_path("objects/"))
                .header("accept", TAXII)
                .header("authorization", basic("admin", "correct horse battery"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // REST search and a write, with a token.
    let r = f.get("/api/v1/search?q=Public", "admin").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new_id = "malware--5d1c6e1b-9a4b-4c8e-8f7a-2b3c4d5e6f70";
    let r = f
        .call(
            f.req("POST", "/api/v1/objects", "admin")
                .header("content-type", "application/json")
                .body(Body::from(
                    malware(new_id, "Fresh", "2026-03-01T00:00:00.000Z", None).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // A token made and revoked: permission changes.
    let r = f
        .call(
            f.req("POST", "/api/v1/tokens", "admin")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"user": "reader", "scope": "read"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let tok = r.json();
    let tok_id = tok["id"].as_str().unwrap().to_string();
    let secret = tok["secret"].as_str().unwrap().to_string();
    let r = f
        .call(
            f.req("DELETE", &format!("/api/v1/tokens/{tok_id}"), "admin")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    a.log.checkpoint().unwrap();
    let report = audit::verify(a.dir.path(), &a.key.verifying_key()).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert!(report.records >= 8, "{}", report.records);

    let logins = a.by("admin", "login");
    assert!(
        logins.iter().any(|r| r.detail == "session login: ok"),
        "{logins:?}"
    );
    assert!(logins.iter().any(|r| r.detail == "password: ok"));
    assert!(logins.iter().any(|r| r.detail == "token: ok"));

    let reads = a.by("admin", "read");
    let page = reads
        .iter()
        .find(|r| r.detail.starts_with("TAXII objects liaison/"))
        .expect("the TAXII page is recorded");
    let ids = page.object.as_deref().unwrap();
    assert!(ids.contains(PUBLIC_ID) && ids.contains(SECRET_ID), "{ids}");

    let searches = a.by("admin", "search");
    assert_eq!(searches.len(), 1, "{searches:?}");
    assert_eq!(searches[0].object.as_deref(), Some(PUBLIC_ID));
    assert!(searches[0].detail.contains("Public"), "{:?}", searches[0]);

    let writes = a.records(Query {
        object: Some(new_id.into()),
        action: Some("write".into()),
        ..Default::default()
    });
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].user, "admin");
    assert!(writes[0].detail.contains("1 new"), "{:?}", writes[0]);

    let perms = a.records(Query {
        object: Some(tok_id.clone()),
        ..Default::default()
    });
    let details: Vec<(&str, &str, &str)> = perms
        .iter()
        .map(|r| (r.user.as_str(), r.action.as_str(), r.detail.as_str()))
        .collect();
    assert_eq!(
        details,
        vec![
            (
                "admin",
                "permission",
                "token created for reader scope read api_root *"
            ),
            ("admin", "permission", "token revoke: ok"),
        ]
    );
    // Neither password nor token secret is ever written down.
    let text = a.text();
    assert!(!text.contains("correct horse battery"));
    assert!(!text.contains(&secret));
}

#[tokio::test]
async fn a_failed_login_is_recorded_without_the_password() {
    let a = audited();
    let f = &a.f;
    f.state
        .auth()
        .set_password("admin", "the real one")
        .unwrap();
    let r = f
        .call(
            Request::get("/api/v1/stats")
                .header("authorization", basic("admin", "guess-Xq7-wrong"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = f
        .call(
            Request::post("/api/v1/session")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"username": "admin", "password": "another-Zr9-guess"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = f
        .call(
            Request::get("/api/v1/stats")
                .header("authorization", "Bearer not-a-token-Kp2")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let refused: Vec<String> = a
        .by("admin", "login")
        .into_iter()
        .map(|r| r.detail)
        .collect();
    assert_eq!(
        refused,
        vec!["password: refused", "session login: refused"],
        "only refusals, no success"
    );
    assert_eq!(a.by("unknown", "login")[0].detail, "token: refused");
    // A request with no credential at all is no login attempt.
    let r = f
        .call(Request::get("/api/v1/stats").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let all = a.records(Query {
        action: Some("login".into()),
        ..Default::default()
    });
    assert_eq!(all.len(), 3, "{all:?}");
    let text = a.text();
    for secret in ["guess-Xq7-wrong", "another-Zr9-guess", "not-a-token-Kp2"] {
        assert!(!text.contains(secret), "{secret} leaked into {text}");
    }
}

#[tokio::test]
async fn a_read_without_clearance_is_recorded_like_an_absent_id() {
    let a = audited();
    let f = &a.f;
    for user in ["low", "nocomp", "other"] {
        for (secret, absent) in [
            (
                format!("/api/v1/objects/{SECRET_ID}"),
                format!("/api/v1/objects/{ABSENT_ID}"),
            ),
            (
                format!("/api/v1/objects/{SECRET_ID}/versions"),
                format!("/api/v1/objects/{ABSENT_ID}/versions"),
            ),
            (
                coll_path(&format!("objects/{SECRET_ID}/")),
                coll_path(&format!("objects/{ABSENT_ID}/")),
            ),
            (
                coll_path(&format!("objects/{SECRET_ID}/versions/")),
                coll_path(&format!("objects/{ABSENT_ID}/versions/")),
            ),
        ] {
            let (s, n) = (f.get(&secret, user).await, f.get(&absent, user).await);
            assert_eq!(
                (s.status, n.status),
                (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
            );
        }
    }
    let reads: Vec<Record> = ["low", "nocomp", "other"]
        .iter()
        .flat_map(|u| a.by(u, "read"))
        .collect();
    assert_eq!(reads.len(), 3 * 4 * 2);
    for pair in reads.chunks(2) {
        let (s, n) = (&pair[0], &pair[1]);
        assert_eq!(s.object.as_deref(), Some(SECRET_ID));
        assert_eq!(n.object.as_deref(), Some(ABSENT_ID));
        assert_eq!(s.detail, n.detail, "forbidden and absent must record alike");
        assert!(s.detail.ends_with("not found"), "{s:?}");
    }
    // Nothing of the protected object (name, label) reaches the log for them.
    let text = a.text();
    assert!(!text.contains("Secret"), "{text}");
    assert!(!text.contains("GRID"), "{text}");

    // The cleared admin's read of the same id is recorded as a read that found it.
    let r = f
        .get(&format!("/api/v1/objects/{SECRET_ID}"), "admin")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let got = a.by("admin", "read");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].detail, "GET object: ok");
}

#[tokio::test]
async fn big_pages_record_a_count_and_the_query() {
    let a = audited();
    let f = &a.f;
    let objs: Vec<_> = (0..(liaison_server::AUDIT_MAX_IDS + 5))
        .map(|i| {
            malware(
                &format!("malware--00000000-0000-4000-8000-{i:012}"),
                &format!("Bulk {i}"),
                "2026-01-01T00:00:00.000Z",
                None,
            )
        })
        .collect();
    let r = f
        .post_envelope(&coll_path("objects/"), "admin", &json!({ "objects": objs }))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let r = f.get(&coll_path("manifest/?limit=500"), "admin").await;
    assert_eq!(r.status, StatusCode::OK);
    let n = liaison_server::AUDIT_MAX_IDS + 7;
    let writes = a.by("admin", "write");
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].object, None);
    assert!(
        writes[0]
            .detail
            .contains(&format!("[{} objects, ids not listed]", n - 2)),
        "{:?}",
        writes[0]
    );
    let reads = a.by("admin", "read");
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].object, None);
    assert!(
        reads[0].detail.starts_with("TAXII manifest liaison/")
            && reads[0]
                .detail
                .ends_with(&format!("[{n} objects, ids not listed]")),
        "{:?}",
        reads[0]
    );
}

/// The web UI's sign-in form is a login like the API's: refusals and successes are
/// recorded, the password never.
#[tokio::test]
async fn web_ui_logins_are_recorded_without_the_password() {
    let a = audited();
    let f = &a.f;
    f.state
        .auth()
        .set_password("admin", "web-Real-8Kq")
        .unwrap();
    let post = |password: &str| {
        Request::post("/ui/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", "liaison_login_csrf=tok-1")
            .body(Body::from(format!(
                "username=admin&password={password}&csrf=tok-1"
            )))
            .unwrap()
    };
    let r = f.call(post("web-Wrong-3Zp")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = f.call(post("web-Real-8Kq")).await;
    assert!(r.status.is_redirection(), "{:?}", r.status);
    let details: Vec<String> = a
        .by("admin", "login")
        .into_iter()
        .map(|r| r.detail)
        .collect();
    assert_eq!(details, ["web login: refused", "web login: ok"]);
    let text = a.text();
    assert!(!text.contains("web-Wrong-3Zp") && !text.contains("web-Real-8Kq"));
}

/// An encrypted deployment's server seals its audit records: the file beside the store
/// names no user, object or query; the log verifies while the server still runs (the
/// head is re-signed after every append), and the key opens the records.
#[tokio::test]
async fn a_sealed_log_names_nobody_in_clear_and_verifies_while_serving() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[11; 32]);
    let seal = liaison_protect::audit::AuditKey::derive(&key);
    let log = Arc::new(AuditLog::open_sealed(dir.path(), Some(key.clone()), Some(seal)).unwrap());
    let _ = f.state.clone().with_audit(log.clone());
    let r = f.get("/api/v1/search?q=Public", "admin").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = f
        .get(&format!("/api/v1/objects/{PUBLIC_ID}"), "reader")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let text = std::fs::read_to_string(audit::log_path(dir.path())).unwrap();
    assert!(text.lines().count() >= 4, "{text}");
    for needle in ["admin", "reader", PUBLIC_ID, "Public", "search"] {
        assert!(!text.contains(needle), "{needle} in the sealed log");
    }
    // No checkpoint or close needed: the head vouches for every append (its MAC part,
    // checked with the head key the master key unwraps; its signature lags).
    let hk = liaison_protect::audit::HeadKey::derive(&key);
    let report = audit::verify_keyed(
        dir.path(),
        &key.verifying_key(),
        Some(&hk),
        0,
        &mut |_, _| {},
    )
    .unwrap();
    assert!(
        report.ok(),
        "{:?} {}",
        report.problems,
        report.unsigned_tail
    );

    // The server's idle signer brings the head's signature up to the last record, so
    // an auditor holding only the public key vouches for the whole log within a second.
    let signer = f
        .state
        .spawn_audit_signer()
        .expect("the state has an audit log");
    let mut public = audit::verify(dir.path(), &key.verifying_key()).unwrap();
    for _ in 0..100 {
        if public.ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        public = audit::verify(dir.path(), &key.verifying_key()).unwrap();
    }
    signer.abort();
    assert!(
        public.ok(),
        "{:?} mac tail {}",
        public.problems,
        public.mac_tail
    );
    assert_eq!(public.signature_through, report.signed_through);

    let mut reads = Vec::new();
    let seal = liaison_protect::audit::AuditKey::derive(&key);
    let got = audit::query_with(
        dir.path(),
        Some(&seal),
        &Query {
            user: Some("reader".into()),
            action: Some("read".into()),
            ..Default::default()
        },
        &mut |r| {
            reads.push(r.object.clone());
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(got.unreadable, 0);
    assert!(
        reads
            .iter()
            .any(|o| o.as_deref().is_some_and(|o| o.contains(PUBLIC_ID))),
        "{reads:?}"
    );
    drop(log);
}
