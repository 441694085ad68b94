//! Escalation: contests of verdicts and users' disputes. Each holds a bond and schedules one
//! re-check of the worker by up to [`Config::RecheckCheckers`] (2K+1) fresh slots, in the
//! commit, seal and reveal windows of the epoch after the one it was asked in. The re-check's
//! slots are drawn lazily at its first nonce commitment (from that epoch's assignment seed
//! under a separate domain tag), excluding the slots of the verdict it re-examines and the
//! worker's own provider and agent. Its verdict (strict majority of the drawn slots) is applied
//! at once: a pass verifies and matures, a failure suspends (refunding the worker's orders).
//! Nothing here iterates more than the re-check's own slots.

use super::*;
use alloc::vec::Vec;
use frame_support::{
    defensive,
    dispatch::DispatchResultWithPostInfo,
    pallet_prelude::*,
    traits::{
        fungible::MutateHold,
        tokens::{Fortitude, Precision, Restriction},
    },
};
use kaisar_primitives::{
    CheckerSlot, CheckerSlots, CheckingEpoch, CheckingEpochs, LicenseId, OrderId, RewardAccrual,
    RunningOrders, WorkerId, WorkerRegistry,
};
use sp_io::hashing::blake2_256;
use sp_runtime::traits::Saturating;

/// Domain tag of a re-check's seed (`blake2_256(tag ++ the epoch's assignment seed)`).
pub const RECHECK_TAG: &[u8; 22] = b"kaisar-popw/recheck/v1";

impl<T: Config> Pallet<T> {
    /// Most draws for a re-check's slots: `MaxAssignmentTries` scaled from K to
    /// `RecheckCheckers` slots.
    pub fn max_recheck_tries() -> u32 {
        let k = T::CheckersPerWorker::get().max(1);
        T::MaxAssignmentTries::get()
            .saturating_mul(T::RecheckCheckers::get())
            .div_ceil(k)
    }

    /// The seed a re-check's slots are drawn from, given its epoch's assignment seed.
    pub fn recheck_seed(assignment_seed: &Hash32) -> Hash32 {
        let mut buf = [0u8; 22 + 32];
        buf[..22].copy_from_slice(RECHECK_TAG);
        buf[22..].copy_from_slice(assignment_seed);
        blake2_256(&buf)
    }

    /// The epoch a re-check asked now runs in: the next one.
    fn recheck_epoch() -> CheckingEpoch {
        let now = frame_system::Pallet::<T>::block_number();
        T::Slots::epoch_of(now).saturating_add(1)
    }

    fn hold_bond(who: &T::AccountId, reason: HoldReason, bond: BalanceOf<T>) -> DispatchResult {
        T::Currency::hold(&reason.into(), who, bond).map_err(|_| Error::<T>::InsufficientBond)?;
        Ok(())
    }

    pub(crate) fn do_contest(who: T::AccountId, worker: WorkerId) -> DispatchResult {
        let verdict = LastVerdicts::<T>::get(worker).ok_or(Error::<T>::NoVerdictToContest)?;
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(
            T::Slots::epoch_of(now) <= verdict.epoch.saturating_add(1),
            Error::<T>::ContestWindowClosed
        );
        ensure!(
            !Rechecks::<T>::contains_key(worker),
            Error::<T>::RecheckPending
        );
        let bond = T::ContestBond::get();
        Self::hold_bond(&who, HoldReason::ContestBond, bond)?;
        let recheck_epoch = Self::recheck_epoch();
        Rechecks::<T>::insert(
            worker,
            Recheck {
                epoch: recheck_epoch,
                cause: RecheckCause::Contest {
                    contester: who.clone(),
                    bond,
                    epoch: verdict.epoch,
                    outcome: verdict.outcome,
                },
                previous: verdict.votes,
                check: None,
            },
        );
        Self::deposit_event(Event::VerdictContested {
            worker,
            epoch: verdict.epoch,
            outcome: verdict.outcome,
            contester: who,
            bond,
            recheck_epoch,
        });
        Ok(())
    }

