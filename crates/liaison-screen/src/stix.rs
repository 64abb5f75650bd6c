//! The [`PatternCompiler`] built on `liaison-pattern`: its parser (errors with
//! positions), its prefilter literals and its matcher.
//!
//! * A pattern that is an `OR` of positive string equalities (`=`, `IN`, in
//!   brackets or between them, no qualifiers) becomes literals for the
//!   automaton — `prefilter_literals` then gives exactly the values that match.
//! * Otherwise, when the pattern is in the simple comparison subset that
//!   [`SimpleCompiler`] evaluates natively (`LIKE`, `MATCHES`, `ISSUBSET`, `!=`
//!   on one observation), that fast evaluator is used;
//! * anything else is evaluated by `liaison_pattern::CompiledPattern` on a
//!   one-object STIX 2.0 observed-data built from each extracted observable.

use crate::indicator::{
    normalize_path, Compiled, Literal, Observable, ObservableMatcher, PatternCompiler,
    SimpleCompiler,
};
use liaison_pattern::{
    parse, prefilter_literals, CompOp, ComparisonExpr, CompiledPattern, ObservationExpr, Operand,
    Pattern, StixVersion,
};
use serde_json::{json, Map, Value};

/// See the module docs. The default compiler of [`crate::EngineBuilder`].
#[derive(Debug, Default, Clone, Copy)]
pub struct StixCompiler;

impl PatternCompiler for StixCompiler {
    fn compile(&self, pattern: &str) -> Result<Compiled, String> {
        if let Some(lits) = plain_literals(pattern) {
            return Ok(Compiled::Literals(lits));
        }
        compile_parsed(pattern)
    }
}

/// The object types and paths of [`plain_literals`], as written and as
/// normalised.
const PLAIN_PATHS: &[(&str, &str, &str)] = &[
    ("domain-name:value", "domain-name", "value"),
    ("ipv4-addr:value", "ipv4-addr", "value"),
    ("ipv6-addr:value", "ipv6-addr", "value"),
    ("url:value", "url", "value"),
    ("email-addr:value", "email-addr", "value"),
    ("file:hashes.'MD5'", "file", "hashes.MD5"),
    ("file:hashes.'SHA-1'", "file", "hashes.SHA1"),
    ("file:hashes.'SHA-256'", "file", "hashes.SHA256"),
    ("file:hashes.'SHA-512'", "file", "hashes.SHA512"),
];

/// The literals of a pattern written in the plain form that feeds and
/// generators use, `[domain-name:value = 'x']` (or several such joined by
/// ` OR `): the same literals as parsing it gives, without the parser, which
/// cost some 13,000 instructions a pattern (a tenth of a screen's CPU time
/// on a small input with 10,000 indicators). `None` for anything else (other
/// paths or spacing, a quote or backslash in the value), which is parsed.
fn plain_literals(pattern: &str) -> Option<Vec<Literal>> {
    let body = pattern.strip_prefix('[')?.strip_suffix(']')?;
    let mut out: Vec<Literal> = Vec::new();
    for part in body.split("] OR [") {
        let (lhs, quoted) = part.split_once(" = '")?;
        let value = quoted.strip_suffix('\'')?;
        if value.contains(['\'', '\\']) {
            return None;
        }
        let &(_, object_type, path) = PLAIN_PATHS.iter().find(|(w, _, _)| *w == lhs)?;
        let lit = Literal {
            object_type: object_type.to_string(),
            path: path.to_string(),
            value: value.to_string(),
        };
        // An OR of the same value twice gives it once, as the parser's
        // literals do.
        if !out.contains(&lit) {
            out.push(lit);
        }
    }
    Some(out)
}

/// [`StixCompiler::compile`] through the parser.
fn compile_parsed(pattern: &str) -> Result<Compiled, String> {
    let p = parse(pattern).map_err(|e| e.to_string())?;
    if exact_obs(&p.root) {
        if let Some(lits) = prefilter_literals(&p) {
            return Ok(Compiled::Literals(
                lits.into_iter()
                    .map(|l| Literal {
                        path: normalize_path(&l.object_type, &l.path),
                        object_type: l.object_type,
                        value: l.value,
                    })
                    .collect(),
            ));
        }
    }
    if let Ok(c @ Compiled::Matcher(_)) = SimpleCompiler.compile(pattern) {
        return Ok(c);
    }
    let mut types = Vec::new();
    obs_types(&p.root, &mut types);
    let m = CompiledPattern::new(p, StixVersion::V20).map_err(|e| e.to_string())?;
    Ok(Compiled::Matcher(Box::new(FullMatcher { m, types })))
}

