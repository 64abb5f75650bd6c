//! Indicator extraction without a pass of regexes per kind.
//!
//! Candidates are found cheaply and validated locally:
//!
//! * every `.` (memchr) is grown to its host-name token → IPv4 or domain
//!   (the domain's suffix checked against the public suffix list of the `psl`
//!   crate, which ships the list compiled in);
//! * every `://` → URL; every `@` → e-mail address;
//! * every `:` grown over hex digits and colons → IPv6 (validated by `std`);
//! * long alphanumeric runs, found by probing one byte in 13 → MD5, SHA-1,
//!   SHA-256, SHA-512 (the run must be exactly that long: a SHA-256 inside a
//!   longer hex run is not one) and Bitcoin addresses (Base58Check and
//!   Bech32/Bech32m checksums verified);
//! * `CVE-` → CVE ids; `AS` + digits → autonomous system numbers.
//!
//! All character classes are ASCII: the indicators are ASCII, and a token is
//! bounded by any non-ASCII byte.

use memchr::memmem;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::net::Ipv6Addr;
use std::sync::OnceLock;

/// What an extractor found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// IPv4 address.
    Ipv4,
    /// IPv6 address.
    Ipv6,
    /// Domain name under a known public suffix.
    Domain,
    /// http(s)/ftp URL.
    Url,
    /// E-mail address.
    Email,
    /// MD5 hash.
    Md5,
    /// SHA-1 hash.
    Sha1,
    /// SHA-256 hash.
    Sha256,
    /// SHA-512 hash.
    Sha512,
    /// CVE id.
    Cve,
    /// Autonomous system number (`AS13335`).
    Asn,
    /// Bitcoin address.
    Bitcoin,
}

impl Kind {
    /// Every kind, in discriminant order.
    pub const ALL: [Kind; 12] = [
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Domain,
        Kind::Url,
        Kind::Email,
        Kind::Md5,
        Kind::Sha1,
        Kind::Sha256,
        Kind::Sha512,
        Kind::Cve,
        Kind::Asn,
        Kind::Bitcoin,
    ];

    /// Name as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Email => "email",
            Kind::Md5 => "md5",
            Kind::Sha1 => "sha1",
            Kind::Sha256 => "sha256",
            Kind::Sha512 => "sha512",
            Kind::Cve => "cve",
            Kind::Asn => "asn",
            Kind::Bitcoin => "bitcoin",
        }
    }

    /// The STIX object type and property path this kind fills, if any.
    pub fn stix(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Kind::Ipv4 => ("ipv4-addr", "value"),
            Kind::Ipv6 => ("ipv6-addr", "value"),
            Kind::Domain => ("domain-name", "value"),
            Kind::Url => ("url", "value"),
            Kind::Email => ("email-addr", "value"),
            Kind::Md5 => ("file", "hashes.MD5"),
            Kind::Sha1 => ("file", "hashes.SHA1"),
            Kind::Sha256 => ("file", "hashes.SHA256"),
            Kind::Sha512 => ("file", "hashes.SHA512"),
            Kind::Asn => ("autonomous-system", "number"),
            Kind::Cve | Kind::Bitcoin => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One extracted indicator: byte span in the scanned text and normalised value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Start offset.
    pub start: usize,
    /// End offset (exclusive).
    pub end: usize,
    /// Kind.
    pub kind: Kind,
    /// Normalised value (lowercase host, `CVE-` upper, `AS` + number, …).
    pub value: String,
}

/// An extracted indicator whose normalised value is made only when asked
/// for ([`Raw::value_into`]): most of what the extractors find is dropped by
/// the allow-list, and a `String` for each was a good part of the cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Raw {
    /// Start offset.
    pub start: usize,
    /// End offset (exclusive).
    pub end: usize,
    /// Kind.
    pub kind: Kind,
    /// IPv4 address (as `u32`), IPv6 address, ASN; for URLs the length of
    /// the lowercased part (scheme and authority); else 0.
    pub num: u128,
    /// The value when it is not made from the span: internationalised
    /// names (punycode), and finds in refanged text.
    pub owned: Option<String>,
}

impl Raw {
    fn new(start: usize, end: usize, kind: Kind, num: u128) -> Raw {
        Raw {
            start,
            end,
            kind,
            num,
            owned: None,
        }
    }

    /// The normalised value, written into `buf`; `text` is the text that
    /// the span is of.
    pub fn value_into<'b>(&self, text: &[u8], buf: &'b mut String) -> &'b str {
        let mut bytes = std::mem::take(buf).into_bytes();
        self.value_bytes(text, &mut bytes);
        *buf = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        buf
    }

    /// The normalised value as bytes, written into `buf`. The spans are
    /// ASCII (every extractor's character class is), and the engine checks
    /// most values only against maps of bytes: no UTF-8 check is made here,
    /// which on values this short cost more than the copy.
    pub fn value_bytes<'b>(&self, text: &[u8], buf: &'b mut Vec<u8>) -> &'b [u8] {
        use std::io::Write;
        buf.clear();
        if let Some(o) = &self.owned {
            buf.extend_from_slice(o.as_bytes());
            return buf;
        }
        let span = text.get(self.start..self.end).unwrap_or(&[]);
        match self.kind {
            Kind::Ipv4 | Kind::Bitcoin => buf.extend_from_slice(span),
            Kind::Ipv6 => {
                let _ = write!(buf, "{}", Ipv6Addr::from(self.num));
            }
            Kind::Asn => {
                let _ = write!(buf, "AS{}", self.num);
            }
            Kind::Cve => {
                buf.extend_from_slice(b"CVE-");
                buf.extend_from_slice(span.get(4..).unwrap_or(&[]));
            }
            Kind::Url => {
                // Scheme and authority lowercased, the rest as it stands.
                buf.extend_from_slice(span);
                let n = (self.num as usize).min(buf.len());
                buf[..n].make_ascii_lowercase();
            }
            Kind::Domain | Kind::Email | Kind::Md5 | Kind::Sha1 | Kind::Sha256 | Kind::Sha512 => {
                buf.extend_from_slice(span);
                buf.make_ascii_lowercase();
            }
        }
        buf
    }
}

