//! The whole agent lifecycle over real gRPC on loopback with real Postgres and the real issuer
//! and status-list services: create (with its first credential) → the hosted document passes the
//! CIMD rules and carries a credential that verifies → update → new version, old one in history
//! → revoke → the document no longer carries it → delete → NOT_FOUND.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::*;
use crossauthz_core::cimd::{CimdLimits, parse_fetched};
use crossauthz_core::clock::Clock;
use crossauthz_credentials::vc_jwt;
use crossauthz_proto::common::CredentialStatus;
use crossauthz_proto::issuer::{ChangeStatusRequest, GetCredentialRequest};
use crossauthz_proto::registry::{
    DeleteAgentRequest, GetAgentHistoryRequest, GetAgentRequest, GetClientMetadataRequest,
    IssueAgentCredentialRequest, ListAgentsRequest, UpdateAgentRequest,
};
use serde_json::Value;
use tonic::Code;

fn document(doc_json: &str) -> Value {
    serde_json::from_str(doc_json).unwrap()
}

#[tokio::test]
async fn agent_lifecycle_create_verify_update_revoke_delete() {
    let domain = Domain::start().await;
    let mut registry = domain.registry();
    let (_key, jwk) = agent_key("agent-key-1");

    // Create with the first credential in the same call (onboarding in one request).
    let mut req = create_request(&jwk);
    req.issue_credential = vc_jwt_options();
    let created = registry.create_agent(req).await.unwrap().into_inner();
    let agent = created.agent.unwrap();
    let credential = created.credential.unwrap();
    assert_eq!(agent.version, 1);
    assert_eq!(
        agent.client_id,
        format!("{PUBLIC_URL}/agents/{}/client-metadata.json", agent.id)
    );

    // The hosted document validates under the CIMD rules against its own URL (C1–C5, C12).
    let hosted = registry
        .get_client_metadata(GetClientMetadataRequest {
            agent_id: agent.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let validated = parse_fetched(
        hosted.document_json.as_bytes(),
        &agent.client_id,
        &CimdLimits::default(),
    )
    .unwrap();
    assert!(hosted.document_json.len() <= 5 * 1024, "C12");
    let doc = document(&hosted.document_json);
    assert_eq!(doc["client_name"], "Log reader");
    assert_eq!(doc["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(doc["jwks"]["keys"][0]["kid"], "agent-key-1");
    assert_eq!(doc["grant_types"][0], "client_credentials");
    assert!(doc.get("client_secret").is_none());
    assert_eq!(hosted.cache_max_age_seconds, 300);
    assert!(hosted.etag.starts_with('"'));

    // It carries the credential, and the credential verifies with the domain's did.json keys.
    let vc = validated.document.vc_jwt.clone().unwrap();
    assert_eq!(vc, credential.credential);
    let did_doc = domain.did_document().await;
    let verified = vc_jwt::verify(&vc, &did_doc, domain.clock.now(), TimeDelta::zero()).unwrap();
    assert_eq!(verified.issuer, DID);
    assert_eq!(verified.vc["credentialSubject"]["id"], agent.client_id);
    assert_eq!(verified.vc["credentialSubject"]["agentType"], "tool-agent");
    assert_eq!(
        verified.vc["credentialSubject"]["issuerDomain"],
        "alpha.localhost:8443"
    );

    // The same bytes again: the same strong ETag.
    let again = registry
        .get_client_metadata(GetClientMetadataRequest {
            agent_id: agent.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.etag, hosted.etag);
    assert_eq!(again.document_json, hosted.document_json);

    // Update: a new version; the old one stays in the history.
    let (_key2, jwk2) = agent_key("agent-key-2");
    let updated = registry
        .update_agent(UpdateAgentRequest {
            id: agent.id.clone(),
            name: Some("Log reader v2".into()),
            jwks_json: Some(serde_json::json!({"keys": [jwk.clone(), jwk2]}).to_string()),
            expected_version: 1,
            actor: admin(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.name, "Log reader v2");
    let history = registry
        .get_agent_history(GetAgentHistoryRequest {
            id: agent.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .versions;
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(document(&history[0].document_json)["name"], "Log reader");
    assert_eq!(document(&history[1].document_json)["name"], "Log reader v2");
    let after_update = registry
        .get_client_metadata(GetClientMetadataRequest {
            agent_id: agent.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after_update.version, 2);
    assert_ne!(after_update.etag, hosted.etag, "new bytes, new ETag");
    assert_eq!(
        document(&after_update.document_json)["client_name"],
        "Log reader v2"
    );
    assert_eq!(document(&after_update.document_json)["vc+jwt"], vc.as_str());

    // Revoke the credential at the issuer: the document no longer carries it.
    domain
        .issuer()
        .revoke_credential(ChangeStatusRequest {
            id: credential.id.clone(),
            actor: admin(),
        })
        .await
        .unwrap();
    let after_revoke = registry
        .get_client_metadata(GetClientMetadataRequest {
            agent_id: agent.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let doc = document(&after_revoke.document_json);
    assert!(
        doc.get("vc+jwt").is_none(),
        "a revoked credential is never served"
    );
    parse_fetched(
        after_revoke.document_json.as_bytes(),
        &agent.client_id,
        &CimdLimits::default(),
    )
    .unwrap();

    // A new credential is served again; then delete: the hosted document is gone and the
    // credential is revoked through the issuer.
    let second = registry
        .issue_agent_credential(IssueAgentCredentialRequest {
            agent_id: agent.id.clone(),
            options: vc_jwt_options(),
            actor: admin(),
        })
        .await
        .unwrap()
        .into_inner();
    let served = registry
        .get_client_metadata(GetClientMetadataRequest {
            agent_id: agent.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        document(&served.document_json)["vc+jwt"],
        second.credential.as_str()
    );
    let deleted = registry
        .delete_agent(DeleteAgentRequest {
            id: agent.id.clone(),
            actor: admin(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.revoked_credential_ids, vec![second.id.clone()]);
    let info = domain
        .issuer()
        .get_credential(GetCredentialRequest { id: second.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.status, CredentialStatus::Revoked as i32);
    let gone = registry
        .get_client_metadata(GetClientMetadataRequest {
            agent_id: agent.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let gone = registry
        .get_agent(GetAgentRequest {
            id: agent.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let listed = registry
        .list_agents(ListAgentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.agents.is_empty());
    // The history outlives the agent (audit value).
    let history = registry
        .get_agent_history(GetAgentHistoryRequest { id: agent.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.versions.len(), 2);

    assert_eq!(
        domain.registry_audit_kinds().await,
        [
            "agent.created",
            "credential.attached",
            "agent.updated",
            "credential.attached",
            "agent.deleted"
        ]
    );
    domain.stop().await;
}
