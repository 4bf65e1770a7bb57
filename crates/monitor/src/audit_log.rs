//! `crossauthz.audit.v1.AuditLog` served by the monitor: the domain's audit events over gRPC
//! (the mirror of `GET /admin/v1/audit`), filtered like it and streamed in `seq` order.

use std::pin::Pin;
use std::sync::Arc;

use crossauthz_proto::audit::audit_log_server::{AuditLog, AuditLogServer};
use crossauthz_proto::audit::{AuditEvent as EventMsg, QueryEventsRequest};
use crossauthz_store::audit::MAX_LIST_LIMIT;
use crossauthz_store::{AuditFilter, AuditStore};
use tonic::{Request, Response, Status};

use crate::time::{from_proto, to_proto};

/// The audit log reader.
#[derive(Debug, Clone)]
pub struct AuditLogService {
    audit: Arc<dyn AuditStore>,
}

impl AuditLogService {
    /// A reader over `audit`.
    pub fn new(audit: Arc<dyn AuditStore>) -> Self {
        Self { audit }
    }

    /// The tonic service.
    pub fn grpc_server(self) -> AuditLogServer<Self> {
        AuditLogServer::new(self)
    }
}

type EventStream = Pin<Box<dyn futures::Stream<Item = Result<EventMsg, Status>> + Send>>;

#[tonic::async_trait]
impl AuditLog for AuditLogService {
    type QueryEventsStream = EventStream;

    async fn query_events(
        &self,
        request: Request<QueryEventsRequest>,
    ) -> Result<Response<Self::QueryEventsStream>, Status> {
        let r = request.into_inner();
        let time = |t: Option<&prost_types::Timestamp>| {
            t.map(|t| from_proto(Some(t)))
                .transpose()
                .map_err(|_| Status::invalid_argument("invalid timestamp"))
        };
        let limit = match r.limit {
            0 => 100,
            l if l <= MAX_LIST_LIMIT => l,
            _ => {
                return Err(Status::invalid_argument(format!(
                    "limit must be at most {MAX_LIST_LIMIT}"
                )));
            }
        };
        let filter = AuditFilter {
            since: time(r.since.as_ref())?,
            until: time(r.until.as_ref())?,
            client_id: (!r.client_id.is_empty()).then_some(r.client_id),
            decision: (!r.decision.is_empty()).then_some(r.decision),
            kind: None,
            after_seq: (r.after_seq > 0)
                .then(|| i64::try_from(r.after_seq))
                .transpose()
                .map_err(|_| Status::invalid_argument("after_seq out of range"))?,
            limit,
        };
        let events = self.audit.list(&filter).await.map_err(|e| {
            tracing::error!(error = %e, "audit store unavailable");
            Status::unavailable("the audit log is unavailable")
        })?;
        let messages: Vec<Result<EventMsg, Status>> = events
            .into_iter()
            .map(|e| {
                Ok(EventMsg {
                    seq: u64::try_from(e.seq).unwrap_or(0),
                    at: Some(to_proto(e.at)),
                    service: e.service,
                    kind: e.kind,
                    actor: e.actor.unwrap_or_default(),
                    client_id: e.client_id.unwrap_or_default(),
                    credential_id: e.credential_id.unwrap_or_default(),
                    issuer: e.issuer.unwrap_or_default(),
                    scopes: e.scopes.unwrap_or_default(),
                    resource: e.resource.unwrap_or_default(),
                    decision: e.decision.unwrap_or_default(),
                    reason: e.reason.unwrap_or_default(),
                    trace_id: e.trace_id.unwrap_or_default(),
                    details_json: e.details.to_string(),
                    prev_hash: e.prev_hash.to_vec(),
                    hash: e.hash.to_vec(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(messages))))
    }
}
