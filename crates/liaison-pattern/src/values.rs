//! Value semantics of the matcher: the reference matcher's comparison tables
//! (Python types of JSON values), IPv4 subnet tests and lenient decoders.

use std::cmp::Ordering;
use std::net::Ipv6Addr;

use serde_json::Value;

use crate::error::MatchError;

/// A literal compiled for matching.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CLit {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Bytes(Vec<u8>),
    /// Microseconds since the epoch.
    Time(i64),
}

/// A value selected from an object by a path.
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Json(&'a Value),
    /// A `*_hex` / `*_bin` property, decoded.
    Bytes(Vec<u8>),
    /// A dereferenced `*_refs` list.
    Objs(Vec<&'a Value>),
}

#[derive(Debug, Clone, Copy)]
enum Num {
    I(i128),
    F(f64),
}

fn json_num(v: &Value) -> Option<Num> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        Some(Num::I(i128::from(i)))
    } else if let Some(u) = n.as_u64() {
        Some(Num::I(i128::from(u)))
    } else {
        n.as_f64().map(Num::F)
    }
}

fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
        (Num::I(x), Num::F(y)) => int_float_cmp(x, y),
        (Num::F(x), Num::I(y)) => int_float_cmp(y, x).map(Ordering::reverse),
    }
}

fn int_float_cmp(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 1e30 {
        Some(i.cmp(&(f as i128)))
    } else {
        (i as f64).partial_cmp(&f)
    }
}

