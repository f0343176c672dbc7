//! Storage: the only place SQL lives. The owners declare the ports they need: the log its
//! [`LogStore`], the read models their [`ProjectionStore`], the scan record its [`ScanStore`];
//! this module implements all three for each engine, chosen once at start-up from the
//! database URL's scheme: [`sqlite`] (the embedded default) or [`postgres`] (several API nodes
//! sharing one database). Only the wiring (`server`, `main`) opens a [`Database`] and hands
//! each owner its port.
//!
//! The SQL is written once per owner (`log`, `projections`, `scans`, with what they share in
//! `sql`) and `backend` generates both engines' implementations from it; each engine module
//! holds only what differs: connection set-up, locking, and notification. This module knows
//! rows and transactions, not rules: what an append may do is decided by `log::commit`, which
//! storage runs inside the transaction that read its inputs.

mod backend;
mod log;
pub mod postgres;
mod projections;
mod scans;
mod sql;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::log::StorageError;
use crate::log::store::LogStore;
use crate::projections::store::ProjectionStore;
use crate::scans::ScanStore;

/// One database: every port on it, and closing it.
#[async_trait]
pub trait Database: LogStore + ProjectionStore + ScanStore {
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

/// Opens the database a URL names, creating and migrating it as needed.
pub async fn open(url: &str) -> Result<Arc<dyn Database>, OpenError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url).await?))
    } else {
        Err(OpenError::UnsupportedUrl(url.to_owned()))
    }
}

/// Every engine error is a database error to the owners; the conditions they act on are
/// mapped where they arise.
impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> StorageError {
        StorageError::Database(Box::new(error))
    }
}

/// The tables each projection owns, emptied by
/// [`ProjectionStore::reset_projection`](crate::projections::store::ProjectionStore).
fn projection_tables(name: &str) -> &'static [&'static str] {
    use crate::projections::{
        certificates, enterprises, event_types, issuer_keys, issuers, tokens,
    };
    match name {
        event_types::NAME => &["projection_event_types"],
        tokens::NAME => &["projection_tokens"],
        issuers::NAME => &["projection_issuers"],
        issuer_keys::NAME => &["projection_issuer_keys"],
        enterprises::NAME => &["projection_enterprises"],
        certificates::NAME => &["projection_certificates"],
        _ => &[],
    }
}
