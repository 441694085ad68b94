//! The pallet's invariants (`try_state`).

use super::*;
use frame_support::pallet_prelude::*;
use kaisar_primitives::{CheckerSlots, CheckingEpoch};

impl<T: Config> Pallet<T> {
    /// The invariants: every open check's slots are distinct, at most K, within the epoch's
    /// slot set (for the current epoch) and consistent with its counters; the per-epoch counts
    /// match; seeds are kept for a bounded window; tallies add up; failure counts are below
    /// the suspension threshold. Bonds held equal the open re-checks' bonds; slashes sit beside their tallies.
    #[cfg(any(feature = "try-runtime", test))]
    pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
        use alloc::collections::btree_map::BTreeMap;
        let current = T::Slots::current_epoch();
        let mut per_epoch: BTreeMap<CheckingEpoch, u32> = BTreeMap::new();
        for (epoch, worker, rec) in Checks::<T>::iter() {
            *per_epoch.entry(epoch).or_insert(0) += 1;
            ensure!(!rec.slots.is_empty(), "an open check without slots");
            let mut sealed = 0u32;
            let mut revealed = 0u32;
            for (i, s) in rec.slots.iter().enumerate() {
                ensure!(
                    rec.slots.iter().skip(i + 1).all(|o| o.slot != s.slot),
                    "a slot assigned twice to one check"
                );
                if s.seal.is_some() {
                    ensure!(s.nonce_commitment.is_some(), "sealed without a nonce");
                    sealed += 1;
                }
                if s.vote.is_some() {
                    ensure!(s.seal.is_some(), "revealed without a seal");
                    revealed += 1;
                }
                if epoch == current {
                    let live = T::Slots::slot(s.slot).ok_or("assigned slot outside the epoch")?;
                    ensure!(
                        live.license == s.license && live.operator == s.operator,
                        "assigned slot differs from the epoch's slot set"
                    );
                }
            }
            ensure!(rec.sealed == sealed, "sealed count differs from the seals");
            ensure!(
                rec.revealed == revealed,
                "revealed count differs from reveals"
            );
            ensure!(
                rec.revealed < rec.slots.len() as u32,
                "a fully revealed check was not finalized"
            );
            let _ = worker;
        }
        for (epoch, n) in OpenChecks::<T>::iter() {
            ensure!(n > 0, "zero open-check count stored");
            ensure!(
                per_epoch.get(&epoch).copied() == Some(n),
                "OpenChecks differs from Checks"
            );
        }
        ensure!(
            per_epoch.len() == OpenChecks::<T>::iter().count(),
            "an epoch with checks but no count"
        );
        ensure!(
            Seeds::<T>::iter().count() as u32 <= T::SeedHistory::get(),
            "more seeds kept than SeedHistory"
        );
        let oldest = TallyPruneEpoch::<T>::get();
        for (epoch, _, t) in CheckerTallies::<T>::iter() {
            ensure!(epoch >= oldest, "a tally older than the pruning point");
            ensure!(
                t.revealed.saturating_add(t.silent) == t.assigned && t.agreed <= t.revealed,
                "inconsistent checker tally"
            );
        }
        for (_, s) in WorkerStates::<T>::iter() {
            ensure!(
                s.consecutive_failures < T::MaxConsecutiveFailures::get(),
                "failures at the threshold without a suspension"
            );
        }
        // Re-checks: consistent progress, and every bond held matches an open re-check.
        {
            use frame_support::traits::fungible::InspectHold;
            use sp_runtime::traits::Saturating;
            let mut held: BTreeMap<(T::AccountId, bool), BalanceOf<T>> = BTreeMap::new();
            for (worker, rc) in Rechecks::<T>::iter() {
                if let Some(rec) = &rc.check {
                    ensure!(!rec.slots.is_empty(), "a drawn re-check without slots");
                    ensure!(
                        rec.revealed < rec.slots.len() as u32,
                        "a fully revealed re-check was not concluded"
                    );
                    for (i, s) in rec.slots.iter().enumerate() {
                        ensure!(
                            rec.slots.iter().skip(i + 1).all(|o| o.slot != s.slot),
                            "a slot drawn twice for one re-check"
                        );
                        ensure!(
                            rc.previous.iter().all(|v| v.license != s.license),
                            "a re-check drew a slot of the verdict it re-examines"
                        );
                    }
                    ensure!(
                        rec.sealed == rec.slots.iter().filter(|s| s.seal.is_some()).count() as u32
                            && rec.revealed
                                == rec.slots.iter().filter(|s| s.vote.is_some()).count() as u32,
                        "re-check counters differ from its slots"
                    );
                }
                let _ = worker;
                let contest = matches!(rc.cause, RecheckCause::Contest { .. });
                let (holder, bond) = rc.cause.bond();
                let e = held.entry((holder.clone(), contest)).or_default();
                *e = e.saturating_add(bond);
            }
            for ((who, contest), bond) in held {
                let reason: T::RuntimeHoldReason = if contest {
                    HoldReason::ContestBond.into()
                } else {
                    HoldReason::DisputeBond.into()
                };
                ensure!(
                    T::Currency::balance_on_hold(&reason, &who) == bond,
                    "bonds held differ from the open re-checks"
                );
            }
        }
        for (epoch, license, n) in Slashes::<T>::iter() {
            ensure!(n > 0, "a zero slash stored");
            ensure!(epoch >= oldest, "a slash older than the pruning point");
            ensure!(
                CheckerTallies::<T>::contains_key(epoch, license),
                "a slash without its tally entry"
            );
        }
        // Canaries: nothing retained or committed below the votes pruner.
        let floor = VotesPruneEpoch::<T>::get();
        ensure!(
            RetainedVotes::<T>::iter_keys().all(|(e, _)| e >= floor),
            "retained votes below the pruner"
        );
        ensure!(
            CanaryCommitments::<T>::iter_keys().all(|e| e >= floor),
            "canary commitment below the pruner"
        );
        Ok(())
    }
}
