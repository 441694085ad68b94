//! How the daemon talks to a worker: the [`Transport`] trait (the four messages of the PoPW
//! exchange, addressed by the worker's registered endpoint), the exchange driver [`run`] that
//! plays a [`CheckerSession`] over any transport and turns the result into an attestation, and
//! [`InProcessTransport`], workers played in-process over `kaisar_popw::Worker` (tests).
//!
//! The HTTP transport (routes `POST /popw/v1/challenge`, `POST /popw/v1/ping`,
//! `GET /popw/v1/commit/<challenge id hex>`, `POST /popw/v1/open`) is an adapter of the provider
//! protocol's `kaisar_popw_http::Client` to this trait: see `docs/checker-daemon.md`.
//!
//! Any transport error or timeout makes the attestation `Unreachable`: a check is never skipped.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use kaisar_popw::{
    checker::AfterCommit, messages, AcceptedChallenge, Backend, ChallengeExpectation, ChallengeId,
    CheckerSession, Failure, GpuSnapshot, PendingOpening, Verdict, Worker,
};

use crate::state::{AttestationRecord, Bytes32, VerdictKind};

/// Why a message exchange with a worker failed. Every one of them is `Unreachable`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// No connection, a refused connection, a timeout.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The worker answered with a refusal (an HTTP status, a worker error).
    #[error("refused: {0}")]
    Refused(String),
    /// The worker refused the challenge for now: busy with another challenge (HTTP 429), or it
    /// does not see the challenge's on-chain values yet (HTTP 403: its view of the chain may be
    /// a block behind). Sent again within [`ExchangeTiming::accept_retry_for`], the worker's
    /// clock running from the first send.
    #[error("not accepted yet: {0}")]
    NotYet(String),
    /// No commit before the deadline.
    #[error("no commit before the deadline")]
    CommitTimeout,
    /// The endpoint is not usable (not a URL this transport serves).
    #[error("bad endpoint `{0}`")]
    BadEndpoint(String),
}

/// The checker's side of the PoPW message exchange with the worker at `endpoint` (its
/// registered `spec.endpoint`). Messages are `kaisar-popw`'s signed bytes; answers are returned
/// unverified (the [`CheckerSession`] verifies them).
#[async_trait::async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Send the signed challenge; `Ok` once the worker accepted it and started the work.
    async fn send_challenge(
        &self,
        endpoint: &str,
        challenge: Vec<u8>,
    ) -> Result<(), TransportError>;
    /// Send a signed ping; the signed pong.
    async fn ping(&self, endpoint: &str, ping: Vec<u8>) -> Result<Vec<u8>, TransportError>;
    /// Wait for the signed commit of challenge `id` until `deadline`.
    async fn wait_commit(
        &self,
        endpoint: &str,
        id: ChallengeId,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<u8>, TransportError>;
    /// Send the signed open request; the signed openings.
    async fn open(&self, endpoint: &str, open: Vec<u8>) -> Result<Vec<u8>, TransportError>;
}

/// Timing of one exchange, besides the challenge's own timeouts.
#[derive(Clone, Copy, Debug)]
pub struct ExchangeTiming {
    /// Pause between pings while the worker works (at most `kaisar_popw::MAX_PINGS`).
    pub ping_interval: Duration,
    /// Longest wait for one ping's answer or for the challenge's acceptance.
    pub request_timeout: Duration,
    /// How long a challenge the worker refuses for now ([`TransportError::NotYet`]) is sent
    /// again (every [`ExchangeTiming::accept_retry_every`]). The worker's time runs from the
    /// first send (it has seen the challenge); the checkers of a worker stagger their first
    /// sends so that an honest worker rarely makes one wait.
    pub accept_retry_for: Duration,
    /// The pause between two sends of a challenge refused for now.
    pub accept_retry_every: Duration,
}

impl Default for ExchangeTiming {
    fn default() -> Self {
        ExchangeTiming {
            ping_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            accept_retry_for: Duration::from_secs(60),
            accept_retry_every: Duration::from_millis(250),
        }
    }
}

/// What one exchange ended with.
#[derive(Clone, Debug)]
pub struct ExchangeOutcome {
    /// The attestation to seal.
    pub attestation: AttestationRecord,
    /// Why it did not pass, for logs (`None` for a pass).
    pub detail: Option<String>,
}

