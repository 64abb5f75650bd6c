//! The crate's error type: an opaque [`Error`] with a [`ErrorKind`] to match on.

use std::fmt;

/// What went wrong, as far as a caller needs to branch on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A watchlist line or CSV record could not be read (`source`, 1-based `line`).
    Watchlist {
        /// Where the watchlist came from (a file name, or `<memory>`).
        source: String,
        /// 1-based line number.
        line: usize,
        /// What was expected.
        reason: String,
    },
    /// A STIX bundle of indicators could not be read.
    Bundle(String),
    /// An indicator's pattern could not be compiled (unsupported or invalid).
    Pattern {
        /// The indicator id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The automaton could not be built (too large, …).
    Build(String),
}

/// An error of the screening engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
}

impl Error {
    /// Build an error of the given kind.
    pub fn new(kind: ErrorKind) -> Self {
        Error { kind }
    }

    /// The kind, to branch on.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub(crate) fn watchlist(source: &str, line: usize, reason: impl Into<String>) -> Self {
        Error::new(ErrorKind::Watchlist {
            source: source.to_string(),
            line,
            reason: reason.into(),
        })
    }

    pub(crate) fn pattern(id: &str, reason: impl Into<String>) -> Self {
        Error::new(ErrorKind::Pattern {
            id: id.to_string(),
            reason: reason.into(),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Watchlist {
                source,
                line,
                reason,
            } => write!(f, "{source}:{line}: {reason}"),
            ErrorKind::Bundle(r) => write!(f, "indicator bundle: {r}"),
            ErrorKind::Pattern { id, reason } => write!(f, "indicator {id}: {reason}"),
            ErrorKind::Build(r) => write!(f, "building the automaton: {r}"),
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
