//! `IssuerError` (what a request can fail with, typed by the rule it broke) and `StartupError`
//! (why the service refuses to start). The gRPC boundary maps `IssuerError` in one table
//! (`grpc::to_status`).

use crossauthz_core::client_id::ClientIdError;
use crossauthz_core::profile::ProfileError;
use crossauthz_store::StoreError;
use uuid::Uuid;

use crate::config::ConfigError;
use crate::custody::CustodyError;
use crate::master_key::MasterKeyError;

/// Why a request to the issuer failed. Variants are grouped by the gRPC code they map to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    // ---- INVALID_ARGUMENT: the request is malformed; nothing was changed ----
    /// A credential or agent id is not a UUID.
    #[error("{what} must be a UUID")]
    MalformedId {
        /// Which id.
        what: &'static str,
    },
    /// The credential format is missing or unknown.
    #[error("format must be vc+jwt or dc+sd-jwt")]
    FormatUnspecified,
    /// The subject is not a valid client_id (CIMD URL, C1).
    #[error("subject is not a valid client_id: {0}")]
    InvalidSubject(ClientIdError),
    /// `claims_json` is not a JSON object.
    #[error("claims_json must be a JSON object")]
    ClaimsNotAnObject,
    /// The claims do not fit the Agent Authorization Credential profile (DESIGN §5).
    #[error("claims refused: {0}")]
    InvalidClaims(ProfileError),
    /// `issuerDomain` names another domain than this issuer's.
    #[error("issuerDomain {found:?} is not this issuer's domain {expected:?}")]
    IssuerDomainMismatch {
        /// The claim as given.
        found: String,
        /// This issuer's domain.
        expected: String,
    },
    /// The holder key (`cnf.jwk`) is not an acceptable public JWK (EdDSA/ES256 only, no private
    /// members).
    #[error("holder key refused: {0}")]
    InvalidHolderKey(String),
    /// The requested validity is longer than the configured maximum.
    #[error("validity of {requested} s exceeds the maximum of {max} s")]
    ValidityTooLong {
        /// Requested seconds.
        requested: u64,
        /// Configured maximum.
        max: u64,
    },
    /// `disclose` was given for a `vc+jwt`, which has no selective disclosure.
    #[error("selective disclosure is only available for dc+sd-jwt")]
    DisclosureNotSupported,
    /// A `disclose` entry is not an RFC 6901 JSON pointer to a claim.
    #[error("disclose entry {0:?} is not a JSON pointer to a claim")]
    InvalidPointer(String),
    /// A `disclose` entry points at nothing in the credential.
    #[error("disclose entry {0:?} points at no claim")]
    PointerNotFound(String),
    /// The same `disclose` entry was given twice.
    #[error("disclose entry {0:?} is given twice")]
    DuplicatePointer(String),
    /// The claim may never be selectively disclosable (V3: `iss`, `vct`, `cnf`, `status`,
    /// validity; and by project policy `sub` and `jti`).
    #[error("claim {0:?} must not be selectively disclosable (V3)")]
    NotDisclosable(String),
    /// A claim value uses an SD-JWT reserved name (`_sd`, `...`, `_sd_alg`) (S2).
    #[error("claim name {0:?} is reserved by SD-JWT (S2)")]
    ReservedClaimName(String),
    /// `SignStatusList`: the format is missing or unknown.
    #[error("status list format must be token status list or bitstring status list")]
    ListFormatUnspecified,
    /// `SignStatusList`: the payload is not a status list of the requested format. This is what
    /// keeps the endpoint from signing anything else (e.g. an Agent Authorization Credential).
    #[error("not a status list payload: {0}")]
    NotAStatusList(String),
    /// `SignStatusList`: the list URL (`sub` / `id`) is not under this domain's `/status/`.
    #[error("status list URL {0:?} is not under this domain's /status/")]
    ForeignStatusListUrl(String),
    /// `SignStatusList`: the requested lifetime exceeds the configured maximum.
    #[error("status list lifetime of {requested} s exceeds the maximum of {max} s")]
    ListLifetimeTooLong {
        /// Requested seconds.
        requested: u64,
        /// Configured maximum.
        max: u64,
    },
    /// `RotateKey`: an unknown algorithm value.
    #[error("algorithm must be EdDSA or ES256")]
    UnknownAlgorithm,
    /// `SignAccessToken`: the audience is not one absolute https resource URL without query or
    /// fragment (RFC 8707 §2, A3).
    #[error(
        "access token audience {0:?} must be one absolute https URL without query or fragment (RFC 8707 §2)"
    )]
    AccessTokenAudience(String),
    /// `SignAccessToken`: the scopes are missing, too many, or not RFC 6749 scope tokens.
    #[error("access token scopes refused: {0}")]
    AccessTokenScope(String),
    /// `SignAccessToken`: a claim value (`client_id`, `sub`, `credential_id`,
    /// `issuer_domain`) is empty where required, too long or holds control characters.
    #[error("access token claim `{0}` is invalid")]
    AccessTokenClaim(&'static str),
    /// `SignAccessToken`: the requested lifetime exceeds the configured maximum.
    #[error("access token lifetime of {requested} s exceeds the maximum of {max} s")]
    AccessTokenLifetimeTooLong {
        /// Requested seconds.
        requested: u64,
        /// Configured maximum.
        max: u64,
    },
    /// `SignAuditCheckpoint`: `seq` is 0 or `expected_hash` is not 32 bytes.
    #[error("audit checkpoint request: {0}")]
    CheckpointRequest(&'static str),
    /// `SignAuditCheckpoint`: no audit event has this `seq`.
    #[error("no audit event with seq {0}")]
    CheckpointEventNotFound(u64),
    /// `SignAuditCheckpoint`: the event's hash in the log is not the one the caller verified.
    #[error("audit event {0} does not have the expected hash")]
    CheckpointHashMismatch(u64),

    // ---- NOT_FOUND ----
    /// No credential with this id was issued here.
    #[error("credential {0} not found")]
    CredentialNotFound(Uuid),

    // ---- FAILED_PRECONDITION ----
    /// A status change the lifecycle forbids (B4: nothing leaves `revoked`).
    #[error("cannot change a {from} credential to {to} (B4: revocation is final)")]
    InvalidTransition {
        /// Current state.
        from: &'static str,
        /// Requested state.
        to: &'static str,
    },
    /// The status-list service refused the change (its lifecycle check, e.g. a concurrent
    /// revocation won the race).
    #[error("status change refused: {0}")]
    StatusChangeRefused(String),

    // ---- UNAVAILABLE / INTERNAL ----
    /// The status-list service could not be reached or failed; nothing was issued or changed
    /// by this call (allocation failures burn no credential; status changes are atomic there).
    #[error("status-list service unavailable: {0}")]
    StatusListUnavailable(String),
    /// The status-list service answered something that breaks the contract (a bug).
    #[error("status-list service answered unexpectedly: {0}")]
    StatusListContract(String),
    /// The database failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A change was made durable but its audit event could not be appended.
    #[error("the change was applied but its audit event could not be written: {0}")]
    AuditFailed(StoreError),
    /// Key custody failed (no active key, decryption, generation).
    #[error("key custody: {0}")]
    Custody(#[from] CustodyError),
    /// Building or signing a credential failed after validation (a bug, not bad input).
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Why the issuer refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The master key could not be loaded.
    #[error("master key: {0}")]
    MasterKey(#[from] MasterKeyError),
    /// The stored signing keys cannot be opened with this master key (or another custody
    /// failure at start).
    #[error("key custody: {0}")]
    Custody(#[from] CustodyError),
    /// The database failed at start.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}
