//! `liaison serve`: the HTTP server (TAXII 2.1, REST API, metrics) over a data
//! directory, and the credentials it checks (passwords, API tokens).

use crate::config::Config;
use crate::kb::Ctx;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use liaison_policy::{Level, Role, Subject};
use liaison_server::tasks_api::{MonitorSettings, TasksSetup, Webhook};
use liaison_server::{AppState, AuthDb, Directory, OrgInfo, Scope, Settings, UnitInfo};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(subcommand)]
    action: Option<ServeAction>,
    /// Address to listen on (overrides `[server] listen`; default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Listen on 127.0.0.1:PORT (shorthand for --listen).
    #[arg(long, conflicts_with = "listen")]
    port: Option<u16>,
    /// Send session cookies without `Secure` (plain-HTTP development only).
    #[arg(long)]
    insecure_cookies: bool,
}

#[derive(Subcommand, Debug)]
enum ServeAction {
    /// Set a user's password (from LIAISON_PASSWORD, else the first line of standard input).
    #[command(after_help = "Example:\n  echo 's3cret phrase' | liaison serve passwd alice")]
    Passwd {
        /// The user (as named in config.toml).
        user: String,
    },
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenAction),
}

#[derive(Subcommand, Debug)]
enum TokenAction {
    /// Create a token; its secret is printed once.
    #[command(
        after_help = "Example:\n  liaison serve token create --user alice --scope read --api-root liaison --name misp-sync"
    )]
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// read, write or admin.
        #[arg(long, default_value = "read")]
        scope: String,
        /// Restrict the token to one TAXII API root (and no REST API).
        #[arg(long)]
        api_root: Option<String>,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// Revoke a token by id.
    #[command(after_help = "Example:\n  liaison serve token revoke 3f2a9c1b7e4d")]
    Revoke {
        /// Token id (from `token list`).
        id: String,
    },
    /// List tokens (never their secrets).
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
}

/// The credential database of a data directory.
pub fn auth_db(data: &Path) -> Result<AuthDb> {
    AuthDb::open(&data.join("auth.db"))
        .with_context(|| format!("opening {}", data.join("auth.db").display()))
}

