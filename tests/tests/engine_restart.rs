//! A restart of the chain engine: both daemons reconnect and carry on.
//!
//! This test does not use the suite's shared chain (`KAISAR_WS` is ignored): it starts its own
//! Chopsticks with `scripts/chain chopsticks --port <free port> --db <temp file>`, so that it can
//! stop the engine process and start it again on the same port with the same database (the
//! restarted engine resumes from the latest saved block: same genesis, same blocks, same state).
//!
//! On that chain: three checker operators get a license each (sudo) and delegate to themselves;
//! the provider agent (`kaisar_provider::daemon::run`, in-process, fake GPU backend, real Podman
//! through `podman system service`) registers its worker with its PoPW responder's address as
//! the endpoint, and three checker daemons (`kaisar_checker::run`, in-process, the real HTTP
//! transport) check it there until it is Active (nobody verifies it by sudo). Then the engine is
//! stopped (SIGTERM to its process group) and started again: both daemons notice (connected 0),
//! reconnect (connected 1, one more connection each), and carry on: the agent's next heartbeat
//! and the checkers' next passing verdict land on the restarted engine. Then a user orders a
//! container on the worker and disputes the service: with six more operators' daemons, nine
//! slots are there, and those the re-check draws (not the worker's latest verdict's) are worked
//! by the daemons against the agent like a regular check (a daemon that also holds a regular
//! slot of that epoch sends both checks' transactions together): every drawn slot reveals a
//! pass, the dispute is rejected, the bond goes to the provider and the order runs on.
//!
//! Once the daemons run, the engine builds a block every 3 s (Manual mode and a pump), as a
//! node's block time would: the protocol's windows are counted in blocks, and a block per
//! transaction would use them up in seconds. Skipped, with a message, only where `podman` is
//! not installed.

use std::{
    io::{BufRead, BufReader},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    time::{Duration, Instant},
};

use kaisar_chain_client::{
    kaisar::{self, popw_attestations::events as attest},
    signer::account_of,
    subxt::rpcs::rpc_params,
    subxt_signer::sr25519::Keypair,
    types::*,
    AccountId32, BlockNumber, Client, Signer, H256, UNITS,
};
use kaisar_checker::{
    core::CoreConfig, transport::ExchangeTiming, DaemonConfig, HttpTransport, OperatorKey,
    Transport,
};
use kaisar_e2e::*;
use kaisar_popw::Params;
use kaisar_provider::{config::Config, metrics::Metrics as AgentMetrics};

/// The agent's `test_shape` (m, n, k) with the checkers' chunking.
const SHAPE: Params = Params {
    m: 16,
    n: 16,
    k: 32,
    chunks: 4,
};

/// A Chopsticks started by this test through `scripts/chain` in its own process group (the
/// script, the engine and its helpers): killed on drop.
struct Engine {
    child: Child,
    url: String,
    /// The chain spec `scripts/chain` built (passed again on a restart, so that it is not
    /// rebuilt).
    spec: PathBuf,
}

