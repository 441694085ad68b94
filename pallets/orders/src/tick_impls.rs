//! Time- and event-driven work: accept deadlines (`on_initialize`) and workers becoming
//! unavailable ([`WorkerAvailabilityHooks`]). Both do bounded work.

use crate::*;
use frame_support::{defensive, pallet_prelude::*, storage::with_storage_layer};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{OrderId, WorkerAvailabilityHooks, WorkerId};

impl<T: Config> Pallet<T> {
    /// Fail every order whose accept deadline is `now` and that is still Pending. At most
    /// `MaxDeadlinesPerBlock` orders (the bucket's bound).
    pub(crate) fn do_expire_accept_deadlines(now: BlockNumberFor<T>) -> Weight {
        let ids = AcceptDeadlines::<T>::take(now);
        let count = ids.len() as u32;
        for order_id in ids {
            let Some(order) = Orders::<T>::get(order_id) else {
                defensive!("accept deadline queued for an unknown order");
                continue;
            };
            match order.status {
                OrderStatus::Pending { accept_by } if accept_by == now => {
                    Self::fail_isolated(order_id, order, FailureReason::NotAccepted)
                }
                // Orders leave the queue when they leave Pending; anything else is stale.
                _ => {
                    defensive!("accept deadline queued for an order that is not Pending");
                }
            }
        }
        T::WeightInfo::on_initialize(count)
    }

    /// Fail an order in its own storage layer: if any step fails, the order stays as it was
    /// (still open, so `expire_order` can retry) and the error is logged.
    fn fail_isolated(order_id: OrderId, order: Order<T>, reason: FailureReason) {
        if let Err(e) = with_storage_layer(|| Self::fail_order(order_id, order, reason)) {
            log::error!(
                target: LOG_TARGET,
                "failing order {order_id} ({reason:?}) failed: {e:?}",
            );
            defensive!("failing an open order must not fail");
        }
    }

    /// Fail every open order of `worker`: Pending orders are refunded in full, Running orders
    /// keep what the provider was paid up to `paid_until` and refund the unserved rest. At most
    /// `MaxOrdersPerWorker` orders. Returns the weight used.
    pub(crate) fn do_worker_unavailable(worker: WorkerId) -> Weight {
        // A copy: `fail_order` removes each order from the stored list.
        let ids = OrdersByWorker::<T>::get(worker);
        let count = ids.len() as u32;
        for order_id in ids {
            match Orders::<T>::get(order_id) {
                Some(order) if order.status.is_open() => {
                    Self::fail_isolated(order_id, order, FailureReason::WorkerUnavailable)
                }
                _ => {
                    defensive!("worker index lists an order that is not open");
                }
            }
        }
        T::WeightInfo::on_worker_unavailable(count)
    }
}

impl<T: Config> WorkerAvailabilityHooks for Pallet<T> {
    fn on_worker_unavailable(id: WorkerId) -> Weight {
        Self::do_worker_unavailable(id)
    }

    fn max_weight() -> Weight {
        T::WeightInfo::on_worker_unavailable(T::MaxOrdersPerWorker::get())
    }
}
