//! Test runtime: frame-system, pallet-balances (the real currency), the real
//! pallet-worker-registry, pallet-escrow and pallet-points, and pallet-orders.
//! The points rate is 2 points per token ([`POINTS_PER_TOKEN`]) unless a test changes it.

use crate::{self as pallet_orders, NextOrderId, Order, OrderSpec, OrderStatus, UsageReport};
use frame_support::{
    assert_ok, derive_impl, parameter_types,
    traits::{fungible::Mutate, ConstU32, ConstU64, OnInitialize},
    BoundedVec, PalletId,
};
use frame_system::EnsureRoot;
use kaisar_primitives::{GpuModel, OrderId, WorkerId, WorkerStatus};
use sp_core::H256;
use sp_runtime::{BuildStorage, FixedU128, Perbill};

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
    #[runtime::pallet_index(3)]
    pub type Escrow = pallet_escrow;
    #[runtime::pallet_index(4)]
    pub type Points = pallet_points;
    #[runtime::pallet_index(5)]
    pub type Orders = pallet_orders;
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
    // No pallet of this runtime freezes funds; the tests freeze a payer's balance with
    // `TestFreezeReason` (as a vesting schedule or staking would on chain).
    type FreezeIdentifier = TestFreezeReason;
    type MaxFreezes = ConstU32<1>;
}

/// The tests' freeze reason: a freeze an account may carry for reasons outside Kaisar (a
/// vesting schedule, staking); escrowed funds must still pay out and refund under it.
#[derive(
    codec::Encode,
    codec::Decode,
    codec::DecodeWithMemTracking,
    codec::MaxEncodedLen,
    scale_info::TypeInfo,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
)]
pub enum TestFreezeReason {
    /// Funds locked by something outside Kaisar.
    Vesting,
}

/// Existential deposit.
pub const ED: Balance = 1;
/// Worker registration fee (burnt).
pub const FEE: Balance = 10;
/// Worker deposit.
pub const DEPOSIT: Balance = 100;
/// Deregistration unbonding period.
pub const UNBONDING: u64 = 5;
/// Most GPUs in one worker.
pub const MAX_GPUS_PER_WORKER: u32 = 8;

/// Blocks per hour: small, so that prices per hour give round numbers per block.
pub const BLOCKS_PER_HOUR: u64 = 10;
/// Blocks an agent has to accept an order.
pub const ACCEPT_TIMEOUT: u64 = 5;
/// Blocks after `ends_at` for the final report.
pub const GRACE: u64 = 3;
/// Blocks a terminal order stays before `drop_order`.
pub const RETENTION: u64 = 10;
/// Shortest order.
pub const MIN_DURATION: u64 = 2;
/// Longest order.
pub const MAX_DURATION: u64 = 100;
/// Longest image reference.
pub const MAX_IMAGE_LEN: u32 = 16;
/// Largest access blob.
pub const MAX_ACCESS_BLOB_LEN: u32 = 32;
/// Most ports per order.
pub const MAX_PORTS: u32 = 4;
/// Most GPUs per order.
pub const MAX_GPUS_PER_ORDER: u32 = 4;
/// Most open orders per worker.
pub const MAX_ORDERS_PER_WORKER: u32 = 4;
/// Most deadlines per block.
pub const MAX_DEADLINES_PER_BLOCK: u32 = 3;
/// Blocks tried for a deadline before `DeadlineQueueFull`.
pub const MAX_DEADLINE_SPILL: u32 = 2;
/// Receives forfeited order deposits.
pub const TREASURY: AccountId = 99;

/// Providers.
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
/// Agents (unfunded: agents only sign).
pub const AGENT: AccountId = 101;
pub const AGENT2: AccountId = 102;
pub const AGENT3: AccountId = 103;
/// Users.
pub const USER: AccountId = 10;
pub const USER2: AccountId = 11;
/// Someone without any role.
pub const ANYONE: AccountId = 12;
/// A user with little money.
pub const POOR: AccountId = 13;
/// Balance of the funded accounts at genesis.
pub const INITIAL: Balance = 100_000;
/// Balance of the promotion pot at genesis.
pub const POT_INITIAL: Balance = 10_000;

parameter_types! {
    /// Heartbeat timeout; long by default so that unit tests need no heartbeats.
    pub static HeartbeatTimeout: u64 = 1_000;
    /// Where registration fees go: burnt.
    pub static FeeDestination: Option<AccountId> = None;
}

