//! [`BundleReader`]: STIX bundles read as a stream, one object at a time.
//!
//! The reader accepts three shapes of input:
//!
//! * a bundle, `{"type": "bundle", "id": …, "objects": [ … ]}`, with its keys in
//!   any order (`objects` may come before `type` and `id`);
//! * a bare JSON list of objects, `[ {…}, {…} ]`;
//! * a single object, `{"type": "indicator", …}`.
//!
//! It never holds more than one object in memory (plus a read buffer), so a
//! 1 GB bundle is read in memory bounded by its largest object. A small
//! hand-written scanner finds where each element of `objects` ends (tracking
//! strings, escapes and nesting only) and hands that slice to `serde_json`.
//!
//! Errors name the JSON path of the element (`$.objects[1234]`) and its
//! position in the input (byte offset, line and column). An element that is
//! well-nested but not valid JSON, or not a STIX object, yields an error and
//! the reader goes on with the next element; a truncated input yields every
//! complete object before it and then one [`ErrorKind::Truncated`] error.
//!
//! ```
//! use liaison_stix::bundle::BundleReader;
//! let text = r#"{"objects": [
//!     {"type": "ipv4-addr", "spec_version": "2.1",
//!      "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", "value": "198.51.100.3"},
//!     {"type": "domain-name", "spec_version": "2.1",
//!      "id": "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7", "value": "example.com"}
//!   ], "type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}"#;
//! let mut reader = BundleReader::new(text.as_bytes());
//! let first = reader.next().unwrap().unwrap();
//! assert_eq!(first.type_name(), "ipv4-addr");
//! let second = reader.next().unwrap().unwrap();
//! assert_eq!(second.str_prop("value"), Some("example.com"));
//! assert!(reader.next().is_none());
//! assert_eq!(reader.bundle_id(), Some("bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"));
//! ```

use crate::error::{Error, ErrorKind, Position};
use crate::object::{json_kind, StixObject};
use serde_json::{Map, Value};
use std::io::{self, Read};

/// Initial read-buffer size. The buffer grows only when one value is larger.
const CHUNK: usize = 256 * 1024;

/// Bytes that matter to the nesting scanner outside strings.
const STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t
};

