//! # Orders pallet
//!
//! The order lifecycle of the Kaisar GPU cloud: a user orders GPUs (on a chosen worker or the
//! cheapest matching one), the payment is held in escrow, the worker's agent accepts and runs the
//! container, reports usage periodically and is paid pro rata from the escrow once each reported
//! period matures; cancellations and service failures are refunded (service failures in points
//! if the user prefers).
//!
//! ```text
//! place_order ──▶ Pending ──accept_order──▶ Running ──report_usage──▶ ... ──▶ Completed
//!                   │                          │            (final report) ╲
//!                   │                          │                            ▶ Settling ──▶ Completed
//!                   ├─ cancel_order ─▶ Cancelled (refund, order deposit forfeited)   (or Cancelled)
//!                   │                          ├─ cancel_order ─▶ Cancelled, or Settling while
//!                   │                          │                  reported periods are unmatured
//!                   │                          │                  (provider keeps what matured
//!                   │                          │                  reports earned, rest refunded)
//!                   └─ not accepted in time, reject_order, report_exit (provider's fault),
//!                      worker unavailable ─▶ Failed
//!                                              ├─ report_exit (provider's fault) ─▶ Failed
//!                                              └─ worker unavailable, no final report ─▶ Failed
//!                                   Settling ──── worker unavailable ─▶ Failed
//!
//! every terminal order ── OrderRetention blocks ──▶ removed (by the deadline index)
//! ```
//!
//! ## Maturing payments
//!
//! A usage report does not pay the provider at once: the reported period (from the last reported
//! block to the report's block) is queued in [`Unmatured`] and paid only when it matures, i.e.
//! [`MaturityDelay`] blocks after it was reported, or earlier when the worker passed a PoPW
//! consensus verdict at or after the report ([`Config::Verdicts`]). An agent that reports usage
//! for junk service is therefore paid only after the window in which a check (or a user's
//! dispute) can catch it: a failed verdict suspends the worker, and its orders are refunded
//! every period that had not matured, not just the unreported rest. Maturing is lazy and
//! bounded: matured periods are paid at the next report, on cancellation, on failure, by anyone
//! through [`Pallet::settle_order`], and by the deadline index for an order that ended
//! (`Settling`) with periods still unmatured. A worker's order list counts Settling orders
//! (so a failure reaches them), which hold no GPUs: `MaxOrdersPerWorker` must leave room for
//! them (up to `MaturityDelay` blocks of finished orders per worker). `MaturityDelay = 0` pays
//! reported time at once (no window).
//!
//! Nothing waits for a caller: every order sits in one bucket of the bounded deadline index
//! [`Deadlines`] (its accept deadline while Pending, its report deadline
//! `ends_at + ReportGracePeriod + 1` while Running, the maturity of its last period while
//! Settling, its removal `OrderRetention` blocks after it ended), and `on_initialize` handles the bucket of the current block. A full bucket spills
//! into the next blocks (at most `MaxDeadlineSpill` tries), so no single block's capacity is a
//! marketplace-wide cap. Placing an order holds a small `OrderDeposit`, forfeited to
//! `DepositForfeitDestination` if the user cancels it while Pending (the cost of griefing
//! workers and the deadline index), released on acceptance and on failures the provider
//! caused.
//!
//! Every order is listed under its user and its provider in [`OrdersOf`] (written at placement,
//! removed with the order): a wallet reads its own orders by key prefix.
//!
//! The pallet never reads another pallet's storage: workers come through
//! [`kaisar_primitives::WorkerRegistry`], money through [`kaisar_primitives::Escrow`], points
//! through [`kaisar_primitives::Points`], consensus verdicts through
//! [`kaisar_primitives::WorkerVerdicts`]. It implements
//! [`kaisar_primitives::WorkerAvailabilityHooks`] so that the registry can fail the orders of a
//! worker that went Offline or was Suspended, and refuse to deregister a worker whose orders
//! are still settling.
//!
//! Layout: thin calls here (origin checks, then `Self::do_x(..)`), logic in
//! `dispatchable_impls.rs`, escrow/points flows in `payments.rs`, maturing of reported usage in
//! `maturity_impls.rs`, the deadline index in `schedule_impls.rs`, time-driven work in
//! `tick_impls.rs`, quotes (dry runs of `place_order`, runtime API `OrdersApi::quote`) in
//! `quote.rs`, types in `types.rs`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod dispatchable_impls;
mod maturity_impls;
pub mod migrations;
mod payments;
pub mod quote;
pub mod runtime_api;
mod schedule_impls;
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

