//! The gRPC boundary: implements `crossauthz.status_list.v1.StatusList`, converts wire ↔ domain,
//! and maps [`StatusListError`] to `tonic::Status` in one table. Internal detail goes to
//! `tracing`, never to the wire.

use chrono::{DateTime, Utc};
use crossauthz_proto::common::{self, CredentialStatus, ListFormat};
use crossauthz_proto::status_list::status_list_server::StatusList;
use crossauthz_proto::status_list::{
    AllocateEntryRequest, GetPublishedListRequest, GetStatusRequest, PublishedList,
    SetStatusRequest, StatusEntry,
};
use crossauthz_store::{EntryState, StoreError};
use tonic::{Request, Response, Status};

use crate::model::{
    Actor, BitstringPurpose, EntryStatus, PublishedFormat, StatusReference, parse_credential_id,
    parse_list_id,
};
use crate::{StatusListError, StatusListService};

/// The one table from domain errors to gRPC statuses.
pub fn to_status(e: StatusListError) -> Status {
    use StatusListError as E;
    match &e {
        E::MalformedListId
        | E::MalformedCredentialId
        | E::StatusUnspecified
        | E::FormatUnspecified
        | E::UnsupportedPurpose(_) => Status::invalid_argument(e.to_string()),
        E::ListNotFound | E::EntryNotFound => Status::not_found(e.to_string()),
        E::IndexOutOfRange { .. } => Status::out_of_range(e.to_string()),
        E::InvalidTransition { .. } => Status::failed_precondition(e.to_string()),
        E::SignerUnavailable(_) => {
            tracing::warn!(error = %e, "status list signing unavailable");
            Status::unavailable("the issuer is unavailable")
        }
        E::AllocationExhausted => {
            tracing::error!(error = %e, "allocation failed");
            Status::unavailable("no status entry could be allocated; retry")
        }
        E::Store(StoreError::Backend(_)) => {
            tracing::error!(error = %e, "status store unavailable");
            Status::unavailable("the status store is unavailable")
        }
        E::SignerFailed(_) | E::Render(_) | E::Store(_) => {
            tracing::error!(error = %e, "status list internal error");
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

fn reference(r: StatusReference) -> common::StatusReference {
    common::StatusReference {
        list_id: r.list_id.to_string(),
        index: r.index,
        uri: r.uri,
    }
}

fn wire_status(s: EntryState) -> CredentialStatus {
    match s {
        EntryState::Valid => CredentialStatus::Valid,
        EntryState::Revoked => CredentialStatus::Revoked,
        EntryState::Suspended => CredentialStatus::Suspended,
    }
}

fn entry(e: EntryStatus) -> StatusEntry {
    StatusEntry {
        reference: Some(reference(e.reference)),
        status: wire_status(e.state) as i32,
        updated_at: Some(timestamp(e.updated_at)),
    }
}

/// The requested state; `UNSPECIFIED` or an unknown value is refused.
fn domain_status(v: i32) -> Result<EntryState, StatusListError> {
    match CredentialStatus::try_from(v) {
        Ok(CredentialStatus::Valid) => Ok(EntryState::Valid),
        Ok(CredentialStatus::Revoked) => Ok(EntryState::Revoked),
        Ok(CredentialStatus::Suspended) => Ok(EntryState::Suspended),
        Ok(CredentialStatus::Unspecified) | Err(_) => Err(StatusListError::StatusUnspecified),
    }
}

/// The requested document: a Token Status List takes no purpose; a bitstring takes
/// `revocation` (default) or `suspension`.
fn domain_format(format: i32, purpose: &str) -> Result<PublishedFormat, StatusListError> {
    match ListFormat::try_from(format) {
        Ok(ListFormat::TokenStatusList) if purpose.is_empty() => {
            Ok(PublishedFormat::TokenStatusList)
        }
        Ok(ListFormat::TokenStatusList) => {
            Err(StatusListError::UnsupportedPurpose(purpose.to_owned()))
        }
        Ok(ListFormat::BitstringStatusList) => Ok(PublishedFormat::Bitstring(
            BitstringPurpose::parse(purpose)?,
        )),
        Ok(ListFormat::Unspecified) | Err(_) => Err(StatusListError::FormatUnspecified),
    }
}

#[tonic::async_trait]
impl StatusList for StatusListService {
    async fn allocate_entry(
        &self,
        request: Request<AllocateEntryRequest>,
    ) -> Result<Response<common::StatusReference>, Status> {
        let req = request.into_inner();
        let credential_id = parse_credential_id(&req.credential_id).map_err(to_status)?;
        let r = self.allocate(credential_id).await.map_err(to_status)?;
        Ok(Response::new(reference(r)))
    }

    async fn set_status(
        &self,
        request: Request<SetStatusRequest>,
    ) -> Result<Response<StatusEntry>, Status> {
        let req = request.into_inner();
        let list_id = parse_list_id(&req.list_id).map_err(to_status)?;
        let new = domain_status(req.status).map_err(to_status)?;
        let actor = req
            .actor
            .map(|a| Actor {
                subject: Some(a.subject).filter(|s| !s.is_empty()),
                reason: Some(a.reason).filter(|s| !s.is_empty()),
            })
            .unwrap_or_default();
        let e = StatusListService::set_status(self, list_id, req.index, new, &actor)
            .await
            .map_err(to_status)?;
        Ok(Response::new(entry(e)))
    }

    async fn get_status(
        &self,
        request: Request<GetStatusRequest>,
    ) -> Result<Response<StatusEntry>, Status> {
        let req = request.into_inner();
        let list_id = parse_list_id(&req.list_id).map_err(to_status)?;
        let e = StatusListService::get_status(self, list_id, req.index)
            .await
            .map_err(to_status)?;
        Ok(Response::new(entry(e)))
    }

    async fn get_published_list(
        &self,
        request: Request<GetPublishedListRequest>,
    ) -> Result<Response<PublishedList>, Status> {
        let req = request.into_inner();
        let list_id = parse_list_id(&req.list_id).map_err(to_status)?;
        let format = domain_format(req.format, &req.purpose).map_err(to_status)?;
        let p = self
            .published_list(list_id, format)
            .await
            .map_err(to_status)?;
        Ok(Response::new(PublishedList {
            media_type: p.media_type.to_owned(),
            body: p.body,
            etag: p.etag,
            ttl_seconds: p.ttl_seconds,
            expires_at: Some(timestamp(p.expires_at)),
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn error_table_maps_each_rule_to_its_code() {
        let cases = [
            (StatusListError::MalformedListId, Code::InvalidArgument),
            (StatusListError::StatusUnspecified, Code::InvalidArgument),
            (StatusListError::ListNotFound, Code::NotFound),
            (StatusListError::EntryNotFound, Code::NotFound),
            (
                StatusListError::IndexOutOfRange {
                    index: 9,
                    capacity: 8,
                },
                Code::OutOfRange,
            ),
            (
                StatusListError::InvalidTransition {
                    from: "revoked",
                    to: "valid",
                },
                Code::FailedPrecondition,
            ),
            (
                StatusListError::SignerUnavailable("x".into()),
                Code::Unavailable,
            ),
            (StatusListError::SignerFailed("x".into()), Code::Internal),
            (
                StatusListError::Store(StoreError::Corrupt {
                    what: "secret detail".into(),
                }),
                Code::Internal,
            ),
        ];
        for (e, code) in cases {
            let s = to_status(e);
            assert_eq!(s.code(), code);
            assert!(!s.message().contains("secret detail"));
        }
    }

    #[test]
    fn wire_enums_convert_and_unknown_values_are_refused() {
        assert_eq!(domain_status(2).unwrap(), EntryState::Revoked);
        assert!(matches!(
            domain_status(0),
            Err(StatusListError::StatusUnspecified)
        ));
        assert!(matches!(
            domain_status(99),
            Err(StatusListError::StatusUnspecified)
        ));
        assert_eq!(
            domain_format(1, "").unwrap(),
            PublishedFormat::TokenStatusList
        );
        assert!(matches!(
            domain_format(1, "suspension"),
            Err(StatusListError::UnsupportedPurpose(_))
        ));
        assert_eq!(
            domain_format(2, "suspension").unwrap(),
            PublishedFormat::Bitstring(BitstringPurpose::Suspension)
        );
        assert!(matches!(
            domain_format(0, ""),
            Err(StatusListError::FormatUnspecified)
        ));
    }

    proptest::proptest! {
        // Any enum value and purpose from the wire converts or is refused, never panics.
        #[test]
        fn any_wire_enum_never_panics(v in proptest::prelude::any::<i32>(), p in ".*") {
            let _ = domain_status(v);
            let _ = domain_format(v, &p);
        }
    }
}
