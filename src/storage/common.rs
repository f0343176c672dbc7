//! The SQL both engines share, written once over sqlx's `Database` trait. Fixed statements
//! use `$n` parameters, which SQLite accepts as numbered parameters too, so one text serves
//! both; multi-row statements are generated per engine (see [`value_rows`]). The backends add
//! only what differs: connecting, taking the write lock, and announcing appends.
//!
//! The `where` clauses repeat sqlx's requirements for each generic function (that a pool or
//! connection executes queries, that our rows decode and our values encode); they hold for
//! both engines and carry no logic.

use std::collections::HashMap;

use sqlx::database::HasStatementCache;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};
use uuid::Uuid;

use super::rows::{
    CertificateRow, EnterpriseRow, EventRow, ExistingRow, IssuerKeyRow, IssuerRow, ScanRow,
    TokenRow, frontier_from, hash_from, into_checkpoints, into_events,
};
use super::{
    CertificateFilter, EnterpriseFilter, IssuerFilter, KeyFilter, LockedHead, StorageError,
    StoredCheckpoint, StoredTile, projection_tables,
};
use crate::access::TokenRecord;
use crate::domain::key::KeyStatus;
use crate::log::commit::{CommitPlan, Existing};
use crate::log::event::StoredEvent;
use crate::log::merkle::Frontier;
use crate::projections::ProjectionWrite;
use crate::projections::certificates::CertificateRecord;
use crate::projections::enterprises::EnterpriseRecord;
use crate::projections::issuer_keys::IssuerKeyRecord;
use crate::projections::issuers::IssuerRecord;
use crate::scans::{Scan, StoredScan};

/// Most rows per multi-row statement: at 14 parameters a row this stays under SQLite's 32,766
/// and PostgreSQL's 65,535 bound parameters.
const MAX_CHUNK: usize = 1024;

/// Splits rows into as few statements as the parameter limits allow. A multi-row statement's
/// text depends on its row count, so these statements are prepared for one use only
/// (`persistent(false)`) rather than crowding the connection's statement cache.
fn chunks<T>(rows: &[T]) -> std::slice::Chunks<'_, T> {
    rows.chunks(MAX_CHUNK)
}

/// The columns of [`EventRow`], in a macro so `concat!` can build statements from it.
macro_rules! event_columns {
    () => {
        "idx, event_id, stream, version, type, schema, data, data_sha256, actor, \
         correlation_id, causation_id, recorded_at, visibility, leaf_hash"
    };
}

const READ_LOG: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events WHERE idx >= $1 ORDER BY idx LIMIT $2"
);

const READ_STREAM: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3"
);

const LOG_HEAD: &str = "SELECT size, frontier FROM log_head WHERE id = 0";

/// The head and the root of the checkpoint stored for its size, if any; `postgres.rs` appends
/// `FOR UPDATE OF log_head` to take the write lock with it.
pub const HEAD_WITH_CHECKPOINT: &str = "SELECT log_head.size, log_head.frontier, checkpoints.root \
     FROM log_head LEFT JOIN checkpoints ON checkpoints.size = log_head.size WHERE log_head.id = 0";

const UPDATE_HEAD: &str = "UPDATE log_head SET size = $1, frontier = $2 WHERE id = 0";

const ENSURE_PROJECTION: &str = "INSERT INTO projection_positions (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING";

const PROJECTION_POSITION: &str = "SELECT position FROM projection_positions WHERE name = $1";

const ADVANCE_PROJECTION: &str = "UPDATE projection_positions SET position = $1 \
     WHERE name = $2 AND position = $3 RETURNING position";

const RESET_PROJECTION: &str = "UPDATE projection_positions SET position = 0 WHERE name = $1";

const COUNT_EVENT_TYPE: &str = "INSERT INTO projection_event_types (type, count) VALUES ($1, $2) \
     ON CONFLICT (type) DO UPDATE SET count = projection_event_types.count + excluded.count";

