//! The transparency log's public read API (SPEC.md "Log and transparency"): the latest signed
//! checkpoint, the verifier key, entries, RFC 9162 proofs as JSON, `tlog-proof` bundles and
//! C2SP tiles. Anyone may read it; confidential events show only their envelope.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::auth::Admin;
use super::error::{ApiError, Guarded, Invalid, Limited, Missing};
use super::state::{ApiPath, ApiQuery, AppState, Binary};
use crate::app::ProofError;
use crate::app::transparency::{LogAudit, TileError};
use crate::log::event::EnvelopeFields;

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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CosignedQuery {
    /// Serve the newest checkpoint with at least this many witness cosignatures instead of
    /// the latest (404 while none has); default 0.
    #[serde(default)]
    #[param(maximum = 100)]
    cosigned: u32,
}

/// The checkpoint a `?cosigned=` asks for, or 404 while none has that many cosignatures.
async fn cosigned(
    state: &AppState,
    quorum: u32,
) -> Result<crate::log::records::StoredCheckpoint, ApiError> {
    state
        .services
        .transparency
        .cosigned_checkpoint(quorum)
        .await?
        .ok_or_else(|| no_quorum(quorum))
}

fn no_quorum(quorum: u32) -> ApiError {
    ApiError::NotFound(format!(
        "no checkpoint has {quorum} witness cosignatures yet"
    ))
}

/// `GET /api/v1/log/checkpoint`: the latest signed checkpoint note, with its cosignatures.
#[utoipa::path(
    get,
    operation_id = "transparency_checkpoint",
    path = "/api/v1/log/checkpoint",
    tag = "log",
    summary = "The latest signed checkpoint",
    description = "A C2SP tlog-checkpoint (origin, size, base64 root) signed as a C2SP signed note with the log key, followed by every C2SP `cosignature/v1` line the configured witnesses returned for that size (none yet for a checkpoint just signed: witnesses are asked at most once a second). Every committed append is covered by it. With `?cosigned=K`, the newest checkpoint with at least K cosignatures.",
    params(CosignedQuery),
    responses(
        (status = 200, description = "The checkpoint note.", body = String, content_type = "text/plain"),
        Invalid, Missing, Limited,
    ),
)]
pub async fn checkpoint(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CosignedQuery>,
) -> Result<Response, ApiError> {
    let checkpoint = cosigned(&state, q.cosigned).await?;
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
#[utoipa::path(
    get,
    operation_id = "transparency_key",
    path = "/api/v1/log/key",
    tag = "log",
    summary = "The log's verifier key",
    description = "The C2SP vkey string `name+hexkeyid+base64(0x01||public key)`, followed by a newline.",
    responses(
        (status = 200, description = "The verifier key.", body = String, content_type = "text/plain"),
        Limited,
    ),
)]
pub async fn key(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, TEXT)],
        format!("{}\n", state.services.transparency.verifier_key()),
    )
}

#[derive(Serialize, utoipa::ToSchema)]
struct Entry<'a> {
    index: u64,
    /// Standard base64 of SHA-256(0x00 || envelope).
    leaf_hash: String,
    /// The canonical envelope, byte for byte as hashed.
    #[schema(value_type = EnvelopeFields)]
    envelope: &'a RawValue,
    /// The event's data exactly as stored; absent for confidential events.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    data: Option<&'a RawValue>,
}

/// `GET /api/v1/log/entries/{index}`.
#[utoipa::path(
    get,
    operation_id = "transparency_entry",
    path = "/api/v1/log/entries/{index}",
    tag = "log",
    summary = "One log entry",
    description = "The canonical envelope (the leaf's preimage) and, for public events only, the event data exactly as stored.",
    params(
        ("index" = u64, Path),
    ),
    responses(
        (status = 200, description = "The entry.", body = Entry, content_type = "application/json"),
        Invalid, Missing, Limited,
    ),
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    index: u64,
    /// Tree size; default: the latest checkpoint's.
    #[param(minimum = 1)]
    size: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct InclusionProof {
    index: u64,
    size: u64,
    hashes: Vec<String>,
}

/// `GET /api/v1/log/proof/inclusion?index=&size=`.
#[utoipa::path(
    get,
    operation_id = "transparency_inclusion",
    path = "/api/v1/log/proof/inclusion",
    tag = "log",
    summary = "Inclusion proof (RFC 9162 §2.1.3)",
    params(
        InclusionQuery,
    ),
    responses(
        (status = 200, description = "The audit path.", body = InclusionProof, content_type = "application/json"),
        Invalid, Limited,
    ),
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    #[param(minimum = 1)]
    from: u64,
    #[param(minimum = 1)]
    to: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ConsistencyProof {
    from: u64,
    to: u64,
    hashes: Vec<String>,
}