    pub(crate) fn do_dispute(who: T::AccountId, order: OrderId) -> DispatchResult {
        let (user, worker) = T::Orders::running_order(order).ok_or(Error::<T>::OrderNotRunning)?;
        ensure!(user == who, Error::<T>::NotOrderUser);
        ensure!(
            !Rechecks::<T>::contains_key(worker),
            Error::<T>::RecheckPending
        );
        let bond = T::DisputeBond::get();
        Self::hold_bond(&who, HoldReason::DisputeBond, bond)?;
        let recheck_epoch = Self::recheck_epoch();
        Rechecks::<T>::insert(
            worker,
            Recheck {
                epoch: recheck_epoch,
                cause: RecheckCause::Dispute {
                    user: who.clone(),
                    bond,
                    order,
                },
                // Fresh checkers: not the ones of the worker's latest verdict.
                previous: LastVerdicts::<T>::get(worker)
                    .map(|v| v.votes)
                    .unwrap_or_default(),
                check: None,
            },
        );
        Self::deposit_event(Event::ServiceDisputed {
            worker,
            order,
            user: who,
            bond,
            recheck_epoch,
        });
        Ok(())
    }

    /// The re-check of `worker`'s slots in `epoch` (its epoch): up to `RecheckCheckers`
    /// distinct eligible slots not among `previous`' licenses. Returns the slots and the draws
    /// made.
    pub(crate) fn draw_recheck(
        epoch: CheckingEpoch,
        worker: WorkerId,
        previous: &[SlotVote],
    ) -> Result<(Vec<(u32, CheckerSlot<T::AccountId>)>, u32), DispatchError> {
        let seeds = Seeds::<T>::get(epoch).ok_or(Error::<T>::NoSeed)?;
        let w = T::Workers::worker(worker).ok_or(Error::<T>::UnknownWorker)?;
        ensure!(Self::is_checkable(w.status), Error::<T>::WorkerNotCheckable);
        Ok(Self::draw_slots(
            &Self::recheck_seed(&seeds.assignment),
            worker,
            &w.provider,
            &w.agent,
            T::RecheckCheckers::get(),
            Self::max_recheck_tries(),
            |license| previous.iter().any(|v| v.license == license),
        ))
    }

    /// The slot indices of `worker`'s open re-check: drawn already, or drawable now (its
    /// epoch is current). Empty otherwise.
    pub fn recheck_assignment(worker: WorkerId) -> Vec<u32> {
        let Some(rc) = Rechecks::<T>::get(worker) else {
            return Vec::new();
        };
        if let Some(rec) = rc.check {
            return rec.slots.iter().map(|s| s.slot).collect();
        }
        if T::Slots::current_epoch() != rc.epoch {
            return Vec::new();
        }
        Self::draw_recheck(rc.epoch, worker, &rc.previous)
            .map(|(chosen, _)| chosen.into_iter().map(|(i, _)| i).collect())
            .unwrap_or_default()
    }

    /// `operator`'s slots in open re-checks (drawn, or drawable now): `(worker, epoch, slot,
    /// license)`. Iterates every open re-check: off-chain only (the runtime API).
    pub fn recheck_assignments_of(
        operator: &T::AccountId,
    ) -> Vec<(WorkerId, CheckingEpoch, OperatorAssignment)> {
        let mut out = Vec::new();
        for (worker, rc) in Rechecks::<T>::iter() {
            let slots: Vec<(u32, LicenseId, T::AccountId)> = match &rc.check {
                Some(rec) => rec
                    .slots
                    .iter()
                    .map(|s| (s.slot, s.license, s.operator.clone()))
                    .collect(),
                None if T::Slots::current_epoch() == rc.epoch => {
                    Self::draw_recheck(rc.epoch, worker, &rc.previous)
                        .map(|(chosen, _)| {
                            chosen
                                .into_iter()
                                .map(|(i, s)| (i, s.license, s.operator))
                                .collect()
                        })
                        .unwrap_or_default()
                }
                None => Vec::new(),
            };
            for (slot, license, op) in slots {
                if &op == operator {
                    out.push((
                        worker,
                        rc.epoch,
                        OperatorAssignment {
                            worker,
                            slot,
                            license,
                        },
                    ));
                }
            }
        }
        out
    }

    /// The open re-check of `worker`, which must be in its epoch.
    fn current_recheck(worker: WorkerId) -> Result<RecheckOf<T>, DispatchError> {
        let rc = Rechecks::<T>::get(worker).ok_or(Error::<T>::NoRecheck)?;
        Self::ensure_current(rc.epoch)?;
        Ok(rc)
    }

