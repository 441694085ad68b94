//! `kaisar-provider run`: the whole agent in one task: connect to the node (retrying with
//! backoff), find or register the worker, then follow best blocks ([`crate::agent::Agent`]),
//! serve the PoPW responder with the chain's expectations ([`crate::expectations`]) and the
//! Prometheus metrics, reconnecting whenever the node goes away, until `shutdown`.
//!
//! Everything runs inside the returned future (no detached task), so dropping it (or aborting
//! the task that runs it) stops the agent like a `kill -9` would: containers keep running and
//! the next start reconciles them.

use crate::agent::{resolve_worker, Agent, AgentError};
use crate::config::{self, Config, PopwBackend};
use crate::containers::ContainerRuntime;
use crate::expectations::ChainExpectations;
use crate::gpu::{self, Gpu, GpuBackend};
use crate::metrics::Metrics;
use crate::responder::{ExpectationSource, Responder, Slot, SnapshotFn};
use crate::state::StateDir;
use anyhow::{bail, Context};
use kaisar_chain_client::{Client, RetryPolicy};
use kaisar_popw::{Backend, GpuSnapshot, WorkerIdentity};
use kaisar_primitives::WorkerId;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Open the configured GPU backend (a warning for the fake one).
pub fn open_gpus(config: &Config) -> anyhow::Result<Arc<dyn GpuBackend>> {
    let backend = gpu::open_backend(config.gpu.backend, config.gpu.fixture.as_deref())?;
    if backend.kind() == "fake" {
        tracing::warn!("gpu.backend = \"fake\": development only, no real GPU is read");
    }
    Ok(Arc::from(backend))
}

/// The PoPW identity of each GPU of `inventory` for `worker_id` (every GPU must have a chain
/// model).
pub fn identities(
    inventory: &[Gpu],
    worker_id: WorkerId,
) -> anyhow::Result<Vec<(u32, WorkerIdentity)>> {
    inventory
        .iter()
        .map(|g| {
            let model = g.model().with_context(|| {
                format!(
                    "GPU {} ({}) has no chain model: it cannot answer challenges",
                    g.identity.index, g.identity.name
                )
            })?;
            Ok((
                g.identity.index,
                WorkerIdentity {
                    worker_id,
                    gpu_uuid_hash: g.uuid_hash(),
                    model,
                },
            ))
        })
        .collect()
}

/// Refresh `expectations` at every new best block of the node at `url` (polled every
/// `interval`, on a connection of its own, made again whenever the node goes away) until
/// `shutdown`.
async fn follow_expectations(
    url: String,
    expectations: Arc<ChainExpectations>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let retry = RetryPolicy {
        timeout: Duration::from_secs(5),
        ..RetryPolicy::default()
    };
    let mut client: Option<Client> = None;
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        if client.is_none() {
            client = tokio::select! {
                c = Client::connect_with(&url, retry.clone()) => c.ok(),
                _ = shutdown.changed() => continue,
            };
        }
        if let Some(c) = &client {
            let refreshed = async {
                let best = c.best_number().await?;
                expectations.refresh(c, best).await
            };
            if let Err(e) = refreshed.await {
                tracing::debug!(error = %e, "expectations: lost the node; reconnecting");
                client = None;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// The PoPW responder of `config` for these GPUs, serving on `listener` until `shutdown`.
#[allow(clippy::too_many_arguments)]
pub async fn serve_responder(
    config: &Config,
    seed: &[u8; 32],
    gpus: Arc<dyn GpuBackend>,
    inventory: &[Gpu],
    identities: Vec<(u32, WorkerIdentity)>,
    expectations: Arc<dyn ExpectationSource>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let snapshot = |index: u32| -> SnapshotFn {
        let gpus = gpus.clone();
        let hash = inventory[index as usize].uuid_hash();
        Arc::new(move || {
            let now = kaisar_popw::snapshot::unix_time_ms();
            gpus.read(index)
                .map(|g| g.popw_snapshot(now))
                .unwrap_or_else(|_| GpuSnapshot::without_telemetry(hash, now))
        })
    };
    if config.responder.backend == PopwBackend::Cpu {
        tracing::warn!("responder.backend = \"cpu\": no GPU computes the challenges");
    } else {
        #[cfg(feature = "cuda")]
        {
            let cuda: anyhow::Result<Vec<_>> = identities
                .iter()
                .map(|(index, identity)| {
                    Ok(Slot {
                        identity: *identity,
                        backend: kaisar_popw::backend::CudaBackend::new(*index as usize)
                            .with_context(|| format!("CUDA backend on GPU {index}"))?,
                        snapshot: snapshot(*index),
                    })
                })
                .collect();
            match cuda {
                Ok(slots) => {
                    tracing::info!(gpus = slots.len(), "CUDA computes the challenges");
                    return serve_slots(config, seed, slots, expectations, listener, shutdown)
                        .await;
                }
                Err(e) if config.responder.backend == PopwBackend::Auto => tracing::warn!(
                    error = %format!("{e:#}"),
                    "no CUDA here: the CPU computes the challenges (it cannot pass a GPU \
                     model's timing)"
                ),
                Err(e) => return Err(e),
            }
        }
        #[cfg(not(feature = "cuda"))]
        {
            if config.responder.backend == PopwBackend::Cuda {
                bail!("responder.backend = \"cuda\" needs a build with the `cuda` feature");
            }
            tracing::warn!(
                "built without the `cuda` feature: the CPU computes the challenges (it cannot \
                 pass a GPU model's timing)"
            );
        }
    }
    let slots = identities
        .into_iter()
        .map(|(index, identity)| Slot {
            identity,
            backend: kaisar_popw::CpuBackend::new(),
            snapshot: snapshot(index),
        })
        .collect();
    serve_slots(config, seed, slots, expectations, listener, shutdown).await
}

async fn serve_slots<B: Backend + Send + 'static>(
    config: &Config,
    seed: &[u8; 32],
    slots: Vec<Slot<B>>,
    expectations: Arc<dyn ExpectationSource>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let gpus = slots.len();
    let responder = Responder::new(seed, slots, expectations, config.responder.limits());
    tracing::info!(
        listen = %listener.local_addr()?,
        agent = %format!("0x{}", hex::encode(responder.public().0)),
        gpus,
        "PoPW responder serving"
    );
    axum::serve(listener, responder.router())
        .with_graceful_shutdown(shutdown)
        .await
        .context("responder")
}

async fn wait_for(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            // The sender is gone: nobody can ask for a shutdown any more; never resolve.
            std::future::pending::<()>().await;
        }
    }
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({what})"))
}

