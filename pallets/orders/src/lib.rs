//! # Orders pallet
//!
//! The order lifecycle of the Kaisar GPU cloud: a user orders GPUs (on a chosen worker or the
//! cheapest matching one), the payment is held in escrow, the worker's agent accepts and runs the
//! container, reports usage periodically and is paid pro rata from the escrow; cancellations and
//! service failures are refunded (service failures in points if the user prefers).
//!
//! ```text
//! place_order ──▶ Pending ──accept_order──▶ Running ──report_usage──▶ ... ──▶ Completed
//!                   │                          │
//!                   ├─ cancel_order ─▶ Cancelled (full refund, tokens)
//!                   │                          ├─ cancel_order ─▶ Cancelled (provider paid up
//!                   │                          │                  to now, rest refunded)
//!                   └─ not accepted in time, reject_order, worker unavailable ─▶ Failed
//!                                              └─ worker unavailable, no final report ─▶ Failed
//! ```
//!
//! The pallet never reads another pallet's storage: workers come through
//! [`kaisar_primitives::WorkerRegistry`], money through [`kaisar_primitives::Escrow`], points
//! through [`kaisar_primitives::Points`]. It implements
//! [`kaisar_primitives::WorkerAvailabilityHooks`] so that the registry can fail the orders of a
//! worker that went Offline or was Suspended.
//!
//! Layout: thin calls here (origin checks, then `Self::do_x(..)`), logic in
//! `dispatchable_impls.rs`, escrow/points flows in `payments.rs`, time-driven work in
//! `tick_impls.rs`, types in `types.rs`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod dispatchable_impls;
mod payments;
mod tick_impls;
pub mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use types::*;
pub use weights::WeightInfo;

/// Log target of this pallet.
pub const LOG_TARGET: &str = "runtime::orders";

