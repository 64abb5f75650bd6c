//! Interoperability: the OASIS `taxii2-client` (PyPI) against `liaison serve`.

mod server_util;
use server_util::*;

#[test]
fn oasis_taxii2_client_full_flow() {
    let py = venv_python();
    let tmp = tempfile::tempdir().unwrap();
    let d = demo_dir(tmp.path(), 600);
    let s = serve(&d);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/server_scripts/taxii2_client_flow.py");
    let out = std::process::Command::new(py)
        .arg(script)
        .arg(format!("http://{}", s.addr))
        .args(["admin", PASSWORD, DEMO_COLLECTION])
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "taxii2-client flow failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    eprintln!("taxii2-client saw {v}");
    assert!(v["pages"].as_u64().unwrap() >= 5, "{v}");
}
