//! `GET /api/v1/status/snapshot`: the signed status snapshot for offline verifiers, whole or
//! as a delta from an earlier one. Anyone may fetch it: it holds only public statuses.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::{ApiError, Invalid, Limited};
use super::state::{ApiQuery, AppState, Binary};
use crate::app::snapshot::SnapshotServiceError;

/// The snapshot's media type.
const SNAPSHOT: &str = "application/vnd.marktrace.status-snapshot";

impl From<SnapshotServiceError> for ApiError {
    fn from(error: SnapshotServiceError) -> ApiError {
        match error {
            SnapshotServiceError::SinceBeyond { .. } => ApiError::InvalidRequest(error.to_string()),
            SnapshotServiceError::Storage(e) => e.into(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotQuery {
    /// The `size` of a snapshot the caller holds: answer the delta that brings it up to date.
    since: Option<u64>,
}

/// `GET /api/v1/status/snapshot[?since=SIZE]`.
#[utoipa::path(
    get,
    operation_id = "status_snapshot",
    path = "/api/v1/status/snapshot",
    tag = "log",
    summary = "Signed status snapshot for offline verification",
    description = "Every status that can change a verdict (keys with their status, certificates' states and validity, issuers and sub-brands, batches, range reports) as of the log size in its header, with the signed checkpoint that covers it, signed with the log key over `marktrace/status-snapshot/v1\\0` and the document: the byte layout is docs/status-snapshot.md. With `since`, the delta from the snapshot of that size: its changed rows, new batches and new reports. `marktrace verify --offline` decides with it alone.",
    params(SnapshotQuery),
    responses(
        (status = 200, description = "The snapshot (or delta).", body = inline(Binary), content_type = "application/vnd.marktrace.status-snapshot"),
        Invalid, Limited,
    ),
)]
pub async fn snapshot(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SnapshotQuery>,
) -> Result<Response, ApiError> {
    let document = state.services.snapshots.document(q.since).await?;
    Ok((
        [
            (header::CONTENT_TYPE, SNAPSHOT),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        document,
    )
        .into_response())
}