const PUT_TOKEN: &str = "INSERT INTO projection_tokens \
     (token_id, token_sha256, role, issuer, regions, note, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (token_id) DO NOTHING";

const REVOKE_TOKEN: &str = "UPDATE projection_tokens SET revoked_at = $1 \
     WHERE token_id = $2 AND revoked_at IS NULL";

const SELECT_TOKENS: &str = "SELECT token_id, token_sha256, role, issuer, regions, note, \
     created_at, revoked_at FROM projection_tokens";

const PUT_ISSUER: &str = "INSERT INTO projection_issuers \
     (issuer_id, name, brand, region, status, registered_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (issuer_id) DO NOTHING";

const SET_ISSUER_STATUS: &str =
    "UPDATE projection_issuers SET status = $1, updated_at = $2 WHERE issuer_id = $3";

const SELECT_ISSUERS: &str = "SELECT issuer_id, name, brand, region, status, registered_at, \
     updated_at FROM projection_issuers";

const PUT_ISSUER_KEY: &str = "INSERT INTO projection_issuer_keys (key_id, issuer_id, \
     public_key, not_before, not_after, endorsement, status, added_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key_id) DO NOTHING";

const SET_ISSUER_KEY_STATUS: &str =
    "UPDATE projection_issuer_keys SET status = $1, updated_at = $2 WHERE key_id = $3";

const SELECT_ISSUER_KEYS: &str = "SELECT k.key_id, k.issuer_id, k.public_key, k.not_before, \
     k.not_after, k.endorsement, k.status, k.added_at, k.updated_at, i.brand \
     FROM projection_issuer_keys k JOIN projection_issuers i ON i.issuer_id = k.issuer_id";

const PUT_ENTERPRISE: &str = "INSERT INTO projection_enterprises \
     (licence, uscc, legacy_code, name, region, registered_by, registered_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (licence) DO NOTHING";

const SELECT_ENTERPRISES: &str = "SELECT uscc, legacy_code, name, region, registered_by, \
     registered_at FROM projection_enterprises";

const PUT_CERTIFICATE: &str = "INSERT INTO projection_certificates (certificate_id, issuer, \
     enterprise_uscc, product_name, product_category, standard, scope, state, applied_at, \
     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (certificate_id) DO NOTHING";

const SET_CERTIFICATE_STATE: &str = "UPDATE projection_certificates SET state = $1, \
     updated_at = $2 WHERE certificate_id = $3";

const ISSUE_CERTIFICATE: &str = "UPDATE projection_certificates SET state = 'issued', \
     code = $1, valid_from = $2, valid_until = $3, updated_at = $4 WHERE certificate_id = $5";

const SELECT_CERTIFICATES: &str = "SELECT certificate_id, issuer, enterprise_uscc, \
     product_name, product_category, standard, scope, state, code, valid_from, valid_until, \
     applied_at, updated_at FROM projection_certificates";

/// The newest scans of each serial in a list: `{serials}` is the list's placeholders and
/// `{limit}` the per-serial bound (a number from code, never from a request).
const SELECT_SCANS: &str = "SELECT scan_id, serial, scanned_at, region, verdict, client FROM \
     (SELECT scan_id, serial, scanned_at, region, verdict, client, ROW_NUMBER() OVER \
     (PARTITION BY serial ORDER BY scanned_at DESC, scan_id DESC) AS newest \
     FROM scans WHERE serial IN ({serials})) ranked WHERE newest <= {limit} \
     ORDER BY serial, scanned_at DESC, scan_id DESC";

/// Most scans one purge transaction deletes: a retention purge of a busy day's millions of
/// scans in one transaction would hold SQLite's single write lock for seconds, stalling the
/// log writer and the scan recorder behind it.
pub const PURGE_CHUNK: u64 = 10_000;

const PURGE_SCANS: &str = "DELETE FROM scans WHERE scan_id IN \
     (SELECT scan_id FROM scans WHERE scanned_at < $1 ORDER BY scanned_at LIMIT $2)";

