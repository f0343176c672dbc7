//! A mark's page for investigators: its batch, status, certificate, flags and scans by region
//! and day, as `GET /api/v1/cases/marks/{serial}` answers.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;

use super::session::Signed;
use super::view::{ConsoleError, Frame, render};
use crate::app::cases::MarkActivity;
use crate::http::auth::CaseWorker;
use crate::http::flags;
use crate::http::state::{ApiPath, AppState};

#[derive(Template)]
#[template(path = "console/mark.html")]
struct MarkPage {
    frame: Frame,
    mark: MarkActivity,
}

pub async fn mark(
    State(state): State<AppState>,
    signed: Signed,
    Path(serial): Path<u64>,
) -> Result<Response, ConsoleError> {
    let caller = CaseWorker::try_from(signed.principal.clone())?;
    let Json(mark) = flags::mark_activity(State(state), caller, ApiPath(serial)).await?;
    render(&MarkPage {
        frame: signed.frame("标识 · Mark"),
        mark,
    })
}
