//! Start the real `liaison` binary as a server on an ephemeral port and talk HTTP to it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const PASSWORD: &str = "demo-pass-0123";
pub const DEMO_COLLECTION: &str = "3f9e2c1a-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
pub const GRIDSPIKE: &str = "malware--8a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_liaison"));
    c.env_remove("LIAISON_DATA")
        .env_remove("LIAISON_USER")
        .env("LIAISON_DEMO_PASSWORD", PASSWORD);
    c
}

/// A running server, stopped when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub output: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawn `cmd` (stdout and stderr piped) and wait for its "serving on" / "Serving on" line.
pub fn start(mut cmd: Command) -> Server {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    #[allow(clippy::zombie_processes)] // the Server returned kills and waits for it on drop
    let mut child = cmd.spawn().expect("start liaison");
    let (tx, rx) = mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(line) => {
                if let Some(i) = line.to_ascii_lowercase().find("serving on http://") {
                    let rest = &line[i + "serving on http://".len()..];
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    return Server {
                        child,
                        addr,
                        output: rx,
                    };
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not start:\n{}", seen.join("\n"));
            }
        }
    }
}

/// Build a demo data dir without serving.
pub fn demo_dir(tmp: &Path, objects: u32) -> PathBuf {
    let d = tmp.join("demo");
    let out = bin()
        .args(["demo", "--no-serve", "--seed", "3", "--objects"])
        .arg(objects.to_string())
        .arg("--dir")
        .arg(&d)
        .output()
        .expect("run demo");
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    d
}

/// `liaison serve --data DIR --port 0`.
pub fn serve(data: &Path) -> Server {
    let mut c = bin();
    c.arg("--data").arg(data).args(["serve", "--port", "0"]);
    start(c)
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One HTTP/1.1 request (Connection: close) with the given headers.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The Python of the venv with the OASIS reference tools: fails (not skips) when missing.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var("LIAISON_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"));
    let py = venv.join("bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup.sh (it installs taxii2-client and the other reference tools), or set LIAISON_VENV",
        py.display()
    );
    py
}
