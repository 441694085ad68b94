//! The pallet's types: what a checker attests, the per-check record, the per-epoch seeds and
//! the per-worker state.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::fmt::Debug as RuntimeDebug;
use frame_support::{traits::Get, BoundedVec, CloneNoBound, EqNoBound, PartialEqNoBound};
use kaisar_primitives::LicenseId;
use scale_info::TypeInfo;

/// A 32-byte hash (BLAKE2b-256 unless said otherwise).
pub type Hash32 = [u8; 32];

/// The PoPW protocol version this pallet recomputes challenge ids for
/// (`kaisar_popw::PROTOCOL_VERSION`).
pub const POPW_PROTOCOL_VERSION: u8 = 2;

/// Domain tag of the nonce commitment (`kaisar-popw`'s `Nonce::commitment`).
pub const NONCE_TAG: &[u8; 20] = b"kaisar-popw/nonce/v1";
/// Domain tag of the challenge id (`kaisar-popw`'s `Challenge::id`).
pub const CHALLENGE_TAG: &[u8; 24] = b"kaisar-popw/challenge/v1";
/// Domain tag of the assignment draws.
pub const ASSIGN_TAG: &[u8; 21] = b"kaisar-popw/assign/v1";
/// Randomness subject of the assignment seed (followed by the SCALE epoch).
pub const ASSIGN_SUBJECT: &[u8; 24] = b"kaisar-popw/assign-seed/";
/// Randomness subject of the challenge randomness (followed by the SCALE epoch).
pub const CHALLENGE_SUBJECT: &[u8; 27] = b"kaisar-popw/challenge-seed/";

/// A checker's verdict on one challenge (`kaisar-popw`'s `Verdict`, summarised).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub enum CheckVerdict {
    /// Every opened row verified and the throughput within the pass window.
    #[codec(index = 0)]
    Pass,
    /// A row, path or snapshot failed verification, or the throughput was above the window
    /// (a misclaimed model).
    #[codec(index = 1)]
    Wrong,
    /// Correct rows, but slower than the window's floor.
    #[codec(index = 2)]
    TooSlow,
    /// The worker did not answer (no commit or no openings in time).
    #[codec(index = 3)]
    Unreachable,
}

/// The shape of a challenge's work (`kaisar-popw`'s `Params`; SCALE-identical).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub struct ChallengeParams {
    /// Rows of each `A_t`: a power of two, at most 2^16.
    pub m: u32,
    /// Columns of `B`: a power of two in `16..=2^15`.
    pub n: u32,
    /// Inner dimension: a multiple of 16, at most 2^16.
    pub k: u32,
    /// Chunks `T`: `1..=2^16`, with `T * m <= 2^26`.
    pub chunks: u32,
}

impl ChallengeParams {
    /// Whether the parameters are within the protocol's bounds (`kaisar-popw`'s
    /// `Params::validate`).
    pub fn is_valid(&self) -> bool {
        let pow2 = |x: u32| x != 0 && x & (x - 1) == 0;
        pow2(self.m)
            && self.m <= 1 << 16
            && pow2(self.n)
            && (16..=1 << 15).contains(&self.n)
            && self.k != 0
            && self.k % 16 == 0
            && self.k <= 1 << 16
            && (1..=1 << 16).contains(&self.chunks)
            && (self.chunks as u64) * (self.m as u64) <= 1 << 26
    }
}

/// The fields of a challenge that the chain does not know by itself. With the chain's own values
/// (genesis hash, the epoch's challenge randomness, the worker id, its agent and model, the
/// checker's account) they rebuild the `kaisar-popw` challenge, whose id the chain recomputes.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub struct ChallengeTerms {
    /// The checker's nonce (its commitment is on-chain).
    pub nonce: Hash32,
    /// Hash of the challenged GPU's UUID (`kaisar_primitives::gpu_uuid_hash`).
    pub gpu_uuid_hash: Hash32,
    /// Shape and length of the work.
    pub params: ChallengeParams,
    /// The challenge's commit timeout, in milliseconds.
    pub commit_timeout_ms: u32,
    /// The challenge's open timeout, in milliseconds.
    pub open_timeout_ms: u32,
}

