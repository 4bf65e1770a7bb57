//! Every rejection on the way in has its own test: the specific error variant (called on the
//! service), the gRPC status and a message naming the rule (called over gRPC on loopback), and
//! nothing stored — no agent, no audit event of a change. Real Postgres; the issuer is not
//! running, so a refusal cannot depend on it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crossauthz_core::cimd::RedirectUriError;
use crossauthz_core::client_id::HttpsUrlError;
use crossauthz_core::jwk_policy::{JwkPolicyError, JwksError};
use crossauthz_core::profile::ProfileError;
use crossauthz_proto::registry::{
    CreateAgentRequest, GetAgentHistoryRequest, GetAgentRequest, ListAgentsRequest,
    UpdateAgentRequest,
};
use crossauthz_registry::RegistryError;
use crossauthz_registry::agent::{AgentInputError, HolderKeyError};
use serde_json::{Value, json};
use tonic::Code;

const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fn keys(keys: Value) -> String {
    json!({ "keys": keys }).to_string()
}

macro_rules! refused {
    ($(#[$doc:meta])* $name:ident, $edit:expr, $pat:pat, $code:expr, $needle:expr) => {
        $(#[$doc])*
        #[tokio::test]
        async fn $name() {
            let r = RegistryOnly::start().await;
            let (_k, jwk) = agent_key("k1");
            let edit: fn(CreateAgentRequest, &Value) -> CreateAgentRequest = $edit;
            let req = edit(create_request(&jwk), &jwk);
            let err = r.service.create_agent(domain_create(&req)).await.unwrap_err();
            assert!(matches!(err, $pat), "unexpected error: {err:?}");
            let status = r.registry().create_agent(req).await.unwrap_err();
            assert_eq!(status.code(), $code, "{}", status.message());
            assert!(
                status.message().contains($needle),
                "message {:?} does not name {:?}",
                status.message(),
                $needle
            );
            assert_eq!(r.live_agents().await, 0, "nothing stored");
            assert!(r.audit_kinds().await.is_empty(), "no audit event of a change");
            r.stop().await;
        }
    };
}

refused!(
    /// JWK policy: a key with a private member (`d`) is refused.
    c4_key_with_private_part_is_refused,
    |mut r, _| {
        r.jwks_json = keys(json!([{"kty":"OKP","crv":"Ed25519","x":X,"d":X}]));
        r
    },
    RegistryError::Input(AgentInputError::Jwks(JwksError::Key {
        source: JwkPolicyError::PrivateMember { .. },
        ..
    })),
    Code::InvalidArgument,
    "private member `d`"
);

refused!(
    /// C4: a symmetric (`oct`) key is refused.
    c4_symmetric_key_is_refused,
    |mut r, _| {
        r.jwks_json = keys(json!([{"kty":"oct","kid":"s"}]));
        r
    },
    RegistryError::Input(AgentInputError::Jwks(JwksError::Key {
        source: JwkPolicyError::SymmetricKey,
        ..
    })),
    Code::InvalidArgument,
    "symmetric"
);

refused!(
    /// C4: a symmetric algorithm (HS256) on a key is refused.
    c4_symmetric_algorithm_is_refused,
    |mut r, _| {
        r.jwks_json = keys(json!([{"kty":"OKP","crv":"Ed25519","x":X,"alg":"HS256"}]));
        r
    },
    RegistryError::Input(AgentInputError::Jwks(JwksError::Key {
        source: JwkPolicyError::SymmetricAlg { .. },
        ..
    })),
    Code::InvalidArgument,
    "HS256"
);

refused!(
    /// J3/P5: `alg: none` on a key is refused.
    alg_none_key_is_refused,
    |mut r, _| {
        r.jwks_json = keys(json!([{"kty":"OKP","crv":"Ed25519","x":X,"alg":"none"}]));
        r
    },
    RegistryError::Input(AgentInputError::Jwks(JwksError::Key {
        source: JwkPolicyError::AlgNone,
        ..
    })),
    Code::InvalidArgument,
    "alg: none"
);

refused!(
    /// Key selection must be unambiguous: two keys with one kid are refused.
    duplicate_kids_are_refused,
    |mut r, jwk| {
        r.jwks_json = keys(json!([jwk, {"kty":"OKP","crv":"Ed25519","x":X,"kid":"k1"}]));
        r
    },
    RegistryError::Input(AgentInputError::Jwks(JwksError::DuplicateKid { .. })),
    Code::InvalidArgument,
    "more than once"
);

refused!(
    /// D1 (RFC 7591 §2): jwks and jwks_uri together are refused.
    d1_jwks_and_jwks_uri_together_are_refused,
    |mut r, _| {
        r.jwks_uri = "https://alpha.localhost/jwks.json".into();
        r
    },
    RegistryError::Input(AgentInputError::BothJwksAndJwksUri),
    Code::InvalidArgument,
    "D1"
);

refused!(
    /// C10: an agent without keys cannot use private_key_jwt.
    c10_agent_without_keys_is_refused,
    |mut r, _| {
        r.jwks_json = String::new();
        r
    },
    RegistryError::Input(AgentInputError::MissingKeys),
    Code::InvalidArgument,
    "C10"
);

refused!(
    /// jwks_uri must be https.
    jwks_uri_over_http_is_refused,
    |mut r, _| {
        r.jwks_json = String::new();
        r.jwks_uri = "http://alpha.localhost/jwks.json".into();
        r
    },
    RegistryError::Input(AgentInputError::JwksUri(HttpsUrlError::NotHttps)),
    Code::InvalidArgument,
    "https"
);

refused!(
    /// M7: a redirect URI that is neither https nor loopback is refused.
    m7_redirect_uri_neither_https_nor_loopback_is_refused,
    |mut r, _| {
        r.redirect_uris = vec!["http://alpha.example/cb".into()];
        r
    },
    RegistryError::Input(AgentInputError::RedirectUri {
        reason: RedirectUriError::NotHttpsOrLoopback,
        ..
    }),
    Code::InvalidArgument,
    "M7"
);

refused!(
    /// M7 / RFC 6749 §3.1.2: a redirect URI with a fragment is refused.
    m7_redirect_uri_with_fragment_is_refused,
    |mut r, _| {
        r.redirect_uris = vec!["https://alpha.example/cb#frag".into()];
        r
    },
    RegistryError::Input(AgentInputError::RedirectUri {
        reason: RedirectUriError::Fragment,
        ..
    }),
    Code::InvalidArgument,
    "fragment"
);

refused!(
    /// M2: authorization_code without redirect URIs is refused.
    m2_authorization_code_without_redirect_uris_is_refused,
    |mut r, _| {
        r.grant_types = vec!["authorization_code".into()];
        r
    },
    RegistryError::Input(AgentInputError::MissingRedirectUris),
    Code::InvalidArgument,
    "M2"
);

refused!(
    /// OAuth 2.1 has no implicit grant.
    implicit_grant_is_refused,
    |mut r, _| {
        r.grant_types = vec!["implicit".into()];
        r
    },
    RegistryError::Input(AgentInputError::UnsupportedGrantType(_)),
    Code::InvalidArgument,
    "implicit"
);

refused!(
    /// DESIGN §5: claims without the required authorizedScopes are not a valid subject.
    claims_without_authorized_scopes_are_refused,
    |mut r, _| {
        r.claims_json = json!({"agentName": "x"}).to_string();
        r
    },
    RegistryError::Input(AgentInputError::Claims(ProfileError::MissingClaim {
        claim: "authorizedScopes"
    })),
    Code::InvalidArgument,
    "authorizedScopes"
);

refused!(
    /// DESIGN §5: an extension claim may not take a reserved name (`id` is the subject).
    claims_with_a_reserved_name_are_refused,
    |mut r, _| {
        r.claims_json =
            json!({"authorizedScopes": ["a"], "id": "https://evil.example/x"}).to_string();
        r
    },
    RegistryError::Input(AgentInputError::Claims(ProfileError::ReservedExtensionName(_))),
    Code::InvalidArgument,
    "reserved"
);

refused!(
    /// The domain vouches only for itself: issuerDomain must be this domain.
    claims_naming_another_issuer_domain_are_refused,
    |mut r, _| {
        r.claims_json =
            json!({"authorizedScopes": ["a"], "issuerDomain": "beta.example"}).to_string();
        r
    },
    RegistryError::Input(AgentInputError::ClaimMismatch {
        claim: "issuerDomain",
        ..
    }),
    Code::InvalidArgument,
    "issuerDomain"
);

refused!(
    /// DESIGN §5: agentType must be one of the five types.
    unknown_agent_type_is_refused,
    |mut r, _| {
        r.agent_type = "robot".into();
        r
    },
    RegistryError::Input(AgentInputError::UnknownAgentType(_)),
    Code::InvalidArgument,
    "agentType"
);

refused!(
    /// C12: a hosted document over 5 KB is refused before anything is stored.
    c12_oversize_hosted_document_is_refused,
    |mut r, _| {
        r.redirect_uris = (0..60)
            .map(|i| format!("https://alpha.example/callbacks/{i}/{}", "x".repeat(60)))
            .collect();
        r
    },
    RegistryError::Input(AgentInputError::DocumentTooLarge { max: 5120, .. }),
    Code::InvalidArgument,
    "C12"
);

refused!(
    /// A credential cannot be bound to a key the agent does not have.
    unknown_holder_kid_is_refused,
    |mut r, _| {
        r.issue_credential = vc_jwt_options();
        if let Some(o) = r.issue_credential.as_mut() {
            o.holder_kid = "nope".into();
        }
        r
    },
    RegistryError::HolderKey(HolderKeyError::UnknownKid(_)),
    Code::InvalidArgument,
    "holder_kid"
);

refused!(
    /// The registry does not fetch jwks_uri, so it has no key to bind a credential to.
    credential_for_jwks_uri_agent_is_refused,
    |mut r, _| {
        r.jwks_json = String::new();
        r.jwks_uri = "https://alpha.localhost/jwks.json".into();
        r.issue_credential = vc_jwt_options();
        r
    },
    RegistryError::HolderKey(HolderKeyError::NoInlineKeys),
    Code::FailedPrecondition,
    "jwks_uri"
);

refused!(
    /// A vc+jwt has no selective disclosure.
    disclose_with_vc_jwt_is_refused,
    |mut r, _| {
        r.issue_credential = vc_jwt_options();
        if let Some(o) = r.issue_credential.as_mut() {
            o.disclose = vec!["/agentName".into()];
        }
        r
    },
    RegistryError::DiscloseWithoutSdJwt,
    Code::InvalidArgument,
    "dc+sd-jwt"
);

/// An update that breaks a rule changes nothing: same version, one history entry, only the
/// creation audited.
#[tokio::test]
async fn refused_update_changes_nothing() {
    let r = RegistryOnly::start().await;
    let (_k, jwk) = agent_key("k1");
    let agent = r
        .registry()
        .create_agent(create_request(&jwk))
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap();
    let status = r
        .registry()
        .update_agent(UpdateAgentRequest {
            id: agent.id.clone(),
            jwks_json: Some(keys(json!([{"kty":"OKP","crv":"Ed25519","x":X,"d":X}]))),
            actor: admin(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let err = r
        .service
        .update_agent(
            uuid::Uuid::parse_str(&agent.id).unwrap(),
            crossauthz_registry::model::UpdateAgent {
                redirect_uris: Some(vec!["http://evil.example/cb".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RegistryError::Input(AgentInputError::RedirectUri { .. })
    ));
    let now = r
        .registry()
        .get_agent(GetAgentRequest {
            id: agent.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now, agent, "unchanged");
    let history = r
        .registry()
        .get_agent_history(GetAgentHistoryRequest { id: agent.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.versions.len(), 1);
    assert_eq!(r.audit_kinds().await, ["agent.created"]);
    r.stop().await;
}

/// Optimistic concurrency: an update against a stale version is ABORTED and changes nothing.
#[tokio::test]
async fn stale_expected_version_is_a_conflict() {
    let r = RegistryOnly::start().await;
    let (_k, jwk) = agent_key("k1");
    let agent = r
        .registry()
        .create_agent(create_request(&jwk))
        .await
        .unwrap()
        .into_inner()
        .agent
        .unwrap();
    let update = |name: &str| UpdateAgentRequest {
        id: agent.id.clone(),
        name: Some(name.into()),
        expected_version: 1,
        actor: admin(),
        ..Default::default()
    };
    let v2 = r.registry().update_agent(update("first")).await.unwrap();
    assert_eq!(v2.into_inner().version, 2);
    let status = r
        .registry()
        .update_agent(update("second"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    let err = r
        .service
        .update_agent(
            uuid::Uuid::parse_str(&agent.id).unwrap(),
            crossauthz_registry::model::UpdateAgent {
                name: Some("third".into()),
                expected_version: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RegistryError::VersionConflict { expected: 1, .. }
    ));
    let now = r
        .registry()
        .get_agent(GetAgentRequest { id: agent.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((now.version, now.name.as_str()), (2, "first"));
    assert_eq!(r.audit_kinds().await, ["agent.created", "agent.updated"]);
    r.stop().await;
}

/// Malformed ids and foreign page tokens are INVALID_ARGUMENT; unknown agents NOT_FOUND.
#[tokio::test]
async fn malformed_ids_and_page_tokens_are_refused() {
    let r = RegistryOnly::start().await;
    let status = r
        .registry()
        .get_agent(GetAgentRequest {
            id: "../etc".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = r
        .registry()
        .get_agent(GetAgentRequest {
            id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = r
        .registry()
        .list_agents(ListAgentsRequest {
            page_size: 2,
            page_token: "not-a-token".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    r.stop().await;
}

/// Listing pages through every live agent exactly once with the opaque token.
#[tokio::test]
async fn list_agents_pages_with_an_opaque_token() {
    let r = RegistryOnly::start().await;
    let mut created = Vec::new();
    for i in 0..5 {
        let (_k, jwk) = agent_key("k1");
        let mut req = create_request(&jwk);
        req.name = format!("agent {i}");
        let a = r.registry().create_agent(req).await.unwrap().into_inner();
        created.push(a.agent.unwrap().id);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = r
            .registry()
            .list_agents(ListAgentsRequest {
                page_size: 2,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.agents.len() <= 2);
        seen.extend(page.agents.into_iter().map(|a| a.id));
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(
            uuid::Uuid::parse_str(&page.next_page_token).is_err(),
            "opaque"
        );
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    let mut a = seen.clone();
    a.sort();
    let mut b = created.clone();
    b.sort();
    assert_eq!(a, b, "every agent exactly once");
    r.stop().await;
}
