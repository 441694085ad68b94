//! The timeline, the assignment draw, the hashes the chain recomputes, the trait this pallet
//! implements for the rewards pallet and the invariants.

use super::*;
use alloc::vec::Vec;
use codec::{Decode, Encode};
use core::fmt::Debug as RuntimeDebug;
use frame_support::{pallet_prelude::*, traits::Randomness};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{
    CheckerPerformance, CheckerSlot, CheckerSlots, CheckerTally, CheckingEpoch, CheckingEpochs,
    GpuModel, LicenseId, WorkerId, WorkerRegistry, WorkerStatus,
};
use scale_info::TypeInfo;
use sp_io::hashing::blake2_256;
use sp_runtime::{
    traits::{One, Saturating},
    Permill,
};

/// `blake2_256("kaisar-popw/nonce/v1" ++ nonce)`: the on-chain nonce commitment.
pub fn nonce_commitment(nonce: &Hash32) -> Hash32 {
    let mut buf = [0u8; 52];
    buf[..20].copy_from_slice(NONCE_TAG);
    buf[20..].copy_from_slice(nonce);
    blake2_256(&buf)
}

/// `blake2_256(SCALE(attestation) ++ salt)`: the seal of an attestation.
pub fn seal_of(attestation: &Attestation, salt: &Hash32) -> Hash32 {
    let mut buf = attestation.encode();
    buf.extend_from_slice(salt);
    blake2_256(&buf)
}

/// The chain's values that, with an attestation's [`ChallengeTerms`], make up a `kaisar-popw`
/// challenge.
#[derive(Clone, PartialEq, Eq, RuntimeDebug)]
pub struct ChainValues<'a> {
    /// The chain's genesis hash.
    pub genesis_hash: Hash32,
    /// The epoch's challenge randomness.
    pub epoch_randomness: Hash32,
    /// The worker.
    pub worker_id: WorkerId,
    /// SCALE of the worker's agent account (32 bytes for `AccountId32`: its sr25519 key).
    pub worker_agent: &'a [u8],
    /// SCALE of the checker's (the slot operator's) account.
    pub checker: &'a [u8],
    /// The model the worker claims.
    pub claimed_model: GpuModel,
}

/// The id of the challenge made of `chain` and `terms`:
/// `blake2_256("kaisar-popw/challenge/v1" ++ SCALE(Challenge))` with `kaisar-popw`'s field
/// order (version, genesis hash, epoch randomness, nonce, worker id, worker agent, checker,
/// GPU UUID hash, claimed model, params, commit timeout, open timeout).
pub fn challenge_id(chain: &ChainValues, terms: &ChallengeTerms) -> Hash32 {
    let mut buf = Vec::with_capacity(CHALLENGE_TAG.len() + 256);
    buf.extend_from_slice(CHALLENGE_TAG);
    POPW_PROTOCOL_VERSION.encode_to(&mut buf);
    buf.extend_from_slice(&chain.genesis_hash);
    buf.extend_from_slice(&chain.epoch_randomness);
    buf.extend_from_slice(&terms.nonce);
    chain.worker_id.encode_to(&mut buf);
    buf.extend_from_slice(chain.worker_agent);
    buf.extend_from_slice(chain.checker);
    buf.extend_from_slice(&terms.gpu_uuid_hash);
    chain.claimed_model.encode_to(&mut buf);
    terms.params.encode_to(&mut buf);
    terms.commit_timeout_ms.encode_to(&mut buf);
    terms.open_timeout_ms.encode_to(&mut buf);
    blake2_256(&buf)
}

/// The slot index of draw `try_index` for `worker` from an epoch's assignment `seed` among
/// `slot_count` slots (`slot_count > 0`).
pub fn draw_slot(seed: &Hash32, worker: WorkerId, try_index: u32, slot_count: u32) -> u32 {
    let mut buf = [0u8; 21 + 32 + 8 + 4];
    buf[..21].copy_from_slice(ASSIGN_TAG);
    buf[21..53].copy_from_slice(seed);
    buf[53..61].copy_from_slice(&worker.to_le_bytes());
    buf[61..].copy_from_slice(&try_index.to_le_bytes());
    let h = blake2_256(&buf);
    let mut word = [0u8; 8];
    word.copy_from_slice(&h[..8]);
    (u64::from_le_bytes(word) % slot_count as u64) as u32
}

/// The median of `values` (the mean of the two middle values for an even count, rounded
/// down); `None` if empty.
pub fn median(mut values: Vec<u64>) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        let (a, b) = (values[mid - 1], values[mid]);
        a / 2 + b / 2 + (a % 2 + b % 2) / 2
    })
}

/// One assignment of an operator, as the runtime API lists them.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, RuntimeDebug)]
pub struct OperatorAssignment {
    /// The worker to check.
    pub worker: WorkerId,
    /// The assigned slot's index in the epoch's slot set.
    pub slot: u32,
    /// The slot's license.
    pub license: LicenseId,
}

