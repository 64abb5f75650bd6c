//! `liaison-server`: Liaison over HTTP — TAXII 2.1 for partners, a REST API for
//! tools, `/metrics` for operators.
//!
//! [`app`] builds the whole [`axum::Router`] from an [`AppState`], so tests drive it
//! with `tower::ServiceExt::oneshot` and no socket; [`serve`] runs it on a listener
//! with graceful shutdown. Every route but `/health` requires authentication
//! (a password over HTTP Basic, an API token as `Bearer`, a session cookie, or over
//! mutual TLS a client certificate mapped to a user), and every read goes through the
//! store with the caller's [`liaison_policy::Subject`], so labels are enforced by the
//! store on every route. With an audit log ([`AppState::with_audit`]) every login,
//! read of labelled content, write and credential change is appended to it.
//!
//! ```
//! use liaison_server::{app, AppState, AuthDb, Directory, Settings};
//! use liaison_policy::{Policy, Role};
//! use liaison_store::SqliteStore;
//! use std::sync::Arc;
//! use tower::ServiceExt;
//!
//! let policy = Policy::new(["UNCLASSIFIED", "SECRET"], ["GRID"]).unwrap();
//! let admin = policy.subject("admin", "cert", "SECRET", ["GRID"], [Role::Admin]).unwrap();
//! let store = Arc::new(SqliteStore::open_in_memory(policy).unwrap());
//! let auth = AuthDb::open_in_memory().unwrap();
//! let state = AppState::new(store, auth, Directory::new([admin]), Settings::default());
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! let resp = rt.block_on(app(state).oneshot(
//!     axum::http::Request::get("/health").body(axum::body::Body::empty()).unwrap(),
//! )).unwrap();
//! assert_eq!(resp.status(), 200);
//! ```

mod auth;
mod error;
pub mod feeds;
pub mod feeds_api;
mod metrics;
pub mod monitor;
pub mod notify;
mod openapi;
mod rest;
pub mod tasks_api;
mod taxii;
pub mod tls;
mod ui;

pub use auth::{
    AuthDb, AuthError, Directory, FailureGate, OrgInfo, RateLimiter, Scope, TokenInfo, UnitInfo,
};
pub use error::AppError;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use liaison_policy::{Role, Subject};
use liaison_store::SqliteStore;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Title shown in TAXII discovery.
    pub title: String,
    /// TAXII API roots served even while they hold no collection.
    pub api_roots: Vec<String>,
    /// Largest request body in bytes (larger: 413).
    pub max_body: usize,
    /// Longest time a request may take.
    pub timeout: Duration,
    /// Requests handled at once (more wait).
    pub concurrency: usize,
    /// Requests a second per user (0: no limit) and the burst allowed.
    pub rate_limit: (f64, f64),
    /// Largest TAXII page (`limit` is capped to it).
    pub max_page: usize,
    /// Session cookies carry `Secure` (turn off only for plain-HTTP development).
    pub secure_cookies: bool,
    /// How long TAXII status resources are kept (in the store, across restarts).
    pub status_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            title: "Liaison".into(),
            api_roots: vec!["liaison".into()],
            max_body: 64 << 20,
            timeout: Duration::from_secs(120),
            concurrency: 512,
            rate_limit: (0.0, 0.0),
            max_page: 1000,
            secure_cookies: true,
            status_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Arc<SqliteStore>,
    auth: Arc<AuthDb>,
    users: Directory,
    settings: Settings,
    limiter: RateLimiter,
    failures: auth::FailureGate,
    metrics: metrics::Metrics,
    tasks: std::sync::OnceLock<Arc<tasks_api::TasksSetup>>,
    audit: std::sync::OnceLock<Arc<liaison_store::audit::AuditLog>>,
}

impl AppState {
    /// The state of a server over `store`.
    pub fn new(
        store: Arc<SqliteStore>,
        auth: AuthDb,
        users: Directory,
        settings: Settings,
    ) -> Self {
        let limiter = RateLimiter::new(settings.rate_limit.0, settings.rate_limit.1);
        AppState(Arc::new(Inner {
            store,
            auth: Arc::new(auth),
            users,
            settings,
            limiter,
            failures: auth::FailureGate::default(),
            metrics: metrics::Metrics::default(),
            tasks: std::sync::OnceLock::new(),
            audit: std::sync::OnceLock::new(),
        }))
    }

    /// Record logins, reads of labelled content, writes and permission changes in
    /// `log` (set once, before serving).
    pub fn with_audit(self, log: Arc<liaison_store::audit::AuditLog>) -> Self {
        let _ = self.0.audit.set(log);
        self
    }

    /// Keep the audit head's signature current while serving: appends renew it at most
    /// every 100 ms or 1,000 records, so after a burst the last records would stay
    /// covered by the keyed MAC only until the next request or the shutdown. Once a
    /// second, an idle log is signed up to its last record, so that an auditor holding
    /// only the public key can vouch for everything older than a second.
    pub fn spawn_audit_signer(&self) -> Option<tokio::task::JoinHandle<()>> {
        let log = self.0.audit.get()?.clone();
        Some(tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let log = log.clone();
                match tokio::task::spawn_blocking(move || log.renew_head()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "audit: cannot renew the head's signature")
                    }
                    Err(_) => return,
                }
            }
        }))
    }

    /// The audit log, when the server keeps one.
    pub fn audit_log(&self) -> Option<&Arc<liaison_store::audit::AuditLog>> {
        self.0.audit.get()
    }

    /// Append one record for a response naming several objects: their ids (comma
    /// separated, so `audit query --object ID` finds them) up to [`AUDIT_MAX_IDS`];
    /// over that only the count, with `detail` saying what was asked.
    pub(crate) fn audit_ids<'a>(
        &self,
        user: &str,
        action: &str,
        ids: impl ExactSizeIterator<Item = &'a str>,
        detail: &str,
    ) {
        if self.0.audit.get().is_none() {
            return;
        }
        let n = ids.len();
        if n == 0 {
            self.audit(user, action, None, &format!("{detail} [0 objects]"));
        } else if n <= AUDIT_MAX_IDS {
            let list = ids.collect::<Vec<_>>().join(",");
            self.audit(
                user,
                action,
                Some(&list),
                &format!("{detail} [{n} objects]"),
            );
        } else {
            self.audit(
                user,
                action,
                None,
                &format!("{detail} [{n} objects, ids not listed]"),
            );
        }
    }

    /// Append one audit record (see `liaison_protect::audit::action`). The append is a
    /// short locked write with no await inside, so handlers call it inline. A failed
    /// append is reported on stderr rather than failing the request the user already
    /// got an answer for.
    pub(crate) fn audit(&self, user: &str, action: &str, object: Option<&str>, detail: &str) {
        if let Some(log) = self.0.audit.get() {
            if let Err(e) = log.record(user, action, object, detail) {
                eprintln!("audit: cannot record {action} by {user}: {e}");
            }
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<SqliteStore> {
        &self.0.store
    }

    /// The credential store.
    pub fn auth(&self) -> &Arc<AuthDb> {
        &self.0.auth
    }
}

/// Most object ids one audit record lists; larger pages record a count and the query.
pub const AUDIT_MAX_IDS: usize = 100;

/// Store calls at once: about two per core. More only time-slice the same cores and
/// stretch every request's latency; queued requests wait their turn in order instead.
fn store_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new((cores * 2).max(4))
    })
}

