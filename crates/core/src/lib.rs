//! Domain model of crossauthz: CIMD documents and their validation, the Agent Authorization
//! Credential profile, scopes, JWK acceptance policy, the SSRF address classifier and the clock.
//!
//! This crate holds rules only: no transport, no storage, no cryptography. Every service and the
//! gateway use it; conformance rule IDs (C1, C3, …) refer to `CONFORMANCE.md`.
#![forbid(unsafe_code)]

pub mod cimd;
pub mod client_id;
pub mod clock;
pub mod jwk_policy;
pub mod net;
pub mod profile;
pub mod scope;
pub mod strict_json;

pub use cimd::{
    AuthMethod, CimdError, CimdLimits, ClientMetadataDocument, KeySource, ValidatedDocument,
    all_redirects_are_localhost, parse_fetched, redirect_uri_matches,
};
pub use client_id::{ClientIdError, ClientIdUrl, HttpsUrlError, https_url, is_same_url};
pub use clock::{Clock, FixedClock, SystemClock};
pub use jwk_policy::{JwkPolicyError, JwksError, SigningAlg, check_jwk, check_jwks};
pub use net::{
    AllowLoopback, ForbiddenAddress, PrivateNetwork, PrivateNetworkError, check_address,
    check_address_allowing, forbidden_reason,
};
pub use profile::{AGENT_AUTHZ_VCT, AgentClaims, AgentType, Clearance, ProfileError};
pub use scope::{Scope, ScopeError, ScopeSet};
