//! `kaisar-metadata`: writes the runtime's metadata, SCALE-encoded, as subxt reads it.
//!
//! ```text
//! kaisar-metadata [--version N] [--output FILE] [--list-versions]
//! ```
//!
//! The runtime is linked natively (no Wasm executor, `SKIP_WASM_BUILD=1` is fine): the bytes are
//! `Runtime::metadata_at_version(N)`, a `RuntimeMetadataPrefixed` (the `meta` magic followed by
//! the versioned metadata), which is the format of subxt's `runtime_metadata_path` files.
//! Some constants read storage (e.g. `ParachainSystem::SelfParaId`), so the metadata is taken
//! over the genesis state of the `development` preset: the values are the dev chain's.
//! Default version: 16, the newest one both the runtime and subxt 0.51 understand.
//! Without `--output` the bytes go to stdout. `scripts/gen-metadata` wraps this tool.

use std::{io::Write, process::ExitCode};

use kaisar_runtime::{genesis_config_presets, BuildStorage, Runtime};

const USAGE: &str = "usage: kaisar-metadata [--version N] [--output FILE] [--list-versions]";

/// The metadata version written by default (subxt 0.51 reads V14, V15 and V16).
const DEFAULT_VERSION: u32 = 16;

fn run(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let mut version = DEFAULT_VERSION;
    let mut output: Option<String> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--version" => {
                let v = args.next().ok_or("--version needs a value")?;
                version = v
                    .parse()
                    .map_err(|_| format!("--version: `{v}` is not a number"))?;
            }
            "--output" | "-o" => output = Some(args.next().ok_or("--output needs a value")?),
            "--list-versions" => {
                let versions: Vec<String> = Runtime::metadata_versions()
                    .iter()
                    .map(u32::to_string)
                    .collect();
                println!("{}", versions.join(" "));
                return Ok(());
            }
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }

    let storage = genesis_config_presets::preset_genesis_config("development")?
        .build_storage()
        .map_err(|e| format!("building the development genesis state: {e}"))?;
    let metadata = sp_io::TestExternalities::new(storage)
        .execute_with(|| Runtime::metadata_at_version(version))
        .ok_or_else(|| {
            format!(
                "the runtime does not provide metadata version {version} (it has {:?})",
                Runtime::metadata_versions()
            )
        })?;
    let bytes: &[u8] = &metadata;
    match output {
        Some(path) => std::fs::write(&path, bytes).map_err(|e| format!("writing {path}: {e}"))?,
        None => std::io::stdout()
            .write_all(bytes)
            .map_err(|e| format!("writing stdout: {e}"))?,
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kaisar-metadata: {e}");
            ExitCode::FAILURE
        }
    }
}
