//! The route table and the OpenAPI document it makes. Every handler carries its operation
//! (`#[utoipa::path]`: path, parameters, bodies, responses, roles) and is registered through
//! `routes!`, which routes it at the path its operation names: the router and the document are
//! one list, so neither can gain an entry the other lacks. Types describe themselves with
//! `#[derive(ToSchema)]` beside their serde derives, so a response's schema is generated from
//! the type that produces it.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use super::error::{Conflict, Limited, Problem, TooManyRequests, Unavailable};
use super::state::AppState;
use super::{
    batches, brands, cases, certificates, credit, enterprises, epcis, flags, idempotency, issuers,
    keys, ops, resolver, snapshot, tokens, transparency, verify, witness,
};

/// What the document says beyond its operations: the service, the error responses they
/// share, and the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "marktrace",
        description = "The system of record for certification marks: an append-only event log that is an RFC 6962 Merkle tree with signed C2SP checkpoints. Every error is application/problem+json (RFC 9457) with a stable `type` of the form `urn:marktrace:problem:<name>`. Every operation that needs no token, except `/healthz` and `/metrics`, is rate limited per client address (a token bucket: `public_burst` requests at once, then `public_rate` a second): beyond it the answer is 429 `too-many-requests` with `Retry-After`. Behind a trusted proxy the client is the address the proxy names (`trusted_proxy_header`).",
        license(name = "Apache-2.0"),
    ),
    components(schemas(Problem), responses(Problem, Conflict, TooManyRequests, Unavailable)),
    modifiers(&Bearer),
)]
struct Service;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "A token from `marktrace token create`: `mt_<id>_<secret>`. Missing or invalid: 401 (`unauthorized`); valid but the wrong role or scope: 403 (`forbidden`). Each operation's security requirements name the roles it admits, one alternative per role (OpenAPI 3.1 role names for a non-OAuth scheme).",
            ))
            .build();
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
        }
    }
}

/// The operations anyone may call without a token, rate limited per client by `http::app`.
pub fn public() -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::new()
        .routes(routes!(verify::label))
        .routes(routes!(verify::gs1_label))
        .routes(routes!(verify::verify_json))
        .routes(routes!(openapi))
        .routes(routes!(transparency::checkpoint))
        .routes(routes!(transparency::key))
        .routes(routes!(transparency::entry))
        .routes(routes!(transparency::inclusion))
        .routes(routes!(transparency::consistency))
        .routes(routes!(transparency::bundle))
        .routes(routes!(keys::list))
        .routes(routes!(snapshot::snapshot))
        .routes(routes!(witness::add_checkpoint))
        .routes(routes!(witness::key))
        .routes(routes!(credit::public))
        .routes(routes!(resolver::gtin))
        .routes(routes!(resolver::certificate));
    // A tile path has several segments: axum's wildcard routes it, the document names it as
    // the one parameter it is.
    wildcard(
        router,
        "/api/v1/log/tiles/tile/{*path}",
        routes!(transparency::tile),
    )
}

/// The operations anyone may call that write: a consumer's report. Apart from [`public`] so
/// that only they pass the `Idempotency-Key` layer, never a scan.
pub fn public_writes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(verify::report))
}

/// The operations for load balancers and Prometheus, and those that need a token.
pub fn rest() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(Service::openapi())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(keys::activate))
        .routes(routes!(keys::retire))
        .routes(routes!(keys::compromise))
        .routes(routes!(transparency::verify))
        .routes(routes!(tokens::list, tokens::mint))
        .routes(routes!(tokens::revoke))
        .routes(routes!(issuers::list, issuers::register))
        .routes(routes!(issuers::get))
        .routes(routes!(issuers::suspend))
        .routes(routes!(issuers::reinstate))
        .routes(routes!(keys::add))
        .routes(routes!(brands::sub_brands, brands::register_sub_brand))
        .routes(routes!(brands::sub_brand))
        .routes(routes!(brands::suspend_sub_brand))
        .routes(routes!(brands::reinstate_sub_brand))
        .routes(routes!(brands::partners, brands::register_partner))
        .routes(routes!(brands::partner))
        .routes(routes!(brands::import_keys))
        .routes(routes!(enterprises::list, enterprises::register))
        .routes(routes!(enterprises::get))
        .routes(routes!(certificates::list, certificates::apply))
        .routes(routes!(certificates::get))
        .routes(routes!(certificates::evaluate))
        .routes(routes!(certificates::issue))
        .routes(routes!(certificates::suspend))
        .routes(routes!(certificates::reinstate))
        .routes(routes!(certificates::revoke))
        .routes(routes!(batches::list, batches::issue))
        .routes(routes!(batches::get))
        .routes(routes!(batches::report))
        .routes(routes!(batches::marks_csv))
        .routes(routes!(batches::labels))
        .routes(routes!(flags::list))
        .routes(routes!(flags::mark_activity))
        .routes(routes!(flags::consumer_reports))
        .routes(routes!(batches::mark))
        .routes(routes!(batches::qr_svg))
        .routes(routes!(batches::qr_png))
        .routes(routes!(cases::list, cases::open))
        .routes(routes!(cases::get))
        .routes(routes!(cases::note))
        .routes(routes!(cases::evidence))
        .routes(routes!(cases::share))
        .routes(routes!(cases::transfer))
        .routes(routes!(cases::close))
        .routes(routes!(credit::feed))
        .routes(routes!(credit::csv))
        .routes(routes!(credit::correct))
        .routes(routes!(credit::withdraw))
        .routes(routes!(epcis::events))
        .routes(routes!(epcis::scans))
        .merge(verify::batch_router())
}

/// Routes an operation whose last path parameter spans segments at `axum_path`, and documents
/// it at the path its operation names.
fn wildcard(
    router: OpenApiRouter<AppState>,
    axum_path: &str,
    (schemas, paths, method_router): UtoipaMethodRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let mut router = router.route(axum_path, method_router);
    let openapi = router.get_openapi_mut();
    openapi.paths.paths.extend(paths.paths);
    openapi
        .components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(schemas);
    router
}

/// The document, made once from the route table.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut document = rest().merge(public()).merge(public_writes()).into_openapi();
    idempotency::document(&mut document);
    document.to_pretty_json().expect("the document serialises")
});

#[utoipa::path(
    get,
    operation_id = "routes_openapi",
    path = "/api/v1/openapi.json",
    tag = "ops",
    summary = "This document",
    responses(
        (status = 200, description = "The OpenAPI document.", body = Object, content_type = "application/json"),
        Limited,
    ),
)]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}