fn lit_num(l: &CLit) -> Option<Num> {
    match l {
        CLit::Int(i) => Some(Num::I(i128::from(*i))),
        CLit::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

/// Latin-1 bytes of a string, or None when a code point is 256 or above.
fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

fn json_time(s: &str) -> Result<i64, MatchError> {
    crate::timestamp::parse_timestamp_micros(s)
        .map_err(|_| MatchError::new(format!("Invalid timestamp in JSON: {s}")))
}

/// `=` semantics. Returns Ok(false) for incomparable types.
pub(crate) fn equals(v: &Val<'_>, lit: &CLit) -> Result<bool, MatchError> {
    match v {
        Val::Json(j) => match (j, lit) {
            (Value::String(s), CLit::Time(t)) => Ok(json_time(s)? == *t),
            (Value::String(s), CLit::Str(l)) => Ok(s == l),
            (Value::String(s), CLit::Bytes(b)) => Ok(latin1(s).is_some_and(|x| &x == b)),
            (Value::Bool(x), CLit::Bool(y)) => Ok(x == y),
            (Value::Number(_), CLit::Int(_) | CLit::Float(_)) => {
                let (Some(a), Some(b)) = (json_num(j), lit_num(lit)) else {
                    return Ok(false);
                };
                Ok(num_cmp(a, b) == Some(Ordering::Equal))
            }
            _ => Ok(false),
        },
        Val::Bytes(b) => match lit {
            CLit::Bytes(l) => Ok(b == l),
            CLit::Str(s) => Ok(latin1(s).is_some_and(|x| &x == b)),
            _ => Ok(false),
        },
        Val::Objs(_) => Ok(false),
    }
}

/// Outcome of an ordering comparison.
pub(crate) enum OrderOutcome {
    /// Types not comparable: the test is false whatever NOT says.
    Incomparable,
    /// String/binary comparison refused: false before NOT is applied.
    Refused,
    Ordered(Ordering),
}

/// `<`, `>`, … semantics: value compared to literal.
pub(crate) fn order(v: &Val<'_>, lit: &CLit) -> Result<OrderOutcome, MatchError> {
    use OrderOutcome::*;
    let o = match v {
        Val::Json(j) => match (j, lit) {
            (Value::String(s), CLit::Time(t)) => Ordered(json_time(s)?.cmp(t)),
            (Value::String(s), CLit::Str(l)) => Ordered(s.as_str().cmp(l.as_str())),
            (Value::String(s), CLit::Bytes(b)) => match latin1(s) {
                Some(x) => Ordered(x.as_slice().cmp(b.as_slice())),
                None => Refused,
            },
            (Value::Number(_), CLit::Int(_) | CLit::Float(_)) => {
                match (json_num(j), lit_num(lit)) {
                    (Some(a), Some(b)) => Ordered(num_cmp(a, b).unwrap_or(Ordering::Equal)),
                    _ => Incomparable,
                }
            }
            _ => Incomparable,
        },
        Val::Bytes(b) => match lit {
            CLit::Bytes(l) => Ordered(b.as_slice().cmp(l.as_slice())),
            CLit::Str(s) => match latin1(s) {
                Some(x) => Ordered(b.as_slice().cmp(x.as_slice())),
                None => Refused,
            },
            _ => Incomparable,
        },
        Val::Objs(_) => Incomparable,
    };
    Ok(o)
}

/// Python `==` between a (hashable) value and a set element, as used by `IN`.
fn py_eq_member(v: &Val<'_>, elem: &CLit, time: Option<i64>) -> bool {
    if let (Some(t), CLit::Time(e)) = (time, elem) {
        return t == *e;
    }
    let elem_num = match elem {
        CLit::Int(i) => Some(Num::I(i128::from(*i))),
        CLit::Float(f) => Some(Num::F(*f)),
        CLit::Bool(b) => Some(Num::I(i128::from(*b))),
        _ => None,
    };
    match v {
        Val::Json(j) => match j {
            Value::Bool(b) => elem_num
                .is_some_and(|n| num_cmp(Num::I(i128::from(*b)), n) == Some(Ordering::Equal)),
            Value::Number(_) => match (json_num(j), elem_num) {
                (Some(a), Some(b)) => num_cmp(a, b) == Some(Ordering::Equal),
                _ => false,
            },
            Value::String(s) => matches!(elem, CLit::Str(e) if e == s),
            _ => false,
        },
        Val::Bytes(b) => matches!(elem, CLit::Bytes(e) if e == b),
        Val::Objs(_) => false,
    }
}

/// `IN` semantics.
pub(crate) fn in_set(v: &Val<'_>, set: &[CLit], is_time_set: bool) -> Result<bool, MatchError> {
    let time = match (is_time_set, v) {
        (true, Val::Json(Value::String(s))) => Some(json_time(s)?),
        _ => None,
    };
    if is_time_set && time.is_none() {
        // Non-string values are compared as they are (never equal to a datetime).
        return Ok(set
            .iter()
            .any(|e| !matches!(e, CLit::Time(_)) && py_eq_member(v, e, None)));
    }
    Ok(set.iter().any(|e| py_eq_member(v, e, time)))
}

// ---------------------------------------------------------------------------
// IP subnets

/// glibc `inet_aton`: 1 to 4 parts, each decimal, octal (`0…`) or hex (`0x…`);
/// the last part fills the remaining bytes; trailing whitespace ends the address.
fn inet_aton(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    let mut parts: Vec<u64> = Vec::with_capacity(4);
    let mut i = 0;
    loop {
        if i >= b.len() || !b[i].is_ascii_digit() {
            return None;
        }
        let (base, start) =
            if b[i] == b'0' && i + 1 < b.len() && (b[i + 1] == b'x' || b[i + 1] == b'X') {
                (16, i + 2)
            } else if b[i] == b'0' {
                (8, i)
            } else {
                (10, i)
            };
        let mut j = start;
        let mut val: u64 = 0;
        while j < b.len() {
            let d = match (b[j] as char).to_digit(base) {
                Some(d) => d,
                None => break,
            };
            val = val
                .saturating_mul(u64::from(base))
                .saturating_add(u64::from(d));
            if val > u64::from(u32::MAX) {
                val = u64::from(u32::MAX) + 1;
            }
            j += 1;
        }
        parts.push(val);
        i = j;
        if i < b.len() && b[i] == b'.' {
            if parts.len() >= 4 {
                return None;
            }
            i += 1;
            continue;
        }
        break;
    }
    if i < b.len() && !(b[i] as char).is_ascii_whitespace() {
        return None;
    }
    let n = parts.len();
    let last = parts[n - 1];
    for p in &parts[..n - 1] {
        if *p > 255 {
            return None;
        }
    }
    let max_last: u64 = match n {
        1 => u64::from(u32::MAX),
        2 => 0xFF_FFFF,
        3 => 0xFFFF,
        _ => 0xFF,
    };
    if last > max_last {
        return None;
    }
    let mut v: u64 = 0;
    for (k, p) in parts[..n - 1].iter().enumerate() {
        v |= p << (24 - 8 * k);
    }
    Some((v | last) as u32)
}

enum Net {
    V4(u32, u32),
    V6(u128, u32),
}

fn parse_net(s: &str, allow_plain: bool) -> Result<Net, MatchError> {
    let invalid_cidr = || MatchError::new(format!("Invalid CIDR subnet: {s}"));
    let (addr, prefix) = match s.find('/') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None if allow_plain => (s, None),
        None => return Err(invalid_cidr()),
    };
    // IPv6 is an extension over the reference matcher (which supports IPv4 only).
    if addr.contains(':') {
        if let Ok(a) = addr.parse::<Ipv6Addr>() {
            let p = match prefix {
                None => 128,
                Some(p) if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) => {
                    match p.parse::<u32>() {
                        Ok(p) if (1..=128).contains(&p) => p,
                        _ => return Err(invalid_cidr()),
                    }
                }
                Some(_) => return Err(invalid_cidr()),
            };
            return Ok(Net::V6(u128::from(a), p));
        }
    }
    let a =
        inet_aton(addr).ok_or_else(|| MatchError::new(format!("Invalid IPv4 address: {addr}")))?;
    let p = match prefix {
        None => 32,
        Some(p) => {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid_cidr());
            }
            match p.parse::<u32>() {
                Ok(p) if (1..=32).contains(&p) => p,
                _ => return Err(invalid_cidr()),
            }
        }
    };
    Ok(Net::V4(a, p))
}

