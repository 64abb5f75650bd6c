//! The matcher: a pattern compiled once ([`CompiledPattern`]) and evaluated against
//! observations ([`Observations`]) with the semantics of the OASIS reference matcher
//! (`stix2-matcher` 3.0).
//!
//! Evaluation has two phases:
//! 1. every bracketed comparison expression is evaluated against every observation
//!    (per root cyber-observable object: `AND` inside brackets means "same object");
//! 2. observation expressions combine the matching observations into *bindings*,
//!    found by a depth-first search that prunes on resources and time constraints.
//!    An observed-data with `number_observed = n` stands for n indistinguishable
//!    observations, so a binding is a multiset `{observation: count}`; `AND`,
//!    `FOLLOWEDBY` and `REPEATS` need disjoint observations (counts must fit within
//!    `number_observed`), `FOLLOWEDBY` needs a possible ordering of timestamps,
//!    `WITHIN` needs all chosen intervals to fit a window, and `START … STOP` needs
//!    every interval to overlap `[start, stop)`.

use regex::Regex;
use serde_json::{Map, Value};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::ast::*;
use crate::error::MatchError;
use crate::values::{self, CLit, OrderOutcome, Val};
use crate::StixVersion;

/// STIX 2.1 domain object types: the reference matcher never matches these in 2.1.
pub(crate) const SDO_TYPES_V21: &[&str] = &[
    "attack-pattern",
    "bundle",
    "campaign",
    "course-of-action",
    "extension-definition",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "language-content",
    "location",
    "malware",
    "malware-analysis",
    "marking-definition",
    "note",
    "observed-data",
    "opinion",
    "relationship",
    "report",
    "threat-actor",
    "tool",
    "sighting",
    "vulnerability",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    None,
    Hex,
    Bin,
    Ref,
    Refs,
}

#[derive(Debug, Clone)]
enum CStep {
    Key(String, Suffix),
    Index(i64),
    Any,
}

#[derive(Debug, Clone, Copy)]
enum OrdOp {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug)]
enum Pred {
    Eq(CLit),
    Ne(CLit),
    Order(OrdOp, CLit),
    In(Vec<CLit>, bool),
    Like(Regex, bool),
    Matches(Regex, Option<regex::bytes::Regex>),
    IsSubset(String),
    IsSuperset(String),
    Exists,
}

#[derive(Debug)]
struct CTest {
    object_type: String,
    /// Never matches (an SDO type under STIX 2.1).
    excluded: bool,
    steps: Vec<CStep>,
    /// Path resolution can raise an error (references, hex/base64 properties).
    path_fallible: bool,
    /// All steps are plain keys/indexes: at most one value, no allocation.
    simple_path: bool,
    pred: Pred,
    negated: bool,
}

#[derive(Debug)]
enum CCmp {
    And(Vec<CCmp>),
    Or(Vec<CCmp>),
    Test(usize),
}

#[derive(Debug)]
enum CObs {
    Leaf(usize),
    And(Vec<CObs>),
    Or(Vec<CObs>),
    FollowedBy(Vec<CObs>),
    Within(Box<CObs>, i64),
    Repeats(Box<CObs>, u64),
    StartStop(Box<CObs>, i64, i64),
}

/// A pattern compiled for matching: object paths resolved into steps, regular
/// expressions compiled, timestamps converted, qualifier values checked.
///
/// Build it once and use it for many matches.
///
/// ```
/// use liaison_pattern::{CompiledPattern, Observations, StixVersion};
/// let m = CompiledPattern::compile("[domain-name:value = 'example.com']", StixVersion::V21).unwrap();
/// let bundle: serde_json::Value = serde_json::json!({
///   "type": "bundle", "id": "bundle--1", "objects": [
///     {"type": "observed-data", "id": "observed-data--1", "first_observed": "2024-01-01T00:00:00Z",
///      "last_observed": "2024-01-01T00:00:00Z", "number_observed": 1, "object_refs": ["domain-name--1"]},
///     {"type": "domain-name", "id": "domain-name--1", "value": "example.com"}]});
/// let bundles = [bundle];
/// let obs = Observations::new(&bundles, StixVersion::V21).unwrap();
/// assert!(m.matches(&obs).unwrap());
/// ```
#[derive(Debug)]
pub struct CompiledPattern {
    pattern: Pattern,
    version: StixVersion,
    tests: Vec<CTest>,
    brackets: Vec<CCmp>,
    root: CObs,
    /// Some test can raise an error: evaluate without short-circuit, as the reference does.
    strict: bool,
}

fn suffix_of(name: &str) -> Suffix {
    if name.ends_with("_hex") {
        Suffix::Hex
    } else if name.ends_with("_bin") {
        Suffix::Bin
    } else if name.ends_with("_refs") {
        Suffix::Refs
    } else if name.ends_with("_ref") {
        Suffix::Ref
    } else {
        Suffix::None
    }
}

fn nfc(s: &str) -> String {
    if is_nfc_quick(s.chars()) == IsNormalized::Yes {
        s.to_string()
    } else {
        s.nfc().collect()
    }
}

