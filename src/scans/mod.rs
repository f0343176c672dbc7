//! Consumer scans (SPEC.md "Architecture in one paragraph", "Qualities": Durable, Private).
//! Every verification of a decodable token leaves a [`Scan`]: the serial, the time, the region
//! if the client gave one, the verdict, and a salted hash of the client's address, never the
//! address. Scans are high-volume observations kept in their own append-only table, not in the
//! log; detection reads them back per serial (`Store::scans_of`) and retention deletes them by
//! age (`Store::purge_scans`).
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

pub use client::{ClientHasher, SALT_FILE};
pub use recorder::{RecorderOptions, RecorderTask, ScanRecorder};
pub use store::{Scan, ScanDay, ScanStore, StoredScan};
