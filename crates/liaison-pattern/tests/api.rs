//! Behaviour of the public API beyond the conformance suites.

use liaison_pattern::cli::{check, match_observations, OutcomeKind};
use liaison_pattern::{
    parse, prefilter_literals, validate_str, CompiledPattern, IssueKind, StixVersion,
};

#[test]
fn parse_errors_name_position_and_expectation() {
    let e = parse("[file:name = 'a' AND]").unwrap_err();
    assert_eq!((e.line, e.column), (1, 21));
    assert_eq!(e.to_string(), "1:21: expected an object path, found ']'");

    let e = parse("[file:name = 'a'\n  AND file:size = ]").unwrap_err();
    assert_eq!((e.line, e.column), (2, 19));

    let e = parse("[file:name = 'a'] WITHIN 5 HOURS").unwrap_err();
    assert_eq!(e.to_string(), "1:28: expected 'SECONDS', found 'HOURS'");

    let e = parse("[some-type:needs-quotes = 1]").unwrap_err();
    assert!(e.expected.contains("quote"), "{e}");

    let e = parse("[x:y = 'unterminated]").unwrap_err();
    assert!(e.found.contains("malformed or unterminated"), "{e}");
}

#[test]
fn every_literal_and_operator_parses() {
    let text = "[x:a = 1 AND x:b != -2 AND x:c < 1.5 AND x:d <= -.5 AND x:e > 'a' AND x:f >= b'aGk=' \
                AND x:g = h'00ff' AND x:h = t'2020-01-01T00:00:00.123Z' AND x:i = true AND x:j IN ('a', 'b') \
                AND x:k LIKE 'a%' AND x:l MATCHES '^a' AND x:m ISSUBSET '10.0.0.0/8' \
                AND x:n ISSUPERSET '10.0.0.1' AND EXISTS x:o AND x:p NOT = 1 \
                AND x:q[0].'r-s'[*].extensions.'windows-pebinary-ext'.t == 1 AND x:u <> 2] \
                REPEATS 2 TIMES WITHIN 1.5 SECONDS START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'";
    let p = parse(text).expect("parses");
    assert_eq!(parse(&p.to_string()).expect("round trip"), p);
}

#[test]
fn validator_checks() {
    let r = validate_str("[file:hashes.MD5 = 'x']", StixVersion::V21).unwrap();
    assert_eq!(r.errors[0].kind, IssueKind::InvalidHash);
    let r = validate_str(
        "[a:b = 1] REPEATS 2 TIMES REPEATS 3 TIMES",
        StixVersion::V21,
    )
    .unwrap();
    assert_eq!(r.errors[0].kind, IssueKind::DuplicateQualifier);
    let r = validate_str(
        "([a:b = 1] REPEATS 2 TIMES) REPEATS 3 TIMES",
        StixVersion::V21,
    )
    .unwrap();
    assert!(r.is_valid());
    let r = validate_str("[a:b = 1] WITHIN 0 SECONDS", StixVersion::V21).unwrap();
    assert_eq!(r.errors[0].kind, IssueKind::InvalidQualifier);
    let r = validate_str("[a:b IN (1, true)]", StixVersion::V21).unwrap();
    assert_eq!(r.errors[0].kind, IssueKind::NonHomogeneousSet);
    let r = validate_str("[indicator:name = 'x']", StixVersion::V21).unwrap();
    assert!(r.is_valid());
    assert_eq!(r.warnings[0].kind, IssueKind::NotObservableType);
}

