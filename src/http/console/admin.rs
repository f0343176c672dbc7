//! The brand authority's pages: issuers (register, suspend, reinstate), keys (add, activate,
//! retire, mark compromised), access tokens (mint, shown once; revoke; list) and the log's
//! state. Each action calls the API handler for the same action (`Admin::try_from` is the
//! API's role rule).

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::form::{Fields, Kind};
use super::issuer::first_page;
use super::session::Signed;
use super::view::{ConsoleError, Frame, render};
use crate::app::{IssuerKeyRecord, IssuerRecord, TokenRecord};
use crate::http::auth::Admin;
use crate::http::error::ApiError;
use crate::http::issuers;
use crate::http::keys;
use crate::http::state::{ApiJson, ApiPath, AppState};
use crate::http::tokens::{self, Minted};
use crate::http::transparency::{self, Audited};

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

#[derive(Template)]
#[template(path = "console/issuers.html")]
struct Issuers {
    frame: Frame,
    issuers: Vec<IssuerRecord>,
}

pub async fn issuers(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, ConsoleError> {
    let Json(issuers) = issuers::list(State(state), admin(&signed)?, first_page()).await?;
    render(&Issuers {
        frame: signed.frame("发证机构 · Issuers"),
        issuers,
    })
}

pub async fn register_issuer(
    State(state): State<AppState>,
    signed: Signed,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    let body = fields.body(&[])?;
    let _registered = issuers::register(State(state), admin(&signed)?, ApiJson(body)).await?;
    Ok(Redirect::to("/console/issuers").into_response())
}

/// Suspends (with a reason) or reinstates an issuer.
pub async fn issuer_status(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, action)): Path<(String, String)>,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    let (caller, path) = (admin(&signed)?, ApiPath(id));
    let Json(_issuer) = match action.as_str() {
        "suspend" => {
            issuers::suspend(State(state), caller, path, ApiJson(fields.body(&[])?)).await?
        }
        "reinstate" => issuers::reinstate(State(state), caller, path).await?,
        other => return Err(ApiError::NotFound(format!("no issuer action {other:?}")).into()),
    };
    Ok(Redirect::to("/console/issuers").into_response())
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct Keys {
    frame: Frame,
    keys: Vec<IssuerKeyRecord>,
    /// The brand authority changes keys; a certification body sees its own.
    admin: bool,
}

/// The key directory (public in the API): every key for the brand authority, with its
/// actions; a certification body's own keys and their status for an issuer.
pub async fn keys(State(state): State<AppState>, signed: Signed) -> Result<Response, ConsoleError> {
    let own = signed.principal.own_issuer_or_all()?;
    let Json(directory) = keys::list(State(state), first_page()).await?;
    let keys = directory
        .keys
        .into_iter()
        .filter(|k| {
            own.as_deref()
                .is_none_or(|i| k.added.issuer_id.as_str() == i)
        })
        .collect();
    render(&Keys {
        frame: signed.frame("签名密钥 · Keys"),
        keys,
        admin: own.is_none(),
    })
}

/// Adds an endorsed key for an issuer (its validity as the API defaults it).
pub async fn add_key(
    State(state): State<AppState>,
    signed: Signed,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    let issuer = fields.get("issuer").unwrap_or_default().trim().to_owned();
    let body = fields.body::<serde_json::Map<String, serde_json::Value>>(&[])?;
    let body = keys_body(body, "issuer")?;
    let _added = keys::add(
        State(state),
        admin(&signed)?,
        ApiPath(issuer),
        ApiJson(body),
    )
    .await?;
    Ok(Redirect::to("/console/keys").into_response())
}

/// Activates, retires or marks a key compromised (with a reason); the last two are confirmed.
pub async fn key_change(
    State(state): State<AppState>,
    signed: Signed,
    Path((key_id, action)): Path<(String, String)>,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    if action != "activate" && fields.get("confirm").is_none() {
        return Err(ApiError::InvalidRequest(
            "confirm: tick the confirmation to do this".to_owned(),
        )
        .into());
    }
    let (caller, path) = (admin(&signed)?, ApiPath(key_id));
    let Json(_key) = match action.as_str() {
        "activate" => keys::activate(State(state), caller, path).await?,
        "retire" => keys::retire(State(state), caller, path).await?,
        "compromise" => {
            let body = fields.body::<serde_json::Map<String, serde_json::Value>>(&[])?;
            keys::compromise(
                State(state),
                caller,
                path,
                ApiJson(keys_body(body, "confirm")?),
            )
            .await?
        }
        other => return Err(ApiError::NotFound(format!("no key action {other:?}")).into()),
    };
    Ok(Redirect::to("/console/keys").into_response())
}

/// A key action's API body: the form's fields without the one the console adds.
fn keys_body<T: serde::de::DeserializeOwned>(
    mut fields: serde_json::Map<String, serde_json::Value>,
    without: &str,
) -> Result<T, ApiError> {
    fields.remove(without);
    serde_json::from_value(fields.into()).map_err(|e| ApiError::InvalidRequest(e.to_string()))
}

#[derive(Template)]
#[template(path = "console/log.html")]
struct LogState {
    frame: Frame,
    size: u64,
    checkpoint: String,
    key: String,
    /// The last audit this node ran.
    audit: Option<Audited>,
}

/// The log's state: its size, latest signed checkpoint, verifier key, and the outcome of the
/// last audit (`POST /api/v1/log/verify`, `marktrace log verify`'s check).
pub async fn log(State(state): State<AppState>, signed: Signed) -> Result<Response, ConsoleError> {
    admin(&signed)?;
    let transparency = &state.services.transparency;
    let checkpoint = transparency.checkpoint().await?;
    render(&LogState {
        frame: signed.frame("日志 · Log"),
        size: checkpoint.size,
        checkpoint: checkpoint.note,
        key: transparency.verifier_key(),
        audit: transparency.last_audit().map(Audited::from),
    })
}

/// Audits the whole log now, as the API's `POST /api/v1/log/verify`, and shows the log page.
pub async fn verify_log(
    State(state): State<AppState>,
    signed: Signed,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    fields.checked(&signed)?;
    let Json(_audited) = transparency::verify(State(state), admin(&signed)?).await?;
    Ok(Redirect::to("/console/log").into_response())
}
