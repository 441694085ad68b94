//! The ledger operations, and the [`Points`] trait implemented with them.

use crate::{
    types::{div_rate, mul_rate},
    BalanceOf, Config, Error, Event, Pallet, PointsOf, RefundPreference, RefundPreferences,
    TotalPoints,
};
use frame_support::{
    ensure,
    traits::{
        fungible::{Inspect, Mutate},
        tokens::{Fortitude, Preservation},
        Get,
    },
};
use kaisar_primitives::Points;
use sp_runtime::{
    traits::{AccountIdConversion, Bounded, Saturating, Zero},
    DispatchError, Rounding,
};

impl<T: Config> Pallet<T> {
    /// The promotion pot's account.
    pub fn pot() -> T::AccountId {
        T::PotId::get().into_account_truncating()
    }

    /// `who`'s refund preference ([`RefundPreference::Points`] unless changed).
    pub fn refund_preference(who: &T::AccountId) -> RefundPreference {
        RefundPreferences::<T>::get(who).unwrap_or_default()
    }

    /// The discount, in tokens, that `points` are worth: `floor(points / PointsPerToken)`.
    /// `None` if it does not fit the balance type (or the rate is zero).
    pub fn discount_for(points: BalanceOf<T>) -> Option<BalanceOf<T>> {
        div_rate(points, T::PointsPerToken::get(), Rounding::Down)
    }

    /// The points a discount of `tokens` costs: `ceil(tokens * PointsPerToken)`. `None` if it
    /// does not fit the balance type. Spending this many points gives exactly `tokens` of
    /// discount (for a rate of at least one point per token unit; for smaller rates possibly
    /// a little more).
    pub fn points_for_discount(tokens: BalanceOf<T>) -> Option<BalanceOf<T>> {
        mul_rate(tokens, T::PointsPerToken::get(), Rounding::Up)
    }

    /// The points a service-failure refund of `tokens` is credited as:
    /// `floor(tokens * PointsPerToken)`, saturating at the balance type's maximum.
    pub fn points_for_refund(tokens: BalanceOf<T>) -> BalanceOf<T> {
        mul_rate(tokens, T::PointsPerToken::get(), Rounding::Down)
            .unwrap_or_else(BalanceOf::<T>::max_value)
    }

    /// What the pot can sponsor: its balance above the existential deposit (the check a hold
    /// on it makes).
    pub fn pot_spendable() -> BalanceOf<T> {
        T::Currency::reducible_balance(&Self::pot(), Preservation::Protect, Fortitude::Force)
    }

    /// Mint what the pot lacks of the existential deposit (its free balance), so that it exists
    /// and accepts deposits of any size. Returns the amount minted (zero if it already held the
    /// existential deposit). Used by the genesis build and the v1 migration; see "The pot always
    /// exists" in the crate docs.
    pub fn top_up_pot_to_minimum() -> Result<BalanceOf<T>, DispatchError> {
        let pot = Self::pot();
        let missing = T::Currency::minimum_balance().saturating_sub(T::Currency::balance(&pot));
        if !missing.is_zero() {
            T::Currency::mint_into(&pot, missing)?;
        }
        Ok(missing)
    }

    /// Add up to `points` to `who`, capped so that [`TotalPoints`] does not overflow. Returns
    /// the points added.
    fn add_points(who: &T::AccountId, points: BalanceOf<T>) -> BalanceOf<T> {
        let total = TotalPoints::<T>::get();
        // `PointsOf(who) <= TotalPoints`, so capping the total caps the account too.
        let points = points.min(BalanceOf::<T>::max_value().saturating_sub(total));
        if !points.is_zero() {
            PointsOf::<T>::mutate(who, |have| have.saturating_accrue(points));
            TotalPoints::<T>::put(total.saturating_add(points));
        }
        points
    }

    /// Spend `points` of `who`'s points as a discount; see [`Points::spend`].
    pub fn do_spend(
        who: &T::AccountId,
        points: BalanceOf<T>,
    ) -> Result<BalanceOf<T>, DispatchError> {
        if points.is_zero() {
            return Ok(Zero::zero());
        }
        let have = PointsOf::<T>::get(who);
        ensure!(have >= points, Error::<T>::InsufficientPoints);
        let discount = Self::discount_for(points).ok_or(Error::<T>::Overflow)?;
        if discount.is_zero() {
            // Worth less than one token unit: nothing to spend.
            return Ok(Zero::zero());
        }
        // At most `points`: `discount <= points / rate`, so `discount * rate <= points`.
        let cost = Self::points_for_discount(discount)
            .ok_or(Error::<T>::Overflow)?
            .min(points);
        ensure!(Self::pot_spendable() >= discount, Error::<T>::PotExhausted);

        let left = have.saturating_sub(cost);
        if left.is_zero() {
            PointsOf::<T>::remove(who);
        } else {
            PointsOf::<T>::insert(who, left);
        }
        TotalPoints::<T>::mutate(|total| total.saturating_reduce(cost));
        Self::deposit_event(Event::PointsSpent {
            who: who.clone(),
            points: cost,
            discount,
        });
        Ok(discount)
    }

