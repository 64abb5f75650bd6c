//! Security labels and the rules that govern them, pure and free of IO.
//!
//! Every object in Liaison carries a [`Label`]; every reader is a [`Subject`].
//! The store asks [`can_read`] for every row it returns (it does so in SQL, by
//! the set of label ids this crate approves), so no read path can bypass it.
//!
//! ```
//! use liaison_policy::{Policy, Label, Subject, Releasability, Tlp, can_read};
//! let policy = Policy::new(["UNCLASSIFIED", "RESTRICTED", "SECRET"], ["GRID", "TELCO"]).unwrap();
//! let label = policy.label("SECRET", ["GRID"], Tlp::Amber, "cert", Releasability::to(["ministry"])).unwrap();
//! let analyst = policy.subject("alice", "ministry", "SECRET", ["GRID"], []).unwrap();
//! let intern = policy.subject("bob", "ministry", "RESTRICTED", ["GRID"], []).unwrap();
//! assert!(can_read(&analyst, &label));
//! assert!(!can_read(&intern, &label));
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A classification level: an index into the deployment's ordered level names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Level(pub u16);

/// Traffic Light Protocol 2.0 level, least restrictive first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Tlp {
    /// TLP:CLEAR.
    #[default]
    Clear,
    /// TLP:GREEN.
    Green,
    /// TLP:AMBER.
    Amber,
    /// TLP:AMBER+STRICT.
    #[serde(rename = "amber+strict")]
    AmberStrict,
    /// TLP:RED.
    Red,
}

impl Tlp {
    /// `clear`, `green`, `amber`, `amber+strict`, `red`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// Parse `clear|white|green|amber|amber+strict|red`, with or without `TLP:`, any case.
    pub fn parse(text: &str) -> Option<Tlp> {
        let t = text.trim().to_ascii_lowercase();
        let t = t.strip_prefix("tlp:").unwrap_or(&t);
        Some(match t {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return None,
        })
    }
}

/// Who besides the owner may read: everyone, or a set of organizations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Releasability {
    /// Releasable to every organization of the deployment.
    All,
    /// Releasable to these organizations only (the owner always reads).
    To(BTreeSet<String>),
}

impl Releasability {
    /// Releasable to the named organizations.
    pub fn to<I: IntoIterator<Item = S>, S: Into<String>>(orgs: I) -> Self {
        Releasability::To(orgs.into_iter().map(Into::into).collect())
    }

    /// Releasable to no one but the owner.
    pub fn owner_only() -> Self {
        Releasability::To(BTreeSet::new())
    }

    /// Whether `org` is among the recipients.
    pub fn includes(&self, org: &str) -> bool {
        match self {
            Releasability::All => true,
            Releasability::To(set) => set.contains(org),
        }
    }
}

/// The security label of an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Label {
    /// Classification level.
    pub level: Level,
    /// Compartments: a reader must hold every one.
    pub compartments: BTreeSet<String>,
    /// TLP: governs what may leave an organization, not reads inside it.
    pub tlp: Tlp,
    /// Owning organization; `None` for a joined label whose sources had different owners.
    pub owner: Option<String>,
    /// Other organizations that may read.
    pub releasable_to: Releasability,
}

impl Label {
    /// The lowest label: level 0, no compartments, TLP:CLEAR, releasable to all.
    pub fn public(owner: Option<String>) -> Self {
        Label {
            level: Level(0),
            compartments: BTreeSet::new(),
            tlp: Tlp::Clear,
            owner,
            releasable_to: Releasability::All,
        }
    }

    /// Whether an organization is among those the label lets read (owner or releasable).
    pub fn readable_by_org(&self, org: &str) -> bool {
        self.owner.as_deref() == Some(org) || self.releasable_to.includes(org)
    }

    /// `self` is at least as restrictive as `other` in every dimension.
    pub fn dominates(&self, other: &Label) -> bool {
        self.level >= other.level
            && self.compartments.is_superset(&other.compartments)
            && self.tlp >= other.tlp
            && readers_subset(self, other)
    }
}

/// readers(a) ⊆ readers(b), where readers(l) = {owner} ∪ releasable_to.
fn readers_subset(a: &Label, b: &Label) -> bool {
    let b_has = |org: &str| b.readable_by_org(org);
    match &a.releasable_to {
        Releasability::All => {
            matches!(b.releasable_to, Releasability::All)
        }
        Releasability::To(set) => {
            set.iter().all(|o| b_has(o)) && a.owner.as_deref().is_none_or(b_has)
        }
    }
}

