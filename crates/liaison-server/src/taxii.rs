//! TAXII 2.1: discovery, API roots, collections, objects, manifests, versions,
//! deletion and status resources, under `/taxii2/`.

use crate::{blocking, AppError, AppState, Body, Caller, Path, Query, Scope};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use liaison_protect::audit::action::{DENIED, READ, WRITE};
use liaison_stix::{StixObject, Timestamp};
use liaison_store::{
    version_key_of, Collection, CollectionEntry, CollectionPage, CollectionQuery, ImportItem,
    Prepared, Rejection, VersionMatch,
};
use serde_json::{json, Value};

/// TAXII's media type.
pub const TAXII: &str = "application/taxii+json;version=2.1";
/// STIX's media type.
pub const STIX: &str = "application/stix+json;version=2.1";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2/{root}/", get(api_root))
        .route("/taxii2/{root}/status/{status}/", get(status))
        .route("/taxii2/{root}/collections/", get(collections))
        .route("/taxii2/{root}/collections/{coll}/", get(collection))
        .route(
            "/taxii2/{root}/collections/{coll}/objects/",
            get(get_objects).post(add_objects),
        )
        .route(
            "/taxii2/{root}/collections/{coll}/objects/{id}/",
            get(get_object).delete(delete_object),
        )
        .route(
            "/taxii2/{root}/collections/{coll}/objects/{id}/versions/",
            get(versions),
        )
        .route("/taxii2/{root}/collections/{coll}/manifest/", get(manifest))
        .layer(axum::middleware::map_response(taxii_media_type))
}

/// Every TAXII response, errors included, is `application/taxii+json;version=2.1`.
pub async fn taxii_media_type(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII));
    resp
}

fn check_accept(headers: &HeaderMap) -> Result<(), AppError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let ok = accept.split(',').any(|part| {
        let p = part.trim().to_ascii_lowercase().replace(' ', "");
        p.starts_with("*/*")
            || p.starts_with("application/*")
            || (p.starts_with("application/taxii+json")
                && (!p.contains("version=") || p.contains("version=2.1")))
    });
    if ok {
        Ok(())
    } else {
        Err(AppError::NotAcceptable(format!(
            "this server answers {TAXII}; the request accepts only '{accept}'"
        )))
    }
}

fn taxii_json(status: StatusCode, v: &Value) -> Response {
    (status, v.to_string()).into_response()
}

fn ts(ms: i64) -> String {
    Timestamp::from_millis(ms).to_string()
}

fn known_root(state: &AppState, root: &str) -> Result<bool, AppError> {
    if state.0.settings.api_roots.iter().any(|r| r == root) {
        return Ok(true);
    }
    Ok(state.0.store.api_roots()?.iter().any(|r| r == root))
}

async fn discovery(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let st = state.clone();
    let mut roots = blocking(move || Ok(st.0.store.api_roots()?)).await?;
    for r in &state.0.settings.api_roots {
        if !roots.contains(r) {
            roots.push(r.clone());
        }
    }
    if let Some(only) = &caller.api_root {
        roots.retain(|r| r == only);
    }
    let paths: Vec<String> = roots.iter().map(|r| format!("/taxii2/{r}/")).collect();
    let mut body = json!({
        "title": state.0.settings.title,
        "description": "Liaison TAXII 2.1 server",
        "api_roots": paths,
    });
    if let Some(first) = paths.first() {
        body["default"] = json!(first);
    }
    Ok(taxii_json(StatusCode::OK, &body))
}

async fn api_root(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(root): Path<String>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    caller.require_root(Some(&root))?;
    let st = state.clone();
    let r = root.clone();
    if !blocking(move || known_root(&st, &r)).await? {
        return Err(AppError::NotFound);
    }
    Ok(taxii_json(
        StatusCode::OK,
        &json!({
            "title": format!("{} — {root}", state.0.settings.title),
            "description": "Shared intelligence, filtered by your clearance, compartments and organization.",
            "versions": [TAXII],
            "max_content_length": state.0.settings.max_body,
        }),
    ))
}

fn collection_json(c: &Collection, caller: &Caller) -> Value {
    let mut v = json!({
        "id": c.id,
        "title": c.title,
        "can_read": c.can_read(&caller.subject),
        "can_write": c.can_write(&caller.subject) && caller.scope >= Scope::Write,
        "media_types": [STIX],
    });
    if let Some(d) = &c.description {
        v["description"] = json!(d);
    }
    v
}

