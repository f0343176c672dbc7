//! The scan table's SQL, for the [`ScanStore`](crate::scans::ScanStore) port: group-committed
//! inserts, the recent scans of many serials in one statement, and the retention purge.

use sqlx::{Database, Pool};

use super::sql::{chunks, value_rows};
use crate::domain::region::RegionCode;
use crate::domain::verdict::Verdict;
use crate::log::StorageError;
use crate::scans::{Scan, ScanDay, StoredScan};

/// The newest scans of each serial in a list: `{serials}` is the engine's set of the serials
/// in the one parameter (a JSON array for SQLite's `json_each`, an array literal for
/// PostgreSQL), so the statement's text is the same for any number of serials and prepared
/// once; `{limit}` is the per-serial bound (a number from code, never from a request).
const SELECT_SCANS: &str = "SELECT scan_id, serial, scanned_at, region, verdict, client FROM \
     (SELECT scan_id, serial, scanned_at, region, verdict, client, ROW_NUMBER() OVER \
     (PARTITION BY serial ORDER BY scanned_at DESC, scan_id DESC) AS newest \
     FROM scans WHERE {serials}) ranked WHERE newest <= {limit} \
     ORDER BY serial, scanned_at DESC, scan_id DESC";

/// Most scans one purge transaction deletes: a retention purge of a busy day's millions of
/// scans in one transaction would hold SQLite's single write lock for seconds, stalling the
/// log writer and the scan recorder behind it.
pub const PURGE_CHUNK: u64 = 10_000;

const PURGE_SCANS: &str = "DELETE FROM scans WHERE scan_id IN \
     (SELECT scan_id FROM scans WHERE scanned_at < $1 ORDER BY scanned_at LIMIT $2)";

// Rows and their mapping; a stored value that does not fit its type is
// `StorageError::Corrupt`, never a panic.

#[derive(sqlx::FromRow)]
pub struct ScanRow {
    scan_id: i64,
    serial: i64,
    scanned_at: String,
    region: Option<String>,
    verdict: String,
    client: String,
}

impl TryFrom<ScanRow> for StoredScan {
    type Error = StorageError;

    fn try_from(r: ScanRow) -> Result<StoredScan, StorageError> {
        let corrupt = |what: String| StorageError::Corrupt(format!("scan {}: {what}", r.scan_id));
        Ok(StoredScan {
            scan_id: u64::try_from(r.scan_id).map_err(|_| corrupt("negative id".into()))?,
            scan: Scan {
                // The serial's bits, as `insert_scans` stored them.
                serial: r.serial as u64,
                region: r
                    .region
                    .map(|c| RegionCode::parse(&c).map_err(|e| corrupt(e.to_string())))
                    .transpose()?,
                verdict: verdict_from(&r.verdict).ok_or_else(|| corrupt(r.verdict.clone()))?,
                scanned_at: r.scanned_at,
                client: r.client,
            },
        })
    }
}

/// A verdict from its stored name. `Verdict` only serialises, so its names are matched here
/// against the one spelling it writes.
fn verdict_from(name: &str) -> Option<Verdict> {
    [
        Verdict::Forged,
        Verdict::Altered,
        Verdict::Void,
        Verdict::Revoked,
        Verdict::Suspended,
        Verdict::Genuine,
    ]
    .into_iter()
    .find(|v| v.as_str() == name)
}

super::sql::per_engine! {
    /// Inserts scans inside the caller's transaction, in multi-row statements. A serial is stored
    /// as the `i64` with the same bits, so every `u64` round-trips.
    pub async fn insert_scans(
        conn: &mut Conn,
        scans: &[Scan],
    ) -> Result<(), StorageError> {
        for chunk in chunks(scans) {
            let sql = format!(
                "INSERT INTO scans (serial, scanned_at, region, verdict, client) VALUES {}",
                value_rows::<DB>(chunk.len(), 5)
            );
            let mut query = sqlx::query(&sql).persistent(false);
            for scan in chunk {
                query = query
                    .bind(scan.serial as i64)
                    .bind(scan.scanned_at.as_str())
                    .bind(scan.region.map(|r| r.to_string()))
                    .bind(scan.verdict.as_str())
                    .bind(scan.client.as_str());
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Up to `limit` scans of each serial, newest first within a serial, in one statement
    /// whatever the number of serials: detection reads a whole batch's cold serials at once.
    pub async fn scans_of(
        pool: &Pool<DB>,
        serials: &[u64],
        limit: u32,
    ) -> Result<Vec<StoredScan>, StorageError> {
        if serials.is_empty() {
            return Ok(Vec::new());
        }
        let list = serials
            .iter()
            .map(|s| (*s as i64).to_string())
            .collect::<Vec<_>>()
            .join(",");
        let (set, list) = match DB::NAME {
            "SQLite" => ("serial IN (SELECT value FROM json_each(?))", format!("[{list}]")),
            _ => ("serial = ANY($1::text::bigint[])", format!("{{{list}}}")),
        };
        let sql = SELECT_SCANS
            .replace("{serials}", set)
            .replace("{limit}", &limit.to_string());
        sqlx::query_as::<DB, ScanRow>(&sql)
            .bind(list)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(StoredScan::try_from)
            .collect()
    }

    /// A serial's scans counted by day (the timestamp's date) and region.
    pub async fn scan_days(pool: &Pool<DB>, serial: u64) -> Result<Vec<ScanDay>, StorageError> {
        let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT SUBSTR(scanned_at, 1, 10) AS day, region, COUNT(*) FROM scans \
             WHERE serial = $1 GROUP BY day, region ORDER BY day, region",
        )
        .bind(serial as i64)
        .fetch_all(pool)
        .await?;
        rows.into_iter()
            .map(|(day, region, scans)| {
                let region = region
                    .map(|c| RegionCode::parse(&c))
                    .transpose()
                    .map_err(|e| StorageError::Corrupt(format!("scan of {serial}: {e}")))?;
                Ok(ScanDay {
                    day,
                    region,
                    scans: scans as u64,
                })
            })
            .collect()
    }

    pub async fn scan_count(pool: &Pool<DB>) -> Result<u64, StorageError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM scans")
            .fetch_one(pool)
            .await?;
        Ok(count as u64)
    }

    /// Deletes up to [`PURGE_CHUNK`] of the oldest scans recorded before `before`, inside the
    /// caller's transaction; returns how many it deleted.
    pub async fn purge_scans(conn: &mut Conn, before: &str) -> Result<u64, StorageError> {
        let done = sqlx::query(PURGE_SCANS)
            .bind(before)
            .bind(PURGE_CHUNK as i64)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected())
    }
}