const EVENT_TYPE_COUNTS: &str = "SELECT type, count FROM projection_event_types ORDER BY type";

/// `($1, $2, ...), (...)`: `rows` tuples of `cols` parameters. SQLite gets anonymous `?`
/// parameters instead: sqlx looks up the name of every numbered SQLite parameter, and SQLite
/// finds a name by walking a list, which makes binding a 14,000-parameter INSERT quadratic.
fn value_rows<DB: Database>(rows: usize, cols: usize) -> String {
    use std::fmt::Write;
    let anonymous = DB::NAME == "SQLite";
    let mut sql = String::with_capacity(rows * cols * 6);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..cols {
            sql.push_str(if col == 0 { "" } else { ", " });
            if anonymous {
                sql.push('?');
            } else {
                let _ = write!(sql, "${}", row * cols + col + 1);
            }
        }
        sql.push(')');
    }
    sql
}

/// Reads the head and its checkpoint's root inside an append transaction; `sql` is
/// [`HEAD_WITH_CHECKPOINT`], with whatever locking clause the engine needs.
pub async fn locked_head<DB: Database>(
    conn: &mut DB::Connection,
    sql: &str,
) -> Result<LockedHead, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i64, Vec<u8>, Option<Vec<u8>>): FromRow<'r, DB::Row>,
{
    let (size, frontier, root): (i64, Vec<u8>, Option<Vec<u8>>) =
        sqlx::query_as(sql).fetch_one(&mut *conn).await?;
    Ok(LockedHead {
        frontier: frontier_from(size, &frontier)?,
        checkpointed_root: root
            .map(|r| hash_from(&r, "a checkpoint root"))
            .transpose()?,
    })
}

pub async fn log_head<DB: Database>(pool: &Pool<DB>) -> Result<Frontier, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i64, Vec<u8>): FromRow<'r, DB::Row>,
{
    let (size, bytes): (i64, Vec<u8>) = sqlx::query_as(LOG_HEAD).fetch_one(pool).await?;
    frontier_from(size, &bytes)
}

pub async fn read_log<DB: Database>(
    pool: &Pool<DB>,
    from: u64,
    limit: u32,
) -> Result<Vec<StoredEvent>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let rows: Vec<EventRow> = sqlx::query_as(READ_LOG)
        .bind(from as i64)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    into_events(rows)
}

pub async fn read_stream<DB: Database>(
    pool: &Pool<DB>,
    stream: &str,
    from: u64,
    limit: u32,
) -> Result<Vec<StoredEvent>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    let rows: Vec<EventRow> = sqlx::query_as(READ_STREAM)
        .bind(stream)
        .bind(from as i64)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    into_events(rows)
}

pub async fn read_tiles<DB: Database + HasStatementCache>(
    pool: &Pool<DB>,
    keys: &[(u8, u64)],
) -> Result<Vec<StoredTile>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i32, i64, Vec<u8>): FromRow<'r, DB::Row>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
{
    let mut conn = pool.acquire().await?;
    select_tiles::<DB>(&mut conn, keys).await
}

pub async fn select_tiles<DB: Database + HasStatementCache>(
    conn: &mut DB::Connection,
    keys: &[(u8, u64)],
) -> Result<Vec<StoredTile>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i32, i64, Vec<u8>): FromRow<'r, DB::Row>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
{
    let mut tiles = Vec::with_capacity(keys.len());
    for chunk in chunks(keys) {
        // A join, not `(level, idx) IN (VALUES ...)`: SQLite answers the join with primary-key
        // lookups but scans the whole table for the row-value IN.
        let sql = format!(
            "SELECT tiles.level, tiles.idx, tiles.hashes FROM (VALUES {}) AS keys \
             JOIN tiles ON tiles.level = keys.column1 AND tiles.idx = keys.column2",
            value_rows::<DB>(chunk.len(), 2)
        );
        let mut query = sqlx::query_as(&sql).persistent(false);
        for (level, index) in chunk {
            query = query.bind(i32::from(*level)).bind(*index as i64);
        }
        let rows: Vec<(i32, i64, Vec<u8>)> = query.fetch_all(&mut *conn).await?;
        tiles.extend(rows.into_iter().map(|(level, index, hashes)| StoredTile {
            level: level as u8,
            index: index as u64,
            hashes,
        }));
    }
    Ok(tiles)
}

