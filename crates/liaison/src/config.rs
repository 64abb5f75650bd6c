//! The deployment configuration: one TOML file in the data directory, plus
//! `LIAISON_*` environment variables.

use anyhow::{bail, Context, Result};
use liaison_policy::{Label, Policy, Role, Subject};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `config.toml` in the data directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Deployment-wide settings.
    pub deployment: Deployment,
    /// Organizations.
    #[serde(default)]
    pub orgs: Vec<Org>,
    /// Users.
    #[serde(default)]
    pub users: Vec<User>,
    /// `liaison serve`: listening address, TLS, limits and TAXII collections.
    #[serde(default)]
    pub server: ServerConfig,
    /// Tasks between organizations: default deadlines, warnings, webhook.
    #[serde(default, skip_serializing_if = "TasksConfig::is_default")]
    pub tasks: TasksConfig,
}

/// The `[tasks]` section: default deadlines per type and priority, the monitor's
/// warning fractions and the webhook its notifications go to.
///
/// ```toml
/// [tasks]
/// warn_fractions = [0.5, 0.8]
/// webhook_url = "https://chat.example/hooks/liaison"
/// webhook_secret = "change me"   # or LIAISON_TASKS_WEBHOOK_SECRET
///
/// [tasks.deadlines]          # hours; `priority` or `type.priority`
/// urgent = 24
/// "joint_response.urgent" = 72
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TasksConfig {
    /// Default deadline in hours, keyed `priority` or `type.priority`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub deadlines: std::collections::BTreeMap<String, u32>,
    /// Fractions of the time at which the monitor warns (absent: 0.5 and 0.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_fractions: Option<Vec<f64>>,
    /// Where notifications are POSTed (HMAC-signed body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The HMAC key of the webhook (`LIAISON_TASKS_WEBHOOK_SECRET` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// Seconds between the server's deadline checks (absent: 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_interval_secs: Option<u64>,
    /// Webhooks of organizations or units (`[[tasks.webhooks]]`), preferred over
    /// `webhook_url` for their users' notifications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<WebhookConfig>,
}

/// A webhook of an organization or unit.
///
/// ```toml
/// [[tasks.webhooks]]
/// target = "cert/analysis"        # or "cert"
/// url = "https://chat.cert.example/hooks/liaison"
/// max_level = "RESTRICTED"        # tasks above it stay in the app (absent: the lowest level)
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookConfig {
    /// `org` or `org/unit`.
    pub target: String,
    /// Where notifications are POSTed.
    pub url: String,
    /// Highest classification level of tasks it hears of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_level: Option<String>,
}

impl TasksConfig {
    fn is_default(&self) -> bool {
        self == &TasksConfig::default()
    }

    /// The deadline templates and warning fractions, checked.
    pub fn templates(&self) -> Result<liaison_tasks::Templates> {
        Ok(liaison_tasks::Templates::with_overrides(
            &self.deadlines,
            self.warn_fractions.as_deref(),
        )?)
    }

    /// The webhook secret: `LIAISON_TASKS_WEBHOOK_SECRET`, else the config's.
    pub fn webhook_secret(&self) -> Option<String> {
        std::env::var("LIAISON_TASKS_WEBHOOK_SECRET")
            .ok()
            .or_else(|| self.webhook_secret.clone())
    }
}

