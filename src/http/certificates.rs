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
use super::error::ApiError;
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::registry::RegistryError;
use crate::app::registry::certificates::CertificateStep;
use crate::app::{CertificateFilter, CertificateRecord};
use crate::domain::certificate::{Applied, Evaluated, EvaluationResult, Issued, Reason};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Apply {
    enterprise_uscc: String,
    product_name: String,
    product_category: String,
    standard: String,
    scope: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluate {
    evaluator: String,
    result: EvaluationResult,
    report_sha256: String,
    date: Date,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issue {
    code: String,
    valid_from: Date,
    valid_until: Date,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithReason {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    after: Option<String>,
    limit: Option<u32>,
}

/// `POST /api/v1/certificates` (issuer): an application for one of its licensees.
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
pub async fn reinstate(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CertificateRecord>, ApiError> {
    advance(state, principal, id, CertificateStep::Reinstate).await
}

/// `POST /api/v1/certificates/{id}/revoke`: final.
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
