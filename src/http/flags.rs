//! `GET /api/v1/flags`: the region-scoped queue of raised flags for market supervisors and
//! enforcement teams. A flag lands in the queue of every region it was observed in and of its
//! batch's licensed regions; a token sees the flags of the regions it covers, with the
//! evidence. Read from the in-memory index, caught up first.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::auth::CaseWorker;
use super::{ApiQuery, AppState, page_limit};
use crate::error::ApiError;
use crate::mark::index::FlagEntry;
use crate::verify::verdict::Flag;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagQuery {
    flag: Option<Flag>,
    batch: Option<String>,
    enterprise: Option<String>,
    /// RFC 3339 bounds on when the flag was raised.
    since: Option<String>,
    until: Option<String>,
    /// The log index of the last flag of the previous page.
    after: Option<u64>,
    limit: Option<u32>,
}

/// One page of the caller's flags, in the order they were raised.
pub async fn list(
    State(state): State<AppState>,
    CaseWorker(principal): CaseWorker,
    ApiQuery(q): ApiQuery<FlagQuery>,
) -> Result<Json<Vec<FlagEntry>>, ApiError> {
    let limit = page_limit(q.limit)? as usize;
    let parse = |name: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| {
                OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                    ApiError::InvalidRequest(format!("{name} must be an RFC 3339 time, not {v:?}"))
                })
            })
            .transpose()
    };
    let (since, until) = (parse("since", &q.since)?, parse("until", &q.until)?);
    state.marks.catch_up(&state.log).await?;
    let regions = &principal.grant.regions;
    let flags = state.marks.flags(q.after, limit, |entry| {
        let f = &entry.raised;
        regions
            .iter()
            .any(|mine| f.regions.iter().any(|r| mine.covers(*r)))
            && q.flag.is_none_or(|flag| f.flag == flag)
            && q.batch.as_deref().is_none_or(|b| f.batch_id == b)
            && q.enterprise
                .as_deref()
                .is_none_or(|e| f.enterprise_uscc.eq_ignore_ascii_case(e.trim()))
            && OffsetDateTime::parse(&entry.raised_at, &Rfc3339)
                .is_ok_and(|at| since.is_none_or(|s| at >= s) && until.is_none_or(|u| at <= u))
    });
    Ok(Json(flags))
}
