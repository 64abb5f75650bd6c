//! Indicators from the knowledge base: STIX patterns turned into literals for
//! the automaton, or into matchers evaluated on the extracted observables.
//!
//! The engine talks to the patterning code through [`PatternCompiler`]. The
//! default is [`crate::StixCompiler`], on `liaison-pattern` (full STIX
//! patterning). [`SimpleCompiler`] is the small native evaluator it uses for
//! the common one-observation comparisons: `[type:path OP value]` joined by
//! `AND` / `OR` inside brackets, brackets joined by `OR`, with `=`, `!=`,
//! `LIKE`, `MATCHES`, `ISSUBSET`, `IN` and `NOT`. A pattern that is an `OR`
//! of `=` comparisons becomes literals; observation operators other than `OR`
//! (`AND`, `FOLLOWEDBY`) and qualifiers are refused by it (and handled by the
//! full matcher of `liaison-pattern`).

use crate::fasthash::FastHash;
use crate::watchlist::Severity;
use std::collections::HashMap;
use std::net::Ipv6Addr;

/// An indicator rule to screen for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorRule {
    /// STIX id (`indicator--…`).
    pub id: String,
    /// STIX pattern (`pattern_type` `stix`).
    pub pattern: String,
    /// A label shown with the hit (the indicator's name).
    pub label: Option<String>,
    /// Severity of a hit.
    pub severity: Severity,
}

/// A literal a pattern is equivalent to (one of an `OR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    /// STIX object type (`domain-name`).
    pub object_type: String,
    /// Property path, normalised (`value`, `hashes.SHA256`).
    pub path: String,
    /// The literal value.
    pub value: String,
}

/// An observable extracted from text, as the matchers see it.
#[derive(Debug, Clone, Copy)]
pub struct Observable<'a> {
    /// STIX object type.
    pub object_type: &'a str,
    /// Property path, normalised.
    pub path: &'a str,
    /// Value.
    pub value: &'a str,
}

/// Evaluates a compiled pattern on one observable.
pub trait ObservableMatcher: Send + Sync + std::fmt::Debug {
    /// The object types this matcher can match (for dispatch).
    fn object_types(&self) -> Vec<String>;
    /// Does the observable match?
    fn matches(&self, obs: &Observable<'_>) -> bool;
    /// A condition that every observable this matcher matches meets, for
    /// indexing: the engine then evaluates the matcher only on the
    /// observables that meet it, instead of on every observable of its
    /// types. `None` (the default): no such condition is known.
    fn index_key(&self) -> Option<IndexKey> {
        None
    }
}

/// See [`ObservableMatcher::index_key`]: the object type and property path
/// of the only observables a matcher can match, and a test on their value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    /// STIX object type.
    pub object_type: String,
    /// Property path, normalised.
    pub path: String,
    /// The test.
    pub test: KeyTest,
}

/// The test of an [`IndexKey`] on an observable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyTest {
    /// The value is an IPv4 address in this network.
    Ipv4Cidr {
        /// The network, masked.
        net: u32,
        /// Prefix length, 0–32.
        len: u8,
    },
    /// The value starts with this.
    Prefix(String),
    /// The value ends with this.
    Suffix(String),
}

/// A compiled pattern.
#[derive(Debug)]
pub enum Compiled {
    /// Equivalent to any of these literals.
    Literals(Vec<Literal>),
    /// Needs evaluation on observables.
    Matcher(Box<dyn ObservableMatcher>),
}

/// Compiles STIX patterns for screening.
pub trait PatternCompiler: Send + Sync {
    /// Compile one pattern; `Err` holds why it can't be screened.
    fn compile(&self, pattern: &str) -> Result<Compiled, String>;
}

/// Normalise a property path: `hashes.'SHA-256'` → `hashes.SHA256`.
pub fn normalize_path(object_type: &str, path: &str) -> String {
    if object_type == "file" {
        if let Some(alg) = path.strip_prefix("hashes.") {
            let alg: String = alg
                .chars()
                .filter(|c| !matches!(c, '\'' | '"' | '-' | '_'))
                .flat_map(char::to_uppercase)
                .collect();
            return format!("hashes.{alg}");
        }
    }
    path.to_string()
}

/// The stand-in compiler (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct SimpleCompiler;

