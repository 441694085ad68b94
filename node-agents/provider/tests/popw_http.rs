//! The PoPW exchange over real HTTP on 127.0.0.1: `kaisar-popw`'s checker (through
//! `popw_http::Client`) against the responder (CPU backend, the small shape of the repo's
//! checking e2e test), and every refusal.
//!
//! As in the e2e test, the rows are judged for real (Freivalds checks against the Merkle
//! commitment) and the timing is not (`min_ratio` 0): a CPU cannot meet a GPU model's speed.

use kaisar_popw::checker::AfterCommit;
use kaisar_popw::{
    AccountKey, CalibrationTable, ChallengeId, ChallengeRequest, Checker, CheckerConfig,
    CpuBackend, GpuSnapshot, GpuUuidHash, Nonce, Params, Signer, WorkerIdentity,
};
use kaisar_primitives::GpuModel;
use kaisar_provider::popw_http::{self, Client, ClientError};
use kaisar_provider::responder::{Responder, ResponderLimits, Slot, StaticExpectations};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The work shape of `tests/tests/checking.rs`.
const PARAMS: Params = Params {
    m: 16,
    n: 16,
    k: 32,
    chunks: 4,
};
const MODEL: GpuModel = GpuModel::L40S;
const GENESIS: [u8; 32] = [0x11; 32];
const RANDOMNESS: [u8; 32] = [0x22; 32];
const WORKER_ID: u64 = 7;
const AGENT_SEED: [u8; 32] = [0xA9; 32];
const CHECKER_SEED: [u8; 32] = [0xC1; 32];
const GPU_UUIDS: [&str; 2] = [
    "GPU-5f1c0b8e-6a8d-4c1e-9a4b-000000000001",
    "GPU-5f1c0b8e-6a8d-4c1e-9a4b-000000000002",
];

fn gpu(i: usize) -> GpuUuidHash {
    GpuUuidHash::of_uuid(GPU_UUIDS[i])
}

fn agent() -> AccountKey {
    Signer::from_seed(&AGENT_SEED).public()
}

/// A checker that judges the rows and not the timing (as the e2e test does).
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

fn request(nonce: u8, gpu_index: usize) -> ChallengeRequest {
    ChallengeRequest {
        genesis_hash: GENESIS,
        epoch_randomness: RANDOMNESS,
        nonce: Nonce([nonce; 32]),
        worker_id: WORKER_ID,
        worker_agent: agent(),
        gpu_uuid_hash: gpu(gpu_index),
        claimed_model: MODEL,
        params: Some(PARAMS),
    }
}

struct Server {
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A responder for two GPUs (one worker per GPU) on an ephemeral port.
async fn serve(limits: ResponderLimits) -> Server {
    let slots = (0..2)
        .map(|i| {
            let hash = gpu(i);
            Slot {
                identity: WorkerIdentity {
                    worker_id: WORKER_ID,
                    gpu_uuid_hash: hash,
                    model: MODEL,
                },
                backend: CpuBackend::new(),
                snapshot: Arc::new(move || {
                    GpuSnapshot::without_telemetry(hash, kaisar_popw::snapshot::unix_time_ms())
                }),
            }
        })
        .collect();
    let expectations = Arc::new(StaticExpectations {
        checkers: vec![Signer::from_seed(&CHECKER_SEED).public()],
        genesis_hash: GENESIS,
        epoch_randomness: RANDOMNESS,
    });
    let responder = Responder::new(
        &AGENT_SEED,
        slots,
        expectations,
        ResponderLimits {
            test_shape: Some(PARAMS.shape()),
            ..limits
        },
    );
    assert_eq!(responder.public(), agent());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = responder.router();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    Server {
        url,
        shutdown: Some(tx),
    }
}

fn client(server: &Server) -> Client {
    Client::new(&server.url, Duration::from_secs(10)).unwrap()
}

fn deadline(secs: u64) -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(secs)
}

