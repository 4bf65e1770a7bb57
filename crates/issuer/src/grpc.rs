//! The gRPC boundary: implements `crossauthz.issuer.v1.Issuer`, converts wire ↔ domain, and maps
//! [`IssuerError`] to `tonic::Status` in one table ([`to_status`]). Client errors carry the
//! domain message (written to be safe); internal detail goes to `tracing`, never to the wire.

use chrono::{DateTime, Utc};
use crossauthz_credentials::keys::Algorithm;
use crossauthz_proto::common::{self, CredentialFormat, CredentialStatus, ListFormat};
use crossauthz_proto::issuer::issuer_server::{Issuer, IssuerServer};
use crossauthz_proto::issuer::{
    ChangeStatusRequest, Credential, CredentialInfo, GetCredentialRequest, GetPublicKeysRequest,
    IssueCredentialRequest, KeyAlgorithm, KeyInfo, ListAgentCredentialsRequest,
    ListAgentCredentialsResponse, PublicKeys, RotateKeyRequest, SignAccessTokenRequest,
    SignAuditCheckpointRequest, SignStatusListRequest, SignedAccessToken, SignedAuditCheckpoint,
    SignedStatusList,
};
use crossauthz_store::{EntryState, StoreError};
use crossauthz_telemetry::TracedServer;
use tonic::{Request, Response, Status};

use crate::IssuerError;
use crate::access_token::AccessTokenRequest;
use crate::custody::CustodyError;
use crate::issue::{Actor, Format, IssueRequest, StatusRef};
use crate::service::{CredentialView, IssuerService, KeyView, StatusChange};
use crate::status_signing::ListKind;

