//! The gRPC boundary: implements `crossauthz.monitor.v1.Monitor` over [`Monitor`] and maps
//! errors to statuses in one place ([`to_status`]).

use crossauthz_proto::monitor::monitor_server::{Monitor as MonitorRpc, MonitorServer};
use crossauthz_proto::monitor::{
    Alert as AlertMsg, AlertDecisionRequest, ComplianceReport as ReportMsg, GetAlertRequest,
    GetComplianceReportRequest, ListAlertsRequest, ListAlertsResponse,
};
use crossauthz_store::{Alert, AlertCategory, AlertFilter, AlertState, StoreError};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::MonitorError;
use crate::engine::Monitor;
use crate::time::to_proto;

/// The one table from monitor errors to gRPC statuses.
pub fn to_status(e: MonitorError) -> Status {
    match &e {
        MonitorError::Store(StoreError::NotFound { .. }) => Status::not_found(e.to_string()),
        MonitorError::Store(StoreError::InvalidTransition { .. }) => {
            Status::failed_precondition(e.to_string())
        }
        MonitorError::Store(StoreError::InvalidInput { .. }) => {
            Status::invalid_argument(e.to_string())
        }
        MonitorError::Upstream(s) => {
            tracing::warn!(error = %s, "monitor upstream failed");
            Status::unavailable("an upstream service is unavailable")
        }
        _ => {
            tracing::error!(error = %e, "monitor internal error");
            Status::internal("internal error")
        }
    }
}

fn alert_msg(a: Alert) -> AlertMsg {
    AlertMsg {
        id: a.id.to_string(),
        rule: a.rule,
        category: a.category.as_str().to_owned(),
        severity: a.severity.as_str().to_owned(),
        score: a.score,
        subject: a.subject,
        client_id: a.client_id.unwrap_or_default(),
        credential_id: a.credential_id.unwrap_or_default(),
        summary: a.summary,
        evidence_json: a.evidence.to_string(),
        recommended_action: a.recommended_action,
        state: a.state.as_str().to_owned(),
        first_seen: Some(to_proto(a.first_seen)),
        last_seen: Some(to_proto(a.last_seen)),
        occurrences: u64::try_from(a.occurrences).unwrap_or(0),
        acknowledged_by: a.acknowledged_by.unwrap_or_default(),
        resolved_by: a.resolved_by.unwrap_or_default(),
        note: a.note.unwrap_or_default(),
        action: a.action.unwrap_or_default(),
    }
}

fn id(s: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(s).map_err(|_| Status::invalid_argument("alert id must be a UUID"))
}

fn reviewer(r: &AlertDecisionRequest) -> Result<String, Status> {
    r.actor
        .as_ref()
        .map(|a| a.subject.trim().to_owned())
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or_else(|| Status::invalid_argument("actor.subject (the reviewer) is required"))
}

impl Monitor {
    /// The tonic service.
    pub fn grpc_server(self) -> MonitorServer<Self> {
        MonitorServer::new(self)
    }
}

#[tonic::async_trait]
impl MonitorRpc for Monitor {
    async fn list_alerts(
        &self,
        request: Request<ListAlertsRequest>,
    ) -> Result<Response<ListAlertsResponse>, Status> {
        let r = request.into_inner();
        let state = match r.state.as_str() {
            "" => None,
            s => Some(
                AlertState::parse(s).ok_or_else(|| Status::invalid_argument("unknown state"))?,
            ),
        };
        let category = match r.category.as_str() {
            "" => None,
            c => Some(
                AlertCategory::parse(c)
                    .ok_or_else(|| Status::invalid_argument("unknown category"))?,
            ),
        };
        let alerts = self
            .alerts(&AlertFilter {
                state,
                category,
                client_id: (!r.client_id.is_empty()).then_some(r.client_id),
                limit: r.limit,
            })
            .await
            .map_err(to_status)?;
        Ok(Response::new(ListAlertsResponse {
            alerts: alerts.into_iter().map(alert_msg).collect(),
        }))
    }

    async fn get_alert(
        &self,
        request: Request<GetAlertRequest>,
    ) -> Result<Response<AlertMsg>, Status> {
        let id = id(&request.into_inner().id)?;
        match self.alert(id).await.map_err(to_status)? {
            Some(a) => Ok(Response::new(alert_msg(a))),
            None => Err(Status::not_found("alert not found")),
        }
    }

    async fn acknowledge_alert(
        &self,
        request: Request<AlertDecisionRequest>,
    ) -> Result<Response<AlertMsg>, Status> {
        let r = request.into_inner();
        let by = reviewer(&r)?;
        let note = (!r.note.is_empty()).then_some(r.note.as_str());
        let a = self
            .acknowledge(id(&r.id)?, &by, note)
            .await
            .map_err(to_status)?;
        Ok(Response::new(alert_msg(a)))
    }

    async fn resolve_alert(
        &self,
        request: Request<AlertDecisionRequest>,
    ) -> Result<Response<AlertMsg>, Status> {
        let r = request.into_inner();
        let by = reviewer(&r)?;
        let note = (!r.note.is_empty()).then_some(r.note.as_str());
        let a = self
            .resolve(id(&r.id)?, &by, note)
            .await
            .map_err(to_status)?;
        Ok(Response::new(alert_msg(a)))
    }

    async fn get_compliance_report(
        &self,
        request: Request<GetComplianceReportRequest>,
    ) -> Result<Response<ReportMsg>, Status> {
        let r = request.into_inner();
        let client = (!r.client_id.is_empty()).then_some(r.client_id.as_str());
        let report = self.compliance_report(client).await.map_err(to_status)?;
        let json = serde_json::to_string(&report)
            .map_err(|_| Status::internal("report not serialisable"))?;
        Ok(Response::new(ReportMsg {
            report_json: json,
            agents: u32::try_from(report.agents).unwrap_or(u32::MAX),
            compliant: u32::try_from(report.compliant).unwrap_or(u32::MAX),
        }))
    }
}
