//! The `Idempotency-Key` header: every POST of the API that writes takes one, optionally, and
//! [`keyed`] applies the rule of [`app::idempotency`](crate::app::idempotency) to it, so a
//! client that lost an answer (a timeout, a node that died, a 503 in the moment of
//! committing) sends the same request with the same key again and gets the original answer,
//! never a second write. [`document`] states the header and its 409s on exactly the operations
//! [`takes_key`] admits, so the OpenAPI document and the layer cannot disagree.
//!
//! A key belongs to its caller: the access token a request authenticates with, or, for the
//! writes anyone may make (a consumer's report), the client address. A request whose token does
//! not authenticate goes on without its key, to be refused by its handler.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, OpenApi, Ref, RefOr, Required, Type};

use super::auth::Principal;
use super::error::ApiError;
use super::limit::ClientAddr;
use super::state::AppState;
use crate::app::idempotency::{Begun, Outcome};
use crate::hex::hex;

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The response header that marks an answer given again.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The longest key: room for any UUID or ULID, quoted or not.
pub const MAX_KEY: usize = 255;

/// POSTs that take no key: those that write nothing (verifying marks, auditing the log), so
/// a retry is harmless and a key would cost every consumer's scan a database round trip; and
/// the witness protocol's, which a log retries by its own rule, the old size it names.
const UNKEYED: [&str; 4] = [
    "/api/v1/verify",
    "/api/v1/verify/batch",
    "/api/v1/log/verify",
    "/api/v1/witness/add-checkpoint",
];

/// The largest answer kept for retries; a larger one is answered once and its key released.
const MAX_OUTCOME: usize = 1 << 20;

/// Whether a POST to `path` (as routed or as documented) takes a key.
pub fn takes_key(path: &str) -> bool {
    path.starts_with("/api/v1/") && !UNKEYED.contains(&path)
}

/// Middleware: runs a keyed POST at most once per key (see the module doc).
pub async fn keyed(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !takes_key(request.uri().path()) {
        return next.run(request).await;
    }
    let Some(value) = request.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(request).await;
    };
    let key = match parse_key(value) {
        Ok(key) => key,
        Err(error) => return error.into_response(),
    };
    let (mut parts, body) = request.into_parts();
    let Some(scope) = caller(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let Ok(body) = axum::body::to_bytes(body, state.body_limit).await else {
        return ApiError::PayloadTooLarge.into_response();
    };
    let fingerprint = fingerprint(&parts, &body);
    let idempotency = &state.services.idempotency;
    let claim = match idempotency.begin(&scope, &key, &fingerprint).await {
        Ok(Begun::Run(claim)) => claim,
        Ok(Begun::Replay(outcome)) => return replay(outcome),
        Ok(Begun::OtherRequest) => return ApiError::KeyReused.into_response(),
        Ok(Begun::Running) => return ApiError::KeyInProgress.into_response(),
        Err(error) => return ApiError::from(error).into_response(),
    };
    let request = Request::from_parts(parts, Body::from(body));
    let (parts, body) = claim.run(next.run(request)).await.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => {
            let _ = idempotency.finish(claim, None).await;
            return ApiError::Internal(anyhow::anyhow!("reading the answer: {error}"))
                .into_response();
        }
    };
    let outcome = kept(parts.status, &body).then(|| Outcome {
        status: parts.status.as_u16(),
        content_type: header_text(&parts.headers, CONTENT_TYPE),
        location: header_text(&parts.headers, LOCATION),
        body: body.to_vec(),
    });
    if parts.status == StatusCode::SERVICE_UNAVAILABLE {
        // Released in the background: the database may be the cause, and waiting on it a
        // second time would break the promise of a 503 within two seconds. The client waits
        // `Retry-After` before its retry, time enough for the release.
        let idempotency = idempotency.clone();
        tokio::spawn(async move {
            if let Err(error) = idempotency.finish(claim, None).await {
                tracing::warn!(%error, "could not release an idempotency key after a 503");
            }
        });
    } else if let Err(error) = idempotency.finish(claim, outcome.as_ref()).await {
        // The answer stands; the key's claim lapses after its lease, and a retry then runs
        // again under the same event ids, which the log recognises.
        tracing::warn!(%error, "could not keep the outcome of an idempotent request");
    }
    Response::from_parts(parts, Body::from(body))
}

/// The key, unquoted when sent as a structured-field string (`"…"`, as the draft writes it).
fn parse_key(value: &HeaderValue) -> Result<String, ApiError> {
    let bytes = value.as_bytes();
    let key = bytes
        .strip_prefix(b"\"")
        .and_then(|b| b.strip_suffix(b"\""))
        .filter(|inner| !inner.is_empty())
        .unwrap_or(bytes);
    if !key.is_empty() && key.len() <= MAX_KEY && key.iter().all(|b| b.is_ascii_graphic()) {
        Ok(String::from_utf8_lossy(key).into_owned())
    } else {
        Err(ApiError::InvalidRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters"
        )))
    }
}

