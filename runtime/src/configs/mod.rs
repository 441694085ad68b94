//! Configuration of the standard pallets (system, parachain, money, governance, Aura).
//! The Kaisar pallets are configured in [`kaisar`].

pub mod attestations;
pub mod kaisar;
pub mod licenses;
pub mod rewards;

use frame_support::{
    derive_impl,
    dispatch::DispatchClass,
    parameter_types,
    traits::{
        fungible::{Balanced, Credit},
        ConstBool, ConstU32, ConstU64, ConstU8, Everything, OnUnbalanced,
    },
    weights::{
        constants::{BlockExecutionWeight, ExtrinsicBaseWeight, RocksDbWeight},
        ConstantMultiplier, Weight,
    },
    PalletId,
};
use frame_system::{
    limits::{BlockLength, BlockWeights},
    EnsureRoot,
};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_runtime::{
    traits::{AccountIdConversion, AccountIdLookup},
    Perbill,
};
use sp_version::RuntimeVersion;

use crate::{
    AccountId, Aura, Balance, Balances, Block, BlockNumber, ConsensusHook, Hash, Nonce, PalletInfo,
    ParachainInfo, Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason,
    RuntimeOrigin, RuntimeTask, System, EXISTENTIAL_DEPOSIT, MICROUNITS, RELAY_PARENT_OFFSET,
    SLOT_DURATION, VERSION,
};

/// ~5% of the block weight is assumed to be used by `on_initialize` hooks; this bounds the
/// weight of a single extrinsic.
const AVERAGE_ON_INITIALIZE_RATIO: Perbill = Perbill::from_percent(5);

/// Normal extrinsics may fill 75% of a block; the rest is for operational ones.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

/// 2 seconds of compute per 6-second block, and the relay chain's PoV limit.
const MAXIMUM_BLOCK_WEIGHT: Weight = Weight::from_parts(
    frame_support::weights::constants::WEIGHT_REF_TIME_PER_SECOND.saturating_mul(2),
    cumulus_primitives_core::relay_chain::MAX_POV_SIZE as u64,
);

/// The origin that may do anything privileged: upgrade the runtime (through
/// `frame_system::authorize_upgrade`/`set_code`, which require Root), verify or suspend workers.
///
/// It is Root. On the development chains Root is reached through `Sudo`; on peaq it is reached
/// through peaq's governance (council motions / referenda dispatch as Root). To hand a privilege
/// to a narrower body (say, a hardware-verification committee) change the corresponding
/// `Config` item (e.g. `pallet_worker_registry::Config::VerifierOrigin`) to that body's origin.
/// See `docs/runtime-upgrades.md`.
pub type GovernanceOrigin = EnsureRoot<AccountId>;

parameter_types! {
    /// The runtime version, exposed to `frame_system`.
    pub const Version: RuntimeVersion = VERSION;

    /// Block length limit: 5 MiB, 75% of it for normal extrinsics.
    pub RuntimeBlockLength: BlockLength = BlockLength::builder()
        .max_length(5 * 1024 * 1024)
        .modify_max_length_for_class(DispatchClass::Normal, |len| {
            *len = NORMAL_DISPATCH_RATIO * (5 * 1024 * 1024u32)
        })
        .build();

    /// Block weight limits, split between normal and operational extrinsics.
    pub RuntimeBlockWeights: BlockWeights = BlockWeights::builder()
        .base_block(BlockExecutionWeight::get())
        .for_class(DispatchClass::all(), |weights| {
            weights.base_extrinsic = ExtrinsicBaseWeight::get();
        })
        .for_class(DispatchClass::Normal, |weights| {
            weights.max_total = Some(NORMAL_DISPATCH_RATIO * MAXIMUM_BLOCK_WEIGHT);
        })
        .for_class(DispatchClass::Operational, |weights| {
            weights.max_total = Some(MAXIMUM_BLOCK_WEIGHT);
            // Operational transactions get the remaining space so that they are included even
            // when normal ones filled the block.
            weights.reserved = Some(
                MAXIMUM_BLOCK_WEIGHT - NORMAL_DISPATCH_RATIO * MAXIMUM_BLOCK_WEIGHT
            );
        })
        .avg_block_initialization(AVERAGE_ON_INITIALIZE_RATIO)
        .build_or_panic();

    /// Generic Substrate SS58 prefix (addresses start with `5`), as on peaq's dev chains.
    pub const SS58Prefix: u16 = 42;

    /// How many recent block hashes are kept.
    pub const BlockHashCount: BlockNumber = 4096;
}

#[derive_impl(frame_system::config_preludes::ParaChainDefaultConfig)]
impl frame_system::Config for Runtime {
    type BaseCallFilter = Everything;
    type AccountId = AccountId;
    type Lookup = AccountIdLookup<AccountId, ()>;
    type Nonce = Nonce;
    type Hash = Hash;
    type Block = Block;
    type BlockHashCount = BlockHashCount;
    type Version = Version;
    type AccountData = pallet_balances::AccountData<Balance>;
    type DbWeight = RocksDbWeight;
    type BlockWeights = RuntimeBlockWeights;
    type BlockLength = RuntimeBlockLength;
    type SS58Prefix = SS58Prefix;
    /// Runtime upgrades go through the relay chain (validation code upgrade), not straight in.
    type OnSetCode = cumulus_pallet_parachain_system::ParachainSetCode<Self>;
    type MaxConsumers = ConstU32<16>;
}

