//! The checker daemon's HTTP transport against the provider agent's real PoPW responder on
//! 127.0.0.1 (CPU backend, the small shape of the checking e2e test): a full exchange passes
//! with every row verified, a worker that is not there is attested `Unreachable`, and a
//! challenge the responder refuses (not from a checker it expects) is attested `Unreachable`
//! too. The rows are judged for real, the timing is not (`min_ratio` 0): a CPU cannot meet a
//! GPU model's calibrated speed.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use kaisar_checker::{
    state::VerdictKind,
    transport::{run, ExchangeTiming},
    HttpTransport, Transport,
};
use kaisar_popw::{
    AccountKey, CalibrationTable, ChallengeRequest, Checker, CheckerConfig, CpuBackend,
    GpuSnapshot, GpuUuidHash, Nonce, Params, Signer, WorkerIdentity,
};
use kaisar_primitives::GpuModel;
use kaisar_provider::responder::{Responder, ResponderLimits, Slot, StaticExpectations};

const PARAMS: Params = Params {
    m: 16,
    n: 16,
    k: 32,
    chunks: 4,
};
const MODEL: GpuModel = GpuModel::L40S;
const GENESIS: [u8; 32] = [0x11; 32];
const RANDOMNESS: [u8; 32] = [0x22; 32];
const WORKER_ID: u64 = 9;
const AGENT_SEED: [u8; 32] = [0xA7; 32];
const CHECKER_SEED: [u8; 32] = [0xC3; 32];
const STRANGER_SEED: [u8; 32] = [0xD4; 32];
const SECOND_CHECKER_SEED: [u8; 32] = [0xE5; 32];
const GPU_UUID: &str = "GPU-7a1c0b8e-6a8d-4c1e-9a4b-00000000000a";

fn agent() -> AccountKey {
    Signer::from_seed(&AGENT_SEED).public()
}

fn checker(seed: &[u8; 32]) -> Checker {
    let table = CalibrationTable::parse(
        "[[model]]\nmodel = \"L40S\"\nint8_dense_tops = 1e-9\ncalibrated_fraction = 1.0\n\
         status = \"estimate\"\nsource = \"test\"\n",
    )
    .unwrap();
    let config = CheckerConfig {
        openings: 16,
        min_ratio: 0.0,
        max_ratio: f64::MAX,
        commit_timeout: Duration::from_secs(30),
        open_timeout: Duration::from_secs(10),
    };
    Checker::with_table(Signer::from_seed(seed), config, table)
}

fn request(nonce: u8) -> ChallengeRequest {
    ChallengeRequest {
        genesis_hash: GENESIS,
        epoch_randomness: RANDOMNESS,
        nonce: Nonce([nonce; 32]),
        worker_id: WORKER_ID,
        worker_agent: agent(),
        gpu_uuid_hash: GpuUuidHash::of_uuid(GPU_UUID),
        claimed_model: MODEL,
        params: Some(PARAMS),
    }
}

