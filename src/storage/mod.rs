//! Storage: the only place SQL lives. The owners declare the ports they need: the log its
//! [`LogStore`], the read models their [`ProjectionStore`], the scan record its [`ScanStore`],
//! the console its [`SessionStore`](crate::sessions::SessionStore), retried writes their
//! [`KeyStore`](crate::idempotency::KeyStore), witnessing its
//! [`WitnessStore`](crate::witnessing::WitnessStore); this module implements all six for each
//! engine, chosen once at start-up from the
//! database URL's scheme: [`sqlite`] (the embedded default) or [`postgres`] (several API nodes
//! sharing one database). Only the wiring (`server`, `main`) opens a [`Database`] and hands
//! each owner its port.
//!
//! The SQL is written once per owner (`log`, `projections`, `scans`, `sessions`, `idempotency`, `witnessing`, with what they
//! share in `sql`) and `backend` generates both engines' implementations from it; each engine module
//! holds only what differs: connection set-up, locking, and notification. This module knows
//! rows and transactions, not rules: what an append may do is decided by `log::commit`, which
//! storage runs inside the transaction that read its inputs.
//!
//! Every call fails fast while the database is unreachable: a connection is waited for at most
//! `ACQUIRE_TIMEOUT` (1 s), and a [`circuit`] opens after consecutive failures and probes to
//! close, so callers get [`StorageError::Unavailable`](crate::log::StorageError) (503 at the
//! edge) within two seconds instead of a hang and a 500.

mod backend;
mod circuit;
mod database;
mod idempotency;
mod log;
pub mod postgres;
mod projections;
mod scans;
mod sessions;
mod sql;
pub mod sqlite;
mod witnessing;

use std::sync::Arc;

pub use database::{Database, OpenError};

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