/// Whose key it is: the authenticated token, or for a request without credentials the client
/// address; `None` for credentials that do not authenticate.
async fn caller(parts: &mut Parts, state: &AppState) -> Option<String> {
    if parts.headers.contains_key(AUTHORIZATION) {
        let principal = Principal::from_request_parts(parts, state).await.ok()?;
        Some(format!("token:{}", principal.token_id))
    } else {
        let ClientAddr(client) = ClientAddr::from_request_parts(parts, state).await.ok()?;
        Some(format!("client:{client}"))
    }
}

/// What makes two requests the same: method, path and query, media type and body.
fn fingerprint(parts: &Parts, body: &Bytes) -> String {
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .map_or(&b""[..], HeaderValue::as_bytes);
    let target = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let digest = Sha256::new()
        .chain_update(parts.method.as_str())
        .chain_update([0])
        .chain_update(target)
        .chain_update([0])
        .chain_update(content_type)
        .chain_update([0])
        .chain_update(body)
        .finalize();
    hex(&digest)
}

/// Whether an answer is the request's outcome, given again to its retries. A 5xx, a 409 (a
/// lost race or a state that may change) and a 429 wrote nothing and may come out otherwise
/// next time, so their key is released and a retry runs afresh.
fn kept(status: StatusCode, body: &Bytes) -> bool {
    !(status.is_server_error()
        || status == StatusCode::CONFLICT
        || status == StatusCode::TOO_MANY_REQUESTS
        || body.len() > MAX_OUTCOME)
}

fn header_text(headers: &axum::http::HeaderMap, name: HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A kept outcome, given again, marked as such.
fn replay(outcome: Outcome) -> Response {
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::OK);
    let mut response = (status, outcome.body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (CONTENT_TYPE, outcome.content_type),
        (LOCATION, outcome.location),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}

/// States the header, and the 400 (a malformed key) and 409 it may bring, on every operation
/// that takes it.
pub fn document(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let Some(operation) = item.post.as_mut().filter(|_| takes_key(path)) else {
            continue;
        };
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_KEY))
            .pattern(Some("^[!-~]+$"));
        let parameter = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .schema(Some(schema))
            .description(Some(
                "Makes the request safe to send again: the same key with the same request \
                 (method, path, media type and body) gets the original answer, status and body, \
                 marked `Idempotent-Replayed: true`, and writes nothing again; the same key \
                 with another request is a 409 `idempotency-key-reused`, and while the first \
                 request still runs a 409 `idempotency-in-progress` with Retry-After. Keys are \
                 the caller's own (its token, or its address when anonymous) and are kept 24 \
                 hours. A 5xx, 409 or 429 answer is not kept: a retry runs afresh.",
            ))
            .build();
        operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(parameter);
        let responses = &mut operation.responses.responses;
        responses
            .entry(StatusCode::BAD_REQUEST.as_str().to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Problem")));
        responses.insert(
            StatusCode::CONFLICT.as_str().to_owned(),
            RefOr::Ref(Ref::from_response_name("Conflict")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_visible_ascii_and_may_come_quoted() {
        let parse = |v: &str| parse_key(&HeaderValue::from_str(v).unwrap()).ok();
        assert_eq!(parse("k-1").as_deref(), Some("k-1"));
        assert_eq!(parse("\"k-1\"").as_deref(), Some("k-1"));
        assert_eq!(parse("\"\"").as_deref(), Some("\"\""));
        assert_eq!(parse(&"k".repeat(MAX_KEY)).map(|k| k.len()), Some(MAX_KEY));
        for bad in ["", "a b", "\"a b\"", "\t", &"k".repeat(MAX_KEY + 1)] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        let not_ascii = HeaderValue::from_bytes("键".as_bytes()).unwrap();
        assert!(parse_key(&not_ascii).is_err());
    }

    /// What wrote nothing and may come out otherwise next time is not kept for the retries.
    #[test]
    fn only_final_answers_are_kept() {
        let small = Bytes::from_static(b"{}");
        for status in [200, 201, 400, 403, 404, 413, 422] {
            assert!(
                kept(StatusCode::from_u16(status).unwrap(), &small),
                "{status}"
            );
        }
        for status in [409, 429, 500, 503] {
            assert!(
                !kept(StatusCode::from_u16(status).unwrap(), &small),
                "{status}"
            );
        }
        let large = Bytes::from(vec![b' '; MAX_OUTCOME + 1]);
        assert!(!kept(StatusCode::CREATED, &large));
    }
}