/// What a checker attests about one challenge of one worker.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub struct Attestation {
    /// The challenge id (`blake2_256("kaisar-popw/challenge/v1" ++ SCALE(challenge))`); must
    /// equal the id the chain recomputes from `terms` and its own values.
    pub challenge_id: Hash32,
    /// The challenge's terms (nonce included: it must open the checker's nonce commitment).
    pub terms: ChallengeTerms,
    /// The worker's committed Merkle root (zero if it never committed).
    pub merkle_root: Hash32,
    /// Work time the checker measured, in milliseconds (zero if none).
    pub work_time_ms: u32,
    /// Measured throughput, in giga-operations per second (TOPS x 1000; zero if none).
    pub throughput_gops: u64,
    /// Throughput as a fraction of the model's calibrated figure, in parts per million
    /// (1_000_000 = exactly the calibrated figure; may exceed it).
    pub ratio_ppm: u32,
    /// The verdict.
    pub verdict: CheckVerdict,
    /// BLAKE2b-256 of the worker's signed `Openings` message (zero if none).
    pub openings_digest: Hash32,
    /// BLAKE2b-256 of the worker's NVML snapshots (SCALE of before and after; zero if none).
    pub snapshots_digest: Hash32,
}

/// What the chain keeps of a revealed attestation (the whole attestation is in the event).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub struct Vote {
    /// The checker's verdict.
    pub verdict: CheckVerdict,
    /// Measured throughput, in GOPS.
    pub throughput_gops: u64,
    /// The challenge id (the per-check replay cache).
    pub challenge_id: Hash32,
}

/// One assigned slot's part in a check.
#[derive(
    Clone,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub struct SlotCheck<AccountId> {
    /// The slot index in the epoch's slot set.
    pub slot: u32,
    /// The slot's license (stable across epochs: checker records are kept by license).
    pub license: LicenseId,
    /// The slot's operator in the epoch: the only account that may act for the slot.
    pub operator: AccountId,
    /// `blake2_256("kaisar-popw/nonce/v1" ++ nonce)`, once committed.
    pub nonce_commitment: Option<Hash32>,
    /// `blake2_256(SCALE(attestation) ++ salt)`, once sealed.
    pub seal: Option<Hash32>,
    /// The revealed vote, once revealed.
    pub vote: Option<Vote>,
}

/// The check of one worker in one epoch: its assigned slots (fixed when the first checker
/// commits) and their progress.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    frame_support::DebugNoBound,
)]
#[scale_info(skip_type_params(K))]
pub struct CheckRecord<AccountId: Clone + PartialEq + Eq + RuntimeDebug, K: Get<u32>> {
    /// The assigned slots, in draw order.
    pub slots: BoundedVec<SlotCheck<AccountId>, K>,
    /// Slots that sealed.
    pub sealed: u32,
    /// Slots that revealed.
    pub revealed: u32,
}

/// The outcome of a finalized check.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub enum CheckOutcome {
    /// A strict majority of the assigned slots revealed `Pass`.
    #[codec(index = 0)]
    Passed,
    /// At least one slot revealed, but `Pass` had no strict majority of the assigned slots.
    #[codec(index = 1)]
    Failed,
    /// No slot revealed: no verdict, the worker is not affected (silent checkers are
    /// recorded).
    #[codec(index = 2)]
    NoVerdict,
}

/// The seeds of one epoch.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub struct EpochSeeds {
    /// Drawn at the epoch's first block: the assignments derive from it.
    pub assignment: Hash32,
    /// Drawn at `epoch_start + CommitWindow`: the `epoch_randomness` of the challenges'
    /// seeds. `None` while nonce commitments are still accepted.
    pub challenge: Option<Hash32>,
}

/// What the pallet keeps about a worker across epochs.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub struct WorkerCheckState {
    /// Failed verdicts since the last passing one (reset by a pass and by a suspension).
    pub consecutive_failures: u32,
    /// The latest epoch whose verdict was applied to the worker.
    pub last_finalized: Option<kaisar_primitives::CheckingEpoch>,
    /// The latest epoch the worker passed.
    pub last_passed: Option<kaisar_primitives::CheckingEpoch>,
    /// Median throughput of the passing attestations of the latest passing verdict, in GOPS.
    pub throughput_gops: Option<u64>,
}

