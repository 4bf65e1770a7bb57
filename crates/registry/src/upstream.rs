//! The registry's outbound boundary: calls to the domain's issuer over gRPC, converted to and from
//! domain types here so the rest of the crate knows no wire type of the issuer contract.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crossauthz_proto::common;
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::issuer::{
    ChangeStatusRequest, GetCredentialRequest, IssueCredentialRequest, ListAgentCredentialsRequest,
};
use crossauthz_telemetry::TracedChannel;
use serde_json::{Map, Value};
use tonic::Code;
use uuid::Uuid;

use crate::model::{Actor, CredentialFormat, StatusRef};

/// How the issuer refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// INVALID_ARGUMENT: the input (validity, disclosure pointers, claims) was refused.
    InvalidArgument,
    /// FAILED_PRECONDITION: e.g. the credential is already revoked.
    FailedPrecondition,
    /// NOT_FOUND: the credential is unknown.
    NotFound,
    /// Anything else.
    Other,
}

/// Why a call to the issuer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    /// The issuer could not be reached or did not answer in time.
    #[error("the issuer is unavailable: {0}")]
    Unavailable(String),
    /// The issuer answered with an error.
    #[error("the issuer refused the request: {message}")]
    Refused {
        /// The kind of refusal.
        kind: Refusal,
        /// The issuer's message (written for clients).
        message: String,
    },
    /// The issuer's answer does not make sense (missing field, id that is not a UUID, …).
    #[error("the issuer's answer is malformed: {0}")]
    BadAnswer(&'static str),
}

impl From<tonic::Status> for IssuerError {
    fn from(s: tonic::Status) -> Self {
        let kind = match s.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                return Self::Unavailable(s.message().to_owned());
            }
            Code::InvalidArgument | Code::OutOfRange => Refusal::InvalidArgument,
            Code::FailedPrecondition => Refusal::FailedPrecondition,
            Code::NotFound => Refusal::NotFound,
            _ => Refusal::Other,
        };
        Self::Refused {
            kind,
            message: s.message().to_owned(),
        }
    }
}

/// The current status of a credential at the issuer (the source of truth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerStatus {
    /// Usable.
    Valid,
    /// Revoked (final).
    Revoked,
    /// Suspended.
    Suspended,
    /// The issuer answered a status we do not know: treated as not valid.
    Unknown,
}

/// What to ask the issuer for.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueRequest {
    /// The agent.
    pub agent_id: Uuid,
    /// The agent's client_id (credential subject).
    pub subject: String,
    /// The subject claims.
    pub claims: Map<String, Value>,
    /// The holder key (`cnf.jwk`).
    pub holder_jwk: Value,
    /// Format.
    pub format: CredentialFormat,
    /// Requested validity (0: the issuer's default).
    pub validity_seconds: u64,
    /// Selectively disclosable claims (JSON pointers, SD-JWT only).
    pub disclose: Vec<String>,
    /// Who asked.
    pub actor: Actor,
}

/// A credential the issuer just signed.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    /// Its id.
    pub id: Uuid,
    /// Its format.
    pub format: CredentialFormat,
    /// The compact serialisation.
    pub compact: String,
    /// Start of validity.
    pub valid_from: DateTime<Utc>,
    /// End of validity.
    pub valid_until: DateTime<Utc>,
    /// Where its status lives.
    pub status: Option<StatusRef>,
    /// The signing key (DID URL).
    pub kid: String,
}

