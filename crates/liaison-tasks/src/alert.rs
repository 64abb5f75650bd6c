//! Alerts from screening hits: aggregation into sightings, grouping into alerts,
//! burst detection, and the triage rules. Pure: the caller feeds hits and stores results.
//!
//! - [`Aggregator`] folds hits into one sighting per (rule, source, UTC day) with
//!   `count`, `first_seen` and `last_seen`, and one [`Alert`] per rule whose severity is
//!   the highest of its hits and whose label is the join of the rule's label and the
//!   labels of every source it was seen in. Rule and source names are interned, so a
//!   hit costs two hash look-ups and no allocation.
//! - [`BurstDetector`] raises an early warning when a term's (or topic's) mentions in a
//!   sliding window run far above its own baseline, even if no single hit is severe.
//! - [`Triage`] is an alert's state: new → acknowledged → dismissed (false positive, with
//!   a reason) | escalated (into a task) | promoted (into intelligence).
//!
//! ```
//! use liaison_tasks::alert::{Aggregator, HitRef, Severity};
//! use liaison_policy::Label;
//! let mut agg = Aggregator::new(|_rule: &str| Label::public(Some("cert".into())),
//!                               |_source: &str| Label::public(Some("cert".into())));
//! let day = 1_780_000_000_000;
//! for i in 0..3 {
//!     agg.push(&HitRef { rule: "term:gridspike", source: "feeds/news", at_ms: day + i, severity: Severity::High });
//! }
//! let s = agg.sightings();
//! assert_eq!(s.len(), 1);
//! assert_eq!(s[0].count, 3);
//! assert_eq!(agg.alerts()[0].severity, Severity::High);
//! ```

use crate::time::fmt_ms;
use liaison_policy::{join, Label};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;

const DAY_MS: i64 = 86_400_000;

/// Severity of a hit or an alert, least first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context only.
    Info,
    /// Low.
    Low,
    /// Medium.
    #[default]
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// `info`, `low`, `medium`, `high`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => {
                return Err(format!(
                    "unknown severity '{s}' (info, low, medium, high, critical)"
                ))
            }
        })
    }
}

/// One screening hit, borrowed from the screener's output.
#[derive(Debug, Clone, Copy)]
pub struct HitRef<'a> {
    /// The rule: a STIX indicator id, or a watchlist term (`term:<text>`).
    pub rule: &'a str,
    /// The source (feed, file, sensor).
    pub source: &'a str,
    /// When the hit was seen (Unix ms).
    pub at_ms: i64,
    /// Its severity.
    pub severity: Severity,
}

/// One sighting: a rule seen in a source on a UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SightingAgg {
    /// The rule.
    pub rule: String,
    /// The source.
    pub source: String,
    /// The UTC day (Unix ms of its midnight).
    pub day_ms: i64,
    /// Hits folded in.
    pub count: u64,
    /// Earliest hit.
    pub first_seen: i64,
    /// Latest hit.
    pub last_seen: i64,
    /// Highest severity.
    pub severity: Severity,
    /// Join of the rule's and the source's labels.
    #[serde(skip)]
    pub label: Label,
}

/// The hits of one rule, across sources and days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The rule.
    pub rule: String,
    /// Highest severity of its hits.
    pub severity: Severity,
    /// Hits in all.
    pub count: u64,
    /// Earliest hit.
    pub first_seen: i64,
    /// Latest hit.
    pub last_seen: i64,
    /// Sources it was seen in.
    pub sources: Vec<String>,
    /// Join of the rule's label and every source's label.
    #[serde(skip)]
    pub label: Label,
}

#[derive(Debug, Clone)]
struct Agg {
    count: u64,
    first: i64,
    last: i64,
    severity: Severity,
}

impl Agg {
    fn new(at: i64, severity: Severity) -> Self {
        Agg {
            count: 0,
            first: at,
            last: at,
            severity,
        }
    }

    fn add(&mut self, at: i64, severity: Severity) {
        self.count += 1;
        self.first = self.first.min(at);
        self.last = self.last.max(at);
        self.severity = self.severity.max(severity);
    }
}

