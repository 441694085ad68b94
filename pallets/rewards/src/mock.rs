//! Test runtime: frame-system, balances and this pallet, with an in-memory slot set (epochs of
//! [`EPOCH`] blocks), license owners and referrals.

use crate::{self as pallet_rewards};
use core::cell::RefCell;
use frame_support::{
    derive_impl, parameter_types,
    traits::{ConstU32, ConstU64},
    PalletId,
};
use kaisar_primitives::{
    CheckerSlot, CheckerSlots, CheckingEpoch, CheckingEpochs, LicenseId, LicenseOwners, Referrals,
};
use sp_runtime::{BuildStorage, Perbill};
use std::collections::BTreeMap;

pub type AccountId = u64;
pub type Balance = u128;
type Block = frame_system::mocking::MockBlock<Test>;

/// Blocks per checking epoch.
pub const EPOCH: u64 = 10;
/// Epochs per era.
pub const ERA_EPOCHS: u32 = 2;
/// Epochs after an era before it closes.
pub const FINALITY: u32 = 1;
/// The most an era pays.
pub const ERA_BUDGET: Balance = 1_100;
/// Vesting period.
pub const UNLOCK: u64 = 100;
/// What the pot holds at genesis.
pub const POT_FUNDS: Balance = 10_000;

#[frame_support::runtime]
mod runtime {
    #[runtime::runtime]
    #[runtime::derive(
        RuntimeCall,
        RuntimeEvent,
        RuntimeError,
        RuntimeOrigin,
        RuntimeFreezeReason,
        RuntimeHoldReason,
        RuntimeTask
    )]
    pub struct Test;

    #[runtime::pallet_index(0)]
    pub type System = frame_system;
    #[runtime::pallet_index(1)]
    pub type Balances = pallet_balances;
    #[runtime::pallet_index(2)]
    pub type Rewards = pallet_rewards;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = AccountId;
    type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type Balance = Balance;
    type AccountStore = System;
    type ExistentialDeposit = ConstU128<1>;
    type RuntimeHoldReason = RuntimeHoldReason;
}

use frame_support::traits::ConstU128;

thread_local! {
    static SLOTS: RefCell<Vec<CheckerSlot<AccountId>>> = RefCell::new(Vec::new());
    static OWNERS: RefCell<BTreeMap<LicenseId, AccountId>> = RefCell::new(BTreeMap::new());
    static REFERRERS: RefCell<BTreeMap<AccountId, AccountId>> = RefCell::new(BTreeMap::new());
}

/// The slot set: `(license, operator, commission)`, owners set apart.
pub fn set_slots(slots: &[(LicenseId, AccountId, Perbill)]) {
    SLOTS.with(|s| {
        *s.borrow_mut() = slots
            .iter()
            .map(|(license, operator, commission)| CheckerSlot {
                license: *license,
                owner: OWNERS.with(|o| o.borrow().get(license).copied().unwrap_or(*operator)),
                operator: *operator,
                commission: *commission,
            })
            .collect()
    });
}

/// `owner` owns `license` (its NFT).
pub fn set_owner(license: LicenseId, owner: AccountId) {
    OWNERS.with(|o| o.borrow_mut().insert(license, owner));
}

/// `referrer` referred `who`.
pub fn set_referrer(who: AccountId, referrer: AccountId) {
    REFERRERS.with(|r| r.borrow_mut().insert(who, referrer));
}

pub struct MockSlots;

impl CheckerSlots<AccountId> for MockSlots {
    fn current_epoch() -> CheckingEpoch {
        Self::epoch_of(System::block_number())
    }
    fn slot_count() -> u32 {
        SLOTS.with(|s| s.borrow().len() as u32)
    }
    fn slot(index: u32) -> Option<CheckerSlot<AccountId>> {
        SLOTS.with(|s| s.borrow().get(index as usize).cloned())
    }
    fn slot_of(license: LicenseId) -> Option<u32> {
        SLOTS.with(|s| {
            s.borrow()
                .iter()
                .position(|x| x.license == license)
                .map(|i| i as u32)
        })
    }
}

