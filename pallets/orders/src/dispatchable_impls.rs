//! The logic behind the calls in `lib.rs`.

use crate::*;
use frame_support::{
    pallet_prelude::*,
    storage::with_storage_layer,
    traits::{
        fungible::Inspect,
        tokens::{Fortitude, Preservation},
    },
};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{
    Escrow, OrderId, Points, WorkerId, WorkerRegistry, WorkerStatus, WorkerSummary,
};
use sp_runtime::traits::{CheckedAdd, Saturating, Zero};

impl<T: Config> Pallet<T> {
    /// Place an order (see [`Pallet::place_order`]). Returns the new order's id.
    ///
    /// Runs in its own storage layer, so that no partial effect (reserved GPUs, spent points,
    /// held funds) survives an error even outside a transactional dispatch.
    pub(crate) fn do_place_order(
        user: T::AccountId,
        spec: OrderSpec<T>,
        max_points: BalanceOf<T>,
    ) -> Result<OrderId, DispatchError> {
        with_storage_layer(|| Self::place_order_inner(user, spec, max_points))
    }

    fn place_order_inner(
        user: T::AccountId,
        spec: OrderSpec<T>,
        max_points: BalanceOf<T>,
    ) -> Result<OrderId, DispatchError> {
        // 1. Validate the request; nothing is touched until every check passed.
        ensure!(!spec.image.is_empty(), Error::<T>::EmptyImage);
        ensure!(
            spec.gpu_count >= 1 && spec.gpu_count <= T::MaxGpusPerOrder::get(),
            Error::<T>::InvalidGpuCount
        );
        ensure!(
            spec.duration >= T::MinDuration::get(),
            Error::<T>::DurationTooShort
        );
        ensure!(
            spec.duration <= T::MaxDuration::get(),
            Error::<T>::DurationTooLong
        );

        let (worker_id, worker) = Self::match_worker(&spec)?;
        let total_cost =
            Self::order_cost(worker.price_per_gpu_hour, spec.gpu_count, spec.duration)?;
        ensure!(!total_cost.is_zero(), Error::<T>::ZeroCost);

        // Points to offer: the points pallet converts them to a discount in tokens at its rate
        // (and checks that the pot can sponsor it); no more than the order's cost is offered,
        // and a discount above the cost (rounding at rates below one) is given back.
        let points_to_spend = max_points
            .min(T::Points::points_of(&user))
            .min(T::Points::points_for_discount(total_cost));
        let pot = T::Points::pot_account();

        let order_id = NextOrderId::<T>::get();
        let next_order_id = order_id.checked_add(1).ok_or(Error::<T>::Overflow)?;
        let now = frame_system::Pallet::<T>::block_number();
        let accept_by = now
            .checked_add(&T::AcceptTimeout::get())
            .ok_or(Error::<T>::Overflow)?;

        let mut worker_orders = OrdersByWorker::<T>::get(worker_id);
        worker_orders
            .try_push(order_id)
            .map_err(|_| Error::<T>::WorkerOrderLimit)?;
        let mut deadline_bucket = AcceptDeadlines::<T>::get(accept_by);
        deadline_bucket
            .try_push(order_id)
            .map_err(|_| Error::<T>::DeadlineQueueFull)?;

        // 2. Effects, in an order where each step fails before changing anything itself; the
        // storage layer undoes the earlier steps if a later one fails.
        T::Workers::reserve_gpus(worker_id, spec.gpu_count)?;
        let discount = if points_to_spend.is_zero() {
            Zero::zero()
        } else {
            let discount = T::Points::spend(&user, points_to_spend)?;
            if discount > total_cost {
                // The points were worth more than the order: give the excess back.
                T::Points::restore(&user, discount.saturating_sub(total_cost));
                total_cost
            } else {
                discount
            }
        };
        if !discount.is_zero() {
            // The points pallet checked this for the whole discount already; the escrow's hold
            // on the pot would fail too. Checked here for a typed error whatever the pallet.
            ensure!(
                Self::pot_can_sponsor(&pot, discount),
                Error::<T>::PromotionPotExhausted
            );
        }
        let payer_amount = total_cost.saturating_sub(discount);
        let sponsor = if discount.is_zero() {
            None
        } else {
            Some((&pot, discount))
        };
        T::Escrow::lock(order_id, &user, payer_amount, sponsor)?;

        OrdersByWorker::<T>::insert(worker_id, worker_orders);
        AcceptDeadlines::<T>::insert(accept_by, deadline_bucket);
        NextOrderId::<T>::put(next_order_id);
        Orders::<T>::insert(
            order_id,
            Order {
                user: user.clone(),
                worker: worker_id,
                provider: worker.provider,
                image: spec.image,
                gpu_model: spec.gpu_model,
                gpu_count: spec.gpu_count,
                duration: spec.duration,
                price_per_gpu_hour: worker.price_per_gpu_hour,
                user_public_key: spec.user_public_key,
                ports: spec.ports,
                total_cost,
                discount,
                paid_so_far: Zero::zero(),
                status: OrderStatus::Pending { accept_by },
                created_at: now,
            },
        );
        Self::deposit_event(Event::<T>::OrderPlaced {
            order_id,
            user,
            worker: worker_id,
            total_cost,
            discount,
        });
        Ok(order_id)
    }

