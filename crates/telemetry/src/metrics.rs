//! Process metrics, scraped at `/metrics` in the Prometheus text format.
//!
//! The instruments are OpenTelemetry meters of one process-wide `SdkMeterProvider` whose reader
//! is the Prometheus exporter (`opentelemetry-prometheus`): recording is always on (an atomic add
//! per event), and [`render`] encodes the current values. Each instrument is recorded where its
//! event happens:
//!
//! | metric | labels | recorded by |
//! |---|---|---|
//! | `crossauthz_grants_total` | `grant_type` | the gateway's token endpoint, per token issued |
//! | `crossauthz_grant_denials_total` | `grant_type`, `reason` | the gateway's token endpoint, per refusal (the verifier's deny code or the gateway's own reason) |
//! | `crossauthz_decisions_total` | `decision` (`allow`/`deny`), `reason` | the verifier, per grant decision |
//! | `crossauthz_fetch_duration_seconds` | `kind`, `outcome` (`ok` or the fetch error code) | the verifier's fetcher, per remote fetch |
//! | `crossauthz_fetch_cache_hits_total`, `crossauthz_fetch_cache_misses_total` | `kind` | the verifier's fetcher cache |
//! | `crossauthz_status_checks_total` | `outcome` (`valid`, `revoked`, `suspended`, `unavailable`, `invalid`) | the verifier, per credential status check |
//!
//! Label values must come from bounded sets (grant types the server knows, reason codes, resource
//! kinds): never a client_id, URL or other request data.

use std::sync::LazyLock;
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry_sdk::metrics::SdkMeterProvider;

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Bucket bounds of the fetch latency histogram, in seconds.
const FETCH_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Errors rendering the metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The exporter could not be set up when the process first recorded a metric.
    #[error("the metrics exporter is unavailable: {0}")]
    Unavailable(String),
    /// The registry could not be encoded.
    #[error("cannot encode the metrics: {0}")]
    Encode(String),
}

struct Instruments {
    registry: prometheus::Registry,
    /// Keeps the reader registered; dropped only at exit.
    _provider: SdkMeterProvider,
    grants: Counter<u64>,
    grant_denials: Counter<u64>,
    decisions: Counter<u64>,
    fetch_duration: Histogram<f64>,
    cache_hits: Counter<u64>,
    cache_misses: Counter<u64>,
    status_checks: Counter<u64>,
    alerts: Counter<u64>,
    monitor_events: Counter<u64>,
}

static INSTRUMENTS: LazyLock<Result<Instruments, String>> = LazyLock::new(|| {
    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .without_target_info()
        .scope_info_enabled(false)
        .build()
        .map_err(|e| e.to_string())?;
    let provider = SdkMeterProvider::builder().with_reader(exporter).build();
    let meter = provider.meter("crossauthz");
    Ok(Instruments {
        registry,
        grants: meter
            .u64_counter("crossauthz.grants")
            .with_description("Access tokens issued by the token endpoint")
            .build(),
        grant_denials: meter
            .u64_counter("crossauthz.grant_denials")
            .with_description("Token requests refused by the token endpoint, by reason")
            .build(),
        decisions: meter
            .u64_counter("crossauthz.decisions")
            .with_description("Grant decisions of the verifier, by decision and reason")
            .build(),
        fetch_duration: meter
            .f64_histogram("crossauthz.fetch.duration")
            .with_unit("s")
            .with_description("Latency of fetches from other domains (CIMD, did:web, status lists)")
            .with_boundaries(FETCH_BUCKETS.to_vec())
            .build(),
        cache_hits: meter
            .u64_counter("crossauthz.fetch.cache_hits")
            .with_description("Fetcher cache lookups answered from the cache")
            .build(),
        cache_misses: meter
            .u64_counter("crossauthz.fetch.cache_misses")
            .with_description("Fetcher cache lookups that fetched")
            .build(),
        status_checks: meter
            .u64_counter("crossauthz.status_checks")
            .with_description("Credential status checks of the verifier, by outcome")
            .build(),
        alerts: meter
            .u64_counter("crossauthz.monitor.alerts")
            .with_description("Alerts raised by the monitor, by rule, category and severity")
            .build(),
        monitor_events: meter
            .u64_counter("crossauthz.monitor.events")
            .with_description("Audit events processed by the monitor")
            .build(),
        _provider: provider,
    })
});

fn instruments() -> Option<&'static Instruments> {
    INSTRUMENTS.as_ref().ok()
}

/// The token endpoint issued a token.
pub fn grant_issued(grant_type: &str) {
    if let Some(m) = instruments() {
        m.grants
            .add(1, &[KeyValue::new("grant_type", grant_type.to_owned())]);
    }
}

/// The token endpoint refused a request for `reason` (a bounded code).
pub fn grant_denied(grant_type: &str, reason: &str) {
    if let Some(m) = instruments() {
        m.grant_denials.add(
            1,
            &[
                KeyValue::new("grant_type", grant_type.to_owned()),
                KeyValue::new("reason", reason.to_owned()),
            ],
        );
    }
}

