//! The console: server-rendered pages for the people who run the brand (certification bodies,
//! market supervisors, enforcement teams, the brand authority, the credit platform), zh-CN
//! first with English beside it, on the layout the consumer pages share.
//!
//! A page is an edge like an API handler: it extracts, calls the same application service
//! the API handler for the same action calls, with the same role checks ([`Principal`]'s),
//! and renders. No rule lives here. A user signs in once with an access token
//! ([`session`]); the session cookie then stands for the token, and every form carries the
//! session's CSRF token ([`Signed::check`]). A page outside the caller's role or regions is
//! the same 404 as a missing one, exactly as the API answers.
//!
//! No scripts, no external requests: [`csp`] allows the one inline stylesheet by its hash and
//! nothing else.

mod cases;
mod credit;
mod flags;
mod home;
mod map;
mod session;
mod view;

use axum::Router;
use axum::routing::{get, post};

use super::state::AppState;

/// The console's routes, all under `/console`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(home::home))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/flags", get(flags::queue))
        .route("/console/cases", get(cases::list).post(cases::open))
        .route("/console/cases/{id}", get(cases::case))
        .route("/console/cases/{id}/evidence", post(cases::evidence))
        .route("/console/cases/{id}/{action}", post(cases::change))
        .route("/console/credit", get(credit::records))
        .route("/console/credit/records.csv", get(credit::csv))
}