/// What the benchmarks need from the runtime: ways to create the state that the orders pallet
/// only reaches through its traits.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId, Balance> {
    /// Register a worker of `provider` acting through `agent` with `gpus` GPUs of `model` at
    /// `price` per GPU per hour, make it `Active` and return its id.
    fn active_worker(
        provider: &AccountId,
        agent: &AccountId,
        model: kaisar_primitives::GpuModel,
        gpus: u32,
        price: Balance,
    ) -> kaisar_primitives::WorkerId;
    /// Give `who` `amount` free tokens.
    fn fund(who: &AccountId, amount: Balance);
    /// Give `who` `amount` points, and make sure the promotion pot can sponsor that many.
    fn give_points(who: &AccountId, amount: Balance);
    /// Set whether `who` wants service-failure refunds as points.
    fn set_prefers_points(who: &AccountId, prefers_points: bool);
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{pallet_prelude::*, traits::fungible::Inspect};
    use frame_system::pallet_prelude::*;
    use kaisar_primitives::{Escrow, OrderId, Points, WorkerId, WorkerRegistry};

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The native currency; only read (for the balance type and the promotion pot's
        /// spendable balance). Money moves through [`Config::Escrow`].
        type Currency: Inspect<Self::AccountId>;

        /// The worker registry.
        type Workers: WorkerRegistry<Self::AccountId, BalanceOf<Self>>;

        /// The escrow that holds order payments. Escrow ids are order ids.
        type Escrow: Escrow<Self::AccountId, BalanceOf<Self>>;

        /// The points ledger (discounts, refunds as points) and its promotion pot.
        type Points: Points<Self::AccountId, BalanceOf<Self>>;

        /// Blocks per hour: prices are per GPU per hour, durations are in blocks.
        #[pallet::constant]
        type BlocksPerHour: Get<BlockNumberFor<Self>>;

        /// How many blocks a worker's agent has to accept an order.
        #[pallet::constant]
        type AcceptTimeout: Get<BlockNumberFor<Self>>;

        /// How many blocks after `ends_at` the agent has to send its final usage report.
        #[pallet::constant]
        type ReportGracePeriod: Get<BlockNumberFor<Self>>;

        /// How many blocks a terminal order stays readable before `drop_order` may remove it.
        #[pallet::constant]
        type OrderRetention: Get<BlockNumberFor<Self>>;

        /// Shortest order, in blocks.
        #[pallet::constant]
        type MinDuration: Get<BlockNumberFor<Self>>;

        /// Longest order, in blocks.
        #[pallet::constant]
        type MaxDuration: Get<BlockNumberFor<Self>>;

        /// Longest container image reference, in bytes.
        #[pallet::constant]
        type MaxImageLen: Get<u32>;

        /// Largest encrypted access blob, in bytes.
        #[pallet::constant]
        type MaxAccessBlobLen: Get<u32>;

        /// Most container ports one order may expose.
        #[pallet::constant]
        type MaxPorts: Get<u32>;

        /// Most GPUs one order may ask for.
        #[pallet::constant]
        type MaxGpusPerOrder: Get<u32>;

        /// Most open orders one worker may have.
        #[pallet::constant]
        type MaxOrdersPerWorker: Get<u32>;

        /// Most orders whose accept deadline falls in the same block.
        #[pallet::constant]
        type MaxDeadlinesPerBlock: Get<u32>;

        /// Weights of this pallet's calls and hooks.
        type WeightInfo: WeightInfo;

        /// Creates benchmark state through the other pallets.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: crate::BenchmarkHelper<Self::AccountId, BalanceOf<Self>>;
    }

    /// Every order, open or terminal (until dropped with `drop_order`).
    #[pallet::storage]
    pub type Orders<T: Config> = StorageMap<_, Blake2_128Concat, OrderId, Order<T>>;

    /// The id the next order gets.
    #[pallet::storage]
    pub type NextOrderId<T> = StorageValue<_, OrderId, ValueQuery>;

    /// The encrypted container access details of each Running order (opaque bytes, encrypted by
    /// the agent to the order's `user_public_key`). Removed when the order ends.
    #[pallet::storage]
    pub type AccessBlobs<T: Config> =
        StorageMap<_, Blake2_128Concat, OrderId, BoundedVec<u8, T::MaxAccessBlobLen>>;

    /// The open (Pending or Running) orders of each worker.
    #[pallet::storage]
    pub type OrdersByWorker<T: Config> = StorageMap<
        _,
        Twox64Concat,
        WorkerId,
        BoundedVec<OrderId, T::MaxOrdersPerWorker>,
        ValueQuery,
    >;

    /// Pending orders by accept deadline: `on_initialize(n)` fails those still Pending in `n`.
    #[pallet::storage]
    pub type AcceptDeadlines<T: Config> = StorageMap<
        _,
        Twox64Concat,
        BlockNumberFor<T>,
        BoundedVec<OrderId, T::MaxDeadlinesPerBlock>,
        ValueQuery,
    >;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// An order was placed and its payment escrowed.
        OrderPlaced {
            /// The new order.
            order_id: OrderId,
            /// Who placed it.
            user: T::AccountId,
            /// The worker it was matched to.
            worker: WorkerId,
            /// Its total price.
            total_cost: BalanceOf<T>,
            /// The part paid with points (sponsored by the promotion pot).
            discount: BalanceOf<T>,
        },
        /// The worker's agent accepted an order; it runs now.
        OrderAccepted {
            /// The order.
            order_id: OrderId,
            /// Block at which it ends.
            ends_at: BlockNumberFor<T>,
        },
        /// The agent reported usage of a Running order.
        UsageReported {
            /// The order.
            order_id: OrderId,
            /// The report's sequence number.
            seq: u32,
            /// The reported numbers.
            usage: UsageReport,
        },
        /// The provider was paid out of an order's escrow.
        ProviderPaid {
            /// The order.
            order_id: OrderId,
            /// The provider paid.
            provider: T::AccountId,
            /// Amount paid now.
            amount: BalanceOf<T>,
        },
        /// An order ran to its end.
        OrderCompleted {
            /// The order.
            order_id: OrderId,
        },
        /// The user cancelled an order.
        OrderCancelled {
            /// The order.
            order_id: OrderId,
        },
        /// An order failed.
        OrderFailed {
            /// The order.
            order_id: OrderId,
            /// Why.
            reason: FailureReason,
        },
        /// Part of an order's escrow went back to the user.
        OrderRefunded {
            /// The order.
            order_id: OrderId,
            /// Tokens released back to the user.
            tokens: BalanceOf<T>,
            /// Points given to the user (restored discount points plus refund points).
            points: BalanceOf<T>,
        },
        /// A terminal order was removed from storage.
        OrderDropped {
            /// The order.
            order_id: OrderId,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// No order with this id.
        UnknownOrder,
        /// The container image reference is empty.
        EmptyImage,
        /// `gpu_count` is zero or above `MaxGpusPerOrder`.
        InvalidGpuCount,
        /// `duration` is below `MinDuration`.
        DurationTooShort,
        /// `duration` is above `MaxDuration`.
        DurationTooLong,
        /// The target worker does not exist.
        WorkerNotFound,
        /// The target worker is not Active.
        WorkerNotActive,
        /// The target worker has another GPU model.
        GpuModelMismatch,
        /// The target worker has fewer free GPUs than asked for.
        NotEnoughFreeGpus,
        /// The target worker's price is above `max_price_per_gpu_hour`.
        PriceTooHigh,
        /// No Active worker matches the model, GPU count and price.
        NoMatchingWorker,
        /// The order's total cost is zero (a worker priced at zero); nothing to escrow.
        ZeroCost,
        /// An arithmetic overflow (cost, block number or id).
        Overflow,
        /// The promotion pot cannot sponsor the discount.
        PromotionPotExhausted,
        /// Too many orders already have their accept deadline in that block.
        DeadlineQueueFull,
        /// The worker already has `MaxOrdersPerWorker` open orders.
        WorkerOrderLimit,
        /// The caller is not the agent of the order's worker.
        NotWorkerAgent,
        /// The caller is not the user who placed the order.
        NotOrderOwner,
        /// The order is not in a state that allows this.
        InvalidOrderState,
        /// The accept deadline of the order has passed.
        AcceptDeadlinePassed,
        /// The report's sequence number is not the last one plus one (replay or out of order).
        StaleReport,
        /// The order's report window (`ends_at + ReportGracePeriod`) has closed.
        ReportDeadlinePassed,
        /// The order cannot be expired yet.
        NotExpired,
        /// The order's retention period has not passed yet.
        TooEarly,
        /// The usage report is out of range (`gpu_util_permille` above 1000).
        InvalidUsageReport,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn on_initialize(now: BlockNumberFor<T>) -> Weight {
            Self::do_expire_accept_deadlines(now)
        }

        fn integrity_test() {
            assert!(
                !T::BlocksPerHour::get().is_zero(),
                "BlocksPerHour must not be zero"
            );
            assert!(
                !T::AcceptTimeout::get().is_zero(),
                "AcceptTimeout must not be zero"
            );
            assert!(
                !T::MinDuration::get().is_zero(),
                "MinDuration must not be zero"
            );
            assert!(
                T::MinDuration::get() <= T::MaxDuration::get(),
                "MinDuration must not exceed MaxDuration"
            );
            assert!(
                T::MaxGpusPerOrder::get() > 0,
                "MaxGpusPerOrder must not be zero"
            );
            assert!(
                T::MaxOrdersPerWorker::get() > 0,
                "MaxOrdersPerWorker must not be zero"
            );
            assert!(
                T::MaxDeadlinesPerBlock::get() > 0,
                "MaxDeadlinesPerBlock must not be zero"
            );
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Order GPUs: match a worker, reserve its GPUs, spend points for a discount and escrow
        /// the payment. The order is Pending until the worker's agent accepts it (within
        /// `AcceptTimeout` blocks).
        ///
        /// - `origin`: signed; the user, who pays.
        /// - `spec`: what to run and where; `spec.target_worker = None` picks the cheapest Active
        ///   worker with the model, enough free GPUs and a price at most
        ///   `spec.max_price_per_gpu_hour`.
        /// - `max_points`: the most points to spend as a discount. `min(max_points, points held)`
        ///   are offered to the points pallet, which converts them to a discount in tokens at its
        ///   rate; a discount above the order's cost is capped at the cost and the excess given
        ///   back as points. The promotion pot sponsors the discount (it must be able to sponsor
        ///   what all the offered points are worth), so the provider is still paid in full.
        ///
        /// Atomic: on any error nothing is held, reserved or spent.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::place_order())]
        pub fn place_order(
            origin: OriginFor<T>,
            spec: OrderSpec<T>,
            max_points: BalanceOf<T>,
        ) -> DispatchResult {
            let user = ensure_signed(origin)?;
            Self::do_place_order(user, spec, max_points).map(|_| ())
        }

        /// Accept a Pending order: the container runs from now for the order's duration.
        ///
        /// - `origin`: signed; the agent of the order's worker, which must be Active.
        /// - `order_id`: the order.
        /// - `access`: the container access details (host, ports, credentials) encrypted by the
        ///   agent to the order's `user_public_key`; stored as opaque bytes until the order ends.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::accept_order())]
        pub fn accept_order(
            origin: OriginFor<T>,
            order_id: OrderId,
            access: BoundedVec<u8, T::MaxAccessBlobLen>,
        ) -> DispatchResult {
            let agent = ensure_signed(origin)?;
            Self::do_accept_order(agent, order_id, access)
        }

        /// Reject a Pending order: it fails and is refunded in full (as a service failure).
        ///
        /// - `origin`: signed; the agent of the order's worker.
        /// - `order_id`: the order.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::reject_order())]
        pub fn reject_order(origin: OriginFor<T>, order_id: OrderId) -> DispatchResult {
            let agent = ensure_signed(origin)?;
            Self::do_reject_order(agent, order_id)
        }

        /// Report usage of a Running order; pays the provider for the blocks served since the
        /// last payment. A report at or after `ends_at` completes the order.
        ///
        /// - `origin`: signed; the agent of the order's worker.
        /// - `order_id`: the order.
        /// - `seq`: the report's sequence number: the previous one plus one (the first is 1).
        /// - `usage`: the measured usage, published in the `UsageReported` event;
        ///   `gpu_util_permille` at most 1000.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::report_usage())]
        pub fn report_usage(
            origin: OriginFor<T>,
            order_id: OrderId,
            seq: u32,
            usage: UsageReport,
        ) -> DispatchResult {
            let agent = ensure_signed(origin)?;
            Self::do_report_usage(agent, order_id, seq, usage)
        }

        /// Cancel an order. Pending: refunded in full. Running: the provider is paid for the
        /// blocks served so far, the rest is refunded. Refunds are tokens; discount points come
        /// back as points.
        ///
        /// - `origin`: signed; the user who placed the order.
        /// - `order_id`: the order.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::cancel_order())]
        pub fn cancel_order(origin: OriginFor<T>, order_id: OrderId) -> DispatchResult {
            let user = ensure_signed(origin)?;
            Self::do_cancel_order(user, order_id)
        }

        /// Fail an order whose worker missed a deadline: a Pending order at or past its
        /// `accept_by`, or a Running order past `ends_at + ReportGracePeriod` without a final
        /// report. The provider keeps what it was paid; the rest is refunded as a service
        /// failure.
        ///
        /// - `origin`: signed; anyone.
        /// - `order_id`: the order.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::expire_order())]
        pub fn expire_order(origin: OriginFor<T>, order_id: OrderId) -> DispatchResult {
            ensure_signed(origin)?;
            Self::do_expire_order(order_id)
        }

        /// Remove a terminal order from storage once `OrderRetention` blocks have passed since
        /// it ended. Free of fees when it succeeds.
        ///
        /// - `origin`: signed; anyone.
        /// - `order_id`: the order.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::drop_order())]
        pub fn drop_order(origin: OriginFor<T>, order_id: OrderId) -> DispatchResultWithPostInfo {
            ensure_signed(origin)?;
            Self::do_drop_order(order_id)?;
            Ok(Pays::No.into())
        }
    }
}

