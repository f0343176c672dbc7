//! Detection as a service: flags raised from committed scans (the rules are
//! `domain::detection`'s) and from what inspectors claim, each once per (serial, flag) as a
//! public `FlagRaised` event carrying its evidence and the regions whose queues it lands in.
//! The [`Detector`] runs on every batch of scans the recorder commits, so a flag is in the log
//! a few milliseconds after the scan that crossed its threshold. Flags never change a verdict;
//! verification shows them as warnings.
//!
//! # Incremental
//! Each hot serial has a [`Watch`] in memory (a bounded cache of 100,000 serials) that a
//! committed scan updates in O(1). Its history is read from the scan table, in one statement for all
//! such serials of a batch, only when:
//! - the watch is cold: never built, evicted, or built more than [`REFRESH`] ago (so scans
//!   other nodes recorded reach it within that time, and a restart loses nothing: the table
//!   is the state);
//! - the watch suspects a flag the serial does not have: then `evaluate` decides on the
//!   history and the flag carries its evidence (scan ids, regions).
//!
//! Flags are raised once per serial, so the history of a busy serial is read about once a
//! minute, not once per batch (`marktrace_detection_history_reads_total` counts the rows).
//!
//! # How far back
//! A history is a serial's newest [`HISTORY`] scans within the scan retention, never older:
//! the rule that looks back furthest, `excessive_scans`, counts the distinct clients of every
//! scan kept (impossible travel needs only the scan before, many regions a window of days), so
//! any shorter bound would miss a label whose twentieth client came after months. Reading no
//! further than the purge keeps makes detection decide the same on SQLite, which deletes past
//! the cutoff hourly, as on PostgreSQL, which drops a month only once all of it is past the
//! cutoff; and there the bound lets the planner skip those months.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;

use crate::domain::detection::{
    Evidence, FLAG_RAISED, Finding, FlagRaised, Observation, Thresholds, evaluate, flag_stream,
};
use crate::domain::region::RegionCode;
use crate::domain::watch::{Sighting, Watch};
use crate::log::{AppendError, Expected, Log, Metadata, NewEvent, StorageError};
use crate::metrics::Metrics;
use crate::projections::marks::MarkIndex;
use crate::scans::{self, Scan, ScanStore, StoredScan};

/// Scans per serial the rules look at: the most recent ones.
const HISTORY: u32 = 1000;

/// How long a serial's watch is trusted before it is rebuilt from the scan table: what other
/// nodes on the same database recorded reaches this node's watches within this time.
pub const REFRESH: Duration = Duration::from_secs(60);

/// Serials whose watches are remembered: the hot ones. At most a few hundred bytes each at
/// the default thresholds, so tens of MB at most.
const WATCHED: usize = 100_000;

/// Raises flags: from committed scans, and from verifications whose claims disagree.
#[derive(Clone)]
pub struct Detector {
    log: Log,
    index: Arc<MarkIndex>,
    scans: Arc<dyn ScanStore>,
    thresholds: Thresholds,
    /// Days a scan is kept: histories reach no further back.
    retention_days: u32,
    watches: Arc<quick_cache::sync::Cache<u64, Watched>>,
    metrics: Arc<Metrics>,
}

