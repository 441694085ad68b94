//! Row hashes and the two-level Merkle commitment.
//!
//! * **Leaf** of row `i` of `C_t`: `BLAKE3-keyed(leaf_key(t, i), row)` where `row` is the `n`
//!   entries as little-endian `i32` (`4n` bytes) and `leaf_key(t, i)` is the 32-byte key made of
//!   the little-endian words `[LEAF_TAG, VERSION, t, i, 0, 0, 0, 0]`. Putting `(t, i)` in the key
//!   binds each row to its place and costs nothing extra on the GPU.
//! * **Node**: `BLAKE3-keyed(NODE_KEY, left ++ right)`, `NODE_KEY = [NODE_TAG, VERSION, 0...]`:
//!   one BLAKE3 compression. Leaf and node keys differ, so a node can never be taken for a leaf.
//! * **Chunk tree**: a perfect binary tree over the `m` leaves of `C_t` (`m` is a power of two);
//!   its root is the chunk root. The GPU builds it while the next chunk computes.
//! * **Top tree**: over the `T` chunk roots. At a level with an odd number of nodes, the last one
//!   is promoted unchanged to the next level (no duplication, no padding).
//! * The **commitment** is the top tree's root; the path of row `(t, i)` is its `log2(m)`
//!   siblings in chunk tree `t`, then the siblings of chunk root `t` in the top tree.
//!
//! BLAKE3 was chosen over SHA-256 because it is ~3x fewer integer operations per byte, which
//! matters on the GPU where every output byte is hashed (see `docs/popw.md`).

use rayon::prelude::*;

/// A 32-byte hash.
pub type Hash = [u8; 32];

/// First key word of leaf keys ("PWLF", little-endian).
pub const LEAF_TAG: u32 = u32::from_le_bytes(*b"PWLF");
/// First key word of the node key ("PWND", little-endian).
pub const NODE_TAG: u32 = u32::from_le_bytes(*b"PWND");
/// Second key word: hash layout version.
pub const HASH_VERSION: u32 = 1;

fn key_from_words(words: [u32; 8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    for (i, w) in words.iter().enumerate() {
        key[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    key
}

/// The BLAKE3 key of leaf `(t, i)`.
pub fn leaf_key(t: u32, i: u32) -> [u8; 32] {
    key_from_words([LEAF_TAG, HASH_VERSION, t, i, 0, 0, 0, 0])
}

/// The BLAKE3 key of inner nodes.
pub fn node_key() -> [u8; 32] {
    key_from_words([NODE_TAG, HASH_VERSION, 0, 0, 0, 0, 0, 0])
}

/// Hash of row `i` of `C_t`.
pub fn leaf_hash(t: u32, i: u32, row: &[i32]) -> Hash {
    let mut hasher = blake3::Hasher::new_keyed(&leaf_key(t, i));
    // Stream the row as little-endian bytes through a small stack buffer.
    let mut buf = [0u8; 1024];
    for chunk in row.chunks(256) {
        for (j, v) in chunk.iter().enumerate() {
            buf[4 * j..4 * j + 4].copy_from_slice(&v.to_le_bytes());
        }
        hasher.update(&buf[..4 * chunk.len()]);
    }
    *hasher.finalize().as_bytes()
}

/// Hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(left);
    block[32..].copy_from_slice(right);
    *blake3::keyed_hash(&node_key(), &block).as_bytes()
}

/// The next level up: pairs hashed, an odd last node promoted.
fn next_level(level: &[Hash]) -> Vec<Hash> {
    level
        .chunks(2)
        .map(|pair| {
            if pair.len() == 2 {
                node_hash(&pair[0], &pair[1])
            } else {
                pair[0]
            }
        })
        .collect()
}

/// Root of the tree over `leaves` (`None` for no leaves).
pub fn root(leaves: &[Hash]) -> Option<Hash> {
    if leaves.is_empty() {
        return None;
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = next_level(&level);
    }
    Some(level[0])
}

/// The sibling path of leaf `index` (`None` if `index` is out of range).
pub fn path(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    let mut idx = index;
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        if let Some(sibling) = level.get(idx ^ 1) {
            out.push(*sibling);
        }
        level = next_level(&level);
        idx /= 2;
    }
    Some(out)
}

/// Number of siblings on the path of leaf `index` in a tree of `count` leaves.
pub fn path_len(index: usize, count: usize) -> usize {
    let (mut idx, mut len, mut n) = (index, count, 0);
    while len > 1 {
        if (idx ^ 1) < len {
            n += 1;
        }
        idx /= 2;
        len = len.div_ceil(2);
    }
    n
}

/// Fold `path` from `leaf` (at `index` among `count` leaves) up to the root. `None` if the path
/// has the wrong length or `index` is out of range.
pub fn root_from_path(leaf: Hash, index: usize, count: usize, path: &[Hash]) -> Option<Hash> {
    if index >= count || path.len() != path_len(index, count) {
        return None;
    }
    let (mut idx, mut len, mut acc) = (index, count, leaf);
    let mut siblings = path.iter();
    while len > 1 {
        if (idx ^ 1) < len {
            let sibling = siblings.next()?;
            acc = if idx % 2 == 0 {
                node_hash(&acc, sibling)
            } else {
                node_hash(sibling, &acc)
            };
        }
        idx /= 2;
        len = len.div_ceil(2);
    }
    Some(acc)
}

/// The commitment of a worker: every leaf, every chunk root, and the top root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commitment {
    m: usize,
    leaves: Vec<Hash>,
    chunk_roots: Vec<Hash>,
    root: Hash,
}