/// Translates a LIKE operand to an anchored regular expression (Python `re.match`
/// with `^…$`, where `$` also matches before a final newline).
pub(crate) fn like_regex(operand: &str) -> Result<Regex, MatchError> {
    let mut re = String::with_capacity(operand.len() * 2 + 8);
    re.push_str("^(?:");
    for c in operand.chars() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            c => {
                let mut buf = [0u8; 4];
                re.push_str(&regex::escape(c.encode_utf8(&mut buf)));
            }
        }
    }
    re.push_str(")\n?$");
    Regex::new(&re).map_err(|e| MatchError::new(format!("Invalid LIKE pattern: {e}")))
}

/// Compiles a MATCHES operand (already NFC-normalized) for text, and when every code
/// point is below 256, for binary values too.
pub(crate) fn matches_regex(re: &str) -> Result<(Regex, Option<regex::bytes::Regex>), MatchError> {
    let text =
        Regex::new(re).map_err(|e| MatchError::new(format!("Invalid regular expression: {e}")))?;
    let bin = if re.chars().all(|c| (c as u32) < 256) {
        let mut b = String::with_capacity(re.len() + 8);
        b.push_str("(?s-u)");
        for c in re.chars() {
            if (c as u32) >= 128 {
                b.push_str(&format!("\\x{:02X}", c as u32));
            } else {
                b.push(c);
            }
        }
        // With `s` off again for '.', as in Python (which does not match '\n').
        let b = b.replacen("(?s-u)", "(?-u)", 1);
        regex::bytes::Regex::new(&b).ok()
    } else {
        None
    };
    Ok((text, bin))
}

fn compile_literal(l: &Literal) -> Result<CLit, MatchError> {
    Ok(match l {
        Literal::Int(i) => CLit::Int(*i),
        Literal::Float(f) => CLit::Float(*f),
        Literal::Str(s) => CLit::Str(s.clone()),
        Literal::Bool(b) => CLit::Bool(*b),
        Literal::Binary(b) | Literal::Hex(b) => CLit::Bytes(b.clone()),
        Literal::Timestamp(t) => CLit::Time(
            crate::timestamp::parse_timestamp_micros(t)
                .map_err(|_| MatchError::new(format!("Invalid TimestampLiteral: t'{t}'")))?,
        ),
    })
}

/// Checks a set literal the way the reference does: one type, or numbers only.
pub(crate) fn check_set(items: &[Literal]) -> Result<(), MatchError> {
    let kind = |l: &Literal| match l {
        Literal::Int(_) => 0,
        Literal::Float(_) => 1,
        Literal::Str(_) => 2,
        Literal::Bool(_) => 3,
        Literal::Binary(_) | Literal::Hex(_) => 4,
        Literal::Timestamp(_) => 5,
    };
    let Some(first) = items.first() else {
        return Ok(());
    };
    let k0 = kind(first);
    let homogeneous = items.iter().all(|l| kind(l) == k0);
    let numbers = items.iter().all(|l| kind(l) <= 1);
    if homogeneous || numbers {
        Ok(())
    } else {
        let text: Vec<String> = items.iter().map(|l| l.to_string()).collect();
        Err(MatchError::new(format!(
            "Nonhomogenous set: ({})",
            text.join(",")
        )))
    }
}

impl CompiledPattern {
    /// Parses and compiles a pattern.
    pub fn compile(pattern: &str, version: StixVersion) -> Result<Self, crate::Error> {
        let p = crate::parse(pattern)?;
        Ok(Self::new(p, version)?)
    }

    /// Compiles a parsed pattern.
    pub fn new(pattern: Pattern, version: StixVersion) -> Result<Self, MatchError> {
        let mut c = CompiledPattern {
            pattern: Pattern {
                root: ObservationExpr::And(Vec::new()),
            },
            version,
            tests: Vec::new(),
            brackets: Vec::new(),
            root: CObs::Or(Vec::new()),
            strict: false,
        };
        let root = c.compile_obs(&pattern.root)?;
        c.root = root;
        c.pattern = pattern;
        c.strict = c.tests.iter().any(|t| {
            t.path_fallible
                || matches!(
                    &t.pred,
                    Pred::IsSubset(_) | Pred::IsSuperset(_) | Pred::In(_, true) | Pred::Like(_, _)
                )
                || matches!(
                    &t.pred,
                    Pred::Eq(CLit::Time(_))
                        | Pred::Ne(CLit::Time(_))
                        | Pred::Order(_, CLit::Time(_))
                )
        });
        Ok(c)
    }

    /// The pattern this was compiled from.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The STIX version the observations are expected in.
    pub fn version(&self) -> StixVersion {
        self.version
    }

