//! The CPU reference backend.

use super::{check_indices, Backend, BackendError, ChunkHashes};
use crate::merkle::{self, Hash};
use crate::messages::RowIndex;
use crate::params::Params;
use crate::prf::MatrixPrf;
use crate::seed::Seed;
use rayon::prelude::*;

/// Rows of `A` processed together (each `B` tile loaded from memory serves this many rows).
const ROW_TILE: usize = 8;
/// Columns of `B`/`C` processed together (8 rows x 256 i32 accumulators = 8 KiB, in L1).
const COL_TILE: usize = 256;

/// The reference backend: safe Rust, parallel with rayon, bit-identical to the GPU.
#[derive(Default)]
pub struct CpuBackend {
    /// `B` of the last seed seen, kept between `commit` and `rows`.
    cached_b: Option<(Seed, u32, u32, Vec<i8>)>,
}

impl CpuBackend {
    /// A new backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn b_matrix(&mut self, seed: &Seed, params: &Params) -> &[i8] {
        let fresh = !matches!(&self.cached_b, Some((s, k, n, _)) if s == seed && *k == params.k && *n == params.n);
        if fresh {
            self.cached_b = Some((
                *seed,
                params.k,
                params.n,
                generate_b(&MatrixPrf::new(seed), params.k, params.n),
            ));
        }
        match &self.cached_b {
            Some((_, _, _, b)) => b,
            None => unreachable!("just filled"),
        }
    }
}

/// `B` (`k x n`, row-major).
pub fn generate_b(prf: &MatrixPrf, k: u32, n: u32) -> Vec<i8> {
    let mut b = vec![0i8; k as usize * n as usize];
    b.par_chunks_mut(n as usize)
        .enumerate()
        .for_each(|(l, row)| prf.b_row(l as u32, row));
    b
}

/// `A_t` (`m x k`, row-major).
pub fn generate_a(prf: &MatrixPrf, t: u32, m: u32, k: u32) -> Vec<i8> {
    let mut a = vec![0i8; m as usize * k as usize];
    a.par_chunks_mut(k as usize)
        .enumerate()
        .for_each(|(i, row)| prf.a_row(t, i as u32, row));
    a
}

/// `out = a * b` for `a: r x k`, `b: k x n` (both row-major `i8`), `out: r x n` (`i32`).
///
/// Exact: every product fits in `i16` (`|x*y| <= 2^14`) and the sums in `i32` (`k <= 2^16`).
pub fn gemm(a: &[i8], b: &[i8], k: usize, n: usize, out: &mut [i32]) {
    assert_eq!(b.len(), k * n);
    assert_eq!(a.len() % k, 0);
    assert_eq!(out.len(), a.len() / k * n);
    out.par_chunks_mut(ROW_TILE * n)
        .zip(a.par_chunks(ROW_TILE * k))
        .for_each(|(out_tile, a_tile)| gemm_tile(a_tile, b, k, n, out_tile));
}

/// One tile of rows, single-threaded.
pub fn gemm_tile(a_tile: &[i8], b: &[i8], k: usize, n: usize, out_tile: &mut [i32]) {
    let rows = a_tile.len() / k;
    out_tile.fill(0);
    for j0 in (0..n).step_by(COL_TILE) {
        let jn = COL_TILE.min(n - j0);
        for l in 0..k {
            let b_seg = &b[l * n + j0..l * n + j0 + jn];
            for r in 0..rows {
                let x = a_tile[r * k + l] as i16;
                let o = &mut out_tile[r * n + j0..r * n + j0 + jn];
                for (acc, y) in o.iter_mut().zip(b_seg) {
                    *acc += (x * (*y as i16)) as i32;
                }
            }
        }
    }
}

