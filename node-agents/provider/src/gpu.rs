//! The host's GPUs: identity and live state, behind [`GpuBackend`].
//!
//! Two backends: [`NvmlBackend`] (the real one: `libnvidia-ml` loaded at run time through
//! `nvml-wrapper`, so the agent builds and starts on machines without a driver and says so) and
//! [`FakeBackend`] (a JSON fixture, for development and tests only). The configuration chooses
//! one ([`crate::config::GpuConfig`]); there is no silent fallback from NVML to the fake.

use kaisar_popw::{GpuSnapshot, GpuUuidHash};
use kaisar_primitives::GpuModel;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What never changes while the agent runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuIdentity {
    /// NVML index (0-based).
    pub index: u32,
    /// NVML UUID, e.g. `GPU-8d3c1a2e-...`.
    pub uuid: String,
    /// Marketing name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Board serial number (`None` where the board has none, e.g. consumer cards).
    pub serial: Option<String>,
    /// PCI bus id, e.g. `00000000:17:00.0`.
    pub pci_bus_id: String,
    /// Total framebuffer memory in bytes.
    pub memory_total_bytes: u64,
    /// Driver version, e.g. `550.54.15`.
    pub driver_version: String,
    /// Highest CUDA version the driver supports, e.g. `12.4`.
    pub cuda_version: String,
}

/// Whether Multi-Instance GPU mode is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigMode {
    /// MIG is off.
    Disabled,
    /// MIG is on: the GPU is split into instances.
    Enabled,
    /// The GPU has no MIG support.
    Unsupported,
}

/// A live reading of one GPU. Readings the GPU does not support are `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuState {
    /// GPU utilisation over the driver's last sample period, percent.
    pub utilization_pct: Option<u32>,
    /// Memory-controller utilisation, percent.
    pub memory_utilization_pct: Option<u32>,
    /// Framebuffer memory in use, bytes.
    pub memory_used_bytes: Option<u64>,
    /// Core temperature, degrees Celsius.
    pub temperature_c: Option<u32>,
    /// Power draw, milliwatts.
    pub power_mw: Option<u32>,
    /// Energy used since the driver loaded, millijoules.
    pub total_energy_mj: Option<u64>,
    /// SM clock, MHz.
    pub sm_clock_mhz: Option<u32>,
    /// Memory clock, MHz.
    pub mem_clock_mhz: Option<u32>,
    /// Uncorrected ECC errors since the driver loaded (volatile counter); `None` without ECC.
    pub ecc_uncorrected_volatile: Option<u64>,
    /// MIG mode (current).
    pub mig_mode: MigMode,
    /// Compute and graphics processes running on the GPU.
    pub process_count: Option<u32>,
}

/// The name a [`FakeBackend`] fixture gives its "GPU" to make it the development-only
/// [`GpuModel::DevCpu`]: a CPU running the PoPW CPU backend (`responder.backend = "cpu"`),
/// accepted only by chains whose genesis enabled development models. An NVML-reported name never
/// maps to it ([`model_of_name`] does not know it); see `fixtures/devcpu.json`.
pub const DEV_CPU_GPU_NAME: &str = "Kaisar DevCpu";

/// One GPU: identity and a reading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpu {
    /// What it is.
    pub identity: GpuIdentity,
    /// How it is now.
    pub state: GpuState,
    /// Whether the [`FakeBackend`] produced this GPU (set by it, never read from JSON): only
    /// then may the name [`DEV_CPU_GPU_NAME`] map to [`GpuModel::DevCpu`].
    #[serde(skip)]
    pub fake: bool,
}

impl Gpu {
    /// The hash the chain and PoPW know this GPU by ([`kaisar_primitives::gpu_uuid_hash`]).
    pub fn uuid_hash(&self) -> GpuUuidHash {
        GpuUuidHash::of_uuid(&self.identity.uuid)
    }

    /// The chain's model for this GPU's name ([`model_of_name`]); for a [`FakeBackend`] GPU
    /// named exactly [`DEV_CPU_GPU_NAME`], the development-only [`GpuModel::DevCpu`].
    pub fn model(&self) -> Option<GpuModel> {
        model_of_name(&self.identity.name).or_else(|| {
            (self.fake && self.identity.name == DEV_CPU_GPU_NAME).then_some(GpuModel::DevCpu)
        })
    }

