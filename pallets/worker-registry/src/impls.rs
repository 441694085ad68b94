//! Price-index helpers, the cross-pallet trait impls and `try_state`.

use super::*;
use frame_support::{
    pallet_prelude::{DispatchError, DispatchResult, Weight},
    traits::Get,
};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{
    CheapestMatch, WorkerAvailabilityHooks, WorkerRegistry, WorkerSummary, WorkerVerification,
};
use sp_runtime::traits::Saturating;

impl<T: Config> Pallet<T> {
    /// Whether the worker's last heartbeat is more than `HeartbeatTimeout` blocks before `now`.
    pub fn is_overdue(worker: &WorkerInfoOf<T>, now: BlockNumberFor<T>) -> bool {
        now.saturating_sub(worker.last_heartbeat) > T::HeartbeatTimeout::get()
    }

    /// Whether the worker is `PendingVerification` and its `pending_expires_at` has come.
    pub fn pending_expired(worker: &WorkerInfoOf<T>, now: BlockNumberFor<T>) -> bool {
        worker.status == WorkerStatus::PendingVerification
            && worker.pending_expires_at.is_some_and(|at| now >= at)
    }

    /// Insert `(price, worker_id)` into `model`'s index, keeping it sorted by `(price, id)`.
    ///
    /// When the index is full, the entry goes in only if `price` is strictly lower than the
    /// most expensive entry's, which is then dropped; on equal prices the incumbent stays.
    pub(crate) fn index_insert(
        model: GpuModel,
        price: BalanceOf<T>,
        worker_id: WorkerId,
    ) -> IndexOutcome {
        PriceIndex::<T>::mutate(model, |index| {
            let entry = (price, worker_id);
            let pos = index.partition_point(|existing| *existing < entry);
            if !index.is_full() {
                // Not full, so `try_insert` cannot fail; `pos <= len` by construction.
                return match index.try_insert(pos, entry) {
                    Ok(()) => IndexOutcome::Inserted,
                    Err(_) => IndexOutcome::NotIndexed,
                };
            }
            match index.last() {
                Some((last_price, _)) if price < *last_price => {
                    match index.force_insert_keep_left(pos, entry) {
                        Ok(Some((_, evicted))) => IndexOutcome::InsertedEvicting(evicted),
                        Ok(None) => IndexOutcome::Inserted,
                        Err(_) => IndexOutcome::NotIndexed,
                    }
                }
                _ => IndexOutcome::NotIndexed,
            }
        })
    }

    /// Offer an `Active`, not yet indexed worker to its model's index and record the outcome
    /// in `worker` (the caller writes `worker` back). An evicted worker's record is updated
    /// here.
    pub(crate) fn offer_to_index(worker_id: WorkerId, worker: &mut WorkerInfoOf<T>) {
        // A paused worker stays out until `resume_worker`.
        if worker.indexed || worker.paused {
            return;
        }
        let Some(gpu_model) = worker.spec.gpu_model() else {
            return;
        };
        match Self::index_insert(gpu_model, worker.spec.price_per_gpu_hour, worker_id) {
            IndexOutcome::Inserted => worker.indexed = true,
            IndexOutcome::InsertedEvicting(evicted) => {
                worker.indexed = true;
                Workers::<T>::mutate_extant(evicted, |w| w.indexed = false);
                Self::deposit_event(Event::<T>::EvictedFromIndex {
                    worker_id: evicted,
                    gpu_model,
                    by: worker_id,
                });
            }
            IndexOutcome::NotIndexed => Self::deposit_event(Event::<T>::WorkerNotIndexed {
                worker_id,
                gpu_model,
            }),
        }
    }

    /// Take `worker` out of its model's index, if it is in it (the caller writes `worker`
    /// back).
    pub(crate) fn remove_from_index(worker_id: WorkerId, worker: &mut WorkerInfoOf<T>) {
        if !worker.indexed {
            return;
        }
        worker.indexed = false;
        let Some(gpu_model) = worker.spec.gpu_model() else {
            return;
        };
        PriceIndex::<T>::mutate_exists(gpu_model, |maybe_index| {
            if let Some(index) = maybe_index {
                index.retain(|(_, id)| *id != worker_id);
                if index.is_empty() {
                    *maybe_index = None;
                }
            }
        });
    }

    /// Mark an `Active` worker `Offline`: out of the index, record written, event, then the
    /// availability hook (after the write, as the hook may call `release_gpus`). Returns the
    /// weight the hook reported.
    pub(crate) fn take_offline(
        worker_id: WorkerId,
        mut worker: WorkerInfoOf<T>,
        reporter: Option<T::AccountId>,
    ) -> Weight {
        Self::remove_from_index(worker_id, &mut worker);
        worker.status = WorkerStatus::Offline;
        Workers::<T>::insert(worker_id, worker);
        Self::deposit_event(Event::<T>::WorkerWentOffline {
            worker_id,
            reporter,
        });
        T::AvailabilityHooks::on_worker_unavailable(worker_id)
    }

