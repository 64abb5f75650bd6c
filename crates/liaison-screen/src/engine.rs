//! The compiled screening engine and its per-chunk scanner.

use crate::allow::AllowList;
use crate::error::{Error, ErrorKind, Result};
use crate::extract::{self, Extractors, Kind, Raw};
use crate::fasthash::FastHash;
use crate::fold;
use crate::indicator::{
    normalize_path, Compiled, IndicatorRule, KeyIndex, Literal, Observable, ObservableMatcher,
    PatternCompiler,
};
use crate::refang;
use crate::stix::StixCompiler;
use crate::strided::{Pat, Strided};
use crate::watchlist::{Severity, Term, Watchlist};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde::Serialize;
use std::collections::HashMap;

/// Which rule a hit is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Rule<'a> {
    /// A watchlist term.
    Term {
        /// The term as written in the watchlist.
        term: &'a str,
    },
    /// A STIX indicator.
    Indicator {
        /// Its id.
        id: &'a str,
    },
    /// An extracted indicator not (necessarily) on any list.
    Extractor {
        /// What was extracted.
        kind: Kind,
    },
}

/// One hit: a rule matched at a place in the input. Serialises as one JSON
/// object (a JSON line in `liaison screen` output); later stored as a STIX
/// `sighting`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit<'a> {
    /// The input's name.
    pub source: &'a str,
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the match in the input (for JSON-lines input with a
    /// field, the offset of the line).
    pub offset: u64,
    /// Byte offset of the match in its line (or in the field's text).
    pub column: u64,
    /// The text as it stands in the input (defanged forms included).
    pub matched: String,
    /// The normalised (refanged, lowercased) value, for indicators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The rule.
    pub rule: Rule<'a>,
    /// Severity.
    pub severity: Severity,
    /// Label of the term or name of the indicator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'a str>,
    /// Tags of the term.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub tags: &'a [String],
}

/// How a literal's match is bounded in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    /// Host names, addresses, e-mail addresses.
    Host,
    /// Hex digests.
    Hex,
    /// URLs.
    Url,
    /// Anything else: Unicode word boundaries.
    Word,
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Term {
        idx: u32,
        ci: bool,
        ww: bool,
    },
    Literal {
        rule: u32,
        lit: u32,
        ci: bool,
        boundary: Boundary,
    },
}

/// Search mode of the automaton.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// All patterns case-sensitive: search the raw text.
    Raw,
    /// All case-insensitive: search the folded text.
    Folded,
    /// Both: search the folded text, verify case-sensitive ones on the raw text.
    Mixed,
}

