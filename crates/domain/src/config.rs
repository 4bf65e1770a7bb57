//! The typed configuration of a domain's services in `serve` mode: one TOML file shared by the
//! five services of a domain, overridable from the environment.
//!
//! Sources, later ones winning: the file; `CROSSAUTHZ_<SECTION>__<KEY>` variables (a double
//! underscore between section and key, e.g. `CROSSAUTHZ_SERVE__GRPC_LISTEN`) and
//! `CROSSAUTHZ_PUBLIC_URL`; `DATABASE_URL` for `database.url`. The secrets come from files named
//! in `[secrets]` or from `CROSSAUTHZ_ADMIN_TOKEN` / `CROSSAUTHZ_MASTER_KEY` — never from the
//! file itself. `deploy/crossauthz.example.toml` is the commented reference.
//!
//! Each service's own tunables (`[issuer]`, `[registry]`, `[status_list]`, `[verifier]`,
//! `[oauth]`) are the service crates' configuration types, with the domain's `public_url`
//! filled in; unknown keys are refused everywhere, so a typo fails at start, not at 3 a.m.
//! Figment does the layering (a well-kept crate for exactly this); the rules on top are ours.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crossauthz_gateway::oauth::OAuthConfig;
use crossauthz_issuer::IssuerConfig;
use crossauthz_issuer::config::MasterKeySource;
use crossauthz_monitor::MonitorConfig;
use crossauthz_registry::RegistryConfig;
use crossauthz_status_list::StatusListConfig;
use crossauthz_verifier::VerifierConfig;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Deserialize;
use url::Url;

/// The environment variable that carries the admin token.
pub const ADMIN_TOKEN_ENV: &str = "CROSSAUTHZ_ADMIN_TOKEN";
/// The environment variable that carries the master key (base64url, 32 bytes).
pub const MASTER_KEY_ENV: &str = "CROSSAUTHZ_MASTER_KEY";
/// Shortest admin token accepted (characters).
pub const MIN_ADMIN_TOKEN_LEN: usize = 32;
/// Shortest internal bearer token accepted (characters).
pub const MIN_BEARER_TOKEN_LEN: usize = 32;

/// One of a domain's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKind {
    /// Agents, metadata, hosted CIMD documents, DCR.
    Registry,
    /// Keys and signatures: credentials, status lists, access tokens.
    Issuer,
    /// Status-list entries and publication.
    StatusList,
    /// Cross-domain verification and the grant decision.
    Verifier,
    /// Audit checkpoints, compliance monitoring, threat detection, alerts.
    Monitor,
    /// The public HTTP edge and the OAuth Authorization Server.
    Gateway,
}

impl ServiceKind {
    /// Every service, in start order for one process (the signers first).
    pub const ALL: [ServiceKind; 6] = [
        Self::StatusList,
        Self::Issuer,
        Self::Registry,
        Self::Verifier,
        Self::Monitor,
        Self::Gateway,
    ];

    /// The name used on the command line and in logs (`status-list`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Registry => "registry",
            Self::Issuer => "issuer",
            Self::StatusList => "status-list",
            Self::Verifier => "verifier",
            Self::Monitor => "monitor",
            Self::Gateway => "gateway",
        }
    }

    /// The fully qualified gRPC service name it serves (`None` for the gateway).
    pub fn grpc_service_name(self) -> Option<&'static str> {
        match self {
            Self::Registry => Some("crossauthz.registry.v1.Registry"),
            Self::Issuer => Some("crossauthz.issuer.v1.Issuer"),
            Self::StatusList => Some("crossauthz.status_list.v1.StatusList"),
            Self::Verifier => Some("crossauthz.verifier.v1.Verifier"),
            Self::Monitor => Some("crossauthz.monitor.v1.Monitor"),
            Self::Gateway => None,
        }
    }

    /// The services it calls over gRPC.
    pub fn upstreams(self) -> &'static [ServiceKind] {
        match self {
            Self::Registry => &[Self::Issuer],
            Self::Issuer => &[Self::StatusList],
            Self::StatusList => &[Self::Issuer],
            Self::Verifier => &[],
            Self::Monitor => &[Self::Issuer, Self::Verifier],
            Self::Gateway => &[
                Self::Registry,
                Self::Issuer,
                Self::StatusList,
                Self::Verifier,
            ],
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl std::str::FromStr for ServiceKind {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s || k.name().replace('-', "_") == s)
            .ok_or_else(|| ConfigError::UnknownService(s.to_owned()))
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment could not be parsed into the configuration.
    #[error("{0}")]
    Parse(String),
    /// No such service.
    #[error("unknown service `{0}` (registry, issuer, status-list, verifier, monitor, gateway)")]
    UnknownService(String),
    /// A setting is missing or wrong.
    #[error("{key}: {reason}")]
    Invalid {
        /// The offending key (`serve.grpc_listen`, `secrets.admin_token_file`, …).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        // Figment names the key and the source (file or variable) of the bad value.
        Self::Parse(e.to_string())
    }
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// `postgres://…` (or `DATABASE_URL`).
    #[serde(default)]
    pub url: Option<String>,
    /// Upper bound of open connections per service.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_max_connections() -> u32 {
    10
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: default_max_connections(),
        }
    }
}

