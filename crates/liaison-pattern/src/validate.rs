//! Semantic checks on a parsed pattern, after the reference validator
//! (`stix2-patterns`): hash formats, duplicate qualifiers, the leading bracket —
//! plus the qualifier and literal rules the reference matcher enforces at match time.

use crate::ast::*;
use crate::error::{IssueKind, ValidationIssue};
use crate::StixVersion;

/// The result of validation: errors make a pattern invalid; warnings do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Problems that make the pattern invalid.
    pub errors: Vec<ValidationIssue>,
    /// Advisory findings (deprecated forms, SDO object types in 2.1 …).
    pub warnings: Vec<ValidationIssue>,
}

impl Report {
    /// True when there are no errors.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

fn issue(kind: IssueKind, message: impl Into<String>) -> ValidationIssue {
    ValidationIssue {
        kind,
        message: message.into(),
    }
}

/// Hash algorithm name (upper-cased, `-` and `'` removed) → check.
fn hash_ok(algo: &str, value: &str) -> Option<bool> {
    let hex_len =
        |n: &[usize]| value.bytes().all(|c| c.is_ascii_hexdigit()) && n.contains(&value.len());
    Some(match algo {
        "MD5" => hex_len(&[32]),
        "MD6" => hex_len(&[32, 40, 56, 64, 96, 128]),
        "RIPEMD160" | "SHA1" => hex_len(&[40]),
        "SHA224" | "SHA3224" => hex_len(&[56]),
        "SHA256" | "SHA3256" => hex_len(&[64]),
        "SHA384" | "SHA3384" => hex_len(&[96]),
        "SHA512" | "SHA3512" | "WHIRLPOOL" => hex_len(&[128]),
        "SSDEEP" => {
            !value.is_empty()
                && value.len() <= 128
                && value
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"/+:.".contains(&c))
        }
        _ => return None,
    })
}

fn check_hashes(t: &PropTest, out: &mut Vec<ValidationIssue>) {
    let Some(PathStep::Key(selector)) = t.path.steps.last() else {
        return;
    };
    let under_hashes = t.path.steps[..t.path.steps.len() - 1]
        .iter()
        .any(|s| matches!(s, PathStep::Key(k) if k == "hashes"));
    if !under_hashes {
        return;
    }
    let algo: String = selector
        .to_uppercase()
        .chars()
        .filter(|c| *c != '-' && *c != '\'')
        .collect();
    let literals: Vec<&Literal> = match (&t.op, &t.operand) {
        (CompOp::Eq | CompOp::Ne, Operand::Literal(l)) => vec![l],
        (CompOp::In, Operand::Set(items)) => items.iter().collect(),
        _ => return,
    };
    for l in literals {
        let (text, ok) = match l {
            Literal::Str(s) => (s.clone(), hash_ok(&algo, s)),
            other => (other.to_string(), hash_ok(&algo, "").map(|_| false)),
        };
        if ok == Some(false) {
            out.push(issue(
                IssueKind::InvalidHash,
                format!("'{text}' is not a valid {selector} hash"),
            ));
        }
    }
}

/// A `t'…'` literal whose shape the grammar accepts but which is no real instant
/// (`t'2024-02-30T12:00:00Z'`): the reference validator accepts it, the reference
/// matcher fails on it. A warning here; the matcher reports an error.
fn check_literal(l: &Literal, warnings: &mut Vec<ValidationIssue>) {
    if let Literal::Timestamp(t) = l {
        if let Err(e) = crate::timestamp::parse_timestamp_micros(t) {
            warnings.push(issue(
                IssueKind::InvalidTimestamp,
                format!("t'{t}' is not a valid timestamp: {e}"),
            ));
        }
    }
}

fn walk_cmp(c: &ComparisonExpr, version: StixVersion, report: &mut Report) {
    // Comparison trees are at most MAX_DEPTH deep (bounded by the parser).
    match c {
        ComparisonExpr::And(items) | ComparisonExpr::Or(items) => {
            for i in items {
                walk_cmp(i, version, report);
            }
        }
        ComparisonExpr::Test(t) => {
            check_hashes(t, &mut report.errors);
            match &t.operand {
                Operand::Literal(l) => check_literal(l, &mut report.warnings),
                Operand::Set(items) => {
                    for l in items {
                        check_literal(l, &mut report.warnings);
                    }
                    if let Err(e) = crate::matcher::check_set(items) {
                        report
                            .errors
                            .push(issue(IssueKind::NonHomogeneousSet, e.message));
                    }
                }
                Operand::None => {}
            }
            if t.op == CompOp::Matches {
                if let Operand::Literal(Literal::Str(re)) = &t.operand {
                    if let Err(e) = regex::Regex::new(re) {
                        report.errors.push(issue(
                            IssueKind::InvalidRegex,
                            format!("invalid MATCHES expression '{re}': {e}"),
                        ));
                    }
                }
            }
            if version == StixVersion::V21
                && crate::matcher::SDO_TYPES_V21.contains(&t.path.object_type.as_str())
            {
                report.warnings.push(issue(
                    IssueKind::NotObservableType,
                    format!(
                        "'{}' is a STIX 2.1 domain object type; patterns match cyber-observable objects",
                        t.path.object_type
                    ),
                ));
            }
        }
    }
}

