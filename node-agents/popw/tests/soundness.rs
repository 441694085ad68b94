//! Soundness: cheating workers are caught at least as often as the analysis predicts.
//!
//! Each cheater is a [`Backend`] that plugs into the real [`kaisar_popw::Worker`], so every run
//! goes through the full signed protocol. Analysis (`docs/popw.md`, "Soundness"):
//!
//! * a worker whose committed tree has `B` wrong rows out of `N = T*m`, facing `s` distinct
//!   uniformly drawn openings, escapes with probability exactly
//!   `C(N-B, s) / C(N, s) <= (1 - B/N)^s`;
//! * an opened wrong row passes the Freivalds check with probability at most `1/p = 2^-61`;
//! * so a worker whose rows are all wrong (random rows, another seed, a replayed result) is
//!   caught with probability `>= 1 - 2^-61`.
//!
//! Run with `--nocapture` to print the measured rates. The run counts are multiplied by the
//! environment variable `POPW_SOUNDNESS_SCALE` (default 1, i.e. 300 to 2000 runs per case, about
//! 2 s in release mode); e.g. `POPW_SOUNDNESS_SCALE=20` for tighter estimates.

mod common;

use common::*;
use kaisar_popw::backend::{Backend, BackendError, ChunkHashes, CpuBackend};
use kaisar_popw::merkle::{self, Commitment};
use kaisar_popw::prf::MatrixPrf;
use kaisar_popw::verify::{self, RowFault};
use kaisar_popw::{Failure, OpenedRow, Params, RowIndex, Seed, Verdict};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

/// What a cheater does.
#[derive(Clone, Copy, Debug)]
enum Strategy {
    /// Commits to random rows (does no work).
    RandomRows,
    /// Computes only part of the rows: `bad` rows (chosen at random per challenge) are garbage.
    SkipRows { bad: usize },
    /// Computes everything, then changes one entry of one random row before committing.
    TamperOneRow,
    /// Computes honestly for another (random) seed.
    OtherSeed,
    /// Computes the first challenge honestly, then replays that result for every later one.
    ReuseFirst,
    /// Commits honestly, but answers the first opened row with one entry changed.
    TamperAfterCommit,
}

struct Cheater {
    strategy: Strategy,
    rng: StdRng,
    honest: CpuBackend,
    /// The rows committed for the current challenge (all of them; parameters are small).
    claimed: HashMap<RowIndex, Vec<i32>>,
    first: Option<(HashMap<RowIndex, Vec<i32>>, ChunkHashes)>,
}

impl Cheater {
    fn new(strategy: Strategy, seed: u64) -> Self {
        Self {
            strategy,
            rng: StdRng::seed_from_u64(seed),
            honest: CpuBackend::new(),
            claimed: HashMap::new(),
            first: None,
        }
    }

    fn honest_rows(&mut self, seed: &Seed, p: &Params) -> HashMap<RowIndex, Vec<i32>> {
        let mut rows = HashMap::new();
        for t in 0..p.chunks {
            let c = self.honest.chunk(seed, p, t).unwrap();
            for (i, row) in c.chunks(p.n as usize).enumerate() {
                rows.insert(RowIndex { t, i: i as u32 }, row.to_vec());
            }
        }
        rows
    }
}

fn hashes_of(rows: &HashMap<RowIndex, Vec<i32>>, p: &Params) -> ChunkHashes {
    let mut leaves = Vec::new();
    let mut chunk_roots = Vec::new();
    for t in 0..p.chunks {
        let chunk: Vec<_> = (0..p.m)
            .map(|i| merkle::leaf_hash(t, i, &rows[&RowIndex { t, i }]))
            .collect();
        chunk_roots.push(merkle::root(&chunk).unwrap());
        leaves.extend(chunk);
    }
    ChunkHashes {
        leaves,
        chunk_roots,
    }
}