    /// The PoPW snapshot of this reading (missing readings are 0, as `kaisar-popw` does).
    pub fn popw_snapshot(&self, timestamp_ms: u64) -> GpuSnapshot {
        let s = &self.state;
        GpuSnapshot {
            gpu_uuid_hash: self.uuid_hash(),
            timestamp_ms,
            sm_clock_mhz: s.sm_clock_mhz.unwrap_or(0),
            mem_clock_mhz: s.mem_clock_mhz.unwrap_or(0),
            power_mw: s.power_mw.unwrap_or(0),
            temperature_c: s.temperature_c.unwrap_or(0),
            utilization_pct: s.utilization_pct.unwrap_or(0),
            total_energy_mj: s.total_energy_mj.unwrap_or(0),
        }
    }
}

/// The inventory as `kaisar-provider probe` prints it: every GPU with its hash and chain model.
#[derive(Clone, Debug, Serialize)]
pub struct GpuReport {
    /// Which backend read it (`nvml` or `fake`).
    pub backend: &'static str,
    /// The GPUs, by index.
    pub gpus: Vec<GpuReportEntry>,
}

/// One GPU in a [`GpuReport`].
#[derive(Clone, Debug, Serialize)]
pub struct GpuReportEntry {
    /// The GPU.
    #[serde(flatten)]
    pub gpu: Gpu,
    /// `0x`-hex of [`Gpu::uuid_hash`].
    pub gpu_uuid_hash: String,
    /// The chain's model name (e.g. `H100Sxm`), `null` for a GPU the chain does not know.
    pub model: Option<String>,
}

impl GpuReport {
    /// Build the report of `gpus` read by `backend`.
    pub fn new(backend: &'static str, gpus: Vec<Gpu>) -> Self {
        let gpus = gpus
            .into_iter()
            .map(|gpu| GpuReportEntry {
                gpu_uuid_hash: format!("0x{}", hex::encode(gpu.uuid_hash().0)),
                model: gpu.model().map(|m| format!("{m:?}")),
                gpu,
            })
            .collect();
        Self { backend, gpus }
    }
}

/// Why the GPUs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// `libnvidia-ml` could not be loaded or initialised (no driver, no GPU, container without
    /// the NVIDIA runtime). The agent refuses to start its real-GPU path.
    #[error("NVML not available: {0}; use gpu.backend = \"fake\" only for development")]
    NvmlUnavailable(String),
    /// An NVML call failed on a GPU.
    #[error("NVML call {call} failed on GPU {index}: {message}")]
    Nvml {
        /// The call, e.g. `uuid`.
        call: &'static str,
        /// The GPU.
        index: u32,
        /// NVML's error.
        message: String,
    },
    /// The fake backend's fixture could not be read.
    #[error("cannot read GPU fixture {path}: {message}")]
    FixtureUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The fake backend's fixture is not a valid inventory.
    #[error("invalid GPU fixture {path}: {message}")]
    BadFixture {
        /// The file.
        path: PathBuf,
        /// What is wrong (serde's message with line and column, or the broken rule).
        message: String,
    },
    /// No GPU with this index.
    #[error("no GPU with index {0}")]
    NoSuchGpu(u32),
}

/// Reads the host's GPUs.
pub trait GpuBackend: Send + Sync {
    /// `nvml` or `fake`.
    fn kind(&self) -> &'static str;

    /// Every GPU with a fresh reading, by index.
    fn probe(&self) -> Result<Vec<Gpu>, GpuError>;

    /// A fresh reading of GPU `index`.
    fn read(&self, index: u32) -> Result<Gpu, GpuError>;

    /// The report `kaisar-provider probe` prints.
    fn report(&self) -> Result<GpuReport, GpuError> {
        Ok(GpuReport::new(self.kind(), self.probe()?))
    }
}

