//! The checker side: issue a challenge, time the commit, pick the rows to open, verify, score.

use crate::calibration::CalibrationTable;
use crate::keys::{AccountKey, Signer};
use crate::messages::{
    self, check_challenge_id, Challenge, Commit, MessageError, Open, Openings, Ping, Pong,
    RowIndex, MAX_OPENINGS, PROTOCOL_VERSION,
};
use crate::params::Params;
use crate::prf::MatrixPrf;
use crate::seed::{ChallengeId, GpuUuidHash, Nonce};
use crate::snapshot::GpuSnapshot;
use crate::verify::{self, RowFault};
use kaisar_primitives::{GpuModel, WorkerId};
use rand::rngs::OsRng;
use rand::{CryptoRng, RngCore};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most round-trip time credited to the work, as a fraction of the challenge's expected
/// work time at the claimed model's calibrated throughput (0.35 s of the standard 7 s). The
/// commit's arrival includes one network round trip, which the checker subtracts; but the worker
/// controls how fast it answers the pings that measure it, so the credit is capped: at most it
/// lets a worker at `min_ratio / (1 + min_ratio * MAX_RTT_CREDIT_FRACTION)` (0.488 instead of
/// 0.5) of the calibrated speed pass.
pub const MAX_RTT_CREDIT_FRACTION: f64 = 0.05;

/// The most pings one session sends ([`CheckerSession::ping`]).
pub const MAX_PINGS: u32 = 16;

/// How a checker judges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckerConfig {
    /// Rows to open (the issue's "~128"). Capped at [`MAX_OPENINGS`] and at the number of rows;
    /// [`Checker::issue`] refuses parameters under which the honest answer would exceed
    /// [`messages::MAX_MESSAGE_BYTES`] ([`CheckerError::OpeningsTooLarge`]).
    pub openings: u32,
    /// Lowest accepted `measured / calibrated` throughput. A calibration entry's `min_ratio`
    /// may lower it for its model (only the development-only `DevCpu` has one).
    pub min_ratio: f64,
    /// Highest accepted ratio (above it the model was misclaimed: the GPU is faster). A
    /// calibration entry's `max_ratio` may raise it for its model (only `DevCpu`).
    pub max_ratio: f64,
    /// Give up on a commit after this long.
    pub commit_timeout: Duration,
    /// The openings must arrive this soon after the open request was sent.
    pub open_timeout: Duration,
}

impl Default for CheckerConfig {
    fn default() -> Self {
        Self {
            openings: 128,
            min_ratio: 0.5,
            max_ratio: 1.05,
            // The work takes ~7 s at the calibrated speed and fails below half of it (14 s).
            commit_timeout: Duration::from_secs(30),
            open_timeout: Duration::from_secs(10),
        }
    }
}

/// What the checker needs to issue a challenge. The nonce's commitment must already be on-chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChallengeRequest {
    /// The chain's genesis hash.
    pub genesis_hash: [u8; 32],
    /// The current epoch randomness.
    pub epoch_randomness: [u8; 32],
    /// The nonce whose commitment the checker put on-chain.
    pub nonce: Nonce,
    /// The worker.
    pub worker_id: WorkerId,
    /// The worker's agent account.
    pub worker_agent: AccountKey,
    /// Hash of the worker GPU's UUID, as registered.
    pub gpu_uuid_hash: GpuUuidHash,
    /// The model the worker registered.
    pub claimed_model: GpuModel,
    /// Parameters; `None` for the calibrated standard ones.
    pub params: Option<Params>,
}

/// Why a checker operation failed (the exchange goes on: a bad message is ignored).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckerError {
    /// The claimed model is not in the calibration table.
    #[error("no calibration for {0:?}")]
    UnknownModel(GpuModel),
    /// The requested parameters are invalid.
    #[error("invalid parameters: {0}")]
    BadParams(crate::params::ParamsError),
    /// With these parameters the honest answer to the open request (`openings` rows of `n`
    /// entries with their Merkle paths) would exceed the hard message cap
    /// ([`messages::MAX_MESSAGE_BYTES`]) and be refused unread: ask for fewer openings or a
    /// smaller `n`. Checked at issue, so an honest worker is never failed for it.
    #[error("{openings} openings under these parameters need {len} bytes, above the {max}-byte message cap")]
    OpeningsTooLarge {
        /// Rows that would be opened.
        openings: u32,
        /// The largest signed `Openings` message for them.
        len: usize,
        /// The message cap.
        max: usize,
    },
    /// A received message was refused.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// A message arrived that this state does not expect (a second commit, openings before the
    /// commit, a second pong for the same ping, anything after the verdict).
    #[error("unexpected message in this state")]
    UnexpectedMessage,
    /// The session already sent [`MAX_PINGS`] pings.
    #[error("the session already sent {MAX_PINGS} pings")]
    TooManyPings,
    /// A pong for a ping this session never sent.
    #[error("pong for ping {0}, which was never sent")]
    UnknownPing(u32),
    /// The exchange is over (a verdict was returned): nothing more is sent.
    #[error("the exchange is finished")]
    Finished,
    /// The exchange has started (a ping sent or a commit received): its clock runs on.
    #[error("the exchange has started: its clock cannot restart")]
    AlreadyStarted,
}

