//! Status store: lists, allocation (never twice, never freed), the entry lifecycle
//! (valid → revoked | suspended, suspended → valid | revoked, revoked final; Token Status List
//! §7.1 values, Bitstring Status List B4: revocation irreversible, suspension reversible).

use std::collections::HashMap;

use crossauthz_store::{Database, EntryState, StoreError};
use uuid::Uuid;

use super::{at, t0};

/// Lists: creation rules, open list, full lists.
pub async fn lists(db: &Database) {
    let s = db.status_store();
    for bits in [0u8, 3, 16] {
        let e = s.create_list(16, bits, t0()).await.unwrap_err();
        assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");
    }
    let e = s.create_list(0, 2, t0()).await.unwrap_err();
    assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");
    assert_eq!(s.open_list().await.unwrap(), None);

    let older = s.create_list(131_072, 2, at(1)).await.unwrap();
    assert_eq!((older.bits, older.capacity, older.version), (2, 131_072, 0));
    assert!(!older.full);
    let newer = s.create_list(16, 1, at(2)).await.unwrap();
    assert_eq!(s.open_list().await.unwrap().map(|l| l.id), Some(newer.id));
    assert_eq!(s.get_list(older.id).await.unwrap(), Some(older.clone()));
    assert_eq!(s.get_list(Uuid::new_v4()).await.unwrap(), None);

    s.mark_full(newer.id).await.unwrap();
    assert!(s.get_list(newer.id).await.unwrap().unwrap().full);
    assert_eq!(s.open_list().await.unwrap().map(|l| l.id), Some(older.id));
    let e = s.mark_full(Uuid::new_v4()).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    let all: Vec<Uuid> = s.lists().await.unwrap().into_iter().map(|l| l.id).collect();
    assert_eq!(all, vec![older.id, newer.id]);
}

/// Allocation: first caller wins, a taken index is refused, range and list are checked.
pub async fn allocation(db: &Database) {
    let s = db.status_store();
    let list = s.create_list(8, 2, t0()).await.unwrap();
    let cred = Uuid::new_v4();
    assert!(s.try_allocate(list.id, 3, Some(cred), at(1)).await.unwrap());
    assert!(!s.try_allocate(list.id, 3, None, at(2)).await.unwrap());
    let entry = s.get_entry(list.id, 3).await.unwrap().unwrap();
    assert_eq!(entry.credential_id, Some(cred));
    assert_eq!(entry.state, EntryState::Valid);
    assert_eq!(entry.allocated_at, at(1));
    assert_eq!(s.get_entry(list.id, 4).await.unwrap(), None);

    assert!(s.try_allocate(list.id, 0, None, at(3)).await.unwrap());
    assert!(s.try_allocate(list.id, 7, None, at(3)).await.unwrap());
    for idx in [8, -1, i64::MAX] {
        let e = s.try_allocate(list.id, idx, None, at(3)).await.unwrap_err();
        assert!(
            matches!(e, StoreError::IndexOutOfRange { capacity: 8, .. }),
            "{e:?}"
        );
    }
    let e = s
        .try_allocate(Uuid::new_v4(), 0, None, at(3))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotFound {
                what: "status list"
            }
        ),
        "{e:?}"
    );
    assert_eq!(s.allocated_count(list.id).await.unwrap(), 3);
    let e = s.allocated_count(Uuid::new_v4()).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
}

fn is_transition(e: &StoreError, from: &str, to: &str) -> bool {
    matches!(e, StoreError::InvalidTransition { from: f, to: t } if *f == from && *t == to)
}

