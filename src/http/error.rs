//! The HTTP edge's one error type and its one response shape: RFC 9457 problem details
//! (`application/problem+json`) with a stable `type` that clients match on, never the prose.
//! A 4xx says what was wrong; a 5xx is logged with its cause and answered generically, so no
//! internal detail leaks.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::response::{Response as ResponseDoc, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Type};

use crate::app::enforcement::EnforcementError;
use crate::app::epcis::TraceError;
use crate::app::registry::RegistryError;
use crate::app::{AppendError, StorageError};
use crate::domain::batch::BatchError;
use crate::domain::brand::BrandError;
use crate::domain::certificate::CertificateError;
use crate::domain::issuer::IssuerError;
use crate::domain::key::IssuerKeyError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying after a 503. Every cause of one (a node
/// shutting down, the database unreachable, contention for the batch allocator) clears or
/// fails over within moments; a second keeps retries from hammering the service.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

/// An RFC 9457 problem: the body of every error.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable: `urn:marktrace:problem:<name>`, e.g. `invalid-request` (including JSON that
    /// parses but does not fit: a wrong type, a missing or unknown field, an invalid value),
    /// `invalid-json` (a body that does not parse as JSON), `payload-too-large`,
    /// `unsupported-media-type`, `unauthorized`, `forbidden`, `not-found`,
    /// `method-not-allowed`, `conflict`, `idempotency-key-reused` (409: the key was used for
    /// another request), `idempotency-in-progress` (409, with Retry-After: the key's request
    /// is still running), `too-many-requests` (429, with Retry-After),
    /// `unavailable` (503, always with Retry-After), `internal`.
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    /// What was wrong, for a 4xx.
    detail: String,
}

/// The OpenAPI response of an error: a problem, and for the statuses that carry one, the
/// `Retry-After` header.
fn problem_doc(description: &str, retry_after: bool) -> RefOr<ResponseDoc> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, content);
    if retry_after {
        let seconds = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1));
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(seconds)
                .description(Some("Seconds to wait before trying again."))
                .build(),
        );
    }
    response.build().into()
}

impl<'r> utoipa::ToResponse<'r> for Problem {
    fn response() -> (&'r str, RefOr<ResponseDoc>) {
        ("Problem", problem_doc("An RFC 9457 problem.", false))
    }
}

