//! The provider agent (`kaisar_provider::daemon::run`, in-process) against the chain, with the
//! fake GPU backend and real containers through Podman (an image the test builds: a
//! `gcc -static` HTTP server in a `FROM scratch` image). Skipped, with a message, only where
//! `podman` is not installed.
//!
//! Governance verifies the worker with sudo (the checker daemons are not part of this test).

use kaisar_chain_client::{
    kaisar, kaisar::runtime_types::pallet_orders::types::ExitKind, signer::account_of,
    subxt::rpcs::rpc_params, subxt_signer::sr25519::Keypair, types::*, AccountId32, Client, Engine,
    UNITS,
};
use kaisar_cli::access::AccessKeyPair;
use kaisar_e2e::*;
use kaisar_provider::agent::AccessDetails;
use kaisar_provider::config::Config;
use kaisar_provider::containers::{AgentContainer, ContainerRuntime};
use kaisar_provider::metrics::Metrics;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// HTTP GET `path` on `127.0.0.1:port` until it answers 200 (deadline 30 s): the body.
async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = async {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
                .await?;
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await?;
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf).into_owned())
        };
        if let Ok(Ok(resp)) = tokio::time::timeout(Duration::from_secs(2), attempt).await {
            if resp.starts_with("HTTP/1.0 200") {
                return resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
            }
        }
        assert!(Instant::now() < deadline, "nothing answered on port {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP proxy to the node that the test can cut (every connection dropped, new ones refused)
/// and restore: the node "goes away" for the agent only.
struct NodeProxy {
    port: u16,
    open: Arc<std::sync::atomic::AtomicBool>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl NodeProxy {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let connections = Arc::new(std::sync::Mutex::new(Vec::<tokio::task::AbortHandle>::new()));
        let upstream = upstream
            .trim_start_matches("ws://")
            .trim_end_matches('/')
            .to_string();
        let accept = tokio::spawn({
            let open = open.clone();
            let connections = connections.clone();
            async move {
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else {
                        return;
                    };
                    if !open.load(Ordering::SeqCst) {
                        continue; // dropped: refused
                    }
                    let upstream = upstream.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    connections.lock().unwrap().push(task.abort_handle());
                }
            }
        });
        Self {
            port,
            open,
            connections,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for c in self.connections.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for NodeProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// Poll `f` every 200 ms until it returns `Some` (deadline `secs`).
async fn until<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many transactions of `who` the node's pool holds that the chain does not show yet.
async fn in_pool(client: &Client, who: &AccountId32) -> u64 {
    let next = client.next_nonce(who).await.unwrap();
    next.saturating_sub(u64::from(client.account(who).await.unwrap().nonce))
}

/// Wait until no transaction of `who` waits in the pool (those of a killed agent land).
async fn settled(client: &Client, who: &AccountId32) {
    until(
        "the pool to be clear of the agent's transactions",
        60,
        || async { (in_pool(client, who).await == 0).then_some(()) },
    )
    .await
}

/// Chopsticks builds blocks only when asked (`dev_newBlock`) until this is dropped; then again
/// one per transaction (`Instant`, the shared chain's mode). Dropping restores it even when the
/// test panics, so that the tests after this one on the shared chain still get blocks.
struct ManualBlocks {
    url: String,
}

impl ManualBlocks {
    async fn start(client: &Client) -> Self {
        client
            .rpc_request::<serde_json::Value>("dev_setBlockBuildMode", rpc_params!["Manual"])
            .await
            .unwrap();
        Self { url: chain_url() }
    }
}

impl Drop for ManualBlocks {
    fn drop(&mut self) {
        let url = self.url.clone();
        // Drop cannot await: a thread with a runtime of its own sets the mode back.
        let restored = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                Client::connect(&url)
                    .await?
                    .rpc_request::<serde_json::Value>(
                        "dev_setBlockBuildMode",
                        rpc_params!["Instant"],
                    )
                    .await
            })
        })
        .join();
        if !matches!(restored, Ok(Ok(_))) && !std::thread::panicking() {
            panic!("could not set the chain's block mode back to Instant: {restored:?}");
        }
    }
}

