//! The gRPC boundary of the verifier: Decide and ResolveClient over real loopback gRPC, and the
//! admin RPCs — trust list, policies, resources validated before they are stored; a bad Cedar
//! policy is INVALID_ARGUMENT with Cedar's error and the old set stays active.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod decide_support;

use crossauthz_proto::common::Actor;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_proto::verifier::{
    DecideRequest, GetPoliciesRequest, GetResourcesRequest, GetTrustListRequest,
    PutPoliciesRequest, PutResourcesRequest, PutTrustListRequest, ResolveClientRequest, Resource,
    TrustedIssuer,
};
use crossauthz_testkit::GrpcServer;
use crossauthz_verifier::codes;
use decide_support::*;
use tonic::Code;
use tonic::transport::Server;

#[tokio::test]
async fn grpc_decide_and_resolve_carry_decisions_and_reasons() {
    let site = Site::start().await;
    let beta = Beta::start(&site, true).await;
    let alpha = Alpha::new(&site, beta.now());
    let server =
        GrpcServer::start(Server::builder().add_service(beta.service.clone().grpc_server()))
            .await
            .unwrap();
    let mut client = VerifierClient::new(server.channel());
    let agent = alpha.agent(1);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&vc)));

    let request = DecideRequest {
        client_id: agent.client_id.clone(),
        client_assertion: assertion(&agent, BETA, "g-1", beta.now()),
        client_assertion_type: JWT_BEARER.into(),
        grant_type: "client_credentials".into(),
        requested_scopes: vec!["logs:read".into()],
        resource: MCP.into(),
        ..DecideRequest::default()
    };
    let d = client.decide(request.clone()).await.unwrap().into_inner();
    assert!(d.allowed);
    assert_eq!(d.granted_scopes, vec!["logs:read"]);
    assert!(d.deny.is_none());
    let cred = d.credential.unwrap();
    assert_eq!(cred.format, "vc+jwt");
    assert_eq!(cred.issuer_domain, "alpha.test");
    let claims: serde_json::Value = serde_json::from_str(&cred.claims_json).unwrap();
    assert_eq!(claims["issuerDomain"], "alpha.test");
    assert!(cred.valid_until.is_some());
    assert!(d.audit_seq > 0);

    // A denial is a normal response with a machine-readable reason.
    let d = client.decide(request).await.unwrap().into_inner();
    assert!(!d.allowed);
    let deny = d.deny.unwrap();
    assert_eq!(deny.code, codes::ASSERTION_REPLAYED);
    assert_eq!(deny.oauth_error, "invalid_client");

    let r = client
        .resolve_client(ResolveClientRequest {
            client_id: agent.client_id.clone(),
            redirect_uri: "https://alpha.test/callback".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.ok);
    assert_eq!(r.client_host, "alpha.test");
    assert!(r.confidential);
    assert!(r.credential.is_some());
    server.stop().await;
    beta.finish().await;
}

#[tokio::test]
async fn admin_rpcs_validate_before_storing_and_a_bad_policy_keeps_the_old_set() {
    let site = Site::start().await;
    let beta = Beta::start(&site, true).await;
    let server =
        GrpcServer::start(Server::builder().add_service(beta.service.clone().grpc_server()))
            .await
            .unwrap();
    let mut client = VerifierClient::new(server.channel());
    let actor = Some(Actor {
        subject: "admin@beta".into(),
        reason: String::new(),
    });

    let before = client
        .get_policies(GetPoliciesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(before.version, 1);
    let err = client
        .put_policies(PutPoliciesRequest {
            policies: "permit(principal, action, resource) when { principal.".into(),
            actor: actor.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("Cedar"), "{}", err.message());
    let after = client
        .get_policies(GetPoliciesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after, before, "the old set stays active");
    // And it still decides: a plain client still gets the open scope under the old set.
    let alpha = Alpha::new(&site, beta.now());
    let agent = alpha.agent(1);
    publish(&site, &agent, &document(&agent, None));
    let d = beta
        .decide(crossauthz_verifier::DecideInput {
            requested_scopes: vec!["status:read".into()],
            ..beta.request(&agent, "old-set")
        })
        .await;
    assert!(d.allowed, "{d:?}");

    let put = client
        .put_policies(PutPoliciesRequest {
            policies: r#"@id("none") forbid(principal, action, resource);"#.into(),
            actor: actor.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(put.version, 2);

    let trust = client
        .get_trust_list(GetTrustListRequest {})
        .await
        .unwrap()
        .into_inner();
    let err = client
        .put_trust_list(PutTrustListRequest {
            issuers: vec![TrustedIssuer {
                issuer: "https://alpha.test".into(),
                credential_types: vec!["AgentAuthorizationCredential".into()],
                issuer_domains: vec!["alpha.test".into()],
            }],
            actor: actor.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        client
            .get_trust_list(GetTrustListRequest {})
            .await
            .unwrap()
            .into_inner(),
        trust
    );

    let resources = client
        .get_resources(GetResourcesRequest {})
        .await
        .unwrap()
        .into_inner();
    for bad in [
        Resource {
            resource: MCP.into(),
            scopes: vec![],
            attributes_json: "{not json".into(),
        },
        Resource {
            resource: "https://x.test/mcp#frag".into(),
            scopes: vec![],
            attributes_json: "{}".into(),
        },
    ] {
        let err = client
            .put_resources(PutResourcesRequest {
                resources: vec![bad],
                actor: actor.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
    assert_eq!(
        client
            .get_resources(GetResourcesRequest {})
            .await
            .unwrap()
            .into_inner(),
        resources
    );
    let kinds: Vec<String> = beta
        .events()
        .await
        .into_iter()
        .filter(|e| e.actor.as_deref() == Some("admin@beta"))
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        vec!["policies.updated"],
        "refused changes leave no audit record"
    );
    server.stop().await;
    beta.finish().await;
}
