//! # Worker registry
//!
//! Providers register *workers* (one GPU machine each: a PC, a laptop, a server or a bare-metal
//! box) with their hardware, region, price and agent. The registry:
//!
//! - charges a registration fee (paid to a treasury account or burnt, see
//!   [`Config::FeeDestination`]) and holds a deposit per worker under
//!   [`HoldReason::WorkerDeposit`];
//! - tracks each worker's lifecycle ([`WorkerStatus`]): `PendingVerification` until the verifier
//!   (the PoPW checking pallet, through [`WorkerVerification`]; governance as an override)
//!   attests it, then `Active` while its agent heartbeats, `Offline` when the heartbeat stops,
//!   `Suspended` by the verifier, `Deregistering` while the deposit unbonds;
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
//! The sweep also removes the expired pending registrations it visits (see below).
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
//! ## Pending registrations expire
//!
//! A registration reserves its GPUs (by `uuid_hash`) and its agent key at once, before anyone
//! checked the hardware. So that nobody can sit on someone else's GPU UUID hash or agent key, a
//! worker still `PendingVerification` [`Config::PendingVerificationTimeout`] blocks after
//! registering has *expired* ([`WorkerInfo::pending_expires_at`]): anyone may remove it with
//! [`Pallet::expire_pending`] (free of fees when it succeeds), and the per-block sweep removes
//! the expired workers it visits. Expiry returns the deposit, keeps the (non-refundable) fee and
//! frees the GPUs and the agent key. Governance ([`Config::ForceOrigin`]) can also remove any
//! worker at once with [`Pallet::force_deregister`], returning or slashing its deposit.
//!
//! ## Pausing and agent rotation
//!
//! A provider can [`Pallet::pause_worker`] (drain) a worker: it keeps serving its open orders
//! and must keep heartbeating, but it leaves the price index and takes no new order
//! ([`kaisar_primitives::WorkerSummary::takes_new_orders`] is false, `reserve_gpus` refuses it)
//! until [`Pallet::resume_worker`]. Pausing is a flag ([`WorkerInfo::paused`]), not a
//! [`WorkerStatus`], so the status a dApp shows keeps meaning what it did. A provider can
//! replace a worker's agent key with [`Pallet::rotate_agent`].
//!
//! ## Development-only models
//!
//! `GpuModel::DevCpu` is a CPU standing in for a GPU so that a GPU-less devnet runs the whole
//! PoPW flow. [`Pallet::register_worker`] refuses it ([`Error::DevModelNotEnabled`]) unless the
//! genesis set [`DevModelsEnabled`] ([`GenesisConfig::dev_models`]; the runtime's `development`
//! and `local_testnet` presets do, its default genesis does not). No call changes the flag, and
//! a worker's model never changes after registration, so no other path needs the check. Orders
//! for `DevCpu` match `DevCpu` workers through the price index like any other model.
//!
//! ## Storage for dApps
//!
//! [`Workers`] (by id) is the source of truth; [`WorkerByAgent`] and [`GpuOwner`] map an agent
//! key and a GPU UUID hash ([`kaisar_primitives::gpu_uuid_hash`]) to their worker; [`PriceIndex`] lists the cheapest `Active` workers of
//! each model.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod dispatchable_impls;
mod impls;
pub mod migrations;
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

    /// v1: `WorkerInfo` gained `paused` and `pending_expires_at` ([`crate::migrations`]).
    pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

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

        /// Who may verify and suspend workers by hand (governance: an override of the PoPW
        /// checking pallet, which uses [`WorkerVerification`]).
        type VerifierOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Who may remove any worker at once with `force_deregister` (and slash its deposit):
        /// governance. Kept apart from `VerifierOrigin`, which an automated verifier may hold.
        type ForceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Told when a worker goes `Offline` or is `Suspended`.
        type AvailabilityHooks: WorkerAvailabilityHooks;

        /// A worker whose last heartbeat is more than this many blocks old is overdue and goes
        /// `Offline`.
        #[pallet::constant]
        type HeartbeatTimeout: Get<BlockNumberFor<Self>>;

        /// Blocks between `deregister_worker` and the earliest `withdraw_deposit`. The deposit
        /// stays held meanwhile, so `ForceOrigin` can still `force_deregister` the worker with
        /// its deposit slashed (e.g. misbehaviour found after it left); nothing else touches
        /// the deposit during unbonding.
        #[pallet::constant]
        type UnbondingPeriod: Get<BlockNumberFor<Self>>;

        /// Blocks a worker may stay `PendingVerification`: from `registered_at` plus this many
        /// blocks the registration has expired, and `expire_pending` (or the sweep) removes it,
        /// returning the deposit and freeing its GPUs and agent key (the fee is kept). Stops
        /// anyone from squatting on another's GPU UUID hashes or agent key.
        #[pallet::constant]
        type PendingVerificationTimeout: Get<BlockNumberFor<Self>>;

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

    /// Every registered worker, by id. Removed by `withdraw_deposit`, `expire_pending` (or the
    /// sweep, for an expired pending registration) and `force_deregister`.
    #[pallet::storage]
    pub type Workers<T: Config> = StorageMap<_, Twox64Concat, WorkerId, WorkerInfoOf<T>>;

    /// The id the next registered worker gets.
    #[pallet::storage]
    pub type NextWorkerId<T> = StorageValue<_, WorkerId, ValueQuery>;

    /// Which worker each physical GPU (by `uuid_hash`) belongs to. A GPU backs one worker at a
    /// time; the entry goes when the worker is removed (see [`Workers`]). The key is
    /// [`kaisar_primitives::gpu_uuid_hash`] of the GPU's NVML UUID.
    #[pallet::storage]
    pub type GpuOwner<T> = StorageMap<_, Blake2_128Concat, H256, WorkerId>;

    /// Which worker each agent key acts for. One worker per agent; the entry moves with
    /// `rotate_agent` and goes when the worker is removed (see [`Workers`]).
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

    /// Whether workers may claim a development-only GPU model ([`GpuModel::DevCpu`], see
    /// [`GpuModel::is_dev_only`]): a CPU standing in for a GPU, so that a GPU-less development
    /// network can run the whole PoPW flow. `false` (the default) refuses such registrations
    /// with [`Error::DevModelNotEnabled`], so a production chain never lists a host without
    /// GPUs. Set only at genesis ([`GenesisConfig::dev_models`]; the `development` and
    /// `local_testnet` presets enable it); no call changes it.
    ///
    /// Added without a storage version bump or migration: a plain value whose absence reads as
    /// `false`, which is exactly the behaviour of chains started before it existed.
    #[pallet::storage]
    pub type DevModelsEnabled<T> = StorageValue<_, bool, ValueQuery>;

    /// Genesis configuration of the worker registry.
    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Accept workers claiming a development-only GPU model ([`GpuModel::DevCpu`]); sets
        /// [`DevModelsEnabled`]. Development and test chains only: `false` by default.
        pub dev_models: bool,
        #[serde(skip)]
        pub _config: core::marker::PhantomData<T>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            DevModelsEnabled::<T>::put(self.dev_models);
        }
    }

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
        /// A registration still `PendingVerification` after `PendingVerificationTimeout` was
        /// removed: its deposit returned, its GPUs and agent key freed (the fee is kept).
        PendingRegistrationExpired {
            /// The removed worker.
            worker_id: WorkerId,
            /// Its provider, who got the deposit back.
            provider: T::AccountId,
            /// The deposit released.
            deposit: BalanceOf<T>,
            /// Who called `expire_pending` (`None`: the per-block sweep).
            by: Option<T::AccountId>,
        },
        /// Governance removed a worker: its orders were failed through the availability hook,
        /// its GPUs and agent key freed, its deposit returned or slashed.
        WorkerForceDeregistered {
            /// The removed worker.
            worker_id: WorkerId,
            /// Its provider.
            provider: T::AccountId,
            /// The deposit returned to the provider (zero if slashed).
            returned: BalanceOf<T>,
            /// The deposit slashed (to `FeeDestination`, or burnt; zero if returned).
            slashed: BalanceOf<T>,
        },
        /// The provider replaced a worker's agent key.
        AgentRotated {
            /// The worker.
            worker_id: WorkerId,
            /// The agent key that no longer acts for it (free to register again).
            old_agent: T::AccountId,
            /// The agent key that acts for it now.
            new_agent: T::AccountId,
        },
        /// The provider paused a worker: it serves its open orders but takes no new ones.
        WorkerPaused {
            /// The worker.
            worker_id: WorkerId,
        },
        /// The provider resumed a paused worker; an `Active` one is offered to the index again.
        WorkerResumed {
            /// The worker.
            worker_id: WorkerId,
            /// Whether it is in the price index now.
            indexed: bool,
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
        /// The worker still has GPUs reserved by orders, or orders that are still settling
        /// (see [`kaisar_primitives::WorkerAvailabilityHooks::has_open_orders`]).
        WorkerBusy,
        /// The unbonding period has not ended yet.
        StillUnbonding,
        /// The worker is not `Active`, so its GPUs cannot be reserved.
        WorkerNotActive,
        /// The worker has fewer free GPUs than requested.
        NotEnoughFreeGpus,
        /// Zero GPUs were requested.
        ZeroGpus,
        /// The worker is not `PendingVerification`, so it cannot expire.
        NotPending,
        /// The pending registration has not expired yet (see `pending_expires_at`).
        PendingNotExpired,
        /// The worker is already paused.
        AlreadyPaused,
        /// The worker is not paused.
        NotPaused,
        /// The worker is paused by its provider: it takes no new orders.
        WorkerPaused,
        /// The worker's last heartbeat is overdue (it goes `Offline` when next looked at): it
        /// takes no new orders.
        HeartbeatOverdue,
        /// The spec claims a development-only GPU model ([`GpuModel::DevCpu`]) and this chain
        /// does not accept them ([`DevModelsEnabled`] is off, as on every production chain).
        DevModelNotEnabled,
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
            assert!(
                T::PendingVerificationTimeout::get() > BlockNumberFor::<T>::from(0u32),
                "a zero pending timeout expires every registration at once"
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
        ///   endpoint; an agent key not used by another worker. A development-only model
        ///   ([`GpuModel::DevCpu`]) only where [`DevModelsEnabled`] (`DevModelNotEnabled`).
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
        /// - `worker_id`: the worker; no GPU reserved and no open order (orders that ended but
        ///   are still settling count: `WorkerBusy`), not already `Deregistering`.
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

        /// Remove a registration still `PendingVerification` after
        /// `PendingVerificationTimeout`: its deposit goes back to the provider (the fee is
        /// kept), its GPUs and agent key are freed. Free of fees when it succeeds. The
        /// per-block sweep does the same for the expired workers it visits.
        ///
        /// - `origin`: signed by anyone.
        /// - `worker_id`: a `PendingVerification` worker whose `pending_expires_at` has come.
        ///
        /// Emits [`Event::PendingRegistrationExpired`].
        #[pallet::call_index(8)]
        #[pallet::weight(T::WeightInfo::expire_pending(T::MaxGpusPerWorker::get()))]
        pub fn expire_pending(
            origin: OriginFor<T>,
            worker_id: WorkerId,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            let gpus = Self::do_expire_pending(worker_id, Some(who))?;
            Ok(PostDispatchInfo {
                actual_weight: Some(T::WeightInfo::expire_pending(gpus)),
                pays_fee: Pays::No,
            })
        }

        /// Remove any worker at once (GPU UUID or agent-key squatting, fraud, a broken
        /// machine): it leaves the index, the orders running on it are failed through
        /// `AvailabilityHooks` (so their GPUs are released), then the worker, its GPU entries
        /// and its agent entry are removed. The deposit is returned to the provider, or, with
        /// `slash_deposit`, moved to `FeeDestination` (burnt when that is `None`).
        ///
        /// - `origin`: `ForceOrigin`.
        /// - `worker_id`: the worker, in any status (also `Deregistering`, to slash during
        ///   unbonding).
        /// - `slash_deposit`: slash rather than return the deposit.
        ///
        /// Emits [`Event::WorkerForceDeregistered`].
        #[pallet::call_index(9)]
        #[pallet::weight(
			T::WeightInfo::force_deregister(T::MaxGpusPerWorker::get())
				.saturating_add(T::AvailabilityHooks::max_weight())
		)]
        pub fn force_deregister(
            origin: OriginFor<T>,
            worker_id: WorkerId,
            slash_deposit: bool,
        ) -> DispatchResultWithPostInfo {
            T::ForceOrigin::ensure_origin(origin)?;
            let (gpus, hook_weight) = Self::do_force_deregister(worker_id, slash_deposit)?;
            Ok(Some(
                T::WeightInfo::force_deregister(gpus)
                    .saturating_add(hook_weight.min(T::AvailabilityHooks::max_weight())),
            )
            .into())
        }

        /// Replace a worker's agent key (a lost or leaked key, a new machine image). The old
        /// key stops acting for the worker at once and is free to register another worker.
        ///
        /// - `origin`: signed by the worker's provider.
        /// - `worker_id`: the worker; not `Deregistering`.
        /// - `new_agent`: a key that acts for no worker (not even this one).
        ///
        /// Emits [`Event::AgentRotated`].
        #[pallet::call_index(10)]
        #[pallet::weight(T::WeightInfo::rotate_agent())]
        pub fn rotate_agent(
            origin: OriginFor<T>,
            worker_id: WorkerId,
            new_agent: T::AccountId,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_rotate_agent(who, worker_id, new_agent)
        }

        /// Pause (drain) a worker: it keeps serving its open orders and must keep
        /// heartbeating, but it leaves the price index and takes no new orders until
        /// `resume_worker`. Its status does not change.
        ///
        /// - `origin`: signed by the worker's provider.
        /// - `worker_id`: the worker; not paused, not `Deregistering`.
        ///
        /// Emits [`Event::WorkerPaused`].
        #[pallet::call_index(11)]
        #[pallet::weight(T::WeightInfo::pause_worker())]
        pub fn pause_worker(origin: OriginFor<T>, worker_id: WorkerId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_pause_worker(who, worker_id)
        }

        /// Resume a paused worker: it takes new orders again and, if `Active`, is offered to
        /// the price index (it may evict, or be left out, see the crate docs).
        ///
        /// - `origin`: signed by the worker's provider.
        /// - `worker_id`: a paused worker, not `Deregistering`.
        ///
        /// Emits [`Event::WorkerResumed`].
        #[pallet::call_index(12)]
        #[pallet::weight(T::WeightInfo::resume_worker())]
        pub fn resume_worker(origin: OriginFor<T>, worker_id: WorkerId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            Self::do_resume_worker(who, worker_id)
        }
    }
}
