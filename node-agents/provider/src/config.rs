//! The agent's TOML configuration (`kaisar-provider --config <file>`) and its key. The reference
//! is `docs/provider-agent.md`.

use crate::containers::ContainersConfig;
use crate::gpu::BackendKind;
use crate::responder::ResponderLimits;
use kaisar_popw::{AccountKey, Shape};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable that may carry the agent key's 32-byte seed (hex) instead of
/// `agent.key_file`.
pub const SEED_ENV: &str = "KAISAR_AGENT_SEED";
/// The environment variable that may carry the provider key's 32-byte seed (hex) instead of
/// `registration.provider_key_file`.
pub const PROVIDER_SEED_ENV: &str = "KAISAR_PROVIDER_SEED";

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[agent]`.
    #[serde(default)]
    pub agent: AgentConfig,
    /// `[gpu]`.
    pub gpu: GpuConfig,
    /// `[containers]` (absent: no container runtime).
    #[serde(default)]
    pub containers: Option<ContainersConfig>,
    /// `[responder]`.
    #[serde(default)]
    pub responder: ResponderConfig,
    /// `[chain]` (absent: `run` refuses to start).
    #[serde(default)]
    pub chain: Option<ChainConfig>,
    /// `[registration]`: how the agent registers its worker when the agent key has none.
    #[serde(default)]
    pub registration: Option<RegistrationConfig>,
    /// `[log]`.
    #[serde(default)]
    pub log: LogConfig,
}

/// `[agent]`: who the agent is.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// File holding the agent key's 32-byte seed in hex (mode 0600 or stricter: a file readable
    /// by group or others is refused). [`SEED_ENV`] takes precedence when set.
    pub key_file: Option<PathBuf>,
    /// The worker's on-chain id (until the agent registers itself).
    #[serde(default)]
    pub worker_id: u64,
}

/// `[chain]`: the node the agent follows and how often it reports.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// The node's WebSocket URL, e.g. `ws://127.0.0.1:9944`.
    pub url: String,
    /// Where the agent keeps per-order secrets (tokens, host ports, restarts): a directory only
    /// the agent may read (created 0700).
    pub state_dir: PathBuf,
    /// The host name or address users reach the containers at (in the access details).
    pub public_host: String,
    /// Blocks between heartbeats; must be well inside the chain's `HeartbeatTimeout` (at most
    /// half of it: the agent refuses to start otherwise).
    #[serde(default = "default_heartbeat_every")]
    pub heartbeat_every_blocks: u32,
    /// Blocks between usage reports of a Running order (the final report is sent at
    /// `ends_at` whatever this says).
    #[serde(default = "default_usage_every")]
    pub usage_report_every_blocks: u32,
    /// How many times a container that exited on its own (the user's workload: an exit code,
    /// an OOM kill) is started again for its order.
    #[serde(default = "default_max_restarts")]
    pub max_restarts: u32,
    /// How often the best block is polled, milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// The longest pause between reconnection attempts, seconds.
    #[serde(default = "default_max_backoff")]
    pub reconnect_max_backoff_secs: u64,
    /// Prometheus `/metrics` listen address (absent: no metrics endpoint).
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
}

fn default_heartbeat_every() -> u32 {
    20
}
fn default_usage_every() -> u32 {
    50
}
fn default_max_restarts() -> u32 {
    3
}
fn default_poll_ms() -> u64 {
    1000
}
fn default_max_backoff() -> u64 {
    30
}

/// The host class a worker registers with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostClassConfig {
    /// A desktop PC.
    Pc,
    /// A laptop.
    Laptop,
    /// A server (virtualised or not).
    #[default]
    Server,
    /// A dedicated bare-metal server.
    BareMetal,
}

