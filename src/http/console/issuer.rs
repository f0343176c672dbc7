//! A certification body's pages: licensees, certificates through their lifecycle, batches
//! with their CSV, label sheet and range reports. Each action calls the API handler for the same action
//! with the API's own body type (made from the form by `form::Fields`) and the same role
//! check (`IssuerCaller::try_from`), then renders its answer or its refusal.

use askama::Template;
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::form::{Fields, Kind};
use super::session::Signed;
use super::view::{ConsoleError, Frame, render};
use crate::app::{BatchEntry, CertificateRecord, EnterpriseRecord};
use crate::http::auth::IssuerCaller;
use crate::http::batches;
use crate::http::certificates;
use crate::http::enterprises;
use crate::http::error::ApiError;
use crate::http::state::{ApiJson, ApiPath, ApiQuery, AppState};

/// The issuer caller a session stands for, by the API's rule.
fn issuer(signed: &Signed) -> Result<IssuerCaller, ApiError> {
    IssuerCaller::try_from(signed.principal.clone())
}

/// The first page of a list, as the API's list query with no parameters gives it.
pub fn first_page<T: serde::de::DeserializeOwned>() -> ApiQuery<T> {
    ApiQuery(serde_json::from_value(json!({})).expect("every list query has only optional fields"))
}

#[derive(Template)]
#[template(path = "console/licensees.html")]
struct Licensees {
    frame: Frame,
    licensees: Vec<EnterpriseRecord>,
    q: String,
}

#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

pub async fn licensees(
    State(state): State<AppState>,
    signed: Signed,
    Query(search): Query<Search>,
) -> Result<Response, ConsoleError> {
    issuer(&signed)?;
    let Json(all) = enterprises::list(State(state), signed.principal.clone(), first_page()).await?;
    let q = search.q.trim().to_lowercase();
    let licensees = all
        .into_iter()
        .filter(|e| {
            q.is_empty()
                || e.registered.uscc.to_lowercase().contains(&q)
                || e.registered.name.to_lowercase().contains(&q)
        })
        .collect();
    render(&Licensees {
        frame: signed.frame("被许可企业 · Licensees"),
        licensees,
        q: search.q,
    })
}

pub async fn register_licensee(
    State(state): State<AppState>,
    signed: Signed,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    let body = fields.body(&[("legacy_code", Kind::Flag)])?;
    let _registered = enterprises::register(State(state), issuer(&signed)?, ApiJson(body)).await?;
    Ok(Redirect::to("/console/licensees").into_response())
}

#[derive(Template)]
#[template(path = "console/certificates.html")]
struct Certificates {
    frame: Frame,
    certificates: Vec<CertificateRecord>,
}

