//! Feed operations: [`Feeds`], what `liaison feed …` and the REST API under
//! `/api/v1/feeds` share (define, list, show with status, pause, resume, run now,
//! remove), and those REST routes.
//!
//! Every read goes through the store's label-filtered feed reads: a feed the caller
//! may not read is answered exactly as an absent one (the CLI's "no feed named …",
//! REST's 404), and defining a name that exists only under a label the caller cannot
//! read stores the caller's own feed with the answer a fresh name gets (the store
//! polyinstantiates feed names, ARCHITECTURE invariant 4). Changes take the right to
//! write at the feed's label (the analyst or admin role); a feed that runs as another
//! user is an administrator's to define.

use crate::feeds::{claim, client, is_due, run_feed};
use crate::{blocking, AppError, AppState, Caller, Path, Scope};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use liaison_collect::state::{FeedState, RunOutcome};
use liaison_collect::{FeedConfig, Format, Reliability, Schedule, ValueKind};
use liaison_policy::{check_write, Role, Subject};
use liaison_protect::audit::action::{READ, WRITE};
use liaison_store::{FeedPut, FeedRecord, FeedWrite, SqliteStore, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The longest interval a schedule may have: longer ones overflow time arithmetic
/// and are no schedule anyone means.
const MAX_INTERVAL_SECS: u64 = 3650 * 86400;

/// A feed definition as a user gives it (CLI flags, a REST body). Field names are
/// the CLI's flag names, so an error names the same field in both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSpec {
    /// Name: lower-case letters, digits, '.', '_' and '-'.
    pub name: String,
    /// `http(s)://` URL, or (CLI only) an absolute local file or directory path.
    pub url: String,
    /// news, csv, list, misp, taxii or eve.
    pub format: String,
    /// Interval (30s, 15m, 6h, 1d) or `cron:MIN HOUR DOM MON DOW`; default 1h.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Label banner; default `UNCLASSIFIED//REL TO ALL`.
    #[serde(default)]
    pub label: Option<String>,
    /// Admiralty grade A to F; default F.
    #[serde(default)]
    pub reliability: Option<String>,
    /// Define it paused.
    #[serde(default)]
    pub paused: bool,
    /// Local file: read only what was appended since the last run.
    #[serde(default)]
    pub follow: bool,
    /// CSV: field delimiter (default `,`).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// CSV and list: comment character (default `#`).
    #[serde(default)]
    pub comment: Option<char>,
    /// CSV: the first line names the columns.
    #[serde(default)]
    pub header: bool,
    /// CSV: column of the value (header name or 1-based number); default 1.
    #[serde(default)]
    pub value_column: Option<String>,
    /// CSV: column of the value's type.
    #[serde(default)]
    pub type_column: Option<String>,
    /// CSV and list: one type for every value (ip, ipv6, domain, url, email, md5, sha1, sha256).
    #[serde(default)]
    pub kind: Option<String>,
    /// CSV: columns whose text becomes STIX labels.
    #[serde(default)]
    pub labels_column: Vec<String>,
    /// CSV: column of a description.
    #[serde(default)]
    pub description_column: Option<String>,
    /// CSV: column of the first-seen time.
    #[serde(default)]
    pub first_seen_column: Option<String>,
    /// Text encoding (a WHATWG label).
    #[serde(default)]
    pub encoding: Option<String>,
    /// Largest body accepted, in MiB (default 256).
    #[serde(default)]
    pub max_mib: Option<u64>,
    /// TAXII: the `Authorization` value, or a bare token (sent as `Bearer`). Never shown.
    #[serde(default)]
    pub auth: Option<String>,
    /// News: a watchlist file on the server (CLI only).
    #[serde(default)]
    pub watchlist: Option<String>,
    /// The user the feed runs as (default: the caller; another user: administrators).
    #[serde(default)]
    pub user: Option<String>,
}

