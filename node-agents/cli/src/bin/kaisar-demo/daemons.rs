//! The real daemons of the demo, as separate processes: the Docker-Engine-API service
//! (`podman system service` on a socket in the demo's directory), the container image the user
//! orders (built locally: no registry is reachable), the provider agent (`kaisar-provider run`)
//! and the checker daemons (`kaisar-checker`). Each gets its own 0600 key file, TOML config and
//! log file under the demo's directory; the demo only starts, kills (`kill -9`) and stops
//! (SIGTERM) them.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, ensure, Context, Result};
use tokio::process::{Child, Command};

/// The image's source: the provider tests' static HTTP server (`/` answers the access token,
/// `/exit<N>` exits with code N).
const IMAGE_SOURCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../provider/tests/testimage/server.c"
);

/// A daemon process with its log file.
pub struct Process {
    /// What it is, for messages.
    pub name: String,
    child: Option<Child>,
    /// Its log file.
    pub log: PathBuf,
    program: PathBuf,
    args: Vec<String>,
}

impl Process {
    /// A process of `program args` logging to `log` (started by [`Process::start`]).
    pub fn new(name: &str, program: &Path, args: &[&str], log: PathBuf) -> Self {
        Process {
            name: name.into(),
            child: None,
            log,
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// Start it (appending to its log).
    pub fn start(&mut self) -> Result<u32> {
        ensure!(self.child.is_none(), "{} is already running", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        let pid = child.id().unwrap_or_default();
        self.child = Some(child);
        Ok(pid)
    }

    /// Its pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// An error if it exited on its own.
    pub fn ensure_running(&mut self) -> Result<()> {
        if let Some(c) = self.child.as_mut() {
            if let Some(status) = c.try_wait()? {
                self.child = None;
                bail!(
                    "{} exited on its own ({status}); its log: {}",
                    self.name,
                    self.log.display()
                );
            }
        }
        Ok(())
    }

    /// `kill -9`: no chance to clean up or save anything.
    pub async fn kill9(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill().await?;
        }
        Ok(())
    }

    /// SIGTERM, then wait up to `grace` for it to exit (SIGKILL after). Returns whether it
    /// exited on its own with status 0.
    pub async fn stop(&mut self, grace: Duration) -> Result<bool> {
        let Some(mut c) = self.child.take() else {
            return Ok(false);
        };
        if let Some(pid) = c.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        match tokio::time::timeout(grace, c.wait()).await {
            Ok(status) => Ok(status?.success()),
            Err(_) => {
                c.kill().await?;
                Ok(false)
            }
        }
    }

    /// Resident memory (now and peak) and CPU time (user + system) so far, from `/proc`.
    pub fn usage(&self) -> Option<Usage> {
        let pid = self.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib = |field: &str| -> Option<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which is in parentheses and may hold spaces).
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        let hz = 100; // USER_HZ on Linux
        Some(Usage {
            rss: kib("VmRSS:")? * 1024,
            peak_rss: kib("VmHWM:")? * 1024,
            cpu: Duration::from_millis(ticks * 1000 / hz),
        })
    }
}

/// A process's resources.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// Resident memory, bytes.
    pub rss: u64,
    /// Peak resident memory, bytes.
    pub peak_rss: u64,
    /// CPU time (user + system).
    pub cpu: Duration,
}

/// `podman system service` on a socket of the demo's directory; its containers (labelled with
/// the demo agent's name) are removed when it stops.
pub struct Podman {
    process: Process,
    /// The Docker Engine API socket.
    pub socket: PathBuf,
    agent_name: String,
}

impl Podman {
    /// Start the service and wait (60 s at most) until its socket answers.
    pub async fn start(dir: &Path, agent_name: &str) -> Result<Self> {
        let version = Command::new("podman").arg("--version").output().await;
        ensure!(
            version.is_ok_and(|o| o.status.success()),
            "podman is not installed: scripts/setup installs and configures it"
        );
        let socket = dir.join("podman.sock");
        let _ = std::fs::remove_file(&socket);
        let mut process = Process::new(
            "podman system service",
            Path::new("podman"),
            &[
                "system",
                "service",
                "--time=0",
                &format!("unix://{}", socket.display()),
            ],
            dir.join("podman.log"),
        );
        process.start()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            process.ensure_running()?;
            ensure!(
                Instant::now() < deadline,
                "podman's API socket did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Podman {
            process,
            socket,
            agent_name: agent_name.into(),
        })
    }

    /// Build the demo's image: the static HTTP server, `FROM scratch`.
    pub async fn build_image(&self, dir: &Path, image: &str) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        let out = Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(dir.join("app"))
            .arg(IMAGE_SOURCE)
            .output()
            .await
            .context("gcc is needed to build the demo's image (scripts/setup installs it)")?;
        ensure!(
            out.status.success(),
            "gcc -static failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(
            dir.join("Containerfile"),
            "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
        )?;
        let out = Command::new("podman")
            .args(["build", "-q", "-t", image])
            .arg(dir)
            .output()
            .await?;
        ensure!(
            out.status.success(),
            "podman build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// The demo agent's containers.
    pub fn containers(&self) -> Containers {
        Containers {
            agent_name: self.agent_name.clone(),
        }
    }

    /// Remove the demo agent's containers and stop the service.
    pub async fn stop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "--filter"])
            .arg(format!("label=kaisar.agent={}", self.agent_name))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        let _ = self.process.stop(Duration::from_secs(5)).await;
    }
}

