//! Generated text with planted hits: every planted hit is found, no hit on
//! the near misses.

use liaison_screen::corpus::{self, CorpusConfig, Manifest};
use liaison_screen::{
    rules_from_bundle, Engine, EngineBuilder, Hit, Rule, Scratch, Term, Watchlist,
};
use std::collections::HashMap;

struct Fixture {
    text: Vec<u8>,
    manifest: Manifest,
    terms: Vec<String>,
    bundle: String,
}

fn fixture() -> Fixture {
    let cfg = CorpusConfig {
        seed: 42,
        size: 3 << 20,
        terms: 20_000,
        indicators: 2_000,
        plant_rate: 0.05,
        near_miss_rate: 0.03,
        ..CorpusConfig::default()
    };
    let terms = corpus::watchlist_terms(cfg.seed, cfg.terms);
    let inds = corpus::indicators(cfg.seed, cfg.indicators);
    let mut bundle = Vec::new();
    corpus::write_bundle(&inds, &mut bundle).unwrap();
    let mut text = Vec::new();
    let manifest = corpus::write_corpus(&cfg, &terms, &inds, &mut text).unwrap();
    Fixture {
        text,
        manifest,
        terms,
        bundle: String::from_utf8(bundle).unwrap(),
    }
}

fn engine(f: &Fixture, ignore_case: bool, whole_word: bool) -> Engine {
    let list = Watchlist {
        terms: f.terms.iter().map(Term::new).collect(),
    };
    EngineBuilder::new()
        .watchlist(list)
        .ignore_case(ignore_case)
        .whole_word(whole_word)
        .indicators(rules_from_bundle(&f.bundle, None).unwrap())
        .build()
        .unwrap()
}

/// Scan in 64 KiB chunks cut at line boundaries, as the binary does.
fn scan<'a>(e: &'a Engine, text: &[u8]) -> HashMap<u64, Vec<Hit<'a>>> {
    let mut by_line: HashMap<u64, Vec<Hit<'a>>> = HashMap::new();
    let mut scratch = Scratch::default();
    let (mut pos, mut line) = (0usize, 1u64);
    while pos < text.len() {
        let mut end = (pos + 65536).min(text.len());
        if end < text.len() {
            end = pos + memrchr_nl(&text[pos..end]).map_or(end - pos, |p| p + 1);
        }
        let chunk = &text[pos..end];
        for h in e.scan("corpus", chunk, line, pos as u64, &mut scratch) {
            assert_eq!(
                &text[h.offset as usize..h.offset as usize + h.matched.len()],
                h.matched.as_bytes()
            );
            by_line.entry(h.line).or_default().push(h);
        }
        line += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        pos = end;
    }
    by_line
}

fn memrchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().rposition(|&c| c == b'\n')
}

fn found(hits: Option<&Vec<Hit<'_>>>, kind: &str, value: &str) -> bool {
    hits.is_some_and(|hs| {
        hs.iter().any(|h| match h.rule {
            Rule::Term { term } => kind == "term" && term == value,
            Rule::Indicator { id } => kind == "indicator" && id == value,
            Rule::Extractor { kind: k } => k.as_str() == kind && h.value.as_deref() == Some(value),
        })
    })
}

#[test]
fn every_planted_hit_is_found_and_no_near_miss_hits() {
    let f = fixture();
    assert!(
        f.manifest.planted.len() > 1000,
        "{}",
        f.manifest.planted.len()
    );
    let cs = engine(&f, false, false);
    assert!(cs.skipped().is_empty(), "{:?}", cs.skipped());
    let hits = scan(&cs, &f.text);
    let mut missed = Vec::new();
    for p in &f.manifest.planted {
        if p.case_variant {
            continue;
        }
        if !found(hits.get(&p.line), &p.kind, &p.value) {
            missed.push(p.clone());
        }
    }
    assert!(
        missed.is_empty(),
        "{} missed, e.g. {:?}",
        missed.len(),
        &missed[..missed.len().min(5)]
    );
    for nm in &f.manifest.near_misses {
        let h = hits.get(&nm.line);
        let bad = match nm.kind.as_str() {
            "ipv4-5-parts" => found(h, "ipv4", &nm.not),
            "domain-prefix" => found(h, "indicator", &nm.not),
            "hex-run" => found(h, "sha256", &nm.not),
            _ => false,
        };
        assert!(!bad, "near miss hit: {nm:?}");
    }
    // Each planted kind occurs.
    for k in [
        "term",
        "indicator",
        "ipv4",
        "ipv6",
        "domain",
        "url",
        "email",
        "md5",
        "sha1",
        "sha256",
        "cve",
        "asn",
        "bitcoin",
    ] {
        assert!(
            f.manifest.counts.get(k).copied().unwrap_or(0) > 0,
            "no {k} planted"
        );
    }
}

