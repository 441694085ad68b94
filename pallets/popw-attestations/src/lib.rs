//! # PoPW attestations pallet
//!
//! The on-chain half of checking: every epoch, each `Active` or `PendingVerification` worker of
//! the registry is checked by K checker slots ([`Config::CheckersPerWorker`]) drawn from the
//! epoch's slot set of `pallet-checker-licenses`. Each assigned slot's operator commits to a
//! nonce, runs the Proof-of-Physical-Work challenge off-chain (`kaisar-popw`, see
//! `docs/popw.md`), seals its attestation and then reveals it. The verdict is a strict majority
//! of the assigned slots revealing `Pass`: a passing verdict verifies a pending worker
//! ([`kaisar_primitives::WorkerVerification::verify`]) and records its median measured
//! throughput; [`Config::MaxConsecutiveFailures`] failed verdicts in a row suspend it. Every
//! slot's part (assigned, revealed, agreed with the verdict, silent) is recorded per epoch and
//! license for the rewards pallet ([`kaisar_primitives::CheckerPerformance`]).
//! `docs/checking.md` explains the design and the attack each rule stops.
//!
//! ## Epochs and timeline
//!
//! Epochs are the checker-licenses epochs ([`kaisar_primitives::CheckingEpochs`]): epoch `e`
//! spans `S = epoch_start(e)` to `epoch_start(e + 1) - 1`, and its slot set is fixed for the
//! whole epoch (a license undelegated during `e` keeps its slot until `e + 1`). With
//! `C = CommitWindow`, `W = SealWindow`, `R = RevealWindow` (`C + W + R <= EpochLength`,
//! checked by `integrity_test`):
//!
//! | block | what happens |
//! |---|---|
//! | `S` | `on_initialize` draws the **assignment seed** from [`Config::Randomness`]; assignments of `e` are known from now on |
//! | `S ..< S+C` | assigned operators [`Pallet::commit_nonce`] `blake2_256("kaisar-popw/nonce/v1" ++ nonce)` |
//! | `S+C` | `on_initialize` draws the **challenge randomness** (the `epoch_randomness` of the challenges' seeds); no commitment is accepted from this block on |
//! | `S+C ..< S+C+W` | checkers challenge the workers off-chain and [`Pallet::seal`] `blake2_256(SCALE(attestation) ++ salt)` |
//! | from `S+C+W`, or once every assigned slot sealed, `..< S+C+W+R` | [`Pallet::reveal`] the attestation and salt; the last reveal finalizes the check |
//! | from `S+C+W+R` | anyone may [`Pallet::finalize`] (permissionless) |
//!
//! Why: a nonce committed before the challenge randomness exists cannot be chosen to favour a
//! worker (the seed mixes both), and the worker cannot start before the challenge reveals the
//! nonce. Sealing before anyone reveals stops checkers from copying each other's verdicts.
//!
//! **Randomness source.** [`Config::Randomness`] must be unknown to everybody before the block
//! that draws it. On a parachain use the relay chain's randomness from the validation data
//! (BABE's per-epoch randomness); the dev runtime uses the parent block hash, which the block
//! author can bias by withholding blocks (documented as insecure).
//!
//! ## Assignment (lazy, O(1) per query)
//!
//! The slots of `(e, worker)` are drawn by hashing: try `t = 0, 1, ...` up to
//! [`Config::MaxAssignmentTries`], slot index
//! `u64_le(blake2_256("kaisar-popw/assign/v1" ++ seed_e ++ worker (u64 LE) ++ t (u32 LE))[..8]) mod slot_count`,
//! skipping a slot already drawn and a slot whose owner or operator is the worker's provider
//! or its agent,
//! until K slots are drawn (fewer if the tries run out). No hook iterates workers or slots:
//! [`Pallet::assignment`] computes one worker's slots on demand, the first
//! [`Pallet::commit_nonce`] of a check stores them in its record ([`Checks`]), and the runtime
//! API ([`runtime_api::PopwAttestationsApi`]) lists an operator's assignments off-chain.
//!
//! ## Attestations
//!
//! An [`Attestation`] carries the challenge id, the challenge terms the chain does not know
//! (nonce, GPU UUID hash, work shape, timeouts), the Merkle root, measured time, throughput and
//! ratio to the calibrated figure, the verdict and digests of the openings and NVML snapshots.
//! At [`Pallet::reveal`] the chain checks that the attestation and salt hash to the seal, that
//! the nonce opens the slot's commitment, that the work shape is within the protocol's bounds,
//! and **recomputes the challenge id** from the terms and its own values (genesis hash, the
//! epoch's challenge randomness, worker id, its agent and claimed model, the operator's
//! account), so an attestation is bound to its epoch, worker and checker. Nonce commitments and
//! seals must be distinct within a check, and a challenge id is accepted once per check (the
//! replay cache; ids of other checks cannot match because they bind another worker, checker or
//! epoch randomness).
//!
//! ## Consensus
//!
//! When every assigned slot has revealed, or by [`Pallet::finalize`] after the reveal deadline:
//! `Passed` if more than half of the assigned slots revealed `Pass`, `NoVerdict` if nobody
//! revealed (the worker is not affected), otherwise `Failed`. The record is removed; each
//! slot's tally is added to [`CheckerTallies`]. A verdict older than the worker's latest applied
//! one only updates the tallies.
//!
//! ## Storage bounds
//!
//! [`Seeds`] keeps [`Config::SeedHistory`] epochs (one entry pruned per new epoch);
//! [`Checks`] records are removed when finalized; [`CheckerTallies`] are consumed by the rewards
//! pallet ([`kaisar_primitives::CheckerPerformance::take_performance`]) and pruned in `on_idle`
//! once [`Config::TallyHistory`] epochs old (at most [`Config::MaxTalliesPrunedPerBlock`] per
//! block, within the idle weight); [`WorkerStates`] holds
//! one entry per worker ever checked, removable by anyone once the worker left the registry
//! ([`Pallet::forget_worker`]).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod assignment;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod canaries;
pub mod challenge;
mod consensus;
mod dispatchable_impls;
mod escalation;
#[cfg(test)]
mod mock;
pub mod runtime_api;
#[cfg(test)]
mod tests;
mod tick_impls;
mod timeline;
#[cfg(any(feature = "try-runtime", test))]
mod try_state;
pub mod types;
pub mod weights;

