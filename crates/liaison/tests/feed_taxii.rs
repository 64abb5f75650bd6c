//! TAXII 2.1 pull feeds: from another Liaison (federation of two instances, labels
//! kept) and from medallion, the OASIS reference server (from the project's .venv).

mod server_util;
use server_util::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn liaison(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut c = bin();
    c.arg("--data").arg(data).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run liaison");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ok(o: &Out) {
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
}

fn run_json(data: &Path, name: &str) -> serde_json::Value {
    let o = liaison(data, &["feed", "run", name, "--json"], &[]);
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", o.stdout, o.stderr))
}

/// A second Liaison instance pulls the demo's shared collection from the first: the
/// objects arrive with their labels, and the next run asks only for what was added since.
#[test]
fn pull_from_another_liaison() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = demo_dir(tmp.path(), 300);
    let server = serve(&demo);
    // The partner runs the same deployment policy (levels, compartments, organizations).
    let partner = tmp.path().join("partner");
    std::fs::create_dir_all(&partner).unwrap();
    std::fs::copy(demo.join("config.toml"), partner.join("config.toml")).unwrap();
    let url = format!(
        "http://{}/taxii2/liaison/collections/{DEMO_COLLECTION}/",
        server.addr
    );
    let auth = basic("admin", PASSWORD);
    ok(&liaison(
        &partner,
        &[
            "--as",
            "admin",
            "feed",
            "add",
            "peer",
            &url,
            "--format",
            "taxii",
            "--auth-env",
            "PEER_AUTH",
            "--reliability",
            "A",
        ],
        &[("PEER_AUTH", &auth)],
    ));
    // The token is kept out of what the definition shows.
    let l = liaison(&partner, &["--as", "admin", "feed", "list", "--json"], &[]);
    assert!(!l.stdout.contains(&auth[6..]), "{}", l.stdout);

    let r = run_json(&partner, "peer");
    assert_eq!(r["ok"], true, "{r}");
    let new = r["outcome"]["new"].as_u64().unwrap();
    // What the collection holds, as the same user sees it over TAXII.
    let page = http(
        &server.addr,
        "GET",
        &format!("/taxii2/liaison/collections/{DEMO_COLLECTION}/manifest/?limit=1000"),
        &[
            ("Authorization", &auth),
            ("Accept", "application/taxii+json;version=2.1"),
        ],
        "",
    );
    let listed = page.json()["objects"].as_array().map_or(0, |a| a.len()) as u64;
    assert!(listed > 0);
    assert_eq!(r["outcome"]["items"].as_u64().unwrap(), listed, "{r}");
    assert!(new > 0 && new <= listed, "{r}");
    assert_eq!(r["outcome"]["rejected"], 0, "{r}");
    // Labels travelled with the objects: the pulled copy of the demo's GRIDSPIKE malware
    // carries the same SECRET//GRID label as the original.
    let g = liaison(&partner, &["--as", "admin", "get", GRIDSPIKE], &[]);
    ok(&g);
    let demo_get = liaison(&demo, &["--as", "admin", "get", GRIDSPIKE], &[]);
    let banner = g.stdout.lines().next().unwrap_or_default();
    assert!(banner.starts_with("== SECRET//GRID"), "{banner}");
    assert_eq!(Some(banner), demo_get.stdout.lines().next());
    // Second run: only what was added after the last run's newest date_added.
    let s = liaison(
        &partner,
        &["--as", "admin", "feed", "status", "peer", "--json"],
        &[],
    );
    let st: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    assert!(st[0]["state"]["cursor"]["added_after"].is_string(), "{st}");
    let r = run_json(&partner, "peer");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["outcome"]["new"], 0, "{r}");
    assert!(r["outcome"]["items"].as_u64().unwrap() < listed, "{r}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Pull from medallion (the OASIS TAXII 2.1 reference server) serving a small bundle.
#[test]
fn pull_from_medallion() {
    let py = venv_python();
    let medallion = py.with_file_name("medallion");
    let tmp = tempfile::tempdir().unwrap();
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../liaison-stix/tests/fixtures/bundles/oasis/threat-reports/poisonivy.json");
    let coll = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/server/medallion_data.py");
    let st = Command::new(&py)
        .arg(&script)
        .arg(&bundle)
        .arg(coll)
        .arg(port.to_string())
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(st.success());
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    // Stopped however the test ends.
    let _medallion = Kill(
        Command::new(&medallion)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg(tmp.path().join("medallion-config.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start medallion"),
    );
    let addr = format!("127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "medallion did not start on {addr}");
    let data = tmp.path().join("data");
    ok(&liaison(&data, &["init", "--org", "cert"], &[]));
    let auth = basic("admin", "bench-password-1");
    ok(&liaison(
        &data,
        &[
            "feed",
            "add",
            "medallion",
            &format!("http://{addr}/api1/collections/{coll}/"),
            "--format",
            "taxii",
            "--auth-env",
            "M_AUTH",
        ],
        &[("M_AUTH", &auth)],
    ));
    let r = run_json(&data, "medallion");
    assert_eq!(r["ok"], true, "{r}");
    let n = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&bundle).unwrap()).unwrap()
        ["objects"]
        .as_array()
        .unwrap()
        .len() as u64;
    // medallion pages by 100: every object arrives, over several pages.
    assert_eq!(r["outcome"]["items"], n, "{r}");
    assert_eq!(r["outcome"]["rejected"], 0, "{r}");
    assert!(r["outcome"]["new"].as_u64().unwrap() > 0);
    let r = run_json(&data, "medallion");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["outcome"]["new"], 0, "{r}");
}

