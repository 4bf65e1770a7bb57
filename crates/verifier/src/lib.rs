//! The crossauthz verifier service (gRPC).
#![forbid(unsafe_code)]