/// Folds hits into sightings and alerts. Labels of rules and sources are looked up once
/// per name through the functions given to [`Aggregator::new`].
pub struct Aggregator<R, S> {
    rule_label: R,
    source_label: S,
    rules: HashMap<String, u32>,
    rule_names: Vec<(String, Label)>,
    sources: HashMap<String, u32>,
    source_names: Vec<(String, Label)>,
    sightings: HashMap<(u32, u32, i64), Agg>,
}

impl<R: FnMut(&str) -> Label, S: FnMut(&str) -> Label> Aggregator<R, S> {
    /// An empty aggregator; `rule_label` and `source_label` give each name's label.
    pub fn new(rule_label: R, source_label: S) -> Self {
        Aggregator {
            rule_label,
            source_label,
            rules: HashMap::new(),
            rule_names: Vec::new(),
            sources: HashMap::new(),
            source_names: Vec::new(),
            sightings: HashMap::new(),
        }
    }

    /// Fold one hit in.
    pub fn push(&mut self, hit: &HitRef<'_>) {
        self.push_folded(hit, 1, hit.at_ms);
    }

    /// Fold in `count` hits of one rule and source already folded elsewhere (e.g. by a
    /// screening worker): `hit.at_ms` is the first of them, `last_ms` the last; they
    /// must fall on one UTC day.
    pub fn push_folded(&mut self, hit: &HitRef<'_>, count: u64, last_ms: i64) {
        let r = match self.rules.get(hit.rule) {
            Some(&r) => r,
            None => {
                let r = self.rule_names.len() as u32;
                let label = (self.rule_label)(hit.rule);
                self.rule_names.push((hit.rule.to_string(), label));
                self.rules.insert(hit.rule.to_string(), r);
                r
            }
        };
        let s = match self.sources.get(hit.source) {
            Some(&s) => s,
            None => {
                let s = self.source_names.len() as u32;
                let label = (self.source_label)(hit.source);
                self.source_names.push((hit.source.to_string(), label));
                self.sources.insert(hit.source.to_string(), s);
                s
            }
        };
        let day = hit.at_ms.div_euclid(DAY_MS) * DAY_MS;
        let a = self
            .sightings
            .entry((r, s, day))
            .or_insert_with(|| Agg::new(hit.at_ms, hit.severity));
        a.add(hit.at_ms, hit.severity);
        a.count += count.saturating_sub(1);
        a.last = a.last.max(last_ms);
    }

    /// Sightings so far, by rule, source and day.
    pub fn sightings(&self) -> Vec<SightingAgg> {
        let mut out: Vec<SightingAgg> = self
            .sightings
            .iter()
            .map(|(&(r, s, day), a)| {
                let (rule, rl) = &self.rule_names[r as usize];
                let (source, sl) = &self.source_names[s as usize];
                SightingAgg {
                    rule: rule.clone(),
                    source: source.clone(),
                    day_ms: day,
                    count: a.count,
                    first_seen: a.first,
                    last_seen: a.last,
                    severity: a.severity,
                    label: join(rl, sl),
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.rule, &a.source, a.day_ms).cmp(&(&b.rule, &b.source, b.day_ms)));
        out
    }

    /// Alerts so far, one per rule, highest severity first.
    pub fn alerts(&self) -> Vec<Alert> {
        let mut by_rule: HashMap<u32, (Agg, Vec<u32>)> = HashMap::new();
        for (&(r, s, _), a) in &self.sightings {
            let e = by_rule
                .entry(r)
                .or_insert_with(|| (Agg::new(a.first, a.severity), Vec::new()));
            e.0.count += a.count;
            e.0.first = e.0.first.min(a.first);
            e.0.last = e.0.last.max(a.last);
            e.0.severity = e.0.severity.max(a.severity);
            if !e.1.contains(&s) {
                e.1.push(s);
            }
        }
        let mut out: Vec<Alert> = by_rule
            .into_iter()
            .map(|(r, (a, srcs))| {
                let (rule, rl) = &self.rule_names[r as usize];
                let mut label = rl.clone();
                let mut sources: Vec<String> = Vec::with_capacity(srcs.len());
                for s in srcs {
                    let (name, sl) = &self.source_names[s as usize];
                    label = join(&label, sl);
                    sources.push(name.clone());
                }
                sources.sort();
                Alert {
                    rule: rule.clone(),
                    severity: a.severity,
                    count: a.count,
                    first_seen: a.first,
                    last_seen: a.last,
                    sources,
                    label,
                }
            })
            .collect();
        out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)));
        out
    }

    /// Hits folded in so far.
    pub fn hits(&self) -> u64 {
        self.sightings.values().map(|a| a.count).sum()
    }
}