/// Is the pattern an OR of positive string equalities?
fn exact_obs(e: &ObservationExpr) -> bool {
    match e {
        ObservationExpr::Comparison(c) => exact_cmp(c),
        ObservationExpr::Group(inner) => exact_obs(inner),
        ObservationExpr::Or(v) => v.iter().all(exact_obs),
        _ => false,
    }
}

fn exact_cmp(c: &ComparisonExpr) -> bool {
    match c {
        ComparisonExpr::Or(v) => v.iter().all(exact_cmp),
        ComparisonExpr::And(_) => false,
        ComparisonExpr::Test(t) => {
            let positive = matches!(
                (t.op, t.negated),
                (CompOp::Eq, false) | (CompOp::Ne, true) | (CompOp::In, false)
            );
            let strings = match &t.operand {
                Operand::Literal(liaison_pattern::Literal::Str(_)) => true,
                Operand::Set(v) => v
                    .iter()
                    .all(|l| matches!(l, liaison_pattern::Literal::Str(_))),
                _ => false,
            };
            positive && strings
        }
    }
}

fn obs_types(e: &ObservationExpr, out: &mut Vec<String>) {
    match e {
        ObservationExpr::Comparison(c) => cmp_types(c, out),
        ObservationExpr::Group(i) | ObservationExpr::Qualified(i, _) => obs_types(i, out),
        ObservationExpr::And(v) | ObservationExpr::Or(v) | ObservationExpr::FollowedBy(v) => {
            v.iter().for_each(|x| obs_types(x, out))
        }
    }
}

fn cmp_types(c: &ComparisonExpr, out: &mut Vec<String>) {
    match c {
        ComparisonExpr::And(v) | ComparisonExpr::Or(v) => v.iter().for_each(|x| cmp_types(x, out)),
        ComparisonExpr::Test(t) => {
            if !out.contains(&t.path.object_type) {
                out.push(t.path.object_type.clone());
            }
        }
    }
}

struct FullMatcher {
    m: CompiledPattern,
    types: Vec<String>,
}

impl std::fmt::Debug for FullMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FullMatcher")
            .field("types", &self.types)
            .finish()
    }
}

/// A one-object STIX 2.0 observed-data for an observable.
fn observed(obs: &Observable<'_>) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), Value::from(obs.object_type));
    if let Some(alg) = obs.path.strip_prefix("hashes.") {
        // Every usual spelling of the algorithm's key.
        let keys: &[&str] = match alg {
            "MD5" => &["MD5"],
            "SHA1" => &["SHA-1", "SHA1"],
            "SHA256" => &["SHA-256", "SHA256"],
            "SHA512" => &["SHA-512", "SHA512"],
            _ => &[],
        };
        let h: Map<String, Value> = keys
            .iter()
            .map(|k| (k.to_string(), Value::from(obs.value)))
            .collect();
        o.insert("hashes".into(), Value::Object(h));
    } else if obs.path == "number" {
        o.insert(
            "number".into(),
            obs.value.parse::<u64>().map_or(Value::Null, Value::from),
        );
    } else {
        o.insert(obs.path.to_string(), Value::from(obs.value));
    }
    json!({
        "type": "observed-data",
        "first_observed": "1970-01-01T00:00:00Z",
        "last_observed": "1970-01-01T00:00:00Z",
        "number_observed": 1,
        "objects": {"0": o}
    })
}

impl ObservableMatcher for FullMatcher {
    fn object_types(&self) -> Vec<String> {
        self.types.clone()
    }

    fn matches(&self, obs: &Observable<'_>) -> bool {
        self.m.matches_json(&[observed(obs)]).unwrap_or(false)
    }
}

