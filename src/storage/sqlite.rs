//! The embedded default: one SQLite file in WAL mode.
//!
//! Durability: the log runs with `synchronous = FULL`. In WAL mode `NORMAL` already survives a
//! process crash (`kill -9`), but a power loss could roll back the last commits after their
//! checkpoints were signed and served, and the log would then sign a different tree at the same
//! size: exactly the inconsistency a transparency log must never show. Group commit pays one
//! fsync per batch, so FULL costs little throughput (see BENCHMARKS.md).
//!
//! Writes take the write lock up front with `BEGIN IMMEDIATE`, so a transaction never has to
//! upgrade a read lock and fail with `SQLITE_BUSY` when another process (the CLI) writes too.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::mpsc;

use super::{AppendTx, LockedHead, StorageError};
use super::{backend, common};
use crate::log::commit::CommitPlan;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing, with its directory) and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<SqliteStore, StorageError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|source| StorageError::Directory {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// `BEGIN IMMEDIATE`: the write lock up front.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StorageError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

struct SqliteAppend {
    tx: Transaction<'static, Sqlite>,
}

backend::impl_store! {
    engine: Sqlite,
    store: SqliteStore {
        async fn begin_append(&self) -> Result<Box<dyn AppendTx>, StorageError> {
            Ok(Box::new(SqliteAppend {
                tx: self.begin_write().await?,
            }))
        }

        async fn follow_hints(&self, _hints: mpsc::Sender<()>) -> Result<(), StorageError> {
            Ok(())
        }
    },
    tx: SqliteAppend {
        async fn head(&mut self) -> Result<LockedHead, StorageError> {
            // `BEGIN IMMEDIATE` already holds the write lock.
            common::locked_head::<Sqlite>(&mut *self.tx, common::HEAD_WITH_CHECKPOINT).await
        }

        async fn write(&mut self, plan: &CommitPlan) -> Result<(), StorageError> {
            common::write_plan::<Sqlite>(&mut *self.tx, plan).await
        }
    },
}