impl PatternCompiler for SimpleCompiler {
    fn compile(&self, pattern: &str) -> Result<Compiled, String> {
        let toks = lex(pattern)?;
        let mut p = Parser { toks, i: 0 };
        let expr = p.pattern()?;
        if p.i != p.toks.len() {
            return Err(format!("unexpected {:?}", p.toks[p.i]));
        }
        let mut lits = Vec::new();
        if literals(&expr, &mut lits) {
            return Ok(Compiled::Literals(lits));
        }
        Ok(Compiled::Matcher(Box::new(ExprMatcher { expr })))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrack,
    RBrack,
    LParen,
    RParen,
    Comma,
    Op(String),
    Word(String),
    Str(String),
    Num(String),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '[' => {
                out.push(Tok::LBrack);
                i += 1
            }
            ']' => {
                out.push(Tok::RBrack);
                i += 1
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '=' => {
                out.push(Tok::Op("=".into()));
                i += 1
            }
            '!' | '<' | '>' => {
                let mut op = c.to_string();
                if b.get(i + 1) == Some(&'=') {
                    op.push('=');
                    i += 1;
                }
                out.push(Tok::Op(op));
                i += 1
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err("unterminated string".into()),
                        Some('\\') => {
                            if let Some(&n) = b.get(i + 1) {
                                v.push(n);
                            }
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let st = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == '.') {
                    i += 1;
                }
                out.push(Tok::Num(b[st..i].iter().collect()));
            }
            _ => {
                // A word or an object path: up to whitespace or punctuation,
                // quoted path segments included.
                let st = i;
                let mut q = None;
                while i < b.len() {
                    let ch = b[i];
                    if let Some(qc) = q {
                        if ch == qc {
                            q = None;
                        }
                    } else if ch == '\'' || ch == '"' {
                        if i == st {
                            break;
                        }
                        q = Some(ch);
                    } else if ch.is_whitespace() || "[]()=!<>,".contains(ch) {
                        break;
                    }
                    i += 1;
                }
                if i == st {
                    return Err(format!("unexpected '{c}'"));
                }
                out.push(Tok::Word(b[st..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Cmp {
        object_type: String,
        path: String,
        negate: bool,
        op: String,
        values: Vec<String>,
        regex: Option<Text>,
        /// For `ISSUBSET`: the network, parsed once.
        cidr: Option<Cidr>,
    },
}

/// A parsed CIDR block (IPv4 ones as IPv4-mapped `u128`s).
#[derive(Debug, Clone, Copy)]
struct Cidr {
    v4: bool,
    net: u128,
    mask: u128,
}

impl Cidr {
    fn parse(cidr: &str) -> Option<Cidr> {
        let (net, len) = cidr.split_once('/')?;
        let len: u32 = len.parse().ok()?;
        if let Some(n) = crate::allow::parse_v4(net) {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - len.min(32))
            };
            return Some(Cidr {
                v4: true,
                net: (n & m) as u128,
                mask: m as u128,
            });
        }
        let n: Ipv6Addr = net.parse().ok()?;
        let m = if len == 0 {
            0
        } else {
            u128::MAX << (128 - len.min(128))
        };
        Some(Cidr {
            v4: false,
            net: u128::from(n) & m,
            mask: m,
        })
    }

    fn contains(&self, addr: &str) -> bool {
        if self.v4 {
            crate::allow::parse_v4(addr).is_some_and(|a| a as u128 & self.mask == self.net)
        } else {
            addr.parse::<Ipv6Addr>()
                .is_ok_and(|a| u128::from(a) & self.mask == self.net)
        }
    }
}

struct Parser {
    toks: Vec<Tok>,
    i: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.i), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }

    /// Observation expressions joined by OR.
    fn pattern(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.observation()?];
        loop {
            if self.peek_word("OR") {
                self.i += 1;
                v.push(self.observation()?);
            } else if self.peek_word("AND") || self.peek_word("FOLLOWEDBY") {
                return Err(
                    "observation operators AND / FOLLOWEDBY are not supported in screening".into(),
                );
            } else if ["WITHIN", "REPEATS", "START"]
                .iter()
                .any(|w| self.peek_word(w))
            {
                return Err("qualifiers are not supported in screening".into());
            } else {
                break;
            }
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::Or(v)
        })
    }

