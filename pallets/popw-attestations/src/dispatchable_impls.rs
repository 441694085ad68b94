//! The calls' logic.

use super::*;
use crate::{challenge_id, median, nonce_commitment, seal_of, ChainValues};
use alloc::vec::Vec;
use codec::Encode;
use frame_support::{dispatch::DispatchResultWithPostInfo, pallet_prelude::*};
use kaisar_primitives::{
    CheckerSlots, CheckingEpoch, CheckingEpochs, LicenseId, RewardAccrual, WorkerId,
    WorkerRegistry, WorkerStatus, WorkerVerification,
};
use sp_runtime::traits::Saturating;

impl<T: Config> Pallet<T> {
    /// The position of `slot` in `rec`, checking that `who` operates it.
    fn slot_position<K: Get<u32>>(
        rec: &CheckRecord<T::AccountId, K>,
        who: &T::AccountId,
        slot: u32,
    ) -> Result<usize, DispatchError> {
        let pos = rec
            .slots
            .iter()
            .position(|s| s.slot == slot)
            .ok_or(Error::<T>::NotAssigned)?;
        ensure!(&rec.slots[pos].operator == who, Error::<T>::NotSlotOperator);
        Ok(pos)
    }

    /// A fresh record of the `chosen` slots (in draw order), if `slot` is among them (checked
    /// before anything is written).
    pub(crate) fn new_record<K: Get<u32>>(
        chosen: Vec<(u32, kaisar_primitives::CheckerSlot<T::AccountId>)>,
        slot: u32,
    ) -> Result<CheckRecord<T::AccountId, K>, DispatchError> {
        ensure!(
            chosen.iter().any(|(i, _)| *i == slot),
            Error::<T>::NotAssigned
        );
        let slots = chosen
            .into_iter()
            .map(|(index, s)| SlotCheck {
                slot: index,
                license: s.license,
                operator: s.operator,
                nonce_commitment: None,
                seal: None,
                vote: None,
            })
            .collect::<Vec<_>>();
        Ok(CheckRecord {
            slots: BoundedVec::truncate_from(slots),
            sealed: 0,
            revealed: 0,
        })
    }

    /// Record `who`'s nonce `commitment` for `slot` of `rec` (assigned to `who`, not yet
    /// committed, distinct from the other slots' commitments). Returns the slot's license.
    pub(crate) fn record_commitment<K: Get<u32>>(
        rec: &mut CheckRecord<T::AccountId, K>,
        who: &T::AccountId,
        slot: u32,
        commitment: Hash32,
    ) -> Result<LicenseId, DispatchError> {
        let pos = Self::slot_position(rec, who, slot)?;
        ensure!(
            rec.slots[pos].nonce_commitment.is_none(),
            Error::<T>::AlreadyCommitted
        );
        ensure!(
            rec.slots
                .iter()
                .all(|s| s.nonce_commitment != Some(commitment)),
            Error::<T>::NonceReused
        );
        rec.slots[pos].nonce_commitment = Some(commitment);
        Ok(rec.slots[pos].license)
    }

    /// Record `who`'s `seal` for `slot` of `rec` in `epoch`'s seal window (the slot committed a
    /// nonce, did not seal yet, and the seal is distinct from the others'). Returns the
    /// slot's license.
    pub(crate) fn record_seal<K: Get<u32>>(
        rec: &mut CheckRecord<T::AccountId, K>,
        epoch: CheckingEpoch,
        who: &T::AccountId,
        slot: u32,
        seal: Hash32,
    ) -> Result<LicenseId, DispatchError> {
        let now = frame_system::Pallet::<T>::block_number();
        let seeds = Seeds::<T>::get(epoch).ok_or(Error::<T>::NoSeed)?;
        ensure!(
            now >= Self::commit_deadline(epoch) && seeds.challenge.is_some(),
            Error::<T>::SealWindowNotOpen
        );
        ensure!(
            now < Self::seal_deadline(epoch),
            Error::<T>::SealWindowClosed
        );
        let pos = Self::slot_position(rec, who, slot)?;
        let entry = &rec.slots[pos];
        ensure!(entry.nonce_commitment.is_some(), Error::<T>::NotCommitted);
        ensure!(entry.seal.is_none(), Error::<T>::AlreadySealed);
        ensure!(
            rec.slots.iter().all(|s| s.seal != Some(seal)),
            Error::<T>::SealReused
        );
        rec.slots[pos].seal = Some(seal);
        rec.sealed.saturating_inc();
        Ok(rec.slots[pos].license)
    }