/// A role a user holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads what the label rules allow.
    Reader,
    /// Also creates and changes objects owned by the user's organization.
    Analyst,
    /// Also manages users, keys and organizations.
    Admin,
}

/// Someone reading or writing: a user, or a system process acting for an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// User name.
    pub name: String,
    /// Organization the subject belongs to.
    pub org: String,
    /// Unit within the organization, if any.
    pub unit: Option<String>,
    /// Highest level the subject may read.
    pub clearance: Level,
    /// Compartments the subject is read into.
    pub compartments: BTreeSet<String>,
    /// Roles held.
    pub roles: BTreeSet<Role>,
}

impl Subject {
    /// Whether the subject holds `role` (admins hold every role).
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role) || self.roles.contains(&Role::Admin)
    }
}

/// The read rule of DESIGN.md: level ≤ clearance, compartments ⊆ the subject's,
/// and the subject's organization owns the object or is among its recipients.
pub fn can_read(subject: &Subject, label: &Label) -> bool {
    label.level <= subject.clearance
        && label.compartments.is_subset(&subject.compartments)
        && label.readable_by_org(&subject.org)
}

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteDenied {
    /// The subject cannot read at that label, so it may not write at it either.
    #[error(
        "the label is above the subject's clearance or outside its compartments or releasability"
    )]
    AboveClearance,
    /// The subject holds no role that writes.
    #[error("the subject '{0}' holds no analyst or admin role")]
    NoWriteRole(String),
    /// Only the owning organization writes its objects.
    #[error("the object is owned by '{owner}', not by '{org}'")]
    NotOwner {
        /// Owning organization.
        owner: String,
        /// Subject's organization.
        org: String,
    },
}

