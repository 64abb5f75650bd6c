//! Allow-lists that drop the noise from extracted indicators, in the spirit of
//! MISP's warninglists: private and reserved address ranges, documentation
//! domains and prefixes, well-known hosts, the hashes of the empty file.

use crate::extract::Kind;
use crate::fasthash::FastHash;
use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Well-known hosts whose appearance in text is not an indicator
/// (the host and every sub-domain).
const WELL_KNOWN: &[&str] = &[
    "google.com",
    "googleapis.com",
    "gstatic.com",
    "youtube.com",
    "microsoft.com",
    "windows.com",
    "windowsupdate.com",
    "office.com",
    "live.com",
    "bing.com",
    "apple.com",
    "icloud.com",
    "amazon.com",
    "cloudflare.com",
    "github.com",
    "gitlab.com",
    "wikipedia.org",
    "mozilla.org",
    "w3.org",
    "schema.org",
    "facebook.com",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "debian.org",
    "ubuntu.com",
    "python.org",
    "rust-lang.org",
    "akamai.net",
    "digicert.com",
    "letsencrypt.org",
    "mitre.org",
    "nist.gov",
    "first.org",
    "openssl.org",
];

/// Documentation and special-use names (RFC 2606, RFC 6761).
const DOC_DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "example.org",
    "example",
    "test",
    "invalid",
    "localhost",
    "local",
    "internal",
    "lan",
    "home.arpa",
];

/// Hashes of the empty input.
const EMPTY_HASHES: &[&str] = &[
    "d41d8cd98f00b204e9800998ecf8427e",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
];

/// An allow-list: extracted values it covers are dropped.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    /// (network, mask): the mask is kept, not recomputed for every address.
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u8)>,
    /// Kept as bytes: extracted values are checked as the bytes they were
    /// found as, without a UTF-8 check per value.
    domains: HashSet<Vec<u8>, FastHash>,
    values: HashSet<Vec<u8>, FastHash>,
}

impl AllowList {
    /// Allows nothing.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in lists: private, loopback, link-local, CGNAT, multicast,
    /// reserved and documentation ranges (IPv4 and IPv6), documentation and
    /// special-use domains, well-known hosts, empty-input hashes.
    pub fn builtin() -> Self {
        let mut a = Self::empty();
        for c in [
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "224.0.0.0/4",
            "240.0.0.0/4",
            "::/128",
            "::1/128",
            "fe80::/10",
            "fc00::/7",
            "2001:db8::/32",
            "ff00::/8",
            "::ffff:0:0/96",
            "64:ff9b::/96",
        ] {
            a.add_cidr(c);
        }
        for d in DOC_DOMAINS.iter().chain(WELL_KNOWN) {
            a.add_domain(d);
        }
        for h in EMPTY_HASHES {
            a.values.insert(h.as_bytes().to_vec());
        }
        a
    }