    fn observation(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::LBrack) => {
                let e = self.cmp_or()?;
                match self.next() {
                    Some(Tok::RBrack) => Ok(e),
                    t => Err(format!("expected ']', found {t:?}")),
                }
            }
            Some(Tok::LParen) => {
                let e = self.pattern()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(e),
                    t => Err(format!("expected ')', found {t:?}")),
                }
            }
            t => Err(format!("expected '[', found {t:?}")),
        }
    }

    fn cmp_or(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.cmp_and()?];
        while self.peek_word("OR") {
            self.i += 1;
            v.push(self.cmp_and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::Or(v)
        })
    }

    fn cmp_and(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.cmp()?];
        while self.peek_word("AND") {
            self.i += 1;
            v.push(self.cmp()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::And(v)
        })
    }

    fn cmp(&mut self) -> Result<Expr, String> {
        if self.toks.get(self.i) == Some(&Tok::LParen) {
            self.i += 1;
            let e = self.cmp_or()?;
            return match self.next() {
                Some(Tok::RParen) => Ok(e),
                t => Err(format!("expected ')', found {t:?}")),
            };
        }
        let path = match self.next() {
            Some(Tok::Word(w)) => w,
            t => return Err(format!("expected an object path, found {t:?}")),
        };
        let (object_type, prop) = path
            .split_once(':')
            .ok_or_else(|| format!("object path '{path}' has no ':'"))?;
        let negate = self.peek_word("NOT");
        if negate {
            self.i += 1;
        }
        let op = match self.next() {
            Some(Tok::Op(o)) => o,
            Some(Tok::Word(w)) => w.to_ascii_uppercase(),
            t => return Err(format!("expected an operator, found {t:?}")),
        };
        let values = match self.next() {
            Some(Tok::Str(s)) | Some(Tok::Num(s)) => vec![s],
            Some(Tok::Word(w))
                if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") =>
            {
                vec![w.to_ascii_lowercase()]
            }
            Some(Tok::LParen) => {
                let mut v = Vec::new();
                loop {
                    match self.next() {
                        Some(Tok::Str(s)) | Some(Tok::Num(s)) => v.push(s),
                        t => return Err(format!("expected a value, found {t:?}")),
                    }
                    match self.next() {
                        Some(Tok::Comma) => continue,
                        Some(Tok::RParen) => break,
                        t => return Err(format!("expected ',' or ')', found {t:?}")),
                    }
                }
                v
            }
            t => return Err(format!("expected a value, found {t:?}")),
        };
        let regex = match op.as_str() {
            "MATCHES" => Some(Text::Regex(
                regex::Regex::new(&values[0]).map_err(|e| format!("MATCHES: {e}"))?,
            )),
            "LIKE" => Some(like(&values[0])?),
            "=" | "!=" | "ISSUBSET" | "IN" => None,
            other => return Err(format!("operator {other} is not supported in screening")),
        };
        let cidr = if op == "ISSUBSET" {
            Some(Cidr::parse(&values[0]).ok_or("ISSUBSET needs a CIDR")?)
        } else {
            None
        };
        Ok(Expr::Cmp {
            object_type: object_type.to_string(),
            path: normalize_path(object_type, prop),
            negate,
            op,
            values,
            regex,
            cidr,
        })
    }
}

/// A compiled `LIKE` or `MATCHES` operand: the common `LIKE` shapes without
/// a regex.
#[derive(Debug, Clone)]
enum Text {
    Suffix(String),
    Prefix(String),
    Regex(regex::Regex),
}

impl Text {
    fn is_match(&self, v: &str) -> bool {
        match self {
            Text::Suffix(s) => v.ends_with(s.as_str()),
            Text::Prefix(p) => v.starts_with(p.as_str()),
            Text::Regex(r) => r.is_match(v),
        }
    }
}

fn like(pattern: &str) -> Result<Text, String> {
    let wild = |s: &str| s.contains(['%', '_']);
    if let Some(rest) = pattern.strip_prefix('%') {
        if !wild(rest) {
            return Ok(Text::Suffix(rest.to_string()));
        }
    }
    if let Some(rest) = pattern.strip_suffix('%') {
        if !wild(rest) {
            return Ok(Text::Prefix(rest.to_string()));
        }
    }
    like_regex(pattern).map(Text::Regex)
}

