//! The example MCP-style resource server used by the tests and the demo: `POST /mcp` guarded by
//! `logs:read`, answering a small JSON-RPC 2.0 result, plus the RFC 9728 metadata routes.

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use crossauthz_core::scope::ScopeError;
use serde_json::{Value, json};

use crate::protected::{AccessToken, ProtectedResource};

/// The scope `POST /mcp` requires.
pub const EXAMPLE_SCOPE: &str = "logs:read";

/// The example router: `POST /mcp` (requires [`EXAMPLE_SCOPE`]) and the metadata routes. Give the
/// resource an identifier whose path is `/mcp`, e.g. `https://mcp.beta.test/mcp`.
pub fn example_router(resource: &ProtectedResource) -> Result<Router, ScopeError> {
    Ok(Router::new()
        .route("/mcp", post(mcp))
        .route_layer(resource.require_scopes(&[EXAMPLE_SCOPE])?)
        .merge(resource.metadata_router()))
}

fn rpc_error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// JSON-RPC 2.0: `ping` → `{}`; `logs/read` → a few log lines and who asked; anything else →
/// -32601. A body that is not a JSON-RPC request object → -32700 / -32600.
async fn mcp(AccessToken(claims): AccessToken, body: Bytes) -> axum::Json<Value> {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return axum::Json(rpc_error(Value::Null, -32700, "Parse error"));
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let (Some("2.0"), Some(method)) = (
        request.get("jsonrpc").and_then(Value::as_str),
        request.get("method").and_then(Value::as_str),
    ) else {
        return axum::Json(rpc_error(id, -32600, "Invalid Request"));
    };
    let result = match method {
        "ping" => json!({}),
        "logs/read" => json!({
            "entries": [
                {"level": "info", "message": "service started"},
                {"level": "warn", "message": "disk usage at 80%"},
            ],
            "caller": {
                "client_id": claims.client_id,
                "scope": claims.scope.render(),
                "iss": claims.issuer,
                "jti": claims.jwt_id,
            },
        }),
        _ => return axum::Json(rpc_error(id, -32601, "Method not found")),
    };
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}