/// Declares groups of error answers an operation documents in its `responses(…)`, each a
/// reference to one of the shared responses above.
macro_rules! error_responses {
    ($($(#[$doc:meta])* $group:ident: $($status:literal => $response:literal),+;)+) => {$(
        $(#[$doc])*
        pub struct $group;

        impl utoipa::IntoResponses for $group {
            fn responses() -> BTreeMap<String, RefOr<ResponseDoc>> {
                BTreeMap::from([$(
                    ($status.to_owned(), RefOr::Ref(Ref::from_response_name($response))),
                )+])
            }
        }
    )+};
}

error_responses! {
    /// A parameter or path segment that does not fit (400).
    Invalid: "400" => "Problem";
    /// A JSON body that does not fit, is too large, or is not JSON (400, 413, 415).
    JsonBody: "400" => "Problem", "413" => "Problem", "415" => "Problem";
    /// No valid token (401), or a token whose role or scope does not admit the call (403).
    Guarded: "401" => "Problem", "403" => "Problem";
    /// Nothing there, or nothing the caller may see (404).
    Missing: "404" => "Problem";
    /// The change does not fit the current state (409).
    Conflicting: "409" => "Conflict";
    /// Beyond the client's rate (429).
    Limited: "429" => "TooManyRequests";
    /// The log cannot take the write now (503).
    Busy: "503" => "Unavailable";
}

/// The 429 every rate-limited operation documents.
pub struct TooManyRequests;

impl<'r> utoipa::ToResponse<'r> for TooManyRequests {
    fn response() -> (&'r str, RefOr<ResponseDoc>) {
        let description =
            "This client sent more requests than its rate allows (`too-many-requests`).";
        ("TooManyRequests", problem_doc(description, true))
    }
}

/// The 409 of a change that does not fit, and of an `Idempotency-Key` in the wrong place.
pub struct Conflict;

impl<'r> utoipa::ToResponse<'r> for Conflict {
    fn response() -> (&'r str, RefOr<ResponseDoc>) {
        let description = "The change does not fit the current state (`conflict`: a lost \
            race, a reused id, a transition the state does not allow); or its `Idempotency-Key` \
            was used for another request (`idempotency-key-reused`) or belongs to a request \
            still running (`idempotency-in-progress`, with Retry-After).";
        ("Conflict", problem_doc(description, true))
    }
}

/// The 503 every write documents.
pub struct Unavailable;

impl<'r> utoipa::ToResponse<'r> for Unavailable {
    fn response() -> (&'r str, RefOr<ResponseDoc>) {
        let description = "The log cannot take writes right now: the service is shutting \
            down, the database is unreachable or cannot take writes, or concurrent writers \
            kept winning (`unavailable`), answered within two seconds. Nothing was written, \
            unless the database went away in the very moment of committing, when the write \
            may have been saved. Send the request again after `Retry-After`, with the same \
            `Idempotency-Key` where the operation takes one, so it is not written twice.";
        ("Unavailable", problem_doc(description, true))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter, path segment or field is missing, of the wrong type or out of its allowed
    /// range, including a JSON body that parses but does not fit the endpoint.
    #[error("{0}")]
    InvalidRequest(String),
    /// The body does not parse as JSON (a syntax error, or not JSON at all).
    #[error("{0}")]
    InvalidJson(String),
    #[error("the request body is larger than this endpoint accepts")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No credentials, or credentials that name no valid token.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid token whose role or scope does not cover the request.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("this resource does not support the {0} method")]
    MethodNotAllowed(String),
    /// A write that conflicts with the current state: a lost optimistic-concurrency race, a
    /// reused id, a transition the current state does not allow.
    #[error("{0}")]
    Conflict(String),
    /// Well formed, but what it claims does not hold (a consistency proof that does not
    /// verify).
    #[error("{0}")]
    Unprocessable(String),
    /// An `Idempotency-Key` this caller already used for a different request.
    #[error(
        "this Idempotency-Key was used for a different request (another method, path or \
         body); use a fresh key for a new request"
    )]
    KeyReused,
    /// An `Idempotency-Key` whose first request is still running; retry after a second.
    #[error("a request with this Idempotency-Key is still running; send it again shortly")]
    KeyInProgress,
    /// The client sent more requests than its rate allows; retry after this many seconds.
    #[error("too many requests from this client; retry in {0} s")]
    TooManyRequests(u64),
    /// The service cannot take writes right now (shutting down, database unreachable, a lost
    /// race for the batch allocator); answered with `Retry-After`.
    #[error("the service is temporarily unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// Status, stable problem type and title of each variant.
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::InvalidRequest(_) => (
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "The request is invalid",
            ),
            ApiError::InvalidJson(_) => (
                StatusCode::BAD_REQUEST,
                "invalid-json",
                "The request body is not valid JSON",
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "The request body is too large",
            ),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "The request body has an unsupported media type",
            ),
            ApiError::Unauthorized(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Unprocessable(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "The request does not hold",
            ),
            ApiError::KeyReused => (
                StatusCode::CONFLICT,
                "idempotency-key-reused",
                "Idempotency-Key already used",
            ),
            ApiError::KeyInProgress => (
                StatusCode::CONFLICT,
                "idempotency-in-progress",
                "Idempotency-Key in use",
            ),
            ApiError::TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        let detail = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "request failed");
                "The server failed to answer; the failure was logged.".to_owned()
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(%cause, "request refused while unavailable");
                self.to_string()
            }
            _ => self.to_string(),
        };
        let body = Problem {
            kind: format!("urn:marktrace:problem:{kind}"),
            title,
            status: status.as_u16(),
            detail,
        };
        let body = serde_json::to_string(&body).expect("a problem always serialises");
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // Decided by status, not variant, so that any 503 carries the header.
        let retry_after = match self {
            ApiError::TooManyRequests(seconds) => Some(seconds),
            ApiError::KeyInProgress => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Only a body that does not parse is `invalid-json`. JSON that parses but does not fit (a
/// wrong type, a missing or unknown field, a value its type's own parser refuses, such as a
/// region that is not six digits) is serde's "data" category, an `invalid-request` like any
/// other bad value.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiError::UnsupportedMediaType("send the body as application/json".to_owned())
            }
            _ => match rejection {
                JsonRejection::JsonDataError(_) => ApiError::InvalidRequest(rejection.body_text()),
                _ => ApiError::InvalidJson(rejection.body_text()),
            },
        }
    }
}

