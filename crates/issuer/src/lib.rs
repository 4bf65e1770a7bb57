//! The crossauthz issuer service (gRPC, `crossauthz.issuer.v1.Issuer`): signs Agent Authorization
//! Credentials in `vc+jwt` and `dc+sd-jwt` (DESIGN §5), holds the domain's signing keys encrypted
//! under a master key and rotates them, signs the status lists the status-list service renders,
//! and publishes the public keys as did.json, jwks.json and jwt-vc-issuer metadata (DESIGN §3,
//! §7).
//!
//! - [`config`]: [`IssuerConfig`], its validation and the derived [`config::Identity`].
//! - [`master_key`]: [`MasterKey`] and the XChaCha20-Poly1305 sealing of private keys.
//! - [`custody`]: [`custody::KeyCustody`]: generation, start-up check, active key, rotation.
//! - [`issue`]: request validation and credential building (both formats).
//! - [`status_signing`]: what `SignStatusList` accepts, and nothing else.
//! - [`access_token`]: what `SignAccessToken` accepts (an RFC 9068 access-token shape only).
//! - [`service`]: [`IssuerService`], the operations over domain types.
//! - `upstream`: the calls to the status-list service.
//! - [`grpc`]: the tonic boundary and the error → status table.
#![forbid(unsafe_code)]

pub mod access_token;
pub mod config;
pub mod custody;
mod error;
pub mod grpc;
pub mod issue;
pub mod master_key;
pub mod service;
pub mod status_signing;
mod upstream;

pub use access_token::{AccessTokenRequest, SignedAccessToken};
pub use config::{ConfigError, IssuerConfig, MasterKeySource, SdJwtIssuer};
pub use error::{IssuerError, StartupError};
pub use issue::{Actor, Format, IssueRequest, IssuedCredential, StatusRef};
pub use master_key::{MasterKey, MasterKeyError};
pub use service::{
    AUDIT_SERVICE, CredentialView, IssuerService, KeyView, PublicKeyDocuments, StatusChange,
};
pub use status_signing::{ListKind, SignedList};
pub use upstream::StatusListUpstream;
