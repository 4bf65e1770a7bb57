//! The crossauthz status-list service (gRPC).
#![forbid(unsafe_code)]
