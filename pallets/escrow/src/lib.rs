//! # Escrow pallet
//!
//! A service pallet for the Kaisar GPU cloud: it holds order payments and implements
//! [`kaisar_primitives::Escrow`], which `pallet-orders` uses. It has no extrinsics.
//!
//! An escrow is funded by a payer and, optionally, a sponsor (the promotion pot, paying the part
//! of an order that points discounted). Both parts are `fungible` holds under
//! [`HoldReason::OrderEscrow`] on their owners' accounts: nothing moves until the escrow pays.
//!
//! - [`Escrow::lock`]: hold the payer's (and sponsor's) funds in a new escrow.
//! - [`Escrow::pay`]: transfer some of the held funds to someone (a provider; it may also be the
//!   payer or the sponsor themselves).
//! - [`Escrow::close`]: release everything left to its owners and remove the escrow.
//!
//! Every payment takes from the payer and the sponsor in proportion to what each still holds
//! (see [`EscrowAccount::split`]): the sponsor's part is rounded down, the payer's is the rest, so
//! the parts always add up to exactly the amount moved. Every movement is atomic: on error nothing
//! is held, moved or recorded.
//!
//! An escrow that a `pay` empties is removed at once (a [`Event::Closed`] with zero refunds is
//! emitted), so `close` on it afterwards fails with [`Error::UnknownEscrow`]. A zero amount passed
//! to `pay` is a no-op; a `lock` of nothing is an error.
//!
//! ## Freezes
//!
//! A freeze on the payer's or the sponsor's account (a vesting schedule, a governance lock) does
//! not stop [`Escrow::lock`]: `pallet-balances` lets a hold take frozen funds (holds and freezes
//! overlap). So once funds are escrowed they are owed to whoever the escrow pays, and the escrow
//! pays them out of the hold with `Fortitude::Force`, which ignores freezes. With
//! `Fortitude::Polite` a payment fails whenever the account's frozen amount exceeds its free
//! balance (for instance a fully vesting-locked payer), which would strand the escrow: the
//! provider could never be paid. Releasing (`close`) only moves held funds back to free and is
//! never blocked by a freeze. The consequence, accepted by design: frozen funds can be spent on
//! orders, after which the account's balance may be below its freeze (a vesting schedule then
//! simply has less to lock). A runtime that must keep frozen funds from being spent on orders
//! has to refuse the lock itself (check `reducible_balance(.., Fortitude::Polite)` before
//! locking), not the payout.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod impls;
pub mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use types::EscrowAccount;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{
        pallet_prelude::*,
        traits::fungible::{Inspect, Mutate, MutateHold},
    };
    use frame_system::pallet_prelude::*;
    use kaisar_primitives::EscrowId;

    /// The balance type of [`Config::Currency`].
    pub type BalanceOf<T> =
        <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

    /// A stored escrow of this runtime.
    pub type EscrowAccountOf<T> =
        EscrowAccount<<T as frame_system::Config>::AccountId, BalanceOf<T>>;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The currency whose funds are held. Escrowed funds are holds under
        /// [`HoldReason::OrderEscrow`].
        type Currency: Inspect<Self::AccountId>
            + Mutate<Self::AccountId>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

        /// The overarching hold reason.
        type RuntimeHoldReason: From<HoldReason>;

        /// Weights of the escrow operations (for callers to include in their own weights).
        type WeightInfo: WeightInfo;
    }

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// The payer's or the sponsor's part of an open order escrow.
        #[codec(index = 0)]
        OrderEscrow,
    }

    /// Open escrows by id: who funded each and what each still has held in it. An escrow is
    /// removed when it is closed or emptied.
    #[pallet::storage]
    pub type Escrows<T: Config> = StorageMap<_, Twox64Concat, EscrowId, EscrowAccountOf<T>>;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// Escrow `id` was opened: `payer_amount` is held from `payer` and `sponsor_amount` from
        /// `sponsor` (if any).
        Locked {
            /// The new escrow.
            id: EscrowId,
            /// The account that pays into it.
            payer: T::AccountId,
            /// Held from the payer.
            payer_amount: BalanceOf<T>,
            /// The sponsor, if the escrow has one.
            sponsor: Option<T::AccountId>,
            /// Held from the sponsor (zero without one).
            sponsor_amount: BalanceOf<T>,
        },
        /// `from_payer + from_sponsor` was paid out of escrow `id` to `to`.
        Paid {
            /// The escrow paid from.
            id: EscrowId,
            /// Who received the payment.
            to: T::AccountId,
            /// Taken from the payer's hold.
            from_payer: BalanceOf<T>,
            /// Taken from the sponsor's hold.
            from_sponsor: BalanceOf<T>,
        },
        /// Escrow `id` was removed: by `close`, which released what was left to its owners, or
        /// by a `pay` that emptied it (then both amounts are zero).
        Closed {
            /// The removed escrow.
            id: EscrowId,
            /// The payer, who got `to_payer` back.
            payer: T::AccountId,
            /// Released to the payer on closing.
            to_payer: BalanceOf<T>,
            /// The sponsor (if the escrow still had one), who got `to_sponsor` back.
            sponsor: Option<T::AccountId>,
            /// Released to the sponsor on closing.
            to_sponsor: BalanceOf<T>,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// An escrow with this id is already open.
        EscrowExists,
        /// No open escrow has this id (never locked, closed, or emptied).
        UnknownEscrow,
        /// A lock must hold something: payer and sponsor amounts were both zero.
        ZeroAmount,
        /// The amount is more than the escrow still holds.
        InsufficientEscrow,
        /// An amount does not fit the balance type's arithmetic.
        Overflow,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }
}
