//! Order containers through the Docker Engine API (`bollard`), served by Docker or by Podman's
//! Docker-compatible service (`podman system service --time=0 unix:///run/kaisar/podman.sock`).
//!
//! Every container the agent runs carries the labels `kaisar.agent=<agent name>` and
//! `kaisar.order=<order id>`, so after a restart [`ContainerRuntime::list`] finds them all for
//! reconciliation with the chain. Images are never pulled unless the configuration says so,
//! and then within a timeout: a missing image is [`ContainerError::ImageMissing`], which the agent
//! reports as an [`ExitEvent`] with `image_missing`.

use bollard::models::{ContainerCreateBody, DeviceMapping, DeviceRequest, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, RemoveContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use kaisar_primitives::OrderId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

/// Label naming the agent that runs a container.
pub const LABEL_AGENT: &str = "kaisar.agent";
/// Label naming the order a container serves.
pub const LABEL_ORDER: &str = "kaisar.order";
/// Label listing the UUIDs of the GPUs given to a container (comma-separated), so that a
/// restarted agent knows which GPUs are taken.
pub const LABEL_GPUS: &str = "kaisar.gpus";
/// The environment variable carrying the order's secret access token into the container.
pub const TOKEN_ENV: &str = "KAISAR_ACCESS_TOKEN";

/// How the ordered GPUs are given to a container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuAttach {
    /// No GPU (hosts without NVIDIA GPUs, development).
    #[default]
    None,
    /// CDI device names `nvidia.com/gpu=<GPU UUID>` as device entries (Podman; the NVIDIA
    /// Container Toolkit's `nvidia-ctk cdi generate` must have written the CDI spec).
    Cdi,
    /// Docker device requests for the `nvidia` driver with the GPU UUIDs (Docker with the NVIDIA
    /// Container Toolkit).
    DeviceRequests,
}

/// Whether a missing image may be pulled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullPolicy {
    /// Never pull: a missing image is [`ContainerError::ImageMissing`].
    #[default]
    Never,
    /// Pull a missing image, within `containers.pull_timeout_secs`.
    IfMissing,
}

/// The `[containers]` configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainersConfig {
    /// The engine's socket, e.g. `/run/kaisar/podman.sock` or `/var/run/docker.sock`.
    pub socket: PathBuf,
    /// The agent's name, the value of the `kaisar.agent` label (one engine may serve several
    /// agents).
    #[serde(default = "default_agent_name")]
    pub agent_name: String,
    /// Host ports for the containers' access ports, inclusive `[first, last]`; absent: the
    /// engine chooses a free port.
    #[serde(default)]
    pub port_range: Option<[u16; 2]>,
    /// CPUs per container when the order does not say.
    #[serde(default = "default_cpus")]
    pub default_cpus: f64,
    /// Memory per container, in MiB, when the order does not say.
    #[serde(default = "default_memory_mib")]
    pub default_memory_mib: u64,
    /// How GPUs are attached.
    #[serde(default)]
    pub gpu_attach: GpuAttach,
    /// Whether a missing image may be pulled.
    #[serde(default)]
    pub pull: PullPolicy,
    /// The longest a pull may take.
    #[serde(default = "default_pull_timeout_secs")]
    pub pull_timeout_secs: u64,
    /// Seconds between SIGTERM and SIGKILL when a container is stopped.
    #[serde(default = "default_stop_grace_secs")]
    pub stop_grace_secs: u32,
    /// Timeout of each engine API request, in seconds.
    #[serde(default = "default_api_timeout_secs")]
    pub api_timeout_secs: u64,
}

fn default_agent_name() -> String {
    "kaisar-provider".into()
}
fn default_cpus() -> f64 {
    4.0
}
fn default_memory_mib() -> u64 {
    16 * 1024
}
fn default_pull_timeout_secs() -> u64 {
    600
}
fn default_stop_grace_secs() -> u32 {
    10
}
fn default_api_timeout_secs() -> u64 {
    30
}

impl ContainersConfig {
    /// A configuration with the defaults and `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
            agent_name: default_agent_name(),
            port_range: None,
            default_cpus: default_cpus(),
            default_memory_mib: default_memory_mib(),
            gpu_attach: GpuAttach::None,
            pull: PullPolicy::Never,
            pull_timeout_secs: default_pull_timeout_secs(),
            stop_grace_secs: default_stop_grace_secs(),
            api_timeout_secs: default_api_timeout_secs(),
        }
    }
}

