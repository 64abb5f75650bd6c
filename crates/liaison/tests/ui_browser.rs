//! The web UI in a real browser (headless Debian Chromium over the DevTools protocol),
//! against the real `liaison serve` on a demo data dir: an analyst signs in, searches,
//! opens an object and its graph, triages an alert into a task and answers it; a
//! reader without clearance finds no trace of a labelled object on any page; the graph
//! draws a thousand nodes. Every page visited is kept as a screenshot in
//! `target/ui-screenshots/`.

mod server_util;
mod ui_util;

use serde_json::Value;
use server_util::*;
use std::path::Path;
use ui_util::Browser;

const VOLT_LANTERN: &str = "intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29";
const CAMPAIGN: &str = "campaign--1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
const REPORT: &str = "report--3b4c5d6e-7f80-4a1b-8c2d-3e4f5a6b7c8d";
const ABSENT: &str = "malware--00000000-0000-4000-8000-000000000000";

/// A demo data dir with screening alerts stored by alice (cert, owner-only label),
/// served with plain-HTTP cookies.
fn setup(tmp: &Path, objects: u32) -> (Server, String) {
    let d = demo_dir(tmp, objects);
    std::fs::write(
        tmp.join("w.csv"),
        "term,severity\ngridspike,high\nsubstation,medium\n",
    )
    .unwrap();
    std::fs::write(
        tmp.join("feed.txt"),
        "the gridspike implant hit a substation\nbeacon to 203.0.113.77 from gridspike\n",
    )
    .unwrap();
    let out = bin()
        .arg("--data")
        .arg(&d)
        .args([
            "--as",
            "alice",
            "screen",
            "--store",
            "--min-severity",
            "info",
        ])
        .arg("--watchlist")
        .arg(tmp.join("w.csv"))
        .arg(tmp.join("feed.txt"))
        .output()
        .expect("run screen");
    assert!(
        out.status.success(),
        "screen --store failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two feeds of alice's: one SECRET//GRID that has run, one open that has not.
    std::fs::write(
        tmp.join("grid.txt"),
        "203.0.113.80\nupdate-grid-sync.example\n",
    )
    .unwrap();
    let feed = |args: &[&str]| {
        let out = bin()
            .arg("--data")
            .arg(&d)
            .args(["--as", "alice", "feed"])
            .args(args)
            .output()
            .expect("run feed");
        assert!(
            out.status.success(),
            "feed {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let list = tmp.join("grid.txt");
    let list = list.to_str().unwrap();
    feed(&[
        "add",
        "grid-ioc",
        list,
        "--format",
        "list",
        "--label",
        "SECRET//GRID",
    ]);
    feed(&["add", "open-list", list, "--format", "list", "--paused"]);
    feed(&["run", "grid-ioc"]);
    let mut c = bin();
    c.arg("--data")
        .arg(&d)
        .args(["serve", "--port", "0", "--insecure-cookies"]);
    let s = start(c);
    let base = format!("http://{}", s.addr);
    (s, base)
}

fn login(b: &mut Browser, base: &str, user: &str) {
    b.goto(&format!("{base}/ui/"));
    assert!(
        b.eval("location.pathname").as_str() == Some("/ui/login"),
        "an anonymous visitor is sent to the login page"
    );
    b.fill("#username", user);
    b.fill("#password", PASSWORD);
    b.click_nav("#signin");
    assert_eq!(
        b.eval(
            "document.getElementById('whoami') && document.getElementById('whoami').textContent"
        ),
        Value::from(user),
        "signed in as {user}: {}",
        b.text()
    );
}

/// Choose `file` on the upload page, type `label`, send, and wait for the report.
fn upload_file(b: &mut Browser, file: &Path, label: &str) {
    let doc = b.call("DOM.getDocument", serde_json::json!({}));
    let node = b.call(
        "DOM.querySelector",
        serde_json::json!({"nodeId": doc["root"]["nodeId"], "selector": "#upload-file"}),
    );
    b.call(
        "DOM.setFileInputFiles",
        serde_json::json!({"nodeId": node["nodeId"], "files": [file.to_str().unwrap()]}),
    );
    b.fill("#upload-label", label);
    b.eval("document.getElementById('upload-report').removeAttribute('data-status')");
    b.eval("document.getElementById('upload-go').click()");
    b.wait_for(
        "document.getElementById('upload-report').dataset.status",
        "the upload",
    );
}

/// Status and body of a GET made by the page (with its session).
fn fetch(b: &mut Browser, path: &str) -> (u64, String) {
    let p = serde_json::to_string(path).unwrap();
    let v = b.eval(&format!(
        "fetch({p}, {{credentials: 'same-origin'}}).then(async r => [r.status, await r.text()])"
    ));
    (
        v[0].as_u64().unwrap_or(0),
        v[1].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn analyst_signs_in_searches_opens_an_object_and_triages_an_alert_into_an_answered_task() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, base) = setup(tmp.path(), 300);
    let mut b = Browser::launch();

    b.goto(&format!("{base}/ui/"));
    b.screenshot("login");
    // A wrong password keeps the visitor on the login page with a message.
    b.fill("#username", "alice");
    b.fill("#password", "wrong-password");
    b.click_nav("#signin");
    assert!(
        b.text().contains("Wrong user name or password"),
        "{}",
        b.text()
    );
    login(&mut b, &base, "alice");
    let dash = b.text();
    assert!(dash.contains("Open alerts by severity"), "{dash}");
    assert!(
        b.eval("document.querySelector('#dash-alerts .sev-high') !== null") == Value::Bool(true),
        "alice's high-severity alert is counted: {dash}"
    );
    let recent = b.eval("document.querySelectorAll('#dash-recent li.nav-row').length");
    assert_eq!(recent, Value::from(10), "the ten newest products: {dash}");
    assert!(
        !dash.contains("TOP SECRET"),
        "nothing above alice's clearance"
    );
    b.screenshot("dashboard");

    // '/' focuses the search box; Enter searches.
    b.key("/");
    assert_eq!(b.eval("document.activeElement.id"), Value::from("q"));
    b.call("Input.insertText", serde_json::json!({"text": "gridspike"}));
    b.key_nav("Enter");
    assert_eq!(b.eval("location.pathname"), Value::from("/ui/search"));
    let facet = b.eval("(document.querySelector('#facets a[data-facet=malware]') || {}).parentElement?.querySelector('.count')?.textContent");
    assert_eq!(
        facet,
        Value::from("1"),
        "the malware facet counts GridSpike: {}",
        b.text()
    );
    assert!(b.text().contains("GridSpike"));
    // Label, source and time facets come from the store beside the type facets.
    let secret = b.eval("Array.from(document.querySelectorAll('#facets [data-facets=label] a')).map(a => a.dataset.facet).filter(f => f.startsWith('SECRET//GRID'))[0] || null");
    assert!(
        secret.is_string(),
        "a SECRET//GRID label facet: {}",
        b.text()
    );
    assert_eq!(
        b.eval("document.querySelector('#facets [data-facets=month] a[data-facet=\"2026-10\"]') !== null"),
        Value::Bool(true),
        "the demo bundle's month: {}",
        b.text()
    );
    b.screenshot("search");
    // The label facet narrows to GridSpike alone (the C2 indicator is UNCLASSIFIED).
    b.click_nav(&format!(
        "#facets [data-facets=label] a[data-facet=\"{}\"]",
        secret.as_str().unwrap()
    ));
    assert!(b.text().contains("1 results"), "{}", b.text());
    assert_eq!(
        b.eval("document.querySelectorAll('#hits tbody tr').length"),
        Value::from(1)
    );
    assert!(b.text().contains("GridSpike"));
    b.screenshot("search-label");
    // Clicking it again drops it; the month facet keeps the demo bundle's two matches
    // (GridSpike and its C2 indicator), not the alerts stored today.
    b.click_nav("#facets [data-facets=label] li.on a");
    let month = b.eval("document.querySelector('#facets [data-facets=month] a[data-facet=\"2026-10\"]').parentElement.querySelector('.count').textContent");
    b.click_nav("#facets [data-facets=month] a[data-facet=\"2026-10\"]");
    let shown = b.eval("document.querySelector('#total').textContent.split(' ')[0]");
    assert_eq!(shown, month, "{}", b.text());
    assert!(
        b.text().contains("GridSpike C2 server") && !b.text().contains("x-liaison-alert"),
        "{}",
        b.text()
    );
    b.goto(&format!("{base}/ui/search?q=gridspike"));
    // The facet narrows the results to malware.
    b.click_nav("#facets a[data-facet=malware]");
    assert!(b.text().contains("1 results"), "{}", b.text());
    // j selects the first row, Enter opens it.
    b.key("j");
    b.key_nav("Enter");
    assert_eq!(
        b.eval("location.pathname"),
        Value::from(format!("/ui/object/{GRIDSPIKE}"))
    );
    let banners = b.eval("Array.from(document.querySelectorAll('.banner')).map(e => e.className + '|' + e.textContent)");
    let banners: Vec<&str> = banners
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        banners.len(),
        2,
        "a banner at the top and the bottom: {banners:?}"
    );
    for bn in &banners {
        assert!(bn.contains("lvl-s"), "SECRET is red: {bn}");
        assert!(
            bn.contains("SECRET//GRID//REL TO cert, energy-isac, ministry//TLP:AMBER"),
            "{bn}"
        );
    }
    let t = b.text();
    assert!(t.contains("IEC 60870-5-104"), "properties: {t}");
    assert!(
        t.contains("uses") && t.contains("Volt Lantern"),
        "relationships: {t}"
    );
    assert!(t.contains("first version"), "versions: {t}");
    b.screenshot("object");

    // g g opens the graph; a click expands a node.
    b.key("g");
    b.key_nav("g");
    b.wait_for(
        "window.liaisonGraph && window.liaisonGraph.ready",
        "the graph",
    );
    let n0 = b.eval("liaisonGraph.nodes.length").as_u64().unwrap();
    assert!(n0 >= 3, "GridSpike, Volt Lantern, the indicator: {n0}");
    assert_eq!(
        b.eval(&format!("!!liaisonGraph.byId['{VOLT_LANTERN}']")),
        Value::Bool(true)
    );
    b.eval(&format!("liaisonGraph.expand('{VOLT_LANTERN}')"));
    assert_eq!(b.eval("liaisonGraph.stats.expanded"), Value::from(1));
    // alice (SECRET) never gets the TOP SECRET campaign, even by expanding.
    assert_eq!(
        b.eval(&format!("!!liaisonGraph.byId['{CAMPAIGN}']")),
        Value::Bool(false)
    );
    b.screenshot("graph");

    // Triage queue: j selects, a acknowledges.
    b.goto(&format!("{base}/ui/alerts"));
    b.screenshot("alerts");
    let first = b.eval("document.querySelector('.alert-row').dataset.id");
    let first = first.as_str().unwrap().to_string();
    b.key("j");
    b.key_nav("a");
    let state = b.eval(&format!(
        "document.querySelector('.alert-row[data-id=\"{first}\"] td:nth-child(3)').textContent"
    ));
    assert_eq!(state, Value::from("acknowledged"));
    // A form post without the session's CSRF token is refused and changes nothing.
    let refused = b.eval(&format!(
        "fetch('/ui/alert/{first}/act', {{method: 'POST', headers: {{'Content-Type': 'application/x-www-form-urlencoded'}}, body: 'action=dismiss&reason=x'}}).then(r => r.status)"
    ));
    assert_eq!(refused, Value::from(403));
    // e opens the alert's escalation form.
    b.key("j");
    b.key_nav("e");
    b.screenshot("alert");
    b.fill("#form-escalate #task-assign", "cert/analysis");
    b.click_nav("#alert-escalate");
    assert!(
        b.eval("location.pathname")
            .as_str()
            .unwrap()
            .starts_with("/ui/task/x-liaison-task--"),
        "escalation leads to the task: {}",
        b.text()
    );
    let status = |b: &mut Browser| b.eval("document.getElementById('task-status').textContent");
    assert_eq!(status(&mut b), Value::from("assigned"));
    assert!(b.text().contains(&first), "the task is about the alert");
    assert_eq!(
        b.eval("document.querySelectorAll('.banner').length"),
        Value::from(2)
    );
    b.screenshot("task");
    let task_url = b.eval("location.pathname").as_str().unwrap().to_string();
    b.click_nav("#act-accept");
    assert_eq!(status(&mut b), Value::from("accepted"));
    b.click_nav("#act-start");
    assert_eq!(status(&mut b), Value::from("in_progress"));
    // An answer must be a readable report or note.
    b.fill("#answer-ref", GRIDSPIKE);
    b.click_nav("#act-answer");
    assert!(
        b.text().contains("an answer is a report or a note"),
        "{}",
        b.text()
    );
    b.goto(&format!("{base}{task_url}"));
    b.fill("#answer-ref", REPORT);
    b.click_nav("#act-answer");
    assert_eq!(status(&mut b), Value::from("answered"));
    b.click_nav("#act-close");
    assert_eq!(status(&mut b), Value::from("closed"));
    let history = b.eval("document.querySelectorAll('#history li').length");
    assert_eq!(
        history,
        Value::from(5),
        "assigned, accepted, in progress, answered, closed"
    );
    b.screenshot("task-closed");
    // The escalated alert left the queue.
    b.goto(&format!("{base}/ui/alerts"));
    assert_eq!(
        b.eval(&format!(
            "document.querySelector('.alert-row[data-id=\"{first}\"]') === null"
        )),
        Value::Bool(true)
    );

    // Lists, board, forms and the other pages.
    b.goto(&format!("{base}/ui/tasks?filter=all"));
    assert!(b.text().contains("closed"));
    b.screenshot("tasks");
    b.goto(&format!("{base}/ui/tasks?view=board&filter=all"));
    b.screenshot("tasks-board");
    b.goto(&format!("{base}/ui/tasks/new"));
    b.fill("#task-title", "Who runs update-grid-sync.example?");
    b.fill("#task-form input[name=deadline]", "48h");
    b.fill("#task-form #task-assign", "energy-isac/ops");
    b.screenshot("task-new");
    b.click_nav("#task-form button");
    assert_eq!(status(&mut b), Value::from("assigned"), "{}", b.text());
    b.goto(&format!("{base}/ui/upload"));
    let bundle = tmp.path().join("upload.json");
    std::fs::write(
        &bundle,
        r#"{"type":"bundle","id":"bundle--0d3f1c7e-2b4a-4c5d-8e6f-7a8b9c0d1e2f","objects":[
        {"type":"malware","spec_version":"2.1","id":"malware--5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
         "created":"2026-11-01T00:00:00.000Z","modified":"2026-11-01T00:00:00.000Z","name":"Uploaded Sample","is_family":false}]}"#,
    )
    .unwrap();
    // A bundle under a label chosen in the form (its object carries none).
    upload_file(&mut b, &bundle, "CONFIDENTIAL//TLP:GREEN");
    assert_eq!(
        b.eval("document.getElementById('upload-report').dataset.status"),
        Value::from("200")
    );
    assert_eq!(
        b.eval("document.getElementById('upload-progress').value"),
        Value::from(100)
    );
    let count = |b: &mut Browser, k: &str| {
        b.eval(&format!(
            "(document.querySelector('#upload-summary dd[data-count={k}]') || {{}}).textContent || null"
        ))
    };
    assert_eq!(count(&mut b, "fmt"), Value::from("STIX"), "{}", b.text());
    assert_eq!(count(&mut b, "new"), Value::from("1"), "{}", b.text());
    assert_eq!(count(&mut b, "refused"), Value::from("0"));
    b.screenshot("upload");
    // A MISP event, as MISP exports it (a fixture of liaison-misp's tests): told from
    // a bundle by its content and converted as `liaison import` converts it. A label
    // above alice's clearance is refused before anything is stored.
    let misp = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../liaison-misp/tests/fixtures/events/event_with_domain_ip_attribute.json")
        .canonicalize()
        .unwrap();
    b.goto(&format!("{base}/ui/upload"));
    upload_file(&mut b, &misp, "TOP SECRET");
    let refusal = b.eval("(document.getElementById('upload-error') || {}).textContent || ''");
    assert!(
        refusal
            .as_str()
            .unwrap()
            .contains("may not write at TOP SECRET"),
        "{refusal}"
    );
    let (_, found) = fetch(&mut b, "/api/v1/search?q=circl.lu");
    assert!(!found.contains("indicator--"), "nothing stored: {found}");
    b.screenshot("upload-misp-refused");
    upload_file(&mut b, &misp, "SECRET//GRID");
    assert_eq!(count(&mut b, "fmt"), Value::from("MISP"), "{}", b.text());
    let new = count(&mut b, "new");
    assert!(
        new.as_str()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
            >= 3,
        "identity, indicator, report at least: {}",
        b.text()
    );
    assert_eq!(count(&mut b, "refused"), Value::from("0"), "{}", b.text());
    b.screenshot("upload-misp");
    // The event's report opens from the report; its indicator is found by search,
    // under the chosen label.
    b.click_nav("#upload-open");
    assert!(
        b.text().contains("MISP-STIX-Converter test event"),
        "{}",
        b.text()
    );
    b.goto(&format!("{base}/ui/search?q=circl.lu&type=indicator"));
    assert!(b.text().contains("1 results"), "{}", b.text());
    b.key("j");
    b.key_nav("Enter");
    let t = b.text();
    assert!(t.contains("[domain-name:value = 'circl.lu' AND"), "{t}");
    assert!(t.contains("SECRET//GRID"), "the chosen label: {t}");
    b.screenshot("upload-misp-indicator");
    // The observable it came with is titled by its value.
    let (_, found) = fetch(&mut b, "/api/v1/search?q=circl.lu&type=domain-name");
    let found: Value = serde_json::from_str(&found).unwrap();
    let domain = found["hits"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(domain.starts_with("domain-name--"), "{found}");
    b.goto(&format!("{base}/ui/object/{domain}"));
    assert_eq!(
        b.eval("document.querySelector('h1').textContent.includes('circl.lu')"),
        Value::Bool(true),
        "{}",
        b.text()
    );
    b.screenshot("upload-misp-observable");
    // What the conversion could not map is shown with its JSON path in the event.
    let odd = tmp.path().join("odd-event.json");
    std::fs::write(
        &odd,
        r#"{"Event": {"uuid": "5e7c1a2b-3d4e-4f50-8a6b-7c8d9e0f1a2b", "info": "Odd attributes",
          "timestamp": "1764000000", "Orgc": {"name": "CERT", "uuid": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"},
          "Attribute": [
            {"uuid": "6f8d2b3c-4e5f-4061-9b7c-8d9e0f1a2b3c", "type": "domain", "category": "Network activity",
             "value": "odd-example.test", "to_ids": true, "timestamp": "1764000000"},
            {"uuid": "7a9e3c4d-5f60-4172-8c8d-9e0f1a2b3c4d", "type": "no-such-misp-type", "category": "Other",
             "value": "x", "to_ids": false, "timestamp": "1764000000"}]}}"#,
    )
    .unwrap();
    b.goto(&format!("{base}/ui/upload"));
    upload_file(&mut b, &odd, "");
    assert_eq!(count(&mut b, "fmt"), Value::from("MISP"), "{}", b.text());
    let warned = b.eval(
        "Array.from(document.querySelectorAll('#upload-warnings tbody tr')).map(r => r.textContent).join('|')",
    );
    assert!(
        warned.as_str().unwrap().contains("Event.Attribute[1]"),
        "the unknown type is named by its path: {warned} {}",
        b.text()
    );
    b.screenshot("upload-misp-warnings");
    // bob (CONFIDENTIAL, no GRID) finds no trace of it.
    let bob = format!(
        "fetch('/api/v1/search?q=circl.lu', {{credentials: 'omit', headers: {{Authorization: 'Basic ' + btoa('bob:{PASSWORD}')}}}}).then(async r => [r.status, await r.text()])"
    );
    let r = b.eval(&bob);
    assert_eq!(r[0], Value::from(200));
    assert!(!r[1].as_str().unwrap().contains("indicator--"), "{r}");
    b.goto(&format!("{base}/ui/search?q=uploaded"));
    assert!(b.text().contains("Uploaded Sample"));
    let (_, page) = fetch(
        &mut b,
        "/ui/object/malware--5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
    );
    assert!(
        page.contains("CONFIDENTIAL//REL TO cert//TLP:GREEN"),
        "the chosen label: {page}"
    );
    b.goto(&format!("{base}/ui/export"));
    b.screenshot("export");
    let (st, body) = fetch(&mut b, "/api/v1/export?type=malware");
    assert_eq!(st, 200);
    assert!(body.contains("Uploaded Sample") && body.contains("GridSpike"));
    // Export of a selection ticked on a search page.
    let (st, body) = fetch(
        &mut b,
        &format!("/ui/export/selection?id={GRIDSPIKE}&id={REPORT}"),
    );
    assert_eq!(st, 200);
    let bundle: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(bundle["objects"].as_array().unwrap().len(), 2);
    b.goto(&format!("{base}/ui/feeds"));
    let t = b.text();
    assert!(t.contains("grid-ioc") && t.contains("ok"), "{t}");
    assert!(t.contains("open-list") && t.contains("paused"), "{t}");
    b.screenshot("feeds");
    // Administration is for administrators.
    let (st, _) = fetch(&mut b, "/ui/admin");
    assert_eq!(st, 403);
    b.goto(&format!("{base}/ui/logout-check-is-404"));
    assert!(b.text().contains("Not found"));
    assert!(b.errors.is_empty(), "script errors: {:?}", b.errors);

    let mut a = Browser::launch();
    login(&mut a, &base, "admin");
    a.goto(&format!("{base}/ui/admin"));
    let t = a.text();
    for want in [
        "National CERT",
        "Threat Analysis",
        "alice",
        "TOP SECRET",
        "GRID",
    ] {
        assert!(t.contains(want), "admin page lists {want}: {t}");
    }
    a.screenshot("admin");
    // Tokens: created from the page (the secret shown once), then revoked.
    a.fill("#token-form input[name=name]", "ui-made");
    a.click_nav("#token-create");
    let secret = a.eval("document.getElementById('token-secret').textContent");
    let secret = secret.as_str().unwrap().to_string();
    assert!(secret.starts_with("lsn_"), "{secret}");
    a.screenshot("admin-token");
    let ok = a.eval(&format!(
        "fetch('/api/v1/stats', {{credentials: 'omit', headers: {{Authorization: 'Bearer {secret}'}}}}).then(r => r.status)"
    ));
    assert_eq!(ok, Value::from(200), "the new token works");
    a.goto(&format!("{base}/ui/admin"));
    assert!(a.text().contains("ui-made"));
    a.click_nav("#tokens form button");
    assert!(a.html().contains("✔"), "revoked");
    // Units list their members; compartments who is read into them.
    a.goto(&format!("{base}/ui/admin"));
    let grid =
        a.eval("document.querySelector('#compartments tr[data-compartment=GRID]').textContent");
    assert!(grid.as_str().unwrap().contains("alice"), "{grid}");
    // A password set from the page signs the user in; the old one no longer does.
    a.fill(
        "#users tr[data-user=bob] input[name=password]",
        "new-bob-pass-1",
    );
    a.click_nav("#users tr[data-user=bob] button");
    assert!(a.text().contains("Password set"), "{}", a.text());
    let status = |a: &mut Browser, pw: &str| {
        a.eval(&format!(
            "fetch('/api/v1/stats', {{credentials: 'omit', headers: {{Authorization: 'Basic ' + btoa('bob:{pw}')}}}}).then(r => r.status)"
        ))
    };
    assert_eq!(status(&mut a, "new-bob-pass-1"), Value::from(200));
    assert_eq!(status(&mut a, PASSWORD), Value::from(401));
    assert!(a.errors.is_empty(), "script errors: {:?}", a.errors);
}

