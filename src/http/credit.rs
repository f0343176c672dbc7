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
use super::error::ApiError;
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::RecordEntry;
use crate::app::credit::{FeedEntry, RecordChange};
use crate::domain::penalty::DecisionFields;
use crate::domain::uscc::Uscc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The last log index seen.
    after: Option<u64>,
    limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicQuery {
    uscc: String,
}

/// `GET /api/v1/credit/records?after=&limit=` (credit): credit events in log order.
pub async fn feed(
    State(state): State<AppState>,
    _caller: CreditCaller,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> Result<Json<Vec<FeedEntry>>, ApiError> {
    let limit = page_limit(q.limit)? as usize;
    Ok(Json(state.services.credit.feed(q.after, limit).await?))
}

/// `GET /api/v1/credit/records.csv` (credit): every standing record.
pub async fn csv(
    State(state): State<AppState>,
    _caller: CreditCaller,
) -> Result<Response, ApiError> {
    let body = state.services.credit.csv().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"credit-records.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// `POST /api/v1/credit/records/{id}/correct` (supervisor of the owner region).
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
pub async fn public(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PublicQuery>,
) -> Result<Json<Vec<RecordEntry>>, ApiError> {
    let uscc = Uscc::parse(&q.uscc).map_err(|e| ApiError::InvalidRequest(format!("uscc: {e}")))?;
    Ok(Json(state.services.credit.standing_for(&uscc).await?))
}
