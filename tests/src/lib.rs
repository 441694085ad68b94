//! # kaisar-e2e: end-to-end test harness
//!
//! The tests in `tests/` send real signed transactions to a running Kaisar chain and check
//! events, storage and balances. Where the chain comes from:
//!
//! - `KAISAR_WS=ws://...` in the environment: that chain (what `scripts/e2e` does);
//! - otherwise each test binary starts one chain for all its tests with
//!   `scripts/chain $KAISAR_E2E_ENGINE --port <free port>` (engine `chopsticks` by default, or
//!   `omni`) and stops it when the binary exits. Building the chain spec needs the runtime's
//!   Wasm, so the first run builds it (slow); `KAISAR_E2E_START_TIMEOUT` (seconds, default
//!   1800) bounds the wait.
//!
//! Tests take [`serial`] so that one test's blocks (`dev_newBlock` on Chopsticks) never move
//! another test's deadlines, and they use fresh agent keys and GPU ids per run so that they can
//! run again against the same long-lived chain.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{mpsc, Mutex, OnceLock},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use kaisar_chain_client::{
    kaisar,
    signer::{account_of, parse_signer},
    types::*,
    AccountId32, Balance, Client, Signer, TxOutcome, H256, UNITS,
};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .into()
}

/// A chain started by this test binary (kept alive until the process exits: closing our end
/// of its stdin makes the wrapper stop it).
struct StartedChain {
    _child: Child,
    _stdin: ChildStdin,
}

static STARTED: Mutex<Option<StartedChain>> = Mutex::new(None);
static URL: OnceLock<Result<String, String>> = OnceLock::new();

