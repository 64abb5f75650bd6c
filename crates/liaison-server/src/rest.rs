//! The REST API under `/api/v1`: objects, search, graph, streamed import and export,
//! sessions, tokens, users and organizations, collections; its OpenAPI document.

use crate::{blocking, AppError, AppState, Caller, Json, Path, Query, Scope, SESSION_COOKIE};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use futures_util::StreamExt;
use liaison_protect::audit::action::{EXPORT, LOGIN, PERMISSION, READ, SEARCH, WRITE};
use liaison_stix::{BundleReader, ErrorKind, StixObject};
use liaison_store::{
    Collection, ExportFilter, ImportOptions, Prepared, Rejection, SearchQuery, Store, StoredObject,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(crate::openapi::document))
        .route("/session", post(login).delete(logout))
        .route("/objects", post(create))
        .route("/objects/{id}", get(get_object))
        .route("/objects/{id}/versions", get(versions).post(new_version))
        .route("/objects/{id}/revoke", post(revoke))
        .route("/search", get(search))
        .route("/graph/{id}", get(graph))
        .route("/import", post(import))
        .route("/export", get(export))
        .route("/stats", get(stats))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/users", get(users))
        .route("/orgs", get(orgs))
        .route("/collections/{id}", put(put_collection))
}

/// A JSON body with its content type (every `/api/v1` route answers this way).
pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A REST caller must hold a root-scoped credential with `scope`.
pub(crate) fn rest_caller(c: &Caller, scope: Scope) -> Result<(), AppError> {
    c.require_root(None)?;
    c.require(scope)
}

fn stored_json(state: &AppState, s: &StoredObject) -> Value {
    json!({
        "object": s.object.to_value(),
        "label": state.0.store.policy().banner(&s.label),
        "latest": s.latest,
        "added": liaison_stix::Timestamp::from_millis(s.added_ms).to_string(),
    })
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    Json(b): Json<LoginBody>,
) -> Result<Response, AppError> {
    let st = state.clone();
    let user = b.username.clone();
    let ok = blocking(move || {
        if st.0.failures.blocked(&b.username) {
            st.audit(
                &b.username,
                LOGIN,
                None,
                "session login: refused (too many failures)",
            );
            return Err(AppError::TooManyRequests);
        }
        let known = st.0.users.get(&b.username).is_some();
        let ok =
            st.0.auth
                .verify_password(&b.username, &b.password)
                .map_err(|e| AppError::Internal(e.to_string()))?
                && known;
        if !ok {
            st.0.failures.record(&b.username);
        }
        st.audit(
            &b.username,
            LOGIN,
            None,
            if ok {
                "session login: ok"
            } else {
                "session login: refused"
            },
        );
        Ok(ok)
    })
    .await?;
    if !ok {
        return Err(AppError::Unauthorized);
    }
    let st = state.clone();
    let cookie = blocking(move || {
        st.0.auth
            .open_session(&user)
            .map_err(|e| AppError::Internal(e.to_string()))
    })
    .await?;
    let secure = if state.0.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let mut r = StatusCode::NO_CONTENT.into_response();
    let v = format!(
        "{SESSION_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        crate::auth::SESSION_TTL.as_secs()
    );
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&v).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    Ok(r)
}

