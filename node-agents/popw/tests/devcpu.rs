//! The development-only `DevCpu` model: a CPU worker passes its calibrated challenge with the
//! timing judged by the real checker (built-in table, default pass window), and the same CPU
//! claiming a GPU model fails.
//!
//! What is shown, honestly: the `DevCpu` exchange runs end to end in real time (the commit's
//! arrival is the real clock after the CPU backend did the work). A GPU model's standard
//! challenge (`8192 x 8192 x 32768` times its chunk count, ~10^15 operations for an L4) would
//! take weeks on a CPU, so it is not run: instead (1) the real checker judges real CPU work of
//! the `DevCpu` size against the real L4 calibration (the ratio depends on throughput, not on
//! size) and fails it as too slow, (2) a worker claiming L4 refuses any shape but the standard
//! one, and (3) the L4 standard challenge needs over 100 times the operations the CPU's
//! measured throughput does in the commit timeout, so the checker's commit timeout fails it.
//!
//! CI runs this file in a release build (`cargo test --release -p kaisar-popw`): the CPU is
//! then ~30 times faster per core, still inside DevCpu's window and still far from an L4.

mod common;

use common::{
    agent_signer, checker_signer, expectation, gpu, snapshots, EPOCH_RANDOMNESS, GENESIS,
};
use kaisar_popw::checker::AfterCommit;
use kaisar_popw::{
    calibration::CalibrationTable, ChallengeRequest, Checker, CheckerConfig, CpuBackend, Failure,
    Nonce, Params, Verdict, Worker, WorkerError, WorkerIdentity, STANDARD_SHAPE,
};
use kaisar_primitives::GpuModel;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::{Duration, Instant};

const WORKER_ID: u64 = 7;

fn identity(model: GpuModel) -> WorkerIdentity {
    WorkerIdentity {
        worker_id: WORKER_ID,
        gpu_uuid_hash: gpu(),
        model,
    }
}

fn request(nonce: Nonce, model: GpuModel, params: Option<Params>) -> ChallengeRequest {
    ChallengeRequest {
        genesis_hash: GENESIS,
        epoch_randomness: EPOCH_RANDOMNESS,
        nonce,
        worker_id: WORKER_ID,
        worker_agent: agent_signer().public(),
        gpu_uuid_hash: gpu(),
        claimed_model: model,
        params,
    }
}

/// The production checker: built-in calibration table, default pass window and timeouts.
fn production_checker() -> Checker {
    Checker::new(checker_signer(), CheckerConfig::default())
}

/// One exchange in real time: the commit "arrives" when the CPU finished the work.
fn exchange(
    checker: &Checker,
    worker: &mut Worker<CpuBackend>,
    model: GpuModel,
    params: Option<Params>,
    rng: &mut StdRng,
) -> Verdict {
    let nonce = Nonce::random_with_rng(rng);
    let t0 = Instant::now();
    let (mut session, challenge) = checker
        .issue_with_rng(&request(nonce, model, params), rng, t0)
        .unwrap();
    let accepted = worker.accept(&challenge, &expectation(&nonce)).unwrap();
    let (pending, commit) = worker.work(accepted, &mut snapshots()).unwrap();
    let open = match session
        .receive_commit_with_rng(&commit, Instant::now(), rng)
        .unwrap()
    {
        AfterCommit::SendOpen(bytes) => bytes,
        AfterCommit::Done(v) => return v,
    };
    let openings = worker.open(&pending, &open).unwrap();
    session.receive_openings(&openings, Instant::now()).unwrap()
}

#[test]
fn cpu_worker_passes_its_dev_cpu_challenge_with_timing_judged() {
    let table = CalibrationTable::builtin();
    let standard = table.standard_params(GpuModel::DevCpu).unwrap();
    let checker = production_checker();
    // `Worker::new`: no test shape; it accepts DevCpu's calibrated shape by itself.
    let mut worker = Worker::new(
        agent_signer(),
        identity(GpuModel::DevCpu),
        CpuBackend::new(),
    );
    let mut rng = StdRng::seed_from_u64(1);
    let v = exchange(&checker, &mut worker, GpuModel::DevCpu, None, &mut rng);
    eprintln!(
        "DevCpu {standard:?}: work {:?}, {:.3} GOPS, ratio {:.2} (debug build: {})",
        v.work_time.unwrap(),
        v.throughput_tops.unwrap() * 1e3,
        v.ratio.unwrap(),
        cfg!(debug_assertions)
    );
    assert_eq!(v.outcome, Ok(()), "{v:?}");
    assert_eq!(v.rows_verified, 128);
    // Judged, not waved through: the ratio is a real measurement inside DevCpu's window.
    let ratio = v.ratio.unwrap();
    assert!((0.1..=2000.0).contains(&ratio), "{ratio}");
}

