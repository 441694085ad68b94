//! The daemon's TOML configuration (`--config`). `docs/checker-daemon.md` is the reference.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use kaisar_popw::{CalibrationTable, Params};
use serde::Deserialize;

use crate::{core::CoreConfig, transport::ExchangeTiming};

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The node's WebSocket URL.
    pub chain_url: String,
    /// The operator key file (hex seed or `//Dev` URI; mode 0600). Without it the secret is read
    /// from `KAISAR_CHECKER_SEED`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Where the state file lives (created 0700 if missing).
    pub state_dir: PathBuf,
    /// `GET /metrics` (Prometheus) on this address; none if absent.
    #[serde(default)]
    pub metrics_addr: Option<SocketAddr>,
    /// How often the best block is polled, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Consecutive chain failures after which the daemon reconnects.
    #[serde(default = "default_reconnect_after")]
    pub reconnect_after_failures: u32,
    /// How challenges are run and judged.
    #[serde(default)]
    pub check: CheckConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
}

fn default_poll_ms() -> u64 {
    1000
}

fn default_reconnect_after() -> u32 {
    5
}

/// `[check]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Judge the timing against the calibrated bounds (production: true).
    #[serde(default = "yes")]
    pub judge_timing: bool,
    /// The work shape: absent for the calibrated standard shape (production); a small shape
    /// (`{ m = 16, n = 16, k = 32, chunks = 4 }`) only for development workers.
    #[serde(default)]
    pub shape: Option<ShapeConfig>,
    /// Rows opened per challenge.
    #[serde(default = "default_openings")]
    pub openings: u32,
    /// The challenge's commit timeout, seconds.
    #[serde(default = "default_commit_timeout")]
    pub commit_timeout_secs: u64,
    /// The challenge's open timeout, seconds.
    #[serde(default = "default_open_timeout")]
    pub open_timeout_secs: u64,
    /// Pause between pings while the worker works, milliseconds.
    #[serde(default = "default_ping_ms")]
    pub ping_interval_ms: u64,
    /// Longest wait for the challenge's acceptance or a ping's answer, seconds.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// How long a challenge the worker refuses for now (busy with another checker's
    /// challenge: HTTP 429; a block behind the chain: 403) is sent again, seconds; the
    /// worker's time runs from the send it accepts.
    #[serde(default = "default_accept_retry")]
    pub accept_retry_secs: u64,
    /// Most challenges in progress at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_challenges: usize,
    /// Epochs of state kept before the current one.
    #[serde(default = "default_keep")]
    pub keep_epochs: u32,
    /// A calibration table (TOML, `kaisar-popw`'s format) instead of the built-in one.
    #[serde(default)]
    pub calibration_file: Option<PathBuf>,
}

fn yes() -> bool {
    true
}
fn default_openings() -> u32 {
    128
}
fn default_commit_timeout() -> u64 {
    30
}
fn default_open_timeout() -> u64 {
    10
}
fn default_ping_ms() -> u64 {
    1000
}
fn default_request_timeout() -> u64 {
    10
}
fn default_accept_retry() -> u64 {
    60
}
fn default_concurrency() -> usize {
    8
}
fn default_keep() -> u32 {
    2
}

impl Default for CheckConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

/// A work shape.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeConfig {
    /// Rows of A.
    pub m: u32,
    /// Columns of B.
    pub n: u32,
    /// Inner dimension.
    pub k: u32,
    /// Chunks.
    pub chunks: u32,
}

/// `[log]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// JSON lines instead of text.
    #[serde(default)]
    pub json: bool,
    /// A `tracing` filter (`RUST_LOG` overrides it); default `info`.
    #[serde(default)]
    pub filter: Option<String>,
}

impl Config {
    /// Parse a configuration file's text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Read and parse a configuration file.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.chain_url.starts_with("ws://") || self.chain_url.starts_with("wss://"),
            "chain_url must be ws:// or wss://"
        );
        anyhow::ensure!(
            self.poll_interval_ms > 0,
            "poll_interval_ms must be positive"
        );
        let c = &self.check;
        anyhow::ensure!(
            c.max_concurrent_challenges >= 1,
            "max_concurrent_challenges must be at least 1"
        );
        if let Some(s) = c.shape {
            self.params_of(s)
                .validate()
                .map_err(|e| anyhow::anyhow!("shape: {e}"))?;
        }
        Ok(())
    }

    fn params_of(&self, s: ShapeConfig) -> Params {
        Params {
            m: s.m,
            n: s.n,
            k: s.k,
            chunks: s.chunks,
        }
    }

    /// The core's configuration (reads the calibration file, if any).
    pub fn core(&self) -> anyhow::Result<CoreConfig> {
        let c = &self.check;
        let calibration = match &c.calibration_file {
            Some(p) => Some(
                CalibrationTable::parse(&std::fs::read_to_string(p)?)
                    .map_err(|e| anyhow::anyhow!("calibration {}: {e}", p.display()))?,
            ),
            None => None,
        };
        Ok(CoreConfig {
            judge_timing: c.judge_timing,
            shape: c.shape.map(|s| self.params_of(s)),
            openings: c.openings,
            commit_timeout: Duration::from_secs(c.commit_timeout_secs),
            open_timeout: Duration::from_secs(c.open_timeout_secs),
            timing: ExchangeTiming {
                ping_interval: Duration::from_millis(c.ping_interval_ms.max(1)),
                request_timeout: Duration::from_secs(c.request_timeout_secs.max(1)),
                accept_retry_for: Duration::from_secs(c.accept_retry_secs),
                ..ExchangeTiming::default()
            },
            max_concurrent_challenges: c.max_concurrent_challenges,
            keep_epochs: c.keep_epochs,
            calibration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_config_gets_production_defaults() {
        let c = Config::parse(
            "chain_url = \"ws://127.0.0.1:9944\"\nstate_dir = \"/var/lib/kaisar-checker\"\n",
        )
        .unwrap();
        let core = c.core().unwrap();
        assert!(core.judge_timing);
        assert!(core.shape.is_none(), "the calibrated standard shape");
        assert_eq!(core.max_concurrent_challenges, 8);
        assert!(c.metrics_addr.is_none());
    }

    #[test]
    fn a_development_config_parses_and_bad_values_are_refused() {
        let c = Config::parse(
            r#"
chain_url = "ws://127.0.0.1:9944"
key_file = "/etc/kaisar/checker.key"
state_dir = "/tmp/s"
metrics_addr = "127.0.0.1:9616"
[check]
judge_timing = false
shape = { m = 16, n = 16, k = 32, chunks = 4 }
max_concurrent_challenges = 2
[log]
json = true
"#,
        )
        .unwrap();
        assert_eq!(c.core().unwrap().shape.unwrap().k, 32);
        assert!(c.log.json);
        assert!(Config::parse("chain_url = \"http://x\"\nstate_dir = \"/s\"\n").is_err());
        assert!(Config::parse("chain_url = \"ws://x\"\nstate_dir = \"/s\"\ntypo = 1\n").is_err());
        assert!(Config::parse(
            "chain_url = \"ws://x\"\nstate_dir = \"/s\"\n[check]\nshape = { m = 0, n = 16, k = 32, chunks = 4 }\n"
        )
        .is_err());
    }
}
