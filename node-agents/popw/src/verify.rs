//! The checker's verification, without a GPU (single-threaded on purpose: it must fit one core).
//!
//! For a secret uniform `r` in `F_p^n` (`p = 2^61 - 1`) the checker computes `y = B*r mod p` in
//! one streaming pass over the rows of `B` (regenerated from the seed, never stored). An opened
//! row `c` claimed to be row `i` of `C_t` is accepted iff
//!
//! 1. its Merkle path leads from `leaf_hash(t, i, c)` to the committed root, and
//! 2. `c . r == A_t[i,:] . y (mod p)`, with `A_t[i,:]` regenerated from the seed.
//!
//! If `c` differs from the true row `c* = A_t[i,:] * B`, then `d = c - c*` is a nonzero integer
//! vector with entries in `(-2^32, 2^32)`, hence nonzero mod `p`, and `d . r = 0 (mod p)` holds
//! for exactly a `1/p` fraction of the `r` (fix every coordinate but one where `d` is nonzero).
//! A wrong row passes with probability at most `1/p < 2^-60`.
//!
//! Cost: `O(k*n)` for `y` (PRF + multiply-add per entry of `B`), then `O(k + n)` plus one row
//! hash and a Merkle path per opened row.

use crate::field::{self, P};
use crate::merkle::{self, Hash};
use crate::messages::{OpenedRow, RowIndex};
use crate::params::Params;
use crate::prf::MatrixPrf;
use rand::{CryptoRng, RngCore};

/// The checker's secret vector `r` (`n` uniform elements of `F_p`). `rng` must be a CSPRNG the
/// worker cannot predict (see [`crate::Checker::issue`]).
pub fn draw_secret<R: RngCore + CryptoRng + ?Sized>(rng: &mut R, n: u32) -> Vec<u64> {
    (0..n).map(|_| field::random_element(rng)).collect()
}

/// `y = B * r mod p` (length `k`), streaming over the rows of `B`: memory `O(n + k)`.
pub fn compute_y(prf: &MatrixPrf, params: &Params, r: &[u64]) -> Vec<u64> {
    debug_assert_eq!(r.len(), params.n as usize);
    debug_assert!(r.iter().all(|x| *x < P));
    let mut row = vec![0i8; params.n as usize];
    (0..params.k)
        .map(|l| {
            prf.b_row(l, &mut row);
            field::dot_i8(&row, r)
        })
        .collect()
}

/// `count` distinct rows drawn uniformly from the `T * m` rows (all of them if there are fewer).
/// `rng` must be a CSPRNG the worker cannot predict (see [`crate::CheckerSession::receive_commit`]).
pub fn select_openings<R: RngCore + CryptoRng + ?Sized>(
    rng: &mut R,
    params: &Params,
    count: u32,
) -> Vec<RowIndex> {
    let total = params.rows() as usize;
    let amount = (count as usize).min(total);
    rand::seq::index::sample(rng, total, amount)
        .into_iter()
        .map(|x| RowIndex {
            t: (x / params.m as usize) as u32,
            i: (x % params.m as usize) as u32,
        })
        .collect()
}

/// Why an opened row was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowFault {
    /// Not the row that was asked for (or in the wrong place).
    WrongIndex,
    /// The row does not have `n` entries.
    WrongLength,
    /// The Merkle path does not lead to the committed root.
    BadPath,
    /// The row is not `A_t[i,:] * B` (Freivalds check failed).
    WrongProduct,
}

/// Check one opened row against what was asked, the root, and the product.
pub fn check_row(
    prf: &MatrixPrf,
    params: &Params,
    root: &Hash,
    r: &[u64],
    y: &[u64],
    asked: RowIndex,
    opened: &OpenedRow,
    a_row_buf: &mut Vec<i8>,
) -> Result<(), RowFault> {
    if opened.index != asked {
        return Err(RowFault::WrongIndex);
    }
    if opened.row.len() != params.n as usize {
        return Err(RowFault::WrongLength);
    }
    let leaf = merkle::leaf_hash(asked.t, asked.i, &opened.row);
    if !merkle::verify_path(
        root,
        leaf,
        asked.t,
        asked.i,
        params.m,
        params.chunks,
        &opened.path,
    ) {
        return Err(RowFault::BadPath);
    }
    a_row_buf.resize(params.k as usize, 0);
    prf.a_row(asked.t, asked.i, a_row_buf);
    if field::dot_i32(&opened.row, r) != field::dot_i8(a_row_buf, y) {
        return Err(RowFault::WrongProduct);
    }
    Ok(())
}