    /// The worker an order goes to: the explicit target if it qualifies (with a typed error for
    /// each way it does not), else the registry's cheapest match.
    fn match_worker(
        spec: &OrderSpec<T>,
    ) -> Result<(WorkerId, WorkerSummary<T::AccountId, BalanceOf<T>>), DispatchError> {
        match spec.target_worker {
            Some(id) => {
                let worker = T::Workers::worker(id).ok_or(Error::<T>::WorkerNotFound)?;
                ensure!(
                    worker.status == WorkerStatus::Active,
                    Error::<T>::WorkerNotActive
                );
                ensure!(
                    worker.gpu_model == spec.gpu_model,
                    Error::<T>::GpuModelMismatch
                );
                ensure!(
                    worker.free_gpus >= spec.gpu_count,
                    Error::<T>::NotEnoughFreeGpus
                );
                ensure!(
                    worker.price_per_gpu_hour <= spec.max_price_per_gpu_hour,
                    Error::<T>::PriceTooHigh
                );
                Ok((id, worker))
            }
            None => {
                let id = T::Workers::find_cheapest(
                    spec.gpu_model,
                    spec.gpu_count,
                    spec.max_price_per_gpu_hour,
                )
                .worker
                .ok_or(Error::<T>::NoMatchingWorker)?;
                let worker = T::Workers::worker(id).ok_or(Error::<T>::NoMatchingWorker)?;
                // Do not trust the index blindly: the match must really fit the request.
                ensure!(
                    worker.takes_new_orders()
                        && worker.gpu_model == spec.gpu_model
                        && worker.free_gpus >= spec.gpu_count
                        && worker.price_per_gpu_hour <= spec.max_price_per_gpu_hour,
                    Error::<T>::NoMatchingWorker
                );
                Ok((id, worker))
            }
        }
    }

    /// Whether the promotion pot can put `amount` on hold (the check `fungible::MutateHold`
    /// makes: the pot stays alive, frozen funds count as available to holds).
    fn pot_can_sponsor(pot: &T::AccountId, amount: BalanceOf<T>) -> bool {
        T::Currency::reducible_balance(pot, Preservation::Protect, Fortitude::Force) >= amount
    }

    /// Ensure `who` is the agent of `worker`; returns the worker's summary.
    fn ensure_agent(
        who: &T::AccountId,
        worker: WorkerId,
    ) -> Result<WorkerSummary<T::AccountId, BalanceOf<T>>, DispatchError> {
        let summary = T::Workers::worker(worker).ok_or(Error::<T>::NotWorkerAgent)?;
        ensure!(summary.agent == *who, Error::<T>::NotWorkerAgent);
        Ok(summary)
    }

