//! Optional webhook: every new alert is POSTed as JSON to the configured URL, retried with
//! exponential backoff on a network error or a non-2xx answer, in the background (a slow or
//! dead receiver never holds up the monitor). Delivery is at-least-once while the process
//! lives; the alert itself is already stored and audited before the first attempt.

use std::time::Duration;

use crossauthz_store::Alert;
use serde::{Deserialize, Serialize};

/// `[monitor.webhook]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST (https, or http on loopback for development).
    pub url: url::Url,
    /// Attempts per alert (at least 1).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Delay before the second attempt, doubled after each failure, in milliseconds.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// Per-attempt timeout, in milliseconds.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_attempts() -> u32 {
    5
}
fn default_backoff() -> u64 {
    500
}
fn default_timeout() -> u64 {
    5000
}

/// Why a webhook configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Not https (nor http to a loopback address).
    #[error("webhook URL must be https (or http to a loopback address)")]
    Scheme,
    /// The HTTP client could not be built.
    #[error("webhook client: {0}")]
    Client(String),
}

/// A configured webhook.
#[derive(Debug, Clone)]
pub struct Webhook {
    config: WebhookConfig,
    client: reqwest::Client,
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

impl Webhook {
    /// Checks the configuration and builds the client (no redirects followed).
    pub fn new(config: WebhookConfig) -> Result<Self, WebhookError> {
        let ok = config.url.scheme() == "https"
            || (config.url.scheme() == "http" && is_loopback(&config.url));
        if !ok {
            return Err(WebhookError::Scheme);
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(config.timeout_ms.max(1)))
            .build()
            .map_err(|e| WebhookError::Client(e.to_string()))?;
        Ok(Self { config, client })
    }

    /// Delivers `alert` in the background.
    pub fn send(&self, alert: &Alert) {
        let this = self.clone();
        let alert = alert.clone();
        tokio::spawn(async move {
            this.deliver(&alert).await;
        });
    }

    /// Delivers `alert` with retries; true when a 2xx answer was received.
    pub async fn deliver(&self, alert: &Alert) -> bool {
        let mut delay = Duration::from_millis(self.config.backoff_ms);
        for attempt in 1..=self.config.attempts.max(1) {
            let result = self
                .client
                .post(self.config.url.clone())
                .json(alert)
                .send()
                .await;
            match result {
                Ok(r) if r.status().is_success() => return true,
                Ok(r) => {
                    tracing::warn!(alert_id = %alert.id, attempt, status = %r.status(), "webhook refused the alert")
                }
                Err(e) => {
                    tracing::warn!(alert_id = %alert.id, attempt, error = %e, "webhook unreachable")
                }
            }
            if attempt < self.config.attempts {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
        }
        tracing::error!(alert_id = %alert.id, "webhook delivery gave up");
        false
    }
}
