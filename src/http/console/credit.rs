//! The credit platform's view: every published record with the log index of the event that
//! set it and its inclusion proof against the latest checkpoint, and the CSV download.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::session::Signed;
use super::view::{ConsoleError, Frame, render};
use crate::app::credit::FeedEntry;
use crate::domain::access::Role;
use crate::http::credit::csv_download;
use crate::http::error::ApiError;
use crate::http::state::{AppState, MAX_PAGE};

#[derive(Template)]
#[template(path = "console/credit.html")]
struct Records {
    frame: Frame,
    entries: Vec<FeedEntry>,
}

pub async fn records(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, ConsoleError> {
    signed.principal.require(Role::Credit)?;
    let entries = state
        .services
        .credit
        .feed(None, MAX_PAGE as usize)
        .await
        .map_err(ApiError::from)?;
    render(&Records {
        frame: signed.frame("信用记录 · Credit records"),
        entries,
    })
}

pub async fn csv(State(state): State<AppState>, signed: Signed) -> Result<Response, ConsoleError> {
    signed.principal.require(Role::Credit)?;
    Ok(csv_download(state.services.credit.csv().await?))
}