/// The containers of one agent (by its `kaisar.agent` label), listed through `podman ps`.
#[derive(Clone)]
pub struct Containers {
    agent_name: String,
}

impl Containers {
    /// The ids of the containers of `order` (running or not).
    pub async fn of(&self, order: u64) -> Result<Vec<String>> {
        let out = Command::new("podman")
            .args(["ps", "-a", "-q", "--no-trunc", "--filter"])
            .arg(format!("label=kaisar.agent={}", self.agent_name))
            .arg("--filter")
            .arg(format!("label=kaisar.order={order}"))
            .output()
            .await?;
        ensure!(out.status.success(), "podman ps failed");
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect())
    }
}

/// Write `secret` to a 0600 file.
pub fn write_secret(path: &Path, secret: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, secret)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The provider agent's files.
pub struct AgentSetup<'a> {
    pub dir: &'a Path,
    pub chain_url: &'a str,
    pub podman_socket: &'a Path,
    pub agent_name: &'a str,
    pub agent_seed_hex: &'a str,
    pub provider_seed_hex: &'a str,
    pub fixture: &'a str,
    pub responder_port: u16,
    pub price_per_gpu_hour: u128,
}

/// Write the agent's keys, GPU fixture and config; returns the config's path.
pub fn write_agent_files(s: &AgentSetup) -> Result<PathBuf> {
    std::fs::create_dir_all(s.dir)?;
    let d = s.dir.display();
    write_secret(&s.dir.join("agent.key"), s.agent_seed_hex)?;
    write_secret(&s.dir.join("provider.key"), s.provider_seed_hex)?;
    std::fs::write(s.dir.join("gpus.json"), s.fixture)?;
    let config = format!(
        r#"# kaisar-provider configuration written by kaisar-demo (see docs/provider-agent.md)
[agent]
key_file = "{d}/agent.key"

[gpu]
backend = "fake"
fixture = "{d}/gpus.json"

[containers]
socket = "{socket}"
agent_name = "{agent_name}"
default_cpus = 0.5
default_memory_mib = 64
stop_grace_secs = 2

[responder]
listen = "127.0.0.1:{port}"
backend = "cpu"

[chain]
url = "{url}"
state_dir = "{d}/state"
public_host = "127.0.0.1"
heartbeat_every_blocks = 20
usage_report_every_blocks = 10
max_restarts = 2
poll_interval_ms = 250

[registration]
provider_key_file = "{d}/provider.key"
endpoint = "http://127.0.0.1:{port}"
region = "eu-west"
price_per_gpu_hour = "{price}"
cpu_cores = 8
ram_mib = 16384
disk_gib = 100
"#,
        socket = s.podman_socket.display(),
        agent_name = s.agent_name,
        port = s.responder_port,
        url = s.chain_url,
        price = s.price_per_gpu_hour,
    );
    let path = s.dir.join("agent.toml");
    std::fs::write(&path, config)?;
    Ok(path)
}

/// Write a checker daemon's key (a secret URI) and config; returns the config's path.
pub fn write_checker_files(dir: &Path, chain_url: &str, suri: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let d = dir.display();
    write_secret(&dir.join("operator.key"), suri)?;
    let config = format!(
        r#"# kaisar-checker configuration written by kaisar-demo (see docs/checker-daemon.md)
chain_url = "{chain_url}"
key_file = "{d}/operator.key"
state_dir = "{d}/state"
poll_interval_ms = 200

[check]
# Production settings: the calibrated challenge of the worker's model, timing judged (the
# demo's worker claims DevCpu, whose calibrated challenge is small).
request_timeout_secs = 5
"#
    );
    let path = dir.join("checker.toml");
    std::fs::write(&path, config)?;
    Ok(path)
}

/// HTTP GET `path` on `127.0.0.1:port` (one try, 3 s): the status line and the body.
pub async fn http_get(port: u16, path: &str) -> Result<(String, String)> {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
        s.set_read_timeout(Some(Duration::from_secs(3)))?;
        s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| anyhow!("not an HTTP answer: {text:?}"))?;
        Ok((head.lines().next().unwrap_or("").to_string(), body.into()))
    })
    .await?
}