/// The STIX `sighting` of an aggregate. `sighting_of_ref` is the indicator (or other
/// SDO) the rule stands for; `source_ref` the identity of the source. The id is derived
/// from (rule, source, day), so folding more hits in later yields a new version of the
/// same sighting, with a later `modified`.
pub fn sighting_object(
    agg: &SightingAgg,
    sighting_of_ref: &str,
    source_ref: Option<&str>,
    modified_ms: i64,
) -> Value {
    let id = format!(
        "sighting--{}",
        name_uuid(&format!(
            "{}\u{1f}{}\u{1f}{}",
            agg.rule, agg.source, agg.day_ms
        ))
    );
    let mut v = json!({
        "type": "sighting",
        "spec_version": "2.1",
        "id": id,
        "created": fmt_ms(agg.first_seen),
        "modified": fmt_ms(modified_ms.max(agg.first_seen)),
        "sighting_of_ref": sighting_of_ref,
        "count": agg.count,
        "first_seen": fmt_ms(agg.first_seen),
        "last_seen": fmt_ms(agg.last_seen),
        "description": format!("{} seen in {} ({} hits, severity {})", agg.rule, agg.source, agg.count, agg.severity),
    });
    if let Some(s) = source_ref {
        v["where_sighted_refs"] = json!([s]);
    }
    v
}

/// A UUID (version 5 layout, SHA-256 based, RFC 9562 variant) named by `name`, stable
/// across runs.
pub fn name_uuid(name: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Settings of the burst detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurstConfig {
    /// Width of a bucket (ms), e.g. one minute.
    pub bucket_ms: i64,
    /// Buckets in the sliding window, e.g. 10.
    pub window: usize,
    /// How many times the baseline a window must reach, e.g. 5.
    pub factor: f64,
    /// Fewest mentions in the window to raise anything, e.g. 10.
    pub min_count: u64,
    /// Buckets in the baseline (those older than the window) before it is trusted, e.g. 30.
    pub warmup: u32,
    /// Weight of each new bucket in the baseline (exponential moving average), e.g. 0.05.
    pub alpha: f64,
}

impl Default for BurstConfig {
    fn default() -> Self {
        BurstConfig {
            bucket_ms: 60_000,
            window: 10,
            factor: 5.0,
            min_count: 10,
            warmup: 30,
            alpha: 0.05,
        }
    }
}

/// An early warning: a key's mentions far above its baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Burst {
    /// The watchlist term or topic.
    pub key: String,
    /// When the window reached the threshold (Unix ms).
    pub at_ms: i64,
    /// Mentions in the window.
    pub window_count: u64,
    /// Expected mentions in a window of that width, from the baseline.
    pub expected: f64,
}

#[derive(Debug, Clone)]
struct KeyState {
    bucket: i64,
    count: u64,
    closed: VecDeque<u64>,
    baseline: f64,
    seen: u32,
    in_burst: bool,
}

/// Per-key sliding-window burst detection against the key's own baseline.
#[derive(Debug, Clone, Default)]
pub struct BurstDetector {
    cfg: BurstConfig,
    keys: HashMap<String, KeyState>,
}

impl BurstDetector {
    /// A detector with these settings.
    pub fn new(cfg: BurstConfig) -> Self {
        BurstDetector {
            cfg,
            keys: HashMap::new(),
        }
    }