#[test]
fn prefilter_rules() {
    let lits = |t: &str| prefilter_literals(&parse(t).unwrap());
    let l = lits("[ipv4-addr:value = '198.51.100.7']").unwrap();
    assert_eq!(
        (
            l[0].object_type.as_str(),
            l[0].path.as_str(),
            l[0].value.as_str()
        ),
        ("ipv4-addr", "value", "198.51.100.7")
    );
    // AND: the smallest reducible operand.
    let l = lits("[file:name = 'a' AND file:size > 4 AND file:hashes.MD5 IN ('x', 'y')]").unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].value, "a");
    // OR needs every branch.
    assert!(lits("[file:name = 'a' OR file:size > 4]").is_none());
    assert!(lits("[domain-name:value = 'a'] OR [url:value NOT = 'b']").is_none());
    assert_eq!(
        lits("[domain-name:value = 'a'] OR [url:value NOT != 'b']")
            .unwrap()
            .len(),
        2
    );
    // Observation AND / FOLLOWEDBY: any one operand.
    assert_eq!(
        lits("[a:x LIKE 'q%'] FOLLOWEDBY [b:y = 'v'] WITHIN 5 SECONDS").unwrap()[0].value,
        "v"
    );
    // Non-string literals and hex/bin properties are not reduced.
    assert!(lits("[a:x = 1]").is_none());
    assert!(lits("[artifact:payload_bin = 'abc']").is_none());
    assert_eq!(lits("[a:x IN ()]").unwrap().len(), 0);
}

#[test]
fn cli_outcomes_serialize() {
    let o = check("[file:name = 'a']");
    assert_eq!(
        serde_json::to_string(&o).unwrap(),
        r#"{"result":"valid","message":null}"#
    );
    let o = check("[file:hashes.'SHA-256' = 'f00']");
    assert_eq!(o.result, OutcomeKind::Invalid);
    assert_eq!(
        o.message.as_deref(),
        Some("'f00' is not a valid SHA-256 hash")
    );
    let obs20 = r#"[{"type":"observed-data","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":1,"objects":{"0":{"type":"domain-name","value":"example.com"}}}]"#;
    let o = match_observations(
        "[domain-name:value = 'example.com']",
        obs20,
        StixVersion::V20,
    );
    assert_eq!(
        serde_json::to_string(&o).unwrap(),
        r#"{"result":"match","message":null}"#
    );
    assert_eq!(
        match_observations("[domain-name:value = 'x']", obs20, StixVersion::V20).result,
        OutcomeKind::NoMatch
    );
    assert_eq!(
        match_observations("[domain-name:value = ", obs20, StixVersion::V20).result,
        OutcomeKind::ParseError
    );
    assert_eq!(
        match_observations("[a:b = 1]", "not json", StixVersion::V20).result,
        OutcomeKind::MatcherError
    );
    assert_eq!(
        match_observations("[a:b = 1] WITHIN 0 SECONDS", obs20, StixVersion::V20).result,
        OutcomeKind::MatcherError
    );
}

#[test]
fn compiled_pattern_is_reusable() {
    let m = CompiledPattern::compile(
        "[url:value MATCHES '^https?://evil\\\\.example/']",
        StixVersion::V20,
    )
    .unwrap();
    for (url, expect) in [
        ("http://evil.example/x", true),
        ("https://good.example/", false),
    ] {
        let obs: Vec<serde_json::Value> = vec![serde_json::json!({
            "type": "observed-data", "first_observed": "2020-01-01T00:00:00Z", "last_observed": "2020-01-01T00:00:00Z",
            "number_observed": 1, "objects": {"0": {"type": "url", "value": url}}})];
        assert_eq!(m.matches_json(&obs), Ok(expect), "{url}");
    }
}

#[test]
fn canonical_form_round_trips_edge_literals() {
    for text in [
        "[a:b = 123456789012345678901234567890.5]",
        "[a:b = -99999999999999999999]",
        "[a:b = 'it\\'s \\\\ here'] START 'x\\'y' STOP '2020-01-01T00:00:00Z'",
        "[a:'b c'.'d-e'[-1] = h''] OR ([a:b = b'AA=='] AND [a:c < .5])",
    ] {
        let p = parse(text).expect(text);
        assert_eq!(
            parse(&p.to_string()).expect("canonical form parses"),
            p,
            "{text} -> {p}"
        );
    }
}
