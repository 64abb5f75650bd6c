//! Audit chain speed outside criterion, for `/usr/bin/time` (CPU time next to wall time
//! on a shared machine): `audit_speed append N FILE` writes a log of N records with a
//! checkpoint every 1,000; `audit_speed verify FILE` verifies it.

use liaison_protect::audit::{action, Chain, Checkpoint, Verifier};
use std::io::{BufRead, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sk = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let t0 = std::time::Instant::now();
    match args.get(1).map(String::as_str) {
        Some("append") => {
            let n: u64 = args[2].parse().expect("N");
            let f = std::fs::File::create(&args[3]).expect("file");
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            let mut c = Chain::new();
            for i in 0..n {
                let r = c.append(
                    1_764_000_000_000 + i as i64,
                    "analyst-17",
                    action::READ,
                    Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
                    "",
                );
                writeln!(w, "{}", r.to_line()).expect("write");
                if i % 1000 == 999 {
                    writeln!(w, "{}", Checkpoint::sign(&sk, r.seq, r.hash).to_line())
                        .expect("write");
                }
            }
            w.flush().expect("flush");
            let s = t0.elapsed().as_secs_f64();
            println!(
                "append: {n} records in {s:.3} s wall, {:.0} records/s",
                n as f64 / s
            );
        }
        Some("verify") => {
            let f = std::fs::File::open(&args[2]).expect("file");
            let mut v = Verifier::new(sk.verifying_key());
            let mut line = String::new();
            let mut r = std::io::BufReader::with_capacity(1 << 20, f);
            let mut n = 0;
            while r.read_line(&mut line).expect("read") > 0 {
                n += 1;
                v.feed(n, line.trim_end_matches('\n'));
                line.clear();
            }
            let rep = v.finish(None, None);
            assert!(rep.ok(), "{:?}", rep.problems);
            let s = t0.elapsed().as_secs_f64();
            println!(
                "verify: {} records in {s:.3} s wall, {:.0} records/s",
                rep.records,
                rep.records as f64 / s
            );
        }
        _ => eprintln!("usage: audit_speed append N FILE | verify FILE"),
    }
}