fn like_regex(like: &str) -> Result<regex::Regex, String> {
    let mut r = String::from("(?s)^");
    for c in like.chars() {
        match c {
            '%' => r.push_str(".*"),
            '_' => r.push('.'),
            c => r.push_str(&regex::escape(&c.to_string())),
        }
    }
    r.push('$');
    regex::Regex::new(&r).map_err(|e| format!("LIKE: {e}"))
}

fn literals(e: &Expr, out: &mut Vec<Literal>) -> bool {
    match e {
        Expr::Or(v) => v.iter().all(|x| literals(x, out)),
        Expr::Cmp {
            object_type,
            path,
            negate: false,
            op,
            values,
            ..
        } if op == "=" || op == "IN" => {
            for v in values {
                out.push(Literal {
                    object_type: object_type.clone(),
                    path: path.clone(),
                    value: v.clone(),
                });
            }
            true
        }
        _ => false,
    }
}

#[derive(Debug)]
struct ExprMatcher {
    expr: Expr,
}

fn types(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Or(v) | Expr::And(v) => v.iter().for_each(|x| types(x, out)),
        Expr::Cmp { object_type, .. } => {
            if !out.contains(object_type) {
                out.push(object_type.clone())
            }
        }
    }
}

fn eval(e: &Expr, o: &Observable<'_>) -> bool {
    match e {
        Expr::Or(v) => v.iter().any(|x| eval(x, o)),
        Expr::And(v) => v.iter().all(|x| eval(x, o)),
        Expr::Cmp {
            object_type,
            path,
            negate,
            op,
            values,
            regex,
            cidr,
        } => {
            if object_type != o.object_type || path != o.path {
                return false;
            }
            // `cidr` is set exactly for ISSUBSET and `regex` exactly for
            // LIKE / MATCHES (see `Parser::cmp`): testing them first
            // spares a chain of string compares on the operator for each of
            // the hundreds of matchers an observable meets.
            let r = if let Some(c) = cidr {
                c.contains(o.value)
            } else if let Some(r) = regex {
                r.is_match(o.value)
            } else {
                match op.as_str() {
                    "=" => values[0] == o.value,
                    "!=" => values[0] != o.value,
                    "IN" => values.iter().any(|v| v == o.value),
                    _ => false,
                }
            };
            r != *negate
        }
    }
}

impl ObservableMatcher for ExprMatcher {
    fn object_types(&self) -> Vec<String> {
        let mut v = Vec::new();
        types(&self.expr, &mut v);
        v
    }

    fn matches(&self, obs: &Observable<'_>) -> bool {
        eval(&self.expr, obs)
    }

    /// For one positive comparison: `ISSUBSET` an IPv4 network, `LIKE`
    /// `'%x'` / `'x%'`, and `MATCHES` a regex anchored by `^` to a literal
    /// prefix.
    fn index_key(&self) -> Option<IndexKey> {
        let Expr::Cmp {
            object_type,
            path,
            negate: false,
            regex,
            cidr,
            ..
        } = &self.expr
        else {
            return None;
        };
        let test = match (cidr, regex) {
            (Some(c), _) if c.v4 => KeyTest::Ipv4Cidr {
                net: c.net as u32,
                len: c.mask.count_ones() as u8,
            },
            (Some(_), _) => return None,
            (None, Some(Text::Suffix(x))) => KeyTest::Suffix(x.clone()),
            (None, Some(Text::Prefix(x))) => KeyTest::Prefix(x.clone()),
            (None, Some(Text::Regex(r))) => KeyTest::Prefix(regex_prefix(r.as_str())?),
            (None, None) => return None,
        };
        Some(IndexKey {
            object_type: object_type.clone(),
            path: path.clone(),
            test,
        })
    }
}

/// The literal text every match of `re` starts with, when `re` is anchored
/// at the start (`^…`) and has no alternation (which could escape the
/// anchor). Conservative: the prefix ends at the first character that is not
/// plainly literal, and a character made optional or repeated by a following
/// quantifier is left out. `None` when there is no such prefix.
fn regex_prefix(re: &str) -> Option<String> {
    let rest = re.strip_prefix('^')?;
    if re.contains('|') {
        return None;
    }
    let mut out = String::new();
    let mut it = rest.chars().peekable();
    while let Some(c) = it.next() {
        let lit = match c {
            '\\' => match it.peek() {
                // An escaped punctuation character is that character;
                // `\d`, `\w`, `\x41`, `\n`, `\<` (a word boundary) … are
                // not plain literals.
                Some(&n) if n.is_ascii_punctuation() && n != '<' && n != '>' => {
                    it.next();
                    n
                }
                _ => break,
            },
            '.' | '[' | ']' | '(' | ')' | '{' | '}' | '?' | '*' | '+' | '^' | '$' | '#' => break,
            c if c.is_whitespace() => break,
            c => c,
        };
        if matches!(it.peek(), Some('?' | '*' | '{')) {
            break;
        }
        out.push(lit);
    }
    (!out.is_empty()).then_some(out)
}

