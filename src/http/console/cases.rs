//! Cases in the console: the list of the caller's regions, opening one (from flags, a report,
//! or by hand), and a case's page with its timeline, notes, evidence, sharing, transfer and
//! closing with a 双公示 penalty decision. Every change goes through the enforcement service
//! after the same authorisation the API applies (`http::cases::authorize`).

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::form::{Fields, Kind};
use super::session::Signed;
use super::view::{ConsoleError, ConsoleForm, Frame, render};
use crate::app::cases::{CaseChange, OpenCase};
use crate::app::{Case, CaseStatus};
use crate::domain::access::Role;
use crate::domain::case::{Origin, Outcome, Subject};
use crate::domain::penalty::DecisionFields;
use crate::domain::region::RegionCode;
use crate::http::auth::CaseWorker;
use crate::http::cases;
use crate::http::error::ApiError;
use crate::http::state::{ApiJson, ApiPath};
use crate::http::state::{AppState, page_limit};

#[derive(Template)]
#[template(path = "console/cases.html")]
struct CaseList {
    frame: Frame,
    cases: Vec<Case>,
    regions: Vec<RegionCode>,
    /// The flag queue's selection this form was opened from.
    prefill: Prefill,
    supervisor: bool,
}

/// What the open form starts with, from the flag queue's link.
#[derive(Default, Deserialize)]
pub struct Prefill {
    #[serde(default)]
    serials: String,
    #[serde(default)]
    flags: String,
    #[serde(default)]
    enterprise_uscc: String,
    /// Where the case comes from, when the link says.
    origin: Option<Origin>,
    status: Option<CaseStatus>,
}

pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(prefill): Query<Prefill>,
) -> Result<Response, ConsoleError> {
    signed.principal.require_case_worker()?;
    let grant = &signed.principal.grant;
    let limit = page_limit(None)? as usize;
    let cases = state
        .services
        .enforcement
        .cases(&grant.regions, prefill.status, None, limit)
        .await?;
    render(&CaseList {
        frame: signed.frame("案件 · Cases"),
        cases,
        regions: grant.regions.clone(),
        supervisor: grant.role == Role::Supervisor,
        prefill,
    })
}

#[derive(Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    csrf: String,
    owner_region: String,
    origin: Origin,
    title: String,
    #[serde(default)]
    serials: String,
    #[serde(default)]
    flags: String,
    #[serde(default)]
    enterprise_uscc: String,
}

/// A form's list field: items separated by commas, spaces or lines.
fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .filter(|s| !s.is_empty())
}

fn region(field: &str, value: &str) -> Result<RegionCode, ApiError> {
    RegionCode::parse(value.trim()).map_err(|e| ApiError::InvalidRequest(format!("{field}: {e}")))
}