/// Why a feed operation was refused. Nothing changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// Absent, or not readable by the caller (the two are alike).
    #[error("no feed named '{0}'")]
    NotFound(String),
    /// A field of the definition is wrong: which, and what was expected.
    #[error("{field}: {message}")]
    Invalid {
        /// The field ([`FeedSpec`]'s name: the CLI flag, the REST body member).
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A feed of that name is already the caller's to see (create only).
    #[error("a feed named '{0}' exists; remove it first, or change it")]
    Exists(String),
    /// A run of the feed is under way.
    #[error("feed '{0}' is running now; try again when the run has finished")]
    Running(String),
    /// The caller may not do this.
    #[error("not permitted: {0}")]
    Denied(String),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &str, message: impl Into<String>) -> FeedError {
    FeedError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

impl From<FeedError> for AppError {
    fn from(e: FeedError) -> Self {
        match e {
            FeedError::NotFound(_) => AppError::NotFound,
            FeedError::Invalid { field, message } => {
                AppError::Unprocessable(format!("$.{field}: {message}"))
            }
            // Answered 409 by the routes (see `answer`); here only as a fallback.
            FeedError::Exists(_) | FeedError::Running(_) => AppError::Unprocessable(e.to_string()),
            FeedError::Denied(m) | FeedError::Store(StoreError::Denied(m)) => {
                AppError::Forbidden(m)
            }
            FeedError::Store(s) => AppError::from(s),
        }
    }
}

/// A feed as the caller sees it: definition (without the TAXII credential), label,
/// health and state.
#[derive(Debug, Clone, Serialize)]
pub struct FeedView {
    /// The name.
    pub name: String,
    /// URL or path.
    pub url: Option<String>,
    /// Format name.
    pub format: Option<&'static str>,
    /// Schedule (`1h`, `cron:…`).
    pub schedule: Option<String>,
    /// The label as a banner.
    pub label: String,
    /// Source reliability grade.
    pub reliability: Option<&'static str>,
    /// Paused feeds are not run by the scheduler.
    pub paused: bool,
    /// The user it runs as.
    pub user: String,
    /// `ok`, `failing`, `paused` or `never run`.
    pub health: &'static str,
    /// Whether the scheduler would run it now.
    pub due: bool,
    /// Why the scheduler will not run it (its user left the directory or may not
    /// write at its label), if so.
    pub blocked: Option<String>,
    /// The definition, the credential replaced by `(set)`.
    pub definition: Value,
    /// The state: last run and success, next run, failures and last error, counts,
    /// cursor, warnings.
    pub state: Value,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The feed.
    pub feed: String,
    /// Whether the run succeeded (a failure is in `error` and in the feed's state).
    pub ok: bool,
    /// Wall time of the run.
    pub seconds: f64,
    /// Counts (on success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RunOutcome>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Items skipped, and why (the first few).
    pub warnings: Vec<String>,
}

/// The definition without the TAXII credential.
pub fn public_config(config: &Value) -> Value {
    let mut v = config.clone();
    if let Some(m) = v.as_object_mut() {
        if m.contains_key("auth") {
            m.insert("auth".into(), json!("(set)"));
        }
    }
    v
}

/// `ok`, `failing`, `paused` or `never run`.
pub fn health(config: &Value, state: &Value) -> &'static str {
    let paused = config
        .get("paused")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if paused {
        "paused"
    } else if state.get("failures").and_then(Value::as_u64).unwrap_or(0) > 0 {
        "failing"
    } else if state.get("last_success").is_some_and(|v| !v.is_null()) {
        "ok"
    } else {
        "never run"
    }
}

/// Feed operations of one subject over a store.
pub struct Feeds<'a> {
    /// The store.
    pub store: &'a SqliteStore,
    /// Who acts.
    pub subject: &'a Subject,
    /// Looks a user up by name (the CLI's configuration, the server's directory).
    pub users: &'a dyn Fn(&str) -> Option<Subject>,
    /// Whether definitions may name local files and watchlists (the CLI on the
    /// store's host; not the REST API, whose callers must not read the server's files).
    pub local_files: bool,
}

