//! The counter-based PRF that generates the input matrices.
//!
//! Every entry of `B` and of every `A_t` is a pure function of the seed and its coordinates, so
//! any single row can be regenerated on its own (the checker regenerates `B` row by row and the
//! opened rows of `A_t`; the GPU generates whole matrices in parallel).
//!
//! The generator is **Philox4x32-10** (Salmon, Moraes, Dror, Shaw, SC'11; the generator behind
//! cuRAND's `curandStatePhilox4_32_10_t`, JAX and TensorFlow), checked against the published
//! Random123 known-answer vectors. One call maps a 128-bit counter and a 64-bit key to 128 bits,
//! i.e. 16 matrix entries:
//!
//! ```text
//! key     = (seed word 0, seed word 1)              // seed words are little-endian u32
//! counter = (j / 16, row, matrix, seed word 2)
//! entry   = byte (j mod 16) of the output, as i8     // output words serialised little-endian
//! ```
//!
//! `matrix` is the chunk index `t` for `A_t` and [`B_MATRIX`] (`u32::MAX`) for `B`; `row` is `i`
//! for `A_t` (an `m x k` matrix) and the row `l` of `B` (a `k x n` matrix). Rows are generated in
//! whole blocks of 16 entries, which is why `k` and `n` must be multiples of 16.
//!
//! The CUDA kernels (`backend/popw_kernels.cu`) implement the same function; the known-answer
//! vectors in this module's tests pin it for both.

use crate::seed::Seed;

/// The `matrix` counter word used for `B` (every `A_t` uses its chunk index `t < u32::MAX`).
pub const B_MATRIX: u32 = u32::MAX;

const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, p as u32)
}

/// Philox4x32 with 10 rounds, exactly as in Random123 (`philox4x32_R(10, ctr, key)`).
#[inline]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        let (hi0, lo0) = mulhilo(PHILOX_M0, c[0]);
        let (hi1, lo1) = mulhilo(PHILOX_M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The PRF instance of one challenge: the Philox key and the fixed fourth counter word, both taken
/// from the challenge seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatrixPrf {
    key: [u32; 2],
    domain: u32,
}

impl MatrixPrf {
    /// The PRF of the challenge with this seed.
    pub fn new(seed: &Seed) -> Self {
        let w = |i: usize| {
            u32::from_le_bytes([
                seed.0[4 * i],
                seed.0[4 * i + 1],
                seed.0[4 * i + 2],
                seed.0[4 * i + 3],
            ])
        };
        Self {
            key: [w(0), w(1)],
            domain: w(2),
        }
    }

    /// The raw parts `(key0, key1, domain)`, as passed to the CUDA kernels.
    pub fn words(&self) -> (u32, u32, u32) {
        (self.key[0], self.key[1], self.domain)
    }

    /// The 16 entries of block `block` (columns `16*block .. 16*block+16`) of row `row` of
    /// matrix `matrix`.
    #[inline]
    pub fn block(&self, matrix: u32, row: u32, block: u32) -> [i8; 16] {
        let out = philox4x32_10([block, row, matrix, self.domain], self.key);
        let mut bytes = [0i8; 16];
        for (w, word) in out.iter().enumerate() {
            for (q, b) in word.to_le_bytes().iter().enumerate() {
                bytes[4 * w + q] = *b as i8;
            }
        }
        bytes
    }

    /// Fill `out` with row `row` of matrix `matrix` (its first `out.len()` entries).
    ///
    /// `out.len()` must be a multiple of 16 (guaranteed for validated [`crate::Params`]); a
    /// trailing partial block is left untouched.
    pub fn fill_row(&self, matrix: u32, row: u32, out: &mut [i8]) {
        for (block, chunk) in out.chunks_exact_mut(16).enumerate() {
            chunk.copy_from_slice(&self.block(matrix, row, block as u32));
        }
    }

    /// Row `i` of `A_t` (length `k`).
    pub fn a_row(&self, t: u32, i: u32, out: &mut [i8]) {
        debug_assert!(t != B_MATRIX);
        self.fill_row(t, i, out)
    }

    /// Row `l` of `B` (length `n`).
    pub fn b_row(&self, l: u32, out: &mut [i8]) {
        self.fill_row(B_MATRIX, l, out)
    }

    /// One entry, for tests and documentation: `A_t[i][j]`, or `B[i][j]` with `matrix = B_MATRIX`.
    pub fn entry(&self, matrix: u32, row: u32, col: u32) -> i8 {
        self.block(matrix, row, col / 16)[(col % 16) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123's published known-answer vectors for Philox4x32-10 (`tests/kat_vectors`).
    #[test]
    fn philox_matches_random123_known_answer_vectors() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    fn kat_seed() -> Seed {
        let mut s = [0u8; 32];
        for (i, b) in s.iter_mut().enumerate() {
            *b = i as u8;
        }
        Seed(s)
    }

    /// Pins the mapping seed -> key/counter -> i8 entries. The expected values were computed by an
    /// independent Python implementation of the spec in the module docs (Philox checked against
    /// the same Random123 vectors). The CUDA kernels must reproduce them.
    #[test]
    fn matrix_entries_match_pinned_known_answers() {
        let prf = MatrixPrf::new(&kat_seed());
        assert_eq!(prf.words(), (0x03020100, 0x07060504, 0x0b0a0908));
        let a0 = prf.block(0, 0, 0);
        let b7 = prf.block(B_MATRIX, 7, 3);
        let a_far = prf.block(41, 8191, 2047);
        assert_eq!(a0, KAT_A0);
        assert_eq!(b7, KAT_B7);
        assert_eq!(a_far, KAT_AFAR);
    }

    const KAT_A0: [i8; 16] = [
        89, 126, -114, 81, 2, 1, 106, -49, -89, 14, -56, 117, 64, 64, -74, -108,
    ];
    const KAT_B7: [i8; 16] = [
        100, 28, -77, 99, 70, 22, -80, 112, -15, -70, -32, -87, -118, 12, -37, 8,
    ];
    const KAT_AFAR: [i8; 16] = [
        -116, -113, 3, 9, -42, -33, 89, -14, 45, 87, -55, -18, 51, -78, -80, 56,
    ];

    #[test]
    fn any_row_regenerates_alone_and_matches_single_entries() {
        let prf = MatrixPrf::new(&kat_seed());
        let mut row = vec![0i8; 64];
        prf.a_row(3, 5, &mut row);
        for (j, v) in row.iter().enumerate() {
            assert_eq!(*v, prf.entry(3, 5, j as u32));
        }
        let mut brow = vec![0i8; 48];
        prf.b_row(9, &mut brow);
        assert_eq!(brow[47], prf.entry(B_MATRIX, 9, 47));
        // A and B rows with the same index differ (different `matrix` counter word).
        let mut arow = vec![0i8; 48];
        prf.a_row(0, 9, &mut arow);
        assert_ne!(arow, brow);
    }

    #[test]
    fn entries_are_roughly_uniform_over_all_256_values() {
        let prf = MatrixPrf::new(&kat_seed());
        let mut counts = [0u32; 256];
        let mut row = vec![0i8; 1024];
        for r in 0..256 {
            prf.a_row(1, r, &mut row);
            for v in &row {
                counts[(*v as u8) as usize] += 1;
            }
        }
        // 262144 samples, 1024 expected per value; sd = 32. Allow 6 sd.
        for c in counts {
            assert!((832..=1216).contains(&c), "count {c}");
        }
    }
}