const C_ALNUM: u8 = 1;
const C_HEX: u8 = 2;
const C_HOST: u8 = 4; // [A-Za-z0-9._-]
const C_LOCAL: u8 = 8; // e-mail local part [A-Za-z0-9._%+-]
const C_URL: u8 = 16; // printable ASCII allowed in a URL
const C_V6: u8 = 32; // [0-9A-Fa-f:.]
const C_WORD: u8 = 64; // [A-Za-z0-9_]
const C_HIGH: u8 = 128; // a byte of a non-ASCII character

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        let alnum = b.is_ascii_alphanumeric();
        if b >= 0x80 {
            c |= C_HIGH;
        }
        if alnum {
            c |= C_ALNUM | C_HOST | C_LOCAL | C_WORD;
        }
        if b.is_ascii_hexdigit() {
            c |= C_HEX | C_V6;
        }
        if b == b'.' || b == b'-' || b == b'_' {
            c |= C_HOST | C_LOCAL;
        }
        if b == b'_' {
            c |= C_WORD;
        }
        if b == b'%' || b == b'+' {
            c |= C_LOCAL;
        }
        if b == b':' || b == b'.' {
            c |= C_V6;
        }
        if b > 0x20
            && b < 0x7f
            && b != b'"'
            && b != b'\''
            && b != b'<'
            && b != b'>'
            && b != b'`'
            && b != b'{'
            && b != b'}'
            && b != b'|'
            && b != b'\\'
            && b != b'^'
        {
            c |= C_URL;
        }
        t[i] = c;
        i += 1;
    }
    t
};

#[inline]
fn is(b: u8, class: u8) -> bool {
    CLASS[b as usize] & class != 0
}

#[inline]
fn at(t: &[u8], i: usize, class: u8) -> bool {
    i < t.len() && is(t[i], class)
}

#[inline]
fn before(t: &[u8], i: usize, class: u8) -> bool {
    i > 0 && is(t[i - 1], class)
}

/// Which extractors run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extractors {
    /// IPv4, IPv6.
    pub ip: bool,
    /// Domains, URLs, e-mail addresses.
    pub net: bool,
    /// Hashes and Bitcoin addresses.
    pub hashes: bool,
    /// CVE ids and ASNs.
    pub ids: bool,
}

impl Default for Extractors {
    fn default() -> Self {
        Extractors {
            ip: true,
            net: true,
            hashes: true,
            ids: true,
        }
    }
}

struct Finders {
    cve_u: memmem::Finder<'static>,
    cve_l: memmem::Finder<'static>,
    asn: memmem::Finder<'static>,
}

fn finders() -> &'static Finders {
    static F: OnceLock<Finders> = OnceLock::new();
    F.get_or_init(|| Finders {
        cve_u: memmem::Finder::new("CVE-"),
        cve_l: memmem::Finder::new("cve-"),
        asn: memmem::Finder::new("AS"),
    })
}

/// Where the extractors' trigger bytes are in a text, a bit per byte (bit
/// `j` of block `k`: byte `64 k + j`): word characters (for the long runs),
/// `.` and `:`. Made in one pass over the text ([`classify`]); each
/// extractor then walks its own bits. Searching for each trigger with
/// `memchr` read the text once per trigger, and the search for dots, which
/// restarts after each host-name token, paid a call's set-up for each.
/// (`@` is rare: `memchr` finds it at less cost than a mask.)
#[derive(Debug, Default)]
pub(crate) struct Masks {
    blocks: Vec<Classes>,
}

impl Masks {
    /// The masks of `t` (bits past its end are clear).
    fn load(&mut self, t: &[u8]) {
        self.blocks.clear();
        self.blocks.reserve(t.len().div_ceil(64));
        let mut blocks = t.chunks_exact(64);
        for blk in &mut blocks {
            let blk: &[u8; 64] = blk.try_into().unwrap_or(&[0; 64]);
            self.blocks.push(classify(blk));
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            // Padded with a byte of no class.
            let mut blk = [b' '; 64];
            blk[..rest.len()].copy_from_slice(rest);
            self.blocks.push(classify(&blk));
        }
    }
}

/// The first set bit of `class` at or after `from` (bit `j` of block `k`
/// is `64 k + j`).
#[inline]
fn next_bit(blocks: &[Classes], class: fn(&Classes) -> u64, from: usize) -> Option<usize> {
    let mut k = from / 64;
    let mut w = class(blocks.get(k)?) & (u64::MAX << (from % 64));
    loop {
        if w != 0 {
            return Some(k * 64 + w.trailing_zeros() as usize);
        }
        k += 1;
        w = class(blocks.get(k)?);
    }
}

/// The set bits of one class, in order.
struct Bits<'a> {
    blocks: &'a [Classes],
    class: fn(&Classes) -> u64,
    k: usize,
    w: u64,
}

impl<'a> Bits<'a> {
    fn new(blocks: &'a [Classes], class: fn(&Classes) -> u64) -> Self {
        Bits {
            blocks,
            class,
            k: 0,
            w: blocks.first().map_or(0, class),
        }
    }
}

impl Iterator for Bits<'_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.w == 0 {
            self.k += 1;
            self.w = (self.class)(self.blocks.get(self.k)?);
        }
        let j = self.w.trailing_zeros() as usize;
        self.w &= self.w - 1;
        Some(self.k * 64 + j)
    }
}

/// Extract every indicator in `text`, appending to `out` (unsorted).
pub fn extract(text: &[u8], which: Extractors, out: &mut Vec<Found>) {
    let mut raw = Vec::new();
    extract_raw(text, which, &mut Masks::default(), &mut raw);
    let mut buf = String::new();
    out.extend(raw.into_iter().map(|r| Found {
        value: r.value_into(text, &mut buf).to_owned(),
        start: r.start,
        end: r.end,
        kind: r.kind,
    }));
}

/// [`extract`] without making the values (see [`Raw`]). `masks` is
/// scratch space (see [`Masks`]).
pub(crate) fn extract_raw(text: &[u8], which: Extractors, masks: &mut Masks, out: &mut Vec<Raw>) {
    masks.load(text);
    if which.ip || which.net {
        dots(
            text,
            which,
            |from| next_bit(&masks.blocks, |c| c.dot, from),
            out,
        );
    }
    if which.net {
        emails(text, memchr::memchr_iter(b'@', text), out);
    }
    if which.ip || which.net {
        colons(text, which, Bits::new(&masks.blocks, |c| c.colon), out);
    }
    if which.hashes {
        long_runs(text, &masks.blocks, out);
    }
    if which.ids {
        cves(text, out);
        asns(text, out);
    }
}

/// Convenience: extract from a string, sorted by position.
///
/// ```
/// use liaison_screen::extract::{extract_str, Kind};
/// let f = extract_str("beacon to 203.0.114.9 and evil-cdn.net, see CVE-2024-3094");
/// let kinds: Vec<_> = f.iter().map(|f| (f.kind, f.value.as_str())).collect();
/// assert_eq!(kinds, [(Kind::Ipv4, "203.0.114.9"), (Kind::Domain, "evil-cdn.net"), (Kind::Cve, "CVE-2024-3094")]);
/// ```
pub fn extract_str(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    extract(text.as_bytes(), Extractors::default(), &mut out);
    out.sort_by_key(|f| (f.start, f.kind));
    out
}

