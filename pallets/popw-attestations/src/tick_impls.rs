//! The hooks: `on_initialize` draws each epoch's two seeds (O(1) work per block); `on_idle`
//! prunes old checker tallies (bounded by the idle weight and `MaxTalliesPrunedPerBlock`).

use super::*;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::CheckingEpochs;

impl<T: Config> Pallet<T> {
    /// At the first block of an epoch (or the first block this pallet runs in it), draw the
    /// assignment seed and prune the seeds of the epoch `SeedHistory` back; at
    /// `epoch_start + CommitWindow` (or later, if missed), draw the challenge randomness. One
    /// read otherwise. Never iterates workers, slots or checks.
    pub(crate) fn tick(now: BlockNumberFor<T>) -> Weight {
        let epoch = T::Slots::epoch_of(now);
        let commit_closed = now >= Self::commit_deadline(epoch);
        match Seeds::<T>::get(epoch) {
            None => {
                let assignment = Self::draw_randomness(ASSIGN_SUBJECT, epoch);
                let challenge =
                    commit_closed.then(|| Self::draw_randomness(CHALLENGE_SUBJECT, epoch));
                Seeds::<T>::insert(
                    epoch,
                    EpochSeeds {
                        assignment,
                        challenge,
                    },
                );
                if let Some(old) = epoch.checked_sub(T::SeedHistory::get()) {
                    Seeds::<T>::remove(old);
                }
                Self::deposit_event(Event::AssignmentSeedDrawn {
                    epoch,
                    seed: assignment,
                });
                if let Some(randomness) = challenge {
                    Self::deposit_event(Event::ChallengeRandomnessDrawn { epoch, randomness });
                }
                T::WeightInfo::on_initialize_seed()
            }
            Some(mut seeds) if seeds.challenge.is_none() && commit_closed => {
                let randomness = Self::draw_randomness(CHALLENGE_SUBJECT, epoch);
                seeds.challenge = Some(randomness);
                Seeds::<T>::insert(epoch, seeds);
                Self::deposit_event(Event::ChallengeRandomnessDrawn { epoch, randomness });
                T::WeightInfo::on_initialize_randomness()
            }
            Some(_) => T::WeightInfo::on_initialize_idle(),
        }
    }

    /// Prune the tallies of [`TallyPruneEpoch`] once it is `TallyHistory` epochs old: at most
    /// `MaxTalliesPrunedPerBlock` entries, and no more than `remaining` allows; continues from
    /// [`TallyPruneCursor`] in later blocks, then moves to the next epoch.
    pub(crate) fn prune_tallies(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
        let base = T::WeightInfo::on_idle_prune(0);
        let per_item = T::WeightInfo::on_idle_prune(1).saturating_sub(base);
        if !base.saturating_add(per_item).all_lte(remaining) {
            return Weight::zero();
        }
        let epoch = TallyPruneEpoch::<T>::get();
        if epoch.saturating_add(T::TallyHistory::get()) > T::Slots::epoch_of(now) {
            return T::WeightInfo::on_idle_prune(0);
        }
        let limit = Self::prune_limit(remaining.saturating_sub(base), per_item);
        let cursor = TallyPruneCursor::<T>::take();
        let result =
            CheckerTallies::<T>::clear_prefix(epoch, limit, cursor.as_ref().map(|c| &c[..]));
        let mut visited = result.loops.max(result.unique);
        match result.maybe_cursor {
            Some(c) => TallyPruneCursor::<T>::put(BoundedVec::truncate_from(c)),
            None => {
                // Then the epoch's slashes (a few: only overturned verdicts' majorities),
                // within what is left of the limit; the epoch is done when none is left.
                let slashes =
                    Slashes::<T>::clear_prefix(epoch, limit.saturating_sub(visited).max(1), None);
                visited = visited.saturating_add(slashes.loops.max(slashes.unique));
                if slashes.maybe_cursor.is_none() {
                    TallyPruneEpoch::<T>::put(epoch.saturating_add(1));
                    Self::deposit_event(Event::TalliesPruned { epoch });
                }
            }
        }
        // `loops` counts the backend keys visited; keys only in this block's overlay are
        // removed too and counted in `unique`.
        T::WeightInfo::on_idle_prune(visited)
    }

    /// How many entries fit in `left` at `per_item` each, at most `MaxTalliesPrunedPerBlock`.
    fn prune_limit(left: Weight, per_item: Weight) -> u32 {
        let by_weight = match (per_item.ref_time(), per_item.proof_size()) {
            (0, 0) => u64::MAX,
            (0, p) => left.proof_size() / p,
            (r, 0) => left.ref_time() / r,
            (r, p) => (left.ref_time() / r).min(left.proof_size() / p),
        };
        (T::MaxTalliesPrunedPerBlock::get() as u64).min(by_weight) as u32
    }

    /// Prune the votes retained for [`VotesPruneEpoch`] once its canary reveal period is over
    /// (and its commitment, if never revealed), bounded like [`Self::prune_tallies`]; then
    /// move to the next epoch. Epochs without canaries have nothing retained and pass in one
    /// step each.
    pub(crate) fn prune_votes(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
        let base = T::WeightInfo::on_idle_prune(0);
        let per_item = T::WeightInfo::on_idle_prune(1).saturating_sub(base);
        if !base.saturating_add(per_item).all_lte(remaining) {
            return Weight::zero();
        }
        let epoch = VotesPruneEpoch::<T>::get();
        if epoch.saturating_add(T::CanaryRevealEpochs::get()) >= T::Slots::epoch_of(now) {
            return T::WeightInfo::on_idle_prune(0);
        }
        let limit = Self::prune_limit(remaining.saturating_sub(base), per_item);
        let cursor = VotesPruneCursor::<T>::take();
        let result =
            RetainedVotes::<T>::clear_prefix(epoch, limit, cursor.as_ref().map(|c| &c[..]));
        match result.maybe_cursor {
            Some(c) => VotesPruneCursor::<T>::put(BoundedVec::truncate_from(c)),
            None => {
                CanaryCommitments::<T>::remove(epoch);
                VotesPruneEpoch::<T>::put(epoch.saturating_add(1));
                if result.unique > 0 {
                    Self::deposit_event(Event::VotesPruned { epoch });
                }
            }
        }
        T::WeightInfo::on_idle_prune(result.loops.max(result.unique))
    }
}
