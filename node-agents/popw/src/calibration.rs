//! The GPU model table: spec INT8 peaks and calibrated fractions, kept as data in
//! `calibration.toml` (compiled in with `include_str!`), keyed by [`GpuModel`] names.

use crate::params::{Params, Shape, MAX_CHUNKS, STANDARD_SHAPE};
use kaisar_primitives::GpuModel;
use serde::Deserialize;
use std::sync::OnceLock;

/// The built-in table's source.
pub const BUILTIN_TOML: &str = include_str!("calibration.toml");

/// Target duration of the work at the calibrated throughput, in seconds (the issue asks for
/// 5-10 s; the middle leaves room on both sides of the pass window).
pub const TARGET_SECONDS: f64 = 7.0;

/// Whether a calibrated fraction was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalibrationStatus {
    /// Not measured on the model yet.
    Estimate,
    /// Measured with this crate's CUDA backend.
    Measured,
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The model.
    pub model: GpuModel,
    /// Vendor peak INT8 tensor TOPS without sparsity.
    pub int8_dense_tops: f64,
    /// Fraction of the peak the PoPW pipeline reaches.
    pub calibrated_fraction: f64,
    /// Estimate or measured.
    pub status: CalibrationStatus,
    /// Where the peak figure comes from.
    pub source: String,
    /// Where and when the fraction was measured (for `status = "measured"`).
    #[serde(default)]
    pub measured_on: Option<String>,
}

impl ModelEntry {
    /// The calibrated throughput in TOPS.
    pub fn calibrated_tops(&self) -> f64 {
        self.int8_dense_tops * self.calibrated_fraction
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    model: Vec<ModelEntry>,
}

/// A parsed, validated calibration table.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrationTable {
    entries: Vec<ModelEntry>,
}

/// Why a calibration table was refused.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// Not valid TOML, or a field is missing or unknown.
    #[error("calibration table does not parse: {0}")]
    Parse(String),
    /// A model appears twice.
    #[error("model {0:?} appears more than once")]
    Duplicate(GpuModel),
    /// A peak or fraction is not a positive finite number, or a fraction exceeds 1.
    #[error("model {0:?} has an invalid peak or fraction")]
    BadNumber(GpuModel),
}

impl CalibrationTable {
    /// Parse and validate a table.
    pub fn parse(toml_text: &str) -> Result<Self, CalibrationError> {
        let file: TableFile =
            toml::from_str(toml_text).map_err(|e| CalibrationError::Parse(e.to_string()))?;
        let mut seen = Vec::new();
        for e in &file.model {
            if seen.contains(&e.model) {
                return Err(CalibrationError::Duplicate(e.model));
            }
            seen.push(e.model);
            let ok = e.int8_dense_tops.is_finite()
                && e.int8_dense_tops > 0.0
                && e.calibrated_fraction.is_finite()
                && e.calibrated_fraction > 0.0
                && e.calibrated_fraction <= 1.0;
            if !ok {
                return Err(CalibrationError::BadNumber(e.model));
            }
        }
        Ok(Self {
            entries: file.model,
        })
    }

    /// The table compiled into the crate.
    pub fn builtin() -> &'static Self {
        static TABLE: OnceLock<CalibrationTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            // The file is part of the crate and checked by the `builtin_table_*` tests.
            Self::parse(BUILTIN_TOML).expect("built-in calibration.toml is valid")
        })
    }

    /// The entry of `model`, if the table has one.
    pub fn entry(&self, model: GpuModel) -> Option<&ModelEntry> {
        self.entries.iter().find(|e| e.model == model)
    }

    /// All entries.
    pub fn entries(&self) -> &[ModelEntry] {
        &self.entries
    }

    /// The number of chunks of `shape` that take `target_seconds` at `model`'s calibrated
    /// throughput (at least 1, at most [`MAX_CHUNKS`]).
    pub fn chunks_for(&self, model: GpuModel, shape: Shape, target_seconds: f64) -> Option<u32> {
        let e = self.entry(model)?;
        let ops = e.calibrated_tops() * 1e12 * target_seconds;
        let chunks = (ops / shape.ops_per_chunk() as f64).round();
        Some(chunks.clamp(1.0, MAX_CHUNKS as f64) as u32)
    }

    /// The standard challenge parameters for `model`: [`STANDARD_SHAPE`] with enough chunks for
    /// [`TARGET_SECONDS`].
    pub fn standard_params(&self, model: GpuModel) -> Option<Params> {
        Some(STANDARD_SHAPE.with_chunks(self.chunks_for(model, STANDARD_SHAPE, TARGET_SECONDS)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [GpuModel; 12] = [
        GpuModel::RtxA4000,
        GpuModel::Rtx3090,
        GpuModel::Rtx4090,
        GpuModel::Rtx5090,
        GpuModel::L4,
        GpuModel::L40S,
        GpuModel::A10,
        GpuModel::A100Pcie40G,
        GpuModel::A100Sxm80G,
        GpuModel::H100Pcie,
        GpuModel::H100Sxm,
        GpuModel::H200,
    ];

    // Fails to compile when a model is added to GpuModel and not to ALL above.
    #[allow(dead_code)]
    fn all_is_exhaustive(m: GpuModel) {
        match m {
            GpuModel::RtxA4000
            | GpuModel::Rtx3090
            | GpuModel::Rtx4090
            | GpuModel::Rtx5090
            | GpuModel::L4
            | GpuModel::L40S
            | GpuModel::A10
            | GpuModel::A100Pcie40G
            | GpuModel::A100Sxm80G
            | GpuModel::H100Pcie
            | GpuModel::H100Sxm
            | GpuModel::H200 => {}
        }
    }

    #[test]
    fn builtin_table_covers_every_gpu_model_once() {
        let t = CalibrationTable::builtin();
        assert_eq!(t.entries().len(), ALL.len());
        for m in ALL {
            assert!(t.entry(m).is_some(), "{m:?} missing");
        }
        assert_eq!(t.entry(GpuModel::H100Sxm).unwrap().int8_dense_tops, 1979.0);
    }

    #[test]
    fn standard_params_take_five_to_ten_seconds_at_calibrated_speed() {
        let t = CalibrationTable::builtin();
        for m in ALL {
            let p = t.standard_params(m).unwrap();
            p.validate().unwrap();
            let secs = p.total_ops() as f64 / (t.entry(m).unwrap().calibrated_tops() * 1e12);
            assert!((5.0..=10.0).contains(&secs), "{m:?}: {secs} s");
        }
    }

    #[test]
    fn malformed_tables_are_refused() {
        assert!(matches!(
            CalibrationTable::parse("[[model]]\nmodel = \"Nope\""),
            Err(CalibrationError::Parse(_))
        ));
        let one = "[[model]]\nmodel = \"L4\"\nint8_dense_tops = 242.5\ncalibrated_fraction = 0.7\nstatus = \"estimate\"\nsource = \"x\"\n";
        assert!(CalibrationTable::parse(one).is_ok());
        let dup = format!("{one}{one}");
        assert!(matches!(
            CalibrationTable::parse(&dup),
            Err(CalibrationError::Duplicate(GpuModel::L4))
        ));
        let bad = one.replace("0.7", "1.5");
        assert!(matches!(
            CalibrationTable::parse(&bad),
            Err(CalibrationError::BadNumber(GpuModel::L4))
        ));
        let unknown = format!("{one}color = \"red\"\n");
        assert!(matches!(
            CalibrationTable::parse(&unknown),
            Err(CalibrationError::Parse(_))
        ));
    }
}
