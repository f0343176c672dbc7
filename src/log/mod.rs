//! The append-only event log: the source of truth for every state change.
//!
//! [`Log`] is a cheap handle. Appends go through one writer task per process that coalesces
//! concurrent requests into one transaction (group commit, `writer`); each caller still gets
//! its own outcome, and only after the transaction committed. Readers page through the log by
//! index or follow it with a [`Subscription`], woken by appends in this process and by other
//! nodes' announcements, and always catching up by index, so none ever skips an event.
//!
//! This module owns ordering, versions and hashing; it declares the storage it needs
//! ([`store::LogStore`]), which `storage` implements. SQL lives there.

pub mod audit;
pub mod checkpoint;
pub mod commit;
pub mod cosignature;
pub mod event;
pub mod merkle;
pub mod note;
pub mod proofs;
pub mod records;
pub mod store;
pub mod tiles;
mod writer;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::metrics::Metrics;
pub use checkpoint::LogSigner;
pub use commit::{AppendError, Appended, Expected, Position, StreamAppend};
pub use event::{
    InvalidEvent, Metadata, NewEvent, StoredEvent, StreamName, Visibility, repeatable,
};
pub use records::StorageError;
pub use store::LogStore;
pub use writer::WriterOptions;

/// The most events one append request may carry, so one request cannot hold the write lock
/// for long nor exceed the engines' statement limits.
pub const MAX_EVENTS_PER_REQUEST: usize = 10_000;

/// How long a follower waits for a wake-up before it polls the log anyway: the fallback for
/// writers that cannot announce themselves (another process on the same SQLite file, a lost
/// PostgreSQL notification).
const POLL: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn LogStore>,
    signer: Arc<LogSigner>,
    writer: mpsc::Sender<writer::Command>,
    head: watch::Sender<u64>,
    fresh: Arc<Freshness>,
}

/// How old this node's knowledge of the log head may be when it answers anything that
/// depends on it (`Log::ensure_current`): appends committed on another node more than this
/// long ago are always seen. Notifications usually deliver them within milliseconds; this is
/// the bound when they are lost (a reconnect, a silent network).
pub const MAX_STALENESS: Duration = Duration::from_millis(100);

/// When the head was last read from the store, so known to be current as of then.
struct Freshness {
    origin: Instant,
    /// Microseconds after `origin` at which the last successful head read started.
    confirmed: AtomicU64,
    /// Microseconds after `origin` at which the last failed head read ended (0: none yet).
    failed: AtomicU64,
    /// Whether the last background head read failed (logged once per outage).
    failing: std::sync::atomic::AtomicBool,
    /// Held by the request that reads the head for the others.
    reading: tokio::sync::Mutex<()>,
}

impl Freshness {
    fn new() -> Freshness {
        Freshness {
            origin: Instant::now(),
            confirmed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            failing: Default::default(),
            reading: Default::default(),
        }
    }

    fn now(&self) -> u64 {
        self.origin.elapsed().as_micros() as u64
    }

    /// Whether the head was confirmed within [`MAX_STALENESS`].
    fn current(&self) -> bool {
        let age = self
            .now()
            .saturating_sub(self.confirmed.load(Ordering::Acquire));
        age <= MAX_STALENESS.as_micros() as u64
    }

    /// Reads the store's head, raises ours to it, and records when the read started (or, if
    /// it failed, when it ended).
    async fn confirm(
        &self,
        store: &dyn LogStore,
        head: &watch::Sender<u64>,
    ) -> Result<(), StorageError> {
        let started = self.now();
        match store.log_size().await {
            Ok(size) => {
                writer::raise(head, size);
                self.confirmed.fetch_max(started, Ordering::AcqRel);
                Ok(())
            }
            Err(error) => {
                self.failed.fetch_max(self.now(), Ordering::AcqRel);
                Err(error)
            }
        }
    }

    /// [`Log::ensure_current`]: one read of the head for all the requests that find it stale
    /// at once. A request that waited while a read failed answers with that failure rather
    /// than wait on the database again: a read of an unreachable database may take the pool's
    /// whole acquire timeout, and two in a row would exceed the two seconds in which an
    /// outage must be answered.
    async fn ensure(
        &self,
        store: &dyn LogStore,
        head: &watch::Sender<u64>,
    ) -> Result<(), StorageError> {
        if self.current() {
            return Ok(());
        }
        let arrived = self.now();
        let _reading = self.reading.lock().await;
        if self.current() {
            return Ok(());
        }
        if self.failed.load(Ordering::Acquire) > arrived {
            return Err(StorageError::Unavailable(
                "the log head could not be read just now".into(),
            ));
        }
        self.confirm(store, head).await
    }
}

