//! Configuration of PoPW checking: `pallet-popw-attestations` (56) assigns each epoch's checker
//! slots (from `CheckerLicenses`) to the registry's workers, takes the checkers' nonce
//! commitments, sealed and revealed attestations, and verifies or suspends workers on the
//! consensus verdicts (see `docs/checking.md`).
//!
//! | index | pallet | role |
//! |---|---|---|
//! | 56 | `PopwAttestations` | per-epoch assignments, commit/seal/reveal, consensus verdicts, checker tallies |
//!
//! Governance keeps `WorkerRegistry::verify_worker` / `suspend_worker` (its `VerifierOrigin`)
//! as an override; the verdicts go through `kaisar_primitives::WorkerVerification`, which the
//! registry implements.
//!
//! Timeline of a one-hour (600-block) epoch starting at block `S`: assignment seed at `S`,
//! nonce commitments in `S..S+100` (10 minutes), challenge randomness at `S+100`, seals in
//! `S+100..S+300` (20 minutes: time to challenge every assigned worker), reveals until `S+500`
//! (20 minutes), then 10 minutes in which anyone may finalize within the epoch.

use frame_support::parameter_types;
use sp_runtime::Permill;

use crate::{AccountId, Balance, Balances, CheckerLicenses, Runtime, WorkerRegistry, UNITS};

parameter_types! {
    /// K = 3 checkers per worker and epoch: a verdict needs 2 passes.
    pub const PopwCheckersPerWorker: u32 = 3;
    /// Up to 16 draws to find 3 eligible distinct slots (rejections are rare with many slots).
    pub const PopwMaxAssignmentTries: u32 = 16;
    /// Nonce commitments during the epoch's first quarter (15 minutes of a one-hour epoch; 5
    /// blocks of the development chain's 20: room for a commitment per slot of a few checkers
    /// even where every transaction gets its own block).
    pub PopwCommitWindow: Permill = Permill::from_percent(25);
    /// Seals during the next quarter (15 minutes; 5 development blocks).
    pub PopwSealWindow: Permill = Permill::from_percent(25);
    /// Reveals during the next quarter (15 minutes; 5 development blocks). The last quarter is
    /// left for finalizing within the epoch.
    pub PopwRevealWindow: Permill = Permill::from_percent(25);
    /// Three failed verdicts in a row (three hours) suspend a worker.
    pub const PopwMaxConsecutiveFailures: u32 = 3;
    /// A day of epoch seeds is kept (for the runtime API and late finalizations).
    pub const PopwSeedHistory: u32 = 24;
    /// Checker tallies are kept a week (168 epochs) for the rewards pallet, then pruned in
    /// `on_idle`.
    pub const PopwTallyHistory: u32 = 7 * 24;
    /// At most 256 tallies pruned per block (within the idle weight).
    pub const PopwMaxTalliesPrunedPerBlock: u32 = 256;
    /// Up to 64 canary workers revealed per epoch.
    pub const PopwMaxCanaries: u32 = 64;
    /// Canaries are revealed within two epochs after theirs; their votes are kept until then.
    pub const PopwCanaryRevealEpochs: u32 = 2;
    /// Contesting a verdict holds 100 tokens, forfeited to the treasury when the 2K+1
    /// re-check confirms the verdict: contesting honest checkers costs more than it can win.
    pub const PopwContestBond: Balance = 100 * UNITS;
    /// A user's dispute holds 5 tokens, paid to the provider when the re-check passes the
    /// worker (the price of a frivolous dispute), returned when it fails it.
    pub const PopwDisputeBond: Balance = 5 * UNITS;
    /// Forfeited contest bonds go to the treasury (like forfeited order deposits).
    pub PopwForfeitPot: AccountId = super::TreasuryAccount::get();
    /// A re-check draws 2K+1 = 7 fresh slots.
    pub const PopwRecheckCheckers: u32 = 7;
}

impl pallet_popw_attestations::Config for Runtime {
    type RegistryBalance = Balance;
    type Workers = WorkerRegistry;
    type Verification = WorkerRegistry;
    type FailedVerdictHooks = crate::Orders;
    type Slots = CheckerLicenses;
    /// **Insecure development randomness** (the parent block hash, which the block author can
    /// influence by withholding a block), as for the licenses sale. On peaq this becomes the
    /// relay chain's randomness (BABE's per-epoch VRF output, read from the relay state proof
    /// of the validation data) before checking decides anything of value.
    type Randomness = pallet_checker_licenses::ParentHashRandomness<Runtime>;
    type CheckersPerWorker = PopwCheckersPerWorker;
    type MaxAssignmentTries = PopwMaxAssignmentTries;
    type CommitWindow = PopwCommitWindow;
    type SealWindow = PopwSealWindow;
    type RevealWindow = PopwRevealWindow;
    type MaxConsecutiveFailures = PopwMaxConsecutiveFailures;
    type SeedHistory = PopwSeedHistory;
    type TallyHistory = PopwTallyHistory;
    type MaxTalliesPrunedPerBlock = PopwMaxTalliesPrunedPerBlock;
    type CanaryOrigin = super::GovernanceOrigin;
    type MaxCanaries = PopwMaxCanaries;
    type CanaryRevealEpochs = PopwCanaryRevealEpochs;
    type Currency = Balances;
    type RuntimeHoldReason = crate::RuntimeHoldReason;
    type Orders = crate::Orders;
    type ContestBond = PopwContestBond;
    type DisputeBond = PopwDisputeBond;
    type ForfeitPot = PopwForfeitPot;
    type RecheckCheckers = PopwRecheckCheckers;
    type Rewards = crate::Rewards;
    type WeightInfo = pallet_popw_attestations::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = benchmark::PopwBenchmarkHelper;
}

