//! C2SP `tlog-tiles`, the form the log's Merkle tree is stored and served in. Tile `N` of
//! level `L` holds the hashes of tree level `8L` from index `256N` on; storage keeps each tile
//! as one row, so a proof or a served tile is a few rows whatever the log's size.
//!
//! This module owns the tile arithmetic: which tile bytes a commit appends ([`appends`]) and
//! the tiles' new contents ([`extend`]), how stored hashes are read back out of tiles
//! ([`read_hashes`]), and the resource paths
//! `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, with `<N>` in zero-padded three-digit
//! path elements, all but the last prefixed with `x` (1234067 is `x001/x234/067`). Only the
//! canonical spelling of a path parses, so one resource has one URL and caches stay sound.

use std::collections::HashMap;
use std::fmt;

use super::merkle::{Hash, StoredNode};
use super::records::{StorageError, StoredTile};

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileKind {
    /// Hashes at tree level `8 * level`: leaf hashes at tile level 0.
    Hashes { level: u8 },
    /// Entry bundles: the entries themselves (our canonical envelopes).
    Entries,
}

/// One tile resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePath {
    pub kind: TileKind,
    pub index: u64,
    /// 1..=255 for a partial tile; `None` for a full tile of 256.
    pub partial: Option<u8>,
}

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;

/// Tree levels per tile level.
pub const TILE_HEIGHT: u8 = 8;

/// Hashes a commit appends to one tile, after the `offset` hashes the tile already holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileAppend {
    pub level: u8,
    pub index: u64,
    pub offset: u64,
    pub hashes: Vec<u8>,
}

/// The tile appends of a commit whose new leaves start at index `first`: the leaf hashes at
/// tile level 0, the newly completed subtree hashes (tree levels 8, 16, ...) above.
pub fn appends(first: u64, leaves: &[Hash], nodes: &[StoredNode]) -> Vec<TileAppend> {
    let mut items: Vec<(u8, u64, &Hash)> = (first..)
        .zip(leaves)
        .map(|(index, hash)| (0, index, hash))
        .chain(
            nodes
                .iter()
                .map(|n| (n.level / TILE_HEIGHT, n.index, &n.hash)),
        )
        .collect();
    items.sort_by_key(|(level, index, _)| (*level, *index));
    let mut appends: Vec<TileAppend> = Vec::new();
    for (level, index, hash) in items {
        let tile = index / TILE_WIDTH;
        match appends.last_mut() {
            Some(last) if last.level == level && last.index == tile => {
                last.hashes.extend_from_slice(hash);
            }
            _ => appends.push(TileAppend {
                level,
                index: tile,
                offset: index % TILE_WIDTH,
                hashes: hash.to_vec(),
            }),
        }
    }
    appends
}

