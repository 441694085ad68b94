//! The worker side of the PoPW exchange over HTTP (axum), around `kaisar-popw`'s [`Worker`].
//! The wire protocol (routes, statuses, the checker's client) is [`crate::popw_http`].
//!
//! One [`Worker`] per GPU ("slot"): a challenge names its GPU by UUID hash, takes that slot's
//! worker from accept until its open request is answered (or the challenge expires), and runs the
//! work on a blocking thread. So at most one challenge per GPU runs at a time, and at most
//! [`ResponderLimits::max_concurrent`] in all (`429` beyond). Each challenge's state is dropped
//! after its own commit + open timeouts (capped by [`ResponderLimits::max_challenge_lifetime`]);
//! its id is remembered that long, so a replayed challenge is refused (`409`) instead of redone.
//!
//! Whether a challenge comes from the chain's checker with the committed nonce is decided by an
//! [`ExpectationSource`]: the chain-backed one (the on-chain nonce commitments of this worker's
//! assigned checkers) comes with the chain wiring; [`StaticExpectations`] is for development.

use crate::popw_http::{self, CHALLENGE, COMMIT, CONTENT_TYPE, OPEN, PING};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use codec::DecodeAll;
use kaisar_popw::messages::{self, MessageError, ENVELOPE_BYTES};
use kaisar_popw::{
    answer_ping, AcceptedChallenge, AccountKey, Backend, Challenge, ChallengeExpectation,
    ChallengeId, GpuSnapshot, PendingOpening, Shape, Signer, Worker, WorkerError, WorkerIdentity,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Where the chain's expectations for a challenge come from.
pub trait ExpectationSource: Send + Sync + 'static {
    /// The expectation for `claimed`, a challenge decoded but **not yet verified** (the worker
    /// verifies it against the returned expectation: the checker's signature, the nonce against
    /// the on-chain commitment, the chain values). `Err` (a short reason, answered `403`): no
    /// such assignment (unknown checker, no committed nonce for this worker).
    fn expectation(&self, claimed: &Challenge) -> Result<ChallengeExpectation, String>;

    /// Bring the source up to date with the chain's best block. The responder calls it once
    /// (bounded by [`CATCH_UP_TIMEOUT`]) when a challenge is refused, then looks again: a
    /// checker may act on a block (its nonce commitment, the epoch's randomness) before the
    /// agent's per-block refresh has read it. Default: nothing to catch up with.
    fn catch_up(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
}

/// The longest a refused challenge waits for [`ExpectationSource::catch_up`].
pub const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(3);

/// **Development only**: accepts challenges from a fixed set of checkers on a fixed chain,
/// taking the nonce commitment from the challenge itself (so nothing binds the nonce to the
/// chain). A production agent uses the chain-backed source.
#[derive(Clone, Debug)]
pub struct StaticExpectations {
    /// The checkers whose challenges are accepted.
    pub checkers: Vec<AccountKey>,
    /// The chain's genesis hash.
    pub genesis_hash: [u8; 32],
    /// The epoch randomness.
    pub epoch_randomness: [u8; 32],
}

impl ExpectationSource for StaticExpectations {
    fn expectation(&self, claimed: &Challenge) -> Result<ChallengeExpectation, String> {
        if !self.checkers.contains(&claimed.checker) {
            return Err("unknown checker".into());
        }
        Ok(ChallengeExpectation {
            checker: claimed.checker,
            nonce_commitment: claimed.nonce.commitment(),
            genesis_hash: self.genesis_hash,
            epoch_randomness: self.epoch_randomness,
        })
    }
}

/// Reads a GPU snapshot for the commit (before and after the work).
pub type SnapshotFn = Arc<dyn Fn() -> GpuSnapshot + Send + Sync>;

/// One GPU the responder answers for.
pub struct Slot<B> {
    /// Its identity (worker id, GPU UUID hash, model).
    pub identity: WorkerIdentity,
    /// The backend that computes on it.
    pub backend: B,
    /// Its telemetry.
    pub snapshot: SnapshotFn,
}

/// The responder's bounds.
#[derive(Clone, Copy, Debug)]
pub struct ResponderLimits {
    /// Challenges in progress at once, over all GPUs (`429` beyond).
    pub max_concurrent: usize,
    /// The longest a challenge's state is kept (its own commit + open timeouts, if shorter).
    pub max_challenge_lifetime: Duration,
    /// The longest a `GET` of a commit waits (capped at [`popw_http::MAX_LONG_POLL`]).
    pub commit_long_poll: Duration,
    /// Challenge ids remembered at once (in progress or finished and not yet expired; `429`
    /// beyond).
    pub max_remembered: usize,
    /// The shape accepted; `None` for the calibrated standard shape. **Tests and test networks
    /// only** (the shape decides how much GPU memory a checker makes the worker allocate).
    pub test_shape: Option<Shape>,
}

impl Default for ResponderLimits {
    fn default() -> Self {
        Self {
            max_concurrent: 8,
            max_challenge_lifetime: Duration::from_secs(120),
            commit_long_poll: popw_http::MAX_LONG_POLL,
            max_remembered: 1024,
            test_shape: None,
        }
    }
}

enum Phase<B: Backend> {
    /// The work runs on a blocking thread (which holds the worker).
    Working,
    /// Committed; waiting for the open request.
    Committed {
        commit: Bytes,
        worker: Box<Worker<B>>,
        pending: Box<PendingOpening>,
    },
    /// The open request is being answered (a blocking thread holds the worker).
    Opening { commit: Bytes },
    /// Answered (or the work failed); kept until expiry to refuse replays.
    Done { commit: Option<Bytes> },
}

#[derive(Clone, Debug)]
enum Progress {
    Working,
    Committed(Bytes),
    Failed(String),
}

struct Entry<B: Backend> {
    slot: usize,
    accepted: AcceptedChallenge,
    expires: Instant,
    phase: Phase<B>,
    progress: watch::Sender<Progress>,
}

struct Inner<B: Backend> {
    /// The idle worker of each slot (`None` while a challenge holds it).
    idle: Vec<Option<Worker<B>>>,
    challenges: HashMap<ChallengeId, Entry<B>>,
}

impl<B: Backend> Inner<B> {
    fn in_progress(&self) -> usize {
        self.challenges
            .values()
            .filter(|e| !matches!(e.phase, Phase::Done { .. }))
            .count()
    }

    /// Drop expired challenges; give their slot's worker back if they hold it here.
    fn sweep(&mut self, now: Instant) {
        let expired: Vec<ChallengeId> = self
            .challenges
            .iter()
            .filter(|(_, e)| e.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(e) = self.challenges.remove(&id) {
                if let Phase::Committed { worker, .. } = e.phase {
                    self.idle[e.slot] = Some(*worker);
                }
                tracing::debug!(challenge = %hex::encode(id.0), "challenge expired");
            }
        }
    }
}

struct Shared<B: Backend> {
    inner: Mutex<Inner<B>>,
    identities: Vec<WorkerIdentity>,
    snapshots: Vec<SnapshotFn>,
    pong_signer: Signer,
    expectations: Arc<dyn ExpectationSource>,
    limits: ResponderLimits,
}

impl<B: Backend> Shared<B> {
    fn lock(&self) -> MutexGuard<'_, Inner<B>> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters more than refusing service; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The PoPW responder: build it, then serve [`Responder::router`].
pub struct Responder<B: Backend> {
    shared: Arc<Shared<B>>,
}

impl<B: Backend> Clone for Responder<B> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<B: Backend + Send + 'static> Responder<B> {
    /// A responder signing with the agent key of `agent_seed` for the GPUs in `slots`.
    pub fn new(
        agent_seed: &[u8; 32],
        slots: Vec<Slot<B>>,
        expectations: Arc<dyn ExpectationSource>,
        limits: ResponderLimits,
    ) -> Self {
        let mut idle = Vec::new();
        let mut identities = Vec::new();
        let mut snapshots = Vec::new();
        for slot in slots {
            let mut worker =
                Worker::new(Signer::from_seed(agent_seed), slot.identity, slot.backend);
            if let Some(shape) = limits.test_shape {
                worker = worker.with_shape(shape);
            }
            idle.push(Some(worker));
            identities.push(slot.identity);
            snapshots.push(slot.snapshot);
        }
        let limits = ResponderLimits {
            commit_long_poll: limits.commit_long_poll.min(popw_http::MAX_LONG_POLL),
            ..limits
        };
        Self {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    idle,
                    challenges: HashMap::new(),
                }),
                identities,
                snapshots,
                pong_signer: Signer::from_seed(agent_seed),
                expectations,
                limits,
            }),
        }
    }

    /// The agent key the responder signs with.
    pub fn public(&self) -> AccountKey {
        self.shared.pong_signer.public()
    }

    /// The HTTP routes ([`crate::popw_http`]).
    pub fn router(&self) -> Router {
        router(self.clone())
    }
}

