//! Consumer scans (SPEC.md "Architecture in one paragraph", "Qualities": Durable, Private).
//! Every verification of a decodable token leaves a [`Scan`]: the serial, the time, the region
//! if the client gave one, the verdict, and a salted hash of the client's address, never the
//! address. Scans are high-volume observations kept in their own append-only table, not in the
//! log; detection reads them back per serial (`ScanStore::scans_of`) and retention removes them
//! by age (`ScanStore::purge_scans`).
//!
//! # Retention
//! A scan is kept the configured number of days (`--scan-retention-days`); [`retained_since`]
//! is the cutoff, the same for the purge and for detection, which reads nothing older. SQLite
//! deletes older scans row by row, hourly. On PostgreSQL the table is partitioned by month and the purge drops a
//! month whole once all of it is past the cutoff, so a scan is deleted up to a month after its
//! retention ended (a retention of 365 days keeps a scan at most 365 days plus one calendar
//! month); a deployment that must delete within N days sets the retention to N − 31. Dropping a
//! month costs a catalog change instead of deleting and vacuuming millions of rows.
//!
//! This module owns the scan record, the storage it needs ([`store::ScanStore`]), the client hash
//! ([`client::ClientHasher`]) and the recorder ([`recorder::ScanRecorder`]) that
//! group-commits scans off the response path. It does not know HTTP
//! (the handler builds the scan) nor what scans mean (detection decides that).
//!
//! # Off the response path
//! [`ScanRecorder::record`] never waits: it puts the scan in a bounded queue or, when the queue
//! is full (the database cannot keep up) or closed (the recorder stopped), drops it and counts
//! it in `marktrace_scans_dropped_total`. A verdict is never late because of its scan, and
//! under overload the observations give way, not the verdicts. One writer task takes queued
//! scans in batches of at most `max_batch`, waiting at most `max_delay` after the oldest of
//! them was recorded, and writes each batch in one transaction of multi-row INSERTs.
//!
//! # What a hard crash loses
//! A graceful stop ([`RecorderTask::shutdown`]) writes every queued scan. A `kill -9` (or a
//! power loss) loses exactly the scans that [`ScanRecorder::record`] accepted but that are not
//! yet committed: the queue, and the batch being written if its transaction has not committed.
//! Committed batches survive: each is one transaction, and SQLite runs `synchronous = FULL`.
//! In time: while the writer keeps up, a scan recorded at `t` is committed by
//! `t + max_delay + 2 W`, where `W` is the time of one write (the write in flight when it is
//! taken, then its own); so a crash loses the scans of the last `max_delay + 2 W`, by default
//! 50 ms plus a few milliseconds. A failing database widens that by the retries' back-off
//! (0.7 s in all) before the batch is dropped. In count, whatever the load: never more than
//! `queue + max_batch` scans (by default 65,536 + 4,096 = 69,632).

pub mod client;
pub mod recorder;
pub mod store;

use time::OffsetDateTime;

use crate::clock;

pub use client::{ClientHasher, SALT_FILE};
pub use recorder::{RecorderOptions, RecorderTask, ScanRecorder};
pub use store::{MONTHS_AHEAD, Purged, Scan, ScanDay, ScanStore, ScanTotal, StoredScan};

/// The oldest time a scan is kept from under a retention of `days`, in the log's timestamp
/// format: the purge removes what is older, and detection reads nothing older.
pub fn retained_since(days: u32) -> String {
    clock::format_micros(OffsetDateTime::now_utc() - time::Duration::days(days.into()))
}
