//! The state machine against an in-memory chain that plays the pallet's rules (windows,
//! `Already*` errors, seal and nonce checks at reveal, finalization by the last reveal).

use super::*;
use crate::{
    chain::{Assignment, SlotView, WorkerTarget},
    state::{AttestationRecord, VerdictKind},
    transport::{InProcessTransport, InProcessWorker},
};
use kaisar_popw::{CpuBackend, Worker, WorkerIdentity};
use std::sync::Mutex;

const LEN: u32 = 20;
const SHAPE: Params = Params {
    m: 16,
    n: 16,
    k: 32,
    chunks: 4,
};
const ENDPOINT: &str = "mem://worker-1";
const WORKER: u64 = 1;
const AGENT_SEED: [u8; 32] = [0xA1; 32];
const GPU: [u8; 32] = [0x61; 32];

#[derive(Default)]
struct MockState {
    best: u32,
    /// The operator's assignments, by epoch.
    assigned: Vec<Assignment>,
    /// Every slot of each check (ours and others'), by (kind, epoch, worker).
    slots_of: BTreeMap<(Kind, u32, u64), Vec<u32>>,
    checks: BTreeMap<(Kind, u32, u64), CheckView>,
    finalized: Vec<(Kind, u32, u64)>,
    revealed: Vec<AttestationRecord>,
    calls: Vec<&'static str>,
    /// The size of each `submit_all` (one per step that submitted).
    batches: Vec<usize>,
    /// The next submit of this call fails with this module error (without effect).
    force: Option<(&'static str, String)>,
    /// The next submit lands but its result is lost (a crash or a dropped connection).
    land_then_lose: bool,
    /// The worker's registered model (`None`: L40S).
    model: Option<kaisar_primitives::GpuModel>,
}

struct MockChain(Mutex<MockState>);

impl MockChain {
    fn new() -> Arc<Self> {
        Arc::new(MockChain(Mutex::new(MockState::default())))
    }
    fn set_best(&self, n: u32) {
        self.0.lock().unwrap().best = n;
    }
    fn assign(&self, kind: Kind, epoch: u32, slot: u32, all_slots: Vec<u32>) {
        let mut s = self.0.lock().unwrap();
        s.assigned.push(Assignment {
            kind,
            epoch,
            worker: WORKER,
            slot,
            license: 100 + slot,
        });
        s.slots_of.insert((kind, epoch, WORKER), all_slots);
    }
    fn calls(&self, name: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| **c == name)
            .count()
    }
    fn tl() -> Timeline {
        Timeline::new(LEN, [250_000; 3])
    }
}

fn module(e: &str) -> SubmitError {
    SubmitError::Module(e.to_string())
}

