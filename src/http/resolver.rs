//! The GS1 Digital Link resolver at the label URLs' root (no `/api/v1` prefix, as printed on
//! labels): `GET /01/{gtin}`, and on `GET /01/{gtin}/21/{serial}` (the label URL, served by
//! `verify`) the requests that ask for links rather than a verdict; and the public page of a
//! certificate they link to, `GET /api/v1/public/certificates/{code}`. Which links exist is
//! `app::resolver`'s; this module negotiates, per the GS1-Conformant Resolver standard:
//!
//! - `Accept: application/linkset+json`, or `?linkType=linkset` (or `all`): the RFC 9264
//!   linkset, `application/linkset+json`. On `/01/{gtin}`, which has no verdict to answer in
//!   JSON, `Accept: application/json` without `text/html` asks for the linkset too;
//! - `?linkType=gs1:certificationInfo` (or another link type it has): 307 to that link;
//! - otherwise the default: on `/01/{gtin}` a 307 to the default link, on a mark's label URL
//!   the verdict page as ever (a link type it does not have falls back to the same).
//!
//! Every answer carries `Link: <…?linkType=linkset>; rel="linkset"` naming the linkset.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::{ApiError, Invalid, Limited, Missing};
use super::state::{ApiPath, ApiQuery, AppState};
use crate::app::resolver::{LinkType, Links, PublicCertificate};
use crate::domain::gtin::Gtin;

/// The media type of an RFC 9264 linkset in JSON.
pub const LINKSET: &str = "application/linkset+json";

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GtinQuery {
    /// `linkset` (or `all`) for the linkset; a GS1 link type (`gs1:certificationInfo`,
    /// `gs1:verificationService`, `gs1:pip`, `gs1:defaultLink`, or its URI) for a redirect to
    /// that link.
    #[serde(rename = "linkType")]
    link_type: Option<String>,
}

/// What a resolver request asks for.
enum Ask {
    Linkset,
    Link(LinkType),
    /// Neither: the URI's default.
    Default,
}

fn ask(headers: &HeaderMap, link_type: Option<&str>, json_is_linkset: bool) -> Ask {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let json_only =
        json_is_linkset && accept.contains("application/json") && !accept.contains("text/html");
    match link_type {
        Some("linkset" | "all") => Ask::Linkset,
        _ if accept.contains(LINKSET) || json_only => Ask::Linkset,
        Some(value) => LinkType::parse(value).map_or(Ask::Default, Ask::Link),
        None => Ask::Default,
    }
}

/// `Link: <{uri}?linkType=linkset>; rel="linkset"; type="application/linkset+json"`.
pub fn linkset_header(uri: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "<{uri}?linkType=linkset>; rel=\"linkset\"; type=\"{LINKSET}\""
    ))
    .expect("a URI of digits and a configured URL is a header value")
}

fn linkset(links: &Links) -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, LINKSET)],
        links.linkset().to_string(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::LINK, linkset_header(&links.anchor));
    response
}

fn redirect(links: &Links, href: &str) -> Result<Response, ApiError> {
    let location = HeaderValue::from_str(href)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("link {href:?} is no header value")))?;
    let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::LINK, linkset_header(&links.anchor));
    Ok(response)
}

fn parse_gtin(gtin: &str) -> Result<Gtin, ApiError> {
    Gtin::parse(gtin).map_err(|e| ApiError::InvalidRequest(format!("gtin: {e}")))
}

/// The answer to a request on a mark's label URL that asks for links, or `None` when it asks
/// for none (the label URL then answers the verdict).
pub async fn mark_links(
    state: &AppState,
    headers: &HeaderMap,
    (gtin, serial): (&str, &str),
    token: Option<&str>,
    link_type: Option<&str>,
) -> Result<Option<Response>, ApiError> {
    let wanted = ask(headers, link_type, false);
    if matches!(wanted, Ask::Default) {
        return Ok(None);
    }
    let gtin = parse_gtin(gtin)?;
    let serial: u64 = serial.parse().map_err(|_| {
        ApiError::InvalidRequest(format!("serial {serial:?} is not a serial number"))
    })?;
    let links = state
        .services
        .resolver
        .links(gtin, Some(serial), token)
        .await?;
    match wanted {
        Ask::Link(link_type) => match links.target(link_type) {
            Some(target) => redirect(&links, &target.href).map(Some),
            None => Ok(None),
        },
        _ => Ok(Some(linkset(&links))),
    }
}

/// `GET /01/{gtin}`: the links of a GTIN.
#[utoipa::path(
    get,
    operation_id = "resolver_gtin",
    path = "/01/{gtin}",
    tag = "verification",
    summary = "GS1 Digital Link resolver for a GTIN",
    description = "Per the GS1-Conformant Resolver standard: the RFC 9264 linkset (`application/linkset+json`) with `Accept: application/linkset+json` (or `application/json`) or `?linkType=linkset`: `gs1:certificationInfo` (the public page of each certificate the GTIN's marks were issued under), `gs1:verificationService` (`POST /api/v1/verify`), `gs1:pip` where configured, `gs1:defaultLink`. `?linkType=gs1:certificationInfo` (or another link type it has) redirects (307) to that link; any other request redirects to the default link (the product page if configured, else the certificate's page). Every answer names the linkset in a `Link` header. A GTIN no mark of this brand carries is a 404. Rate limited per client.",
    params(
        ("gtin" = String, Path, description = "A GTIN (8, 12, 13 or 14 digits, check digit verified)."),
        GtinQuery,
    ),
    responses(
        (status = 200, description = "The linkset (RFC 9264).", body = Object, content_type = "application/linkset+json",
            headers(("Link" = String, description = "The linkset: `<…?linkType=linkset>; rel=\"linkset\"`."))),
        (status = 307, description = "To the link asked for, or the default link.",
            headers(("Location" = String, description = "The link's target."), ("Link" = String, description = "The linkset."))),
        Invalid, Missing, Limited,
    ),
)]
pub async fn gtin(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(gtin): ApiPath<String>,
    ApiQuery(q): ApiQuery<GtinQuery>,
) -> Result<Response, ApiError> {
    let wanted = ask(&headers, q.link_type.as_deref(), true);
    let links = state
        .services
        .resolver
        .links(parse_gtin(&gtin)?, None, None)
        .await?;
    let link_type = match wanted {
        Ask::Linkset => return Ok(linkset(&links)),
        Ask::Link(link_type) if links.target(link_type).is_some() => link_type,
        _ => LinkType::DefaultLink,
    };
    let target = links
        .target(link_type)
        .expect("every GTIN has a default link");
    redirect(&links, &target.href)
}

/// `GET /api/v1/public/certificates/{code}`: a certificate's public facts.
#[utoipa::path(
    get,
    operation_id = "resolver_certificate",
    path = "/api/v1/public/certificates/{code}",
    tag = "verification",
    summary = "A certificate's public page (anyone)",
    description = "What the label's `gs1:certificationInfo` link and EPCIS `certificationInfo` point to: the certificate's code, status as of today (`issued`, `suspended`, `revoked`, `expired`), validity, certification body, licensee and product, all of it public in the log already. A code no issued certificate has is a 404. Rate limited per client.",
    params(
        ("code" = String, Path, description = "The certificate code, as printed: `^[A-Z0-9]+(-[A-Z0-9]+)*$`."),
    ),
    responses(
        (status = 200, description = "The certificate.", body = PublicCertificate, content_type = "application/json"),
        Invalid, Missing, Limited,
    ),
)]
pub async fn certificate(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<PublicCertificate>, ApiError> {
    Ok(Json(state.services.resolver.certificate(&code).await?))
}
