//! The witnessing tables' SQL, for the [`WitnessStore`](crate::witnessing::WitnessStore)
//! port. A witness's record of a log moves by compare-and-set on its size: an `UPDATE … WHERE
//! size = old`, or for a log never cosigned an `INSERT … ON CONFLICT DO NOTHING`, so of two
//! racing requests from one old size exactly one wins.

use sqlx::Pool;

use crate::log::StorageError;
use crate::witnessing::{Cosignature, Witnessed};

#[derive(sqlx::FromRow)]
pub struct WitnessedRow {
    origin: String,
    size: i64,
    root: String,
    checkpoint: String,
    updated_at: String,
}

impl From<WitnessedRow> for Witnessed {
    fn from(r: WitnessedRow) -> Witnessed {
        Witnessed {
            origin: r.origin,
            size: r.size as u64,
            root: r.root,
            checkpoint: r.checkpoint,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct CosignatureRow {
    size: i64,
    witness: String,
    line: String,
}

/// Sizes are stored as the engines' signed 64-bit integers; a tree never reaches 2^63.
fn size(n: u64) -> Result<i64, StorageError> {
    i64::try_from(n).map_err(|_| StorageError::Corrupt(format!("tree size {n} beyond 2^63")))
}

super::sql::per_engine! {
    pub async fn witnessed(pool: &Pool<DB>, origin: &str) -> Result<Option<Witnessed>, StorageError> {
        let row: Option<WitnessedRow> = sqlx::query_as(
            "SELECT origin, size, root, checkpoint, updated_at FROM witnessed_logs \
             WHERE origin = $1",
        )
        .bind(origin)
        .fetch_optional(pool)
        .await?;
        Ok(row.map(Witnessed::from))
    }

    pub async fn advance_witnessed(
        pool: &Pool<DB>,
        old: u64,
        next: &Witnessed,
    ) -> Result<bool, StorageError> {
        let moved = sqlx::query(
            "UPDATE witnessed_logs SET size = $1, root = $2, checkpoint = $3, updated_at = $4 \
             WHERE origin = $5 AND size = $6",
        )
        .bind(size(next.size)?)
        .bind(next.root.as_str())
        .bind(next.checkpoint.as_str())
        .bind(next.updated_at.as_str())
        .bind(next.origin.as_str())
        .bind(size(old)?)
        .execute(pool)
        .await?;
        if moved.rows_affected() == 1 || old != 0 {
            return Ok(moved.rows_affected() == 1);
        }
        let first = sqlx::query(
            "INSERT INTO witnessed_logs (origin, size, root, checkpoint, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (origin) DO NOTHING",
        )
        .bind(next.origin.as_str())
        .bind(size(next.size)?)
        .bind(next.root.as_str())
        .bind(next.checkpoint.as_str())
        .bind(next.updated_at.as_str())
        .execute(pool)
        .await?;
        Ok(first.rows_affected() == 1)
    }

    pub async fn add_cosignature(
        pool: &Pool<DB>,
        cosignature: &Cosignature,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO log_cosignatures (size, witness, line) VALUES ($1, $2, $3) \
             ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line",
        )
        .bind(size(cosignature.size)?)
        .bind(cosignature.witness.as_str())
        .bind(cosignature.line.as_str())
        .execute(pool)
        .await?;
        Ok(())
    }

    pub async fn cosignatures(pool: &Pool<DB>, n: u64) -> Result<Vec<Cosignature>, StorageError> {
        let rows: Vec<CosignatureRow> = sqlx::query_as(
            "SELECT size, witness, line FROM log_cosignatures WHERE size = $1 ORDER BY witness",
        )
        .bind(size(n)?)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Cosignature {
                size: r.size as u64,
                witness: r.witness,
                line: r.line,
            })
            .collect())
    }

    pub async fn last_cosigned(pool: &Pool<DB>, witness: &str) -> Result<Option<u64>, StorageError> {
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(size) FROM log_cosignatures WHERE witness = $1")
                .bind(witness)
                .fetch_one(pool)
                .await?;
        Ok(last.map(|n| n as u64))
    }

    pub async fn newest_cosigned(pool: &Pool<DB>, quorum: u32) -> Result<Option<u64>, StorageError> {
        let newest: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(size) FROM (SELECT size FROM log_cosignatures GROUP BY size \
             HAVING COUNT(*) >= $1) AS cosigned",
        )
        .bind(i64::from(quorum))
        .fetch_one(pool)
        .await?;
        Ok(newest.map(|n| n as u64))
    }
}