/// `GET /api/v1/log/proof/consistency?from=&to=`.
#[utoipa::path(
    get,
    operation_id = "transparency_consistency",
    path = "/api/v1/log/proof/consistency",
    tag = "log",
    summary = "Consistency proof (RFC 9162 §2.1.4)",
    description = "From size 0 is a 400; from n to n is an empty proof.",
    params(
        ConsistencyQuery,
    ),
    responses(
        (status = 200, description = "The proof.", body = ConsistencyProof, content_type = "application/json"),
        Invalid, Limited,
    ),
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BundleQuery {
    index: u64,
    /// Prove against the newest checkpoint with at least this many witness cosignatures
    /// (404 while none has); default 0, the latest.
    #[serde(default)]
    #[param(maximum = 100)]
    cosigned: u32,
}

/// `GET /api/v1/log/proof/bundle?index=`: a C2SP `tlog-proof@v1` against the latest
/// checkpoint.
#[utoipa::path(
    get,
    operation_id = "transparency_bundle",
    path = "/api/v1/log/proof/bundle",
    tag = "log",
    summary = "Offline-checkable proof bundle (C2SP tlog-proof@v1)",
    description = "`c2sp.org/tlog-proof@v1`, `index N`, the inclusion path one base64 hash per line, an empty line, then the signed checkpoint with its witness cosignatures, as `GET /log/checkpoint` serves it: the latest, or with `?cosigned=K` the newest with at least K cosignatures.",
    params(
        BundleQuery,
    ),
    responses(
        (status = 200, description = "The bundle.", body = String, content_type = "text/plain"),
        Invalid, Missing, Limited,
    ),
)]
pub async fn bundle(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<BundleQuery>,
) -> Result<Response, ApiError> {
    let bundle = state
        .services
        .transparency
        .proof_bundle(q.index, q.cosigned)
        .await?
        .ok_or_else(|| no_quorum(q.cosigned))?;
    Ok(([(header::CONTENT_TYPE, TEXT)], bundle).into_response())
}

/// `GET /api/v1/log/tiles/tile/{*path}`: C2SP tlog-tiles hash tiles and entry bundles.
#[utoipa::path(
    get,
    operation_id = "transparency_tile",
    path = "/api/v1/log/tiles/tile/{path}",
    tag = "log",
    summary = "C2SP tlog-tiles resources",
    description = "`tile/<L>/<N>[.p/<W>]` (concatenated 32-byte hashes of tree level 8L) and `tile/entries/<N>[.p/<W>]` (big-endian uint16 length-prefixed envelopes). `<N>` is written in three-digit elements, all but the last prefixed with `x`. Only canonical paths of tiles the current tree covers exist; they never change and are served with immutable caching.",
    params(
        ("path" = String, Path, description = "For example `0/x001/x234/067` or `entries/000.p/12`."),
    ),
    responses(
        (status = 200, description = "The tile.", body = inline(Binary), content_type = "application/octet-stream"),
        Missing, Limited,
    ),
)]
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

/// What an audit of the whole log found.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Audited {
    /// Whether every leaf, the tree, every checkpoint and every tile checked out.
    pub verified: bool,
    /// When the audit ran (RFC 3339 UTC).
    pub at: String,
    /// Entries covered; with `verified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Standard base64 of the recomputed root; with `verified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Signed checkpoints checked; with `verified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<u64>,
    /// The first inconsistency found; without `verified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl From<LogAudit> for Audited {
    fn from(audit: LogAudit) -> Audited {
        match audit.outcome {
            Ok(report) => Audited {
                verified: true,
                at: audit.at,
                size: Some(report.size),
                root: Some(STANDARD.encode(report.root)),
                checkpoints: Some(report.checkpoints),
                problem: None,
            },
            Err(problem) => Audited {
                verified: false,
                at: audit.at,
                size: None,
                root: None,
                checkpoints: None,
                problem: Some(problem),
            },
        }
    }
}

/// `POST /api/v1/log/verify` (admin): `marktrace log verify` on this node.
#[utoipa::path(
    post,
    operation_id = "transparency_verify",
    path = "/api/v1/log/verify",
    tag = "log",
    summary = "Audit the whole log (admin)",
    description = "Recomputes every leaf from its data, the tree, every checkpoint's signature and root and the stored tiles, as `marktrace log verify` does, against this log's own key. A log that fails is answered 200 with `verified: false` and the first inconsistency. Its cost grows with the log.",
    responses(
        (status = 200, description = "What the audit found.", body = Audited, content_type = "application/json"),
        Guarded,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn verify(State(state): State<AppState>, _: Admin) -> Result<Json<Audited>, ApiError> {
    Ok(Json(state.services.transparency.audit().await?.into()))
}
