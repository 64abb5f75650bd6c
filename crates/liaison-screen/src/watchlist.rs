//! Watchlists: terms and phrases with per-term options.
//!
//! Two text formats are read (from a `&str`; the caller does the IO):
//!
//! * **plain**: one term a line, as `grep -F -f` reads it. Empty lines are
//!   skipped; a line starting with `#` is a comment (write `\#` for a term that
//!   starts with `#`). A trailing `\r` is dropped.
//! * **CSV**: the first line is a header starting with `term`; the known
//!   columns are `term`, `case_insensitive`, `whole_word`, `severity`, `tags`
//!   (separated by `;` or `|`) and `label`, in any order. Fields may be quoted
//!   with `"` (and `""` inside).
//!
//! [`Watchlist::parse`] picks the format from the first line.

use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// How much a hit matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context only (extracted indicators not on any list).
    Info,
    /// Low.
    Low,
    /// Medium: the default for watchlist terms.
    #[default]
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" | "informational" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "" | "medium" | "med" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" | "crit" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity '{other}' (expected info, low, medium, high or critical)"
            )),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// One watchlist term with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The text to find (a word, a phrase, any UTF-8).
    pub text: String,
    /// Match regardless of case (Unicode simple case folding).
    pub case_insensitive: bool,
    /// Match only as a whole word (`rg -w`).
    pub whole_word: bool,
    /// Severity of a hit.
    pub severity: Severity,
    /// Free tags.
    pub tags: Vec<String>,
    /// A label shown with the hit.
    pub label: Option<String>,
}

impl Term {
    /// A term with default options (case-sensitive substring, medium).
    pub fn new(text: impl Into<String>) -> Self {
        Term {
            text: text.into(),
            case_insensitive: false,
            whole_word: false,
            severity: Severity::Medium,
            tags: Vec::new(),
            label: None,
        }
    }

    /// Builder-style: case-insensitive.
    pub fn ignore_case(mut self, yes: bool) -> Self {
        self.case_insensitive = yes;
        self
    }

    /// Builder-style: whole word.
    pub fn whole_word(mut self, yes: bool) -> Self {
        self.whole_word = yes;
        self
    }

    /// Builder-style: severity.
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    /// Builder-style: label.
    pub fn label(mut self, l: impl Into<String>) -> Self {
        self.label = Some(l.into());
        self
    }
}

/// A list of terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watchlist {
    /// The terms, in file order.
    pub terms: Vec<Term>,
}

impl Watchlist {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse plain or CSV text (picked from the first line); `source` names the
    /// input in errors.
    pub fn parse(source: &str, text: &str) -> Result<Self> {
        let first = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches('\u{feff}');
        let head = first
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if first.contains(',') && head.eq_ignore_ascii_case("term") {
            Self::parse_csv(source, text)
        } else {
            Ok(Self::parse_plain(text))
        }
    }

    /// One term a line.
    pub fn parse_plain(text: &str) -> Self {
        // A large list (a megabyte and more): the second half of the lines
        // on another thread (a term is an allocation).
        if text.len() >= 1 << 20 {
            let mid = text.len() / 2;
            if let Some(nl) = memchr::memchr(b'\n', &text.as_bytes()[mid..]) {
                // After a '\n': a character boundary and a line start.
                let (a, b) = text.split_at(mid + nl + 1);
                // The first half's vector has room for all (no copy of it).
                let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1;
                let (mut first, second) = std::thread::scope(|s| {
                    let h = s.spawn(|| Self::plain_terms(b, 0));
                    let first = Self::plain_terms(a, lines);
                    (
                        first,
                        h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                    )
                });
                first.extend(second);
                return Watchlist { terms: first };
            }
        }
        Watchlist {
            terms: Self::plain_terms(text, 0),
        }
    }

    /// The terms of plain text, in a vector with room for at least
    /// `room`. Line ends are found once (memchr), then one allocation for
    /// the list; a '\n' byte is always a character boundary, so the lines
    /// are slices of `text`.
    fn plain_terms(text: &str, room: usize) -> Vec<Term> {
        let ends: Vec<usize> = memchr::memchr_iter(b'\n', text.as_bytes())
            .chain(std::iter::once(text.len()))
            .collect();
        let mut terms = Vec::with_capacity(ends.len().max(room));
        let mut start = 0;
        for &end in &ends {
            let line = &text[start..end];
            start = end + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line
                .strip_prefix('\\')
                .filter(|l| l.starts_with('#'))
                .unwrap_or(line);
            terms.push(Term::new(line));
        }
        terms
    }

