//! Users' passwords (argon2id), API tokens (random, shown once, stored as SHA-256),
//! browser sessions and per-user rate limits.
//!
//! Passwords and tokens live in their own SQLite file (`auth.db` in the data
//! directory), apart from the knowledge store; who a user *is* (organization, unit,
//! clearance, compartments, roles) comes from the deployment configuration, handed
//! to the server as a [`Directory`].

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use liaison_policy::Subject;
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read routes only.
    Read,
    /// Read and write (add, delete, revoke, import).
    Write,
    /// Everything, administration included (the user must also hold the admin role).
    Admin,
}

impl Scope {
    /// Parse `read`, `write` or `admin`.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

/// Errors of the credential store.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The database failed.
    #[error("credential database: {0}")]
    Db(#[from] rusqlite::Error),
    /// Password hashing failed.
    #[error("password hashing: {0}")]
    Hash(String),
    /// No such user or token.
    #[error("{0}")]
    Unknown(String),
}

/// A token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Token id (to revoke it).
    pub id: String,
    /// The user it acts as.
    pub user: String,
    /// A name to recognise it by.
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// The only TAXII API root it may use, if restricted.
    pub api_root: Option<String>,
    /// When it was created (RFC 3339).
    pub created: String,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// An organization and its units, as the admin API lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgInfo {
    /// Organization id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Units: (id, name).
    pub units: Vec<UnitInfo>,
}

/// A unit of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitInfo {
    /// Unit id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// The users the server knows: name → subject (from the deployment configuration),
/// and the organizations they belong to.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    users: HashMap<String, Subject>,
    orgs: Vec<OrgInfo>,
}

impl Directory {
    /// A directory of these subjects (by their `name`).
    pub fn new(subjects: impl IntoIterator<Item = Subject>) -> Self {
        Directory {
            users: subjects.into_iter().map(|s| (s.name.clone(), s)).collect(),
            orgs: Vec::new(),
        }
    }

    /// The same directory, listing these organizations.
    pub fn with_orgs(mut self, orgs: Vec<OrgInfo>) -> Self {
        self.orgs = orgs;
        self
    }

    /// The organizations.
    pub fn orgs(&self) -> &[OrgInfo] {
        &self.orgs
    }

    /// The subject of a user.
    pub fn get(&self, name: &str) -> Option<&Subject> {
        self.users.get(name)
    }

