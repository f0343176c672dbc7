//! Known-answer tests for `marktrace::log::merkle`.
//!
//! Sources: transparency-dev/merkle at commit 417fb0c (Apache License 2.0; the licence and a
//! note sit beside the data in tests/data/transparency-dev-merkle): the leaf inputs and root
//! hashes of testonly/constants.go, the hasher vectors of rfc6962/rfc6962_test.go, and the
//! inclusion and consistency probes of testdata/, read verbatim from disk.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use marktrace::log::merkle::{
    Frontier, Hash, ProofPlan, empty_root, leaf_hash, node_hash, root_from_leaves,
    verify_consistency, verify_inclusion,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::common::Rng;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hash_hex(s: &str) -> Hash {
    unhex(s).try_into().unwrap()
}

/// testonly.LeafInputs().
const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// testonly.RootHashes(), indexed by tree size from the empty tree.
const ROOT_HASHES: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn hashes_match_the_rfc6962_hasher_vectors() {
    assert_eq!(
        empty_root(),
        hash_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(
        leaf_hash(b""),
        hash_hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
    assert_eq!(
        leaf_hash(b"L123456"),
        hash_hex("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    );
}

#[test]
fn roots_of_the_reference_tree_match_at_every_size() {
    let leaves: Vec<Hash> = LEAF_INPUTS.iter().map(|s| leaf_hash(&unhex(s))).collect();
    let mut frontier = Frontier::default();
    assert_eq!(root_from_leaves(&[]), hash_hex(ROOT_HASHES[0]));
    assert_eq!(frontier.root(), hash_hex(ROOT_HASHES[0]));
    for (size, leaf) in (1..).zip(&leaves) {
        frontier.push(*leaf);
        let want = hash_hex(ROOT_HASHES[size]);
        assert_eq!(root_from_leaves(&leaves[..size]), want, "size {size}");
        assert_eq!(frontier.root(), want, "size {size}");
    }
}

fn vector_files(kind: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/transparency-dev-merkle/testdata")
        .join(kind);
    let mut out = Vec::new();
    walk(&root, &mut out);
    out.sort();
    out
}

/// How a probe's hash field maps onto the typed API, which takes only 32-byte hashes.
///
/// The probes also hold values of other lengths: placeholders ("don't care 1"), empty hashes,
/// and hashes with a garbage byte added. The reference verifier checks the length of the leaf
/// hash alone and otherwise treats roots and proof hashes as opaque bytes, so this follows it:
/// a leaf hash of another length is refused at the type, as the reference refuses it; a root or
/// proof hash of another length stands in as SHA-256(0xff || bytes). The 0xff prefix is used by
/// no RFC 6962 hash, so a stand-in equals no real hash but equal placeholders stay equal, and
/// the verifier itself, not this decoding, has to reject each corrupted probe.
fn decode(b64: &str) -> Result<Hash, Hash> {
    let raw = STANDARD.decode(b64).unwrap();
    Hash::try_from(raw.as_slice()).map_err(|_| {
        Sha256::new()
            .chain_update([0xff])
            .chain_update(&raw)
            .finalize()
            .into()
    })
}

/// A root or proof hash, with whether it needed a stand-in.
fn opaque(b64: &str) -> (Hash, bool) {
    match decode(b64) {
        Ok(hash) => (hash, false),
        Err(stand_in) => (stand_in, true),
    }
}

fn opaque_proof(proof: Option<&[String]>) -> (Vec<Hash>, bool) {
    // Go writes an empty proof as null.
    let hashes: Vec<(Hash, bool)> = proof
        .unwrap_or_default()
        .iter()
        .map(|h| opaque(h))
        .collect();
    let stand_in = hashes.iter().any(|(_, s)| *s);
    (hashes.into_iter().map(|(h, _)| h).collect(), stand_in)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProbe {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyProbe {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[test]
fn every_inclusion_probe_is_decided_as_the_reference_decides_it() {
    let files = vector_files("inclusion");
    let (mut accepted, mut rejected, mut stand_ins, mut refused_by_type) = (0, 0, 0, 0);
    for file in &files {
        let p: InclusionProbe = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
        let (root, s1) = opaque(&p.root);
        let (proof, s2) = opaque_proof(p.proof.as_deref());
        match decode(&p.leaf_hash) {
            Ok(leaf) => {
                if s1 || s2 {
                    stand_ins += 1;
                }
                let got = verify_inclusion(p.leaf_idx, p.tree_size, &leaf, &proof, &root);
                assert_eq!(
                    got.is_err(),
                    p.want_err,
                    "{}: {} gave {got:?}",
                    file.display(),
                    p.desc
                );
            }
            Err(_) => {
                assert!(p.want_err, "{}: {}", file.display(), p.desc);
                refused_by_type += 1;
            }
        }
        if p.want_err {
            rejected += 1;
        } else {
            accepted += 1;
        }
    }
    assert_eq!((accepted, rejected), (6, 92));
    assert_eq!((refused_by_type, stand_ins), (11, 15));
}

#[test]
fn every_consistency_probe_is_decided_as_the_reference_decides_it() {
    let files = vector_files("consistency");
    let (mut accepted, mut rejected, mut stand_ins) = (0, 0, 0);
    for file in &files {
        let p: ConsistencyProbe = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
        let (root1, s1) = opaque(&p.root1);
        let (root2, s2) = opaque(&p.root2);
        let (proof, s3) = opaque_proof(p.proof.as_deref());
        if s1 || s2 || s3 {
            stand_ins += 1;
        }
        let got = verify_consistency(p.size1, p.size2, &proof, &root1, &root2);
        assert_eq!(
            got.is_err(),
            p.want_err,
            "{}: {} gave {got:?}",
            file.display(),
            p.desc
        );
        if p.want_err {
            rejected += 1;
        } else {
            accepted += 1;
        }
    }
    assert_eq!((accepted, rejected), (6, 92));
    assert_eq!(stand_ins, 27);
}

/// A store laid out as the storage layer keeps it: `levels[k]` holds the hashes at tree level
/// 8k, level 0 from the leaves and the rest only from what `Frontier::push` reported.
struct Store {
    levels: Vec<Vec<Hash>>,
}

impl Store {
    fn build(leaves: &[Hash]) -> Store {
        let mut levels = vec![Vec::new()];
        let mut frontier = Frontier::default();
        for leaf in leaves {
            levels[0].push(*leaf);
            for node in frontier.push(*leaf) {
                let k = usize::from(node.level / 8);
                if levels.len() <= k {
                    levels.resize(k + 1, Vec::new());
                }
                assert_eq!(node.index, levels[k].len() as u64, "stored out of order");
                levels[k].push(node.hash);
            }
        }
        Store { levels }
    }

    /// Serves a plan, checking that it asks only for what a tile store can serve in few reads.
    fn run(&self, plan: &ProofPlan) -> Vec<Hash> {
        let ranges = plan.ranges();
        let mut tiles = BTreeSet::new();
        let fetched: Vec<Vec<Hash>> = ranges
            .iter()
            .map(|r| {
                assert_eq!(r.level % 8, 0, "{r:?}");
                assert!(r.start < r.end, "{r:?}");
                assert_eq!(r.start / 256, (r.end - 1) / 256, "{r:?} crosses a tile");
                assert!(
                    tiles.insert((r.level, r.start / 256)),
                    "{r:?} repeats a tile"
                );
                let level = &self.levels[usize::from(r.level / 8)];
                level[r.start as usize..r.end as usize].to_vec()
            })
            .collect();
        plan.finish(&fetched).unwrap()
    }
}

/// RFC 9162 §2.1 written out as recursion over the leaves, independent of the module's code.
/// MTH results are memoised by leaf range only because unoptimised SHA-256 in test builds is
/// slow; the recursion is the RFC's.
mod reference {
    use std::collections::HashMap;

    use super::*;

    pub struct Tree<'a> {
        leaves: &'a [Hash],
        memo: HashMap<(usize, usize), Hash>,
    }

    /// The largest power of two smaller than n, for n > 1.
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    impl<'a> Tree<'a> {
        pub fn new(leaves: &'a [Hash]) -> Self {
            Tree {
                leaves,
                memo: HashMap::new(),
            }
        }

        /// MTH(D[lo:hi]).
        pub fn mth(&mut self, lo: usize, hi: usize) -> Hash {
            if let Some(hash) = self.memo.get(&(lo, hi)) {
                return *hash;
            }
            let hash = match hi - lo {
                0 => Sha256::digest([]).into(),
                1 => self.leaves[lo],
                n => {
                    let k = split(n);
                    node_hash(&self.mth(lo, lo + k), &self.mth(lo + k, hi))
                }
            };
            self.memo.insert((lo, hi), hash);
            hash
        }

        /// PATH(m, D[lo:hi]), with m relative to lo.
        pub fn path(&mut self, m: usize, lo: usize, hi: usize) -> Vec<Hash> {
            let n = hi - lo;
            if n == 1 {
                return Vec::new();
            }
            let k = split(n);
            if m < k {
                let mut p = self.path(m, lo, lo + k);
                p.push(self.mth(lo + k, hi));
                p
            } else {
                let mut p = self.path(m - k, lo + k, hi);
                p.push(self.mth(lo, lo + k));
                p
            }
        }

        /// PROOF(m, D[0:n]).
        pub fn proof(&mut self, m: usize, n: usize) -> Vec<Hash> {
            self.subproof(m, 0, n, true)
        }

        /// SUBPROOF(m, D[lo:hi], b), with m relative to lo.
        fn subproof(&mut self, m: usize, lo: usize, hi: usize, b: bool) -> Vec<Hash> {
            let n = hi - lo;
            if m == n {
                return if b {
                    Vec::new()
                } else {
                    vec![self.mth(lo, hi)]
                };
            }
            let k = split(n);
            if m <= k {
                let mut p = self.subproof(m, lo, lo + k, b);
                p.push(self.mth(lo + k, hi));
                p
            } else {
                let mut p = self.subproof(m - k, lo + k, hi, false);
                p.push(self.mth(lo, lo + k));
                p
            }
        }
    }
}

/// Checks the root plan, and inclusion and consistency plans at both ends and one random
/// point, against the reference; returns how many plans it checked.
fn check_size(store: &Store, tree: &mut reference::Tree, size: u64, rng: &mut Rng) -> usize {
    let n = size as usize;
    let root = tree.mth(0, n);
    assert_eq!(
        store.run(&ProofPlan::root(size).unwrap()),
        vec![root],
        "root of {size}"
    );
    for index in [0, size - 1, rng.below(size)] {
        let proof = store.run(&ProofPlan::inclusion(index, size).unwrap());
        assert_eq!(
            proof,
            tree.path(index as usize, 0, n),
            "inclusion {index} in {size}"
        );
        let leaf = tree.mth(index as usize, index as usize + 1);
        verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
    }
    for from in [1, size, 1 + rng.below(size)] {
        let proof = store.run(&ProofPlan::consistency(from, size).unwrap());
        assert_eq!(
            proof,
            tree.proof(from as usize, n),
            "consistency {from} to {size}"
        );
        let from_root = tree.mth(0, from as usize);
        verify_consistency(from, size, &proof, &from_root, &root).unwrap();
    }
    7
}

/// Distinct stand-ins for leaf hashes; hashing them would only slow the test.
fn pseudo_leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| {
            let mut hash = [0x5a; 32];
            hash[..8].copy_from_slice(&i.to_be_bytes());
            hash
        })
        .collect()
}

#[test]
fn planned_proofs_equal_the_rfc_recursion_for_sizes_up_to_two_thousand() {
    // The store holds a larger tree than any size asked about, as a live log's would.
    let leaves = pseudo_leaves(2100);
    let store = Store::build(&leaves);
    let mut tree = reference::Tree::new(&leaves);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    assert_eq!(store.run(&ProofPlan::root(0).unwrap()), vec![empty_root()]);
    let every = 1..=520;
    let sampled = (521..=2100).step_by(61);
    let edges = [767, 768, 769, 1023, 1024, 1025, 2047, 2048, 2049];
    let (mut sizes, mut plans) = (0, 0);
    for size in every.chain(sampled).chain(edges) {
        plans += check_size(&store, &mut tree, size, &mut rng);
        sizes += 1;
    }
    assert_eq!((sizes, plans), (555, 3885));
}

#[test]
fn planned_proofs_equal_the_rfc_recursion_around_the_second_stored_level() {
    let leaves = pseudo_leaves(65_536 + 300);
    let store = Store::build(&leaves);
    let mut tree = reference::Tree::new(&leaves);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for size in [65_535, 65_536, 65_537, 65_536 + 256, 65_536 + 257] {
        check_size(&store, &mut tree, size, &mut rng);
    }
}

#[test]
fn the_frontier_root_equals_the_recursive_root_at_every_size() {
    let leaves = pseudo_leaves(2100);
    let mut tree = reference::Tree::new(&leaves);
    let mut frontier = Frontier::default();
    for size in 1..=leaves.len() {
        frontier.push(leaves[size - 1]);
        assert_eq!(frontier.root(), tree.mth(0, size), "size {size}");
        let restored = Frontier::from_parts(frontier.size(), &frontier.to_bytes()).unwrap();
        assert_eq!(restored, frontier);
    }
    assert_eq!(root_from_leaves(&leaves), tree.mth(0, leaves.len()));
}
