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
//!
//! Privacy: the file holds consumer reports, case notes and token hashes, so it is created
//! 0600 (its directory 0700) before SQLite opens it: SQLite would create it 0644 under the
//! usual umask, and gives the `-wal` and `-shm` files the database file's mode. A database,
//! `-wal` or `-shm` file that group or others can read is refused, like an exposed key.

use std::fs::{DirBuilder, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqlitePool, Transaction};
use tokio::sync::mpsc;

use super::circuit::Circuit;
use super::database::{ACQUIRE_TIMEOUT, OpenError};
use super::{backend, log as sql_log};
use crate::log::commit::CommitPlan;
use crate::log::records::{LockedHead, StorageError};
use crate::log::store::AppendTx;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
    circuit: Circuit,
}

impl SqliteStore {
    /// Opens (creating if missing, private, with its directory) and migrates the database at
    /// `url`; refuses database files that group or others can read.
    pub async fn open(url: &str) -> Result<SqliteStore, OpenError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if !in_memory(url) {
            create_private(options.get_filename())?;
            check_private(options.get_filename())?;
        }
        let pool = pool_options().connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore {
            pool,
            circuit: Circuit::default(),
        })
    }

    /// `BEGIN IMMEDIATE`: the write lock up front.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StorageError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// The pool's settings, apart from what it connects to.
///
/// A connection whose transaction SQLite ended by itself is closed rather than reused: when a
/// COMMIT fails for want of space or on an I/O error, SQLite rolls the transaction back, but
/// sqlx still counts it open, its ROLLBACK on drop fails ("no transaction is active"), and
/// every later `BEGIN` on that connection would be refused ("attempted to call begin_with at
/// non-zero transaction depth"), long after the disk has room again (the fault suite found
/// this: tests/faults). The check runs after the pool's ping on acquire, which has carried out
/// any rollback queued when a transaction was dropped, so only such connections count as in a
/// transaction here.
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .before_acquire(|connection, _| {
            Box::pin(async move { Ok(!connection.is_in_transaction()) })
        })
}

/// Whether the URL names an in-memory database (`sqlite::memory:`, `?mode=memory`): no file.
fn in_memory(url: &str) -> bool {
    let (database, query) = url.split_once('?').unwrap_or((url, ""));
    database.ends_with(":memory:") || query.split('&').any(|pair| pair == "mode=memory")
}

/// Creates the database file empty with mode 0600 (an empty file is an empty SQLite
/// database), and its directory 0700, unless they exist; existing ones keep their modes.
fn create_private(path: &Path) -> Result<(), OpenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| OpenError::Directory {
                path: dir.display().to_string(),
                source,
            })?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(OpenError::File {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Refuses the database if it, its `-wal` or its `-shm` file is open to group or others,
/// naming the first such file.
fn check_private(path: &Path) -> Result<(), OpenError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        let mode = match std::fs::metadata(file) {
            Ok(metadata) => metadata.permissions().mode(),
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(OpenError::File {
                    path: file.display().to_string(),
                    source,
                });
            }
        };
        if mode & 0o077 != 0 {
            return Err(OpenError::Exposed {
                path: file.display().to_string(),
                mode: mode & 0o777,
            });
        }
    }
    Ok(())
}

struct SqliteAppend {
    tx: Transaction<'static, Sqlite>,
}

backend::impl_store! {
    engine: sqlite,
    store: SqliteStore {
        async fn begin_append(&self) -> Result<Box<dyn AppendTx>, StorageError> {
            let tx = self.circuit.run(self.begin_write()).await?;
            Ok(Box::new(SqliteAppend { tx }))
        }

        async fn follow_hints(&self, _hints: mpsc::Sender<()>) -> Result<(), StorageError> {
            Ok(())
        }
    },
    tx: SqliteAppend {
        async fn head(&mut self) -> Result<LockedHead, StorageError> {
            // `BEGIN IMMEDIATE` already holds the write lock.
            sql_log::sqlite::locked_head(&mut self.tx, "").await
        }

        async fn write(&mut self, plan: &CommitPlan) -> Result<(), StorageError> {
            sql_log::sqlite::write_plan(&mut self.tx, plan).await
        }
    },
}

#[cfg(test)]
mod tests {
    use super::{in_memory, pool_options};

    #[tokio::test]
    async fn a_connection_whose_transaction_sqlite_ended_itself_is_not_reused() {
        // One connection, so a reused one would be this one. A ROLLBACK that sqlx does not see
        // stands for the rollback SQLite does by itself when a COMMIT finds the disk full.
        let pool = pool_options()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
        drop(tx);
        let tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .expect("a transaction on a fresh connection");
        tx.commit().await.unwrap();
    }

    #[test]
    fn only_in_memory_urls_name_no_file() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://x.db?mode=memory",
        ] {
            assert!(in_memory(url), "{url}");
        }
        for url in [
            "sqlite://data/marktrace.db",
            "sqlite:///var/lib/m.db?mode=rwc",
        ] {
            assert!(!in_memory(url), "{url}");
        }
    }
}
