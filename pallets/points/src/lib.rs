//! # Points pallet
//!
//! The refunds-to-points ledger of the Kaisar GPU cloud. It implements
//! [`kaisar_primitives::Points`], which `pallet-orders` uses.
//!
//! A refund caused by a *service failure* (as opposed to the user cancelling) can be paid as
//! points instead of tokens: the refunded tokens go to the promotion pot
//! ([`Config::PotId`]) and the user is credited `tokens * PointsPerToken` points (rounded down).
//! Points are spent as a discount on a later order: `points / PointsPerToken` tokens (rounded
//! down, so the pot never sponsors more than the points are worth), which the pot sponsors in
//! the order's escrow, so the provider is still paid in full. A discount that was not used
//! comes back as points ([`Points::restore`]).
//!
//! - Points are recorded per account ([`PointsOf`]) and are **not transferable**: the pallet has
//!   no call that moves points between accounts. Only the [`Points`] trait (the orders pallet)
//!   credits, spends and restores them.
//! - Every points movement emits an event: [`Event::PointsCredited`], [`Event::PointsSpent`],
//!   [`Event::PointsRestored`].
//! - Each account chooses how service-failure refunds are paid
//!   ([`Pallet::set_refund_preference`]); the default is points.
//! - Anyone may top up the pot ([`Pallet::fund_pot`]); governance is expected to keep it funded.
//!
//! ## Rounding
//!
//! With `r = PointsPerToken`:
//! - [`Points::credit_refund`] of `t` tokens credits `floor(t * r)` points.
//! - [`Points::spend`] of `p` points gives a discount of `d = floor(p / r)` tokens and deducts
//!   only the points that discount is worth, `ceil(d * r)` (at most `p`): the remainder, worth
//!   less than one token unit, stays with the user. With an integer rate (`r = 1, 2, ...`) that
//!   is `p - p mod r`.
//! - [`Points::restore`] of `t` tokens gives back `ceil(t * r)` points. Restoring a whole
//!   discount `d` therefore gives back exactly the points its spend deducted; restoring it in
//!   parts may give back a little more (each part rounds up), never less: the user is never
//!   worse off than before the spend.
//! - Arithmetic never overflows the ledger: a credit or restore that would take
//!   [`TotalPoints`] past the balance type's maximum is capped (the event reports the points
//!   actually credited).
//!
//! ## The pot always exists
//!
//! The pot's free balance is kept at or above the existential deposit (`try_state` checks it), so
//! that a service-failure refund of any size, even one unit, can be paid into it: `pallet-balances`
//! refuses a deposit that would leave an account's free balance below the existential deposit
//! (`TokenError::BelowMinimum`), and a refund the pot cannot receive leaves its order open.
//! - The genesis build mints what the pot lacks of the existential deposit (nothing on a chain
//!   spec that funds the pot); on chains started before, [`migrations::v1`] does the same once.
//! - Sponsoring never takes the pot below it: [`Points::spend`] only sponsors what
//!   [`Pallet::pot_spendable`] reports (`Preservation::Protect`) and the escrow's hold on the pot
//!   keeps the existential deposit free too. The pot is a keyless `PalletId` account, so only root
//!   (`force_set_balance`, `force_transfer`) can take it below.
//! - Deliberately *not* a `frame_system` provider reference instead: it would not help (the
//!   `BelowMinimum` check ignores providers), and with a second provider `Preservation::Protect`
//!   no longer protects the existential deposit, so sponsoring could empty the pot's free balance.
//! - Should root reap the pot anyway: spends fail with [`Error::PotExhausted`] (no discount, the
//!   points stay), refunds as points of at least the existential deposit recreate it, smaller ones
//!   fail until someone funds it again with [`Pallet::fund_pot`].
//!
//! ## The pot is not a reserve
//!
//! Points are not backed one-to-one: the pot receives the refunded tokens, but governance may
//! fund or drain it, and the rate may change. So the token value of all outstanding points
//! (`TotalPoints / PointsPerToken`) may exceed the pot's balance; `try_state` does not assert
//! otherwise. A spend whose discount the pot cannot sponsor fails with
//! [`Error::PotExhausted`] and spends nothing.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod dispatchable_impls;
mod impls;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use types::RefundPreference;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::vec::Vec;
    use frame_support::{
        pallet_prelude::*,
        traits::fungible::{Inspect, Mutate},
        PalletId,
    };
    use frame_system::pallet_prelude::*;
    use sp_runtime::{traits::CheckedAdd, FixedU128};

    /// The balance type of [`Config::Currency`]; points are counted in it too.
    pub type BalanceOf<T> =
        <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

    /// The in-code storage version. v1: the pot holds at least the existential deposit (see
    /// [`crate::migrations::v1`]).
    pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The native currency: the pot's balance, and `fund_pot` transfers.
        type Currency: Inspect<Self::AccountId> + Mutate<Self::AccountId>;

        /// Id of the promotion pot; the pot account is `PotId::get().into_account_truncating()`.
        #[pallet::constant]
        type PotId: Get<PalletId>;

        /// Points credited per token refunded as points. A discount is worth
        /// `points / PointsPerToken` tokens. Must not be zero.
        ///
        /// The rate only sets the size of a point: the same rate converts refunds into points
        /// and points into discounts, so a refund of `t` tokens as points buys back at most `t`
        /// tokens of discount whatever the rate (raising it is no bonus). Changing it on a live
        /// chain revalues the points already held.
        #[pallet::constant]
        type PointsPerToken: Get<FixedU128>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    /// Points held by each account. Accounts without points have no entry (an entry is removed
    /// when it reaches zero).
    #[pallet::storage]
    pub type PointsOf<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, BalanceOf<T>, ValueQuery>;

    /// Sum of all [`PointsOf`].
    #[pallet::storage]
    pub type TotalPoints<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

    /// Accounts that changed how their service-failure refunds are paid. Only non-default
    /// choices ([`RefundPreference::Tokens`]) are stored; no entry means
    /// [`RefundPreference::Points`].
    #[pallet::storage]
    pub type RefundPreferences<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, RefundPreference>;

    /// Events of this pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// `who` was credited `points` for a service-failure refund of `tokens` that went to the
        /// pot. `points` may be zero (a refund worth less than one point).
        PointsCredited {
            /// The refunded account.
            who: T::AccountId,
            /// Points credited: `floor(tokens * PointsPerToken)` (capped, see the crate docs).
            points: BalanceOf<T>,
            /// The refund, in tokens, now in the pot.
            tokens: BalanceOf<T>,
        },
        /// `who` spent `points` for a discount of `discount` tokens, to be sponsored by the pot.
        PointsSpent {
            /// The spender.
            who: T::AccountId,
            /// Points deducted: `ceil(discount * PointsPerToken)`.
            points: BalanceOf<T>,
            /// The discount, in tokens.
            discount: BalanceOf<T>,
        },
        /// `who` got `points` back for `tokens` of a discount that was not used.
        PointsRestored {
            /// The account.
            who: T::AccountId,
            /// Points given back: `ceil(tokens * PointsPerToken)` (capped, see the crate docs).
            points: BalanceOf<T>,
            /// The unused discount, in tokens (returned to the pot).
            tokens: BalanceOf<T>,
        },
        /// `who` chose how service-failure refunds are paid to it.
        RefundPreferenceSet {
            /// The account.
            who: T::AccountId,
            /// Its choice.
            preference: RefundPreference,
        },
        /// `who` transferred `amount` to the promotion pot.
        PotFunded {
            /// The funder.
            who: T::AccountId,
            /// Tokens transferred.
            amount: BalanceOf<T>,
        },
    }

    /// Errors of this pallet.
    #[pallet::error]
    pub enum Error<T> {
        /// The account holds fewer points than it tries to spend.
        InsufficientPoints,
        /// The promotion pot cannot sponsor the discount (its spendable balance is too low).
        PotExhausted,
        /// The account's refund preference already is the requested one.
        PreferenceUnchanged,
        /// The amount must not be zero.
        ZeroAmount,
        /// A conversion between points and tokens does not fit the balance type.
        Overflow,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(
                !T::PointsPerToken::get().is_zero(),
                "PointsPerToken must not be zero: a discount would be worth infinitely many tokens"
            );
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    /// Genesis: points of demo accounts. The build also tops the promotion pot up to the
    /// existential deposit if the balances genesis left it with less (minting the shortfall),
    /// so that refunds of any size can be paid into it (see "The pot always exists" in the
    /// crate docs).
    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Initial points per account. Zero entries are ignored; an account listed twice, or a
        /// total that overflows the balance type, is a configuration error (panics).
        pub points: Vec<(T::AccountId, BalanceOf<T>)>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            let mut total = TotalPoints::<T>::get();
            for (who, points) in &self.points {
                if points.is_zero() {
                    continue;
                }
                assert!(
                    !PointsOf::<T>::contains_key(who),
                    "an account is listed twice in the points genesis"
                );
                total = total
                    .checked_add(points)
                    .expect("the genesis points overflow the balance type");
                PointsOf::<T>::insert(who, *points);
            }
            TotalPoints::<T>::put(total);
            Pallet::<T>::top_up_pot_to_minimum()
                .expect("the pot can be topped up to the existential deposit at genesis");
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Choose how refunds caused by a service failure are paid to the caller: as points (the
        /// default) or as tokens. Refunds caused by the caller (cancelling) are always tokens.
        ///
        /// - `origin`: signed by the account whose preference this is.
        /// - `preference`: the new choice; it must differ from the current one.
        ///
        /// Emits [`Event::RefundPreferenceSet`]. Errors: [`Error::PreferenceUnchanged`].
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::set_refund_preference())]
        pub fn set_refund_preference(
            origin: OriginFor<T>,
            preference: RefundPreference,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_set_refund_preference(who, preference)
        }

        /// Transfer tokens from the caller to the promotion pot, which sponsors points
        /// discounts. The caller's account is kept alive.
        ///
        /// - `origin`: signed by the funder.
        /// - `amount`: tokens to transfer; not zero, at most what the caller can spend while
        ///   keeping the existential deposit (and, should root have reaped the pot, at least the
        ///   existential deposit).
        ///
        /// Emits [`Event::PotFunded`]. Errors: [`Error::ZeroAmount`], or the currency's error.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::fund_pot())]
        pub fn fund_pot(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_fund_pot(who, amount)
        }
    }
}
