//! What the core needs from the chain ([`Chain`]), and its implementation over
//! `kaisar-chain-client` ([`ClientChain`]). The trait keeps the state machine testable without a
//! node (the unit tests play the pallet's rules in memory).

use std::sync::Arc;

use kaisar_chain_client::{
    kaisar, signer::Signer, types::GpuModel as ChainModel, AccountId32, BlockNumber, ChainError,
    Client, PendingTx, TxOutcome,
};
use kaisar_primitives::GpuModel;

use crate::state::{AttestationRecord, Kind};

/// A chain failure that may pass (connection, timeout, RPC): retried at the next step.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Transient(pub String);

/// Why a transaction failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SubmitError {
    /// A `PopwAttestations` module error (its variant's name, e.g. `AlreadyCommitted`).
    #[error("PopwAttestations::{0}")]
    Module(String),
    /// Any other dispatch error or module error of another pallet: the call is wrong.
    #[error("{0}")]
    Failed(String),
    /// Not included (connection, pool refusal, timeout): may be retried.
    #[error("{0}")]
    Transient(String),
}

/// A worker as the checker needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerTarget {
    /// Its registered endpoint (`spec.endpoint`, as UTF-8).
    pub endpoint: String,
    /// Its agent account.
    pub agent: [u8; 32],
    /// Its claimed model (of its first GPU).
    pub model: GpuModel,
    /// Its registered GPUs' UUID hashes.
    pub gpus: Vec<[u8; 32]>,
}

/// One slot of an open check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotView {
    /// The slot index.
    pub slot: u32,
    /// Its nonce commitment, once committed.
    pub commitment: Option<[u8; 32]>,
    /// Its seal, once sealed.
    pub seal: Option<[u8; 32]>,
    /// Whether it revealed.
    pub revealed: bool,
}

/// An open check (regular or re-check) on chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckView {
    /// Its slots (empty before the first commitment of a re-check).
    pub slots: Vec<SlotView>,
    /// Slots that sealed.
    pub sealed: u32,
}

impl CheckView {
    /// Whether every assigned slot sealed (reveals are open then).
    pub fn all_sealed(&self) -> bool {
        !self.slots.is_empty() && self.sealed as usize >= self.slots.len()
    }

    /// The view of one slot.
    pub fn slot(&self, slot: u32) -> Option<&SlotView> {
        self.slots.iter().find(|s| s.slot == slot)
    }
}

/// An assignment of the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Regular or re-check.
    pub kind: Kind,
    /// The epoch (whose windows apply).
    pub epoch: u32,
    /// The worker.
    pub worker: u64,
    /// The slot index.
    pub slot: u32,
    /// The slot's license.
    pub license: u32,
}

/// The calls of the checking protocol (short-lived: built and submitted at once).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum CheckerCall {
    /// `commit_nonce` / `commit_recheck_nonce`.
    Commit {
        /// Regular or re-check.
        kind: Kind,
        /// Epoch (ignored by the re-check call).
        epoch: u32,
        /// Worker.
        worker: u64,
        /// Slot.
        slot: u32,
        /// `blake2_256("kaisar-popw/nonce/v1" ++ nonce)`.
        commitment: [u8; 32],
    },
    /// `seal` / `seal_recheck`.
    Seal {
        /// Regular or re-check.
        kind: Kind,
        /// Epoch (ignored by the re-check call).
        epoch: u32,
        /// Worker.
        worker: u64,
        /// Slot.
        slot: u32,
        /// `blake2_256(SCALE(attestation) ++ salt)`.
        seal: [u8; 32],
    },
    /// `reveal` / `reveal_recheck`.
    Reveal {
        /// Regular or re-check.
        kind: Kind,
        /// Epoch (ignored by the re-check call).
        epoch: u32,
        /// Worker.
        worker: u64,
        /// Slot.
        slot: u32,
        /// The sealed attestation.
        attestation: AttestationRecord,
        /// The seal's salt.
        salt: [u8; 32],
    },
    /// `finalize` / `finalize_recheck`.
    Finalize {
        /// Regular or re-check.
        kind: Kind,
        /// Epoch (ignored by the re-check call).
        epoch: u32,
        /// Worker.
        worker: u64,
    },
}

