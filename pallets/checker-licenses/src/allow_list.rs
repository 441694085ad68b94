//! The allow-list of a sale round: a sorted-pair Merkle tree of `blake2_256(SCALE(account))`
//! leaves; a buyer proves membership with the sibling hashes from its leaf to the root.

use alloc::vec::Vec;
use codec::Encode;
use sp_core::H256;

/// The allow-list leaf of `who`: `blake2_256(SCALE(who))`.
pub fn allow_list_leaf<AccountId: Encode>(who: &AccountId) -> H256 {
    H256(sp_io::hashing::blake2_256(&who.encode()))
}

/// Hash of two sibling nodes: `blake2_256(min ++ max)` (sorted pairs, so a proof needs no
/// left/right flags).
pub fn allow_list_node(a: H256, b: H256) -> H256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_bytes());
    buf[32..].copy_from_slice(hi.as_bytes());
    H256(sp_io::hashing::blake2_256(&buf))
}

/// Whether `proof` leads from `who`'s leaf to `root`.
pub(crate) fn verify_allow_list<AccountId: Encode>(
    who: &AccountId,
    proof: &[H256],
    root: H256,
) -> bool {
    proof.iter().fold(allow_list_leaf(who), |acc, sibling| {
        allow_list_node(acc, *sibling)
    }) == root
}

/// The Merkle root of `leaves` (sorted-pair tree; an odd node is carried up unchanged), and
/// the proof for leaf `index`. For tests, benchmarks and tools that build allow-lists.
pub fn allow_list_root_and_proof(leaves: &[H256], index: usize) -> (H256, Vec<H256>) {
    let mut level: Vec<H256> = leaves.to_vec();
    let mut idx = index;
    let mut proof = Vec::new();
    while level.len() > 1 {
        let sibling = idx ^ 1;
        if sibling < level.len() {
            proof.push(level[sibling]);
        }
        level = level
            .chunks(2)
            .map(|pair| {
                if pair.len() == 2 {
                    allow_list_node(pair[0], pair[1])
                } else {
                    pair[0]
                }
            })
            .collect();
        idx /= 2;
    }
    (level.first().copied().unwrap_or_default(), proof)
}
