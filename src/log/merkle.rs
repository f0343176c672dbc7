//! The RFC 6962 / RFC 9162 §2.1 Merkle tree over the log's entries: leaf and node hashing, the
//! [`Frontier`] that appends leaves and says which subtree hashes to keep, [`ProofPlan`]s that
//! turn an inclusion, consistency or old-root request into reads of those kept hashes, and the
//! RFC 9162 verification algorithms. It owns no storage and does no I/O: a caller fetches the
//! hash ranges a plan names and hands them back. What an entry's bytes are belongs to the event
//! encoding, and where hashes live belongs to the storage layer.
//!
//! Storage keeps leaf hashes and the hashes of complete subtrees at levels 8, 16, 24, … only,
//! which is the C2SP tlog-tiles layout (tile level L holds tree level 8L). Any complete subtree
//! at level `8a + b` is then at most 2^7 stored hashes away, so no proof needs more than a few
//! hundred hashes per 8 levels of height.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, a subtree hash or a tree root.
pub type Hash = [u8; 32];

/// Stored levels are the multiples of this many tree levels.
const STRIDE: u8 = 8;

/// Stored hashes at one level are grouped in tiles of this many; a plan never asks for a range
/// that crosses a tile, so a tile-backed store serves each range from one tile.
const TILE_WIDTH: u64 = 1 << STRIDE;

/// Why a proof could not be planned, assembled or verified.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    #[error("index {index} is not below tree size {size}")]
    IndexBeyondSize { index: u64, size: u64 },
    #[error("a consistency proof from the empty tree proves nothing")]
    ConsistencyFromEmptyTree,
    #[error("tree size {from} is larger than tree size {to}")]
    SizesOutOfOrder { from: u64, to: u64 },
    #[error("the proof has the wrong number of hashes for these tree sizes")]
    WrongProofLength,
    #[error("the proof does not lead to the expected root hash")]
    RootMismatch,
    #[error("a tree of u64::MAX leaves has no room for another")]
    TreeFull,
    #[error("a frontier for tree size {size} is {want} bytes, got {got}")]
    FrontierLength { size: u64, want: usize, got: usize },
    #[error("the plan reads {want} hash ranges, got {got}")]
    FetchedRangeCount { want: usize, got: usize },
    #[error("hash range {range} of the plan holds {want} hashes, got {got}")]
    FetchedRangeLength { range: usize, want: u64, got: usize },
}

/// SHA-256(0x00 || entry): the 0x00 prefix keeps a leaf from passing for an inner node.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(entry)
        .finalize()
        .into()
}

/// SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The root of the tree with no leaves, SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `MTH(D[n])` of RFC 9162 §2.1.1 over hashes that are already leaf hashes. Each hash is combined
/// once, so this is O(n); the recursion is only log n deep.
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(1 << (leaves.len() - 1).ilog2());
            node_hash(&root_from_leaves(left), &root_from_leaves(right))
        }
    }
}

/// A complete subtree hash that storage keeps: `level` is a positive multiple of 8 and the
/// subtree's first leaf is `index << level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredNode {
    pub level: u8,
    pub index: u64,
    pub hash: Hash,
}

/// The right edge of the tree: enough to append a leaf and compute the root without reading any
/// earlier hash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One complete subtree hash per set bit of `size`, the largest (leftmost) first.
    subtrees: Vec<Hash>,
}

impl Frontier {
    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root: the subtrees folded from the right, H(s_big, H(…, H(s1, s0))).
    pub fn root(&self) -> Hash {
        fold_right(&self.subtrees)
    }