impl CheckerCall {
    /// The call's name on chain (metrics label).
    pub fn name(&self) -> &'static str {
        use CheckerCall::*;
        match (self, self.kind()) {
            (Commit { .. }, Kind::Regular) => "commit_nonce",
            (Commit { .. }, Kind::Recheck) => "commit_recheck_nonce",
            (Seal { .. }, Kind::Regular) => "seal",
            (Seal { .. }, Kind::Recheck) => "seal_recheck",
            (Reveal { .. }, Kind::Regular) => "reveal",
            (Reveal { .. }, Kind::Recheck) => "reveal_recheck",
            (Finalize { .. }, Kind::Regular) => "finalize",
            (Finalize { .. }, Kind::Recheck) => "finalize_recheck",
        }
    }

    fn kind(&self) -> Kind {
        match self {
            CheckerCall::Commit { kind, .. }
            | CheckerCall::Seal { kind, .. }
            | CheckerCall::Reveal { kind, .. }
            | CheckerCall::Finalize { kind, .. } => *kind,
        }
    }
}

/// What the daemon reads from and submits to the chain.
#[async_trait::async_trait]
pub trait Chain: Send + Sync {
    /// The chain's genesis hash.
    fn genesis(&self) -> [u8; 32];
    /// The best block's number.
    async fn best_number(&self) -> Result<BlockNumber, Transient>;
    /// The checking epochs' length in blocks, and the commit, seal and reveal windows' shares
    /// of it in parts per million (the pallet's constants).
    async fn timeline(&self) -> Result<(BlockNumber, [u32; 3]), Transient>;
    /// The operator's regular assignments in `epoch`.
    async fn assignments(&self, epoch: u32) -> Result<Vec<Assignment>, Transient>;
    /// The operator's slots in open re-checks.
    async fn recheck_assignments(&self) -> Result<Vec<Assignment>, Transient>;
    /// `epoch`'s challenge randomness, once drawn.
    async fn challenge_randomness(&self, epoch: u32) -> Result<Option<[u8; 32]>, Transient>;
    /// A registered worker (`None` if it left the registry).
    async fn worker(&self, worker: u64) -> Result<Option<WorkerTarget>, Transient>;
    /// The open check (`None`: never opened, or finalized). A re-check counts as open for
    /// `epoch` only while the worker's open re-check uses that epoch.
    async fn check(
        &self,
        kind: Kind,
        epoch: u32,
        worker: u64,
    ) -> Result<Option<CheckView>, Transient>;
    /// Sign and submit a call with the operator key; `Ok(true)` if it finalized a check (the
    /// reveal that completed it, or a finalize).
    async fn submit(&self, call: CheckerCall) -> Result<bool, SubmitError>;
    /// Submit `calls` in this order, all in flight together, and wait for each: one result per
    /// call, in order (each as [`Chain::submit`] says). The default submits them one after the
    /// other; [`ClientChain`] signs them with consecutive nonces, so that a step's transactions
    /// can land in one block.
    async fn submit_all(&self, calls: Vec<CheckerCall>) -> Vec<Result<bool, SubmitError>> {
        let mut results = Vec::with_capacity(calls.len());
        for call in calls {
            results.push(self.submit(call).await);
        }
        results
    }
}

/// The real chain, through `kaisar-chain-client`.
pub struct ClientChain {
    client: Client,
    signer: Signer,
    operator: AccountId32,
}

