//! Types stored and taken as call arguments by the worker registry.

use crate::Config;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
    pallet_prelude::{BoundedVec, Get},
    traits::fungible::Inspect,
    CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use frame_system::pallet_prelude::BlockNumberFor;
pub use kaisar_primitives::{GpuModel, HostClass, WorkerId, WorkerStatus};
use scale_info::TypeInfo;
use sp_core::H256;

/// The balance type of the pallet's currency.
pub type BalanceOf<T> =
    <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// One GPU of a worker, as reported by the agent and checked by the verifier.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub struct GpuDevice {
    /// The GPU model.
    pub model: GpuModel,
    /// Video memory, in MiB.
    pub vram_mib: u32,
    /// [`kaisar_primitives::gpu_uuid_hash`] of the device's NVML UUID string:
    /// `blake2_256(b"kaisar-popw/gpu-uuid/v1" ++ uuid)`, the same hash PoPW snapshots carry. A
    /// physical GPU can back only one worker at a time.
    pub uuid_hash: H256,
}

/// The hardware and commercial description of a worker, given at registration.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    DebugNoBound,
)]
#[scale_info(skip_type_params(MaxGpus, MaxRegion, MaxEndpoint))]
#[codec(mel_bound(AccountId: MaxEncodedLen, Balance: MaxEncodedLen))]
pub struct WorkerSpec<
    AccountId,
    Balance,
    MaxGpus: Get<u32>,
    MaxRegion: Get<u32>,
    MaxEndpoint: Get<u32>,
> where
    AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
    Balance: Clone + PartialEq + Eq + core::fmt::Debug,
{
    /// What kind of machine this is.
    pub host_class: HostClass,
    /// The GPUs; at least one, all of the same model, no physical GPU twice.
    pub gpus: BoundedVec<GpuDevice, MaxGpus>,
    /// Number of CPU cores.
    pub cpu_cores: u32,
    /// System memory, in MiB.
    pub ram_mib: u64,
    /// Disk space available to workloads, in GiB.
    pub disk_gib: u32,
    /// Free-form region tag such as `eu-west` (may be empty: unspecified).
    pub region: BoundedVec<u8, MaxRegion>,
    /// Asking price per GPU per hour, in the smallest unit of the native token. Non-zero.
    pub price_per_gpu_hour: Balance,
    /// The agent's public endpoint (URL or host:port). Non-empty.
    pub endpoint: BoundedVec<u8, MaxEndpoint>,
    /// The agent's signing account: it sends heartbeats and acts for the worker. One worker
    /// per agent.
    pub agent: AccountId,
}

impl<AccountId, Balance, MaxGpus, MaxRegion, MaxEndpoint>
    WorkerSpec<AccountId, Balance, MaxGpus, MaxRegion, MaxEndpoint>
where
    AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
    Balance: Clone + PartialEq + Eq + core::fmt::Debug,
    MaxGpus: Get<u32>,
    MaxRegion: Get<u32>,
    MaxEndpoint: Get<u32>,
{
    /// The model of the first GPU (all GPUs share it once the spec is validated).
    pub fn gpu_model(&self) -> Option<GpuModel> {
        self.gpus.first().map(|g| g.model)
    }

    /// Number of GPUs. Bounded by `MaxGpus`, so it fits in a `u32`.
    pub fn gpu_count(&self) -> u32 {
        self.gpus.len() as u32
    }
}

/// A [`WorkerSpec`] with the runtime's bounds.
pub type WorkerSpecOf<T> = WorkerSpec<
    <T as frame_system::Config>::AccountId,
    BalanceOf<T>,
    <T as Config>::MaxGpusPerWorker,
    <T as Config>::MaxRegionLen,
    <T as Config>::MaxEndpointLen,
>;

/// The endpoint type taken by calls.
pub type EndpointOf<T> = BoundedVec<u8, <T as Config>::MaxEndpointLen>;

