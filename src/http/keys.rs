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
use super::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::domain::issuer::IssuerId;
use crate::domain::key::{ENDORSEMENT_CONTEXT, KeyId, KeyStatus, Validity};
use crate::error::ApiError;
use crate::projections::catch_up;
use crate::projections::issuer_keys::{IssuerKeyRecord, IssuerKeys};
use crate::projections::issuers::Issuers;
use crate::registry::RegistryError;
use crate::registry::keys::{KeyChange, add_issuer_key, change_issuer_key};
use crate::storage::KeyFilter;

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
    let root = state.keyring.root_public();
    Ok(Json(KeyDirectory {
        root: RootKey {
            key_id: KeyId::of(&root),
            public_key: STANDARD.encode(root.as_bytes()),
        },
        endorsement_context: std::str::from_utf8(ENDORSEMENT_CONTEXT).expect("ASCII"),
        keys: keys(&state, &filter).await?,
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
    let added = add_issuer_key(
        &state.log,
        &state.keyring,
        &issuer,
        validity,
        &principal.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(one(&state, added.key_id).await?)))
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
    change_issuer_key(&state.log, key_id, change, now(), &principal.actor()).await?;
    Ok(Json(one(&state, key_id).await?))
}

fn parse_id(id: &str) -> Result<KeyId, ApiError> {
    KeyId::parse(id).ok_or_else(|| ApiError::NotFound(format!("key {id:?} does not exist")))
}

/// Keys from the caught-up projections: keys first, then issuers, so every key's issuer (and
/// brand) is there.
async fn keys(state: &AppState, filter: &KeyFilter) -> Result<Vec<IssuerKeyRecord>, ApiError> {
    catch_up(&state.log, &IssuerKeys).await?;
    catch_up(&state.log, &Issuers).await?;
    Ok(state.log.store().issuer_keys(filter).await?)
}

async fn one(state: &AppState, key_id: KeyId) -> Result<IssuerKeyRecord, ApiError> {
    let filter = KeyFilter {
        key_id: Some(key_id),
        limit: 1,
        ..KeyFilter::default()
    };
    keys(state, &filter)
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("key {key_id} does not exist")))
}
