//! TAXII 2.1 routes through `app(state).oneshot(..)`: media types, headers, paging,
//! status resources, bad input, and labels on every route.

mod common;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn discovery_api_root_and_collections() {
    let f = fixture();
    let r = f.get("/taxii2/", "admin").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["content-type"], TAXII);
    assert_eq!(r.json()["default"], "/taxii2/liaison/");
    let r = f.get("/taxii2/liaison/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["versions"][0], TAXII);
    let r = f.get("/taxii2/liaison/collections/", "admin").await;
    assert_eq!(r.status, 200);
    let c = &r.json()["collections"][0];
    assert_eq!(c["id"], COLL);
    assert_eq!(c["can_read"], true);
    assert_eq!(c["can_write"], true);
    assert_eq!(c["media_types"][0], "application/stix+json;version=2.1");
    let r = f.get(&coll_path(""), "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], COLL);
    let r = f.get("/taxii2/liaison/collections/nope/", "admin").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.headers["content-type"], TAXII);
    assert_eq!(r.json()["http_status"], "404");
    let r = f.get("/taxii2/nosuchroot/", "admin").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn health_is_open_and_everything_else_needs_credentials() {
    let f = fixture();
    let r = f
        .call(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, 200);
    for uri in ["/taxii2/", "/metrics", &coll_path("objects/")] {
        let r = f.call(Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, 401, "{uri}");
        assert!(r.headers.contains_key("www-authenticate"));
        let r = f
            .call(
                Request::get(uri)
                    .header("authorization", "Bearer lsn_wrong")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, 401, "{uri}");
    }
}

#[tokio::test]
async fn passwords_and_revoked_tokens() {
    let f = fixture();
    f.state
        .auth()
        .set_password("admin", "correct horse")
        .unwrap();
    let basic = |p: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("admin:{p}"))
        )
    };
    let r = f
        .call(
            Request::get("/taxii2/")
                .header("authorization", basic("correct horse"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = f
        .call(
            Request::get("/taxii2/")
                .header("authorization", basic("wrong"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 401);
    let (info, secret) = f
        .state
        .auth()
        .create_token("admin", "t", liaison_server::Scope::Read, None)
        .unwrap();
    let get = |tok: String| {
        Request::get("/taxii2/")
            .header("authorization", format!("Bearer {tok}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(f.call(get(secret.clone())).await.status, 200);
    f.state.auth().revoke_token(&info.id, None).unwrap();
    assert_eq!(f.call(get(secret)).await.status, 401);
}

#[tokio::test]
async fn read_scope_cannot_write() {
    let f = fixture();
    let (_, secret) = f
        .state
        .auth()
        .create_token("admin", "t", liaison_server::Scope::Read, None)
        .unwrap();
    let env = json!({"objects": [malware("malware--11111111-1111-4111-8111-111111111111", "x", "2026-01-01T00:00:00.000Z", None)]});
    let r = f
        .call(
            Request::post(coll_path("objects/"))
                .header("authorization", format!("Bearer {secret}"))
                .header("content-type", TAXII)
                .body(Body::from(env.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn objects_envelope_headers_and_versions() {
    let f = fixture();
    let r = f.get(&coll_path("objects/"), "admin").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["content-type"], TAXII);
    assert!(r.headers.contains_key("x-taxii-date-added-first"));
    assert!(r.headers.contains_key("x-taxii-date-added-last"));
    let v = r.json();
    assert_eq!(v["more"], false);
    let objs = v["objects"].as_array().unwrap();
    assert_eq!(objs.len(), 2, "latest versions only: {v}");
    assert!(objs.iter().any(|o| o["name"] == "Secret v2"));
    let r = f
        .get(&coll_path("objects/?match[version]=all"), "admin")
        .await;
    assert_eq!(r.json()["objects"].as_array().unwrap().len(), 3);
    let r = f
        .get(&coll_path("objects/?match[version]=first"), "admin")
        .await;
    assert!(r.json()["objects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["name"] == "Secret"));
    let r = f
        .get(
            &coll_path("objects/?match[version]=2026-02-01T00:00:00.000Z"),
            "admin",
        )
        .await;
    assert_eq!(r.json()["objects"].as_array().unwrap().len(), 1);
    let r = f
        .get(&coll_path("objects/?match[type]=indicator"), "admin")
        .await;
    assert!(r.json()["objects"].as_array().is_none_or(|a| a.is_empty()));
    let r = f
        .get(&coll_path("objects/?match[spec_version]=2.0"), "admin")
        .await;
    assert!(r.json()["objects"].as_array().is_none_or(|a| a.is_empty()));
    let r = f
        .get(
            &coll_path(&format!("objects/{SECRET_ID}/versions/")),
            "admin",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["versions"],
        json!(["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"])
    );
    let r = f
        .get(&coll_path(&format!("objects/{SECRET_ID}/")), "admin")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["objects"][0]["name"], "Secret v2");
    let r = f.get(&coll_path("manifest/"), "admin").await;
    assert_eq!(r.status, 200);
    let m = r.json();
    assert_eq!(m["objects"].as_array().unwrap().len(), 2);
    assert_eq!(
        m["objects"][0]["media_type"],
        "application/stix+json;version=2.1"
    );
}

#[tokio::test]
async fn paging_with_cursor_stays_correct_while_adding() {
    let f = fixture();
    let mut objs = Vec::new();
    for i in 0..25 {
        objs.push(malware(
            &format!("malware--{:08x}-1111-4111-8111-111111111111", i),
            &format!("m{i}"),
            "2026-01-01T00:00:00.000Z",
            None,
        ));
    }
    let r = f
        .post_envelope(&coll_path("objects/"), "admin", &json!({ "objects": objs }))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let mut seen = Vec::new();
    let mut uri = coll_path("objects/?limit=10");
    let mut pages = 0;
    loop {
        let r = f.get(&uri, "admin").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let v = r.json();
        for o in v["objects"].as_array().unwrap() {
            seen.push(o["id"].as_str().unwrap().to_string());
        }
        pages += 1;
        if pages == 1 {
            // Objects added while paging appear at the end, once.
            let more = json!({"objects": [malware("malware--aaaaaaaa-1111-4111-8111-111111111111", "late", "2026-01-01T00:00:00.000Z", None)]});
            assert_eq!(
                f.post_envelope(&coll_path("objects/"), "admin", &more)
                    .await
                    .status,
                202
            );
        }
        if v["more"] == false {
            break;
        }
        uri = coll_path(&format!(
            "objects/?limit=10&next={}",
            v["next"].as_str().unwrap()
        ));
    }
    assert_eq!(seen.len(), 2 + 25 + 1);
    let uniq: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(uniq.len(), seen.len());
    assert_eq!(
        seen.last().unwrap(),
        "malware--aaaaaaaa-1111-4111-8111-111111111111"
    );
}

#[tokio::test]
async fn add_objects_status_resource_and_delete() {
    let f = fixture();
    let good = malware(
        "malware--22222222-1111-4111-8111-111111111111",
        "good",
        "2026-01-01T00:00:00.000Z",
        None,
    );
    let bad = json!({"type": "malware", "id": "malware--33333333-1111-4111-8111-111111111111", "spec_version": "2.1"});
    let top = malware(
        "malware--44444444-1111-4111-8111-111111111111",
        "too high",
        "2026-01-01T00:00:00.000Z",
        Some(
            json!({"extension_type": "property-extension", "level": "TOP SECRET", "owner": "cert"}),
        ),
    );
    let r = f
        .post_envelope(
            &coll_path("objects/"),
            "admin",
            &json!({"objects": [good, bad, top]}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.headers["content-type"], TAXII);
    let s = r.json();
    assert_eq!(s["status"], "complete");
    assert_eq!(s["total_count"], 3);
    assert_eq!(s["success_count"], 1);
    assert_eq!(s["failure_count"], 2);
    let r = f
        .get(
            &format!("/taxii2/liaison/status/{}/", s["id"].as_str().unwrap()),
            "admin",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["success_count"], 1);
    // another user cannot see the status
    let r = f
        .get(
            &format!("/taxii2/liaison/status/{}/", s["id"].as_str().unwrap()),
            "other",
        )
        .await;
    assert_eq!(r.status, 404);
    let uri = coll_path("objects/malware--22222222-1111-4111-8111-111111111111/");
    assert_eq!(f.get(&uri, "admin").await.status, 200);
    let r = f
        .call(f.req("DELETE", &uri, "admin").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(f.get(&uri, "admin").await.status, 404);
    let r = f
        .call(f.req("DELETE", &uri, "admin").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn bad_input_gets_taxii_errors_and_writes_nothing() {
    let f = fixture_with(liaison_server::Settings {
        max_body: 4096,
        ..Default::default()
    });
    let count = |f: &Fixture| {
        let f = f.state.store().clone();
        async move {
            let s = liaison_policy::Policy::new(
                ["UNCLASSIFIED", "SECRET", "TOP SECRET"],
                ["GRID", "FIN"],
            )
            .unwrap()
            .subject(
                "x",
                "cert",
                "TOP SECRET",
                ["GRID", "FIN"],
                [liaison_policy::Role::Admin],
            )
            .unwrap();
            liaison_store::Store::stats(&*f, &s).unwrap().versions
        }
    };
    let before = count(&f).await;
    let uri = coll_path("objects/");
    // malformed JSON
    let r = f
        .call(
            f.req("POST", &uri, "admin")
                .header("content-type", TAXII)
                .body(Body::from("{\"objects\": ["))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.headers["content-type"], TAXII);
    assert!(r.json()["title"].is_string());
    // wrong media type
    let r = f
        .call(
            f.req("POST", &uri, "admin")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 415);
    let r = f
        .call(
            Request::get(&uri)
                .header("accept", "text/html")
                .header("authorization", format!("Bearer {}", f.tokens["admin"]))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 406);
    // oversized
    let big = json!({"objects": [malware("malware--55555555-1111-4111-8111-111111111111", &"x".repeat(10_000), "2026-01-01T00:00:00.000Z", None)]});
    let r = f.post_envelope(&uri, "admin", &big).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.json()["http_status"], "413");
    // bad cursors and parameters
    for q in [
        "next=zzz",
        "next=%%%",
        "limit=0",
        "limit=abc",
        "added_after=yesterday",
        "match[version]=soon",
    ] {
        let r = f.get(&coll_path(&format!("objects/?{q}")), "admin").await;
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        assert_eq!(r.headers["content-type"], TAXII);
    }
    // unknown collection
    let r = f
        .post_envelope(
            "/taxii2/liaison/collections/nope/objects/",
            "admin",
            &json!({"objects": []}),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(count(&f).await, before);
    // and it keeps serving
    assert_eq!(f.get(&uri, "admin").await.status, 200);
}

/// For every route: a subject lacking clearance, compartment or releasability gets
/// exactly what it would get were the protected object absent.
#[tokio::test]
async fn labels_on_every_route() {
    let f = fixture();
    let routes = |id: &str| -> Vec<String> {
        vec![
            coll_path(&format!("objects/{id}/")),
            coll_path(&format!("objects/{id}/versions/")),
            coll_path(&format!("objects/?match[id]={id}")),
            coll_path(&format!("objects/?match[id]={id}&match[version]=all")),
            coll_path(&format!("manifest/?match[id]={id}")),
            coll_path(&format!("objects/{id}/?match[version]=first")),
        ]
    };
    // The admin sees the protected object on every route.
    for uri in routes(SECRET_ID) {
        let r = f.get(&uri, "admin").await;
        assert_eq!(r.status, 200, "{uri}");
        assert!(
            r.text.contains(SECRET_ID) || uri.contains("/versions/"),
            "{uri}: {}",
            r.text
        );
    }
    for user in ["low", "nocomp", "other"] {
        for (protected, absent) in routes(SECRET_ID).into_iter().zip(routes(ABSENT_ID)) {
            let p = f.get(&protected, user).await;
            let a = f.get(&absent, user).await;
            assert_eq!(p.status, a.status, "{user} {protected}");
            assert_eq!(p.text, a.text, "{user} {protected}");
            assert!(!p.text.contains(SECRET_ID));
        }
        // Whole pages and manifests: the public object only, and no hint of more.
        for uri in [
            coll_path("objects/"),
            coll_path("manifest/"),
            coll_path("objects/?match[version]=all"),
        ] {
            let r = f.get(&uri, user).await;
            assert_eq!(r.status, 200);
            let v = r.json();
            assert_eq!(v["more"], false, "{user} {uri}");
            assert_eq!(
                v["objects"].as_array().map(Vec::len),
                Some(1),
                "{user} {uri}: {v}"
            );
            assert!(!r.text.contains(SECRET_ID));
        }
        // Paging with limit=1 never reveals a second page.
        let r = f.get(&coll_path("objects/?limit=1"), user).await;
        assert_eq!(r.json()["more"], false);
        // Delete: same answer as for an absent object, and nothing removed.
        let p = f
            .call(
                f.req("DELETE", &coll_path(&format!("objects/{SECRET_ID}/")), user)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let a = f
            .call(
                f.req("DELETE", &coll_path(&format!("objects/{ABSENT_ID}/")), user)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!((p.status, &p.text), (a.status, &a.text), "{user} delete");
        // Adding a new version of the protected object is refused like any unwritable object.
        let env = json!({"objects": [malware(SECRET_ID, "overwrite", "2026-03-01T00:00:00.000Z", Some(secret_ext()))]});
        let r = f.post_envelope(&coll_path("objects/"), user, &env).await;
        if r.status == StatusCode::ACCEPTED {
            assert_eq!(r.json()["success_count"], 0, "{user}: {}", r.text);
        }
    }
    assert_eq!(
        f.get(&coll_path(&format!("objects/{SECRET_ID}/")), "admin")
            .await
            .json()["objects"][0]["name"],
        "Secret v2"
    );
}

#[tokio::test]
async fn metrics_in_prometheus_format() {
    let f = fixture();
    f.get(&coll_path("objects/"), "admin").await;
    let r = f.get("/metrics", "admin").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("liaison_http_requests_total{method=\"GET\",route=\"/taxii2/{root}/collections/{coll}/objects/\",status=\"200\"} 1"), "{}", r.text);
    assert!(r
        .text
        .contains("liaison_http_request_duration_seconds_bucket"));
    assert!(r.text.contains(&format!(
        "liaison_collection_entries{{collection=\"{COLL}\"}} 3"
    )));
    assert_eq!(f.get("/metrics", "low").await.status, 403);
}

#[tokio::test]
async fn rate_limit_per_user() {
    let f = fixture_with(liaison_server::Settings {
        rate_limit: (1.0, 3.0),
        ..Default::default()
    });
    let mut codes = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let r = f.get("/taxii2/", "admin").await;
        codes.push(r.status.as_u16());
        last = Some(r);
    }
    assert_eq!(codes[..3], [200, 200, 200]);
    assert_eq!(codes[4], 429);
    // the client is told when to come back: one request a second refills within 1 s
    let last = last.unwrap();
    assert_eq!(last.headers["retry-after"], "1");
    assert_eq!(
        last.headers["content-type"],
        "application/taxii+json;version=2.1"
    );
    // another user has their own bucket
    assert_eq!(f.get("/taxii2/", "low").await.status, 200);
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled() {
    let f = fixture();
    f.state.auth().set_password("low", "the right one").unwrap();
    let basic = |p: &str| {
        use base64::Engine;
        Request::get("/taxii2/")
            .header(
                "authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("low:{p}"))
                ),
            )
            .body(Body::empty())
            .unwrap()
    };
    for _ in 0..liaison_server::FailureGate::MAX {
        assert_eq!(f.call(basic("wrong")).await.status, 401);
    }
    // now even the right password waits for the minute to pass, and is told so
    let r = f.call(basic("the right one")).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers["retry-after"], "60");
    // tokens of that user are unaffected
    assert_eq!(f.get("/taxii2/", "low").await.status, 200);
}

#[tokio::test]
async fn read_and_write_rights_per_org_and_unit() {
    let f = fixture();
    let admin = f.state.store().policy().clone();
    let sys = admin
        .subject(
            "sys",
            "cert",
            "TOP SECRET",
            ["GRID", "FIN"],
            [liaison_policy::Role::Admin],
        )
        .unwrap();
    let c = liaison_store::Collection {
        id: "soc-only".into(),
        api_root: "liaison".into(),
        title: "SOC".into(),
        description: None,
        ceiling_level: "UNCLASSIFIED".into(),
        ceiling_compartments: vec![],
        read: vec!["cert".into()],
        write: vec!["cert/soc".into()],
    };
    f.state.store().put_collection(&sys, &c).unwrap();
    let uri = "/taxii2/liaison/collections/soc-only/";
    // admin is in cert/soc: reads and writes
    let r = f.get(uri, "admin").await;
    assert_eq!(
        (r.json()["can_read"].clone(), r.json()["can_write"].clone()),
        (json!(true), json!(true))
    );
    // low is in cert but no unit: reads, cannot write
    let r = f.get(uri, "low").await;
    assert_eq!(
        (r.json()["can_read"].clone(), r.json()["can_write"].clone()),
        (json!(true), json!(false))
    );
    let env = json!({"objects": [malware("malware--99999999-1111-4111-8111-111111111111", "x", "2026-01-01T00:00:00.000Z", None)]});
    let r = f
        .post_envelope(&format!("{uri}objects/"), "low", &env)
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // other (partner org) does not see the collection at all
    assert_eq!(f.get(uri, "other").await.status, 404);
    let list = f.get("/taxii2/liaison/collections/", "other").await;
    assert!(!list.text.contains("soc-only"));
    // the ceiling (UNCLASSIFIED) refuses a SECRET object even from a writer
    let env = json!({"objects": [malware("malware--99999999-2222-4111-8111-111111111111", "s", "2026-01-01T00:00:00.000Z", Some(secret_ext()))]});
    let r = f
        .post_envelope(&format!("{uri}objects/"), "admin", &env)
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.json()["failure_count"], 1);
    assert!(r.text.contains("ceiling"), "{}", r.text);
    let r = f.post_envelope(&format!("{uri}objects/"), "admin", &json!({"objects": [malware("malware--99999999-3333-4111-8111-111111111111", "ok", "2026-01-01T00:00:00.000Z", None)]})).await;
    assert_eq!(r.json()["success_count"], 1);
}

#[tokio::test]
async fn tokens_scoped_to_an_api_root() {
    let f = fixture();
    let (_, other_root) = f
        .state
        .auth()
        .create_token("admin", "t", liaison_server::Scope::Read, Some("elsewhere"))
        .unwrap();
    let (_, this_root) = f
        .state
        .auth()
        .create_token("admin", "t", liaison_server::Scope::Read, Some("liaison"))
        .unwrap();
    let get = |uri: &str, tok: &str| {
        Request::get(uri)
            .header("authorization", format!("Bearer {tok}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        f.call(get(&coll_path("objects/"), &this_root)).await.status,
        200
    );
    assert_eq!(
        f.call(get(&coll_path("objects/"), &other_root))
            .await
            .status,
        403
    );
    // discovery lists only the token's root; the REST API is closed to root-bound tokens
    let r = f.call(get("/taxii2/", &this_root)).await;
    assert_eq!(r.json()["api_roots"], json!(["/taxii2/liaison/"]));
    assert_eq!(f.call(get("/api/v1/stats", &this_root)).await.status, 403);
}

/// Status resources live in the store: a new server on the same data finds them, until
/// they expire.
#[tokio::test]
async fn status_resources_survive_a_restart_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture_in(dir.path(), liaison_server::Settings::default());
    let env = json!({"objects": [malware("malware--12121212-1111-4111-8111-111111111111", "kept", "2026-01-01T00:00:00.000Z", None)]});
    let r = f.post_envelope(&coll_path("objects/"), "admin", &env).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let posted = r.json();
    let uri = format!("/taxii2/liaison/status/{}/", posted["id"].as_str().unwrap());
    let restarted = restart(dir.path(), &f, liaison_server::Settings::default());
    drop(f);
    let r = restarted.get(&uri, "admin").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["content-type"], TAXII);
    assert_eq!(r.json(), posted);
    // Only its requester sees it, and only under the API root it was made to.
    assert_eq!(restarted.get(&uri, "reader").await.status, 404);
    let elsewhere = uri.replace("/taxii2/liaison/", "/taxii2/other/");
    assert_eq!(restarted.get(&elsewhere, "admin").await.status, 404);
    drop(restarted);
    let expired = liaison_server::Settings {
        status_ttl: std::time::Duration::ZERO,
        ..Default::default()
    };
    let f = fixture_in(dir.path(), liaison_server::Settings::default());
    let later = restart(dir.path(), &f, expired);
    let r = later.get(&uri, "admin").await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.json()["http_status"], "404");
}

/// Regression, issue 5: a user who cannot read a stored version and sends the same
/// (id, modified) gets the answer of a fresh object, and its own copy back; the
/// cleared user still sees one instance per version, the first stored.
#[tokio::test]
async fn same_version_from_an_uncleared_user_is_its_own_copy() {
    let f = fixture();
    let copy =
        json!({"objects": [malware(SECRET_ID, "Low copy", "2026-01-01T00:00:00.000Z", None)]});
    let fresh_id = "malware--13131313-1111-4111-8111-111111111111";
    let fresh = json!({"objects": [malware(fresh_id, "Fresh", "2026-01-01T00:00:00.000Z", None)]});
    let a = f.post_envelope(&coll_path("objects/"), "low", &fresh).await;
    let b = f.post_envelope(&coll_path("objects/"), "low", &copy).await;
    assert_eq!(
        (a.status, b.status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    let shape = |v: &Value, id: &str| {
        let mut v = v.clone();
        for k in ["id", "request_timestamp"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v.to_string().replace(id, "ID")
    };
    assert_eq!(
        shape(&a.json(), fresh_id),
        shape(&b.json(), SECRET_ID),
        "{}",
        b.text
    );
    let r = f
        .get(&coll_path(&format!("objects/{SECRET_ID}/")), "low")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["objects"][0]["name"], "Low copy");
    assert_eq!(r.json()["objects"].as_array().unwrap().len(), 1);
    // The cleared user: its newest version, the first stored instance of each version.
    let name = |r: &Resp| r.json()["objects"][0]["name"].clone();
    let r = f
        .get(&coll_path(&format!("objects/{SECRET_ID}/")), "admin")
        .await;
    assert_eq!(name(&r), "Secret v2");
    let r = f
        .get(
            &coll_path(&format!("objects/{SECRET_ID}/?match[version]=first")),
            "admin",
        )
        .await;
    assert_eq!(name(&r), "Secret");
    let r = f
        .get(
            &coll_path(&format!("objects/{SECRET_ID}/versions/")),
            "admin",
        )
        .await;
    assert_eq!(
        r.json()["versions"],
        json!(["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"])
    );
    let r = f
        .get(
            &coll_path(&format!(
                "manifest/?match[id]={SECRET_ID}&match[version]=all"
            )),
            "admin",
        )
        .await;
    assert_eq!(
        r.json()["objects"].as_array().unwrap().len(),
        2,
        "{}",
        r.text
    );
    let r = f
        .get(&coll_path("objects/?match[version]=all&limit=2"), "admin")
        .await;
    let mut n = r.json()["objects"].as_array().unwrap().len();
    let mut next = r.json()["next"].as_str().map(String::from);
    while let Some(c) = next {
        let r = f
            .get(
                &coll_path(&format!("objects/?match[version]=all&limit=2&next={c}")),
                "admin",
            )
            .await;
        n += r.json()["objects"].as_array().unwrap().len();
        next = r.json()["next"].as_str().map(String::from);
    }
    assert_eq!(
        n, 4,
        "public, secret v1 and v2, fresh: the low copy is not a fifth"
    );
    // Deleting what the low user sees removes its copy only.
    let r = f
        .call(
            f.req(
                "DELETE",
                &coll_path(&format!("objects/{SECRET_ID}/")),
                "low",
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        f.get(&coll_path(&format!("objects/{SECRET_ID}/")), "low")
            .await
            .status,
        404
    );
    let r = f
        .get(
            &coll_path(&format!("objects/{SECRET_ID}/?match[version]=first")),
            "admin",
        )
        .await;
    assert_eq!(name(&r), "Secret");
}

/// A delete limited to a spec version the store does not hold removes nothing.
#[tokio::test]
async fn delete_of_another_spec_version_removes_nothing() {
    let f = fixture();
    let uri = coll_path(&format!("objects/{PUBLIC_ID}/"));
    let r = f
        .call(
            f.req("DELETE", &format!("{uri}?match[spec_version]=2.0"), "admin")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(f.get(&uri, "admin").await.status, 200);
}
