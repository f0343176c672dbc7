//! The HTTP edge: the whole route table in [`app`], the middleware stack, the shared state and
//! the extractors that turn bad input into problem+json. Handlers live in one module per area
//! and stay thin: extract, call the domain, map to a response.

mod auth;
mod batches;
mod cases;
mod certificates;
mod credit;
mod enterprises;
mod flags;
mod issuers;
mod keys;
mod limit;
mod ops;
mod tokens;
mod transparency;
mod verify;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts};
use axum::http::{Method, Uri};
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::detect::rules::Thresholds;
use crate::enforcement::cases::Cases;
use crate::enforcement::credit::Credit;
use crate::error::ApiError;
use crate::keys::Keyring;
use crate::log::Log;
use crate::mark::index::MarkIndex;
use crate::metrics::Metrics;
use crate::projections::memory::Folded;
use crate::scans::{ClientHasher, ScanRecorder};
use crate::verify::check::{LabelHosts, Signatures};
pub use limit::{ClientAddr, Limiter, RateLimit, TrustedProxies};

/// What every handler may reach. Cheap to clone: handles only.
#[derive(Clone)]
pub struct AppState {
    /// The event log, for appends and reads.
    pub log: Log,
    /// Process-wide counters rendered at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The keys directory: the brand root (public half served, private half endorsing) and
    /// issuer keys.
    pub keyring: Arc<Keyring>,
    /// Signature outcomes of verified tokens.
    pub signatures: Arc<Signatures>,
    /// Per-client rate limits of the public routes, and the rule naming a request's client.
    pub limiter: Arc<Limiter>,
    /// Writes scan records in group commits, off the response path.
    pub scans: ScanRecorder,
    /// Turns a client address into its salted hash; the address is never kept.
    pub clients: Arc<ClientHasher>,
    /// The detection rules' thresholds.
    pub thresholds: Thresholds,
    /// Every batch and range report, folded from the log.
    pub marks: Arc<MarkIndex>,
    /// Every case, folded from the log (confidential data: served only through the case
    /// access rules).
    pub cases: Arc<Folded<Cases>>,
    /// Every credit record and credit event, folded from the log.
    pub credit: Arc<Folded<Credit>>,
    /// The public base URL, without trailing slash: label URLs start with it.
    pub public_url: String,
    /// The hosts label URLs may name: the public URL's and any extra configured ones.
    pub label_hosts: Arc<LabelHosts>,
    /// Most marks one batch may hold.
    pub max_batch_marks: u64,
    /// Threads that sign marks during an export.
    pub export_threads: std::num::NonZeroUsize,
    /// The largest request body any endpoint accepts, in bytes.
    pub body_limit: usize,
}

