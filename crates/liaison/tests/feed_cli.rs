//! `liaison feed`: every connector against a local HTTP server serving fixtures (good
//! and broken feeds), provenance kept across feeds, state across runs, pause and
//! resume, and label enforcement on feed reads.

mod common;
use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn fx() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../liaison-collect/tests/fixtures")
}

/// What the fixture server saw: (path, If-None-Match sent).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A small HTTP/1.1 server over the fixtures directory: files with an ETag (and 304
/// on a matching If-None-Match), `/status/500` failing, `/big.txt` two MiB of lines.
struct FixtureServer {
    addr: String,
    seen: Seen,
}

fn serve_fixtures(extra: HashMap<String, Vec<u8>>) -> FixtureServer {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    let extra = Arc::new(extra);
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let seen = seen2.clone();
            let extra = extra.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let mut inm = None;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("if-none-match") {
                            inm = Some(v.trim().to_string());
                        }
                    }
                }
                seen.lock().unwrap().push((path.clone(), inm.clone()));
                let p = path.split('?').next().unwrap_or("");
                let body: Option<Vec<u8>> = if p == "/status/500" {
                    None
                } else if let Some(b) = extra.get(p) {
                    Some(b.clone())
                } else {
                    std::fs::read(fx().join(p.trim_start_matches('/'))).ok()
                };
                let resp = match body {
                    None if p == "/status/500" => {
                        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 12\r\nConnection: close\r\n\r\nupstream bad"
                            .to_vec()
                    }
                    None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                    Some(b) => {
                        let etag = format!("\"{:x}-{}\"", b.iter().map(|x| *x as u64).sum::<u64>(), b.len());
                        if inm.as_deref() == Some(etag.as_str()) {
                            format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n").into_bytes()
                        } else {
                            let mut v = format!(
                                "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                b.len()
                            )
                            .into_bytes();
                            v.extend_from_slice(&b);
                            v
                        }
                    }
                };
                let _ = s.write_all(&resp);
                let mut rest = Vec::new();
                let _ = s.set_read_timeout(Some(std::time::Duration::from_millis(50)));
                let _ = s.read_to_end(&mut rest);
            });
        }
    });
    FixtureServer { addr, seen }
}

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

fn add(d: &Path, args: &[&str]) {
    let mut a = vec!["feed", "add"];
    a.extend_from_slice(args);
    ok(&run(d, &a));
}

fn run_feed(d: &Path, name: &str) -> Value {
    json(&run(d, &["feed", "run", name, "--json"]))
}

fn export_all(d: &Path) -> Vec<Value> {
    let out = d.join("export.json");
    ok(&run(d, &["export", "--out", out.to_str().unwrap()]));
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    objects_of(&v)
}

