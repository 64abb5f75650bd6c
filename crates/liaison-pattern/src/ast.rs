//! The syntax tree of a STIX pattern.
//!
//! Binary operators are n-ary nodes (`And(vec![a, b, c])` for `a AND b AND c`), so a
//! long chain does not make the tree deep; nesting depth is bounded by the parser
//! ([`crate::MAX_DEPTH`]).

use std::fmt;

/// A parsed STIX pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// The top observation expression.
    pub root: ObservationExpr,
}

/// An observation expression: what must be observed, and how observations relate.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationExpr {
    /// `[ comparison ]`
    Comparison(ComparisonExpr),
    /// `( observation )` — kept because qualifier checks treat groups differently.
    Group(Box<ObservationExpr>),
    /// `a AND b AND …` (two or more operands)
    And(Vec<ObservationExpr>),
    /// `a OR b OR …` (two or more operands)
    Or(Vec<ObservationExpr>),
    /// `a FOLLOWEDBY b FOLLOWEDBY …` (two or more operands, left-associative)
    FollowedBy(Vec<ObservationExpr>),
    /// `expr QUALIFIER`
    Qualified(Box<ObservationExpr>, Qualifier),
}

/// A qualifier on an observation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS`; `text` is the number as written.
    Within {
        /// The duration in seconds.
        seconds: f64,
        /// The number as written in the pattern.
        text: String,
    },
    /// `REPEATS n TIMES`
    Repeats(u64),
    /// `START t'…' STOP t'…'` (or the STIX 2.0-era plain-string form `START '…' STOP '…'`).
    StartStop {
        /// The start bound.
        start: TimeBound,
        /// The stop bound (exclusive).
        stop: TimeBound,
    },
}

/// A START or STOP value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeBound {
    /// The timestamp text between the quotes.
    pub text: String,
    /// True for the older plain-string form `'…'`, false for `t'…'`.
    pub plain_string: bool,
}

/// A comparison expression (inside `[ … ]`).
#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonExpr {
    /// `a AND b AND …`
    And(Vec<ComparisonExpr>),
    /// `a OR b OR …`
    Or(Vec<ComparisonExpr>),
    /// A single property test.
    Test(PropTest),
}

/// A single test on an object property: `path [NOT] op value`, or `EXISTS path`.
#[derive(Debug, Clone, PartialEq)]
pub struct PropTest {
    /// The object path.
    pub path: ObjectPath,
    /// Whether `NOT` precedes the operator.
    pub negated: bool,
    /// The operator.
    pub op: CompOp,
    /// The right-hand side.
    pub operand: Operand,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompOp {
    /// `=` or `==`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `IN`
    In,
    /// `LIKE`
    Like,
    /// `MATCHES`
    Matches,
    /// `ISSUBSET`
    IsSubset,
    /// `ISSUPERSET`
    IsSuperset,
    /// `EXISTS` (prefix)
    Exists,
}

impl CompOp {
    /// The operator as written in a pattern.
    pub fn as_str(self) -> &'static str {
        match self {
            CompOp::Eq => "=",
            CompOp::Ne => "!=",
            CompOp::Lt => "<",
            CompOp::Le => "<=",
            CompOp::Gt => ">",
            CompOp::Ge => ">=",
            CompOp::In => "IN",
            CompOp::Like => "LIKE",
            CompOp::Matches => "MATCHES",
            CompOp::IsSubset => "ISSUBSET",
            CompOp::IsSuperset => "ISSUPERSET",
            CompOp::Exists => "EXISTS",
        }
    }
}

/// Right-hand side of a property test.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A single literal.
    Literal(Literal),
    /// A set literal `( a, b, … )` (for `IN`).
    Set(Vec<Literal>),
    /// No operand (`EXISTS`).
    None,
}

/// An object path: `type:step.step[0].'quoted'[*]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectPath {
    /// The object type (`file`, `ipv4-addr`, `x-custom`).
    pub object_type: String,
    /// The steps; the first is always a [`PathStep::Key`].
    pub steps: Vec<PathStep>,
}

