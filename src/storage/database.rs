//! A database as the wiring sees it: every port the owners declare on one connection pool,
//! and why opening one can fail.

use std::time::Duration;

use async_trait::async_trait;

use crate::idempotency::KeyStore;
use crate::log::StorageError;
use crate::log::store::LogStore;
use crate::projections::store::ProjectionStore;
use crate::scans::ScanStore;
use crate::sessions::SessionStore;
use crate::witnessing::WitnessStore;

/// One database: every port on it, and closing it.
#[async_trait]
pub trait Database:
    LogStore + ProjectionStore + ScanStore + SessionStore + KeyStore + WitnessStore
{
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

/// How long a request waits for a database connection before it is refused with 503: short,
/// so that an unreachable database is answered within two seconds, not hung on.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// An engine error is unavailability when the database could not be reached or cannot take
/// the write (connection lost or refused, no connection in time, out of space, read-only):
/// the owners answer it with 503 and a retry. Any other is a database error; the conditions
/// the owners act on are mapped where they arise.
impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> StorageError {
        if unreachable(&error) {
            StorageError::Unavailable(error.to_string())
        } else {
            StorageError::Database(Box::new(error))
        }
    }
}

fn unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// PostgreSQL's five-character SQLSTATEs: class 08 (connection exception), 53 (insufficient
/// resources: disk full, out of memory, too many connections), 57P (the server shutting down
/// or starting), 25006 (a read-only transaction, as on a standby). SQLite's numeric result
/// codes, whose low byte is the primary code: 8 READONLY, 10 IOERR, 13 FULL, 14 CANTOPEN.
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("57P")
            || code == "25006"
    } else {
        code.parse::<u32>()
            .is_ok_and(|c| matches!(c & 0xff, 8 | 10 | 13 | 14))
    }
}

#[cfg(test)]
mod tests {
    use super::unavailable_code;

    #[test]
    fn unreachable_databases_are_told_from_answering_ones_by_their_codes() {
        // PostgreSQL: connection failure, admin shutdown, cannot connect now, disk full,
        // too many connections, read-only transaction.
        for code in [
            "08006", "08001", "57P01", "57P03", "53100", "53300", "25006",
        ] {
            assert!(unavailable_code(code), "{code}");
        }
        // Unique and check violations, serialization failure, syntax error: the database
        // answered.
        for code in ["23505", "23514", "40001", "42601"] {
            assert!(!unavailable_code(code), "{code}");
        }
        // SQLite: READONLY, IOERR, FULL, CANTOPEN and an extended READONLY (DBMOVED, 1032);
        // CONSTRAINT (19), BUSY (5) and the extended UNIQUE constraint (2067) are not.
        for code in ["8", "10", "13", "14", "1032"] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["19", "5", "2067"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
