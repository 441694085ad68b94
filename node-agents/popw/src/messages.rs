//! The four protocol messages and their signed, size-limited wire format.
//!
//! ```text
//! checker                                   worker
//!   | -- Challenge (signed by checker) ------> |   seed, params, deadlines
//!   | <------ Commit (signed by worker agent) - |   Merkle root, GPU snapshots
//!   | -- Open (signed by checker) -----------> |   rows to open, drawn after the root arrived
//!   | <---- Openings (signed by worker agent) - |   the rows + Merkle paths
//! ```
//!
//! Wire format: `SCALE(payload) ++ signer (32 bytes) ++ signature (64 bytes)`, i.e. the SCALE
//! encoding of the tuple `(payload, signer, signature)`. The signature is sr25519 (context
//! `b"substrate"`) over `"kaisar-popw/msg/" ++ [version, kind] ++ SCALE(payload)`, so a signature
//! made for one kind of message can never be replayed as another. Every payload after the
//! challenge carries the challenge id, so it cannot be replayed into another challenge.
//!
//! Receiving: the byte length is checked against the limit for that message (exact, given the
//! challenge parameters) **before** anything is parsed, then the signer is compared with the one
//! expected and the signature verified, and only then is the payload decoded (all bytes must be
//! consumed).

use crate::keys::{self, AccountKey, Signer};
use crate::merkle::Hash;
use crate::params::{Params, ParamsError};
use crate::seed::{challenge_id_of, ChallengeId, GpuUuidHash, Nonce, Seed, SeedInputs};
use crate::snapshot::GpuSnapshot;
use codec::{Compact, CompactLen, Decode, DecodeAll, DecodeWithMemTracking, Encode, MaxEncodedLen};
use kaisar_primitives::{GpuModel, WorkerId};

/// Protocol version carried in the challenge and in every signature.
/// Version 2: the seed binds the claimed model and the parameters (`kaisar-popw/seed/v2`), and
/// the [`Ping`]/[`Pong`] messages exist.
pub const PROTOCOL_VERSION: u8 = 2;
/// The most rows a checker may ask to open.
pub const MAX_OPENINGS: u32 = 1024;
/// Hard limit on any message, whatever the parameters.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;
/// Bytes of signer and signature after the payload.
pub const ENVELOPE_BYTES: usize = 32 + 64;

const SIGNING_DOMAIN: &[u8; 16] = b"kaisar-popw/msg/";

/// Which message a payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageKind {
    /// [`Challenge`].
    Challenge = 1,
    /// [`Commit`].
    Commit = 2,
    /// [`Open`].
    Open = 3,
    /// [`Openings`].
    Openings = 4,
    /// [`Ping`].
    Ping = 5,
    /// [`Pong`].
    Pong = 6,
}

/// A protocol payload.
pub trait Payload: Encode + Decode {
    /// Its kind, part of the signed bytes.
    const KIND: MessageKind;
}

/// The performance-evaluation task, signed by the checker.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen)]
pub struct Challenge {
    /// [`PROTOCOL_VERSION`].
    pub version: u8,
    /// Genesis hash of the chain.
    pub genesis_hash: [u8; 32],
    /// The epoch randomness the seed uses.
    pub epoch_randomness: [u8; 32],
    /// The checker's nonce; its commitment is on-chain.
    pub nonce: Nonce,
    /// The challenged worker.
    pub worker_id: WorkerId,
    /// The worker's agent account: it must sign the commit and the openings.
    pub worker_agent: AccountKey,
    /// The checker's account: it signs this challenge and the open request.
    pub checker: AccountKey,
    /// Hash of the UUID of the challenged GPU.
    pub gpu_uuid_hash: GpuUuidHash,
    /// The model the worker claims.
    pub claimed_model: GpuModel,
    /// Shape and length of the work.
    pub params: Params,
    /// After this many milliseconds without a commit the checker gives up (fails the worker).
    pub commit_timeout_ms: u32,
    /// The worker must answer the open request within this many milliseconds.
    pub open_timeout_ms: u32,
}

impl Payload for Challenge {
    const KIND: MessageKind = MessageKind::Challenge;
}

impl Challenge {
    /// The challenge id: `blake2_256("kaisar-popw/challenge/v1" ++ SCALE(challenge))`.
    pub fn id(&self) -> ChallengeId {
        challenge_id_of(&self.encode())
    }

