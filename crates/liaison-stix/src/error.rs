//! Errors of the STIX layer: each names the JSON path where it arose.

use std::fmt;

/// What went wrong, without the location.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not JSON, or not the JSON shape expected (e.g. not an object).
    Json,
    /// A property is missing.
    Missing,
    /// A property has the wrong JSON type or an invalid value.
    Invalid,
    /// An object of an unknown type where only known types are allowed.
    UnknownType,
}

/// An error with the JSON path (`$.objects[3].created`) and a message saying what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    path: String,
    message: String,
}

impl Error {
    /// Build an error at `path`.
    pub fn new(kind: ErrorKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        Error { kind, path: path.into(), message: message.into() }
    }
    /// The kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
    /// JSON path of the offending value, `$` for the root.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// What was wrong and what was expected.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The same error, relocated under a parent path (e.g. `$.objects[3]`).
    pub fn under(mut self, parent: &str) -> Self {
        self.path = match self.path.strip_prefix('$') {
            Some(rest) => format!("{parent}{rest}"),
            None => format!("{parent}.{}", self.path),
        };
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for Error {}
