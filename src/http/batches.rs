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
use super::error::{ApiError, Busy, Conflicting, Guarded, Invalid, JsonBody, Missing};
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, Binary, page_limit};
use crate::app::marks::{MarkRecord, Report, UrlForm};
use crate::app::{BatchEntry, CsvExport, MAX_MODULE_PX};
use crate::domain::batch::{MarkStatus, RangeReported};
use crate::domain::gtin::Gtin;
use crate::domain::region::RegionCode;
use crate::mark::export::Chunk;
use crate::mark::sheet;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBatch {
    certificate_id: String,
    /// At most `max_batch_marks` (default 10,000,000).
    #[schema(minimum = 1)]
    count: u64,
    gtin: Option<Gtin>,
    /// Licensed GB/T 2260 regions; default the enterprise's province.
    #[serde(default)]
    #[schema(max_items = 64)]
    regions: Vec<RegionCode>,
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    lot: Option<String>,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    notes: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RangeReportBody)]
pub struct ReportBody {
    #[schema(minimum = 1)]
    first: u64,
    #[schema(minimum = 1)]
    last: u64,
    status: MarkStatus,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The last batch id of the previous page.
    after: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QrQuery {
    /// `short`: `{public_url}/v/{token}`; `gs1`: the GS1 Digital Link form (batches with a GTIN).
    #[serde(default)]
    #[param(inline)]
    form: UrlForm,
    /// Pixels per module of a PNG.
    #[param(minimum = 1, maximum = 32, default = 8)]
    px: Option<u32>,
}

/// `POST /api/v1/batches` (issuer): 201 with the batch, one event whatever its count.
#[utoipa::path(
    post,
    operation_id = "batches_issue",
    path = "/api/v1/batches",
    tag = "marks",
    summary = "Issue a batch of marks (issuer)",
    description = "Allocates one contiguous serial range and records it as one `MarkBatchIssued` event whatever the count. The certificate must be the issuer's, issued and current; the issuer active with an active, endorsed key. Refusals write nothing.",
    request_body = IssueBatch,
    responses(
        (status = 201, description = "The batch.", body = BatchEntry, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["issuer"])),
)]
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
#[utoipa::path(
    get,
    operation_id = "batches_list",
    path = "/api/v1/batches",
    tag = "marks",
    summary = "List batches (issuer: its own; admin: all)",
    params(
        ListQuery,
    ),
    responses(
        (status = 200, description = "One page of batches in serial order.", body = [BatchEntry], content_type = "application/json"),
        Guarded, Invalid,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
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
#[utoipa::path(
    get,
    operation_id = "batches_get",
    path = "/api/v1/batches/{id}",
    tag = "marks",
    summary = "One batch with its range reports",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "The batch.", body = BatchEntry, content_type = "application/json"),
        Guarded, Missing,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
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
#[utoipa::path(
    post,
    operation_id = "batches_report",
    path = "/api/v1/batches/{id}/reports",
    tag = "marks",
    summary = "Report a range of marks (issuer)",
    description = "Serials `first..=last` get a status: `voided` (print spoilage) and `revoked` are final; `lost`, `stolen`, `suspended` (each with a reason) can be reported again; `reinstated` returns marks to good standing. A report touching a final serial is a 409.",
    params(
        ("id" = String, Path),
    ),
    request_body = ReportBody,
    responses(
        (status = 200, description = "The recorded report.", body = RangeReported, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["issuer"])),
)]
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
#[utoipa::path(
    get,
    operation_id = "batches_marks_csv",
    path = "/api/v1/batches/{id}/marks.csv",
    tag = "marks",
    summary = "Export a batch's marks for the printing house",
    description = "`serial,token,url` (plus `gs1_url` when the batch has a GTIN) for every mark, signed in parallel and streamed in serial order with bounded memory. A compromised key's batch is not exported again (409).",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "The CSV.", body = String, content_type = "text/csv"),
        Guarded, Missing, Conflicting,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
pub async fn marks_csv(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    let export = state.services.marks.export(issuer.as_deref(), &id).await?;
    let header = export.header().to_owned();
    let body = stream_export(export, header, |chunk| Ok(chunk.csv), String::new());
    Ok(download(body, "text/csv", &format!("marks-{id}.csv")))
}

