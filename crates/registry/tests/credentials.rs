//! Which credential the hosted document carries, and failing closed: over real gRPC on loopback
//! with real Postgres and the real issuer and status-list services.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::*;
use crossauthz_proto::common::{CredentialFormat, CredentialStatus};
use crossauthz_proto::issuer::{ChangeStatusRequest, ListAgentCredentialsRequest};
use crossauthz_proto::registry::{
    Agent, CreateAgentRequest, CredentialOptions, DeleteAgentRequest, GetAgentRequest,
    GetClientMetadataRequest, IssueAgentCredentialRequest, IssuedCredential,
};
use crossauthz_registry::RegistryError;
use crossauthz_registry::upstream::IssuerError;
use serde_json::{Value, json};
use tonic::Code;

async fn create(domain: &Domain, req: CreateAgentRequest) -> Agent {
    domain
        .registry()
        .create_agent(req)
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap()
}

async fn issue(
    domain: &Domain,
    agent: &Agent,
    options: Option<CredentialOptions>,
) -> IssuedCredential {
    domain
        .registry()
        .issue_agent_credential(IssueAgentCredentialRequest {
            agent_id: agent.id.clone(),
            options,
            actor: admin(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn served(domain: &Domain, agent: &Agent) -> Result<Value, tonic::Status> {
    let doc = domain
        .registry()
        .get_client_metadata(GetClientMetadataRequest {
            agent_id: agent.id.clone(),
        })
        .await?
        .into_inner();
    Ok(serde_json::from_str(&doc.document_json).unwrap())
}

async fn change(domain: &Domain, id: &str, what: &str) {
    let req = ChangeStatusRequest {
        id: id.to_owned(),
        actor: admin(),
    };
    let mut issuer = domain.issuer();
    match what {
        "revoke" => issuer.revoke_credential(req).await.unwrap(),
        "suspend" => issuer.suspend_credential(req).await.unwrap(),
        _ => issuer.unsuspend_credential(req).await.unwrap(),
    };
}

/// The newest credential the issuer says is VALID is served; a suspended one is not, and comes
/// back when unsuspended; an expired one is never served.
#[tokio::test]
async fn newest_valid_credential_is_served_never_a_suspended_or_expired_one() {
    let domain = Domain::start().await;
    let (_k, jwk) = agent_key("k1");
    let agent = create(&domain, create_request(&jwk)).await;
    assert!(
        served(&domain, &agent)
            .await
            .unwrap()
            .get("vc+jwt")
            .is_none(),
        "none while it has none"
    );

    let older = issue(&domain, &agent, vc_jwt_options()).await;
    domain.clock.advance(TimeDelta::seconds(10));
    let newer = issue(&domain, &agent, vc_jwt_options()).await;
    assert_eq!(
        served(&domain, &agent).await.unwrap()["vc+jwt"],
        newer.credential.as_str()
    );

    change(&domain, &newer.id, "suspend").await;
    assert_eq!(
        served(&domain, &agent).await.unwrap()["vc+jwt"],
        older.credential.as_str()
    );
    change(&domain, &older.id, "suspend").await;
    assert!(
        served(&domain, &agent)
            .await
            .unwrap()
            .get("vc+jwt")
            .is_none()
    );
    change(&domain, &newer.id, "unsuspend").await;
    assert_eq!(
        served(&domain, &agent).await.unwrap()["vc+jwt"],
        newer.credential.as_str()
    );

    // Past validUntil (the issuer's default lifetime is one hour): not served.
    domain.clock.advance(TimeDelta::hours(2));
    assert!(
        served(&domain, &agent)
            .await
            .unwrap()
            .get("vc+jwt")
            .is_none(),
        "never an expired one"
    );
    domain.stop().await;
}

/// A dc+sd-jwt credential is attached but never put in the `vc+jwt` member.
#[tokio::test]
async fn sd_jwt_credential_is_not_served_as_vc_jwt() {
    let domain = Domain::start().await;
    let (_k, jwk) = agent_key("k1");
    let agent = create(&domain, create_request(&jwk)).await;
    let sd = issue(
        &domain,
        &agent,
        Some(CredentialOptions {
            format: CredentialFormat::DcSdJwt as i32,
            validity_seconds: 600,
            disclose: vec!["/agentName".into()],
            holder_kid: "k1".into(),
        }),
    )
    .await;
    assert_eq!(sd.format, CredentialFormat::DcSdJwt as i32);
    assert!(sd.credential.contains('~'));
    assert!(
        served(&domain, &agent)
            .await
            .unwrap()
            .get("vc+jwt")
            .is_none()
    );
    domain.stop().await;
}

/// Fail closed: with a credential to check and the issuer unreachable, the document is not
/// served (UNAVAILABLE); an agent with no credential is served without asking the issuer.
#[tokio::test]
async fn issuer_unreachable_fails_closed() {
    let mut domain = Domain::start().await;
    let (_k, jwk) = agent_key("k1");
    let with = create(&domain, create_request(&jwk)).await;
    let without = create(&domain, create_request(&jwk)).await;
    issue(&domain, &with, vc_jwt_options()).await;
    domain.stop_issuer().await;

    let status = served(&domain, &with).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let id = uuid::Uuid::parse_str(&with.id).unwrap();
    let err = domain.service.client_metadata(id).await.unwrap_err();
    assert!(matches!(
        err,
        RegistryError::Issuer(IssuerError::Unavailable(_))
    ));
    assert!(
        served(&domain, &without)
            .await
            .unwrap()
            .get("vc+jwt")
            .is_none()
    );

    // Delete cannot revoke: refused, and the agent is still there.
    let status = domain
        .registry()
        .delete_agent(DeleteAgentRequest {
            id: with.id.clone(),
            actor: admin(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    domain
        .registry()
        .get_agent(GetAgentRequest {
            id: with.id.clone(),
        })
        .await
        .unwrap();

    // Back up: served again, and the delete goes through.
    domain.start_issuer().await;
    assert!(
        served(&domain, &with)
            .await
            .unwrap()
            .get("vc+jwt")
            .is_some()
    );
    let deleted = domain
        .registry()
        .delete_agent(DeleteAgentRequest {
            id: with.id.clone(),
            actor: admin(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.revoked_credential_ids.len(), 1);
    domain.stop().await;
}

/// Onboarding in one request is all or nothing: if the first credential cannot be issued, the
/// new agent is deleted again (audited) and the caller gets the issuer's failure.
#[tokio::test]
async fn onboarding_with_issuer_down_leaves_no_agent() {
    let mut domain = Domain::start().await;
    domain.stop_issuer().await;
    let (_k, jwk) = agent_key("k1");
    let mut req = create_request(&jwk);
    req.issue_credential = vc_jwt_options();
    let status = domain.registry().create_agent(req).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(domain.live_agents().await, 0);
    assert_eq!(
        domain.registry_audit_kinds().await,
        ["agent.created", "agent.deleted"]
    );
    domain.stop().await;
}

/// E3/C12: a credential that would push the hosted document over 5 KB is refused, revoked at
/// the issuer, and not attached.
#[tokio::test]
async fn e3_credential_too_large_for_the_document_is_revoked_and_not_attached() {
    let domain = Domain::start().await;
    let (_k, jwk) = agent_key("k1");
    let mut req = create_request(&jwk);
    req.claims_json = json!({
        "authorizedScopes": ["logs:read"],
        "notes": "n".repeat(3500)
    })
    .to_string();
    let agent = create(&domain, req).await;
    let status = domain
        .registry()
        .issue_agent_credential(IssueAgentCredentialRequest {
            agent_id: agent.id.clone(),
            options: vc_jwt_options(),
            actor: admin(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("E3"), "{}", status.message());
    assert!(
        served(&domain, &agent)
            .await
            .unwrap()
            .get("vc+jwt")
            .is_none()
    );
    let at_issuer = domain
        .issuer()
        .list_agent_credentials(ListAgentCredentialsRequest {
            agent_id: agent.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .credentials;
    assert_eq!(at_issuer.len(), 1);
    assert_eq!(at_issuer[0].status, CredentialStatus::Revoked as i32);
    let id = uuid::Uuid::parse_str(&agent.id).unwrap();
    assert!(
        domain
            .database
            .registry_store()
            .agent_credentials(id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(domain.registry_audit_kinds().await, ["agent.created"]);
    domain.stop().await;
}

/// A credential bound to a key the agent no longer publishes would fail holder binding at any
/// verifier: once the key is removed, it is not served; a new credential binds the new key.
#[tokio::test]
async fn credential_bound_to_a_removed_key_is_not_served() {
    let domain = Domain::start().await;
    let (_k1, jwk1) = agent_key("k1");
    let (_k2, jwk2) = agent_key("k2");
    let agent = create(&domain, create_request(&jwk1)).await;
    issue(&domain, &agent, vc_jwt_options()).await;
    assert!(
        served(&domain, &agent)
            .await
            .unwrap()
            .get("vc+jwt")
            .is_some()
    );
    domain
        .registry()
        .update_agent(crossauthz_proto::registry::UpdateAgentRequest {
            id: agent.id.clone(),
            jwks_json: Some(json!({"keys": [jwk2]}).to_string()),
            actor: admin(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        served(&domain, &agent)
            .await
            .unwrap()
            .get("vc+jwt")
            .is_none()
    );
    let fresh = issue(&domain, &agent, vc_jwt_options()).await;
    assert_eq!(
        served(&domain, &agent).await.unwrap()["vc+jwt"],
        fresh.credential.as_str()
    );
    domain.stop().await;
}
