//! Mark batches: a contiguous range of serials issued under one certificate and signed with one
//! issuer key, recorded as one `MarkBatchIssued` event whatever its size (no row per mark
//! anywhere), and reports that change the status of ranges of it (`MarkRangeReported`). This
//! module owns the event data and the rules of a range's status; `registry::batches` appends
//! them and `mark::index` answers "what is serial S" from them.

use serde::{Deserialize, Serialize};

use super::gtin::Gtin;
use super::issuer::{IssuerId, text};
use super::key::KeyId;
use super::region::RegionCode;

pub const MARK_BATCH_ISSUED: &str = "MarkBatchIssued";
pub const MARK_RANGE_REPORTED: &str = "MarkRangeReported";

/// Every batch's issue event goes to this one stream, so serial ranges are allocated in order
/// under optimistic concurrency: two batches can never share a serial.
pub const BATCHES_STREAM: &str = "batches";

pub fn batch_stream(batch_id: &str) -> String {
    format!("batch-{batch_id}")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("count must be 1 to {max}, not {count}")]
    Count { count: u64, max: u64 },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "serials {first}..={last} are not all in batch {batch_id} ({batch_first}..={batch_last})"
    )]
    OutOfBatch {
        batch_id: String,
        first: u64,
        last: u64,
        batch_first: u64,
        batch_last: u64,
    },
    #[error(
        "certificate {id} is {state}{detail}; marks are issued only under an issued, current certificate"
    )]
    Certificate {
        id: String,
        state: String,
        detail: String,
    },
    #[error("{0}")]
    Key(String),
    #[error("serial {serial} is {status}, which is final; it cannot be reported {wanted}")]
    Final {
        serial: u64,
        status: MarkStatus,
        wanted: MarkStatus,
    },
}

/// The data of `MarkBatchIssued`: everything needed to rebuild any of its marks' bodies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchIssued {
    pub batch_id: String,
    pub issuer_id: IssuerId,
    pub certificate_id: String,
    pub certificate_code: String,
    pub enterprise_uscc: String,
    pub key_id: KeyId,
    pub first_serial: u64,
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<Gtin>,
    /// Where the marks may be sold: GB/T 2260 codes, each covering the codes below it.
    pub regions: Vec<RegionCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl BatchIssued {
    pub fn last_serial(&self) -> u64 {
        self.first_serial + (self.count - 1)
    }

    pub fn contains(&self, serial: u64) -> bool {
        (self.first_serial..=self.last_serial()).contains(&serial)
    }
}

/// What a batch request asks for, checked: the rest (serials, key, certificate facts) the
/// registry fills in.
#[derive(Clone, Debug)]
pub struct BatchRequest {
    pub certificate_id: String,
    pub count: u64,
    pub gtin: Option<Gtin>,
    /// Empty means the default: the enterprise's province.
    pub regions: Vec<RegionCode>,
    pub lot: Option<String>,
    pub notes: Option<String>,
}

impl BatchRequest {
    pub fn new(
        certificate_id: &str,
        count: u64,
        max: u64,
        gtin: Option<Gtin>,
        regions: Vec<RegionCode>,
        lot: Option<&str>,
        notes: Option<&str>,
    ) -> Result<BatchRequest, BatchError> {
        if !(1..=max).contains(&count) {
            return Err(BatchError::Count { count, max });
        }
        if regions.len() > 64 {
            return Err(BatchError::Invalid("at most 64 licensed regions".into()));
        }
        let bounded = |field, value: Option<&str>, max| {
            value
                .map(|v| text(field, v, max).map_err(|e| BatchError::Invalid(e.to_string())))
                .transpose()
        };
        Ok(BatchRequest {
            certificate_id: certificate_id.to_owned(),
            count,
            gtin,
            regions,
            lot: bounded("lot", lot, 64)?,
            notes: bounded("notes", notes, 500)?,
        })
    }
}

/// The status a report gives a range of marks. `voided` (print spoilage) and `revoked` are
/// final; `lost`, `stolen` and `suspended` can be reported again, and `reinstated` returns
/// marks to good standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MarkStatus {
    Voided,
    Lost,
    Stolen,
    Revoked,
    Suspended,
    Reinstated,
}

impl MarkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MarkStatus::Voided => "voided",
            MarkStatus::Lost => "lost",
            MarkStatus::Stolen => "stolen",
            MarkStatus::Revoked => "revoked",
            MarkStatus::Suspended => "suspended",
            MarkStatus::Reinstated => "reinstated",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, MarkStatus::Voided | MarkStatus::Revoked)
    }

    /// Lost, stolen, revoked and suspended marks need a reason on record.
    fn needs_reason(self) -> bool {
        matches!(
            self,
            MarkStatus::Lost | MarkStatus::Stolen | MarkStatus::Revoked | MarkStatus::Suspended
        )
    }
}