/// Whether `inner` (an address or CIDR subnet) lies within the CIDR subnet `outer`.
pub(crate) fn ip_in_subnet(inner: &str, outer: &str) -> Result<bool, MatchError> {
    let a = parse_net(inner, true)?;
    let b = parse_net(outer, false)?;
    Ok(match (a, b) {
        (Net::V4(ai, ap), Net::V4(bi, bp)) => {
            if bp > ap {
                false
            } else {
                let mask = if bp == 0 { 0 } else { u32::MAX << (32 - bp) };
                ai & mask == bi & mask
            }
        }
        (Net::V6(ai, ap), Net::V6(bi, bp)) => {
            if bp > ap {
                false
            } else {
                let mask = if bp == 0 { 0 } else { u128::MAX << (128 - bp) };
                ai & mask == bi & mask
            }
        }
        _ => false,
    })
}

// ---------------------------------------------------------------------------
// Decoders for *_hex and *_bin properties

pub(crate) fn decode_hex_prop(v: &Value) -> Result<Vec<u8>, MatchError> {
    let s = v.as_str().ok_or_else(|| {
        MatchError::new(format!(
            "argument should be bytes, buffer or ASCII string, not {v}"
        ))
    })?;
    let b = s.as_bytes();
    if !s.is_ascii() {
        return Err(MatchError::new(
            "string argument should contain only ASCII characters",
        ));
    }
    if b.len() % 2 != 0 {
        return Err(MatchError::new("Odd-length string"));
    }
    let hv = |c: u8| (c as char).to_digit(16);
    b.chunks(2)
        .map(|p| match (hv(p[0]), hv(p[1])) {
            (Some(h), Some(l)) => Ok(((h << 4) | l) as u8),
            _ => Err(MatchError::new("Non-hexadecimal digit found")),
        })
        .collect()
}

/// Python `base64.standard_b64decode` (non-strict): characters outside the alphabet
/// are skipped; padding is required.
pub(crate) fn decode_b64_prop(v: &Value) -> Result<Vec<u8>, MatchError> {
    let s = v.as_str().ok_or_else(|| {
        MatchError::new(format!(
            "argument should be a bytes-like object or ASCII string, not {v}"
        ))
    })?;
    if !s.is_ascii() {
        return Err(MatchError::new(
            "string argument should contain only ASCII characters",
        ));
    }
    let val = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a' + 26)),
            b'0'..=b'9' => Some(u32::from(c - b'0' + 52)),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut quad = 0u32;
    let mut acc = 0u32;
    let mut pads = 0;
    for &c in s.as_bytes() {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    // Complete: flush and stop.
                    if quad == 2 {
                        out.push((acc >> 4) as u8);
                    } else if quad == 3 {
                        out.push((acc >> 10) as u8);
                        out.push((acc >> 2) as u8);
                    }
                    return Ok(out);
                }
            }
            continue;
        }
        let Some(d) = val(c) else { continue };
        pads = 0;
        acc = (acc << 6) | d;
        quad += 1;
        if quad == 4 {
            out.push((acc >> 16) as u8);
            out.push((acc >> 8) as u8);
            out.push(acc as u8);
            quad = 0;
            acc = 0;
        }
    }
    match quad {
        0 => Ok(out),
        1 => Err(MatchError::new(
            "Invalid base64-encoded string: number of data characters cannot be 1 more than a multiple of 4",
        )),
        _ => Err(MatchError::new("Incorrect padding")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_aton_forms() {
        assert_eq!(inet_aton("1"), Some(1));
        assert_eq!(inet_aton("1.2"), Some(0x0100_0002));
        assert_eq!(inet_aton("0x7f.1"), Some(0x7f00_0001));
        assert_eq!(inet_aton("010.0.0.1"), Some(0x0800_0001));
        assert_eq!(inet_aton("1.2.3.4 junk"), Some(0x0102_0304));
        assert_eq!(inet_aton("256.1.1.1"), None);
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.3.4/8"), None);
        assert_eq!(inet_aton(""), None);
        assert_eq!(inet_aton(" 1.2.3.4"), None);
    }

    #[test]
    fn subnets() {
        assert_eq!(ip_in_subnet("10.1.2.3", "10.0.0.0/8"), Ok(true));
        assert_eq!(ip_in_subnet("11.1.2.3", "10.0.0.0/8"), Ok(false));
        assert_eq!(ip_in_subnet("10.1.0.0/16", "10.0.0.0/8"), Ok(true));
        assert_eq!(ip_in_subnet("10.0.0.0/8", "10.1.0.0/16"), Ok(false));
        assert!(ip_in_subnet("x", "10.0.0.0/8").is_err());
        assert!(ip_in_subnet("10.0.0.1", "10.0.0.0/0").is_err());
        assert_eq!(ip_in_subnet("2001:db8::1", "2001:db8::/32"), Ok(true));
    }

    #[test]
    fn b64_lenient() {
        let v = Value::String("SGVs bG8=".into());
        assert_eq!(decode_b64_prop(&v).ok(), Some(b"Hello".to_vec()));
        assert!(decode_b64_prop(&Value::String("SGVsbG8".into())).is_err());
    }
}
