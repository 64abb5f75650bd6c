//! Per-case match timing on the OASIS matcher cases, for the side-by-side with the
//! Python reference (`bench/compare_stix2_matcher.py --rust-json`).
//!
//! Prints a JSON object `{case id: seconds per match}` (pattern compiled in advance;
//! observation preparation + match timed), for the cases whose pattern compiles.
//!
//! Run: `cargo run --release -p liaison-pattern --example time_cases > /tmp/rust_cases.json`

use std::time::Instant;

use liaison_pattern::{CompiledPattern, Observations, StixVersion};
use serde_json::{Map, Value};

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/matcher_cases.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    let data: Value = serde_json::from_str(&text).expect("json");
    let mut out = Map::new();
    for c in data["cases"].as_array().expect("cases") {
        let version = if c["stix_version"] == "2.0" {
            StixVersion::V20
        } else {
            StixVersion::V21
        };
        let Ok(m) = CompiledPattern::compile(c["pattern"].as_str().unwrap_or_default(), version)
        else {
            continue;
        };
        let observations = c["observations"].as_array().cloned().unwrap_or_default();
        let run = || match Observations::new(&observations, version) {
            Ok(o) => m.matches(&o).is_ok(),
            Err(_) => false,
        };
        // Enough repetitions for a stable figure: at least 20 ms per case.
        let mut reps = 1u32;
        let per = loop {
            let t0 = Instant::now();
            for _ in 0..reps {
                std::hint::black_box(run());
            }
            let dt = t0.elapsed().as_secs_f64();
            if dt > 0.02 || reps >= 1 << 20 {
                break dt / f64::from(reps);
            }
            reps *= 4;
        };
        out.insert(
            c["id"].as_str().unwrap_or_default().to_string(),
            Value::from(per),
        );
    }
    println!("{}", Value::Object(out));
}
