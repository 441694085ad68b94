//! The per-assignment state machine, driven by the chain's best block.
//!
//! Each assignment (kind, epoch, worker, slot) goes `Committing → Committed → Sealing → Sealed
//! → Revealed → Done`:
//!
//! | phase | what the core does | moves on when |
//! |---|---|---|
//! | `Committing` | the nonce is stored; submit `commit_nonce` | it lands, or the chain says `AlreadyCommitted`, or the chain shows our commitment |
//! | `Committed` | once the challenge randomness is drawn, run the challenge (at most `max_concurrent_challenges` at once) | the exchange ended: attestation and salt stored (`Sealing`) |
//! | `Sealing` | submit `seal` | it lands / `AlreadySealed` / the chain shows our seal |
//! | `Sealed` | when every assigned slot sealed or at the seal deadline, submit `reveal` | it lands / `AlreadyRevealed` |
//! | `Revealed` | after the reveal deadline, `finalize` if the check is still open | finalized (by anyone) |
//!
//! A closed window (`CommitWindowClosed`, `SealWindowClosed`, `RevealWindowClosed`, ...)
//! drops the assignment with a warning; a failure that may pass (connection, pool) is retried at
//! the next step. The state is saved before every transaction that commits to something
//! ([`crate::state`]).
//!
//! A step first plans every assignment's next transaction against the chain as it is, then
//! submits all of them together ([`Chain::submit_all`]: consecutive nonces, so one block can
//! hold them), then moves each assignment on by its own result: an operator's several slots
//! in one epoch take no more blocks than one.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use kaisar_chain_client::BlockNumber;
use kaisar_popw::{
    CalibrationTable, ChallengeRequest, Checker, CheckerConfig, GpuUuidHash, Nonce, Params,
};
use rand::{rngs::OsRng, RngCore};
use tracing::{debug, error, info, warn};

use crate::{
    chain::{Chain, CheckView, CheckerCall, SubmitError, Transient},
    metrics::Metrics,
    state::{Bytes32, Entry, Key, Kind, Phase, StateError, StateStore},
    transport::{self, ExchangeOutcome, ExchangeTiming, Transport},
};

/// A slot's first challenge send waits its turn among the check's slots: `turn` times this
/// factor of the work's expected duration, plus [`TURN_MARGIN`].
pub const TURN_FACTOR: f64 = 1.5;
/// See [`TURN_FACTOR`].
pub const TURN_MARGIN: Duration = Duration::from_millis(250);

/// How the core checks.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Judge the timing against the calibrated bounds (production: true). False accepts any
    /// speed (`min_ratio` 0): CPU workers registered under a GPU model, in tests. A CPU worker
    /// registered as the development-only `DevCpu` needs no override: the calibration table
    /// gives it its own small shape, throughput and wider window.
    pub judge_timing: bool,
    /// The work shape; `None` for the calibrated standard shape of the claimed model
    /// (`CalibrationTable::standard_params`; production, and `DevCpu` workers).
    pub shape: Option<Params>,
    /// Rows opened per challenge.
    pub openings: u32,
    /// The challenge's commit timeout.
    pub commit_timeout: Duration,
    /// The challenge's open timeout.
    pub open_timeout: Duration,
    /// Ping cadence and per-request timeout.
    pub timing: ExchangeTiming,
    /// Most challenges in progress at once.
    pub max_concurrent_challenges: usize,
    /// Epochs of entries kept before the current one (older ones are removed).
    pub keep_epochs: u32,
    /// The calibration table (`None`: the built-in one).
    pub calibration: Option<CalibrationTable>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            judge_timing: true,
            shape: None,
            openings: 128,
            commit_timeout: Duration::from_secs(30),
            open_timeout: Duration::from_secs(10),
            timing: ExchangeTiming::default(),
            max_concurrent_challenges: 8,
            keep_epochs: 2,
            calibration: None,
        }
    }
}

/// An epoch's deadlines (the pallet's `timeline.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// Epoch length.
    pub length: BlockNumber,
    /// The commit, seal and reveal windows, in blocks: each `max(1, floor(length * ppm /
    /// 10^6))` (`Permill::mul_floor`).
    pub windows: [BlockNumber; 3],
}

