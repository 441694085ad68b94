//! What the daemons do, told as it lands on chain: a task that follows the best block and
//! prints the events of the demo's worker and orders (registration, the checkers' commitments,
//! seals, reveals and verdicts, the agent's acceptances, usage reports, exits, payments and
//! refunds). On Chopsticks it also keeps time the way a node does: it switches the engine to
//! manual block building (transactions wait in the pool) and builds one block every
//! `block_time`, and switches it back to building a block per transaction when it stops. (With
//! a block per transaction, the daemons' own transactions would close the checking windows
//! while the checkers are still challenging the worker.)

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use kaisar_chain_client::{
    kaisar::{
        orders::events as orders, popw_attestations::events as popw,
        worker_registry::events as registry,
    },
    subxt::rpcs::rpc_params,
    BlockNumber, Client, H256,
};
use kaisar_cli::format;

/// Shared with the demo: which worker to narrate, and a switch.
#[derive(Clone, Default)]
pub struct Narration {
    /// The demo's worker (`u64::MAX` until known).
    pub worker: Arc<AtomicU64>,
    /// Set to stop the task.
    pub stop: Arc<AtomicBool>,
    /// Print the events (the block pump runs regardless).
    pub quiet: Arc<AtomicBool>,
}

impl Narration {
    pub fn new() -> Self {
        let n = Narration::default();
        n.worker.store(u64::MAX, Ordering::SeqCst);
        n
    }

    pub fn set_worker(&self, id: u64) {
        self.worker.store(id, Ordering::SeqCst);
    }
}

fn line(n: BlockNumber, text: String) {
    println!("      · #{n} {text}");
}

/// Chopsticks' block building mode (`dev_setBlockBuildMode`): `"Manual"` or `"Instant"`.
pub async fn set_build_mode(client: &Client, mode: &str) -> kaisar_chain_client::Result<()> {
    client
        .rpc_request::<serde_json::Value>("dev_setBlockBuildMode", rpc_params![mode])
        .await
        .map(|_| ())
}

/// Follow the chain until `narration.stop`; on Chopsticks (switched to manual block building
/// by the caller) build a block every `block_time`. Returns the task.
pub fn spawn(
    client: Client,
    narration: Narration,
    chopsticks: bool,
    block_time: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = client.best_number().await.unwrap_or_default();
        let mut built = tokio::time::Instant::now();
        while !narration.stop.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if chopsticks && built.elapsed() >= block_time {
                let _ = client
                    .rpc_request::<serde_json::Value>(
                        "dev_newBlock",
                        rpc_params![serde_json::json!({ "count": 1 })],
                    )
                    .await;
                // Counted from the end of the build: a slow build must not make the next one
                // start at once (the windows of the checks are counted in blocks).
                built = tokio::time::Instant::now();
            }
            let Ok(best) = client.best_number().await else {
                continue;
            };
            if best > last {
                for n in last + 1..=best {
                    if !narration.quiet.load(Ordering::SeqCst) {
                        tell(&client, n, narration.worker.load(Ordering::SeqCst)).await;
                    }
                }
                last = best;
            }
        }
    })
}