/// Why a worker failed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Failure {
    /// No commit before the commit timeout.
    CommitTimeout,
    /// The openings came after the open timeout (or never).
    OpeningsLate,
    /// An opened row was wrong.
    BadRow {
        /// Its position in the open request.
        position: usize,
        /// Which row was asked there.
        index: RowIndex,
        /// What was wrong.
        fault: RowFault,
    },
    /// The GPU snapshots are of another GPU, or out of order in time.
    BadSnapshots,
    /// Slower than `min_ratio` of the calibrated throughput.
    TooSlow,
    /// Faster than `max_ratio` of the calibrated throughput: the model was misclaimed.
    TooFast,
}

/// The result of a challenge.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The challenge.
    pub challenge_id: ChallengeId,
    /// `Ok` if the worker passed.
    pub outcome: Result<(), Failure>,
    /// Time charged to the work: commit arrival - issue - [`Verdict::rtt_credit`] (`None`
    /// without a commit).
    pub work_time: Option<Duration>,
    /// Round-trip time subtracted: the smallest round trip of the session's own pings, capped
    /// at [`MAX_RTT_CREDIT_FRACTION`] of the expected work time (zero without pings).
    pub rtt_credit: Duration,
    /// Measured throughput in TOPS (`2*m*n*k*T / work_time / 1e12`).
    pub throughput_tops: Option<f64>,
    /// The claimed model's calibrated throughput in TOPS.
    pub calibrated_tops: f64,
    /// `throughput / calibrated`.
    pub ratio: Option<f64>,
    /// Opened rows that were checked and found correct.
    pub rows_verified: usize,
    /// Average GPU power over the work from the snapshots' energy counters, in watts.
    pub average_power_w: Option<f64>,
}