    /// Every user, by name.
    pub fn all(&self) -> Vec<&Subject> {
        let mut v: Vec<&Subject> = self.users.values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS passwords(user TEXT PRIMARY KEY, phc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens(
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    api_root TEXT,
    created TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
-- Browser sessions by the SHA-256 of their cookie (the cookie itself is never stored).
CREATE TABLE IF NOT EXISTS sessions(
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    expires INTEGER NOT NULL
);
";

/// How long a verified password or token is trusted before it is checked again
/// (argon2id costs tens of milliseconds by design; a TAXII client sends the
/// password with every request). Revocations take effect within this time.
const CACHE_TTL: Duration = Duration::from_secs(10);

/// A verified credential: user, scope, API root, when verified.
type Verified = (String, Scope, Option<String>, Instant);

/// The credential store.
pub struct AuthDb {
    conn: Mutex<Connection>,
    // sha256(user, password) or sha256(token) → (user, scope, api root, verified at)
    cache: Mutex<HashMap<[u8; 32], Verified>>,
    session_ttl: Duration,
}

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn dummy_hash() -> Result<PasswordHash<'static>, AuthError> {
    static PHC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = PHC.get_or_init(|| {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(b"not a password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    });
    PasswordHash::new(phc).map_err(|e| AuthError::Hash(e.to_string()))
}

/// Failed password attempts per user name: after [`FailureGate::MAX`] failures within
/// a minute, further password attempts for that name are refused (429) until the
/// minute is over, bounding both guessing and the argon2 work an attacker can cause.
#[derive(Default)]
pub struct FailureGate {
    map: Mutex<HashMap<String, (u32, Instant)>>,
}

impl FailureGate {
    /// Failures allowed per user name and minute.
    pub const MAX: u32 = 10;

    /// Whether password attempts for `user` are refused for now.
    pub fn blocked(&self, user: &str) -> bool {
        let m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.get(user)
            .is_some_and(|(n, since)| *n >= Self::MAX && since.elapsed() < Duration::from_secs(60))
    }

    /// Count a failed attempt.
    pub fn record(&self, user: &str) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 100_000 {
            m.retain(|_, v| v.1.elapsed() < Duration::from_secs(60));
        }
        let e = m.entry(user.to_string()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= Duration::from_secs(60) {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }
}

/// Session lifetime.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

impl AuthDb {
    /// Open (or create) the credential store in a file.
    pub fn open(path: &Path) -> Result<Self, AuthError> {
        Self::with_conn(Connection::open(path)?)
    }

    /// A credential store in memory, for tests.
    pub fn open_in_memory() -> Result<Self, AuthError> {
        Self::with_conn(Connection::open_in_memory()?)
    }

    fn with_conn(conn: Connection) -> Result<Self, AuthError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch("PRAGMA journal_mode = WAL;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(AuthDb {
            conn: Mutex::new(conn),
            cache: Mutex::new(HashMap::new()),
            session_ttl: SESSION_TTL,
        })
    }

    /// The same store, with sessions lasting `ttl` instead of [`SESSION_TTL`].
    pub fn with_session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves nothing half-done in SQLite (each
        // statement is atomic), so a poisoned lock is safe to take over.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Set a user's password (argon2id, random salt).
    pub fn set_password(&self, user: &str, password: &str) -> Result<(), AuthError> {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let phc = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AuthError::Hash(e.to_string()))?
            .to_string();
        self.conn().execute(
            "INSERT INTO passwords(user, phc) VALUES (?1, ?2) ON CONFLICT(user) DO UPDATE SET phc = ?2",
            params![user, phc],
        )?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, v| v.0 != user);
        Ok(())
    }

    /// Check a user's password. Wrong user and wrong password are alike.
    pub fn verify_password(&self, user: &str, password: &str) -> Result<bool, AuthError> {
        let key = sha(&[b"pw", user.as_bytes(), password.as_bytes()]);
        if let Some(hit) = self.cached(&key) {
            return Ok(hit.0 == user);
        }
        let phc: Option<String> = self
            .conn()
            .query_row("SELECT phc FROM passwords WHERE user = ?1", [user], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(phc) = phc else {
            // Spend the same time as for a real user, so that timing does not tell
            // which user names exist.
            let _ = Argon2::default().verify_password(password.as_bytes(), &dummy_hash()?);
            return Ok(false);
        };
        let parsed = PasswordHash::new(&phc).map_err(|e| AuthError::Hash(e.to_string()))?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        if ok {
            self.remember(key, user.to_string(), Scope::Admin, None);
        }
        Ok(ok)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<(String, Scope, Option<String>)> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|v| v.3.elapsed() < CACHE_TTL)
            .map(|v| (v.0.clone(), v.1, v.2.clone()))
    }

    fn remember(&self, key: [u8; 32], user: String, scope: Scope, root: Option<String>) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 100_000 {
            cache.retain(|_, v| v.3.elapsed() < CACHE_TTL);
        }
        cache.insert(key, (user, scope, root, Instant::now()));
    }

    /// Create a token for a user; returns its id and the secret (shown once).
    pub fn create_token(
        &self,
        user: &str,
        name: &str,
        scope: Scope,
        api_root: Option<&str>,
    ) -> Result<(TokenInfo, String), AuthError> {
        let secret = random_secret("lsn_");
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let created = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        self.conn().execute(
            "INSERT INTO tokens(id, user, name, hash, scope, api_root, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, user, name, token_hash(&secret), scope.as_str(), api_root, created],
        )?;
        Ok((
            TokenInfo {
                id,
                user: user.into(),
                name: name.into(),
                scope,
                api_root: api_root.map(String::from),
                created,
                revoked: false,
            },
            secret,
        ))
    }

    /// Revoke a token by id (`user`: only that user's tokens, when given).
    pub fn revoke_token(&self, id: &str, user: Option<&str>) -> Result<(), AuthError> {
        let n = self.conn().execute(
            "UPDATE tokens SET revoked = 1 WHERE id = ?1 AND (?2 IS NULL OR user = ?2)",
            params![id, user],
        )?;
        if n == 0 {
            return Err(AuthError::Unknown(format!("no token with id {id}")));
        }
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(())
    }

    /// Tokens (of one user, when given).
    pub fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>, AuthError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, user, name, scope, api_root, created, revoked FROM tokens
             WHERE ?1 IS NULL OR user = ?1 ORDER BY created",
        )?;
        let rows = stmt.query_map([user], |r| {
            Ok(TokenInfo {
                id: r.get(0)?,
                user: r.get(1)?,
                name: r.get(2)?,
                scope: Scope::parse(&r.get::<_, String>(3)?).unwrap_or(Scope::Read),
                api_root: r.get(4)?,
                created: r.get(5)?,
                revoked: r.get::<_, i64>(6)? != 0,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The user, scope and API root of a live token.
    pub fn verify_token(
        &self,
        token: &str,
    ) -> Result<Option<(String, Scope, Option<String>)>, AuthError> {
        let key = sha(&[b"tok", token.as_bytes()]);
        if let Some(hit) = self.cached(&key) {
            return Ok(Some(hit));
        }
        let row: Option<(String, String, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT user, scope, api_root FROM tokens WHERE hash = ?1 AND revoked = 0",
                [token_hash(token)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.map(|(user, scope, root)| {
            let scope = Scope::parse(&scope).unwrap_or(Scope::Read);
            self.remember(key, user.clone(), scope, root.clone());
            (user, scope, root)
        }))
    }

    /// Start a browser session for a user; returns the cookie value. Sessions are kept
    /// (as the hash of the cookie) in the credential store, so they survive a restart.
    pub fn open_session(&self, user: &str) -> Result<String, AuthError> {
        let secret = random_secret("");
        let now = chrono::Utc::now().timestamp_millis();
        let conn = self.conn();
        conn.prepare_cached("DELETE FROM sessions WHERE expires <= ?1")?
            .execute([now])?;
        conn.prepare_cached("INSERT INTO sessions(hash, user, expires) VALUES (?1, ?2, ?3)")?
            .execute(params![
                session_hash(&secret),
                user,
                now.saturating_add(self.session_ttl.as_millis() as i64)
            ])?;
        Ok(secret)
    }

    /// [`AuthDb::open_session`] for callers without an error path: when the credential
    /// store fails, the error is logged and the cookie returned opens nothing.
    pub fn start_session(&self, user: &str) -> String {
        self.open_session(user).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot record a session");
            random_secret("")
        })
    }

    /// The user of a live (recorded, unexpired) session.
    pub fn session_user(&self, cookie: &str) -> Option<String> {
        let now = chrono::Utc::now().timestamp_millis();
        let found = self
            .conn()
            .prepare_cached("SELECT user FROM sessions WHERE hash = ?1 AND expires > ?2")
            .and_then(|mut st| {
                st.query_row(params![session_hash(cookie), now], |r| r.get(0))
                    .optional()
            });
        found.unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read sessions");
            None
        })
    }

    /// End a session (logout): its cookie opens nothing from now on.
    pub fn end_session(&self, cookie: &str) {
        if let Err(e) = self.conn().execute(
            "DELETE FROM sessions WHERE hash = ?1",
            [session_hash(cookie)],
        ) {
            tracing::error!(error = %e, "cannot end a session");
        }
    }
}

fn session_hash(cookie: &str) -> String {
    hex::encode(sha(&[b"session", cookie.as_bytes()]))
}

/// A token bucket per user: `rate` requests a second, bursts of `burst`.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter; `rate` 0 disables it.
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one request from the user's bucket; false when empty.
    pub fn allow(&self, user: &str) -> bool {
        self.take(user).is_ok()
    }

    /// Take one request from the user's bucket; when it is empty, the whole seconds
    /// until it holds a request again (for the `Retry-After` header).
    pub fn take(&self, user: &str) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let entry = b.entry(user.to_string()).or_insert((self.burst, now));
        let refill = now.duration_since(entry.1).as_secs_f64() * self.rate;
        entry.0 = (entry.0 + refill).min(self.burst);
        entry.1 = now;
        if entry.0 >= 1.0 {
            entry.0 -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - entry.0) / self.rate).ceil().max(1.0) as u64)
        }
    }
}
