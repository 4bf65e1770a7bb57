//! Both status-list formats and the single source of truth behind them.
//!
//! - [`token_status_list`]: IETF Token Status List codec (draft -20 §4, §6, §7; T1, T3).
//! - [`status_list_token`]: the signed `statuslist+jwt` Status List Token (§5.1, §8.3; T2, T5).
//! - [`bitstring`]: W3C Bitstring Status List codec, entry and §3.2 errors (B1–B3).
//! - [`bitstring_credential`]: the `BitstringStatusListCredential` as `vc+jwt` (B2–B4).
//! - [`view`]: one per-index state array rendered as both formats.
//!
//! Decompression in both formats is bounded ([`compression::DEFAULT_MAX_DECOMPRESSED_BYTES`]).

pub mod bitstring;
pub mod bitstring_credential;
pub mod compression;
pub mod status_list_token;
pub mod token_status_list;
pub mod view;

pub use bitstring::{
    Bitstring, BitstringStatusError, BitstringStatusListEntry, MIN_ENTRIES, MalformedValue,
    StatusMessage, StatusPurpose, StatusSize, StatusVerificationFailure,
};
pub use bitstring_credential::{
    BitstringStatusListCredential, BitstringStatusResult, check_entry, verify_and_check_entry,
    verify_status_list_credential, verify_status_list_credential_with_resolver,
};
pub use status_list_token::{
    STATUS_LIST_JWT_MEDIA_TYPE, STATUS_LIST_JWT_TYP, StatusListTokenClaims, StatusListTokenError,
    VerifiedStatusListToken, check_token_status, sign_status_list_token, verify_status_list_token,
    verify_status_list_token_with_resolver,
};
pub use token_status_list::{
    StatusBits, StatusClaim, StatusList, StatusListJson, StatusListReference, StatusType, TslError,
};
pub use view::{CredentialState, RenderedStatusLists, StatusRegistryView};