/// One step of an object path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// A property name (quoted or not in the pattern).
    Key(String),
    /// A list index `[n]` (negative indexes parse but never select anything).
    Index(i64),
    /// Any list element `[*]`.
    AnyIndex,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// An integer (`42`, `-1`, `+7`). Integers beyond `i64` are read as floats.
    Int(i64),
    /// A float (`1.5`, `-.5`).
    Float(f64),
    /// A string (`'…'`), unescaped.
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// `b'…'` (base64), decoded.
    Binary(Vec<u8>),
    /// `h'…'`, decoded.
    Hex(Vec<u8>),
    /// `t'…'`: the text between the quotes (format checked by the lexer).
    Timestamp(String),
}

fn is_plain_ident(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !crate::lexer::is_reserved_word(s)
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => {
                // Plain decimal (the grammar has no exponent form), always with a '.'.
                let s = format!("{x}");
                if s.contains('.') {
                    f.write_str(&s)
                } else {
                    write!(f, "{s}.0")
                }
            }
            Literal::Str(s) => write_quoted(f, s),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Binary(b) => write!(f, "b'{}'", base64_encode(b)),
            Literal::Hex(b) => {
                f.write_str("h'")?;
                for byte in b {
                    write!(f, "{byte:02x}")?;
                }
                f.write_str("'")
            }
            Literal::Timestamp(t) => write!(f, "t'{t}'"),
        }
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_plain_ident(k) {
                        f.write_str(k)?;
                    } else {
                        write_quoted(f, k)?;
                    }
                }
                PathStep::Index(n) => write!(f, "[{n}]")?,
                PathStep::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for PropTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.op == CompOp::Exists {
            return write!(f, "EXISTS {}", self.path);
        }
        write!(f, "{} ", self.path)?;
        if self.negated {
            f.write_str("NOT ")?;
        }
        write!(f, "{} ", self.op.as_str())?;
        match &self.operand {
            Operand::Literal(l) => write!(f, "{l}"),
            Operand::Set(items) => {
                f.write_str("(")?;
                for (i, l) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{l}")?;
                }
                f.write_str(")")
            }
            Operand::None => Ok(()),
        }
    }
}

fn write_joined<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    sep: &str,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for ComparisonExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComparisonExpr::Test(t) => write!(f, "{t}"),
            ComparisonExpr::And(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" AND ")?;
                    }
                    if matches!(item, ComparisonExpr::Or(_)) {
                        write!(f, "({item})")?;
                    } else {
                        write!(f, "{item}")?;
                    }
                }
                Ok(())
            }
            ComparisonExpr::Or(items) => write_joined(f, items, " OR "),
        }
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Qualifier::Within { text, .. } => write!(f, "WITHIN {text} SECONDS"),
            Qualifier::Repeats(n) => write!(f, "REPEATS {n} TIMES"),
            Qualifier::StartStop { start, stop } => {
                let p = |b: &TimeBound| {
                    if b.plain_string {
                        Literal::Str(b.text.clone()).to_string()
                    } else {
                        format!("t'{}'", b.text)
                    }
                };
                write!(f, "START {} STOP {}", p(start), p(stop))
            }
        }
    }
}

impl fmt::Display for ObservationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObservationExpr::Comparison(c) => write!(f, "[{c}]"),
            ObservationExpr::Group(inner) => write!(f, "({inner})"),
            ObservationExpr::And(items) => write_joined(f, items, " AND "),
            ObservationExpr::Or(items) => write_joined(f, items, " OR "),
            ObservationExpr::FollowedBy(items) => write_joined(f, items, " FOLLOWEDBY "),
            ObservationExpr::Qualified(inner, q) => write!(f, "{inner} {q}"),
        }
    }
}

impl fmt::Display for Pattern {
    /// Renders the pattern in a canonical form that parses back to an equal tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}
