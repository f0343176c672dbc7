//! What the log's storage holds and returns: the signed checkpoints and tiles as stored, the
//! head as an append transaction sees it, and the [`StorageError`] every storage port returns.

use super::merkle::{Frontier, Hash};

/// A storage failure. The one condition callers act on is named; everything else is a
/// database error that the edge logs and answers with a generic 5xx.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database cannot be reached or cannot take writes now (connection refused or lost,
    /// no connection in time, out of space, read-only): nothing more was written, and the
    /// same request may be sent again later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
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

/// The log head as an append transaction sees it, under the write lock.
#[derive(Debug)]
pub struct LockedHead {
    pub frontier: Frontier,
    /// The root of the checkpoint stored for the head's size; `None` only before the first
    /// checkpoint (a database `init` has not signed yet).
    pub checkpointed_root: Option<Hash>,
}
