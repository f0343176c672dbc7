//! `/api/v1/enterprises`: certification bodies register the enterprises they certify as their
//! licensees; each issuer sees its own licensees only, exactly as if no other existed, and the
//! brand authority sees every licence. Writes go to the log; reads come from the `enterprises`
//! projection, caught up first.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::{IssuerCaller, Principal};
use super::error::ApiError;
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::registry::RegistryError;
use crate::app::{EnterpriseFilter, EnterpriseRecord};
use crate::domain::enterprise::EnterpriseRegistered;
use crate::domain::region::RegionCode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterEnterprise {
    uscc: String,
    /// A pre-2015 registration number, accepted without the GB 32100 check and marked so.
    #[serde(default)]
    legacy_code: bool,
    name: String,
    region: RegionCode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    region: Option<RegionCode>,
    after: Option<String>,
    limit: Option<u32>,
}

/// `POST /api/v1/enterprises` (issuer): 201 with the licence; 409 if this issuer already
/// registered the code (another issuer's licence for it is not this one's business).
pub async fn register(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiJson(body): ApiJson<RegisterEnterprise>,
) -> Result<(StatusCode, Json<EnterpriseRecord>), ApiError> {
    let issuer = principal.acting_issuer(&state).await?.registered.issuer_id;
    let registered = EnterpriseRegistered::new(
        &body.uscc,
        body.legacy_code,
        &body.name,
        body.region,
        issuer,
    )
    .map_err(RegistryError::from)?;
    let record = state
        .services
        .registry
        .register_enterprise(registered, &principal.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// `GET /api/v1/enterprises?region=&after=&limit=`: one page, by USCC then issuer.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<EnterpriseRecord>>, ApiError> {
    let filter = EnterpriseFilter {
        registered_by: principal.own_issuer_or_all()?,
        region: q.region,
        after: q.after,
        limit: page_limit(q.limit)?,
        ..EnterpriseFilter::default()
    };
    Ok(Json(state.services.registry.enterprises(&filter).await?))
}

/// `GET /api/v1/enterprises/{uscc}`: the caller's licence (the first, for the brand
/// authority); 404 also for another issuer's licensee.
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(uscc): ApiPath<String>,
) -> Result<Json<EnterpriseRecord>, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    let record = state
        .services
        .registry
        .enterprise(issuer.as_deref(), &uscc)
        .await?;
    Ok(Json(record))
}
