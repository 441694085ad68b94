//! Configuration of the Kaisar marketplace pallets (indices 50-53) and the accounts they use.
//!
//! | index | pallet | role |
//! |---|---|---|
//! | 50 | `WorkerRegistry` | workers, deposits, heartbeats, price index |
//! | 51 | `Escrow` | order payments, held under `Escrow::OrderEscrow` |
//! | 52 | `Points` | refunds-as-points ledger and the promotion pot |
//! | 53 | `Orders` | order lifecycle, through the three above (see `docs/architecture.md`) |
//!
//! Times are in blocks of [`MILLISECS_PER_BLOCK`](crate::MILLISECS_PER_BLOCK) (6 s): 10 blocks
//! a minute, [`HOURS`] = 600 blocks an hour. Amounts are in the smallest unit of the native
//! token (18 decimals, [`UNITS`] is one token).
//!
//! Privileged operations use [`GovernanceOrigin`] (Root: sudo on the development chains,
//! governance on peaq; see `docs/runtime-upgrades.md`).

use alloc::{vec, vec::Vec};
use frame_support::{parameter_types, PalletId};
use sp_runtime::{traits::AccountIdConversion, FixedU128, Perbill};

use super::{GovernanceOrigin, TreasuryAccount};
use crate::{
    AccountId, Balance, Balances, BlockNumber, Escrow, Orders, Points, Runtime, RuntimeHoldReason,
    WorkerRegistry, DAYS, EXISTENTIAL_DEPOSIT, HOURS, MINUTES, UNITS,
};

// ---------------------------------------------------------------------------------------------
// Worker registry (50)
// ---------------------------------------------------------------------------------------------

/// Registration fee of a worker (not refundable), paid to the treasury: 10 tokens.
pub const WORKER_REGISTRATION_FEE: Balance = 10 * UNITS;
/// Deposit held per registered worker until it is withdrawn: 100 tokens.
pub const WORKER_DEPOSIT: Balance = 100 * UNITS;
/// Most GPUs in one worker (one machine): 16.
pub const MAX_GPUS_PER_WORKER: u32 = 16;

parameter_types! {
    /// Registration fee of a worker; see [`WORKER_REGISTRATION_FEE`].
    pub const RegistrationFee: Balance = WORKER_REGISTRATION_FEE;
    /// Deposit per worker; see [`WORKER_DEPOSIT`].
    pub const WorkerDeposit: Balance = WORKER_DEPOSIT;
    /// Registration fees go to the treasury account (which exists from genesis), so the total
    /// issuance is unchanged by registrations.
    pub WorkerFeeDestination: Option<AccountId> = Some(TreasuryAccount::get());
    /// A worker whose last heartbeat is more than 10 minutes (100 blocks) old goes `Offline`.
    /// Agents heartbeat every few minutes.
    pub const HeartbeatTimeout: BlockNumber = 10 * MINUTES;
    /// A deregistered worker's deposit unlocks after one day. Meanwhile it stays held, so
    /// governance can still `force_deregister` the worker with the deposit slashed (misbehaviour
    /// found after it left); no order dispute is settled against it.
    pub const UnbondingPeriod: BlockNumber = DAYS;
    /// A registration not verified within 7 days expires: anyone may remove it with
    /// `expire_pending` (the sweep also does), the deposit goes back, the fee is kept, its GPU
    /// UUID hashes and agent key are free again. Long enough for governance to verify a
    /// genuine machine, short enough that squatting another's GPUs or agent key costs a fee per
    /// week.
    pub const PendingVerificationTimeout: BlockNumber = 7 * DAYS;
    /// The heartbeat sweep looks at 16 workers per block: every worker at least every
    /// `ceil(workers / 16)` blocks (about 6 minutes with 1 000 workers). In the worst block
    /// all 16 go offline with `MaxOrdersPerWorker` orders each to fail; `tests/limits.rs`
    /// checks that this (with a full bucket of accept deadlines) takes under half a block.
    pub const MaxSweepPerBlock: u32 = 16;
    /// Most GPUs in one worker; see [`MAX_GPUS_PER_WORKER`].
    pub const MaxGpusPerWorker: u32 = MAX_GPUS_PER_WORKER;
    /// Longest region tag (`eu-west`, `ap-southeast-1`, ...), in bytes.
    pub const MaxRegionLen: u32 = 32;
    /// Longest agent endpoint (URL or host:port), in bytes.
    pub const MaxEndpointLen: u32 = 128;
    /// The price index keeps the 64 cheapest `Active` workers of each GPU model.
    pub const MaxIndexedPerModel: u32 = 64;
}

