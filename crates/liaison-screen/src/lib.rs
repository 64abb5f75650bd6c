//! The Liaison screening engine: watchlists, indicator extraction, compiled
//! STIX indicators and the hits they produce.
//!
//! The engine is built once ([`EngineBuilder`]) and then scans chunks of whole
//! lines from any number of threads ([`Engine::scan`], one [`Scratch`] per
//! thread). It does no IO: reading files, splitting them into chunks and
//! writing hits is the binary's job (`liaison screen`).
//!
//! * **Watchlist terms** ([`Watchlist`], plain or CSV) and indicator
//!   literals are found by a strided gram filter: the text is probed only
//!   at every k-th byte (k = shortest term length − 3, so 3 for a list whose
//!   shortest term has 6 bytes), each probe a hash of the 4 to 8 bytes there
//!   tested against Bloom filters that stay in the cache, candidates checked
//!   in full; terms of fewer than 4 bytes go to a small Aho-Corasick
//!   automaton. One automaton over every byte is still available
//!   ([`EngineBuilder::strided`]`(false)`). Case-insensitive terms are folded
//!   once at build time ([`fold`], Unicode simple case folding that keeps
//!   byte offsets) and the text is folded on the fly at the probes and
//!   candidates, so there is no regex fallback. Terms match as substrings,
//!   or as whole words (Unicode word characters, as `rg -w`).
//! * **Extraction** ([`extract`]) finds IPv4/IPv6 addresses, domains (public
//!   suffix list), URLs, e-mail addresses, hashes, CVE ids, ASNs and Bitcoin
//!   addresses from cheap candidate positions, after [`refang`]ing defanged
//!   lines; an [`AllowList`] drops the noise.
//! * **Indicators** ([`IndicatorRule`], e.g. the active indicators of a STIX
//!   bundle: [`rules_from_bundle`]) are compiled with `liaison-pattern`
//!   ([`StixCompiler`]): a pattern that is an `OR` of equalities joins the
//!   automaton as literals (bounded like the indicator type: `example.com`
//!   does not hit in `notexample.com`, nor `1.2.3.4` in `1.2.3.4.5`); the
//!   others are evaluated by the pattern matcher on the extracted observables.
//!   A hit names the indicator's id.
//! * **Hits** ([`Hit`]) come out in input order and serialise to JSON (one
//!   JSON line each in `liaison screen`); they are ready to become STIX
//!   sightings.
//!
//! ```
//! use liaison_screen::{EngineBuilder, IndicatorRule, Rule, Scratch, Severity, Term, Watchlist};
//!
//! let mut list = Watchlist::new();
//! list.terms.push(Term::new("Lazarus").ignore_case(true).whole_word(true));
//! list.terms.push(Term::new("勒索软件").severity(Severity::High));
//! let engine = EngineBuilder::new()
//!     .watchlist(list)
//!     .indicators(vec![IndicatorRule {
//!         id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into(),
//!         pattern: "[domain-name:value = 'evil-cdn.net']".into(),
//!         label: Some("C2".into()),
//!         severity: Severity::High,
//!     }])
//!     .build()
//!     .unwrap();
//!
//! let text = "LAZARUS again\n新的勒索软件 via hxxp://evil-cdn[.]net/x from 10.0.0.1\n";
//! let hits = engine.scan("feed.txt", text.as_bytes(), 1, 0, &mut Scratch::default());
//! let got: Vec<_> = hits.iter().map(|h| (h.line, h.matched.as_str(), h.rule)).collect();
//! assert_eq!(got[0], (1, "LAZARUS", Rule::Term { term: "Lazarus" }));
//! assert_eq!(got[1], (2, "勒索软件", Rule::Term { term: "勒索软件" }));
//! // The defanged URL and its host, refanged; the private address is allow-listed.
//! assert!(hits.iter().any(|h| h.matched == "evil-cdn[.]net"
//!     && h.rule == Rule::Indicator { id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" }));
//! assert!(hits.iter().any(|h| h.value.as_deref() == Some("http://evil-cdn.net/x")));
//! assert!(!hits.iter().any(|h| h.matched == "10.0.0.1"));
//! // Hits serialise as JSON lines.
//! let line = serde_json::to_string(&hits[0]).unwrap();
//! assert!(line.contains(r#""rule":{"type":"term","term":"Lazarus"}"#));
//! ```

pub mod allow;
pub mod corpus;
mod engine;
mod error;
pub mod extract;
mod fasthash;
pub mod fold;
pub mod indicator;
pub mod refang;
pub mod stix;
mod strided;
pub mod watchlist;

pub use aho_corasick::AhoCorasickKind;
pub use allow::AllowList;
pub use engine::{ChunkCount, Engine, EngineBuilder, Hit, Rule, Scratch};
pub use error::{Error, ErrorKind, Result};
pub use extract::{Extractors, Found, Kind};
pub use indicator::{
    rules_from_bundle, rules_from_values, Compiled, IndicatorRule, Literal, Observable,
    ObservableMatcher, PatternCompiler, SimpleCompiler,
};
pub use stix::StixCompiler;
pub use watchlist::{Severity, Term, Watchlist};
