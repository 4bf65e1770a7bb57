//! Admin REST for agents (DESIGN §4), each call mirroring one registry gRPC method. Mounted under
//! `/admin/v1` behind the bearer middleware (no or a wrong token is 401 before any handler runs).
//!
//! | call | gRPC |
//! |---|---|
//! | `POST /agents` `{name, agentType, jwks \| jwks_uri, redirect_uris?, grant_types?, claims, credential?, reason?}` → 201 | `CreateAgent` |
//! | `GET /agents?page_size=&page_token=` | `ListAgents` |
//! | `GET /agents/{id}` | `GetAgent` |
//! | `PATCH /agents/{id}` `{name?, jwks?, jwks_uri?, redirect_uris?, grant_types?, claims?, expected_version?, reason?}` | `UpdateAgent` |
//! | `DELETE /agents/{id}` `{reason?}` | `DeleteAgent` |
//! | `GET /agents/{id}/history` | `GetAgentHistory` |
//! | `POST /agents/{id}/credentials` `{format?, validity_seconds?, disclose?, holder_kid?, reason?}` → 201 | `IssueAgentCredential` |
//!
//! `credential` / the issuance body: `format` is `vc+jwt` (default) or `dc+sd-jwt`. Bodies are
//! strict JSON (a duplicate member is refused) with no unknown members. Failures are RFC 9457
//! problems: 400 naming the rule broken, 404 for an unknown, deleted or malformed id, 409 on a
//! version conflict (or a key the registry cannot bind a credential to), 503 when an upstream
//! service is down.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crossauthz_proto::common::{self, CredentialFormat};
use crossauthz_proto::registry::{
    self as pb, CreateAgentRequest, CredentialOptions, DeleteAgentRequest, GetAgentHistoryRequest,
    GetAgentRequest, IssueAgentCredentialRequest, ListAgentsRequest, UpdateAgentRequest,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::problem::Problem;
use crate::routes::cimd::is_canonical_uuid;

/// The actor recorded in the audit log for calls made with the admin token.
pub const ADMIN_ACTOR: &str = "admin-api";

/// The routes of this module (mounted under `/admin/v1`).
pub fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/agents", post(create).get(list))
        .route("/agents/{id}", get(read).patch(update).delete(remove))
        .route("/agents/{id}/history", get(history))
        .route("/agents/{id}/credentials", post(issue))
}

/// `credential` of a creation, and the body of `POST /agents/{id}/credentials`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialBody {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    validity_seconds: Option<u64>,
    #[serde(default)]
    disclose: Vec<String>,
    #[serde(default)]
    holder_kid: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(rename = "agentType")]
    agent_type: String,
    #[serde(default)]
    jwks: Option<Value>,
    #[serde(default)]
    jwks_uri: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    claims: Value,
    #[serde(default)]
    credential: Option<CredentialBody>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    jwks: Option<Value>,
    #[serde(default)]
    jwks_uri: Option<String>,
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    claims: Option<Value>,
    #[serde(default)]
    expected_version: Option<u32>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

fn bad_request(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, detail)
}

fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "no such agent")
}

/// Parses a JSON body strictly (no duplicate members, no unknown members). An empty body is
/// the default when `optional`.
fn body<T: DeserializeOwned + Default>(bytes: &Bytes, optional: bool) -> Result<T, Problem> {
    if optional && bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    required_body(bytes)
}

fn required_body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Problem> {
    let value = crossauthz_core::strict_json::from_slice(bytes)
        .map_err(|e| bad_request(format!("the request body is not strict JSON: {e}")))?;
    if !value.is_object() {
        return Err(bad_request("the request body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| {
        bad_request(format!(
            "the request body is not the expected JSON object: {e}"
        ))
    })
}

fn actor(reason: Option<String>) -> Option<common::Actor> {
    Some(common::Actor {
        subject: ADMIN_ACTOR.to_owned(),
        reason: reason.unwrap_or_default(),
    })
}

fn options(c: CredentialBody) -> Result<CredentialOptions, Problem> {
    let format = match c.format.as_deref() {
        None | Some("vc+jwt") => CredentialFormat::VcJwt,
        Some("dc+sd-jwt") => CredentialFormat::DcSdJwt,
        Some(_) => return Err(bad_request("format must be vc+jwt or dc+sd-jwt")),
    };
    Ok(CredentialOptions {
        format: format as i32,
        validity_seconds: c.validity_seconds.unwrap_or(0),
        disclose: c.disclose,
        holder_kid: c.holder_kid.unwrap_or_default(),
    })
}

fn rfc3339(t: Option<prost_types::Timestamp>) -> Value {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map_or(Value::Null, |t| {
            json!(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        })
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The JSON view of an agent.
pub fn agent_json(a: &pb::Agent) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.id));
    m.insert("client_id".into(), json!(a.client_id));
    m.insert("name".into(), json!(a.name));
    m.insert("agentType".into(), json!(a.agent_type));
    if !a.jwks_json.is_empty() {
        m.insert("jwks".into(), parse_json(&a.jwks_json));
    }
    if !a.jwks_uri.is_empty() {
        m.insert("jwks_uri".into(), json!(a.jwks_uri));
    }
    m.insert("redirect_uris".into(), json!(a.redirect_uris));
    m.insert("grant_types".into(), json!(a.grant_types));
    m.insert("claims".into(), parse_json(&a.claims_json));
    m.insert("version".into(), json!(a.version));
    m.insert("created_at".into(), rfc3339(a.created_at));
    m.insert("updated_at".into(), rfc3339(a.updated_at));
    Value::Object(m)
}

