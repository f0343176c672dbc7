//! The embedded default: one SQLite file in WAL mode.
//!
//! Durability: the log runs with `synchronous = FULL`. In WAL mode `NORMAL` already survives a
//! process crash (`kill -9`), but a power loss could roll back the last commits after their
//! checkpoints were signed and served, and the log would then sign a different tree at the same
//! size: exactly the inconsistency a transparency log must never show. Group commit pays one
//! fsync per batch, so FULL costs little throughput (see BENCHMARKS.md).
//!
//! Appends take the write lock up front with `BEGIN IMMEDIATE`, so a transaction never has to
//! upgrade a read lock and fail with `SQLITE_BUSY` when another process (the CLI) writes too.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::common::{self, EventRow, ExistingRow, chunks};
use super::{AppendTx, StorageError, Store, projection_tables};
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

    async fn log_size(&self) -> Result<u64, StorageError> {
        let size: i64 = sqlx::query_scalar(common::LOG_SIZE)
            .fetch_one(&self.pool)
            .await?;
        Ok(size as u64)
    }

    async fn read_log(&self, from: u64, limit: u32) -> Result<Vec<StoredEvent>, StorageError> {
        let rows: Vec<EventRow> = sqlx::query_as(common::READ_LOG)
            .bind(from as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        common::into_events(rows)
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let rows: Vec<EventRow> = sqlx::query_as(common::READ_STREAM)
            .bind(stream)
            .bind(from as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        common::into_events(rows)
    }

    async fn follow_hints(&self, _hints: mpsc::Sender<()>) -> Result<(), StorageError> {
        Ok(())
    }

    async fn projection_position(&self, name: &str) -> Result<u64, StorageError> {
        sqlx::query(common::ENSURE_PROJECTION)
            .bind(name)
            .execute(&self.pool)
            .await?;
        let position: i64 = sqlx::query_scalar(common::PROJECTION_POSITION)
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(position as u64)
    }

    async fn commit_projection(
        &self,
        name: &str,
        from: u64,
        to: u64,
        writes: &[ProjectionWrite],
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin_immediate().await?;
        let moved = sqlx::query(common::ADVANCE_PROJECTION)
            .bind(to as i64)
            .bind(name)
            .bind(from as i64)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        for write in writes {
            match write {
                ProjectionWrite::CountEvents { event_type, count } => {
                    sqlx::query(common::COUNT_EVENT_TYPE)
                        .bind(event_type)
                        .bind(*count as i64)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn reset_projection(&self, name: &str) -> Result<(), StorageError> {
        let mut tx = self.begin_immediate().await?;
        for table in projection_tables(name) {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(common::RESET_PROJECTION)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn event_type_counts(&self) -> Result<Vec<(String, u64)>, StorageError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(common::EVENT_TYPE_COUNTS)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(t, n)| (t, n as u64)).collect())
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
    async fn frontier(&mut self) -> Result<Frontier, StorageError> {
        let (size, bytes): (i64, Vec<u8>) =
            sqlx::query_as("SELECT size, frontier FROM log_head WHERE id = 0")
                .fetch_one(&mut *self.tx)
                .await?;
        Frontier::from_parts(size as u64, &bytes).map_err(|e| StorageError::Corrupt(e.to_string()))
    }

    async fn stream_versions(
        &mut self,
        streams: &[&str],
    ) -> Result<HashMap<String, u64>, StorageError> {
        let mut found = HashMap::new();
        for chunk in chunks(streams) {
            let rows: Vec<(String, Option<i64>)> = common::select_versions(chunk)
                .build_query_as()
                .fetch_all(&mut *self.tx)
                .await?;
            found.extend(rows.into_iter().filter_map(|(s, v)| Some((s, v? as u64))));
        }
        Ok(found)
    }

    async fn existing(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, Existing>, StorageError> {
        let mut found = HashMap::new();
        for chunk in chunks(ids) {
            let rows: Vec<ExistingRow> = common::select_existing(chunk)
                .build_query_as()
                .fetch_all(&mut *self.tx)
                .await?;
            found.extend(rows.into_iter().map(<(Uuid, Existing)>::from));
        }
        Ok(found)
    }

    async fn write(&mut self, plan: &CommitPlan) -> Result<(), StorageError> {
        for chunk in chunks(&plan.events) {
            common::insert_events(chunk)
                .build()
                .execute(&mut *self.tx)
                .await?;
        }
        for chunk in chunks(&plan.nodes) {
            common::insert_nodes(chunk)
                .build()
                .execute(&mut *self.tx)
                .await?;
        }
        sqlx::query(common::UPDATE_HEAD)
            .bind(plan.frontier.size() as i64)
            .bind(plan.frontier.to_bytes())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StorageError> {
        Ok(self.tx.commit().await?)
    }
}