/// Matchers (their numbers) by key.
type ByKey<K> = HashMap<K, Vec<u32>, FastHash>;

/// The matchers indexed by [`ObservableMatcher::index_key`], for one kind of
/// extracted observable: each observable meets them with a few hash look-ups
/// instead of one evaluation per matcher.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    /// IPv4 networks by prefix length: (length, mask, network → matchers).
    v4: Vec<(u8, u32, ByKey<u32>)>,
    /// Prefixes by their length.
    prefix: Vec<(usize, ByKey<String>)>,
    /// Suffixes that start with a dot (`LIKE '%.evil.com'`): looked up at
    /// each dot of the value.
    dot_suffix: ByKey<String>,
    /// Other suffixes, by their length.
    suffix: Vec<(usize, ByKey<String>)>,
}

fn by_len(v: &mut Vec<(usize, ByKey<String>)>, n: usize) -> &mut ByKey<String> {
    let i = match v.iter().position(|e| e.0 == n) {
        Some(i) => i,
        None => {
            v.push((n, HashMap::default()));
            v.len() - 1
        }
    };
    &mut v[i].1
}

impl KeyIndex {
    /// Index matcher `m` under `test`.
    pub(crate) fn add(&mut self, test: &KeyTest, m: u32) {
        match test {
            KeyTest::Ipv4Cidr { net, len } => {
                let len = (*len).min(32);
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - len as u32)
                };
                let i = match self.v4.iter().position(|e| e.0 == len) {
                    Some(i) => i,
                    None => {
                        self.v4.push((len, mask, HashMap::default()));
                        self.v4.len() - 1
                    }
                };
                self.v4[i].2.entry(net & mask).or_default().push(m);
            }
            KeyTest::Prefix(p) => by_len(&mut self.prefix, p.len())
                .entry(p.clone())
                .or_default()
                .push(m),
            KeyTest::Suffix(x) if x.starts_with('.') => {
                self.dot_suffix.entry(x.clone()).or_default().push(m)
            }
            KeyTest::Suffix(x) => by_len(&mut self.suffix, x.len())
                .entry(x.clone())
                .or_default()
                .push(m),
        }
    }

    /// Is nothing indexed?
    pub(crate) fn is_empty(&self) -> bool {
        self.v4.is_empty()
            && self.prefix.is_empty()
            && self.dot_suffix.is_empty()
            && self.suffix.is_empty()
    }

    /// Call `f` with each matcher whose key the value meets; `v4` is the
    /// value as an IPv4 address, when it is one.
    pub(crate) fn candidates(&self, value: &str, v4: Option<u32>, mut f: impl FnMut(u32)) {
        let mut each = |ms: Option<&Vec<u32>>| ms.into_iter().flatten().for_each(|&m| f(m));
        if let Some(a) = v4 {
            for (_, mask, map) in &self.v4 {
                each(map.get(&(a & mask)));
            }
        }
        for (n, map) in &self.prefix {
            if let Some(p) = value.get(..*n) {
                each(map.get(p));
            }
        }
        if !self.dot_suffix.is_empty() {
            for (i, _) in value.match_indices('.') {
                each(self.dot_suffix.get(&value[i..]));
            }
        }
        for (n, map) in &self.suffix {
            if let Some(x) = value.len().checked_sub(*n).and_then(|i| value.get(i..)) {
                each(map.get(x));
            }
        }
    }
}

