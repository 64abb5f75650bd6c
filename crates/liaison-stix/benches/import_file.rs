//! End-to-end import run: read a bundle file as a stream, upgrade STIX 2.0,
//! validate every object; print throughput, counts and the read-buffer bound.
//!
//! ```text
//! cargo bench -p liaison-stix --bench import_file -- FILE [--no-validate]
//! cargo bench -p liaison-stix --bench import_file -- --generate MB OUT_FILE
//! ```
//! Peak memory: run the built binary (path printed by `cargo bench --no-run`)
//! under `/usr/bin/time -v`. Results are recorded in `benches/RESULTS.md`.

use liaison_stix::upgrade::Upgrading;
use liaison_stix::validate::{validate, Severity};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

#[path = "bundle_gen.rs"]
mod bundle_gen;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--generate") {
        let mb: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200);
        let out = args
            .get(2)
            .cloned()
            .unwrap_or_else(|| "/tmp/liaison-bundle.json".into());
        let file = File::create(&out).unwrap_or_else(|e| panic!("create {out}: {e}"));
        let mut w = BufWriter::new(file);
        let written = bundle_gen::write_bundle(&mut w, mb * 1_000_000)
            .unwrap_or_else(|e| panic!("write: {e}"));
        w.flush().unwrap_or_else(|e| panic!("flush: {e}"));
        println!("wrote {written} bytes to {out}");
        return;
    }
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        println!(
            "usage: import_file FILE [--no-validate] | --generate MB OUT_FILE (nothing to do)"
        );
        return;
    };
    let do_validate = !args.iter().any(|a| a == "--no-validate");
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let file = File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    let start = Instant::now();
    let mut reader = Upgrading::new(file);
    let (mut objects, mut rejected, mut read_errors) = (0u64, 0u64, 0u64);
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut first_problems = Vec::new();
    for item in reader.by_ref() {
        match item {
            Ok(obj) => {
                objects += 1;
                *by_type.entry(obj.type_name().to_string()).or_default() += 1;
                if do_validate {
                    let errs: Vec<_> = validate(&obj)
                        .into_iter()
                        .filter(|f| f.severity == Severity::Error)
                        .collect();
                    if !errs.is_empty() {
                        rejected += 1;
                        if first_problems.len() < 10 {
                            first_problems.push(format!("{}: {}", obj.id(), errs[0]));
                        }
                    }
                }
            }
            Err(e) => {
                read_errors += 1;
                if first_problems.len() < 10 {
                    first_problems.push(e.to_string());
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("file: {path} ({size} bytes)");
    println!(
        "objects: {objects}, upgraded from 2.0: {}, rejected: {rejected}, read errors: {read_errors}",
        reader.upgraded()
    );
    println!(
        "time: {secs:.3} s, {:.1} MB/s, {:.0} objects/s, validate: {do_validate}",
        size as f64 / 1e6 / secs,
        objects as f64 / secs
    );
    println!(
        "largest read buffer: {} bytes",
        reader.reader().max_buffer()
    );
    println!("types: {by_type:?}");
    for p in first_problems {
        println!("  {p}");
    }
}