pub fn run(ctx: &Ctx, a: ServeArgs) -> Result<ExitCode> {
    match a.action {
        Some(ServeAction::Passwd { user }) => {
            let cfg = Config::load(&ctx.data)?;
            if !cfg.users.iter().any(|u| u.name == user) {
                bail!("no user named '{user}' in config.toml");
            }
            let pw = match std::env::var("LIAISON_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            if pw.chars().count() < 8 {
                bail!("a password needs at least 8 characters");
            }
            auth_db(&ctx.data)?.set_password(&user, &pw)?;
            record_permission(ctx, &user, "password set")?;
            eprintln!("password set for {user}");
            Ok(ExitCode::SUCCESS)
        }
        Some(ServeAction::Token(t)) => token(ctx, t),
        None => {
            let listen = a.listen.or(a.port.map(|p| format!("127.0.0.1:{p}")));
            serve_dir(
                &ctx.data,
                listen.as_deref(),
                a.insecure_cookies,
                |addr, tls| {
                    let scheme = if tls { "https" } else { "http" };
                    eprintln!("liaison: serving on {scheme}://{addr} (TAXII 2.1 at /taxii2/, REST at /api/v1/)");
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Record a credential change made from the command line in the audit log, as the
/// acting user (`--as`, `LIAISON_USER`, the default user) or `-` when there is none.
fn record_permission(ctx: &Ctx, object: &str, detail: &str) -> Result<()> {
    let by = Config::load(&ctx.data)
        .ok()
        .and_then(|cfg| cfg.subject(ctx.as_user.as_deref()).ok())
        .map_or_else(|| "-".to_string(), |s| s.name);
    ctx.audit()?.record(
        &by,
        liaison_protect::audit::action::PERMISSION,
        Some(object),
        detail,
    )?;
    Ok(())
}

fn token(ctx: &Ctx, t: TokenAction) -> Result<ExitCode> {
    let auth = auth_db(&ctx.data)?;
    match t {
        TokenAction::Create {
            user,
            scope,
            api_root,
            name,
        } => {
            let cfg = Config::load(&ctx.data)?;
            let Some(u) = cfg.users.iter().find(|u| u.name == user) else {
                bail!("no user named '{user}' in config.toml");
            };
            let scope = Scope::parse(&scope)
                .with_context(|| format!("--scope '{scope}': expected read, write or admin"))?;
            if scope == Scope::Admin && !u.roles.contains(&Role::Admin) {
                bail!("'{user}' is not an administrator: an admin token would be refused");
            }
            let (info, secret) = auth.create_token(&user, &name, scope, api_root.as_deref())?;
            record_permission(
                ctx,
                &info.id,
                &format!(
                    "token created for {user} scope {} api_root {}",
                    scope.as_str(),
                    api_root.as_deref().unwrap_or("*")
                ),
            )?;
            eprintln!(
                "token {} for {user} (scope {}): shown once, keep it safe",
                info.id,
                scope.as_str()
            );
            println!("{secret}");
        }
        TokenAction::Revoke { id } => {
            auth.revoke_token(&id, None)?;
            record_permission(ctx, &id, "token revoke: ok")?;
            eprintln!("token {id} revoked");
        }
        TokenAction::List { user } => {
            for t in auth.tokens(user.as_deref())? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}{}",
                    t.id,
                    t.user,
                    t.scope.as_str(),
                    t.api_root.as_deref().unwrap_or("*"),
                    t.created,
                    t.name,
                    if t.revoked { "\trevoked" } else { "" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The subject the server uses to set up collections: an administrator cleared for everything.
fn system_subject(cfg: &Config) -> Result<Subject> {
    let policy = cfg.policy()?;
    Ok(Subject {
        name: "liaison-server".into(),
        org: cfg.orgs.first().map(|o| o.id.clone()).unwrap_or_default(),
        unit: None,
        clearance: Level((policy.levels().len().saturating_sub(1)) as u16),
        compartments: policy.compartments().clone(),
        roles: [Role::Admin].into(),
    })
}

/// The application state of a data directory: store, credentials, users, settings.
pub fn state_for(data: &Path, insecure_cookies: bool) -> Result<(AppState, Config)> {
    let cfg = Config::load(data)?;
    let store = crate::cmd::keys::open_store(data, cfg.policy()?)
        .with_context(|| format!("opening the store in {}", data.display()))?;
    let sys = system_subject(&cfg)?;
    for c in &cfg.server.collections {
        store
            .put_collection(&sys, c)
            .with_context(|| format!("server.collections: {}", c.id))?;
    }
    let mut users = Vec::new();
    for u in &cfg.users {
        users.push(cfg.subject(Some(&u.name))?);
    }
    let rate = cfg.server.rate_limit.unwrap_or(100.0);
    let mut roots: Vec<String> = cfg
        .server
        .collections
        .iter()
        .map(|c| c.api_root.clone())
        .collect();
    roots.dedup();
    if roots.is_empty() {
        roots.push("liaison".into());
    }
    let settings = Settings {
        title: cfg.deployment.name.clone(),
        api_roots: roots,
        max_body: cfg.server.max_body_mib.unwrap_or(64) << 20,
        timeout: Duration::from_secs(120),
        rate_limit: (rate, cfg.server.rate_burst.unwrap_or(rate * 2.0)),
        secure_cookies: !insecure_cookies,
        status_ttl: Duration::from_secs(cfg.server.status_ttl_days.unwrap_or(7) * 24 * 3600),
        ..Settings::default()
    };
    let store = Arc::new(store);
    {
        // Beside the start, so that the first search does not load the search columns.
        let store = store.clone();
        std::thread::spawn(move || {
            if let Err(e) = store.warm_search() {
                tracing::warn!(error = %e, "search columns not loaded at start");
            }
        });
    }
    let state = AppState::new(
        store,
        auth_db(data)?,
        Directory::new(users).with_orgs(
            cfg.orgs
                .iter()
                .map(|o| OrgInfo {
                    id: o.id.clone(),
                    name: o.name.clone(),
                    units: o
                        .units
                        .iter()
                        .map(|u| UnitInfo {
                            id: u.id.clone(),
                            name: u.name.clone(),
                        })
                        .collect(),
                })
                .collect(),
        ),
        settings,
    )
    .with_tasks(tasks_setup(&cfg)?)
    // The same log the CLI commands append to (one chain across processes: appends
    // take a file lock), signed with the keyring's audit key when the store has one.
    .with_audit(Arc::new(crate::cmd::keys::audit_log(data).with_context(
        || format!("opening the audit log in {}", data.display()),
    )?));
    Ok((state, cfg))
}

/// The deadline monitor's and the task API's setup from `[tasks]`: the directory with
/// unit heads, deadline templates, check interval and webhooks.
pub fn tasks_setup(cfg: &Config) -> Result<TasksSetup> {
    let policy = cfg.policy()?;
    let lowest = liaison_policy::Level(0);
    let mut webhooks = Vec::new();
    for (i, w) in cfg.tasks.webhooks.iter().enumerate() {
        let at = format!("tasks.webhooks[{i}]");
        let (org, unit) = match w.target.split_once('/') {
            Some((o, u)) => (o, Some(u)),
            None => (w.target.as_str(), None),
        };
        let Some(o) = cfg.orgs.iter().find(|o| o.id == org) else {
            bail!("{at}.target: no organization '{org}'");
        };
        if let Some(u) = unit {
            if !o.units.iter().any(|x| x.id == u) {
                bail!("{at}.target: organization '{org}' has no unit '{u}'");
            }
        }
        let max_level = match &w.max_level {
            Some(l) => policy.level(l).with_context(|| format!("{at}.max_level"))?,
            None => lowest,
        };
        webhooks.push(Webhook {
            target: Some(w.target.clone()),
            url: w.url.clone(),
            max_level,
        });
    }
    if let Some(url) = &cfg.tasks.webhook_url {
        webhooks.push(Webhook {
            target: None,
            url: url.clone(),
            max_level: lowest,
        });
    }
    Ok(TasksSetup {
        directory: crate::cmd::task::directory(cfg)?,
        templates: cfg.tasks.templates()?,
        monitor: MonitorSettings {
            interval: Duration::from_secs(cfg.tasks.monitor_interval_secs.unwrap_or(60).max(1)),
            webhooks,
            secret: cfg.tasks.webhook_secret().map(String::into_bytes),
            ..MonitorSettings::default()
        },
    })
}

/// Aborts the task when dropped.
struct Guard(tokio::task::JoinHandle<()>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn scopeguard(h: tokio::task::JoinHandle<()>) -> Guard {
    Guard(h)
}

/// Serve a data directory until Ctrl-C or SIGTERM. `ready` gets the bound address
/// and whether it speaks TLS.
pub fn serve_dir(
    data: &Path,
    listen: Option<&str>,
    insecure_cookies: bool,
    ready: impl FnOnce(SocketAddr, bool),
) -> Result<()> {
    let (state, cfg) = state_for(data, insecure_cookies)?;
    let listen = listen
        .map(String::from)
        .or(cfg.server.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // The deadline monitor and webhook sender run beside the server and stop with it.
        let monitor = liaison_server::monitor::spawn(state.clone());
        let _stop = scopeguard(monitor);
        let _stop_signer = state.spawn_audit_signer().map(scopeguard);
        // Collection feeds run on their schedules beside the server.
        liaison_server::feeds::start(state.clone());
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        match (&cfg.server.tls_cert, &cfg.server.tls_key) {
            (Some(cert), Some(key))
                if cfg.server.tls_client_ca.is_some() || !cfg.server.client_cas.is_empty() =>
            {
                let map = liaison_server::tls::CertMap::new(
                    cfg.server.client_certs.clone(),
                    &cfg.server.client_cas,
                )
                .context("[[server.client_cas]]")?;
                let mut cas: Vec<&std::path::Path> =
                    cfg.server.tls_client_ca.as_deref().into_iter().collect();
                cas.extend(map.ca_files());
                let tls = liaison_server::tls::mtls_acceptor_with(
                    cert,
                    key,
                    &cas,
                    cfg.server.tls_client_required,
                )
                .with_context(|| format!("mutual TLS with client CAs {cas:?}"))?;
                ready(addr, true);
                liaison_server::tls::serve_mtls(
                    listener,
                    tls,
                    liaison_server::app(state),
                    map,
                    liaison_server::shutdown_signal(),
                )
                .await?;
            }
            (Some(cert), Some(key)) => {
                let tls = liaison_server::tls::acceptor(cert, key).with_context(|| {
                    format!("TLS with {} and {}", cert.display(), key.display())
                })?;
                ready(addr, true);
                liaison_server::tls::serve(listener, tls, state, liaison_server::shutdown_signal())
                    .await?;
            }
            (None, None) => {
                ready(addr, false);
                liaison_server::serve(listener, state, liaison_server::shutdown_signal()).await?;
            }
            _ => bail!("[server] needs both tls_cert and tls_key, or neither"),
        }
        Ok(())
    })
}