#[test]
fn connectors_against_a_local_http_server() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let big: Vec<u8> = (0..150_000u32)
        .flat_map(|i| format!("198.18.{}.{}\n", i / 256 % 256, i % 256).into_bytes())
        .collect();
    assert!(big.len() > 1 << 20);
    let srv = serve_fixtures(HashMap::from([("/big.txt".to_string(), big)]));
    let url = |p: &str| format!("http://{}/{p}", srv.addr);
    let watch = write(tmp.path(), "watch.txt", "Lazarus\nwiper\n");

    add(
        &d,
        &[
            "ips",
            &url("ips.txt"),
            "--format",
            "list",
            "--reliability",
            "B",
        ],
    );
    add(
        &d,
        &[
            "iocs",
            &url("iocs.csv"),
            "--format",
            "csv",
            "--header",
            "--value-column",
            "ioc",
            "--type-column",
            "ioc_type",
            "--labels-column",
            "threat",
            "--first-seen-column",
            "dateadded",
            "--reliability",
            "C",
            "--schedule",
            "cron:*/30 * * * *",
        ],
    );
    add(
        &d,
        &[
            "rss",
            &url("news.rss"),
            "--format",
            "news",
            "--watchlist",
            watch.to_str().unwrap(),
        ],
    );
    add(&d, &["atom", &url("news.atom"), "--format", "atom"]);
    add(&d, &["misp", &url("misp-feed/"), "--format", "misp"]);
    add(&d, &["eve", &url("eve.json"), "--format", "eve"]);
    add(&d, &["down", &url("status/500"), "--format", "list"]);
    add(&d, &["badxml", &url("bad.xml"), "--format", "news"]);
    add(
        &d,
        &[
            "badcsv",
            &url("bad.csv"),
            "--format",
            "csv",
            "--header",
            "--value-column",
            "2",
        ],
    );
    add(&d, &["latin1", &url("latin1.txt"), "--format", "list"]);
    add(
        &d,
        &[
            "latin1-ok",
            &url("latin1.txt"),
            "--format",
            "list",
            "--encoding",
            "windows-1252",
        ],
    );
    add(
        &d,
        &["big", &url("big.txt"), "--format", "list", "--max-mib", "1"],
    );

    // Good feeds.
    let r = run_feed(&d, "ips");
    assert_eq!(r["ok"], true, "{r}");
    // 6 values (the CIDR and IPv6 included); the prose line is skipped with its line.
    assert_eq!(r["outcome"]["items"], 6, "{r}");
    assert_eq!(r["outcome"]["rejected"], 1, "{r}");
    assert!(
        r["warnings"][0].as_str().unwrap().starts_with("line 8:"),
        "{r}"
    );
    let r = run_feed(&d, "iocs");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["outcome"]["items"], 4, "{r}");
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .contains("carrier-pigeon"),
        "{r}"
    );
    for f in ["rss", "atom", "misp", "eve", "latin1-ok"] {
        let r = run_feed(&d, f);
        assert_eq!(r["ok"], true, "{f}: {r}");
        assert!(r["outcome"]["new"].as_u64().unwrap() > 0, "{f}: {r}");
    }

    // Broken feeds fail with where and why, and do not stop the others.
    let expect = [
        ("down", "HTTP 500"),
        ("badxml", "line 4"),
        ("badcsv", "line 2: 1 column(s)"),
        ("latin1", "invalid UTF-8"),
        ("big", "limit of 1048576 bytes"),
    ];
    for (f, why) in expect {
        let r = run(&d, &["feed", "run", f, "--json"]);
        assert_eq!(r.code, 1, "{f}: {}", r.stdout);
        let v = json(&r);
        assert_eq!(v["ok"], false, "{f}");
        assert!(v["error"].as_str().unwrap().contains(why), "{f}: {v}");
    }
    let status = json(&run(&d, &["feed", "status", "--json"]));
    let by: HashMap<String, Value> = status
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["state"].clone()))
        .collect();
    for (f, why) in expect {
        assert_eq!(by[f]["failures"], 1, "{f}");
        assert!(by[f]["last_error"].as_str().unwrap().contains(why), "{f}");
        assert!(by[f].get("last_success").is_none(), "{f}");
        // Backing off: the next try is at least a minute after the failure.
        let last =
            chrono::DateTime::parse_from_rfc3339(by[f]["last_run"].as_str().unwrap()).unwrap();
        let next =
            chrono::DateTime::parse_from_rfc3339(by[f]["next_run"].as_str().unwrap()).unwrap();
        assert!(
            next - last >= chrono::Duration::seconds(60),
            "{f}: {}",
            by[f]
        );
    }
    for f in ["ips", "iocs", "rss", "atom", "misp", "eve", "latin1-ok"] {
        assert_eq!(by[f]["failures"], 0, "{f}");
        assert!(by[f]["last_success"].is_string(), "{f}");
    }
    assert!(by["misp"]["cursor"]["events"]["5b3e2a1c-7d4f-4e8a-9b0c-1d2e3f4a5b6c"].is_string());
    let text = run(&d, &["feed", "status", "down"]).stdout;
    assert!(
        text.contains("[failing]") && text.contains("HTTP 500"),
        "{text}"
    );

    let objs = export_all(&d);
    let find = |t: &str, name: &str| -> Vec<&Value> {
        objs.iter()
            .filter(|o| o["type"] == t && o["name"] == name)
            .collect()
    };
    // One indicator from two feeds, with both provenances; created_by_ref the first feed's.
    let ind = find("indicator", "198.51.100.7");
    assert_eq!(ind.len(), 1, "{ind:?}");
    let sources: Vec<&str> = ind[0]["external_references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source_name"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["liaison-feed:ips", "liaison-feed:iocs"]);
    let ips_identity = objs
        .iter()
        .find(|o| o["type"] == "identity" && o["name"] == "Feed ips")
        .unwrap();
    assert_eq!(ind[0]["created_by_ref"], ips_identity["id"]);
    assert_eq!(ips_identity["x_liaison_source_reliability"], "B");
    assert_eq!(ind[0]["labels"], serde_json::json!(["botnet_cc"]));
    // CSV columns mapped.
    let dl = find("indicator", "malware-drop.example.com");
    assert_eq!(dl[0]["valid_from"], "2026-11-27T09:13:44.000Z");
    assert_eq!(
        dl[0]["pattern"],
        "[domain-name:value = 'malware-drop.example.com']"
    );
    let h = find(
        "indicator",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    assert_eq!(h[0]["pattern"], "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']");
    assert_eq!(find("indicator", "café.example.com").len(), 1);
    // News: reports, screened against the watchlist.
    let rep = find(
        "report",
        "Critical flaw in GridController firmware exploited",
    );
    assert_eq!(rep[0]["published"], "2026-11-27T14:30:00.000Z");
    let labels = rep[0]["labels"].as_array().unwrap();
    assert!(
        labels.contains(&Value::from("watchlist:lazarus")),
        "{labels:?}"
    );
    assert!(labels.contains(&Value::from("ics")));
    assert_eq!(find("report", "New wiper targets energy sector").len(), 1);
    // MISP: the attributes' UUIDs are the STIX ids.
    let misp_ind: Vec<_> = objs
        .iter()
        .filter(|o| o["type"] == "indicator" && o["pattern"] == "[domain-name:value = 'circl.lu']")
        .collect();
    assert_eq!(misp_ind.len(), 1);
    // EVE: one sighting of the signature with both alerts counted; observables.
    let sig = find("indicator", "ET TROJAN Test C2 beacon");
    assert_eq!(sig[0]["pattern_type"], "suricata");
    let s: Vec<_> = objs.iter().filter(|o| o["type"] == "sighting").collect();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["count"], 2);
    assert_eq!(s[0]["sighting_of_ref"], sig[0]["id"]);
    assert_eq!(s[0]["first_seen"], "2026-11-28T10:00:01.123Z");
    assert_eq!(s[0]["last_seen"], "2026-11-28T10:00:06.999Z");
    for v in [
        "evil-cdn.example.net",
        "malware-drop.example.com",
        "login.phish.example.org",
    ] {
        assert!(
            objs.iter()
                .any(|o| o["type"] == "domain-name" && o["value"] == v),
            "{v}"
        );
    }
    assert!(objs
        .iter()
        .any(|o| o["type"] == "url" && o["value"] == "http://malware-drop.example.com/a.exe"));

    // Runs again: the list is not modified (ETag), the MISP events are not fetched again,
    // and the CSV feed adds no new version.
    let before = srv.seen.lock().unwrap().len();
    let r = run_feed(&d, "ips");
    assert_eq!(r["outcome"]["not_modified"], true, "{r}");
    let r = run_feed(&d, "misp");
    assert_eq!(r["outcome"]["items"], 0, "{r}");
    let seen = srv.seen.lock().unwrap()[before..].to_vec();
    assert!(
        seen.iter().any(|(p, inm)| p == "/ips.txt" && inm.is_some()),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|(p, _)| p.starts_with("/misp-feed/5b3e")),
        "{seen:?}"
    );
    let r = run_feed(&d, "iocs");
    assert_eq!(r["outcome"]["new"], 0, "{r}");
    assert_eq!(r["outcome"]["updated"], 0, "{r}");
}

