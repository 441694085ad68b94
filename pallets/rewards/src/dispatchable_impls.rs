//! The calls' logic: claims (closing the era first when needed).

use super::*;
use frame_support::{
    dispatch::DispatchResultWithPostInfo,
    pallet_prelude::*,
    traits::{
        fungible::MutateHold,
        tokens::{Fortitude, Precision, Restriction},
    },
};
use kaisar_primitives::{LicenseOwners, Referrals};
use sp_runtime::traits::{Saturating, UniqueSaturatedInto, Zero};

impl<T: Config> Pallet<T> {
    /// Whether `who` is `beneficiary` in `era`.
    fn is_beneficiary(who: &T::AccountId, era: RewardEra, beneficiary: Beneficiary) -> bool {
        match beneficiary {
            Beneficiary::Provider(worker) => {
                ProviderScores::<T>::get(era, worker).is_some_and(|s| &s.provider == who)
            }
            Beneficiary::LicenseOwner(license) => {
                T::Licenses::owner_of(license).is_some_and(|o| &o == who)
            }
            Beneficiary::LicenseOperator(license) => {
                CheckerScores::<T>::get(era, license).is_some_and(|s| &s.operator == who)
            }
        }
    }

    pub(crate) fn do_claim(
        who: T::AccountId,
        era: RewardEra,
        beneficiary: Beneficiary,
    ) -> DispatchResultWithPostInfo {
        let mut closed_now = false;
        if !EraBudgets::<T>::contains_key(era) {
            Self::do_close_era(era)?;
            closed_now = true;
        }
        let mut budget = EraBudgets::<T>::get(era).ok_or(Error::<T>::EraNotFinished)?;
        let (grant, paid) =
            Self::grant_of(era, &budget, beneficiary).ok_or(Error::<T>::NothingEarned)?;
        ensure!(
            Self::is_beneficiary(&who, era, beneficiary),
            Error::<T>::NotBeneficiary
        );
        ensure!(grant > 0, Error::<T>::NothingEarned);
        let now = frame_system::Pallet::<T>::block_number();
        let due = Self::vested(grant, budget.vests_from, now).saturating_sub(paid);
        ensure!(due > 0, Error::<T>::NothingToClaim);

        let pot = Self::pot();
        let reason: T::RuntimeHoldReason = HoldReason::EraBudget.into();
        let amount: BalanceOf<T> = due.unique_saturated_into();
        T::Currency::transfer_on_hold(
            &reason,
            &pot,
            &who,
            amount,
            Precision::Exact,
            Restriction::Free,
            Fortitude::Polite,
        )
        .map_err(|_| Error::<T>::PayoutFailed)?;
        Self::deposit_event(Event::RewardClaimed {
            era,
            beneficiary,
            who: who.clone(),
            amount,
        });
        let share: BalanceOf<T> = T::ReferralShare::get()
            .mul_floor(due)
            .unique_saturated_into();
        if !share.is_zero() {
            Self::pay_referral(era, &who, share);
        }
        budget.spent = budget.spent.saturating_add(amount).saturating_add(share);
        EraBudgets::<T>::insert(era, budget);
        Self::record_paid(era, beneficiary, due, grant);
        let weight = if closed_now {
            T::WeightInfo::claim().saturating_add(T::WeightInfo::close_era())
        } else {
            T::WeightInfo::claim()
        };
        Ok(Some(weight).into())
    }

    /// Pay `share` (of a payout to `referee`) to its referrer out of the era's reserve, or give
    /// it back to the pot's free balance when there is none (or it cannot be paid).
    fn pay_referral(era: RewardEra, referee: &T::AccountId, share: BalanceOf<T>) {
        let pot = Self::pot();
        let reason: T::RuntimeHoldReason = HoldReason::EraBudget.into();
        if let Some(referrer) = T::Referrals::referrer_of(referee).filter(|r| r != referee) {
            let paid = T::Currency::transfer_on_hold(
                &reason,
                &pot,
                &referrer,
                share,
                Precision::Exact,
                Restriction::Free,
                Fortitude::Polite,
            );
            if paid.is_ok() {
                Self::deposit_event(Event::ReferralPaid {
                    era,
                    referrer,
                    referee: referee.clone(),
                    amount: share,
                });
                return;
            }
        }
        // Not paid: back to the pot, for later eras.
        if T::Currency::release(&reason, &pot, share, Precision::Exact).is_err() {
            frame_support::defensive!("the era's referral reserve is held");
        }
    }

    /// Add `paid` to what `beneficiary` was paid of its `grant`; remove the record once every
    /// party of it was paid in full.
    fn record_paid(era: RewardEra, beneficiary: Beneficiary, paid: u128, grant: u128) {
        match beneficiary {
            Beneficiary::Provider(worker) => {
                ProviderScores::<T>::mutate_exists(era, worker, |s| {
                    if let Some(score) = s {
                        score.paid = score.paid.saturating_add(paid);
                        if score.paid >= grant {
                            *s = None;
                        }
                    }
                });
            }
            Beneficiary::LicenseOwner(license) | Beneficiary::LicenseOperator(license) => {
                let Some(budget) = EraBudgets::<T>::get(era) else {
                    return;
                };
                let owner_grant = Self::grant_of(era, &budget, Beneficiary::LicenseOwner(license))
                    .map_or(0, |(g, _)| g);
                let operator_grant =
                    Self::grant_of(era, &budget, Beneficiary::LicenseOperator(license))
                        .map_or(0, |(g, _)| g);
                CheckerScores::<T>::mutate_exists(era, license, |s| {
                    if let Some(score) = s {
                        if matches!(beneficiary, Beneficiary::LicenseOperator(_)) {
                            score.operator_paid = score.operator_paid.saturating_add(paid);
                        } else {
                            score.owner_paid = score.owner_paid.saturating_add(paid);
                        }
                        if score.owner_paid >= owner_grant && score.operator_paid >= operator_grant
                        {
                            *s = None;
                        }
                    }
                });
            }
        }
    }
}
