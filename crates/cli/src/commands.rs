//! What each subcommand does: parse nothing, decide nothing — call the library and print.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use crossauthz_domain::{DevDomain, DevOptions, DomainConfig, ServiceKind};

/// Prints the version (and the help when no command was given).
pub fn version(with_help: bool) {
    println!("crossauthz {}", env!("CARGO_PKG_VERSION"));
    println!("contracts: {}", crossauthz_proto::PACKAGES.join(", "));
    if with_help {
        println!();
        // Printing help only fails if stdout is closed; nothing to report then.
        let _ = <crate::Cli as clap::CommandFactory>::command().print_help();
    }
}

/// The start-dev options.
pub struct StartDev {
    pub public_url: url::Url,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub dev_ca: PathBuf,
    pub admin_token: Option<String>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn telemetry(
    service: &str,
    otlp: Option<String>,
    json: bool,
) -> anyhow::Result<crossauthz_telemetry::TelemetryGuard> {
    crossauthz_telemetry::init(&crossauthz_telemetry::TelemetryConfig {
        service_name: service.to_owned(),
        otlp_endpoint: otlp,
        json_logs: json,
    })
    .context("cannot set up logging")
}

/// Completes on SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `crossauthz demo`: the narration on stdout; the services' logs on stderr only when `RUST_LOG`
/// asks for them (the narration is the demo's output).
pub fn demo(keep: Option<PathBuf>) -> anyhow::Result<()> {
    let _telemetry = match std::env::var_os("RUST_LOG") {
        Some(_) => Some(telemetry("crossauthz-demo", None, false)?),
        None => None,
    };
    runtime()?.block_on(async move {
        let mut narrator = crossauthz_demo::Narrator::new(Box::new(std::io::stdout()));
        crossauthz_demo::run(
            crossauthz_demo::DemoOptions { keep_dir: keep },
            &mut narrator,
        )
        .await?;
        anyhow::Ok(())
    })
}

/// `crossauthz start-dev`.
pub fn start_dev(options: StartDev) -> anyhow::Result<()> {
    // No configuration file in start-dev: `[telemetry]` from CROSSAUTHZ_TELEMETRY__* variables.
    let settings = crossauthz_domain::config::TelemetrySection::from_environment()?;
    let runtime = runtime()?;
    // The OTLP exporter's channel runs on the runtime; the guard drops (flushes) before it.
    let _telemetry = {
        let _entered = runtime.enter();
        telemetry(
            "crossauthz-dev",
            settings.otlp_endpoint,
            settings.log_format == crossauthz_domain::config::LogFormat::Json,
        )?
    };
    runtime.block_on(async move {
        let domain = DevDomain::start(DevOptions {
            public_url: options.public_url,
            listen: options.listen,
            data_dir: options.data_dir,
            dev_ca_dir: options.dev_ca,
            admin_token: options.admin_token,
        })
        .await?;
        eprintln!("development CA: {}", domain.ca_path().display());
        eprintln!("database: SQLite in the data directory; gRPC on loopback:");
        for (kind, addr) in domain.grpc_addrs() {
            eprintln!("  {kind:<12} {addr}");
        }
        if domain.admin_token_generated() {
            eprintln!("admin token (shown once): {}", domain.admin_token());
        }
        println!("ready {}", domain.base());
        domain.run_until(stop_signal()).await?;
        eprintln!("stopped");
        anyhow::Ok(())
    })
}

/// `crossauthz serve <service>`.
pub fn serve(service: &str, config: Option<&Path>) -> anyhow::Result<()> {
    let kind: ServiceKind = service.parse()?;
    let config = DomainConfig::load(config)?;
    let runtime = runtime()?;
    // The OTLP exporter's channel runs on the runtime; the guard drops (flushes) before it.
    let _telemetry = {
        let _entered = runtime.enter();
        telemetry(
            &format!("crossauthz-{kind}"),
            config.telemetry.otlp_endpoint.clone(),
            config.telemetry.log_format == crossauthz_domain::config::LogFormat::Json,
        )?
    };
    runtime.block_on(crossauthz_domain::serve::serve(kind, config, stop_signal()))?;
    Ok(())
}

/// `crossauthz validate-config`.
pub fn validate_config(config: Option<&Path>, service: Option<&str>) -> anyhow::Result<()> {
    let kind = service.map(str::parse::<ServiceKind>).transpose()?;
    let parsed = DomainConfig::load(config)?;
    if let Some(kind) = kind {
        parsed.check_for_serve(kind)?;
    }
    println!("{}", parsed.summary(kind));
    println!("configuration OK");
    Ok(())
}

/// `crossauthz pki init`.
pub fn pki_init(dir: &Path, names: &[String]) -> anyhow::Result<()> {
    let report = crossauthz_domain::pki::init(dir, names)?;
    println!("CA: {}", report.ca.display());
    for name in &report.created {
        println!("created {name}.crt, {name}.key");
    }
    for name in &report.kept {
        println!("kept    {name}.crt, {name}.key");
    }
    Ok(())
}

/// `crossauthz generate-master-key`.
pub fn generate_master_key() {
    println!(
        "{}",
        crossauthz_issuer::MasterKey::generate_base64url().as_str()
    );
}

/// `crossauthz audit verify`: prints the report; `Ok(false)` when the log is broken.
pub fn audit_verify(
    database_url: &str,
    jwks: Option<&Path>,
    did: Option<String>,
    json: bool,
) -> anyhow::Result<bool> {
    runtime()?.block_on(async move {
        let database = crossauthz_store::Database::connect(database_url)
            .await
            .context("cannot open the database")?;
        let keys = match jwks {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let value: serde_json::Value = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", path.display()))?;
                crossauthz_monitor::DomainKeys::from_jwks(&value, did)?
            }
            None => {
                eprintln!(
                    "note: checkpoint keys are read from the issuer's key table in the same database; pass --jwks for an independent check"
                );
                crossauthz_monitor::DomainKeys::from_issuer_store(
                    database.issuer_store().as_ref(),
                    did,
                )
                .await?
            }
        };
        let report =
            crossauthz_monitor::verify_log(database.audit_store().as_ref(), &keys).await?;
        database.close().await;
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", crossauthz_monitor::verify::render(&report));
        }
        Ok(report.is_intact())
    })
}

