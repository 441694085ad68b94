//! The pallet's invariants (`try_state`).

use super::*;
use frame_support::pallet_prelude::*;

impl<T: Config> Pallet<T> {
    /// The invariants: holds equal unclaimed commitments, round totals match, every slot's
    /// license exists and is owned by the slot's owner, counts and indices match.
    pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
        use alloc::collections::btree_map::BTreeMap;
        use frame_support::traits::fungible::InspectHold;
        use sp_runtime::traits::Saturating;

        // Money: per buyer, the hold equals its unclaimed commitments; per round, the totals.
        let mut per_buyer: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
        let mut per_round: BTreeMap<RoundId, (BalanceOf<T>, u32)> = BTreeMap::new();
        for (round, who, c) in Commitments::<T>::iter() {
            let r = Rounds::<T>::get(round).ok_or("commitment of an unknown round")?;
            let mut price: BalanceOf<T> = Zero::zero();
            for tc in c.tiers.iter() {
                let sale = r
                    .tiers
                    .get(tc.tier as usize)
                    .ok_or("commitment to an unknown tier")?;
                price = price.saturating_add(sale.price.saturating_mul(tc.units.into()));
            }
            ensure!(price == c.held, "a commitment's hold is not its price");
            per_buyer
                .entry(who)
                .or_insert_with(Zero::zero)
                .saturating_accrue(c.held);
            let e = per_round.entry(round).or_insert((Zero::zero(), 0));
            e.0.saturating_accrue(c.held);
            e.1 += 1;
        }
        for (who, held) in per_buyer {
            ensure!(
                T::Currency::balance_on_hold(&HoldReason::SaleCommitment.into(), &who) == held,
                "held funds differ from unclaimed commitments"
            );
        }
        for (id, r) in Rounds::<T>::iter() {
            let (held, n) = per_round.get(&id).copied().unwrap_or((Zero::zero(), 0));
            ensure!(r.held == held, "round.held differs from its commitments");
            ensure!(
                r.unclaimed == n,
                "round.unclaimed differs from its commitments"
            );
            for s in r.tiers.iter() {
                ensure!(
                    s.committed <= s.supply || s.offset < s.committed,
                    "offset out of range"
                );
            }
        }

        // Slots.
        let count = SlotCount::<T>::get();
        ensure!(
            Slots::<T>::iter().count() as u32 == count,
            "SlotCount differs from Slots"
        );
        ensure!(
            SlotOf::<T>::iter().count() as u32 == count,
            "SlotOf differs from Slots"
        );
        for (i, s) in Slots::<T>::iter() {
            ensure!(i < count, "slot index out of range");
            ensure!(
                SlotOf::<T>::get(s.license) == Some(i),
                "SlotOf does not point at its slot"
            );
            ensure!(
                Licenses::<T>::contains_key(s.license),
                "slot of an unknown license"
            );
            ensure!(
                Self::owner_of(s.license).as_ref() == Some(&s.owner),
                "slot owner is not the license owner"
            );
            // Delegated by its current owner: either still delegated as in the slot, or a
            // change is pending for the next epoch.
            let d = Delegations::<T>::get(s.license);
            ensure!(
                d.as_ref()
                    .map_or(false, |d| d.owner == s.owner && d.operator == s.operator)
                    || Pending::<T>::contains_key(s.license),
                "slot not delegated by its owner"
            );
        }
        // Delegations and pending changes.
        let mut per_operator: BTreeMap<T::AccountId, u32> = BTreeMap::new();
        for (license, d) in Delegations::<T>::iter() {
            ensure!(
                Self::owner_of(license).as_ref() == Some(&d.owner),
                "delegation owner is not the license owner"
            );
            ensure!(
                SlotOf::<T>::contains_key(license) || Pending::<T>::contains_key(license),
                "delegation neither active nor pending"
            );
            *per_operator.entry(d.operator).or_insert(0) += 1;
        }
        for (op, info) in Operators::<T>::iter() {
            ensure!(
                per_operator.get(&op).copied().unwrap_or(0) == info.delegated,
                "operator count differs from its delegations"
            );
        }
        let queue = PendingQueue::<T>::get();
        ensure!(
            Pending::<T>::iter().count() == queue.len(),
            "Pending differs from the queue"
        );
        for l in queue.iter() {
            ensure!(
                Pending::<T>::contains_key(l),
                "queued license not marked pending"
            );
        }
        Ok(())
    }
}
