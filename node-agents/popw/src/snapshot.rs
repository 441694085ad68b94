//! GPU telemetry the worker reports with its commitment (NVML readings before and after the
//! work). Self-reported, so only weak evidence: the checker records it, requires the GPU UUID
//! hash to be the challenged one and the readings to be ordered in time, and reports the average
//! power over the run. The throughput and the openings decide the verdict.

use crate::seed::GpuUuidHash;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};

/// One NVML reading.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen,
)]
pub struct GpuSnapshot {
    /// Hash of the UUID of the GPU read ([`GpuUuidHash::of_uuid`]).
    pub gpu_uuid_hash: GpuUuidHash,
    /// Worker wall clock, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// SM clock in MHz (`nvmlDeviceGetClockInfo(NVML_CLOCK_SM)`).
    pub sm_clock_mhz: u32,
    /// Memory clock in MHz.
    pub mem_clock_mhz: u32,
    /// Power draw in milliwatts (`nvmlDeviceGetPowerUsage`).
    pub power_mw: u32,
    /// Core temperature in degrees Celsius.
    pub temperature_c: u32,
    /// GPU utilisation in percent over the driver's last sample period.
    pub utilization_pct: u32,
    /// Energy used since the driver loaded, in millijoules
    /// (`nvmlDeviceGetTotalEnergyConsumption`); 0 if unsupported.
    pub total_energy_mj: u64,
}

impl GpuSnapshot {
    /// A snapshot with no telemetry (no NVML, e.g. the CPU backend): only the UUID hash and time.
    pub fn without_telemetry(gpu_uuid_hash: GpuUuidHash, timestamp_ms: u64) -> Self {
        Self {
            gpu_uuid_hash,
            timestamp_ms,
            sm_clock_mhz: 0,
            mem_clock_mhz: 0,
            power_mw: 0,
            temperature_c: 0,
            utilization_pct: 0,
            total_energy_mj: 0,
        }
    }

    /// Average power in watts between `self` (before) and `after`, if both have energy readings
    /// and time passed.
    pub fn average_power_w(&self, after: &GpuSnapshot) -> Option<f64> {
        let dt_ms = after.timestamp_ms.checked_sub(self.timestamp_ms)?;
        let de_mj = after.total_energy_mj.checked_sub(self.total_energy_mj)?;
        if dt_ms == 0 || self.total_energy_mj == 0 {
            return None;
        }
        // mJ / ms = W
        Some(de_mj as f64 / dt_ms as f64)
    }
}

/// Milliseconds since the Unix epoch, by this machine's clock (0 if the clock is before 1970).
pub fn unix_time_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(feature = "nvml")]
pub use nvml_reader::NvmlReader;

#[cfg(feature = "nvml")]
mod nvml_reader {
    use super::*;
    use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
    use nvml_wrapper::Nvml;

    /// Reads [`GpuSnapshot`]s of one GPU through NVML (libnvidia-ml is loaded at run time).
    pub struct NvmlReader {
        nvml: Nvml,
        index: u32,
        uuid_hash: GpuUuidHash,
    }

    impl NvmlReader {
        /// Open GPU `index`.
        pub fn new(index: u32) -> Result<Self, nvml_wrapper::error::NvmlError> {
            let nvml = Nvml::init()?;
            let uuid = nvml.device_by_index(index)?.uuid()?;
            Ok(Self {
                nvml,
                index,
                uuid_hash: GpuUuidHash::of_uuid(&uuid),
            })
        }

        /// The hash of the GPU's UUID.
        pub fn uuid_hash(&self) -> GpuUuidHash {
            self.uuid_hash
        }

        /// Read a snapshot now. Readings a GPU does not support are reported as 0.
        pub fn snapshot(&self) -> Result<GpuSnapshot, nvml_wrapper::error::NvmlError> {
            let d = self.nvml.device_by_index(self.index)?;
            Ok(GpuSnapshot {
                gpu_uuid_hash: self.uuid_hash,
                timestamp_ms: unix_time_ms(),
                sm_clock_mhz: d.clock_info(Clock::SM).unwrap_or(0),
                mem_clock_mhz: d.clock_info(Clock::Memory).unwrap_or(0),
                power_mw: d.power_usage().unwrap_or(0),
                temperature_c: d.temperature(TemperatureSensor::Gpu).unwrap_or(0),
                utilization_pct: d.utilization_rates().map(|u| u.gpu).unwrap_or(0),
                total_energy_mj: d.total_energy_consumption().unwrap_or(0),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_power_is_energy_over_time_and_absent_without_readings() {
        let h = GpuUuidHash([1; 32]);
        let mut a = GpuSnapshot::without_telemetry(h, 1_000);
        let mut b = GpuSnapshot::without_telemetry(h, 8_000);
        assert_eq!(a.average_power_w(&b), None);
        a.total_energy_mj = 1_000_000;
        b.total_energy_mj = 1_000_000 + 7_000 * 650; // 650 W for 7 s
        assert_eq!(a.average_power_w(&b), Some(650.0));
        assert_eq!(b.average_power_w(&a), None);
    }
}