pub async fn read_checkpoints<DB: Database>(
    pool: &Pool<DB>,
    from_size: u64,
    limit: u32,
) -> Result<Vec<StoredCheckpoint>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i64, Vec<u8>, String): FromRow<'r, DB::Row>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let rows: Vec<(i64, Vec<u8>, String)> = sqlx::query_as(
        "SELECT size, root, note FROM checkpoints WHERE size >= $1 ORDER BY size LIMIT $2",
    )
    .bind(from_size as i64)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    into_checkpoints(rows)
}

pub async fn latest_checkpoint<DB: Database>(
    pool: &Pool<DB>,
) -> Result<Option<StoredCheckpoint>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i64, Vec<u8>, String): FromRow<'r, DB::Row>,
{
    let rows: Vec<(i64, Vec<u8>, String)> =
        sqlx::query_as("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_all(pool)
            .await?;
    Ok(into_checkpoints(rows)?.pop())
}

pub async fn projection_position<DB: Database>(
    pool: &Pool<DB>,
    name: &str,
) -> Result<u64, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(ENSURE_PROJECTION)
        .bind(name)
        .execute(pool)
        .await?;
    let (position,): (i64,) = sqlx::query_as(PROJECTION_POSITION)
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(position as u64)
}

/// One token by id, or all tokens (`None`), from the `tokens` projection.
pub async fn tokens<DB: Database>(
    pool: &Pool<DB>,
    token_id: Option<&str>,
) -> Result<Vec<TokenRecord>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> TokenRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    let rows: Vec<TokenRow> = match token_id {
        Some(id) => {
            let sql = format!("{SELECT_TOKENS} WHERE token_id = $1");
            sqlx::query_as(&sql).bind(id).fetch_all(pool).await?
        }
        None => {
            let sql = format!("{SELECT_TOKENS} ORDER BY created_at, token_id");
            sqlx::query_as(&sql).fetch_all(pool).await?
        }
    };
    rows.into_iter().map(TokenRecord::try_from).collect()
}

/// A `SELECT` narrowed by optional equality and prefix conditions and paged by key: the
/// statement text and its values, bound in order.
struct Page {
    sql: String,
    binds: Vec<String>,
}

impl Page {
    fn new(select: &str) -> Page {
        Page {
            sql: format!("{select} WHERE 1 = 1"),
            binds: Vec::new(),
        }
    }

    /// Adds `AND <clause> $n` when there is a value.
    fn and(mut self, clause: &str, value: Option<String>) -> Page {
        if let Some(value) = value {
            self.binds.push(value);
            self.sql
                .push_str(&format!(" AND {clause} ${}", self.binds.len()));
        }
        self
    }

    /// Orders by `key`, after the previous page's last key, and limits the page.
    async fn fetch<DB: Database, R>(
        mut self,
        pool: &Pool<DB>,
        key: &str,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<R>, StorageError>
    where
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
        for<'r> R: FromRow<'r, DB::Row> + Send + Unpin,
        for<'q> String: Encode<'q, DB> + Type<DB>,
        for<'q> i64: Encode<'q, DB> + Type<DB>,
    {
        self = self.and(&format!("{key} >"), after);
        self.sql
            .push_str(&format!(" ORDER BY {key} LIMIT ${}", self.binds.len() + 1));
        let mut query = sqlx::query_as(&self.sql);
        for value in self.binds {
            query = query.bind(value);
        }
        Ok(query.bind(i64::from(limit)).fetch_all(pool).await?)
    }
}

/// Issuers matching a filter, by id, one page.
pub async fn issuers<DB: Database>(
    pool: &Pool<DB>,
    filter: &IssuerFilter,
) -> Result<Vec<IssuerRecord>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> IssuerRow: FromRow<'r, DB::Row>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let rows: Vec<IssuerRow> = Page::new(SELECT_ISSUERS)
        .and("issuer_id =", filter.id.clone())
        .and("status =", filter.status.map(|s| s.as_str().to_owned()))
        .and(
            "region LIKE",
            filter.region.map(|r| format!("{}%", r.covered_prefix())),
        )
        .fetch(pool, "issuer_id", filter.after.clone(), filter.limit)
        .await?;
    rows.into_iter().map(IssuerRecord::try_from).collect()
}

