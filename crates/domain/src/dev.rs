//! `start-dev`: every service of one domain in one process, for development and the demo.
//!
//! The services still talk gRPC, over plaintext on loopback only (`127.0.0.1`, ephemeral
//! ports). State lives in one SQLite file in the data directory, with the issuer's master key
//! next to it (created on first start, readable by its owner only). The gateway serves HTTPS
//! on the listen address with a certificate from the development CA in `--dev-ca` (created if
//! absent); the verifier trusts that CA for outbound fetches, resolves names under `.localhost`
//! to loopback (RFC 6761 §6.3) and may fetch from loopback — which is why two instances
//! sharing a CA directory trust each other. None of these allowances exist in `serve`.
//!
//! The public listener also answers `/readyz` and, with the admin bearer token, `/metrics`
//! (in `serve` both are on the internal ops listener).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crossauthz_core::clock::{Clock, SystemClock};
use crossauthz_gateway::admin_auth::AdminToken;
use crossauthz_gateway::oauth::login::{self, DevUser};
use crossauthz_issuer::MasterKey;
use crossauthz_issuer::config::MasterKeySource;
use crossauthz_store::Database;
use crossauthz_tls::DevCa;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::{DomainConfig, ServiceKind, check_admin_token};
use crate::grpc::{self, Admission};
use crate::runtime::Tasks;
use crate::services::{self, Channels};
use crate::{DomainError, ops};

/// The subject of the development login (every browser is this user in start-dev).
pub const DEV_USER: &str = "dev-user";
/// Status-list `ttl` in start-dev: a revocation shows at a verifier within seconds.
pub const DEV_STATUS_TTL_SECONDS: u64 = 5;

/// The start-dev command line.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// The domain's issuer and the base of every URL it publishes (`https://alpha.localhost:9443`).
    pub public_url: Url,
    /// Where the gateway listens (`127.0.0.1:9443`).
    pub listen: SocketAddr,
    /// Where the SQLite file and the master key live.
    pub data_dir: PathBuf,
    /// The development CA directory (`ca.pem`), created if absent.
    pub dev_ca_dir: PathBuf,
    /// The admin token; generated when `None`.
    pub admin_token: Option<String>,
}

/// A running development domain.
#[derive(Debug)]
pub struct DevDomain {
    public_url: Url,
    admin_token: String,
    admin_token_generated: bool,
    ca_pem: String,
    ca_path: PathBuf,
    listen: SocketAddr,
    grpc: Vec<(ServiceKind, SocketAddr)>,
    database: Database,
    tasks: Tasks,
}

