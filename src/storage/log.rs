//! The log's SQL: events, tiles, checkpoints and the head, read and written by the
//! [`LogStore`](crate::log::store::LogStore) port and its append transaction.

use std::collections::HashMap;

use sqlx::Pool;
use uuid::Uuid;

use super::sql::{chunks, value_rows};
use crate::log::commit::{CommitPlan, Existing, Position};
use crate::log::event::{Metadata, StoredEvent, Visibility};
use crate::log::merkle::{Frontier, Hash};
use crate::log::records::{LockedHead, StorageError, StoredCheckpoint, StoredTile};

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

/// The root of the checkpoint stored for a tree size.
const CHECKPOINT_ROOT: &str = "SELECT root FROM checkpoints WHERE size = $1";

const UPDATE_HEAD: &str = "UPDATE log_head SET size = $1, frontier = $2 WHERE id = 0";

// Rows and their mapping; a stored value that does not fit its type is
// `StorageError::Corrupt`, never a panic.

#[derive(sqlx::FromRow)]
pub struct EventRow {
    idx: i64,
    event_id: Uuid,
    stream: String,
    version: i64,
    #[sqlx(rename = "type")]
    event_type: String,
    schema: i32,
    data: String,
    data_sha256: String,
    actor: Option<String>,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    recorded_at: String,
    visibility: String,
    leaf_hash: Vec<u8>,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StorageError;

    fn try_from(r: EventRow) -> Result<StoredEvent, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("event {}: {what}", r.idx));
        Ok(StoredEvent {
            index: u64::try_from(r.idx).map_err(|_| corrupt("negative index"))?,
            event_id: r.event_id,
            version: u64::try_from(r.version).map_err(|_| corrupt("negative version"))?,
            schema: u32::try_from(r.schema).map_err(|_| corrupt("negative schema"))?,
            visibility: Visibility::parse(&r.visibility)
                .ok_or_else(|| corrupt("bad visibility"))?,
            leaf_hash: r
                .leaf_hash
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("leaf hash is not 32 bytes"))?,
            stream: r.stream,
            event_type: r.event_type,
            data: r.data,
            data_sha256: r.data_sha256,
            metadata: Metadata {
                actor: r.actor,
                correlation_id: r.correlation_id,
                causation_id: r.causation_id,
            },
            recorded_at: r.recorded_at,
        })
    }
}

fn into_events(rows: Vec<EventRow>) -> Result<Vec<StoredEvent>, StorageError> {
    rows.into_iter().map(StoredEvent::try_from).collect()
}

#[derive(sqlx::FromRow)]
pub struct ExistingRow {
    event_id: Uuid,
    idx: i64,
    stream: String,
    version: i64,
    #[sqlx(rename = "type")]
    event_type: String,
    data_sha256: String,
}

impl From<ExistingRow> for (Uuid, Existing) {
    fn from(r: ExistingRow) -> (Uuid, Existing) {
        (
            r.event_id,
            Existing {
                position: Position {
                    index: r.idx as u64,
                    stream: r.stream,
                    version: r.version as u64,
                },
                event_type: r.event_type,
                data_sha256: r.data_sha256,
            },
        )
    }
}

fn hash_from(bytes: &[u8], what: &str) -> Result<Hash, StorageError> {
    bytes
        .try_into()
        .map_err(|_| StorageError::Corrupt(format!("{what} is not 32 bytes")))
}

fn frontier_from(size: i64, bytes: &[u8]) -> Result<Frontier, StorageError> {
    Frontier::from_parts(size as u64, bytes).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn into_checkpoints(
    rows: Vec<(i64, Vec<u8>, String)>,
) -> Result<Vec<StoredCheckpoint>, StorageError> {
    rows.into_iter()
        .map(|(size, root, note)| {
            Ok(StoredCheckpoint {
                size: size as u64,
                root: hash_from(&root, "a checkpoint root")?,
                note,
            })
        })
        .collect()
}

super::sql::per_engine! {
    /// Reads the head, locking it with the engine's `lock` clause (empty where the
    /// transaction holds the write lock already), then the root of the checkpoint stored for
    /// its size inside the same append transaction. Two statements, not a join: PostgreSQL
    /// re-reads a row it waited to lock, but a row joined to it comes from the statement's
    /// older snapshot, so a head committed meanwhile would look unsigned and be signed twice.
    pub async fn locked_head(conn: &mut Conn, lock: &str) -> Result<LockedHead, StorageError> {
        let (size, frontier): (i64, Vec<u8>) = sqlx::query_as(&format!("{LOG_HEAD}{lock}"))
            .fetch_one(&mut *conn)
            .await?;
        let root: Option<(Vec<u8>,)> = sqlx::query_as(CHECKPOINT_ROOT)
            .bind(size)
            .fetch_optional(&mut *conn)
            .await?;
        let root = root.map(|(r,)| r);
        Ok(LockedHead {
            frontier: frontier_from(size, &frontier)?,
            checkpointed_root: root
                .map(|r| hash_from(&r, "a checkpoint root"))
                .transpose()?,
        })
    }

    pub async fn log_head(pool: &Pool<DB>) -> Result<Frontier, StorageError> {
        let (size, bytes): (i64, Vec<u8>) = sqlx::query_as(LOG_HEAD).fetch_one(pool).await?;
        frontier_from(size, &bytes)
    }

    pub async fn read_log(
        pool: &Pool<DB>,
        from: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let rows: Vec<EventRow> = sqlx::query_as(READ_LOG)
            .bind(from as i64)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
        into_events(rows)
    }

    pub async fn read_stream(
        pool: &Pool<DB>,
        stream: &str,
        from: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let rows: Vec<EventRow> = sqlx::query_as(READ_STREAM)
            .bind(stream)
            .bind(from as i64)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
        into_events(rows)
    }

    pub async fn read_tiles(
        pool: &Pool<DB>,
        keys: &[(u8, u64)],
    ) -> Result<Vec<StoredTile>, StorageError> {
        let mut conn = pool.acquire().await?;
        select_tiles(&mut conn, keys).await
    }

    pub async fn select_tiles(
        conn: &mut Conn,
        keys: &[(u8, u64)],
    ) -> Result<Vec<StoredTile>, StorageError> {
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

    pub async fn read_checkpoints(
        pool: &Pool<DB>,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StorageError> {
        let rows: Vec<(i64, Vec<u8>, String)> = sqlx::query_as(
            "SELECT size, root, note FROM checkpoints WHERE size >= $1 ORDER BY size LIMIT $2",
        )
        .bind(from_size as i64)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
        into_checkpoints(rows)
    }

    pub async fn latest_checkpoint(
        pool: &Pool<DB>,
    ) -> Result<Option<StoredCheckpoint>, StorageError> {
        let rows: Vec<(i64, Vec<u8>, String)> =
            sqlx::query_as("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1")
                .fetch_all(pool)
                .await?;
        Ok(into_checkpoints(rows)?.pop())
    }

    pub async fn stream_versions(
        conn: &mut Conn,
        streams: &[&str],
    ) -> Result<HashMap<String, u64>, StorageError> {
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

    pub async fn existing(
        conn: &mut Conn,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Existing>, StorageError> {
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
    pub async fn write_plan(
        conn: &mut Conn,
        plan: &CommitPlan,
    ) -> Result<(), StorageError> {
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
        write_tiles(conn, plan).await?;
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
    async fn write_tiles(
        conn: &mut Conn,
        plan: &CommitPlan,
    ) -> Result<(), StorageError> {
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
}
