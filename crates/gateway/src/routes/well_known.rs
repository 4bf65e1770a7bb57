//! The domain's key publication: /.well-known/did.json, /.well-known/jwks.json, /.well-known/jwt-vc-issuer.

use axum::Router;

use crate::AppState;

/// The routes of this module (empty until the owning issue lands).
pub fn routes() -> Router<AppState> {
    Router::new()
}
