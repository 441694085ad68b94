//! The checker daemon end to end: three `kaisar-checker` daemons (in-process tasks of the
//! library, each with its own operator key and state directory) hold the only three checker
//! slots. A provider registers a worker whose agent is played in-process (the `kaisar-popw`
//! worker with the CPU backend at a small work shape, reached through the daemons' in-process
//! transport at the worker's registered endpoint). Nobody but the daemons acts on the check:
//! they commit, challenge, seal and reveal, and the worker becomes Active. Then the worker stops
//! answering: the daemons attest `Unreachable` and the worker's next check fails.
//!
//! On Chopsticks the test only builds a block when none was built for a while (the daemons'
//! transactions build their own blocks); on a node, blocks come on their own.

use std::{sync::Arc, time::Duration};

use kaisar_chain_client::{
    kaisar, signer::account_of, subxt_signer::sr25519::Keypair, types::*, BlockNumber, Client,
    Engine, Signer, UNITS,
};
use kaisar_checker::{
    core::CoreConfig, transport::ExchangeTiming, DaemonConfig, InProcessTransport, InProcessWorker,
    Metrics, OperatorKey,
};
use kaisar_e2e::*;
use kaisar_popw::{CpuBackend, GpuUuidHash, Params, Worker, WorkerIdentity};

const SHAPE: Params = Params {
    m: 16,
    n: 16,
    k: 32,
    chunks: 4,
};
const MODEL: GpuModel = GpuModel::L40S;
const LABEL: &str = "daemon-checked";

fn blake2(bytes: &[u8]) -> [u8; 32] {
    sp_crypto_hashing::blake2_256(bytes)
}

fn seeded(label: &str) -> ([u8; 32], Signer) {
    let seed = blake2(format!("kaisar-e2e/{}/daemon/{label}", run_tag()).as_bytes());
    (seed, Keypair::from_secret_key(seed).expect("valid seed"))
}

