//! AllocateEntry over real gRPC on loopback and real Postgres: random indexes never handed out
//! twice (under concurrency, across a restart, across requests killed mid-way), list rollover
//! when a list reaches its fill threshold, one new list at a time (B4: indexes SHOULD be random).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{Harness, all_entries, config, database, serve, service, unused_addr};
use crossauthz_core::clock::SystemClock;
use crossauthz_proto::common::CredentialStatus;
use crossauthz_proto::status_list::{AllocateEntryRequest, GetStatusRequest, SetStatusRequest};
use crossauthz_status_list::StatusListConfig;
use crossauthz_store::{AuditFilter, EntryState};
use crossauthz_testkit::channel_to;
use uuid::Uuid;

fn small_lists(threshold: u64) -> StatusListConfig {
    let mut c = config();
    // Lists keep the W3C minimum capacity; only the fill threshold is small.
    c.fill_ratio = threshold as f64 / c.capacity as f64;
    c
}

// B4 §5 (Bitstring Status List): indexes SHOULD be assigned randomly; the issue: 1,000
// concurrent allocations give 1,000 distinct indexes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b4_a_thousand_concurrent_allocations_give_a_thousand_distinct_indexes() {
    let h = Harness::start(true, config()).await;
    let client = h.client();
    let calls = (0..1000).map(|_| {
        let mut client = client.clone();
        tokio::spawn(async move {
            let credential_id = Uuid::new_v4().to_string();
            client
                .allocate_entry(AllocateEntryRequest {
                    credential_id: credential_id.clone(),
                })
                .await
                .map(|r| (credential_id, r.into_inner()))
        })
    });
    let results = futures::future::join_all(calls).await;
    let refs: Vec<_> = results.into_iter().map(|r| r.unwrap().unwrap()).collect();
    let distinct: HashSet<_> = refs
        .iter()
        .map(|(_, r)| (r.list_id.clone(), r.index))
        .collect();
    assert_eq!(distinct.len(), 1000);

    // One list (default threshold: 75% of 131,072), the public URI of it, indexes spread over
    // the whole list rather than 0..1000.
    let lists: HashSet<_> = refs.iter().map(|(_, r)| r.list_id.clone()).collect();
    assert_eq!(lists.len(), 1);
    let list_id = refs[0].1.list_id.clone();
    assert_eq!(
        refs[0].1.uri,
        format!("https://alpha.localhost/status/{list_id}")
    );
    assert!(refs.iter().any(|(_, r)| r.index >= 1000));
    let store = h.db.status_store();
    let id: Uuid = list_id.parse().unwrap();
    assert_eq!(store.allocated_count(id).await.unwrap(), 1000);
    // Each entry remembers the credential it was allocated for.
    for (cred, r) in refs.iter().take(20) {
        let e = store.get_entry(id, r.index as i64).await.unwrap().unwrap();
        assert_eq!(e.credential_id.unwrap().to_string(), *cred);
        assert_eq!(e.state, EntryState::Valid);
    }
    // Allocations are not audited by default (the entries table records them).
    let audit = h.db.audit_store();
    let allocated = audit
        .list(&AuditFilter {
            kind: Some("status.allocated".into()),
            limit: 2000,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(allocated.is_empty());
    h.finish().await;
}

// With `audit_allocations`, every allocation is an audit event naming credential, list, index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_are_audited_when_configured() {
    let mut c = config();
    c.audit_allocations = true;
    let h = Harness::start(true, c).await;
    let cred = Uuid::new_v4();
    let r = h
        .client()
        .allocate_entry(AllocateEntryRequest {
            credential_id: cred.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    let events =
        h.db.audit_store()
            .list(&AuditFilter {
                kind: Some("status.allocated".into()),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].service, "status");
    assert_eq!(events[0].credential_id, Some(cred.to_string()));
    assert_eq!(events[0].details["list_id"], r.list_id.as_str());
    assert_eq!(events[0].details["index"], r.index);
    h.finish().await;
}

// A malformed credential id is refused before anything is allocated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_credential_id_is_invalid_argument_and_allocates_nothing() {
    let h = Harness::start(true, config()).await;
    let e = h
        .client()
        .allocate_entry(AllocateEntryRequest {
            credential_id: "not-a-uuid".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(h.db.status_store().lists().await.unwrap().is_empty());
    // An allocation before the credential exists (no id) is allowed.
    h.client()
        .allocate_entry(AllocateEntryRequest::default())
        .await
        .unwrap();
    h.finish().await;
}

// Rollover: a list is marked full at its threshold and exactly one new list opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_list_rolls_over_to_exactly_one_new_list() {
    let h = Harness::start(true, small_lists(10)).await;
    let mut client = h.client();
    let mut seen = HashSet::new();
    for _ in 0..25 {
        let r = client
            .allocate_entry(AllocateEntryRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(seen.insert((r.list_id, r.index)));
    }
    let store = h.db.status_store();
    let lists = store.lists().await.unwrap();
    assert_eq!(lists.len(), 3);
    let mut counts = Vec::new();
    for l in &lists {
        assert_eq!(l.capacity, 131_072, "lists keep the W3C minimum size (B2)");
        assert_eq!(l.bits, 2);
        counts.push((store.allocated_count(l.id).await.unwrap(), l.full));
    }
    assert_eq!(counts, vec![(10, true), (10, true), (5, false)]);
    let audit = h.db.audit_store();
    for (kind, n) in [("status_list.created", 3), ("status_list.full", 2)] {
        let events = audit
            .list(&AuditFilter {
                kind: Some(kind.into()),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), n, "{kind}");
    }
    h.finish().await;
}

// Concurrent allocations across several rollovers: every index distinct, one open list at
// the end, and no storm of lists: one list per threshold's worth of allocations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rollover_opens_one_list_at_a_time() {
    let h = Harness::start(true, small_lists(20)).await;
    let client = h.client();
    let calls = (0..200).map(|_| {
        let mut client = client.clone();
        tokio::spawn(async move {
            client
                .allocate_entry(AllocateEntryRequest::default())
                .await
                .map(|r| r.into_inner())
        })
    });
    let refs: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let distinct: HashSet<_> = refs.iter().map(|r| (r.list_id.clone(), r.index)).collect();
    assert_eq!(distinct.len(), 200);
    let store = h.db.status_store();
    let lists = store.lists().await.unwrap();
    // Each list receives exactly its threshold; the tenth list is full but nobody has needed
    // an eleventh yet.
    assert_eq!(lists.len(), 10);
    assert_eq!(lists.iter().filter(|l| !l.full).count(), 1);
    for l in &lists {
        assert_eq!(store.allocated_count(l.id).await.unwrap(), 20);
    }
    h.finish().await;
}

// The issue: kill and restart the services mid-way — no index reused, no revocation lost.
// The server is stopped while allocations are in flight, then a new service instance is started
// on the same port and database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_way_reuses_no_index_and_loses_no_revocation() {
    let (tdb, db) = database(true).await;
    let issuer = unused_addr().await;
    let svc = service(
        &db,
        small_lists(40),
        Arc::new(SystemClock),
        channel_to(issuer),
    );
    let server = serve(svc, "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.addr();
    let client =
        crossauthz_proto::status_list::status_list_client::StatusListClient::new(server.channel());

    // Phase 1: some allocations and revocations complete.
    let mut first = Vec::new();
    let mut c = client.clone();
    for i in 0..30 {
        let r = c
            .allocate_entry(AllocateEntryRequest::default())
            .await
            .unwrap()
            .into_inner();
        if i % 3 == 0 {
            c.set_status(SetStatusRequest {
                list_id: r.list_id.clone(),
                index: r.index,
                status: CredentialStatus::Revoked as i32,
                actor: None,
            })
            .await
            .unwrap();
        }
        first.push(r);
    }
    // Then a burst is in flight while the server goes down.
    let burst: Vec<_> = (0..100)
        .map(|_| {
            let mut c = client.clone();
            tokio::spawn(async move {
                c.allocate_entry(AllocateEntryRequest::default())
                    .await
                    .map(|r| r.into_inner())
            })
        })
        .collect();
    tokio::task::yield_now().await;
    server.stop().await;
    let burst = futures::future::join_all(burst).await;
    let answered: Vec<_> = burst.into_iter().filter_map(|r| r.unwrap().ok()).collect();

    // Everything allocated before the restart, answered or not, as the database has it.
    let mut before = all_entries(&db).await;
    for r in first.iter().chain(&answered) {
        assert!(before.contains(&(r.list_id.clone(), r.index)));
    }

    // Phase 2: a new instance on the same port and database.
    let svc = service(
        &db,
        small_lists(40),
        Arc::new(SystemClock),
        channel_to(issuer),
    );
    let server = serve(svc, addr).await;
    let mut c =
        crossauthz_proto::status_list::status_list_client::StatusListClient::new(server.channel());
    for _ in 0..60 {
        let r = c
            .allocate_entry(AllocateEntryRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(
            !before.contains(&(r.list_id.clone(), r.index)),
            "index reused after restart"
        );
        assert!(before.insert((r.list_id, r.index)));
    }
    // No revocation lost.
    for (i, r) in first.iter().enumerate() {
        let e = c
            .get_status(GetStatusRequest {
                list_id: r.list_id.clone(),
                index: r.index,
            })
            .await
            .unwrap()
            .into_inner();
        let expected = if i % 3 == 0 {
            CredentialStatus::Revoked
        } else {
            CredentialStatus::Valid
        };
        assert_eq!(e.status, expected as i32);
    }
    server.stop().await;
    db.close().await;
    tdb.cleanup().await.unwrap();
}

// A crash between allocation and issuance: allocation futures killed at arbitrary points leave
// their entries allocated (never freed), and a fresh instance never hands them out again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_killed_mid_way_are_never_handed_out_again() {
    let (tdb, db) = database(true).await;
    let issuer = channel_to(unused_addr().await);
    let svc = service(&db, small_lists(30), Arc::new(SystemClock), issuer.clone());
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let svc = svc.clone();
            tokio::spawn(async move { svc.allocate(Some(Uuid::new_v4())).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    for t in &tasks {
        t.abort();
    }
    let mut handed_out = HashSet::new();
    for t in tasks {
        if let Ok(r) = t.await {
            let r = r.unwrap();
            assert!(handed_out.insert((r.list_id, r.index)));
        }
    }
    drop(svc);
    // Everything allocated, whether or not its caller lived to see it.
    let before = all_entries(&db).await;
    for (l, i) in &handed_out {
        assert!(before.contains(&(l.to_string(), *i)));
    }

    let svc = service(&db, small_lists(30), Arc::new(SystemClock), issuer);
    for _ in 0..40 {
        let r = svc.allocate(None).await.unwrap();
        assert!(
            !before.contains(&(r.list_id.to_string(), r.index)),
            "an index allocated by a killed request was handed out again"
        );
    }
    assert_eq!(
        all_entries(&db).await.len(),
        before.len() + 40,
        "no entry was reused or freed"
    );
    db.close().await;
    tdb.cleanup().await.unwrap();
}

// Two instances on one database (horizontal scaling): every index distinct, each instance
// notices a list the other filled, and no list receives more than the instances' thresholds
// together, nor are lists opened in a storm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_lists_without_reusing_an_index() {
    let (tdb, db) = database(true).await;
    let issuer = channel_to(unused_addr().await);
    let a = service(&db, small_lists(20), Arc::new(SystemClock), issuer.clone());
    let b = service(&db, small_lists(20), Arc::new(SystemClock), issuer);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let svc = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { svc.allocate(None).await.unwrap() })
        })
        .collect();
    let mut seen = HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(seen.insert((r.list_id, r.index)), "index handed out twice");
    }
    let store = db.status_store();
    let lists = store.lists().await.unwrap();
    assert!(lists.len() <= 200 / 20 + 2, "{} lists", lists.len());
    let mut total = 0;
    for l in &lists {
        let n = store.allocated_count(l.id).await.unwrap();
        // Each instance reserves at most the threshold in a list; concurrent reservations made
        // before an instance sees the other's commits may add up to both thresholds.
        assert!(n <= 2 * 20, "list overfilled: {n}");
        total += n;
    }
    assert_eq!(total, 200);
    db.close().await;
    tdb.cleanup().await.unwrap();
}

// `start-dev` runs on SQLite: the same allocation rules hold there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backend_allocates_distinct_indexes_and_rolls_over() {
    let h = Harness::start(false, small_lists(10)).await;
    let calls = (0..50).map(|_| {
        let mut client = h.client();
        tokio::spawn(async move {
            client
                .allocate_entry(AllocateEntryRequest::default())
                .await
                .map(|r| r.into_inner())
        })
    });
    let refs: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let distinct: HashSet<_> = refs.iter().map(|r| (r.list_id.clone(), r.index)).collect();
    assert_eq!(distinct.len(), 50);
    let store = h.db.status_store();
    let lists = store.lists().await.unwrap();
    assert_eq!(lists.len(), 5);
    for l in &lists {
        assert_eq!(store.allocated_count(l.id).await.unwrap(), 10);
    }
    h.finish().await;
}
