//! Tokenizer following the lexer rules of the OASIS STIX pattern grammar
//! (longest match; keywords win ties against identifiers).

/// Token kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    IntPos(String),
    IntNeg(String),
    FloatPos(String),
    FloatNeg(String),
    Hex(Vec<u8>),
    Binary(Vec<u8>),
    Str(String),
    Bool(bool),
    Timestamp(String),
    Kw(Kw),
    IdentNoHyphen(String),
    IdentHyphen(String),
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Colon,
    Dot,
    Comma,
    RParen,
    LParen,
    RBrack,
    LBrack,
    Plus,
    Minus,
    Power,
    Divide,
    Asterisk,
    /// A quote that does not start a well-formed literal.
    Quote,
    Invalid(char),
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    And,
    Or,
    Not,
    FollowedBy,
    Like,
    Matches,
    IsSuperset,
    IsSubset,
    Exists,
    Last,
    In,
    Start,
    Stop,
    Seconds,
    Within,
    Repeats,
    Times,
}

const KEYWORDS: &[(&str, Kw)] = &[
    ("AND", Kw::And),
    ("OR", Kw::Or),
    ("NOT", Kw::Not),
    ("FOLLOWEDBY", Kw::FollowedBy),
    ("LIKE", Kw::Like),
    ("MATCHES", Kw::Matches),
    ("ISSUPERSET", Kw::IsSuperset),
    ("ISSUBSET", Kw::IsSubset),
    ("EXISTS", Kw::Exists),
    ("LAST", Kw::Last),
    ("IN", Kw::In),
    ("START", Kw::Start),
    ("STOP", Kw::Stop),
    ("SECONDS", Kw::Seconds),
    ("WITHIN", Kw::Within),
    ("REPEATS", Kw::Repeats),
    ("TIMES", Kw::Times),
];

/// Whether `s` lexes as a keyword or boolean (and so cannot be an unquoted name).
pub(crate) fn is_reserved_word(s: &str) -> bool {
    s == "true" || s == "false" || KEYWORDS.iter().any(|(k, _)| *k == s)
}

/// A token with its position (1-based line and character column).
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: usize,
    pub column: usize,
    /// The source text of the token (for messages).
    pub text: String,
}

impl Token {
    pub(crate) fn describe(&self) -> String {
        match &self.tok {
            Tok::Eof => "end of input".to_string(),
            Tok::Quote => "a malformed or unterminated quoted literal".to_string(),
            _ => {
                let mut t: String = self.text.chars().take(40).collect();
                if self.text.chars().count() > 40 {
                    t.push('…');
                }
                format!("'{t}'")
            }
        }
    }
}

fn is_ws(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\r'
            | '\n'
            | '\u{000B}'
            | '\u{000C}'
            | '\u{0085}'
            | '\u{00a0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    column: usize,
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

fn hexval(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes standard base64 that is already known to be well-formed.
pub(crate) fn decode_b64_strict(s: &[u8]) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a' + 26),
            b'0'..=b'9' => u32::from(c - b'0' + 52),
            b'+' => 62,
            _ => 63,
        }
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for chunk in s.chunks(4) {
        let n_data = chunk.iter().filter(|&&c| c != b'=').count();
        let mut n: u32 = 0;
        for (i, &c) in chunk.iter().enumerate() {
            let v = if c == b'=' { 0 } else { val(c) };
            n |= v << (18 - 6 * i as u32);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let take = match n_data {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..take]);
    }
    out
}

impl<'a> Lexer<'a> {
    fn peek_byte(&self, off: usize) -> Option<u8> {
        self.bytes.get(self.pos + off).copied()
    }

    /// Length in bytes of a string literal body starting at `start` (which is a quote),
    /// including both quotes, or None when no well-formed literal starts there.
    fn scan_string(&self, start: usize) -> Option<usize> {
        let b = self.bytes;
        let mut i = start + 1;
        while i < b.len() {
            match b[i] {
                b'\'' => return Some(i + 1 - start),
                b'\\' => match b.get(i + 1) {
                    Some(b'\'') | Some(b'\\') => i += 2,
                    _ => return None,
                },
                _ => i += 1,
            }
        }
        None
    }

