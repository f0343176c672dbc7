//! `/api/v1/certificates`: a certification body takes an enterprise's application through
//! evaluation to issuing, and suspends, reinstates or revokes what it issued. Each issuer sees
//! and acts on its own certificates only (others' are 404); the brand authority reads all.
//! States are shown as of today, so an issued certificate past its validity reads `expired`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use time::Date;

use super::auth::{IssuerCaller, Principal};
use super::error::{ApiError, Busy, Conflicting, Guarded, Invalid, JsonBody, Missing};
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::registry::RegistryError;
use crate::app::registry::certificates::CertificateStep;
use crate::app::{CertificateFilter, CertificateRecord};
use crate::domain::certificate::{Applied, Evaluated, EvaluationResult, Issued, Reason};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Apply {
    enterprise_uscc: String,
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    product_name: String,
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    product_category: String,
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    standard: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    scope: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evaluate {
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    evaluator: String,
    result: EvaluationResult,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    report_sha256: String,
    date: Date,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Issue {
    #[schema(pattern = "^[A-Z0-9]+(-[A-Z0-9]+)*$", max_length = 32)]
    code: String,
    valid_from: Date,
    valid_until: Date,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithReason {
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The last certificate id of the previous page.
    after: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

/// `POST /api/v1/certificates` (issuer): an application for one of its licensees.
#[utoipa::path(
    post,
    operation_id = "certificates_apply",
    path = "/api/v1/certificates",
    tag = "registry",
    summary = "Apply for a certificate (issuer; 企业申请)",
    description = "For one of the issuer's own licensees only: an enterprise registered nowhere and another issuer's licensee get the same 400.",
    request_body = Apply,
    responses(
        (status = 201, description = "The certificate, its state as of today.", body = CertificateRecord, content_type = "application/json"),
        Guarded, JsonBody, Busy,
    ),
    security(("bearer" = ["issuer"])),
)]
pub async fn apply(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiJson(body): ApiJson<Apply>,
) -> Result<(StatusCode, Json<CertificateRecord>), ApiError> {
    let issuer = principal.acting_issuer(&state).await?.registered.issuer_id;
    let id = uuid::Uuid::now_v7().simple().to_string();
    let applied = Applied::new(
        id,
        issuer,
        body.enterprise_uscc,
        &body.product_name,
        &body.product_category,
        &body.standard,
        &body.scope,
    )
    .map_err(RegistryError::from)?;
    let record = state
        .services
        .registry
        .apply_certificate(applied, &principal.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// `POST /api/v1/certificates/{id}/evaluate`.
#[utoipa::path(
    post,
    operation_id = "certificates_evaluate",
    path = "/api/v1/certificates/{id}/evaluate",
    tag = "registry",
    summary = "Record the third-party evaluation (第三方评价); from applied only (issuer)",
    description = "A transition the current state does not allow is a 409 naming the state.",
    params(
        ("id" = String, Path),
    ),
    request_body = Evaluate,
    responses(
        (status = 200, description = "The certificate, its state as of today.", body = CertificateRecord, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["issuer"])),
)]
pub async fn evaluate(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<Evaluate>,
) -> Result<Json<CertificateRecord>, ApiError> {
    let step = Evaluated::new(&b.evaluator, b.result, &b.report_sha256, b.date)
        .map_err(RegistryError::from)?;
    advance(state, principal, id, CertificateStep::Evaluate(step)).await
}

/// `POST /api/v1/certificates/{id}/issue`: only a passed evaluation; the code is unique.
#[utoipa::path(
    post,
    operation_id = "certificates_issue",
    path = "/api/v1/certificates/{id}/issue",
    tag = "registry",
    summary = "Issue a passed certificate; the code is unique; a suspended issuer may not issue (issuer)",
    description = "A transition the current state does not allow is a 409 naming the state.",
    params(
        ("id" = String, Path),
    ),
    request_body = Issue,
    responses(
        (status = 200, description = "The certificate, its state as of today.", body = CertificateRecord, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["issuer"])),
)]
pub async fn issue(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<Issue>,
) -> Result<Json<CertificateRecord>, ApiError> {
    let step = Issued::new(&b.code, b.valid_from, b.valid_until).map_err(RegistryError::from)?;
    advance(state, principal, id, CertificateStep::Issue(step)).await
}