fn spawn_agent(config: &Config) -> (tokio::task::JoinHandle<anyhow::Result<()>>, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::default());
    let config = config.clone();
    let m = metrics.clone();
    let handle = tokio::spawn(async move {
        kaisar_provider::daemon::run(&config, std::future::pending(), m).await
    });
    (handle, metrics)
}

async fn kill(handle: tokio::task::JoinHandle<anyhow::Result<()>>) {
    assert!(
        !handle.is_finished(),
        "the agent stopped: {:?}",
        handle.await
    );
    handle.abort();
    let _ = handle.await;
}

async fn order_of(client: &Client, id: u64) -> Order {
    client.order(id).await.unwrap().expect("order exists")
}

fn last_seq(order: &Order) -> u32 {
    match order.status {
        OrderStatus::Running {
            last_report_seq, ..
        } => last_report_seq,
        ref other => panic!("order not Running: {other:?}"),
    }
}

async fn containers_of(runtime: &ContainerRuntime, order: u64) -> Vec<AgentContainer> {
    runtime
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.order_id == Some(order))
        .collect()
}

/// Registration by the agent itself → order accepted with a container the user reaches with
/// the sealed access details → usage reported and paid as it matures → the container exits
/// with code 7: reported, restarted → the agent is killed and restarted twice (once with the
/// container still running, once with it gone): reconciled, same token and port, one container,
/// reports continue at the next seq without a failed (duplicate) transaction; the node goes
/// away and comes back: the agent reconnects and carries on → the user
/// cancels: the container is removed → an order for an image the host lacks fails with a typed
/// `ImageUnavailable` exit the user sees (refunded in full).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_agent_registers_serves_reports_and_reconciles_after_restarts() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,kaisar_provider=debug")
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let agent_name = format!("e2e-{}", run_tag());
    let Some(podman) = Podman::start(dir.path(), &agent_name) else {
        return;
    };
    let image_dir = tempfile::tempdir().unwrap();
    let image = build_image(image_dir.path(), "kaisar-e2e-agent");
    let _serial = serial().await;
    let client = connect().await;

    // Keys: seeds unique to this run, in 0600 files.
    let agent_seed = sp_crypto_hashing::blake2_256(format!("{}-agent", run_tag()).as_bytes());
    let provider_seed = sp_crypto_hashing::blake2_256(format!("{}-provider", run_tag()).as_bytes());
    let agent = Keypair::from_secret_key(agent_seed).unwrap();
    let provider = Keypair::from_secret_key(provider_seed).unwrap();
    let agent_id: AccountId32 = account_of(&agent);
    write_key_file(&dir.path().join("agent.key"), &agent_seed);
    write_key_file(&dir.path().join("provider.key"), &provider_seed);
    fund(&client, &key("alice"), &account_of(&provider), 200 * UNITS).await;
    fund(&client, &key("alice"), &agent_id, 10 * UNITS).await;
    write_gpu_fixture(&dir.path().join("gpus.json"), "agent");

    let price = UNITS;
    // The agent reaches the node through a proxy the test can cut.
    let proxy = NodeProxy::start(chain_url()).await;
    let config_text = format!(
        r#"
[agent]
key_file = "{dir}/agent.key"
[gpu]
backend = "fake"
fixture = "{dir}/gpus.json"
[containers]
socket = "{socket}"
agent_name = "{agent_name}"
default_cpus = 0.5
default_memory_mib = 64
stop_grace_secs = 2
[responder]
listen = "127.0.0.1:0"
test_shape = {{ m = 16, n = 16, k = 32 }}
[chain]
url = "{url}"
state_dir = "{dir}/state"
public_host = "127.0.0.1"
heartbeat_every_blocks = 10
usage_report_every_blocks = 5
max_restarts = 1
poll_interval_ms = 200
[registration]
provider_key_file = "{dir}/provider.key"
endpoint = "http://127.0.0.1:9955"
region = "eu-west"
price_per_gpu_hour = "{price}"
cpu_cores = 8
ram_mib = 16384
disk_gib = 100
"#,
        dir = dir.path().display(),
        socket = podman.socket.display(),
        url = proxy.url(),
    );
    let config = Config::parse(&config_text).unwrap();
    let runtime = ContainerRuntime::connect(config.containers.clone().unwrap())
        .await
        .unwrap();

    // 1. The agent registers its worker (paid by the provider key) and heartbeats.
    let (agent_task, _metrics) = spawn_agent(&config);
    let worker_id = until("the worker's registration", 120, || async {
        client.worker_of_agent(&agent_id).await.unwrap()
    })
    .await;
    let worker = client.worker(worker_id).await.unwrap().unwrap();
    assert_eq!(worker.provider, account_of(&provider));
    assert_eq!(worker.spec.gpus.0.len(), 1);
    assert_eq!(worker.spec.gpus.0[0].model, GpuModel::H100Sxm);
    assert_eq!(
        worker.spec.gpus.0[0].uuid_hash,
        gpu_uuid_hash_of("agent-gpu0")
    );
    // The rest of the registration comes from the agent's `[registration]` config.
    assert_eq!(worker.spec.region.0, b"eu-west".to_vec());
    assert_eq!(worker.spec.endpoint.0, b"http://127.0.0.1:9955".to_vec());
    assert_eq!(worker.spec.price_per_gpu_hour, price);
    assert_eq!(
        (
            worker.spec.cpu_cores,
            worker.spec.ram_mib,
            worker.spec.disk_gib
        ),
        (8, 16384, 100)
    );
    until("the first heartbeat", 60, || async {
        let w = client.worker(worker_id).await.unwrap().unwrap();
        (w.last_heartbeat > w.registered_at).then_some(())
    })
    .await;
    verify(&client, worker_id).await;

    // 2. A user orders with a fresh x25519 key; the agent runs the container and accepts.
    let user = fresh_key("//Charlie//agent-user");
    let user_id = account_of(&user);
    fund(&client, &key("charlie"), &user_id, 100 * UNITS).await;
    let keys = AccessKeyPair::generate();
    let mut spec = order_spec(worker_id, GpuModel::H100Sxm, 1, 600, price);
    spec.image = BoundedVec(image.clone().into_bytes());
    spec.ports = BoundedVec(vec![8080]);
    spec.user_public_key = keys.public_key();
    let (placed, _) = place_order(&client, &user, spec, 0).await;
    let order_id = placed.order_id;
    let started_at = until("the order's acceptance", 120, || async {
        match order_of(&client, order_id).await.status {
            OrderStatus::Running { started_at, .. } => Some(started_at),
            _ => None,
        }
    })
    .await;

    // The user opens the access details and reaches the container with the token.
    let blob = client.access_blob(order_id).await.unwrap().unwrap();
    let details: AccessDetails = serde_json::from_slice(&keys.open(&blob).unwrap()).unwrap();
    assert_eq!(details.order_id, order_id);
    assert_eq!(details.host, "127.0.0.1");
    assert_eq!(details.ports.len(), 1);
    assert_eq!(details.ports[0].container, 8080);
    let host_port = details.ports[0].host;
    assert_eq!(http_get(host_port, "/").await, details.token);
    // Nobody else opens them.
    assert!(AccessKeyPair::generate().open(&blob).is_err());
    let first_container = containers_of(&runtime, order_id).await;
    assert_eq!(first_container.len(), 1);
    assert_eq!(first_container[0].gpu_uuids.len(), 1);

    // 3. Usage is reported every 5 blocks, then paid once it matured.
    client.advance_blocks(5).await.unwrap();
    until("the first usage report", 60, || async {
        (last_seq(&order_of(&client, order_id).await) >= 1).then_some(())
    })
    .await;
    let delay: u32 = client
        .fetch(kaisar::storage().orders().maturity_delay(), ())
        .await
        .unwrap()
        .unwrap_or_default();
    client.advance_blocks(delay + 1).await.unwrap();
    until("a matured period paid", 60, || async {
        let o = order_of(&client, order_id).await;
        (o.paid_so_far > 0).then_some(())
    })
    .await;
    let o = order_of(&client, order_id).await;
    assert!(o.paid_so_far < o.total_cost);

    // 4. The container exits with code 7: the user sees it; the agent restarts it (same token,
    //    same port).
    assert_eq!(http_get(host_port, "/exit7").await, "bye");
    until("the container's exit", 30, || async {
        let c = containers_of(&runtime, order_id).await;
        (c.len() == 1 && !c[0].running).then_some(())
    })
    .await;
    client.advance_blocks(1).await.unwrap();
    let records = until("the exit record", 60, || async {
        client
            .fetch(kaisar::storage().orders().exit_records(), (order_id,))
            .await
            .unwrap()
            .filter(|r| !r.0.is_empty())
    })
    .await;
    assert_eq!(records.0[0].kind, ExitKind::Exited { code: 7 });
    assert_eq!(records.0[0].restarts, 0);
    assert!(matches!(
        order_of(&client, order_id).await.status,
        OrderStatus::Running { .. }
    ));
    assert_eq!(http_get(host_port, "/").await, details.token);
    let running = until("the restarted container", 30, || async {
        let c = containers_of(&runtime, order_id).await;
        (c.len() == 1 && c[0].running).then(|| c[0].clone())
    })
    .await;
    assert_ne!(running.id, first_container[0].id);

    // 5. kill the agent mid-order; restart it: the same container, reports at the next seq.
    //    On Chopsticks the kill comes while a transaction of the agent waits in the pool (blocks
    //    are built only on request meanwhile): the restarted agent waits for it to land instead
    //    of deciding from a chain that does not show it (which would send the report again, a
    //    failed duplicate). A node builds blocks by time: there the kill lands wherever it does.
    settled(&client, &agent_id).await;
    let (agent_task, metrics, seq_before) = if client.engine().await.unwrap() == Engine::Chopsticks
    {
        let manual = ManualBlocks::start(&client).await;
        // A block at a time, each given a few seconds, until the agent's next transaction (its
        // report or heartbeat is due every 5 and 10 blocks) waits in the pool.
        let mut caught = false;
        for _ in 0..20 {
            client.advance_blocks(1).await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline && !caught {
                caught = in_pool(&client, &agent_id).await > 0;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if caught {
                break;
            }
        }
        assert!(caught, "no transaction of the agent caught in the pool");
        let seq_before = last_seq(&order_of(&client, order_id).await);
        kill(agent_task).await;
        let (agent_task, metrics) = spawn_agent(&config);
        until("the restarted agent to wait for the pool", 60, || async {
            (metrics.pool_waits.load(Ordering::Relaxed) >= 1).then_some(())
        })
        .await;
        assert_eq!(last_seq(&order_of(&client, order_id).await), seq_before);
        // One block at a time until the report is in (the killed agent's, or the restarted
        // one's once the pool is clear): at most one report per five blocks.
        for _ in 0..4 {
            if last_seq(&order_of(&client, order_id).await) > seq_before {
                break;
            }
            client.advance_blocks(1).await.unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        drop(manual);
        // Whatever the agent sent meanwhile lands now.
        client.advance_blocks(1).await.unwrap();
        (agent_task, metrics, seq_before)
    } else {
        kill(agent_task).await;
        settled(&client, &agent_id).await;
        let seq_before = last_seq(&order_of(&client, order_id).await);
        client.advance_blocks(5).await.unwrap();
        let (agent_task, metrics) = spawn_agent(&config);
        (agent_task, metrics, seq_before)
    };
    until("the report after the restart", 60, || async {
        (last_seq(&order_of(&client, order_id).await) == seq_before + 1).then_some(())
    })
    .await;
    assert_eq!(metrics.tx_failures.load(Ordering::Relaxed), 0);
    let after = containers_of(&runtime, order_id).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].id, running.id, "the running container was kept");
    assert_eq!(http_get(host_port, "/").await, details.token);

    // The node goes away for the agent: it notices, reconnects with backoff once the node is
    // back, and carries on (the next report at the next seq; no failed transaction but, at most,
    // the one it was submitting when the node went away, which it sends again).
    assert_eq!(metrics.connections.load(Ordering::Relaxed), 1);
    proxy.cut();
    until("the agent to notice the lost node", 30, || async {
        (metrics.chain_connected.load(Ordering::Relaxed) == 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        metrics.connections.load(Ordering::Relaxed),
        1,
        "no connection while cut"
    );
    proxy.restore();
    until("the reconnection", 60, || async {
        (metrics.chain_connected.load(Ordering::Relaxed) == 1).then_some(())
    })
    .await;
    assert_eq!(metrics.connections.load(Ordering::Relaxed), 2);
    let cut_failures = metrics.tx_failures.load(Ordering::Relaxed);
    assert!(
        cut_failures <= 1,
        "{cut_failures} transactions failed while the node was away"
    );
    client.advance_blocks(5).await.unwrap();
    until("the report after the reconnection", 60, || async {
        (last_seq(&order_of(&client, order_id).await) == seq_before + 2).then_some(())
    })
    .await;

    // 6. kill it again and lose the container: the restarted agent starts it again with the
    //    same token on the same port.
    kill(agent_task).await;
    assert_eq!(metrics.tx_failures.load(Ordering::Relaxed), cut_failures);
    runtime.stop_and_remove(&running.id).await.unwrap();
    settled(&client, &agent_id).await;
    let seq_before = last_seq(&order_of(&client, order_id).await);
    let (agent_task, metrics) = spawn_agent(&config);
    client.advance_blocks(1).await.unwrap();
    let restored = until("the restored container", 60, || async {
        let c = containers_of(&runtime, order_id).await;
        (c.len() == 1 && c[0].running).then(|| c[0].clone())
    })
    .await;
    assert_ne!(restored.id, running.id);
    assert_eq!(http_get(host_port, "/").await, details.token);
    until("the report after the second restart", 60, || async {
        (last_seq(&order_of(&client, order_id).await) == seq_before + 1).then_some(())
    })
    .await;
    assert!(matches!(
        order_of(&client, order_id).await.status,
        OrderStatus::Running { .. }
    ));
    // The chain shows the report a moment before the agent's submission returns.
    until("the report counted by the agent", 30, || async {
        (metrics.usage_reports.load(Ordering::Relaxed) >= 1).then_some(())
    })
    .await;

    // 7. The user cancels: the agent removes the container.
    ok(
        &client,
        "cancel_order",
        &kaisar::tx().orders().cancel_order(order_id),
        &user,
    )
    .await;
    until("the container's removal", 60, || async {
        containers_of(&runtime, order_id)
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    assert_eq!(metrics.tx_failures.load(Ordering::Relaxed), 0);
    until("the removal counted by the agent", 30, || async {
        (metrics.containers_removed.load(Ordering::Relaxed) >= 1).then_some(())
    })
    .await;

    // 8. An order for an image the host does not have fails at its first start: the agent
    //    reports `ImageUnavailable` on the Pending order (the user sees it in the exit
    //    records), and the order fails as a service failure, refunded in full.
    let mut spec = order_spec(worker_id, GpuModel::H100Sxm, 1, 600, price);
    spec.image = BoundedVec(b"localhost/kaisar-e2e-missing:none".to_vec());
    spec.ports = BoundedVec(vec![8080]);
    spec.user_public_key = keys.public_key();
    let (placed, _) = place_order(&client, &user, spec, 0).await;
    let missing = placed.order_id;
    until("the failure before start", 60, || async {
        matches!(
            order_of(&client, missing).await.status,
            OrderStatus::Failed {
                reason: FailureReason::ServiceFailed,
                ..
            }
        )
        .then_some(())
    })
    .await;
    let records = client
        .fetch(kaisar::storage().orders().exit_records(), (missing,))
        .await
        .unwrap()
        .map(|r| r.0)
        .unwrap_or_default();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].kind, ExitKind::ImageUnavailable);
    assert_eq!(records[0].restarts, 0);
    assert!(containers_of(&runtime, missing).await.is_empty());
    until("the failure counted", 30, || async {
        (metrics.orders_rejected.load(Ordering::Relaxed) == 1).then_some(())
    })
    .await;
    kill(agent_task).await;
    // No agent serves the worker any more: take it out of matching for later tests.
    ok(
        &client,
        "pause_worker",
        &kaisar::tx().worker_registry().pause_worker(worker_id),
        &provider,
    )
    .await;
    assert_chain_consistent(&client).await;
    let _ = started_at;
}
