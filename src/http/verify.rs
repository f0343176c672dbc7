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

use super::error::ApiError;
use super::limit::ClientAddr;
use super::state::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::app::verification::check::{Claims, Presented};
use crate::domain::region::RegionCode;
use crate::domain::report::ConsumerReport;
use crate::domain::verdict::Answer;
use crate::http::page;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelQuery {
    region: Option<RegionCode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gs1Query {
    t: Option<String>,
    region: Option<RegionCode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    token: Option<String>,
    url: Option<String>,
    region: Option<RegionCode>,
    claims: Option<Claims>,
}

/// A consumer's report, as JSON or as the page's form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    token: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    region: Option<RegionCode>,
    note: String,
    #[serde(default)]
    contact: Option<String>,
}

/// A form's empty optional field means "not given".
fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<RegionCode>, D::Error> {
    match Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()) {
        Some(s) => s.trim().parse().map(Some).map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

#[derive(Serialize)]
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
pub async fn gs1_label(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiPath((gtin, serial)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<Gs1Query>,
) -> Result<Response, ApiError> {
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
    Ok(respond(&headers, answer, &token))
}

/// `POST /api/v1/verify` with `{token | url, region?, claims?}`: the answer as JSON.
pub async fn verify_json(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<Answer>, ApiError> {
    let claims = body.claims.as_ref();
    let verifier = &state.services.verifier;
    let label;
    let presented = match (&body.token, &body.url) {
        (Some(token), None) => Presented::token(token, claims),
        (None, Some(url)) => {
            label = verifier.label_url(url).ok_or_else(|| {
                ApiError::InvalidRequest(
                    "url is not a label URL (http(s)://…/v/{token} or \
                     http(s)://…/01/{gtin}/21/{serial}?t={token})"
                        .into(),
                )
            })?;
            Presented::label(&label, claims)
        }
        _ => {
            return Err(ApiError::InvalidRequest(
                "give exactly one of token and url".into(),
            ));
        }
    };
    Ok(Json(verifier.scan(&presented, body.region, client).await?))
}

/// `POST /api/v1/reports`: a consumer reports a suspected fake, as JSON (201 with the report
/// id) or from the page's form (a thank-you page). Stored as a confidential event.
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
