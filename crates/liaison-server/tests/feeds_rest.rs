//! REST `/api/v1/feeds`: define, list, show with status, pause, resume, run now and
//! remove; bad definitions answered 422 naming the field; writes in the audit log;
//! and a caller without clearance receives nothing of a labelled feed, its name
//! staying free to it.

mod common;
use axum::body::Body;
use common::*;
use liaison_protect::audit::{action, Query};
use liaison_store::audit::{self, AuditLog};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;

const IPS: &str = "# test list\n198.51.100.7\n198.51.100.8\nevil.example.com\n";

/// A tiny HTTP server: `/ips.txt` serves [`IPS`], anything else answers 500.
fn source() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let resp = if path == "/ips.txt" {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{IPS}",
                    IPS.len()
                )
            } else {
                "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 12\r\nConnection: close\r\n\r\nupstream bad".to_string()
            };
            let _ = s.write_all(resp.as_bytes());
        }
    });
    format!("http://{addr}")
}

impl Fixture {
    async fn send(&self, method: &str, uri: &str, user: &str, body: Option<&Value>) -> Resp {
        let b = self
            .req(method, uri, user)
            .header("accept", "application/json");
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.call(req.unwrap()).await
    }
}

/// Wait until the feed's state counts `runs` runs (a run started over REST goes on
/// after the answer). Bounded, so a run that never ends fails the test.
async fn await_runs(f: &Fixture, name: &str, user: &str, runs: u64) -> Value {
    for _ in 0..600 {
        let v = f.get(&format!("/api/v1/feeds/{name}"), user).await.json();
        if v["state"]["runs"].as_u64().unwrap_or(0) + v["state"]["failures"].as_u64().unwrap_or(0)
            >= runs
        {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("feed {name} did not finish {runs} run(s)");
}

fn audited(f: &Fixture) -> (Arc<AuditLog>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::open(dir.path(), None).unwrap());
    let _ = f.state.clone().with_audit(log.clone());
    (log, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn define_list_show_pause_resume_run_and_remove() {
    let f = fixture();
    let (_log, dir) = audited(&f);
    let src = source();
    let spec = json!({"name": "ips", "url": format!("{src}/ips.txt"), "format": "list",
        "schedule": "15m", "reliability": "B", "label": "UNCLASSIFIED//REL TO ALL//TLP:GREEN"});
    let r = f.send("POST", "/api/v1/feeds", "admin", Some(&spec)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v["name"], "ips");
    assert_eq!(v["format"], "list");
    assert_eq!(v["schedule"], "15m");
    assert_eq!(v["reliability"], "B");
    assert_eq!(v["health"], "never run");
    assert_eq!(v["user"], "admin");
    assert_eq!(v["paused"], false);
    assert_eq!(v["blocked"], Value::Null);
    // The same name again is the caller's own feed: a conflict, nothing changed.
    let again = json!({"name": "ips", "url": format!("{src}/other.txt"), "format": "list"});
    let r = f.send("POST", "/api/v1/feeds", "admin", Some(&again)).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.json()["description"].as_str().unwrap().contains("'ips'"));
    let l = f.get("/api/v1/feeds", "admin").await;
    assert_eq!(l.status, 200);
    let feeds = l.json()["feeds"].as_array().unwrap().clone();
    assert_eq!(feeds.len(), 1);
    assert_eq!(feeds[0]["url"], format!("{src}/ips.txt"));
    // Pause and resume.
    let r = f
        .send("POST", "/api/v1/feeds/ips/pause", "admin", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["paused"], true);
    assert_eq!(r.json()["health"], "paused");
    assert_eq!(r.json()["due"], false);
    let v = f.get("/api/v1/feeds/ips", "admin").await.json();
    assert_eq!(v["paused"], true);
    let r = f
        .send("POST", "/api/v1/feeds/ips/resume", "admin", None)
        .await;
    assert_eq!(r.json()["paused"], false);
    assert_eq!(r.json()["due"], true, "never run: due at once");
    // Run now: answered at once, the outcome lands in the status.
    let r = f.send("POST", "/api/v1/feeds/ips/run", "admin", None).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json()["feed"], "ips");
    let v = await_runs(&f, "ips", "admin", 1).await;
    assert_eq!(v["health"], "ok", "{v}");
    assert_eq!(v["state"]["runs"], 1);
    assert_eq!(v["state"]["items"], 3);
    assert_eq!(v["state"]["failures"], 0);
    assert!(v["state"]["last_success"].is_string(), "{v}");
    assert!(v["state"]["next_run"].is_string(), "{v}");
    assert_eq!(v["due"], false);
    let s = f.get("/api/v1/search?q=198.51.100.7", "admin").await.json();
    assert!(s["total"].as_u64().unwrap() >= 1, "{s}");
    // While a run of the feed is under way, another is refused.
    let admin = subjects(&policy())[0].clone();
    let rec = f.state.store().feed(&admin, "ips").unwrap().unwrap();
    let held = liaison_server::feeds::claim(&rec).unwrap();
    let r = f.send("POST", "/api/v1/feeds/ips/run", "admin", None).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.json()["description"]
        .as_str()
        .unwrap()
        .contains("running"));
    drop(held);
    // A failing source shows in the status.
    let bad = json!({"name": "broken", "url": format!("{src}/status/500"), "format": "list"});
    assert_eq!(
        f.send("POST", "/api/v1/feeds", "admin", Some(&bad))
            .await
            .status,
        201
    );
    assert_eq!(
        f.send("POST", "/api/v1/feeds/broken/run", "admin", None)
            .await
            .status,
        202
    );
    let v = await_runs(&f, "broken", "admin", 1).await;
    assert_eq!(v["health"], "failing", "{v}");
    assert_eq!(v["state"]["failures"], 1);
    assert!(
        v["state"]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{v}"
    );
    // Remove.
    let r = f.send("DELETE", "/api/v1/feeds/ips", "admin", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(f.get("/api/v1/feeds/ips", "admin").await.status, 404);
    // A reader sees feeds but may not change or run them.
    assert_eq!(f.get("/api/v1/feeds/broken", "reader").await.status, 200);
    for (m, u) in [
        ("POST", "/api/v1/feeds/broken/pause"),
        ("POST", "/api/v1/feeds/broken/run"),
        ("DELETE", "/api/v1/feeds/broken"),
    ] {
        assert_eq!(f.send(m, u, "reader", None).await.status, 403, "{m} {u}");
    }
    // Writes are in the audit log, refused ones too, each naming the feed.
    let mut recs = Vec::new();
    audit::query(
        dir.path(),
        &Query {
            user: Some("admin".into()),
            action: Some(action::WRITE.into()),
            ..Default::default()
        },
        &mut |r| {
            recs.push((r.object.clone().unwrap_or_default(), r.detail.clone()));
            Ok(())
        },
    )
    .unwrap();
    let has = |o: &str, d: &str| recs.iter().any(|(ro, rd)| ro == o && rd.contains(d));
    assert!(has("feed:ips", "POST feeds: created"), "{recs:?}");
    assert!(has("feed:ips", "POST feeds: refused"), "{recs:?}");
    assert!(has("feed:ips", "pause feed: ok"), "{recs:?}");
    assert!(has("feed:ips", "resume feed: ok"), "{recs:?}");
    assert!(has("feed:ips", "run feed: ok"), "{recs:?}");
    assert!(has("feed:ips", "run feed: refused"), "{recs:?}");
    assert!(has("feed:ips", "delete feed: ok"), "{recs:?}");
}

#[tokio::test]
async fn bad_definitions_are_422_naming_the_field_and_store_nothing() {
    let f = fixture();
    let base = json!({"name": "x", "url": "https://feeds.example/x.txt", "format": "list"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("url", json!("ftp://feeds.example/x")), "$.url"),
        (with("url", json!("http://")), "$.url"),
        (with("url", json!("/etc/passwd")), "$.url"),
        (with("url", json!("")), "$.url"),
        (with("schedule", json!("every fortnight")), "$.schedule"),
        (
            with("schedule", json!("99999999999999999999d")),
            "$.schedule",
        ),
        (with("schedule", json!("4000d")), "$.schedule"),
        (with("schedule", json!("cron:61 * * * *")), "$.schedule"),
        (with("format", json!("pdf")), "$.format"),
        (with("kind", json!("phone")), "$.kind"),
        (with("reliability", json!("Z")), "$.reliability"),
        (with("label", json!("ULTRA SECRET")), "$.label"),
        (with("name", json!("Bad Name")), "$.name"),
        (with("encoding", json!("klingon")), "$.encoding"),
        (with("max_mib", json!(0)), "$.max_mib"),
        (with("user", json!("ghost")), "$.user"),
        (with("watchlist", json!("/etc/hosts")), "$.watchlist"),
    ] {
        let r = f.send("POST", "/api/v1/feeds", "admin", Some(&body)).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        let d = r.json()["description"].as_str().unwrap().to_string();
        assert!(d.starts_with(field), "{body}: {d}");
    }
    // CSV columns are named by their field.
    let csv = json!({"name": "c", "url": "https://feeds.example/c.csv", "format": "csv", "value_column": "url"});
    let r = f.send("POST", "/api/v1/feeds", "admin", Some(&csv)).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.json()["description"]
        .as_str()
        .unwrap()
        .starts_with("$.value_column"));
    // Malformed or unknown members: 400.
    let r = f
        .send(
            "POST",
            "/api/v1/feeds",
            "admin",
            Some(&with("colour", json!("red"))),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("colour"), "{}", r.text);
    // Running as another user is an administrator's to define.
    let r = f
        .send(
            "POST",
            "/api/v1/feeds",
            "low",
            Some(&with("user", json!("admin"))),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // A label the caller may not write at.
    let r = f
        .send(
            "POST",
            "/api/v1/feeds",
            "low",
            Some(&with("label", json!("SECRET//GRID"))),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // Nothing was stored, and the server still serves.
    assert_eq!(
        f.get("/api/v1/feeds", "admin").await.json(),
        json!({"feeds": []})
    );
    let ok = f.send("POST", "/api/v1/feeds", "admin", Some(&base)).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

/// Users lacking clearance, compartment or releasability receive nothing of a
/// labelled feed: every answer equals the one for an absent name, and defining the
/// name gives them their own feed with a fresh name's answer.
#[tokio::test]
async fn a_feed_without_clearance_is_absent_and_its_name_free() {
    let f = fixture();
    let secret = json!({"name": "grid-ips", "url": "https://feeds.example/grid.txt", "format": "list",
        "label": "SECRET//GRID//REL TO cert"});
    let r = f
        .send("POST", "/api/v1/feeds", "admin", Some(&secret))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    for user in ["low", "nocomp", "other"] {
        let l = f.get("/api/v1/feeds", user).await;
        assert_eq!(l.status, 200);
        assert_eq!(l.json(), json!({"feeds": []}), "{user}");
        for (m, path) in [
            ("GET", ""),
            ("POST", "/pause"),
            ("POST", "/resume"),
            ("POST", "/run"),
            ("DELETE", ""),
        ] {
            let a = f
                .send(m, &format!("/api/v1/feeds/grid-ips{path}"), user, None)
                .await;
            let b = f
                .send(m, &format!("/api/v1/feeds/no-such-feed{path}"), user, None)
                .await;
            assert_eq!(a.status, 404, "{user} {m} {path}: {}", a.text);
            assert_eq!(
                (a.status, &a.text),
                (b.status, &b.text),
                "{user} {m} {path}"
            );
        }
    }
    // The admin's feed is untouched by all that.
    let v = f.get("/api/v1/feeds/grid-ips", "admin").await.json();
    assert_eq!(v["paused"], false);
    assert!(
        v["label"].as_str().unwrap().starts_with("SECRET//GRID"),
        "{v}"
    );
    // Defining the name answers as a fresh name does, and makes low's own feed.
    let mine = |name: &str| json!({"name": name, "url": "https://feeds.example/mine.txt", "format": "list"});
    let a = f
        .send("POST", "/api/v1/feeds", "low", Some(&mine("grid-ips")))
        .await;
    let b = f
        .send("POST", "/api/v1/feeds", "low", Some(&mine("fresh-ips")))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.status, b.status);
    assert_eq!(
        a.text.replace("grid-ips", "N"),
        b.text.replace("fresh-ips", "N")
    );
    let v = f.get("/api/v1/feeds/grid-ips", "low").await.json();
    assert_eq!(v["url"], "https://feeds.example/mine.txt");
    assert_eq!(v["user"], "low");
    // Each sees its own; removing low's leaves the admin's.
    let v = f.get("/api/v1/feeds/grid-ips", "admin").await.json();
    assert_eq!(v["url"], "https://feeds.example/grid.txt");
    assert_eq!(
        f.send("DELETE", "/api/v1/feeds/grid-ips", "low", None)
            .await
            .status,
        204
    );
    assert_eq!(f.get("/api/v1/feeds/grid-ips", "low").await.status, 404);
    assert_eq!(f.get("/api/v1/feeds/grid-ips", "admin").await.status, 200);
}