impl Engine {
    /// `scripts/chain chopsticks --port <port> --db <db> [--spec <spec>]`; waits for its
    /// `KAISAR_WS=` line.
    fn start(port: u16, db: &Path, spec: Option<&Path>, log: &Path) -> Engine {
        let mut cmd = Command::new(workspace_root().join("scripts/chain"));
        cmd.args(["chopsticks", "--port", &port.to_string()])
            .arg("--db")
            .arg(db)
            .arg("--log")
            .arg(log);
        if let Some(spec) = spec {
            cmd.arg("--spec").arg(spec);
        }
        let mut child = cmd
            .current_dir(workspace_root())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run scripts/chain");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let url_tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("KAISAR_WS=") {
                    let _ = url_tx.send(Err(url.to_string()));
                }
            }
        });
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                if let Some((_, path)) = line.split_once("building the chain spec") {
                    if let Some((_, path)) = path.split_once("-> ") {
                        let _ = tx.send(Ok(PathBuf::from(path.trim())));
                    }
                }
            }
        });
        let timeout = std::env::var("KAISAR_E2E_START_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1800u64);
        let deadline = Instant::now() + Duration::from_secs(timeout);
        let mut built = spec.map(Path::to_path_buf);
        let mut engine = Engine {
            child,
            url: String::new(),
            spec: PathBuf::new(),
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Ok(spec)) => built = Some(spec),
                Ok(Err(url)) => {
                    engine.url = url;
                    break;
                }
                Err(_) => panic!("scripts/chain chopsticks did not serve blocks (log: {log:?})"),
            }
        }
        engine.spec = built.expect("scripts/chain names the chain spec it builds");
        engine
    }

    fn signal_group(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }

    /// Stop the engine: SIGTERM to the whole group (the engine dies at once, as on a crash or a
    /// host shutdown; the script's cleanup finds nothing left), SIGKILL after 10 s.
    fn stop(mut self) {
        self.signal_group("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                self.signal_group("-KILL");
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.signal_group("-KILL");
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn seeded(label: &str) -> ([u8; 32], Signer) {
    let seed = sp_crypto_hashing::blake2_256(
        format!("kaisar-e2e/{}/restart/{label}", run_tag()).as_bytes(),
    );
    (seed, Keypair::from_secret_key(seed).expect("valid seed"))
}

/// Build a block whenever none was built for `idle` (the daemons' transactions build theirs),
/// unless `paused`, until `stop`. Connects (again) to `url` whenever the node went away.
fn pump_blocks(
    url: String,
    idle: Duration,
    paused: Arc<AtomicBool>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut client: Option<Client> = None;
        let mut last = 0;
        let mut since = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if paused.load(Ordering::SeqCst) {
                client = None;
                since = tokio::time::Instant::now();
                continue;
            }
            let c = match &client {
                Some(c) => c.clone(),
                None => match Client::connect(&url).await {
                    Ok(c) => {
                        client = Some(c.clone());
                        c
                    }
                    Err(_) => continue,
                },
            };
            let Ok(now) = c.best_number().await else {
                client = None;
                continue;
            };
            if now != last {
                last = now;
                since = tokio::time::Instant::now();
            } else if since.elapsed() >= idle {
                if c.advance_blocks(1).await.is_err() {
                    client = None;
                }
                since = tokio::time::Instant::now();
            }
        }
    });
}

/// Make the engine build blocks only when asked (`dev_newBlock`: the pump).
async fn manual_blocks(client: &Client) {
    client
        .rpc_request::<serde_json::Value>("dev_setBlockBuildMode", rpc_params!["Manual"])
        .await
        .unwrap();
}