/// `[registration]`: what the agent registers when its key has no worker yet. Registration is
/// paid (fee and deposit) by the provider key, which only this section names.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationConfig {
    /// File with the provider key's 32-byte seed in hex (0600); [`PROVIDER_SEED_ENV`] takes
    /// precedence. Neither set: the agent does not register and needs an existing worker.
    #[serde(default)]
    pub provider_key_file: Option<PathBuf>,
    /// The PoPW responder's public URL, e.g. `http://203.0.113.7:9955`.
    pub endpoint: String,
    /// Region, e.g. `eu-west`.
    pub region: String,
    /// Price per GPU-hour in the token's smallest unit (18 decimals), as a decimal string.
    pub price_per_gpu_hour: String,
    /// Host class.
    #[serde(default)]
    pub host_class: HostClassConfig,
    /// CPU cores offered.
    pub cpu_cores: u32,
    /// RAM offered, MiB.
    pub ram_mib: u64,
    /// Disk offered, GiB.
    pub disk_gib: u32,
}

impl RegistrationConfig {
    /// The price, parsed.
    pub fn price(&self) -> Result<u128, String> {
        self.price_per_gpu_hour
            .trim()
            .replace('_', "")
            .parse::<u128>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                format!(
                    "registration.price_per_gpu_hour {:?} is not a positive integer of units",
                    self.price_per_gpu_hour
                )
            })
    }
}

/// `[gpu]`: which GPU backend.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuConfig {
    /// `"nvml"` (production) or `"fake"` (development only).
    pub backend: BackendKind,
    /// The JSON fixture of the fake backend.
    #[serde(default)]
    pub fixture: Option<PathBuf>,
}

/// Which PoPW backend computes the challenges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopwBackend {
    /// CUDA where it is there (a build with the `cuda` feature and a CUDA driver that loads on
    /// every GPU), else the CPU, said in one log line at start.
    #[default]
    Auto,
    /// CUDA (the `cuda` build feature; one backend per GPU); the agent does not start without it.
    Cuda,
    /// The CPU reference backend (no GPU; it cannot pass a GPU model's timing).
    Cpu,
}

/// `[responder]`: the PoPW HTTP endpoint.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponderConfig {
    /// Listen address.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Which backend computes.
    #[serde(default)]
    pub backend: PopwBackend,
    /// Challenges in progress at once over all GPUs.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
    /// The longest a challenge's state is kept, seconds.
    #[serde(default = "default_lifetime")]
    pub max_challenge_lifetime_secs: u64,
    /// The longest a commit `GET` waits, seconds (at most 10).
    #[serde(default = "default_long_poll")]
    pub commit_long_poll_secs: u64,
    /// **Development only**: accept challenges of this shape instead of the calibrated one.
    #[serde(default)]
    pub test_shape: Option<ShapeConfig>,
    /// **Development only** until the chain wiring exists: the checkers and chain values whose
    /// challenges are accepted (nothing binds the nonce to the chain). Without it `serve`
    /// refuses to start.
    #[serde(default)]
    pub dev: Option<DevExpectations>,
}

/// A matrix shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeConfig {
    /// Rows.
    pub m: u32,
    /// Columns.
    pub n: u32,
    /// Inner dimension.
    pub k: u32,
}

/// `[responder.dev]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevExpectations {
    /// Checker accounts, `0x`-hex public keys.
    pub checkers: Vec<String>,
    /// The chain's genesis hash, `0x`-hex.
    pub genesis_hash: String,
    /// The epoch randomness, `0x`-hex.
    pub epoch_randomness: String,
}

fn default_listen() -> SocketAddr {
    "0.0.0.0:9955".parse().expect("a valid address")
}
fn default_max_concurrent() -> usize {
    8
}
fn default_lifetime() -> u64 {
    120
}
fn default_long_poll() -> u64 {
    10
}

impl Default for ResponderConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            backend: PopwBackend::Auto,
            max_concurrent: default_max_concurrent(),
            max_challenge_lifetime_secs: default_lifetime(),
            commit_long_poll_secs: default_long_poll(),
            test_shape: None,
            dev: None,
        }
    }
}

