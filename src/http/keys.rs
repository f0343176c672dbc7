//! Issuer keys over HTTP. `GET /api/v1/keys` is public: every issuer key with its status,
//! validity and the brand root's endorsement, plus the root public key, which is all an app
//! needs to verify marks offline. Adding a key and changing its status is the brand
//! authority's (admin) work; the private halves never leave the keys directory.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::auth::{Admin, Principal};
use super::error::ApiError;
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::registry::RegistryError;
use crate::app::registry::keys::KeyChange;
use crate::app::{IssuerKeyRecord, KeyFilter};
use crate::domain::issuer::IssuerId;
use crate::domain::key::{ENDORSEMENT_CONTEXT, KeyId, KeyStatus, Validity};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    issuer: Option<String>,
    status: Option<KeyStatus>,
    after: Option<String>,
    limit: Option<u32>,
}

#[derive(Serialize)]
pub struct RootKey {
    key_id: KeyId,
    /// Standard base64 of the 32-byte Ed25519 public key.
    public_key: String,
}

#[derive(Serialize)]
pub struct KeyDirectory {
    root: RootKey,
    /// The context string of the endorsement message (see the README).
    endorsement_context: &'static str,
    keys: Vec<IssuerKeyRecord>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AddKey {
    /// Unix seconds; default now.
    not_before: Option<u64>,
    /// Unix seconds; default three years after `not_before`.
    not_after: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compromise {
    reason: String,
}

fn now() -> u64 {
    crate::clock::unix_now()
}

/// `GET /api/v1/keys?issuer=&status=&after=&limit=`: one page of keys by id, with the root.
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<KeyDirectory>, ApiError> {
    let filter = KeyFilter {
        issuer: q.issuer,
        status: q.status,
        after: q.after,
        limit: page_limit(q.limit)?,
        ..KeyFilter::default()
    };
    let registry = &state.services.registry;
    let root = registry.root_public();
    Ok(Json(KeyDirectory {
        root: RootKey {
            key_id: KeyId::of(&root),
            public_key: STANDARD.encode(root.as_bytes()),
        },
        endorsement_context: std::str::from_utf8(ENDORSEMENT_CONTEXT).expect("ASCII"),
        keys: registry.keys(&filter).await?,
    }))
}

/// `POST /api/v1/issuers/{id}/keys`: a new key for the issuer, endorsed, status `added`.
pub async fn add(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddKey>,
) -> Result<(StatusCode, Json<IssuerKeyRecord>), ApiError> {
    let issuer = IssuerId::parse(&id).map_err(|e| ApiError::NotFound(e.to_string()))?;
    let validity = Validity::starting(body.not_before.unwrap_or_else(now), body.not_after)
        .map_err(RegistryError::from)?;
    let registry = &state.services.registry;
    let added = registry
        .add_issuer_key(&issuer, validity, &principal.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(registry.key(added.key_id).await?)))
}

/// `POST /api/v1/keys/{key_id}/activate`: new batches of the key's issuer use it; the key
/// active before is retired.
pub async fn activate(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IssuerKeyRecord>, ApiError> {
    change(state, principal, id, KeyChange::Activate).await
}

/// `POST /api/v1/keys/{key_id}/retire`: no new batches; its marks still verify.
pub async fn retire(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IssuerKeyRecord>, ApiError> {
    change(state, principal, id, KeyChange::Retire).await
}

/// `POST /api/v1/keys/{key_id}/compromise` with a reason: no new batches, and its marks carry
/// the `key_compromised` flag from now on.
pub async fn compromise(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Compromise>,
) -> Result<Json<IssuerKeyRecord>, ApiError> {
    change(state, principal, id, KeyChange::Compromise(body.reason)).await
}

async fn change(
    state: AppState,
    principal: Principal,
    id: String,
    change: KeyChange,
) -> Result<Json<IssuerKeyRecord>, ApiError> {
    let key_id = parse_id(&id)?;
    let record = state
        .services
        .registry
        .change_issuer_key(key_id, change, now(), &principal.actor())
        .await?;
    Ok(Json(record))
}

fn parse_id(id: &str) -> Result<KeyId, ApiError> {
    KeyId::parse(id).ok_or_else(|| ApiError::NotFound(format!("key {id:?} does not exist")))
}
