//! One group commit, planned without I/O. Given the log head, the current versions of the
//! streams involved and the events already stored under the requested ids, [`plan`] decides each
//! request's fate (appended, replayed, or refused with its own error), assigns contiguous
//! indexes and stream versions, and extends the Merkle frontier. Storage runs the plan inside
//! the one transaction that read those inputs, so the plan is exactly what commits.

use std::collections::HashMap;
use std::fmt;

use uuid::Uuid;

use super::event::{EnvelopeFields, InvalidEvent, NewEvent, StoredEvent, StreamName};
use super::event::{envelope_leaf_hash, sha256_hex};
use super::merkle::{Frontier, Hash, StoredNode};
use super::records::{StoredCheckpoint, StoredTile};
use super::tiles::{self, TileAppend};

/// What a writer believes about a stream before appending to it (optimistic concurrency).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Append whatever the stream's version.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must have at least one event.
    StreamExists,
    /// The stream's last version must be exactly this (0 means it does not exist).
    Exact(u64),
}

impl Expected {
    fn admits(self, actual: u64) -> bool {
        match self {
            Expected::Any => true,
            Expected::NoStream => actual == 0,
            Expected::StreamExists => actual > 0,
            Expected::Exact(n) => actual == n,
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Any => f.write_str("any version"),
            Expected::NoStream => f.write_str("no stream"),
            Expected::StreamExists => f.write_str("an existing stream"),
            Expected::Exact(n) => write!(f, "version {n}"),
        }
    }
}

/// Events for one stream, with the writer's expectation of that stream.
#[derive(Clone, Debug)]
pub struct StreamAppend {
    pub stream: StreamName,
    pub expected: Expected,
    pub events: Vec<NewEvent>,
}

/// Where an event sits: its global index and its version in its stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub index: u64,
    pub stream: String,
    pub version: u64,
}

/// The answer to one successful append request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// One position per event, in the order the events were given.
    pub positions: Vec<Position>,
    /// True when every event id had been appended before: nothing new was written and the
    /// positions are the original ones.
    pub replayed: bool,
}

impl Appended {
    pub fn indexes(&self) -> Vec<u64> {
        self.positions.iter().map(|p| p.index).collect()
    }
}

/// Why one append request was refused. Each caller of a group commit gets its own.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    #[error("stream {stream} is at version {actual}, but {expected} was expected")]
    Conflict {
        stream: String,
        expected: Expected,
        /// The stream's last version; 0 when it has no events.
        actual: u64,
    },
    #[error("event id {event_id} was already used for a different event")]
    IdempotencyMismatch { event_id: Uuid },
    #[error(transparent)]
    Invalid(#[from] InvalidEvent),
    #[error("the log could not commit: {0}")]
    Unavailable(String),
}

/// What storage knows about an event id that is already in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Existing {
    pub position: Position,
    pub event_type: String,
    pub data_sha256: String,
}

/// The outcome of planning a group commit.
#[derive(Debug, Default)]
pub struct CommitPlan {
    /// New entries, in index order.
    pub events: Vec<StoredEvent>,
    /// Newly completed subtree hashes at tile boundaries (levels 8, 16, ...).
    pub nodes: Vec<StoredNode>,
    /// The frontier after the new entries.
    pub frontier: Frontier,
    /// The signed checkpoint of the new tree, added by the writer once the plan has entries.
    pub checkpoint: Option<StoredCheckpoint>,
    /// The whole new contents of every tile the entries extend, added by the writer.
    pub tiles: Vec<StoredTile>,
    /// One outcome per request, in request order.
    pub outcomes: Vec<Result<Appended, AppendError>>,
}

impl CommitPlan {
    /// The bytes this commit appends to the stored tiles.
    pub fn tile_appends(&self) -> Vec<TileAppend> {
        let first = self
            .events
            .first()
            .map_or(self.frontier.size(), |e| e.index);
        let leaves: Vec<Hash> = self.events.iter().map(|e| e.leaf_hash).collect();
        tiles::appends(first, &leaves, &self.nodes)
    }
}