impl Feeds<'_> {
    fn config_of(rec: &FeedRecord) -> Option<FeedConfig> {
        serde_json::from_value(rec.config.clone()).ok()
    }

    /// The view of a stored feed.
    pub fn view(&self, rec: &FeedRecord) -> FeedView {
        let c = Self::config_of(rec);
        let blocked = match (self.users)(&rec.user) {
            None => Some(format!("user '{}' is not in the directory", rec.user)),
            Some(u) => check_write(&u, &rec.label)
                .err()
                .map(|e| format!("user '{}' may not write at the feed's label: {e}", rec.user)),
        };
        FeedView {
            name: rec.name.clone(),
            url: c.as_ref().map(|c| c.url.clone()),
            format: c.as_ref().map(|c| c.format.as_str()),
            schedule: c.as_ref().map(|c| c.schedule.to_string()),
            label: self.store.policy().banner(&rec.label),
            reliability: c.as_ref().map(|c| c.reliability.as_str()),
            paused: c.as_ref().is_some_and(|c| c.paused),
            user: rec.user.clone(),
            health: health(&rec.config, &rec.state),
            due: blocked.is_none() && is_due(rec, chrono::Utc::now()),
            blocked,
            definition: public_config(&rec.config),
            state: rec.state.clone(),
        }
    }

    /// The feed the caller sees under `name`.
    pub fn record(&self, name: &str) -> Result<FeedRecord, FeedError> {
        self.store
            .feed(self.subject, name)?
            .ok_or_else(|| FeedError::NotFound(name.to_string()))
    }

    /// The feeds the caller may read, by name.
    pub fn list(&self) -> Result<Vec<FeedView>, FeedError> {
        Ok(self
            .store
            .feeds(self.subject)?
            .iter()
            .map(|r| self.view(r))
            .collect())
    }

    /// One feed with its status.
    pub fn show(&self, name: &str) -> Result<FeedView, FeedError> {
        Ok(self.view(&self.record(name)?))
    }

    /// Check a definition and turn it into the stored configuration, its label and
    /// its user.
    pub fn config(
        &self,
        spec: &FeedSpec,
    ) -> Result<(FeedConfig, liaison_policy::Label, String), FeedError> {
        let format = Format::parse(&spec.format).ok_or_else(|| {
            invalid(
                "format",
                format!(
                    "'{}': expected news, csv, list, misp, taxii or eve",
                    spec.format
                ),
            )
        })?;
        let url = spec.url.trim();
        let remote = url.starts_with("http://") || url.starts_with("https://");
        if remote {
            let u =
                reqwest::Url::parse(url).map_err(|e| invalid("url", format!("'{url}': {e}")))?;
            if u.host_str().is_none_or(str::is_empty) {
                return Err(invalid("url", format!("'{url}': no host")));
            }
        } else if !self.local_files {
            return Err(invalid(
                "url",
                format!("'{url}': expected an http:// or https:// URL (local files are defined with the CLI on the server)"),
            ));
        } else if !std::path::Path::new(url).is_absolute() {
            return Err(invalid(
                "url",
                format!("'{url}': expected an http(s) URL or an absolute path"),
            ));
        }
        let mut f = FeedConfig::new(&spec.name, url, format);
        let schedule = spec.schedule.as_deref().unwrap_or("1h");
        // Schedule::parse multiplies without overflow checks: keep intervals short first.
        let digits = schedule
            .trim()
            .trim_start_matches("every")
            .trim()
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if !schedule.trim().starts_with("cron:") && digits > 9 {
            return Err(invalid(
                "schedule",
                format!("'{schedule}': at most 3650d between runs"),
            ));
        }
        f.schedule = Schedule::parse(schedule).map_err(|e| invalid("schedule", e.message()))?;
        if let Schedule::Every(s) = f.schedule {
            if s > MAX_INTERVAL_SECS {
                return Err(invalid(
                    "schedule",
                    format!("'{schedule}': at most 3650d between runs"),
                ));
            }
        }
        let rel = spec.reliability.as_deref().unwrap_or("F");
        f.reliability = Reliability::parse(rel)
            .ok_or_else(|| invalid("reliability", format!("'{rel}': expected A to F")))?;
        let banner = spec
            .label
            .clone()
            .unwrap_or_else(|| "UNCLASSIFIED//REL TO ALL".into());
        let label = self
            .store
            .policy()
            .parse_banner(&banner, &self.subject.org)
            .map_err(|e| invalid("label", format!("'{banner}': {e}")))?;
        // The caller writes the definition at that label; the feed's user its items.
        check_write(self.subject, &label).map_err(|e| FeedError::Denied(e.to_string()))?;
        f.label = banner;
        f.paused = spec.paused;
        f.follow = spec.follow;
        if let Some(m) = spec.max_mib {
            if m == 0 || m > 1 << 20 {
                return Err(invalid(
                    "max_mib",
                    format!("{m}: expected 1 to {}", 1u64 << 20),
                ));
            }
            f.max_bytes = m << 20;
        }
        if let Some(d) = spec.delimiter {
            f.csv.delimiter = d;
        }
        if let Some(c) = spec.comment {
            f.csv.comment = Some(c);
        }
        f.csv.header = spec.header;
        if let Some(v) = &spec.value_column {
            f.csv.value = v.clone();
        }
        f.csv.r#type = spec.type_column.clone();
        f.csv.kind = spec
            .kind
            .as_deref()
            .map(|k| {
                ValueKind::parse(k).ok_or_else(|| {
                    invalid(
                        "kind",
                        format!(
                            "'{k}': expected ip, ipv6, domain, url, email, md5, sha1 or sha256"
                        ),
                    )
                })
            })
            .transpose()?;
        f.csv.labels = spec.labels_column.clone();
        f.csv.description = spec.description_column.clone();
        f.csv.first_seen = spec.first_seen_column.clone();
        f.csv.encoding = spec.encoding.clone();
        if let Some(tok) = &spec.auth {
            // A full header value (`Basic …`, `Bearer …`) is taken as is; a bare token
            // is a bearer token.
            f.auth = Some(if tok.starts_with("Basic ") || tok.starts_with("Bearer ") {
                tok.clone()
            } else {
                format!("Bearer {tok}")
            });
        }
        if let Some(w) = &spec.watchlist {
            if !self.local_files {
                return Err(invalid(
                    "watchlist",
                    "a file on the server: define news feeds with a watchlist with the CLI",
                ));
            }
            f.watchlist = Some(w.clone());
        }
        f.check().map_err(|e| {
            let field = match e.at() {
                "csv.delimiter" => "delimiter",
                "csv.value" => "value_column",
                "csv.type" => "type_column",
                "csv.labels" => "labels_column",
                "csv.description" => "description_column",
                "csv.first_seen" => "first_seen_column",
                other => other,
            };
            invalid(field, e.message())
        })?;
        let user = spec
            .user
            .clone()
            .unwrap_or_else(|| self.subject.name.clone());
        if user != self.subject.name && !self.subject.roles.contains(&Role::Admin) {
            return Err(FeedError::Denied(
                "a feed that runs as another user is an administrator's to define".into(),
            ));
        }
        let runner = (self.users)(&user)
            .ok_or_else(|| invalid("user", format!("'{user}': no such user")))?;
        check_write(&runner, &label).map_err(|e| {
            invalid(
                "user",
                format!("'{user}' may not write at label '{}': {e}", f.label),
            )
        })?;
        Ok((f, label, user))
    }

    /// Define a feed (`how`: create only, or create or redefine; a redefinition keeps
    /// the state). Returns the feed and whether it is new.
    pub fn define(&self, spec: &FeedSpec, how: FeedWrite) -> Result<(FeedView, bool), FeedError> {
        let (f, label, user) = self.config(spec)?;
        let value = serde_json::to_value(&f).map_err(|e| invalid("$", e.to_string()))?;
        let done = self
            .store
            .put_feed(self.subject, &f.name, &value, &label, &user, how)?;
        match done {
            FeedPut::Exists => Err(FeedError::Exists(f.name)),
            FeedPut::Absent => Err(FeedError::NotFound(f.name)),
            FeedPut::Created | FeedPut::Replaced => {
                Ok((self.show(&f.name)?, done == FeedPut::Created))
            }
        }
    }

    /// Pause or resume a feed.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<FeedView, FeedError> {
        let rec = self.record(name)?;
        let mut config = rec.config.clone();
        if let Some(m) = config.as_object_mut() {
            m.insert("paused".into(), Value::Bool(paused));
        }
        match self.store.put_feed(
            self.subject,
            name,
            &config,
            &rec.label,
            &rec.user,
            FeedWrite::Replace,
        )? {
            FeedPut::Absent => Err(FeedError::NotFound(name.to_string())),
            _ => self.show(name),
        }
    }

    /// Remove a feed (what it collected stays).
    pub fn remove(&self, name: &str) -> Result<(), FeedError> {
        if self.store.delete_feed(self.subject, name)? {
            Ok(())
        } else {
            Err(FeedError::NotFound(name.to_string()))
        }
    }

    /// Claim a feed for a run now, whatever its schedule or pause: the caller must
    /// be allowed to write at its label (a run writes there), its user must be in
    /// the directory, and no run of it may be under way.
    pub fn start(&self, name: &str) -> Result<StartedRun, FeedError> {
        let rec = self.record(name)?;
        check_write(self.subject, &rec.label).map_err(|e| FeedError::Denied(e.to_string()))?;
        let runner = (self.users)(&rec.user).ok_or_else(|| {
            invalid(
                "user",
                format!("'{}': the feed's user is not in the directory", rec.user),
            )
        })?;
        let claimed = claim(&rec).ok_or_else(|| FeedError::Running(name.to_string()))?;
        Ok(StartedRun {
            rec,
            runner,
            _claimed: claimed,
        })
    }

    /// Run a feed now (see [`Feeds::start`]) and wait for the outcome, also recorded
    /// in its state. Blocking: `rt` runs the HTTP fetches.
    pub fn run(
        &self,
        name: &str,
        http: &reqwest::Client,
        rt: &tokio::runtime::Handle,
    ) -> Result<RunReport, FeedError> {
        Ok(self.start(name)?.run(self.store, http, rt))
    }
}

