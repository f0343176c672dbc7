//! The HTTP edge: the whole route table in [`app`], the middleware stack, the shared state and
//! the extractors that turn bad input into problem+json. Handlers live in one module per area
//! and stay thin: extract, call the domain, map to a response.

mod ops;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts};
use axum::http::{Method, Uri};
use axum::routing::get;
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::log::Log;
use crate::metrics::Metrics;

/// What every handler may reach. Cheap to clone: handles only.
#[derive(Clone)]
pub struct AppState {
    /// The event log, for appends and reads.
    pub log: Log,
    /// Process-wide counters rendered at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The largest request body any endpoint accepts, in bytes.
    pub body_limit: usize,
}

/// The whole service as a router, so tests can drive it without a socket.
pub fn app(state: AppState) -> Router {
    let body_limit = state.body_limit;
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no resource at {}", uri.path()))
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// `axum::Json` whose rejections are our problem+json.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` whose rejections are our problem+json.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` whose rejections are our problem+json.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