    /// CSV with a header line.
    pub fn parse_csv(source: &str, text: &str) -> Result<Self> {
        let mut lines = text.split('\n').enumerate();
        let header = match lines.next() {
            Some((_, h)) => split_csv(h.trim_start_matches('\u{feff}').trim_end_matches('\r'))
                .map_err(|e| Error::watchlist(source, 1, e))?,
            None => return Ok(Watchlist::new()),
        };
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        };
        let c_term = col("term").ok_or_else(|| Error::watchlist(source, 1, "no 'term' column"))?;
        let c_ci = col("case_insensitive").or_else(|| col("ignore_case"));
        let c_ww = col("whole_word");
        let c_sev = col("severity");
        let c_tags = col("tags");
        let c_label = col("label");
        let mut terms = Vec::new();
        for (i, line) in lines {
            let lineno = i + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            let f = split_csv(line).map_err(|e| Error::watchlist(source, lineno, e))?;
            let get = |c: Option<usize>| c.and_then(|c| f.get(c)).map(|s| s.as_str()).unwrap_or("");
            let text = get(Some(c_term));
            if text.is_empty() {
                return Err(Error::watchlist(source, lineno, "empty term"));
            }
            let mut t = Term::new(text);
            t.case_insensitive = parse_bool(get(c_ci))
                .map_err(|e| Error::watchlist(source, lineno, format!("case_insensitive: {e}")))?;
            t.whole_word = parse_bool(get(c_ww))
                .map_err(|e| Error::watchlist(source, lineno, format!("whole_word: {e}")))?;
            t.severity = get(c_sev)
                .parse()
                .map_err(|e: String| Error::watchlist(source, lineno, e))?;
            t.tags = get(c_tags)
                .split([';', '|'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let label = get(c_label).trim();
            t.label = (!label.is_empty()).then(|| label.to_string());
            terms.push(t);
        }
        Ok(Watchlist { terms })
    }

    /// Append another list.
    pub fn extend(&mut self, other: Watchlist) {
        if self.terms.is_empty() {
            // Take the other list's vector instead of moving every term.
            self.terms = other.terms;
        } else {
            self.terms.extend(other.terms);
        }
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// No terms?
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

fn parse_bool(s: &str) -> std::result::Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" | "n" => Ok(false),
        "true" | "yes" | "1" | "y" => Ok(true),
        other => Err(format!("expected true or false, found '{other}'")),
    }
}

/// Split one CSV record (no newlines inside fields).
fn split_csv(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
            at_start = true;
        } else {
            cur.push(c);
            at_start = false;
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    out.push(cur);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain() {
        let w = Watchlist::parse("w", "alpha\r\n\n# comment\n\\#tag\n勒索软件\n").unwrap();
        let t: Vec<_> = w.terms.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(t, ["alpha", "#tag", "勒索软件"]);
    }

    #[test]
    fn large_plain_lists_parse_as_small_ones() {
        // Over a megabyte: parsed in two halves; the same terms in order.
        let mut text = String::new();
        let mut want = Vec::new();
        for i in 0..120_000 {
            match i % 7 {
                0 => text.push_str("# comment\n"),
                1 => text.push_str("\r\n"),
                _ => {
                    let t = format!("term-{i}-Ωμέγα");
                    text.push_str(&t);
                    text.push_str(if i % 2 == 0 { "\r\n" } else { "\n" });
                    want.push(t);
                }
            }
        }
        text.push_str("last");
        want.push("last".into());
        assert!(text.len() > 1 << 20);
        let got: Vec<String> = Watchlist::parse_plain(&text)
            .terms
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn csv() {
        let w = Watchlist::parse(
            "w.csv",
            "term,severity,whole_word,case_insensitive,tags,label\n\"Cobalt, Strike\",high,yes,true,c2;tool,Tools\nemotet,,,,,\n",
        )
        .unwrap();
        assert_eq!(w.len(), 2);
        let t = &w.terms[0];
        assert_eq!(t.text, "Cobalt, Strike");
        assert_eq!(t.severity, Severity::High);
        assert!(t.whole_word && t.case_insensitive);
        assert_eq!(t.tags, ["c2", "tool"]);
        assert_eq!(t.label.as_deref(), Some("Tools"));
        assert_eq!(w.terms[1].severity, Severity::Medium);
    }

    #[test]
    fn csv_errors_name_the_line() {
        let e = Watchlist::parse("w.csv", "term,severity\nx,huge\n").unwrap_err();
        assert!(e.to_string().starts_with("w.csv:2:"), "{e}");
    }
}