impl<T: Config> Pallet<T> {
    /// The most an applied verdict can cost beyond the pallet's own work: a verification or a
    /// suspension (with the registry's hooks), or the failed-verdict hooks.
    pub fn max_verdict_effects() -> Weight {
        use kaisar_primitives::{WorkerAvailabilityHooks, WorkerVerification};
        T::Verification::max_weight().max(T::FailedVerdictHooks::max_weight())
    }

    /// The first block of `epoch`.
    pub fn epoch_start(epoch: CheckingEpoch) -> BlockNumberFor<T> {
        T::Slots::epoch_start(epoch)
    }

    /// A window's length in blocks: its fraction of the epoch length, rounded down, at least
    /// one block.
    pub fn window_blocks(fraction: Permill) -> BlockNumberFor<T> {
        fraction.mul_floor(T::Slots::epoch_length()).max(One::one())
    }

    /// The block from which `epoch`'s nonce commitments are closed and its challenge
    /// randomness is drawn.
    pub fn commit_deadline(epoch: CheckingEpoch) -> BlockNumberFor<T> {
        Self::epoch_start(epoch).saturating_add(Self::window_blocks(T::CommitWindow::get()))
    }

    /// The block from which `epoch`'s seals are closed (and reveals open).
    pub fn seal_deadline(epoch: CheckingEpoch) -> BlockNumberFor<T> {
        Self::commit_deadline(epoch).saturating_add(Self::window_blocks(T::SealWindow::get()))
    }

    /// The block from which `epoch`'s reveals are closed (and anyone may finalize).
    pub fn reveal_deadline(epoch: CheckingEpoch) -> BlockNumberFor<T> {
        Self::seal_deadline(epoch).saturating_add(Self::window_blocks(T::RevealWindow::get()))
    }

    /// Draw `subject ++ SCALE(epoch)` from [`Config::Randomness`], hashed to 32 bytes.
    pub(crate) fn draw_randomness(subject: &[u8], epoch: CheckingEpoch) -> Hash32 {
        let mut s = subject.to_vec();
        epoch.encode_to(&mut s);
        let (random, _) = T::Randomness::random(&s);
        blake2_256(&random.encode())
    }