    /// The seed of the work.
    pub fn seed(&self) -> Seed {
        SeedInputs {
            genesis_hash: self.genesis_hash,
            epoch_randomness: self.epoch_randomness,
            nonce: self.nonce,
            worker_id: self.worker_id,
            gpu_uuid_hash: self.gpu_uuid_hash,
            claimed_model: self.claimed_model,
            params: self.params,
        }
        .seed()
    }

    /// Check the version and the parameters.
    pub fn validate(&self) -> Result<(), MessageError> {
        if self.version != PROTOCOL_VERSION {
            return Err(MessageError::UnsupportedVersion(self.version));
        }
        self.params.validate().map_err(MessageError::BadParams)
    }
}

/// The worker's commitment, signed by its agent key.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen)]
pub struct Commit {
    /// The challenge answered.
    pub challenge_id: ChallengeId,
    /// Merkle root over every row of every `C_t`.
    pub root: Hash,
    /// GPU reading just before the work.
    pub before: GpuSnapshot,
    /// GPU reading just after the work.
    pub after: GpuSnapshot,
}

impl Payload for Commit {
    const KIND: MessageKind = MessageKind::Commit;
}

/// A row of the output: row `i` of `C_t`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
)]
pub struct RowIndex {
    /// Chunk.
    pub t: u32,
    /// Row within the chunk.
    pub i: u32,
}

/// The rows the checker wants to see, signed by the checker.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Open {
    /// The challenge.
    pub challenge_id: ChallengeId,
    /// Distinct rows, at most [`MAX_OPENINGS`].
    pub indices: Vec<RowIndex>,
}

impl Payload for Open {
    const KIND: MessageKind = MessageKind::Open;
}

/// One opened row with its Merkle path.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct OpenedRow {
    /// Which row.
    pub index: RowIndex,
    /// The `n` entries of the row.
    pub row: Vec<i32>,
    /// Chunk-tree siblings then top-tree siblings ([`crate::merkle`]).
    pub path: Vec<Hash>,
}

/// The worker's answer to [`Open`], signed by its agent key: the rows in the order asked.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Openings {
    /// The challenge.
    pub challenge_id: ChallengeId,
    /// One entry per requested row, same order.
    pub rows: Vec<OpenedRow>,
}

impl Payload for Openings {
    const KIND: MessageKind = MessageKind::Openings;
}

/// A round-trip probe, signed by the checker. The checker times it itself (send to
/// [`Pong`] arrival); the smallest round trip, capped, is credited to the work time.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen)]
pub struct Ping {
    /// The challenge.
    pub challenge_id: ChallengeId,
    /// Which ping of the session (`0..MAX_PINGS`).
    pub seq: u32,
}

impl Payload for Ping {
    const KIND: MessageKind = MessageKind::Ping;
}

/// The worker's answer to a [`Ping`], signed by its agent key.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen)]
pub struct Pong {
    /// The challenge.
    pub challenge_id: ChallengeId,
    /// The ping answered.
    pub seq: u32,
}

impl Payload for Pong {
    const KIND: MessageKind = MessageKind::Pong;
}

/// Why a message was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Longer than the limit for this message; nothing was parsed.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Too short to hold the signer and the signature.
    #[error("message too short")]
    TooShort,
    /// Signed by another key than the one expected.
    #[error("signed by {got:?}, expected {expected:?}")]
    WrongSigner {
        /// Who should have signed.
        expected: AccountKey,
        /// Who did.
        got: AccountKey,
    },
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The payload does not decode (or has trailing bytes).
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// The payload is for another challenge.
    #[error("message for challenge {got:?}, expected {expected:?}")]
    WrongChallenge {
        /// This exchange's challenge.
        expected: ChallengeId,
        /// What the message carried.
        got: ChallengeId,
    },
    /// A challenge of an unknown protocol version.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u8),
    /// A challenge with invalid parameters.
    #[error("invalid parameters: {0}")]
    BadParams(ParamsError),
}

fn signing_bytes(kind: MessageKind, payload: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(SIGNING_DOMAIN.len() + 2 + payload.len());
    msg.extend_from_slice(SIGNING_DOMAIN);
    msg.push(PROTOCOL_VERSION);
    msg.push(kind as u8);
    msg.extend_from_slice(payload);
    msg
}

