//! Helpers shared by the end-to-end tests: run the real binary on a temporary data dir.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The five levels the tests' configs declare, with these compartments: the
/// policy to open a test's store with directly.
pub fn test_policy(compartments: &[&str]) -> liaison_policy::Policy {
    liaison_policy::Policy::new(
        [
            "UNCLASSIFIED",
            "RESTRICTED",
            "CONFIDENTIAL",
            "SECRET",
            "TOP SECRET",
        ],
        compartments.iter().copied(),
    )
    .expect("test policy")
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_liaison"));
    c.env_remove("LIAISON_DATA").env_remove("LIAISON_USER");
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(data: &Path, args: &[&str]) -> Run {
    let out: Output = bin()
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run liaison");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", r.stdout, r.stderr))
}

/// The STIX fixtures of liaison-stix (OASIS, MITRE, MISP samples with their notices).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../liaison-stix/tests/fixtures")
}

/// A demo data dir, built once per test binary run into a temp dir.
pub fn demo(dir: &Path) -> PathBuf {
    let d = dir.join("demo");
    let r = run(
        &d,
        &["demo", "--objects", "1500", "--seed", "3", "--no-serve"],
    );
    assert_eq!(r.code, 0, "demo failed: {}\n{}", r.stdout, r.stderr);
    d
}

pub fn init(dir: &Path) -> PathBuf {
    let d = dir.join("data");
    let r = run(&d, &["init", "--org", "cert"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    d
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p
}

pub fn objects_of(export: &serde_json::Value) -> Vec<serde_json::Value> {
    export["objects"].as_array().cloned().unwrap_or_default()
}
