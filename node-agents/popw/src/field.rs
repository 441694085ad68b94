//! Arithmetic modulo the Mersenne prime `p = 2^61 - 1`, for the Freivalds check.
//!
//! The dot products accumulate exactly in `i128` and reduce once at the end: an `i8 x (< 2^61)`
//! term is below `2^68` and an `i32 x (< 2^61)` term below `2^92`, so even `2^16` terms stay far
//! inside `i128`.

use rand::Rng;

/// The modulus `2^61 - 1`.
pub const P: u64 = (1 << 61) - 1;

/// `x mod p` for a signed 128-bit `x`, in `0..p`.
#[inline]
pub fn reduce_i128(x: i128) -> u64 {
    let r = x.rem_euclid(P as i128);
    r as u64
}

/// `a * b mod p` for `a, b < p`.
#[inline]
pub fn mul(a: u64, b: u64) -> u64 {
    ((a as u128 * b as u128) % P as u128) as u64
}

/// A uniform element of `0..p`.
pub fn random_element<R: Rng + ?Sized>(rng: &mut R) -> u64 {
    rng.gen_range(0..P)
}

/// `sum a[j] * v[j] mod p` for an `i8` row and field elements `v` (`v[j] < p`).
#[inline]
pub fn dot_i8(a: &[i8], v: &[u64]) -> u64 {
    debug_assert_eq!(a.len(), v.len());
    debug_assert!(a.len() <= 1 << 20);
    let mut acc: i128 = 0;
    for (x, y) in a.iter().zip(v) {
        // Both operands fit in i64, so this is a single 64x64->128 multiply.
        acc += (*x as i64 as i128) * (*y as i64 as i128);
    }
    reduce_i128(acc)
}

/// `sum c[j] * v[j] mod p` for an `i32` row and field elements `v` (`v[j] < p`).
#[inline]
pub fn dot_i32(c: &[i32], v: &[u64]) -> u64 {
    debug_assert_eq!(c.len(), v.len());
    debug_assert!(c.len() <= 1 << 20);
    let mut acc: i128 = 0;
    for (x, y) in c.iter().zip(v) {
        acc += (*x as i64 as i128) * (*y as i64 as i128);
    }
    reduce_i128(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn reduction_handles_negative_and_large_values() {
        assert_eq!(reduce_i128(0), 0);
        assert_eq!(reduce_i128(P as i128), 0);
        assert_eq!(reduce_i128(-1), P - 1);
        assert_eq!(reduce_i128(-(P as i128)), 0);
        assert_eq!(reduce_i128((P as i128) * (P as i128) + 5), 5);
        assert_eq!(mul(P - 1, P - 1), 1);
    }

    #[test]
    fn dot_products_match_naive_modular_arithmetic() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let v: Vec<u64> = (0..300).map(|_| random_element(&mut rng)).collect();
        let a: Vec<i8> = (0..300).map(|_| rng.gen()).collect();
        let c: Vec<i32> = (0..300).map(|_| rng.gen()).collect();
        let naive = |xs: &[i64]| {
            xs.iter().zip(&v).fold(0u64, |acc, (x, y)| {
                let xm = reduce_i128(*x as i128);
                (acc + mul(xm, *y)) % P
            })
        };
        let a64: Vec<i64> = a.iter().map(|x| *x as i64).collect();
        let c64: Vec<i64> = c.iter().map(|x| *x as i64).collect();
        assert_eq!(dot_i8(&a, &v), naive(&a64));
        assert_eq!(dot_i32(&c, &v), naive(&c64));
        // extreme values
        let mins = vec![i32::MIN; 300];
        let m64: Vec<i64> = mins.iter().map(|x| *x as i64).collect();
        assert_eq!(dot_i32(&mins, &v), naive(&m64));
    }
}
