//! # Kaisar primitives
//!
//! Types shared by the Kaisar GPU-cloud pallets, and the small traits through which the pallets
//! talk to each other. One pallet never reads another pallet's storage: it goes through one of
//! these traits, wired together in the runtime.
//!
//! - [`WorkerRegistry`]: implemented by `pallet-worker-registry`, used by `pallet-orders`.
//! - [`WorkerAvailabilityHooks`]: implemented by `pallet-orders`, called by the registry when a
//!   worker stops being able to serve (Offline, Suspended).
//! - [`WorkerVerification`]: implemented by the registry, used by whatever attests workers (the
//!   PoPW checking pallet, with a governance origin as an override).
//! - [`Escrow`]: implemented by `pallet-escrow`, used by `pallet-orders`.
//! - [`Points`]: implemented by `pallet-points`, used by `pallet-orders`.
//! - [`CheckerSlots`], [`CheckingEpochs`], [`Referrals`]: implemented by
//!   `pallet-checker-licenses`, used by the checking (and rewards) pallets.
//! - [`CheckerPerformance`]: implemented by `pallet-popw-attestations`, for the rewards pallet.
//! - [`WorkerVerdicts`]: implemented by the checking pallet (PoPW consensus verdicts), used by
//!   `pallet-orders` to mature usage payments early (and to pause maturing during a re-check).
//! - [`RunningOrders`]: implemented by `pallet-orders`, used by the checking pallet for users'
//!   disputes.
//! - [`RewardAccrual`]: implemented by the rewards pallet, told by the checking and orders
//!   pallets; [`LicenseOwners`]: implemented by `pallet-checker-licenses` for it.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::fmt::Debug as RuntimeDebug;
use frame_support::pallet_prelude::{DispatchError, DispatchResult, Weight};
use scale_info::TypeInfo;

/// Identifies a registered worker (one GPU machine).
pub type WorkerId = u64;
/// Identifies an order.
pub type OrderId = u64;
/// Identifies an escrow account. Orders use their [`OrderId`].
pub type EscrowId = u64;

/// Domain tag of [`gpu_uuid_hash`].
pub const GPU_UUID_HASH_TAG: &[u8; 23] = b"kaisar-popw/gpu-uuid/v1";

/// The one definition of a GPU's `uuid_hash` (the registry's `GpuDevice::uuid_hash`, the PoPW
/// snapshots' `GpuUuidHash`): `blake2_256(b"kaisar-popw/gpu-uuid/v1" ++ uuid)`, where `uuid` is
/// the device's NVML UUID string as bytes (e.g. `GPU-8f0e...`). The registry lets one physical GPU
/// back one worker at a time by this hash, so agents, tools and tests must all compute it here.
pub fn gpu_uuid_hash(uuid: &[u8]) -> [u8; 32] {
    let mut buf = alloc::vec::Vec::with_capacity(GPU_UUID_HASH_TAG.len() + uuid.len());
    buf.extend_from_slice(GPU_UUID_HASH_TAG);
    buf.extend_from_slice(uuid);
    sp_crypto_hashing::blake2_256(&buf)
}

/// The GPU models the marketplace knows. The PoPW calibration table is keyed by the same names.
///
/// New models are appended (never reordered) so that stored values keep decoding.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum GpuModel {
    #[codec(index = 0)]
    RtxA4000,
    #[codec(index = 1)]
    Rtx3090,
    #[codec(index = 2)]
    Rtx4090,
    #[codec(index = 3)]
    Rtx5090,
    #[codec(index = 4)]
    L4,
    #[codec(index = 5)]
    L40S,
    #[codec(index = 6)]
    A10,
    #[codec(index = 7)]
    A100Pcie40G,
    #[codec(index = 8)]
    A100Sxm80G,
    #[codec(index = 9)]
    H100Pcie,
    #[codec(index = 10)]
    H100Sxm,
    #[codec(index = 11)]
    H200,
    /// **Development only**: not a GPU. A host's CPU running the PoPW CPU backend, with its own
    /// small challenge shape and calibrated throughput in the PoPW calibration table, so that a
    /// GPU-less development network can run the whole PoPW flow with timing judged. The worker
    /// registry refuses workers claiming it unless the chain's genesis enabled development
    /// models (`pallet_worker_registry::DevModelsEnabled`, off on production chains); agents map
    /// only their fake GPU backend's `"Kaisar DevCpu"` device to it, never a real GPU's name.
    #[codec(index = 12)]
    DevCpu,
}