impl ClientChain {
    /// The chain at `client`, submitting as `signer`.
    pub fn new(client: Client, signer: Signer) -> Arc<Self> {
        let operator = kaisar_chain_client::signer::account_of(&signer);
        Arc::new(ClientChain {
            client,
            signer,
            operator,
        })
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sign `call` with the operator key and `nonce` and hand it to the node's pool.
    async fn send(&self, call: CheckerCall, nonce: u64) -> Result<PendingTx, ChainError> {
        let tx = kaisar::tx().popw_attestations();
        match call {
            CheckerCall::Commit {
                kind: Kind::Regular,
                epoch,
                worker,
                slot,
                commitment,
            } => {
                self.client
                    .send(
                        &tx.commit_nonce(epoch, worker, slot, commitment),
                        &self.signer,
                        nonce,
                    )
                    .await
            }
            CheckerCall::Commit {
                kind: Kind::Recheck,
                worker,
                slot,
                commitment,
                ..
            } => {
                self.client
                    .send(
                        &tx.commit_recheck_nonce(worker, slot, commitment),
                        &self.signer,
                        nonce,
                    )
                    .await
            }
            CheckerCall::Seal {
                kind: Kind::Regular,
                epoch,
                worker,
                slot,
                seal,
            } => {
                self.client
                    .send(&tx.seal(epoch, worker, slot, seal), &self.signer, nonce)
                    .await
            }
            CheckerCall::Seal {
                kind: Kind::Recheck,
                worker,
                slot,
                seal,
                ..
            } => {
                self.client
                    .send(&tx.seal_recheck(worker, slot, seal), &self.signer, nonce)
                    .await
            }
            CheckerCall::Reveal {
                kind: Kind::Regular,
                epoch,
                worker,
                slot,
                attestation,
                salt,
            } => {
                self.client
                    .send(
                        &tx.reveal(epoch, worker, slot, attestation.to_chain(), salt),
                        &self.signer,
                        nonce,
                    )
                    .await
            }
            CheckerCall::Reveal {
                kind: Kind::Recheck,
                worker,
                slot,
                attestation,
                salt,
                ..
            } => {
                self.client
                    .send(
                        &tx.reveal_recheck(worker, slot, attestation.to_chain(), salt),
                        &self.signer,
                        nonce,
                    )
                    .await
            }
            CheckerCall::Finalize {
                kind: Kind::Regular,
                epoch,
                worker,
            } => {
                self.client
                    .send(&tx.finalize(epoch, worker), &self.signer, nonce)
                    .await
            }
            CheckerCall::Finalize {
                kind: Kind::Recheck,
                worker,
                ..
            } => {
                self.client
                    .send(&tx.finalize_recheck(worker), &self.signer, nonce)
                    .await
            }
        }
    }
}

fn transient(e: ChainError) -> Transient {
    Transient(e.to_string())
}

/// A chain error as the core sorts it: the pallet's refusals by name, other dispatch errors as
/// failures, the rest (connection, pool, timeout) as transient.
fn submit_error(e: ChainError) -> SubmitError {
    match e.module_error() {
        Some(("PopwAttestations", error)) => SubmitError::Module(error.to_string()),
        Some(_) => SubmitError::Failed(e.to_string()),
        None => match e {
            ChainError::Dispatch(_) => SubmitError::Failed(e.to_string()),
            other => SubmitError::Transient(other.to_string()),
        },
    }
}

/// A waited-for transaction's result: whether it finalized a check.
fn landed(outcome: Result<TxOutcome, ChainError>) -> Result<bool, SubmitError> {
    use kaisar::popw_attestations::events as ev;
    let outcome = outcome.map_err(submit_error)?;
    Ok(outcome.has::<ev::CheckFinalized>() || outcome.has::<ev::RecheckConcluded>())
}

/// The primitives' model of the chain's (the same variants, by SCALE index).
pub fn popw_model(model: &ChainModel) -> GpuModel {
    match model {
        ChainModel::RtxA4000 => GpuModel::RtxA4000,
        ChainModel::Rtx3090 => GpuModel::Rtx3090,
        ChainModel::Rtx4090 => GpuModel::Rtx4090,
        ChainModel::Rtx5090 => GpuModel::Rtx5090,
        ChainModel::L4 => GpuModel::L4,
        ChainModel::L40S => GpuModel::L40S,
        ChainModel::A10 => GpuModel::A10,
        ChainModel::A100Pcie40G => GpuModel::A100Pcie40G,
        ChainModel::A100Sxm80G => GpuModel::A100Sxm80G,
        ChainModel::H100Pcie => GpuModel::H100Pcie,
        ChainModel::H100Sxm => GpuModel::H100Sxm,
        ChainModel::H200 => GpuModel::H200,
        ChainModel::DevCpu => GpuModel::DevCpu,
    }
}

type ChainCheckRecord =
    kaisar::runtime_types::pallet_popw_attestations::types::CheckRecord<AccountId32>;

fn view_of(record: ChainCheckRecord) -> CheckView {
    CheckView {
        slots: record
            .slots
            .0
            .into_iter()
            .map(|s| SlotView {
                slot: s.slot,
                commitment: s.nonce_commitment,
                seal: s.seal,
                revealed: s.vote.is_some(),
            })
            .collect(),
        sealed: record.sealed,
    }
}

#[async_trait::async_trait]
impl Chain for ClientChain {
    fn genesis(&self) -> [u8; 32] {
        self.client.genesis_hash().0
    }

    async fn best_number(&self) -> Result<BlockNumber, Transient> {
        self.client.best_number().await.map_err(transient)
    }

    async fn timeline(&self) -> Result<(BlockNumber, [u32; 3]), Transient> {
        let len = self
            .client
            .fetch(kaisar::storage().checker_licenses().epoch_length(), ())
            .await
            .map_err(transient)?
            .ok_or_else(|| Transient("no checker_licenses.epoch_length".into()))?;
        let c = kaisar::constants().popw_attestations();
        let commit = self
            .client
            .constant(c.commit_window())
            .await
            .map_err(transient)?;
        let seal = self
            .client
            .constant(c.seal_window())
            .await
            .map_err(transient)?;
        let reveal = self
            .client
            .constant(c.reveal_window())
            .await
            .map_err(transient)?;
        Ok((len, [commit.0, seal.0, reveal.0]))
    }

