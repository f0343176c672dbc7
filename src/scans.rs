//! Consumer scans (SPEC.md "Architecture in one paragraph", "Qualities": Durable, Private).
//! Every verification of a decodable token leaves a [`Scan`]: the serial, the time, the region
//! if the client gave one, the verdict, and a salted hash of the client's address, never the
//! address. Scans are high-volume observations kept in their own append-only table, not in the
//! log; detection reads them back per serial (`Store::scans_of`) and retention deletes them by
//! age (`Store::purge_scans`).
//!
//! This module owns the scan record, the client hash ([`ClientHasher`]) and the recorder
//! ([`ScanRecorder`]) that group-commits scans off the response path. It does not know HTTP
//! (the handler builds the scan) nor what scans mean (detection decides that).
//!
//! # Off the response path
//! [`ScanRecorder::record`] never waits: it puts the scan in a bounded queue or, when the queue
//! is full (the database cannot keep up) or closed (the recorder stopped), drops it and counts
//! it in `marktrace_scans_dropped_total`. A verdict is never late because of its scan, and
//! under overload the observations give way, not the verdicts. One writer task takes queued
//! scans in batches of at most `max_batch`, waiting at most `max_delay` after the oldest of
//! them was recorded, and writes each batch in one transaction of multi-row INSERTs.
//!
//! # What a hard crash loses
//! A graceful stop ([`RecorderTask::shutdown`]) writes every queued scan. A `kill -9` (or a
//! power loss) loses exactly the scans that [`ScanRecorder::record`] accepted but that are not
//! yet committed: the queue, and the batch being written if its transaction has not committed.
//! Committed batches survive: each is one transaction, and SQLite runs `synchronous = FULL`.
//! In time: while the writer keeps up, a scan recorded at `t` is committed by
//! `t + max_delay + 2 W`, where `W` is the time of one write (the write in flight when it is
//! taken, then its own); so a crash loses the scans of the last `max_delay + 2 W`, by default
//! 50 ms plus a few milliseconds. A failing database widens that by the retries' back-off
//! (0.7 s in all) before the batch is dropped. In count, whatever the load: never more than
//! `queue + max_batch` scans (by default 65,536 + 4,096 = 69,632).

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::domain::region::RegionCode;
use crate::log::event::hex;
use crate::metrics::Metrics;
use crate::storage::Store;
use crate::verify::verdict::Verdict;

/// One verification of a decodable token, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub serial: u64,
    /// When the verification was answered, in the log's timestamp format
    /// (`crate::clock::now_micros()`).
    pub scanned_at: String,
    /// Where the client said it was, at county level at the finest.
    pub region: Option<RegionCode>,
    pub verdict: Verdict,
    /// [`ClientHasher::hash`] of the client's address.
    pub client: String,
}

/// A scan read back, with the id the table gave it (unique, not in commit order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredScan {
    pub scan_id: u64,
    pub scan: Scan,
}

/// The client salt's file in the keys directory: secret like a key, and the same on every node
/// that shares a database, or one phone counts as a different client on each node.
pub const SALT_FILE: &str = "client-salt";

const SALT_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SaltError {
    #[error("{path}: readable by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    Exposed { path: String, mode: u32 },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: a client salt is exactly {SALT_LEN} bytes, this file holds {len}")]
    Length { path: String, len: usize },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SaltError + '_ {
    move |source| SaltError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Hashes client addresses for the scan table: hex SHA-256 of a 32-byte secret salt followed
/// by the address, so scans of one client can be told apart from another's without keeping
/// anything that names the client. Without the salt, the hash of an IPv4 address would be
/// reversed by trying all 2^32 of them; the salt lives in a file of mode 0600 and never leaves
/// this type (its `Debug` prints nothing of it). Replacing the salt makes every earlier hash
/// unlinkable to later ones, which is also how to forget all clients at once.
///
/// An IPv6 client is hashed by its /64 prefix. A phone's IPv6 privacy address (RFC 8981)
/// changes its interface identifier daily or more often, so hashing the whole address would
/// count one phone as many clients and make "distinct clients" meaningless; a /64 is one
/// subscriber's link (a home network, or a handset's own prefix on a mobile network), which
/// is what an IPv4 address behind NAT identifies too, and it is less personal. An IPv4 address
/// mapped into IPv6 (`::ffff:a.b.c.d`, from a dual-stack socket) is hashed as the IPv4
/// address: its /64 would be the same for every IPv4 client.
#[derive(Clone)]
pub struct ClientHasher {
    salt: [u8; SALT_LEN],
}

impl fmt::Debug for ClientHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHasher").finish_non_exhaustive()
    }
}

