//! One error type for every route, rendered as TAXII's error resource.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use liaison_store::StoreError;
use serde_json::json;

/// An error answered to the client. Client errors (4xx) carry their message; server
/// errors (5xx) are logged and answered without details.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed (the message says where).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or wrong credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: absent, or not visible to the caller (the two are indistinguishable).
    #[error("not found")]
    NotFound,
    /// 406: the client does not accept our media type.
    #[error("{0}")]
    NotAcceptable(String),
    /// 413: the body is larger than the configured limit.
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    /// 415: the body's media type is not the one this route takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the body is well-formed but invalid.
    #[error("{0}")]
    Unprocessable(String),
    /// 429: too many failed sign-ins for this name; refused for the failure window
    /// (`Retry-After: 60`).
    #[error("too many failed attempts; retry later")]
    TooManyRequests,
    /// 429: the caller's request rate limit is exhausted; retry after this many seconds.
    #[error("rate limit exceeded; retry after {0} s")]
    RateLimited(u64),
    /// 500: anything else (details are logged, not returned).
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests | AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Denied(m) => AppError::Forbidden(m),
            StoreError::NotFound(_) => AppError::NotFound,
            StoreError::Policy(p) => AppError::BadRequest(p.to_string()),
            StoreError::Aborted(r) => AppError::Unprocessable(format!(
                "object {} ({}): {}: {}; nothing was stored",
                r.index,
                r.id.as_deref().unwrap_or("no id"),
                r.path,
                r.reason
            )),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let description = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "the server failed to handle the request".to_string()
        } else {
            self.to_string()
        };
        let body = json!({
            "title": status.canonical_reason().unwrap_or("error"),
            "description": description,
            "http_status": status.as_u16().to_string(),
        });
        let retry_after = match &self {
            AppError::TooManyRequests => Some(60),
            AppError::RateLimited(s) => Some(*s),
            _ => None,
        };
        let mut resp = (status, body.to_string()).into_response();
        if let Some(s) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"liaison\", Bearer"),
            );
        }
        resp
    }
}