/// What the input turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Nothing read yet.
    Unknown,
    /// A `bundle` object (its `objects` are streamed).
    Bundle,
    /// A bare JSON list of objects.
    List,
    /// One object (not a bundle).
    Single,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    /// Inside a list (`in_bundle`: the bundle's `objects`); `need`: what may come next.
    Array {
        in_bundle: bool,
        need: ArrayNeed,
    },
    /// Inside the top-level object.
    Object {
        need: ObjectNeed,
    },
    /// The top-level value is complete; only whitespace may follow.
    Trailing,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayNeed {
    /// After `[`: a value or `]`.
    FirstOrEnd,
    /// After a value: `,` or `]`.
    CommaOrEnd,
    /// After `,`: a value.
    Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectNeed {
    FirstOrEnd,
    CommaOrEnd,
    Key,
}

/// Reads STIX objects one at a time from a bundle, a list or a single object.
///
/// As an [`Iterator`] it yields `Result<StixObject, Error>`; [`BundleReader::next_value`]
/// yields the raw JSON values instead.
pub struct BundleReader<R> {
    src: R,
    buf: Vec<u8>,
    /// Cursor: the earliest byte still needed.
    pos: usize,
    /// End of the filled part of `buf`.
    end: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// Newlines in bytes already discarded.
    lines_before: u64,
    /// Absolute offset of the last discarded newline.
    last_nl: Option<u64>,
    state: State,
    shape: Shape,
    /// Index of the next element of the list.
    index: usize,
    /// Top-level properties other than a streamed `objects`.
    header: Map<String, Value>,
    objects_streamed: bool,
    max_buffer: usize,
}

impl<R: Read> BundleReader<R> {
    /// A reader over `src`. Wrap files in nothing: the reader buffers itself.
    pub fn new(src: R) -> Self {
        BundleReader {
            src,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
            lines_before: 0,
            last_nl: None,
            state: State::Start,
            shape: Shape::Unknown,
            index: 0,
            header: Map::new(),
            objects_streamed: false,
            max_buffer: 0,
        }
    }

    /// The shape of the input, once the first byte has been read.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The bundle's `id`, once read (it may come after `objects`).
    pub fn bundle_id(&self) -> Option<&str> {
        match self.shape {
            Shape::Bundle | Shape::Unknown => self.header.get("id").and_then(Value::as_str),
            _ => None,
        }
    }

    /// The bundle's own `spec_version` (STIX 2.0 bundles carry `"2.0"`), once read.
    pub fn bundle_spec_version(&self) -> Option<&str> {
        match self.shape {
            Shape::Bundle | Shape::Unknown => {
                self.header.get("spec_version").and_then(Value::as_str)
            }
            _ => None,
        }
    }

    /// The top-level properties read so far, `objects` excepted.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The largest the read buffer has grown, in bytes (the memory bound).
    pub fn max_buffer(&self) -> usize {
        self.max_buffer
    }

    /// The next object as a raw JSON value, with the path it was found at.
    pub fn next_value_with_path(&mut self) -> Option<Result<(String, Value), Error>> {
        loop {
            match self.step() {
                Ok(Step::Continue) => continue,
                Ok(Step::Yield(path, value)) => return Some(Ok((path, value))),
                Ok(Step::Finished) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The next object as a raw JSON value.
    pub fn next_value(&mut self) -> Option<Result<Value, Error>> {
        self.next_value_with_path().map(|r| r.map(|(_, v)| v))
    }

    fn fatal(&mut self, e: Error) -> Result<Step, Error> {
        self.state = State::Done;
        Err(e)
    }

    fn step(&mut self) -> Result<Step, Error> {
        match self.state {
            State::Done => Ok(Step::Finished),
            State::Start => {
                self.skip_bom()?;
                match self.peek()? {
                    None => {
                        let e = self.err_here(
                            ErrorKind::Json,
                            "$",
                            "empty input: expected a STIX bundle, a list of objects or an object",
                        );
                        self.fatal(e)
                    }
                    Some(b'[') => {
                        self.pos += 1;
                        self.shape = Shape::List;
                        self.state = State::Array {
                            in_bundle: false,
                            need: ArrayNeed::FirstOrEnd,
                        };
                        Ok(Step::Continue)
                    }
                    Some(b'{') => {
                        self.pos += 1;
                        self.state = State::Object {
                            need: ObjectNeed::FirstOrEnd,
                        };
                        Ok(Step::Continue)
                    }
                    Some(b) => {
                        let e = self.err_here(
                            ErrorKind::Json,
                            "$",
                            format!(
                                "expected a STIX bundle, a list of objects or an object, found {}",
                                describe(b)
                            ),
                        );
                        self.fatal(e)
                    }
                }
            }
            State::Array { in_bundle, need } => self.step_array(in_bundle, need),
            State::Object { need } => self.step_object(need),
            State::Trailing => match self.peek()? {
                None => {
                    self.state = State::Done;
                    Ok(Step::Finished)
                }
                Some(b) => {
                    let e = self.err_here(
                        ErrorKind::Json,
                        "$",
                        format!("unexpected {} after the end of the JSON value", describe(b)),
                    );
                    self.fatal(e)
                }
            },
        }
    }

    fn list_path(&self, in_bundle: bool) -> String {
        if in_bundle {
            "$.objects".to_string()
        } else {
            "$".to_string()
        }
    }

    fn step_array(&mut self, in_bundle: bool, need: ArrayNeed) -> Result<Step, Error> {
        let b = match self.peek()? {
            Some(b) => b,
            None => {
                let list = self.list_path(in_bundle);
                let e = self.err_here(
                    ErrorKind::Truncated,
                    &list,
                    format!(
                        "input ends inside the list after {} elements: expected ',' or ']'",
                        self.index
                    ),
                );
                return self.fatal(e);
            }
        };
        match (need, b) {
            (ArrayNeed::FirstOrEnd | ArrayNeed::CommaOrEnd, b']') => {
                self.pos += 1;
                self.state = if in_bundle {
                    State::Object {
                        need: ObjectNeed::CommaOrEnd,
                    }
                } else {
                    State::Trailing
                };
                Ok(Step::Continue)
            }
            (ArrayNeed::CommaOrEnd, b',') => {
                self.pos += 1;
                self.state = State::Array {
                    in_bundle,
                    need: ArrayNeed::Value,
                };
                Ok(Step::Continue)
            }
            (ArrayNeed::FirstOrEnd | ArrayNeed::Value, b) if b != b']' && b != b',' => {
                let path = format!("{}[{}]", self.list_path(in_bundle), self.index);
                self.index += 1;
                let start_abs = self.base + self.pos as u64;
                let (s, e) = match self.scan_value(&path) {
                    Ok(r) => r,
                    Err(err) => return self.fatal(err),
                };
                self.state = State::Array {
                    in_bundle,
                    need: ArrayNeed::CommaOrEnd,
                };
                let parsed = serde_json::from_slice::<Value>(&self.buf[s..e]);
                self.pos = e;
                match parsed {
                    Ok(v @ Value::Object(_)) => Ok(Step::Yield(path, v)),
                    Ok(other) => {
                        let pos = self.position_of(start_abs);
                        Err(Error::new(
                            ErrorKind::Json,
                            path,
                            format!("expected a STIX object, found {}", json_kind(&other)),
                        )
                        .at(pos))
                    }
                    Err(je) => Err(self.json_error(&path, start_abs, s, &je)),
                }
            }
            (_, b) => {
                let list = self.list_path(in_bundle);
                let expected = match need {
                    ArrayNeed::CommaOrEnd => "',' or ']'",
                    _ => "an object",
                };
                let e = self.err_here(
                    ErrorKind::Json,
                    &list,
                    format!("expected {expected}, found {}", describe(b)),
                );
                self.fatal(e)
            }
        }
    }

    fn step_object(&mut self, need: ObjectNeed) -> Result<Step, Error> {
        let b = match self.peek()? {
            Some(b) => b,
            None => {
                let e = self.err_here(
                    ErrorKind::Truncated,
                    "$",
                    "input ends inside the top-level object: expected ',' or '}'",
                );
                return self.fatal(e);
            }
        };
        match (need, b) {
            (ObjectNeed::FirstOrEnd | ObjectNeed::CommaOrEnd, b'}') => {
                self.pos += 1;
                self.state = State::Trailing;
                self.finish_object()
            }
            (ObjectNeed::CommaOrEnd, b',') => {
                self.pos += 1;
                self.state = State::Object {
                    need: ObjectNeed::Key,
                };
                Ok(Step::Continue)
            }
            (ObjectNeed::FirstOrEnd | ObjectNeed::Key, b'"') => {
                let start_abs = self.base + self.pos as u64;
                let (s, e) = match self.scan_value("$") {
                    Ok(r) => r,
                    Err(err) => return self.fatal(err),
                };
                let key = match serde_json::from_slice::<String>(&self.buf[s..e]) {
                    Ok(k) => k,
                    Err(je) => {
                        let err = self.json_error("$", start_abs, s, &je);
                        return self.fatal(err);
                    }
                };
                self.pos = e;
                let path = format!("$.{key}");
                match self.peek()? {
                    Some(b':') => self.pos += 1,
                    Some(b) => {
                        let e = self.err_here(
                            ErrorKind::Json,
                            &path,
                            format!("expected ':' after the key, found {}", describe(b)),
                        );
                        return self.fatal(e);
                    }
                    None => {
                        let e = self.err_here(
                            ErrorKind::Truncated,
                            &path,
                            "input ends after a key: expected ':'",
                        );
                        return self.fatal(e);
                    }
                }
                let vb = match self.peek()? {
                    Some(vb) => vb,
                    None => {
                        let e = self.err_here(
                            ErrorKind::Truncated,
                            &path,
                            "input ends after a key: expected a value",
                        );
                        return self.fatal(e);
                    }
                };
                let type_known_other =
                    matches!(self.header.get("type"), Some(t) if t.as_str() != Some("bundle"));
                if key == "objects" && vb == b'[' && !type_known_other && !self.objects_streamed {
                    self.pos += 1;
                    self.objects_streamed = true;
                    self.shape = Shape::Bundle;
                    self.state = State::Array {
                        in_bundle: true,
                        need: ArrayNeed::FirstOrEnd,
                    };
                    return Ok(Step::Continue);
                }
                let vstart_abs = self.base + self.pos as u64;
                let (s, e) = match self.scan_value(&path) {
                    Ok(r) => r,
                    Err(err) => return self.fatal(err),
                };
                let parsed = serde_json::from_slice::<Value>(&self.buf[s..e]);
                self.pos = e;
                match parsed {
                    Ok(v) => {
                        if key == "type" && v.as_str() == Some("bundle") {
                            self.shape = Shape::Bundle;
                        }
                        self.header.insert(key, v);
                        self.state = State::Object {
                            need: ObjectNeed::CommaOrEnd,
                        };
                        Ok(Step::Continue)
                    }
                    Err(je) => {
                        let err = self.json_error(&path, vstart_abs, s, &je);
                        self.fatal(err)
                    }
                }
            }
            (_, b) => {
                let expected = match need {
                    ObjectNeed::CommaOrEnd => "',' or '}'",
                    _ => "a property name in double quotes",
                };
                let e = self.err_here(
                    ErrorKind::Json,
                    "$",
                    format!("expected {expected}, found {}", describe(b)),
                );
                self.fatal(e)
            }
        }
    }

    /// The top-level object closed: a bundle is done; anything else is the single object.
    fn finish_object(&mut self) -> Result<Step, Error> {
        let ty = self
            .header
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_string);
        match ty.as_deref() {
            Some("bundle") => {
                if let Some(objects) = self.header.get("objects") {
                    if !objects.is_array() {
                        let kind = json_kind(objects);
                        return Err(Error::new(
                            ErrorKind::Invalid,
                            "$.objects",
                            format!("a bundle's objects must be a list, found {kind}"),
                        ));
                    }
                }
                Ok(Step::Continue)
            }
            _ if self.objects_streamed => {
                let found = match &ty {
                    Some(t) => format!("type '{t}'"),
                    None => "no type".to_string(),
                };
                Err(Error::new(
                    ErrorKind::Invalid,
                    "$.type",
                    format!(
                        "the top-level object has an 'objects' list and {found}: its objects were read as a bundle's, \
                         but a bundle must have type 'bundle'"
                    ),
                ))
            }
            _ => {
                self.shape = Shape::Single;
                let map = std::mem::take(&mut self.header);
                Ok(Step::Yield("$".to_string(), Value::Object(map)))
            }
        }
    }

    /// Skip a UTF-8 byte-order mark at the start.
    fn skip_bom(&mut self) -> Result<(), Error> {
        while self.end - self.pos < 3 {
            let (_, got) = self.fill()?;
            if !got {
                break;
            }
        }
        if self.buf[self.pos..self.end].starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.pos += 3;
        }
        Ok(())
    }

    /// The next non-whitespace byte, not consumed; `None` at the end of input.
    fn peek(&mut self) -> Result<Option<u8>, Error> {
        loop {
            while self.pos < self.end {
                match self.buf[self.pos] {
                    b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                    b => return Ok(Some(b)),
                }
            }
            let (_, got) = self.fill()?;
            if !got {
                return Ok(None);
            }
        }
    }

    /// Read more input, first discarding bytes before `pos` when that frees room.
    /// Returns how far the kept bytes moved down, and whether any byte was read.
    fn fill(&mut self) -> Result<(usize, bool), Error> {
        let keep = self.pos;
        let mut shift = 0;
        if keep > 0 && (self.end == self.buf.len() || keep >= self.buf.len() / 2) {
            let dropped = &self.buf[..keep];
            self.lines_before += memchr::memchr_iter(b'\n', dropped).count() as u64;
            if let Some(k) = memchr::memrchr(b'\n', dropped) {
                self.last_nl = Some(self.base + k as u64);
            }
            self.buf.copy_within(keep..self.end, 0);
            self.end -= keep;
            self.pos = 0;
            self.base += keep as u64;
            shift = keep;
        }
        if self.end == self.buf.len() {
            let new_len = (self.buf.len() * 2).max(CHUNK);
            self.buf.resize(new_len, 0);
            self.max_buffer = self.max_buffer.max(new_len);
        }
        if self.eof {
            return Ok((shift, false));
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok((shift, false));
                }
                Ok(n) => {
                    self.end += n;
                    return Ok((shift, true));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let at = self.position_of(self.base + self.end as u64);
                    self.state = State::Done;
                    return Err(Error::new(
                        ErrorKind::Io,
                        "$",
                        format!("reading the input failed: {e}"),
                    )
                    .at(at));
                }
            }
        }
    }

    /// Find the end of the JSON value starting at `pos` (which must hold its first
    /// byte). Returns its range in `buf`; `pos` still points at its start.
    fn scan_value(&mut self, path: &str) -> Result<(usize, usize), Error> {
        let start_abs = self.base + self.pos as u64;
        let first = self.buf[self.pos];
        let mut i = self.pos + 1;
        let mut depth: usize = match first {
            b'{' | b'[' => 1,
            _ => 0,
        };
        let mut in_str = first == b'"';
        if depth == 0 && !in_str {
            // A number or literal: ends at a delimiter or at the end of input.
            loop {
                while i < self.end {
                    match self.buf[i] {
                        b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r' | b':' => {
                            return Ok((self.pos, i))
                        }
                        _ => i += 1,
                    }
                }
                let (shift, got) = self.fill()?;
                i -= shift;
                if !got {
                    return Ok((self.pos, i));
                }
            }
        }
        loop {
            if i >= self.end {
                let (shift, got) = self.fill()?;
                i -= shift;
                if !got {
                    return Err(self.truncated(path, start_abs));
                }
                continue;
            }
            if in_str {
                match memchr::memchr2(b'"', b'\\', &self.buf[i..self.end]) {
                    None => i = self.end,
                    Some(k) => {
                        let j = i + k;
                        if self.buf[j] == b'\\' {
                            if j + 1 >= self.end {
                                // The escaped byte is not read yet: come back to the backslash.
                                i = j;
                                let (shift, got) = self.fill()?;
                                i -= shift;
                                if !got {
                                    return Err(self.truncated(path, start_abs));
                                }
                            } else {
                                i = j + 2;
                            }
                        } else {
                            in_str = false;
                            i = j + 1;
                            if depth == 0 {
                                return Ok((self.pos, i));
                            }
                        }
                    }
                }
            } else {
                let bytes = &self.buf[i..self.end];
                let Some(k) = bytes.iter().position(|&b| STRUCTURAL[b as usize]) else {
                    i = self.end;
                    continue;
                };
                let j = i + k;
                i = j + 1;
                match self.buf[j] {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok((self.pos, i));
                        }
                    }
                }
            }
        }
    }

    fn truncated(&self, path: &str, start_abs: u64) -> Error {
        let start = self.position_of(start_abs);
        let end = self.position_of(self.base + self.end as u64);
        Error::new(
            ErrorKind::Truncated,
            path,
            format!("input ends inside this value, which starts at {start}: the JSON is truncated"),
        )
        .at(end)
    }

    /// A serde_json error inside the value that starts at `buf[s]` (absolute `start_abs`).
    fn json_error(&self, path: &str, start_abs: u64, s: usize, je: &serde_json::Error) -> Error {
        // serde_json counts lines and columns from the start of the slice.
        let slice = &self.buf[s..self.end];
        let mut line_start = 0usize;
        if je.line() > 1 {
            if let Some(nl) = memchr::memchr_iter(b'\n', slice).nth(je.line() - 2) {
                line_start = nl + 1;
            }
        }
        let rel = (line_start + je.column().saturating_sub(1)).min(slice.len());
        let at = self.position_of(start_abs + rel as u64);
        Error::new(ErrorKind::Json, path, format!("invalid JSON: {je}")).at(at)
    }

    fn err_here(&self, kind: ErrorKind, path: &str, message: impl Into<String>) -> Error {
        let at = self.position_of(self.base + self.pos as u64);
        Error::new(kind, path, message).at(at)
    }

    /// Line and column of an absolute offset at or after `base`.
    fn position_of(&self, abs: u64) -> Position {
        let rel = (abs.saturating_sub(self.base) as usize).min(self.end);
        let seen = &self.buf[..rel];
        let line = self.lines_before + memchr::memchr_iter(b'\n', seen).count() as u64 + 1;
        let column = match memchr::memrchr(b'\n', seen) {
            Some(k) => (rel - k) as u64,
            None => match self.last_nl {
                Some(nl) => abs - nl,
                None => abs + 1,
            },
        };
        Position {
            offset: abs,
            line,
            column,
        }
    }
}