impl GpuModel {
    /// Whether this is a development-only model ([`GpuModel::DevCpu`]): refused by the worker
    /// registry unless the chain's genesis enabled development models.
    pub fn is_dev_only(&self) -> bool {
        matches!(self, GpuModel::DevCpu)
    }
}

/// The kind of machine a worker runs on.
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
    RuntimeDebug,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum HostClass {
    /// A desktop PC.
    #[codec(index = 0)]
    Pc,
    /// A laptop.
    #[codec(index = 1)]
    Laptop,
    /// A rack server (possibly virtualised).
    #[codec(index = 2)]
    Server,
    /// A dedicated bare-metal machine.
    #[codec(index = 3)]
    BareMetal,
}

/// Lifecycle state of a worker.
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
    RuntimeDebug,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum WorkerStatus {
    /// Registered, waiting for a checker (or governance) to verify the hardware.
    #[codec(index = 0)]
    PendingVerification,
    /// Verified and heartbeating: can take orders.
    #[codec(index = 1)]
    Active,
    /// Verified, but missed its heartbeat deadline. A heartbeat brings it back to `Active`.
    #[codec(index = 2)]
    Offline,
    /// Suspended by the verifier (failed checks, misbehaviour). Only the verifier lifts it.
    #[codec(index = 3)]
    Suspended,
    /// Leaving the marketplace; the deposit unlocks after the unbonding period.
    #[codec(index = 4)]
    Deregistering,
}

/// What the orders pallet needs to know about a worker.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, RuntimeDebug)]
pub struct WorkerSummary<AccountId, Balance> {
    /// The account that registered the worker and is paid for its work.
    pub provider: AccountId,
    /// The agent's signing account: the only account that may act for the worker.
    pub agent: AccountId,
    /// Current lifecycle state.
    pub status: WorkerStatus,
    /// Model of the worker's GPUs (a worker's GPUs are all one model).
    pub gpu_model: GpuModel,
    /// Total number of GPUs on the worker.
    pub gpu_count: u32,
    /// Number of GPUs not reserved by an order.
    pub free_gpus: u32,
    /// Asking price per GPU per hour, in the smallest unit of the native token.
    pub price_per_gpu_hour: Balance,
    /// The provider paused the worker: it serves its open orders but takes no new ones.
    pub paused: bool,
    /// The worker's last heartbeat is older than the heartbeat timeout (it goes `Offline` the
    /// next time the registry looks at it): it must not take new orders.
    pub heartbeat_overdue: bool,
}

impl<AccountId, Balance> WorkerSummary<AccountId, Balance> {
    /// Whether the worker may take a new order now: `Active`, not paused by its provider and
    /// not overdue on heartbeats. (Free GPUs and price are checked separately.)
    pub fn takes_new_orders(&self) -> bool {
        self.status == WorkerStatus::Active && !self.paused && !self.heartbeat_overdue
    }
}

/// What [`WorkerRegistry::find_cheapest`] found, and how much of the price index it read (for
/// weight refunds: callers pre-charge [`WorkerRegistry::max_scanned`] entries).
#[derive(Clone, Copy, PartialEq, Eq, Default, RuntimeDebug)]
pub struct CheapestMatch {
    /// The cheapest fitting worker, if any.
    pub worker: Option<WorkerId>,
    /// Index entries (worker records) read to find it.
    pub scanned: u32,
}

/// The worker registry, as seen by the orders pallet.
pub trait WorkerRegistry<AccountId, Balance> {
    /// The worker's summary, or `None` if no such worker exists.
    fn worker(id: WorkerId) -> Option<WorkerSummary<AccountId, Balance>>;

    /// The cheapest worker of `model` that takes new orders
    /// ([`WorkerSummary::takes_new_orders`]) with at least `gpus` free GPUs whose price is at
    /// most `max_price_per_gpu_hour`. Searches a bounded, price-sorted index (never all workers)
    /// and reports how many entries it read.
    fn find_cheapest(model: GpuModel, gpus: u32, max_price_per_gpu_hour: Balance) -> CheapestMatch;

