//! Shape of a challenge: `C_t = A_t * B` for `t in 0..chunks`, `A_t: m x k`, `B: k x n`.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};

/// Largest `m` (rows of each `A_t`; leaves of each chunk tree).
pub const MAX_M: u32 = 1 << 16;
/// Smallest `n`: one 64-byte BLAKE3 block per row.
pub const MIN_N: u32 = 16;
/// Largest `n` (columns of `B` and `C_t`): a row is at most 128 KiB.
pub const MAX_N: u32 = 1 << 15;
/// Largest `k`. With entries in `[-128, 127]`, `|C[i][j]| <= k * 2^14 <= 2^30`, so the INT32
/// accumulation of cuBLAS (and of the CPU backend) is exact and never overflows.
pub const MAX_K: u32 = 1 << 16;
/// Largest number of chunks `T` (`u32::MAX` is reserved for `B` in the PRF counter).
pub const MAX_CHUNKS: u32 = 1 << 16;
/// Largest number of committed rows `T * m` (the worker keeps one 32-byte leaf hash per row:
/// at most 2 GiB).
pub const MAX_ROWS: u64 = 1 << 26;

/// The shape every calibrated challenge uses: `m = n = 8192`, `k = 32768`. Only the number of
/// chunks depends on the GPU model (see [`crate::calibration`]).
///
/// Why these numbers:
/// * `k` large: each output element costs `2k` operations, so hashing the output (which every
///   row must be, for the commitment) costs ~6% of the GEMM time at H100 speed, and the measured
///   throughput is dominated by the tensor cores.
/// * the checker's cost is `O(k*n)` for `y = B*r` (about 0.4 s on one core here, see
///   `docs/popw.md`) plus `O(k + n)` per opened row: well under the 2 s budget.
/// * `A_t`, `B` and `C_t` are 256 MiB each: fits any GPU in the table.
pub const STANDARD_SHAPE: Shape = Shape {
    m: 8192,
    n: 8192,
    k: 32768,
};

/// The matrix dimensions of a challenge, without the chunk count (also the `shape = { m, n, k }`
/// of a calibration table entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// Rows of each `A_t` and `C_t`.
    pub m: u32,
    /// Columns of `B` and `C_t`.
    pub n: u32,
    /// Columns of `A_t`, rows of `B`.
    pub k: u32,
}

impl Shape {
    /// Integer operations (multiply + add) of one chunk: `2*m*n*k`.
    pub fn ops_per_chunk(&self) -> u128 {
        2 * self.m as u128 * self.n as u128 * self.k as u128
    }

    /// The parameters with `chunks` chunks.
    pub fn with_chunks(self, chunks: u32) -> Params {
        Params {
            m: self.m,
            n: self.n,
            k: self.k,
            chunks,
        }
    }
}

/// Parameters of one challenge.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen,
)]
pub struct Params {
    /// Rows of each `A_t` and `C_t`. A power of two (each chunk's Merkle tree is perfect).
    pub m: u32,
    /// Columns of `B` and `C_t`. A power of two, at least 16 (a row is a whole number of 64-byte
    /// BLAKE3 blocks, and, above 256, a power-of-two number of 1 KiB BLAKE3 chunks).
    pub n: u32,
    /// Inner dimension. A multiple of 16 (whole PRF blocks; cuBLAS IMMA needs multiples of 4).
    pub k: u32,
    /// Number of chunks `T`.
    pub chunks: u32,
}

/// Why a [`Params`] is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// `m` must be a power of two in `1..=MAX_M`.
    #[error("m = {0} is not a power of two in 1..={MAX_M}")]
    BadM(u32),
    /// `n` must be a power of two in `MIN_N..=MAX_N`.
    #[error("n = {0} is not a power of two in {MIN_N}..={MAX_N}")]
    BadN(u32),
    /// `k` must be a multiple of 16 in `16..=MAX_K`.
    #[error("k = {0} is not a multiple of 16 in 16..={MAX_K}")]
    BadK(u32),
    /// `chunks` must be in `1..=MAX_CHUNKS`.
    #[error("chunks = {0} is not in 1..={MAX_CHUNKS}")]
    BadChunks(u32),
    /// `chunks * m` must be at most `MAX_ROWS`.
    #[error("{0} rows exceed the limit of {MAX_ROWS}")]
    TooManyRows(u64),
}

