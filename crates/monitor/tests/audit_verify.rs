//! `audit verify` over real PostgreSQL (issue 6): checkpoints signed by the issuer over real
//! gRPC; each tampering an attacker with superuser access to the database could do (triggers
//! disabled) is detected and the first broken event is named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crossauthz_credentials::audit_checkpoint::{self, CheckpointClaims};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_monitor::verify::Break;
use crossauthz_monitor::{
    CheckpointOutcome, Checkpointer, DomainKeys, MonitorError, Problem, VerifyReport, verify_log,
};
use crossauthz_proto::issuer::GetPublicKeysRequest;
use crossauthz_store::{AuditCheckpoint, AuditFilter, NewAuditEvent};
use serde_json::json;

fn event(i: i64) -> NewAuditEvent {
    let mut e = NewAuditEvent::new(
        now0() + chrono::Duration::seconds(i),
        "verifier",
        "grant.issued",
    );
    e.client_id = Some(format!(
        "https://a.example/agents/{}/client-metadata.json",
        i % 3
    ));
    e.decision = Some("grant".into());
    e.scopes = Some(vec!["logs:read".into()]);
    e.details = json!({"n": i});
    e
}

/// The log: the issuer's `key.activated` (seq 1), events up to seq 5, checkpoint 5, up to 10,
/// checkpoint 10, then 11 and 12 (not covered yet).
async fn domain_with_log() -> Domain {
    let d = Domain::start().await;
    let audit = d.database.audit_store();
    let cp = Checkpointer::new(audit.clone(), d.issuer_client());
    for i in 2..=12 {
        audit.append(event(i)).await.unwrap();
        if i == 5 || i == 10 {
            match cp.checkpoint().await.unwrap() {
                CheckpointOutcome::Signed(c) => assert_eq!(c.seq, i),
                other => panic!("{other:?}"),
            }
        }
    }
    d
}

async fn published_keys(d: &Domain) -> DomainKeys {
    let keys = d
        .issuer_client()
        .get_public_keys(GetPublicKeysRequest {})
        .await
        .unwrap()
        .into_inner();
    DomainKeys::from_jwks(
        &serde_json::from_str(&keys.jwks_json).unwrap(),
        Some(DID.into()),
    )
    .unwrap()
}

async fn verify(d: &Domain) -> VerifyReport {
    let published = verify_log(d.database.audit_store().as_ref(), &published_keys(d).await)
        .await
        .unwrap();
    // The issuer's key table gives the same verdict.
    let stored =
        DomainKeys::from_issuer_store(d.database.issuer_store().as_ref(), Some(DID.into()))
            .await
            .unwrap();
    let from_store = verify_log(d.database.audit_store().as_ref(), &stored)
        .await
        .unwrap();
    assert_eq!(published, from_store);
    published
}

fn first_break(r: &VerifyReport) -> (i64, Problem) {
    let Break { seq, problem, .. } = r.first_break.clone().expect("a break");
    (seq, problem)
}

#[tokio::test]
async fn intact_log_verifies_with_both_checkpoints() {
    let d = domain_with_log().await;
    let r = verify(&d).await;
    assert!(r.is_intact(), "{r:?}");
    assert_eq!(r.events_verified, 12);
    assert_eq!(r.head, Some(12));
    assert_eq!(r.checkpoints_verified, 2);
    assert_eq!(r.last_checkpoint, Some(10));
    assert_eq!(r.unanchored_events, 2);
    d.stop().await;
}

#[tokio::test]
async fn edited_field_is_named() {
    let d = domain_with_log().await;
    d.tamper("UPDATE audit.events SET decision = 'deny' WHERE seq = 7")
        .await;
    assert_eq!(first_break(&verify(&d).await), (7, Problem::EventEdited));
    d.stop().await;
}