impl Log {
    /// Checks that the log head matches its signed checkpoint (signing the first one of a new
    /// database), then starts the log's writer and, where the engine has them, the listener
    /// for other nodes' appends, on the current Tokio runtime.
    pub async fn open(
        store: Arc<dyn LogStore>,
        signer: Arc<LogSigner>,
        options: WriterOptions,
        metrics: Arc<Metrics>,
    ) -> Result<Log, StorageError> {
        writer::checkpoint_head(store.as_ref(), &signer).await?;
        let (head, _) = watch::channel(0);
        let fresh = Arc::new(Freshness::new());
        fresh.confirm(store.as_ref(), &head).await?;
        let (tx, rx) = mpsc::channel(options.queue);
        tokio::spawn(writer::run(
            store.clone(),
            signer.clone(),
            rx,
            head.clone(),
            options,
            metrics,
        ));
        tokio::spawn(follow_hints(store.clone(), head.clone(), fresh.clone()));
        Ok(Log {
            inner: Arc::new(Inner {
                store,
                signer,
                writer: tx,
                head,
                fresh,
            }),
        })
    }

    /// Appends events to one or more streams atomically: either every stream's expectation
    /// holds and all events are committed, or nothing is written.
    pub async fn append(&self, appends: Vec<StreamAppend>) -> Result<Appended, AppendError> {
        check_request(&appends)?;
        let (reply, answer) = oneshot::channel();
        let closed = || AppendError::Unavailable("the log is shutting down".into());
        self.inner
            .writer
            .send(writer::Command::Append(writer::Request { appends, reply }))
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Appends events to one stream.
    pub async fn append_to(
        &self,
        stream: &str,
        expected: Expected,
        events: Vec<NewEvent>,
    ) -> Result<Appended, AppendError> {
        let stream = StreamName::parse(stream)?;
        self.append(vec![StreamAppend {
            stream,
            expected,
            events,
        }])
        .await
    }

    /// Up to `limit` events from index `from` on.
    pub async fn read(&self, from: u64, limit: u32) -> Result<Vec<StoredEvent>, StorageError> {
        self.inner.store.read_log(from, limit).await
    }

    /// Up to `limit` events of a stream from version `from` on.
    pub async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        self.inner.store.read_stream(stream, from, limit).await
    }

    /// The number of committed events this process knows of.
    pub fn size(&self) -> u64 {
        *self.inner.head.borrow()
    }

    /// Makes sure this node knows the log head as of at most [`MAX_STALENESS`] ago, reading it
    /// from the store when the background reads have not; fails when the store cannot be
    /// read, since an answer from what this node knew may then be stale.
    pub async fn ensure_current(&self) -> Result<(), StorageError> {
        self.inner
            .fresh
            .ensure(self.inner.store.as_ref(), &self.inner.head)
            .await
    }

    /// Reads the log head from the store now: whether the database answers.
    pub async fn probe(&self) -> Result<(), StorageError> {
        self.inner
            .fresh
            .confirm(self.inner.store.as_ref(), &self.inner.head)
            .await
    }

    /// Whether the writer takes appends (it stops at shutdown).
    pub fn writer_running(&self) -> bool {
        !self.inner.writer.is_closed()
    }

    /// Changes whenever the log grows.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }

    /// Follows the log from index `from`.
    pub fn subscribe(&self, from: u64) -> Subscription {
        Subscription {
            log: self.clone(),
            next: from,
            head: self.watch_head(),
        }
    }

    /// The checkpoint signer, for its origin and verifier key.
    pub fn signer(&self) -> &LogSigner {
        &self.inner.signer
    }

    /// The log's own store, for the proofs and tiles read from it; never handed out.
    fn store(&self) -> &Arc<dyn LogStore> {
        &self.inner.store
    }

    /// Commits every append already requested, then stops the writer; later appends fail
    /// with [`AppendError::Unavailable`].
    pub async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self
            .inner
            .writer
            .send(writer::Command::Shutdown(done))
            .await
            .is_ok()
        {
            let _ = finished.await;
        }
    }
}

fn check_request(appends: &[StreamAppend]) -> Result<(), InvalidEvent> {
    let mut ids = HashSet::new();
    let total: usize = appends.iter().map(|a| a.events.len()).sum();
    if total == 0 || total > MAX_EVENTS_PER_REQUEST {
        return Err(InvalidEvent::Count(total));
    }
    for event in appends.iter().flat_map(|a| &a.events) {
        if !ids.insert(event.event_id) {
            return Err(InvalidEvent::DuplicateId(event.event_id));
        }
    }
    Ok(())
}