/// Run blocking store work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let _slot = store_slots()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(f).await?
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who (clearance, compartments, organization, roles).
    pub subject: Subject,
    /// What the credential allows.
    pub scope: Scope,
    /// The only API root the credential may use, if restricted.
    pub api_root: Option<String>,
}

impl Caller {
    /// Refuse unless the credential allows `scope` (and, for admin, the user is one).
    pub fn require(&self, scope: Scope) -> Result<(), AppError> {
        if self.scope < scope {
            return Err(AppError::Forbidden(format!(
                "this credential's scope is '{}'; '{}' is needed",
                self.scope.as_str(),
                scope.as_str()
            )));
        }
        if scope == Scope::Admin && !self.subject.roles.contains(&Role::Admin) {
            return Err(AppError::Forbidden("administrators only".into()));
        }
        Ok(())
    }

    /// Refuse a credential restricted to another API root (or to TAXII only).
    pub fn require_root(&self, root: Option<&str>) -> Result<(), AppError> {
        match (&self.api_root, root) {
            (None, _) => Ok(()),
            (Some(r), Some(x)) if r == x => Ok(()),
            _ => Err(AppError::Forbidden(
                "this token is restricted to another API root".into(),
            )),
        }
    }
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "liaison_session";

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

/// How a request authenticated (for the audit record; never the secret).
enum Method {
    Password,
    Token,
    Session,
    Certificate(tls::CertOrg),
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    cert: Option<&tls::CertOrg>,
) -> Result<Caller, AppError> {
    use liaison_protect::audit::action::LOGIN;
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let cookie = session_cookie(headers);
    // An explicit credential (header or cookie) wins; a mapped client certificate
    // that fixes a user authenticates requests that bring nothing else.
    if authz.is_none() && cookie.is_none() {
        if let Some(c) = cert.filter(|c| c.user.is_some()) {
            let user = c.user.clone().unwrap_or_default();
            let scope = c.scope.unwrap_or(Scope::Read);
            return finish(state, user, scope, None, Method::Certificate(c.clone()));
        }
        // No credential at all is no login attempt: nothing to record.
        return Err(AppError::Unauthorized);
    }
    let st = state.clone();
    // (found, claimed user for a refused password, how)
    let (found, claimed, method) = blocking(move || {
        let auth = &st.0.auth;
        let map = |e: AuthError| AppError::Internal(e.to_string());
        if let Some(a) = authz {
            if let Some(tok) = a.strip_prefix("Bearer ") {
                let f = auth.verify_token(tok.trim()).map_err(map)?;
                return Ok((f, None, Method::Token));
            }
            if let Some(b) = a.strip_prefix("Basic ") {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .map_err(|_| AppError::Unauthorized)?;
                let text = String::from_utf8(raw).map_err(|_| AppError::Unauthorized)?;
                let (user, pass) = text.split_once(':').ok_or(AppError::Unauthorized)?;
                if st.0.failures.blocked(user) {
                    st.audit(user, LOGIN, None, "password: refused (too many failures)");
                    return Err(AppError::TooManyRequests);
                }
                let known = st.0.users.get(user).is_some();
                let ok = auth.verify_password(user, pass).map_err(map)? && known;
                if !ok {
                    st.0.failures.record(user);
                }
                return Ok((
                    ok.then(|| (user.to_string(), Scope::Admin, None)),
                    Some(user.to_string()),
                    Method::Password,
                ));
            }
            return Ok((None, None, Method::Password));
        }
        Ok((
            cookie
                .and_then(|c| auth.session_user(&c))
                .map(|u| (u, Scope::Admin, None)),
            None,
            Method::Session,
        ))
    })
    .await?;
    let Some((user, scope, api_root)) = found else {
        let how = match method {
            Method::Password => "password",
            Method::Token => "token",
            Method::Session => "session",
            Method::Certificate(_) => "certificate",
        };
        state.audit(
            claimed.as_deref().unwrap_or("unknown"),
            LOGIN,
            None,
            &format!("{how}: refused"),
        );
        return Err(AppError::Unauthorized);
    };
    finish(state, user, scope, api_root, method)
}

/// The caller of an accepted credential (recorded as a login).
fn finish(
    state: &AppState,
    user: String,
    scope: Scope,
    api_root: Option<String>,
    method: Method,
) -> Result<Caller, AppError> {
    use liaison_protect::audit::action::LOGIN;
    let how = match &method {
        Method::Password => "password".to_string(),
        Method::Token => "token".to_string(),
        Method::Session => "session".to_string(),
        Method::Certificate(c) => format!("certificate {} org {}", c.fingerprint, c.org),
    };
    let Some(subject) = state.0.users.get(&user).cloned() else {
        state.audit(
            &user,
            LOGIN,
            None,
            &format!("{how}: refused (no such user)"),
        );
        return Err(AppError::Unauthorized);
    };
    state.0.limiter.take(&user).map_err(AppError::RateLimited)?;
    state.audit(&user, LOGIN, None, &format!("{how}: ok"));
    Ok(Caller {
        subject,
        scope,
        api_root,
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        authenticate(
            state,
            &parts.headers,
            parts.extensions.get::<tls::CertOrg>(),
        )
        .await
    }
}

/// A request body read whole, with our error format for oversized or broken bodies.
pub struct Body(pub Bytes);

impl FromRequest<AppState> for Body {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let limit = state.0.settings.max_body;
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(Body(b)),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::TooLarge(limit))
            }
            Err(e) => Err(AppError::BadRequest(format!("cannot read the body: {e}"))),
        }
    }
}