impl Verdict {
    /// Whether the worker passed.
    pub fn passed(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Issues challenges.
pub struct Checker {
    signer: Arc<Signer>,
    table: CalibrationTable,
    config: CheckerConfig,
}

impl Checker {
    /// A checker with the built-in calibration table.
    pub fn new(signer: Signer, config: CheckerConfig) -> Self {
        Self::with_table(signer, config, CalibrationTable::builtin().clone())
    }

    /// A checker with its own calibration table.
    pub fn with_table(signer: Signer, config: CheckerConfig, table: CalibrationTable) -> Self {
        Self {
            signer: Arc::new(signer),
            table,
            config,
        }
    }

    /// The checker's account.
    pub fn public(&self) -> AccountKey {
        self.signer.public()
    }

    /// How many rows this checker opens under `params`: the configured count, within
    /// `1..=MAX_OPENINGS`, and never more than there are rows.
    fn openings_for(&self, params: &Params) -> u32 {
        openings_count(&self.config, params)
    }

    /// Build and sign a challenge; `now` is when it is sent. The secret `r` is drawn here, from
    /// the operating system's CSPRNG ([`OsRng`]): this is the entry point a checker daemon uses.
    pub fn issue(
        &self,
        req: &ChallengeRequest,
        now: Instant,
    ) -> Result<(CheckerSession, Vec<u8>), CheckerError> {
        self.issue_with_rng(req, &mut OsRng, now)
    }

    /// [`Checker::issue`] with the secret `r` drawn from `rng`. **For reproducible tests and
    /// benchmarks only; a checker daemon never calls this**: whoever can predict `r` can forge
    /// rows that pass the Freivalds check, so `rng` must be a CSPRNG seeded unpredictably (the
    /// `CryptoRng` bound refuses non-cryptographic generators, but cannot tell a publicly seeded
    /// `StdRng` from a secret one).
    pub fn issue_with_rng<R: RngCore + CryptoRng + ?Sized>(
        &self,
        req: &ChallengeRequest,
        rng: &mut R,
        now: Instant,
    ) -> Result<(CheckerSession, Vec<u8>), CheckerError> {
        let entry = self
            .table
            .entry(req.claimed_model)
            .ok_or(CheckerError::UnknownModel(req.claimed_model))?;
        let params = match req.params {
            Some(p) => p,
            None => self
                .table
                .standard_params(req.claimed_model)
                .ok_or(CheckerError::UnknownModel(req.claimed_model))?,
        };
        params.validate().map_err(CheckerError::BadParams)?;
        let openings = self.openings_for(&params);
        let len = messages::max_openings_len(&params, openings);
        if len > messages::MAX_MESSAGE_BYTES {
            return Err(CheckerError::OpeningsTooLarge {
                openings,
                len,
                max: messages::MAX_MESSAGE_BYTES,
            });
        }
        let challenge = Challenge {
            version: PROTOCOL_VERSION,
            genesis_hash: req.genesis_hash,
            epoch_randomness: req.epoch_randomness,
            nonce: req.nonce,
            worker_id: req.worker_id,
            worker_agent: req.worker_agent,
            checker: self.signer.public(),
            gpu_uuid_hash: req.gpu_uuid_hash,
            claimed_model: req.claimed_model,
            params,
            commit_timeout_ms: self.config.commit_timeout.as_millis().min(u32::MAX as u128) as u32,
            open_timeout_ms: self.config.open_timeout.as_millis().min(u32::MAX as u128) as u32,
        };
        let bytes = messages::seal(&challenge, &self.signer);
        let session = CheckerSession {
            id: challenge.id(),
            prf: MatrixPrf::new(&challenge.seed()),
            r: verify::draw_secret(rng, params.n),
            y: None,
            calibrated_tops: entry.calibrated_tops(),
            config: {
                // The claimed model's entry may widen the pass window (DevCpu does).
                let (min_ratio, max_ratio) =
                    entry.pass_window(self.config.min_ratio, self.config.max_ratio);
                CheckerConfig {
                    min_ratio,
                    max_ratio,
                    ..self.config
                }
            },
            signer: self.signer.clone(),
            issued_at: now,
            challenge,
            state: State::AwaitingCommit,
            pings: Vec::new(),
            min_rtt: None,
        };
        Ok((session, bytes))
    }
}

enum State {
    AwaitingCommit,
    AwaitingOpenings {
        commit: Commit,
        committed_at: Instant,
        open_sent_at: Instant,
        asked: Vec<RowIndex>,
    },
    Finished,
}

/// What to do after a commit.
#[derive(Debug)]
pub enum AfterCommit {
    /// Send this signed open request to the worker (`now` was taken as its send time).
    SendOpen(Vec<u8>),
    /// The exchange is over (the commit came too late).
    Done(Verdict),
}

/// One challenge in progress.
pub struct CheckerSession {
    challenge: Challenge,
    id: ChallengeId,
    prf: MatrixPrf,
    r: Vec<u64>,
    y: Option<Vec<u64>>,
    calibrated_tops: f64,
    config: CheckerConfig,
    signer: Arc<Signer>,
    issued_at: Instant,
    state: State,
    /// When ping `seq` was sent (index = seq), and whether its pong arrived.
    pings: Vec<(Instant, bool)>,
    /// Smallest round trip measured so far.
    min_rtt: Option<Duration>,
}

impl core::fmt::Debug for CheckerSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The secret vector r is deliberately not printed.
        f.debug_struct("CheckerSession")
            .field("id", &self.id)
            .field("params", &self.challenge.params)
            .finish_non_exhaustive()
    }
}

impl CheckerSession {
    /// The challenge sent.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// Its id.
    pub fn id(&self) -> ChallengeId {
        self.id
    }

    /// The challenge was issued but its first send is delayed (the checkers of one worker take
    /// turns): the worker's time runs from `now`. **Only before the challenge is first sent**:
    /// a worker that has seen the challenge could compute while its clock is held back, so a
    /// challenge refused and sent again keeps its clock. Refused once a ping was sent or a
    /// commit received.
    pub fn restart_clock(&mut self, now: Instant) -> Result<(), CheckerError> {
        if !matches!(self.state, State::AwaitingCommit) || !self.pings.is_empty() {
            return Err(CheckerError::AlreadyStarted);
        }
        self.issued_at = now;
        Ok(())
    }

