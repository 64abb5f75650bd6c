//! `liaison serve` runs the deadline monitor: overdue tasks in the store become in-app
//! notifications for those who may read them and signed webhook POSTs, once, across a
//! restart.

mod common;
mod server_util;

use liaison_policy::{Releasability, Tlp};
use liaison_tasks::ops::task_object;
use liaison_tasks::{apply, Action, Party, Priority, Task, TaskType};
use serde_json::{json, Value};
use server_util::{basic, http, serve};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

const H: i64 = 3_600_000;
const SECRET: &str = "webhook secret 0123";
const PASSWORD: &str = "task-pass-0123";

fn config(hook: &str) -> String {
    format!(
        r#"
[deployment]
name = "Task server test"
levels = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
compartments = ["GRID"]
default_user = "admin"

[[orgs]]
id = "cert"
name = "National CERT"
units = [{{ id = "analysis", name = "Threat Analysis", head = "carol" }}]

[[orgs]]
id = "ministry"
name = "Ministry"
units = [{{ id = "cyber", name = "Cyber Directorate", head = "dana" }}]

[[users]]
name = "admin"
org = "cert"
clearance = "TOP SECRET"
compartments = ["GRID"]
roles = ["admin"]

[[users]]
name = "dana"
org = "ministry"
unit = "cyber"
clearance = "SECRET"
compartments = ["GRID"]
roles = ["analyst"]

[[users]]
name = "carol"
org = "cert"
unit = "analysis"
clearance = "SECRET"
compartments = ["GRID"]
roles = ["analyst"]

[[users]]
name = "low"
org = "cert"
unit = "analysis"
clearance = "RESTRICTED"
roles = ["analyst"]

[tasks]
monitor_interval_secs = 1
webhook_secret = "{SECRET}"

[[tasks.webhooks]]
target = "cert/analysis"
url = "{hook}"
max_level = "SECRET"
"#
    )
}

/// A received POST: its headers (lower-case names) and body.
type Received = (Vec<(String, String)>, Vec<u8>);

/// A webhook receiver on a local port: every POST (headers, body) goes to the channel.
fn receiver() -> (String, mpsc::Receiver<Received>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let _ = s.write_all(
                b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            let _ = tx.send((headers, body));
        }
    });
    (url, rx)
}

/// A ministry task assigned to cert/analysis `age_h` hours ago with `budget_h` hours,
/// labelled SECRET//GRID//REL TO cert, as a bundle to import.
fn aged_task(n: u32, age_h: i64, budget_h: i64) -> (String, Value) {
    let policy = common::test_policy(&["GRID"]);
    let now = liaison_stix::Timestamp::now().millis();
    let created = now - age_h * H;
    let id = format!("x-liaison-task--00000000-0000-4000-8000-{n:012}");
    let req = Party::new("ministry", Some("cyber"), Some("dana"));
    let t = Task::draft(
        id.clone(),
        created,
        "Who is behind GRIDSPIKE?",
        TaskType::Rfi,
        Priority::Urgent,
        req.clone(),
        created + budget_h * H,
    )
    .unwrap();
    let t = apply(
        &t,
        &req,
        Action::Assign(vec![Party::new("cert", Some("analysis"), None)]),
        created,
    )
    .unwrap();
    let label = policy
        .label(
            "SECRET",
            ["GRID"],
            Tlp::Clear,
            "ministry",
            Releasability::to(["cert"]),
        )
        .unwrap();
    let obj = task_object(&t, None, &label, &policy).unwrap();
    let bundle = json!({"type": "bundle", "id": format!("bundle--00000000-0000-4000-8000-{n:012}"),
        "objects": [liaison_tasks::task_extension_definition(), obj.to_value()]});
    (id, bundle)
}

fn import_as(d: &Path, user: &str, name: &str, bundle: &Value) {
    let f = common::write(d, name, &bundle.to_string());
    let r = common::run(d, &["--as", user, "import", f.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

fn notifications(addr: &str, user: &str) -> Vec<Value> {
    let r = http(
        addr,
        "GET",
        "/api/v1/notifications",
        &[("Authorization", &basic(user, PASSWORD))],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["notifications"].as_array().unwrap().clone()
}

fn next_hook(rx: &mpsc::Receiver<Received>) -> (Vec<(String, String)>, Value) {
    let (h, b) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("a webhook POST within a minute");
    let sig = h
        .iter()
        .find(|(k, _)| k == "x-liaison-signature")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(
        liaison_tasks::sign::verify_signature(SECRET.as_bytes(), &b, &sig),
        "signature {sig} does not verify"
    );
    (h, serde_json::from_slice(&b).unwrap())
}

#[test]
fn serve_runs_the_deadline_monitor_notifies_once_and_signs_webhooks() {
    let tmp = tempfile::tempdir().unwrap();
    let d = common::init(tmp.path());
    let (url, hooks) = receiver();
    common::write(&d, "config.toml", &config(&url));
    for u in ["carol", "dana", "low"] {
        let out = server_util::bin()
            .env("LIAISON_PASSWORD", PASSWORD)
            .arg("--data")
            .arg(&d)
            .args(["serve", "passwd", u])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (breached, bundle) = aged_task(1, 30, 24);
    import_as(&d, "dana", "t1.json", &bundle);

    let server = serve(&d);
    let (_, body) = next_hook(&hooks);
    assert_eq!(body["event"], "task.deadline.breach");
    assert_eq!(body["task_id"], breached.as_str());
    assert_eq!(body["recipients"], json!(["carol"]));
    let carol = notifications(&server.addr, "carol");
    assert_eq!(carol.len(), 1, "{carol:?}");
    assert_eq!(carol[0]["kind"], "breach");
    assert_eq!(notifications(&server.addr, "dana").len(), 1);
    // In the unit, but not cleared for the task: nothing.
    assert!(notifications(&server.addr, "low").is_empty());
    drop(server);

    // After a restart the breach is not reported again. A second task, imported while
    // the server runs, shows that the monitor has checked since.
    let server = serve(&d);
    let (warned, bundle) = aged_task(2, 20, 24);
    import_as(&d, "dana", "t2.json", &bundle);
    let (_, body) = next_hook(&hooks);
    assert_eq!(
        body["task_id"],
        warned.as_str(),
        "only the new task: {body}"
    );
    assert_eq!(body["event"], "task.deadline.warn");
    let carol = notifications(&server.addr, "carol");
    assert_eq!(carol.len(), 2, "{carol:?}");
    assert_eq!(
        carol
            .iter()
            .filter(|n| n["task_id"] == breached.as_str())
            .count(),
        1
    );
    assert!(hooks.try_recv().is_err(), "no other webhook");
}
