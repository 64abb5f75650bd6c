//! When a feed runs: every N seconds, or by a cron expression.

use crate::{Error, ErrorKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// A feed's schedule, written `every 15m` / `1h` / `30s` or as cron
/// (`cron:0 */6 * * *`, five fields, or six with seconds first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Schedule {
    /// A fixed interval in seconds.
    Every(u64),
    /// A cron expression (UTC).
    Cron(String),
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Every(3600)
    }
}

impl Schedule {
    /// Parse `15m`, `every 2h`, `90s`, `1d` or `cron:MIN HOUR DOM MON DOW`.
    pub fn parse(text: &str) -> Result<Schedule, Error> {
        let t = text.trim();
        if let Some(expr) = t.strip_prefix("cron:") {
            let expr = expr.trim().to_string();
            cron_of(&expr)?;
            return Ok(Schedule::Cron(expr));
        }
        let t = t.strip_prefix("every").unwrap_or(t).trim();
        let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
        let n: u64 = num.parse().map_err(|_| bad(text))?;
        let per = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return Err(bad(text)),
        };
        // A feed that runs less than once in ten years is a typo, and larger values
        // would overflow the date arithmetic of `next_after`.
        let secs = n
            .checked_mul(per)
            .filter(|s| (1..=MAX_INTERVAL).contains(s));
        let Some(secs) = secs else {
            return Err(bad(text));
        };
        Ok(Schedule::Every(secs))
    }

    /// The first run time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Schedule::Every(s) => {
                let s = (*s).min(MAX_INTERVAL) as i64;
                after
                    .checked_add_signed(chrono::Duration::seconds(s))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
            Schedule::Cron(expr) => cron_of(expr)
                .ok()
                .and_then(|c| c.after(&after).next())
                // An expression that never fires again (a past year): try again in a day.
                .unwrap_or(after + chrono::Duration::days(1)),
        }
    }
}

/// The longest interval a schedule accepts: ten years (3650 days), in seconds.
pub const MAX_INTERVAL: u64 = 3650 * 86400;

fn bad(text: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        "schedule",
        format!("'{text}': expected an interval from 1s to 3650d (30s, 15m, 6h, 1d) or cron:MIN HOUR DOM MON DOW"),
    )
}

fn cron_of(expr: &str) -> Result<cron::Schedule, Error> {
    // The cron crate wants seconds first; the usual five-field form gets second 0.
    let full = if expr.split_whitespace().count() == 5 {
        format!("0 {expr}")
    } else {
        expr.to_string()
    };
    cron::Schedule::from_str(&full)
        .map_err(|e| Error::new(ErrorKind::Config, "schedule", format!("cron '{expr}': {e}")))
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Cron(e) => write!(f, "cron:{e}"),
            Schedule::Every(s) if s % 86400 == 0 => write!(f, "{}d", s / 86400),
            Schedule::Every(s) if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            Schedule::Every(s) if s % 60 == 0 => write!(f, "{}m", s / 60),
            Schedule::Every(s) => write!(f, "{s}s"),
        }
    }
}

impl TryFrom<String> for Schedule {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Schedule::parse(&s)
    }
}

impl From<Schedule> for String {
    fn from(s: Schedule) -> String {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn intervals() {
        assert_eq!(Schedule::parse("15m").unwrap(), Schedule::Every(900));
        assert_eq!(Schedule::parse("every 2h").unwrap(), Schedule::Every(7200));
        assert_eq!(Schedule::parse("1d").unwrap().to_string(), "1d");
        assert!(Schedule::parse("0s").is_err());
        assert!(Schedule::parse("soon").is_err());
        assert!(Schedule::parse("3650d").is_ok());
        assert!(Schedule::parse("3651d").is_err());
        // 2^64 / 86400 days overflows the multiplication: refused, not wrapped or panicking.
        assert!(Schedule::parse("213503982334602d").is_err());
        assert!(Schedule::parse("99999999999999999999").is_err());
        assert_eq!(
            Schedule::Every(900).next_after(t("2026-11-29T10:00:00Z")),
            t("2026-11-29T10:15:00Z")
        );
    }

    #[test]
    fn cron_five_fields() {
        let s = Schedule::parse("cron:0 */6 * * *").unwrap();
        assert_eq!(
            s.next_after(t("2026-11-29T10:00:00Z")),
            t("2026-11-29T12:00:00Z")
        );
        assert_eq!(s.to_string(), "cron:0 */6 * * *");
        let e = Schedule::parse("cron:61 * * * *").unwrap_err();
        assert_eq!(e.at(), "schedule");
    }
}
