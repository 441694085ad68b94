//! The pallet's invariants (`try_state`).

use super::*;
use frame_support::{pallet_prelude::*, traits::fungible::InspectHold};
use sp_runtime::traits::UniqueSaturatedInto;

impl<T: Config> Pallet<T> {
    /// The invariants: the budget held on the pot equals, over the closed eras, what was
    /// budgeted less what was paid or given back, and no era spent more than it held; each era
    /// still accruing has totals equal to the sum of its parties' scores; no party of a closed
    /// era was paid more than its grant.
    pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
        use alloc::collections::btree_map::BTreeMap;
        let mut outstanding: u128 = 0;
        for (era, b) in EraBudgets::<T>::iter() {
            let held: u128 = b.held.unique_saturated_into();
            let spent: u128 = b.spent.unique_saturated_into();
            ensure!(spent <= held, "an era spent more than it held");
            outstanding = outstanding.saturating_add(held - spent);
            ensure!(
                !EraTotalsOf::<T>::contains_key(era),
                "a closed era still accrues"
            );
            for (worker, _) in ProviderScores::<T>::iter_prefix(era) {
                let (grant, paid) = Self::grant_of(era, &b, Beneficiary::Provider(worker))
                    .ok_or("a provider score vanished")?;
                ensure!(paid <= grant, "a provider paid more than its grant");
            }
            for (license, _) in CheckerScores::<T>::iter_prefix(era) {
                for who in [
                    Beneficiary::LicenseOwner(license),
                    Beneficiary::LicenseOperator(license),
                ] {
                    let (grant, paid) =
                        Self::grant_of(era, &b, who).ok_or("a checker score vanished")?;
                    ensure!(paid <= grant, "a license party paid more than its grant");
                }
            }
        }
        let on_hold: u128 =
            T::Currency::balance_on_hold(&HoldReason::EraBudget.into(), &Self::pot())
                .unique_saturated_into();
        ensure!(
            on_hold == outstanding,
            "the pot's held budget differs from the closed eras' unpaid budgets"
        );
        // Open eras: totals are the sums of the scores.
        let mut sums: BTreeMap<RewardEra, EraTotals> = BTreeMap::new();
        for (era, _, s) in ProviderScores::<T>::iter() {
            if EraBudgets::<T>::contains_key(era) {
                continue;
            }
            let t = sums.entry(era).or_default();
            t.poc = t.poc.saturating_add(s.poc);
            t.pod = t.pod.saturating_add(s.pod);
        }
        for (era, _, s) in CheckerScores::<T>::iter() {
            if EraBudgets::<T>::contains_key(era) {
                continue;
            }
            let t = sums.entry(era).or_default();
            t.checker = t.checker.saturating_add(s.score(T::SlashFraction::get()));
        }
        for (era, totals) in EraTotalsOf::<T>::iter() {
            ensure!(
                sums.remove(&era).unwrap_or_default() == totals,
                "an era's totals differ from its scores"
            );
        }
        ensure!(
            sums.values().all(|t| *t == EraTotals::default()),
            "scores of an era without totals"
        );
        Ok(())
    }
}
