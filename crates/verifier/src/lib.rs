//! The crossauthz verifier service (gRPC): decides whether a client from another domain may act
//! here, and says why (DESIGN §6 steps 1–6), and keeps the domain's trust list, Cedar policies
//! and resources.
//!
//! - [`fetch`]: the SSRF-safe fetcher, the only way anything is read from another domain.
//! - [`document`]: steps 1–2, the client_id URL and the client metadata document (C1–C15, M2).
//! - [`client_auth`]: step 3, `private_key_jwt` client assertions (P1–P5).
//! - [`credential`]: step 4, `vc+jwt` / `dc+sd-jwt` credentials, trust list, did:web keys,
//!   holder binding (J1–J5, S1–S7, V1–V4, E2).
//! - [`status`]: step 5, Bitstring Status List and Token Status List, fail closed (B1–B4, T1–T5).
//! - [`policy`]: step 6, Cedar, default deny; the example policy set.
//! - [`decide`]: the pipeline, its audit records, GET /authorize client resolution, client
//!   authentication without a grant (introspection, revocation).
//! - [`logo`]: the client's logo, prefetched for the consent page (C13).
//! - [`settings`]: trust list / policies / resources validation and the in-memory snapshot.
//! - [`reasons`]: every deny code and its OAuth error.
//! - [`grpc`]: the tonic boundary and the one error table.
#![forbid(unsafe_code)]

pub mod client_auth;
pub mod config;
pub mod credential;
pub mod decide;
pub mod document;
pub mod error;
pub mod fetch;
pub mod grpc;
pub mod logo;
pub mod policy;
pub mod reasons;
pub mod service;
pub mod settings;
pub mod status;

pub use config::VerifierConfig;
pub use decide::{
    AuthenticateInput, Authentication, CredentialSummary, DecideInput, Decision, Resolution,
    ResolveInput,
};
pub use error::VerifierError;
pub use reasons::{DenyReason, OAuthError, codes};
pub use service::VerifierService;
