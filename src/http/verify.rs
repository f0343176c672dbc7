//! The public verification endpoints: the label URLs `GET /v/{token}` and
//! `GET /01/{gtin}/21/{serial}?t={token}` (no `/api/v1` prefix: they are printed on labels),
//! `POST /api/v1/verify` for apps and inspectors, and `POST /api/v1/reports` for a consumer's
//! report of a suspected fake. JSON for API clients, the HTML page for browsers. Nothing here
//! needs a token; the route table rate limits every caller per client.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::Principal;
use super::error::{ApiError, Busy, Guarded, Invalid, JsonBody, Limited, Missing};
use super::limit::ClientAddr;
use super::resolver;
use super::state::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::app::verification::check::{Claims, Presented};
use crate::domain::gtin::Gtin;
use crate::domain::region::RegionCode;
use crate::domain::report::ConsumerReport;
use crate::domain::verdict::Answer;
use crate::http::page;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LabelQuery {
    /// Where the scan happened (county precision at most).
    region: Option<RegionCode>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Gs1Query {
    /// The token: needed for the verdict, not for links.
    t: Option<String>,
    /// Where the scan happened (county precision at most).
    region: Option<RegionCode>,
    /// `linkset` (or `all`) for the GS1 resolver's linkset; a GS1 link type
    /// (`gs1:certificationInfo`, `gs1:verificationService`, `gs1:pip`, `gs1:defaultLink`, or
    /// its URI) for a redirect to that link (see `/01/{gtin}`).
    #[serde(rename = "linkType")]
    link_type: Option<String>,
}

/// Exactly one of `token` and `url`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    token: Option<String>,
    /// A label URL as scanned: `http(s)://host/v/{token}` or
    /// `http(s)://host/01/{gtin}/21/{serial}?t={token}`. Its host (with port) must be a label
    /// host: the public URL's host and port, or one configured with `--label-host`, compared
    /// case-insensitively. On any other host, or with a path GTIN or serial that differs from
    /// the token's, a genuine token is `altered`/`url_mismatch`; a forged token stays `forged`.
    url: Option<String>,
    region: Option<RegionCode>,
    claims: Option<Claims>,
}

/// A consumer's report, as JSON or as the page's form.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Report)]
pub struct ReportBody {
    #[schema(min_length = 1, max_length = 400, pattern = r"\S")]
    token: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    region: Option<RegionCode>,
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    note: String,
    /// Optional; blank means none.
    #[serde(default)]
    #[schema(max_length = 200)]
    contact: Option<String>,
}

/// A form's empty optional field means "not given".
fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<RegionCode>, D::Error> {
    match Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()) {
        Some(s) => s.trim().parse().map(Some).map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct ReportFiled {
    report_id: String,
}

/// Whether the caller asked for JSON rather than the page.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

fn respond(headers: &HeaderMap, answer: Answer, token: &str) -> Response {
    if wants_json(headers) {
        Json(answer).into_response()
    } else {
        let mut response = Html(page::render(&answer, token)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            page::CSP.parse().expect("ASCII"),
        );
        headers.insert(header::CACHE_CONTROL, "no-store".parse().expect("ASCII"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            "nosniff".parse().expect("ASCII"),
        );
        response
    }
}

/// `GET /v/{token}?region=`: the short label URL.
#[utoipa::path(
    get,
    operation_id = "verify_label",
    path = "/v/{token}",
    tag = "verification",
    summary = "The short label URL",
    description = "The verdict for the mark (SPEC.md Verdicts): JSON with `Accept: application/json`, otherwise the HTML page (zh-CN first, English beside it; strict CSP, no external resources). Rate limited per client (429 with Retry-After). A token that does not decode is a `forged` answer, not an error.",
    params(
        ("token" = String, Path),
        LabelQuery,
    ),
    responses(
        (status = 200, description = "The answer.", content((Answer = "application/json"), (String = "text/html"))),
        Invalid, Limited,
    ),
)]
pub async fn label(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiPath(token): ApiPath<String>,
    ApiQuery(q): ApiQuery<LabelQuery>,
) -> Result<Response, ApiError> {
    // Served on this host: whatever host the label named, the request reached us.
    let presented = Presented::token(&token, None);
    let answer = state
        .services
        .verifier
        .scan(&presented, q.region, client)
        .await?;
    Ok(respond(&headers, answer, &token))
}

