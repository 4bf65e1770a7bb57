//! The status-list boundary: the issuer's three calls to `crossauthz.status_list.v1.StatusList`
//! (AllocateEntry, SetStatus, GetStatus), converting wire ↔ domain and mapping the service's
//! gRPC failures to [`IssuerError`]. Nothing else in the crate touches these wire types.

use crossauthz_proto::common::{self, CredentialStatus};
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_proto::status_list::{AllocateEntryRequest, GetStatusRequest, SetStatusRequest};
use crossauthz_store::EntryState;
use crossauthz_telemetry::TracedChannel;
use uuid::Uuid;

use crate::IssuerError;
use crate::issue::{Actor, StatusRef};

/// A client of the domain's status-list service.
#[derive(Debug, Clone)]
pub struct StatusListUpstream {
    client: StatusListClient<TracedChannel>,
    status_prefix: String,
}

fn map_status(call: &'static str, status: tonic::Status) -> IssuerError {
    use tonic::Code;
    tracing::warn!(call, code = ?status.code(), message = status.message(), "status-list call failed");
    match status.code() {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::ResourceExhausted
        | Code::Unknown => IssuerError::StatusListUnavailable(call.to_owned()),
        // Our own service writes client-safe messages (e.g. "cannot change status from revoked
        // to suspended").
        Code::FailedPrecondition => IssuerError::StatusChangeRefused(status.message().to_owned()),
        code => IssuerError::StatusListContract(format!("{call}: {code:?}")),
    }
}

fn state_of(status: i32) -> Result<EntryState, IssuerError> {
    match CredentialStatus::try_from(status) {
        Ok(CredentialStatus::Valid) => Ok(EntryState::Valid),
        Ok(CredentialStatus::Revoked) => Ok(EntryState::Revoked),
        Ok(CredentialStatus::Suspended) => Ok(EntryState::Suspended),
        _ => Err(IssuerError::StatusListContract(
            "unknown credential status".to_owned(),
        )),
    }
}

fn wire_state(state: EntryState) -> CredentialStatus {
    match state {
        EntryState::Valid => CredentialStatus::Valid,
        EntryState::Revoked => CredentialStatus::Revoked,
        EntryState::Suspended => CredentialStatus::Suspended,
    }
}

impl StatusListUpstream {
    /// Wraps a client. `status_prefix` is `<public_url>/status/`: every list URL the service
    /// hands out must start with it.
    pub fn new(client: StatusListClient<TracedChannel>, status_prefix: impl Into<String>) -> Self {
        Self {
            client,
            status_prefix: status_prefix.into(),
        }
    }

    fn reference(&self, r: Option<common::StatusReference>) -> Result<StatusRef, IssuerError> {
        let r = r.ok_or_else(|| IssuerError::StatusListContract("no reference".to_owned()))?;
        let list_id = Uuid::parse_str(&r.list_id)
            .map_err(|_| IssuerError::StatusListContract("list id is not a UUID".to_owned()))?;
        let under_prefix = r
            .uri
            .strip_prefix(&self.status_prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(['?', '#']));
        if !under_prefix {
            return Err(IssuerError::StatusListContract(
                "list URI is not under this domain's /status/".to_owned(),
            ));
        }
        Ok(StatusRef {
            list_id,
            index: r.index,
            uri: r.uri,
        })
    }

    /// A fresh entry for `credential_id` (a random index, never handed out before).
    pub async fn allocate(&self, credential_id: Uuid) -> Result<StatusRef, IssuerError> {
        let r = self
            .client
            .clone()
            .allocate_entry(AllocateEntryRequest {
                credential_id: credential_id.to_string(),
            })
            .await
            .map_err(|s| map_status("AllocateEntry", s))?
            .into_inner();
        self.reference(Some(r))
    }

    /// The current state of an entry and its reference.
    pub async fn get_status(
        &self,
        list_id: Uuid,
        index: u64,
    ) -> Result<(EntryState, StatusRef), IssuerError> {
        let e = self
            .client
            .clone()
            .get_status(GetStatusRequest {
                list_id: list_id.to_string(),
                index,
            })
            .await
            .map_err(|s| map_status("GetStatus", s))?
            .into_inner();
        Ok((state_of(e.status)?, self.reference(e.reference)?))
    }

    /// Sets an entry's state; the status-list service commits it before it answers.
    pub async fn set_status(
        &self,
        list_id: Uuid,
        index: u64,
        state: EntryState,
        actor: &Actor,
    ) -> Result<EntryState, IssuerError> {
        let e = self
            .client
            .clone()
            .set_status(SetStatusRequest {
                list_id: list_id.to_string(),
                index,
                status: wire_state(state) as i32,
                actor: Some(common::Actor {
                    subject: actor.subject.clone().unwrap_or_default(),
                    reason: actor.reason.clone().unwrap_or_default(),
                }),
            })
            .await
            .map_err(|s| map_status("SetStatus", s))?
            .into_inner();
        state_of(e.status)
    }
}