    /// Appends a leaf hash and returns the subtrees it completed at stored levels (8, 16, …),
    /// lowest first, for the caller to keep.
    ///
    /// # Panics
    /// If the tree already holds `u64::MAX` leaves, which takes that many pushes:
    /// [`Frontier::from_parts`] refuses a full tree.
    pub fn push(&mut self, leaf: Hash) -> Vec<StoredNode> {
        let new_size = self
            .size
            .checked_add(1)
            .expect("a tree cannot hold more than u64::MAX leaves");
        // Each trailing one bit of the old size is a subtree the new leaf completes; there are
        // at least that many subtrees because there is one per set bit.
        let merges = self.size.trailing_ones() as usize;
        let keep = self.subtrees.len().saturating_sub(merges);
        let mut hash = leaf;
        let mut stored = Vec::new();
        for (level, left) in (1u8..).zip(self.subtrees.drain(keep..).rev()) {
            hash = node_hash(&left, &hash);
            if level % STRIDE == 0 {
                stored.push(StoredNode {
                    level,
                    index: (new_size >> level) - 1,
                    hash,
                });
            }
        }
        self.subtrees.push(hash);
        self.size = new_size;
        stored
    }

    /// The subtree hashes concatenated, largest first; [`Frontier::from_parts`] reverses it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.subtrees.concat()
    }

    /// Rebuilds a frontier from its size and [`Frontier::to_bytes`].
    pub fn from_parts(size: u64, bytes: &[u8]) -> Result<Frontier, MerkleError> {
        // Refused so that a corrupt stored size cannot make the next push overflow.
        if size == u64::MAX {
            return Err(MerkleError::TreeFull);
        }
        let want = size.count_ones() as usize * 32;
        if bytes.len() != want {
            return Err(MerkleError::FrontierLength {
                size,
                want,
                got: bytes.len(),
            });
        }
        let subtrees = bytes
            .chunks_exact(32)
            .map(|chunk| {
                let mut hash = [0; 32];
                hash.copy_from_slice(chunk);
                hash
            })
            .collect();
        Ok(Frontier { size, subtrees })
    }
}

/// Stored hashes `[start, end)` at tree level `level`, a multiple of 8 (0 for leaf hashes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashRange {
    pub level: u8,
    pub start: u64,
    pub end: u64,
}

/// How to build a proof (or an old root) from stored hashes, in two pure steps: [`ranges`] says
/// what to read, [`finish`] hashes what was read. Keeping I/O out lets one plan serve any store
/// and lets the store batch its reads.
///
/// [`ranges`]: ProofPlan::ranges
/// [`finish`]: ProofPlan::finish
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    ranges: Vec<HashRange>,
    /// One entry per output hash: the complete subtrees that make it up, largest first.
    outputs: Vec<Vec<Slice>>,
}

/// Fetched hashes `fetched[range][offset..offset + count]`, whose MTH is one complete subtree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slice {
    range: usize,
    offset: usize,
    count: usize,
}

