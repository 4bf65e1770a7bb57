//! `StatusListError`: every way a status-list operation fails, typed by the rule it broke, and
//! the translation of store errors into it.

use crossauthz_store::StoreError;

/// Errors of the status-list service's domain operations.
#[derive(Debug, thiserror::Error)]
pub enum StatusListError {
    /// The list id is not a UUID.
    #[error("malformed status list id")]
    MalformedListId,
    /// The credential id given for an allocation is not a UUID.
    #[error("malformed credential id (expected a UUID)")]
    MalformedCredentialId,
    /// No status was given (or an unknown enum value).
    #[error("status must be valid, revoked or suspended")]
    StatusUnspecified,
    /// No list format was given (or an unknown enum value).
    #[error("format must be token status list or bitstring status list")]
    FormatUnspecified,
    /// The purpose is not `revocation` or `suspension` for a bitstring list, or is set for a
    /// Token Status List (which carries every state in 2 bits).
    #[error("unsupported status purpose {0:?} for this format (B1)")]
    UnsupportedPurpose(String),
    /// The list does not exist.
    #[error("status list not found")]
    ListNotFound,
    /// The index is inside the list but was never allocated.
    #[error("status entry not found")]
    EntryNotFound,
    /// The index is outside `0..capacity` (T5: an out-of-range index is rejected).
    #[error("index {index} is out of range for a list of {capacity} entries (T5)")]
    IndexOutOfRange {
        /// The requested index.
        index: u64,
        /// The list's capacity.
        capacity: u64,
    },
    /// A change the lifecycle forbids: anything out of `revoked`, or a state "changing" to
    /// itself (B4: revocation is irreversible).
    #[error("cannot change status from {from} to {to} (B4: revocation is final)")]
    InvalidTransition {
        /// The current state.
        from: &'static str,
        /// The requested state.
        to: &'static str,
    },
    /// The issuer could not be reached to sign a list.
    #[error("the issuer is unavailable: {0}")]
    SignerUnavailable(String),
    /// The issuer refused or answered malformed data for a list we rendered (a bug on one
    /// side, not a client error).
    #[error("the issuer refused to sign the status list: {0}")]
    SignerFailed(String),
    /// A list could not be rendered (e.g. a corrupt capacity).
    #[error("cannot render status list: {0}")]
    Render(String),
    /// No free index was found and no new list could be opened.
    #[error("no status index could be allocated")]
    AllocationExhausted,
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for StatusListError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound {
                what: "status list",
            } => StatusListError::ListNotFound,
            StoreError::NotFound { .. } => StatusListError::EntryNotFound,
            StoreError::IndexOutOfRange { idx, capacity } => StatusListError::IndexOutOfRange {
                index: u64::try_from(idx).unwrap_or(u64::MAX),
                capacity: u64::try_from(capacity).unwrap_or(0),
            },
            StoreError::InvalidTransition { from, to } => {
                StatusListError::InvalidTransition { from, to }
            }
            other => StatusListError::Store(other),
        }
    }
}
