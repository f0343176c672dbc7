//! `/api/v1/issuers`: the brand authority registers certification bodies and suspends or
//! reinstates them. Admin only. Writes go to the log; reads come from the `issuers`
//! projection, caught up first so a client reads its own writes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::{Admin, Principal};
use super::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::domain::issuer::{IssuerId, IssuerRegistered, IssuerStatus};
use crate::domain::region::RegionCode;
use crate::error::ApiError;
use crate::projections::catch_up;
use crate::projections::issuers::{IssuerRecord, Issuers};
use crate::registry;
use crate::storage::IssuerFilter;

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
        .map_err(registry::RegistryError::from)?;
    let id = registered.issuer_id.clone();
    registry::register_issuer(&state.log, registered, &principal.actor()).await?;
    Ok((StatusCode::CREATED, Json(one(&state, &id).await?)))
}

/// `GET /api/v1/issuers?status=&region=&after=&limit=`: one page, by id.
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<IssuerRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    catch_up(&state.log, &Issuers).await?;
    let filter = IssuerFilter {
        status: q.status,
        region: q.region,
        after: q.after,
        limit,
        ..IssuerFilter::default()
    };
    Ok(Json(state.log.store().issuers(&filter).await?))
}

/// `GET /api/v1/issuers/{id}`.
pub async fn get(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IssuerRecord>, ApiError> {
    let id = IssuerId::parse(&id).map_err(|e| ApiError::NotFound(e.to_string()))?;
    Ok(Json(one(&state, &id).await?))
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
    registry::set_issuer_status(&state.log, &id, reason, &principal.actor()).await?;
    Ok(Json(one(&state, &id).await?))
}

/// One issuer from the caught-up projection.
async fn one(state: &AppState, id: &IssuerId) -> Result<IssuerRecord, ApiError> {
    catch_up(&state.log, &Issuers).await?;
    let filter = IssuerFilter {
        id: Some(id.as_str().to_owned()),
        limit: 1,
        ..IssuerFilter::default()
    };
    state
        .log
        .store()
        .issuers(&filter)
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("issuer {} does not exist", id.as_str())))
}
