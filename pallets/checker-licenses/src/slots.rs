//! Epochs and the checker slot set as other pallets read them: [`CheckerSlots`] (slot `i` of
//! the current epoch in O(1)), and the pallet's account.

use super::*;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{CheckerSlot, CheckerSlots, CheckingEpoch, CheckingEpochs};
use sp_runtime::traits::{AccountIdConversion, Zero};

impl<T: Config> Pallet<T> {
    /// The pallet's account: owns the licenses collection.
    pub fn account_id() -> T::AccountId {
        T::PalletId::get().into_account_truncating()
    }

    /// The checking epoch of block `n`.
    pub fn epoch_of(n: BlockNumberFor<T>) -> CheckingEpoch {
        use sp_runtime::SaturatedConversion;
        // Genesis refuses 0 and the default is checked by `integrity_test`; `max(1)` keeps a
        // corrupted value from dividing by zero.
        let length = EpochLength::<T>::get().max(1u32.into());
        (n / length).saturated_into()
    }

    /// The checking epoch length, in blocks.
    pub fn epoch_length() -> BlockNumberFor<T> {
        EpochLength::<T>::get()
    }

    /// The slot at `index` of the current epoch, with its commission.
    pub fn slot_at(index: u32) -> Option<CheckerSlot<T::AccountId>> {
        let s = Slots::<T>::get(index)?;
        let commission = if s.operator == s.owner {
            Zero::zero()
        } else {
            Operators::<T>::get(&s.operator)
                .map(|o| o.commission_at(CurrentEpoch::<T>::get()))
                .unwrap_or_default()
        };
        Some(CheckerSlot {
            license: s.license,
            owner: s.owner,
            operator: s.operator,
            commission,
        })
    }
}

impl<T: Config> CheckerSlots<T::AccountId> for Pallet<T> {
    fn current_epoch() -> CheckingEpoch {
        CurrentEpoch::<T>::get()
    }
    fn slot_count() -> u32 {
        SlotCount::<T>::get()
    }
    fn slot(index: u32) -> Option<CheckerSlot<T::AccountId>> {
        Self::slot_at(index)
    }
    fn slot_of(license: LicenseId) -> Option<u32> {
        SlotOf::<T>::get(license)
    }
}

impl<T: Config> CheckingEpochs<BlockNumberFor<T>> for Pallet<T> {
    fn epoch_length() -> BlockNumberFor<T> {
        Self::epoch_length()
    }
    fn epoch_of(n: BlockNumberFor<T>) -> CheckingEpoch {
        Self::epoch_of(n)
    }
    fn epoch_start(epoch: CheckingEpoch) -> BlockNumberFor<T> {
        use sp_runtime::traits::Saturating;
        BlockNumberFor::<T>::from(epoch).saturating_mul(Self::epoch_length().max(1u32.into()))
    }
}
