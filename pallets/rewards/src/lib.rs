//! # Rewards pallet
//!
//! Pays providers and checkers from a reward pot, per **reward era** (`EraLength` checking
//! epochs), without ever minting and without a hook that pays thousands of accounts.
//!
//! ## Accrual (during the era, O(1) per event)
//!
//! The checking and orders pallets tell this pallet what happens
//! ([`kaisar_primitives::RewardAccrual`]); each event updates one party's score and replaces its
//! old score by the new one in the era's totals ([`EraTotalsOf`]):
//!
//! - **Providers**, per worker: *proof of capacity* (PoC) adds the verified median throughput
//!   of each passing verdict (throughput x attested uptime, one epoch per verdict); *proof of
//!   delivery* (PoD) adds the GPU-blocks of each matured, paid usage period. A failed verdict
//!   in the era zeroes both for the era (and nothing more accrues to that worker in it).
//! - **Checker slots**, per license: work = attestations that agreed with the consensus; the
//!   canary error rate and slashes (verdicts overturned by an escalation) reduce it:
//!   `score = work x stake x (1 - error) x (1 - SlashFraction if slashed)`, stake being one
//!   license per slot. Minority, silent and unrevealed attestations add no work.
//!
//! Events of an epoch count for the era of that epoch while the era is still **open**: until
//! `FinalityEpochs` epochs after its last epoch (canary reveals and contests of its verdicts
//! land in that window). Later events for it are ignored.
//!
//! ## Closing and budget
//!
//! Once open no more, anyone may [`Pallet::close_era`] (the first claim does it too): the budget
//! is `min(EraBudget, what the pot can spend)`: if the pot holds less, every reward of the era
//! is scaled down pro rata; the pot is never overdrawn. The budget is split into a base and a
//! referral reserve (`base x ReferralShare`); the base into the provider pool (`ProviderShare`;
//! of it `PocShare` for PoC, the rest for PoD) and the checker pool. A pool whose total score is
//! zero is not taken. What is taken is **held on the pot** ([`HoldReason::EraBudget`]) until
//! claimed: it cannot be spent twice, and it is never lost or expired.
//!
//! ## Grants, vesting, claims
//!
//! A party's grant is its pool x its score / the pool's total (rounded down; a license's grant
//! splits into the operator's commission and the owner's rest, each rounded down: rounding
//! stays with the pot). A grant vests linearly from the era's finality block over `UnlockPeriod` blocks
//! (each era's grant is its own schedule). [`Pallet::claim`] pays what has vested and was not
//! paid yet; the provider, the license's current owner and the recorded operator claim their
//! own part. Each payout also pays `ReferralShare` of it to the beneficiary's referrer (one
//! level; `kaisar_primitives::Referrals`), out of the era's reserve (or gives that share back to
//! the pot's free balance when there is no referrer). A fully paid party's record is removed; a
//! record whose grant is zero (nothing to claim) is removed by anyone with
//! [`Pallet::drop_record`].
//!
//! `try_state`: what the pot holds for the eras equals, over the closed eras, what was budgeted
//! less what was paid or given back; each era's scores add up to its totals.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod accrual;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod dispatchable_impls;
mod era;
#[cfg(test)]
mod mock;
pub mod runtime_api;
#[cfg(test)]
mod tests;
#[cfg(any(feature = "try-runtime", test))]
mod try_state;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

