//! CSV and plain indicator lists.
//!
//! A list has one value a line; `#` (or the configured comment character) starts a
//! comment, blank lines are skipped, and a value's kind is guessed (IPv4/IPv6 with
//! or without a prefix, domain, URL, e-mail, MD5/SHA-1/SHA-256). A CSV feed maps
//! columns, by header name or 1-based position: the value, optionally its type, its
//! categories, a description and a first-seen time.

use crate::decode::decode;
use crate::{Error, ErrorKind, IndicatorItem, Item, ValueKind};
use serde::{Deserialize, Serialize};

/// The largest single value or line taken; longer ones are skipped and counted.
pub const MAX_ITEM_BYTES: usize = 64 << 10;

/// CSV and list options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvOptions {
    /// Field delimiter (default `,`).
    #[serde(default = "comma")]
    pub delimiter: char,
    /// Lines starting with this are comments (default `#`).
    #[serde(default = "hash", skip_serializing_if = "Option::is_none")]
    pub comment: Option<char>,
    /// The first non-comment line names the columns.
    #[serde(default)]
    pub header: bool,
    /// Column of the value (header name or 1-based position; default 1).
    #[serde(default = "one")]
    pub value: String,
    /// Column giving the value's type (`ip`, `domain`, `url`, `md5`…); else guessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// A fixed type for every value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ValueKind>,
    /// Columns whose text becomes STIX labels (categories, threat names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Column of a description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Column of the first-seen time (RFC 3339, or `YYYY-MM-DD HH:MM:SS` UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// Text encoding (WHATWG label); default UTF-8 (a BOM is honoured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

fn comma() -> char {
    ','
}
fn hash() -> Option<char> {
    Some('#')
}
fn one() -> String {
    "1".into()
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: ',',
            comment: Some('#'),
            header: false,
            value: "1".into(),
            r#type: None,
            kind: None,
            labels: vec![],
            description: None,
            first_seen: None,
            encoding: None,
        }
    }
}

