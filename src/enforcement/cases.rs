//! Cases: the in-memory read model [`Cases`] folded from the `case-<id>` streams, and the
//! operations that open, work, share, transfer and close a case.
//!
//! Who may do what, by the caller's regions (a supervisor has one, an enforcement team a
//! set): a caller covers a case when one of its regions covers the owner region or a region
//! the case is shared with. Reading and adding notes or evidence needs coverage; sharing,
//! transferring and closing need a region covering the *owner* region (roles are checked at
//! the HTTP edge). A case the caller does not cover is "does not exist", word for word as for
//! a missing one, so no caller learns of another region's cases. A caller that covers a case
//! only through a share and asks to share, transfer or close it gets a 403: it already sees
//! the case, so the refusal leaks nothing and says what is wrong.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use uuid::Uuid;

use super::EnforcementError;
use crate::access::Grant;
use crate::domain::case::{
    CASE_CLOSED, CASE_EVIDENCE_ADDED, CASE_NOTE_ADDED, CASE_OPENED, CASE_SHARED, CASE_TRANSFERRED,
    CaseClosed, CaseEvidenceAdded, CaseNoteAdded, CaseOpened, CaseShared, CaseTransferred, Origin,
    Outcome, Subject, case_stream, covering_region, covers,
};
use crate::domain::penalty::{
    CREDIT_RECORD_PUBLISHED, CreditRecord, DecisionFields, PenaltyDecision, credit_stream,
};
use crate::domain::region::RegionCode;
use crate::log::event::StoredEvent;
use crate::log::{Expected, Log, Metadata, NewEvent, StreamAppend, StreamName};
use crate::projections::memory::{Fold, Folded};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseStatus {
    Open,
    Closed,
}

#[derive(Clone, Debug, Serialize)]
pub struct Note {
    pub text: String,
    pub by_region: RegionCode,
    pub recorded_at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub description: String,
    pub file_sha256: String,
    pub size: u64,
    pub recorded_at: String,
}

/// One event of the case, for its history.
#[derive(Clone, Debug, Serialize)]
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
#[derive(Clone, Debug, Serialize)]
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

/// Every case, folded from the log.
#[derive(Default)]
pub struct Cases {
    /// By case id. Ids are UUIDv7, so this is also the order cases were opened in.
    by_id: BTreeMap<String, Case>,
    /// The case that published each credit record.
    by_record: HashMap<String, String>,
}

impl Fold for Cases {
    fn apply(&mut self, event: &StoredEvent) {
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
    /// The case if `regions` cover it; otherwise the same answer as for a missing case.
    pub fn visible(
        &self,
        regions: &[RegionCode],
        case_id: &str,
    ) -> Result<&Case, EnforcementError> {
        self.by_id
            .get(case_id)
            .filter(|c| covers(regions, c.owner_region, &c.shared_with))
            .ok_or_else(|| missing(case_id))
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

fn missing(case_id: &str) -> EnforcementError {
    // Bounded: the id comes from the URL.
    let id: String = case_id.chars().take(64).collect();
    EnforcementError::NotFound(format!("case {id} does not exist"))
}

/// What a supervisor sends to open a case.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    pub owner_region: RegionCode,
    #[serde(default)]
    pub subject: Subject,
    pub origin: Origin,
    pub title: String,
}

/// A change to an open case.
#[derive(Clone, Debug)]
pub enum CaseChange {
    Note(String),
    Evidence {
        description: String,
        file_sha256: String,
        size: u64,
    },
    Share(RegionCode),
    Transfer(RegionCode),
    Close {
        outcome: Outcome,
        decision: Option<Box<DecisionFields>>,
    },
}

/// The case read model and the log it folds, as the operations need them.
pub struct CaseWork<'a> {
    pub log: &'a Log,
    pub cases: &'a Folded<Cases>,
}

impl CaseWork<'_> {
    /// Opens a case owned by a region the caller covers.
    pub async fn open(
        &self,
        grant: &Grant,
        actor: &str,
        open: OpenCase,
    ) -> Result<Case, EnforcementError> {
        if !grant.regions.iter().any(|r| r.covers(open.owner_region)) {
            return Err(EnforcementError::Forbidden(format!(
                "owner_region {} is outside this token's regions",
                open.owner_region
            )));
        }
        let case_id = Uuid::now_v7().simple().to_string();
        let opened = CaseOpened::new(
            case_id.clone(),
            open.owner_region,
            open.subject,
            open.origin,
            &open.title,
        )?;
        let event = NewEvent::new(CASE_OPENED, &opened)?
            .confidential()?
            .with_metadata(Metadata::by(actor));
        self.log
            .append_to(&case_stream(&case_id), Expected::NoStream, vec![event])
            .await?;
        self.read(grant, &case_id).await
    }

