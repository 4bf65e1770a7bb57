//! Metrics of the monitor: `crossauthz_monitor_alerts_total` (by rule, category and severity) and
//! `crossauthz_monitor_events_total` (audit events processed), recorded in the process's metrics
//! registry (`crossauthz_telemetry::metrics`), so they appear on `/metrics` with the others.

use crossauthz_store::Alert;

pub(crate) struct Metrics;

impl Metrics {
    pub(crate) fn new() -> Self {
        Self
    }

    pub(crate) fn alert(&self, a: &Alert) {
        crossauthz_telemetry::metrics::alert_raised(
            &a.rule,
            a.category.as_str(),
            a.severity.as_str(),
        );
    }

    pub(crate) fn events(&self, n: u64) {
        crossauthz_telemetry::metrics::monitor_events_processed(n);
    }
}