/// One slot's vote in an applied verdict, kept for a contest of it.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub struct SlotVote {
    /// The slot's license.
    pub license: LicenseId,
    /// What it revealed (`None`: silent).
    pub verdict: Option<CheckVerdict>,
}

/// A worker's latest applied verdict (passed or failed), which anyone may contest during the
/// epoch after it.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    frame_support::DebugNoBound,
)]
#[scale_info(skip_type_params(K))]
pub struct VerdictRecord<K: Get<u32>> {
    /// The epoch of the check.
    pub epoch: kaisar_primitives::CheckingEpoch,
    /// `Passed` or `Failed`.
    pub outcome: CheckOutcome,
    /// Each assigned slot's vote.
    pub votes: BoundedVec<SlotVote, K>,
}

/// Why a worker is re-checked.
#[derive(
    Clone,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub enum RecheckCause<AccountId, Balance> {
    /// Anyone contested the worker's verdict of `epoch` with a bond: it is forfeited if the
    /// re-check agrees with `outcome`, returned otherwise (and the slots of the overturned
    /// majority are slashed).
    #[codec(index = 0)]
    Contest {
        /// Who contested (and holds the bond).
        contester: AccountId,
        /// The bond held.
        bond: Balance,
        /// The contested verdict's epoch.
        epoch: kaisar_primitives::CheckingEpoch,
        /// The contested outcome (`Passed` or `Failed`).
        outcome: CheckOutcome,
    },
    /// The user of a Running order disputed the service with a bond: returned if the re-check
    /// fails the worker (whose orders are refunded), paid to the provider if it passes.
    #[codec(index = 1)]
    Dispute {
        /// The order's user (holds the bond).
        user: AccountId,
        /// The bond held.
        bond: Balance,
        /// The disputed order.
        order: kaisar_primitives::OrderId,
    },
}

impl<AccountId, Balance: Copy> RecheckCause<AccountId, Balance> {
    /// Who holds the bond, and how much.
    pub fn bond(&self) -> (&AccountId, Balance) {
        match self {
            Self::Contest {
                contester, bond, ..
            } => (contester, *bond),
            Self::Dispute { user, bond, .. } => (user, *bond),
        }
    }
}

/// A re-check of one worker by up to `R` (2K+1) fresh slots, in the commit/seal/reveal windows
/// of `epoch` (the epoch after the one it was asked in).
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    frame_support::DebugNoBound,
)]
#[scale_info(skip_type_params(K, R))]
pub struct Recheck<
    AccountId: Clone + PartialEq + Eq + RuntimeDebug,
    Balance: Clone + PartialEq + Eq + RuntimeDebug,
    K: Get<u32>,
    R: Get<u32>,
> {
    /// The epoch whose windows the re-check uses.
    pub epoch: kaisar_primitives::CheckingEpoch,
    /// Why.
    pub cause: RecheckCause<AccountId, Balance>,
    /// The votes of the verdict it re-examines (the contested one, or for a dispute the
    /// worker's latest): these licenses are not drawn again, and for a contest the majority
    /// overturned by the re-check is slashed.
    pub previous: BoundedVec<SlotVote, K>,
    /// The drawn slots and their progress, from the first nonce commitment.
    pub check: Option<CheckRecord<AccountId, R>>,
}

/// How a re-check ended for the party that asked for it.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub enum RecheckResult {
    /// No fresh slot revealed: no verdict; the bond is returned.
    #[codec(index = 0)]
    Void,
    /// The contester or disputing user was right (the contested verdict overturned; the
    /// disputed worker failed): the bond is returned.
    #[codec(index = 1)]
    Upheld,
    /// The re-check confirmed the contested verdict, or passed the disputed worker: the bond
    /// is forfeited (a contest's to the forfeit pot, a dispute's to the provider).
    #[codec(index = 2)]
    Rejected,
}
