//! SetStatus / GetStatus over real gRPC and Postgres: every allowed transition, every refused
//! one with its gRPC code and no state change (B4: revocation is irreversible, suspension
//! reversible; T5: an out-of-range index is rejected), and an audit event per change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, config};
use crossauthz_proto::common::{Actor, CredentialStatus, StatusReference};
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_proto::status_list::{AllocateEntryRequest, GetStatusRequest, SetStatusRequest};
use crossauthz_store::AuditFilter;
use crossauthz_testkit::TracedChannel;
use tonic::Code;
use uuid::Uuid;

use CredentialStatus::{Revoked, Suspended, Unspecified, Valid};

async fn allocate(c: &mut StatusListClient<TracedChannel>, cred: Uuid) -> StatusReference {
    c.allocate_entry(AllocateEntryRequest {
        credential_id: cred.to_string(),
    })
    .await
    .unwrap()
    .into_inner()
}

async fn set(
    c: &mut StatusListClient<TracedChannel>,
    r: &StatusReference,
    to: CredentialStatus,
) -> Result<CredentialStatus, tonic::Status> {
    c.set_status(SetStatusRequest {
        list_id: r.list_id.clone(),
        index: r.index,
        status: to as i32,
        actor: Some(Actor {
            subject: "admin@alpha".into(),
            reason: format!("test {}", to.as_str_name()),
        }),
    })
    .await
    .map(|e| {
        let e = e.into_inner();
        assert_eq!(e.reference.as_ref(), Some(r));
        CredentialStatus::try_from(e.status).unwrap()
    })
}

async fn get(c: &mut StatusListClient<TracedChannel>, r: &StatusReference) -> CredentialStatus {
    let e = c
        .get_status(GetStatusRequest {
            list_id: r.list_id.clone(),
            index: r.index,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(e.updated_at.is_some());
    CredentialStatus::try_from(e.status).unwrap()
}

// B4: valid→revoked, valid→suspended, suspended→valid, suspended→revoked are allowed; each is
// durable before the answer (the next read sees it) and audited with actor and reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b4_allowed_transitions_apply_and_are_audited() {
    let h = Harness::start(true, config()).await;
    let mut c = h.client();
    let (ca, cb) = (Uuid::new_v4(), Uuid::new_v4());
    let a = allocate(&mut c, ca).await;
    let b = allocate(&mut c, cb).await;
    assert_eq!(get(&mut c, &a).await, Valid);

    assert_eq!(set(&mut c, &a, Suspended).await.unwrap(), Suspended);
    assert_eq!(get(&mut c, &a).await, Suspended);
    assert_eq!(set(&mut c, &a, Valid).await.unwrap(), Valid);
    assert_eq!(get(&mut c, &a).await, Valid);
    assert_eq!(set(&mut c, &a, Revoked).await.unwrap(), Revoked);
    assert_eq!(get(&mut c, &a).await, Revoked);
    assert_eq!(set(&mut c, &b, Suspended).await.unwrap(), Suspended);
    assert_eq!(set(&mut c, &b, Revoked).await.unwrap(), Revoked);

    let audit = h.db.audit_store();
    let events = audit.list(&AuditFilter::default()).await.unwrap();
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e.kind.starts_with("credential."))
        .map(|e| {
            assert_eq!(e.service, "status");
            assert_eq!(e.actor.as_deref(), Some("admin@alpha"));
            assert!(e.reason.as_deref().unwrap().starts_with("test "));
            (e.kind.as_str(), e.credential_id.clone().unwrap())
        })
        .collect();
    let (ca, cb) = (ca.to_string(), cb.to_string());
    assert_eq!(
        changes,
        vec![
            ("credential.suspended", ca.clone()),
            ("credential.unsuspended", ca.clone()),
            ("credential.revoked", ca),
            ("credential.suspended", cb.clone()),
            ("credential.revoked", cb),
        ]
    );
    assert!(matches!(
        audit.verify_chain().await.unwrap(),
        crossauthz_store::ChainStatus::Intact { .. }
    ));
    h.finish().await;
}