impl pallet_worker_registry::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type RegistrationFee = ConstU64<FEE>;
    type WorkerDeposit = ConstU64<DEPOSIT>;
    type FeeDestination = FeeDestination;
    type VerifierOrigin = EnsureRoot<AccountId>;
    type ForceOrigin = EnsureRoot<AccountId>;
    // Long enough that no test's Pending worker expires under it.
    type PendingVerificationTimeout = ConstU64<100_000>;
    type AvailabilityHooks = Orders;
    type HeartbeatTimeout = HeartbeatTimeout;
    type UnbondingPeriod = ConstU64<UNBONDING>;
    type MaxSweepPerBlock = ConstU32<4>;
    type MaxGpusPerWorker = ConstU32<MAX_GPUS_PER_WORKER>;
    type MaxRegionLen = ConstU32<8>;
    type MaxEndpointLen = ConstU32<16>;
    type MaxIndexedPerModel = ConstU32<4>;
    type WeightInfo = ();
}

impl pallet_escrow::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type WeightInfo = ();
}

parameter_types! {
    /// Id of the promotion pot.
    pub const PotId: PalletId = PalletId(*b"ksr/pot_");
    /// Points per token refunded as points; a discount is worth `points / PointsPerToken`.
    /// [`POINTS_PER_TOKEN`] unless a test sets another rate.
    pub static PointsRate: FixedU128 = FixedU128::from_u32(POINTS_PER_TOKEN as u32);
}

/// The default points rate of the tests: 2 points per token.
pub const POINTS_PER_TOKEN: Balance = 2;

impl pallet_points::Config for Test {
    type Currency = Balances;
    type PotId = PotId;
    type PointsPerToken = PointsRate;
    type WeightInfo = ();
}

/// The promotion pot.
pub fn pot() -> AccountId {
    pallet_points::Pallet::<Test>::pot()
}

/// Points `who` holds.
pub fn points_of(who: AccountId) -> Balance {
    pallet_points::PointsOf::<Test>::get(who)
}

/// Give `who` `amount` points (written to the points pallet's storage, keeping its total
/// consistent: the pallet itself only credits points for refunds).
pub fn grant_points(who: AccountId, amount: Balance) {
    pallet_points::PointsOf::<Test>::mutate(who, |have| *have += amount);
    pallet_points::TotalPoints::<Test>::mutate(|total| *total += amount);
}

/// Set `who`'s refund preference through the points pallet's call.
pub fn set_prefers_points(who: AccountId, points: bool) {
    use pallet_points::RefundPreference;
    let preference = if points {
        RefundPreference::Points
    } else {
        RefundPreference::Tokens
    };
    if pallet_points::Pallet::<Test>::refund_preference(&who) != preference {
        assert_ok!(Points::set_refund_preference(
            RuntimeOrigin::signed(who),
            preference
        ));
    }
}

parameter_types! {
    /// The order deposit: zero unless a test sets one (so the older tests' balance arithmetic
    /// holds); the deposit tests and the property test set it.
    pub static OrderDeposit: Balance = 0;
    /// The most of an order's cost points may pay: all of it unless a test sets less.
    pub static MaxDiscount: Perbill = Perbill::one();
    /// Blocks per hour (a test sets zero to see the error).
    pub static BlocksPerHourParam: u64 = BLOCKS_PER_HOUR;
    /// Receives forfeited order deposits.
    pub const ForfeitDestination: AccountId = TREASURY;
    /// `DefaultMaturityDelay`: zero (reported usage paid at once, as before issue #12) unless
    /// the builder sets one, so that the tests written before maturing payments keep checking
    /// the payment arithmetic; the maturity tests and the property test set a delay.
    pub static DefaultMaturityDelay: u64 = 0;
    /// The last passing verdict of each worker, as the mock checking pallet reports it.
    pub static LastPass: Vec<(WorkerId, u64)> = Vec::new();
    /// Workers under a re-check (maturing paused), as the mock checking pallet reports them.
    pub static Rechecked: Vec<WorkerId> = Vec::new();
    /// Deliveries told to the rewards pallet: (worker, provider, GPU-blocks).
    pub static Delivered: Vec<(WorkerId, AccountId, u64)> = Vec::new();
}

/// Records what the rewards pallet is told.
pub struct MockRewards;

