//! Upload, export, feeds and administration pages.

use super::html::esc;
use super::i18n::{t, term, M};
use super::Viewer;
use crate::{blocking, AppError, AppState, Scope};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::response::Response;
use liaison_store::Store;
use serde_json::Value;
use std::fmt::Write;

pub(crate) async fn export(v: Viewer) -> Response {
    let l = v.lang;
    let b = format!(
        "<h1>{}</h1><p>{}</p><form class=\"stack\" method=\"get\" action=\"/api/v1/export\" id=\"export-form\">\
         <label>{}<input name=\"type\" placeholder=\"indicator,malware\"></label>\
         <label>{}<input name=\"since\" placeholder=\"2026-01-01T00:00:00Z\"></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"all_versions\" value=\"true\"> {}</label>\
         <button>{}</button></form>",
        t(l, M::Export),
        t(l, M::ExportHelp),
        t(l, M::ExportTypes),
        t(l, M::ExportSince),
        t(l, M::AllVersions),
        t(l, M::Download)
    );
    v.page("export", t(l, M::Export), None, &b)
}

/// Percent-decode a query component (`+` is a space).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() && s.is_char_boundary(i + 1) && s.is_char_boundary(i + 3) => {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            x => out.push(x),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The objects ticked on a search page (`id=…&id=…`), as a STIX bundle with their labels
/// written in. An id the viewer may not read is left out exactly as an absent one.
pub(crate) async fn export_selection(
    State(state): State<AppState>,
    v: Viewer,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Response {
    let ids: Vec<String> = q
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "id")
        .map(|(_, v)| decode(v))
        .take(1000)
        .collect();
    let st = state.clone();
    let subject = v.caller.subject.clone();
    let r = blocking(move || {
        let store = &st.0.store;
        let mut objects = Vec::new();
        for id in &ids {
            if let Some(o) = store.get(&subject, id)? {
                objects.push(store.labelled_value(&o));
            }
        }
        Ok(objects)
    })
    .await;
    let objects = match r {
        Ok(o) => o,
        Err(e) => return v.error(e),
    };
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": format!("bundle--{}", uuid::Uuid::new_v4()),
        "objects": objects,
    });
    let mut r = (axum::http::StatusCode::OK, bundle.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/stix+json;version=2.1"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"liaison-selection.json\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) async fn feeds(State(state): State<AppState>, v: Viewer) -> Response {
    let l = v.lang;
    let st = state.clone();
    let subject = v.caller.subject.clone();
    // The store lists only the feeds whose label the viewer may read.
    let list = match blocking(move || Ok(st.0.store.feeds(&subject)?)).await {
        Ok(x) => x,
        Err(e) => return v.error(e),
    };
    let policy = state.0.store.policy();
    let mut b = format!("<h1>{}</h1>", t(l, M::Feeds));
    if list.is_empty() {
        let _ = write!(b, "<p id=\"feeds-empty\">{}</p>", t(l, M::NoFeeds));
        return v.page("feeds", t(l, M::Feeds), None, &b);
    }
    let _ = write!(
        b,
        "<table class=\"list\" id=\"feeds\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t(l, M::Name),
        t(l, M::Health),
        t(l, M::LastRun),
        t(l, M::LastSuccess),
        t(l, M::NextRun),
        t(l, M::Failures),
        t(l, M::Counts),
        t(l, M::LastError)
    );
    let s = |x: &Value, k: &str| esc(x.get(k).and_then(Value::as_str).unwrap_or(""));
    let n = |x: &Value, k: &str| x.get(k).and_then(Value::as_u64).unwrap_or(0);
    for f in &list {
        let health = crate::feeds_api::health(&f.config, &f.state);
        let _ = write!(
            b,
            "<tr class=\"nav-row\"><td><b>{}</b> {}</td><td><span class=\"health h-{}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{} · {} · {} · {}</td><td class=\"error-text\">{}</td></tr>",
            esc(&f.name),
            super::html::portion(policy, &f.label),
            health.replace(' ', "-"),
            term(l, health),
            s(&f.state, "last_run"),
            s(&f.state, "last_success"),
            s(&f.state, "next_run"),
            n(&f.state, "failures"),
            n(&f.state, "runs"),
            n(&f.state, "items"),
            n(&f.state, "stored"),
            n(&f.state, "rejected"),
            s(&f.state, "last_error"),
        );
    }
    b.push_str("</tbody></table>");
    let top = super::html::high_water(policy, list.iter().map(|f| &f.label));
    v.page("feeds", t(l, M::Feeds), top.as_deref(), &b)
}

