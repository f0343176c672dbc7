//! Operations endpoints: liveness and Prometheus metrics (no `/api/v1` prefix).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;

use super::error::ApiError;
use super::state::AppState;

/// Liveness: the process serves requests. Cheap on purpose, for load balancers' tight loops.
#[utoipa::path(
    get,
    operation_id = "ops_healthz",
    path = "/healthz",
    tag = "ops",
    summary = "Liveness",
    responses(
        (status = 200, description = "The process serves requests.", body = Health, content_type = "application/json"),
    ),
)]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: Live::Ok,
        log_size: state.services.status.log_size(),
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    status: Live,
    /// The log's size as this node knows it.
    log_size: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Live {
    Ok,
}

#[utoipa::path(
    get,
    operation_id = "ops_metrics",
    path = "/metrics",
    tag = "ops",
    summary = "Prometheus metrics",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4.", body = String, content_type = "text/plain"),
    ),
)]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let body = state.services.status.metrics().await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    ))
}
