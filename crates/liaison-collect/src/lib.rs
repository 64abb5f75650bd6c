//! `liaison-collect`: the collect stage of Liaison's pipeline, without IO.
//!
//! A feed is a [`FeedConfig`] (where, what format, when, under which label and
//! source grade) plus its persisted [`state::FeedState`] (cursors, ETags, last
//! success, errors, counts). Its runtime is a [`Connector`]: a small state machine
//! that says which [`Request`] to make next and turns each [`Response`] into
//! [`Item`]s — indicator values, news articles, sensor observations, or STIX
//! objects as pulled. The IO side (the server's scheduler, `liaison feed run`)
//! fetches, hands the bytes over, and stores what [`stix::Builder`] makes of the
//! items: STIX objects with provenance (an `external_references` entry naming the
//! feed, `created_by_ref` the feed's identity) and deterministic ids, so the same
//! indicator from several feeds is one object with every provenance kept
//! ([`stix::merge`]).
//!
//! ```
//! use liaison_collect::{connector_for, FeedConfig, Format, Response, stix::{Builder, FeedContext}};
//!
//! let cfg = FeedConfig::new("abuse-ips", "https://feeds.example/ips.txt", Format::List);
//! let mut conn = connector_for(&cfg, None).unwrap();
//! let req = conn.next_request().unwrap();
//! assert_eq!(req.url, "https://feeds.example/ips.txt");
//! let body = b"# bad hosts\n198.51.100.7\nevil.example.com\n";
//! let mut items = Vec::new();
//! conn.take(&Response::ok(body), &mut |i| items.push(i)).unwrap();
//! assert_eq!(items.len(), 2);
//! let mut b = Builder::new(FeedContext::new(&cfg, "UNCLASSIFIED", "2026-11-29T00:00:00.000Z"));
//! for i in items { b.add(i); }
//! let objs = b.finish();
//! let ind = objs.iter().find(|o| o["type"] == "indicator").unwrap();
//! assert_eq!(ind["pattern"], "[ipv4-addr:value = '198.51.100.7']");
//! assert_eq!(ind["external_references"][0]["source_name"], "liaison-feed:abuse-ips");
//! ```

pub mod backoff;
pub mod csvfeed;
pub mod decode;
mod error;
pub mod eve;
pub mod misp;
pub mod news;
pub mod schedule;
pub mod state;
pub mod stix;
pub mod tail;
pub mod taxii;

pub use error::{Error, ErrorKind};
pub use schedule::Schedule;

use serde::{Deserialize, Serialize};

/// The content format a feed delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// RSS 2.0 or Atom (told apart by the root element).
    News,
    /// CSV with a column mapping.
    Csv,
    /// One indicator a line (`#` comments).
    List,
    /// A MISP feed: `manifest.json` plus one JSON file per event.
    Misp,
    /// A TAXII 2.1 collection's objects endpoint.
    Taxii,
    /// Suricata EVE JSON lines (alert, dns, http, tls).
    Eve,
}

impl Format {
    /// Parse a format name.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "news" | "rss" | "atom" => Format::News,
            "csv" => Format::Csv,
            "list" | "txt" | "plain" => Format::List,
            "misp" => Format::Misp,
            "taxii" => Format::Taxii,
            "eve" | "suricata" => Format::Eve,
            _ => return None,
        })
    }

    /// The name [`Format::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::News => "news",
            Format::Csv => "csv",
            Format::List => "list",
            Format::Misp => "misp",
            Format::Taxii => "taxii",
            Format::Eve => "eve",
        }
    }
}

/// Source reliability on the Admiralty scale (A: completely reliable … F: cannot be judged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
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
    #[default]
    F,
}

impl Reliability {
    /// Parse `A`…`F`.
    pub fn parse(s: &str) -> Option<Reliability> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "A" => Reliability::A,
            "B" => Reliability::B,
            "C" => Reliability::C,
            "D" => Reliability::D,
            "E" => Reliability::E,
            "F" => Reliability::F,
            _ => return None,
        })
    }

    /// The letter.
    pub fn as_str(self) -> &'static str {
        match self {
            Reliability::A => "A",
            Reliability::B => "B",
            Reliability::C => "C",
            Reliability::D => "D",
            Reliability::E => "E",
            Reliability::F => "F",
        }
    }

    /// What the grade means.
    pub fn meaning(self) -> &'static str {
        match self {
            Reliability::A => "completely reliable",
            Reliability::B => "usually reliable",
            Reliability::C => "fairly reliable",
            Reliability::D => "not usually reliable",
            Reliability::E => "unreliable",
            Reliability::F => "reliability cannot be judged",
        }
    }
}

