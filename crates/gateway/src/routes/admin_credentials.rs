//! Admin REST for the credential lifecycle (DESIGN §4): read, revoke, suspend, unsuspend; key rotation.

use axum::Router;

use crate::AppState;

/// The routes of this module (empty until the owning issue lands).
pub fn admin_routes() -> Router<AppState> {
    Router::new()
}