#[async_trait::async_trait]
impl Chain for MockChain {
    fn genesis(&self) -> [u8; 32] {
        [0x6e; 32]
    }
    async fn best_number(&self) -> Result<BlockNumber, Transient> {
        Ok(self.0.lock().unwrap().best)
    }
    async fn timeline(&self) -> Result<(BlockNumber, [u32; 3]), Transient> {
        Ok((LEN, [250_000; 3]))
    }
    async fn assignments(&self, epoch: u32) -> Result<Vec<Assignment>, Transient> {
        let s = self.0.lock().unwrap();
        Ok(s.assigned
            .iter()
            .filter(|a| a.kind == Kind::Regular && a.epoch == epoch)
            .copied()
            .collect())
    }
    async fn recheck_assignments(&self) -> Result<Vec<Assignment>, Transient> {
        let s = self.0.lock().unwrap();
        Ok(s.assigned
            .iter()
            .filter(|a| a.kind == Kind::Recheck)
            .copied()
            .collect())
    }
    async fn challenge_randomness(&self, epoch: u32) -> Result<Option<[u8; 32]>, Transient> {
        let s = self.0.lock().unwrap();
        Ok((s.best >= Self::tl().commit_deadline(epoch)).then_some([epoch as u8; 32]))
    }
    async fn worker(&self, worker: u64) -> Result<Option<WorkerTarget>, Transient> {
        Ok((worker == WORKER).then(|| WorkerTarget {
            endpoint: ENDPOINT.into(),
            agent: kaisar_popw::Signer::from_seed(&AGENT_SEED).public().0,
            model: self
                .0
                .lock()
                .unwrap()
                .model
                .unwrap_or(kaisar_primitives::GpuModel::L40S),
            gpus: vec![GPU],
        }))
    }
    async fn check(
        &self,
        kind: Kind,
        epoch: u32,
        worker: u64,
    ) -> Result<Option<CheckView>, Transient> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .checks
            .get(&(kind, epoch, worker))
            .cloned())
    }
    async fn submit_all(&self, calls: Vec<CheckerCall>) -> Vec<Result<bool, SubmitError>> {
        self.0.lock().unwrap().batches.push(calls.len());
        let mut results = Vec::new();
        for call in calls {
            results.push(self.submit(call).await);
        }
        results
    }
    async fn submit(&self, call: CheckerCall) -> Result<bool, SubmitError> {
        let tl = Self::tl();
        let mut s = self.0.lock().unwrap();
        let name = call.name();
        s.calls.push(name);
        if let Some((c, e)) = s.force.clone() {
            if c == name {
                s.force = None;
                return Err(module(&e));
            }
        }
        let best = s.best;
        let result = match call {
            CheckerCall::Commit {
                kind,
                epoch,
                worker,
                slot,
                commitment,
            } => {
                if best >= tl.commit_deadline(epoch) {
                    return Err(module("CommitWindowClosed"));
                }
                let slots = s
                    .slots_of
                    .get(&(kind, epoch, worker))
                    .cloned()
                    .unwrap_or_default();
                let check = s
                    .checks
                    .entry((kind, epoch, worker))
                    .or_insert_with(|| CheckView {
                        slots: slots
                            .iter()
                            .map(|&slot| SlotView {
                                slot,
                                commitment: None,
                                seal: None,
                                revealed: false,
                            })
                            .collect(),
                        sealed: 0,
                    });
                let v = check
                    .slots
                    .iter_mut()
                    .find(|v| v.slot == slot)
                    .ok_or_else(|| module("NotAssigned"))?;
                if v.commitment.is_some() {
                    return Err(module("AlreadyCommitted"));
                }
                v.commitment = Some(commitment);
                false
            }
            CheckerCall::Seal {
                kind,
                epoch,
                worker,
                slot,
                seal,
            } => {
                if best < tl.commit_deadline(epoch) {
                    return Err(module("SealWindowNotOpen"));
                }
                if best >= tl.seal_deadline(epoch) {
                    return Err(module("SealWindowClosed"));
                }
                let check = s
                    .checks
                    .get_mut(&(kind, epoch, worker))
                    .ok_or_else(|| module("NotCommitted"))?;
                let v = check
                    .slots
                    .iter_mut()
                    .find(|v| v.slot == slot)
                    .ok_or_else(|| module("NotAssigned"))?;
                if v.seal.is_some() {
                    return Err(module("AlreadySealed"));
                }
                v.seal = Some(seal);
                check.sealed += 1;
                false
            }
            CheckerCall::Reveal {
                kind,
                epoch,
                worker,
                slot,
                attestation,
                salt,
            } => {
                let check = s
                    .checks
                    .get_mut(&(kind, epoch, worker))
                    .ok_or_else(|| module("NotCommitted"))?;
                if !check.all_sealed() && best < tl.seal_deadline(epoch) {
                    return Err(module("RevealWindowNotOpen"));
                }
                if best >= tl.reveal_deadline(epoch) {
                    return Err(module("RevealWindowClosed"));
                }
                let v = check
                    .slots
                    .iter_mut()
                    .find(|v| v.slot == slot)
                    .ok_or_else(|| module("NotAssigned"))?;
                if v.revealed {
                    return Err(module("AlreadyRevealed"));
                }
                if v.seal != Some(attestation.seal(&salt)) {
                    return Err(module("SealMismatch"));
                }
                if v.commitment != Some(kaisar_popw::Nonce(attestation.nonce.0).commitment().0) {
                    return Err(module("NonceMismatch"));
                }
                v.revealed = true;
                let all = check.slots.iter().all(|v| v.revealed);
                s.revealed.push(attestation);
                if all {
                    s.checks.remove(&(kind, epoch, worker));
                    s.finalized.push((kind, epoch, worker));
                }
                all
            }
            CheckerCall::Finalize {
                kind,
                epoch,
                worker,
            } => {
                if best < tl.reveal_deadline(epoch) {
                    return Err(module("TooEarly"));
                }
                if s.checks.remove(&(kind, epoch, worker)).is_none() {
                    return Err(module("NothingToFinalize"));
                }
                s.finalized.push((kind, epoch, worker));
                true
            }
        };
        if s.land_then_lose {
            s.land_then_lose = false;
            return Err(SubmitError::Transient("connection lost".into()));
        }
        Ok(result)
    }
}