async fn collections(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(root): Path<String>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    caller.require_root(Some(&root))?;
    let st = state.clone();
    let subject = caller.subject.clone();
    let r = root.clone();
    let (known, list) =
        blocking(move || Ok((known_root(&st, &r)?, st.0.store.collections(&subject, &r)?))).await?;
    if !known {
        return Err(AppError::NotFound);
    }
    let cols: Vec<Value> = list.iter().map(|c| collection_json(c, &caller)).collect();
    let body = if cols.is_empty() {
        json!({})
    } else {
        json!({ "collections": cols })
    };
    Ok(taxii_json(StatusCode::OK, &body))
}

/// The collection, if the caller may see it (else 404, whether it exists or not).
async fn find_collection(
    state: &AppState,
    caller: &Caller,
    root: &str,
    id: &str,
) -> Result<Collection, AppError> {
    caller.require_root(Some(root))?;
    let st = state.clone();
    let subject = caller.subject.clone();
    let (r, i) = (root.to_string(), id.to_string());
    blocking(move || Ok(st.0.store.collection(&subject, &r, &i)?))
        .await?
        .ok_or(AppError::NotFound)
}

async fn collection(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((root, coll)): Path<(String, String)>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let c = find_collection(&state, &caller, &root, &coll).await?;
    Ok(taxii_json(StatusCode::OK, &collection_json(&c, &caller)))
}

/// The opaque `next` cursor: the sequence number of the last entry returned.
fn encode_cursor(seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("s{seq}"))
}

fn decode_cursor(text: &str) -> Result<i64, AppError> {
    let bad = || {
        AppError::BadRequest(format!(
            "'next' is not a cursor this server issued: {text:?}"
        ))
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| bad())?;
    let s = std::str::from_utf8(&raw).map_err(|_| bad())?;
    s.strip_prefix('s')
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(bad)
}

fn list_param(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parse TAXII's query parameters (unknown ones are ignored, as the spec allows).
fn parse_query(
    params: &[(String, String)],
    max_page: usize,
    with_bodies: bool,
) -> Result<CollectionQuery, AppError> {
    let mut q = CollectionQuery {
        limit: max_page.clamp(1, 100),
        with_bodies,
        ..Default::default()
    };
    let mut limit_set = false;
    for (k, v) in params {
        match k.as_str() {
            "added_after" => {
                let t = Timestamp::parse(v)
                    .map_err(|e| AppError::BadRequest(format!("added_after: {e}")))?;
                q.added_after_ms = Some(t.millis());
            }
            "limit" => {
                let n: usize = v.parse().map_err(|_| {
                    AppError::BadRequest(format!("limit: expected a positive integer, got {v:?}"))
                })?;
                if n == 0 {
                    return Err(AppError::BadRequest("limit: must be at least 1".into()));
                }
                q.limit = n.min(max_page);
                limit_set = true;
            }
            "next" => q.after_seq = Some(decode_cursor(v)?),
            "match[id]" => q.ids = list_param(v),
            "match[type]" => q.types = list_param(v),
            "match[spec_version]" => q.spec_versions = list_param(v),
            "match[version]" => {
                let parts = list_param(v);
                q.versions = if parts.iter().any(|p| p == "all") {
                    VersionMatch::All
                } else if parts.len() == 1 && parts[0] == "first" {
                    VersionMatch::First
                } else if parts.len() == 1 && parts[0] == "last" {
                    VersionMatch::Last
                } else {
                    let mut keys = Vec::new();
                    for p in &parts {
                        if p == "first" || p == "last" {
                            return Err(AppError::BadRequest(
                                "match[version]: combine 'first'/'last' with nothing else".into(),
                            ));
                        }
                        keys.push(
                            version_key_of(p).map_err(|e| {
                                AppError::BadRequest(format!("match[version]: {e}"))
                            })?,
                        );
                    }
                    VersionMatch::At(keys)
                };
            }
            _ => {}
        }
    }
    let _ = limit_set;
    Ok(q)
}

/// A page of a collection, recorded in the audit log as one read: the object ids it
/// returns (up to [`crate::AUDIT_MAX_IDS`], else their count), `what` was asked, and
/// for a single-object route (`asked`) the id requested with "not found" when the page
/// is empty, whether the object is absent or beyond the caller's clearance.
async fn page(
    state: &AppState,
    caller: &Caller,
    c: Collection,
    q: CollectionQuery,
    what: &str,
    asked: Option<&str>,
) -> Result<CollectionPage, AppError> {
    let user = &caller.subject.name;
    let what = format!("TAXII {what} {}/{}", c.api_root, c.id);
    if !c.can_read(&caller.subject) {
        state.audit(user, DENIED, asked, &format!("{what}: no read access"));
        return Err(AppError::Forbidden(
            "no read access to this collection".into(),
        ));
    }
    let st = state.clone();
    let subject = caller.subject.clone();
    let p = blocking(move || Ok(st.0.store.collection_page(&subject, &c, &q)?)).await?;
    match asked {
        Some(id) if p.entries.is_empty() => {
            state.audit(user, READ, Some(id), &format!("{what}: not found"))
        }
        Some(id) => state.audit(
            user,
            READ,
            Some(id),
            &format!("{what}: {} entries", p.entries.len()),
        ),
        None => {
            let mut ids: Vec<&str> = p.entries.iter().map(|e| e.id.as_str()).collect();
            ids.dedup();
            state.audit_ids(user, READ, ids.into_iter(), &what);
        }
    }
    Ok(p)
}

fn date_headers(resp: &mut Response, entries: &[CollectionEntry]) {
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        for (name, ms) in [
            ("x-taxii-date-added-first", first.added_ms),
            ("x-taxii-date-added-last", last.added_ms),
        ] {
            if let Ok(v) = HeaderValue::from_str(&ts(ms)) {
                resp.headers_mut().insert(name, v);
            }
        }
    }
}

