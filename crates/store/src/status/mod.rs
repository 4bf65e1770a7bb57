//! Status store: status lists and their entries, the per-domain source of truth both published
//! formats render. An index is allocated at most once and never freed; entry states follow the
//! lifecycle valid → revoked | suspended, suspended → valid | revoked, revoked is final.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::StoreError;

pub(crate) mod pg;
pub(crate) mod sqlite;

/// State of a status entry, with the Token Status List values (§7.1: 0 VALID, 1 INVALID,
/// 2 SUSPENDED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryState {
    /// 0: valid.
    Valid,
    /// 1: revoked (final).
    Revoked,
    /// 2: suspended (reversible).
    Suspended,
}

impl EntryState {
    /// The stored and published value.
    pub fn value(self) -> i16 {
        match self {
            Self::Valid => 0,
            Self::Revoked => 1,
            Self::Suspended => 2,
        }
    }

    /// Decodes a stored value.
    pub fn from_value(v: i16) -> Option<Self> {
        match v {
            0 => Some(Self::Valid),
            1 => Some(Self::Revoked),
            2 => Some(Self::Suspended),
            _ => None,
        }
    }

    /// Name used in errors and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
        }
    }

    /// The allowed transitions: valid→revoked, valid→suspended, suspended→valid,
    /// suspended→revoked. Nothing leaves revoked, and no state "changes" to itself.
    pub fn can_become(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Valid, Self::Revoked)
                | (Self::Valid, Self::Suspended)
                | (Self::Suspended, Self::Valid)
                | (Self::Suspended, Self::Revoked)
        )
    }
}

/// A status list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusList {
    /// List id (part of its URL).
    pub id: Uuid,
    /// Bits per entry (1, 2, 4 or 8).
    pub bits: u8,
    /// Number of entries (indexes `0..capacity`).
    pub capacity: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the last entry state change (or creation).
    pub updated_at: DateTime<Utc>,
    /// Bumped with every entry state change, in the same transaction (ETag).
    pub version: i64,
    /// No more allocations wanted from this list.
    pub full: bool,
}

/// An allocated entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusEntry {
    /// The list.
    pub list_id: Uuid,
    /// The index in the list.
    pub idx: i64,
    /// The credential the entry was allocated for, when known.
    pub credential_id: Option<Uuid>,
    /// Current state.
    pub state: EntryState,
    /// Allocation time.
    pub allocated_at: DateTime<Utc>,
    /// Time of the last state change (or allocation).
    pub updated_at: DateTime<Utc>,
}

/// What the status-list service renders: the list (version, updated_at) and every entry that is
/// not valid, read in one consistent snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ListSnapshot {
    /// The list at the moment of the read.
    pub list: StatusList,
    /// `(idx, state)` of every non-valid entry, by index.
    pub entries: Vec<(i64, EntryState)>,
}

/// Storage of the status-list service.
#[async_trait]
pub trait StatusStore: Send + Sync + std::fmt::Debug {
    /// Creates an empty list. `bits` must be 1, 2, 4 or 8 and `capacity` positive.
    async fn create_list(
        &self,
        capacity: i64,
        bits: u8,
        now: DateTime<Utc>,
    ) -> Result<StatusList, StoreError>;

    /// One list.
    async fn get_list(&self, id: Uuid) -> Result<Option<StatusList>, StoreError>;

    /// Every list, oldest first.
    async fn lists(&self) -> Result<Vec<StatusList>, StoreError>;

    /// The newest list that is not full.
    async fn open_list(&self) -> Result<Option<StatusList>, StoreError>;

    /// Marks a list full (no further allocation wanted); unknown: `NotFound`.
    async fn mark_full(&self, id: Uuid) -> Result<(), StoreError>;

    /// Allocates `idx` in the list: `true` if this call got it, `false` if it was already taken
    /// (race-safe, `INSERT … ON CONFLICT DO NOTHING`; an index is never handed out twice and
    /// never freed). Unknown list: `NotFound`; `idx` outside `0..capacity`: `IndexOutOfRange`.
    async fn try_allocate(
        &self,
        list_id: Uuid,
        idx: i64,
        credential_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Number of allocated entries; unknown list: `NotFound`.
    async fn allocated_count(&self, list_id: Uuid) -> Result<i64, StoreError>;

    /// Changes an entry's state, checked atomically in SQL, and bumps the list version in the
    /// same transaction. A disallowed change is `InvalidTransition`; an unallocated entry is
    /// `NotFound`; a state the list's bit width cannot hold is `InvalidInput`.
    async fn set_state(
        &self,
        list_id: Uuid,
        idx: i64,
        new: EntryState,
        now: DateTime<Utc>,
    ) -> Result<StatusEntry, StoreError>;

    /// One entry, `None` when not allocated.
    async fn get_entry(&self, list_id: Uuid, idx: i64) -> Result<Option<StatusEntry>, StoreError>;

    /// The list and its non-valid entries in one snapshot; unknown list: `NotFound`.
    async fn non_valid_entries(&self, list_id: Uuid) -> Result<ListSnapshot, StoreError>;
}

/// Row of `lists`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StatusListRow {
    id: Uuid,
    bits: i16,
    capacity: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    is_full: bool,
}