pub use assignment::{draw_slot, OperatorAssignment};
pub use canaries::canary_commitment;
pub use challenge::{challenge_id, nonce_commitment, seal_of, ChainValues};
pub use consensus::median;
pub use types::*;
pub use weights::WeightInfo;

/// Logging target.
pub const LOG_TARGET: &str = "runtime::popw-attestations";

/// Sets up workers and slots for the benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
    /// Register a `PendingVerification` worker whose provider is `provider`.
    fn pending_worker(provider: &AccountId) -> kaisar_primitives::WorkerId;
    /// The `gpu_uuid_hash` of one of `worker`'s registered GPUs.
    fn gpu_of(worker: kaisar_primitives::WorkerId) -> [u8; 32];
    /// Make `operators` the operators (and owners) of the slot set of the epoch of the current
    /// block, in that order (slot `i` operated by `operators[i]`), and that epoch current.
    fn set_slots(operators: &[AccountId]);
    /// Make `worker` Active and give it a Running order of `user` (funded); returns the order.
    fn running_order(
        user: &AccountId,
        worker: kaisar_primitives::WorkerId,
    ) -> kaisar_primitives::OrderId;
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{
        pallet_prelude::*,
        traits::{fungible, Randomness},
    };
    use frame_system::pallet_prelude::*;
    use kaisar_primitives::{
        CheckerSlots, CheckerTally, CheckingEpoch, CheckingEpochs, LicenseId, OrderId,
        RewardAccrual, RunningOrders, WorkerAvailabilityHooks, WorkerId, WorkerRegistry,
        WorkerVerification,
    };
    use sp_runtime::Permill;

    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    /// The record of one check in this runtime.
    pub type CheckRecordOf<T> =
        CheckRecord<<T as frame_system::Config>::AccountId, <T as Config>::CheckersPerWorker>;

    /// The record of a re-check's slots in this runtime.
    pub type RecheckRecordOf<T> =
        CheckRecord<<T as frame_system::Config>::AccountId, <T as Config>::RecheckCheckers>;

    /// The balance type of the bonds.
    pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
        <T as frame_system::Config>::AccountId,
    >>::Balance;

    /// A re-check in this runtime.
    pub type RecheckOf<T> = Recheck<
        <T as frame_system::Config>::AccountId,
        BalanceOf<T>,
        <T as Config>::CheckersPerWorker,
        <T as Config>::RecheckCheckers,
    >;

    /// The funds this pallet holds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// A contest's bond, until its re-check concludes.
        #[codec(index = 0)]
        ContestBond,
        /// A user's dispute bond, until its re-check concludes.
        #[codec(index = 1)]
        DisputeBond,
    }

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The registry's balance type (its prices; unused here, named by the registry trait).
        type RegistryBalance;

        /// The worker registry: who provides a worker, its agent, model and status.
        type Workers: WorkerRegistry<Self::AccountId, Self::RegistryBalance>;

        /// Verifies and suspends workers on the verdicts (the registry).
        type Verification: WorkerVerification;

        /// Told of every applied failed verdict that does not suspend the worker (a suspension
        /// tells the same hooks through the registry): the orders pallet fails the worker's
        /// open orders, paying what matured and refunding the rest as a service failure
        /// (points where the user prefers). Users are refunded at the first failed check; the
        /// worker is suspended (no new orders) only after `MaxConsecutiveFailures`.
        type FailedVerdictHooks: WorkerAvailabilityHooks;

        /// The epoch's checker slots and the epochs' schedule (`pallet-checker-licenses`).
        type Slots: CheckerSlots<Self::AccountId> + CheckingEpochs<BlockNumberFor<Self>>;

        /// The randomness the assignment seed and the challenge randomness are drawn from. Must
        /// be unpredictable before the block that draws it (relay-chain randomness on a
        /// parachain; the dev runtime's parent-hash source is insecure).
        type Randomness: Randomness<Self::Hash, BlockNumberFor<Self>>;

        /// K: checker slots assigned to each worker per epoch (at least 1; default 3).
        #[pallet::constant]
        type CheckersPerWorker: Get<u32>;

        /// Most draws to find K eligible distinct slots (bounds the assignment's work).
        #[pallet::constant]
        type MaxAssignmentTries: Get<u32>;

        /// The part of the epoch, from its first block, during which nonce commitments are
        /// accepted; the challenge randomness is drawn at the block that ends it. A fraction of
        /// the epoch length (at least one block), so that the windows follow the chain's epoch
        /// length (a development chain's short epochs included).
        #[pallet::constant]
        type CommitWindow: Get<Permill>;

        /// The part of the epoch after the commit window during which attestations are sealed
        /// (at least one block).
        #[pallet::constant]
        type SealWindow: Get<Permill>;

        /// The part of the epoch after the seal window until the reveal deadline (at least one
        /// block). The three windows together are at most the whole epoch.
        #[pallet::constant]
        type RevealWindow: Get<Permill>;

        /// Failed verdicts in a row that suspend a worker (at least 1).
        #[pallet::constant]
        type MaxConsecutiveFailures: Get<u32>;

        /// Epochs whose seeds are kept (at least 2: the current and the previous one).
        #[pallet::constant]
        type SeedHistory: Get<u32>;

        /// Epochs the checker tallies of an epoch are kept for the rewards pallet; older ones
        /// are pruned in `on_idle` (at least 1).
        #[pallet::constant]
        type TallyHistory: Get<u32>;

        /// Most tallies `on_idle` prunes in one block (and never more than the idle weight
        /// allows; the same bound applies to retained canary-epoch votes).
        #[pallet::constant]
        type MaxTalliesPrunedPerBlock: Get<u32>;

        /// Who registers canaries: commits, before an epoch, to which workers are canaries in
        /// it (and which of them answer honestly), and reveals that after the epoch.
        type CanaryOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Most canary workers revealed for one epoch.
        #[pallet::constant]
        type MaxCanaries: Get<u32>;

        /// Epochs after a canary epoch during which its canaries may be revealed (at least 1,
        /// less than `TallyHistory`: the scores go into the epoch's tallies); the votes
        /// retained for it are pruned afterwards. The rewards pallet reads an epoch's tallies
        /// only after this period, so that canary scores are in.
        #[pallet::constant]
        type CanaryRevealEpochs: Get<u32>;

        /// The currency bonds of contests and disputes are held in.
        type Currency: fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
            + fungible::Mutate<Self::AccountId>;

        /// The runtime's hold reasons (this pallet's [`HoldReason`] among them).
        type RuntimeHoldReason: From<HoldReason>;

        /// The Running orders users may dispute (`pallet-orders`).
        type Orders: RunningOrders<Self::AccountId>;

        /// The bond of a contest (at least the existential deposit): forfeited to
        /// [`Config::ForfeitPot`] when the re-check confirms the contested verdict.
        #[pallet::constant]
        type ContestBond: Get<BalanceOf<Self>>;

        /// The bond of a user's dispute (small; at least the existential deposit): paid to the
        /// worker's provider when the re-check passes the worker.
        #[pallet::constant]
        type DisputeBond: Get<BalanceOf<Self>>;

        /// Where forfeited contest bonds go (the rewards pot).
        type ForfeitPot: Get<Self::AccountId>;

        /// Slots drawn for a re-check: 2K+1 by default (at least K).
        #[pallet::constant]
        type RecheckCheckers: Get<u32>;

        /// Told of what earns rewards: passing and failed verdicts, slots' agreed attestations,
        /// canary scores and slashes (the rewards pallet; `()` for none).
        type Rewards: RewardAccrual<Self::AccountId>;

        /// Weights of this pallet's calls and hook.
        type WeightInfo: WeightInfo;

        /// Creates workers and slots for the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: crate::BenchmarkHelper<Self::AccountId>;
    }

    /// The seeds of recent epochs (the last `SeedHistory`).
    #[pallet::storage]
    pub type Seeds<T: Config> = StorageMap<_, Twox64Concat, CheckingEpoch, EpochSeeds, OptionQuery>;

    /// Open checks, by epoch and worker: created by the first nonce commitment, removed when
    /// finalized.
    #[pallet::storage]
    pub type Checks<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        CheckingEpoch,
        Twox64Concat,
        WorkerId,
        CheckRecordOf<T>,
        OptionQuery,
    >;

    /// Number of open checks per epoch (entries of [`Checks`]).
    #[pallet::storage]
    pub type OpenChecks<T: Config> = StorageMap<_, Twox64Concat, CheckingEpoch, u32, ValueQuery>;

    /// Per worker: consecutive failures, the latest applied and passing epochs and the median
    /// throughput of its latest passing verdict (what users choosing a worker read).
    #[pallet::storage]
    pub type WorkerStates<T: Config> =
        StorageMap<_, Twox64Concat, WorkerId, WorkerCheckState, OptionQuery>;

    /// What each slot (by license) did in each epoch's finalized checks, for the rewards
    /// pallet ([`kaisar_primitives::CheckerPerformance`]).
    #[pallet::storage]
    pub type CheckerTallies<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        CheckingEpoch,
        Twox64Concat,
        LicenseId,
        CheckerTally,
        ValueQuery,
    >;

    /// The oldest epoch whose checker tallies may still be stored (`on_idle` prunes from
    /// here once it is `TallyHistory` epochs old).
    #[pallet::storage]
    pub type TallyPruneEpoch<T: Config> = StorageValue<_, CheckingEpoch, ValueQuery>;

    /// Where pruning [`TallyPruneEpoch`]'s tallies stopped (a storage key), if it is under way.
    #[pallet::storage]
    pub type TallyPruneCursor<T: Config> =
        StorageValue<_, BoundedVec<u8, ConstU32<128>>, OptionQuery>;

    /// Canary commitments: `blake2_256(SCALE((epoch, canaries, salt)))` of an epoch's canary
    /// list (`(worker, honest)` pairs), made before the epoch began. Removed when revealed or
    /// when the reveal period ends.
    #[pallet::storage]
    pub type CanaryCommitments<T: Config> =
        StorageMap<_, Twox64Concat, CheckingEpoch, Hash32, OptionQuery>;

    /// The votes of every finalized check of an epoch that has a canary commitment, kept until
    /// its canaries are revealed (which consumes the canaries' entries) or the reveal period
    /// ends (`on_idle` prunes the rest).
    #[pallet::storage]
    pub type RetainedVotes<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        CheckingEpoch,
        Twox64Concat,
        WorkerId,
        BoundedVec<(LicenseId, Option<CheckVerdict>), T::CheckersPerWorker>,
        OptionQuery,
    >;

    /// The oldest epoch whose retained votes may still be stored (`on_idle` prunes from here
    /// once its canary reveal period is over).
    #[pallet::storage]
    pub type VotesPruneEpoch<T: Config> = StorageValue<_, CheckingEpoch, ValueQuery>;

    /// Where pruning [`VotesPruneEpoch`]'s retained votes stopped (a storage key), if under way.
    #[pallet::storage]
    pub type VotesPruneCursor<T: Config> =
        StorageValue<_, BoundedVec<u8, ConstU32<128>>, OptionQuery>;

    /// Each worker's latest applied `Passed` or `Failed` verdict: what a contest re-examines
    /// (contestable during the epoch after it). One entry per checked worker, replaced by its
    /// next verdict, removed when a re-check concludes or the worker is forgotten.
    #[pallet::storage]
    pub type LastVerdicts<T: Config> =
        StorageMap<_, Twox64Concat, WorkerId, VerdictRecord<T::CheckersPerWorker>, OptionQuery>;

    /// Open re-checks (a contested verdict or a user's dispute), at most one per worker: from
    /// the contest or dispute until its verdict (the last reveal, or
    /// [`Pallet::finalize_recheck`] after the re-check epoch's reveal deadline). The worker's
    /// payments do not mature by time meanwhile.
    #[pallet::storage]
    pub type Rechecks<T: Config> = StorageMap<_, Twox64Concat, WorkerId, RecheckOf<T>, OptionQuery>;

    /// Per epoch and license: verdicts of the slot that a re-check overturned (it was in the
    /// contested majority), recorded in the epoch the re-check concluded, for the rewards
    /// pallet ([`kaisar_primitives::CheckerPerformance::slashes`]). Pruned with that epoch's
    /// tallies (a slashed license always has a tally entry in the epoch).
    #[pallet::storage]
    pub type Slashes<T: Config> =
        StorageDoubleMap<_, Twox64Concat, CheckingEpoch, Twox64Concat, LicenseId, u32, ValueQuery>;

    /// Events of this pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// The canary origin committed to `epoch`'s canaries.
        CanariesCommitted {
            /// The epoch.
            epoch: CheckingEpoch,
        },
        /// `epoch`'s canaries were revealed: the slots that checked them were scored.
        CanariesRevealed {
            /// The epoch.
            epoch: CheckingEpoch,
            /// Canary workers revealed.
            canaries: u32,
            /// Slot votes on them that were scored.
            scored: u32,
            /// Of those, the wrong ones.
            errors: u32,
        },
        /// The retained votes of `epoch` were pruned.
        VotesPruned {
            /// The epoch.
            epoch: CheckingEpoch,
        },
        /// The assignment seed of `epoch` was drawn: its assignments are fixed.
        AssignmentSeedDrawn {
            /// The epoch.
            epoch: CheckingEpoch,
            /// The seed the assignments derive from.
            seed: Hash32,
        },
        /// The challenge randomness of `epoch` was drawn: nonce commitments are closed.
        ChallengeRandomnessDrawn {
            /// The epoch.
            epoch: CheckingEpoch,
            /// The `epoch_randomness` of the epoch's challenges.
            randomness: Hash32,
        },
        /// A check was opened (first commitment): its assigned slots.
        CheckOpened {
            /// The epoch.
            epoch: CheckingEpoch,
            /// The checked worker.
            worker: WorkerId,
            /// The assigned slot indices, in draw order.
            slots: BoundedVec<u32, T::CheckersPerWorker>,
        },
        /// An assigned slot's operator committed to a nonce.
        NonceCommitted {
            /// The epoch.
            epoch: CheckingEpoch,
            /// The checked worker.
            worker: WorkerId,
            /// The slot index.
            slot: u32,
            /// The slot's license.
            license: LicenseId,
            /// `blake2_256("kaisar-popw/nonce/v1" ++ nonce)`.
            commitment: Hash32,
        },
        /// An assigned slot sealed its attestation.
        AttestationSealed {
            /// The epoch.
            epoch: CheckingEpoch,
            /// The checked worker.
            worker: WorkerId,
            /// The slot index.
            slot: u32,
            /// The slot's license.
            license: LicenseId,
            /// `blake2_256(SCALE(attestation) ++ salt)`.
            seal: Hash32,
        },
        /// An assigned slot revealed its attestation.
        AttestationRevealed {
            /// The epoch.
            epoch: CheckingEpoch,
            /// The checked worker.
            worker: WorkerId,
            /// The slot index.
            slot: u32,
            /// The slot's license.
            license: LicenseId,
            /// The attestation, as checked against the seal and the chain's values.
            attestation: Attestation,
        },
        /// A check was finalized.
        CheckFinalized {
            /// The epoch.
            epoch: CheckingEpoch,
            /// The checked worker.
            worker: WorkerId,
            /// The consensus verdict.
            outcome: CheckOutcome,
            /// Slots assigned.
            assigned: u32,
            /// Slots that revealed.
            revealed: u32,
            /// Slots that revealed `Pass`.
            passes: u32,
            /// False for a verdict older than the worker's latest applied one (only the
            /// checkers' tallies were updated).
            applied: bool,
        },
        /// A passing verdict.
        WorkerPassed {
            /// The worker.
            worker: WorkerId,
            /// The epoch.
            epoch: CheckingEpoch,
            /// Median throughput of the passing attestations, in GOPS.
            throughput_gops: u64,
        },
        /// A failed verdict.
        WorkerFailed {
            /// The worker.
            worker: WorkerId,
            /// The epoch.
            epoch: CheckingEpoch,
            /// Failed verdicts in a row, this one included.
            consecutive_failures: u32,
        },
        /// A passing verdict verified a pending worker (it is Active now).
        WorkerVerified {
            /// The worker.
            worker: WorkerId,
        },
        /// `MaxConsecutiveFailures` failed verdicts in a row suspended the worker.
        WorkerSuspended {
            /// The worker.
            worker: WorkerId,
        },
        /// The registry refused the verdict's verification or suspension (the worker changed
        /// state meanwhile); the verdict is recorded regardless.
        VerdictNotApplied {
            /// The worker.
            worker: WorkerId,
            /// The registry's error.
            error: DispatchError,
        },
        /// A worker that left the registry was forgotten.
        WorkerForgotten {
            /// The worker.
            worker: WorkerId,
        },
        /// The checker tallies of `epoch` were pruned (all of them, over one or more blocks).
        TalliesPruned {
            /// The epoch.
            epoch: CheckingEpoch,
        },
        /// Someone contested `worker`'s verdict of `epoch` with a bond: fresh slots re-check
        /// the worker in `recheck_epoch`.
        VerdictContested {
            /// The worker.
            worker: WorkerId,
            /// The contested verdict's epoch.
            epoch: CheckingEpoch,
            /// The contested outcome.
            outcome: CheckOutcome,
            /// The contester.
            contester: T::AccountId,
            /// The bond held.
            bond: BalanceOf<T>,
            /// The epoch of the re-check.
            recheck_epoch: CheckingEpoch,
        },
        /// The user of a Running order disputed its service with a bond: fresh slots re-check
        /// the worker in `recheck_epoch`; its payments stop maturing by time meanwhile.
        ServiceDisputed {
            /// The worker.
            worker: WorkerId,
            /// The order.
            order: OrderId,
            /// The user.
            user: T::AccountId,
            /// The bond held.
            bond: BalanceOf<T>,
            /// The epoch of the re-check.
            recheck_epoch: CheckingEpoch,
        },
        /// A re-check's slots were drawn (at its first commitment).
        RecheckOpened {
            /// The worker.
            worker: WorkerId,
            /// The re-check's epoch.
            epoch: CheckingEpoch,
            /// The drawn slot indices, in draw order.
            slots: BoundedVec<u32, T::RecheckCheckers>,
        },
        /// A re-check slot's operator committed to a nonce.
        RecheckNonceCommitted {
            /// The worker.
            worker: WorkerId,
            /// The slot index.
            slot: u32,
            /// The slot's license.
            license: LicenseId,
            /// `blake2_256("kaisar-popw/nonce/v1" ++ nonce)`.
            commitment: Hash32,
        },
        /// A re-check slot sealed its attestation.
        RecheckSealed {
            /// The worker.
            worker: WorkerId,
            /// The slot index.
            slot: u32,
            /// The slot's license.
            license: LicenseId,
            /// `blake2_256(SCALE(attestation) ++ salt)`.
            seal: Hash32,
        },
        /// A re-check slot revealed its attestation.
        RecheckRevealed {
            /// The worker.
            worker: WorkerId,
            /// The slot index.
            slot: u32,
            /// The slot's license.
            license: LicenseId,
            /// The attestation, as checked against the seal and the chain's values.
            attestation: Attestation,
        },
        /// A re-check concluded: its verdict was applied to the worker and the bond settled.
        RecheckConcluded {
            /// The worker.
            worker: WorkerId,
            /// The re-check's epoch.
            epoch: CheckingEpoch,
            /// The re-check's verdict (strict majority of the drawn slots).
            outcome: CheckOutcome,
            /// Slots drawn.
            assigned: u32,
            /// Slots that revealed.
            revealed: u32,
            /// Slots that revealed `Pass`.
            passes: u32,
            /// For whoever asked for it.
            result: RecheckResult,
            /// Who received the bond (returned to its holder, or forfeited).
            bond_to: T::AccountId,
            /// The bond.
            bond: BalanceOf<T>,
        },
        /// A slot of a verdict that a re-check overturned was slashed.
        VoteSlashed {
            /// The overturned verdict's epoch.
            verdict_epoch: CheckingEpoch,
            /// The license.
            license: LicenseId,
            /// The epoch the slash is recorded in (the re-check's).
            epoch: CheckingEpoch,
        },
    }

    /// Errors of this pallet.
    #[pallet::error]
    pub enum Error<T> {
        /// No such worker in the registry.
        UnknownWorker,
        /// The attested GPU (`terms.gpu_uuid_hash`) is not one the worker registered.
        UnknownGpu,
        /// Canaries of an epoch are committed before it begins.
        CanaryEpochStarted,
        /// The epoch's canaries were committed already.
        CanariesAlreadyCommitted,
        /// No canary commitment for the epoch (never made, already revealed, or expired).
        NoCanaryCommitment,
        /// Canaries are revealed after their epoch ends and within `CanaryRevealEpochs`.
        CanaryRevealNotOpen,
        /// The revealed canaries and salt do not hash to the commitment.
        CanaryMismatch,
        /// The worker is neither Active nor PendingVerification: it is not checked.
        WorkerNotCheckable,
        /// The call is for another epoch than the current one (or the slot set is not yet
        /// the epoch's).
        WrongEpoch,
        /// The epoch's seeds are not drawn yet.
        NoSeed,
        /// Nonce commitments for the epoch are closed (its challenge randomness is drawn).
        CommitWindowClosed,
        /// Seals are accepted only once the challenge randomness is drawn.
        SealWindowNotOpen,
        /// The seal deadline has passed.
        SealWindowClosed,
        /// Reveals open when every assigned slot sealed or at the seal deadline.
        RevealWindowNotOpen,
        /// The reveal deadline has passed.
        RevealWindowClosed,
        /// The slot is not assigned to this worker in this epoch.
        NotAssigned,
        /// The caller is not the operator of the slot.
        NotSlotOperator,
        /// The slot already committed a nonce for this check.
        AlreadyCommitted,
        /// Another slot of this check committed the same nonce commitment.
        NonceReused,
        /// No open check, or the slot did not commit a nonce.
        NotCommitted,
        /// The slot already sealed.
        AlreadySealed,
        /// Another slot of this check submitted the same seal.
        SealReused,
        /// The slot did not seal.
        NotSealed,
        /// The slot already revealed.
        AlreadyRevealed,
        /// The attestation and salt do not hash to the slot's seal.
        SealMismatch,
        /// The attestation's nonce does not open the slot's nonce commitment.
        NonceMismatch,
        /// The attestation's challenge id is not the one recomputed from the chain's values.
        ChallengeIdMismatch,
        /// The challenge id was already attested in this check.
        ChallengeReplayed,
        /// The attestation's work shape is outside the protocol's bounds.
        InvalidParams,
        /// The check cannot be finalized before the reveal deadline (unless all revealed).
        TooEarly,
        /// The worker's verdict for this epoch (or a later one) was already applied.
        AlreadyFinalized,
        /// Nothing to finalize: no open check, and the epoch is over or has no assignment.
        NothingToFinalize,
        /// The worker is still in the registry (or was never checked), or is being re-checked.
        WorkerStillRegistered,
        /// The worker has no applied verdict to contest.
        NoVerdictToContest,
        /// A verdict may be contested only during its epoch and the next one.
        ContestWindowClosed,
        /// The worker is already being re-checked (one re-check at a time).
        RecheckPending,
        /// The order is not Running.
        OrderNotRunning,
        /// Only the order's user may dispute it.
        NotOrderUser,
        /// The bond cannot be held (balance too low).
        InsufficientBond,
        /// No open re-check of this worker.
        NoRecheck,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn on_initialize(now: BlockNumberFor<T>) -> Weight {
            Self::tick(now)
        }

        fn on_idle(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
            let used = Self::prune_tallies(now, remaining);
            used.saturating_add(Self::prune_votes(now, remaining.saturating_sub(used)))
        }

        fn integrity_test() {
            assert!(T::CheckersPerWorker::get() >= 1, "K must be at least 1");
            assert!(
                T::MaxAssignmentTries::get() >= T::CheckersPerWorker::get(),
                "MaxAssignmentTries must be at least K"
            );
            let parts = [
                T::CommitWindow::get(),
                T::SealWindow::get(),
                T::RevealWindow::get(),
            ]
            .map(|w| w.deconstruct() as u64);
            assert!(
                parts.iter().sum::<u64>() <= Permill::one().deconstruct() as u64,
                "commit, seal and reveal windows must fit in one epoch"
            );
            assert!(
                Self::reveal_deadline(0) <= T::Slots::epoch_start(1),
                "the epoch is too short for one block per window"
            );
            assert!(T::MaxConsecutiveFailures::get() >= 1);
            assert!(T::CanaryRevealEpochs::get() >= 1);
            assert!(
                T::CanaryRevealEpochs::get() < T::TallyHistory::get(),
                "canaries must be revealed before their epoch's tallies are pruned"
            );
            assert!(T::SeedHistory::get() >= 2);
            assert!(T::TallyHistory::get() >= 1);
            assert!(T::MaxTalliesPrunedPerBlock::get() >= 1);
            assert!(
                T::RecheckCheckers::get() >= T::CheckersPerWorker::get(),
                "a re-check draws at least K slots"
            );
            {
                use frame_support::traits::fungible::Inspect;
                let ed = T::Currency::minimum_balance();
                assert!(
                    T::ContestBond::get() >= ed && T::DisputeBond::get() >= ed,
                    "bonds must be at least the existential deposit (they may open an account)"
                );
            }
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Commit to a nonce for the check of `worker` in `epoch` by `slot` (an index of the
        /// epoch's slot set assigned to the worker; the caller must be its operator), before
        /// the epoch's challenge randomness is drawn (`epoch_start + CommitWindow`).
        /// `commitment = blake2_256("kaisar-popw/nonce/v1" ++ nonce)`, distinct from the other
        /// slots' of the check. The first commitment of a check fixes its assigned slots.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::commit_nonce(T::MaxAssignmentTries::get()))]
        pub fn commit_nonce(
            origin: OriginFor<T>,
            epoch: CheckingEpoch,
            worker: WorkerId,
            slot: u32,
            commitment: Hash32,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            Self::do_commit_nonce(who, epoch, worker, slot, commitment)
        }

        /// Seal the slot's attestation: `seal = blake2_256(SCALE(attestation) ++ salt)`, after
        /// the challenge randomness is drawn and before the seal deadline
        /// (`epoch_start + CommitWindow + SealWindow`). The slot must have committed a nonce.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::seal())]
        pub fn seal(
            origin: OriginFor<T>,
            epoch: CheckingEpoch,
            worker: WorkerId,
            slot: u32,
            seal: Hash32,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_seal(who, epoch, worker, slot, seal)
        }

        /// Reveal the slot's sealed attestation and salt, once every assigned slot sealed or
        /// the seal deadline passed, before the reveal deadline. The chain checks the seal,
        /// the nonce commitment, the work shape and the recomputed challenge id. The last
        /// assigned slot's reveal finalizes the check.
        #[pallet::call_index(2)]
        #[pallet::weight(
            T::WeightInfo::reveal()
                .saturating_add(T::WeightInfo::finalize())
                .saturating_add(Pallet::<T>::max_verdict_effects())
                .saturating_add(Pallet::<T>::accrual_weight(T::CheckersPerWorker::get() + 1))
        )]
        pub fn reveal(
            origin: OriginFor<T>,
            epoch: CheckingEpoch,
            worker: WorkerId,
            slot: u32,
            attestation: Attestation,
            salt: Hash32,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            Self::do_reveal(who, epoch, worker, slot, attestation, salt)
        }

        /// Finalize the check of `worker` in `epoch` (anyone) after the reveal deadline:
        /// applies the consensus verdict to the worker and records each assigned slot's part.
        /// Without an open check (nobody committed), during the epoch, records the assigned
        /// slots as silent with no verdict.
        #[pallet::call_index(3)]
        #[pallet::weight(
            T::WeightInfo::finalize()
                .max(T::WeightInfo::finalize_unopened(T::MaxAssignmentTries::get()))
                .saturating_add(Pallet::<T>::max_verdict_effects())
                .saturating_add(Pallet::<T>::accrual_weight(T::CheckersPerWorker::get() + 1))
        )]
        pub fn finalize(
            origin: OriginFor<T>,
            epoch: CheckingEpoch,
            worker: WorkerId,
        ) -> DispatchResultWithPostInfo {
            ensure_signed(origin)?;
            Self::do_finalize(epoch, worker)
        }

        /// Remove the check state of a worker that left the registry (anyone).
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::forget_worker())]
        pub fn forget_worker(origin: OriginFor<T>, worker: WorkerId) -> DispatchResult {
            ensure_signed(origin)?;
            Self::do_forget_worker(worker)
        }

        /// Commit to `epoch`'s canaries before it begins (canary origin):
        /// `commitment = blake2_256(SCALE((epoch, canaries, salt)))` where `canaries` is the
        /// list of `(worker, honest)` later given to [`Pallet::reveal_canaries`]. Canary workers
        /// are ordinary registered workers (run by the network's operator under accounts not
        /// linked to it), so checkers cannot tell them apart until the reveal.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::commit_canaries())]
        pub fn commit_canaries(
            origin: OriginFor<T>,
            epoch: CheckingEpoch,
            commitment: Hash32,
        ) -> DispatchResult {
            T::CanaryOrigin::ensure_origin(origin)?;
            Self::do_commit_canaries(epoch, commitment)
        }

        /// Reveal `epoch`'s canaries (canary origin) after the epoch ended and within
        /// `CanaryRevealEpochs`: each slot that revealed a vote on a canary's finalized check
        /// gets a canary check in its tally for the epoch, and an error if it passed a
        /// dishonest canary or failed an honest one.
        #[pallet::call_index(6)]
        #[pallet::weight(
            T::WeightInfo::reveal_canaries(canaries.len() as u32).saturating_add(
                Pallet::<T>::accrual_weight(
                    (canaries.len() as u32).saturating_mul(T::CheckersPerWorker::get())
                )
            )
        )]
        pub fn reveal_canaries(
            origin: OriginFor<T>,
            epoch: CheckingEpoch,
            canaries: BoundedVec<(WorkerId, bool), T::MaxCanaries>,
            salt: Hash32,
        ) -> DispatchResultWithPostInfo {
            T::CanaryOrigin::ensure_origin(origin)?;
            Self::do_reveal_canaries(epoch, canaries, salt)
        }

        /// Contest `worker`'s latest applied verdict (anyone), during the verdict's epoch or
        /// the next one, holding [`Config::ContestBond`]: up to [`Config::RecheckCheckers`]
        /// (2K+1) slots not in the contested check re-check the worker in the next epoch. If
        /// the re-check agrees with the verdict the bond goes to [`Config::ForfeitPot`];
        /// otherwise it is returned and the slots of the overturned majority are slashed.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::contest())]
        pub fn contest(origin: OriginFor<T>, worker: WorkerId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_contest(who, worker)
        }

        /// Dispute the service of a Running `order` (its user only), holding
        /// [`Config::DisputeBond`]: fresh slots re-check its worker in the next epoch, and the
        /// worker's payments stop maturing by time until then. If the worker fails, it is
        /// suspended (its orders' unmatured periods and unserved rest refunded, as points where
        /// the user prefers) and the bond returned; if it passes, the bond goes to its provider.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::dispute())]
        pub fn dispute(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_dispute(who, order)
        }

        /// [`Pallet::commit_nonce`] for a re-check of `worker` (in the re-check's epoch and
        /// commit window). The first commitment draws the re-check's slots.
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::commit_recheck_nonce(T::MaxAssignmentTries::get()))]
        pub fn commit_recheck_nonce(
            origin: OriginFor<T>,
            worker: WorkerId,
            slot: u32,
            commitment: Hash32,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            Self::do_commit_recheck_nonce(who, worker, slot, commitment)
        }

        /// [`Pallet::seal`] for a re-check of `worker`.
        #[pallet::call_index(10)]
        #[pallet::weight(T::WeightInfo::seal_recheck())]
        pub fn seal_recheck(
            origin: OriginFor<T>,
            worker: WorkerId,
            slot: u32,
            seal: Hash32,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_seal_recheck(who, worker, slot, seal)
        }

        /// [`Pallet::reveal`] for a re-check of `worker`; the last drawn slot's reveal
        /// concludes the re-check.
        #[pallet::call_index(11)]
        #[pallet::weight(
            T::WeightInfo::reveal_recheck()
                .saturating_add(T::WeightInfo::finalize_recheck())
                .saturating_add(Pallet::<T>::max_verdict_effects())
                .saturating_add(Pallet::<T>::recheck_accrual_weight())
        )]
        pub fn reveal_recheck(
            origin: OriginFor<T>,
            worker: WorkerId,
            slot: u32,
            attestation: Attestation,
            salt: Hash32,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            Self::do_reveal_recheck(who, worker, slot, attestation, salt)
        }

        /// Conclude `worker`'s re-check (anyone) after its epoch's reveal deadline: applies
        /// its verdict and settles the bond (returned when nobody revealed).
        #[pallet::call_index(12)]
        #[pallet::weight(
            T::WeightInfo::finalize_recheck()
                .saturating_add(Pallet::<T>::max_verdict_effects())
                .saturating_add(Pallet::<T>::recheck_accrual_weight())
        )]
        pub fn finalize_recheck(
            origin: OriginFor<T>,
            worker: WorkerId,
        ) -> DispatchResultWithPostInfo {
            ensure_signed(origin)?;
            Self::do_finalize_recheck(worker)
        }
    }
}