/// An envelope written by hand from the stored JSON, without re-parsing it.
fn envelope(page: &CollectionPage) -> String {
    let size: usize = page
        .entries
        .iter()
        .map(|e| e.json.as_deref().map_or(0, str::len) + 1)
        .sum();
    let mut out = String::with_capacity(size + 64);
    out.push_str("{\"more\":");
    out.push_str(if page.more { "true" } else { "false" });
    if page.more {
        if let Some(last) = page.entries.last() {
            out.push_str(",\"next\":\"");
            out.push_str(&encode_cursor(last.seq));
            out.push('"');
        }
    }
    out.push_str(",\"objects\":[");
    for (i, e) in page.entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e.json.as_deref().unwrap_or("null"));
    }
    out.push_str("]}");
    out
}

async fn get_objects(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((root, coll)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let q = parse_query(&params, state.0.settings.max_page, true)?;
    let c = find_collection(&state, &caller, &root, &coll).await?;
    let p = page(&state, &caller, c, q, "objects", None).await?;
    let mut resp = (StatusCode::OK, envelope(&p)).into_response();
    date_headers(&mut resp, &p.entries);
    Ok(resp)
}

async fn get_object(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((root, coll, id)): Path<(String, String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let mut q = parse_query(&params, state.0.settings.max_page, true)?;
    q.ids = vec![id.clone()];
    let c = find_collection(&state, &caller, &root, &coll).await?;
    let p = page(&state, &caller, c, q, "object", Some(&id)).await?;
    if p.entries.is_empty() && !p.more {
        return Err(AppError::NotFound);
    }
    let mut resp = (StatusCode::OK, envelope(&p)).into_response();
    date_headers(&mut resp, &p.entries);
    Ok(resp)
}

fn version_of(e: &CollectionEntry) -> String {
    e.version.clone().unwrap_or_else(|| ts(e.added_ms))
}

fn paged_list(p: &CollectionPage, key: &str, items: Vec<Value>) -> Value {
    let mut v = json!({ "more": p.more });
    if p.more {
        if let Some(last) = p.entries.last() {
            v["next"] = json!(encode_cursor(last.seq));
        }
    }
    if !items.is_empty() {
        v[key] = json!(items);
    }
    v
}

async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((root, coll, id)): Path<(String, String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let mut q = parse_query(&params, state.0.settings.max_page, false)?;
    q.ids = vec![id.clone()];
    q.versions = VersionMatch::All;
    let c = find_collection(&state, &caller, &root, &coll).await?;
    let p = page(&state, &caller, c, q, "versions", Some(&id)).await?;
    if p.entries.is_empty() && !p.more {
        return Err(AppError::NotFound);
    }
    let items = p.entries.iter().map(|e| json!(version_of(e))).collect();
    let mut resp = taxii_json(StatusCode::OK, &paged_list(&p, "versions", items));
    date_headers(&mut resp, &p.entries);
    Ok(resp)
}

async fn manifest(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((root, coll)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let q = parse_query(&params, state.0.settings.max_page, false)?;
    let c = find_collection(&state, &caller, &root, &coll).await?;
    let p = page(&state, &caller, c, q, "manifest", None).await?;
    let items = p
        .entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "date_added": ts(e.added_ms),
                "version": version_of(e),
                "media_type": STIX,
            })
        })
        .collect();
    let mut resp = taxii_json(StatusCode::OK, &paged_list(&p, "objects", items));
    date_headers(&mut resp, &p.entries);
    Ok(resp)
}

