//! Test runtime: frame-system and this pallet, with an in-memory worker registry and checker
//! slot set (epoch snapshots like `pallet-checker-licenses`: changes apply at the next epoch's
//! first block).

use crate::{self as pallet_popw_attestations};
use codec::Encode;
use core::cell::RefCell;
use frame_support::{
    derive_impl, parameter_types,
    traits::{ConstU32, ConstU64, Hooks, Randomness},
    weights::Weight,
};
use kaisar_primitives::{
    CheapestMatch, CheckerSlot, CheckerSlots, CheckingEpoch, CheckingEpochs, GpuModel, LicenseId,
    WorkerId, WorkerRegistry, WorkerStatus, WorkerSummary, WorkerVerification,
};
use sp_runtime::{BuildStorage, DispatchError, DispatchResult, Perbill, Permill};
use std::collections::BTreeMap;

pub type AccountId = u64;
pub type Balance = u64;
type Block = frame_system::mocking::MockBlock<Test>;

/// Blocks per epoch.
pub const EPOCH: u64 = 20;
/// Commit window.
pub const COMMIT: u64 = 5;
/// Seal window.
pub const SEAL: u64 = 5;
/// Reveal window.
pub const REVEAL: u64 = 5;
/// Checkers per worker.
pub const K: u32 = 3;
/// Epochs after a canary epoch during which its canaries may be revealed.
pub const CANARY_REVEAL_EPOCHS: u32 = 1;
/// Failed verdicts in a row that suspend.
pub const MAX_FAILURES: u32 = 2;
/// Epochs tallies are kept.
pub const TALLY_HISTORY: u32 = 2;

/// The default worker's provider and agent.
pub const PROVIDER: AccountId = 100;
pub const AGENT: AccountId = 101;
/// The default worker.
pub const WORKER: WorkerId = 1;
/// Slot `i` of the default slot set: license `i`, owner `OWNER0 + i`, operator `OP0 + i`.
pub const OWNER0: AccountId = 10;
pub const OP0: AccountId = 30;
/// Slots in the default slot set.
pub const SLOTS: u32 = 6;
/// Somebody with no role.
pub const STRANGER: AccountId = 999;
/// A user with a Running order.
pub const USER: AccountId = 500;

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
    pub type PopwAttestations = pallet_popw_attestations;
    #[runtime::pallet_index(2)]
    pub type Balances = pallet_balances;
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
    type ExistentialDeposit = ConstU64<1>;
    type RuntimeHoldReason = RuntimeHoldReason;
}

/// A contest's bond.
pub const CONTEST_BOND: Balance = 100;
/// A dispute's bond.
pub const DISPUTE_BOND: Balance = 10;
/// Where forfeited contest bonds go.
pub const POT: AccountId = 7_777;
/// Slots a re-check draws (2K+1).
pub const RECHECK: u32 = 2 * K + 1;
/// Starting balance of every account the tests use.
pub const ENDOWMENT: Balance = 1_000;