async fn logout(State(state): State<AppState>, c: Caller, headers: HeaderMap) -> Response {
    if let Some(cookie) = crate::session_cookie(&headers) {
        state.0.auth.end_session(&cookie);
        state.audit(&c.subject.name, LOGIN, None, "logout");
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("liaison_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

/// Objects from a JSON body: a bundle, a list or one object.
fn objects_of(v: Value) -> Result<Vec<Value>, AppError> {
    match v {
        Value::Array(a) => Ok(a),
        Value::Object(mut m) if m.get("type").and_then(Value::as_str) == Some("bundle") => {
            match m.remove("objects") {
                Some(Value::Array(a)) => Ok(a),
                None => Ok(vec![]),
                Some(_) => Err(AppError::BadRequest("$.objects: expected an array".into())),
            }
        }
        Value::Object(m) => Ok(vec![Value::Object(m)]),
        _ => Err(AppError::BadRequest(
            "expected a STIX object, a bundle or a list of objects".into(),
        )),
    }
}

fn prepare(objs: Vec<Value>) -> Vec<Result<Prepared, Rejection>> {
    objs.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let id = v.get("id").and_then(Value::as_str).map(String::from);
            StixObject::from_value(v)
                .map(Prepared::new)
                .map_err(|e| Rejection {
                    index: i as u64,
                    id,
                    path: format!("$[{i}]{}", e.path().trim_start_matches('$')),
                    reason: e.message().to_string(),
                    fatal: false,
                })
        })
        .collect()
}

#[derive(Deserialize, Default)]
struct WriteParams {
    #[serde(default)]
    strict: bool,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<WriteParams>,
    Json(body): Json<Value>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Write)?;
    let objs = objects_of(body)?;
    let user = caller.subject.name.clone();
    let ids: Vec<String> = objs
        .iter()
        .filter_map(|o| o.get("id").and_then(Value::as_str).map(String::from))
        .collect();
    let st = state.clone();
    let report = blocking(move || {
        let opts = ImportOptions {
            strict: p.strict,
            ..Default::default()
        };
        Ok(st.0.store.import(
            &caller.subject,
            &mut prepare(objs).into_iter(),
            &opts,
            &mut |_| {},
        )?)
    })
    .await?;
    state.audit_ids(
        &user,
        WRITE,
        ids.iter().map(String::as_str),
        &format!(
            "POST /api/v1/objects: {} new, {} updated, {} unchanged, {} invalid",
            report.new,
            report.updated,
            report.unchanged,
            report.invalid.len()
        ),
    );
    let status = if report.new + report.updated > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &json!(report)))
}

async fn get_object(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Read)?;
    let st = state.clone();
    let user = caller.subject.name.clone();
    let asked = id.clone();
    let found = blocking(move || Ok(st.0.store.get(&caller.subject, &id)?)).await?;
    // Absent and forbidden are one outcome here, as in the answer.
    let outcome = if found.is_some() { "ok" } else { "not found" };
    state.audit(&user, READ, Some(&asked), &format!("GET object: {outcome}"));
    let s = found.ok_or(AppError::NotFound)?;
    Ok(json_response(StatusCode::OK, &stored_json(&state, &s)))
}

async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Read)?;
    let st = state.clone();
    let user = caller.subject.name.clone();
    let asked = id.clone();
    let all = blocking(move || Ok(st.0.store.versions(&caller.subject, &id)?)).await?;
    let outcome = match all.len() {
        0 => "not found".to_string(),
        n => format!("{n} version(s)"),
    };
    state.audit(
        &user,
        READ,
        Some(&asked),
        &format!("GET versions: {outcome}"),
    );
    if all.is_empty() {
        return Err(AppError::NotFound);
    }
    let v: Vec<Value> = all.iter().map(|s| stored_json(&state, s)).collect();
    Ok(json_response(StatusCode::OK, &json!({ "versions": v })))
}

async fn new_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Write)?;
    if body.get("id").and_then(Value::as_str) != Some(id.as_str()) {
        return Err(AppError::BadRequest(format!(
            "$.id: the new version must have the id {id}"
        )));
    }
    let st = state.clone();
    let user = caller.subject.name.clone();
    let asked = id.clone();
    let s = blocking(move || {
        let store = &st.0.store;
        let current = store.get(&caller.subject, &id)?.ok_or(AppError::NotFound)?;
        let opts = ImportOptions {
            strict: true,
            default_label: Some(current.label),
            ..Default::default()
        };
        let report = store.import(
            &caller.subject,
            &mut prepare(vec![body]).into_iter(),
            &opts,
            &mut |_| {},
        )?;
        if report.updated == 0 {
            return Err(AppError::Unprocessable(
                "this version is already stored (give the change a later 'modified')".into(),
            ));
        }
        store.get(&caller.subject, &id)?.ok_or(AppError::NotFound)
    })
    .await?;
    state.audit(&user, WRITE, Some(&asked), "new version");
    Ok(json_response(StatusCode::CREATED, &stored_json(&state, &s)))
}

async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Write)?;
    let st = state.clone();
    let user = caller.subject.name.clone();
    let asked = id.clone();
    let s = blocking(move || Ok(st.0.store.revoke(&caller.subject, &id)?)).await?;
    state.audit(&user, WRITE, Some(&asked), "revoke");
    Ok(json_response(StatusCode::OK, &stored_json(&state, &s)))
}

#[derive(Deserialize)]
struct SearchParams {
    q: String,
    #[serde(default, rename = "type")]
    types: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
}