    /// Compute `y = B*r` now (`O(k*n)`, single-threaded), e.g. while the worker computes. Done
    /// lazily at verification otherwise.
    pub fn precompute(&mut self) {
        if self.y.is_none() {
            self.y = Some(verify::compute_y(
                &self.prf,
                &self.challenge.params,
                &self.r,
            ));
        }
    }

    /// A signed [`Ping`] to send to the worker now (`now` is recorded as its send time). Send a
    /// few (e.g. one per second while the worker computes); the smallest round trip counts.
    pub fn ping(&mut self, now: Instant) -> Result<Vec<u8>, CheckerError> {
        if matches!(self.state, State::Finished) {
            return Err(CheckerError::Finished);
        }
        if self.pings.len() >= MAX_PINGS as usize {
            return Err(CheckerError::TooManyPings);
        }
        let seq = self.pings.len() as u32;
        self.pings.push((now, false));
        Ok(messages::seal(
            &Ping {
                challenge_id: self.id,
                seq,
            },
            &self.signer,
        ))
    }

    /// A [`Pong`] arrived at `now`: checked (size, the worker agent's signature, challenge id, a
    /// ping this session sent and not yet answered) and its round trip recorded. Returns it.
    pub fn receive_pong(&mut self, bytes: &[u8], now: Instant) -> Result<Duration, CheckerError> {
        if matches!(self.state, State::Finished) {
            return Err(CheckerError::UnexpectedMessage);
        }
        let pong: Pong = messages::unseal(
            bytes,
            messages::max_ping_len(),
            &self.challenge.worker_agent,
        )?;
        check_challenge_id(&self.id, &pong.challenge_id)?;
        let (sent, answered) = self
            .pings
            .get_mut(pong.seq as usize)
            .ok_or(CheckerError::UnknownPing(pong.seq))?;
        if *answered {
            return Err(CheckerError::UnexpectedMessage);
        }
        *answered = true;
        let rtt = now.saturating_duration_since(*sent);
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
        Ok(rtt)
    }

    /// The work's expected duration at the model's calibrated throughput.
    pub fn expected_work(&self) -> Duration {
        let expected = self.challenge.params.total_ops() as f64 / (self.calibrated_tops * 1e12);
        Duration::try_from_secs_f64(expected).unwrap_or(Duration::MAX)
    }

    /// The most RTT credit this challenge can get: [`MAX_RTT_CREDIT_FRACTION`] of its expected
    /// work time at the calibrated throughput.
    pub fn max_rtt_credit(&self) -> Duration {
        let expected = self.challenge.params.total_ops() as f64 / (self.calibrated_tops * 1e12);
        Duration::try_from_secs_f64(expected * MAX_RTT_CREDIT_FRACTION).unwrap_or(Duration::ZERO)
    }

    /// The round-trip time subtracted from the work time: the smallest round trip of this
    /// session's pings, at most [`CheckerSession::max_rtt_credit`]; zero without a pong.
    pub fn rtt_credit(&self) -> Duration {
        self.min_rtt
            .unwrap_or(Duration::ZERO)
            .min(self.max_rtt_credit())
    }

    fn verdict(&self, outcome: Result<(), Failure>) -> Verdict {
        Verdict {
            challenge_id: self.id,
            outcome,
            work_time: None,
            rtt_credit: self.rtt_credit(),
            throughput_tops: None,
            calibrated_tops: self.calibrated_tops,
            ratio: None,
            rows_verified: 0,
            average_power_w: None,
        }
    }

    /// A commit arrived at `now`. Its signature (by the worker's agent) and challenge id are
    /// checked; then the rows to open are drawn from the operating system's CSPRNG ([`OsRng`]),
    /// and the signed open request returned. This is the entry point a checker daemon uses.
    pub fn receive_commit(
        &mut self,
        bytes: &[u8],
        now: Instant,
    ) -> Result<AfterCommit, CheckerError> {
        self.receive_commit_with_rng(bytes, now, &mut OsRng)
    }