    /// Accept a Pending order (see [`Pallet::accept_order`]).
    pub(crate) fn do_accept_order(
        agent: T::AccountId,
        order_id: OrderId,
        access: BoundedVec<u8, T::MaxAccessBlobLen>,
    ) -> DispatchResult {
        let mut order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
        let worker = Self::ensure_agent(&agent, order.worker)?;
        let OrderStatus::Pending { accept_by } = order.status else {
            return Err(Error::<T>::InvalidOrderState.into());
        };
        // An unavailable worker's orders are failed by the registry's hook; should one still be
        // open (the hook's failure was logged), it must not start running.
        ensure!(
            worker.status == WorkerStatus::Active,
            Error::<T>::WorkerNotActive
        );
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(now < accept_by, Error::<T>::AcceptDeadlinePassed);
        let ends_at = now
            .checked_add(&order.duration)
            .ok_or(Error::<T>::Overflow)?;

        Self::remove_accept_deadline(accept_by, order_id);
        order.status = OrderStatus::Running {
            started_at: now,
            ends_at,
            paid_until: now,
            last_report_seq: 0,
        };
        Orders::<T>::insert(order_id, order);
        AccessBlobs::<T>::insert(order_id, access);
        Self::deposit_event(Event::<T>::OrderAccepted { order_id, ends_at });
        Ok(())
    }

    /// Reject a Pending order (see [`Pallet::reject_order`]).
    pub(crate) fn do_reject_order(agent: T::AccountId, order_id: OrderId) -> DispatchResult {
        let order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
        Self::ensure_agent(&agent, order.worker)?;
        ensure!(
            matches!(order.status, OrderStatus::Pending { .. }),
            Error::<T>::InvalidOrderState
        );
        Self::fail_order(order_id, order, FailureReason::Rejected)
    }

    /// Record a usage report and pay the provider (see [`Pallet::report_usage`]).
    pub(crate) fn do_report_usage(
        agent: T::AccountId,
        order_id: OrderId,
        seq: u32,
        usage: UsageReport,
    ) -> DispatchResult {
        let mut order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
        Self::ensure_agent(&agent, order.worker)?;
        let OrderStatus::Running {
            ends_at,
            last_report_seq,
            ..
        } = order.status
        else {
            return Err(Error::<T>::InvalidOrderState.into());
        };
        ensure!(
            last_report_seq.checked_add(1) == Some(seq),
            Error::<T>::StaleReport
        );
        ensure!(
            usage.gpu_util_permille <= 1000,
            Error::<T>::InvalidUsageReport
        );
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(
            now <= ends_at.saturating_add(T::ReportGracePeriod::get()),
            Error::<T>::ReportDeadlinePassed
        );

        Self::pay_provider_until(order_id, &mut order, now)?;
        if let OrderStatus::Running {
            last_report_seq, ..
        } = &mut order.status
        {
            *last_report_seq = seq;
        }
        Self::deposit_event(Event::<T>::UsageReported {
            order_id,
            seq,
            usage,
        });

        if now >= ends_at {
            // The provider now has the total cost; close the (empty) escrow. Anything the
            // escrow still returned is the user's, in tokens.
            Self::refund_in_tokens(order_id, &order.user)?;
            Self::end_order(order_id, order, OrderStatus::Completed { at: now });
            Self::deposit_event(Event::<T>::OrderCompleted { order_id });
        } else {
            Orders::<T>::insert(order_id, order);
        }
        Ok(())
    }

