//! Indexed indicator matchers give the hits that evaluating every matcher on
//! every extracted observable gives (the engine's way before the index).

use liaison_screen::indicator::{Compiled, Observable, PatternCompiler};
use liaison_screen::{
    extract, AllowList, EngineBuilder, IndicatorRule, Kind, Rule, Scratch, Severity, StixCompiler,
};
use proptest::prelude::*;

/// Patterns of every indexed shape, with neighbours that share prefixes,
/// suffixes and networks, and shapes that are not indexed (negation, AND,
/// unanchored regex, alternation, a quantifier right after the prefix).
const PATTERNS: &[&str] = &[
    "[ipv4-addr:value ISSUBSET '62.171.98.0/24']",
    "[ipv4-addr:value ISSUBSET '62.171.0.0/16']",
    "[ipv4-addr:value ISSUBSET '62.0.0.0/8']",
    "[ipv4-addr:value ISSUBSET '62.171.98.7/32']",
    "[ipv4-addr:value ISSUBSET '0.0.0.0/0']",
    "[ipv4-addr:value ISSUBSET '93.184.216.0/26']",
    "[ipv6-addr:value ISSUBSET '2a00:1450::/32']",
    "[domain-name:value LIKE '%.evil.com']",
    "[domain-name:value LIKE '%evil.com']",
    "[domain-name:value LIKE '%.com']",
    "[domain-name:value LIKE 'mail.%']",
    "[domain-name:value LIKE 'a_c.%']",
    "[domain-name:value NOT LIKE '%.evil.com']",
    "[url:value MATCHES '^https://evil\\\\.com/']",
    "[url:value MATCHES '^https://evil\\\\.com/x?']",
    "[url:value MATCHES '^http://a|^https://b']",
    "[url:value MATCHES 'evil\\\\.com/p']",
    "[url:value MATCHES '^https?://mail\\\\.']",
    "[url:value MATCHES '^http://(evil|good)\\\\.com']",
    "[url:value LIKE 'https://evil.com/%']",
    "[email-addr:value LIKE '%@evil.com']",
    "[domain-name:value LIKE '%.evil.com' AND domain-name:value != 'x.evil.com']",
    "[ipv4-addr:value ISSUBSET '62.171.98.0/24' OR ipv4-addr:value = '8.8.8.8']",
    "[file:hashes.'SHA-256' LIKE 'ab%']",
    "[autonomous-system:number != 64512]",
];

const PIECES: &[&str] = &[
    "62.171.98.7",
    "62.171.98.200",
    "62.171.3.4",
    "62.9.9.9",
    "63.1.1.1",
    "93.184.216.34",
    "93.184.216.99",
    "8.8.8.8",
    "10.1.2.3",
    "2a00:1450:4001:82a::200e",
    "2a01::1",
    "x.evil.com",
    "a.b.evil.com",
    "notevil.com",
    "evil.com",
    "mail.example.org",
    "mail.corp.net",
    "abc.org",
    "axc.org",
    "https://evil.com/p",
    "https://evil.com/",
    "http://evil.com/a",
    "https://evil.comx/",
    "http://a.net/",
    "https://b.net/",
    "https://mail.corp.net/x",
    "http://good.com/",
    "bob@evil.com",
    "bob@mail.evil.com",
    "ab0c175b9c0f1b6a831c399e269772661d4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f",
    "AS64512",
    "AS13335",
    "hxxps://evil[.]com/p",
    "x[.]evil[.]com",
];

fn rules() -> Vec<IndicatorRule> {
    PATTERNS
        .iter()
        .enumerate()
        .map(|(i, p)| IndicatorRule {
            id: format!("indicator--{i}"),
            pattern: (*p).to_string(),
            label: None,
            severity: Severity::High,
        })
        .collect()
}