impl Backend for Cheater {
    fn name(&self) -> &'static str {
        "cheater"
    }

    fn commit(&mut self, seed: &Seed, p: &Params) -> Result<ChunkHashes, BackendError> {
        let all: Vec<RowIndex> = (0..p.chunks)
            .flat_map(|t| (0..p.m).map(move |i| RowIndex { t, i }))
            .collect();
        let rows = match self.strategy {
            Strategy::RandomRows => all
                .iter()
                .map(|ix| (*ix, (0..p.n).map(|_| self.rng.gen()).collect()))
                .collect(),
            Strategy::SkipRows { bad } => {
                let mut rows = self.honest_rows(seed, p);
                for x in rand::seq::index::sample(&mut self.rng, all.len(), bad) {
                    // A skipped row: whatever the worker makes up instead of computing it.
                    let garbage = (0..p.n).map(|_| self.rng.gen_range(-1000..1000)).collect();
                    rows.insert(all[x], garbage);
                }
                rows
            }
            Strategy::TamperOneRow => {
                let mut rows = self.honest_rows(seed, p);
                let ix = all[self.rng.gen_range(0..all.len())];
                let j = self.rng.gen_range(0..p.n as usize);
                rows.get_mut(&ix).unwrap()[j] ^= 1;
                rows
            }
            Strategy::OtherSeed => {
                let other = Seed(self.rng.gen());
                self.honest_rows(&other, p)
            }
            Strategy::ReuseFirst => {
                if let Some((rows, hashes)) = &self.first {
                    self.claimed = rows.clone();
                    return Ok(hashes.clone());
                }
                let rows = self.honest_rows(seed, p);
                self.first = Some((rows.clone(), hashes_of(&rows, p)));
                rows
            }
            Strategy::TamperAfterCommit => self.honest_rows(seed, p),
        };
        let hashes = hashes_of(&rows, p);
        self.claimed = rows;
        Ok(hashes)
    }

    fn rows(
        &mut self,
        _seed: &Seed,
        _p: &Params,
        indices: &[RowIndex],
    ) -> Result<Vec<Vec<i32>>, BackendError> {
        let mut out: Vec<Vec<i32>> = indices.iter().map(|ix| self.claimed[ix].clone()).collect();
        if matches!(self.strategy, Strategy::TamperAfterCommit) {
            out[0][0] = out[0][0].wrapping_add(1);
        }
        Ok(out)
    }

    fn chunk(&mut self, _seed: &Seed, p: &Params, t: u32) -> Result<Vec<i32>, BackendError> {
        Ok((0..p.m)
            .flat_map(|i| self.claimed[&RowIndex { t, i }].clone())
            .collect())
    }
}

/// Runs `runs` whole signed exchanges (checker, worker, sr25519) and returns the verdicts.
fn campaign(strategy: Strategy, p: Params, openings: u32, runs: usize, seed: u64) -> Vec<Verdict> {
    let checker = checker(&p, openings);
    let mut w = worker(Cheater::new(strategy, seed), &p);
    let mut r = rng(seed ^ 0x5eed);
    (0..runs)
        .map(|_| run_exchange(&checker, &mut w, p, &mut r, Timing::default()))
        .collect()
}

/// The same decision as a whole exchange, without the messages and signatures (which are
/// slow in debug builds and cannot change whether a row is caught): fresh seed, commit, draw
/// the openings after the commit, answer, verify. Returns the first faulty row, if any.
fn core_campaign(
    strategy: Strategy,
    p: Params,
    openings: u32,
    runs: usize,
    seed: u64,
) -> Vec<Option<RowFault>> {
    let mut cheater = Cheater::new(strategy, seed);
    let mut r = rng(seed ^ 0xc0de);
    (0..runs)
        .map(|_| {
            let challenge_seed = Seed(r.gen());
            let prf = MatrixPrf::new(&challenge_seed);
            let h = cheater.commit(&challenge_seed, &p).unwrap();
            let tree = Commitment::from_chunks(p.m as usize, h.leaves, h.chunk_roots).unwrap();
            let secret = verify::draw_secret(&mut r, p.n);
            let asked = verify::select_openings(&mut r, &p, openings);
            let rows = cheater.rows(&challenge_seed, &p, &asked).unwrap();
            let opened: Vec<OpenedRow> = asked
                .iter()
                .zip(rows)
                .map(|(ix, row)| OpenedRow {
                    index: *ix,
                    row,
                    path: tree.path(ix.t, ix.i).unwrap(),
                })
                .collect();
            let y = verify::compute_y(&prf, &p, &secret);
            verify::check_openings(&prf, &p, &tree.root(), &secret, &y, &asked, &opened)
                .err()
                .map(|(_, f)| f)
        })
        .collect()
}

