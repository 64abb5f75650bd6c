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
    /// The input ended in the middle of a JSON value.
    Truncated,
    /// Reading the input failed.
    Io,
}

/// Where in a byte stream an error arose: byte offset (0-based) and line:column (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Position {
    /// Byte offset from the start of the input.
    pub offset: u64,
    /// Line number, 1-based.
    pub line: u64,
    /// Column in bytes, 1-based.
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} column {} (byte {})",
            self.line, self.column, self.offset
        )
    }
}

/// An error with the JSON path (`$.objects[3].created`) and a message saying what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    path: String,
    message: String,
    position: Option<Position>,
}

impl Error {
    /// Build an error at `path`.
    pub fn new(kind: ErrorKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind,
            path: path.into(),
            message: message.into(),
            position: None,
        }
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
    /// Where in the input stream the error arose, when read from a stream.
    pub fn position(&self) -> Option<Position> {
        self.position
    }
    /// The same error, with its position in the input stream.
    pub fn at(mut self, position: Position) -> Self {
        self.position = Some(position);
        self
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
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some(p) = &self.position {
            write!(f, " (at {p})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
