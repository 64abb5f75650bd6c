//! STIX timestamps ↔ Unix milliseconds.

use liaison_stix::Timestamp;

/// Format Unix ms as a STIX timestamp (RFC 3339 UTC, milliseconds).
pub fn fmt_ms(ms: i64) -> String {
    Timestamp::from_millis(ms).to_string()
}

/// Parse a STIX timestamp to Unix ms.
pub fn parse_ms(text: &str) -> Result<i64, String> {
    Timestamp::parse(text).map(|t| t.millis())
}

pub(crate) mod ts {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::fmt_ms(*ms))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_ms(&s).map_err(serde::de::Error::custom)
    }
}

pub(crate) mod ts_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_str(&super::fmt_ms(*ms)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| super::parse_ms(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}