impl TryFrom<StatusListRow> for StatusList {
    type Error = StoreError;
    fn try_from(r: StatusListRow) -> Result<Self, StoreError> {
        let bits = u8::try_from(r.bits)
            .ok()
            .filter(|b| valid_bits(*b))
            .ok_or_else(|| StoreError::corrupt("status list bits"))?;
        Ok(StatusList {
            id: r.id,
            bits,
            capacity: r.capacity,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
            full: r.is_full,
        })
    }
}

/// Row of `entries`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StatusEntryRow {
    list_id: Uuid,
    idx: i64,
    credential_id: Option<Uuid>,
    state: i16,
    allocated_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<StatusEntryRow> for StatusEntry {
    type Error = StoreError;
    fn try_from(r: StatusEntryRow) -> Result<Self, StoreError> {
        Ok(StatusEntry {
            list_id: r.list_id,
            idx: r.idx,
            credential_id: r.credential_id,
            state: decode_state(r.state)?,
            allocated_at: r.allocated_at,
            updated_at: r.updated_at,
        })
    }
}

/// Decodes a stored state value.
pub(crate) fn decode_state(v: i16) -> Result<EntryState, StoreError> {
    EntryState::from_value(v).ok_or_else(|| StoreError::corrupt("status entry state"))
}

/// Bit widths a status list may use (Token Status List §4.1).
pub(crate) fn valid_bits(bits: u8) -> bool {
    matches!(bits, 1 | 2 | 4 | 8)
}

/// Checks `create_list` input.
pub(crate) fn check_new_list(capacity: i64, bits: u8) -> Result<(), StoreError> {
    if !valid_bits(bits) {
        return Err(StoreError::invalid("bits must be 1, 2, 4 or 8"));
    }
    if capacity <= 0 {
        return Err(StoreError::invalid("capacity must be positive"));
    }
    Ok(())
}

/// Checks an index against the list's capacity.
pub(crate) fn check_index(list: &StatusList, idx: i64) -> Result<(), StoreError> {
    if idx < 0 || idx >= list.capacity {
        return Err(StoreError::IndexOutOfRange {
            idx,
            capacity: list.capacity,
        });
    }
    Ok(())
}

/// Checks that a state fits the list's bit width.
pub(crate) fn check_state_fits(list: &StatusList, state: EntryState) -> Result<(), StoreError> {
    if i32::from(state.value()) >= 1_i32 << list.bits {
        return Err(StoreError::invalid(format!(
            "state {} does not fit a {}-bit list",
            state.as_str(),
            list.bits
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Token Status List §7.1: 0 VALID, 1 INVALID (revoked), 2 SUSPENDED.
    #[test]
    fn t3_state_values_match_token_status_list() {
        assert_eq!(EntryState::Valid.value(), 0);
        assert_eq!(EntryState::Revoked.value(), 1);
        assert_eq!(EntryState::Suspended.value(), 2);
    }

    // Bitstring Status List B4: revocation is irreversible, suspension reversible.
    #[test]
    fn b4_revocation_is_final_suspension_reversible() {
        use EntryState::*;
        for to in [Valid, Revoked, Suspended] {
            assert!(!Revoked.can_become(to));
        }
        assert!(Suspended.can_become(Valid));
        assert!(Suspended.can_become(Revoked));
        assert!(Valid.can_become(Revoked));
        assert!(Valid.can_become(Suspended));
        assert!(!Valid.can_become(Valid));
        assert!(!Suspended.can_become(Suspended));
    }

    proptest! {
        // Any stored state value decodes or is `Corrupt`; never a panic.
        #[test]
        fn decoding_any_state_never_panics(v in any::<i16>()) {
            match decode_state(v) {
                Ok(s) => prop_assert_eq!(s.value(), v),
                Err(e) => prop_assert!(matches!(e, StoreError::Corrupt { .. }), "{:?}", e),
            }
        }

        // Any stored list row decodes or is `Corrupt`, and the checks never panic.
        #[test]
        fn decoding_any_list_row_never_panics(
            bits in any::<i16>(), capacity in any::<i64>(), idx in any::<i64>()
        ) {
            let row = StatusListRow {
                id: Uuid::nil(),
                bits,
                capacity,
                created_at: DateTime::<Utc>::default(),
                updated_at: DateTime::<Utc>::default(),
                version: 0,
                is_full: false,
            };
            match StatusList::try_from(row) {
                Ok(list) => {
                    let _ = check_index(&list, idx);
                    for s in [EntryState::Valid, EntryState::Revoked, EntryState::Suspended] {
                        let _ = check_state_fits(&list, s);
                    }
                }
                Err(e) => prop_assert!(matches!(e, StoreError::Corrupt { .. }), "{:?}", e),
            }
        }
    }
}
