//! Error types of the crate.

use std::fmt;

/// A syntax error: where it happened and what the parser expected there.
///
/// `line` and `column` are 1-based; the column counts Unicode scalar values
/// (characters), not bytes.
///
/// ```
/// let err = liaison_pattern::parse("[file:name = 'a' AND]").unwrap_err();
/// assert_eq!(err.line, 1);
/// assert_eq!(err.column, 21);
/// assert_eq!(err.to_string(), "1:21: expected an object path, found ']'");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: expected {expected}, found {found}")]
pub struct ParseError {
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column (in characters) of the offending token.
    pub column: usize,
    /// What the grammar allows at this position.
    pub expected: String,
    /// What was found there (a token rendering, or `end of input`).
    pub found: String,
}

/// A semantic problem found by [`crate::validate`] in a pattern that parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationIssue {
    /// Machine-readable kind of the issue.
    pub kind: IssueKind,
    /// Human-readable description.
    pub message: String,
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kinds of semantic issues the validator reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssueKind {
    /// A hash value does not have the format of its algorithm.
    InvalidHash,
    /// The same qualifier kind is applied twice to one observation expression.
    DuplicateQualifier,
    /// A qualifier value is out of range (`WITHIN 0`, `REPEATS 0`, START not before STOP).
    InvalidQualifier,
    /// A timestamp (START/STOP plain string or `t'…'`) is not a real instant.
    InvalidTimestamp,
    /// The pattern does not begin with `[` (after optional `(`), as the reference requires.
    MissingBrackets,
    /// A set literal mixes types the matcher cannot compare (e.g. `(1, true)`).
    NonHomogeneousSet,
    /// A `MATCHES` regular expression does not compile.
    InvalidRegex,
    /// The object type is a STIX 2.1 domain object type (patterns match cyber-observables only).
    NotObservableType,
}

/// Error raised by the matcher, either while compiling a pattern for matching or
/// while matching observations (the reference matcher's `MatcherException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MatchError {
    /// Description, close to the reference matcher's wording where there is one.
    pub message: String,
}

impl MatchError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        MatchError {
            message: message.into(),
        }
    }
}

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pattern does not parse.
    #[error("parse error: {0}")]
    Parse(#[from] ParseError),
    /// The pattern could not be compiled or matched.
    #[error("matcher error: {0}")]
    Match(#[from] MatchError),
}