    /// Add a CIDR (`10.0.0.0/8`, `2001:db8::/32`) or single address. Returns
    /// false if it isn't one.
    pub fn add_cidr(&mut self, s: &str) -> bool {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => match l.parse::<u8>() {
                Ok(l) => (a, Some(l)),
                Err(_) => return false,
            },
            None => (s, None),
        };
        if let Ok(v4) = addr.parse::<Ipv4Addr>() {
            let len = len.unwrap_or(32).min(32);
            self.v4.push((u32::from(v4) & mask4(len), mask4(len)));
            true
        } else if let Ok(v6) = addr.parse::<Ipv6Addr>() {
            let len = len.unwrap_or(128).min(128);
            self.v6.push((u128::from(v6) & mask6(len), len));
            true
        } else {
            false
        }
    }

    /// Allow a domain and all its sub-domains.
    pub fn add_domain(&mut self, d: &str) {
        self.domains.insert(
            d.trim()
                .trim_end_matches('.')
                .to_ascii_lowercase()
                .into_bytes(),
        );
    }

    /// Allow one exact (normalised) value: a hash, URL, e-mail address, ….
    pub fn add_value(&mut self, v: &str) {
        self.values.insert(v.trim().as_bytes().to_vec());
    }

    /// Read an allow-list text: one entry a line (CIDR or address, domain, or
    /// any other exact value); `#` starts a comment line.
    pub fn add_text(&mut self, text: &str) {
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if self.add_cidr(l) {
                continue;
            }
            if l.contains('.') && !l.contains('/') && !l.contains('@') && !l.contains(':') {
                self.add_domain(l);
            } else {
                self.add_value(l);
            }
        }
    }

    /// Is this extracted (normalised) value allowed, i.e. to be dropped?
    pub fn allows(&self, kind: Kind, value: &str) -> bool {
        match kind {
            Kind::Ipv4 => v4_bits(value).is_some_and(|a| self.allows_v4(a)),
            Kind::Ipv6 => value
                .parse::<Ipv6Addr>()
                .is_ok_and(|a| self.allows_v6(u128::from(a))),
            _ => self.allows_text(kind, value.as_bytes()),
        }
    }

    /// [`AllowList::allows`] for an extracted value as bytes, whose address
    /// is already parsed: `num` is the IPv4 (as `u32`) or IPv6 address for
    /// those kinds and is not read for the others.
    pub(crate) fn allows_parsed(&self, kind: Kind, num: u128, value: &[u8]) -> bool {
        match kind {
            Kind::Ipv4 => self.allows_v4(num as u32),
            Kind::Ipv6 => self.allows_v6(num),
            _ => self.allows_text(kind, value),
        }
    }

    fn allows_text(&self, kind: Kind, value: &[u8]) -> bool {
        match kind {
            Kind::Ipv4 => parse_v4_bytes(value).is_some_and(|a| self.allows_v4(a)),
            Kind::Ipv6 => v6_bits(value).is_some_and(|a| self.allows_v6(a)),
            Kind::Domain => self.domain_allowed(value),
            Kind::Email => {
                self.values.contains(value)
                    || memchr::memrchr(b'@', value)
                        .is_some_and(|p| self.domain_allowed(&value[p + 1..]))
            }
            Kind::Url => {
                self.values.contains(value)
                    || url_host(value).is_some_and(|h| {
                        self.domain_allowed(h)
                            || parse_v4_bytes(h).is_some_and(|a| self.allows_v4(a))
                            // A host with no colon is no IPv6 address:
                            // spares a parse attempt on every host name.
                            || (h.contains(&b':')
                                && v6_bits(trim_brackets(h))
                                    .is_some_and(|a| self.allows_v6(a)))
                    })
            }
            _ => self.values.contains(value),
        }
    }

    /// Is this IPv4 address (as a number) allowed?
    pub(crate) fn allows_v4(&self, a: u32) -> bool {
        self.v4.iter().any(|&(net, mask)| a & mask == net)
    }

    fn allows_v6(&self, a: u128) -> bool {
        self.v6.iter().any(|&(net, len)| a & mask6(len) == net)
    }

    fn domain_allowed(&self, d: &[u8]) -> bool {
        if self.domains.is_empty() {
            return false;
        }
        let mut rest = d;
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match memchr::memchr(b'.', rest) {
                Some(p) => rest = &rest[p + 1..],
                None => return false,
            }
        }
    }
}

/// `[` and `]` trimmed from both ends.
fn trim_brackets(mut v: &[u8]) -> &[u8] {
    while let [b'[' | b']', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b'[' | b']'] = v {
        v = rest;
    }
    v
}

/// An IPv6 address as a number.
fn v6_bits(v: &[u8]) -> Option<u128> {
    std::str::from_utf8(v)
        .ok()?
        .parse::<Ipv6Addr>()
        .ok()
        .map(u128::from)
}

/// The host of a normalised URL.
pub(crate) fn url_host(url: &[u8]) -> Option<&[u8]> {
    // The first "://", found from the colons: a substring search sets up a
    // searcher for each URL.
    let sep = memchr::memchr_iter(b':', url).find(|&i| url[i..].starts_with(b"://"))?;
    let rest = &url[sep + 3..];
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let auth = &rest[..end];
    let host = match memchr::memrchr(b'@', auth) {
        Some(p) => &auth[p + 1..],
        None => auth,
    };
    if host.first() == Some(&b'[') {
        return memchr::memchr(b']', host).map(|i| &host[..=i]);
    }
    Some(match memchr::memchr(b':', host) {
        Some(p) => &host[..p],
        None => host,
    })
}

/// A dotted quad as a number (the extractor has validated it; this is the
/// hot path for every extracted IPv4 address).
fn v4_bits(s: &str) -> Option<u32> {
    parse_v4(s)
}

