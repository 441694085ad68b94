//! The GPU model table: spec INT8 peaks and calibrated fractions, kept as data in
//! `calibration.toml` (compiled in with `include_str!`), keyed by [`GpuModel`] names.
//!
//! Every GPU model uses [`STANDARD_SHAPE`], [`TARGET_SECONDS`] and the checker's pass window
//! ([`crate::CheckerConfig`]). An entry may override them (`shape`, `target_seconds`,
//! `min_ratio`, `max_ratio`); only the development-only [`GpuModel::DevCpu`] does: a CPU needs
//! a shape thousands of times smaller than a GPU's, and one calibration has to hold debug and
//! release builds on one to many cores (see the entry's comment in `calibration.toml`).

use crate::params::{Params, Shape, MAX_CHUNKS, STANDARD_SHAPE};
use kaisar_primitives::GpuModel;
use serde::Deserialize;
use std::sync::OnceLock;

/// The built-in table's source.
pub const BUILTIN_TOML: &str = include_str!("calibration.toml");

/// Target duration of the work at the calibrated throughput, in seconds (the issue asks for
/// 5-10 s; the middle leaves room on both sides of the pass window). An entry's
/// `target_seconds` overrides it.
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
    /// The challenge shape (`shape = { m, n, k }`); `None`: [`STANDARD_SHAPE`]. Must be a
    /// valid [`Params`] shape.
    #[serde(default)]
    pub shape: Option<Shape>,
    /// Seconds the standard challenge takes at the calibrated throughput; `None`:
    /// [`TARGET_SECONDS`].
    #[serde(default)]
    pub target_seconds: Option<f64>,
    /// Lowest accepted `measured / calibrated` ratio for this model, if lower than the
    /// checker's own (`CheckerConfig::min_ratio`): an entry can only widen the window.
    #[serde(default)]
    pub min_ratio: Option<f64>,
    /// Highest accepted ratio for this model, if higher than the checker's own
    /// (`CheckerConfig::max_ratio`): an entry can only widen the window.
    #[serde(default)]
    pub max_ratio: Option<f64>,
}

impl ModelEntry {
    /// The calibrated throughput in TOPS.
    pub fn calibrated_tops(&self) -> f64 {
        self.int8_dense_tops * self.calibrated_fraction
    }

    /// The challenge shape: the entry's `shape`, else [`STANDARD_SHAPE`].
    pub fn standard_shape(&self) -> Shape {
        self.shape.unwrap_or(STANDARD_SHAPE)
    }

    /// The target duration: the entry's `target_seconds`, else [`TARGET_SECONDS`].
    pub fn target_seconds(&self) -> f64 {
        self.target_seconds.unwrap_or(TARGET_SECONDS)
    }