fn blake2(bytes: &[u8]) -> [u8; 32] {
    sp_crypto_hashing::blake2_256(bytes)
}

/// The chain's verdict of a `kaisar-popw` verdict.
pub fn verdict_kind(outcome: &Result<(), Failure>) -> VerdictKind {
    match outcome {
        Ok(()) => VerdictKind::Pass,
        Err(Failure::CommitTimeout | Failure::OpeningsLate) => VerdictKind::Unreachable,
        Err(Failure::TooSlow) => VerdictKind::TooSlow,
        Err(Failure::BadRow { .. } | Failure::BadSnapshots | Failure::TooFast) => {
            VerdictKind::Wrong
        }
    }
}

/// The attestation of a session: its terms, plus what the worker sent (`commit` and `openings`
/// bytes, when they came) and the verdict.
fn attestation(
    session: &CheckerSession,
    verdict: VerdictKind,
    measured: Option<&Verdict>,
    commit: Option<&[u8]>,
    openings: Option<&[u8]>,
) -> AttestationRecord {
    use kaisar_chain_client::subxt::ext::codec::Encode;
    let c = session.challenge();
    let (root, snapshots) = match commit.and_then(|bytes| {
        messages::unseal::<kaisar_popw::Commit>(bytes, messages::max_commit_len(), &c.worker_agent)
            .ok()
    }) {
        Some(commit) => {
            let mut s = commit.before.encode();
            s.extend(commit.after.encode());
            (commit.root, blake2(&s))
        }
        None => ([0; 32], [0; 32]),
    };
    let work_time = measured.and_then(|v| v.work_time);
    AttestationRecord {
        challenge_id: Bytes32(session.id().0),
        nonce: Bytes32(c.nonce.0),
        gpu_uuid_hash: Bytes32(c.gpu_uuid_hash.0),
        m: c.params.m,
        n: c.params.n,
        k: c.params.k,
        chunks: c.params.chunks,
        commit_timeout_ms: c.commit_timeout_ms,
        open_timeout_ms: c.open_timeout_ms,
        merkle_root: Bytes32(root),
        work_time_ms: work_time.map_or(0, |t| t.as_millis().min(u32::MAX as u128) as u32),
        throughput_gops: measured
            .and_then(|v| v.throughput_tops)
            .map_or(0, |t| (t * 1000.0).clamp(0.0, u64::MAX as f64) as u64),
        ratio_ppm: measured
            .and_then(|v| v.ratio)
            .map_or(0, |r| (r * 1e6).clamp(0.0, u32::MAX as f64) as u32),
        verdict,
        openings_digest: Bytes32(openings.map_or([0; 32], blake2)),
        snapshots_digest: Bytes32(snapshots),
    }
}

fn unreachable(session: &CheckerSession, why: String) -> ExchangeOutcome {
    ExchangeOutcome {
        attestation: attestation(session, VerdictKind::Unreachable, None, None, None),
        detail: Some(why),
    }
}

