//! Admiralty grading (NATO STANAG 2511): source reliability A–F and information
//! credibility 1–6, and STIX 2.1 `confidence`.
//!
//! The STIX 2.1 specification's appendix on confidence scales maps the credibility
//! scale (not reliability, which grades the source rather than the statement) to
//! confidence: 1 → 90, 2 → 70, 3 → 50, 4 → 30, 5 → 10, and 6 ("truth cannot be
//! judged") to no confidence at all; back, 80–100 → 1, 60–79 → 2, 40–59 → 3,
//! 20–39 → 4, 0–19 → 5, absent → 6. Liaison keeps both grades in
//! `x_liaison_admiralty` (`"B2"`), and sets `confidence` from the credibility.

use crate::{malformed, ProtectError};
use serde_json::{json, Map, Value};

/// The property the grading travels in.
pub const ADMIRALTY_PROP: &str = "x_liaison_admiralty";

/// Source reliability, A (completely reliable) to F (cannot be judged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reliability {
    /// Completely reliable.
    A,
    /// Usually reliable.
    B,
    /// Fairly reliable.
    C,
    /// Not usually reliable.
    D,
    /// Unreliable.
    E,
    /// Reliability cannot be judged.
    F,
}

impl Reliability {
    /// Parse `A`–`F` (either case).
    pub fn parse(c: char) -> Option<Self> {
        Some(match c.to_ascii_uppercase() {
            'A' => Self::A,
            'B' => Self::B,
            'C' => Self::C,
            'D' => Self::D,
            'E' => Self::E,
            'F' => Self::F,
            _ => return None,
        })
    }

    /// The letter.
    pub fn letter(self) -> char {
        ['A', 'B', 'C', 'D', 'E', 'F'][self as usize]
    }

    /// The words of the scale.
    pub fn meaning(self) -> &'static str {
        [
            "completely reliable",
            "usually reliable",
            "fairly reliable",
            "not usually reliable",
            "unreliable",
            "reliability cannot be judged",
        ][self as usize]
    }
}

/// Information credibility, 1 (confirmed by other sources) to 6 (cannot be judged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Credibility(u8);

impl Credibility {
    /// 1–6.
    pub fn new(n: u8) -> Option<Self> {
        (1..=6).contains(&n).then_some(Credibility(n))
    }

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The words of the scale.
    pub fn meaning(self) -> &'static str {
        [
            "confirmed by other sources",
            "probably true",
            "possibly true",
            "doubtful",
            "improbable",
            "truth cannot be judged",
        ][usize::from(self.0 - 1)]
    }

    /// STIX confidence per the specification's appendix; `None` for 6.
    pub fn to_confidence(self) -> Option<u8> {
        match self.0 {
            1 => Some(90),
            2 => Some(70),
            3 => Some(50),
            4 => Some(30),
            5 => Some(10),
            _ => None,
        }
    }

    /// The credibility of a STIX confidence (absent: 6). Values above 100 are refused.
    pub fn from_confidence(c: Option<u8>) -> Option<Self> {
        Some(Credibility(match c {
            None => 6,
            Some(v @ 0..=100) => match v {
                80..=100 => 1,
                60..=79 => 2,
                40..=59 => 3,
                20..=39 => 4,
                _ => 5,
            },
            Some(_) => return None,
        }))
    }
}

/// A full grading such as `B2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grade {
    /// Of the source.
    pub reliability: Reliability,
    /// Of the information.
    pub credibility: Credibility,
}

impl Grade {
    /// Parse `B2` (letter then digit).
    pub fn parse(text: &str) -> Result<Self, ProtectError> {
        let t = text.trim();
        let mut cs = t.chars();
        let (Some(l), Some(d), None) = (cs.next(), cs.next(), cs.next()) else {
            return Err(malformed(
                format!("grade '{t}'"),
                "expected a letter A-F then a digit 1-6, e.g. B2",
            ));
        };
        let reliability = Reliability::parse(l).ok_or_else(|| {
            malformed(
                format!("grade '{t}'"),
                format!("source reliability '{l}' is not A-F"),
            )
        })?;
        let credibility = d
            .to_digit(10)
            .and_then(|n| Credibility::new(n as u8))
            .ok_or_else(|| {
                malformed(
                    format!("grade '{t}'"),
                    format!("information credibility '{d}' is not 1-6"),
                )
            })?;
        Ok(Grade {
            reliability,
            credibility,
        })
    }
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.reliability.letter(), self.credibility.get())
    }
}

