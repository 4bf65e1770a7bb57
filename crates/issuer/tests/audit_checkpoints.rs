//! `SignAuditCheckpoint` over real gRPC (issue 6): the issuer signs the audit event at `seq` as
//! it is in the log (`typ: audit-checkpoint+jwt`, verifiable with the key published in
//! did.json), and refuses a request whose expected hash is not the logged one, an unknown seq
//! or a malformed request, signing nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crossauthz_credentials::audit_checkpoint;
use crossauthz_proto::issuer::SignAuditCheckpointRequest;
use crossauthz_store::{AuditFilter, NewAuditEvent};
use tonic::Code;

#[tokio::test]
async fn checkpoint_of_the_logged_event_verifies_with_the_published_key() {
    let d = Domain::start().await;
    let audit = d.database.audit_store();
    audit
        .append(NewAuditEvent::new(now0(), "test", "test.event"))
        .await
        .unwrap();
    let head = audit.head().await.unwrap().unwrap();
    let event = audit
        .list(&AuditFilter {
            after_seq: Some(head.0 - 1),
            limit: 1,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .remove(0);

    let signed = d
        .client()
        .sign_audit_checkpoint(SignAuditCheckpointRequest {
            seq: head.0 as u64,
            expected_hash: head.1.to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(signed.hash, head.1.to_vec());
    assert_eq!(signed.seq, head.0 as u64);
    let doc = d.did_document().await;
    let key = doc.find_key(&signed.kid).unwrap();
    let claims = audit_checkpoint::verify(&signed.jws, key).unwrap();
    assert_eq!(claims.issuer, DID);
    assert_eq!(claims.seq, head.0);
    assert_eq!(claims.hash, head.1);
    assert_eq!(claims.event_at, event.at);
    assert_eq!(
        audit_checkpoint::kid_of(&signed.jws).unwrap().as_deref(),
        Some(signed.kid.as_str())
    );
    d.stop().await;
}

#[tokio::test]
async fn checkpoint_requests_not_matching_the_log_are_refused() {
    let d = Domain::start().await;
    let audit = d.database.audit_store();
    audit
        .append(NewAuditEvent::new(now0(), "test", "test.event"))
        .await
        .unwrap();
    let (seq, hash) = audit.head().await.unwrap().unwrap();
    let mut wrong = hash;
    wrong[0] ^= 1;
    let cases = [
        (seq as u64, wrong.to_vec(), Code::FailedPrecondition),
        (seq as u64 + 1, hash.to_vec(), Code::NotFound),
        (0, hash.to_vec(), Code::InvalidArgument),
        (seq as u64, hash[..31].to_vec(), Code::InvalidArgument),
    ];
    for (seq, expected_hash, code) in cases {
        let e = d
            .client()
            .sign_audit_checkpoint(SignAuditCheckpointRequest { seq, expected_hash })
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{seq}: {e:?}");
    }
    d.stop().await;
}