fn played_worker(transport: &InProcessTransport) -> Arc<InProcessWorker<CpuBackend>> {
    let worker = Worker::new(
        kaisar_popw::Signer::from_seed(&AGENT_SEED),
        WorkerIdentity {
            worker_id: WORKER,
            gpu_uuid_hash: GpuUuidHash(GPU),
            model: kaisar_primitives::GpuModel::L40S,
        },
        CpuBackend::new(),
    )
    .with_shape(SHAPE.shape());
    let w = InProcessWorker::new(worker);
    transport.add(ENDPOINT, w.clone());
    w
}

/// A state directory, the in-memory chain, a transport with the played worker at
/// [`ENDPOINT`], and the chain's timeline.
fn with_worker() -> (
    tempfile::TempDir,
    Arc<MockChain>,
    Arc<InProcessTransport>,
    Timeline,
) {
    let transport = InProcessTransport::new();
    played_worker(&transport);
    (
        tempfile::tempdir().unwrap(),
        MockChain::new(),
        transport,
        MockChain::tl(),
    )
}

fn config() -> CoreConfig {
    CoreConfig {
        judge_timing: false,
        shape: Some(SHAPE),
        openings: 16,
        commit_timeout: Duration::from_secs(5),
        open_timeout: Duration::from_secs(5),
        timing: ExchangeTiming {
            ping_interval: Duration::from_millis(50),
            request_timeout: Duration::from_secs(2),
            ..ExchangeTiming::default()
        },
        max_concurrent_challenges: 2,
        ..CoreConfig::default()
    }
}

const OPERATOR_SEED: [u8; 32] = [0xC1; 32];

fn core(
    chain: &Arc<MockChain>,
    transport: &Arc<InProcessTransport>,
    dir: &std::path::Path,
) -> Core {
    let store = StateStore::open(dir, [0x6e; 32], [0xC1; 32]).unwrap();
    Core::new(
        chain.clone(),
        transport.clone(),
        store,
        kaisar_popw::Signer::from_seed(&OPERATOR_SEED),
        config(),
        Arc::new(Metrics::default()),
    )
}

fn phase(core: &Core, slot: u32) -> Phase {
    core.store()
        .entries
        .values()
        .find(|e| e.key.slot == slot)
        .map(|e| e.phase.clone())
        .expect("an entry")
}

/// How long a test waits for challenges (they run on tasks, and on a loaded machine the other
/// tests' challenges share its cores).
const PATIENCE: Duration = Duration::from_secs(60);

