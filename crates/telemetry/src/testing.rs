//! Trace and log capture for tests (feature `testing`): [`install`] makes an in-memory span
//! exporter and a JSON log buffer the process's global subscriber, once per test binary, so a
//! test can assert on the spans every service of an in-process world exported and on what was
//! logged. Never in a service.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::provider_with_simple;

/// The captured spans and logs of this process.
#[derive(Debug)]
pub struct InMemoryTelemetry {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    logs: LogBuffer,
}

impl InMemoryTelemetry {
    /// Every span ended so far (after a flush).
    pub fn spans(&self) -> Vec<SpanData> {
        // The simple processor exports on end; the flush is belt and braces.
        let _ = self.provider.force_flush();
        self.exporter.get_finished_spans().unwrap_or_default()
    }

    /// Every log line written so far (JSON, one object per line).
    pub fn logs(&self) -> String {
        let bytes = self.logs.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Installs the capture as the global subscriber (spans and logs at `info`, `debug` for the
/// crossauthz crates and the HTTP trace layer) on first call and returns it; later calls return the same capture.
/// Fails if another global subscriber was installed first.
pub fn install() -> Result<&'static InMemoryTelemetry, crate::TelemetryError> {
    static CAPTURE: OnceLock<InMemoryTelemetry> = OnceLock::new();
    if let Some(capture) = CAPTURE.get() {
        return Ok(capture);
    }
    let exporter = InMemorySpanExporter::default();
    let provider = provider_with_simple(exporter.clone(), "crossauthz-test");
    let logs = LogBuffer::default();
    tracing_subscriber::registry()
        .with(EnvFilter::new("info,crossauthz=debug,tower_http=debug"))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(logs.clone()),
        )
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("crossauthz-test")))
        .try_init()
        .map_err(|e| crate::TelemetryError::AlreadyInstalled(e.to_string()))?;
    Ok(CAPTURE.get_or_init(|| InMemoryTelemetry {
        exporter,
        provider,
        logs,
    }))
}

/// An in-memory log sink.
#[derive(Debug, Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