    fn compile_obs(&mut self, e: &ObservationExpr) -> Result<CObs, MatchError> {
        Ok(match e {
            ObservationExpr::Comparison(c) => {
                let cc = self.compile_cmp(c)?;
                self.brackets.push(cc);
                CObs::Leaf(self.brackets.len() - 1)
            }
            ObservationExpr::Group(inner) => self.compile_obs(inner)?,
            ObservationExpr::And(items) => CObs::And(
                items
                    .iter()
                    .map(|i| self.compile_obs(i))
                    .collect::<Result<_, _>>()?,
            ),
            ObservationExpr::Or(items) => CObs::Or(
                items
                    .iter()
                    .map(|i| self.compile_obs(i))
                    .collect::<Result<_, _>>()?,
            ),
            ObservationExpr::FollowedBy(items) => CObs::FollowedBy(
                items
                    .iter()
                    .map(|i| self.compile_obs(i))
                    .collect::<Result<_, _>>()?,
            ),
            ObservationExpr::Qualified(inner, q) => {
                let inner = Box::new(self.compile_obs(inner)?);
                match q {
                    Qualifier::Within { seconds, text } => {
                        if seconds.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                            return Err(MatchError::new(format!(
                                "Invalid WITHIN value (must be positive): {text}"
                            )));
                        }
                        let micros = (seconds * 1e6).round();
                        let micros = if micros >= i64::MAX as f64 {
                            i64::MAX
                        } else {
                            micros as i64
                        };
                        CObs::Within(inner, micros)
                    }
                    Qualifier::Repeats(n) => {
                        if *n < 1 {
                            return Err(MatchError::new(format!("Invalid repetition count: {n}")));
                        }
                        CObs::Repeats(inner, *n)
                    }
                    Qualifier::StartStop { start, stop } => {
                        let conv = |b: &TimeBound| {
                            crate::timestamp::parse_timestamp_micros(&b.text).map_err(|msg| {
                                if b.plain_string {
                                    MatchError::new(msg)
                                } else {
                                    MatchError::new(format!(
                                        "Invalid TimestampLiteral: t'{}'",
                                        b.text
                                    ))
                                }
                            })
                        };
                        CObs::StartStop(inner, conv(start)?, conv(stop)?)
                    }
                }
            }
        })
    }

    fn compile_cmp(&mut self, c: &ComparisonExpr) -> Result<CCmp, MatchError> {
        Ok(match c {
            ComparisonExpr::And(items) => CCmp::And(
                items
                    .iter()
                    .map(|i| self.compile_cmp(i))
                    .collect::<Result<_, _>>()?,
            ),
            ComparisonExpr::Or(items) => CCmp::Or(
                items
                    .iter()
                    .map(|i| self.compile_cmp(i))
                    .collect::<Result<_, _>>()?,
            ),
            ComparisonExpr::Test(t) => {
                let ct = self.compile_test(t)?;
                self.tests.push(ct);
                CCmp::Test(self.tests.len() - 1)
            }
        })
    }

    fn compile_test(&mut self, t: &PropTest) -> Result<CTest, MatchError> {
        let steps: Vec<CStep> = t
            .path
            .steps
            .iter()
            .map(|s| match s {
                PathStep::Key(k) => CStep::Key(k.clone(), suffix_of(k)),
                PathStep::Index(i) => CStep::Index(*i),
                PathStep::AnyIndex => CStep::Any,
            })
            .collect();
        let path_fallible = steps
            .iter()
            .any(|s| matches!(s, CStep::Key(_, suf) if *suf != Suffix::None));
        let simple_path = steps
            .iter()
            .all(|s| matches!(s, CStep::Key(_, Suffix::None) | CStep::Index(_)));
        let lit = |o: &Operand| -> Result<CLit, MatchError> {
            match o {
                Operand::Literal(l) => compile_literal(l),
                _ => Err(MatchError::new("internal: operator without a literal")),
            }
        };
        let string_operand = |o: &Operand| -> Result<String, MatchError> {
            match o {
                Operand::Literal(Literal::Str(s)) => Ok(s.clone()),
                _ => Err(MatchError::new(
                    "internal: operator without a string literal",
                )),
            }
        };
        let pred = match t.op {
            CompOp::Eq => Pred::Eq(lit(&t.operand)?),
            CompOp::Ne => Pred::Ne(lit(&t.operand)?),
            CompOp::Lt => Pred::Order(OrdOp::Lt, lit(&t.operand)?),
            CompOp::Le => Pred::Order(OrdOp::Le, lit(&t.operand)?),
            CompOp::Gt => Pred::Order(OrdOp::Gt, lit(&t.operand)?),
            CompOp::Ge => Pred::Order(OrdOp::Ge, lit(&t.operand)?),
            CompOp::In => {
                let items = match &t.operand {
                    Operand::Set(items) => items,
                    _ => return Err(MatchError::new("internal: IN without a set")),
                };
                let set = items
                    .iter()
                    .map(compile_literal)
                    .collect::<Result<Vec<_>, _>>()?;
                check_set(items)?;
                let is_time = matches!(set.first(), Some(CLit::Time(_)));
                Pred::In(set, is_time)
            }
            CompOp::Like => {
                let s = nfc(&string_operand(&t.operand)?);
                let re_chars_latin1 = like_regex_source_is_latin1(&s);
                Pred::Like(like_regex(&s)?, re_chars_latin1)
            }
            CompOp::Matches => {
                let s = nfc(&string_operand(&t.operand)?);
                let (re, bin) = matches_regex(&s)?;
                Pred::Matches(re, bin)
            }
            CompOp::IsSubset => Pred::IsSubset(string_operand(&t.operand)?),
            CompOp::IsSuperset => Pred::IsSuperset(string_operand(&t.operand)?),
            CompOp::Exists => Pred::Exists,
        };
        let excluded = self.version == StixVersion::V21
            && SDO_TYPES_V21.contains(&t.path.object_type.as_str());
        Ok(CTest {
            object_type: t.path.object_type.clone(),
            excluded,
            steps,
            path_fallible,
            simple_path,
            pred,
            negated: t.negated,
        })
    }

    /// Matches the pattern against prepared observations.
    pub fn matches(&self, obs: &Observations<'_>) -> Result<bool, MatchError> {
        let n = obs.obs.len();
        // Fast path: a single bracketed expression, no qualifier.
        if let CObs::Leaf(b) = self.root {
            let mut any = false;
            for o in &obs.obs {
                if self.eval_bracket(b, o)? {
                    any = true;
                    if !self.strict {
                        break;
                    }
                }
            }
            return Ok(any);
        }
        let mut leaf_hits: Vec<Vec<bool>> = Vec::with_capacity(self.brackets.len());
        for b in 0..self.brackets.len() {
            let mut hits = Vec::with_capacity(n);
            for o in &obs.obs {
                hits.push(self.eval_bracket(b, o)?);
            }
            leaf_hits.push(hits);
        }
        self.search_bindings(obs, &leaf_hits)
    }

    /// Convenience: prepares `observations` (a list of observed-data for 2.0, a list
    /// of bundles for 2.1) and matches.
    pub fn matches_json(&self, observations: &[Value]) -> Result<bool, MatchError> {
        let obs = Observations::new(observations, self.version)?;
        self.matches(&obs)
    }

    fn eval_bracket(&self, b: usize, o: &Obs<'_>) -> Result<bool, MatchError> {
        let mut any = false;
        for root in &o.roots {
            if self.eval_cmp(&self.brackets[b], root, o)? {
                any = true;
                if !self.strict {
                    return Ok(true);
                }
            }
        }
        Ok(any)
    }

    fn eval_cmp(&self, c: &CCmp, root: &Root<'_>, o: &Obs<'_>) -> Result<bool, MatchError> {
        match c {
            CCmp::Test(i) => self.eval_test(&self.tests[*i], root, o),
            CCmp::And(items) => {
                let mut all = true;
                for it in items {
                    if !self.eval_cmp(it, root, o)? {
                        all = false;
                        if !self.strict {
                            return Ok(false);
                        }
                    }
                }
                Ok(all)
            }
            CCmp::Or(items) => {
                let mut any = false;
                for it in items {
                    if self.eval_cmp(it, root, o)? {
                        any = true;
                        if !self.strict {
                            return Ok(true);
                        }
                    }
                }
                Ok(any)
            }
        }
    }

    fn eval_test(&self, t: &CTest, root: &Root<'_>, o: &Obs<'_>) -> Result<bool, MatchError> {
        if t.excluded || root.object_type != Some(t.object_type.as_str()) {
            return Ok(false);
        }
        if t.simple_path {
            // At most one value; no allocation.
            let mut cur = root.value;
            for s in &t.steps {
                let next = match s {
                    CStep::Key(k, _) => cur.as_object().and_then(|m| m.get(k)),
                    CStep::Index(i) => usize::try_from(*i)
                        .ok()
                        .and_then(|i| cur.as_array().and_then(|a| a.get(i))),
                    CStep::Any => None,
                };
                match next {
                    Some(v) => cur = v,
                    None => return Ok(false),
                }
            }
            return self.pred(t, &Val::Json(cur));
        }
        // General path: depth-first over all selected values, in document order.
        let mut found = false;
        let mut stack: Vec<(Val<'_>, usize)> = vec![(Val::Json(root.value), 0)];
        while let Some((v, depth)) = stack.pop() {
            if depth == t.steps.len() {
                if !found && self.pred(t, &v)? {
                    found = true;
                    if !t.path_fallible {
                        return Ok(true);
                    }
                }
                continue;
            }
            let start_len = stack.len();
            match &t.steps[depth] {
                CStep::Key(k, suffix) => {
                    let Val::Json(Value::Object(m)) = v else {
                        continue;
                    };
                    let Some(child) = m.get(k) else { continue };
                    match suffix {
                        Suffix::None => stack.push((Val::Json(child), depth + 1)),
                        Suffix::Hex => {
                            stack.push((Val::Bytes(values::decode_hex_prop(child)?), depth + 1))
                        }
                        Suffix::Bin => {
                            stack.push((Val::Bytes(values::decode_b64_prop(child)?), depth + 1))
                        }
                        Suffix::Ref => {
                            let Some(id) = child.as_str() else {
                                return Err(MatchError::new(format!(
                                    "The value of reference property '{k}' was not a string!  Got {child}"
                                )));
                            };
                            o.resolve(id, |r| stack.push((Val::Json(r), depth + 1)));
                        }
                        Suffix::Refs => {
                            let Some(list) = child.as_array() else {
                                return Err(MatchError::new(format!(
                                    "The value of reference list property '{k}' was not a list!  Got {child}"
                                )));
                            };
                            let mut objs = Vec::new();
                            for r in list {
                                let Some(id) = r.as_str() else {
                                    return Err(MatchError::new(format!(
                                        "A value of reference property '{k}' was not a string!  Got {r}"
                                    )));
                                };
                                o.resolve(id, |x| objs.push(x));
                            }
                            if !objs.is_empty() {
                                stack.push((Val::Objs(objs), depth + 1));
                            }
                        }
                    }
                }
                CStep::Index(i) => {
                    let Ok(i) = usize::try_from(*i) else { continue };
                    match v {
                        Val::Json(Value::Array(a)) => {
                            if let Some(x) = a.get(i) {
                                stack.push((Val::Json(x), depth + 1));
                            }
                        }
                        Val::Objs(objs) => {
                            if let Some(x) = objs.get(i) {
                                stack.push((Val::Json(x), depth + 1));
                            }
                        }
                        _ => {}
                    }
                }
                CStep::Any => match v {
                    Val::Json(Value::Array(a)) => {
                        stack.extend(a.iter().map(|x| (Val::Json(x), depth + 1)));
                    }
                    Val::Objs(objs) => {
                        stack.extend(objs.iter().map(|x| (Val::Json(x), depth + 1)));
                    }
                    _ => {}
                },
            }
            // Children were pushed in document order; reverse them so the stack pops
            // them in document order (depth-first, as the reference visits values).
            stack[start_len..].reverse();
        }
        Ok(found)
    }

    fn pred(&self, t: &CTest, v: &Val<'_>) -> Result<bool, MatchError> {
        let r = match &t.pred {
            Pred::Exists => return Ok(true),
            Pred::Eq(l) => values::equals(v, l)?,
            Pred::Ne(l) => !values::equals(v, l)?,
            Pred::Order(op, l) => match values::order(v, l)? {
                OrderOutcome::Incomparable => return Ok(false),
                OrderOutcome::Refused => false,
                OrderOutcome::Ordered(o) => match op {
                    OrdOp::Lt => o.is_lt(),
                    OrdOp::Le => o.is_le(),
                    OrdOp::Gt => o.is_gt(),
                    OrdOp::Ge => o.is_ge(),
                },
            },
            Pred::In(set, is_time) => values::in_set(v, set, *is_time)?,
            Pred::Like(re, latin1) => match v {
                Val::Json(Value::String(s)) => match_nfc(re, s),
                Val::Bytes(b) if *latin1 => {
                    let s = std::str::from_utf8(b).map_err(|e| {
                        MatchError::new(format!("'utf-8' codec can't decode bytes: {e}"))
                    })?;
                    match_nfc(re, s)
                }
                _ => false,
            },
            Pred::Matches(re, bin) => match v {
                Val::Json(Value::String(s)) => {
                    if is_nfc_quick(s.chars()) == IsNormalized::Yes {
                        re.is_match(s)
                    } else {
                        re.is_match(&s.nfc().collect::<String>())
                    }
                }
                Val::Bytes(b) => bin.as_ref().is_some_and(|r| r.is_match(b)),
                _ => false,
            },
            Pred::IsSubset(net) => match v {
                Val::Json(Value::String(s)) => values::ip_in_subnet(s, net)?,
                _ => false,
            },
            Pred::IsSuperset(ip) => match v {
                Val::Json(Value::String(s)) => values::ip_in_subnet(ip, s)?,
                _ => false,
            },
        };
        Ok(r != t.negated)
    }
}

