//! The logic behind each call. `lib.rs` checks the origin and calls these.

use super::*;
use frame_support::{
    ensure,
    pallet_prelude::{DispatchError, DispatchResult, Weight},
    traits::{
        fungible::{Mutate, MutateHold},
        tokens::{Fortitude, Precision, Preservation, Restriction},
        Get,
    },
};
use kaisar_primitives::WorkerAvailabilityHooks;
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
    /// Validate `spec`, charge the fee, hold the deposit and store a `PendingVerification`
    /// worker. Returns its id.
    pub(crate) fn do_register_worker(
        provider: T::AccountId,
        spec: WorkerSpecOf<T>,
    ) -> Result<WorkerId, DispatchError> {
        let gpu_model = Self::validate_spec(&spec)?;

        let worker_id = NextWorkerId::<T>::get();
        let next_id = worker_id
            .checked_add(1)
            .ok_or(sp_runtime::ArithmeticError::Overflow)?;

        let fee = T::RegistrationFee::get();
        if !fee.is_zero() {
            match T::FeeDestination::get() {
                Some(destination) => {
                    T::Currency::transfer(&provider, &destination, fee, Preservation::Preserve)?;
                }
                None => {
                    T::Currency::burn_from(
                        &provider,
                        fee,
                        Preservation::Preserve,
                        Precision::Exact,
                        Fortitude::Polite,
                    )?;
                }
            }
        }
        let deposit = T::WorkerDeposit::get();
        if !deposit.is_zero() {
            T::Currency::hold(&HoldReason::WorkerDeposit.into(), &provider, deposit)?;
        }

        let now = frame_system::Pallet::<T>::block_number();
        for gpu in spec.gpus.iter() {
            GpuOwner::<T>::insert(gpu.uuid_hash, worker_id);
        }
        WorkerByAgent::<T>::insert(&spec.agent, worker_id);
        NextWorkerId::<T>::put(next_id);

        let event = Event::<T>::WorkerRegistered {
            worker_id,
            provider: provider.clone(),
            agent: spec.agent.clone(),
            gpu_model,
            gpu_count: spec.gpu_count(),
            price_per_gpu_hour: spec.price_per_gpu_hour,
            fee,
            deposit,
        };
        Workers::<T>::insert(
            worker_id,
            WorkerInfo {
                provider,
                spec,
                status: WorkerStatus::PendingVerification,
                reserved_gpus: 0,
                reported_free_gpus: 0,
                deposit,
                registered_at: now,
                last_heartbeat: now,
                indexed: false,
                unlock_at: None,
                paused: false,
                // Saturating: a block number near its maximum only delays expiry to it.
                pending_expires_at: Some(now.saturating_add(T::PendingVerificationTimeout::get())),
            },
        );
        Self::deposit_event(event);
        Ok(worker_id)
    }

    /// Check a spec against the rules of `register_worker`; returns its GPU model.
    fn validate_spec(spec: &WorkerSpecOf<T>) -> Result<GpuModel, DispatchError> {
        let gpu_model = spec.gpu_model().ok_or(Error::<T>::NoGpus)?;
        ensure!(
            spec.gpus.iter().all(|g| g.model == gpu_model),
            Error::<T>::MixedGpuModels
        );
        // One more read, only for a development-only model (never on a production chain).
        ensure!(
            !gpu_model.is_dev_only() || DevModelsEnabled::<T>::get(),
            Error::<T>::DevModelNotEnabled
        );
        // At most `MaxGpusPerWorker` GPUs, so the quadratic scan is bounded and small.
        for (i, gpu) in spec.gpus.iter().enumerate() {
            ensure!(
                !spec.gpus[..i]
                    .iter()
                    .any(|other| other.uuid_hash == gpu.uuid_hash),
                Error::<T>::DuplicateGpuInSpec
            );
        }
        ensure!(!spec.price_per_gpu_hour.is_zero(), Error::<T>::ZeroPrice);
        ensure!(!spec.endpoint.is_empty(), Error::<T>::EmptyEndpoint);
        // Storage checks last.
        for gpu in spec.gpus.iter() {
            ensure!(
                !GpuOwner::<T>::contains_key(gpu.uuid_hash),
                Error::<T>::GpuAlreadyRegistered
            );
        }
        ensure!(
            !WorkerByAgent::<T>::contains_key(&spec.agent),
            Error::<T>::AgentInUse
        );
        Ok(gpu_model)
    }

    /// `PendingVerification | Suspended` -> `Active` (indexed), or `Offline` when the last
    /// heartbeat is overdue.
    pub(crate) fn do_verify_worker(worker_id: WorkerId) -> DispatchResult {
        let mut worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(
            matches!(
                worker.status,
                WorkerStatus::PendingVerification | WorkerStatus::Suspended
            ),
            Error::<T>::InvalidWorkerState
        );
        let now = frame_system::Pallet::<T>::block_number();
        worker.pending_expires_at = None;
        if Self::is_overdue(&worker, now) {
            worker.status = WorkerStatus::Offline;
        } else {
            worker.status = WorkerStatus::Active;
            Self::offer_to_index(worker_id, &mut worker);
        }
        let status = worker.status;
        Workers::<T>::insert(worker_id, worker);
        Self::deposit_event(Event::<T>::WorkerVerified { worker_id, status });
        Ok(())
    }

    /// `PendingVerification | Active | Offline` -> `Suspended`, out of the index; tells the
    /// availability hook. Returns the weight the hook reported.
    pub(crate) fn do_suspend_worker(worker_id: WorkerId) -> Result<Weight, DispatchError> {
        let mut worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(
            matches!(
                worker.status,
                WorkerStatus::PendingVerification | WorkerStatus::Active | WorkerStatus::Offline
            ),
            Error::<T>::InvalidWorkerState
        );
        Self::remove_from_index(worker_id, &mut worker);
        worker.status = WorkerStatus::Suspended;
        worker.pending_expires_at = None;
        Workers::<T>::insert(worker_id, worker);
        Self::deposit_event(Event::<T>::WorkerSuspended { worker_id });
        // Called after the record is written: the hook may call back into `release_gpus`.
        Ok(T::AvailabilityHooks::on_worker_unavailable(worker_id))
    }

    /// Record a heartbeat from the worker's agent; reactivate an `Offline` worker.
    pub(crate) fn do_heartbeat(
        agent: T::AccountId,
        worker_id: WorkerId,
        free_gpus_reported: u32,
    ) -> DispatchResult {
        let mut worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(worker.spec.agent == agent, Error::<T>::NotWorkerAgent);
        ensure!(
            matches!(
                worker.status,
                WorkerStatus::PendingVerification | WorkerStatus::Active | WorkerStatus::Offline
            ),
            Error::<T>::InvalidWorkerState
        );
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(worker.last_heartbeat < now, Error::<T>::HeartbeatTooSoon);
        ensure!(
            free_gpus_reported <= worker.spec.gpu_count(),
            Error::<T>::ReportedGpusExceedTotal
        );

        worker.last_heartbeat = now;
        worker.reported_free_gpus = free_gpus_reported;
        match worker.status {
            WorkerStatus::Offline => {
                worker.status = WorkerStatus::Active;
                Self::offer_to_index(worker_id, &mut worker);
                Self::deposit_event(Event::<T>::WorkerBackOnline { worker_id });
            }
            // Left out of a full index earlier: try again, there may be room now.
            WorkerStatus::Active if !worker.indexed => Self::offer_to_index(worker_id, &mut worker),
            _ => {}
        }
        Workers::<T>::insert(worker_id, worker);
        Self::deposit_event(Event::<T>::Heartbeat {
            worker_id,
            free_gpus_reported,
        });
        Ok(())
    }

    /// Take one overdue `Active` worker `Offline`. Returns the weight the hook reported.
    pub(crate) fn do_report_offline(
        reporter: T::AccountId,
        worker_id: WorkerId,
    ) -> Result<Weight, DispatchError> {
        let worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(
            worker.status == WorkerStatus::Active,
            Error::<T>::InvalidWorkerState
        );
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(Self::is_overdue(&worker, now), Error::<T>::NotOverdue);
        Ok(Self::take_offline(worker_id, worker, Some(reporter)))
    }

    /// Change price and/or endpoint; re-sort the index entry of an `Active` worker.
    pub(crate) fn do_update_worker(
        who: T::AccountId,
        worker_id: WorkerId,
        price_per_gpu_hour: Option<BalanceOf<T>>,
        endpoint: Option<EndpointOf<T>>,
    ) -> DispatchResult {
        ensure!(
            price_per_gpu_hour.is_some() || endpoint.is_some(),
            Error::<T>::NothingToUpdate
        );
        let mut worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(worker.provider == who, Error::<T>::NotProvider);
        ensure!(
            worker.status != WorkerStatus::Deregistering,
            Error::<T>::InvalidWorkerState
        );
        if let Some(price) = price_per_gpu_hour {
            ensure!(!price.is_zero(), Error::<T>::ZeroPrice);
        }
        if let Some(endpoint) = &endpoint {
            ensure!(!endpoint.is_empty(), Error::<T>::EmptyEndpoint);
        }

        let endpoint_updated = endpoint.is_some();
        if let Some(endpoint) = endpoint {
            worker.spec.endpoint = endpoint;
        }
        if let Some(price) = price_per_gpu_hour {
            if price != worker.spec.price_per_gpu_hour {
                // Out, then back in at the new position (below).
                Self::remove_from_index(worker_id, &mut worker);
                worker.spec.price_per_gpu_hour = price;
            }
        }
        if worker.status == WorkerStatus::Active && !worker.indexed {
            Self::offer_to_index(worker_id, &mut worker);
        }
        let price_per_gpu_hour = worker.spec.price_per_gpu_hour;
        Workers::<T>::insert(worker_id, worker);
        Self::deposit_event(Event::<T>::WorkerUpdated {
            worker_id,
            price_per_gpu_hour,
            endpoint_updated,
        });
        Ok(())
    }

    /// Start unbonding a worker with no reserved GPU.
    pub(crate) fn do_deregister_worker(who: T::AccountId, worker_id: WorkerId) -> DispatchResult {
        let mut worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(worker.provider == who, Error::<T>::NotProvider);
        ensure!(
            worker.status != WorkerStatus::Deregistering,
            Error::<T>::InvalidWorkerState
        );
        ensure!(worker.reserved_gpus == 0, Error::<T>::WorkerBusy);
        // Orders that ended but are still settling hold no GPU; while they may be refunded by
        // a failed check, the worker must stay checkable (a Deregistering one cannot be
        // suspended).
        ensure!(
            !T::AvailabilityHooks::has_open_orders(worker_id),
            Error::<T>::WorkerBusy
        );

        Self::remove_from_index(worker_id, &mut worker);
        // Saturating: a block number near its maximum only delays the unlock to that maximum.
        let unlock_at =
            frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
        worker.status = WorkerStatus::Deregistering;
        worker.unlock_at = Some(unlock_at);
        worker.pending_expires_at = None;
        Workers::<T>::insert(worker_id, worker);
        Self::deposit_event(Event::<T>::WorkerDeregistering {
            worker_id,
            unlock_at,
        });
        Ok(())
    }

    /// Release the deposit of an unbonded worker and remove it. Returns its GPU count.
    pub(crate) fn do_withdraw_deposit(
        who: T::AccountId,
        worker_id: WorkerId,
    ) -> Result<u32, DispatchError> {
        let worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(worker.provider == who, Error::<T>::NotProvider);
        let unlock_at = match (worker.status, worker.unlock_at) {
            (WorkerStatus::Deregistering, Some(unlock_at)) => unlock_at,
            _ => return Err(Error::<T>::InvalidWorkerState.into()),
        };
        ensure!(
            frame_system::Pallet::<T>::block_number() >= unlock_at,
            Error::<T>::StillUnbonding
        );

        let released = Self::release_deposit(&worker)?;
        let gpus = Self::remove_worker(worker_id, &worker);
        Self::deposit_event(Event::<T>::DepositWithdrawn {
            worker_id,
            provider: worker.provider,
            deposit: released,
        });
        Ok(gpus)
    }

    /// Remove an expired `PendingVerification` worker (for `expire_pending`, `by` is the
    /// caller). Returns its GPU count.
    pub(crate) fn do_expire_pending(
        worker_id: WorkerId,
        by: Option<T::AccountId>,
    ) -> Result<u32, DispatchError> {
        let worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(
            worker.status == WorkerStatus::PendingVerification,
            Error::<T>::NotPending
        );
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(
            Self::pending_expired(&worker, now),
            Error::<T>::PendingNotExpired
        );
        Self::expire(worker_id, worker, by)
    }

    /// Remove a `PendingVerification` worker known to have expired: release its deposit, free
    /// its GPUs and agent key. Returns its GPU count. Shared by `expire_pending` and the sweep.
    pub(crate) fn expire(
        worker_id: WorkerId,
        worker: WorkerInfoOf<T>,
        by: Option<T::AccountId>,
    ) -> Result<u32, DispatchError> {
        // A pending worker never had GPUs reserved (`reserve_gpus` needs `Active`) nor an index
        // entry, so there is no order to fail.
        let released = Self::release_deposit(&worker)?;
        let gpus = Self::remove_worker(worker_id, &worker);
        Self::deposit_event(Event::<T>::PendingRegistrationExpired {
            worker_id,
            provider: worker.provider,
            deposit: released,
            by,
        });
        Ok(gpus)
    }

    /// Fail the worker's orders (unless it cannot have any), remove it with its GPU and agent
    /// entries, and return or slash its deposit. Returns its GPU count and the weight the
    /// availability hook reported (zero when it was not called).
    pub(crate) fn do_force_deregister(
        worker_id: WorkerId,
        slash_deposit: bool,
    ) -> Result<(u32, Weight), DispatchError> {
        let mut worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        // Pending workers never reserved GPUs and Deregistering ones have none reserved and
        // cannot reserve: only the others can have orders to fail.
        let may_have_orders = !matches!(
            worker.status,
            WorkerStatus::PendingVerification | WorkerStatus::Deregistering
        );
        Self::remove_from_index(worker_id, &mut worker);
        let mut hook_weight = Weight::zero();
        if may_have_orders {
            // Write the worker out of service first: the hook may call back into
            // `release_gpus`, which must find the record.
            worker.status = WorkerStatus::Suspended;
            worker.pending_expires_at = None;
            worker.unlock_at = None;
            Workers::<T>::insert(worker_id, &worker);
            hook_weight = T::AvailabilityHooks::on_worker_unavailable(worker_id);
            worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
            if worker.reserved_gpus > 0 {
                // The trait makes a later `release_gpus` of a removed worker a no-op.
                log::warn!(
                    target: LOG_TARGET,
                    "force_deregister({worker_id}): {} GPUs still reserved after the hook",
                    worker.reserved_gpus
                );
            }
        }

        let (returned, slashed) = if slash_deposit {
            (Zero::zero(), Self::slash_deposit(&worker)?)
        } else {
            (Self::release_deposit(&worker)?, Zero::zero())
        };
        let gpus = Self::remove_worker(worker_id, &worker);
        Self::deposit_event(Event::<T>::WorkerForceDeregistered {
            worker_id,
            provider: worker.provider,
            returned,
            slashed,
        });
        Ok((gpus, hook_weight))
    }

    /// Move a worker's agent key to `new_agent`, freeing the old one.
    pub(crate) fn do_rotate_agent(
        who: T::AccountId,
        worker_id: WorkerId,
        new_agent: T::AccountId,
    ) -> DispatchResult {
        let mut worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(worker.provider == who, Error::<T>::NotProvider);
        ensure!(
            worker.status != WorkerStatus::Deregistering,
            Error::<T>::InvalidWorkerState
        );
        // Also refuses the worker's own current key (a replay): nothing would change.
        ensure!(
            !WorkerByAgent::<T>::contains_key(&new_agent),
            Error::<T>::AgentInUse
        );
        let old_agent = core::mem::replace(&mut worker.spec.agent, new_agent.clone());
        WorkerByAgent::<T>::remove(&old_agent);
        WorkerByAgent::<T>::insert(&new_agent, worker_id);
        Workers::<T>::insert(worker_id, worker);
        Self::deposit_event(Event::<T>::AgentRotated {
            worker_id,
            old_agent,
            new_agent,
        });
        Ok(())
    }

    /// Set the pause flag and take the worker out of the index.
    pub(crate) fn do_pause_worker(who: T::AccountId, worker_id: WorkerId) -> DispatchResult {
        let mut worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(worker.provider == who, Error::<T>::NotProvider);
        ensure!(
            worker.status != WorkerStatus::Deregistering,
            Error::<T>::InvalidWorkerState
        );
        ensure!(!worker.paused, Error::<T>::AlreadyPaused);
        Self::remove_from_index(worker_id, &mut worker);
        worker.paused = true;
        Workers::<T>::insert(worker_id, worker);
        Self::deposit_event(Event::<T>::WorkerPaused { worker_id });
        Ok(())
    }

    /// Clear the pause flag; offer an `Active` worker to the index.
    pub(crate) fn do_resume_worker(who: T::AccountId, worker_id: WorkerId) -> DispatchResult {
        let mut worker = Workers::<T>::get(worker_id).ok_or(Error::<T>::WorkerNotFound)?;
        ensure!(worker.provider == who, Error::<T>::NotProvider);
        ensure!(
            worker.status != WorkerStatus::Deregistering,
            Error::<T>::InvalidWorkerState
        );
        ensure!(worker.paused, Error::<T>::NotPaused);
        worker.paused = false;
        if worker.status == WorkerStatus::Active {
            Self::offer_to_index(worker_id, &mut worker);
        }
        let indexed = worker.indexed;
        Workers::<T>::insert(worker_id, worker);
        Self::deposit_event(Event::<T>::WorkerResumed { worker_id, indexed });
        Ok(())
    }

    /// Release the worker's recorded deposit to its provider. Best effort: if some of the hold
    /// was taken by other means, release what is left rather than strand the worker forever
    /// (`try_state` reports the mismatch). Returns what was released.
    fn release_deposit(worker: &WorkerInfoOf<T>) -> Result<BalanceOf<T>, DispatchError> {
        if worker.deposit.is_zero() {
            return Ok(Zero::zero());
        }
        T::Currency::release(
            &HoldReason::WorkerDeposit.into(),
            &worker.provider,
            worker.deposit,
            Precision::BestEffort,
        )
    }

    /// Move the worker's recorded deposit from its provider's hold to `FeeDestination`, or
    /// burn it when that is `None` (best effort, as [`Self::release_deposit`]). Returns what
    /// was slashed.
    fn slash_deposit(worker: &WorkerInfoOf<T>) -> Result<BalanceOf<T>, DispatchError> {
        if worker.deposit.is_zero() {
            return Ok(Zero::zero());
        }
        let reason = HoldReason::WorkerDeposit.into();
        match T::FeeDestination::get() {
            Some(destination) => T::Currency::transfer_on_hold(
                &reason,
                &worker.provider,
                &destination,
                worker.deposit,
                Precision::BestEffort,
                Restriction::Free,
                Fortitude::Force,
            ),
            None => T::Currency::burn_held(
                &reason,
                &worker.provider,
                worker.deposit,
                Precision::BestEffort,
                Fortitude::Force,
            ),
        }
    }

    /// Delete the worker record with its GPU and agent entries. Returns its GPU count.
    fn remove_worker(worker_id: WorkerId, worker: &WorkerInfoOf<T>) -> u32 {
        for gpu in worker.spec.gpus.iter() {
            GpuOwner::<T>::remove(gpu.uuid_hash);
        }
        WorkerByAgent::<T>::remove(&worker.spec.agent);
        Workers::<T>::remove(worker_id);
        worker.spec.gpu_count()
    }
}
