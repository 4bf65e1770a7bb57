//! The internal gRPC plane: listeners, channels and who may call.
//!
//! In `serve` mode every listener speaks TLS with the domain's internal CA and asks for a client
//! certificate. A caller is admitted if it presented a certificate that chains to that CA
//! (rustls verified it during the handshake) or, for internal agents without one, a bearer token
//! from the configured list in `authorization` metadata. Anyone else gets `UNAUTHENTICATED`
//! before any service code runs. In `start-dev` the listeners are plaintext and bound to
//! loopback only.
//!
//! Every listener also serves `grpc.health.v1.Health` and server reflection (behind the same
//! admission rule), and sets TCP_NODELAY (small gRPC messages otherwise wait on Nagle).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crossauthz_telemetry::{TracedChannel, traced};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, Server, ServerTlsConfig};
use tonic::{Request, Status};
use tonic_health::server::HealthReporter;

use crate::config::{ConfigError, InternalTlsSection, MIN_BEARER_TOKEN_LEN};

/// Why the gRPC plane could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    /// A certificate, key or token file could not be read.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// tonic refused the TLS or server settings.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection could not load the descriptor set.
    #[error("gRPC reflection: {0}")]
    Reflection(String),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// SHA-256 digests of the bearer tokens internal agents may present; compared in constant time.
#[derive(Clone, Default)]
pub struct BearerTokens(Arc<Vec<[u8; 32]>>);

impl std::fmt::Debug for BearerTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BearerTokens({} tokens)", self.0.len())
    }
}

impl BearerTokens {
    /// Tokens from a file: one per line, blank lines and `#` comments ignored; each at least
    /// [`MIN_BEARER_TOKEN_LEN`] characters.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
            key: "internal_tls.bearer_tokens_file".into(),
            reason: format!("{}: {e}", path.display()),
        })?;
        Self::parse(&text)
    }

    /// Tokens from text in the file's format.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let mut digests = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let token = line.trim();
            if token.is_empty() || token.starts_with('#') {
                continue;
            }
            if token.len() < MIN_BEARER_TOKEN_LEN || token.chars().any(char::is_whitespace) {
                return Err(ConfigError::Invalid {
                    key: "internal_tls.bearer_tokens_file".into(),
                    reason: format!(
                        "line {}: a token must be at least {MIN_BEARER_TOKEN_LEN} characters without spaces",
                        n + 1
                    ),
                });
            }
            digests.push(Sha256::digest(token.as_bytes()).into());
        }
        Ok(Self(Arc::new(digests)))
    }

    /// True if `presented` is one of the tokens.
    pub fn admits(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Check every entry (no early exit) so timing does not tell which one matched.
        self.0
            .iter()
            .fold(subtle::Choice::from(0), |acc, d| acc | d.ct_eq(&digest))
            .into()
    }
}

/// Who may call an internal listener.
#[derive(Debug, Clone)]
pub enum Admission {
    /// Anyone who can reach it: `start-dev`, where listeners are on loopback only.
    LoopbackDev,
    /// A verified client certificate (mutual TLS) or one of these bearer tokens.
    CertificateOrToken(BearerTokens),
}

impl Admission {
    /// Admits or refuses one request.
    #[allow(clippy::result_large_err)] // tonic's interceptor signature returns Status.
    pub fn check(&self, request: Request<()>) -> Result<Request<()>, Status> {
        match self {
            Self::LoopbackDev => Ok(request),
            Self::CertificateOrToken(tokens) => {
                // With TLS on, rustls has verified any presented chain against the internal CA:
                // a certificate here is an authenticated internal service.
                if request.peer_certs().is_some_and(|certs| !certs.is_empty()) {
                    return Ok(request);
                }
                let bearer = request
                    .metadata()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                match bearer {
                    Some(token) if tokens.admits(token) => Ok(request),
                    _ => Err(Status::unauthenticated(
                        "internal gRPC needs a client certificate from the domain's internal CA or a bearer token",
                    )),
                }
            }
        }
    }
}