/// The new contents of each tile the appends extend: the hashes it held (from `held`, which
/// must know every tile an append does not start) followed by the appended ones.
pub fn extend(
    appends: Vec<TileAppend>,
    held: &HashMap<(u8, u64), Vec<u8>>,
) -> Result<Vec<StoredTile>, StorageError> {
    appends
        .into_iter()
        .map(|append| {
            let mut hashes = match append.offset {
                0 => Vec::with_capacity(append.hashes.len()),
                _ => held
                    .get(&(append.level, append.index))
                    .cloned()
                    .unwrap_or_default(),
            };
            if hashes.len() as u64 != append.offset * 32 {
                return Err(StorageError::Corrupt(format!(
                    "tile {}/{} holds {} bytes where {} hashes were expected",
                    append.level,
                    append.index,
                    hashes.len(),
                    append.offset
                )));
            }
            hashes.extend_from_slice(&append.hashes);
            Ok(StoredTile {
                level: append.level,
                index: append.index,
                hashes,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a tile path: expected tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]")]
pub struct TilePathError(pub String);

impl TilePath {
    /// Parses the part of a URL after `tile/`.
    pub fn parse(path: &str) -> Result<TilePath, TilePathError> {
        let bad = || TilePathError(path.chars().take(100).collect());
        let (head, rest) = path.split_once('/').ok_or_else(bad)?;
        let kind = if head == "entries" {
            TileKind::Entries
        } else {
            let level = canonical_decimal(head)
                .filter(|l| *l <= 63)
                .ok_or_else(bad)?;
            TileKind::Hashes { level: level as u8 }
        };
        let (index, partial) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let width = canonical_decimal(width)
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or_else(bad)?;
                (index, Some(width as u8))
            }
            None => (rest, None),
        };
        let index = parse_index(index).ok_or_else(bad)?;
        let tile = TilePath {
            kind,
            index,
            partial,
        };
        // Only the canonical spelling: re-encoding must give back the input.
        if tile.to_string() != path {
            return Err(bad());
        }
        Ok(tile)
    }

    /// How many hashes or entries the tile holds.
    pub fn width(&self) -> u64 {
        self.partial.map_or(TILE_WIDTH, u64::from)
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes { level } => write!(f, "{level}/")?,
            TileKind::Entries => f.write_str("entries/")?,
        }
        let mut groups = vec![self.index % 1000];
        let mut n = self.index / 1000;
        while n > 0 {
            groups.push(n % 1000);
            n /= 1000;
        }
        for (i, group) in groups.iter().rev().enumerate() {
            let last = i + 1 == groups.len();
            let sep = if last { "" } else { "/" };
            let x = if last { "" } else { "x" };
            write!(f, "{x}{group:03}{sep}")?;
        }
        if let Some(width) = self.partial {
            write!(f, ".p/{width}")?;
        }
        Ok(())
    }
}

/// A decimal without sign or leading zeros.
fn canonical_decimal(s: &str) -> Option<u64> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if ok { s.parse().ok() } else { None }
}

/// `x001/x234/067` → 1234067; each element is three digits.
fn parse_index(s: &str) -> Option<u64> {
    let mut index: u64 = 0;
    let elements: Vec<&str> = s.split('/').collect();
    for (i, element) in elements.iter().enumerate() {
        let digits = if i + 1 < elements.len() {
            element.strip_prefix('x')?
        } else {
            element
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
    }
    Some(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::merkle::{Frontier, leaf_hash};

    #[test]
    fn appends_split_at_tile_boundaries_and_carry_completed_subtrees_up() {
        let mut frontier = Frontier::default();
        let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut nodes = Vec::new();
        for leaf in &leaves[..250] {
            frontier.push(*leaf);
        }
        for leaf in &leaves[250..] {
            nodes.extend(frontier.push(*leaf));
        }
        let appends = appends(250, &leaves[250..], &nodes);
        let shape: Vec<(u8, u64, u64, usize)> = appends
            .iter()
            .map(|a| (a.level, a.index, a.offset, a.hashes.len() / 32))
            .collect();
        // Leaves 250..256 finish tile 0/0, 256..300 start tile 0/1, and the completed first
        // 256-leaf subtree is the first hash of tile 1/0.
        assert_eq!(shape, [(0, 0, 250, 6), (0, 1, 0, 44), (1, 0, 0, 1)]);
        assert_eq!(appends[1].hashes[..32], leaves[256]);
    }

    #[test]
    fn the_spec_example_index_round_trips() {
        let tile = TilePath::parse("0/x001/x234/067").unwrap();
        assert_eq!(tile.kind, TileKind::Hashes { level: 0 });
        assert_eq!(tile.index, 1_234_067);
        assert_eq!(tile.partial, None);
        assert_eq!(tile.to_string(), "0/x001/x234/067");
    }

    #[test]
    fn partial_and_entry_tiles_parse() {
        let tile = TilePath::parse("entries/000.p/7").unwrap();
        assert_eq!(tile.kind, TileKind::Entries);
        assert_eq!((tile.index, tile.width()), (0, 7));
        let tile = TilePath::parse("2/x001/000.p/255").unwrap();
        assert_eq!(tile.kind, TileKind::Hashes { level: 2 });
        assert_eq!((tile.index, tile.width()), (1000, 255));
    }

    #[test]
    fn non_canonical_or_malformed_paths_are_refused() {
        for bad in [
            "0/1",
            "0/01",
            "0/x000/001",
            "00/000",
            "64/000",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/07",
            "0/000.p/",
            "0/001/002",
            "0/x1/000",
            "entries",
            "0/",
            "-1/000",
            "0/000/",
            "x/000",
            "0/x999/x999/x999/x999/x999/x999/x999/000",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
