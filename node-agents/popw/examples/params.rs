//! Print the standard challenge of every calibrated GPU model: chunk count, rows, work time at
//! the calibrated throughput, the message size limits, and the escape bound of a worker that
//! computes 90% of the rows. This is the table in `docs/popw.md`.
//!
//! ```text
//! cargo run --release -p kaisar-popw --example params
//! ```

use kaisar_popw::calibration::{CalibrationTable, TARGET_SECONDS};
use kaisar_popw::messages::{max_challenge_len, max_commit_len, max_open_len, max_openings_len};
use kaisar_popw::{CheckerConfig, STANDARD_SHAPE};

fn main() {
    let table = CalibrationTable::builtin();
    let s = CheckerConfig::default().openings;
    println!(
        "shape m = {}, n = {}, k = {}; {} ops per chunk; target {TARGET_SECONDS} s; s = {s} openings",
        STANDARD_SHAPE.m,
        STANDARD_SHAPE.n,
        STANDARD_SHAPE.k,
        STANDARD_SHAPE.ops_per_chunk()
    );
    println!(
        "max signed Challenge {} B, Commit {} B, Open({s}) {} B",
        max_challenge_len(),
        max_commit_len(),
        max_open_len(s)
    );
    println!("| model | INT8 dense peak (TOPS) | fraction | calibrated (TOPS) | status | chunks T | rows T*m | work at calibrated (s) | max path | max Openings({s}) (bytes) |");
    println!("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|");
    for e in table.entries() {
        let p = table.standard_params(e.model).expect("model in table");
        let secs = p.total_ops() as f64 / (e.calibrated_tops() * 1e12);
        println!(
            "| {:?} | {} | {} | {:.1} | {:?} | {} | {} | {:.2} | {} | {} |",
            e.model,
            e.int8_dense_tops,
            e.calibrated_fraction,
            e.calibrated_tops(),
            e.status,
            p.chunks,
            p.rows(),
            secs,
            p.max_path_len(),
            max_openings_len(&p, s)
        );
    }
    for e in table.entries().iter().filter(|e| e.shape.is_some()) {
        let d = CheckerConfig::default();
        let (min, max) = e.pass_window(d.min_ratio, d.max_ratio);
        println!(
            "{:?} (development only): shape {:?}, {:.3} GOPS calibrated, target {} s, window [{min}, {max}]",
            e.model,
            e.standard_shape(),
            e.calibrated_tops() * 1e3,
            e.target_seconds(),
        );
    }
    for f in [0.01f64, 0.05, 0.1, 0.2, 0.5] {
        println!(
            "skip fraction f = {f}: escape bound (1-f)^{s} + 2^-61 = {:.3e}",
            (1.0 - f).powi(s as i32) + 2f64.powi(-61)
        );
    }
}
