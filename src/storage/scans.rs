//! The scan table's SQL, for the [`ScanStore`](crate::scans::ScanStore) port: group-committed
//! inserts, the recent scans of many serials in one statement, PostgreSQL's monthly
//! partitions, and the retention purge.
//!
//! # Partitions (PostgreSQL)
//! `scans` is partitioned by range of `scanned_at`, one partition per month (`scans_YYYY_MM`,
//! bounds `'YYYY-MM-01'` as text) and a default partition (`scans_default`) for scans no month
//! covers (migrations/postgres/0011_scans_by_month.sql). [`add_partitions`](postgres::add_partitions)
//! creates months ahead; retention drops months that ended before the cutoff
//! ([`drop_partitions`](postgres::drop_partitions)) and deletes the default partition's older
//! scans in chunks, as SQLite deletes all of its own.
//!
//! The default partition is also the trap of range partitioning: PostgreSQL refuses to create
//! a partition for a range the default partition holds rows of (the default's constraint
//! would be broken). A month's partition is therefore made apart (`LIKE scans`), the scans of
//! its month moved into it from the default partition, and then attached, all in one
//! transaction that holds the default partition locked, so no scan of that month can slip in
//! between. The default partition is normally empty, so the move costs nothing; it matters after
//! the upkeep could not run for months, or for a node whose clock ran ahead.
//!
//! Locks are bounded: the upkeep waits at most [`LOCK_TIMEOUT`] for a table lock, then gives up
//! until the next hour rather than queue the scan writer and detection behind it. Making a
//! month holds the default partition exclusively (detection's reads, which always include it,
//! wait those milliseconds) and locks `scans` itself only against other schema changes (SHARE
//! UPDATE EXCLUSIVE), so the scan writer's inserts into the current month go on. Dropping a
//! month locks `scans` exclusively for a moment, once a month.

use sqlx::{Database, Executor, Pool};
use time::Date;

use super::sql::{chunks, value_rows};
use crate::domain::region::RegionCode;
use crate::domain::verdict::Verdict;
use crate::log::StorageError;
use crate::scans::{MONTHS_AHEAD, Scan, ScanDay, ScanTotal, StoredScan};

/// The newest scans of each serial in a list: `{serials}` is the engine's set of the serials
/// in the first parameter (a JSON array for SQLite's `json_each`, an array literal for
/// PostgreSQL), so the statement's text is the same for any number of serials and prepared
/// once; the second parameter is the oldest time read, which lets PostgreSQL skip the months
/// before it (at planning, or when the generic plan starts: "Subplans Removed"); `{limit}` is
/// the per-serial bound (a number from code, never from a request).
const SELECT_SCANS: &str = "SELECT scan_id, serial, scanned_at, region, verdict, client FROM \
     (SELECT scan_id, serial, scanned_at, region, verdict, client, ROW_NUMBER() OVER \
     (PARTITION BY serial ORDER BY scanned_at DESC, scan_id DESC) AS newest \
     FROM scans WHERE {serials} AND scanned_at >= $2) ranked WHERE newest <= {limit} \
     ORDER BY serial, scanned_at DESC, scan_id DESC";

/// The scans of one time range counted by serial and region, for the first `$4` serials above
/// `$3` that have any. The serials' subquery and the outer query read the same range, so
/// PostgreSQL prunes the months outside it in both; `COALESCE` puts scans without a region
/// first on either engine (NULLs sort first in SQLite, last in PostgreSQL).
const SCAN_TOTALS: &str = "SELECT serial, region, COUNT(*), MAX(scanned_at) FROM scans \
     WHERE scanned_at >= $1 AND scanned_at < $2 AND serial > $3 AND serial <= \
     (SELECT MAX(serial) FROM (SELECT DISTINCT serial FROM scans \
     WHERE scanned_at >= $1 AND scanned_at < $2 AND serial > $3 ORDER BY serial LIMIT $4) page) \
     GROUP BY serial, region ORDER BY serial, COALESCE(region, '')";

/// Most scans one purge transaction deletes: a retention purge of a busy day's millions of
/// scans in one transaction would hold SQLite's single write lock for seconds, stalling the
/// log writer and the scan recorder behind it.
pub const PURGE_CHUNK: u64 = 10_000;

const PURGE_SCANS: &str = "DELETE FROM scans WHERE scan_id IN \
     (SELECT scan_id FROM scans WHERE scanned_at < $1 ORDER BY scanned_at LIMIT $2)";

