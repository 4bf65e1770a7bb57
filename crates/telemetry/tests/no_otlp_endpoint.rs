//! `init` without an OTLP endpoint: no exporter, so no trace context goes out either. `init`
//! installs the process's subscriber, hence this test's own binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn without_an_endpoint_nothing_is_exported_or_propagated() {
    let guard = crossauthz_telemetry::init(&crossauthz_telemetry::TelemetryConfig {
        service_name: "crossauthz-no-export".to_owned(),
        otlp_endpoint: None,
        json_logs: false,
    })
    .unwrap();
    assert!(!guard.exports_traces());
    let span = tracing::info_span!("untraced");
    let _entered = span.enter();
    assert!(crossauthz_telemetry::propagation::current_headers().is_empty());
    // A second subscriber is refused, not silently layered.
    let again = crossauthz_telemetry::init(&crossauthz_telemetry::TelemetryConfig::default());
    assert!(matches!(
        again,
        Err(crossauthz_telemetry::TelemetryError::AlreadyInstalled(_))
    ));
}
