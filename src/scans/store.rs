//! The scan record as stored, and the storage it needs ([`ScanStore`]).

use async_trait::async_trait;

use crate::domain::region::RegionCode;
use crate::domain::verdict::Verdict;
use crate::log::StorageError;

/// One verification of a decodable token, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub serial: u64,
    /// When the verification was answered, in the log's timestamp format
    /// (`crate::clock::now_micros()`).
    pub scanned_at: String,
    /// Where the client said it was, at county level at the finest.
    pub region: Option<RegionCode>,
    pub verdict: Verdict,
    /// [`ClientHasher::hash`] of the client's address.
    pub client: String,
}

/// A scan read back, with the id the table gave it (unique, not in commit order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredScan {
    pub scan_id: u64,
    pub scan: Scan,
}

/// How often a serial was scanned in one region on one day: what a mark's page shows of its
/// scans, with nothing about who scanned.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ScanDay {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// Where the scanners said they were; absent when they did not say.
    pub region: Option<RegionCode>,
    pub scans: u64,
}

/// The scan table's storage: inserts in group commits, recent scans per serial, retention.
#[async_trait]
pub trait ScanStore: Send + Sync + 'static {
    /// Appends scans in one transaction (one group commit of the scan recorder).
    async fn insert_scans(&self, scans: &[Scan]) -> Result<(), StorageError>;

    /// Up to `limit` scans of each of these serials, newest first within each serial, in one
    /// statement: detection reads a whole committed batch's serials at once.
    async fn scans_of(&self, serials: &[u64], limit: u32) -> Result<Vec<StoredScan>, StorageError>;

    /// A serial's scans counted by day and region, oldest day first.
    async fn scan_days(&self, serial: u64) -> Result<Vec<ScanDay>, StorageError>;

    /// The number of stored scans.
    async fn scan_count(&self) -> Result<u64, StorageError>;

    /// Retention: deletes every scan recorded before `before` (a timestamp in the log's
    /// format), oldest first, in transactions of a bounded size; returns how many it deleted.
    async fn purge_scans(&self, before: &str) -> Result<u64, StorageError>;
}