    /// Check `who`'s reveal of `attestation` and `salt` for `slot` of `rec`, the check of
    /// `worker` in `epoch` (reveals opened, seal, nonce, work shape, GPU, recomputed challenge
    /// id, replay), and record its vote; the caller checked [`Self::ensure_reveal_open`].
    /// Returns the slot's license.
    pub(crate) fn record_reveal<K: Get<u32>>(
        rec: &mut CheckRecord<T::AccountId, K>,
        epoch: CheckingEpoch,
        worker: WorkerId,
        who: &T::AccountId,
        slot: u32,
        attestation: &Attestation,
        salt: &Hash32,
    ) -> Result<LicenseId, DispatchError> {
        let now = frame_system::Pallet::<T>::block_number();
        let pos = Self::slot_position(rec, who, slot)?;
        ensure!(
            rec.sealed == rec.slots.len() as u32 || now >= Self::seal_deadline(epoch),
            Error::<T>::RevealWindowNotOpen
        );
        let entry = &rec.slots[pos];
        ensure!(entry.vote.is_none(), Error::<T>::AlreadyRevealed);
        let sealed = entry.seal.ok_or(Error::<T>::NotSealed)?;
        ensure!(
            seal_of(attestation, salt) == sealed,
            Error::<T>::SealMismatch
        );
        ensure!(
            entry.nonce_commitment == Some(nonce_commitment(&attestation.terms.nonce)),
            Error::<T>::NonceMismatch
        );
        ensure!(
            attestation.terms.params.is_valid(),
            Error::<T>::InvalidParams
        );
        let randomness = Seeds::<T>::get(epoch)
            .and_then(|s| s.challenge)
            .ok_or(Error::<T>::NoSeed)?;
        let w = T::Workers::worker(worker).ok_or(Error::<T>::UnknownWorker)?;
        ensure!(
            T::Workers::has_gpu(worker, &attestation.terms.gpu_uuid_hash),
            Error::<T>::UnknownGpu
        );
        let agent = w.agent.encode();
        let checker = who.encode();
        let expected = challenge_id(
            &ChainValues {
                genesis_hash: Self::genesis_hash(),
                epoch_randomness: randomness,
                worker_id: worker,
                worker_agent: &agent,
                checker: &checker,
                claimed_model: w.gpu_model,
            },
            &attestation.terms,
        );
        ensure!(
            attestation.challenge_id == expected,
            Error::<T>::ChallengeIdMismatch
        );
        ensure!(
            rec.slots
                .iter()
                .all(|s| s.vote.map_or(true, |v| v.challenge_id != expected)),
            Error::<T>::ChallengeReplayed
        );
        rec.slots[pos].vote = Some(Vote {
            verdict: attestation.verdict,
            throughput_gops: attestation.throughput_gops,
            challenge_id: expected,
        });
        rec.revealed.saturating_inc();
        Ok(rec.slots[pos].license)
    }

    /// The consensus of `rec`: the outcome and the number of `Pass` votes. `Passed` needs a
    /// strict majority of the assigned slots; `NoVerdict` when nobody revealed.
    pub(crate) fn consensus_of<K: Get<u32>>(
        rec: &CheckRecord<T::AccountId, K>,
    ) -> (CheckOutcome, u32) {
        let passes = rec
            .slots
            .iter()
            .filter(|s| s.vote.map_or(false, |v| v.verdict == CheckVerdict::Pass))
            .count() as u32;
        let outcome = if rec.revealed == 0 {
            CheckOutcome::NoVerdict
        } else if passes.saturating_mul(2) > rec.slots.len() as u32 {
            CheckOutcome::Passed
        } else {
            CheckOutcome::Failed
        };
        (outcome, passes)
    }

    /// Add each slot of `rec` to its tally for `epoch`, by whether it agreed with `outcome`.
    pub(crate) fn record_tallies<K: Get<u32>>(
        epoch: CheckingEpoch,
        rec: &CheckRecord<T::AccountId, K>,
        outcome: CheckOutcome,
    ) {
        for s in rec.slots.iter() {
            let agreed = match (s.vote, outcome) {
                (Some(v), CheckOutcome::Passed) => v.verdict == CheckVerdict::Pass,
                (Some(v), CheckOutcome::Failed) => v.verdict != CheckVerdict::Pass,
                _ => false,
            };
            Self::record_tally(epoch, s.license, s.vote.is_some(), agreed);
            if agreed {
                T::Rewards::checker_agreed(epoch, s.license, &s.operator);
            }
        }
    }