#[test]
fn a_reader_without_clearance_finds_no_trace_of_a_labelled_object() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, base) = setup(tmp.path(), 300);
    // bob: ministry, CONFIDENTIAL, no compartment. GridSpike is SECRET//GRID; the
    // alerts are cert's own (owner only).
    let mut b = Browser::launch();
    login(&mut b, &base, "bob");
    let dash = b.html();
    assert!(!dash.contains("sev-high"), "no alert counted for bob");
    assert!(b.text().contains("No alerts to triage."));
    assert!(!dash.contains("GridSpike") && !dash.contains(GRIDSPIKE));
    assert!(
        !dash.contains("grid-ioc"),
        "alice's SECRET feed is not named"
    );
    assert!(dash.contains("open-list"), "the open feed is");
    b.screenshot("bob-dashboard");
    b.goto(&format!("{base}/ui/feeds"));
    assert!(!b.html().contains("grid-ioc"));
    assert!(b.text().contains("open-list"));
    b.screenshot("bob-feeds");

    b.goto(&format!("{base}/ui/search?q=gridspike"));
    let html = b.html();
    assert!(!html.contains(GRIDSPIKE), "no id");
    assert!(
        b.eval("document.querySelector('#facets a[data-facet=malware]') === null")
            == Value::Bool(true),
        "no malware facet: {}",
        b.text()
    );
    assert!(!html.contains("SECRET//GRID"));
    // The label, source and time facets count only what bob may read.
    assert_eq!(
        b.eval("Array.from(document.querySelectorAll('#facets [data-facets=label] a')).filter(a => a.dataset.facet.includes('GRID')).length"),
        Value::from(0),
        "no GRID label facet: {}",
        b.text()
    );
    let month_count =
        b.eval("document.querySelector('#facets [data-facets=month] .count')?.textContent || '0'");
    let total = b.eval("document.querySelector('#total').textContent.split(' ')[0]");
    assert_eq!(
        month_count,
        total,
        "the month counts what bob sees: {}",
        b.text()
    );
    b.screenshot("bob-search");
    // The Chinese UI: `?lang=zh` draws the page in Chinese, a cookie keeps the choice,
    // and the labelled object leaves no more trace there.
    b.goto(&format!("{base}/ui/search?q=gridspike&lang=zh"));
    assert_eq!(b.eval("document.documentElement.lang"), Value::from("zh"));
    let zh = b.text();
    assert!(zh.contains("条结果") && zh.contains("来源"), "{zh}");
    assert!(!b.html().contains(GRIDSPIKE) && !b.html().contains("SECRET//GRID"));
    b.screenshot("bob-search-zh");
    b.goto(&format!("{base}/ui/"));
    assert!(
        b.text().contains("仪表板"),
        "the cookie keeps Chinese: {}",
        b.text()
    );
    b.screenshot("bob-dashboard-zh");
    b.goto(&format!("{base}/ui/?lang=en"));
    assert!(b.text().contains("Dashboard"), "{}", b.text());
    b.goto(&format!("{base}/ui/search?q=gridspike&type=malware"));
    assert!(b.text().contains("0 results"), "{}", b.text());

    // The object's URL answers exactly as an absent object's does.
    let (s1, forbidden) = fetch(&mut b, &format!("/ui/object/{GRIDSPIKE}"));
    let (s2, absent) = fetch(&mut b, &format!("/ui/object/{ABSENT}"));
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(forbidden, absent, "the same page for forbidden and absent");
    let (g1, gf) = fetch(&mut b, &format!("/ui/graph/{GRIDSPIKE}"));
    let (g2, ga) = fetch(&mut b, &format!("/ui/graph/{ABSENT}"));
    assert_eq!((g1, g2), (404, 404));
    assert_eq!(gf, ga);
    b.goto(&format!("{base}/ui/object/{GRIDSPIKE}"));
    b.screenshot("bob-object-404");
    let (st, body) = fetch(
        &mut b,
        &format!("/ui/export/selection?id={GRIDSPIKE}&id={VOLT_LANTERN}&id={ABSENT}"),
    );
    assert_eq!(st, 200);
    let bundle: Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [VOLT_LANTERN],
        "a selection exports only what bob may read"
    );

    // The graph of an object bob may read shows none of the labelled neighbours.
    b.goto(&format!("{base}/ui/graph/{VOLT_LANTERN}?depth=3"));
    b.wait_for(
        "window.liaisonGraph && window.liaisonGraph.ready",
        "the graph",
    );
    assert_eq!(
        b.eval(&format!("!!liaisonGraph.byId['{GRIDSPIKE}']")),
        Value::Bool(false)
    );
    assert_eq!(
        b.eval(&format!("!!liaisonGraph.byId['{CAMPAIGN}']")),
        Value::Bool(false)
    );
    assert!(b.eval("liaisonGraph.nodes.length").as_u64().unwrap() >= 1);
    b.screenshot("bob-graph");
    let vl = b.html();
    assert!(!vl.contains("GridSpike"));

    // Volt Lantern's object page lists no relationship to GridSpike or the campaign.
    b.goto(&format!("{base}/ui/object/{VOLT_LANTERN}"));
    let html = b.html();
    assert!(
        !html.contains(GRIDSPIKE) && !html.contains(CAMPAIGN),
        "no trace in relationships"
    );
    assert!(b.text().contains("Volt Lantern"));
    let banners = b
        .eval("Array.from(document.querySelectorAll('.banner')).map(e => e.textContent).join('|')");
    assert!(
        !banners.as_str().unwrap().contains("SECRET"),
        "nothing bob cannot read marks the page: {banners}"
    );
    b.screenshot("bob-object-readable");

    // alice's alerts and the task escalated from one: nothing in the queue, the task
    // list, or at their URLs.
    b.goto(&format!("{base}/ui/alerts"));
    assert!(b.text().contains("No alerts to triage."));
    b.screenshot("bob-alerts");
    let mut a = Browser::launch();
    login(&mut a, &base, "alice");
    a.goto(&format!("{base}/ui/alerts"));
    let alert = a.eval("document.querySelector('.alert-row').dataset.id");
    let alert = alert.as_str().unwrap().to_string();
    a.goto(&format!("{base}/ui/alert/{alert}"));
    a.fill("#form-escalate #task-assign", "cert/analysis");
    a.click_nav("#alert-escalate");
    let task = a
        .eval("location.pathname")
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert!(task.starts_with("x-liaison-task--"));
    let (s, _) = fetch(&mut b, &format!("/ui/alert/{alert}"));
    assert_eq!(s, 404);
    let (s, body) = fetch(&mut b, &format!("/ui/task/{task}"));
    assert_eq!(s, 404);
    assert_eq!(body, absent, "the same not-found page");
    b.goto(&format!("{base}/ui/tasks?filter=all"));
    assert!(b.text().contains("No tasks."), "{}", b.text());
    b.screenshot("bob-tasks");
    b.goto(&format!("{base}/ui/"));
    assert!(!b.html().contains(&task));

    // A MISP event alice uploads as SECRET//GRID: no trace for bob on the dashboard,
    // in search, at the indicator's or the report's URL.
    a.goto(&format!("{base}/ui/upload"));
    let misp = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../liaison-misp/tests/fixtures/events/event_with_domain_ip_attribute.json")
        .canonicalize()
        .unwrap();
    upload_file(&mut a, &misp, "SECRET//GRID");
    let container = a.eval("document.getElementById('upload-open').getAttribute('href')");
    let container = container.as_str().unwrap().to_string();
    let indicator = "/ui/object/indicator--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f";
    assert_eq!(fetch(&mut a, indicator).0, 200, "alice reads it");
    for path in [indicator, container.as_str()] {
        let (s, body) = fetch(&mut b, path);
        assert_eq!(s, 404, "{path}");
        assert_eq!(body, absent, "the same not-found page: {path}");
    }
    b.goto(&format!("{base}/ui/search?q=circl.lu"));
    assert!(b.text().contains("0 results"), "{}", b.text());
    assert!(!b.html().contains("91ae0a21"));
    b.goto(&format!("{base}/ui/"));
    assert!(!b.html().contains("MISP-STIX-Converter"));
    b.goto(&format!("{base}/ui/upload"));
    assert!(
        !b.html().contains("GRID"),
        "no compartment bob lacks is suggested"
    );
    // bob reads but may not write: his upload is refused before anything is stored.
    upload_file(&mut b, &misp, "");
    let refusal = b.eval("(document.getElementById('upload-error') || {}).textContent || ''");
    assert!(
        refusal.as_str().unwrap().contains("write"),
        "a reader is told he may not write: {refusal}"
    );
    b.screenshot("bob-upload");
    b.goto(&format!("{base}/ui/search?q=circl.lu"));
    assert!(b.text().contains("0 results"), "{}", b.text());
    // Administration, including the password form, is refused to a non-administrator.
    let refused = b.eval(
        "fetch('/ui/admin/password', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'user=alice&password=xxxxxxxxxxxx'}).then(r => r.status)",
    );
    assert_eq!(refused, Value::from(403));
    assert!(b.errors.is_empty(), "script errors: {:?}", b.errors);
}

