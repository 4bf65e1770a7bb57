//! [`VerifierError`]: the failures of the verifier service that are not a decision. A denied
//! decision is not an error: it is a [`crate::Decision`] with a [`crate::DenyReason`]. These are
//! refused admin input (trust list, policies, resources) and infrastructure failures, after
//! which no decision can be given (fail closed: the caller gets UNAVAILABLE, never an allow).

use crossauthz_store::StoreError;

use crate::config::ConfigError;
use crate::fetch::FetchError;

/// Errors of the verifier service.
#[derive(Debug, thiserror::Error)]
pub enum VerifierError {
    /// The configuration is invalid.
    #[error("invalid verifier configuration: {0}")]
    Config(#[from] ConfigError),
    /// The fetcher could not be built.
    #[error("the fetcher could not be built: {0}")]
    Fetcher(FetchError),
    /// A trust list was refused (nothing stored).
    #[error("invalid trust list: {0}")]
    InvalidTrustList(String),
    /// A policy set was refused (nothing stored; the old set stays active). Cedar's error text.
    #[error("invalid policy set: {0}")]
    InvalidPolicy(String),
    /// A resource list was refused (nothing stored).
    #[error("invalid resources: {0}")]
    InvalidResources(String),
    /// The store failed; no decision could be made or recorded.
    #[error("store failure: {0}")]
    Store(#[from] StoreError),
}
