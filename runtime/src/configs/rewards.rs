//! Rewards (`pallet-rewards`, index 57): what providers and checkers earn per reward era, paid
//! from the reward pot (`kai/rwds`), vesting over 30 days.
//!
//! An era is a day (24 one-hour checking epochs; one 20-block epoch on the development
//! chains). It accrues until three epochs after its end (canary reveals take two; a contest of
//! its last verdicts is re-checked in the next), then anyone closes it and its budget is held on
//! the pot: at most [`REWARDS_ERA_BUDGET`], scaled down pro rata if the pot holds less.

use frame_support::{parameter_types, PalletId};
use sp_runtime::Perbill;

use crate::{Balance, Balances, BlockNumber, CheckerLicenses, Runtime, DAYS, UNITS};

/// The most a reward era pays: 10 000 tokens (grants and referral shares).
pub const REWARDS_ERA_BUDGET: Balance = 10_000 * UNITS;

/// Reward eras of the development presets: one checking epoch (20 blocks), so that rewards can
/// be claimed while a person watches.
pub const DEV_ERA_EPOCHS: u32 = 1;

/// What the reward pot holds at genesis on the development chains.
pub const DEV_REWARD_POT_BALANCE: Balance = 100_000 * UNITS;

parameter_types! {
    /// The reward pot's id; its account is `PalletId(*b"kai/rwds").into_account_truncating()`.
    pub const RewardsPotId: PalletId = PalletId(*b"kai/rwds");
    /// A day of one-hour checking epochs.
    pub const RewardsDefaultEraEpochs: u32 = 24;
    /// Canary reveals (two epochs) and re-checks of contested verdicts (the next epoch) land
    /// before an era is closed.
    pub const RewardsFinalityEpochs: u32 = 3;
    pub const RewardsEraBudget: Balance = REWARDS_ERA_BUDGET;
    /// Providers get 60% of the base budget: 40% of it for proven capacity, 60% for delivered
    /// GPU-hours (usage is what users pay for).
    pub const RewardsProviderShare: Perbill = Perbill::from_percent(60);
    pub const RewardsPocShare: Perbill = Perbill::from_percent(40);
    /// A referrer earns 5% on top of each payout to an account it referred.
    pub const RewardsReferralShare: Perbill = Perbill::from_percent(5);
    /// A slot whose verdict was overturned loses half its reward of that era.
    pub const RewardsSlashFraction: Perbill = Perbill::from_percent(50);
    /// Grants vest linearly over 30 days.
    pub const RewardsUnlockPeriod: BlockNumber = 30 * DAYS;
}

/// The reward pot's account.
pub fn reward_pot_account() -> crate::AccountId {
    use sp_runtime::traits::AccountIdConversion;
    RewardsPotId::get().into_account_truncating()
}

impl pallet_rewards::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = crate::RuntimeHoldReason;
    type Slots = CheckerLicenses;
    type Licenses = CheckerLicenses;
    type Referrals = CheckerLicenses;
    type PotId = RewardsPotId;
    type DefaultEraEpochs = RewardsDefaultEraEpochs;
    type FinalityEpochs = RewardsFinalityEpochs;
    type EraBudget = RewardsEraBudget;
    type ProviderShare = RewardsProviderShare;
    type PocShare = RewardsPocShare;
    type ReferralShare = RewardsReferralShare;
    type SlashFraction = RewardsSlashFraction;
    type UnlockPeriod = RewardsUnlockPeriod;
    type WeightInfo = pallet_rewards::weights::SubstrateWeight<Runtime>;
}
