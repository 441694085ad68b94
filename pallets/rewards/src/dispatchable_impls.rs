//! The calls' logic: claims and dropping records that owe nothing (closing the era first when
//! needed).

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
    pub(crate) fn do_claim(
        who: T::AccountId,
        era: RewardEra,
        beneficiary: Beneficiary,
    ) -> DispatchResultWithPostInfo {
        let (mut budget, closed_now) = Self::closed_budget(era)?;
        // One read of the party's record: the caller, the grant, the payout and what is left.
        match beneficiary {
            Beneficiary::Provider(worker) => {
                let mut s =
                    ProviderScores::<T>::get(era, worker).ok_or(Error::<T>::NothingEarned)?;
                ensure!(s.provider == who, Error::<T>::NotBeneficiary);
                let grant = Self::provider_grant(&budget, &s);
                let due = Self::due(&budget, grant, s.paid)?;
                Self::pay_out(era, &mut budget, &who, beneficiary, due)?;
                s.paid = s.paid.saturating_add(due);
                if s.paid >= grant {
                    ProviderScores::<T>::remove(era, worker);
                } else {
                    ProviderScores::<T>::insert(era, worker, s);
                }
            }
            Beneficiary::LicenseOwner(license) | Beneficiary::LicenseOperator(license) => {
                let mut s =
                    CheckerScores::<T>::get(era, license).ok_or(Error::<T>::NothingEarned)?;
                let as_operator = matches!(beneficiary, Beneficiary::LicenseOperator(_));
                let is_beneficiary = if as_operator {
                    s.operator == who
                } else {
                    T::Licenses::owner_of(license).is_some_and(|o| o == who)
                };
                ensure!(is_beneficiary, Error::<T>::NotBeneficiary);
                let (owner_grant, operator_grant) = Self::license_grants(&budget, &s);
                let (grant, paid) = if as_operator {
                    (operator_grant, &mut s.operator_paid)
                } else {
                    (owner_grant, &mut s.owner_paid)
                };
                let due = Self::due(&budget, grant, *paid)?;
                Self::pay_out(era, &mut budget, &who, beneficiary, due)?;
                *paid = paid.saturating_add(due);
                if s.owner_paid >= owner_grant && s.operator_paid >= operator_grant {
                    CheckerScores::<T>::remove(era, license);
                } else {
                    CheckerScores::<T>::insert(era, license, s);
                }
            }
        }
        EraBudgets::<T>::insert(era, budget);
        let weight = if closed_now {
            T::WeightInfo::claim().saturating_add(T::WeightInfo::close_era())
        } else {
            T::WeightInfo::claim()
        };
        Ok(Some(weight).into())
    }

    pub(crate) fn do_drop_record(
        era: RewardEra,
        record: Beneficiary,
    ) -> DispatchResultWithPostInfo {
        let (budget, closed_now) = Self::closed_budget(era)?;
        match record {
            Beneficiary::Provider(worker) => {
                let s = ProviderScores::<T>::get(era, worker).ok_or(Error::<T>::NothingEarned)?;
                ensure!(
                    s.paid >= Self::provider_grant(&budget, &s),
                    Error::<T>::StillOwed
                );
                ProviderScores::<T>::remove(era, worker);
            }
            Beneficiary::LicenseOwner(license) | Beneficiary::LicenseOperator(license) => {
                let s = CheckerScores::<T>::get(era, license).ok_or(Error::<T>::NothingEarned)?;
                let (owner_grant, operator_grant) = Self::license_grants(&budget, &s);
                ensure!(
                    s.owner_paid >= owner_grant && s.operator_paid >= operator_grant,
                    Error::<T>::StillOwed
                );
                CheckerScores::<T>::remove(era, license);
            }
        }
        Self::deposit_event(Event::RecordDropped { era, record });
        let weight = if closed_now {
            T::WeightInfo::drop_record().saturating_add(T::WeightInfo::close_era())
        } else {
            T::WeightInfo::drop_record()
        };
        Ok(Some(weight).into())
    }

    /// `era`'s budget, closing the era first if nobody has (`true`: closed by this call).
    fn closed_budget(era: RewardEra) -> Result<(EraBudgetOf<T>, bool), DispatchError> {
        if let Some(budget) = EraBudgets::<T>::get(era) {
            return Ok((budget, false));
        }
        Self::do_close_era(era)?;
        let budget = EraBudgets::<T>::get(era).ok_or(Error::<T>::EraNotFinished)?;
        Ok((budget, true))
    }

    /// What is due now of a `grant` of which `paid` was paid (`NothingEarned` for a zero grant,
    /// `NothingToClaim` when nothing more has vested).
    fn due(budget: &EraBudgetOf<T>, grant: u128, paid: u128) -> Result<u128, DispatchError> {
        ensure!(grant > 0, Error::<T>::NothingEarned);
        let now = frame_system::Pallet::<T>::block_number();
        let due = Self::vested(grant, budget.vests_from, now).saturating_sub(paid);
        ensure!(due > 0, Error::<T>::NothingToClaim);
        Ok(due)
    }

    /// Pay `due` of `beneficiary`'s grant to `who` out of the era's held budget, and its
    /// referral share to `who`'s referrer; count both as spent in `budget`.
    fn pay_out(
        era: RewardEra,
        budget: &mut EraBudgetOf<T>,
        who: &T::AccountId,
        beneficiary: Beneficiary,
        due: u128,
    ) -> DispatchResult {
        let reason: T::RuntimeHoldReason = HoldReason::EraBudget.into();
        let amount: BalanceOf<T> = due.unique_saturated_into();
        T::Currency::transfer_on_hold(
            &reason,
            &Self::pot(),
            who,
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
            Self::pay_referral(era, who, share);
        }
        budget.spent = budget.spent.saturating_add(amount).saturating_add(share);
        Ok(())
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
}