/// Container exits kept per order ([`ExitRecords`]).
pub const MAX_EXIT_RECORDS: u32 = 8;

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
    use frame_support::{
        pallet_prelude::*,
        traits::fungible::{Inspect, Mutate, MutateHold},
    };
    use frame_system::pallet_prelude::*;
    use kaisar_primitives::{Escrow, OrderId, Points, WorkerId, WorkerRegistry, WorkerVerdicts};
    use sp_runtime::Perbill;

    /// The in-code storage version. v1: `Order` has `deposit` and `deadline`; the deadline
    /// index (`Deadlines`, stored under the v0 `AcceptDeadlines` prefix) also holds report
    /// deadlines and removals after retention. v2: the account index [`OrdersOf`].
    pub(crate) const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// The native currency. Order payments move through [`Config::Escrow`]; this pallet
        /// only holds the order deposits (under [`HoldReason::OrderDeposit`]) and reads the
        /// promotion pot's spendable balance.
        type Currency: Inspect<Self::AccountId>
            + Mutate<Self::AccountId>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

        /// The runtime's hold reasons (this pallet's [`HoldReason`] is one of them).
        type RuntimeHoldReason: From<HoldReason>;

        /// Deposit held from the user for each Pending order: released when the order is
        /// accepted or fails through the provider (rejected, not accepted in time, worker
        /// unavailable); forfeited to [`Config::DepositForfeitDestination`] when the user
        /// cancels the order while it is Pending. What an account loses by flooding workers and
        /// the deadline index with orders it cancels. Zero disables it.
        #[pallet::constant]
        type OrderDeposit: Get<BalanceOf<Self>>;

        /// Receives forfeited order deposits (the treasury in the runtime). It must exist (or
        /// every forfeit must reach the existential deposit); should a transfer to it fail, the
        /// deposit is released to the user instead of blocking the cancellation.
        type DepositForfeitDestination: Get<Self::AccountId>;

        /// The largest part of an order's cost that points may pay (the rest the user pays in
        /// tokens). Limits what the promotion pot sponsors per order.
        #[pallet::constant]
        type MaxDiscount: Get<Perbill>;

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

        /// How many blocks a terminal order stays readable; then the deadline index removes it
        /// (or anyone may `drop_order` it).
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

        /// Most open orders one worker may have: Pending and Running ones (which hold its GPUs)
        /// and Settling ones (which hold none, for up to `MaturityDelay` blocks after they
        /// ended). Leave room beyond the GPU count for orders that settle.
        #[pallet::constant]
        type MaxOrdersPerWorker: Get<u32>;

        /// Most deadlines (accept, report, removal) one block's bucket of [`Deadlines`] holds,
        /// i.e. the most orders `on_initialize` handles per block.
        #[pallet::constant]
        type MaxDeadlinesPerBlock: Get<u32>;

        /// How many consecutive blocks' buckets are tried for a deadline, starting with its own
        /// block, before scheduling fails with `DeadlineQueueFull`: a full bucket delays some
        /// deadlines by a few blocks instead of blocking the marketplace.
        #[pallet::constant]
        type MaxDeadlineSpill: Get<u32>;

        /// Consensus verdicts on workers (the checking pallet; `()` for none): a reported
        /// period matures early once its worker passed a verdict at or after the report.
        type Verdicts: WorkerVerdicts<BlockNumberFor<Self>>;

        /// Told of every matured usage payment (its GPU-blocks: proof of delivery for the
        /// provider's rewards); `()` for none.
        type Rewards: kaisar_primitives::RewardAccrual<Self::AccountId>;

        /// The default of [`MaturityDelay`] (genesis may set another): how many blocks after a
        /// usage report the reported period is paid unless a passing verdict matures it
        /// earlier. Long enough for a check (or a dispute) of the worker to happen inside it.
        #[pallet::constant]
        type DefaultMaturityDelay: Get<BlockNumberFor<Self>>;

        /// Most unmatured periods queued per order ([`Unmatured`]); a report arriving when the
        /// queue is full is merged into the newest period (which then matures later).
        #[pallet::constant]
        type MaxUnmatured: Get<u32>;

        /// Weights of this pallet's calls and hooks.
        type WeightInfo: WeightInfo;

        /// Creates benchmark state through the other pallets.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: crate::BenchmarkHelper<Self::AccountId, BalanceOf<Self>>;
    }

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// The deposit of a Pending order (see [`Config::OrderDeposit`]).
        #[codec(index = 0)]
        OrderDeposit,
    }

    /// Every order, open or terminal (until removed after `OrderRetention`).
    #[pallet::storage]
    pub type Orders<T: Config> = StorageMap<_, Blake2_128Concat, OrderId, Order<T>>;

    /// The id the next order gets.
    #[pallet::storage]
    pub type NextOrderId<T> = StorageValue<_, OrderId, ValueQuery>;

    /// The orders of each account, as their user or as their provider (one entry when both):
    /// what a wallet lists as its orders, or a provider's earnings, read by key prefix without
    /// reading every order. An entry lives exactly as long as its order in [`Orders`].
    #[pallet::storage]
    pub type OrdersOf<T: Config> =
        StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, OrderId, (), OptionQuery>;

    /// The encrypted container access details of each Running order (opaque bytes, encrypted by
    /// the agent to the order's `user_public_key`). Removed when the order ends.
    #[pallet::storage]
    pub type AccessBlobs<T: Config> =
        StorageMap<_, Blake2_128Concat, OrderId, BoundedVec<u8, T::MaxAccessBlobLen>>;

    /// The latest container exits of each order (at most [`MAX_EXIT_RECORDS`], oldest
    /// dropped first), as its agent reported them; removed with the order.
    #[pallet::storage]
    pub type ExitRecords<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        OrderId,
        BoundedVec<ExitRecord<BlockNumberFor<T>>, ConstU32<MAX_EXIT_RECORDS>>,
        ValueQuery,
    >;

    /// The open (Pending, Running or Settling) orders of each worker. Settling orders hold no
    /// GPUs but stay listed until they settle, so that the worker becoming unavailable refunds
    /// their unmatured periods; they count towards `MaxOrdersPerWorker`.
    #[pallet::storage]
    pub type OrdersByWorker<T: Config> = StorageMap<
        _,
        Twox64Concat,
        WorkerId,
        BoundedVec<OrderId, T::MaxOrdersPerWorker>,
        ValueQuery,
    >;

    /// The deadline index: the orders `on_initialize(n)` looks at in block `n`. Every order is
    /// in exactly the bucket its `deadline` field names (none: a terminal order whose removal
    /// found no room; `drop_order` removes it). In its bucket's block, a Pending order whose
    /// `accept_by` has come fails (`NotAccepted`), a Running order past
    /// `ends_at + ReportGracePeriod` fails (`NoFinalReport`), a Settling order whose last
    /// period matured (`settles_at`) is settled, and a terminal order past its retention is
    /// removed. A bucket holds deadlines of its block and, when earlier blocks were
    /// full, of up to `MaxDeadlineSpill - 1` blocks before. (Stored under the v0 name.)
    #[pallet::storage]
    #[pallet::storage_prefix = "AcceptDeadlines"]
    pub type Deadlines<T: Config> = StorageMap<
        _,
        Twox64Concat,
        BlockNumberFor<T>,
        BoundedVec<OrderId, T::MaxDeadlinesPerBlock>,
        ValueQuery,
    >;

    /// How many blocks after a usage report the reported period matures (is paid to the
    /// provider) unless a passing verdict of the worker matures it earlier:
    /// [`Config::DefaultMaturityDelay`] unless the genesis config set another. Zero pays
    /// reported usage at once (no dispute window).
    #[pallet::storage]
    pub type MaturityDelay<T: Config> =
        StorageValue<_, BlockNumberFor<T>, ValueQuery, T::DefaultMaturityDelay>;

    /// The reported but not yet paid usage periods of each Running or Settling order, oldest
    /// first (absent: none). Each period's `owed` is cumulative, so paying the newest matured
    /// period pays all earlier ones. Removed when the order ends.
    #[pallet::storage]
    pub type Unmatured<T: Config> =
        StorageMap<_, Blake2_128Concat, OrderId, PeriodsOf<T>, ValueQuery>;

    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// [`MaturityDelay`] in blocks (`None`: [`Config::DefaultMaturityDelay`]). A
        /// development chain uses a short one so that payments arrive while a person watches;
        /// zero pays reported usage at once.
        pub maturity_delay: Option<BlockNumberFor<T>>,
        #[serde(skip)]
        pub _config: core::marker::PhantomData<T>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            if let Some(delay) = self.maturity_delay {
                MaturityDelay::<T>::put(delay);
            }
        }
    }

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
        /// The agent reported how a Running order's container stopped, or that a Pending
        /// order's container could not be started. A provider's fault (`ImageUnavailable`,
        /// `StartFailed`) also fails the order (`OrderFailed` with `ServiceFailed`, refunded as
        /// a service failure: in full for a Pending order).
        ContainerExited {
            /// The order.
            order_id: OrderId,
            /// How it stopped.
            kind: ExitKind,
            /// Restarts before this exit.
            restarts: u32,
        },
        /// The agent reported usage of a Running order. The reported period is paid when it
        /// matures (see `ProviderPaid`).
        UsageReported {
            /// The order.
            order_id: OrderId,
            /// The report's sequence number.
            seq: u32,
            /// The reported numbers.
            usage: UsageReport,
        },
        /// The provider was paid out of an order's escrow (for reported periods that matured).
        ProviderPaid {
            /// The order.
            order_id: OrderId,
            /// The provider paid.
            provider: T::AccountId,
            /// Amount paid now.
            amount: BalanceOf<T>,
        },
        /// An order ran to its end: its container stops and its GPUs are free. If reported
        /// periods are still unmatured, `OrderSettling` follows and the escrow stays open until
        /// `OrderSettled`.
        OrderCompleted {
            /// The order.
            order_id: OrderId,
        },
        /// The user cancelled an order: its container stops and its GPUs are free. If reported
        /// periods are still unmatured, `OrderSettling` follows and the escrow stays open until
        /// `OrderSettled`.
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
        /// An order ended for its worker (after `OrderCompleted` or `OrderCancelled`) with
        /// reported periods still unmatured: it is `Settling` until the last one matures.
        OrderSettling {
            /// The order.
            order_id: OrderId,
            /// The block at which its last period matures by time (it settles then by itself;
            /// earlier through `settle_order` after a passing verdict of the worker).
            settles_at: BlockNumberFor<T>,
        },
        /// The last unmatured period of a Settling order matured and was paid; what was left in
        /// its escrow (a cancelled order's unreported part) was refunded in tokens. The order is
        /// `Completed` or `Cancelled` now.
        OrderSettled {
            /// The order.
            order_id: OrderId,
        },
        /// The user cancelled a Pending order: its deposit went to `DepositForfeitDestination`.
        DepositForfeited {
            /// The order.
            order_id: OrderId,
            /// The user who paid the deposit.
            user: T::AccountId,
            /// The deposit forfeited.
            amount: BalanceOf<T>,
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
        /// The worker does not exist: the target of a new order, or the worker of an order
        /// (removed from the registry).
        WorkerNotFound,
        /// The target worker is not Active.
        WorkerNotActive,
        /// The target worker missed its heartbeat deadline (it is about to go Offline): it takes
        /// no new orders.
        WorkerOverdue,
        /// The target worker's provider paused it: it serves its open orders but takes no new
        /// ones.
        WorkerPaused,
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
        /// The runtime configures `BlocksPerHour` as zero, so no price can be computed (a
        /// misconfiguration that `integrity_test` forbids).
        ZeroBlocksPerHour,
        /// Points may not pay for an order whose worker the user provides or acts for as its
        /// agent (that would turn promotion-pot tokens into the user's own income). Place it
        /// with `max_points = 0`.
        SelfDealingDiscount,
        /// The promotion pot cannot sponsor the discount.
        PromotionPotExhausted,
        /// The deadline index has no room in the `MaxDeadlineSpill` blocks from the deadline
        /// on; try again in a later block.
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
        /// The user's spendable balance (free, not frozen, keeping the existential deposit)
        /// cannot cover the payment and the order deposit. Frozen funds (vesting, votes) cannot
        /// pay for orders.
        InsufficientFreeBalance,
        /// No reported period of the order has matured yet: nothing to settle.
        NothingToSettle,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn on_initialize(now: BlockNumberFor<T>) -> Weight {
            Self::do_process_deadlines(now)
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
            assert!(
                T::MaxDeadlineSpill::get() > 0,
                "MaxDeadlineSpill must not be zero"
            );
            assert!(T::MaxUnmatured::get() > 0, "MaxUnmatured must not be zero");
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
        ///   back as points. The discount is at most `MaxDiscount` of the cost, and refused
        ///   (`SelfDealingDiscount`) when the user is the worker's provider or agent. The
        ///   promotion pot sponsors the discount (it must be able to sponsor what all the offered
        ///   points are worth), so the provider is still paid in full.
        ///
        /// Holds `OrderDeposit` from the user until the order is accepted or fails (forfeited if
        /// the user cancels it while Pending). A target worker must take new orders: Active
        /// (`WorkerNotActive`), not paused (`WorkerPaused`), not overdue on heartbeats
        /// (`WorkerOverdue`).
        ///
        /// Weight: charged for a full scan of the registry's price index, the unread part
        /// refunded.
        ///
        /// Atomic: on any error nothing is held, reserved or spent.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::place_order(T::Workers::max_scanned()))]
        pub fn place_order(
            origin: OriginFor<T>,
            spec: OrderSpec<T>,
            max_points: BalanceOf<T>,
        ) -> DispatchResultWithPostInfo {
            let user = ensure_signed(origin)?;
            let (_, scanned) = Self::do_place_order(user, spec, max_points)?;
            Ok(Some(T::WeightInfo::place_order(scanned)).into())
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

        /// Report usage of a Running order: the blocks since the last report (up to `ends_at`)
        /// are queued as a period that is paid when it matures (`MaturityDelay` blocks from now,
        /// or earlier after a passing verdict of the worker); periods that matured meanwhile are
        /// paid now. A report at or after `ends_at` completes the order (or, with periods still
        /// unmatured, makes it Settling: over for the worker, the escrow open until they
        /// mature).
        ///
        /// - `origin`: signed; the agent of the order's worker.
        /// - `order_id`: the order.
        /// - `seq`: the report's sequence number: the previous one plus one (the first is 1).
        /// - `usage`: the measured usage, published in the `UsageReported` event;
        ///   `gpu_util_permille` at most 1000.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::report_usage().saturating_add(Pallet::<T>::accrual_weight()))]
        pub fn report_usage(
            origin: OriginFor<T>,
            order_id: OrderId,
            seq: u32,
            usage: UsageReport,
        ) -> DispatchResult {
            let agent = ensure_signed(origin)?;
            Self::do_report_usage(agent, order_id, seq, usage)
        }

        /// Cancel an order.
        ///
        /// - Pending, before `accept_by`: the payment is refunded in full and the order deposit
        ///   is forfeited to `DepositForfeitDestination` (the worker's GPUs were blocked for
        ///   nothing).
        /// - Running, up to `ends_at + ReportGracePeriod`: the provider keeps what the agent's
        ///   usage reports earned; nothing is paid for time the agent did not report. Reported
        ///   periods that matured are paid now; if some are still unmatured the order becomes
        ///   Settling (stopped for the worker; they are paid as they mature and the unreported
        ///   rest is refunded when the last one has), else the rest is refunded now.
        /// - Pending past `accept_by`, or Running past `ends_at + ReportGracePeriod` (the worker
        ///   missed its deadline, the deadline index has not got to it yet): the order fails as
        ///   `expire_order` would (`NotAccepted` / `NoFinalReport`), refunded as a service
        ///   failure, the deposit released.
        ///
        /// Token refunds are tokens; discount points come back as points.
        ///
        /// - `origin`: signed; the user who placed the order.
        /// - `order_id`: the order.
        #[pallet::call_index(4)]
        #[pallet::weight(
            T::WeightInfo::cancel_order()
                .max(T::WeightInfo::expire_order())
                .saturating_add(Pallet::<T>::accrual_weight())
        )]
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
        #[pallet::weight(T::WeightInfo::expire_order().saturating_add(Pallet::<T>::accrual_weight()))]
        pub fn expire_order(origin: OriginFor<T>, order_id: OrderId) -> DispatchResult {
            ensure_signed(origin)?;
            Self::do_expire_order(order_id)
        }

        /// Remove a terminal order from storage once `OrderRetention` blocks have passed since
        /// it ended. The deadline index removes terminal orders by itself; this is for one whose
        /// removal found no room in the index (or to remove it before the index gets to it).
        /// Free of fees when it succeeds.
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

        /// Pay the provider of a Running or Settling order every reported period that has
        /// matured (`MaturityDelay` blocks after its report, or after a passing verdict of the
        /// worker at or after its report). A Settling order whose last period matured becomes
        /// Completed (or Cancelled, the unreported rest refunded in tokens). Settling orders
        /// settle by themselves at their `settles_at`; this is for a provider who wants its
        /// money as soon as a verdict matured it, or for a Running order between reports.
        ///
        /// - `origin`: signed; anyone.
        /// - `order_id`: the order; Running or Settling (else `InvalidOrderState`), with at
        ///   least one matured period (else `NothingToSettle`).
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::settle_order().saturating_add(Pallet::<T>::accrual_weight()))]
        pub fn settle_order(origin: OriginFor<T>, order_id: OrderId) -> DispatchResult {
            ensure_signed(origin)?;
            Self::do_settle_order(order_id)
        }

        /// Report how an order's container stopped, or that it could not be started (the user
        /// sees it in [`ExitRecords`] and the `ContainerExited` event). A provider's fault
        /// (`ImageUnavailable`, `StartFailed`) fails the order as a service failure
        /// (`OrderFailed` with `ServiceFailed`): matured periods are paid, the rest refunded
        /// (as points where the user prefers).
        ///
        /// On a Pending order (its container could not be started at all, e.g. the ordered
        /// image is missing on the host) only a provider's fault may be reported: it is
        /// recorded like any exit, then the order fails and is refunded in full exactly as by
        /// `reject_order`, with the reason on-chain instead of in the agent's log.
        ///
        /// - `origin`: signed; the agent of the order's worker (else `NotWorkerAgent`).
        /// - `order_id`: a Running order, or a Pending order for `ImageUnavailable` /
        ///   `StartFailed`; else `InvalidOrderState` (a user-side kind such as `Exited` or
        ///   `OomKilled` on a Pending order, or any kind on an ended order).
        /// - `kind`: how it stopped; `restarts`: restarts before this exit.
        //
        // Weight: the worse of the two paths. The Pending path is `reject_order`'s (measured:
        // `fail_order` of a Pending order) plus one `ExitRecords` write of an empty list, which
        // the `report_exit` benchmark (a Running order failed with a matured and an unmatured
        // period, a full exit list, one payment and accrual) exceeds in every component; the
        // `max` keeps it covered should a re-measurement say otherwise, so no separate
        // benchmark case is needed.
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::report_exit()
            .max(T::WeightInfo::reject_order())
            .saturating_add(Pallet::<T>::accrual_weight()))]
        pub fn report_exit(
            origin: OriginFor<T>,
            order_id: OrderId,
            kind: ExitKind,
            restarts: u32,
        ) -> DispatchResult {
            let agent = ensure_signed(origin)?;
            Self::do_report_exit(agent, order_id, kind, restarts)
        }
    }
}

