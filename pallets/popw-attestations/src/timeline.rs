//! An epoch's timeline: its first block, the commit, seal and reveal deadlines, and the
//! randomness drawn at them.

use super::*;
use codec::Encode;
use frame_support::{pallet_prelude::*, traits::Randomness};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{CheckingEpoch, CheckingEpochs};
use sp_io::hashing::blake2_256;
use sp_runtime::{
    traits::{One, Saturating},
    Permill,
};

impl<T: Config> Pallet<T> {
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
}