/// The agent's responder for one GPU on an ephemeral port; returns its URL (served until the
/// test's runtime ends).
async fn serve() -> String {
    let hash = GpuUuidHash::of_uuid(GPU_UUID);
    let slots = vec![Slot {
        identity: WorkerIdentity {
            worker_id: WORKER_ID,
            gpu_uuid_hash: hash,
            model: MODEL,
        },
        backend: CpuBackend::new(),
        snapshot: Arc::new(move || {
            GpuSnapshot::without_telemetry(hash, kaisar_popw::snapshot::unix_time_ms())
        }),
    }];
    let expectations = Arc::new(StaticExpectations {
        checkers: vec![
            Signer::from_seed(&CHECKER_SEED).public(),
            Signer::from_seed(&SECOND_CHECKER_SEED).public(),
        ],
        genesis_hash: GENESIS,
        epoch_randomness: RANDOMNESS,
    });
    let responder = Responder::new(
        &AGENT_SEED,
        slots,
        expectations,
        ResponderLimits {
            test_shape: Some(PARAMS.shape()),
            ..ResponderLimits::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = responder.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn timing() -> ExchangeTiming {
    ExchangeTiming {
        ping_interval: Duration::from_millis(50),
        request_timeout: Duration::from_secs(10),
        // A challenge refused for now (403, 429) is sent again for a second at most.
        accept_retry_for: Duration::from_secs(1),
        accept_retry_every: Duration::from_millis(100),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_transport_passes_a_real_exchange_with_the_agents_responder() {
    let url = serve().await;
    let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(Duration::from_secs(10)));
    let (session, challenge) = checker(&CHECKER_SEED)
        .issue(&request(1), Instant::now())
        .unwrap();
    let id = session.id();
    let outcome = run(transport, &url, session, challenge, timing()).await;
    assert_eq!(
        outcome.attestation.verdict,
        VerdictKind::Pass,
        "{:?}",
        outcome.detail
    );
    assert_eq!(outcome.attestation.challenge_id.0, id.0);
    assert_ne!(outcome.attestation.merkle_root.0, [0; 32]);
    assert_ne!(outcome.attestation.openings_digest.0, [0; 32]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_worker_or_a_refused_challenge_is_attested_unreachable() {
    let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(Duration::from_secs(2)));
    // Nothing listens there.
    let (session, challenge) = checker(&CHECKER_SEED)
        .issue(&request(2), Instant::now())
        .unwrap();
    let outcome = run(
        transport.clone(),
        "http://127.0.0.1:9",
        session,
        challenge,
        timing(),
    )
    .await;
    assert_eq!(outcome.attestation.verdict, VerdictKind::Unreachable);
    // A checker the worker does not expect is refused (403): unreachable, never a pass.
    let url = serve().await;
    let (session, challenge) = checker(&STRANGER_SEED)
        .issue(&request(3), Instant::now())
        .unwrap();
    let outcome = run(transport, &url, session, challenge, timing()).await;
    assert_eq!(outcome.attestation.verdict, VerdictKind::Unreachable);
    assert!(
        outcome.detail.as_deref().unwrap_or("").contains("403"),
        "{:?}",
        outcome.detail
    );
}

/// The checkers of a worker challenge it at the same time, and one GPU answers one challenge at
/// a time: the second checker's challenge is refused while the GPU is busy (429) and sent again
/// until the first exchange is over; then it passes (its clock ran from the first send: this
/// test's calibration judges no timing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_refused_while_the_gpu_is_busy_is_sent_again_and_passes() {
    let url = serve().await;
    let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(Duration::from_secs(10)));
    // The first checker's challenge is accepted and holds the only GPU until it is opened.
    let (mut first, challenge) = checker(&CHECKER_SEED)
        .issue(&request(4), Instant::now())
        .unwrap();
    transport.send_challenge(&url, challenge).await.unwrap();
    // The second checker's exchange starts meanwhile: refused (busy) until the GPU is free.
    let second = {
        let transport = transport.clone();
        let url = url.clone();
        let (session, challenge) = checker(&SECOND_CHECKER_SEED)
            .issue(&request(5), Instant::now())
            .unwrap();
        let timing = ExchangeTiming {
            accept_retry_for: Duration::from_secs(20),
            ..timing()
        };
        tokio::spawn(async move { run(transport, &url, session, challenge, timing).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !second.is_finished(),
        "the busy GPU took a second challenge"
    );
    // The first exchange completes: commit, open, verified.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let commit = transport
        .wait_commit(&url, first.id(), deadline)
        .await
        .unwrap();
    let open = match first.receive_commit(&commit, Instant::now()).unwrap() {
        kaisar_popw::AfterCommit::SendOpen(open) => open,
        other => panic!("no open request: {other:?}"),
    };
    let openings = transport.open(&url, open).await.unwrap();
    assert!(first
        .receive_openings(&openings, Instant::now())
        .unwrap()
        .outcome
        .is_ok());
    // Then the second checker's challenge is accepted and passes.
    let outcome = second.await.unwrap();
    assert_eq!(
        outcome.attestation.verdict,
        VerdictKind::Pass,
        "{:?}",
        outcome.detail
    );
}
