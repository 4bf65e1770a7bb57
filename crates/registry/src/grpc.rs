//! The gRPC boundary: `crossauthz.registry.v1.Registry` on [`RegistryService`], converting wire
//! messages to domain types and back, and mapping [`RegistryError`] to `tonic::Status` in one
//! table ([`to_status`]). Internal detail (store and upstream failures) goes to `tracing`, never
//! to the wire.

use chrono::{DateTime, Utc};
use crossauthz_proto::common;
use crossauthz_proto::registry as pb;
use crossauthz_proto::registry::registry_server::{Registry, RegistryServer};
use crossauthz_store::StoreError;
use crossauthz_telemetry::TracedServer;
use serde_json::Value;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request, Response, Status};

use crate::agent::HolderKeyError;
use crate::error::RegistryError;
use crate::model::{
    Actor, AgentView, CreateAgent, CredentialFormat, CredentialOptions, CredentialView,
    DcrClientView, StatusRef, UpdateAgent,
};
use crate::service::{RegistryService, parse_agent_id};
use crate::upstream::{IssuerError, Refusal};

/// The gRPC metadata entry that carries the RFC 7591 error code of a refused registration.
pub const OAUTH_ERROR_METADATA: &str = "oauth-error";

/// The one table from [`RegistryError`] to a gRPC status.
pub fn to_status(e: RegistryError) -> Status {
    match e {
        RegistryError::Input(_)
        | RegistryError::InvalidId { .. }
        | RegistryError::InvalidPageToken
        | RegistryError::UnsupportedFormat
        | RegistryError::DiscloseWithoutSdJwt
        | RegistryError::CredentialTooLarge { .. }
        | RegistryError::HolderKey(HolderKeyError::UnknownKid(_)) => {
            Status::invalid_argument(e.to_string())
        }
        RegistryError::HolderKey(HolderKeyError::NoInlineKeys) => {
            Status::failed_precondition(e.to_string())
        }
        RegistryError::AgentNotFound(_) => Status::not_found(e.to_string()),
        RegistryError::VersionConflict { .. } => Status::aborted(e.to_string()),
        RegistryError::Dcr(ref d) => {
            let mut status = Status::invalid_argument(e.to_string());
            status.metadata_mut().insert(
                OAUTH_ERROR_METADATA,
                MetadataValue::from_static(d.code().as_str()),
            );
            status
        }
        RegistryError::DcrUnauthorized => Status::unauthenticated(e.to_string()),
        RegistryError::Issuer(IssuerError::Unavailable(detail)) => {
            tracing::warn!(%detail, "issuer unavailable");
            Status::unavailable("the issuer is unavailable; try again later")
        }
        RegistryError::Issuer(IssuerError::Refused { kind, message }) => match kind {
            // The issuer's own messages are written for clients.
            Refusal::InvalidArgument => Status::invalid_argument(message),
            Refusal::FailedPrecondition => Status::failed_precondition(message),
            Refusal::NotFound | Refusal::Other => {
                tracing::error!(%message, ?kind, "issuer refused a registry request");
                Status::internal("the issuer could not complete the request")
            }
        },
        RegistryError::Issuer(IssuerError::BadAnswer(what)) => {
            tracing::error!(what, "malformed answer from the issuer");
            Status::internal("the issuer could not complete the request")
        }
        RegistryError::Store(ref s) => {
            tracing::error!(error = %s, "registry store failure");
            match s {
                StoreError::Backend(_) => Status::unavailable("the registry store is unavailable"),
                StoreError::Conflict { .. } => Status::aborted("conflicting change; try again"),
                _ => Status::internal("the registry could not complete the request"),
            }
        }
        RegistryError::Corrupt(detail) => {
            tracing::error!(%detail, "corrupt registry data");
            Status::internal("the registry could not complete the request")
        }
        RegistryError::Audit(s) => {
            tracing::error!(error = %s, "audit append failed");
            Status::internal("the change was applied but could not be recorded in the audit log")
        }
    }
}

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn actor(a: Option<common::Actor>) -> Actor {
    let a = a.unwrap_or_default();
    Actor {
        subject: a.subject,
        reason: Some(a.reason).filter(|r| !r.is_empty()),
    }
}

