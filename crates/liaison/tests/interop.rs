//! Interoperability with the OASIS reference tools (installed into .venv by
//! scripts/setup.sh; `LIAISON_VENV` points there). These tests fail, not skip,
//! when the tools are missing: run them through scripts/test.sh.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

fn venv_tool(name: &str) -> PathBuf {
    let venv = std::env::var("LIAISON_VENV").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.venv")
            .to_string_lossy()
            .into_owned()
    });
    let p = PathBuf::from(venv).join("bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh (or scripts/test.sh) first",
        p.display()
    );
    p
}

use std::path::Path;

fn export_and_validate(files: &[PathBuf]) {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path());
    for f in files {
        let r = run(&d, &["import", f.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    }
    let out = tmp.path().join("export.json");
    assert_eq!(run(&d, &["export", "--out", out.to_str().unwrap()]).code, 0);
    let exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(objects_of(&exported).len() > 400);
    let v = Command::new(venv_tool("stix2_validator"))
        .args(["--version", "2.1"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.status.success(),
        "stix2_validator refused the export:\n{}",
        &text[..text.len().min(5000)]
    );
    assert!(!text.contains("[X]"), "{}", &text[..text.len().min(5000)]);
}

/// An export of real third-party data (OASIS threat reports, MITRE ATT&CK ICS and Mobile
/// samples) passes the reference validator.
#[test]
fn export_passes_stix2_validator() {
    let fx = fixtures();
    export_and_validate(&[
        fx.join("bundles/oasis/threat-reports/apt1.json"),
        fx.join("bundles/oasis/threat-reports/poisonivy.json"),
        fx.join("bundles/mitre/ics-attack-18.1-sample.json"),
        fx.join("bundles/mitre/mobile-attack-17.1-sample.json"),
    ]);
}

/// STIX 2.0 (ATT&CK Enterprise) comes out as STIX 2.1 the reference validator accepts.
#[test]
fn upgraded_stix20_export_passes_stix2_validator() {
    export_and_validate(&[fixtures().join("attack-enterprise-v15-sample-stix20.json")]);
}

/// Patterns the OASIS matcher accepts, we accept; and our verdicts agree with it.
#[test]
fn pattern_verdicts_agree_with_stix2_matcher() {
    let tmp = tempfile::tempdir().unwrap();
    let obs = write(
        tmp.path(),
        "obs.json",
        &serde_json::json!([{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [
            {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"},
            {"type": "observed-data", "spec_version": "2.1", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
             "created": "2016-04-06T19:58:16.000Z", "modified": "2016-04-06T19:58:16.000Z",
             "first_observed": "2015-12-21T19:00:00Z", "last_observed": "2015-12-21T19:00:00Z", "number_observed": 1,
             "object_refs": ["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"]}]}])
        .to_string(),
    );
    for (pattern, expect) in [
        ("[ipv4-addr:value = '198.51.100.3']", "match"),
        ("[ipv4-addr:value = '198.51.100.4']", "no_match"),
        ("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", "match"),
        (
            "[ipv4-addr:value = '198.51.100.3'] REPEATS 2 TIMES",
            "no_match",
        ),
    ] {
        let ours = bin()
            .args(["pattern", "match", "--json", pattern, "--observations"])
            .arg(&obs)
            .output()
            .unwrap();
        let ours: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
        let pfile = write(tmp.path(), "pattern.txt", &format!("{pattern}\n"));
        let theirs = Command::new(venv_tool("stix2-matcher"))
            .arg("-p")
            .arg(&pfile)
            .arg("-f")
            .arg(&obs)
            .args(["-s", "2.1"])
            .output()
            .unwrap();
        let theirs_text = String::from_utf8_lossy(&theirs.stdout).to_string()
            + &String::from_utf8_lossy(&theirs.stderr);
        let theirs_match = theirs_text.contains("MATCH:") && !theirs_text.contains("NO MATCH");
        assert_eq!(ours["result"], expect, "{pattern}: {ours}");
        assert_eq!(
            expect == "match",
            theirs_match,
            "{pattern}: stix2-matcher said {theirs_text}"
        );
    }
}
