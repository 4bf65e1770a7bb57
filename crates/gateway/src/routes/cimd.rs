//! Hosted Client ID Metadata Documents: GET /agents/{id}/client-metadata.json.

use axum::Router;

use crate::AppState;

/// The routes of this module (empty until the owning issue lands).
pub fn routes() -> Router<AppState> {
    Router::new()
}