/// `[secrets]`: where secrets are read from (their values never sit in the file).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsSection {
    /// The issuer's master key file (base64url, 32 bytes); else `CROSSAUTHZ_MASTER_KEY`.
    pub master_key_file: Option<PathBuf>,
    /// The gateway's admin token file; else `CROSSAUTHZ_ADMIN_TOKEN`.
    pub admin_token_file: Option<PathBuf>,
}

/// `[serve]`: the listeners of the service being served.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    /// Internal gRPC (mutual TLS).
    #[serde(default = "default_grpc_listen")]
    pub grpc_listen: SocketAddr,
    /// Ops HTTP: `/healthz`, `/readyz`, `/metrics`.
    #[serde(default = "default_ops_listen")]
    pub ops_listen: SocketAddr,
}

fn default_grpc_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 7000))
}

fn default_ops_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 9090))
}

fn default_gateway_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8443))
}

impl Default for ServeSection {
    fn default() -> Self {
        Self {
            grpc_listen: default_grpc_listen(),
            ops_listen: default_ops_listen(),
        }
    }
}

/// `[internal_tls]`: the internal gRPC plane's mutual TLS, from the domain's internal CA.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct InternalTlsSection {
    /// The internal CA certificate (PEM): client certificates must chain to it, and upstream
    /// servers are verified against it.
    pub ca: PathBuf,
    /// This service's certificate chain (PEM), used as server and as client certificate.
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// Optional file of bearer tokens (one per line, `#` comments) that internal agents may
    /// present in `authorization` metadata instead of a client certificate.
    #[serde(default)]
    pub bearer_tokens_file: Option<PathBuf>,
}

/// `[upstreams]`: how the services reach each other (`https://host:port`).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamsSection {
    /// The registry's gRPC URL.
    pub registry: Option<Url>,
    /// The issuer's gRPC URL.
    pub issuer: Option<Url>,
    /// The status-list service's gRPC URL.
    pub status_list: Option<Url>,
    /// The verifier's gRPC URL.
    pub verifier: Option<Url>,
    /// The monitor's gRPC URL (optional for the gateway: without it the alert and compliance
    /// admin routes are not mounted).
    pub monitor: Option<Url>,
}

impl UpstreamsSection {
    /// The URL configured for `kind`.
    pub fn get(&self, kind: ServiceKind) -> Option<&Url> {
        match kind {
            ServiceKind::Registry => self.registry.as_ref(),
            ServiceKind::Issuer => self.issuer.as_ref(),
            ServiceKind::StatusList => self.status_list.as_ref(),
            ServiceKind::Verifier => self.verifier.as_ref(),
            ServiceKind::Monitor => self.monitor.as_ref(),
            ServiceKind::Gateway => None,
        }
    }
}

/// `[gateway]`: the public listener.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    /// Public HTTP(S) listener.
    #[serde(default = "default_gateway_listen")]
    pub listen: SocketAddr,
    /// Certificate chain (PEM) for HTTPS; with `tls_key`. Without both, plain HTTP behind a
    /// TLS-terminating ingress.
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for HTTPS.
    pub tls_key: Option<PathBuf>,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            listen: default_gateway_listen(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Text,
    /// JSON lines.
    Json,
}

