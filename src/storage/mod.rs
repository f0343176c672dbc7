//! Storage: the only place SQL lives. One [`Store`] trait, chosen once at start-up from the
//! database URL's scheme: [`sqlite`] (the embedded default) or [`postgres`] (several API nodes
//! sharing one database). The SQL is written once (`common`, with row mapping in `rows`) and
//! `backend` generates both engines' trait implementations from it; each backend module holds
//! only what differs: connection set-up, locking, and notification.
//!
//! This module knows rows and transactions, not rules: what an append may do is decided by
//! `log::commit`, which storage runs inside the transaction that read its inputs.

mod backend;
mod common;
pub mod postgres;
mod rows;
pub mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::access::TokenRecord;
use crate::domain::issuer::IssuerStatus;
use crate::domain::key::{KeyId, KeyStatus};
use crate::domain::region::RegionCode;
use crate::log::commit::{CommitPlan, Existing};
use crate::log::event::StoredEvent;
use crate::log::merkle::{Frontier, Hash};
use crate::projections::ProjectionWrite;
use crate::projections::certificates::CertificateRecord;
use crate::projections::enterprises::EnterpriseRecord;
use crate::projections::issuer_keys::IssuerKeyRecord;
use crate::projections::issuers::IssuerRecord;
use crate::scans::{Scan, StoredScan};

/// Storage failures. Conditions callers act on are mapped once, here; everything else is a
/// database error that the edge logs and answers with a generic 5xx.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    /// A database file (or its `-wal` or `-shm`) that group or others may read: it holds
    /// consumer reports, case notes and token hashes.
    #[error("{path}: readable by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    Exposed { path: String, mode: u32 },
}

/// Opens the store a URL names, creating and migrating it as needed.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StorageError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url).await?))
    } else {
        Err(StorageError::UnsupportedUrl(url.to_owned()))
    }
}

/// Which issuers to list: all conditions given must hold; `after` is the last id of the
/// previous page.
#[derive(Clone, Debug, Default)]
pub struct IssuerFilter {
    pub id: Option<String>,
    pub status: Option<IssuerStatus>,
    pub region: Option<RegionCode>,
    pub after: Option<String>,
    pub limit: u32,
}

/// Which issuer keys to list; `after` is the last key id of the previous page.
#[derive(Clone, Debug, Default)]
pub struct KeyFilter {
    pub key_id: Option<KeyId>,
    pub issuer: Option<String>,
    pub status: Option<KeyStatus>,
    pub after: Option<String>,
    pub limit: u32,
}

/// Which certificates to list; `after` is the last id of the previous page.
#[derive(Clone, Debug, Default)]
pub struct CertificateFilter {
    pub id: Option<String>,
    pub issuer: Option<String>,
    pub after: Option<String>,
    pub limit: u32,
}

/// Which licensees to list, by USCC then issuer; `after` is the last USCC of the previous
/// page, or `uscc:issuer` to resume within one code's licences.
#[derive(Clone, Debug, Default)]
pub struct EnterpriseFilter {
    pub uscc: Option<String>,
    pub registered_by: Option<String>,
    pub region: Option<RegionCode>,
    pub after: Option<String>,
    pub limit: u32,
}

/// A signed checkpoint as stored: one per committed append transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The C2SP signed note, exactly as signed and served.
    pub note: String,
}

/// A C2SP tile as stored: the concatenated hashes of tree level `8 * level` from index
/// `256 * index` on (fewer than 256 while the tile is partial).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTile {
    pub level: u8,
    pub index: u64,
    pub hashes: Vec<u8>,
}

