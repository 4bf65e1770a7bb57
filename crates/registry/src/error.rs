//! `RegistryError`: every way a registry operation fails, typed by the rule broken. The gRPC
//! boundary maps it to a status in one table (`grpc::to_status`).

use crossauthz_store::StoreError;
use uuid::Uuid;

use crate::agent::{AgentInputError, HolderKeyError};
use crate::dcr::DcrError;
use crate::upstream::IssuerError;

/// Errors of the registry service.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The agent as submitted breaks a rule; nothing was stored.
    #[error(transparent)]
    Input(#[from] AgentInputError),
    /// An id that is not a UUID.
    #[error("{what} {value:?} is not a UUID")]
    InvalidId {
        /// Which id.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// A page token this service did not hand out.
    #[error("page_token is not a token this service handed out, or is no longer valid")]
    InvalidPageToken,
    /// Credential format unspecified or unknown.
    #[error("credential format must be vc+jwt or dc+sd-jwt")]
    UnsupportedFormat,
    /// Disclosure pointers for a `vc+jwt` (which has no selective disclosure).
    #[error("disclose applies to dc+sd-jwt only; a vc+jwt discloses every claim")]
    DiscloseWithoutSdJwt,
    /// No key to bind a credential to.
    #[error(transparent)]
    HolderKey(#[from] HolderKeyError),
    /// The agent does not exist or was deleted.
    #[error("agent {0} not found")]
    AgentNotFound(Uuid),
    /// Optimistic concurrency: the agent changed since the version the caller read.
    #[error("agent {id} is not at version {expected} (it changed meanwhile)")]
    VersionConflict {
        /// The agent.
        id: Uuid,
        /// The version the caller expected.
        expected: u32,
    },
    /// The hosted document with the new credential would exceed the size cap (E3, C12); the
    /// credential was revoked at the issuer and not attached.
    #[error(
        "the hosted document with this credential would be {size} bytes, more than the {max} allowed (E3, C12); the credential was revoked"
    )]
    CredentialTooLarge {
        /// The document size with the credential.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// RFC 7591 metadata refused.
    #[error(transparent)]
    Dcr(#[from] DcrError),
    /// RFC 7592: missing or wrong registration access token, or unknown client.
    #[error("invalid registration access token")]
    DcrUnauthorized,
    /// The issuer failed or refused.
    #[error(transparent)]
    Issuer(#[from] IssuerError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A stored row that does not decode.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The change was applied but its audit record could not be written.
    #[error("the change was applied but could not be recorded in the audit log: {0}")]
    Audit(StoreError),
}