impl kaisar_primitives::RewardAccrual<AccountId> for MockRewards {
    fn worker_passed(_: WorkerId, _: &AccountId, _: u64) {}
    fn worker_failed(_: WorkerId) {}
    fn usage_delivered(worker: WorkerId, provider: &AccountId, gpu_blocks: u64) {
        Delivered::mutate(|d| d.push((worker, *provider, gpu_blocks)));
    }
    fn checker_agreed(
        _: kaisar_primitives::CheckingEpoch,
        _: kaisar_primitives::LicenseId,
        _: &AccountId,
    ) {
    }
    fn canary_scored(
        _: kaisar_primitives::CheckingEpoch,
        _: kaisar_primitives::LicenseId,
        _: bool,
    ) {
    }
    fn vote_slashed(_: kaisar_primitives::CheckingEpoch, _: kaisar_primitives::LicenseId) {}
    fn max_weight() -> frame_support::weights::Weight {
        frame_support::weights::Weight::from_parts(1_000, 0)
    }
}

/// Most unmatured periods per order.
pub const MAX_UNMATURED: u32 = 3;

/// The mock checking pallet: passing verdicts are set by [`pass_verdict`].
pub struct MockVerdicts;

impl kaisar_primitives::WorkerVerdicts<u64> for MockVerdicts {
    fn last_pass(worker: WorkerId) -> Option<u64> {
        LastPass::get()
            .iter()
            .rev()
            .find(|(w, _)| *w == worker)
            .map(|(_, at)| *at)
    }
    fn maturity_paused(worker: WorkerId) -> bool {
        Rechecked::get().contains(&worker)
    }
}

/// Start (`true`) or end a re-check of `worker` (maturing by time paused meanwhile).
pub fn set_rechecked(worker: WorkerId, on: bool) {
    Rechecked::mutate(|v| {
        v.retain(|w| *w != worker);
        if on {
            v.push(worker);
        }
    });
}

/// Record a passing consensus verdict of `worker` in the current block.
pub fn pass_verdict(worker: WorkerId) {
    LastPass::mutate(|v| v.push((worker, System::block_number())));
}

impl pallet_orders::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type OrderDeposit = OrderDeposit;
    type DepositForfeitDestination = ForfeitDestination;
    type MaxDiscount = MaxDiscount;
    type MaxDeadlineSpill = ConstU32<MAX_DEADLINE_SPILL>;
    type Workers = WorkerRegistry;
    type Escrow = Escrow;
    type Points = Points;
    type BlocksPerHour = BlocksPerHourParam;
    type AcceptTimeout = ConstU64<ACCEPT_TIMEOUT>;
    type ReportGracePeriod = ConstU64<GRACE>;
    type OrderRetention = ConstU64<RETENTION>;
    type MinDuration = ConstU64<MIN_DURATION>;
    type MaxDuration = ConstU64<MAX_DURATION>;
    type MaxImageLen = ConstU32<MAX_IMAGE_LEN>;
    type MaxAccessBlobLen = ConstU32<MAX_ACCESS_BLOB_LEN>;
    type MaxPorts = ConstU32<MAX_PORTS>;
    type MaxGpusPerOrder = ConstU32<MAX_GPUS_PER_ORDER>;
    type MaxOrdersPerWorker = ConstU32<MAX_ORDERS_PER_WORKER>;
    type MaxDeadlinesPerBlock = ConstU32<MAX_DEADLINES_PER_BLOCK>;
    type Verdicts = MockVerdicts;
    type Rewards = MockRewards;
    type DefaultMaturityDelay = DefaultMaturityDelay;
    type MaxUnmatured = ConstU32<MAX_UNMATURED>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockBenchmarkHelper;
}

/// Genesis: funded providers and users, a funded promotion pot, block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    pallet_balances::GenesisConfig::<Test> {
        balances: vec![
            (ALICE, INITIAL),
            (BOB, INITIAL),
            (CHARLIE, INITIAL),
            (USER, INITIAL),
            (USER2, INITIAL),
            (ANYONE, INITIAL),
            (POOR, 50),
            (TREASURY, ED),
            (pot(), POT_INITIAL),
        ],
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}

/// The `try_state` checks of all four Kaisar pallets.
pub fn all_try_state() {
    assert_ok!(WorkerRegistry::do_try_state());
    assert_ok!(Escrow::do_try_state());
    assert_ok!(Points::do_try_state());
    assert_ok!(Orders::do_try_state());
}

/// Builds the test externalities; checks every pallet's invariants after the test.
#[derive(Default)]
pub struct ExtBuilder {
    /// `DefaultMaturityDelay` of the test (zero: reported usage is paid at once).
    maturity_delay: u64,
}