    /// The most index entries [`Self::find_cheapest`] can read (the index's bound).
    fn max_scanned() -> u32;

    /// How many workers of `model` are listed for matching (`Active` and not paused, busy or
    /// not): what tells "no worker of this model" from "all of them busy" when nothing matches.
    /// One bounded read. The default lists none.
    fn listed_workers(_model: GpuModel) -> u32 {
        0
    }

    /// Reserve `gpus` GPUs of a worker that takes new orders for an order.
    fn reserve_gpus(id: WorkerId, gpus: u32) -> DispatchResult;

    /// Give back `gpus` GPUs reserved earlier. Never fails: releasing more than reserved, or for
    /// a worker that is gone, is a no-op (the registry's `try_state` catches inconsistency).
    fn release_gpus(id: WorkerId, gpus: u32);

    /// Whether `uuid_hash` ([`gpu_uuid_hash`]) is one of the GPUs worker `id` registered (what
    /// a checker may challenge it on). The default knows no GPU: a registry that tracks GPUs
    /// overrides it, and without one no check can pass.
    fn has_gpu(_id: WorkerId, _uuid_hash: &[u8; 32]) -> bool {
        false
    }
}

/// Called by the registry when a worker can no longer serve its orders.
pub trait WorkerAvailabilityHooks {
    /// `id` went Offline or was Suspended. Implementations must do bounded work and return the
    /// weight they used.
    fn on_worker_unavailable(id: WorkerId) -> Weight;

    /// The most weight [`Self::on_worker_unavailable`] can take, for pre-charging.
    fn max_weight() -> Weight;

    /// Whether `id` still has open orders, including ones that hold no GPU any more (an order
    /// of `pallet-orders` that ended but whose reported usage has not matured: a failed check
    /// of the worker must still be able to refund it). The registry refuses to deregister such
    /// a worker. One storage read at most. Defaults to `false`.
    fn has_open_orders(_id: WorkerId) -> bool {
        false
    }
}

impl WorkerAvailabilityHooks for () {
    fn on_worker_unavailable(_: WorkerId) -> Weight {
        Weight::zero()
    }
    fn max_weight() -> Weight {
        Weight::zero()
    }
}

/// Consensus verdicts on workers, as `pallet-orders` reads them: a reported usage period of an
/// order matures (is paid to the provider) once its dispute window has passed, or earlier when
/// the order's worker passed a consensus check at or after the period was reported.
/// Implemented by the checking pallet (PoPW attestations); `()` knows of no verdict (periods
/// then mature by time only).
pub trait WorkerVerdicts<BlockNumber> {
    /// The block of the last consensus verdict that passed `worker`, if any. Must be cheap (one
    /// storage read): it is read at every usage report and settlement.
    fn last_pass(worker: WorkerId) -> Option<BlockNumber>;
    /// Whether `worker` is being re-checked (a contested verdict or a user's dispute): its
    /// reported periods do not mature by time until the re-check concludes (a passing
    /// re-check matures them through [`Self::last_pass`], a failing one refunds them). One
    /// storage read.
    fn maturity_paused(_worker: WorkerId) -> bool {
        false
    }
}

impl<BlockNumber> WorkerVerdicts<BlockNumber> for () {
    fn last_pass(_: WorkerId) -> Option<BlockNumber> {
        None
    }
}

/// The Running orders a user may dispute, implemented by `pallet-orders` for the checking
/// pallet.
pub trait RunningOrders<AccountId> {
    /// The user and the worker of `order`, if it is Running. One storage read.
    fn running_order(order: OrderId) -> Option<(AccountId, WorkerId)>;
}

impl<AccountId> RunningOrders<AccountId> for () {
    fn running_order(_: OrderId) -> Option<(AccountId, WorkerId)> {
        None
    }
}

