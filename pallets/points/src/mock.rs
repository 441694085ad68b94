//! Test runtime: frame-system, pallet-balances (the real currency) and the points pallet.

use crate as pallet_points;
use frame_support::{construct_runtime, derive_impl, parameter_types, PalletId};
use sp_runtime::{BuildStorage, FixedU128};

pub type AccountId = u64;
pub type Balance = u64;
type Block = frame_system::mocking::MockBlock<Test>;

/// A user with plenty of funds.
pub const ALICE: AccountId = 1;
/// Another user.
pub const BOB: AccountId = 2;
/// An account with little money.
pub const POOR: AccountId = 4;

pub const ED: Balance = 5;
pub const INITIAL: Balance = 1_000;
pub const POOR_INITIAL: Balance = 50;
/// The pot's balance at genesis.
pub const POT_INITIAL: Balance = 1_000;

construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Points: pallet_points,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountData = pallet_balances::AccountData<Balance>;
}

parameter_types! {
    pub const ExistentialDeposit: Balance = ED;
    pub const PotId: PalletId = PalletId(*b"ksr/pot_");
    /// Points per token; 2 unless a test sets another rate.
    pub static PointsPerToken: FixedU128 = FixedU128::from_u32(2);
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type Balance = Balance;
    type ExistentialDeposit = ExistentialDeposit;
    type AccountStore = System;
}

impl pallet_points::Config for Test {
    type Currency = Balances;
    type PotId = PotId;
    type PointsPerToken = PointsPerToken;
    type WeightInfo = ();
}

/// The promotion pot.
pub fn pot() -> AccountId {
    Points::pot()
}

/// Builds test externalities: funded accounts, a funded pot, optional genesis points.
pub struct ExtBuilder {
    balances: Vec<(AccountId, Balance)>,
    points: Vec<(AccountId, Balance)>,
    rate: FixedU128,
}

impl Default for ExtBuilder {
    fn default() -> Self {
        Self {
            balances: vec![
                (ALICE, INITIAL),
                (BOB, INITIAL),
                (POOR, POOR_INITIAL),
                (pot(), POT_INITIAL),
            ],
            points: vec![],
            rate: FixedU128::from_u32(2),
        }
    }
}

impl ExtBuilder {
    /// Genesis points.
    pub fn points(mut self, points: Vec<(AccountId, Balance)>) -> Self {
        self.points = points;
        self
    }

    /// Points per token.
    pub fn rate(mut self, rate: FixedU128) -> Self {
        self.rate = rate;
        self
    }

    /// Genesis balance of the pot (no balances entry if zero: the points genesis then mints the
    /// existential deposit into it).
    pub fn pot_balance(mut self, balance: Balance) -> Self {
        self.balances.retain(|(who, _)| *who != pot());
        if balance > 0 {
            self.balances.push((pot(), balance));
        }
        self
    }

    pub fn build(self) -> sp_io::TestExternalities {
        PointsPerToken::set(self.rate);
        let mut storage = frame_system::GenesisConfig::<Test>::default()
            .build_storage()
            .unwrap();
        pallet_balances::GenesisConfig::<Test> {
            balances: self.balances,
            ..Default::default()
        }
        .assimilate_storage(&mut storage)
        .unwrap();
        pallet_points::GenesisConfig::<Test> {
            points: self.points,
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
            Points::do_try_state().expect("try_state must hold after every test");
        })
    }
}