/// `crossauthz compliance report`: prints the report; `Ok(false)` when an agent has findings.
pub fn compliance_report(
    database_url: &str,
    config: Option<&Path>,
    agent: Option<&str>,
    json: bool,
) -> anyhow::Result<bool> {
    let monitor_config = match config {
        Some(path) => DomainConfig::load(Some(path))?.monitor,
        None => crossauthz_monitor::MonitorConfig::default(),
    };
    runtime()?.block_on(async move {
        let database = crossauthz_store::Database::connect(database_url)
            .await
            .context("cannot open the database")?;
        let trusted: std::collections::BTreeSet<String> = database
            .verifier_store()
            .trust_list()
            .await?
            .into_iter()
            .map(|t| t.issuer)
            .collect();
        let monitor = crossauthz_monitor::Monitor::new(
            monitor_config,
            database.monitor_store(),
            database.audit_store(),
            std::sync::Arc::new(crossauthz_core::clock::SystemClock),
            None,
            None,
        )?;
        let report = monitor.evaluate_compliance(agent, Some(&trusted)).await?;
        database.close().await;
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!(
                "{} agents evaluated, {} compliant",
                report.agents, report.compliant
            );
            for a in &report.per_agent {
                let origin = if a.local { "own" } else { "foreign" };
                if a.findings.is_empty() {
                    println!("  ok    {} ({origin}, {})", a.client_id, a.issuer);
                }
                for f in &a.findings {
                    println!(
                        "  {:<6} {} ({origin}): {} — {}\n         action: {}",
                        f.severity.as_str(),
                        a.client_id,
                        f.rule,
                        f.summary,
                        f.recommended_action
                    );
                }
            }
        }
        Ok(report.compliant == report.agents)
    })
}
