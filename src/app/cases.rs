//! Cases as a service: opening, working, sharing, transferring and closing a case, and the
//! region-scoped flag queues cases start from.
//!
//! Who may do what, by the caller's regions (a supervisor has one, an enforcement team a
//! set): a caller covers a case when one of its regions covers the owner region or a region
//! the case is shared with. Reading and adding notes or evidence needs coverage; sharing,
//! transferring and closing need a region covering the *owner* region (roles are checked at
//! the HTTP edge). A case the caller does not cover is "does not exist", word for word as for
//! a missing one, so no caller learns of another region's cases. A caller that covers a case
//! only through a share and asks to share, transfer or close it gets a 403: it already sees
//! the case, so the refusal leaks nothing and says what is wrong. A flag lands in the queue of
//! every region it was observed in and of its batch's licensed regions.

use std::sync::Arc;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::app::enforcement::EnforcementError;
use crate::domain::access::Grant;
use crate::domain::batch::MarkStatus;
use crate::domain::case::{
    CASE_CLOSED, CASE_EVIDENCE_ADDED, CASE_NOTE_ADDED, CASE_OPENED, CASE_SHARED, CASE_TRANSFERRED,
    CaseClosed, CaseEvidenceAdded, CaseNoteAdded, CaseOpened, CaseShared, CaseTransferred, Origin,
    Outcome, Subject, case_stream, covering_region,
};
use crate::domain::penalty::{
    CREDIT_RECORD_PUBLISHED, CreditRecord, DecisionFields, PenaltyDecision, credit_stream,
};
use crate::domain::region::RegionCode;
use crate::domain::verdict::Flag;
use crate::log::{Expected, Log, Metadata, NewEvent, StreamAppend, StreamName};
use crate::projections::cases::{Case, CaseStatus, Cases, ReportEntry};
use crate::projections::marks::{FlagEntry, MarkIndex};
use crate::projections::memory::Folded;
use crate::scans::{ScanDay, ScanStore};

fn missing(case_id: &str) -> EnforcementError {
    // Bounded: the id comes from the URL.
    let id: String = case_id.chars().take(64).collect();
    EnforcementError::NotFound(format!("case {id} does not exist"))
}

/// What a supervisor sends to open a case.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    pub owner_region: RegionCode,
    #[serde(default)]
    pub subject: Subject,
    pub origin: Origin,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
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

/// Case work across regions, the flag queues cases start from, and what a mark has been
/// through.
#[derive(Clone)]
pub struct Enforcement {
    log: Log,
    cases: Arc<Folded<Cases>>,
    /// The mark index, which holds every raised flag.
    index: Arc<MarkIndex>,
    scans: Arc<dyn ScanStore>,
}

/// A mark as an investigator sees it: its batch, status and certificate, its flags, and its
/// scans counted by region and day (nothing about who scanned).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MarkActivity {
    pub serial: u64,
    pub batch_id: String,
    pub issuer_id: String,
    pub certificate_code: String,
    pub enterprise_uscc: String,
    /// `good`, or the status the latest range report gave it.
    pub status: String,
    pub flags: Vec<Flag>,
    pub scans: Vec<ScanDay>,
}

/// What a flag queue is filtered by; every condition given must hold.
#[derive(Clone, Debug, Default)]
pub struct FlagFilter {
    pub flag: Option<Flag>,
    pub batch: Option<String>,
    pub enterprise: Option<String>,
    /// Only flags in this region's queue (a code covers the codes below it).
    pub region: Option<RegionCode>,
    /// Bounds on when the flag was raised.
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// The log index of the last flag of the previous page.
    pub after: Option<u64>,
    pub limit: usize,
}

impl Enforcement {
    pub fn new(
        log: Log,
        cases: Arc<Folded<Cases>>,
        index: Arc<MarkIndex>,
        scans: Arc<dyn ScanStore>,
    ) -> Enforcement {
        Enforcement {
            log,
            cases,
            index,
            scans,
        }
    }

    /// A mark's batch, status, flags and scans by day and region.
    pub async fn mark_activity(&self, serial: u64) -> Result<MarkActivity, EnforcementError> {
        self.index.catch_up(&self.log).await?;
        let view = self
            .index
            .lookup(serial)
            .ok_or_else(|| EnforcementError::NotFound(format!("mark {serial} does not exist")))?;
        Ok(MarkActivity {
            serial,
            batch_id: view.batch.batch_id.clone(),
            issuer_id: view.batch.issuer_id.to_string(),
            certificate_code: view.batch.certificate_code.clone(),
            enterprise_uscc: view.batch.enterprise_uscc.clone(),
            status: view.status.map_or("good", MarkStatus::as_str).to_owned(),
            flags: self.index.flags_of(serial),
            scans: self.scans.scan_days(serial).await?,
        })
    }

    /// One page of the flags in the queues of `regions`, in the order they were raised.
    pub async fn flags(
        &self,
        regions: &[RegionCode],
        filter: &FlagFilter,
    ) -> Result<Vec<FlagEntry>, EnforcementError> {
        self.index.catch_up(&self.log).await?;
        Ok(self.index.flags(filter.after, filter.limit, |entry| {
            let f = &entry.raised;
            regions
                .iter()
                .any(|mine| f.regions.iter().any(|r| mine.covers(*r)))
                && filter
                    .region
                    .is_none_or(|region| f.regions.iter().any(|r| region.covers(*r)))
                && filter.flag.is_none_or(|flag| f.flag == flag)
                && filter.batch.as_deref().is_none_or(|b| f.batch_id == b)
                && filter
                    .enterprise
                    .as_deref()
                    .is_none_or(|e| f.enterprise_uscc.eq_ignore_ascii_case(e.trim()))
                && OffsetDateTime::parse(&entry.raised_at, &Rfc3339).is_ok_and(|at| {
                    filter.since.is_none_or(|s| at >= s) && filter.until.is_none_or(|u| at <= u)
                })
        }))
    }

    /// Up to `limit` cases `regions` cover, in the order they were opened, after case `after`.
    pub async fn cases(
        &self,
        regions: &[RegionCode],
        status: Option<CaseStatus>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Case>, EnforcementError> {
        self.cases.catch_up(&self.log).await?;
        Ok(self.cases.read().list(regions, status, after, limit))
    }

    /// Up to `limit` consumer reports filed in `regions`, after log index `after`.
    pub async fn reports(
        &self,
        regions: &[RegionCode],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ReportEntry>, EnforcementError> {
        self.cases.catch_up(&self.log).await?;
        Ok(self.cases.read().reports(regions, after, limit))
    }

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
        self.cases.catch_up(&self.log).await?;
        let cases = self.cases.read();
        cases
            .visible(&grant.regions, case_id)
            .cloned()
            .ok_or_else(|| missing(case_id))
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
        self.cases.catch_up(&self.log).await?;
        // Not `visible`: a transfer may take the case out of the caller's regions, and the
        // caller saw it a moment ago.
        let cases = self.cases.read();
        Ok(cases.get(&case.case_id).cloned().unwrap_or(case))
    }
}
