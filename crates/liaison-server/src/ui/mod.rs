//! The web UI for analysts: server-rendered HTML under `/ui/`, with small hand-written
//! scripts (keyboard navigation, the neighbourhood graph, upload progress) embedded in
//! the binary.
//!
//! Every page reads through the store with the viewer's [`liaison_policy::Subject`], as
//! the REST API does, so what a page lists, counts or draws is what the store lets that
//! subject read; an object the viewer may not read gets the same "not found" page as an
//! absent one. Forms that change anything carry a CSRF token bound to the session.

mod admin;
mod html;
pub mod i18n;
mod pages;
mod upload;
mod work;

pub(crate) use upload::upload_label;

use crate::{blocking, AppError, AppState, Caller, SESSION_COOKIE};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use html::{esc, Shell};
use i18n::{t, Lang, M};
use liaison_policy::Role;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The UI's routes (merged into [`crate::app`]).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { redirect("/ui/") }))
        .route("/ui", get(|| async { redirect("/ui/") }))
        .route("/ui/", get(pages::dashboard))
        .route("/ui/login", get(login_form).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/assets/{name}", get(asset))
        .route("/ui/search", get(pages::search))
        .route("/ui/object/{id}", get(pages::object))
        .route("/ui/graph/{id}", get(pages::graph))
        .route("/ui/graph-data/{id}", get(pages::graph_data))
        .route("/ui/tasks", get(work::tasks))
        .route(
            "/ui/tasks/new",
            get(work::new_task_form).post(work::new_task),
        )
        .route("/ui/task/{id}", get(work::task))
        .route("/ui/task/{id}/act", post(work::task_act))
        .route("/ui/alerts", get(work::alerts))
        .route("/ui/alert/{id}", get(work::alert))
        .route("/ui/alert/{id}/act", post(work::alert_act))
        .route("/ui/upload", get(upload::page))
        .route("/ui/upload/import", post(upload::import))
        .route("/ui/export", get(admin::export))
        .route("/ui/export/selection", get(admin::export_selection))
        .route("/ui/feeds", get(admin::feeds))
        .route("/ui/admin", get(admin::admin))
        .route("/ui/admin/tokens", post(admin::tokens))
        .route("/ui/admin/password", post(admin::password))
        .route("/ui/{*rest}", get(not_found_page))
        .layer(axum::middleware::from_fn(remember_lang))
}

/// `?lang=` on any UI address: the page is drawn in that language and the choice is
/// kept in a cookie. The request is given the cookie it is about to receive, so that
/// every handler learns the language one way ([`lang_of`]).
async fn remember_lang(mut req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let chosen = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("lang="))
            .and_then(Lang::from_code)
    });
    if let Some(l) = chosen {
        let c = format!("{}={}", i18n::LANG_COOKIE, l.code());
        if let Ok(v) = HeaderValue::from_str(&c) {
            req.headers_mut().append(header::COOKIE, v);
        }
    }
    let mut res = next.run(req).await;
    if let Some(l) = chosen {
        let c = format!(
            "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            i18n::LANG_COOKIE,
            l.code()
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// The page language of a request: its language cookie (which `?lang=` sets, see
/// [`remember_lang`]), else its Accept-Language, else English. The last cookie wins:
/// the one `?lang=` added comes after any the browser sent.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    let chosen = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .rfind(|(k, _)| *k == i18n::LANG_COOKIE)
        .map(|(_, v)| v);
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::choose(None, chosen, accept)
}

/// The signed-in viewer of a page.
pub(crate) struct Viewer {
    /// Who, with what credential.
    pub caller: Caller,
    /// The CSRF token of the session (empty for password or token callers, who
    /// cannot post forms).
    pub csrf: String,
    /// The page language.
    pub lang: Lang,
    /// The page's address without `lang` (for the language switcher), for GETs.
    pub here: Option<String>,
}

impl Viewer {
    fn shell<'a>(&'a self, nav: &'a str) -> Shell<'a> {
        Shell {
            lang: self.lang,
            user: Some(&self.caller.subject.name),
            admin: self.is_admin(),
            csrf: &self.csrf,
            nav,
            here: self.here.as_deref(),
        }
    }

    fn is_admin(&self) -> bool {
        self.caller.subject.roles.contains(&Role::Admin)
    }

    /// A whole page for this viewer.
    pub fn page(&self, nav: &str, title: &str, banner: Option<&str>, body: &str) -> Response {
        html_response(
            StatusCode::OK,
            html::page(&self.shell(nav), title, banner, body),
        )
    }

    /// A hidden CSRF field for a form.
    pub fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            esc(&self.csrf)
        )
    }

    /// The refusal of a form post whose token is not this session's, if it is not.
    pub fn refuse_csrf(&self, token: &str) -> Option<Response> {
        if !self.csrf.is_empty() && same(self.csrf.as_bytes(), token.as_bytes()) {
            None
        } else {
            Some(error_page(
                self.lang,
                StatusCode::FORBIDDEN,
                t(self.lang, M::SessionExpired),
            ))
        }
    }

    /// The page for an error, with the navigation.
    pub fn error(&self, e: AppError) -> Response {
        let status = e.status();
        if status == StatusCode::NOT_FOUND {
            return not_found(self.lang);
        }
        let msg = if status.is_server_error() {
            tracing::error!(error = %e, "ui request failed");
            t(self.lang, M::Error).to_string()
        } else {
            e.to_string()
        };
        let body = format!(
            "<h1>{}</h1><p class=\"error\">{}</p>",
            t(self.lang, M::Error),
            esc(&msg)
        );
        html_response(
            status,
            html::page(&self.shell(""), t(self.lang, M::Error), None, &body),
        )
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = lang_of(&parts.headers);
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => {
                let csrf = crate::session_cookie(&parts.headers)
                    .map(|s| csrf_of(&s))
                    .unwrap_or_default();
                let here = (parts.method == axum::http::Method::GET)
                    .then(|| {
                        parts
                            .uri
                            .path_and_query()
                            .map(|p| html::without_lang(p.as_str()))
                    })
                    .flatten();
                Ok(Viewer {
                    caller,
                    csrf,
                    lang,
                    here,
                })
            }
            Err(AppError::Unauthorized) => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/ui/");
                Err(redirect(&format!("/ui/login?next={}", html::url(next))))
            }
            Err(e) => Err(error_page(lang, e.status(), &e.to_string())),
        }
    }
}