/// The HTTP routes of `responder` ([`crate::popw_http`]), each with its body limit.
pub fn router<B: Backend + Send + 'static>(responder: Responder<B>) -> Router {
    Router::new()
        .route(
            CHALLENGE,
            post(challenge::<B>)
                .layer(DefaultBodyLimit::max(popw_http::max_request_len(CHALLENGE))),
        )
        .route(
            PING,
            post(ping::<B>).layer(DefaultBodyLimit::max(popw_http::max_request_len(PING))),
        )
        .route(COMMIT, get(commit::<B>))
        .route(
            OPEN,
            post(open::<B>).layer(DefaultBodyLimit::max(popw_http::max_request_len(OPEN))),
        )
        .with_state(responder.shared)
}

/// A refusal: status and a short text reason.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut reason = self.1;
        reason.truncate(200);
        (self.0, [(header::CONTENT_TYPE, "text/plain")], reason).into_response()
    }
}

fn refuse(status: StatusCode, reason: impl Into<String>) -> Refusal {
    Refusal(status, reason.into())
}

fn message(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], bytes).into_response()
}

/// The HTTP status for a worker's refusal.
fn status_of(e: &WorkerError) -> StatusCode {
    match e {
        WorkerError::Message(m) => match m {
            MessageError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            MessageError::TooShort | MessageError::Malformed(_) => StatusCode::BAD_REQUEST,
            MessageError::WrongSigner { .. } | MessageError::BadSignature => StatusCode::FORBIDDEN,
            MessageError::WrongChallenge { .. } => StatusCode::BAD_REQUEST,
            MessageError::UnsupportedVersion(_) | MessageError::BadParams(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
        },
        WorkerError::NotForMe(_) | WorkerError::NonceMismatch | WorkerError::ChainMismatch(_) => {
            StatusCode::FORBIDDEN
        }
        WorkerError::UnexpectedShape { .. } | WorkerError::TooMuchWork { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        WorkerError::BadOpenRequest(_) => StatusCode::BAD_REQUEST,
        WorkerError::Backend(_) | WorkerError::Commitment(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn worker_refusal(e: WorkerError) -> Refusal {
    Refusal(status_of(&e), e.to_string())
}

/// The challenge id a ping or open request names (the first 32 bytes of every payload after the
/// challenge), before anything is verified.
fn claimed_challenge_id(bytes: &[u8]) -> Result<ChallengeId, Refusal> {
    if bytes.len() < 32 + ENVELOPE_BYTES {
        return Err(refuse(StatusCode::BAD_REQUEST, "message too short"));
    }
    let mut id = [0u8; 32];
    id.copy_from_slice(&bytes[..32]);
    Ok(ChallengeId(id))
}

async fn challenge<B: Backend + Send + 'static>(
    State(shared): State<Arc<Shared<B>>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    // Decoded unverified only to find the expectation and the GPU; `Worker::accept` then checks
    // everything (size, signature, nonce, chain values, identity, shape, work).
    if body.len() > messages::max_challenge_len() {
        return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, "challenge too large"));
    }
    if body.len() < ENVELOPE_BYTES {
        return Err(refuse(StatusCode::BAD_REQUEST, "message too short"));
    }
    let claimed = Challenge::decode_all(&mut &body[..body.len() - ENVELOPE_BYTES])
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("malformed challenge: {e}")))?;
    let id = claimed.id();
    let slot = shared
        .identities
        .iter()
        .position(|i| i.gpu_uuid_hash == claimed.gpu_uuid_hash)
        .ok_or_else(|| {
            refuse(
                StatusCode::FORBIDDEN,
                "challenge is not for this worker: GPU differs",
            )
        })?;
    let expect = match shared.expectations.expectation(&claimed) {
        Ok(e) => e,
        Err(_) => {
            // The chain may be a block ahead of the cached view: look again after catching up.
            let _ = tokio::time::timeout(CATCH_UP_TIMEOUT, shared.expectations.catch_up()).await;
            shared
                .expectations
                .expectation(&claimed)
                .map_err(|reason| refuse(StatusCode::FORBIDDEN, reason))?
        }
    };

    // Take the slot's worker.
    let worker = {
        let mut inner = shared.lock();
        inner.sweep(Instant::now());
        if inner.challenges.contains_key(&id) {
            return Err(refuse(StatusCode::CONFLICT, "challenge already received"));
        }
        if inner.in_progress() >= shared.limits.max_concurrent
            || inner.challenges.len() >= shared.limits.max_remembered
        {
            return Err(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many challenges in progress",
            ));
        }
        inner.idle[slot].take().ok_or_else(|| {
            refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "this GPU is busy with another challenge",
            )
        })?
    };
    let accepted = match worker.accept(&body, &expect) {
        Ok(a) => a,
        Err(e) => {
            shared.lock().idle[slot] = Some(worker);
            return Err(worker_refusal(e));
        }
    };
    debug_assert_eq!(accepted.id, id);
    let c = &accepted.challenge;
    let lifetime = Duration::from_millis(c.commit_timeout_ms as u64 + c.open_timeout_ms as u64)
        .min(shared.limits.max_challenge_lifetime);
    let (progress, _) = watch::channel(Progress::Working);
    shared.lock().challenges.insert(
        id,
        Entry {
            slot,
            accepted: accepted.clone(),
            expires: Instant::now() + lifetime,
            phase: Phase::Working,
            progress,
        },
    );
    tracing::info!(challenge = %hex::encode(id.0), gpu = slot, params = ?c.params, "challenge accepted");

    let work_shared = shared.clone();
    tokio::task::spawn_blocking(move || {
        let mut worker = worker;
        let snapshot = work_shared.snapshots[slot].clone();
        let started = Instant::now();
        let result = worker.work(accepted, &mut || snapshot());
        let mut inner = work_shared.lock();
        let Some(entry) = inner.challenges.get_mut(&id) else {
            // Expired while working: the slot is free again.
            inner.idle[slot] = Some(worker);
            return;
        };
        match result {
            Ok((pending, commit)) => {
                let commit = Bytes::from(commit);
                tracing::info!(challenge = %hex::encode(id.0), took = ?started.elapsed(), "committed");
                entry
                    .progress
                    .send_replace(Progress::Committed(commit.clone()));
                entry.phase = Phase::Committed {
                    commit,
                    worker: Box::new(worker),
                    pending: Box::new(pending),
                };
            }
            Err(e) => {
                tracing::error!(challenge = %hex::encode(id.0), error = %e, "work failed");
                entry.progress.send_replace(Progress::Failed(e.to_string()));
                entry.phase = Phase::Done { commit: None };
                inner.idle[slot] = Some(worker);
            }
        }
    });
    Ok((StatusCode::ACCEPTED, hex::encode(id.0)).into_response())
}