/// Parse a pattern (for callers that want the tree).
pub fn parse_pattern(pattern: &str) -> Result<Pattern, String> {
    parse(pattern).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs<'a>(t: &'a str, p: &'a str, v: &'a str) -> Observable<'a> {
        Observable {
            object_type: t,
            path: p,
            value: v,
        }
    }

    #[test]
    fn literals_from_prefilter() {
        let Compiled::Literals(l) = StixCompiler
            .compile("[domain-name:value = 'a.com' OR domain-name:value IN ('b.com', 'c.com')] OR [file:hashes.'SHA-256' = 'ab']")
            .unwrap()
        else {
            panic!("not literal")
        };
        let v: Vec<_> = l
            .iter()
            .map(|l| (l.path.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            v,
            [
                ("value", "a.com"),
                ("value", "b.com"),
                ("value", "c.com"),
                ("hashes.SHA256", "ab")
            ]
        );
    }

    #[test]
    fn and_is_not_literal() {
        // A prefilter literal exists, but the pattern is not just that equality.
        let c = StixCompiler
            .compile("[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value != '5.6.7.8']")
            .unwrap();
        assert!(matches!(c, Compiled::Matcher(_)));
    }

    #[test]
    fn full_matcher_for_the_rest() {
        let Compiled::Matcher(m) = StixCompiler
            .compile("[ipv4-addr:value ISSUBSET '198.51.100.0/24'] WITHIN 300 SECONDS")
            .unwrap()
        else {
            panic!()
        };
        assert!(m.matches(&obs("ipv4-addr", "value", "198.51.100.9")));
        assert!(!m.matches(&obs("ipv4-addr", "value", "198.51.101.9")));
        let Compiled::Matcher(m) = StixCompiler
            .compile(
                "[file:hashes.'SHA-256' = 'aa' AND file:hashes.'SHA-256' != 'bb'] REPEATS 1 TIMES",
            )
            .unwrap()
        else {
            panic!()
        };
        assert!(m.matches(&obs("file", "hashes.SHA256", "aa")));
        assert_eq!(m.object_types(), ["file"]);
    }

    fn parsed_literals(pattern: &str) -> Option<Vec<Literal>> {
        match compile_parsed(pattern) {
            Ok(Compiled::Literals(l)) => Some(l),
            _ => None,
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

        /// Patterns in the plain form (and near it: other spacing, paths,
        /// quotes or backslashes or `] OR [` in the value) give what the
        /// parser gives whenever the shortcut takes them; and it takes the
        /// plain ones.
        #[test]
        fn plain_literals_as_parsed(
            parts in proptest::collection::vec((
                "domain-name:value|ipv4-addr:value|ipv6-addr:value|url:value|email-addr:value|file:hashes\\.'(MD5|SHA-1|SHA-256|SHA-512)'|file:hashes\\.MD5|file:name|x-foo:value|domain-name:value_hex",
                " = '| = '| == '|= '| IN \\('",
                "[a-z0-9.:/ ]{0,12}|[\\]\\['\\\\a-zé中 ]{0,6}|(\\] OR \\[)|a\\] OR \\[url:value = 'b",
            ), 1..4),
            dup in proptest::bool::ANY,
        ) {
            let mut items: Vec<String> = parts
                .iter()
                .map(|(lhs, op, v)| format!("{lhs}{op}{v}'"))
                .collect();
            if dup {
                items.push(items[0].clone());
            }
            let pattern = format!("[{}]", items.join("] OR ["));
            let plain = parts.iter().all(|(lhs, op, v)| {
                PLAIN_PATHS.iter().any(|(w, _, _)| w == lhs)
                    && op == " = '"
                    && !v.contains(['\'', '\\', ']', '['])
            });
            match plain_literals(&pattern) {
                Some(l) => proptest::prop_assert_eq!(Some(l), parsed_literals(&pattern), "{}", pattern),
                None => proptest::prop_assert!(!plain, "plain pattern not taken: {}", pattern),
            }
        }
    }

    #[test]
    fn errors_have_positions() {
        let e = StixCompiler.compile("[file:name = 'x' AND]").unwrap_err();
        assert!(e.starts_with("1:21:"), "{e}");
    }
}