    fn scan_timestamp(&self, start: usize) -> Option<usize> {
        // t'YYYY-MM-DDTHH:MM:SS(.f+)?Z'
        let b = &self.bytes[start..];
        let d = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_digit());
        let at = |i: usize, c: u8| b.get(i) == Some(&c);
        let in_range = |i: usize, lo: u8, hi: u8| b.get(i).is_some_and(|&c| c >= lo && c <= hi);
        if !(at(0, b't') && at(1, b'\'')) {
            return None;
        }
        if !(d(2) && d(3) && d(4) && d(5) && at(6, b'-')) {
            return None;
        }
        let month_ok =
            (at(7, b'0') && in_range(8, b'1', b'9')) || (at(7, b'1') && in_range(8, b'0', b'2'));
        if !month_ok || !at(9, b'-') {
            return None;
        }
        let day_ok = (at(10, b'0') && in_range(11, b'1', b'9'))
            || (in_range(10, b'1', b'2') && d(11))
            || (at(10, b'3') && in_range(11, b'0', b'1'));
        if !day_ok || !at(12, b'T') {
            return None;
        }
        let hour_ok =
            (in_range(13, b'0', b'1') && d(14)) || (at(13, b'2') && in_range(14, b'0', b'3'));
        if !(hour_ok && at(15, b':') && in_range(16, b'0', b'5') && d(17) && at(18, b':')) {
            return None;
        }
        let sec_ok = (in_range(19, b'0', b'5') && d(20)) || (at(19, b'6') && at(20, b'0'));
        if !sec_ok {
            return None;
        }
        let mut i = 21;
        if at(i, b'.') && d(i + 1) {
            i += 1;
            while d(i) {
                i += 1;
            }
        }
        if at(i, b'Z') && at(i + 1, b'\'') {
            Some(i + 2)
        } else {
            None
        }
    }

    fn scan_hex(&self, start: usize) -> Option<usize> {
        let b = &self.bytes[start..];
        if b.len() < 3 || b[0] != b'h' || b[1] != b'\'' {
            return None;
        }
        let mut i = 2;
        while i + 1 < b.len() && hexval(b[i]).is_some() && hexval(b[i + 1]).is_some() {
            i += 2;
        }
        if b.get(i) == Some(&b'\'') {
            Some(i + 1)
        } else {
            None
        }
    }

    fn scan_binary(&self, start: usize) -> Option<usize> {
        let b = &self.bytes[start..];
        if b.len() < 3 || b[0] != b'b' || b[1] != b'\'' {
            return None;
        }
        let mut i = 2;
        while i < b.len() && is_b64(b[i]) {
            i += 1;
        }
        let n = i - 2;
        let mut pad = 0;
        while b.get(i) == Some(&b'=') && pad < 2 {
            i += 1;
            pad += 1;
        }
        if b.get(i) != Some(&b'\'') || n == 0 {
            return None;
        }
        let ok = match pad {
            0 => n % 4 == 0,
            1 => n % 4 == 3,
            _ => n % 4 == 2,
        };
        if ok {
            Some(i + 1)
        } else {
            None
        }
    }

    /// Scans a number at `pos`; returns (length, is_float, negative).
    fn scan_number(&self) -> Option<(usize, bool)> {
        let b = &self.bytes[self.pos..];
        let mut i = 0;
        if b.first() == Some(&b'+') || b.first() == Some(&b'-') {
            i = 1;
        }
        let digits_start = i;
        while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        let int_end = i;
        // Float: [0-9]* '.' [0-9]+
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
            let mut j = i + 1;
            while b.get(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
            return Some((j, true));
        }
        if int_end == digits_start {
            return None;
        }
        // Int: '0' | [1-9][0-9]*
        if b[digits_start] == b'0' {
            return Some((digits_start + 1, false));
        }
        Some((int_end, false))
    }

    fn advance(&mut self, len: usize) -> &'a str {
        let text = &self.src[self.pos..self.pos + len];
        for c in text.chars() {
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.pos += len;
        text
    }

    fn skip_trivia(&mut self) {
        loop {
            let rest = &self.src[self.pos..];
            let Some(c) = rest.chars().next() else { return };
            if is_ws(c) {
                self.advance(c.len_utf8());
                continue;
            }
            if let Some(body) = rest.strip_prefix("/*") {
                if let Some(end) = body.find("*/") {
                    self.advance(end + 4);
                    continue;
                }
                return;
            }
            if rest.starts_with("//") {
                let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
                self.advance(end);
                continue;
            }
            return;
        }
    }

    fn next_token(&mut self) -> Token {
        self.skip_trivia();
        let line = self.line;
        let column = self.column;
        let mk = |tok: Tok, text: &str| Token {
            tok,
            line,
            column,
            text: text.to_string(),
        };
        let Some(c) = self.src[self.pos..].chars().next() else {
            return mk(Tok::Eof, "");
        };
        let start = self.pos;
        // Literals with a one-letter prefix.
        if c == 't' {
            if let Some(len) = self.scan_timestamp(start) {
                let text = self.advance(len);
                return mk(Tok::Timestamp(text[2..len - 1].to_string()), text);
            }
        }
        if c == 'h' {
            if let Some(len) = self.scan_hex(start) {
                let text = self.advance(len);
                let digits = &text.as_bytes()[2..len - 1];
                let bytes = digits
                    .chunks(2)
                    .map(|p| (hexval(p[0]).unwrap_or(0) << 4) | hexval(p[1]).unwrap_or(0))
                    .collect();
                return mk(Tok::Hex(bytes), text);
            }
        }
        if c == 'b' {
            if let Some(len) = self.scan_binary(start) {
                let text = self.advance(len);
                let bytes = decode_b64_strict(&text.as_bytes()[2..len - 1]);
                return mk(Tok::Binary(bytes), text);
            }
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let b = &self.bytes[start..];
            let mut n1 = 1;
            while b
                .get(n1)
                .is_some_and(|&x| x.is_ascii_alphanumeric() || x == b'_')
            {
                n1 += 1;
            }
            let mut n2 = n1;
            while b
                .get(n2)
                .is_some_and(|&x| x.is_ascii_alphanumeric() || x == b'_' || x == b'-')
            {
                n2 += 1;
            }
            if n2 > n1 {
                let text = self.advance(n2);
                return mk(Tok::IdentHyphen(text.to_string()), text);
            }
            let text = self.advance(n1);
            if text == "true" || text == "false" {
                return mk(Tok::Bool(text == "true"), text);
            }
            if let Some((_, kw)) = KEYWORDS.iter().find(|(k, _)| *k == text) {
                return mk(Tok::Kw(*kw), text);
            }
            return mk(Tok::IdentNoHyphen(text.to_string()), text);
        }
        if c.is_ascii_digit() || c == '+' || c == '-' || c == '.' {
            if let Some((len, is_float)) = self.scan_number() {
                let text = self.advance(len);
                let neg = text.starts_with('-');
                let tok = match (is_float, neg) {
                    (true, true) => Tok::FloatNeg(text.to_string()),
                    (true, false) => Tok::FloatPos(text.to_string()),
                    (false, true) => Tok::IntNeg(text.to_string()),
                    (false, false) => Tok::IntPos(text.to_string()),
                };
                return mk(tok, text);
            }
        }
        if c == '\'' {
            if let Some(len) = self.scan_string(start) {
                let text = self.advance(len);
                return mk(Tok::Str(unescape(&text[1..len - 1])), text);
            }
            let text = self.advance(1);
            return mk(Tok::Quote, text);
        }
        let two = self.src[self.pos..].get(..2);
        let two_tok = match two {
            Some("==") => Some(Tok::Eq),
            Some("!=") | Some("<>") => Some(Tok::Neq),
            Some("<=") => Some(Tok::Le),
            Some(">=") => Some(Tok::Ge),
            _ => None,
        };
        if let Some(tok) = two_tok {
            let text = self.advance(2);
            return mk(tok, text);
        }
        let tok = match c {
            '=' => Tok::Eq,
            '<' => Tok::Lt,
            '>' => Tok::Gt,
            ':' => Tok::Colon,
            '.' => Tok::Dot,
            ',' => Tok::Comma,
            ')' => Tok::RParen,
            '(' => Tok::LParen,
            ']' => Tok::RBrack,
            '[' => Tok::LBrack,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '^' => Tok::Power,
            '/' => Tok::Divide,
            '*' => Tok::Asterisk,
            other => Tok::Invalid(other),
        };
        let _ = self.peek_byte(0);
        let text = self.advance(c.len_utf8());
        mk(tok, text)
    }
}

fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Tokenizes the whole input. The last token is always `Eof`.
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        line: 1,
        column: 1,
    };
    let mut out = Vec::new();
    loop {
        let t = lx.next_token();
        let eof = t.tok == Tok::Eof;
        out.push(t);
        if eof {
            return out;
        }
    }
}
