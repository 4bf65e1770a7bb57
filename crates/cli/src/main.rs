//! The `crossauthz` binary: a thin clap front over the libraries that do the work
//! (`crossauthz-domain` runs services, `crossauthz-demo` narrates the two-domain demo).
#![forbid(unsafe_code)]

mod commands;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Cross-domain authorization for AI agents and MCP servers.
#[derive(Debug, Parser)]
#[command(name = "crossauthz", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the version and the gRPC contracts this build speaks.
    Version,
    /// Run two domains on this machine and narrate one agent's cross-domain story, checking
    /// every step (exits non-zero if any step does not behave as narrated).
    Demo(DemoArgs),
    /// Run every service of one domain in one process (SQLite, HTTPS with a development CA).
    StartDev(StartDevArgs),
    /// Run one service of a domain for production (PostgreSQL, internal mutual TLS).
    Serve(ServeArgs),
    /// Check a configuration file (and the environment) without serving.
    ValidateConfig(ValidateArgs),
    /// The internal PKI of a domain's gRPC plane.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Print a fresh random master key (base64url) for the issuer's key custody.
    GenerateMasterKey,
    /// The domain's audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Compliance of the domain's known agents.
    #[command(subcommand)]
    Compliance(ComplianceCommand),
}

#[derive(Debug, Subcommand)]
enum ComplianceCommand {
    /// Evaluate every agent the monitor knows (or one) against the compliance rules now and
    /// print the report (read-only: no alert is raised). Exits 0 when every agent is
    /// compliant, 2 otherwise.
    Report(ComplianceReportArgs),
}

#[derive(Debug, Args)]
struct ComplianceReportArgs {
    /// The domain's database (`postgres://…` or `sqlite://…`).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The domain's configuration file, for its `[monitor.compliance]` rules (defaults
    /// otherwise).
    #[arg(long, env = "CROSSAUTHZ_CONFIG")]
    config: Option<PathBuf>,
    /// Only this agent (its client_id).
    #[arg(long)]
    agent: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain and every signed checkpoint; name the first broken event. Exits 0
    /// when intact, 2 when broken, 1 when the check could not run.
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
struct AuditVerifyArgs {
    /// The domain's database (`postgres://…` or `sqlite://…`).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The domain's published JWKS (`/.well-known/jwks.json`, kept outside the database) to
    /// verify checkpoints with. Without it the issuer's key table in the same database is used,
    /// which someone able to rewrite the log could rewrite too.
    #[arg(long)]
    jwks: Option<PathBuf>,
    /// The domain's DID (`did:web:…`); checkpoints signed by anyone else are refused.
    #[arg(long)]
    did: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// `start-dev`: the command line is a contract (scripts outside the repository drive it).
#[derive(Debug, Args)]
struct StartDevArgs {
    /// The domain's issuer and the base of every URL it publishes; `did:web` follows from its
    /// host and port.
    #[arg(long, default_value = "https://alpha.localhost:9443")]
    public_url: url::Url,
    /// Where the gateway listens.
    #[arg(long, default_value = "127.0.0.1:9443")]
    listen: std::net::SocketAddr,
    /// Where the SQLite database and the master key are kept.
    #[arg(long, default_value = ".crossauthz/alpha")]
    data_dir: PathBuf,
    /// The development CA directory (`ca.pem`), created if absent; instances sharing it
    /// trust each other.
    #[arg(long, default_value = ".crossauthz/dev-ca")]
    dev_ca: PathBuf,
    /// The admin bearer token (otherwise generated and printed once).
    #[arg(long, env = "CROSSAUTHZ_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Keep the domains' data and the development CA in this directory (default: a temporary
    /// directory, removed at the end).
    #[arg(long)]
    keep: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// registry, issuer, status-list, verifier or gateway.
    service: String,
    /// The domain's configuration file (TOML; see deploy/crossauthz.example.toml).
    #[arg(long, env = "CROSSAUTHZ_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// The configuration file.
    #[arg(long, env = "CROSSAUTHZ_CONFIG")]
    config: Option<PathBuf>,
    /// Also check what this service needs to serve (secrets, certificates, upstreams).
    #[arg(long)]
    service: Option<String>,
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Create the internal CA and one certificate per service name (kept if present).
    Init {
        /// Where `ca.pem`, `ca-key.pem`, `N.crt` and `N.key` are written.
        #[arg(long)]
        dir: PathBuf,
        /// Service names (DNS names on the internal network), comma separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "registry,issuer,status-list,verifier,monitor,gateway"
        )]
        names: Vec<String>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None | Some(Command::Version) => {
            commands::version(cli.command.is_none());
            Ok(())
        }
        Some(Command::Demo(a)) => commands::demo(a.keep),
        Some(Command::StartDev(a)) => commands::start_dev(commands::StartDev {
            public_url: a.public_url,
            listen: a.listen,
            data_dir: a.data_dir,
            dev_ca: a.dev_ca,
            admin_token: a.admin_token,
        }),
        Some(Command::Serve(a)) => commands::serve(&a.service, a.config.as_deref()),
        Some(Command::ValidateConfig(a)) => {
            commands::validate_config(a.config.as_deref(), a.service.as_deref())
        }
        Some(Command::Pki(PkiCommand::Init { dir, names })) => commands::pki_init(&dir, &names),
        Some(Command::GenerateMasterKey) => {
            commands::generate_master_key();
            Ok(())
        }
        Some(Command::Compliance(ComplianceCommand::Report(a))) => {
            match commands::compliance_report(
                &a.database_url,
                a.config.as_deref(),
                a.agent.as_deref(),
                a.json,
            ) {
                Ok(true) => Ok(()),
                Ok(false) => return std::process::ExitCode::from(2),
                Err(e) => Err(e),
            }
        }
        Some(Command::Audit(AuditCommand::Verify(a))) => {
            match commands::audit_verify(&a.database_url, a.jwks.as_deref(), a.did, a.json) {
                Ok(true) => Ok(()),
                Ok(false) => return std::process::ExitCode::from(2),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crossauthz: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
