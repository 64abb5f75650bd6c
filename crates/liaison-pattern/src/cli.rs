//! Entry points for the `liaison pattern …` subcommands (the binary wires them).
//!
//! Each returns an [`Outcome`], which serializes to
//! `{"result": "match" | "no_match" | "parse_error" | "matcher_error" | "valid" | "invalid", "message": …}`.
//!
//! ```
//! use liaison_pattern::cli::{check, OutcomeKind};
//! assert_eq!(check("[file:name = 'a']").result, OutcomeKind::Valid);
//! let o = check("[file:name = 'a'");
//! assert_eq!(o.result, OutcomeKind::ParseError);
//! assert_eq!(
//!     serde_json::to_string(&o).unwrap(),
//!     r#"{"result":"parse_error","message":"1:17: expected ']' to close the observation expression, or AND / OR, found end of input"}"#
//! );
//! ```

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::{CompiledPattern, StixVersion};

/// The verdict of a CLI call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// The pattern matched the observations.
    Match,
    /// The pattern did not match.
    NoMatch,
    /// The pattern does not parse.
    ParseError,
    /// The pattern could not be compiled for matching, or the observations are unusable.
    MatcherError,
    /// The pattern is valid.
    Valid,
    /// The pattern parses but fails semantic validation.
    Invalid,
}

impl OutcomeKind {
    /// The serialized name (`"no_match"` …).
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Match => "match",
            OutcomeKind::NoMatch => "no_match",
            OutcomeKind::ParseError => "parse_error",
            OutcomeKind::MatcherError => "matcher_error",
            OutcomeKind::Valid => "valid",
            OutcomeKind::Invalid => "invalid",
        }
    }
}

/// Result of [`check`] or [`match_observations`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The verdict.
    pub result: OutcomeKind,
    /// Details: the error, the validation problems, or warnings; `null` when none.
    pub message: Option<String>,
}

impl Outcome {
    fn new(result: OutcomeKind, message: Option<String>) -> Self {
        Outcome { result, message }
    }

    /// A conventional process exit code: 0 for `match`/`valid`, 1 for
    /// `no_match`/`invalid`, 2 for errors.
    pub fn exit_code(&self) -> i32 {
        match self.result {
            OutcomeKind::Match | OutcomeKind::Valid => 0,
            OutcomeKind::NoMatch | OutcomeKind::Invalid => 1,
            OutcomeKind::ParseError | OutcomeKind::MatcherError => 2,
        }
    }
}

impl fmt::Display for Outcome {
    /// Human-readable form: `no_match`, or `parse_error: 1:5: expected …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{}: {m}", self.result.as_str()),
            None => f.write_str(self.result.as_str()),
        }
    }
}

/// Checks a pattern (STIX 2.1 rules): `valid`, `invalid` (with the problems) or
/// `parse_error` (with line:column and what was expected).
pub fn check(pattern: &str) -> Outcome {
    check_version(pattern, StixVersion::V21)
}

/// [`check`] for a given STIX version.
pub fn check_version(pattern: &str, version: StixVersion) -> Outcome {
    match crate::validate_str(pattern, version) {
        Err(e) => Outcome::new(OutcomeKind::ParseError, Some(e.to_string())),
        Ok(r) if !r.is_valid() => {
            let msgs: Vec<String> = r.errors.iter().map(|e| e.message.clone()).collect();
            Outcome::new(OutcomeKind::Invalid, Some(msgs.join("; ")))
        }
        Ok(r) => {
            let msg = if r.warnings.is_empty() {
                None
            } else {
                let w: Vec<String> = r
                    .warnings
                    .iter()
                    .map(|e| format!("warning: {}", e.message))
                    .collect();
                Some(w.join("; "))
            };
            Outcome::new(OutcomeKind::Valid, msg)
        }
    }
}

/// Matches a pattern against observations given as JSON text: a list of
/// observed-data objects (STIX 2.0) or a list of bundles (STIX 2.1). A single
/// object is treated as a list of one.
pub fn match_observations(
    pattern: &str,
    observations_json: &str,
    stix_version: StixVersion,
) -> Outcome {
    let parsed = match crate::parse(pattern) {
        Ok(p) => p,
        Err(e) => return Outcome::new(OutcomeKind::ParseError, Some(e.to_string())),
    };
    let compiled = match CompiledPattern::new(parsed, stix_version) {
        Ok(c) => c,
        Err(e) => return Outcome::new(OutcomeKind::MatcherError, Some(e.to_string())),
    };
    let json: Value = match serde_json::from_str(observations_json) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::new(
                OutcomeKind::MatcherError,
                Some(format!("observations are not valid JSON: {e}")),
            )
        }
    };
    let items = match json {
        Value::Array(items) => items,
        other => vec![other],
    };
    match compiled.matches_json(&items) {
        Ok(true) => Outcome::new(OutcomeKind::Match, None),
        Ok(false) => Outcome::new(OutcomeKind::NoMatch, None),
        Err(e) => Outcome::new(OutcomeKind::MatcherError, Some(e.to_string())),
    }
}
