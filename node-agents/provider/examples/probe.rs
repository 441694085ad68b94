//! Time a full GPU probe (identity + state of every GPU), the "under 5 ms for all GPUs"
//! goal: `cargo run --release -p kaisar-provider --example probe [fixture.json]` (NVML without an
//! argument, the fake backend with one).

use kaisar_provider::gpu::{FakeBackend, GpuBackend, NvmlBackend};
use std::time::{Duration, Instant};

fn main() {
    let backend: Box<dyn GpuBackend> = match std::env::args().nth(1) {
        Some(path) => Box::new(FakeBackend::from_file(path.as_ref()).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        })),
        None => Box::new(NvmlBackend::new().unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        })),
    };
    let started = Instant::now();
    let first = backend.probe().expect("probe");
    let first_took = started.elapsed();
    let mut times: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            backend.probe().expect("probe");
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{} backend, {} GPUs: first probe {:?}, then min {:?}, median {:?}, max {:?} (50 probes)",
        backend.kind(),
        first.len(),
        first_took,
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