/// A feed claimed for a run ([`Feeds::start`]); the claim ends with it.
#[derive(Debug)]
pub struct StartedRun {
    rec: FeedRecord,
    runner: Subject,
    _claimed: crate::feeds::RunClaim,
}

impl StartedRun {
    /// The feed's name.
    pub fn name(&self) -> &str {
        &self.rec.name
    }

    /// Run it as its user. Blocking: `rt` runs the HTTP fetches.
    pub fn run(
        self,
        store: &SqliteStore,
        http: &reqwest::Client,
        rt: &tokio::runtime::Handle,
    ) -> RunReport {
        let started = std::time::Instant::now();
        let res = run_feed(store, &self.runner, &self.rec, http, rt);
        let seconds = started.elapsed().as_secs_f64();
        let feed = self.rec.name.clone();
        match res {
            Ok(out) => RunReport {
                feed,
                ok: true,
                seconds,
                outcome: Some(out),
                error: None,
                // The skip reasons the run kept in the state it just wrote.
                warnings: store
                    .feed(&self.runner, &self.rec.name)
                    .ok()
                    .flatten()
                    .filter(|r| r.instance == self.rec.instance)
                    .and_then(|r| serde_json::from_value::<FeedState>(r.state).ok())
                    .map(|s| s.warnings)
                    .unwrap_or_default(),
            },
            Err(e) => RunReport {
                feed,
                ok: false,
                seconds,
                outcome: None,
                error: Some(e.0),
                warnings: Vec::new(),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------
// REST routes.

/// The routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/feeds", get(list).post(create))
        .route("/feeds/{name}", get(show).delete(remove))
        .route("/feeds/{name}/pause", post(pause))
        .route("/feeds/{name}/resume", post(resume))
        .route("/feeds/{name}/run", post(run_now))
}

use crate::rest::{json_response, rest_caller as allow};

/// The audit record's object for a feed.
fn audit_object(name: &str) -> String {
    format!("feed:{name}")
}

/// Run `f` with the feed operations of `subject`, off the async threads.
async fn with_feeds<T: Send + 'static>(
    state: &AppState,
    subject: Subject,
    f: impl FnOnce(&Feeds<'_>) -> Result<T, FeedError> + Send + 'static,
) -> Result<Result<T, FeedError>, AppError> {
    let st = state.clone();
    blocking(move || {
        let users = |n: &str| st.0.users.get(n).cloned();
        let ops = Feeds {
            store: &st.0.store,
            subject: &subject,
            users: &users,
            local_files: false,
        };
        Ok(f(&ops))
    })
    .await
}

/// The answer to a refused feed operation: 409 for a name the caller already has
/// or a feed already running (in the error format of every route), else as
/// [`AppError`] answers.
fn answer(e: FeedError) -> Response {
    match e {
        FeedError::Exists(_) | FeedError::Running(_) => {
            let status = StatusCode::CONFLICT;
            json_response(
                status,
                &json!({
                    "title": "Conflict",
                    "description": e.to_string(),
                    "http_status": status.as_u16().to_string(),
                }),
            )
        }
        other => AppError::from(other).into_response(),
    }
}

fn view_json(v: &FeedView) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    allow(&caller, Scope::Read)?;
    let user = caller.subject.name.clone();
    let all = match with_feeds(&state, caller.subject, |f| f.list()).await? {
        Ok(a) => a,
        Err(e) => return Ok(answer(e)),
    };
    state.audit(
        &user,
        READ,
        None,
        &format!("GET feeds [{} feeds]", all.len()),
    );
    let v: Vec<Value> = all.iter().map(view_json).collect();
    Ok(json_response(StatusCode::OK, &json!({ "feeds": v })))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Read)?;
    let user = caller.subject.name.clone();
    let asked = name.clone();
    let found = with_feeds(&state, caller.subject, move |f| f.show(&name)).await?;
    // Absent and unreadable are one outcome here, as in the answer.
    let outcome = if found.is_ok() { "ok" } else { "not found" };
    state.audit(
        &user,
        READ,
        Some(&audit_object(&asked)),
        &format!("GET feed: {outcome}"),
    );
    Ok(match found {
        Ok(v) => json_response(StatusCode::OK, &view_json(&v)),
        Err(e) => answer(e),
    })
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    crate::Json(spec): crate::Json<FeedSpec>,
) -> Result<Response, AppError> {
    allow(&caller, Scope::Write)?;
    let user = caller.subject.name.clone();
    let name = spec.name.clone();
    let res = with_feeds(&state, caller.subject, move |f| {
        f.define(&spec, FeedWrite::Create)
    })
    .await?;
    let outcome = match &res {
        Ok(_) => "created".to_string(),
        Err(e) => format!("refused: {e}"),
    };
    state.audit(
        &user,
        WRITE,
        Some(&audit_object(&name)),
        &format!("POST feeds: {outcome}"),
    );
    Ok(match res {
        Ok((v, _)) => json_response(StatusCode::CREATED, &view_json(&v)),
        Err(e) => answer(e),
    })
}

/// A write to one named feed, audited whatever its outcome.
async fn feed_write<T: Send + 'static>(
    state: &AppState,
    caller: Caller,
    name: String,
    what: &str,
    f: impl FnOnce(&Feeds<'_>, &str) -> Result<T, FeedError> + Send + 'static,
) -> Result<Result<T, FeedError>, AppError> {
    allow(&caller, Scope::Write)?;
    let user = caller.subject.name.clone();
    let asked = name.clone();
    let res = with_feeds(state, caller.subject, move |ops| f(ops, &name)).await?;
    let outcome = match &res {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("refused: {e}"),
    };
    state.audit(
        &user,
        WRITE,
        Some(&audit_object(&asked)),
        &format!("{what}: {outcome}"),
    );
    Ok(res)
}

async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let v = feed_write(&state, caller, name, "pause feed", |f, n| {
        f.set_paused(n, true)
    })
    .await?;
    Ok(match v {
        Ok(v) => json_response(StatusCode::OK, &view_json(&v)),
        Err(e) => answer(e),
    })
}

