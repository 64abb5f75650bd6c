//! Recursive-descent parser for the STIX 2.0/2.1 pattern grammar, with a bounded
//! nesting depth so that no input can overflow the stack.

use crate::ast::*;
use crate::error::ParseError;
use crate::lexer::{tokenize, Kw, Tok, Token};

/// Maximum nesting depth: brackets, parentheses and stacked qualifiers together.
pub const MAX_DEPTH: usize = 256;

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    quals: usize,
}

type PResult<T> = Result<T, ParseError>;

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn cur(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.cur().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn err<T>(&self, expected: impl Into<String>) -> PResult<T> {
        let t = self.cur();
        Err(ParseError {
            line: t.line,
            column: t.column,
            expected: expected.into(),
            found: t.describe(),
        })
    }

    fn is_kw(&self, kw: Kw) -> bool {
        matches!(self.peek(), Tok::Kw(k) if *k == kw)
    }

    fn enter(&mut self) -> PResult<()> {
        if self.depth >= MAX_DEPTH {
            return self.err(format!("at most {MAX_DEPTH} levels of nesting"));
        }
        self.depth += 1;
        Ok(())
    }

    fn pattern(&mut self) -> PResult<Pattern> {
        if matches!(self.peek(), Tok::Eof) {
            return self.err("'[' or '(' to start an observation expression");
        }
        let root = self.obs_followedby()?;
        if !matches!(self.peek(), Tok::Eof) {
            return self.err("end of pattern, or AND / OR / FOLLOWEDBY / a qualifier");
        }
        Ok(Pattern { root })
    }

    /// Observation operands joined by FOLLOWEDBY / OR / AND, parsed in one frame
    /// (operands first, then grouped by precedence) to keep recursion shallow.
    fn obs_followedby(&mut self) -> PResult<ObservationExpr> {
        let mut operands = vec![self.obs_qualified()?];
        let mut ops: Vec<Kw> = Vec::new();
        while let Tok::Kw(k @ (Kw::And | Kw::Or | Kw::FollowedBy)) = self.peek() {
            let op = *k;
            self.bump();
            ops.push(op);
            operands.push(self.obs_qualified()?);
        }
        if ops.is_empty() {
            return Ok(operands.pop().unwrap_or(ObservationExpr::And(Vec::new())));
        }
        // Precedence: AND binds tighter than OR, which binds tighter than FOLLOWEDBY.
        let mut followed: Vec<ObservationExpr> = Vec::new();
        let mut ors: Vec<ObservationExpr> = Vec::new();
        let mut ands: Vec<ObservationExpr> = Vec::new();
        let mut operands = operands.into_iter();
        if let Some(first) = operands.next() {
            ands.push(first);
        }
        fn close(
            items: &mut Vec<ObservationExpr>,
            wrap: fn(Vec<ObservationExpr>) -> ObservationExpr,
        ) -> ObservationExpr {
            if items.len() == 1 {
                if let Some(only) = items.pop() {
                    return only;
                }
            }
            wrap(std::mem::take(items))
        }
        for (op, next) in ops.into_iter().zip(operands) {
            match op {
                Kw::And => {}
                Kw::Or => {
                    let a = close(&mut ands, ObservationExpr::And);
                    ors.push(a);
                }
                _ => {
                    let a = close(&mut ands, ObservationExpr::And);
                    ors.push(a);
                    let o = close(&mut ors, ObservationExpr::Or);
                    followed.push(o);
                }
            }
            ands.push(next);
        }
        let a = close(&mut ands, ObservationExpr::And);
        ors.push(a);
        let o = close(&mut ors, ObservationExpr::Or);
        followed.push(o);
        Ok(close(&mut followed, ObservationExpr::FollowedBy))
    }

    fn obs_qualified(&mut self) -> PResult<ObservationExpr> {
        let mut expr = self.obs_primary()?;
        loop {
            let is_qualifier =
                self.is_kw(Kw::Within) || self.is_kw(Kw::Repeats) || self.is_kw(Kw::Start);
            if is_qualifier {
                // Qualifiers deepen the tree; count them all against the depth budget.
                self.quals += 1;
                if self.depth + self.quals > MAX_DEPTH {
                    return self.err(format!(
                        "at most {MAX_DEPTH} levels of nesting (brackets, parentheses and qualifiers)"
                    ));
                }
            }
            let q = if self.is_kw(Kw::Within) {
                self.within()?
            } else if self.is_kw(Kw::Repeats) {
                self.repeats()?
            } else if self.is_kw(Kw::Start) {
                self.start_stop()?
            } else {
                break;
            };
            expr = ObservationExpr::Qualified(Box::new(expr), q);
        }
        Ok(expr)
    }

    fn within(&mut self) -> PResult<Qualifier> {
        self.bump();
        let (seconds, text) = match self.peek().clone() {
            Tok::IntPos(t) | Tok::FloatPos(t) => {
                self.bump();
                (t.parse::<f64>().unwrap_or(f64::INFINITY), t)
            }
            _ => return self.err("a positive number after WITHIN"),
        };
        if !self.is_kw(Kw::Seconds) {
            return self.err("'SECONDS'");
        }
        self.bump();
        Ok(Qualifier::Within { seconds, text })
    }

    fn repeats(&mut self) -> PResult<Qualifier> {
        self.bump();
        let n = match self.peek().clone() {
            Tok::IntPos(t) => {
                self.bump();
                t.trim_start_matches('+').parse::<u64>().unwrap_or(u64::MAX)
            }
            _ => return self.err("a positive integer after REPEATS"),
        };
        if !self.is_kw(Kw::Times) {
            return self.err("'TIMES'");
        }
        self.bump();
        Ok(Qualifier::Repeats(n))
    }

    fn time_bound(&mut self, what: &str) -> PResult<TimeBound> {
        match self.peek().clone() {
            Tok::Timestamp(text) => {
                self.bump();
                Ok(TimeBound {
                    text,
                    plain_string: false,
                })
            }
            Tok::Str(text) => {
                self.bump();
                Ok(TimeBound {
                    text,
                    plain_string: true,
                })
            }
            _ => self.err(format!("a timestamp literal t'…' after {what}")),
        }
    }

    fn start_stop(&mut self) -> PResult<Qualifier> {
        self.bump();
        let start = self.time_bound("START")?;
        if !self.is_kw(Kw::Stop) {
            return self.err("'STOP'");
        }
        self.bump();
        let stop = self.time_bound("STOP")?;
        Ok(Qualifier::StartStop { start, stop })
    }

    fn obs_primary(&mut self) -> PResult<ObservationExpr> {
        match self.peek() {
            Tok::LBrack => {
                self.enter()?;
                self.bump();
                let c = self.cmp_or()?;
                if !matches!(self.peek(), Tok::RBrack) {
                    return self.err("']' to close the observation expression, or AND / OR");
                }
                self.bump();
                self.depth -= 1;
                Ok(ObservationExpr::Comparison(c))
            }
            Tok::LParen => {
                self.enter()?;
                self.bump();
                let e = self.obs_followedby()?;
                if !matches!(self.peek(), Tok::RParen) {
                    return self
                        .err("')' to close the group, or AND / OR / FOLLOWEDBY / a qualifier");
                }
                self.bump();
                self.depth -= 1;
                Ok(ObservationExpr::Group(Box::new(e)))
            }
            _ => self.err("'[' or '(' to start an observation expression"),
        }
    }

    fn cmp_or(&mut self) -> PResult<ComparisonExpr> {
        let mut items = Vec::new();
        loop {
            match self.cmp_and()? {
                ComparisonExpr::Or(inner) => items.extend(inner),
                other => items.push(other),
            }
            if !self.is_kw(Kw::Or) {
                break;
            }
            self.bump();
        }
        if items.len() == 1 {
            if let Some(only) = items.pop() {
                return Ok(only);
            }
        }
        Ok(ComparisonExpr::Or(items))
    }

    fn cmp_and(&mut self) -> PResult<ComparisonExpr> {
        let mut items = Vec::new();
        loop {
            match self.prop_test()? {
                ComparisonExpr::And(inner) => items.extend(inner),
                other => items.push(other),
            }
            if !self.is_kw(Kw::And) {
                break;
            }
            self.bump();
        }
        if items.len() == 1 {
            if let Some(only) = items.pop() {
                return Ok(only);
            }
        }
        Ok(ComparisonExpr::And(items))
    }

    fn prop_test(&mut self) -> PResult<ComparisonExpr> {
        if matches!(self.peek(), Tok::LParen) {
            self.enter()?;
            self.bump();
            let c = self.cmp_or()?;
            if !matches!(self.peek(), Tok::RParen) {
                return self.err("')' to close the comparison group, or AND / OR");
            }
            self.bump();
            self.depth -= 1;
            return Ok(c);
        }
        if self.is_kw(Kw::Exists) {
            self.bump();
            let path = self.object_path()?;
            return Ok(ComparisonExpr::Test(PropTest {
                path,
                negated: false,
                op: CompOp::Exists,
                operand: Operand::None,
            }));
        }
        let path = self.object_path()?;
        let negated = if self.is_kw(Kw::Not) {
            self.bump();
            true
        } else {
            false
        };
        let op = match self.peek() {
            Tok::Eq => CompOp::Eq,
            Tok::Neq => CompOp::Ne,
            Tok::Lt => CompOp::Lt,
            Tok::Le => CompOp::Le,
            Tok::Gt => CompOp::Gt,
            Tok::Ge => CompOp::Ge,
            Tok::Kw(Kw::In) => CompOp::In,
            Tok::Kw(Kw::Like) => CompOp::Like,
            Tok::Kw(Kw::Matches) => CompOp::Matches,
            Tok::Kw(Kw::IsSubset) => CompOp::IsSubset,
            Tok::Kw(Kw::IsSuperset) => CompOp::IsSuperset,
            _ => {
                return self.err(if negated {
                    "a comparison operator after NOT"
                } else {
                    "a comparison operator (=, !=, <, >, <=, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET) after the object path"
                })
            }
        };
        self.bump();
        let operand = match op {
            CompOp::Eq | CompOp::Ne => Operand::Literal(self.literal(true)?),
            CompOp::Lt | CompOp::Le | CompOp::Gt | CompOp::Ge => {
                Operand::Literal(self.literal(false)?)
            }
            CompOp::In => self.set_literal()?,
            _ => match self.peek().clone() {
                Tok::Str(s) => {
                    self.bump();
                    Operand::Literal(Literal::Str(s))
                }
                _ => return self.err(format!("a string literal after {}", op.as_str())),
            },
        };
        Ok(ComparisonExpr::Test(PropTest {
            path,
            negated,
            op,
            operand,
        }))
    }

    fn set_literal(&mut self) -> PResult<Operand> {
        if !matches!(self.peek(), Tok::LParen) {
            return self.err("'(' to start a set after IN");
        }
        self.bump();
        let mut items = Vec::new();
        if matches!(self.peek(), Tok::RParen) {
            self.bump();
            return Ok(Operand::Set(items));
        }
        loop {
            items.push(self.literal(true)?);
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => {
                    self.bump();
                    return Ok(Operand::Set(items));
                }
                _ => return self.err("',' or ')' in the set"),
            }
        }
    }

    fn literal(&mut self, allow_bool: bool) -> PResult<Literal> {
        let lit = match self.peek().clone() {
            Tok::IntPos(t) | Tok::IntNeg(t) => match t.parse::<i64>() {
                Ok(i) => Literal::Int(i),
                Err(_) => Literal::Float(t.parse::<f64>().unwrap_or(f64::NAN)),
            },
            Tok::FloatPos(t) | Tok::FloatNeg(t) => {
                Literal::Float(t.parse::<f64>().unwrap_or(f64::NAN))
            }
            Tok::Str(s) => Literal::Str(s),
            Tok::Binary(b) => Literal::Binary(b),
            Tok::Hex(b) => Literal::Hex(b),
            Tok::Timestamp(t) => Literal::Timestamp(t),
            Tok::Bool(b) if allow_bool => Literal::Bool(b),
            _ => {
                return self.err(if allow_bool {
                    "a literal (string, number, boolean, b'…', h'…' or t'…')"
                } else {
                    "an orderable literal (string, number, b'…', h'…' or t'…')"
                })
            }
        };
        self.bump();
        Ok(lit)
    }

    fn object_path(&mut self) -> PResult<ObjectPath> {
        let object_type = match self.peek().clone() {
            Tok::IdentNoHyphen(s) | Tok::IdentHyphen(s) => {
                self.bump();
                s
            }
            _ => return self.err("an object path"),
        };
        if !matches!(self.peek(), Tok::Colon) {
            return self.err("':' after the object type");
        }
        self.bump();
        let mut steps = Vec::new();
        match self.peek().clone() {
            Tok::IdentNoHyphen(s) | Tok::Str(s) => {
                self.bump();
                steps.push(PathStep::Key(s));
            }
            Tok::IdentHyphen(_) => {
                return self.err("a property name (quote names that contain '-')");
            }
            _ => return self.err("a property name after ':'"),
        }
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    match self.peek().clone() {
                        Tok::IdentNoHyphen(s) | Tok::Str(s) => {
                            self.bump();
                            steps.push(PathStep::Key(s));
                        }
                        Tok::IdentHyphen(_) => {
                            return self.err("a property name (quote names that contain '-')");
                        }
                        _ => return self.err("a property name after '.'"),
                    }
                }
                Tok::LBrack => {
                    self.bump();
                    let step = match self.peek().clone() {
                        Tok::IntPos(t) | Tok::IntNeg(t) => PathStep::Index(
                            t.trim_start_matches('+').parse::<i64>().unwrap_or(i64::MAX),
                        ),
                        Tok::Asterisk => PathStep::AnyIndex,
                        _ => return self.err("an integer or '*' as list index"),
                    };
                    self.bump();
                    if !matches!(self.peek(), Tok::RBrack) {
                        return self.err("']' after the list index");
                    }
                    self.bump();
                    steps.push(step);
                }
                _ => break,
            }
        }
        Ok(ObjectPath { object_type, steps })
    }
}

/// Parses a STIX pattern (2.0 or 2.1 syntax).
///
/// Both START/STOP forms are accepted: `t'…'` timestamps (STIX 2.1 and current
/// 2.0 grammar) and the plain strings `'…'` of early STIX 2.0 tooling.
///
/// ```
/// let p = liaison_pattern::parse("[ipv4-addr:value = '198.51.100.7'] WITHIN 60 SECONDS").unwrap();
/// assert_eq!(p.to_string(), "[ipv4-addr:value = '198.51.100.7'] WITHIN 60 SECONDS");
/// ```
pub fn parse(pattern: &str) -> Result<Pattern, ParseError> {
    let toks = tokenize(pattern);
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        quals: 0,
    };
    p.pattern()
}
