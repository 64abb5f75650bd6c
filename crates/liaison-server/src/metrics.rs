//! Request counters and latency histograms, rendered in the Prometheus text format,
//! plus one structured log line per request.

use crate::{blocking, AppError, AppState, Caller, Scope};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// The server's metrics.
#[derive(Default)]
pub struct Metrics {
    // (method, route, status) → count; (method, route) → latency histogram
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Series>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, secs: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let s = l
                .entry((method.to_string(), route.to_string()))
                .or_default();
            s.count += 1;
            s.sum += secs;
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    s.buckets[i] += 1;
                }
            }
        }
    }
}

/// Middleware: count, time and log every request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.0.metrics.record(&method, &route, status, secs);
    tracing::info!(
        target: "liaison_server::request",
        method = %method,
        path = %path,
        route = %route,
        status,
        micros = (secs * 1e6) as u64,
        "request"
    );
    resp
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `GET /metrics` (administrators): Prometheus text format.
pub async fn render(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    caller.require(Scope::Admin)?;
    let st = state.clone();
    let (sizes, file) = blocking(move || {
        let store = &st.0.store;
        Ok((store.collection_sizes()?, store.file_size()))
    })
    .await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP liaison_http_requests_total HTTP requests handled."
    );
    let _ = writeln!(out, "# TYPE liaison_http_requests_total counter");
    if let Ok(r) = state.0.metrics.requests.lock() {
        for ((m, route, status), n) in r.iter() {
            let _ = writeln!(
                out,
                "liaison_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP liaison_http_request_duration_seconds Time to answer a request."
    );
    let _ = writeln!(
        out,
        "# TYPE liaison_http_request_duration_seconds histogram"
    );
    if let Ok(l) = state.0.metrics.latency.lock() {
        for ((m, route), s) in l.iter() {
            let labels = format!("method=\"{m}\",route=\"{}\"", escape(route));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "liaison_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "liaison_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "liaison_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "liaison_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP liaison_store_bytes Size of the store's database file."
    );
    let _ = writeln!(out, "# TYPE liaison_store_bytes gauge");
    let _ = writeln!(out, "liaison_store_bytes {file}");
    let _ = writeln!(
        out,
        "# HELP liaison_collection_entries Object versions held per TAXII collection."
    );
    let _ = writeln!(out, "# TYPE liaison_collection_entries gauge");
    for (c, n) in sizes {
        let _ = writeln!(
            out,
            "liaison_collection_entries{{collection=\"{}\"}} {n}",
            escape(&c)
        );
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
