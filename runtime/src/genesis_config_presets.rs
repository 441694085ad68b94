//! Genesis presets: `development` (one Aura authority, Alice) and `local_testnet` (Alice and Bob).
//!
//! Both fund the well-known dev accounts (Alice, Bob, Charlie, Dave, Eve, Ferdie) with
//! [`DEV_ACCOUNT_BALANCE`] each, make Alice the sudo key, set the para id to [`PARA_ID`], and
//! set up the marketplace's demo configuration:
//! - the treasury exists (it receives fees) and the promotion pot holds
//!   [`DEMO_POT_BALANCE`] (see [`kaisar_genesis_accounts`]);
//! - Eve, the demo user, holds [`DEMO_POINTS`] points to spend as a discount;
//! - checking epochs are [`DEV_CHECKING_EPOCH`] blocks long (not an hour), so that license
//!   delegations take effect within minutes;
//! - reported usage matures after [`DEV_MATURITY_DELAY`] blocks (not two hours), so that
//!   providers are paid within minutes;
//! - reward eras are [`DEV_ERA_EPOCHS`] checking epoch (not a day) and the reward pot holds
//!   [`DEV_REWARD_POT_BALANCE`], so that rewards can be claimed within minutes;
//! - the worker registry accepts the development-only GPU model `DevCpu` (a CPU running the PoPW
//!   CPU backend, see `pallet_worker_registry::DevModelsEnabled`), so that a GPU-less devnet
//!   runs the whole PoPW flow. The default genesis (what a production chain spec starts from)
//!   refuses it.
//!
//! Workers are not created at genesis: a provider registers one with
//! `workerRegistry.registerWorker` and the sudo key verifies it (`sudo(workerRegistry.verifyWorker)`).
//!
//! `kaisar-chain-spec` turns a preset into a chain spec; `GenesisBuilder::get_preset` serves
//! them to `polkadot-omni-node` / `chain-spec-builder` too.

use alloc::{vec, vec::Vec};
use cumulus_primitives_core::ParaId;
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::Sr25519Keyring;

pub use crate::configs::kaisar::{kaisar_genesis_accounts, DEMO_POT_BALANCE, DEV_MATURITY_DELAY};
pub use crate::configs::licenses::DEV_CHECKING_EPOCH;
pub use crate::configs::rewards::{DEV_ERA_EPOCHS, DEV_REWARD_POT_BALANCE};
use crate::{
    AccountId, AuraConfig, AuraId, Balance, BalancesConfig, CheckerLicensesConfig, OrdersConfig,
    ParachainInfoConfig, PointsConfig, RewardsConfig, RuntimeGenesisConfig, SudoConfig,
    WorkerRegistryConfig, UNITS,
};

/// The parachain id of the development chains.
pub const PARA_ID: u32 = 2000;

/// What each well-known dev account starts with: one million tokens.
pub const DEV_ACCOUNT_BALANCE: Balance = 1_000_000 * UNITS;

/// Points Eve (the demo user) holds at genesis: worth 100 tokens of discount at one point per
/// token unit.
pub const DEMO_POINTS: Balance = 100 * UNITS;

/// The demo user who holds [`DEMO_POINTS`] at genesis: Eve.
pub fn demo_points_holder() -> AccountId {
    Sr25519Keyring::Eve.to_account_id()
}

/// The well-known dev accounts that get funded: Alice, Bob, Charlie, Dave, Eve, Ferdie.
pub fn dev_accounts() -> Vec<AccountId> {
    vec![
        Sr25519Keyring::Alice.to_account_id(),
        Sr25519Keyring::Bob.to_account_id(),
        Sr25519Keyring::Charlie.to_account_id(),
        Sr25519Keyring::Dave.to_account_id(),
        Sr25519Keyring::Eve.to_account_id(),
        Sr25519Keyring::Ferdie.to_account_id(),
    ]
}

fn genesis(authorities: Vec<AuraId>, root: AccountId, para_id: ParaId) -> Value {
    let mut balances: Vec<(AccountId, Balance)> = dev_accounts()
        .into_iter()
        .map(|who| (who, DEV_ACCOUNT_BALANCE))
        .collect();
    balances.extend(kaisar_genesis_accounts());

    build_struct_json_patch!(RuntimeGenesisConfig {
        balances: BalancesConfig { balances },
        parachain_info: ParachainInfoConfig {
            parachain_id: para_id
        },
        aura: AuraConfig { authorities },
        sudo: SudoConfig { key: Some(root) },
        points: PointsConfig {
            points: vec![(demo_points_holder(), DEMO_POINTS)]
        },
        checker_licenses: CheckerLicensesConfig {
            epoch_length: Some(DEV_CHECKING_EPOCH)
        },
        orders: OrdersConfig {
            maturity_delay: Some(DEV_MATURITY_DELAY)
        },
        rewards: RewardsConfig {
            era_epochs: Some(DEV_ERA_EPOCHS)
        },
        worker_registry: WorkerRegistryConfig { dev_models: true },
    })
}

fn development() -> Value {
    genesis(
        vec![Sr25519Keyring::Alice.public().into()],
        Sr25519Keyring::Alice.to_account_id(),
        PARA_ID.into(),
    )
}

fn local_testnet() -> Value {
    genesis(
        vec![
            Sr25519Keyring::Alice.public().into(),
            Sr25519Keyring::Bob.public().into(),
        ],
        Sr25519Keyring::Alice.to_account_id(),
        PARA_ID.into(),
    )
}

/// The JSON patch (over the default `RuntimeGenesisConfig`) of preset `id`, or `None` if there
/// is no such preset.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
    let patch = match id.as_str() {
        DEV_RUNTIME_PRESET => development(),
        LOCAL_TESTNET_RUNTIME_PRESET => local_testnet(),
        _ => return None,
    };
    // Serialising a `serde_json::Value` cannot fail.
    Some(serde_json::to_vec(&patch).expect("a JSON value serialises; qed"))
}

/// The names of the presets: `development` and `local_testnet`.
pub fn preset_names() -> Vec<PresetId> {
    vec![
        PresetId::from(DEV_RUNTIME_PRESET),
        PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET),
    ]
}

/// The full genesis config of preset `id`: its JSON patch merged over the default
/// `RuntimeGenesisConfig`, the way `sc-chain-spec` applies presets (JSON merge patch, RFC 7386).
/// Used by `kaisar-chain-spec` and the runtime's tests.
#[cfg(feature = "std")]
pub fn preset_genesis_config(id: &str) -> Result<RuntimeGenesisConfig, alloc::string::String> {
    use alloc::{format, string::ToString};

    /// Objects merge key by key, `null` removes a key, anything else replaces.
    fn merge(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Object(base), Value::Object(patch)) => {
                for (key, value) in patch {
                    if value.is_null() {
                        base.remove(&key);
                    } else {
                        merge(base.entry(key).or_insert(Value::Null), value);
                    }
                }
            }
            (base, patch) => *base = patch,
        }
    }

    let patch = get_preset(&id.to_string()).ok_or_else(|| {
        format!(
            "no genesis preset `{id}` (the runtime has: {})",
            preset_names().join(", ")
        )
    })?;
    let patch: Value =
        serde_json::from_slice(&patch).map_err(|e| format!("preset `{id}` is not JSON: {e}"))?;
    let mut config = serde_json::to_value(RuntimeGenesisConfig::default())
        .map_err(|e| format!("the default genesis config does not serialise: {e}"))?;
    merge(&mut config, patch);
    serde_json::from_value(config)
        .map_err(|e| format!("preset `{id}` does not fit the runtime: {e}"))
}
