//! SQL and row mapping that both engines share. Statements use `$n` parameters, which SQLite
//! accepts as numbered parameters too, so one text serves both backends.

use sqlx::{Database, Encode, QueryBuilder, Type};
use uuid::Uuid;

use super::StorageError;
use crate::log::commit::{Existing, Position};
use crate::log::event::{Metadata, StoredEvent, Visibility};
use crate::log::merkle::StoredNode;

/// Most rows per multi-row INSERT: at 14 parameters a row this stays under SQLite's 32,766
/// and PostgreSQL's 65,535 bound parameters.
const MAX_CHUNK: usize = 1024;

/// Splits rows into chunks whose sizes are powers of two (the binary digits of the count,
/// largest first, at most [`MAX_CHUNK`]). A multi-row statement's text depends on its row
/// count; with these sizes only eleven texts exist per statement, so each stays in the
/// connection's prepared-statement cache instead of being parsed again for every commit.
pub fn chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let size = MAX_CHUNK.min(1 << rows.len().ilog2());
        let (chunk, rest) = rows.split_at(size);
        rows = rest;
        Some(chunk)
    })
}

/// The columns of [`EventRow`], in a macro so `concat!` can build statements from it.
macro_rules! event_columns {
    () => {
        "idx, event_id, stream, version, type, schema, data, data_sha256, actor, \
         correlation_id, causation_id, recorded_at, visibility, leaf_hash"
    };
}

pub const READ_LOG: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events WHERE idx >= $1 ORDER BY idx LIMIT $2"
);

pub const READ_STREAM: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3"
);

pub const LOG_SIZE: &str = "SELECT size FROM log_head WHERE id = 0";

pub const UPDATE_HEAD: &str = "UPDATE log_head SET size = $1, frontier = $2 WHERE id = 0";

pub const ENSURE_PROJECTION: &str = "INSERT INTO projection_positions (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING";

pub const PROJECTION_POSITION: &str = "SELECT position FROM projection_positions WHERE name = $1";

pub const ADVANCE_PROJECTION: &str =
    "UPDATE projection_positions SET position = $1 WHERE name = $2 AND position = $3";

pub const RESET_PROJECTION: &str = "UPDATE projection_positions SET position = 0 WHERE name = $1";

pub const COUNT_EVENT_TYPE: &str = "INSERT INTO projection_event_types (type, count) VALUES ($1, $2) \
     ON CONFLICT (type) DO UPDATE SET count = projection_event_types.count + excluded.count";

pub const EVENT_TYPE_COUNTS: &str = "SELECT type, count FROM projection_event_types ORDER BY type";

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

pub fn into_events(rows: Vec<EventRow>) -> Result<Vec<StoredEvent>, StorageError> {
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

pub fn select_existing<'a, DB: Database>(ids: &'a [Uuid]) -> QueryBuilder<'a, DB>
where
    Uuid: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(
        "SELECT event_id, idx, stream, version, type, data_sha256 FROM events WHERE event_id IN (",
    );
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    qb.push(")");
    qb
}

/// The last version of each stream, as one correlated `MAX` per stream so both engines answer
/// each from the `(stream, version)` index in O(log n); a `GROUP BY` over an `IN` list scans
/// every event of every named stream instead.
pub fn select_versions<'a, DB: Database>(streams: &'a [&'a str]) -> QueryBuilder<'a, DB>
where
    &'a str: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(
        "SELECT column1, (SELECT MAX(version) FROM events WHERE stream = column1) FROM (VALUES ",
    );
    let mut list = qb.separated(", ");
    for s in streams {
        list.push("(")
            .push_bind_unseparated(*s)
            .push_unseparated(")");
    }
    qb.push(") AS streams");
    qb
}

pub fn insert_events<'a, DB: Database>(events: &'a [StoredEvent]) -> QueryBuilder<'a, DB>
where
    i64: Encode<'a, DB> + Type<DB>,
    i32: Encode<'a, DB> + Type<DB>,
    Uuid: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    &'a [u8]: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    Option<Uuid>: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(concat!("INSERT INTO events (", event_columns!(), ") "));
    qb.push_values(events, |mut row, e| {
        row.push_bind(e.index as i64)
            .push_bind(e.event_id)
            .push_bind(e.stream.as_str())
            .push_bind(e.version as i64)
            .push_bind(e.event_type.as_str())
            .push_bind(e.schema as i32)
            .push_bind(e.data.as_str())
            .push_bind(e.data_sha256.as_str())
            .push_bind(e.metadata.actor.as_deref())
            .push_bind(e.metadata.correlation_id)
            .push_bind(e.metadata.causation_id)
            .push_bind(e.recorded_at.as_str())
            .push_bind(e.visibility.as_str())
            .push_bind(e.leaf_hash.as_slice());
    });
    qb
}

pub fn insert_nodes<'a, DB: Database>(nodes: &'a [StoredNode]) -> QueryBuilder<'a, DB>
where
    i64: Encode<'a, DB> + Type<DB>,
    i32: Encode<'a, DB> + Type<DB>,
    &'a [u8]: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new("INSERT INTO merkle_nodes (level, idx, hash) ");
    qb.push_values(nodes, |mut row, n| {
        row.push_bind(i32::from(n.level))
            .push_bind(n.index as i64)
            .push_bind(n.hash.as_slice());
    });
    qb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_largest_first_and_cover_every_row() {
        let rows: Vec<u32> = (0..2500).collect();
        let sizes: Vec<usize> = chunks(&rows).map(<[u32]>::len).collect();
        assert_eq!(sizes, [1024, 1024, 256, 128, 64, 4]);
        let joined: Vec<u32> = chunks(&rows).flatten().copied().collect();
        assert_eq!(joined, rows);
        assert_eq!(chunks(&rows[..0]).count(), 0);
        assert_eq!(
            chunks(&rows[..133]).map(<[u32]>::len).collect::<Vec<_>>(),
            [128, 4, 1]
        );
    }
}
