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

mod admin;
mod cases;
mod credit;
mod flags;
mod form;
mod home;
mod issuer;
mod map;
mod marks;
mod reports;
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
        .route("/console/marks/{serial}", get(marks::mark))
        .route("/console/reports", get(reports::reports))
        .route("/console/cases", get(cases::list).post(cases::open))
        .route("/console/cases/{id}", get(cases::case))
        .route("/console/cases/{id}/evidence", post(cases::evidence))
        .route("/console/cases/{id}/{action}", post(cases::change))
        .route(
            "/console/licensees",
            get(issuer::licensees).post(issuer::register_licensee),
        )
        .route(
            "/console/certificates",
            get(issuer::certificates).post(issuer::apply),
        )
        .route("/console/certificates/{id}", get(issuer::certificate))
        .route(
            "/console/certificates/{id}/evaluate",
            post(issuer::evaluate),
        )
        .route("/console/certificates/{id}/{action}", post(issuer::advance))
        .route(
            "/console/batches",
            get(issuer::batches).post(issuer::issue_batch),
        )
        .route("/console/batches/{id}", get(issuer::batch))
        .route("/console/batches/{id}/marks.csv", get(issuer::marks_csv))
        .route("/console/batches/{id}/labels.html", get(issuer::labels))
        .route("/console/batches/{id}/reports", post(issuer::report))
        .route(
            "/console/issuers",
            get(admin::issuers).post(admin::register_issuer),
        )
        .route("/console/issuers/{id}/{action}", post(admin::issuer_status))
        .route("/console/keys", get(admin::keys).post(admin::add_key))
        .route("/console/keys/{key_id}/{action}", post(admin::key_change))
        .route("/console/log", get(admin::log))
        .route("/console/log/verify", post(admin::verify_log))
        .route("/console/tokens", get(admin::tokens).post(admin::mint))
        .route("/console/tokens/{id}/revoke", post(admin::revoke))
        .route("/console/credit", get(credit::records))
        .route("/console/credit/records.csv", get(credit::csv))
}
