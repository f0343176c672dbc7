//! The flag queue of the caller's regions, with the API's filters and paging, and the map of
//! 江西's prefectures shaded by the flags in that queue.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::map::{self, Map};
use super::session::Signed;
use super::view::{ConsoleError, Frame, render};
use crate::app::FlagEntry;
use crate::app::cases::FlagFilter;
use crate::domain::access::Role;
use crate::domain::detection::flag_stream;
use crate::http::flags::FlagQuery;
use crate::http::state::AppState;

/// The flag's id as a case names it: its stream.
fn flag_id(entry: &FlagEntry) -> String {
    flag_stream(entry.raised.serial, entry.raised.flag)
}

#[derive(Template)]
#[template(path = "console/flags.html")]
struct Queue {
    frame: Frame,
    query: FlagQuery,
    /// The flag filtered by, or "".
    flag: &'static str,
    flags: Vec<FlagEntry>,
    /// The `after` of the next page, when this page is full.
    next: Option<u64>,
    map: Map,
    /// Supervisors open cases from a flag.
    supervisor: bool,
}

pub async fn queue(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<FlagQuery>,
) -> Result<Response, ConsoleError> {
    signed.principal.require_case_worker()?;
    let regions = &signed.principal.grant.regions;
    let enforcement = &state.services.enforcement;
    let filter = query.clone().filter()?;
    let flags = enforcement.flags(regions, &filter).await?;
    let next = (flags.len() == filter.limit)
        .then(|| flags.last().map(|f| f.index))
        .flatten();
    // The map counts every flag of the caller's queue, whatever the filters.
    let everything = FlagFilter {
        limit: usize::MAX,
        ..FlagFilter::default()
    };
    let all = enforcement.flags(regions, &everything).await?;
    let map = map::draw(|prefecture| {
        all.iter()
            .filter(|f| f.raised.regions.iter().any(|r| prefecture.covers(*r)))
            .count()
    });
    render(&Queue {
        frame: signed.frame("风险队列 · Flag queue"),
        flag: query.flag.map_or("", |f| f.as_str()),
        supervisor: signed.principal.grant.role == Role::Supervisor,
        query,
        flags,
        next,
        map,
    })
}