/// Step at `best` until `slot` leaves `from` (challenges run on tasks).
async fn step_until_not(core: &mut Core, chain: &MockChain, best: u32, slot: u32, from: Phase) {
    chain.set_best(best);
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        core.step().await.unwrap();
        if phase(core, slot) != from {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("slot {slot} stuck in {from:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dev_cpu_worker_passes_with_timing_judged_and_no_shape_override() {
    // The production configuration (timing judged, the calibrated shape of the claimed model):
    // a CPU worker registered as the development-only DevCpu passes on its real speed.
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    chain.0.lock().unwrap().model = Some(kaisar_primitives::GpuModel::DevCpu);
    let transport = InProcessTransport::new();
    let worker = Worker::new(
        kaisar_popw::Signer::from_seed(&AGENT_SEED),
        WorkerIdentity {
            worker_id: WORKER,
            gpu_uuid_hash: GpuUuidHash(GPU),
            model: kaisar_primitives::GpuModel::DevCpu,
        },
        CpuBackend::new(),
    );
    transport.add(ENDPOINT, InProcessWorker::new(worker));
    let config = CoreConfig {
        timing: ExchangeTiming {
            ping_interval: Duration::from_millis(50),
            request_timeout: Duration::from_secs(2),
            ..ExchangeTiming::default()
        },
        ..CoreConfig::default()
    };
    assert!(config.judge_timing && config.shape.is_none());
    let store = StateStore::open(dir.path(), [0x6e; 32], [0xC1; 32]).unwrap();
    let mut c = Core::new(
        chain.clone(),
        transport.clone(),
        store,
        kaisar_popw::Signer::from_seed(&OPERATOR_SEED),
        config,
        Arc::new(Metrics::default()),
    );
    let tl = MockChain::tl();
    let e = 2;
    chain.assign(Kind::Regular, e, 4, vec![4]);
    chain.set_best(tl.start(e));
    c.step().await.unwrap();
    assert_eq!(phase(&c, 4), Phase::Committed);
    // The challenge takes about a second of real CPU work: wait up to a minute.
    chain.set_best(tl.commit_deadline(e));
    for _ in 0..600 {
        c.step().await.unwrap();
        if phase(&c, 4) != Phase::Committed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    step_until_not(&mut c, &chain, tl.commit_deadline(e) + 1, 4, Phase::Sealed).await;
    assert_eq!(phase(&c, 4), Phase::Done);
    let s = chain.0.lock().unwrap();
    assert_eq!(s.revealed.len(), 1);
    let r = &s.revealed[0];
    assert_eq!(r.verdict, VerdictKind::Pass, "{r:?}");
    // DevCpu's calibrated shape from the built-in table, and a measured ratio in its window.
    assert_eq!((r.m, r.n, r.k, r.chunks), (256, 256, 1024, 2));
    assert!((100_000..=2_000_000_000).contains(&r.ratio_ppm), "{r:?}");
}

#[test]
fn the_timeline_follows_the_pallet() {
    let t = Timeline::new(20, [250_000; 3]);
    assert_eq!(t.windows, [5; 3]);
    assert_eq!(t.epoch_of(45), 2);
    assert_eq!(
        (
            t.commit_deadline(2),
            t.seal_deadline(2),
            t.reveal_deadline(2)
        ),
        (45, 50, 55)
    );
    // Short epochs still get one block per window.
    let t = Timeline::new(3, [250_000; 3]);
    assert_eq!((t.windows, t.reveal_deadline(1)), ([1; 3], 6));
    assert_eq!(Timeline::new(600, [250_000; 3]).windows, [150; 3]);
    // Uneven shares.
    let t = Timeline::new(600, [100_000, 200_000, 300_000]);
    assert_eq!(
        (
            t.commit_deadline(1),
            t.seal_deadline(1),
            t.reveal_deadline(1)
        ),
        (660, 780, 960)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_goes_commit_challenge_seal_reveal_and_the_last_reveal_finalizes() {
    let (dir, chain, transport, tl) = with_worker();
    let e = 2;
    chain.assign(Kind::Regular, e, 4, vec![4]);
    let mut c = core(&chain, &transport, dir.path());

    chain.set_best(tl.start(e));
    c.step().await.unwrap();
    assert_eq!(phase(&c, 4), Phase::Committed);
    // No randomness yet: nothing runs.
    chain.set_best(tl.commit_deadline(e) - 1);
    c.step().await.unwrap();
    assert_eq!(c.running(), 0);
    step_until_not(&mut c, &chain, tl.commit_deadline(e), 4, Phase::Committed).await;
    // Sealing then sealed in the same step, and the only slot sealed: revealed and finalized.
    step_until_not(&mut c, &chain, tl.commit_deadline(e) + 1, 4, Phase::Sealed).await;
    assert_eq!(phase(&c, 4), Phase::Done);
    {
        let s = chain.0.lock().unwrap();
        assert_eq!(s.finalized, vec![(Kind::Regular, e, WORKER)]);
        assert_eq!(s.revealed.len(), 1);
        assert_eq!(
            s.revealed[0].verdict,
            VerdictKind::Pass,
            "{:?}",
            s.revealed[0]
        );
        assert_ne!(s.revealed[0].merkle_root.0, [0; 32]);
        assert_eq!(
            s.calls,
            vec!["commit_nonce", "seal", "reveal"],
            "one transaction per step of the protocol"
        );
    }
    // Old epochs are forgotten.
    chain.set_best(tl.start(e + 3));
    c.step().await.unwrap();
    assert!(c.store().entries.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_the_commitment_reveals_the_committed_nonce_and_never_commits_twice() {
    let (dir, chain, transport, tl) = with_worker();
    let e = 1;
    // Two slots of the check; the other one is someone else's and never seals.
    chain.assign(Kind::Regular, e, 0, vec![0, 7]);
    let nonce = {
        let mut c = core(&chain, &transport, dir.path());
        chain.set_best(tl.start(e));
        // The commitment lands but the daemon never hears of it, then it dies.
        chain.0.lock().unwrap().land_then_lose = true;
        c.step().await.unwrap();
        assert_eq!(phase(&c, 0), Phase::Committing);
        c.store().entries.values().next().unwrap().nonce
    };
    assert_eq!(chain.calls("commit_nonce"), 1);
    let committed = chain.0.lock().unwrap().checks[&(Kind::Regular, e, WORKER)].slots[0].commitment;
    assert_eq!(committed, Some(kaisar_popw::Nonce(nonce.0).commitment().0));

    // A new daemon on the same state directory.
    let mut c = core(&chain, &transport, dir.path());
    assert_eq!(c.store().entries.values().next().unwrap().nonce, nonce);
    chain.set_best(tl.start(e) + 1);
    c.step().await.unwrap();
    assert_eq!(
        phase(&c, 0),
        Phase::Committed,
        "the chain shows our commitment"
    );
    assert_eq!(chain.calls("commit_nonce"), 1, "no second commitment");

    step_until_not(&mut c, &chain, tl.commit_deadline(e), 0, Phase::Committed).await;
    chain.set_best(tl.commit_deadline(e) + 1);
    c.step().await.unwrap();
    assert_eq!(phase(&c, 0), Phase::Sealed);
    // The other slot did not seal: the reveal waits for the seal deadline.
    c.step().await.unwrap();
    assert_eq!(phase(&c, 0), Phase::Sealed);
    assert_eq!(chain.calls("reveal"), 0);

    // Restart again between seal and reveal: what was sealed is revealed.
    drop(c);
    let mut c = core(&chain, &transport, dir.path());
    chain.set_best(tl.seal_deadline(e));
    c.step().await.unwrap();
    assert_eq!(phase(&c, 0), Phase::Revealed);
    let revealed = chain.0.lock().unwrap().revealed.clone();
    assert_eq!(revealed.len(), 1);
    assert_eq!(
        revealed[0].nonce, nonce,
        "the nonce committed before the restart"
    );
    // After the reveal deadline the check (still open: the other slot is silent) is finalized.
    chain.set_best(tl.reveal_deadline(e) - 1);
    c.step().await.unwrap();
    assert_eq!(chain.calls("finalize"), 0);
    chain.set_best(tl.reveal_deadline(e));
    c.step().await.unwrap();
    assert_eq!(phase(&c, 0), Phase::Done);
    assert_eq!(chain.calls("finalize"), 1);
    assert_eq!(chain.calls("commit_nonce"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_stored_before_a_crash_is_the_one_committed_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let transport = InProcessTransport::new();
    let tl = MockChain::tl();
    chain.assign(Kind::Recheck, 3, 2, vec![2]);
    let nonce = {
        let mut c = core(&chain, &transport, dir.path());
        chain.set_best(tl.start(3));
        // The node refuses everything for now (transient): the nonce is on disk regardless.
        chain.0.lock().unwrap().force = Some(("commit_recheck_nonce", "x".into()));
        c.step().await.unwrap();
        c.store().entries.values().next().unwrap().nonce
    };
    // (The forced module error dropped the entry in that run: use a fresh copy of the state
    // where the commit never went out.)
    let mut store = StateStore::open(dir.path(), [0x6e; 32], [0xC1; 32]).unwrap();
    for e in store.entries.values_mut() {
        e.phase = Phase::Committing;
        e.note = None;
    }
    store.save().unwrap();
    let mut c = core(&chain, &transport, dir.path());
    chain.set_best(tl.start(3) + 1);
    c.step().await.unwrap();
    assert_eq!(phase(&c, 2), Phase::Committed);
    let committed = chain.0.lock().unwrap().checks[&(Kind::Recheck, 3, WORKER)].slots[0].commitment;
    assert_eq!(committed, Some(kaisar_popw::Nonce(nonce.0).commitment().0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_errors_advance_and_closed_windows_drop_instead_of_looping() {
    let (dir, chain, transport, tl) = with_worker();
    chain.assign(Kind::Regular, 1, 0, vec![0]);
    chain.assign(Kind::Regular, 1, 1, vec![0, 1]);
    let mut c = core(&chain, &transport, dir.path());
    chain.set_best(tl.start(1));
    // The first commitment is answered AlreadyCommitted (it landed earlier): advanced.
    chain.0.lock().unwrap().force = Some(("commit_nonce", "AlreadyCommitted".into()));
    c.step().await.unwrap();
    assert_eq!(phase(&c, 0), Phase::Committed);
    assert_eq!(phase(&c, 1), Phase::Committed);
    // One seal is refused as closed: that assignment is dropped, never retried.
    chain.0.lock().unwrap().force = Some(("seal", "SealWindowClosed".into()));
    chain.set_best(tl.commit_deadline(1));
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        c.step().await.unwrap();
        let settled = [0, 1]
            .iter()
            .all(|s| !matches!(phase(&c, *s), Phase::Committed | Phase::Sealing));
        if settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dropped: Vec<_> = c
        .store()
        .entries
        .values()
        .filter(|e| e.note.as_deref() == Some("refused: SealWindowClosed"))
        .collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].phase, Phase::Done);
    // One refused seal and one accepted: no loop.
    assert_eq!(chain.calls("seal"), 2);
    c.step().await.unwrap();
    c.step().await.unwrap();
    assert_eq!(chain.calls("seal"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_does_not_answer_is_attested_unreachable_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let transport = InProcessTransport::new();
    let worker = played_worker(&transport);
    worker.set_answering(false);
    let tl = MockChain::tl();
    chain.assign(Kind::Regular, 1, 0, vec![0]);
    let mut c = core(&chain, &transport, dir.path());
    chain.set_best(tl.start(1));
    c.step().await.unwrap();
    step_until_not(&mut c, &chain, tl.commit_deadline(1), 0, Phase::Committed).await;
    chain.set_best(tl.commit_deadline(1) + 1);
    c.step().await.unwrap();
    assert_eq!(phase(&c, 0), Phase::Done);
    let s = chain.0.lock().unwrap();
    assert_eq!(s.revealed[0].verdict, VerdictKind::Unreachable);
    assert_eq!(s.revealed[0].merkle_root.0, [0; 32]);
    assert_eq!(s.finalized.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_seen_after_the_commit_deadline_is_not_started_and_a_late_one_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let transport = InProcessTransport::new();
    let tl = MockChain::tl();
    chain.assign(Kind::Regular, 1, 0, vec![0]);
    let mut c = core(&chain, &transport, dir.path());
    chain.set_best(tl.commit_deadline(1));
    c.step().await.unwrap();
    assert!(c.store().entries.is_empty(), "too late to commit");
    assert_eq!(chain.calls("commit_nonce"), 0);

    chain.assign(Kind::Regular, 2, 0, vec![0]);
    chain.set_best(tl.start(2));
    chain.0.lock().unwrap().force = Some(("commit_nonce", "CommitWindowClosed".into()));
    c.step().await.unwrap();
    assert_eq!(phase(&c, 0), Phase::Done);
    c.step().await.unwrap();
    assert_eq!(chain.calls("commit_nonce"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_submits_all_its_due_transactions_together() {
    // Two regular slots of one check and a re-check slot in the same epoch: each protocol step
    // of the three goes out in one batch (consecutive nonces on a real chain), so that one
    // operator's several assignments fit the same windows as one.
    let (dir, chain, transport, tl) = with_worker();
    let e = 2;
    chain.assign(Kind::Regular, e, 0, vec![0, 1]);
    chain.assign(Kind::Regular, e, 1, vec![0, 1]);
    chain.assign(Kind::Recheck, e, 3, vec![3]);
    let mut c = core(&chain, &transport, dir.path());

    chain.set_best(tl.start(e));
    let report = c.step().await.unwrap();
    assert_eq!(report.submitted, 3);
    {
        let s = chain.0.lock().unwrap();
        assert_eq!(s.batches, vec![3], "the three commitments in one batch");
        assert_eq!(s.calls.len(), 3);
        assert_eq!(s.calls.iter().filter(|c| **c == "commit_nonce").count(), 2);
        assert_eq!(
            s.calls
                .iter()
                .filter(|c| **c == "commit_recheck_nonce")
                .count(),
            1
        );
    }
    for slot in [0, 1, 3] {
        assert_eq!(phase(&c, slot), Phase::Committed);
    }
    // The challenges run (two at once, `max_concurrent_challenges`), then seal and reveal.
    chain.set_best(tl.commit_deadline(e));
    let sealed = |c: &Core| {
        [0, 1, 3]
            .iter()
            .all(|s| matches!(phase(c, *s), Phase::Sealed | Phase::Revealed | Phase::Done))
    };
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        c.step().await.unwrap();
        if sealed(&c) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(sealed(&c), "every slot sealed");
    chain.set_best(tl.seal_deadline(e));
    c.step().await.unwrap();
    c.step().await.unwrap();
    let s = chain.0.lock().unwrap();
    // (Their verdicts are the worker's business: one device, two challenges at once.)
    assert_eq!(s.revealed.len(), 3);
    assert_eq!(s.finalized.len(), 2, "the check and the re-check");
    assert_eq!(
        s.batches.iter().sum::<usize>(),
        s.calls.len(),
        "every call went out in a batch"
    );
    drop(s);
    for slot in [0, 1, 3] {
        assert_eq!(phase(&c, slot), Phase::Done, "slot {slot}");
    }
}
