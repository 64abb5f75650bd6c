//! `liaison gen …`: realistic, seeded data for tests, benchmarks and the demo.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum GenCommand {
    /// Write a realistic STIX 2.1 bundle (mixed types, relationships, labels) for benchmarks.
    #[command(
        after_help = "Example:\n  liaison gen bundle --objects 1000000 --seed 1 --out bench.json"
    )]
    Bundle(GenBundleArgs),
    /// Write a realistic text corpus with planted indicators, and a matching watchlist.
    Corpus(crate::cmd::gen_corpus::GenCorpusArgs),
}

#[derive(Args, Debug)]
pub struct GenBundleArgs {
    /// Number of objects.
    #[arg(long, default_value_t = 10_000)]
    objects: u64,
    /// Random seed: the same seed gives the same bundle.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file (standard output when absent).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

pub fn run(g: GenCommand) -> Result<ExitCode> {
    match g {
        GenCommand::Corpus(a) => crate::cmd::gen_corpus::run(a).map(|_| ExitCode::SUCCESS),
        GenCommand::Bundle(a) => {
            let out: Box<dyn Write> = match &a.out {
                Some(p) => {
                    Box::new(File::create(p).with_context(|| format!("creating {}", p.display()))?)
                }
                None => Box::new(std::io::stdout().lock()),
            };
            let mut w = BufWriter::with_capacity(1 << 20, out);
            let pb = crate::ui::count_bar(a.objects, "generating");
            let mut gen = Generator::new(a.seed, Orgs::demo());
            write_bundle(&mut w, &mut gen, a.objects, &mut |n| pb.set_position(n))?;
            w.flush()?;
            pb.finish_and_clear();
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Write `n` objects as one bundle.
pub fn write_bundle(
    w: &mut dyn Write,
    gen: &mut Generator,
    n: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    write!(
        w,
        "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
        gen.uuid()
    )?;
    for i in 0..n {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"\n")?;
        let obj = gen.next_object();
        serde_json::to_writer(&mut *w, &obj)?;
        if i % 8192 == 0 {
            progress(i);
        }
    }
    w.write_all(b"\n]}\n")?;
    progress(n);
    Ok(())
}

/// The organizations labels are drawn from.
pub struct Orgs {
    /// Organization ids.
    pub ids: Vec<&'static str>,
    /// Level names, lowest first.
    pub levels: Vec<&'static str>,
    /// Compartment names.
    pub compartments: Vec<&'static str>,
}

impl Orgs {
    /// The demo deployment's organizations, levels and compartments.
    pub fn demo() -> Self {
        Orgs {
            ids: vec!["cert", "ministry", "energy-isac"],
            levels: vec![
                "UNCLASSIFIED",
                "RESTRICTED",
                "CONFIDENTIAL",
                "SECRET",
                "TOP SECRET",
            ],
            compartments: vec!["GRID", "TELCO", "FIN"],
        }
    }
}

const ACTOR_WORDS: &[&str] = &[
    "Volt", "Lantern", "Granite", "Typhoon", "Ember", "Harbor", "Silent", "Copper", "Falcon",
    "Meridian", "Basalt", "Cobalt", "Aurora", "Tundra", "Saffron", "Quartz", "Nimbus", "Obsidian",
    "Pylon", "Relay",
];
const MALWARE_WORDS: &[&str] = &[
    "GridSpark",
    "PipeDream",
    "ShadowPad",
    "LoaderX",
    "BlackRelay",
    "IronGate",
    "NightCrawl",
    "SubStation",
    "PhaseShift",
    "CoolBurn",
    "Frostbyte",
    "Torchlight",
    "Wiper",
    "Stealer",
    "Backdoor",
    "Dropper",
    "Beacon",
    "Implant",
];
const SECTORS: &[&str] = &[
    "energy",
    "telecommunications",
    "finance",
    "government",
    "healthcare",
    "water",
    "transport",
];
const TECHNIQUES: &[&str] = &[
    "spearphishing attachments",
    "exploitation of public-facing VPN appliances",
    "credential dumping from LSASS",
    "living-off-the-land binaries",
    "DNS tunnelling for command and control",
    "scheduled tasks for persistence",
    "abuse of valid accounts",
    "lateral movement over SMB",
    "modification of PLC logic",
    "supply-chain compromise",
    "web shells on edge devices",
    "data staged in archive files",
    "exfiltration over HTTPS",
];
const ZH_SENTENCES: &[&str] = &[
    "该恶意软件针对能源行业的工控系统，通过钓鱼邮件投递。",
    "攻击者利用边界设备漏洞获得初始访问权限，并横向移动至核心网络。",
    "本报告分析了一起针对电网调度系统的网络攻击活动。",
    "威胁行为者使用定制木马窃取凭据，并通过加密通道回传数据。",
    "建议各单位立即修补相关漏洞并排查可疑的计划任务。",
];
const TLDS: &[&str] = &[
    "com", "net", "org", "info", "ru", "cn", "io", "biz", "xyz", "top",
];
const DOMAIN_WORDS: &[&str] = &[
    "update", "secure", "login", "cdn", "mail", "portal", "sync", "cloud", "grid", "power",
    "account", "verify", "service", "static", "api", "files", "office", "support",
];

/// A seeded generator of realistic STIX 2.1 objects with relationships and labels.
pub struct Generator {
    rng: ChaCha8Rng,
    orgs: Orgs,
    pools: std::collections::HashMap<&'static str, Vec<String>>,
    count: u64,
    owners: bool,
}

const POOL_CAP: usize = 20_000;

impl Generator {
    /// A generator with a seed.
    pub fn new(seed: u64, orgs: Orgs) -> Self {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            orgs,
            pools: Default::default(),
            count: 0,
            owners: false,
        }
    }

    /// Name an owning organization in every label (the demo loads each organization's
    /// objects as that organization). Without owners, the importer's organization owns all.
    pub fn with_owners(mut self) -> Self {
        self.owners = true;
        self
    }

    /// A random (but seeded) UUIDv4.
    pub fn uuid(&mut self) -> uuid::Uuid {
        let bytes: [u8; 16] = self.rng.gen();
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn id(&mut self, t: &'static str) -> String {
        let id = format!("{t}--{}", self.uuid());
        let pool = self.pools.entry(t).or_default();
        if pool.len() < POOL_CAP {
            pool.push(id.clone());
        } else {
            let i = self.rng.gen_range(0..POOL_CAP);
            pool[i] = id.clone();
        }
        id
    }

    /// Pick an existing id of a type, skewed towards the first ones (hubs).
    fn pick(&mut self, t: &str) -> Option<String> {
        let pool = self.pools.get(t)?;
        if pool.is_empty() {
            return None;
        }
        let u: f64 = self.rng.gen();
        let i = ((pool.len() as f64) * u.powi(3)) as usize;
        pool.get(i.min(pool.len() - 1)).cloned()
    }

    fn timestamp(&mut self) -> String {
        // 2023-01-01 .. 2026-11-01
        let start = 1_672_531_200_000i64;
        let end = 1_793_491_200_000i64;
        let ms = self.rng.gen_range(start..end);
        liaison_stix::Timestamp::from_millis(ms).to_string()
    }

    fn ipv4(&mut self) -> String {
        // Public-looking addresses, avoiding private ranges.
        let a = *[23u8, 45, 62, 77, 91, 103, 141, 176, 185, 193, 203, 212]
            .choose(&mut self.rng)
            .unwrap_or(&45);
        format!(
            "{a}.{}.{}.{}",
            self.rng.gen_range(0..=255),
            self.rng.gen_range(0..=255),
            self.rng.gen_range(1..=254)
        )
    }

    fn domain(&mut self) -> String {
        let a = DOMAIN_WORDS.choose(&mut self.rng).copied().unwrap_or("cdn");
        let b = DOMAIN_WORDS
            .choose(&mut self.rng)
            .copied()
            .unwrap_or("sync");
        let tld = TLDS.choose(&mut self.rng).copied().unwrap_or("com");
        format!("{a}-{b}{}.{tld}", self.rng.gen_range(1..9999))
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit(self.rng.gen_range(0..16), 16).unwrap_or('0'))
            .collect()
    }

    fn name(&mut self, words: &[&str]) -> String {
        let a = words.choose(&mut self.rng).copied().unwrap_or("X");
        let b = ACTOR_WORDS.choose(&mut self.rng).copied().unwrap_or("Y");
        format!("{a} {b} {}", self.rng.gen_range(1..500))
    }

    fn description(&mut self, subject: &str) -> String {
        if self.rng.gen_bool(0.05) {
            let n = self.rng.gen_range(2..5);
            return (0..n)
                .map(|_| ZH_SENTENCES.choose(&mut self.rng).copied().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("");
        }
        let n = self.rng.gen_range(2..6);
        let mut s = String::new();
        for _ in 0..n {
            let sector = SECTORS.choose(&mut self.rng).copied().unwrap_or("energy");
            let tech = TECHNIQUES
                .choose(&mut self.rng)
                .copied()
                .unwrap_or("phishing");
            let tech2 = TECHNIQUES
                .choose(&mut self.rng)
                .copied()
                .unwrap_or("phishing");
            let sentence = match self.rng.gen_range(0..5) {
                0 => format!("{subject} has been observed targeting organizations in the {sector} sector using {tech}. "),
                1 => format!("Operators relied on {tech} and {tech2} to maintain access for several weeks. "),
                2 => format!("Reporting from partner CERTs links {subject} to intrusions against {sector} operators in at least {} countries. ", self.rng.gen_range(2..12)),
                3 => format!("Defenders should hunt for {tech} and review logs for connections to recently registered domains. "),
                _ => format!("The activity overlaps with earlier campaigns that used {tech}, although attribution remains tentative. "),
            };
            s.push_str(&sentence);
        }
        s.trim_end().to_string()
    }

    fn label(&mut self, obj: &mut Map<String, Value>) {
        let r: f64 = self.rng.gen();
        let level = match r {
            x if x < 0.60 => 0,
            x if x < 0.80 => 1,
            x if x < 0.92 => 2,
            x if x < 0.98 => 3,
            _ => 4,
        };
        let mut comps = Vec::new();
        if level >= 2 && self.rng.gen_bool(0.4) {
            comps.push(
                self.orgs
                    .compartments
                    .choose(&mut self.rng)
                    .copied()
                    .unwrap_or("GRID"),
            );
        }
        let owner = self
            .orgs
            .ids
            .choose(&mut self.rng)
            .copied()
            .unwrap_or("cert");
        let rel: Vec<&str> = if self.rng.gen_bool(0.7) {
            vec!["*"]
        } else {
            self.orgs
                .ids
                .iter()
                .copied()
                .filter(|o| *o != owner && self.rng.gen_bool(0.5))
                .collect()
        };
        let tlp = match level {
            0 => *[liaison_stix::tlp::Tlp::Clear, liaison_stix::tlp::Tlp::Green]
                .choose(&mut self.rng)
                .unwrap_or(&liaison_stix::tlp::Tlp::Green),
            1 | 2 => liaison_stix::tlp::Tlp::Amber,
            _ => *[
                liaison_stix::tlp::Tlp::AmberStrict,
                liaison_stix::tlp::Tlp::Red,
            ]
            .choose(&mut self.rng)
            .unwrap_or(&liaison_stix::tlp::Tlp::Red),
        };
        obj.insert("object_marking_refs".into(), json!([tlp.marking_id()]));
        let mut ext =
            json!({"extension_type": "property-extension", "level": self.orgs.levels[level]});
        if self.owners {
            ext["owner"] = json!(owner);
        }
        if !comps.is_empty() {
            ext["compartments"] = json!(comps);
        }
        if !rel.is_empty() {
            ext["releasable_to"] = json!(rel);
        }
        obj.insert(
            "extensions".into(),
            json!({ liaison_stix::LABEL_EXTENSION_ID: ext }),
        );
    }

    fn sdo(&mut self, t: &'static str) -> Map<String, Value> {
        let created = self.timestamp();
        let modified = if self.rng.gen_bool(0.3) {
            let c = liaison_stix::Timestamp::parse(&created)
                .map(|t| t.millis())
                .unwrap_or(0);
            liaison_stix::Timestamp::from_millis(c + self.rng.gen_range(1..90 * 86_400_000))
                .to_string()
        } else {
            created.clone()
        };
        let mut m = Map::new();
        m.insert("type".into(), json!(t));
        m.insert("spec_version".into(), json!("2.1"));
        m.insert("id".into(), json!(self.id(t)));
        m.insert("created".into(), json!(created));
        m.insert("modified".into(), json!(modified));
        if let Some(ident) = self.pick("identity") {
            m.insert("created_by_ref".into(), json!(ident));
        }
        m
    }

    fn sco(&mut self, t: &'static str, props: Map<String, Value>) -> Map<String, Value> {
        let id = liaison_stix::sco_id(t, &props).unwrap_or_else(|| format!("{t}--{}", self.uuid()));
        let pool = self.pools.entry(t).or_default();
        if pool.len() < POOL_CAP {
            pool.push(id.clone());
        }
        let mut m = Map::new();
        m.insert("type".into(), json!(t));
        m.insert("spec_version".into(), json!("2.1"));
        m.insert("id".into(), json!(id));
        m.extend(props);
        m
    }

    /// The next object of the stream.
    pub fn next_object(&mut self) -> Value {
        self.count += 1;
        // The first objects seed the pools that later ones refer to.
        let roll: u32 = if self.count <= 5 {
            0
        } else {
            self.rng.gen_range(0..1000)
        };
        let mut m = match roll {
            0..=9 => {
                let mut m = self.sdo("identity");
                let sector = SECTORS.choose(&mut self.rng).copied().unwrap_or("energy");
                let kind = ["grid", "network", "services"]
                    .choose(&mut self.rng)
                    .copied()
                    .unwrap_or("grid");
                let n = self.rng.gen_range(1..900);
                m.insert(
                    "name".into(),
                    json!(format!("{sector} {kind} operator {n}")),
                );
                m.insert("identity_class".into(), json!("organization"));
                m.insert("sectors".into(), json!([sector]));
                m
            }
            10..=19 => {
                let mut m = self.sdo("threat-actor");
                let n = self.name(ACTOR_WORDS);
                m.insert("description".into(), json!(self.description(&n)));
                m.insert("name".into(), json!(n));
                m.insert("threat_actor_types".into(), json!(["nation-state"]));
                m.insert(
                    "aliases".into(),
                    json!([format!("TA{}", self.rng.gen_range(100..999))]),
                );
                m
            }
            20..=34 => {
                let mut m = self.sdo("intrusion-set");
                let n = self.name(ACTOR_WORDS);
                m.insert("description".into(), json!(self.description(&n)));
                m.insert("name".into(), json!(n));
                m.insert(
                    "aliases".into(),
                    json!([
                        format!("APT{}", self.rng.gen_range(1..99)),
                        format!("UNC{}", self.rng.gen_range(1000..5000))
                    ]),
                );
                m
            }
            35..=54 => {
                let mut m = self.sdo("campaign");
                let n = format!("Operation {}", self.name(ACTOR_WORDS));
                m.insert("description".into(), json!(self.description(&n)));
                m.insert("name".into(), json!(n));
                m
            }
            55..=89 => {
                let mut m = self.sdo("malware");
                let n = self.name(MALWARE_WORDS);
                m.insert("description".into(), json!(self.description(&n)));
                m.insert("name".into(), json!(n));
                m.insert("is_family".into(), json!(true));
                let kind = [
                    "backdoor",
                    "remote-access-trojan",
                    "wiper",
                    "dropper",
                    "spyware",
                ]
                .choose(&mut self.rng)
                .copied()
                .unwrap_or("backdoor");
                m.insert("malware_types".into(), json!([kind]));
                m
            }
            90..=109 => {
                let mut m = self.sdo("attack-pattern");
                let tech = TECHNIQUES
                    .choose(&mut self.rng)
                    .copied()
                    .unwrap_or("phishing");
                m.insert(
                    "name".into(),
                    json!(format!("{}{}", tech[..1].to_uppercase(), &tech[1..])),
                );
                m.insert(
                    "description".into(),
                    json!(self.description("This technique")),
                );
                m.insert("external_references".into(), json!([{"source_name": "mitre-attack", "external_id": format!("T{}", self.rng.gen_range(1000..1650))}]));
                m
            }
            110..=139 => {
                let mut m = self.sdo("vulnerability");
                let cve = format!(
                    "CVE-{}-{}",
                    self.rng.gen_range(2018..2027),
                    self.rng.gen_range(1000..60000)
                );
                m.insert("name".into(), json!(cve.clone()));
                m.insert("description".into(), json!(self.description("The flaw")));
                m.insert(
                    "external_references".into(),
                    json!([{"source_name": "cve", "external_id": cve}]),
                );
                m
            }
            140..=449 => {
                let mut m = self.sdo("indicator");
                let (pattern, what) = match self.rng.gen_range(0..5) {
                    0 => (
                        format!("[ipv4-addr:value = '{}']", self.ipv4()),
                        "IP address",
                    ),
                    1 => (
                        format!("[domain-name:value = '{}']", self.domain()),
                        "domain",
                    ),
                    2 => (
                        format!("[file:hashes.'SHA-256' = '{}']", self.hex(64)),
                        "file hash",
                    ),
                    3 => (
                        format!("[url:value = 'https://{}/{}']", self.domain(), self.hex(8)),
                        "URL",
                    ),
                    _ => (
                        format!(
                            "[ipv4-addr:value = '{}'] OR [domain-name:value = '{}']",
                            self.ipv4(),
                            self.domain()
                        ),
                        "infrastructure",
                    ),
                };
                m.insert("name".into(), json!(format!("Malicious {what}")));
                m.insert(
                    "description".into(),
                    json!(self.description("The infrastructure")),
                );
                m.insert("indicator_types".into(), json!(["malicious-activity"]));
                m.insert("pattern".into(), json!(pattern));
                m.insert("pattern_type".into(), json!("stix"));
                let vf = m.get("created").cloned().unwrap_or(Value::Null);
                m.insert("valid_from".into(), vf);
                m
            }
            450..=529 => {
                let mut p = Map::new();
                p.insert("value".into(), json!(self.ipv4()));
                self.sco("ipv4-addr", p)
            }
            530..=609 => {
                let mut p = Map::new();
                p.insert("value".into(), json!(self.domain()));
                self.sco("domain-name", p)
            }
            610..=649 => {
                let mut p = Map::new();
                p.insert(
                    "value".into(),
                    json!(format!("https://{}/{}", self.domain(), self.hex(10))),
                );
                self.sco("url", p)
            }
            650..=689 => {
                let mut p = Map::new();
                p.insert(
                    "hashes".into(),
                    json!({"SHA-256": self.hex(64), "MD5": self.hex(32)}),
                );
                p.insert(
                    "name".into(),
                    json!(format!(
                        "{}.exe",
                        DOMAIN_WORDS.choose(&mut self.rng).unwrap_or(&"update")
                    )),
                );
                self.sco("file", p)
            }
            690..=719 => {
                let Some(target) = self.pick("indicator") else {
                    return self.next_object();
                };
                let mut m = self.sdo("sighting");
                m.insert("sighting_of_ref".into(), json!(target));
                m.insert("count".into(), json!(self.rng.gen_range(1..500)));
                if let Some(w) = self.pick("identity") {
                    m.insert("where_sighted_refs".into(), json!([w]));
                }
                m
            }
            720..=749 => {
                let mut m = self.sdo("report");
                let actor = self.name(ACTOR_WORDS);
                let sector = SECTORS.choose(&mut self.rng).copied().unwrap_or("energy");
                let n = format!("{actor} activity against the {sector} sector");
                m.insert("description".into(), json!(self.description("The actor")));
                m.insert("name".into(), json!(n));
                m.insert("report_types".into(), json!(["threat-report"]));
                let published = m.get("created").cloned().unwrap_or(Value::Null);
                m.insert("published".into(), published);
                let mut refs = Vec::new();
                for t in [
                    "intrusion-set",
                    "malware",
                    "indicator",
                    "indicator",
                    "attack-pattern",
                    "vulnerability",
                ] {
                    if let Some(r) = self.pick(t) {
                        refs.push(r);
                    }
                }
                if refs.is_empty() {
                    return self.next_object();
                }
                m.insert("object_refs".into(), json!(refs));
                m
            }
            750..=759 => {
                let Some(target) = self.pick("malware") else {
                    return self.next_object();
                };
                let mut m = self.sdo("note");
                m.insert("content".into(), json!(self.description("The sample")));
                m.insert("object_refs".into(), json!([target]));
                m
            }
            _ => {
                let (s, rt, t) = match self.rng.gen_range(0..6) {
                    0 => ("indicator", "indicates", "malware"),
                    1 => ("intrusion-set", "uses", "malware"),
                    2 => ("campaign", "attributed-to", "intrusion-set"),
                    3 => ("malware", "uses", "attack-pattern"),
                    4 => ("intrusion-set", "targets", "vulnerability"),
                    _ => ("indicator", "based-on", "ipv4-addr"),
                };
                let (Some(src), Some(dst)) = (self.pick(s), self.pick(t)) else {
                    return self.next_object();
                };
                let mut m = self.sdo("relationship");
                m.insert("relationship_type".into(), json!(rt));
                m.insert("source_ref".into(), json!(src));
                m.insert("target_ref".into(), json!(dst));
                m
            }
        };
        // SCOs stay unlabelled: an extension would change their deterministic id. They
        // take the importer's default label.
        if m.get("type")
            .and_then(Value::as_str)
            .map(liaison_stix::category_of)
            != Some(liaison_stix::Category::Sco)
        {
            self.label(&mut m);
        }
        Value::Object(m)
    }
}
