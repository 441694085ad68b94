//! Eras: which era an epoch belongs to, whether an era still accrues, closing it (its budget),
//! and the grants computed from its pools and totals.

use super::*;
use frame_support::{
    pallet_prelude::*,
    traits::{
        fungible::{Inspect, MutateHold},
        tokens::{Fortitude, Preservation},
    },
};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{CheckingEpoch, CheckingEpochs};
use sp_runtime::{
    helpers_128bit::multiply_by_rational_with_rounding,
    traits::{AccountIdConversion, Saturating, UniqueSaturatedInto, Zero},
    Perbill, Rounding,
};

impl<T: Config> Pallet<T> {
    /// The reward pot's account.
    pub fn pot() -> T::AccountId {
        T::PotId::get().into_account_truncating()
    }

    /// The era of checking epoch `epoch`.
    pub fn era_of(epoch: CheckingEpoch) -> RewardEra {
        epoch / EraLength::<T>::get().max(1)
    }

    /// The checking epoch of the current block.
    pub fn current_epoch() -> CheckingEpoch {
        T::Slots::epoch_of(frame_system::Pallet::<T>::block_number())
    }

    /// The era of the current block.
    pub fn current_era() -> RewardEra {
        Self::era_of(Self::current_epoch())
    }

    /// The first epoch from which `era` no longer accrues and may be closed.
    pub fn finality_epoch(era: RewardEra) -> CheckingEpoch {
        era.saturating_add(1)
            .saturating_mul(EraLength::<T>::get().max(1))
            .saturating_add(T::FinalityEpochs::get())
    }

    /// Whether events for `era` still count: before its finality epoch and not closed.
    pub(crate) fn accrues(era: RewardEra) -> bool {
        Self::current_epoch() < Self::finality_epoch(era) && !EraBudgets::<T>::contains_key(era)
    }

    /// `value * part / whole`, rounded down (zero when `whole` is zero).
    pub(crate) fn share(value: u128, part: u128, whole: u128) -> u128 {
        if whole == 0 {
            return 0;
        }
        multiply_by_rational_with_rounding(value, part, whole, Rounding::Down).unwrap_or(0)
    }

    pub(crate) fn do_close_era(era: RewardEra) -> DispatchResult {
        ensure!(!EraBudgets::<T>::contains_key(era), Error::<T>::EraClosed);
        ensure!(
            Self::current_epoch() >= Self::finality_epoch(era),
            Error::<T>::EraNotFinished
        );
        let totals = EraTotalsOf::<T>::take(era);
        let pot = Self::pot();
        let available: u128 =
            T::Currency::reducible_balance(&pot, Preservation::Preserve, Fortitude::Polite)
                .unique_saturated_into();
        let cap: u128 = T::EraBudget::get().unique_saturated_into();
        let budget = cap.min(available);
        // base x (1 + ReferralShare) <= budget: the referral reserve fits in the budget.
        let referral = T::ReferralShare::get();
        let one = Perbill::one().deconstruct() as u128;
        let base = Self::share(
            budget,
            one,
            one.saturating_add(referral.deconstruct() as u128),
        );
        let provider_pool = T::ProviderShare::get().mul_floor(base);
        let mut poc_pool = T::PocShare::get().mul_floor(provider_pool);
        let mut pod_pool = provider_pool.saturating_sub(poc_pool);
        let mut checker_pool = base.saturating_sub(provider_pool);
        // A pool nobody earned in is not taken.
        if totals.poc == 0 {
            poc_pool = 0;
        }
        if totals.pod == 0 {
            pod_pool = 0;
        }
        if totals.checker == 0 {
            checker_pool = 0;
        }
        let pools = poc_pool
            .saturating_add(pod_pool)
            .saturating_add(checker_pool);
        let held = pools.saturating_add(referral.mul_floor(pools));
        let to_balance = |v: u128| -> BalanceOf<T> { v.unique_saturated_into() };
        if held > 0 {
            T::Currency::hold(&HoldReason::EraBudget.into(), &pot, to_balance(held))?;
        }
        EraBudgets::<T>::insert(
            era,
            EraBudget {
                vests_from: T::Slots::epoch_start(Self::finality_epoch(era)),
                poc_pool: to_balance(poc_pool),
                pod_pool: to_balance(pod_pool),
                checker_pool: to_balance(checker_pool),
                totals,
                held: to_balance(held),
                spent: Zero::zero(),
            },
        );
        Self::deposit_event(Event::EraClosed {
            era,
            held: to_balance(held),
            poc_pool: to_balance(poc_pool),
            pod_pool: to_balance(pod_pool),
            checker_pool: to_balance(checker_pool),
            scaled_down: available < cap,
        });
        Ok(())
    }

    /// The grant of a worker's provider from `budget` (zero for a worker that failed a
    /// verdict in the era).
    pub fn provider_grant(budget: &EraBudgetOf<T>, s: &ProviderScore<T::AccountId>) -> u128 {
        if s.failed {
            return 0;
        }
        let pool = |b: BalanceOf<T>| -> u128 { b.unique_saturated_into() };
        Self::share(pool(budget.poc_pool), s.poc, budget.totals.poc).saturating_add(Self::share(
            pool(budget.pod_pool),
            s.pod,
            budget.totals.pod,
        ))
    }

    /// The grants of a license's owner and operator from `budget`: the license's reward split by
    /// the recorded commission, each part rounded down (rounding stays with the pot).
    pub fn license_grants(budget: &EraBudgetOf<T>, s: &CheckerScore<T::AccountId>) -> (u128, u128) {
        let whole = Self::share(
            budget.checker_pool.unique_saturated_into(),
            s.score(T::SlashFraction::get()),
            budget.totals.checker,
        );
        (
            (Perbill::one().saturating_sub(s.commission)).mul_floor(whole),
            s.commission.mul_floor(whole),
        )
    }

    /// The grant of `beneficiary` in a closed era, and what was paid of it: `None` if it earned
    /// nothing (or its record was removed after it was paid in full).
    pub fn grant_of(
        era: RewardEra,
        budget: &EraBudgetOf<T>,
        beneficiary: Beneficiary,
    ) -> Option<(u128, u128)> {
        match beneficiary {
            Beneficiary::Provider(worker) => {
                let s = ProviderScores::<T>::get(era, worker)?;
                Some((Self::provider_grant(budget, &s), s.paid))
            }
            Beneficiary::LicenseOwner(license) => {
                let s = CheckerScores::<T>::get(era, license)?;
                Some((Self::license_grants(budget, &s).0, s.owner_paid))
            }
            Beneficiary::LicenseOperator(license) => {
                let s = CheckerScores::<T>::get(era, license)?;
                Some((Self::license_grants(budget, &s).1, s.operator_paid))
            }
        }
    }

    /// What has vested at `now` of a `grant` of an era vesting from `vests_from`: linear over
    /// `UnlockPeriod`, all of it afterwards.
    pub fn vested(grant: u128, vests_from: BlockNumberFor<T>, now: BlockNumberFor<T>) -> u128 {
        let period: u128 = T::UnlockPeriod::get().unique_saturated_into();
        let elapsed: u128 = now.saturating_sub(vests_from).unique_saturated_into();
        if period == 0 || elapsed >= period {
            return grant;
        }
        Self::share(grant, elapsed, period)
    }
}
