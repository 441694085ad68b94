//! The epoch boundary: pending delegation changes are applied to the slot set.

use super::*;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;

impl<T: Config> Pallet<T> {
    /// At the first block of a new epoch, apply the pending changes (at most
    /// `MaxPendingChanges`) and advance [`CurrentEpoch`]. One read otherwise.
    pub(crate) fn tick(now: BlockNumberFor<T>) -> Weight {
        let epoch = Self::epoch_of(now);
        if epoch <= CurrentEpoch::<T>::get() {
            return T::WeightInfo::on_initialize_idle();
        }
        let applied = Self::apply_pending();
        CurrentEpoch::<T>::put(epoch);
        Self::deposit_event(Event::EpochStarted {
            epoch,
            applied,
            slots: SlotCount::<T>::get(),
        });
        T::WeightInfo::on_initialize_epoch(applied)
    }

    /// Apply every queued change to the slot set; returns how many.
    pub(crate) fn apply_pending() -> u32 {
        let queue = PendingQueue::<T>::take();
        let n = queue.len() as u32;
        for license in queue {
            Pending::<T>::remove(license);
            let desired = Delegations::<T>::get(license);
            match (desired, SlotOf::<T>::get(license)) {
                (Some(d), Some(i)) => Slots::<T>::insert(
                    i,
                    SlotRecord {
                        license,
                        owner: d.owner,
                        operator: d.operator,
                    },
                ),
                (Some(d), None) => {
                    let i = SlotCount::<T>::get();
                    Slots::<T>::insert(
                        i,
                        SlotRecord {
                            license,
                            owner: d.owner,
                            operator: d.operator,
                        },
                    );
                    SlotOf::<T>::insert(license, i);
                    SlotCount::<T>::put(i.saturating_add(1));
                }
                (None, Some(i)) => {
                    // Swap-remove: the last slot moves into `i`.
                    let last = SlotCount::<T>::get().saturating_sub(1);
                    SlotOf::<T>::remove(license);
                    if i != last {
                        if let Some(moved) = Slots::<T>::take(last) {
                            SlotOf::<T>::insert(moved.license, i);
                            Slots::<T>::insert(i, moved);
                        }
                    } else {
                        Slots::<T>::remove(last);
                    }
                    SlotCount::<T>::put(last);
                }
                (None, None) => {}
            }
        }
        n
    }
}
