//! `/api/v1/enterprises`: certification bodies register the enterprises they certify as their
//! licensees; each issuer sees its own licensees only, exactly as if no other existed, and the
//! brand authority sees every licence. Writes go to the log; reads come from the `enterprises`
//! projection, caught up first.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::{IssuerCaller, Principal};
use super::error::{ApiError, Busy, Conflicting, Guarded, Invalid, JsonBody, Missing};
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::registry::RegistryError;
use crate::app::{EnterpriseFilter, EnterpriseRecord};
use crate::domain::enterprise::EnterpriseRegistered;
use crate::domain::region::RegionCode;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterEnterprise {
    uscc: String,
    /// A pre-2015 registration number, accepted without the GB 32100 check and marked so.
    #[serde(default)]
    legacy_code: bool,
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    name: String,
    region: RegionCode,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    region: Option<RegionCode>,
    /// The last USCC of the previous page, or `USCC:issuer` to resume within the licences of
    /// one code (one enterprise may be the licensee of several issuers).
    after: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

/// `POST /api/v1/enterprises` (issuer): 201 with the licence; 409 if this issuer already
/// registered the code (another issuer's licence for it is not this one's business).
#[utoipa::path(
    post,
    operation_id = "enterprises_register",
    path = "/api/v1/enterprises",
    tag = "registry",
    summary = "Register an enterprise as the issuer's licensee (issuer)",
    description = "The USCC is trimmed and upper-cased and must pass the GB 32100-2015 check, unless `legacy_code` is true (then 1 to 30 of 0-9, A-Z and '-', marked legacy). The token's issuer must be registered. The licence is the issuer's own: the same enterprise may be another issuer's licensee too, which neither blocks nor shows through this one; a 409 means this issuer registered the code already.",
    request_body = RegisterEnterprise,
    responses(
        (status = 201, description = "The enterprise.", body = EnterpriseRecord, content_type = "application/json"),
        Guarded, JsonBody, Conflicting, Busy,
    ),
    security(("bearer" = ["issuer"])),
)]
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
#[utoipa::path(
    get,
    operation_id = "enterprises_list",
    path = "/api/v1/enterprises",
    tag = "registry",
    summary = "List licensees (issuer: its own; admin: every licence)",
    params(
        ListQuery,
    ),
    responses(
        (status = 200, description = "One page, by USCC then issuer.", body = [EnterpriseRecord], content_type = "application/json"),
        Guarded, Invalid,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
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
#[utoipa::path(
    get,
    operation_id = "enterprises_get",
    path = "/api/v1/enterprises/{uscc}",
    tag = "registry",
    summary = "One licensee",
    description = "The caller's licence for this code (the brand authority: the first by issuer). A 404 also for another issuer's licensee, exactly as for a code registered nowhere.",
    params(
        ("uscc" = String, Path),
    ),
    responses(
        (status = 200, description = "The enterprise.", body = EnterpriseRecord, content_type = "application/json"),
        Guarded, Missing,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
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
