//! # Kaisar runtime
//!
//! A cumulus parachain runtime for the Kaisar GPU cloud, following peaq's conventions:
//! `AccountId32` accounts signed with [`MultiSignature`], `u128` balances with 18 decimals,
//! `u32` block numbers and Aura block authorship.
//!
//! It runs on `polkadot-omni-node` (`--dev-block-time`) and on Chopsticks, from a chain spec that
//! `kaisar-chain-spec` builds out of the [`genesis_config_presets`] (see `scripts/chain`).
//!
//! Pallets (index: name):
//! - 0 `System`, 1 `ParachainSystem`, 2 `Timestamp`, 3 `ParachainInfo`, 4 `WeightReclaim`
//! - 10 `Balances`, 11 `TransactionPayment`
//! - 15 `Sudo` (development chains only; see `docs/runtime-upgrades.md`)
//! - 23 `Aura`, 24 `AuraExt`
//! - 50 `WorkerRegistry`, 51 `Escrow`, 52 `Points`, 53 `Orders`: the Kaisar marketplace
//!   (wiring in [`configs::kaisar`], design in `docs/architecture.md`).
//! - 54 `Nfts` (`pallet-nfts`), 55 `CheckerLicenses`: checker node licenses as NFTs, their
//!   sale, referrals and delegation (wiring in [`configs::licenses`], design in
//!   `docs/checker-licenses.md`).
//! - 56 `PopwAttestations`: PoPW checking, per-epoch assignments of checker slots to workers,
//!   attestations and consensus verdicts (wiring in [`configs::attestations`], design in
//!   `docs/checking.md`).
//! - 57 `Rewards`: provider and checker rewards per era from the reward pot, vesting and
//!   claims (wiring in [`configs::rewards`], design in `docs/rewards.md`).

#![cfg_attr(not(feature = "std"), no_std)]
// `#[frame_support::runtime]` expands recursively.
#![recursion_limit = "256"]

// The Wasm blob, as `WASM_BINARY` (`None` when built with `SKIP_WASM_BUILD=1`).
#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;

use sp_runtime::{
    generic, impl_opaque_keys,
    traits::{BlakeTwo256, IdentifyAccount, Verify},
    MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use apis::RUNTIME_API_VERSIONS;
pub use sp_consensus_aura::sr25519::AuthorityId as AuraId;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

/// A transaction signature: sr25519, ed25519 or ecdsa (peaq's `MultiSignature`).
pub type Signature = MultiSignature;

/// An account: the 32-byte public key of the signing scheme (`AccountId32`).
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// A balance of the native token, in its smallest unit (18 decimals, see [`UNITS`]).
pub type Balance = u128;

/// Transaction counter of an account.
pub type Nonce = u32;

/// A hash of some data used by the chain.
pub type Hash = sp_core::H256;

/// A block number.
pub type BlockNumber = u32;

/// How transactions name accounts.
pub type Address = MultiAddress<AccountId, ()>;

/// Block header type.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;

/// Block type.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// A block with its justifications.
pub type SignedBlock = generic::SignedBlock<Block>;

/// Identifies a block by hash or number.
pub type BlockId = generic::BlockId<Block>;

/// The transaction extensions (checks and fee payment) every signed transaction carries,
/// wrapped in `StorageWeightReclaim` so that unused proof-size weight is given back.
///
/// Deliberately the classic set that subxt and polkadot.js know: no `AuthorizeCall` (no pallet
/// here uses `#[pallet::authorize]`). `CheckMetadataHash` is in the set but only enforced when
/// the runtime is built with the `metadata-hash` feature.
pub type TxExtension = cumulus_pallet_weight_reclaim::StorageWeightReclaim<
    Runtime,
    (
        frame_system::CheckNonZeroSender<Runtime>,
        frame_system::CheckSpecVersion<Runtime>,
        frame_system::CheckTxVersion<Runtime>,
        frame_system::CheckGenesis<Runtime>,
        frame_system::CheckEra<Runtime>,
        frame_system::CheckNonce<Runtime>,
        frame_system::CheckWeight<Runtime>,
        pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
        frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
    ),
>;

/// Unchecked extrinsic type.
pub type UncheckedExtrinsic =
    generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// Storage migrations run on runtime upgrade (by [`Executive`], before any block logic), in
/// this order. Each is a `VersionedMigration`: it runs once, when the pallet's on-chain storage
/// version is its `FROM`, and is a no-op (one read) otherwise, so entries can stay here across
/// releases until every live chain has run them. Append new pallets' migrations at the end.
pub type Migrations = (
    // The promotion pot holds at least the existential deposit (v0 -> v1).
    pallet_points::migrations::v1::MigrateV0ToV1<Runtime>,
    // The worker record's pause flag and pending-registration expiry (v0 -> v1).
    pallet_worker_registry::migrations::MigrateV0ToV1<Runtime>,
    // Order deposits and the deadline index: report deadlines, removals (v0 -> v1).
    pallet_orders::migrations::MigrateV0ToV1<Runtime>,
    // The orders' account index, `OrdersOf` (v1 -> v2).
    pallet_orders::migrations::MigrateV1ToV2<Runtime>,
);

/// Dispatches blocks and transactions to the pallets.
pub type Executive = frame_executive::Executive<
    Runtime,
    Block,
    frame_system::ChainContext<Runtime>,
    Runtime,
    AllPalletsWithSystem,
    Migrations,
>;

/// Opaque types for the node side, which does not know the runtime's extrinsic format.
pub mod opaque {
    use super::*;
    pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;
    use sp_runtime::{generic, traits::Hash as HashT};

    /// Opaque block header type.
    pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
    /// Opaque block type.
    pub type Block = generic::Block<Header, UncheckedExtrinsic>;
    /// Opaque block identifier type.
    pub type BlockId = generic::BlockId<Block>;
    /// Opaque block hash type.
    pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
    /// The session keys of a collator: just its Aura key.
    pub struct SessionKeys {
        /// Block authoring key.
        pub aura: Aura,
    }
}

/// The runtime version. Bump `spec_version` for every runtime upgrade, and
/// `transaction_version` whenever a call index or a call's arguments change.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
    spec_name: alloc::borrow::Cow::Borrowed("kaisar"),
    impl_name: alloc::borrow::Cow::Borrowed("kaisar"),
    authoring_version: 1,
    spec_version: 3,
    impl_version: 0,
    apis: RUNTIME_API_VERSIONS,
    transaction_version: 1,
    system_version: 1,
};

