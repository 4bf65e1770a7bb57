//! The Agent Authorization Credential (DESIGN §5) as typed Rust: the claims, their validation,
//! and the two wire forms — a W3C VC 2.0 document for `vc+jwt` ([`vc`]) and the SD-JWT VC claims
//! set for `dc+sd-jwt` ([`sd_jwt_vc`]).
//!
//! Claims are camelCase on the wire. Unknown claims are kept in [`AgentClaims::extensions`] and
//! survive a round trip unchanged. Signing, selective disclosure and verification are the
//! credentials crate's job; this module builds and reads the JSON.

mod claims;
pub mod sd_jwt_vc;
pub mod status;
pub mod vc;

pub use claims::{
    AgentClaims, AgentType, Clearance, ComplianceAttestation, Delegation, ModelInfo,
    OperationalConstraints, Provenance, TrustSignals, monitoring_view,
};
pub use sd_jwt_vc::{
    AGENT_AUTHZ_VCT, SdJwtVcAgentCredential, SdJwtVcInput, from_sd_jwt_vc_claims,
    to_sd_jwt_vc_claims,
};
pub use status::{BitstringStatusEntry, BitstringStatusRef, StatusPurpose, TokenStatusRef};
pub use vc::{
    AGENT_CREDENTIAL_TYPE, AgentCredential, VC_V2_CONTEXT, VcDocumentInput, from_vc_document,
    to_vc_document,
};

use chrono::{DateTime, Utc};

use crate::client_id::ClientIdError;
use crate::jwk_policy::JwkPolicyError;
use crate::scope::ScopeError;

/// Why a credential document, claims set or claim was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    /// The document or claims set is not a JSON object.
    #[error("`{what}` is not a JSON object")]
    NotAnObject {
        /// Which value.
        what: &'static str,
    },
    /// A required member or claim is missing.
    #[error("required claim `{claim}` is missing")]
    MissingClaim {
        /// The claim.
        claim: &'static str,
    },
    /// A member or claim has the wrong JSON type.
    #[error("claim `{claim}` has the wrong JSON type")]
    WrongClaimType {
        /// The claim.
        claim: &'static str,
    },
    /// `@context[0]` is not the VC 2.0 context (J5).
    #[error("@context[0] must be {VC_V2_CONTEXT} (J5)")]
    WrongContext,
    /// `type` lacks `VerifiableCredential` or `AgentAuthorizationCredential`.
    #[error("type must include VerifiableCredential and {AGENT_CREDENTIAL_TYPE}")]
    WrongType,
    /// `vct` is not [`AGENT_AUTHZ_VCT`] (V2).
    #[error("vct {found:?} is not {AGENT_AUTHZ_VCT} (V2)")]
    WrongVct {
        /// The vct found.
        found: String,
    },
    /// `issuer` / `iss` is not acceptable (a `did:web` DID, or for SD-JWT VC an https URL).
    #[error("issuer {issuer:?} is not acceptable: {reason}")]
    InvalidIssuer {
        /// The issuer.
        issuer: String,
        /// Why.
        reason: &'static str,
    },
    /// A timestamp is malformed (RFC 3339 for VC, NumericDate for JWT).
    #[error("claim `{claim}` is not a valid timestamp")]
    InvalidTimestamp {
        /// The claim.
        claim: &'static str,
    },
    /// `validUntil` (or `exp`) is not after `validFrom` (or `nbf`/`iat`).
    #[error("validity window is empty or inverted")]
    EmptyValidity,
    /// The subject id (VC `credentialSubject.id`, SD-JWT `sub`) is not a CIMD client_id.
    #[error("subject is not a valid client_id: {0}")]
    InvalidSubject(ClientIdError),
    /// `credentialSubject` is an array (this profile has exactly one subject).
    #[error("credentialSubject must be a single object")]
    MultipleSubjects,
    /// `agentType` is not one of the five types.
    #[error("unknown agentType {0:?}")]
    UnknownAgentType(String),
    /// `dataSensitivityClearance` is not one of the five levels.
    #[error("unknown dataSensitivityClearance {0:?}")]
    UnknownClearance(String),
    /// An `authorizedScopes` (or `nonDelegatable`) entry is not an RFC 6749 scope token.
    #[error("invalid scope {scope:?}: {source}")]
    InvalidScope {
        /// The entry.
        scope: String,
        /// Why.
        #[source]
        source: ScopeError,
    },
    /// `issuerDomain` is not a host name (with optional port).
    #[error("issuerDomain {0:?} is not a host name")]
    InvalidIssuerDomain(String),
    /// `trustSignals.trustScore` outside `[0, 1]`.
    #[error("trustScore {0} is outside [0, 1]")]
    TrustScoreOutOfRange(f64),
    /// `provenance.slsaLevel` above 4.
    #[error("slsaLevel {0} is outside 0..=4")]
    InvalidSlsaLevel(u8),
    /// A compliance attestation with an empty `standard`.
    #[error("compliance attestation {index} has an empty standard")]
    EmptyAttestationStandard {
        /// Position in `complianceAttestations`.
        index: usize,
    },
    /// An extension claim uses a reserved name (a profile claim, `id`, or a JWT/SD-JWT claim).
    #[error("extension claim name {0:?} is reserved")]
    ReservedExtensionName(String),
    /// The claims did not fit the profile's types (message from the JSON decoder).
    #[error("claims do not fit the profile: {0}")]
    InvalidClaims(String),
    /// No `BitstringStatusListEntry` with purpose `revocation` (status is mandatory; fail closed).
    #[error("credentialStatus has no BitstringStatusListEntry with purpose revocation")]
    MissingRevocationStatus,
    /// A status entry is malformed (B1 / T3).
    #[error("status entry {index} is invalid: {reason}")]
    InvalidStatusEntry {
        /// Position of the entry.
        index: usize,
        /// Why.
        reason: &'static str,
    },
    /// The holder key (`cnf.jwk`) is not an acceptable public key.
    #[error("cnf.jwk refused: {0}")]
    InvalidHolderKey(JwkPolicyError),
    /// Undisclosed SD-JWT structure (`_sd`, `...`) is still present: process disclosures first.
    #[error("claims still contain SD-JWT digests (`{0}`); pass the processed claims")]
    UnprocessedSdJwt(&'static str),
    /// `now` is before `validFrom` / `nbf`.
    #[error("credential not yet valid (valid from {valid_from})")]
    NotYetValid {
        /// Start of validity.
        valid_from: DateTime<Utc>,
    },
    /// `now` is at or after `validUntil` / `exp`.
    #[error("credential expired at {valid_until}")]
    Expired {
        /// End of validity.
        valid_until: DateTime<Utc>,
    },
    /// Could not serialise claims.
    #[error("could not serialise the claims: {0}")]
    Serialize(String),
}

/// Checks `valid_from <= now < valid_until`.
pub fn check_validity_window(
    valid_from: Option<DateTime<Utc>>,
    valid_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ProfileError> {
    if let Some(valid_from) = valid_from
        && now < valid_from
    {
        return Err(ProfileError::NotYetValid { valid_from });
    }
    if now >= valid_until {
        return Err(ProfileError::Expired { valid_until });
    }
    Ok(())
}
