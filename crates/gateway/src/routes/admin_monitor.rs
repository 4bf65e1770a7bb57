//! Admin REST for the monitor (issue 6), each call mirroring one `crossauthz.monitor.v1`
//! method:
//!
//! - `GET /admin/v1/alerts?state=&category=&agent=&limit=` — `{"alerts": [...]}`
//! - `GET /admin/v1/alerts/{id}`
//! - `POST /admin/v1/alerts/{id}/ack` `{"note"?}` — after review; lifts a suspension the monitor
//!   made for this alert
//! - `POST /admin/v1/alerts/{id}/resolve` `{"note"?}`
//! - `GET /admin/v1/compliance?agent=` — the compliance report (evaluated now)
//!
//! The admin principal is recorded as the reviewer (`admin-api`).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use crossauthz_proto::common::Actor;
use crossauthz_proto::monitor::monitor_client::MonitorClient;
use crossauthz_proto::monitor::{
    Alert, AlertDecisionRequest, GetAlertRequest, GetComplianceReportRequest, ListAlertsRequest,
};
use crossauthz_telemetry::TracedChannel;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::problem::Problem;

/// The routes, mounted under `/admin/v1` behind the admin bearer middleware.
pub fn admin_routes<S: Clone + Send + Sync + 'static>(
    monitor: MonitorClient<TracedChannel>,
) -> Router<S> {
    let (m1, m2, m3, m4, m5) = (
        monitor.clone(),
        monitor.clone(),
        monitor.clone(),
        monitor.clone(),
        monitor,
    );
    Router::new()
        .route(
            "/alerts",
            get(move |Query(q): Query<HashMap<String, String>>| list(m1.clone(), q)),
        )
        .route(
            "/alerts/{id}",
            get(move |Path(id): Path<String>| one(m2.clone(), id)),
        )
        .route(
            "/alerts/{id}/ack",
            post(move |Path(id): Path<String>, body: Bytes| decide(m3.clone(), id, body, true)),
        )
        .route(
            "/alerts/{id}/resolve",
            post(move |Path(id): Path<String>, body: Bytes| decide(m4.clone(), id, body, false)),
        )
        .route(
            "/compliance",
            get(move |Query(q): Query<HashMap<String, String>>| compliance(m5.clone(), q)),
        )
}

fn bad(detail: impl Into<String>) -> Response {
    Problem::new(StatusCode::BAD_REQUEST, detail).into_response()
}

fn alert_json(a: Alert) -> Value {
    let evidence: Value = serde_json::from_str(&a.evidence_json).unwrap_or(Value::Null);
    let ts = |t: Option<prost_types::Timestamp>| {
        t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
    };
    let opt = |s: String| (!s.is_empty()).then_some(s);
    json!({
        "id": a.id, "rule": a.rule, "category": a.category, "severity": a.severity,
        "score": a.score, "subject": a.subject, "client_id": opt(a.client_id),
        "credential_id": opt(a.credential_id), "summary": a.summary, "evidence": evidence,
        "recommended_action": a.recommended_action, "state": a.state,
        "first_seen": ts(a.first_seen), "last_seen": ts(a.last_seen),
        "occurrences": a.occurrences, "acknowledged_by": opt(a.acknowledged_by),
        "resolved_by": opt(a.resolved_by), "note": opt(a.note), "action": opt(a.action),
    })
}

async fn list(mut m: MonitorClient<TracedChannel>, q: HashMap<String, String>) -> Response {
    const PARAMS: [&str; 4] = ["state", "category", "agent", "limit"];
    if let Some(k) = q.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return bad(format!("unknown parameter `{k}`"));
    }
    let limit = match q.get("limit").map(|l| l.parse::<u32>()) {
        None => 0,
        Some(Ok(l)) if (1..=1000).contains(&l) => l,
        Some(_) => return bad("`limit` must be between 1 and 1000"),
    };
    let request = ListAlertsRequest {
        state: q.get("state").cloned().unwrap_or_default(),
        category: q.get("category").cloned().unwrap_or_default(),
        client_id: q.get("agent").cloned().unwrap_or_default(),
        limit,
    };
    match m.list_alerts(request).await {
        Ok(r) => Json(json!({
            "alerts": r.into_inner().alerts.into_iter().map(alert_json).collect::<Vec<_>>()
        }))
        .into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

async fn one(mut m: MonitorClient<TracedChannel>, id: String) -> Response {
    match m.get_alert(GetAlertRequest { id }).await {
        Ok(r) => Json(alert_json(r.into_inner())).into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    #[serde(default)]
    note: Option<String>,
}

async fn decide(
    mut m: MonitorClient<TracedChannel>,
    id: String,
    body: Bytes,
    ack: bool,
) -> Response {
    let decision: Decision = if body.is_empty() {
        Decision::default()
    } else {
        let parsed = crossauthz_core::strict_json::from_slice(&body)
            .map_err(|e| e.to_string())
            .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()));
        match parsed {
            Ok(d) => d,
            Err(e) => return bad(format!("request body: {e}")),
        }
    };
    let request = AlertDecisionRequest {
        id,
        actor: Some(Actor {
            subject: "admin-api".into(),
            reason: String::new(),
        }),
        note: decision.note.unwrap_or_default(),
    };
    let result = if ack {
        m.acknowledge_alert(request).await
    } else {
        m.resolve_alert(request).await
    };
    match result {
        Ok(r) => Json(alert_json(r.into_inner())).into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

async fn compliance(mut m: MonitorClient<TracedChannel>, q: HashMap<String, String>) -> Response {
    if let Some(k) = q.keys().find(|k| k.as_str() != "agent") {
        return bad(format!("unknown parameter `{k}`"));
    }
    let request = GetComplianceReportRequest {
        client_id: q.get("agent").cloned().unwrap_or_default(),
    };
    match m.get_compliance_report(request).await {
        Ok(r) => match serde_json::from_str::<Value>(&r.into_inner().report_json) {
            Ok(v) => Json(v).into_response(),
            Err(_) => Problem::new(
                StatusCode::BAD_GATEWAY,
                "the monitor answered an unreadable report",
            )
            .into_response(),
        },
        Err(s) => Problem::from(s).into_response(),
    }
}
