//! A deterministic corpus generator for tests and benchmarks: realistic mixed
//! text (log lines, news-like sentences in several languages including
//! Chinese), planted watchlist terms and indicators (some defanged), near
//! misses, a matching watchlist and a STIX bundle of indicators, plus a
//! manifest of what was planted.
//!
//! Everything is a pure function of the seed; output goes to any
//! [`std::io::Write`].

use crate::allow::AllowList;
use crate::extract::{base58check_encode, bech32_encode, Kind};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};

/// What to generate.
#[derive(Debug, Clone)]
pub struct CorpusConfig {
    /// Seed of everything.
    pub seed: u64,
    /// Approximate corpus size in bytes.
    pub size: u64,
    /// Watchlist terms.
    pub terms: usize,
    /// Indicators in the bundle.
    pub indicators: usize,
    /// Fraction of lines with a planted hit.
    pub plant_rate: f64,
    /// Fraction of lines with a near miss.
    pub near_miss_rate: f64,
    /// At most this many planted hits and near misses are listed one by one
    /// in the manifest (the counts are always complete).
    pub manifest_limit: usize,
}

impl Default for CorpusConfig {
    fn default() -> Self {
        CorpusConfig {
            seed: 1,
            size: 1 << 20,
            terms: 100_000,
            indicators: 10_000,
            plant_rate: 0.03,
            near_miss_rate: 0.01,
            manifest_limit: usize::MAX,
        }
    }
}

/// One planted hit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Planted {
    /// 1-based line.
    pub line: u64,
    /// `term`, `indicator` or an extractor kind (`ipv4`, `sha256`, …).
    pub kind: String,
    /// The text as written into the corpus.
    pub matched: String,
    /// The term, the indicator id, or the normalised value.
    pub value: String,
    /// Written defanged.
    pub defanged: bool,
    /// A term written in another case (found only case-insensitively).
    pub case_variant: bool,
}

/// One near miss: text that must not produce the named hit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NearMiss {
    /// 1-based line.
    pub line: u64,
    /// `ipv4-5-parts`, `domain-prefix`, `hex-run`, `term-in-word`.
    pub kind: String,
    /// The text written.
    pub text: String,
    /// The value that must not be reported at this line (a term, an indicator
    /// id, a domain, an address, a hash).
    pub not: String,
}

/// What was generated.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Manifest {
    /// Seed.
    pub seed: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Lines written.
    pub lines: u64,
    /// Planted hits by kind.
    pub counts: BTreeMap<String, u64>,
    /// Near misses by kind.
    pub near_miss_counts: BTreeMap<String, u64>,
    /// Planted hits (up to the limit).
    pub planted: Vec<Planted>,
    /// Near misses (up to the limit).
    pub near_misses: Vec<NearMiss>,
}

/// A generated indicator.
#[derive(Debug, Clone)]
pub struct GenIndicator {
    /// STIX id.
    pub id: String,
    /// Pattern.
    pub pattern: String,
    /// For literal patterns: the value to plant, and its kind.
    pub plant: Option<(Kind, String)>,
}