impl ClientHasher {
    /// Loads the salt at `path`, refusing a file that group or others may read; creates it
    /// (mode 0600, its directory 0700 if new) on a first start.
    pub fn open(path: &Path) -> Result<ClientHasher, SaltError> {
        if !path.exists() {
            let mut salt = [0; SALT_LEN];
            OsRng.fill_bytes(&mut salt);
            match create(path, &salt) {
                Ok(()) => {
                    tracing::info!(
                        path = %path.display(),
                        "created the client salt: back it up, and copy it to every node \
                         sharing this database"
                    );
                    return Ok(ClientHasher { salt });
                }
                // Another process created it first: use theirs.
                Err(SaltError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        let mode = fs::metadata(path).map_err(io(path))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(SaltError::Exposed {
                path: path.display().to_string(),
                mode: mode & 0o777,
            });
        }
        let bytes = fs::read(path).map_err(io(path))?;
        let salt = bytes.as_slice().try_into().map_err(|_| SaltError::Length {
            path: path.display().to_string(),
            len: bytes.len(),
        })?;
        Ok(ClientHasher { salt })
    }

    /// 64 lowercase hex digits naming the client (its /64 for IPv6).
    pub fn hash(&self, client: IpAddr) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        match client.to_canonical() {
            IpAddr::V4(v4) => hasher.update(v4.octets()),
            IpAddr::V6(v6) => hasher.update(&v6.octets()[..8]),
        }
        hex(&hasher.finalize())
    }
}

/// Writes a new salt file with mode 0600 (its directory 0700 if new); never overwrites.
fn create(path: &Path, salt: &[u8; SALT_LEN]) -> Result<(), SaltError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(io(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
        }
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(salt).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Bounds of the scan recorder.
#[derive(Clone, Debug)]
pub struct RecorderOptions {
    /// Scans that may wait for the writer; beyond that, scans are dropped. At least 1.
    pub queue: usize,
    /// Most scans per transaction. At least 1.
    pub max_batch: usize,
    /// Longest a scan waits for others to share its transaction; the crash loss window.
    pub max_delay: Duration,
    /// Told the serials of every committed batch, so detection runs on committed scans only.
    pub committed_serials: Option<mpsc::Sender<Vec<u64>>>,
}

impl Default for RecorderOptions {
    fn default() -> RecorderOptions {
        RecorderOptions {
            // About two seconds of scans at 30,000 verifications a second: room for a slow
            // commit or a retry, in a few megabytes.
            queue: 65_536,
            max_batch: 4096,
            max_delay: Duration::from_millis(50),
            committed_serials: None,
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
        store: Arc<dyn Store>,
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
            committed_serials: options.committed_serials,
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
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    committed: watch::Sender<u64>,
    max_batch: usize,
    max_delay: Duration,
    committed_serials: Option<mpsc::Sender<Vec<u64>>>,
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
            self.write(&scans).await;
        }
    }

    /// Writes one batch, retrying a failed write; a batch that fails every attempt is dropped
    /// and counted. A commit whose acknowledgement was lost may be written twice: a scan is an
    /// observation, and detection copes with a duplicate better than with a gap.
    async fn write(&self, scans: &[Scan]) {
        let mut backoff = RETRY_BACKOFF;
        for attempt in 1..=WRITE_ATTEMPTS {
            match self.store.insert_scans(scans).await {
                Ok(()) => {
                    self.metrics.scan_commit(scans.len());
                    self.committed.send_modify(|n| *n += scans.len() as u64);
                    if let Some(detection) = &self.committed_serials {
                        // Waiting here slows the writer, and the queue absorbs it: detection
                        // must see every committed scan, or a threshold crossing goes unseen.
                        let serials = scans.iter().map(|s| s.serial).collect();
                        let _ = detection.send(serials).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> ClientHasher {
        ClientHasher {
            salt: [7; SALT_LEN],
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_ipv6_client_is_one_client_across_its_privacy_addresses_within_its_64() {
        let h = hasher();
        let phone = h.hash(ip("2001:db8:1:2:a1b2:c3d4:e5f6:789"));
        assert_eq!(phone, h.hash(ip("2001:db8:1:2:1111:2222:3333:4444")));
        assert_ne!(phone, h.hash(ip("2001:db8:1:3:a1b2:c3d4:e5f6:789")));
        assert_eq!(phone.len(), 64);
        assert!(
            phone
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn an_ipv4_client_is_hashed_alike_when_mapped_into_ipv6_and_apart_from_its_neighbour() {
        let h = hasher();
        let v4 = h.hash(ip("203.0.113.7"));
        assert_eq!(v4, h.hash(ip("::ffff:203.0.113.7")));
        assert_ne!(v4, h.hash(ip("203.0.113.8")));
        assert_ne!(h.hash(ip("::ffff:203.0.113.8")), v4);
    }

    #[test]
    fn a_created_salt_is_private_and_gives_the_same_hashes_when_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join(SALT_FILE);
        let first = ClientHasher::open(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = ClientHasher::open(&path).unwrap();
        assert_eq!(first.hash(ip("203.0.113.7")), again.hash(ip("203.0.113.7")));
        assert_eq!(format!("{first:?}"), "ClientHasher { .. }");
    }

    #[test]
    fn a_salt_readable_by_others_or_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SALT_FILE);
        ClientHasher::open(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = ClientHasher::open(&path).unwrap_err();
        assert!(
            matches!(err, SaltError::Exposed { mode: 0o644, .. }),
            "{err}"
        );

        fs::write(&path, [1; 16]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let err = ClientHasher::open(&path).unwrap_err();
        assert!(matches!(err, SaltError::Length { len: 16, .. }), "{err}");
    }
}