fn format_from_wire(f: i32) -> Result<CredentialFormat, RegistryError> {
    match common::CredentialFormat::try_from(f) {
        // Unspecified: the format the hosted document carries.
        Ok(common::CredentialFormat::Unspecified | common::CredentialFormat::VcJwt) => {
            Ok(CredentialFormat::VcJwt)
        }
        Ok(common::CredentialFormat::DcSdJwt) => Ok(CredentialFormat::DcSdJwt),
        Err(_) => Err(RegistryError::UnsupportedFormat),
    }
}

fn format_to_wire(f: CredentialFormat) -> i32 {
    match f {
        CredentialFormat::VcJwt => common::CredentialFormat::VcJwt as i32,
        CredentialFormat::DcSdJwt => common::CredentialFormat::DcSdJwt as i32,
    }
}

fn options(o: Option<pb::CredentialOptions>) -> Result<CredentialOptions, RegistryError> {
    let o = o.unwrap_or_default();
    Ok(CredentialOptions {
        format: format_from_wire(o.format)?,
        validity_seconds: o.validity_seconds,
        disclose: o.disclose,
        holder_kid: Some(o.holder_kid).filter(|k| !k.is_empty()),
    })
}

fn agent(v: AgentView) -> pb::Agent {
    let m = v.metadata;
    pb::Agent {
        id: v.id.hyphenated().to_string(),
        client_id: m.client_id,
        name: m.name,
        agent_type: m.agent_type,
        jwks_json: m.jwks.map(|j| j.to_string()).unwrap_or_default(),
        jwks_uri: m.jwks_uri.unwrap_or_default(),
        redirect_uris: m.redirect_uris,
        grant_types: m.grant_types,
        claims_json: Value::Object(m.claims).to_string(),
        version: v.version,
        created_at: Some(ts(v.created_at)),
        updated_at: Some(ts(v.updated_at)),
    }
}

fn status_ref(s: StatusRef) -> common::StatusReference {
    common::StatusReference {
        list_id: s.list_id,
        index: s.index,
        uri: s.uri,
    }
}

fn credential(c: CredentialView) -> pb::IssuedCredential {
    pb::IssuedCredential {
        id: c.id.hyphenated().to_string(),
        format: format_to_wire(c.format),
        credential: c.compact,
        valid_from: Some(ts(c.valid_from)),
        valid_until: Some(ts(c.valid_until)),
        status: c.status.map(status_ref),
    }
}

fn client(c: DcrClientView) -> pb::RegisteredClient {
    pb::RegisteredClient {
        client_id: c.client_id,
        metadata_json: Value::Object(c.metadata).to_string(),
        registration_access_token: c.registration_access_token.unwrap_or_default(),
        registration_client_uri: c.registration_client_uri,
        client_id_issued_at: Some(ts(c.issued_at)),
    }
}