/// A feed's definition: what to fetch, how to read it, when, and under which label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedConfig {
    /// Unique name (`[a-z0-9._-]`), used in provenance (`liaison-feed:NAME`).
    pub name: String,
    /// `http(s)://…` URL, or a local file or directory path.
    pub url: String,
    /// Content format.
    pub format: Format,
    /// When it runs.
    #[serde(default)]
    pub schedule: Schedule,
    /// Default label of its items, as a banner (`RESTRICTED//REL TO ALL//TLP:GREEN`).
    pub label: String,
    /// Source reliability grade.
    #[serde(default)]
    pub reliability: Reliability,
    /// Paused feeds are not run by the scheduler.
    #[serde(default)]
    pub paused: bool,
    /// CSV and list options (columns, delimiter, comments, encoding).
    #[serde(default)]
    pub csv: csvfeed::CsvOptions,
    /// Local files: read only what was appended since the last run (log tailing).
    #[serde(default)]
    pub follow: bool,
    /// Largest body (or item) accepted, in bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// TAXII: `Authorization` header value for the server (kept out of logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// A watchlist file (plain or CSV, as `liaison screen` reads) that news items are
    /// screened against: matching terms become labels (`watchlist:TERM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watchlist: Option<String>,
}

fn default_max_bytes() -> u64 {
    256 << 20
}

impl FeedConfig {
    /// A feed with defaults: hourly, `UNCLASSIFIED//REL TO ALL`, grade F.
    pub fn new(name: &str, url: &str, format: Format) -> Self {
        FeedConfig {
            name: name.into(),
            url: url.into(),
            format,
            schedule: Schedule::default(),
            label: "UNCLASSIFIED//REL TO ALL".into(),
            reliability: Reliability::F,
            paused: false,
            csv: csvfeed::CsvOptions::default(),
            follow: false,
            max_bytes: default_max_bytes(),
            auth: None,
            watchlist: None,
        }
    }

    /// Check the name and options; the reason names the field.
    pub fn check(&self) -> Result<(), Error> {
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return Err(Error::config(
                "name",
                format!(
                    "'{}': a feed name is lower-case letters, digits, '.', '_' and '-'",
                    self.name
                ),
            ));
        }
        if self.url.is_empty() {
            return Err(Error::config("url", "empty"));
        }
        if self.format == Format::Csv {
            self.csv.check()?;
        }
        decode::encoding_for(self.csv.encoding.as_deref())?;
        Ok(())
    }

    /// The deterministic id of the feed's identity object.
    pub fn identity_id(&self) -> String {
        stix::feed_identity_id(&self.name)
    }
}

/// One fetch the IO side should make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// URL or local path.
    pub url: String,
    /// Send the stored ETag / Last-Modified (only for the feed's main document).
    pub conditional: bool,
    /// `Accept` header.
    pub accept: Option<&'static str>,
}

/// What a fetch returned.
#[derive(Debug, Clone, Default)]
pub struct Response<'a> {
    /// HTTP status (200 for local files, 304 when unchanged).
    pub status: u16,
    /// The body.
    pub body: &'a [u8],
    /// `Content-Type`, when known.
    pub content_type: Option<String>,
    /// `X-TAXII-Date-Added-Last`, when present.
    pub date_added_last: Option<String>,
}

impl<'a> Response<'a> {
    /// A 200 response with this body.
    pub fn ok(body: &'a [u8]) -> Self {
        Response {
            status: 200,
            body,
            ..Default::default()
        }
    }
}

/// An observable kind an indicator value can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueKind {
    /// IPv4 address or CIDR.
    Ipv4,
    /// IPv6 address or CIDR.
    Ipv6,
    /// Domain name.
    Domain,
    /// URL.
    Url,
    /// E-mail address.
    Email,
    /// MD5 hash.
    Md5,
    /// SHA-1 hash.
    Sha1,
    /// SHA-256 hash.
    Sha256,
}