/// Attestation of workers' hardware: implemented by the registry, used by the PoPW checking
/// pallet (`pallet-popw-attestations`) for its consensus verdicts.
pub trait WorkerVerification {
    /// Mark a `PendingVerification` (or `Suspended`) worker as verified: it becomes `Active`.
    fn verify(id: WorkerId) -> DispatchResult;
    /// Suspend a worker: it stops taking orders and its running orders are failed. Returns the
    /// weight the availability hooks used (at most their `max_weight`), for the caller to charge.
    fn suspend(id: WorkerId) -> Result<Weight, DispatchError>;
    /// The most weight one [`Self::verify`] or [`Self::suspend`] can take, the availability
    /// hooks included, for callers (the PoPW pallet's verdicts) to pre-charge.
    fn max_weight() -> Weight;
}

/// How an escrow movement was split between the payer and the sponsor.
///
/// An escrow can be funded by the payer alone, or by the payer plus a sponsor (the promotion pot,
/// paying the part of an order that points discounted). Every movement out of an escrow takes
/// from both in proportion to what each still has in it.
#[derive(Clone, Copy, PartialEq, Eq, Default, Encode, Decode, TypeInfo, RuntimeDebug)]
pub struct EscrowSplit<Balance> {
    /// Amount taken from the payer's hold.
    pub from_payer: Balance,
    /// Amount taken from the sponsor's hold.
    pub from_sponsor: Balance,
}

/// An escrow service, as used by the orders pallet. All movements are `fungible` holds and
/// transfers under the escrow pallet's hold reason; nothing is minted or burnt.
pub trait Escrow<AccountId, Balance> {
    /// Hold `amount` of `payer`'s funds (and `sponsor`'s share, if any) in a new escrow `id`.
    /// Fails if `id` is in use or a party lacks the funds; on failure nothing is held.
    fn lock(
        id: EscrowId,
        payer: &AccountId,
        amount: Balance,
        sponsor: Option<(&AccountId, Balance)>,
    ) -> DispatchResult;

    /// Pay `amount` out of escrow `id` to `to` (from both holds, pro rata).
    ///
    /// An escrow that a `pay` empties is removed (a later `close` of it fails), so
    /// check [`Self::balance`] before closing if it may already be empty. A zero `amount` is a
    /// no-op that returns a zero split.
    fn pay(
        id: EscrowId,
        to: &AccountId,
        amount: Balance,
    ) -> Result<EscrowSplit<Balance>, DispatchError>;

    /// Return everything left in escrow `id` to its owners and remove it. Fails if `id` does not
    /// exist (never locked, already closed, or emptied by `pay`).
    fn close(id: EscrowId) -> Result<EscrowSplit<Balance>, DispatchError>;

    /// What is still held in escrow `id` (zero if it does not exist).
    fn balance(id: EscrowId) -> Balance;
}

/// The points ledger (refunds paid as points, spent as discounts), as used by the orders pallet.
pub trait Points<AccountId, Balance> {
    /// The promotion pot: it receives tokens refunded as points and sponsors discounts.
    fn pot_account() -> AccountId;

    /// Whether `who` wants service-failure refunds paid as points rather than tokens.
    fn prefers_points(who: &AccountId) -> bool;

    /// Points `who` holds.
    fn points_of(who: &AccountId) -> Balance;

    /// The points that buy a discount of `tokens` (at least `tokens` of discount when spent);
    /// saturates at the balance type's maximum. Callers cap what they spend with it so that
    /// only the points an order needs are spent (and sponsored by the pot).
    fn points_for_discount(tokens: Balance) -> Balance;

    /// Spend `points` of `who`'s points as a discount; returns the discount in tokens, which the
    /// pot must sponsor. Fails (spending nothing) if `who` has fewer points.
    fn spend(who: &AccountId, points: Balance) -> Result<Balance, DispatchError>;

    /// Give back points for a discount that was not used (a sponsor refund of `tokens`).
    fn restore(who: &AccountId, tokens: Balance);

    /// The pot received `tokens` that were owed to `who` as a service-failure refund: credit
    /// `who` with points at the configured rate. Returns the points credited.
    fn credit_refund(who: &AccountId, tokens: Balance) -> Balance;
}

// ---------------------------------------------------------------------------------------------
// Checker node licenses (`pallet-checker-licenses`), read by the checking and rewards pallets.
// ---------------------------------------------------------------------------------------------