#[tokio::test]
async fn edited_event_after_the_last_checkpoint_is_named() {
    let d = domain_with_log().await;
    d.tamper(r#"UPDATE audit.events SET details = '{"n": 99}' WHERE seq = 12"#)
        .await;
    assert_eq!(first_break(&verify(&d).await), (12, Problem::EventEdited));
    d.stop().await;
}

#[tokio::test]
async fn deleted_row_is_named() {
    let d = domain_with_log().await;
    d.tamper("DELETE FROM audit.events WHERE seq = 4").await;
    assert_eq!(first_break(&verify(&d).await), (4, Problem::EventMissing));
    d.stop().await;
}

#[tokio::test]
async fn reordered_rows_are_named() {
    let d = domain_with_log().await;
    d.tamper(
        "UPDATE audit.events SET seq = 1000000 WHERE seq = 6;
         UPDATE audit.events SET seq = 6 WHERE seq = 7;
         UPDATE audit.events SET seq = 7 WHERE seq = 1000000;",
    )
    .await;
    assert_eq!(first_break(&verify(&d).await), (6, Problem::ChainRelinked));
    d.stop().await;
}

#[tokio::test]
async fn truncated_tail_after_a_checkpoint_is_named() {
    let d = domain_with_log().await;
    // The chain that remains (1..=8) is intact; only the checkpoint of event 10 shows the cut.
    d.tamper("DELETE FROM audit.events WHERE seq >= 9").await;
    let r = verify(&d).await;
    assert_eq!(r.head, Some(8));
    assert_eq!(first_break(&r), (9, Problem::TailTruncated));
    d.stop().await;
}

#[tokio::test]
async fn rewritten_chain_with_recomputed_hashes_is_caught_by_the_checkpoint() {
    let d = domain_with_log().await;
    let audit = d.database.audit_store();
    let originals = audit
        .list(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    // Replace the whole log by a consistent chain in which event 3 says "deny".
    d.tamper("DELETE FROM audit.events").await;
    for e in originals {
        let mut n = NewAuditEvent::new(e.at, e.service, e.kind);
        n.client_id = e.client_id;
        n.scopes = e.scopes;
        n.decision = if e.seq == 3 {
            Some("deny".into())
        } else {
            e.decision
        };
        n.details = e.details;
        n.issuer = e.issuer;
        n.actor = e.actor;
        n.reason = e.reason;
        audit.append(n).await.unwrap();
    }
    assert!(matches!(
        audit.verify_chain().await.unwrap(),
        crossauthz_store::ChainStatus::Intact { events: 12, .. }
    ));
    let r = verify(&d).await;
    assert_eq!(first_break(&r), (5, Problem::LogRewritten));
    assert!(
        r.first_break
            .unwrap()
            .detail
            .contains("between events 1 and 5")
    );
    d.stop().await;
}

#[tokio::test]
async fn forged_checkpoints_are_named() {
    let d = domain_with_log().await;
    let audit = d.database.audit_store();
    let head = audit.head().await.unwrap().unwrap();
    let real = audit.last_checkpoint().await.unwrap().unwrap();
    // Signed by the attacker's key under the domain's kid: the signature fails.
    let attacker = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let claims = CheckpointClaims {
        issuer: DID.into(),
        signed_at: now0(),
        seq: head.0,
        hash: head.1,
        event_at: now0() + chrono::Duration::seconds(12),
    };
    let forged = AuditCheckpoint {
        seq: head.0,
        hash: head.1,
        event_at: claims.event_at,
        signed_at: now0(),
        kid: real.kid.clone(),
        jws: audit_checkpoint::sign(&attacker, &real.kid, &claims).unwrap(),
    };
    audit.append_checkpoint(&forged).await.unwrap();
    assert_eq!(
        first_break(&verify(&d).await),
        (12, Problem::CheckpointForged)
    );
    d.stop().await;

    // Under its own kid: an unknown key.
    let d = domain_with_log().await;
    let audit = d.database.audit_store();
    let kid = format!("{DID}#{}", attacker.thumbprint());
    let forged = AuditCheckpoint {
        kid: kid.clone(),
        jws: audit_checkpoint::sign(&attacker, &kid, &claims).unwrap(),
        ..forged
    };
    audit.append_checkpoint(&forged).await.unwrap();
    assert_eq!(
        first_break(&verify(&d).await),
        (12, Problem::CheckpointKeyUnknown)
    );
    d.stop().await;

    // A genuine checkpoint row edited to cover another hash: the row is not what was signed.
    let d = domain_with_log().await;
    d.tamper("UPDATE audit.checkpoints SET hash = decode(repeat('ab', 32), 'hex') WHERE seq = 5")
        .await;
    assert_eq!(
        first_break(&verify(&d).await),
        (5, Problem::CheckpointForged)
    );
    d.stop().await;
}

#[tokio::test]
async fn checkpointer_refuses_to_sign_a_broken_log() {
    let d = domain_with_log().await;
    d.tamper("UPDATE audit.events SET reason = 'x' WHERE seq = 11")
        .await;
    let cp = Checkpointer::new(d.database.audit_store(), d.issuer_client());
    match cp.checkpoint().await {
        Err(MonitorError::ChainBroken { seq: 11, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        d.database
            .audit_store()
            .last_checkpoint()
            .await
            .unwrap()
            .unwrap()
            .seq,
        10
    );
    // And when the checkpointed event itself was edited.
    d.tamper("UPDATE audit.events SET reason = 'x' WHERE seq = 10")
        .await;
    match cp.checkpoint().await {
        Err(MonitorError::ChainBroken { seq: 10, .. }) => {}
        other => panic!("{other:?}"),
    }
    d.stop().await;
}

#[tokio::test]
async fn checkpointing_an_up_to_date_log_signs_nothing() {
    let d = domain_with_log().await;
    let cp = Checkpointer::new(d.database.audit_store(), d.issuer_client());
    assert!(matches!(cp.checkpoint().await.unwrap(), CheckpointOutcome::Signed(c) if c.seq == 12));
    assert_eq!(cp.checkpoint().await.unwrap(), CheckpointOutcome::UpToDate);
    let r = verify(&d).await;
    assert!(r.is_intact());
    assert_eq!(r.unanchored_events, 0);
    d.stop().await;
}

#[tokio::test]
async fn audit_log_grpc_streams_filtered_events_in_order() {
    use crossauthz_monitor::audit_log::AuditLogService;
    use crossauthz_proto::audit::QueryEventsRequest;
    use crossauthz_proto::audit::audit_log_client::AuditLogClient;
    let d = domain_with_log().await;
    let server = crossauthz_testkit::GrpcServer::start(
        tonic::transport::Server::builder()
            .add_service(AuditLogService::new(d.database.audit_store()).grpc_server()),
    )
    .await
    .unwrap();
    let mut client = AuditLogClient::new(server.channel());
    let collect = |r: tonic::Response<
        tonic::codec::Streaming<crossauthz_proto::audit::AuditEvent>,
    >| async move {
        let mut s = r.into_inner();
        let mut out = Vec::new();
        while let Some(e) = s.message().await.unwrap() {
            out.push(e);
        }
        out
    };
    let all = collect(
        client
            .query_events(QueryEventsRequest {
                limit: 1000,
                ..QueryEventsRequest::default()
            })
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(all.len(), 12);
    assert!(
        all.windows(2)
            .all(|p| p[0].seq + 1 == p[1].seq && p[1].prev_hash == p[0].hash)
    );
    let agent = "https://a.example/agents/1/client-metadata.json";
    let some = collect(
        client
            .query_events(QueryEventsRequest {
                client_id: agent.into(),
                decision: "grant".into(),
                after_seq: 3,
                limit: 1000,
                ..QueryEventsRequest::default()
            })
            .await
            .unwrap(),
    )
    .await;
    assert!(!some.is_empty());
    assert!(
        some.iter()
            .all(|e| e.client_id == agent && e.decision == "grant" && e.seq > 3)
    );
    let e = client
        .query_events(QueryEventsRequest {
            limit: 10_001,
            ..QueryEventsRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    server.stop().await;
    d.stop().await;
}