#[cfg(any(feature = "try-runtime", test))]
impl<T: Config> Pallet<T> {
    /// Check the pallet's invariants:
    /// - every open (Pending, Running, Settling) order's escrow holds `total_cost -
    ///   paid_so_far`, and a Running order's `paid_so_far` is exactly what its `paid_until` is
    ///   worth; terminal orders' escrows are empty and Completed orders paid the provider the
    ///   total cost;
    /// - `Unmatured` holds periods only of Running orders (possibly none) and Settling orders
    ///   (at least one), oldest first (`until` increasing, `reported_at` not decreasing), their
    ///   cumulative `owed` not decreasing, at least `paid_so_far` (nothing of them is paid yet:
    ///   the provider was paid no further than the periods that matured) and at most
    ///   `total_cost`; a Running order's periods are exactly what their `until` is worth and
    ///   lie after `paid_until`, up to `ends_at`;
    /// - only Pending orders have a deposit, and each user has exactly the deposits of its
    ///   orders on hold under [`HoldReason::OrderDeposit`];
    /// - `OrdersByWorker` lists exactly the open orders of each worker, `AccessBlobs` exactly
    ///   the Running orders, `OrdersOf` exactly every order under its user and its provider;
    /// - every open order has a deadline, every order with a deadline is in exactly that bucket
    ///   of `Deadlines` (in a future block, not before its due block) and the buckets hold
    ///   nothing else;
    /// - each known worker has exactly the GPUs of its Pending and Running orders reserved.
    pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
        use alloc::collections::{btree_map::BTreeMap, btree_set::BTreeSet};
        use frame_support::{
            ensure,
            traits::{fungible::InspectHold, Get},
        };
        use kaisar_primitives::{Escrow, WorkerRegistry};
        use sp_runtime::traits::{One, Saturating, Zero};