async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let v = feed_write(&state, caller, name, "resume feed", |f, n| {
        f.set_paused(n, false)
    })
    .await?;
    Ok(match v {
        Ok(v) => json_response(StatusCode::OK, &view_json(&v)),
        Err(e) => answer(e),
    })
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    Ok(
        match feed_write(&state, caller, name, "delete feed", |f, n| f.remove(n)).await? {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => answer(e),
        },
    )
}

/// Start a run and answer at once (202): a run may take longer than a request may
/// (a million-line feed), and its outcome lands in the feed's state either way.
async fn run_now(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let started = feed_write(&state, caller, name, "run feed", |f, n| f.start(n)).await?;
    let run = match started {
        Ok(r) => r,
        Err(e) => return Ok(answer(e)),
    };
    let feed = run.name().to_string();
    let http = client().map_err(|e| AppError::Internal(e.to_string()))?;
    let rt = tokio::runtime::Handle::current();
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let r = run.run(&st.0.store, &http, &rt);
        if r.ok {
            tracing::info!(feed = %r.feed, "feed run (asked over REST)");
        } else {
            tracing::warn!(feed = %r.feed, error = r.error.as_deref().unwrap_or(""), "feed run failed (asked over REST)");
        }
    });
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({"feed": feed, "started": true}),
    ))
}

