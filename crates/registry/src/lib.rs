//! The crossauthz registry service (gRPC).
#![forbid(unsafe_code)]
