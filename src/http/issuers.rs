//! `/api/v1/issuers`: the brand authority registers certification bodies and suspends or
//! reinstates them. Admin only. Writes go to the log; reads come from the `issuers`
//! projection, caught up first so a client reads its own writes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::{Admin, Principal};
use super::error::ApiError;
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::registry::RegistryError;
use crate::app::{IssuerFilter, IssuerRecord};
use crate::domain::issuer::{IssuerId, IssuerRegistered, IssuerStatus};
use crate::domain::region::RegionCode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterIssuer {
    id: String,
    name: String,
    brand: String,
    region: RegionCode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspend {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<IssuerStatus>,
    region: Option<RegionCode>,
    after: Option<String>,
    limit: Option<u32>,
}

/// `POST /api/v1/issuers`: 201 with the new issuer; 409 if the id is taken.
pub async fn register(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiJson(body): ApiJson<RegisterIssuer>,
) -> Result<(StatusCode, Json<IssuerRecord>), ApiError> {
    let registered = IssuerRegistered::new(&body.id, &body.name, &body.brand, body.region)
        .map_err(RegistryError::from)?;
    let record = state
        .services
        .registry
        .register_issuer(registered, &principal.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// `GET /api/v1/issuers?status=&region=&after=&limit=`: one page, by id.
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<IssuerRecord>>, ApiError> {
    let filter = IssuerFilter {
        status: q.status,
        region: q.region,
        after: q.after,
        limit: page_limit(q.limit)?,
        ..IssuerFilter::default()
    };
    Ok(Json(state.services.registry.issuers(&filter).await?))
}

/// `GET /api/v1/issuers/{id}`.
pub async fn get(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IssuerRecord>, ApiError> {
    let id = IssuerId::parse(&id).map_err(|e| ApiError::NotFound(e.to_string()))?;
    Ok(Json(state.services.registry.issuer(&id).await?))
}

/// `POST /api/v1/issuers/{id}/suspend` with a reason: the issuer may no longer issue.
pub async fn suspend(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Suspend>,
) -> Result<Json<IssuerRecord>, ApiError> {
    set_status(state, principal, id, Some(body.reason)).await
}

/// `POST /api/v1/issuers/{id}/reinstate`.
pub async fn reinstate(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IssuerRecord>, ApiError> {
    set_status(state, principal, id, None).await
}

async fn set_status(
    state: AppState,
    principal: Principal,
    id: String,
    reason: Option<String>,
) -> Result<Json<IssuerRecord>, ApiError> {
    let id = IssuerId::parse(&id).map_err(|e| ApiError::NotFound(e.to_string()))?;
    let record = state
        .services
        .registry
        .set_issuer_status(&id, reason, &principal.actor())
        .await?;
    Ok(Json(record))
}