/// Every allowed transition works and bumps the list version in the same transaction; every
/// other one is `InvalidTransition` and changes nothing.
pub async fn transitions(db: &Database) {
    let s = db.status_store();
    let list = s.create_list(16, 2, t0()).await.unwrap();
    for idx in 0..4 {
        assert!(s.try_allocate(list.id, idx, None, t0()).await.unwrap());
    }
    let version = |l: Uuid| {
        let s = s.clone();
        async move { s.get_list(l).await.unwrap().unwrap().version }
    };

    // valid → suspended → valid → revoked.
    let e = s
        .set_state(list.id, 0, EntryState::Suspended, at(1))
        .await
        .unwrap();
    assert_eq!((e.state, e.updated_at), (EntryState::Suspended, at(1)));
    assert_eq!(version(list.id).await, 1);
    s.set_state(list.id, 0, EntryState::Valid, at(2))
        .await
        .unwrap();
    s.set_state(list.id, 0, EntryState::Revoked, at(3))
        .await
        .unwrap();
    assert_eq!(version(list.id).await, 3);
    let l = s.get_list(list.id).await.unwrap().unwrap();
    assert_eq!(l.updated_at, at(3));
    // valid → revoked; valid → suspended → revoked.
    s.set_state(list.id, 1, EntryState::Revoked, at(4))
        .await
        .unwrap();
    s.set_state(list.id, 2, EntryState::Suspended, at(5))
        .await
        .unwrap();
    s.set_state(list.id, 2, EntryState::Revoked, at(6))
        .await
        .unwrap();
    s.set_state(list.id, 3, EntryState::Suspended, at(7))
        .await
        .unwrap();
    assert_eq!(version(list.id).await, 7);

    // Refused: anything from revoked, and no-op "changes".
    let refused = [
        (0, EntryState::Valid, "revoked", "valid"),
        (0, EntryState::Suspended, "revoked", "suspended"),
        (0, EntryState::Revoked, "revoked", "revoked"),
        (3, EntryState::Suspended, "suspended", "suspended"),
    ];
    for (idx, to, from_name, to_name) in refused {
        let e = s.set_state(list.id, idx, to, at(8)).await.unwrap_err();
        assert!(is_transition(&e, from_name, to_name), "{e:?}");
    }
    s.set_state(list.id, 3, EntryState::Valid, at(9))
        .await
        .unwrap();
    let e = s
        .set_state(list.id, 3, EntryState::Valid, at(10))
        .await
        .unwrap_err();
    assert!(is_transition(&e, "valid", "valid"), "{e:?}");
    // Failed changes do not bump the version.
    assert_eq!(version(list.id).await, 8);

    // Unallocated entry, unknown list, out of range.
    let e = s
        .set_state(list.id, 9, EntryState::Revoked, at(11))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotFound {
                what: "status entry"
            }
        ),
        "{e:?}"
    );
    let e = s
        .set_state(Uuid::new_v4(), 0, EntryState::Revoked, at(11))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotFound {
                what: "status list"
            }
        ),
        "{e:?}"
    );
    let e = s
        .set_state(list.id, 16, EntryState::Revoked, at(11))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::IndexOutOfRange { .. }), "{e:?}");

    // A 1-bit list cannot hold "suspended" (value 2).
    let one_bit = s.create_list(8, 1, t0()).await.unwrap();
    s.try_allocate(one_bit.id, 0, None, t0()).await.unwrap();
    let e = s
        .set_state(one_bit.id, 0, EntryState::Suspended, at(1))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");
    s.set_state(one_bit.id, 0, EntryState::Revoked, at(1))
        .await
        .unwrap();

    let snap = s.non_valid_entries(list.id).await.unwrap();
    assert_eq!(snap.list.version, 8);
    assert_eq!(
        snap.entries,
        vec![
            (0, EntryState::Revoked),
            (1, EntryState::Revoked),
            (2, EntryState::Revoked)
        ]
    );
    let e = s.non_valid_entries(Uuid::new_v4()).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
}

/// 1,000 concurrent allocations over a 16-entry list: exactly 16 succeed, one per index.
pub async fn concurrent_allocation_never_doubles(db: &Database) {
    let s = db.status_store();
    let list = s.create_list(16, 2, t0()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..1000i64 {
        let s = s.clone();
        let idx = (i * 7) % 16;
        tasks.push(tokio::spawn(async move {
            let won = s
                .try_allocate(list.id, idx, Some(Uuid::new_v4()), at(i))
                .await
                .unwrap();
            (idx, won)
        }));
    }
    let mut winners: HashMap<i64, usize> = HashMap::new();
    for t in tasks {
        let (idx, won) = t.await.unwrap();
        if won {
            *winners.entry(idx).or_default() += 1;
        }
    }
    assert_eq!(winners.len(), 16);
    assert!(winners.values().all(|n| *n == 1), "{winners:?}");
    assert_eq!(s.allocated_count(list.id).await.unwrap(), 16);
}

/// Concurrent revocations of one entry: exactly one succeeds, the rest see "from revoked".
pub async fn concurrent_revocation_applies_once(db: &Database) {
    let s = db.status_store();
    let list = s.create_list(16, 2, t0()).await.unwrap();
    s.try_allocate(list.id, 5, None, t0()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.set_state(list.id, 5, EntryState::Revoked, at(i)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(is_transition(&e, "revoked", "revoked"), "{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(s.get_list(list.id).await.unwrap().unwrap().version, 1);
}
