//! The gRPC boundary: implements `crossauthz.verifier.v1.Verifier`, converts wire ↔ domain, and
//! maps [`VerifierError`] to `tonic::Status` in one table. A denied decision is a normal
//! response (`allowed: false` with a `DenyReason`), not a gRPC error. Internal detail goes to
//! `tracing`, never to the wire.

use chrono::{DateTime, Utc};
use crossauthz_core::strict_json;
use crossauthz_proto::common;
use crossauthz_proto::verifier::verifier_server::{Verifier, VerifierServer};
use crossauthz_proto::verifier::{
    self as wire, AuthenticateClientRequest, ClientAuthentication, ClientLogo, DecideRequest,
    GetClientLogoRequest, GetPoliciesRequest, GetResourcesRequest, GetTrustListRequest,
    PutPoliciesRequest, PutResourcesRequest, PutTrustListRequest, ResolveClientRequest, Resources,
    TrustList,
};
use crossauthz_store::{Resource, StoreError, TrustedIssuer};
use crossauthz_telemetry::TracedServer;
use serde_json::Value;
use tonic::{Request, Response, Status};

use crate::decide::{
    AuthenticateInput, Authentication, CredentialSummary, DecideInput, Decision, Resolution,
    ResolveInput,
};
use crate::error::VerifierError;
use crate::reasons::DenyReason;
use crate::service::VerifierService;

/// The one table from service errors to gRPC statuses.
pub fn to_status(e: VerifierError) -> Status {
    match &e {
        VerifierError::InvalidTrustList(_)
        | VerifierError::InvalidPolicy(_)
        | VerifierError::InvalidResources(_) => Status::invalid_argument(e.to_string()),
        VerifierError::Store(StoreError::Conflict { .. }) => Status::already_exists(e.to_string()),
        VerifierError::Store(StoreError::InvalidInput { .. }) => {
            Status::invalid_argument(e.to_string())
        }
        VerifierError::Store(StoreError::Backend(_)) => {
            tracing::error!(error = %e, "verifier store unavailable");
            Status::unavailable("the verifier store is unavailable; no decision was made")
        }
        VerifierError::Store(_) | VerifierError::Config(_) | VerifierError::Fetcher(_) => {
            tracing::error!(error = %e, "verifier internal error");
            Status::internal("internal error; no decision was made")
        }
    }
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn actor(a: Option<common::Actor>) -> Option<String> {
    a.map(|a| a.subject).filter(|s| !s.is_empty())
}

fn deny(r: DenyReason) -> wire::DenyReason {
    wire::DenyReason {
        code: r.code.to_owned(),
        description: r.description,
        oauth_error: r.oauth_error.as_str().to_owned(),
    }
}

fn credential(c: CredentialSummary) -> wire::VerifiedCredential {
    wire::VerifiedCredential {
        id: c.id.unwrap_or_default(),
        issuer: c.issuer,
        issuer_domain: c.issuer_domain,
        format: c.format.as_str().to_owned(),
        claims_json: c.claims_json.to_string(),
        valid_until: Some(timestamp(c.valid_until)),
    }
}

fn decision(d: Decision) -> wire::Decision {
    wire::Decision {
        allowed: d.allowed,
        granted_scopes: d.granted_scopes,
        deny: d.deny.map(deny),
        credential: d.credential.map(credential),
        policy_ids: d.policy_ids,
        audit_seq: u64::try_from(d.audit_seq).unwrap_or(0),
    }
}

fn resolved(r: Resolution) -> wire::ResolvedClient {
    wire::ResolvedClient {
        ok: r.ok,
        deny: r.deny.map(deny),
        client_name: r.client_name,
        client_host: r.client_host,
        logo_uri: r.logo_uri,
        logo_id: r.logo_id,
        localhost_redirects_only: r.localhost_redirects_only,
        confidential: r.confidential,
        credential: r.credential.map(credential),
    }
}

fn authentication(a: Authentication) -> ClientAuthentication {
    ClientAuthentication {
        authenticated: a.authenticated,
        deny: a.deny.map(deny),
        confidential: a.confidential,
        credential: a.credential.map(credential),
        audit_seq: u64::try_from(a.audit_seq).unwrap_or(0),
    }
}

fn trust_list(issuers: Vec<TrustedIssuer>) -> TrustList {
    TrustList {
        issuers: issuers
            .into_iter()
            .map(|t| wire::TrustedIssuer {
                issuer: t.issuer,
                credential_types: t.credential_types,
                issuer_domains: t.issuer_domains,
            })
            .collect(),
    }
}

fn resources(list: Vec<Resource>) -> Resources {
    Resources {
        resources: list
            .into_iter()
            .map(|r| wire::Resource {
                resource: r.resource,
                scopes: r.scopes,
                attributes_json: r.attributes.to_string(),
            })
            .collect(),
    }
}

fn resource_from_wire(i: usize, r: wire::Resource) -> Result<Resource, Status> {
    let attributes = if r.attributes_json.trim().is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        strict_json::from_slice(r.attributes_json.as_bytes()).map_err(|e| {
            Status::invalid_argument(format!("resources[{i}]: attributes_json is not JSON: {e}"))
        })?
    };
    Ok(Resource {
        resource: r.resource,
        scopes: r.scopes,
        attributes,
    })
}

