//! The per-block hook: draws each epoch's two seeds, O(1) work per block.

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
}