fn refused_with(r: Result<impl std::fmt::Debug, ClientError>, status: u16, needle: &str) {
    match r {
        Err(ClientError::Refused { status: s, reason }) => {
            assert_eq!(s, status, "{reason}");
            assert!(reason.contains(needle), "{needle:?} not in {reason:?}");
            assert!(!reason.is_empty() && reason.len() <= 200);
        }
        other => panic!("expected a {status} refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_exchange_over_http_passes_with_every_row_verified() {
    let server = serve(ResponderLimits::default()).await;
    let client = client(&server);
    let checker = checker(&CHECKER_SEED);
    for (round, gpu_index) in [(1u8, 0usize), (2, 1), (3, 0)] {
        let (mut session, challenge) = checker
            .issue(&request(round, gpu_index), Instant::now())
            .unwrap();
        client.send_challenge(challenge).await.unwrap();
        // Pings while the worker computes: each pong verifies and yields a round trip.
        for _ in 0..2 {
            let ping = session.ping(Instant::now()).unwrap();
            let pong = client.ping(ping).await.unwrap();
            session.receive_pong(&pong, Instant::now()).unwrap();
        }
        let commit = client
            .wait_commit(&session.id(), deadline(30))
            .await
            .unwrap();
        let open = match session.receive_commit(&commit, Instant::now()).unwrap() {
            AfterCommit::SendOpen(bytes) => bytes,
            AfterCommit::Done(v) => panic!("no open request: {v:?}"),
        };
        let openings = client.open(open.clone()).await.unwrap();
        let verdict = session.receive_openings(&openings, Instant::now()).unwrap();
        assert!(verdict.passed(), "{verdict:?}");
        assert_eq!(verdict.rows_verified, 16);
        assert!(verdict.rtt_credit > Duration::ZERO);
        // The commit stays readable; a second open or a replayed challenge is refused.
        assert_eq!(
            client.poll_commit(&session.id()).await.unwrap(),
            Some(commit)
        );
        refused_with(client.open(open).await, 409, "already opened");
        let replay =
            kaisar_popw::messages::seal(session.challenge(), &Signer::from_seed(&CHECKER_SEED));
        refused_with(client.send_challenge(replay).await, 409, "already received");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_oversized_and_unknown_requests_are_refused() {
    let server = serve(ResponderLimits::default()).await;
    let client = client(&server);
    let http = reqwest::Client::new();
    let post = |route: &str, body: Vec<u8>| {
        http.post(format!("{}{route}", server.url))
            .header("content-type", popw_http::CONTENT_TYPE)
            .body(body)
            .send()
    };
    // Garbage of a plausible length on every POST route.
    for route in [popw_http::CHALLENGE, popw_http::PING, popw_http::OPEN] {
        let resp = post(
            route,
            vec![0xEE; 200.min(popw_http::max_request_len(route))],
        )
        .await
        .unwrap();
        let status = resp.status().as_u16();
        let reason = resp.text().await.unwrap();
        // A garbage ping/open names no known challenge (404); a garbage challenge is malformed.
        assert!(matches!(status, 400 | 404), "{route}: {status} {reason}");
        assert!(!reason.is_empty() && reason.len() <= 200, "{reason:?}");
        let resp = post(route, vec![1, 2, 3]).await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{route}");
        assert_eq!(resp.text().await.unwrap(), "message too short");
    }
    // One byte over each route's exact limit: 413 before anything is parsed.
    for route in [popw_http::CHALLENGE, popw_http::PING, popw_http::OPEN] {
        let resp = post(route, vec![0; popw_http::max_request_len(route) + 1])
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 413, "{route}");
    }
    let resp = post(popw_http::CHALLENGE, vec![0; 50 << 20]).await;
    // The server may close the connection before reading the whole body.
    if let Ok(resp) = resp {
        assert_eq!(resp.status().as_u16(), 413);
    }
    // Unknown challenge id, a bad id.
    refused_with(
        client.poll_commit(&ChallengeId([9; 32])).await,
        404,
        "unknown challenge",
    );
    let resp = http
        .get(format!("{}/popw/v1/commit/xyz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    // A ping and an open request for a challenge never received.
    let checker = checker(&CHECKER_SEED);
    let (mut session, _never_sent) = checker.issue(&request(40, 0), Instant::now()).unwrap();
    refused_with(
        client.ping(session.ping(Instant::now()).unwrap()).await,
        404,
        "unknown challenge",
    );
    let open = kaisar_popw::messages::seal(
        &kaisar_popw::Open {
            challenge_id: session.id(),
            indices: vec![kaisar_popw::RowIndex { t: 0, i: 0 }],
        },
        &Signer::from_seed(&CHECKER_SEED),
    );
    refused_with(client.open(open).await, 404, "unknown challenge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenges_for_another_worker_or_from_a_stranger_are_refused() {
    let server = serve(ResponderLimits::default()).await;
    let client = client(&server);
    let checker = checker(&CHECKER_SEED);
    let issue = |req: ChallengeRequest| checker.issue(&req, Instant::now()).unwrap().1;
    // Signed for another agent key.
    let mut req = request(50, 0);
    req.worker_agent = Signer::from_seed(&[0x55; 32]).public();
    refused_with(client.send_challenge(issue(req)).await, 403, "agent key");
    // Another worker id.
    let mut req = request(51, 0);
    req.worker_id = WORKER_ID + 1;
    refused_with(client.send_challenge(issue(req)).await, 403, "worker id");
    // A GPU this host does not have.
    let mut req = request(52, 0);
    req.gpu_uuid_hash = GpuUuidHash([3; 32]);
    refused_with(client.send_challenge(issue(req)).await, 403, "GPU differs");
    // Another model.
    let mut req = request(53, 0);
    req.claimed_model = GpuModel::L4;
    let other_model = Checker::with_table(
        Signer::from_seed(&CHECKER_SEED),
        CheckerConfig::default(),
        CalibrationTable::builtin().clone(),
    )
    .issue(&req, Instant::now())
    .unwrap()
    .1;
    refused_with(client.send_challenge(other_model).await, 403, "model");
    // Another chain (epoch randomness).
    let mut req = request(54, 0);
    req.epoch_randomness = [0x33; 32];
    refused_with(
        client.send_challenge(issue(req)).await,
        403,
        "epoch randomness",
    );
    // A checker the chain does not know.
    let stranger = checker_with_seed([0x77; 32]);
    let bytes = stranger.issue(&request(55, 0), Instant::now()).unwrap().1;
    refused_with(client.send_challenge(bytes).await, 403, "unknown checker");
    // A shape this worker does not accept.
    let mut req = request(56, 0);
    req.params = Some(Params { m: 32, ..PARAMS });
    refused_with(client.send_challenge(issue(req)).await, 422, "shape");
    // A flipped signature bit.
    let mut bytes = issue(request(57, 0));
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    refused_with(client.send_challenge(bytes).await, 403, "bad signature");
}

fn checker_with_seed(seed: [u8; 32]) -> Checker {
    checker(&seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_challenge_per_gpu_and_the_concurrency_cap_answer_429() {
    let server = serve(ResponderLimits {
        max_concurrent: 2,
        ..ResponderLimits::default()
    })
    .await;
    let client = client(&server);
    let checker = checker(&CHECKER_SEED);
    // GPU 0 holds its worker until the open request is answered.
    let (first, bytes) = checker.issue(&request(60, 0), Instant::now()).unwrap();
    client.send_challenge(bytes).await.unwrap();
    client.wait_commit(&first.id(), deadline(30)).await.unwrap();
    let (_, bytes) = checker.issue(&request(61, 0), Instant::now()).unwrap();
    refused_with(client.send_challenge(bytes).await, 429, "busy");
    // GPU 1 is free.
    let (_, bytes) = checker.issue(&request(62, 1), Instant::now()).unwrap();
    client.send_challenge(bytes).await.unwrap();
    // Now both are busy and the cap (2) is reached.
    let (_, bytes) = checker.issue(&request(63, 1), Instant::now()).unwrap();
    refused_with(client.send_challenge(bytes).await, 429, "too many");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_state_is_dropped_after_its_lifetime_and_the_gpu_is_freed() {
    let server = serve(ResponderLimits {
        max_challenge_lifetime: Duration::from_millis(300),
        ..ResponderLimits::default()
    })
    .await;
    let client = client(&server);
    let checker = checker(&CHECKER_SEED);
    let (first, bytes) = checker.issue(&request(70, 0), Instant::now()).unwrap();
    client.send_challenge(bytes).await.unwrap();
    // Poll (no fixed sleep) until the state is gone.
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        match client.poll_commit(&first.id()).await {
            Err(ClientError::Refused { status: 404, .. }) => break,
            Ok(_) => {}
            other => panic!("{other:?}"),
        }
        assert!(Instant::now() < until, "challenge state never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The GPU takes a new challenge.
    let (_, bytes) = checker.issue(&request(71, 0), Instant::now()).unwrap();
    client.send_challenge(bytes).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_cpu_worker_answers_its_calibrated_challenge_without_a_test_shape() {
    // A responder slot for the development-only DevCpu with the default limits (no
    // `test_shape`), and the production checker (built-in table, timing judged, the claimed
    // model's calibrated parameters): the CPU passes on its real speed.
    let hash = GpuUuidHash::of_uuid("GPU-00000000-0000-4000-8000-00000000dec0");
    let slot = Slot {
        identity: WorkerIdentity {
            worker_id: WORKER_ID,
            gpu_uuid_hash: hash,
            model: GpuModel::DevCpu,
        },
        backend: CpuBackend::new(),
        snapshot: Arc::new(move || {
            GpuSnapshot::without_telemetry(hash, kaisar_popw::snapshot::unix_time_ms())
        }),
    };
    let expectations = Arc::new(StaticExpectations {
        checkers: vec![Signer::from_seed(&CHECKER_SEED).public()],
        genesis_hash: GENESIS,
        epoch_randomness: RANDOMNESS,
    });
    let responder = Responder::new(
        &AGENT_SEED,
        vec![slot],
        expectations,
        ResponderLimits::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = responder.router();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    let server = Server {
        url,
        shutdown: Some(tx),
    };
    let client = client(&server);
    let checker = Checker::new(Signer::from_seed(&CHECKER_SEED), CheckerConfig::default());
    let req = ChallengeRequest {
        gpu_uuid_hash: hash,
        claimed_model: GpuModel::DevCpu,
        params: None,
        ..request(9, 0)
    };
    let (mut session, challenge) = checker.issue(&req, Instant::now()).unwrap();
    assert_eq!(
        Some(session.challenge().params),
        CalibrationTable::builtin().standard_params(GpuModel::DevCpu)
    );
    client.send_challenge(challenge).await.unwrap();
    let ping = session.ping(Instant::now()).unwrap();
    let pong = client.ping(ping).await.unwrap();
    session.receive_pong(&pong, Instant::now()).unwrap();
    let commit = client
        .wait_commit(&session.id(), deadline(60))
        .await
        .unwrap();
    let open = match session.receive_commit(&commit, Instant::now()).unwrap() {
        AfterCommit::SendOpen(bytes) => bytes,
        AfterCommit::Done(v) => panic!("no open request: {v:?}"),
    };
    let openings = client.open(open).await.unwrap();
    let verdict = session.receive_openings(&openings, Instant::now()).unwrap();
    assert!(verdict.passed(), "{verdict:?}");
    assert_eq!(verdict.rows_verified, 128);
    let ratio = verdict.ratio.unwrap();
    assert!((0.1..=2000.0).contains(&ratio), "{ratio}");
}