fn timestamp(t: Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

fn actor(a: &Actor) -> common::Actor {
    common::Actor {
        subject: a.subject.clone(),
        reason: a.reason.clone().unwrap_or_default(),
    }
}

fn wire_format(f: CredentialFormat) -> common::CredentialFormat {
    match f {
        CredentialFormat::VcJwt => common::CredentialFormat::VcJwt,
        CredentialFormat::DcSdJwt => common::CredentialFormat::DcSdJwt,
    }
}

/// A gRPC client of the domain's issuer.
#[derive(Debug, Clone)]
pub struct IssuerApi {
    client: IssuerClient<TracedChannel>,
}

impl IssuerApi {
    /// Wraps a connected (or lazily connecting) channel to the issuer.
    pub fn new(channel: TracedChannel) -> Self {
        Self {
            client: IssuerClient::new(channel),
        }
    }

    /// Issues a credential.
    pub async fn issue(&self, req: IssueRequest) -> Result<Issued, IssuerError> {
        let wire = IssueCredentialRequest {
            agent_id: req.agent_id.hyphenated().to_string(),
            subject: req.subject,
            claims_json: Value::Object(req.claims).to_string(),
            holder_jwk_json: req.holder_jwk.to_string(),
            format: wire_format(req.format) as i32,
            validity_seconds: req.validity_seconds,
            disclose: req.disclose,
            actor: Some(actor(&req.actor)),
        };
        let c = self
            .client
            .clone()
            .issue_credential(wire)
            .await?
            .into_inner();
        let id = Uuid::parse_str(&c.id).map_err(|_| IssuerError::BadAnswer("credential id"))?;
        let format = match common::CredentialFormat::try_from(c.format) {
            Ok(common::CredentialFormat::VcJwt) => CredentialFormat::VcJwt,
            Ok(common::CredentialFormat::DcSdJwt) => CredentialFormat::DcSdJwt,
            _ => return Err(IssuerError::BadAnswer("credential format")),
        };
        if format != req.format {
            return Err(IssuerError::BadAnswer(
                "credential format differs from the request",
            ));
        }
        if c.credential.is_empty() {
            return Err(IssuerError::BadAnswer("empty credential"));
        }
        let valid_from = timestamp(c.valid_from).ok_or(IssuerError::BadAnswer("valid_from"))?;
        let valid_until = timestamp(c.valid_until).ok_or(IssuerError::BadAnswer("valid_until"))?;
        if valid_until <= valid_from {
            return Err(IssuerError::BadAnswer("empty validity window"));
        }
        Ok(Issued {
            id,
            format,
            compact: c.credential,
            valid_from,
            valid_until,
            status: c.status.map(|s| StatusRef {
                list_id: s.list_id,
                index: s.index,
                uri: s.uri,
            }),
            kid: c.kid,
        })
    }

    /// The current status of every credential the issuer holds for `agent_id`.
    pub async fn statuses(
        &self,
        agent_id: Uuid,
    ) -> Result<HashMap<Uuid, IssuerStatus>, IssuerError> {
        let list = self
            .client
            .clone()
            .list_agent_credentials(ListAgentCredentialsRequest {
                agent_id: agent_id.hyphenated().to_string(),
            })
            .await?
            .into_inner();
        Ok(list
            .credentials
            .into_iter()
            .filter_map(|c| {
                let id = Uuid::parse_str(&c.id).ok()?;
                let status = match common::CredentialStatus::try_from(c.status) {
                    Ok(common::CredentialStatus::Valid) => IssuerStatus::Valid,
                    Ok(common::CredentialStatus::Revoked) => IssuerStatus::Revoked,
                    Ok(common::CredentialStatus::Suspended) => IssuerStatus::Suspended,
                    _ => IssuerStatus::Unknown,
                };
                Some((id, status))
            })
            .collect())
    }

    /// Revokes a credential. Revoking one that is already revoked succeeds.
    pub async fn revoke(&self, id: Uuid, by: &Actor) -> Result<(), IssuerError> {
        let request = ChangeStatusRequest {
            id: id.hyphenated().to_string(),
            actor: Some(actor(by)),
        };
        match self.client.clone().revoke_credential(request).await {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::FailedPrecondition => {
                // Already revoked? Ask, rather than trust the message.
                let info = self
                    .client
                    .clone()
                    .get_credential(GetCredentialRequest {
                        id: id.hyphenated().to_string(),
                    })
                    .await?
                    .into_inner();
                if info.status == common::CredentialStatus::Revoked as i32 {
                    Ok(())
                } else {
                    Err(s.into())
                }
            }
            Err(s) => Err(s.into()),
        }
    }
}