impl pallet_worker_registry::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type RegistrationFee = RegistrationFee;
    type WorkerDeposit = WorkerDeposit;
    type FeeDestination = WorkerFeeDestination;
    /// Checkers verify and suspend workers: `PopwAttestations` (56) applies its consensus
    /// verdicts through `kaisar_primitives::WorkerVerification`. Governance keeps this origin
    /// as an override (verify or suspend by hand).
    type VerifierOrigin = GovernanceOrigin;
    /// Governance removes workers at once (squatting, fraud), returning or slashing deposits;
    /// slashed deposits go to the treasury (`FeeDestination`).
    type ForceOrigin = GovernanceOrigin;
    /// The orders pallet fails the orders of a worker that went Offline or was Suspended.
    type AvailabilityHooks = Orders;
    type HeartbeatTimeout = HeartbeatTimeout;
    type UnbondingPeriod = UnbondingPeriod;
    type PendingVerificationTimeout = PendingVerificationTimeout;
    type MaxSweepPerBlock = MaxSweepPerBlock;
    type MaxGpusPerWorker = MaxGpusPerWorker;
    type MaxRegionLen = MaxRegionLen;
    type MaxEndpointLen = MaxEndpointLen;
    type MaxIndexedPerModel = MaxIndexedPerModel;
    type WeightInfo = pallet_worker_registry::weights::SubstrateWeight<Runtime>;
}

// ---------------------------------------------------------------------------------------------
// Escrow (51)
// ---------------------------------------------------------------------------------------------

impl pallet_escrow::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type WeightInfo = pallet_escrow::weights::SubstrateWeight<Runtime>;
}

// ---------------------------------------------------------------------------------------------
// Points (52)
// ---------------------------------------------------------------------------------------------

parameter_types! {
    /// The promotion pot's id; its account is `modl` + `kai/pots`, zero-padded.
    pub const PointsPotId: PalletId = PalletId(*b"kai/pots");
    /// One point per token unit refunded, so one point is worth one token unit of discount
    /// (what `docs/architecture.md` describes). The rate only sets the size of a point: the same
    /// rate converts refunds into points and points into discounts, so a refund of `t` tokens
    /// as points buys back at most `t` tokens of discount at any rate (a rate of 1.1 is no
    /// bonus, it makes points 10% smaller).
    pub PointsPerToken: FixedU128 = FixedU128::from_u32(1);
}

impl pallet_points::Config for Runtime {
    type Currency = Balances;
    type PotId = PointsPotId;
    type PointsPerToken = PointsPerToken;
    type WeightInfo = pallet_points::weights::SubstrateWeight<Runtime>;
}

/// The promotion pot's account.
pub fn points_pot_account() -> AccountId {
    PointsPotId::get().into_account_truncating()
}

// ---------------------------------------------------------------------------------------------
// Orders (53)
// ---------------------------------------------------------------------------------------------