impl ProofPlan {
    /// The RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion(index: u64, size: u64) -> Result<ProofPlan, MerkleError> {
        if index >= size {
            return Err(MerkleError::IndexBeyondSize { index, size });
        }
        Ok(Self::from_leaf_ranges(&inclusion_path(index, size)))
    }

    /// The RFC 9162 §2.1.4.1 consistency proof from tree size `from` to `to`; empty when they
    /// are equal.
    pub fn consistency(from: u64, to: u64) -> Result<ProofPlan, MerkleError> {
        if from == 0 {
            return Err(MerkleError::ConsistencyFromEmptyTree);
        }
        if from > to {
            return Err(MerkleError::SizesOutOfOrder { from, to });
        }
        Ok(Self::from_leaf_ranges(&consistency_path(from, to)))
    }

    /// The root of the tree of `size` leaves, for serving checkpoints older than the frontier.
    /// The store may be ahead of `size`: a subtree complete at `size` is complete ever after.
    /// No size is refused; the `Result` keeps every plan constructor alike for callers.
    pub fn root(size: u64) -> Result<ProofPlan, MerkleError> {
        Ok(Self::from_leaf_ranges(&[(0, size)]))
    }

    /// The hash ranges to read, at most one per tile of each stored level, in (level, start)
    /// order.
    pub fn ranges(&self) -> Vec<HashRange> {
        self.ranges.clone()
    }

    /// Hashes what was read, `fetched[i]` holding the hashes of `ranges()[i]` in order, into the
    /// proof in RFC 9162 order (for [`ProofPlan::root`], the one root hash).
    pub fn finish(&self, fetched: &[Vec<Hash>]) -> Result<Vec<Hash>, MerkleError> {
        if fetched.len() != self.ranges.len() {
            return Err(MerkleError::FetchedRangeCount {
                want: self.ranges.len(),
                got: fetched.len(),
            });
        }
        for (range, (wanted, got)) in self.ranges.iter().zip(fetched).enumerate() {
            let want = wanted.end - wanted.start;
            if got.len() as u64 != want {
                return Err(MerkleError::FetchedRangeLength {
                    range,
                    want,
                    got: got.len(),
                });
            }
        }
        // Every slice lies inside its range by construction, and the lengths are now checked,
        // so the indexing below cannot go out of bounds.
        Ok(self
            .outputs
            .iter()
            .map(|slices| {
                let subtrees: Vec<Hash> = slices
                    .iter()
                    .map(|s| root_from_leaves(&fetched[s.range][s.offset..s.offset + s.count]))
                    .collect();
                fold_right(&subtrees)
            })
            .collect())
    }

    /// Plans the MTH of each leaf range `[lo, hi)`. Each range is split into complete subtrees;
    /// a subtree at level `8a + b` is read as 2^b stored hashes at level 8a, which never cross
    /// a tile because 2^b divides 256. Reads in the same tile are merged into one span: every
    /// index below a complete node at a level is complete too, so the span holds only hashes
    /// the store has.
    fn from_leaf_ranges(leaf_ranges: &[(u64, u64)]) -> ProofPlan {
        let pieces: Vec<Vec<(u8, u64, u64)>> = leaf_ranges
            .iter()
            .map(|&(lo, hi)| {
                complete_subtrees(lo, hi)
                    .into_iter()
                    .map(|(start, level)| {
                        let stored = level - level % STRIDE;
                        (stored, start >> stored, 1u64 << (level % STRIDE))
                    })
                    .collect()
            })
            .collect();

        let mut spans: BTreeMap<(u8, u64), (u64, u64)> = BTreeMap::new();
        for &(level, index, count) in pieces.iter().flatten() {
            let span = spans
                .entry((level, index / TILE_WIDTH))
                .or_insert((index, index + count));
            span.0 = span.0.min(index);
            span.1 = span.1.max(index + count);
        }
        let ranges: Vec<HashRange> = spans
            .iter()
            .map(|(&(level, _), &(start, end))| HashRange { level, start, end })
            .collect();
        let position: BTreeMap<(u8, u64), usize> = spans
            .keys()
            .enumerate()
            .map(|(i, &tile)| (tile, i))
            .collect();

        let outputs = pieces
            .iter()
            .map(|piece| {
                piece
                    .iter()
                    .map(|&(level, index, count)| {
                        let range = position[&(level, index / TILE_WIDTH)];
                        Slice {
                            range,
                            // Both are below the tile width, so they fit any usize.
                            offset: (index - ranges[range].start) as usize,
                            count: count as usize,
                        }
                    })
                    .collect()
            })
            .collect();
        ProofPlan { ranges, outputs }
    }
}

/// Splits the leaves `[lo, hi)` into complete subtrees `(first leaf, level)`, left to right.
/// For the ranges RFC 9162 proofs use, `lo` is aligned, so this is largest first.
fn complete_subtrees(mut lo: u64, hi: u64) -> Vec<(u64, u8)> {
    let mut out = Vec::new();
    while lo < hi {
        let level = lo.trailing_zeros().min((hi - lo).ilog2());
        out.push((lo, level as u8));
        lo += 1 << level;
    }
    out
}

/// The leaf ranges whose MTHs form PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), in proof order:
/// the sibling nearest the leaf first.
fn inclusion_path(index: u64, size: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0, size);
    let mut path = Vec::new();
    while hi - lo > 1 {
        let mid = lo + (1 << (hi - lo - 1).ilog2());
        if index < mid {
            path.push((mid, hi));
            hi = mid;
        } else {
            path.push((lo, mid));
            lo = mid;
        }
    }
    path.reverse();
    path
}

