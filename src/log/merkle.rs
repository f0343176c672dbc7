//! Interim: replaced by the full module (proofs, verification) when it lands.
use sha2::{Digest, Sha256};
pub type Hash = [u8; 32];
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}
pub fn node_hash(l: &Hash, r: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}
#[derive(Debug, thiserror::Error)]
pub enum MerkleError {
    #[error("frontier of {len} bytes does not fit tree size {size}")]
    Frontier { size: u64, len: usize },
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredNode {
    pub level: u8,
    pub index: u64,
    pub hash: Hash,
}
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}
impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn root(&self) -> Hash {
        let mut it = self.hashes.iter().rev();
        let Some(first) = it.next() else {
            return empty_root();
        };
        it.fold(*first, |acc, h| node_hash(h, &acc))
    }
    pub fn push(&mut self, leaf: Hash) -> Vec<StoredNode> {
        let mut out = Vec::new();
        let mut h = leaf;
        let mut level = 0u8;
        let mut index = self.size;
        while (self.size >> level) & 1 == 1 {
            let left = self.hashes.pop().expect("one hash per set bit");
            h = node_hash(&left, &h);
            level += 1;
            index >>= 1;
            if level % 8 == 0 {
                out.push(StoredNode {
                    level,
                    index,
                    hash: h,
                });
            }
        }
        self.hashes.push(h);
        self.size += 1;
        out
    }
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.concat()
    }
    pub fn from_parts(size: u64, bytes: &[u8]) -> Result<Frontier, MerkleError> {
        if bytes.len() != size.count_ones() as usize * 32 {
            return Err(MerkleError::Frontier {
                size,
                len: bytes.len(),
            });
        }
        let hashes = bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32"))
            .collect();
        Ok(Frontier { size, hashes })
    }
}