/// Logging target.
pub const LOG_TARGET: &str = "runtime::rewards";

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{pallet_prelude::*, traits::fungible, PalletId};
    use frame_system::pallet_prelude::*;
    use kaisar_primitives::{
        CheckerSlots, CheckingEpochs, LicenseId, LicenseOwners, Referrals, WorkerId,
    };
    use sp_runtime::Perbill;

    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    /// The balance type.
    pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
        <T as frame_system::Config>::AccountId,
    >>::Balance;

    /// A closed era's budget in this runtime.
    pub type EraBudgetOf<T> = EraBudget<BalanceOf<T>, BlockNumberFor<T>>;

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The currency rewards are paid in.
        type Currency: fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
            + fungible::Mutate<Self::AccountId>;

        /// The runtime's hold reasons (this pallet's [`HoldReason`] among them).
        type RuntimeHoldReason: From<HoldReason>;

        /// The checking epochs and the current slot set (an operator's commission).
        type Slots: CheckerSlots<Self::AccountId> + CheckingEpochs<BlockNumberFor<Self>>;

        /// Who owns a license now (`pallet-checker-licenses`).
        type Licenses: LicenseOwners<Self::AccountId>;

        /// Who referred an account (`pallet-checker-licenses`).
        type Referrals: Referrals<Self::AccountId>;

        /// The reward pot: `PotId::get().into_account_truncating()`, funded by the treasury,
        /// by inflation or by transfers. This pallet never mints.
        #[pallet::constant]
        type PotId: Get<PalletId>;

        /// Checking epochs per reward era unless genesis sets [`EraLength`] (at least 1).
        #[pallet::constant]
        type DefaultEraEpochs: Get<u32>;

        /// Epochs after an era's last epoch during which it still accrues (canary reveals,
        /// contests); it can be closed from then on (at least 1).
        #[pallet::constant]
        type FinalityEpochs: Get<u32>;

        /// The most an era pays (grants and referral shares together).
        #[pallet::constant]
        type EraBudget: Get<BalanceOf<Self>>;

        /// The providers' part of an era's base budget (the rest is the checkers').
        #[pallet::constant]
        type ProviderShare: Get<Perbill>;

        /// The proof-of-capacity part of the providers' pool (the rest pays proof of delivery).
        #[pallet::constant]
        type PocShare: Get<Perbill>;

        /// What a referrer earns on each payout to an account it referred, on top of it.
        #[pallet::constant]
        type ReferralShare: Get<Perbill>;

        /// The part of a slot's era reward lost when one of its verdicts is overturned.
        #[pallet::constant]
        type SlashFraction: Get<Perbill>;

        /// Blocks over which an era's grants vest linearly from its close (0: at once).
        #[pallet::constant]
        type UnlockPeriod: Get<BlockNumberFor<Self>>;

        /// Weights of this pallet's calls and accrual.
        type WeightInfo: WeightInfo;
    }

    /// The funds this pallet holds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// Closed eras' budgets not yet claimed, held on the pot.
        #[codec(index = 0)]
        EraBudget,
    }

    /// What each worker earned in each era (removed once its provider was paid in full).
    #[pallet::storage]
    pub type ProviderScores<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        RewardEra,
        Twox64Concat,
        WorkerId,
        ProviderScore<T::AccountId>,
        OptionQuery,
    >;

    /// What each checker slot (license) earned in each era (removed once owner and operator
    /// were paid in full).
    #[pallet::storage]
    pub type CheckerScores<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        RewardEra,
        Twox64Concat,
        LicenseId,
        CheckerScore<T::AccountId>,
        OptionQuery,
    >;

    /// Checking epochs per reward era (genesis-configurable: a development chain uses short
    /// eras; defaults to [`Config::DefaultEraEpochs`]).
    #[pallet::storage]
    pub type EraLength<T: Config> = StorageValue<_, u32, ValueQuery, T::DefaultEraEpochs>;

    /// The score totals of the eras still accruing (moved into [`EraBudgets`] at the close).
    #[pallet::storage]
    pub type EraTotalsOf<T: Config> = StorageMap<_, Twox64Concat, RewardEra, EraTotals, ValueQuery>;

    /// Closed eras: their budgets and what was paid of them.
    #[pallet::storage]
    pub type EraBudgets<T: Config> =
        StorageMap<_, Twox64Concat, RewardEra, EraBudgetOf<T>, OptionQuery>;

    /// Events of this pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// An era closed: its budget is held on the pot for its grants.
        EraClosed {
            /// The era.
            era: RewardEra,
            /// Held for it (pools and referral reserve).
            held: BalanceOf<T>,
            /// Proof-of-capacity pool.
            poc_pool: BalanceOf<T>,
            /// Proof-of-delivery pool.
            pod_pool: BalanceOf<T>,
            /// Checker pool.
            checker_pool: BalanceOf<T>,
            /// Whether the pot held less than `EraBudget` (every reward scaled down).
            scaled_down: bool,
        },
        /// A vested reward was paid.
        RewardClaimed {
            /// The era.
            era: RewardEra,
            /// Whose grant.
            beneficiary: Beneficiary,
            /// Paid to.
            who: T::AccountId,
            /// Amount paid now.
            amount: BalanceOf<T>,
        },
        /// A referrer's share of a payout to an account it referred.
        ReferralPaid {
            /// The era.
            era: RewardEra,
            /// The referrer (paid).
            referrer: T::AccountId,
            /// The referred account.
            referee: T::AccountId,
            /// Amount paid.
            amount: BalanceOf<T>,
        },
        /// A closed era's record that owed nothing (a zero grant, or paid in full) was removed.
        RecordDropped {
            /// The era.
            era: RewardEra,
            /// The record: a worker's (`Provider`) or a license's (either license variant).
            record: Beneficiary,
        },
        /// A worker earns nothing in `era`: a verdict failed it.
        WorkerForfeited {
            /// The era.
            era: RewardEra,
            /// The worker.
            worker: WorkerId,
        },
    }

    /// Errors of this pallet.
    #[pallet::error]
    pub enum Error<T> {
        /// The era still accrues (its finality epochs are not over).
        EraNotFinished,
        /// The era is closed already.
        EraClosed,
        /// Nothing earned for this beneficiary in this era (or paid in full already).
        NothingEarned,
        /// Nothing vested and unpaid right now.
        NothingToClaim,
        /// The caller is not this beneficiary (the worker's provider, the license's owner or
        /// its recorded operator).
        NotBeneficiary,
        /// The pot could not pay (the beneficiary's account would be below the existential
        /// deposit): claim again when more has vested.
        PayoutFailed,
        /// The record still has a grant to pay: only its beneficiaries' claims remove it.
        StillOwed,
    }

    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Checking epochs per reward era (`None`: [`Config::DefaultEraEpochs`]).
        pub era_epochs: Option<u32>,
        #[serde(skip)]
        pub _config: core::marker::PhantomData<T>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            if let Some(epochs) = self.era_epochs {
                assert!(epochs >= 1, "an era has at least one epoch");
                EraLength::<T>::put(epochs);
            }
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(
                T::DefaultEraEpochs::get() >= 1,
                "an era has at least one epoch"
            );
            assert!(T::FinalityEpochs::get() >= 1);
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Close `era` (anyone) once it no longer accrues: take its budget from the pot (at
        /// most `EraBudget`, scaled down if the pot holds less) and hold it for its grants.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::close_era())]
        pub fn close_era(origin: OriginFor<T>, era: RewardEra) -> DispatchResult {
            ensure_signed(origin)?;
            Self::do_close_era(era)
        }

        /// Claim what has vested of `beneficiary`'s grant of `era` (closing the era first if
        /// nobody has): the caller must be the worker's provider, the license's current owner,
        /// or the license's recorded operator. Pays the beneficiary's referrer its share too.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::claim().saturating_add(T::WeightInfo::close_era()))]
        pub fn claim(
            origin: OriginFor<T>,
            era: RewardEra,
            beneficiary: Beneficiary,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            Self::do_claim(who, era, beneficiary)
        }

        /// Remove (anyone) `record` of `era` when it owes nothing: its grant is zero (a worker a
        /// verdict failed in the era, a slot whose score came to zero) or was paid in full.
        /// Claims remove a record once paid in full, but nobody can claim a zero grant: this
        /// keeps such records from staying in storage for good. Closes the era first if nobody
        /// has. `record` is `Provider(worker)` for a worker's record, or either license variant
        /// for a license's (owner and operator share one record: both parts must owe nothing).
        /// Frees no funds: nothing is held for a record that owes nothing.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::drop_record().saturating_add(T::WeightInfo::close_era()))]
        pub fn drop_record(
            origin: OriginFor<T>,
            era: RewardEra,
            record: Beneficiary,
        ) -> DispatchResultWithPostInfo {
            ensure_signed(origin)?;
            Self::do_drop_record(era, record)
        }
    }
}