    pub(crate) fn do_commit_recheck_nonce(
        who: T::AccountId,
        worker: WorkerId,
        slot: u32,
        commitment: Hash32,
    ) -> DispatchResultWithPostInfo {
        let mut rc = Self::current_recheck(worker)?;
        let epoch = rc.epoch;
        Self::commit_open_seeds(epoch)?;
        let (mut rec, opened, tries) = match rc.check.take() {
            Some(rec) => (rec, false, 0),
            None => {
                let (chosen, tries) = Self::draw_recheck(epoch, worker, &rc.previous)?;
                (Self::new_record(chosen, slot)?, true, tries)
            }
        };
        // One challenge answers one check: a nonce committed for the worker's regular check
        // of the epoch is refused here.
        if let Some(regular) = Checks::<T>::get(epoch, worker) {
            ensure!(
                regular
                    .slots
                    .iter()
                    .all(|s| s.nonce_commitment != Some(commitment)),
                Error::<T>::NonceReused
            );
        }
        let license = Self::record_commitment(&mut rec, &who, slot, commitment)?;
        if opened {
            Self::deposit_event(Event::RecheckOpened {
                worker,
                epoch,
                slots: BoundedVec::truncate_from(rec.slots.iter().map(|s| s.slot).collect()),
            });
        }
        rc.check = Some(rec);
        Rechecks::<T>::insert(worker, rc);
        Self::deposit_event(Event::RecheckNonceCommitted {
            worker,
            slot,
            license,
            commitment,
        });
        Ok(Some(T::WeightInfo::commit_recheck_nonce(tries)).into())
    }

    pub(crate) fn do_seal_recheck(
        who: T::AccountId,
        worker: WorkerId,
        slot: u32,
        seal: Hash32,
    ) -> DispatchResult {
        let mut rc = Self::current_recheck(worker)?;
        let epoch = rc.epoch;
        let rec = rc.check.as_mut().ok_or(Error::<T>::NotCommitted)?;
        let license = Self::record_seal(rec, epoch, &who, slot, seal)?;
        Rechecks::<T>::insert(worker, rc);
        Self::deposit_event(Event::RecheckSealed {
            worker,
            slot,
            license,
            seal,
        });
        Ok(())
    }

    pub(crate) fn do_reveal_recheck(
        who: T::AccountId,
        worker: WorkerId,
        slot: u32,
        attestation: Attestation,
        salt: Hash32,
    ) -> DispatchResultWithPostInfo {
        let mut rc = Self::current_recheck(worker)?;
        let epoch = rc.epoch;
        Self::ensure_reveal_open(epoch)?;
        let rec = rc.check.as_mut().ok_or(Error::<T>::NotCommitted)?;
        let license = Self::record_reveal(rec, epoch, worker, &who, slot, &attestation, &salt)?;
        let complete = rec.revealed == rec.slots.len() as u32;
        Self::deposit_event(Event::RecheckRevealed {
            worker,
            slot,
            license,
            attestation,
        });
        if complete {
            let extra = Self::conclude_recheck(worker, rc);
            return Ok(Some(
                T::WeightInfo::reveal_recheck()
                    .saturating_add(T::WeightInfo::finalize_recheck())
                    .saturating_add(extra),
            )
            .into());
        }
        Rechecks::<T>::insert(worker, rc);
        Ok(Some(T::WeightInfo::reveal_recheck()).into())
    }

    pub(crate) fn do_finalize_recheck(worker: WorkerId) -> DispatchResultWithPostInfo {
        let rc = Rechecks::<T>::get(worker).ok_or(Error::<T>::NoRecheck)?;
        let now = frame_system::Pallet::<T>::block_number();
        ensure!(now >= Self::reveal_deadline(rc.epoch), Error::<T>::TooEarly);
        let extra = Self::conclude_recheck(worker, rc);
        Ok(Some(T::WeightInfo::finalize_recheck().saturating_add(extra)).into())
    }

