//! The store test suite, written once against the traits and run on both backends by
//! `tests/backends.rs`. Each function takes a migrated [`Database`] and panics on failure.

pub mod audit;
pub mod issuer;
pub mod migrations;
pub mod monitor;
pub mod oauth;
pub mod registry;
pub mod status;
pub mod verifier;

use chrono::{DateTime, Duration, TimeZone, Utc};

/// A fixed instant, so tests never read the clock: 2030-01-01T00:00:00.000001Z.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap() + Duration::microseconds(1)
}

/// `t0() + secs`.
pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}