impl ExtBuilder {
    /// Reported usage matures `blocks` blocks after its report (`DefaultMaturityDelay`).
    pub fn maturity_delay(mut self, blocks: u64) -> Self {
        self.maturity_delay = blocks;
        self
    }

    /// A fresh externality with the default parameters.
    pub fn build(self) -> sp_io::TestExternalities {
        HeartbeatTimeout::set(1_000);
        PointsRate::set(FixedU128::from_u32(POINTS_PER_TOKEN as u32));
        FeeDestination::set(None);
        OrderDeposit::set(0);
        MaxDiscount::set(Perbill::one());
        BlocksPerHourParam::set(BLOCKS_PER_HOUR);
        DefaultMaturityDelay::set(self.maturity_delay);
        LastPass::set(Vec::new());
        Rechecked::set(Vec::new());
        Delivered::set(Vec::new());
        new_test_ext()
    }

    /// Run `test` in a fresh externality, then assert all `try_state`s are `Ok`.
    pub fn build_and_execute(self, test: impl FnOnce()) {
        self.build().execute_with(|| {
            test();
            all_try_state();
        });
    }
}

/// Advance to block `n`, running every pallet's `on_initialize` on the way (the registry's
/// heartbeat sweep, then the orders' accept deadlines).
pub fn run_to_block(n: u64) {
    while System::block_number() < n {
        let next = System::block_number() + 1;
        System::set_block_number(next);
        AllPalletsWithSystem::on_initialize(next);
    }
}

/// Change the registry's heartbeat timeout (tests of workers going offline).
pub fn set_heartbeat_timeout(blocks: u64) {
    HeartbeatTimeout::set(blocks);
}

/// What `who` has on hold as order deposits.
pub fn deposit_held(who: AccountId) -> Balance {
    use frame_support::traits::fungible::InspectHold;
    Balances::balance_on_hold(
        &RuntimeHoldReason::Orders(pallet_orders::HoldReason::OrderDeposit),
        &who,
    )
}

/// Register a worker of `provider` with `gpus` GPUs of `model` at `price`; returns its id.
pub fn register_worker(
    provider: AccountId,
    agent: AccountId,
    model: GpuModel,
    gpus: u32,
    price: Balance,
) -> WorkerId {
    let id = pallet_worker_registry::NextWorkerId::<Test>::get();
    let devices: Vec<pallet_worker_registry::GpuDevice> = (0..gpus)
        .map(|i| {
            let mut uuid = [0u8; 32];
            uuid[..8].copy_from_slice(&id.to_le_bytes());
            uuid[8..12].copy_from_slice(&i.to_le_bytes());
            pallet_worker_registry::GpuDevice {
                model,
                vram_mib: 24_576,
                uuid_hash: H256(uuid),
            }
        })
        .collect();
    let spec = pallet_worker_registry::WorkerSpec {
        host_class: kaisar_primitives::HostClass::Server,
        gpus: BoundedVec::truncate_from(devices),
        cpu_cores: 32,
        ram_mib: 128 * 1024,
        disk_gib: 1_000,
        region: BoundedVec::truncate_from(b"eu".to_vec()),
        price_per_gpu_hour: price,
        endpoint: BoundedVec::truncate_from(b"https://w.io".to_vec()),
        agent,
    };
    assert_ok!(WorkerRegistry::register_worker(
        RuntimeOrigin::signed(provider),
        spec
    ));
    id
}

/// Register and verify a worker (it is `Active`); returns its id.
pub fn register_active(
    provider: AccountId,
    agent: AccountId,
    model: GpuModel,
    gpus: u32,
    price: Balance,
) -> WorkerId {
    let id = register_worker(provider, agent, model, gpus, price);
    assert_ok!(WorkerRegistry::verify_worker(RuntimeOrigin::root(), id));
    id
}

/// An order spec with a 4-byte image and no ports.
pub fn spec(
    target: Option<WorkerId>,
    gpus: u32,
    duration: u64,
    max_price: Balance,
) -> OrderSpec<Test> {
    OrderSpec {
        image: BoundedVec::truncate_from(b"img1".to_vec()),
        gpu_model: GpuModel::Rtx4090,
        gpu_count: gpus,
        duration,
        max_price_per_gpu_hour: max_price,
        target_worker: target,
        user_public_key: [1; 32],
        ports: BoundedVec::new(),
    }
}