/// `liaison serve` runs the feeds that are due on its own: a good one succeeds while a
/// broken one fails, backs off and shows its error; a paused one is left alone.
#[test]
fn serve_runs_due_feeds() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&liaison(&data, &["init", "--org", "cert"], &[]));
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../liaison-collect/tests/fixtures");
    let list = fx.join("ips.txt");
    let broken = fx.join("bad.xml");
    ok(&liaison(
        &data,
        &[
            "feed",
            "add",
            "good",
            list.to_str().unwrap(),
            "--format",
            "list",
            "--schedule",
            "1h",
        ],
        &[],
    ));
    ok(&liaison(
        &data,
        &[
            "feed",
            "add",
            "broken",
            broken.to_str().unwrap(),
            "--format",
            "news",
        ],
        &[],
    ));
    ok(&liaison(
        &data,
        &[
            "feed",
            "add",
            "resting",
            list.to_str().unwrap(),
            "--format",
            "list",
            "--paused",
        ],
        &[],
    ));
    let _server = serve(&data);
    let mut states = serde_json::Value::Null;
    for _ in 0..120 {
        let s = liaison(&data, &["feed", "status", "--json"], &[]);
        states = serde_json::from_str(&s.stdout).unwrap_or_default();
        let done = |name: &str| {
            states
                .as_array()
                .and_then(|a| a.iter().find(|f| f["name"] == name))
                .is_some_and(|f| f["state"]["runs"].as_u64().unwrap_or(0) >= 1)
        };
        if done("good") && done("broken") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let by = |name: &str| {
        states
            .as_array()
            .and_then(|a| a.iter().find(|f| f["name"] == name))
            .cloned()
            .unwrap_or_default()
    };
    let good = by("good");
    assert!(good["state"]["last_success"].is_string(), "{states}");
    assert_eq!(good["state"]["items"], 6, "{states}");
    let broken = by("broken");
    assert_eq!(broken["state"]["failures"], 1, "{states}");
    assert!(
        broken["state"]["last_error"]
            .as_str()
            .unwrap()
            .contains("line 4"),
        "{states}"
    );
    let resting = by("resting");
    assert!(
        resting["state"].get("runs").is_none_or(|r| r == 0),
        "{states}"
    );
    // What the scheduler stored is there.
    let s = liaison(&data, &["search", "--json", "198.51.100.7"], &[]);
    let v: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    assert!(v["total"].as_u64().unwrap() >= 1, "{v}");
}