/// The one table from domain errors to gRPC statuses.
pub fn to_status(e: IssuerError) -> Status {
    use IssuerError as E;
    match &e {
        E::MalformedId { .. }
        | E::FormatUnspecified
        | E::InvalidSubject(_)
        | E::ClaimsNotAnObject
        | E::InvalidClaims(_)
        | E::IssuerDomainMismatch { .. }
        | E::InvalidHolderKey(_)
        | E::ValidityTooLong { .. }
        | E::DisclosureNotSupported
        | E::InvalidPointer(_)
        | E::PointerNotFound(_)
        | E::DuplicatePointer(_)
        | E::NotDisclosable(_)
        | E::ReservedClaimName(_)
        | E::ListFormatUnspecified
        | E::NotAStatusList(_)
        | E::ForeignStatusListUrl(_)
        | E::ListLifetimeTooLong { .. }
        | E::UnknownAlgorithm
        | E::AccessTokenAudience(_)
        | E::AccessTokenScope(_)
        | E::AccessTokenClaim(_)
        | E::AccessTokenLifetimeTooLong { .. }
        | E::CheckpointRequest(_) => Status::invalid_argument(e.to_string()),
        E::CredentialNotFound(_) | E::CheckpointEventNotFound(_) => {
            Status::not_found(e.to_string())
        }
        E::CheckpointHashMismatch(_) => Status::failed_precondition(e.to_string()),
        E::InvalidTransition { .. } | E::StatusChangeRefused(_) => {
            Status::failed_precondition(e.to_string())
        }
        E::StatusListUnavailable(_) => {
            tracing::warn!(error = %e, "status-list unavailable");
            Status::unavailable("the status-list service is unavailable; nothing was changed")
        }
        E::Store(StoreError::Backend(_))
        | E::Custody(CustodyError::Store(StoreError::Backend(_))) => {
            tracing::error!(error = %e, "issuer store unavailable");
            Status::unavailable("the issuer store is unavailable")
        }
        E::AuditFailed(_) => {
            tracing::error!(error = %e, "audit append failed after a durable change");
            Status::internal("the change was applied but could not be audited")
        }
        E::StatusListContract(_) | E::Store(_) | E::Custody(_) | E::Signing(_) => {
            tracing::error!(error = %e, "issuer internal error");
            Status::internal("internal error")
        }
    }
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn actor(a: Option<common::Actor>) -> Actor {
    let a = a.unwrap_or_default();
    Actor {
        subject: Some(a.subject).filter(|s| !s.is_empty()),
        reason: Some(a.reason).filter(|s| !s.is_empty()),
    }
}

fn wire_format(f: Format) -> CredentialFormat {
    match f {
        Format::VcJwt => CredentialFormat::VcJwt,
        Format::DcSdJwt => CredentialFormat::DcSdJwt,
    }
}

fn wire_status(s: EntryState) -> CredentialStatus {
    match s {
        EntryState::Valid => CredentialStatus::Valid,
        EntryState::Revoked => CredentialStatus::Revoked,
        EntryState::Suspended => CredentialStatus::Suspended,
    }
}

fn wire_algorithm(a: Algorithm) -> KeyAlgorithm {
    match a {
        Algorithm::EdDSA => KeyAlgorithm::Eddsa,
        Algorithm::ES256 => KeyAlgorithm::Es256,
    }
}

fn reference(r: StatusRef) -> common::StatusReference {
    common::StatusReference {
        list_id: r.list_id.to_string(),
        index: r.index,
        uri: r.uri,
    }
}

fn info(v: CredentialView) -> CredentialInfo {
    CredentialInfo {
        id: v.id.to_string(),
        agent_id: v.agent_id.to_string(),
        subject: v.subject,
        format: wire_format(v.format) as i32,
        status: wire_status(v.status) as i32,
        status_reference: Some(reference(v.status_ref)),
        issued_at: Some(timestamp(v.issued_at)),
        valid_until: Some(timestamp(v.valid_until)),
        kid: v.kid,
    }
}

fn key_info(k: KeyView) -> KeyInfo {
    KeyInfo {
        kid: k.kid,
        algorithm: wire_algorithm(k.algorithm) as i32,
        public_jwk_json: k.public_jwk.to_string(),
        created_at: Some(timestamp(k.created_at)),
        retired_at: k.retired_at.map(timestamp),
        publish_until: k.publish_until.map(timestamp),
    }
}

impl IssuerService {
    /// The tonic server of `crossauthz.issuer.v1.Issuer`, each request in a server span whose
    /// parent is the caller's trace context (`service` = `issuer`, `domain` = the public URL).
    pub fn grpc_server(self) -> TracedServer<IssuerServer<Self>> {
        let domain = self.identity().base_url.clone();
        TracedServer::new(IssuerServer::new(self), "issuer", &domain)
    }
}

#[tonic::async_trait]
impl Issuer for IssuerService {
    async fn issue_credential(
        &self,
        request: Request<IssueCredentialRequest>,
    ) -> Result<Response<Credential>, Status> {
        let r = request.into_inner();
        let format = match CredentialFormat::try_from(r.format) {
            Ok(CredentialFormat::VcJwt) => Some(Format::VcJwt),
            Ok(CredentialFormat::DcSdJwt) => Some(Format::DcSdJwt),
            _ => None,
        };
        let issued = self
            .issue(IssueRequest {
                agent_id: r.agent_id,
                subject: r.subject,
                claims_json: r.claims_json,
                holder_jwk_json: r.holder_jwk_json,
                format,
                validity_seconds: r.validity_seconds,
                disclose: r.disclose,
                actor: actor(r.actor),
            })
            .await
            .map_err(to_status)?;
        Ok(Response::new(Credential {
            id: issued.id.to_string(),
            format: wire_format(issued.format) as i32,
            credential: issued.credential,
            valid_from: Some(timestamp(issued.valid_from)),
            valid_until: Some(timestamp(issued.valid_until)),
            status: Some(reference(issued.status)),
            kid: issued.kid,
        }))
    }

    async fn get_credential(
        &self,
        request: Request<GetCredentialRequest>,
    ) -> Result<Response<CredentialInfo>, Status> {
        let v = self
            .get(&request.into_inner().id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(info(v)))
    }

    async fn list_agent_credentials(
        &self,
        request: Request<ListAgentCredentialsRequest>,
    ) -> Result<Response<ListAgentCredentialsResponse>, Status> {
        let list = self
            .list_for_agent(&request.into_inner().agent_id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(ListAgentCredentialsResponse {
            credentials: list.into_iter().map(info).collect(),
        }))
    }

    async fn revoke_credential(
        &self,
        request: Request<ChangeStatusRequest>,
    ) -> Result<Response<CredentialInfo>, Status> {
        let r = request.into_inner();
        let v = self
            .change_status(&r.id, StatusChange::Revoke, &actor(r.actor))
            .await
            .map_err(to_status)?;
        Ok(Response::new(info(v)))
    }

    async fn suspend_credential(
        &self,
        request: Request<ChangeStatusRequest>,
    ) -> Result<Response<CredentialInfo>, Status> {
        let r = request.into_inner();
        let v = self
            .change_status(&r.id, StatusChange::Suspend, &actor(r.actor))
            .await
            .map_err(to_status)?;
        Ok(Response::new(info(v)))
    }

    async fn unsuspend_credential(
        &self,
        request: Request<ChangeStatusRequest>,
    ) -> Result<Response<CredentialInfo>, Status> {
        let r = request.into_inner();
        let v = self
            .change_status(&r.id, StatusChange::Unsuspend, &actor(r.actor))
            .await
            .map_err(to_status)?;
        Ok(Response::new(info(v)))
    }

    async fn rotate_key(
        &self,
        request: Request<RotateKeyRequest>,
    ) -> Result<Response<KeyInfo>, Status> {
        let r = request.into_inner();
        let alg = match KeyAlgorithm::try_from(r.algorithm) {
            Ok(KeyAlgorithm::Unspecified) => None,
            Ok(KeyAlgorithm::Eddsa) => Some(Algorithm::EdDSA),
            Ok(KeyAlgorithm::Es256) => Some(Algorithm::ES256),
            Err(_) => return Err(to_status(IssuerError::UnknownAlgorithm)),
        };
        let k = IssuerService::rotate_key(self, alg, &actor(r.actor))
            .await
            .map_err(to_status)?;
        Ok(Response::new(key_info(k)))
    }

    async fn sign_status_list(
        &self,
        request: Request<SignStatusListRequest>,
    ) -> Result<Response<SignedStatusList>, Status> {
        let r = request.into_inner();
        let kind = match ListFormat::try_from(r.format) {
            Ok(ListFormat::TokenStatusList) => ListKind::TokenStatusList,
            Ok(ListFormat::BitstringStatusList) => ListKind::Bitstring,
            _ => return Err(to_status(IssuerError::ListFormatUnspecified)),
        };
        let signed =
            IssuerService::sign_status_list(self, kind, &r.payload_json, r.lifetime_seconds)
                .await
                .map_err(to_status)?;
        Ok(Response::new(SignedStatusList {
            jws: signed.jws,
            expires_at: Some(timestamp(signed.expires_at)),
            kid: signed.kid,
        }))
    }

    async fn sign_access_token(
        &self,
        request: Request<SignAccessTokenRequest>,
    ) -> Result<Response<SignedAccessToken>, Status> {
        let r = request.into_inner();
        let signed = IssuerService::sign_access_token(
            self,
            &AccessTokenRequest {
                audience: r.audience,
                client_id: r.client_id,
                scopes: r.scopes,
                subject: r.subject,
                credential_id: r.credential_id,
                issuer_domain: r.issuer_domain,
                lifetime_seconds: r.lifetime_seconds,
            },
        )
        .await
        .map_err(to_status)?;
        Ok(Response::new(SignedAccessToken {
            access_token: signed.access_token,
            jti: signed.jti,
            issued_at: Some(timestamp(signed.issued_at)),
            expires_at: Some(timestamp(signed.expires_at)),
            kid: signed.kid,
        }))
    }

    async fn sign_audit_checkpoint(
        &self,
        request: Request<SignAuditCheckpointRequest>,
    ) -> Result<Response<SignedAuditCheckpoint>, Status> {
        let r = request.into_inner();
        let c = IssuerService::sign_audit_checkpoint(self, r.seq, &r.expected_hash)
            .await
            .map_err(to_status)?;
        Ok(Response::new(SignedAuditCheckpoint {
            jws: c.jws,
            kid: c.kid,
            signed_at: Some(timestamp(c.signed_at)),
            event_at: Some(timestamp(c.event_at)),
            seq: r.seq,
            hash: c.hash.to_vec(),
        }))
    }

    async fn get_public_keys(
        &self,
        _request: Request<GetPublicKeysRequest>,
    ) -> Result<Response<PublicKeys>, Status> {
        let docs = self.public_keys().await.map_err(to_status)?;
        Ok(Response::new(PublicKeys {
            did_document_json: docs.did_document.to_string(),
            jwks_json: docs.jwks.to_string(),
            jwt_vc_issuer_json: docs.jwt_vc_issuer.to_string(),
            keys: docs.keys.into_iter().map(key_info).collect(),
        }))
    }
}
