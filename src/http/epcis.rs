//! `/api/v1/epcis`: EPCIS 2.0 JSON-LD documents for traceability partners, from
//! `app::epcis` (which says how each feed is paged). Registry events are the log's public
//! data, for the brand authority, supervisors, enforcement teams and the credit platform;
//! scan aggregates are regional supervision data, for the brand authority (every region) and
//! supervisors and enforcement teams (their regions). Certification bodies read their own
//! batches through `/batches`, never another body's.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::auth::Principal;
use super::error::{ApiError, Guarded, Invalid};
use super::state::{ApiQuery, AppState, page_limit};
use crate::domain::access::Role;

/// EPCIS 2.0's JSON-LD media type (EPCIS 2.0 §12, the REST binding).
const MEDIA: &str = "application/ld+json";

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The last log index seen: the previous document's `marktrace:nextAfter`.
    after: Option<u64>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ScansQuery {
    /// A whole past day, UTC: `YYYY-MM-DD`, before today.
    #[param(format = Date)]
    day: String,
    /// The last serial seen on this day: the previous document's `marktrace:nextAfter`.
    after: Option<u64>,
    /// Serials per page (each with all its regions).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

fn document(body: &Value) -> Response {
    ([(header::CONTENT_TYPE, MEDIA)], body.to_string()).into_response()
}

/// `GET /api/v1/epcis/events?after=&limit=`: registry events as an EPCIS document.
#[utoipa::path(
    get,
    operation_id = "epcis_events",
    path = "/api/v1/epcis/events",
    tag = "epcis",
    summary = "Registry events as EPCIS 2.0 (admin, supervisor, enforcement, credit)",
    description = "An EPCISDocument (JSON-LD, EPCIS 2.0 context) of the batches issued (ObjectEvent ADD, commissioning, the GTIN's Digital Link class and the count) and the ranges reported voided (DELETE, destroying, destroyed), stolen (OBSERVE, stolen) or lost (OBSERVE, unknown) after log index `after`, in log order, each with the certificate's public page as `certificationInfo`. A page examines at most 10,000 log entries; `marktrace:nextAfter` is the last index it examined, the `after` of the next page.",
    params(
        EventsQuery,
    ),
    responses(
        (status = 200, description = "The EPCIS document.", body = Object, content_type = "application/ld+json"),
        Guarded, Invalid,
    ),
    security(("bearer" = ["admin"]), ("bearer" = ["supervisor"]), ("bearer" = ["enforcement"]), ("bearer" = ["credit"])),
)]
pub async fn events(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Response, ApiError> {
    if caller.grant.role == Role::Issuer {
        return Err(ApiError::Forbidden(
            "this requires the admin, supervisor, enforcement or credit role; the token's role is issuer"
                .into(),
        ));
    }
    let limit = page_limit(q.limit)? as usize;
    let body = state.services.traceability.events(q.after, limit).await?;
    Ok(document(&body))
}

/// `GET /api/v1/epcis/scans?day=&after=&limit=`: one past day's scans as an EPCIS document.
#[utoipa::path(
    get,
    operation_id = "epcis_scans",
    path = "/api/v1/epcis/scans",
    tag = "epcis",
    summary = "A past day's scans as EPCIS 2.0 (admin, supervisor, enforcement)",
    description = "An EPCISDocument with one ObjectEvent (OBSERVE, inspecting, the mark's Digital Link URI, `readPoint` the GB/T 2260 region) per serial, region and UTC day, timed at that day's last scan, with the count as `marktrace:scans`; never client data. Only whole past days (`day` before today, UTC): a day's document does not change. Supervisors and enforcement teams get the scans placed in their regions; the brand authority every scan. Paged by serial: `marktrace:nextAfter` is the last serial of the page.",
    params(
        ScansQuery,
    ),
    responses(
        (status = 200, description = "The EPCIS document.", body = Object, content_type = "application/ld+json"),
        Guarded, Invalid,
    ),
    security(("bearer" = ["admin"]), ("bearer" = ["supervisor"]), ("bearer" = ["enforcement"])),
)]
pub async fn scans(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(q): ApiQuery<ScansQuery>,
) -> Result<Response, ApiError> {
    let regions = match caller.grant.role {
        Role::Admin => None,
        Role::Supervisor | Role::Enforcement => Some(caller.grant.regions.as_slice()),
        other => {
            return Err(ApiError::Forbidden(format!(
                "this requires the admin, supervisor or enforcement role; the token's role is {other}"
            )));
        }
    };
    let limit = page_limit(q.limit)?;
    let body = state
        .services
        .traceability
        .scans(&q.day, regions, q.after, limit)
        .await?;
    Ok(document(&body))
}