/// `GET /01/{gtin}/21/{serial}?t={token}&region=`: the GS1 Digital Link label URL.
#[utoipa::path(
    get,
    operation_id = "verify_gs1_label",
    path = "/01/{gtin}/21/{serial}",
    tag = "verification",
    summary = "The GS1 Digital Link label URL",
    description = "The verdict for the mark (SPEC.md Verdicts): JSON with `Accept: application/json`, otherwise the HTML page (zh-CN first, English beside it; strict CSP, no external resources). Rate limited per client (429 with Retry-After). A token that does not decode is a `forged` answer, not an error. A path GTIN or serial that differs from the genuine token's is `altered`/`url_mismatch`. As a GS1 Digital Link resolver (as `/01/{gtin}`): with `Accept: application/linkset+json` or `?linkType=linkset` the mark's RFC 9264 linkset, whose default link is the label URL with the token given; with `?linkType=gs1:certificationInfo` (or another link type the mark has) a 307 to that link; a mark of this brand with another GTIN, or none, is then a 404.",
    params(
        ("gtin" = String, Path),
        ("serial" = String, Path),
        Gs1Query,
    ),
    responses(
        (status = 200, description = "The answer, or the linkset (RFC 9264).", content((Answer = "application/json"), (String = "text/html"), (Object = "application/linkset+json"))),
        (status = 307, description = "To the link type asked for.",
            headers(("Location" = String, description = "The link's target."), ("Link" = String, description = "The linkset."))),
        Invalid, Missing, Limited,
    ),
)]
pub async fn gs1_label(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiPath((gtin, serial)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<Gs1Query>,
) -> Result<Response, ApiError> {
    let path = (gtin.as_str(), serial.as_str());
    if let Some(links) = resolver::mark_links(
        &state,
        &headers,
        path,
        q.t.as_deref(),
        q.link_type.as_deref(),
    )
    .await?
    {
        return Ok(links);
    }
    let token = q.t.unwrap_or_default();
    let presented = Presented {
        token: &token,
        url_path: Some((&gtin, &serial)),
        foreign_host: false,
        claims: None,
    };
    let answer = state
        .services
        .verifier
        .scan(&presented, q.region, client)
        .await?;
    let mut response = respond(&headers, answer, &token);
    // A well-formed path names its linkset (GS1 resolver); any other path is not ours to
    // name, and the parsed numbers alone make a safe header.
    if let (Ok(gtin), Ok(serial)) = (Gtin::parse(&gtin), serial.parse::<u64>()) {
        let linkset = resolver::linkset_header(&format!("/01/{gtin}/21/{serial}"));
        response.headers_mut().insert(header::LINK, linkset);
    }
    Ok(response)
}

/// `POST /api/v1/verify` with `{token | url, region?, claims?}`: the answer as JSON.
#[utoipa::path(
    post,
    operation_id = "verify_verify_json",
    path = "/api/v1/verify",
    tag = "verification",
    summary = "Verify a token or label URL",
    description = "For apps and inspectors; `claims` are what was read off the label or product: a certificate code that differs is `altered`/`claims_mismatch`, an enterprise USCC or GTIN that differs raises flag `traded`.",
    request_body = VerifyBody,
    responses(
        (status = 200, description = "The answer.", body = Answer, content_type = "application/json"),
        JsonBody, Limited,
    ),
)]
pub async fn verify_json(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<Answer>, ApiError> {
    let verifier = &state.services.verifier;
    let presented = present(&state, &body.token, &body.url, body.claims.as_ref())?;
    Ok(Json(verifier.scan(&presented, body.region, client).await?))
}

/// What a token or a label URL presents: exactly one of them.
fn present<'a>(
    state: &AppState,
    token: &'a Option<String>,
    url: &'a Option<String>,
    claims: Option<&'a Claims>,
) -> Result<Presented<'a>, ApiError> {
    match (token, url) {
        (Some(token), None) => Ok(Presented::token(token, claims)),
        (None, Some(url)) => {
            let label = state.services.verifier.label_url(url).ok_or_else(|| {
                ApiError::InvalidRequest(
                    "url is not a label URL (http(s)://…/v/{token} or \
                     http(s)://…/01/{gtin}/21/{serial}?t={token})"
                        .into(),
                )
            })?;
            Ok(Presented::label(&label, claims))
        }
        _ => Err(ApiError::InvalidRequest(
            "give exactly one of token and url".into(),
        )),
    }
}