#[test]
fn the_graph_draws_a_thousand_nodes_and_keeps_the_page_responsive() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, base) = setup(tmp.path(), 4000);
    let mut b = Browser::launch();
    login(&mut b, &base, "admin");
    // The identity with the largest neighbourhood (they created the generated objects).
    let ids = fetch(&mut b, "/api/v1/export?type=identity").1;
    let ids: Value = serde_json::from_str(&ids).unwrap();
    let mut best = (0usize, String::new());
    for h in ids["objects"].as_array().unwrap() {
        let id = h["id"].as_str().unwrap();
        let g: Value = serde_json::from_str(
            &fetch(
                &mut b,
                &format!("/api/v1/graph/{id}?depth=2&max_nodes=1000"),
            )
            .1,
        )
        .unwrap();
        let n = g["nodes"].as_array().map_or(0, |a| a.len());
        if n > best.0 {
            best = (n, id.to_string());
        }
    }
    assert!(
        best.0 >= 1000,
        "a neighbourhood of 1,000 nodes exists: {best:?}"
    );
    b.goto(&format!("{base}/ui/graph/{}?depth=2&max=1000", best.1));
    b.wait_for(
        "window.liaisonGraph && window.liaisonGraph.ready",
        "the graph",
    );
    // While the layout runs, a timer must still fire promptly: measure the longest
    // delay of 0 ms timers over two seconds.
    let lag = b.eval(
        "new Promise(res => { let worst = 0, last = performance.now(), n = 0;
           const tick = () => { const now = performance.now(); worst = Math.max(worst, now - last); last = now;
             if (++n < 200) setTimeout(tick, 10); else res(worst); };
           setTimeout(tick, 10); })",
    );
    b.wait_for(
        "liaisonGraph.stats.settledMs !== null || performance.now() - liaisonGraph.stats.loadedAt > 20000",
        "the layout to settle",
    );
    let stats = b.eval("JSON.stringify(liaisonGraph.stats)");
    let stats: Value = serde_json::from_str(stats.as_str().unwrap()).unwrap();
    assert_eq!(
        stats["nodes"].as_u64(),
        Some(best.0 as u64),
        "every node is drawn"
    );
    assert!(
        stats["frames"].as_u64().unwrap() > 10,
        "frames keep coming: {stats}"
    );
    b.screenshot("graph-1000");
    let figures = serde_json::json!({"graph": stats, "timer_lag_worst_ms": lag});
    eprintln!("graph figures: {figures}");
    std::fs::write(
        ui_util::screenshot_dir().join("graph-figures.json"),
        serde_json::to_string_pretty(&figures).unwrap(),
    )
    .unwrap();
}