        let next_id = NextOrderId::<T>::get();
        let now = frame_system::Pallet::<T>::block_number();
        // worker -> (open order ids, reserved GPUs)
        let mut open_by_worker: BTreeMap<kaisar_primitives::WorkerId, (BTreeSet<u64>, u32)> =
            BTreeMap::new();
        let mut workers_seen = BTreeSet::new();
        // order -> the bucket it must be in
        let mut scheduled = BTreeMap::new();
        // user -> deposits its orders hold
        let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();

        let mut indexed = 0usize;
        for (id, order) in Orders::<T>::iter() {
            ensure!(id < next_id, "order id at or above NextOrderId");
            ensure!(
                OrdersOf::<T>::contains_key(&order.user, id),
                "order not indexed under its user"
            );
            ensure!(
                OrdersOf::<T>::contains_key(&order.provider, id),
                "order not indexed under its provider"
            );
            indexed += if order.user == order.provider { 1 } else { 2 };
            ensure!(
                order.paid_so_far <= order.total_cost,
                "provider paid more than the cost"
            );
            ensure!(
                order.discount <= order.total_cost,
                "discount above the cost"
            );
            workers_seen.insert(order.worker);
            let user_deposits = deposits.entry(order.user.clone()).or_default();
            *user_deposits = user_deposits.saturating_add(order.deposit);
            if !order.deposit.is_zero() {
                ensure!(
                    matches!(order.status, OrderStatus::Pending { .. }),
                    "deposit held for an order that is not pending"
                );
            }
            if let Some(at) = order.deadline {
                ensure!(at > now, "order's deadline bucket is in the past");
                scheduled.insert(id, at);
            }
            let escrowed = T::Escrow::balance(id);
            if order.status.is_open() {
                ensure!(order.deadline.is_some(), "open order without a deadline");
                ensure!(
                    escrowed == order.total_cost.saturating_sub(order.paid_so_far),
                    "open order's escrow is not total_cost - paid_so_far"
                );
                let entry = open_by_worker.entry(order.worker).or_default();
                entry.0.insert(id);
                if order.status.holds_gpus() {
                    entry.1 = entry.1.saturating_add(order.gpu_count);
                }
            } else {
                ensure!(escrowed.is_zero(), "terminal order still has escrow");
                ensure!(
                    !AccessBlobs::<T>::contains_key(id),
                    "terminal order has an access blob"
                );
            }
            let due = Self::deadline_of(&order.status);
            if let Some(at) = order.deadline {
                ensure!(at >= due, "order scheduled before its deadline");
            }
            let periods = Unmatured::<T>::get(id);
            if !periods.is_empty() {
                ensure!(
                    matches!(
                        order.status,
                        OrderStatus::Running { .. } | OrderStatus::Settling { .. }
                    ),
                    "unmatured periods of an order that is neither running nor settling"
                );
            }
            let mut previous: Option<
                &Period<frame_system::pallet_prelude::BlockNumberFor<T>, BalanceOf<T>>,
            > = None;
            for period in periods.iter() {
                ensure!(
                    period.owed >= order.paid_so_far,
                    "provider paid beyond the matured periods"
                );
                ensure!(
                    period.owed <= order.total_cost,
                    "unmatured period owes more than the cost"
                );
                ensure!(
                    period.reported_at <= now,
                    "unmatured period reported in the future"
                );
                if let Some(prev) = previous {
                    ensure!(prev.until < period.until, "unmatured periods not sorted");
                    ensure!(
                        prev.reported_at <= period.reported_at,
                        "unmatured periods' reports not in order"
                    );
                    ensure!(
                        prev.owed <= period.owed,
                        "unmatured periods' owed decreases"
                    );
                }
                previous = Some(period);
            }
            match order.status {
                OrderStatus::Pending { .. } => {
                    ensure!(
                        order.paid_so_far.is_zero(),
                        "pending order paid the provider"
                    );
                    ensure!(
                        !AccessBlobs::<T>::contains_key(id),
                        "pending order has an access blob"
                    );
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
                    if let Some(first) = periods.first() {
                        ensure!(
                            first.until > paid_until,
                            "unmatured period of a running order before paid_until"
                        );
                    }
                    for period in periods.iter() {
                        ensure!(
                            period.until <= ends_at,
                            "unmatured period beyond the order's end"
                        );
                        ensure!(
                            Self::owed_for(&order, period.until.saturating_sub(started_at))?
                                == period.owed,
                            "unmatured period's owed is not what its until is worth"
                        );
                    }
                    ensure!(
                        due == ends_at
                            .saturating_add(T::ReportGracePeriod::get())
                            .saturating_add(One::one()),
                        "running order's deadline is not its report deadline"
                    );
                }
                OrderStatus::Settling {
                    ended_at,
                    cancelled,
                    settles_at,
                } => {
                    let last = periods
                        .last()
                        .ok_or("settling order without unmatured periods")?;
                    ensure!(ended_at <= now, "settling order ended in the future");
                    ensure!(
                        last.reported_at <= settles_at,
                        "settling order settles before its last report"
                    );
                    if !cancelled {
                        ensure!(
                            last.owed == order.total_cost,
                            "completed settling order's periods do not reach the cost"
                        );
                    }
                    ensure!(
                        !AccessBlobs::<T>::contains_key(id),
                        "settling order has an access blob"
                    );
                }
                OrderStatus::Completed { .. } => ensure!(
                    order.paid_so_far == order.total_cost,
                    "completed order did not pay the total cost"
                ),
                OrderStatus::Cancelled { .. } | OrderStatus::Failed { .. } => {}
            }
        }