/// The write rule: the subject must be able to read at the label, hold the analyst
/// (or admin) role, and belong to the owning organization (admins may write any
/// organization's objects they can read, for migrations and imports).
pub fn check_write(subject: &Subject, label: &Label) -> Result<(), WriteDenied> {
    if !subject.has_role(Role::Analyst) {
        return Err(WriteDenied::NoWriteRole(subject.name.clone()));
    }
    if !can_read(subject, label) {
        return Err(WriteDenied::AboveClearance);
    }
    match &label.owner {
        Some(owner) if owner != &subject.org && !subject.roles.contains(&Role::Admin) => {
            Err(WriteDenied::NotOwner {
                owner: owner.clone(),
                org: subject.org.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// A partner an object might be released to (TAXII federation, export).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The partner organization.
    pub org: String,
    /// Highest level the partner is accredited to receive.
    pub accreditation: Level,
    /// Compartments the partner is read into.
    pub compartments: BTreeSet<String>,
    /// Whether the partner is in the sending organization's sharing community (TLP:GREEN).
    pub community: bool,
}

/// The release rule: may an object with `label` leave `from_org` for `to`?
/// TLP decides whether it may leave at all (CLEAR: anyone; GREEN: the community;
/// AMBER: only to organizations it is releasable to; AMBER+STRICT and RED: never),
/// and the recipient must satisfy the read rule as an organization.
pub fn can_release(label: &Label, to: &Recipient) -> bool {
    let tlp_ok = match label.tlp {
        Tlp::Clear => true,
        Tlp::Green => to.community || label.releasable_to.includes(&to.org),
        Tlp::Amber => match &label.releasable_to {
            Releasability::To(set) => set.contains(&to.org),
            Releasability::All => false,
        },
        Tlp::AmberStrict | Tlp::Red => false,
    };
    tlp_ok
        && label.level <= to.accreditation
        && label.compartments.is_subset(&to.compartments)
        && label.readable_by_org(&to.org)
}

/// The least upper bound of two labels: what a derived object must carry at least.
/// Level and TLP are the maximum, compartments the union, and the organizations
/// that may read are those that may read both. The owner survives only if both agree;
/// otherwise the joined label has no owner and its readers are listed in
/// `releasable_to`.
pub fn join(a: &Label, b: &Label) -> Label {
    let owner = if a.owner == b.owner {
        a.owner.clone()
    } else {
        None
    };
    let releasable_to = match (&a.releasable_to, &b.releasable_to) {
        (Releasability::All, Releasability::All) => Releasability::All,
        _ => {
            let readers = |l: &Label| -> Option<BTreeSet<String>> {
                match &l.releasable_to {
                    Releasability::All => None,
                    Releasability::To(s) => {
                        let mut s = s.clone();
                        s.extend(l.owner.clone());
                        Some(s)
                    }
                }
            };
            let set: BTreeSet<String> = match (readers(a), readers(b)) {
                (Some(x), Some(y)) => x.intersection(&y).cloned().collect(),
                (Some(x), None) => x,
                (None, Some(y)) => y,
                (None, None) => BTreeSet::new(),
            };
            let mut set = set;
            if let Some(o) = &owner {
                set.remove(o);
            }
            Releasability::To(set)
        }
    };
    Label {
        level: a.level.max(b.level),
        compartments: a.compartments.union(&b.compartments).cloned().collect(),
        tlp: a.tlp.max(b.tlp),
        owner,
        releasable_to,
    }
}

/// The join of many labels; `None` for an empty input.
pub fn join_all<'a, I: IntoIterator<Item = &'a Label>>(labels: I) -> Option<Label> {
    labels.into_iter().fold(None, |acc, l| {
        Some(acc.map_or_else(|| l.clone(), |a| join(&a, l)))
    })
}

/// A label or subject named something the deployment does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Unknown level name.
    #[error("unknown classification level '{name}' (known: {known})")]
    UnknownLevel {
        /// The name given.
        name: String,
        /// The configured names.
        known: String,
    },
    /// Unknown compartment name.
    #[error("unknown compartment '{name}' (known: {known})")]
    UnknownCompartment {
        /// The name given.
        name: String,
        /// The configured names.
        known: String,
    },
    /// Bad configuration.
    #[error("invalid policy configuration: {0}")]
    Config(String),
    /// A banner that does not parse (see [`Policy::parse_banner`]).
    #[error("label '{banner}': {reason}")]
    Banner {
        /// The banner given.
        banner: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A deployment's levels (lowest first) and compartments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    levels: Vec<String>,
    compartments: BTreeSet<String>,
}

impl Policy {
    /// A policy with ordered level names (lowest first) and compartment names.
    pub fn new<L, C, S1, S2>(levels: L, compartments: C) -> Result<Self, PolicyError>
    where
        L: IntoIterator<Item = S1>,
        C: IntoIterator<Item = S2>,
        S1: Into<String>,
        S2: Into<String>,
    {
        let levels: Vec<String> = levels.into_iter().map(Into::into).collect();
        if levels.is_empty() {
            return Err(PolicyError::Config(
                "at least one classification level is required".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        for l in &levels {
            if !seen.insert(l.to_ascii_uppercase()) {
                return Err(PolicyError::Config(format!("level '{l}' is listed twice")));
            }
        }
        if levels.len() > u16::MAX as usize {
            return Err(PolicyError::Config("too many levels".into()));
        }
        Ok(Policy {
            levels,
            compartments: compartments.into_iter().map(Into::into).collect(),
        })
    }

    /// The conventional five levels, UNCLASSIFIED < RESTRICTED < CONFIDENTIAL < SECRET < TOP SECRET.
    pub fn standard_levels() -> Vec<String> {
        [
            "UNCLASSIFIED",
            "RESTRICTED",
            "CONFIDENTIAL",
            "SECRET",
            "TOP SECRET",
        ]
        .map(String::from)
        .to_vec()
    }

    /// Level names, lowest first.
    pub fn levels(&self) -> &[String] {
        &self.levels
    }

    /// Compartment names.
    pub fn compartments(&self) -> &BTreeSet<String> {
        &self.compartments
    }

    /// Resolve a level name (case-insensitive).
    pub fn level(&self, name: &str) -> Result<Level, PolicyError> {
        self.levels
            .iter()
            .position(|l| l.eq_ignore_ascii_case(name.trim()))
            .map(|i| Level(i as u16))
            .ok_or_else(|| PolicyError::UnknownLevel {
                name: name.to_string(),
                known: self.levels.join(", "),
            })
    }

    /// The name of a level.
    pub fn level_name(&self, level: Level) -> &str {
        self.levels
            .get(level.0 as usize)
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// Check compartment names.
    pub fn compartment_set<I, S>(&self, names: I) -> Result<BTreeSet<String>, PolicyError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        names
            .into_iter()
            .map(Into::into)
            .map(|n: String| {
                if self.compartments.contains(&n) {
                    Ok(n)
                } else {
                    Err(PolicyError::UnknownCompartment {
                        name: n,
                        known: self
                            .compartments
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                }
            })
            .collect()
    }

    /// Build a label from names, checking them against the deployment.
    pub fn label<I, S>(
        &self,
        level: &str,
        compartments: I,
        tlp: Tlp,
        owner: &str,
        releasable_to: Releasability,
    ) -> Result<Label, PolicyError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(Label {
            level: self.level(level)?,
            compartments: self.compartment_set(compartments)?,
            tlp,
            owner: Some(owner.to_string()),
            releasable_to,
        })
    }

    /// Build a subject from names, checking them against the deployment.
    pub fn subject<I, S, R>(
        &self,
        name: &str,
        org: &str,
        clearance: &str,
        compartments: I,
        roles: R,
    ) -> Result<Subject, PolicyError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        R: IntoIterator<Item = Role>,
    {
        Ok(Subject {
            name: name.to_string(),
            org: org.to_string(),
            unit: None,
            clearance: self.level(clearance)?,
            compartments: self.compartment_set(compartments)?,
            roles: roles.into_iter().collect(),
        })
    }

    /// A label from its banner, the inverse of [`Policy::banner`]:
    /// `SECRET//GRID/TELCO//REL TO cert, ministry//TLP:AMBER`. Parts after the level
    /// come in any order; missing parts mean no compartments, owner only (`REL TO ALL`
    /// for everyone) and TLP:CLEAR. `owner` is the organization the label belongs to.
    ///
    /// ```
    /// use liaison_policy::{Policy, Tlp};
    /// let policy = Policy::new(Policy::standard_levels(), ["GRID"]).unwrap();
    /// let l = policy.parse_banner("SECRET//GRID//REL TO cert, ministry//TLP:AMBER", "cert").unwrap();
    /// assert_eq!(l.tlp, Tlp::Amber);
    /// assert_eq!(policy.banner(&l), "SECRET//GRID//REL TO cert, ministry//TLP:AMBER");
    /// assert!(policy.parse_banner("SECRET//TLP:PURPLE", "cert").is_err());
    /// ```
    pub fn parse_banner(&self, text: &str, owner: &str) -> Result<Label, PolicyError> {
        let wrong = |reason: String| PolicyError::Banner {
            banner: text.to_string(),
            reason,
        };
        let mut parts = text.split("//").map(str::trim);
        let level = parts.next().unwrap_or_default();
        let mut compartments: Vec<String> = Vec::new();
        let mut tlp = Tlp::Clear;
        let mut rel = Releasability::owner_only();
        for p in parts {
            if let Some(t) = p.strip_prefix("TLP:").or_else(|| p.strip_prefix("tlp:")) {
                tlp = Tlp::parse(t).ok_or_else(|| {
                    wrong(format!(
                        "unknown TLP '{t}' (clear, green, amber, amber+strict, red)"
                    ))
                })?;
            } else if let Some(r) = p
                .strip_prefix("REL TO ")
                .or_else(|| p.strip_prefix("rel to "))
            {
                rel = if r.trim().eq_ignore_ascii_case("all") {
                    Releasability::All
                } else {
                    Releasability::to(
                        r.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty() && s != owner),
                    )
                };
            } else {
                compartments.extend(
                    p.split('/')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty()),
                );
            }
        }
        self.label(level, compartments, tlp, owner, rel)
            .map_err(|e| wrong(e.to_string()))
    }

    /// A human form of a label, as a banner shows it: `SECRET//GRID//REL TO cert, ministry//TLP:AMBER`.
    pub fn banner(&self, label: &Label) -> String {
        let mut s = self.level_name(label.level).to_string();
        if !label.compartments.is_empty() {
            s.push_str("//");
            s.push_str(
                &label
                    .compartments
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
        match &label.releasable_to {
            Releasability::All => {}
            Releasability::To(set) => {
                let mut orgs: Vec<&str> = label.owner.iter().map(String::as_str).collect();
                orgs.extend(set.iter().map(String::as_str));
                s.push_str("//REL TO ");
                s.push_str(&orgs.join(", "));
            }
        }
        s.push_str("//TLP:");
        s.push_str(&label.tlp.as_str().to_ascii_uppercase());
        s
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "level {}", self.0)
    }
}