const SYL: &[&str] = &[
    "ka", "zor", "vex", "mi", "tal", "qu", "rin", "dro", "sha", "bel", "nox", "ur", "pha", "ly",
    "gor", "zen", "thi", "kra", "vo", "mun", "dex", "sil", "ora", "yx", "bru", "cel", "fen", "gha",
    "jor", "kel", "lum", "nir", "pol", "rax", "sev", "tor", "vul", "wyn", "xan", "zul",
];
const CYR_SYL: &[&str] = &[
    "кра", "вол", "мир", "зен", "тар", "ско", "дав", "лин", "рус", "пек",
];
const GR_SYL: &[&str] = &["κα", "λο", "μυ", "στρ", "θε", "ρα", "πο", "ξι", "δη", "φω"];
const HAN: &[char] = &[
    '黑', '客', '暗', '影', '龙', '虎', '狼', '蛇', '火', '冰', '雷', '风', '云', '星', '月', '金',
    '银', '铁', '玄', '武', '朱', '雀', '青', '白', '紫', '电', '网', '码', '锁', '钥',
];
const TLDS: &[&str] = &[
    "com", "net", "org", "info", "ru", "cn", "io", "xyz", "top", "biz", "online",
];
const EN: &[&str] = &[
    "The ministry confirmed that the incident affected several regional networks on Monday.",
    "Analysts warned that the campaign targets energy companies across the region.",
    "According to the report, attackers used phishing e-mails with malicious attachments.",
    "Officials said the outage was not caused by a cyber attack, contrary to early reports.",
    "Researchers observed a new variant of the ransomware spreading through remote desktop services.",
    "The agency published guidance for operators of critical infrastructure this week.",
    "A spokesperson declined to comment on the attribution of the intrusion.",
    "Several banks reported denial-of-service attacks that lasted for hours.",
];
const FR: &[&str] = &[
    "Le ministère a confirmé que l'incident a touché plusieurs réseaux régionaux lundi.",
    "Les analystes estiment que la campagne vise les entreprises du secteur de l'énergie.",
    "Selon le rapport, les attaquants ont utilisé des courriels piégés très élaborés.",
];
const DE: &[&str] = &[
    "Das Bundesamt warnte vor einer neuen Welle von Angriffen auf Krankenhäuser.",
    "Die Straße vor dem Rechenzentrum wurde nach dem Vorfall gesperrt.",
    "Laut Bericht nutzten die Täter eine bekannte Schwachstelle in der Firewall.",
];
const ES: &[&str] = &[
    "El ministerio confirmó que el incidente afectó a varias redes regionales.",
    "Según el informe, los atacantes utilizaron correos electrónicos de suplantación.",
];
const RU: &[&str] = &[
    "Министерство подтвердило, что инцидент затронул несколько региональных сетей.",
    "По данным отчёта, злоумышленники использовали фишинговые письма.",
];
const EL: &[&str] = &[
    "Το υπουργείο επιβεβαίωσε ότι το περιστατικό επηρέασε περιφερειακά δίκτυα.",
    "Οι αναλυτές προειδοποιούν για νέα εκστρατεία ηλεκτρονικού ψαρέματος.",
];
const ZH: &[&str] = &[
    "据报道，该组织利用钓鱼邮件攻击了多家能源企业。",
    "国家互联网应急中心发布了关于勒索软件的安全预警。",
    "研究人员发现一个新的恶意软件变种正在传播。",
    "有关部门表示，此次网络中断并非由网络攻击引起。",
];
const WELL_KNOWN_HOSTS: &[&str] = &[
    "www.google.com",
    "update.microsoft.com",
    "github.com",
    "en.wikipedia.org",
    "www.example.com",
];

struct Gen {
    rng: ChaCha8Rng,
    allow: AllowList,
}

impl Gen {
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.rng.gen_range(0..v.len())]
    }

    fn word(&mut self, min: usize, max: usize) -> String {
        let n = self.rng.gen_range(min..=max);
        (0..n).map(|_| *self.pick(SYL)).collect()
    }

    fn public_ipv4(&mut self) -> String {
        loop {
            let ip = format!(
                "{}.{}.{}.{}",
                self.rng.gen_range(1..=223),
                self.rng.gen_range(0..=255),
                self.rng.gen_range(0..=255),
                self.rng.gen_range(1..=254)
            );
            if !self.allow.allows(Kind::Ipv4, &ip) {
                return ip;
            }
        }
    }

    fn public_ipv6(&mut self) -> String {
        format!(
            "2a0{}:{:x}:{:x}:{:x}::{:x}",
            self.rng.gen_range(0..10),
            self.rng.gen_range(1..0xffffu32),
            self.rng.gen_range(1..0xffffu32),
            self.rng.gen_range(1..0xffffu32),
            self.rng.gen_range(1..0xffffu32)
        )
    }

    fn domain(&mut self) -> String {
        let w = self.word(3, 5);
        let tld = *self.pick(TLDS);
        if self.rng.gen_bool(0.3) {
            format!("{}-{}.{}", w, self.word(2, 3), tld)
        } else {
            format!("{w}.{tld}")
        }
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[self.rng.gen_range(0..16)]))
            .collect()
    }

    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    fn btc(&mut self) -> String {
        if self.rng.gen_bool(0.5) {
            let mut p = [0u8; 21];
            p[0] = if self.rng.gen_bool(0.5) { 0 } else { 5 };
            self.rng.fill(&mut p[1..]);
            base58check_encode(&p)
        } else {
            let mut d = vec![0u8];
            d.extend((0..32).map(|_| self.rng.gen_range(0..32u8)));
            bech32_encode(&d)
        }
    }
}

