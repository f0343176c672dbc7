//! Group commit: the one task per process that writes the log.
//!
//! Requests queue on a channel. The writer takes the first, then everything already queued and
//! whatever arrives within a short wait, up to a bound on events, and commits them in one
//! transaction: one lock, one fsync, a few multi-row statements, however many callers. Under
//! load, requests pile up while a transaction is in flight and the next one carries them all;
//! alone, a request commits at once. Each caller is answered with its own outcome only after
//! the transaction committed, so an acknowledged event is durable.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use uuid::Uuid;

use super::checkpoint::LogSigner;
use super::commit::{self, AppendError, Appended, CommitPlan, StreamAppend};
use super::records::{LockedHead, StorageError};
use super::store::LogStore;
use super::tiles::{self, TILE_WIDTH};
use crate::clock;
use crate::metrics::{AppendOutcome, Metrics};

/// Bounds of one group commit.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Stop gathering once a commit holds this many events.
    pub max_batch_events: usize,
    /// How long to wait for more requests after the queue runs dry. Zero commits at once
    /// whatever is queued, which already coalesces under load.
    pub max_wait: Duration,
    /// Requests that may wait for the writer before appenders are made to wait.
    pub queue: usize,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            max_batch_events: 4096,
            max_wait: Duration::ZERO,
            queue: 8192,
        }
    }
}

pub(super) struct Request {
    pub appends: Vec<StreamAppend>,
    pub reply: oneshot::Sender<Result<Appended, AppendError>>,
}

pub(super) enum Command {
    Append(Request),
    /// Commit everything queued, then stop and answer.
    Shutdown(oneshot::Sender<()>),
}

/// What this writer's last commit left: stream versions and the partial tiles at the head.
/// Valid only while the log head is where that commit left it: a head that moved means another
/// process appended, and the cache is dropped. This saves the version and tile reads of the
/// next commit.
#[derive(Default)]
struct HeadCache {
    size: u64,
    versions: HashMap<String, u64>,
    tiles: HashMap<(u8, u64), Vec<u8>>,
}

/// Stream versions beyond which the cache starts afresh, bounding its memory.
const VERSION_CACHE_LIMIT: usize = 100_000;

pub(super) async fn run(
    store: Arc<dyn LogStore>,
    signer: Arc<LogSigner>,
    mut rx: mpsc::Receiver<Command>,
    head: watch::Sender<u64>,
    options: WriterOptions,
    metrics: Arc<Metrics>,
) {
    let mut cache = HeadCache::default();
    let mut stopping = None;
    while let Some(command) = rx.recv().await {
        let mut batch = Vec::new();
        let mut events = 0;
        let mut next = Some(command);
        let deadline = Instant::now() + options.max_wait;
        while let Some(command) = next.take() {
            match command {
                Command::Append(request) => {
                    events += request
                        .appends
                        .iter()
                        .map(|a| a.events.len())
                        .sum::<usize>();
                    batch.push(request);
                }
                Command::Shutdown(done) => {
                    // Refuse new requests but still drain those already queued.
                    rx.close();
                    stopping = Some(done);
                }
            }
            if events >= options.max_batch_events {
                break;
            }
            next = match rx.try_recv() {
                Ok(command) => Some(command),
                Err(TryRecvError::Empty) if stopping.is_none() && !options.max_wait.is_zero() => {
                    tokio::time::timeout_at(deadline, rx.recv())
                        .await
                        .ok()
                        .flatten()
                }
                Err(_) => None,
            };
        }
        if !batch.is_empty() {
            let committer = Committer {
                store: store.as_ref(),
                signer: &signer,
                metrics: &metrics,
            };
            committer.commit_batch(&mut cache, batch, &head).await;
        }
    }
    // The channel is closed and drained once `recv` returns `None`.
    if let Some(done) = stopping {
        let _ = done.send(());
    }
}

/// What one group commit needs besides its requests.
struct Committer<'a> {
    store: &'a dyn LogStore,
    signer: &'a LogSigner,
    metrics: &'a Metrics,
}

