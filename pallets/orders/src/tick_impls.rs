//! Time- and event-driven work: the deadline index (`on_initialize`) and workers becoming
//! unavailable ([`WorkerAvailabilityHooks`]). Both do bounded work.

use crate::*;
use frame_support::{defensive, pallet_prelude::*, storage::with_storage_layer};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{OrderId, WorkerAvailabilityHooks, WorkerId};
use sp_runtime::traits::{One, Saturating};

impl<T: Config> Pallet<T> {
    /// Handle the bucket of block `now` of the deadline index: fail the Pending orders whose
    /// accept deadline came (`NotAccepted`), fail the Running orders past
    /// `ends_at + ReportGracePeriod` (`NoFinalReport`), settle the Settling orders whose last
    /// period matured (pay the provider, refund the rest, complete or cancel them), remove the
    /// terminal orders past their retention. At most `MaxDeadlinesPerBlock` orders (the
    /// bucket's bound); nobody has to call anything.
    pub(crate) fn do_process_deadlines(now: BlockNumberFor<T>) -> Weight {
        let ids = Deadlines::<T>::take(now);
        let count = ids.len() as u32;
        for order_id in ids {
            let Some(mut order) = Orders::<T>::get(order_id) else {
                defensive!("deadline queued for an unknown order");
                continue;
            };
            if order.deadline != Some(now) {
                defensive!("deadline bucket lists an order scheduled elsewhere");
                continue;
            }
            // Out of its (taken) bucket.
            order.deadline = None;
            if Self::deadline_of(&order.status) > now {
                defensive!("order queued before its deadline");
                Self::retry_later(order_id, order);
                continue;
            }
            let reason = match order.status {
                OrderStatus::Pending { .. } => FailureReason::NotAccepted,
                OrderStatus::Running { .. } => FailureReason::NoFinalReport,
                OrderStatus::Settling { .. } => {
                    Self::settle_isolated(order_id, order);
                    continue;
                }
                OrderStatus::Completed { .. }
                | OrderStatus::Cancelled { .. }
                | OrderStatus::Failed { .. } => {
                    Self::remove_order(order_id, &order);
                    continue;
                }
            };
            if !Self::fail_isolated(order_id, order.clone(), reason) {
                // Still open, as it was: look at it again next block.
                Self::retry_later(order_id, order);
            }
        }
        T::WeightInfo::on_initialize(count)
            .saturating_add(Self::accrual_weight().saturating_mul(count as u64))
    }

    /// Schedule `order` (taken out of its bucket) again: at its own deadline if that is still
    /// ahead (so a misplaced entry is not looked at every block until then), else from the
    /// next block on (a failure that did not go through is retried).
    fn retry_later(order_id: OrderId, mut order: Order<T>) {
        let next = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
        let due = Self::deadline_of(&order.status).max(next);
        order.deadline = Self::schedule(order_id, due, !order.status.is_open()).ok();
        if order.deadline.is_none() {
            log::error!(target: LOG_TARGET, "order {order_id} lost its deadline");
        }
        Orders::<T>::insert(order_id, order);
    }

    /// Settle a Settling order whose deadline came, in its own storage layer. Its last period
    /// has matured by time (unless `MaturityDelay` grew since it was scheduled: then it is
    /// scheduled again at the new maturity). If settling fails, the order stays as it was and
    /// is retried in a later block.
    fn settle_isolated(order_id: OrderId, order: Order<T>) {
        match with_storage_layer(|| Self::settle(order_id, order.clone())) {
            Ok(_) => {
                let Some(mut still) = Orders::<T>::get(order_id) else {
                    return;
                };
                if let OrderStatus::Settling { settles_at, .. } = &mut still.status {
                    // Not all matured: due again when the last one matures; while the worker
                    // is re-checked (maturing paused), one `MaturityDelay` from now, not every
                    // block (the re-check's verdict, or `settle_order`, settles it sooner).
                    let now = frame_system::Pallet::<T>::block_number();
                    let due = Self::settles_at(&Unmatured::<T>::get(order_id));
                    *settles_at = if due > now {
                        due
                    } else {
                        now.saturating_add(MaturityDelay::<T>::get().max(One::one()))
                    };
                    Self::retry_later(order_id, still);
                }
            }
            Err(e) => {
                log::error!(target: LOG_TARGET, "settling order {order_id} failed: {e:?}");
                defensive!("settling a matured order must not fail");
                Self::retry_later(order_id, order);
            }
        }
    }

    /// Fail an order in its own storage layer: if any step fails, the order stays as it was
    /// (still open, so `expire_order` can retry), the error is logged and `false` returned.
    fn fail_isolated(order_id: OrderId, order: Order<T>, reason: FailureReason) -> bool {
        if let Err(e) = with_storage_layer(|| Self::fail_order(order_id, order, reason)) {
            log::error!(
                target: LOG_TARGET,
                "failing order {order_id} ({reason:?}) failed: {e:?}",
            );
            defensive!("failing an open order must not fail");
            return false;
        }
        true
    }

    /// Fail every open order of `worker`: Pending orders are refunded in full, Running and
    /// Settling orders pay the provider the periods that matured and refund the unmatured
    /// periods and the unserved rest (as a service failure). At most `MaxOrdersPerWorker`
    /// orders. Returns the weight used.
    pub(crate) fn do_worker_unavailable(worker: WorkerId) -> Weight {
        // A copy: `fail_order` removes each order from the stored list.
        let ids = OrdersByWorker::<T>::get(worker);
        let count = ids.len() as u32;
        for order_id in ids {
            match Orders::<T>::get(order_id) {
                Some(order) if order.status.is_open() => {
                    Self::fail_isolated(order_id, order, FailureReason::WorkerUnavailable);
                }
                _ => {
                    defensive!("worker index lists an order that is not open");
                }
            }
        }
        T::WeightInfo::on_worker_unavailable(count)
            .saturating_add(Self::accrual_weight().saturating_mul(count as u64))
    }
}

/// For the checking pallet's disputes: the user and worker of a Running order.
impl<T: Config> kaisar_primitives::RunningOrders<T::AccountId> for Pallet<T> {
    fn running_order(order: OrderId) -> Option<(T::AccountId, WorkerId)> {
        Orders::<T>::get(order)
            .filter(|o| matches!(o.status, OrderStatus::Running { .. }))
            .map(|o| (o.user, o.worker))
    }
}

impl<T: Config> WorkerAvailabilityHooks for Pallet<T> {
    fn on_worker_unavailable(id: WorkerId) -> Weight {
        Self::do_worker_unavailable(id)
    }

    fn max_weight() -> Weight {
        T::WeightInfo::on_worker_unavailable(T::MaxOrdersPerWorker::get()).saturating_add(
            Self::accrual_weight().saturating_mul(T::MaxOrdersPerWorker::get() as u64),
        )
    }

    /// Pending, Running or Settling orders: a worker whose orders are still settling must not
    /// leave (a Deregistering worker can no longer be suspended by a failed check).
    fn has_open_orders(id: WorkerId) -> bool {
        OrdersByWorker::<T>::contains_key(id)
    }
}