/// The CSRF token of a session: a hash of its secret, which only the session's browser
/// holds (the cookie is HttpOnly), so another site cannot know it.
fn csrf_of(session: &str) -> String {
    hex::encode(Sha256::digest(
        format!("liaison-ui-csrf\u{0}{session}").as_bytes(),
    ))
}

/// Constant-time equality of two tokens.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages show labelled intelligence: no caching, no framing, no outside scripts.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

pub(crate) fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A page without navigation (for errors before sign-in).
fn error_page(lang: Lang, status: StatusCode, msg: &str) -> Response {
    let shell = Shell {
        lang,
        user: None,
        admin: false,
        csrf: "",
        nav: "",
        here: None,
    };
    let body = format!(
        "<h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/ui/\">{}</a></p>",
        t(lang, M::Error),
        esc(msg),
        t(lang, M::Dashboard)
    );
    html_response(status, html::page(&shell, t(lang, M::Error), None, &body))
}

/// The one "not found" page: the same bytes for an absent object, a forbidden one and
/// an unknown address, so a page never tells which.
pub(crate) fn not_found(lang: Lang) -> Response {
    let shell = Shell {
        lang,
        user: None,
        admin: false,
        csrf: "",
        nav: "",
        here: None,
    };
    let body = format!(
        "<h1>{}</h1><p>{}</p><p><a href=\"/ui/\">{}</a></p>",
        t(lang, M::NotFound),
        t(lang, M::NotFoundText),
        t(lang, M::Dashboard)
    );
    html_response(
        StatusCode::NOT_FOUND,
        html::page(&shell, t(lang, M::NotFound), None, &body),
    )
}

async fn not_found_page(headers: HeaderMap) -> Response {
    not_found(lang_of(&headers))
}

const LOGIN_CSRF: &str = "liaison_login_csrf";

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn secure_attr(state: &AppState) -> &'static str {
    if state.0.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct NextParam {
    #[serde(default)]
    next: Option<String>,
}