impl CheckingEpochs<u64> for MockSlots {
    fn epoch_length() -> u64 {
        EPOCH
    }
    fn epoch_of(n: u64) -> CheckingEpoch {
        (n / EPOCH) as CheckingEpoch
    }
    fn epoch_start(epoch: CheckingEpoch) -> u64 {
        epoch as u64 * EPOCH
    }
}

pub struct MockLicenses;
impl LicenseOwners<AccountId> for MockLicenses {
    fn owner_of(license: LicenseId) -> Option<AccountId> {
        OWNERS.with(|o| o.borrow().get(&license).copied())
    }
}

pub struct MockReferrals;
impl Referrals<AccountId> for MockReferrals {
    fn referrer_of(who: &AccountId) -> Option<AccountId> {
        REFERRERS.with(|r| r.borrow().get(who).copied())
    }
}

parameter_types! {
    pub const PotId: PalletId = PalletId(*b"kai/rwds");
    pub const EraBudget: Balance = ERA_BUDGET;
    pub const ProviderShare: Perbill = Perbill::from_percent(50);
    pub const PocShare: Perbill = Perbill::from_percent(40);
    pub const ReferralShare: Perbill = Perbill::from_percent(10);
    pub const SlashFraction: Perbill = Perbill::from_percent(50);
}

impl pallet_rewards::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Slots = MockSlots;
    type Licenses = MockLicenses;
    type Referrals = MockReferrals;
    type PotId = PotId;
    type DefaultEraEpochs = ConstU32<ERA_EPOCHS>;
    type FinalityEpochs = ConstU32<FINALITY>;
    type EraBudget = EraBudget;
    type ProviderShare = ProviderShare;
    type PocShare = PocShare;
    type ReferralShare = ReferralShare;
    type SlashFraction = SlashFraction;
    type UnlockPeriod = ConstU64<UNLOCK>;
    type WeightInfo = ();
}

/// Builds test externalities: the pot funded with `pot` (default [`POT_FUNDS`]), everyone
/// else with 100.
pub struct ExtBuilder {
    pot: Balance,
}

impl Default for ExtBuilder {
    fn default() -> Self {
        Self { pot: POT_FUNDS }
    }
}

impl ExtBuilder {
    pub fn pot(mut self, pot: Balance) -> Self {
        self.pot = pot;
        self
    }

    pub fn build(self) -> sp_io::TestExternalities {
        SLOTS.with(|s| s.borrow_mut().clear());
        OWNERS.with(|o| o.borrow_mut().clear());
        REFERRERS.with(|r| r.borrow_mut().clear());
        let mut storage = frame_system::GenesisConfig::<Test>::default()
            .build_storage()
            .unwrap();
        let mut balances: Vec<(AccountId, Balance)> = (1..=100u64).map(|a| (a, 100)).collect();
        if self.pot > 0 {
            balances.push((Rewards::pot(), self.pot));
        }
        pallet_balances::GenesisConfig::<Test> {
            balances,
            ..Default::default()
        }
        .assimilate_storage(&mut storage)
        .unwrap();
        let mut ext = sp_io::TestExternalities::new(storage);
        ext.execute_with(|| System::set_block_number(1));
        ext
    }

    /// Run `test`, then check the pallet's invariants.
    pub fn build_and_execute(self, test: impl FnOnce()) {
        self.build().execute_with(|| {
            test();
            Rewards::do_try_state().expect("try_state must hold after every test");
        })
    }
}

/// Move to block `n`.
pub fn run_to_block(n: u64) {
    if System::block_number() < n {
        System::set_block_number(n);
    }
}

/// The first block of epoch `e`.
pub fn start(e: CheckingEpoch) -> u64 {
    e as u64 * EPOCH
}
