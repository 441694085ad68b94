//! Accrual: the checking and orders pallets tell this pallet what earns
//! ([`RewardAccrual`]). Each event updates one party's score and replaces its old score by the
//! new one in the era's totals: O(1), and the totals always equal the sum of the scores.

use super::*;
use frame_support::pallet_prelude::*;
use kaisar_primitives::{CheckerSlots, CheckingEpoch, LicenseId, RewardAccrual, WorkerId};
use sp_runtime::{traits::Saturating, Perbill};

impl<T: Config> Pallet<T> {
    /// Update `worker`'s score of the current era with `f` (creating it for `provider`), keeping
    /// the totals in step. A failed worker's score stays zero for the era.
    fn accrue_provider(
        worker: WorkerId,
        provider: Option<&T::AccountId>,
        f: impl FnOnce(&mut ProviderScore<T::AccountId>),
    ) {
        let era = Self::current_era();
        if !Self::accrues(era) {
            return;
        }
        let existing = ProviderScores::<T>::get(era, worker);
        let mut score = match (existing, provider) {
            (Some(s), _) => s,
            (None, Some(p)) => ProviderScore {
                provider: p.clone(),
                poc: 0,
                pod: 0,
                failed: false,
                paid: 0,
            },
            // A failure of a worker that earned nothing this era: nothing to forfeit.
            (None, None) => return,
        };
        if score.failed {
            return;
        }
        let (old_poc, old_pod) = (score.poc, score.pod);
        f(&mut score);
        let (new_poc, new_pod) = if score.failed {
            (0, 0)
        } else {
            (score.poc, score.pod)
        };
        if score.failed {
            score.poc = 0;
            score.pod = 0;
            Self::deposit_event(Event::WorkerForfeited { era, worker });
        }
        EraTotalsOf::<T>::mutate(era, |t| {
            t.poc = t.poc.saturating_sub(old_poc).saturating_add(new_poc);
            t.pod = t.pod.saturating_sub(old_pod).saturating_add(new_pod);
        });
        ProviderScores::<T>::insert(era, worker, score);
    }

    /// Update `license`'s score of the era of `epoch` with `f` (creating it for `operator` if
    /// given, with the operator's commission in the current slot set), keeping the totals in
    /// step.
    fn accrue_checker(
        epoch: CheckingEpoch,
        license: LicenseId,
        operator: Option<&T::AccountId>,
        f: impl FnOnce(&mut CheckerScore<T::AccountId>),
    ) {
        let era = Self::era_of(epoch);
        if !Self::accrues(era) {
            return;
        }
        let mut score = match CheckerScores::<T>::get(era, license) {
            Some(s) => s,
            None => {
                let slot = T::Slots::slot_of(license).and_then(T::Slots::slot);
                match (operator, slot) {
                    (Some(op), slot) => {
                        let commission = slot
                            .filter(|s| &s.operator == op)
                            .map(|s| s.commission)
                            .unwrap_or(Perbill::zero());
                        CheckerScore::new(op.clone(), commission)
                    }
                    // A canary score or slash first: the record is the slot's current one,
                    // so that later work of the era carries it.
                    (None, Some(slot)) => CheckerScore::new(slot.operator, slot.commission),
                    // No longer a slot, and no work this era: its score stays zero.
                    (None, None) => return,
                }
            }
        };
        let slash = T::SlashFraction::get();
        let old = score.score(slash);
        f(&mut score);
        let new = score.score(slash);
        EraTotalsOf::<T>::mutate(era, |t| {
            t.checker = t.checker.saturating_sub(old).saturating_add(new);
        });
        CheckerScores::<T>::insert(era, license, score);
    }
}

impl<T: Config> RewardAccrual<T::AccountId> for Pallet<T> {
    fn worker_passed(worker: WorkerId, provider: &T::AccountId, throughput_gops: u64) {
        Self::accrue_provider(worker, Some(provider), |s| {
            s.poc = s.poc.saturating_add(throughput_gops as u128)
        });
    }

    fn worker_failed(worker: WorkerId) {
        Self::accrue_provider(worker, None, |s| s.failed = true);
    }

    fn usage_delivered(worker: WorkerId, provider: &T::AccountId, gpu_blocks: u64) {
        Self::accrue_provider(worker, Some(provider), |s| {
            s.pod = s.pod.saturating_add(gpu_blocks as u128)
        });
    }

    fn checker_agreed(epoch: CheckingEpoch, license: LicenseId, operator: &T::AccountId) {
        Self::accrue_checker(epoch, license, Some(operator), |s| {
            s.agreed.saturating_inc()
        });
    }

    fn canary_scored(epoch: CheckingEpoch, license: LicenseId, erred: bool) {
        Self::accrue_checker(epoch, license, None, |s| {
            s.canary_checks.saturating_inc();
            if erred {
                s.canary_errors.saturating_inc();
            }
        });
    }

    fn vote_slashed(verdict_epoch: CheckingEpoch, license: LicenseId) {
        Self::accrue_checker(verdict_epoch, license, None, |s| {
            s.slashes.saturating_inc();
            // The overturned agreement is no work.
            s.agreed = s.agreed.saturating_sub(1);
        });
    }

    fn max_weight() -> Weight {
        T::WeightInfo::accrue()
    }
}