#[test]
fn pause_resume_and_state_survive() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let f = fx().join("ips.txt");
    add(
        &d,
        &[
            "local",
            f.to_str().unwrap(),
            "--format",
            "list",
            "--schedule",
            "15m",
        ],
    );
    ok(&run(&d, &["feed", "pause", "local"]));
    let l = json(&run(&d, &["feed", "list", "--json"]));
    assert_eq!(l[0]["paused"], true);
    assert_eq!(l[0]["schedule"], "15m");
    assert!(run(&d, &["feed", "status", "local"])
        .stdout
        .contains("[paused]"));
    ok(&run(&d, &["feed", "resume", "local"]));
    let r = run_feed(&d, "local");
    assert_eq!(r["ok"], true, "{r}");
    // Redefining keeps the state (the counts of the run above).
    add(
        &d,
        &[
            "local",
            f.to_str().unwrap(),
            "--format",
            "list",
            "--schedule",
            "1h",
        ],
    );
    let s = json(&run(&d, &["feed", "status", "local", "--json"]));
    assert_eq!(s[0]["paused"], false);
    assert_eq!(s[0]["state"]["runs"], 1);
    assert_eq!(s[0]["state"]["items"], 6);
    // A new grade gives the feed's identity a new version (not a refused one).
    add(
        &d,
        &[
            "local",
            f.to_str().unwrap(),
            "--format",
            "list",
            "--reliability",
            "A",
        ],
    );
    let r = run_feed(&d, "local");
    // Only the prose line of the list is skipped; the store refuses nothing.
    assert_eq!(r["outcome"]["rejected"], 1, "{r}");
    assert_eq!(r["warnings"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["outcome"]["updated"], 1, "{r}");
    let objs = export_all(&d);
    let ident = objs.iter().find(|o| o["name"] == "Feed local").unwrap();
    assert_eq!(ident["x_liaison_source_reliability"], "A");
    // Bad definitions are refused with the field named.
    let r = run(
        &d,
        &[
            "feed",
            "add",
            "x",
            f.to_str().unwrap(),
            "--format",
            "list",
            "--schedule",
            "soon",
        ],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("schedule"), "{}", r.stderr);
    let r = run(
        &d,
        &[
            "feed",
            "add",
            "Bad Name",
            f.to_str().unwrap(),
            "--format",
            "list",
        ],
    );
    assert!(r.stderr.contains("feed name"), "{}", r.stderr);
    let r = run(
        &d,
        &["feed", "add", "x", f.to_str().unwrap(), "--format", "pdf"],
    );
    assert!(r.stderr.contains("--format 'pdf'"), "{}", r.stderr);
    for sub in ["add", "list", "run", "pause", "resume", "status", "remove"] {
        let h = run(&d, &["feed", sub, "--help"]);
        assert!(h.stdout.contains("Example"), "{sub}: {}", h.stdout);
    }
    ok(&run(&d, &["feed", "remove", "local"]));
    assert_eq!(
        json(&run(&d, &["feed", "list", "--json"])),
        serde_json::json!([])
    );
}