fn hex_seed(seed: &[u8; 32]) -> String {
    format!(
        "0x{}",
        seed.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

async fn epoch_length(client: &Client) -> BlockNumber {
    client
        .fetch(kaisar::storage().checker_licenses().epoch_length(), ())
        .await
        .unwrap()
        .expect("epoch length")
}

/// On Chopsticks, build a block whenever none was built for `idle` (the daemons' transactions
/// build theirs), until `stop`.
fn pump_blocks(client: Client, idle: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        if client.engine().await.ok() != Some(Engine::Chopsticks) {
            return;
        }
        let mut last = client.best_number().await.unwrap_or_default();
        let mut since = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let Ok(now) = client.best_number().await else {
                continue;
            };
            if now != last {
                last = now;
                since = tokio::time::Instant::now();
            } else if since.elapsed() >= idle {
                let _ = client.advance_blocks(1).await;
                since = tokio::time::Instant::now();
            }
        }
    });
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_checker_daemons_activate_a_worker_on_their_own_and_fail_it_once_it_stops_answering()
{
    let _serial = serial().await;
    let client = connect().await;
    let alice = key("alice");
    let len = epoch_length(&client).await;

    // Governance parks workers left by earlier tests on this chain, so that the daemons' slots
    // check only this test's worker (the daemons would attest the others Unreachable, and on
    // Chopsticks their extra transactions would crowd the short windows).
    for (key, info) in client
        .entries(kaisar::storage().worker_registry().workers(), ())
        .await
        .unwrap()
    {
        if matches!(
            info.status,
            WorkerStatus::Active | WorkerStatus::PendingVerification
        ) {
            let (id,) = key;
            ok(
                &client,
                "sudo suspend_worker",
                &kaisar::tx().sudo().sudo(kaisar::Call::WorkerRegistry(
                    kaisar::worker_registry::Call::suspend_worker { worker_id: id },
                )),
                &alice,
            )
            .await;
        }
    }

    // Three operators: a license each (governance), delegated to themselves.
    let mut operators = Vec::new();
    for i in 0..3 {
        let (seed, signer) = seeded(&format!("checker{i}"));
        fund(&client, &key("ferdie"), &account_of(&signer), 10 * UNITS).await;
        let granted = ok(
            &client,
            "sudo grant",
            &kaisar::tx().sudo().sudo(kaisar::Call::CheckerLicenses(
                kaisar::checker_licenses::Call::grant {
                    to: account_of(&signer),
                    tier: 0,
                    licenses: 1,
                },
            )),
            &alice,
        )
        .await;
        let license = granted
            .expect_event::<kaisar::checker_licenses::events::LicenseMinted>()
            .unwrap()
            .license;
        ok(
            &client,
            "self-delegate",
            &kaisar::tx()
                .checker_licenses()
                .delegate(license, account_of(&signer).into()),
            &signer,
        )
        .await;
        operators.push((seed, signer, license));
    }

    // A provider registers a worker; its agent is played in-process at its endpoint.
    let provider = fresh_key("//Dave//daemon-provider");
    fund(&client, &key("dave"), &account_of(&provider), 1_000 * UNITS).await;
    let (agent_seed, agent) = seeded("agent");
    fund(&client, &provider, &account_of(&agent), 10 * UNITS).await;
    let spec = worker_spec(LABEL, &account_of(&agent), MODEL, 1, 3 * UNITS);
    let endpoint = String::from_utf8(spec.endpoint.0.clone()).unwrap();
    let gpu = GpuUuidHash::of_uuid(&format!("GPU-{}-{LABEL}-gpu0", run_tag()));
    assert_eq!(gpu.0, spec.gpus.0[0].uuid_hash.0);
    let worker_id = ok(
        &client,
        "register_worker",
        &kaisar::tx().worker_registry().register_worker(spec),
        &provider,
    )
    .await
    .expect_event::<kaisar::worker_registry::events::WorkerRegistered>()
    .unwrap()
    .worker_id;
    let transport = InProcessTransport::new();
    let played = InProcessWorker::new(
        Worker::new(
            kaisar_popw::Signer::from_seed(&agent_seed),
            WorkerIdentity {
                worker_id,
                gpu_uuid_hash: gpu,
                model: kaisar_primitives::GpuModel::L40S,
            },
            CpuBackend::new(),
        )
        .with_shape(SHAPE.shape()),
    );
    transport.add(&endpoint, played.clone());

    // The daemons.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let state_dirs = tempfile_dirs(3);
    let mut daemons = Vec::new();
    let mut metrics = Vec::new();
    for ((seed, _, _), dir) in operators.iter().zip(&state_dirs) {
        let m = Arc::new(Metrics::default());
        metrics.push(m.clone());
        let config = DaemonConfig {
            chain_url: chain_url(),
            state_dir: dir.clone(),
            poll_interval: Duration::from_millis(100),
            reconnect_after_failures: 5,
            core: CoreConfig {
                // A CPU cannot meet the model's calibrated speed: rows are judged, timing not.
                judge_timing: false,
                shape: Some(SHAPE),
                openings: 16,
                timing: ExchangeTiming {
                    ping_interval: Duration::from_millis(200),
                    request_timeout: Duration::from_secs(5),
                    ..ExchangeTiming::default()
                },
                ..CoreConfig::default()
            },
        };
        let key = OperatorKey::from_secret(&hex_seed(seed)).unwrap();
        daemons.push(tokio::spawn(kaisar_checker::run(
            config,
            key,
            transport.clone(),
            m,
            stop_rx.clone(),
        )));
    }
    pump_blocks(client.clone(), Duration::from_millis(1500), stop_rx.clone());

    // The worker is checked from the next epoch (the slots' first): Active by the daemons.
    let first = client.best_number().await.unwrap() / len + 1;
    let states = |c: Client| async move {
        c.fetch(
            kaisar::storage().popw_attestations().worker_states(),
            (worker_id,),
        )
        .await
        .unwrap()
    };
    wait_until(&client, 3 * len, "the worker becomes Active", || {
        let c = client.clone();
        async move { c.worker(worker_id).await.unwrap().unwrap().status == WorkerStatus::Active }
    })
    .await;
    let state = states(client.clone()).await.expect("checked");
    let passed = state.last_passed.expect("a passing verdict");
    assert!(passed >= first, "passed in epoch {passed}");
    assert_eq!(state.consecutive_failures, 0);
    assert!(state.throughput_gops.is_some());
    for m in &metrics {
        assert!(m.checks("pass") >= 1, "{}", m.render());
        assert!(m.submitted("commit_nonce") >= 1);
    }

    // The worker stops answering: the daemons attest Unreachable and its next check fails.
    played.set_answering(false);
    let stopped_in = client.best_number().await.unwrap() / len;
    wait_until(&client, 3 * len, "a failed verdict", || {
        let c = client.clone();
        async move { states(c).await.is_some_and(|s| s.consecutive_failures >= 1) }
    })
    .await;
    let state = states(client.clone()).await.unwrap();
    assert!(state.last_finalized.unwrap() > stopped_in.min(passed));
    for m in &metrics {
        assert!(m.checks("unreachable") >= 1, "{}", m.render());
    }

    // Stop the daemons (each saves its state, and stops within the transaction in flight), and
    // leave no slots behind for later runs.
    stop_tx.send(true).unwrap();
    for d in daemons {
        tokio::time::timeout(Duration::from_secs(150), d)
            .await
            .expect("a daemon stops")
            .unwrap()
            .expect("a daemon stops cleanly");
    }
    for dir in &state_dirs {
        assert!(dir.join(kaisar_checker::state::STATE_FILE).exists());
    }
    // Leave no checkable worker behind either: the provider deregisters it.
    ok(
        &client,
        "deregister_worker",
        &kaisar::tx().worker_registry().deregister_worker(worker_id),
        &provider,
    )
    .await;
    for (_, signer, license) in &operators {
        ok(
            &client,
            "undelegate",
            &kaisar::tx().checker_licenses().undelegate(*license),
            signer,
        )
        .await;
    }
    assert_chain_consistent(&client).await;
}

/// Fresh state directories under the system's temp dir (left for inspection).
fn tempfile_dirs(n: usize) -> Vec<std::path::PathBuf> {
    (0..n)
        .map(|i| std::env::temp_dir().join(format!("kaisar-e2e-checker-{}-{i}", run_tag())))
        .collect()
}
