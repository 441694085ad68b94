//! The pallet's types: who a reward is for, the scores accrued per era and party, and an era's
//! budget once closed.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::fmt::Debug as RuntimeDebug;
use kaisar_primitives::{LicenseId, WorkerId};
use scale_info::TypeInfo;
use sp_runtime::{traits::Saturating, Perbill};

/// A reward era: `EraLength` consecutive checking epochs (era `r` spans epochs
/// `r * EraLength .. (r + 1) * EraLength`).
pub type RewardEra = u32;

/// Who a grant of an era is for.
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
pub enum Beneficiary {
    /// The provider of a worker (as recorded when the worker earned in the era).
    #[codec(index = 0)]
    Provider(WorkerId),
    /// The owner of a checker license (its NFT's owner when claiming): the license's reward
    /// less the operator's commission.
    #[codec(index = 1)]
    LicenseOwner(LicenseId),
    /// The operator a license was delegated to (as recorded when the slot worked): the
    /// commission part of the license's reward.
    #[codec(index = 2)]
    LicenseOperator(LicenseId),
}

/// What a worker earned in an era.
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
pub struct ProviderScore<AccountId> {
    /// Who is paid: the worker's provider.
    pub provider: AccountId,
    /// Proof of capacity: the sum, over the era's passing verdicts, of the verified median
    /// throughput in GOPS (throughput x attested uptime, one epoch per verdict).
    pub poc: u128,
    /// Proof of delivery: GPU-blocks of service that matured and were paid in the era.
    pub pod: u128,
    /// A verdict failed the worker in the era: it earns nothing for it.
    pub failed: bool,
    /// Paid to the provider so far (after the era closed).
    pub paid: u128,
}

/// What a checker slot (a license) earned in an era.
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
pub struct CheckerScore<AccountId> {
    /// The operator the license was delegated to when it last worked in the era.
    pub operator: AccountId,
    /// The operator's commission then.
    pub commission: Perbill,
    /// Work: attestations that agreed with the consensus.
    pub agreed: u32,
    /// Canary checks scored.
    pub canary_checks: u32,
    /// Of those, wrong ones.
    pub canary_errors: u32,
    /// Verdicts of the slot overturned by an escalation.
    pub slashes: u32,
    /// Paid to the owner so far.
    pub owner_paid: u128,
    /// Paid to the operator so far.
    pub operator_paid: u128,
}

impl<AccountId> CheckerScore<AccountId> {
    /// A fresh record for `operator`.
    pub fn new(operator: AccountId, commission: Perbill) -> Self {
        Self {
            operator,
            commission,
            agreed: 0,
            canary_checks: 0,
            canary_errors: 0,
            slashes: 0,
            owner_paid: 0,
            operator_paid: 0,
        }
    }

    /// The accuracy factor `(1 - error) x (1 - slash)`: the canary error rate
    /// `canary_errors / canary_checks` (none without canary checks), and `slash_fraction` off
    /// if any of the slot's verdicts was overturned.
    pub fn quality(&self, slash_fraction: Perbill) -> Perbill {
        let accuracy = if self.canary_checks == 0 {
            Perbill::one()
        } else {
            Perbill::from_rational(
                self.canary_checks.saturating_sub(self.canary_errors),
                self.canary_checks,
            )
        };
        let kept = if self.slashes > 0 {
            Perbill::one().saturating_sub(slash_fraction)
        } else {
            Perbill::one()
        };
        accuracy * kept
    }

    /// The score: work x stake x quality, in parts per billion (stake is one license per
    /// slot).
    pub fn score(&self, slash_fraction: Perbill) -> u128 {
        (self.agreed as u128).saturating_mul(self.quality(slash_fraction).deconstruct() as u128)
    }
}

/// The score totals of an era, kept up to date as scores accrue (each update replaces the
/// party's old score in the total by its new one).
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
pub struct EraTotals {
    /// Sum of the providers' proof of capacity (failed workers excluded).
    pub poc: u128,
    /// Sum of the providers' proof of delivery (failed workers excluded).
    pub pod: u128,
    /// Sum of the checker slots' scores.
    pub checker: u128,
}

/// A closed era's budget: taken from the pot and held there until claimed.
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
pub struct EraBudget<Balance, BlockNumber> {
    /// The era's finality block (the first block it could be closed): its grants vest
    /// linearly from here over `UnlockPeriod`, whenever the era was actually closed.
    pub vests_from: BlockNumber,
    /// Shared by proof of capacity.
    pub poc_pool: Balance,
    /// Shared by proof of delivery.
    pub pod_pool: Balance,
    /// Shared by the checker slots.
    pub checker_pool: Balance,
    /// The era's final score totals.
    pub totals: EraTotals,
    /// Held on the pot for the era: the pools plus the referral reserve
    /// (`ReferralShare` of the pools).
    pub held: Balance,
    /// Paid out of `held` so far (grants and referral shares) or released back to the pot
    /// (referral shares of accounts without a referrer).
    pub spent: Balance,
}