/// Play one challenge over `transport` against the worker at `endpoint`: send the signed
/// `challenge` (the session was issued just before), ping while the worker works, take the
/// commit (timed when it arrives), send the open request, verify the openings. Never fails:
/// whatever goes wrong is an attestation (`Unreachable` for transport errors and timeouts).
pub async fn run(
    transport: Arc<dyn Transport>,
    endpoint: &str,
    session: CheckerSession,
    challenge: Vec<u8>,
    timing: ExchangeTiming,
) -> ExchangeOutcome {
    let issued = Instant::now();
    let commit_timeout = Duration::from_millis(session.challenge().commit_timeout_ms as u64);
    let open_timeout = Duration::from_millis(session.challenge().open_timeout_ms as u64);
    let retry_until = issued + timing.accept_retry_for;
    loop {
        match tokio::time::timeout(
            timing.request_timeout,
            transport.send_challenge(endpoint, challenge.clone()),
        )
        .await
        {
            Ok(Ok(())) => break,
            Ok(Err(TransportError::NotYet(why))) if Instant::now() < retry_until => {
                // The worker's clock keeps running: it has seen the challenge and could compute
                // while refusing it (the checkers' staggered starts keep honest waits short).
                tracing::debug!(%endpoint, %why, "challenge not accepted yet; sending it again");
                tokio::time::sleep(timing.accept_retry_every).await;
            }
            Ok(Err(e)) => return unreachable(&session, format!("challenge not accepted: {e}")),
            Err(_) => return unreachable(&session, "challenge not accepted in time".into()),
        }
    }
    // The commit is awaited on its own task, so that its arrival time is taken when it arrives
    // (not when a ping in progress ends).
    let deadline = tokio::time::Instant::from_std(issued + commit_timeout);
    let commit_task = {
        let transport = transport.clone();
        let endpoint = endpoint.to_string();
        let id = session.id();
        tokio::spawn(async move {
            let r = tokio::time::timeout_at(
                deadline + Duration::from_millis(100),
                transport.wait_commit(&endpoint, id, deadline),
            )
            .await
            .unwrap_or(Err(TransportError::CommitTimeout));
            (r, Instant::now())
        })
    };
    tokio::pin!(commit_task);
    // Pings run on their own task too (a slow pong never delays the commit or the open
    // request); the session is shared with it until the commit arrives.
    let shared = Arc::new(Mutex::new(session));
    let pinger = {
        let shared = shared.clone();
        let transport = transport.clone();
        let endpoint = endpoint.to_string();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(timing.ping_interval);
            loop {
                tick.tick().await;
                let Ok(ping) = shared.lock().unwrap().ping(Instant::now()) else {
                    return;
                };
                if let Ok(Ok(pong)) =
                    tokio::time::timeout(timing.request_timeout, transport.ping(&endpoint, ping))
                        .await
                {
                    let at = Instant::now();
                    let _ = shared.lock().unwrap().receive_pong(&pong, at);
                }
            }
        })
    };
    let received = (&mut commit_task).await;
    pinger.abort();
    let _ = pinger.await;
    let mut session = match Arc::try_unwrap(shared) {
        Ok(m) => m.into_inner().unwrap_or_else(|p| p.into_inner()),
        Err(_) => unreachable!("the pinger ended and dropped its reference"),
    };
    let (commit, arrived) = match received {
        Ok((Ok(bytes), at)) => (bytes, at),
        Ok((Err(e), _)) => return unreachable(&session, format!("no commit: {e}")),
        Err(e) => return unreachable(&session, format!("commit task failed: {e}")),
    };
    let open = match session.receive_commit(&commit, arrived) {
        Ok(AfterCommit::SendOpen(open)) => open,
        Ok(AfterCommit::Done(verdict)) => {
            let kind = verdict_kind(&verdict.outcome);
            return ExchangeOutcome {
                attestation: attestation(&session, kind, Some(&verdict), Some(&commit), None),
                detail: Some(format!("{:?}", verdict.outcome)),
            };
        }
        // A commit that is not the worker's signed commit of this challenge counts as none.
        Err(e) => return unreachable(&session, format!("bad commit: {e}")),
    };
    let openings = match tokio::time::timeout(open_timeout, transport.open(endpoint, open)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            return with_commit(&session, &commit, format!("no openings: {e}"));
        }
        Err(_) => return with_commit(&session, &commit, "openings late".into()),
    };
    match session.receive_openings(&openings, Instant::now()) {
        Ok(verdict) => {
            let kind = verdict_kind(&verdict.outcome);
            ExchangeOutcome {
                attestation: attestation(
                    &session,
                    kind,
                    Some(&verdict),
                    Some(&commit),
                    Some(&openings),
                ),
                detail: verdict.outcome.err().map(|f| format!("{f:?}")),
            }
        }
        Err(e) => with_commit(&session, &commit, format!("bad openings: {e}")),
    }
}

/// `Unreachable` after a commit (no usable openings): the root and snapshots are attested.
fn with_commit(session: &CheckerSession, commit: &[u8], why: String) -> ExchangeOutcome {
    ExchangeOutcome {
        attestation: attestation(session, VerdictKind::Unreachable, None, Some(commit), None),
        detail: Some(why),
    }
}

// ---- in-process workers -------------------------------------------------------------------

