//! Types of the orders pallet.

use crate::Config;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
    traits::fungible::Inspect, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{GpuModel, WorkerId};
use scale_info::TypeInfo;

/// The balance type of the configured currency.
pub type BalanceOf<T> =
    <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// What a user asks for when placing an order.
#[derive(
    Encode,
    Decode,
    DecodeWithMemTracking,
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    TypeInfo,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(T))]
pub struct OrderSpec<T: Config> {
    /// Container image reference (for example `docker.io/pytorch/pytorch:2.4`), opaque bytes.
    pub image: BoundedVec<u8, T::MaxImageLen>,
    /// GPU model wanted.
    pub gpu_model: GpuModel,
    /// Number of GPUs wanted, `1..=T::MaxGpusPerOrder`.
    pub gpu_count: u32,
    /// How many blocks the container runs once accepted, `T::MinDuration..=T::MaxDuration`.
    pub duration: BlockNumberFor<T>,
    /// The most the user pays per GPU per hour.
    pub max_price_per_gpu_hour: BalanceOf<T>,
    /// A specific worker to run on, or `None` to let the chain pick the cheapest match.
    pub target_worker: Option<WorkerId>,
    /// The user's x25519 public key; the agent encrypts the container access details to it.
    pub user_public_key: [u8; 32],
    /// Container ports to expose.
    pub ports: BoundedVec<u16, T::MaxPorts>,
}

/// A periodic usage report from the worker's agent.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub struct UsageReport {
    /// Average GPU utilisation since the last report, in permille (0..=1000).
    pub gpu_util_permille: u16,
    /// GPU memory in use, in MiB.
    pub gpu_mem_used_mib: u32,
    /// Container uptime, in seconds.
    pub uptime_secs: u32,
}

/// Why an order failed.
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
pub enum FailureReason {
    /// The worker did not accept the order before its deadline.
    #[codec(index = 0)]
    NotAccepted,
    /// The worker's agent rejected the order.
    #[codec(index = 1)]
    Rejected,
    /// The worker went Offline or was Suspended.
    #[codec(index = 2)]
    WorkerUnavailable,
    /// The agent sent no final usage report by `ends_at + ReportGracePeriod`.
    #[codec(index = 3)]
    NoFinalReport,
}

/// Where an order is in its lifecycle.
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
pub enum OrderStatus<BlockNumber> {
    /// Placed and paid into escrow; waiting for the worker's agent to accept it.
    #[codec(index = 0)]
    Pending {
        /// The first block at which the order can no longer be accepted.
        accept_by: BlockNumber,
    },
    /// Accepted: the container runs.
    #[codec(index = 1)]
    Running {
        /// The block of acceptance.
        started_at: BlockNumber,
        /// `started_at + duration`.
        ends_at: BlockNumber,
        /// The provider has been paid for every block before this one.
        paid_until: BlockNumber,
        /// Sequence number of the last accepted usage report (0: none yet).
        last_report_seq: u32,
    },
    /// Ran to the end; the provider was paid the total cost.
    #[codec(index = 2)]
    Completed {
        /// Block of completion.
        at: BlockNumber,
    },
    /// Cancelled by the user.
    #[codec(index = 3)]
    Cancelled {
        /// Block of cancellation.
        at: BlockNumber,
    },
    /// Failed for a service reason; the unserved part was refunded.
    #[codec(index = 4)]
    Failed {
        /// Block of failure.
        at: BlockNumber,
        /// What went wrong.
        reason: FailureReason,
    },
}

impl<BlockNumber: Copy> OrderStatus<BlockNumber> {
    /// Whether the order is still open (Pending or Running).
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Pending { .. } | Self::Running { .. })
    }

    /// The block at which a terminal order ended, `None` for open orders.
    pub fn ended_at(&self) -> Option<BlockNumber> {
        match self {
            Self::Completed { at } | Self::Cancelled { at } | Self::Failed { at, .. } => Some(*at),
            Self::Pending { .. } | Self::Running { .. } => None,
        }
    }
}

/// An order as stored on chain.
#[derive(
    Encode, Decode, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, TypeInfo, MaxEncodedLen,
)]
#[scale_info(skip_type_params(T))]
pub struct Order<T: Config> {
    /// The account that placed (and pays for) the order.
    pub user: T::AccountId,
    /// The worker running it.
    pub worker: WorkerId,
    /// The worker's provider at placement: the account the escrow pays.
    pub provider: T::AccountId,
    /// Container image reference.
    pub image: BoundedVec<u8, T::MaxImageLen>,
    /// GPU model.
    pub gpu_model: GpuModel,
    /// Number of GPUs reserved on the worker.
    pub gpu_count: u32,
    /// Running time in blocks.
    pub duration: BlockNumberFor<T>,
    /// The worker's price per GPU per hour when the order was placed.
    pub price_per_gpu_hour: BalanceOf<T>,
    /// The user's x25519 public key for the access blob.
    pub user_public_key: [u8; 32],
    /// Container ports to expose.
    pub ports: BoundedVec<u16, T::MaxPorts>,
    /// Total price of the order (what the provider gets if it runs to the end).
    pub total_cost: BalanceOf<T>,
    /// Part of `total_cost` paid with points, sponsored by the promotion pot.
    pub discount: BalanceOf<T>,
    /// What the provider has been paid so far.
    pub paid_so_far: BalanceOf<T>,
    /// Lifecycle state.
    pub status: OrderStatus<BlockNumberFor<T>>,
    /// Block of placement.
    pub created_at: BlockNumberFor<T>,
    /// The order deposit held from the user while the order is Pending (zero otherwise).
    pub deposit: BalanceOf<T>,
    /// The block whose bucket of the deadline index holds this order (its accept deadline,
    /// report deadline or removal, possibly spilled a few blocks later). `None` only for a
    /// terminal order whose removal found no room (then `drop_order` removes it).
    pub deadline: Option<BlockNumberFor<T>>,
}
