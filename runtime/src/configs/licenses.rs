//! Configuration of the checker node licenses: `pallet-nfts` (54) holds the license NFTs,
//! `pallet-checker-licenses` (55) sells, mints and delegates them (see
//! `docs/checker-licenses.md`).
//!
//! | index | pallet | role |
//! |---|---|---|
//! | 54 | `Nfts` | NFTs; the licenses collection is owned by the licenses pallet's account |
//! | 55 | `CheckerLicenses` | sale rounds, referrals, delegation and per-epoch checker slots |

use frame_support::{
    parameter_types,
    traits::{AsEnsureOriginWithArg, NeverEnsureOrigin},
    PalletId,
};
use pallet_nfts::PalletFeatures;
use sp_runtime::{traits::Verify, Perbill};

use super::GovernanceOrigin;
use crate::{
    AccountId, Balance, Balances, BlockNumber, CheckerLicenses, Runtime, RuntimeEvent,
    RuntimeHoldReason, Signature, System, DAYS, HOURS, UNITS,
};

// ---------------------------------------------------------------------------------------------
// NFTs (54)
// ---------------------------------------------------------------------------------------------

parameter_types! {
    /// Every `pallet-nfts` feature is on (trading, attributes, approvals, pre-signed mints).
    pub NftFeatures: PalletFeatures = PalletFeatures::all_enabled();
    /// Collections are created only by the licenses pallet (public creation is off, see
    /// `CreateOrigin`), which mints as the collection owner: no collection or item deposit.
    pub const NftCollectionDeposit: Balance = 0;
    /// See [`NftCollectionDeposit`].
    pub const NftItemDeposit: Balance = 0;
    /// Metadata an owner sets on its items: 0.1 token plus 0.01 token per byte.
    pub const NftMetadataDepositBase: Balance = UNITS / 10;
    /// Attributes an owner sets on its items: 0.1 token plus 0.01 token per byte.
    pub const NftAttributeDepositBase: Balance = UNITS / 10;
    /// Per byte of metadata or attribute.
    pub const NftDepositPerByte: Balance = UNITS / 100;
    /// Pre-signed mints and swaps expire within 30 days.
    pub const NftMaxDeadlineDuration: BlockNumber = 30 * DAYS;
}

impl pallet_nfts::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type CollectionId = u32;
    type ItemId = u32;
    type Currency = Balances;
    /// Nobody creates collections by extrinsic for now: the only collection is the licenses
    /// collection, created by `CheckerLicenses` at genesis. Opening NFT collections to users
    /// later means setting deposits and `AsEnsureOriginWithArg<EnsureSigned<AccountId>>`.
    type CreateOrigin = AsEnsureOriginWithArg<NeverEnsureOrigin<AccountId>>;
    type ForceOrigin = GovernanceOrigin;
    /// A delegated license cannot be transferred or burnt.
    type Locker = CheckerLicenses;
    type CollectionDeposit = NftCollectionDeposit;
    type ItemDeposit = NftItemDeposit;
    type MetadataDepositBase = NftMetadataDepositBase;
    type AttributeDepositBase = NftAttributeDepositBase;
    type DepositPerByte = NftDepositPerByte;
    type StringLimit = frame_support::traits::ConstU32<256>;
    type KeyLimit = frame_support::traits::ConstU32<64>;
    type ValueLimit = frame_support::traits::ConstU32<256>;
    type ApprovalsLimit = frame_support::traits::ConstU32<20>;
    type ItemAttributesApprovalsLimit = frame_support::traits::ConstU32<20>;
    type MaxTips = frame_support::traits::ConstU32<10>;
    type MaxDeadlineDuration = NftMaxDeadlineDuration;
    type MaxAttributesPerCall = frame_support::traits::ConstU32<10>;
    type Features = NftFeatures;
    type OffchainSignature = Signature;
    type OffchainPublic = <Signature as Verify>::Signer;
    type WeightInfo = pallet_nfts::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type Helper = ();
    type BlockNumberProvider = System;
}

// ---------------------------------------------------------------------------------------------
// Checker licenses (55)
// ---------------------------------------------------------------------------------------------

parameter_types! {
    /// The licenses pallet's account (owner of the licenses collection).
    pub const CheckerLicensesPalletId: PalletId = PalletId(*b"ksr/lics");
    /// A buyer using a referral code pays 5 % less for what is allocated to it.
    pub const ReferralDiscount: Perbill = Perbill::from_percent(5);
    /// The code's owner earns 10 % of what is allocated to the buyer.
    pub const ReferralCommission: Perbill = Perbill::from_percent(10);
    /// Checking epochs of one hour (600 blocks), unless genesis sets another (the development
    /// presets use [`DEV_CHECKING_EPOCH`]).
    pub const CheckingEpochLength: BlockNumber = HOURS;
    /// At most 512 delegation changes wait for one epoch boundary: applying them costs at
    /// most `on_initialize_epoch(512)`, about an eighth of a block with RocksDB weights.
    pub const MaxPendingDelegationChanges: u32 = 512;
    /// Operators may charge at most 50 %.
    pub const MaxOperatorCommission: Perbill = Perbill::from_percent(50);
    /// A commission increase applies a day (24 epochs) after the next epoch.
    pub const CommissionIncreaseDelay: u32 = 24;
}

/// The checking epoch length of the development presets: 20 blocks (2 minutes at 6 s), so that a
/// delegation takes effect (and, with the checking pallet, a worker is checked) while a person
/// watches the devnet or a test waits.
pub const DEV_CHECKING_EPOCH: BlockNumber = 20;

impl pallet_checker_licenses::Config for Runtime {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type CollectionId = u32;
    type Nfts = crate::Nfts;
    /// **Insecure development randomness** (the parent block hash, which the block author can
    /// influence by withholding a block). On peaq this becomes the relay-chain randomness
    /// (BABE's VRF output of a past epoch, via `cumulus_pallet_parachain_system`'s relay state
    /// proof) before a sale with real money runs.
    type Randomness = pallet_checker_licenses::ParentHashRandomness<Runtime>;
    type SaleOrigin = GovernanceOrigin;
    type MintOrigin = GovernanceOrigin;
    type PalletId = CheckerLicensesPalletId;
    type MaxTiers = frame_support::traits::ConstU32<8>;
    type MaxPerWallet = frame_support::traits::ConstU32<50>;
    /// Allow-lists of up to 2^24 (16.7 million) accounts.
    type MaxProofLen = frame_support::traits::ConstU32<24>;
    type MaxCodeLen = frame_support::traits::ConstU32<16>;
    type ReferralDiscount = ReferralDiscount;
    type ReferralCommission = ReferralCommission;
    type DefaultEpochLength = CheckingEpochLength;
    type MaxPendingChanges = MaxPendingDelegationChanges;
    type MaxCommission = MaxOperatorCommission;
    type CommissionIncreaseDelay = CommissionIncreaseDelay;
    type WeightInfo = pallet_checker_licenses::weights::SubstrateWeight<Runtime>;
}