fn like_regex_source_is_latin1(operand: &str) -> bool {
    // The reference checks the generated regex; escaping adds only ASCII.
    operand.chars().all(|c| (c as u32) < 256)
}

fn match_nfc(re: &Regex, s: &str) -> bool {
    if is_nfc_quick(s.chars()) == IsNormalized::Yes {
        re.is_match(s)
    } else {
        re.is_match(&s.nfc().collect::<String>())
    }
}

// ---------------------------------------------------------------------------
// Observations

struct Root<'a> {
    object_type: Option<&'a str>,
    value: &'a Value,
}

enum ObjIndex<'a> {
    /// STIX 2.0: the `objects` dictionary.
    Dict(Option<&'a Map<String, Value>>),
    /// STIX 2.1: the observed-data followed by the objects of its `object_refs`.
    List(Vec<&'a Value>),
}

struct Obs<'a> {
    roots: Vec<Root<'a>>,
    index: ObjIndex<'a>,
    first: i64,
    last: i64,
    count: u64,
}

impl<'a> Obs<'a> {
    fn resolve(&self, id: &str, mut f: impl FnMut(&'a Value)) {
        match &self.index {
            ObjIndex::Dict(Some(m)) => {
                if let Some(v) = m.get(id) {
                    f(v);
                }
            }
            ObjIndex::Dict(None) => {}
            ObjIndex::List(objs) => {
                for o in objs {
                    if o.get("id").and_then(Value::as_str) == Some(id) {
                        f(o);
                    }
                }
            }
        }
    }
}

/// Observations prepared for matching: timestamps parsed once, objects indexed.
pub struct Observations<'a> {
    obs: Vec<Obs<'a>>,
}