/// Domains and IPv4 addresses around the dots; `next_dot(from)` is the first
/// `.` at or after `from`.
fn dots(
    t: &[u8],
    which: Extractors,
    next_dot: impl Fn(usize) -> Option<usize>,
    out: &mut Vec<Raw>,
) {
    let mut skip = 0;
    // The search restarts after each token rather than visiting every dot:
    // the other dots of a token ("10.1.2.3", "a.b.example.com") would only be
    // skipped.
    let mut from = 0;
    loop {
        from = from.max(skip).min(t.len());
        let Some(i) = next_dot(from) else {
            break;
        };
        from = i + 1;
        let mut e = i + 1 + t[i + 1..].iter().take_while(|&&b| is(b, C_HOST)).count();
        skip = e;
        // This is the token's first dot (the search resumes after each
        // token). With nothing after it ("end of a sentence."), the token has
        // no inner dot: no address, no name — unless a non-ASCII letter
        // follows (an internationalised name).
        if e == i + 1 && !at(t, e, C_HIGH) {
            continue;
        }
        let mut s = i - t[..i].iter().rev().take_while(|&&b| is(b, C_HOST)).count();
        // A non-ASCII letter against the token: maybe an internationalised
        // name (IDN); if not, the ASCII token is tried as before.
        if which.net && (before(t, s, C_HIGH) || at(t, e, C_HIGH)) {
            if let Some(f) = idn_domain(t, i) {
                // The ASCII part of it ("nchen.de" in "münchen.de") is not one.
                skip = skip.max(f.end);
                out.push(f);
                continue;
            }
        }
        // Trim separators at the edges ("end of sentence.", "-x.com").
        while s < e && matches!(t[s], b'.' | b'-' | b'_') {
            s += 1;
        }
        while e > s && matches!(t[e - 1], b'.' | b'-' | b'_') {
            e -= 1;
        }
        if e <= s {
            continue;
        }
        let tok = &t[s..e];
        match dotted_quad(tok) {
            Quad::Valid(a) => {
                if which.ip {
                    out.push(Raw::new(s, e, Kind::Ipv4, a as u128));
                }
            }
            Quad::Invalid => {}
            Quad::NotNumeric => {
                if which.net && domain_ok(tok) {
                    out.push(Raw::new(s, e, Kind::Domain, 0));
                }
            }
        }
    }
}

/// The internationalised domain name around the dot at `i`, if any: grown
/// over Unicode letters, digits, `-` and dots, converted to its ASCII
/// (punycode) form with the `idna` crate (UTS #46), and accepted as
/// [`domain`] accepts ASCII names. The value is the ASCII form, which is what
/// DNS, allow-lists and indicators use.
fn idn_domain(t: &[u8], i: usize) -> Option<Raw> {
    // Both sides of the dot must be a label character: a sentence's end
    // ("сетей. Министерство") stops here, before any decoding.
    let next = char_at(t, i + 1)?;
    let prev = char_before(t, i)?;
    if !(label_char(next) && label_char(prev)) {
        return None;
    }
    let mut s = i;
    while let Some(c) = char_before(t, s) {
        if !(label_char(c) || c == '.') {
            break;
        }
        s -= c.len_utf8();
    }
    let mut e = i + 1;
    while let Some(c) = char_at(t, e) {
        if !(label_char(c) || c == '.') {
            break;
        }
        e += c.len_utf8();
    }
    while s < e && matches!(t[s], b'.' | b'-') {
        s += 1;
    }
    while e > s && matches!(t[e - 1], b'.' | b'-') {
        e -= 1;
    }
    let tok = std::str::from_utf8(&t[s..e]).ok()?;
    if tok.is_ascii() {
        return None;
    }
    let ascii = idna::domain_to_ascii(tok).ok()?;
    let value = domain(ascii.as_bytes())?;
    Some(Raw {
        owned: Some(value),
        ..Raw::new(s, e, Kind::Domain, 0)
    })
}

fn label_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-'
}

/// The character starting at `i`, if `i` is on a valid one.
fn char_at(t: &[u8], i: usize) -> Option<char> {
    let b = *t.get(i)?;
    let n = match b {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    std::str::from_utf8(t.get(i..i + n)?).ok()?.chars().next()
}

/// The character ending just before `i`.
fn char_before(t: &[u8], i: usize) -> Option<char> {
    let mut k = i.checked_sub(1)?;
    while k > 0 && i - k < 4 && t[k] & 0xC0 == 0x80 {
        k -= 1;
    }
    let c = char_at(t, k)?;
    (k + c.len_utf8() == i).then_some(c)
}

enum Quad {
    /// A strict dotted quad (see [`is_ipv4`]), as a number.
    Valid(u32),
    /// Digits and dots, but not a dotted quad (`1.2.3.4.5`, `01.2.3.4`).
    Invalid,
    /// Something else than digits and dots.
    NotNumeric,
}

/// [`is_ipv4`] and the address's value in one pass over the token.
fn dotted_quad(tok: &[u8]) -> Quad {
    let (mut out, mut parts, mut cur, mut digits, mut ok) = (0u32, 0u32, 0u32, 0u32, true);
    for &b in tok {
        if b.is_ascii_digit() {
            // A leading zero, a fourth digit or a part over 255 spoil it.
            ok &= digits < 3 && !(digits == 1 && cur == 0);
            cur = cur * 10 + (b - b'0') as u32;
            digits += 1;
        } else if b == b'.' {
            ok &= digits > 0 && cur <= 255 && parts < 3;
            out = (out << 8) | (cur & 0xff);
            parts += 1;
            cur = 0;
            digits = 0;
        } else {
            return Quad::NotNumeric;
        }
        if cur > 0xffff {
            // Keep the running value small; `ok` is already false here.
            cur = 0xffff;
        }
    }
    if ok && parts == 3 && digits > 0 && cur <= 255 {
        Quad::Valid((out << 8) | cur)
    } else {
        Quad::Invalid
    }
}

/// Strict dotted quad: four parts, 0–255, no leading zeros.
pub fn is_ipv4(tok: &[u8]) -> bool {
    let mut parts = 0;
    for p in tok.split(|&b| b == b'.') {
        parts += 1;
        if parts > 4 || p.is_empty() || p.len() > 3 || (p.len() > 1 && p[0] == b'0') {
            return false;
        }
        let mut v = 0u32;
        for &d in p {
            if !d.is_ascii_digit() {
                return false;
            }
            v = v * 10 + (d - b'0') as u32;
        }
        if v > 255 {
            return false;
        }
    }
    parts == 4
}

/// Validate a host-name token and return it lowercased if it is a domain under
/// a known public suffix with a registrable part.
pub fn domain(tok: &[u8]) -> Option<String> {
    if !domain_ok(tok) {
        return None;
    }
    std::str::from_utf8(tok).ok().map(str::to_ascii_lowercase)
}

/// [`domain`] without making the value.
///
/// Logs name the same few hosts over and over (a web log's referrers, an
/// update server), and the public-suffix look-up cost hundreds of
/// instructions a token: short tokens' answers are kept in a small
/// per-thread table ([`DomainMemo`]).
fn domain_ok(tok: &[u8]) -> bool {
    if tok.len() > MEMO_KEY {
        return domain_check(tok).is_some();
    }
    DOMAIN_MEMO.with(|m| m.borrow_mut().get_or_check(tok))
}

/// Longest token [`DomainMemo`] keeps.
const MEMO_KEY: usize = 32;
/// Entries in [`DomainMemo`] (a power of two).
const MEMO_SLOTS: usize = 128;

/// A direct-mapped table of [`domain_check`]'s answers by token bytes.
struct DomainMemo {
    /// Token bytes, its length (0: empty slot) and the answer.
    slots: [([u8; MEMO_KEY], u8, bool); MEMO_SLOTS],
}

impl DomainMemo {
    const fn new() -> DomainMemo {
        DomainMemo {
            slots: [([0; MEMO_KEY], 0, false); MEMO_SLOTS],
        }
    }

    /// The answer for `tok` (at most [`MEMO_KEY`] bytes), from the table or
    /// checked and kept.
    fn get_or_check(&mut self, tok: &[u8]) -> bool {
        // Keys are kept padded with zeros and compared whole: a compare of
        // a fixed size is a few vector instructions, a slice's a `memcmp`.
        let mut key = [0u8; MEMO_KEY];
        key[..tok.len()].copy_from_slice(tok);
        let slot = &mut self.slots[memo_slot(tok)];
        if slot.1 as usize == tok.len() && slot.0 == key {
            return slot.2;
        }
        let ok = domain_check(tok).is_some();
        *slot = (key, tok.len() as u8, ok);
        ok
    }
}

/// The [`DomainMemo`] slot of a token: a multiplicative hash of its bytes,
/// eight at a time.
fn memo_slot(tok: &[u8]) -> usize {
    let mut h = tok.len() as u64;
    for c in tok.chunks(8) {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517C_C1B7_2722_0A95);
    }
    (h >> 32) as usize % MEMO_SLOTS
}