    /// [`CheckerSession::receive_commit`] with the rows to open drawn from `rng`. **For
    /// reproducible tests and benchmarks only; a checker daemon never calls this**: a worker that
    /// can predict the rows computes only those. `rng` must be a CSPRNG (`CryptoRng`), e.g. a
    /// seeded `StdRng` in a test; a plain generator does not compile:
    ///
    /// ```compile_fail
    /// # fn f(s: &mut kaisar_popw::CheckerSession, commit: &[u8]) {
    /// let mut predictable = rand::rngs::mock::StepRng::new(0, 1);
    /// let _ = s.receive_commit_with_rng(commit, std::time::Instant::now(), &mut predictable);
    /// # }
    /// ```
    ///
    /// ```
    /// # fn f(s: &mut kaisar_popw::CheckerSession, commit: &[u8]) {
    /// use rand::SeedableRng;
    /// let mut seeded = rand::rngs::StdRng::seed_from_u64(7); // reproducible tests only
    /// let _ = s.receive_commit_with_rng(commit, std::time::Instant::now(), &mut seeded);
    /// # }
    /// ```
    pub fn receive_commit_with_rng<R: RngCore + CryptoRng + ?Sized>(
        &mut self,
        bytes: &[u8],
        now: Instant,
        rng: &mut R,
    ) -> Result<AfterCommit, CheckerError> {
        if !matches!(self.state, State::AwaitingCommit) {
            return Err(CheckerError::UnexpectedMessage);
        }
        let commit: Commit = messages::unseal(
            bytes,
            messages::max_commit_len(),
            &self.challenge.worker_agent,
        )?;
        check_challenge_id(&self.id, &commit.challenge_id)?;
        if now.saturating_duration_since(self.issued_at) > self.config.commit_timeout {
            self.state = State::Finished;
            return Ok(AfterCommit::Done(self.verdict(Err(Failure::CommitTimeout))));
        }
        let asked = verify::select_openings(
            rng,
            &self.challenge.params,
            openings_count(&self.config, &self.challenge.params),
        );
        let open = Open {
            challenge_id: self.id,
            indices: asked.clone(),
        };
        let bytes = messages::seal(&open, &self.signer);
        self.state = State::AwaitingOpenings {
            commit,
            committed_at: now,
            open_sent_at: now,
            asked,
        };
        Ok(AfterCommit::SendOpen(bytes))
    }

    /// If a deadline passed by `now` without the expected message, the failing verdict.
    pub fn check_timeout(&mut self, now: Instant) -> Option<Verdict> {
        let failure = match &self.state {
            State::AwaitingCommit
                if now.saturating_duration_since(self.issued_at) > self.config.commit_timeout =>
            {
                Failure::CommitTimeout
            }
            State::AwaitingOpenings { open_sent_at, .. }
                if now.saturating_duration_since(*open_sent_at) > self.config.open_timeout =>
            {
                Failure::OpeningsLate
            }
            _ => return None,
        };
        self.state = State::Finished;
        Some(self.verdict(Err(failure)))
    }

    /// The openings arrived at `now`. Verifies everything and returns the verdict. The work time
    /// is commit arrival - issue - [`CheckerSession::rtt_credit`] (the session's own pings).
    pub fn receive_openings(
        &mut self,
        bytes: &[u8],
        now: Instant,
    ) -> Result<Verdict, CheckerError> {
        let State::AwaitingOpenings { asked, .. } = &self.state else {
            return Err(CheckerError::UnexpectedMessage);
        };
        let params = self.challenge.params;
        let max = messages::max_openings_len(&params, asked.len() as u32);
        let openings: Openings = messages::unseal(bytes, max, &self.challenge.worker_agent)?;
        check_challenge_id(&self.id, &openings.challenge_id)?;
        self.precompute();
        let State::AwaitingOpenings {
            commit,
            committed_at,
            open_sent_at,
            asked,
        } = std::mem::replace(&mut self.state, State::Finished)
        else {
            return Err(CheckerError::UnexpectedMessage);
        };

        let work_time = committed_at
            .saturating_duration_since(self.issued_at)
            .saturating_sub(self.rtt_credit())
            .max(Duration::from_nanos(1));
        let throughput = params.total_ops() as f64 / work_time.as_secs_f64() / 1e12;
        let ratio = throughput / self.calibrated_tops;
        let mut v = self.verdict(Ok(()));
        v.work_time = Some(work_time);
        v.throughput_tops = Some(throughput);
        v.ratio = Some(ratio);
        v.average_power_w = commit.before.average_power_w(&commit.after);

        v.outcome = (|| {
            if now.saturating_duration_since(open_sent_at) > self.config.open_timeout {
                return Err(Failure::OpeningsLate);
            }
            let y = self.y.as_deref().unwrap_or_default();
            verify::check_openings(
                &self.prf,
                &params,
                &commit.root,
                &self.r,
                y,
                &asked,
                &openings.rows,
            )
            .map_err(|(position, fault)| Failure::BadRow {
                position,
                index: asked
                    .get(position)
                    .copied()
                    .unwrap_or(RowIndex { t: 0, i: 0 }),
                fault,
            })?;
            if !snapshots_ok(&commit.before, &commit.after, &self.challenge.gpu_uuid_hash) {
                return Err(Failure::BadSnapshots);
            }
            if ratio < self.config.min_ratio {
                return Err(Failure::TooSlow);
            }
            if ratio > self.config.max_ratio {
                return Err(Failure::TooFast);
            }
            Ok(())
        })();
        v.rows_verified = match v.outcome {
            Err(Failure::BadRow { position, .. }) => position,
            Err(Failure::OpeningsLate) => 0,
            _ => asked.len(),
        };
        Ok(v)
    }
}