fn obs_header(od: &Value, version: StixVersion) -> Result<(i64, i64, u64), MatchError> {
    let keys = ["number_observed", "first_observed", "last_observed"];
    if !keys.iter().all(|k| od.get(k).is_some()) {
        return Err(MatchError::new(match version {
            StixVersion::V20 => "STIX v2.0 SDO must have all the following keys: number_observed, first_observed, last_observed.",
            StixVersion::V21 => "STIX v2.1 observed-data object must have all the following keys: number_observed, first_observed, last_observed.",
        }));
    }
    let n = &od["number_observed"];
    let count = match n.as_u64() {
        Some(c) if c >= 1 => c,
        _ => {
            return Err(MatchError::new(format!(
                "SDO with invalid number_observed (must be >= 1): {n}"
            )))
        }
    };
    let ts = |k: &str| -> Result<i64, MatchError> {
        let v = &od[k];
        let s = v
            .as_str()
            .ok_or_else(|| MatchError::new(format!("{k} is not a string: {v}")))?;
        crate::timestamp::parse_timestamp_micros(s).map_err(MatchError::new)
    };
    Ok((ts("first_observed")?, ts("last_observed")?, count))
}

impl<'a> Observations<'a> {
    /// Prepares observations: for STIX 2.0 a list of observed-data objects with
    /// `objects` dictionaries; for STIX 2.1 a list of bundles holding observed-data
    /// and the SCOs their `object_refs` point to.
    pub fn new(items: &'a [Value], version: StixVersion) -> Result<Self, MatchError> {
        match version {
            StixVersion::V20 => Self::new_v20(items),
            StixVersion::V21 => Self::new_v21(items),
        }
    }

