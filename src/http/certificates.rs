//! `/api/v1/certificates`: a certification body takes an enterprise's application through
//! evaluation to issuing, and suspends, reinstates or revokes what it issued. Each issuer sees
//! and acts on its own certificates only (others' are 404); the brand authority reads all.
//! States are shown as of today, so an issued certificate past its validity reads `expired`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::auth::{IssuerCaller, Principal};
use super::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::domain::certificate::{Applied, Evaluated, EvaluationResult, Issued, Reason};
use crate::domain::issuer::IssuerStatus;
use crate::error::ApiError;
use crate::projections::catch_up;
use crate::projections::certificates::{CertificateRecord, Certificates};
use crate::registry::{self, CertificateStep, RegistryError};
use crate::storage::CertificateFilter;

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

fn today() -> Date {
    OffsetDateTime::now_utc().date()
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
    let id = registry::apply_certificate(&state.log, applied, &principal.actor()).await?;
    Ok((StatusCode::CREATED, Json(one(&state, &id, None).await?)))
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
    let issuer = principal.acting_issuer(&state).await?;
    let issuing = matches!(step, CertificateStep::Issue(_));
    if issuing && issuer.status == IssuerStatus::Suspended {
        return Err(ApiError::Forbidden(format!(
            "issuer {} is suspended and may not issue",
            issuer.registered.issuer_id.as_str()
        )));
    }
    let issuer_id = issuer.registered.issuer_id;
    registry::advance_certificate(&state.log, &id, &issuer_id, step, &principal.actor()).await?;
    Ok(Json(
        one(&state, &id, Some(issuer_id.as_str().to_owned())).await?,
    ))
}

/// `GET /api/v1/certificates?after=&limit=`: one page, by id.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<CertificateRecord>>, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    let limit = page_limit(q.limit)?;
    catch_up(&state.log, &Certificates).await?;
    let filter = CertificateFilter {
        issuer,
        after: q.after,
        limit,
        ..CertificateFilter::default()
    };
    let today = today();
    let records = state.log.store().certificates(&filter).await?;
    Ok(Json(records.into_iter().map(|r| r.on(today)).collect()))
}

/// `GET /api/v1/certificates/{id}`.
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CertificateRecord>, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    Ok(Json(one(&state, &id, issuer).await?))
}

async fn one(
    state: &AppState,
    id: &str,
    issuer: Option<String>,
) -> Result<CertificateRecord, ApiError> {
    catch_up(&state.log, &Certificates).await?;
    let filter = CertificateFilter {
        id: Some(id.to_owned()),
        issuer,
        limit: 1,
        ..CertificateFilter::default()
    };
    let record = state.log.store().certificates(&filter).await?.pop();
    record
        .map(|r| r.on(today()))
        .ok_or_else(|| ApiError::NotFound(format!("no certificate {id} is visible to this token")))
}
