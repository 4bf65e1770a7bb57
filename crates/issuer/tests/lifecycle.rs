//! The credential lifecycle over real gRPC and PostgreSQL: revoke, suspend, unsuspend through
//! the real status-list service; refused transitions and unknown credentials change nothing;
//! the published lists (signed by this issuer) show the change; audit rows exist.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crossauthz_core::clock::Clock;
use crossauthz_credentials::status::{
    StatusListReference, StatusType, verify_status_list_credential_with_resolver,
    verify_status_list_token_with_resolver,
};
use crossauthz_proto::common::{CredentialFormat, CredentialStatus, ListFormat};
use crossauthz_proto::issuer::{ChangeStatusRequest, Credential, GetCredentialRequest};
use crossauthz_proto::status_list::GetPublishedListRequest;
use crossauthz_store::AuditFilter;
use tonic::Code;
use uuid::Uuid;

async fn issue(d: &Domain, format: CredentialFormat) -> Credential {
    let (_hk, hjwk) = holder();
    d.client()
        .issue_credential(issue_request(
            &Uuid::new_v4().to_string(),
            format,
            &hjwk,
            &[],
        ))
        .await
        .unwrap()
        .into_inner()
}

fn change(id: &str, reason: &str) -> ChangeStatusRequest {
    ChangeStatusRequest {
        id: id.to_owned(),
        actor: admin(reason),
    }
}

async fn status_of(d: &Domain, id: &str) -> CredentialStatus {
    let info = d
        .client()
        .get_credential(GetCredentialRequest { id: id.to_owned() })
        .await
        .unwrap()
        .into_inner();
    CredentialStatus::try_from(info.status).unwrap()
}