thread_local! {
    static WORKERS: RefCell<BTreeMap<WorkerId, WorkerSummary<AccountId, Balance>>> =
        RefCell::new(BTreeMap::new());
    static SLOT_SET: RefCell<Vec<CheckerSlot<AccountId>>> = RefCell::new(Vec::new());
    static NEXT_SLOT_SET: RefCell<Option<Vec<CheckerSlot<AccountId>>>> = RefCell::new(None);
    static SLOT_EPOCH: RefCell<CheckingEpoch> = RefCell::new(0);
    /// (worker, "verify" | "suspend") calls the registry received.
    pub static VERIFICATIONS: RefCell<Vec<(WorkerId, &'static str)>> = RefCell::new(Vec::new());
    /// Workers the failed-verdict hooks were told about.
    pub static FAILED_VERDICT_HOOKS: RefCell<Vec<WorkerId>> = RefCell::new(Vec::new());
    /// Running orders: order -> (user, worker).
    pub static RUNNING: RefCell<BTreeMap<u64, (AccountId, WorkerId)>> = RefCell::new(BTreeMap::new());
}

/// Make `order` a Running order of `user` on `worker` (`None`: not running).
pub fn set_running(order: u64, running: Option<(AccountId, WorkerId)>) {
    RUNNING.with(|r| match running {
        Some(v) => {
            r.borrow_mut().insert(order, v);
        }
        None => {
            r.borrow_mut().remove(&order);
        }
    });
}

impl kaisar_primitives::RunningOrders<AccountId> for MockOrders {
    fn running_order(order: u64) -> Option<(AccountId, WorkerId)> {
        RUNNING.with(|r| r.borrow().get(&order).copied())
    }
}

/// Records the failed-verdict hook calls (the orders pallet in the runtime).
pub struct MockOrders;

impl kaisar_primitives::WorkerAvailabilityHooks for MockOrders {
    fn on_worker_unavailable(id: WorkerId) -> Weight {
        FAILED_VERDICT_HOOKS.with(|h| h.borrow_mut().push(id));
        Weight::from_parts(2_000, 0)
    }
    fn max_weight() -> Weight {
        Weight::from_parts(20_000, 100)
    }
}

/// The workers the failed-verdict hooks were told about, in order.
pub fn failed_verdict_hook_calls() -> Vec<WorkerId> {
    FAILED_VERDICT_HOOKS.with(|h| h.borrow().clone())
}

/// The in-memory worker registry.
pub struct MockRegistry;

impl MockRegistry {
    /// Add (or replace) a worker.
    pub fn insert(id: WorkerId, provider: AccountId, agent: AccountId, status: WorkerStatus) {
        WORKERS.with(|w| {
            w.borrow_mut().insert(
                id,
                WorkerSummary {
                    provider,
                    agent,
                    status,
                    gpu_model: GpuModel::H100Sxm,
                    gpu_count: 1,
                    free_gpus: 1,
                    price_per_gpu_hour: 10,
                    paused: false,
                    heartbeat_overdue: false,
                },
            );
        });
    }
    /// Remove a worker.
    pub fn remove(id: WorkerId) {
        WORKERS.with(|w| w.borrow_mut().remove(&id));
    }
    /// A worker's status.
    pub fn status(id: WorkerId) -> Option<WorkerStatus> {
        WORKERS.with(|w| w.borrow().get(&id).map(|s| s.status))
    }
    /// Set a worker's status.
    pub fn set_status(id: WorkerId, status: WorkerStatus) {
        WORKERS.with(|w| {
            if let Some(s) = w.borrow_mut().get_mut(&id) {
                s.status = status;
            }
        });
    }
    /// The calls the verification received.
    pub fn verifications() -> Vec<(WorkerId, &'static str)> {
        VERIFICATIONS.with(|v| v.borrow().clone())
    }
}

impl WorkerRegistry<AccountId, Balance> for MockRegistry {
    fn worker(id: WorkerId) -> Option<WorkerSummary<AccountId, Balance>> {
        WORKERS.with(|w| w.borrow().get(&id).cloned())
    }
    fn find_cheapest(_: GpuModel, _: u32, _: Balance) -> CheapestMatch {
        CheapestMatch::default()
    }
    fn max_scanned() -> u32 {
        0
    }
    fn reserve_gpus(_: WorkerId, _: u32) -> DispatchResult {
        Ok(())
    }
    fn release_gpus(_: WorkerId, _: u32) {}
    fn has_gpu(id: WorkerId, uuid_hash: &[u8; 32]) -> bool {
        Self::status(id).is_some() && *uuid_hash != FOREIGN_GPU
    }
}

thread_local! {
    /// What the rewards pallet was told, as text (`passed 1 100`, `agreed 0 3`, ...).
    pub static ACCRUALS: RefCell<Vec<String>> = RefCell::new(Vec::new());
}

/// The accruals told to the rewards pallet, in order.
pub fn accruals() -> Vec<String> {
    ACCRUALS.with(|a| a.borrow().clone())
}

/// Records what the rewards pallet is told.
pub struct MockRewards;

impl kaisar_primitives::RewardAccrual<AccountId> for MockRewards {
    fn worker_passed(worker: WorkerId, provider: &AccountId, throughput: u64) {
        ACCRUALS.with(|a| {
            a.borrow_mut()
                .push(format!("passed {worker} {provider} {throughput}"))
        });
    }
    fn worker_failed(worker: WorkerId) {
        ACCRUALS.with(|a| a.borrow_mut().push(format!("failed {worker}")));
    }
    fn usage_delivered(_: WorkerId, _: &AccountId, _: u64) {}
    fn checker_agreed(epoch: CheckingEpoch, license: LicenseId, operator: &AccountId) {
        ACCRUALS.with(|a| {
            a.borrow_mut()
                .push(format!("agreed {epoch} {license} {operator}"))
        });
    }
    fn canary_scored(epoch: CheckingEpoch, license: LicenseId, erred: bool) {
        ACCRUALS.with(|a| {
            a.borrow_mut()
                .push(format!("canary {epoch} {license} {erred}"))
        });
    }
    fn vote_slashed(epoch: CheckingEpoch, license: LicenseId) {
        ACCRUALS.with(|a| a.borrow_mut().push(format!("slashed {epoch} {license}")));
    }
    fn max_weight() -> Weight {
        Weight::from_parts(500, 0)
    }
}

/// A GPU no mock worker registered (every other hash is taken as the asked worker's).
pub const FOREIGN_GPU: [u8; 32] = [0xFF; 32];

impl WorkerVerification for MockRegistry {
    fn verify(id: WorkerId) -> DispatchResult {
        match Self::status(id) {
            Some(WorkerStatus::PendingVerification | WorkerStatus::Suspended) => {
                Self::set_status(id, WorkerStatus::Active);
                VERIFICATIONS.with(|v| v.borrow_mut().push((id, "verify")));
                Ok(())
            }
            _ => Err(DispatchError::Other("invalid worker state")),
        }
    }
    fn suspend(id: WorkerId) -> Result<Weight, DispatchError> {
        match Self::status(id) {
            Some(
                WorkerStatus::PendingVerification | WorkerStatus::Active | WorkerStatus::Offline,
            ) => {
                Self::set_status(id, WorkerStatus::Suspended);
                VERIFICATIONS.with(|v| v.borrow_mut().push((id, "suspend")));
                Ok(Weight::from_parts(1_000, 0))
            }
            _ => Err(DispatchError::Other("invalid worker state")),
        }
    }
    fn max_weight() -> Weight {
        Weight::from_parts(10_000, 100)
    }
}

/// The in-memory slot set, with epoch snapshots.
pub struct MockSlots;

impl MockSlots {
    /// Replace the current slot set at once (genesis).
    pub fn set_now(slots: Vec<CheckerSlot<AccountId>>) {
        SLOT_SET.with(|s| *s.borrow_mut() = slots);
    }
    /// The slot set that applies from the next epoch (like delegation changes).
    pub fn set_next(slots: Vec<CheckerSlot<AccountId>>) {
        NEXT_SLOT_SET.with(|s| *s.borrow_mut() = Some(slots));
    }
    /// The current slot set.
    pub fn all() -> Vec<CheckerSlot<AccountId>> {
        SLOT_SET.with(|s| s.borrow().clone())
    }
    /// At block `n`: advance the epoch (applying the pending slot set) if `n` starts one.
    pub fn tick(n: u64) {
        let e = (n / EPOCH) as CheckingEpoch;
        if e > SLOT_EPOCH.with(|c| *c.borrow()) {
            if let Some(next) = NEXT_SLOT_SET.with(|s| s.borrow_mut().take()) {
                Self::set_now(next);
            }
            SLOT_EPOCH.with(|c| *c.borrow_mut() = e);
        }
    }
}

/// A slot with license `license`, owner and operator.
pub fn slot(license: LicenseId, owner: AccountId, operator: AccountId) -> CheckerSlot<AccountId> {
    CheckerSlot {
        license,
        owner,
        operator,
        commission: Perbill::zero(),
    }
}

impl CheckerSlots<AccountId> for MockSlots {
    fn current_epoch() -> CheckingEpoch {
        SLOT_EPOCH.with(|c| *c.borrow())
    }
    fn slot_count() -> u32 {
        SLOT_SET.with(|s| s.borrow().len() as u32)
    }
    fn slot(index: u32) -> Option<CheckerSlot<AccountId>> {
        SLOT_SET.with(|s| s.borrow().get(index as usize).cloned())
    }
    fn slot_of(license: LicenseId) -> Option<u32> {
        SLOT_SET.with(|s| {
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

/// Randomness from the parent hash and the subject (like the dev runtime's).
pub struct MockRandomness;
impl Randomness<sp_core::H256, u64> for MockRandomness {
    fn random(subject: &[u8]) -> (sp_core::H256, u64) {
        let mut input = System::parent_hash().encode();
        input.extend_from_slice(subject);
        (
            sp_core::H256(sp_io::hashing::blake2_256(&input)),
            System::block_number(),
        )
    }
}

#[cfg(feature = "runtime-benchmarks")]
pub struct MockBenchmarkHelper;
#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId> for MockBenchmarkHelper {
    fn pending_worker(provider: &AccountId) -> WorkerId {
        let id = WORKERS.with(|w| w.borrow().keys().last().copied().unwrap_or(0) + 1);
        MockRegistry::insert(id, *provider, 5_000 + id, WorkerStatus::PendingVerification);
        id
    }
    fn gpu_of(_: WorkerId) -> [u8; 32] {
        [7; 32]
    }
    fn set_slots(operators: &[AccountId]) {
        MockSlots::set_now(
            operators
                .iter()
                .enumerate()
                .map(|(i, op)| slot(i as u32, *op, *op))
                .collect(),
        );
        let e = MockSlots::epoch_of(System::block_number());
        SLOT_EPOCH.with(|c| *c.borrow_mut() = e);
    }
    fn running_order(user: &AccountId, worker: WorkerId) -> u64 {
        MockRegistry::set_status(worker, WorkerStatus::Active);
        set_running(1, Some((*user, worker)));
        1
    }
}

parameter_types! {
    /// COMMIT blocks of the EPOCH.
    pub CommitWindowFraction: Permill = Permill::from_rational(COMMIT, EPOCH);
    /// SEAL blocks of the EPOCH.
    pub SealWindowFraction: Permill = Permill::from_rational(SEAL, EPOCH);
    /// REVEAL blocks of the EPOCH.
    pub RevealWindowFraction: Permill = Permill::from_rational(REVEAL, EPOCH);
    pub const CheckersPerWorker: u32 = K;
    pub const Pot: AccountId = POT;
}

impl pallet_popw_attestations::Config for Test {
    type RegistryBalance = Balance;
    type Workers = MockRegistry;
    type Verification = MockRegistry;
    type FailedVerdictHooks = MockOrders;
    type Slots = MockSlots;
    type Randomness = MockRandomness;
    type CheckersPerWorker = CheckersPerWorker;
    type MaxAssignmentTries = ConstU32<12>;
    type CommitWindow = CommitWindowFraction;
    type SealWindow = SealWindowFraction;
    type RevealWindow = RevealWindowFraction;
    type MaxConsecutiveFailures = ConstU32<MAX_FAILURES>;
    type SeedHistory = ConstU32<3>;
    type TallyHistory = ConstU32<TALLY_HISTORY>;
    type MaxTalliesPrunedPerBlock = ConstU32<2>;
    type CanaryOrigin = frame_system::EnsureRoot<AccountId>;
    type MaxCanaries = ConstU32<4>;
    type CanaryRevealEpochs = ConstU32<CANARY_REVEAL_EPOCHS>;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Orders = MockOrders;
    type ContestBond = ConstU64<CONTEST_BOND>;
    type DisputeBond = ConstU64<DISPUTE_BOND>;
    type ForfeitPot = Pot;
    type RecheckCheckers = ConstU32<RECHECK>;
    type Rewards = MockRewards;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockBenchmarkHelper;
}

/// Builds test externalities with a slot set and a pending worker.
pub struct ExtBuilder {
    slots: Vec<CheckerSlot<AccountId>>,
    workers: Vec<(WorkerId, AccountId, AccountId, WorkerStatus)>,
}

impl Default for ExtBuilder {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS)
                .map(|i| slot(i, OWNER0 + i as u64, OP0 + i as u64))
                .collect(),
            workers: vec![(WORKER, PROVIDER, AGENT, WorkerStatus::PendingVerification)],
        }
    }
}

impl ExtBuilder {
    /// Replace the slot set.
    pub fn slots(mut self, slots: Vec<CheckerSlot<AccountId>>) -> Self {
        self.slots = slots;
        self
    }
    /// Add workers `(id, provider, agent, status)`.
    pub fn workers(
        mut self,
        workers: impl IntoIterator<Item = (WorkerId, AccountId, AccountId, WorkerStatus)>,
    ) -> Self {
        self.workers.extend(workers);
        self
    }

    pub fn build(self) -> sp_io::TestExternalities {
        let mut storage = frame_system::GenesisConfig::<Test>::default()
            .build_storage()
            .unwrap();
        // Everyone the tests name: slot owners and operators, providers, users, strangers.
        let endowed = (0..200u64)
            .chain([STRANGER, USER])
            .map(|a| (a, ENDOWMENT))
            .collect();
        pallet_balances::GenesisConfig::<Test> {
            balances: endowed,
            ..Default::default()
        }
        .assimilate_storage(&mut storage)
        .unwrap();
        let mut ext = sp_io::TestExternalities::new(storage);
        WORKERS.with(|w| w.borrow_mut().clear());
        VERIFICATIONS.with(|v| v.borrow_mut().clear());
        FAILED_VERDICT_HOOKS.with(|h| h.borrow_mut().clear());
        RUNNING.with(|r| r.borrow_mut().clear());
        ACCRUALS.with(|a| a.borrow_mut().clear());
        NEXT_SLOT_SET.with(|s| *s.borrow_mut() = None);
        SLOT_EPOCH.with(|c| *c.borrow_mut() = 0);
        MockSlots::set_now(self.slots);
        for (id, provider, agent, status) in self.workers {
            MockRegistry::insert(id, provider, agent, status);
        }
        ext.execute_with(|| {
            System::set_block_number(1);
            PopwAttestations::on_initialize(1);
        });
        ext
    }

    /// Run `test`, then check the pallet's invariants.
    pub fn build_and_execute(self, test: impl FnOnce()) {
        self.build().execute_with(|| {
            test();
            PopwAttestations::do_try_state().expect("try_state must hold after every test");
        })
    }
}

/// Advance to block `n`, running the slot set's epoch change and the pallet's hooks in each
/// block (`on_idle` with unlimited weight); returns the largest `on_initialize` weight seen.
pub fn run_to_block(n: u64) -> Weight {
    let mut max = Weight::zero();
    while System::block_number() < n {
        let next = System::block_number() + 1;
        System::set_block_number(next);
        System::set_parent_hash(sp_core::H256::from_low_u64_be(next));
        MockSlots::tick(next);
        max = max.max(PopwAttestations::on_initialize(next));
        PopwAttestations::on_idle(next, Weight::MAX);
    }
    max
}

/// The first block of epoch `e`.
pub fn start(e: CheckingEpoch) -> u64 {
    e as u64 * EPOCH
}

/// Whether `event` of this pallet was deposited.
pub fn has_event(event: crate::Event<Test>) -> bool {
    System::events()
        .iter()
        .any(|r| r.event == RuntimeEvent::PopwAttestations(event.clone()))
}