/// Read the active indicators of a STIX bundle (JSON text) into rules: objects
/// of type `indicator` with `pattern_type` `stix` (or none) that are not
/// `revoked` and not past `valid_until` relative to `now` (RFC 3339, compared
/// as text; pass `None` to skip that check).
pub fn rules_from_bundle(json: &str, now: Option<&str>) -> crate::Result<Vec<IndicatorRule>> {
    let bad = |e: serde_json::Error| crate::Error::new(crate::ErrorKind::Bundle(e.to_string()));
    // Typed, borrowing parse: only the fields read here are kept, the rest of
    // each object is skipped (a bundle of 10,000 indicators parses in a few
    // milliseconds instead of building a tree of values).
    let objects: Vec<BundleObject<'_>> = match json.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str(json).map_err(bad)?,
        Some(b'{') => {
            let top: BundleObject<'_> = serde_json::from_str(json).map_err(bad)?;
            if top.kind.as_deref() == Some("bundle") {
                top.objects.unwrap_or_default()
            } else {
                vec![top]
            }
        }
        _ => {
            return Err(crate::Error::new(crate::ErrorKind::Bundle(
                "expected a bundle, an array or an object".into(),
            )))
        }
    };
    rules_of(&objects, now)
}

/// [`rules_from_bundle`] for objects already parsed (the store's indicators for
/// `liaison screen --from-store`: read as values, not written out as a bundle
/// and parsed again).
pub fn rules_from_values(
    objects: &[serde_json::Value],
    now: Option<&str>,
) -> crate::Result<Vec<IndicatorRule>> {
    let objects = objects
        .iter()
        .enumerate()
        .map(|(i, v)| {
            serde::Deserialize::deserialize(v).map_err(|e: serde_json::Error| {
                crate::Error::new(crate::ErrorKind::Bundle(format!("objects[{i}]: {e}")))
            })
        })
        .collect::<crate::Result<Vec<BundleObject<'_>>>>()?;
    rules_of(&objects, now)
}

/// The active STIX indicators among `objects` as rules.
fn rules_of(objects: &[BundleObject<'_>], now: Option<&str>) -> crate::Result<Vec<IndicatorRule>> {
    let mut out = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        if o.kind.as_deref() != Some("indicator") || o.revoked == Some(true) {
            continue;
        }
        if let (Some(now), Some(until)) = (now, o.valid_until.as_deref()) {
            if until <= now {
                continue;
            }
        }
        if o.pattern_type.as_deref().unwrap_or("stix") != "stix" {
            continue;
        }
        let id = o.id.as_deref().ok_or_else(|| {
            crate::Error::new(crate::ErrorKind::Bundle(format!(
                "objects[{i}]: indicator without id"
            )))
        })?;
        let pattern = o.pattern.as_deref().ok_or_else(|| {
            crate::Error::new(crate::ErrorKind::Bundle(format!(
                "objects[{i}] ({id}): no pattern"
            )))
        })?;
        let severity = o
            .severity
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(Severity::High);
        out.push(IndicatorRule {
            id: id.to_string(),
            pattern: pattern.to_string(),
            label: o.name.as_deref().map(String::from),
            severity,
        });
    }
    Ok(out)
}

