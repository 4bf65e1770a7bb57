//! Audit store: append-only hash chain (DESIGN §7/§8): chaining, filters, verification,
//! tamper detection, database-level refusal of UPDATE/DELETE.

use crossauthz_store::audit::{ChainBreak, GENESIS_HASH};
use crossauthz_store::{AuditFilter, ChainStatus, Database, NewAuditEvent, StoreError};
use serde_json::json;

use super::at;

fn event(secs: i64, client: &str, decision: &str) -> NewAuditEvent {
    let mut e = NewAuditEvent::new(at(secs), "verifier", "grant.decision");
    e.actor = Some("agent".into());
    e.client_id = Some(client.into());
    e.credential_id = Some("urn:uuid:1".into());
    e.issuer = Some("did:web:a.example".into());
    e.scopes = Some(vec!["logs:read".into(), "logs:write".into()]);
    e.resource = Some("https://b.example/mcp".into());
    e.decision = Some(decision.into());
    e.reason = Some("policy".into());
    e.trace_id = Some("4bf92f3577b34da6a3ce929d0e0e4736".into());
    // Key order, floats and unicode must come back exactly as hashed.
    e.details = json!({"z": 1, "a": [1.1, 2e-7, "é\u{1F600}"], "m": {"y": null, "b": false}});
    e
}

/// Appends chain from 32 zero bytes; the chain verifies; filters select by time, client,
/// decision, kind and cursor.
pub async fn chain_and_filters(db: &Database) {
    let s = db.audit_store();
    assert_eq!(s.head().await.unwrap(), None);
    assert_eq!(
        s.verify_chain().await.unwrap(),
        ChainStatus::Intact {
            events: 0,
            head: None
        }
    );

    let e1 = s.append(event(1, "c1", "grant")).await.unwrap();
    let e2 = s.append(event(2, "c2", "deny")).await.unwrap();
    let mut third = NewAuditEvent::new(at(3), "issuer", "credential.issued");
    third.client_id = Some("c1".into());
    let e3 = s.append(third).await.unwrap();

    assert_eq!((e1.seq, e2.seq, e3.seq), (1, 2, 3));
    assert_eq!(e1.prev_hash, GENESIS_HASH);
    assert_eq!(e2.prev_hash, e1.hash);
    assert_eq!(e3.prev_hash, e2.hash);
    assert_ne!(e1.hash, e2.hash);
    assert_eq!(s.head().await.unwrap(), Some((3, e3.hash)));
    assert_eq!(
        s.verify_chain().await.unwrap(),
        ChainStatus::Intact {
            events: 3,
            head: Some(e3.hash)
        }
    );

    let all = s.list(&AuditFilter::default()).await.unwrap();
    assert_eq!(all, vec![e1.clone(), e2.clone(), e3.clone()]);
    assert_eq!(all[0].details, event(1, "c1", "grant").details);

    let f = |f: AuditFilter| {
        let s = s.clone();
        async move {
            s.list(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        }
    };
    let base = AuditFilter::default;
    assert_eq!(
        f(AuditFilter {
            since: Some(at(2)),
            ..base()
        })
        .await,
        vec![2, 3]
    );
    assert_eq!(
        f(AuditFilter {
            until: Some(at(2)),
            ..base()
        })
        .await,
        vec![1]
    );
    assert_eq!(
        f(AuditFilter {
            client_id: Some("c1".into()),
            ..base()
        })
        .await,
        vec![1, 3]
    );
    assert_eq!(
        f(AuditFilter {
            decision: Some("deny".into()),
            ..base()
        })
        .await,
        vec![2]
    );
    assert_eq!(
        f(AuditFilter {
            kind: Some("credential.issued".into()),
            ..base()
        })
        .await,
        vec![3]
    );
    assert_eq!(
        f(AuditFilter {
            after_seq: Some(1),
            limit: 1,
            ..base()
        })
        .await,
        vec![2]
    );
    for limit in [0, 10_001] {
        let e = s.list(&AuditFilter { limit, ..base() }).await.unwrap_err();
        assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");
    }
}

/// Concurrent appends are serialised: gap-free seq, one unbroken chain.
pub async fn concurrent_appends_stay_chained(db: &Database) {
    let s = db.audit_store();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.append(event(i, "c", "grant")).await.unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().seq);
    }
    seqs.sort();
    assert_eq!(seqs, (1..=40).collect::<Vec<i64>>());
    assert!(matches!(
        s.verify_chain().await.unwrap(),
        ChainStatus::Intact { events: 40, .. }
    ));
}

/// Appends five events for the tamper tests.
pub async fn five_events(db: &Database) {
    let s = db.audit_store();
    for i in 1..=5 {
        s.append(event(i, "c", "grant")).await.unwrap();
    }
    assert!(matches!(
        s.verify_chain().await.unwrap(),
        ChainStatus::Intact { events: 5, .. }
    ));
}