/// A JSON body, parsed into `T` with the error (and its line and column) in our format.
pub struct Json<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !(ct.starts_with("application/json") || ct.contains("+json")) {
            return Err(AppError::UnsupportedMediaType(
                "the body must be application/json".into(),
            ));
        }
        let Body(bytes) = Body::from_request(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| AppError::BadRequest(format!("malformed JSON body: {e}")))
    }
}

async fn fallback(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let resp = AppError::NotFound.into_response();
    if uri.path().starts_with("/taxii2") {
        taxii::taxii_media_type(resp).await
    } else {
        resp
    }
}

async fn health() -> &'static str {
    "ok"
}

/// The whole application: `/health`, `/metrics`, `/taxii2/…` and `/api/v1/…`.
pub fn app(state: AppState) -> Router {
    let max_body = state.0.settings.max_body;
    let timeout = state.0.settings.timeout;
    let concurrency = state.0.settings.concurrency;
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics::render))
        .merge(taxii::router())
        .nest(
            "/api/v1",
            rest::router()
                .merge(tasks_api::router())
                .merge(feeds_api::router()),
        )
        .merge(ui::router())
        .fallback(fallback)
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    metrics::track,
                ))
                .layer(axum::error_handling::HandleErrorLayer::new(
                    |_: tower::BoxError| async {
                        AppError::Internal("request timed out or was refused".into())
                    },
                ))
                .timeout(timeout)
                .concurrency_limit(concurrency)
                .layer(DefaultBodyLimit::max(max_body)),
        )
        .with_state(state)
}

/// Serve the app on a bound listener until `shutdown` completes (then finish the
/// requests in flight).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Query parameters, with bad ones answered in our error format.
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| AppError::BadRequest(e.body_text()))
    }
}

/// Path parameters, with bad ones answered in our error format.
pub struct Path<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| AppError::BadRequest(e.body_text()))
    }
}