/// The JSON view of an issued credential.
pub fn credential_json(c: &pb::IssuedCredential) -> Value {
    let format = match CredentialFormat::try_from(c.format) {
        Ok(CredentialFormat::DcSdJwt) => "dc+sd-jwt",
        _ => "vc+jwt",
    };
    json!({
        "id": c.id,
        "format": format,
        "credential": c.credential,
        "valid_from": rfc3339(c.valid_from),
        "valid_until": rfc3339(c.valid_until),
        "status": c.status.as_ref().map(|s| json!({
            "list_id": s.list_id,
            "index": s.index,
            "uri": s.uri,
        })),
    })
}

fn created(value: Value, location: Option<String>) -> Response {
    let mut r = (StatusCode::CREATED, Json(value)).into_response();
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

/// A gRPC failure as a problem; NOT_FOUND and a malformed id both read as 404.
fn upstream(s: tonic::Status) -> Response {
    if s.code() == tonic::Code::NotFound {
        return not_found().into_response();
    }
    Problem::from(s).into_response()
}

async fn create(State(state): State<AppState>, bytes: Bytes) -> Response {
    let b: CreateBody = match required_body(&bytes) {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let issue_credential = match b.credential.map(options).transpose() {
        Ok(o) => o,
        Err(p) => return p.into_response(),
    };
    let request = CreateAgentRequest {
        name: b.name,
        agent_type: b.agent_type,
        jwks_json: b.jwks.map(|j| j.to_string()).unwrap_or_default(),
        jwks_uri: b.jwks_uri.unwrap_or_default(),
        redirect_uris: b.redirect_uris,
        grant_types: b.grant_types,
        claims_json: b.claims.to_string(),
        issue_credential,
        actor: actor(b.reason),
    };
    match state.upstreams.registry.clone().create_agent(request).await {
        Ok(r) => {
            let r = r.into_inner();
            let Some(agent) = r.agent else {
                return Problem::new(StatusCode::BAD_GATEWAY, "the registry answered no agent")
                    .into_response();
            };
            let mut v = agent_json(&agent);
            if let (Some(c), Value::Object(m)) = (r.credential.as_ref(), &mut v) {
                m.insert("credential".into(), credential_json(c));
            }
            created(v, Some(format!("/admin/v1/agents/{}", agent.id)))
        }
        Err(s) => Problem::from(s).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    page_size: Option<u32>,
    #[serde(default)]
    page_token: Option<String>,
}

fn parse_query(raw: Option<&str>) -> Result<ListQuery, Problem> {
    let mut q = ListQuery::default();
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "page_size" => {
                q.page_size = Some(
                    v.parse()
                        .map_err(|_| bad_request("page_size must be a non-negative integer"))?,
                );
            }
            // Tokens are base64url: no percent-decoding needed.
            "page_token" => q.page_token = Some(v.to_owned()),
            other => {
                return Err(bad_request(format!(
                    "unknown query parameter {:?}",
                    other.chars().take(32).collect::<String>()
                )));
            }
        }
    }
    Ok(q)
}

async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let q = match parse_query(raw.as_deref()) {
        Ok(q) => q,
        Err(p) => return p.into_response(),
    };
    let request = ListAgentsRequest {
        page_size: q.page_size.unwrap_or(0),
        page_token: q.page_token.unwrap_or_default(),
    };
    match state.upstreams.registry.clone().list_agents(request).await {
        Ok(r) => {
            let r = r.into_inner();
            let mut v = json!({"agents": r.agents.iter().map(agent_json).collect::<Vec<_>>()});
            if let (false, Value::Object(m)) = (r.next_page_token.is_empty(), &mut v) {
                m.insert("next_page_token".into(), json!(r.next_page_token));
            }
            Json(v).into_response()
        }
        Err(s) => Problem::from(s).into_response(),
    }
}

async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if !is_canonical_uuid(&id) {
        return not_found().into_response();
    }
    match state
        .upstreams
        .registry
        .clone()
        .get_agent(GetAgentRequest { id })
        .await
    {
        Ok(a) => Json(agent_json(&a.into_inner())).into_response(),
        Err(s) => upstream(s),
    }
}

