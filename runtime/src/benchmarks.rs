//! The pallets whose benchmarks the runtime exposes through `frame_benchmarking::Benchmark`
//! (`frame-omni-bencher v1 benchmark pallet --runtime <wasm>` or
//! `polkadot-omni-node benchmark pallet`).

use alloc::vec::Vec;
use frame_benchmarking::BenchmarkError;

use crate::{ParachainSystem, Runtime, System};

frame_benchmarking::define_benchmarks!(
    [frame_system, SystemBench::<Runtime>]
    [pallet_balances, Balances]
    [pallet_timestamp, Timestamp]
    [pallet_sudo, Sudo]
    [cumulus_pallet_parachain_system, ParachainSystem]
    [pallet_worker_registry, WorkerRegistry]
    [pallet_escrow, Escrow]
    [pallet_points, Points]
    [pallet_orders, Orders]
    [pallet_checker_licenses, CheckerLicenses]
    [pallet_popw_attestations, PopwAttestations]
    [pallet_rewards, Rewards]
);

impl frame_system_benchmarking::Config for Runtime {
    /// `set_code` on a parachain stores the code for the relay chain to validate; prepare the
    /// validation data it needs.
    fn setup_set_code_requirements(code: &Vec<u8>) -> Result<(), BenchmarkError> {
        ParachainSystem::initialize_for_set_code_benchmark(code.len() as u32);
        Ok(())
    }

    /// On a parachain, `set_code` ends with the code stored for validation (not applied yet).
    fn verify_set_code() {
        System::assert_last_event(
            cumulus_pallet_parachain_system::Event::<Runtime>::ValidationFunctionStored.into(),
        );
    }
}
