//! Audit chain speed: appending records (hash and JSON line) and verifying a log.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use liaison_protect::audit::{action, verify_text, Chain, Checkpoint};
use std::hint::black_box;

const N: u64 = 100_000;

fn make_log(n: u64) -> (String, ed25519_dalek::SigningKey, Checkpoint) {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let mut c = Chain::new();
    let mut out = String::with_capacity(n as usize * 220);
    let mut last = None;
    for i in 0..n {
        let r = c.append(
            1_764_000_000_000 + i as i64,
            "analyst-17",
            action::READ,
            Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            "",
        );
        out.push_str(&r.to_line());
        out.push('\n');
        if i % 1000 == 999 {
            out.push_str(&Checkpoint::sign(&sk, r.seq, r.hash).to_line());
            out.push('\n');
        }
        last = Some(r);
    }
    let last = last.expect("records");
    let head = Checkpoint::sign_head(&sk, last.seq, last.hash, out.len() as u64);
    (out, sk, head)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N));
    g.bench_function("append (hash + JSON line)", |b| {
        b.iter(|| {
            let mut c = Chain::new();
            let mut out = String::with_capacity(N as usize * 220);
            for i in 0..N {
                let r = c.append(
                    1_764_000_000_000 + i as i64,
                    "analyst-17",
                    action::READ,
                    Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
                    "",
                );
                out.push_str(&r.to_line());
                out.push('\n');
            }
            black_box(out.len())
        })
    });
    let (log, sk, head) = make_log(N);
    let vk = sk.verifying_key();
    g.bench_function("verify (parse, hash, chain, checkpoints)", |b| {
        b.iter(|| {
            let r = verify_text(black_box(&log), &vk, Some(&head));
            assert!(r.ok());
            black_box(r.records)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
