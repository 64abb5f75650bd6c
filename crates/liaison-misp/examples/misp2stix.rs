//! Convert a MISP event file to STIX on stdout, warnings on stderr.
//! `cargo run -p liaison-misp --example misp2stix -- event.json [--count]`
//! (`--count` prints only the number of objects: conversion time without output).
fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: misp2stix EVENT.json");
    let text = std::fs::read_to_string(&path).expect("readable file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    match liaison_misp::event_to_stix(&json, &liaison_misp::Options::default()) {
        Ok(c) if std::env::args().any(|a| a == "--count") => {
            println!("{} objects, {} warnings", c.objects.len(), c.warnings.len());
        }
        Ok(c) => {
            for w in &c.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&c.objects).unwrap_or_default()
            );
        }
        Err(e) => eprintln!("error: {e}"),
    }
}
