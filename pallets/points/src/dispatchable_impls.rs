//! The bodies of the pallet's calls.

use crate::{BalanceOf, Config, Error, Event, Pallet, RefundPreference, RefundPreferences};
use frame_support::{
    ensure,
    traits::{fungible::Mutate, tokens::Preservation},
};
use sp_runtime::{traits::Zero, DispatchResult};

impl<T: Config> Pallet<T> {
    /// Set `who`'s refund preference; see [`Pallet::set_refund_preference`].
    pub(crate) fn do_set_refund_preference(
        who: T::AccountId,
        preference: RefundPreference,
    ) -> DispatchResult {
        ensure!(
            Self::refund_preference(&who) != preference,
            Error::<T>::PreferenceUnchanged
        );
        if preference == RefundPreference::default() {
            RefundPreferences::<T>::remove(&who);
        } else {
            RefundPreferences::<T>::insert(&who, preference);
        }
        Self::deposit_event(Event::RefundPreferenceSet { who, preference });
        Ok(())
    }

    /// Transfer `amount` from `who` to the pot; see [`Pallet::fund_pot`].
    pub(crate) fn do_fund_pot(who: T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
        ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
        T::Currency::transfer(&who, &Self::pot(), amount, Preservation::Preserve)?;
        Self::deposit_event(Event::PotFunded { who, amount });
        Ok(())
    }
}
