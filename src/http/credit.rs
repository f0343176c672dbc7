//! `/api/v1/credit` and `/api/v1/public/credit`: the credit platform's feed of published
//! records with a proof per entry, their CSV in the platforms' column codes, corrections and
//! withdrawals by the owning supervisor, and the public lookup by enterprise. The read models
//! and formats live in `app::credit`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::{CreditCaller, SupervisorCaller};
use super::error::{ApiError, Busy, Conflicting, Guarded, Invalid, JsonBody, Limited, Missing};
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::RecordEntry;
use crate::app::credit::{FeedEntry, RecordChange};
use crate::domain::penalty::DecisionFields;
use crate::domain::uscc::Uscc;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The last log index seen.
    after: Option<u64>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    reason: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PublicQuery {
    /// The enterprise's unified social credit code (GB 32100, check character verified;
    /// upper-cased).
    #[param(pattern = "^[0-9A-Za-z]{18}$")]
    uscc: String,
}

/// `GET /api/v1/credit/records?after=&limit=` (credit): credit events in log order.
#[utoipa::path(
    get,
    operation_id = "credit_feed",
    path = "/api/v1/credit/records",
    tag = "credit",
    summary = "The credit feed (credit)",
    description = "Every publication, correction and withdrawal of a credit record in log order, each with its log index, leaf hash, envelope, data, the record as it stands and a C2SP `tlog-proof@v1` bundle against the latest checkpoint, so it can be checked offline.",
    params(
        FeedQuery,
    ),
    responses(
        (status = 200, description = "Credit events after `after`, in log order.", body = [FeedEntry], content_type = "application/json"),
        Guarded, Invalid,
    ),
    security(("bearer" = ["credit"])),
)]
pub async fn feed(
    State(state): State<AppState>,
    _caller: CreditCaller,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> Result<Json<Vec<FeedEntry>>, ApiError> {
    let limit = page_limit(q.limit)? as usize;
    Ok(Json(state.services.credit.feed(q.after, limit).await?))
}

/// `GET /api/v1/credit/records.csv` (credit): every standing record.
#[utoipa::path(
    get,
    operation_id = "credit_csv",
    path = "/api/v1/credit/records.csv",
    tag = "credit",
    summary = "Standing credit records as CSV in the platforms' column codes (credit)",
    responses(
        (status = 200, description = "Header `CF_XDR_MC,CF_XDR_SHXYM,CF_FRDB,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_NR_WFFF,CF_JDRQ,CF_GSJZQ,CF_CFJG,CF_CFJGDM,CF_SJLY,LOG_INDEX`, then one row per standing record (withdrawn ones left out) as it stands, in publication order; RFC 4180 with CRLF; dates as YYYY/MM/DD.", body = String, content_type = "text/csv"),
        Guarded,
    ),
    security(("bearer" = ["credit"])),
)]
pub async fn csv(
    State(state): State<AppState>,
    _caller: CreditCaller,
) -> Result<Response, ApiError> {
    Ok(csv_download(state.services.credit.csv().await?))
}

/// The credit platforms' CSV as a download, as the API and the console serve it.
pub fn csv_download(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"credit-records.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

/// `POST /api/v1/credit/records/{id}/correct` (supervisor of the owner region).
#[utoipa::path(
    post,
    operation_id = "credit_correct",
    path = "/api/v1/credit/records/{id}/correct",
    tag = "credit",
    summary = "Correct a published record (supervisor of the owner region)",
    description = "Records `CreditRecordCorrected` with the whole corrected decision. Only a supervisor covering the owner region of the case that published the record may; to others it is a 404. A withdrawn record is a 409.",
    params(
        ("id" = String, Path),
    ),
    request_body = DecisionFields,
    responses(
        (status = 200, description = "The record as it stands.", body = RecordEntry, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["supervisor"])),
)]
pub async fn correct(
    State(state): State<AppState>,
    SupervisorCaller(caller): SupervisorCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(fields): ApiJson<DecisionFields>,
) -> Result<Json<RecordEntry>, ApiError> {
    change(
        &state,
        &caller,
        &id,
        RecordChange::Correct(Box::new(fields)),
    )
    .await
}

/// `POST /api/v1/credit/records/{id}/withdraw` (supervisor of the owner region).
#[utoipa::path(
    post,
    operation_id = "credit_withdraw",
    path = "/api/v1/credit/records/{id}/withdraw",
    tag = "credit",
    summary = "Withdraw a published record (supervisor of the owner region)",
    description = "Records `CreditRecordWithdrawn`; the record leaves the public lookup and the CSV. Only a supervisor covering the owner region of the case that published the record may; to others it is a 404. A withdrawn record is a 409.",
    params(
        ("id" = String, Path),
    ),
    request_body = WithdrawBody,
    responses(
        (status = 200, description = "The record as it stands.", body = RecordEntry, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["supervisor"])),
)]
pub async fn withdraw(
    State(state): State<AppState>,
    SupervisorCaller(caller): SupervisorCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<WithdrawBody>,
) -> Result<Json<RecordEntry>, ApiError> {
    let withdraw = RecordChange::Withdraw {
        reason: body.reason,
    };
    change(&state, &caller, &id, withdraw).await
}

async fn change(
    state: &AppState,
    caller: &super::auth::Principal,
    id: &str,
    change: RecordChange,
) -> Result<Json<RecordEntry>, ApiError> {
    let record = state
        .services
        .credit
        .change_record(&caller.grant, &caller.actor(), id, change)
        .await?;
    Ok(Json(record))
}

/// `GET /api/v1/public/credit?uscc=` (anyone): the standing records of one enterprise.
#[utoipa::path(
    get,
    operation_id = "credit_public",
    path = "/api/v1/public/credit",
    tag = "credit",
    summary = "Published credit records of one enterprise (anyone)",
    params(
        PublicQuery,
    ),
    responses(
        (status = 200, description = "The enterprise's standing records (published or corrected, not withdrawn), each in its latest version.", body = [RecordEntry], content_type = "application/json"),
        Invalid, Limited,
    ),
)]
pub async fn public(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PublicQuery>,
) -> Result<Json<Vec<RecordEntry>>, ApiError> {
    let uscc = Uscc::parse(&q.uscc).map_err(|e| ApiError::InvalidRequest(format!("uscc: {e}")))?;
    Ok(Json(state.services.credit.standing_for(&uscc).await?))
}
