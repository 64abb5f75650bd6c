//! The one error type of the collect stage: what went wrong and where.

use std::fmt;

/// What kind of fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A feed definition is wrong.
    Config,
    /// The content is not what the format requires (bad XML, CSV, JSON).
    Syntax,
    /// The bytes are not valid in the feed's encoding.
    Encoding,
    /// The content or one item is larger than allowed.
    TooLarge,
    /// The source answered with an error status.
    Http(u16),
}

/// A collect error: kind, where (`line 12`, `$.objects[3]`, a field) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    at: String,
    message: String,
}

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, at: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind,
            at: at.into(),
            message: message.into(),
        }
    }

    pub(crate) fn config(field: &str, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, field, message)
    }

    pub(crate) fn syntax(at: impl Into<String>, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Syntax, at, message)
    }

    /// The kind.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Where in the input (line, JSON path, field).
    pub fn at(&self) -> &str {
        &self.at
    }

    /// What was wrong and what was expected.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

impl std::error::Error for Error {}
