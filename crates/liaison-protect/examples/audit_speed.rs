//! Audit chain speed without the file locking of the real log, for `/usr/bin/time`
//! (CPU time next to wall time on a shared machine): `audit_speed append N FILE
//! [sealed]` writes a log of N records with a checkpoint every 1,000 and its head to
//! `FILE.head`; `audit_speed verify FILE` verifies it on every core. The figures that
//! count come from `liaison audit bench`, which goes through the real log.

use liaison_protect::audit::{action, verify_text, AuditKey, Chain, Checkpoint};
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sk = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let t0 = std::time::Instant::now();
    match args.get(1).map(String::as_str) {
        Some("append") => {
            let n: u64 = args[2].parse().expect("N");
            let seal =
                (args.get(4).map(String::as_str) == Some("sealed")).then(|| AuditKey::derive(&sk));
            let f = std::fs::File::create(&args[3]).expect("file");
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            let mut c = Chain::new();
            let mut line = String::with_capacity(512);
            let mut len = 0u64;
            for i in 0..n {
                line.clear();
                let (seq, hash) = c
                    .append_to(
                        &mut line,
                        1_764_000_000_000 + i as i64,
                        "analyst-17",
                        action::READ,
                        Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
                        "",
                        seal.as_ref(),
                    )
                    .expect("append");
                line.push('\n');
                if i % 1000 == 999 {
                    line.push_str(&Checkpoint::sign(&sk, seq, hash).to_line());
                    line.push('\n');
                }
                w.write_all(line.as_bytes()).expect("write");
                len += line.len() as u64;
            }
            w.flush().expect("flush");
            let (seq, hash) = c.last();
            std::fs::write(
                format!("{}.head", args[3]),
                Checkpoint::sign_head(&sk, seq, hash, len).to_line(),
            )
            .expect("head");
            let s = t0.elapsed().as_secs_f64();
            println!(
                "append: {n} records in {s:.3} s wall, {:.0} records/s",
                n as f64 / s
            );
        }
        Some("verify") => {
            let text = std::fs::read_to_string(&args[2]).expect("file");
            let head = std::fs::read_to_string(format!("{}.head", args[2])).expect("head");
            let head = match liaison_protect::audit::parse_line(head.trim()) {
                Ok(liaison_protect::audit::Line::Checkpoint(c)) => c,
                _ => panic!("head is not a checkpoint"),
            };
            let t0 = std::time::Instant::now();
            let rep = verify_text(&text, &sk.verifying_key(), Some(&head));
            assert!(rep.ok(), "{:?}", rep.problems);
            let s = t0.elapsed().as_secs_f64();
            println!(
                "verify: {} records in {s:.3} s wall, {:.0} records/s",
                rep.records,
                rep.records as f64 / s
            );
        }
        _ => eprintln!("usage: audit_speed append N FILE [sealed] | verify FILE"),
    }
}