/// The chain's WebSocket URL: `$KAISAR_WS`, or a chain this binary starts once.
pub fn chain_url() -> String {
    URL.get_or_init(start_chain)
        .clone()
        .unwrap_or_else(|e| panic!("no chain to test against: {e}"))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn start_chain() -> Result<String, String> {
    if let Ok(url) = std::env::var("KAISAR_WS") {
        if !url.is_empty() {
            return Ok(url);
        }
    }
    let engine = std::env::var("KAISAR_E2E_ENGINE").unwrap_or_else(|_| "chopsticks".into());
    let port = free_port()?;
    let timeout = std::env::var("KAISAR_E2E_START_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1800u64);
    eprintln!("e2e: starting scripts/chain {engine} --port {port}");
    // The wrapper runs the chain in the background and stops it (SIGTERM: scripts/chain then
    // stops the engine) once its stdin closes, i.e. when this process exits however it exits.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"scripts/chain "$@" </dev/null & c=$!; cat >/dev/null; kill -TERM $c 2>/dev/null; wait $c"#)
        .arg("sh")
        .args([engine.as_str(), "--port", &port.to_string()])
        .current_dir(workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run scripts/chain: {e}"))?;
    let stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("KAISAR_WS=") {
                let _ = tx.send(url.to_string());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(timeout))
        .map_err(|_| format!("scripts/chain {engine} did not serve blocks within {timeout} s"))?;
    *STARTED.lock().unwrap() = Some(StartedChain {
        _child: child,
        _stdin: stdin,
    });
    eprintln!("e2e: chain at {url}");
    Ok(url)
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Take the lock that makes the tests of a binary run one at a time.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// Connect to the test chain.
pub async fn connect() -> Client {
    let url = chain_url();
    Client::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

/// A tag unique to this process, so that keys and GPU ids differ between runs on one chain.
pub fn run_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("{:x}{:x}", nanos, std::process::id())
    })
}

/// A signer by dev name or secret URI (panics on a bad one).
pub fn key(uri: &str) -> Signer {
    parse_signer(uri).unwrap_or_else(|e| panic!("{e}"))
}

/// A key derived for this run, e.g. `fresh_key("//Bob//agent")` = `//Bob//agent//<run tag>`.
pub fn fresh_key(base: &str) -> Signer {
    key(&format!("{base}//{}", run_tag()))
}

/// A 32-byte value unique to this run and `label` (user public keys; GPU UUID hashes use
/// [`gpu_uuid_hash_of`]).
pub fn unique_h256(label: &str) -> H256 {
    let mut bytes = [0u8; 32];
    for (i, b) in format!("{}:{label}", run_tag()).bytes().enumerate() {
        bytes[i % 32] = bytes[i % 32].wrapping_mul(31).wrapping_add(b);
    }
    H256(bytes)
}

/// The `uuid_hash` of a fake GPU unique to this run and `label`: the one definition
/// ([`kaisar_primitives::gpu_uuid_hash`]) of the fake NVML UUID `GPU-<run tag>-<label>`.
pub fn gpu_uuid_hash_of(label: &str) -> H256 {
    let uuid = format!("GPU-{}-{label}", run_tag());
    H256(kaisar_primitives::gpu_uuid_hash(uuid.as_bytes()))
}

/// The fee the signer of `outcome` paid (`TransactionPayment::TransactionFeePaid`).
pub fn fee_paid(outcome: &TxOutcome) -> Balance {
    outcome
        .find::<kaisar::transaction_payment::events::TransactionFeePaid>()
        .expect("decodable fee event")
        .iter()
        .map(|e| e.actual_fee + e.tip)
        .sum()
}

/// Submit and expect success, with a readable panic otherwise.
pub async fn ok<C: kaisar_chain_client::subxt::transactions::Payload>(
    client: &Client,
    what: &str,
    call: &C,
    signer: &Signer,
) -> TxOutcome {
    client
        .submit(call, signer)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Submit and expect the module error `pallet::error`.
pub async fn fails_with<C: kaisar_chain_client::subxt::transactions::Payload>(
    client: &Client,
    what: &str,
    call: &C,
    signer: &Signer,
    pallet: &str,
    error: &str,
) {
    match client.submit(call, signer).await {
        Ok(outcome) => panic!(
            "{what}: succeeded (events {:?}), expected {pallet}::{error}",
            outcome.event_names()
        ),
        Err(e) if e.is_module_error(pallet, error) => {}
        Err(e) => panic!("{what}: failed with `{e}`, expected {pallet}::{error}"),
    }
}

/// Transfer `amount` from `from` to `to` (to give agent keys something to pay fees with).
pub async fn fund(client: &Client, from: &Signer, to: &AccountId32, amount: Balance) {
    let call = kaisar::tx()
        .balances()
        .transfer_keep_alive((*to).into(), amount);
    ok(client, "funding", &call, from).await;
}

/// Governance (`sudo`, signed by `root`) grants `operator` one tier-0 checker license, which the
/// operator delegates to itself: a checker slot from the next epoch. Returns the license.
pub async fn self_delegated_license(client: &Client, root: &Signer, operator: &Signer) -> u32 {
    let license = granted_license(client, root, &account_of(operator)).await;
    self_delegate(client, operator, license).await;
    license
}

/// Governance (`sudo`, signed by `root`) grants `to` one tier-0 checker license (no slot until
/// it is delegated). Returns the license.
pub async fn granted_license(client: &Client, root: &Signer, to: &AccountId32) -> u32 {
    let grant = kaisar::tx().sudo().sudo(kaisar::Call::CheckerLicenses(
        kaisar::checker_licenses::Call::grant {
            to: *to,
            tier: 0,
            licenses: 1,
        },
    ));
    ok(client, "sudo grant", &grant, root)
        .await
        .expect_event::<kaisar::checker_licenses::events::LicenseMinted>()
        .unwrap()
        .license
}

/// The owner of `license` delegates it to itself: a checker slot from the next epoch.
pub async fn self_delegate(client: &Client, owner: &Signer, license: u32) {
    ok(
        client,
        "self-delegate",
        &kaisar::tx()
            .checker_licenses()
            .delegate(license, account_of(owner)),
        owner,
    )
    .await;
}

/// A worker registration spec: `gpus` GPUs of `model` with ids unique to this run and `label`.
pub fn worker_spec(
    label: &str,
    agent: &AccountId32,
    model: GpuModel,
    gpus: u32,
    price_per_gpu_hour: Balance,
) -> WorkerSpec {
    WorkerSpec {
        host_class: HostClass::Server,
        gpus: BoundedVec(
            (0..gpus)
                .map(|i| GpuDevice {
                    model: model.clone(),
                    vram_mib: 24_576,
                    uuid_hash: gpu_uuid_hash_of(&format!("{label}-gpu{i}")),
                })
                .collect(),
        ),
        cpu_cores: 32,
        ram_mib: 128 * 1024,
        disk_gib: 1_000,
        region: BoundedVec(b"eu-west".to_vec()),
        price_per_gpu_hour,
        endpoint: BoundedVec(format!("https://{label}.workers.example:8443").into_bytes()),
        agent: *agent,
    }
}

/// A registered, verified (by sudo) and heartbeating worker of `provider` with a fresh agent key
/// (`<provider>//agent//<run tag>`, funded with 10 tokens from the provider for fees).
pub struct TestWorker {
    /// Its id.
    pub id: u64,
    /// Its provider's key.
    pub provider: Signer,
    /// Its agent's key.
    pub agent: Signer,
}

/// Register, verify and heartbeat a worker (see [`TestWorker`]).
pub async fn active_worker(
    client: &Client,
    provider_uri: &str,
    label: &str,
    model: GpuModel,
    gpus: u32,
    price_per_gpu_hour: Balance,
) -> TestWorker {
    let provider = key(provider_uri);
    let agent = fresh_key(&format!("{provider_uri}//agent-{label}"));
    fund(client, &provider, &account_of(&agent), 10 * UNITS).await;
    let spec = worker_spec(label, &account_of(&agent), model, gpus, price_per_gpu_hour);
    let registered = ok(
        client,
        "register_worker",
        &kaisar::tx().worker_registry().register_worker(spec),
        &provider,
    )
    .await;
    let id = registered
        .expect_event::<kaisar::worker_registry::events::WorkerRegistered>()
        .unwrap()
        .worker_id;
    verify(client, id).await;
    ok(
        client,
        "heartbeat",
        &kaisar::tx().worker_registry().heartbeat(id, gpus),
        &agent,
    )
    .await;
    TestWorker {
        id,
        provider,
        agent,
    }
}

/// Verify a worker through sudo (Alice).
pub async fn verify(client: &Client, worker_id: u64) -> TxOutcome {
    let call = kaisar::tx().sudo().sudo(kaisar::Call::WorkerRegistry(
        kaisar::worker_registry::Call::verify_worker { worker_id },
    ));
    let outcome = ok(client, "sudo verify_worker", &call, &key("alice")).await;
    let sudid = outcome
        .expect_event::<kaisar::sudo::events::Sudid>()
        .unwrap();
    if let Err(e) = &sudid.sudo_result {
        panic!("verify_worker under sudo failed: {e:?}");
    }
    outcome
}

/// Place an order (spending up to `points` as a discount) and expect success: the new order's
/// `OrderPlaced` event and the transaction's outcome.
pub async fn place_order(
    client: &Client,
    user: &Signer,
    spec: OrderSpec,
    points: Balance,
) -> (kaisar::orders::events::OrderPlaced, TxOutcome) {
    let placed = ok(
        client,
        "place_order",
        &kaisar::tx().orders().place_order(spec, points),
        user,
    )
    .await;
    let ev = placed
        .expect_event::<kaisar::orders::events::OrderPlaced>()
        .expect("OrderPlaced");
    (ev, placed)
}

/// An order spec for `gpus` GPUs of `model` on `worker` for `duration` blocks.
pub fn order_spec(
    worker: u64,
    model: GpuModel,
    gpus: u32,
    duration: u32,
    max_price: Balance,
) -> OrderSpec {
    OrderSpec {
        image: BoundedVec(b"docker.io/pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime".to_vec()),
        gpu_model: model,
        gpu_count: gpus,
        duration,
        max_price_per_gpu_hour: max_price,
        target_worker: Some(worker),
        user_public_key: unique_h256(&format!("user-key-{worker}")).0,
        ports: BoundedVec(vec![22, 8888]),
    }
}

/// Checks that must hold on the whole chain after every test:
/// - every account's `reserved` equals the sum of its holds;
/// - what is held under `Escrow::OrderEscrow` (all accounts) equals what the open escrows hold,
///   and each escrow holds exactly its order's `total_cost - paid_so_far`;
/// - open orders have an escrow, terminal ones do not;
/// - what is held under `WorkerRegistry::WorkerDeposit` equals the workers' recorded deposits;
/// - what is held under `CheckerLicenses::SaleCommitment` equals the sale rounds' `held`.
///
/// Everything is read at one block.
pub async fn assert_chain_consistent(client: &Client) {
    let at = client.at_best().await.unwrap();

    // Accounts and their holds.
    let mut escrow_held_total: Balance = 0;
    let mut deposit_held_total: Balance = 0;
    let mut commitment_held_total: Balance = 0;
    let mut bonds_held_total: Balance = 0;
    let mut reward_budget_held_total: Balance = 0;
    let accounts = Client::entries_at(&at, kaisar::storage().system().account(), ())
        .await
        .expect("iterate accounts");
    for ((who,), info) in accounts {
        let holds = Client::holds_at(&at, &who).await.unwrap();
        let held: Balance = holds.iter().map(|(_, a)| a).sum();
        assert_eq!(
            info.data.reserved, held,
            "{who}: reserved differs from the sum of holds {holds:?}"
        );
        for (reason, amount) in holds {
            if reason == order_escrow_hold() {
                escrow_held_total += amount;
            } else if reason == worker_deposit_hold() {
                deposit_held_total += amount;
            } else if reason == license_commitment_hold() {
                commitment_held_total += amount;
            } else if reason == contest_bond_hold() || reason == dispute_bond_hold() {
                bonds_held_total += amount;
            } else if reason == reward_budget_hold() {
                reward_budget_held_total += amount;
            }
        }
    }

    // Escrows against orders.
    let escrows = Client::entries_at(&at, kaisar::storage().escrow().escrows(), ())
        .await
        .expect("iterate escrows");
    let escrow_ids: Vec<(u64, Balance)> = escrows
        .iter()
        .map(|((id,), e)| {
            (
                *id,
                e.payer_held + e.sponsor.as_ref().map_or(0, |(_, h)| *h),
            )
        })
        .collect();
    let escrowed_total: Balance = escrow_ids.iter().map(|(_, t)| t).sum();
    assert_eq!(
        escrow_held_total, escrowed_total,
        "OrderEscrow holds differ from the escrows' total"
    );

    let orders = Client::entries_at(&at, kaisar::storage().orders().orders(), ())
        .await
        .expect("iterate orders");
    let mut open_remaining: Balance = 0;
    for ((id,), order) in orders {
        let escrowed = escrow_ids.iter().find(|(e, _)| *e == id).map(|(_, t)| *t);
        let open = matches!(
            order.status,
            OrderStatus::Pending { .. }
                | OrderStatus::Running { .. }
                | OrderStatus::Settling { .. }
        );
        if open {
            let remaining = order.total_cost - order.paid_so_far;
            open_remaining += remaining;
            assert_eq!(
                escrowed,
                Some(remaining),
                "order {id}: escrow differs from total_cost - paid_so_far"
            );
        } else {
            assert_eq!(escrowed, None, "terminal order {id} still has an escrow");
        }
    }
    assert_eq!(
        escrowed_total, open_remaining,
        "escrows hold more than the open orders' remaining cost"
    );

    // Worker deposits.
    let deposits: Balance =
        Client::entries_at(&at, kaisar::storage().worker_registry().workers(), ())
            .await
            .expect("iterate workers")
            .iter()
            .map(|(_, w)| w.deposit)
            .sum();
    assert_eq!(
        deposit_held_total, deposits,
        "WorkerDeposit holds differ from the workers' deposits"
    );

    // License sale commitments: what buyers have on hold is what the rounds record as held.
    let committed: Balance =
        Client::entries_at(&at, kaisar::storage().checker_licenses().rounds(), ())
            .await
            .expect("iterate sale rounds")
            .iter()
            .map(|(_, r)| r.held)
            .sum();
    assert_eq!(
        commitment_held_total, committed,
        "SaleCommitment holds differ from the rounds' held totals"
    );

    // Reward budgets: what the pot holds for closed eras is what they budgeted less what was
    // paid or given back.
    let pot_held: Balance = {
        let budgets = Client::entries_at(&at, kaisar::storage().rewards().era_budgets(), ())
            .await
            .expect("iterate reward eras");
        budgets.iter().map(|(_, b)| b.held - b.spent).sum()
    };
    assert_eq!(
        reward_budget_held_total, pot_held,
        "EraBudget holds differ from the closed eras' unpaid budgets"
    );

    // Contest and dispute bonds: what is held is what the open re-checks record.
    let bonds: Balance =
        Client::entries_at(&at, kaisar::storage().popw_attestations().rechecks(), ())
            .await
            .expect("iterate re-checks")
            .iter()
            .map(|(_, r)| match &r.cause {
                RecheckCause::Contest { bond, .. } | RecheckCause::Dispute { bond, .. } => *bond,
            })
            .sum();
    assert_eq!(
        bonds_held_total, bonds,
        "contest and dispute bond holds differ from the open re-checks"
    );
}

/// Build a test image `localhost/<name>:latest` in `dir`: the provider tests' static HTTP server
/// (`/exit<N>` exits with N) in a `FROM scratch` image (no registry is reachable). Tests that run
/// at the same time use different names.
pub fn build_image(dir: &Path, name: &str) -> String {
    let image = format!("localhost/{name}:latest");
    let src = workspace_root().join("node-agents/provider/tests/testimage/server.c");
    let out = std::process::Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(dir.join("app"))
        .arg(&src)
        .output()
        .expect("gcc is needed to build the test image");
    assert!(
        out.status.success(),
        "gcc -static failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        dir.join("Containerfile"),
        "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new("podman")
        .args(["build", "-q", "-t", &image])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    image
}

/// A `podman system service` on a socket in a temporary directory; killed (and this agent's
/// containers removed) on drop.
pub struct Podman {
    child: Child,
    /// The service's socket (the agent's `[containers] socket`).
    pub socket: PathBuf,
    agent: String,
}

impl Podman {
    /// Start the service with its socket in `dir`, for the agent named `agent`; `None` (with a
    /// message) where `podman` is not installed.
    pub fn start(dir: &Path, agent: &str) -> Option<Self> {
        if Command::new("podman")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            eprintln!("SKIPPED: podman is not installed (scripts/setup installs it)");
            return None;
        }
        let socket = dir.join("podman.sock");
        let child = Command::new("podman")
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn podman system service");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "podman service did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Self {
            child,
            socket,
            agent: agent.into(),
        })
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "--filter"])
            .arg(format!("label=kaisar.agent={}", self.agent))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Re-exported for the tests.
pub use kaisar_chain_client as chain;
/// Re-exported for the tests.
pub use kaisar_chain_client::ChainError as Error;

/// Write a 32-byte key seed in hex to a 0600 file (the agent's and the provider's key files).
pub fn write_key_file(path: &std::path::Path, seed: &[u8; 32]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, hex::encode(seed)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A one-GPU fixture of the agent's fake backend (an H100 SXM) whose UUID is unique to this
/// run and `label`.
pub fn write_gpu_fixture(path: &std::path::Path, label: &str) {
    let uuid = format!("GPU-{}-{label}-gpu0", run_tag());
    let json = serde_json::json!({ "gpus": [{
        "identity": {
            "index": 0, "uuid": uuid, "name": "NVIDIA H100 80GB HBM3", "serial": "1",
            "pci_bus_id": "00000000:19:00.0", "memory_total_bytes": 85520809984u64,
            "driver_version": "550.54.15", "cuda_version": "12.4"
        },
        "state": {
            "utilization_pct": 42, "memory_utilization_pct": 10,
            "memory_used_bytes": 1073741824u64, "temperature_c": 40, "power_mw": 100000,
            "total_energy_mj": 1000, "sm_clock_mhz": 1980, "mem_clock_mhz": 2619,
            "ecc_uncorrected_volatile": 0, "mig_mode": "disabled", "process_count": 1
        }
    }]});
    std::fs::write(path, json.to_string()).unwrap();
}