impl DevDomain {
    /// Starts the domain, binding `options.listen`.
    pub async fn start(options: DevOptions) -> Result<Self, DomainError> {
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| DomainError::Bind {
                    addr: options.listen,
                    source,
                })?;
        Self::start_on(options, listener).await
    }

    /// Starts the domain on an already bound public listener (the demo picks free ports first,
    /// since every published URL names the port).
    pub async fn start_on(options: DevOptions, listener: TcpListener) -> Result<Self, DomainError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        std::fs::create_dir_all(&options.data_dir)
            .map_err(|e| DomainError::Io(options.data_dir.clone(), e))?;
        let ca = DevCa::load_or_create(&options.dev_ca_dir)
            .map_err(|e| DomainError::Tls(e.to_string()))?;
        let ca_pem = ca.cert_pem().to_owned();
        let (admin_token, admin_token_generated) = match options.admin_token {
            Some(token) => (token, false),
            None => (generate_token(), true),
        };
        check_admin_token(&admin_token)?;

        let config = dev_config(&options.public_url, &options.data_dir, &ca_pem)?;
        let db_path = options.data_dir.join("crossauthz.sqlite");
        let database = Database::connect(&format!("sqlite://{}?mode=rwc", db_path.display()))
            .await
            .map_err(DomainError::Store)?;
        database.migrate_all().await.map_err(DomainError::Store)?;

        // Listeners first, then channels: the issuer and the status-list service call each
        // other, and channels connect lazily.
        let mut listeners = Vec::new();
        let mut channels = Channels::default();
        let mut grpc_addrs = Vec::new();
        for kind in [
            ServiceKind::StatusList,
            ServiceKind::Issuer,
            ServiceKind::Registry,
            ServiceKind::Verifier,
            ServiceKind::Monitor,
        ] {
            let l = grpc::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            let addr = l
                .local_addr()
                .map_err(|e| DomainError::Io(PathBuf::from("grpc listener"), e))?;
            let channel = grpc::loopback_channel(addr)?;
            channels.set(kind, channel);
            grpc_addrs.push((kind, addr));
            listeners.push((kind, l));
        }

        let shutdown = CancellationToken::new();
        let mut tasks = Tasks::new(shutdown.clone());
        for (kind, listener) in listeners {
            let routes = services::grpc_routes(
                kind,
                &config,
                &database,
                clock.clone(),
                &channels,
                &shutdown,
            )
            .await;
            let routes = match routes {
                Ok(r) => r,
                Err(e) => {
                    tasks.stop().await;
                    return Err(e);
                }
            };
            tasks
                .serve_grpc(kind, None, Admission::LoopbackDev, routes, listener)
                .await?;
        }

        let users = login::from_config(&config.oauth);
        let readiness = ops::Readiness::new(
            database.clone(),
            channels.upstreams_of(ServiceKind::Gateway),
        );
        let metrics_token = AdminToken::new(&admin_token)
            .map_err(|e| DomainError::Start(ServiceKind::Gateway, e.to_owned()))?;
        let router =
            services::gateway_router(&config, &admin_token, &database, clock, &channels, users)?
                .merge(ops::readyz_router(readiness))
                .merge(ops::admin_metrics_router(metrics_token));
        let host = options.public_url.host_str().unwrap_or("localhost");
        let cert = ca
            .issue_server(&[host, "localhost", "127.0.0.1"])
            .map_err(|e| DomainError::Tls(e.to_string()))?;
        let tls = crossauthz_tls::server_config(&cert.chain_pem, &cert.key_pem)
            .map_err(|e| DomainError::Tls(e.to_string()))?;
        let listen = listener
            .local_addr()
            .map_err(|e| DomainError::Io(PathBuf::from("public listener"), e))?;
        tasks.serve_https(listener, tls, router);

        Ok(Self {
            public_url: options.public_url,
            admin_token,
            admin_token_generated,
            ca_pem,
            ca_path: options.dev_ca_dir.join("ca.pem"),
            listen,
            grpc: grpc_addrs,
            database,
            tasks,
        })
    }

    /// The domain's public URL.
    pub fn public_url(&self) -> &Url {
        &self.public_url
    }

    /// The public URL without its trailing slash, as the domain names itself.
    pub fn base(&self) -> String {
        crate::config::base_of(&self.public_url)
    }

    /// The admin bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// True if the token was generated (then it is printed once).
    pub fn admin_token_generated(&self) -> bool {
        self.admin_token_generated
    }

    /// The development CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Where the development CA certificate is.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// The address the gateway listens on.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// Where each gRPC service listens (loopback).
    pub fn grpc_addrs(&self) -> &[(ServiceKind, SocketAddr)] {
        &self.grpc
    }

    /// The domain's database (the demo reads the audit log through it).
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Stops every listener, drains in-flight requests and closes the database.
    pub async fn stop(self) {
        self.tasks.stop().await;
        self.database.close().await;
    }

    /// Runs until `signal` completes or a listener fails, then stops.
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> Result<(), DomainError> {
        let failed = tokio::select! {
            () = signal => None,
            failure = self.tasks.first_failure() => Some(failure),
        };
        self.stop().await;
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The configuration of a development domain: defaults, with the development allowances.
fn dev_config(
    public_url: &Url,
    data_dir: &Path,
    ca_pem: &str,
) -> Result<DomainConfig, DomainError> {
    let mut config =
        DomainConfig::from_toml_and_env(&format!("public_url = \"{public_url}\""), &[])?;
    let key_path = data_dir.join("master.key");
    if !key_path.exists() {
        let key = MasterKey::generate_base64url();
        crossauthz_tls::write_private(&key_path, &key)
            .map_err(|e| DomainError::Tls(e.to_string()))?;
    }
    config.issuer.master_key = MasterKeySource::File(key_path);
    config.status_list.ttl_seconds = DEV_STATUS_TTL_SECONDS;
    let fetcher = &mut config.verifier.fetcher;
    fetcher.allow_loopback = true;
    fetcher.resolve_localhost_names = true;
    fetcher.extra_roots_pem = Some(ca_pem.to_owned());
    fetcher.cache_min = Duration::from_secs(1);
    config.verifier.settings_refresh_seconds = 0;
    // The monitor acts fast in development: new events within 200 ms, a checkpoint every
    // 10 s, and this domain's own agents are suspended on a high-severity threat alert (the
    // demo's misbehaving agent); acknowledging the alert lifts the suspension.
    config.monitor.poll_interval_ms = 200;
    config.monitor.checkpoint_interval_seconds = 10;
    config.monitor.auto_suspend.enabled = true;
    config.oauth.dev_login = Some(DevUser {
        subject: DEV_USER.to_owned(),
        name: Some("Development user".to_owned()),
    });
    Ok(config)
}

/// A random admin token: 32 bytes, base64url (43 characters).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