impl Committer<'_> {
    async fn commit_batch(
        &self,
        cache: &mut HeadCache,
        batch: Vec<Request>,
        head: &watch::Sender<u64>,
    ) {
        let requests: Vec<&[StreamAppend]> = batch.iter().map(|r| r.appends.as_slice()).collect();
        let outcomes = match self.try_commit(cache, &requests).await {
            Ok((outcomes, size)) => {
                raise(head, size);
                let counted: Vec<AppendOutcome> = outcomes
                    .iter()
                    .map(|outcome| match outcome {
                        Ok(a) if a.replayed => AppendOutcome::Replayed,
                        Ok(a) => AppendOutcome::Appended(a.positions.len() as u64),
                        Err(_) => AppendOutcome::Refused,
                    })
                    .collect();
                self.metrics.log_commit(&counted);
                outcomes
            }
            Err(error) => {
                *cache = HeadCache::default();
                tracing::error!(%error, requests = batch.len(), "log commit failed");
                self.metrics.log_commit_failed();
                let failure = AppendError::Unavailable(error.to_string());
                vec![Err(failure); batch.len()]
            }
        };
        for (request, outcome) in batch.into_iter().zip(outcomes) {
            // A caller that went away has nothing to learn; its events are committed regardless.
            let _ = request.reply.send(outcome);
        }
    }

    /// Runs one group commit: read the head and what the requests depend on under the write
    /// lock, plan, sign the new tree's checkpoint, write, commit. Returns each request's
    /// outcome and the new log size.
    async fn try_commit(
        &self,
        cache: &mut HeadCache,
        requests: &[&[StreamAppend]],
    ) -> Result<(Vec<Result<Appended, AppendError>>, u64), StorageError> {
        let mut tx = self.store.begin_append().await?;
        let head = tx.head().await?;
        check_head(&head)?;
        if head.frontier.size() != cache.size || cache.versions.len() > VERSION_CACHE_LIMIT {
            *cache = HeadCache::default();
        }
        let unknown: BTreeSet<&str> = requests
            .iter()
            .flat_map(|r| r.iter().map(|a| a.stream.as_str()))
            .filter(|s| !cache.versions.contains_key(*s))
            .collect();
        let unknown: Vec<&str> = unknown.into_iter().collect();
        let mut versions = tx.stream_versions(&unknown).await?;
        for stream in unknown {
            versions.entry(stream.to_owned()).or_insert(0);
        }
        versions.extend(
            requests
                .iter()
                .flat_map(|r| r.iter().map(|a| a.stream.as_str()))
                .filter_map(|s| Some((s.to_owned(), *cache.versions.get(s)?))),
        );
        // Every id is looked up, generated ones too: a caller retrying after an unanswered
        // commit re-sends the same events, and must get the original positions back.
        let ids: Vec<Uuid> = requests
            .iter()
            .flat_map(|r| r.iter().flat_map(|a| a.events.iter().map(|e| e.event_id)))
            .collect();
        let existing = tx.existing(&ids).await?;
        let mut plan = commit::plan(
            head.frontier,
            &versions,
            &existing,
            requests,
            &clock::now_micros(),
        );
        if !plan.events.is_empty() {
            let appends = plan.tile_appends();
            // Tiles this commit extends rather than starts, unless the last commit left them.
            let unknown: Vec<(u8, u64)> = appends
                .iter()
                .filter(|a| a.offset > 0)
                .map(|a| (a.level, a.index))
                .filter(|key| !cache.tiles.contains_key(key))
                .collect();
            if !unknown.is_empty() {
                let held = tx.tiles(&unknown).await?;
                cache
                    .tiles
                    .extend(held.into_iter().map(|t| ((t.level, t.index), t.hashes)));
            }
            plan.tiles = tiles::extend(appends, &cache.tiles)?;
            plan.checkpoint = Some(self.signer.sign(&plan.frontier));
            tx.write(&plan).await?;
            tx.commit().await?;
            // Only partial tiles will be extended again.
            cache.tiles = std::mem::take(&mut plan.tiles)
                .into_iter()
                .filter(|t| (t.hashes.len() as u64) < TILE_WIDTH * 32)
                .map(|t| ((t.level, t.index), t.hashes))
                .collect();
        }
        cache.size = plan.frontier.size();
        cache.versions.extend(versions);
        for event in &plan.events {
            cache.versions.insert(event.stream.clone(), event.version);
        }
        Ok((plan.outcomes, plan.frontier.size()))
    }
}

/// Refuses to extend a head that does not match its own signed checkpoint: signing over it
/// would publish a checkpoint inconsistent with one already served.
fn check_head(head: &LockedHead) -> Result<(), StorageError> {
    match head.checkpointed_root {
        Some(root) if root != head.frontier.root() => Err(StorageError::Corrupt(format!(
            "the log head at size {} does not match its signed checkpoint; \
             refusing to sign over it (run `marktrace log verify`)",
            head.frontier.size()
        ))),
        _ => Ok(()),
    }
}

/// Makes sure the current head has a signed checkpoint (a new database's empty tree gets its
/// first one here) and that it matches the head.
pub(super) async fn checkpoint_head(
    store: &dyn LogStore,
    signer: &LogSigner,
) -> Result<(), StorageError> {
    let mut tx = store.begin_append().await?;
    let head = tx.head().await?;
    check_head(&head)?;
    if head.checkpointed_root.is_none() {
        let plan = CommitPlan {
            checkpoint: Some(signer.sign(&head.frontier)),
            frontier: head.frontier,
            ..CommitPlan::default()
        };
        tx.write(&plan).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Moves the head forward to `size`; never back, since wake-ups may arrive out of order.
pub(super) fn raise(head: &watch::Sender<u64>, size: u64) {
    head.send_if_modified(|h| {
        let grew = size > *h;
        if grew {
            *h = size;
        }
        grew
    });
}