    /// Check the pallet's invariants (see the crate docs); used by the `try_state` hook and
    /// after every test.
    #[cfg(any(feature = "try-runtime", test))]
    pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
        use alloc::collections::btree_map::BTreeMap;
        use frame_support::{ensure, traits::fungible::InspectHold};
        use sp_runtime::traits::Zero;

        let next_id = NextWorkerId::<T>::get();
        let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
        let mut gpu_total: u64 = 0;
        let mut worker_total: u64 = 0;
        let mut indexed_total: u64 = 0;

        for (id, worker) in Workers::<T>::iter() {
            worker_total += 1;
            ensure!(id < next_id, "worker id not below NextWorkerId");
            let model = worker.spec.gpu_model().ok_or("worker without GPUs")?;
            ensure!(
                worker.spec.gpus.iter().all(|g| g.model == model),
                "worker with mixed GPU models"
            );
            ensure!(
                worker.reserved_gpus <= worker.spec.gpu_count(),
                "more GPUs reserved than the worker has"
            );
            ensure!(
                worker.reported_free_gpus <= worker.spec.gpu_count(),
                "more free GPUs reported than the worker has"
            );
            ensure!(
                worker.status != WorkerStatus::Deregistering || worker.reserved_gpus == 0,
                "a Deregistering worker has GPUs reserved"
            );
            ensure!(
                WorkerByAgent::<T>::get(&worker.spec.agent) == Some(id),
                "WorkerByAgent does not point at the worker of its agent"
            );
            for gpu in worker.spec.gpus.iter() {
                ensure!(
                    GpuOwner::<T>::get(gpu.uuid_hash) == Some(id),
                    "GpuOwner does not point at the worker of its GPU"
                );
            }
            gpu_total += worker.spec.gpus.len() as u64;
            ensure!(
                (worker.status == WorkerStatus::Deregistering) == worker.unlock_at.is_some(),
                "unlock_at set exactly when Deregistering"
            );
            ensure!(
                (worker.status == WorkerStatus::PendingVerification)
                    == worker.pending_expires_at.is_some(),
                "pending_expires_at set exactly when PendingVerification"
            );
            if let Some(expires_at) = worker.pending_expires_at {
                ensure!(
                    expires_at > worker.registered_at,
                    "pending expiry not after registration"
                );
            }
            ensure!(
                !(worker.paused && worker.indexed),
                "paused worker in the price index"
            );
            if worker.indexed {
                indexed_total += 1;
                ensure!(
                    worker.status == WorkerStatus::Active,
                    "indexed worker not Active"
                );
                ensure!(
                    PriceIndex::<T>::get(model).contains(&(worker.spec.price_per_gpu_hour, id)),
                    "indexed worker missing from its model's index"
                );
            }
            let sum = deposits
                .entry(worker.provider.clone())
                .or_insert_with(Zero::zero);
            *sum = sum.saturating_add(worker.deposit);
        }

        ensure!(
            GpuOwner::<T>::iter().count() as u64 == gpu_total,
            "stray GpuOwner entries"
        );
        ensure!(
            WorkerByAgent::<T>::iter().count() as u64 == worker_total,
            "stray WorkerByAgent entries"
        );
        // Each entry is its worker's current agent (a rotated-out key leaves no entry behind).
        for (agent, id) in WorkerByAgent::<T>::iter() {
            ensure!(
                Workers::<T>::get(id).is_some_and(|w| w.spec.agent == agent),
                "WorkerByAgent entry of a key that is not its worker's agent"
            );
        }

        for (provider, owed) in deposits {
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::WorkerDeposit.into(), &provider) == owed,
                "held deposit differs from the sum of the provider's worker deposits"
            );
        }

        let mut index_total: u64 = 0;
        for (model, index) in PriceIndex::<T>::iter() {
            ensure!(!index.is_empty(), "empty index stored");
            ensure!(
                index.windows(2).all(|pair| pair[0] < pair[1]),
                "price index not strictly sorted by (price, id)"
            );
            for (price, id) in index.iter() {
                let worker = Workers::<T>::get(id).ok_or("index entry of a missing worker")?;
                ensure!(
                    worker.status == WorkerStatus::Active,
                    "index entry of a non-Active worker"
                );
                ensure!(
                    worker.indexed,
                    "index entry of a worker not flagged indexed"
                );
                ensure!(!worker.paused, "index entry of a paused worker");
                ensure!(
                    worker.spec.price_per_gpu_hour == *price,
                    "index entry with a stale price"
                );
                ensure!(
                    worker.spec.gpu_model() == Some(model),
                    "index entry under the wrong model"
                );
            }
            index_total += index.len() as u64;
        }
        // Every flagged worker is in its index (above) and every entry is a flagged worker;
        // equal totals mean no worker appears twice.
        ensure!(
            index_total == indexed_total,
            "a worker appears twice in the price index"
        );

        if let Some(cursor) = SweepCursor::<T>::get() {
            ensure!(cursor < next_id, "sweep cursor beyond NextWorkerId");
        }
        Ok(())
    }
}

