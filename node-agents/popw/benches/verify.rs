//! Benchmarks for `docs/popw.md`:
//!
//! * `checker/verify_h100_challenge`: the checker's whole verification of an H100-SXM-sized
//!   challenge on one core: `receive_openings` = size check, sr25519 verification of the ~4 MiB
//!   message, decoding, `y = B*r` (regenerating all of `B`), and 128 opened rows (BLAKE3 row
//!   hash, Merkle path, Freivalds check with `A_t[i,:]` regenerated).
//! * `checker/compute_y_h100` and `checker/check_128_rows_h100`: the two parts.
//! * printed, timed by hand with wall clock and on-CPU time: `verify_h100_challenge` again, and
//!   `verify_h100_after_precompute`, `receive_openings` when `y` was precomputed while the worker
//!   computed, i.e. the checker's latency after the openings arrive.
//! * `cpu_backend/row_h100` and `cpu_backend/tile8_h100`: the CPU backend computing one row, and
//!   a tile of 8 rows, of an H100-sized product on one thread.
//!
//! The peak heap used by one verification is measured with a counting allocator and printed.
//!
//! The commitment is synthetic: the 128 opened rows are computed honestly, every other leaf
//! and chunk root is filler. The checker cannot tell the difference (it only ever sees the
//! opened rows and their paths), so its cost is exactly that of a real H100 challenge; building
//! a real one would take this machine days.
#![allow(unsafe_code)] // the counting allocator below

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use kaisar_popw::backend::{Backend, CpuBackend};
use kaisar_popw::calibration::CalibrationTable;
use kaisar_popw::checker::AfterCommit;
use kaisar_popw::merkle::{self, Hash};
use kaisar_popw::messages::{self, Commit, Openings};
use kaisar_popw::prf::MatrixPrf;
use kaisar_popw::{
    verify, ChallengeRequest, Checker, CheckerConfig, CheckerSession, GpuSnapshot, GpuUuidHash,
    Nonce, OpenedRow, Params, RowIndex, Signer,
};
use kaisar_primitives::GpuModel;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MODEL: GpuModel = GpuModel::H100Sxm;
const CHECKER_RNG_SEED: u64 = 7;

fn checker_key() -> Signer {
    Signer::from_seed(&[0xC1; 32])
}
fn agent_key() -> Signer {
    Signer::from_seed(&[0xA9; 32])
}
fn gpu() -> GpuUuidHash {
    GpuUuidHash::of_uuid("GPU-bench")
}

fn request(params: Params) -> ChallengeRequest {
    ChallengeRequest {
        genesis_hash: [1; 32],
        epoch_randomness: [2; 32],
        nonce: Nonce([3; 32]),
        worker_id: 1,
        worker_agent: agent_key().public(),
        gpu_uuid_hash: gpu(),
        claimed_model: MODEL,
        params: Some(params),
    }
}

fn commit_bytes(checker_session: &CheckerSession, root: Hash) -> Vec<u8> {
    let commit = Commit {
        challenge_id: checker_session.id(),
        root,
        before: GpuSnapshot::without_telemetry(gpu(), 1_000),
        after: GpuSnapshot::without_telemetry(gpu(), 8_000),
    };
    messages::seal(&commit, &agent_key())
}

