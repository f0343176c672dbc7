//! The cases read model: every case folded from the confidential `case-<id>` streams, held in
//! memory ([`super::memory`]) since case work is small and read far more than written. It
//! holds confidential data: `app::cases` serves it only through the case access rules.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::domain::case::{
    CASE_CLOSED, CASE_EVIDENCE_ADDED, CASE_NOTE_ADDED, CASE_OPENED, CASE_SHARED, CASE_TRANSFERRED,
    CaseClosed, CaseEvidenceAdded, CaseNoteAdded, CaseOpened, CaseShared, CaseTransferred, Origin,
    Subject, covers,
};
use crate::domain::region::RegionCode;
use crate::domain::report::{CONSUMER_REPORT_FILED, ConsumerReport};
use crate::log::event::StoredEvent;
use crate::projections::memory::Fold;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CaseStatus {
    Open,
    Closed,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Note {
    pub text: String,
    pub by_region: RegionCode,
    pub recorded_at: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    pub description: String,
    pub file_sha256: String,
    pub size: u64,
    pub recorded_at: String,
}

/// One event of the case, for its history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub version: u64,
    pub index: u64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub recorded_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// A case as its readers see it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Case {
    pub case_id: String,
    pub owner_region: RegionCode,
    pub title: String,
    pub origin: Origin,
    pub subject: Subject,
    pub status: CaseStatus,
    pub opened_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<CaseClosed>,
    pub shared_with: Vec<RegionCode>,
    pub notes: Vec<Note>,
    pub evidence: Vec<Evidence>,
    pub history: Vec<HistoryEntry>,
    /// The version of the case's stream, which the next append must find.
    pub version: u64,
}

/// A consumer's report as case workers read it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReportEntry {
    /// The `ConsumerReportFiled` event's log index.
    pub index: u64,
    pub filed_at: String,
    pub report_id: String,
    /// What was scanned.
    pub token: String,
    pub region: Option<RegionCode>,
    pub note: String,
    /// How to reach the consumer, if they said.
    pub contact: Option<String>,
}

/// Every case, and the consumer reports cases may start from, folded from the log.
#[derive(Default)]
pub struct Cases {
    /// By case id. Ids are UUIDv7, so this is also the order cases were opened in.
    by_id: BTreeMap<String, Case>,
    /// The case that published each credit record.
    by_record: HashMap<String, String>,
    /// Consumer reports, in log order.
    reports: Vec<ReportEntry>,
}

impl Fold for Cases {
    fn apply(&mut self, event: &StoredEvent) {
        if event.event_type == CONSUMER_REPORT_FILED {
            if let Ok(report) = serde_json::from_str::<ConsumerReport>(&event.data) {
                self.reports.push(ReportEntry {
                    index: event.index,
                    filed_at: event.recorded_at.clone(),
                    report_id: report.report_id,
                    token: report.token,
                    region: report.region,
                    note: report.note,
                    contact: report.contact,
                });
            }
            return;
        }
        let Some(id) = event.stream.strip_prefix("case-") else {
            return;
        };
        if event.event_type == CASE_OPENED {
            if let Ok(opened) = serde_json::from_str::<CaseOpened>(&event.data) {
                let case = Case {
                    case_id: opened.case_id,
                    owner_region: opened.owner_region,
                    title: opened.title,
                    origin: opened.origin,
                    subject: opened.subject,
                    status: CaseStatus::Open,
                    opened_at: event.recorded_at.clone(),
                    closed: None,
                    shared_with: Vec::new(),
                    notes: Vec::new(),
                    evidence: Vec::new(),
                    history: Vec::new(),
                    version: 0,
                };
                self.by_id.insert(id.to_owned(), case);
            }
        }
        let Some(case) = self.by_id.get_mut(id) else {
            return;
        };
        case.version = event.version;
        case.history.push(HistoryEntry {
            version: event.version,
            index: event.index,
            event_type: event.event_type.clone(),
            recorded_at: event.recorded_at.clone(),
            actor: event.metadata.actor.clone(),
        });
        let at = || event.recorded_at.clone();
        match event.event_type.as_str() {
            CASE_NOTE_ADDED => {
                if let Ok(note) = serde_json::from_str::<CaseNoteAdded>(&event.data) {
                    case.notes.push(Note {
                        text: note.text,
                        by_region: note.by_region,
                        recorded_at: at(),
                    });
                }
            }
            CASE_EVIDENCE_ADDED => {
                if let Ok(e) = serde_json::from_str::<CaseEvidenceAdded>(&event.data) {
                    case.evidence.push(Evidence {
                        description: e.description,
                        file_sha256: e.file_sha256,
                        size: e.size,
                        recorded_at: at(),
                    });
                }
            }
            CASE_SHARED => {
                if let Ok(shared) = serde_json::from_str::<CaseShared>(&event.data) {
                    case.shared_with.push(shared.region);
                }
            }
            CASE_TRANSFERRED => {
                if let Ok(t) = serde_json::from_str::<CaseTransferred>(&event.data) {
                    case.owner_region = t.to_region;
                }
            }
            CASE_CLOSED => {
                if let Ok(closed) = serde_json::from_str::<CaseClosed>(&event.data) {
                    if let Some(record) = &closed.record_id {
                        self.by_record.insert(record.clone(), id.to_owned());
                    }
                    case.status = CaseStatus::Closed;
                    case.closed = Some(closed);
                }
            }
            _ => {}
        }
    }
}

impl Cases {
    /// Up to `limit` reports filed in `regions` after log index `after`, in log order. A
    /// report that names no region is in no region's list.
    pub fn reports(
        &self,
        regions: &[RegionCode],
        after: Option<u64>,
        limit: usize,
    ) -> Vec<ReportEntry> {
        let start = after.map_or(0, |a| self.reports.partition_point(|r| r.index <= a));
        self.reports[start..]
            .iter()
            .filter(|r| {
                r.region
                    .is_some_and(|at| regions.iter().any(|mine| mine.covers(at)))
            })
            .take(limit)
            .cloned()
            .collect()
    }

    /// The case if `regions` cover it; `None` alike for a missing case and one outside them.
    pub fn visible(&self, regions: &[RegionCode], case_id: &str) -> Option<&Case> {
        self.by_id
            .get(case_id)
            .filter(|c| covers(regions, c.owner_region, &c.shared_with))
    }

    /// A case whoever asks (the service decides who may see it).
    pub fn get(&self, case_id: &str) -> Option<&Case> {
        self.by_id.get(case_id)
    }

    /// Up to `limit` cases `regions` cover, in the order they were opened, after case `after`.
    pub fn list(
        &self,
        regions: &[RegionCode],
        status: Option<CaseStatus>,
        after: Option<&str>,
        limit: usize,
    ) -> Vec<Case> {
        let from = match after {
            Some(id) => std::ops::Bound::Excluded(id.to_owned()),
            None => std::ops::Bound::Unbounded,
        };
        self.by_id
            .range((from, std::ops::Bound::Unbounded))
            .map(|(_, case)| case)
            .filter(|c| status.is_none_or(|s| c.status == s))
            .filter(|c| covers(regions, c.owner_region, &c.shared_with))
            .take(limit)
            .cloned()
            .collect()
    }

    /// The owner region of the case that published a credit record.
    pub fn record_owner(&self, record_id: &str) -> Option<RegionCode> {
        let case = self.by_id.get(self.by_record.get(record_id)?)?;
        Some(case.owner_region)
    }
}