async fn delete_object(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((root, coll, id)): Path<(String, String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    caller.require(Scope::Write)?;
    let q = parse_query(&params, state.0.settings.max_page, false)?;
    let versions = if params.iter().any(|(k, _)| k == "match[version]") {
        q.versions
    } else {
        VersionMatch::All
    };
    let c = find_collection(&state, &caller, &root, &coll).await?;
    // The store holds STIX 2.1 only: a delete of other spec versions matches nothing.
    if !q.spec_versions.is_empty() && !q.spec_versions.iter().any(|v| v == "2.1") {
        return Err(AppError::NotFound);
    }
    let st = state.clone();
    let subject = caller.subject.clone();
    let what = format!("TAXII delete {}/{}", c.api_root, c.id);
    let asked = id.clone();
    let n =
        blocking(move || Ok(st.0.store.collection_delete(&subject, &c, &id, &versions)?)).await?;
    let outcome = match n {
        0 => "not found".to_string(),
        n => format!("{n} version(s) deleted"),
    };
    state.audit(
        &caller.subject.name,
        WRITE,
        Some(&asked),
        &format!("{what}: {outcome}"),
    );
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(StatusCode::OK.into_response())
}

async fn status(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((root, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    caller.require_root(Some(&root))?;
    let st = state.clone();
    let user = caller.subject.name.clone();
    let ttl = state.0.settings.status_ttl;
    let body = blocking(move || Ok(st.0.store.taxii_status(&user, &root, &id, ttl)?))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((StatusCode::OK, body).into_response())
}

fn check_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
        .replace(' ', "");
    if ct.starts_with("application/taxii+json")
        && (!ct.contains("version=") || ct.contains("version=2.1"))
    {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(format!(
            "add objects with Content-Type {TAXII}, not '{ct}'"
        )))
    }
}

#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(default)]
    objects: Vec<Value>,
}

async fn add_objects(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((root, coll)): Path<(String, String)>,
    body: Result<Body, AppError>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    check_content_type(&headers)?;
    caller.require(Scope::Write)?;
    let Body(bytes) = body?;
    let c = find_collection(&state, &caller, &root, &coll).await?;
    if !c.can_write(&caller.subject) {
        return Err(AppError::Forbidden(
            "no write access to this collection".into(),
        ));
    }
    let request_ts = Timestamp::now().to_string();
    let st = state.clone();
    let subject = caller.subject.clone();
    let ttl = state.0.settings.status_ttl;
    let what = format!("TAXII add {}/{}", c.api_root, c.id);
    let status = blocking(move || {
        let env: Envelope = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::BadRequest(format!("malformed envelope: {e}")))?;
        let n = env.objects.len();
        let mut heads: Vec<(Option<String>, Option<String>)> = Vec::with_capacity(n);
        let items: Vec<ImportItem> = env
            .objects
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let id = v.get("id").and_then(Value::as_str).map(String::from);
                let ver = v
                    .get("modified")
                    .or_else(|| v.get("created"))
                    .and_then(Value::as_str)
                    .map(String::from);
                heads.push((id.clone(), ver));
                StixObject::from_value(v)
                    .map(Prepared::new)
                    .map_err(|e| Rejection {
                        index: i as u64,
                        id,
                        path: format!("$.objects[{i}]{}", e.path().trim_start_matches('$')),
                        reason: e.message().to_string(),
                        fatal: false,
                    })
            })
            .collect();
        let added =
            st.0.store
                .collection_add(&subject, &c, &mut items.into_iter())?;
        st.audit_ids(
            &subject.name,
            WRITE,
            added.stored.iter().map(|(_, id, _)| id.as_str()),
            &format!(
                "{what}: {} stored, {} refused",
                added.stored.len(),
                added.report.invalid.len()
            ),
        );
        let successes: Vec<Value> = added
            .stored
            .iter()
            .map(|(_, id, v)| {
                let mut s = json!({ "id": id });
                if let Some(v) = v {
                    s["version"] = json!(v);
                }
                s
            })
            .collect();
        let failures: Vec<Value> = added
            .report
            .invalid
            .iter()
            .map(|r| {
                let (id, ver) = heads.get(r.index as usize).cloned().unwrap_or_default();
                let mut f = json!({
                    "id": r.id.clone().or(id).unwrap_or_default(),
                    "message": format!("{}: {}", r.path, r.reason),
                });
                if let Some(v) = ver {
                    f["version"] = json!(v);
                }
                f
            })
            .collect();
        let status_id = uuid::Uuid::new_v4().to_string();
        let status = json!({
            "id": status_id,
            "status": "complete",
            "request_timestamp": request_ts,
            "total_count": n,
            "success_count": successes.len(),
            "successes": successes,
            "failure_count": failures.len(),
            "failures": failures,
            "pending_count": 0,
            "pendings": [],
        });
        // Kept in the store, so a client polling the status finds it after a restart.
        st.0.store
            .put_taxii_status(&subject.name, &root, &status_id, &status.to_string(), ttl)?;
        Ok(status)
    })
    .await?;
    Ok(taxii_json(StatusCode::ACCEPTED, &status))
}