fn policy_set(p: Option<crossauthz_store::PolicySet>) -> wire::PolicySet {
    match p {
        None => wire::PolicySet::default(),
        Some(p) => wire::PolicySet {
            policies: p.source,
            version: u32::try_from(p.version).unwrap_or(u32::MAX),
            updated_at: Some(timestamp(p.created_at)),
        },
    }
}

impl VerifierService {
    /// The tonic server of this service, each request in a server span whose parent is the
    /// caller's trace context (`service` = `verifier`, `domain` = the issuer it decides for).
    pub fn grpc_server(self) -> TracedServer<VerifierServer<Self>> {
        let domain = self.config().issuer.clone();
        TracedServer::new(VerifierServer::new(self), "verifier", &domain)
    }
}

#[tonic::async_trait]
impl Verifier for VerifierService {
    async fn decide(
        &self,
        request: Request<DecideRequest>,
    ) -> Result<Response<wire::Decision>, Status> {
        let r = request.into_inner();
        let input = DecideInput {
            client_id: r.client_id,
            client_assertion: r.client_assertion,
            client_assertion_type: r.client_assertion_type,
            grant_type: r.grant_type,
            requested_scopes: r.requested_scopes,
            resource: r.resource,
            presentation: r.presentation,
            presentation_nonce: r.presentation_nonce,
            original_scopes: r.original_scopes,
        };
        VerifierService::decide(self, input)
            .await
            .map(|d| Response::new(decision(d)))
            .map_err(to_status)
    }

    async fn resolve_client(
        &self,
        request: Request<ResolveClientRequest>,
    ) -> Result<Response<wire::ResolvedClient>, Status> {
        let r = request.into_inner();
        VerifierService::resolve_client(
            self,
            ResolveInput {
                client_id: r.client_id,
                redirect_uri: r.redirect_uri,
            },
        )
        .await
        .map(|r| Response::new(resolved(r)))
        .map_err(to_status)
    }

    async fn authenticate_client(
        &self,
        request: Request<AuthenticateClientRequest>,
    ) -> Result<Response<ClientAuthentication>, Status> {
        let r = request.into_inner();
        VerifierService::authenticate_client(
            self,
            AuthenticateInput {
                client_id: r.client_id,
                client_assertion: r.client_assertion,
                client_assertion_type: r.client_assertion_type,
                allow_public: r.allow_public,
                purpose: r.purpose,
            },
        )
        .await
        .map(|a| Response::new(authentication(a)))
        .map_err(to_status)
    }

