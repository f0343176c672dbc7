//! EPCIS 2.0 documents for traceability partners ([`Traceability`]), one service behind
//! `GET /api/v1/epcis/events`, `GET /api/v1/epcis/scans` and `marktrace epcis export`. The
//! mapping of registry facts to events is `domain::epcis`; this module reads what it maps.
//!
//! Two feeds, paged differently because their sources differ:
//! - **Registry events** (batches issued, ranges reported voided, lost or stolen) come from the
//!   log, in log order, so the cursor is the log index: `after` is the last index seen, and
//!   the document's `marktrace:nextAfter` the last index this page examined. A page examines
//!   at most [`MAX_EXAMINED`] log entries (most entries are other events), so a page may be
//!   short or empty while the cursor still moves; a partner is current when `nextAfter` stops
//!   moving.
//! - **Scan aggregates** (one event per serial, region and UTC day) come from the scan table,
//!   which changes until a day is over, so only whole past days are served: `day` must be
//!   before today (UTC), and a day's document is then final (until retention purges it). Within
//!   a day the cursor is the serial: a page holds every region of up to `limit` serials, and
//!   `marktrace:nextAfter` is the last serial it covered. Only scans of serials a batch holds
//!   are events: a scan of a serial no batch holds is of no mark of ours.
//!
//! Scans are regional supervision data: a caller limited to regions gets the aggregates of
//! scans placed in those regions only (a scan whose client named no region, only with no
//! limit). No client data reaches a document in either feed: no hashes, no addresses.

use std::sync::Arc;

use serde_json::Value;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::domain::batch::{
    BATCHES_STREAM, BatchIssued, MARK_BATCH_ISSUED, MARK_RANGE_REPORTED, RangeReported,
};
use crate::domain::epcis::{self, Recorded, ScansOfDay, certificate_page};
use crate::domain::region::RegionCode;
use crate::log::event::StoredEvent;
use crate::log::{Log, StorageError};
use crate::projections::marks::MarkIndex;
use crate::scans::ScanStore;

/// Most log entries one page of registry events examines.
pub const MAX_EXAMINED: u64 = 10_000;

/// Log entries read at a time while examining.
const READ_PAGE: u64 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// Input that breaks a rule; the message names the field.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// EPCIS documents of the registry and of the scans.
#[derive(Clone)]
pub struct Traceability {
    log: Log,
    index: Arc<MarkIndex>,
    scans: Arc<dyn ScanStore>,
    /// Where certificate pages are (`certificationInfo`).
    public_url: String,
}

impl Traceability {
    pub fn new(
        log: Log,
        index: Arc<MarkIndex>,
        scans: Arc<dyn ScanStore>,
        public_url: String,
    ) -> Traceability {
        Traceability {
            log,
            index,
            scans,
            public_url,
        }
    }

    /// Up to `limit` registry events after log index `after`, as one EPCIS document.
    pub async fn events(&self, after: Option<u64>, limit: usize) -> Result<Value, TraceError> {
        let start = after.map_or(0, |a| a.saturating_add(1));
        let end = start.saturating_add(MAX_EXAMINED);
        let (mut next, mut last) = (start, None);
        let mut events = Vec::new();
        'read: while next < end && events.len() < limit {
            let page = self
                .log
                .read(next, (end - next).min(READ_PAGE) as u32)
                .await?;
            // A report names its batch, which the index must know by the time it is read.
            self.index.catch_up(&self.log).await?;
            for event in &page {
                if events.len() == limit {
                    break 'read;
                }
                last = Some(event.index);
                events.extend(self.registry_event(event));
            }
            match page.last() {
                Some(event) => next = event.index + 1,
                None => break,
            }
        }
        Ok(epcis::document(&now(), events, last.or(after)))
    }

    fn registry_event(&self, event: &StoredEvent) -> Option<Value> {
        let recorded = Recorded {
            event_id: event.event_id,
            at: &event.recorded_at,
        };
        match event.event_type.as_str() {
            MARK_BATCH_ISSUED if event.stream == BATCHES_STREAM => {
                let batch: BatchIssued = serde_json::from_str(&event.data).ok()?;
                let certificate = certificate_page(&self.public_url, &batch.certificate_code);
                Some(epcis::batch_issued(&batch, recorded, &certificate))
            }
            MARK_RANGE_REPORTED => {
                let report: RangeReported = serde_json::from_str(&event.data).ok()?;
                let batch = self.index.batch(&report.batch_id)?.issued;
                let certificate = certificate_page(&self.public_url, &batch.certificate_code);
                epcis::range_reported(&batch, &report, recorded, &certificate)
            }
            _ => None,
        }
    }

    /// The scans of `day` (`YYYY-MM-DD`, a whole past UTC day) of up to `limit` serials after
    /// serial `after`, counted by serial and region, as one EPCIS document; `regions` limits
    /// them to scans placed in those regions (`None`: every scan).
    pub async fn scans(
        &self,
        day: &str,
        regions: Option<&[RegionCode]>,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Value, TraceError> {
        let day = past_day(day, OffsetDateTime::now_utc().date())?;
        let after = after.unwrap_or(0);
        // Serials are stored as the i64 of their bits and allocated from 1 up, so none lies
        // above i64::MAX; past it the page is empty.
        if after > i64::MAX as u64 {
            return Ok(epcis::document(&now(), Vec::new(), None));
        }
        let until = day.next_day().expect("a past day has a next day");
        let totals = self
            .scans
            .scan_totals(&day.to_string(), &until.to_string(), after, limit)
            .await?;
        self.index.catch_up(&self.log).await?;
        let day = day.to_string();
        let events = totals
            .iter()
            .filter(|t| match (regions, t.region) {
                (None, _) => true,
                (Some(mine), Some(region)) => mine.iter().any(|r| r.covers(region)),
                (Some(_), None) => false,
            })
            .filter_map(|t| {
                let batch = self.index.lookup(t.serial)?.batch;
                let certificate = certificate_page(&self.public_url, &batch.certificate_code);
                let scans = ScansOfDay {
                    serial: t.serial,
                    region: t.region,
                    day: &day,
                    scans: t.scans,
                    last_at: &t.last_at,
                };
                Some(epcis::scans_observed(&batch, &scans, &certificate))
            })
            .collect();
        let next = totals.last().map(|t| t.serial);
        Ok(epcis::document(&now(), events, next))
    }
}

/// `day` as a date, if it is a whole day that ended before `today`.
fn past_day(day: &str, today: Date) -> Result<Date, TraceError> {
    let shaped = day.len() == 10
        && day.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let date = Some(day)
        .filter(|_| shaped)
        .and_then(|d| Date::parse(d, format_description!("[year]-[month]-[day]")).ok())
        .ok_or_else(|| TraceError::Invalid(format!("day {day:?} is not a date YYYY-MM-DD")))?;
    if date < today {
        Ok(date)
    } else {
        Err(TraceError::Invalid(format!(
            "day {day} has not ended (UTC): scans are served for whole past days only"
        )))
    }
}

fn now() -> String {
    crate::clock::now_micros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn only_whole_past_days_are_served() {
        let today = date!(2026 - 11 - 29);
        assert_eq!(
            past_day("2026-11-28", today).unwrap(),
            date!(2026 - 11 - 28)
        );
        for refused in [
            "2026-11-29",
            "2026-11-30",
            "2026-11-2",
            "28.11.2026",
            "2026-W48-1",
            "2026-02-30",
            "",
        ] {
            assert!(past_day(refused, today).is_err(), "{refused}");
        }
    }
}
