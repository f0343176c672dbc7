//! A database as the wiring sees it: every port the owners declare on one connection pool,
//! and why opening one can fail.

use async_trait::async_trait;

use crate::log::StorageError;
use crate::log::store::LogStore;
use crate::projections::store::ProjectionStore;
use crate::scans::ScanStore;
use crate::sessions::SessionStore;

/// One database: every port on it, and closing it.
#[async_trait]
pub trait Database: LogStore + ProjectionStore + ScanStore + SessionStore {
    /// Closes the pool, waiting for connections in use to return.
    async fn close(&self);
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
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

/// Every engine error is a database error to the owners; the conditions they act on are
/// mapped where they arise.
impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> StorageError {
        StorageError::Database(Box::new(error))
    }
}
