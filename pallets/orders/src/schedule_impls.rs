//! The deadline index ([`Deadlines`]): scheduling an order's next deadline in a bounded bucket,
//! spilling into the next blocks when a bucket is full.

use crate::*;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::OrderId;
use sp_runtime::traits::{One, Saturating};

impl<T: Config> Pallet<T> {
    /// The block at which an order in `status` is due: a Pending order's `accept_by`, a Running
    /// order's report deadline `ends_at + ReportGracePeriod + 1`, a Settling order's
    /// `settles_at` (the maturity of its last period), a terminal order's removal
    /// `OrderRetention` blocks after it ended.
    pub(crate) fn deadline_of(status: &OrderStatus<BlockNumberFor<T>>) -> BlockNumberFor<T> {
        match *status {
            OrderStatus::Pending { accept_by } => accept_by,
            OrderStatus::Running { ends_at, .. } => ends_at
                .saturating_add(T::ReportGracePeriod::get())
                .saturating_add(One::one()),
            OrderStatus::Settling { settles_at, .. } => settles_at,
            OrderStatus::Completed { at }
            | OrderStatus::Cancelled { at }
            | OrderStatus::Failed { at, .. } => at.saturating_add(T::OrderRetention::get()),
        }
    }

    /// Put `order_id` in the first bucket with room among the `MaxDeadlineSpill` blocks from
    /// `due` on (never the current block or earlier: its bucket is handled already). Returns
    /// the bucket's block. Reads at most `MaxDeadlineSpill` buckets, writes one.
    ///
    /// A `best_effort` entry (a terminal order's removal) only goes into a bucket that is less
    /// than half full, so removals can never take the room that accept and report deadlines
    /// need: a churn of place-then-reject orders (cheap: the deposit comes back) cannot fill
    /// the buckets a day ahead and stall ordering.
    pub(crate) fn schedule(
        order_id: OrderId,
        due: BlockNumberFor<T>,
        best_effort: bool,
    ) -> Result<BlockNumberFor<T>, Error<T>> {
        let now = frame_system::Pallet::<T>::block_number();
        let room = if best_effort {
            T::MaxDeadlinesPerBlock::get() / 2
        } else {
            T::MaxDeadlinesPerBlock::get()
        } as usize;
        let mut at = due.max(now.saturating_add(One::one()));
        for _ in 0..T::MaxDeadlineSpill::get().max(1) {
            let pushed = Deadlines::<T>::try_mutate(at, |ids| {
                if ids.len() >= room {
                    return Err(());
                }
                ids.try_push(order_id).map_err(|_| ())
            });
            if pushed.is_ok() {
                return Ok(at);
            }
            at = at.saturating_add(One::one());
        }
        Err(Error::<T>::DeadlineQueueFull)
    }

    /// Take `order_id` out of the bucket of block `at` (if it is there).
    pub(crate) fn unschedule(order_id: OrderId, at: Option<BlockNumberFor<T>>) {
        let Some(at) = at else {
            return;
        };
        Deadlines::<T>::mutate_exists(at, |maybe| {
            if let Some(ids) = maybe {
                ids.retain(|id| *id != order_id);
                if ids.is_empty() {
                    *maybe = None;
                }
            }
        });
    }

    /// Move `order` (whose status changed) from its bucket to the bucket of its new deadline.
    /// An open order must be scheduled: fails with `DeadlineQueueFull` (changing nothing) when
    /// there is no room. A terminal order's removal is best effort: without room it stays
    /// unscheduled until `drop_order`.
    pub(crate) fn reschedule(order_id: OrderId, order: &mut Order<T>) -> DispatchResult {
        let due = Self::deadline_of(&order.status);
        let old = order.deadline;
        Self::unschedule(order_id, old);
        match Self::schedule(order_id, due, !order.status.is_open()) {
            Ok(at) => order.deadline = Some(at),
            Err(e) if order.status.is_open() => {
                // Put it back where it was: nothing changed.
                if let Some(old) = old {
                    let _ = Deadlines::<T>::try_mutate(old, |ids| ids.try_push(order_id));
                }
                return Err(e.into());
            }
            Err(_) => {
                log::warn!(
                    target: LOG_TARGET,
                    "no room to schedule the removal of order {order_id}; drop_order removes it",
                );
                order.deadline = None;
            }
        }
        Ok(())
    }
}
