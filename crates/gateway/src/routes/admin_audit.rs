//! `GET /admin/v1/audit` (DESIGN §4, §8): the domain's audit events, filtered and exported.
//!
//! Query parameters (all optional, all must hold): `since` and `until` (RFC 3339; `at >= since`,
//! `at < until`), `agent` (exact client_id), `decision`, `kind`, `after_seq` (paging cursor),
//! `limit` (1..=10000, default 100), `format` (`json` or `jsonl`).
//!
//! Representation: JSON `{"events": [...], "next_after_seq": n|null}` by default; JSON lines
//! (`application/x-ndjson`, one event per line, oldest first) with `?format=jsonl` or
//! `Accept: application/x-ndjson`. Each event carries its `seq`, every field and its
//! `prev_hash`/`hash` in hex, so an export can be re-checked against the chain and checkpoints
//! (`crossauthz audit verify`). An unknown parameter or a malformed value is a 400 problem.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use crossauthz_store::audit::MAX_LIST_LIMIT;
use crossauthz_store::{AuditEvent, AuditFilter, AuditStore, StoreError};
use serde::Serialize;
use serde_json::Value;

use crate::problem::Problem;

/// The JSON lines media type.
pub const NDJSON: &str = "application/x-ndjson";

const PARAMS: [&str; 8] = [
    "since",
    "until",
    "agent",
    "decision",
    "kind",
    "after_seq",
    "limit",
    "format",
];

/// The route, mounted under `/admin/v1` behind the admin bearer middleware.
pub fn admin_routes<S: Clone + Send + Sync + 'static>(audit: Arc<dyn AuditStore>) -> Router<S> {
    Router::new().route(
        "/audit",
        get(
            move |Query(q): Query<HashMap<String, String>>, headers: HeaderMap| {
                list(audit.clone(), q, headers)
            },
        ),
    )
}

/// One event as exported.
#[derive(Debug, Serialize)]
struct EventJson {
    seq: i64,
    at: DateTime<Utc>,
    service: String,
    kind: String,
    actor: Option<String>,
    client_id: Option<String>,
    credential_id: Option<String>,
    issuer: Option<String>,
    scopes: Option<Vec<String>>,
    resource: Option<String>,
    decision: Option<String>,
    reason: Option<String>,
    trace_id: Option<String>,
    details: Value,
    prev_hash: String,
    hash: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl From<AuditEvent> for EventJson {
    fn from(e: AuditEvent) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            service: e.service,
            kind: e.kind,
            actor: e.actor,
            client_id: e.client_id,
            credential_id: e.credential_id,
            issuer: e.issuer,
            scopes: e.scopes,
            resource: e.resource,
            decision: e.decision,
            reason: e.reason,
            trace_id: e.trace_id,
            details: e.details,
            prev_hash: hex(&e.prev_hash),
            hash: hex(&e.hash),
        }
    }
}

fn bad(detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, detail)
}

fn time(q: &HashMap<String, String>, name: &str) -> Result<Option<DateTime<Utc>>, Problem> {
    q.get(name)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| bad(format!("`{name}` must be an RFC 3339 date-time")))
        })
        .transpose()
}

fn text(q: &HashMap<String, String>, name: &str) -> Result<Option<String>, Problem> {
    match q.get(name) {
        Some(v) if v.is_empty() => Err(bad(format!("`{name}` must not be empty"))),
        v => Ok(v.cloned()),
    }
}

/// The filter and whether JSON lines were asked for.
fn parse(q: &HashMap<String, String>, headers: &HeaderMap) -> Result<(AuditFilter, bool), Problem> {
    if let Some(unknown) = q.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return Err(bad(format!("unknown parameter `{unknown}`")));
    }
    let after_seq = q
        .get("after_seq")
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| bad("`after_seq` must be a non-negative integer".into()))
        })
        .transpose()?;
    let limit = match q.get("limit") {
        None => 100,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
            .ok_or_else(|| bad(format!("`limit` must be between 1 and {MAX_LIST_LIMIT}")))?,
    };
    let jsonl = match q.get("format").map(String::as_str) {
        Some("jsonl") => true,
        Some("json") => false,
        Some(_) => return Err(bad("`format` must be `json` or `jsonl`".into())),
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|m| m.trim().starts_with(NDJSON))),
    };
    let filter = AuditFilter {
        since: time(q, "since")?,
        until: time(q, "until")?,
        client_id: text(q, "agent")?,
        decision: text(q, "decision")?,
        kind: text(q, "kind")?,
        after_seq,
        limit,
    };
    Ok((filter, jsonl))
}

async fn list(
    audit: Arc<dyn AuditStore>,
    q: HashMap<String, String>,
    headers: HeaderMap,
) -> Response {
    let (filter, jsonl) = match parse(&q, &headers) {
        Ok(p) => p,
        Err(p) => return p.into_response(),
    };
    let events = match audit.list(&filter).await {
        Ok(e) => e,
        Err(StoreError::InvalidInput { what }) => return bad(what).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "audit store unavailable");
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the audit log is unavailable",
            )
            .into_response();
        }
    };
    let full_page = events.len() == filter.limit as usize;
    let next_after_seq = events.last().map(|e| e.seq).filter(|_| full_page);
    let events: Vec<EventJson> = events.into_iter().map(EventJson::from).collect();
    if jsonl {
        let mut body = String::new();
        for e in &events {
            match serde_json::to_string(e) {
                Ok(line) => {
                    body.push_str(&line);
                    body.push('\n');
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit event not serialisable");
                    return Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                        .into_response();
                }
            }
        }
        let mut r = (StatusCode::OK, body).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
        if let Some(n) = next_after_seq
            && let Ok(v) = HeaderValue::from_str(&n.to_string())
        {
            r.headers_mut().insert("x-next-after-seq", v);
        }
        return r;
    }
    Json(serde_json::json!({ "events": events, "next_after_seq": next_after_seq })).into_response()
}
