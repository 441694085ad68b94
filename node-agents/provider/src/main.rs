//! `kaisar-provider`: the provider agent. See `docs/provider-agent.md`.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use kaisar_popw::{Backend, GpuSnapshot, WorkerIdentity};
use kaisar_provider::config::{self, Config, PopwBackend};
use kaisar_provider::containers::ContainerRuntime;
use kaisar_provider::gpu::{self, GpuBackend};
use kaisar_provider::responder::{Responder, Slot};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "kaisar-provider", version, about = "The Kaisar provider agent")]
struct Cli {
    /// The TOML configuration file.
    #[arg(long, env = "KAISAR_PROVIDER_CONFIG")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the GPU inventory (identity, live state, UUID hash, chain model) as JSON.
    Probe,
    /// List this agent's containers (by the `kaisar.agent` label) as JSON.
    Containers,
    /// Run the PoPW responder until SIGTERM or ctrl-c.
    Serve,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kaisar-provider: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Probe => probe(&config),
            Command::Containers => containers(&config).await,
            Command::Serve => serve(&config).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            tracing::error!("{}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn init_logging(log: &config::LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if log.json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn open_gpus(config: &Config) -> anyhow::Result<Arc<dyn GpuBackend>> {
    let backend = gpu::open_backend(config.gpu.backend, config.gpu.fixture.as_deref())?;
    if backend.kind() == "fake" {
        tracing::warn!("gpu.backend = \"fake\": development only, no real GPU is read");
    }
    Ok(Arc::from(backend))
}

fn probe(config: &Config) -> anyhow::Result<()> {
    let gpus = open_gpus(config)?;
    let started = std::time::Instant::now();
    let report = gpus.report()?;
    tracing::info!(took = ?started.elapsed(), gpus = report.gpus.len(), "probed");
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn containers(config: &Config) -> anyhow::Result<()> {
    let Some(c) = config.containers.clone() else {
        bail!("no [containers] section in the configuration");
    };
    let runtime = ContainerRuntime::connect(c).await?;
    let list: Vec<_> = runtime
        .list()
        .await?
        .into_iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id, "name": c.name, "order_id": c.order_id, "image": c.image,
                "running": c.running, "state": c.state,
            })
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&list)?);
    Ok(())
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    let gpus = open_gpus(config)?;
    let seed = config::load_seed(&config.agent)?;
    let Some(dev) = &config.responder.dev else {
        bail!(
            "the responder needs the chain's nonce commitments, which are not wired yet; \
             configure [responder.dev] for development"
        );
    };
    let expectations = Arc::new(dev.parse().map_err(anyhow::Error::msg)?);
    tracing::warn!(
        "[responder.dev]: challenges are checked against a static configuration, not the chain"
    );
    let inventory = gpus.probe()?;
    let mut identities = Vec::new();
    for g in &inventory {
        let model = g.model().with_context(|| {
            format!(
                "GPU {} ({}) has no chain model: it cannot answer challenges",
                g.identity.index, g.identity.name
            )
        })?;
        identities.push((
            g.identity.index,
            WorkerIdentity {
                worker_id: config.agent.worker_id,
                gpu_uuid_hash: g.uuid_hash(),
                model,
            },
        ));
    }
    let snapshot = |index: u32| -> kaisar_provider::responder::SnapshotFn {
        let gpus = gpus.clone();
        let hash = inventory[index as usize].uuid_hash();
        Arc::new(move || {
            let now = kaisar_popw::snapshot::unix_time_ms();
            gpus.read(index)
                .map(|g| g.popw_snapshot(now))
                .unwrap_or_else(|_| GpuSnapshot::without_telemetry(hash, now))
        })
    };
    match config.responder.backend {
        PopwBackend::Cpu => {
            tracing::warn!("responder.backend = \"cpu\": no GPU computes the challenges");
            let slots = identities
                .iter()
                .map(|(index, identity)| Slot {
                    identity: *identity,
                    backend: kaisar_popw::CpuBackend::new(),
                    snapshot: snapshot(*index),
                })
                .collect();
            run_responder(config, &seed, slots, expectations).await
        }
        PopwBackend::Cuda => {
            #[cfg(feature = "cuda")]
            {
                let mut slots = Vec::new();
                for (index, identity) in &identities {
                    slots.push(Slot {
                        identity: *identity,
                        backend: kaisar_popw::backend::CudaBackend::new(*index as usize)
                            .with_context(|| format!("CUDA backend on GPU {index}"))?,
                        snapshot: snapshot(*index),
                    });
                }
                run_responder(config, &seed, slots, expectations).await
            }
            #[cfg(not(feature = "cuda"))]
            bail!("responder.backend = \"cuda\" needs a build with the `cuda` feature")
        }
    }
}

async fn run_responder<B: Backend + Send + 'static>(
    config: &Config,
    seed: &[u8; 32],
    slots: Vec<Slot<B>>,
    expectations: Arc<kaisar_provider::responder::StaticExpectations>,
) -> anyhow::Result<()> {
    let gpus = slots.len();
    let responder = Responder::new(seed, slots, expectations, config.responder.limits());
    let listener = tokio::net::TcpListener::bind(config.responder.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.responder.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        agent = %format!("0x{}", hex::encode(responder.public().0)),
        gpus,
        "PoPW responder serving"
    );
    axum::serve(listener, responder.router())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("responder")?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or ctrl-c.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot watch SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("ctrl-c: shutting down"),
    }
}