/// Check every opened row, in order; the first failure is returned with its position.
pub fn check_openings(
    prf: &MatrixPrf,
    params: &Params,
    root: &Hash,
    r: &[u64],
    y: &[u64],
    asked: &[RowIndex],
    opened: &[OpenedRow],
) -> Result<(), (usize, RowFault)> {
    if opened.len() != asked.len() {
        return Err((opened.len().min(asked.len()), RowFault::WrongIndex));
    }
    let mut buf = Vec::with_capacity(params.k as usize);
    for (pos, (a, o)) in asked.iter().zip(opened).enumerate() {
        check_row(prf, params, root, r, y, *a, o, &mut buf).map_err(|f| (pos, f))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Backend, CpuBackend};
    use crate::merkle::Commitment;
    use crate::seed::Seed;
    use rand::SeedableRng;

    #[test]
    fn y_equals_b_times_r_computed_naively() {
        let prf = MatrixPrf::new(&Seed([4; 32]));
        let p = Params {
            m: 4,
            n: 32,
            k: 48,
            chunks: 1,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let r = draw_secret(&mut rng, p.n);
        let y = compute_y(&prf, &p, &r);
        for l in 0..p.k {
            let mut acc = 0u64;
            for j in 0..p.n {
                let b = field::reduce_i128(prf.entry(crate::prf::B_MATRIX, l, j) as i128);
                acc = (acc + field::mul(b, r[j as usize])) % P;
            }
            assert_eq!(y[l as usize], acc);
        }
    }

    #[test]
    fn selected_openings_are_distinct_and_in_range() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let p = Params {
            m: 8,
            n: 16,
            k: 16,
            chunks: 5,
        };
        let s = select_openings(&mut rng, &p, 30);
        let mut sorted = s.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 30);
        assert!(s.iter().all(|x| x.t < 5 && x.i < 8));
        assert_eq!(select_openings(&mut rng, &p, 1000).len(), 40);
    }

    #[test]
    fn honest_rows_pass_and_each_kind_of_fault_is_named() {
        let seed = Seed([6; 32]);
        let prf = MatrixPrf::new(&seed);
        let p = Params {
            m: 4,
            n: 16,
            k: 32,
            chunks: 3,
        };
        let mut be = CpuBackend::new();
        let h = be.commit(&seed, &p).unwrap();
        let c = Commitment::from_chunks(4, h.leaves, h.chunk_roots).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let r = draw_secret(&mut rng, p.n);
        let y = compute_y(&prf, &p, &r);
        let asked = vec![RowIndex { t: 1, i: 2 }, RowIndex { t: 2, i: 3 }];
        let rows = be.rows(&seed, &p, &asked).unwrap();
        let opened: Vec<OpenedRow> = asked
            .iter()
            .zip(rows)
            .map(|(ix, row)| OpenedRow {
                index: *ix,
                row,
                path: c.path(ix.t, ix.i).unwrap(),
            })
            .collect();
        let root = c.root();
        assert_eq!(
            check_openings(&prf, &p, &root, &r, &y, &asked, &opened),
            Ok(())
        );

        let mut bad = opened.clone();
        bad[1].row[0] += 1;
        assert_eq!(
            check_openings(&prf, &p, &root, &r, &y, &asked, &bad),
            Err((1, RowFault::BadPath))
        );
        let mut bad = opened.clone();
        bad[0].row.pop();
        assert_eq!(
            check_openings(&prf, &p, &root, &r, &y, &asked, &bad),
            Err((0, RowFault::WrongLength))
        );
        let mut bad = opened.clone();
        bad.swap(0, 1);
        assert_eq!(
            check_openings(&prf, &p, &root, &r, &y, &asked, &bad),
            Err((0, RowFault::WrongIndex))
        );
        assert_eq!(
            check_openings(&prf, &p, &root, &r, &y, &asked, &opened[..1]),
            Err((1, RowFault::WrongIndex))
        );

        // A consistent commitment to a wrong row: the path is fine, the product is not.
        let mut leaves = c.leaves().to_vec();
        let mut wrong = opened[0].row.clone();
        wrong[3] -= 7;
        leaves[4 + 2] = merkle::leaf_hash(1, 2, &wrong);
        let c2 = Commitment::from_leaves(4, leaves).unwrap();
        let forged = vec![OpenedRow {
            index: asked[0],
            row: wrong,
            path: c2.path(1, 2).unwrap(),
        }];
        assert_eq!(
            check_openings(&prf, &p, &c2.root(), &r, &y, &asked[..1], &forged),
            Err((0, RowFault::WrongProduct))
        );
    }
}