impl ValueKind {
    /// Parse a kind name as used in CSV column mappings.
    pub fn parse(s: &str) -> Option<ValueKind> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "ipv4" | "ip" | "ipv4-addr" | "ip-dst" | "ip-src" => ValueKind::Ipv4,
            "ipv6" | "ipv6-addr" => ValueKind::Ipv6,
            "domain" | "domain-name" | "hostname" | "fqdn" => ValueKind::Domain,
            "url" | "uri" => ValueKind::Url,
            "email" | "email-addr" | "email-src" => ValueKind::Email,
            "md5" => ValueKind::Md5,
            "sha1" | "sha-1" => ValueKind::Sha1,
            "sha256" | "sha-256" => ValueKind::Sha256,
            _ => return None,
        })
    }

    /// Guess the kind of a bare value (plain lists, CSV without a type column).
    pub fn guess(v: &str) -> Option<ValueKind> {
        let v = v.trim();
        if v.is_empty() || v.contains(char::is_whitespace) {
            return None;
        }
        let (addr, prefix) = match v.split_once('/') {
            Some((a, p)) if !v.contains("://") => (a, Some(p)),
            _ => (v, None),
        };
        if prefix.is_none_or(|p| p.parse::<u8>().is_ok()) {
            if addr.parse::<std::net::Ipv4Addr>().is_ok() {
                return Some(ValueKind::Ipv4);
            }
            if addr.parse::<std::net::Ipv6Addr>().is_ok() {
                return Some(ValueKind::Ipv6);
            }
        }
        if v.contains("://") {
            return Some(ValueKind::Url);
        }
        if v.bytes().all(|b| b.is_ascii_hexdigit()) {
            return match v.len() {
                32 => Some(ValueKind::Md5),
                40 => Some(ValueKind::Sha1),
                64 => Some(ValueKind::Sha256),
                _ => None,
            };
        }
        if let Some((local, host)) = v.split_once('@') {
            return (!local.is_empty() && is_domain(host)).then_some(ValueKind::Email);
        }
        is_domain(v).then_some(ValueKind::Domain)
    }

    /// The STIX pattern matching this value.
    pub fn pattern(self, value: &str) -> String {
        let q = stix::quote(value);
        match self {
            ValueKind::Ipv4 => format!("[ipv4-addr:value = '{q}']"),
            ValueKind::Ipv6 => format!("[ipv6-addr:value = '{q}']"),
            ValueKind::Domain => format!("[domain-name:value = '{q}']"),
            ValueKind::Url => format!("[url:value = '{q}']"),
            ValueKind::Email => format!("[email-addr:value = '{q}']"),
            ValueKind::Md5 => format!("[file:hashes.MD5 = '{q}']"),
            ValueKind::Sha1 => format!("[file:hashes.'SHA-1' = '{q}']"),
            ValueKind::Sha256 => format!("[file:hashes.'SHA-256' = '{q}']"),
        }
    }

    /// Normalise a value of this kind (hashes and domains lower-case).
    pub fn normalise(self, value: &str) -> String {
        let v = value.trim();
        match self {
            ValueKind::Domain | ValueKind::Md5 | ValueKind::Sha1 | ValueKind::Sha256 => {
                v.trim_end_matches('.').to_ascii_lowercase()
            }
            _ => v.to_string(),
        }
    }
}

fn is_domain(v: &str) -> bool {
    let v = v.trim_end_matches('.');
    v.contains('.')
        && v.len() <= 253
        && v.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                // Internationalised names (U-labels) count: `café.example`.
                && l.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
        && v.rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()))
}

/// An indicator value as a feed lists it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndicatorItem {
    /// Its kind.
    pub kind: Option<ValueKind>,
    /// The value.
    pub value: String,
    /// Feed-given categories (`botnet_cc`, `phishing`…), kept as STIX labels.
    pub labels: Vec<String>,
    /// Free text.
    pub description: Option<String>,
    /// When the feed says it was first seen (STIX timestamp).
    pub first_seen: Option<String>,
    /// Where the feed says it was listed (line `12` of the file, a report URL).
    pub reference: Option<String>,
}

/// A news article (RSS item or Atom entry).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Article {
    /// Title.
    pub title: String,
    /// Link to the article.
    pub link: Option<String>,
    /// Summary or content (markup stripped).
    pub summary: Option<String>,
    /// Publication time (STIX timestamp).
    pub published: Option<String>,
    /// The feed's own id of the item (RSS guid, Atom id).
    pub guid: Option<String>,
    /// Categories.
    pub categories: Vec<String>,
}

/// Something a sensor saw (Suricata EVE).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    /// When (STIX timestamp).
    pub time: String,
    /// What was seen: (kind, value) pairs.
    pub observables: Vec<(ValueKind, String)>,
    /// For alerts: the signature id and message.
    pub signature: Option<(u64, String)>,
    /// The EVE event type (`alert`, `dns`, `http`, `tls`).
    pub event_type: String,
}