fn opt(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl RegistryService {
    /// The tonic server of this service, each request in a server span whose parent is the
    /// caller's trace context (`service` = `registry`, `domain` = the public URL).
    pub fn grpc_server(self) -> TracedServer<RegistryServer<Self>> {
        let domain = self.config().public_url.clone();
        TracedServer::new(RegistryServer::new(self), "registry", domain.as_str())
    }
}

type GrpcResult<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Registry for RegistryService {
    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> GrpcResult<pb::CreateAgentResponse> {
        let r = request.into_inner();
        let issue_credential = match r.issue_credential {
            Some(o) => Some(options(Some(o)).map_err(to_status)?),
            None => None,
        };
        let created = RegistryService::create_agent(
            self,
            CreateAgent {
                name: r.name,
                agent_type: r.agent_type,
                jwks_json: opt(Some(r.jwks_json)),
                jwks_uri: opt(Some(r.jwks_uri)),
                redirect_uris: r.redirect_uris,
                grant_types: r.grant_types,
                claims_json: r.claims_json,
                issue_credential,
                actor: actor(r.actor),
            },
        )
        .await
        .map_err(to_status)?;
        Ok(Response::new(pb::CreateAgentResponse {
            agent: Some(agent(created.agent)),
            credential: created.credential.map(credential),
        }))
    }

    async fn get_agent(&self, request: Request<pb::GetAgentRequest>) -> GrpcResult<pb::Agent> {
        let id = parse_agent_id(&request.into_inner().id).map_err(to_status)?;
        let v = RegistryService::get_agent(self, id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(agent(v)))
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> GrpcResult<pb::ListAgentsResponse> {
        let r = request.into_inner();
        let list = RegistryService::list_agents(self, r.page_size, &r.page_token)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListAgentsResponse {
            agents: list.agents.into_iter().map(agent).collect(),
            next_page_token: list.next_page_token.unwrap_or_default(),
        }))
    }

    async fn update_agent(
        &self,
        request: Request<pb::UpdateAgentRequest>,
    ) -> GrpcResult<pb::Agent> {
        let r = request.into_inner();
        let id = parse_agent_id(&r.id).map_err(to_status)?;
        let changes = UpdateAgent {
            name: r.name,
            jwks_json: r.jwks_json,
            jwks_uri: r.jwks_uri,
            redirect_uris: r.replace_redirect_uris.then_some(r.redirect_uris),
            grant_types: r.replace_grant_types.then_some(r.grant_types),
            claims_json: r.claims_json,
            expected_version: Some(r.expected_version).filter(|v| *v != 0),
            actor: actor(r.actor),
        };
        let v = RegistryService::update_agent(self, id, changes)
            .await
            .map_err(to_status)?;
        Ok(Response::new(agent(v)))
    }

    async fn delete_agent(
        &self,
        request: Request<pb::DeleteAgentRequest>,
    ) -> GrpcResult<pb::DeleteAgentResponse> {
        let r = request.into_inner();
        let id = parse_agent_id(&r.id).map_err(to_status)?;
        let revoked = RegistryService::delete_agent(self, id, &actor(r.actor))
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::DeleteAgentResponse {
            revoked_credential_ids: revoked.iter().map(|i| i.hyphenated().to_string()).collect(),
        }))
    }

    async fn get_agent_history(
        &self,
        request: Request<pb::GetAgentHistoryRequest>,
    ) -> GrpcResult<pb::GetAgentHistoryResponse> {
        let id = parse_agent_id(&request.into_inner().id).map_err(to_status)?;
        let versions = self.history(id).await.map_err(to_status)?;
        Ok(Response::new(pb::GetAgentHistoryResponse {
            versions: versions
                .into_iter()
                .map(|v| pb::AgentVersion {
                    version: v.version,
                    document_json: v.document.to_string(),
                    created_at: Some(ts(v.created_at)),
                })
                .collect(),
        }))
    }

    async fn issue_agent_credential(
        &self,
        request: Request<pb::IssueAgentCredentialRequest>,
    ) -> GrpcResult<pb::IssuedCredential> {
        let r = request.into_inner();
        let id = parse_agent_id(&r.agent_id).map_err(to_status)?;
        let o = options(r.options).map_err(to_status)?;
        let c = RegistryService::issue_agent_credential(self, id, &o, &actor(r.actor))
            .await
            .map_err(to_status)?;
        Ok(Response::new(credential(c)))
    }

    async fn get_client_metadata(
        &self,
        request: Request<pb::GetClientMetadataRequest>,
    ) -> GrpcResult<pb::ClientMetadata> {
        let id = parse_agent_id(&request.into_inner().agent_id).map_err(to_status)?;
        let doc = self.client_metadata(id).await.map_err(to_status)?;
        let document_json = String::from_utf8(doc.bytes).map_err(|_| {
            to_status(RegistryError::Corrupt(
                "hosted document is not UTF-8".into(),
            ))
        })?;
        Ok(Response::new(pb::ClientMetadata {
            document_json,
            etag: doc.etag,
            version: doc.version,
            last_modified: Some(ts(doc.last_modified)),
            cache_max_age_seconds: doc.max_age_seconds,
        }))
    }

    async fn register_client(
        &self,
        request: Request<pb::RegisterClientRequest>,
    ) -> GrpcResult<pb::RegisteredClient> {
        let c = RegistryService::register_client(self, &request.into_inner().metadata_json)
            .await
            .map_err(to_status)?;
        Ok(Response::new(client(c)))
    }

    async fn get_client(
        &self,
        request: Request<pb::ClientAccessRequest>,
    ) -> GrpcResult<pb::RegisteredClient> {
        let r = request.into_inner();
        let c = RegistryService::get_client(self, &r.client_id, &r.registration_access_token)
            .await
            .map_err(to_status)?;
        Ok(Response::new(client(c)))
    }

    async fn update_client(
        &self,
        request: Request<pb::UpdateClientRequest>,
    ) -> GrpcResult<pb::RegisteredClient> {
        let r = request.into_inner();
        let c = RegistryService::update_client(
            self,
            &r.client_id,
            &r.registration_access_token,
            &r.metadata_json,
        )
        .await
        .map_err(to_status)?;
        Ok(Response::new(client(c)))
    }

    async fn delete_client(
        &self,
        request: Request<pb::ClientAccessRequest>,
    ) -> GrpcResult<pb::DeleteClientResponse> {
        let r = request.into_inner();
        RegistryService::delete_client(self, &r.client_id, &r.registration_access_token)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::DeleteClientResponse {}))
    }
}

