//! # Checker licenses pallet
//!
//! The "Kaisar Checker Node" product: checker node licenses are NFTs in `pallet-nfts`, sold in
//! rounds with commitments, with referral codes, and delegated to operators who run checker
//! nodes. The checking and rewards pallets read the result through
//! [`kaisar_primitives::CheckerSlots`] and [`kaisar_primitives::Referrals`].
//! `docs/checker-licenses.md` explains the economics with a worked example.
//!
//! ## Licenses are NFTs
//!
//! One `pallet-nfts` collection, owned by the pallet's account ([`Config::PalletId`]), is
//! created at genesis (or by the first mint on a chain that predates this pallet). Each license
//! is one item; its id is the [`LicenseId`]. Its tier, sale round and mint block are set as
//! attributes in the `Pallet` namespace (keys `b"tier"`, `b"round"`, `b"minted_at"`,
//! SCALE-encoded values), so wallets and explorers show them, and are kept in [`Licenses`].
//! Only this pallet mints (through the `nonfungibles_v2` traits): at [`Pallet::claim`] and by
//! [`Config::MintOrigin`] through [`Pallet::grant`]. The item deposit, if the NFT pallet has
//! one, is paid by the collection owner (the pallet account).
//!
//! **Transfers of delegated licenses are blocked** (this pallet is the NFT pallet's `Locker`):
//! a license is locked from its `delegate` until the epoch boundary after its `undelegate`,
//! when it leaves the slot set. Treating a transferred delegation as void instead would leave
//! a slot of the running epoch pointing at the previous owner (the checking pallet reads
//! slots by index, without checking owners) and would let a buyer inherit a delegation they
//! never chose for the rest of the epoch. Blocking keeps the invariant simple: every slot's
//! license is owned by the slot's owner.
//!
//! ## The sale
//!
//! [`Config::SaleOrigin`] opens a round ([`Pallet::open_round`]): a window `start..=end`, one
//! price and supply per tier, a cap per wallet (all tiers together), an optional allow-list
//! root and a beneficiary. During the window a buyer commits ([`Pallet::commit`]): the full
//! price of the licenses is *held* from its account under [`HoldReason::SaleCommitment`].
//! After `end` anyone settles the round ([`Pallet::settle`], O(tiers)): it fixes a random
//! offset per oversubscribed tier. Then each buyer claims ([`Pallet::claim`], O(own tiers +
//! licenses)): its allocation is computed, the licenses are minted, the price of what was
//! allocated is paid out of the hold and the rest is released. Nothing ever loops over buyers.
//!
//! ### Allocation rule (exact, no loop over buyers)
//!
//! Per tier, commitments are laid out on a line in commit order: commitment `i` of `u_i`
//! licenses covers positions `P_i..P_i + u_i` where `P_i` is the sum of earlier commitments
//! ([`TierCommitment::position`]). With `C` committed and `S` supplied:
//! - `C <= S`: everyone gets what it committed to.
//! - `C > S`: at settlement a random offset `r` in `0..C` is drawn. Commitment `i` gets
//!   `a_i = floor((P_i + u_i + r) * S / C) - floor((P_i + r) * S / C)`.
//!   The sum telescopes: `sum a_i = floor((C + r) S / C) - floor(r S / C) = S` exactly, for
//!   every `r`. Each `a_i` is `floor(u_i S / C)` or one more (systematic sampling): the
//!   pro-rata share rounded down, and the leftover licenses (fewer than the number of buyers)
//!   go to the buyers whose segment of the line contains a sampling point `(k C - r) / S`,
//!   i.e. chosen by the random offset, with a chance equal to their fractional share.
//!
//! ### Money
//!
//! At claim, for `a` allocated licenses at price `p`: `gross = a p`; with a referral code the
//! buyer gets `discount = ReferralDiscount * gross` off and the code's owner earns
//! `commission = ReferralCommission * gross` (both rounded down). Out of the hold, the
//! referrer receives `commission`, the beneficiary `gross - discount - commission`, and the
//! buyer gets back `held - (gross - discount)`. So `held = paid + commission + released`.
//! `try_state` checks that each buyer's hold equals its unclaimed commitments.
//!
//! ## Referrals
//!
//! Any account registers one code ([`Pallet::register_referral_code`]): 3 to
//! [`Config::MaxCodeLen`] ASCII letters, digits, `-` or `_`; unique ignoring case (stored
//! lowercase). A commitment may name a code (not one's own); the first such commitment records
//! the code's owner as the buyer's referrer for good ([`ReferrerOf`], read by the rewards
//! pallet through [`kaisar_primitives::Referrals`]).
//!
//! ## Delegation and slots
//!
//! A license owner delegates a license to an operator (or to itself, to run the node itself)
//! and may undelegate it ([`Pallet::delegate`], [`Pallet::undelegate`]). Changes are queued
//! and applied to the slot set at the first block of the next checking epoch
//! ([`EpochLength`] blocks: [`Config::DefaultEpochLength`] unless genesis chose another, e.g.
//! a short one on a development chain), never mid-epoch; at most [`Config::MaxPendingChanges`]
//! changes can wait for one boundary (a full queue refuses further changes until it is
//! applied). The slot set is a dense array ([`Slots`], [`SlotCount`], [`SlotOf`]) kept with
//! swap-remove, so the checking pallet reads slot `i` in O(1).
//!
//! An operator registers by setting its commission ([`Pallet::set_commission`], at most
//! [`Config::MaxCommission`]). A decrease applies from the next epoch; an increase only
//! [`Config::CommissionIncreaseDelay`] epochs after that, so delegators can leave first. An
//! operator may cap the licenses it accepts ([`Pallet::set_max_licenses`]).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod allocation;
pub mod allow_list;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod dispatchable_impls;
#[cfg(test)]
mod mock;
mod nft_lock;
#[cfg(test)]
mod proptests;
pub mod randomness;
mod referrals;
mod slots;
#[cfg(test)]
mod tests;
mod tick_impls;
#[cfg(any(feature = "try-runtime", test))]
mod try_state;
pub mod types;
pub mod weights;