/// Grade an object: a source (`identity`) gets its reliability; a statement (report,
/// indicator, anything else) the full grade and the `confidence` of its credibility
/// (removed for 6, which STIX expresses as no confidence).
pub fn grade_object(obj: &mut Map<String, Value>, grade: Grade) {
    if obj.get("type").and_then(Value::as_str) == Some("identity") {
        obj.insert(
            ADMIRALTY_PROP.into(),
            json!(grade.reliability.letter().to_string()),
        );
        return;
    }
    obj.insert(ADMIRALTY_PROP.into(), json!(grade.to_string()));
    match grade.credibility.to_confidence() {
        Some(c) => obj.insert("confidence".into(), json!(c)),
        None => obj.shift_remove("confidence"),
    };
}

/// The grading an object carries, if any: `(reliability, credibility)`, credibility
/// falling back to the one its `confidence` maps to.
pub fn grade_of(obj: &Map<String, Value>) -> Option<(Reliability, Option<Credibility>)> {
    let s = obj.get(ADMIRALTY_PROP)?.as_str()?;
    let r = Reliability::parse(s.chars().next()?)?;
    let c = s
        .chars()
        .nth(1)
        .and_then(|d| d.to_digit(10))
        .and_then(|n| Credibility::new(n as u8))
        .or_else(|| {
            let conf = obj.get("confidence")?.as_u64()?;
            Credibility::from_confidence(u8::try_from(conf).ok())
        });
    Some((r, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_table() {
        let table = [
            (1, Some(90)),
            (2, Some(70)),
            (3, Some(50)),
            (4, Some(30)),
            (5, Some(10)),
            (6, None),
        ];
        for (n, conf) in table {
            let c = Credibility::new(n).unwrap();
            assert_eq!(c.to_confidence(), conf, "credibility {n}");
            assert_eq!(Credibility::from_confidence(conf), Some(c), "back {n}");
        }
        for (v, n) in [
            (0, 5),
            (19, 5),
            (20, 4),
            (39, 4),
            (40, 3),
            (59, 3),
            (60, 2),
            (79, 2),
            (80, 1),
            (100, 1),
        ] {
            assert_eq!(
                Credibility::from_confidence(Some(v)).unwrap().get(),
                n,
                "confidence {v}"
            );
        }
        assert_eq!(Credibility::from_confidence(Some(101)), None);
    }

    #[test]
    fn parse_grades() {
        let g = Grade::parse("b2").unwrap();
        assert_eq!(g.to_string(), "B2");
        assert_eq!(g.reliability.meaning(), "usually reliable");
        assert_eq!(g.credibility.meaning(), "probably true");
        for bad in ["G1", "A7", "A0", "B", "B22", ""] {
            let e = Grade::parse(bad).unwrap_err().to_string();
            assert!(e.contains("grade"), "{bad}: {e}");
        }
    }

    #[test]
    fn grading_objects() {
        let mut report: Map<String, Value> =
            serde_json::from_str(r#"{"type":"report","confidence":15}"#).unwrap();
        grade_object(&mut report, Grade::parse("A1").unwrap());
        assert_eq!(report["confidence"], 90);
        assert_eq!(report[ADMIRALTY_PROP], "A1");
        grade_object(&mut report, Grade::parse("C6").unwrap());
        assert!(!report.contains_key("confidence"));
        assert_eq!(
            grade_of(&report),
            Some((Reliability::C, Credibility::new(6)))
        );
        let mut source: Map<String, Value> =
            serde_json::from_str(r#"{"type":"identity"}"#).unwrap();
        grade_object(&mut source, Grade::parse("E3").unwrap());
        assert_eq!(source[ADMIRALTY_PROP], "E");
        assert!(!source.contains_key("confidence"));
    }
}
