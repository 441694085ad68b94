//! # Worker registry
//!
//! Providers register *workers* (one GPU machine each: a PC, a laptop, a server or a bare-metal
//! box) with their hardware, region, price and agent. The registry:
//!
//! - charges a registration fee (paid to a treasury account or burnt, see
//!   [`Config::FeeDestination`]) and holds a deposit per worker under
//!   [`HoldReason::WorkerDeposit`];
//! - tracks each worker's lifecycle ([`WorkerStatus`]): `PendingVerification` until the verifier
//!   (governance today, the PoPW pallet later, through [`WorkerVerification`]) attests it, then
//!   `Active` while its agent heartbeats, `Offline` when the heartbeat stops, `Suspended` by the
//!   verifier, `Deregistering` while the deposit unbonds;
//! - keeps a bounded, price-sorted index of `Active` workers per GPU model ([`PriceIndex`]) so
//!   that `pallet-orders` finds the cheapest worker without scanning all of them;
//! - counts the GPUs reserved by orders ([`kaisar_primitives::WorkerRegistry`]).
//!
//! ## Heartbeats and the sweep
//!
//! An agent must call [`Pallet::heartbeat`] at least every [`Config::HeartbeatTimeout`] blocks.
//! A worker whose last heartbeat is older than that is *overdue*: the next time it is looked at
//! it goes `Offline`, leaves the price index and [`Config::AvailabilityHooks`] is told (so the
//! orders running on it can be failed). Two things look at workers:
//!
//! - `on_initialize` visits at most [`Config::MaxSweepPerBlock`] workers per block, round-robin
//!   over [`Workers`] from a stored cursor ([`SweepCursor`]). With `N` workers every worker is
//!   visited at least once every `ceil(N / MaxSweepPerBlock)` blocks.
//! - anyone may call [`Pallet::report_offline`] to take one overdue worker offline at once (free
//!   of fees when it succeeds).
//!
//! ## The price index
//!
//! [`PriceIndex`] holds, for each GPU model, up to [`Config::MaxIndexedPerModel`] `Active`
//! workers sorted ascending by `(price, worker id)`. When the index of a model is full, a
//! worker strictly cheaper than the most expensive indexed one evicts it
//! ([`Event::EvictedFromIndex`]); otherwise the worker is not indexed
//! ([`Event::WorkerNotIndexed`]). A worker left out of the index is still `Active` and can be
//! rented by naming it explicitly; it offers itself to the index again on each heartbeat and
//! each price update, so it rejoins as soon as there is room or it is cheap enough.
//!
//! ## Storage for dApps
//!
//! [`Workers`] (by id) is the source of truth; [`WorkerByAgent`] and [`GpuOwner`] map an agent
//! key and a GPU UUID hash to their worker; [`PriceIndex`] lists the cheapest `Active` workers of
//! each model.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod dispatchable_impls;
mod impls;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
mod tick_impls;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

