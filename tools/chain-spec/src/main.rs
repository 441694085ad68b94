//! `kaisar-chain-spec`: writes the raw chain spec of one of the runtime's genesis presets.
//!
//! ```text
//! kaisar-chain-spec [--preset development|local_testnet] [--relay-chain NAME] [--output FILE]
//! ```
//!
//! The runtime is linked natively: the preset's JSON patch is merged over the default
//! `RuntimeGenesisConfig` (the same merge `sc-chain-spec` does), the genesis storage is built
//! with `BuildStorage`, and `:code` is set to the runtime's Wasm blob. The result is a *raw*
//! chain spec that both Chopsticks (`--genesis FILE`) and `polkadot-omni-node` (`--chain FILE`)
//! load, with the `relay_chain` and `para_id` extensions omni-node expects. No Wasm executor is
//! needed, so this builds and runs in seconds once the runtime is compiled.

use std::{collections::BTreeMap, io::Write, process::ExitCode};

use kaisar_runtime::{genesis_config_presets, WASM_BINARY};
use serde_json::{json, Map, Value};
use sp_core::{bytes::to_hex, storage::well_known_keys};
use sp_runtime::BuildStorage;

const USAGE: &str = "usage: kaisar-chain-spec [--preset development|local_testnet] \
                     [--relay-chain NAME] [--output FILE]";

/// Command-line options.
struct Options {
    preset: String,
    relay_chain: String,
    output: Option<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        preset: "development".into(),
        relay_chain: "rococo-local".into(),
        output: None,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--preset" => options.preset = value("--preset")?,
            "--relay-chain" => options.relay_chain = value("--relay-chain")?,
            "--output" | "-o" => options.output = Some(value("--output")?),
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(options)
}

/// The raw chain spec of `options.preset`, as JSON.
fn chain_spec(options: &Options) -> Result<Value, String> {
    let config = genesis_config_presets::preset_genesis_config(&options.preset)?;
    let code = WASM_BINARY.ok_or(
        "kaisar-runtime was built without its Wasm blob (SKIP_WASM_BUILD set?); rebuild without it",
    )?;
    let para_id: u32 = config.parachain_info.parachain_id.into();
    let mut storage = config.build_storage()?;
    storage
        .top
        .insert(well_known_keys::CODE.to_vec(), code.to_vec());
    if !storage.children_default.is_empty() {
        return Err("genesis has child tries, which Chopsticks cannot load".into());
    }
    let top: BTreeMap<String, String> = storage
        .top
        .iter()
        .map(|(key, value)| (to_hex(key, false), to_hex(value, false)))
        .collect();

    let (name, id, chain_type) = match options.preset.as_str() {
        "development" => ("Kaisar Development", "kaisar_dev", "Development"),
        "local_testnet" => ("Kaisar Local Testnet", "kaisar_local", "Local"),
        other => (other, other, "Custom"),
    };
    let mut properties = Map::new();
    properties.insert("tokenSymbol".into(), json!("KAI"));
    properties.insert("tokenDecimals".into(), json!(18));
    properties.insert("ss58Format".into(), json!(42));

    Ok(json!({
        "name": name,
        "id": id,
        "chainType": chain_type,
        "bootNodes": [],
        "telemetryEndpoints": null,
        "protocolId": "kaisar",
        "properties": properties,
        "relay_chain": options.relay_chain,
        "para_id": para_id,
        "codeSubstitutes": {},
        "genesis": { "raw": { "top": top, "childrenDefault": {} } },
    }))
}

fn run() -> Result<(), String> {
    let options = parse_args(std::env::args().skip(1))?;
    let spec = chain_spec(&options)?;
    let text = serde_json::to_string_pretty(&spec).map_err(|e| e.to_string())?;
    match &options.output {
        Some(path) => {
            std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {path}: {e}"))?
        }
        None => writeln!(std::io::stdout(), "{text}").map_err(|e| e.to_string())?,
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kaisar-chain-spec: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_argument_is_rejected() {
        assert!(parse_args(["--bogus".to_string()].into_iter()).is_err());
    }

    #[test]
    fn option_without_value_is_rejected() {
        assert!(parse_args(["--preset".to_string()].into_iter()).is_err());
    }

    #[test]
    fn unknown_preset_is_an_error_naming_the_known_ones() {
        let options = Options {
            preset: "mainnet".into(),
            relay_chain: "rococo-local".into(),
            output: None,
        };
        let err = chain_spec(&options).expect_err("no such preset");
        assert!(
            err.contains("development") && err.contains("local_testnet"),
            "{err}"
        );
    }

    #[test]
    fn development_spec_is_raw_with_code_para_id_and_relay_chain() {
        let Some(code) = WASM_BINARY else {
            eprintln!("skipped: built with SKIP_WASM_BUILD");
            return;
        };
        let options = Options {
            preset: "development".into(),
            relay_chain: "rococo-local".into(),
            output: None,
        };
        let spec = chain_spec(&options).expect("spec builds");
        assert_eq!(spec["para_id"], json!(genesis_config_presets::PARA_ID));
        assert_eq!(spec["relay_chain"], json!("rococo-local"));
        assert_eq!(spec["id"], json!("kaisar_dev"));
        let top = spec["genesis"]["raw"]["top"]
            .as_object()
            .expect("raw storage");
        assert_eq!(
            top[&to_hex(well_known_keys::CODE, false)],
            json!(to_hex(code, false))
        );
        assert!(top.keys().all(|k| k.starts_with("0x")));
    }
}