impl Detector {
    pub fn new(
        log: Log,
        index: Arc<MarkIndex>,
        scans: Arc<dyn ScanStore>,
        thresholds: Thresholds,
        retention_days: u32,
        metrics: Arc<Metrics>,
    ) -> Detector {
        Detector {
            log,
            index,
            scans,
            thresholds,
            retention_days,
            watches: Arc::new(quick_cache::sync::Cache::new(WATCHED)),
            metrics,
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

    /// Runs the rules on every batch of newly committed scans, until the recorder stops.
    pub async fn run(self, mut committed: mpsc::Receiver<Vec<Scan>>) {
        while let Some(scans) = committed.recv().await {
            if let Err(error) = self.detect(&scans).await {
                tracing::error!(%error, "detection failed");
            }
        }
    }

    /// Takes a batch of committed scans into each serial's [`Watch`] and raises what the rules
    /// find. A serial's history is read only when its watch is cold (not remembered, or older
    /// than [`REFRESH`]) or suspects a flag not yet raised: one statement for all such serials
    /// of the batch, so a hot serial costs O(1) per scan however often it was scanned.
    pub async fn detect(&self, committed: &[Scan]) -> Result<(), DetectError> {
        self.index.catch_up(&self.log).await?;
        let mut fresh: HashMap<u64, Vec<&Scan>> = HashMap::new();
        for scan in committed {
            fresh.entry(scan.serial).or_default().push(scan);
        }
        // Serials whose history is to be read, with their licensed regions.
        let mut cold = Vec::new();
        for (serial, mut scans) in fresh {
            let Some(licensed) = self.licensed(serial) else {
                continue;
            };
            let Some(Watched { since, mut watch }) = self
                .watches
                .get(&serial)
                .filter(|w| w.since.elapsed() < REFRESH)
            else {
                cold.push((serial, licensed));
                continue;
            };
            scans.sort_by(|a, b| a.scanned_at.cmp(&b.scanned_at));
            for scan in scans {
                if let Some(sighting) = sighting(scan) {
                    watch.see(sighting, &licensed, &self.thresholds);
                }
            }
            if self.unraised(serial, &watch) {
                cold.push((serial, licensed));
            } else {
                self.watches.insert(serial, Watched { since, watch });
            }
        }
        // A cold or suspect watch is rebuilt from the history, which holds this batch's scans
        // already.
        if cold.is_empty() {
            return Ok(());
        }
        let mut histories: HashMap<u64, Vec<Observation>> = HashMap::new();
        let serials: Vec<u64> = cold.iter().map(|(serial, _)| *serial).collect();
        let since = scans::retained_since(self.retention_days);
        let stored = self.scans.scans_of(&serials, &since, HISTORY).await?;
        self.metrics.detection_reads(stored.len());
        for stored in stored {
            if let Some(observation) = observation(stored) {
                histories
                    .entry(observation.0)
                    .or_default()
                    .push(observation.1);
            }
        }
        for (serial, licensed) in cold {
            let mut history = histories.remove(&serial).unwrap_or_default();
            history.sort_by_key(|o| (o.at, o.scan_id));
            let watch = Watch::over(
                history.iter().map(Observation::sighting),
                &licensed,
                &self.thresholds,
            );
            if self.unraised(serial, &watch) {
                for finding in evaluate(&history, &licensed, &self.thresholds) {
                    self.raise(serial, finding).await?;
                }
            }
            let since = Instant::now();
            self.watches.insert(serial, Watched { since, watch });
        }
        Ok(())
    }

    /// The licensed regions of the batch that holds `serial`, if any does.
    fn licensed(&self, serial: u64) -> Option<Vec<RegionCode>> {
        Some(self.index.registered(serial)?.mark.batch.regions.clone())
    }

    /// Whether the watch suspects a flag the serial does not have yet. Raised flags reach the
    /// index a moment after the log, so a flag raised by the batch before may be suspected once
    /// more, costing one read and no second event (its stream exists).
    fn unraised(&self, serial: u64, watch: &Watch) -> bool {
        let raised = self.index.flags_of(serial);
        watch.suspects().iter().any(|f| !raised.contains(f))
    }
}

/// A serial's watch, and when it was last rebuilt from the scan table.
#[derive(Clone)]
struct Watched {
    since: Instant,
    watch: Watch,
}

/// The parts of a scan a watch sees; a time that does not parse is skipped, as a
/// corrupt observation proves nothing.
fn sighting(scan: &Scan) -> Option<Sighting<'_>> {
    Some(Sighting {
        at: OffsetDateTime::parse(&scan.scanned_at, &Rfc3339).ok()?,
        region: scan.region,
        client: &scan.client,
        verdict: scan.verdict,
    })
}

fn observation(stored: StoredScan) -> Option<(u64, Observation)> {
    let at = OffsetDateTime::parse(&stored.scan.scanned_at, &Rfc3339).ok()?;
    Some((
        stored.scan.serial,
        Observation {
            scan_id: stored.scan_id,
            at,
            region: stored.scan.region,
            client: stored.scan.client,
            verdict: stored.scan.verdict,
        },
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Append(#[from] AppendError),
}