/// The log target of this pallet.
pub const LOG_TARGET: &str = "runtime::worker-registry";

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{
        dispatch::PostDispatchInfo,
        pallet_prelude::*,
        traits::fungible::{Inspect, Mutate, MutateHold},
    };
    use frame_system::pallet_prelude::*;
    use kaisar_primitives::WorkerAvailabilityHooks;
    use sp_core::H256;

    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Configuration of the pallet. `RuntimeEvent` is not declared: in this release the
    /// `frame_system::Config<RuntimeEvent: From<Event<Self>>>` bound is added by the macro.
    #[pallet::config]
    pub trait Config: frame_system::Config {
        /// The native currency: fees are transferred or burnt, deposits are held.
        type Currency: Inspect<Self::AccountId>
            + Mutate<Self::AccountId>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

        /// The overarching hold reason.
        type RuntimeHoldReason: From<HoldReason>;

        /// Fee charged (not refundable) for each registration.
        #[pallet::constant]
        type RegistrationFee: Get<BalanceOf<Self>>;

        /// Deposit held for each registered worker until it is withdrawn.
        #[pallet::constant]
        type WorkerDeposit: Get<BalanceOf<Self>>;

        /// Where registration fees go: `Some(account)` (a treasury) or `None` to burn them
        /// (total issuance drops by the fee). The account should exist (hold at least the
        /// existential deposit), or a fee below the existential deposit cannot be paid into it.
        type FeeDestination: Get<Option<Self::AccountId>>;

        /// Who may verify and suspend workers (governance today, PoPW later).
        type VerifierOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Told when a worker goes `Offline` or is `Suspended`.
        type AvailabilityHooks: WorkerAvailabilityHooks;

        /// A worker whose last heartbeat is more than this many blocks old is overdue and goes
        /// `Offline`.
        #[pallet::constant]
        type HeartbeatTimeout: Get<BlockNumberFor<Self>>;

        /// Blocks between `deregister_worker` and the earliest `withdraw_deposit`.
        #[pallet::constant]
        type UnbondingPeriod: Get<BlockNumberFor<Self>>;

        /// Most workers the `on_initialize` sweep looks at per block.
        #[pallet::constant]
        type MaxSweepPerBlock: Get<u32>;

        /// Most GPUs in one worker.
        #[pallet::constant]
        type MaxGpusPerWorker: Get<u32>;

        /// Longest region tag, in bytes.
        #[pallet::constant]
        type MaxRegionLen: Get<u32>;

        /// Longest agent endpoint, in bytes.
        #[pallet::constant]
        type MaxEndpointLen: Get<u32>;

        /// Most workers in the price index of one GPU model.
        #[pallet::constant]
        type MaxIndexedPerModel: Get<u32>;

        /// Weights of this pallet's calls and hooks.
        type WeightInfo: WeightInfo;
    }

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// The deposit of a registered worker, held from its provider.
        #[codec(index = 0)]
        WorkerDeposit,
    }

    /// Every registered worker, by id. Removed only by `withdraw_deposit`.
    #[pallet::storage]
    pub type Workers<T: Config> = StorageMap<_, Twox64Concat, WorkerId, WorkerInfoOf<T>>;

    /// The id the next registered worker gets.
    #[pallet::storage]
    pub type NextWorkerId<T> = StorageValue<_, WorkerId, ValueQuery>;

    /// Which worker each physical GPU (by `uuid_hash`) belongs to. A GPU backs one worker at a
    /// time; the entry goes when the worker's deposit is withdrawn.
    #[pallet::storage]
    pub type GpuOwner<T> = StorageMap<_, Blake2_128Concat, H256, WorkerId>;

    /// Which worker each agent key acts for. One worker per agent; the entry goes when the
    /// worker's deposit is withdrawn.
    #[pallet::storage]
    pub type WorkerByAgent<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, WorkerId>;

    /// Per GPU model, up to `MaxIndexedPerModel` `Active` workers as `(price_per_gpu_hour,
    /// worker id)`, sorted ascending by price then id. See the crate docs for eviction.
    #[pallet::storage]
    pub type PriceIndex<T: Config> =
        StorageMap<_, Twox64Concat, GpuModel, PriceIndexOf<T>, ValueQuery>;

    /// The last worker the sweep looked at; the next sweep continues after it. `None`: start
    /// from the beginning of `Workers`.
    #[pallet::storage]
    pub type SweepCursor<T> = StorageValue<_, WorkerId>;

    /// Events of this pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A worker was registered and awaits verification.
        WorkerRegistered {
            /// The new worker.
            worker_id: WorkerId,
            /// Its provider.
            provider: T::AccountId,
            /// Its agent key.
            agent: T::AccountId,
            /// Model of its GPUs.
            gpu_model: GpuModel,
            /// Number of its GPUs.
            gpu_count: u32,
            /// Asking price per GPU per hour.
            price_per_gpu_hour: BalanceOf<T>,
            /// Registration fee charged (to `FeeDestination`, or burnt).
            fee: BalanceOf<T>,
            /// Deposit held.
            deposit: BalanceOf<T>,
        },
        /// The verifier attested a worker. It is `Active`, or `Offline` if its last heartbeat
        /// is already overdue (its next heartbeat makes it `Active`).
        WorkerVerified {
            /// The worker.
            worker_id: WorkerId,
            /// Its new status.
            status: WorkerStatus,
        },
        /// The verifier suspended a worker.
        WorkerSuspended {
            /// The worker.
            worker_id: WorkerId,
        },
        /// The agent of a worker sent a heartbeat.
        Heartbeat {
            /// The worker.
            worker_id: WorkerId,
            /// Free GPUs the agent sees.
            free_gpus_reported: u32,
        },
        /// An `Offline` worker heartbeated again and is `Active`.
        WorkerBackOnline {
            /// The worker.
            worker_id: WorkerId,
        },
        /// An overdue worker went `Offline`.
        WorkerWentOffline {
            /// The worker.
            worker_id: WorkerId,
            /// Who reported it (`None`: the per-block sweep).
            reporter: Option<T::AccountId>,
        },
        /// A provider changed a worker's price or endpoint.
        WorkerUpdated {
            /// The worker.
            worker_id: WorkerId,
            /// Its price now.
            price_per_gpu_hour: BalanceOf<T>,
            /// Whether the endpoint changed.
            endpoint_updated: bool,
        },
        /// A worker started unbonding; its deposit can be withdrawn from `unlock_at`.
        WorkerDeregistering {
            /// The worker.
            worker_id: WorkerId,
            /// First block at which `withdraw_deposit` succeeds.
            unlock_at: BlockNumberFor<T>,
        },
        /// A deregistered worker's deposit was released and the worker removed.
        DepositWithdrawn {
            /// The removed worker.
            worker_id: WorkerId,
            /// Its provider, who got the deposit back.
            provider: T::AccountId,
            /// The deposit released.
            deposit: BalanceOf<T>,
        },
        /// A cheaper worker took the place of the most expensive one in a full price index.
        EvictedFromIndex {
            /// The worker dropped from the index (still `Active`).
            worker_id: WorkerId,
            /// The index it left.
            gpu_model: GpuModel,
            /// The cheaper worker that took its place.
            by: WorkerId,
        },
        /// An `Active` worker could not enter its model's full price index (not cheaper than
        /// any indexed worker). It can still be rented by naming it explicitly.
        WorkerNotIndexed {
            /// The worker.
            worker_id: WorkerId,
            /// Its GPU model.
            gpu_model: GpuModel,
        },
        /// GPUs of a worker were reserved for an order.
        GpusReserved {
            /// The worker.
            worker_id: WorkerId,
            /// GPUs reserved by this call.
            gpus: u32,
        },
        /// Reserved GPUs of a worker were given back.
        GpusReleased {
            /// The worker.
            worker_id: WorkerId,
            /// GPUs actually released (at most what was reserved).
            gpus: u32,
        },
    }

    /// Errors of this pallet.
    #[pallet::error]
    pub enum Error<T> {
        /// No worker with this id.
        WorkerNotFound,
        /// The spec lists no GPU.
        NoGpus,
        /// The spec lists GPUs of different models; a worker's GPUs must all be one model.
        MixedGpuModels,
        /// The spec lists the same GPU (`uuid_hash`) twice.
        DuplicateGpuInSpec,
        /// A GPU of the spec already backs another worker.
        GpuAlreadyRegistered,
        /// The price per GPU hour is zero.
        ZeroPrice,
        /// The endpoint is empty.
        EmptyEndpoint,
        /// The agent key already acts for another worker.
        AgentInUse,
        /// The caller is not the worker's provider.
        NotProvider,
        /// The caller is not the worker's agent.
        NotWorkerAgent,
        /// The worker's status does not allow this.
        InvalidWorkerState,
        /// The worker already heartbeated in this block.
        HeartbeatTooSoon,
        /// The heartbeat reports more free GPUs than the worker has.
        ReportedGpusExceedTotal,
        /// The worker is not overdue: its last heartbeat is within `HeartbeatTimeout`.
        NotOverdue,
        /// `update_worker` was called with nothing to change.
        NothingToUpdate,
        /// The worker still has GPUs reserved by orders.
        WorkerBusy,
        /// The unbonding period has not ended yet.
        StillUnbonding,
        /// The worker is not `Active`, so its GPUs cannot be reserved.
        WorkerNotActive,
        /// The worker has fewer free GPUs than requested.
        NotEnoughFreeGpus,
        /// Zero GPUs were requested.
        ZeroGpus,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn on_initialize(now: BlockNumberFor<T>) -> Weight {
            Self::sweep(now)
        }

        fn integrity_test() {
            assert!(
                T::MaxGpusPerWorker::get() > 0,
                "a worker needs room for one GPU"
            );
            assert!(
                T::MaxEndpointLen::get() > 0,
                "an endpoint must be non-empty"
            );
            assert!(
                T::MaxIndexedPerModel::get() > 0,
                "the price index needs room"
            );
            assert!(
                T::MaxSweepPerBlock::get() > 0,
                "the sweep must make progress"
            );
            assert!(
                T::HeartbeatTimeout::get() > BlockNumberFor::<T>::from(0u32),
                "a zero heartbeat timeout takes every worker offline at once"
            );
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Register a worker. It starts `PendingVerification`.
        ///
        /// - `origin`: signed by the provider, who pays `RegistrationFee` and `WorkerDeposit`
        ///   (held) and is paid for the worker's work.
        /// - `spec`: the worker's hardware, region, price, endpoint and agent key. At least one
        ///   GPU, all of one model, none already registered; non-zero price; non-empty
        ///   endpoint; an agent key not used by another worker.
        ///
        /// Emits [`Event::WorkerRegistered`].
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::register_worker(spec.gpus.len() as u32))]
        pub fn register_worker(origin: OriginFor<T>, spec: WorkerSpecOf<T>) -> DispatchResult {
            let provider = ensure_signed(origin)?;
            Self::do_register_worker(provider, spec).map(|_| ())
        }

        /// Attest a `PendingVerification` or `Suspended` worker's hardware. It becomes `Active`
        /// (and enters the price index), or `Offline` if its last heartbeat is overdue.
        ///
        /// - `origin`: `VerifierOrigin`.
        /// - `worker_id`: the worker.
        ///
        /// Emits [`Event::WorkerVerified`].
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::verify_worker())]
        pub fn verify_worker(origin: OriginFor<T>, worker_id: WorkerId) -> DispatchResult {
            T::VerifierOrigin::ensure_origin(origin)?;
            Self::do_verify_worker(worker_id)
        }

        /// Suspend a worker (failed checks, misbehaviour): it leaves the price index and
        /// `AvailabilityHooks` is told. Only `verify_worker` lifts a suspension.
        ///
        /// - `origin`: `VerifierOrigin`.
        /// - `worker_id`: the worker; `PendingVerification`, `Active` or `Offline`.
        ///
        /// Emits [`Event::WorkerSuspended`].
        #[pallet::call_index(2)]
        #[pallet::weight(
			T::WeightInfo::suspend_worker().saturating_add(T::AvailabilityHooks::max_weight())
		)]
        pub fn suspend_worker(
            origin: OriginFor<T>,
            worker_id: WorkerId,
        ) -> DispatchResultWithPostInfo {
            T::VerifierOrigin::ensure_origin(origin)?;
            let hook_weight = Self::do_suspend_worker(worker_id)?;
            Ok(PostDispatchInfo {
                actual_weight: Some(
                    T::WeightInfo::suspend_worker()
                        .saturating_add(hook_weight.min(T::AvailabilityHooks::max_weight())),
                ),
                pays_fee: Pays::Yes,
            })
        }

        /// Prove the worker is alive. An `Offline` worker becomes `Active` again; a
        /// `PendingVerification` worker stays pending (the heartbeat keeps its liveness record
        /// fresh for verification).
        ///
        /// - `origin`: signed by the worker's agent key.
        /// - `worker_id`: the worker; not `Suspended` nor `Deregistering`.
        /// - `free_gpus_reported`: free GPUs the agent sees (at most the worker's GPU count);
        ///   recorded for monitoring, matching uses the chain's own reservations.
        ///
        /// At most one heartbeat per worker per block. Emits [`Event::Heartbeat`] (and
        /// [`Event::WorkerBackOnline`] when it reactivates the worker).
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::heartbeat())]
        pub fn heartbeat(
            origin: OriginFor<T>,
            worker_id: WorkerId,
            free_gpus_reported: u32,
        ) -> DispatchResult {
            let agent = ensure_signed(origin)?;
            Self::do_heartbeat(agent, worker_id, free_gpus_reported)
        }

        /// Take an overdue `Active` worker `Offline` now instead of waiting for the sweep. Free
        /// of fees when it succeeds.
        ///
        /// - `origin`: signed by anyone.
        /// - `worker_id`: an `Active` worker whose last heartbeat is more than
        ///   `HeartbeatTimeout` blocks old.
        ///
        /// Emits [`Event::WorkerWentOffline`].
        #[pallet::call_index(4)]
        #[pallet::weight(
			T::WeightInfo::report_offline().saturating_add(T::AvailabilityHooks::max_weight())
		)]
        pub fn report_offline(
            origin: OriginFor<T>,
            worker_id: WorkerId,
        ) -> DispatchResultWithPostInfo {
            let reporter = ensure_signed(origin)?;
            let hook_weight = Self::do_report_offline(reporter, worker_id)?;
            Ok(PostDispatchInfo {
                actual_weight: Some(
                    T::WeightInfo::report_offline()
                        .saturating_add(hook_weight.min(T::AvailabilityHooks::max_weight())),
                ),
                pays_fee: Pays::No,
            })
        }

        /// Change a worker's price and/or endpoint. An `Active` worker's index entry is
        /// re-sorted (it may evict, or be left out, see the crate docs).
        ///
        /// - `origin`: signed by the worker's provider.
        /// - `worker_id`: the worker; not `Deregistering`.
        /// - `price_per_gpu_hour`: the new price (non-zero), or `None` to keep it.
        /// - `endpoint`: the new endpoint (non-empty), or `None` to keep it.
        ///
        /// At least one of the two must be given. Emits [`Event::WorkerUpdated`].
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::update_worker())]
        pub fn update_worker(
            origin: OriginFor<T>,
            worker_id: WorkerId,
            price_per_gpu_hour: Option<BalanceOf<T>>,
            endpoint: Option<EndpointOf<T>>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_update_worker(who, worker_id, price_per_gpu_hour, endpoint)
        }

        /// Start leaving the marketplace: the worker becomes `Deregistering`, leaves the price
        /// index, and its deposit unlocks `UnbondingPeriod` blocks from now.
        ///
        /// - `origin`: signed by the worker's provider.
        /// - `worker_id`: the worker; no GPU reserved, not already `Deregistering`.
        ///
        /// Emits [`Event::WorkerDeregistering`].
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::deregister_worker())]
        pub fn deregister_worker(origin: OriginFor<T>, worker_id: WorkerId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_deregister_worker(who, worker_id)
        }

        /// Release the deposit of a `Deregistering` worker whose unbonding period is over, and
        /// remove the worker with its GPU and agent entries (the GPUs and agent key can then
        /// be registered again).
        ///
        /// - `origin`: signed by the worker's provider.
        /// - `worker_id`: the worker.
        ///
        /// Emits [`Event::DepositWithdrawn`].
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::withdraw_deposit(T::MaxGpusPerWorker::get()))]
        pub fn withdraw_deposit(
            origin: OriginFor<T>,
            worker_id: WorkerId,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            let gpus = Self::do_withdraw_deposit(who, worker_id)?;
            Ok(Some(T::WeightInfo::withdraw_deposit(gpus)).into())
        }
    }
}