/// `base` runs, times `POPW_SOUNDNESS_SCALE` (default 1).
fn runs(base: usize) -> usize {
    let scale = std::env::var("POPW_SOUNDNESS_SCALE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    base * scale
}

/// `C(N-B, s) / C(N, s)`.
fn exact_escape(n: usize, bad: usize, s: usize) -> f64 {
    (0..s)
        .map(|j| (n - bad - j) as f64 / (n - j) as f64)
        .product()
}

fn n64() -> Params {
    Params {
        m: 16,
        n: 16,
        k: 32,
        chunks: 4,
    }
}

/// A skipping cheater escapes as often as the hypergeometric law says (within 4 sd), which is
/// never more than the bound `(1-f)^s` (plus the same statistical slack).
fn check_skip_rate(bad: usize, openings: usize, runs: usize, seed: u64) {
    let p = n64();
    let n = p.rows() as usize;
    let results = core_campaign(Strategy::SkipRows { bad }, p, openings as u32, runs, seed);
    let escaped = results.iter().filter(|f| f.is_none()).count();
    // Caught rows are caught by the product check (their Merkle paths are consistent).
    assert!(results
        .iter()
        .flatten()
        .all(|f| *f == RowFault::WrongProduct));
    let exact = exact_escape(n, bad, openings);
    let bound = (1.0 - bad as f64 / n as f64).powi(openings as i32);
    let sd = (runs as f64 * exact * (1.0 - exact)).sqrt();
    let rate = escaped as f64 / runs as f64;
    eprintln!(
        "skip f={:.3} (B={bad}/{n}) s={openings}: escaped {escaped}/{runs} = {rate:.4}; exact {exact:.4}; bound (1-f)^s {bound:.4}",
        bad as f64 / n as f64
    );
    assert!(
        (escaped as f64 - runs as f64 * exact).abs() <= 4.0 * sd + 1.0,
        "rate {rate} vs exact {exact}"
    );
    assert!(
        rate <= bound + (4.0 * sd + 1.0) / runs as f64,
        "rate {rate} above bound {bound}"
    );
}

#[test]
fn skipping_a_tenth_of_the_rows_escapes_no_more_than_predicted() {
    check_skip_rate(6, 8, runs(1000), 11); // f = 0.094, s = 8: ~0.43 escape
}

#[test]
fn skipping_a_quarter_of_the_rows_escapes_no_more_than_predicted() {
    check_skip_rate(16, 8, runs(1000), 12); // s = 8: ~0.085 escape
}

#[test]
fn skipping_half_of_the_rows_escapes_no_more_than_predicted() {
    check_skip_rate(32, 4, runs(1000), 13); // s = 4: ~0.057 escape
}

#[test]
fn skipping_ten_percent_against_128_openings_is_always_caught() {
    // N = 256, B = 26 (f ~ 0.1), s = 128: bound (1-26/256)^128 = 1.05e-6, exact 3.6e-9.
    let p = Params {
        m: 64,
        n: 16,
        k: 32,
        chunks: 4,
    };
    let n_runs = runs(300);
    let results = core_campaign(Strategy::SkipRows { bad: 26 }, p, 128, n_runs, 14);
    let caught = results.iter().filter(|f| f.is_some()).count();
    eprintln!(
        "skip f=0.102 (B=26/256) s=128: caught {caught}/{n_runs}; exact escape {:.2e}; bound {:.2e}",
        exact_escape(256, 26, 128),
        0.898f64.powi(128)
    );
    assert_eq!(caught, n_runs);
    // And through the whole signed protocol.
    let verdicts = campaign(Strategy::SkipRows { bad: 26 }, p, 128, 5, 14);
    assert!(verdicts.iter().all(|v| matches!(
        v.outcome,
        Err(Failure::BadRow {
            fault: RowFault::WrongProduct,
            ..
        })
    )));
}

#[test]
fn one_tampered_row_is_caught_exactly_when_it_is_opened() {
    let p = n64();
    let (runs, s) = (runs(2000), 8);
    let results = core_campaign(Strategy::TamperOneRow, p, s, runs, 15);
    let caught = results.iter().filter(|f| f.is_some()).count();
    let expected = s as f64 / p.rows() as f64; // P(caught) = s/N = 0.125
    let sd = (runs as f64 * expected * (1.0 - expected)).sqrt();
    eprintln!("tamper one row, s={s}, N=64: caught {caught}/{runs}; predicted s/N = {expected:.4}");
    assert!((caught as f64 - runs as f64 * expected).abs() <= 4.0 * sd + 1.0);
}

fn always_caught_on_the_first_row(strategy: Strategy, expected: RowFault, seed: u64) {
    let core_runs = runs(500);
    let results = core_campaign(strategy, n64(), 16, core_runs, seed);
    assert!(results.iter().all(|f| *f == Some(expected)), "{strategy:?}");
    let runs = 10;
    let verdicts = campaign(strategy, n64(), 16, runs, seed);
    for v in &verdicts {
        assert!(
            matches!(v.outcome, Err(Failure::BadRow { position: 0, fault, .. }) if fault == expected),
            "{strategy:?}: {v:?}"
        );
    }
    eprintln!(
        "{strategy:?}: caught {core_runs}/{core_runs} (core) and {runs}/{runs} (signed protocol) ({expected:?})"
    );
}

#[test]
fn random_rows_are_always_caught() {
    always_caught_on_the_first_row(Strategy::RandomRows, RowFault::WrongProduct, 21);
}

#[test]
fn answering_for_another_seed_is_always_caught() {
    always_caught_on_the_first_row(Strategy::OtherSeed, RowFault::WrongProduct, 22);
}

#[test]
fn reusing_an_earlier_challenges_result_is_always_caught() {
    let p = n64();
    let checker = checker(&p, 16);
    let mut w = worker(Cheater::new(Strategy::ReuseFirst, 23), &p);
    let mut r = rng(23);
    // The first challenge is answered honestly and passes.
    assert!(run_exchange(&checker, &mut w, p, &mut r, Timing::default()).passed());
    let n_runs = runs(50);
    for _ in 0..n_runs {
        let v = run_exchange(&checker, &mut w, p, &mut r, Timing::default());
        assert!(
            matches!(
                v.outcome,
                Err(Failure::BadRow {
                    position: 0,
                    fault: RowFault::WrongProduct,
                    ..
                })
            ),
            "{v:?}"
        );
    }
    eprintln!(
        "ReuseFirst: first challenge passed, the {n_runs} later ones all caught (signed protocol)"
    );
}

#[test]
fn a_row_changed_after_the_commit_fails_its_merkle_path() {
    always_caught_on_the_first_row(Strategy::TamperAfterCommit, RowFault::BadPath, 24);
}

#[test]
fn an_honest_worker_passes_every_one_of_many_runs() {
    let p = n64();
    // SkipRows with no bad row is the honest computation.
    let n_runs = runs(1000);
    let results = core_campaign(Strategy::SkipRows { bad: 0 }, p, 16, n_runs, 25);
    assert!(results.iter().all(|f| f.is_none()));
    eprintln!("honest worker: passed {n_runs}/{n_runs} (core) and 20/20 (signed protocol)");
    let checker = checker(&p, 16);
    let mut w = worker(CpuBackend::new(), &p);
    let mut r = rng(25);
    for _ in 0..20 {
        assert!(run_exchange(&checker, &mut w, p, &mut r, Timing::default()).passed());
    }
}
