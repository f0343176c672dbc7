//! The HTTP edge: the service in [`app`] (the route table and its OpenAPI document in
//! `routes`), the middleware stack, the shared state and
//! the extractors that turn bad input into problem+json. Handlers live in one module per area
//! and stay thin: extract, call an application service, map to a response.

mod auth;
mod batches;
mod brands;
mod cases;
mod certificates;
mod console;
mod credit;
mod enterprises;
mod epcis;
pub mod error;
mod flags;
mod idempotency;
mod issuers;
mod keys;
mod limit;
mod ops;
pub mod page;
mod resolver;
mod routes;
mod snapshot;
mod state;
mod tokens;
mod transparency;
mod verify;
mod witness;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use tower_http::trace::TraceLayer;

use error::ApiError;
pub use limit::{ClientAddr, Limiter, RateLimit, TokenLimiter, TrustedProxies};
pub use state::{AppState, SessionSettings};
pub use verify::MAX_BATCH_ITEMS;

/// The whole service as a router, so tests can drive it without a socket.
///
/// Every request is first given its [`ClientAddr`] (the one rule naming the client, see
/// `limit`). The routes that take a token and the public writes (`routes::public_writes`)
/// pass `idempotency::keyed`, which runs a POST carrying an `Idempotency-Key` at most once
/// per key; scans and other public reads do not. The public routes, the ones anyone may call
/// without a token, are then rate limited per client by one layer; the rest are not:
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
    let keyed = axum::middleware::from_fn_with_state(state.clone(), idempotency::keyed);
    // Scans and the other public reads skip the key layer; the public writes pass it inside
    // the rate limit, so a refused request claims no key.
    let mut public = routes::public().merge(routes::public_writes().route_layer(keyed.clone()));
    if let Some(limit) = state.limiter.layer() {
        // `route_layer`: only requests that match a public route spend a token.
        public = public.route_layer(limit);
    }
    let name_client =
        axum::middleware::map_request_with_state(state.limiter.proxies(), limit::name_client);
    let (router, _) = routes::rest()
        .route_layer(keyed)
        .merge(public)
        .split_for_parts();
    router
        .merge(console::router())
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