fn chunk_product(prf: &MatrixPrf, b: &[i8], params: &Params, t: u32) -> Vec<i32> {
    let a = generate_a(prf, t, params.m, params.k);
    let mut c = vec![0i32; params.m as usize * params.n as usize];
    gemm(&a, b, params.k as usize, params.n as usize, &mut c);
    c
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn commit(&mut self, seed: &Seed, params: &Params) -> Result<ChunkHashes, BackendError> {
        params.validate()?;
        let prf = MatrixPrf::new(seed);
        let p = *params;
        let b = self.b_matrix(seed, &p);
        let mut leaves: Vec<Hash> = Vec::with_capacity(p.rows() as usize);
        let mut chunk_roots = Vec::with_capacity(p.chunks as usize);
        for t in 0..p.chunks {
            let c = chunk_product(&prf, b, &p, t);
            let chunk_leaves: Vec<Hash> = c
                .par_chunks(p.n as usize)
                .enumerate()
                .map(|(i, row)| merkle::leaf_hash(t, i as u32, row))
                .collect();
            // m >= 1, so the chunk has a root.
            chunk_roots.push(merkle::root(&chunk_leaves).unwrap_or_default());
            leaves.extend(chunk_leaves);
        }
        Ok(ChunkHashes {
            leaves,
            chunk_roots,
        })
    }

    fn rows(
        &mut self,
        seed: &Seed,
        params: &Params,
        indices: &[RowIndex],
    ) -> Result<Vec<Vec<i32>>, BackendError> {
        check_indices(params, indices)?;
        let prf = MatrixPrf::new(seed);
        let (k, n) = (params.k as usize, params.n as usize);
        let mut a = vec![0i8; indices.len() * k];
        a.par_chunks_mut(k)
            .zip(indices)
            .for_each(|(row, ix)| prf.a_row(ix.t, ix.i, row));
        let b = self.b_matrix(seed, params);
        let mut c = vec![0i32; indices.len() * n];
        gemm(&a, b, k, n, &mut c);
        Ok(c.chunks(n).map(|r| r.to_vec()).collect())
    }

    fn chunk(&mut self, seed: &Seed, params: &Params, t: u32) -> Result<Vec<i32>, BackendError> {
        check_indices(params, &[RowIndex { t, i: 0 }])?;
        let prf = MatrixPrf::new(seed);
        let b = self.b_matrix(seed, params);
        Ok(chunk_product(&prf, b, params, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[i8], b: &[i8], k: usize, n: usize) -> Vec<i32> {
        let rows = a.len() / k;
        let mut c = vec![0i32; rows * n];
        for r in 0..rows {
            for j in 0..n {
                c[r * n + j] = (0..k)
                    .map(|l| a[r * k + l] as i32 * b[l * n + j] as i32)
                    .sum();
            }
        }
        c
    }

    #[test]
    fn blocked_gemm_equals_the_naive_triple_loop() {
        let prf = MatrixPrf::new(&Seed([3; 32]));
        // n above COL_TILE and not a multiple of it; rows not a multiple of ROW_TILE.
        let (m, k, n) = (13usize, 48usize, 272usize);
        let a: Vec<i8> = (0..m * k)
            .map(|x| prf.entry(0, (x / k) as u32, (x % k) as u32))
            .collect();
        let b: Vec<i8> = (0..k * n)
            .map(|x| prf.entry(1, (x / n) as u32, (x % n) as u32))
            .collect();
        let mut c = vec![0; m * n];
        gemm(&a, &b, k, n, &mut c);
        assert_eq!(c, naive(&a, &b, k, n));
    }

    #[test]
    fn extreme_entries_accumulate_exactly() {
        let k = 1024usize;
        let a = vec![-128i8; k];
        let b = vec![-128i8; k * 16];
        let mut c = vec![0; 16];
        gemm(&a, &b, k, 16, &mut c);
        assert!(c.iter().all(|v| *v == 16384 * k as i32));
    }

    #[test]
    fn rows_chunk_and_commit_agree() {
        let seed = Seed([9; 32]);
        let p = Params {
            m: 8,
            n: 32,
            k: 48,
            chunks: 3,
        };
        let mut be = CpuBackend::new();
        let hashes = be.commit(&seed, &p).unwrap();
        assert_eq!(hashes.leaves.len(), 24);
        let c2 = be.chunk(&seed, &p, 2).unwrap();
        let rows = be
            .rows(
                &seed,
                &p,
                &[RowIndex { t: 2, i: 5 }, RowIndex { t: 0, i: 0 }],
            )
            .unwrap();
        assert_eq!(rows[0], c2[5 * 32..6 * 32]);
        assert_eq!(hashes.leaves[2 * 8 + 5], merkle::leaf_hash(2, 5, &rows[0]));
        assert_eq!(
            hashes.chunk_roots[2],
            merkle::root(&hashes.leaves[16..24]).unwrap()
        );
        assert_eq!(
            be.rows(&seed, &p, &[RowIndex { t: 3, i: 0 }]),
            Err(BackendError::RowOutOfRange(RowIndex { t: 3, i: 0 }))
        );
        // A fresh backend (no cached B) and another seed.
        assert_eq!(CpuBackend::new().chunk(&seed, &p, 2).unwrap(), c2);
        assert_ne!(CpuBackend::new().chunk(&Seed([8; 32]), &p, 2).unwrap(), c2);
    }
}