/// Generate the watchlist terms (unique, deterministic for a seed).
pub fn watchlist_terms(seed: u64, n: usize) -> Vec<String> {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x7761_7463),
        allow: AllowList::empty(),
    };
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let r: f64 = g.rng.gen();
        let t = if r < 0.55 {
            let mut w = g.word(3, 5);
            if g.rng.gen_bool(0.5) {
                w[..1].make_ascii_uppercase();
            }
            w
        } else if r < 0.70 {
            let pre = *g.pick(&["Operation", "APT", "Group", "Team", "Project"]);
            format!("{pre} {}", g.word(2, 4))
        } else if r < 0.80 {
            let n = g.rng.gen_range(2..=4);
            (0..n).map(|_| *g.pick(HAN)).collect()
        } else if r < 0.85 {
            let n = g.rng.gen_range(2..=3);
            let s: String = (0..n).map(|_| *g.pick(CYR_SYL)).collect();
            capitalize(&s)
        } else if r < 0.88 {
            let n = g.rng.gen_range(2..=3);
            (0..n).map(|_| *g.pick(GR_SYL)).collect()
        } else {
            g.domain()
        };
        if t.len() >= 6 && seen.insert(t.clone()) {
            out.push(t);
        }
    }
    out
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Generate indicators: about 95 % literal patterns (domain, IPv4, URL,
/// SHA-256, e-mail; some `OR`s), the rest `ISSUBSET` / `LIKE` / `MATCHES`.
pub fn indicators(seed: u64, n: usize) -> Vec<GenIndicator> {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x696e_6469),
        allow: AllowList::builtin(),
    };
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let id = format!("indicator--{}", g.uuid());
        let r: f64 = g.rng.gen();
        let (pattern, plant) = if r < 0.30 {
            let d = g.domain();
            (
                format!("[domain-name:value = '{d}']"),
                Some((Kind::Domain, d)),
            )
        } else if r < 0.55 {
            let ip = g.public_ipv4();
            if g.rng.gen_bool(0.2) {
                let ip2 = g.public_ipv4();
                (
                    format!("[ipv4-addr:value = '{ip}'] OR [ipv4-addr:value = '{ip2}']"),
                    Some((Kind::Ipv4, ip)),
                )
            } else {
                (
                    format!("[ipv4-addr:value = '{ip}']"),
                    Some((Kind::Ipv4, ip)),
                )
            }
        } else if r < 0.70 {
            let u = format!(
                "http://{}/{}/{}.php",
                g.domain(),
                g.word(1, 2),
                g.word(1, 3)
            );
            (format!("[url:value = '{u}']"), Some((Kind::Url, u)))
        } else if r < 0.88 {
            let h = g.hex(64);
            (
                format!("[file:hashes.'SHA-256' = '{h}']"),
                Some((Kind::Sha256, h)),
            )
        } else if r < 0.95 {
            let e = format!("{}@{}", g.word(2, 3), g.domain());
            (
                format!("[email-addr:value = '{e}']"),
                Some((Kind::Email, e)),
            )
        } else if r < 0.97 {
            let ip = g.public_ipv4();
            let net = ip.rsplit_once('.').map(|(a, _)| a).unwrap_or("1.1.1");
            (
                format!("[ipv4-addr:value ISSUBSET '{net}.0/24']"),
                Some((Kind::Ipv4, ip)),
            )
        } else if r < 0.99 {
            let d = g.domain();
            let sub = format!("{}.{d}", g.word(1, 2));
            (
                format!("[domain-name:value LIKE '%.{d}']"),
                Some((Kind::Domain, sub)),
            )
        } else {
            let d = g.domain();
            let u = format!("https://{d}/{}", g.word(1, 2));
            (
                format!(
                    "[url:value MATCHES '^https://{}/']",
                    d.replace('.', "\\\\.")
                ),
                Some((Kind::Url, u)),
            )
        };
        out.push(GenIndicator { id, pattern, plant });
    }
    out
}

/// Write indicators as a STIX 2.1 bundle.
pub fn write_bundle(inds: &[GenIndicator], w: &mut impl Write) -> io::Result<()> {
    let objects: Vec<serde_json::Value> = inds
        .iter()
        .map(|i| {
            serde_json::json!({
                "type": "indicator", "spec_version": "2.1", "id": i.id,
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": i.pattern, "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00.000Z",
                "name": format!("generated {}", &i.id[11..19]),
            })
        })
        .collect();
    let b = serde_json::json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": objects});
    serde_json::to_writer(&mut *w, &b)?;
    w.write_all(b"\n")
}

