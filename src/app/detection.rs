//! Detection as a service: flags raised from committed scans (the rules are
//! `domain::detection`'s) and from what inspectors claim, each once per (serial, flag) as a
//! public `FlagRaised` event carrying its evidence and the regions whose queues it lands in.
//! The [`Detector`] runs on the serials of every batch of scans the recorder commits, so a flag
//! is in the log a few milliseconds after the scan that crossed its threshold. Flags never
//! change a verdict; verification shows them as warnings.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;

use crate::domain::detection::{
    Evidence, FLAG_RAISED, Finding, FlagRaised, Observation, Thresholds, evaluate, flag_stream,
};
use crate::log::{AppendError, Expected, Log, Metadata, NewEvent, StorageError};
use crate::projections::marks::MarkIndex;
use crate::scans::ScanStore;

/// Scans per serial the rules look at: the most recent ones.
const HISTORY: u32 = 1000;

/// Raises flags: from committed scans, and from verifications whose claims disagree.
#[derive(Clone)]
pub struct Detector {
    log: Log,
    index: Arc<MarkIndex>,
    scans: Arc<dyn ScanStore>,
    thresholds: Thresholds,
}

impl Detector {
    pub fn new(
        log: Log,
        index: Arc<MarkIndex>,
        scans: Arc<dyn ScanStore>,
        thresholds: Thresholds,
    ) -> Detector {
        Detector {
            log,
            index,
            scans,
            thresholds,
        }
    }

    /// Raises what `finding` found on `serial`, unless the serial already has that flag or is
    /// in no batch; true if it was raised now.
    pub async fn raise(&self, serial: u64, finding: Finding) -> Result<bool, AppendError> {
        if self.index.flags_of(serial).contains(&finding.flag) {
            return Ok(false);
        }
        let Some(flag) = self.flag_for(serial, finding) else {
            return Ok(false);
        };
        let event = NewEvent::new(FLAG_RAISED, &flag)?.with_metadata(Metadata::by("detection"));
        let stream = flag_stream(flag.serial, flag.flag);
        match self
            .log
            .append_to(&stream, Expected::NoStream, vec![event])
            .await
        {
            Ok(_) => {
                tracing::warn!(serial, flag = flag.flag.as_str(), rule = %flag.rule, "flag raised");
                Ok(true)
            }
            Err(AppendError::Conflict { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The flag a finding on `serial` raises, if the serial is in a batch: observed where the
    /// evidence was, and queued in the batch's licensed regions too.
    fn flag_for(&self, serial: u64, finding: Finding) -> Option<FlagRaised> {
        let batch = self.index.registered(serial)?.mark.batch;
        let mut regions = finding.regions.clone();
        for licensed in &batch.regions {
            if !regions.contains(licensed) {
                regions.push(*licensed);
            }
        }
        Some(FlagRaised {
            serial,
            flag: finding.flag,
            rule: finding.rule.to_owned(),
            regions,
            batch_id: batch.batch_id.clone(),
            enterprise_uscc: batch.enterprise_uscc.clone(),
            evidence: Evidence {
                scan_ids: finding.scan_ids,
                observed_in: finding.regions,
                detail: finding.detail,
                thresholds: serde_json::to_value(self.thresholds).ok(),
            },
        })
    }

    /// Runs the rules on every serial with newly committed scans, until the recorder stops.
    pub async fn run(self, mut committed: mpsc::Receiver<Vec<u64>>) {
        while let Some(mut serials) = committed.recv().await {
            serials.sort_unstable();
            serials.dedup();
            if let Err(error) = self.detect(serials).await {
                tracing::error!(%error, "detection failed");
            }
        }
    }

    /// Reads the recent scans of a committed batch's serials in one query and raises what the
    /// rules find: one statement per batch, not per serial, so detection keeps up with the
    /// scan rate instead of adding a database round trip to every scan.
    async fn detect(&self, serials: Vec<u64>) -> Result<(), DetectError> {
        self.index.catch_up(&self.log).await?;
        let registered: Vec<u64> = serials
            .into_iter()
            .filter(|s| self.index.registered(*s).is_some())
            .collect();
        let mut history: HashMap<u64, Vec<Observation>> = HashMap::new();
        for stored in self.scans.scans_of(&registered, HISTORY).await? {
            let Ok(at) = OffsetDateTime::parse(&stored.scan.scanned_at, &Rfc3339) else {
                continue;
            };
            history
                .entry(stored.scan.serial)
                .or_default()
                .push(Observation {
                    scan_id: stored.scan_id,
                    at,
                    region: stored.scan.region,
                    client: stored.scan.client,
                    verdict: stored.scan.verdict,
                });
        }
        for (serial, scans) in history {
            let Some(batch) = self.index.registered(serial).map(|r| r.mark.batch) else {
                continue;
            };
            for finding in evaluate(&scans, &batch.regions, &self.thresholds) {
                self.raise(serial, finding).await?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
enum DetectError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Append(#[from] AppendError),
}
