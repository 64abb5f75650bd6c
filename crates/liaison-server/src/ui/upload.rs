//! Upload of a STIX bundle or a MISP event from the browser, under a label the
//! uploader chooses.
//!
//! The format is told from the body: a bundle goes on, streamed, to the REST import
//! (one transaction, STIX 2.0 upgraded); a MISP event is converted by
//! `liaison_misp::event_to_stix` — the conversion `liaison import` and MISP feeds use —
//! and its objects imported in one transaction. Either way the answer is the store's
//! import report (new, updated, unchanged, refusals with their JSON path), plus, for
//! MISP, the conversion's warnings with their paths in the event.

use super::html::esc;
use super::i18n::{t, M};
use super::Viewer;
use crate::{blocking, AppError, AppState, Scope};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use liaison_policy::{Label, Subject};
use liaison_stix::StixObject;
use liaison_store::{ImportOptions, Prepared, Rejection, Store, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write;

/// The label of an upload's objects that carry none, from the banner chosen in the
/// form (`None`: the store's default). A banner the uploader may not write at —
/// above their clearance, outside their compartments, another organization's — is
/// refused before anything is read.
pub(crate) fn upload_label(
    state: &AppState,
    subject: &Subject,
    text: Option<&str>,
) -> Result<Option<Label>, AppError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let policy = state.0.store.policy();
    let label = policy
        .parse_banner(text, &subject.org)
        .map_err(|e| AppError::BadRequest(format!("label: {e}")))?;
    liaison_policy::check_write(subject, &label).map_err(|denied| {
        AppError::Forbidden(format!(
            "label: you may not write at {}: {denied}",
            policy.banner(&label)
        ))
    })?;
    Ok(Some(label))
}

/// The upload page: a file, the label of what carries none, the format (told from
/// the file unless chosen); the script sends the file with a progress bar and shows
/// the import report.
pub(crate) async fn page(State(state): State<AppState>, v: Viewer) -> Response {
    let l = v.lang;
    let policy = state.0.store.policy();
    let me = &v.caller.subject;
    // Suggestions: the levels the uploader may write at, alone and with each of
    // their compartments; any other banner may be typed (and is checked).
    let mut options = String::new();
    for (i, level) in policy.levels().iter().enumerate() {
        if i > me.clearance.0 as usize {
            break;
        }
        let _ = write!(options, "<option value=\"{}\">", esc(level));
        for c in &me.compartments {
            let _ = write!(options, "<option value=\"{}//{}\">", esc(level), esc(c));
        }
    }
    let b = format!(
        "<h1>{}</h1><p>{}</p><form id=\"upload-form\" class=\"stack\" data-csrf=\"{}\" \
         data-t-new=\"{}\" data-t-updated=\"{}\" data-t-unchanged=\"{}\" data-t-refused=\"{}\" \
         data-t-warnings=\"{}\" data-t-format=\"{}\" data-t-path=\"{}\" data-t-reason=\"{}\" \
         data-t-failed=\"{}\" data-t-importing=\"{}\" data-t-open=\"{}\" data-t-id=\"{}\">\
         <label>{}<input type=\"file\" id=\"upload-file\" accept=\".json,application/json\" required></label>\
         <label>{}<input id=\"upload-label\" name=\"label\" list=\"upload-labels\" placeholder=\"{}\" autocomplete=\"off\">\
         <small>{}</small></label><datalist id=\"upload-labels\">{options}</datalist>\
         <label>{}<select id=\"upload-format\" name=\"format\"><option value=\"auto\">{}</option>\
         <option value=\"stix\">STIX 2.1 / 2.0</option><option value=\"misp\">MISP</option></select></label>\
         <button id=\"upload-go\">{}</button></form>\
         <progress id=\"upload-progress\" max=\"100\" value=\"0\" hidden></progress>\
         <p id=\"upload-state\" class=\"muted\" role=\"status\"></p>\
         <section id=\"upload-result\" hidden></section>\
         <details><summary>JSON</summary><pre id=\"upload-report\" class=\"report\"></pre></details>",
        t(l, M::Upload),
        t(l, M::UploadHelp),
        esc(&v.csrf),
        t(l, M::ImportNew),
        t(l, M::ImportUpdated),
        t(l, M::ImportUnchanged),
        t(l, M::ImportRefused),
        t(l, M::ImportWarnings),
        t(l, M::ImportFormat),
        t(l, M::JsonPath),
        t(l, M::Reason),
        t(l, M::UploadFailed),
        t(l, M::Importing),
        t(l, M::OpenImported),
        t(l, M::Id),
        t(l, M::File),
        t(l, M::UploadLabel),
        esc(&policy.banner(&Label::public(Some(me.org.clone())))),
        t(l, M::UploadLabelHelp),
        t(l, M::Format),
        t(l, M::FormatAuto),
        t(l, M::UploadStart)
    );
    v.page("upload", t(l, M::Upload), None, &b)
}