#[cfg(any(feature = "try-runtime", test))]
impl<T: Config> Pallet<T> {
    /// Check the pallet's invariants:
    /// - every open order's escrow holds `total_cost - paid_so_far`, and a Running order's
    ///   `paid_so_far` is exactly what its `paid_until` is worth; terminal orders' escrows are
    ///   empty and Completed orders paid the provider the total cost;
    /// - `OrdersByWorker` lists exactly the open orders of each worker, `AcceptDeadlines` exactly
    ///   the Pending orders under their `accept_by`, `AccessBlobs` exactly the Running orders;
    /// - each known worker has exactly the GPUs of its open orders reserved.
    pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
        use alloc::collections::{btree_map::BTreeMap, btree_set::BTreeSet};
        use frame_support::ensure;
        use kaisar_primitives::{Escrow, WorkerRegistry};
        use sp_runtime::traits::{Saturating, Zero};

        let next_id = NextOrderId::<T>::get();
        let now = frame_system::Pallet::<T>::block_number();
        // worker -> (open order ids, reserved GPUs)
        let mut open_by_worker: BTreeMap<kaisar_primitives::WorkerId, (BTreeSet<u64>, u32)> =
            BTreeMap::new();
        let mut workers_seen = BTreeSet::new();
        let mut pending = BTreeMap::new();