type CommitCell = tokio::sync::watch::Sender<Option<Result<Vec<u8>, String>>>;

struct Pending {
    accepted: AcceptedChallenge,
    commit: CommitCell,
    opening: Arc<Mutex<Option<PendingOpening>>>,
}

/// A worker's agent played in-process (tests and development): a `kaisar_popw::Worker` with any
/// backend, answering while [`InProcessWorker::set_answering`] is true. It takes the challenge's
/// expectation (checker, nonce commitment, genesis hash, randomness) from the challenge itself:
/// it does not read the chain, so it is no model of a real agent's checks.
pub struct InProcessWorker<B: Backend + Send + 'static> {
    worker: Arc<Mutex<Worker<B>>>,
    answering: AtomicBool,
    pending: Mutex<HashMap<ChallengeId, Pending>>,
}

impl<B: Backend + Send + 'static> InProcessWorker<B> {
    /// Wrap a worker (answering).
    pub fn new(worker: Worker<B>) -> Arc<Self> {
        Arc::new(InProcessWorker {
            worker: Arc::new(Mutex::new(worker)),
            answering: AtomicBool::new(true),
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Stop (false) or resume (true) answering: a worker that does not answer is unreachable.
    pub fn set_answering(&self, answering: bool) {
        self.answering.store(answering, Ordering::SeqCst);
    }

    fn check_answering(&self) -> Result<(), TransportError> {
        if self.answering.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(TransportError::Unreachable(
                "the worker does not answer".into(),
            ))
        }
    }
}

/// The object-safe face of an [`InProcessWorker`] (whatever its backend).
#[async_trait::async_trait]
pub trait PlayedWorker: Send + Sync {
    /// `POST challenge`.
    async fn challenge(&self, bytes: Vec<u8>) -> Result<(), TransportError>;
    /// `POST ping`.
    async fn ping(&self, bytes: Vec<u8>) -> Result<Vec<u8>, TransportError>;
    /// `GET commit` until `deadline`.
    async fn commit(
        &self,
        id: ChallengeId,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<u8>, TransportError>;
    /// `POST open`.
    async fn open(&self, bytes: Vec<u8>) -> Result<Vec<u8>, TransportError>;
}

#[async_trait::async_trait]
impl<B: Backend + Send + 'static> PlayedWorker for InProcessWorker<B> {
    async fn challenge(&self, bytes: Vec<u8>) -> Result<(), TransportError> {
        self.check_answering()?;
        let refused = |e: String| TransportError::Refused(e);
        let checker = messages::claimed_signer(&bytes)
            .ok_or_else(|| refused("not a signed message".into()))?;
        let challenge: kaisar_popw::Challenge =
            messages::unseal(&bytes, messages::max_challenge_len(), &checker)
                .map_err(|e| refused(e.to_string()))?;
        let expect = ChallengeExpectation {
            checker,
            nonce_commitment: challenge.nonce.commitment(),
            genesis_hash: challenge.genesis_hash,
            epoch_randomness: challenge.epoch_randomness,
        };
        let accepted = self
            .worker
            .lock()
            .unwrap()
            .accept(&bytes, &expect)
            .map_err(|e| refused(e.to_string()))?;
        let (tx, _) = tokio::sync::watch::channel(None);
        let opening = Arc::new(Mutex::new(None));
        {
            let mut pending = self.pending.lock().unwrap();
            if pending.contains_key(&accepted.id) {
                return Err(refused("challenge replayed".into()));
            }
            pending.insert(
                accepted.id,
                Pending {
                    accepted: accepted.clone(),
                    commit: tx.clone(),
                    opening: opening.clone(),
                },
            );
        }
        let worker = self.worker.clone();
        let gpu = accepted.challenge.gpu_uuid_hash;
        tokio::task::spawn_blocking(move || {
            let mut snapshot =
                move || GpuSnapshot::without_telemetry(gpu, kaisar_popw::snapshot::unix_time_ms());
            let result = worker.lock().unwrap().work(accepted, &mut snapshot);
            let value = match result {
                Ok((pending, bytes)) => {
                    *opening.lock().unwrap() = Some(pending);
                    Ok(bytes)
                }
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send(Some(value));
        });
        Ok(())
    }

    async fn ping(&self, bytes: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.check_answering()?;
        let id = messages::claimed_signer(&bytes)
            .and_then(|s| {
                messages::unseal::<kaisar_popw::Ping>(&bytes, messages::max_ping_len(), &s).ok()
            })
            .map(|p| p.challenge_id)
            .ok_or_else(|| TransportError::Refused("not a ping".into()))?;
        let accepted = self
            .pending
            .lock()
            .unwrap()
            .get(&id)
            .map(|p| p.accepted.clone())
            .ok_or_else(|| TransportError::Refused("unknown challenge".into()))?;
        self.worker
            .lock()
            .unwrap()
            .pong(&accepted, &bytes)
            .map_err(|e| TransportError::Refused(e.to_string()))
    }

    async fn commit(
        &self,
        id: ChallengeId,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<u8>, TransportError> {
        let mut rx = self
            .pending
            .lock()
            .unwrap()
            .get(&id)
            .map(|p| p.commit.subscribe())
            .ok_or_else(|| TransportError::Refused("unknown challenge".into()))?;
        let ready = tokio::time::timeout_at(deadline, rx.wait_for(|v| v.is_some())).await;
        self.check_answering()?;
        match ready {
            Err(_) => Err(TransportError::CommitTimeout),
            Ok(Err(_)) => Err(TransportError::Unreachable("the worker went away".into())),
            Ok(Ok(v)) => match v.clone().expect("waited for Some") {
                Ok(bytes) => Ok(bytes),
                Err(e) => Err(TransportError::Refused(e)),
            },
        }
    }

    async fn open(&self, bytes: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.check_answering()?;
        let id = messages::claimed_signer(&bytes)
            .and_then(|s| {
                messages::unseal::<kaisar_popw::Open>(
                    &bytes,
                    messages::max_open_len(messages::MAX_OPENINGS),
                    &s,
                )
                .ok()
            })
            .map(|o| o.challenge_id)
            .ok_or_else(|| TransportError::Refused("not an open request".into()))?;
        let opening = self
            .pending
            .lock()
            .unwrap()
            .remove(&id)
            .map(|p| p.opening)
            .ok_or_else(|| TransportError::Refused("unknown challenge".into()))?;
        let pending = opening
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| TransportError::Refused("open before the commit".into()))?;
        let worker = self.worker.clone();
        tokio::task::spawn_blocking(move || worker.lock().unwrap().open(&pending, &bytes))
            .await
            .map_err(|e| TransportError::Unreachable(e.to_string()))?
            .map_err(|e| TransportError::Refused(e.to_string()))
    }
}

/// Workers played in-process, by endpoint. An endpoint nobody plays is unreachable.
#[derive(Default)]
pub struct InProcessTransport {
    workers: Mutex<HashMap<String, Arc<dyn PlayedWorker>>>,
}

impl InProcessTransport {
    /// No workers yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Play `worker` at `endpoint` (the worker's registered `spec.endpoint`).
    pub fn add(&self, endpoint: &str, worker: Arc<dyn PlayedWorker>) {
        self.workers
            .lock()
            .unwrap()
            .insert(endpoint.to_string(), worker);
    }

    fn get(&self, endpoint: &str) -> Result<Arc<dyn PlayedWorker>, TransportError> {
        self.workers
            .lock()
            .unwrap()
            .get(endpoint)
            .cloned()
            .ok_or_else(|| TransportError::Unreachable(format!("nobody at {endpoint}")))
    }
}

#[async_trait::async_trait]
impl Transport for InProcessTransport {
    async fn send_challenge(
        &self,
        endpoint: &str,
        challenge: Vec<u8>,
    ) -> Result<(), TransportError> {
        self.get(endpoint)?.challenge(challenge).await
    }

    async fn ping(&self, endpoint: &str, ping: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.get(endpoint)?.ping(ping).await
    }

    async fn wait_commit(
        &self,
        endpoint: &str,
        id: ChallengeId,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<u8>, TransportError> {
        self.get(endpoint)?.commit(id, deadline).await
    }

    async fn open(&self, endpoint: &str, open: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.get(endpoint)?.open(open).await
    }
}
