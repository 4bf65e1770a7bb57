//! Storage of the crossauthz services: one async trait per service (registry, issuer, status,
//! verifier, audit, and the gateway's OAuth grant state), each with a PostgreSQL and an embedded
//! SQLite implementation (sqlx runtime queries), the per-service migrators, and [`Database`]
//! which connects and hands out the stores.
//!
//! ```no_run
//! # async fn demo() -> Result<(), crossauthz_store::StoreError> {
//! use crossauthz_store::{Database, Service};
//! let db = Database::connect("sqlite::memory:").await?;
//! db.migrate(Service::Registry).await?;
//! let registry = db.registry_store();
//! # let _ = registry; Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod audit;
mod db;
mod error;
pub mod issuer;
pub mod monitor;
pub mod oauth;
pub mod registry;
pub mod status;
mod time;
pub mod verifier;

#[cfg(feature = "testing")]
pub mod testing;

pub use audit::{
    AuditCheckpoint, AuditEvent, AuditFilter, AuditStore, ChainBreak, ChainReport, ChainStatus,
    NewAuditEvent,
};
pub use db::{Backend, Database, PoolSettings, Service, migrator};
pub use error::StoreError;
pub use issuer::{IssuedCredential, IssuerStore, NewSigningKey, SigningKey};
pub use monitor::{
    Alert, AlertCategory, AlertFilter, AlertState, KnownCredential, MonitorStore, NewAlert,
    Severity,
};
pub use oauth::{
    AuthorizationCode, CodeRedemption, NewAuthorizationCode, NewRefreshFamily, OAuthStore,
    PendingAuthorization, RefreshFamily, RefreshRotation, RefreshToken,
};
pub use registry::{
    Agent, AgentCredential, AgentCredentialState, AgentPage, AgentUpdate, AgentVersion, DcrClient,
    NewAgent, RegistryStore,
};
pub use status::{EntryState, ListSnapshot, StatusEntry, StatusList, StatusStore};
pub use time::truncate_to_micros;
pub use verifier::{PolicySet, Resource, TrustedIssuer, VerifierStore};

/// Result type of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;
