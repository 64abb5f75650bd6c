//! Property-based API testing: schemathesis (PyPI) generates requests from our OpenAPI
//! document and checks that no request makes the server fail (5xx) and that answers
//! come in the media types the document declares. Bounded: 20 examples an operation,
//! a minute and a half in all.

mod server_util;
use server_util::*;

#[test]
fn schemathesis_against_the_openapi_document() {
    let py = venv_python();
    let st = py.with_file_name("schemathesis");
    assert!(
        st.exists(),
        "{} is missing: run scripts/setup.sh (it installs schemathesis)",
        st.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let d = demo_dir(tmp.path(), 100);
    // No rate limit for the fuzzer's burst of requests.
    let cfg_path = d.join("config.toml");
    let cfg = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(
        &cfg_path,
        cfg.replacen("[server]", "[server]\nrate_limit = 0.0", 1),
    )
    .unwrap();
    let s = serve(&d);
    let auth = basic("admin", PASSWORD);
    let doc = http(
        &s.addr,
        "GET",
        "/api/v1/openapi.json",
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(doc.status, 200);
    let spec = tmp.path().join("openapi.json");
    std::fs::write(&spec, &doc.body).unwrap();
    let out = std::process::Command::new(&st)
        .arg("run")
        .arg(&spec)
        .arg("--url")
        .arg(format!("http://{}/api/v1", s.addr))
        .args(["-a", &format!("admin:{PASSWORD}")])
        .args(["--checks", "not_a_server_error,content_type_conformance"])
        .args(["--max-examples", "20", "--seed", "1", "--max-time", "90"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--workers", "1"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run schemathesis");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found failures:\n{text}");
    // The server is still up afterwards.
    assert_eq!(http(&s.addr, "GET", "/health", &[], "").status, 200);
}