/// Raises the head when other nodes announce appends, reconnecting after failures, and reads
/// it every half [`MAX_STALENESS`] besides, so the head stays confirmed when announcements are
/// lost. The head is re-read from storage rather than taken from the announcement, which may
/// come from another log sharing the channel.
async fn follow_hints(store: Arc<dyn LogStore>, head: watch::Sender<u64>, fresh: Arc<Freshness>) {
    let (hints, mut woken) = mpsc::channel(1);
    let listen = {
        let store = store.clone();
        async move {
            while let Err(error) = store.follow_hints(hints.clone()).await {
                tracing::warn!(%error, "lost append notifications; following by polling meanwhile");
                tokio::time::sleep(POLL).await;
            }
        }
    };
    let apply = async {
        let mut tick = tokio::time::interval(MAX_STALENESS / 2);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // SQLite announces nothing: its hints end at once, and the ticks alone remain.
        let mut announced = true;
        loop {
            tokio::select! {
                hint = woken.recv(), if announced => announced = hint.is_some(),
                _ = tick.tick() => {}
            }
            match fresh.confirm(store.as_ref(), &head).await {
                Ok(()) => {
                    if fresh.failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("the log head can be read again");
                    }
                }
                Err(error) => {
                    if !fresh.failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(%error, "cannot read the log head");
                    }
                }
            }
        }
    };
    tokio::join!(listen, apply);
}

/// A reader that follows the log in index order from a position.
pub struct Subscription {
    log: Log,
    next: u64,
    head: watch::Receiver<u64>,
}

impl Subscription {
    /// The index of the next event this subscription will return.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// The next events in index order, waiting until there is at least one.
    pub async fn next_page(&mut self, limit: u32) -> Result<Vec<StoredEvent>, StorageError> {
        loop {
            // Mark the head seen before reading, so an append that commits after the read
            // still wakes the wait below.
            self.head.borrow_and_update();
            let page = self.log.read(self.next, limit).await?;
            if let Some(last) = page.last() {
                self.next = last.index + 1;
                return Ok(page);
            }
            let _ = tokio::time::timeout(POLL, self.head.changed()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use async_trait::async_trait;
    use tokio::sync::Notify;

    use super::merkle::Frontier;
    use super::records::{StoredCheckpoint, StoredTile};
    use super::store::AppendTx;
    use super::*;

    /// A database that is away: the first head read waits until released, then fails, as a
    /// read waiting out the pool's acquire timeout does; later reads fail at once.
    #[derive(Default)]
    struct Away {
        reads: AtomicU32,
        reading: Notify,
        release: Notify,
    }

    #[async_trait]
    impl LogStore for Away {
        async fn log_head(&self) -> Result<Frontier, StorageError> {
            if self.reads.fetch_add(1, Ordering::SeqCst) == 0 {
                self.reading.notify_one();
                self.release.notified().await;
            }
            Err(StorageError::Unavailable("away".into()))
        }

        async fn begin_append(&self) -> Result<Box<dyn AppendTx>, StorageError> {
            unreachable!("only the head is read")
        }
        async fn read_log(&self, _: u64, _: u32) -> Result<Vec<StoredEvent>, StorageError> {
            unreachable!("only the head is read")
        }
        async fn read_stream(
            &self,
            _: &str,
            _: u64,
            _: u32,
        ) -> Result<Vec<StoredEvent>, StorageError> {
            unreachable!("only the head is read")
        }
        async fn read_tiles(&self, _: &[(u8, u64)]) -> Result<Vec<StoredTile>, StorageError> {
            unreachable!("only the head is read")
        }
        async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StorageError> {
            unreachable!("only the head is read")
        }
        async fn read_checkpoints(
            &self,
            _: u64,
            _: u32,
        ) -> Result<Vec<StoredCheckpoint>, StorageError> {
            unreachable!("only the head is read")
        }
        async fn follow_hints(&self, _: mpsc::Sender<()>) -> Result<(), StorageError> {
            unreachable!("only the head is read")
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_request_that_waited_for_a_failed_head_read_fails_with_it_without_reading_again() {
        let store = Arc::new(Away::default());
        // Last confirmed long enough ago that the head is stale.
        let fresh = Arc::new(Freshness {
            origin: Instant::now() - 2 * MAX_STALENESS,
            ..Freshness::new()
        });
        let (head, _) = watch::channel(0);
        let head = Arc::new(head);
        let ensure = || {
            let (store, fresh, head) = (store.clone(), fresh.clone(), head.clone());
            async move { fresh.ensure(store.as_ref(), &head).await }
        };
        let first = tokio::spawn(ensure());
        store.reading.notified().await;
        // On this one thread the second request runs until it waits for the first's read
        // before this test goes on.
        let (queued, waiting) = oneshot::channel();
        let second = tokio::spawn({
            let ensure = ensure();
            async move {
                let _ = queued.send(());
                ensure.await
            }
        });
        waiting.await.unwrap();
        store.release.notify_one();
        assert!(matches!(
            first.await.unwrap(),
            Err(StorageError::Unavailable(_))
        ));
        assert!(matches!(
            second.await.unwrap(),
            Err(StorageError::Unavailable(_))
        ));
        assert_eq!(store.reads.load(Ordering::SeqCst), 1, "one read, not two");
    }
}
