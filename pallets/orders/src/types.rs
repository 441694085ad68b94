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

/// How an order's container stopped, as its agent reports it ([`crate::Pallet::report_exit`]).
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
pub enum ExitKind {
    /// The container's process exited with `code` (the user's workload: the order keeps its
    /// time; the agent restarts the container by the order's policy).
    #[codec(index = 0)]
    Exited {
        /// The process's exit code.
        code: i32,
    },
    /// The kernel killed it for exceeding the order's memory limit (the user's workload).
    #[codec(index = 1)]
    OomKilled,
    /// The ordered image could not be found or pulled on the host: the provider's failure (the
    /// order fails and is refunded; reported on a Pending order when the first start fails).
    #[codec(index = 2)]
    ImageUnavailable,
    /// The container engine could not create or start the container: the provider's failure
    /// (the order fails and is refunded; may be reported on a Pending order).
    #[codec(index = 3)]
    StartFailed,
}

impl ExitKind {
    /// Whether the provider caused it (the order fails as a service failure).
    pub fn is_provider_fault(&self) -> bool {
        matches!(self, Self::ImageUnavailable | Self::StartFailed)
    }
}

/// One exit of an order's container, as recorded on-chain.
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
pub struct ExitRecord<BlockNumber> {
    /// How it stopped.
    pub kind: ExitKind,
    /// How many times the agent had restarted the container for this order before.
    pub restarts: u32,
    /// The block of the report.
    pub at: BlockNumber,
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
    /// The agent reported that the provider could not serve the container (image unavailable
    /// on the host, container engine failure).
    #[codec(index = 4)]
    ServiceFailed,
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
        /// The provider has been paid for every block before this one. Reported blocks after
        /// it wait in [`crate::Unmatured`] until they mature.
        paid_until: BlockNumber,
        /// Sequence number of the last accepted usage report (0: none yet).
        last_report_seq: u32,
    },
    /// Ran to the end; the provider was paid the total cost.
    #[codec(index = 2)]
    Completed {
        /// Block of completion (for an order that was `Settling`: the block its last period
        /// matured and was paid).
        at: BlockNumber,
    },
    /// Cancelled by the user.
    #[codec(index = 3)]
    Cancelled {
        /// Block of cancellation (for an order that was `Settling`: the block its last period
        /// matured and was paid).
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
    /// Over for the worker (final report received, or cancelled by the user while Running):
    /// the container is stopped and the GPUs are free, but reported usage periods have not
    /// matured yet ([`crate::Unmatured`]), so the escrow stays open. When the last period
    /// matures (at `settles_at`, or earlier after a passing verdict and `settle_order`) the
    /// provider is paid and the order becomes `Completed` (or `Cancelled`, the unreported part
    /// refunded in tokens). Should the worker become unavailable first, the unmatured periods
    /// are refunded as a service failure and the order becomes `Failed`.
    ///
    /// Appended (index 5): the encodings of the other variants are unchanged.
    #[codec(index = 5)]
    Settling {
        /// The block the order ended for the worker (final report or cancellation).
        ended_at: BlockNumber,
        /// Whether the user cancelled it (it becomes `Cancelled` when settled, else
        /// `Completed`).
        cancelled: bool,
        /// The block at which its last reported period matures by time: its deadline in the
        /// deadline index, where it settles without a caller.
        settles_at: BlockNumber,
    },
}

impl<BlockNumber: Copy> OrderStatus<BlockNumber> {
    /// Whether the order is still open: Pending, Running or Settling. An open order's escrow
    /// holds `total_cost - paid_so_far`, it is listed in its worker's open orders and it has a
    /// deadline.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            Self::Pending { .. } | Self::Running { .. } | Self::Settling { .. }
        )
    }

    /// Whether the order holds GPUs of its worker (Pending or Running; a Settling order has
    /// released them).
    pub fn holds_gpus(&self) -> bool {
        matches!(self, Self::Pending { .. } | Self::Running { .. })
    }

    /// The block at which a terminal order ended, `None` for open orders (including Settling
    /// ones, which cannot be removed yet).
    pub fn ended_at(&self) -> Option<BlockNumber> {
        match self {
            Self::Completed { at } | Self::Cancelled { at } | Self::Failed { at, .. } => Some(*at),
            Self::Pending { .. } | Self::Running { .. } | Self::Settling { .. } => None,
        }
    }
}

/// A reported usage period of a Running or Settling order that has not been paid yet (see
/// [`crate::Unmatured`]). It matures when `now >= reported_at + MaturityDelay`, or earlier when
/// the worker passed a consensus verdict at or after `reported_at`.
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
pub struct Period<BlockNumber, Balance> {
    /// The period covers the blocks up to (not including) this one: the agent reported usage
    /// up to here.
    pub until: BlockNumber,
    /// The block of the report (for merged periods: of the latest report merged in).
    pub reported_at: BlockNumber,
    /// What the provider is owed in total once this period is paid: `owed_for(until -
    /// started_at)`, cumulative over the order (so paying it pays every earlier period too).
    pub owed: Balance,
}

/// The unmatured periods of one order, oldest first.
pub type PeriodsOf<T> =
    frame_support::BoundedVec<Period<BlockNumberFor<T>, BalanceOf<T>>, <T as Config>::MaxUnmatured>;

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