/// `POST /api/v1/certificates/{id}/suspend`.
#[utoipa::path(
    post,
    operation_id = "certificates_suspend",
    path = "/api/v1/certificates/{id}/suspend",
    tag = "registry",
    summary = "Suspend an issued certificate (issuer)",
    description = "A transition the current state does not allow is a 409 naming the state.",
    params(
        ("id" = String, Path),
    ),
    request_body = WithReason,
    responses(
        (status = 200, description = "The certificate, its state as of today.", body = CertificateRecord, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["issuer"])),
)]
pub async fn suspend(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<WithReason>,
) -> Result<Json<CertificateRecord>, ApiError> {
    let step = Reason::new(&b.reason).map_err(RegistryError::from)?;
    advance(state, principal, id, CertificateStep::Suspend(step)).await
}

/// `POST /api/v1/certificates/{id}/reinstate`.
#[utoipa::path(
    post,
    operation_id = "certificates_reinstate",
    path = "/api/v1/certificates/{id}/reinstate",
    tag = "registry",
    summary = "Reinstate a suspended certificate (issuer)",
    description = "A transition the current state does not allow is a 409 naming the state.",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "The certificate, its state as of today.", body = CertificateRecord, content_type = "application/json"),
        Guarded, Invalid, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["issuer"])),
)]
pub async fn reinstate(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CertificateRecord>, ApiError> {
    advance(state, principal, id, CertificateStep::Reinstate).await
}

/// `POST /api/v1/certificates/{id}/revoke`: final.
#[utoipa::path(
    post,
    operation_id = "certificates_revoke",
    path = "/api/v1/certificates/{id}/revoke",
    tag = "registry",
    summary = "Revoke an issued or suspended certificate, for good (issuer)",
    description = "A transition the current state does not allow is a 409 naming the state.",
    params(
        ("id" = String, Path),
    ),
    request_body = WithReason,
    responses(
        (status = 200, description = "The certificate, its state as of today.", body = CertificateRecord, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["issuer"])),
)]
pub async fn revoke(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<WithReason>,
) -> Result<Json<CertificateRecord>, ApiError> {
    let step = Reason::new(&b.reason).map_err(RegistryError::from)?;
    advance(state, principal, id, CertificateStep::Revoke(step)).await
}

async fn advance(
    state: AppState,
    principal: Principal,
    id: String,
    step: CertificateStep,
) -> Result<Json<CertificateRecord>, ApiError> {
    let issuer = principal.acting_issuer(&state).await?.registered.issuer_id;
    let record = state
        .services
        .registry
        .advance_certificate(&id, &issuer, step, &principal.actor())
        .await?;
    Ok(Json(record))
}

/// `GET /api/v1/certificates?after=&limit=`: one page, by id.
#[utoipa::path(
    get,
    operation_id = "certificates_list",
    path = "/api/v1/certificates",
    tag = "registry",
    summary = "List certificates (issuer: its own; admin: all)",
    params(
        ListQuery,
    ),
    responses(
        (status = 200, description = "One page, by id.", body = [CertificateRecord], content_type = "application/json"),
        Guarded, Invalid,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<CertificateRecord>>, ApiError> {
    let filter = CertificateFilter {
        issuer: principal.own_issuer_or_all()?,
        after: q.after,
        limit: page_limit(q.limit)?,
        ..CertificateFilter::default()
    };
    Ok(Json(state.services.registry.certificates(&filter).await?))
}

/// `GET /api/v1/certificates/{id}`.
#[utoipa::path(
    get,
    operation_id = "certificates_get",
    path = "/api/v1/certificates/{id}",
    tag = "registry",
    summary = "One certificate",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "The certificate, its state as of today.", body = CertificateRecord, content_type = "application/json"),
        Guarded, Missing,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CertificateRecord>, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    let record = state
        .services
        .registry
        .certificate(issuer.as_deref(), &id)
        .await?;
    Ok(Json(record))
}