/// Builds an [`Engine`] (once; the engine is then shared by all threads).
pub struct EngineBuilder {
    watchlist: Watchlist,
    ignore_case: bool,
    whole_word: bool,
    extract: Option<Extractors>,
    allow: AllowList,
    rules: Vec<IndicatorRule>,
    compiler: Box<dyn PatternCompiler>,
    kind: Option<AhoCorasickKind>,
    overlapping: bool,
    dense_depth: Option<usize>,
    strided: bool,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EngineBuilder {
    /// Defaults: no terms, extraction on, the built-in allow-list, the
    /// `liaison-pattern` compiler, a contiguous NFA, every overlapping match.
    pub fn new() -> Self {
        EngineBuilder {
            watchlist: Watchlist::new(),
            ignore_case: false,
            whole_word: false,
            extract: Some(Extractors::default()),
            allow: AllowList::builtin(),
            rules: Vec::new(),
            compiler: Box::new(StixCompiler),
            kind: Some(AhoCorasickKind::ContiguousNFA),
            overlapping: true,
            dense_depth: None,
            strided: true,
        }
    }

    /// Match with the strided gram filter (default: fast on large lists,
    /// see [`crate::strided`]) or with one Aho-Corasick automaton over every
    /// byte (`false`; also used whenever only leftmost-longest matches are
    /// wanted).
    pub fn strided(mut self, yes: bool) -> Self {
        self.strided = yes;
        self
    }

    /// The terms to screen for (appended).
    pub fn watchlist(mut self, w: Watchlist) -> Self {
        self.watchlist.extend(w);
        self
    }

    /// Make every term case-insensitive.
    pub fn ignore_case(mut self, yes: bool) -> Self {
        self.ignore_case = yes;
        self
    }

    /// Make every term whole-word.
    pub fn whole_word(mut self, yes: bool) -> Self {
        self.whole_word = yes;
        self
    }

    /// Which extractors run (`None`: no extraction).
    pub fn extract(mut self, which: Option<Extractors>) -> Self {
        self.extract = which;
        self
    }

    /// The allow-list applied to extracted indicators.
    pub fn allow_list(mut self, a: AllowList) -> Self {
        self.allow = a;
        self
    }

    /// Indicator rules (appended).
    pub fn indicators(mut self, rules: Vec<IndicatorRule>) -> Self {
        self.rules.extend(rules);
        self
    }

    /// The pattern compiler (default: [`StixCompiler`], on `liaison-pattern`).
    pub fn compiler(mut self, c: Box<dyn PatternCompiler>) -> Self {
        self.compiler = c;
        self
    }

    /// Aho-Corasick implementation (`None`: let the crate choose).
    pub fn automaton_kind(mut self, k: Option<AhoCorasickKind>) -> Self {
        self.kind = k;
        self
    }

    /// Depth up to which automaton states use dense transitions (faster,
    /// larger); `None`: the aho-corasick default.
    pub fn dense_depth(mut self, depth: Option<usize>) -> Self {
        self.dense_depth = depth;
        self
    }

    /// Report every overlapping match (default) or only leftmost-longest ones.
    pub fn overlapping(mut self, yes: bool) -> Self {
        self.overlapping = yes;
        self
    }

    /// Compile. Indicators whose pattern can't be compiled are skipped and
    /// listed in [`Engine::skipped`].
    pub fn build(self) -> Result<Engine> {
        let terms = self.watchlist.terms;
        if self.ignore_case || terms.iter().any(|t| t.case_insensitive) {
            // The case pairs (a scan of the cased code points, once per
            // process) are made on another core while the keys are folded.
            std::thread::spawn(fold::case_pairs);
        }
        // The keys (folded when case-insensitive) in one arena, no
        // allocation per term; entries are (start, end, target,
        // case-insensitive).
        let mut keys: Vec<u8> = Vec::with_capacity(terms.iter().map(|t| t.text.len()).sum());
        let mut entries: Vec<(usize, usize, Target, bool)> = Vec::with_capacity(terms.len());
        for (i, t) in terms.iter().enumerate() {
            if t.text.is_empty() {
                continue;
            }
            let ci = t.case_insensitive || self.ignore_case;
            let ww = t.whole_word || self.whole_word;
            let start = keys.len();
            if ci && !self.ignore_case {
                fold::fold_str_into(&t.text, &mut keys);
            } else {
                // With `ignore_case`, every term is folded below, at once.
                keys.extend_from_slice(t.text.as_bytes());
            }
            let target = Target::Term {
                idx: i as u32,
                ci,
                ww,
            };
            entries.push((start, keys.len(), target, ci));
        }
        if self.ignore_case {
            fold::fold_in_place(&mut keys);
        }
        let mut literals: Vec<Literal> = Vec::new();
        let mut lookup: Vec<HashMap<String, Vec<u32>, FastHash>> = vec![HashMap::default(); KINDS];
        let mut matchers: Vec<(u32, Box<dyn ObservableMatcher>)> = Vec::new();
        let mut skipped = Vec::new();
        let compiled = compile_all(&*self.compiler, &self.rules);
        for (ri, c) in compiled.into_iter().enumerate() {
            let r = &self.rules[ri];
            match c {
                Ok(Compiled::Literals(ls)) => {
                    for l in ls {
                        // With extraction on, a literal the extractors produce
                        // exactly is looked up among the extracted values (no
                        // automaton pattern); the others join the automaton.
                        if let Some((kind, norm)) = self.extract.and_then(|w| lookup_key(&l, w)) {
                            lookup[kind as usize]
                                .entry(norm)
                                .or_default()
                                .push(ri as u32);
                            continue;
                        }
                        let (key, ci, boundary) = literal_key(&l);
                        if key.is_empty() {
                            continue;
                        }
                        let li = literals.len() as u32;
                        literals.push(l);
                        let start = keys.len();
                        keys.extend_from_slice(&key);
                        let target = Target::Literal {
                            rule: ri as u32,
                            lit: li,
                            ci,
                            boundary,
                        };
                        entries.push((start, keys.len(), target, ci));
                    }
                }
                Ok(Compiled::Matcher(m)) => matchers.push((ri as u32, m)),
                Err(e) => skipped.push(Error::pattern(&r.id, e)),
            }
        }
        let any_ci = entries.iter().any(|e| e.3);
        let any_cs = entries.iter().any(|e| !e.3);
        let mode = match (any_ci, any_cs) {
            (true, true) => Mode::Mixed,
            (true, false) => Mode::Folded,
            _ => Mode::Raw,
        };
        // The pattern of each entry, then the targets grouped by pattern.
        let mut pattern_of: Vec<u32> = Vec::with_capacity(entries.len());
        let mut entry_targets: Vec<Target> = Vec::with_capacity(entries.len());
        let mut full_fold = false;
        let matcher = if entries.is_empty() {
            Matcher::None
        } else if self.strided && self.overlapping {
            // Patterns are (key, case-insensitive): case-sensitive ones are
            // compared exactly, the others folded, by the filter itself.
            let mut by_key: HashMap<(&[u8], bool), u32, FastHash> =
                HashMap::with_capacity_and_hasher(entries.len(), FastHash::default());
            let mut pats: Vec<Pat<'_>> = Vec::with_capacity(entries.len());
            for &(s, e, t, ci) in &entries {
                let key = &keys[s..e];
                let n = pats.len() as u32;
                let id = *by_key.entry((key, ci)).or_insert(n);
                if id == n {
                    pats.push(Pat { bytes: key, ci });
                }
                pattern_of.push(id);
                entry_targets.push(t);
            }
            Matcher::Strided(Strided::new(&pats).map_err(|e| Error::new(ErrorKind::Build(e)))?)
        } else {
            let mut patterns: Vec<Vec<u8>> = Vec::new();
            let mut by_key: HashMap<Vec<u8>, u32, FastHash> =
                HashMap::with_capacity_and_hasher(entries.len(), FastHash::default());
            for &(s, e, t, ci) in &entries {
                let key = &keys[s..e];
                let key = if mode == Mode::Mixed && !ci {
                    let mut f = Vec::with_capacity(key.len());
                    fold::fold_into(key, &mut f);
                    f
                } else {
                    key.to_vec()
                };
                let n = patterns.len() as u32;
                let id = *by_key.entry(key.clone()).or_insert(n);
                if id == n {
                    patterns.push(key);
                }
                pattern_of.push(id);
                entry_targets.push(t);
            }
            full_fold = patterns.iter().any(|p| !p.is_ascii());
            let mk = if self.overlapping {
                MatchKind::Standard
            } else {
                MatchKind::LeftmostLongest
            };
            Matcher::Ac(
                AhoCorasick::builder()
                    .match_kind(mk)
                    .kind(self.kind)
                    .dense_depth(self.dense_depth.unwrap_or(3))
                    .build(&patterns)
                    .map_err(|e| Error::new(ErrorKind::Build(e.to_string())))?,
            )
        };
        let targets = Targets::new(&pattern_of, entry_targets);
        let mut by_type: HashMap<String, Vec<u32>> = HashMap::new();
        for (mi, (_, m)) in matchers.iter().enumerate() {
            for t in m.object_types() {
                by_type.entry(t).or_default().push(mi as u32);
            }
        }
        let by_kind: Vec<Vec<u32>> = Kind::ALL
            .iter()
            .map(|k| {
                k.stix()
                    .and_then(|(ty, _)| by_type.get(ty))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        Ok(Engine {
            terms,
            rules: self.rules,
            literals,
            matcher,
            targets,
            mode,
            full_fold,
            overlapping: self.overlapping,
            extract: self.extract,
            allow: self.allow,
            by_kind: index_matchers(&matchers, by_kind, &lookup),
            matchers,
            skipped,
            id: next_engine_id(),
        })
    }
}

/// Compile every rule's pattern, on two threads when there are many.
fn compile_all(
    c: &dyn PatternCompiler,
    rules: &[IndicatorRule],
) -> Vec<std::result::Result<Compiled, String>> {
    if rules.len() < 1000 {
        return rules.iter().map(|r| c.compile(&r.pattern)).collect();
    }
    let (a, b) = rules.split_at(rules.len() / 2);
    std::thread::scope(|s| {
        let first = s.spawn(|| a.iter().map(|r| c.compile(&r.pattern)).collect::<Vec<_>>());
        let second: Vec<_> = b.iter().map(|r| c.compile(&r.pattern)).collect();
        let mut out = first
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        out.extend(second);
        out
    })
}

/// Number of [`Kind`]s.
const KINDS: usize = Kind::ALL.len();

/// The extractor kind and normalised value that a literal is, if the
/// extractors enabled in `which` produce exactly that value from text.
fn lookup_key(l: &Literal, which: Extractors) -> Option<(Kind, String)> {
    let v = l.value.as_str();
    let whole = |kind: Kind| -> Option<(Kind, String)> {
        let mut out = Vec::new();
        extract::extract(v.as_bytes(), which, &mut out);
        out.into_iter()
            .find(|f| f.kind == kind && f.start == 0 && f.end == v.len())
            .map(|f| (kind, f.value))
    };
    let hex = |n: usize, kind: Kind| {
        (which.hashes && v.len() == n && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| (kind, v.to_ascii_lowercase()))
    };
    match (
        l.object_type.as_str(),
        normalize_path(&l.object_type, &l.path).as_str(),
    ) {
        ("ipv4-addr", "value") if which.ip => {
            extract::is_ipv4(v.as_bytes()).then(|| (Kind::Ipv4, v.to_string()))
        }
        ("ipv6-addr", "value") if which.ip => v
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|a| (Kind::Ipv6, a.to_string())),
        ("domain-name", "value") if which.net => extract::domain(v.as_bytes())
            .filter(|d| d.len() == v.len())
            .map(|d| (Kind::Domain, d)),
        ("url", "value") if which.net => whole(Kind::Url),
        ("email-addr", "value") if which.net => whole(Kind::Email),
        ("file", "hashes.MD5") => hex(32, Kind::Md5),
        ("file", "hashes.SHA1") => hex(40, Kind::Sha1),
        ("file", "hashes.SHA256") => hex(64, Kind::Sha256),
        ("file", "hashes.SHA512") => hex(128, Kind::Sha512),
        ("autonomous-system", "number") if which.ids => v
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .map(|n| (Kind::Asn, format!("AS{n}"))),
        _ => None,
    }
}

/// Automaton key, case handling and boundary of a literal.
fn literal_key(l: &Literal) -> (Vec<u8>, bool, Boundary) {
    let ci_fold = |v: &str| fold::fold_str_owned(v).into_bytes();
    match (
        l.object_type.as_str(),
        normalize_path(&l.object_type, &l.path).as_str(),
    ) {
        ("domain-name", "value") | ("email-addr", "value") => {
            (ci_fold(&l.value), true, Boundary::Host)
        }
        ("ipv4-addr", "value") => (l.value.as_bytes().to_vec(), false, Boundary::Host),
        ("ipv6-addr", "value") => (ci_fold(&l.value), true, Boundary::Host),
        ("url", "value") => (l.value.as_bytes().to_vec(), false, Boundary::Url),
        ("file", p) if p.starts_with("hashes.") => (ci_fold(&l.value), true, Boundary::Hex),
        ("autonomous-system", "number") => {
            (format!("AS{}", l.value).into_bytes(), false, Boundary::Word)
        }
        _ => (l.value.as_bytes().to_vec(), false, Boundary::Word),
    }
}

/// The targets of each automaton pattern (grouped, one allocation).
struct Targets {
    /// `list[start[p]..start[p + 1]]` are pattern `p`'s.
    start: Vec<u32>,
    list: Vec<Target>,
}

impl Targets {
    /// From the pattern of each target (counting sort; order kept).
    fn new(pattern_of: &[u32], targets: Vec<Target>) -> Targets {
        let n = pattern_of
            .iter()
            .map(|&p| p as usize + 1)
            .max()
            .unwrap_or(0);
        let mut start = vec![0u32; n + 1];
        for &p in pattern_of {
            start[p as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut at: Vec<u32> = start[..n].to_vec();
        let mut list: Vec<Option<Target>> = vec![None; targets.len()];
        for (&p, t) in pattern_of.iter().zip(targets) {
            list[at[p as usize] as usize] = Some(t);
            at[p as usize] += 1;
        }
        Targets {
            start,
            list: list.into_iter().flatten().collect(),
        }
    }

    fn of(&self, p: usize) -> &[Target] {
        &self.list[self.start[p] as usize..self.start[p + 1] as usize]
    }

    fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }
}

/// How the automaton patterns are found.
enum Matcher {
    /// No patterns.
    None,
    /// One Aho-Corasick automaton over every byte (of the folded text when
    /// some pattern is case-insensitive).
    Ac(AhoCorasick),
    /// The strided gram filter, on the raw text.
    Strided(Strided),
}

/// The compiled engine: immutable, `Sync`, shared by all scanning threads.
pub struct Engine {
    terms: Vec<Term>,
    rules: Vec<IndicatorRule>,
    literals: Vec<Literal>,
    matcher: Matcher,
    targets: Targets,
    mode: Mode,
    /// Some folded pattern has non-ASCII bytes: fold non-ASCII text too.
    /// (The fold keeps byte lengths, so non-ASCII never folds to ASCII.)
    full_fold: bool,
    overlapping: bool,
    extract: Option<Extractors>,
    allow: AllowList,
    matchers: Vec<(u32, Box<dyn ObservableMatcher>)>,
    /// Matchers by the kind of extracted observable they can match.
    by_kind: Vec<KindMatchers>,
    skipped: Vec<Error>,
    /// Unique to this engine: a [`Scratch`] remembers what it learnt of
    /// which engine (see [`DropMemo`]).
    id: u64,
}

/// A new [`Engine::id`].
fn next_engine_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("terms", &self.terms.len())
            .field("rules", &self.rules.len())
            .field("patterns", &self.targets.len())
            .field("mode", &self.mode)
            .field(
                "stride",
                &match &self.matcher {
                    Matcher::Strided(s) => s.stride(),
                    _ => 1,
                },
            )
            .field("heap_bytes", &self.memory_usage())
            .field(
                "strided",
                &match &self.matcher {
                    Matcher::Strided(s) => Some(s),
                    _ => None,
                },
            )
            .finish()
    }
}

/// Per-thread scratch buffers, reused from chunk to chunk.
#[derive(Debug, Default)]
pub struct Scratch {
    folded: Vec<u8>,
    short_fold: Vec<u8>,
    refanged: Vec<u8>,
    refanged_folded: Vec<u8>,
    map: Vec<u32>,
    found: Vec<Raw>,
    pending: Vec<Pending>,
    defanged: Vec<(usize, usize)>,
    /// An extracted value, made here before it is known to be a hit.
    value: Vec<u8>,
    /// Values lately dropped (see [`DropMemo`]).
    dropped: DropMemo,
    /// Where the hits start ([`Engine::count`]).
    starts: Vec<usize>,
    /// The extractors' trigger bytes.
    masks: extract::Masks,
}

/// The hits of a chunk, counted ([`Engine::count`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkCount {
    /// Hits, as many as [`Engine::scan`] returns.
    pub hits: u64,
    /// Lines with at least one hit.
    pub hit_lines: u64,
}