/// PostgreSQL's chunk of the purge, in the default partition only (the months go whole). The
/// partition's key finds each row: `scan_id` alone has no index there.
const PURGE_DEFAULT: &str = "DELETE FROM scans_default WHERE (serial, scanned_at, scan_id) IN \
     (SELECT serial, scanned_at, scan_id FROM scans_default WHERE scanned_at < $1 \
     ORDER BY scanned_at LIMIT $2)";

/// How long the partition upkeep waits for a table lock before it gives up until next time.
const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '1s'";

/// Taken by the node that does the partition upkeep, so that nodes do not race to create or
/// drop the same month; a node that finds it taken leaves the upkeep to the holder. The key is
/// arbitrary, fixed, and used for nothing else.
const UPKEEP_LOCK: &str = "SELECT pg_try_advisory_xact_lock(7305150011)";

/// One month's partition: made apart, the default partition's scans of that month moved in,
/// then attached (see the module's doc for why not `CREATE TABLE ... PARTITION OF`).
const ADD_PARTITION: &str = "LOCK TABLE scans_default IN ACCESS EXCLUSIVE MODE; \
     CREATE TABLE {table} (LIKE scans); \
     WITH moved AS (DELETE FROM scans_default \
     WHERE scanned_at >= '{from}' AND scanned_at < '{to}' RETURNING *) \
     INSERT INTO {table} SELECT * FROM moved; \
     ALTER TABLE scans ATTACH PARTITION {table} FOR VALUES FROM ('{from}') TO ('{to}')";

/// The partitions of `scans` whose upper bound is at or before `$1`, oldest first, read from
/// the catalog (`FOR VALUES FROM ('…') TO ('…')`), so a month made by hand counts as well; the
/// default partition has no bound and never matches.
const EXPIRED_PARTITIONS: &str = "SELECT quote_ident(relname) FROM \
     (SELECT c.relname, substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''(.*)''\\)') \
     COLLATE \"C\" AS until FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
     WHERE i.inhparent = 'scans'::regclass) bounded WHERE until <= $1 ORDER BY until";

/// A calendar month, and on PostgreSQL the partition of its scans: those recorded from the
/// first day of the month up to the first day of the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Month {
    year: i32,
    month: time::Month,
}

impl Month {
    fn of(day: Date) -> Month {
        Month {
            year: day.year(),
            month: day.month(),
        }
    }

    /// `day`'s month and the [`MONTHS_AHEAD`] after it.
    fn ahead(day: Date) -> Vec<Month> {
        std::iter::successors(Some(Month::of(day)), |m| Some(m.next()))
            .take(MONTHS_AHEAD as usize + 1)
            .collect()
    }

    fn next(self) -> Month {
        Month {
            year: self.year + i32::from(self.month == time::Month::December),
            month: self.month.next(),
        }
    }

    /// `scans_2026_12`, as the migration names the months it makes.
    fn table(self) -> String {
        format!("scans_{:04}_{:02}", self.year, self.month as u8)
    }

