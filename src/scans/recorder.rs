//! The recorder: scans queued without waiting and written in group commits by one task (the
//! module documentation of [`crate::scans`] gives the loss window).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::store::{Scan, ScanStore};
use crate::metrics::Metrics;

/// Bounds of the scan recorder.
#[derive(Clone, Debug)]
pub struct RecorderOptions {
    /// Scans that may wait for the writer; beyond that, scans are dropped. At least 1.
    pub queue: usize,
    /// Most scans per transaction. At least 1.
    pub max_batch: usize,
    /// Longest a scan waits for others to share its transaction; the crash loss window.
    pub max_delay: Duration,
    /// Given every committed batch, so detection runs on committed scans only.
    pub committed: Option<mpsc::Sender<Vec<Scan>>>,
}

impl Default for RecorderOptions {
    fn default() -> RecorderOptions {
        RecorderOptions {
            // About two seconds of scans at 30,000 verifications a second: room for a slow
            // commit or a retry, in a few megabytes.
            queue: 65_536,
            max_batch: 4096,
            max_delay: Duration::from_millis(50),
            committed: None,
        }
    }
}

/// Write attempts per batch before it is dropped, and the back-off before the first retry,
/// doubled for each further one (0.1 + 0.2 + 0.4 s). Short, because scans keep arriving: a
/// longer wait would only trade this batch for the queue's newer ones.
const WRITE_ATTEMPTS: u32 = 4;
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// A scan in the queue, with when it was recorded: its batch's deadline counts from there.
struct Queued {
    at: Instant,
    scan: Scan,
}

/// Records scans without waiting: a cheap handle to the queue of the writer task.
#[derive(Clone)]
pub struct ScanRecorder {
    queue: mpsc::Sender<Queued>,
    committed: watch::Receiver<u64>,
    metrics: Arc<Metrics>,
}

/// The writer task of a [`ScanRecorder`]. Dropping it leaves the writer running until every
/// recorder handle is gone; [`RecorderTask::shutdown`] stops it and writes what is queued.
#[must_use = "call `shutdown` at a graceful stop, or queued scans are lost"]
pub struct RecorderTask {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl ScanRecorder {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(
        store: Arc<dyn ScanStore>,
        metrics: Arc<Metrics>,
        options: RecorderOptions,
    ) -> (ScanRecorder, RecorderTask) {
        // A zero would make the channel panic, and `recv_many` take nothing forever.
        let (queue, rx) = mpsc::channel(options.queue.max(1));
        let (committed_tx, committed) = watch::channel(0);
        let (stop, stopped) = oneshot::channel();
        let writer = Writer {
            store,
            metrics: metrics.clone(),
            committed: committed_tx,
            max_batch: options.max_batch.max(1),
            max_delay: options.max_delay,
            detection: options.committed,
        };
        let task = tokio::spawn(writer.run(rx, stopped));
        let recorder = ScanRecorder {
            queue,
            committed,
            metrics,
        };
        (recorder, RecorderTask { stop, task })
    }

    /// Queues a scan for the next batch, or drops and counts it when the queue is full or
    /// the recorder stopped. Never blocks, never awaits.
    pub fn record(&self, scan: Scan) {
        let queued = Queued {
            at: Instant::now(),
            scan,
        };
        // Counted, not logged: a line per dropped scan would add load exactly when the
        // process is overloaded.
        if self.queue.try_send(queued).is_err() {
            self.metrics.scans_dropped(1);
        }
    }

    /// The number of scans this recorder has committed so far; changes after each commit.
    pub fn committed(&self) -> watch::Receiver<u64> {
        self.committed.clone()
    }
}

impl RecorderTask {
    /// Closes the queue (later scans are dropped and counted) and returns once every scan
    /// queued before has been written, or dropped after failing every write attempt.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the scan recorder failed");
        }
    }
}

struct Writer {
    store: Arc<dyn ScanStore>,
    metrics: Arc<Metrics>,
    committed: watch::Sender<u64>,
    max_batch: usize,
    max_delay: Duration,
    detection: Option<mpsc::Sender<Vec<Scan>>>,
}

impl Writer {
    async fn run(self, mut queue: mpsc::Receiver<Queued>, stopped: oneshot::Receiver<()>) {
        // Only an explicit shutdown stops the writer; a dropped `RecorderTask` does not.
        let stop = async move {
            if stopped.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(stop);
        let mut stopping = false;
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            tokio::select! {
                taken = queue.recv_many(&mut batch, self.max_batch) => {
                    // Zero only once the queue is closed and empty: everything is written.
                    if taken == 0 {
                        return;
                    }
                }
                () = &mut stop, if !stopping => {
                    // Refuse new scans, but write every one already queued.
                    queue.close();
                    stopping = true;
                    continue;
                }
            }
            // Gather until the oldest scan's deadline; when stopping, take only what is
            // queued, without waiting for more.
            let deadline = batch[0].at + self.max_delay;
            while batch.len() < self.max_batch && !stopping {
                let room = self.max_batch - batch.len();
                tokio::select! {
                    taken = queue.recv_many(&mut batch, room) => {
                        if taken == 0 {
                            break;
                        }
                    }
                    () = tokio::time::sleep_until(deadline) => break,
                    () = &mut stop => {
                        queue.close();
                        stopping = true;
                    }
                }
            }
            let scans: Vec<Scan> = batch.drain(..).map(|q| q.scan).collect();
            self.write(scans).await;
        }
    }

    /// Writes one batch, retrying a failed write; a batch that fails every attempt is dropped
    /// and counted. A commit whose acknowledgement was lost may be written twice: a scan is an
    /// observation, and detection copes with a duplicate better than with a gap.
    async fn write(&self, scans: Vec<Scan>) {
        let mut backoff = RETRY_BACKOFF;
        for attempt in 1..=WRITE_ATTEMPTS {
            match self.store.insert_scans(&scans).await {
                Ok(()) => {
                    self.metrics.scan_commit(scans.len());
                    self.committed.send_modify(|n| *n += scans.len() as u64);
                    if let Some(detection) = &self.detection {
                        // Waiting here slows the writer, and the queue absorbs it: detection
                        // must see every committed scan, or a threshold crossing goes unseen.
                        let _ = detection.send(scans).await;
                    }
                    return;
                }
                Err(error) if attempt < WRITE_ATTEMPTS => {
                    tracing::warn!(%error, attempt, scans = scans.len(), "writing scans failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                Err(error) => {
                    tracing::error!(%error, scans = scans.len(), "writing scans failed; dropping them");
                    self.metrics.scans_dropped(scans.len());
                }
            }
        }
    }
}
