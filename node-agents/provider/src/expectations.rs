//! The chain-backed [`ExpectationSource`]: a challenge is accepted only from a checker that
//! holds an assigned slot of this worker with the challenge's nonce committed on-chain, in the
//! current or the previous checking epoch (`PopwAttestations::Checks(epoch, worker)`) or in
//! the worker's open re-check (`PopwAttestations::Rechecks(worker)`), and only with the chain's
//! genesis hash and that epoch's challenge randomness (`PopwAttestationsApi::epoch_seeds`;
//! none while nonces are still being committed).
//!
//! The agent refreshes the cache once per new best block ([`ChainExpectations::refresh`]);
//! the responder looks challenges up in it without touching the chain, except that a refused
//! challenge makes it catch up with the best block once ([`ExpectationSource::catch_up`]: a
//! checker may see a block before the agent does). Catch-ups run one at a time, and one that
//! started after a challenge arrived serves it too: bogus challenges cannot make the agent read
//! the chain more than back to back.

use crate::responder::ExpectationSource;
use kaisar_chain_client::{kaisar, Client};
use kaisar_popw::{AccountKey, Challenge, ChallengeExpectation, NonceCommitment};
use kaisar_primitives::WorkerId;
use std::sync::RwLock;
use std::time::Instant;

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
    /// The client of the latest refresh (the agent's connection), for catching up.
    client: RwLock<Option<Client>>,
    /// When the latest catch-up started; held while one runs.
    last_catch_up: tokio::sync::Mutex<Option<Instant>>,
    /// Held while a refresh reads the chain: the agent's tick and the responder's follower
    /// refresh at each new block, and the second finds the first's result instead of reading
    /// the chain again.
    refreshing: tokio::sync::Mutex<()>,
    /// Epochs' challenge randomness once drawn (it never changes then): read from the chain
    /// once per epoch, not at every block.
    drawn: std::sync::Mutex<std::collections::BTreeMap<u32, [u8; 32]>>,
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
            client: RwLock::new(None),
            last_catch_up: tokio::sync::Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            drawn: Default::default(),
        }
    }

    /// The block the cache was read at.
    pub fn block(&self) -> Option<u32> {
        self.cache.read().unwrap_or_else(|p| p.into_inner()).block
    }

    /// Replace the cache (what [`ChainExpectations::refresh`] does after reading the chain),
    /// unless it already holds a later block's (two refreshes may overlap).
    pub fn set(&self, block: u32, expected: Vec<Expected>) {
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.block.is_some_and(|b| b > block) {
            return;
        }
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
        *self.client.write().unwrap_or_else(|p| p.into_inner()) = Some(client.clone());
        if self.block() == Some(block) {
            return Ok(());
        }
        let _refreshing = self.refreshing.lock().await;
        if self.block().is_some_and(|b| b >= block) {
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
        tracing::debug!(
            block,
            current,
            drawn = ?expected.iter().map(|e| (e.epoch, e.epoch_randomness.is_some())).collect::<Vec<_>>(),
            "expectations refreshed"
        );
        self.set(block, expected);
        Ok(())
    }

    async fn randomness(
        &self,
        client: &Client,
        epoch: u32,
    ) -> Result<Option<[u8; 32]>, kaisar_chain_client::ChainError> {
        if let Some(r) = self.drawn_randomness(epoch) {
            return Ok(Some(r));
        }
        let seeds = client
            .call_api(
                kaisar::runtime_apis()
                    .popw_attestations_api()
                    .epoch_seeds(epoch),
            )
            .await?;
        let drawn = seeds.and_then(|s| s.challenge);
        if let Some(r) = drawn {
            let mut cache = self.drawn.lock().unwrap_or_else(|p| p.into_inner());
            cache.insert(epoch, r);
            // The current and the previous epoch's, and a re-check's: a few entries at most.
            while cache.len() > 8 {
                cache.pop_first();
            }
        }
        Ok(drawn)
    }

    fn drawn_randomness(&self, epoch: u32) -> Option<[u8; 32]> {
        self.drawn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&epoch)
            .copied()
    }
}