    /// One mention of `key` at `at_ms` (in time order per key). Returns a burst when
    /// this mention takes the window over the threshold; a burst is reported once and
    /// re-armed when the window falls back below half the threshold.
    pub fn observe(&mut self, key: &str, at_ms: i64) -> Option<Burst> {
        let cfg = self.cfg;
        let bucket = at_ms.div_euclid(cfg.bucket_ms.max(1));
        let st = match self.keys.get_mut(key) {
            Some(s) => s,
            None => self.keys.entry(key.to_string()).or_insert(KeyState {
                bucket,
                count: 0,
                closed: VecDeque::with_capacity(cfg.window),
                baseline: 0.0,
                seen: 0,
                in_burst: false,
            }),
        };
        if bucket > st.bucket {
            // Close the current bucket and the empty ones since (a long silence is
            // folded in at most a window's worth, then the baseline is simply decayed).
            let gap = (bucket - st.bucket) as u64;
            // A bucket that leaves the window feeds the baseline, so the baseline
            // lags the window and a burst does not raise its own bar.
            let close = |st: &mut KeyState, c: u64| {
                st.closed.push_back(c);
                if st.closed.len() >= cfg.window.max(1) {
                    if let Some(old) = st.closed.pop_front() {
                        st.baseline = if st.seen == 0 {
                            old as f64
                        } else {
                            st.baseline + cfg.alpha * (old as f64 - st.baseline)
                        };
                        st.seen = st.seen.saturating_add(1);
                    }
                }
            };
            let c = st.count;
            close(st, c);
            let empties = (gap - 1).min(cfg.window as u64 + 200);
            for _ in 0..empties {
                close(st, 0);
            }
            if gap - 1 > empties {
                let rest = (gap - 1 - empties).min(i32::MAX as u64) as i32;
                st.baseline *= (1.0 - cfg.alpha).powi(rest);
                st.seen = st.seen.saturating_add(rest as u32);
            }
            st.bucket = bucket;
            st.count = 0;
        }
        st.count += 1;
        let window_count: u64 = st.closed.iter().sum::<u64>() + st.count;
        let expected = st.baseline * cfg.window as f64;
        let threshold = (cfg.factor * expected).max(cfg.min_count as f64);
        if st.in_burst {
            if (window_count as f64) < threshold / 2.0 {
                st.in_burst = false;
            }
            return None;
        }
        if st.seen >= cfg.warmup && window_count as f64 >= threshold {
            st.in_burst = true;
            return Some(Burst {
                key: key.to_string(),
                at_ms,
                window_count,
                expected,
            });
        }
        None
    }
}

/// Where an alert stands in triage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Triage {
    /// Not looked at yet.
    New,
    /// Seen by an analyst.
    Acknowledged {
        /// Who.
        by: String,
    },
    /// A false positive; the reason is kept for accuracy figures.
    Dismissed {
        /// Who.
        by: String,
        /// Why it is a false positive.
        reason: String,
    },
    /// Turned into a task.
    Escalated {
        /// Who.
        by: String,
        /// The task.
        task_ref: String,
    },
    /// Turned into intelligence (observables, indicators, sightings).
    Promoted {
        /// Who.
        by: String,
        /// The objects created.
        object_refs: Vec<String>,
    },
}

impl Triage {
    /// `new`, `acknowledged`, `dismissed`, `escalated`, `promoted`.
    pub fn name(&self) -> &'static str {
        match self {
            Triage::New => "new",
            Triage::Acknowledged { .. } => "acknowledged",
            Triage::Dismissed { .. } => "dismissed",
            Triage::Escalated { .. } => "escalated",
            Triage::Promoted { .. } => "promoted",
        }
    }

    /// Move to `next`, or say why not (naming both states). An escalated alert may
    /// still be promoted (the task's answer may become intelligence); dismissed and
    /// promoted alerts are final; a dismissal needs a reason.
    pub fn advance(&self, next: Triage) -> Result<Triage, String> {
        if let Triage::Dismissed { reason, .. } = &next {
            if reason.trim().is_empty() {
                return Err("a dismissal needs a reason (it feeds the accuracy figures)".into());
            }
        }
        let ok = matches!(
            (self, &next),
            (Triage::New, Triage::Acknowledged { .. })
                | (
                    Triage::New | Triage::Acknowledged { .. },
                    Triage::Dismissed { .. } | Triage::Escalated { .. } | Triage::Promoted { .. }
                )
                | (Triage::Escalated { .. }, Triage::Promoted { .. })
        );
        if ok {
            Ok(next)
        } else {
            Err(format!(
                "an alert that is {} cannot become {}",
                self.name(),
                next.name()
            ))
        }
    }
}