impl Timeline {
    /// The timeline of epochs of `length` blocks with the commit, seal and reveal windows'
    /// shares `ppm` (parts per million).
    pub fn new(length: BlockNumber, ppm: [u32; 3]) -> Self {
        let w =
            |p: u32| ((length as u64 * p.min(1_000_000) as u64) / 1_000_000).max(1) as BlockNumber;
        Timeline {
            length: length.max(1),
            windows: [w(ppm[0]), w(ppm[1]), w(ppm[2])],
        }
    }
    /// The epoch of block `n`.
    pub fn epoch_of(&self, n: BlockNumber) -> u32 {
        n / self.length
    }
    /// First block of `e`.
    pub fn start(&self, e: u32) -> BlockNumber {
        e.saturating_mul(self.length)
    }
    /// From this block on, no commitment of `e` is accepted (randomness drawn).
    pub fn commit_deadline(&self, e: u32) -> BlockNumber {
        self.start(e).saturating_add(self.windows[0])
    }
    /// From this block on, no seal of `e`; reveals open.
    pub fn seal_deadline(&self, e: u32) -> BlockNumber {
        self.commit_deadline(e).saturating_add(self.windows[1])
    }
    /// From this block on, no reveal of `e`; anyone may finalize.
    pub fn reveal_deadline(&self, e: u32) -> BlockNumber {
        self.seal_deadline(e).saturating_add(self.windows[2])
    }
}

/// Errors that stop the daemon (not the chain's: those are retried).
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The state file cannot be written: nothing may be submitted.
    #[error(transparent)]
    State(#[from] StateError),
    /// The chain failed; retried at the next step.
    #[error("chain: {0}")]
    Chain(#[from] Transient),
}

/// What to do with an assignment after a failed transaction.
enum Failed {
    /// Wait for the next step (a window not open yet, a transient failure).
    Retry,
    /// Give up on it.
    Drop(String),
}

/// The checker's core: the assignments of one operator.
pub struct Core {
    chain: Arc<dyn Chain>,
    transport: Arc<dyn Transport>,
    store: StateStore,
    checker: Arc<Checker>,
    config: CoreConfig,
    metrics: Arc<Metrics>,
    running: HashMap<Key, tokio::task::JoinHandle<ExchangeOutcome>>,
    timeline: Option<Timeline>,
    stop: Arc<AtomicBool>,
}

/// What one step saw (for logs and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    /// The best block.
    pub best: BlockNumber,
    /// Its epoch.
    pub epoch: u32,
    /// Transactions submitted (successful or not).
    pub submitted: u32,
}

