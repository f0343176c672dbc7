//! `/api/v1/tokens`: the brand authority mints, lists and revokes access tokens (a minted
//! token is shown once; the list never holds the tokens, which exist only where they were
//! handed out).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::auth::Admin;
use super::error::{ApiError, Busy, Conflicting, Guarded, JsonBody};
use super::state::{ApiJson, ApiPath, AppState};
use crate::app::TokenRecord;
use crate::domain::access::{Grant, Role};
use crate::domain::region::RegionCode;

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

/// What the brand authority mints a token for.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintToken {
    role: Role,
    /// The issuer an issuer token acts for (issuer tokens only).
    issuer: Option<String>,
    /// The regions a supervisor (exactly one) or enforcement token (one or more) covers.
    #[serde(default)]
    regions: Vec<RegionCode>,
    /// Who the token is for, for the list.
    #[schema(max_length = 200)]
    note: Option<String>,
}

/// A minted token: the bearer string, shown this once and stored nowhere.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Minted {
    pub token_id: String,
    /// `mt_<id>_<secret>`: hand it over now; only its SHA-256 is kept.
    pub bearer: String,
}

/// `POST /api/v1/tokens` (admin): mints a token, as `marktrace token create` does.
#[utoipa::path(
    post,
    operation_id = "tokens_mint",
    path = "/api/v1/tokens",
    tag = "admin",
    summary = "Mint an access token (admin)",
    description = "The bearer token is in this answer only; the log records its SHA-256 in a confidential event. A scope that does not fit the role (an issuer token without its issuer, a supervisor with other than one region) is refused.",
    request_body = MintToken,
    responses(
        (status = 201, description = "The token, shown once.", body = Minted, content_type = "application/json"),
        Guarded, JsonBody, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn mint(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<MintToken>,
) -> Result<(StatusCode, Json<Minted>), ApiError> {
    let grant = Grant::new(body.role, body.issuer, body.regions)
        .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let note = body
        .note
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(ApiError::InvalidRequest(
            "note: at most 200 characters".to_owned(),
        ));
    }
    let minted = state
        .services
        .access
        .create(grant, note, &admin.actor())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Minted {
            token_id: minted.token_id,
            bearer: minted.bearer,
        }),
    ))
}

/// `POST /api/v1/tokens/{id}/revoke` (admin): revokes a token for good; its requests and
/// console sessions are refused at once on every node.
#[utoipa::path(
    post,
    operation_id = "tokens_revoke",
    path = "/api/v1/tokens/{id}/revoke",
    tag = "admin",
    summary = "Revoke an access token (admin)",
    params(
        ("id" = String, Path, description = "The token id: 16 hex digits."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        Guarded, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn revoke(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.services.access.revoke(&id, &admin.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
