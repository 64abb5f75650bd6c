//! A small Chrome DevTools Protocol client: headless Debian Chromium driven over its
//! debugging WebSocket (navigate, evaluate, type, press keys, take screenshots).
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium with one page, killed on drop.
pub struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next: u64,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    /// Console errors and uncaught exceptions seen so far.
    pub errors: Vec<String>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots are kept (the workspace's `target/ui-screenshots/`).
pub fn screenshot_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    base.join("ui-screenshots")
}

impl Browser {
    /// Start Chromium; fails the test (no silent skip) when it is not installed.
    pub fn launch() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: the browser tests need Debian's chromium; run scripts/setup.sh"
        );
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("ws://") {
                    let _ = tx.send(line[i..].trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium printed no DevTools address");
        let (ws, _) = tungstenite::connect(url.as_str()).expect("connect to DevTools");
        let shots = screenshot_dir();
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        let mut b = Browser {
            child,
            ws,
            session: String::new(),
            next: 0,
            _profile: profile,
            shots,
            errors: Vec::new(),
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let tid = target["targetId"].as_str().expect("target id").to_string();
        let att = b.call(
            "Target.attachToTarget",
            json!({"targetId": tid, "flatten": true}),
        );
        b.session = att["sessionId"].as_str().expect("session id").to_string();
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        );
        b
    }

    /// Send a command (to the page once attached) and wait for its answer.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("send to DevTools");
        loop {
            let m = self.ws.read().expect("read from DevTools");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(&t).expect("DevTools JSON");
            if v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method} failed: {e}");
                }
                return v["result"].clone();
            }
            self.event(&v);
        }
    }

    fn event(&mut self, v: &Value) {
        match v["method"].as_str() {
            Some("Runtime.exceptionThrown") => self
                .errors
                .push(v["params"]["exceptionDetails"].to_string()),
            Some("Runtime.consoleAPICalled") if v["params"]["type"] == "error" => {
                self.errors.push(v["params"]["args"].to_string())
            }
            _ => {}
        }
    }

    /// Evaluate an expression (promises awaited) and return its value.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("script failed: {expr}\n{e}");
        }
        r["result"]["value"].clone()
    }

    /// Mark the current document, so that [`Browser::wait_page`] sees a new one.
    pub fn mark(&mut self) {
        self.eval("window.__liaisonOld = true");
    }

    /// Wait until a new document (after [`Browser::mark`]) has loaded.
    pub fn wait_page(&mut self) {
        self.wait_for(
            "!window.__liaisonOld && document.readyState === 'complete'",
            "a new page to load",
        );
    }

    /// Open a URL and wait for it to load.
    pub fn goto(&mut self, url: &str) {
        self.mark();
        self.call("Page.navigate", json!({"url": url}));
        self.wait_page();
    }

    /// Poll `cond` until it is true (at most 30 s).
    pub fn wait_for(&mut self, cond: &str, what: &str) {
        let start = Instant::now();
        loop {
            let r = self.call(
                "Runtime.evaluate",
                json!({"expression": format!("!!({cond})"), "returnByValue": true}),
            );
            if r["result"]["value"] == json!(true) {
                return;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let url = self.eval("location.href");
                panic!("timed out waiting for {what} ({cond}) on {url}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Focus an element and type text into it as keystrokes would.
    pub fn fill(&mut self, selector: &str, text: &str) {
        let sel = serde_json::to_string(selector).unwrap_or_default();
        self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) throw new Error('no ' + {sel}); e.focus(); e.value = ''; }})()"
        ));
        self.call("Input.insertText", json!({"text": text}));
    }

    /// Click an element (by selector) and wait for the page it leads to.
    pub fn click_nav(&mut self, selector: &str) {
        self.mark();
        let sel = serde_json::to_string(selector).unwrap_or_default();
        self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) throw new Error('no ' + {sel}); e.click(); }})()"
        ));
        self.wait_page();
    }

    /// Press a key as a user would (keydown, char, keyup).
    pub fn key(&mut self, key: &str) {
        let (code, text) = match key {
            "Enter" => (13, "\r".to_string()),
            "Escape" => (27, String::new()),
            "Tab" => (9, String::new()),
            k => (
                k.chars()
                    .next()
                    .map(|c| c.to_ascii_uppercase() as i64)
                    .unwrap_or(0),
                k.to_string(),
            ),
        };
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyDown", "key": key, "windowsVirtualKeyCode": code, "text": text}),
        );
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key, "windowsVirtualKeyCode": code}),
        );
    }

    /// Press a key that navigates, and wait for the new page.
    pub fn key_nav(&mut self, key: &str) {
        self.mark();
        self.key(key);
        self.wait_page();
    }

    /// The page's visible text.
    pub fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's HTML.
    pub fn html(&mut self) -> String {
        self.eval("document.documentElement.outerHTML")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Save a full-page screenshot as `<name>.png` in [`screenshot_dir`].
    pub fn screenshot(&mut self, name: &str) -> PathBuf {
        use base64::Engine;
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let data = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap_or_default())
            .expect("screenshot base64");
        assert!(data.starts_with(b"\x89PNG"), "not a PNG");
        let p = self.shots.join(format!("{name}.png"));
        std::fs::write(&p, data).expect("write screenshot");
        p
    }
}