#[test]
fn case_variants_found_case_insensitively() {
    let f = fixture();
    let ci = engine(&f, true, false);
    let hits = scan(&ci, &f.text);
    let variants: Vec<_> = f
        .manifest
        .planted
        .iter()
        .filter(|p| p.kind == "term")
        .collect();
    assert!(variants.iter().any(|p| p.case_variant));
    for p in variants {
        assert!(found(hits.get(&p.line), "term", &p.value), "missed {p:?}");
    }
}

#[test]
fn whole_word_rejects_term_inside_longer_word() {
    let f = fixture();
    let ww = engine(&f, false, true);
    let hits = scan(&ww, &f.text);
    let mut n = 0;
    for nm in f
        .manifest
        .near_misses
        .iter()
        .filter(|n| n.kind == "term-in-word")
    {
        n += 1;
        assert!(!found(hits.get(&nm.line), "term", &nm.not), "{nm:?}");
    }
    assert!(n > 10);
    // And a whole-word planted term (surrounded by spaces) is still found.
    for p in f
        .manifest
        .planted
        .iter()
        .filter(|p| p.kind == "term" && !p.case_variant)
    {
        assert!(found(hits.get(&p.line), "term", &p.value), "missed {p:?}");
    }
}

#[test]
fn generation_is_deterministic() {
    let a = fixture();
    let b = fixture();
    assert_eq!(a.text, b.text);
    assert_eq!(a.manifest.planted, b.manifest.planted);
}

/// `Engine::count` (what `screen --count` uses) reports as many hits, and
/// lines with a hit, as the hits that `Engine::scan` makes — on the planted
/// corpus, in chunks cut at line ends and in chunks cut anywhere (a last
/// line without its end), with every engine configuration the command has.
#[test]
fn counting_agrees_with_the_hits_made() {
    let f = fixture();
    let list = || Watchlist {
        terms: f.terms.iter().map(Term::new).collect(),
    };
    let rules = || rules_from_bundle(&f.bundle, None).unwrap();
    let engines = [
        engine(&f, false, false),
        engine(&f, true, false),
        engine(&f, false, true),
        EngineBuilder::new()
            .watchlist(list())
            .extract(None)
            .build()
            .unwrap(),
        EngineBuilder::new()
            .watchlist(list())
            .indicators(rules())
            .extract(None)
            .build()
            .unwrap(),
        EngineBuilder::new().indicators(rules()).build().unwrap(),
    ];
    let text = &f.text[..f.text.len().min(1 << 20)];
    let mut scratch = Scratch::default();
    let mut total = 0;
    for (ei, e) in engines.iter().enumerate() {
        for cut_at_line_end in [true, false] {
            let mut pos = 0;
            while pos < text.len() {
                let mut end = (pos + 65536 + 333 * ei).min(text.len());
                if cut_at_line_end && end < text.len() {
                    end = pos + memrchr_nl(&text[pos..end]).map_or(end - pos, |p| p + 1);
                }
                let chunk = &text[pos..end];
                let hits = e.scan("corpus", chunk, 1, 0, &mut scratch);
                let mut lines: Vec<u64> = hits.iter().map(|h| h.line).collect();
                lines.dedup();
                let c = e.count(chunk, &mut scratch);
                assert_eq!(
                    (c.hits, c.hit_lines),
                    (hits.len() as u64, lines.len() as u64),
                    "engine {ei}, chunk at {pos}"
                );
                total += c.hits;
                pos = end;
            }
        }
    }
    // The comparison saw hits (the corpus plants thousands in 1 MB).
    assert!(total > 1000, "{total} hits");
}