impl ResponderConfig {
    /// The responder's limits.
    pub fn limits(&self) -> ResponderLimits {
        ResponderLimits {
            max_concurrent: self.max_concurrent,
            max_challenge_lifetime: Duration::from_secs(self.max_challenge_lifetime_secs),
            commit_long_poll: Duration::from_secs(self.commit_long_poll_secs),
            test_shape: self.test_shape.map(|s| Shape {
                m: s.m,
                n: s.n,
                k: s.k,
            }),
            ..ResponderLimits::default()
        }
    }
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// JSON lines instead of text.
    #[serde(default)]
    pub json: bool,
    /// `tracing` filter, e.g. `info,kaisar_provider=debug` (`RUST_LOG` overrides it).
    #[serde(default = "default_filter")]
    pub filter: String,
}

fn default_filter() -> String {
    "info".into()
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            json: false,
            filter: default_filter(),
        }
    }
}

/// Why the configuration or the key is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The file is not a valid configuration.
    #[error("invalid configuration {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No agent key configured.
    #[error("no agent key: set {SEED_ENV} or agent.key_file")]
    NoKey,
    /// The key file may be read by others.
    #[error("agent key file {path} has mode {mode:o}: it must not be readable by group or others (chmod 600)")]
    KeyFileTooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key is not 32 bytes of hex.
    #[error("agent key from {source_name} is not a 32-byte hex seed")]
    BadKey {
        /// Where it came from.
        source_name: String,
    },
}

impl Config {
    /// Read and check the configuration at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    /// Parse and check a configuration.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.message().to_string())?;
        if config.gpu.backend == BackendKind::Fake && config.gpu.fixture.is_none() {
            return Err("gpu.backend = \"fake\" needs gpu.fixture".into());
        }
        if let Some(c) = &config.containers {
            if let Some([first, last]) = c.port_range {
                if first == 0 || first > last {
                    return Err(format!(
                        "containers.port_range [{first}, {last}] is not a range"
                    ));
                }
            }
            if !(c.default_cpus.is_finite() && c.default_cpus > 0.0) {
                return Err("containers.default_cpus must be positive".into());
            }
            // Real GPUs with containers that get none would take GPU orders (and pay) for
            // containers without their GPUs. The attach method depends on the engine (CDI for
            // Podman, device requests for Docker), which the config does not tell: refuse
            // rather than guess.
            if config.gpu.backend == BackendKind::Nvml
                && c.gpu_attach == crate::containers::GpuAttach::None
            {
                return Err(
                    "gpu.backend = \"nvml\" with containers.gpu_attach = \"none\" (the default) \
                     would run GPU orders in containers without their GPUs: set \
                     containers.gpu_attach = \"cdi\" (Podman, with the NVIDIA Container \
                     Toolkit's CDI spec from `nvidia-ctk cdi generate`) or \
                     \"device_requests\" (Docker with the NVIDIA Container Toolkit)"
                        .into(),
                );
            }
        }
        let r = &config.responder;
        if r.max_concurrent == 0 {
            return Err("responder.max_concurrent must be at least 1".into());
        }
        if r.commit_long_poll_secs == 0 || r.commit_long_poll_secs > 10 {
            return Err("responder.commit_long_poll_secs must be 1..=10".into());
        }
        if let Some(dev) = &r.dev {
            dev.parse()?;
        }
        if let Some(c) = &config.chain {
            if c.heartbeat_every_blocks == 0 || c.usage_report_every_blocks == 0 {
                return Err("chain.heartbeat_every_blocks and chain.usage_report_every_blocks must be at least 1".into());
            }
            if c.poll_interval_ms == 0 {
                return Err("chain.poll_interval_ms must be at least 1".into());
            }
            if c.public_host.trim().is_empty() {
                return Err("chain.public_host must not be empty".into());
            }
        }
        if let Some(r) = &config.registration {
            r.price()?;
            if r.endpoint.trim().is_empty() {
                return Err("registration.endpoint must not be empty".into());
            }
        }
        Ok(config)
    }
}

