//! Reading the log as a Merkle tree: inclusion and consistency proofs for any tree size up to
//! the current one (checkpointed or not), roots of past sizes, C2SP tiles and entry bundles,
//! and `tlog-proof` bundles. Everything is computed from the stored tiles through
//! `merkle::ProofPlan`, so a proof reads a few tile rows in one query whatever the log's size.

use std::collections::{BTreeSet, HashMap};

use super::Log;
use super::merkle::{Hash, HashRange, MerkleError, ProofPlan};
use super::records::{StorageError, StoredCheckpoint};
use super::store::LogStore;
use super::tiles::{TILE_HEIGHT, TILE_WIDTH, TileKind, TilePath};

/// The first line of a C2SP `tlog-proof`.
const TLOG_PROOF_V1: &str = "c2sp.org/tlog-proof@v1";

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("tree size {size} is beyond the log's {log_size} entries")]
    SizeBeyondLog { size: u64, log_size: u64 },
    #[error(transparent)]
    Merkle(#[from] MerkleError),
    #[error("tile {0} does not exist (yet) in this log")]
    NoSuchTile(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Log {
    /// The RFC 9162 inclusion proof of entry `index` in the tree of `size` entries.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size).await?;
        self.run(&ProofPlan::inclusion(index, size)?).await
    }

    /// The RFC 9162 consistency proof between the trees of `from` and `to` entries.
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(to).await?;
        self.run(&ProofPlan::consistency(from, to)?).await
    }

    /// The root of the tree of `size` entries.
    pub async fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size(size).await?;
        let hashes = self.run(&ProofPlan::root(size)?).await?;
        Ok(hashes[0])
    }

    /// The checkpoint of the largest tree, signed when it was committed.
    pub async fn latest_checkpoint(&self) -> Result<StoredCheckpoint, StorageError> {
        self.store()
            .latest_checkpoint()
            .await?
            .ok_or_else(|| StorageError::Corrupt("the log has no signed checkpoint".into()))
    }

    /// The checkpoint signed for the tree of `size` entries, if one was.
    pub async fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StorageError> {
        let found = self.store().read_checkpoints(size, 1).await?;
        Ok(found.into_iter().next().filter(|c| c.size == size))
    }

    /// A C2SP `tlog-proof@v1` for entry `index` against `checkpoint` (its note as it is to be
    /// served, cosignatures included): everything a third party needs to check offline that
    /// the entry is in the log.
    pub async fn proof_bundle(
        &self,
        index: u64,
        checkpoint: &StoredCheckpoint,
    ) -> Result<String, ProofError> {
        let proof = self
            .run(&ProofPlan::inclusion(index, checkpoint.size)?)
            .await?;
        Ok(proof_bundle_text(index, &proof, &checkpoint.note))
    }

    /// The bytes of a tile: concatenated hashes, or length-prefixed envelopes for an entry
    /// bundle. Only tiles the current tree fully covers exist.
    pub async fn tile(&self, tile: &TilePath) -> Result<Vec<u8>, ProofError> {
        let size = self.store().log_size().await?;
        let missing = || ProofError::NoSuchTile(tile.to_string());
        let start = tile.index.checked_mul(TILE_WIDTH).ok_or_else(missing)?;
        let end = start + tile.width();
        match tile.kind {
            TileKind::Hashes { level } => {
                let tree_level = level * 8;
                let available = size.checked_shr(u32::from(tree_level)).unwrap_or(0);
                if end > available {
                    return Err(missing());
                }
                let range = HashRange {
                    level: tree_level,
                    start,
                    end,
                };
                let hashes = read_hashes(self.store().as_ref(), &[range]).await?;
                Ok(hashes.concat().concat())
            }
            TileKind::Entries => {
                if end > size {
                    return Err(missing());
                }
                let events = self.read(start, tile.width() as u32).await?;
                let mut bundle = Vec::new();
                for event in &events {
                    let envelope = event.envelope();
                    // SPEC.md bounds every envelope far below 65,535 bytes.
                    let len = u16::try_from(envelope.len()).map_err(|_| {
                        StorageError::Corrupt(format!("entry {} is too long", event.index))
                    })?;
                    bundle.extend_from_slice(&len.to_be_bytes());
                    bundle.extend_from_slice(envelope.as_bytes());
                }
                Ok(bundle)
            }
        }
    }

    /// Sizes up to the head this process knows need no query; beyond it, another node may
    /// have appended, so the stored head decides.
    async fn check_size(&self, size: u64) -> Result<(), ProofError> {
        if size <= self.size() {
            return Ok(());
        }
        let log_size = self.store().log_size().await?;
        if size > log_size {
            return Err(ProofError::SizeBeyondLog { size, log_size });
        }
        Ok(())
    }

    async fn run(&self, plan: &ProofPlan) -> Result<Vec<Hash>, ProofError> {
        let fetched = read_hashes(self.store().as_ref(), &plan.ranges()).await?;
        Ok(plan.finish(&fetched)?)
    }
}

/// The C2SP `tlog-proof@v1` text: header, index, the proof hashes one per line, a blank line,
/// then the signed checkpoint verbatim.
pub fn proof_bundle_text(index: u64, proof: &[Hash], checkpoint_note: &str) -> String {
    use base64::Engine;
    let mut text = format!("{TLOG_PROOF_V1}\nindex {index}\n");
    for hash in proof {
        text.push_str(&base64::engine::general_purpose::STANDARD.encode(hash));
        text.push('\n');
    }
    text.push('\n');
    text.push_str(checkpoint_note);
    text
}

/// Reads stored hashes out of the tiles that hold them: for each range (at a tree level that is
/// a multiple of 8), its hashes in order. All tiles are fetched in one query.
pub(super) async fn read_hashes(
    store: &dyn LogStore,
    ranges: &[HashRange],
) -> Result<Vec<Vec<Hash>>, StorageError> {
    let mut keys = BTreeSet::new();
    for range in ranges.iter().filter(|r| r.start < r.end) {
        let level = range.level / TILE_HEIGHT;
        for tile in range.start / TILE_WIDTH..=(range.end - 1) / TILE_WIDTH {
            keys.insert((level, tile));
        }
    }
    let keys: Vec<(u8, u64)> = keys.into_iter().collect();
    let tiles: HashMap<(u8, u64), Vec<u8>> = store
        .read_tiles(&keys)
        .await?
        .into_iter()
        .map(|t| ((t.level, t.index), t.hashes))
        .collect();
    ranges
        .iter()
        .map(|range| {
            let level = range.level / TILE_HEIGHT;
            (range.start..range.end)
                .map(|i| {
                    let offset = (i % TILE_WIDTH) as usize * 32;
                    tiles
                        .get(&(level, i / TILE_WIDTH))
                        .and_then(|t| t.get(offset..offset + 32))
                        .map(|h| h.try_into().expect("32 bytes"))
                        .ok_or_else(|| {
                            StorageError::Corrupt(format!(
                                "hash {i} of tree level {} is missing from its tile",
                                range.level
                            ))
                        })
                })
                .collect()
        })
        .collect()
}