parameter_types! {
    /// Prices are per GPU per hour: 600 blocks of 6 s.
    pub const BlocksPerHour: BlockNumber = HOURS;
    /// A worker's agent has 5 minutes (50 blocks) to accept an order; then it fails and is
    /// refunded in full.
    pub const AcceptTimeout: BlockNumber = 5 * MINUTES;
    /// The agent has 10 minutes (100 blocks) after an order's end to send its final report.
    pub const ReportGracePeriod: BlockNumber = 10 * MINUTES;
    /// A finished order stays readable for a day before anyone may `drop_order` it.
    pub const OrderRetention: BlockNumber = DAYS;
    /// Shortest order: one minute (10 blocks), the billing granularity.
    pub const MinDuration: BlockNumber = MINUTES;
    /// Longest order: 30 days.
    pub const MaxDuration: BlockNumber = 30 * DAYS;
    /// Longest container image reference (`registry/name:tag@sha256:...`), in bytes.
    pub const MaxImageLen: u32 = 256;
    /// Largest encrypted access blob (host, ports, credentials sealed to the user), in bytes.
    pub const MaxAccessBlobLen: u32 = 1024;
    /// Most container ports one order exposes.
    pub const MaxPorts: u32 = 16;
    /// Most GPUs one order asks for: a whole worker.
    pub const MaxGpusPerOrder: u32 = MAX_GPUS_PER_WORKER;
    /// Most open (pending, running or settling) orders of one worker: one per GPU and half as
    /// many again (24). Every Pending or Running order holds at least one GPU; a Settling order
    /// (ended, its reported usage not matured yet) holds none but keeps its place for up to
    /// `MaturityDelay` blocks, so that a failed check of the worker reaches it. The extra slots
    /// let GPUs take new orders while earlier ones settle; a worker running many short orders
    /// can still be limited by Settling orders until they mature. Bounded by the worst block:
    /// `MaxSweepPerBlock` workers going offline with this many orders each (`tests/limits.rs`;
    /// two per GPU would not fit with a checking-epoch boundary in the same block). (The orders
    /// benchmarks fail `MaxGpusPerOrder` Running and the other Settling orders of one worker.)
    pub const MaxOrdersPerWorker: u32 = MAX_GPUS_PER_WORKER * 3 / 2;
    /// Most deadlines (accept, report, removal) the orders pallet handles per block.
    pub const MaxDeadlinesPerBlock: u32 = 64;
    /// A deadline whose block is full goes to the next of 4 blocks (24 s later at most):
    /// 256 deadlines per window before placing or accepting fails with `DeadlineQueueFull`.
    pub const MaxDeadlineSpill: u32 = 4;
    /// Each Pending order holds 1 token from the user: released when the order is accepted or
    /// the provider fails it, forfeited to the treasury when the user cancels it while Pending.
    pub const OrderDeposit: Balance = UNITS;
    /// Forfeited order deposits go to the treasury.
    pub OrderDepositForfeitDestination: AccountId = TreasuryAccount::get();
    /// Reported usage is paid to the provider two hours (1200 blocks) after the report, i.e.
    /// two checking epochs, so that a PoPW check (or a user's dispute) of the worker happens
    /// inside the window; a passing verdict of the worker pays it earlier. Genesis may set
    /// another (the development presets use [`DEV_MATURITY_DELAY`]).
    pub const DefaultMaturityDelay: BlockNumber = 2 * HOURS;
    /// At most 8 unmatured periods per order; further reports merge into the newest.
    pub const MaxUnmatured: u32 = 8;
    /// Points pay at most half of an order's cost.
    pub const MaxOrderDiscount: Perbill = Perbill::from_percent(50);
}

impl pallet_orders::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type OrderDeposit = OrderDeposit;
    type DepositForfeitDestination = OrderDepositForfeitDestination;
    type MaxDiscount = MaxOrderDiscount;
    type MaxDeadlineSpill = MaxDeadlineSpill;
    type Workers = WorkerRegistry;
    type Escrow = Escrow;
    type Points = Points;
    type BlocksPerHour = BlocksPerHour;
    type AcceptTimeout = AcceptTimeout;
    type ReportGracePeriod = ReportGracePeriod;
    type OrderRetention = OrderRetention;
    type MinDuration = MinDuration;
    type MaxDuration = MaxDuration;
    type MaxImageLen = MaxImageLen;
    type MaxAccessBlobLen = MaxAccessBlobLen;
    type MaxPorts = MaxPorts;
    type MaxGpusPerOrder = MaxGpusPerOrder;
    type MaxOrdersPerWorker = MaxOrdersPerWorker;
    type MaxDeadlinesPerBlock = MaxDeadlinesPerBlock;
    // No checking pallet yet: reported usage matures by time only. The PoPW attestations
    // pallet implements `WorkerVerdicts` once it is wired in.
    type Verdicts = crate::PopwAttestations;
    type Rewards = crate::Rewards;
    type DefaultMaturityDelay = DefaultMaturityDelay;
    type MaxUnmatured = MaxUnmatured;
    type WeightInfo = pallet_orders::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = benchmark_helper::OrdersBenchmarkHelper;
}

/// The maturity delay of the development presets: 20 blocks (2 minutes at 6 s, one development
/// checking epoch), so that providers are paid while a person watches the devnet or a test
/// waits.
pub const DEV_MATURITY_DELAY: BlockNumber = 20;

// ---------------------------------------------------------------------------------------------
// Genesis
// ---------------------------------------------------------------------------------------------

