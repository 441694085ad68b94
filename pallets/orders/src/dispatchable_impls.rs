//! The logic behind the calls in `lib.rs`.

use crate::*;
use frame_support::{
    pallet_prelude::*,
    storage::with_storage_layer,
    traits::{
        fungible::{Inspect, MutateHold},
        tokens::{Fortitude, Precision, Preservation, Restriction},
    },
};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{
    Escrow, OrderId, Points, WorkerId, WorkerRegistry, WorkerStatus, WorkerSummary,
};
use sp_runtime::traits::{CheckedAdd, Saturating, Zero};

impl<T: Config> Pallet<T> {
    /// Place an order (see [`Pallet::place_order`]). Returns the new order's id and how many
    /// entries of the registry's price index were read (for the weight refund).
    ///
    /// Runs in its own storage layer, so that no partial effect (reserved GPUs, spent points,
    /// held funds) survives an error even outside a transactional dispatch.
    pub(crate) fn do_place_order(
        user: T::AccountId,
        spec: OrderSpec<T>,
        max_points: BalanceOf<T>,
    ) -> Result<(OrderId, u32), DispatchError> {
        with_storage_layer(|| Self::place_order_inner(user, spec, max_points))
    }

    /// [`Self::do_place_order`] without its storage layer (quotes run it in a transaction that
    /// is always rolled back).
    pub(crate) fn place_order_inner(
        user: T::AccountId,
        spec: OrderSpec<T>,
        max_points: BalanceOf<T>,
    ) -> Result<(OrderId, u32), DispatchError> {
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

        let (worker_id, worker, scanned) = Self::match_worker(&spec)?;
        let total_cost =
            Self::order_cost(worker.price_per_gpu_hour, spec.gpu_count, spec.duration)?;
        ensure!(!total_cost.is_zero(), Error::<T>::ZeroCost);

        // Points to offer: the points pallet converts them to a discount in tokens at its rate
        // (and checks that the pot can sponsor it); no more than `MaxDiscount` of the order's
        // cost is offered, and a discount above that (rounding at rates below one) is given
        // back.
        let max_discount = T::MaxDiscount::get().mul_floor(total_cost);
        let points_to_spend = if max_discount.is_zero() {
            Zero::zero()
        } else {
            max_points
                .min(T::Points::points_of(&user))
                .min(T::Points::points_for_discount(max_discount))
        };
        // Points spent on one's own worker would turn pot tokens into one's own income.
        ensure!(
            points_to_spend.is_zero() || (user != worker.provider && user != worker.agent),
            Error::<T>::SelfDealingDiscount
        );
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

        // 2. Effects, in an order where each step fails before changing anything itself; the
        // storage layer undoes the earlier steps if a later one fails.
        let deadline = Self::schedule(order_id, accept_by, false)?;
        T::Workers::reserve_gpus(worker_id, spec.gpu_count)?;
        let discount = if points_to_spend.is_zero() {
            Zero::zero()
        } else {
            let discount = T::Points::spend(&user, points_to_spend)?;
            if discount > max_discount {
                // The points were worth more than the order may be discounted: give the excess
                // back.
                T::Points::restore(&user, discount.saturating_sub(max_discount));
                max_discount
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
        let deposit = T::OrderDeposit::get();
        // Holds may take frozen funds (a vesting lock, a vote) and escrow payouts must ignore
        // freezes (paying what a hold secured), so frozen funds must not get into an order at
        // all: together with a worker of one's own, that would move locked tokens out of the
        // lock. Checked before anything is held (a hold counts towards satisfying a freeze).
        ensure!(
            T::Currency::reducible_balance(&user, Preservation::Protect, Fortitude::Polite)
                >= payer_amount.saturating_add(deposit),
            Error::<T>::InsufficientFreeBalance
        );
        if !deposit.is_zero() {
            T::Currency::hold(&HoldReason::OrderDeposit.into(), &user, deposit)?;
        }
        let sponsor = if discount.is_zero() {
            None
        } else {
            Some((&pot, discount))
        };
        T::Escrow::lock(order_id, &user, payer_amount, sponsor)?;

        OrdersByWorker::<T>::insert(worker_id, worker_orders);
        NextOrderId::<T>::put(next_order_id);
        OrdersOf::<T>::insert(&user, order_id, ());
        OrdersOf::<T>::insert(&worker.provider, order_id, ());
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
                deposit,
                deadline: Some(deadline),
            },
        );
        Self::deposit_event(Event::<T>::OrderPlaced {
            order_id,
            user,
            worker: worker_id,
            total_cost,
            discount,
        });
        Ok((order_id, scanned))
    }

