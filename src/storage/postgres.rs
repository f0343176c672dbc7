//! PostgreSQL, for deployments with several API nodes behind a load balancer.
//!
//! Every append transaction locks the single `log_head` row `FOR UPDATE`; that one lock orders
//! all appends of all processes, so indexes are contiguous and in commit order without a
//! sequence (sequences hand out numbers that a rolled-back transaction leaves as gaps). The
//! transaction ends with `pg_notify`, delivered only on commit, which wakes followers on other
//! nodes; it is a hint only, and followers always catch up by index.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::mpsc;

use super::circuit::Circuit;
use super::database::{ACQUIRE_TIMEOUT, OpenError};
use super::{backend, log as sql_log};
use crate::log::commit::CommitPlan;
use crate::log::records::{LockedHead, StorageError};
use crate::log::store::AppendTx;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The notification channel appends announce themselves on (payload: the new log size).
const CHANNEL: &str = "marktrace_log";

pub struct PgStore {
    pool: PgPool,
    circuit: Circuit,
}

impl PgStore {
    /// Connects to and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<PgStore, OpenError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(PgConnectOptions::from_str(url)?)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore {
            pool,
            circuit: Circuit::default(),
        })
    }

    /// A plain transaction: appends take the write lock by reading the head `FOR UPDATE`,
    /// and projection writes need none beyond their rows.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StorageError> {
        Ok(self.pool.begin().await?)
    }
}

struct PgAppend {
    tx: Transaction<'static, Postgres>,
}

backend::impl_store! {
    engine: postgres,
    store: PgStore {
        async fn begin_append(&self) -> Result<Box<dyn AppendTx>, StorageError> {
            let tx = self.circuit.run(self.begin_write()).await?;
            Ok(Box::new(PgAppend { tx }))
        }

        async fn follow_hints(&self, hints: mpsc::Sender<()>) -> Result<(), StorageError> {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(CHANNEL).await?;
            loop {
                // `recv` reconnects by itself after a lost connection; notifications sent
                // meanwhile are lost, which followers tolerate because they poll by index as
                // well. A full channel means a wake-up is already pending, covering this one.
                listener.recv().await?;
                if hints.try_send(()).is_err() && hints.is_closed() {
                    return Ok(());
                }
            }
        }
    },
    tx: PgAppend {
        async fn head(&mut self) -> Result<LockedHead, StorageError> {
            sql_log::postgres::locked_head(&mut self.tx, " FOR UPDATE").await
        }

        async fn write(&mut self, plan: &CommitPlan) -> Result<(), StorageError> {
            sql_log::postgres::write_plan(&mut self.tx, plan).await?;
            // Delivered on commit only: wakes followers on other nodes.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(plan.frontier.size().to_string())
                .execute(&mut *self.tx)
                .await?;
            Ok(())
        }
    },
}