#[cfg(feature = "runtime-benchmarks")]
mod benchmark {
    use super::*;
    use crate::{
        configs::kaisar::benchmark_helper::OrdersBenchmarkHelper, AccountId, BlockNumber,
        RuntimeOrigin, System,
    };
    use alloc::vec::Vec;
    use codec::Encode;
    use frame_support::{assert_ok, traits::Hooks, BoundedVec};
    use kaisar_primitives::{CheckingEpochs, GpuModel, HostClass, WorkerId};
    use pallet_orders::BenchmarkHelper as _;
    use pallet_worker_registry::{GpuDevice, WorkerSpec};
    use sp_runtime::traits::{BlakeTwo256, Hash};

    /// [`pallet_popw_attestations::BenchmarkHelper`] of this runtime: workers through the
    /// registry's `register_worker`, slots through `CheckerLicenses` grants and
    /// self-delegations applied at once.
    pub struct PopwBenchmarkHelper;

    impl pallet_popw_attestations::BenchmarkHelper<AccountId> for PopwBenchmarkHelper {
        fn pending_worker(provider: &AccountId) -> WorkerId {
            use pallet_worker_registry::NextWorkerId;
            OrdersBenchmarkHelper::fund(provider, 1_000_000 * crate::UNITS);
            let id = NextWorkerId::<Runtime>::get();
            let agent = AccountId::from(BlakeTwo256::hash(&(b"popw-bench-agent", id).encode()).0);
            let gpus = alloc::vec![GpuDevice {
                model: GpuModel::H100Sxm,
                vram_mib: 81_920,
                uuid_hash: BlakeTwo256::hash(&(b"popw-bench-gpu", id).encode()),
            }];
            let spec = WorkerSpec {
                host_class: HostClass::Server,
                gpus: BoundedVec::truncate_from(gpus),
                cpu_cores: 64,
                ram_mib: 512 * 1024,
                disk_gib: 4_000,
                region: BoundedVec::truncate_from(b"bench".to_vec()),
                price_per_gpu_hour: crate::UNITS,
                endpoint: BoundedVec::truncate_from(b"https://bench.invalid".to_vec()),
                agent,
            };
            if System::block_number() == 0 {
                System::set_block_number(1);
            }
            assert_ok!(WorkerRegistry::register_worker(
                RuntimeOrigin::signed(provider.clone()),
                spec
            ));
            id
        }

        fn gpu_of(worker: WorkerId) -> [u8; 32] {
            BlakeTwo256::hash(&(b"popw-bench-gpu", worker).encode()).0
        }

        fn set_slots(owners: &[AccountId]) {
            use pallet_checker_licenses::{CurrentEpoch, NextLicenseId};
            let now = System::block_number();
            let epoch = <CheckerLicenses as CheckingEpochs<BlockNumber>>::epoch_of(now);
            assert!(
                pallet_checker_licenses::SlotCount::<Runtime>::get() == 0,
                "the benchmarks start from no slots"
            );
            let licenses: Vec<_> = owners
                .iter()
                .map(|owner| {
                    let license = NextLicenseId::<Runtime>::get();
                    assert_ok!(CheckerLicenses::grant(
                        RuntimeOrigin::root(),
                        owner.clone(),
                        0,
                        1
                    ));
                    (license, owner)
                })
                .collect();
            for (license, owner) in licenses {
                assert_ok!(CheckerLicenses::delegate(
                    RuntimeOrigin::signed(owner.clone()),
                    license,
                    owner.clone()
                ));
            }
            // Apply the delegations now, as at the epoch's first block.
            CurrentEpoch::<Runtime>::put(epoch.saturating_sub(1));
            CheckerLicenses::on_initialize(now);
            assert_eq!(CurrentEpoch::<Runtime>::get(), epoch);
        }

        fn running_order(user: &AccountId, worker: WorkerId) -> kaisar_primitives::OrderId {
            use pallet_orders::OrderSpec;
            let w = pallet_worker_registry::Workers::<Runtime>::get(worker).expect("registered");
            if w.status == kaisar_primitives::WorkerStatus::PendingVerification {
                assert_ok!(WorkerRegistry::verify_worker(RuntimeOrigin::root(), worker));
            }
            OrdersBenchmarkHelper::fund(user, 1_000_000 * UNITS);
            let id = pallet_orders::NextOrderId::<Runtime>::get();
            let spec = OrderSpec::<Runtime> {
                image: BoundedVec::truncate_from(b"bench".to_vec()),
                gpu_model: GpuModel::H100Sxm,
                gpu_count: 1,
                duration: crate::configs::kaisar::MinDuration::get(),
                max_price_per_gpu_hour: 1_000 * UNITS,
                target_worker: Some(worker),
                user_public_key: [0; 32],
                ports: BoundedVec::new(),
            };
            assert_ok!(crate::Orders::place_order(
                RuntimeOrigin::signed(user.clone()),
                spec,
                0
            ));
            assert_ok!(crate::Orders::accept_order(
                RuntimeOrigin::signed(w.spec.agent.clone()),
                id,
                BoundedVec::new()
            ));
            id
        }
    }
}