    /// The pass window `(min_ratio, max_ratio)` for this model under a checker whose own window
    /// is `(min, max)`: the entry's overrides can only widen it, so a checker that does not
    /// judge timing (`0`, `f64::MAX`) still does not.
    pub fn pass_window(&self, min: f64, max: f64) -> (f64, f64) {
        (
            self.min_ratio.map_or(min, |m| m.min(min)),
            self.max_ratio.map_or(max, |m| m.max(max)),
        )
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
    /// A peak or fraction is not a positive finite number, or a fraction exceeds 1; or a
    /// `target_seconds` is not positive and finite, a `min_ratio` not in `(0, 1]`, a
    /// `max_ratio` not finite and at least 1.
    #[error("model {0:?} has an invalid peak or fraction")]
    BadNumber(GpuModel),
    /// The entry's `shape` is not a valid challenge shape ([`Params::validate`]).
    #[error("model {0:?} has an invalid shape: {1}")]
    BadShape(GpuModel, crate::params::ParamsError),
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
                && e.calibrated_fraction <= 1.0
                && e.target_seconds.is_none_or(|t| t.is_finite() && t > 0.0)
                && e.min_ratio.is_none_or(|m| m > 0.0 && m <= 1.0)
                && e.max_ratio.is_none_or(|m| m.is_finite() && m >= 1.0);
            if !ok {
                return Err(CalibrationError::BadNumber(e.model));
            }
            if let Some(shape) = e.shape {
                shape
                    .with_chunks(1)
                    .validate()
                    .map_err(|err| CalibrationError::BadShape(e.model, err))?;
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

    /// The challenge shape of `model` ([`ModelEntry::standard_shape`]: [`STANDARD_SHAPE`] for
    /// every GPU model).
    pub fn standard_shape(&self, model: GpuModel) -> Option<Shape> {
        Some(self.entry(model)?.standard_shape())
    }

    /// The standard challenge parameters for `model`: its shape ([`STANDARD_SHAPE`] unless the
    /// entry sets one) with enough chunks for its target seconds ([`TARGET_SECONDS`] unless the
    /// entry sets them).
    pub fn standard_params(&self, model: GpuModel) -> Option<Params> {
        let e = self.entry(model)?;
        let shape = e.standard_shape();
        Some(shape.with_chunks(self.chunks_for(model, shape, e.target_seconds())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [GpuModel; 13] = [
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
        GpuModel::DevCpu,
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
            | GpuModel::H200
            | GpuModel::DevCpu => {}
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
        for m in ALL.into_iter().filter(|m| !m.is_dev_only()) {
            let p = t.standard_params(m).unwrap();
            assert_eq!(p.shape(), STANDARD_SHAPE, "{m:?}");
            let e = t.entry(m).unwrap();
            assert_eq!(
                (e.target_seconds, e.min_ratio, e.max_ratio),
                (None, None, None)
            );
            p.validate().unwrap();
            let secs = p.total_ops() as f64 / (t.entry(m).unwrap().calibrated_tops() * 1e12);
            assert!((5.0..=10.0).contains(&secs), "{m:?}: {secs} s");
        }
    }

    #[test]
    fn dev_cpu_challenge_is_small_measured_and_takes_a_few_seconds_on_one_debug_core() {
        let t = CalibrationTable::builtin();
        let e = t.entry(GpuModel::DevCpu).unwrap();
        assert_eq!(e.status, CalibrationStatus::Measured);
        assert!(e.measured_on.is_some());
        let p = t.standard_params(GpuModel::DevCpu).unwrap();
        p.validate().unwrap();
        let shape = Shape {
            m: 256,
            n: 256,
            k: 1024,
        };
        assert_eq!(t.standard_shape(GpuModel::DevCpu), Some(shape));
        assert_eq!(p, shape.with_chunks(6));
        let secs = p.total_ops() as f64 / (e.calibrated_tops() * 1e12);
        assert!((2.0..=5.0).contains(&secs), "{secs} s");
        // The window widens the checker's default one and never narrows a disabled one.
        assert_eq!(e.pass_window(0.5, 1.05), (0.1, 2000.0));
        assert_eq!(e.pass_window(0.0, f64::MAX), (0.0, f64::MAX));
        // A GPU model keeps the checker's window.
        let l4 = t.entry(GpuModel::L4).unwrap();
        assert_eq!(l4.pass_window(0.5, 1.05), (0.5, 1.05));
        // DevCpu's challenge is ~900 000 times smaller than the smallest GPU model's.
        let smallest_gpu = ALL
            .into_iter()
            .filter(|m| !m.is_dev_only())
            .map(|m| t.standard_params(m).unwrap().total_ops())
            .min()
            .unwrap();
        assert!(smallest_gpu / p.total_ops() > 500_000, "{smallest_gpu}");
    }

    #[test]
    fn malformed_overrides_are_refused() {
        let one = "[[model]]\nmodel = \"DevCpu\"\nint8_dense_tops = 0.001\ncalibrated_fraction = 1.0\nstatus = \"estimate\"\nsource = \"x\"\n";
        let ok = format!("{one}shape = {{ m = 64, n = 64, k = 256 }}\ntarget_seconds = 2.0\nmin_ratio = 0.2\nmax_ratio = 10.0\n");
        let t = CalibrationTable::parse(&ok).unwrap();
        assert_eq!(
            t.standard_params(GpuModel::DevCpu).unwrap().shape(),
            Shape {
                m: 64,
                n: 64,
                k: 256
            }
        );
        for bad in [
            "target_seconds = 0.0\n",
            "min_ratio = 0.0\n",
            "min_ratio = 1.5\n",
            "max_ratio = 0.9\n",
            "max_ratio = inf\n",
        ] {
            assert!(
                matches!(
                    CalibrationTable::parse(&format!("{one}{bad}")),
                    Err(CalibrationError::BadNumber(GpuModel::DevCpu))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            CalibrationTable::parse(&format!("{one}shape = {{ m = 100, n = 64, k = 256 }}\n")),
            Err(CalibrationError::BadShape(GpuModel::DevCpu, _))
        ));
        assert!(matches!(
            CalibrationTable::parse(&format!("{one}shape = {{ m = 64, n = 64 }}\n")),
            Err(CalibrationError::Parse(_))
        ));
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
