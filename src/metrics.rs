//! Counters and gauges, rendered as Prometheus text at `GET /metrics`. A handful of atomics
//! written on the paths that matter; no registry crate, since the set is small and fixed.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What one append request of a group commit came to, as the counters see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Committed, with this many new events.
    Appended(u64),
    /// Every event was already there (an idempotent re-send).
    Replayed,
    /// Refused: a version conflict or an invalid request.
    Refused,
}

#[derive(Debug, Default)]
pub struct Metrics {
    log_commits: AtomicU64,
    log_commit_failures: AtomicU64,
    log_events_appended: AtomicU64,
    log_append_requests: AtomicU64,
    log_append_replays: AtomicU64,
    log_append_conflicts: AtomicU64,
    scans_recorded: AtomicU64,
    scans_dropped: AtomicU64,
    scan_commits: AtomicU64,
    detection_reads: AtomicU64,
    signature_batches: AtomicU64,
    signature_batch_items: AtomicU64,
}

impl Metrics {
    /// Records one committed group commit and its requests' outcomes.
    pub fn log_commit(&self, outcomes: &[AppendOutcome]) {
        self.log_commits.fetch_add(1, Relaxed);
        self.log_append_requests
            .fetch_add(outcomes.len() as u64, Relaxed);
        for outcome in outcomes {
            let (counter, n) = match outcome {
                AppendOutcome::Replayed => (&self.log_append_replays, 1),
                AppendOutcome::Appended(events) => (&self.log_events_appended, *events),
                AppendOutcome::Refused => (&self.log_append_conflicts, 1),
            };
            counter.fetch_add(n, Relaxed);
        }
    }

    pub fn log_commit_failed(&self) {
        self.log_commit_failures.fetch_add(1, Relaxed);
    }

    /// Records one committed batch of scans.
    pub fn scan_commit(&self, scans: usize) {
        self.scan_commits.fetch_add(1, Relaxed);
        self.scans_recorded.fetch_add(scans as u64, Relaxed);
    }

    /// Records scans lost before they were committed.
    pub fn scans_dropped(&self, scans: usize) {
        self.scans_dropped.fetch_add(scans as u64, Relaxed);
    }

    /// Records scans detection read back from the scan table.
    pub fn detection_reads(&self, scans: usize) {
        self.detection_reads.fetch_add(scans as u64, Relaxed);
    }

    /// Scans detection has read back so far.
    pub fn detection_reads_total(&self) -> u64 {
        self.detection_reads.load(Relaxed)
    }

    /// Records one batch of signature checks.
    pub fn signature_batch(&self, signatures: usize) {
        self.signature_batches.fetch_add(1, Relaxed);
        self.signature_batch_items
            .fetch_add(signatures as u64, Relaxed);
    }

    /// Signature batches verified so far, and the signatures in them.
    pub fn signature_batches(&self) -> (u64, u64) {
        (
            self.signature_batches.load(Relaxed),
            self.signature_batch_items.load(Relaxed),
        )
    }

    /// The Prometheus text exposition of every metric, with the log size and the per-type
    /// event counts (read from storage by the caller) as gauges.
    pub fn render(&self, log_size: u64, event_types: &[(String, u64)]) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Relaxed));
        };
        counter(
            "marktrace_log_commits_total",
            "Group-commit transactions committed.",
            &self.log_commits,
        );
        counter(
            "marktrace_log_commit_failures_total",
            "Group-commit transactions that failed; their callers got an error.",
            &self.log_commit_failures,
        );
        counter(
            "marktrace_log_append_requests_total",
            "Append requests answered by committed group commits.",
            &self.log_append_requests,
        );
        counter(
            "marktrace_log_events_appended_total",
            "Events appended by this process.",
            &self.log_events_appended,
        );
        counter(
            "marktrace_log_append_replays_total",
            "Append requests answered from an earlier append of the same event ids.",
            &self.log_append_replays,
        );
        counter(
            "marktrace_log_append_refusals_total",
            "Append requests refused: version conflicts and reused event ids.",
            &self.log_append_conflicts,
        );
        counter(
            "marktrace_scans_recorded_total",
            "Scans committed to the scan table by this process.",
            &self.scans_recorded,
        );
        counter(
            "marktrace_scans_dropped_total",
            "Scans lost before commit: the recorder's queue was full or closed, or every \
             write attempt of their batch failed.",
            &self.scans_dropped,
        );
        counter(
            "marktrace_scan_commits_total",
            "Scan batches committed, one transaction each.",
            &self.scan_commits,
        );
        counter(
            "marktrace_detection_history_reads_total",
            "Scans detection read back from the scan table: histories of cold or suspect serials.",
            &self.detection_reads,
        );
        counter(
            "marktrace_signature_batches_total",
            "Batches of first-scan signature checks verified together.",
            &self.signature_batches,
        );
        counter(
            "marktrace_signature_batch_items_total",
            "Signatures checked in those batches.",
            &self.signature_batch_items,
        );
        let _ = writeln!(
            out,
            "# HELP marktrace_log_size Events in the log.\n# TYPE marktrace_log_size gauge\nmarktrace_log_size {log_size}"
        );
        let _ = writeln!(
            out,
            "# HELP marktrace_log_events Events in the log by type.\n# TYPE marktrace_log_events gauge"
        );
        for (event_type, count) in event_types {
            let _ = writeln!(out, "marktrace_log_events{{type=\"{event_type}\"}} {count}");
        }
        out
    }
}
