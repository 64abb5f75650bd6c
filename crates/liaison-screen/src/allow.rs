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
    v4: Vec<(u32, u8)>,
    v6: Vec<(u128, u8)>,
    domains: HashSet<String, FastHash>,
    values: HashSet<String, FastHash>,
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
            a.values.insert((*h).to_string());
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
            self.v4.push((u32::from(v4) & mask4(len), len));
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
        self.domains
            .insert(d.trim().trim_end_matches('.').to_ascii_lowercase());
    }

    /// Allow one exact (normalised) value: a hash, URL, e-mail address, ….
    pub fn add_value(&mut self, v: &str) {
        self.values.insert(v.trim().to_string());
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
            Kind::Ipv4 => v4_bits(value)
                .map(|a| self.v4.iter().any(|&(net, len)| a & mask4(len) == net))
                .unwrap_or(false),
            Kind::Ipv6 => value
                .parse::<Ipv6Addr>()
                .map(|a| {
                    let a = u128::from(a);
                    self.v6.iter().any(|&(net, len)| a & mask6(len) == net)
                })
                .unwrap_or(false),
            Kind::Domain => self.domain_allowed(value),
            Kind::Email => {
                self.values.contains(value)
                    || value
                        .rsplit_once('@')
                        .is_some_and(|(_, d)| self.domain_allowed(d))
            }
            Kind::Url => {
                self.values.contains(value)
                    || url_host(value).is_some_and(|h| {
                        self.domain_allowed(h)
                            || self.allows(Kind::Ipv4, h)
                            || self.allows(Kind::Ipv6, h.trim_matches(['[', ']']))
                    })
            }
            _ => self.values.contains(value),
        }
    }

    /// [`AllowList::allows`] for an extracted value whose address is
    /// already parsed: `num` is the IPv4 (as `u32`) or IPv6 address for
    /// those kinds and is not read for the others.
    pub(crate) fn allows_parsed(&self, kind: Kind, num: u128, value: &str) -> bool {
        match kind {
            Kind::Ipv4 => {
                let a = num as u32;
                self.v4.iter().any(|&(net, len)| a & mask4(len) == net)
            }
            Kind::Ipv6 => self.v6.iter().any(|&(net, len)| num & mask6(len) == net),
            _ => self.allows(kind, value),
        }
    }

    fn domain_allowed(&self, d: &str) -> bool {
        if self.domains.is_empty() {
            return false;
        }
        let mut rest = d;
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, r)) => rest = r,
                None => return false,
            }
        }
    }
}

/// The host of a normalised URL.
pub(crate) fn url_host(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &rest[..end];
    let host = auth.rsplit_once('@').map(|(_, h)| h).unwrap_or(auth);
    if host.starts_with('[') {
        return host.find(']').map(|i| &host[..=i]);
    }
    Some(host.split(':').next().unwrap_or(host))
}

/// A dotted quad as a number (the extractor has validated it; this is the
/// hot path for every extracted IPv4 address).
fn v4_bits(s: &str) -> Option<u32> {
    parse_v4(s)
}

/// A dotted quad (each part 0–255, one to three digits) as a `u32`; without
/// the standard parser's generality, since it runs once per extracted address.
pub(crate) fn parse_v4(s: &str) -> Option<u32> {
    let mut out = 0u32;
    let (mut parts, mut cur, mut digits) = (0, 0u32, 0);
    for &b in s.as_bytes() {
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
    fn custom_text() {
        let mut a = AllowList::empty();
        a.add_text("# ours\n8.8.8.0/24\ncorp.net\n");
        assert!(a.allows(Kind::Ipv4, "8.8.8.8"));
        assert!(a.allows(Kind::Domain, "mail.corp.net"));
        assert!(!a.allows(Kind::Domain, "corp.org"));
    }
}