    /// The median throughput of `rec`'s passing votes (zero if none).
    pub(crate) fn passing_median<K: Get<u32>>(rec: &CheckRecord<T::AccountId, K>) -> u64 {
        median(
            rec.slots
                .iter()
                .filter_map(|s| s.vote)
                .filter(|v| v.verdict == CheckVerdict::Pass)
                .map(|v| v.throughput_gops)
                .collect(),
        )
        .unwrap_or(0)
    }

    /// `epoch`'s seeds, while its nonce commitments are still accepted (before its challenge
    /// randomness is drawn).
    pub(crate) fn commit_open_seeds(epoch: CheckingEpoch) -> Result<EpochSeeds, DispatchError> {
        let now = frame_system::Pallet::<T>::block_number();
        let seeds = Seeds::<T>::get(epoch).ok_or(Error::<T>::NoSeed)?;
        ensure!(
            now < Self::commit_deadline(epoch) && seeds.challenge.is_none(),
            Error::<T>::CommitWindowClosed
        );
        Ok(seeds)
    }

    /// `epoch`'s reveal deadline has not passed.
    pub(crate) fn ensure_reveal_open(epoch: CheckingEpoch) -> DispatchResult {
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(
            now < Self::reveal_deadline(epoch),
            Error::<T>::RevealWindowClosed
        );
        Ok(())
    }

    /// `epoch` is the current epoch, for the block and for the slot set.
    pub(crate) fn ensure_current(epoch: CheckingEpoch) -> DispatchResult {
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(
            T::Slots::epoch_of(now) == epoch && T::Slots::current_epoch() == epoch,
            Error::<T>::WrongEpoch
        );
        Ok(())
    }

    pub(crate) fn do_commit_nonce(
        who: T::AccountId,
        epoch: CheckingEpoch,
        worker: WorkerId,
        slot: u32,
        commitment: Hash32,
    ) -> DispatchResultWithPostInfo {
        Self::ensure_current(epoch)?;
        let seeds = Self::commit_open_seeds(epoch)?;
        let (mut rec, opened, tries) = match Checks::<T>::get(epoch, worker) {
            Some(rec) => (rec, false, 0),
            None => {
                let w = T::Workers::worker(worker).ok_or(Error::<T>::UnknownWorker)?;
                ensure!(Self::is_checkable(w.status), Error::<T>::WorkerNotCheckable);
                let (chosen, tries) =
                    Self::draw_assignment(&seeds.assignment, worker, &w.provider, &w.agent);
                (Self::new_record(chosen, slot)?, true, tries)
            }
        };
        let license = Self::record_commitment(&mut rec, &who, slot, commitment)?;
        if opened {
            OpenChecks::<T>::mutate(epoch, |n| n.saturating_inc());
            Self::deposit_event(Event::CheckOpened {
                epoch,
                worker,
                slots: BoundedVec::truncate_from(rec.slots.iter().map(|s| s.slot).collect()),
            });
        }
        Checks::<T>::insert(epoch, worker, rec);
        Self::deposit_event(Event::NonceCommitted {
            epoch,
            worker,
            slot,
            license,
            commitment,
        });
        Ok(Some(if opened {
            T::WeightInfo::commit_nonce(tries)
        } else {
            T::WeightInfo::commit_nonce(0)
        })
        .into())
    }

    pub(crate) fn do_seal(
        who: T::AccountId,
        epoch: CheckingEpoch,
        worker: WorkerId,
        slot: u32,
        seal: Hash32,
    ) -> DispatchResult {
        Self::ensure_current(epoch)?;
        Seeds::<T>::get(epoch).ok_or(Error::<T>::NoSeed)?;
        let mut rec = Checks::<T>::get(epoch, worker).ok_or(Error::<T>::NotCommitted)?;
        let license = Self::record_seal(&mut rec, epoch, &who, slot, seal)?;
        Checks::<T>::insert(epoch, worker, rec);
        Self::deposit_event(Event::AttestationSealed {
            epoch,
            worker,
            slot,
            license,
            seal,
        });
        Ok(())
    }