/// Most items one batch verification takes.
pub const MAX_BATCH_ITEMS: usize = 1000;

/// The largest batch body: a thousand items of a URL and claims each.
const MAX_BATCH_BODY: usize = 1 << 20;

/// One mark of a batch: exactly one of `token` and `url`, with optional claims.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    token: Option<String>,
    url: Option<String>,
    claims: Option<Claims>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBatch {
    #[schema(min_items = 1, max_items = 1000)]
    items: Vec<BatchItem>,
    /// Where the marks were checked: given, each is recorded as a scan there (customs
    /// sampling in a port); absent, none is (listings checked from an office).
    region: Option<RegionCode>,
}

/// One answer per item, in order.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchAnswers {
    answers: Vec<Answer>,
}

/// `POST /api/v1/verify/batch`: up to 1,000 tokens or label URLs, one answer each.
#[utoipa::path(
    post,
    operation_id = "verify_batch",
    path = "/api/v1/verify/batch",
    tag = "verification",
    summary = "Verify up to 1,000 marks at once (any token holder)",
    description = "For e-commerce platforms checking listings and customs sampling: each item is `{token | url, claims?}` and gets the answer `POST /verify` would give, in order. Scans are recorded only when `region` is given. Limited per token holder to `verify_batch_rate` marks a second (a bucket of at least one full batch): beyond it 429 with `Retry-After`. An item that is neither a token nor a label URL refuses the whole request (400, naming the item); nothing is verified.",
    request_body = VerifyBatch,
    responses(
        (status = 200, description = "The answers.", body = BatchAnswers, content_type = "application/json"),
        JsonBody, Guarded,
        (status = 429, response = crate::http::error::TooManyRequests),
    ),
    security(("bearer" = ["admin"]), ("bearer" = ["issuer"]), ("bearer" = ["supervisor"]), ("bearer" = ["enforcement"]), ("bearer" = ["credit"])),
)]
pub async fn verify_batch(
    State(state): State<AppState>,
    principal: Principal,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<VerifyBatch>,
) -> Result<Json<BatchAnswers>, ApiError> {
    let count = body.items.len();
    if !(1..=MAX_BATCH_ITEMS).contains(&count) {
        return Err(ApiError::InvalidRequest(format!(
            "items must hold 1 to {MAX_BATCH_ITEMS} marks, not {count}"
        )));
    }
    let presented = body
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            present(&state, &item.token, &item.url, item.claims.as_ref())
                .map_err(|e| ApiError::InvalidRequest(format!("items[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    state
        .batch_limiter
        .spend(&principal.token_id, count as u32)?;
    let answers = state
        .services
        .verifier
        .verify_many(&presented, body.region, client)
        .await?;
    Ok(Json(BatchAnswers { answers }))
}

/// The batch route, with room for its larger body.
pub fn batch_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(verify_batch))
        .route_layer(axum::extract::DefaultBodyLimit::max(MAX_BATCH_BODY))
}

/// `POST /api/v1/reports`: a consumer reports a suspected fake, as JSON (201 with the report
/// id) or from the page's form (a thank-you page). Stored as a confidential event.
#[utoipa::path(
    post,
    operation_id = "verify_report",
    path = "/api/v1/reports",
    tag = "verification",
    summary = "Report a suspected fake (anyone)",
    description = "Stored as a confidential event (a contact is never public). JSON answers 201 with the report id; the page's form (application/x-www-form-urlencoded) answers a thank-you page.",
    request_body(content((ReportBody = "application/json"), (ReportBody = "application/x-www-form-urlencoded"))),
    responses(
        (status = 201, description = "Filed.", content((ReportFiled = "application/json"), (String = "text/html"))),
        JsonBody, Limited, Busy,
    ),
)]
pub async fn report(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let body: ReportBody = if is_form {
        axum::Form::from_request(request, &state).await?.0
    } else {
        ApiJson::from_request(request, &state).await?.0
    };
    let report = ConsumerReport::new(
        &body.token,
        body.region,
        &body.note,
        body.contact.as_deref(),
    )
    .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let report_id = state.services.verifier.report(report).await?;
    if is_form {
        Ok((StatusCode::CREATED, Html(page::report_received())).into_response())
    } else {
        Ok((StatusCode::CREATED, Json(ReportFiled { report_id })).into_response())
    }
}
