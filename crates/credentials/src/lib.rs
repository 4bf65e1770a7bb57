//! Keys, `vc+jwt`, `dc+sd-jwt` (SD-JWT VC), `did:web`, JWKS and both status-list formats.
//!
//! This crate knows no transport: it signs and verifies bytes and JSON. Callers fetch documents
//! (through the verifier's SSRF-safe client) and hand them in.
//!
//! - [`keys`]: the two accepted algorithms (EdDSA, ES256), signing keys, validated public JWKs.
//! - [`jose`]: compact JWS with explicit typing and the algorithm allowlist; [`jose::KeyResolver`].
//! - [`did_web`]: `did:web` identifiers and documents, JWKS, JWT VC issuer metadata.
//! - [`vc_jwt`]: W3C VC 2.0 secured as `vc+jwt` (VC-JOSE-COSE).
//! - [`sd_jwt`]: SD-JWT VC (`dc+sd-jwt`, RFC 9901) issuance, presentation with key binding, verification.
//! - [`status`]: IETF Token Status List and W3C Bitstring Status List.
//! - [`audit_checkpoint`]: signed checkpoints of a domain's audit log.
#![forbid(unsafe_code)]

pub mod audit_checkpoint;
pub mod did_web;
pub mod jose;
pub mod keys;
pub mod sd_jwt;
pub mod status;
pub mod vc_jwt;

pub use jose::{JoseError, JoseHeader, KeyResolver, ResolveError};
pub use keys::{Algorithm, KeyError, PublicJwk, SigningKey};
