//! `/api/v1/tokens`: the brand authority's view of access tokens (never the tokens
//! themselves, which exist only where they were handed out).

use axum::Json;
use axum::extract::State;

use super::auth::Admin;
use super::error::ApiError;
use super::state::AppState;
use crate::app::TokenRecord;

/// `GET /api/v1/tokens` (admin): every token's id, grant, note and state.
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    Ok(Json(state.services.access.tokens().await?))
}