async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<SearchParams>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Read)?;
    let query = SearchQuery {
        text: p.q,
        types: p
            .types
            .map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        limit: p.limit.unwrap_or(20).clamp(1, 1000),
        offset: p.offset.unwrap_or(0).min(100_000),
    };
    let st = state.clone();
    let user = caller.subject.name.clone();
    let text = query.text.clone();
    let r = blocking(move || Ok(st.0.store.search(&caller.subject, &query)?)).await?;
    state.audit_ids(
        &user,
        SEARCH,
        r.hits.iter().map(|h| h.id.as_str()),
        &format!("search q={text:?}: {} readable matches", r.total),
    );
    Ok(json_response(StatusCode::OK, &json!(r)))
}

#[derive(Deserialize)]
struct GraphParams {
    #[serde(default)]
    depth: Option<u32>,
    #[serde(default)]
    max_nodes: Option<usize>,
}

async fn graph(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<GraphParams>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Read)?;
    let depth = p.depth.unwrap_or(1).min(5);
    let max = p.max_nodes.unwrap_or(200).clamp(1, 5000);
    let st = state.clone();
    let user = caller.subject.name.clone();
    let asked = id.clone();
    let g = blocking(move || Ok(st.0.store.graph(&caller.subject, &id, depth, max)?)).await?;
    match &g {
        Some(g) => state.audit_ids(
            &user,
            READ,
            g.nodes.iter().map(|n| n.id.as_str()),
            &format!("graph of {asked}"),
        ),
        None => state.audit(&user, READ, Some(&asked), "graph: not found"),
    }
    let g = g.ok_or(AppError::NotFound)?;
    Ok(json_response(StatusCode::OK, &json!(g)))
}

async fn stats(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Read)?;
    let st = state.clone();
    let s = blocking(move || Ok(st.0.store.stats(&caller.subject)?)).await?;
    Ok(json_response(StatusCode::OK, &json!(s)))
}

/// A blocking `Read` over body chunks arriving from the async side.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    cur: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

/// Parameters of `POST /import`.
#[derive(Deserialize, Default)]
pub(crate) struct ImportParams {
    /// Stop at the first invalid object and store nothing.
    #[serde(default)]
    pub strict: bool,
    /// The label (a banner, `SECRET//GRID//TLP:AMBER`) of objects that carry none;
    /// refused when the caller may not write at it.
    #[serde(default)]
    pub label: Option<String>,
}