/// Wait (blocks being pumped) until `done` holds, at most `blocks` blocks from now.
async fn wait_until<F, Fut>(client: &Client, blocks: BlockNumber, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = client.best_number().await.unwrap() + blocks;
    loop {
        if done().await {
            return;
        }
        let now = client.best_number().await.unwrap();
        assert!(now <= until, "{what}: not done by block {until}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Poll `done` every 100 ms until it holds (deadline `secs`).
async fn within(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn block_hash(client: &Client, n: BlockNumber) -> Option<H256> {
    client
        .rpc_request("chain_getBlockHash", rpc_params![n])
        .await
        .unwrap()
}

/// A checker daemon (`kaisar_checker::run`, in-process) for the operator with this seed,
/// reaching the worker over HTTP; its state in `<dir>/checker<i>`.
fn spawn_checker(
    url: &str,
    dir: &Path,
    i: usize,
    seed: &[u8; 32],
    transport: &Arc<dyn Transport>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> (
    tokio::task::JoinHandle<anyhow::Result<()>>,
    Arc<kaisar_checker::Metrics>,
) {
    let m = Arc::new(kaisar_checker::Metrics::default());
    let config = DaemonConfig {
        chain_url: url.to_string(),
        state_dir: dir.join(format!("checker{i}")),
        // The agent follows blocks faster than the checkers: it has read an epoch's challenge
        // randomness when they challenge (it refuses challenges before that; its reads take a
        // second or more here).
        poll_interval: Duration::from_millis(3000),
        reconnect_after_failures: 3,
        core: CoreConfig {
            // A CPU cannot meet the model's calibrated speed: rows are judged, timing not.
            judge_timing: false,
            shape: Some(SHAPE),
            openings: 16,
            timing: ExchangeTiming {
                ping_interval: Duration::from_millis(200),
                request_timeout: Duration::from_secs(5),
                // The checkers take turns on the worker's one GPU: up to six challenges of an
                // epoch (a regular check's and a re-check's) queue there on a loaded host.
                accept_retry_for: Duration::from_secs(30),
                ..ExchangeTiming::default()
            },
            ..CoreConfig::default()
        },
    };
    let key = OperatorKey::from_secret(&format!("0x{}", hex::encode(seed))).unwrap();
    let task = tokio::spawn(kaisar_checker::run(
        config,
        key,
        transport.clone(),
        m.clone(),
        stop.clone(),
    ));
    (task, m)
}

/// The `RecheckConcluded` event of `worker` in blocks `from..=to`.
async fn recheck_concluded(
    client: &Client,
    from: BlockNumber,
    to: BlockNumber,
    worker: u64,
) -> attest::RecheckConcluded {
    for n in from..=to {
        let hash = block_hash(client, n).await.expect("a block the chain has");
        let events = client
            .at(hash)
            .await
            .unwrap()
            .events()
            .fetch()
            .await
            .unwrap();
        for ev in events.iter().flatten() {
            if (ev.pallet_name(), ev.event_name()) != ("PopwAttestations", "RecheckConcluded") {
                continue;
            }
            let e = ev
                .decode_fields_as::<attest::RecheckConcluded>()
                .expect("fields")
                .expect("decodes");
            if e.worker == worker {
                return e;
            }
        }
    }
    panic!("no RecheckConcluded for worker {worker} in blocks {from}..={to}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_daemons_reconnect_to_a_restarted_chain_engine_and_carry_on() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,kaisar_provider=debug,kaisar_checker=debug")
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let agent_name = format!("e2e-restart-{}", run_tag());
    let Some(podman) = Podman::start(dir.path(), &agent_name) else {
        return;
    };
    let _serial = serial().await;

    // The test's own engine, its blocks and state in a database file.
    let port = free_port();
    let db = dir.path().join("chain.db");
    let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let log = |n: u32| logs.join(format!("engine-restart-{port}-{n}.log"));
    // `KAISAR_E2E_CHAIN_SPEC`: a chain spec to use instead of building one.
    let spec = std::env::var_os("KAISAR_E2E_CHAIN_SPEC").map(PathBuf::from);
    let engine = tokio::task::block_in_place(|| Engine::start(port, &db, spec.as_deref(), &log(1)));
    let url = engine.url.clone();
    let client = Client::connect(&url).await.unwrap();
    let alice = key("alice");
    let len: BlockNumber = client
        .fetch(kaisar::storage().checker_licenses().epoch_length(), ())
        .await
        .unwrap()
        .expect("epoch length");

    // Nine checker operators get a license each (governance) while the engine still builds a
    // block per transaction; the first three delegate theirs to themselves now, the other six
    // before the dispute (an undelegated license has no slot).
    let mut operators = Vec::new();
    for i in 0..9 {
        let (seed, signer) = seeded(&format!("checker{i}"));
        fund(&client, &key("ferdie"), &account_of(&signer), 10 * UNITS).await;
        let license = granted_license(&client, &alice, &account_of(&signer)).await;
        if i < 3 {
            self_delegate(&client, &signer, license).await;
        }
        operators.push((seed, signer, license));
    }

    // The provider agent: it registers its worker with its responder's address as the endpoint.
    let (agent_seed, agent) = seeded("agent");
    let (provider_seed, provider) = seeded("provider");
    let agent_id: AccountId32 = account_of(&agent);
    write_key_file(&dir.path().join("agent.key"), &agent_seed);
    write_key_file(&dir.path().join("provider.key"), &provider_seed);
    fund(&client, &alice, &account_of(&provider), 200 * UNITS).await;
    fund(&client, &alice, &agent_id, 10 * UNITS).await;
    // The user who orders and disputes later.
    let (_, user) = seeded("user");
    let user_id = account_of(&user);
    fund(&client, &alice, &user_id, 100 * UNITS).await;
    write_gpu_fixture(&dir.path().join("gpus.json"), "restart");
    let responder_port = free_port();
    let config = Config::parse(&format!(
        r#"
[agent]
key_file = "{dir}/agent.key"
[gpu]
backend = "fake"
fixture = "{dir}/gpus.json"
[containers]
socket = "{socket}"
agent_name = "{agent_name}"
[responder]
listen = "127.0.0.1:{responder_port}"
test_shape = {{ m = {m}, n = {n}, k = {k} }}
[chain]
url = "{url}"
state_dir = "{dir}/state"
public_host = "127.0.0.1"
heartbeat_every_blocks = 20
poll_interval_ms = 100
reconnect_max_backoff_secs = 2
[registration]
provider_key_file = "{dir}/provider.key"
endpoint = "http://127.0.0.1:{responder_port}"
region = "eu-west"
price_per_gpu_hour = "{price}"
cpu_cores = 8
ram_mib = 16384
disk_gib = 100
"#,
        dir = dir.path().display(),
        socket = podman.socket.display(),
        m = SHAPE.m,
        n = SHAPE.n,
        k = SHAPE.k,
        price = UNITS,
    ))
    .unwrap();
    // From here on the engine builds blocks only when asked (Manual): one every 3 s from the
    // pump, holding every transaction that arrived meanwhile, as a node's block time would. With
    // a block per transaction, the daemons' and the test's own transactions would use up the
    // protocol's windows (counted in blocks: five each on the dev chain) in seconds.
    manual_blocks(&client).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let paused = Arc::new(AtomicBool::new(false));
    pump_blocks(
        url.clone(),
        // Longer than Chopsticks takes to build a block here.
        Duration::from_secs(3),
        paused.clone(),
        stop_rx.clone(),
    );
    let agent_metrics = Arc::new(AgentMetrics::default());
    let (agent_stop, agent_stopped) = tokio::sync::oneshot::channel::<()>();
    let agent_task = tokio::spawn({
        let m = agent_metrics.clone();
        async move {
            let stop = async move {
                let _ = agent_stopped.await;
            };
            kaisar_provider::daemon::run(&config, stop, m).await
        }
    });

    // The first three operators' checker daemons, reaching the worker over HTTP at its
    // registered endpoint.
    let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(Duration::from_secs(10)));
    let mut checkers = Vec::new();
    let mut checker_metrics = Vec::new();
    for (i, (seed, _, _)) in operators.iter().enumerate().take(3) {
        let (task, m) = spawn_checker(&url, dir.path(), i, seed, &transport, &stop_rx);
        checkers.push(task);
        checker_metrics.push(m);
    }

    // The agent registers and heartbeats; the checkers make the worker Active.
    let until = client.best_number().await.unwrap() + 2 * len;
    let worker_id = loop {
        if let Some(id) = client.worker_of_agent(&agent_id).await.unwrap() {
            break id;
        }
        assert!(
            client.best_number().await.unwrap() <= until,
            "the agent did not register by block {until}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let state = |c: Client| async move {
        c.fetch(
            kaisar::storage().popw_attestations().worker_states(),
            (worker_id,),
        )
        .await
        .unwrap()
    };
    wait_until(&client, 4 * len, "the worker becomes Active", || {
        let c = client.clone();
        async move { c.worker(worker_id).await.unwrap().unwrap().status == WorkerStatus::Active }
    })
    .await;
    let passed = state(client.clone())
        .await
        .and_then(|s| s.last_passed)
        .expect("a passing verdict");
    assert_eq!(agent_metrics.connections.load(Ordering::Relaxed), 1);
    assert_eq!(agent_metrics.chain_connected.load(Ordering::Relaxed), 1);
    let mut passes = Vec::new();
    for m in &checker_metrics {
        assert_eq!(m.connections(), 1, "{}", m.render());
        assert!(m.connected());
        assert!(m.checks("pass") >= 1, "{}", m.render());
        passes.push(m.checks("pass"));
    }
    let heartbeats = agent_metrics.heartbeats.load(Ordering::Relaxed);

    // Quiet: no block asked for, none built for 3 s (a block is saved just after it is
    // announced): then the engine is stopped (transactions still in its pool are lost with it,
    // as on a crash: the daemons submit theirs again).
    paused.store(true, Ordering::SeqCst);
    let mut best = (client.best_number().await.unwrap(), Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = client.best_number().await.unwrap();
        if now != best.0 {
            best = (now, Instant::now());
        } else if best.1.elapsed() >= Duration::from_secs(3) {
            break;
        }
    }
    let stopped_at = best.0;
    let stopped_hash = block_hash(&client, stopped_at).await.unwrap();
    let genesis = client.genesis_hash();
    let spec = engine.spec.clone();
    let down = Instant::now();
    tokio::task::block_in_place(|| engine.stop());
    eprintln!("e2e: engine stopped at block #{stopped_at}");

    // Both daemons notice.
    within(60, "the daemons to notice the engine's stop", || {
        agent_metrics.chain_connected.load(Ordering::Relaxed) == 0
            && checker_metrics.iter().all(|m| !m.connected())
    })
    .await;

    // The engine again, same port, same database: the same chain where it stopped.
    let engine = tokio::task::block_in_place(|| Engine::start(port, &db, Some(&spec), &log(2)));
    assert_eq!(engine.url, url);
    eprintln!(
        "e2e: engine back after {:.1} s",
        down.elapsed().as_secs_f64()
    );
    let client = Client::connect(&url).await.unwrap();
    // It starts building a block per transaction again.
    manual_blocks(&client).await;
    assert_eq!(client.genesis_hash(), genesis, "the genesis changed");
    assert!(client.best_number().await.unwrap() >= stopped_at);
    assert_eq!(
        block_hash(&client, stopped_at).await,
        Some(stopped_hash),
        "the restarted engine lost blocks"
    );
    assert_eq!(
        client.worker(worker_id).await.unwrap().unwrap().status,
        WorkerStatus::Active
    );
    assert_eq!(
        state(client.clone()).await.and_then(|s| s.last_passed),
        Some(passed)
    );
    paused.store(false, Ordering::SeqCst);

    // Both daemons reconnect ...
    within(120, "the daemons' reconnection", || {
        agent_metrics.chain_connected.load(Ordering::Relaxed) == 1
            && agent_metrics.connections.load(Ordering::Relaxed) == 2
            && checker_metrics
                .iter()
                .all(|m| m.connected() && m.connections() == 2)
    })
    .await;

    // ... and carry on: the agent heartbeats, the checkers pass the worker in a later epoch.
    wait_until(&client, 2 * len, "a heartbeat after the restart", || {
        let c = client.clone();
        async move { c.worker(worker_id).await.unwrap().unwrap().last_heartbeat > stopped_at }
    })
    .await;
    // The agent counts a heartbeat once its submission returns, which can be after the block
    // that holds it is visible here (or, if that submission's watch broke in the reconnection,
    // at its next heartbeat).
    wait_until(&client, 2 * len, "the agent counting a heartbeat", || {
        let counted = agent_metrics.heartbeats.load(Ordering::Relaxed) > heartbeats;
        async move { counted }
    })
    .await;
    wait_until(&client, 3 * len, "a pass after the restart", || {
        let c = client.clone();
        async move {
            state(c)
                .await
                .and_then(|s| s.last_passed)
                .is_some_and(|e| e > passed && e > stopped_at / len)
        }
    })
    .await;
    let s = state(client.clone()).await.unwrap();
    assert_eq!(s.consecutive_failures, 0);
    for (m, before) in checker_metrics.iter().zip(passes) {
        assert!(m.checks("pass") > before, "{}", m.render());
    }
    assert_eq!(
        client.worker(worker_id).await.unwrap().unwrap().status,
        WorkerStatus::Active
    );

    // A user's dispute, re-checked by the daemons. The six other operators delegate their
    // licenses and start daemons (nine slots from the next epoch), so that slots other than
    // those of the worker's latest verdict are there to draw. The user orders a container on
    // the worker (the agent runs it and accepts) and disputes the service; the re-check's
    // slots, drawn from the next epoch's seed, are worked by the daemons against the agent's
    // responder like a regular check's (commit, challenge, seal, reveal). A daemon drawn for
    // the worker's regular check and its re-check in one epoch submits both protocols'
    // transactions together (consecutive nonces): every drawn slot reveals.
    let delegations = operators[3..].iter().map(|(_, signer, license)| {
        let (client, signer, license) = (client.clone(), signer.clone(), *license);
        tokio::spawn(async move { self_delegate(&client, &signer, license).await })
    });
    for d in delegations.collect::<Vec<_>>() {
        d.await.unwrap();
    }
    for (i, (seed, _, _)) in operators.iter().enumerate().skip(3) {
        let (task, m) = spawn_checker(&url, dir.path(), i, seed, &transport, &stop_rx);
        checkers.push(task);
        checker_metrics.push(m);
    }
    let image_dir = tempfile::tempdir().unwrap();
    let image = tokio::task::block_in_place(|| build_image(image_dir.path(), "kaisar-e2e-restart"));
    let mut spec = order_spec(worker_id, GpuModel::H100Sxm, 1, 600, UNITS);
    spec.image = BoundedVec(image.into_bytes());
    spec.ports = BoundedVec(vec![8080]);
    spec.user_public_key = kaisar_cli::access::AccessKeyPair::generate().public_key();
    let (placed, _) = place_order(&client, &user, spec, 0).await;
    let order_id = placed.order_id;
    let running = |c: Client| async move {
        matches!(
            c.order(order_id).await.unwrap().unwrap().status,
            OrderStatus::Running { .. }
        )
    };
    wait_until(&client, len, "the agent accepts the order", || {
        running(client.clone())
    })
    .await;
    let disputed = ok(
        &client,
        "dispute",
        &kaisar::tx().popw_attestations().dispute(order_id),
        &user,
    )
    .await;
    let dispute = disputed.expect_event::<attest::ServiceDisputed>().unwrap();
    assert_eq!(dispute.worker, worker_id);
    wait_until(
        &client,
        3 * len,
        "the daemons conclude the re-check",
        || {
            let c = client.clone();
            async move {
                c.fetch(
                    kaisar::storage().popw_attestations().rechecks(),
                    (worker_id,),
                )
                .await
                .unwrap()
                .is_none()
            }
        },
    )
    .await;
    let concluded = recheck_concluded(
        &client,
        disputed.block_number,
        client.best_number().await.unwrap(),
        worker_id,
    )
    .await;
    eprintln!("e2e: the dispute's re-check: {concluded:?}");
    assert_eq!(concluded.epoch, dispute.recheck_epoch);
    assert!(concluded.assigned >= 1, "{concluded:?}");
    assert_eq!(
        (concluded.revealed, concluded.passes),
        (concluded.assigned, concluded.assigned),
        "every drawn re-check slot revealed a pass: {concluded:?}"
    );
    // Passed: the dispute is rejected, the bond goes to the provider, the order runs on.
    use kaisar::runtime_types::pallet_popw_attestations::types::RecheckResult;
    assert!(
        matches!(concluded.result, RecheckResult::Rejected),
        "{concluded:?}"
    );
    assert_eq!(concluded.bond, dispute.bond);
    assert_eq!(concluded.bond_to, account_of(&provider));
    assert_eq!(
        client.held(&user_id, &dispute_bond_hold()).await.unwrap(),
        0,
        "the bond left the user's hold"
    );
    assert!(running(client.clone()).await, "the order runs on");

    // Stop the daemons cleanly, then the engine.
    stop_tx.send(true).unwrap();
    let _ = agent_stop.send(());
    for c in checkers {
        tokio::time::timeout(Duration::from_secs(150), c)
            .await
            .expect("a checker stops")
            .unwrap()
            .expect("a checker stops cleanly");
    }
    tokio::time::timeout(Duration::from_secs(60), agent_task)
        .await
        .expect("the agent stops")
        .unwrap()
        .expect("the agent stops cleanly");
    assert_chain_consistent(&client).await;
    drop(engine);
}
