//! The chain-backed [`ExpectationSource`]: a challenge is accepted only from a checker that
//! holds an assigned slot of this worker with the challenge's nonce committed on-chain, in the
//! current or the previous checking epoch (`PopwAttestations::Checks(epoch, worker)`) or in
//! the worker's open re-check (`PopwAttestations::Rechecks(worker)`), and only with the chain's
//! genesis hash and that epoch's challenge randomness (`PopwAttestationsApi::epoch_seeds`;
//! none while nonces are still being committed).
//!
//! The agent refreshes the cache once per new best block ([`ChainExpectations::refresh`]);
//! the responder looks challenges up in it without touching the chain.

use crate::responder::ExpectationSource;
use kaisar_chain_client::{kaisar, Client};
use kaisar_popw::{AccountKey, Challenge, ChallengeExpectation, NonceCommitment};
use kaisar_primitives::WorkerId;
use std::sync::RwLock;

/// One slot's committed nonce that may challenge this worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The checking epoch.
    pub epoch: u32,
    /// The slot's operator: the checker that signs the challenge.
    pub checker: AccountKey,
    /// The committed nonce's hash.
    pub nonce_commitment: [u8; 32],
    /// The epoch's challenge randomness (`None` while nonce commitments are still accepted:
    /// no challenge is valid yet).
    pub epoch_randomness: Option<[u8; 32]>,
}

/// The chain's expectations for one worker, cached per block.
#[derive(Debug)]
pub struct ChainExpectations {
    worker_id: WorkerId,
    genesis_hash: [u8; 32],
    cache: RwLock<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    block: Option<u32>,
    expected: Vec<Expected>,
}

impl ChainExpectations {
    /// Expectations for `worker_id` on the chain with `genesis_hash` (empty until the first
    /// [`ChainExpectations::refresh`]).
    pub fn new(worker_id: WorkerId, genesis_hash: [u8; 32]) -> Self {
        Self {
            worker_id,
            genesis_hash,
            cache: RwLock::new(Cache::default()),
        }
    }

    /// The block the cache was read at.
    pub fn block(&self) -> Option<u32> {
        self.cache.read().unwrap_or_else(|p| p.into_inner()).block
    }

    /// Replace the cache (what [`ChainExpectations::refresh`] does after reading the chain).
    pub fn set(&self, block: u32, expected: Vec<Expected>) {
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        cache.block = Some(block);
        cache.expected = expected;
    }

    /// Read the worker's checks (current and previous epoch) and re-check from the chain at
    /// block `block`, unless the cache is already of that block.
    pub async fn refresh(
        &self,
        client: &Client,
        block: u32,
    ) -> Result<(), kaisar_chain_client::ChainError> {
        if self.block() == Some(block) {
            return Ok(());
        }
        let current = client
            .call_api(
                kaisar::runtime_apis()
                    .popw_attestations_api()
                    .current_epoch(),
            )
            .await?;
        let mut expected = Vec::new();
        let mut epochs = vec![current];
        if current > 0 {
            epochs.push(current - 1);
        }
        for epoch in epochs {
            let check = client
                .fetch(
                    kaisar::storage().popw_attestations().checks(),
                    (epoch, self.worker_id),
                )
                .await?;
            if let Some(check) = check {
                let randomness = self.randomness(client, epoch).await?;
                expected.extend(check.slots.0.iter().filter_map(|s| {
                    Some(Expected {
                        epoch,
                        checker: AccountKey(s.operator.0),
                        nonce_commitment: s.nonce_commitment?,
                        epoch_randomness: randomness,
                    })
                }));
            }
        }
        let recheck = client
            .fetch(
                kaisar::storage().popw_attestations().rechecks(),
                (self.worker_id,),
            )
            .await?;
        if let Some(recheck) = recheck {
            if let Some(check) = recheck.check {
                let randomness = self.randomness(client, recheck.epoch).await?;
                expected.extend(check.slots.0.iter().filter_map(|s| {
                    Some(Expected {
                        epoch: recheck.epoch,
                        checker: AccountKey(s.operator.0),
                        nonce_commitment: s.nonce_commitment?,
                        epoch_randomness: randomness,
                    })
                }));
            }
        }
        self.set(block, expected);
        Ok(())
    }

    async fn randomness(
        &self,
        client: &Client,
        epoch: u32,
    ) -> Result<Option<[u8; 32]>, kaisar_chain_client::ChainError> {
        let seeds = client
            .call_api(
                kaisar::runtime_apis()
                    .popw_attestations_api()
                    .epoch_seeds(epoch),
            )
            .await?;
        Ok(seeds.and_then(|s| s.challenge))
    }
}

impl ExpectationSource for ChainExpectations {
    fn expectation(&self, claimed: &Challenge) -> Result<ChallengeExpectation, String> {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        let commitment = claimed.nonce.commitment();
        let mut from_checker = cache
            .expected
            .iter()
            .filter(|e| e.checker == claimed.checker)
            .peekable();
        if from_checker.peek().is_none() {
            return Err("no assigned slot of this checker for this worker".into());
        }
        let Some(slot) = from_checker.find(|e| NonceCommitment(e.nonce_commitment) == commitment)
        else {
            return Err("nonce not committed on-chain for this worker".into());
        };
        let Some(epoch_randomness) = slot.epoch_randomness else {
            return Err("the epoch's challenge randomness is not drawn yet".into());
        };
        Ok(ChallengeExpectation {
            checker: slot.checker,
            nonce_commitment: NonceCommitment(slot.nonce_commitment),
            genesis_hash: self.genesis_hash,
            epoch_randomness,
        })
    }
}