/// The fields of a STIX object (or bundle) that [`rules_from_bundle`] reads.
#[derive(serde::Deserialize)]
struct BundleObject<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    pattern: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    pattern_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    valid_until: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    revoked: Option<bool>,
    #[serde(rename = "x_liaison_severity", borrow, default)]
    severity: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    objects: Option<Vec<BundleObject<'a>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(p: &str) -> Vec<(String, String, String)> {
        match SimpleCompiler.compile(p).unwrap() {
            Compiled::Literals(l) => l
                .into_iter()
                .map(|l| (l.object_type, l.path, l.value))
                .collect(),
            Compiled::Matcher(_) => panic!("not literal: {p}"),
        }
    }

    #[test]
    fn literal_patterns() {
        assert_eq!(
            lits("[domain-name:value = 'evil.com'] OR [ipv4-addr:value = '1.2.3.4']"),
            [
                ("domain-name".into(), "value".into(), "evil.com".into()),
                ("ipv4-addr".into(), "value".into(), "1.2.3.4".into())
            ]
        );
        assert_eq!(
            lits("[file:hashes.'SHA-256' = 'ab' OR file:hashes.MD5 = 'cd']")[0].1,
            "hashes.SHA256"
        );
        assert_eq!(
            lits("[url:value = 'http://x.com/it\\'s']")[0].2,
            "http://x.com/it's"
        );
    }

    #[test]
    fn matcher_patterns() {
        let Compiled::Matcher(m) = SimpleCompiler
            .compile(
                "[ipv4-addr:value ISSUBSET '198.51.0.0/16' AND ipv4-addr:value NOT = '198.51.1.1']",
            )
            .unwrap()
        else {
            panic!()
        };
        let o = |v| Observable {
            object_type: "ipv4-addr",
            path: "value",
            value: v,
        };
        assert!(m.matches(&o("198.51.7.7")));
        assert!(!m.matches(&o("198.51.1.1")));
        assert!(!m.matches(&o("8.8.8.8")));
        let Compiled::Matcher(m) = SimpleCompiler
            .compile("[domain-name:value LIKE '%.evil.com']")
            .unwrap()
        else {
            panic!()
        };
        assert!(m.matches(&Observable {
            object_type: "domain-name",
            path: "value",
            value: "a.evil.com"
        }));
        assert!(!m.matches(&Observable {
            object_type: "domain-name",
            path: "value",
            value: "notevil.com"
        }));
    }

    #[test]
    fn anchored_regex_prefixes() {
        let cases = [
            (r"^https://evil\.com/", Some("https://evil.com/")),
            (r"^https://evil\.com/x?", Some("https://evil.com/")),
            (r"^https?://", Some("http")),
            (r"^ab*c", Some("a")),
            (r"^a{2}", None),
            (r"^http://(a|b)", None),
            (r"^http://a|^b", None),
            (r"evil\.com", None),
            (r"(?i)^evil", None),
            (r"^\d+", None),
            (r"^a\<b", Some("a")),
            (r"^a\.b\.", Some("a.b.")),
            (r"^x[0-9]", Some("x")),
        ];
        for (re, want) in cases {
            assert_eq!(regex_prefix(re).as_deref(), want, "{re}");
        }
    }

    #[test]
    fn index_keys() {
        let key = |p: &str| match SimpleCompiler.compile(p).unwrap() {
            Compiled::Matcher(m) => m.index_key().map(|k| k.test),
            Compiled::Literals(_) => panic!("literal: {p}"),
        };
        assert_eq!(
            key("[ipv4-addr:value ISSUBSET '10.1.2.3/16']"),
            Some(KeyTest::Ipv4Cidr {
                net: 0x0a01_0000,
                len: 16
            })
        );
        assert_eq!(
            key("[domain-name:value LIKE '%.evil.com']"),
            Some(KeyTest::Suffix(".evil.com".into()))
        );
        assert_eq!(
            key("[url:value MATCHES '^http://x\\\\.biz/']"),
            Some(KeyTest::Prefix("http://x.biz/".into()))
        );
        assert_eq!(key("[domain-name:value NOT LIKE '%.evil.com']"), None);
        assert_eq!(key("[ipv6-addr:value ISSUBSET '2001:db8::/32']"), None);
        assert_eq!(
            key("[domain-name:value LIKE '%.a' AND domain-name:value != 'x.a']"),
            None
        );
    }

    #[test]
    fn unsupported() {
        assert!(SimpleCompiler
            .compile("[a:b = 'x'] FOLLOWEDBY [c:d = 'y']")
            .is_err());
        assert!(SimpleCompiler
            .compile("[a:b = 'x'] WITHIN 5 SECONDS")
            .is_err());
        assert!(SimpleCompiler.compile("[a:b = ").is_err());
    }

    #[test]
    fn bundle() {
        let b = r#"{"type":"bundle","id":"bundle--1","objects":[
          {"type":"indicator","id":"indicator--a","pattern":"[ipv4-addr:value = '1.2.3.4']","pattern_type":"stix","name":"bad ip"},
          {"type":"indicator","id":"indicator--b","pattern":"x","pattern_type":"sigma"},
          {"type":"indicator","id":"indicator--c","pattern":"[ipv4-addr:value = '1.2.3.5']","revoked":true},
          {"type":"malware","id":"malware--d","name":"x"}]}"#;
        let r = rules_from_bundle(b, None).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].label.as_deref(), Some("bad ip"));
        // The same objects already parsed give the same rules; one without a
        // pattern is named by its place.
        let v: serde_json::Value = serde_json::from_str(b).unwrap();
        let objects = v["objects"].as_array().unwrap();
        assert_eq!(rules_from_values(objects, None).unwrap(), r);
        let mut broken = objects.clone();
        broken[0].as_object_mut().unwrap().remove("pattern");
        let e = rules_from_values(&broken, None).unwrap_err().to_string();
        assert!(e.contains("objects[0]") && e.contains("no pattern"), "{e}");
    }
}