    pub(crate) fn do_reveal(
        who: T::AccountId,
        epoch: CheckingEpoch,
        worker: WorkerId,
        slot: u32,
        attestation: Attestation,
        salt: Hash32,
    ) -> DispatchResultWithPostInfo {
        Self::ensure_current(epoch)?;
        Self::ensure_reveal_open(epoch)?;
        let mut rec = Checks::<T>::get(epoch, worker).ok_or(Error::<T>::NotCommitted)?;
        let license =
            Self::record_reveal(&mut rec, epoch, worker, &who, slot, &attestation, &salt)?;
        Self::deposit_event(Event::AttestationRevealed {
            epoch,
            worker,
            slot,
            license,
            attestation,
        });
        if rec.revealed == rec.slots.len() as u32 {
            // The last reveal: finalize at once.
            let extra = Self::finalize_record(epoch, worker, rec);
            return Ok(Some(
                T::WeightInfo::reveal()
                    .saturating_add(T::WeightInfo::finalize())
                    .saturating_add(extra),
            )
            .into());
        }
        Checks::<T>::insert(epoch, worker, rec);
        Ok(Some(T::WeightInfo::reveal()).into())
    }

    pub(crate) fn do_finalize(
        epoch: CheckingEpoch,
        worker: WorkerId,
    ) -> DispatchResultWithPostInfo {
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(now >= Self::reveal_deadline(epoch), Error::<T>::TooEarly);
        if let Some(rec) = Checks::<T>::get(epoch, worker) {
            let extra = Self::finalize_record(epoch, worker, rec);
            return Ok(Some(T::WeightInfo::finalize().saturating_add(extra)).into());
        }
        // No open check: nobody committed. During the epoch, record the assigned slots as
        // silent (no verdict: the worker is not affected).
        let state = WorkerStates::<T>::get(worker).unwrap_or_default();
        ensure!(
            state.last_finalized.map_or(true, |l| l < epoch),
            Error::<T>::AlreadyFinalized
        );
        ensure!(
            T::Slots::current_epoch() == epoch && T::Slots::epoch_of(now) == epoch,
            Error::<T>::NothingToFinalize
        );
        let seeds = Seeds::<T>::get(epoch).ok_or(Error::<T>::NothingToFinalize)?;
        let w = T::Workers::worker(worker).ok_or(Error::<T>::UnknownWorker)?;
        ensure!(Self::is_checkable(w.status), Error::<T>::WorkerNotCheckable);
        let (chosen, tries) =
            Self::draw_assignment(&seeds.assignment, worker, &w.provider, &w.agent);
        ensure!(!chosen.is_empty(), Error::<T>::NothingToFinalize);
        for (_, s) in chosen.iter() {
            Self::record_tally(epoch, s.license, false, false);
        }
        WorkerStates::<T>::insert(
            worker,
            WorkerCheckState {
                last_finalized: Some(epoch),
                ..state
            },
        );
        Self::deposit_event(Event::CheckFinalized {
            epoch,
            worker,
            outcome: CheckOutcome::NoVerdict,
            assigned: chosen.len() as u32,
            revealed: 0,
            passes: 0,
            applied: true,
        });
        Ok(Some(T::WeightInfo::finalize_unopened(tries)).into())
    }

    /// Apply the consensus of `rec` (removed from storage here): tallies, then the verdict on
    /// the worker unless a later epoch's verdict was applied already. Returns the weight the
    /// registry's verification or suspension used.
    pub(crate) fn finalize_record(
        epoch: CheckingEpoch,
        worker: WorkerId,
        rec: CheckRecordOf<T>,
    ) -> Weight {
        Checks::<T>::remove(epoch, worker);
        Self::retain_votes(epoch, worker, &rec);
        OpenChecks::<T>::mutate_exists(epoch, |n| {
            let left = n.unwrap_or(0).saturating_sub(1);
            *n = (left > 0).then_some(left);
        });
        let assigned = rec.slots.len() as u32;
        let (outcome, passes) = Self::consensus_of(&rec);
        Self::record_tallies(epoch, &rec, outcome);

        let mut state = WorkerStates::<T>::get(worker).unwrap_or_default();
        let applied = state.last_finalized.map_or(true, |l| l < epoch);
        Self::deposit_event(Event::CheckFinalized {
            epoch,
            worker,
            outcome,
            assigned,
            revealed: rec.revealed,
            passes,
            applied,
        });
        if !applied {
            return Weight::zero();
        }
        state.last_finalized = Some(epoch);
        let used = match outcome {
            CheckOutcome::Passed => {
                Self::apply_pass(worker, epoch, Self::passing_median(&rec), &mut state)
            }
            CheckOutcome::Failed => Self::apply_failure(worker, epoch, &mut state, false),
            CheckOutcome::NoVerdict => Weight::zero(),
        };
        if outcome != CheckOutcome::NoVerdict {
            // What a contest of this verdict re-examines.
            LastVerdicts::<T>::insert(
                worker,
                VerdictRecord {
                    epoch,
                    outcome,
                    votes: Self::votes_of(&rec),
                },
            );
        }
        WorkerStates::<T>::insert(worker, state);
        used
    }