pub async fn certificates(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, ConsoleError> {
    issuer(&signed)?;
    let Json(certificates) =
        certificates::list(State(state), signed.principal.clone(), first_page()).await?;
    render(&Certificates {
        frame: signed.frame("证书 · Certificates"),
        certificates,
    })
}

pub async fn apply(
    State(state): State<AppState>,
    signed: Signed,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    let body = fields.body(&[])?;
    let (_, Json(record)) =
        certificates::apply(State(state), issuer(&signed)?, ApiJson(body)).await?;
    Ok(Redirect::to(&format!(
        "/console/certificates/{}",
        record.applied.certificate_id
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "console/certificate.html")]
struct CertificatePage {
    frame: Frame,
    certificate: CertificateRecord,
    state: &'static str,
}

pub async fn certificate(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    issuer(&signed)?;
    let Json(certificate) =
        certificates::get(State(state), signed.principal.clone(), ApiPath(id)).await?;
    render(&CertificatePage {
        frame: signed.frame("证书 · Certificate"),
        state: certificate.state.as_str(),
        certificate,
    })
}

/// The evaluation with its report file: the report's SHA-256 is computed here from the upload
/// (the file is not kept), as the API takes it.
pub async fn evaluate(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, ConsoleError> {
    let fields = Fields::upload(multipart, "report", "report_sha256", None)
        .await?
        .checked(&signed)?;
    let body = fields.body(&[])?;
    let _evaluated = certificates::evaluate(
        State(state),
        issuer(&signed)?,
        ApiPath(id.clone()),
        ApiJson(body),
    )
    .await?;
    Ok(Redirect::to(&format!("/console/certificates/{id}")).into_response())
}

/// Issue, suspend, reinstate or revoke. Suspending and revoking ask for a reason and a
/// confirmation.
pub async fn advance(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, action)): Path<(String, String)>,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    let caller = issuer(&signed)?;
    let path = ApiPath(id.clone());
    let confirmed = || {
        if fields.get("confirm").is_some() {
            Ok(())
        } else {
            Err(ApiError::InvalidRequest(
                "confirm: tick the confirmation to do this".to_owned(),
            ))
        }
    };
    let without = |fields: &Fields| {
        let mut body = fields.body::<serde_json::Map<String, serde_json::Value>>(&[])?;
        body.remove("confirm");
        serde_json::from_value(body.into()).map_err(|e| ApiError::InvalidRequest(e.to_string()))
    };
    // The certificate afterwards: the page it redirects to shows it.
    let Json(_certificate) = match action.as_str() {
        "issue" => {
            certificates::issue(State(state), caller, path, ApiJson(fields.body(&[])?)).await?
        }
        "suspend" => {
            confirmed()?;
            certificates::suspend(State(state), caller, path, ApiJson(without(&fields)?)).await?
        }
        "reinstate" => certificates::reinstate(State(state), caller, path).await?,
        "revoke" => {
            confirmed()?;
            certificates::revoke(State(state), caller, path, ApiJson(without(&fields)?)).await?
        }
        other => return Err(ApiError::NotFound(format!("no certificate action {other:?}")).into()),
    };
    Ok(Redirect::to(&format!("/console/certificates/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "console/batches.html")]
struct Batches {
    frame: Frame,
    batches: Vec<BatchEntry>,
}

pub async fn batches(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, ConsoleError> {
    issuer(&signed)?;
    let Json(batches) = batches::list(State(state), signed.principal.clone(), first_page()).await?;
    render(&Batches {
        frame: signed.frame("批次 · Batches"),
        batches,
    })
}

pub async fn issue_batch(
    State(state): State<AppState>,
    signed: Signed,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    let body = fields.body(&[("count", Kind::Number), ("regions", Kind::List)])?;
    let (_, Json(batch)) = batches::issue(State(state), issuer(&signed)?, ApiJson(body)).await?;
    Ok(Redirect::to(&format!("/console/batches/{}", batch.issued.batch_id)).into_response())
}

#[derive(Template)]
#[template(path = "console/batch.html")]
struct BatchPage {
    frame: Frame,
    batch: BatchEntry,
}

pub async fn batch(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    issuer(&signed)?;
    let Json(batch) = batches::get(State(state), signed.principal.clone(), ApiPath(id)).await?;
    render(&BatchPage {
        frame: signed.frame("批次 · Batch"),
        batch,
    })
}

pub async fn marks_csv(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    issuer(&signed)?;
    Ok(batches::marks_csv(State(state), signed.principal.clone(), ApiPath(id)).await?)
}

pub async fn labels(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    issuer(&signed)?;
    Ok(batches::labels(State(state), signed.principal.clone(), ApiPath(id)).await?)
}

pub async fn report(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    fields: Fields,
) -> Result<Response, ConsoleError> {
    let fields = fields.checked(&signed)?;
    let body = fields.body(&[("first", Kind::Number), ("last", Kind::Number)])?;
    let _reported = batches::report(
        State(state),
        issuer(&signed)?,
        ApiPath(id.clone()),
        ApiJson(body),
    )
    .await?;
    Ok(Redirect::to(&format!("/console/batches/{id}")).into_response())
}