/// Only our own pages are redirect targets (no open redirect through `next`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.contains("//") && !n.contains('\\') => n.into(),
        _ => "/ui/".into(),
    }
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    status: StatusCode,
    msg: Option<&str>,
) -> Response {
    let lang = lang_of(headers);
    // A login form carries a token that must match a cookie set with it, so another
    // site cannot sign a browser in under an account of its choosing.
    let token = cookie(headers, LOGIN_CSRF)
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| {
            use rand::RngCore;
            let mut b = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut b);
            hex::encode(b)
        });
    let here = format!("/ui/login?next={}", html::url(next));
    let shell = Shell {
        lang,
        user: None,
        admin: false,
        csrf: "",
        nav: "",
        here: Some(&here),
    };
    let err = msg
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "<section class=\"login\"><h1>{app}</h1>{err}<form method=\"post\" action=\"/ui/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\"><input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <label>{u}<input name=\"username\" id=\"username\" autocomplete=\"username\" required autofocus></label>\
         <label>{p}<input name=\"password\" id=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button id=\"signin\">{s}</button></form></section>",
        app = t(lang, M::AppName),
        next = esc(next),
        u = t(lang, M::User),
        p = t(lang, M::Password),
        s = t(lang, M::SignIn),
    );
    let mut r = html_response(status, html::page(&shell, t(lang, M::SignIn), None, &body));
    let c = format!(
        "{LOGIN_CSRF}={token}; Path=/ui/login; HttpOnly; SameSite=Strict{}",
        secure_attr(state)
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::Query(p): crate::Query<NextParam>,
) -> Response {
    login_page(
        &state,
        &headers,
        &safe_next(p.next.as_deref()),
        StatusCode::OK,
        None,
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(State(state): State<AppState>, headers: HeaderMap, f: Form<LoginForm>) -> Response {
    let Form(f) = f;
    let lang = lang_of(&headers);
    let next = safe_next(f.next.as_deref());
    let expected = cookie(&headers, LOGIN_CSRF).unwrap_or_default();
    if expected.is_empty() || !same(expected.as_bytes(), f.csrf.as_bytes()) {
        return login_page(
            &state,
            &headers,
            &next,
            StatusCode::FORBIDDEN,
            Some(t(lang, M::SessionExpired)),
        );
    }
    let st = state.clone();
    let user = f.username.clone();
    let checked = blocking(move || {
        use liaison_protect::audit::action::LOGIN;
        if st.0.failures.blocked(&f.username) {
            st.audit(
                &f.username,
                LOGIN,
                None,
                "web login: refused (too many failures)",
            );
            return Err(AppError::TooManyRequests);
        }
        let known = st.0.users.get(&f.username).is_some();
        let ok =
            st.0.auth
                .verify_password(&f.username, &f.password)
                .map_err(|e| AppError::Internal(e.to_string()))?
                && known;
        if !ok {
            st.0.failures.record(&f.username);
        }
        st.audit(
            &f.username,
            LOGIN,
            None,
            if ok {
                "web login: ok"
            } else {
                "web login: refused"
            },
        );
        Ok(ok)
    })
    .await;
    match checked {
        Ok(true) => {}
        Ok(false) => {
            return login_page(
                &state,
                &headers,
                &next,
                StatusCode::UNAUTHORIZED,
                Some(t(lang, M::BadLogin)),
            )
        }
        Err(AppError::TooManyRequests) => {
            return login_page(
                &state,
                &headers,
                &next,
                StatusCode::TOO_MANY_REQUESTS,
                Some(t(lang, M::TooManyAttempts)),
            )
        }
        Err(e) => return error_page(lang, e.status(), t(lang, M::Error)),
    }
    let session = state.0.auth.start_session(&user);
    let mut r = redirect(&next);
    let v = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        crate::auth::SESSION_TTL.as_secs(),
        secure_attr(&state)
    );
    if let Ok(v) = HeaderValue::from_str(&v) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = viewer.refuse_csrf(&f.csrf) {
        return r;
    }
    if let Some(c) = crate::session_cookie(&headers) {
        state.0.auth.end_session(&c);
    }
    let mut r = redirect("/ui/login");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("liaison_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

/// The hand-written assets, embedded.
async fn asset(crate::Path(name): crate::Path<String>) -> Response {
    let (body, ct): (&'static str, &'static str) = match name.as_str() {
        "ui.css" => (
            include_str!("../../assets/ui.css"),
            "text/css; charset=utf-8",
        ),
        "ui.js" => (
            include_str!("../../assets/ui.js"),
            "text/javascript; charset=utf-8",
        ),
        "graph.js" => (
            include_str!("../../assets/graph.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return not_found(Lang::En),
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_our_pages() {
        assert_eq!(safe_next(Some("/ui/tasks?x=1")), "/ui/tasks?x=1");
        assert_eq!(safe_next(Some("https://evil.example/")), "/ui/");
        assert_eq!(safe_next(Some("/ui//evil.example")), "/ui/");
        assert_eq!(safe_next(None), "/ui/");
    }

    #[test]
    fn csrf_is_per_session_and_compared_whole() {
        let a = csrf_of("s1");
        assert_ne!(a, csrf_of("s2"));
        assert!(same(a.as_bytes(), csrf_of("s1").as_bytes()));
        assert!(!same(a.as_bytes(), &a.as_bytes()[..10]));
    }
}