/// The values of a kind lately found to be named by no literal indicator
/// and dropped by the allow-list: logs repeat the same hosts and URLs
/// (referrers, update servers), and a small direct-mapped table kept in the
/// cache answers for them without the probes of the large maps.
#[derive(Debug, Default)]
struct DropMemo {
    /// The engine whose answers these are (a scratch may be used with
    /// several engines; 0: none yet).
    engine: u64,
    /// `DROP_SLOTS` slots once used: kind + 1 (0: empty), length, bytes.
    slots: Vec<(u8, u8, [u8; DROP_KEY])>,
}

/// Longest value [`DropMemo`] keeps.
const DROP_KEY: usize = 48;
/// Slots in [`DropMemo`] (a power of two).
const DROP_SLOTS: usize = 256;

impl DropMemo {
    /// Forget the answers of any other engine than `engine`.
    fn for_engine(&mut self, engine: u64) {
        if self.engine != engine {
            self.engine = engine;
            self.slots.clear();
        }
    }

    fn slot(kind: Kind, v: &[u8]) -> usize {
        let mut h = (kind as u64) << 8 | v.len() as u64;
        for c in v.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517C_C1B7_2722_0A95);
        }
        (h >> 32) as usize % DROP_SLOTS
    }

    /// Was `v` (of `kind`) dropped lately?
    fn contains(&self, kind: Kind, v: &[u8]) -> bool {
        if v.len() > DROP_KEY || self.slots.is_empty() {
            return false;
        }
        let (k, n, b) = &self.slots[Self::slot(kind, v)];
        // Padded with zeros and compared whole (see `DomainMemo` in
        // extract.rs): no `memcmp` call.
        *k == kind as u8 + 1 && *n as usize == v.len() && *b == Self::key(v)
    }

    fn key(v: &[u8]) -> [u8; DROP_KEY] {
        let mut key = [0u8; DROP_KEY];
        key[..v.len()].copy_from_slice(v);
        key
    }

    /// `v` (of `kind`) was dropped.
    fn insert(&mut self, kind: Kind, v: &[u8]) {
        if v.len() > DROP_KEY {
            return;
        }
        if self.slots.is_empty() {
            self.slots = vec![(0, 0, [0; DROP_KEY]); DROP_SLOTS];
        }
        let slot = &mut self.slots[Self::slot(kind, v)];
        *slot = (kind as u8 + 1, v.len() as u8, Self::key(v));
    }
}