pub use allocation::allocation;
pub use kaisar_primitives::LicenseId;
pub use randomness::ParentHashRandomness;
pub use types::*;
pub use weights::WeightInfo;

/// A bounded referral code (lowercase once stored).
pub type ReferralCode<T> = frame_support::BoundedVec<u8, <T as Config>::MaxCodeLen>;

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, Mutate, MutateHold},
            tokens::nonfungibles_v2,
            Randomness,
        },
        PalletId,
    };
    use frame_system::pallet_prelude::*;
    use kaisar_primitives::CheckingEpoch;
    use sp_core::H256;
    use sp_runtime::{traits::Zero, Perbill};

    /// The balance type of [`Config::Currency`].
    pub type BalanceOf<T> =
        <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
    /// The `pallet-nfts` collection config type the licenses collection is created with.
    pub type NftCollectionConfigOf<T> =
        pallet_nfts::CollectionConfig<BalanceOf<T>, BlockNumberFor<T>, <T as Config>::CollectionId>;
    /// A sale round of this runtime.
    pub type RoundOf<T> = Round<
        <T as frame_system::Config>::AccountId,
        BalanceOf<T>,
        BlockNumberFor<T>,
        <T as Config>::MaxTiers,
    >;
    /// A buyer's commitment in a round.
    pub type CommitmentOf<T> =
        Commitment<<T as frame_system::Config>::AccountId, BalanceOf<T>, <T as Config>::MaxTiers>;

    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The native currency: commitments are held in it, proceeds paid in it.
        type Currency: Inspect<Self::AccountId>
            + Mutate<Self::AccountId>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

        /// The runtime's hold reason (this pallet holds under [`HoldReason::SaleCommitment`]).
        type RuntimeHoldReason: From<HoldReason>;

        /// The `pallet-nfts` collection id type.
        type CollectionId: Member + Parameter + MaxEncodedLen + Copy;

        /// The NFT pallet (`pallet-nfts`) the licenses live in, used only through its
        /// `nonfungibles_v2` traits.
        type Nfts: nonfungibles_v2::Inspect<
                Self::AccountId,
                CollectionId = Self::CollectionId,
                ItemId = LicenseId,
            > + nonfungibles_v2::Create<Self::AccountId, NftCollectionConfigOf<Self>>
            + nonfungibles_v2::Mutate<Self::AccountId, pallet_nfts::ItemConfig>;

        /// Randomness for the allocation lottery. The runtime uses an insecure dev source
        /// ([`ParentHashRandomness`]) until it runs on peaq with relay-chain randomness.
        type Randomness: Randomness<Self::Hash, BlockNumberFor<Self>>;

        /// Opens sale rounds.
        type SaleOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Grants licenses without a sale ([`Pallet::grant`]).
        type MintOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// The pallet's account (`PalletId::into_account_truncating`) owns the collection.
        #[pallet::constant]
        type PalletId: Get<PalletId>;

        /// Most tiers in a round.
        #[pallet::constant]
        type MaxTiers: Get<u32>;

        /// Highest cap per wallet a round may set (bounds the licenses one claim mints).
        #[pallet::constant]
        type MaxPerWallet: Get<u32>;

        /// Longest allow-list Merkle proof.
        #[pallet::constant]
        type MaxProofLen: Get<u32>;

        /// Longest referral code, in bytes (the shortest is 3).
        #[pallet::constant]
        type MaxCodeLen: Get<u32>;

        /// Discount a buyer using a referral code gets on what is allocated to it.
        #[pallet::constant]
        type ReferralDiscount: Get<Perbill>;

        /// Commission the code's owner earns on what is allocated to the buyer. Together with
        /// the discount at most 100 %.
        #[pallet::constant]
        type ReferralCommission: Get<Perbill>;

        /// Length of a checking epoch, in blocks (at least 1), unless the chain's genesis sets
        /// another ([`EpochLength`]).
        #[pallet::constant]
        type DefaultEpochLength: Get<BlockNumberFor<Self>>;

        /// Most delegation changes waiting for one epoch boundary (bounds the boundary block).
        #[pallet::constant]
        type MaxPendingChanges: Get<u32>;

        /// Highest commission an operator may set.
        #[pallet::constant]
        type MaxCommission: Get<Perbill>;

        /// Epochs a commission increase waits beyond the next epoch before it applies.
        #[pallet::constant]
        type CommissionIncreaseDelay: Get<CheckingEpoch>;

        /// Weights of this pallet's calls and hook.
        type WeightInfo: WeightInfo;
    }

    /// Reasons this pallet holds funds for.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// The full price of a buyer's commitments in a sale round, until it claims.
        #[codec(index = 0)]
        SaleCommitment,
    }

    /// The licenses collection in `pallet-nfts` (`None` until created).
    #[pallet::storage]
    pub type LicenseCollection<T: Config> = StorageValue<_, T::CollectionId, OptionQuery>;

    /// The id of the next license minted.
    #[pallet::storage]
    pub type NextLicenseId<T: Config> = StorageValue<_, LicenseId, ValueQuery>;

    /// Every minted license (its NFT's owner is in `pallet-nfts`).
    #[pallet::storage]
    pub type Licenses<T: Config> =
        StorageMap<_, Twox64Concat, LicenseId, LicenseInfo<BlockNumberFor<T>>, OptionQuery>;

    /// The id of the next sale round.
    #[pallet::storage]
    pub type NextRoundId<T: Config> = StorageValue<_, RoundId, ValueQuery>;

    /// Sale rounds.
    #[pallet::storage]
    pub type Rounds<T: Config> = StorageMap<_, Twox64Concat, RoundId, RoundOf<T>, OptionQuery>;

    /// Unclaimed commitments, by round and buyer (removed at claim).
    #[pallet::storage]
    pub type Commitments<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        RoundId,
        Blake2_128Concat,
        T::AccountId,
        CommitmentOf<T>,
        OptionQuery,
    >;

    /// Licenses each buyer committed to per round, all tiers together (for the wallet cap);
    /// kept after the claim so that a claimed buyer cannot commit again in the round.
    #[pallet::storage]
    pub type Committed<T: Config> =
        StorageDoubleMap<_, Twox64Concat, RoundId, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

    /// Referral codes (lowercase) and their owners.
    #[pallet::storage]
    pub type ReferralCodes<T: Config> =
        StorageMap<_, Blake2_128Concat, ReferralCode<T>, T::AccountId, OptionQuery>;

    /// The referral code of each account that registered one.
    #[pallet::storage]
    pub type CodeOf<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, ReferralCode<T>, OptionQuery>;

    /// The referrer of each buyer that used a code (recorded at its first such commitment,
    /// never changed).
    #[pallet::storage]
    pub type ReferrerOf<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, T::AccountId, OptionQuery>;

    /// Delegations as their owners want them now (pending changes included). A license in
    /// here or in [`SlotOf`] cannot be transferred.
    #[pallet::storage]
    pub type Delegations<T: Config> =
        StorageMap<_, Twox64Concat, LicenseId, Delegation<T::AccountId>, OptionQuery>;

    /// Licenses whose delegation changed since the current epoch began, in order; applied to
    /// the slot set at the next epoch boundary.
    #[pallet::storage]
    pub type PendingQueue<T: Config> =
        StorageValue<_, BoundedVec<LicenseId, T::MaxPendingChanges>, ValueQuery>;

    /// Membership of [`PendingQueue`] (a license is queued once however often it changes).
    #[pallet::storage]
    pub type Pending<T: Config> = StorageMap<_, Twox64Concat, LicenseId, (), OptionQuery>;

    /// The slot set of the current epoch: slot index to slot, indices `0..SlotCount`.
    #[pallet::storage]
    pub type Slots<T: Config> =
        StorageMap<_, Twox64Concat, u32, SlotRecord<T::AccountId>, OptionQuery>;

    /// Number of slots in the current epoch.
    #[pallet::storage]
    pub type SlotCount<T: Config> = StorageValue<_, u32, ValueQuery>;

    /// The slot index of each license in the current slot set.
    #[pallet::storage]
    pub type SlotOf<T: Config> = StorageMap<_, Twox64Concat, LicenseId, u32, OptionQuery>;

    /// Length of a checking epoch, in blocks: [`Config::DefaultEpochLength`] unless the genesis
    /// config set another. Fixed for the life of the chain (no call changes it: epochs are
    /// `block / EpochLength`, so a change would renumber them).
    #[pallet::storage]
    pub type EpochLength<T: Config> =
        StorageValue<_, BlockNumberFor<T>, ValueQuery, T::DefaultEpochLength>;

    /// The epoch the slot set belongs to (advanced at the first block of each epoch).
    #[pallet::storage]
    pub type CurrentEpoch<T: Config> = StorageValue<_, CheckingEpoch, ValueQuery>;

    /// Registered operators.
    #[pallet::storage]
    pub type Operators<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, OperatorInfo, OptionQuery>;

    /// Events of this pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// The licenses collection was created in `pallet-nfts`.
        CollectionCreated {
            /// Its id.
            collection: T::CollectionId,
        },
        /// A sale round was opened.
        RoundOpened {
            /// The round.
            round: RoundId,
            /// First block of the window.
            start: BlockNumberFor<T>,
            /// Last block of the window.
            end: BlockNumberFor<T>,
        },
        /// `who` committed to `licenses` of `tier`; `held` was put on hold.
        Committed {
            /// The round.
            round: RoundId,
            /// The buyer.
            who: T::AccountId,
            /// The tier.
            tier: Tier,
            /// Licenses committed to.
            licenses: u32,
            /// Funds held for them.
            held: BalanceOf<T>,
            /// The referrer, if a code was used.
            referrer: Option<T::AccountId>,
        },
        /// A round was settled: buyers may claim.
        RoundSettled {
            /// The round.
            round: RoundId,
        },
        /// A buyer claimed: licenses minted, proceeds paid, the rest released.
        Claimed {
            /// The round.
            round: RoundId,
            /// The buyer.
            who: T::AccountId,
            /// Licenses minted to it.
            licenses: u32,
            /// Paid to the beneficiary.
            paid: BalanceOf<T>,
            /// Paid to the referrer.
            commission: BalanceOf<T>,
            /// Discount granted.
            discount: BalanceOf<T>,
            /// Released back to the buyer.
            released: BalanceOf<T>,
        },
        /// A license was minted.
        LicenseMinted {
            /// The license (NFT item id).
            license: LicenseId,
            /// Its owner.
            owner: T::AccountId,
            /// Its tier.
            tier: Tier,
            /// Its sale round (`None` for a grant).
            round: Option<RoundId>,
        },
        /// `who` registered referral `code`.
        ReferralCodeRegistered {
            /// The owner.
            who: T::AccountId,
            /// The code (lowercase).
            code: ReferralCode<T>,
        },
        /// `who`'s referrer was recorded.
        ReferrerRecorded {
            /// The buyer.
            who: T::AccountId,
            /// Its referrer.
            referrer: T::AccountId,
        },
        /// A license was delegated (effective from epoch `from`).
        Delegated {
            /// The license.
            license: LicenseId,
            /// Its owner.
            owner: T::AccountId,
            /// The operator.
            operator: T::AccountId,
            /// First epoch the slot is active.
            from: CheckingEpoch,
        },
        /// A license was undelegated (its slot ends with the current epoch).
        Undelegated {
            /// The license.
            license: LicenseId,
            /// Its owner.
            owner: T::AccountId,
            /// First epoch without the slot.
            from: CheckingEpoch,
        },
        /// An operator's commission changes to `commission` from epoch `from`.
        CommissionSet {
            /// The operator.
            operator: T::AccountId,
            /// The new commission.
            commission: Perbill,
            /// First epoch it applies in.
            from: CheckingEpoch,
        },
        /// An operator changed its cap.
        MaxLicensesSet {
            /// The operator.
            operator: T::AccountId,
            /// The cap (`None`: no cap).
            max_licenses: Option<u32>,
        },
        /// A new epoch began: `applied` pending changes were applied; `slots` are active.
        EpochStarted {
            /// The epoch.
            epoch: CheckingEpoch,
            /// Changes applied.
            applied: u32,
            /// Slots in the epoch.
            slots: u32,
        },
    }

    /// Errors of this pallet.
    #[pallet::error]
    pub enum Error<T> {
        /// No such round.
        UnknownRound,
        /// The round window is invalid (empty, or it starts in the past).
        InvalidWindow,
        /// A round needs 1..=MaxTiers tiers, each with a non-zero price and supply.
        InvalidTiers,
        /// The cap per wallet must be in 1..=MaxPerWallet.
        InvalidCap,
        /// The round is not accepting commitments now (before `start` or after `end`).
        NotInWindow,
        /// No such tier in the round.
        UnknownTier,
        /// At least one license must be committed to / granted.
        ZeroLicenses,
        /// The commitment would take the buyer over the round's cap per wallet.
        CapExceeded,
        /// The buyer already committed to this tier in this round.
        AlreadyCommittedToTier,
        /// The buyer is not in the round's allow-list (or the proof is wrong).
        NotAllowListed,
        /// No account registered this referral code.
        UnknownReferralCode,
        /// A buyer cannot use its own referral code.
        SelfReferral,
        /// All commitments of a buyer in a round must use the same code (or none after the
        /// first).
        ReferralMismatch,
        /// The buyer cannot hold the price (insufficient free balance).
        InsufficientBalance,
        /// Arithmetic overflow (too many licenses or too high a price).
        Overflow,
        /// The round's window has not ended yet.
        RoundNotEnded,
        /// The round is already settled.
        AlreadySettled,
        /// The round is not settled yet.
        NotSettled,
        /// Nothing to claim (no commitment, or already claimed).
        NothingToClaim,
        /// A referral code must be 3..=MaxCodeLen of `a-z`, `A-Z`, `0-9`, `-`, `_`.
        InvalidCode,
        /// The code is taken (ignoring case).
        CodeTaken,
        /// The account already registered a code.
        AlreadyHasCode,
        /// No such license.
        UnknownLicense,
        /// The caller does not own the license.
        NotOwner,
        /// The license is already delegated to this operator.
        AlreadyDelegated,
        /// The license is not delegated.
        NotDelegated,
        /// The operator is not registered (it must set a commission first).
        UnknownOperator,
        /// The operator accepts no more licenses.
        OperatorFull,
        /// Too many delegation changes wait for the next epoch; retry after it starts.
        PendingQueueFull,
        /// The commission exceeds `MaxCommission`.
        CommissionTooHigh,
        /// The licenses collection could not be created or is missing.
        NoCollection,
        /// The license id space is exhausted.
        NoLicenseIds,
    }

    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Skip creating the licenses collection (it is then created by the first mint).
        pub skip_collection: bool,
        /// The checking epoch length in blocks (`None`: [`Config::DefaultEpochLength`]). A
        /// development chain uses a short one so that delegations and checks take effect
        /// within minutes.
        pub epoch_length: Option<BlockNumberFor<T>>,
        #[serde(skip)]
        pub _config: core::marker::PhantomData<T>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            if !self.skip_collection {
                Pallet::<T>::ensure_collection().expect("the licenses collection can be created");
            }
            if let Some(length) = self.epoch_length {
                assert!(
                    !length.is_zero(),
                    "the epoch length must be at least one block"
                );
                EpochLength::<T>::put(length);
            }
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn on_initialize(now: BlockNumberFor<T>) -> Weight {
            Self::tick(now)
        }

        fn integrity_test() {
            assert!(
                !T::DefaultEpochLength::get().is_zero(),
                "DefaultEpochLength must be at least one block"
            );
            assert!(
                T::ReferralDiscount::get()
                    .deconstruct()
                    .saturating_add(T::ReferralCommission::get().deconstruct())
                    <= Perbill::one().deconstruct(),
                "ReferralDiscount + ReferralCommission must not exceed 100 %"
            );
            assert!(T::MaxTiers::get() >= 1 && T::MaxTiers::get() <= 255);
            assert!(T::MaxPerWallet::get() >= 1);
            assert!(T::MaxCodeLen::get() >= 3);
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Open a sale round (`SaleOrigin`): commitments are accepted in blocks
        /// `start..=end` (`start` not in the past), at `tiers[i].price` per license of tier
        /// `i`, up to `cap_per_wallet` licenses per account over all tiers; only accounts in
        /// the Merkle tree `allow_list_root` if one is given. Proceeds go to `beneficiary`.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::open_round(tiers.len() as u32))]
        pub fn open_round(
            origin: OriginFor<T>,
            start: BlockNumberFor<T>,
            end: BlockNumberFor<T>,
            tiers: BoundedVec<TierTerms<BalanceOf<T>>, T::MaxTiers>,
            cap_per_wallet: u32,
            allow_list_root: Option<H256>,
            beneficiary: T::AccountId,
        ) -> DispatchResult {
            T::SaleOrigin::ensure_origin(origin)?;
            Self::do_open_round(
                start,
                end,
                tiers,
                cap_per_wallet,
                allow_list_root,
                beneficiary,
            )
        }

        /// Commit to `licenses` licenses of `tier` in `round`, during its window: their full
        /// price is held until [`Pallet::claim`]. One commitment per tier and round; all tiers
        /// together within the round's cap per wallet. `referral_code` (not one's own) gives
        /// a discount on what is allocated; `proof` is the Merkle proof of the caller's
        /// allow-list leaf (empty if the round has no allow-list).
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::commit(proof.len() as u32))]
        pub fn commit(
            origin: OriginFor<T>,
            round: RoundId,
            tier: Tier,
            licenses: u32,
            referral_code: Option<ReferralCode<T>>,
            proof: BoundedVec<H256, T::MaxProofLen>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_commit(who, round, tier, licenses, referral_code, proof)
        }

        /// Settle `round` after its window ended (anyone): fixes the random offset of every
        /// oversubscribed tier, so that buyers can claim.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::settle(T::MaxTiers::get()))]
        pub fn settle(origin: OriginFor<T>, round: RoundId) -> DispatchResult {
            ensure_signed(origin)?;
            Self::do_settle(round)
        }

        /// Claim the caller's allocation in a settled `round`: mints its licenses, pays the
        /// beneficiary (and the referrer's commission) out of the hold and releases the rest.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::claim(T::MaxPerWallet::get()))]
        pub fn claim(origin: OriginFor<T>, round: RoundId) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            let outcome = Self::do_claim(who, round)?;
            Ok(Some(T::WeightInfo::claim(outcome.licenses)).into())
        }

        /// Mint `licenses` licenses of `tier` to `to` without a sale (`MintOrigin`), at most
        /// `MaxPerWallet` per call.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::grant(*licenses))]
        pub fn grant(
            origin: OriginFor<T>,
            to: T::AccountId,
            tier: Tier,
            licenses: u32,
        ) -> DispatchResult {
            T::MintOrigin::ensure_origin(origin)?;
            Self::do_grant(to, tier, licenses)
        }

        /// Register the caller's referral code (one per account; unique ignoring case).
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::register_referral_code())]
        pub fn register_referral_code(
            origin: OriginFor<T>,
            code: ReferralCode<T>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_register_referral_code(who, code)
        }

        /// Delegate the caller's `license` to `operator` (the caller itself to run the node
        /// itself; any other operator must be registered and not full). Takes effect at the
        /// next epoch; the license cannot be transferred while delegated. Re-delegating moves
        /// it to the new operator at the next epoch.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::delegate())]
        pub fn delegate(
            origin: OriginFor<T>,
            license: LicenseId,
            operator: T::AccountId,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_delegate(who, license, operator)
        }

        /// Undelegate the caller's `license`: its slot ends with the current epoch, after
        /// which it can be transferred again.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::undelegate())]
        pub fn undelegate(origin: OriginFor<T>, license: LicenseId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_undelegate(who, license)
        }

        /// Set the caller's operator commission (registering it as an operator the first time,
        /// effective at once as nobody delegated yet). A decrease applies from the next epoch,
        /// an increase `CommissionIncreaseDelay` epochs later.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::set_commission())]
        pub fn set_commission(origin: OriginFor<T>, commission: Perbill) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_set_commission(who, commission)
        }

        /// Cap the licenses the calling operator accepts (`None`: no cap). Delegations above a
        /// lowered cap stay; new ones are refused.
        #[pallet::call_index(9)]
        #[pallet::weight(T::WeightInfo::set_max_licenses())]
        pub fn set_max_licenses(origin: OriginFor<T>, max_licenses: Option<u32>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_set_max_licenses(who, max_licenses)
        }
    }
}
