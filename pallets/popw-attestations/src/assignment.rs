//! Which checker slots check which worker in an epoch: the lazy, O(K) draw from the epoch's
//! assignment seed, and the listings the runtime API serves.

use super::*;
use alloc::vec::Vec;
use codec::{Decode, Encode};
use core::fmt::Debug as RuntimeDebug;
use frame_support::pallet_prelude::*;
use kaisar_primitives::{
    CheckerSlot, CheckerSlots, CheckingEpoch, LicenseId, WorkerId, WorkerRegistry, WorkerStatus,
};
use scale_info::TypeInfo;
use sp_io::hashing::blake2_256;

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
        Self::draw_slots(
            seed,
            worker,
            provider,
            agent,
            T::CheckersPerWorker::get(),
            T::MaxAssignmentTries::get(),
            |_| false,
        )
    }

    /// Draw up to `want` distinct eligible slots in at most `max_tries` draws from `seed`
    /// (eligible: neither owned nor operated by `provider` or `agent`, and not `excluded`).
    pub(crate) fn draw_slots(
        seed: &Hash32,
        worker: WorkerId,
        provider: &T::AccountId,
        agent: &T::AccountId,
        want: u32,
        max_tries: u32,
        excluded: impl Fn(LicenseId) -> bool,
    ) -> (Vec<(u32, CheckerSlot<T::AccountId>)>, u32) {
        let k = want as usize;
        let count = T::Slots::slot_count();
        let mut chosen: Vec<(u32, CheckerSlot<T::AccountId>)> = Vec::with_capacity(k);
        let mut tries = 0;
        if count == 0 {
            return (chosen, tries);
        }
        while tries < max_tries && chosen.len() < k {
            let index = draw_slot(seed, worker, tries, count);
            tries += 1;
            if chosen.iter().any(|(i, _)| *i == index) {
                continue;
            }
            let Some(slot) = T::Slots::slot(index) else {
                continue;
            };
            let own = |who: &T::AccountId| who == provider || who == agent;
            if own(&slot.owner) || own(&slot.operator) || excluded(slot.license) {
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
}