    /// The chain's genesis hash, as 32 bytes.
    pub fn genesis_hash() -> Hash32 {
        let h = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::from(0u32));
        let enc = h.encode();
        let mut out = [0u8; 32];
        let n = enc.len().min(32);
        out[..n].copy_from_slice(&enc[..n]);
        out
    }

    /// Whether the registry checks a worker with this status.
    pub fn is_checkable(status: WorkerStatus) -> bool {
        matches!(
            status,
            WorkerStatus::Active | WorkerStatus::PendingVerification
        )
    }

    /// Draw the slots of `worker` (provided by `provider`, run by `agent`) from `seed` among
    /// the current slot set: up to K distinct slots whose owner and operator are neither
    /// `provider` nor `agent`, in at most `MaxAssignmentTries` draws. Returns the slots and the
    /// draws made.
    pub(crate) fn draw_assignment(
        seed: &Hash32,
        worker: WorkerId,
        provider: &T::AccountId,
        agent: &T::AccountId,
    ) -> (Vec<(u32, CheckerSlot<T::AccountId>)>, u32) {
        let k = T::CheckersPerWorker::get() as usize;
        let count = T::Slots::slot_count();
        let mut chosen: Vec<(u32, CheckerSlot<T::AccountId>)> = Vec::with_capacity(k);
        let mut tries = 0;
        if count == 0 {
            return (chosen, tries);
        }
        while tries < T::MaxAssignmentTries::get() && chosen.len() < k {
            let index = draw_slot(seed, worker, tries, count);
            tries += 1;
            if chosen.iter().any(|(i, _)| *i == index) {
                continue;
            }
            let Some(slot) = T::Slots::slot(index) else {
                continue;
            };
            let own = |who: &T::AccountId| who == provider || who == agent;
            if own(&slot.owner) || own(&slot.operator) {
                continue;
            }
            chosen.push((index, slot));
        }
        (chosen, tries)
    }

    /// The slot indices assigned to `worker` in `epoch`: the open check's slots if there is
    /// one, else drawn from the epoch's seed if `epoch` is the current epoch and the worker is
    /// checkable, else empty. O(MaxAssignmentTries) reads.
    pub fn assignment(
        epoch: CheckingEpoch,
        worker: WorkerId,
    ) -> BoundedVec<u32, T::CheckersPerWorker> {
        if let Some(rec) = Checks::<T>::get(epoch, worker) {
            return BoundedVec::truncate_from(rec.slots.iter().map(|s| s.slot).collect());
        }
        if T::Slots::current_epoch() != epoch {
            return BoundedVec::new();
        }
        let (Some(seeds), Some(w)) = (Seeds::<T>::get(epoch), T::Workers::worker(worker)) else {
            return BoundedVec::new();
        };
        if !Self::is_checkable(w.status) {
            return BoundedVec::new();
        }
        let (chosen, _) = Self::draw_assignment(&seeds.assignment, worker, &w.provider, &w.agent);
        BoundedVec::truncate_from(chosen.into_iter().map(|(i, _)| i).collect())
    }

    /// The assignments of `operator` in `epoch` among `workers` (for the runtime API, which
    /// passes every registered worker: off-chain only).
    pub fn assignments_of(
        operator: &T::AccountId,
        epoch: CheckingEpoch,
        workers: impl IntoIterator<Item = WorkerId>,
    ) -> Vec<OperatorAssignment> {
        let mut out = Vec::new();
        for worker in workers {
            for slot in Self::assignment(epoch, worker) {
                let mine = match Checks::<T>::get(epoch, worker) {
                    Some(rec) => rec
                        .slots
                        .iter()
                        .find(|s| s.slot == slot)
                        .map(|s| (&s.operator == operator, s.license)),
                    None => T::Slots::slot(slot).map(|s| (&s.operator == operator, s.license)),
                };
                if let Some((true, license)) = mine {
                    out.push(OperatorAssignment {
                        worker,
                        slot,
                        license,
                    });
                }
            }
        }
        out
    }

    /// The median throughput of `worker`'s latest passing verdict, in GOPS.
    pub fn worker_throughput(worker: WorkerId) -> Option<u64> {
        WorkerStates::<T>::get(worker).and_then(|s| s.throughput_gops)
    }

    /// Add one finalized check's part to `license`'s tally for `epoch`.
    pub(crate) fn record_tally(
        epoch: CheckingEpoch,
        license: LicenseId,
        revealed: bool,
        agreed: bool,
    ) {
        CheckerTallies::<T>::mutate(epoch, license, |t| {
            t.assigned.saturating_inc();
            if revealed {
                t.revealed.saturating_inc();
                if agreed {
                    t.agreed.saturating_inc();
                }
            } else {
                t.silent.saturating_inc();
            }
        });
    }

    /// The invariants: every open check's slots are distinct, at most K, within the epoch's
    /// slot set (for the current epoch) and consistent with its counters; the per-epoch counts
    /// match; seeds are kept for a bounded window; tallies add up; failure counts are below
    /// the suspension threshold. (No funds are held by this pallet yet.)
    #[cfg(any(feature = "try-runtime", test))]
    pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
        use alloc::collections::btree_map::BTreeMap;
        let current = T::Slots::current_epoch();
        let mut per_epoch: BTreeMap<CheckingEpoch, u32> = BTreeMap::new();
        for (epoch, worker, rec) in Checks::<T>::iter() {
            *per_epoch.entry(epoch).or_insert(0) += 1;
            ensure!(!rec.slots.is_empty(), "an open check without slots");
            let mut sealed = 0u32;
            let mut revealed = 0u32;
            for (i, s) in rec.slots.iter().enumerate() {
                ensure!(
                    rec.slots.iter().skip(i + 1).all(|o| o.slot != s.slot),
                    "a slot assigned twice to one check"
                );
                if s.seal.is_some() {
                    ensure!(s.nonce_commitment.is_some(), "sealed without a nonce");
                    sealed += 1;
                }
                if s.vote.is_some() {
                    ensure!(s.seal.is_some(), "revealed without a seal");
                    revealed += 1;
                }
                if epoch == current {
                    let live = T::Slots::slot(s.slot).ok_or("assigned slot outside the epoch")?;
                    ensure!(
                        live.license == s.license && live.operator == s.operator,
                        "assigned slot differs from the epoch's slot set"
                    );
                }
            }
            ensure!(rec.sealed == sealed, "sealed count differs from the seals");
            ensure!(
                rec.revealed == revealed,
                "revealed count differs from reveals"
            );
            ensure!(
                rec.revealed < rec.slots.len() as u32,
                "a fully revealed check was not finalized"
            );
            let _ = worker;
        }
        for (epoch, n) in OpenChecks::<T>::iter() {
            ensure!(n > 0, "zero open-check count stored");
            ensure!(
                per_epoch.get(&epoch).copied() == Some(n),
                "OpenChecks differs from Checks"
            );
        }
        ensure!(
            per_epoch.len() == OpenChecks::<T>::iter().count(),
            "an epoch with checks but no count"
        );
        ensure!(
            Seeds::<T>::iter().count() as u32 <= T::SeedHistory::get(),
            "more seeds kept than SeedHistory"
        );
        let oldest = TallyPruneEpoch::<T>::get();
        for (epoch, _, t) in CheckerTallies::<T>::iter() {
            ensure!(epoch >= oldest, "a tally older than the pruning point");
            ensure!(
                t.revealed.saturating_add(t.silent) == t.assigned && t.agreed <= t.revealed,
                "inconsistent checker tally"
            );
        }
        for (_, s) in WorkerStates::<T>::iter() {
            ensure!(
                s.consecutive_failures < T::MaxConsecutiveFailures::get(),
                "failures at the threshold without a suspension"
            );
        }
        Ok(())
    }
}

impl<T: Config> CheckerPerformance for Pallet<T> {
    fn performance(epoch: CheckingEpoch, license: LicenseId) -> CheckerTally {
        CheckerTallies::<T>::get(epoch, license)
    }
    fn take_performance(epoch: CheckingEpoch, license: LicenseId) -> CheckerTally {
        CheckerTallies::<T>::take(epoch, license)
    }
}