impl DevExpectations {
    /// The parsed expectations.
    pub fn parse(&self) -> Result<crate::responder::StaticExpectations, String> {
        let checkers = self
            .checkers
            .iter()
            .map(|c| parse_hex32(c).map(AccountKey))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("responder.dev.checkers: {e}"))?;
        Ok(crate::responder::StaticExpectations {
            checkers,
            genesis_hash: parse_hex32(&self.genesis_hash)
                .map_err(|e| format!("responder.dev.genesis_hash: {e}"))?,
            epoch_randomness: parse_hex32(&self.epoch_randomness)
                .map_err(|e| format!("responder.dev.epoch_randomness: {e}"))?,
        })
    }
}

/// 32 bytes from hex (an optional `0x` prefix; surrounding whitespace ignored).
pub fn parse_hex32(s: &str) -> Result<[u8; 32], String> {
    let s = s.trim();
    let s = s.strip_prefix("0x").unwrap_or(s);
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| "not 32 bytes of hex".to_string())?;
    Ok(out)
}

/// The agent key's seed: [`SEED_ENV`] if set, else `key_file` (refused if group or others may
/// read it).
pub fn load_seed(agent: &AgentConfig) -> Result<[u8; 32], ConfigError> {
    load_seed_from(std::env::var(SEED_ENV).ok(), agent.key_file.as_deref())
}

/// The provider key's seed, if one is configured: [`PROVIDER_SEED_ENV`] if set, else
/// `registration.provider_key_file` (same rules as the agent key); `None` when neither is.
pub fn load_provider_seed(
    registration: Option<&RegistrationConfig>,
) -> Result<Option<[u8; 32]>, ConfigError> {
    let env = std::env::var(PROVIDER_SEED_ENV).ok();
    let file = registration.and_then(|r| r.provider_key_file.as_deref());
    if env.is_none() && file.is_none() {
        return Ok(None);
    }
    load_seed_from(env, file).map(Some)
}