/// Plans one group commit. `versions` holds the last version of every stream the requests name
/// (absent means 0); `existing` the stored events among the requested ids.
pub fn plan(
    frontier: Frontier,
    versions: &HashMap<String, u64>,
    existing: &HashMap<Uuid, Existing>,
    requests: &[&[StreamAppend]],
    recorded_at: &str,
) -> CommitPlan {
    let mut plan = CommitPlan {
        frontier,
        ..CommitPlan::default()
    };
    let mut versions = versions.clone();
    let mut existing = existing.clone();
    for appends in requests {
        let outcome = match replay(appends, &existing) {
            Some(outcome) => outcome,
            None => admit(appends, &versions).map(|()| Appended {
                positions: place(
                    &mut plan,
                    &mut versions,
                    &mut existing,
                    appends,
                    recorded_at,
                ),
                replayed: false,
            }),
        };
        plan.outcomes.push(outcome);
    }
    plan
}

/// A request whose ids were all seen before is answered with the original positions, provided
/// each id names the same stream, type and data; a partial or different re-send is refused
/// rather than guessed at.
fn replay(
    appends: &[StreamAppend],
    existing: &HashMap<Uuid, Existing>,
) -> Option<Result<Appended, AppendError>> {
    let mut positions = Vec::new();
    let mut seen_any = false;
    let mut missing = None;
    for append in appends {
        for event in &append.events {
            match existing.get(&event.event_id) {
                Some(prior) => {
                    seen_any = true;
                    let same = prior.position.stream == append.stream.as_str()
                        && prior.event_type == event.event_type
                        && prior.data_sha256 == sha256_hex(event.data.as_bytes());
                    if !same {
                        return Some(Err(AppendError::IdempotencyMismatch {
                            event_id: event.event_id,
                        }));
                    }
                    positions.push(prior.position.clone());
                }
                None => missing = missing.or(Some(event.event_id)),
            }
        }
    }
    match (seen_any, missing) {
        (false, _) => None,
        (true, None) => Some(Ok(Appended {
            positions,
            replayed: true,
        })),
        (true, Some(event_id)) => Some(Err(AppendError::IdempotencyMismatch { event_id })),
    }
}

/// Checks every expectation of a request against the versions so far, including earlier
/// appends to the same stream within the request, before anything of it is placed.
fn admit(appends: &[StreamAppend], versions: &HashMap<String, u64>) -> Result<(), AppendError> {
    let mut local: HashMap<&str, u64> = HashMap::new();
    for append in appends {
        let stream = append.stream.as_str();
        let actual = local
            .get(stream)
            .copied()
            .unwrap_or_else(|| versions.get(stream).copied().unwrap_or(0));
        if !append.expected.admits(actual) {
            return Err(AppendError::Conflict {
                stream: stream.to_owned(),
                expected: append.expected,
                actual,
            });
        }
        local.insert(stream, actual + append.events.len() as u64);
    }
    Ok(())
}