/// After the caller edited event 3's `reason` behind the store's back, the chain is broken at
/// seq 3 with a hash mismatch.
pub async fn edit_is_detected(db: &Database) {
    assert_eq!(
        db.audit_store().verify_chain().await.unwrap(),
        ChainStatus::Broken {
            seq: 3,
            reason: ChainBreak::HashMismatch
        }
    );
}

/// After the caller deleted event 2, the chain is broken at seq 3 (gap).
pub async fn removal_is_detected(db: &Database) {
    assert_eq!(
        db.audit_store().verify_chain().await.unwrap(),
        ChainStatus::Broken {
            seq: 3,
            reason: ChainBreak::SeqGap
        }
    );
}

/// After the caller overwrote event 3's `prev_hash`, the chain is broken at seq 3 (its link no
/// longer points at event 2).
pub async fn relink_is_detected(db: &Database) {
    assert_eq!(
        db.audit_store().verify_chain().await.unwrap(),
        ChainStatus::Broken {
            seq: 3,
            reason: ChainBreak::PrevHashMismatch
        }
    );
}

fn checkpoint(seq: i64, hash: [u8; 32]) -> crossauthz_store::AuditCheckpoint {
    crossauthz_store::AuditCheckpoint {
        seq,
        hash,
        event_at: at(seq),
        signed_at: at(seq + 100),
        kid: "did:web:a.example#k1".into(),
        jws: format!("header.payload{seq}.signature"),
    }
}

/// Checkpoints: stored and listed by seq with paging; one per seq; bad input refused; the
/// table refuses UPDATE and DELETE like the events.
pub async fn checkpoints(db: &Database) {
    let s = db.audit_store();
    assert_eq!(s.last_checkpoint().await.unwrap(), None);
    let e1 = s.append(event(1, "c", "grant")).await.unwrap();
    let e2 = s.append(event(2, "c", "grant")).await.unwrap();
    let c1 = checkpoint(1, e1.hash);
    let c2 = checkpoint(2, e2.hash);
    s.append_checkpoint(&c2).await.unwrap();
    s.append_checkpoint(&c1).await.unwrap();
    assert_eq!(
        s.checkpoints(0, 10).await.unwrap(),
        vec![c1.clone(), c2.clone()]
    );
    assert_eq!(s.checkpoints(1, 10).await.unwrap(), vec![c2.clone()]);
    assert_eq!(s.checkpoints(0, 1).await.unwrap(), vec![c1.clone()]);
    assert_eq!(s.last_checkpoint().await.unwrap(), Some(c2.clone()));

    let e = s.append_checkpoint(&c1).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    let e = s
        .append_checkpoint(&checkpoint(0, e1.hash))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");
    let mut no_jws = checkpoint(3, e2.hash);
    no_jws.jws.clear();
    let e = s.append_checkpoint(&no_jws).await.unwrap_err();
    assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");
    for limit in [0, crossauthz_store::audit::MAX_CHECKPOINT_PAGE + 1] {
        let e = s.checkpoints(0, limit).await.unwrap_err();
        assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");
    }

    let (update, delete) = match db {
        Database::Postgres(_) => (
            "UPDATE audit.checkpoints SET kid = 'x'",
            "DELETE FROM audit.checkpoints",
        ),
        Database::Sqlite(_) => (
            "UPDATE audit_checkpoints SET kid = 'x'",
            "DELETE FROM audit_checkpoints",
        ),
    };
    for sql in [update, delete] {
        let refused = match db {
            Database::Postgres(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(p)
                .await
                .is_err(),
            Database::Sqlite(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(p)
                .await
                .is_err(),
        };
        assert!(refused, "{sql} was not refused");
    }
    assert_eq!(s.checkpoints(0, 10).await.unwrap(), vec![c1, c2]);
}

/// Verification from an anchor checks only what follows it and names the last intact event;
/// a wrong anchor hash breaks at the next event.
pub async fn verify_from_anchor(db: &Database) {
    let s = db.audit_store();
    let mut events = Vec::new();
    for i in 1..=4 {
        events.push(s.append(event(i, "c", "grant")).await.unwrap());
    }
    let report = s
        .verify_chain_from(Some((2, events[1].hash)))
        .await
        .unwrap();
    assert_eq!(
        report.status,
        ChainStatus::Intact {
            events: 2,
            head: Some(events[3].hash)
        }
    );
    assert_eq!(report.last_intact, Some((4, events[3].hash)));
    let report = s.verify_chain_from(Some((2, [1; 32]))).await.unwrap();
    assert_eq!(
        report.status,
        ChainStatus::Broken {
            seq: 3,
            reason: ChainBreak::PrevHashMismatch
        }
    );
    assert_eq!(report.last_intact, Some((2, [1; 32])));
    let report = s
        .verify_chain_from(Some((4, events[3].hash)))
        .await
        .unwrap();
    assert_eq!(
        report.status,
        ChainStatus::Intact {
            events: 0,
            head: Some(events[3].hash)
        }
    );
}