/// A dotted quad (each part 0–255, one to three digits) as a `u32`; without
/// the standard parser's generality, since it runs once per extracted address.
pub(crate) fn parse_v4(s: &str) -> Option<u32> {
    parse_v4_bytes(s.as_bytes())
}

/// [`parse_v4`] on bytes.
pub(crate) fn parse_v4_bytes(s: &[u8]) -> Option<u32> {
    let mut out = 0u32;
    let (mut parts, mut cur, mut digits) = (0, 0u32, 0);
    for &b in s {
        match b {
            b'0'..=b'9' if digits < 3 => {
                cur = cur * 10 + (b - b'0') as u32;
                digits += 1;
            }
            b'.' if digits > 0 && cur <= 255 && parts < 3 => {
                out = (out << 8) | cur;
                parts += 1;
                cur = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    (parts == 3 && digits > 0 && cur <= 255).then_some((out << 8) | cur)
}

fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len as u32)
    }
}

fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_quads_parse_strictly() {
        assert_eq!(parse_v4("10.0.0.1"), Some(0x0a00_0001));
        assert_eq!(parse_v4("255.255.255.255"), Some(u32::MAX));
        for bad in [
            "1.2.3.4.5",
            "1.2.3",
            "256.1.1.1",
            "1..2.3",
            "1.2.3.",
            "1.2.3.4 ",
            "1000.1.1.1",
            "",
        ] {
            assert_eq!(parse_v4(bad), None, "{bad}");
        }
    }

    #[test]
    fn builtin() {
        let a = AllowList::builtin();
        assert!(a.allows(Kind::Ipv4, "10.1.2.3"));
        assert!(a.allows(Kind::Ipv4, "192.168.0.1"));
        assert!(a.allows(Kind::Ipv4, "172.31.255.255"));
        assert!(!a.allows(Kind::Ipv4, "172.32.0.1"));
        assert!(!a.allows(Kind::Ipv4, "8.8.8.8"));
        assert!(a.allows(Kind::Ipv6, "fe80::1"));
        assert!(a.allows(Kind::Ipv6, "2001:db8::5"));
        assert!(!a.allows(Kind::Ipv6, "2a00:1450:4001::200e"));
        assert!(a.allows(Kind::Domain, "www.example.com"));
        assert!(a.allows(Kind::Domain, "update.microsoft.com"));
        assert!(!a.allows(Kind::Domain, "notexample.com"));
        assert!(a.allows(Kind::Url, "https://www.google.com/search?q=x"));
        assert!(a.allows(Kind::Url, "http://10.0.0.1:8080/x"));
        assert!(!a.allows(Kind::Url, "http://evil-login.net/x"));
        assert!(a.allows(Kind::Email, "bob@example.org"));
        assert!(a.allows(Kind::Sha256, EMPTY_HASHES[2]));
    }

    #[test]
    fn url_and_email_hosts() {
        let a = AllowList::builtin();
        assert!(a.allows(Kind::Url, "http://[fe80::1]:8080/x"));
        assert!(a.allows(Kind::Url, "http://[[fe80::1]]/x"));
        assert!(!a.allows(Kind::Url, "http://[2a00:1450::1]/x"));
        assert!(a.allows(Kind::Url, "https://user@sub.github.com:443/x"));
        assert!(!a.allows(Kind::Url, "https://github.com.evil.net/x"));
        assert!(a.allows(Kind::Url, "http://192.168.1.1/"));
        assert!(a.allows(Kind::Email, "a@b@example.com"));
        assert!(!a.allows(Kind::Email, "example.com@evil.net"));
        assert!(a.allows_parsed(Kind::Ipv4, 0x0a00_0001, b""));
        assert!(!a.allows_parsed(Kind::Ipv4, 0x0808_0808, b""));
        assert!(a.allows_parsed(Kind::Domain, 0, b"www.example.com"));
    }

    #[test]
    fn custom_text() {
        let mut a = AllowList::empty();
        a.add_text("# ours\n8.8.8.0/24\ncorp.net\n");
        assert!(a.allows(Kind::Ipv4, "8.8.8.8"));
        assert!(a.allows(Kind::Domain, "mail.corp.net"));
        assert!(!a.allows(Kind::Domain, "corp.org"));
    }
}