pub async fn open(
    State(state): State<AppState>,
    signed: Signed,
    ConsoleForm(form): ConsoleForm<OpenForm>,
) -> Result<Response, ConsoleError> {
    signed.check(&form.csrf)?;
    let caller = &signed.principal;
    caller.require(Role::Supervisor)?;
    let serials = items(&form.serials)
        .map(|s| {
            s.parse::<u64>().map_err(|_| {
                ApiError::InvalidRequest(format!("subject.serials: {s:?} is not a serial"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let uscc = form.enterprise_uscc.trim();
    let body = OpenCase {
        owner_region: region("owner_region", &form.owner_region)?,
        subject: Subject {
            enterprise_uscc: (!uscc.is_empty()).then(|| uscc.to_owned()),
            enterprise_name: None,
            serials,
            flags: items(&form.flags).map(str::to_owned).collect(),
        },
        origin: form.origin,
        title: form.title,
    };
    let case = state
        .services
        .enforcement
        .open(&caller.grant, &caller.actor(), body)
        .await?;
    Ok(Redirect::to(&format!("/console/cases/{}", case.case_id)).into_response())
}

#[derive(Template)]
#[template(path = "console/case.html")]
struct CasePage {
    frame: Frame,
    case: Case,
    supervisor: bool,
}

impl CasePage {
    /// The penalty form's fields: `DecisionFields`' names with their 双公示 titles.
    fn penalty_fields(&self) -> [(&'static str, &'static str); 16] {
        [
            ("name", "行政相对人名称"),
            ("uscc", "统一社会信用代码"),
            ("legal_representative", "法定代表人"),
            ("decision_number", "处罚决定书文号"),
            ("violation_type", "违法行为类型"),
            ("facts", "违法事实"),
            ("basis", "处罚依据"),
            ("category", "处罚类别"),
            ("content", "处罚内容"),
            ("fine_wan", "罚款金额（万元）"),
            ("confiscated_wan", "没收金额（万元）"),
            ("decided_on", "处罚决定日期"),
            ("publish_until", "公示截止期"),
            ("authority", "处罚机关"),
            ("authority_uscc", "处罚机关统一社会信用代码"),
            ("data_source", "数据来源单位"),
        ]
    }
}

pub async fn case(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let caller = &signed.principal;
    caller.require_case_worker()?;
    let case = state.services.enforcement.read(&caller.grant, &id).await?;
    render(&CasePage {
        supervisor: caller.grant.role == Role::Supervisor,
        frame: signed.frame("案件 · Case"),
        case,
    })
}

/// Every change form but evidence: the action names which.
#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    text: Option<String>,
    region: Option<String>,
    outcome: Option<Outcome>,
    #[serde(flatten)]
    decision: std::collections::HashMap<String, String>,
}

pub async fn change(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, action)): Path<(String, String)>,
    ConsoleForm(form): ConsoleForm<ChangeForm>,
) -> Result<Response, ConsoleError> {
    signed.check(&form.csrf)?;
    let missing = |field: &str| ApiError::InvalidRequest(format!("{field} is required"));
    let change = match action.as_str() {
        "notes" => CaseChange::Note(form.text.ok_or_else(|| missing("text"))?),
        "share" => CaseChange::Share(region(
            "region",
            &form.region.ok_or_else(|| missing("region"))?,
        )?),
        "transfer" => CaseChange::Transfer(region(
            "region",
            &form.region.ok_or_else(|| missing("region"))?,
        )?),
        "close" => {
            let outcome = form.outcome.ok_or_else(|| missing("outcome"))?;
            let decision = match outcome {
                Outcome::Penalty => Some(Box::new(decision(form.decision)?)),
                Outcome::NoAction => None,
            };
            CaseChange::Close { outcome, decision }
        }
        other => return Err(ApiError::NotFound(format!("no case action {other:?}")).into()),
    };
    apply(&state, &signed, &id, change).await
}

/// The penalty form's fields, as the API takes them (`DecisionFields`), so the service
/// validates them field by field with the API's messages.
fn decision(
    mut fields: std::collections::HashMap<String, String>,
) -> Result<DecisionFields, ApiError> {
    fields.remove("csrf");
    let value = serde_json::to_value(fields).map_err(|e| ApiError::Internal(e.into()))?;
    serde_json::from_value(value).map_err(|e| ApiError::InvalidRequest(format!("decision: {e}")))
}

/// Evidence: the file is hashed here and not kept; `POST /api/v1/cases/{id}/evidence` takes its
/// description, SHA-256 and size.
pub async fn evidence(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, ConsoleError> {
    let fields = Fields::upload(multipart, "file", "file_sha256", Some("size"))
        .await?
        .checked(&signed)?;
    let body = fields.body(&[("size", Kind::Number)])?;
    let caller = CaseWorker::try_from(signed.principal.clone())?;
    let _case = cases::evidence(State(state), caller, ApiPath(id.clone()), ApiJson(body)).await?;
    Ok(Redirect::to(&format!("/console/cases/{id}")).into_response())
}

/// A change through the API's own case flow (its authorisation and the service), then the
/// case's page.
async fn apply(
    state: &AppState,
    signed: &Signed,
    id: &str,
    change: CaseChange,
) -> Result<Response, ConsoleError> {
    let _case = cases::change(state, &signed.principal, id, change).await?;
    Ok(Redirect::to(&format!("/console/cases/{id}")).into_response())
}