// B4: suspension is reversible; suspend → unsuspend round trip, each step visible.
#[tokio::test]
async fn b4_suspend_then_unsuspend_round_trips() {
    let d = Domain::start().await;
    let c = issue(&d, CredentialFormat::VcJwt).await;
    assert_eq!(status_of(&d, &c.id).await, CredentialStatus::Valid);
    let info = d
        .client()
        .suspend_credential(change(&c.id, "investigation"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.status, CredentialStatus::Suspended as i32);
    assert_eq!(status_of(&d, &c.id).await, CredentialStatus::Suspended);
    let info = d
        .client()
        .unsuspend_credential(change(&c.id, "cleared"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.status, CredentialStatus::Valid as i32);
    assert_eq!(status_of(&d, &c.id).await, CredentialStatus::Valid);
    let kinds = d.audit_kinds().await;
    assert!(kinds.contains(&"credential.suspended".to_owned()));
    assert!(kinds.contains(&"credential.unsuspended".to_owned()));
    d.stop().await;
}

// B4: revocation is irreversible. Unsuspend or suspend of a revoked credential is
// FAILED_PRECONDITION and changes nothing; revoking again is answered without a change.
#[tokio::test]
async fn b4_revocation_is_final_and_refused_transitions_change_nothing() {
    let d = Domain::start().await;
    let c = issue(&d, CredentialFormat::DcSdJwt).await;
    d.client()
        .suspend_credential(change(&c.id, "hold"))
        .await
        .unwrap();
    let info = d
        .client()
        .revoke_credential(change(&c.id, "compromised"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.status, CredentialStatus::Revoked as i32);
    let events_before = d.audit_kinds().await.len();
    for call in ["unsuspend", "suspend"] {
        let err = match call {
            "unsuspend" => d.client().unsuspend_credential(change(&c.id, "x")).await,
            _ => d.client().suspend_credential(change(&c.id, "x")).await,
        }
        .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{call}");
        assert!(err.message().contains("revoked"), "{}", err.message());
        assert_eq!(status_of(&d, &c.id).await, CredentialStatus::Revoked);
    }
    // Idempotent: already revoked, nothing changes, no new audit event.
    let again = d
        .client()
        .revoke_credential(change(&c.id, "again"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.status, CredentialStatus::Revoked as i32);
    let kinds = d.audit_kinds().await;
    assert_eq!(
        kinds.len(),
        events_before,
        "no audit event without a change"
    );
    d.stop().await;
}

// An unknown credential is NOT_FOUND for every call; a malformed id is INVALID_ARGUMENT.
#[tokio::test]
async fn unknown_credential_is_not_found_and_malformed_id_is_invalid() {
    let d = Domain::start().await;
    let unknown = Uuid::new_v4().to_string();
    let err = d
        .client()
        .get_credential(GetCredentialRequest {
            id: unknown.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    for call in ["revoke", "suspend", "unsuspend"] {
        let r = change(&unknown, "x");
        let err = match call {
            "revoke" => d.client().revoke_credential(r).await,
            "suspend" => d.client().suspend_credential(r).await,
            _ => d.client().unsuspend_credential(r).await,
        }
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{call}");
    }
    let err = d
        .client()
        .revoke_credential(change("not-a-uuid", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let kinds = d.audit_kinds().await;
    assert!(
        !kinds.iter().any(|k| k.starts_with("credential.")),
        "{kinds:?}"
    );
    d.stop().await;
}

// Issue → revoke → the published lists in both formats (signed by this issuer, verified against
// its did.json) show the entry revoked: TSL value 1 (T3), revocation bit set (B2).
#[tokio::test]
async fn t3_b2_revocation_shows_in_both_published_lists_signed_by_the_issuer() {
    let d = Domain::start().await;
    let c = issue(&d, CredentialFormat::VcJwt).await;
    let other = issue(&d, CredentialFormat::VcJwt).await;
    let status = c.status.clone().unwrap();
    d.client()
        .revoke_credential(change(&c.id, "compromised"))
        .await
        .unwrap();
    let doc = d.did_document().await;
    let now = d.clock.now();

    let tsl = d
        .status_client()
        .get_published_list(GetPublishedListRequest {
            list_id: status.list_id.clone(),
            format: ListFormat::TokenStatusList as i32,
            purpose: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let reference = StatusListReference {
        idx: status.index,
        uri: status.uri.clone(),
    };
    let verified =
        verify_status_list_token_with_resolver(&tsl.body, DID, &doc, &reference, now).unwrap();
    assert_eq!(verified.claims.iss.as_deref(), Some(DID));
    assert_eq!(verified.status(status.index).unwrap(), StatusType::Invalid);
    let other_index = other.status.unwrap().index;
    if other_index != status.index {
        assert_eq!(verified.status(other_index).unwrap(), StatusType::Valid);
    }

    let bsl = d
        .status_client()
        .get_published_list(GetPublishedListRequest {
            list_id: status.list_id.clone(),
            format: ListFormat::BitstringStatusList as i32,
            purpose: "revocation".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let list = verify_status_list_credential_with_resolver(&bsl.body, &doc, now).unwrap();
    assert_eq!(list.issuer, DID);
    let bits = list.decode_list().unwrap();
    assert_eq!(
        bits.get(
            status.index,
            crossauthz_credentials::status::StatusSize::ONE
        )
        .unwrap(),
        1
    );
    d.stop().await;
}

// Every issuance, revocation, suspension and unsuspension has its audit row, with the
// credential id, the client_id, the issuer and the actor — and never the credential itself.
#[tokio::test]
async fn audit_rows_exist_for_issuance_and_each_status_change() {
    let d = Domain::start().await;
    let c = issue(&d, CredentialFormat::VcJwt).await;
    d.client()
        .suspend_credential(change(&c.id, "hold"))
        .await
        .unwrap();
    d.client()
        .unsuspend_credential(change(&c.id, "ok"))
        .await
        .unwrap();
    d.client()
        .revoke_credential(change(&c.id, "gone"))
        .await
        .unwrap();
    let events = d
        .database
        .audit_store()
        .list(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let ours: Vec<_> = events
        .iter()
        .filter(|e| e.service == "issuer" && e.credential_id.as_deref() == Some(c.id.as_str()))
        .collect();
    let kinds: Vec<&str> = ours.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "credential.issued",
            "credential.suspended",
            "credential.unsuspended",
            "credential.revoked"
        ]
    );
    for e in &ours {
        assert_eq!(e.issuer.as_deref(), Some(DID));
        assert_eq!(e.client_id.as_deref(), Some(SUBJECT));
        let text = serde_json::to_string(&e.details).unwrap();
        assert!(
            !text.contains(&c.credential),
            "no credential in the audit log"
        );
    }
    assert_eq!(ours[0].actor.as_deref(), Some("registry"));
    assert_eq!(ours[3].actor.as_deref(), Some("admin@alpha"));
    assert_eq!(ours[3].reason.as_deref(), Some("gone"));
    assert!(matches!(
        d.database.audit_store().verify_chain().await.unwrap(),
        crossauthz_store::ChainStatus::Intact { .. }
    ));
    d.stop().await;
}

// A status change with the status-list service down is UNAVAILABLE and changes nothing.
#[tokio::test]
async fn status_change_fails_closed_when_the_status_list_is_unavailable() {
    let mut d = Domain::start().await;
    let c = issue(&d, CredentialFormat::VcJwt).await;
    d.stop_status_list().await;
    let err = d
        .client()
        .revoke_credential(change(&c.id, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    d.start_status_list().await;
    assert_eq!(status_of(&d, &c.id).await, CredentialStatus::Valid);
    assert!(
        !d.audit_kinds()
            .await
            .contains(&"credential.revoked".to_owned())
    );
    d.stop().await;
}

// Kill and restart both services mid-way: no revocation lost, no status index reused, the same
// signing key, earlier credentials still readable.
#[tokio::test]
async fn restarting_the_services_mid_way_loses_nothing_and_reuses_no_index() {
    let mut d = Domain::start().await;
    let mut issued = Vec::new();
    for _ in 0..4 {
        issued.push(issue(&d, CredentialFormat::VcJwt).await);
    }
    d.client()
        .revoke_credential(change(&issued[0].id, "before restart"))
        .await
        .unwrap();
    d.client()
        .suspend_credential(change(&issued[1].id, "before restart"))
        .await
        .unwrap();
    let kid = issued[0].kid.clone();
    d.stop_status_list().await;
    d.restart_issuer().await;
    d.start_status_list().await;
    assert_eq!(
        status_of(&d, &issued[0].id).await,
        CredentialStatus::Revoked
    );
    assert_eq!(
        status_of(&d, &issued[1].id).await,
        CredentialStatus::Suspended
    );
    assert_eq!(status_of(&d, &issued[2].id).await, CredentialStatus::Valid);
    for _ in 0..4 {
        issued.push(issue(&d, CredentialFormat::DcSdJwt).await);
    }
    let entries: std::collections::HashSet<_> = issued
        .iter()
        .map(|c| {
            let s = c.status.clone().unwrap();
            (s.list_id, s.index)
        })
        .collect();
    assert_eq!(entries.len(), issued.len(), "no index handed out twice");
    assert_eq!(issued.last().unwrap().kid, kid, "same key after restart");
    assert_eq!(
        d.database.issuer_store().list_keys().await.unwrap().len(),
        1
    );
    d.stop().await;
}