/// The leaf ranges whose MTHs form SUBPROOF(from, D[0:to], true) (RFC 9162 §2.1.4.1), in proof
/// order.
fn consistency_path(from: u64, to: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0, to);
    // The RFC's flag b: whether D[lo:hi] is a subtree whose hash the verifier already has,
    // which holds only while the descent has stayed on the left edge.
    let mut known = true;
    let mut path = Vec::new();
    while from < hi {
        let mid = lo + (1 << (hi - lo - 1).ilog2());
        if from <= mid {
            path.push((mid, hi));
            hi = mid;
        } else {
            path.push((lo, mid));
            lo = mid;
            known = false;
        }
    }
    if !known {
        path.push((lo, hi));
    }
    path.reverse();
    path
}

/// H(h0, H(h1, … H(h_{n-2}, h_{n-1}))): the MTH of adjacent complete subtrees given largest
/// first; the empty root when there are none.
fn fold_right(subtrees: &[Hash]) -> Hash {
    let mut from_right = subtrees.iter().rev();
    match from_right.next() {
        None => empty_root(),
        Some(last) => from_right.fold(*last, |acc, left| node_hash(left, &acc)),
    }
}

/// Verifies that `leaf` is the leaf hash at `index` in the tree of `size` leaves with `root`,
/// by the algorithm of RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexBeyondSize { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(MerkleError::WrongProofLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(MerkleError::WrongProofLength);
    }
    if r != *root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `to` leaves with `to_root` extends the tree of `from` leaves with
