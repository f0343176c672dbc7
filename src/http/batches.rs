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
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::auth::{IssuerCaller, Principal};
use super::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::clock;
use crate::domain::batch::{BatchIssued, BatchRequest, MarkStatus, RangeReported};
use crate::domain::gtin::Gtin;
use crate::domain::region::RegionCode;
use crate::error::ApiError;
use crate::mark::export::{CsvExport, ExportSpec, gs1_url, label_url};
use crate::mark::index::BatchEntry;
use crate::mark::qr::{Label, MAX_MODULE_PX};
use crate::mark::token::{MarkBody, sign};
use crate::registry::RegistryError;
use crate::registry::batches::{Report, batch_key, issue_batch, report_range};

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

/// Which label URL a QR code carries.
#[derive(Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UrlForm {
    /// `{public_url}/v/{token}`.
    #[default]
    Short,
    /// The GS1 Digital Link form, for batches with a GTIN.
    Gs1,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrQuery {
    #[serde(default)]
    form: UrlForm,
    /// Pixels per module of a PNG, 1 to 32 (default 8).
    px: Option<u32>,
}

/// One serial as the issuer sees it.
#[derive(Serialize)]
pub struct MarkRecord {
    serial: u64,
    batch_id: String,
    certificate_code: String,
    /// `good`, or the status the latest report gave it.
    status: String,
    token: String,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    gs1_url: Option<String>,
}

/// `POST /api/v1/batches` (issuer): 201 with the batch, one event whatever its count.
pub async fn issue(
    State(state): State<AppState>,
    IssuerCaller(principal): IssuerCaller,
    ApiJson(body): ApiJson<IssueBatch>,
) -> Result<(StatusCode, Json<BatchEntry>), ApiError> {
    let issuer = principal.acting_issuer(&state).await?.registered.issuer_id;
    let request = BatchRequest::new(
        &body.certificate_id,
        body.count,
        state.max_batch_marks,
        body.gtin,
        body.regions,
        body.lot.as_deref(),
        body.notes.as_deref(),
    )
    .map_err(RegistryError::from)?;
    let now = OffsetDateTime::now_utc();
    let batch = issue_batch(
        &state.log,
        &state.marks,
        &state.keyring,
        &issuer,
        request,
        (now.date(), clock::unix_now()),
        &principal.actor(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(own(&state, &principal, &batch.batch_id).await?),
    ))
}

/// `GET /api/v1/batches?after=&limit=`: one page in serial order.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<BatchEntry>>, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    let limit = page_limit(q.limit)? as usize;
    state.marks.catch_up(&state.log).await?;
    Ok(Json(state.marks.batches(
        issuer.as_deref(),
        q.after.as_deref(),
        limit,
    )))
}

/// `GET /api/v1/batches/{id}`: the batch and its reports.
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BatchEntry>, ApiError> {
    Ok(Json(own(&state, &principal, &id).await?))
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
    let report = report_range(
        &state.log,
        &state.marks,
        &issuer,
        &id,
        asked,
        &principal.actor(),
    )
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
    let batch = own(&state, &principal, &id).await?.issued;
    let key = batch_key(&state.log, &state.keyring, &batch).await?;
    let spec = ExportSpec {
        key,
        first_serial: batch.first_serial,
        count: batch.count,
        certificate: batch.certificate_code.clone(),
        gtin: batch.gtin,
        public_url: state.public_url.clone(),
    };
    let export = CsvExport::start(spec, state.export_threads)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("batch {id}: {e}")))?;
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
    let (batch, status, token) = own_mark(&state, &principal, serial).await?;
    Ok(Json(MarkRecord {
        serial,
        batch_id: batch.batch_id.clone(),
        certificate_code: batch.certificate_code.clone(),
        status: status.map_or("good", MarkStatus::as_str).to_owned(),
        url: label_url(&state.public_url, &token),
        gs1_url: batch
            .gtin
            .map(|gtin| gs1_url(&state.public_url, gtin, serial, &token)),
        token,
    }))
}

/// `GET /api/v1/marks/{serial}/qr.svg?form=short|gs1`: the label QR code as SVG.
pub async fn qr_svg(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(serial): ApiPath<u64>,
    ApiQuery(q): ApiQuery<QrQuery>,
) -> Result<Response, ApiError> {
    let label = qr_label(&state, &principal, serial, q.form).await?;
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
    let label = qr_label(&state, &principal, serial, q.form).await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], label.png(px)).into_response())
}

async fn qr_label(
    state: &AppState,
    principal: &Principal,
    serial: u64,
    form: UrlForm,
) -> Result<Label, ApiError> {
    let (batch, _, token) = own_mark(state, principal, serial).await?;
    let url = match (form, batch.gtin) {
        (UrlForm::Short, _) => label_url(&state.public_url, &token),
        (UrlForm::Gs1, Some(gtin)) => gs1_url(&state.public_url, gtin, serial, &token),
        (UrlForm::Gs1, None) => {
            return Err(ApiError::InvalidRequest(format!(
                "batch {} has no GTIN, so its marks have no GS1 Digital Link form",
                batch.batch_id
            )));
        }
    };
    Label::new(&url).map_err(|e| ApiError::Internal(e.into()))
}

/// A serial of one of the caller's batches, its status and its token (re-signed: Ed25519 is
/// deterministic, so this is the token the export printed).
async fn own_mark(
    state: &AppState,
    principal: &Principal,
    serial: u64,
) -> Result<(std::sync::Arc<BatchIssued>, Option<MarkStatus>, String), ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    state.marks.catch_up(&state.log).await?;
    let view = state
        .marks
        .lookup(serial)
        .filter(|v| issuer.is_none_or(|i| v.batch.issuer_id.as_str() == i))
        .ok_or_else(|| ApiError::NotFound(format!("mark {serial} does not exist")))?;
    let key = batch_key(&state.log, &state.keyring, &view.batch).await?;
    let body = MarkBody::new(
        view.batch.key_id,
        serial,
        &view.batch.certificate_code,
        view.batch.gtin,
    )
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("batch {}: {e}", view.batch.batch_id)))?;
    Ok((view.batch, view.status, sign(&key, &body)))
}

/// A batch of the caller's (any, for the brand authority), from the caught-up index.
async fn own(state: &AppState, principal: &Principal, id: &str) -> Result<BatchEntry, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    state.marks.catch_up(&state.log).await?;
    state
        .marks
        .batch(id)
        .filter(|b| issuer.is_none_or(|i| b.issued.issuer_id.as_str() == i))
        .ok_or_else(|| ApiError::NotFound(format!("batch {id} does not exist")))
}
