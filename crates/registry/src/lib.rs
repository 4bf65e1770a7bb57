//! The crossauthz registry service (gRPC, `crossauthz.registry.v1.Registry`): a domain's agents,
//! their versioned metadata, their hosted OAuth Client ID Metadata Documents carrying the newest
//! valid `vc+jwt` credential, the credentials issued to them through the issuer, and RFC
//! 7591/7592 dynamically registered clients (DESIGN §2–§4).
//!
//! - [`agent`]: the metadata kept per version and its validation on the way in.
//! - [`hosted`]: the hosted document, validated with the CIMD parser a foreign AS uses; `ETag`.
//! - [`dcr`]: RFC 7591/7592 metadata rules and registration access tokens.
//! - [`service`]: [`RegistryService`], the operations on domain types.
//! - [`grpc`]: the tonic boundary and the one error → status table.
//! - [`upstream`]: calls to the issuer.
#![forbid(unsafe_code)]

pub mod agent;
pub mod config;
pub mod dcr;
pub mod error;
pub mod grpc;
pub mod hosted;
pub mod model;
pub mod service;
pub mod upstream;

pub use config::{ConfigError, RegistryConfig};
pub use error::RegistryError;
pub use grpc::{OAUTH_ERROR_METADATA, to_status};
pub use service::RegistryService;