/// What to run for an order.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderContainer {
    /// The order.
    pub order_id: OrderId,
    /// The image, e.g. `localhost/jupyter:latest`.
    pub image: String,
    /// The command (`None`: the image's).
    pub cmd: Option<Vec<String>>,
    /// Extra environment variables (the token is added as [`TOKEN_ENV`]).
    pub env: Vec<(String, String)>,
    /// The order's secret access token.
    pub token: String,
    /// The container ports the user reaches (each published on a host port; TCP).
    pub ports: Vec<u16>,
    /// The host ports to publish `ports` on, one per port in order (a container restarted for
    /// an order keeps the ports its access details name); empty: chosen from
    /// `containers.port_range`, or by the engine.
    pub host_ports: Vec<u16>,
    /// CPUs (`None`: `containers.default_cpus`).
    pub cpus: Option<f64>,
    /// Memory in MiB (`None`: `containers.default_memory_mib`).
    pub memory_mib: Option<u64>,
    /// UUIDs of the GPUs given to the container (ignored with [`GpuAttach::None`]).
    pub gpu_uuids: Vec<String>,
}

/// A started container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningContainer {
    /// Engine id.
    pub id: String,
    /// Name (`kaisar-<agent>-order-<id>`).
    pub name: String,
    /// The order.
    pub order_id: OrderId,
    /// `(container port, host port)` of every published port, in the order of
    /// [`OrderContainer::ports`].
    pub host_ports: Vec<(u16, u16)>,
}

impl RunningContainer {
    /// The host port `container_port` is published on.
    pub fn host_port(&self, container_port: u16) -> Option<u16> {
        self.host_ports
            .iter()
            .find(|(c, _)| *c == container_port)
            .map(|(_, h)| *h)
    }
}

/// One of the agent's containers, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentContainer {
    /// Engine id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// The order label, if it parses.
    pub order_id: Option<OrderId>,
    /// The image.
    pub image: String,
    /// Whether it is running.
    pub running: bool,
    /// The engine's state word (`running`, `exited`, `created`, ...).
    pub state: String,
    /// The GPUs given to it (its `kaisar.gpus` label).
    pub gpu_uuids: Vec<String>,
    /// When it was created, Unix seconds (0 if the engine did not say).
    pub created: i64,
}

/// How an order's container ended: what the agent reports on-chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExitEvent {
    /// The order.
    pub order_id: OrderId,
    /// The exit code (`None` if the container never ran, e.g. its image was missing).
    pub exit_code: Option<i64>,
    /// Killed by the kernel for exceeding its memory limit: as the engine reports it
    /// (`State.OOMKilled`) or, where the engine does not (Podman 4.3 with runc on cgroup v1),
    /// as the kernel's log records it for the container's own memory cgroup
    /// ([`ContainerRuntime::exit_event`], see [`crate::oom`]; a SIGKILL alone is not enough).
    pub oom_killed: bool,
    /// The signal that ended the main process (exit codes above 128 are `128 + signal`).
    pub signal: Option<i32>,
    /// How many times the engine restarted it.
    pub restart_count: i64,
    /// The image was missing (not present and not pulled).
    pub image_missing: bool,
    /// The engine's error message, if any (e.g. the entrypoint did not exist).
    pub error: Option<String>,
}

impl ExitEvent {
    /// The event of an order whose image is missing.
    pub fn image_missing(order_id: OrderId) -> Self {
        Self {
            order_id,
            exit_code: None,
            oom_killed: false,
            signal: None,
            restart_count: 0,
            image_missing: true,
            error: None,
        }
    }
}

/// Why a container operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The engine cannot be reached.
    #[error("container engine not reachable at {socket}: {message}")]
    Unavailable {
        /// The socket.
        socket: PathBuf,
        /// Why.
        message: String,
    },
    /// The image is not present locally (and pulling is off, or the pull failed).
    #[error("image {image} is not present locally{}", .reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    ImageMissing {
        /// The image.
        image: String,
        /// Why a pull did not get it, if one was tried.
        reason: Option<String>,
    },
    /// Every host port of the configured range is taken.
    #[error("no free host port in {0}..={1}")]
    NoFreePort(u16, u16),
    /// The order already has a container.
    #[error("order {0} already has a container")]
    AlreadyRunning(OrderId),
    /// No such container.
    #[error("no container {0}")]
    NotFound(String),
    /// The container has not exited.
    #[error("container {0} is still running")]
    StillRunning(String),
    /// The request is invalid (before it reached the engine).
    #[error("invalid container request: {0}")]
    Invalid(String),
    /// The engine refused or failed.
    #[error("container engine failed to {op}: {message}")]
    Engine {
        /// What was done.
        op: &'static str,
        /// The engine's message.
        message: String,
    },
}

