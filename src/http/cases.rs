//! `/api/v1/cases`: supervisors open and work cases, share them with other regions and close
//! them; enforcement teams work the cases their regions cover. Roles are checked here, before
//! any body is read; regions and state in `enforcement::cases`, whose access rules these
//! handlers apply unchanged (a case outside the caller's regions is a 404).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::{CaseWorker, Principal, SupervisorCaller};
use super::error::{ApiError, Busy, Conflicting, Guarded, Invalid, JsonBody, Missing};
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::cases::{CaseChange, OpenCase};
use crate::app::{Case, CaseStatus};
use crate::domain::access::Role;
use crate::domain::case::Outcome;
use crate::domain::penalty::DecisionFields;
use crate::domain::region::RegionCode;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<CaseStatus>,
    /// The last case id of the previous page.
    after: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    text: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBody {
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    description: String,
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    file_sha256: String,
    size: u64,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionBody {
    region: RegionCode,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    outcome: Outcome,
    decision: Option<Box<DecisionFields>>,
}

/// `POST /api/v1/cases` (supervisor): opens a case owned by a region the token covers.
#[utoipa::path(
    post,
    operation_id = "cases_open",
    path = "/api/v1/cases",
    tag = "cases",
    summary = "Open a case (supervisor)",
    description = "The owner region must be covered by the supervisor's region. Records a confidential `CaseOpened` event.",
    request_body = OpenCase,
    responses(
        (status = 201, description = "The new case.", body = Case, content_type = "application/json"),
        Guarded, JsonBody, Busy,
    ),
    security(("bearer" = ["supervisor"])),
)]
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
#[utoipa::path(
    get,
    operation_id = "cases_list",
    path = "/api/v1/cases",
    tag = "cases",
    summary = "List the cases the caller covers (supervisor, enforcement)",
    params(
        ListQuery,
    ),
    responses(
        (status = 200, description = "One page of cases in the order they were opened.", body = [Case], content_type = "application/json"),
        Guarded, Invalid,
    ),
    security(("bearer" = ["supervisor"]), ("bearer" = ["enforcement"])),
)]
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
#[utoipa::path(
    get,
    operation_id = "cases_get",
    path = "/api/v1/cases/{id}",
    tag = "cases",
    summary = "Read a case (supervisor, enforcement)",
    description = "A case outside the caller's regions (owner or shared) is a 404 identical to a missing case.",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "The case with its notes, evidence, shares and history.", body = Case, content_type = "application/json"),
        Guarded, Missing,
    ),
    security(("bearer" = ["supervisor"]), ("bearer" = ["enforcement"])),
)]
pub async fn get(
    State(state): State<AppState>,
    CaseWorker(caller): CaseWorker,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Case>, ApiError> {
    Ok(Json(
        state.services.enforcement.read(&caller.grant, &id).await?,
    ))
}

/// Who may make a change to a case: notes and evidence any case worker, sharing,
/// transferring and closing a supervisor. The API's extractors refuse early (before the body
/// is read) by the same rule; [`change`], which every edge's case change goes through, applies
/// it.
fn authorize(caller: &Principal, change: &CaseChange) -> Result<(), ApiError> {
    match change {
        CaseChange::Note(_) | CaseChange::Evidence { .. } => caller.require_case_worker(),
        CaseChange::Share(_) | CaseChange::Transfer(_) | CaseChange::Close { .. } => {
            caller.require(Role::Supervisor)
        }
    }
}

/// A case change as every edge makes it: authorised by the case rule, then applied by the
/// enforcement service.
pub async fn change(
    state: &AppState,
    caller: &Principal,
    id: &str,
    change: CaseChange,
) -> Result<Json<Case>, ApiError> {
    authorize(caller, &change)?;
    let case = state
        .services
        .enforcement
        .change(&caller.grant, &caller.actor(), id, change)
        .await?;
    Ok(Json(case))
}

/// `POST /api/v1/cases/{id}/notes`.
#[utoipa::path(
    post,
    operation_id = "cases_note",
    path = "/api/v1/cases/{id}/notes",
    tag = "cases",
    summary = "Add a note (supervisor, enforcement)",
    description = "Records `CaseNoteAdded` with the caller's covering region. A case outside the caller's regions (owner or shared) is a 404 identical to a missing case.",
    params(
        ("id" = String, Path),
    ),
    request_body = NoteBody,
    responses(
        (status = 200, description = "The case afterwards.", body = Case, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["supervisor"]), ("bearer" = ["enforcement"])),
)]
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
#[utoipa::path(
    post,
    operation_id = "cases_evidence",
    path = "/api/v1/cases/{id}/evidence",
    tag = "cases",
    summary = "Add evidence (supervisor, enforcement)",
    description = "The file stays with its holder; the log records its description, SHA-256 and size. A case outside the caller's regions (owner or shared) is a 404 identical to a missing case.",
    params(
        ("id" = String, Path),
    ),
    request_body = EvidenceBody,
    responses(
        (status = 200, description = "The case afterwards.", body = Case, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["supervisor"]), ("bearer" = ["enforcement"])),
)]
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
#[utoipa::path(
    post,
    operation_id = "cases_share",
    path = "/api/v1/cases/{id}/share",
    tag = "cases",
    summary = "Share a case with another region (supervisor of the owner region)",
    description = "Records `CaseShared`. Only a supervisor covering the owner region may; one that covers the case only through a share gets a 403. A case outside the caller's regions (owner or shared) is a 404 identical to a missing case.",
    params(
        ("id" = String, Path),
    ),
    request_body = RegionBody,
    responses(
        (status = 200, description = "The case afterwards.", body = Case, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["supervisor"])),
)]
pub async fn share(
    State(state): State<AppState>,
    SupervisorCaller(caller): SupervisorCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RegionBody>,
) -> Result<Json<Case>, ApiError> {
    change(&state, &caller, &id, CaseChange::Share(body.region)).await
}

/// `POST /api/v1/cases/{id}/transfer` (supervisor of the owner region).
#[utoipa::path(
    post,
    operation_id = "cases_transfer",
    path = "/api/v1/cases/{id}/transfer",
    tag = "cases",
    summary = "Transfer a case to another owner region (supervisor of the owner region)",
    description = "Records `CaseTransferred`; the old owner region keeps no access unless the case is shared with it. Only a supervisor covering the owner region may; one that covers the case only through a share gets a 403. A case outside the caller's regions (owner or shared) is a 404 identical to a missing case.",
    params(
        ("id" = String, Path),
    ),
    request_body = RegionBody,
    responses(
        (status = 200, description = "The case afterwards.", body = Case, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["supervisor"])),
)]
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
#[utoipa::path(
    post,
    operation_id = "cases_close",
    path = "/api/v1/cases/{id}/close",
    tag = "cases",
    summary = "Close a case (supervisor of the owner region)",
    description = "`no_action`, or `penalty` with a decision: then, in the same atomic append, a public `CreditRecordPublished` event in stream `credit-<record_id>`; the record names no case. Invalid decision fields are a 400 naming the field, and nothing is written. Only a supervisor covering the owner region may; one that covers the case only through a share gets a 403. A case outside the caller's regions (owner or shared) is a 404 identical to a missing case.",
    params(
        ("id" = String, Path),
    ),
    request_body = CloseBody,
    responses(
        (status = 200, description = "The case afterwards.", body = Case, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["supervisor"])),
)]
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