/// Identifies a checker node license: the item id of its NFT in the licenses collection of
/// `pallet-nfts`.
pub type LicenseId = u32;
/// A checking epoch: `block_number / EpochLength` of `pallet-checker-licenses`.
pub type CheckingEpoch = u32;

/// One checker slot of an epoch: one delegated license. The operator runs the checks for it;
/// the owner receives the license's rewards minus the operator's `commission`.
#[derive(
    Clone,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    RuntimeDebug,
)]
pub struct CheckerSlot<AccountId> {
    /// The delegated license.
    pub license: LicenseId,
    /// Its owner (the NFT owner; a delegated license cannot be transferred).
    pub owner: AccountId,
    /// The operator it is delegated to (equal to `owner` for a self-delegated license).
    pub operator: AccountId,
    /// The operator's commission in force for the epoch (zero for a self-delegation).
    pub commission: sp_runtime::Perbill,
}

/// The checker slots of the current checking epoch, implemented by `pallet-checker-licenses`
/// for the checking and rewards pallets. The slot set changes only at epoch boundaries, so
/// everything read during an epoch is consistent. Every function is O(1) (one or two storage
/// reads): random assignment draws an index in `0..slot_count()` and reads [`Self::slot`].
pub trait CheckerSlots<AccountId> {
    /// The epoch the current slot set belongs to.
    fn current_epoch() -> CheckingEpoch;
    /// Number of slots active in the current epoch; valid indices are `0..slot_count()`.
    fn slot_count() -> u32;
    /// The slot at `index` (`None` if `index >= slot_count()`).
    fn slot(index: u32) -> Option<CheckerSlot<AccountId>>;
    /// The index of `license`'s slot, if it is active in the current epoch.
    fn slot_of(license: LicenseId) -> Option<u32>;
}

/// The checking epochs' schedule in blocks, implemented by `pallet-checker-licenses` (whose
/// [`CheckerSlots::current_epoch`] advances at each epoch's first block) for the checking
/// pallet's timeline. Epoch `e` spans blocks `epoch_start(e)..epoch_start(e + 1)`.
pub trait CheckingEpochs<BlockNumber> {
    /// Blocks per epoch (at least 1).
    fn epoch_length() -> BlockNumber;
    /// The epoch block `n` belongs to.
    fn epoch_of(n: BlockNumber) -> CheckingEpoch;
    /// The first block of `epoch` (saturating).
    fn epoch_start(epoch: CheckingEpoch) -> BlockNumber;
}

/// What one checker slot (a license) did in one epoch's checks, recorded by the checking
/// pallet when each check is finalized, for the rewards pallet.
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
    RuntimeDebug,
)]
pub struct CheckerTally {
    /// Checks the slot was assigned to (and that were finalized).
    pub assigned: u32,
    /// Of those, checks it revealed an attestation for.
    pub revealed: u32,
    /// Of the revealed ones, those whose vote (pass or not) agreed with the consensus verdict.
    /// A check with no verdict (nobody revealed) counts for nobody.
    pub agreed: u32,
    /// Assigned checks it revealed nothing for (no commitment, no seal or no reveal in time).
    pub silent: u32,
    /// Of the revealed ones, checks of canary workers (run by the network to measure checkers;
    /// counted when the canaries of the epoch are revealed).
    pub canary_checks: u32,
    /// Of those, the ones it got wrong (passed a deliberately wrong canary or failed an honest
    /// one). The error rate for the rewards formula is `canary_errors / canary_checks`.
    pub canary_errors: u32,
}

/// The checkers' per-epoch records, implemented by the checking pallet
/// (`pallet-popw-attestations`) for the rewards pallet.
pub trait CheckerPerformance {
    /// What `license`'s slot did in `epoch`'s finalized checks (zero if nothing).
    fn performance(epoch: CheckingEpoch, license: LicenseId) -> CheckerTally;
    /// Like [`Self::performance`], and remove the record and its slashes (the rewards pallet
    /// consumes them once: read [`Self::slashes`] first).
    fn take_performance(epoch: CheckingEpoch, license: LicenseId) -> CheckerTally;
    /// How many of `license`'s verdicts were overturned by an escalation (a contested verdict
    /// whose 2K+1 re-check disagreed with the majority the slot was in), recorded in the epoch
    /// the re-check concluded. The rewards pallet cuts the slot's reward by its slash fraction.
    fn slashes(epoch: CheckingEpoch, license: LicenseId) -> u32;
}

