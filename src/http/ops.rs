//! Operations endpoints: liveness, readiness and Prometheus metrics (no `/api/v1` prefix).
//! `/healthz` says the process serves requests and never touches the database, so a load
//! balancer does not restart a node for its database's outage; `/readyz` says whether the
//! node can answer now (the database answers, the log writer runs), so a load balancer sends
//! traffic elsewhere while it cannot.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;

use super::error::{ApiError, UNAVAILABLE_RETRY_AFTER_SECS};
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

/// Readiness: the database answers and the log writer takes appends. 503 with `Retry-After`
/// otherwise, naming what failed.
#[utoipa::path(
    get,
    operation_id = "ops_readyz",
    path = "/readyz",
    tag = "ops",
    summary = "Readiness",
    responses(
        (status = 200, description = "The node can answer: the database answers and the log writer runs.", body = Ready, content_type = "application/json"),
        (status = 503, description = "The node cannot answer now; `database` says why. Sent with `Retry-After`.", body = Ready, content_type = "application/json",
            headers(("Retry-After" = u64, description = "Seconds to wait before probing again."))),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let readiness = state.services.status.readiness().await;
    let ready = readiness.ready();
    let body = Json(Ready {
        status: if ready { "ready" } else { "unavailable" },
        database: readiness.database.unwrap_or_else(|| "ok".to_owned()),
        log_writer: if readiness.log_writer {
            "ok"
        } else {
            "stopped"
        },
    });
    if ready {
        (StatusCode::OK, HeaderMap::new(), body)
    } else {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
        );
        (StatusCode::SERVICE_UNAVAILABLE, headers, body)
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// `ready` or `unavailable`.
    status: &'static str,
    /// `ok`, or why the database did not answer.
    database: String,
    /// `ok`, or `stopped` once the node is shutting down.
    log_writer: &'static str,
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
