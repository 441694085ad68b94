//! Time-driven work: the per-block sweep that takes overdue workers offline.

use super::*;
use alloc::vec::Vec;
use frame_support::{pallet_prelude::Weight, traits::Get};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::WorkerAvailabilityHooks;

impl<T: Config> Pallet<T> {
    /// Look at the next (at most) `MaxSweepPerBlock` workers after [`SweepCursor`], wrapping
    /// to the start of [`Workers`] once (never past the cursor, so no worker is looked at twice
    /// in a block), take every overdue `Active` one `Offline` and remove every expired
    /// `PendingVerification` one (as `expire_pending` does).
    ///
    /// Returns the weight used: the benchmarked worst case for the number of workers looked
    /// at, plus what the availability hook reported (capped at its `max_weight`) per worker
    /// taken offline, plus `expire_pending`'s weight per expired worker removed.
    pub(crate) fn sweep(now: BlockNumberFor<T>) -> Weight {
        let max = T::MaxSweepPerBlock::get() as usize;
        let ids = Self::next_sweep_batch(max);
        match ids.last() {
            Some(last) => SweepCursor::<T>::put(last),
            None => SweepCursor::<T>::kill(),
        }

        let hook_max = T::AvailabilityHooks::max_weight();
        let mut extra_weight = Weight::zero();
        for id in ids.iter() {
            let Some(worker) = Workers::<T>::get(id) else {
                continue;
            };
            if worker.status == WorkerStatus::Active && Self::is_overdue(&worker, now) {
                let used = Self::take_offline(*id, worker, None);
                extra_weight = extra_weight.saturating_add(used.min(hook_max));
            } else if Self::pending_expired(&worker, now) {
                let gpus = worker.spec.gpu_count();
                // Only a failed release of the deposit can make this fail; the worker then
                // stays for `expire_pending` to retry, and a transactional layer keeps state
                // unchanged.
                let result =
                    frame_support::storage::with_storage_layer(|| Self::expire(*id, worker, None));
                if let Err(e) = result {
                    log::warn!(target: LOG_TARGET, "sweep could not expire worker {id}: {e:?}");
                }
                extra_weight = extra_weight.saturating_add(T::WeightInfo::expire_pending(gpus));
            }
        }
        T::WeightInfo::sweep(ids.len() as u32).saturating_add(extra_weight)
    }

    /// The ids the sweep looks at this block: up to `max` keys of [`Workers`] after the
    /// cursor, then, if the end of the map came first, keys from its start up to and
    /// including the cursor's position.
    fn next_sweep_batch(max: usize) -> Vec<WorkerId> {
        let mut ids = Vec::with_capacity(max);
        match SweepCursor::<T>::get() {
            Some(cursor) => {
                ids.extend(Workers::<T>::iter_keys_from_key(cursor).take(max));
                if ids.len() < max {
                    let cursor_key = Workers::<T>::hashed_key_for(cursor);
                    let remaining = max - ids.len();
                    ids.extend(
                        Workers::<T>::iter_keys()
                            .take_while(|id| Workers::<T>::hashed_key_for(id) <= cursor_key)
                            .take(remaining),
                    );
                }
            }
            None => ids.extend(Workers::<T>::iter_keys().take(max)),
        }
        ids
    }
}