enum Step {
    Continue,
    Yield(String, Value),
    Finished,
}

fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

impl<R: Read> Iterator for BundleReader<R> {
    type Item = Result<StixObject, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let (path, value) = match self.next_value_with_path()? {
            Ok(pv) => pv,
            Err(e) => return Some(Err(e)),
        };
        Some(StixObject::from_value(value).map_err(|e| e.under(&path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `n` bytes per read, to exercise refills.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn ids<R: Read>(r: BundleReader<R>) -> Vec<Result<String, Error>> {
        r.map(|o| o.map(|o| o.id().to_string())).collect()
    }

    const B: &str = r#"{"type":"bundle","id":"bundle--1","objects":[{"type":"a","id":"a--1","s":"x\"}]\\"},{"type":"b","id":"b--2","n":[1,{"k":[]}]}]}"#;

    #[test]
    fn bundle_any_chunking() {
        for n in [1, 2, 3, 7, 64, 100_000] {
            let r = BundleReader::new(Trickle(B.as_bytes(), n));
            let got: Vec<_> = ids(r).into_iter().map(Result::unwrap).collect();
            assert_eq!(got, ["a--1", "b--2"], "chunk {n}");
        }
    }

    #[test]
    fn objects_before_id_and_type() {
        let t = r#"{"objects":[{"type":"a","id":"a--1"}],"id":"bundle--9","type":"bundle"}"#;
        let mut r = BundleReader::new(t.as_bytes());
        assert_eq!(r.next().unwrap().unwrap().id(), "a--1");
        assert!(r.next().is_none());
        assert_eq!(r.bundle_id(), Some("bundle--9"));
        assert_eq!(r.shape(), Shape::Bundle);
    }

    #[test]
    fn list_and_single() {
        let r = BundleReader::new(
            &b" [ {\"type\":\"a\",\"id\":\"a--1\"} , {\"type\":\"b\",\"id\":\"b--1\"} ] \n"[..],
        );
        assert_eq!(ids(r).len(), 2);
        let t =
            r#"{"type":"observed-data","id":"observed-data--1","objects":{"0":{"type":"file"}}}"#;
        let mut r = BundleReader::new(t.as_bytes());
        let o = r.next().unwrap().unwrap();
        assert_eq!(o.type_name(), "observed-data");
        assert!(o.get("objects").unwrap().is_object());
        assert!(r.next().is_none());
        assert_eq!(r.shape(), Shape::Single);
    }

    #[test]
    fn truncated_yields_complete_objects_first() {
        let t = &B[..B.len() - 20];
        let res = ids(BundleReader::new(Trickle(t.as_bytes(), 5)));
        assert_eq!(res.len(), 2);
        assert_eq!(res[0].as_ref().unwrap(), "a--1");
        let e = res[1].as_ref().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Truncated);
        assert_eq!(e.path(), "$.objects[1]");
        assert!(e.position().is_some());
    }

    #[test]
    fn bad_element_names_index_and_position_then_continues() {
        let t = "{\"type\":\"bundle\",\"objects\":[\n{\"type\":\"a\",\"id\":\"a--1\"},\n{\"type\":\"a\",\"id\": tru},\n{\"type\":\"a\",\"id\":\"a--3\"}]}";
        let res = ids(BundleReader::new(t.as_bytes()));
        assert_eq!(res.len(), 3);
        let e = res[1].as_ref().unwrap_err();
        assert_eq!(e.path(), "$.objects[1]");
        let p = e.position().unwrap();
        assert_eq!(p.line, 3);
        assert_eq!(res[2].as_ref().unwrap(), "a--3");
    }

    #[test]
    fn missing_id_is_per_element() {
        let t = r#"[{"type":"a"},{"type":"a","id":"a--2"}]"#;
        let res = ids(BundleReader::new(t.as_bytes()));
        assert_eq!(res[0].as_ref().unwrap_err().path(), "$[0].id");
        assert_eq!(res[1].as_ref().unwrap(), "a--2");
    }

    #[test]
    fn empty_and_garbage() {
        let res = ids(BundleReader::new(&b"  "[..]));
        assert_eq!(res.len(), 1);
        assert!(res[0].is_err());
        let res = ids(BundleReader::new(&b"[]"[..]));
        assert!(res.is_empty());
        let res = ids(BundleReader::new(
            &b"[{\"type\":\"a\",\"id\":\"a--1\"}] x"[..],
        ));
        assert!(res[0].is_ok());
        assert!(res[1].is_err());
        let res = ids(BundleReader::new(
            &b"\xEF\xBB\xBF{\"type\":\"bundle\",\"objects\":[]}"[..],
        ));
        assert!(res.is_empty());
    }
}