fn place(
    plan: &mut CommitPlan,
    versions: &mut HashMap<String, u64>,
    existing: &mut HashMap<Uuid, Existing>,
    appends: &[StreamAppend],
    recorded_at: &str,
) -> Vec<Position> {
    let mut positions = Vec::new();
    for append in appends {
        let stream = append.stream.as_str();
        for event in &append.events {
            let version = versions.entry(stream.to_owned()).or_insert(0);
            *version += 1;
            let index = plan.frontier.size();
            let data_sha256 = sha256_hex(event.data.as_bytes());
            let leaf_hash = envelope_leaf_hash(&EnvelopeFields {
                data_sha256: &data_sha256,
                index,
                recorded_at,
                schema: event.schema,
                stream,
                event_type: &event.event_type,
                version: *version,
                visibility: event.visibility,
            });
            plan.nodes.extend(plan.frontier.push(leaf_hash));
            let position = Position {
                index,
                stream: stream.to_owned(),
                version: *version,
            };
            // Later requests of the same commit that re-send these ids are replays.
            existing.insert(
                event.event_id,
                Existing {
                    position: position.clone(),
                    event_type: event.event_type.clone(),
                    data_sha256: data_sha256.clone(),
                },
            );
            positions.push(position);
            plan.events.push(StoredEvent {
                index,
                event_id: event.event_id,
                stream: stream.to_owned(),
                version: *version,
                event_type: event.event_type.clone(),
                schema: event.schema,
                data: event.data.clone(),
                data_sha256,
                metadata: event.metadata.clone(),
                recorded_at: recorded_at.to_owned(),
                visibility: event.visibility,
                leaf_hash,
            });
        }
    }
    positions
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: &str = "2026-11-29T03:40:00.000000Z";

    fn append(stream: &str, expected: Expected, n: usize) -> StreamAppend {
        StreamAppend {
            stream: StreamName::parse(stream).unwrap(),
            expected,
            events: (0..n)
                .map(|i| NewEvent::new("Tested", &i).unwrap())
                .collect(),
        }
    }

    fn run(requests: &[Vec<StreamAppend>]) -> CommitPlan {
        let refs: Vec<&[StreamAppend]> = requests.iter().map(|r| r.as_slice()).collect();
        plan(
            Frontier::default(),
            &HashMap::new(),
            &HashMap::new(),
            &refs,
            AT,
        )
    }

    #[test]
    fn indexes_are_contiguous_across_requests_and_streams() {
        let p = run(&[
            vec![append("a", Expected::NoStream, 2)],
            vec![
                append("b", Expected::Any, 1),
                append("a", Expected::Exact(2), 1),
            ],
        ]);
        let indexes: Vec<u64> = p.events.iter().map(|e| e.index).collect();
        assert_eq!(indexes, [0, 1, 2, 3]);
        let a_versions: Vec<u64> = p
            .events
            .iter()
            .filter(|e| e.stream == "a")
            .map(|e| e.version)
            .collect();
        assert_eq!(a_versions, [1, 2, 3]);
        assert_eq!(p.frontier.size(), 4);
    }

    #[test]
    fn a_conflict_fails_only_its_own_request() {
        let p = run(&[
            vec![append("a", Expected::NoStream, 1)],
            vec![append("a", Expected::NoStream, 1)],
            vec![append("a", Expected::Exact(1), 1)],
        ]);
        assert!(p.outcomes[0].is_ok());
        assert_eq!(
            p.outcomes[1],
            Err(AppendError::Conflict {
                stream: "a".into(),
                expected: Expected::NoStream,
                actual: 1
            })
        );
        assert_eq!(p.outcomes[2].as_ref().unwrap().positions[0].version, 2);
        assert_eq!(p.events.len(), 2);
    }

    #[test]
    fn a_refused_request_writes_none_of_its_streams() {
        let p = run(&[vec![
            append("b", Expected::Any, 1),
            append("a", Expected::StreamExists, 1),
        ]]);
        assert!(p.outcomes[0].is_err());
        assert!(p.events.is_empty());
        assert_eq!(p.frontier.size(), 0);
    }

    #[test]
    fn the_same_ids_twice_in_one_commit_are_appended_once() {
        let first = vec![append("a", Expected::Any, 2)];
        let again = first.clone();
        let p = run(&[first, again]);
        assert_eq!(p.events.len(), 2);
        let replay = p.outcomes[1].as_ref().unwrap();
        assert!(replay.replayed);
        assert_eq!(replay.indexes(), [0, 1]);
    }

    #[test]
    fn a_reused_id_with_other_data_is_refused() {
        let first = vec![append("a", Expected::Any, 1)];
        let mut changed = first.clone();
        changed[0].events[0].data = "42".into();
        let p = run(&[first, changed]);
        assert!(matches!(
            p.outcomes[1],
            Err(AppendError::IdempotencyMismatch { .. })
        ));
    }
}
