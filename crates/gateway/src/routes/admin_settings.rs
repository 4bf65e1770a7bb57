//! Admin REST for the domain's verification settings (DESIGN §4), each call mirroring one
//! verifier gRPC method:
//!
//! - `GET|PUT /admin/v1/trust` — `{"issuers": [{issuer, credential_types, issuer_domains}]}`
//! - `GET|PUT /admin/v1/policies` — `{"policies": "<Cedar source>"}` (a set that does not validate
//!   is refused with Cedar's error and the old set stays)
//! - `GET|PUT /admin/v1/resources` — `{"resources": [{resource, scopes, attributes}]}`
//!
//! The verifier validates and stores; this module only converts JSON ↔ gRPC.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use crossauthz_proto::common::Actor;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_proto::verifier::{
    GetPoliciesRequest, GetResourcesRequest, GetTrustListRequest, PolicySet, PutPoliciesRequest,
    PutResourcesRequest, PutTrustListRequest, Resource, Resources, TrustList, TrustedIssuer,
};
use crossauthz_telemetry::TracedChannel;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::problem::Problem;

/// The routes, mounted under `/admin/v1` behind the admin bearer middleware.
pub fn admin_routes<S: Clone + Send + Sync + 'static>(
    verifier: VerifierClient<TracedChannel>,
) -> Router<S> {
    let (t1, t2, p1, p2, r1, r2) = (
        verifier.clone(),
        verifier.clone(),
        verifier.clone(),
        verifier.clone(),
        verifier.clone(),
        verifier,
    );
    Router::new()
        .route(
            "/trust",
            get(move || get_trust(t1.clone())).put(move |body: Bytes| put_trust(t2.clone(), body)),
        )
        .route(
            "/policies",
            get(move || get_policies(p1.clone()))
                .put(move |body: Bytes| put_policies(p2.clone(), body)),
        )
        .route(
            "/resources",
            get(move || get_resources(r1.clone()))
                .put(move |body: Bytes| put_resources(r2.clone(), body)),
        )
}

fn admin_actor() -> Option<Actor> {
    Some(Actor {
        subject: "admin-api".into(),
        reason: String::new(),
    })
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Problem> {
    let value = crossauthz_core::strict_json::from_slice(body)
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, format!("request body: {e}")))?;
    serde_json::from_value(value)
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, format!("request body: {e}")))
}

/// A trusted issuer as JSON.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustedIssuerJson {
    issuer: String,
    #[serde(default)]
    credential_types: Vec<String>,
    #[serde(default)]
    issuer_domains: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustListJson {
    issuers: Vec<TrustedIssuerJson>,
}

impl From<TrustList> for TrustListJson {
    fn from(t: TrustList) -> Self {
        Self {
            issuers: t
                .issuers
                .into_iter()
                .map(|i| TrustedIssuerJson {
                    issuer: i.issuer,
                    credential_types: i.credential_types,
                    issuer_domains: i.issuer_domains,
                })
                .collect(),
        }
    }
}

async fn get_trust(mut v: VerifierClient<TracedChannel>) -> Response {
    match v.get_trust_list(GetTrustListRequest {}).await {
        Ok(r) => Json(TrustListJson::from(r.into_inner())).into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

async fn put_trust(mut v: VerifierClient<TracedChannel>, body: Bytes) -> Response {
    let list: TrustListJson = match parse(&body) {
        Ok(l) => l,
        Err(p) => return p.into_response(),
    };
    let request = PutTrustListRequest {
        issuers: list
            .issuers
            .into_iter()
            .map(|i| TrustedIssuer {
                issuer: i.issuer,
                credential_types: i.credential_types,
                issuer_domains: i.issuer_domains,
            })
            .collect(),
        actor: admin_actor(),
    };
    match v.put_trust_list(request).await {
        Ok(r) => Json(TrustListJson::from(r.into_inner())).into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoliciesJson {
    policies: String,
    #[serde(default, skip_deserializing)]
    version: u32,
}

impl From<PolicySet> for PoliciesJson {
    fn from(p: PolicySet) -> Self {
        Self {
            policies: p.policies,
            version: p.version,
        }
    }
}

async fn get_policies(mut v: VerifierClient<TracedChannel>) -> Response {
    match v.get_policies(GetPoliciesRequest {}).await {
        Ok(r) => Json(PoliciesJson::from(r.into_inner())).into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

async fn put_policies(mut v: VerifierClient<TracedChannel>, body: Bytes) -> Response {
    let p: PoliciesJson = match parse(&body) {
        Ok(p) => p,
        Err(p) => return p.into_response(),
    };
    match v
        .put_policies(PutPoliciesRequest {
            policies: p.policies,
            actor: admin_actor(),
        })
        .await
    {
        Ok(r) => Json(PoliciesJson::from(r.into_inner())).into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceJson {
    resource: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    attributes: Value,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourcesJson {
    resources: Vec<ResourceJson>,
}

impl TryFrom<Resources> for ResourcesJson {
    type Error = Problem;
    fn try_from(r: Resources) -> Result<Self, Problem> {
        let resources = r
            .resources
            .into_iter()
            .map(|r| {
                let attributes = if r.attributes_json.is_empty() {
                    Value::Object(Default::default())
                } else {
                    serde_json::from_str(&r.attributes_json).map_err(|_| {
                        Problem::new(
                            StatusCode::BAD_GATEWAY,
                            "the verifier returned malformed resource attributes",
                        )
                    })?
                };
                Ok(ResourceJson {
                    resource: r.resource,
                    scopes: r.scopes,
                    attributes,
                })
            })
            .collect::<Result<_, Problem>>()?;
        Ok(Self { resources })
    }
}

fn resources_response(r: Resources) -> Response {
    match ResourcesJson::try_from(r) {
        Ok(j) => Json(j).into_response(),
        Err(p) => p.into_response(),
    }
}

async fn get_resources(mut v: VerifierClient<TracedChannel>) -> Response {
    match v.get_resources(GetResourcesRequest {}).await {
        Ok(r) => resources_response(r.into_inner()),
        Err(s) => Problem::from(s).into_response(),
    }
}

async fn put_resources(mut v: VerifierClient<TracedChannel>, body: Bytes) -> Response {
    let list: ResourcesJson = match parse(&body) {
        Ok(l) => l,
        Err(p) => return p.into_response(),
    };
    let mut resources = Vec::with_capacity(list.resources.len());
    for r in list.resources {
        let attributes = match r.attributes {
            Value::Null => String::new(),
            Value::Object(_) => r.attributes.to_string(),
            _ => {
                return Problem::new(StatusCode::BAD_REQUEST, "`attributes` must be an object")
                    .into_response();
            }
        };
        resources.push(Resource {
            resource: r.resource,
            scopes: r.scopes,
            attributes_json: attributes,
        });
    }
    match v
        .put_resources(PutResourcesRequest {
            resources,
            actor: admin_actor(),
        })
        .await
    {
        Ok(r) => resources_response(r.into_inner()),
        Err(s) => Problem::from(s).into_response(),
    }
}