async fn update(State(state): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Response {
    if !is_canonical_uuid(&id) {
        return not_found().into_response();
    }
    let b: UpdateBody = match body(&bytes, false) {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let request = UpdateAgentRequest {
        id,
        name: b.name,
        jwks_json: b.jwks.map(|j| j.to_string()),
        jwks_uri: b.jwks_uri,
        replace_redirect_uris: b.redirect_uris.is_some(),
        redirect_uris: b.redirect_uris.unwrap_or_default(),
        replace_grant_types: b.grant_types.is_some(),
        grant_types: b.grant_types.unwrap_or_default(),
        claims_json: b.claims.map(|c| c.to_string()),
        expected_version: b.expected_version.unwrap_or(0),
        actor: actor(b.reason),
    };
    match state.upstreams.registry.clone().update_agent(request).await {
        Ok(a) => Json(agent_json(&a.into_inner())).into_response(),
        Err(s) => upstream(s),
    }
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Response {
    if !is_canonical_uuid(&id) {
        return not_found().into_response();
    }
    let b: ReasonBody = match body(&bytes, true) {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    match state
        .upstreams
        .registry
        .clone()
        .delete_agent(DeleteAgentRequest {
            id,
            actor: actor(b.reason),
        })
        .await
    {
        Ok(r) => Json(json!({"revoked_credential_ids": r.into_inner().revoked_credential_ids}))
            .into_response(),
        Err(s) => upstream(s),
    }
}

async fn history(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if !is_canonical_uuid(&id) {
        return not_found().into_response();
    }
    match state
        .upstreams
        .registry
        .clone()
        .get_agent_history(GetAgentHistoryRequest { id })
        .await
    {
        Ok(h) => {
            let versions: Vec<Value> = h
                .into_inner()
                .versions
                .into_iter()
                .map(|v| {
                    json!({
                        "version": v.version,
                        "document": parse_json(&v.document_json),
                        "created_at": rfc3339(v.created_at),
                    })
                })
                .collect();
            Json(json!({ "versions": versions })).into_response()
        }
        Err(s) => upstream(s),
    }
}

async fn issue(State(state): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Response {
    if !is_canonical_uuid(&id) {
        return not_found().into_response();
    }
    let b: CredentialBody = match body(&bytes, true) {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let reason = b.reason.clone();
    let options = match options(b) {
        Ok(o) => o,
        Err(p) => return p.into_response(),
    };
    match state
        .upstreams
        .registry
        .clone()
        .issue_agent_credential(IssueAgentCredentialRequest {
            agent_id: id,
            options: Some(options),
            actor: actor(reason),
        })
        .await
    {
        Ok(c) => created(credential_json(&c.into_inner()), None),
        Err(s) => upstream(s),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_strict_and_closed() {
        let ok: Result<CreateBody, _> = required_body(&Bytes::from_static(
            br#"{"name":"a","agentType":"tool-agent","claims":{}}"#,
        ));
        assert!(ok.is_ok());
        for bad in [
            &br#"{"name":"a","name":"b","agentType":"tool-agent","claims":{}}"#[..],
            br#"{"name":"a","agentType":"tool-agent","claims":{},"client_secret":"x"}"#,
            br#"{"agentType":"tool-agent","claims":{}}"#,
            b"[]",
            b"",
        ] {
            let p = required_body::<CreateBody>(&Bytes::copy_from_slice(bad)).unwrap_err();
            assert_eq!(p.status, 400);
        }
        let empty: ReasonBody = body(&Bytes::from_static(b" "), true).unwrap();
        assert!(empty.reason.is_none());
        let p = body::<ReasonBody>(&Bytes::from_static(b"[]"), true).unwrap_err();
        assert_eq!(
            p.status, 400,
            "an array is not an object, even with all fields optional"
        );
    }

    #[test]
    fn credential_format_names_map_and_unknown_is_400() {
        let o = options(CredentialBody {
            format: Some("dc+sd-jwt".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(o.format, CredentialFormat::DcSdJwt as i32);
        let o = options(CredentialBody::default()).unwrap();
        assert_eq!(o.format, CredentialFormat::VcJwt as i32);
        let p = options(CredentialBody {
            format: Some("jwt_vc_json".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(p.status, 400);
    }

    #[test]
    fn list_query_is_parsed_or_refused() {
        let q = parse_query(Some("page_size=2&page_token=AQID")).unwrap();
        assert_eq!(q.page_size, Some(2));
        assert_eq!(q.page_token.as_deref(), Some("AQID"));
        assert!(parse_query(None).unwrap().page_size.is_none());
        assert_eq!(parse_query(Some("page_size=-1")).unwrap_err().status, 400);
        assert_eq!(parse_query(Some("limit=5")).unwrap_err().status, 400);
    }

    proptest::proptest! {
        // Any body and any query string are parsed or refused without panicking.
        #[test]
        fn parsing_any_body_or_query_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128),
            q in ".*",
        ) {
            let b = Bytes::from(bytes);
            let _ = required_body::<CreateBody>(&b);
            let _ = body::<UpdateBody>(&b, false);
            let _ = body::<CredentialBody>(&b, true);
            let _ = parse_query(Some(&q));
        }
    }
}
