//! The brand authority's pages: access tokens (mint, shown once; revoke; list) and the log's
//! state. Each action calls the API handler for the same action (`Admin::try_from` is the
//! API's role rule).

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::form::{Fields, Kind};
use super::session::Signed;
use super::view::{ConsoleError, Frame, render};
use crate::app::TokenRecord;
use crate::http::auth::Admin;
use crate::http::error::ApiError;
use crate::http::state::{ApiJson, ApiPath, AppState};
use crate::http::tokens::{self, Minted};

fn admin(signed: &Signed) -> Result<Admin, ApiError> {
    Admin::try_from(signed.principal.clone())
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct Tokens {
    frame: Frame,
    tokens: Vec<TokenRecord>,
    /// A token just minted, shown this once.
    minted: Option<Minted>,
}

async fn tokens_page(
    state: AppState,
    signed: &Signed,
    minted: Option<Minted>,
) -> Result<Response, ConsoleError> {
    let Json(tokens) = tokens::list(State(state), admin(signed)?).await?;
    render(&Tokens {
        frame: signed.frame("访问令牌 · Access tokens"),
        tokens,
        minted,
    })
}

pub async fn tokens(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, ConsoleError> {
    tokens_page(state, &signed, None).await
}

/// Mints a token and shows it once, on the answer to this form only.
pub async fn mint(
    State(state): State<AppState>,
    signed: Signed,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    let body = fields.body(&[("regions", Kind::List)])?;
    let (_, Json(minted)) =
        tokens::mint(State(state.clone()), admin(&signed)?, ApiJson(body)).await?;
    tokens_page(state, &signed, Some(minted)).await
}

pub async fn revoke(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    if fields.get("confirm").is_none() {
        return Err(ApiError::InvalidRequest(
            "confirm: tick the confirmation to revoke".to_owned(),
        )
        .into());
    }
    tokens::revoke(State(state), admin(&signed)?, ApiPath(id)).await?;
    Ok(Redirect::to("/console/tokens").into_response())
}
