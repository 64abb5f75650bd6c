//! Webhook delivery: the monitor queues deliveries in the store (in the same
//! transaction as the notifications); this sender POSTs the due ones with the body
//! signed (`X-Liaison-Signature: sha256=<HMAC-SHA256 hex>` under the configured
//! secret, `liaison_tasks::sign`), records every attempt in the delivery log, and
//! retries failures with exponential backoff until `max_attempts`. Deliveries survive
//! a restart (they are rows, not memory).

use crate::tasks_api::MonitorSettings;
use crate::AppState;
use liaison_store::{Delivery, SqliteStore};
use liaison_tasks::sign::{signature_header, SIGNATURE_HEADER};
use std::time::Duration;

/// What a round of deliveries did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Delivered (2xx).
    pub delivered: usize,
    /// Failed, to be retried.
    pub retrying: usize,
    /// Failed for the last time.
    pub given_up: usize,
}

/// The HTTP client for webhooks (rustls, no proxy from the environment, 10 s timeout).
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .user_agent(concat!("liaison/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The delay before attempt `attempts + 1`: `base * 2^(attempts-1)`, at most an hour.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let f = 1u32 << attempts.saturating_sub(1).min(16);
    (base * f).min(Duration::from_secs(3600))
}

async fn post(
    client: &reqwest::Client,
    d: &Delivery,
    secret: &[u8],
) -> Result<u16, (Option<u16>, String)> {
    let resp = client
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            SIGNATURE_HEADER,
            signature_header(secret, d.body.as_bytes()),
        )
        .header("X-Liaison-Delivery", d.id.to_string())
        .body(d.body.clone())
        .send()
        .await
        .map_err(|e| (None, e.to_string()))?;
    let code = resp.status().as_u16();
    if resp.status().is_success() {
        Ok(code)
    } else {
        Err((Some(code), format!("HTTP {code}")))
    }
}

/// Send the deliveries due at `now_ms` and record each attempt.
pub async fn send_due(
    store: std::sync::Arc<SqliteStore>,
    client: &reqwest::Client,
    settings: &MonitorSettings,
    now_ms: i64,
) -> Result<SendReport, crate::AppError> {
    let mut report = SendReport::default();
    let Some(secret) = settings.secret.clone() else {
        // Unsigned bodies are never sent; the configuration check refuses a webhook
        // without a secret, so this is a deployment without webhooks.
        return Ok(report);
    };
    let st = store.clone();
    let due = crate::blocking(move || Ok(st.due_deliveries(now_ms, 100)?)).await?;
    for d in due {
        let outcome = post(client, &d, &secret).await;
        let attempts = d.attempts + 1;
        let (ok, code, err, next) = match outcome {
            Ok(code) => {
                report.delivered += 1;
                (true, Some(code), None, None)
            }
            Err((code, e)) => {
                let next = (attempts < settings.max_attempts)
                    .then(|| now_ms + backoff(settings.retry_base, attempts).as_millis() as i64);
                if next.is_some() {
                    report.retrying += 1;
                } else {
                    report.given_up += 1;
                }
                tracing::warn!(url = %d.url, delivery = d.id, attempts, error = %e, "webhook delivery failed");
                (false, code, Some(e), next)
            }
        };
        let st = store.clone();
        crate::blocking(move || {
            Ok(st.delivery_attempt(d.id, ok, code, err.as_deref(), next, now_ms)?)
        })
        .await?;
    }
    Ok(report)
}

/// Send due deliveries every second, for as long as the server runs.
pub fn spawn_sender(state: AppState) -> tokio::task::JoinHandle<()> {
    let setup = state.tasks();
    tokio::spawn(async move {
        if setup.monitor.webhooks.is_empty() {
            return;
        }
        let client = match client() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhooks: cannot build the HTTP client; none will be sent");
                return;
            }
        };
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let now = liaison_stix::Timestamp::now().millis();
            if let Err(e) = send_due(state.store().clone(), &client, &setup.monitor, now).await {
                tracing::error!(error = %e, "webhook sender");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let b = Duration::from_secs(5);
        assert_eq!(backoff(b, 1), Duration::from_secs(5));
        assert_eq!(backoff(b, 2), Duration::from_secs(10));
        assert_eq!(backoff(b, 4), Duration::from_secs(40));
        assert_eq!(backoff(b, 30), Duration::from_secs(3600));
    }
}
