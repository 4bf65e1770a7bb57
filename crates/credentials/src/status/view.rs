//! One source of truth, two published views: from one array of per-index credential states
//! (VALID / REVOKED / SUSPENDED) render the IETF Token Status List (bits = 2) and the two W3C
//! bitstrings (purposes revocation and suspension), so the formats can never disagree.
//!
//! Mapping: VALID -> TSL 0x00, no bit set; REVOKED -> TSL 0x01 (INVALID), revocation bit = 1;
//! SUSPENDED -> TSL 0x02 (SUSPENDED), suspension bit = 1. (T1, T3, B2, B4)

use super::bitstring::{Bitstring, StatusPurpose, StatusSize};
use super::token_status_list::{StatusBits, StatusList, StatusType};

/// The lifecycle state of one issued credential, as the status-list service stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CredentialState {
    /// Not revoked, not suspended.
    #[default]
    Valid,
    /// Revoked: irreversible (B4).
    Revoked,
    /// Suspended: reversible (B4).
    Suspended,
}

impl CredentialState {
    /// The Token Status List value (§7.1): 0 VALID, 1 INVALID, 2 SUSPENDED.
    pub fn token_status(self) -> StatusType {
        match self {
            CredentialState::Valid => StatusType::Valid,
            CredentialState::Revoked => StatusType::Invalid,
            CredentialState::Suspended => StatusType::Suspended,
        }
    }

    /// The state a Token Status List value stands for; `None` for values we never write.
    pub fn from_token_status(status: StatusType) -> Option<Self> {
        match status {
            StatusType::Valid => Some(CredentialState::Valid),
            StatusType::Invalid => Some(CredentialState::Revoked),
            StatusType::Suspended => Some(CredentialState::Suspended),
            StatusType::ApplicationSpecific(_) | StatusType::Unknown(_) => None,
        }
    }

    /// The bit for a W3C list of `purpose`: set when revoked (revocation) or suspended
    /// (suspension); other purposes are never set by this registry.
    pub fn bit_for(self, purpose: &StatusPurpose) -> bool {
        matches!(
            (self, purpose),
            (CredentialState::Revoked, StatusPurpose::Revocation)
                | (CredentialState::Suspended, StatusPurpose::Suspension)
        )
    }
}

/// The three lists rendered from one state array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedStatusLists {
    /// IETF Token Status List, 2 bits per entry.
    pub token_status_list: StatusList,
    /// W3C bitstring, purpose `revocation`.
    pub revocation: Bitstring,
    /// W3C bitstring, purpose `suspension`.
    pub suspension: Bitstring,
}

/// A read-only view over the per-index states of one list (index = position in the slice).
#[derive(Debug, Clone, Copy)]
pub struct StatusRegistryView<'a> {
    states: &'a [CredentialState],
}

impl<'a> StatusRegistryView<'a> {
    /// A view over `states`; `states[i]` is the state of the credential at index `i`.
    pub fn new(states: &'a [CredentialState]) -> Self {
        Self { states }
    }

    /// The IETF Token Status List (bits = 2) holding every state.
    pub fn token_status_list(&self) -> StatusList {
        let mut list = StatusList::new(StatusBits::Two, self.states.len());
        for (i, s) in self.states.iter().enumerate() {
            // The list was sized for every index and each value fits in 2 bits.
            let _ = list.set_status(i as u64, s.token_status());
        }
        list
    }

    /// The W3C bitstring for `purpose`, at least [`super::bitstring::MIN_ENTRIES`] entries long.
    pub fn bitstring(&self, purpose: &StatusPurpose) -> Bitstring {
        let mut b = Bitstring::for_entries(self.states.len() as u64, StatusSize::ONE);
        for (i, s) in self.states.iter().enumerate() {
            if s.bit_for(purpose) {
                // The bitstring was sized for every index.
                let _ = b.set_bit(i as u64, true);
            }
        }
        b
    }

    /// All three views.
    pub fn render(&self) -> RenderedStatusLists {
        RenderedStatusLists {
            token_status_list: self.token_status_list(),
            revocation: self.bitstring(&StatusPurpose::Revocation),
            suspension: self.bitstring(&StatusPurpose::Suspension),
        }
    }
}
