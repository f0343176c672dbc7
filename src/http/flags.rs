//! What case work starts from, for market supervisors and enforcement teams (SPEC.md puts
//! them under `/flags` and `/cases…`): `GET /api/v1/flags`, the region-scoped queue of raised
//! flags; `GET /api/v1/cases/marks/{serial}`, what one mark has been through; and
//! `GET /api/v1/cases/reports`, the consumers' reports of the caller's regions. A flag lands in
//! the queue of every region it was observed in and of its batch's licensed regions; a token sees the flags of the regions it covers, with the
//! evidence (`app::cases`).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::auth::CaseWorker;
use super::error::{ApiError, Guarded, Invalid, Missing};
use super::state::{ApiPath, ApiQuery, AppState, page_limit};
use crate::app::FlagEntry;
use crate::app::ReportEntry;
use crate::app::cases::{FlagFilter, MarkActivity};
use crate::domain::region::RegionCode;
use crate::domain::verdict::Flag;

#[derive(Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FlagQuery {
    pub flag: Option<Flag>,
    /// A batch id.
    pub batch: Option<String>,
    /// An enterprise USCC.
    pub enterprise: Option<String>,
    /// Only flags in this region's queue; a code covers the codes below it.
    pub region: Option<RegionCode>,
    /// Raised at or after: RFC 3339, e.g. `2026-11-30T08:00:00Z`.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Raised before: RFC 3339, e.g. `2026-11-30T08:00:00Z`.
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// The log index of the last flag of the previous page.
    pub after: Option<u64>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

/// One page of the caller's flags, in the order they were raised.
#[utoipa::path(
    get,
    operation_id = "flags_list",
    path = "/api/v1/flags",
    tag = "enforcement",
    summary = "The flag queue of the caller's regions (supervisor, enforcement)",
    description = "Flags raised by detection (cloned, excessive_scans, diverted, leaked, traded), once per serial and flag, with their evidence (scan ids, regions, thresholds; never client data). A flag lands in the queues of the regions it was observed in and of its batch's licensed regions; a token sees the flags its regions cover.",
    params(
        FlagQuery,
    ),
    responses(
        (status = 200, description = "One page of flags in the order raised.", body = [FlagEntry], content_type = "application/json"),
        Guarded, Invalid,
    ),
    security(("bearer" = ["supervisor"]), ("bearer" = ["enforcement"])),
)]
pub async fn list(
    State(state): State<AppState>,
    CaseWorker(principal): CaseWorker,
    ApiQuery(q): ApiQuery<FlagQuery>,
) -> Result<Json<Vec<FlagEntry>>, ApiError> {
    let flags = state
        .services
        .enforcement
        .flags(&principal.grant.regions, &q.filter()?)
        .await?;
    Ok(Json(flags))
}

impl FlagQuery {
    /// The filter the query asks for, its times and page size checked.
    pub fn filter(self) -> Result<FlagFilter, ApiError> {
        let limit = page_limit(self.limit)? as usize;
        let parse = |name: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| {
                    OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                        ApiError::InvalidRequest(format!(
                            "{name} must be an RFC 3339 time, not {v:?}"
                        ))
                    })
                })
                .transpose()
        };
        let (since, until) = (parse("since", &self.since)?, parse("until", &self.until)?);
        Ok(FlagFilter {
            flag: self.flag,
            batch: self.batch,
            enterprise: self.enterprise,
            region: self.region,
            since,
            until,
            after: self.after,
            limit,
        })
    }
}

/// `GET /api/v1/cases/marks/{serial}` (supervisor, enforcement): what a mark has been
/// through, for an investigation.
#[utoipa::path(
    get,
    operation_id = "flags_mark_activity",
    path = "/api/v1/cases/marks/{serial}",
    tag = "enforcement",
    summary = "A mark's activity (supervisor, enforcement)",
    description = "The mark's batch, issuer, certificate and status, its flags, and its scans counted by day and region: no client data.",
    params(
        ("serial" = u64, Path, minimum = 1),
    ),
    responses(
        (status = 200, description = "The mark's activity.", body = MarkActivity, content_type = "application/json"),
        Guarded, Invalid, Missing,
    ),
    security(("bearer" = ["supervisor"]), ("bearer" = ["enforcement"])),
)]
pub async fn mark_activity(
    State(state): State<AppState>,
    _: CaseWorker,
    ApiPath(serial): ApiPath<u64>,
) -> Result<Json<MarkActivity>, ApiError> {
    Ok(Json(
        state.services.enforcement.mark_activity(serial).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The log index of the last report of the previous page.
    after: Option<u64>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

/// `GET /api/v1/cases/reports` (supervisor, enforcement): the consumers' reports filed in
/// the caller's regions.
#[utoipa::path(
    get,
    operation_id = "flags_consumer_reports",
    path = "/api/v1/cases/reports",
    tag = "enforcement",
    summary = "Consumer reports of the caller's regions (supervisor, enforcement)",
    description = "Reports of suspected fakes filed with a region the caller covers, in the order they were filed, with the contact the consumer left for the authorities. A report that names no region is in no region's list.",
    params(ReportQuery),
    responses(
        (status = 200, description = "One page of reports.", body = [ReportEntry], content_type = "application/json"),
        Guarded, Invalid,
    ),
    security(("bearer" = ["supervisor"]), ("bearer" = ["enforcement"])),
)]
pub async fn consumer_reports(
    State(state): State<AppState>,
    CaseWorker(principal): CaseWorker,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<Vec<ReportEntry>>, ApiError> {
    let limit = page_limit(q.limit)? as usize;
    let regions = &principal.grant.regions;
    let reports = state
        .services
        .enforcement
        .reports(regions, q.after, limit)
        .await?;
    Ok(Json(reports))
}
