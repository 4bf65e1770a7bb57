//! RFC 7591/7592 dynamic client registration, the compatibility path: /register.

use axum::Router;

use crate::AppState;

/// The routes of this module (empty until the owning issue lands).
pub fn routes() -> Router<AppState> {
    Router::new()
}