/// Why a [`Commitment`] cannot be assembled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommitmentError {
    /// The number of leaves is not `chunks * m`, or is zero.
    #[error("expected {expected} leaves, got {got}")]
    WrongLeafCount {
        /// `chunks * m`.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// A chunk root does not match its leaves.
    #[error("chunk root {0} does not match its leaves")]
    ChunkRootMismatch(usize),
}

impl Commitment {
    /// Assemble the commitment from all leaves (`chunks * m`, chunk-major) and the chunk roots a
    /// backend computed. Every chunk root is re-derived from its leaves and checked, so a faulty
    /// backend cannot produce an inconsistent commitment.
    pub fn from_chunks(
        m: usize,
        leaves: Vec<Hash>,
        chunk_roots: Vec<Hash>,
    ) -> Result<Self, CommitmentError> {
        let expected = m.saturating_mul(chunk_roots.len());
        if m == 0 || chunk_roots.is_empty() || leaves.len() != expected {
            return Err(CommitmentError::WrongLeafCount {
                expected,
                got: leaves.len(),
            });
        }
        // In parallel: for an H100 challenge this is 18M leaves, ~1.3 s on one core, and it
        // happens before the commit is sent, i.e. inside the measured work time.
        if let Some(t) = leaves
            .par_chunks(m)
            .enumerate()
            .find_first(|(t, chunk)| root(chunk) != Some(chunk_roots[*t]))
            .map(|(t, _)| t)
        {
            return Err(CommitmentError::ChunkRootMismatch(t));
        }
        let top = root(&chunk_roots).ok_or(CommitmentError::WrongLeafCount { expected, got: 0 })?;
        Ok(Self {
            m,
            leaves,
            chunk_roots,
            root: top,
        })
    }

    /// Assemble from leaves alone (chunk roots computed here).
    pub fn from_leaves(m: usize, leaves: Vec<Hash>) -> Result<Self, CommitmentError> {
        if m == 0 || leaves.is_empty() || leaves.len() % m != 0 {
            return Err(CommitmentError::WrongLeafCount {
                expected: m,
                got: leaves.len(),
            });
        }
        let chunk_roots: Vec<Hash> = leaves.chunks(m).filter_map(root).collect();
        Self::from_chunks(m, leaves, chunk_roots)
    }

    /// The committed root.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// All leaves, chunk-major.
    pub fn leaves(&self) -> &[Hash] {
        &self.leaves
    }

    /// The full path of row `(t, i)`: chunk-tree siblings, then top-tree siblings.
    pub fn path(&self, t: u32, i: u32) -> Option<Vec<Hash>> {
        let (t, i) = (t as usize, i as usize);
        if t >= self.chunk_roots.len() || i >= self.m {
            return None;
        }
        let chunk = &self.leaves[t * self.m..(t + 1) * self.m];
        let mut out = path(chunk, i)?;
        out.extend(path(&self.chunk_roots, t)?);
        Some(out)
    }
}