/// The whole service as a router, so tests can drive it without a socket.
///
/// Every request is first given its [`ClientAddr`] (the one rule naming the client, see
/// `limit`). The public routes, the ones anyone may call without a token, are then rate
/// limited per client by one layer; the rest are not:
/// - `/healthz` and `/metrics` are for load balancers' probes and Prometheus, which poll from
///   a few fixed addresses, often the same address a proxy forwards every consumer from: a
///   probe refused because consumers spent that address's bucket would take a healthy node
///   out of service. They are cheap and touch no database.
/// - Authenticated routes have callers known by their token (issuers exporting batches, the
///   credit platform paging its feed, supervisors): a handful of accountable institutions
///   whose legitimate bulk use would exceed a consumer's rate, and whose token can be revoked
///   at once. A request without a valid token costs the token check (no body is read, nothing
///   is written) and is a 401.
pub fn app(state: AppState) -> Router {
    let body_limit = state.body_limit;
    let mut public = Router::new()
        .route("/v/{token}", get(verify::label))
        .route("/01/{gtin}/21/{serial}", get(verify::gs1_label))
        .route("/api/v1/verify", post(verify::verify_json))
        .route("/api/v1/reports", post(verify::report))
        .route("/api/v1/openapi.json", get(ops::openapi))
        .route("/api/v1/log/checkpoint", get(transparency::checkpoint))
        .route("/api/v1/log/key", get(transparency::key))
        .route("/api/v1/log/entries/{index}", get(transparency::entry))
        .route("/api/v1/log/proof/inclusion", get(transparency::inclusion))
        .route(
            "/api/v1/log/proof/consistency",
            get(transparency::consistency),
        )
        .route("/api/v1/log/proof/bundle", get(transparency::bundle))
        .route("/api/v1/log/tiles/tile/{*path}", get(transparency::tile))
        .route("/api/v1/keys", get(keys::list))
        .route("/api/v1/public/credit", get(credit::public));
    if let Some(limit) = state.limiter.layer() {
        // `route_layer`: only requests that match a public route spend a token.
        public = public.route_layer(limit);
    }
    let name_client =
        axum::middleware::map_request_with_state(state.limiter.proxies(), limit::name_client);
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .merge(public)
        .route("/api/v1/keys/{key_id}/activate", post(keys::activate))
        .route("/api/v1/keys/{key_id}/retire", post(keys::retire))
        .route("/api/v1/keys/{key_id}/compromise", post(keys::compromise))
        .route("/api/v1/tokens", get(tokens::list))
        .route(
            "/api/v1/issuers",
            get(issuers::list).post(issuers::register),
        )
        .route("/api/v1/issuers/{id}", get(issuers::get))
        .route("/api/v1/issuers/{id}/suspend", post(issuers::suspend))
        .route("/api/v1/issuers/{id}/reinstate", post(issuers::reinstate))
        .route("/api/v1/issuers/{id}/keys", post(keys::add))
        .route(
            "/api/v1/enterprises",
            get(enterprises::list).post(enterprises::register),
        )
        .route("/api/v1/enterprises/{uscc}", get(enterprises::get))
        .route(
            "/api/v1/certificates",
            get(certificates::list).post(certificates::apply),
        )
        .route("/api/v1/certificates/{id}", get(certificates::get))
        .route(
            "/api/v1/certificates/{id}/evaluate",
            post(certificates::evaluate),
        )
        .route("/api/v1/certificates/{id}/issue", post(certificates::issue))
        .route(
            "/api/v1/certificates/{id}/suspend",
            post(certificates::suspend),
        )
        .route(
            "/api/v1/certificates/{id}/reinstate",
            post(certificates::reinstate),
        )
        .route(
            "/api/v1/certificates/{id}/revoke",
            post(certificates::revoke),
        )
        .route("/api/v1/batches", get(batches::list).post(batches::issue))
        .route("/api/v1/batches/{id}", get(batches::get))
        .route("/api/v1/batches/{id}/reports", post(batches::report))
        .route("/api/v1/batches/{id}/marks.csv", get(batches::marks_csv))
        .route("/api/v1/flags", get(flags::list))
        .route("/api/v1/marks/{serial}", get(batches::mark))
        .route("/api/v1/marks/{serial}/qr.svg", get(batches::qr_svg))
        .route("/api/v1/marks/{serial}/qr.png", get(batches::qr_png))
        .route("/api/v1/cases", get(cases::list).post(cases::open))
        .route("/api/v1/cases/{id}", get(cases::get))
        .route("/api/v1/cases/{id}/notes", post(cases::note))
        .route("/api/v1/cases/{id}/evidence", post(cases::evidence))
        .route("/api/v1/cases/{id}/share", post(cases::share))
        .route("/api/v1/cases/{id}/transfer", post(cases::transfer))
        .route("/api/v1/cases/{id}/close", post(cases::close))
        .route("/api/v1/credit/records", get(credit::feed))
        .route("/api/v1/credit/records.csv", get(credit::csv))
        .route("/api/v1/credit/records/{id}/correct", post(credit::correct))
        .route(
            "/api/v1/credit/records/{id}/withdraw",
            post(credit::withdraw),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(name_client)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The largest page a list returns, and the page when none is asked for.
const MAX_PAGE: u32 = 1000;
const DEFAULT_PAGE: u32 = 100;

/// A list's `limit` parameter, checked.
fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::InvalidRequest(format!(
            "limit must be 1 to {MAX_PAGE}"
        )))
    }
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no resource at {}", uri.path()))
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
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

#[cfg(test)]
mod tests {
    //! The extractors every JSON endpoint shares, behind the same body limit `app` installs.
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use axum::routing::post;
    use tower::ServiceExt;

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