fn engine(op: &'static str) -> impl Fn(bollard::errors::Error) -> ContainerError {
    move |e| ContainerError::Engine {
        op,
        message: e.to_string(),
    }
}

fn status_of(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// A fresh secret access token: 32 random bytes from the OS, hex.
pub fn generate_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// The container name of `order_id` under `agent`.
pub fn container_name(agent: &str, order_id: OrderId) -> String {
    format!("kaisar-{agent}-order-{order_id}")
}

/// The engine request that creates `spec`'s container, its ports published on `host_ports`
/// (one per port of `spec.ports`; empty: the engine chooses).
pub fn create_body(
    config: &ContainersConfig,
    spec: &OrderContainer,
    host_ports: &[u16],
) -> Result<ContainerCreateBody, ContainerError> {
    let cpus = spec.cpus.unwrap_or(config.default_cpus);
    if !(cpus.is_finite() && cpus > 0.0 && cpus <= 1024.0) {
        return Err(ContainerError::Invalid(format!("cpus {cpus}")));
    }
    let memory_mib = spec.memory_mib.unwrap_or(config.default_memory_mib);
    if !(6..=(1 << 30)).contains(&memory_mib) {
        return Err(ContainerError::Invalid(format!("memory {memory_mib} MiB")));
    }
    if spec.ports.contains(&0) {
        return Err(ContainerError::Invalid("container port 0".into()));
    }
    if spec.ports.len() > MAX_PORTS {
        return Err(ContainerError::Invalid(format!(
            "{} ports (at most {MAX_PORTS})",
            spec.ports.len()
        )));
    }
    let distinct: BTreeSet<u16> = spec.ports.iter().copied().collect();
    if distinct.len() != spec.ports.len() {
        return Err(ContainerError::Invalid("a port listed twice".into()));
    }
    if !host_ports.is_empty() && host_ports.len() != spec.ports.len() {
        return Err(ContainerError::Invalid(format!(
            "{} host ports for {} ports",
            host_ports.len(),
            spec.ports.len()
        )));
    }
    let mut env: Vec<String> = Vec::with_capacity(spec.env.len() + 1);
    for (k, v) in &spec.env {
        if k.is_empty() || k.contains('=') || k == TOKEN_ENV {
            return Err(ContainerError::Invalid(format!(
                "environment variable {k:?}"
            )));
        }
        env.push(format!("{k}={v}"));
    }
    env.push(format!("{TOKEN_ENV}={}", spec.token));
    let mut port_bindings = HashMap::new();
    let mut exposed_ports = Vec::with_capacity(spec.ports.len());
    for (i, port) in spec.ports.iter().enumerate() {
        let port_key = format!("{port}/tcp");
        port_bindings.insert(
            port_key.clone(),
            Some(vec![PortBinding {
                host_ip: None,
                host_port: Some(host_ports.get(i).map(|p| p.to_string()).unwrap_or_default()),
            }]),
        );
        exposed_ports.push(port_key);
    }
    let memory = (memory_mib * 1024 * 1024) as i64;
    let mut host_config = HostConfig {
        nano_cpus: Some((cpus * 1e9) as i64),
        memory: Some(memory),
        // No swap beyond the memory limit: the limit is what the order bought.
        memory_swap: Some(memory),
        pids_limit: Some(4096),
        port_bindings: Some(port_bindings),
        ..Default::default()
    };
    if !spec.gpu_uuids.is_empty() {
        match config.gpu_attach {
            GpuAttach::None => {}
            GpuAttach::Cdi => {
                host_config.devices = Some(
                    spec.gpu_uuids
                        .iter()
                        .map(|u| DeviceMapping {
                            path_on_host: Some(format!("nvidia.com/gpu={u}")),
                            path_in_container: Some(format!("nvidia.com/gpu={u}")),
                            cgroup_permissions: Some("rwm".into()),
                        })
                        .collect(),
                )
            }
            GpuAttach::DeviceRequests => {
                host_config.device_requests = Some(vec![DeviceRequest {
                    driver: Some("nvidia".into()),
                    device_ids: Some(spec.gpu_uuids.clone()),
                    capabilities: Some(vec![vec!["gpu".into()]]),
                    ..Default::default()
                }])
            }
        }
    }
    let mut labels = HashMap::new();
    labels.insert(LABEL_AGENT.to_string(), config.agent_name.clone());
    labels.insert(LABEL_ORDER.to_string(), spec.order_id.to_string());
    if !spec.gpu_uuids.is_empty() {
        labels.insert(LABEL_GPUS.to_string(), spec.gpu_uuids.join(","));
    }
    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.cmd.clone(),
        env: Some(env),
        labels: Some(labels),
        exposed_ports: Some(exposed_ports),
        host_config: Some(host_config),
        ..Default::default()
    })
}