fn check_qualifier(q: &Qualifier, report: &mut Report) {
    match q {
        Qualifier::Within { seconds, text } => {
            if seconds.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                report.errors.push(issue(
                    IssueKind::InvalidQualifier,
                    format!("WITHIN {text} SECONDS: the duration must be positive"),
                ));
            }
        }
        Qualifier::Repeats(n) => {
            if *n == 0 {
                report.errors.push(issue(
                    IssueKind::InvalidQualifier,
                    "REPEATS 0 TIMES: the count must be at least 1",
                ));
            }
        }
        Qualifier::StartStop { start, stop } => {
            let mut times = [None, None];
            for (i, b) in [start, stop].into_iter().enumerate() {
                if b.plain_string {
                    report.warnings.push(issue(
                        IssueKind::InvalidTimestamp,
                        format!("START/STOP with a plain string '{}' is the early STIX 2.0 form; use t'…'", b.text),
                    ));
                }
                match crate::timestamp::parse_timestamp_micros(&b.text) {
                    Ok(t) => times[i] = Some(t),
                    Err(e) => report.errors.push(issue(
                        IssueKind::InvalidTimestamp,
                        format!("'{}' is not a valid timestamp: {e}", b.text),
                    )),
                }
            }
            if let [Some(a), Some(b)] = times {
                if a >= b {
                    report.warnings.push(issue(
                        IssueKind::InvalidQualifier,
                        format!(
                            "START {} is not before STOP {}: nothing can match",
                            start.text, stop.text
                        ),
                    ));
                }
            }
        }
    }
}

fn qual_kind(q: &Qualifier) -> &'static str {
    match q {
        Qualifier::Within { .. } => "WITHIN",
        Qualifier::Repeats(_) => "REPEATS",
        Qualifier::StartStop { .. } => "STARTSTOP",
    }
}

fn walk_obs(e: &ObservationExpr, version: StixVersion, report: &mut Report) {
    // Observation trees are at most 2 × MAX_DEPTH deep (bounded by the parser).
    match e {
        ObservationExpr::Comparison(c) => walk_cmp(c, version, report),
        ObservationExpr::Group(inner) => walk_obs(inner, version, report),
        ObservationExpr::And(items)
        | ObservationExpr::Or(items)
        | ObservationExpr::FollowedBy(items) => {
            for i in items {
                walk_obs(i, version, report);
            }
        }
        ObservationExpr::Qualified(_, _) => {
            // Collect the chain of qualifiers applied directly to one expression.
            let mut chain = Vec::new();
            let mut base = e;
            while let ObservationExpr::Qualified(inner, q) = base {
                chain.push(q);
                base = inner;
            }
            chain.reverse();
            for q in &chain {
                check_qualifier(q, report);
            }
            // The reference rejects a repeated qualifier kind on a bracketed expression
            // (not on a parenthesized group).
            if matches!(base, ObservationExpr::Comparison(_)) {
                let mut seen: Vec<&str> = Vec::new();
                for q in &chain {
                    let k = qual_kind(q);
                    if seen.contains(&k) {
                        report.errors.push(issue(
                            IssueKind::DuplicateQualifier,
                            format!("Duplicate qualifier type encountered: {k}"),
                        ));
                        break;
                    }
                    seen.push(k);
                }
            }
            walk_obs(base, version, report);
        }
    }
}

/// Validates a parsed pattern.
pub fn validate(pattern: &Pattern, version: StixVersion) -> Report {
    let mut report = Report::default();
    walk_obs(&pattern.root, version, &mut report);
    report
}

/// Parses and validates pattern text, including the reference's check that the
/// pattern opens with `[` (after optional `(` and whitespace).
///
/// ```
/// use liaison_pattern::{validate_str, StixVersion};
/// let r = validate_str("[file:hashes.'SHA-256' = 'f00']", StixVersion::V21).unwrap();
/// assert!(!r.is_valid());
/// assert_eq!(r.errors[0].message, "'f00' is not a valid SHA-256 hash");
/// ```
pub fn validate_str(pattern: &str, version: StixVersion) -> Result<Report, crate::ParseError> {
    let p = crate::parse(pattern)?;
    let mut report = validate(&p, version);
    let first = pattern.chars().find(|c| *c != '(' && !c.is_whitespace());
    if first != Some('[') {
        report.errors.insert(
            0,
            issue(
                IssueKind::MissingBrackets,
                "input is missing square brackets",
            ),
        );
    }
    Ok(report)
}