    /// Each slot's license and revealed verdict.
    pub(crate) fn votes_of(rec: &CheckRecordOf<T>) -> BoundedVec<SlotVote, T::CheckersPerWorker> {
        BoundedVec::truncate_from(
            rec.slots
                .iter()
                .map(|s| SlotVote {
                    license: s.license,
                    verdict: s.vote.map(|v| v.verdict),
                })
                .collect(),
        )
    }

    /// A passing verdict of `epoch` (a check's, or a re-check's): resets the failures, records
    /// the pass and the measured throughput, verifies a pending worker. Returns the weight the
    /// verification used.
    pub(crate) fn apply_pass(
        worker: WorkerId,
        epoch: CheckingEpoch,
        throughput: u64,
        state: &mut WorkerCheckState,
    ) -> Weight {
        state.consecutive_failures = 0;
        state.last_passed = Some(state.last_passed.map_or(epoch, |p| p.max(epoch)));
        state.throughput_gops = Some(throughput);
        Self::deposit_event(Event::WorkerPassed {
            worker,
            epoch,
            throughput_gops: throughput,
        });
        let registered = T::Workers::worker(worker);
        if let Some(w) = &registered {
            T::Rewards::worker_passed(worker, &w.provider, throughput);
        }
        let pending = registered.map_or(false, |w| w.status == WorkerStatus::PendingVerification);
        if !pending {
            return Weight::zero();
        }
        match T::Verification::verify(worker) {
            Ok(()) => Self::deposit_event(Event::WorkerVerified { worker }),
            Err(error) => Self::deposit_event(Event::VerdictNotApplied { worker, error }),
        }
        T::Verification::max_weight()
    }

    /// A failed verdict of `epoch`: counts the failure; suspends the worker at
    /// `MaxConsecutiveFailures` in a row, or at once when `suspend_now` (a re-check's verdict);
    /// otherwise tells the failed-verdict hooks (the worker's orders are refunded at the
    /// first failure). Returns the weight the suspension or the hooks used.
    pub(crate) fn apply_failure(
        worker: WorkerId,
        epoch: CheckingEpoch,
        state: &mut WorkerCheckState,
        suspend_now: bool,
    ) -> Weight {
        use kaisar_primitives::WorkerAvailabilityHooks;
        T::Rewards::worker_failed(worker);
        state.consecutive_failures.saturating_inc();
        Self::deposit_event(Event::WorkerFailed {
            worker,
            epoch,
            consecutive_failures: state.consecutive_failures,
        });
        let mut used = Weight::zero();
        if suspend_now || state.consecutive_failures >= T::MaxConsecutiveFailures::get() {
            state.consecutive_failures = 0;
            match T::Verification::suspend(worker) {
                Ok(hooks) => {
                    // The suspension told the availability hooks (the orders) already.
                    Self::deposit_event(Event::WorkerSuspended { worker });
                    return hooks.min(T::Verification::max_weight());
                }
                Err(error) => Self::deposit_event(Event::VerdictNotApplied { worker, error }),
            }
            used = T::Verification::max_weight();
        }
        // Not suspended: tell the hooks here, so that the worker's users are refunded at the
        // first failed check.
        used.saturating_add(
            T::FailedVerdictHooks::on_worker_unavailable(worker)
                .min(T::FailedVerdictHooks::max_weight()),
        )
    }

    pub(crate) fn do_forget_worker(worker: WorkerId) -> DispatchResult {
        ensure!(
            T::Workers::worker(worker).is_none()
                && WorkerStates::<T>::contains_key(worker)
                && !Rechecks::<T>::contains_key(worker),
            Error::<T>::WorkerStillRegistered
        );
        WorkerStates::<T>::remove(worker);
        LastVerdicts::<T>::remove(worker);
        Self::deposit_event(Event::WorkerForgotten { worker });
        Ok(())
    }
}
