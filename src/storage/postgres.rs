//! PostgreSQL, for deployments with several API nodes behind a load balancer.
//!
//! Every append transaction locks the single `log_head` row `FOR UPDATE`; that one lock orders
//! all appends of all processes, so indexes are contiguous and in commit order without a
//! sequence (sequences hand out numbers that a rolled-back transaction leaves as gaps). The
//! transaction ends with `pg_notify`, delivered only on commit, which wakes followers on other
//! nodes; it is a hint only, and followers always catch up by index.

use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::common::{self, EventRow, ExistingRow, chunks};
use super::{AppendTx, StorageError, Store, projection_tables};
use crate::log::commit::{CommitPlan, Existing};
use crate::log::event::StoredEvent;
use crate::log::merkle::Frontier;
use crate::projections::ProjectionWrite;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The notification channel appends announce themselves on (payload: the new log size).
const CHANNEL: &str = "marktrace_log";

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<PgStore, StorageError> {
        PgStore::open_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with explicit options (tests use them to give each test its own schema).
    pub async fn open_with(options: PgConnectOptions) -> Result<PgStore, StorageError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin_append(&self) -> Result<Box<dyn AppendTx>, StorageError> {
        Ok(Box::new(PgAppend {
            tx: self.pool.begin().await?,
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

    async fn follow_hints(&self, hints: mpsc::Sender<()>) -> Result<(), StorageError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        loop {
            // `recv` reconnects by itself after a lost connection; notifications sent meanwhile
            // are lost, which followers tolerate because they poll by index as well. A full
            // channel means a wake-up is already pending, which covers this one too.
            listener.recv().await?;
            if hints.try_send(()).is_err() && hints.is_closed() {
                return Ok(());
            }
        }
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
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.pool.begin().await?;
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

struct PgAppend {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl AppendTx for PgAppend {
    async fn frontier(&mut self) -> Result<Frontier, StorageError> {
        let (size, bytes): (i64, Vec<u8>) =
            sqlx::query_as("SELECT size, frontier FROM log_head WHERE id = 0 FOR UPDATE")
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
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(plan.frontier.size().to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StorageError> {
        Ok(self.tx.commit().await?)
    }
}
