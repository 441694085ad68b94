//! The worker side: accept a challenge, do the work, commit, answer the open request.

use crate::backend::{Backend, BackendError};
use crate::calibration::CalibrationTable;
use crate::keys::{AccountKey, Signer};
use crate::merkle::{Commitment, CommitmentError};
use crate::messages::{
    self, check_challenge_id, Challenge, Commit, MessageError, Open, OpenedRow, Openings, Ping,
    Pong, MAX_OPENINGS,
};
use crate::params::{Shape, STANDARD_SHAPE};
use crate::seed::{ChallengeId, GpuUuidHash, NonceCommitment, Seed};
use crate::snapshot::GpuSnapshot;
use kaisar_primitives::{GpuModel, WorkerId};

/// What the worker reads from the chain before accepting a challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChallengeExpectation {
    /// The checker that committed the nonce on-chain.
    pub checker: AccountKey,
    /// The on-chain commitment `H(nonce)`.
    pub nonce_commitment: NonceCommitment,
    /// The chain's genesis hash.
    pub genesis_hash: [u8; 32],
    /// The current epoch randomness.
    pub epoch_randomness: [u8; 32],
}

/// Who the worker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerIdentity {
    /// Its on-chain id.
    pub worker_id: WorkerId,
    /// Hash of its GPU's UUID.
    pub gpu_uuid_hash: GpuUuidHash,
    /// Its registered model.
    pub model: GpuModel,
}

/// A challenge that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedChallenge {
    /// The challenge.
    pub challenge: Challenge,
    /// Its id.
    pub id: ChallengeId,
    /// Its seed.
    pub seed: Seed,
}

/// The worker's state between its commit and the open request.
#[derive(Clone, Debug)]
pub struct PendingOpening {
    accepted: AcceptedChallenge,
    commitment: Commitment,
}

impl PendingOpening {
    /// The challenge.
    pub fn challenge(&self) -> &AcceptedChallenge {
        &self.accepted
    }

    /// The committed tree.
    pub fn commitment(&self) -> &Commitment {
        &self.commitment
    }
}

