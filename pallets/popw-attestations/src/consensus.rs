//! What a verdict costs and records: the median throughput, the checkers' tallies and the
//! [`CheckerPerformance`] trait the rewards pallet reads.

use super::*;
use alloc::vec::Vec;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{CheckerPerformance, CheckerTally, CheckingEpoch, LicenseId, WorkerId};
use sp_runtime::traits::Saturating;

/// The median of `values` (the mean of the two middle values for an even count, rounded
/// down); `None` if empty.
pub fn median(mut values: Vec<u64>) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        let (a, b) = (values[mid - 1], values[mid]);
        a / 2 + b / 2 + (a % 2 + b % 2) / 2
    })
}

impl<T: Config> Pallet<T> {
    /// The most an applied verdict can cost beyond the pallet's own work: a verification or a
    /// suspension (with the registry's hooks), or the failed-verdict hooks.
    pub fn max_verdict_effects() -> Weight {
        use kaisar_primitives::{WorkerAvailabilityHooks, WorkerVerification};
        T::Verification::max_weight().max(T::FailedVerdictHooks::max_weight())
    }

    /// The weight of telling the rewards pallet `n` things.
    pub fn accrual_weight(n: u32) -> Weight {
        use kaisar_primitives::RewardAccrual;
        T::Rewards::max_weight().saturating_mul(n as u64)
    }

    /// The rewards accrual of concluding a re-check: its slots' work, the worker's verdict and
    /// the contested majority's slashes.
    pub fn recheck_accrual_weight() -> Weight {
        Self::accrual_weight(
            T::RecheckCheckers::get()
                .saturating_add(T::CheckersPerWorker::get())
                .saturating_add(1),
        )
    }

    /// The median throughput of `worker`'s latest passing verdict, in GOPS.
    pub fn worker_throughput(worker: WorkerId) -> Option<u64> {
        WorkerStates::<T>::get(worker).and_then(|s| s.throughput_gops)
    }

    /// Add one finalized check's part to `license`'s tally for `epoch`.
    pub(crate) fn record_tally(
        epoch: CheckingEpoch,
        license: LicenseId,
        revealed: bool,
        agreed: bool,
    ) {
        CheckerTallies::<T>::mutate(epoch, license, |t| {
            t.assigned.saturating_inc();
            if revealed {
                t.revealed.saturating_inc();
                if agreed {
                    t.agreed.saturating_inc();
                }
            } else {
                t.silent.saturating_inc();
            }
        });
    }
}

impl<T: Config> CheckerPerformance for Pallet<T> {
    fn performance(epoch: CheckingEpoch, license: LicenseId) -> CheckerTally {
        CheckerTallies::<T>::get(epoch, license)
    }
    fn take_performance(epoch: CheckingEpoch, license: LicenseId) -> CheckerTally {
        Slashes::<T>::remove(epoch, license);
        CheckerTallies::<T>::take(epoch, license)
    }
    fn slashes(epoch: CheckingEpoch, license: LicenseId) -> u32 {
        Slashes::<T>::get(epoch, license)
    }
}

/// For `pallet-orders`: a worker's last passing verdict, as the block its challenges began
/// (the epoch's commit deadline, when the challenge randomness was drawn). Usage reported
/// before that block was followed by a check the worker passed, so it may mature.
impl<T: Config> kaisar_primitives::WorkerVerdicts<BlockNumberFor<T>> for Pallet<T> {
    fn last_pass(worker: WorkerId) -> Option<BlockNumberFor<T>> {
        let epoch = WorkerStates::<T>::get(worker)?.last_passed?;
        Some(Self::commit_deadline(epoch))
    }
    /// While a contest or dispute re-checks the worker.
    fn maturity_paused(worker: WorkerId) -> bool {
        Rechecks::<T>::contains_key(worker)
    }
}