/// Everything the rest of the crate asks of a database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Begins the transaction of one group commit, holding the log's single write lock for its
    /// whole duration so indexes are assigned in commit order.
    async fn begin_append(&self) -> Result<Box<dyn AppendTx>, StorageError>;

    /// The committed log head (size and Merkle frontier), without taking the write lock.
    async fn log_head(&self) -> Result<Frontier, StorageError>;

    /// The number of committed events.
    async fn log_size(&self) -> Result<u64, StorageError> {
        Ok(self.log_head().await?.size())
    }

    /// Up to `limit` events from index `from` on, in index order.
    async fn read_log(&self, from: u64, limit: u32) -> Result<Vec<StoredEvent>, StorageError>;

    /// Up to `limit` events of one stream from version `from` on, in version order.
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError>;

    /// The stored tiles among these `(tile level, tile index)` keys; a key with no tile is
    /// left out.
    async fn read_tiles(&self, keys: &[(u8, u64)]) -> Result<Vec<StoredTile>, StorageError>;

    /// The checkpoint of the largest tree size.
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StorageError>;

    /// Up to `limit` checkpoints from tree size `from_size` on, by size.
    async fn read_checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StorageError>;

    /// Sends on `hints` whenever another process announces an append; returns at once where
    /// the engine has no notifications. A hint only: followers always catch up by index.
    async fn follow_hints(&self, hints: mpsc::Sender<()>) -> Result<(), StorageError>;

    /// The next log index a projection will apply (0 before its first batch).
    async fn projection_position(&self, name: &str) -> Result<u64, StorageError>;

    /// Applies a projection's writes for log indexes `from..to` and moves its position to `to`,
    /// in one transaction, but only if its position is still `from`; false means another
    /// runner got there first and nothing was written.
    async fn commit_projection(
        &self,
        name: &str,
        from: u64,
        to: u64,
        writes: &[ProjectionWrite],
    ) -> Result<bool, StorageError>;

    /// Empties a projection's rows and sets its position to 0, in one transaction.
    async fn reset_projection(&self, name: &str) -> Result<(), StorageError>;

    /// Event counts per type, from the `event_types` projection.
    async fn event_type_counts(&self) -> Result<Vec<(String, u64)>, StorageError>;

    /// One access token by id, from the `tokens` projection.
    async fn token(&self, token_id: &str) -> Result<Option<TokenRecord>, StorageError>;

    /// Every access token, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenRecord>, StorageError>;

    /// Issuers matching a filter, ordered by id, one page, from the `issuers` projection.
    async fn issuers(&self, filter: &IssuerFilter) -> Result<Vec<IssuerRecord>, StorageError>;

    /// Issuer keys matching a filter with their issuers' brands, ordered by key id, one page.
    /// Catch up `issuers` after `issuer_keys` so every key's issuer is there.
    async fn issuer_keys(&self, filter: &KeyFilter) -> Result<Vec<IssuerKeyRecord>, StorageError>;

    /// Certificates matching a filter, ordered by id, one page.
    async fn certificates(
        &self,
        filter: &CertificateFilter,
    ) -> Result<Vec<CertificateRecord>, StorageError>;

    /// Enterprises matching a filter, ordered by USCC, one page.
    async fn enterprises(
        &self,
        filter: &EnterpriseFilter,
    ) -> Result<Vec<EnterpriseRecord>, StorageError>;

    /// Appends scans in one transaction (one group commit of the scan recorder).
    async fn insert_scans(&self, scans: &[Scan]) -> Result<(), StorageError>;

    /// Up to `limit` scans of each of these serials, newest first within each serial, in one
    /// statement: detection reads a whole committed batch's serials at once.
    async fn scans_of(&self, serials: &[u64], limit: u32) -> Result<Vec<StoredScan>, StorageError>;

    /// The number of stored scans.
    async fn scan_count(&self) -> Result<u64, StorageError>;

    /// Retention: deletes every scan recorded before `before` (a timestamp in the log's
    /// format), oldest first, in transactions of a bounded size; returns how many it deleted.
    async fn purge_scans(&self, before: &str) -> Result<u64, StorageError>;

    /// Closes the pool, waiting for connections in use to return.
    async fn close(&self);
}

/// The log head as an append transaction sees it, under the write lock.
#[derive(Debug)]
pub struct LockedHead {
    pub frontier: Frontier,
    /// The root of the checkpoint stored for the head's size; `None` only before the first
    /// checkpoint (a database `init` has not signed yet).
    pub checkpointed_root: Option<Hash>,
}

/// One open group-commit transaction. Dropping it without [`AppendTx::commit`] rolls back.
#[async_trait]
pub trait AppendTx: Send {
    /// The log head, locked for this transaction.
    async fn head(&mut self) -> Result<LockedHead, StorageError>;

    /// The last version of each named stream that has events.
    async fn stream_versions(
        &mut self,
        streams: &[&str],
    ) -> Result<HashMap<String, u64>, StorageError>;

    /// The stored events among these ids.
    async fn existing(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, Existing>, StorageError>;

    /// The stored tiles among these `(tile level, tile index)` keys, as of this transaction.
    async fn tiles(&mut self, keys: &[(u8, u64)]) -> Result<Vec<StoredTile>, StorageError>;

    /// Writes a plan's events, tiles, checkpoint and new head.
    async fn write(&mut self, plan: &CommitPlan) -> Result<(), StorageError>;

    async fn commit(self: Box<Self>) -> Result<(), StorageError>;
}

/// The tables each projection owns, emptied by [`Store::reset_projection`].
fn projection_tables(name: &str) -> &'static [&'static str] {
    match name {
        crate::projections::event_types::NAME => &["projection_event_types"],
        crate::projections::tokens::NAME => &["projection_tokens"],
        crate::projections::issuers::NAME => &["projection_issuers"],
        crate::projections::issuer_keys::NAME => &["projection_issuer_keys"],
        crate::projections::enterprises::NAME => &["projection_enterprises"],
        crate::projections::certificates::NAME => &["projection_certificates"],
        _ => &[],
    }
}