thread_local! {
    static DOMAIN_MEMO: std::cell::RefCell<DomainMemo> =
        const { std::cell::RefCell::new(DomainMemo::new()) };
}

fn domain_check(tok: &[u8]) -> Option<()> {
    if tok.len() > 253 || tok.len() < 4 {
        return None;
    }
    let mut labels = 0;
    for l in tok.split(|&b| b == b'.') {
        labels += 1;
        if l.is_empty() || l.len() > 63 || l[0] == b'-' || l[l.len() - 1] == b'-' {
            return None;
        }
    }
    if labels < 2 {
        return None;
    }
    let tld = tok.rsplit(|&b| b == b'.').next()?;
    if !(tld.iter().all(u8::is_ascii_alphabetic) || tld.starts_with(b"xn--")) {
        return None;
    }
    // Lowercased on the stack: most tokens that get this far are rejected
    // below, and a heap copy for each was a good part of extraction's cost.
    let mut buf = [0u8; 253];
    let lower = &mut buf[..tok.len()];
    lower.copy_from_slice(tok);
    lower.make_ascii_lowercase();
    let lower = &*lower;
    // File names that look like domains under a ccTLD/new gTLD.
    if labels == 2 && FILE_EXT_TLDS.contains(&&lower[lower.len() - tld.len()..]) {
        return None;
    }
    let suffix = psl::suffix(lower)?;
    if !suffix.is_known() || suffix.as_bytes().len() >= lower.len() {
        return None;
    }
    Some(())
}

const FILE_EXT_TLDS: &[&[u8]] = &[
    b"py", b"sh", b"zip", b"mov", b"rs", b"md", b"so", b"ps", b"pl", b"php", b"exe", b"dll",
];

/// The URL whose `://` is at `i`, if any; returns where the next search
/// may resume when it got as far as measuring the URL's end.
fn url_at(t: &[u8], i: usize, out: &mut Vec<Raw>) -> Option<usize> {
    let mut s = i;
    while s > 0 && (t[s - 1].is_ascii_alphanumeric() || matches!(t[s - 1], b'+' | b'.' | b'-')) {
        s -= 1;
    }
    let scheme = &t[s..i];
    if !SCHEMES.iter().any(|x| x.eq_ignore_ascii_case(scheme)) {
        return None;
    }
    let mut e = i + 3;
    while at(t, e, C_URL) {
        e += 1;
    }
    // Trailing punctuation is the sentence's, not the URL's.
    loop {
        match t.get(e.wrapping_sub(1)) {
            Some(b'.' | b',' | b';' | b':' | b'!' | b'?') if e > i + 3 => e -= 1,
            Some(b')') if !t[s..e].contains(&b'(') => e -= 1,
            Some(b']') if !t[s..e].contains(&b'[') => e -= 1,
            _ => break,
        }
    }
    let rest = &t[i + 3..e];
    let hend = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let auth = &rest[..hend];
    let host = match auth.iter().rposition(|&b| b == b'@') {
        Some(p) => &auth[p + 1..],
        None => auth,
    };
    let host_ok = if host.first() == Some(&b'[') {
        host.iter()
            .position(|&b| b == b']')
            .and_then(|p| std::str::from_utf8(&host[1..p]).ok())
            .is_some_and(|h| h.parse::<Ipv6Addr>().is_ok())
    } else {
        let h = match host.iter().rposition(|&b| b == b':') {
            Some(p) if host[p + 1..].iter().all(u8::is_ascii_digit) => &host[..p],
            _ => host,
        };
        is_ipv4(h) || domain_ok(h)
    };
    if !host_ok {
        return Some(e);
    }
    // Scheme and authority are lowercased, the rest is kept.
    out.push(Raw::new(s, e, Kind::Url, (i - s + 3 + hend) as u128));
    Some(e)
}

const SCHEMES: &[&[u8]] = &[b"http", b"https", b"ftp", b"ftps", b"sftp", b"ws", b"wss"];

/// One pass over the colons for URLs (`://`) and IPv6 addresses, each with
/// its own resume point: a memmem search for `://` over all the text cost
/// more than this, since `:` and `/` are both common in logs.
fn colons(t: &[u8], which: Extractors, colons: impl Iterator<Item = usize>, out: &mut Vec<Raw>) {
    let (mut url_skip, mut v6_skip) = (0, 0);
    for i in colons {
        if which.net && i >= url_skip && t.get(i + 1..i + 3) == Some(b"//") {
            if let Some(e) = url_at(t, i, out) {
                url_skip = e;
            }
        }
        if which.ip && i >= v6_skip {
            v6_skip = ipv6_at(t, i, out);
        }
    }
}

