//! Throughput of [`BundleReader`] on a generated bundle of typical objects.
//!
//! `CARGO_TARGET_DIR=/work/target-stix cargo bench -p liaison-stix --bench bundle`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use liaison_stix::bundle::BundleReader;
use liaison_stix::upgrade::Upgrading;
use std::io::Write;

#[path = "bundle_gen.rs"]
mod bundle_gen;
use bundle_gen::generate;

fn bench(c: &mut Criterion) {
    let data = generate(30_000);

    let mut g = c.benchmark_group("bundle");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("read_values", |b| {
        b.iter(|| {
            let mut r = BundleReader::new(&data[..]);
            let mut n = 0usize;
            while let Some(v) = r.next_value() {
                n += v.is_ok() as usize;
            }
            assert_eq!(n, 30_000);
        })
    });
    g.bench_function("read_objects_upgrading", |b| {
        b.iter(|| {
            let n = Upgrading::new(&data[..]).filter(|o| o.is_ok()).count();
            assert_eq!(n, 30_000);
        })
    });
    g.bench_function("read_and_validate", |b| {
        b.iter(|| {
            let mut bad = 0usize;
            for obj in BundleReader::new(&data[..]).flatten() {
                bad += !liaison_stix::validate::is_valid(&obj) as usize;
            }
            assert_eq!(bad, 0);
        })
    });
    g.bench_function("serde_json_whole_document", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_slice(&data).unwrap_or_default();
            assert!(v.is_object());
        })
    });
    g.finish();
    let _ = std::io::stderr().write_all(format!("bundle size: {} bytes\n", data.len()).as_bytes());
}

criterion_group!(benches, bench);
criterion_main!(benches);