/// `GET /api/v1/batches/{id}/labels.html`: the printing house's label sheet, streamed.
#[utoipa::path(
    get,
    operation_id = "batches_labels",
    path = "/api/v1/batches/{id}/labels.html",
    tag = "marks",
    summary = "The batch's printable label sheet (issuer: its own; admin: any)",
    description = "An HTML document for A4: each mark's QR code (3 cm) and serial, in serial order, as `marktrace issue --sheet` writes it; streamed as the marks are signed. A batch signed by a compromised key is not exported (409).",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "The sheet, as a download.", body = String, content_type = "text/html"),
        Guarded, Missing, Conflicting,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
pub async fn labels(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let issuer = principal.own_issuer_or_all()?;
    let export = state.services.marks.export(issuer.as_deref(), &id).await?;
    let body = stream_export(
        export,
        sheet::start(),
        |chunk| {
            let csv = String::from_utf8(chunk.csv).map_err(|e| e.to_string())?;
            sheet::labels(&csv)
                .map(String::into_bytes)
                .map_err(|e| e.to_string())
        },
        sheet::end(),
    );
    Ok(download(body, "text/html", &format!("labels-{id}.html")))
}

/// A streamed body as a file download of `media_type` (UTF-8) named `filename`.
fn download(body: Body, media_type: &str, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, format!("{media_type}; charset=utf-8")),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// An export as a streamed body: `head`, each chunk as `render` makes it as the workers
/// finish it, then `tail`. When the client goes away the stream is dropped, the export with
/// it, and the workers stop; a chunk that does not render ends the body early (the failure
/// is logged).
fn stream_export(
    export: CsvExport,
    head: String,
    render: fn(Chunk) -> Result<Vec<u8>, String>,
    tail: String,
) -> Body {
    let state = (Some(Bytes::from(head)), export, Some(Bytes::from(tail)));
    let parts = futures_util::stream::unfold(state, move |(head, mut export, tail)| async move {
        if let Some(head) = head {
            return Some((Ok::<_, Infallible>(head), (None, export, tail)));
        }
        match export.next_chunk().await {
            Some(chunk) => match render(chunk) {
                Ok(bytes) => Some((Ok(Bytes::from(bytes)), (None, export, tail))),
                Err(error) => {
                    tracing::error!(%error, "an export chunk did not render");
                    None
                }
            },
            None => tail.map(|tail| (Ok(tail), (None, export, None))),
        }
    });
    Body::from_stream(parts)
}

/// `GET /api/v1/marks/{serial}`: the mark's batch, status, token and label URLs.
#[utoipa::path(
    get,
    operation_id = "batches_mark",
    path = "/api/v1/marks/{serial}",
    tag = "marks",
    summary = "One mark: batch, status, token and label URLs",
    params(
        ("serial" = u64, Path, minimum = 1),
    ),
    responses(
        (status = 200, description = "The mark.", body = MarkRecord, content_type = "application/json"),
        Guarded, Invalid, Missing,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
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
#[utoipa::path(
    get,
    operation_id = "batches_qr_svg",
    path = "/api/v1/marks/{serial}/qr.svg",
    tag = "marks",
    summary = "The mark's label QR code as SVG",
    description = "Error correction level M, quiet zone of 4 modules.",
    params(
        ("serial" = u64, Path, minimum = 1),
        QrQuery,
    ),
    responses(
        (status = 200, description = "The SVG.", body = String, content_type = "image/svg+xml"),
        Guarded, Invalid, Missing,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
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
#[utoipa::path(
    get,
    operation_id = "batches_qr_png",
    path = "/api/v1/marks/{serial}/qr.png",
    tag = "marks",
    summary = "The mark's label QR code as PNG",
    description = "Error correction level M, quiet zone of 4 modules, 1-bit greyscale.",
    params(
        ("serial" = u64, Path, minimum = 1),
        QrQuery,
    ),
    responses(
        (status = 200, description = "The PNG.", body = inline(Binary), content_type = "image/png"),
        Guarded, Invalid, Missing,
    ),
    security(("bearer" = ["issuer"]), ("bearer" = ["admin"])),
)]
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