impl std::fmt::Display for MarkStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The data of `MarkRangeReported`: serials `first..=last` of one batch have a new status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = RangeReport)]
pub struct RangeReported {
    pub batch_id: String,
    pub first: u64,
    pub last: u64,
    pub status: MarkStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RangeReported {
    /// A report on `batch`, checked against the batch's range (see [`Self::check_against`]
    /// for the check against earlier reports).
    pub fn new(
        batch: &BatchIssued,
        first: u64,
        last: u64,
        status: MarkStatus,
        reason: Option<&str>,
    ) -> Result<RangeReported, BatchError> {
        if first > last || !batch.contains(first) || !batch.contains(last) {
            return Err(BatchError::OutOfBatch {
                batch_id: batch.batch_id.clone(),
                first,
                last,
                batch_first: batch.first_serial,
                batch_last: batch.last_serial(),
            });
        }
        let reason = match reason {
            Some(r) => {
                Some(text("reason", r, 500).map_err(|e| BatchError::Invalid(e.to_string()))?)
            }
            None if status.needs_reason() => {
                return Err(BatchError::Invalid(format!(
                    "a report of {status} marks needs a reason"
                )));
            }
            None => None,
        };
        Ok(RangeReported {
            batch_id: batch.batch_id.clone(),
            first,
            last,
            status,
            reason,
        })
    }

    pub fn overlaps(&self, first: u64, last: u64) -> bool {
        self.first <= last && first <= self.last
    }

    /// Refuses the report if an earlier one made any of its serials final. `reports` are the
    /// batch's reports in log order.
    pub fn check_against(&self, reports: &[RangeReported]) -> Result<(), BatchError> {
        match reports
            .iter()
            .find(|r| r.status.is_final() && r.overlaps(self.first, self.last))
        {
            Some(done) => Err(BatchError::Final {
                serial: done.first.max(self.first),
                status: done.status,
                wanted: self.status,
            }),
            None => Ok(()),
        }
    }
}

/// The status of one serial after a batch's reports (in log order): the latest report that
/// covers it wins, except that a final status is never replaced; `None` is good standing.
pub fn status_of(reports: &[RangeReported], serial: u64) -> Option<MarkStatus> {
    let mut status = None;
    for report in reports
        .iter()
        .filter(|r| (r.first..=r.last).contains(&serial))
    {
        if status.is_some_and(MarkStatus::is_final) {
            break;
        }
        status = Some(report.status);
    }
    status.filter(|s| *s != MarkStatus::Reinstated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> BatchIssued {
        BatchIssued {
            batch_id: "b1".into(),
            issuer_id: IssuerId::parse("jx-cb1").unwrap(),
            certificate_id: "c1".into(),
            certificate_code: "JXGE-2026-001".into(),
            enterprise_uscc: "91330000704202479R".into(),
            key_id: KeyId([1; 8]),
            first_serial: 101,
            count: 100,
            gtin: None,
            regions: vec![RegionCode::parse("360000").unwrap()],
            lot: None,
            notes: None,
        }
    }

    fn report(first: u64, last: u64, status: MarkStatus) -> RangeReported {
        RangeReported::new(&batch(), first, last, status, Some("r")).unwrap()
    }

    #[test]
    fn a_batch_covers_exactly_its_range() {
        let b = batch();
        assert_eq!(b.last_serial(), 200);
        assert!(b.contains(101) && b.contains(200));
        assert!(!b.contains(100) && !b.contains(201));
    }

    #[test]
    fn a_count_outside_one_to_the_maximum_is_refused() {
        let request = |count| BatchRequest::new("c1", count, 1000, None, vec![], None, None);
        assert!(request(1).is_ok() && request(1000).is_ok());
        assert_eq!(
            request(0).unwrap_err().to_string(),
            "count must be 1 to 1000, not 0"
        );
        assert!(request(1001).is_err());
    }

    #[test]
    fn a_report_must_lie_inside_its_batch_and_give_a_reason_where_one_is_needed() {
        let b = batch();
        assert!(RangeReported::new(&b, 100, 120, MarkStatus::Voided, None).is_err());
        assert!(RangeReported::new(&b, 190, 201, MarkStatus::Voided, None).is_err());
        assert!(RangeReported::new(&b, 150, 140, MarkStatus::Voided, None).is_err());
        assert!(RangeReported::new(&b, 101, 200, MarkStatus::Voided, None).is_ok());
        let err = RangeReported::new(&b, 101, 101, MarkStatus::Stolen, None).unwrap_err();
        assert!(err.to_string().contains("needs a reason"));
    }

    #[test]
    fn the_latest_report_wins_until_a_final_status() {
        let reports = vec![
            report(101, 150, MarkStatus::Lost),
            report(120, 130, MarkStatus::Reinstated),
            report(125, 125, MarkStatus::Revoked),
            report(101, 200, MarkStatus::Suspended),
        ];
        assert_eq!(status_of(&reports, 110), Some(MarkStatus::Suspended));
        assert_eq!(status_of(&reports, 125), Some(MarkStatus::Revoked));
        assert_eq!(status_of(&reports, 160), Some(MarkStatus::Suspended));
        assert_eq!(status_of(&reports[..2], 121), None, "reinstated");
        assert_eq!(status_of(&reports[..2], 140), Some(MarkStatus::Lost));
        assert_eq!(status_of(&[], 140), None);
    }

    #[test]
    fn a_final_status_refuses_later_reports_on_its_serials() {
        let reports = vec![report(101, 110, MarkStatus::Voided)];
        let err = report(105, 120, MarkStatus::Reinstated)
            .check_against(&reports)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "serial 105 is voided, which is final; it cannot be reported reinstated"
        );
        assert!(
            report(111, 120, MarkStatus::Lost)
                .check_against(&reports)
                .is_ok()
        );
    }
}