#[test]
fn same_cpu_claiming_a_gpu_model_fails_on_timing() {
    let table = CalibrationTable::builtin();
    let dev = table.standard_params(GpuModel::DevCpu).unwrap();
    let checker = production_checker();
    let mut rng = StdRng::seed_from_u64(2);

    // (1) Real CPU work of DevCpu's size, judged against the real L4 calibration (169.75
    // TOPS) with the default window: far too slow.
    let mut cpu_as_l4 = Worker::new(agent_signer(), identity(GpuModel::L4), CpuBackend::new())
        .with_shape(dev.shape());
    let v = exchange(&checker, &mut cpu_as_l4, GpuModel::L4, Some(dev), &mut rng);
    eprintln!(
        "CPU claiming L4 on {dev:?}: work {:?}, {:.3} GOPS, ratio {:.2e}",
        v.work_time.unwrap(),
        v.throughput_tops.unwrap() * 1e3,
        v.ratio.unwrap()
    );
    assert_eq!(v.outcome, Err(Failure::TooSlow), "{v:?}");
    assert!(v.ratio.unwrap() < 0.001);
    let cpu_tops = v.throughput_tops.unwrap();

    // (2) A worker claiming L4 accepts only the standard shape: DevCpu's small challenge is
    // not something an L4 claim can be checked with.
    let honest_l4 = Worker::new(agent_signer(), identity(GpuModel::L4), CpuBackend::new());
    let nonce = Nonce::random_with_rng(&mut rng);
    let (_, small) = checker
        .issue_with_rng(
            &request(nonce, GpuModel::L4, Some(dev)),
            &mut rng,
            Instant::now(),
        )
        .unwrap();
    assert!(matches!(
        honest_l4.accept(&small, &expectation(&nonce)),
        Err(WorkerError::UnexpectedShape { .. })
    ));

    // (3) The real L4 challenge: the standard shape, ~1.2e15 operations. At the throughput the
    // CPU just showed, the work needs over 100 commit timeouts (measured here: ~130 000 in a
    // debug build, ~4 000 in a release build on 2 cores; a release build on 64 cores would
    // still need ~100); the checker fails it when the first timeout passes.
    let l4 = table.standard_params(GpuModel::L4).unwrap();
    assert_eq!(l4.shape(), STANDARD_SHAPE);
    let timeout = CheckerConfig::default().commit_timeout;
    let cpu_ops_in_timeout = cpu_tops * 1e12 * timeout.as_secs_f64();
    assert!(
        (l4.total_ops() as f64) > 100.0 * cpu_ops_in_timeout,
        "{l4:?} vs {cpu_ops_in_timeout:e}"
    );
    let nonce = Nonce::random_with_rng(&mut rng);
    let t0 = Instant::now();
    let (mut session, challenge) = checker
        .issue_with_rng(&request(nonce, GpuModel::L4, None), &mut rng, t0)
        .unwrap();
    assert_eq!(session.challenge().params, l4);
    honest_l4.accept(&challenge, &expectation(&nonce)).unwrap();
    let v = session
        .check_timeout(t0 + timeout + Duration::from_millis(1))
        .expect("the commit timeout passed");
    assert_eq!(v.outcome, Err(Failure::CommitTimeout));
}

#[test]
fn dev_cpu_window_still_fails_a_stalled_worker() {
    // The wide DevCpu window is still a window: a commit 11 times later than the calibrated
    // time (ratio < 0.1) fails as too slow. Simulated time: the work is real, its arrival late.
    let table = CalibrationTable::builtin();
    let e = table.entry(GpuModel::DevCpu).unwrap();
    let p = table.standard_params(GpuModel::DevCpu).unwrap();
    let expected = p.total_ops() as f64 / (e.calibrated_tops() * 1e12);
    let config = CheckerConfig {
        commit_timeout: Duration::from_secs_f64(expected * 20.0),
        ..CheckerConfig::default()
    };
    let checker = Checker::new(checker_signer(), config);
    let mut worker = Worker::new(
        agent_signer(),
        identity(GpuModel::DevCpu),
        CpuBackend::new(),
    );
    let mut rng = StdRng::seed_from_u64(3);
    let nonce = Nonce::random_with_rng(&mut rng);
    let t0 = Instant::now();
    let (mut session, challenge) = checker
        .issue_with_rng(&request(nonce, GpuModel::DevCpu, None), &mut rng, t0)
        .unwrap();
    let accepted = worker.accept(&challenge, &expectation(&nonce)).unwrap();
    let (pending, commit) = worker.work(accepted, &mut snapshots()).unwrap();
    let late = t0 + Duration::from_secs_f64(expected * 11.0);
    let AfterCommit::SendOpen(open) = session
        .receive_commit_with_rng(&commit, late, &mut rng)
        .unwrap()
    else {
        panic!("within the commit timeout")
    };
    let openings = worker.open(&pending, &open).unwrap();
    let v = session.receive_openings(&openings, late).unwrap();
    assert_eq!(v.outcome, Err(Failure::TooSlow), "{v:?}");
}