pub(crate) async fn admin(State(state): State<AppState>, v: Viewer) -> Response {
    if let Err(e) = v.caller.require(Scope::Admin) {
        return v.error(e);
    }
    let l = v.lang;
    let st = state.clone();
    let tokens = match blocking(move || {
        st.0.auth
            .tokens(None)
            .map_err(|e| AppError::Internal(e.to_string()))
    })
    .await
    {
        Ok(t) => t,
        Err(e) => return v.error(e),
    };
    let dir = &state.0.users;
    let policy = state.0.store.policy();
    let mut b = format!(
        "<h1>{}</h1><p class=\"muted\" id=\"admin-help\">{}</p>",
        t(l, M::Admin),
        t(l, M::AdminDirHelp)
    );
    let _ = write!(
        b,
        "<section id=\"orgs\"><h2>{}</h2><table class=\"list\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t(l, M::Orgs),
        t(l, M::Id),
        t(l, M::Name),
        t(l, M::Units),
        t(l, M::Members)
    );
    let users = dir.all();
    for o in dir.orgs() {
        // Each unit with its members, and the organization's members in no unit.
        let mut units = String::from("<ul class=\"plain\">");
        for u in &o.units {
            let members: Vec<&str> = users
                .iter()
                .filter(|s| s.org == o.id && s.unit.as_deref() == Some(u.id.as_str()))
                .map(|s| s.name.as_str())
                .collect();
            let _ = write!(
                units,
                "<li data-unit=\"{}/{}\"><b>{}</b> ({}) <span class=\"count\">{}</span> <span class=\"muted\">{}</span></li>",
                esc(&o.id),
                esc(&u.id),
                esc(&u.id),
                esc(&u.name),
                members.len(),
                esc(&members.join(", "))
            );
        }
        units.push_str("</ul>");
        let n = users.iter().filter(|s| s.org == o.id).count();
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{units}</td><td class=\"num\">{n}</td></tr>",
            esc(&o.id),
            esc(&o.name),
        );
    }
    b.push_str("</tbody></table></section>");
    let _ = write!(
        b,
        "<section id=\"users\"><h2>{}</h2><table class=\"list\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t(l, M::Users),
        t(l, M::User),
        t(l, M::Org),
        t(l, M::Unit),
        t(l, M::Clearance),
        t(l, M::Compartments),
        t(l, M::Roles),
        t(l, M::SetPassword)
    );
    for u in dir.all() {
        let roles: Vec<String> = u
            .roles
            .iter()
            .map(|r| term(l, &format!("{r:?}").to_ascii_lowercase()).to_string())
            .collect();
        let _ = write!(
            b,
            "<tr data-user=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><form method=\"post\" action=\"/ui/admin/password\" class=\"inline\">{}<input type=\"hidden\" name=\"user\" value=\"{}\">\
             <input type=\"password\" name=\"password\" minlength=\"8\" required autocomplete=\"new-password\" placeholder=\"{}\" aria-label=\"{}\"><button>{}</button></form></td></tr>",
            esc(&u.name),
            esc(&u.name),
            esc(&u.org),
            esc(u.unit.as_deref().unwrap_or("")),
            esc(policy.level_name(u.clearance)),
            esc(&u
                .compartments
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")),
            esc(&roles.join(", ")),
            v.csrf_field(),
            esc(&u.name),
            t(l, M::NewPassword),
            t(l, M::NewPassword),
            t(l, M::SetPassword)
        );
    }
    b.push_str("</tbody></table></section>");
    let _ = write!(
        b,
        "<section id=\"tokens\"><h2>{}</h2><table class=\"list\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t(l, M::Tokens),
        t(l, M::Id),
        t(l, M::User),
        t(l, M::Name),
        t(l, M::Scope),
        t(l, M::Created),
        t(l, M::Revoked)
    );
    for tk in &tokens {
        let _ = write!(
            b,
            "<tr><td class=\"id\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&tk.id),
            esc(&tk.user),
            esc(&tk.name),
            term(l, tk.scope.as_str()),
            esc(&tk.created),
            if tk.revoked {
                "✔".to_string()
            } else {
                format!(
                    "<form method=\"post\" action=\"/ui/admin/tokens\" class=\"inline\">{}<input type=\"hidden\" name=\"action\" value=\"revoke\"><input type=\"hidden\" name=\"id\" value=\"{}\"><button>{}</button></form>",
                    v.csrf_field(),
                    esc(&tk.id),
                    t(l, M::Revoke)
                )
            }
        );
    }
    b.push_str("</tbody></table>");
    let user_options: String = users
        .iter()
        .map(|u| format!("<option>{}</option>", esc(&u.name)))
        .collect();
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/ui/admin/tokens\" class=\"inline\" id=\"token-form\">{}<input type=\"hidden\" name=\"action\" value=\"create\">\
         <select name=\"user\">{user_options}</select><input name=\"name\" required placeholder=\"{}\">\
         <select name=\"scope\"><option value=\"read\">{}</option><option value=\"write\">{}</option><option value=\"admin\">{}</option></select>\
         <button id=\"token-create\">{}</button></form>",
        v.csrf_field(),
        t(l, M::Name),
        term(l, "read"),
        term(l, "write"),
        term(l, "admin"),
        t(l, M::Create)
    );
    b.push_str("</section>");
    let _ = write!(
        b,
        "<section id=\"policy\"><h2>{}</h2><p>{}</p><h2>{}</h2><table class=\"list\" id=\"compartments\"><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>",
        t(l, M::Levels),
        esc(&policy.levels().join(" < ")),
        t(l, M::Compartments),
        t(l, M::Name),
        t(l, M::Holders),
    );
    // Who is read into each compartment: what a security officer reviews.
    for c in policy.compartments() {
        let holders: Vec<String> = users
            .iter()
            .filter(|u| u.compartments.contains(c))
            .map(|u| format!("{} ({})", u.name, policy.level_name(u.clearance)))
            .collect();
        let _ = write!(
            b,
            "<tr data-compartment=\"{}\"><td><b>{}</b></td><td>{}</td></tr>",
            esc(c),
            esc(c),
            if holders.is_empty() {
                t(l, M::Nobody).to_string()
            } else {
                esc(&holders.join(", "))
            }
        );
    }
    b.push_str("</tbody></table></section>");
    v.page("admin", t(l, M::Admin), None, &b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_components_are_decoded() {
        assert_eq!(super::decode("a%2Db+c"), "a-b c");
        assert_eq!(super::decode("100%"), "100%");
        assert_eq!(super::decode("%zz"), "%zz");
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

/// Create or revoke an API token (administrators). A new token's secret is shown once.
pub(crate) async fn tokens(
    State(state): State<AppState>,
    v: Viewer,
    axum::Form(f): axum::Form<TokenForm>,
) -> Response {
    if let Some(r) = v.refuse_csrf(&f.csrf) {
        return r;
    }
    if let Err(e) = v.caller.require(Scope::Admin) {
        return v.error(e);
    }
    let l = v.lang;
    match f.action.as_str() {
        "revoke" => {
            let st = state.clone();
            let asked = f.id.clone();
            let r = blocking(move || {
                st.0.auth.revoke_token(&f.id, None).map_err(|e| match e {
                    crate::AuthError::Unknown(_) => AppError::NotFound,
                    other => AppError::Internal(other.to_string()),
                })
            })
            .await;
            let outcome = if r.is_ok() { "ok" } else { "refused" };
            state.audit(
                &v.caller.subject.name,
                liaison_protect::audit::action::PERMISSION,
                Some(&asked),
                &format!("token revoke (web): {outcome}"),
            );
            match r {
                Ok(()) => super::redirect("/ui/admin#tokens"),
                Err(e) => v.error(e),
            }
        }
        "create" => {
            let Some(scope) = Scope::parse(&f.scope) else {
                return v.error(AppError::BadRequest(format!(
                    "scope: '{}' is not read, write or admin",
                    f.scope
                )));
            };
            let Some(target) = state.0.users.get(&f.user) else {
                return v.error(AppError::BadRequest(format!(
                    "user: no user named '{}'",
                    f.user
                )));
            };
            if scope == Scope::Admin && !target.roles.contains(&liaison_policy::Role::Admin) {
                return v.error(AppError::BadRequest(format!(
                    "scope: '{}' is not an administrator",
                    f.user
                )));
            }
            let st = state.clone();
            let r = blocking(move || {
                st.0.auth
                    .create_token(&f.user, f.name.trim(), scope, None)
                    .map_err(|e| AppError::Internal(e.to_string()))
            })
            .await;
            if let Ok((info, _)) = &r {
                state.audit(
                    &v.caller.subject.name,
                    liaison_protect::audit::action::PERMISSION,
                    Some(&info.id),
                    &format!(
                        "token created (web) for {} scope {}",
                        info.user,
                        info.scope.as_str()
                    ),
                );
            }
            match r {
                Ok((info, secret)) => {
                    let b = format!(
                        "<h1>{}</h1><p>{} <b>{}</b> ({}, {})</p><pre id=\"token-secret\" class=\"report\">{}</pre><p><a href=\"/ui/admin\">{}</a></p>",
                        t(l, M::Tokens),
                        t(l, M::TokenOnce),
                        esc(&info.name),
                        esc(&info.user),
                        info.scope.as_str(),
                        esc(&secret),
                        t(l, M::Admin)
                    );
                    v.page("admin", t(l, M::Tokens), None, &b)
                }
                Err(e) => v.error(e),
            }
        }
        other => v.error(AppError::BadRequest(format!(
            "action: unknown action '{other}'"
        ))),
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    user: String,
    password: String,
}

/// Set a user's password (administrators), as `liaison serve passwd` does; recorded
/// in the audit log without the password.
pub(crate) async fn password(
    State(state): State<AppState>,
    v: Viewer,
    axum::Form(f): axum::Form<PasswordForm>,
) -> Response {
    if let Some(r) = v.refuse_csrf(&f.csrf) {
        return r;
    }
    if let Err(e) = v.caller.require(Scope::Admin) {
        return v.error(e);
    }
    let l = v.lang;
    if state.0.users.get(&f.user).is_none() {
        return v.error(AppError::BadRequest(format!(
            "user: no user named '{}'",
            f.user
        )));
    }
    if f.password.chars().count() < 8 {
        return v.error(AppError::BadRequest(
            "password: a password needs at least 8 characters".into(),
        ));
    }
    let st = state.clone();
    let user = f.user.clone();
    let r = blocking(move || {
        st.0.auth
            .set_password(&user, &f.password)
            .map_err(|e| AppError::Internal(e.to_string()))
    })
    .await;
    state.audit(
        &v.caller.subject.name,
        liaison_protect::audit::action::PERMISSION,
        None,
        &format!(
            "password set (web) for {}: {}",
            f.user,
            if r.is_ok() { "ok" } else { "failed" }
        ),
    );
    match r {
        Ok(()) => {
            let b = format!(
                "<h1>{}</h1><p id=\"password-set\">{} <b>{}</b></p><p><a href=\"/ui/admin\">{}</a></p>",
                t(l, M::SetPassword),
                t(l, M::PasswordSet),
                esc(&f.user),
                t(l, M::Admin)
            );
            v.page("admin", t(l, M::SetPassword), None, &b)
        }
        Err(e) => v.error(e),
    }
}
