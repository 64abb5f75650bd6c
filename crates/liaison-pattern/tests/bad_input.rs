//! Any text at all: no panic, no stack overflow; deep nesting gives a clear error.

use liaison_pattern::cli::{check, match_observations, OutcomeKind};
use liaison_pattern::{
    parse, prefilter_literals, validate, CompiledPattern, StixVersion, MAX_DEPTH,
};
use proptest::prelude::*;

#[test]
fn deep_parentheses_are_bounded_with_position() {
    let n = 100_000;
    let text = format!("{}[a:b = 1]{}", "(".repeat(n), ")".repeat(n));
    let err = parse(&text).expect_err("too deep");
    assert_eq!(err.line, 1);
    assert_eq!(err.column, MAX_DEPTH + 1, "{err}");
    assert!(err.expected.contains("256"), "{err}");
    assert_eq!(check(&text).result, OutcomeKind::ParseError);
}

#[test]
fn deep_comparison_parentheses_are_bounded() {
    let n = 100_000;
    let text = format!("[{}a:b = 1{}]", "(".repeat(n), ")".repeat(n));
    let err = parse(&text).expect_err("too deep");
    assert!(
        err.to_string()
            .starts_with("1:257: expected at most 256 levels of nesting"),
        "{err}"
    );
}

#[test]
fn unclosed_deep_nesting_and_long_chains() {
    assert!(parse(&"(".repeat(200_000)).is_err());
    assert!(parse(&"[".repeat(200_000)).is_err());
    // Long flat chains are fine (n-ary nodes, no deep tree).
    let chain = vec!["[a:b = 1]"; 20_000].join(" AND ");
    let p = parse(&chain).expect("long AND chain");
    assert!(CompiledPattern::new(p.clone(), StixVersion::V21).is_ok());
    assert!(validate(&p, StixVersion::V21).is_valid());
    let inner = vec!["a:b = 1"; 20_000].join(" OR ");
    assert!(parse(&format!("[{inner}]")).is_ok());
    // Stacked qualifiers count against the depth budget.
    let quals = format!("[a:b = 1]{}", " REPEATS 2 TIMES".repeat(100_000));
    assert!(parse(&quals).is_err());
    // A long object path.
    let path = format!("[a:b{} = 1]", ".c".repeat(100_000));
    let p = parse(&path).expect("long path");
    let m = CompiledPattern::new(p, StixVersion::V20).expect("compiles");
    let obs: Vec<serde_json::Value> = serde_json::from_str(
        r#"[{"type":"observed-data","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":1,"objects":{"0":{"type":"a","b":{"c":1}}}}]"#,
    )
    .expect("json");
    assert_eq!(m.matches_json(&obs), Ok(false));
}

#[test]
fn repeats_huge_counts_do_not_hang() {
    let obs = r#"[{"type":"observed-data","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":1000000000,"objects":{"0":{"type":"a","b":1}}}]"#;
    let o = match_observations(
        "[a:b = 1] REPEATS 99999999999999999999 TIMES",
        obs,
        StixVersion::V20,
    );
    assert!(
        matches!(o.result, OutcomeKind::NoMatch | OutcomeKind::MatcherError),
        "{o}"
    );
    let o = match_observations("[a:b = 1] REPEATS 100000 TIMES", obs, StixVersion::V20);
    assert_eq!(o.result, OutcomeKind::MatcherError, "{o}");
    let o = match_observations("[a:b = 1] REPEATS 100 TIMES", obs, StixVersion::V20);
    assert_eq!(o.result, OutcomeKind::Match, "{o}");
}

fn exercise(text: &str) {
    if let Ok(p) = parse(text) {
        let rendered = p.to_string();
        let again =
            parse(&rendered).unwrap_or_else(|e| panic!("{rendered:?} does not parse back: {e}"));
        assert_eq!(again, p, "round trip of {text:?} via {rendered:?}");
        let _ = validate(&p, StixVersion::V21);
        let _ = prefilter_literals(&p);
        let _ = CompiledPattern::new(p, StixVersion::V20);
    }
    let _ = check(text);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_pattern_tokens_never_panic(tokens in proptest::collection::vec(
        prop::sample::select(vec![
            "[", "]", "(", ")", "file:name", "ipv4-addr:value", "a:b[*].c", "x:'q-k'[0]", "=", "!=", "<", ">=",
            "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS", "NOT", "AND", "OR", "FOLLOWEDBY",
            "WITHIN", "REPEATS", "START", "STOP", "SECONDS", "TIMES", "5", "-1", "1.5", "true", "'s'",
            "'10.0.0.0/8'", "b'aGk='", "h'00ff'", "t'2020-01-01T00:00:00Z'", ",", "/* c */", "'", "\\",
        ]), 0..40)) {
        exercise(&tokens.join(" "));
    }
}

#[test]
fn maximum_depth_works_everywhere() {
    // Just under the limit, on a test thread's small stack, in debug builds.
    let n = MAX_DEPTH - 2;
    let text = format!(
        "{}[{}a:b = 1{}] REPEATS 2 TIMES{}",
        "(".repeat(n / 2),
        "(".repeat(n / 2 - 2),
        ")".repeat(n / 2 - 2),
        ")".repeat(n / 2)
    );
    let p = parse(&text).expect("within the limit");
    assert_eq!(parse(&p.to_string()).expect("round trip"), p);
    assert!(validate(&p, StixVersion::V21).is_valid());
    assert!(prefilter_literals(&p).is_none());
    let m = CompiledPattern::new(p.clone(), StixVersion::V20).expect("compiles");
    let obs: Vec<serde_json::Value> = serde_json::from_str(
        r#"[{"type":"observed-data","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":2,"objects":{"0":{"type":"a","b":1}}}]"#,
    )
    .expect("json");
    assert_eq!(m.matches_json(&obs), Ok(true));
    drop(p);
}