/// What the promotion pot holds at genesis on the development chains: 10 000 tokens, so that
/// points discounts can be sponsored from the first block.
pub const DEMO_POT_BALANCE: Balance = 10_000 * UNITS;

/// Marketplace accounts funded at genesis, on top of the dev accounts:
/// - the treasury (transaction and registration fees land there) gets the existential deposit
///   so that it exists;
/// - the promotion pot gets [`DEMO_POT_BALANCE`].
pub fn kaisar_genesis_accounts() -> Vec<(AccountId, Balance)> {
    vec![
        (TreasuryAccount::get(), EXISTENTIAL_DEPOSIT),
        (points_pot_account(), DEMO_POT_BALANCE),
        (
            super::rewards::reward_pot_account(),
            super::rewards::DEV_REWARD_POT_BALANCE,
        ),
    ]
}

#[cfg(feature = "runtime-benchmarks")]
pub mod benchmark_helper {
    //! Creates the state the orders benchmarks need through the real registry, balances and
    //! points pallets.

    use super::*;
    use crate::{RuntimeOrigin, System};
    use codec::Encode;
    use frame_support::{assert_ok, traits::fungible::Mutate, BoundedVec};
    use kaisar_primitives::{GpuModel, HostClass, WorkerId};
    use pallet_worker_registry::{GpuDevice, WorkerSpec};
    use sp_runtime::traits::{BlakeTwo256, Hash};

    /// [`pallet_orders::BenchmarkHelper`] of this runtime.
    pub struct OrdersBenchmarkHelper;

    impl pallet_orders::BenchmarkHelper<AccountId, Balance> for OrdersBenchmarkHelper {
        fn active_worker(
            provider: &AccountId,
            agent: &AccountId,
            model: GpuModel,
            gpus: u32,
            price: Balance,
        ) -> WorkerId {
            Self::fund(provider, 2 * (WORKER_REGISTRATION_FEE + WORKER_DEPOSIT));
            let id = pallet_worker_registry::NextWorkerId::<Runtime>::get();
            let gpus = (0..gpus)
                .map(|i| GpuDevice {
                    model,
                    vram_mib: 81_920,
                    uuid_hash: BlakeTwo256::hash(&(b"bench-gpu", id, i).encode()),
                })
                .collect::<Vec<_>>();
            let spec = WorkerSpec {
                host_class: HostClass::Server,
                gpus: BoundedVec::try_from(gpus)
                    .expect("the orders benchmarks ask for at most MaxGpusPerWorker GPUs"),
                cpu_cores: 64,
                ram_mib: 512 * 1024,
                disk_gib: 4_000,
                region: BoundedVec::truncate_from(b"bench".to_vec()),
                price_per_gpu_hour: price,
                endpoint: BoundedVec::truncate_from(b"https://bench.invalid".to_vec()),
                agent: agent.clone(),
            };
            if System::block_number() == 0 {
                System::set_block_number(1);
            }
            assert_ok!(WorkerRegistry::register_worker(
                RuntimeOrigin::signed(provider.clone()),
                spec
            ));
            assert_ok!(WorkerRegistry::verify_worker(RuntimeOrigin::root(), id));
            id
        }

        fn fund(who: &AccountId, amount: Balance) {
            assert_ok!(<Balances as Mutate<AccountId>>::mint_into(who, amount));
        }

        fn give_points(who: &AccountId, amount: Balance) {
            pallet_points::PointsOf::<Runtime>::mutate(who, |p| *p = p.saturating_add(amount));
            pallet_points::TotalPoints::<Runtime>::mutate(|t| *t = t.saturating_add(amount));
            // Enough in the pot to sponsor the discount those points are worth.
            let tokens = pallet_points::Pallet::<Runtime>::discount_for(amount).unwrap_or(amount);
            Self::fund(
                &points_pot_account(),
                tokens.saturating_add(EXISTENTIAL_DEPOSIT),
            );
        }

        fn set_prefers_points(who: &AccountId, prefers_points: bool) {
            if prefers_points {
                pallet_points::RefundPreferences::<Runtime>::remove(who);
            } else {
                pallet_points::RefundPreferences::<Runtime>::insert(
                    who,
                    pallet_points::RefundPreference::Tokens,
                );
            }
        }
    }
}