impl<T: Config> WorkerRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
    fn worker(id: WorkerId) -> Option<WorkerSummary<T::AccountId, BalanceOf<T>>> {
        let worker = Workers::<T>::get(id)?;
        let now = frame_system::Pallet::<T>::block_number();
        Some(WorkerSummary {
            heartbeat_overdue: Self::is_overdue(&worker, now),
            paused: worker.paused,
            gpu_model: worker.spec.gpu_model()?,
            gpu_count: worker.spec.gpu_count(),
            free_gpus: worker.free_gpus(),
            price_per_gpu_hour: worker.spec.price_per_gpu_hour,
            status: worker.status,
            agent: worker.spec.agent,
            provider: worker.provider,
        })
    }

    /// Walks `model`'s index from the cheapest entry and stops at the first price above
    /// `max_price_per_gpu_hour`: at most `MaxIndexedPerModel` worker reads. Skips workers
    /// that take no new orders (paused, or overdue but not yet swept). `gpus == 0` finds nothing.
    fn find_cheapest(
        model: GpuModel,
        gpus: u32,
        max_price_per_gpu_hour: BalanceOf<T>,
    ) -> CheapestMatch {
        let mut found = CheapestMatch::default();
        if gpus == 0 {
            return found;
        }
        let now = frame_system::Pallet::<T>::block_number();
        found.worker = PriceIndex::<T>::get(model)
            .into_iter()
            .take_while(|(price, _)| *price <= max_price_per_gpu_hour)
            .find(|(_, id)| {
                found.scanned = found.scanned.saturating_add(1);
                Workers::<T>::get(id).is_some_and(|w| {
                    w.status == WorkerStatus::Active
                        && !w.paused
                        && !Self::is_overdue(&w, now)
                        && w.free_gpus() >= gpus
                })
            })
            .map(|(_, id)| id);
        found
    }

    fn max_scanned() -> u32 {
        T::MaxIndexedPerModel::get()
    }

    fn listed_workers(model: GpuModel) -> u32 {
        PriceIndex::<T>::decode_len(model).unwrap_or(0) as u32
    }

    /// Refuses, with a typed error each, a worker that does not take new orders
    /// ([`WorkerSummary::takes_new_orders`]): not `Active` ([`Error::WorkerNotActive`]), paused
    /// ([`Error::WorkerPaused`]) or overdue on heartbeats but not yet swept
    /// ([`Error::HeartbeatOverdue`]).
    fn reserve_gpus(id: WorkerId, gpus: u32) -> DispatchResult {
        frame_support::ensure!(gpus > 0, Error::<T>::ZeroGpus);
        Workers::<T>::try_mutate(id, |maybe_worker| -> DispatchResult {
            let worker = maybe_worker.as_mut().ok_or(Error::<T>::WorkerNotFound)?;
            frame_support::ensure!(
                worker.status == WorkerStatus::Active,
                Error::<T>::WorkerNotActive
            );
            frame_support::ensure!(!worker.paused, Error::<T>::WorkerPaused);
            let now = frame_system::Pallet::<T>::block_number();
            frame_support::ensure!(!Self::is_overdue(worker, now), Error::<T>::HeartbeatOverdue);
            frame_support::ensure!(worker.free_gpus() >= gpus, Error::<T>::NotEnoughFreeGpus);
            // Cannot overflow: the sum is at most the GPU count (checked just above).
            worker.reserved_gpus = worker.reserved_gpus.saturating_add(gpus);
            Ok(())
        })?;
        Self::deposit_event(Event::<T>::GpusReserved {
            worker_id: id,
            gpus,
        });
        Ok(())
    }

    fn has_gpu(id: WorkerId, uuid_hash: &[u8; 32]) -> bool {
        GpuOwner::<T>::get(sp_core::H256(*uuid_hash)) == Some(id)
    }

    fn release_gpus(id: WorkerId, gpus: u32) {
        let released = Workers::<T>::mutate_extant(id, |worker| {
            let released = gpus.min(worker.reserved_gpus);
            worker.reserved_gpus = worker.reserved_gpus.saturating_sub(released);
            released
        });
        if released < gpus {
            log::warn!(
                target: LOG_TARGET,
                "release_gpus({id}, {gpus}): only {released} were reserved (or the worker is gone)"
            );
        }
        if released > 0 {
            Self::deposit_event(Event::<T>::GpusReleased {
                worker_id: id,
                gpus: released,
            });
        }
    }
}

impl<T: Config> WorkerVerification for Pallet<T> {
    fn verify(id: WorkerId) -> DispatchResult {
        Self::do_verify_worker(id)
    }

    fn suspend(id: WorkerId) -> Result<Weight, DispatchError> {
        Self::do_suspend_worker(id)
    }

    fn max_weight() -> Weight {
        T::WeightInfo::verify_worker()
            .max(T::WeightInfo::suspend_worker().saturating_add(T::AvailabilityHooks::max_weight()))
    }
}