/// Why the worker refused or failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    /// The message is malformed, oversized, wrongly signed, or for another challenge.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// The challenge names another worker, agent, GPU or model.
    #[error("challenge is not for this worker: {0} differs")]
    NotForMe(&'static str),
    /// The revealed nonce does not match the on-chain commitment.
    #[error("nonce does not match the on-chain commitment")]
    NonceMismatch,
    /// The challenge's checker, genesis hash or epoch randomness is not the chain's.
    #[error("challenge does not match the chain: {0} differs")]
    ChainMismatch(&'static str),
    /// The challenge's matrix shape (`m`, `n`, `k`) is not the one this worker accepts (its
    /// model's calibrated shape, [`STANDARD_SHAPE`] for every GPU model): the shape decides how much GPU memory the work needs, so
    /// a checker must not choose it (e.g. `m = 2^16, n = 2^15, k = 2^16` needs 14 GiB).
    #[error("challenge shape {got:?} is not the accepted shape {expected:?}")]
    UnexpectedShape {
        /// What was asked.
        got: Shape,
        /// What this worker accepts.
        expected: Shape,
    },
    /// More work than this worker accepts (a denial-of-service guard).
    #[error("challenge asks for {ops} operations, more than the limit of {max}")]
    TooMuchWork {
        /// What was asked.
        ops: u128,
        /// The limit.
        max: u128,
    },
    /// The open request is empty, too long, or names rows that do not exist.
    #[error("bad open request: {0}")]
    BadOpenRequest(&'static str),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The backend returned inconsistent hashes.
    #[error(transparent)]
    Commitment(#[from] CommitmentError),
}

/// A worker: its key, its identity and the backend that does the work.
pub struct Worker<B: Backend> {
    signer: Signer,
    identity: WorkerIdentity,
    backend: B,
    shape: Shape,
    max_ops: u128,
}

impl<B: Backend> Worker<B> {
    /// A worker that accepts only its model's calibrated shape (built-in table:
    /// [`STANDARD_SHAPE`] for every GPU model, so its GPU memory use is fixed: three 256 MiB
    /// matrices, plus 32 bytes per row for the leaf hashes; the development-only `DevCpu`'s own
    /// small shape), and at most twice the standard work (chunk count) for its model.
    pub fn new(signer: Signer, identity: WorkerIdentity, backend: B) -> Self {
        let table = CalibrationTable::builtin();
        let max_ops = table
            .standard_params(identity.model)
            .map(|p| p.total_ops().saturating_mul(2))
            .unwrap_or(0);
        Self {
            signer,
            identity,
            backend,
            shape: table
                .standard_shape(identity.model)
                .unwrap_or(STANDARD_SHAPE),
            max_ops,
        }
    }

    /// Accept challenges of `shape` instead of the calibrated one. **For tests and test networks
    /// only; a worker daemon keeps the calibrated shape** (otherwise the checker chooses how much
    /// memory the worker allocates).
    pub fn with_shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    /// Change the most work (operations) accepted in one challenge.
    pub fn with_max_ops(mut self, max_ops: u128) -> Self {
        self.max_ops = max_ops;
        self
    }

    /// The agent's public key.
    pub fn public(&self) -> AccountKey {
        self.signer.public()
    }

    /// The backend.
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// Check a received challenge: size, checker signature, nonce commitment, chain values, that
    /// it is for this worker/agent/GPU/model, that its shape is the accepted one
    /// ([`WorkerError::UnexpectedShape`]) and that the work is within limits.
    pub fn accept(
        &self,
        bytes: &[u8],
        expect: &ChallengeExpectation,
    ) -> Result<AcceptedChallenge, WorkerError> {
        let c: Challenge = messages::unseal(bytes, messages::max_challenge_len(), &expect.checker)?;
        c.validate()?;
        if c.checker != expect.checker {
            return Err(WorkerError::ChainMismatch("checker"));
        }
        if c.nonce.commitment() != expect.nonce_commitment {
            return Err(WorkerError::NonceMismatch);
        }
        if c.genesis_hash != expect.genesis_hash {
            return Err(WorkerError::ChainMismatch("genesis hash"));
        }
        if c.epoch_randomness != expect.epoch_randomness {
            return Err(WorkerError::ChainMismatch("epoch randomness"));
        }
        if c.worker_id != self.identity.worker_id {
            return Err(WorkerError::NotForMe("worker id"));
        }
        if c.worker_agent != self.signer.public() {
            return Err(WorkerError::NotForMe("agent key"));
        }
        if c.gpu_uuid_hash != self.identity.gpu_uuid_hash {
            return Err(WorkerError::NotForMe("GPU"));
        }
        if c.claimed_model != self.identity.model {
            return Err(WorkerError::NotForMe("model"));
        }
        if c.params.shape() != self.shape {
            return Err(WorkerError::UnexpectedShape {
                got: c.params.shape(),
                expected: self.shape,
            });
        }
        let ops = c.params.total_ops();
        if ops > self.max_ops {
            return Err(WorkerError::TooMuchWork {
                ops,
                max: self.max_ops,
            });
        }
        Ok(AcceptedChallenge {
            id: c.id(),
            seed: c.seed(),
            challenge: c,
        })
    }

    /// Do the work and produce the signed commit. `snapshot` reads the GPU (called before and
    /// after the work).
    pub fn work(
        &mut self,
        accepted: AcceptedChallenge,
        snapshot: &mut dyn FnMut() -> GpuSnapshot,
    ) -> Result<(PendingOpening, Vec<u8>), WorkerError> {
        let before = snapshot();
        let hashes = self
            .backend
            .commit(&accepted.seed, &accepted.challenge.params)?;
        let after = snapshot();
        let commitment = Commitment::from_chunks(
            accepted.challenge.params.m as usize,
            hashes.leaves,
            hashes.chunk_roots,
        )?;
        let commit = Commit {
            challenge_id: accepted.id,
            root: commitment.root(),
            before,
            after,
        };
        let bytes = messages::seal(&commit, &self.signer);
        Ok((
            PendingOpening {
                accepted,
                commitment,
            },
            bytes,
        ))
    }

    /// Answer the checker's signed [`Ping`] for `accepted` at once with a signed [`Pong`] (the
    /// agent should answer pings while the work runs; a slow answer only lowers the worker's
    /// own RTT credit, and the credit is capped anyway).
    pub fn pong(&self, accepted: &AcceptedChallenge, bytes: &[u8]) -> Result<Vec<u8>, WorkerError> {
        answer_ping(&self.signer, accepted, bytes)
    }

    /// Answer a signed open request with the rows and their paths.
    pub fn open(&mut self, pending: &PendingOpening, bytes: &[u8]) -> Result<Vec<u8>, WorkerError> {
        let c = &pending.accepted.challenge;
        let open: Open = messages::unseal(bytes, messages::max_open_len(MAX_OPENINGS), &c.checker)?;
        check_challenge_id(&pending.accepted.id, &open.challenge_id)?;
        if open.indices.is_empty() || open.indices.len() > MAX_OPENINGS as usize {
            return Err(WorkerError::BadOpenRequest("row count"));
        }
        // The answer must fit the receiver's hard cap, or it would be refused unread (an honest
        // checker never asks for this: `Checker::issue` refuses such parameters).
        if messages::max_openings_len(&c.params, open.indices.len() as u32)
            > messages::MAX_MESSAGE_BYTES
        {
            return Err(WorkerError::BadOpenRequest(
                "answer would exceed the message cap",
            ));
        }
        let rows = self
            .backend
            .rows(&pending.accepted.seed, &c.params, &open.indices)
            .map_err(|e| match e {
                BackendError::RowOutOfRange(_) => WorkerError::BadOpenRequest("row out of range"),
                other => WorkerError::Backend(other),
            })?;
        let rows = open
            .indices
            .iter()
            .zip(rows)
            .map(|(ix, row)| {
                let path = pending
                    .commitment
                    .path(ix.t, ix.i)
                    .ok_or(WorkerError::BadOpenRequest("row out of range"))?;
                Ok(OpenedRow {
                    index: *ix,
                    row,
                    path,
                })
            })
            .collect::<Result<Vec<_>, WorkerError>>()?;
        Ok(messages::seal(
            &Openings {
                challenge_id: pending.accepted.id,
                rows,
            },
            &self.signer,
        ))
    }
}

/// [`Worker::pong`] without the worker: for an agent that answers pings on another thread while
/// [`Worker::work`] holds the worker (`signer` is the agent key, e.g. a second
/// [`Signer::from_seed`] of the same seed; `accepted` a clone of the accepted challenge).
pub fn answer_ping(
    signer: &Signer,
    accepted: &AcceptedChallenge,
    bytes: &[u8],
) -> Result<Vec<u8>, WorkerError> {
    let ping: Ping =
        messages::unseal(bytes, messages::max_ping_len(), &accepted.challenge.checker)?;
    check_challenge_id(&accepted.id, &ping.challenge_id)?;
    Ok(messages::seal(
        &Pong {
            challenge_id: accepted.id,
            seq: ping.seq,
        },
        signer,
    ))
}
