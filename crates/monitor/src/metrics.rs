//! OpenTelemetry metrics of the monitor: `crossauthz.monitor.alerts` (counter, by rule,
//! category and severity) and `crossauthz.monitor.events` (audit events processed). They go
//! wherever the process's global meter provider sends them (nowhere when none is installed).

use crossauthz_store::Alert;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;

pub(crate) struct Metrics {
    alerts: Counter<u64>,
    events: Counter<u64>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let meter = opentelemetry::global::meter("crossauthz-monitor");
        Self {
            alerts: meter
                .u64_counter("crossauthz.monitor.alerts")
                .with_description("alerts raised by the monitor")
                .build(),
            events: meter
                .u64_counter("crossauthz.monitor.events")
                .with_description("audit events processed by the monitor")
                .build(),
        }
    }

    pub(crate) fn alert(&self, a: &Alert) {
        self.alerts.add(
            1,
            &[
                KeyValue::new("rule", a.rule.clone()),
                KeyValue::new("category", a.category.as_str()),
                KeyValue::new("severity", a.severity.as_str()),
            ],
        );
    }

    pub(crate) fn events(&self, n: u64) {
        self.events.add(n, &[]);
    }
}