/// Place an order that must succeed; returns its id.
pub fn place(user: AccountId, spec: OrderSpec<Test>, max_points: Balance) -> OrderId {
    let id = NextOrderId::<Test>::get();
    assert_ok!(Orders::place_order(
        RuntimeOrigin::signed(user),
        spec,
        max_points
    ));
    id
}

/// The access blob the tests' agents send.
pub fn blob() -> BoundedVec<u8, ConstU32<MAX_ACCESS_BLOB_LEN>> {
    BoundedVec::truncate_from(b"sealed-box".to_vec())
}

/// Accept an order that must be acceptable.
pub fn accept(agent: AccountId, id: OrderId) {
    assert_ok!(Orders::accept_order(
        RuntimeOrigin::signed(agent),
        id,
        blob()
    ));
}

/// Send usage report `seq`, which must be accepted.
pub fn report(agent: AccountId, id: OrderId, seq: u32) {
    assert_ok!(Orders::report_usage(
        RuntimeOrigin::signed(agent),
        id,
        seq,
        UsageReport {
            gpu_util_permille: 500,
            gpu_mem_used_mib: 1024,
            uptime_secs: 60
        }
    ));
}

/// The stored order.
pub fn order(id: OrderId) -> Order<Test> {
    pallet_orders::Orders::<Test>::get(id).expect("order exists")
}

/// The stored order's status.
pub fn status(id: OrderId) -> OrderStatus<u64> {
    order(id).status
}

/// What escrow `id` holds.
pub fn escrow_balance(id: OrderId) -> Balance {
    <Escrow as kaisar_primitives::Escrow<AccountId, Balance>>::balance(id)
}

/// What `who` has on hold in order escrows (as payer or sponsor).
pub fn escrow_held(who: AccountId) -> Balance {
    use frame_support::traits::fungible::InspectHold;
    Balances::balance_on_hold(
        &RuntimeHoldReason::Escrow(pallet_escrow::HoldReason::OrderEscrow),
        &who,
    )
}

/// The registry's view of a worker.
pub fn worker(id: WorkerId) -> kaisar_primitives::WorkerSummary<AccountId, Balance> {
    <WorkerRegistry as kaisar_primitives::WorkerRegistry<AccountId, Balance>>::worker(id)
        .expect("worker exists")
}

/// Free GPUs of a worker.
pub fn free_gpus(id: WorkerId) -> u32 {
    worker(id).free_gpus
}

/// Status of a worker.
pub fn worker_status(id: WorkerId) -> WorkerStatus {
    worker(id).status
}

/// The orders pallet's events so far.
pub fn orders_events() -> Vec<pallet_orders::Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::Orders(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// The amounts of the `ProviderPaid` events of order `id`, in order.
pub fn paid_to_provider(id: OrderId) -> Vec<Balance> {
    orders_events()
        .into_iter()
        .filter_map(|e| match e {
            pallet_orders::Event::ProviderPaid {
                order_id, amount, ..
            } if order_id == id => Some(amount),
            _ => None,
        })
        .collect()
}

/// Give the pot's free balance above `amount` away (to `ANYONE`).
pub fn drain_pot_to(amount: Balance) {
    let excess = Balances::free_balance(pot()) - amount;
    assert_ok!(<Balances as Mutate<AccountId>>::transfer(
        &pot(),
        &ANYONE,
        excess,
        frame_support::traits::tokens::Preservation::Preserve
    ));
}

/// Creates benchmark state in the mock runtime through the real registry and balances.
#[cfg(feature = "runtime-benchmarks")]
pub struct MockBenchmarkHelper;

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId, Balance> for MockBenchmarkHelper {
    fn active_worker(
        provider: &AccountId,
        agent: &AccountId,
        model: GpuModel,
        gpus: u32,
        price: Balance,
    ) -> WorkerId {
        Self::fund(provider, FEE + DEPOSIT + 10 * ED);
        let id = register_worker(*provider, *agent, model, gpus, price);
        assert_ok!(WorkerRegistry::verify_worker(RuntimeOrigin::root(), id));
        id
    }

    fn fund(who: &AccountId, amount: Balance) {
        assert_ok!(<Balances as Mutate<AccountId>>::mint_into(who, amount));
    }

    fn give_points(who: &AccountId, amount: Balance) {
        grant_points(*who, amount);
        Self::fund(&pot(), amount);
    }

    fn set_prefers_points(who: &AccountId, prefers_points: bool) {
        set_prefers_points(*who, prefers_points);
    }
}