impl Core {
    /// A core over `chain` and `transport`, with the state in `store`, signing PoPW messages
    /// with `signer` (the operator key).
    pub fn new(
        chain: Arc<dyn Chain>,
        transport: Arc<dyn Transport>,
        store: StateStore,
        signer: kaisar_popw::Signer,
        config: CoreConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        let checker_config = CheckerConfig {
            openings: config.openings,
            min_ratio: if config.judge_timing { 0.5 } else { 0.0 },
            max_ratio: if config.judge_timing { 1.05 } else { f64::MAX },
            commit_timeout: config.commit_timeout,
            open_timeout: config.open_timeout,
        };
        let checker_config = if config.judge_timing {
            CheckerConfig {
                openings: config.openings,
                commit_timeout: config.commit_timeout,
                open_timeout: config.open_timeout,
                ..CheckerConfig::default()
            }
        } else {
            checker_config
        };
        let table = config
            .calibration
            .clone()
            .unwrap_or_else(|| CalibrationTable::builtin().clone());
        Core {
            chain,
            transport,
            store,
            checker: Arc::new(Checker::with_table(signer, checker_config, table)),
            config,
            metrics,
            running: HashMap::new(),
            timeline: None,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Replace the chain (after a reconnection); the timeline is read again.
    pub fn set_chain(&mut self, chain: Arc<dyn Chain>) {
        self.chain = chain;
        self.timeline = None;
    }

    /// A flag that, once set, makes [`Core::step`] return after the transaction in flight.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// The persisted state.
    pub fn store(&self) -> &StateStore {
        &self.store
    }

    /// Challenges in progress.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Whether a challenge finished and waits to be collected.
    pub fn has_finished_challenge(&self) -> bool {
        self.running.values().any(|h| h.is_finished())
    }

    /// Stop: abort the challenges in progress (their assignments stay `Committed` and are
    /// challenged again after a restart, within the seal window) and save the state.
    pub fn shutdown(&mut self) -> Result<(), StateError> {
        for (_, h) in self.running.drain() {
            h.abort();
        }
        self.store.save()
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    async fn timeline(&mut self) -> Result<Timeline, Transient> {
        if let Some(t) = self.timeline {
            return Ok(t);
        }
        let (len, windows) = self.chain.timeline().await?;
        let t = Timeline::new(len, windows);
        self.timeline = Some(t);
        Ok(t)
    }

    /// One pass over every assignment at the chain's best block.
    pub async fn step(&mut self) -> Result<StepReport, CoreError> {
        let best = self.chain.best_number().await?;
        let tl = self.timeline().await?;
        let epoch = tl.epoch_of(best);
        self.metrics.set_position(best, epoch);
        let mut report = StepReport {
            best,
            epoch,
            submitted: 0,
        };
        self.collect().await?;
        self.discover(best, epoch, &tl).await?;
        let keep_from = epoch.saturating_sub(self.config.keep_epochs);
        if self.store.gc(keep_from) > 0 {
            self.running.retain(|k, h| {
                let keep = k.epoch >= keep_from;
                if !keep {
                    h.abort();
                }
                keep
            });
            self.store.save()?;
        }
        let keys: Vec<Key> = self
            .store
            .entries
            .iter()
            .filter(|(_, e)| e.phase != Phase::Done)
            .map(|(k, _)| *k)
            .collect();
        // Plan every assignment's next transaction against the chain as it is now, then submit
        // them together (consecutive nonces: they can land in one block), then move each
        // assignment on by its own result.
        let mut views: BTreeMap<(Kind, u32, u64), Option<CheckView>> = BTreeMap::new();
        let mut randomness: BTreeMap<u32, Option<[u8; 32]>> = BTreeMap::new();
        let mut planned: Vec<(Key, CheckerCall)> = Vec::new();
        for key in keys {
            if self.stopping() {
                break;
            }
            let vk = (key.kind, key.epoch, key.worker);
            let view = match views.get(&vk) {
                Some(v) => v.clone(),
                None => {
                    let v = self.chain.check(key.kind, key.epoch, key.worker).await?;
                    views.insert(vk, v.clone());
                    v
                }
            };
            if let Some(call) = self
                .plan(key, best, &tl, view.as_ref(), &mut randomness)
                .await?
            {
                planned.push((key, call));
            }
        }
        if !planned.is_empty() && !self.stopping() {
            report.submitted = planned.len() as u32;
            let names: Vec<(Key, &'static str)> =
                planned.iter().map(|(k, c)| (*k, c.name())).collect();
            let calls = planned.into_iter().map(|(_, c)| c).collect();
            let results = self.chain.submit_all(calls).await;
            for ((key, name), result) in names.into_iter().zip(results) {
                self.apply(key, name, result)?;
            }
        }
        let open = self
            .store
            .entries
            .values()
            .filter(|e| e.phase != Phase::Done)
            .count();
        self.metrics.set_load(open, self.running.len());
        Ok(report)
    }

    /// List the epoch's assignments once, while commitments are still accepted.
    async fn discover(
        &mut self,
        best: BlockNumber,
        epoch: u32,
        tl: &Timeline,
    ) -> Result<(), CoreError> {
        if best >= tl.commit_deadline(epoch) {
            return Ok(());
        }
        let mut changed = false;
        for kind in [Kind::Regular, Kind::Recheck] {
            if self.store.discovered.contains(&(kind, epoch)) {
                continue;
            }
            let list = match kind {
                Kind::Regular => self.chain.assignments(epoch).await?,
                Kind::Recheck => self.chain.recheck_assignments().await?,
            };
            for a in list.into_iter().filter(|a| a.epoch == epoch) {
                let key = Key {
                    kind: a.kind,
                    epoch: a.epoch,
                    worker: a.worker,
                    slot: a.slot,
                };
                if self.store.entries.contains_key(&key) {
                    continue;
                }
                let nonce = Nonce::random();
                info!(%key, license = a.license, "assigned");
                self.store
                    .entries
                    .insert(key, Entry::new(key, a.license, nonce.0, best));
            }
            self.store.discovered.insert((kind, epoch));
            changed = true;
        }
        if changed {
            // The nonces are on disk before any commitment is submitted.
            self.store.save()?;
        }
        Ok(())
    }

    /// Move finished challenges to `Sealing` (attestation and salt stored).
    async fn collect(&mut self) -> Result<(), StateError> {
        let finished: Vec<Key> = self
            .running
            .iter()
            .filter(|(_, h)| h.is_finished())
            .map(|(k, _)| *k)
            .collect();
        if finished.is_empty() {
            return Ok(());
        }
        for key in finished {
            let handle = self.running.remove(&key).expect("listed");
            let outcome = match handle.await {
                Ok(o) => o,
                Err(e) => {
                    error!(%key, error = %e, "a challenge task failed; challenging again");
                    continue;
                }
            };
            let Some(entry) = self.store.entries.get_mut(&key) else {
                continue;
            };
            if entry.phase != Phase::Committed {
                continue;
            }
            let mut salt = [0u8; 32];
            OsRng.fill_bytes(&mut salt);
            let verdict = outcome.attestation.verdict;
            entry.attestation = Some(outcome.attestation);
            entry.salt = Some(Bytes32(salt));
            entry.phase = Phase::Sealing;
            self.metrics.check_run(verdict.label());
            match &outcome.detail {
                None => info!(%key, verdict = verdict.label(), "challenge done"),
                Some(d) => info!(%key, verdict = verdict.label(), detail = %d, "challenge done"),
            }
        }
        self.store.save()
    }

    fn drop_entry(&mut self, key: Key, why: String) -> Result<(), StateError> {
        warn!(%key, reason = %why, "assignment dropped");
        self.metrics.assignment_dropped();
        if let Some(h) = self.running.remove(&key) {
            h.abort();
        }
        if let Some(e) = self.store.entries.get_mut(&key) {
            e.phase = Phase::Done;
            e.note = Some(why);
        }
        self.store.save()
    }

    fn set_phase(&mut self, key: Key, phase: Phase, note: Option<&str>) -> Result<(), StateError> {
        if let Some(e) = self.store.entries.get_mut(&key) {
            debug!(%key, from = ?e.phase, to = ?phase, "phase");
            e.phase = phase;
            if let Some(n) = note {
                e.note = Some(n.to_string());
            }
        }
        self.store.save()
    }

    /// Sort a submitted call's result (logged and counted): `Ok(Ok(finalized))` when it
    /// landed, `Ok(Err(module error))` when the pallet refused it.
    fn outcome(
        &self,
        key: Key,
        name: &'static str,
        result: Result<bool, SubmitError>,
    ) -> Result<Result<bool, String>, Failed> {
        match result {
            Ok(finalized) => {
                self.metrics.tx_submitted(name);
                info!(%key, call = name, finalized, "submitted");
                Ok(Ok(finalized))
            }
            Err(SubmitError::Module(e)) => {
                self.metrics.tx_failed(name, &e);
                debug!(%key, call = name, error = %e, "refused");
                Ok(Err(e))
            }
            Err(SubmitError::Failed(e)) => {
                self.metrics.tx_failed(name, "failed");
                error!(%key, call = name, error = %e, "transaction failed");
                Err(Failed::Drop(format!("{name} failed: {e}")))
            }
            Err(SubmitError::Transient(e)) => {
                self.metrics.tx_failed(name, "transient");
                warn!(%key, call = name, error = %e, "transaction not included; retrying");
                Err(Failed::Retry)
            }
        }
    }

    /// Move an assignment on by the result of the call [`Core::plan`] chose for it (the
    /// assignment is still in the phase it was planned in).
    fn apply(
        &mut self,
        key: Key,
        name: &'static str,
        result: Result<bool, SubmitError>,
    ) -> Result<(), CoreError> {
        let Some(phase) = self.store.entries.get(&key).map(|e| e.phase.clone()) else {
            return Ok(());
        };
        let r = match self.outcome(key, name, result) {
            Ok(r) => r,
            Err(f) => return Ok(self.failed(key, f)?),
        };
        match (phase, r) {
            (Phase::Committing, Ok(_)) => self.set_phase(key, Phase::Committed, None)?,
            (Phase::Committing, Err(m)) if m == "AlreadyCommitted" => {
                self.set_phase(key, Phase::Committed, None)?
            }
            (Phase::Sealing, Ok(_)) => self.set_phase(key, Phase::Sealed, None)?,
            (Phase::Sealing, Err(m)) if m == "AlreadySealed" => {
                self.set_phase(key, Phase::Sealed, None)?
            }
            (Phase::Sealing, Err(m)) if m == "SealWindowNotOpen" => {}
            (Phase::Sealed, Ok(true)) => {
                self.set_phase(key, Phase::Done, Some("revealed; finalized"))?
            }
            (Phase::Sealed, Ok(false)) => self.set_phase(key, Phase::Revealed, None)?,
            (Phase::Sealed, Err(m)) if m == "AlreadyRevealed" => {
                self.set_phase(key, Phase::Revealed, None)?
            }
            (Phase::Sealed, Err(m)) if m == "RevealWindowNotOpen" => {}
            (Phase::Sealed, Err(m)) if m == "RevealWindowClosed" => {
                self.set_phase(key, Phase::Revealed, Some("not revealed in time"))?
            }
            (Phase::Revealed, Ok(_)) => {
                self.set_phase(key, Phase::Done, Some("finalized by us"))?
            }
            (Phase::Revealed, Err(m))
                if matches!(
                    m.as_str(),
                    "AlreadyFinalized" | "NothingToFinalize" | "NoRecheck"
                ) =>
            {
                self.set_phase(key, Phase::Done, Some("finalized"))?
            }
            (Phase::Revealed, Err(m)) if m == "TooEarly" => {}
            (_, Err(m)) => self.refused(key, &m)?,
            (Phase::Committed | Phase::Done, Ok(_)) => {}
        }
        Ok(())
    }

    /// Move one assignment on as far as the chain's state allows without a transaction, and
    /// the transaction it needs next, if any (submitted by [`Core::step`] with the others).
    async fn plan(
        &mut self,
        key: Key,
        best: BlockNumber,
        tl: &Timeline,
        view: Option<&CheckView>,
        randomness: &mut BTreeMap<u32, Option<[u8; 32]>>,
    ) -> Result<Option<CheckerCall>, CoreError> {
        let entry = self.store.entries.get(&key).expect("listed").clone();
        let e = key.epoch;
        let mine = view.and_then(|v| v.slot(key.slot)).cloned();
        match entry.phase {
            Phase::Done => Ok(None),
            Phase::Committing => {
                let ours = entry.commitment();
                match mine.as_ref().and_then(|m| m.commitment) {
                    Some(c) if c == ours => {
                        self.set_phase(key, Phase::Committed, None)?;
                        return Ok(None);
                    }
                    Some(_) => {
                        error!(%key, "the slot committed another nonce (a lost state file?)");
                        self.drop_entry(key, "the slot committed another nonce".into())?;
                        return Ok(None);
                    }
                    None => {}
                }
                if best >= tl.commit_deadline(e) {
                    self.drop_entry(key, "commit window closed before the commitment".into())?;
                    return Ok(None);
                }
                let call = CheckerCall::Commit {
                    kind: key.kind,
                    epoch: e,
                    worker: key.worker,
                    slot: key.slot,
                    commitment: ours,
                };
                Ok(Some(call))
            }
            Phase::Committed => {
                if view.is_none() {
                    self.set_phase(key, Phase::Done, Some("finalized before our challenge"))?;
                    return Ok(None);
                }
                if best >= tl.seal_deadline(e) {
                    self.drop_entry(key, "seal window closed before the challenge ended".into())?;
                    return Ok(None);
                }
                if self.running.contains_key(&key)
                    || self.running.len() >= self.config.max_concurrent_challenges.max(1)
                {
                    return Ok(None);
                }
                let r = match randomness.get(&e) {
                    Some(r) => *r,
                    None => {
                        let r = self.chain.challenge_randomness(e).await?;
                        randomness.insert(e, r);
                        r
                    }
                };
                let Some(r) = r else {
                    return Ok(None);
                };
                // Our turn among the check's slots (draw order): the worker's device answers
                // one challenge at a time.
                let turn = view
                    .and_then(|v| v.slots.iter().position(|s| s.slot == key.slot))
                    .unwrap_or(0) as u32;
                self.start_challenge(key, &entry, r, turn).await?;
                Ok(None)
            }
            Phase::Sealing => {
                let (Some(att), Some(salt)) = (entry.attestation, entry.salt) else {
                    self.drop_entry(key, "no attestation stored".into())?;
                    return Ok(None);
                };
                let seal = att.seal(&salt.0);
                if mine.as_ref().and_then(|m| m.seal) == Some(seal) {
                    self.set_phase(key, Phase::Sealed, None)?;
                    return Ok(None);
                }
                if view.is_none() {
                    self.set_phase(key, Phase::Done, Some("finalized before our seal"))?;
                    return Ok(None);
                }
                if best >= tl.seal_deadline(e) {
                    self.drop_entry(key, "seal window closed before the seal".into())?;
                    return Ok(None);
                }
                let call = CheckerCall::Seal {
                    kind: key.kind,
                    epoch: e,
                    worker: key.worker,
                    slot: key.slot,
                    seal,
                };
                Ok(Some(call))
            }
            Phase::Sealed => {
                let Some(view) = view else {
                    self.set_phase(key, Phase::Done, Some("finalized"))?;
                    return Ok(None);
                };
                if mine.as_ref().is_some_and(|m| m.revealed) {
                    self.set_phase(key, Phase::Revealed, None)?;
                    return Ok(None);
                }
                if best >= tl.reveal_deadline(e) {
                    warn!(%key, "reveal window closed before our reveal");
                    self.set_phase(key, Phase::Revealed, Some("not revealed in time"))?;
                    return Ok(None);
                }
                if !view.all_sealed() && best < tl.seal_deadline(e) {
                    return Ok(None);
                }
                let (Some(att), Some(salt)) = (entry.attestation, entry.salt) else {
                    self.drop_entry(key, "no attestation stored".into())?;
                    return Ok(None);
                };
                let call = CheckerCall::Reveal {
                    kind: key.kind,
                    epoch: e,
                    worker: key.worker,
                    slot: key.slot,
                    attestation: att,
                    salt: salt.0,
                };
                Ok(Some(call))
            }
            Phase::Revealed => {
                if view.is_none() {
                    self.set_phase(key, Phase::Done, Some("finalized"))?;
                    return Ok(None);
                }
                if best < tl.reveal_deadline(e) {
                    return Ok(None);
                }
                let call = CheckerCall::Finalize {
                    kind: key.kind,
                    epoch: e,
                    worker: key.worker,
                };
                Ok(Some(call))
            }
        }
    }

    /// The pallet refused a call: a closed window or anything else drops the assignment.
    fn refused(&mut self, key: Key, error: &str) -> Result<(), StateError> {
        let closed = matches!(
            error,
            "CommitWindowClosed"
                | "SealWindowClosed"
                | "RevealWindowClosed"
                | "WrongEpoch"
                | "NotAssigned"
                | "NotSlotOperator"
                | "WorkerNotCheckable"
                | "AlreadyFinalized"
                | "NoRecheck"
        );
        if !closed {
            error!(%key, error, "the chain refused the call");
        }
        self.drop_entry(key, format!("refused: {error}"))
    }

    fn failed(&mut self, key: Key, f: Failed) -> Result<(), StateError> {
        match f {
            Failed::Retry => Ok(()),
            Failed::Drop(why) => self.drop_entry(key, why),
        }
    }

    /// Challenge the worker of `key`, `turn` places after the check's first slot: the first
    /// send waits `turn` times [`TURN_FACTOR`] the work's expected duration plus
    /// [`TURN_MARGIN`], so that the checkers of one worker take turns on its device (a refused
    /// challenge's clock keeps running); the worker's clock starts at that send.
    async fn start_challenge(
        &mut self,
        key: Key,
        entry: &Entry,
        randomness: [u8; 32],
        turn: u32,
    ) -> Result<(), CoreError> {
        let Some(target) = self.chain.worker(key.worker).await? else {
            self.drop_entry(key, "the worker left the registry".into())?;
            return Ok(());
        };
        // One of the worker's GPUs, drawn unpredictably.
        let gpu = target.gpus[(OsRng.next_u32() as usize) % target.gpus.len().max(1)];
        let request = ChallengeRequest {
            genesis_hash: self.chain.genesis(),
            epoch_randomness: randomness,
            nonce: Nonce(entry.nonce.0),
            worker_id: key.worker,
            worker_agent: kaisar_popw::AccountKey(target.agent),
            gpu_uuid_hash: GpuUuidHash(gpu),
            claimed_model: target.model,
            params: self.config.shape,
        };
        let (mut session, bytes) = match self.checker.issue(&request, Instant::now()) {
            Ok(x) => x,
            Err(e) => {
                error!(%key, error = %e, "cannot issue the challenge (check the shape and the calibration table)");
                self.drop_entry(key, format!("cannot issue: {e}"))?;
                return Ok(());
            }
        };
        let wait = (session.expected_work().mul_f64(TURN_FACTOR) + TURN_MARGIN)
            .saturating_mul(turn)
            .min(session.expected_work().max(TURN_MARGIN) * 10);
        info!(%key, endpoint = %target.endpoint, turn, ?wait, "challenging");
        let transport = self.transport.clone();
        let timing = self.config.timing;
        let endpoint = target.endpoint;
        let handle = tokio::spawn(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
                // Not sent yet: the worker's clock starts now.
                let _ = session.restart_clock(Instant::now());
            }
            transport::run(transport, &endpoint, session, bytes, timing).await
        });
        self.running.insert(key, handle);
        Ok(())
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