#[derive(Debug)]
struct Pending {
    start: usize,
    end: usize,
    src: Src,
    value: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Src {
    Term(u32),
    Rule(u32),
    Extract(Kind),
}

impl Engine {
    /// Number of watchlist terms.
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// Number of indicator rules (compiled or not).
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Number of distinct automaton patterns.
    pub fn pattern_count(&self) -> usize {
        self.targets.len()
    }

    /// Number of indicators evaluated by a matcher (not literals).
    pub fn matcher_count(&self) -> usize {
        self.matchers.len()
    }

    /// Indicators that could not be compiled, with the reason.
    pub fn skipped(&self) -> &[Error] {
        &self.skipped
    }

    /// Heap bytes of the automaton.
    pub fn memory_usage(&self) -> usize {
        match &self.matcher {
            Matcher::None => 0,
            Matcher::Ac(a) => a.memory_usage(),
            Matcher::Strided(s) => s.memory_usage(),
        }
    }

    /// Scan a chunk of whole lines. `first_line` is the 1-based number of the
    /// chunk's first line and `base_offset` its byte offset in the input; hits
    /// come back in input order.
    pub fn scan<'a>(
        &'a self,
        source: &'a str,
        chunk: &[u8],
        first_line: u64,
        base_offset: u64,
        scratch: &mut Scratch,
    ) -> Vec<Hit<'a>> {
        let mut out = Vec::new();
        self.scan_with(source, chunk, first_line, base_offset, scratch, |h| {
            out.push(h)
        });
        out
    }

    /// Like [`Engine::scan`], pushing each hit into `sink` (a `Sink` in the
    /// ripgrep sense) instead of collecting them.
    pub fn scan_with<'a>(
        &'a self,
        source: &'a str,
        chunk: &[u8],
        first_line: u64,
        base_offset: u64,
        scratch: &mut Scratch,
        mut sink: impl FnMut(Hit<'a>),
    ) {
        self.gather(chunk, scratch);
        let pending = &mut scratch.pending;

        // 3. Input order, line numbers.
        pending.sort_by_key(|p| (p.start, p.end, src_order(p.src)));
        let (mut pos, mut line, mut line_start) = (0usize, first_line, 0usize);
        for p in pending.drain(..) {
            if p.start > pos {
                let seg = &chunk[pos..p.start];
                let n = memchr::memchr_iter(b'\n', seg).count();
                if n > 0 {
                    line += n as u64;
                    line_start = pos + memchr::memrchr(b'\n', seg).map_or(0, |i| i + 1);
                }
                pos = p.start;
            }
            let (rule, severity, label, tags): (Rule<'a>, Severity, Option<&'a str>, &'a [String]) =
                match p.src {
                    Src::Term(i) => {
                        let t = &self.terms[i as usize];
                        (
                            Rule::Term { term: &t.text },
                            t.severity,
                            t.label.as_deref(),
                            &t.tags,
                        )
                    }
                    Src::Rule(i) => {
                        let r = &self.rules[i as usize];
                        (
                            Rule::Indicator { id: &r.id },
                            r.severity,
                            r.label.as_deref(),
                            &[],
                        )
                    }
                    Src::Extract(k) => (Rule::Extractor { kind: k }, Severity::Info, None, &[]),
                };
            sink(Hit {
                source,
                line,
                offset: base_offset + p.start as u64,
                column: (p.start - line_start) as u64,
                matched: String::from_utf8_lossy(&chunk[p.start..p.end.min(chunk.len())])
                    .into_owned(),
                value: p.value,
                rule,
                severity,
                label,
                tags,
            });
        }
    }

    /// What [`Engine::scan_with`] would report for a chunk of whole lines,
    /// counted instead of made: the number of hits and of lines with at
    /// least one (`rg -c`'s figure). Nothing of a hit is built (text, value,
    /// line number), and lines are not counted: two hits are on the same
    /// line when no line end lies between them.
    pub fn count(&self, chunk: &[u8], scratch: &mut Scratch) -> ChunkCount {
        self.gather(chunk, scratch);
        let starts = &mut scratch.starts;
        starts.clear();
        starts.extend(scratch.pending.drain(..).map(|p| p.start));
        starts.sort_unstable();
        let mut lines = 0;
        let mut prev: Option<usize> = None;
        for &s in starts.iter() {
            let s = s.min(chunk.len());
            let same = prev.is_some_and(|p| memchr::memchr(b'\n', &chunk[p..s]).is_none());
            if !same {
                lines += 1;
            }
            prev = Some(s);
        }
        ChunkCount {
            hits: starts.len() as u64,
            hit_lines: lines,
        }
    }

    /// Phases 1 and 2 of a scan: every hit of `chunk`, in no order, in
    /// `scratch.pending`.
    fn gather(&self, chunk: &[u8], scratch: &mut Scratch) {
        let Scratch {
            folded,
            short_fold,
            refanged,
            refanged_folded,
            map,
            found,
            pending,
            defanged,
            value: vbuf,
            dropped,
            masks,
            ..
        } = scratch;
        pending.clear();
        defanged.clear();
        dropped.for_engine(self.id);
        let want_refang = self.extract.is_some() || !self.literals.is_empty();
        if want_refang {
            let mut last_end = 0;
            refang::for_each_marker(chunk, |ms, me| {
                if ms >= last_end {
                    let ls = memchr::memrchr(b'\n', &chunk[..ms]).map_or(0, |p| p + 1);
                    let le = memchr::memchr(b'\n', &chunk[me..]).map_or(chunk.len(), |p| me + p);
                    defanged.push((ls, le));
                    last_end = le;
                }
                true
            });
        }
        let in_defanged = |defanged: &[(usize, usize)], pos: usize| {
            if defanged.is_empty() {
                return false;
            }
            let i = defanged.partition_point(|&(_, e)| e < pos);
            i < defanged.len() && defanged[i].0 <= pos
        };

        // 1. The automaton: watchlist terms and indicator literals.
        if !matches!(self.matcher, Matcher::None) {
            let hay: &[u8] = match self.mode {
                _ if !matches!(self.matcher, Matcher::Ac(_)) => chunk,
                Mode::Raw => chunk,
                Mode::Folded | Mode::Mixed => {
                    self.fold(chunk, folded);
                    folded
                }
            };
            self.automaton_pass(chunk, hay, short_fold, false, &mut |s, e, t| {
                if matches!(t, Target::Literal { .. }) && in_defanged(defanged, s) {
                    return;
                }
                pending.push(self.pending_of(s, e, t, None));
            });
            for &(ls, le) in defanged.iter() {
                if self.literals.is_empty() {
                    break;
                }
                refang::refang_into(&chunk[ls..le], refanged, map);
                let hay: &[u8] = match self.mode {
                    _ if !matches!(self.matcher, Matcher::Ac(_)) => refanged,
                    Mode::Raw => refanged,
                    _ => {
                        self.fold(refanged, refanged_folded);
                        refanged_folded
                    }
                };
                self.automaton_pass(refanged, hay, short_fold, true, &mut |s, e, t| {
                    let v = String::from_utf8_lossy(&refanged[s..e]).into_owned();
                    let (os, oe) = (ls + map[s] as usize, ls + map[e] as usize);
                    pending.push(self.pending_of(os, oe, t, Some(v)));
                });
            }
        }

        // 2. Extraction, then the matchers on what was extracted.
        if let Some(which) = self.extract {
            // The text around the defanged lines as it stands (a find never
            // spans a line end), in blocks of whole lines small enough to
            // stay in the cache while all the extractors run over them and
            // what they found is looked at: over a whole chunk, each pass
            // read it from memory again.
            let mut from = 0;
            for &(ls, le) in defanged.iter().chain([(chunk.len(), chunk.len())].iter()) {
                while from < ls {
                    let to = block_end(chunk, from, ls);
                    found.clear();
                    extract::extract_raw(&chunk[from..to], which, masks, found);
                    for f in found.iter_mut() {
                        f.start += from;
                        f.end += from;
                        self.observe(f, chunk, vbuf, dropped, pending);
                    }
                    from = to;
                }
                from = le;
            }
            // Then each defanged line, refanged.
            for &(ls, le) in defanged.iter() {
                refang::refang_into(&chunk[ls..le], refanged, map);
                found.clear();
                extract::extract_raw(refanged, which, masks, found);
                for f in found.iter_mut() {
                    // The span is about to be one of the original text: the
                    // value (of the refanged text) is made now.
                    f.owned =
                        Some(String::from_utf8_lossy(f.value_bytes(refanged, vbuf)).into_owned());
                    f.start = ls + map[f.start] as usize;
                    f.end = ls + map[f.end] as usize;
                    self.observe(f, chunk, vbuf, dropped, pending);
                }
            }
        }
    }

    /// The hits of one extracted observable (value `v`): literal
    /// indicators, then — unless the allow-list drops it — the matchers and
    /// the extractor's own hit. Only a hit's value is allocated.
    fn observe(
        &self,
        f: &Raw,
        text: &[u8],
        vbuf: &mut Vec<u8>,
        dropped: &mut DropMemo,
        pending: &mut Vec<Pending>,
    ) {
        let km = &self.by_kind[f.kind as usize];
        if matches!(f.kind, Kind::Ipv4 | Kind::Ipv6) {
            // Most addresses in logs are private ones: dropped here, on the
            // number, unless an indicator names the address itself.
            if !km.may_name_addr(f.num) && self.allow.allows_parsed(f.kind, f.num, &[]) {
                return;
            }
        }
        let v = f.value_bytes(text, vbuf);
        if dropped.contains(f.kind, v) {
            return;
        }
        // The value as text, made for hits only.
        let text_value = || String::from_utf8_lossy(v).into_owned();
        let push = |pending: &mut Vec<Pending>, src: Src, value: String| {
            pending.push(Pending {
                start: f.start,
                end: f.end,
                src,
                value: Some(value),
            })
        };
        let named = km.literals.get(v);
        if let Some(rules) = named {
            for &r in rules {
                push(pending, Src::Rule(r), text_value());
            }
        }
        if self.allow.allows_parsed(f.kind, f.num, v) {
            if named.is_none() {
                dropped.insert(f.kind, v);
            }
            return;
        }
        let value = text_value();
        if let Some((ty, path)) = f.kind.stix() {
            if !(km.rest.is_empty() && km.index.is_empty()) {
                let obs_value = if f.kind == Kind::Asn {
                    value.get(2..).unwrap_or("")
                } else {
                    &value[..]
                };
                let obs = Observable {
                    object_type: ty,
                    path,
                    value: obs_value,
                };
                let mut test = |mi: u32| {
                    let (rule, m) = &self.matchers[mi as usize];
                    if m.matches(&obs) {
                        push(pending, Src::Rule(*rule), value.clone());
                    }
                };
                for &mi in &km.rest {
                    test(mi);
                }
                let v4 = (f.kind == Kind::Ipv4).then_some(f.num as u32);
                km.index.candidates(obs_value, v4, &mut test);
            }
        }
        push(pending, Src::Extract(f.kind), value);
    }

    fn fold(&self, text: &[u8], out: &mut Vec<u8>) {
        if self.full_fold {
            fold::fold_into(text, out);
        } else {
            fold::fold_ascii_into(text, out);
        }
    }

    fn pending_of(&self, s: usize, e: usize, t: &Target, value: Option<String>) -> Pending {
        match *t {
            Target::Term { idx, .. } => Pending {
                start: s,
                end: e,
                src: Src::Term(idx),
                value: None,
            },
            Target::Literal { rule, lit, .. } => Pending {
                start: s,
                end: e,
                src: Src::Rule(rule),
                value: value.or_else(|| Some(self.literals[lit as usize].value.clone())),
            },
        }
    }

    /// Run the automaton over `hay` (raw or folded), verify each target on
    /// `raw`, and call `emit` for the ones that hold.
    fn automaton_pass(
        &self,
        raw: &[u8],
        hay: &[u8],
        fold_buf: &mut Vec<u8>,
        literals_only: bool,
        emit: &mut dyn FnMut(usize, usize, &Target),
    ) {
        let mut check = |s: usize, e: usize, pat: usize| {
            for t in self.targets.of(pat) {
                let ok = match *t {
                    Target::Term { idx, ci, ww } => {
                        !literals_only
                            && (ci
                                || self.mode == Mode::Raw
                                || raw[s..e] == *self.terms[idx as usize].text.as_bytes())
                            && (!ww || (!word_before(raw, s) && !word_after(raw, e)))
                    }
                    Target::Literal {
                        lit, ci, boundary, ..
                    } => {
                        (ci || self.mode == Mode::Raw
                            || raw[s..e] == *self.literals[lit as usize].value.as_bytes())
                            && bounded(raw, s, e, boundary)
                    }
                };
                if ok {
                    emit(s, e, t);
                }
            }
        };
        match &self.matcher {
            Matcher::None => {}
            Matcher::Strided(st) => st.find(raw, fold_buf, &mut check),
            Matcher::Ac(ac) if self.overlapping => {
                for m in ac.find_overlapping_iter(hay) {
                    check(m.start(), m.end(), m.pattern().as_usize());
                }
            }
            Matcher::Ac(ac) => {
                for m in ac.find_iter(hay) {
                    check(m.start(), m.end(), m.pattern().as_usize());
                }
            }
        }
    }
}

