//! The transparency log's public read API (SPEC.md "Log and transparency"): the latest signed
//! checkpoint, the verifier key, entries, RFC 9162 proofs as JSON, `tlog-proof` bundles and
//! C2SP tiles. Anyone may read it; confidential events show only their envelope.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::error::ApiError;
use super::state::{ApiPath, ApiQuery, AppState};
use crate::app::ProofError;
use crate::app::transparency::TileError;

const TEXT: &str = "text/plain; charset=utf-8";

/// Full and partial tiles alike never change once they exist: a tile's URL names its content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

impl From<ProofError> for ApiError {
    fn from(error: ProofError) -> ApiError {
        match error {
            ProofError::SizeBeyondLog { .. } | ProofError::Merkle(_) => {
                ApiError::InvalidRequest(error.to_string())
            }
            ProofError::NoSuchTile(_) => ApiError::NotFound(error.to_string()),
            ProofError::Storage(e) => e.into(),
        }
    }
}

impl From<TileError> for ApiError {
    fn from(error: TileError) -> ApiError {
        match error {
            TileError::Path(e) => ApiError::NotFound(e.to_string()),
            TileError::Proof(e) => e.into(),
        }
    }
}

fn base64_all(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(|h| STANDARD.encode(h)).collect()
}

/// `GET /api/v1/log/checkpoint`: the latest signed checkpoint note.
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let checkpoint = state.services.transparency.checkpoint().await?;
    Ok((
        [
            (header::CONTENT_TYPE, TEXT),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        checkpoint.note,
    )
        .into_response())
}

/// `GET /api/v1/log/key`: the C2SP verifier key of the checkpoint signatures.
pub async fn key(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, TEXT)],
        format!("{}\n", state.services.transparency.verifier_key()),
    )
}

#[derive(Serialize)]
struct Entry<'a> {
    index: u64,
    leaf_hash: String,
    /// The canonical envelope, byte for byte as hashed.
    envelope: &'a RawValue,
    /// The event's data exactly as stored; absent for confidential events.
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a RawValue>,
}

/// `GET /api/v1/log/entries/{index}`.
pub async fn entry(
    State(state): State<AppState>,
    ApiPath(index): ApiPath<u64>,
) -> Result<Response, ApiError> {
    let entry = state
        .services
        .transparency
        .entry(index)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("the log has no entry {index}")))?;
    let raw = |json: String| -> Result<Box<RawValue>, ApiError> {
        RawValue::from_string(json).map_err(|e| ApiError::Internal(e.into()))
    };
    let envelope = raw(entry.envelope)?;
    let data = entry.data.map(raw).transpose()?;
    let body = Entry {
        index,
        leaf_hash: STANDARD.encode(entry.leaf_hash),
        envelope: &envelope,
        data: data.as_deref(),
    };
    Ok(axum::Json(body).into_response())
}

#[derive(Deserialize)]
pub struct InclusionQuery {
    index: u64,
    /// Defaults to the latest checkpoint's size.
    size: Option<u64>,
}

#[derive(Serialize)]
struct InclusionProof {
    index: u64,
    size: u64,
    hashes: Vec<String>,
}

/// `GET /api/v1/log/proof/inclusion?index=&size=`.
pub async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Response, ApiError> {
    let (size, hashes) = state
        .services
        .transparency
        .inclusion_proof(q.index, q.size)
        .await?;
    Ok(axum::Json(InclusionProof {
        index: q.index,
        size,
        hashes: base64_all(&hashes),
    })
    .into_response())
}

#[derive(Deserialize)]
pub struct ConsistencyQuery {
    from: u64,
    to: u64,
}

#[derive(Serialize)]
struct ConsistencyProof {
    from: u64,
    to: u64,
    hashes: Vec<String>,
}

/// `GET /api/v1/log/proof/consistency?from=&to=`.
pub async fn consistency(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<Response, ApiError> {
    let hashes = state
        .services
        .transparency
        .consistency_proof(q.from, q.to)
        .await?;
    Ok(axum::Json(ConsistencyProof {
        from: q.from,
        to: q.to,
        hashes: base64_all(&hashes),
    })
    .into_response())
}

#[derive(Deserialize)]
pub struct BundleQuery {
    index: u64,
}

/// `GET /api/v1/log/proof/bundle?index=`: a C2SP `tlog-proof@v1` against the latest
/// checkpoint.
pub async fn bundle(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<BundleQuery>,
) -> Result<Response, ApiError> {
    let bundle = state.services.transparency.proof_bundle(q.index).await?;
    Ok(([(header::CONTENT_TYPE, TEXT)], bundle).into_response())
}

/// `GET /api/v1/log/tiles/tile/{*path}`: C2SP tlog-tiles hash tiles and entry bundles.
pub async fn tile(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<String>,
) -> Result<Response, ApiError> {
    let bytes = state.services.transparency.tile(&path).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        bytes,
    )
        .into_response())
}
