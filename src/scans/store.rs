//! The scan record as stored, and the storage it needs ([`ScanStore`]).

use async_trait::async_trait;
use time::Date;

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

/// How often a serial was scanned in one region on one day, and when last: what EPCIS
/// partners get of scans (`app::epcis`), with nothing about who scanned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanTotal {
    pub serial: u64,
    /// Where the scanners said they were; absent when they did not say.
    pub region: Option<RegionCode>,
    pub scans: u64,
    /// The last of these scans, in the log's timestamp format.
    pub last_at: String,
}

/// Months whose partitions exist ahead of the current one on PostgreSQL: the hourly upkeep
/// (`server`) may fail for two months at least before a scan lands in the default partition.
pub const MONTHS_AHEAD: u32 = 2;

/// What a retention purge removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// The monthly partitions dropped whole (PostgreSQL), oldest first; their scans are not
    /// counted.
    pub partitions: Vec<String>,
    /// The scans deleted one by one: every purged scan on SQLite, those the default partition
    /// held on PostgreSQL.
    pub deleted: u64,
}

/// The scan table's storage: inserts in group commits, recent scans per serial, its monthly
/// partitions (PostgreSQL), retention.
#[async_trait]
pub trait ScanStore: Send + Sync + 'static {
    /// Appends scans in one transaction (one group commit of the scan recorder).
    async fn insert_scans(&self, scans: &[Scan]) -> Result<(), StorageError>;

    /// Up to `limit` scans of each of these serials recorded at or after `since` (a timestamp
    /// in the log's format), newest first within each serial, in one statement: detection
    /// reads a whole committed batch's serials at once. On PostgreSQL the bound keeps the read
    /// to the months at or after `since`.
    async fn scans_of(
        &self,
        serials: &[u64],
        since: &str,
        limit: u32,
    ) -> Result<Vec<StoredScan>, StorageError>;

    /// A serial's scans counted by day and region, oldest day first.
    async fn scan_days(&self, serial: u64) -> Result<Vec<ScanDay>, StorageError>;

    /// The scans recorded at or after `from` and before `until` (timestamps in the log's
    /// format) of the first `limit` serials above `after` that have any, counted by serial
    /// and region, by serial then region (no region first): a page holds every region of its
    /// serials, so the last serial is the cursor for the next.
    async fn scan_totals(
        &self,
        from: &str,
        until: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<ScanTotal>, StorageError>;

    /// The number of stored scans.
    async fn scan_count(&self) -> Result<u64, StorageError>;

    /// Makes room for the scans to come: on PostgreSQL, creates the partitions of `today`'s
    /// month and of the [`MONTHS_AHEAD`] after it that do not exist yet, moving into
    /// each the scans of its month that the default partition caught meanwhile; returns the
    /// partitions it created. Safe to run from every node at once. SQLite's one table needs
    /// nothing.
    async fn add_partitions(&self, today: Date) -> Result<Vec<String>, StorageError>;

    /// Retention of the scans recorded before `before` (a timestamp in the log's format). SQLite
    /// deletes every one of them, oldest first, in transactions of a bounded size. PostgreSQL
    /// drops the monthly partitions that end at or before `before`, and deletes the default
    /// partition's older scans as SQLite does; a month that straddles `before` is kept whole
    /// until it ends before it, so a scan outlives `before` by up to a month there.
    async fn purge_scans(&self, before: &str) -> Result<Purged, StorageError>;
}