/// The matchers of one kind of extracted observable.
#[derive(Debug, Default)]
struct KindMatchers {
    /// Without an index key: evaluated on every observable.
    rest: Vec<u32>,
    /// The others: evaluated on the candidates their keys give.
    index: KeyIndex,
    /// For IPv4 and IPv6: the addresses that literal indicators name, as
    /// numbers (the rules of the literal indicators of that value).
    addr_literals: HashMap<AddrKey, Vec<u32>, FastHash>,
    /// A bit per hash of the addresses in `addr_literals` (see
    /// [`addr_bit`]): 8 KiB that stay in the L1 cache, where a probe of the
    /// map for each of the many private addresses in logs missed it.
    addr_bits: Vec<u64>,
    /// The literal indicators of this kind by normalised value, keyed by
    /// bytes (extracted values are
    /// looked up without a UTF-8 check).
    literals: HashMap<Box<[u8]>, Vec<u32>, FastHash>,
}

impl KindMatchers {
    /// Might a literal indicator name this address? False only when none
    /// does; true sends the address on to the exact look-ups.
    #[inline]
    fn may_name_addr(&self, num: u128) -> bool {
        let b = addr_bit(num);
        self.addr_bits
            .get(b / 64)
            .is_some_and(|w| w & (1u64 << (b % 64)) != 0)
    }
}

