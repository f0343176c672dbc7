//! `marktrace log verify`: the operator's and auditor's check that the stored log is what its
//! signed checkpoints say. It recomputes every leaf from the stored event (the data's SHA-256
//! from the data itself), rebuilds the tree, and checks every stored checkpoint's signature,
//! origin, size and root against the rebuilt tree, the stored tiles that proofs and monitors
//! read, and the log head. Because every checkpoint root is compared with one tree rebuilt
//! from the entries, consecutive checkpoints are consistent exactly when they all pass; this
//! is stronger than checking consistency proofs, which take the stored tiles on trust.
//! The first disagreement is reported with the entry index it concerns.

use super::merkle::{Frontier, Hash, HashRange, StoredNode};
use super::note::{Checkpoint, NoteVerifier, open};
use super::proofs::read_hashes;
use super::records::{StorageError, StoredCheckpoint};
use super::store::LogStore;

/// Entries (and leaf hashes) read per page.
const PAGE: u32 = 4096;

/// What a successful audit covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    pub size: u64,
    pub root: Hash,
    /// Entries whose leaf hashes were recomputed from their data (those from `--from` on).
    pub recomputed: u64,
    pub checkpoints: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("entry {index}: {problem}")]
    Entry { index: u64, problem: String },
    #[error("checkpoint of size {size} (entries up to index {last}): {problem}", last = size.saturating_sub(1))]
    Checkpoint { size: u64, problem: String },
    #[error("the stored tree hash at level {level}, index {index} (entries from {first}): differs from the entries", first = index << level)]
    Tile { level: u8, index: u64 },
    #[error("the log head: {0}")]
    Head(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Audits the log up to its current head. Entries before `from` are taken by their stored leaf
/// hashes (to resume a long audit); from `from` on, each leaf is recomputed from its data.
pub async fn verify(
    store: &dyn LogStore,
    verifier: &NoteVerifier,
    from: u64,
) -> Result<AuditReport, AuditError> {
    let head = store.log_head().await?;
    let size = head.size();
    let from = from.min(size);
    let mut audit = Audit {
        store,
        verifier,
        frontier: Frontier::default(),
        pending: Vec::new(),
        checkpoints: Vec::new(),
        next_checkpoint_size: from,
        checked: 0,
        size,
    };
    audit.load_checkpoints().await?;
    // Before `from`: stored leaf hashes, trusted.
    let mut index = 0;
    while index < from {
        let end = from.min(index + u64::from(PAGE));
        let range = HashRange {
            level: 0,
            start: index,
            end,
        };
        for leaf in read_hashes(store, &[range]).await?.concat() {
            audit.push(leaf);
        }
        // Trusted, so not compared with the tiles they were read from.
        audit.pending.clear();
        index = end;
    }
    audit.check_checkpoints().await?;
    // From `from`: every leaf recomputed from the stored event.
    while index < size {
        let events = store.read_log(index, PAGE).await?;
        for event in events.iter().take_while(|e| e.index < size) {
            if event.index != index {
                return Err(missing(index, size));
            }
            if event.recomputed_leaf_hash() != event.leaf_hash {
                return Err(AuditError::Entry {
                    index,
                    problem: "its stored data or envelope fields do not hash to its leaf hash"
                        .into(),
                });
            }
            audit.push(event.leaf_hash);
            audit.check_checkpoints().await?;
            index += 1;
        }
        audit.check_tiles().await?;
        if events.len() < PAGE as usize && index < size {
            return Err(missing(index, size));
        }
    }
    audit.check_checkpoints().await?;
    audit.check_tiles().await?;
    if audit.frontier != head {
        return Err(AuditError::Head(format!(
            "its frontier at size {size} differs from the tree of the entries"
        )));
    }
    Ok(AuditReport {
        size,
        root: audit.frontier.root(),
        recomputed: size - from,
        checkpoints: audit.checked,
    })
}

fn missing(index: u64, size: u64) -> AuditError {
    AuditError::Entry {
        index,
        problem: format!("missing, though the log head records {size} entries"),
    }
}

struct Audit<'a> {
    store: &'a dyn LogStore,
    verifier: &'a NoteVerifier,
    frontier: Frontier,
    /// Hashes of the rebuilt tree not yet compared with the stored tiles: leaves at level 0,
    /// completed subtrees at levels 8, 16, ...
    pending: Vec<StoredNode>,
    /// Checkpoints not yet reached, smallest size last.
    checkpoints: Vec<StoredCheckpoint>,
    next_checkpoint_size: u64,
    checked: u64,
    size: u64,
}

impl Audit<'_> {
    fn push(&mut self, leaf: Hash) {
        let index = self.frontier.size();
        self.pending.push(StoredNode {
            level: 0,
            index,
            hash: leaf,
        });
        self.pending.extend(self.frontier.push(leaf));
    }

    async fn load_checkpoints(&mut self) -> Result<(), StorageError> {
        if self.checkpoints.is_empty() && self.next_checkpoint_size <= self.size {
            let mut page = self
                .store
                .read_checkpoints(self.next_checkpoint_size, PAGE)
                .await?;
            page.retain(|c| c.size <= self.size);
            if let Some(last) = page.last() {
                self.next_checkpoint_size = last.size + 1;
            } else {
                self.next_checkpoint_size = self.size + 1;
            }
            page.reverse();
            self.checkpoints = page;
        }
        Ok(())
    }

    /// Checks every checkpoint of the size the rebuilt tree has reached.
    async fn check_checkpoints(&mut self) -> Result<(), AuditError> {
        loop {
            self.load_checkpoints().await?;
            let Some(checkpoint) = self.checkpoints.last() else {
                return Ok(());
            };
            if checkpoint.size > self.frontier.size() {
                return Ok(());
            }
            let size = checkpoint.size;
            let fail = |problem: String| AuditError::Checkpoint { size, problem };
            let text = open(&checkpoint.note, self.verifier)
                .map_err(|e| fail(format!("its signature does not verify: {e}")))?;
            let body = Checkpoint::parse(text).map_err(|e| fail(e.to_string()))?;
            if body.origin != self.verifier.name() {
                return Err(fail(format!("it names origin {:?}", body.origin)));
            }
            if body.size != size || body.root != checkpoint.root {
                return Err(fail(
                    "its signed body differs from its stored size and root".into(),
                ));
            }
            if checkpoint.size < self.frontier.size() || body.root != self.frontier.root() {
                return Err(fail("its root differs from the tree of the entries".into()));
            }
            self.checked += 1;
            self.checkpoints.pop();
        }
    }

    /// Compares the hashes the rebuilt tree produced with the stored tiles.
    async fn check_tiles(&mut self) -> Result<(), AuditError> {
        let pending = std::mem::take(&mut self.pending);
        let ranges: Vec<HashRange> = pending
            .iter()
            .map(|n| HashRange {
                level: n.level,
                start: n.index,
                end: n.index + 1,
            })
            .collect();
        let stored = read_hashes(self.store, &ranges).await?;
        for (node, stored) in pending.iter().zip(stored) {
            if stored[0] != node.hash {
                return Err(AuditError::Tile {
                    level: node.level,
                    index: node.index,
                });
            }
        }
        Ok(())
    }
}