/// `[telemetry]`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySection {
    /// OTLP/gRPC endpoint for traces (`http://otel-collector:4317`); none = no export.
    pub otlp_endpoint: Option<String>,
    /// Log format.
    #[serde(default)]
    pub log_format: LogFormat,
}

impl TelemetrySection {
    /// `[telemetry]` from the given variables alone (`CROSSAUTHZ_TELEMETRY__OTLP_ENDPOINT`,
    /// `CROSSAUTHZ_TELEMETRY__LOG_FORMAT`): `start-dev` has no configuration file. Other
    /// variables are ignored; an unknown `CROSSAUTHZ_TELEMETRY__*` key is refused.
    pub fn from_env(env: &[(&str, &str)]) -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        struct TelemetryOnly {
            #[serde(default)]
            telemetry: TelemetrySection,
        }
        let only: TelemetryOnly = with_env(Figment::new(), env).extract()?;
        Ok(only.telemetry)
    }

    /// [`Self::from_env`] of the process environment.
    pub fn from_environment() -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Self::from_env(&env)
    }
}

/// `figment` with the settings among `env` merged over it ([`env_key`]'s mapping).
fn with_env(mut figment: Figment, env: &[(&str, &str)]) -> Figment {
    let mut overrides = figment::value::Dict::new();
    for (k, v) in env {
        if let Some(path) = env_key(k) {
            // Parsed as the environment provider parses values ("30" is a number).
            let value = v
                .parse::<figment::value::Value>()
                .unwrap_or_else(|_| figment::value::Value::from(v.to_string()));
            overrides.insert(path, value);
        }
    }
    for (path, value) in overrides {
        figment = figment.merge(Serialized::global(&path, value));
    }
    figment
}

/// The raw tunables of one service: checked by the service's own configuration type.
type Tunables = BTreeMap<String, figment::value::Value>;

/// The configuration file of a domain, as read (before each service's tunables are typed).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    public_url: Url,
    #[serde(default)]
    database: DatabaseSection,
    #[serde(default)]
    secrets: SecretsSection,
    #[serde(default)]
    serve: ServeSection,
    #[serde(default)]
    internal_tls: Option<InternalTlsSection>,
    #[serde(default)]
    upstreams: UpstreamsSection,
    #[serde(default)]
    gateway: GatewaySection,
    #[serde(default)]
    telemetry: TelemetrySection,
    #[serde(default)]
    issuer: Tunables,
    #[serde(default)]
    registry: Tunables,
    #[serde(default)]
    status_list: Tunables,
    #[serde(default)]
    verifier: Tunables,
    #[serde(default)]
    oauth: Tunables,
    #[serde(default)]
    monitor: Tunables,
}

/// A domain's configuration, every section typed and checked.
#[derive(Debug, Clone)]
pub struct DomainConfig {
    /// The domain's issuer identifier and the base of every URL it publishes.
    pub public_url: Url,
    /// `[database]`.
    pub database: DatabaseSection,
    /// `[secrets]`.
    pub secrets: SecretsSection,
    /// `[serve]`.
    pub serve: ServeSection,
    /// `[internal_tls]`; required by `serve`.
    pub internal_tls: Option<InternalTlsSection>,
    /// `[upstreams]`.
    pub upstreams: UpstreamsSection,
    /// `[gateway]`.
    pub gateway: GatewaySection,
    /// `[telemetry]`.
    pub telemetry: TelemetrySection,
    /// The issuer's configuration (`public_url` from the domain).
    pub issuer: IssuerConfig,
    /// The registry's configuration.
    pub registry: RegistryConfig,
    /// The status-list service's configuration.
    pub status_list: StatusListConfig,
    /// The verifier's configuration (`issuer` = the domain's public URL).
    pub verifier: VerifierConfig,
    /// The Authorization Server's configuration.
    pub oauth: OAuthConfig,
    /// The monitor's configuration (`domain_did` from the domain).
    pub monitor: MonitorConfig,
}

