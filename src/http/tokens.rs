//! `/api/v1/tokens`: the brand authority's view of access tokens (never the tokens
//! themselves, which exist only where they were handed out).

use axum::Json;
use axum::extract::State;

use super::auth::Admin;
use super::error::{ApiError, Guarded};
use super::state::AppState;
use crate::app::TokenRecord;

/// `GET /api/v1/tokens` (admin): every token's id, grant, note and state.
#[utoipa::path(
    get,
    operation_id = "tokens_list",
    path = "/api/v1/tokens",
    tag = "admin",
    summary = "Access tokens (admin)",
    description = "Every token's id, role, scope, note and state. Never the tokens or their hashes.",
    responses(
        (status = 200, description = "The tokens, oldest first.", body = [TokenRecord], content_type = "application/json"),
        Guarded,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    Ok(Json(state.services.access.tokens().await?))
}
