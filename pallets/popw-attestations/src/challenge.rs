//! The hashes the chain recomputes from what checkers reveal: nonce commitments, seals and
//! `kaisar-popw` challenge ids.

use super::*;
use alloc::vec::Vec;
use codec::Encode;
use core::fmt::Debug as RuntimeDebug;
use kaisar_primitives::{GpuModel, WorkerId};
use sp_io::hashing::blake2_256;

/// `blake2_256("kaisar-popw/nonce/v1" ++ nonce)`: the on-chain nonce commitment.
pub fn nonce_commitment(nonce: &Hash32) -> Hash32 {
    let mut buf = [0u8; 52];
    buf[..20].copy_from_slice(NONCE_TAG);
    buf[20..].copy_from_slice(nonce);
    blake2_256(&buf)
}

/// `blake2_256(SCALE(attestation) ++ salt)`: the seal of an attestation.
pub fn seal_of(attestation: &Attestation, salt: &Hash32) -> Hash32 {
    let mut buf = attestation.encode();
    buf.extend_from_slice(salt);
    blake2_256(&buf)
}

/// The chain's values that, with an attestation's [`ChallengeTerms`], make up a `kaisar-popw`
/// challenge.
#[derive(Clone, PartialEq, Eq, RuntimeDebug)]
pub struct ChainValues<'a> {
    /// The chain's genesis hash.
    pub genesis_hash: Hash32,
    /// The epoch's challenge randomness.
    pub epoch_randomness: Hash32,
    /// The worker.
    pub worker_id: WorkerId,
    /// SCALE of the worker's agent account (32 bytes for `AccountId32`: its sr25519 key).
    pub worker_agent: &'a [u8],
    /// SCALE of the checker's (the slot operator's) account.
    pub checker: &'a [u8],
    /// The model the worker claims.
    pub claimed_model: GpuModel,
}

/// The id of the challenge made of `chain` and `terms`:
/// `blake2_256("kaisar-popw/challenge/v1" ++ SCALE(Challenge))` with `kaisar-popw`'s field
/// order (version, genesis hash, epoch randomness, nonce, worker id, worker agent, checker,
/// GPU UUID hash, claimed model, params, commit timeout, open timeout).
pub fn challenge_id(chain: &ChainValues, terms: &ChallengeTerms) -> Hash32 {
    let mut buf = Vec::with_capacity(CHALLENGE_TAG.len() + 256);
    buf.extend_from_slice(CHALLENGE_TAG);
    POPW_PROTOCOL_VERSION.encode_to(&mut buf);
    buf.extend_from_slice(&chain.genesis_hash);
    buf.extend_from_slice(&chain.epoch_randomness);
    buf.extend_from_slice(&terms.nonce);
    chain.worker_id.encode_to(&mut buf);
    buf.extend_from_slice(chain.worker_agent);
    buf.extend_from_slice(chain.checker);
    buf.extend_from_slice(&terms.gpu_uuid_hash);
    chain.claimed_model.encode_to(&mut buf);
    terms.params.encode_to(&mut buf);
    terms.commit_timeout_ms.encode_to(&mut buf);
    terms.open_timeout_ms.encode_to(&mut buf);
    blake2_256(&buf)
}