// ---------------------------------------------------------------------------------------
// OpenAPI.

fn doc_err(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn doc_ok(desc: &str, schema: Value) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": schema}}})
}

/// The answers every route may give, beside its own.
fn doc_common(mut responses: Value) -> Value {
    for (code, d) in [
        ("400", "Malformed request"),
        ("401", "Missing or wrong credentials"),
        (
            "403",
            "Not permitted (the credential's scope, or no right to write at the feed's label)",
        ),
        ("429", "Rate limit exceeded"),
    ] {
        responses[code] = doc_err(d);
    }
    responses
}

/// `/feeds…` for the OpenAPI document.
pub(crate) fn openapi_paths() -> Value {
    let view = json!({"$ref": "#/components/schemas/Feed"});
    let hidden = doc_err("Absent, or not readable by the caller (answered alike)");
    let name = json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "description": "A feed name", "example": "abuse-ips"});
    let action = |summary: &str| {
        json!({"post": {
            "summary": summary,
            "parameters": [name.clone()],
            "responses": doc_common(json!({"200": doc_ok("The feed", view.clone()), "404": hidden.clone()}))
        }})
    };
    json!({
        "/feeds": {
            "get": {
                "summary": "The feeds the caller may read (by their label), by name, with their status",
                "responses": doc_common(json!({"200": doc_ok("Feeds", json!({"type": "object", "properties": {"feeds": {"type": "array", "items": view.clone()}}}))}))
            },
            "post": {
                "summary": "Define a feed (http or https URL). A name the caller cannot see is free to it, whoever else holds it under a label the caller may not read",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FeedSpec"}}}},
                "responses": doc_common(json!({
                    "201": doc_ok("The feed", view.clone()),
                    "409": doc_err("The caller already has a feed of that name"),
                    "413": doc_err("Body too large"),
                    "415": doc_err("Not JSON"),
                    "422": doc_err("A field is wrong (URL, schedule, format, label, reliability, kind, CSV columns, user): the message names it")
                }))
            }
        },
        "/feeds/{name}": {
            "get": {
                "summary": "A feed with its status: health, last run and success, next run, failures and last error, counts, cursor",
                "parameters": [name.clone()],
                "responses": doc_common(json!({"200": doc_ok("The feed", view.clone()), "404": hidden.clone()}))
            },
            "delete": {
                "summary": "Remove a feed (what it collected stays)",
                "parameters": [name.clone()],
                "responses": doc_common(json!({"204": {"description": "Removed"}, "404": hidden.clone()}))
            }
        },
        "/feeds/{name}/pause": action("Pause a feed: the scheduler skips it until resumed"),
        "/feeds/{name}/resume": action("Resume a paused feed"),
        "/feeds/{name}/run": {"post": {
            "summary": "Run a feed now, whatever its schedule or pause, as its user; answered at once, the outcome lands in its status",
            "parameters": [name.clone()],
            "responses": doc_common(json!({
                "202": doc_ok("Started", json!({"type": "object", "properties": {"feed": {"type": "string"}, "started": {"type": "boolean"}}})),
                "404": hidden.clone(),
                "409": doc_err("A run of the feed is under way"),
                "422": doc_err("The feed's user is not in the directory")
            }))
        }}
    })
}

