//! This deployment as a witness (C2SP `tlog-witness`): `add-checkpoint` for the logs of
//! registered partner brands, answered with the statuses the spec names, and the witness's
//! verifier key. Anyone may call them: a checkpoint is accepted only under a registered
//! partner log's signature.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, Limited};
use super::state::AppState;
use crate::app::witness::WitnessError;

impl From<WitnessError> for ApiError {
    fn from(error: WitnessError) -> ApiError {
        match error {
            WitnessError::Malformed(_) => ApiError::InvalidRequest(error.to_string()),
            WitnessError::UnknownLog(_) => ApiError::NotFound(error.to_string()),
            WitnessError::NotSigned(_) => ApiError::Forbidden(error.to_string()),
            WitnessError::OldSize(_) | WitnessError::Fork(_) => {
                ApiError::Conflict(error.to_string())
            }
            WitnessError::Inconsistent { .. } => ApiError::Unprocessable(error.to_string()),
            WitnessError::Storage(e) => e.into(),
            WitnessError::Append(e) => e.into(),
        }
    }
}

/// `POST /api/v1/witness/add-checkpoint`: a cosignature for a partner log's checkpoint.
#[utoipa::path(
    post,
    operation_id = "witness_add_checkpoint",
    path = "/api/v1/witness/add-checkpoint",
    tag = "witness",
    summary = "Cosign a partner brand's checkpoint (C2SP tlog-witness)",
    description = "The body is `old <size>`, the consistency proof from that size one base64 hash a line, an empty line, and the partner log's signed checkpoint. The checkpoint must be signed by the log key registered for a recognised brand (404 for an unknown origin, 403 for no valid signature); `old` must be the size this witness last cosigned for that log (409 `text/x.tlog.size` with that size otherwise) and the proof must hold from it (422). A checkpoint of the cosigned size with another root is a 409 too, and that one and a proof that does not hold are kept in the log as `PartnerCheckpointRefused` evidence. The new size is stored before the answer: one `cosignature/v1` line.",
    request_body(content = String, content_type = "text/plain", description = "The add-checkpoint request."),
    responses(
        (status = 200, description = "The witness's cosignature line.", body = String, content_type = "text/plain"),
        (status = 400, response = crate::http::error::Problem),
        (status = 403, response = crate::http::error::Problem),
        (status = 404, response = crate::http::error::Problem),
        (status = 409, description = "`old` is not the size last cosigned, which is the body (`text/x.tlog.size`); or a fork, as a problem.", body = String, content_type = "text/x.tlog.size"),
        (status = 422, response = crate::http::error::Problem),
        Limited,
    ),
)]
pub async fn add_checkpoint(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(body) = std::str::from_utf8(&body) else {
        return ApiError::InvalidRequest("the request body is not UTF-8 text".into())
            .into_response();
    };
    match state.services.witness.add_checkpoint(body).await {
        Ok(line) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response(),
        Err(WitnessError::OldSize(size)) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{size}\n"),
        )
            .into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// `GET /api/v1/witness/key`: the witness's `cosignature/v1` verifier key.
#[utoipa::path(
    get,
    operation_id = "witness_key",
    path = "/api/v1/witness/key",
    tag = "witness",
    summary = "The witness's verifier key",
    description = "`name+keyid+base64(0x04 || Ed25519 public key)` (C2SP tlog-cosignature): what a partner brand configures to ask this deployment for cosignatures, and what a verifier counts its cosignatures with.",
    responses(
        (status = 200, description = "The verifier key and a newline.", body = String, content_type = "text/plain"),
        Limited,
    ),
)]
pub async fn key(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", state.services.witness.verifier_key()),
    )
        .into_response()
}