/// The current owner of a checker license (its NFT's owner), implemented by
/// `pallet-checker-licenses` for the rewards pallet (a license's owner share follows the NFT).
pub trait LicenseOwners<AccountId> {
    /// The owner of `license`, if it exists. One or two storage reads.
    fn owner_of(license: LicenseId) -> Option<AccountId>;
}

impl<AccountId> LicenseOwners<AccountId> for () {
    fn owner_of(_: LicenseId) -> Option<AccountId> {
        None
    }
}

/// What the rewards pallet accrues scores from, told by the pallets that see it happen (the
/// checking pallet: verdicts, checker work, canary scores, slashes; the orders pallet: matured
/// usage). Every function is O(1) (a few storage reads and writes) and at most
/// [`Self::max_weight`].
pub trait RewardAccrual<AccountId> {
    /// A passing consensus verdict of `worker` (provided by `provider`), with the median
    /// throughput measured: proof of capacity for the current reward era.
    fn worker_passed(worker: WorkerId, provider: &AccountId, throughput_gops: u64);
    /// A failed consensus verdict of `worker`: it earns nothing in the current era.
    fn worker_failed(worker: WorkerId);
    /// `gpu_blocks` GPU-blocks of `worker`'s service (provided by `provider`) matured and were
    /// paid: proof of delivery for the current reward era.
    fn usage_delivered(worker: WorkerId, provider: &AccountId, gpu_blocks: u64);
    /// `license`'s slot (operated by `operator`) revealed an attestation that agreed with the
    /// consensus of a check of `epoch`.
    fn checker_agreed(epoch: CheckingEpoch, license: LicenseId, operator: &AccountId);
    /// `license`'s slot was scored on a canary of `epoch`; `erred` if it got it wrong.
    fn canary_scored(epoch: CheckingEpoch, license: LicenseId, erred: bool);
    /// A verdict of `verdict_epoch` that `license`'s slot was in the majority of was overturned
    /// by an escalation: its agreement no longer counts as work, and the slot's reward for that
    /// era is cut by the slash fraction.
    fn vote_slashed(verdict_epoch: CheckingEpoch, license: LicenseId);
    /// The most any one of these functions costs.
    fn max_weight() -> Weight;
}

impl<AccountId> RewardAccrual<AccountId> for () {
    fn worker_passed(_: WorkerId, _: &AccountId, _: u64) {}
    fn worker_failed(_: WorkerId) {}
    fn usage_delivered(_: WorkerId, _: &AccountId, _: u64) {}
    fn checker_agreed(_: CheckingEpoch, _: LicenseId, _: &AccountId) {}
    fn canary_scored(_: CheckingEpoch, _: LicenseId, _: bool) {}
    fn vote_slashed(_: CheckingEpoch, _: LicenseId) {}
    fn max_weight() -> Weight {
        Weight::zero()
    }
}

/// Who referred an account (recorded once, at its first commitment with a referral code), for
/// the rewards pallet. Implemented by `pallet-checker-licenses`.
pub trait Referrals<AccountId> {
    /// The referrer of `who`, if any.
    fn referrer_of(who: &AccountId) -> Option<AccountId>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_uuid_hash_is_blake2_256_of_the_tagged_uuid() {
        // blake2b-256 of "kaisar-popw/gpu-uuid/v1GPU-00000000-0000-0000-0000-000000000000",
        // computed independently (Python hashlib).
        let expected = "b8f3a7c1cd83b9e4945f93b5e3d09b189f09dae321b3397626e810fbef88fb42";
        let got = gpu_uuid_hash(b"GPU-00000000-0000-0000-0000-000000000000");
        let hex: alloc::string::String = got.iter().map(|b| alloc::format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
        assert_ne!(gpu_uuid_hash(b"GPU-1"), gpu_uuid_hash(b"GPU-2"));
    }
}