/// Bits in [`KindMatchers::addr_bits`].
const ADDR_BITS: usize = 1 << 16;

/// The bit of an address in [`KindMatchers::addr_bits`]: the top bits of a
/// multiplicative hash (private addresses differ in their low bits).
fn addr_bit(num: u128) -> usize {
    let w = ((num >> 64) as u64).rotate_left(29) ^ num as u64;
    (w.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - 16)) as usize % ADDR_BITS
}

/// An address as a map key, hashed as one word (the default hash of a
/// `u128` feeds its sixteen bytes through the hasher one by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AddrKey(u128);

impl std::hash::Hash for AddrKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(((self.0 >> 64) as u64).rotate_left(29) as usize ^ self.0 as usize);
    }
}

/// Splits each kind's matchers into those with an index key for that kind
/// and the rest. A matcher whose key names another object type or path
/// cannot match the kind's observables and is left out of it.
fn index_matchers(
    matchers: &[(u32, Box<dyn ObservableMatcher>)],
    by_kind: Vec<Vec<u32>>,
    lookup: &[HashMap<String, Vec<u32>, FastHash>],
) -> Vec<KindMatchers> {
    let keys: Vec<_> = matchers.iter().map(|(_, m)| m.index_key()).collect();
    by_kind
        .into_iter()
        .zip(Kind::ALL)
        .map(|(ms, kind)| {
            let mut km = KindMatchers::default();
            let num = |v: &str| match kind {
                Kind::Ipv4 => crate::allow::parse_v4(v).map(u128::from),
                Kind::Ipv6 => v.parse::<std::net::Ipv6Addr>().ok().map(u128::from),
                _ => None,
            };
            km.addr_literals = lookup[kind as usize]
                .iter()
                .filter_map(|(v, rules)| Some((AddrKey(num(v)?), rules.clone())))
                .collect();
            if !km.addr_literals.is_empty() {
                km.addr_bits = vec![0; ADDR_BITS / 64];
                for k in km.addr_literals.keys() {
                    let b = addr_bit(k.0);
                    km.addr_bits[b / 64] |= 1 << (b % 64);
                }
            }
            km.literals = lookup[kind as usize]
                .iter()
                .map(|(v, rules)| (v.as_bytes().into(), rules.clone()))
                .collect();
            for mi in ms {
                match &keys[mi as usize] {
                    Some(k) => {
                        if kind.stix() == Some((k.object_type.as_str(), k.path.as_str())) {
                            km.index.add(&k.test, mi);
                        }
                    }
                    None => km.rest.push(mi),
                }
            }
            km
        })
        .collect()
}

