//! Convert a STIX bundle (or a JSON list of STIX objects) to MISP events on stdout:
//! `cargo run -p liaison-misp --example stix2misp -- bundle.json`
fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: stix2misp BUNDLE.json");
    let text = std::fs::read_to_string(&path).expect("readable file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let objects = match json.get("objects") {
        Some(o) => o.as_array().cloned().unwrap_or_default(),
        None => json.as_array().cloned().unwrap_or_default(),
    };
    match liaison_misp::stix_to_events(&objects, &liaison_misp::Options::default()) {
        Ok(events) => println!(
            "{}",
            serde_json::to_string_pretty(&events).unwrap_or_default()
        ),
        Err(e) => eprintln!("error: {e}"),
    }
}