    /// Number of observed-data objects.
    pub fn len(&self) -> usize {
        self.obs.len()
    }

    /// Whether there is no observed-data.
    pub fn is_empty(&self) -> bool {
        self.obs.is_empty()
    }

    fn new_v20(items: &'a [Value]) -> Result<Self, MatchError> {
        let mut obs = Vec::with_capacity(items.len());
        for sdo in items {
            if !sdo.is_object() {
                return Err(MatchError::new("observed-data must be a JSON object"));
            }
            let (first, last, count) = obs_header(sdo, StixVersion::V20)?;
            let objects = match sdo.get("objects") {
                None => None,
                Some(Value::Object(m)) => Some(m),
                Some(_) => {
                    return Err(MatchError::new(
                        "'objects' must be a JSON object in STIX 2.0",
                    ))
                }
            };
            let roots = objects
                .map(|m| {
                    m.values()
                        .map(|v| Root {
                            object_type: v.get("type").and_then(Value::as_str),
                            value: v,
                        })
                        .collect()
                })
                .unwrap_or_default();
            obs.push(Obs {
                roots,
                index: ObjIndex::Dict(objects),
                first,
                last,
                count,
            });
        }
        Ok(Observations { obs })
    }

    fn new_v21(items: &'a [Value]) -> Result<Self, MatchError> {
        let mut all: Vec<&'a Value> = Vec::new();
        let mut has_objects = false;
        for b in items {
            let Some(m) = b.as_object() else {
                return Err(MatchError::new("a STIX v2.1 bundle must be a JSON object"));
            };
            if let Some(objs) = m.get("objects") {
                has_objects = true;
                let Some(list) = objs.as_array() else {
                    return Err(MatchError::new("a bundle's 'objects' must be a list"));
                };
                all.extend(list.iter());
            }
        }
        if !has_objects {
            return Err(MatchError::new(
                "STIX v2.1 bundle object must have 'objects' key",
            ));
        }
        let mut ods = Vec::new();
        let mut scos: std::collections::HashMap<&'a str, &'a Value> =
            std::collections::HashMap::new();
        for o in &all {
            let t = o
                .get("type")
                .and_then(Value::as_str)
                .ok_or_else(|| MatchError::new("an object without 'type' in the bundle"))?;
            if t == "observed-data" {
                ods.push(*o);
            } else {
                let id = o
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| MatchError::new("an object without 'id' in the bundle"))?;
                scos.insert(id, *o);
            }
        }
        let mut obs = Vec::with_capacity(ods.len());
        for od in ods {
            let refs = od.get("object_refs").ok_or_else(|| {
                MatchError::new("STIX v2.1 observed-data object must have 'object_refs' key")
            })?;
            let mut list: Vec<&'a Value> = vec![od];
            if let Some(refs) = refs.as_array() {
                for r in refs {
                    if let Some(sco) = r.as_str().and_then(|id| scos.get(id)) {
                        list.push(sco);
                    }
                }
            }
            let (first, last, count) = obs_header(od, StixVersion::V21)?;
            // Roots are keyed by id: a repeated id keeps its first position, last value.
            let mut roots: Vec<Root<'a>> = Vec::with_capacity(list.len());
            let mut seen: Vec<&'a str> = Vec::with_capacity(list.len());
            for v in &list {
                let id = v
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| MatchError::new("an object without 'id' in the bundle"))?;
                let root = Root {
                    object_type: v.get("type").and_then(Value::as_str),
                    value: v,
                };
                if let Some(pos) = seen.iter().position(|s| *s == id) {
                    roots[pos] = root;
                } else {
                    seen.push(id);
                    roots.push(root);
                }
            }
            obs.push(Obs {
                roots,
                index: ObjIndex::List(list),
                first,
                last,
                count,
            });
        }
        Ok(Observations { obs })
    }
}

