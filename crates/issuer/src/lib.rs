//! The crossauthz issuer service (gRPC).
#![forbid(unsafe_code)]