        // The account index lists every order under its user and provider, and nothing else.
        ensure!(
            OrdersOf::<T>::iter_keys().count() == indexed,
            "OrdersOf lists an order that is not there or not the account's"
        );

        for (user, expected) in deposits {
            let held = T::Currency::balance_on_hold(&HoldReason::OrderDeposit.into(), &user);
            ensure!(
                held == expected,
                "order deposits held differ from the deposits of the user's orders"
            );
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
        for (block, ids) in Deadlines::<T>::iter() {
            ensure!(!ids.is_empty(), "empty Deadlines bucket stored");
            ensure!(block > now, "Deadlines bucket of a past block");
            for id in ids.iter() {
                ensure!(
                    scheduled.get(id) == Some(&block),
                    "deadline bucket lists an order scheduled elsewhere"
                );
                queued += 1;
            }
        }
        ensure!(
            queued == scheduled.len(),
            "scheduled order missing from its deadline bucket"
        );

        for (id, periods) in Unmatured::<T>::iter() {
            ensure!(!periods.is_empty(), "empty Unmatured entry stored");
            ensure!(
                Orders::<T>::contains_key(id),
                "unmatured periods of an unknown order"
            );
        }

        for (id, records) in ExitRecords::<T>::iter() {
            ensure!(
                Orders::<T>::contains_key(id),
                "exit records of a removed order"
            );
            ensure!(!records.is_empty(), "an empty exit record list stored");
        }
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