async fn ping<B: Backend + Send + 'static>(
    State(shared): State<Arc<Shared<B>>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let id = claimed_challenge_id(&body)?;
    let accepted = {
        let mut inner = shared.lock();
        inner.sweep(Instant::now());
        let entry = inner
            .challenges
            .get(&id)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "unknown challenge"))?;
        if matches!(entry.phase, Phase::Done { .. }) {
            return Err(refuse(StatusCode::CONFLICT, "challenge finished"));
        }
        entry.accepted.clone()
    };
    let pong = answer_ping(&shared.pong_signer, &accepted, &body).map_err(worker_refusal)?;
    Ok(message(Bytes::from(pong)))
}

async fn commit<B: Backend + Send + 'static>(
    State(shared): State<Arc<Shared<B>>>,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let id = popw_http::parse_challenge_id(&id).ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "challenge id must be 64 hex digits",
        )
    })?;
    let mut progress = {
        let mut inner = shared.lock();
        inner.sweep(Instant::now());
        let entry = inner
            .challenges
            .get(&id)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "unknown challenge"))?;
        match &entry.phase {
            Phase::Committed { commit, .. } | Phase::Opening { commit } => {
                return Ok(message(commit.clone()))
            }
            Phase::Done {
                commit: Some(commit),
            } => return Ok(message(commit.clone())),
            _ => entry.progress.subscribe(),
        }
    };
    let waited = tokio::time::timeout(
        shared.limits.commit_long_poll,
        progress.wait_for(|p| !matches!(p, Progress::Working)),
    )
    .await;
    match waited {
        Err(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        // The entry was dropped (expired) while waiting.
        Ok(Err(_)) => Err(refuse(StatusCode::NOT_FOUND, "unknown challenge")),
        Ok(Ok(p)) => match p.clone() {
            Progress::Committed(commit) => Ok(message(commit)),
            Progress::Failed(reason) => Err(refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("work failed: {reason}"),
            )),
            Progress::Working => Ok(StatusCode::NO_CONTENT.into_response()),
        },
    }
}

