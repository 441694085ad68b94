//! The agent's chain half: registration, heartbeats, orders (accept or reject, containers,
//! sealed access details), usage reports, exit reports and reconciliation after a restart.
//!
//! [`resolve_worker`] finds the agent key's worker, or registers one with the provider key.
//! [`Agent::tick`] runs at every new best block: it reads the worker's open orders and this
//! agent's containers, decides with [`crate::plan::plan`] and carries the actions out. Since
//! every decision is made from the chain's state and the engine's, the first tick after a
//! restart *is* the reconciliation: containers of orders no longer Running are removed, Running
//! orders without a container get it back (same token and ports, from [`crate::state`]), and
//! usage reports continue at the chain's `last_report_seq + 1`. A tick that finds transactions
//! of the agent key in the node's pool that its snapshot does not show (sent by a run killed
//! mid-submit, or cut off by a lost connection) waits for them to land first (up to
//! [`MAX_POOL_WAIT_TICKS`] blocks), so that it does not send them again.

use crate::config::{ChainConfig, HostClassConfig, RegistrationConfig};
use crate::containers::{
    AgentContainer, ContainerError, ContainerRuntime, OrderContainer, RunningContainer,
};
use crate::expectations::ChainExpectations;
use crate::gpu::{Gpu, GpuBackend};
use crate::metrics::Metrics;
use crate::plan::{self, Action, ContainerView, ExitReport, Memory, Phase};
use crate::state::{OrderRecord, StateDir};
use kaisar_chain_client::kaisar::runtime_types::pallet_orders::types::ExitKind;
use kaisar_chain_client::signer::account_of;
use kaisar_chain_client::types::{
    BoundedVec, GpuDevice, GpuModel, HostClass, Order, OrderStatus, UsageReport, WorkerSpec,
};
use kaisar_chain_client::{kaisar, AccountId32, ChainError, Client, Signer, H256};
use kaisar_primitives::{OrderId, WorkerId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The access details of an order, as sealed to the user's key (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessDetails {
    /// The order.
    pub order_id: OrderId,
    /// Where the container is reached.
    pub host: String,
    /// Each ordered container port and the host port it is published on.
    pub ports: Vec<PortAccess>,
    /// The secret token (the container's `KAISAR_ACCESS_TOKEN`).
    pub token: String,
}

/// One published port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortAccess {
    /// The container's port.
    pub container: u16,
    /// The host's port.
    pub host: u16,
}