/// (rule id, value) of the indicator hits the engine reports, sorted.
fn engine_hits(text: &str) -> Vec<(String, String)> {
    let e = EngineBuilder::new().indicators(rules()).build().unwrap();
    assert!(e.skipped().is_empty(), "{:?}", e.skipped());
    let mut out: Vec<_> = e
        .scan("t", text.as_bytes(), 1, 0, &mut Scratch::default())
        .into_iter()
        .filter_map(|h| match h.rule {
            Rule::Indicator { id } => Some((id.to_string(), h.value.unwrap_or_default())),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

/// The same, worked out the slow way: every observable extracted from each
/// line (refanged) that the allow-list keeps, against every matcher.
fn oracle_hits(text: &str) -> Vec<(String, String)> {
    let compiled: Vec<_> = PATTERNS
        .iter()
        .map(|p| match StixCompiler.compile(p).unwrap() {
            Compiled::Matcher(m) => m,
            Compiled::Literals(_) => panic!("{p} compiled to literals"),
        })
        .collect();
    let allow = AllowList::builtin();
    let mut out = Vec::new();
    for line in text.split_inclusive('\n') {
        for f in extract::extract_str(&liaison_screen::refang::refang(line)) {
            let Some((ty, path)) = f.kind.stix() else {
                continue;
            };
            if allow.allows(f.kind, &f.value) {
                continue;
            }
            let value = if f.kind == Kind::Asn {
                &f.value[2..]
            } else {
                &f.value[..]
            };
            let obs = Observable {
                object_type: ty,
                path,
                value,
            };
            for (i, m) in compiled.iter().enumerate() {
                if m.matches(&obs) {
                    out.push((format!("indicator--{i}"), f.value.clone()));
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_shape_against_the_oracle() {
    let text = PIECES
        .iter()
        .map(|p| format!("seen {p} today\n"))
        .collect::<String>();
    let got = engine_hits(&text);
    assert_eq!(got, oracle_hits(&text));
    // Spot checks, so that the oracle itself is not the only judge.
    let has = |id: usize, v: &str| {
        got.iter()
            .any(|(i, x)| *i == format!("indicator--{id}") && x == v)
    };
    assert!(has(0, "62.171.98.7") && has(1, "62.171.3.4") && has(2, "62.9.9.9"));
    assert!(has(3, "62.171.98.7") && !has(3, "62.171.98.200"));
    assert!(
        has(4, "63.1.1.1") && !has(4, "10.1.2.3"),
        "0/0, private dropped"
    );
    assert!(has(5, "93.184.216.34") && !has(5, "93.184.216.99"));
    assert!(has(6, "2a00:1450:4001:82a::200e") && !has(6, "2a01::1"));
    assert!(has(7, "a.b.evil.com") && !has(7, "notevil.com") && !has(7, "evil.com"));
    assert!(has(8, "notevil.com") && has(8, "evil.com"));
    assert!(has(10, "mail.corp.net") && has(11, "abc.org") && has(11, "axc.org"));
    assert!(has(12, "notevil.com") && !has(12, "x.evil.com"));
    assert!(has(13, "https://evil.com/p") && !has(13, "http://evil.com/a"));
    assert!(!has(13, "https://evil.comx/") && has(14, "https://evil.com/"));
    assert!(
        has(15, "http://a.net/") && has(15, "https://b.net/"),
        "alternation"
    );
    assert!(has(16, "https://evil.com/p"), "unanchored");
    assert!(has(17, "https://mail.corp.net/x") && has(18, "http://good.com/"));
    assert!(has(19, "https://evil.com/p") && has(20, "bob@evil.com"));
    assert!(!has(20, "bob@mail.evil.com"));
    assert!(has(21, "a.b.evil.com") && !has(21, "x.evil.com"));
    assert!(has(22, "62.171.98.7") && has(22, "8.8.8.8"));
    assert!(has(
        23,
        "ab0c175b9c0f1b6a831c399e269772661d4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f"
    ));
    assert!(has(24, "AS13335") && !has(24, "AS64512"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_lines_against_the_oracle(
        picks in prop::collection::vec((0..PIECES.len(), 0usize..4), 1..20)
    ) {
        let seps = [" ", ", ", "\n", " (", ") "];
        let text: String = picks
            .iter()
            .map(|&(p, s)| format!("{}{}", PIECES[p], seps[s]))
            .collect();
        prop_assert_eq!(engine_hits(&text), oracle_hits(&text));
    }
}