    /// The worker an order goes to: the explicit target if it qualifies (with a typed error for
    /// each way it does not), else the registry's cheapest match. Also returns how many price
    /// index entries were read (one for an explicit target: the same single worker read).
    #[allow(clippy::type_complexity)]
    fn match_worker(
        spec: &OrderSpec<T>,
    ) -> Result<(WorkerId, WorkerSummary<T::AccountId, BalanceOf<T>>, u32), DispatchError> {
        match spec.target_worker {
            Some(id) => {
                let worker = T::Workers::worker(id).ok_or(Error::<T>::WorkerNotFound)?;
                ensure!(
                    worker.status == WorkerStatus::Active,
                    Error::<T>::WorkerNotActive
                );
                ensure!(!worker.paused, Error::<T>::WorkerPaused);
                ensure!(!worker.heartbeat_overdue, Error::<T>::WorkerOverdue);
                // Whatever else the registry may add to the rule.
                ensure!(worker.takes_new_orders(), Error::<T>::WorkerNotActive);
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
                Ok((id, worker, 1))
            }
            None => {
                let found = T::Workers::find_cheapest(
                    spec.gpu_model,
                    spec.gpu_count,
                    spec.max_price_per_gpu_hour,
                );
                let id = found.worker.ok_or(Error::<T>::NoMatchingWorker)?;
                let worker = T::Workers::worker(id).ok_or(Error::<T>::NoMatchingWorker)?;
                // Do not trust the index blindly: the match must really fit the request.
                ensure!(
                    worker.takes_new_orders()
                        && worker.gpu_model == spec.gpu_model
                        && worker.free_gpus >= spec.gpu_count
                        && worker.price_per_gpu_hour <= spec.max_price_per_gpu_hour,
                    Error::<T>::NoMatchingWorker
                );
                Ok((id, worker, found.scanned.max(1)))
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
        let summary = T::Workers::worker(worker).ok_or(Error::<T>::WorkerNotFound)?;
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

        order.status = OrderStatus::Running {
            started_at: now,
            ends_at,
            paid_until: now,
            last_report_seq: 0,
        };
        // From its accept deadline to its report deadline (fails only when the index has no
        // room; the agent can accept again in a later block, before `accept_by`).
        Self::reschedule(order_id, &mut order)?;
        // Accepted: the user's deposit has done its job.
        Self::release_deposit(&mut order);
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

    /// Record a usage report: pay the periods that matured, queue the reported one (see
    /// [`Pallet::report_usage`]).
    pub(crate) fn do_report_usage(
        agent: T::AccountId,
        order_id: OrderId,
        seq: u32,
        usage: UsageReport,
    ) -> DispatchResult {
        let mut order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
        Self::ensure_agent(&agent, order.worker)?;
        let OrderStatus::Running {
            started_at,
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

        // Pay what matured first (it also makes room in the queue).
        let mut periods = Unmatured::<T>::get(order_id);
        Self::pay_matured(order_id, &mut order, &mut periods)?;
        let OrderStatus::Running { paid_until, .. } = order.status else {
            return Err(Error::<T>::InvalidOrderState.into());
        };
        // The blocks since the last report (a report adds nothing when no block passed since,
        // or after `ends_at`).
        let reported_until = Self::reported_until(paid_until, &periods);
        let upto = now.min(ends_at).max(reported_until);
        if upto > reported_until {
            let owed = Self::owed_for(&order, upto.saturating_sub(started_at))?;
            Self::queue_period(
                &mut periods,
                Period {
                    until: upto,
                    reported_at: now,
                    owed,
                },
            );
            // Matured already: no maturity delay, or a verdict in this block.
            Self::pay_matured(order_id, &mut order, &mut periods)?;
        }
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

        if now < ends_at {
            Orders::<T>::insert(order_id, order);
            Self::store_periods(order_id, periods);
        } else if periods.is_empty() {
            // The provider now has the total cost; close the (empty) escrow. Anything the
            // escrow still returned is the user's, in tokens.
            Self::refund_in_tokens(order_id, &order.user)?;
            Unmatured::<T>::remove(order_id);
            Self::end_order(order_id, order, OrderStatus::Completed { at: now });
            Self::deposit_event(Event::<T>::OrderCompleted { order_id });
        } else {
            // Over for the worker; the escrow stays open until the last period matures.
            Self::deposit_event(Event::<T>::OrderCompleted { order_id });
            Self::begin_settling(order_id, order, periods, false)?;
        }
        Ok(())
    }

    /// Cancel an order (see [`Pallet::cancel_order`]).
    ///
    /// A Running order's provider is paid the reported periods that matured, and nothing for
    /// unreported time; with periods still unmatured the order becomes Settling (paid as they
    /// mature, the rest refunded then). An order whose worker already missed its deadline fails
    /// instead, exactly as `expire_order` would fail it.
    pub(crate) fn do_cancel_order(user: T::AccountId, order_id: OrderId) -> DispatchResult {
        let mut order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
        ensure!(order.user == user, Error::<T>::NotOrderOwner);
        let now = frame_system::Pallet::<T>::block_number();
        match order.status {
            OrderStatus::Pending { accept_by } if now >= accept_by => {
                return Self::fail_order(order_id, order, FailureReason::NotAccepted);
            }
            // The user blocked the worker's GPUs for nothing: the deposit is forfeited. Unless
            // the worker could not have served it anyway (gone, not Active, overdue on its
            // heartbeats or paused): leaving such a worker is not the user's fault.
            OrderStatus::Pending { .. } => {
                if T::Workers::worker(order.worker).is_some_and(|w| w.takes_new_orders()) {
                    Self::forfeit_deposit(order_id, &mut order)
                } else {
                    Self::release_deposit(&mut order)
                }
            }
            OrderStatus::Running { ends_at, .. }
                if now > ends_at.saturating_add(T::ReportGracePeriod::get()) =>
            {
                return Self::fail_order(order_id, order, FailureReason::NoFinalReport);
            }
            // Only reported time is paid, once it matured.
            OrderStatus::Running { .. } => {
                let mut periods = Unmatured::<T>::get(order_id);
                Self::pay_matured(order_id, &mut order, &mut periods)?;
                if !periods.is_empty() {
                    Self::deposit_event(Event::<T>::OrderCancelled { order_id });
                    return Self::begin_settling(order_id, order, periods, true);
                }
                Unmatured::<T>::remove(order_id);
            }
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

    /// Record a container exit (see [`Pallet::report_exit`]): on a Running order any kind; on
    /// a Pending order only a provider's fault (its container could not be started), which
    /// then fails the order through the same [`Self::fail_order`] path as `reject_order` (a
    /// full refund as a service failure; no period was reported, so nothing is paid).
    pub(crate) fn do_report_exit(
        agent: T::AccountId,
        order_id: OrderId,
        kind: ExitKind,
        restarts: u32,
    ) -> DispatchResult {
        let order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
        Self::ensure_agent(&agent, order.worker)?;
        let allowed = match order.status {
            OrderStatus::Running { .. } => true,
            // A container that never ran cannot exit by the user's workload.
            OrderStatus::Pending { .. } => kind.is_provider_fault(),
            _ => false,
        };
        ensure!(allowed, Error::<T>::InvalidOrderState);
        let at = frame_system::Pallet::<T>::block_number();
        ExitRecords::<T>::mutate(order_id, |records| {
            if records.is_full() {
                records.remove(0);
            }
            let _ = records.try_push(ExitRecord { kind, restarts, at });
        });
        Self::deposit_event(Event::<T>::ContainerExited {
            order_id,
            kind,
            restarts,
        });
        if kind.is_provider_fault() {
            Self::fail_order(order_id, order, FailureReason::ServiceFailed)?;
        }
        Ok(())
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
        Self::unschedule(order_id, order.deadline);
        Self::remove_order(order_id, &order);
        Ok(())
    }

    /// Remove a terminal order's records (the order, its exit records, its account index
    /// entries) and say so.
    pub(crate) fn remove_order(order_id: OrderId, order: &Order<T>) {
        Orders::<T>::remove(order_id);
        ExitRecords::<T>::remove(order_id);
        OrdersOf::<T>::remove(&order.user, order_id);
        OrdersOf::<T>::remove(&order.provider, order_id);
        Self::deposit_event(Event::<T>::OrderDropped { order_id });
    }

    /// Fail an open order: the provider is paid the reported periods that matured and keeps what
    /// it was paid; everything else left in the escrow (unmatured periods and the unserved rest)
    /// is refunded as a service failure, and the order's resources are released.
    pub(crate) fn fail_order(
        order_id: OrderId,
        mut order: Order<T>,
        reason: FailureReason,
    ) -> DispatchResult {
        let mut periods = Unmatured::<T>::get(order_id);
        if !periods.is_empty() {
            Self::pay_matured(order_id, &mut order, &mut periods)?;
            Unmatured::<T>::remove(order_id);
        }
        Self::refund_service_failure(order_id, &order.user)?;
        // Every failure is the provider's (or nobody's): the user gets the deposit back.
        Self::release_deposit(&mut order);
        let now = frame_system::Pallet::<T>::block_number();
        Self::end_order(order_id, order, OrderStatus::Failed { at: now, reason });
        Self::deposit_event(Event::<T>::OrderFailed { order_id, reason });
        Ok(())
    }

    /// Move an open order whose escrow is settled to the terminal `status`: release its GPUs
    /// (unless it was Settling: released already), drop it from the per-worker index and its
    /// access blob, and schedule its removal after `OrderRetention` (best effort) in place of
    /// its open deadline. The deposit and the unmatured periods must be settled already.
    pub(crate) fn end_order(
        order_id: OrderId,
        mut order: Order<T>,
        status: OrderStatus<BlockNumberFor<T>>,
    ) {
        if order.status.holds_gpus() {
            T::Workers::release_gpus(order.worker, order.gpu_count);
        }
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
        // Terminal: never fails (without room, `drop_order` removes it).
        let _ = Self::reschedule(order_id, &mut order);
        Orders::<T>::insert(order_id, order);
    }

    /// Give the user its order deposit back (accepted, or failed through the provider).
    pub(crate) fn release_deposit(order: &mut Order<T>) {
        let amount = core::mem::take(&mut order.deposit);
        if amount.is_zero() {
            return;
        }
        let released = T::Currency::release(
            &HoldReason::OrderDeposit.into(),
            &order.user,
            amount,
            Precision::BestEffort,
        );
        if released != Ok(amount) {
            log::error!(target: LOG_TARGET, "releasing an order deposit: {released:?}");
            frame_support::defensive!("an order deposit must be on hold");
        }
    }

    /// The user cancelled a Pending order: its deposit goes to `DepositForfeitDestination`.
    /// Should that transfer fail (a destination that cannot receive it), the deposit is
    /// released instead: a cancellation never gets stuck on it.
    fn forfeit_deposit(order_id: OrderId, order: &mut Order<T>) {
        let amount = order.deposit;
        if amount.is_zero() {
            return;
        }
        let to = T::DepositForfeitDestination::get();
        match T::Currency::transfer_on_hold(
            &HoldReason::OrderDeposit.into(),
            &order.user,
            &to,
            amount,
            Precision::Exact,
            Restriction::Free,
            Fortitude::Force,
        ) {
            Ok(_) => {
                order.deposit = Zero::zero();
                Self::deposit_event(Event::<T>::DepositForfeited {
                    order_id,
                    user: order.user.clone(),
                    amount,
                });
            }
            Err(e) => {
                log::error!(
                    target: LOG_TARGET,
                    "forfeiting the deposit of order {order_id} failed ({e:?}); released",
                );
                Self::release_deposit(order);
            }
        }
    }
}