/// [`load_seed`] with the environment value given.
pub fn load_seed_from(
    env: Option<String>,
    key_file: Option<&Path>,
) -> Result<[u8; 32], ConfigError> {
    if let Some(v) = env {
        return parse_hex32(&v).map_err(|_| ConfigError::BadKey {
            source_name: SEED_ENV.into(),
        });
    }
    let path = key_file.ok_or(ConfigError::NoKey)?;
    let unreadable = |e: std::io::Error| ConfigError::Unreadable {
        path: path.to_owned(),
        message: e.to_string(),
    };
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(unreadable)?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(ConfigError::KeyFileTooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    parse_hex32(&text).map_err(|_| ConfigError::BadKey {
        source_name: path.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const EXAMPLE: &str = include_str!("../examples/provider.toml");

    #[test]
    fn the_example_configuration_parses() {
        let c = Config::parse(EXAMPLE).unwrap();
        let chain = c.chain.clone().unwrap();
        assert_eq!(chain.heartbeat_every_blocks, 20);
        assert_eq!(
            c.registration.clone().unwrap().price().unwrap(),
            2_000_000_000_000_000_000
        );
        assert_eq!(c.gpu.backend, BackendKind::Fake);
        let containers = c.containers.unwrap();
        assert_eq!(containers.port_range, Some([20000, 20999]));
        assert_eq!(c.responder.listen.port(), 9955);
        assert!(c.responder.dev.unwrap().parse().is_ok());
    }

    #[test]
    fn the_popw_backend_is_cuda_where_there_is_cuda_unless_the_config_says_otherwise() {
        let backend = |toml: &str| Config::parse(toml).unwrap().responder.backend;
        assert_eq!(backend("[gpu]\nbackend = \"nvml\"\n"), PopwBackend::Auto);
        for (name, kind) in [
            ("auto", PopwBackend::Auto),
            ("cuda", PopwBackend::Cuda),
            ("cpu", PopwBackend::Cpu),
        ] {
            let toml = format!("[gpu]\nbackend = \"nvml\"\n[responder]\nbackend = \"{name}\"\n");
            assert_eq!(backend(&toml), kind);
        }
        assert!(
            Config::parse("[gpu]\nbackend = \"nvml\"\n[responder]\nbackend = \"gpu\"\n")
                .unwrap_err()
                .to_string()
                .contains("unknown variant")
        );
    }

    #[test]
    fn invalid_configurations_are_refused_with_the_reason() {
        let cases = [
            ("[gpu]\nbackend = \"fake\"\n", "needs gpu.fixture"),
            ("[gpu]\nbackend = \"cuda\"\n", "unknown variant"),
            ("[gpu]\nbackend = \"nvml\"\nfixtur = \"x\"\n", "unknown field"),
            (
                "[gpu]\nbackend = \"nvml\"\n[containers]\nsocket = \"/s\"\nport_range = [9, 3]\n",
                "not a range",
            ),
            (
                "[gpu]\nbackend = \"nvml\"\n[responder]\nmax_concurrent = 0\n",
                "max_concurrent",
            ),
            (
                "[gpu]\nbackend = \"nvml\"\n[chain]\nurl = \"ws://x\"\nstate_dir = \"/s\"\npublic_host = \"h\"\nheartbeat_every_blocks = 0\n",
                "heartbeat_every_blocks",
            ),
            (
                "[gpu]\nbackend = \"nvml\"\n[registration]\nendpoint = \"http://x\"\nregion = \"r\"\nprice_per_gpu_hour = \"-1\"\ncpu_cores = 1\nram_mib = 1\ndisk_gib = 1\n",
                "price_per_gpu_hour",
            ),
            (
                "[gpu]\nbackend = \"nvml\"\n[responder.dev]\ncheckers = [\"0x12\"]\ngenesis_hash = \"0x00\"\nepoch_randomness = \"0x00\"\n",
                "responder.dev.checkers",
            ),
        ];
        for (text, needle) in cases {
            let err = Config::parse(text).unwrap_err();
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        }
        assert!(Config::parse("[gpu]\nbackend = \"nvml\"\n").is_ok());
    }

    #[test]
    fn real_gpus_with_containers_that_get_no_gpu_are_refused() {
        for attach in ["", "gpu_attach = \"none\"\n"] {
            let text =
                format!("[gpu]\nbackend = \"nvml\"\n[containers]\nsocket = \"/s\"\n{attach}");
            let err = Config::parse(&text).unwrap_err();
            for needle in [
                "gpu.backend = \"nvml\"",
                "containers.gpu_attach = \"none\"",
                "\"cdi\"",
                "\"device_requests\"",
            ] {
                assert!(err.contains(needle), "{needle:?} not in {err:?}");
            }
        }
        for attach in ["cdi", "device_requests"] {
            let text = format!(
                "[gpu]\nbackend = \"nvml\"\n[containers]\nsocket = \"/s\"\ngpu_attach = \"{attach}\"\n"
            );
            assert!(Config::parse(&text).is_ok(), "{attach}");
        }
        // The fake backend (development, no GPU) may run containers without GPUs.
        let fake =
            "[gpu]\nbackend = \"fake\"\nfixture = \"f.json\"\n[containers]\nsocket = \"/s\"\n";
        assert!(Config::parse(fake).is_ok());
    }

    #[test]
    fn the_key_comes_from_the_env_or_a_private_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.key");
        std::fs::write(&path, format!("0x{}\n", "ab".repeat(32))).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load_seed_from(None, Some(&path)),
            Err(ConfigError::KeyFileTooOpen { mode: 0o644, .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            load_seed_from(None, Some(&path)),
            Err(ConfigError::KeyFileTooOpen { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load_seed_from(None, Some(&path)).unwrap(), [0xab; 32]);
        // The environment wins.
        assert_eq!(
            load_seed_from(Some("cd".repeat(32)), Some(&path)).unwrap(),
            [0xcd; 32]
        );
        assert!(matches!(
            load_seed_from(Some("xyz".into()), None),
            Err(ConfigError::BadKey { .. })
        ));
        assert!(matches!(
            load_seed_from(None, None),
            Err(ConfigError::NoKey)
        ));
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(
            load_seed_from(None, Some(&path)),
            Err(ConfigError::BadKey { .. })
        ));
        assert!(matches!(
            load_seed_from(None, Some(&dir.path().join("missing"))),
            Err(ConfigError::Unreadable { .. })
        ));
    }
}
