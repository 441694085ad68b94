//! Types stored by the checker-licenses pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::*, BoundedVec, CloneNoBound, DebugNoBound, PartialEqNoBound};
use kaisar_primitives::{CheckingEpoch, LicenseId};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::Perbill;

/// Identifies a sale round.
pub type RoundId = u32;
/// A license tier: an index into the round's tiers (a grant names it freely).
pub type Tier = u8;

/// One tier of a sale round, as opened by the `SaleOrigin`.
#[derive(
    Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct TierTerms<Balance> {
    /// Price of one license of this tier, before any referral discount.
    pub price: Balance,
    /// Licenses of this tier for sale in the round (at least one).
    pub supply: u32,
}

/// A tier of a round with its running totals.
#[derive(
    Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct TierSale<Balance> {
    /// Price of one license, before any referral discount.
    pub price: Balance,
    /// Licenses for sale.
    pub supply: u32,
    /// Licenses committed to by all buyers (may exceed `supply`: oversubscription).
    pub committed: u32,
    /// Number of commitments to this tier.
    pub buyers: u32,
    /// The random start of the allocation lottery in `0..committed`, fixed at settlement (zero
    /// until then, and when the tier is not oversubscribed). See the crate docs.
    pub offset: u32,
}

/// Where a sale round stands.
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
pub enum RoundStatus {
    /// Opened; commitments are accepted between `start` and `end`.
    Open,
    /// Settled after `end`: allocations are fixed, buyers claim.
    Settled,
}

/// A sale round.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    DebugNoBound,
)]
#[scale_info(skip_type_params(MaxTiers))]
#[codec(mel_bound(AccountId: MaxEncodedLen, Balance: MaxEncodedLen, BlockNumber: MaxEncodedLen))]
pub struct Round<
    AccountId: Clone + PartialEq + core::fmt::Debug,
    Balance: Clone + PartialEq + core::fmt::Debug,
    BlockNumber: Clone + PartialEq + core::fmt::Debug,
    MaxTiers: Get<u32>,
> {
    /// First block in which commitments are accepted.
    pub start: BlockNumber,
    /// Last block in which commitments are accepted; the round can be settled after it.
    pub end: BlockNumber,
    /// The tiers on sale; a commitment names a tier by its index here.
    pub tiers: BoundedVec<TierSale<Balance>, MaxTiers>,
    /// Most licenses one account may commit to in this round, all tiers together.
    pub cap_per_wallet: u32,
    /// If set, only accounts in this Merkle tree may commit (see the crate docs for the tree).
    pub allow_list_root: Option<H256>,
    /// Receives the sale proceeds (what buyers pay for allocated licenses, less commissions).
    pub beneficiary: AccountId,
    /// Open or settled.
    pub status: RoundStatus,
    /// Sum of the funds still held for this round's unclaimed commitments.
    pub held: Balance,
    /// Number of buyers who committed and have not claimed yet.
    pub unclaimed: u32,
}

/// A buyer's commitment to one tier of a round.
#[derive(
    Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct TierCommitment {
    /// The tier.
    pub tier: Tier,
    /// Licenses committed to.
    pub units: u32,
    /// Licenses committed to this tier by earlier buyers: this commitment covers positions
    /// `position..position + units` of the tier's allocation line.
    pub position: u32,
}

/// Everything one buyer committed to in one round.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    DebugNoBound,
)]
#[scale_info(skip_type_params(MaxTiers))]
#[codec(mel_bound(AccountId: MaxEncodedLen, Balance: MaxEncodedLen))]
pub struct Commitment<
    AccountId: Clone + PartialEq + core::fmt::Debug,
    Balance: Clone + PartialEq + core::fmt::Debug,
    MaxTiers: Get<u32>,
> {
    /// One entry per tier committed to (at most one per tier).
    pub tiers: BoundedVec<TierCommitment, MaxTiers>,
    /// The owner of the referral code used (the same for all tiers of the round).
    pub referrer: Option<AccountId>,
    /// Funds held for this commitment: the full price of every license committed to.
    pub held: Balance,
}

/// What a claim settled (returned for events and tests).
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct ClaimOutcome<Balance> {
    /// Licenses allocated (and minted).
    pub licenses: u32,
    /// Paid to the beneficiary.
    pub paid: Balance,
    /// Paid to the referrer.
    pub commission: Balance,
    /// Referral discount granted (not paid by the buyer).
    pub discount: Balance,
    /// Released back to the buyer.
    pub released: Balance,
}

/// A minted license.
#[derive(
    Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct LicenseInfo<BlockNumber> {
    /// The license's tier.
    pub tier: Tier,
    /// The sale round it was bought in (`None` for a grant).
    pub round: Option<RoundId>,
    /// The block it was minted in.
    pub minted_at: BlockNumber,
}

/// A license's delegation as its owner wants it (it enters the slot set at the next epoch).
#[derive(
    Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct Delegation<AccountId> {
    /// The license owner who delegated.
    pub owner: AccountId,
    /// The operator (the owner itself for a self-delegation).
    pub operator: AccountId,
}

/// A slot of the current epoch's slot set (the commission is read from the operator lazily).
#[derive(
    Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct SlotRecord<AccountId> {
    /// The delegated license.
    pub license: LicenseId,
    /// Its owner.
    pub owner: AccountId,
    /// Its operator.
    pub operator: AccountId,
}

/// A registered operator.
#[derive(
    Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct OperatorInfo {
    /// Commission in force (unless `pending` has matured).
    pub commission: Perbill,
    /// A commission change and the first epoch it applies in.
    pub pending: Option<(Perbill, CheckingEpoch)>,
    /// Most licenses the operator accepts (`None`: no cap).
    pub max_licenses: Option<u32>,
    /// Licenses delegated to it now (as owners want it, pending changes included).
    pub delegated: u32,
}

impl OperatorInfo {
    /// The commission in force in `epoch`.
    pub fn commission_at(&self, epoch: CheckingEpoch) -> Perbill {
        match self.pending {
            Some((next, from)) if from <= epoch => next,
            _ => self.commission,
        }
    }
}