impl cumulus_pallet_weight_reclaim::Config for Runtime {
    type WeightInfo = ();
}

impl pallet_timestamp::Config for Runtime {
    /// Milliseconds since the Unix epoch.
    type Moment = u64;
    type OnTimestampSet = Aura;
    /// Aura enforces the slot timing; the timestamp pallet needs no minimum of its own.
    type MinimumPeriod = ConstU64<0>;
    type WeightInfo = ();
}

impl parachain_info::Config for Runtime {}

parameter_types! {
    /// Weight reserved for downward (relay → para) messages. This runtime takes no XCM, so none.
    pub const ReservedDmpWeight: Weight = Weight::zero();
    /// Weight reserved for horizontal (para → para) messages. None, as above.
    pub const ReservedXcmpWeight: Weight = Weight::zero();
}

impl cumulus_pallet_parachain_system::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type OnSystemEvent = ();
    type SelfParaId = ParachainInfo;
    // No XCM: nothing is sent, and inbound downward/horizontal messages are dropped.
    type OutboundXcmpMessageSource = ();
    type DmpQueue = ();
    type ReservedDmpWeight = ReservedDmpWeight;
    type XcmpMessageHandler = ();
    type ReservedXcmpWeight = ReservedXcmpWeight;
    // Monotonic (not strictly increasing) so that dev nodes and Chopsticks, which may build
    // several parachain blocks on one mocked relay parent, are accepted.
    type CheckAssociatedRelayNumber =
        cumulus_pallet_parachain_system::RelayNumberMonotonicallyIncreases;
    type WeightInfo = ();
    type ConsensusHook = ConsensusHook;
    type RelayParentOffset = ConstU32<RELAY_PARENT_OFFSET>;
    // V3 candidate scheduling stays disabled (the documented default).
    type SchedulingSignatureVerifier = ();
}

impl pallet_aura::Config for Runtime {
    type AuthorityId = crate::AuraId;
    type DisabledValidators = ();
    type MaxAuthorities = ConstU32<32>;
    type AllowMultipleBlocksPerSlot = ConstBool<false>;
    type SlotDuration = ConstU64<SLOT_DURATION>;
}

impl cumulus_pallet_aura_ext::Config for Runtime {}

parameter_types! {
    /// The minimum balance of an account.
    pub const ExistentialDeposit: Balance = EXISTENTIAL_DEPOSIT;
}

impl pallet_balances::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeHoldReason = RuntimeHoldReason;
    type RuntimeFreezeReason = RuntimeFreezeReason;
    type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
    type Balance = Balance;
    type DustRemoval = ();
    type ExistentialDeposit = ExistentialDeposit;
    type AccountStore = System;
    type ReserveIdentifier = [u8; 8];
    type FreezeIdentifier = RuntimeFreezeReason;
    type MaxLocks = ConstU32<50>;
    type MaxReserves = ConstU32<50>;
    type MaxFreezes = ConstU32<8>;
    type DoneSlashHandler = ();
}

parameter_types! {
    /// The treasury's pallet id. The treasury is a plain account here (no treasury pallet):
    /// it receives transaction fees and worker registration fees.
    pub const TreasuryPalletId: PalletId = PalletId(*b"py/trsry");
    /// The treasury account, derived from [`TreasuryPalletId`].
    pub TreasuryAccount: AccountId = TreasuryPalletId::get().into_account_truncating();

    /// Fee per unit of `ref_time` weight: a typical transfer (~2 * 10^8 ref_time) costs about
    /// 0.002 tokens.
    pub const WeightFee: Balance = 10_000_000;
    /// Fee per byte of transaction: a millionth of a token.
    pub const TransactionByteFee: Balance = MICROUNITS;
    /// Fees do not float with congestion: constant multiplier of 1, so tests and users can
    /// predict them exactly.
    pub FeeMultiplier: Multiplier = Multiplier::from_u32(1);
}

/// Sends transaction fees and tips to the treasury account instead of burning them, so that the
/// total issuance stays constant. (If the treasury could not take the credit — it is below the
/// existential deposit and does not exist — the credit is dropped, i.e. burnt; genesis funds the
/// treasury so this does not happen.)
pub struct FeesToTreasury;
impl OnUnbalanced<Credit<AccountId, Balances>> for FeesToTreasury {
    fn on_nonzero_unbalanced(credit: Credit<AccountId, Balances>) {
        let _ = <Balances as Balanced<AccountId>>::resolve(&TreasuryAccount::get(), credit);
    }
}

impl pallet_transaction_payment::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type OnChargeTransaction = FungibleAdapter<Balances, FeesToTreasury>;
    type WeightToFee = ConstantMultiplier<Balance, WeightFee>;
    type LengthToFee = ConstantMultiplier<Balance, TransactionByteFee>;
    type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
    type OperationalFeeMultiplier = ConstU8<5>;
    type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeCall = RuntimeCall;
    type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}
