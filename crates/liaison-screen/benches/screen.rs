//! Criterion benchmarks of the screening engine on a generated corpus
//! (4 MB, 100,000 terms, 10,000 indicators), one thread.
//!
//! `cargo bench -p liaison-screen` — the end-to-end comparison with ripgrep
//! and grep is `bench/screen/run.sh`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use liaison_screen::corpus::{self, CorpusConfig};
use liaison_screen::{rules_from_bundle, EngineBuilder, Scratch, Term, Watchlist};

fn bench(c: &mut Criterion) {
    let cfg = CorpusConfig {
        seed: 7,
        size: 4 << 20,
        ..CorpusConfig::default()
    };
    let terms = corpus::watchlist_terms(cfg.seed, cfg.terms);
    let inds = corpus::indicators(cfg.seed, cfg.indicators);
    let mut text = Vec::new();
    corpus::write_corpus(&cfg, &terms, &inds, &mut text).expect("generate");
    let mut bundle = Vec::new();
    corpus::write_bundle(&inds, &mut bundle).expect("bundle");
    let rules =
        rules_from_bundle(std::str::from_utf8(&bundle).expect("utf8"), None).expect("rules");
    let list = || Watchlist {
        terms: terms.iter().map(Term::new).collect(),
    };

    let mut g = c.benchmark_group("screen");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    let cases = [
        (
            "watchlist-100k",
            EngineBuilder::new().extract(None).watchlist(list()),
        ),
        (
            "watchlist-100k-ignore-case",
            EngineBuilder::new()
                .extract(None)
                .ignore_case(true)
                .watchlist(list()),
        ),
        ("extract-only", EngineBuilder::new()),
        (
            "watchlist-extract-10k-indicators",
            EngineBuilder::new()
                .watchlist(list())
                .indicators(rules.clone()),
        ),
    ];
    for (name, b) in cases {
        let e = b.build().expect("build");
        let mut s = Scratch::default();
        g.bench_function(name, |bch| {
            bch.iter(|| e.scan("bench", &text, 1, 0, &mut s).len())
        });
    }
    let mut out = Vec::new();
    g.bench_function("fold", |bch| {
        bch.iter(|| {
            liaison_screen::fold::fold_into(&text, &mut out);
            out.len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("build");
    g.sample_size(10);
    g.bench_function("automaton-100k-terms-10k-indicators", |bch| {
        bch.iter(|| {
            EngineBuilder::new()
                .watchlist(list())
                .indicators(rules.clone())
                .build()
                .expect("build")
                .pattern_count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