/// Sleep `backoff` (or until shutdown); the next backoff.
async fn pause(backoff: Duration, max: Duration, shutdown: &mut watch::Receiver<bool>) -> Duration {
    tokio::select! {
        _ = tokio::time::sleep(backoff) => {}
        _ = shutdown.changed() => {}
    }
    (backoff * 2).min(max)
}

/// Run the agent (see the module docs) until `shutdown` resolves.
pub async fn run(
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    metrics: Arc<Metrics>,
) -> anyhow::Result<()> {
    let Some(chain) = config.chain.clone() else {
        bail!("no [chain] section in the configuration: `run` needs the node's URL");
    };
    let Some(containers) = config.containers.clone() else {
        bail!("no [containers] section in the configuration: `run` serves orders in containers");
    };
    let seed = config::load_seed(&config.agent)?;
    let agent_signer = kaisar_chain_client::subxt_signer::sr25519::Keypair::from_secret_key(seed)
        .map_err(|e| anyhow::anyhow!("agent key: {e}"))?;
    let provider_signer = config::load_provider_seed(config.registration.as_ref())?
        .map(|s| {
            kaisar_chain_client::subxt_signer::sr25519::Keypair::from_secret_key(s)
                .map_err(|e| anyhow::anyhow!("provider key: {e}"))
        })
        .transpose()?;
    let gpus = open_gpus(config)?;
    let inventory = gpus.probe()?;
    let state = StateDir::open(&chain.state_dir)?;
    let runtime = ContainerRuntime::connect(containers).await?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let shutdown_relay = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let metrics_server = {
        let metrics = metrics.clone();
        let addr = chain.metrics_listen;
        let rx = stop_rx.clone();
        async move {
            let Some(addr) = addr else {
                return Ok(());
            };
            let listener = bind(addr, "metrics").await?;
            tracing::info!(listen = %listener.local_addr()?, "metrics at /metrics");
            axum::serve(listener, metrics.router())
                .with_graceful_shutdown(wait_for(rx))
                .await
                .context("metrics")
        }
    };
    let responder_listener = bind(config.responder.listen, "PoPW responder").await?;

    let main = async {
        let max_backoff = Duration::from_secs(chain.reconnect_max_backoff_secs.max(1));
        let mut shutdown = stop_rx.clone();
        let mut backoff = Duration::from_millis(500);
        let retry = RetryPolicy {
            timeout: Duration::from_secs(30),
            ..RetryPolicy::default()
        };
        // Connect and find (or register) the worker.
        let (mut client, worker_id) = loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let connected = tokio::select! {
                c = Client::connect_with(&chain.url, retry.clone()) => c,
                _ = shutdown.changed() => continue,
            };
            match connected {
                Ok(client) => {
                    Metrics::inc(&metrics.connections);
                    Metrics::set(&metrics.chain_connected, 1);
                    match resolve_worker(
                        &client,
                        &agent_signer,
                        provider_signer.as_ref(),
                        config.registration.as_ref(),
                        &inventory,
                    )
                    .await
                    {
                        Ok(id) => break (client, id),
                        Err(AgentError::Chain(e)) => {
                            Metrics::set(&metrics.chain_connected, 0);
                            tracing::warn!(error = %e, "chain unavailable; retrying")
                        }
                        Err(e) => return Err(anyhow::Error::from(e)),
                    }
                }
                Err(e) => tracing::warn!(url = %chain.url, error = %e, "cannot connect; retrying"),
            }
            backoff = pause(backoff, max_backoff, &mut shutdown).await;
        };
        let expectations = Arc::new(ChainExpectations::new(worker_id, client.genesis_hash().0));
        let mut agent = Agent::new(
            chain.clone(),
            runtime.clone(),
            gpus.clone(),
            &inventory,
            agent_signer.clone(),
            worker_id,
            state.clone(),
            metrics.clone(),
            Some(expectations.clone()),
        )?;
        match agent.check_chain(&client).await {
            Ok(()) => {}
            // Checked again nowhere: a configuration the chain refuses shows as overdue
            // heartbeats; but a node that went away right now is no reason to stop.
            Err(AgentError::Chain(e)) => {
                tracing::warn!(error = %e, "cannot read the chain's heartbeat timeout")
            }
            Err(e) => return Err(e.into()),
        }
        // The expectations also follow best blocks on a connection of their own: a tick can
        // take seconds (a heartbeat's inclusion, the container engine), and a checker challenges
        // as soon as it sees the epoch's challenge randomness drawn.
        let refresher = follow_expectations(
            chain.url.clone(),
            expectations.clone(),
            Duration::from_millis(chain.poll_interval_ms.max(1)),
            stop_rx.clone(),
        );
        let responder = serve_responder(
            config,
            &seed,
            gpus.clone(),
            &inventory,
            identities(&inventory, worker_id)?,
            expectations,
            responder_listener,
            wait_for(stop_rx.clone()),
        );
        let follow = async {
            loop {
                backoff = Duration::from_millis(500);
                match agent.follow(&client, &mut shutdown).await {
                    Ok(()) => return anyhow::Ok(()),
                    Err(AgentError::Chain(e)) => {
                        Metrics::set(&metrics.chain_connected, 0);
                        tracing::warn!(error = %e, "lost the node; reconnecting");
                    }
                    Err(AgentError::Containers(e)) => {
                        tracing::warn!(error = %e, "container engine unavailable; retrying");
                    }
                    Err(e) => return Err(anyhow::Error::from(e)),
                }
                // Reconnect (the engine error case keeps the connection).
                loop {
                    if *shutdown.borrow() {
                        return Ok(());
                    }
                    backoff = pause(backoff, max_backoff, &mut shutdown).await;
                    if *shutdown.borrow() {
                        return Ok(());
                    }
                    if metrics
                        .chain_connected
                        .load(std::sync::atomic::Ordering::Relaxed)
                        == 1
                    {
                        break;
                    }
                    let connected = tokio::select! {
                        c = Client::connect_with(&chain.url, retry.clone()) => c,
                        _ = shutdown.changed() => continue,
                    };
                    match connected {
                        Ok(c) => {
                            client = c;
                            Metrics::inc(&metrics.connections);
                            Metrics::set(&metrics.chain_connected, 1);
                            tracing::info!(url = %chain.url, "reconnected");
                            break;
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot reconnect; retrying"),
                    }
                }
            }
        };
        tokio::try_join!(responder, follow, refresher).map(|_| ())
    };
    let relay = async {
        shutdown_relay.await;
        anyhow::Ok(())
    };
    tokio::select! {
        r = async { tokio::try_join!(main, metrics_server).map(|_| ()) } => r,
        // The relay only sets the flag; `main` and the servers then finish by themselves.
        _ = async { let _ = relay.await; std::future::pending::<()>().await } => unreachable!(),
    }
}