/// A container as `GET /containers/{id}/json` describes it: only the fields the agent reads,
/// parsed leniently (Podman reports states Docker's schema does not know, e.g. `stopped`, which
/// the generated models refuse).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Inspect {
    /// Engine id.
    #[serde(default)]
    pub id: String,
    /// Restarts by the engine.
    pub restart_count: Option<i64>,
    /// Run state.
    pub state: Option<InspectState>,
    /// Configuration (labels).
    pub config: Option<InspectConfig>,
    /// Network settings (published ports).
    pub network_settings: Option<InspectNetwork>,
}

/// `State` of [`Inspect`].
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectState {
    /// `created`, `running`, `exited`, `stopped` (Podman), ...
    pub status: Option<String>,
    /// Running now.
    pub running: Option<bool>,
    /// Being restarted.
    pub restarting: Option<bool>,
    /// Killed for exceeding its memory limit.
    #[serde(rename = "OOMKilled")]
    pub oom_killed: Option<bool>,
    /// Exit code.
    pub exit_code: Option<i64>,
    /// The engine's error.
    pub error: Option<String>,
}

/// `Config` of [`Inspect`].
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectConfig {
    /// Labels.
    pub labels: Option<HashMap<String, String>>,
}

/// `NetworkSettings` of [`Inspect`].
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectNetwork {
    /// `"<port>/tcp"` to its host bindings.
    pub ports: Option<HashMap<String, Option<Vec<InspectBinding>>>>,
}

/// One host binding of a published port.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectBinding {
    /// Host address.
    pub host_ip: Option<String>,
    /// Host port (a string in the API).
    pub host_port: Option<String>,
}

/// A container as `GET /containers/json` lists it (lenient, as [`Inspect`]).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    #[serde(default)]
    id: String,
    names: Option<Vec<String>>,
    image: Option<String>,
    labels: Option<HashMap<String, String>>,
    state: Option<String>,
    ports: Option<Vec<SummaryPort>>,
    created: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SummaryPort {
    public_port: Option<u16>,
}

/// The exit event of an inspected container, `None` while it runs.
pub fn exit_event_of(order_id: OrderId, inspect: &Inspect) -> Option<ExitEvent> {
    let state = inspect.state.as_ref()?;
    if state.running == Some(true) || state.restarting == Some(true) {
        return None;
    }
    let never_ran = matches!(
        state.status.as_deref(),
        Some("created" | "configured" | "initialized")
    );
    let exit_code = (!never_ran).then_some(state.exit_code.unwrap_or(0));
    Some(ExitEvent {
        order_id,
        exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        signal: exit_code
            .filter(|c| (129..=128 + 64).contains(c))
            .map(|c| (c - 128) as i32),
        restart_count: inspect.restart_count.unwrap_or(0),
        image_missing: false,
        error: state.error.clone().filter(|e| !e.is_empty()),
    })
}

/// Container ports an order may publish at most (the runtime's `MaxPorts`).
pub const MAX_PORTS: usize = 16;

