//! A statement-by-statement Rust transcription of the CUDA kernels in
//! `src/backend/popw_kernels.cu`, checked against the reference (`prf`, `merkle`, i.e. the
//! `blake3` crate). This cannot run the CUDA code, but it checks the algorithm the kernels
//! implement (BLAKE3 flags, counters, tree shape for multi-chunk rows, the B^T indexing) on a
//! machine without a GPU. On a GPU, the `cuda` feature's tests compare the kernels themselves.

use kaisar_popw::merkle::{self, HASH_VERSION, LEAF_TAG, NODE_TAG};
use kaisar_popw::prf::{MatrixPrf, B_MATRIX};
use kaisar_popw::Seed;

const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const PARENT: u32 = 4;
const ROOT: u32 = 8;
const KEYED_HASH: u32 = 16;
const IV: [u32; 8] = [
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
];
const PERM: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

fn g(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize, x: u32, y: u32) {
    s[a] = s[a].wrapping_add(s[b]).wrapping_add(x);
    s[d] = (s[d] ^ s[a]).rotate_right(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_right(12);
    s[a] = s[a].wrapping_add(s[b]).wrapping_add(y);
    s[d] = (s[d] ^ s[a]).rotate_right(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_right(7);
}

/// `compress` of the kernel file: replaces `cv` by the new chaining value.
fn compress(cv: &mut [u32; 8], block: &[u32], counter: u64, block_len: u32, flags: u32) {
    let mut m = [0u32; 16];
    m.copy_from_slice(&block[..16]);
    let mut s = [0u32; 16];
    s[..8].copy_from_slice(cv);
    s[8..12].copy_from_slice(&IV[..4]);
    s[12] = counter as u32;
    s[13] = (counter >> 32) as u32;
    s[14] = block_len;
    s[15] = flags;
    for r in 0..7 {
        g(&mut s, 0, 4, 8, 12, m[0], m[1]);
        g(&mut s, 1, 5, 9, 13, m[2], m[3]);
        g(&mut s, 2, 6, 10, 14, m[4], m[5]);
        g(&mut s, 3, 7, 11, 15, m[6], m[7]);
        g(&mut s, 0, 5, 10, 15, m[8], m[9]);
        g(&mut s, 1, 6, 11, 12, m[10], m[11]);
        g(&mut s, 2, 7, 8, 13, m[12], m[13]);
        g(&mut s, 3, 4, 9, 14, m[14], m[15]);
        if r < 6 {
            let t: Vec<u32> = PERM.iter().map(|&p| m[p]).collect();
            m.copy_from_slice(&t);
        }
    }
    for i in 0..8 {
        cv[i] = s[i] ^ s[i + 8];
    }
}

fn leaf_key(t: u32, i: u32) -> [u32; 8] {
    [LEAF_TAG, HASH_VERSION, t, i, 0, 0, 0, 0]
}

fn to_hash(w: &[u32; 8]) -> [u8; 32] {
    let mut h = [0u8; 32];
    for (i, x) in w.iter().enumerate() {
        h[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
    }
    h
}

/// `popw_leaf_single` for one row (n <= 256).
fn leaf_single(row: &[u32], t: u32, i: u32) -> [u32; 8] {
    let mut cv = leaf_key(t, i);
    let nb = row.len() / 16;
    for b in 0..nb {
        let mut flags = KEYED_HASH;
        if b == 0 {
            flags |= CHUNK_START;
        }
        if b == nb - 1 {
            flags |= CHUNK_END | ROOT;
        }
        compress(&mut cv, &row[b * 16..], 0, 64, flags);
    }
    cv
}

/// `popw_leaf_chunks` then `popw_leaf_merge` for one row (n > 256).
fn leaf_multi(row: &[u32], t: u32, i: u32) -> [u32; 8] {
    let nchunks = row.len() / 256;
    let mut cvs: Vec<[u32; 8]> = (0..nchunks)
        .map(|ch| {
            let mut cv = leaf_key(t, i);
            let src = &row[ch * 256..];
            for b in 0..16 {
                let mut flags = KEYED_HASH;
                if b == 0 {
                    flags |= CHUNK_START;
                }
                if b == 15 {
                    flags |= CHUNK_END;
                }
                compress(&mut cv, &src[b * 16..], ch as u64, 64, flags);
            }
            cv
        })
        .collect();
    let mut width = nchunks;
    while width > 1 {
        for j in 0..width / 2 {
            let mut block = [0u32; 16];
            block[..8].copy_from_slice(&cvs[2 * j]);
            block[8..].copy_from_slice(&cvs[2 * j + 1]);
            let mut cv = leaf_key(t, i);
            let mut flags = KEYED_HASH | PARENT;
            if width == 2 {
                flags |= ROOT;
            }
            compress(&mut cv, &block, 0, 64, flags);
            cvs[j] = cv;
        }
        width /= 2;
    }
    cvs[0]
}

/// `popw_merkle_level` for one node.
fn node(left: &[u32; 8], right: &[u32; 8]) -> [u32; 8] {
    let mut block = [0u32; 16];
    block[..8].copy_from_slice(left);
    block[8..].copy_from_slice(right);
    let mut cv = [NODE_TAG, HASH_VERSION, 0, 0, 0, 0, 0, 0];
    compress(
        &mut cv,
        &block,
        0,
        64,
        KEYED_HASH | CHUNK_START | CHUNK_END | ROOT,
    );
    cv
}

#[test]
fn kernel_row_hashing_equals_the_reference_for_every_row_width() {
    for n in [16usize, 32, 64, 128, 256, 512, 1024, 4096, 8192] {
        let row: Vec<i32> = (0..n as i32)
            .map(|j| j.wrapping_mul(-2_654_435_761_i64 as i32) ^ 0x5bd1e995)
            .collect();
        let words: Vec<u32> = row.iter().map(|v| *v as u32).collect();
        let gpu = if n <= 256 {
            leaf_single(&words, 7, 3)
        } else {
            leaf_multi(&words, 7, 3)
        };
        assert_eq!(to_hash(&gpu), merkle::leaf_hash(7, 3, &row), "n = {n}");
    }
}

#[test]
fn kernel_node_hash_and_chunk_tree_equal_the_reference() {
    let leaves: Vec<[u32; 8]> = (0..8u32)
        .map(|x| [x, x + 1, x * 7, 3, 4, 5, 6, 7])
        .collect();
    let ref_leaves: Vec<[u8; 32]> = leaves.iter().map(to_hash).collect();
    assert_eq!(
        to_hash(&node(&leaves[0], &leaves[1])),
        merkle::node_hash(&ref_leaves[0], &ref_leaves[1])
    );
    // Level by level, as the kernel launches go.
    let mut level = leaves;
    while level.len() > 1 {
        level = level.chunks(2).map(|p| node(&p[0], &p[1])).collect();
    }
    assert_eq!(Some(to_hash(&level[0])), merkle::root(&ref_leaves));
}

#[test]
fn kernel_b_transpose_indexing_matches_the_prf() {
    // popw_gen_bt: thread idx -> l = idx % k, jb = idx / k; out[(jb*16+q)*k + l] = B[l][jb*16+q].
    let prf = MatrixPrf::new(&Seed([0x42; 32]));
    let (k, n) = (48u32, 32u32);
    let mut bt = vec![0i8; (k * n) as usize];
    for idx in 0..k * (n / 16) {
        let (l, jb) = (idx % k, idx / k);
        let block = prf.block(B_MATRIX, l, jb);
        for q in 0..16u32 {
            bt[((jb * 16 + q) * k + l) as usize] = block[q as usize];
        }
    }
    for l in 0..k {
        for j in 0..n {
            assert_eq!(bt[(j * k + l) as usize], prf.entry(B_MATRIX, l, j));
        }
    }
}
