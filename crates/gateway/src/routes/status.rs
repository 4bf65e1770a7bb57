//! Status list publication: GET /status/{list} (Token Status List or Bitstring Status List credential by Accept).

use axum::Router;

use crate::AppState;

/// The routes of this module (empty until the owning issue lands).
pub fn routes() -> Router<AppState> {
    Router::new()
}
