//! Brand mutual recognition over HTTP (品牌互认), admin only: `/api/v1/sub-brands` (the city
//! and county public brands under this brand, suspended and reinstated as a whole) and
//! `/api/v1/recognized-brands` (partner brands, registered from their key directory document
//! and log verifier key; their later keys imported the same way). The rules are the
//! registry's.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::{Admin, Principal};
use super::error::{ApiError, Busy, Conflicting, Guarded, JsonBody, Missing};
use super::state::{ApiJson, ApiPath, AppState};
use crate::app::registry::RegistryError;
use crate::app::registry::brands::NewPartner;
use crate::app::{PartnerEntry, SubBrandEntry};
use crate::domain::brand::{Directory, SubBrandRegistered};
use crate::domain::issuer::BrandId;
use crate::domain::region::RegionCode;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterSubBrand {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,31}$")]
    id: String,
    /// Shown after the brand's name: "江西绿色生态 · <name>".
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    name: String,
    region: RegionCode,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendSubBrand {
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterPartner {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,31}$")]
    id: String,
    /// The partner brand's name (上海品牌, 江苏精品, 品字标, 圳品…).
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    name: String,
    /// The partner log's C2SP verifier key, `origin+keyid+base64(0x01‖pub)`: its
    /// `GET /api/v1/log/key`.
    log_vkey: String,
    /// Where the partner answers `POST /api/v1/verify` (its public URL), for the live status
    /// of its marks; omit for a brand that does not run marktrace.
    status_url: Option<String>,
    /// The partner's key directory: its `GET /api/v1/keys` answer, or the same JSON.
    directory: Directory,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportKeys {
    /// The partner's key directory as it stands now.
    directory: Directory,
}

fn brand_id(id: &str) -> Result<BrandId, ApiError> {
    BrandId::parse(id).map_err(|e| ApiError::NotFound(e.to_string()))
}

/// `POST /api/v1/sub-brands`: 201 with the new sub-brand; 409 if the id is taken.
#[utoipa::path(
    post,
    operation_id = "sub_brands_register",
    path = "/api/v1/sub-brands",
    tag = "brands",
    summary = "Register a sub-brand (admin)",
    description = "A city or county public brand under this brand. Issuers registered with `sub_brand` certify for it.",
    request_body = RegisterSubBrand,
    responses(
        (status = 201, description = "The sub-brand.", body = SubBrandEntry, content_type = "application/json"),
        Guarded, JsonBody, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn register_sub_brand(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiJson(body): ApiJson<RegisterSubBrand>,
) -> Result<(StatusCode, Json<SubBrandEntry>), ApiError> {
    let registered =
        SubBrandRegistered::new(&body.id, &body.name, body.region).map_err(RegistryError::from)?;
    let entry = state
        .services
        .registry
        .register_sub_brand(registered, &principal.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// `GET /api/v1/sub-brands`.
#[utoipa::path(
    get,
    operation_id = "sub_brands_list",
    path = "/api/v1/sub-brands",
    tag = "brands",
    summary = "Every sub-brand, by id (admin)",
    responses(
        (status = 200, description = "The sub-brands.", body = [SubBrandEntry], content_type = "application/json"),
        Guarded,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn sub_brands(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<SubBrandEntry>>, ApiError> {
    Ok(Json(state.services.registry.sub_brands().await?))
}

/// `GET /api/v1/sub-brands/{id}`.
#[utoipa::path(
    get,
    operation_id = "sub_brands_get",
    path = "/api/v1/sub-brands/{id}",
    tag = "brands",
    summary = "One sub-brand (admin)",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The sub-brand.", body = SubBrandEntry, content_type = "application/json"),
        Guarded, Missing,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn sub_brand(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SubBrandEntry>, ApiError> {
    let id = brand_id(&id)?;
    Ok(Json(state.services.registry.sub_brand(&id).await?))
}

/// `POST /api/v1/sub-brands/{id}/suspend`.
#[utoipa::path(
    post,
    operation_id = "sub_brands_suspend",
    path = "/api/v1/sub-brands/{id}/suspend",
    tag = "brands",
    summary = "Suspend a sub-brand as a whole (admin)",
    description = "Every mark of the sub-brand's issuers answers `suspended` with reason `brand_suspended` until it is reinstated. Suspending a suspended sub-brand is a 409.",
    params(("id" = String, Path)),
    request_body = SuspendSubBrand,
    responses(
        (status = 200, description = "The sub-brand.", body = SubBrandEntry, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn suspend_sub_brand(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SuspendSubBrand>,
) -> Result<Json<SubBrandEntry>, ApiError> {
    set_sub_brand_status(state, principal, &id, Some(&body.reason)).await
}

/// `POST /api/v1/sub-brands/{id}/reinstate`.
#[utoipa::path(
    post,
    operation_id = "sub_brands_reinstate",
    path = "/api/v1/sub-brands/{id}/reinstate",
    tag = "brands",
    summary = "Reinstate a suspended sub-brand (admin)",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The sub-brand.", body = SubBrandEntry, content_type = "application/json"),
        Guarded, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn reinstate_sub_brand(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SubBrandEntry>, ApiError> {
    set_sub_brand_status(state, principal, &id, None).await
}

async fn set_sub_brand_status(
    state: AppState,
    principal: Principal,
    id: &str,
    reason: Option<&str>,
) -> Result<Json<SubBrandEntry>, ApiError> {
    let id = brand_id(id)?;
    let entry = state
        .services
        .registry
        .set_sub_brand_status(&id, reason, &principal.actor())
        .await?;
    Ok(Json(entry))
}

/// `POST /api/v1/recognized-brands`: 201 with the partner brand and its keys.
#[utoipa::path(
    post,
    operation_id = "recognized_brands_register",
    path = "/api/v1/recognized-brands",
    tag = "brands",
    summary = "Register a partner brand (admin)",
    description = "From the partner's key directory document and log verifier key. Every key must carry a valid endorsement by the directory's root; one failure refuses the document whole (400, naming the key). A key id already held by one of ours or another partner's, a taken id or a log already registered is a 409. Its marks then verify here as the partner's (`recognised`), and this node witnesses its log.",
    request_body = RegisterPartner,
    responses(
        (status = 201, description = "The partner brand.", body = PartnerEntry, content_type = "application/json"),
        Guarded, JsonBody, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn register_partner(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiJson(body): ApiJson<RegisterPartner>,
) -> Result<(StatusCode, Json<PartnerEntry>), ApiError> {
    let partner = NewPartner {
        id: &body.id,
        name: &body.name,
        log_vkey: &body.log_vkey,
        status_url: body.status_url.as_deref(),
        directory: body.directory,
    };
    let entry = state
        .services
        .registry
        .register_partner(partner, &principal.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// `GET /api/v1/recognized-brands`.
#[utoipa::path(
    get,
    operation_id = "recognized_brands_list",
    path = "/api/v1/recognized-brands",
    tag = "brands",
    summary = "Every partner brand, by id (admin)",
    responses(
        (status = 200, description = "The partner brands.", body = [PartnerEntry], content_type = "application/json"),
        Guarded,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn partners(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<PartnerEntry>>, ApiError> {
    Ok(Json(state.services.registry.partners().await?))
}

/// `GET /api/v1/recognized-brands/{id}`.
#[utoipa::path(
    get,
    operation_id = "recognized_brands_get",
    path = "/api/v1/recognized-brands/{id}",
    tag = "brands",
    summary = "One partner brand with its keys (admin)",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The partner brand.", body = PartnerEntry, content_type = "application/json"),
        Guarded, Missing,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn partner(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PartnerEntry>, ApiError> {
    let id = brand_id(&id)?;
    Ok(Json(state.services.registry.partner(&id).await?))
}

/// `POST /api/v1/recognized-brands/{id}/keys`: the partner's directory again.
#[utoipa::path(
    post,
    operation_id = "recognized_brands_import_keys",
    path = "/api/v1/recognized-brands/{id}/keys",
    tag = "brands",
    summary = "Import a partner brand's keys again (admin)",
    description = "Keys the partner added since, and its current status of the keys already known (a key it marked compromised carries `key_compromised` here too). The directory's root must be the registered one, and every key endorsed by it; one failure refuses the document whole.",
    params(("id" = String, Path)),
    request_body = ImportKeys,
    responses(
        (status = 200, description = "The partner brand.", body = PartnerEntry, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn import_keys(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ImportKeys>,
) -> Result<Json<PartnerEntry>, ApiError> {
    let id = brand_id(&id)?;
    let entry = state
        .services
        .registry
        .import_partner_keys(&id, body.directory, &principal.actor())
        .await?;
    Ok(Json(entry))
}
