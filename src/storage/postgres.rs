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

use super::common;
use super::{AppendTx, LockedHead, StorageError, Store, StoredCheckpoint, StoredTile};
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
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(PgConnectOptions::from_str(url)?)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool })
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StorageError> {
        Ok(self.pool.begin().await?)
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin_append(&self) -> Result<Box<dyn AppendTx>, StorageError> {
        Ok(Box::new(PgAppend {
            tx: self.begin().await?,
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
        common::projection_position(&self.pool, name).await
    }

    async fn commit_projection(
        &self,
        name: &str,
        from: u64,
        to: u64,
        writes: &[ProjectionWrite],
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin().await?;
        let applied =
            common::apply_projection::<Postgres>(&mut *tx, name, from, to, writes).await?;
        tx.commit().await?;
        Ok(applied)
    }

    async fn reset_projection(&self, name: &str) -> Result<(), StorageError> {
        let mut tx = self.begin().await?;
        common::reset_projection::<Postgres>(&mut *tx, name).await?;
        Ok(tx.commit().await?)
    }

    async fn event_type_counts(&self) -> Result<Vec<(String, u64)>, StorageError> {
        common::event_type_counts(&self.pool).await
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
    async fn head(&mut self) -> Result<LockedHead, StorageError> {
        let locked = format!("{} FOR UPDATE OF log_head", common::HEAD_WITH_CHECKPOINT);
        let (size, frontier, root): (i64, Vec<u8>, Option<Vec<u8>>) =
            sqlx::query_as(&locked).fetch_one(&mut *self.tx).await?;
        Ok(LockedHead {
            frontier: common::frontier_from(size, &frontier)?,
            checkpointed_root: common::checkpointed_root(root)?,
        })
    }

    async fn stream_versions(
        &mut self,
        streams: &[&str],
    ) -> Result<HashMap<String, u64>, StorageError> {
        common::stream_versions::<Postgres>(&mut *self.tx, streams).await
    }

    async fn existing(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, Existing>, StorageError> {
        common::existing::<Postgres>(&mut *self.tx, ids).await
    }

    async fn write(&mut self, plan: &CommitPlan) -> Result<(), StorageError> {
        common::write_plan::<Postgres>(&mut *self.tx, plan).await?;
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