// ---------------------------------------------------------------------------
// Bindings: a depth-first search with pruning

#[derive(Debug, Clone, Copy)]
struct Agg {
    /// Latest `first_observed` among the chosen observations.
    max_first: i64,
    /// Earliest `last_observed` among the chosen observations.
    min_last: i64,
}

impl Agg {
    const EMPTY: Agg = Agg {
        max_first: i64::MIN,
        min_last: i64::MAX,
    };

    fn join(self, o: Agg) -> Agg {
        Agg {
            max_first: self.max_first.max(o.max_first),
            min_last: self.min_last.min(o.min_last),
        }
    }
}

/// A constraint on every observation chosen inside some subtree.
#[derive(Debug, Clone, Copy)]
enum Cons {
    /// `first_observed <= max_first` and `last_observed >= min_last` (START/STOP, FOLLOWEDBY).
    Bounds { max_first: i64, min_last: i64 },
    /// WITHIN: all chosen intervals fit a window of `micros`; `agg` is what was chosen so far.
    Window { micros: i64, agg: Agg },
}

type Cont<'k, 's, 'a> = &'k mut dyn FnMut(&mut Search<'s, 'a>, Agg) -> Result<bool, MatchError>;

/// Upper bound on observation choices in one match (bounds time on adversarial input).
pub const MAX_SEARCH_STEPS: u64 = 20_000_000;
/// Upper bound on search nesting (REPEATS counts multiply it); bounds stack use.
const MAX_SEARCH_DEPTH: usize = 1_000;

struct Search<'s, 'a> {
    obs: &'s Observations<'a>,
    /// Per bracketed expression: indexes of the observations it matched.
    cands: Vec<Vec<u32>>,
    used: Vec<u64>,
    cons: Vec<Cons>,
    undo: Vec<(usize, Agg)>,
    /// Observations chosen, in order (REPEATS compares successive bindings on it).
    trail: Vec<u32>,
    steps: u64,
    depth: usize,
}

fn too_complex() -> MatchError {
    MatchError::new("pattern too complex for these observations (search limit reached)")
}

impl<'s, 'a> Search<'s, 'a> {
    /// Fewest observations a binding of `node` needs (saturating).
    fn need(node: &CObs) -> u64 {
        match node {
            CObs::Leaf(_) => 1,
            CObs::And(items) | CObs::FollowedBy(items) => {
                items.iter().map(Self::need).fold(0, u64::saturating_add)
            }
            CObs::Or(items) => items.iter().map(Self::need).min().unwrap_or(0),
            CObs::Within(inner, _) | CObs::StartStop(inner, _, _) => Self::need(inner),
            CObs::Repeats(inner, n) => Self::need(inner).saturating_mul(*n),
        }
    }

    fn solve(&mut self, node: &CObs, k: Cont<'_, 's, 'a>) -> Result<bool, MatchError> {
        self.depth += 1;
        if self.depth > MAX_SEARCH_DEPTH {
            return Err(too_complex());
        }
        let r = self.solve_inner(node, k);
        self.depth -= 1;
        r
    }

