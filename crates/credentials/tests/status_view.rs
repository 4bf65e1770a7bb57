//! One source of truth (DESIGN §5): the IETF Token Status List (bits = 2) and the two W3C
//! bitstrings rendered from the same per-index states always agree (T1, T3, B2, B4).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossauthz_credentials::status::{
    Bitstring, CredentialState, MIN_ENTRIES, StatusBits, StatusList, StatusPurpose,
    StatusRegistryView, StatusType,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

fn random_states(rng: &mut StdRng, len: usize) -> Vec<CredentialState> {
    (0..len)
        .map(|_| match rng.gen_range(0..10) {
            0 => CredentialState::Revoked,
            1 => CredentialState::Suspended,
            _ => CredentialState::Valid,
        })
        .collect()
}

/// Mapping: VALID -> TSL 0 / no bits; REVOKED -> TSL 1 (INVALID) / revocation bit;
/// SUSPENDED -> TSL 2 (SUSPENDED) / suspension bit.
#[test]
fn view_mapping_of_each_state() {
    let states = [
        CredentialState::Valid,
        CredentialState::Revoked,
        CredentialState::Suspended,
    ];
    let r = StatusRegistryView::new(&states).render();
    assert_eq!(r.token_status_list.bits(), StatusBits::Two);
    assert_eq!(r.token_status_list.status(0).unwrap(), StatusType::Valid);
    assert_eq!(r.token_status_list.status(1).unwrap(), StatusType::Invalid);
    assert_eq!(
        r.token_status_list.status(2).unwrap(),
        StatusType::Suspended
    );
    assert_eq!(
        (0..3)
            .map(|i| r.revocation.get_bit(i).unwrap())
            .collect::<Vec<_>>(),
        [false, true, false]
    );
    assert_eq!(
        (0..3)
            .map(|i| r.suspension.get_bit(i).unwrap())
            .collect::<Vec<_>>(),
        [false, false, true]
    );
    for s in states {
        assert_eq!(
            CredentialState::from_token_status(s.token_status()),
            Some(s)
        );
    }
    assert_eq!(
        CredentialState::from_token_status(StatusType::ApplicationSpecific(3)),
        None
    );
}

/// For random state arrays, after encoding and decoding both formats, every index reads the
/// same state from the TSL and from the pair of BSL bitstrings; BSL lists keep the 131,072
/// minimum (B2) and TSL keeps every index (T5).
#[test]
fn view_tsl_and_bsl_agree_for_random_states() {
    let mut rng = StdRng::seed_from_u64(0xC0FF_EE00);
    for len in [0usize, 1, 7, 1000, 50_000, 131_072, 200_003] {
        let states = random_states(&mut rng, len);
        let r = StatusRegistryView::new(&states).render();
        let tsl = StatusList::from_lst(StatusBits::Two, &r.token_status_list.to_lst()).unwrap();
        let rev = Bitstring::decode(&r.revocation.encode()).unwrap();
        let sus = Bitstring::decode(&r.suspension.encode()).unwrap();
        assert!(tsl.len() >= len as u64);
        let min = MIN_ENTRIES.max(len as u64);
        assert!(rev.len_bits() >= min && sus.len_bits() >= min);
        for (i, s) in states.iter().enumerate() {
            let i = i as u64;
            let from_tsl = CredentialState::from_token_status(tsl.status(i).unwrap()).unwrap();
            let from_bsl = match (rev.get_bit(i).unwrap(), sus.get_bit(i).unwrap()) {
                (false, false) => CredentialState::Valid,
                (true, false) => CredentialState::Revoked,
                (false, true) => CredentialState::Suspended,
                (true, true) => panic!("index {i} both revoked and suspended"),
            };
            assert_eq!(from_tsl, *s, "TSL index {i}");
            assert_eq!(from_bsl, *s, "BSL index {i}");
        }
        // Padding beyond the states is VALID in every view.
        for i in len as u64..tsl.len() {
            assert_eq!(tsl.status(i).unwrap(), StatusType::Valid);
        }
        for i in (len as u64..min).step_by(997) {
            assert!(!rev.get_bit(i).unwrap() && !sus.get_bit(i).unwrap());
        }
    }
}

/// The per-purpose accessor is the same as the rendered pair; purposes the registry does not
/// track (refresh, message) render as all-zero lists.
#[test]
fn view_bitstring_per_purpose() {
    let mut rng = StdRng::seed_from_u64(7);
    let states = random_states(&mut rng, 4096);
    let view = StatusRegistryView::new(&states);
    let r = view.render();
    assert_eq!(view.bitstring(&StatusPurpose::Revocation), r.revocation);
    assert_eq!(view.bitstring(&StatusPurpose::Suspension), r.suspension);
    for p in [StatusPurpose::Refresh, StatusPurpose::Message] {
        assert!(view.bitstring(&p).as_bytes().iter().all(|b| *b == 0));
    }
}