fn emails(t: &[u8], ats: impl Iterator<Item = usize>, out: &mut Vec<Raw>) {
    let mut skip = 0;
    for i in ats {
        if i < skip {
            continue;
        }
        let mut s = i;
        while before(t, s, C_LOCAL) {
            s -= 1;
        }
        while s < i && t[s] == b'.' {
            s += 1;
        }
        let mut e = i + 1;
        while at(t, e, C_HOST) {
            e += 1;
        }
        while e > i + 1 && matches!(t[e - 1], b'.' | b'-' | b'_') {
            e -= 1;
        }
        skip = e;
        if s == i || t[i - 1] == b'.' || i + 1 >= e {
            continue;
        }
        // An e-mail address inside a URL's userinfo is the URL's.
        if s >= 3 && &t[s - 3..s] == b"://" {
            continue;
        }
        if domain_ok(&t[i + 1..e]) {
            out.push(Raw::new(s, e, Kind::Email, 0));
        }
    }
}

/// The IPv6 address around the colon at `i`, if any; returns the end of the
/// run of address characters, where the next search may resume.
fn ipv6_at(t: &[u8], i: usize, out: &mut Vec<Raw>) -> usize {
    // "key": value, "key: value": no address character on either side.
    if !at(t, i + 1, C_V6) && !before(t, i, C_V6) {
        return i + 1;
    }
    let mut s = i;
    while before(t, s, C_V6) {
        s -= 1;
    }
    let mut e = i + 1;
    while at(t, e, C_V6) {
        e += 1;
    }
    let skip = e;
    while e > s && t[e - 1] == b'.' {
        e -= 1;
    }
    if before(t, s, C_WORD) || at(t, e, C_WORD) {
        return skip;
    }
    let tok = &t[s..e];
    // Without "::" an address has seven colons (six before a dotted
    // quad): times of day ("04:10:16") stop here.
    let colons = tok.iter().filter(|&&b| b == b':').count();
    if colons < 2 || (colons < 6 && !tok.windows(2).any(|w| w == b"::")) {
        return skip;
    }
    let parse = |tok: &[u8]| {
        std::str::from_utf8(tok)
            .ok()
            .and_then(|s| s.parse::<Ipv6Addr>().ok())
    };
    let (addr, e) = match parse(tok) {
        Some(a) => (a, e),
        // "…::1:" at a sentence's end, or "addr:port" is not IPv6 — try one colon less.
        None if tok.ends_with(b":") && !tok.ends_with(b"::") => {
            match parse(&tok[..tok.len() - 1]) {
                Some(a) => (a, e - 1),
                None => return skip,
            }
        }
        None => return skip,
    };
    out.push(Raw::new(s, e, Kind::Ipv6, u128::from(addr)));
    skip
}

/// Shortest run of word characters that [`classify_run`] looks at.
const MIN_RUN: usize = 26;

/// Every maximal run of word characters (`[A-Za-z0-9_]`) at least
/// [`MIN_RUN`] long, classified. `words` has the masks of the word
/// characters of `t`, 64 bytes a block ([`Masks`]); the runs are found in
/// two consecutive masks by shifting and AND-ing, so prose, where such runs
/// are rare, costs a few instructions per 64 bytes.
fn long_runs(t: &[u8], words: &[Classes], out: &mut Vec<Raw>) {
    let full = t.len() / 64;
    let mut prev = 0u64;
    // No run is looked for before `resume` (the end of the last one).
    let mut resume = 0;
    // Block k's mask is shifted in when block k - 1's starts are read; one
    // block past the text (a zero mask) flushes the last one.
    for k in 0..=full + 1 {
        let cur = words.get(k).map_or(0, |c| c.word);
        if k > 0 {
            let base = (k - 1) * 64;
            let x = prev as u128 | ((cur as u128) << 64);
            // Bit p of `r`: bits p..p + 26 of `x` are all set.
            let mut r = x & (x >> 1);
            r &= r >> 2;
            r &= r >> 4;
            r &= r >> 8;
            r &= r >> (MIN_RUN - 16);
            let mut starts = r as u64;
            if resume > base {
                starts &= u64::MAX.checked_shl((resume - base) as u32).unwrap_or(0);
            }
            while starts != 0 {
                let mut s = base + starts.trailing_zeros() as usize;
                while before(t, s, C_WORD) {
                    s -= 1;
                }
                let mut e = s + 1;
                while at(t, e, C_WORD) {
                    e += 1;
                }
                classify_run(t, s, e, out);
                resume = e;
                starts &= u64::MAX.checked_shl((e - base) as u32).unwrap_or(0);
            }
        }
        prev = cur;
    }
}

/// `[A-Za-z0-9_]`, without a table (so that it vectorises).
#[inline(always)]
fn is_word(b: u8) -> bool {
    (b.wrapping_sub(b'0') < 10) | ((b | 0x20).wrapping_sub(b'a') < 26) | (b == b'_')
}

/// The classes of the 64 bytes of a block, a bit each (bit `j`: `blk[j]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Classes {
    /// Word characters (`[A-Za-z0-9_]`).
    word: u64,
    /// `.`
    dot: u64,
    /// `:`
    colon: u64,
}

/// The [`Classes`] of a block. On x86-64 with SSE2 compares and `pmovmskb`
/// (rustc does not turn the portable loop into those: it gathered the flags
/// with a multiply per eight bytes, ~1.4 instructions a byte).
#[cfg(target_arch = "x86_64")]
fn classify(blk: &[u8; 64]) -> Classes {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_sub_epi8,
    };
    let mut m = Classes {
        word: 0,
        dot: 0,
        colon: 0,
    };
    for (j, c) in blk.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of the x86-64 baseline, so these intrinsics
        // are always available; the one load reads 16 bytes of `c`, which
        // `chunks_exact(16)` guarantees, unaligned loads being allowed.
        let (word, dot, colon) = unsafe {
            let x = _mm_loadu_si128(c.as_ptr().cast::<__m128i>());
            // Unsigned `v <= k` as `min(v, k) == v` (SSE2 has no unsigned compare).
            let d = _mm_sub_epi8(x, _mm_set1_epi8(b'0' as i8));
            let digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
            let l = _mm_sub_epi8(
                _mm_or_si128(x, _mm_set1_epi8(0x20)),
                _mm_set1_epi8(b'a' as i8),
            );
            let letter = _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(25)), l);
            let under = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'_' as i8));
            let eq = |b: u8| _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(b as i8)));
            (
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(digit, letter), under)),
                eq(b'.'),
                eq(b':'),
            )
        };
        let at_j = |bits: i32| u64::from(bits as u16) << (16 * j);
        m.word |= at_j(word);
        m.dot |= at_j(dot);
        m.colon |= at_j(colon);
    }
    m
}

