//! Canaries measure checkers: workers run by the network's operator, some answering honestly
//! and some deliberately wrong, committed to before their epoch and revealed after it. Each
//! slot's votes on them become `canary_checks` / `canary_errors` in its tally (the error rate
//! of the rewards formula).
//!
//! Timeline of a canary epoch `e`: the canary origin commits
//! `blake2_256(SCALE((e, canaries, salt)))` before `e` begins (so the list cannot depend on
//! `e`'s assignments); during `e`, checks are finalized as usual and, because `e` has a canary
//! commitment, every finalized check's votes are retained ([`RetainedVotes`]); after `e` ends
//! and within `CanaryRevealEpochs`, the origin reveals the list and salt, which scores the
//! canaries' votes and consumes their entries; `on_idle` prunes what is left once the reveal
//! period is over.

use super::*;
use codec::Encode;
use frame_support::pallet_prelude::*;
use kaisar_primitives::RewardAccrual;
use kaisar_primitives::{CheckerSlots, CheckingEpoch, WorkerId};
use sp_io::hashing::blake2_256;
use sp_runtime::traits::Saturating;

/// The canary commitment of `epoch`: `blake2_256(SCALE((epoch, canaries, salt)))`, where
/// `canaries` is the `(worker, honest)` list as SCALE-encoded vector.
pub fn canary_commitment(
    epoch: CheckingEpoch,
    canaries: &[(WorkerId, bool)],
    salt: &Hash32,
) -> Hash32 {
    blake2_256(&(epoch, canaries, salt).encode())
}

impl<T: Config> Pallet<T> {
    pub(crate) fn do_commit_canaries(epoch: CheckingEpoch, commitment: Hash32) -> DispatchResult {
        ensure!(
            epoch > T::Slots::current_epoch() && !Seeds::<T>::contains_key(epoch),
            Error::<T>::CanaryEpochStarted
        );
        ensure!(
            !CanaryCommitments::<T>::contains_key(epoch),
            Error::<T>::CanariesAlreadyCommitted
        );
        CanaryCommitments::<T>::insert(epoch, commitment);
        Self::deposit_event(Event::CanariesCommitted { epoch });
        Ok(())
    }

    pub(crate) fn do_reveal_canaries(
        epoch: CheckingEpoch,
        canaries: BoundedVec<(WorkerId, bool), T::MaxCanaries>,
        salt: Hash32,
    ) -> DispatchResultWithPostInfo {
        let current = T::Slots::current_epoch();
        ensure!(
            current > epoch && current <= epoch.saturating_add(T::CanaryRevealEpochs::get()),
            Error::<T>::CanaryRevealNotOpen
        );
        let committed = CanaryCommitments::<T>::get(epoch).ok_or(Error::<T>::NoCanaryCommitment)?;
        ensure!(
            canary_commitment(epoch, &canaries, &salt) == committed,
            Error::<T>::CanaryMismatch
        );
        CanaryCommitments::<T>::remove(epoch);
        // `CanaryRevealEpochs < TallyHistory` (integrity test): the epoch's tallies are still
        // kept; never write below the pruner, where nothing would remove them.
        let keep_scores = epoch >= TallyPruneEpoch::<T>::get();
        let (mut scored, mut errors) = (0u32, 0u32);
        for (worker, honest) in canaries.iter() {
            // A canary whose check nobody opened or finalized has no votes: nothing to score.
            let Some(votes) = RetainedVotes::<T>::take(epoch, worker) else {
                continue;
            };
            for (license, vote) in votes {
                let Some(verdict) = vote else { continue };
                let wrong = (verdict == CheckVerdict::Pass) != *honest;
                scored.saturating_inc();
                if wrong {
                    errors.saturating_inc();
                }
                if keep_scores {
                    CheckerTallies::<T>::mutate(epoch, license, |t| {
                        t.canary_checks.saturating_inc();
                        if wrong {
                            t.canary_errors.saturating_inc();
                        }
                    });
                }
                T::Rewards::canary_scored(epoch, license, wrong);
            }
        }
        Self::deposit_event(Event::CanariesRevealed {
            epoch,
            canaries: canaries.len() as u32,
            scored,
            errors,
        });
        Ok(Some(
            T::WeightInfo::reveal_canaries(canaries.len() as u32)
                .saturating_add(Self::accrual_weight(scored)),
        )
        .into())
    }

    /// Keep a finalized check's votes if its epoch has canaries (see the module docs).
    pub(crate) fn retain_votes(epoch: CheckingEpoch, worker: WorkerId, rec: &CheckRecordOf<T>) {
        if !CanaryCommitments::<T>::contains_key(epoch) {
            return;
        }
        let votes: BoundedVec<_, T::CheckersPerWorker> = BoundedVec::truncate_from(
            rec.slots
                .iter()
                .map(|s| (s.license, s.vote.map(|v| v.verdict)))
                .collect(),
        );
        RetainedVotes::<T>::insert(epoch, worker, votes);
    }
}