/// The `[server]` section: how `liaison serve` listens and what it shares.
///
/// ```toml
/// [server]
/// listen = "0.0.0.0:8443"
/// tls_cert = "/etc/liaison/cert.pem"
/// tls_key = "/etc/liaison/key.pem"
/// rate_limit = 50.0
///
/// [[server.collections]]
/// id = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
/// api_root = "liaison"
/// title = "Shared with partners"
/// ceiling_level = "RESTRICTED"
/// read = ["*"]
/// write = ["cert/analysis"]
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:8080`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// TLS certificate chain (PEM); with `tls_key`, the server speaks HTTPS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// Requests a second per user (absent: 100; 0: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
    /// Burst of requests allowed above the rate (absent: twice the rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_burst: Option<f64>,
    /// Largest request body in MiB (absent: 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_mib: Option<usize>,
    /// Days a TAXII status resource stays readable after its request (absent: 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_ttl_days: Option<u64>,
    /// TAXII collections (created or updated in the store when the server starts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<liaison_store::Collection>,
    /// CA certificates (PEM) client certificates must chain to: mutual TLS, for other
    /// Liaison instances and API clients (needs tls_cert and tls_key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_ca: Option<PathBuf>,
    /// Refuse clients without a certificate (otherwise they authenticate by password or token).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_client_required: bool,
    /// Client certificates (SHA-256 fingerprints) and the organization each stands for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_certs: Vec<liaison_server::tls::CertMapping>,
    /// Partner CAs and the organization each one's certificates stand for (mapping by
    /// issuer: partners rotate their leaf certificates without a config change).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_cas: Vec<liaison_server::tls::CaMapping>,
}

/// Deployment-wide settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    /// A name shown in banners and exports.
    pub name: String,
    /// Classification levels, lowest first.
    pub levels: Vec<String>,
    /// Compartments.
    #[serde(default)]
    pub compartments: Vec<String>,
    /// The user commands act as when `--as` is not given.
    #[serde(default)]
    pub default_user: Option<String>,
}

/// An organization and its units.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Org {
    /// Short id used in labels (`cert`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Units (`soc`, `analysis`, …).
    #[serde(default)]
    pub units: Vec<Unit>,
}

/// A unit of an organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unit {
    /// Short id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The unit head's user name (escalations go there).
    #[serde(default)]
    pub head: Option<String>,
}

/// A user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Full name.
    #[serde(default)]
    pub full_name: Option<String>,
    /// Organization id.
    pub org: String,
    /// Unit id within the organization.
    #[serde(default)]
    pub unit: Option<String>,
    /// Clearance level name.
    pub clearance: String,
    /// Compartments read into.
    #[serde(default)]
    pub compartments: Vec<String>,
    /// `reader`, `analyst`, `admin`.
    #[serde(default)]
    pub roles: Vec<Role>,
}

impl Config {
    /// The config file of a data directory.
    pub fn path(data: &Path) -> PathBuf {
        data.join("config.toml")
    }

    /// Load and check the config of a data directory.
    pub fn load(data: &Path) -> Result<Config> {
        let path = Self::path(data);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (run `liaison init --data {}` first)",
                path.display(),
                data.display()
            )
        })?;
        let cfg: Config =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        cfg.check()
            .with_context(|| format!("{} is not valid", path.display()))?;
        Ok(cfg)
    }

    /// Write the config to a data directory.
    pub fn save(&self, data: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self)?;
        std::fs::write(Self::path(data), text)
            .with_context(|| format!("writing {}", Self::path(data).display()))
    }

    /// The deployment policy.
    pub fn policy(&self) -> Result<Policy> {
        Ok(Policy::new(
            self.deployment.levels.iter().cloned(),
            self.deployment.compartments.iter().cloned(),
        )?)
    }

    /// Check that every user names a known org, unit, level and compartments.
    pub fn check(&self) -> Result<()> {
        let policy = self.policy()?;
        let mut orgs = BTreeSet::new();
        for o in &self.orgs {
            if !orgs.insert(o.id.as_str()) {
                bail!("organization '{}' is defined twice", o.id);
            }
        }
        let mut names = BTreeSet::new();
        for (i, u) in self.users.iter().enumerate() {
            let at = format!("users[{i}] ({})", u.name);
            if !names.insert(u.name.as_str()) {
                bail!("{at}: user name defined twice");
            }
            let Some(org) = self.orgs.iter().find(|o| o.id == u.org) else {
                bail!(
                    "{at}: unknown organization '{}' (known: {})",
                    u.org,
                    orgs.iter().cloned().collect::<Vec<_>>().join(", ")
                );
            };
            if let Some(unit) = &u.unit {
                if !org.units.iter().any(|x| &x.id == unit) {
                    bail!("{at}: organization '{}' has no unit '{unit}'", org.id);
                }
            }
            policy
                .level(&u.clearance)
                .with_context(|| format!("{at}: clearance"))?;
            policy
                .compartment_set(u.compartments.iter().cloned())
                .with_context(|| format!("{at}: compartments"))?;
        }
        for (i, c) in self.server.collections.iter().enumerate() {
            let at = format!("server.collections[{i}] ({})", c.id);
            policy
                .level(&c.ceiling_level)
                .with_context(|| format!("{at}: ceiling_level"))?;
            policy
                .compartment_set(c.ceiling_compartments.iter().cloned())
                .with_context(|| format!("{at}: ceiling_compartments"))?;
            if c.id.is_empty()
                || c.id.contains('/')
                || c.api_root.is_empty()
                || c.api_root.contains('/')
            {
                bail!("{at}: id and api_root must be non-empty and contain no '/'");
            }
        }
        self.tasks.templates()?;
        if (self.tasks.webhook_url.is_some() || !self.tasks.webhooks.is_empty())
            && self.tasks.webhook_secret().is_none()
        {
            bail!("tasks.webhook_url is set but no webhook_secret (or LIAISON_TASKS_WEBHOOK_SECRET): webhook bodies must be signed");
        }
        if let Some(d) = &self.deployment.default_user {
            if !names.contains(d.as_str()) {
                bail!("deployment.default_user: no user named '{d}'");
            }
        }
        Ok(())
    }

    /// The subject for a user name; `None` picks `LIAISON_USER`, then the default user.
    pub fn subject(&self, name: Option<&str>) -> Result<Subject> {
        let env = std::env::var("LIAISON_USER").ok();
        let name = name
            .or(env.as_deref())
            .or(self.deployment.default_user.as_deref())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no user given: pass --as USER (users: {})",
                    self.user_names()
                )
            })?;
        let u = self.users.iter().find(|u| u.name == name).ok_or_else(|| {
            anyhow::anyhow!("no user named '{name}' (users: {})", self.user_names())
        })?;
        let policy = self.policy()?;
        let mut s = policy.subject(
            &u.name,
            &u.org,
            &u.clearance,
            u.compartments.iter().cloned(),
            u.roles.iter().copied(),
        )?;
        s.unit = u.unit.clone();
        Ok(s)
    }

    fn user_names(&self) -> String {
        self.users
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A starting config: the five conventional levels, a few compartments, one
    /// organization and its administrator.
    pub fn starter(org: &str) -> Config {
        Config {
            deployment: Deployment {
                name: "Liaison".into(),
                levels: Policy::standard_levels(),
                compartments: vec!["GRID".into(), "TELCO".into(), "FIN".into()],
                default_user: Some("admin".into()),
            },
            orgs: vec![Org {
                id: org.into(),
                name: org.into(),
                units: vec![],
            }],
            users: vec![User {
                name: "admin".into(),
                full_name: Some("Administrator".into()),
                org: org.into(),
                unit: None,
                clearance: "TOP SECRET".into(),
                compartments: vec!["GRID".into(), "TELCO".into(), "FIN".into()],
                roles: vec![Role::Admin],
            }],
            server: ServerConfig::default(),
            tasks: TasksConfig::default(),
        }
    }
}

/// Parse a label written as a banner: `SECRET//GRID/TELCO//REL TO cert, ministry//TLP:AMBER`.
/// Parts after the level may come in any order; missing parts mean no compartments,
/// owner only (`REL TO ALL` for everyone) and TLP:CLEAR.
///
/// ```ignore
/// parse_label(&policy, "RESTRICTED//REL TO ALL//TLP:GREEN", "cert")
/// ```
pub fn parse_label(policy: &Policy, text: &str, owner: &str) -> Result<Label> {
    Ok(policy.parse_banner(text, owner)?)
}