        for (id, order) in Orders::<T>::iter() {
            ensure!(id < next_id, "order id at or above NextOrderId");
            ensure!(
                order.paid_so_far <= order.total_cost,
                "provider paid more than the cost"
            );
            ensure!(
                order.discount <= order.total_cost,
                "discount above the cost"
            );
            workers_seen.insert(order.worker);
            let escrowed = T::Escrow::balance(id);
            if order.status.is_open() {
                ensure!(
                    escrowed == order.total_cost.saturating_sub(order.paid_so_far),
                    "open order's escrow is not total_cost - paid_so_far"
                );
                let entry = open_by_worker.entry(order.worker).or_default();
                entry.0.insert(id);
                entry.1 = entry.1.saturating_add(order.gpu_count);
            } else {
                ensure!(escrowed.is_zero(), "terminal order still has escrow");
                ensure!(
                    !AccessBlobs::<T>::contains_key(id),
                    "terminal order has an access blob"
                );
            }
            match order.status {
                OrderStatus::Pending { accept_by } => {
                    ensure!(
                        order.paid_so_far.is_zero(),
                        "pending order paid the provider"
                    );
                    ensure!(
                        !AccessBlobs::<T>::contains_key(id),
                        "pending order has an access blob"
                    );
                    pending.insert(id, accept_by);
                }
                OrderStatus::Running {
                    started_at,
                    ends_at,
                    paid_until,
                    ..
                } => {
                    ensure!(
                        ends_at == started_at.saturating_add(order.duration),
                        "ends_at is not started_at + duration"
                    );
                    ensure!(
                        started_at <= paid_until && paid_until <= ends_at,
                        "paid_until outside the running period"
                    );
                    ensure!(
                        Self::owed_for(&order, paid_until.saturating_sub(started_at))?
                            == order.paid_so_far,
                        "paid_so_far is not what paid_until is worth"
                    );
                    ensure!(
                        AccessBlobs::<T>::contains_key(id),
                        "running order without access blob"
                    );
                }
                OrderStatus::Completed { .. } => ensure!(
                    order.paid_so_far == order.total_cost,
                    "completed order did not pay the total cost"
                ),
                OrderStatus::Cancelled { .. } | OrderStatus::Failed { .. } => {}
            }
        }