    /// Conclude `rc` (removed from storage here): tallies of its slots, its verdict applied to
    /// the worker (still registered), slashes for an overturned verdict, and the bond settled.
    /// Returns the weight the verdict's effects used.
    pub(crate) fn conclude_recheck(worker: WorkerId, rc: RecheckOf<T>) -> Weight {
        Rechecks::<T>::remove(worker);
        // The re-examined verdict is settled: it cannot be contested again.
        LastVerdicts::<T>::remove(worker);
        let epoch = rc.epoch;
        let (outcome, passes, assigned, revealed, throughput) = match &rc.check {
            Some(rec) => {
                let (outcome, passes) = Self::consensus_of(rec);
                if Self::tallies_kept(epoch) {
                    Self::record_tallies(epoch, rec, outcome);
                }
                (
                    outcome,
                    passes,
                    rec.slots.len() as u32,
                    rec.revealed,
                    Self::passing_median(rec),
                )
            }
            None => (CheckOutcome::NoVerdict, 0, 0, 0, 0),
        };
        let registered = T::Workers::worker(worker);
        let mut used = Weight::zero();
        if registered.is_some() && outcome != CheckOutcome::NoVerdict {
            let mut state = WorkerStates::<T>::get(worker).unwrap_or_default();
            used = match outcome {
                CheckOutcome::Passed => Self::apply_pass(worker, epoch, throughput, &mut state),
                _ => Self::apply_failure(worker, epoch, &mut state, true),
            };
            WorkerStates::<T>::insert(worker, state);
        }

        let (result, reason) = match rc.cause {
            RecheckCause::Contest {
                outcome: contested,
                epoch: verdict_epoch,
                ..
            } => {
                let result = if outcome == CheckOutcome::NoVerdict {
                    RecheckResult::Void
                } else if outcome != contested {
                    if Self::tallies_kept(epoch) {
                        Self::slash_majority(verdict_epoch, contested, &rc.previous, epoch);
                    }
                    RecheckResult::Upheld
                } else {
                    RecheckResult::Rejected
                };
                (result, HoldReason::ContestBond)
            }
            RecheckCause::Dispute { .. } => {
                let result = match outcome {
                    CheckOutcome::NoVerdict => RecheckResult::Void,
                    CheckOutcome::Failed => RecheckResult::Upheld,
                    CheckOutcome::Passed => RecheckResult::Rejected,
                };
                (result, HoldReason::DisputeBond)
            }
        };
        let (holder, bond) = rc.cause.bond();
        let to = match (result, &rc.cause) {
            (RecheckResult::Rejected, RecheckCause::Dispute { .. }) => registered
                .map(|w| w.provider)
                .unwrap_or_else(T::ForfeitPot::get),
            (RecheckResult::Rejected, RecheckCause::Contest { .. }) => T::ForfeitPot::get(),
            _ => holder.clone(),
        };
        Self::settle_bond(reason, holder, &to, bond);
        Self::deposit_event(Event::RecheckConcluded {
            worker,
            epoch,
            outcome,
            assigned,
            revealed,
            passes,
            result,
            bond_to: to,
            bond,
        });
        used
    }

    /// Whether `epoch`'s tallies are still kept (a re-check concluded long after its epoch
    /// records nothing there: the rewards pallet has read that epoch).
    fn tallies_kept(epoch: CheckingEpoch) -> bool {
        epoch >= TallyPruneEpoch::<T>::get()
    }

    /// Release `bond` held for `reason` from `holder` (when `to` is the holder) or move it to
    /// `to`.
    fn settle_bond(
        reason: HoldReason,
        holder: &T::AccountId,
        to: &T::AccountId,
        bond: BalanceOf<T>,
    ) {
        let reason: T::RuntimeHoldReason = reason.into();
        let moved = if to == holder {
            T::Currency::release(&reason, holder, bond, Precision::Exact).map(|_| ())
        } else {
            T::Currency::transfer_on_hold(
                &reason,
                holder,
                to,
                bond,
                Precision::Exact,
                Restriction::Free,
                Fortitude::Polite,
            )
            .map(|_| ())
        };
        if let Err(e) = moved {
            // Held by this pallet alone and at least the existential deposit: cannot happen.
            // Never strand it: give it back to its holder.
            log::error!(target: LOG_TARGET, "settling a bond failed: {e:?}");
            defensive!("settling a held bond must not fail");
            let _ = T::Currency::release(&reason, holder, bond, Precision::BestEffort);
        }
    }

    /// Slash the slots of `previous` whose vote made the overturned `contested` outcome of
    /// `verdict_epoch`: one slash each in `epoch` (the re-check's), with a tally entry there so
    /// that the slash is pruned with the epoch's tallies.
    fn slash_majority(
        verdict_epoch: CheckingEpoch,
        contested: CheckOutcome,
        previous: &[SlotVote],
        epoch: CheckingEpoch,
    ) {
        for v in previous {
            let Some(verdict) = v.verdict else {
                continue;
            };
            let in_majority = match contested {
                CheckOutcome::Passed => verdict == CheckVerdict::Pass,
                _ => verdict != CheckVerdict::Pass,
            };
            if in_majority {
                Slashes::<T>::mutate(epoch, v.license, |n| n.saturating_inc());
                T::Rewards::vote_slashed(verdict_epoch, v.license);
                CheckerTallies::<T>::mutate(epoch, v.license, |_| ());
                Self::deposit_event(Event::VoteSlashed {
                    verdict_epoch,
                    license: v.license,
                    epoch,
                });
            }
        }
    }
}