/// `POST /import`: a bundle streamed through the parser into one transaction.
pub(crate) async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ImportParams>,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Write)?;
    let default_label = crate::ui::upload_label(&state, &caller.subject, p.label.as_deref())?;
    let user = caller.subject.name.clone();
    let limit = state.0.settings.max_body;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let too_large = Arc::new(AtomicBool::new(false));
    let flag = too_large.clone();
    let mut stream = req.into_body().into_data_stream();
    tokio::spawn(async move {
        let mut total = 0usize;
        while let Some(chunk) = stream.next().await {
            let item = match chunk {
                Ok(b) => {
                    total += b.len();
                    if total > limit {
                        flag.store(true, Ordering::Relaxed);
                        Err(std::io::Error::other("body too large"))
                    } else {
                        Ok(b)
                    }
                }
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    let st = state.clone();
    let result = blocking(move || {
        let mut reader = BundleReader::new(ChannelReader {
            rx,
            cur: Bytes::new(),
        });
        // Input objects are counted as they come; STIX 2.0 ones are upgraded to 2.1 as
        // the CLI's import does (an observed-data may become several objects, which
        // share its index and path).
        let mut n = 0u64;
        let mut pending: std::collections::VecDeque<Result<Prepared, Rejection>> =
            Default::default();
        // Per item handed to the store: the input index and JSON path it came from.
        let mut origin: Vec<(u64, String)> = Vec::new();
        let mut items = std::iter::from_fn(|| loop {
            if let Some(p) = pending.pop_front() {
                return Some(p);
            }
            let next = reader.next_value_with_path()?;
            let i = n;
            n += 1;
            let before = pending.len();
            let at = match &next {
                Ok((path, _)) => path.clone(),
                Err(e) => e.path().to_string(),
            };
            match next {
                Ok((path, v)) => {
                    let id = v.get("id").and_then(Value::as_str).map(String::from);
                    let reject = |e: liaison_stix::Error| Rejection {
                        index: i,
                        id: id.clone(),
                        path: format!("{path}{}", e.path().trim_start_matches('$')),
                        reason: e.message().to_string(),
                        fatal: false,
                    };
                    let is20 = match &v {
                        Value::Object(m) => {
                            liaison_stix::upgrade::is_stix20(m, reader.bundle_spec_version())
                        }
                        _ => false,
                    };
                    if is20 {
                        match liaison_stix::upgrade_20(v) {
                            Ok(values) => pending.extend(values.into_iter().map(|v| {
                                StixObject::from_value(v).map(Prepared::new).map_err(reject)
                            })),
                            Err(e) => pending.push_back(Err(reject(e))),
                        }
                    } else {
                        pending.push_back(
                            StixObject::from_value(v).map(Prepared::new).map_err(reject),
                        );
                    }
                }
                Err(e) => pending.push_back(Err(Rejection {
                    index: i,
                    id: None,
                    path: e.path().to_string(),
                    reason: e.message().to_string(),
                    fatal: matches!(
                        e.kind(),
                        ErrorKind::Json | ErrorKind::Truncated | ErrorKind::Io
                    ),
                })),
            }
            for _ in before..pending.len() {
                origin.push((i, at.clone()));
            }
        });
        let opts = ImportOptions {
            strict: p.strict,
            default_label,
            ..Default::default()
        };
        let result =
            st.0.store
                .import(&caller.subject, &mut items, &opts, &mut |_| {});
        // The store numbers the items it was handed; name the input object instead.
        let locate = |r: &mut Rejection| {
            if let Some((i, path)) = origin.get(r.index as usize) {
                if !r.path.starts_with("$.objects") && !r.path.starts_with("$[") {
                    let rest = r.path.strip_prefix('$').unwrap_or(&r.path).to_string();
                    r.path = format!("{path}{rest}");
                }
                r.index = *i;
            }
        };
        Ok(match result {
            Ok(mut report) => {
                report.invalid.iter_mut().for_each(locate);
                Ok(report)
            }
            Err(liaison_store::StoreError::Aborted(mut r)) => {
                locate(&mut r);
                Err(liaison_store::StoreError::Aborted(r))
            }
            Err(e) => Err(e),
        })
    })
    .await?;
    if too_large.load(Ordering::Relaxed) {
        return Err(AppError::TooLarge(limit));
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            state.audit(&user, WRITE, None, "import: refused, nothing stored");
            return Err(e.into());
        }
    };
    state.audit(
        &user,
        WRITE,
        None,
        &format!(
            "import: {} new, {} updated, {} unchanged, {} invalid",
            report.new,
            report.updated,
            report.unchanged,
            report.invalid.len()
        ),
    );
    Ok(json_response(StatusCode::OK, &json!(report)))
}

#[derive(Deserialize)]
struct ExportParams {
    #[serde(default, rename = "type")]
    types: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    all_versions: bool,
}

/// `GET /export`: a bundle streamed as the store reads it, labels written in.
async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ExportParams>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Read)?;
    if let Some(s) = &p.since {
        liaison_stix::Timestamp::parse(s)
            .map_err(|e| AppError::BadRequest(format!("since: {e}")))?;
    }
    let filter = ExportFilter {
        types: p
            .types
            .map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        since: p.since,
        all_versions: p.all_versions,
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let st = state.clone();
    let what = format!(
        "export types={:?} since={:?} all_versions={}",
        filter.types, filter.since, filter.all_versions
    );
    tokio::task::spawn_blocking(move || {
        let store = &st.0.store;
        let mut buf = format!(
            "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[",
            uuid::Uuid::new_v4()
        );
        let mut first = true;
        let mut n = 0u64;
        let r = store.export(&caller.subject, &filter, &mut |s| {
            n += 1;
            if !std::mem::take(&mut first) {
                buf.push(',');
            }
            buf.push('\n');
            buf.push_str(&store.labelled_value(&s).to_string());
            if buf.len() > 1 << 16 {
                tx.blocking_send(Bytes::from(std::mem::take(&mut buf)))
                    .map_err(|_| liaison_store::StoreError::Sink("client went away".into()))?;
            }
            Ok(())
        });
        match r {
            Ok(_) => {
                buf.push_str("\n]}\n");
                let _ = tx.blocking_send(Bytes::from(buf));
                // A whole store's ids would swamp the log: the count and the filter
                // say what left.
                st.audit(
                    &caller.subject.name,
                    EXPORT,
                    None,
                    &format!("{what}: {n} objects"),
                );
            }
            // The bundle stays unterminated, so the client sees a broken body rather
            // than a complete-looking partial export.
            Err(e) => {
                st.audit(
                    &caller.subject.name,
                    EXPORT,
                    None,
                    &format!("{what}: aborted after {n} objects"),
                );
                tracing::warn!(error = %e, "export aborted")
            }
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|o| o.map(Ok::<_, std::io::Error>))
    });
    let mut r = axum::body::Body::from_stream(stream).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/stix+json;version=2.1"),
    );
    Ok(r)
}

