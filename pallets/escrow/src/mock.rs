//! Test runtime: frame-system, pallet-balances (the real currency) and the escrow pallet.

use crate as pallet_escrow;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{construct_runtime, derive_impl, parameter_types, traits::ConstU32};
use scale_info::TypeInfo;
use sp_runtime::BuildStorage;

pub type AccountId = u64;
pub type Balance = u64;
type Block = frame_system::mocking::MockBlock<Test>;

/// A payer with plenty of funds.
pub const ALICE: AccountId = 1;
/// A provider (receives payments).
pub const BOB: AccountId = 2;
/// The sponsor (the promotion pot).
pub const POT: AccountId = 3;
/// An account with little money.
pub const POOR: AccountId = 4;
/// An account that does not exist at genesis.
pub const NOBODY: AccountId = 99;

pub const ED: Balance = 5;
pub const INITIAL: Balance = 1_000;
pub const POOR_INITIAL: Balance = 50;

construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Escrow: pallet_escrow,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountData = pallet_balances::AccountData<Balance>;
}

parameter_types! {
    pub const ExistentialDeposit: Balance = ED;
}

/// Why a test freezes funds (a stand-in for a vesting or governance lock of another pallet).
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
pub enum TestFreezeReason {
    /// Funds locked by a vesting schedule.
    Vesting,
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type Balance = Balance;
    type ExistentialDeposit = ExistentialDeposit;
    type AccountStore = System;
    type FreezeIdentifier = TestFreezeReason;
    type MaxFreezes = ConstU32<1>;
}

impl pallet_escrow::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type WeightInfo = ();
}

/// Builds test externalities with funded accounts.
pub struct ExtBuilder {
    balances: Vec<(AccountId, Balance)>,
}

impl Default for ExtBuilder {
    fn default() -> Self {
        Self {
            balances: vec![
                (ALICE, INITIAL),
                (BOB, INITIAL),
                (POT, INITIAL),
                (POOR, POOR_INITIAL),
            ],
        }
    }
}

impl ExtBuilder {
    pub fn build(self) -> sp_io::TestExternalities {
        let mut storage = frame_system::GenesisConfig::<Test>::default()
            .build_storage()
            .unwrap();
        pallet_balances::GenesisConfig::<Test> {
            balances: self.balances,
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
            Escrow::do_try_state().expect("try_state must hold after every test");
        })
    }
}