impl ChainExpectations {
    /// Refresh at the best block with the latest refresh's client (none yet: nothing), unless a
    /// catch-up that started after this call did already.
    async fn catch_up_now(&self) {
        let arrived = Instant::now();
        let mut last = self.last_catch_up.lock().await;
        if last.is_some_and(|t| t >= arrived) {
            return;
        }
        *last = Some(Instant::now());
        let client = self
            .client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(client) = client else {
            return;
        };
        match client.best_number().await {
            Ok(best) => {
                if let Err(e) = self.refresh(&client, best).await {
                    tracing::debug!(error = %e, "catching up with the chain failed");
                }
            }
            Err(e) => tracing::debug!(error = %e, "catching up with the chain failed"),
        }
    }
}

impl ExpectationSource for ChainExpectations {
    fn catch_up(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.catch_up_now())
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use kaisar_popw::{GpuUuidHash, Nonce, Params};
    use kaisar_primitives::GpuModel;

    const GENESIS: [u8; 32] = [7; 32];

    fn challenge(checker: u8, nonce: u8, randomness: [u8; 32]) -> Challenge {
        Challenge {
            version: kaisar_popw::messages::PROTOCOL_VERSION,
            genesis_hash: GENESIS,
            epoch_randomness: randomness,
            nonce: Nonce([nonce; 32]),
            worker_id: 3,
            worker_agent: AccountKey([9; 32]),
            checker: AccountKey([checker; 32]),
            gpu_uuid_hash: GpuUuidHash([1; 32]),
            claimed_model: GpuModel::L40S,
            params: Params {
                m: 16,
                n: 16,
                k: 32,
                chunks: 2,
            },
            commit_timeout_ms: 1000,
            open_timeout_ms: 1000,
        }
    }

    fn slot(epoch: u32, checker: u8, nonce: u8, randomness: Option<[u8; 32]>) -> Expected {
        Expected {
            epoch,
            checker: AccountKey([checker; 32]),
            nonce_commitment: Nonce([nonce; 32]).commitment().0,
            epoch_randomness: randomness,
        }
    }

    #[test]
    fn an_earlier_blocks_refresh_never_replaces_a_later_ones() {
        let source = ChainExpectations::new(3, GENESIS);
        source.set(11, vec![slot(4, 1, 1, Some([5; 32]))]);
        source.set(10, vec![slot(4, 1, 1, None)]);
        assert_eq!(source.block(), Some(11));
        assert!(source.expectation(&challenge(1, 1, [5; 32])).is_ok());
    }

    #[test]
    fn only_an_assigned_checker_with_its_committed_nonce_gets_the_chains_values() {
        let source = ChainExpectations::new(3, GENESIS);
        // Nothing read yet: nobody is expected.
        assert!(source.expectation(&challenge(1, 1, [5; 32])).is_err());
        source.set(
            10,
            vec![
                slot(4, 1, 1, Some([5; 32])),
                // A re-check slot of the same checker in another epoch.
                slot(2, 1, 2, Some([6; 32])),
                // Randomness not drawn yet.
                slot(4, 3, 3, None),
            ],
        );
        assert_eq!(source.block(), Some(10));
        let e = source.expectation(&challenge(1, 1, [5; 32])).unwrap();
        assert_eq!(e.checker, AccountKey([1; 32]));
        assert_eq!(e.nonce_commitment, Nonce([1; 32]).commitment());
        assert_eq!(e.genesis_hash, GENESIS);
        assert_eq!(e.epoch_randomness, [5; 32]);
        // The same checker's other nonce takes the randomness of its own epoch (the worker
        // then refuses a challenge that claims another).
        let e = source.expectation(&challenge(1, 2, [5; 32])).unwrap();
        assert_eq!(e.epoch_randomness, [6; 32]);
        // Not assigned, a nonce not committed, randomness not drawn: refused.
        assert!(source
            .expectation(&challenge(2, 1, [5; 32]))
            .unwrap_err()
            .contains("no assigned slot"));
        assert!(source
            .expectation(&challenge(1, 9, [5; 32]))
            .unwrap_err()
            .contains("not committed"));
        assert!(source
            .expectation(&challenge(3, 3, [5; 32]))
            .unwrap_err()
            .contains("not drawn"));
    }
}