/// Bytes of text extracted at a time (see `Engine::scan_with`).
const EXTRACT_BLOCK: usize = 64 << 10;

/// The end of the block of whole lines from `from` (before `limit`): just
/// after the last line end within [`EXTRACT_BLOCK`] bytes, or after the
/// first line end beyond when a line is longer than that.
fn block_end(t: &[u8], from: usize, limit: usize) -> usize {
    if limit - from <= EXTRACT_BLOCK {
        return limit;
    }
    let cut = from + EXTRACT_BLOCK;
    match memchr::memrchr(b'\n', &t[from..cut]) {
        Some(p) => from + p + 1,
        None => memchr::memchr(b'\n', &t[cut..limit]).map_or(limit, |p| cut + p + 1),
    }
}

fn src_order(s: Src) -> (u8, u32) {
    match s {
        Src::Term(i) => (0, i),
        Src::Rule(i) => (1, i),
        Src::Extract(k) => (2, k as u32),
    }
}

/// Is there a Unicode word character just before `s`?
pub(crate) fn word_before(h: &[u8], s: usize) -> bool {
    if s == 0 {
        return false;
    }
    let b = h[s - 1];
    if b < 0x80 {
        return b.is_ascii_alphanumeric() || b == b'_';
    }
    let mut k = s - 1;
    while k > 0 && s - k < 4 && (h[k] & 0xC0) == 0x80 {
        k -= 1;
    }
    std::str::from_utf8(&h[k..s])
        .ok()
        .and_then(|x| x.chars().next_back())
        .is_some_and(is_word_char)
}