/// Issuer keys matching a filter, by key id, one page.
pub async fn issuer_keys<DB: Database>(
    pool: &Pool<DB>,
    filter: &KeyFilter,
) -> Result<Vec<IssuerKeyRecord>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> IssuerKeyRow: FromRow<'r, DB::Row>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let rows: Vec<IssuerKeyRow> = Page::new(SELECT_ISSUER_KEYS)
        .and("k.key_id =", filter.key_id.map(|id| id.to_string()))
        .and("k.issuer_id =", filter.issuer.clone())
        .and("k.status =", filter.status.map(|s| s.as_str().to_owned()))
        .fetch(pool, "k.key_id", filter.after.clone(), filter.limit)
        .await?;
    rows.into_iter().map(IssuerKeyRecord::try_from).collect()
}

/// The page key of a licence: by USCC, then issuer. Neither holds a `:`.
fn licence(uscc: &str, issuer: &str) -> String {
    format!("{uscc}:{issuer}")
}

/// Licensees matching a filter, by USCC then issuer, one page.
pub async fn enterprises<DB: Database>(
    pool: &Pool<DB>,
    filter: &EnterpriseFilter,
) -> Result<Vec<EnterpriseRecord>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> EnterpriseRow: FromRow<'r, DB::Row>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let rows: Vec<EnterpriseRow> = Page::new(SELECT_ENTERPRISES)
        .and("uscc =", filter.uscc.clone())
        .and("registered_by =", filter.registered_by.clone())
        .and(
            "region LIKE",
            filter.region.map(|r| format!("{}%", r.covered_prefix())),
        )
        .fetch(
            pool,
            "licence",
            filter.after.as_deref().map(after_licence),
            filter.limit,
        )
        .await?;
    rows.into_iter().map(EnterpriseRecord::try_from).collect()
}

/// The page key to resume after: `uscc:issuer` as given, or a plain USCC, which resumes after
/// every licence of that code (`~` sorts after every issuer id byte by byte).
fn after_licence(after: &str) -> String {
    if after.contains(':') {
        after.to_owned()
    } else {
        licence(after, "~")
    }
}

/// Certificates matching a filter, by id, one page.
pub async fn certificates<DB: Database>(
    pool: &Pool<DB>,
    filter: &CertificateFilter,
) -> Result<Vec<CertificateRecord>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> CertificateRow: FromRow<'r, DB::Row>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let rows: Vec<CertificateRow> = Page::new(SELECT_CERTIFICATES)
        .and("certificate_id =", filter.id.clone())
        .and("issuer =", filter.issuer.clone())
        .fetch(pool, "certificate_id", filter.after.clone(), filter.limit)
        .await?;
    rows.into_iter().map(CertificateRecord::try_from).collect()
}

pub async fn event_type_counts<DB: Database>(
    pool: &Pool<DB>,
) -> Result<Vec<(String, u64)>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
{
    let rows: Vec<(String, i64)> = sqlx::query_as(EVENT_TYPE_COUNTS).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(t, n)| (t, n as u64)).collect())
}

