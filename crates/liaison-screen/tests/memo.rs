//! The scan's small tables of recent answers (values dropped by the
//! allow-list, the public-suffix check of repeated host names) change no
//! hit: a warm scratch reports what a fresh one does, and a scratch used with
//! another engine does not carry one engine's answers over.

use liaison_screen::{EngineBuilder, Hit, IndicatorRule, Rule, Scratch, Severity};

fn rule(id: &str, pattern: &str) -> IndicatorRule {
    IndicatorRule {
        id: id.to_string(),
        pattern: pattern.to_string(),
        label: None,
        severity: Severity::High,
    }
}

/// (line, rule, matched, value) of every hit.
fn summary(hits: Vec<Hit<'_>>) -> Vec<(u64, String, String, Option<String>)> {
    hits.into_iter()
        .map(|h| {
            let rule = match h.rule {
                Rule::Term { term } => format!("term {term}"),
                Rule::Indicator { id } => format!("indicator {id}"),
                Rule::Extractor { kind } => format!("extractor {kind}"),
            };
            (h.line, rule, h.matched, h.value)
        })
        .collect()
}

/// The number of lines with a hit of `rule` whose value is `value`.
fn lines_with(hits: &[(u64, String, String, Option<String>)], rule: &str, value: &str) -> usize {
    let mut lines: Vec<u64> = hits
        .iter()
        .filter(|h| h.1 == rule && h.3.as_deref() == Some(value))
        .map(|h| h.0)
        .collect();
    lines.dedup();
    lines.len()
}

/// Log lines that name the same allow-listed hosts again and again, with
/// public ones among them.
fn log_text() -> String {
    let mut t = String::new();
    for i in 0..300 {
        let host = [
            "github.com",
            "www.google.com",
            "evil-cdn.net",
            "en.wikipedia.org",
        ][i % 4];
        t.push_str(&format!(
            "10.0.{}.{} - - \"GET /x\" 200 \"https://{host}/\" via {host} and mail ops@{host} from 198.51.{}.7\n",
            i % 7,
            i % 251,
            i % 3
        ));
    }
    t
}

#[test]
fn a_warm_scratch_reports_what_a_fresh_one_does() {
    let e = EngineBuilder::new()
        .indicators(vec![rule(
            "indicator--1",
            "[domain-name:value = 'evil-cdn.net']",
        )])
        .build()
        .unwrap();
    let text = log_text();
    let fresh = summary(e.scan("t", text.as_bytes(), 1, 0, &mut Scratch::default()));
    let mut warm = Scratch::default();
    e.scan("t", text.as_bytes(), 1, 0, &mut warm);
    let again = summary(e.scan("t", text.as_bytes(), 1, 0, &mut warm));
    assert_eq!(fresh, again);
    // The public host is reported on each of its lines (75 of 300), as an
    // extracted domain and as the indicator's; the allow-listed ones never.
    assert_eq!(lines_with(&fresh, "extractor domain", "evil-cdn.net"), 75);
    assert_eq!(
        lines_with(&fresh, "indicator indicator--1", "evil-cdn.net"),
        75
    );
    assert!(!fresh
        .iter()
        .any(|h| h.3.as_deref().is_some_and(|v| v.contains("github.com"))));
}

#[test]
fn a_scratch_used_with_another_engine_forgets_what_it_dropped() {
    // The first engine drops github.com (allow-listed, no indicator names
    // it); the second has an indicator for it.
    let plain = EngineBuilder::new().build().unwrap();
    let watching = EngineBuilder::new()
        .indicators(vec![rule(
            "indicator--gh",
            "[domain-name:value = 'github.com']",
        )])
        .build()
        .unwrap();
    let text = log_text();
    let mut s = Scratch::default();
    let first = summary(plain.scan("t", text.as_bytes(), 1, 0, &mut s));
    assert!(!first.iter().any(|h| h.1.starts_with("indicator")));
    let second = summary(watching.scan("t", text.as_bytes(), 1, 0, &mut s));
    let fresh = summary(watching.scan("t", text.as_bytes(), 1, 0, &mut Scratch::default()));
    assert_eq!(second, fresh);
    assert_eq!(
        lines_with(&second, "indicator indicator--gh", "github.com"),
        75
    );
}