async fn open<B: Backend + Send + 'static>(
    State(shared): State<Arc<Shared<B>>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let id = claimed_challenge_id(&body)?;
    let (slot, worker, pending, commit) = {
        let mut inner = shared.lock();
        inner.sweep(Instant::now());
        let entry = inner
            .challenges
            .get_mut(&id)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "unknown challenge"))?;
        match &entry.phase {
            Phase::Working => return Err(refuse(StatusCode::CONFLICT, "not committed yet")),
            Phase::Opening { .. } | Phase::Done { .. } => {
                return Err(refuse(StatusCode::CONFLICT, "already opened"))
            }
            Phase::Committed { commit, .. } => {
                let commit = commit.clone();
                let Phase::Committed {
                    worker, pending, ..
                } = std::mem::replace(
                    &mut entry.phase,
                    Phase::Opening {
                        commit: commit.clone(),
                    },
                )
                else {
                    unreachable!("matched Committed above")
                };
                (entry.slot, worker, pending, commit)
            }
        }
    };
    let open_shared = shared.clone();
    let answered = tokio::task::spawn_blocking(move || {
        let mut worker = worker;
        let result = worker.open(&pending, &body);
        let mut inner = open_shared.lock();
        let restore = result.is_err();
        match inner.challenges.get_mut(&id) {
            Some(entry) if restore => {
                // A bad open request (e.g. not the checker's): the real one may still come.
                entry.phase = Phase::Committed {
                    commit: commit.clone(),
                    worker,
                    pending,
                };
            }
            Some(entry) => {
                entry.phase = Phase::Done {
                    commit: Some(commit.clone()),
                };
                inner.idle[slot] = Some(*worker);
            }
            None => inner.idle[slot] = Some(*worker),
        }
        result
    })
    .await
    .map_err(|_| {
        refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "answering the open request failed",
        )
    })?;
    let openings = answered.map_err(worker_refusal)?;
    tracing::info!(challenge = %hex::encode(id.0), "opened");
    Ok(message(Bytes::from(openings)))
}
