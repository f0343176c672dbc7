//! `/api/v1/issuers`: the brand authority registers certification bodies and suspends or
//! reinstates them. Admin only. Writes go to the log; reads come from the `issuers`
//! projection, caught up first so a client reads its own writes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::{Admin, Principal};
use super::error::{ApiError, Busy, Conflicting, Guarded, Invalid, JsonBody, Missing};
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::registry::RegistryError;
use crate::app::{IssuerFilter, IssuerRecord};
use crate::domain::issuer::{BrandId, IssuerId, IssuerRegistered, IssuerStatus};
use crate::domain::region::RegionCode;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIssuer {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,31}$")]
    id: String,
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    name: String,
    /// 江西绿色生态, or a city or county sub-brand.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    brand: String,
    region: RegionCode,
    /// The registered sub-brand (a city or county public brand) it certifies for; its marks
    /// show "<brand> · <sub-brand>" and answer `suspended` while the sub-brand is.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,31}$")]
    sub_brand: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Suspend {
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<IssuerStatus>,
    /// GB/T 2260 code; covers the codes below it.
    region: Option<RegionCode>,
    /// The last issuer id of the previous page.
    after: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

/// `POST /api/v1/issuers`: 201 with the new issuer; 409 if the id is taken.
#[utoipa::path(
    post,
    operation_id = "issuers_register",
    path = "/api/v1/issuers",
    tag = "registry",
    summary = "Register an issuer (admin)",
    request_body = RegisterIssuer,
    responses(
        (status = 201, description = "The issuer.", body = IssuerRecord, content_type = "application/json"),
        Guarded, JsonBody, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn register(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiJson(body): ApiJson<RegisterIssuer>,
) -> Result<(StatusCode, Json<IssuerRecord>), ApiError> {
    let sub_brand = body.sub_brand.as_deref().map(BrandId::parse).transpose();
    let registered = IssuerRegistered::new(&body.id, &body.name, &body.brand, body.region)
        .and_then(|r| Ok(r.under(sub_brand?)))
        .map_err(RegistryError::from)?;
    let record = state
        .services
        .registry
        .register_issuer(registered, &principal.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// `GET /api/v1/issuers?status=&region=&after=&limit=`: one page, by id.
#[utoipa::path(
    get,
    operation_id = "issuers_list",
    path = "/api/v1/issuers",
    tag = "registry",
    summary = "List issuers (admin)",
    params(
        ListQuery,
    ),
    responses(
        (status = 200, description = "One page of issuers, by id.", body = [IssuerRecord], content_type = "application/json"),
        Guarded, Invalid,
    ),
    security(("bearer" = ["admin"])),
)]
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
#[utoipa::path(
    get,
    operation_id = "issuers_get",
    path = "/api/v1/issuers/{id}",
    tag = "registry",
    summary = "One issuer (admin)",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "The issuer.", body = IssuerRecord, content_type = "application/json"),
        Guarded, Missing,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn get(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IssuerRecord>, ApiError> {
    let id = IssuerId::parse(&id).map_err(|e| ApiError::NotFound(e.to_string()))?;
    Ok(Json(state.services.registry.issuer(&id).await?))
}

/// `POST /api/v1/issuers/{id}/suspend` with a reason: the issuer may no longer issue.
#[utoipa::path(
    post,
    operation_id = "issuers_suspend",
    path = "/api/v1/issuers/{id}/suspend",
    tag = "registry",
    summary = "Suspend an active issuer (admin)",
    description = "A suspended issuer may not issue. Suspending a suspended issuer is a 409 naming its state.",
    params(
        ("id" = String, Path),
    ),
    request_body = Suspend,
    responses(
        (status = 200, description = "The issuer.", body = IssuerRecord, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn suspend(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Suspend>,
) -> Result<Json<IssuerRecord>, ApiError> {
    set_status(state, principal, id, Some(body.reason)).await
}

/// `POST /api/v1/issuers/{id}/reinstate`.
#[utoipa::path(
    post,
    operation_id = "issuers_reinstate",
    path = "/api/v1/issuers/{id}/reinstate",
    tag = "registry",
    summary = "Reinstate a suspended issuer (admin)",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "The issuer.", body = IssuerRecord, content_type = "application/json"),
        Guarded, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
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