impl Params {
    /// Check every bound; all other code may assume a validated `Params`.
    pub fn validate(&self) -> Result<(), ParamsError> {
        if !self.m.is_power_of_two() || self.m > MAX_M {
            return Err(ParamsError::BadM(self.m));
        }
        if !self.n.is_power_of_two() || self.n < MIN_N || self.n > MAX_N {
            return Err(ParamsError::BadN(self.n));
        }
        if self.k == 0 || self.k % 16 != 0 || self.k > MAX_K {
            return Err(ParamsError::BadK(self.k));
        }
        if self.chunks == 0 || self.chunks > MAX_CHUNKS {
            return Err(ParamsError::BadChunks(self.chunks));
        }
        if self.rows() > MAX_ROWS {
            return Err(ParamsError::TooManyRows(self.rows()));
        }
        Ok(())
    }

    /// The matrix shape.
    pub fn shape(&self) -> Shape {
        Shape {
            m: self.m,
            n: self.n,
            k: self.k,
        }
    }

    /// Number of committed rows, `T * m`.
    pub fn rows(&self) -> u64 {
        self.chunks as u64 * self.m as u64
    }

    /// Total integer operations `2*m*n*k*T` (one multiply and one add per MAC).
    pub fn total_ops(&self) -> u128 {
        self.shape().ops_per_chunk() * self.chunks as u128
    }

    /// Length of the Merkle path of one row: `log2(m)` inside the chunk tree, then the path in
    /// the top tree over the `T` chunk roots (see [`crate::merkle::path_len`]).
    pub fn path_len(&self, t: u32) -> usize {
        self.m.trailing_zeros() as usize + crate::merkle::path_len(t as usize, self.chunks as usize)
    }

    /// The longest path of any row.
    pub fn max_path_len(&self) -> usize {
        self.m.trailing_zeros() as usize
            + (usize::BITS - (self.chunks as usize).saturating_sub(1).leading_zeros()) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_shape_is_valid_and_exact_in_int32() {
        let p = STANDARD_SHAPE.with_chunks(2000);
        assert_eq!(p.validate(), Ok(()));
        // worst case |sum| = k * 128 * 128
        assert!((p.k as i64) * 128 * 128 <= i32::MAX as i64);
        assert!((MAX_K as i64) * 128 * 128 <= i32::MAX as i64);
    }

    #[test]
    fn invalid_params_are_rejected_with_the_offending_field() {
        let ok = Params {
            m: 16,
            n: 16,
            k: 32,
            chunks: 4,
        };
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(
            Params { m: 12, ..ok }.validate(),
            Err(ParamsError::BadM(12))
        );
        assert_eq!(Params { m: 0, ..ok }.validate(), Err(ParamsError::BadM(0)));
        assert_eq!(Params { n: 8, ..ok }.validate(), Err(ParamsError::BadN(8)));
        assert_eq!(
            Params { n: 48, ..ok }.validate(),
            Err(ParamsError::BadN(48))
        );
        assert_eq!(
            Params { k: 40, ..ok }.validate(),
            Err(ParamsError::BadK(40))
        );
        assert_eq!(Params { k: 0, ..ok }.validate(), Err(ParamsError::BadK(0)));
        assert_eq!(
            Params {
                k: MAX_K + 16,
                ..ok
            }
            .validate(),
            Err(ParamsError::BadK(MAX_K + 16))
        );
        assert_eq!(
            Params { chunks: 0, ..ok }.validate(),
            Err(ParamsError::BadChunks(0))
        );
        assert_eq!(
            Params {
                m: MAX_M,
                chunks: MAX_CHUNKS,
                ..ok
            }
            .validate(),
            Err(ParamsError::TooManyRows(MAX_M as u64 * MAX_CHUNKS as u64))
        );
    }

    #[test]
    fn path_lengths_cover_both_tree_levels() {
        let p = Params {
            m: 8,
            n: 16,
            k: 16,
            chunks: 5,
        };
        // chunk tree: 3; top tree of 5 leaves: index 4 is promoted twice, then paired once.
        assert_eq!(p.path_len(0), 3 + 3);
        assert_eq!(p.path_len(4), 3 + 1);
        assert_eq!(p.max_path_len(), 6);
        let one = Params {
            m: 1,
            n: 16,
            k: 16,
            chunks: 1,
        };
        assert_eq!(one.path_len(0), 0);
        assert_eq!(one.max_path_len(), 0);
    }
}