// B4: revocation is final — every change out of revoked is FAILED_PRECONDITION, as is a state
// "changing" to itself; nothing changes (state, list version, audit log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b4_refused_transitions_are_failed_precondition_and_change_nothing() {
    let h = Harness::start(true, config()).await;
    let mut c = h.client();
    let revoked = allocate(&mut c, Uuid::new_v4()).await;
    set(&mut c, &revoked, Revoked).await.unwrap();
    let suspended = allocate(&mut c, Uuid::new_v4()).await;
    set(&mut c, &suspended, Suspended).await.unwrap();
    let valid = allocate(&mut c, Uuid::new_v4()).await;

    let store = h.db.status_store();
    let list_id: Uuid = revoked.list_id.parse().unwrap();
    let version = store.get_list(list_id).await.unwrap().unwrap().version;
    let audit_len = h.db.audit_store().head().await.unwrap().unwrap().0;

    let refused = [
        (&revoked, Valid, Revoked),
        (&revoked, Suspended, Revoked),
        (&revoked, Revoked, Revoked),
        (&suspended, Suspended, Suspended),
        (&valid, Valid, Valid),
    ];
    for (r, to, stays) in refused {
        let e = set(&mut c, r, to).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{to:?}: {e:?}");
        assert_eq!(get(&mut c, r).await, stays);
    }
    assert_eq!(
        store.get_list(list_id).await.unwrap().unwrap().version,
        version
    );
    assert_eq!(
        h.db.audit_store().head().await.unwrap().unwrap().0,
        audit_len
    );
    h.finish().await;
}

// Bad input: unknown list / unallocated index NOT_FOUND, out-of-range index OUT_OF_RANGE (T5),
// malformed list id and unspecified status INVALID_ARGUMENT; nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t5_bad_references_are_refused_with_clear_codes_and_change_nothing() {
    let h = Harness::start(true, config()).await;
    let mut c = h.client();
    let r = allocate(&mut c, Uuid::new_v4()).await;
    let store = h.db.status_store();
    let list_id: Uuid = r.list_id.parse().unwrap();
    let version = store.get_list(list_id).await.unwrap().unwrap().version;

    let unallocated = StatusReference {
        index: (r.index + 1) % 131_072,
        ..r.clone()
    };
    let unknown_list = StatusReference {
        list_id: Uuid::new_v4().to_string(),
        ..r.clone()
    };
    let malformed = StatusReference {
        list_id: "../etc/passwd".into(),
        ..r.clone()
    };
    let cases = [
        (unallocated.clone(), Revoked, Code::NotFound),
        (unknown_list.clone(), Revoked, Code::NotFound),
        (malformed.clone(), Revoked, Code::InvalidArgument),
        (r.clone(), Unspecified, Code::InvalidArgument),
    ];
    for (reference, to, code) in cases {
        let e = set(&mut c, &reference, to).await.unwrap_err();
        assert_eq!(e.code(), code, "{reference:?} {to:?}");
    }
    for index in [131_072, u64::MAX, i64::MAX as u64 + 1] {
        let out = StatusReference { index, ..r.clone() };
        let e = set(&mut c, &out, Revoked).await.unwrap_err();
        assert_eq!(e.code(), Code::OutOfRange, "{index}");
        let e = c
            .get_status(GetStatusRequest {
                list_id: r.list_id.clone(),
                index,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::OutOfRange);
    }
    // An unknown enum value is refused too.
    let e = c
        .set_status(SetStatusRequest {
            list_id: r.list_id.clone(),
            index: r.index,
            status: 42,
            actor: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    for (reference, code) in [
        (unallocated, Code::NotFound),
        (unknown_list, Code::NotFound),
        (malformed, Code::InvalidArgument),
    ] {
        let e = c
            .get_status(GetStatusRequest {
                list_id: reference.list_id.clone(),
                index: reference.index,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), code);
    }
    assert_eq!(get(&mut c, &r).await, Valid);
    assert_eq!(
        store.get_list(list_id).await.unwrap().unwrap().version,
        version
    );
    h.finish().await;
}

// Twenty concurrent revocations of one entry: the store serialises them, exactly one applies
// (one audit event) and the others are FAILED_PRECONDITION (B4: revoked is final).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_revocations_apply_once() {
    let h = Harness::start(true, config()).await;
    let mut c = h.client();
    let r = allocate(&mut c, Uuid::new_v4()).await;
    let calls = (0..20).map(|_| {
        let mut c = c.clone();
        let r = r.clone();
        tokio::spawn(async move { set(&mut c, &r, Revoked).await })
    });
    let results = futures::future::join_all(calls).await;
    let ok = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(ok, 1, "exactly one revocation applies");
    for r in &results {
        if let Err(e) = r.as_ref().unwrap() {
            assert_eq!(e.code(), Code::FailedPrecondition);
        }
    }
    assert_eq!(get(&mut c, &r).await, Revoked);
    let revoked =
        h.db.audit_store()
            .list(&AuditFilter {
                kind: Some("credential.revoked".into()),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
    assert_eq!(revoked.len(), 1);
    h.finish().await;
}
