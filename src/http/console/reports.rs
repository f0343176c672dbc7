//! Consumer reports of the caller's regions, as `GET /api/v1/cases/reports` answers them.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::session::Signed;
use super::view::{ConsoleError, Frame, render};
use crate::app::ReportEntry;
use crate::http::auth::CaseWorker;
use crate::http::flags;
use crate::http::state::{ApiQuery, AppState};

#[derive(Template)]
#[template(path = "console/reports.html")]
struct Reports {
    frame: Frame,
    reports: Vec<ReportEntry>,
}

pub async fn reports(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, ConsoleError> {
    let caller = CaseWorker::try_from(signed.principal.clone())?;
    let query = serde_json::from_value(json!({})).expect("the query's fields are optional");
    let Json(reports) = flags::consumer_reports(State(state), caller, ApiQuery(query)).await?;
    render(&Reports {
        frame: signed.frame("消费者举报 · Consumer reports"),
        reports,
    })
}
