//! `/api/v1/tokens`: the brand authority's view of access tokens (never the tokens
//! themselves, which exist only where they were handed out).

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::auth::Principal;
use crate::access::{Role, TokenRecord};
use crate::error::ApiError;

/// `GET /api/v1/tokens` (admin): every token's id, grant, note and state.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    principal.require(Role::Admin)?;
    Ok(Json(state.log.store().tokens().await?))
}
