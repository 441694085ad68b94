//! The development chain's randomness source.

use codec::{Decode, Encode};
use frame_support::traits::Randomness;
use frame_system::pallet_prelude::BlockNumberFor;

/// Randomness from the parent block hash. **Insecure**: the block author influences it (it
/// may withhold a block to re-draw). For development chains and tests only; on peaq the
/// runtime uses relay-chain randomness instead.
pub struct ParentHashRandomness<T>(core::marker::PhantomData<T>);
impl<T: frame_system::Config> Randomness<T::Hash, BlockNumberFor<T>> for ParentHashRandomness<T> {
    fn random(subject: &[u8]) -> (T::Hash, BlockNumberFor<T>) {
        let parent = frame_system::Pallet::<T>::parent_hash();
        let mut input = parent.encode();
        input.extend_from_slice(subject);
        let h = sp_io::hashing::blake2_256(&input);
        let hash = T::Hash::decode(&mut &h[..]).unwrap_or_default();
        (hash, frame_system::Pallet::<T>::block_number())
    }
}
