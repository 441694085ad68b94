//! Measure the CPU backend's pipeline throughput (PRF + INT8 GEMM + row hashing + chunk trees),
//! the figure behind the `DevCpu` row of `calibration.toml`.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo run -p kaisar-popw --example calibrate_cpu -- [M N K CHUNKS] [RUNS]
//! ```
//!
//! Without arguments it runs `DevCpu`'s standard parameters from the built-in table. Run it in
//! a debug build (the devnet runs debug binaries) and in a release build (`--release`), with one
//! and with all threads: the `DevCpu` pass window must hold all of them.

use kaisar_popw::backend::{Backend, CpuBackend};
use kaisar_popw::calibration::CalibrationTable;
use kaisar_popw::{Params, Seed};
use kaisar_primitives::GpuModel;
use std::time::Instant;

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let table = CalibrationTable::builtin();
    let params = match args.as_slice() {
        [m, n, k, chunks, ..] => Params {
            m: *m,
            n: *n,
            k: *k,
            chunks: *chunks,
        },
        _ => table
            .standard_params(GpuModel::DevCpu)
            .expect("DevCpu in table"),
    };
    params.validate().expect("valid params");
    let runs = args.get(4).copied().unwrap_or(3);
    let calibrated = table
        .entry(GpuModel::DevCpu)
        .map(|e| e.calibrated_tops())
        .unwrap_or(f64::NAN);
    println!(
        "params: {params:?} ({:.3e} ops), debug build: {}, threads: {}",
        params.total_ops() as f64,
        cfg!(debug_assertions),
        rayon::current_num_threads()
    );
    let mut cpu = CpuBackend::new();
    for run in 0..runs {
        let seed = Seed([run as u8 + 1; 32]);
        let start = Instant::now();
        cpu.commit(&seed, &params).expect("commit");
        let secs = start.elapsed().as_secs_f64();
        let gops = params.total_ops() as f64 / secs / 1e9;
        println!(
            "run {run}: {secs:.3} s, {gops:.3} GOPS, ratio to DevCpu calibration {:.3}",
            gops / 1e3 / calibrated
        );
    }
}
