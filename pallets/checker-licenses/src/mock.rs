//! Test runtime: frame-system, pallet-balances, pallet-nfts (locked by this pallet) and the
//! checker-licenses pallet.

use crate as pallet_checker_licenses;
use frame_support::{
    construct_runtime, derive_impl, parameter_types,
    traits::{AsEnsureOriginWithArg, ConstU32, ConstU64, Hooks, NeverEnsureOrigin},
    PalletId,
};
use frame_system::EnsureRoot;
use pallet_nfts::PalletFeatures;
use sp_runtime::{
    testing::{TestSignature, UintAuthorityId},
    BuildStorage, Perbill,
};

pub type AccountId = u64;
pub type Balance = u64;
type Block = frame_system::mocking::MockBlock<Test>;

pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
pub const DAVE: AccountId = 4;
/// The sale beneficiary.
pub const TREASURY: AccountId = 9;
/// An operator.
pub const OPERATOR: AccountId = 10;
pub const OPERATOR2: AccountId = 11;
/// An account with little money.
pub const POOR: AccountId = 20;

pub const ED: Balance = 1;
pub const INITIAL: Balance = 1_000_000;
/// Blocks per checking epoch in the mock.
pub const EPOCH: u64 = 10;

construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Nfts: pallet_nfts,
        CheckerLicenses: pallet_checker_licenses,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type Balance = Balance;
    type ExistentialDeposit = ConstU64<ED>;
    type AccountStore = System;
    type RuntimeHoldReason = RuntimeHoldReason;
}

parameter_types! {
    pub storage Features: PalletFeatures = PalletFeatures::all_enabled();
}

/// Benchmark helper of pallet-nfts for `u64` accounts (its benchmarks are not run here).
#[cfg(feature = "runtime-benchmarks")]
pub struct NftsHelper;
#[cfg(feature = "runtime-benchmarks")]
impl pallet_nfts::BenchmarkHelper<u32, u32, UintAuthorityId, AccountId, TestSignature>
    for NftsHelper
{
    fn collection(i: u16) -> u32 {
        i.into()
    }
    fn item(i: u16) -> u32 {
        i.into()
    }
    fn signer() -> (UintAuthorityId, AccountId) {
        (UintAuthorityId(1), 1)
    }
    fn sign(signer: &UintAuthorityId, message: &[u8]) -> TestSignature {
        TestSignature(signer.0, message.to_vec())
    }
}

impl pallet_nfts::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type CollectionId = u32;
    type ItemId = u32;
    type Currency = Balances;
    /// Nobody creates collections by extrinsic: the licenses collection is the pallet's.
    type CreateOrigin = AsEnsureOriginWithArg<NeverEnsureOrigin<AccountId>>;
    type ForceOrigin = EnsureRoot<AccountId>;
    /// Delegated licenses cannot be transferred.
    type Locker = CheckerLicenses;
    type CollectionDeposit = ConstU64<0>;
    type ItemDeposit = ConstU64<0>;
    type MetadataDepositBase = ConstU64<1>;
    type AttributeDepositBase = ConstU64<1>;
    type DepositPerByte = ConstU64<1>;
    type StringLimit = ConstU32<50>;
    type KeyLimit = ConstU32<32>;
    type ValueLimit = ConstU32<64>;
    type ApprovalsLimit = ConstU32<10>;
    type ItemAttributesApprovalsLimit = ConstU32<2>;
    type MaxTips = ConstU32<10>;
    type MaxDeadlineDuration = ConstU64<10000>;
    type MaxAttributesPerCall = ConstU32<2>;
    type Features = Features;
    type OffchainSignature = TestSignature;
    type OffchainPublic = UintAuthorityId;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type Helper = NftsHelper;
    type BlockNumberProvider = frame_system::Pallet<Test>;
}

parameter_types! {
    pub const LicensesPalletId: PalletId = PalletId(*b"ksr/lics");
    pub const ReferralDiscount: Perbill = Perbill::from_percent(5);
    pub const ReferralCommission: Perbill = Perbill::from_percent(10);
    pub const MaxCommission: Perbill = Perbill::from_percent(50);
}

impl pallet_checker_licenses::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type CollectionId = u32;
    type Nfts = Nfts;
    type Randomness = crate::ParentHashRandomness<Test>;
    type SaleOrigin = EnsureRoot<AccountId>;
    type MintOrigin = EnsureRoot<AccountId>;
    type PalletId = LicensesPalletId;
    type MaxTiers = ConstU32<3>;
    type MaxPerWallet = ConstU32<20>;
    type MaxProofLen = ConstU32<8>;
    type MaxCodeLen = ConstU32<12>;
    type ReferralDiscount = ReferralDiscount;
    type ReferralCommission = ReferralCommission;
    type DefaultEpochLength = ConstU64<EPOCH>;
    type MaxPendingChanges = ConstU32<8>;
    type MaxCommission = MaxCommission;
    type CommissionIncreaseDelay = ConstU32<2>;
    type WeightInfo = ();
}

/// Builds test externalities with funded accounts and the licenses collection.
pub struct ExtBuilder {
    balances: Vec<(AccountId, Balance)>,
    epoch_length: Option<u64>,
}

impl Default for ExtBuilder {
    fn default() -> Self {
        Self {
            balances: vec![
                (ALICE, INITIAL),
                (BOB, INITIAL),
                (CHARLIE, INITIAL),
                (DAVE, INITIAL),
                (TREASURY, INITIAL),
                (OPERATOR, INITIAL),
                (OPERATOR2, INITIAL),
                (POOR, 100),
            ],
            epoch_length: None,
        }
    }
}

impl ExtBuilder {
    /// A genesis epoch length other than the default.
    pub fn with_epoch_length(mut self, length: u64) -> Self {
        self.epoch_length = Some(length);
        self
    }

    /// Extra funded accounts.
    pub fn with_accounts(
        mut self,
        accounts: impl IntoIterator<Item = (AccountId, Balance)>,
    ) -> Self {
        self.balances.extend(accounts);
        self
    }

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
        pallet_checker_licenses::GenesisConfig::<Test> {
            epoch_length: self.epoch_length,
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
            CheckerLicenses::do_try_state().expect("try_state must hold after every test");
        })
    }
}

/// Advance to block `n`, running the pallet's `on_initialize` in each block.
pub fn run_to_block(n: u64) {
    while System::block_number() < n {
        let next = System::block_number() + 1;
        System::set_block_number(next);
        System::set_parent_hash(sp_core::H256::from_low_u64_be(next));
        CheckerLicenses::on_initialize(next);
    }
}

/// Advance to the first block of epoch `e`.
pub fn run_to_epoch(e: u32) {
    run_to_block(e as u64 * EPOCH);
}