/// Target block time: one block every 6 seconds.
pub const MILLISECS_PER_BLOCK: u64 = 6000;

/// The Aura slot duration. Cannot change once the chain runs (block production would stop).
pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;

/// Blocks per minute.
pub const MINUTES: BlockNumber = 60_000 / (MILLISECS_PER_BLOCK as BlockNumber);
/// Blocks per hour (600 with 6 s blocks).
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day.
pub const DAYS: BlockNumber = HOURS * 24;

/// One whole token: 18 decimals, like peaq's PEAQ/KREST.
pub const UNITS: Balance = 1_000_000_000_000_000_000;
/// A thousandth of a token.
pub const MILLIUNITS: Balance = UNITS / 1_000;
/// A millionth of a token.
pub const MICROUNITS: Balance = UNITS / 1_000_000;

/// The smallest balance an account may hold (a thousandth of a token).
pub const EXISTENTIAL_DEPOSIT: Balance = MILLIUNITS;

/// Maximum number of blocks simultaneously accepted by the runtime, not yet included into the
/// relay chain.
pub const UNINCLUDED_SEGMENT_CAPACITY: u32 = 3;
/// How many parachain blocks are processed by the relay chain per parent.
pub const BLOCK_PROCESSING_VELOCITY: u32 = 1;
/// Relay chain slot duration, in milliseconds.
pub const RELAY_CHAIN_SLOT_DURATION_MILLIS: u32 = 6000;
/// Build on the relay chain tip (no offset).
pub const RELAY_PARENT_OFFSET: u32 = 0;

/// Aura's consensus hook: at most [`BLOCK_PROCESSING_VELOCITY`] blocks per relay parent and
/// [`UNINCLUDED_SEGMENT_CAPACITY`] unincluded blocks.
pub type ConsensusHook = cumulus_pallet_aura_ext::FixedVelocityConsensusHook<
    Runtime,
    RELAY_CHAIN_SLOT_DURATION_MILLIS,
    BLOCK_PROCESSING_VELOCITY,
    UNINCLUDED_SEGMENT_CAPACITY,
>;

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
        RuntimeSlashReason,
        RuntimeLockId,
        RuntimeTask,
        RuntimeViewFunction
    )]
    pub struct Runtime;

    // System support.
    #[runtime::pallet_index(0)]
    pub type System = frame_system;
    #[runtime::pallet_index(1)]
    pub type ParachainSystem = cumulus_pallet_parachain_system;
    #[runtime::pallet_index(2)]
    pub type Timestamp = pallet_timestamp;
    #[runtime::pallet_index(3)]
    pub type ParachainInfo = parachain_info;
    #[runtime::pallet_index(4)]
    pub type WeightReclaim = cumulus_pallet_weight_reclaim;

    // Money.
    #[runtime::pallet_index(10)]
    pub type Balances = pallet_balances;
    #[runtime::pallet_index(11)]
    pub type TransactionPayment = pallet_transaction_payment;

    // Governance (development only).
    #[runtime::pallet_index(15)]
    pub type Sudo = pallet_sudo;

    // Block authorship. Aura must come before AuraExt.
    #[runtime::pallet_index(23)]
    pub type Aura = pallet_aura;
    #[runtime::pallet_index(24)]
    pub type AuraExt = cumulus_pallet_aura_ext;

    // The Kaisar marketplace (configured in `configs::kaisar`).
    #[runtime::pallet_index(50)]
    pub type WorkerRegistry = pallet_worker_registry;
    #[runtime::pallet_index(51)]
    pub type Escrow = pallet_escrow;
    #[runtime::pallet_index(52)]
    pub type Points = pallet_points;
    #[runtime::pallet_index(53)]
    pub type Orders = pallet_orders;

    // Checker node licenses (configured in `configs::licenses`).
    #[runtime::pallet_index(54)]
    pub type Nfts = pallet_nfts;
    #[runtime::pallet_index(55)]
    pub type CheckerLicenses = pallet_checker_licenses;

    // PoPW checking (configured in `configs::attestations`).
    #[runtime::pallet_index(56)]
    pub type PopwAttestations = pallet_popw_attestations;

    // Rewards (configured in `configs::rewards`).
    #[runtime::pallet_index(57)]
    pub type Rewards = pallet_rewards;
}

cumulus_pallet_parachain_system::register_validate_block! {
    Runtime = Runtime,
    BlockExecutor = cumulus_pallet_aura_ext::BlockExecutor::<Runtime, Executive>,
}
