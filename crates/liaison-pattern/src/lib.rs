//! STIX 2.1 patterning (STIX 2.0 accepted): a parser with error positions, a
//! validator with the reference validator's semantic checks, a matcher with the
//! reference matcher's semantics, and prefilter literals for screening.
//!
//! - [`parse`] turns pattern text into a [`Pattern`] tree, or a [`ParseError`]
//!   naming `line:column` and what was expected there. Nesting is bounded by
//!   [`MAX_DEPTH`], so no input can overflow the stack.
//! - [`validate`] / [`validate_str`] apply semantic checks (hash formats,
//!   duplicate qualifiers, qualifier values, timestamps, regexes).
//! - [`CompiledPattern`] is built once and matched many times against
//!   [`Observations`] (STIX 2.0 observed-data, or STIX 2.1 bundles of
//!   observed-data and SCOs), honouring `WITHIN`, `REPEATS`, `START … STOP`,
//!   `FOLLOWEDBY` and `first_observed` / `last_observed` / `number_observed`.
//! - [`prefilter_literals`] reduces a pattern to values of which one must be
//!   present, for a multi-pattern prefilter.
//! - [`cli`] holds the entry points of `liaison pattern check|match`.
//!
//! ```
//! use liaison_pattern::{parse, prefilter_literals, CompiledPattern, StixVersion};
//!
//! let text = "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] \
//!             FOLLOWEDBY [ipv4-addr:value ISSUBSET '198.51.100.0/24'] WITHIN 300 SECONDS";
//! let pattern = parse(text).unwrap();
//! assert!(liaison_pattern::validate(&pattern, StixVersion::V21).is_valid());
//!
//! // Screening: one of these values must occur for the pattern to match.
//! let lits = prefilter_literals(&pattern).unwrap();
//! assert_eq!(lits[0].path, "hashes.'SHA-256'");
//!
//! // Matching STIX 2.0 observed-data.
//! let matcher = CompiledPattern::new(pattern, StixVersion::V20).unwrap();
//! let observations: Vec<serde_json::Value> = serde_json::from_str(r#"[
//!   {"type": "observed-data", "first_observed": "2024-01-01T00:00:00Z", "last_observed": "2024-01-01T00:00:00Z",
//!    "number_observed": 1, "objects": {"0": {"type": "file",
//!      "hashes": {"SHA-256": "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"}}}},
//!   {"type": "observed-data", "first_observed": "2024-01-01T00:01:00Z", "last_observed": "2024-01-01T00:01:00Z",
//!    "number_observed": 1, "objects": {"0": {"type": "ipv4-addr", "value": "198.51.100.7"}}}
//! ]"#).unwrap();
//! assert!(matcher.matches_json(&observations).unwrap());
//!
//! // Errors carry positions.
//! let err = parse("[file:name = 'x' AND]").unwrap_err();
//! assert_eq!(err.to_string(), "1:21: expected an object path, found ']'");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
pub mod cli;
mod error;
mod lexer;
mod matcher;
mod parser;
mod prefilter;
mod timestamp;
mod validate;
mod values;

use std::fmt;
use std::str::FromStr;

pub use ast::{
    CompOp, ComparisonExpr, Literal, ObjectPath, ObservationExpr, Operand, PathStep, Pattern,
    PropTest, Qualifier, TimeBound,
};
pub use error::{Error, IssueKind, MatchError, ParseError, ValidationIssue};
pub use matcher::{CompiledPattern, Observations, MAX_SEARCH_STEPS};
pub use parser::{parse, MAX_DEPTH};
pub use prefilter::{prefilter_literals, PrefilterLiteral};
pub use timestamp::parse_timestamp_micros;
pub use validate::{validate, validate_str, Report};

/// The STIX version of the observations (and of the validation rules).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum StixVersion {
    /// STIX 2.0: observed-data carry an `objects` dictionary.
    #[serde(rename = "2.0")]
    V20,
    /// STIX 2.1: observed-data reference SCOs through `object_refs`, in bundles.
    #[default]
    #[serde(rename = "2.1")]
    V21,
}

impl FromStr for StixVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "2.0" | "20" | "v2.0" => Ok(StixVersion::V20),
            "2.1" | "21" | "v2.1" => Ok(StixVersion::V21),
            other => Err(format!(
                "unknown STIX version '{other}' (expected 2.0 or 2.1)"
            )),
        }
    }
}

impl fmt::Display for StixVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StixVersion::V20 => "2.0",
            StixVersion::V21 => "2.1",
        })
    }
}