/// Is there a Unicode word character at `e`?
pub(crate) fn word_after(h: &[u8], e: usize) -> bool {
    let Some(&b) = h.get(e) else { return false };
    if b < 0x80 {
        return b.is_ascii_alphanumeric() || b == b'_';
    }
    let n = match b {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return false,
    };
    h.get(e..e + n)
        .and_then(|x| std::str::from_utf8(x).ok())
        .and_then(|x| x.chars().next())
        .is_some_and(is_word_char)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
}

fn bounded(h: &[u8], s: usize, e: usize, b: Boundary) -> bool {
    match b {
        Boundary::Host => {
            if s > 0 && host_byte(h[s - 1]) {
                return false;
            }
            match h.get(e) {
                None => true,
                Some(&c) if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' => false,
                Some(b'.') => !h
                    .get(e + 1)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'-'),
                _ => true,
            }
        }
        Boundary::Hex => {
            !(s > 0 && (h[s - 1].is_ascii_alphanumeric() || h[s - 1] == b'_'))
                && !h
                    .get(e)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        }
        Boundary::Url => {
            if s > 0
                && (h[s - 1].is_ascii_alphanumeric()
                    || matches!(h[s - 1], b'.' | b'+' | b'-' | b'/'))
            {
                return false;
            }
            let url_char = |c: u8| c > 0x20 && c < 0x7f && !b"\"'<>`{}|\\^".contains(&c);
            let mut k = e;
            while k < h.len()
                && matches!(h[k], b'.' | b',' | b';' | b':' | b'!' | b'?' | b')' | b']')
            {
                k += 1;
            }
            k == h.len() || !url_char(h[k]) || (k == e && !url_char(h[e]))
        }
        Boundary::Word => !word_before(h, s) && !word_after(h, e),
    }
}
