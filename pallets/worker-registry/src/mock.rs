//! Test runtime: frame-system, pallet-balances (the real currency) and the registry.

use crate::{self as pallet_worker_registry, *};
use core::cell::RefCell;
use frame_support::{
    assert_ok, derive_impl, parameter_types,
    traits::{ConstU32, ConstU64, Hooks},
    weights::Weight,
};
use frame_system::EnsureRoot;
use kaisar_primitives::WorkerAvailabilityHooks;
use sp_core::H256;
use sp_runtime::{BoundedVec, BuildStorage};

pub type AccountId = u64;
pub type Balance = u64;
type Block = frame_system::mocking::MockBlock<Test>;

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
    pub type WorkerRegistry = pallet_worker_registry;
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
    type ExistentialDeposit = ConstU64<ED>;
    type AccountStore = System;
    type RuntimeHoldReason = RuntimeHoldReason;
}

/// Existential deposit.
pub const ED: Balance = 1;
/// Registration fee.
pub const FEE: Balance = 10;
/// Worker deposit.
pub const DEPOSIT: Balance = 100;
/// Heartbeat timeout, in blocks.
pub const TIMEOUT: u64 = 10;
/// Unbonding period, in blocks.
pub const UNBONDING: u64 = 20;
/// Blocks a registration may stay `PendingVerification`.
pub const PENDING_TIMEOUT: u64 = 50;
/// Workers swept per block.
pub const SWEEP: u32 = 3;
/// Price-index capacity per model.
pub const MAX_INDEXED: u32 = 3;
/// Most GPUs per worker.
pub const MAX_GPUS: u32 = 4;
/// Longest region.
pub const MAX_REGION: u32 = 8;
/// Longest endpoint.
pub const MAX_ENDPOINT: u32 = 16;

/// Providers (funded at genesis).
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
/// Funded account that is neither provider nor agent of anything by default.
pub const CHARLIE: AccountId = 3;
/// The treasury receiving fees when `FeeDest` is `Some`.
pub const TREASURY: AccountId = 99;
/// A provider with too little for fee plus deposit.
pub const POOR: AccountId = 4;
/// Genesis balance of the funded accounts.
pub const INITIAL: Balance = 10_000;

parameter_types! {
    /// Where fees go; tests switch it to `None` to burn.
    pub static FeeDest: Option<AccountId> = Some(TREASURY);
    /// The deposit; tests change it to check that withdrawals use the recorded amount.
    pub static DepositAmount: Balance = DEPOSIT;
    /// The registration fee; tests change it (zero: nothing charged).
    pub static RegFee: Balance = FEE;
}

thread_local! {
    /// Worker ids `on_worker_unavailable` was called with, in order.
    pub static HOOK_CALLS: RefCell<Vec<WorkerId>> = const { RefCell::new(Vec::new()) };
    /// GPUs the hook releases back to the registry when called (as pallet-orders would when
    /// failing the worker's orders).
    pub static HOOK_RELEASES: RefCell<u32> = const { RefCell::new(0) };
}

/// Weight the mock hook reports, and its `max_weight`.
pub const HOOK_WEIGHT: Weight = Weight::from_parts(7_000, 0);

/// Records calls; optionally calls back into `release_gpus` like pallet-orders.
pub struct RecordingHooks;
impl WorkerAvailabilityHooks for RecordingHooks {
    fn on_worker_unavailable(id: WorkerId) -> Weight {
        HOOK_CALLS.with(|c| c.borrow_mut().push(id));
        let release = HOOK_RELEASES.with(|r| *r.borrow());
        if release > 0 {
            <WorkerRegistry as kaisar_primitives::WorkerRegistry<AccountId, Balance>>::release_gpus(
                id, release,
            );
        }
        HOOK_WEIGHT
    }
    fn max_weight() -> Weight {
        HOOK_WEIGHT
    }
}

/// The ids the hook was called with so far.
pub fn hook_calls() -> Vec<WorkerId> {
    HOOK_CALLS.with(|c| c.borrow().clone())
}

impl Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type RegistrationFee = RegFee;
    type WorkerDeposit = DepositAmount;
    type FeeDestination = FeeDest;
    type VerifierOrigin = EnsureRoot<AccountId>;
    type ForceOrigin = EnsureRoot<AccountId>;
    type AvailabilityHooks = RecordingHooks;
    type HeartbeatTimeout = ConstU64<TIMEOUT>;
    type UnbondingPeriod = ConstU64<UNBONDING>;
    type PendingVerificationTimeout = ConstU64<PENDING_TIMEOUT>;
    type MaxSweepPerBlock = ConstU32<SWEEP>;
    type MaxGpusPerWorker = ConstU32<MAX_GPUS>;
    type MaxRegionLen = ConstU32<MAX_REGION>;
    type MaxEndpointLen = ConstU32<MAX_ENDPOINT>;
    type MaxIndexedPerModel = ConstU32<MAX_INDEXED>;
    type WeightInfo = ();
}