/// The verifier decided: allowed, or denied for `reason` (its deny code).
pub fn decision(allowed: bool, reason: &str) {
    if let Some(m) = instruments() {
        m.decisions.add(
            1,
            &[
                KeyValue::new("decision", if allowed { "allow" } else { "deny" }),
                KeyValue::new("reason", reason.to_owned()),
            ],
        );
    }
}

/// A fetch of `kind` ended with `outcome` (`ok` or an error code) after `elapsed`.
pub fn fetch_completed(kind: &str, outcome: &str, elapsed: Duration) {
    if let Some(m) = instruments() {
        m.fetch_duration.record(
            elapsed.as_secs_f64(),
            &[
                KeyValue::new("kind", kind.to_owned()),
                KeyValue::new("outcome", outcome.to_owned()),
            ],
        );
    }
}

/// A fetcher cache lookup for `kind` was a hit (answered from the cache) or a miss (fetched).
pub fn fetch_cache(kind: &str, hit: bool) {
    if let Some(m) = instruments() {
        let attrs = [KeyValue::new("kind", kind.to_owned())];
        if hit {
            m.cache_hits.add(1, &attrs);
        } else {
            m.cache_misses.add(1, &attrs);
        }
    }
}

/// The verifier checked a credential's status: `outcome` is `valid` or why it denied
/// (`revoked`, `suspended`, `unavailable`, `invalid`).
pub fn status_checked(outcome: &str) {
    if let Some(m) = instruments() {
        m.status_checks
            .add(1, &[KeyValue::new("outcome", outcome.to_owned())]);
    }
}

/// The monitor raised an alert (`rule`, `category`, `severity` are bounded codes).
pub fn alert_raised(rule: &str, category: &str, severity: &str) {
    if let Some(m) = instruments() {
        m.alerts.add(
            1,
            &[
                KeyValue::new("rule", rule.to_owned()),
                KeyValue::new("category", category.to_owned()),
                KeyValue::new("severity", severity.to_owned()),
            ],
        );
    }
}

/// The monitor processed `n` audit events.
pub fn monitor_events_processed(n: u64) {
    if let Some(m) = instruments() {
        m.monitor_events.add(n, &[]);
    }
}

/// Every metric of the process in the Prometheus text format ([`CONTENT_TYPE`]).
pub fn render() -> Result<String, MetricsError> {
    let m = INSTRUMENTS
        .as_ref()
        .map_err(|e| MetricsError::Unavailable(e.clone()))?;
    prometheus::TextEncoder::new()
        .encode_to_string(&m.registry.gather())
        .map_err(|e| MetricsError::Encode(e.to_string()))
}

/// `GET /metrics`: [`render`]ed, or 500 if the exporter is unavailable.
pub async fn handler() -> Response {
    match render() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics unavailable");
            (StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable").into_response()
        }
    }
}

/// A router serving [`handler`] at `/metrics`, to merge into a service's operations listener.
pub fn router<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::new().route("/metrics", axum::routing::get(handler))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn line_value(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn recorded_events_appear_in_the_prometheus_text() {
        grant_issued("unit_test_grant");
        grant_issued("unit_test_grant");
        grant_denied("unit_test_grant", "unit_test_reason");
        decision(false, "unit_test_reason");
        fetch_completed("unit-test-kind", "ok", Duration::from_millis(30));
        fetch_cache("unit-test-kind", true);
        fetch_cache("unit-test-kind", false);
        status_checked("unit_test_outcome");
        alert_raised("unit.test_rule", "threat", "high");
        monitor_events_processed(7);
        let text = render().unwrap();
        assert_eq!(
            line_value(
                &text,
                r#"crossauthz_monitor_alerts_total{category="threat",rule="unit.test_rule",severity="high"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert!(
            line_value(&text, "crossauthz_monitor_events_total").is_some_and(|v| v >= 7.0),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"crossauthz_grants_total{grant_type="unit_test_grant"}"#
            ),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"crossauthz_grant_denials_total{grant_type="unit_test_grant",reason="unit_test_reason"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"crossauthz_decisions_total{decision="deny",reason="unit_test_reason"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"crossauthz_fetch_duration_seconds_bucket{kind="unit-test-kind",outcome="ok",le="0.05"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"crossauthz_fetch_duration_seconds_bucket{kind="unit-test-kind",outcome="ok",le="0.025"}"#
            ),
            Some(0.0),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"crossauthz_fetch_cache_hits_total{kind="unit-test-kind"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"crossauthz_fetch_cache_misses_total{kind="unit-test-kind"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            line_value(
                &text,
                r#"crossauthz_status_checks_total{outcome="unit_test_outcome"}"#
            ),
            Some(1.0),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_router_serves_the_text_format() {
        use tower::ServiceExt;
        grant_issued("router_test_grant");
        let response = router::<()>()
            .oneshot(
                axum::http::Request::get("/metrics")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    }
}
