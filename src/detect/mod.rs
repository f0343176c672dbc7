//! Detection: flags raised from committed scans ([`rules`]) and from what inspectors claim,
//! each once per (serial, flag) as a public `FlagRaised` event carrying its evidence and the
//! regions whose queues it lands in. The detector runs on the serials of every batch of scans
//! the recorder commits, so a flag is in the log a few milliseconds after the scan that
//! crossed its threshold. Flags never change a verdict; verification shows them as warnings.

pub mod rules;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::domain::region::RegionCode;
use crate::log::{AppendError, Expected, Log, Metadata, NewEvent};
use crate::mark::index::MarkIndex;
use crate::verify::verdict::Flag;
use rules::{Finding, Observation, Thresholds, evaluate};

pub const FLAG_RAISED: &str = "FlagRaised";

/// Scans per serial the rules look at: the most recent ones.
const HISTORY: u32 = 1000;

/// The data of `FlagRaised`. No personal data: scan ids, regions and times, never clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlagRaised {
    pub serial: u64,
    pub flag: Flag,
    pub rule: String,
    /// The queues it lands in: where it was observed, and the batch's licensed regions.
    pub regions: Vec<RegionCode>,
    pub batch_id: String,
    pub enterprise_uscc: String,
    pub evidence: Evidence,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub scan_ids: Vec<u64>,
    pub observed_in: Vec<RegionCode>,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<serde_json::Value>,
}

/// Appends the flag unless this serial already has it; true if it was raised now.
pub async fn raise(log: &Log, flag: &FlagRaised) -> Result<bool, AppendError> {
    let event = NewEvent::new(FLAG_RAISED, flag)?.with_metadata(Metadata::by("detection"));
    let stream = format!("flag-{}-{}", flag.serial, flag.flag.as_str());
    match log
        .append_to(&stream, Expected::NoStream, vec![event])
        .await
    {
        Ok(_) => Ok(true),
        Err(AppendError::Conflict { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

/// The flag a finding on `serial` raises, if the serial is in a batch.
pub fn flag_for(
    index: &MarkIndex,
    serial: u64,
    finding: Finding,
    thresholds: &Thresholds,
) -> Option<FlagRaised> {
    let batch = index.registered(serial)?.mark.batch;
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
            thresholds: serde_json::to_value(thresholds).ok(),
        },
    })
}

/// Runs the rules on every serial with newly committed scans, for as long as the service runs.
pub async fn run(
    log: Log,
    index: Arc<MarkIndex>,
    thresholds: Thresholds,
    mut committed: mpsc::Receiver<Vec<u64>>,
) {
    while let Some(mut serials) = committed.recv().await {
        serials.sort_unstable();
        serials.dedup();
        if let Err(error) = index.catch_up(&log).await {
            tracing::error!(%error, "detection could not read the log");
        }
        for serial in serials {
            if let Err(error) = detect(&log, &index, &thresholds, serial).await {
                tracing::error!(%error, serial, "detection failed");
            }
        }
    }
}

async fn detect(
    log: &Log,
    index: &MarkIndex,
    thresholds: &Thresholds,
    serial: u64,
) -> anyhow::Result<()> {
    let Some(registered) = index.registered(serial) else {
        return Ok(());
    };
    let scans: Vec<Observation> = log
        .store()
        .scans_of(serial, HISTORY)
        .await?
        .into_iter()
        .filter_map(|s| {
            let at = time::OffsetDateTime::parse(
                &s.scan.scanned_at,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()?;
            Some(Observation {
                scan_id: s.scan_id,
                at,
                region: s.scan.region,
                client: s.scan.client,
                verdict: s.scan.verdict,
            })
        })
        .collect();
    let known = index.flags_of(serial);
    for finding in evaluate(&scans, &registered.mark.batch.regions, thresholds) {
        if known.contains(&finding.flag) {
            continue;
        }
        if let Some(flag) = flag_for(index, serial, finding, thresholds) {
            if raise(log, &flag).await? {
                tracing::warn!(serial, flag = flag.flag.as_str(), rule = %flag.rule, "flag raised");
            }
        }
    }
    Ok(())
}