/// `Created` of a container listing: Unix seconds (Docker, Podman) or an RFC 3339 string
/// (older Podman); 0 when absent or not understood.
fn created_secs(v: Option<&serde_json::Value>) -> i64 {
    match v {
        Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

/// The most bytes read from one engine answer parsed leniently.
const MAX_ENGINE_ANSWER: usize = 8 << 20;

/// `GET path` on the engine's Unix socket (HTTP/1.0, so the answer is not chunked and ends
/// when the connection closes): the status and the body.
async fn engine_get(
    socket: &std::path::Path,
    path: &str,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| e.to_string())?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: engine\r\n\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        (&mut stream)
            .take(MAX_ENGINE_ANSWER as u64 + 1)
            .read_to_end(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        if answer.len() > MAX_ENGINE_ANSWER {
            return Err(format!("answer larger than {MAX_ENGINE_ANSWER} bytes"));
        }
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("answer without headers")?;
        let head = String::from_utf8_lossy(&answer[..split]);
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or("answer without a status")?;
        Ok((status, answer[split + 4..].to_vec()))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {}s", timeout.as_secs()))?
}

/// Percent-encode a query value.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The agent's handle on the container engine.
#[derive(Clone, Debug)]
pub struct ContainerRuntime {
    docker: Docker,
    config: ContainersConfig,
}

impl ContainerRuntime {
    /// Connect to the engine at `config.socket` and check it answers.
    pub async fn connect(config: ContainersConfig) -> Result<Self, ContainerError> {
        let unavailable = |message: String| ContainerError::Unavailable {
            socket: config.socket.clone(),
            message,
        };
        let path = config.socket.to_string_lossy().into_owned();
        let docker =
            Docker::connect_with_unix(&path, config.api_timeout_secs, bollard::API_DEFAULT_VERSION)
                .map_err(|e| unavailable(e.to_string()))?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        docker
            .ping()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(Self { docker, config })
    }

    /// The configuration.
    pub fn config(&self) -> &ContainersConfig {
        &self.config
    }

    /// Whether `image` is present locally.
    pub async fn image_exists(&self, image: &str) -> Result<bool, ContainerError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(engine("inspect the image")(e)),
        }
    }

    /// Make sure `image` is present: [`ContainerError::ImageMissing`] if it is not and pulling
    /// is off; otherwise pull it within `pull_timeout_secs`.
    pub async fn ensure_image(&self, image: &str) -> Result<(), ContainerError> {
        if self.image_exists(image).await? {
            return Ok(());
        }
        if self.config.pull == PullPolicy::Never {
            return Err(ContainerError::ImageMissing {
                image: image.into(),
                reason: None,
            });
        }
        let missing = |reason: String| ContainerError::ImageMissing {
            image: image.into(),
            reason: Some(reason),
        };
        let options = CreateImageOptions {
            from_image: Some(image.into()),
            ..Default::default()
        };
        let pull = async {
            let mut stream = self.docker.create_image(Some(options), None, None);
            while let Some(item) = stream.next().await {
                let info = item.map_err(|e| missing(format!("pull failed: {e}")))?;
                if let Some(detail) = info.error_detail {
                    return Err(missing(format!(
                        "pull failed: {}",
                        detail.message.unwrap_or_default()
                    )));
                }
            }
            Ok(())
        };
        let limit = Duration::from_secs(self.config.pull_timeout_secs);
        tokio::time::timeout(limit, pull)
            .await
            .map_err(|_| missing(format!("pull timed out after {}s", limit.as_secs())))??;
        if self.image_exists(image).await? {
            Ok(())
        } else {
            Err(missing("pull finished without the image".into()))
        }
    }

    /// Host ports the agent's containers already publish.
    async fn used_ports(&self) -> Result<BTreeSet<u16>, ContainerError> {
        let mut used = BTreeSet::new();
        for c in self.list_raw().await? {
            for p in c.ports.unwrap_or_default() {
                if let Some(port) = p.public_port {
                    used.insert(port);
                }
            }
        }
        Ok(used)
    }

    /// Run `spec`'s container: check the image (never an unbounded pull), create it with its
    /// labels, limits, environment, GPUs and published access port, and start it.
    pub async fn run(&self, spec: &OrderContainer) -> Result<RunningContainer, ContainerError> {
        self.ensure_image(&spec.image).await?;
        let name = container_name(&self.config.agent_name, spec.order_id);
        if let Some(existing) = self.find_order(spec.order_id).await? {
            return Err(ContainerError::AlreadyRunning(
                existing.order_id.unwrap_or(spec.order_id),
            ));
        }
        let n = spec.ports.len();
        let candidates: Vec<Vec<u16>> = if !spec.host_ports.is_empty() {
            vec![spec.host_ports.clone()]
        } else {
            match self.config.port_range {
                None => vec![vec![]],
                Some([first, last]) => {
                    let used = self.used_ports().await?;
                    let free: Vec<u16> = (first..=last)
                        .filter(|p| !used.contains(p) && port_is_free(*p))
                        .take(n.max(1) * 4)
                        .collect();
                    if free.len() < n {
                        return Err(ContainerError::NoFreePort(first, last));
                    }
                    if n == 0 {
                        vec![vec![]]
                    } else {
                        free.chunks_exact(n).map(|c| c.to_vec()).collect()
                    }
                }
            }
        };
        let mut last_err = None;
        for host_ports in candidates {
            let body = create_body(&self.config, spec, &host_ports)?;
            let created = self
                .docker
                .create_container(
                    Some(CreateContainerOptions {
                        name: Some(name.clone()),
                        ..Default::default()
                    }),
                    body,
                )
                .await;
            let id = match created {
                Ok(r) => r.id,
                Err(e) if status_of(&e) == Some(409) => {
                    return Err(ContainerError::AlreadyRunning(spec.order_id))
                }
                Err(e) if status_of(&e) == Some(404) => {
                    return Err(ContainerError::ImageMissing {
                        image: spec.image.clone(),
                        reason: Some(e.to_string()),
                    })
                }
                Err(e) => return Err(engine("create the container")(e)),
            };
            match self.docker.start_container(&id, None).await {
                Ok(()) => {
                    let host_ports = if host_ports.is_empty() && n > 0 {
                        self.published_ports(&id, &spec.ports).await?
                    } else {
                        spec.ports.iter().copied().zip(host_ports).collect()
                    };
                    tracing::info!(order = spec.order_id, container = %name, ?host_ports, "container started");
                    return Ok(RunningContainer {
                        id,
                        name,
                        order_id: spec.order_id,
                        host_ports,
                    });
                }
                Err(e) => {
                    // Most likely the host port was taken meanwhile: remove and try the next.
                    tracing::warn!(order = spec.order_id, error = %e, "container did not start");
                    let _ = self.remove(&id).await;
                    last_err = Some(engine("start the container")(e));
                }
            }
        }
        Err(last_err.unwrap_or(ContainerError::Engine {
            op: "start the container",
            message: "no attempt".into(),
        }))
    }

    /// `(container port, host port)` for each of `container_ports` that container `id`
    /// publishes (an error if one is not published).
    pub async fn published_ports(
        &self,
        id: &str,
        container_ports: &[u16],
    ) -> Result<Vec<(u16, u16)>, ContainerError> {
        let inspect = self.inspect(id).await?;
        let mut published = inspect
            .network_settings
            .and_then(|n| n.ports)
            .unwrap_or_default();
        container_ports
            .iter()
            .map(|&container_port| {
                published
                    .remove(&format!("{container_port}/tcp"))
                    .flatten()
                    .and_then(|bindings| {
                        bindings
                            .into_iter()
                            .find_map(|b| b.host_port.and_then(|p| p.parse().ok()))
                    })
                    .map(|host| (container_port, host))
                    .ok_or_else(|| ContainerError::Engine {
                        op: "publish the access port",
                        message: format!(
                            "container {id} publishes no host port for {container_port}"
                        ),
                    })
            })
            .collect()
    }

    /// Inspect container `id` ([`Inspect`]).
    pub async fn inspect(&self, id: &str) -> Result<Inspect, ContainerError> {
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(ContainerError::Invalid(format!("container id {id:?}")));
        }
        let (status, body) = engine_get(
            &self.config.socket,
            &format!("/containers/{id}/json"),
            Duration::from_secs(self.config.api_timeout_secs),
        )
        .await
        .map_err(|message| ContainerError::Engine {
            op: "inspect the container",
            message,
        })?;
        match status {
            200 => serde_json::from_slice(&body).map_err(|e| ContainerError::Engine {
                op: "inspect the container",
                message: e.to_string(),
            }),
            404 => Err(ContainerError::NotFound(id.into())),
            _ => Err(ContainerError::Engine {
                op: "inspect the container",
                message: format!("status {status}: {}", String::from_utf8_lossy(&body).trim()),
            }),
        }
    }

    /// Stop (SIGTERM, then SIGKILL after `stop_grace_secs`) and remove container `id`. Idempotent:
    /// a container already gone is fine.
    pub async fn stop_and_remove(&self, id: &str) -> Result<(), ContainerError> {
        let stop = self
            .docker
            .stop_container(
                id,
                Some(StopContainerOptions {
                    t: Some(self.config.stop_grace_secs as i32),
                    ..Default::default()
                }),
            )
            .await;
        match stop {
            // 304: already stopped.
            Ok(()) => {}
            Err(e) if matches!(status_of(&e), Some(304 | 404)) => {}
            Err(e) => return Err(engine("stop the container")(e)),
        }
        self.remove(id).await
    }

    async fn remove(&self, id: &str) -> Result<(), ContainerError> {
        match self
            .docker
            .remove_container(
                id,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            Err(e) => Err(engine("remove the container")(e)),
        }
    }

    async fn list_raw(&self) -> Result<Vec<Summary>, ContainerError> {
        let filters = serde_json::json!({
            "label": [format!("{LABEL_AGENT}={}", self.config.agent_name)]
        });
        let (status, body) = engine_get(
            &self.config.socket,
            &format!(
                "/containers/json?all=true&filters={}",
                url_encode(&filters.to_string())
            ),
            Duration::from_secs(self.config.api_timeout_secs),
        )
        .await
        .map_err(|message| ContainerError::Engine {
            op: "list containers",
            message,
        })?;
        if status != 200 {
            return Err(ContainerError::Engine {
                op: "list containers",
                message: format!("status {status}: {}", String::from_utf8_lossy(&body).trim()),
            });
        }
        serde_json::from_slice(&body).map_err(|e| ContainerError::Engine {
            op: "list containers",
            message: e.to_string(),
        })
    }

    /// Every container of this agent (running or not), by its `kaisar.agent` label.
    pub async fn list(&self) -> Result<Vec<AgentContainer>, ContainerError> {
        Ok(self
            .list_raw()
            .await?
            .into_iter()
            .map(|c| {
                let labels = c.labels.unwrap_or_default();
                let state = c.state.unwrap_or_default();
                AgentContainer {
                    id: c.id,
                    name: c
                        .names
                        .and_then(|n| n.into_iter().next())
                        .map(|n| n.trim_start_matches('/').to_string())
                        .unwrap_or_default(),
                    order_id: labels.get(LABEL_ORDER).and_then(|o| o.parse().ok()),
                    image: c.image.unwrap_or_default(),
                    running: state == "running",
                    state,
                    gpu_uuids: labels
                        .get(LABEL_GPUS)
                        .map(|g| {
                            g.split(',')
                                .filter(|u| !u.is_empty())
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default(),
                    created: created_secs(c.created.as_ref()),
                }
            })
            .collect())
    }

    /// The agent's container of `order_id`, if any.
    pub async fn find_order(
        &self,
        order_id: OrderId,
    ) -> Result<Option<AgentContainer>, ContainerError> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|c| c.order_id == Some(order_id)))
    }

    /// How container `id` ended: [`ContainerError::StillRunning`] while it runs.
    pub async fn exit_event(&self, id: &str) -> Result<ExitEvent, ContainerError> {
        let inspect = self.inspect(id).await?;
        let order_id = inspect
            .config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(LABEL_ORDER))
            .and_then(|o| o.parse().ok())
            .ok_or_else(|| ContainerError::NotFound(format!("{id} (not an order container)")))?;
        let mut event = exit_event_of(order_id, &inspect)
            .ok_or_else(|| ContainerError::StillRunning(id.into()))?;
        if !event.oom_killed && event.signal == Some(9) && !inspect.id.is_empty() {
            // The engine did not say OOM, but the process was SIGKILLed: ask the kernel's log
            // (see [`crate::oom`]); only a kill by this container's own memory limit counts.
            let lines = tokio::task::spawn_blocking(crate::oom::kernel_oom_kill_lines)
                .await
                .ok()
                .flatten();
            match lines {
                Some(lines)
                    if crate::oom::memcg_oom_killed(
                        &inspect.id,
                        lines.iter().map(String::as_str),
                    ) =>
                {
                    tracing::info!(
                        order = order_id,
                        container = %inspect.id,
                        "the kernel logged an OOM kill by the container's memory limit (the \
                         engine did not report it)"
                    );
                    event.oom_killed = true;
                }
                Some(_) => {}
                None => tracing::debug!(
                    order = order_id,
                    "SIGKILLed container, the engine reports no OOM and the kernel log is not \
                     readable: reported as its exit code"
                ),
            }
        }
        Ok(event)
    }

    /// Poll [`ContainerRuntime::exit_event`] until the container exits or `timeout` passes
    /// ([`ContainerError::StillRunning`]).
    pub async fn wait_exit(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<ExitEvent, ContainerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.exit_event(id).await {
                Err(ContainerError::StillRunning(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                other => return other,
            }
        }
    }
}

