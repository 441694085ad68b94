//! Measure the PoPW pipeline's INT8 throughput on a GPU and check it against the CPU reference.
//!
//! ```text
//! cargo run --release -p kaisar-popw --features cuda --example calibrate -- [MODEL] [CHUNKS]
//! ```
//!
//! MODEL is a `GpuModel` name from `calibration.toml` (default `H100Sxm`); CHUNKS defaults to
//! the calibrated standard count for that model. Prints the achieved TOPS, the fraction of the
//! model's spec peak (the value for `calibrated_fraction`), and whether sampled rows and their
//! hashes match the CPU backend bit for bit.

use kaisar_popw::backend::{Backend, CpuBackend, CudaBackend};
use kaisar_popw::calibration::{CalibrationTable, TARGET_SECONDS};
use kaisar_popw::merkle::{self, Commitment};
use kaisar_popw::prf::MatrixPrf;
use kaisar_popw::{verify, OpenedRow, RowIndex, Seed, STANDARD_SHAPE};
use kaisar_primitives::GpuModel;
use rand::{Rng, SeedableRng};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model_name = args.get(1).cloned().unwrap_or_else(|| "H100Sxm".into());
    let model: GpuModel = toml::Value::String(model_name.clone())
        .try_into()
        .unwrap_or_else(|_| panic!("unknown model {model_name}"));
    let table = CalibrationTable::builtin();
    let entry = table.entry(model).expect("model in table");
    let chunks = match args.get(2) {
        Some(c) => c.parse().expect("CHUNKS is a number"),
        None => table
            .chunks_for(model, STANDARD_SHAPE, TARGET_SECONDS)
            .expect("model in table"),
    };
    let params = STANDARD_SHAPE.with_chunks(chunks);

    let mut gpu = CudaBackend::new(0).expect("CUDA device 0");
    println!("device: {}", gpu.device_name());
    println!("params: {params:?} ({:.3e} ops)", params.total_ops() as f64);

    let mut rng = rand::rngs::StdRng::from_entropy();
    // Warm-up (NVRTC JIT, cuBLAS heuristics, clocks), on another seed.
    let warm = STANDARD_SHAPE.with_chunks(chunks.min(8));
    gpu.commit(&Seed(rng.gen()), &warm).expect("warm-up");
    gpu.synchronize().expect("sync");

    let seed = Seed(rng.gen());
    let start = Instant::now();
    let hashes = gpu.commit(&seed, &params).expect("commit");
    let secs = start.elapsed().as_secs_f64();
    let tops = params.total_ops() as f64 / secs / 1e12;
    println!("pipeline: {secs:.3} s, {tops:.1} INT8 TOPS");
    println!(
        "spec peak {:.1} TOPS -> fraction {:.3} (table has {:.3}, {:?})",
        entry.int8_dense_tops,
        tops / entry.int8_dense_tops,
        entry.calibrated_fraction,
        entry.status
    );

    // Cross-check sampled rows with the CPU backend and the checker's verification.
    let tree = Commitment::from_chunks(params.m as usize, hashes.leaves, hashes.chunk_roots)
        .expect("tree");
    let asked: Vec<RowIndex> = verify::select_openings(&mut rng, &params, 4);
    let gpu_rows = gpu.rows(&seed, &params, &asked).expect("gpu rows");
    let cpu_rows = CpuBackend::new()
        .rows(&seed, &params, &asked)
        .expect("cpu rows");
    let identical = gpu_rows == cpu_rows;
    let leaves_ok = asked.iter().zip(&cpu_rows).all(|(ix, row)| {
        tree.leaves()[(ix.t * params.m + ix.i) as usize] == merkle::leaf_hash(ix.t, ix.i, row)
    });
    let prf = MatrixPrf::new(&seed);
    let r = verify::draw_secret(&mut rng, params.n);
    let y = verify::compute_y(&prf, &params, &r);
    let opened: Vec<OpenedRow> = asked
        .iter()
        .zip(gpu_rows)
        .map(|(ix, row)| OpenedRow {
            index: *ix,
            row,
            path: tree.path(ix.t, ix.i).expect("path"),
        })
        .collect();
    let verified = verify::check_openings(&prf, &params, &tree.root(), &r, &y, &asked, &opened);
    println!("rows bit-identical to CPU: {identical}; GPU leaf hashes match CPU hashes: {leaves_ok}; checker verification: {verified:?}");
    if !(identical && leaves_ok && verified.is_ok()) {
        std::process::exit(1);
    }
}