/// Check that `leaf` is row `(t, i)` under `root` for a challenge with `m` rows per chunk and
/// `chunks` chunks. `m` must be a power of two.
pub fn verify_path(
    root_hash: &Hash,
    leaf: Hash,
    t: u32,
    i: u32,
    m: u32,
    chunks: u32,
    full_path: &[Hash],
) -> bool {
    let inner = m.trailing_zeros() as usize;
    if !m.is_power_of_two() || full_path.len() < inner {
        return false;
    }
    let (chunk_part, top_part) = full_path.split_at(inner);
    let Some(chunk_root) = root_from_path(leaf, i as usize, m as usize, chunk_part) else {
        return false;
    };
    root_from_path(chunk_root, t as usize, chunks as usize, top_part).as_ref() == Some(root_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(0, i as u32, &[i as i32; 16]))
            .collect()
    }

    #[test]
    fn every_path_of_every_tree_size_verifies_and_has_the_predicted_length() {
        for count in 1..40 {
            let l = leaves(count);
            let r = root(&l).unwrap();
            for idx in 0..count {
                let p = path(&l, idx).unwrap();
                assert_eq!(p.len(), path_len(idx, count));
                assert_eq!(root_from_path(l[idx], idx, count, &p), Some(r));
                // A path for the wrong position or with a flipped sibling fails.
                if count > 1 {
                    let other = (idx + 1) % count;
                    assert_ne!(root_from_path(l[idx], other, count, &p), Some(r));
                    if !p.is_empty() {
                        let mut bad = p.clone();
                        bad[0][0] ^= 1;
                        assert_ne!(root_from_path(l[idx], idx, count, &bad), Some(r));
                    }
                }
                // Too long or too short paths are rejected outright.
                let mut long = p.clone();
                long.push([0; 32]);
                assert_eq!(root_from_path(l[idx], idx, count, &long), None);
            }
            assert_eq!(path(&l, count), None);
        }
    }

    #[test]
    fn leaf_hash_binds_position_and_every_entry() {
        let row: Vec<i32> = (0..64).map(|j| j * 1000 - 7).collect();
        let h = leaf_hash(3, 4, &row);
        assert_ne!(h, leaf_hash(4, 3, &row));
        assert_ne!(h, leaf_hash(3, 5, &row));
        let mut r2 = row.clone();
        r2[63] += 1;
        assert_ne!(h, leaf_hash(3, 4, &r2));
        // Equals the one-shot keyed hash of the little-endian bytes.
        let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(h, *blake3::keyed_hash(&leaf_key(3, 4), &bytes).as_bytes());
    }

    /// Pinned values, computed independently with the Python `blake3` package from the layout in
    /// the module docs. The CUDA kernels must produce exactly these.
    #[test]
    fn hashes_match_pinned_known_answers() {
        let row16: Vec<i32> = (0..16).map(|j| j - 8).collect();
        let row512: Vec<i32> = (0..512).map(|j| (j * 7919) % 65536 - 32768).collect();
        assert_eq!(hex(&leaf_hash(1, 2, &row16)), KAT_LEAF16);
        assert_eq!(hex(&leaf_hash(65535, 8191, &row512)), KAT_LEAF512);
        assert_eq!(hex(&node_hash(&[1; 32], &[2; 32])), KAT_NODE);
    }

    const KAT_LEAF16: &str = "38636650a3197a11eb154e2706ea21ad8ad805fbcf9fca63c6ecd89583d40229";
    const KAT_LEAF512: &str = "ffcab922d2348bbea57730c2f4d68ff8d98eabd2f97fd30e2a800699d07da868";
    const KAT_NODE: &str = "dca05831f5897ad6e3ef4fc84018e76631f01a5a35ae6aea76f889e9b6c1bb42";

    pub(crate) fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn commitment_paths_verify_against_the_root_and_fail_elsewhere() {
        let m = 4usize;
        let chunks = 3u32;
        let l: Vec<Hash> = (0..chunks as usize * m)
            .map(|x| leaf_hash((x / m) as u32, (x % m) as u32, &[x as i32; 16]))
            .collect();
        let c = Commitment::from_leaves(m, l.clone()).unwrap();
        for t in 0..chunks {
            for i in 0..m as u32 {
                let p = c.path(t, i).unwrap();
                let leaf = l[t as usize * m + i as usize];
                assert!(verify_path(&c.root(), leaf, t, i, m as u32, chunks, &p));
                assert!(!verify_path(
                    &c.root(),
                    leaf,
                    (t + 1) % chunks,
                    i,
                    m as u32,
                    chunks,
                    &p
                ));
            }
        }
        assert_eq!(c.path(chunks, 0), None);
        assert_eq!(c.path(0, m as u32), None);
        // Inconsistent chunk roots are refused.
        let mut roots: Vec<Hash> = l.chunks(m).map(|ch| root(ch).unwrap()).collect();
        roots[1][0] ^= 1;
        assert_eq!(
            Commitment::from_chunks(m, l.clone(), roots),
            Err(CommitmentError::ChunkRootMismatch(1))
        );
        assert!(Commitment::from_chunks(m, l[1..].to_vec(), vec![[0; 32]; 3]).is_err());
    }
}