/// TLS material of the internal plane, read once.
#[derive(Clone)]
pub struct InternalTls {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for InternalTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InternalTls").finish_non_exhaustive()
    }
}

impl InternalTls {
    /// Reads the CA, certificate and key named in `[internal_tls]`.
    pub fn load(section: &InternalTlsSection) -> Result<Self, ConfigError> {
        let read = |key: &str, path: &Path| {
            std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
                key: key.to_owned(),
                reason: format!("{}: {e}", path.display()),
            })
        };
        Ok(Self {
            ca_pem: read("internal_tls.ca", &section.ca)?,
            cert_pem: read("internal_tls.cert", &section.cert)?,
            key_pem: read("internal_tls.key", &section.key)?,
        })
    }

    /// From PEM text (tests, start-dev's own PKI).
    pub fn from_pem(ca_pem: String, cert_pem: String, key_pem: String) -> Self {
        Self {
            ca_pem,
            cert_pem,
            key_pem,
        }
    }

    fn server(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .client_ca_root(Certificate::from_pem(&self.ca_pem))
            // Internal agents may come with a bearer token instead; `Admission` decides.
            .client_auth_optional(true)
    }

    fn client(&self, domain_name: &str) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .domain_name(domain_name)
    }
}

/// A gRPC server builder with the plane's rules: TLS when given, keepalive, and the admission
/// check on every request.
pub fn server(tls: Option<&InternalTls>) -> Result<Server, GrpcError> {
    let mut builder = Server::builder()
        .tcp_keepalive(Some(Duration::from_secs(60)))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .timeout(Duration::from_secs(30));
    if let Some(tls) = tls {
        builder = builder.tls_config(tls.server())?;
    }
    Ok(builder)
}

/// `routes` with the health and reflection services every listener adds, and the reporter to
/// flip the service's status.
pub async fn with_health_and_reflection(
    routes: Routes,
    service_name: &str,
) -> Result<(HealthReporter, Routes), GrpcError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(service_name, tonic_health::ServingStatus::Serving)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crossauthz_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| GrpcError::Reflection(e.to_string()))?;
    Ok((reporter, routes.add_service(health).add_service(reflection)))
}

/// Binds a listener (the address may be port 0).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, GrpcError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| GrpcError::Bind { addr, source })
}

/// Incoming connections of a listener, with TCP_NODELAY.
pub fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// A lazily connecting plaintext channel to a loopback listener (start-dev); calls carry the
/// trace context.
pub fn loopback_channel(addr: SocketAddr) -> Result<TracedChannel, GrpcError> {
    Ok(traced(
        Endpoint::from_shared(format!("http://{addr}"))?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5))
            .connect_lazy(),
    ))
}

/// A lazily connecting mutual-TLS channel to an internal service at `url` (`https://host:port`),
/// presenting this service's certificate and verifying the server against the internal CA;
/// calls carry the trace context.
pub fn internal_channel(url: &url::Url, tls: &InternalTls) -> Result<TracedChannel, GrpcError> {
    let host = url.host_str().unwrap_or_default().to_owned();
    Ok(traced(
        Endpoint::from_shared(url.as_str().trim_end_matches('/').to_owned())?
            .tls_config(tls.client(&host))?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5))
            .connect_lazy(),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bearer_tokens_admit_only_listed_tokens() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let tokens = BearerTokens::parse(&format!("# internal agents\n{a}\n\n{b}\n")).unwrap();
        assert!(tokens.admits(&a));
        assert!(tokens.admits(&b));
        assert!(!tokens.admits(&"c".repeat(40)));
        assert!(!tokens.admits(""));
        assert!(!BearerTokens::default().admits(&a));
    }

    #[test]
    fn short_bearer_tokens_are_refused_with_their_line() {
        let e = BearerTokens::parse("# c\nshort\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn without_tls_a_request_with_no_token_is_unauthenticated() {
        let admission = Admission::CertificateOrToken(BearerTokens::default());
        let status = admission.check(Request::new(())).unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }
}