        for (worker, ids) in OrdersByWorker::<T>::iter() {
            ensure!(!ids.is_empty(), "empty OrdersByWorker entry stored");
            let listed: BTreeSet<u64> = ids.iter().copied().collect();
            ensure!(
                listed.len() == ids.len(),
                "OrdersByWorker lists an order twice"
            );
            let open = open_by_worker.get(&worker).map(|e| &e.0);
            ensure!(
                Some(&listed) == open,
                "OrdersByWorker differs from the open orders"
            );
        }
        for worker in open_by_worker.keys() {
            ensure!(
                OrdersByWorker::<T>::contains_key(worker),
                "worker with open orders missing from OrdersByWorker"
            );
        }

        let mut queued = 0usize;
        for (block, ids) in AcceptDeadlines::<T>::iter() {
            ensure!(!ids.is_empty(), "empty AcceptDeadlines bucket stored");
            ensure!(block > now, "AcceptDeadlines bucket of a past block");
            for id in ids.iter() {
                ensure!(
                    pending.get(id) == Some(&block),
                    "queued deadline of a non-pending order"
                );
                queued += 1;
            }
        }
        ensure!(
            queued == pending.len(),
            "pending order missing from AcceptDeadlines"
        );

        for (id, _) in AccessBlobs::<T>::iter() {
            ensure!(
                matches!(
                    Orders::<T>::get(id).map(|o| o.status),
                    Some(OrderStatus::Running { .. })
                ),
                "access blob of an order that is not running"
            );
        }

        for worker in workers_seen {
            if let Some(summary) = T::Workers::worker(worker) {
                let reserved = summary.gpu_count.saturating_sub(summary.free_gpus);
                let expected = open_by_worker.get(&worker).map(|e| e.1).unwrap_or(0);
                ensure!(
                    reserved == expected,
                    "worker's reserved GPUs differ from its open orders"
                );
            }
        }
        Ok(())
    }
}