/// Map an NVML device name to the chain's [`GpuModel`]. Only names whose model is unambiguous
/// map; anything else (e.g. an `A100 80GB PCIe`, an `H100 NVL`) is `None`, and such a GPU cannot
/// be registered under a model until the chain knows it. Never the development-only
/// [`GpuModel::DevCpu`] (only a [`FakeBackend`] GPU can be that, see [`Gpu::model`]).
pub fn model_of_name(name: &str) -> Option<GpuModel> {
    let n = name.to_ascii_uppercase().replace(['-', '_'], " ");
    let has = |s: &str| n.contains(s);
    let words: Vec<&str> = n.split_whitespace().collect();
    let word = |w: &str| words.contains(&w);
    if has("H200") {
        // H200 NVL is a PCIe card with another power envelope: not the calibrated SXM part.
        return (!has("NVL")).then_some(GpuModel::H200);
    }
    if has("H100") {
        if has("NVL") {
            return None;
        }
        if has("PCIE") {
            return Some(GpuModel::H100Pcie);
        }
        // `NVIDIA H100 80GB HBM3` and `NVIDIA H100 SXM5 80GB` are the SXM part.
        return (has("SXM") || has("HBM3")).then_some(GpuModel::H100Sxm);
    }
    if has("A100") {
        if has("SXM") && has("80GB") {
            return Some(GpuModel::A100Sxm80G);
        }
        if has("PCIE") && has("40GB") {
            return Some(GpuModel::A100Pcie40G);
        }
        return None;
    }
    if word("L40S") {
        return Some(GpuModel::L40S);
    }
    if word("L4") {
        return Some(GpuModel::L4);
    }
    if word("A10") {
        return Some(GpuModel::A10);
    }
    if has("RTX A4000") {
        return Some(GpuModel::RtxA4000);
    }
    if has("RTX 5090") {
        return Some(GpuModel::Rtx5090);
    }
    if has("RTX 4090") && !has("4090 D") {
        return Some(GpuModel::Rtx4090);
    }
    if has("RTX 3090") && !has("3090 TI") {
        return Some(GpuModel::Rtx3090);
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Fake backend.

/// The fixture file of [`FakeBackend`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuFixture {
    /// The GPUs; `identity.index` must be `0..len` in order.
    pub gpus: Vec<Gpu>,
}

/// GPUs read from a JSON fixture ([`GpuFixture`]). **Development and tests only**: a worker
/// registered with it has no GPU behind it, and PoPW checks will fail it.
#[derive(Clone, Debug)]
pub struct FakeBackend {
    gpus: Vec<Gpu>,
}

impl FakeBackend {
    /// Read and check the fixture at `path`.
    pub fn from_file(path: &Path) -> Result<Self, GpuError> {
        let text = std::fs::read_to_string(path).map_err(|e| GpuError::FixtureUnreadable {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Self::from_json(&text).map_err(|message| GpuError::BadFixture {
            path: path.to_owned(),
            message,
        })
    }

    /// Parse and check a fixture; the error is a one-line reason.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let fixture: GpuFixture = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if fixture.gpus.is_empty() {
            return Err("no GPUs".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, g) in fixture.gpus.iter().enumerate() {
            let id = &g.identity;
            if id.index as usize != i {
                return Err(format!(
                    "GPU at position {i} has index {} (indices must be 0, 1, ... in order)",
                    id.index
                ));
            }
            if !id.uuid.starts_with("GPU-") || id.uuid.len() < 8 {
                return Err(format!(
                    "GPU {i}: uuid {:?} is not an NVML UUID (GPU-...)",
                    id.uuid
                ));
            }
            if !seen.insert(id.uuid.clone()) {
                return Err(format!("GPU {i}: uuid {} appears twice", id.uuid));
            }
            if let (Some(used), total) = (g.state.memory_used_bytes, id.memory_total_bytes) {
                if used > total {
                    return Err(format!(
                        "GPU {i}: memory_used_bytes {used} > memory_total_bytes {total}"
                    ));
                }
            }
        }
        let gpus = fixture
            .gpus
            .into_iter()
            .map(|g| Gpu { fake: true, ..g })
            .collect();
        Ok(Self { gpus })
    }
}

impl GpuBackend for FakeBackend {
    fn kind(&self) -> &'static str {
        "fake"
    }

    fn probe(&self) -> Result<Vec<Gpu>, GpuError> {
        Ok(self.gpus.clone())
    }

    fn read(&self, index: u32) -> Result<Gpu, GpuError> {
        self.gpus
            .get(index as usize)
            .cloned()
            .ok_or(GpuError::NoSuchGpu(index))
    }
}

// ---------------------------------------------------------------------------------------------
// NVML backend.

/// The host's GPUs through NVML.
pub struct NvmlBackend {
    nvml: nvml_wrapper::Nvml,
    driver_version: String,
    cuda_version: String,
    count: u32,
}

impl core::fmt::Debug for NvmlBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NvmlBackend")
            .field("driver_version", &self.driver_version)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl NvmlBackend {
    /// Load `libnvidia-ml` and initialise it; [`GpuError::NvmlUnavailable`] if that fails or if
    /// it sees no GPU.
    pub fn new() -> Result<Self, GpuError> {
        let nvml =
            nvml_wrapper::Nvml::init().map_err(|e| GpuError::NvmlUnavailable(e.to_string()))?;
        let unavailable = |what: &str, e: nvml_wrapper::error::NvmlError| {
            GpuError::NvmlUnavailable(format!("{what}: {e}"))
        };
        let driver_version = nvml
            .sys_driver_version()
            .map_err(|e| unavailable("driver version", e))?;
        let cuda = nvml
            .sys_cuda_driver_version()
            .map_err(|e| unavailable("CUDA version", e))?;
        let cuda_version = format!(
            "{}.{}",
            nvml_wrapper::cuda_driver_version_major(cuda),
            nvml_wrapper::cuda_driver_version_minor(cuda)
        );
        let count = nvml
            .device_count()
            .map_err(|e| unavailable("device count", e))?;
        if count == 0 {
            return Err(GpuError::NvmlUnavailable(
                "the driver sees no GPU".to_string(),
            ));
        }
        Ok(Self {
            nvml,
            driver_version,
            cuda_version,
            count,
        })
    }

    /// How many GPUs NVML sees.
    pub fn count(&self) -> u32 {
        self.count
    }
}

impl GpuBackend for NvmlBackend {
    fn kind(&self) -> &'static str {
        "nvml"
    }

    fn probe(&self) -> Result<Vec<Gpu>, GpuError> {
        (0..self.count).map(|i| self.read(i)).collect()
    }

    fn read(&self, index: u32) -> Result<Gpu, GpuError> {
        use nvml_wrapper::enum_wrappers::device::{
            Clock, EccCounter, MemoryError, TemperatureSensor,
        };
        if index >= self.count {
            return Err(GpuError::NoSuchGpu(index));
        }
        let fail = |call: &'static str| {
            move |e: nvml_wrapper::error::NvmlError| GpuError::Nvml {
                call,
                index,
                message: e.to_string(),
            }
        };
        let d = self
            .nvml
            .device_by_index(index)
            .map_err(fail("device_by_index"))?;
        let memory = d.memory_info().map_err(fail("memory_info"))?;
        let identity = GpuIdentity {
            index,
            uuid: d.uuid().map_err(fail("uuid"))?,
            name: d.name().map_err(fail("name"))?,
            serial: d.serial().ok().filter(|s| !s.is_empty()),
            pci_bus_id: d.pci_info().map_err(fail("pci_info"))?.bus_id,
            memory_total_bytes: memory.total,
            driver_version: self.driver_version.clone(),
            cuda_version: self.cuda_version.clone(),
        };
        let utilization = d.utilization_rates().ok();
        let processes = match (
            d.running_compute_processes_count(),
            d.running_graphics_processes_count(),
        ) {
            (Ok(c), Ok(g)) => Some(c + g),
            (Ok(c), Err(_)) => Some(c),
            _ => None,
        };
        let state = GpuState {
            utilization_pct: utilization.as_ref().map(|u| u.gpu),
            memory_utilization_pct: utilization.as_ref().map(|u| u.memory),
            memory_used_bytes: Some(memory.used),
            temperature_c: d.temperature(TemperatureSensor::Gpu).ok(),
            power_mw: d.power_usage().ok(),
            total_energy_mj: d.total_energy_consumption().ok(),
            sm_clock_mhz: d.clock_info(Clock::SM).ok(),
            mem_clock_mhz: d.clock_info(Clock::Memory).ok(),
            ecc_uncorrected_volatile: d
                .total_ecc_errors(MemoryError::Uncorrected, EccCounter::Volatile)
                .ok(),
            mig_mode: match d.mig_mode() {
                Ok(m) if m.current == 1 => MigMode::Enabled,
                Ok(_) => MigMode::Disabled,
                Err(_) => MigMode::Unsupported,
            },
            process_count: processes,
        };
        Ok(Gpu {
            identity,
            state,
            fake: false,
        })
    }
}

