//! What every handler shares: the state ([`AppState`]), the extractors that turn bad input
//! into our problem+json, the paging parameter's bounds, and the schema of a binary body.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts};
use utoipa::openapi::schema::{KnownFormat, Schema, SchemaFormat};
use utoipa::openapi::{ObjectBuilder, RefOr, Type};

use super::error::ApiError;
use super::limit::{Limiter, TokenLimiter};
use crate::app::services::Services;

/// What every handler may reach. Cheap to clone, and cloned for every request (each `State`
/// extractor takes a copy): two reference counts, not one per handle inside the services.
#[derive(Clone)]
pub struct AppState {
    /// The application services every handler calls.
    pub services: Arc<Services>,
    /// Per-client rate limits of the public routes, and the rule naming a request's client.
    pub limiter: Arc<Limiter>,
    /// Per-token limits of batch verification.
    pub batch_limiter: Arc<TokenLimiter>,
    /// The largest request body any endpoint accepts, in bytes.
    pub body_limit: usize,
    /// Console sign-ins: how long they last, and whether their cookie is https-only.
    pub sessions: SessionSettings,
}

/// Console sign-ins: how long one lasts, and whether its cookie may travel over https only.
#[derive(Clone, Copy, Debug)]
pub struct SessionSettings {
    pub lifetime: Duration,
    /// The public URL is https: the cookie is `Secure`.
    pub secure: bool,
}

/// The largest page a list returns, and the page when none is asked for.
pub const MAX_PAGE: u32 = 1000;
pub const DEFAULT_PAGE: u32 = 100;

/// A list's `limit` parameter, checked.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::InvalidRequest(format!(
            "limit must be 1 to {MAX_PAGE}"
        )))
    }
}

/// `axum::Json` whose rejections are our problem+json.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` whose rejections are our problem+json.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` whose rejections are our problem+json.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A response body of raw bytes (a PNG, a tile), as the OpenAPI document describes one.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

#[cfg(test)]
mod tests {
    //! The extractors every JSON endpoint shares, behind the same body limit `app` installs.
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use axum::routing::post;
    use tower::ServiceExt;

    use axum::Router;
    use axum::extract::DefaultBodyLimit;

    use super::*;

    #[derive(serde::Deserialize)]
    #[expect(dead_code, reason = "only their presence and values are checked")]
    struct Payload {
        name: String,
        region: Option<crate::domain::region::RegionCode>,
    }

    fn router() -> Router {
        Router::new()
            .route("/echo", post(|ApiJson(_): ApiJson<Payload>| async { "ok" }))
            .layer(DefaultBodyLimit::max(1024))
    }

    async fn send(body: String, content_type: &str) -> (StatusCode, serde_json::Value, String) {
        let request = Request::post("/echo")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let response = router().oneshot(request).await.unwrap();
        let status = response.status();
        let media = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or_default();
        (status, json, media)
    }

    #[tokio::test]
    async fn an_oversized_body_is_413_problem_json() {
        let body = format!(r#"{{"name":"{}"}}"#, "x".repeat(2000));
        let (status, json, media) = send(body, "application/json").await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(media, "application/problem+json");
        assert_eq!(json["type"], "urn:marktrace:problem:payload-too-large");
    }

    #[tokio::test]
    async fn malformed_json_is_400_naming_the_problem() {
        let (status, json, media) = send("{\"name\": ".into(), "application/json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(media, "application/problem+json");
        assert_eq!(json["type"], "urn:marktrace:problem:invalid-json");
        for not_json in ["name=x", "{\"name\": \"x\",}", "{\"name\" \"x\"}"] {
            let (status, json, _) = send(not_json.into(), "application/json").await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(
                json["type"], "urn:marktrace:problem:invalid-json",
                "{not_json}"
            );
        }
    }

    /// JSON that parses but does not fit: a wrong type, a missing field, or a value the
    /// field's own type refuses (`RegionCode::parse`) is an invalid request, not invalid JSON.
    #[tokio::test]
    async fn json_with_invalid_values_is_an_invalid_request_naming_the_field() {
        for (body, names) in [
            (r#"{"name": 7}"#, "name"),
            (r#"{}"#, "name"),
            (r#"{"name": "x", "region": "36"}"#, "six"),
            (r#"{"name": "x", "region": 360000}"#, "region"),
            ("7", "struct"),
        ] {
            let (status, json, media) = send(body.into(), "application/json").await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(media, "application/problem+json");
            assert_eq!(
                json["type"], "urn:marktrace:problem:invalid-request",
                "{body}"
            );
            assert!(
                json["detail"].as_str().unwrap().contains(names),
                "{body}: {json}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_without_json_content_type_is_415() {
        let (status, json, _) = send(r#"{"name":"a"}"#.into(), "text/plain").await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(json["type"], "urn:marktrace:problem:unsupported-media-type");
    }
}