/// Encode and sign `payload`.
pub fn seal<P: Payload>(payload: &P, signer: &Signer) -> Vec<u8> {
    let mut bytes = payload.encode();
    let signature = signer.sign(&signing_bytes(P::KIND, &bytes));
    bytes.extend_from_slice(&signer.public().0);
    bytes.extend_from_slice(&signature);
    bytes
}

/// Check the length against `max_len`, the signer against `expected_signer`, the signature, and
/// decode the payload.
pub fn unseal<P: Payload>(
    bytes: &[u8],
    max_len: usize,
    expected_signer: &AccountKey,
) -> Result<P, MessageError> {
    let max = max_len.min(MAX_MESSAGE_BYTES);
    if bytes.len() > max {
        return Err(MessageError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    if bytes.len() < ENVELOPE_BYTES {
        return Err(MessageError::TooShort);
    }
    let (payload, envelope) = bytes.split_at(bytes.len() - ENVELOPE_BYTES);
    let mut signer = [0u8; 32];
    signer.copy_from_slice(&envelope[..32]);
    let signer = AccountKey(signer);
    if &signer != expected_signer {
        return Err(MessageError::WrongSigner {
            expected: *expected_signer,
            got: signer,
        });
    }
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&envelope[32..]);
    if !keys::verify(&signer, &signing_bytes(P::KIND, payload), &signature) {
        return Err(MessageError::BadSignature);
    }
    P::decode_all(&mut &payload[..]).map_err(|e| MessageError::Malformed(e.to_string()))
}

/// The signer a message claims (without verifying anything), if it is long enough.
pub fn claimed_signer(bytes: &[u8]) -> Option<AccountKey> {
    let start = bytes.len().checked_sub(ENVELOPE_BYTES)?;
    let mut s = [0u8; 32];
    s.copy_from_slice(&bytes[start..start + 32]);
    Some(AccountKey(s))
}

/// Exact upper bound on a signed [`Challenge`].
pub fn max_challenge_len() -> usize {
    Challenge::max_encoded_len() + ENVELOPE_BYTES
}

/// Exact upper bound on a signed [`Commit`].
pub fn max_commit_len() -> usize {
    Commit::max_encoded_len() + ENVELOPE_BYTES
}

/// Exact upper bound on a signed [`Ping`] or [`Pong`].
pub fn max_ping_len() -> usize {
    Ping::max_encoded_len().max(Pong::max_encoded_len()) + ENVELOPE_BYTES
}

/// Upper bound on a signed [`Open`] of `count` rows.
pub fn max_open_len(count: u32) -> usize {
    32 + Compact::<u32>::compact_len(&count)
        + count as usize * RowIndex::max_encoded_len()
        + ENVELOPE_BYTES
}

/// Upper bound on a signed [`Openings`] of `count` rows under `params`.
pub fn max_openings_len(params: &Params, count: u32) -> usize {
    let path = params.max_path_len();
    let row = RowIndex::max_encoded_len()
        + Compact::<u32>::compact_len(&params.n)
        + 4 * params.n as usize
        + Compact::<u32>::compact_len(&(path as u32))
        + 32 * path;
    32 + Compact::<u32>::compact_len(&count) + count as usize * row + ENVELOPE_BYTES
}

/// Decode and check a received challenge's envelope against the expected checker.
pub fn check_challenge_id(expected: &ChallengeId, got: &ChallengeId) -> Result<(), MessageError> {
    if expected != got {
        return Err(MessageError::WrongChallenge {
            expected: *expected,
            got: *got,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(checker: &Signer) -> Challenge {
        Challenge {
            version: PROTOCOL_VERSION,
            genesis_hash: [1; 32],
            epoch_randomness: [2; 32],
            nonce: Nonce([3; 32]),
            worker_id: 9,
            worker_agent: AccountKey([4; 32]),
            checker: checker.public(),
            gpu_uuid_hash: GpuUuidHash([5; 32]),
            claimed_model: GpuModel::H100Sxm,
            params: Params {
                m: 16,
                n: 16,
                k: 32,
                chunks: 4,
            },
            commit_timeout_ms: 30_000,
            open_timeout_ms: 5_000,
        }
    }

    #[test]
    fn sealed_messages_round_trip_and_fit_their_limits() {
        let s = Signer::from_seed(&[7; 32]);
        let c = challenge(&s);
        let bytes = seal(&c, &s);
        assert!(bytes.len() <= max_challenge_len());
        assert_eq!(
            unseal::<Challenge>(&bytes, max_challenge_len(), &s.public()),
            Ok(c.clone())
        );
        let open = Open {
            challenge_id: c.id(),
            indices: vec![RowIndex { t: 1, i: 2 }; 3],
        };
        let ob = seal(&open, &s);
        assert_eq!(ob.len(), max_open_len(3));
        let rows = (0..3)
            .map(|t| OpenedRow {
                index: RowIndex { t, i: 0 },
                row: vec![-1; 16],
                path: vec![[0; 32]; c.params.path_len(t)],
            })
            .collect();
        let openings = Openings {
            challenge_id: c.id(),
            rows,
        };
        let b = seal(&openings, &s);
        assert!(b.len() <= max_openings_len(&c.params, 3));
        assert_eq!(
            unseal::<Openings>(&b, max_openings_len(&c.params, 3), &s.public()),
            Ok(openings)
        );
    }

    #[test]
    fn oversized_messages_are_refused_before_parsing() {
        let s = Signer::from_seed(&[7; 32]);
        let junk = vec![0xffu8; max_challenge_len() + 1];
        assert_eq!(
            unseal::<Challenge>(&junk, max_challenge_len(), &s.public()),
            Err(MessageError::TooLarge {
                len: junk.len(),
                max: max_challenge_len()
            })
        );
        let huge = vec![0u8; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(
            unseal::<Openings>(&huge, usize::MAX, &s.public()),
            Err(MessageError::TooLarge { .. })
        ));
        assert_eq!(
            unseal::<Challenge>(&[0u8; 10], 1000, &s.public()),
            Err(MessageError::TooShort)
        );
    }

    #[test]
    fn signature_of_one_kind_does_not_verify_as_another_kind() {
        let s = Signer::from_seed(&[7; 32]);
        let c = challenge(&s);
        let commit = Commit {
            challenge_id: c.id(),
            root: [0; 32],
            before: GpuSnapshot::without_telemetry(c.gpu_uuid_hash, 1),
            after: GpuSnapshot::without_telemetry(c.gpu_uuid_hash, 2),
        };
        let bytes = seal(&commit, &s);
        // Same bytes presented as an Open (whose payload would decode differently anyway) or as
        // a Commit from another key.
        assert_eq!(
            unseal::<Open>(&bytes, usize::MAX, &s.public()),
            Err(MessageError::BadSignature)
        );
        let other = Signer::from_seed(&[8; 32]);
        assert!(matches!(
            unseal::<Commit>(&bytes, max_commit_len(), &other.public()),
            Err(MessageError::WrongSigner { .. })
        ));
        // Any flipped payload bit breaks the signature.
        let mut flipped = bytes.clone();
        flipped[40] ^= 1;
        assert_eq!(
            unseal::<Commit>(&flipped, max_commit_len(), &s.public()),
            Err(MessageError::BadSignature)
        );
    }

    #[test]
    fn trailing_bytes_inside_a_signed_payload_are_malformed() {
        let s = Signer::from_seed(&[7; 32]);
        let c = challenge(&s);
        let mut payload = c.encode();
        payload.push(0);
        let sig = s.sign(&signing_bytes(MessageKind::Challenge, &payload));
        payload.extend_from_slice(&s.public().0);
        payload.extend_from_slice(&sig);
        assert!(matches!(
            unseal::<Challenge>(&payload, max_challenge_len() + 1, &s.public()),
            Err(MessageError::Malformed(_))
        ));
    }

    #[test]
    fn challenge_id_binds_every_field() {
        let s = Signer::from_seed(&[7; 32]);
        let c = challenge(&s);
        let mut d = c.clone();
        d.open_timeout_ms += 1;
        assert_ne!(c.id(), d.id());
        let mut d = c.clone();
        d.params.chunks += 1;
        assert_ne!(c.id(), d.id());
        let mut d = c.clone();
        d.claimed_model = GpuModel::H100Pcie;
        assert_ne!(c.id(), d.id());
        assert_eq!(c.id(), challenge(&s).id());
    }
}