    /// The case, caught up with the log, if the caller covers it.
    pub async fn read(&self, grant: &Grant, case_id: &str) -> Result<Case, EnforcementError> {
        self.cases.catch_up(self.log).await?;
        Ok(self.cases.read().visible(&grant.regions, case_id)?.clone())
    }

    /// Applies one change to an open case and answers the case afterwards.
    pub async fn change(
        &self,
        grant: &Grant,
        actor: &str,
        case_id: &str,
        change: CaseChange,
    ) -> Result<Case, EnforcementError> {
        let case = self.read(grant, case_id).await?;
        let owner_only = !matches!(change, CaseChange::Note(_) | CaseChange::Evidence { .. });
        if owner_only && !grant.regions.iter().any(|r| r.covers(case.owner_region)) {
            return Err(EnforcementError::Forbidden(format!(
                "only a supervisor of the owner region {} may share, transfer or close case {}",
                case.owner_region, case.case_id
            )));
        }
        if case.status == CaseStatus::Closed {
            return Err(EnforcementError::Conflict(format!(
                "case {} is closed; a closed case takes no more changes",
                case.case_id
            )));
        }
        let stream = StreamName::parse(&case_stream(&case.case_id))?;
        let mut appends = Vec::new();
        let event = match change {
            CaseChange::Note(text) => {
                let by_region =
                    covering_region(&grant.regions, case.owner_region, &case.shared_with)
                        .ok_or_else(|| missing(case_id))?;
                let note = CaseNoteAdded::new(&text, by_region)?;
                NewEvent::new(CASE_NOTE_ADDED, &note)?
            }
            CaseChange::Evidence {
                description,
                file_sha256,
                size,
            } => {
                let evidence = CaseEvidenceAdded::new(&description, &file_sha256, size)?;
                NewEvent::new(CASE_EVIDENCE_ADDED, &evidence)?
            }
            CaseChange::Share(region) => {
                if region == case.owner_region || case.shared_with.contains(&region) {
                    return Err(EnforcementError::Conflict(format!(
                        "case {} is already owned by or shared with region {region}",
                        case.case_id
                    )));
                }
                NewEvent::new(CASE_SHARED, &CaseShared { region })?
            }
            CaseChange::Transfer(to_region) => {
                if to_region == case.owner_region {
                    return Err(EnforcementError::Conflict(format!(
                        "case {} is already owned by region {to_region}",
                        case.case_id
                    )));
                }
                NewEvent::new(CASE_TRANSFERRED, &CaseTransferred { to_region })?
            }
            CaseChange::Close { outcome, decision } => {
                let decision = decision.map(|d| PenaltyDecision::new(*d)).transpose()?;
                let record_id = Uuid::now_v7().simple().to_string();
                let closed = CaseClosed::new(outcome, decision, record_id.clone())?;
                if let Some(decision) = &closed.decision {
                    // Published in the same append as the closing: a penalty is never closed
                    // without its public record, nor published without its case closed.
                    let record = CreditRecord {
                        record_id: record_id.clone(),
                        decision: decision.clone(),
                    };
                    let event = NewEvent::new(CREDIT_RECORD_PUBLISHED, &record)?
                        .with_metadata(Metadata::by(actor));
                    appends.push(StreamAppend {
                        stream: StreamName::parse(&credit_stream(&record_id))?,
                        expected: Expected::NoStream,
                        events: vec![event],
                    });
                }
                NewEvent::new(CASE_CLOSED, &closed)?
            }
        };
        let event = event.confidential()?.with_metadata(Metadata::by(actor));
        appends.insert(
            0,
            StreamAppend {
                stream,
                expected: Expected::Exact(case.version),
                events: vec![event],
            },
        );
        self.log.append(appends).await?;
        self.cases.catch_up(self.log).await?;
        // Not `visible`: a transfer may take the case out of the caller's regions, and the
        // caller saw it a moment ago.
        let cases = self.cases.read();
        Ok(cases.by_id.get(&case.case_id).cloned().unwrap_or(case))
    }
}
