//! Seeds, nonce commitments, challenge ids: the BLAKE2b-256 hashes that bind a challenge.
//!
//! These use BLAKE2b-256 (`sp_io::hashing::blake2_256` in a runtime) so that a pallet can
//! recompute them on-chain cheaply. Every hash is prefixed by a fixed-length domain tag and
//! takes fixed-length fields only, so there is no ambiguity between inputs.

use crate::params::Params;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use kaisar_primitives::GpuModel;
use rand::{CryptoRng, RngCore};

const NONCE_TAG: &[u8; 20] = b"kaisar-popw/nonce/v1";
/// v2 binds the claimed model and the parameters (v1 did not: a reused nonce let work carry over
/// between challenges of different shapes, whose matrices shared prefixes).
const SEED_TAG: &[u8; 19] = b"kaisar-popw/seed/v2";
const CHALLENGE_TAG: &[u8; 24] = b"kaisar-popw/challenge/v1";

/// 32 bytes, displayed as hex.
macro_rules! bytes32 {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Encode, Decode, DecodeWithMemTracking,
            MaxEncodedLen,
        )]
        pub struct $name(pub [u8; 32]);

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}(0x", stringify!($name))?;
                for b in &self.0[..8] {
                    write!(f, "{b:02x}")?;
                }
                write!(f, "..)")
            }
        }
    };
}

bytes32!(
    /// The secret of one challenge: every matrix entry derives from it.
    Seed
);
bytes32!(
    /// The checker's nonce. `H(nonce)` ([`Nonce::commitment`]) goes on-chain before the challenge;
    /// the nonce itself is revealed in the challenge.
    Nonce
);
bytes32!(
    /// `H(nonce)`, committed on-chain by the checker before it issues the challenge.
    NonceCommitment
);
bytes32!(
    /// Hash of the whole challenge; every later message of the exchange carries it.
    ChallengeId
);
bytes32!(
    /// Hash of a GPU's UUID string (as NVML reports it, e.g. `GPU-5f3e...`).
    GpuUuidHash
);

impl Nonce {
    /// A fresh nonce from the operating system's CSPRNG (what a checker daemon uses: a worker
    /// that can predict the nonce can start the work before the challenge).
    pub fn random() -> Self {
        Self::random_with_rng(&mut rand::rngs::OsRng)
    }

    /// A nonce from `rng`. **For reproducible tests only**; daemons call [`Nonce::random`].
    pub fn random_with_rng<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut n = [0u8; 32];
        rng.fill_bytes(&mut n);
        Self(n)
    }

    /// `blake2_256("kaisar-popw/nonce/v1" ++ nonce)`: what the checker commits to on-chain.
    pub fn commitment(&self) -> NonceCommitment {
        let mut buf = [0u8; 20 + 32];
        buf[..20].copy_from_slice(NONCE_TAG);
        buf[20..].copy_from_slice(&self.0);
        NonceCommitment(sp_crypto_hashing::blake2_256(&buf))
    }
}

impl GpuUuidHash {
    /// `blake2_256("kaisar-popw/gpu-uuid/v1" ++ uuid)`: [`kaisar_primitives::gpu_uuid_hash`].
    pub fn of_uuid(uuid: &str) -> Self {
        Self(kaisar_primitives::gpu_uuid_hash(uuid.as_bytes()))
    }
}

/// The inputs of the seed, all fixed by the chain and the checker's commitment before the
/// challenge is issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedInputs {
    /// Genesis hash of the chain.
    pub genesis_hash: [u8; 32],
    /// Randomness of the current epoch (from the chain's randomness source).
    pub epoch_randomness: [u8; 32],
    /// The checker's revealed nonce.
    pub nonce: Nonce,
    /// The challenged worker.
    pub worker_id: u64,
    /// The challenged GPU.
    pub gpu_uuid_hash: GpuUuidHash,
    /// The model the worker claims (its SCALE index, one byte).
    pub claimed_model: GpuModel,
    /// The shape and length of the work: `m`, `n`, `k`, `T`.
    pub params: Params,
}

