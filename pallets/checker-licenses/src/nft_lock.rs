//! The lock on delegated licenses in `pallet-nfts`.

use super::*;
use frame_support::traits::Locker;

/// Blocks transfers (and burns) of delegated licenses: set it as `pallet_nfts::Config::Locker`.
impl<T: Config> Locker<T::CollectionId, LicenseId> for Pallet<T> {
    fn is_locked(collection: T::CollectionId, item: LicenseId) -> bool {
        LicenseCollection::<T>::get() == Some(collection)
            && (Delegations::<T>::contains_key(item) || SlotOf::<T>::contains_key(item))
    }
}