/// The public URL as the services spell it: no trailing slash.
pub fn base_of(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

impl DomainConfig {
    /// Reads `path` (if given) and the environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            if !path.is_file() {
                return Err(ConfigError::invalid(
                    "--config",
                    format!("{} is not a readable file", path.display()),
                ));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::from_figment(figment.merge(environment()))
    }

    /// Reads a configuration from TOML text and the given variables (tests, validate-config).
    pub fn from_toml_and_env(toml: &str, env: &[(&str, &str)]) -> Result<Self, ConfigError> {
        Self::from_figment(with_env(Figment::new().merge(Toml::string(toml)), env))
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let raw: RawConfig = figment.extract()?;
        let base = base_of(&raw.public_url);
        // Each service's tunables, typed by its own configuration (unknown keys refused), with
        // the domain's public URL filled in.
        let issuer: IssuerConfig =
            typed("issuer", raw.issuer, &[("public_url", base.clone().into())])?;
        let registry: RegistryConfig = typed(
            "registry",
            raw.registry,
            &[("public_url", raw.public_url.as_str().into())],
        )?;
        let status_list: StatusListConfig = typed(
            "status_list",
            raw.status_list,
            &[("public_url", base.clone().into())],
        )?;
        let verifier: VerifierConfig =
            typed("verifier", raw.verifier, &[("issuer", base.clone().into())])?;
        let oauth: OAuthConfig = typed("oauth", raw.oauth, &[])?;
        let monitor: MonitorConfig = typed(
            "monitor",
            raw.monitor,
            &[("domain_did", did_of(&raw.public_url).into())],
        )?;
        let mut config = Self {
            public_url: raw.public_url,
            database: raw.database,
            secrets: raw.secrets,
            serve: raw.serve,
            internal_tls: raw.internal_tls,
            upstreams: raw.upstreams,
            gateway: raw.gateway,
            telemetry: raw.telemetry,
            issuer,
            registry,
            status_list,
            verifier,
            oauth,
            monitor,
        };
        config.issuer.master_key = match &config.secrets.master_key_file {
            Some(file) => MasterKeySource::File(file.clone()),
            None => MasterKeySource::Env(MASTER_KEY_ENV.to_owned()),
        };
        config.check_common()?;
        Ok(config)
    }

    /// Checks what every service needs: the public URL and each service's own rules.
    fn check_common(&self) -> Result<(), ConfigError> {
        if self.public_url.scheme() != "https" {
            return Err(ConfigError::invalid(
                "public_url",
                "must be https (the domain's issuer identifier, RFC 8414 §2)",
            ));
        }
        if self.public_url.path() != "/"
            || self.public_url.query().is_some()
            || self.public_url.fragment().is_some()
            || !self.public_url.username().is_empty()
        {
            return Err(ConfigError::invalid(
                "public_url",
                "must be an origin: no path, query, fragment or userinfo",
            ));
        }
        self.issuer
            .validate()
            .map_err(|e| ConfigError::invalid("issuer", e.to_string()))?;
        self.registry
            .validate()
            .map_err(|e| ConfigError::invalid("registry", e.to_string()))?;
        self.status_list
            .validate()
            .map_err(|e| ConfigError::invalid("status_list", e.to_string()))?;
        self.verifier
            .validate()
            .map_err(|e| ConfigError::invalid("verifier", e.to_string()))?;
        self.oauth
            .validate()
            .map_err(|e| ConfigError::invalid("oauth", e.to_string()))?;
        Ok(())
    }

    /// Checks everything `crossauthz serve <kind>` needs, reading (not keeping) the secrets
    /// and certificate files it names, so a bad deployment fails before it serves.
    pub fn check_for_serve(&self, kind: ServiceKind) -> Result<(), ConfigError> {
        match self.database.url.as_deref() {
            None => {
                return Err(ConfigError::invalid(
                    "database.url",
                    "missing (set it or DATABASE_URL; serve needs PostgreSQL)",
                ));
            }
            Some(url) if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) => {
                return Err(ConfigError::invalid(
                    "database.url",
                    "serve runs on PostgreSQL (postgres://…); SQLite is for start-dev",
                ));
            }
            Some(_) => {}
        }
        let tls = self.internal_tls.as_ref().ok_or_else(|| {
            ConfigError::invalid(
                "internal_tls",
                "missing: every internal gRPC listener requires mutual TLS in serve mode",
            )
        })?;
        for (key, path) in [
            ("internal_tls.ca", &tls.ca),
            ("internal_tls.cert", &tls.cert),
            ("internal_tls.key", &tls.key),
        ] {
            readable(key, path)?;
        }
        if let Some(file) = &tls.bearer_tokens_file {
            crate::grpc::BearerTokens::from_file(file)?;
        }
        for upstream in kind.upstreams() {
            let url = self.upstreams.get(*upstream).ok_or_else(|| {
                ConfigError::invalid(
                    format!("upstreams.{}", upstream.name().replace('-', "_")),
                    format!("missing: {kind} calls the {upstream} service"),
                )
            })?;
            if url.scheme() != "https" {
                return Err(ConfigError::invalid(
                    format!("upstreams.{}", upstream.name().replace('-', "_")),
                    "must be https:// (internal gRPC is mutual TLS)",
                ));
            }
        }
        match kind {
            ServiceKind::Issuer => {
                self.issuer
                    .master_key
                    .load()
                    .map_err(|e| ConfigError::invalid("secrets.master_key_file", e.to_string()))?;
            }
            ServiceKind::Gateway => {
                self.admin_token()?;
                match (&self.gateway.tls_cert, &self.gateway.tls_key) {
                    (Some(cert), Some(key)) => {
                        readable("gateway.tls_cert", cert)?;
                        readable("gateway.tls_key", key)?;
                    }
                    (None, None) => {}
                    _ => {
                        return Err(ConfigError::invalid(
                            "gateway.tls_cert",
                            "tls_cert and tls_key go together",
                        ));
                    }
                }
                if self.oauth.dev_login.is_some() {
                    return Err(ConfigError::invalid(
                        "oauth.dev_login",
                        "the development login is for start-dev only; plug in your IdP (README, \"User login\")",
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The admin token from `secrets.admin_token_file` or `CROSSAUTHZ_ADMIN_TOKEN`.
    pub fn admin_token(&self) -> Result<String, ConfigError> {
        let token = match &self.secrets.admin_token_file {
            Some(file) => std::fs::read_to_string(file)
                .map_err(|e| {
                    ConfigError::invalid(
                        "secrets.admin_token_file",
                        format!("{}: {e}", file.display()),
                    )
                })?
                .trim()
                .to_owned(),
            None => std::env::var(ADMIN_TOKEN_ENV).map_err(|_| {
                ConfigError::invalid(
                    "secrets.admin_token_file",
                    format!("missing (or set {ADMIN_TOKEN_ENV})"),
                )
            })?,
        };
        check_admin_token(&token)?;
        Ok(token)
    }

    /// A short summary of what `kind` will do with this configuration (validate-config).
    pub fn summary(&self, kind: Option<ServiceKind>) -> String {
        let mut lines = vec![
            format!("public_url   {}", self.public_url),
            format!("issuer DID   {}", did_of(&self.public_url)),
        ];
        if let Some(kind) = kind {
            lines.push(format!("service      {kind}"));
            if kind == ServiceKind::Gateway {
                let scheme = if self.gateway.tls_cert.is_some() {
                    "https"
                } else {
                    "http (TLS terminated upstream)"
                };
                lines.push(format!("public       {} ({scheme})", self.gateway.listen));
            } else {
                lines.push(format!(
                    "grpc         {} (mutual TLS)",
                    self.serve.grpc_listen
                ));
            }
            lines.push(format!("ops          {}", self.serve.ops_listen));
            for up in kind.upstreams() {
                if let Some(url) = self.upstreams.get(*up) {
                    lines.push(format!("upstream     {up} at {url}"));
                }
            }
        }
        lines.push(format!(
            "traces       {}",
            self.telemetry
                .otlp_endpoint
                .as_deref()
                .unwrap_or("not exported")
        ));
        lines.join("\n")
    }
}

/// `did:web` of a public URL: the host, with `%3A<port>` when it has a port (did:web §3.1).
pub fn did_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("did:web:{host}%3A{port}"),
        None => format!("did:web:{host}"),
    }
}

/// Refuses an admin token that is short or has whitespace or control characters.
pub fn check_admin_token(token: &str) -> Result<(), ConfigError> {
    if token.chars().count() < MIN_ADMIN_TOKEN_LEN {
        return Err(ConfigError::invalid(
            "admin token",
            format!("must be at least {MIN_ADMIN_TOKEN_LEN} characters"),
        ));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::invalid(
            "admin token",
            "must not contain whitespace or control characters",
        ));
    }
    Ok(())
}

fn readable(key: &str, path: &Path) -> Result<(), ConfigError> {
    std::fs::metadata(path)
        .map_err(|e| ConfigError::invalid(key, format!("{}: {e}", path.display())))
        .and_then(|m| {
            if m.is_file() {
                Ok(())
            } else {
                Err(ConfigError::invalid(
                    key,
                    format!("{} is not a file", path.display()),
                ))
            }
        })
}

/// The section key path of a `CROSSAUTHZ_…` variable (`SERVE__GRPC_LISTEN` → `serve.grpc_listen`).
fn env_key(var: &str) -> Option<String> {
    if var == "DATABASE_URL" {
        return Some("database.url".to_owned());
    }
    let rest = var.strip_prefix("CROSSAUTHZ_")?;
    if rest == "PUBLIC_URL" {
        return Some("public_url".to_owned());
    }
    if !rest.contains("__") {
        // CROSSAUTHZ_ADMIN_TOKEN, CROSSAUTHZ_MASTER_KEY and the like are not settings.
        return None;
    }
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

/// The process environment as a figment provider, with [`env_key`]'s mapping.
fn environment() -> Env {
    Env::raw()
        .filter_map(|k| env_key(k.as_str()).map(Into::into))
        .split(".")
}

/// Types one service's tunables, with `fixed` entries set by the domain (a value the file sets
/// for them is refused: the domain decides them).
fn typed<T: serde::de::DeserializeOwned>(
    section: &str,
    mut tunables: Tunables,
    fixed: &[(&str, figment::value::Value)],
) -> Result<T, ConfigError> {
    for (key, value) in fixed {
        if tunables.contains_key(*key) {
            return Err(ConfigError::invalid(
                format!("{section}.{key}"),
                "is derived from public_url; remove it",
            ));
        }
        tunables.insert((*key).to_owned(), value.clone());
    }
    Figment::from(Serialized::defaults(tunables))
        .extract::<T>()
        .map_err(|e| ConfigError::invalid(section, e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const MINIMAL: &str = r#"public_url = "https://alpha.example.com""#;

    #[test]
    fn a_minimal_file_takes_the_defaults_and_derives_every_service_url() {
        let c = DomainConfig::from_toml_and_env(MINIMAL, &[]).unwrap();
        assert_eq!(c.issuer.public_url, "https://alpha.example.com");
        assert_eq!(c.verifier.issuer, "https://alpha.example.com");
        assert_eq!(c.status_list.public_url, "https://alpha.example.com");
        assert_eq!(c.registry.public_url.as_str(), "https://alpha.example.com/");
        assert_eq!(c.serve.grpc_listen, "0.0.0.0:7000".parse().unwrap());
        assert_eq!(did_of(&c.public_url), "did:web:alpha.example.com");
    }

    #[test]
    fn telemetry_for_start_dev_comes_from_the_environment() {
        let t = TelemetrySection::from_env(&[
            (
                "CROSSAUTHZ_TELEMETRY__OTLP_ENDPOINT",
                "http://127.0.0.1:4317",
            ),
            ("CROSSAUTHZ_TELEMETRY__LOG_FORMAT", "json"),
            ("CROSSAUTHZ_SERVE__GRPC_LISTEN", "127.0.0.1:7100"),
        ])
        .unwrap();
        assert_eq!(t.otlp_endpoint.as_deref(), Some("http://127.0.0.1:4317"));
        assert_eq!(t.log_format, LogFormat::Json);
        let none = TelemetrySection::from_env(&[]).unwrap();
        assert_eq!(none.otlp_endpoint, None);
        assert_eq!(none.log_format, LogFormat::Text);
        let typo = TelemetrySection::from_env(&[("CROSSAUTHZ_TELEMETRY__OTLP", "x")]).unwrap_err();
        assert!(typo.to_string().contains("otlp"), "{typo}");
        let bad = TelemetrySection::from_env(&[("CROSSAUTHZ_TELEMETRY__LOG_FORMAT", "xml")]);
        assert!(bad.is_err());
    }

    #[test]
    fn environment_overrides_the_file() {
        let c = DomainConfig::from_toml_and_env(
            "public_url = \"https://alpha.example.com\"\n[serve]\ngrpc_listen = \"0.0.0.0:7000\"\n",
            &[
                ("CROSSAUTHZ_SERVE__GRPC_LISTEN", "127.0.0.1:7100"),
                ("DATABASE_URL", "postgres://db/alpha"),
                ("CROSSAUTHZ_STATUS_LIST__TTL_SECONDS", "30"),
                ("CROSSAUTHZ_ADMIN_TOKEN", "not-a-setting"),
            ],
        )
        .unwrap();
        assert_eq!(c.serve.grpc_listen, "127.0.0.1:7100".parse().unwrap());
        assert_eq!(c.database.url.as_deref(), Some("postgres://db/alpha"));
        assert_eq!(c.status_list.ttl_seconds, 30);
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name() {
        for (toml, needle) in [
            (format!("{MINIMAL}\nsurprise = 1\n"), "surprise"),
            (
                format!("{MINIMAL}\n[serve]\ngrpc_lisen = \"x\"\n"),
                "grpc_lisen",
            ),
            (
                format!("{MINIMAL}\n[issuer]\nkey_algoritm = \"ES256\"\n"),
                "key_algoritm",
            ),
            (
                format!("{MINIMAL}\n[oauth]\ncode_lifetime = 5\n"),
                "code_lifetime",
            ),
        ] {
            let e = DomainConfig::from_toml_and_env(&toml, &[]).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
    }

    #[test]
    fn derived_keys_cannot_be_set_by_the_file() {
        let e = DomainConfig::from_toml_and_env(
            &format!("{MINIMAL}\n[issuer]\npublic_url = \"https://evil.example\"\n"),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("issuer.public_url"), "{e}");
    }

    #[test]
    fn the_public_url_must_be_an_https_origin() {
        for bad in [
            "http://alpha.example.com",
            "https://alpha.example.com/path",
            "https://user@alpha.example.com",
            "https://alpha.example.com/?q=1",
        ] {
            let e = DomainConfig::from_toml_and_env(&format!("public_url = \"{bad}\""), &[])
                .unwrap_err();
            assert!(e.to_string().contains("public_url"), "{bad}: {e}");
        }
    }

    #[test]
    fn service_rules_apply_to_their_tunables() {
        // T2: the status list ttl must be positive.
        let e = DomainConfig::from_toml_and_env(
            &format!("{MINIMAL}\n[status_list]\nttl_seconds = 0\n"),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("status_list"), "{e}");
    }

    #[test]
    fn serve_needs_postgres_internal_tls_and_its_upstreams() {
        let c = DomainConfig::from_toml_and_env(MINIMAL, &[]).unwrap();
        let e = c.check_for_serve(ServiceKind::Registry).unwrap_err();
        assert!(e.to_string().starts_with("database.url"), "{e}");

        let c =
            DomainConfig::from_toml_and_env(MINIMAL, &[("DATABASE_URL", "sqlite://x.db?mode=rwc")])
                .unwrap();
        let e = c.check_for_serve(ServiceKind::Registry).unwrap_err();
        assert!(e.to_string().contains("PostgreSQL"), "{e}");

        let c = DomainConfig::from_toml_and_env(MINIMAL, &[("DATABASE_URL", "postgres://db/a")])
            .unwrap();
        let e = c.check_for_serve(ServiceKind::Registry).unwrap_err();
        assert!(e.to_string().starts_with("internal_tls"), "{e}");
    }

    #[test]
    fn service_names_parse_both_spellings() {
        assert_eq!(
            "status-list".parse::<ServiceKind>().unwrap(),
            ServiceKind::StatusList
        );
        assert_eq!(
            "status_list".parse::<ServiceKind>().unwrap(),
            ServiceKind::StatusList
        );
        assert!("monitorx".parse::<ServiceKind>().is_err());
    }

    #[test]
    fn admin_tokens_must_be_long_and_plain() {
        assert!(check_admin_token("short").is_err());
        assert!(check_admin_token(&format!("{} x", "a".repeat(40))).is_err());
        assert!(check_admin_token(&"a".repeat(40)).is_ok());
    }
}
