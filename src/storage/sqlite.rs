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

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::common;
use super::{AppendTx, LockedHead, StorageError, Store, StoredCheckpoint, StoredTile};
use crate::log::commit::{CommitPlan, Existing};
use crate::log::event::StoredEvent;
use crate::log::merkle::Frontier;
use crate::projections::ProjectionWrite;

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

    async fn begin_immediate(&self) -> Result<Transaction<'static, Sqlite>, StorageError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin_append(&self) -> Result<Box<dyn AppendTx>, StorageError> {
        Ok(Box::new(SqliteAppend {
            tx: self.begin_immediate().await?,
        }))
    }

    async fn log_head(&self) -> Result<Frontier, StorageError> {
        common::log_head(&self.pool).await
    }

    async fn read_log(&self, from: u64, limit: u32) -> Result<Vec<StoredEvent>, StorageError> {
        common::read_log(&self.pool, from, limit).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        common::read_stream(&self.pool, stream, from, limit).await
    }

    async fn read_tiles(&self, keys: &[(u8, u64)]) -> Result<Vec<StoredTile>, StorageError> {
        common::read_tiles(&self.pool, keys).await
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StorageError> {
        common::latest_checkpoint(&self.pool).await
    }

    async fn read_checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StorageError> {
        common::read_checkpoints(&self.pool, from_size, limit).await
    }

    async fn follow_hints(&self, _hints: mpsc::Sender<()>) -> Result<(), StorageError> {
        Ok(())
    }

    async fn projection_position(&self, name: &str) -> Result<u64, StorageError> {
        common::projection_position(&self.pool, name).await
    }

    async fn commit_projection(
        &self,
        name: &str,
        from: u64,
        to: u64,
        writes: &[ProjectionWrite],
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin_immediate().await?;
        let applied = common::apply_projection::<Sqlite>(&mut *tx, name, from, to, writes).await?;
        tx.commit().await?;
        Ok(applied)
    }

    async fn reset_projection(&self, name: &str) -> Result<(), StorageError> {
        let mut tx = self.begin_immediate().await?;
        common::reset_projection::<Sqlite>(&mut *tx, name).await?;
        Ok(tx.commit().await?)
    }

    async fn event_type_counts(&self) -> Result<Vec<(String, u64)>, StorageError> {
        common::event_type_counts(&self.pool).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

struct SqliteAppend {
    tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl AppendTx for SqliteAppend {
    async fn head(&mut self) -> Result<LockedHead, StorageError> {
        // `BEGIN IMMEDIATE` already holds the write lock.
        let (size, frontier, root): (i64, Vec<u8>, Option<Vec<u8>>) =
            sqlx::query_as(common::HEAD_WITH_CHECKPOINT)
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(LockedHead {
            frontier: common::frontier_from(size, &frontier)?,
            checkpointed_root: common::checkpointed_root(root)?,
        })
    }

    async fn stream_versions(
        &mut self,
        streams: &[&str],
    ) -> Result<HashMap<String, u64>, StorageError> {
        common::stream_versions::<Sqlite>(&mut *self.tx, streams).await
    }

    async fn existing(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, Existing>, StorageError> {
        common::existing::<Sqlite>(&mut *self.tx, ids).await
    }

    async fn write(&mut self, plan: &CommitPlan) -> Result<(), StorageError> {
        common::write_plan::<Sqlite>(&mut *self.tx, plan).await
    }

    async fn commit(self: Box<Self>) -> Result<(), StorageError> {
        Ok(self.tx.commit().await?)
    }
}
