//! Runs a crossauthz domain: the five services (registry, issuer, status-list, verifier,
//! gateway) either all in one process for development ([`dev::DevDomain`], `start-dev`) or one
//! per process for production ([`serve::serve`], `serve <service>`), from one typed
//! configuration ([`config::DomainConfig`]).
//!
//! The services never call each other in-process: they talk gRPC, plaintext on loopback in
//! start-dev and mutual TLS with the domain's internal CA in serve ([`grpc`]). The wiring of
//! each service — what it needs and whom it calls — is in one place, [`services`].
#![forbid(unsafe_code)]

pub mod config;
pub mod dev;
pub mod grpc;
pub mod ops;
pub mod pki;
pub mod runtime;
pub mod serve;
pub mod services;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use config::{ConfigError, DomainConfig, ServiceKind};
pub use dev::{DevDomain, DevOptions};

/// Why a domain (or one of its services) could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The configuration is refused.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The gRPC plane could not be set up.
    #[error(transparent)]
    Grpc(#[from] grpc::GrpcError),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(crossauthz_store::StoreError),
    /// A certificate or key could not be made or read.
    #[error("TLS: {0}")]
    Tls(String),
    /// A file or directory could not be used.
    #[error("{path}: {source}", path = .0.display(), source = .1)]
    Io(PathBuf, std::io::Error),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A service refused to start.
    #[error("{0} did not start: {1}")]
    Start(ServiceKind, String),
    /// A listener failed while serving.
    #[error("{0} stopped serving: {1}")]
    Serve(&'static str, String),
    /// The services were wired inconsistently (a bug, reported rather than panicking).
    #[error("wiring: {0}")]
    Wiring(String),
}