/// The [`Classes`] of a block.
#[cfg(not(target_arch = "x86_64"))]
fn classify(blk: &[u8; 64]) -> Classes {
    classify_portable(blk)
}

/// The portable [`classify`] (the reference the SSE2 one is tested against):
/// one flag byte per byte first (vector compares), then eight flags at a
/// time gathered into bits by one multiply.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_portable(blk: &[u8; 64]) -> Classes {
    let mask = |class: &dyn Fn(u8) -> bool| {
        let mut f = [0u8; 64];
        for (o, &b) in f.iter_mut().zip(blk) {
            *o = class(b) as u8;
        }
        let mut m = 0u64;
        for (j, c) in f.chunks_exact(8).enumerate() {
            let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            // Byte j of `w` (0 or 1) lands on bit 56 + j; no two terms collide.
            m |= (w.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * j);
        }
        m
    };
    Classes {
        word: mask(&is_word),
        dot: mask(&|b| b == b'.'),
        colon: mask(&|b| b == b':'),
    }
}

fn classify_run(t: &[u8], s: usize, e: usize, out: &mut Vec<Raw>) {
    let run = &t[s..e];
    let n = run.len();
    if n < 26 {
        return;
    }
    if matches!(n, 32 | 40 | 64 | 128) && run.iter().all(|&b| is(b, C_HEX)) {
        // All one case; a run of one repeated digit is filler, not a hash.
        let lower = run.iter().any(u8::is_ascii_lowercase);
        let upper = run.iter().any(u8::is_ascii_uppercase);
        if (lower && upper) || run.iter().all(|&b| b == run[0]) {
            return;
        }
        let kind = match n {
            32 => Kind::Md5,
            40 => Kind::Sha1,
            64 => Kind::Sha256,
            _ => Kind::Sha512,
        };
        out.push(Raw::new(s, e, kind, 0));
        return;
    }
    let is_btc = if (26..=35).contains(&n) && matches!(run[0], b'1' | b'3') {
        base58check(run)
    } else if (14..=74).contains(&n) && run[..3].eq_ignore_ascii_case(b"bc1") {
        bech32(run)
    } else {
        false
    };
    if is_btc {
        out.push(Raw::new(s, e, Kind::Bitcoin, 0));
    }
}

