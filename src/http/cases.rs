//! `/api/v1/cases`: supervisors open and work cases, share them with other regions and close
//! them; enforcement teams work the cases their regions cover. Roles are checked here, before
//! any body is read; regions and state in `enforcement::cases`, whose access rules these
//! handlers apply unchanged (a case outside the caller's regions is a 404).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::{CaseWorker, SupervisorCaller};
use super::error::ApiError;
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::cases::{CaseChange, OpenCase};
use crate::app::{Case, CaseStatus};
use crate::domain::case::Outcome;
use crate::domain::penalty::DecisionFields;
use crate::domain::region::RegionCode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<CaseStatus>,
    after: Option<String>,
    limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBody {
    description: String,
    file_sha256: String,
    size: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionBody {
    region: RegionCode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    outcome: Outcome,
    decision: Option<Box<DecisionFields>>,
}

/// `POST /api/v1/cases` (supervisor): opens a case owned by a region the token covers.
pub async fn open(
    State(state): State<AppState>,
    SupervisorCaller(caller): SupervisorCaller,
    ApiJson(body): ApiJson<OpenCase>,
) -> Result<(StatusCode, Json<Case>), ApiError> {
    let case = state
        .services
        .enforcement
        .open(&caller.grant, &caller.actor(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(case)))
}

/// `GET /api/v1/cases?status=&after=&limit=`: the cases the caller's regions cover, in the
/// order they were opened; `after` is the last case id seen.
pub async fn list(
    State(state): State<AppState>,
    CaseWorker(caller): CaseWorker,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Case>>, ApiError> {
    let limit = page_limit(q.limit)? as usize;
    let cases = state
        .services
        .enforcement
        .cases(&caller.grant.regions, q.status, q.after.as_deref(), limit)
        .await?;
    Ok(Json(cases))
}

/// `GET /api/v1/cases/{id}`: the case with its notes, evidence, shares and history.
pub async fn get(
    State(state): State<AppState>,
    CaseWorker(caller): CaseWorker,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Case>, ApiError> {
    Ok(Json(
        state.services.enforcement.read(&caller.grant, &id).await?,
    ))
}

async fn change(
    state: &AppState,
    caller: &super::auth::Principal,
    id: &str,
    change: CaseChange,
) -> Result<Json<Case>, ApiError> {
    let case = state
        .services
        .enforcement
        .change(&caller.grant, &caller.actor(), id, change)
        .await?;
    Ok(Json(case))
}

/// `POST /api/v1/cases/{id}/notes`.
pub async fn note(
    State(state): State<AppState>,
    CaseWorker(caller): CaseWorker,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<Json<Case>, ApiError> {
    change(&state, &caller, &id, CaseChange::Note(body.text)).await
}

/// `POST /api/v1/cases/{id}/evidence`: a file's description, SHA-256 and size; the file stays
/// with the region that holds it.
pub async fn evidence(
    State(state): State<AppState>,
    CaseWorker(caller): CaseWorker,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EvidenceBody>,
) -> Result<Json<Case>, ApiError> {
    let evidence = CaseChange::Evidence {
        description: body.description,
        file_sha256: body.file_sha256,
        size: body.size,
    };
    change(&state, &caller, &id, evidence).await
}

/// `POST /api/v1/cases/{id}/share` (supervisor of the owner region).
pub async fn share(
    State(state): State<AppState>,
    SupervisorCaller(caller): SupervisorCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RegionBody>,
) -> Result<Json<Case>, ApiError> {
    change(&state, &caller, &id, CaseChange::Share(body.region)).await
}

/// `POST /api/v1/cases/{id}/transfer` (supervisor of the owner region).
pub async fn transfer(
    State(state): State<AppState>,
    SupervisorCaller(caller): SupervisorCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RegionBody>,
) -> Result<Json<Case>, ApiError> {
    change(&state, &caller, &id, CaseChange::Transfer(body.region)).await
}

/// `POST /api/v1/cases/{id}/close` (supervisor of the owner region): `no_action`, or
/// `penalty` with a decision, which publishes a credit record in the same append.
pub async fn close(
    State(state): State<AppState>,
    SupervisorCaller(caller): SupervisorCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CloseBody>,
) -> Result<Json<Case>, ApiError> {
    let close = CaseChange::Close {
        outcome: body.outcome,
        decision: body.decision,
    };
    change(&state, &caller, &id, close).await
}