    /// Cancel an order (see [`Pallet::cancel_order`]).
    pub(crate) fn do_cancel_order(user: T::AccountId, order_id: OrderId) -> DispatchResult {
        let mut order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
        ensure!(order.user == user, Error::<T>::NotOrderOwner);
        let now = frame_system::Pallet::<T>::block_number();
        match order.status {
            OrderStatus::Pending { .. } => {}
            // The service was delivered up to now: pay for it before refunding the rest.
            OrderStatus::Running { .. } => Self::pay_provider_until(order_id, &mut order, now)?,
            _ => return Err(Error::<T>::InvalidOrderState.into()),
        }
        Self::refund_in_tokens(order_id, &order.user)?;
        Self::end_order(order_id, order, OrderStatus::Cancelled { at: now });
        Self::deposit_event(Event::<T>::OrderCancelled { order_id });
        Ok(())
    }

    /// Fail an order whose worker missed a deadline (see [`Pallet::expire_order`]).
    pub(crate) fn do_expire_order(order_id: OrderId) -> DispatchResult {
        let order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
        let now = frame_system::Pallet::<T>::block_number();
        let reason = match order.status {
            OrderStatus::Pending { accept_by } => {
                ensure!(now >= accept_by, Error::<T>::NotExpired);
                FailureReason::NotAccepted
            }
            OrderStatus::Running { ends_at, .. } => {
                ensure!(
                    now > ends_at.saturating_add(T::ReportGracePeriod::get()),
                    Error::<T>::NotExpired
                );
                FailureReason::NoFinalReport
            }
            _ => return Err(Error::<T>::InvalidOrderState.into()),
        };
        Self::fail_order(order_id, order, reason)
    }

    /// Remove a terminal order after its retention period (see [`Pallet::drop_order`]).
    pub(crate) fn do_drop_order(order_id: OrderId) -> DispatchResult {
        let order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
        let ended_at = order
            .status
            .ended_at()
            .ok_or(Error::<T>::InvalidOrderState)?;
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(
            now >= ended_at.saturating_add(T::OrderRetention::get()),
            Error::<T>::TooEarly
        );
        Orders::<T>::remove(order_id);
        Self::deposit_event(Event::<T>::OrderDropped { order_id });
        Ok(())
    }

    /// Fail an open order: the provider keeps what it was paid, everything left in the escrow is
    /// refunded as a service failure, and the order's resources are released.
    pub(crate) fn fail_order(
        order_id: OrderId,
        order: Order<T>,
        reason: FailureReason,
    ) -> DispatchResult {
        Self::refund_service_failure(order_id, &order.user)?;
        let now = frame_system::Pallet::<T>::block_number();
        Self::end_order(order_id, order, OrderStatus::Failed { at: now, reason });
        Self::deposit_event(Event::<T>::OrderFailed { order_id, reason });
        Ok(())
    }

    /// Move an open order whose escrow is settled to the terminal `status`: release its GPUs and
    /// drop it from the per-worker and deadline indexes and its access blob.
    pub(crate) fn end_order(
        order_id: OrderId,
        mut order: Order<T>,
        status: OrderStatus<BlockNumberFor<T>>,
    ) {
        if let OrderStatus::Pending { accept_by } = order.status {
            Self::remove_accept_deadline(accept_by, order_id);
        }
        T::Workers::release_gpus(order.worker, order.gpu_count);
        OrdersByWorker::<T>::mutate_exists(order.worker, |maybe| {
            if let Some(ids) = maybe {
                ids.retain(|id| *id != order_id);
                if ids.is_empty() {
                    *maybe = None;
                }
            }
        });
        AccessBlobs::<T>::remove(order_id);
        order.status = status;
        Orders::<T>::insert(order_id, order);
    }

    /// Take `order_id` out of the deadline bucket of block `accept_by`.
    fn remove_accept_deadline(accept_by: BlockNumberFor<T>, order_id: OrderId) {
        AcceptDeadlines::<T>::mutate_exists(accept_by, |maybe| {
            if let Some(ids) = maybe {
                ids.retain(|id| *id != order_id);
                if ids.is_empty() {
                    *maybe = None;
                }
            }
        });
    }
}
