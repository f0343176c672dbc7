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
use super::error::{ApiError, Busy, Conflicting, Guarded, Invalid, JsonBody, Limited, Missing};
use super::state::{ApiJson, ApiPath, ApiQuery, AppState, page_limit};
use crate::app::registry::RegistryError;
use crate::app::registry::keys::KeyChange;
use crate::app::{IssuerKeyRecord, KeyFilter};
use crate::domain::issuer::IssuerId;
use crate::domain::key::{ENDORSEMENT_CONTEXT, KeyId, KeyStatus, Validity};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    issuer: Option<String>,
    status: Option<KeyStatus>,
    /// The last key id of the previous page.
    after: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RootKey {
    key_id: KeyId,
    /// Standard base64 of the 32-byte Ed25519 public key.
    public_key: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyDirectory {
    root: RootKey,
    /// The context string of the endorsement message (see the README).
    #[schema(value_type = String, pattern = "^marktrace/key-endorsement/v1$")]
    endorsement_context: &'static str,
    pub keys: Vec<IssuerKeyRecord>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddKey {
    /// Unix seconds; default now.
    #[schema(maximum = 253_402_300_799_u64)]
    not_before: Option<u64>,
    /// Unix seconds; default three years after `not_before`.
    #[schema(maximum = 253_402_300_799_u64)]
    not_after: Option<u64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Compromise {
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    reason: String,
}

fn now() -> u64 {
    crate::clock::unix_now()
}

/// `GET /api/v1/keys?issuer=&status=&after=&limit=`: one page of keys by id, with the root.
#[utoipa::path(
    get,
    operation_id = "keys_list",
    path = "/api/v1/keys",
    tag = "keys",
    summary = "The key directory (public)",
    description = "Every issuer key with its status, validity and the brand root's endorsement, and the root public key: what an app needs to verify marks offline. An endorsement is an Ed25519 signature by the root over `endorsement_context || 0x00 || issuer_id || 0x00 || public_key (32 bytes) || not_before (u64 BE) || not_after (u64 BE)`.",
    params(
        ListQuery,
    ),
    responses(
        (status = 200, description = "The root key and one page of issuer keys, by key id.", body = KeyDirectory, content_type = "application/json"),
        Invalid, Limited,
    ),
)]
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
#[utoipa::path(
    post,
    operation_id = "keys_add",
    path = "/api/v1/issuers/{id}/keys",
    tag = "keys",
    summary = "Add a key for an issuer (admin)",
    description = "Generates an Ed25519 key in the keys directory (`issuer-<id>-<key id>.pem`, mode 0600), endorses it with the brand root and records it with status `added`. The private key never appears in a response.",
    params(
        ("id" = String, Path),
    ),
    request_body = AddKey,
    responses(
        (status = 201, description = "The new key.", body = IssuerKeyRecord, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
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
#[utoipa::path(
    post,
    operation_id = "keys_activate",
    path = "/api/v1/keys/{key_id}/activate",
    tag = "keys",
    summary = "Make a key active (admin)",
    description = "New batches of the key's issuer use it; the issuer's previously active key is retired in the same append. Only an `added` key within its validity can be activated; otherwise 409.",
    params(
        ("key_id" = KeyId, Path, description = "The key id: the first 8 bytes of SHA-256 of the public key."),
    ),
    responses(
        (status = 200, description = "The key.", body = IssuerKeyRecord, content_type = "application/json"),
        Guarded, Invalid, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn activate(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IssuerKeyRecord>, ApiError> {
    change(state, principal, id, KeyChange::Activate).await
}

/// `POST /api/v1/keys/{key_id}/retire`: no new batches; its marks still verify.
#[utoipa::path(
    post,
    operation_id = "keys_retire",
    path = "/api/v1/keys/{key_id}/retire",
    tag = "keys",
    summary = "Retire a key (admin)",
    description = "No new batches use it; its marks still verify. Only an `added` or `active` key can be retired.",
    params(
        ("key_id" = KeyId, Path, description = "The key id: the first 8 bytes of SHA-256 of the public key."),
    ),
    responses(
        (status = 200, description = "The key.", body = IssuerKeyRecord, content_type = "application/json"),
        Guarded, Invalid, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
pub async fn retire(
    State(state): State<AppState>,
    Admin(principal): Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IssuerKeyRecord>, ApiError> {
    change(state, principal, id, KeyChange::Retire).await
}

/// `POST /api/v1/keys/{key_id}/compromise` with a reason: no new batches, and its marks carry
/// the `key_compromised` flag from now on.
#[utoipa::path(
    post,
    operation_id = "keys_compromise",
    path = "/api/v1/keys/{key_id}/compromise",
    tag = "keys",
    summary = "Mark a key compromised (admin)",
    description = "New batches refuse it and its marks carry the `key_compromised` flag from now on. Any key not already compromised.",
    params(
        ("key_id" = KeyId, Path, description = "The key id: the first 8 bytes of SHA-256 of the public key."),
    ),
    request_body = Compromise,
    responses(
        (status = 200, description = "The key.", body = IssuerKeyRecord, content_type = "application/json"),
        Guarded, JsonBody, Missing, Conflicting, Busy,
    ),
    security(("bearer" = ["admin"])),
)]
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