/// The schemas `/feeds…` uses.
pub(crate) fn openapi_schemas() -> Value {
    let s = json!({"type": "string"});
    let ch = json!({"type": "string", "minLength": 1, "maxLength": 1});
    json!({
        "FeedSpec": {"type": "object", "additionalProperties": false, "required": ["name", "url", "format"],
            "example": {"name": "abuse-ips", "url": "https://feeds.example/ips.txt", "format": "list", "schedule": "1h", "reliability": "B"},
            "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9._-]+$", "description": "Lower-case letters, digits, '.', '_' and '-'"},
            "url": {"type": "string", "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/.*)?$", "description": "http:// or https:// URL"},
            "format": {"type": "string", "enum": ["news", "csv", "list", "misp", "taxii", "eve"]},
            "schedule": {"type": "string", "description": "Interval (30s, 15m, 6h, 1d) or cron:MIN HOUR DOM MON DOW; default 1h"},
            "label": {"type": "string", "description": "Label banner of the feed and what it collects; default UNCLASSIFIED//REL TO ALL"},
            "reliability": {"type": "string", "enum": ["A", "B", "C", "D", "E", "F"]},
            "paused": {"type": "boolean"},
            "follow": {"type": "boolean"},
            "delimiter": ch.clone(), "comment": ch,
            "header": {"type": "boolean"},
            "value_column": s.clone(), "type_column": s.clone(),
            "kind": {"type": "string", "enum": ["ip", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256"]},
            "labels_column": {"type": "array", "items": s.clone()},
            "description_column": s.clone(), "first_seen_column": s.clone(),
            "encoding": s.clone(),
            "max_mib": {"type": "integer", "minimum": 1, "maximum": 1_048_576},
            "auth": {"type": "string", "description": "TAXII: Authorization value or bare bearer token; never shown"},
            "user": {"type": "string", "description": "The user it runs as (another than the caller: administrators)"}}},
        "Feed": {"type": "object", "required": ["name", "label", "paused", "user", "health", "due", "definition", "state"], "properties": {
            "name": s.clone(), "url": {"type": "string", "nullable": true}, "format": {"type": "string", "nullable": true},
            "schedule": {"type": "string", "nullable": true}, "label": s.clone(),
            "reliability": {"type": "string", "nullable": true}, "paused": {"type": "boolean"}, "user": s.clone(),
            "health": {"type": "string", "enum": ["ok", "failing", "paused", "never run"]},
            "due": {"type": "boolean"},
            "blocked": {"type": "string", "nullable": true, "description": "Why the scheduler will not run it"},
            "definition": {"type": "object"},
            "state": {"type": "object", "description": "last_run, last_success, next_run, failures, last_error, runs, items, stored, rejected, last_items, cursor, warnings"}}}
    })
}