/// `from_root`, by the algorithm of RFC 9162 §2.1.4.2. Like transparency-dev/merkle, it
/// rejects `from == 0`: every tree extends the empty one, so such a proof would vouch for
/// nothing, and accepting it would let a caller mistake it for evidence.
pub fn verify_consistency(
    from: u64,
    to: u64,
    proof: &[Hash],
    from_root: &Hash,
    to_root: &Hash,
) -> Result<(), MerkleError> {
    if from == 0 {
        return Err(MerkleError::ConsistencyFromEmptyTree);
    }
    if from > to {
        return Err(MerkleError::SizesOutOfOrder { from, to });
    }
    if from == to {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength);
        }
        if from_root != to_root {
            return Err(MerkleError::RootMismatch);
        }
        return Ok(());
    }
    // The RFC checks for an empty proof before prepending the first root, so a power-of-two
    // `from` does not make an empty proof acceptable.
    let (seed, rest) = match proof.split_first() {
        None => return Err(MerkleError::WrongProofLength),
        Some(_) if from.is_power_of_two() => (from_root, proof),
        Some((first, rest)) => (first, rest),
    };
    let (mut fnode, mut snode) = (from - 1, to - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if snode == 0 {
            return Err(MerkleError::WrongProofLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(MerkleError::WrongProofLength);
    }
    if fr != *from_root || sr != *to_root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct stand-ins for leaf hashes; hashing them would only slow the tests.
    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| {
                let mut hash = [0xa5; 32];
                hash[..8].copy_from_slice(&i.to_be_bytes());
                hash
            })
            .collect()
    }

    /// Serves a plan straight from the leaves, recomputing each stored hash.
    fn serve(plan: &ProofPlan, leaves: &[Hash]) -> Vec<Vec<Hash>> {
        plan.ranges()
            .iter()
            .map(|r| {
                (r.start..r.end)
                    .map(|i| {
                        let width = 1usize << r.level;
                        let first = i as usize * width;
                        root_from_leaves(&leaves[first..first + width])
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_proof_for_an_index_beyond_the_size_is_rejected() {
        assert_eq!(
            ProofPlan::inclusion(7, 5),
            Err(MerkleError::IndexBeyondSize { index: 7, size: 5 })
        );
        assert!(ProofPlan::inclusion(0, 0).is_err());
        let leaf = leaf_hash(b"x");
        assert_eq!(
            verify_inclusion(5, 5, &leaf, &[], &leaf),
            Err(MerkleError::IndexBeyondSize { index: 5, size: 5 })
        );
        assert_eq!(
            MerkleError::IndexBeyondSize { index: 7, size: 5 }.to_string(),
            "index 7 is not below tree size 5"
        );
    }

    #[test]
    fn a_consistency_proof_from_the_empty_tree_is_rejected() {
        assert_eq!(
            ProofPlan::consistency(0, 3),
            Err(MerkleError::ConsistencyFromEmptyTree)
        );
        let root = empty_root();
        assert_eq!(
            verify_consistency(0, 0, &[], &root, &root),
            Err(MerkleError::ConsistencyFromEmptyTree)
        );
    }

    #[test]
    fn a_consistency_proof_to_a_smaller_tree_is_rejected() {
        assert_eq!(
            ProofPlan::consistency(4, 3),
            Err(MerkleError::SizesOutOfOrder { from: 4, to: 3 })
        );
    }

    #[test]
    fn a_consistency_proof_between_equal_sizes_is_empty() {
        let plan = ProofPlan::consistency(9, 9).unwrap();
        assert!(plan.ranges().is_empty());
        assert_eq!(plan.finish(&[]).unwrap(), Vec::<Hash>::new());
        let root = root_from_leaves(&leaves(9));
        assert_eq!(
            verify_consistency(9, 9, &[root], &root, &root),
            Err(MerkleError::WrongProofLength)
        );
    }

    #[test]
    fn the_frontier_root_matches_the_recursive_root_at_every_size() {
        let all = leaves(300);
        let mut frontier = Frontier::default();
        assert_eq!(frontier.root(), empty_root());
        for (i, leaf) in all.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!(frontier.size(), i as u64 + 1);
            assert_eq!(
                frontier.root(),
                root_from_leaves(&all[..=i]),
                "size {}",
                i + 1
            );
        }
    }

    #[test]
    fn push_reports_each_subtree_it_completes_at_a_multiple_of_eight_levels() {
        let all = leaves(1 << 16);
        let mut frontier = Frontier::default();
        let mut reported = Vec::new();
        for (i, leaf) in all.iter().enumerate() {
            reported.extend(frontier.push(*leaf).into_iter().map(|node| (i, node)));
        }
        let level8: Vec<Hash> = reported
            .iter()
            .filter(|(_, node)| node.level == 8)
            .map(|(_, node)| node.hash)
            .collect();
        assert_eq!(reported.len(), 256 + 1);
        for (n, (i, node)) in reported[..256].iter().enumerate() {
            assert_eq!((*i, node.level, node.index), (n * 256 + 255, 8, n as u64));
        }
        for n in [0, 1, 255] {
            assert_eq!(level8[n], root_from_leaves(&all[n * 256..(n + 1) * 256]));
        }
        let (i, top) = reported[256];
        assert_eq!((i, top.level, top.index), (65535, 16, 0));
        assert_eq!(top.hash, root_from_leaves(&level8));
        assert_eq!(top.hash, frontier.root());
    }

    #[test]
    fn a_frontier_survives_a_round_trip_through_bytes() {
        let mut frontier = Frontier::default();
        for leaf in leaves(1234) {
            frontier.push(leaf);
        }
        let bytes = frontier.to_bytes();
        assert_eq!(bytes.len(), 1234u64.count_ones() as usize * 32);
        assert_eq!(Frontier::from_parts(1234, &bytes), Ok(frontier));
    }

    #[test]
    fn a_frontier_with_the_wrong_byte_length_is_rejected() {
        assert_eq!(
            Frontier::from_parts(3, &[0; 32]),
            Err(MerkleError::FrontierLength {
                size: 3,
                want: 64,
                got: 32
            })
        );
        assert!(Frontier::from_parts(0, &[0; 1]).is_err());
    }

    #[test]
    fn a_frontier_with_no_room_for_another_leaf_is_rejected() {
        assert_eq!(
            Frontier::from_parts(u64::MAX, &[0; 64 * 32]),
            Err(MerkleError::TreeFull)
        );
    }

    #[test]
    fn a_root_plan_for_the_empty_tree_reads_nothing_and_yields_the_empty_root() {
        let plan = ProofPlan::root(0).unwrap();
        assert!(plan.ranges().is_empty());
        assert_eq!(plan.finish(&[]).unwrap(), vec![empty_root()]);
    }

    #[test]
    fn fetched_hashes_that_do_not_match_the_ranges_are_rejected() {
        let plan = ProofPlan::inclusion(3, 10).unwrap();
        let mut fetched = serve(&plan, &leaves(10));
        assert_eq!(
            plan.finish(&fetched[1..]),
            Err(MerkleError::FetchedRangeCount {
                want: fetched.len(),
                got: fetched.len() - 1
            })
        );
        fetched[0].pop();
        assert!(matches!(
            plan.finish(&fetched),
            Err(MerkleError::FetchedRangeLength { range: 0, .. })
        ));
    }

    #[test]
    fn a_proof_in_a_million_leaf_tree_reads_few_ranges_each_within_one_tile() {
        let size = 1_000_000;
        let mut plans = Vec::new();
        for index in [0, 1, 255, 256, 65_535, 500_000, 999_935, 999_999] {
            plans.push(ProofPlan::inclusion(index, size).unwrap());
        }
        for from in [1, 256, 65_537, 999_999, 1_000_000] {
            plans.push(ProofPlan::consistency(from, size).unwrap());
        }
        plans.push(ProofPlan::root(size).unwrap());
        // Levels 0, 8 and 16 are stored below a 20-level tree, and at each one a proof reads
        // at most the tile on its path and the tile at the right edge.
        for plan in plans {
            let ranges = plan.ranges();
            let hashes: u64 = ranges.iter().map(|r| r.end - r.start).sum();
            assert!(ranges.len() <= 3 * 2, "{} ranges", ranges.len());
            assert!(hashes <= 3 * 2 * TILE_WIDTH, "{hashes} hashes");
            for r in &ranges {
                assert_eq!(r.level % STRIDE, 0);
                assert!(r.start < r.end);
                assert_eq!(r.start / TILE_WIDTH, (r.end - 1) / TILE_WIDTH);
            }
        }
    }

    #[test]
    fn a_planned_inclusion_proof_verifies() {
        let all = leaves(1000);
        let root = root_from_leaves(&all);
        for index in [0, 1, 254, 255, 256, 511, 512, 999] {
            let plan = ProofPlan::inclusion(index, 1000).unwrap();
            let proof = plan.finish(&serve(&plan, &all)).unwrap();
            assert_eq!(
                verify_inclusion(index, 1000, &all[index as usize], &proof, &root),
                Ok(())
            );
            let wrong = leaf_hash(b"not in the log");
            assert_eq!(
                verify_inclusion(index, 1000, &wrong, &proof, &root),
                Err(MerkleError::RootMismatch)
            );
        }
    }

    #[test]
    fn a_planned_consistency_proof_verifies_and_a_truncated_one_does_not() {
        let all = leaves(1000);
        let to_root = root_from_leaves(&all);
        for from in [1, 2, 3, 255, 256, 257, 512, 999] {
            let from_root = root_from_leaves(&all[..from as usize]);
            let plan = ProofPlan::consistency(from, 1000).unwrap();
            let mut proof = plan.finish(&serve(&plan, &all)).unwrap();
            assert_eq!(
                verify_consistency(from, 1000, &proof, &from_root, &to_root),
                Ok(())
            );
            proof.pop();
            assert!(verify_consistency(from, 1000, &proof, &from_root, &to_root).is_err());
        }
    }

    #[test]
    fn an_empty_consistency_proof_between_different_sizes_is_rejected_even_from_a_power_of_two() {
        let all = leaves(8);
        let root4 = root_from_leaves(&all[..4]);
        let root8 = root_from_leaves(&all);
        assert_eq!(
            verify_consistency(4, 8, &[], &root4, &root8),
            Err(MerkleError::WrongProofLength)
        );
    }
}