#[derive(Deserialize)]
struct TokenBody {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    name: Option<String>,
    scope: Scope,
    #[serde(default)]
    api_root: Option<String>,
}

#[derive(Deserialize)]
struct UserParam {
    #[serde(default)]
    user: Option<String>,
}

fn is_admin(c: &Caller) -> bool {
    c.require(Scope::Admin).is_ok()
}

async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<UserParam>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Read)?;
    let user = match p.user {
        Some(u) if u != caller.subject.name => {
            caller.require(Scope::Admin)?;
            Some(u)
        }
        Some(u) => Some(u),
        None if is_admin(&caller) => None,
        None => Some(caller.subject.name.clone()),
    };
    let st = state.clone();
    let list = blocking(move || {
        st.0.auth
            .tokens(user.as_deref())
            .map_err(|e| AppError::Internal(e.to_string()))
    })
    .await?;
    Ok(json_response(StatusCode::OK, &json!({ "tokens": list })))
}

async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<TokenBody>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Write)?;
    let user = b.user.unwrap_or_else(|| caller.subject.name.clone());
    if user != caller.subject.name {
        caller.require(Scope::Admin)?;
    }
    let target = state
        .0
        .users
        .get(&user)
        .ok_or_else(|| AppError::BadRequest(format!("no user named '{user}'")))?;
    // A credential never grants more than the one that made it.
    if b.scope > caller.scope {
        return Err(AppError::Forbidden(
            "a token cannot have a wider scope than the credential creating it".into(),
        ));
    }
    if b.scope == Scope::Admin && !target.roles.contains(&liaison_policy::Role::Admin) {
        return Err(AppError::BadRequest(format!(
            "'{user}' is not an administrator"
        )));
    }
    let st = state.clone();
    let name = b.name.unwrap_or_else(|| "api".into());
    let by = caller.subject.name.clone();
    let (info, secret) = blocking(move || {
        st.0.auth
            .create_token(&user, &name, b.scope, b.api_root.as_deref())
            .map_err(|e| AppError::Internal(e.to_string()))
    })
    .await?;
    state.audit(
        &by,
        PERMISSION,
        Some(&info.id),
        &format!(
            "token created for {} scope {} api_root {}",
            info.user,
            info.scope.as_str(),
            info.api_root.as_deref().unwrap_or("*")
        ),
    );
    let mut v = json!(info);
    v["secret"] = json!(secret);
    Ok(json_response(StatusCode::CREATED, &v))
}

async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Write)?;
    let only = if is_admin(&caller) {
        None
    } else {
        Some(caller.subject.name.clone())
    };
    let st = state.clone();
    let by = caller.subject.name.clone();
    let asked = id.clone();
    let r = blocking(move || {
        st.0.auth
            .revoke_token(&id, only.as_deref())
            .map_err(|e| match e {
                crate::AuthError::Unknown(_) => AppError::NotFound,
                other => AppError::Internal(other.to_string()),
            })
    })
    .await;
    let outcome = if r.is_ok() { "ok" } else { "refused" };
    state.audit(
        &by,
        PERMISSION,
        Some(&asked),
        &format!("token revoke: {outcome}"),
    );
    r?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn users(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Admin)?;
    let policy = state.0.store.policy();
    let list: Vec<Value> = state
        .0
        .users
        .all()
        .into_iter()
        .map(|s| {
            json!({
                "name": s.name, "org": s.org, "unit": s.unit,
                "clearance": policy.level_name(s.clearance),
                "compartments": s.compartments, "roles": s.roles,
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "users": list })))
}

async fn orgs(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Admin)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "orgs": state.0.users.orgs() }),
    ))
}

async fn put_collection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(mut c): Json<Collection>,
) -> Result<Response, AppError> {
    rest_caller(&caller, Scope::Admin)?;
    if c.id != id {
        return Err(AppError::BadRequest(format!("$.id: expected {id}")));
    }
    if c.api_root.is_empty() || c.api_root.contains('/') || id.contains('/') {
        return Err(AppError::BadRequest(
            "$.api_root: a non-empty path segment".into(),
        ));
    }
    c.description = c.description.filter(|d| !d.is_empty());
    let st = state.clone();
    let c2 = c.clone();
    blocking(move || Ok(st.0.store.put_collection(&caller.subject, &c2)?)).await?;
    Ok(json_response(StatusCode::OK, &json!(c)))
}
