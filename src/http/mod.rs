//! The HTTP edge: the whole route table in [`app`], the middleware stack, the shared state and
//! the extractors that turn bad input into problem+json. Handlers live in one module per area
//! and stay thin: extract, call an application service, map to a response.

mod auth;
mod batches;
mod cases;
mod certificates;
mod credit;
mod enterprises;
pub mod error;
mod flags;
mod issuers;
mod keys;
mod limit;
mod ops;
pub mod page;
mod state;
mod tokens;
mod transparency;
mod verify;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use error::ApiError;
pub use limit::{ClientAddr, Limiter, RateLimit, TrustedProxies};
pub use state::AppState;

/// The whole service as a router, so tests can drive it without a socket.
///
/// Every request is first given its [`ClientAddr`] (the one rule naming the client, see
/// `limit`). The public routes, the ones anyone may call without a token, are then rate
/// limited per client by one layer; the rest are not:
/// - `/healthz` and `/metrics` are for load balancers' probes and Prometheus, which poll from
///   a few fixed addresses, often the same address a proxy forwards every consumer from: a
///   probe refused because consumers spent that address's bucket would take a healthy node
///   out of service. They are cheap and touch no database.
/// - Authenticated routes have callers known by their token (issuers exporting batches, the
///   credit platform paging its feed, supervisors): a handful of accountable institutions
///   whose legitimate bulk use would exceed a consumer's rate, and whose token can be revoked
///   at once. A request without a valid token costs the token check (no body is read, nothing
///   is written) and is a 401.
pub fn app(state: AppState) -> Router {
    let body_limit = state.body_limit;
    let mut public = Router::new()
        .route("/v/{token}", get(verify::label))
        .route("/01/{gtin}/21/{serial}", get(verify::gs1_label))
        .route("/api/v1/verify", post(verify::verify_json))
        .route("/api/v1/reports", post(verify::report))
        .route("/api/v1/openapi.json", get(ops::openapi))
        .route("/api/v1/log/checkpoint", get(transparency::checkpoint))
        .route("/api/v1/log/key", get(transparency::key))
        .route("/api/v1/log/entries/{index}", get(transparency::entry))
        .route("/api/v1/log/proof/inclusion", get(transparency::inclusion))
        .route(
            "/api/v1/log/proof/consistency",
            get(transparency::consistency),
        )
        .route("/api/v1/log/proof/bundle", get(transparency::bundle))
        .route("/api/v1/log/tiles/tile/{*path}", get(transparency::tile))
        .route("/api/v1/keys", get(keys::list))
        .route("/api/v1/public/credit", get(credit::public));
    if let Some(limit) = state.limiter.layer() {
        // `route_layer`: only requests that match a public route spend a token.
        public = public.route_layer(limit);
    }
    let name_client =
        axum::middleware::map_request_with_state(state.limiter.proxies(), limit::name_client);
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .merge(public)
        .route("/api/v1/keys/{key_id}/activate", post(keys::activate))
        .route("/api/v1/keys/{key_id}/retire", post(keys::retire))
        .route("/api/v1/keys/{key_id}/compromise", post(keys::compromise))
        .route("/api/v1/tokens", get(tokens::list))
        .route(
            "/api/v1/issuers",
            get(issuers::list).post(issuers::register),
        )
        .route("/api/v1/issuers/{id}", get(issuers::get))
        .route("/api/v1/issuers/{id}/suspend", post(issuers::suspend))
        .route("/api/v1/issuers/{id}/reinstate", post(issuers::reinstate))
        .route("/api/v1/issuers/{id}/keys", post(keys::add))
        .route(
            "/api/v1/enterprises",
            get(enterprises::list).post(enterprises::register),
        )
        .route("/api/v1/enterprises/{uscc}", get(enterprises::get))
        .route(
            "/api/v1/certificates",
            get(certificates::list).post(certificates::apply),
        )
        .route("/api/v1/certificates/{id}", get(certificates::get))
        .route(
            "/api/v1/certificates/{id}/evaluate",
            post(certificates::evaluate),
        )
        .route("/api/v1/certificates/{id}/issue", post(certificates::issue))
        .route(
            "/api/v1/certificates/{id}/suspend",
            post(certificates::suspend),
        )
        .route(
            "/api/v1/certificates/{id}/reinstate",
            post(certificates::reinstate),
        )
        .route(
            "/api/v1/certificates/{id}/revoke",
            post(certificates::revoke),
        )
        .route("/api/v1/batches", get(batches::list).post(batches::issue))
        .route("/api/v1/batches/{id}", get(batches::get))
        .route("/api/v1/batches/{id}/reports", post(batches::report))
        .route("/api/v1/batches/{id}/marks.csv", get(batches::marks_csv))
        .route("/api/v1/flags", get(flags::list))
        .route("/api/v1/marks/{serial}", get(batches::mark))
        .route("/api/v1/marks/{serial}/qr.svg", get(batches::qr_svg))
        .route("/api/v1/marks/{serial}/qr.png", get(batches::qr_png))
        .route("/api/v1/cases", get(cases::list).post(cases::open))
        .route("/api/v1/cases/{id}", get(cases::get))
        .route("/api/v1/cases/{id}/notes", post(cases::note))
        .route("/api/v1/cases/{id}/evidence", post(cases::evidence))
        .route("/api/v1/cases/{id}/share", post(cases::share))
        .route("/api/v1/cases/{id}/transfer", post(cases::transfer))
        .route("/api/v1/cases/{id}/close", post(cases::close))
        .route("/api/v1/credit/records", get(credit::feed))
        .route("/api/v1/credit/records.csv", get(credit::csv))
        .route("/api/v1/credit/records/{id}/correct", post(credit::correct))
        .route(
            "/api/v1/credit/records/{id}/withdraw",
            post(credit::withdraw),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(name_client)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no resource at {}", uri.path()))
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