/// True if `status` is the mapping of a refused registration and names its RFC 7591 code.
pub fn oauth_error_of(status: &Status) -> Option<&str> {
    if status.code() != Code::InvalidArgument {
        return None;
    }
    status
        .metadata()
        .get(OAUTH_ERROR_METADATA)
        .and_then(|v| v.to_str().ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::agent::AgentInputError;
    use crate::dcr::DcrError;

    #[test]
    fn error_table_maps_each_kind_to_its_code() {
        let cases: Vec<(RegistryError, Code)> = vec![
            (AgentInputError::MissingKeys.into(), Code::InvalidArgument),
            (
                RegistryError::AgentNotFound(uuid::Uuid::nil()),
                Code::NotFound,
            ),
            (
                RegistryError::VersionConflict {
                    id: uuid::Uuid::nil(),
                    expected: 1,
                },
                Code::Aborted,
            ),
            (RegistryError::DcrUnauthorized, Code::Unauthenticated),
            (
                RegistryError::HolderKey(HolderKeyError::NoInlineKeys),
                Code::FailedPrecondition,
            ),
            (
                IssuerError::Unavailable("connection refused 10.0.0.1".into()).into(),
                Code::Unavailable,
            ),
            (RegistryError::Corrupt("row 7".into()), Code::Internal),
        ];
        for (e, code) in cases {
            let s = to_status(e);
            assert_eq!(s.code(), code);
            assert!(!s.message().contains("10.0.0.1") && !s.message().contains("row 7"));
        }
    }

    #[test]
    fn d1_refused_registration_carries_its_oauth_error_code() {
        let s = to_status(DcrError::MissingRedirectUris.into());
        assert_eq!(oauth_error_of(&s), Some("invalid_redirect_uri"));
        let s = to_status(DcrError::SecretMember("client_secret").into());
        assert_eq!(oauth_error_of(&s), Some("invalid_client_metadata"));
    }
}