/// Why the agent cannot run at all (as opposed to one failed action, which is logged).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The chain could not be read (connection lost, ...): reconnect.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// The agent's configuration or host does not allow running.
    #[error("{0}")]
    Refused(String),
    /// The container engine failed in a way that stops the whole tick.
    #[error("container engine: {0}")]
    Containers(#[from] ContainerError),
    /// The state directory failed.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// The chain's model of a GPU model.
pub fn chain_model(m: kaisar_primitives::GpuModel) -> GpuModel {
    use kaisar_primitives::GpuModel as P;
    match m {
        P::RtxA4000 => GpuModel::RtxA4000,
        P::Rtx3090 => GpuModel::Rtx3090,
        P::Rtx4090 => GpuModel::Rtx4090,
        P::Rtx5090 => GpuModel::Rtx5090,
        P::L4 => GpuModel::L4,
        P::L40S => GpuModel::L40S,
        P::A10 => GpuModel::A10,
        P::A100Pcie40G => GpuModel::A100Pcie40G,
        P::A100Sxm80G => GpuModel::A100Sxm80G,
        P::H100Pcie => GpuModel::H100Pcie,
        P::H100Sxm => GpuModel::H100Sxm,
        P::H200 => GpuModel::H200,
        P::DevCpu => GpuModel::DevCpu,
    }
}

fn host_class(c: HostClassConfig) -> HostClass {
    match c {
        HostClassConfig::Pc => HostClass::Pc,
        HostClassConfig::Laptop => HostClass::Laptop,
        HostClassConfig::Server => HostClass::Server,
        HostClassConfig::BareMetal => HostClass::BareMetal,
    }
}

/// The registration spec of this host: every GPU of the inventory (all of one chain model),
/// with the resources, region, endpoint and price of `registration`, for `agent`.
pub fn worker_spec(
    inventory: &[Gpu],
    registration: &RegistrationConfig,
    agent: &AccountId32,
) -> Result<WorkerSpec, AgentError> {
    if inventory.is_empty() {
        return Err(AgentError::Refused("no GPU to register".into()));
    }
    let mut gpus = Vec::with_capacity(inventory.len());
    let mut models = BTreeSet::new();
    for g in inventory {
        let model = g.model().ok_or_else(|| {
            AgentError::Refused(format!(
                "GPU {} ({}) has no chain model: it cannot be registered",
                g.identity.index, g.identity.name
            ))
        })?;
        models.insert(model);
        gpus.push(GpuDevice {
            model: chain_model(model),
            vram_mib: (g.identity.memory_total_bytes / (1024 * 1024)).min(u32::MAX as u64) as u32,
            uuid_hash: H256(g.uuid_hash().0),
        });
    }
    if models.len() > 1 {
        return Err(AgentError::Refused(format!(
            "the host has GPUs of several models ({models:?}): a worker is one model"
        )));
    }
    Ok(WorkerSpec {
        host_class: host_class(registration.host_class),
        gpus: BoundedVec(gpus),
        cpu_cores: registration.cpu_cores,
        ram_mib: registration.ram_mib,
        disk_gib: registration.disk_gib,
        region: BoundedVec(registration.region.clone().into_bytes()),
        price_per_gpu_hour: registration.price().map_err(AgentError::Refused)?,
        endpoint: BoundedVec(registration.endpoint.clone().into_bytes()),
        agent: *agent,
    })
}

/// The worker of `agent`'s key: the registered one, or (with a provider key and a
/// `[registration]` section) a new registration of this host's GPUs. Without either the agent
/// refuses to run.
pub async fn resolve_worker(
    client: &Client,
    agent: &Signer,
    provider: Option<&Signer>,
    registration: Option<&RegistrationConfig>,
    inventory: &[Gpu],
) -> Result<WorkerId, AgentError> {
    let account = account_of(agent);
    if let Some(id) = client.worker_of_agent(&account).await? {
        tracing::info!(worker = id, agent = %account, "the agent key's worker");
        return Ok(id);
    }
    let (Some(provider), Some(registration)) = (provider, registration) else {
        return Err(AgentError::Refused(format!(
            "no worker is registered for agent {account}, and no provider key and \
             [registration] to register one (registration.provider_key_file or \
             KAISAR_PROVIDER_SEED)"
        )));
    };
    let spec = worker_spec(inventory, registration, &account)?;
    let outcome = client
        .submit(
            &kaisar::tx().worker_registry().register_worker(spec),
            provider,
        )
        .await?;
    let ev = outcome
        .expect_event::<kaisar::worker_registry::events::WorkerRegistered>()
        .map_err(AgentError::Chain)?;
    tracing::info!(
        worker = ev.worker_id,
        provider = %account_of(provider),
        agent = %account,
        block = outcome.block_number,
        "worker registered (pending verification)"
    );
    Ok(ev.worker_id)
}

/// The phase of a chain order.
pub fn phase_of(status: &OrderStatus) -> Phase {
    match *status {
        OrderStatus::Pending { accept_by } => Phase::Pending { accept_by },
        OrderStatus::Running {
            started_at,
            ends_at,
            last_report_seq,
            ..
        } => Phase::Running {
            started_at,
            ends_at,
            last_report_seq,
        },
        _ => Phase::Over,
    }
}

/// The agent's order half, for one worker.
pub struct Agent {
    chain: ChainConfig,
    runtime: ContainerRuntime,
    gpus: Arc<dyn GpuBackend>,
    gpu_uuids: Vec<String>,
    signer: Signer,
    worker_id: WorkerId,
    state: StateDir,
    metrics: Arc<Metrics>,
    expectations: Option<Arc<ChainExpectations>>,
    memory: BTreeMap<OrderId, Memory>,
    last_heartbeat: Option<u32>,
    last_block: Option<u32>,
    /// Consecutive ticks that found transactions of the agent key in the pool and waited.
    pool_waits: u32,
    /// A transaction failed since the tick last made sure the node is still there.
    tx_failed: bool,
}

/// How many ticks (blocks) in a row the agent waits for transactions of its key that are in the
/// node's pool but not in the chain it reads (a previous run killed mid-submit, a submission cut
/// off by a lost connection, one that timed out). Deciding before they land would send them
/// again: a duplicate usage report or exit report fails on-chain. After this many blocks the
/// agent goes on anyway: one that stays in the pool longer is stuck, not about to land.
pub const MAX_POOL_WAIT_TICKS: u32 = 10;

/// What one tick read.
struct Snapshot {
    now: u32,
    /// The agent key's nonce at this block: how many of its transactions the snapshot shows.
    nonce: u64,
    orders: BTreeMap<OrderId, Order>,
    containers: Vec<AgentContainer>,
    records: BTreeSet<OrderId>,
}

impl Agent {
    /// An agent for `worker_id` (whose agent key is `signer`). Reads the state directory: the
    /// exits already reported are not reported again.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        chain: ChainConfig,
        runtime: ContainerRuntime,
        gpus: Arc<dyn GpuBackend>,
        inventory: &[Gpu],
        signer: Signer,
        worker_id: WorkerId,
        state: StateDir,
        metrics: Arc<Metrics>,
        expectations: Option<Arc<ChainExpectations>>,
    ) -> Result<Self, AgentError> {
        let mut memory = BTreeMap::new();
        for order_id in state.orders()? {
            if let Some(record) = state.load(order_id)? {
                memory.insert(
                    order_id,
                    Memory {
                        last_report_at: None,
                        reported_exit: record.reported_exit,
                    },
                );
            }
        }
        Ok(Self {
            chain,
            runtime,
            gpus,
            gpu_uuids: inventory.iter().map(|g| g.identity.uuid.clone()).collect(),
            signer,
            worker_id,
            state,
            metrics,
            expectations,
            memory,
            last_heartbeat: None,
            last_block: None,
            pool_waits: 0,
            tx_failed: false,
        })
    }

    /// The worker.
    pub fn worker_id(&self) -> WorkerId {
        self.worker_id
    }

    /// Check the configuration against the chain: heartbeats well inside `HeartbeatTimeout`.
    pub async fn check_chain(&self, client: &Client) -> Result<(), AgentError> {
        let timeout = client
            .constant(kaisar::constants().worker_registry().heartbeat_timeout())
            .await?;
        if self.chain.heartbeat_every_blocks.saturating_mul(2) > timeout {
            return Err(AgentError::Refused(format!(
                "chain.heartbeat_every_blocks = {} is not well inside the chain's \
                 HeartbeatTimeout of {timeout} blocks (at most {})",
                self.chain.heartbeat_every_blocks,
                timeout / 2
            )));
        }
        Ok(())
    }

    /// Follow best blocks on `client` until `shutdown` or a chain read fails (the caller
    /// reconnects).
    pub async fn follow(
        &mut self,
        client: &Client,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), AgentError> {
        let interval = std::time::Duration::from_millis(self.chain.poll_interval_ms);
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let best = client.best_number().await?;
            if self.last_block != Some(best) {
                // A shutdown does not wait for a tick's transactions (up to minutes on a slow
                // chain): stopping midway is as safe as a crash, the next start reconciles.
                tokio::select! {
                    r = self.tick(client) => r?,
                    _ = shutdown.changed() => return Ok(()),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// One pass at the best block: heartbeat if due, refresh the PoPW expectations, then plan
    /// and carry out the order actions. `Err` only when the chain or the engine cannot be read.
    pub async fn tick(&mut self, client: &Client) -> Result<(), AgentError> {
        let snapshot = self.read(client).await?;
        let now = snapshot.now;
        self.last_block = Some(now);
        Metrics::set(&self.metrics.best_block, now as u64);
        Metrics::set(&self.metrics.containers, snapshot.containers.len() as u64);
        if let Some(expectations) = &self.expectations {
            expectations.refresh(client, now).await?;
        }
        // The pool's next nonce, read after the snapshot: anything above the snapshot's nonce
        // is a transaction of this key the snapshot does not show yet.
        let in_pool = client
            .next_nonce(&account_of(&self.signer))
            .await?
            .saturating_sub(snapshot.nonce);
        if in_pool > 0 && self.pool_waits < MAX_POOL_WAIT_TICKS {
            self.pool_waits += 1;
            Metrics::inc(&self.metrics.pool_waits);
            tracing::info!(
                block = now,
                in_pool,
                "transactions of the agent key are still in the pool: waiting for them before \
                 deciding"
            );
            return Ok(());
        }
        if in_pool == 0 {
            self.pool_waits = 0;
        } else if self.pool_waits == MAX_POOL_WAIT_TICKS {
            // Said once; the agent does not wait again until the pool is clear of them.
            self.pool_waits += 1;
            tracing::warn!(
                in_pool,
                blocks = MAX_POOL_WAIT_TICKS,
                "transactions of the agent key stay in the pool: going on without them"
            );
        }
        if self
            .last_heartbeat
            .is_none_or(|b| now >= b.saturating_add(self.chain.heartbeat_every_blocks))
        {
            self.heartbeat(client, &snapshot).await;
            self.still_connected(client).await?;
        }
        let phases: BTreeMap<OrderId, Phase> = snapshot
            .orders
            .iter()
            .map(|(id, o)| (*id, phase_of(&o.status)))
            .collect();
        let views: Vec<ContainerView> = snapshot
            .containers
            .iter()
            .filter_map(|c| {
                Some(ContainerView {
                    order_id: c.order_id?,
                    id: c.id.clone(),
                    running: c.running,
                })
            })
            .collect();
        let actions = plan::plan(
            now,
            &phases,
            &views,
            &snapshot.records,
            &self.memory,
            self.chain.usage_report_every_blocks,
        );
        for action in actions {
            self.act(client, &snapshot, action).await;
            self.still_connected(client).await?;
        }
        Ok(())
    }

    /// After a failed transaction, whether the node is still there: if it went away, the tick
    /// stops (`Err`: the daemon reconnects) rather than failing every action left in it.
    async fn still_connected(&mut self, client: &Client) -> Result<(), AgentError> {
        if std::mem::take(&mut self.tx_failed) {
            client.best_number().await?;
        }
        Ok(())
    }

    /// The worker's open orders, every order a container or a record names, the containers
    /// and the records.
    async fn read(&self, client: &Client) -> Result<Snapshot, AgentError> {
        let at = client.at_best().await?;
        let now = at.block_number() as u32;
        let open = Client::fetch_at(
            &at,
            kaisar::storage().orders().orders_by_worker(),
            (self.worker_id,),
        )
        .await?
        .map(|v| v.0)
        .unwrap_or_default();
        let containers = self.runtime.list().await?;
        let records: BTreeSet<OrderId> = self.state.orders()?.into_iter().collect();
        let wanted: BTreeSet<OrderId> = open
            .iter()
            .copied()
            .chain(containers.iter().filter_map(|c| c.order_id))
            .chain(records.iter().copied())
            .collect();
        let mut orders = BTreeMap::new();
        for id in wanted {
            if let Some(order) =
                Client::fetch_at(&at, kaisar::storage().orders().orders(), (id,)).await?
            {
                // Only this worker's orders (a container label could name anything).
                if order.worker == self.worker_id {
                    orders.insert(id, order);
                }
            }
        }
        let nonce = Client::fetch_at(
            &at,
            kaisar::storage().system().account(),
            (account_of(&self.signer),),
        )
        .await?
        .map_or(0, |a| u64::from(a.nonce));
        // Containers without a parsable order label are not this agent's doing: leave them.
        Ok(Snapshot {
            now,
            nonce,
            orders,
            containers,
            records,
        })
    }

    async fn heartbeat(&mut self, client: &Client, snapshot: &Snapshot) {
        let taken: usize = snapshot
            .containers
            .iter()
            .filter(|c| c.running)
            .map(|c| c.gpu_uuids.len())
            .sum();
        let free = self.gpu_uuids.len().saturating_sub(taken) as u32;
        self.last_heartbeat = Some(snapshot.now);
        match client
            .submit(
                &kaisar::tx()
                    .worker_registry()
                    .heartbeat(self.worker_id, free),
                &self.signer,
            )
            .await
        {
            Ok(outcome) => {
                Metrics::inc(&self.metrics.heartbeats);
                tracing::debug!(block = outcome.block_number, free, "heartbeat");
            }
            Err(e) => {
                Metrics::inc(&self.metrics.tx_failures);
                self.tx_failed = true;
                tracing::warn!(error = %e, "heartbeat failed");
            }
        }
    }

    async fn act(&mut self, client: &Client, snapshot: &Snapshot, action: Action) {
        match action {
            Action::Remove {
                order_id,
                container_id,
            } => match self.runtime.stop_and_remove(&container_id).await {
                Ok(()) => {
                    Metrics::inc(&self.metrics.containers_removed);
                    tracing::info!(order = order_id, container = %container_id, "order over: container removed");
                }
                Err(e) => {
                    tracing::warn!(order = order_id, error = %e, "cannot remove the container")
                }
            },
            Action::Forget { order_id } => {
                if let Err(e) = self.state.remove(order_id) {
                    tracing::warn!(order = order_id, error = %e, "cannot forget the order");
                }
                self.memory.remove(&order_id);
            }
            Action::Serve { order_id, existing } => {
                if let Some(order) = snapshot.orders.get(&order_id) {
                    self.serve(client, snapshot, order_id, order, existing)
                        .await
                }
            }
            Action::Restore { order_id } => {
                if let Some(order) = snapshot.orders.get(&order_id) {
                    self.restore(client, snapshot, order_id, order).await
                }
            }
            Action::Exited {
                order_id,
                container_id,
            } => {
                if let Some(order) = snapshot.orders.get(&order_id) {
                    self.exited(client, snapshot, order_id, order, &container_id)
                        .await
                }
            }
            Action::ReportUsage {
                order_id,
                seq,
                is_final,
            } => {
                self.report_usage(client, snapshot, order_id, seq, is_final)
                    .await
            }
        }
    }

    /// GPUs taken by the agent's running containers other than `order_id`'s.
    fn taken_gpus(snapshot: &Snapshot, order_id: OrderId) -> BTreeSet<String> {
        snapshot
            .containers
            .iter()
            .filter(|c| c.running && c.order_id != Some(order_id))
            .flat_map(|c| c.gpu_uuids.iter().cloned())
            .collect()
    }

    /// Start `order`'s container with `record`'s token (and host ports, if it has them).
    async fn start(
        &self,
        snapshot: &Snapshot,
        order_id: OrderId,
        order: &Order,
        record: &OrderRecord,
    ) -> Result<RunningContainer, ContainerError> {
        let image = String::from_utf8(order.image.0.clone())
            .map_err(|_| ContainerError::Invalid("the image name is not UTF-8".into()))?;
        let taken = Self::taken_gpus(snapshot, order_id);
        let gpu_uuids =
            plan::pick_gpus(&self.gpu_uuids, &taken, order.gpu_count).ok_or_else(|| {
                ContainerError::Invalid(format!(
                    "{} GPUs wanted, fewer free on this host",
                    order.gpu_count
                ))
            })?;
        let ports = order.ports.0.clone();
        let host_ports = if record.host_ports.len() == ports.len()
            && record
                .host_ports
                .iter()
                .map(|(c, _)| *c)
                .eq(ports.iter().copied())
        {
            record.host_ports.iter().map(|(_, h)| *h).collect()
        } else {
            vec![]
        };
        self.runtime
            .run(&OrderContainer {
                order_id,
                image,
                cmd: None,
                env: vec![],
                token: record.token.clone(),
                ports,
                host_ports,
                cpus: None,
                memory_mib: None,
                gpu_uuids,
            })
            .await
    }

    async fn submit_or_log<C: kaisar_chain_client::subxt::transactions::Payload>(
        &mut self,
        client: &Client,
        what: &'static str,
        order_id: OrderId,
        call: &C,
    ) -> bool {
        match client.submit(call, &self.signer).await {
            Ok(outcome) => {
                tracing::info!(order = order_id, block = outcome.block_number, "{what}");
                true
            }
            Err(e) => {
                Metrics::inc(&self.metrics.tx_failures);
                self.tx_failed = true;
                tracing::warn!(order = order_id, error = %e, "{what} failed");
                false
            }
        }
    }

    async fn reject(&mut self, client: &Client, order_id: OrderId, why: &str) {
        tracing::warn!(order = order_id, reason = why, "rejecting the order");
        if self
            .submit_or_log(
                client,
                "order rejected",
                order_id,
                &kaisar::tx().orders().reject_order(order_id),
            )
            .await
        {
            Metrics::inc(&self.metrics.orders_rejected);
        }
    }

    /// A Pending order whose container cannot be started through the provider's fault (the
    /// image is missing and cannot be pulled, the engine cannot create or start it): report it
    /// on-chain as a typed exit (`report_exit` on the Pending order), which the user sees in
    /// the order's exit records and which fails the order with a full refund exactly as a
    /// rejection does.
    async fn fail_before_start(
        &mut self,
        client: &Client,
        order_id: OrderId,
        kind: ExitKind,
        why: &str,
    ) {
        tracing::warn!(
            order = order_id,
            reason = why,
            ?kind,
            "cannot start the order's container: reporting it on-chain (the order fails and is \
             refunded)"
        );
        if self.report_exit(client, order_id, kind, 0).await {
            Metrics::inc(&self.metrics.orders_rejected);
        }
    }

    async fn serve(
        &mut self,
        client: &Client,
        snapshot: &Snapshot,
        order_id: OrderId,
        order: &Order,
        existing: Option<ContainerView>,
    ) {
        let Ok(image) = String::from_utf8(order.image.0.clone()) else {
            return self
                .reject(client, order_id, "the image name is not UTF-8")
                .await;
        };
        match self.runtime.ensure_image(&image).await {
            Ok(()) => {}
            Err(e @ ContainerError::ImageMissing { .. }) => {
                return self
                    .fail_before_start(client, order_id, ExitKind::ImageUnavailable, &e.to_string())
                    .await
            }
            Err(e) => {
                // The engine failed: try again at the next block.
                tracing::warn!(order = order_id, error = %e, "cannot check the image");
                return;
            }
        }
        // The token is on disk before any container or acceptance uses it.
        let mut record = match self.state.load_or_create(order_id) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(order = order_id, error = %e, "cannot keep the order's token");
                return;
            }
        };
        let host_ports = match existing {
            Some(c) if c.running => {
                match self.runtime.published_ports(&c.id, &order.ports.0).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(order = order_id, error = %e, "cannot read the ports");
                        return;
                    }
                }
            }
            existing => {
                if let Some(c) = existing {
                    if let Err(e) = self.runtime.stop_and_remove(&c.id).await {
                        tracing::warn!(order = order_id, error = %e, "cannot remove the stopped container");
                        return;
                    }
                }
                match self.start(snapshot, order_id, order, &record).await {
                    Ok(running) => running.host_ports,
                    Err(e @ ContainerError::AlreadyRunning(_)) => {
                        tracing::warn!(order = order_id, error = %e, "retrying at the next block");
                        return;
                    }
                    Err(e) => {
                        let _ = self.state.remove(order_id);
                        let kind = match e {
                            ContainerError::ImageMissing { .. } => ExitKind::ImageUnavailable,
                            _ => ExitKind::StartFailed,
                        };
                        return self
                            .fail_before_start(client, order_id, kind, &e.to_string())
                            .await;
                    }
                }
            }
        };
        record.host_ports = host_ports.clone();
        if let Err(e) = self.state.save(&record) {
            tracing::error!(order = order_id, error = %e, "cannot keep the order's ports");
            return;
        }
        let details = AccessDetails {
            order_id,
            host: self.chain.public_host.clone(),
            ports: host_ports
                .iter()
                .map(|&(container, host)| PortAccess { container, host })
                .collect(),
            token: record.token.clone(),
        };
        let plaintext = serde_json::to_vec(&details).expect("serializable");
        let sealed = match kaisar_cli::access::seal(&order.user_public_key, &plaintext) {
            Ok(s) => s,
            Err(e) => {
                return self
                    .reject(
                        client,
                        order_id,
                        &format!("cannot seal the access details: {e}"),
                    )
                    .await
            }
        };
        if self
            .submit_or_log(
                client,
                "order accepted",
                order_id,
                &kaisar::tx()
                    .orders()
                    .accept_order(order_id, BoundedVec(sealed)),
            )
            .await
        {
            Metrics::inc(&self.metrics.orders_served);
            self.memory.insert(
                order_id,
                Memory {
                    last_report_at: None,
                    reported_exit: None,
                },
            );
        }
    }

    async fn report_exit(
        &mut self,
        client: &Client,
        order_id: OrderId,
        kind: ExitKind,
        restarts: u32,
    ) -> bool {
        let ok = self
            .submit_or_log(
                client,
                "container exit reported",
                order_id,
                &kaisar::tx()
                    .orders()
                    .report_exit(order_id, kind.clone(), restarts),
            )
            .await;
        if ok {
            Metrics::inc(&self.metrics.exits_reported);
        }
        ok
    }

    /// A Running order without a container: start it again with its token and ports.
    async fn restore(
        &mut self,
        client: &Client,
        snapshot: &Snapshot,
        order_id: OrderId,
        order: &Order,
    ) {
        let record = match self.state.load(order_id) {
            Ok(Some(r)) => r,
            Ok(None) => {
                // The access details sealed to the user name a token this host no longer
                // has: the order cannot be served. Say so on-chain (the provider's fault).
                tracing::error!(
                    order = order_id,
                    "Running order without a container and without its token in the state \
                     directory: reporting it as a start failure"
                );
                self.report_exit(client, order_id, ExitKind::StartFailed, 0)
                    .await;
                return;
            }
            Err(e) => {
                tracing::error!(order = order_id, error = %e, "cannot read the order's state");
                return;
            }
        };
        match self.start(snapshot, order_id, order, &record).await {
            Ok(running) => {
                Metrics::inc(&self.metrics.containers_restarted);
                tracing::info!(order = order_id, container = %running.id, "container restored");
            }
            Err(ContainerError::AlreadyRunning(_)) => {}
            Err(e) => {
                let kind = match e {
                    ContainerError::ImageMissing { .. } => ExitKind::ImageUnavailable,
                    _ => ExitKind::StartFailed,
                };
                tracing::error!(order = order_id, error = %e, "cannot restore the container");
                self.report_exit(client, order_id, kind, record.restarts)
                    .await;
            }
        }
    }

    /// A Running order's container stopped on its own: report it, then restart it within
    /// `max_restarts` if the user's workload stopped it.
    async fn exited(
        &mut self,
        client: &Client,
        snapshot: &Snapshot,
        order_id: OrderId,
        order: &Order,
        container_id: &str,
    ) {
        let event = match self.runtime.exit_event(container_id).await {
            Ok(e) => e,
            Err(ContainerError::StillRunning(_)) => return,
            Err(e) => {
                tracing::warn!(order = order_id, error = %e, "cannot inspect the container");
                return;
            }
        };
        if event.exit_code.is_none() && !event.image_missing {
            // Created but never started (the agent stopped between the two): not an exit of
            // the workload; start it afresh.
            tracing::info!(
                order = order_id,
                "container never started: starting it again"
            );
            if let Err(e) = self.runtime.stop_and_remove(container_id).await {
                tracing::warn!(order = order_id, error = %e, "cannot remove the container");
                return;
            }
            return self.restore(client, snapshot, order_id, order).await;
        }
        let report = ExitReport::of(&event);
        let kind = match report {
            ExitReport::Exited(code) => ExitKind::Exited { code },
            ExitReport::OomKilled => ExitKind::OomKilled,
            ExitReport::ImageUnavailable => ExitKind::ImageUnavailable,
            ExitReport::StartFailed => ExitKind::StartFailed,
        };
        let mut record = match self.state.load(order_id) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(order = order_id, error = %e, "cannot read the order's state");
                return;
            }
        };
        let restarts = record.as_ref().map_or(0, |r| r.restarts);
        tracing::info!(order = order_id, ?event, restarts, "container stopped");
        if !self.report_exit(client, order_id, kind, restarts).await {
            return;
        }
        self.memory.entry(order_id).or_default().reported_exit = Some(container_id.into());
        let Some(record) = record.as_mut() else {
            return;
        };
        record.reported_exit = Some(container_id.into());
        let restart = report.is_users() && record.restarts < self.chain.max_restarts;
        if restart {
            record.restarts += 1;
        }
        if let Err(e) = self.state.save(record) {
            tracing::error!(order = order_id, error = %e, "cannot keep the order's state");
            return;
        }
        if !restart {
            if report.is_users() {
                tracing::warn!(
                    order = order_id,
                    "restarts exhausted: the container stays stopped"
                );
            }
            return;
        }
        if let Err(e) = self.runtime.stop_and_remove(container_id).await {
            tracing::warn!(order = order_id, error = %e, "cannot remove the stopped container");
            return;
        }
        match self.start(snapshot, order_id, order, record).await {
            Ok(running) => {
                Metrics::inc(&self.metrics.containers_restarted);
                tracing::info!(order = order_id, container = %running.id, restarts = record.restarts, "container restarted");
            }
            Err(e) => {
                tracing::error!(order = order_id, error = %e, "cannot restart the container");
                let kind = match e {
                    ContainerError::ImageMissing { .. } => ExitKind::ImageUnavailable,
                    _ => ExitKind::StartFailed,
                };
                self.report_exit(client, order_id, kind, record.restarts)
                    .await;
            }
        }
    }

    /// The usage of `order_id`'s container now: its GPUs' utilisation and memory, its uptime.
    fn usage(&self, snapshot: &Snapshot, order_id: OrderId) -> UsageReport {
        let container = snapshot
            .containers
            .iter()
            .find(|c| c.order_id == Some(order_id) && c.running);
        let Some(container) = container else {
            return UsageReport {
                gpu_util_permille: 0,
                gpu_mem_used_mib: 0,
                uptime_secs: 0,
            };
        };
        let mut util_sum = 0u64;
        let mut mem_mib = 0u64;
        let mut read = 0u64;
        if let Ok(gpus) = self.gpus.probe() {
            for g in gpus
                .iter()
                .filter(|g| container.gpu_uuids.contains(&g.identity.uuid))
            {
                util_sum += g.state.utilization_pct.unwrap_or(0) as u64;
                mem_mib += g.state.memory_used_bytes.unwrap_or(0) / (1024 * 1024);
                read += 1;
            }
        }
        let now_secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        UsageReport {
            gpu_util_permille: (util_sum * 10).checked_div(read).unwrap_or(0).min(1000) as u16,
            gpu_mem_used_mib: mem_mib.min(u32::MAX as u64) as u32,
            uptime_secs: if container.created > 0 {
                (now_secs - container.created).clamp(0, u32::MAX as i64) as u32
            } else {
                0
            },
        }
    }

    async fn report_usage(
        &mut self,
        client: &Client,
        snapshot: &Snapshot,
        order_id: OrderId,
        seq: u32,
        is_final: bool,
    ) {
        let usage = self.usage(snapshot, order_id);
        let ok = self
            .submit_or_log(
                client,
                if is_final {
                    "final usage reported"
                } else {
                    "usage reported"
                },
                order_id,
                &kaisar::tx()
                    .orders()
                    .report_usage(order_id, seq, usage.clone()),
            )
            .await;
        if ok {
            Metrics::inc(&self.metrics.usage_reports);
        }
        // A failed periodic report is tried again a period later (the next one covers its
        // blocks); a failed final report at the next block.
        if ok || !is_final {
            self.memory.entry(order_id).or_default().last_report_at = Some(snapshot.now);
        }
    }
}