/// Genesis storage: funded accounts, block 1, development models refused.
pub fn new_test_ext() -> sp_io::TestExternalities {
    new_test_ext_with(false)
}

/// Genesis storage: funded accounts, block 1; `dev_models` as the registry's genesis.
pub fn new_test_ext_with(dev_models: bool) -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    pallet_balances::GenesisConfig::<Test> {
        balances: vec![
            (ALICE, INITIAL),
            (BOB, INITIAL),
            (CHARLIE, INITIAL),
            (TREASURY, INITIAL),
            (POOR, FEE + DEPOSIT - 1),
        ],
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    pallet_worker_registry::GenesisConfig::<Test> {
        dev_models,
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}

/// Builds the test externalities and checks the pallet's invariants after each test.
#[derive(Default)]
pub struct ExtBuilder {
    dev_models: bool,
}

impl ExtBuilder {
    /// Start from a genesis that accepts development-only GPU models (`GpuModel::DevCpu`).
    pub fn with_dev_models(mut self) -> Self {
        self.dev_models = true;
        self
    }

    /// Run `test` in a fresh externality, then assert `do_try_state()` is `Ok`.
    pub fn build_and_execute(self, test: impl FnOnce()) {
        HOOK_CALLS.with(|c| c.borrow_mut().clear());
        HOOK_RELEASES.with(|r| *r.borrow_mut() = 0);
        FeeDest::set(Some(TREASURY));
        DepositAmount::set(DEPOSIT);
        RegFee::set(FEE);
        new_test_ext_with(self.dev_models).execute_with(|| {
            test();
            assert_ok!(WorkerRegistry::do_try_state());
        });
    }
}

/// Advance to block `n`, running `on_initialize` (the sweep) of every block on the way.
pub fn run_to_block(n: u64) {
    while System::block_number() < n {
        let next = System::block_number() + 1;
        System::set_block_number(next);
        WorkerRegistry::on_initialize(next);
    }
}

/// A distinct GPU UUID hash per `(worker seed, gpu index)`.
pub fn uuid(seed: u64, index: u32) -> H256 {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..12].copy_from_slice(&index.to_le_bytes());
    H256(bytes)
}

/// A valid spec: `gpus` GPUs of `model` with UUIDs from `seed`, priced `price`, agent `agent`.
pub fn spec_with(
    model: GpuModel,
    gpus: u32,
    price: Balance,
    agent: AccountId,
    seed: u64,
) -> WorkerSpecOf<Test> {
    let devices: Vec<GpuDevice> = (0..gpus)
        .map(|i| GpuDevice {
            model,
            vram_mib: 24_576,
            uuid_hash: uuid(seed, i),
        })
        .collect();
    WorkerSpec {
        host_class: HostClass::Server,
        gpus: BoundedVec::truncate_from(devices),
        cpu_cores: 32,
        ram_mib: 128 * 1024,
        disk_gib: 1_000,
        region: BoundedVec::truncate_from(b"eu-west".to_vec()),
        price_per_gpu_hour: price,
        endpoint: BoundedVec::truncate_from(b"https://w.io".to_vec()),
        agent,
    }
}

/// Agent account for worker seed `seed` (never one of the named accounts).
pub fn agent_of(seed: u64) -> AccountId {
    1_000 + seed
}

/// Register a 2-GPU RTX 4090 worker priced `price` for `provider`; returns its id.
pub fn register(provider: AccountId, price: Balance, seed: u64) -> WorkerId {
    register_model(provider, GpuModel::Rtx4090, 2, price, seed)
}

/// Register a worker with the given model and GPU count; returns its id.
pub fn register_model(
    provider: AccountId,
    model: GpuModel,
    gpus: u32,
    price: Balance,
    seed: u64,
) -> WorkerId {
    let id = NextWorkerId::<Test>::get();
    assert_ok!(WorkerRegistry::register_worker(
        RuntimeOrigin::signed(provider),
        spec_with(model, gpus, price, agent_of(seed), seed)
    ));
    id
}

/// Register and verify (so `Active`) a 2-GPU RTX 4090 worker; returns its id.
pub fn register_active(provider: AccountId, price: Balance, seed: u64) -> WorkerId {
    let id = register(provider, price, seed);
    assert_ok!(WorkerRegistry::verify_worker(RuntimeOrigin::root(), id));
    id
}

/// The registry's events so far, in order.
pub fn registry_events() -> Vec<Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::WorkerRegistry(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// `(price, id)` entries of `model`'s price index.
pub fn index_of(model: GpuModel) -> Vec<(Balance, WorkerId)> {
    PriceIndex::<Test>::get(model).into_inner()
}
