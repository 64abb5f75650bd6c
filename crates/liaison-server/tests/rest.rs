//! The REST API through `app(state).oneshot(..)`: objects, versions, revoke, search,
//! graph, import, export, tokens, sessions, admin lists, and labels on every route.

mod common;
use axum::body::Body;
use axum::http::Request;
use common::*;
use serde_json::{json, Value};

fn rest(f: &Fixture, method: &str, uri: &str, user: &str, body: Option<&Value>) -> Request<Body> {
    let b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {}", f.tokens[user]));
    match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

#[tokio::test]
async fn objects_create_get_versions_new_version_revoke() {
    let f = fixture();
    let id = "malware--66666666-1111-4111-8111-111111111111";
    let v1 = malware(id, "Alpha", "2026-01-01T00:00:00.000Z", None);
    let r = f
        .call(rest(&f, "POST", "/api/v1/objects", "admin", Some(&v1)))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["new"], 1);
    let r = f
        .call(rest(
            &f,
            "GET",
            &format!("/api/v1/objects/{id}"),
            "admin",
            None,
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["object"]["name"], "Alpha");
    assert_eq!(r.headers["content-type"], "application/json");
    let v2 = malware(id, "Alpha 2", "2026-02-01T00:00:00.000Z", None);
    let r = f
        .call(rest(
            &f,
            "POST",
            &format!("/api/v1/objects/{id}/versions"),
            "admin",
            Some(&v2),
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["object"]["name"], "Alpha 2");
    let r = f
        .call(rest(
            &f,
            "GET",
            &format!("/api/v1/objects/{id}/versions"),
            "admin",
            None,
        ))
        .await;
    assert_eq!(r.json()["versions"].as_array().unwrap().len(), 2);
    // mismatched id
    let r = f
        .call(rest(
            &f,
            "POST",
            &format!("/api/v1/objects/{PUBLIC_ID}/versions"),
            "admin",
            Some(&v2),
        ))
        .await;
    assert_eq!(r.status, 400);
    let r = f
        .call(rest(
            &f,
            "POST",
            &format!("/api/v1/objects/{id}/revoke"),
            "admin",
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["object"]["revoked"], true);
    // malformed JSON and wrong media type
    let r = f
        .call(
            Request::post("/api/v1/objects")
                .header("authorization", format!("Bearer {}", f.tokens["admin"]))
                .header("content-type", "application/json")
                .body(Body::from("{\"type\":"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["description"]
        .as_str()
        .unwrap()
        .contains("malformed JSON"));
    let r = f
        .call(
            Request::post("/api/v1/objects")
                .header("authorization", format!("Bearer {}", f.tokens["admin"]))
                .header("content-type", "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 415);
}

#[tokio::test]
async fn search_graph_stats_export_import() {
    let f = fixture();
    let r = f
        .call(rest(&f, "GET", "/api/v1/search?q=public", "admin", None))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["total"], 1);
    let r = f
        .call(rest(&f, "GET", "/api/v1/search", "admin", None))
        .await;
    assert_eq!(r.status, 400);
    let r = f
        .call(rest(
            &f,
            "GET",
            &format!("/api/v1/graph/{PUBLIC_ID}?depth=2"),
            "admin",
            None,
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["nodes"][0]["id"], PUBLIC_ID);
    let r = f
        .call(rest(&f, "GET", "/api/v1/stats", "admin", None))
        .await;
    assert_eq!(r.status, 200);
    let r = f
        .call(rest(
            &f,
            "GET",
            "/api/v1/export?type=malware",
            "admin",
            None,
        ))
        .await;
    assert_eq!(r.status, 200);
    let bundle: Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(bundle["objects"].as_array().unwrap().len(), 2);
    // streamed import of a bundle
    let b = json!({"type": "bundle", "id": "bundle--6f0b8f3a-1d2c-4e5f-9a8b-7c6d5e4f3a21", "objects": [
        malware("malware--77777777-1111-4111-8111-111111111111", "Imported", "2026-01-01T00:00:00.000Z", None)
    ]});
    let r = f
        .call(rest(&f, "POST", "/api/v1/import", "admin", Some(&b)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["new"], 1);
    // a truncated bundle stores nothing
    let r = f
        .call(
            Request::post("/api/v1/import")
                .header("authorization", format!("Bearer {}", f.tokens["admin"]))
                .body(Body::from(r#"{"type":"bundle","objects":[{"type":"malware","spec_version":"2.1","id":"malware--88888888-1111-4111-8111-111111111111","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"x","is_family":true},"#))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = f
        .call(rest(
            &f,
            "GET",
            "/api/v1/objects/malware--88888888-1111-4111-8111-111111111111",
            "admin",
            None,
        ))
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn tokens_sessions_and_admin_lists() {
    let f = fixture();
    let r = f
        .call(rest(
            &f,
            "POST",
            "/api/v1/tokens",
            "low",
            Some(&json!({"scope": "read", "name": "mine"})),
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let secret = r.json()["secret"].as_str().unwrap().to_string();
    let tid = r.json()["id"].as_str().unwrap().to_string();
    let get = |tok: &str| {
        Request::get("/api/v1/stats")
            .header("authorization", format!("Bearer {tok}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(f.call(get(&secret)).await.status, 200);
    // a non-admin cannot make tokens for others, nor admin tokens
    let r = f
        .call(rest(
            &f,
            "POST",
            "/api/v1/tokens",
            "low",
            Some(&json!({"scope": "read", "user": "admin"})),
        ))
        .await;
    assert_eq!(r.status, 403);
    let r = f
        .call(rest(
            &f,
            "POST",
            "/api/v1/tokens",
            "low",
            Some(&json!({"scope": "admin"})),
        ))
        .await;
    assert_eq!(r.status, 400);
    let r = f.call(rest(&f, "GET", "/api/v1/tokens", "low", None)).await;
    assert!(r.text.contains(&tid) && !r.text.contains(&secret));
    let r = f
        .call(rest(
            &f,
            "DELETE",
            &format!("/api/v1/tokens/{tid}"),
            "other",
            None,
        ))
        .await;
    assert_eq!(r.status, 404, "not another user's token");
    let r = f
        .call(rest(
            &f,
            "DELETE",
            &format!("/api/v1/tokens/{tid}"),
            "low",
            None,
        ))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(f.call(get(&secret)).await.status, 401);
    // admin lists
    assert_eq!(
        f.call(rest(&f, "GET", "/api/v1/users", "admin", None))
            .await
            .status,
        200
    );
    assert_eq!(
        f.call(rest(&f, "GET", "/api/v1/users", "low", None))
            .await
            .status,
        403
    );
    assert_eq!(
        f.call(rest(&f, "GET", "/api/v1/orgs", "admin", None))
            .await
            .status,
        200
    );
    // sessions
    f.state
        .auth()
        .set_password("low", "password-of-low")
        .unwrap();
    let login = |pw: &str| {
        Request::post("/api/v1/session")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"username": "low", "password": pw}).to_string(),
            ))
            .unwrap()
    };
    assert_eq!(f.call(login("wrong")).await.status, 401);
    let r = f.call(login("password-of-low")).await;
    assert_eq!(r.status, 204);
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("Secure")
            && cookie.contains("SameSite=Strict")
    );
    let kv = cookie.split(';').next().unwrap().to_string();
    let r = f
        .call(
            Request::get("/api/v1/stats")
                .header("cookie", &kv)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = f
        .call(
            Request::delete("/api/v1/session")
                .header("cookie", &kv)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = f
        .call(
            Request::get("/api/v1/stats")
                .header("cookie", &kv)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 401);
    // the OpenAPI document
    let r = f
        .call(rest(&f, "GET", "/api/v1/openapi.json", "low", None))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["openapi"], "3.0.3");
}

/// Every REST read route answers a subject lacking clearance, compartment or
/// releasability as if the protected object were absent, counts included.
#[tokio::test]
async fn labels_on_every_rest_route() {
    let f = fixture();
    for user in ["low", "nocomp", "other"] {
        for (p, a) in [
            (
                format!("/api/v1/objects/{SECRET_ID}"),
                format!("/api/v1/objects/{ABSENT_ID}"),
            ),
            (
                format!("/api/v1/objects/{SECRET_ID}/versions"),
                format!("/api/v1/objects/{ABSENT_ID}/versions"),
            ),
            (
                format!("/api/v1/graph/{SECRET_ID}"),
                format!("/api/v1/graph/{ABSENT_ID}"),
            ),
            (
                "/api/v1/search?q=secret".to_string(),
                "/api/v1/search?q=zzzabsent".to_string(),
            ),
        ] {
            let rp = f.call(rest(&f, "GET", &p, user, None)).await;
            let ra = f.call(rest(&f, "GET", &a, user, None)).await;
            assert_eq!((rp.status, &rp.text), (ra.status, &ra.text), "{user} {p}");
        }
        for (p, a) in [(
            format!("/api/v1/objects/{SECRET_ID}/revoke"),
            format!("/api/v1/objects/{ABSENT_ID}/revoke"),
        )] {
            let rp = f.call(rest(&f, "POST", &p, user, None)).await;
            let ra = f.call(rest(&f, "POST", &a, user, None)).await;
            assert_eq!((rp.status, &rp.text), (ra.status, &ra.text), "{user} {p}");
        }
        let nv = |id: &str| malware(id, "x", "2026-05-01T00:00:00.000Z", None);
        let rp = f
            .call(rest(
                &f,
                "POST",
                &format!("/api/v1/objects/{SECRET_ID}/versions"),
                user,
                Some(&nv(SECRET_ID)),
            ))
            .await;
        let ra = f
            .call(rest(
                &f,
                "POST",
                &format!("/api/v1/objects/{ABSENT_ID}/versions"),
                user,
                Some(&nv(ABSENT_ID)),
            ))
            .await;
        assert_eq!(
            (rp.status, &rp.text),
            (ra.status, &ra.text),
            "{user} new version"
        );
        let r = f.call(rest(&f, "GET", "/api/v1/export", user, None)).await;
        assert!(!r.text.contains(SECRET_ID), "{user} export");
        let r = f.call(rest(&f, "GET", "/api/v1/stats", user, None)).await;
        let s = r.json();
        assert_eq!(s["by_type"]["malware"], 1, "{user} stats: {s}");
        let r = f
            .call(rest(
                &f,
                "GET",
                "/api/v1/search?q=secret&type=malware",
                user,
                None,
            ))
            .await;
        assert_eq!(r.json()["total"], 0);
        assert_eq!(r.json()["facets"], json!({}));
    }
}

/// `POST /import` upgrades STIX 2.0 content as `liaison import` does, and names the
/// input object of a refusal even when an upgrade turned one object into several.
#[tokio::test]
async fn import_upgrades_stix_20() {
    let f = fixture();
    let b = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "spec_version": "2.0",
    "objects": [
        {"type": "malware", "id": "malware--14141414-1111-4111-8111-111111111111",
         "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
         "name": "Twentyvy", "labels": ["remote-access-trojan"]},
        {"type": "observed-data", "id": "observed-data--14141414-2222-4111-8111-111111111111",
         "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
         "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z",
         "number_observed": 1, "objects": {"0": {"type": "ipv4-addr", "value": "203.0.113.9"}}},
        {"type": "malware", "id": "malware--not-a-uuid", "created": "2017-01-01T00:00:00.000Z",
         "modified": "2017-01-01T00:00:00.000Z", "name": "Broken", "labels": ["worm"]}
    ]});
    let r = f
        .call(rest(&f, "POST", "/api/v1/import", "admin", Some(&b)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let report = r.json();
    assert_eq!(
        report["new"], 3,
        "malware, ipv4-addr, observed-data: {report}"
    );
    assert_eq!(report["invalid"][0]["index"], 2, "{report}");
    assert_eq!(report["invalid"][0]["path"], "$.objects[2].id", "{report}");
    let r = f
        .call(rest(
            &f,
            "GET",
            "/api/v1/objects/malware--14141414-1111-4111-8111-111111111111",
            "admin",
            None,
        ))
        .await;
    let m = &r.json()["object"];
    assert_eq!(m["spec_version"], "2.1");
    assert_eq!(m["is_family"], true);
    assert_eq!(m["malware_types"], json!(["remote-access-trojan"]));
    let r = f
        .call(rest(
            &f,
            "GET",
            "/api/v1/search?q=203.0.113.9&type=ipv4-addr",
            "admin",
            None,
        ))
        .await;
    assert_eq!(r.json()["total"], 1, "{}", r.text);
}

fn login(user: &str, pw: &str) -> Request<Body> {
    Request::post("/api/v1/session")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"username": user, "password": pw}).to_string(),
        ))
        .unwrap()
}

fn with_cookie(method: &str, uri: &str, kv: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("cookie", kv)
        .body(Body::empty())
        .unwrap()
}

/// Browser sessions are kept in the credential store as hashes: they survive a restart,
/// and logout or expiry ends them.
#[tokio::test]
async fn sessions_survive_a_restart_and_logout_or_expiry_ends_them() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture_in(dir.path(), liaison_server::Settings::default());
    f.state
        .auth()
        .set_password("low", "password-of-low")
        .unwrap();
    let r = f.call(login("low", "password-of-low")).await;
    assert_eq!(r.status, 204);
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_string();
    let kv = cookie.split(';').next().unwrap().to_string();
    let secret = kv.split_once('=').unwrap().1.to_string();
    // Only a hash is stored.
    for file in ["auth.db", "auth.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the session cookie is stored in {file}"
            );
        }
    }
    let f2 = restart(dir.path(), &f, liaison_server::Settings::default());
    drop(f);
    assert_eq!(
        f2.call(with_cookie("GET", "/api/v1/stats", &kv))
            .await
            .status,
        200
    );
    assert_eq!(
        f2.call(with_cookie("DELETE", "/api/v1/session", &kv))
            .await
            .status,
        204
    );
    assert_eq!(
        f2.call(with_cookie("GET", "/api/v1/stats", &kv))
            .await
            .status,
        401
    );
    let f3 = restart(dir.path(), &f2, liaison_server::Settings::default());
    drop(f2);
    assert_eq!(
        f3.call(with_cookie("GET", "/api/v1/stats", &kv))
            .await
            .status,
        401
    );
    // A session past its lifetime opens nothing.
    let auth = liaison_server::AuthDb::open(&dir.path().join("auth.db"))
        .unwrap()
        .with_session_ttl(std::time::Duration::ZERO);
    let store = liaison_store::SqliteStore::open(&dir.path().join("liaison.db"), policy()).unwrap();
    let state = liaison_server::AppState::new(
        std::sync::Arc::new(store),
        auth,
        liaison_server::Directory::new(subjects(&policy())),
        liaison_server::Settings::default(),
    );
    let app = liaison_server::app(state);
    use tower::ServiceExt;
    let r = app
        .clone()
        .oneshot(login("low", "password-of-low"))
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let kv = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .oneshot(with_cookie("GET", "/api/v1/stats", &kv))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// Oversized bodies get 413 with the error body on REST routes too, streamed import
/// included, and nothing of them is stored.
#[tokio::test]
async fn oversized_rest_bodies_are_refused_and_nothing_is_written() {
    let f = fixture_with(liaison_server::Settings {
        max_body: 4096,
        ..Default::default()
    });
    let id = "malware--15151515-1111-4111-8111-111111111111";
    let big = malware(id, &"x".repeat(10_000), "2026-01-01T00:00:00.000Z", None);
    let bundle = json!({"type": "bundle", "id": "bundle--15151515-2222-4111-8111-111111111111", "objects": [big]});
    for (uri, body) in [("/api/v1/objects", &big), ("/api/v1/import", &bundle)] {
        let r = f.call(rest(&f, "POST", uri, "admin", Some(body))).await;
        assert_eq!(r.status, 413, "{uri}: {}", r.text);
        assert_eq!(r.json()["http_status"], "413", "{uri}");
        assert_eq!(r.headers["content-type"], "application/json");
    }
    let r = f
        .call(rest(
            &f,
            "GET",
            &format!("/api/v1/objects/{id}"),
            "admin",
            None,
        ))
        .await;
    assert_eq!(r.status, 404);
    let r = f
        .call(rest(&f, "GET", "/api/v1/stats", "admin", None))
        .await;
    assert_eq!(r.status, 200, "still serving");
}

/// `POST /import?label=` puts unlabelled objects under the banner given; a banner
/// beyond the caller's clearance is 403 and a broken one 400, with nothing stored.
#[tokio::test]
async fn import_takes_a_label_for_unlabelled_objects() {
    let f = fixture();
    let id = "malware--15151515-1111-4111-8111-111111111111";
    let b = json!({"type": "bundle", "id": "bundle--15151515-5f74-4287-9642-33f4c354e56d",
        "objects": [malware(id, "Labelled on import", "2026-02-01T00:00:00.000Z", None)]});
    for (user, label, status) in [
        ("low", "SECRET//GRID", 403),
        ("admin", "NO SUCH LEVEL", 400),
    ] {
        let r = f
            .call(rest(
                &f,
                "POST",
                &format!("/api/v1/import?label={}", label.replace(' ', "%20")),
                user,
                Some(&b),
            ))
            .await;
        assert_eq!(r.status, status, "{user} {label}: {}", r.text);
        let r = f
            .call(rest(
                &f,
                "GET",
                &format!("/api/v1/objects/{id}"),
                "admin",
                None,
            ))
            .await;
        assert_eq!(
            r.status, 404,
            "nothing stored after a refused import: {}",
            r.text
        );
    }
    let r = f
        .call(rest(
            &f,
            "POST",
            "/api/v1/import?label=SECRET//GRID",
            "admin",
            Some(&b),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["new"], 1, "{}", r.text);
    let r = f
        .call(rest(
            &f,
            "GET",
            &format!("/api/v1/objects/{id}"),
            "admin",
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let banner = r.json()["label"].as_str().unwrap_or_default().to_string();
    assert!(banner.starts_with("SECRET//GRID"), "{banner}");
    let absent = f
        .call(rest(
            &f,
            "GET",
            "/api/v1/objects/malware--15151515-9999-4111-8111-111111111111",
            "low",
            None,
        ))
        .await;
    let r = f
        .call(rest(
            &f,
            "GET",
            &format!("/api/v1/objects/{id}"),
            "low",
            None,
        ))
        .await;
    assert_eq!(
        (r.status, r.text),
        (absent.status, absent.text),
        "low sees it as absent"
    );
}