    /// Give `who` points back for `tokens` of unused discount; see [`Points::restore`].
    pub fn do_restore(who: &T::AccountId, tokens: BalanceOf<T>) {
        if tokens.is_zero() {
            return;
        }
        let points = Self::points_for_discount(tokens).unwrap_or_else(BalanceOf::<T>::max_value);
        let points = Self::add_points(who, points);
        Self::deposit_event(Event::PointsRestored {
            who: who.clone(),
            points,
            tokens,
        });
    }

    /// Credit `who` with points for a refund of `tokens`; see [`Points::credit_refund`].
    pub fn do_credit_refund(who: &T::AccountId, tokens: BalanceOf<T>) -> BalanceOf<T> {
        if tokens.is_zero() {
            return Zero::zero();
        }
        let points = Self::add_points(who, Self::points_for_refund(tokens));
        Self::deposit_event(Event::PointsCredited {
            who: who.clone(),
            points,
            tokens,
        });
        points
    }

    /// Check the pallet's invariants:
    /// - [`TotalPoints`] equals the sum of [`PointsOf`];
    /// - no [`PointsOf`] entry is zero;
    /// - no [`RefundPreferences`] entry is the default ([`RefundPreference::Points`]);
    /// - the pot's free balance is at least the existential deposit (so a refund of any size
    ///   can be paid into it).
    ///
    /// Deliberately *not* checked: that the pot can pay for all outstanding points. The pot is
    /// funded by governance and is not a reserve (see the crate docs).
    ///
    /// Iterates all accounts with points or preferences: for tests and try-runtime only.
    #[cfg(any(feature = "try-runtime", test))]
    pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
        use sp_runtime::traits::CheckedAdd;

        let mut sum = BalanceOf::<T>::zero();
        for (_, points) in PointsOf::<T>::iter() {
            ensure!(!points.is_zero(), "a zero points entry is stored");
            sum = sum
                .checked_add(&points)
                .ok_or("the points of all accounts overflow")?;
        }
        ensure!(
            sum == TotalPoints::<T>::get(),
            "TotalPoints differs from the sum of PointsOf"
        );
        for (_, preference) in RefundPreferences::<T>::iter() {
            ensure!(
                preference != RefundPreference::default(),
                "a default refund preference is stored"
            );
        }
        ensure!(
            T::Currency::balance(&Self::pot()) >= T::Currency::minimum_balance(),
            "the promotion pot holds less than the existential deposit"
        );
        Ok(())
    }
}

impl<T: Config> Points<T::AccountId, BalanceOf<T>> for Pallet<T> {
    /// `PotId::get().into_account_truncating()`.
    fn pot_account() -> T::AccountId {
        Self::pot()
    }

    /// True unless `who` chose [`RefundPreference::Tokens`].
    fn prefers_points(who: &T::AccountId) -> bool {
        Self::refund_preference(who) == RefundPreference::Points
    }

    fn points_of(who: &T::AccountId) -> BalanceOf<T> {
        PointsOf::<T>::get(who)
    }

    /// `ceil(tokens * PointsPerToken)`, saturating.
    fn points_for_discount(tokens: BalanceOf<T>) -> BalanceOf<T> {
        Self::points_for_discount(tokens).unwrap_or_else(BalanceOf::<T>::max_value)
    }

    /// Spend up to `points` of `who`'s points; returns the discount `d = floor(points /
    /// PointsPerToken)` in tokens. Deducts only `ceil(d * PointsPerToken) <= points` points
    /// (the rest is worth less than one token unit and stays). Zero points, or points worth
    /// less than one token unit, spend nothing and return zero (no event).
    ///
    /// Errors (spending nothing): [`Error::InsufficientPoints`] if `who` holds fewer than
    /// `points`; [`Error::PotExhausted`] if the pot's spendable balance is below the discount;
    /// [`Error::Overflow`].
    fn spend(who: &T::AccountId, points: BalanceOf<T>) -> Result<BalanceOf<T>, DispatchError> {
        Self::do_spend(who, points)
    }

    /// Give back `ceil(tokens * PointsPerToken)` points (capped so the ledger cannot overflow).
    /// Zero tokens is a no-op.
    fn restore(who: &T::AccountId, tokens: BalanceOf<T>) {
        Self::do_restore(who, tokens)
    }

    /// Credit `floor(tokens * PointsPerToken)` points (capped so the ledger cannot overflow);
    /// returns the points credited. Zero tokens is a no-op (no event).
    fn credit_refund(who: &T::AccountId, tokens: BalanceOf<T>) -> BalanceOf<T> {
        Self::do_credit_refund(who, tokens)
    }
}
