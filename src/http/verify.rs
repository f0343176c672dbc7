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
use time::OffsetDateTime;

use super::limit::ClientAddr;
use super::{ApiJson, ApiPath, ApiQuery, AppState};
use std::net::IpAddr;

use crate::clock;
use crate::detect::rules::Finding;
use crate::detect::{flag_for, raise};
use crate::domain::issuer::text;
use crate::domain::region::RegionCode;
use crate::error::ApiError;
use crate::log::{AppendError, Expected, Metadata, NewEvent};
use crate::scans::Scan;
use crate::verify::check::{Claims, Presented, check, parse_label_url};
use crate::verify::misuse::record_misuse;
use crate::verify::page;
use crate::verify::verdict::Answer;
use crate::verify::verdict::{Flag, Reason};

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

/// The stored data of a report: confidential, since it may hold a contact.
#[derive(Serialize)]
struct ConsumerReport<'a> {
    report_id: &'a str,
    token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<RegionCode>,
    note: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact: Option<&'a str>,
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

/// Checks what was presented against the registry as this node knows it, having first caught
/// up with every event this node has seen acknowledged (a revocation answered here is never
/// followed by a `genuine` from here).
async fn verify(
    state: &AppState,
    presented: Presented<'_>,
    region: Option<RegionCode>,
    client: IpAddr,
) -> Result<Answer, ApiError> {
    if state.marks.position() < state.log.size() {
        state.marks.catch_up(&state.log).await?;
    }
    let today = OffsetDateTime::now_utc().date();
    let mut checked = check(&state.marks, &state.signatures, &presented, today);
    if checked.answer.reason == Reason::UnregisteredSignedMark {
        // Before calling a registered key's signature misuse, read the log itself: another
        // process on the same database (`marktrace issue`) may have issued the batch without
        // this process hearing of it yet, and a false KeyMisuseDetected is a critical alarm.
        state.marks.catch_up(&state.log).await?;
        let first = checked.misuse;
        checked = check(&state.marks, &state.signatures, &presented, today);
        // The first check decided the signature (and cached it); still unregistered, it counts.
        if checked.answer.reason == Reason::UnregisteredSignedMark {
            checked.misuse = checked.misuse.or(first);
        }
    }
    if let Some((key_id, serial)) = checked.misuse {
        tracing::error!(%key_id, serial, "a registered key signed a mark the registry never issued");
        if let Err(error) = record_misuse(&state.log, key_id, serial).await {
            tracing::error!(%error, "recording KeyMisuseDetected failed");
        }
    }
    let traded = checked.answer.flags.contains(&Flag::Traded);
    if let Some(serial) = checked
        .serial
        .filter(|s| traded && !state.marks.flags_of(*s).contains(&Flag::Traded))
    {
        raise_traded(state, serial, region).await;
    }
    if let Some(serial) = checked.serial {
        state.scans.record(Scan {
            serial,
            scanned_at: clock::now_micros(),
            region,
            verdict: checked.answer.verdict,
            client: state.clients.hash(client),
        });
    }
    Ok(checked.answer)
}

/// Raises `traded` for a genuine mark presented for another enterprise or GTIN (an
/// inspector's claims): behaviour, so a flag and never a verdict.
async fn raise_traded(state: &AppState, serial: u64, region: Option<RegionCode>) {
    let finding = Finding {
        flag: Flag::Traded,
        rule: "claims_disagree",
        scan_ids: Vec::new(),
        regions: region.into_iter().collect(),
        detail: "presented for an enterprise or GTIN other than its batch's".into(),
    };
    if let Some(flag) = flag_for(&state.marks, serial, finding, &state.thresholds) {
        if let Err(error) = raise(&state.log, &flag).await {
            tracing::error!(%error, serial, "raising a traded flag failed");
        }
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
    let presented = Presented {
        token: &token,
        url_path: None,
        foreign_host: false,
        claims: None,
    };
    let answer = verify(&state, presented, q.region, client).await?;
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
    let answer = verify(&state, presented, q.region, client).await?;
    Ok(respond(&headers, answer, &token))
}

/// `POST /api/v1/verify` with `{token | url, region?, claims?}`: the answer as JSON.
pub async fn verify_json(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<Answer>, ApiError> {
    let claims = body.claims.as_ref();
    let presented = match (&body.token, &body.url) {
        (Some(token), None) => Presented {
            token,
            url_path: None,
            foreign_host: false,
            claims,
        },
        (None, Some(url)) => parse_label_url(url, &state.label_hosts)
            .ok_or_else(|| {
                ApiError::InvalidRequest(
                    "url is not a label URL (http(s)://…/v/{token} or \
                     http(s)://…/01/{gtin}/21/{serial}?t={token})"
                        .into(),
                )
            })?
            .presented(claims),
        _ => {
            return Err(ApiError::InvalidRequest(
                "give exactly one of token and url".into(),
            ));
        }
    };
    Ok(Json(verify(&state, presented, body.region, client).await?))
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
    let bounded = |field, value: &str, max| {
        text(field, value, max).map_err(|e| ApiError::InvalidRequest(e.to_string()))
    };
    let token = bounded("token", &body.token, 400)?;
    let note = bounded("note", &body.note, 1000)?;
    let contact = match body.contact.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(contact) => Some(bounded("contact", contact, 200)?),
        None => None,
    };
    let report_id = uuid::Uuid::now_v7().simple().to_string();
    let data = ConsumerReport {
        report_id: &report_id,
        token: &token,
        region: body.region,
        note: &note,
        contact: contact.as_deref(),
    };
    let event = NewEvent::new("ConsumerReportFiled", &data)
        .and_then(NewEvent::confidential)
        .map_err(AppendError::from)?
        .with_metadata(Metadata::by("consumer"));
    state
        .log
        .append_to(
            &format!("report-{report_id}"),
            Expected::NoStream,
            vec![event],
        )
        .await?;
    if is_form {
        Ok((StatusCode::CREATED, Html(page::report_received())).into_response())
    } else {
        Ok((StatusCode::CREATED, Json(ReportFiled { report_id })).into_response())
    }
}