/// Accuracy figures over triaged alerts: the share of decided alerts that were not
/// false positives, and the dismissal reasons with their counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Accuracy {
    /// Alerts escalated or promoted.
    pub true_positives: u64,
    /// Alerts dismissed.
    pub false_positives: u64,
    /// `true / (true + false)`; `None` before any decision.
    pub precision: Option<f64>,
    /// Dismissal reasons and how often each was given.
    pub reasons: Vec<(String, u64)>,
}

/// The accuracy of a set of triage states.
pub fn accuracy<'a, I: IntoIterator<Item = &'a Triage>>(states: I) -> Accuracy {
    let mut a = Accuracy::default();
    let mut reasons: HashMap<&str, u64> = HashMap::new();
    for s in states {
        match s {
            Triage::Escalated { .. } | Triage::Promoted { .. } => a.true_positives += 1,
            Triage::Dismissed { reason, .. } => {
                a.false_positives += 1;
                *reasons.entry(reason.as_str()).or_default() += 1;
            }
            _ => {}
        }
    }
    let decided = a.true_positives + a.false_positives;
    a.precision = (decided > 0).then(|| a.true_positives as f64 / decided as f64);
    let mut r: Vec<(String, u64)> = reasons
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    r.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    a.reasons = r;
    a
}

/// The STIX type of an alert.
pub const ALERT_TYPE: &str = "x-liaison-alert";

/// The triage state of an alert object (`New` when absent or unreadable).
pub fn state_of(v: &Value) -> Triage {
    serde_json::from_value(v["triage"].clone()).unwrap_or(Triage::New)
}

/// The strings of a JSON array, as a sorted set.
pub fn strings(v: &Value) -> std::collections::BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Set `modified` of a new version later than the stored one's (and not before `now`).
pub fn bump_modified(v: &mut Value, old: &Value, now: i64) {
    let prev = old["modified"]
        .as_str()
        .and_then(|m| crate::time::parse_ms(m).ok())
        .unwrap_or(0);
    v["modified"] = json!(fmt_ms(now.max(prev + 1)));
}

/// The next version of an alert object moved to `next` in triage, or why not (naming
/// both states).
pub fn triage_version(alert: &Value, next: Triage, now: i64) -> Result<Value, String> {
    let next = state_of(alert).advance(next)?;
    let mut v = alert.clone();
    v["triage"] = serde_json::to_value(&next).map_err(|e| e.to_string())?;
    bump_modified(&mut v, alert, now);
    Ok(v)
}

/// The observable and the indicator pattern for an extracted value of a kind
/// (`ipv4`, `ipv6`, `domain`, `url`, `email`, `md5`, `sha1`, `sha256`, `sha512`).
pub fn observable(kind: &str, value: &str) -> Option<(Value, String)> {
    let q = value.replace('\\', "\\\\").replace('\'', "\\'");
    let simple = |ty: &'static str, prop: &str| {
        (
            ty,
            json!({ "value": value }),
            format!("[{ty}:{prop} = '{q}']"),
        )
    };
    let (ty, props, pattern): (&str, Value, String) = match kind {
        "ipv4" => simple("ipv4-addr", "value"),
        "ipv6" => simple("ipv6-addr", "value"),
        "domain" => simple("domain-name", "value"),
        "url" => simple("url", "value"),
        "email" => simple("email-addr", "value"),
        "md5" | "sha1" | "sha256" | "sha512" => {
            let algo = match kind {
                "md5" => "MD5",
                "sha1" => "SHA-1",
                "sha256" => "SHA-256",
                _ => "SHA-512",
            };
            (
                "file",
                json!({ "hashes": { algo: value } }),
                format!("[file:hashes.'{algo}' = '{q}']"),
            )
        }
        _ => return None,
    };
    let Value::Object(props) = props else {
        return None;
    };
    let id = liaison_stix::sco_id(ty, &props)?;
    let mut m = props;
    m.insert("type".into(), json!(ty));
    m.insert("spec_version".into(), json!("2.1"));
    m.insert("id".into(), json!(id));
    Some((Value::Object(m), pattern))
}

