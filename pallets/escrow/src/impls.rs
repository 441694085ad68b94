//! The escrow operations, and the [`Escrow`] trait implemented with them.

use crate::{
    types::SplitError, BalanceOf, Config, Error, EscrowAccount, EscrowAccountOf, Escrows, Event,
    HoldReason, Pallet,
};
use frame_support::{
    ensure,
    storage::with_storage_layer,
    traits::{
        fungible::MutateHold,
        tokens::{Fortitude, Precision, Restriction},
    },
};
use kaisar_primitives::{Escrow, EscrowId, EscrowSplit};
use sp_runtime::{
    traits::{CheckedAdd, Zero},
    DispatchError, DispatchResult,
};

impl<T: Config> Pallet<T> {
    fn reason() -> T::RuntimeHoldReason {
        HoldReason::OrderEscrow.into()
    }

    fn split(
        escrow: &EscrowAccountOf<T>,
        amount: BalanceOf<T>,
    ) -> Result<EscrowSplit<BalanceOf<T>>, Error<T>> {
        escrow.split(amount).map_err(|e| match e {
            SplitError::Insufficient => Error::<T>::InsufficientEscrow,
            SplitError::Overflow => Error::<T>::Overflow,
        })
    }

    /// Store `escrow` back under `id`, or remove it (emitting `Closed`) if it is empty.
    fn put_back(id: EscrowId, escrow: EscrowAccountOf<T>) {
        if escrow.total().is_zero() {
            Escrows::<T>::remove(id);
            Self::deposit_event(Event::Closed {
                id,
                payer: escrow.payer,
                to_payer: Zero::zero(),
                sponsor: escrow.sponsor.map(|(who, _)| who),
                to_sponsor: Zero::zero(),
            });
        } else {
            Escrows::<T>::insert(id, escrow);
        }
    }

    /// Release `split` to the escrow's owners (no storage change of this pallet).
    fn release_split(
        escrow: &EscrowAccountOf<T>,
        split: &EscrowSplit<BalanceOf<T>>,
    ) -> DispatchResult {
        let reason = Self::reason();
        if !split.from_payer.is_zero() {
            T::Currency::release(&reason, &escrow.payer, split.from_payer, Precision::Exact)?;
        }
        if let Some((sponsor, _)) = &escrow.sponsor {
            if !split.from_sponsor.is_zero() {
                T::Currency::release(&reason, sponsor, split.from_sponsor, Precision::Exact)?;
            }
        }
        Ok(())
    }

    /// Open escrow `id`; see [`Escrow::lock`].
    pub fn do_lock(
        id: EscrowId,
        payer: &T::AccountId,
        amount: BalanceOf<T>,
        sponsor: Option<(&T::AccountId, BalanceOf<T>)>,
    ) -> DispatchResult {
        ensure!(!Escrows::<T>::contains_key(id), Error::<T>::EscrowExists);
        // A sponsor part of zero means no sponsor.
        let sponsor = sponsor.filter(|(_, part)| !part.is_zero());
        let sponsor_amount = sponsor.map_or_else(Zero::zero, |(_, part)| part);
        let total = amount
            .checked_add(&sponsor_amount)
            .ok_or(Error::<T>::Overflow)?;
        ensure!(!total.is_zero(), Error::<T>::ZeroAmount);

        with_storage_layer(|| -> DispatchResult {
            let reason = Self::reason();
            if !amount.is_zero() {
                T::Currency::hold(&reason, payer, amount)?;
            }
            if let Some((who, part)) = sponsor {
                // On failure the storage layer also undoes the payer's hold.
                T::Currency::hold(&reason, who, part)?;
            }
            Escrows::<T>::insert(
                id,
                EscrowAccount {
                    payer: payer.clone(),
                    payer_held: amount,
                    sponsor: sponsor.map(|(who, part)| (who.clone(), part)),
                },
            );
            Ok(())
        })?;

        Self::deposit_event(Event::Locked {
            id,
            payer: payer.clone(),
            payer_amount: amount,
            sponsor: sponsor.map(|(who, _)| who.clone()),
            sponsor_amount,
        });
        Ok(())
    }

    /// Pay `amount` out of escrow `id` to `to`; see [`Escrow::pay`].
    pub fn do_pay(
        id: EscrowId,
        to: &T::AccountId,
        amount: BalanceOf<T>,
    ) -> Result<EscrowSplit<BalanceOf<T>>, DispatchError> {
        let mut escrow = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
        if amount.is_zero() {
            return Ok(EscrowSplit::default());
        }
        let split = Self::split(&escrow, amount)?;

        with_storage_layer(|| -> DispatchResult {
            let reason = Self::reason();
            let mut parts: [(Option<&T::AccountId>, BalanceOf<T>); 2] = [
                (Some(&escrow.payer), split.from_payer),
                (
                    escrow.sponsor.as_ref().map(|(who, _)| who),
                    split.from_sponsor,
                ),
            ];
            // Larger part first: a new `to` account is then created by the larger transfer,
            // which is the one more likely to reach the existential deposit.
            if parts[1].1 > parts[0].1 {
                parts.swap(0, 1);
            }
            for (from, part) in parts {
                if let (Some(from), false) = (from, part.is_zero()) {
                    T::Currency::transfer_on_hold(
                        &reason,
                        from,
                        to,
                        part,
                        Precision::Exact,
                        Restriction::Free,
                        // Escrowed funds are owed to `to`: a freeze on the payer's or the
                        // sponsor's account (a vesting lock, say) must not block paying out what
                        // the hold already secured (holds ignore freezes, so the lock worked).
                        // `Polite` would refuse whenever the frozen amount exceeds the free
                        // balance. See "Freezes" in the crate docs.
                        Fortitude::Force,
                    )?;
                }
            }
            Ok(())
        })?;

        escrow.deduct(&split);
        Self::deposit_event(Event::Paid {
            id,
            to: to.clone(),
            from_payer: split.from_payer,
            from_sponsor: split.from_sponsor,
        });
        Self::put_back(id, escrow);
        Ok(split)
    }

