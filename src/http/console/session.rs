//! Signing in and out, and the session behind every other page: [`Signed`] reads the session
//! cookie and has the access service find the token it stands for, so a revoked token's
//! sessions end at once on every node and an expired or signed-out session is refused.

use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::{ConsoleError, ConsoleForm, Frame, render};
use crate::domain::access::{csrf_matches, csrf_token};
use crate::http::auth::Principal;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// The session cookie's name.
const COOKIE_NAME: &str = "mt_session";

/// A signed-in caller: the principal its session stands for, and the session's id, from which
/// its CSRF token derives.
pub struct Signed {
    pub principal: Principal,
    session_id: String,
}

impl Signed {
    /// The CSRF token every form of this session carries.
    pub fn csrf(&self) -> String {
        csrf_token(&self.session_id)
    }

    /// Refuses a form whose CSRF token is not this session's (403).
    pub fn check(&self, presented: &str) -> Result<(), ConsoleError> {
        if csrf_matches(&self.session_id, presented) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "the form's CSRF token is missing or not this session's; reload the page and send it again"
                    .to_owned(),
            )
            .into())
        }
    }

    /// What the layout shows of the caller, and the sign-out form's token.
    pub fn frame(&self, title: &'static str) -> Frame {
        Frame::new(&self.principal, self.csrf(), title)
    }
}

/// The session id in a request's cookies, if any.
fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    /// Without a valid session, a page sends the browser to sign in.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Signed, Response> {
        let to_login = || Redirect::to("/console/login").into_response();
        let session_id = session_cookie(parts).ok_or_else(to_login)?;
        let caller = state
            .services
            .access
            .session(&session_id)
            .await
            .map_err(|e| ConsoleError::from(ApiError::from(e)).into_response())?
            .ok_or_else(to_login)?;
        Ok(Signed {
            principal: Principal {
                token_id: caller.token_id,
                grant: caller.grant,
            },
            session_id,
        })
    }
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    /// Why the last attempt failed.
    error: Option<&'static str>,
}

pub async fn login_page() -> Result<Response, ConsoleError> {
    render(&LoginPage { error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

/// Signs the pasted token in: a session cookie and on to the console, or the form again.
pub async fn login(
    State(state): State<AppState>,
    ConsoleForm(form): ConsoleForm<LoginForm>,
) -> Result<Response, ConsoleError> {
    let settings = state.sessions;
    let signed_in = state
        .services
        .access
        .sign_in(form.token.trim(), settings.lifetime)
        .await
        .map_err(ApiError::from)?;
    let Some((session_id, _)) = signed_in else {
        let page = LoginPage {
            error: Some("令牌无效或已撤销 · The token is not valid or has been revoked"),
        };
        let mut response = render(&page)?;
        *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(response);
    };
    let cookie = format!(
        "{COOKIE_NAME}={session_id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
        settings.lifetime.as_secs(),
        if settings.secure { "; Secure" } else { "" }
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/console")).into_response())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    signed: Signed,
    ConsoleForm(form): ConsoleForm<CsrfForm>,
) -> Result<Response, ConsoleError> {
    signed.check(&form.csrf)?;
    state
        .services
        .access
        .sign_out(&signed.session_id)
        .await
        .map_err(ApiError::from)?;
    let cookie = format!("{COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/console/login")).into_response())
}