/// A form body is capped like a JSON one: over the limit is a 413, not a 400.
impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> ApiError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
                "send the body as application/x-www-form-urlencoded".to_owned(),
            ),
            _ => ApiError::InvalidRequest(rejection.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::InvalidRequest(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::InvalidRequest(rejection.body_text())
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> ApiError {
        match error {
            StorageError::Unavailable(cause) => ApiError::Unavailable(cause),
            error => ApiError::Internal(error.into()),
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(error: AppendError) -> ApiError {
        match error {
            AppendError::Invalid(e) => ApiError::InvalidRequest(e.to_string()),
            AppendError::Unavailable(cause) => ApiError::Unavailable(cause),
            conflict => ApiError::Conflict(conflict.to_string()),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> ApiError {
        match error {
            RegistryError::Invalid(IssuerError::Transition { .. })
            | RegistryError::Certificate(CertificateError::Transition { .. })
            | RegistryError::Key(IssuerKeyError::Transition { .. })
            | RegistryError::Key(IssuerKeyError::OutsideValidity { .. })
            | RegistryError::Batch(
                BatchError::Certificate { .. } | BatchError::Key(_) | BatchError::Final { .. },
            )
            | RegistryError::Brand(BrandError::Transition { .. })
            | RegistryError::Exists(_) => ApiError::Conflict(error.to_string()),
            RegistryError::Brand(e) => ApiError::InvalidRequest(e.to_string()),
            RegistryError::Certificate(e) => ApiError::InvalidRequest(e.to_string()),
            RegistryError::Invalid(e) => ApiError::InvalidRequest(e.to_string()),
            RegistryError::Key(e) => ApiError::InvalidRequest(e.to_string()),
            RegistryError::KeyFile(e) => ApiError::Internal(e.into()),
            RegistryError::Internal(why) => ApiError::Internal(anyhow::anyhow!(why)),
            RegistryError::Batch(e) => ApiError::InvalidRequest(e.to_string()),
            RegistryError::Forbidden(why) => ApiError::Forbidden(why),
            RegistryError::InvalidEnterprise(e) => ApiError::InvalidRequest(e.to_string()),
            RegistryError::NotFound(what) => ApiError::NotFound(format!("{what} does not exist")),
            RegistryError::Append(e) => e.into(),
            RegistryError::Storage(e) => e.into(),
        }
    }
}

impl From<TraceError> for ApiError {
    fn from(error: TraceError) -> ApiError {
        match error {
            TraceError::Invalid(why) => ApiError::InvalidRequest(why),
            TraceError::NotFound(why) => ApiError::NotFound(why),
            TraceError::Storage(e) => e.into(),
        }
    }
}

impl From<EnforcementError> for ApiError {
    fn from(error: EnforcementError) -> ApiError {
        match error {
            EnforcementError::Invalid(why) => ApiError::InvalidRequest(why),
            EnforcementError::NotFound(why) => ApiError::NotFound(why),
            EnforcementError::Forbidden(why) => ApiError::Forbidden(why),
            EnforcementError::Conflict(why) => ApiError::Conflict(why),
            EnforcementError::Append(e) => e.into(),
            EnforcementError::Storage(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 503 tells the client when to come back, whatever made the service unavailable:
    /// a shutdown, an unreachable database, or a lost race for the batch allocator.
    #[test]
    fn every_503_carries_retry_after() {
        let errors = [
            ApiError::Unavailable("the log is shutting down".into()),
            ApiError::from(AppendError::Unavailable(
                "too many concurrent batches; try again".into(),
            )),
            ApiError::from(RegistryError::Append(AppendError::Unavailable(
                "too many concurrent reports on this batch; try again".into(),
            ))),
        ];
        for error in errors {
            let response = error.into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            let retry = response.headers().get(header::RETRY_AFTER);
            let seconds: u64 = retry
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .expect("Retry-After in seconds");
            assert!(seconds >= 1);
        }
    }
}