/// What the body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Stix,
    Misp,
}

#[derive(Deserialize, Default)]
pub(crate) struct UploadParams {
    /// A banner; empty: the store's default label.
    #[serde(default)]
    label: Option<String>,
    /// `auto` (default), `stix` or `misp`.
    #[serde(default)]
    format: Option<String>,
}

/// The format a body's first bytes show, when they settle it: a bundle's usual first
/// keys or a list are STIX, `{"Event": …}` is MISP. Anything else (a bare MISP event
/// starts with its `id` as a bundle may) is decided on the whole document.
fn sniff(prefix: &[u8]) -> Option<Format> {
    let text = String::from_utf8_lossy(prefix);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('[') {
        return Some(Format::Stix);
    }
    let rest = t.strip_prefix('{')?.trim_start().strip_prefix('"')?;
    let key = rest.split('"').next()?;
    if !rest[key.len()..].starts_with('"') {
        return None;
    }
    match key {
        "Event" => Some(Format::Misp),
        "type" | "objects" | "spec_version" => Some(Format::Stix),
        _ => None,
    }
}

fn json_answer(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `POST /ui/upload/import?label=…&format=auto`: the body is the file.
pub(crate) async fn import(
    State(state): State<AppState>,
    v: Viewer,
    crate::Query(p): crate::Query<UploadParams>,
    req: Request,
) -> Response {
    let limit = state.0.settings.max_body;
    match checked(&state, &v, &p, &req) {
        Ok(forced) => upload(state, v, p, req, forced).await,
        Err(e) => {
            // A browser that is still sending sees a refusal sent mid-upload as a
            // broken connection: read (and drop) the rest of the file first.
            let mut stream = req.into_body().into_data_stream();
            let mut seen = 0usize;
            while let Some(Ok(b)) = stream.next().await {
                seen += b.len();
                if seen > limit {
                    break;
                }
            }
            e.into_response()
        }
    }
}

/// The refusals that need no byte of the file: the form's token, the credential's
/// scope, the label, the format asked for.
fn checked(
    state: &AppState,
    v: &Viewer,
    p: &UploadParams,
    req: &Request,
) -> Result<Option<Format>, AppError> {
    let token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    if v.refuse_csrf(&token).is_some() {
        return Err(AppError::Forbidden(
            "csrf: the form expired; reload the page".into(),
        ));
    }
    v.caller.require(Scope::Write)?;
    let me = &v.caller.subject;
    if upload_label(state, me, p.label.as_deref())?.is_none() {
        // No label chosen: the store's default. A reader, who may write at none, is
        // told so now rather than by one refusal per object after the upload.
        liaison_policy::check_write(me, &Label::public(Some(me.org.clone()))).map_err(
            |denied| AppError::Forbidden(format!("upload: you may not write: {denied}")),
        )?;
    }
    match p.format.as_deref().unwrap_or("auto") {
        "auto" | "" => Ok(None),
        "stix" => Ok(Some(Format::Stix)),
        "misp" => Ok(Some(Format::Misp)),
        other => Err(AppError::BadRequest(format!(
            "format: expected auto, stix or misp, not '{other}'"
        ))),
    }
}

async fn upload(
    state: AppState,
    v: Viewer,
    p: UploadParams,
    req: Request,
    forced: Option<Format>,
) -> Response {
    let label = match upload_label(&state, &v.caller.subject, p.label.as_deref()) {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let limit = state.0.settings.max_body;
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    // Read the first few kilobytes: enough to see the first key.
    let mut head: Vec<Bytes> = Vec::new();
    let mut seen = 0usize;
    let mut ended = false;
    while seen < 4096 {
        match stream.next().await {
            Some(Ok(b)) => {
                seen += b.len();
                head.push(b);
            }
            Some(Err(e)) => {
                return AppError::BadRequest(format!("cannot read the upload: {e}")).into_response()
            }
            None => {
                ended = true;
                break;
            }
        }
    }
    let prefix: Vec<u8> = head.iter().flat_map(|b| b.iter().copied()).collect();
    let format = forced.or_else(|| sniff(&prefix));
    if format == Some(Format::Stix) {
        // Streamed on, unread, to the REST import.
        let rest = futures_util::stream::iter(head.into_iter().map(Ok::<Bytes, axum::Error>));
        let body = if ended {
            Body::from_stream(rest)
        } else {
            Body::from_stream(rest.chain(stream))
        };
        let req = Request::from_parts(parts, body);
        let params = crate::rest::ImportParams {
            strict: false,
            label: p.label,
        };
        let r = crate::rest::import(State(state), v.caller, crate::Query(params), req).await;
        return with_format(r, "stix").await;
    }
    // MISP events are single JSON documents: read whole (within the body limit).
    let mut buf = prefix;
    if !ended {
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(b) => {
                    if buf.len() + b.len() > limit {
                        return AppError::TooLarge(limit).into_response();
                    }
                    buf.extend_from_slice(&b);
                }
                Err(e) => {
                    return AppError::BadRequest(format!("cannot read the upload: {e}"))
                        .into_response()
                }
            }
        }
    }
    let doc: Value = match serde_json::from_slice(&buf) {
        Ok(d) => d,
        Err(e) => {
            return AppError::BadRequest(format!(
                "malformed JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ))
            .into_response()
        }
    };
    drop(buf);
    if format.is_none() && !liaison_misp::is_misp_event(&doc) {
        // A bundle that starts with an unusual key: on to the STIX import, whole.
        let body = Body::from(doc.to_string());
        let req = Request::from_parts(parts, body);
        let params = crate::rest::ImportParams {
            strict: false,
            label: p.label,
        };
        let r = crate::rest::import(State(state), v.caller, crate::Query(params), req).await;
        return with_format(r, "stix").await;
    }
    let user = v.caller.subject.name.clone();
    let subject = v.caller.subject.clone();
    let st = state.clone();
    let r = blocking(move || Ok(import_misp(&st, &subject, &doc, label))).await;
    use liaison_protect::audit::action::WRITE;
    match r {
        Ok(Ok(report)) => {
            state.audit(
                &user,
                WRITE,
                report["container"].as_str(),
                &format!(
                    "import (web, MISP event): {} new, {} updated, {} unchanged, {} invalid",
                    report["new"],
                    report["updated"],
                    report["unchanged"],
                    report["invalid"].as_array().map_or(0, Vec::len)
                ),
            );
            json_answer(StatusCode::OK, &report)
        }
        Ok(Err(e)) | Err(e) => {
            state.audit(
                &user,
                WRITE,
                None,
                "import (web, MISP event): refused, nothing stored",
            );
            e.into_response()
        }
    }
}

/// The REST import's answer, with the format it was taken as.
async fn with_format(r: Result<Response, AppError>, format: &str) -> Response {
    let r = match r {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let status = r.status();
    let bytes = match http_body_util::BodyExt::collect(r.into_body()).await {
        Ok(c) => c.to_bytes(),
        Err(e) => return AppError::Internal(e.to_string()).into_response(),
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut m)) => {
            m.insert("format".into(), json!(format));
            json_answer(status, &Value::Object(m))
        }
        _ => AppError::Internal("the import answered no JSON report".into()).into_response(),
    }
}

/// Where in the event each MISP UUID is: STIX ids reuse them, so a refused object is
/// named by the attribute or MISP object it came from.
fn misp_paths(doc: &Value) -> HashMap<String, String> {
    let ev = doc.get("Event").unwrap_or(doc);
    let mut m = HashMap::new();
    for (list, name) in [("Attribute", "Attribute"), ("Object", "Object")] {
        for (i, a) in ev[list].as_array().into_iter().flatten().enumerate() {
            if let Some(u) = a["uuid"].as_str() {
                m.insert(u.to_ascii_lowercase(), format!("Event.{name}[{i}]"));
            }
            for (j, inner) in a["Attribute"].as_array().into_iter().flatten().enumerate() {
                if let Some(u) = inner["uuid"].as_str() {
                    m.insert(
                        u.to_ascii_lowercase(),
                        format!("Event.{name}[{i}].Attribute[{j}]"),
                    );
                }
            }
        }
    }
    m
}

/// Convert a MISP event and import its objects in one transaction.
fn import_misp(
    state: &AppState,
    subject: &Subject,
    doc: &Value,
    label: Option<Label>,
) -> Result<Value, AppError> {
    let conv = liaison_misp::event_to_stix(doc, &liaison_misp::Options::default())
        .map_err(|e| AppError::Unprocessable(format!("not a MISP event: {e}")))?;
    let container = conv.container_id().map(str::to_string);
    let paths = misp_paths(doc);
    // Per object handed to the store: its id and where in the event it came from.
    let origin: Vec<(Option<String>, String)> = conv
        .objects
        .iter()
        .map(|o| {
            let id = o["id"].as_str().map(str::to_string);
            let at = id
                .as_deref()
                .and_then(|i| i.split_once("--"))
                .and_then(|(_, u)| paths.get(&u.to_ascii_lowercase()).cloned())
                .unwrap_or_else(|| "Event".to_string());
            (id, at)
        })
        .collect();
    let mut items = conv.objects.into_iter().enumerate().map(|(i, o)| {
        StixObject::from_value(o)
            .map(Prepared::new)
            .map_err(|e| Rejection {
                index: i as u64,
                id: origin[i].0.clone(),
                path: e.path().to_string(),
                reason: e.message().to_string(),
                fatal: false,
            })
    });
    let opts = ImportOptions {
        default_label: label,
        ..Default::default()
    };
    let report = match state
        .0
        .store
        .import(subject, &mut items, &opts, &mut |_| {})
    {
        Ok(r) => r,
        Err(StoreError::Aborted(r)) => {
            return Err(AppError::Unprocessable(format!(
                "{}: {} (nothing stored)",
                r.path, r.reason
            )))
        }
        Err(e) => return Err(e.into()),
    };
    // A refusal names the event's attribute or object, then the place in the STIX
    // object it became.
    let invalid: Vec<Value> = report
        .invalid
        .iter()
        .map(|r| {
            let (id, at) = origin
                .get(r.index as usize)
                .cloned()
                .unwrap_or((r.id.clone(), "Event".into()));
            let inner = r.path.strip_prefix('$').unwrap_or(&r.path);
            json!({
                "index": r.index,
                "id": r.id.clone().or(id),
                "path": format!("{at}{}", if inner.is_empty() { String::new() } else { format!(" → {inner}") }),
                "reason": r.reason,
            })
        })
        .collect();
    let warnings: Vec<Value> = conv
        .warnings
        .iter()
        .map(|w| json!({"path": w.path, "message": w.message}))
        .collect();
    Ok(json!({
        "format": "misp",
        "new": report.new,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "invalid": invalid,
        "warnings": warnings,
        "container": container,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_tells_a_bundle_from_a_misp_event() {
        assert_eq!(
            sniff(b"  {\"type\": \"bundle\", \"id\": \"bundle--1\""),
            Some(Format::Stix)
        );
        assert_eq!(sniff(b"[{\"type\":\"indicator\"}]"), Some(Format::Stix));
        assert_eq!(sniff(b"{\"Event\": {\"info\": \"x\"}}"), Some(Format::Misp));
        assert_eq!(sniff(b"\xef\xbb\xbf{\"Event\":{}}"), Some(Format::Misp));
        // A bare event starts with its id, as a bundle may: the whole document decides.
        assert_eq!(sniff(b"{\"id\": \"12\", \"info\": \"x\"}"), None);
        assert_eq!(sniff(b"{\"Eve"), None);
        assert_eq!(sniff(b"not json"), None);
    }

    #[test]
    fn refusals_are_named_by_their_place_in_the_event() {
        let doc = serde_json::json!({"Event": {
            "Attribute": [{"uuid": "A1"}, {"uuid": "a2"}],
            "Object": [{"uuid": "o1", "Attribute": [{"uuid": "oa"}]}]
        }});
        let m = misp_paths(&doc);
        assert_eq!(m["a1"], "Event.Attribute[0]");
        assert_eq!(m["a2"], "Event.Attribute[1]");
        assert_eq!(m["o1"], "Event.Object[0]");
        assert_eq!(m["oa"], "Event.Object[0].Attribute[0]");
    }
}