fn defang(s: &str, rng: &mut ChaCha8Rng) -> String {
    let s = s.replacen("http", "hxxp", 1);
    let dot = *["[.]", "(.)", "[dot]"].choose(rng).unwrap_or(&"[.]");
    match s.rfind('.') {
        Some(p) => {
            let s2 = format!("{}{}{}", &s[..p], dot, &s[p + 1..]);
            s2.replacen('@', "[@]", 1)
        }
        None => s.replacen('@', "[@]", 1),
    }
}

/// Generate the corpus into `w` (plain text lines).
pub fn write_corpus(
    cfg: &CorpusConfig,
    terms: &[String],
    inds: &[GenIndicator],
    w: &mut impl Write,
) -> io::Result<Manifest> {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(cfg.seed),
        allow: AllowList::builtin(),
    };
    let mut m = Manifest {
        seed: cfg.seed,
        ..Manifest::default()
    };
    let plantable: Vec<&GenIndicator> = inds.iter().filter(|i| i.plant.is_some()).collect();
    let mut line = String::with_capacity(512);
    while m.bytes < cfg.size {
        line.clear();
        m.lines += 1;
        let r: f64 = g.rng.gen();
        // Base text.
        if r < 0.45 {
            log_line(&mut g, &mut line);
        } else {
            let lang = g.rng.gen_range(0..10);
            let pool = match lang {
                0..=3 => EN,
                4 => FR,
                5 => DE,
                6 => ES,
                7 => RU,
                8 => EL,
                _ => ZH,
            };
            line.push_str(g.pick::<&str>(pool));
            if g.rng.gen_bool(0.5) {
                line.push(' ');
                line.push_str(g.pick::<&str>(pool));
            }
        }
        // A planted hit.
        if g.rng.gen_bool(cfg.plant_rate) {
            let p = plant(&mut g, terms, &plantable, m.lines);
            line.push(' ');
            line.push_str(&p.matched);
            line.push_str(if g.rng.gen_bool(0.5) {
                "."
            } else {
                " reported"
            });
            *m.counts.entry(p.kind.clone()).or_default() += 1;
            if m.planted.len() < cfg.manifest_limit {
                m.planted.push(p);
            }
        } else if g.rng.gen_bool(cfg.near_miss_rate) {
            let nm = near_miss(&mut g, terms, &plantable, m.lines);
            line.push(' ');
            line.push_str(&nm.text);
            line.push_str(" seen");
            *m.near_miss_counts.entry(nm.kind.clone()).or_default() += 1;
            if m.near_misses.len() < cfg.manifest_limit {
                m.near_misses.push(nm);
            }
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
        m.bytes += line.len() as u64;
    }
    Ok(m)
}

fn log_line(g: &mut Gen, line: &mut String) {
    use std::fmt::Write as _;
    let (h, mi, s) = (
        g.rng.gen_range(0..24),
        g.rng.gen_range(0..60),
        g.rng.gen_range(0..60),
    );
    let int_ip = format!(
        "10.{}.{}.{}",
        g.rng.gen_range(0..256),
        g.rng.gen_range(0..256),
        g.rng.gen_range(1..255)
    );
    let lan_ip = format!(
        "192.168.{}.{}",
        g.rng.gen_range(0..256),
        g.rng.gen_range(1..255)
    );
    let host = format!("srv-{:03}", g.rng.gen_range(0..500));
    let _ = match g.rng.gen_range(0..4) {
        0 => write!(
            line,
            "2026-11-28T{h:02}:{mi:02}:{s:02}Z {host} sshd[{}]: Failed password for invalid user admin from {int_ip} port {} ssh2",
            g.rng.gen_range(100..60000),
            g.rng.gen_range(1024..65535)
        ),
        1 => write!(
            line,
            "{lan_ip} - - [28/Nov/2026:{h:02}:{mi:02}:{s:02} +0000] \"GET /api/v1/items/{} HTTP/1.1\" 200 {} \"https://{}/\" \"Mozilla/5.0 (X11; Linux x86_64)\"",
            g.rng.gen_range(1..100000),
            g.rng.gen_range(100..90000),
            g.pick(WELL_KNOWN_HOSTS)
        ),
        2 => write!(
            line,
            "2026-11-28 {h:02}:{mi:02}:{s:02} fw01 kernel: DROP IN=eth0 OUT= SRC={int_ip} DST={lan_ip} LEN={} PROTO=TCP SPT={} DPT=443",
            g.rng.gen_range(40..1500),
            g.rng.gen_range(1024..65535)
        ),
        _ => write!(
            line,
            "{{\"ts\":\"2026-11-28T{h:02}:{mi:02}:{s:02}Z\",\"level\":\"info\",\"host\":\"{host}\",\"msg\":\"connection from {int_ip} closed after {} ms\"}}",
            g.rng.gen_range(1..10000)
        ),
    };
}