/// Whether nothing listens on host port `port` (a best-effort check; the engine has the last
/// word, and [`ContainerRuntime::run`] tries the next port if it refuses).
fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("0.0.0.0", port)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> OrderContainer {
        OrderContainer {
            order_id: 42,
            image: "localhost/x:1".into(),
            cmd: None,
            env: vec![("A".into(), "1".into())],
            token: "t0k".into(),
            ports: vec![8080, 22],
            host_ports: vec![],
            cpus: Some(1.5),
            memory_mib: Some(512),
            gpu_uuids: vec!["GPU-1".into(), "GPU-2".into()],
        }
    }

    #[test]
    fn create_body_carries_labels_limits_port_env_and_gpus() {
        let mut config = ContainersConfig::new("/tmp/x.sock");
        config.agent_name = "a1".into();
        let body = create_body(&config, &spec(), &[20001, 20002]).unwrap();
        let labels = body.labels.unwrap();
        assert_eq!(labels[LABEL_AGENT], "a1");
        assert_eq!(labels[LABEL_ORDER], "42");
        assert_eq!(labels[LABEL_GPUS], "GPU-1,GPU-2");
        assert_eq!(
            body.env.unwrap(),
            vec!["A=1".to_string(), format!("{TOKEN_ENV}=t0k")]
        );
        let hc = body.host_config.unwrap();
        assert_eq!(hc.nano_cpus, Some(1_500_000_000));
        assert_eq!(hc.memory, Some(512 << 20));
        assert_eq!(hc.memory_swap, Some(512 << 20));
        let bindings = hc.port_bindings.unwrap();
        let binding = &bindings["8080/tcp"].clone().unwrap()[0];
        assert_eq!(binding.host_port.as_deref(), Some("20001"));
        let binding = &bindings["22/tcp"].clone().unwrap()[0];
        assert_eq!(binding.host_port.as_deref(), Some("20002"));
        assert!(hc.devices.is_none() && hc.device_requests.is_none());

        config.gpu_attach = GpuAttach::Cdi;
        let hc = create_body(&config, &spec(), &[])
            .unwrap()
            .host_config
            .unwrap();
        let devices = hc.devices.unwrap();
        assert_eq!(
            devices[1].path_on_host.as_deref(),
            Some("nvidia.com/gpu=GPU-2")
        );
        assert_eq!(
            hc.port_bindings.unwrap()["8080/tcp"].clone().unwrap()[0]
                .host_port
                .as_deref(),
            Some("")
        );

        config.gpu_attach = GpuAttach::DeviceRequests;
        let hc = create_body(&config, &spec(), &[])
            .unwrap()
            .host_config
            .unwrap();
        let req = &hc.device_requests.unwrap()[0];
        assert_eq!(req.driver.as_deref(), Some("nvidia"));
        assert_eq!(req.device_ids.as_ref().unwrap().len(), 2);
    }

    #[test]
    fn invalid_requests_are_refused_before_the_engine() {
        let config = ContainersConfig::new("/tmp/x.sock");
        let mut s = spec();
        s.cpus = Some(0.0);
        assert!(matches!(
            create_body(&config, &s, &[]),
            Err(ContainerError::Invalid(_))
        ));
        let mut s = spec();
        s.env.push((TOKEN_ENV.into(), "other".into()));
        assert!(matches!(
            create_body(&config, &s, &[]),
            Err(ContainerError::Invalid(_))
        ));
        let mut s = spec();
        s.env.push(("A=B".into(), "x".into()));
        assert!(matches!(
            create_body(&config, &s, &[]),
            Err(ContainerError::Invalid(_))
        ));
        let mut s = spec();
        s.ports = vec![0];
        assert!(matches!(
            create_body(&config, &s, &[]),
            Err(ContainerError::Invalid(_))
        ));
        let mut s = spec();
        s.ports = vec![80, 80];
        assert!(matches!(
            create_body(&config, &s, &[]),
            Err(ContainerError::Invalid(_))
        ));
        // Host ports, when given, match the ports one to one.
        assert!(matches!(
            create_body(&config, &spec(), &[20001]),
            Err(ContainerError::Invalid(_))
        ));
    }

    #[test]
    fn tokens_are_fresh_and_hex() {
        let a = generate_token();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, generate_token());
    }
}
