//! Timestamp precision shared by both backends.
//!
//! PostgreSQL `timestamptz` keeps microseconds; the SQLite backend stores RFC 3339 text and would
//! keep nanoseconds. Every timestamp is truncated to microseconds before it is written so that
//! both backends return exactly what the other would, and hashes over timestamps are stable.

use chrono::{DateTime, SubsecRound, Utc};

/// Truncates a timestamp to the microsecond precision every backend stores.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// Shorthand used by the backends.
pub(crate) fn us(t: DateTime<Utc>) -> DateTime<Utc> {
    truncate_to_micros(t)
}

/// Truncates an optional timestamp.
pub(crate) fn us_opt(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    t.map(truncate_to_micros)
}