    async fn assignments(&self, epoch: u32) -> Result<Vec<Assignment>, Transient> {
        let list = self
            .client
            .call_api(
                kaisar::runtime_apis()
                    .popw_attestations_api()
                    .assignments_of(self.operator, epoch),
            )
            .await
            .map_err(transient)?;
        Ok(list
            .into_iter()
            .map(|a| Assignment {
                kind: Kind::Regular,
                epoch,
                worker: a.worker,
                slot: a.slot,
                license: a.license,
            })
            .collect())
    }

    async fn recheck_assignments(&self) -> Result<Vec<Assignment>, Transient> {
        let list = self
            .client
            .call_api(
                kaisar::runtime_apis()
                    .popw_attestations_api()
                    .recheck_assignments_of(self.operator),
            )
            .await
            .map_err(transient)?;
        Ok(list
            .into_iter()
            .map(|(worker, epoch, a)| Assignment {
                kind: Kind::Recheck,
                epoch,
                worker,
                slot: a.slot,
                license: a.license,
            })
            .collect())
    }

    async fn challenge_randomness(&self, epoch: u32) -> Result<Option<[u8; 32]>, Transient> {
        let seeds = self
            .client
            .call_api(
                kaisar::runtime_apis()
                    .popw_attestations_api()
                    .epoch_seeds(epoch),
            )
            .await
            .map_err(transient)?;
        Ok(seeds.and_then(|s| s.challenge))
    }

    async fn worker(&self, worker: u64) -> Result<Option<WorkerTarget>, Transient> {
        let Some(info) = self.client.worker(worker).await.map_err(transient)? else {
            return Ok(None);
        };
        let spec = info.spec;
        let Some(first) = spec.gpus.0.first() else {
            return Ok(None);
        };
        Ok(Some(WorkerTarget {
            endpoint: String::from_utf8_lossy(&spec.endpoint.0).into_owned(),
            agent: spec.agent.0,
            model: popw_model(&first.model),
            gpus: spec.gpus.0.iter().map(|g| g.uuid_hash.0).collect(),
        }))
    }

    async fn check(
        &self,
        kind: Kind,
        epoch: u32,
        worker: u64,
    ) -> Result<Option<CheckView>, Transient> {
        match kind {
            Kind::Regular => Ok(self
                .client
                .fetch(
                    kaisar::storage().popw_attestations().checks(),
                    (epoch, worker),
                )
                .await
                .map_err(transient)?
                .map(view_of)),
            Kind::Recheck => {
                let recheck = self
                    .client
                    .fetch(kaisar::storage().popw_attestations().rechecks(), (worker,))
                    .await
                    .map_err(transient)?;
                Ok(recheck
                    .filter(|r| r.epoch == epoch)
                    .map(|r| r.check.map(view_of).unwrap_or_default()))
            }
        }
    }

    async fn submit(&self, call: CheckerCall) -> Result<bool, SubmitError> {
        let nonce = self
            .client
            .next_nonce(&self.operator)
            .await
            .map_err(submit_error)?;
        let pending = self.send(call, nonce).await.map_err(submit_error)?;
        landed(pending.wait().await)
    }

    async fn submit_all(&self, calls: Vec<CheckerCall>) -> Vec<Result<bool, SubmitError>> {
        let n = calls.len();
        let first = match self.client.next_nonce(&self.operator).await {
            Ok(nonce) => nonce,
            Err(e) => {
                let e = submit_error(e);
                return (0..n).map(|_| Err(e.clone())).collect();
            }
        };
        // Sent in nonce order; once the pool refuses one, the later ones are not sent (their
        // nonces would leave a gap) and are retried at the next step.
        let mut sent: Vec<Result<PendingTx, SubmitError>> = Vec::with_capacity(n);
        let mut refused = false;
        for (i, call) in calls.into_iter().enumerate() {
            if refused {
                sent.push(Err(SubmitError::Transient(
                    "not sent: the pool refused an earlier transaction of this step".into(),
                )));
                continue;
            }
            match self.send(call, first + i as u64).await {
                Ok(pending) => sent.push(Ok(pending)),
                Err(e) => {
                    refused = true;
                    sent.push(Err(submit_error(e)));
                }
            }
        }
        // All are in flight: waiting for them one after the other takes as long as the last.
        let mut results = Vec::with_capacity(n);
        for pending in sent {
            results.push(match pending {
                Ok(pending) => landed(pending.wait().await),
                Err(e) => Err(e),
            });
        }
        results
    }
}