fn plant(g: &mut Gen, terms: &[String], inds: &[&GenIndicator], line: u64) -> Planted {
    let r: f64 = g.rng.gen();
    let mk = |kind: &str, matched: String, value: String, defanged: bool| Planted {
        line,
        kind: kind.to_string(),
        matched,
        value,
        defanged,
        case_variant: false,
    };
    if r < 0.45 && !terms.is_empty() {
        let t = g.pick(terms).clone();
        let variant = g.rng.gen_bool(0.1) && t.to_uppercase() != t;
        let matched = if variant { t.to_uppercase() } else { t.clone() };
        // Surround with spaces so that it is a whole word too.
        let mut p = mk("term", matched, t, false);
        p.case_variant = variant;
        return p;
    }
    if r < 0.65 && !inds.is_empty() {
        let ind = *g.pick(inds);
        if let Some((_, v)) = &ind.plant {
            let d = g.rng.gen_bool(0.2);
            let matched = if d { defang(v, &mut g.rng) } else { v.clone() };
            return mk("indicator", matched, ind.id.clone(), d);
        }
    }
    let d = g.rng.gen_bool(0.25);
    let (kind, v) = match g.rng.gen_range(0..11) {
        0 => (Kind::Ipv4, g.public_ipv4()),
        1 => (Kind::Ipv6, g.public_ipv6()),
        2 => (Kind::Domain, g.domain()),
        3 => (
            Kind::Url,
            format!("https://{}/{}", g.domain(), g.word(1, 3)),
        ),
        4 => (Kind::Email, format!("{}@{}", g.word(2, 3), g.domain())),
        5 => (Kind::Md5, g.hex(32)),
        6 => (Kind::Sha1, g.hex(40)),
        7 => (Kind::Sha256, g.hex(64)),
        8 => (
            Kind::Cve,
            format!(
                "CVE-20{}-{}",
                g.rng.gen_range(10..27),
                g.rng.gen_range(1000..60000)
            ),
        ),
        9 => (Kind::Asn, format!("AS{}", g.rng.gen_range(1000..400000))),
        _ => (Kind::Bitcoin, g.btc()),
    };
    let defangable = matches!(kind, Kind::Ipv4 | Kind::Domain | Kind::Url | Kind::Email);
    let d = d && defangable;
    let matched = if d { defang(&v, &mut g.rng) } else { v.clone() };
    mk(kind.as_str(), matched, v, d)
}

fn near_miss(g: &mut Gen, terms: &[String], inds: &[&GenIndicator], line: u64) -> NearMiss {
    let mk = |kind: &str, text: String, not: String| NearMiss {
        line,
        kind: kind.to_string(),
        text,
        not,
    };
    match g.rng.gen_range(0..4) {
        0 => {
            let ip = g.public_ipv4();
            mk(
                "ipv4-5-parts",
                format!("{ip}.{}", g.rng.gen_range(0..10)),
                ip,
            )
        }
        1 => {
            // A prefixed domain: the indicator's domain must not hit.
            let doms: Vec<&&GenIndicator> = inds
                .iter()
                .filter(|i| i.pattern.starts_with("[domain-name:value = "))
                .collect();
            if doms.is_empty() {
                let d = g.domain();
                return mk("domain-prefix", format!("not{d}"), d);
            }
            let i = *g.pick(&doms);
            let d = i.plant.as_ref().map(|p| p.1.clone()).unwrap_or_default();
            mk("domain-prefix", format!("not{d}"), i.id.clone())
        }
        2 => {
            let h = g.hex(64);
            mk("hex-run", format!("{h}{}", g.hex(6)), h)
        }
        _ => {
            // Only ASCII-letter terms: a Chinese term inside Chinese text is
            // never a whole word anyway.
            let t = loop {
                let t = g.pick(terms);
                if t.bytes().all(|b| b.is_ascii_alphabetic()) {
                    break t.clone();
                }
            };
            mk("term-in-word", format!("pre{t}ing"), t)
        }
    }
}