/// What promoting an alert into intelligence makes: an observable and an indicator per
/// observed value (carrying the alert's label extension and markings), and the refs the
/// promoted alert records. Refused when no value makes an observable.
pub fn promotion(
    alert: &Value,
    alert_id: &str,
    now: i64,
) -> Result<(Vec<Value>, Vec<String>), String> {
    let rule = alert["rule"].as_str().unwrap_or_default();
    // The kind of the values comes from an extractor rule (`ipv4:…`); watchlist terms
    // have no observable.
    let kind = rule.split_once(':').map(|(k, _)| k).unwrap_or_default();
    let label_ext = alert["extensions"][liaison_stix::LABEL_EXTENSION_ID].clone();
    let markings = alert["object_marking_refs"].clone();
    let now = fmt_ms(now);
    let mut objects = Vec::new();
    let mut refs = Vec::new();
    for val in strings(&alert["observed_values"]) {
        let Some((mut sco, pattern)) = observable(kind, &val) else {
            continue;
        };
        let ind_id = format!(
            "indicator--{}",
            name_uuid(&format!("promoted\u{1f}{pattern}"))
        );
        let mut ind = json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": ind_id,
            "created": now,
            "modified": now,
            "name": format!("{val} (promoted from {alert_id})"),
            "pattern": pattern,
            "pattern_type": "stix",
            "valid_from": alert["first_seen"],
            "indicator_types": ["malicious-activity"],
        });
        for o in [&mut sco, &mut ind] {
            if !label_ext.is_null() {
                o["extensions"] = json!({ liaison_stix::LABEL_EXTENSION_ID: label_ext.clone() });
            }
            if markings.is_array() {
                o["object_marking_refs"] = markings.clone();
            }
        }
        refs.push(sco["id"].as_str().unwrap_or_default().to_string());
        refs.push(ind_id);
        objects.push(sco);
        objects.push(ind);
    }
    if objects.is_empty() {
        return Err(format!(
            "nothing to promote: '{rule}' has no observed value of a kind that makes an observable (IP, domain, URL, e-mail, hash); escalate it into a task instead"
        ));
    }
    refs.extend(strings(&alert["sighting_refs"]));
    Ok((objects, refs))
}

/// The title and description of the task an alert is escalated into, and the refs it
/// carries (the alert and its sightings).
pub fn escalation(alert: &Value, alert_id: &str) -> (String, String, Vec<String>) {
    let title = format!("Alert: {}", alert["name"].as_str().unwrap_or(alert_id));
    let description = format!(
        "Escalated from {} ({} hits, severity {}, {} → {}).",
        alert_id,
        alert["count"],
        alert["alert_severity"].as_str().unwrap_or_default(),
        alert["first_seen"].as_str().unwrap_or_default(),
        alert["last_seen"].as_str().unwrap_or_default()
    );
    let mut refs = vec![alert_id.to_string()];
    refs.extend(strings(&alert["sighting_refs"]));
    (title, description, refs)
}

/// A key's burst state, as persisted between runs (`liaison screen --store`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyBaseline {
    /// Current bucket number.
    pub bucket: i64,
    /// Mentions in the current bucket.
    pub count: u64,
    /// Closed buckets inside the window, oldest first.
    pub closed: Vec<u64>,
    /// Mentions per bucket expected (moving average).
    pub baseline: f64,
    /// Buckets folded into the baseline.
    pub seen: u32,
    /// Whether the key is in a burst already reported.
    pub in_burst: bool,
}

impl BurstDetector {
    /// Every key's state, to persist.
    pub fn baselines(&self) -> Vec<(String, KeyBaseline)> {
        self.keys
            .iter()
            .map(|(k, s)| {
                (
                    k.clone(),
                    KeyBaseline {
                        bucket: s.bucket,
                        count: s.count,
                        closed: s.closed.iter().copied().collect(),
                        baseline: s.baseline,
                        seen: s.seen,
                        in_burst: s.in_burst,
                    },
                )
            })
            .collect()
    }

    /// A detector that resumes from persisted states.
    pub fn with_baselines<I: IntoIterator<Item = (String, KeyBaseline)>>(
        cfg: BurstConfig,
        states: I,
    ) -> Self {
        let keys = states
            .into_iter()
            .map(|(k, b)| {
                (
                    k,
                    KeyState {
                        bucket: b.bucket,
                        count: b.count,
                        closed: b.closed.into_iter().collect(),
                        baseline: b.baseline,
                        seen: b.seen,
                        in_burst: b.in_burst,
                    },
                )
            })
            .collect();
        BurstDetector { cfg, keys }
    }
}