/// The ASCII words (three letters or more) of a text, lower-cased.
fn words(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3)
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

/// Every string (keys and values) of a JSON document, as words.
fn json_words(v: &Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::String(s) => out.extend(words(s)),
        Value::Array(a) => a.iter().for_each(|x| json_words(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                out.extend(words(k));
                json_words(x, out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_page_in_chinese_leaves_no_interface_text_in_english_and_the_switcher_keeps_the_page() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, base) = setup(tmp.path(), 300);
    let mut b = Browser::launch();
    login(&mut b, &base, "alice");

    // The switcher is reached with Tab from the top of the page, and keeps the page.
    b.goto(&format!("{base}/ui/search?q=gridspike&type=malware"));
    let mut reached = false;
    for _ in 0..40 {
        b.key("Tab");
        if b.eval("document.activeElement && document.activeElement.id") == "lang-zh" {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches the language switcher");
    b.key_nav("Enter");
    assert_eq!(b.eval("document.documentElement.lang"), Value::from("zh"));
    assert_eq!(
        b.eval("location.pathname + location.search"),
        Value::from("/ui/search?q=gridspike&type=malware&lang=zh"),
        "the same page, in Chinese"
    );
    assert!(b.text().contains("条结果"), "{}", b.text());
    assert_eq!(
        b.eval("document.getElementById('lang-zh').getAttribute('aria-current')"),
        Value::from("true")
    );

    // What the pages may show in Latin letters: the data (every object alice may
    // read, the users and organizations), and names that are not translated.
    let mut data = std::collections::BTreeSet::new();
    let (st, body) = fetch(&mut b, "/api/v1/export?all_versions=true");
    assert_eq!(st, 200);
    json_words(&serde_json::from_str(&body).unwrap(), &mut data);
    let mut a = Browser::launch();
    login(&mut a, &base, "admin");
    for path in ["/api/v1/users", "/api/v1/orgs"] {
        let (st, body) = fetch(&mut a, path);
        assert_eq!(st, 200, "{path}");
        json_words(&serde_json::from_str(&body).unwrap(), &mut data);
    }
    // The vocabularies the pages translate are not data words, even though the
    // stored objects hold them.
    for w in [
        "assigned",
        "accepted",
        "progress",
        "answered",
        "closed",
        "rejected",
        "cancelled",
        "draft",
        "collection",
        "rfi",
        "urgent",
        "high",
        "normal",
        "low",
        "medium",
        "critical",
        "info",
        "new",
        "acknowledged",
        "dismissed",
        "escalated",
        "promoted",
        "failing",
        "paused",
        "never",
        "run",
    ] {
        data.remove(w);
    }
    for w in [
        "liaison",
        "stix",
        "json",
        "misp",
        "rfc",
        "api",
        "tlp",
        "kib",
        "http",
        "enter",
        "english",
        "secret",
        "top",
        "confidential",
        "unclassified",
        "restricted",
        "rel",
        "clear",
        "green",
        "amber",
        "red",
        "grid",
        "ioc",
        "list",
        "open",
        "txt",
        "example",
        "lsn",
        "config",
        "toml",
    ] {
        data.insert(w.to_string());
    }

    // An alert escalated into a task, for the task and alert pages.
    b.goto(&format!("{base}/ui/alerts?lang=zh"));
    let alert = b.eval("document.querySelector('.alert-row').dataset.id");
    let alert = alert.as_str().unwrap().to_string();
    b.goto(&format!("{base}/ui/alert/{alert}"));
    b.fill("#form-escalate #task-assign", "cert/analysis");
    b.click_nav("#alert-escalate");
    let task = b.eval("location.pathname").as_str().unwrap().to_string();
    assert!(
        task.starts_with("/ui/task/x-liaison-task--"),
        "{}",
        b.text()
    );

    let pages = [
        ("/ui/".to_string(), "dashboard"),
        ("/ui/search?q=gridspike".to_string(), "search"),
        (format!("/ui/object/{GRIDSPIKE}"), "object"),
        (format!("/ui/graph/{GRIDSPIKE}"), "graph"),
        ("/ui/tasks?filter=all".to_string(), "tasks"),
        ("/ui/tasks?view=board&filter=all".to_string(), "tasks-board"),
        ("/ui/tasks/new".to_string(), "task-new"),
        (task.clone(), "task"),
        ("/ui/alerts".to_string(), "alerts"),
        ("/ui/upload".to_string(), "upload"),
        ("/ui/export".to_string(), "export"),
        ("/ui/feeds".to_string(), "feeds"),
        ("/ui/no-such-page".to_string(), "not-found"),
    ];
    let mut left = Vec::new();
    let mut check = |b: &mut Browser, page: &str, name: &str| {
        assert_eq!(
            b.eval("document.documentElement.lang"),
            Value::from("zh"),
            "{page}"
        );
        b.screenshot(name);
        // Data shown verbatim on the page (banners, portion marks, ids, times,
        // countdowns, JSON) is data whatever its letters.
        let text = b.eval(
            "(() => { const c = document.body.cloneNode(true);
               c.querySelectorAll('.banner, .mini, .id, .type, pre, code, .countdown, time, #props td, #props th, .diff, #whoami, .error-text, .data, script').forEach(e => e.remove());
               const w = document.createTreeWalker(c, NodeFilter.SHOW_TEXT); const out = [];
               while (w.nextNode()) out.push(w.currentNode.data);
               return out.join(' '); })()",
        );
        let english: Vec<String> = words(text.as_str().unwrap_or(""))
            .into_iter()
            .filter(|w| !data.contains(w))
            .collect();
        if !english.is_empty() {
            left.push(format!("{page}: {english:?}"));
        }
    };
    for (p, name) in &pages {
        b.goto(&format!("{base}{p}"));
        if p.starts_with("/ui/graph/") {
            b.wait_for(
                "window.liaisonGraph && window.liaisonGraph.ready",
                "the graph",
            );
        }
        check(&mut b, p, &format!("zh-{name}"));
    }
    // The upload report, drawn by the script.
    b.goto(&format!("{base}/ui/upload"));
    let misp = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../liaison-misp/tests/fixtures/events/event_with_domain_ip_attribute.json")
        .canonicalize()
        .unwrap();
    upload_file(&mut b, &misp, "");
    check(&mut b, "upload report", "zh-upload-report");
    // A refusal, with its JSON path, in the report's table.
    let bad = tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"type":"bundle","id":"bundle--1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b","objects":[
        {"type":"indicator","spec_version":"2.1","id":"indicator--2f3a4b5c-6d7e-4f80-9a0b-1c2d3e4f5a6b",
         "created":"2026-11-01T00:00:00.000Z","modified":"2026-11-01T00:00:00.000Z",
         "pattern_type":"stix","valid_from":"2026-11-01T00:00:00Z"}]}"#,
    )
    .unwrap();
    upload_file(&mut b, &bad, "");
    let path =
        b.eval("(document.querySelector('#upload-refusals tbody td') || {}).textContent || ''");
    assert!(
        path.as_str().unwrap().starts_with("$.objects[0]"),
        "the refused object's JSON path: {path} {}",
        b.text()
    );
    check(&mut b, "upload refusals", "zh-upload-refusals");
    // Alert page (the alert now escalated shows its state) and a fresh alert's page
    // with every form.
    b.goto(&format!("{base}/ui/alert/{alert}"));
    check(&mut b, "alert", "zh-alert");
    b.goto(&format!("{base}/ui/alerts"));
    if let Some(fresh) = b
        .eval("(document.querySelector('.alert-row') || {dataset: {}}).dataset.id || null")
        .as_str()
        .map(str::to_string)
    {
        b.goto(&format!("{base}/ui/alert/{fresh}"));
        check(&mut b, "alert with forms", "zh-alert-forms");
    }
    // Signed out: the login page.
    let mut anon = Browser::launch();
    anon.goto(&format!("{base}/ui/login?lang=zh"));
    check(&mut anon, "/ui/login", "zh-login");
    // The administrator's page.
    a.goto(&format!("{base}/ui/admin?lang=zh"));
    check(&mut a, "/ui/admin", "zh-admin");
    assert!(
        left.is_empty(),
        "English interface text left on Chinese pages:\n{}",
        left.join("\n")
    );
    assert!(b.errors.is_empty(), "script errors: {:?}", b.errors);
}