/// Applies a projection's writes and moves its position from `from` to `to`, inside the
/// caller's transaction; false (and nothing written) when the position is no longer `from`.
pub async fn apply_projection<DB: Database>(
    conn: &mut DB::Connection,
    name: &str,
    from: u64,
    to: u64,
    writes: &[ProjectionWrite],
) -> Result<bool, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
{
    let moved: Option<(i64,)> = sqlx::query_as(ADVANCE_PROJECTION)
        .bind(to as i64)
        .bind(name)
        .bind(from as i64)
        .fetch_optional(&mut *conn)
        .await?;
    if moved.is_none() {
        return Ok(false);
    }
    for write in writes {
        match write {
            ProjectionWrite::CountEvents { event_type, count } => {
                sqlx::query(COUNT_EVENT_TYPE)
                    .bind(event_type.as_str())
                    .bind(*count as i64)
                    .execute(&mut *conn)
                    .await?;
            }
            ProjectionWrite::PutToken(token) => {
                sqlx::query(PUT_TOKEN)
                    .bind(token.token_id.as_str())
                    .bind(token.token_sha256.as_str())
                    .bind(token.grant.role.as_str())
                    .bind(token.grant.issuer.as_deref())
                    .bind(
                        token
                            .grant
                            .regions
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                    )
                    .bind(token.note.as_deref())
                    .bind(token.created_at.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            ProjectionWrite::PutIssuer(issuer) => {
                let r = &issuer.registered;
                sqlx::query(PUT_ISSUER)
                    .bind(r.issuer_id.as_str())
                    .bind(r.name.as_str())
                    .bind(r.brand.as_str())
                    .bind(r.region.to_string())
                    .bind(issuer.status.as_str())
                    .bind(issuer.registered_at.as_str())
                    .bind(issuer.updated_at.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            ProjectionWrite::PutIssuerKey { added, added_at } => {
                use base64::Engine;
                let b64 = &base64::engine::general_purpose::STANDARD;
                sqlx::query(PUT_ISSUER_KEY)
                    .bind(added.key_id.to_string())
                    .bind(added.issuer_id.as_str())
                    .bind(b64.encode(added.public_key.as_bytes()))
                    .bind(added.not_before as i64)
                    .bind(added.not_after as i64)
                    .bind(b64.encode(added.endorsement.to_bytes()))
                    .bind(KeyStatus::Added.as_str())
                    .bind(added_at.as_str())
                    .bind(added_at.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            ProjectionWrite::SetIssuerKeyStatus {
                key_id,
                status,
                updated_at,
            } => {
                sqlx::query(SET_ISSUER_KEY_STATUS)
                    .bind(status.as_str())
                    .bind(updated_at.as_str())
                    .bind(key_id.to_string())
                    .execute(&mut *conn)
                    .await?;
            }
            ProjectionWrite::PutEnterprise(enterprise) => {
                let r = &enterprise.registered;
                sqlx::query(PUT_ENTERPRISE)
                    .bind(licence(&r.uscc, r.registered_by.as_str()))
                    .bind(r.uscc.as_str())
                    .bind(r.legacy_code)
                    .bind(r.name.as_str())
                    .bind(r.region.to_string())
                    .bind(r.registered_by.as_str())
                    .bind(enterprise.registered_at.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            ProjectionWrite::PutCertificate(c) => {
                let a = &c.applied;
                sqlx::query(PUT_CERTIFICATE)
                    .bind(a.certificate_id.as_str())
                    .bind(a.issuer.as_str())
                    .bind(a.enterprise_uscc.as_str())
                    .bind(a.product_name.as_str())
                    .bind(a.product_category.as_str())
                    .bind(a.standard.as_str())
                    .bind(a.scope.as_str())
                    .bind(c.state.as_str())
                    .bind(c.applied_at.as_str())
                    .bind(c.updated_at.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            ProjectionWrite::SetCertificateState {
                certificate_id,
                state,
                updated_at,
            } => {
                sqlx::query(SET_CERTIFICATE_STATE)
                    .bind(state.as_str())
                    .bind(updated_at.as_str())
                    .bind(certificate_id.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            ProjectionWrite::IssueCertificate {
                certificate_id,
                issued,
                updated_at,
            } => {
                sqlx::query(ISSUE_CERTIFICATE)
                    .bind(issued.code.as_str())
                    .bind(issued.valid_from.to_string())
                    .bind(issued.valid_until.to_string())
                    .bind(updated_at.as_str())
                    .bind(certificate_id.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            ProjectionWrite::SetIssuerStatus {
                issuer_id,
                status,
                updated_at,
            } => {
                sqlx::query(SET_ISSUER_STATUS)
                    .bind(status.as_str())
                    .bind(updated_at.as_str())
                    .bind(issuer_id.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            ProjectionWrite::RevokeToken {
                token_id,
                revoked_at,
            } => {
                sqlx::query(REVOKE_TOKEN)
                    .bind(revoked_at.as_str())
                    .bind(token_id.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(true)
}

/// Inserts scans inside the caller's transaction, in multi-row statements. A serial is stored
/// as the `i64` with the same bits, so every `u64` round-trips.
pub async fn insert_scans<DB: Database + HasStatementCache>(
    conn: &mut DB::Connection,
    scans: &[Scan],
) -> Result<(), StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
{
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

/// Up to `limit` scans of each serial, newest first within a serial, in statements of at
/// most [`MAX_CHUNK`] serials.
pub async fn scans_of<DB: Database + HasStatementCache>(
    pool: &Pool<DB>,
    serials: &[u64],
    limit: u32,
) -> Result<Vec<StoredScan>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> ScanRow: FromRow<'r, DB::Row>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let mut scans = Vec::new();
    for chunk in serials.chunks(MAX_CHUNK) {
        let placeholders: Vec<String> = (1..=chunk.len())
            .map(|n| match DB::NAME {
                "SQLite" => "?".to_owned(),
                _ => format!("${n}"),
            })
            .collect();
        let sql = SELECT_SCANS
            .replace("{serials}", &placeholders.join(", "))
            .replace("{limit}", &limit.to_string());
        let mut query = sqlx::query_as::<DB, ScanRow>(&sql).persistent(false);
        for serial in chunk {
            query = query.bind(*serial as i64);
        }
        for row in query.fetch_all(pool).await? {
            scans.push(StoredScan::try_from(row)?);
        }
    }
    Ok(scans)
}

pub async fn scan_count<DB: Database>(pool: &Pool<DB>) -> Result<u64, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
{
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM scans")
        .fetch_one(pool)
        .await?;
    Ok(count as u64)
}

/// Deletes up to [`PURGE_CHUNK`] of the oldest scans recorded before `before`, inside the
/// caller's transaction. Returns the engine's result, whose `rows_affected` the backend reads:
/// sqlx offers no generic way to.
pub async fn purge_scans<DB: Database>(
    conn: &mut DB::Connection,
    before: &str,
) -> Result<DB::QueryResult, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    Ok(sqlx::query(PURGE_SCANS)
        .bind(before)
        .bind(PURGE_CHUNK as i64)
        .execute(&mut *conn)
        .await?)
}

/// Empties a projection's tables and sets its position to 0, inside the caller's transaction.
pub async fn reset_projection<DB: Database>(
    conn: &mut DB::Connection,
    name: &str,
) -> Result<(), StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    for table in projection_tables(name) {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(RESET_PROJECTION)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn stream_versions<DB: Database + HasStatementCache>(
    conn: &mut DB::Connection,
    streams: &[&str],
) -> Result<HashMap<String, u64>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (String, Option<i64>): FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    let mut found = HashMap::new();
    for chunk in chunks(streams) {
        // One correlated MAX per stream: both engines answer each from the (stream, version)
        // index in O(log n), where a GROUP BY over an IN list scans every event of the stream.
        let sql = format!(
            "SELECT column1, (SELECT MAX(version) FROM events WHERE stream = column1) \
             FROM (VALUES {}) AS streams",
            value_rows::<DB>(chunk.len(), 1)
        );
        let mut query = sqlx::query_as(&sql).persistent(false);
        for stream in chunk {
            query = query.bind(*stream);
        }
        let rows: Vec<(String, Option<i64>)> = query.fetch_all(&mut *conn).await?;
        found.extend(rows.into_iter().filter_map(|(s, v)| Some((s, v? as u64))));
    }
    Ok(found)
}

pub async fn existing<DB: Database + HasStatementCache>(
    conn: &mut DB::Connection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Existing>, StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> ExistingRow: FromRow<'r, DB::Row>,
    for<'q> Uuid: Encode<'q, DB> + Type<DB>,
{
    let mut found = HashMap::new();
    for chunk in chunks(ids) {
        let sql = format!(
            "SELECT event_id, idx, stream, version, type, data_sha256 FROM events \
             WHERE event_id IN (SELECT column1 FROM (VALUES {}) AS ids)",
            value_rows::<DB>(chunk.len(), 1)
        );
        let mut query = sqlx::query_as(&sql).persistent(false);
        for id in chunk {
            query = query.bind(*id);
        }
        let rows: Vec<ExistingRow> = query.fetch_all(&mut *conn).await?;
        found.extend(rows.into_iter().map(<(Uuid, Existing)>::from));
    }
    Ok(found)
}

/// Writes a plan's events, tiles, checkpoint and new head inside the caller's transaction.
pub async fn write_plan<DB: Database + HasStatementCache>(
    conn: &mut DB::Connection,
    plan: &CommitPlan,
) -> Result<(), StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> Uuid: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Uuid>: Encode<'q, DB> + Type<DB>,
    for<'r> (i32, i64, Vec<u8>): FromRow<'r, DB::Row>,
{
    for chunk in chunks(&plan.events) {
        let sql = format!(
            concat!("INSERT INTO events (", event_columns!(), ") VALUES {}"),
            value_rows::<DB>(chunk.len(), 14)
        );
        let mut query = sqlx::query(&sql).persistent(false);
        for e in chunk {
            query = query
                .bind(e.index as i64)
                .bind(e.event_id)
                .bind(e.stream.as_str())
                .bind(e.version as i64)
                .bind(e.event_type.as_str())
                .bind(e.schema as i32)
                .bind(e.data.as_str())
                .bind(e.data_sha256.as_str())
                .bind(e.metadata.actor.as_deref())
                .bind(e.metadata.correlation_id)
                .bind(e.metadata.causation_id)
                .bind(e.recorded_at.as_str())
                .bind(e.visibility.as_str())
                .bind(e.leaf_hash.as_slice());
        }
        query.execute(&mut *conn).await?;
    }
    write_tiles::<DB>(conn, plan).await?;
    if let Some(checkpoint) = &plan.checkpoint {
        sqlx::query("INSERT INTO checkpoints (size, root, note) VALUES ($1, $2, $3)")
            .bind(checkpoint.size as i64)
            .bind(checkpoint.root.as_slice())
            .bind(checkpoint.note.as_str())
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(UPDATE_HEAD)
        .bind(plan.frontier.size() as i64)
        .bind(plan.frontier.to_bytes())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes the new contents of the tiles a plan extends.
async fn write_tiles<DB: Database + HasStatementCache>(
    conn: &mut DB::Connection,
    plan: &CommitPlan,
) -> Result<(), StorageError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    for chunk in chunks(&plan.tiles) {
        let sql = format!(
            "INSERT INTO tiles (level, idx, hashes) VALUES {} \
             ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
            value_rows::<DB>(chunk.len(), 3)
        );
        let mut query = sqlx::query(&sql).persistent(false);
        for tile in chunk {
            query = query
                .bind(i32::from(tile.level))
                .bind(tile.index as i64)
                .bind(tile.hashes.as_slice());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_gets_anonymous_parameters_and_postgres_numbered_ones() {
        assert_eq!(value_rows::<sqlx::Sqlite>(2, 2), "(?, ?), (?, ?)");
        assert_eq!(value_rows::<sqlx::Postgres>(2, 2), "($1, $2), ($3, $4)");
    }
}