/// What a connector yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An indicator value.
    Indicator(IndicatorItem),
    /// A news article.
    Article(Article),
    /// A sensor observation.
    Observation(Observation),
    /// A STIX object as pulled (TAXII, MISP).
    Stix(serde_json::Value),
    /// Something the parser could not take (an unknown value, an oversized item):
    /// where and why. The rest of the feed goes on; the count shows in its status.
    Skipped {
        /// Where (`line 12`, `item 3`).
        at: String,
        /// Why.
        reason: String,
    },
}

/// The runtime of a feed: requests to make, responses to read.
pub trait Connector: Send {
    /// The next fetch this run needs, or `None` when the run is complete.
    fn next_request(&mut self) -> Option<Request>;
    /// Read the response of the request last returned, pushing items to `sink`.
    fn take(&mut self, resp: &Response<'_>, sink: &mut dyn FnMut(Item)) -> Result<(), Error>;
    /// The cursor to persist after a successful run (TAXII `added_after`, MISP event
    /// timestamps), if the connector keeps one.
    fn cursor(&self) -> Option<serde_json::Value> {
        None
    }
}

/// The connector for a feed, resuming from its persisted cursor.
pub fn connector_for(
    cfg: &FeedConfig,
    cursor: Option<&serde_json::Value>,
) -> Result<Box<dyn Connector>, Error> {
    cfg.check()?;
    Ok(match cfg.format {
        Format::News => Box::new(OneShot::new(cfg, |b, s| news::parse(b, s))),
        Format::Csv => {
            let opts = cfg.csv.clone();
            Box::new(OneShot::new(cfg, move |b, s| {
                csvfeed::parse_csv(b, &opts, s)
            }))
        }
        Format::List => {
            let opts = cfg.csv.clone();
            Box::new(OneShot::new(cfg, move |b, s| {
                csvfeed::parse_list(b, &opts, s)
            }))
        }
        Format::Eve => Box::new(OneShot::new(cfg, |b, s| eve::parse(b, s))),
        Format::Taxii => Box::new(taxii::TaxiiPull::new(&cfg.url, cursor)?),
        Format::Misp => Box::new(misp::MispFeed::new(&cfg.url, cursor)),
    })
}

type ParseFn = dyn Fn(&[u8], &mut dyn FnMut(Item)) -> Result<(), Error> + Send;

/// A connector that fetches one document and parses it whole.
struct OneShot {
    url: String,
    done: bool,
    parse: Box<ParseFn>,
}

impl OneShot {
    fn new(
        cfg: &FeedConfig,
        parse: impl Fn(&[u8], &mut dyn FnMut(Item)) -> Result<(), Error> + Send + 'static,
    ) -> Self {
        OneShot {
            url: cfg.url.clone(),
            done: false,
            parse: Box::new(parse),
        }
    }
}

impl Connector for OneShot {
    fn next_request(&mut self) -> Option<Request> {
        (!self.done).then(|| {
            self.done = true;
            Request {
                url: self.url.clone(),
                conditional: true,
                accept: None,
            }
        })
    }

    fn take(&mut self, resp: &Response<'_>, sink: &mut dyn FnMut(Item)) -> Result<(), Error> {
        if resp.status == 304 {
            return Ok(());
        }
        (self.parse)(resp.body, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_kinds() {
        assert_eq!(ValueKind::guess("198.51.100.7"), Some(ValueKind::Ipv4));
        assert_eq!(ValueKind::guess("198.51.100.0/24"), Some(ValueKind::Ipv4));
        assert_eq!(ValueKind::guess("2001:db8::1"), Some(ValueKind::Ipv6));
        assert_eq!(
            ValueKind::guess("http://evil.example/x"),
            Some(ValueKind::Url)
        );
        assert_eq!(
            ValueKind::guess("evil.example.com"),
            Some(ValueKind::Domain)
        );
        assert_eq!(ValueKind::guess("a@evil.example"), Some(ValueKind::Email));
        assert_eq!(
            ValueKind::guess("d41d8cd98f00b204e9800998ecf8427e"),
            Some(ValueKind::Md5)
        );
        assert_eq!(ValueKind::guess("café.example"), Some(ValueKind::Domain));
        assert_eq!(ValueKind::guess("not a value"), None);
        assert_eq!(ValueKind::guess("1.2.3"), None);
        assert_eq!(ValueKind::guess("deadbeef"), None);
    }

    #[test]
    fn feed_names_are_checked() {
        let mut c = FeedConfig::new("ok-name_1.x", "x", Format::List);
        assert!(c.check().is_ok());
        c.name = "Bad Name".into();
        let e = c.check().unwrap_err();
        assert!(e.to_string().contains("name"), "{e}");
    }
}