impl CsvOptions {
    /// Check that the options make sense.
    pub fn check(&self) -> Result<(), Error> {
        if !self.delimiter.is_ascii() {
            return Err(Error::new(
                ErrorKind::Config,
                "csv.delimiter",
                "the delimiter must be one ASCII character",
            ));
        }
        if !self.header {
            for (field, c) in self.columns() {
                if c.parse::<usize>().map_or(true, |n| n == 0) {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!("csv.{field}"),
                        format!("'{c}': without a header line, columns are 1-based numbers"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn columns(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![("value", self.value.as_str())];
        v.extend(self.r#type.as_deref().map(|c| ("type", c)));
        v.extend(self.labels.iter().map(|c| ("labels", c.as_str())));
        v.extend(self.description.as_deref().map(|c| ("description", c)));
        v.extend(self.first_seen.as_deref().map(|c| ("first_seen", c)));
        v
    }
}

fn resolve(col: &str, header: Option<&csv::StringRecord>, field: &str) -> Result<usize, Error> {
    if let Ok(n) = col.parse::<usize>() {
        if n >= 1 {
            return Ok(n - 1);
        }
    }
    let Some(h) = header else {
        return Err(Error::new(
            ErrorKind::Config,
            format!("csv.{field}"),
            format!("'{col}' is not a 1-based column number"),
        ));
    };
    h.iter()
        .position(|name| name.trim().eq_ignore_ascii_case(col.trim()))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Syntax,
                "line 1 (header)",
                format!(
                    "no column '{col}' for csv.{field} (columns: {})",
                    h.iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })
}

/// Parse a time the way feeds write it into a STIX timestamp.
pub fn parse_time(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(liaison_stix::Timestamp::from_millis(t.timestamp_millis()).to_string());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(
                liaison_stix::Timestamp::from_millis(t.and_utc().timestamp_millis()).to_string(),
            );
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0)?;
        return Some(
            liaison_stix::Timestamp::from_millis(t.and_utc().timestamp_millis()).to_string(),
        );
    }
    None
}

/// Parse a CSV feed.
pub fn parse_csv(body: &[u8], o: &CsvOptions, sink: &mut dyn FnMut(Item)) -> Result<(), Error> {
    let text = decode(body, o.encoding.as_deref())?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(o.delimiter as u8)
        .comment(o.comment.filter(char::is_ascii).map(|c| c as u8))
        .has_headers(o.header)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = if o.header {
        Some(rdr.headers().map_err(|e| csv_error(&e, "header"))?.clone())
    } else {
        None
    };
    let h = header.as_ref();
    let value = resolve(&o.value, h, "value")?;
    let ty = o
        .r#type
        .as_deref()
        .map(|c| resolve(c, h, "type"))
        .transpose()?;
    let labels: Vec<usize> = o
        .labels
        .iter()
        .map(|c| resolve(c, h, "labels"))
        .collect::<Result<_, _>>()?;
    let desc = o
        .description
        .as_deref()
        .map(|c| resolve(c, h, "description"))
        .transpose()?;
    let first = o
        .first_seen
        .as_deref()
        .map(|c| resolve(c, h, "first_seen"))
        .transpose()?;
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(&e, "record")),
        }
        let line = rec.position().map_or(0, |p| p.line());
        let at = format!("line {line}");
        if rec.len() == 1 && rec.get(0).is_some_and(str::is_empty) {
            continue;
        }
        let Some(v) = rec.get(value).filter(|v| !v.is_empty()) else {
            return Err(Error::syntax(
                at,
                format!(
                    "{} column(s), the value is in column {} (is the delimiter '{}' right?)",
                    rec.len(),
                    value + 1,
                    o.delimiter
                ),
            ));
        };
        if v.len() > MAX_ITEM_BYTES {
            sink(skipped(
                at,
                format!("value of {} bytes, more than {MAX_ITEM_BYTES}", v.len()),
            ));
            continue;
        }
        let kind = match (o.kind, ty.and_then(|i| rec.get(i))) {
            (Some(k), _) => Some(k),
            (None, Some(t)) if !t.is_empty() => match ValueKind::parse(t) {
                Some(k) => Some(k),
                None => {
                    sink(skipped(at, format!("unknown indicator type '{t}'")));
                    continue;
                }
            },
            _ => ValueKind::guess(v),
        };
        let Some(kind) = kind else {
            sink(skipped(
                at,
                format!("'{}' is not an IP, domain, URL, e-mail or hash", clip(v)),
            ));
            continue;
        };
        sink(Item::Indicator(IndicatorItem {
            kind: Some(kind),
            value: v.to_string(),
            labels: labels
                .iter()
                .filter_map(|i| rec.get(*i))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            description: desc
                .and_then(|i| rec.get(i))
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            first_seen: first.and_then(|i| rec.get(i)).and_then(parse_time),
            reference: Some(at),
        }));
    }
    Ok(())
}

fn csv_error(e: &csv::Error, what: &str) -> Error {
    let at = e
        .position()
        .map(|p| format!("line {}", p.line()))
        .unwrap_or_else(|| what.to_string());
    Error::syntax(at, format!("bad CSV: {e}"))
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// An item that was not taken, and why (counted in the feed's status).
pub fn skipped(at: String, reason: String) -> Item {
    Item::Skipped { at, reason }
}

/// Parse a plain list: one value a line.
pub fn parse_list(body: &[u8], o: &CsvOptions, sink: &mut dyn FnMut(Item)) -> Result<(), Error> {
    let text = decode(body, o.encoding.as_deref())?;
    let comment = o.comment.unwrap_or('#');
    for (n, raw) in text.lines().enumerate() {
        let line = match raw.find(comment) {
            Some(i) => &raw[..i],
            None => raw,
        }
        .trim();
        if line.is_empty() {
            continue;
        }
        let at = format!("line {}", n + 1);
        if line.len() > MAX_ITEM_BYTES {
            sink(skipped(
                at,
                format!("line of {} bytes, more than {MAX_ITEM_BYTES}", line.len()),
            ));
            continue;
        }
        // Some lists add a second column (a score, a date): the value is the first word.
        let v = line
            .split(|c: char| c.is_whitespace() || c == ';' || c == ',')
            .next()
            .unwrap_or(line);
        match o.kind.or_else(|| ValueKind::guess(v)) {
            Some(kind) => sink(Item::Indicator(IndicatorItem {
                kind: Some(kind),
                value: v.to_string(),
                reference: Some(at),
                ..Default::default()
            })),
            None => sink(skipped(
                at,
                format!("'{}' is not an IP, domain, URL, e-mail or hash", clip(v)),
            )),
        }
    }
    Ok(())
}
