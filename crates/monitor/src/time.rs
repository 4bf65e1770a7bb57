//! Timestamps across the gRPC boundary.

use chrono::{DateTime, Utc};

use crate::MonitorError;

/// A required protobuf timestamp as UTC; absent or out of range breaks the contract.
pub(crate) fn from_proto(
    t: Option<&prost_types::Timestamp>,
) -> Result<DateTime<Utc>, MonitorError> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
        .ok_or_else(|| MonitorError::Contract("missing or invalid timestamp".into()))
}

/// UTC as a protobuf timestamp.
pub(crate) fn to_proto(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}
