//! Prefilter literals for screening: values of which at least one must be present
//! in any observation the pattern matches.
//!
//! A screening engine feeds these values to a multi-pattern matcher (Aho-Corasick)
//! over incoming data; only data containing one of them is handed to the full
//! matcher ([`crate::CompiledPattern`]), which decides.

use crate::ast::*;

/// A value that a matching observation must contain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrefilterLiteral {
    /// The object type of the comparison (`ipv4-addr`, `file`, …).
    pub object_type: String,
    /// The object path after the type, as written canonically (`value`, `hashes.'SHA-256'`).
    /// With a `*_ref(s)` step the value sits on the referenced object.
    pub path: String,
    /// The string the property must equal (exactly, case-sensitively).
    pub value: String,
}

fn path_text(p: &ObjectPath) -> String {
    let full = p.to_string();
    full.split_once(':')
        .map(|(_, rest)| rest.to_string())
        .unwrap_or(full)
}

fn reducible_path(p: &ObjectPath) -> bool {
    // Hex/base64 properties are compared after decoding: their text differs.
    !p.steps
        .iter()
        .any(|s| matches!(s, PathStep::Key(k) if k.ends_with("_hex") || k.ends_with("_bin")))
}

fn test_literals(t: &PropTest) -> Option<Vec<PrefilterLiteral>> {
    if !reducible_path(&t.path) {
        return None;
    }
    let positive_eq = matches!((t.op, t.negated), (CompOp::Eq, false) | (CompOp::Ne, true));
    let values: Vec<&String> = match (&t.operand, positive_eq, t.op, t.negated) {
        (Operand::Literal(Literal::Str(s)), true, _, _) => vec![s],
        (Operand::Set(items), _, CompOp::In, false) => {
            let mut v = Vec::with_capacity(items.len());
            for l in items {
                match l {
                    Literal::Str(s) => v.push(s),
                    // Numbers, timestamps and binary compare by value, not by text.
                    _ => return None,
                }
            }
            v
        }
        _ => return None,
    };
    let path = path_text(&t.path);
    Some(
        values
            .into_iter()
            .map(|v| PrefilterLiteral {
                object_type: t.path.object_type.clone(),
                path: path.clone(),
                value: v.clone(),
            })
            .collect(),
    )
}

/// For AND-like nodes: any operand's literals will do; take the smallest set.
fn best_of(
    sets: impl Iterator<Item = Option<Vec<PrefilterLiteral>>>,
) -> Option<Vec<PrefilterLiteral>> {
    sets.flatten().min_by_key(Vec::len)
}

/// For OR-like nodes: every operand must be reducible; take the union.
fn union_of(
    sets: impl Iterator<Item = Option<Vec<PrefilterLiteral>>>,
) -> Option<Vec<PrefilterLiteral>> {
    let mut out: Vec<PrefilterLiteral> = Vec::new();
    for s in sets {
        for l in s? {
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    Some(out)
}

fn cmp_literals(c: &ComparisonExpr) -> Option<Vec<PrefilterLiteral>> {
    match c {
        ComparisonExpr::Test(t) => test_literals(t),
        ComparisonExpr::And(items) => best_of(items.iter().map(cmp_literals)),
        ComparisonExpr::Or(items) => union_of(items.iter().map(cmp_literals)),
    }
}

fn obs_literals(e: &ObservationExpr) -> Option<Vec<PrefilterLiteral>> {
    match e {
        ObservationExpr::Comparison(c) => cmp_literals(c),
        ObservationExpr::Group(inner) => obs_literals(inner),
        // Every qualifier requires its expression to match at least once.
        ObservationExpr::Qualified(inner, _) => obs_literals(inner),
        ObservationExpr::And(items) | ObservationExpr::FollowedBy(items) => {
            best_of(items.iter().map(obs_literals))
        }
        ObservationExpr::Or(items) => union_of(items.iter().map(obs_literals)),
    }
}

/// The literal values of which at least one must be present for `pattern` to match,
/// or `None` when the pattern cannot be reduced to that (a branch of an OR that has
/// no positive string equality: `!=`, `NOT`, `LIKE`, `MATCHES`, order comparisons,
/// numbers, timestamps, binary values, `*_hex`/`*_bin` properties…).
///
/// Rules: `path = 'v'`, `path NOT != 'v'` and `path IN ('a', 'b')` give their values;
/// `AND` and `FOLLOWEDBY` (in brackets or between observations) take the smallest
/// set among their reducible operands; `OR` takes the union and needs every operand
/// reducible; qualifiers keep their expression's set. An empty list means the pattern
/// can never match (`IN ()`).
///
/// The equality is exact and case-sensitive on the property's string value: a
/// screening engine may search case-insensitively (a superset), never more strictly.
/// Search for the decoded string value: in raw JSON text, characters such as `\` or
/// `"` appear escaped.
///
/// ```
/// use liaison_pattern::{parse, prefilter_literals};
/// let p = parse("[ipv4-addr:value = '198.51.100.7'] OR [file:hashes.'SHA-256' = 'aa' AND file:size > 10]").unwrap();
/// let lits = prefilter_literals(&p).unwrap();
/// assert_eq!(lits.len(), 2);
/// assert_eq!(lits[0].object_type, "ipv4-addr");
/// assert_eq!(lits[0].path, "value");
/// assert_eq!(lits[0].value, "198.51.100.7");
/// assert_eq!(lits[1].path, "hashes.'SHA-256'");
///
/// let p = parse("[ipv4-addr:value = '198.51.100.7'] OR [file:name != 'a.exe']").unwrap();
/// assert!(prefilter_literals(&p).is_none());
/// ```
pub fn prefilter_literals(pattern: &Pattern) -> Option<Vec<PrefilterLiteral>> {
    obs_literals(&pattern.root)
}