impl SeedInputs {
    /// `blake2_256("kaisar-popw/seed/v2" ++ genesis ++ epoch_randomness ++ nonce ++
    /// worker_id (u64 LE) ++ gpu_uuid_hash ++ claimed_model (SCALE index, 1 byte) ++
    /// m ++ n ++ k ++ T (u32 LE each))`: every input fixed-length.
    pub fn seed(&self) -> Seed {
        let mut buf = Vec::with_capacity(19 + 32 * 4 + 8 + 1 + 16);
        buf.extend_from_slice(SEED_TAG);
        buf.extend_from_slice(&self.genesis_hash);
        buf.extend_from_slice(&self.epoch_randomness);
        buf.extend_from_slice(&self.nonce.0);
        buf.extend_from_slice(&self.worker_id.to_le_bytes());
        buf.extend_from_slice(&self.gpu_uuid_hash.0);
        // A fieldless enum with explicit `codec(index)`es: always exactly one byte.
        let model = self.claimed_model.encode();
        debug_assert_eq!(model.len(), 1);
        buf.extend_from_slice(&model);
        for x in [
            self.params.m,
            self.params.n,
            self.params.k,
            self.params.chunks,
        ] {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        Seed(sp_crypto_hashing::blake2_256(&buf))
    }
}

/// `blake2_256("kaisar-popw/challenge/v1" ++ SCALE(challenge))`.
pub(crate) fn challenge_id_of(encoded_challenge: &[u8]) -> ChallengeId {
    let mut buf = Vec::with_capacity(CHALLENGE_TAG.len() + encoded_challenge.len());
    buf.extend_from_slice(CHALLENGE_TAG);
    buf.extend_from_slice(encoded_challenge);
    ChallengeId(sp_crypto_hashing::blake2_256(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> SeedInputs {
        SeedInputs {
            genesis_hash: [1; 32],
            epoch_randomness: [2; 32],
            nonce: Nonce([3; 32]),
            worker_id: 7,
            gpu_uuid_hash: GpuUuidHash::of_uuid("GPU-00000000-0000-0000-0000-000000000000"),
            claimed_model: GpuModel::L40S,
            params: Params {
                m: 16,
                n: 16,
                k: 32,
                chunks: 4,
            },
        }
    }

    #[test]
    fn seed_changes_with_every_input() {
        let base = inputs().seed();
        let mut i = inputs();
        i.genesis_hash[0] ^= 1;
        assert_ne!(i.seed(), base);
        let mut i = inputs();
        i.epoch_randomness[31] ^= 1;
        assert_ne!(i.seed(), base);
        let mut i = inputs();
        i.nonce.0[5] ^= 1;
        assert_ne!(i.seed(), base);
        let mut i = inputs();
        i.worker_id = 8;
        assert_ne!(i.seed(), base);
        let mut i = inputs();
        i.gpu_uuid_hash = GpuUuidHash::of_uuid("GPU-1");
        assert_ne!(i.seed(), base);
        assert_eq!(inputs().seed(), base);
    }

    #[test]
    fn reused_nonce_under_another_shape_or_model_gives_an_unrelated_seed() {
        // v1 ignored the parameters: the same nonce under k = 32 and k = 64 gave the same seed,
        // so B of the first was a prefix of B of the second and work carried over.
        let base = inputs().seed();
        let changes: [fn(&mut Params); 4] = [
            |p: &mut Params| p.m *= 2,
            |p: &mut Params| p.n *= 2,
            |p: &mut Params| p.k *= 2,
            |p: &mut Params| p.chunks += 1,
        ];
        for change in changes {
            let mut i = inputs();
            change(&mut i.params);
            assert_ne!(i.seed(), base, "{:?}", i.params);
        }
        let mut i = inputs();
        i.claimed_model = GpuModel::H100Sxm;
        assert_ne!(i.seed(), base);
        // The B matrix of another shape shares nothing with this one's.
        let mut i = inputs();
        i.params.k *= 2;
        let (a, b) = (
            crate::prf::MatrixPrf::new(&base),
            crate::prf::MatrixPrf::new(&i.seed()),
        );
        let (mut ra, mut rb) = (vec![0i8; 16], vec![0i8; 16]);
        a.b_row(0, &mut ra);
        b.b_row(0, &mut rb);
        assert_ne!(ra, rb);
    }

    #[test]
    fn seed_v2_known_answer() {
        // Pinned so that a pallet or another implementation can check its derivation:
        // blake2_256("kaisar-popw/seed/v2" ++ [1;32] ++ [2;32] ++ [3;32] ++ 7u64 LE
        //            ++ gpu_uuid_hash ++ [5] (L40S) ++ 16, 16, 32, 4 as u32 LE).
        let i = inputs();
        let mut buf = b"kaisar-popw/seed/v2".to_vec();
        buf.extend_from_slice(&[1; 32]);
        buf.extend_from_slice(&[2; 32]);
        buf.extend_from_slice(&[3; 32]);
        buf.extend_from_slice(&7u64.to_le_bytes());
        buf.extend_from_slice(&i.gpu_uuid_hash.0);
        buf.push(5);
        for x in [16u32, 16, 32, 4] {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        assert_eq!(i.seed().0, sp_crypto_hashing::blake2_256(&buf));
    }

    #[test]
    fn nonce_commitment_is_domain_separated_blake2() {
        let n = Nonce([9; 32]);
        assert_ne!(n.commitment().0, sp_crypto_hashing::blake2_256(&n.0));
        assert_eq!(n.commitment(), Nonce([9; 32]).commitment());
        assert_ne!(n.commitment(), Nonce([8; 32]).commitment());
    }
}
