//! What the log asks of a database: the port [`LogStore`] with its group-commit transaction
//! [`AppendTx`]. `storage` implements it
//! for SQLite and PostgreSQL; the log never sees SQL, and nothing but the log (and the wiring
//! that opens it) holds a `LogStore`.

use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::commit::{CommitPlan, Existing};
use super::event::StoredEvent;
use super::merkle::Frontier;
use super::records::{LockedHead, StorageError, StoredCheckpoint, StoredTile};

/// The log's storage: events, tiles, checkpoints and the head.
#[async_trait]
pub trait LogStore: Send + Sync + 'static {
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