#[test]
fn tailing_a_log_reads_only_new_complete_lines_and_follows_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let log = tmp.path().join("eve.json");
    let lines: Vec<String> = std::fs::read_to_string(fx().join("eve.json"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // The first alert, then half of the next line.
    std::fs::write(&log, format!("{}\n{}", lines[0], &lines[1][..20])).unwrap();
    add(
        &d,
        &[
            "sensor",
            log.to_str().unwrap(),
            "--format",
            "eve",
            "--follow",
        ],
    );
    let r = run_feed(&d, "sensor");
    assert_eq!(r["outcome"]["items"], 1, "{r}");
    // The rest of the line and one more alert arrive.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    write!(f, "{}\n{}\n", &lines[1][20..], lines[5]).unwrap();
    drop(f);
    let r = run_feed(&d, "sensor");
    assert_eq!(r["outcome"]["items"], 2, "{r}");
    assert_eq!(r["outcome"]["rejected"], 0, "{r}");
    let s = json(&run(&d, &["feed", "status", "sensor", "--json"]));
    let off = s[0]["state"]["tail"]["offset"].as_u64().unwrap();
    assert_eq!(off, std::fs::metadata(&log).unwrap().len());
    // Rotation: a new, shorter file is read from the start.
    std::fs::remove_file(&log).unwrap();
    std::fs::write(&log, format!("{}\n", lines[0])).unwrap();
    let r = run_feed(&d, "sensor");
    assert_eq!(r["outcome"]["items"], 1, "{r}");
    let objs = export_all(&d);
    let s: Vec<_> = objs.iter().filter(|o| o["type"] == "sighting").collect();
    assert_eq!(s[0]["count"], 3, "{:?}", s[0]);
}

/// A user without clearance sees neither a labelled feed, nor its state and counts,
/// nor anything it collected.
#[test]
fn labelled_feed_is_invisible_without_clearance() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let cfg = d.join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(
        "\n[[users]]\nname = \"intern\"\norg = \"cert\"\nclearance = \"UNCLASSIFIED\"\nroles = [\"analyst\"]\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let f = fx().join("ips.txt");
    add(
        &d,
        &[
            "secret-ips",
            f.to_str().unwrap(),
            "--format",
            "list",
            "--label",
            "SECRET//GRID//TLP:AMBER",
        ],
    );
    let r = run_feed(&d, "secret-ips");
    assert_eq!(r["ok"], true, "{r}");
    // The admin sees the feed and what it collected.
    assert_eq!(
        json(&run(&d, &["feed", "list", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let s = json(&run(&d, &["search", "--json", "198.51.100.7"]));
    assert!(s["total"].as_u64().unwrap() >= 1, "{s}");
    let id = s["hits"][0]["id"].as_str().unwrap().to_string();
    // The intern sees nothing: no feed, no state, no count, no object; and the answers
    // for this feed equal those for a feed that does not exist.
    let l = json(&run(&d, &["--as", "intern", "feed", "list", "--json"]));
    assert_eq!(l, serde_json::json!([]));
    let st = json(&run(&d, &["--as", "intern", "feed", "status", "--json"]));
    assert_eq!(st, serde_json::json!([]));
    // Every command naming the feed answers the intern exactly as for an absent name.
    for cmd in [
        &["feed", "status"][..],
        &["feed", "status", "--json"][..],
        &["feed", "run"][..],
        &["feed", "run", "--json"][..],
        &["feed", "pause"][..],
        &["feed", "resume"][..],
        &["feed", "remove"][..],
    ] {
        let with = |name: &str| {
            let mut a = vec!["--as", "intern"];
            a.extend_from_slice(&cmd[..2]);
            a.push(name);
            a.extend_from_slice(&cmd[2..]);
            run(&d, &a)
        };
        let a = with("secret-ips");
        let b = with("no-such-feed");
        assert_ne!(a.code, 0, "{cmd:?}");
        assert_eq!(a.code, b.code, "{cmd:?}");
        assert_eq!(a.stdout, b.stdout, "{cmd:?}");
        assert_eq!(
            a.stderr.replace("secret-ips", "X"),
            b.stderr.replace("no-such-feed", "X"),
            "{cmd:?}"
        );
        assert!(a.stderr.contains("no feed named"), "{cmd:?}: {}", a.stderr);
    }
    // Feed writes are audit records, refused ones too, and the intern's refusals read
    // the same for the hidden feed as for an absent one.
    let audit = |object: &str| -> Vec<serde_json::Value> {
        let r = run(&d, &["audit", "query", "--json", "--object", object]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let hidden = audit("feed:secret-ips");
    let absent = audit("feed:no-such-feed");
    let by = |recs: &[serde_json::Value], user: &str| -> Vec<String> {
        recs.iter()
            .filter(|r| r["user"] == user)
            .map(|r| format!("{} {}", r["action"], r["detail"]))
            .collect()
    };
    assert_eq!(
        by(&hidden, "admin"),
        [
            "\"write\" \"define feed: ok\"",
            "\"write\" \"run feed: ok\""
        ],
        "{hidden:?}"
    );
    let intern = by(&hidden, "intern");
    assert_eq!(
        intern.len(),
        5,
        "run twice, pause, resume, remove: {intern:?}"
    );
    assert_eq!(
        intern.join("\n").replace("secret-ips", "X"),
        by(&absent, "intern")
            .join("\n")
            .replace("no-such-feed", "X")
    );
    let s = json(&run(
        &d,
        &["--as", "intern", "search", "--json", "198.51.100.7"],
    ));
    assert_eq!(s["total"], 0, "{s}");
    let g = run(&d, &["--as", "intern", "get", &id]);
    assert_ne!(g.code, 0);
    let s = json(&run(&d, &["--as", "intern", "stats", "--json"]));
    assert_eq!(s["by_type"].get("indicator"), None, "{s}");
    // The name is free to the intern: defining it answers as for a fresh name and makes
    // the intern's own feed, which leaves the admin's alone.
    let define = |name: &str| {
        run(
            &d,
            &[
                "--as",
                "intern",
                "feed",
                "add",
                name,
                f.to_str().unwrap(),
                "--format",
                "list",
                "--json",
            ],
        )
    };
    let a = define("secret-ips");
    let b = define("fresh-ips");
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.code, b.code);
    assert_eq!(
        a.stdout.replace("secret-ips", "X"),
        b.stdout.replace("fresh-ips", "X")
    );
    let l = json(&run(&d, &["--as", "intern", "feed", "list", "--json"]));
    let names: Vec<&str> = l
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fresh-ips", "secret-ips"]);
    assert!(
        l[1]["label"].as_str().unwrap().starts_with("UNCLASSIFIED"),
        "{l}"
    );
    assert_eq!(l[1]["user"], "intern");
    assert_eq!(
        l[1]["state"],
        serde_json::json!({}),
        "the intern's feed has its own state"
    );
    let mine = json(&run(&d, &["feed", "status", "secret-ips", "--json"]));
    assert!(
        mine[0]["label"].as_str().unwrap().starts_with("SECRET"),
        "{mine}"
    );
    assert_eq!(mine[0]["state"]["runs"], 1, "{mine}");
    // The intern's run, pause and removal touch only its own feed.
    ok(&run(&d, &["--as", "intern", "feed", "pause", "secret-ips"]));
    let mine = json(&run(&d, &["feed", "status", "secret-ips", "--json"]));
    assert_eq!(mine[0]["paused"], false);
    ok(&run(
        &d,
        &["--as", "intern", "feed", "remove", "secret-ips"],
    ));
    let mine = json(&run(&d, &["feed", "status", "secret-ips", "--json"]));
    assert_eq!(mine[0]["state"]["runs"], 1, "{mine}");
}

fn run_env(d: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = bin();
    c.arg("--data").arg(d).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Chunks are written while the next is built: a value repeated across chunks is still
/// one indicator, and a run that fails after some chunks were handed over stores nothing.
#[test]
fn chunked_runs_merge_across_chunks_and_fail_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let list = write(
        tmp.path(),
        "dups.txt",
        "198.51.100.7\nevil.example.com\n192.0.2.1\n198.51.100.7\n192.0.2.2\nevil.example.com\n",
    );
    add(&d, &["dups", list.to_str().unwrap(), "--format", "list"]);
    let r = json(&run_env(
        &d,
        &["feed", "run", "dups", "--json"],
        &[("LIAISON_FEED_CHUNK", "2")],
    ));
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["outcome"]["items"], 6, "{r}");
    assert_eq!(r["outcome"]["rejected"], 0, "{r}");
    let objs = export_all(&d);
    assert_eq!(objs.iter().filter(|o| o["type"] == "indicator").count(), 4);

    // The same distinct values again, one per chunk: each object, the feed's identity
    // included, is counted unchanged once.
    let list = write(
        tmp.path(),
        "three.txt",
        "198.51.100.8\n192.0.2.9\nbad.example.org\n",
    );
    add(&d, &["three", list.to_str().unwrap(), "--format", "list"]);
    let env = [("LIAISON_FEED_CHUNK", "1")];
    let r = json(&run_env(&d, &["feed", "run", "three", "--json"], &env));
    assert_eq!(r["outcome"]["new"], 4, "{r}");
    let r = json(&run_env(&d, &["feed", "run", "three", "--json"], &env));
    assert_eq!(r["outcome"]["new"], 0, "{r}");
    assert_eq!(r["outcome"]["unchanged"], 4, "{r}");

    // A MISP feed whose manifest lists an event the server does not have: the first
    // event's objects were handed to the writer, the second fetch fails, nothing stays.
    let srv = serve_fixtures(HashMap::from([
        (
            "/broken-misp/manifest.json".to_string(),
            br#"{"5b3e2a1c-7d4f-4e8a-9b0c-1d2e3f4a5b6c": {"timestamp": "1"},
            "00000000-0000-4000-8000-000000000000": {"timestamp": "1"}}"#
                .to_vec(),
        ),
        (
            "/broken-misp/5b3e2a1c-7d4f-4e8a-9b0c-1d2e3f4a5b6c.json".to_string(),
            std::fs::read(fx().join("misp-feed/5b3e2a1c-7d4f-4e8a-9b0c-1d2e3f4a5b6c.json"))
                .unwrap(),
        ),
    ]));
    let url = format!("http://{}/broken-misp/", srv.addr);
    add(&d, &["broken-misp", &url, "--format", "misp"]);
    let r = run_env(
        &d,
        &["feed", "run", "broken-misp", "--json"],
        &[("LIAISON_FEED_CHUNK", "1")],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        json(&r)["error"].as_str().unwrap().contains("HTTP 404"),
        "{}",
        r.stdout
    );
    let objs = export_all(&d);
    assert!(
        !objs
            .iter()
            .any(|o| o["pattern"] == "[domain-name:value = 'circl.lu']"),
        "a failed run left objects behind"
    );
    // The cursor did not move: the next run fetches both events again.
    let s = json(&run(&d, &["feed", "status", "broken-misp", "--json"]));
    assert!(s[0]["state"].get("cursor").is_none(), "{s}");
}

/// A followed directory: every file is tailed; a file renamed by rotation keeps its
/// place, and the new file is read from its start.
#[test]
fn tailing_a_directory_follows_each_file_across_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.log"), "198.51.100.1\n198.51.100.2\n").unwrap();
    std::fs::write(dir.join("b.log"), "evil-one.example\n").unwrap();
    std::fs::write(dir.join(".hidden"), "198.51.100.99\n").unwrap();
    add(
        &d,
        &["dir", dir.to_str().unwrap(), "--format", "list", "--follow"],
    );
    let r = run_feed(&d, "dir");
    assert_eq!(r["outcome"]["items"], 3, "{r}");
    // a.log grows, then is rotated to a.log.1 and a new a.log starts.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("a.log"))
        .unwrap();
    writeln!(f, "198.51.100.3").unwrap();
    drop(f);
    std::fs::rename(dir.join("a.log"), dir.join("a.log.1")).unwrap();
    std::fs::write(dir.join("a.log"), "198.51.100.4\n").unwrap();
    let r = run_feed(&d, "dir");
    // Only .3 (appended before the rename) and .4 (the new file): nothing read twice.
    assert_eq!(r["outcome"]["items"], 2, "{r}");
    assert_eq!(r["outcome"]["new"], 2, "{r}");
    let r = run_feed(&d, "dir");
    assert_eq!(r["outcome"]["items"], 0, "{r}");
}