/// Issue the challenge and accept a commit with `root`; deterministic, so the same rows are
/// asked every time. Returns the session waiting for openings, and the rows asked.
fn session_at_openings(
    checker: &Checker,
    params: Params,
    root: Hash,
    t0: Instant,
) -> (CheckerSession, Vec<RowIndex>) {
    let mut rng = StdRng::seed_from_u64(CHECKER_RNG_SEED);
    let (mut s, _) = checker
        .issue_with_rng(&request(params), &mut rng, t0)
        .unwrap();
    let commit = commit_bytes(&s, root);
    let AfterCommit::SendOpen(open) = s
        .receive_commit_with_rng(&commit, t0 + Duration::from_secs(7), &mut rng)
        .unwrap()
    else {
        panic!("commit refused")
    };
    let open: kaisar_popw::Open = messages::unseal(&open, usize::MAX, &checker.public()).unwrap();
    (s, open.indices)
}

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`), if readable.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn filler(tag: u64) -> Hash {
    *blake3::hash(&tag.to_le_bytes()).as_bytes()
}

struct Fixture {
    params: Params,
    checker: Checker,
    root: Hash,
    asked: Vec<RowIndex>,
    openings_bytes: Vec<u8>,
    opened: Vec<OpenedRow>,
    seed: kaisar_popw::Seed,
    cpu: CpuBackend,
}

fn fixture() -> Fixture {
    let params = CalibrationTable::builtin().standard_params(MODEL).unwrap();
    let checker = Checker::new(checker_key(), CheckerConfig::default());
    let t0 = Instant::now();
    // Dry run to learn which rows the (deterministic) checker asks for.
    let (s, asked) = session_at_openings(&checker, params, [0; 32], t0);
    let seed = s.challenge().seed();
    eprintln!(
        "fixture: {params:?}, {} rows asked; computing them on the CPU backend...",
        asked.len()
    );
    let start = Instant::now();
    let mut cpu = CpuBackend::new();
    let rows = cpu.rows(&seed, &params, &asked).unwrap();
    eprintln!(
        "fixture: rows computed in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    // Synthetic tree: honest leaves at the asked rows, filler everywhere else.
    let m = params.m as usize;
    let mut by_chunk: BTreeMap<u32, Vec<(u32, Hash)>> = BTreeMap::new();
    for (ix, row) in asked.iter().zip(&rows) {
        by_chunk
            .entry(ix.t)
            .or_default()
            .push((ix.i, merkle::leaf_hash(ix.t, ix.i, row)));
    }
    let mut chunk_roots: Vec<Hash> = (0..params.chunks as u64)
        .map(|t| filler(1 << 40 | t))
        .collect();
    let mut chunk_leaves: BTreeMap<u32, Vec<Hash>> = BTreeMap::new();
    for (t, leaves_here) in &by_chunk {
        let mut leaves: Vec<Hash> = (0..m as u64)
            .map(|i| filler((*t as u64) << 20 | i))
            .collect();
        for (i, h) in leaves_here {
            leaves[*i as usize] = *h;
        }
        chunk_roots[*t as usize] = merkle::root(&leaves).unwrap();
        chunk_leaves.insert(*t, leaves);
    }
    let root = merkle::root(&chunk_roots).unwrap();
    let opened: Vec<OpenedRow> = asked
        .iter()
        .zip(rows)
        .map(|(ix, row)| {
            let mut path = merkle::path(&chunk_leaves[&ix.t], ix.i as usize).unwrap();
            path.extend(merkle::path(&chunk_roots, ix.t as usize).unwrap());
            OpenedRow {
                index: *ix,
                row,
                path,
            }
        })
        .collect();
    let (s, asked2) = session_at_openings(&checker, params, root, t0);
    assert_eq!(
        asked, asked2,
        "the deterministic checker asks the same rows"
    );
    let openings_bytes = messages::seal(
        &Openings {
            challenge_id: s.id(),
            rows: opened.clone(),
        },
        &agent_key(),
    );
    Fixture {
        params,
        checker,
        root,
        asked,
        openings_bytes,
        opened,
        seed,
        cpu,
    }
}

fn benches(c: &mut Criterion) {
    let mut f = fixture();
    let t0 = Instant::now();

    // One verification outside criterion: correctness and peak heap.
    let (mut s, _) = session_at_openings(&f.checker, f.params, f.root, t0);
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let verdict = s
        .receive_openings(&f.openings_bytes, t0 + Duration::from_secs(8))
        .unwrap();
    let took = start.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    assert_eq!(verdict.rows_verified, 128);
    assert!(
        verdict.outcome.is_ok()
            || matches!(
                verdict.outcome,
                Err(kaisar_popw::Failure::TooSlow | kaisar_popw::Failure::TooFast)
            )
    );
    eprintln!(
        "verify_h100_challenge: one run {:.3} s; openings message {:.2} MiB; peak extra heap during verification {:.2} MiB",
        took.as_secs_f64(),
        f.openings_bytes.len() as f64 / (1 << 20) as f64,
        peak as f64 / (1 << 20) as f64
    );

    // Timed by hand, wall clock and on-CPU time of this thread (the latter is what one core
    // costs, whatever else the machine is doing): the whole verification (`y` computed when the
    // openings arrive), and the latency-critical path when the checker computed `y` while the
    // worker was busy (`CheckerSession::precompute`): size check, signature, decoding and the
    // 128 rows. (A session cannot be cloned, so these cannot go through `iter_batched` cheaply.)
    let timed = |precompute: bool| {
        let mut wall = Vec::new();
        let mut cpu = Vec::new();
        for _ in 0..7 {
            let (mut s, _) = session_at_openings(&f.checker, f.params, f.root, t0);
            if precompute {
                s.precompute();
            }
            let (w0, c0) = (Instant::now(), thread_cpu_ns());
            let v = s
                .receive_openings(&f.openings_bytes, t0 + Duration::from_secs(8))
                .unwrap();
            let (w1, c1) = (w0.elapsed().as_secs_f64(), thread_cpu_ns());
            assert_eq!(v.rows_verified, 128);
            wall.push(w1 * 1e3);
            if let (Some(a), Some(b)) = (c0, c1) {
                cpu.push((b - a) as f64 / 1e6);
            }
        }
        wall.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let name = if precompute {
            "verify_h100_after_precompute"
        } else {
            "verify_h100_challenge"
        };
        eprintln!(
            "{name}: 7 runs, wall median {:.1} ms (min {:.1}, max {:.1}); on-CPU median {} ms",
            wall[3],
            wall[0],
            wall[6],
            cpu.get(3)
                .map(|x| format!("{x:.1}"))
                .unwrap_or_else(|| "n/a".into())
        );
    };
    timed(false);
    timed(true);

    let mut g = c.benchmark_group("checker");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("verify_h100_challenge", |b| {
        b.iter_batched(
            || session_at_openings(&f.checker, f.params, f.root, t0).0,
            |mut s| {
                s.receive_openings(&f.openings_bytes, t0 + Duration::from_secs(8))
                    .unwrap()
            },
            BatchSize::PerIteration,
        )
    });
    let prf = MatrixPrf::new(&f.seed);
    let mut rng = StdRng::seed_from_u64(1);
    let r = verify::draw_secret(&mut rng, f.params.n);
    g.bench_function("compute_y_h100", |b| {
        b.iter(|| verify::compute_y(&prf, &f.params, &r))
    });
    // check_openings needs the checker's own r (drawn in the session); rebuild it.
    let mut rng = StdRng::seed_from_u64(CHECKER_RNG_SEED);
    let r = verify::draw_secret(&mut rng, f.params.n);
    let y = verify::compute_y(&prf, &f.params, &r);
    assert_eq!(
        verify::check_openings(&prf, &f.params, &f.root, &r, &y, &f.asked, &f.opened),
        Ok(())
    );
    g.bench_function("check_128_rows_h100", |b| {
        b.iter(|| {
            verify::check_openings(&prf, &f.params, &f.root, &r, &y, &f.asked, &f.opened).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("cpu_backend");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    let one = [RowIndex { t: 5, i: 17 }];
    let eight: Vec<RowIndex> = (0..8).map(|i| RowIndex { t: 9, i }).collect();
    // B is cached by the first call (fixture), so this is the row product alone.
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function("row_h100", |b| {
        b.iter(|| single.install(|| f.cpu.rows(&f.seed, &f.params, &one).unwrap()))
    });
    g.bench_function("tile8_h100", |b| {
        b.iter(|| single.install(|| f.cpu.rows(&f.seed, &f.params, &eight).unwrap()))
    });
    g.finish();
}

criterion_group!(popw, benches);
criterion_main!(popw);
