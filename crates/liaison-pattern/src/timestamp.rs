//! Timestamp parsing to microseconds since the Unix epoch.
//!
//! Follows the reference matcher: upper-case `T`/`Z` required, `Z` suffix required,
//! fractional seconds truncated to microseconds, and real calendar dates only
//! (no day 30 of February, no second 60).

use std::sync::OnceLock;

use regex::Regex;

fn ts_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // The shapes Python's strptime accepts for %Y-%m-%dT%H:%M:%S[.%f]Z.
        Regex::new(
            r"^([0-9]{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])T(2[0-3]|[01][0-9]|[0-9]):([0-5][0-9]|[0-9]):(6[01]|[0-5][0-9]|[0-9])(?:\.([0-9]{1,6}))?Z$",
        )
        .unwrap_or_else(|_| unreachable!("static regex compiles"))
    })
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// Parses a STIX timestamp (`2016-04-06T20:03:48.123Z`) to microseconds since the epoch.
///
/// Returns a description of the problem when the text is not a valid timestamp.
///
/// ```
/// use liaison_pattern::parse_timestamp_micros;
/// assert_eq!(parse_timestamp_micros("1970-01-01T00:00:01.5Z"), Ok(1_500_000));
/// assert!(parse_timestamp_micros("1970-01-01t00:00:01Z").is_err());
/// ```
pub fn parse_timestamp_micros(s: &str) -> Result<i64, String> {
    if let Some(t) = fast_path(s.as_bytes()) {
        return Ok(t);
    }
    if s.chars().any(char::is_lowercase) {
        return Err(format!(
            "Invalid timestamp format (require upper case): {s}"
        ));
    }
    // Python keeps at most six fraction digits when the fraction part is long.
    let owned: String;
    let mut text = s;
    if let Some(dot) = s.find('.') {
        let after = &s[dot + 1..];
        let second_part = after.split('.').next().unwrap_or("");
        if second_part.len() > 7 && second_part.ends_with('Z') && second_part.is_char_boundary(6) {
            let rest = &after[second_part.len()..];
            owned = format!("{}{}Z{}", &s[..dot + 1], &second_part[..6], rest);
            text = &owned;
        }
    }
    let caps = ts_regex()
        .captures(text)
        .ok_or_else(|| format!("time data '{s}' does not match format '%Y-%m-%dT%H:%M:%SZ'"))?;
    let num = |i: usize| -> i64 {
        caps.get(i)
            .map(|m| m.as_str().trim().parse::<i64>().unwrap_or(0))
            .unwrap_or(0)
    };
    let (y, mo, d, h, mi, sec) = (num(1), num(2), num(3), num(4), num(5), num(6));
    if y < 1 {
        return Err(format!("year {y} is out of range"));
    }
    if d > days_in_month(y, mo) {
        return Err("day is out of range for month".to_string());
    }
    if sec > 59 {
        return Err("second must be in 0..59".to_string());
    }
    let micros_frac = match caps.get(7) {
        Some(m) => {
            let digits = m.as_str();
            let mut v = digits.parse::<i64>().unwrap_or(0);
            for _ in digits.len()..6 {
                v *= 10;
            }
            v
        }
        None => 0,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    Ok(secs * 1_000_000 + micros_frac)
}

/// The canonical shape `YYYY-MM-DDTHH:MM:SS[.f+]Z` with in-range fields, without
/// regex; anything else goes through the general path (same results).
fn fast_path(b: &[u8]) -> Option<i64> {
    if b.len() < 20 {
        return None;
    }
    let dig = |i: usize| -> Option<i64> {
        let c = *b.get(i)?;
        c.is_ascii_digit().then(|| i64::from(c - b'0'))
    };
    let two = |i: usize| -> Option<i64> { Some(dig(i)? * 10 + dig(i + 1)?) };
    let y = dig(0)? * 1000 + dig(1)? * 100 + dig(2)? * 10 + dig(3)?;
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (mo, d, h, mi, sec) = (two(5)?, two(8)?, two(11)?, two(14)?, two(17)?);
    if y < 1
        || !(1..=12).contains(&mo)
        || d < 1
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 59
    {
        return None;
    }
    let mut frac = 0i64;
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                frac = frac * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..6 {
            frac *= 10;
        }
    }
    if i + 1 != b.len() || b[i] != b'Z' {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec;
    Some(secs * 1_000_000 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_compatible_shapes() {
        assert_eq!(parse_timestamp_micros("1970-01-01T00:00:00Z"), Ok(0));
        assert!(parse_timestamp_micros("2016-2-3T1:2:3Z").is_ok());
        assert!(parse_timestamp_micros("2016-02-30T00:00:00Z").is_err());
        assert!(parse_timestamp_micros("2016-12-31T23:59:60Z").is_err());
        assert!(parse_timestamp_micros("0000-01-01T00:00:00Z").is_err());
        assert_eq!(
            parse_timestamp_micros("1970-01-01T00:00:00.1234567Z"),
            Ok(123_456)
        );
        assert_eq!(
            parse_timestamp_micros("1970-01-01T00:00:00.1234567890Z"),
            Ok(123_456)
        );
        assert!(parse_timestamp_micros("1970-01-01T00:00:00.Z").is_err());
        assert!(parse_timestamp_micros("1970-01-01T00:00:00Z ").is_err());
        assert!(parse_timestamp_micros("2010-05-21T13:21Z").is_err());
        assert_eq!(
            parse_timestamp_micros("1970-01-02T00:00:00Z"),
            Ok(86_400_000_000)
        );
    }
}