/// The stored record of a worker.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(MaxGpus, MaxRegion, MaxEndpoint))]
#[codec(mel_bound(
	AccountId: MaxEncodedLen,
	Balance: MaxEncodedLen,
	BlockNumber: MaxEncodedLen
))]
pub struct WorkerInfo<
    AccountId,
    Balance,
    BlockNumber,
    MaxGpus: Get<u32>,
    MaxRegion: Get<u32>,
    MaxEndpoint: Get<u32>,
> where
    AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
    Balance: Clone + PartialEq + Eq + core::fmt::Debug,
    BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
    /// The account that registered the worker, paid its deposit and is paid for its work.
    pub provider: AccountId,
    /// The hardware and price, as registered (price and endpoint updatable).
    pub spec: WorkerSpec<AccountId, Balance, MaxGpus, MaxRegion, MaxEndpoint>,
    /// Lifecycle state.
    pub status: WorkerStatus,
    /// GPUs reserved by orders. Never more than the GPU count.
    pub reserved_gpus: u32,
    /// Free GPUs the agent reported in its last heartbeat (informational: the chain's own
    /// `reserved_gpus` is what matching uses).
    pub reported_free_gpus: u32,
    /// The deposit actually held for this worker under `HoldReason::WorkerDeposit`; released in
    /// full on withdrawal even if `WorkerDeposit` changed since.
    pub deposit: Balance,
    /// Block of registration.
    pub registered_at: BlockNumber,
    /// Block of the last heartbeat (registration counts as one).
    pub last_heartbeat: BlockNumber,
    /// Whether the worker is in `PriceIndex` right now. Only `Active` workers are, and an
    /// `Active` worker may be left out when its model's index is full.
    pub indexed: bool,
    /// When `Deregistering`: the block from which the deposit can be withdrawn.
    pub unlock_at: Option<BlockNumber>,
    /// The provider paused the worker (`pause_worker`): it keeps serving its open orders and
    /// heartbeating, but is out of the price index and `reserve_gpus` refuses it. Independent
    /// of `status` (a paused worker can go `Offline` and come back, still paused).
    pub paused: bool,
    /// When `PendingVerification`: the first block at which the registration has expired
    /// (`registered_at + PendingVerificationTimeout`); `expire_pending` or the sweep then
    /// removes it, returns the deposit and frees its GPUs and agent key. `None` in every other
    /// status.
    pub pending_expires_at: Option<BlockNumber>,
}

impl<AccountId, Balance, BlockNumber, MaxGpus, MaxRegion, MaxEndpoint>
    WorkerInfo<AccountId, Balance, BlockNumber, MaxGpus, MaxRegion, MaxEndpoint>
where
    AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
    Balance: Clone + PartialEq + Eq + core::fmt::Debug,
    BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
    MaxGpus: Get<u32>,
    MaxRegion: Get<u32>,
    MaxEndpoint: Get<u32>,
{
    /// GPUs not reserved by an order.
    pub fn free_gpus(&self) -> u32 {
        // `reserved_gpus <= gpu_count` is an invariant (checked in `try_state`); saturate so a
        // broken invariant reads as "no free GPU" rather than wrapping.
        self.spec.gpu_count().saturating_sub(self.reserved_gpus)
    }
}

/// A [`WorkerInfo`] with the runtime's types.
pub type WorkerInfoOf<T> = WorkerInfo<
    <T as frame_system::Config>::AccountId,
    BalanceOf<T>,
    BlockNumberFor<T>,
    <T as Config>::MaxGpusPerWorker,
    <T as Config>::MaxRegionLen,
    <T as Config>::MaxEndpointLen,
>;

/// One `PriceIndex` entry: `(price_per_gpu_hour, worker)`.
pub type IndexEntry<T> = (BalanceOf<T>, WorkerId);

/// The price index of one GPU model.
pub type PriceIndexOf<T> = BoundedVec<IndexEntry<T>, <T as Config>::MaxIndexedPerModel>;

/// What happened when a worker was offered to the price index.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IndexOutcome {
    /// Added; the index had room.
    Inserted,
    /// Added; the index was full and the given, most expensive worker was dropped from it.
    InsertedEvicting(WorkerId),
    /// Not added: the index is full of workers at least as cheap.
    NotIndexed,
}
