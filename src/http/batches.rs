//! `/api/v1/batches` and `/api/v1/marks`: a certification body issues batches of marks under
//! its certificates, reports ranges of them (voided, lost, stolen, revoked, suspended,
//! reinstated), exports them for the printing house as a streamed CSV, and renders a mark's
//! label QR code. Each issuer sees its own batches only (others' are 404); the brand authority
//! reads all. Batches and marks are read from the in-memory index, caught up first.

use axum::Json;
use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::{IssuerCaller, Principal};
use super::error::ApiError;
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::marks::{MarkRecord, Report, UrlForm};
use crate::app::{BatchEntry, MAX_MODULE_PX};
use crate::domain::batch::{MarkStatus, RangeReported};
use crate::domain::gtin::Gtin;
use crate::domain::region::RegionCode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueBatch {
    certificate_id: String,
    count: u64,
    gtin: Option<Gtin>,
    #[serde(default)]
    regions: Vec<RegionCode>,
    lot: Option<String>,
    notes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    first: u64,
    last: u64,
    status: MarkStatus,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    after: Option<String>,
    limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrQuery {
    #[serde(default)]
    form: UrlForm,
    /// Pixels per module of a PNG, 1 to 32 (default 8).
    px: Option<u32>,
}

/// `POST /api/v1/batches` (issuer): 201 with the batch, one event whatever its count.
pub async fn issue(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiJson(body): ApiJson<IssueBatch>,
) -> Result<(StatusCode, Json<BatchEntry>), ApiError> {
    let issuer = principal.acting_issuer(&state).await?.registered.issuer_id;
    let marks = &state.services.marks;
    let request = marks.request(
        &body.certificate_id,
        body.count,
        body.gtin,
        body.regions,
        body.lot.as_deref(),
        body.notes.as_deref(),
    )?;
    let batch = marks.issue(&issuer, request, &principal.actor()).await?;
    Ok((StatusCode::CREATED, Json(batch)))
}

/// `GET /api/v1/batches?after=&limit=`: one page in serial order.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<BatchEntry>>, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    let limit = page_limit(q.limit)? as usize;
    let batches = state
        .services
        .marks
        .batches(issuer.as_deref(), q.after.as_deref(), limit)
        .await?;
    Ok(Json(batches))
}

/// `GET /api/v1/batches/{id}`: the batch and its reports.
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BatchEntry>, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    Ok(Json(
        state.services.marks.batch(issuer.as_deref(), &id).await?,
    ))
}

/// `POST /api/v1/batches/{id}/reports` (issuer): a range gets a new status.
pub async fn report(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReportBody>,
) -> Result<Json<RangeReported>, ApiError> {
    let issuer = principal.acting_issuer(&state).await?.registered.issuer_id;
    let asked = Report {
        first: body.first,
        last: body.last,
        status: body.status,
        reason: body.reason.as_deref(),
    };
    let report = state
        .services
        .marks
        .report(&issuer, &id, asked, &principal.actor())
        .await?;
    Ok(Json(report))
}

/// `GET /api/v1/batches/{id}/marks.csv`: `serial,token,url[,gs1_url]` for every mark, signed
/// in parallel and streamed in serial order with bounded memory.
pub async fn marks_csv(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    let export = state.services.marks.export(issuer.as_deref(), &id).await?;
    let header = Some(Bytes::from_static(export.header().as_bytes()));
    // The header, then each chunk as the workers finish it; when the client goes away the
    // stream is dropped, the export with it, and the workers stop.
    let chunks = futures_util::stream::unfold((header, export), |(header, mut export)| async {
        let bytes = match header {
            Some(header) => header,
            None => Bytes::from(export.next_chunk().await?.csv),
        };
        Some((Ok::<_, Infallible>(bytes), (None, export)))
    });
    let disposition = format!("attachment; filename=\"marks-{id}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// `GET /api/v1/marks/{serial}`: the mark's batch, status, token and label URLs.
pub async fn mark(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(serial): ApiPath<u64>,
) -> Result<Json<MarkRecord>, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    Ok(Json(
        state.services.marks.mark(issuer.as_deref(), serial).await?,
    ))
}

/// `GET /api/v1/marks/{serial}/qr.svg?form=short|gs1`: the label QR code as SVG.
pub async fn qr_svg(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(serial): ApiPath<u64>,
    ApiQuery(q): ApiQuery<QrQuery>,
) -> Result<Response, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    let label = state
        .services
        .marks
        .label(issuer.as_deref(), serial, q.form)
        .await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], label.svg()).into_response())
}

/// `GET /api/v1/marks/{serial}/qr.png?form=short|gs1&px=8`: the label QR code as PNG.
pub async fn qr_png(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(serial): ApiPath<u64>,
    ApiQuery(q): ApiQuery<QrQuery>,
) -> Result<Response, ApiError> {
    let px = q.px.unwrap_or(8);
    if !(1..=MAX_MODULE_PX).contains(&px) {
        return Err(ApiError::InvalidRequest(format!(
            "px must be 1 to {MAX_MODULE_PX} pixels per module"
        )));
    }
    let issuer = principal.own_issuer_or_all()?;
    let label = state
        .services
        .marks
        .label(issuer.as_deref(), serial, q.form)
        .await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], label.png(px)).into_response())
}