/// Which backend to use ([`crate::config::GpuConfig`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// [`NvmlBackend`].
    Nvml,
    /// [`FakeBackend`] (development only).
    Fake,
}

/// Open the configured backend. `fixture` is required for [`BackendKind::Fake`].
pub fn open_backend(
    kind: BackendKind,
    fixture: Option<&Path>,
) -> Result<Box<dyn GpuBackend>, GpuError> {
    match kind {
        BackendKind::Nvml => Ok(Box::new(NvmlBackend::new()?)),
        BackendKind::Fake => {
            let path = fixture.ok_or_else(|| GpuError::FixtureUnreadable {
                path: PathBuf::new(),
                message: "gpu.backend = \"fake\" needs gpu.fixture = <path>".into(),
            })?;
            Ok(Box::new(FakeBackend::from_file(path)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvml_names_map_to_the_chain_models_only_when_unambiguous() {
        let cases = [
            ("NVIDIA H100 80GB HBM3", Some(GpuModel::H100Sxm)),
            ("NVIDIA H100 PCIe", Some(GpuModel::H100Pcie)),
            ("NVIDIA H100 NVL", None),
            ("NVIDIA H200", Some(GpuModel::H200)),
            ("NVIDIA H200 NVL", None),
            ("NVIDIA A100-SXM4-80GB", Some(GpuModel::A100Sxm80G)),
            ("NVIDIA A100-PCIE-40GB", Some(GpuModel::A100Pcie40G)),
            ("NVIDIA A100 80GB PCIe", None),
            ("NVIDIA L40S", Some(GpuModel::L40S)),
            ("NVIDIA L4", Some(GpuModel::L4)),
            ("NVIDIA A10", Some(GpuModel::A10)),
            ("NVIDIA RTX A4000", Some(GpuModel::RtxA4000)),
            ("NVIDIA GeForce RTX 3090", Some(GpuModel::Rtx3090)),
            ("NVIDIA GeForce RTX 3090 Ti", None),
            ("NVIDIA GeForce RTX 4090", Some(GpuModel::Rtx4090)),
            ("NVIDIA GeForce RTX 5090", Some(GpuModel::Rtx5090)),
            ("NVIDIA A40", None),
            ("Tesla T4", None),
        ];
        for (name, model) in cases {
            assert_eq!(model_of_name(name), model, "{name}");
        }
        // The development-only model is never an NVML name's.
        for name in [DEV_CPU_GPU_NAME, "DevCpu", "Kaisar DevCpu NVIDIA H100"] {
            assert_ne!(model_of_name(name), Some(GpuModel::DevCpu), "{name}");
        }
    }

    #[test]
    fn only_the_fake_backend_maps_the_dev_cpu_name_to_dev_cpu() {
        let fixture = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/devcpu.json"),
        )
        .unwrap();
        let fake = FakeBackend::from_json(&fixture).unwrap();
        let gpus = fake.probe().unwrap();
        assert_eq!(gpus.len(), 1);
        assert_eq!(gpus[0].identity.name, DEV_CPU_GPU_NAME);
        assert_eq!(gpus[0].model(), Some(GpuModel::DevCpu));
        assert_eq!(fake.read(0).unwrap().model(), Some(GpuModel::DevCpu));
        let report = fake.report().unwrap();
        assert_eq!(report.gpus[0].model.as_deref(), Some("DevCpu"));
        // The same reading, as any other backend (NVML) would produce it: no model.
        let real = Gpu {
            fake: false,
            ..gpus[0].clone()
        };
        assert_eq!(real.model(), None);
        // A fixture cannot claim to be from a real backend (the flag is not JSON).
        assert!(FakeBackend::from_json(&fixture.replacen(
            "\"state\"",
            "\"fake\": false, \"state\"",
            1
        ))
        .is_err());
        // A fake GPU with a real name keeps its real model.
        let h100 = FakeBackend::from_file(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gpus-2x-h100.json"),
        )
        .unwrap();
        assert_eq!(h100.read(0).unwrap().model(), Some(GpuModel::H100Sxm));
    }

    #[test]
    fn uuid_hash_is_the_chain_and_popw_hash() {
        let uuid = "GPU-8d3c1a2e-0000-4000-8000-000000000001";
        let gpu = Gpu {
            identity: GpuIdentity {
                index: 0,
                uuid: uuid.into(),
                name: "NVIDIA L40S".into(),
                serial: None,
                pci_bus_id: "00000000:01:00.0".into(),
                memory_total_bytes: 1,
                driver_version: "x".into(),
                cuda_version: "12.4".into(),
            },
            state: GpuState {
                utilization_pct: None,
                memory_utilization_pct: None,
                memory_used_bytes: None,
                temperature_c: None,
                power_mw: None,
                total_energy_mj: None,
                sm_clock_mhz: None,
                mem_clock_mhz: None,
                ecc_uncorrected_volatile: None,
                mig_mode: MigMode::Unsupported,
                process_count: None,
            },
            fake: false,
        };
        assert_eq!(
            gpu.uuid_hash().0,
            kaisar_primitives::gpu_uuid_hash(uuid.as_bytes())
        );
        assert_eq!(gpu.uuid_hash(), GpuUuidHash::of_uuid(uuid));
        assert_eq!(gpu.popw_snapshot(5).gpu_uuid_hash, gpu.uuid_hash());
    }
}