    fn solve_inner(&mut self, node: &CObs, k: Cont<'_, 's, 'a>) -> Result<bool, MatchError> {
        match node {
            CObs::Leaf(b) => {
                for ci in 0..self.cands[*b].len() {
                    let i = self.cands[*b][ci] as usize;
                    let o = &self.obs.obs[i];
                    if self.used[i] >= o.count || !self.admissible(o.first, o.last) {
                        continue;
                    }
                    self.steps += 1;
                    if self.steps > MAX_SEARCH_STEPS {
                        return Err(too_complex());
                    }
                    let (first, last) = (o.first, o.last);
                    self.used[i] += 1;
                    self.trail.push(i as u32);
                    let undo_len = self.undo.len();
                    for (ci, c) in self.cons.iter_mut().enumerate() {
                        if let Cons::Window { agg, .. } = c {
                            self.undo.push((ci, *agg));
                            *agg = agg.join(Agg {
                                max_first: first,
                                min_last: last,
                            });
                        }
                    }
                    let r = k(
                        self,
                        Agg {
                            max_first: first,
                            min_last: last,
                        },
                    );
                    while self.undo.len() > undo_len {
                        if let Some((ci, agg)) = self.undo.pop() {
                            if let Some(Cons::Window { agg: a, .. }) = self.cons.get_mut(ci) {
                                *a = agg;
                            }
                        }
                    }
                    self.trail.pop();
                    self.used[i] -= 1;
                    if r? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            CObs::Or(items) => {
                // One-sided, as the reference: a binding of one operand.
                for it in items {
                    if self.solve(it, &mut *k)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            CObs::And(items) => self.seq(items, false, Agg::EMPTY, k),
            CObs::FollowedBy(items) => self.seq(items, true, Agg::EMPTY, k),
            CObs::Within(inner, micros) => {
                self.cons.push(Cons::Window {
                    micros: *micros,
                    agg: Agg::EMPTY,
                });
                let r = self.solve(inner, &mut |s: &mut Search<'s, 'a>, a: Agg| {
                    s.scoped_out(a, &mut *k)
                });
                self.cons.pop();
                r
            }
            CObs::StartStop(inner, start, stop) => {
                if start >= stop {
                    return Ok(false);
                }
                self.cons.push(Cons::Bounds {
                    max_first: stop.saturating_sub(1),
                    min_last: *start,
                });
                let r = self.solve(inner, &mut |s: &mut Search<'s, 'a>, a: Agg| {
                    s.scoped_out(a, &mut *k)
                });
                self.cons.pop();
                r
            }
            CObs::Repeats(inner, n) => self.repeat(inner, *n, 0, Agg::EMPTY, None, k),
        }
    }

    /// Leaves the scope of the innermost constraint while the continuation runs.
    fn scoped_out(&mut self, a: Agg, k: Cont<'_, 's, 'a>) -> Result<bool, MatchError> {
        let c = self.cons.pop();
        let r = k(self, a);
        if let Some(c) = c {
            self.cons.push(c);
        }
        r
    }

    fn admissible(&self, first: i64, last: i64) -> bool {
        self.cons.iter().all(|c| match *c {
            Cons::Bounds {
                max_first,
                min_last,
            } => first <= max_first && last >= min_last,
            Cons::Window { micros, agg } => {
                let a = agg.join(Agg {
                    max_first: first,
                    min_last: last,
                });
                a.max_first.saturating_sub(a.min_last) <= micros
            }
        })
    }

    /// AND / FOLLOWEDBY operands one after another (left-associative).
    fn seq(
        &mut self,
        items: &[CObs],
        ordered: bool,
        acc: Agg,
        k: Cont<'_, 's, 'a>,
    ) -> Result<bool, MatchError> {
        let Some((first, rest)) = items.split_first() else {
            return k(self, acc);
        };
        if ordered && acc.max_first != i64::MIN {
            // FOLLOWEDBY: every observation on the right ends no earlier than the
            // latest start on the left.
            self.cons.push(Cons::Bounds {
                max_first: i64::MAX,
                min_last: acc.max_first,
            });
            let r = self.solve(first, &mut |s: &mut Search<'s, 'a>, a: Agg| {
                let c = s.cons.pop();
                let r = s.seq(rest, ordered, acc.join(a), &mut *k);
                if let Some(c) = c {
                    s.cons.push(c);
                }
                r
            });
            self.cons.pop();
            r
        } else {
            self.solve(first, &mut |s: &mut Search<'s, 'a>, a: Agg| {
                s.seq(rest, ordered, acc.join(a), &mut *k)
            })
        }
    }

    /// REPEATS: `n` disjoint bindings of `inner`, enumerated in non-decreasing order of
    /// their observation sequences so each combination is tried once.
    fn repeat(
        &mut self,
        inner: &CObs,
        n: u64,
        done: u64,
        acc: Agg,
        prev: Option<(usize, usize)>,
        k: Cont<'_, 's, 'a>,
    ) -> Result<bool, MatchError> {
        if done == n {
            return k(self, acc);
        }
        let start = self.trail.len();
        self.solve(inner, &mut |s: &mut Search<'s, 'a>, a: Agg| {
            let cur = (start, s.trail.len());
            if let Some((ps, pe)) = prev {
                if s.trail[cur.0..cur.1] < s.trail[ps..pe] {
                    return Ok(false);
                }
            }
            s.repeat(inner, n, done + 1, acc.join(a), Some(cur), &mut *k)
        })
    }
}

impl CompiledPattern {
    fn search_bindings(
        &self,
        obs: &Observations<'_>,
        leaf_hits: &[Vec<bool>],
    ) -> Result<bool, MatchError> {
        let capacity = obs
            .obs
            .iter()
            .map(|o| o.count)
            .fold(0u64, u64::saturating_add);
        if Search::need(&self.root) > capacity {
            return Ok(false);
        }
        let cands = leaf_hits
            .iter()
            .map(|hits| {
                hits.iter()
                    .enumerate()
                    .filter(|(_, h)| **h)
                    .map(|(i, _)| i as u32)
                    .collect()
            })
            .collect();
        let mut search = Search {
            obs,
            cands,
            used: vec![0; obs.obs.len()],
            cons: Vec::new(),
            undo: Vec::new(),
            trail: Vec::new(),
            steps: 0,
            depth: 0,
        };
        search.solve(&self.root, &mut |_: &mut Search<'_, '_>, _: Agg| Ok(true))
    }
}
