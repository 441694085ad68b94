//! Shared set-up for the protocol and soundness tests: a checker and a worker talking through
//! real signed messages, with simulated time.
#![allow(dead_code)]

use kaisar_popw::calibration::CalibrationTable;
use kaisar_popw::checker::AfterCommit;
use kaisar_popw::{
    Backend, ChallengeExpectation, ChallengeRequest, Checker, CheckerConfig, CheckerSession,
    GpuSnapshot, GpuUuidHash, Nonce, Params, Signer, Verdict, Worker, WorkerIdentity,
};
use kaisar_primitives::GpuModel;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::{Duration, Instant};

pub const GENESIS: [u8; 32] = [0x11; 32];
pub const EPOCH_RANDOMNESS: [u8; 32] = [0x22; 32];
pub const WORKER_ID: u64 = 42;
pub const MODEL: GpuModel = GpuModel::L40S;

pub fn gpu() -> GpuUuidHash {
    GpuUuidHash::of_uuid("GPU-8d3c1a2e-0000-4000-8000-000000000001")
}

/// A table in which `MODEL` does exactly `params.total_ops()` operations per second, so that a
/// commit arriving `1 / ratio` seconds after the challenge scores `ratio`.
pub fn table_for(params: &Params) -> CalibrationTable {
    let tops = params.total_ops() as f64 / 1e12;
    CalibrationTable::parse(&format!(
        "[[model]]\nmodel = \"L40S\"\nint8_dense_tops = {tops:e}\ncalibrated_fraction = 1.0\nstatus = \"estimate\"\nsource = \"test\"\n"
    ))
    .unwrap()
}

pub fn checker_signer() -> Signer {
    Signer::from_seed(&[0xC1; 32])
}

pub fn agent_signer() -> Signer {
    Signer::from_seed(&[0xA9; 32])
}

pub fn identity() -> WorkerIdentity {
    WorkerIdentity {
        worker_id: WORKER_ID,
        gpu_uuid_hash: gpu(),
        model: MODEL,
    }
}

/// A worker accepting challenges of `params`' shape (a test shape: a real worker accepts only
/// the calibrated `STANDARD_SHAPE`).
pub fn worker<B: Backend>(backend: B, params: &Params) -> Worker<B> {
    Worker::new(agent_signer(), identity(), backend).with_shape(params.shape())
}

pub fn checker(params: &Params, openings: u32) -> Checker {
    let config = CheckerConfig {
        openings,
        ..CheckerConfig::default()
    };
    Checker::with_table(checker_signer(), config, table_for(params))
}

pub fn request(nonce: Nonce, params: Params) -> ChallengeRequest {
    ChallengeRequest {
        genesis_hash: GENESIS,
        epoch_randomness: EPOCH_RANDOMNESS,
        nonce,
        worker_id: WORKER_ID,
        worker_agent: agent_signer().public(),
        gpu_uuid_hash: gpu(),
        claimed_model: MODEL,
        params: Some(params),
    }
}

pub fn expectation(nonce: &Nonce) -> ChallengeExpectation {
    ChallengeExpectation {
        checker: checker_signer().public(),
        nonce_commitment: nonce.commitment(),
        genesis_hash: GENESIS,
        epoch_randomness: EPOCH_RANDOMNESS,
    }
}

pub fn snapshots() -> impl FnMut() -> GpuSnapshot {
    let mut clock = 1_700_000_000_000u64;
    move || {
        clock += 1000;
        GpuSnapshot::without_telemetry(gpu(), clock)
    }
}

/// Timing of a simulated exchange.
#[derive(Clone, Copy)]
pub struct Timing {
    /// Seconds from issue to commit arrival.
    pub commit_after: f64,
    /// Seconds from open request to openings arrival.
    pub openings_after: f64,
    /// Round trip of the checker's ping (the worker's answer arrives this long after the
    /// ping is sent); `None`: no ping.
    pub rtt: Option<Duration>,
}

impl Default for Timing {
    /// Ratio 0.8 of the calibrated speed (with `table_for`), fast openings.
    fn default() -> Self {
        Self {
            commit_after: 1.25,
            openings_after: 0.2,
            rtt: None,
        }
    }
}

/// Run one whole exchange between `checker` and `worker`; returns the verdict.
pub fn run_exchange<B: Backend>(
    checker: &Checker,
    worker: &mut Worker<B>,
    params: Params,
    rng: &mut StdRng,
    timing: Timing,
) -> Verdict {
    let (_, verdict) = run_exchange_keep(checker, worker, params, rng, timing);
    verdict
}

/// As [`run_exchange`], also returning the checker session.
pub fn run_exchange_keep<B: Backend>(
    checker: &Checker,
    worker: &mut Worker<B>,
    params: Params,
    rng: &mut StdRng,
    timing: Timing,
) -> (CheckerSession, Verdict) {
    let nonce = Nonce::random_with_rng(rng);
    let t0 = Instant::now();
    let (mut session, challenge) = checker
        .issue_with_rng(&request(nonce, params), rng, t0)
        .unwrap();
    let accepted = worker.accept(&challenge, &expectation(&nonce)).unwrap();
    if let Some(rtt) = timing.rtt {
        // The checker measures the round trip itself: one ping, answered after `rtt`.
        let ping = session.ping(t0).unwrap();
        let pong = worker.pong(&accepted, &ping).unwrap();
        session.receive_pong(&pong, t0 + rtt).unwrap();
    }
    let (pending, commit) = worker.work(accepted, &mut snapshots()).unwrap();
    let commit_at = t0 + Duration::from_secs_f64(timing.commit_after);
    let open = match session
        .receive_commit_with_rng(&commit, commit_at, rng)
        .unwrap()
    {
        AfterCommit::SendOpen(bytes) => bytes,
        AfterCommit::Done(v) => return (session, v),
    };
    let openings = worker.open(&pending, &open).unwrap();
    let at = commit_at + Duration::from_secs_f64(timing.openings_after);
    let verdict = session.receive_openings(&openings, at).unwrap();
    (session, verdict)
}

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}