    /// Release everything in escrow `id` and remove it; see [`Escrow::close`].
    pub fn do_close(id: EscrowId) -> Result<EscrowSplit<BalanceOf<T>>, DispatchError> {
        let escrow = Escrows::<T>::get(id).ok_or(Error::<T>::UnknownEscrow)?;
        let split = EscrowSplit {
            from_payer: escrow.payer_held,
            from_sponsor: escrow.sponsor_held(),
        };
        with_storage_layer(|| Self::release_split(&escrow, &split))?;

        Escrows::<T>::remove(id);
        Self::deposit_event(Event::Closed {
            id,
            payer: escrow.payer,
            to_payer: split.from_payer,
            sponsor: escrow.sponsor.map(|(who, _)| who),
            to_sponsor: split.from_sponsor,
        });
        Ok(split)
    }

    /// What escrow `id` still holds (zero if there is no such escrow).
    pub fn escrow_balance(id: EscrowId) -> BalanceOf<T> {
        Escrows::<T>::get(id).map_or_else(Zero::zero, |e| e.total())
    }

    /// Check the pallet's invariants:
    /// - no stored escrow is empty, and no stored sponsor part is zero;
    /// - for every account, what it has on hold under [`HoldReason::OrderEscrow`] equals the sum
    ///   of its parts (as payer and as sponsor) over all escrows.
    ///
    /// Iterates all escrows and all accounts: for tests and try-runtime only.
    #[cfg(any(feature = "try-runtime", test))]
    pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
        use alloc::collections::btree_map::BTreeMap;
        use frame_support::traits::fungible::InspectHold;
        use sp_runtime::traits::Saturating;

        let mut owed: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
        for (_, escrow) in Escrows::<T>::iter() {
            ensure!(
                !escrow.total().is_zero(),
                "an escrow with nothing held is stored"
            );
            owed.entry(escrow.payer.clone())
                .or_default()
                .saturating_accrue(escrow.payer_held);
            if let Some((sponsor, held)) = &escrow.sponsor {
                ensure!(!held.is_zero(), "an escrow stores a zero sponsor part");
                owed.entry(sponsor.clone())
                    .or_default()
                    .saturating_accrue(*held);
            }
        }
        let reason = Self::reason();
        for (who, amount) in &owed {
            ensure!(
                T::Currency::balance_on_hold(&reason, who) == *amount,
                "an account's escrow hold differs from its escrow parts"
            );
        }
        for who in frame_system::Account::<T>::iter_keys() {
            if !owed.contains_key(&who) {
                ensure!(
                    T::Currency::balance_on_hold(&reason, &who).is_zero(),
                    "an account without escrow parts has an escrow hold"
                );
            }
        }
        Ok(())
    }
}

impl<T: Config> Escrow<T::AccountId, BalanceOf<T>> for Pallet<T> {
    /// Hold `amount` from `payer` and the sponsor's part (if any) in a new escrow `id`.
    ///
    /// Errors: [`Error::EscrowExists`] if `id` is open, [`Error::ZeroAmount`] if both amounts
    /// are zero (a sponsor part of zero means no sponsor; a payer amount of zero with a sponsor
    /// is a fully sponsored escrow), or the currency's error if a party cannot hold its part.
    /// On error nothing is held.
    fn lock(
        id: EscrowId,
        payer: &T::AccountId,
        amount: BalanceOf<T>,
        sponsor: Option<(&T::AccountId, BalanceOf<T>)>,
    ) -> DispatchResult {
        Self::do_lock(id, payer, amount, sponsor)
    }

    /// Transfer `amount` (pro rata from the payer's and the sponsor's holds) to `to`, which may
    /// be anyone, including the payer or the sponsor. Zero is a no-op.
    ///
    /// Errors: [`Error::UnknownEscrow`], [`Error::InsufficientEscrow`] if `amount` is more than
    /// the escrow holds, or the currency's error (e.g. `to` does not exist and a part is below
    /// the existential deposit). On error nothing moves.
    fn pay(
        id: EscrowId,
        to: &T::AccountId,
        amount: BalanceOf<T>,
    ) -> Result<EscrowSplit<BalanceOf<T>>, DispatchError> {
        Self::do_pay(id, to, amount)
    }

    /// Release everything left to the payer and the sponsor and remove the escrow.
    ///
    /// Errors: [`Error::UnknownEscrow`] (also when closed before, or emptied by `pay`).
    fn close(id: EscrowId) -> Result<EscrowSplit<BalanceOf<T>>, DispatchError> {
        Self::do_close(id)
    }

    fn balance(id: EscrowId) -> BalanceOf<T> {
        Self::escrow_balance(id)
    }
}