    /// `2026-12-01`: before every timestamp of the month, after every one of the month before.
    fn start(self) -> String {
        format!("{:04}-{:02}-01", self.year, self.month as u8)
    }
}

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

    /// Up to `limit` scans of each serial recorded at or after `since`, newest first within a
    /// serial, in one statement whatever the number of serials: detection reads a whole
    /// batch's cold serials at once.
    pub async fn scans_of(
        pool: &Pool<DB>,
        serials: &[u64],
        since: &str,
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
            "SQLite" => ("serial IN (SELECT value FROM json_each($1))", format!("[{list}]")),
            _ => ("serial = ANY($1::text::bigint[])", format!("{{{list}}}")),
        };
        let sql = SELECT_SCANS
            .replace("{serials}", set)
            .replace("{limit}", &limit.to_string());
        sqlx::query_as::<DB, ScanRow>(&sql)
            .bind(list)
            .bind(since)
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

    /// The scans of `[from, until)` counted by serial and region, a page of `limit` serials
    /// after `after`.
    pub async fn scan_totals(
        pool: &Pool<DB>,
        from: &str,
        until: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<ScanTotal>, StorageError> {
        let rows: Vec<(i64, Option<String>, i64, String)> = sqlx::query_as(SCAN_TOTALS)
            .bind(from)
            .bind(until)
            .bind(after as i64)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
        rows.into_iter()
            .map(|(serial, region, scans, last_at)| {
                let region = region
                    .map(|c| RegionCode::parse(&c))
                    .transpose()
                    .map_err(|e| StorageError::Corrupt(format!("scan of {serial}: {e}")))?;
                Ok(ScanTotal {
                    // The serial's bits, as `insert_scans` stored them.
                    serial: serial as u64,
                    region,
                    scans: scans as u64,
                    last_at,
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

    /// Creates the partitions of `today`'s month and the [`MONTHS_AHEAD`] after it that do not
    /// exist, in one transaction; returns their names. Nothing on SQLite, or while another
    /// node does the upkeep.
    pub async fn add_partitions(pool: &Pool<DB>, today: Date) -> Result<Vec<String>, StorageError> {
        if DB::NAME == "SQLite" {
            return Ok(Vec::new());
        }
        let mut tx = pool.begin().await?;
        if !upkeep(&mut tx).await? {
            return Ok(Vec::new());
        }
        let mut created = Vec::new();
        for month in Month::ahead(today) {
            let table = month.table();
            let (exists,): (bool,) = sqlx::query_as("SELECT to_regclass($1) IS NOT NULL")
                .bind(&table)
                .fetch_one(&mut *tx)
                .await?;
            if exists {
                continue;
            }
            let sql = ADD_PARTITION
                .replace("{table}", &table)
                .replace("{from}", &month.start())
                .replace("{to}", &month.next().start());
            tx.execute(sql.as_str()).await?;
            created.push(table);
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Drops the partitions whose every scan was recorded before `before` (upper bound at or
    /// before it), in one transaction; returns their names, oldest first. Nothing on SQLite,
    /// or while another node does the upkeep.
    pub async fn drop_partitions(pool: &Pool<DB>, before: &str) -> Result<Vec<String>, StorageError> {
        if DB::NAME == "SQLite" {
            return Ok(Vec::new());
        }
        let mut tx = pool.begin().await?;
        if !upkeep(&mut tx).await? {
            return Ok(Vec::new());
        }
        let expired: Vec<(String,)> = sqlx::query_as(EXPIRED_PARTITIONS)
            .bind(before)
            .fetch_all(&mut *tx)
            .await?;
        let expired: Vec<String> = expired.into_iter().map(|(table,)| table).collect();
        for table in &expired {
            tx.execute(format!("DROP TABLE {table}").as_str()).await?;
        }
        tx.commit().await?;
        Ok(expired)
    }

    /// Takes the upkeep lock for the transaction and bounds its lock waits; false if another
    /// node holds the lock.
    async fn upkeep(conn: &mut Conn) -> Result<bool, StorageError> {
        let (ours,): (bool,) = sqlx::query_as(UPKEEP_LOCK).fetch_one(&mut *conn).await?;
        if ours {
            sqlx::query(LOCK_TIMEOUT).execute(&mut *conn).await?;
        }
        Ok(ours)
    }

    /// Deletes up to [`PURGE_CHUNK`] of the oldest scans recorded before `before`, inside the
    /// caller's transaction (on PostgreSQL, those of the default partition); returns how many
    /// it deleted.
    pub async fn purge_scans(conn: &mut Conn, before: &str) -> Result<u64, StorageError> {
        let sql = match DB::NAME {
            "SQLite" => PURGE_SCANS,
            _ => PURGE_DEFAULT,
        };
        let done = sqlx::query(sql)
            .bind(before)
            .bind(PURGE_CHUNK as i64)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_month_is_named_and_bounded_as_the_migration_does_it() {
        let december = Month::of(date!(2026 - 12 - 31));
        assert_eq!(december.table(), "scans_2026_12");
        assert_eq!(december.start(), "2026-12-01");
        assert_eq!(
            december.next().start(),
            "2027-01-01",
            "December ends in January"
        );
        // The bounds take every timestamp of the month and none of the next.
        assert!(december.start().as_str() < "2026-12-01T00:00:00.000000Z");
        assert!(december.next().start().as_str() > "2026-12-31T23:59:59.999999Z");
        assert!(december.next().start().as_str() < "2027-01-01T00:00:00.000000Z");
    }

    #[test]
    fn partitions_are_made_for_this_month_and_the_two_after_it() {
        let tables: Vec<String> = Month::ahead(date!(2026 - 11 - 15))
            .into_iter()
            .map(Month::table)
            .collect();
        assert_eq!(tables, ["scans_2026_11", "scans_2026_12", "scans_2027_01"]);
    }
}