    async fn get_client_logo(
        &self,
        request: Request<GetClientLogoRequest>,
    ) -> Result<Response<ClientLogo>, Status> {
        let r = request.into_inner();
        match VerifierService::client_logo(self, &r.client_id, &r.logo_id).await {
            Some(logo) => Ok(Response::new(ClientLogo {
                content_type: logo.content_type.to_owned(),
                data: logo.data.to_vec(),
            })),
            None => Err(Status::not_found("no such logo is cached")),
        }
    }

    async fn get_trust_list(
        &self,
        _request: Request<GetTrustListRequest>,
    ) -> Result<Response<TrustList>, Status> {
        VerifierService::trust_list(self)
            .await
            .map(|t| Response::new(trust_list(t)))
            .map_err(to_status)
    }

    async fn put_trust_list(
        &self,
        request: Request<PutTrustListRequest>,
    ) -> Result<Response<TrustList>, Status> {
        let r = request.into_inner();
        let issuers = r
            .issuers
            .into_iter()
            .map(|t| TrustedIssuer {
                issuer: t.issuer,
                credential_types: t.credential_types,
                issuer_domains: t.issuer_domains,
            })
            .collect();
        VerifierService::put_trust_list(self, issuers, actor(r.actor).as_deref())
            .await
            .map(|t| Response::new(trust_list(t)))
            .map_err(to_status)
    }

    async fn get_policies(
        &self,
        _request: Request<GetPoliciesRequest>,
    ) -> Result<Response<wire::PolicySet>, Status> {
        VerifierService::policies(self)
            .await
            .map(|p| Response::new(policy_set(p)))
            .map_err(to_status)
    }

    async fn put_policies(
        &self,
        request: Request<PutPoliciesRequest>,
    ) -> Result<Response<wire::PolicySet>, Status> {
        let r = request.into_inner();
        VerifierService::put_policies(self, &r.policies, actor(r.actor).as_deref())
            .await
            .map(|p| Response::new(policy_set(Some(p))))
            .map_err(to_status)
    }

    async fn get_resources(
        &self,
        _request: Request<GetResourcesRequest>,
    ) -> Result<Response<Resources>, Status> {
        VerifierService::resources(self)
            .await
            .map(|r| Response::new(resources(r)))
            .map_err(to_status)
    }

    async fn put_resources(
        &self,
        request: Request<PutResourcesRequest>,
    ) -> Result<Response<Resources>, Status> {
        let r = request.into_inner();
        let list = r
            .resources
            .into_iter()
            .enumerate()
            .map(|(i, res)| resource_from_wire(i, res))
            .collect::<Result<Vec<_>, _>>()?;
        VerifierService::put_resources(self, list, actor(r.actor).as_deref())
            .await
            .map(|r| Response::new(resources(r)))
            .map_err(to_status)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn error_table_maps_refused_input_to_invalid_argument() {
        for e in [
            VerifierError::InvalidPolicy("Cedar: x".into()),
            VerifierError::InvalidTrustList("x".into()),
            VerifierError::InvalidResources("x".into()),
        ] {
            assert_eq!(to_status(e).code(), tonic::Code::InvalidArgument);
        }
        let s = to_status(VerifierError::Store(StoreError::Corrupt {
            what: "secret detail".into(),
        }));
        assert_eq!(s.code(), tonic::Code::Internal);
        assert!(!s.message().contains("secret detail"));
    }

    #[test]
    fn resource_attributes_must_be_json() {
        let bad = wire::Resource {
            resource: "https://a.test/m".into(),
            scopes: vec![],
            attributes_json: "{".into(),
        };
        assert_eq!(
            resource_from_wire(0, bad).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        let empty = wire::Resource {
            resource: "https://a.test/m".into(),
            scopes: vec![],
            attributes_json: String::new(),
        };
        assert!(resource_from_wire(0, empty).unwrap().attributes.is_object());
    }
}
