//! The credit read model: every credit record (双公示) and every event of the public
//! `credit-<id>` streams, folded in memory. A record is published by closing a case with a
//! penalty and changed only by later events: `CreditRecordCorrected` replaces the decision,
//! `CreditRecordWithdrawn` takes the record out of publication.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::domain::penalty::{
    CREDIT_RECORD_CORRECTED, CREDIT_RECORD_PUBLISHED, CREDIT_RECORD_WITHDRAWN, CreditRecord,
    CreditRecordWithdrawn, DecisionFields, PenaltyDecision,
};
use crate::log::Visibility;
use crate::log::event::StoredEvent;
use crate::projections::memory::Fold;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordStatus {
    Published,
    Corrected,
    Withdrawn,
}

/// A record as it stands.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = CreditRecord)]
pub struct RecordEntry {
    pub record_id: String,
    pub status: RecordStatus,
    /// The log index of the event that set the current decision.
    pub index: u64,
    #[schema(value_type = DecisionFields)]
    pub decision: PenaltyDecision,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_reason: Option<String>,
    #[serde(skip)]
    pub version: u64,
}

/// Every credit record and every event of the credit streams, folded from the log.
#[derive(Default)]
pub struct Credit {
    /// Records by the index they were published at: publication order.
    records: BTreeMap<u64, RecordEntry>,
    by_id: HashMap<String, u64>,
    /// Every event of a credit stream by index, for the feed. Public data only.
    events: BTreeMap<u64, Arc<StoredEvent>>,
}

impl Fold for Credit {
    fn apply(&mut self, event: &StoredEvent) {
        // Only public events count: a confidential event in a credit stream would be a bug
        // elsewhere, and must never reach the platforms.
        if !event.stream.starts_with("credit-") || event.visibility != Visibility::Public {
            return;
        }
        let applied = match event.event_type.as_str() {
            CREDIT_RECORD_PUBLISHED => {
                serde_json::from_str::<CreditRecord>(&event.data)
                    .ok()
                    .map(|r| {
                        self.by_id.insert(r.record_id.clone(), event.index);
                        let entry = RecordEntry {
                            record_id: r.record_id,
                            status: RecordStatus::Published,
                            index: event.index,
                            decision: r.decision,
                            withdrawn_reason: None,
                            version: event.version,
                        };
                        self.records.insert(event.index, entry);
                    })
            }
            CREDIT_RECORD_CORRECTED => serde_json::from_str::<CreditRecord>(&event.data)
                .ok()
                .and_then(|r| {
                    let entry = self.entry_mut(&r.record_id)?;
                    entry.status = RecordStatus::Corrected;
                    entry.decision = r.decision;
                    entry.index = event.index;
                    entry.version = event.version;
                    Some(())
                }),
            CREDIT_RECORD_WITHDRAWN => serde_json::from_str::<CreditRecordWithdrawn>(&event.data)
                .ok()
                .and_then(|w| {
                    let entry = self.entry_mut(&w.record_id)?;
                    entry.status = RecordStatus::Withdrawn;
                    entry.withdrawn_reason = Some(w.reason);
                    entry.version = event.version;
                    Some(())
                }),
            _ => None,
        };
        if applied.is_some() {
            self.events.insert(event.index, Arc::new(event.clone()));
        }
    }
}

impl Credit {
    fn entry_mut(&mut self, record_id: &str) -> Option<&mut RecordEntry> {
        let index = self.by_id.get(record_id)?;
        self.records.get_mut(index)
    }

    pub fn record(&self, record_id: &str) -> Option<&RecordEntry> {
        self.records.get(self.by_id.get(record_id)?)
    }

    /// Up to `limit` credit events after log index `after`, each with its record as it
    /// stands.
    pub fn feed(&self, after: Option<u64>, limit: usize) -> Vec<(Arc<StoredEvent>, RecordEntry)> {
        let from = after.map_or(0, |a| a.saturating_add(1));
        self.events
            .range(from..)
            .filter_map(|(_, event)| {
                let id = event.stream.strip_prefix("credit-")?;
                Some((event.clone(), self.record(id)?.clone()))
            })
            .take(limit)
            .collect()
    }

    /// The records of one enterprise that stand (not withdrawn), in publication order.
    pub fn standing_for(&self, uscc: &str) -> Vec<RecordEntry> {
        self.records
            .values()
            .filter(|r| r.status != RecordStatus::Withdrawn && r.decision.uscc() == uscc)
            .cloned()
            .collect()
    }

    /// Every record that stands (not withdrawn), in publication order.
    pub fn standing(&self) -> impl Iterator<Item = &RecordEntry> {
        self.records
            .values()
            .filter(|r| r.status != RecordStatus::Withdrawn)
    }
}
