//! Maturing usage payments: reported periods wait in [`Unmatured`] until they mature
//! (`MaturityDelay` blocks after their report, or earlier after a passing verdict of the
//! worker), and are paid lazily: at the next report, on cancellation, on failure, through
//! `settle_order`, and by the deadline index for Settling orders. Every function here does
//! bounded work (at most `MaxUnmatured` periods, one escrow payment).

use crate::*;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{Escrow, OrderId, RewardAccrual, WorkerRegistry, WorkerVerdicts};
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
    /// Pay the provider of `order` every matured period of `periods` (oldest first, up to the
    /// last matured one) with one escrow payment, and take them out of `periods`. A Running
    /// order's `paid_until` advances to the last paid period's `until`. Returns how many periods
    /// matured. Writes neither the order nor `periods` back to storage.
    pub(crate) fn pay_matured(
        order_id: OrderId,
        order: &mut Order<T>,
        periods: &mut PeriodsOf<T>,
    ) -> Result<u32, DispatchError> {
        if periods.is_empty() {
            return Ok(0);
        }
        let now = frame_system::Pallet::<T>::block_number();
        let delay = MaturityDelay::<T>::get();
        let last_pass = T::Verdicts::last_pass(order.worker);
        // While the worker is re-checked (a contested verdict or a user's dispute), nothing
        // matures by time: the re-check's pass matures the periods, its failure refunds them.
        let by_time = !T::Verdicts::maturity_paused(order.worker);
        // Periods are sorted by `reported_at`, so the matured ones are a prefix; `rposition`
        // pays up to the last matured one whatever the order.
        let Some(last) = periods.iter().rposition(|p| {
            (by_time && now >= p.reported_at.saturating_add(delay))
                || last_pass.is_some_and(|pass| pass >= p.reported_at)
        }) else {
            return Ok(0);
        };
        let period = periods[last];
        // `owed` is cumulative and at least `paid_so_far` (try_state), so this is what the
        // matured periods add.
        let amount = period.owed.saturating_sub(order.paid_so_far);
        if !amount.is_zero() {
            T::Escrow::pay(order_id, &order.provider, amount)?;
            order.paid_so_far = order.paid_so_far.saturating_add(amount);
            T::Rewards::usage_delivered(
                order.worker,
                &order.provider,
                Self::gpu_blocks_of(order, amount),
            );
            Self::deposit_event(Event::<T>::ProviderPaid {
                order_id,
                provider: order.provider.clone(),
                amount,
            });
        }
        if let OrderStatus::Running { paid_until, .. } = &mut order.status {
            *paid_until = period.until;
        }
        let rest: alloc::vec::Vec<_> = periods.iter().skip(last + 1).copied().collect();
        *periods = BoundedVec::truncate_from(rest);
        Ok(last as u32 + 1)
    }

    /// The weight of telling the rewards pallet of one payment.
    pub fn accrual_weight() -> Weight {
        use kaisar_primitives::RewardAccrual;
        T::Rewards::max_weight()
    }

    /// The GPU-blocks of service that `amount` of `order`'s cost pays for:
    /// `amount / total_cost x duration x gpu_count`, rounded down.
    pub(crate) fn gpu_blocks_of(order: &Order<T>, amount: BalanceOf<T>) -> u64 {
        use sp_runtime::traits::UniqueSaturatedInto;
        let total: u128 = order.total_cost.unique_saturated_into();
        if total == 0 {
            return 0;
        }
        let duration: u128 = order.duration.unique_saturated_into();
        let gpu_blocks = duration.saturating_mul(order.gpu_count as u128);
        let amount: u128 = amount.unique_saturated_into();
        sp_runtime::helpers_128bit::multiply_by_rational_with_rounding(
            gpu_blocks,
            amount,
            total,
            sp_runtime::Rounding::Down,
        )
        .unwrap_or(0)
        .min(u64::MAX as u128) as u64
    }

    /// Queue a newly reported period. When the queue is full, the newest period is merged into
    /// it: its `until` and `owed` advance and its `reported_at` becomes the new report's, so the
    /// merged time matures later, never earlier.
    pub(crate) fn queue_period(
        periods: &mut PeriodsOf<T>,
        period: Period<BlockNumberFor<T>, BalanceOf<T>>,
    ) {
        if let Err(period) = periods.try_push(period) {
            if let Some(last) = periods.last_mut() {
                *last = period;
            }
        }
    }

    /// Up to which block the agent has reported a Running order: the newest unmatured period's
    /// `until`, else `paid_until`.
    pub(crate) fn reported_until(
        paid_until: BlockNumberFor<T>,
        periods: &PeriodsOf<T>,
    ) -> BlockNumberFor<T> {
        periods.last().map(|p| p.until).unwrap_or(paid_until)
    }

    /// Write `periods` of `order_id` (removing the entry when empty).
    pub(crate) fn store_periods(order_id: OrderId, periods: PeriodsOf<T>) {
        if periods.is_empty() {
            Unmatured::<T>::remove(order_id);
        } else {
            Unmatured::<T>::insert(order_id, periods);
        }
    }

    /// The block at which the newest of `periods` matures by time.
    pub(crate) fn settles_at(periods: &PeriodsOf<T>) -> BlockNumberFor<T> {
        let now = frame_system::Pallet::<T>::block_number();
        periods
            .last()
            .map(|p| p.reported_at)
            .unwrap_or(now)
            .saturating_add(MaturityDelay::<T>::get())
    }

    /// A Running order ended for its worker (final report, or cancelled by the user) with
    /// `periods` (not empty) still unmatured: it becomes Settling. Its GPUs are released and
    /// its access blob removed (the container stops), it stays in its worker's order list, and
    /// its deadline moves to the maturity of its last period. Fails only when the deadline index
    /// has no room (`DeadlineQueueFull`), before changing anything.
    pub(crate) fn begin_settling(
        order_id: OrderId,
        mut order: Order<T>,
        periods: PeriodsOf<T>,
        cancelled: bool,
    ) -> DispatchResult {
        let held_gpus = order.status.holds_gpus();
        let now = frame_system::Pallet::<T>::block_number();
        let settles_at = Self::settles_at(&periods);
        order.status = OrderStatus::Settling {
            ended_at: now,
            cancelled,
            settles_at,
        };
        Self::reschedule(order_id, &mut order)?;
        if held_gpus {
            T::Workers::release_gpus(order.worker, order.gpu_count);
        }
        AccessBlobs::<T>::remove(order_id);
        Orders::<T>::insert(order_id, order);
        Self::store_periods(order_id, periods);
        Self::deposit_event(Event::<T>::OrderSettling {
            order_id,
            settles_at,
        });
        Ok(())
    }

    /// Pay what matured of a Running or Settling order; a Settling order whose last period was
    /// paid becomes Completed / Cancelled (the rest of its escrow refunded in tokens). Returns
    /// how many periods matured. The caller has checked the status.
    pub(crate) fn settle(order_id: OrderId, mut order: Order<T>) -> Result<u32, DispatchError> {
        let mut periods = Unmatured::<T>::get(order_id);
        let matured = Self::pay_matured(order_id, &mut order, &mut periods)?;
        match order.status {
            OrderStatus::Settling { cancelled, .. } if periods.is_empty() => {
                Unmatured::<T>::remove(order_id);
                // What is left is the unreported part of a cancelled order (nothing for a
                // completed one): the user's, in tokens.
                Self::refund_in_tokens(order_id, &order.user)?;
                let now = frame_system::Pallet::<T>::block_number();
                let status = if cancelled {
                    OrderStatus::Cancelled { at: now }
                } else {
                    OrderStatus::Completed { at: now }
                };
                Self::end_order(order_id, order, status);
                Self::deposit_event(Event::<T>::OrderSettled { order_id });
            }
            _ => {
                Orders::<T>::insert(order_id, order);
                Self::store_periods(order_id, periods);
            }
        }
        Ok(matured)
    }

    /// Settle an order on anyone's request (see [`Pallet::settle_order`]).
    pub(crate) fn do_settle_order(order_id: OrderId) -> DispatchResult {
        let order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
        ensure!(
            matches!(
                order.status,
                OrderStatus::Running { .. } | OrderStatus::Settling { .. }
            ),
            Error::<T>::InvalidOrderState
        );
        let matured = Self::settle(order_id, order)?;
        ensure!(matured > 0, Error::<T>::NothingToSettle);
        Ok(())
    }
}