const B58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Is `s` a Base58Check string decoding to 25 bytes with a valid checksum
/// (a P2PKH or P2SH Bitcoin address)?
pub fn base58check(s: &[u8]) -> bool {
    let mut bytes = [0u8; 25];
    for &c in s {
        let Some(mut carry) = B58.iter().position(|&x| x == c).map(|v| v as u32) else {
            return false;
        };
        for b in bytes.iter_mut().rev() {
            carry += (*b as u32) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        if carry != 0 {
            return false;
        }
    }
    let lead = s.iter().take_while(|&&c| c == b'1').count();
    if bytes.iter().take_while(|&&b| b == 0).count() < lead {
        return false;
    }
    if bytes[0] != 0 && bytes[0] != 5 {
        return false;
    }
    let h = Sha256::digest(Sha256::digest(&bytes[..21]));
    h[..4] == bytes[21..]
}

/// Encode 21 payload bytes (version + hash) as Base58Check (for generators and tests).
pub fn base58check_encode(payload: &[u8; 21]) -> String {
    let h = Sha256::digest(Sha256::digest(payload));
    let mut full = payload.to_vec();
    full.extend_from_slice(&h[..4]);
    let mut digits: Vec<u8> = Vec::new();
    for &b in &full {
        let mut carry = b as u32;
        for d in digits.iter_mut() {
            carry += (*d as u32) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut s: String = full.iter().take_while(|&&b| b == 0).map(|_| '1').collect();
    s.extend(digits.iter().rev().map(|&d| B58[d as usize] as char));
    s
}

const BECH32: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk: u32 = 1;
    for v in values {
        let b = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v as u32;
        for (i, g) in GEN.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// Is `s` a valid Bech32/Bech32m segwit address with the `bc` prefix?
pub fn bech32(s: &[u8]) -> bool {
    let lower = s.iter().any(u8::is_ascii_lowercase);
    let upper = s.iter().any(u8::is_ascii_uppercase);
    if lower && upper {
        return false;
    }
    let s = s.to_ascii_lowercase();
    let Some(sep) = s.iter().rposition(|&b| b == b'1') else {
        return false;
    };
    if &s[..sep] != b"bc" || s.len() - sep < 7 {
        return false;
    }
    let mut data = Vec::with_capacity(s.len());
    for &c in &s[sep + 1..] {
        match BECH32.iter().position(|&x| x == c) {
            Some(v) => data.push(v as u8),
            None => return false,
        }
    }
    let hrp = &s[..sep];
    let values = hrp
        .iter()
        .map(|c| c >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.iter().map(|c| c & 31))
        .chain(data.iter().copied());
    let pm = polymod(values);
    pm == 1 || pm == 0x2bc830a3
}

/// Encode a `bc` Bech32 (v0) address from 5-bit data (for generators and tests).
pub fn bech32_encode(data5: &[u8]) -> String {
    let hrp = b"bc";
    let values = hrp
        .iter()
        .map(|c| c >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.iter().map(|c| c & 31))
        .chain(data5.iter().copied())
        .chain([0u8; 6]);
    let pm = polymod(values) ^ 1;
    let mut s = String::from("bc1");
    for &d in data5 {
        s.push(BECH32[(d & 31) as usize] as char);
    }
    for i in 0..6 {
        s.push(BECH32[((pm >> (5 * (5 - i))) & 31) as usize] as char);
    }
    s
}

fn cves(t: &[u8], out: &mut Vec<Raw>) {
    let f = finders();
    for i in f.cve_u.find_iter(t).chain(f.cve_l.find_iter(t)) {
        if before(t, i, C_WORD) {
            continue;
        }
        let y = i + 4;
        let mut e = y;
        while at(t, e, C_ALNUM) && t[e].is_ascii_digit() {
            e += 1;
        }
        if e - y != 4 || t.get(e) != Some(&b'-') {
            continue;
        }
        let n = e + 1;
        let mut e2 = n;
        while e2 < t.len() && t[e2].is_ascii_digit() {
            e2 += 1;
        }
        if !(4..=7).contains(&(e2 - n)) || at(t, e2, C_WORD) {
            continue;
        }
        out.push(Raw::new(i, e2, Kind::Cve, 0));
    }
}

fn asns(t: &[u8], out: &mut Vec<Raw>) {
    for i in finders().asn.find_iter(t) {
        if before(t, i, C_WORD) {
            continue;
        }
        let mut d = i + 2;
        if t.get(d) == Some(&b'N') {
            d += 1;
        }
        let mut e = d;
        while e < t.len() && t[e].is_ascii_digit() {
            e += 1;
        }
        if e == d || e - d > 10 || t[d] == b'0' || at(t, e, C_WORD) {
            continue;
        }
        let Ok(n) = std::str::from_utf8(&t[d..e]).unwrap_or("").parse::<u32>() else {
            continue;
        };
        out.push(Raw::new(i, e, Kind::Asn, n as u128));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables indexed by kind rely on `Kind::ALL` being in discriminant order.
    #[test]
    fn all_kinds_are_in_discriminant_order() {
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "{k:?}");
        }
    }
    use proptest::prelude::*;

    #[test]
    fn classes_see_every_byte_value_at_every_place() {
        for b in 0..=255u8 {
            for j in 0..64 {
                let mut blk = [b' '; 64];
                blk[j] = b;
                let bit = |yes: bool| if yes { 1u64 << j } else { 0 };
                let want = Classes {
                    word: bit(is_word(b)),
                    dot: bit(b == b'.'),
                    colon: bit(b == b':'),
                };
                assert_eq!(classify(&blk), want, "byte {b:#04x} at {j}");
                assert_eq!(classify_portable(&blk), want, "byte {b:#04x} at {j}");
            }
        }
    }

    /// Extraction as it was before the masks: each trigger searched with
    /// `memchr`, the long runs by probing (the reference for `extract_raw`).
    fn extract_raw_searching(t: &[u8], which: Extractors, out: &mut Vec<Raw>) {
        if which.ip || which.net {
            let next_dot = |from: usize| memchr::memchr(b'.', &t[from..]).map(|p| from + p);
            dots(t, which, next_dot, out);
        }
        if which.net {
            emails(t, memchr::memchr_iter(b'@', t), out);
        }
        if which.ip || which.net {
            colons(t, which, memchr::memchr_iter(b':', t), out);
        }
        if which.hashes {
            long_runs_probing(t, out);
        }
        if which.ids {
            cves(t, out);
            asns(t, out);
        }
    }

    #[test]
    fn bits_and_next_bit_walk_the_set_bits() {
        let block = |dot: u64| Classes {
            word: u64::MAX,
            dot,
            colon: 0,
        };
        let blocks = [block(0b1001), block(0), block(1 << 63), block(0)];
        let dot = |c: &Classes| c.dot;
        let all: Vec<usize> = Bits::new(&blocks, dot).collect();
        assert_eq!(all, [0, 3, 191]);
        assert_eq!(next_bit(&blocks, dot, 0), Some(0));
        assert_eq!(next_bit(&blocks, dot, 1), Some(3));
        assert_eq!(next_bit(&blocks, dot, 4), Some(191));
        assert_eq!(next_bit(&blocks, dot, 191), Some(191));
        assert_eq!(next_bit(&blocks, dot, 192), None);
        assert_eq!(next_bit(&blocks, dot, 1000), None);
        assert_eq!(Bits::new(&[], dot).next(), None);
        assert_eq!(Bits::new(&blocks, |c| c.colon).next(), None);
    }

    proptest! {
        #[test]
        fn classes_as_portable(v in proptest::collection::vec(any::<u8>(), 64)) {
            let blk: &[u8; 64] = v.as_slice().try_into().expect("64 bytes");
            prop_assert_eq!(classify(blk), classify_portable(blk));
        }

        /// Every extractor finds, from the masks, what it found searching
        /// for its triggers: texts dense in dots, colons, `@`, addresses,
        /// names, URLs and hex runs, of lengths around the 64-byte blocks,
        /// with every set of extractors.
        #[test]
        fn extract_raw_as_searching(
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    ".", ":", "@", "::", "://", " ", "\n", "-", "/", "é", "中",
                    "a", "Z9", "example", "com", "co.uk", "10", "255", "1.2.3.4", "0",
                    "http", "https://x.org/p?q", "fe80::1", "user", "CVE-2024-3094", "AS13335",
                    "d41d8cd98f00b204e9800998ecf8427e", "0123456789abcdef0123456789abcdef01234567",
                ]),
                0..80),
            which in (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        ) {
            let text: Vec<u8> = parts.concat().into_bytes();
            let which = Extractors { ip: which.0, net: which.1, hashes: which.2, ids: which.3 };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            extract_raw(&text, which, &mut Masks::default(), &mut a);
            extract_raw_searching(&text, which, &mut b);
            prop_assert_eq!(a, b, "{:?}", String::from_utf8_lossy(&text));
        }
    }

    /// The long-run search as it was before the word masks: a probe every
    /// 13 bytes, grown byte by byte (the reference for `long_runs`).
    fn long_runs_probing(t: &[u8], out: &mut Vec<Raw>) {
        const STEP: usize = 13;
        let mut g = 0;
        while g + STEP < t.len() {
            if !(is(t[g], C_WORD) && is(t[g + STEP], C_WORD)) {
                g += STEP;
                continue;
            }
            let mut e = g + 1;
            while at(t, e, C_WORD) {
                e += 1;
            }
            if e <= g + STEP {
                g += STEP;
                continue;
            }
            let mut s = g;
            while before(t, s, C_WORD) {
                s -= 1;
            }
            classify_run(t, s, e, out);
            g = e.div_ceil(STEP) * STEP;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Hex runs of every length around the hash lengths, cut by
        /// separators, found as the byte-by-byte search finds them, wherever
        /// they fall against the 64-byte blocks.
        #[test]
        fn long_runs_as_probing(
            parts in prop::collection::vec(
                ("[0-9a-f]{0,3}|[0-9a-f]{24,70}|[0-9A-F]{30,42}|[1-9A-HJ-NP-Za-km-z]{25,36}|[g_é]{1,2}", "[ .\n_é-]"),
                0..12),
            lead in "[a-z ]{0,70}",
        ) {
            let mut text = lead.into_bytes();
            for (run, sep) in &parts {
                text.extend_from_slice(run.as_bytes());
                text.extend_from_slice(sep.as_bytes());
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let mut m = Masks::default();
            m.load(&text);
            long_runs(&text, &m.blocks, &mut a);
            long_runs_probing(&text, &mut b);
            prop_assert_eq!(a, b);
        }

        /// The remembered public-suffix answers are the check's own, for
        /// tokens that come back (from a small pool, so that they do) and
        /// tokens that share a slot (more tokens than slots).
        #[test]
        fn domain_memo_as_check(
            pool in prop::collection::vec("[a-zA-Z0-9-]{0,9}(\\.[a-zA-Z0-9-]{0,12}){0,3}\\.?(com|org|co\\.uk|py|x|de)?", 1..300),
            picks in prop::collection::vec(any::<prop::sample::Index>(), 1..2000),
        ) {
            for i in picks {
                let tok = pool[i.index(pool.len())].as_bytes();
                prop_assert_eq!(domain_ok(tok), domain_check(tok).is_some(), "{:?}", String::from_utf8_lossy(tok));
            }
        }

        /// The one-pass dotted-quad parser agrees with `is_ipv4`.
        #[test]
        fn dotted_quad_as_is_ipv4(tok in "[0-9.]{1,18}|[0-9.a]{1,8}") {
            let t = tok.as_bytes();
            match dotted_quad(t) {
                Quad::Valid(a) => {
                    prop_assert!(is_ipv4(t));
                    prop_assert_eq!(Some(a), crate::allow::parse_v4(&tok));
                }
                Quad::Invalid => prop_assert!(!is_ipv4(t) && t.iter().all(|b| b.is_ascii_digit() || *b == b'.')),
                Quad::NotNumeric => prop_assert!(t.contains(&b'a')),
            }
        }
    }

    #[test]
    fn values_made_from_the_span() {
        let text = "HTTPS://Mal.Example.ORG/X?Q=A cve-2021-44228 ASN64512 Bob@Corp.COM 2001:DB8:0:0:0:0:0:1";
        let f = extract_str(text);
        let v: Vec<_> = f.iter().map(|f| (f.kind, f.value.as_str())).collect();
        for want in [
            (Kind::Url, "https://mal.example.org/X?Q=A"),
            (Kind::Cve, "CVE-2021-44228"),
            (Kind::Asn, "AS64512"),
            (Kind::Email, "bob@corp.com"),
            (Kind::Ipv6, "2001:db8::1"),
        ] {
            assert!(v.contains(&want), "{want:?} not in {v:?}");
        }
    }

    fn kinds(s: &str) -> Vec<(Kind, String)> {
        extract_str(s)
            .into_iter()
            .map(|f| (f.kind, f.value))
            .collect()
    }

    fn one(s: &str, k: Kind, v: &str) {
        let got = kinds(s);
        assert!(got.contains(&(k, v.to_string())), "{s:?}: {got:?}");
    }

    fn none_of(s: &str, k: Kind) {
        let got = kinds(s);
        assert!(!got.iter().any(|(kk, _)| *kk == k), "{s:?}: {got:?}");
    }

    #[test]
    fn ipv4() {
        one("from 1.2.3.4 port", Kind::Ipv4, "1.2.3.4");
        one("end 8.8.4.4.", Kind::Ipv4, "8.8.4.4");
        one("conn 93.184.216.34:443", Kind::Ipv4, "93.184.216.34");
        none_of("version 1.2.3.4.5 here", Kind::Ipv4);
        none_of("bad 256.1.1.1 and 01.2.3.4", Kind::Ipv4);
        none_of("v1.2.3", Kind::Ipv4);
    }

    #[test]
    fn ipv6() {
        one(
            "to 2a00:1450:4001:82a::200e now",
            Kind::Ipv6,
            "2a00:1450:4001:82a::200e",
        );
        one("X 2001:DB8:0:0:0:0:0:1.", Kind::Ipv6, "2001:db8::1");
        none_of("at 12:34:56 UTC", Kind::Ipv6);
        none_of("std::vec::Vec", Kind::Ipv6);
    }

    #[test]
    fn internationalised_domains_as_punycode() {
        let f = extract_str("contact пример.рф or münchen.de, not сетей. Министерство");
        let got: Vec<_> = f
            .iter()
            .filter(|f| f.kind == Kind::Domain)
            .map(|f| f.value.as_str())
            .collect();
        assert_eq!(got, ["xn--e1afmkfd.xn--p1ai", "xn--mnchen-3ya.de"]);
        let text = "contact пример.рф";
        let d = &extract_str(text)[0];
        assert_eq!(&text[d.start..d.end], "пример.рф");
        // An ASCII name against Chinese text is still found as it was.
        let f = extract_str("访问evil-cdn.net获取");
        assert!(f
            .iter()
            .any(|f| f.kind == Kind::Domain && f.value == "evil-cdn.net"));
    }

    #[test]
    fn domains() {
        one(
            "visit Evil-Login.co.uk today",
            Kind::Domain,
            "evil-login.co.uk",
        );
        one("notexample.com", Kind::Domain, "notexample.com");
        none_of("file report.pdf and setup.py", Kind::Domain);
        none_of("a.b.notarealtld", Kind::Domain);
        none_of("co.uk", Kind::Domain);
        none_of("sentence. Another", Kind::Domain);
    }

    #[test]
    fn urls_and_emails() {
        one(
            "get http://evil.net/a/b?c=1).",
            Kind::Url,
            "http://evil.net/a/b?c=1",
        );
        one(
            "(see HTTPS://Mal.Example.ORG/X)",
            Kind::Url,
            "https://mal.example.org/X",
        );
        one(
            "url http://1.2.3.4:8080/x",
            Kind::Url,
            "http://1.2.3.4:8080/x",
        );
        none_of("foo://bar.com/x", Kind::Url);
        one(
            "mail Bob.Smith+x@Corp-Mail.com.",
            Kind::Email,
            "bob.smith+x@corp-mail.com",
        );
        none_of("user@localhost", Kind::Email);
    }

    #[test]
    fn hashes() {
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        one(&format!("hash {sha}."), Kind::Sha256, sha);
        one(
            "md5 0cc175b9c0f1b6a831c399e269772661",
            Kind::Md5,
            "0cc175b9c0f1b6a831c399e269772661",
        );
        one(
            "AA6C7D8E9F0A1B2C3D4E5F60718293A4B5C6D7E8",
            Kind::Sha1,
            "aa6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8",
        );
        // Inside a longer hex run: not a SHA-256.
        none_of(&format!("x {sha}abc123 y"), Kind::Sha256);
        none_of(&format!("g{sha}"), Kind::Sha256);
        none_of(&"0".repeat(64), Kind::Sha256);
    }

    #[test]
    fn ids() {
        one("patch cve-2021-44228 now", Kind::Cve, "CVE-2021-44228");
        none_of("CVE-21-1234", Kind::Cve);
        one("routed by AS13335.", Kind::Asn, "AS13335");
        one("ASN 64512 / ASN64512", Kind::Asn, "AS64512");
        none_of("BASE64 and AS0 and AS", Kind::Asn);
    }

    #[test]
    fn bitcoin() {
        one(
            "pay 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa now",
            Kind::Bitcoin,
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        );
        none_of("pay 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb now", Kind::Bitcoin);
        one(
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            Kind::Bitcoin,
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        );
        let enc = base58check_encode(&[0u8; 21]);
        assert!(base58check(enc.as_bytes()), "{enc}");
        let b = bech32_encode(&[
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
            24, 25, 26, 27, 28, 29, 30, 31, 0,
        ]);
        assert!(bech32(b.as_bytes()), "{b}");
    }
}