async fn tell(client: &Client, n: BlockNumber, worker: u64) {
    let Ok(Some(hash)) = client
        .rpc_request::<Option<H256>>("chain_getBlockHash", rpc_params![n])
        .await
    else {
        return;
    };
    let Ok(at) = client.at(hash).await else {
        return;
    };
    let Ok(events) = at.events().fetch().await else {
        return;
    };
    for ev in events.iter().flatten() {
        let text = match (ev.pallet_name(), ev.event_name()) {
            ("WorkerRegistry", "WorkerRegistered") => ev
                .decode_fields_as::<registry::WorkerRegistered>()
                .and_then(Result::ok)
                .map(|e| {
                    format!(
                        "the agent registered worker {} (fee {}, deposit {} held)",
                        e.worker_id,
                        format::tokens(e.fee),
                        format::tokens(e.deposit)
                    )
                }),
            ("WorkerRegistry", "WorkerVerified") => ev
                .decode_fields_as::<registry::WorkerVerified>()
                .and_then(Result::ok)
                .filter(|e| e.worker_id == worker)
                .map(|e| {
                    format!(
                        "worker {} is {} (verified by the checkers' verdict)",
                        e.worker_id,
                        format::worker_status(&e.status)
                    )
                }),
            ("PopwAttestations", "CheckOpened") => ev
                .decode_fields_as::<popw::CheckOpened>()
                .and_then(Result::ok)
                .filter(|e| e.worker == worker)
                .map(|e| {
                    format!(
                        "epoch {}: check of worker {} opened, checker slots {:?}",
                        e.epoch, e.worker, e.slots.0
                    )
                }),
            ("PopwAttestations", "NonceCommitted") => ev
                .decode_fields_as::<popw::NonceCommitted>()
                .and_then(Result::ok)
                .filter(|e| e.worker == worker)
                .map(|e| {
                    format!(
                        "slot {} (license #{}) committed to a secret challenge nonce",
                        e.slot, e.license
                    )
                }),
            ("PopwAttestations", "AttestationSealed") => ev
                .decode_fields_as::<popw::AttestationSealed>()
                .and_then(Result::ok)
                .filter(|e| e.worker == worker)
                .map(|e| {
                    format!(
                        "slot {} challenged the worker over HTTP and sealed its attestation",
                        e.slot
                    )
                }),
            ("PopwAttestations", "AttestationRevealed") => ev
                .decode_fields_as::<popw::AttestationRevealed>()
                .and_then(Result::ok)
                .filter(|e| e.worker == worker)
                .map(|e| {
                    format!(
                        "slot {} revealed: {:?} ({} ms of work)",
                        e.slot, e.attestation.verdict, e.attestation.work_time_ms
                    )
                }),
            ("PopwAttestations", "CheckFinalized") => ev
                .decode_fields_as::<popw::CheckFinalized>()
                .and_then(Result::ok)
                .filter(|e| e.worker == worker)
                .map(|e| {
                    format!(
                        "epoch {} verdict on worker {}: {:?} ({} of {} slots revealed, {} passes)",
                        e.epoch, e.worker, e.outcome, e.revealed, e.assigned, e.passes
                    )
                }),
            ("PopwAttestations", "WorkerFailed") => ev
                .decode_fields_as::<popw::WorkerFailed>()
                .and_then(Result::ok)
                .filter(|e| e.worker == worker)
                .map(|e| {
                    format!(
                        "worker {} failed its check ({} in a row): its running orders are refunded",
                        e.worker, e.consecutive_failures
                    )
                }),
            ("Orders", "OrderAccepted") => ev
                .decode_fields_as::<orders::OrderAccepted>()
                .and_then(Result::ok)
                .map(|e| {
                    format!(
                        "the agent started order {}'s container and accepted it (runs until #{})",
                        e.order_id, e.ends_at
                    )
                }),
            ("Orders", "UsageReported") => ev
                .decode_fields_as::<orders::UsageReported>()
                .and_then(Result::ok)
                .map(|e| {
                    format!(
                        "the agent reported usage #{} of order {}",
                        e.seq, e.order_id
                    )
                }),
            ("Orders", "ContainerExited") => ev
                .decode_fields_as::<orders::ContainerExited>()
                .and_then(Result::ok)
                .map(|e| {
                    format!(
                        "the agent reported order {}'s container exit: {} (restarts so far: {})",
                        e.order_id,
                        format::exit_kind(&e.kind),
                        e.restarts
                    )
                }),
            ("Orders", "ProviderPaid") => ev
                .decode_fields_as::<orders::ProviderPaid>()
                .and_then(Result::ok)
                .map(|e| {
                    format!(
                        "matured usage of order {}: the provider is paid {}",
                        e.order_id,
                        format::tokens(e.amount)
                    )
                }),
            ("Orders", "OrderFailed") => ev
                .decode_fields_as::<orders::OrderFailed>()
                .and_then(Result::ok)
                .map(|e| format!("order {} failed: {:?}", e.order_id, e.reason)),
            ("Orders", "OrderRefunded") => ev
                .decode_fields_as::<orders::OrderRefunded>()
                .and_then(Result::ok)
                .map(|e| {
                    format!(
                        "order {} refunded: {} and {}",
                        e.order_id,
                        format::tokens(e.tokens),
                        format::points(e.points)
                    )
                }),
            _ => None,
        };
        if let Some(text) = text {
            line(n, text);
        }
    }
}
