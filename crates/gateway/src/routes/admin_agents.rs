//! Admin REST for agents (DESIGN §4): create, list, read, update, delete, history, credential issuance.

use axum::Router;

use crate::AppState;

/// The routes of this module (empty until the owning issue lands).
pub fn admin_routes() -> Router<AppState> {
    Router::new()
}