/// Rows opened under `params` with `config`: `config.openings` within `1..=MAX_OPENINGS`, at
/// most the number of rows.
fn openings_count(config: &CheckerConfig, params: &Params) -> u32 {
    let wanted = config.openings.clamp(1, MAX_OPENINGS);
    params.rows().min(wanted as u64) as u32
}

fn snapshots_ok(before: &GpuSnapshot, after: &GpuSnapshot, gpu: &GpuUuidHash) -> bool {
    before.gpu_uuid_hash == *gpu
        && after.gpu_uuid_hash == *gpu
        && before.timestamp_ms <= after.timestamp_ms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::GpuSnapshot;
    use rand::SeedableRng;

    fn agent() -> Signer {
        Signer::from_seed(&[0xA1; 32])
    }

    fn params() -> Params {
        Params {
            m: 1024,
            n: 16,
            k: 16,
            chunks: 1,
        }
    }

    fn checker() -> Checker {
        Checker::new(Signer::from_seed(&[0xC2; 32]), CheckerConfig::default())
    }

    fn request() -> ChallengeRequest {
        ChallengeRequest {
            genesis_hash: [1; 32],
            epoch_randomness: [2; 32],
            nonce: Nonce([3; 32]),
            worker_id: 4,
            worker_agent: agent().public(),
            gpu_uuid_hash: GpuUuidHash([5; 32]),
            claimed_model: GpuModel::L40S,
            params: Some(params()),
        }
    }

    fn commit_for(s: &CheckerSession) -> Vec<u8> {
        let gpu = s.challenge().gpu_uuid_hash;
        messages::seal(
            &Commit {
                challenge_id: s.id(),
                root: [9; 32],
                before: GpuSnapshot::without_telemetry(gpu, 1),
                after: GpuSnapshot::without_telemetry(gpu, 2),
            },
            &agent(),
        )
    }

    fn asked(after: AfterCommit, checker: &Checker) -> Vec<RowIndex> {
        let AfterCommit::SendOpen(bytes) = after else {
            panic!("expected an open request")
        };
        let open: Open = messages::unseal(&bytes, usize::MAX, &checker.public()).unwrap();
        open.indices
    }

    #[test]
    fn plain_entry_points_draw_the_secrets_from_the_os_csprng_not_from_the_caller() {
        let c = checker();
        let t0 = Instant::now();
        // The same request twice through the daemon's entry points: fresh r, fresh rows.
        let (mut s1, _) = c.issue(&request(), t0).unwrap();
        let (mut s2, _) = c.issue(&request(), t0).unwrap();
        assert_eq!(s1.id(), s2.id());
        assert_ne!(s1.r, s2.r);
        let at = t0 + Duration::from_secs(1);
        let rows1 = asked(s1.receive_commit(&commit_for(&s1), at).unwrap(), &c);
        let rows2 = asked(s2.receive_commit(&commit_for(&s2), at).unwrap(), &c);
        assert_eq!(rows1.len(), 128);
        assert_ne!(rows1, rows2);

        // The explicitly named seeded variants reproduce both (tests and benches only).
        let seeded = || rand::rngs::StdRng::seed_from_u64(11);
        let (mut s3, _) = c.issue_with_rng(&request(), &mut seeded(), t0).unwrap();
        let (mut s4, _) = c.issue_with_rng(&request(), &mut seeded(), t0).unwrap();
        assert_eq!(s3.r, s4.r);
        let rows3 = asked(
            s3.receive_commit_with_rng(&commit_for(&s3), at, &mut seeded())
                .unwrap(),
            &c,
        );
        let rows4 = asked(
            s4.receive_commit_with_rng(&commit_for(&s4), at, &mut seeded())
                .unwrap(),
            &c,
        );
        assert_eq!(rows3, rows4);
    }
}
