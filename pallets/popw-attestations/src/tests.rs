//! Mock-runtime tests, one behaviour each (every `build_and_execute` runs `try_state` after).

use crate::{
    canary_commitment, challenge_id, draw_slot, median, mock::*, nonce_commitment, seal_of,
    ChainValues, *,
};
use codec::Encode;
use frame_support::{assert_noop, assert_ok, traits::Hooks, weights::Weight};
use kaisar_primitives::{
    CheckerPerformance, CheckerSlots, CheckerTally, CheckingEpoch, WorkerId, WorkerRegistry,
    WorkerStatus,
};
use std::collections::BTreeMap;

type E = Error<Test>;

/// A nonce per (epoch, slot), distinct everywhere.
fn nonce(epoch: CheckingEpoch, slot: u32) -> Hash32 {
    let mut n = [0u8; 32];
    n[..4].copy_from_slice(&epoch.to_le_bytes());
    n[4..8].copy_from_slice(&slot.to_le_bytes());
    n[31] = 0xAA;
    n
}

fn salt(slot: u32) -> Hash32 {
    [slot as u8 ^ 0x5A; 32]
}

/// The standard shape of an H100 SXM challenge.
fn terms(nonce: Hash32) -> ChallengeTerms {
    ChallengeTerms {
        nonce,
        gpu_uuid_hash: kaisar_primitives::gpu_uuid_hash(b"GPU-1"),
        params: ChallengeParams {
            m: 8192,
            n: 8192,
            k: 32768,
            chunks: 2205,
        },
        commit_timeout_ms: 30_000,
        open_timeout_ms: 10_000,
    }
}

/// An attestation by `operator` of `worker` in `epoch` (after the challenge randomness), with
/// the challenge id the chain recomputes.
fn attestation(
    epoch: CheckingEpoch,
    worker: WorkerId,
    operator: AccountId,
    nonce: Hash32,
    verdict: CheckVerdict,
    throughput_gops: u64,
) -> Attestation {
    let t = terms(nonce);
    let w = MockRegistry::worker(worker).unwrap();
    let agent = w.agent.encode();
    let checker = operator.encode();
    let id = challenge_id(
        &ChainValues {
            genesis_hash: PopwAttestations::genesis_hash(),
            epoch_randomness: Seeds::<Test>::get(epoch).unwrap().challenge.unwrap(),
            worker_id: worker,
            worker_agent: &agent,
            checker: &checker,
            claimed_model: w.gpu_model,
        },
        &t,
    );
    Attestation {
        challenge_id: id,
        terms: t,
        merkle_root: [1; 32],
        work_time_ms: 7_000,
        throughput_gops,
        ratio_ppm: 1_000_000,
        verdict,
        openings_digest: [2; 32],
        snapshots_digest: [3; 32],
    }
}

/// The assigned (slot, operator) pairs of `worker` in `epoch`.
fn assigned(epoch: CheckingEpoch, worker: WorkerId) -> Vec<(u32, AccountId)> {
    PopwAttestations::assignment(epoch, worker)
        .into_iter()
        .map(|i| (i, MockSlots::slot(i).unwrap().operator))
        .collect()
}

fn commit(epoch: CheckingEpoch, worker: WorkerId, (slot, op): (u32, AccountId)) {
    assert_ok!(PopwAttestations::commit_nonce(
        RuntimeOrigin::signed(op),
        epoch,
        worker,
        slot,
        nonce_commitment(&nonce(epoch, slot))
    ));
}

fn seal(epoch: CheckingEpoch, worker: WorkerId, (slot, op): (u32, AccountId), att: &Attestation) {
    assert_ok!(PopwAttestations::seal(
        RuntimeOrigin::signed(op),
        epoch,
        worker,
        slot,
        seal_of(att, &salt(slot))
    ));
}

fn reveal(
    epoch: CheckingEpoch,
    worker: WorkerId,
    (slot, op): (u32, AccountId),
    att: Attestation,
) -> sp_runtime::DispatchResultWithInfo<frame_support::dispatch::PostDispatchInfo> {
    PopwAttestations::reveal(
        RuntimeOrigin::signed(op),
        epoch,
        worker,
        slot,
        att,
        salt(slot),
    )
}

/// Run the check of `worker` in `epoch` from its first block: `votes[i]` is what the `i`-th
/// assigned slot does (`None`: silent, never commits). Reveals as soon as allowed. Returns the
/// assigned slots.
fn run_check(
    epoch: CheckingEpoch,
    worker: WorkerId,
    votes: &[Option<(CheckVerdict, u64)>],
) -> Vec<(u32, AccountId)> {
    run_to_block(start(epoch).max(System::block_number()));
    let slots = assigned(epoch, worker);
    assert_eq!(slots.len(), votes.len(), "one vote per assigned slot");
    for (s, v) in slots.iter().zip(votes) {
        if v.is_some() {
            commit(epoch, worker, *s);
        }
    }
    run_to_block(start(epoch) + COMMIT);
    let mut atts = Vec::new();
    for (s, v) in slots.iter().zip(votes) {
        if let Some((verdict, gops)) = v {
            let a = attestation(epoch, worker, s.1, nonce(epoch, s.0), *verdict, *gops);
            seal(epoch, worker, *s, &a);
            atts.push((*s, a));
        }
    }
    if atts.len() < slots.len() {
        run_to_block(start(epoch) + COMMIT + SEAL);
    }
    for (s, a) in atts {
        assert_ok!(reveal(epoch, worker, s, a));
    }
    slots
}

fn pass(gops: u64) -> Option<(CheckVerdict, u64)> {
    Some((CheckVerdict::Pass, gops))
}

fn tally(epoch: CheckingEpoch, slot: u32) -> CheckerTally {
    PopwAttestations::performance(epoch, MockSlots::slot(slot).unwrap().license)
}

// ------------------------------------------------------------------------------------------
// Seeds and timeline
// ------------------------------------------------------------------------------------------

#[test]
fn seeds_are_drawn_at_the_epoch_start_and_after_the_commit_window() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let s = Seeds::<Test>::get(1).expect("assignment seed at the epoch's first block");
        assert!(s.challenge.is_none());
        run_to_block(start(1) + COMMIT - 1);
        assert!(Seeds::<Test>::get(1).unwrap().challenge.is_none());
        run_to_block(start(1) + COMMIT);
        let s2 = Seeds::<Test>::get(1).unwrap();
        assert_eq!(s2.assignment, s.assignment);
        let r = s2
            .challenge
            .expect("challenge randomness at S + CommitWindow");
        assert!(has_event(Event::ChallengeRandomnessDrawn {
            epoch: 1,
            randomness: r
        }));
        // Old seeds are pruned: SeedHistory = 3 epochs are kept.
        run_to_block(start(3));
        assert!(Seeds::<Test>::get(0).is_none());
        assert!(Seeds::<Test>::get(1).is_some());
        run_to_block(start(4));
        assert!(Seeds::<Test>::get(1).is_none());
        assert!(Seeds::<Test>::get(2).is_some());
        assert_eq!(Seeds::<Test>::iter().count(), 3);
    });
}

// ------------------------------------------------------------------------------------------
// Consensus
// ------------------------------------------------------------------------------------------

#[test]
fn honest_majority_activates_a_pending_worker() {
    ExtBuilder::default().build_and_execute(|| {
        let slots = run_check(
            1,
            WORKER,
            &[pass(1_300_000), pass(1_400_000), pass(1_350_000)],
        );
        // The third reveal finalized the check.
        assert!(has_event(Event::CheckFinalized {
            epoch: 1,
            worker: WORKER,
            outcome: CheckOutcome::Passed,
            assigned: 3,
            revealed: 3,
            passes: 3,
            applied: true,
        }));
        assert_eq!(MockRegistry::status(WORKER), Some(WorkerStatus::Active));
        assert_eq!(MockRegistry::verifications(), vec![(WORKER, "verify")]);
        assert!(has_event(Event::WorkerVerified { worker: WORKER }));
        assert_eq!(PopwAttestations::worker_throughput(WORKER), Some(1_350_000));
        let st = WorkerStates::<Test>::get(WORKER).unwrap();
        assert_eq!(st.last_passed, Some(1));
        assert_eq!(st.consecutive_failures, 0);
        assert!(Checks::<Test>::get(1, WORKER).is_none());
        for (s, _) in slots {
            assert_eq!(
                tally(1, s),
                CheckerTally {
                    assigned: 1,
                    revealed: 1,
                    agreed: 1,
                    silent: 0,
                    ..Default::default()
                }
            );
        }
    });
}

#[test]
fn dishonest_minority_is_recorded_and_has_no_effect() {
    ExtBuilder::default().build_and_execute(|| {
        let slots = run_check(
            1,
            WORKER,
            &[
                pass(1_300_000),
                Some((CheckVerdict::Wrong, 0)),
                pass(1_400_000),
            ],
        );
        assert_eq!(MockRegistry::status(WORKER), Some(WorkerStatus::Active));
        assert_eq!(PopwAttestations::worker_throughput(WORKER), Some(1_350_000));
        assert_eq!(tally(1, slots[1].0).agreed, 0);
        assert_eq!(tally(1, slots[1].0).revealed, 1);
        assert_eq!(tally(1, slots[0].0).agreed, 1);
        assert_eq!(
            WorkerStates::<Test>::get(WORKER)
                .unwrap()
                .consecutive_failures,
            0
        );
    });
}

#[test]
fn absent_checker_is_recorded_silent_and_two_passes_still_pass() {
    ExtBuilder::default().build_and_execute(|| {
        let slots = run_check(1, WORKER, &[pass(1_000_000), None, pass(2_000_000)]);
        // Not all revealed: the check waits for the deadline.
        assert!(Checks::<Test>::get(1, WORKER).is_some());
        assert_noop!(
            PopwAttestations::finalize(RuntimeOrigin::signed(STRANGER), 1, WORKER),
            E::TooEarly
        );
        run_to_block(PopwAttestations::reveal_deadline(1));
        assert_ok!(PopwAttestations::finalize(
            RuntimeOrigin::signed(STRANGER),
            1,
            WORKER
        ));
        assert_eq!(MockRegistry::status(WORKER), Some(WorkerStatus::Active));
        assert_eq!(PopwAttestations::worker_throughput(WORKER), Some(1_500_000));
        assert_eq!(
            tally(1, slots[1].0),
            CheckerTally {
                assigned: 1,
                revealed: 0,
                agreed: 0,
                silent: 1,
                ..Default::default()
            }
        );
        assert_noop!(
            PopwAttestations::finalize(RuntimeOrigin::signed(STRANGER), 1, WORKER),
            E::AlreadyFinalized
        );
    });
}

#[test]
fn last_pass_is_when_the_passing_checks_challenges_began() {
    use kaisar_primitives::WorkerVerdicts;
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(
            <PopwAttestations as WorkerVerdicts<u64>>::last_pass(WORKER),
            None
        );
        run_check(1, WORKER, &[pass(1), pass(1), pass(1)]);
        assert_eq!(
            <PopwAttestations as WorkerVerdicts<u64>>::last_pass(WORKER),
            Some(PopwAttestations::commit_deadline(1))
        );
        // A failed verdict later does not move it.
        let wrong = Some((CheckVerdict::Wrong, 0));
        run_check(2, WORKER, &[wrong, wrong, wrong]);
        assert_eq!(
            <PopwAttestations as WorkerVerdicts<u64>>::last_pass(WORKER),
            Some(PopwAttestations::commit_deadline(1))
        );
    });
}

#[test]
fn one_pass_of_three_fails_the_worker() {
    ExtBuilder::default()
        .workers([(2, 200, 201, WorkerStatus::Active)])
        .build_and_execute(|| {
            run_check(
                1,
                2,
                &[pass(1_000_000), Some((CheckVerdict::TooSlow, 10)), None],
            );
            run_to_block(PopwAttestations::reveal_deadline(1));
            assert_ok!(PopwAttestations::finalize(
                RuntimeOrigin::signed(STRANGER),
                1,
                2
            ));
            assert!(has_event(Event::WorkerFailed {
                worker: 2,
                epoch: 1,
                consecutive_failures: 1
            }));
            assert_eq!(MockRegistry::status(2), Some(WorkerStatus::Active));
            assert!(MockRegistry::verifications().is_empty());
        });
}

#[test]
fn every_failed_verdict_fails_the_workers_orders_and_consecutive_failures_suspend_it() {
    ExtBuilder::default()
        .workers([(2, 200, 201, WorkerStatus::Active)])
        .build_and_execute(|| {
            let wrong = Some((CheckVerdict::Wrong, 0));
            run_check(1, 2, &[wrong, wrong, wrong]);
            assert_eq!(
                WorkerStates::<Test>::get(2).unwrap().consecutive_failures,
                1
            );
            // Not suspended yet, but the worker's open orders are failed (refunded) now.
            assert_eq!(MockRegistry::status(2), Some(WorkerStatus::Active));
            assert_eq!(failed_verdict_hook_calls(), vec![2]);
            // A pass in between resets the count.
            run_check(2, 2, &[pass(5), pass(5), wrong]);
            assert_eq!(
                WorkerStates::<Test>::get(2).unwrap().consecutive_failures,
                0
            );
            assert_eq!(failed_verdict_hook_calls(), vec![2]);
            run_check(3, 2, &[wrong, wrong, pass(5)]);
            assert_eq!(MockRegistry::status(2), Some(WorkerStatus::Active));
            assert_eq!(failed_verdict_hook_calls(), vec![2, 2]);
            run_check(4, 2, &[Some((CheckVerdict::Unreachable, 0)); 3]);
            assert_eq!(MockRegistry::status(2), Some(WorkerStatus::Suspended));
            // The suspension told the hooks through the registry: not a second time here.
            assert_eq!(failed_verdict_hook_calls(), vec![2, 2]);
            assert_eq!(MockRegistry::verifications(), vec![(2, "suspend")]);
            assert!(has_event(Event::WorkerSuspended { worker: 2 }));
            assert_eq!(
                WorkerStates::<Test>::get(2).unwrap().consecutive_failures,
                0
            );
            // A suspended worker is not checked any more.
            run_to_block(start(5));
            assert!(PopwAttestations::assignment(5, 2).is_empty());
        });
}

#[test]
fn no_commitment_at_all_records_silence_without_a_verdict() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        run_to_block(PopwAttestations::reveal_deadline(1));
        assert_ok!(PopwAttestations::finalize(
            RuntimeOrigin::signed(STRANGER),
            1,
            WORKER
        ));
        assert!(has_event(Event::CheckFinalized {
            epoch: 1,
            worker: WORKER,
            outcome: CheckOutcome::NoVerdict,
            assigned: 3,
            revealed: 0,
            passes: 0,
            applied: true,
        }));
        for (s, _) in slots {
            assert_eq!(tally(1, s).silent, 1);
        }
        assert_eq!(
            MockRegistry::status(WORKER),
            Some(WorkerStatus::PendingVerification)
        );
        assert_noop!(
            PopwAttestations::finalize(RuntimeOrigin::signed(STRANGER), 1, WORKER),
            E::AlreadyFinalized
        );
        // After the epoch, nothing is left to finalize for an unopened check.
        run_to_block(PopwAttestations::reveal_deadline(2));
        run_to_block(start(3));
        assert_noop!(
            PopwAttestations::finalize(RuntimeOrigin::signed(STRANGER), 2, WORKER),
            E::NothingToFinalize
        );
    });
}

#[test]
fn a_stale_check_only_updates_the_tallies() {
    ExtBuilder::default().build_and_execute(|| {
        // Epoch 1: two reveal Wrong, one stays silent; nobody finalizes in time.
        let wrong = Some((CheckVerdict::Wrong, 0));
        run_check(1, WORKER, &[wrong, wrong, None]);
        // Epoch 2: passes and is applied.
        run_check(2, WORKER, &[pass(7), pass(7), pass(7)]);
        assert_eq!(MockRegistry::status(WORKER), Some(WorkerStatus::Active));
        // Epoch 1's check is finalized late: recorded, not applied.
        assert_ok!(PopwAttestations::finalize(
            RuntimeOrigin::signed(STRANGER),
            1,
            WORKER
        ));
        assert!(has_event(Event::CheckFinalized {
            epoch: 1,
            worker: WORKER,
            outcome: CheckOutcome::Failed,
            assigned: 3,
            revealed: 2,
            passes: 0,
            applied: false,
        }));
        assert_eq!(
            WorkerStates::<Test>::get(WORKER)
                .unwrap()
                .consecutive_failures,
            0
        );
        assert_eq!(OpenChecks::<Test>::iter().count(), 0);
    });
}

// ------------------------------------------------------------------------------------------
// Wrong caller, wrong state, timing
// ------------------------------------------------------------------------------------------

#[test]
fn wrong_checker_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        let unassigned = (0..SLOTS)
            .find(|i| slots.iter().all(|(s, _)| s != i))
            .unwrap();
        let c = nonce_commitment(&nonce(1, 0));
        // The operator of an unassigned slot.
        assert_noop!(
            PopwAttestations::commit_nonce(
                RuntimeOrigin::signed(OP0 + unassigned as u64),
                1,
                WORKER,
                unassigned,
                c
            ),
            E::NotAssigned
        );
        // Not the operator of an assigned slot (its owner, or a stranger).
        let (s0, _) = slots[0];
        for who in [OWNER0 + s0 as u64, STRANGER] {
            assert_noop!(
                PopwAttestations::commit_nonce(RuntimeOrigin::signed(who), 1, WORKER, s0, c),
                E::NotSlotOperator
            );
        }
        // Once the check is open the same rules hold.
        commit(1, WORKER, slots[0]);
        assert_noop!(
            PopwAttestations::commit_nonce(
                RuntimeOrigin::signed(STRANGER),
                1,
                WORKER,
                slots[1].0,
                c
            ),
            E::NotSlotOperator
        );
        run_to_block(start(1) + COMMIT);
        assert_noop!(
            PopwAttestations::seal(RuntimeOrigin::signed(STRANGER), 1, WORKER, s0, [9; 32]),
            E::NotSlotOperator
        );
        assert_noop!(
            PopwAttestations::seal(
                RuntimeOrigin::signed(OP0 + unassigned as u64),
                1,
                WORKER,
                unassigned,
                [9; 32]
            ),
            E::NotAssigned
        );
        // A slot that did not commit cannot seal.
        assert_noop!(
            PopwAttestations::seal(
                RuntimeOrigin::signed(slots[1].1),
                1,
                WORKER,
                slots[1].0,
                [9; 32]
            ),
            E::NotCommitted
        );
    });
}

#[test]
fn unknown_or_unchecked_workers_are_refused() {
    ExtBuilder::default()
        .workers([(3, 300, 301, WorkerStatus::Suspended)])
        .build_and_execute(|| {
            run_to_block(start(1));
            assert!(PopwAttestations::assignment(1, 3).is_empty());
            for (w, err) in [(3, E::WorkerNotCheckable), (77, E::UnknownWorker)] {
                assert_noop!(
                    PopwAttestations::commit_nonce(RuntimeOrigin::signed(OP0), 1, w, 0, [1; 32]),
                    err
                );
            }
        });
}

#[test]
fn calls_for_another_epoch_are_refused() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let s = assigned(1, WORKER)[0];
        for e in [0, 2] {
            assert_noop!(
                PopwAttestations::commit_nonce(RuntimeOrigin::signed(s.1), e, WORKER, s.0, [1; 32]),
                E::WrongEpoch
            );
        }
    });
}

#[test]
fn late_commit_after_the_randomness_is_drawn_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        commit(1, WORKER, slots[0]);
        // Sealing before the randomness: too early.
        assert_noop!(
            PopwAttestations::seal(
                RuntimeOrigin::signed(slots[0].1),
                1,
                WORKER,
                slots[0].0,
                [9; 32]
            ),
            E::SealWindowNotOpen
        );
        run_to_block(start(1) + COMMIT);
        assert_noop!(
            PopwAttestations::commit_nonce(
                RuntimeOrigin::signed(slots[1].1),
                1,
                WORKER,
                slots[1].0,
                nonce_commitment(&nonce(1, slots[1].0))
            ),
            E::CommitWindowClosed
        );
    });
}

#[test]
fn late_seal_and_late_reveal_are_refused() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        for s in &slots {
            commit(1, WORKER, *s);
        }
        run_to_block(start(1) + COMMIT);
        let a0 = attestation(
            1,
            WORKER,
            slots[0].1,
            nonce(1, slots[0].0),
            CheckVerdict::Pass,
            1,
        );
        seal(1, WORKER, slots[0], &a0);
        // Not every slot sealed and the seal window is open: reveals wait.
        assert_noop!(reveal(1, WORKER, slots[0], a0), E::RevealWindowNotOpen);
        run_to_block(PopwAttestations::seal_deadline(1));
        let a1 = attestation(
            1,
            WORKER,
            slots[1].1,
            nonce(1, slots[1].0),
            CheckVerdict::Pass,
            1,
        );
        assert_noop!(
            PopwAttestations::seal(
                RuntimeOrigin::signed(slots[1].1),
                1,
                WORKER,
                slots[1].0,
                seal_of(&a1, &salt(slots[1].0))
            ),
            E::SealWindowClosed
        );
        // An unsealed slot cannot reveal.
        assert_noop!(reveal(1, WORKER, slots[1], a1), E::NotSealed);
        run_to_block(PopwAttestations::reveal_deadline(1));
        assert_noop!(reveal(1, WORKER, slots[0], a0), E::RevealWindowClosed);
    });
}

#[test]
fn double_submissions_are_refused() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        commit(1, WORKER, slots[0]);
        assert_noop!(
            PopwAttestations::commit_nonce(
                RuntimeOrigin::signed(slots[0].1),
                1,
                WORKER,
                slots[0].0,
                [7; 32]
            ),
            E::AlreadyCommitted
        );
        commit(1, WORKER, slots[1]);
        run_to_block(start(1) + COMMIT);
        let a0 = attestation(
            1,
            WORKER,
            slots[0].1,
            nonce(1, slots[0].0),
            CheckVerdict::Pass,
            1,
        );
        seal(1, WORKER, slots[0], &a0);
        assert_noop!(
            PopwAttestations::seal(
                RuntimeOrigin::signed(slots[0].1),
                1,
                WORKER,
                slots[0].0,
                [8; 32]
            ),
            E::AlreadySealed
        );
        run_to_block(PopwAttestations::seal_deadline(1));
        assert_ok!(reveal(1, WORKER, slots[0], a0));
        assert_noop!(reveal(1, WORKER, slots[0], a0), E::AlreadyRevealed);
    });
}

// ------------------------------------------------------------------------------------------
// Copying and replay
// ------------------------------------------------------------------------------------------

#[test]
fn attestation_on_a_gpu_the_worker_did_not_register_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        let a = slots[0];
        commit(1, WORKER, a);
        run_to_block(start(1) + COMMIT);
        let mut att = attestation(1, WORKER, a.1, nonce(1, a.0), CheckVerdict::Pass, 1);
        att.terms.gpu_uuid_hash = FOREIGN_GPU;
        seal(1, WORKER, a, &att);
        run_to_block(PopwAttestations::seal_deadline(1));
        assert_noop!(reveal(1, WORKER, a, att), E::UnknownGpu);
    });
}

#[test]
fn copied_attestation_without_its_own_seal_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        let (a, b) = (slots[0], slots[1]);
        commit(1, WORKER, a);
        commit(1, WORKER, b);
        run_to_block(start(1) + COMMIT);
        let att_a = attestation(1, WORKER, a.1, nonce(1, a.0), CheckVerdict::Pass, 1);
        seal(1, WORKER, a, &att_a);
        // B copies A's public seal: refused.
        assert_noop!(
            PopwAttestations::seal(
                RuntimeOrigin::signed(b.1),
                1,
                WORKER,
                b.0,
                seal_of(&att_a, &salt(a.0))
            ),
            E::SealReused
        );
        // B seals something of its own, waits for A's reveal and copies it.
        assert_ok!(PopwAttestations::seal(
            RuntimeOrigin::signed(b.1),
            1,
            WORKER,
            b.0,
            [0xBB; 32]
        ));
        run_to_block(PopwAttestations::seal_deadline(1));
        assert_ok!(reveal(1, WORKER, a, att_a));
        for s in [salt(a.0), salt(b.0)] {
            assert_noop!(
                PopwAttestations::reveal(RuntimeOrigin::signed(b.1), 1, WORKER, b.0, att_a, s),
                E::SealMismatch
            );
        }
    });
}

#[test]
fn attestation_bound_to_another_checker_or_nonce_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        let (a, b) = (slots[0], slots[1]);
        commit(1, WORKER, a);
        commit(1, WORKER, b);
        run_to_block(start(1) + COMMIT);
        // B attests with its own nonce but A's challenge (id computed for checker A).
        let forged = attestation(1, WORKER, a.1, nonce(1, b.0), CheckVerdict::Pass, 1);
        seal(1, WORKER, b, &forged);
        // A attests with a nonce that is not its commitment.
        let wrong_nonce = attestation(1, WORKER, a.1, [0xEE; 32], CheckVerdict::Pass, 1);
        seal(1, WORKER, a, &wrong_nonce);
        run_to_block(PopwAttestations::seal_deadline(1));
        assert_noop!(reveal(1, WORKER, b, forged), E::ChallengeIdMismatch);
        assert_noop!(reveal(1, WORKER, a, wrong_nonce), E::NonceMismatch);
    });
}

#[test]
fn replayed_challenge_is_refused() {
    // One operator runs every slot: two assigned slots of one worker cannot share a nonce (a
    // replayed challenge), and last epoch's attestation does not verify in a new epoch.
    let slots = (0..SLOTS)
        .map(|i| slot(i, OWNER0 + i as u64, OP0))
        .collect();
    ExtBuilder::default().slots(slots).build_and_execute(|| {
        run_to_block(start(1));
        let s = assigned(1, WORKER);
        commit(1, WORKER, s[0]);
        assert_noop!(
            PopwAttestations::commit_nonce(
                RuntimeOrigin::signed(OP0),
                1,
                WORKER,
                s[1].0,
                nonce_commitment(&nonce(1, s[0].0))
            ),
            E::NonceReused
        );
        commit(1, WORKER, s[1]);
        commit(1, WORKER, s[2]);
        run_to_block(start(1) + COMMIT);
        let old = attestation(1, WORKER, OP0, nonce(1, s[0].0), CheckVerdict::Pass, 1);
        for x in &s {
            let a = attestation(1, WORKER, OP0, nonce(1, x.0), CheckVerdict::Pass, 1);
            seal(1, WORKER, *x, &a);
        }
        for x in &s {
            let a = attestation(1, WORKER, OP0, nonce(1, x.0), CheckVerdict::Pass, 1);
            assert_ok!(reveal(1, WORKER, *x, a));
        }
        // Epoch 2: the operator commits the same nonce again and replays the old attestation.
        run_to_block(start(2));
        let s2 = assigned(2, WORKER);
        assert_ok!(PopwAttestations::commit_nonce(
            RuntimeOrigin::signed(OP0),
            2,
            WORKER,
            s2[0].0,
            nonce_commitment(&nonce(1, s[0].0))
        ));
        run_to_block(start(2) + COMMIT);
        assert_ok!(PopwAttestations::seal(
            RuntimeOrigin::signed(OP0),
            2,
            WORKER,
            s2[0].0,
            seal_of(&old, &salt(s2[0].0))
        ));
        run_to_block(PopwAttestations::seal_deadline(2));
        assert_noop!(reveal(2, WORKER, s2[0], old), E::ChallengeIdMismatch);
    });
}

#[test]
fn out_of_bounds_work_shape_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let s = assigned(1, WORKER)[0];
        commit(1, WORKER, s);
        run_to_block(start(1) + COMMIT);
        let mut att = attestation(1, WORKER, s.1, nonce(1, s.0), CheckVerdict::Pass, 1);
        att.terms.params.chunks = (1 << 16) + 1;
        seal(1, WORKER, s, &att);
        run_to_block(PopwAttestations::seal_deadline(1));
        assert_noop!(reveal(1, WORKER, s, att), E::InvalidParams);
    });
}

#[test]
fn challenge_params_bounds_match_the_protocol() {
    let ok = ChallengeParams {
        m: 8192,
        n: 8192,
        k: 32768,
        chunks: 2205,
    };
    assert!(ok.is_valid());
    for bad in [
        ChallengeParams { m: 8191, ..ok },
        ChallengeParams { m: 1 << 17, ..ok },
        ChallengeParams { n: 8, ..ok },
        ChallengeParams { n: 1 << 16, ..ok },
        ChallengeParams { k: 0, ..ok },
        ChallengeParams { k: 24, ..ok },
        ChallengeParams {
            k: (1 << 16) + 16,
            ..ok
        },
        ChallengeParams { chunks: 0, ..ok },
        ChallengeParams { chunks: 8193, ..ok },
    ] {
        assert!(!bad.is_valid(), "{bad:?}");
    }
}

// ------------------------------------------------------------------------------------------
// Slots are the epoch's snapshot
// ------------------------------------------------------------------------------------------

#[test]
fn slot_undelegated_during_an_epoch_still_counts_for_that_epoch() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        let gone = slots[0].0;
        // Its license is undelegated mid-epoch: the slot set changes only at the next epoch.
        let next: Vec<_> = MockSlots::all()
            .into_iter()
            .filter(|s| s.license != gone)
            .collect();
        MockSlots::set_next(next);
        run_check(1, WORKER, &[pass(1), pass(1), pass(1)]);
        assert_eq!(tally(1, gone).agreed, 1);
        assert_eq!(MockRegistry::status(WORKER), Some(WorkerStatus::Active));
        run_to_block(start(2));
        assert_eq!(MockSlots::slot_count(), SLOTS - 1);
        for i in PopwAttestations::assignment(2, WORKER) {
            assert_ne!(MockSlots::slot(i).unwrap().license, gone);
        }
    });
}

#[test]
fn providers_own_slots_are_never_assigned_to_its_workers() {
    // Slots 0..3 are owned or operated by the provider.
    let mut slots: Vec<_> = (0..SLOTS)
        .map(|i| slot(i, OWNER0 + i as u64, OP0 + i as u64))
        .collect();
    slots[0].owner = PROVIDER;
    slots[1].operator = PROVIDER;
    slots[2].owner = PROVIDER;
    ExtBuilder::default().slots(slots).build_and_execute(|| {
        let mut full = 0;
        for e in 1..20 {
            run_to_block(start(e));
            let a = PopwAttestations::assignment(e, WORKER);
            // Rejection sampling within MaxAssignmentTries draws: with half the slots
            // excluded, an assignment may come out short, never with an excluded slot.
            assert!(!a.is_empty());
            assert!(a.iter().all(|i| (3..6).contains(i)), "{a:?}");
            full += (a.len() == 3) as u32;
        }
        assert!(full > 0, "{full}");
    });
}

#[test]
fn slots_of_the_workers_agent_are_never_assigned_to_it() {
    let mut slots: Vec<_> = (0..SLOTS)
        .map(|i| slot(i, OWNER0 + i as u64, OP0 + i as u64))
        .collect();
    slots[0].operator = AGENT;
    slots[4].owner = AGENT;
    ExtBuilder::default().slots(slots).build_and_execute(|| {
        for e in 1..20 {
            run_to_block(start(e));
            let a = PopwAttestations::assignment(e, WORKER);
            assert!(!a.is_empty());
            assert!(a.iter().all(|i| *i != 0 && *i != 4), "{a:?}");
        }
    });
}

#[test]
fn fewer_eligible_slots_than_k_assign_what_there_is() {
    let slots = vec![slot(0, 1, 2), slot(1, PROVIDER, 3)];
    ExtBuilder::default().slots(slots).build_and_execute(|| {
        run_to_block(start(1));
        assert_eq!(PopwAttestations::assignment(1, WORKER).to_vec(), vec![0]);
        // A lone passing checker is a strict majority of one.
        run_check(1, WORKER, &[pass(9)]);
        assert_eq!(MockRegistry::status(WORKER), Some(WorkerStatus::Active));
    });
}

// ------------------------------------------------------------------------------------------
// Storage and helpers
// ------------------------------------------------------------------------------------------

#[test]
fn forget_worker_only_after_it_left_the_registry() {
    ExtBuilder::default().build_and_execute(|| {
        run_check(1, WORKER, &[pass(1), pass(1), pass(1)]);
        assert_noop!(
            PopwAttestations::forget_worker(RuntimeOrigin::signed(STRANGER), WORKER),
            E::WorkerStillRegistered
        );
        MockRegistry::remove(WORKER);
        assert_ok!(PopwAttestations::forget_worker(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        assert!(WorkerStates::<Test>::get(WORKER).is_none());
    });
}

#[test]
fn take_performance_consumes_the_tally() {
    ExtBuilder::default().build_and_execute(|| {
        let slots = run_check(1, WORKER, &[pass(1), pass(1), pass(1)]);
        let l = MockSlots::slot(slots[0].0).unwrap().license;
        assert_eq!(PopwAttestations::take_performance(1, l).agreed, 1);
        assert_eq!(PopwAttestations::performance(1, l), CheckerTally::default());
    });
}

#[test]
fn runtime_api_lists_an_operators_assignments() {
    ExtBuilder::default()
        .workers([(2, 200, 201, WorkerStatus::Active)])
        .build_and_execute(|| {
            run_to_block(start(1));
            let mut by_op: BTreeMap<AccountId, usize> = BTreeMap::new();
            for w in [WORKER, 2] {
                for (_, op) in assigned(1, w) {
                    *by_op.entry(op).or_default() += 1;
                }
            }
            for i in 0..SLOTS as u64 {
                let got = PopwAttestations::assignments_of(&(OP0 + i), 1, [WORKER, 2]);
                assert_eq!(got.len(), by_op.get(&(OP0 + i)).copied().unwrap_or(0));
            }
        });
}

#[test]
fn median_is_the_middle_value() {
    assert_eq!(median(vec![]), None);
    assert_eq!(median(vec![5]), Some(5));
    assert_eq!(median(vec![9, 1, 5]), Some(5));
    assert_eq!(median(vec![1, 4]), Some(2));
    assert_eq!(median(vec![u64::MAX, u64::MAX]), Some(u64::MAX));
}

// ------------------------------------------------------------------------------------------
// Scale
// ------------------------------------------------------------------------------------------

/// 10,000 workers (200 providers x 50), 1,000 slots, 3 epochs: the hook's weight is the same
/// bound as with no workers, no worker is assigned a slot of its provider, and the slots are
/// drawn uniformly among the eligible ones: Pearson's chi-square over the 1,000 slots stays
/// under the critical value at significance p = 0.001 (999 degrees of freedom: 1142.8 by the
/// Wilson-Hilferty approximation with z = 3.0902).
#[test]
fn scale_10k_workers_1k_slots_bounded_hook_and_uniform_assignment() {
    const WORKERS: u64 = 10_000;
    const N_SLOTS: u32 = 1_000;
    const PROVIDERS: u64 = 200;
    const EPOCHS: u32 = 3;
    let provider = |w: u64| 1_000_000 + (w % PROVIDERS);
    // Providers 0..100 own slot p (so it is excluded for their workers).
    let slots: Vec<_> = (0..N_SLOTS)
        .map(|i| {
            let owner = if (i as u64) < 100 {
                provider(i as u64)
            } else {
                2_000_000 + i as u64
            };
            slot(i, owner, 3_000_000 + i as u64)
        })
        .collect();
    let bound = <() as WeightInfo>::on_initialize_seed()
        .max(<() as WeightInfo>::on_initialize_randomness())
        .max(<() as WeightInfo>::on_initialize_idle());
    // The hook with no workers and no slots.
    let empty_max = ExtBuilder::default()
        .slots(vec![])
        .build()
        .execute_with(|| run_to_block(start(EPOCHS + 1)));
    ExtBuilder::default()
        .slots(slots.clone())
        .workers((1..=WORKERS).map(|w| (w, provider(w), 5_000_000 + w, WorkerStatus::Active)))
        .build_and_execute(|| {
            let mut counts = vec![0u64; N_SLOTS as usize];
            let mut expected = vec![0f64; N_SLOTS as usize];
            let mut hook_max = Weight::zero();
            for e in 1..=EPOCHS {
                hook_max = hook_max.max(run_to_block(start(e)));
                for w in 1..=WORKERS {
                    let a = PopwAttestations::assignment(e, w);
                    assert_eq!(a.len(), K as usize, "a full assignment for every worker");
                    for i in a.iter() {
                        let s = &slots[*i as usize];
                        assert!(s.owner != provider(w) && s.operator != provider(w));
                        counts[*i as usize] += 1;
                    }
                    // Uniform among the eligible slots.
                    let p = w % PROVIDERS;
                    let eligible = if p < 100 { N_SLOTS - 1 } else { N_SLOTS };
                    for (j, x) in expected.iter_mut().enumerate() {
                        if !(p < 100 && j as u64 == p) {
                            *x += K as f64 / eligible as f64;
                        }
                    }
                }
            }
            hook_max = hook_max.max(run_to_block(start(EPOCHS + 1)));
            assert!(
                hook_max.all_lte(bound),
                "hook weight {hook_max:?} over {bound:?}"
            );
            assert_eq!(hook_max, empty_max, "hook weight independent of the counts");
            let chi2: f64 = counts
                .iter()
                .zip(&expected)
                .map(|(o, e)| (*o as f64 - e).powi(2) / e)
                .sum();
            assert!(
                chi2 < 1142.8,
                "chi-square {chi2} over the p = 0.001 critical value"
            );
            // And not suspiciously perfect either (p = 0.001 lower tail: about 860.3).
            assert!(
                chi2 > 860.3,
                "chi-square {chi2} under the lower critical value"
            );
        });
}

#[test]
fn draw_slot_is_deterministic_and_in_range() {
    let seed = [7u8; 32];
    for t in 0..100 {
        let a = draw_slot(&seed, 42, t, 13);
        assert!(a < 13);
        assert_eq!(a, draw_slot(&seed, 42, t, 13));
    }
    assert_ne!(
        (0..8)
            .map(|t| draw_slot(&seed, 1, t, 1000))
            .collect::<Vec<_>>(),
        (0..8)
            .map(|t| draw_slot(&seed, 2, t, 1000))
            .collect::<Vec<_>>()
    );
}

#[test]
fn hook_does_constant_work_per_block() {
    ExtBuilder::default().build_and_execute(|| {
        let w = run_to_block(start(3));
        assert!(w.all_lte(<() as WeightInfo>::on_initialize_seed()));
        assert_eq!(
            PopwAttestations::on_initialize(start(3) + 2),
            <() as WeightInfo>::on_initialize_idle()
        );
    });
}

/// The chain recomputes exactly `kaisar-popw`'s challenge id and nonce commitment (with
/// 32-byte account keys, as `AccountId32` encodes them).
#[test]
fn challenge_id_and_nonce_commitment_match_kaisar_popw() {
    use kaisar_popw::{AccountKey, Challenge, GpuUuidHash, Nonce, Params};
    let t = ChallengeTerms {
        nonce: [3; 32],
        gpu_uuid_hash: [6; 32],
        params: ChallengeParams {
            m: 8192,
            n: 8192,
            k: 32768,
            chunks: 2205,
        },
        commit_timeout_ms: 30_000,
        open_timeout_ms: 12_345,
    };
    let challenge = Challenge {
        version: kaisar_popw::messages::PROTOCOL_VERSION,
        genesis_hash: [1; 32],
        epoch_randomness: [2; 32],
        nonce: Nonce(t.nonce),
        worker_id: 42,
        worker_agent: AccountKey([4; 32]),
        checker: AccountKey([5; 32]),
        gpu_uuid_hash: GpuUuidHash(t.gpu_uuid_hash),
        claimed_model: kaisar_primitives::GpuModel::H100Sxm,
        params: Params {
            m: 8192,
            n: 8192,
            k: 32768,
            chunks: 2205,
        },
        commit_timeout_ms: 30_000,
        open_timeout_ms: 12_345,
    };
    let ours = challenge_id(
        &ChainValues {
            genesis_hash: [1; 32],
            epoch_randomness: [2; 32],
            worker_id: 42,
            worker_agent: &[4; 32],
            checker: &[5; 32],
            claimed_model: kaisar_primitives::GpuModel::H100Sxm,
        },
        &t,
    );
    assert_eq!(challenge.id().0, ours);
    assert_eq!(Nonce([3; 32]).commitment().0, nonce_commitment(&[3; 32]));
    assert_eq!(
        POPW_PROTOCOL_VERSION,
        kaisar_popw::messages::PROTOCOL_VERSION
    );
    // SCALE-identical work shapes.
    assert_eq!(challenge.params.encode(), t.params.encode());
}

/// `ChallengeParams::is_valid` agrees with `kaisar-popw`'s `Params::validate` on edge values.
#[test]
fn params_bounds_agree_with_kaisar_popw() {
    let edges = [
        0u32,
        1,
        2,
        8,
        15,
        16,
        24,
        32,
        48,
        1 << 12,
        (1 << 15) - 1,
        1 << 15,
        (1 << 15) + 16,
        (1 << 16) - 16,
        1 << 16,
        (1 << 16) + 1,
        (1 << 16) + 16,
        1 << 17,
        u32::MAX,
    ];
    for &m in &edges {
        for &n in &edges {
            for &k in &edges {
                for &chunks in &[0u32, 1, 1023, 1024, 1025, 8192, 1 << 16, (1 << 16) + 1] {
                    let ours = ChallengeParams { m, n, k, chunks }.is_valid();
                    let theirs = kaisar_popw::Params { m, n, k, chunks }.validate().is_ok();
                    assert_eq!(ours, theirs, "m {m} n {n} k {k} chunks {chunks}");
                }
            }
        }
    }
}

#[test]
fn reveal_by_a_wrong_caller_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        for s in &slots {
            commit(1, WORKER, *s);
        }
        run_to_block(start(1) + COMMIT);
        let a = attestation(
            1,
            WORKER,
            slots[0].1,
            nonce(1, slots[0].0),
            CheckVerdict::Pass,
            1,
        );
        seal(1, WORKER, slots[0], &a);
        run_to_block(PopwAttestations::seal_deadline(1));
        // Another assigned operator, the slot's owner, a stranger.
        for who in [slots[1].1, OWNER0 + slots[0].0 as u64, STRANGER] {
            assert_noop!(
                PopwAttestations::reveal(
                    RuntimeOrigin::signed(who),
                    1,
                    WORKER,
                    slots[0].0,
                    a,
                    salt(slots[0].0)
                ),
                E::NotSlotOperator
            );
        }
        // A slot that is not assigned.
        let unassigned = (0..SLOTS)
            .find(|i| slots.iter().all(|(s, _)| s != i))
            .unwrap();
        assert_noop!(
            PopwAttestations::reveal(
                RuntimeOrigin::signed(OP0 + unassigned as u64),
                1,
                WORKER,
                unassigned,
                a,
                salt(unassigned)
            ),
            E::NotAssigned
        );
        // No open check for another worker.
        assert_noop!(reveal(1, 77, slots[0], a), E::NotCommitted);
    });
}

#[test]
fn unsigned_origins_are_refused() {
    use sp_runtime::DispatchError::BadOrigin;
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(1));
        let a = Attestation {
            challenge_id: [0; 32],
            terms: terms([0; 32]),
            merkle_root: [0; 32],
            work_time_ms: 0,
            throughput_gops: 0,
            ratio_ppm: 0,
            verdict: CheckVerdict::Pass,
            openings_digest: [0; 32],
            snapshots_digest: [0; 32],
        };
        for origin in [RuntimeOrigin::none(), RuntimeOrigin::root()] {
            assert_noop!(
                PopwAttestations::commit_nonce(origin.clone(), 1, WORKER, 0, [0; 32]),
                BadOrigin
            );
            assert_noop!(
                PopwAttestations::seal(origin.clone(), 1, WORKER, 0, [0; 32]),
                BadOrigin
            );
            assert_noop!(
                PopwAttestations::reveal(origin.clone(), 1, WORKER, 0, a, [0; 32]),
                BadOrigin
            );
            assert_noop!(
                PopwAttestations::finalize(origin.clone(), 1, WORKER),
                BadOrigin
            );
            assert_noop!(PopwAttestations::forget_worker(origin, WORKER), BadOrigin);
        }
    });
}

/// Every input and record has a small fixed bound (the calls take no variable-length input).
#[test]
fn inputs_and_records_are_bounded() {
    use codec::MaxEncodedLen;
    assert!(Attestation::max_encoded_len() <= 256);
    assert!(CheckRecordOf::<Test>::max_encoded_len() <= 64 + 3 * 160);
    assert!(WorkerCheckState::max_encoded_len() <= 32);
    // Trailing bytes after a reveal call do not decode as a call.
    let call = RuntimeCall::PopwAttestations(crate::Call::finalize {
        epoch: 1,
        worker: WORKER,
    });
    let mut bytes = call.encode();
    bytes.push(0);
    assert!(<RuntimeCall as codec::DecodeAll>::decode_all(&mut &bytes[..]).is_err());
}

/// The invariants are not vacuous: an inconsistent record is caught.
#[test]
fn try_state_catches_inconsistent_records() {
    ExtBuilder::default().build().execute_with(|| {
        run_to_block(start(1));
        let slots = assigned(1, WORKER);
        commit(1, WORKER, slots[0]);
        assert!(PopwAttestations::do_try_state().is_ok());
        // A seal counted that is not there.
        Checks::<Test>::mutate(1, WORKER, |r| r.as_mut().unwrap().sealed = 1);
        assert!(PopwAttestations::do_try_state().is_err());
        Checks::<Test>::mutate(1, WORKER, |r| r.as_mut().unwrap().sealed = 0);
        // An open-check count that does not match.
        OpenChecks::<Test>::insert(1, 2);
        assert!(PopwAttestations::do_try_state().is_err());
        OpenChecks::<Test>::insert(1, 1);
        // A slot outside the epoch's slot set.
        Checks::<Test>::mutate(1, WORKER, |r| r.as_mut().unwrap().slots[0].slot = SLOTS + 5);
        assert!(PopwAttestations::do_try_state().is_err());
    });
}

#[test]
fn old_tallies_are_pruned_on_idle_in_bounded_steps() {
    let mut ext = ExtBuilder::default().build();
    let licenses: Vec<_> = ext.execute_with(|| {
        let slots = run_check(1, WORKER, &[pass(1), pass(1), pass(1)]);
        // Kept for TALLY_HISTORY = 2 epochs: still there during epoch 2.
        run_to_block(start(1 + TALLY_HISTORY) - 1);
        assert_eq!(CheckerTallies::<Test>::iter_prefix(1).count(), 3);
        assert_eq!(
            TallyPruneEpoch::<Test>::get(),
            1,
            "epoch 0 (empty) was pruned"
        );
        slots
            .iter()
            .map(|(s, _)| MockSlots::slot(*s).unwrap().license)
            .collect()
    });
    // The tallies are in the database (the limit bounds the keys read from it); each block's
    // changes are committed before the next, as on a chain.
    ext.commit_all().unwrap();
    let b = start(1 + TALLY_HISTORY);
    ext.execute_with(|| {
        // Epoch 3: 2 per block (MaxTalliesPrunedPerBlock), then the epoch is done.
        System::set_block_number(b);
        MockSlots::tick(b);
        PopwAttestations::on_initialize(b);
        // Too little idle weight: nothing happens.
        assert_eq!(PopwAttestations::on_idle(b, Weight::zero()), Weight::zero());
        assert_eq!(TallyPruneEpoch::<Test>::get(), 1);
        let w = PopwAttestations::on_idle(b, Weight::MAX);
        // Two tallies pruned (plus the retained-votes pass, which has nothing here).
        assert!(w.all_gte(<() as WeightInfo>::on_idle_prune(2)));
        assert_eq!(CheckerTallies::<Test>::iter_prefix(1).count(), 1);
        assert!(TallyPruneCursor::<Test>::get().is_some());
    });
    ext.commit_all().unwrap();
    ext.execute_with(|| {
        // Next block, exactly one item's worth of idle weight: the last one.
        System::set_block_number(b + 1);
        PopwAttestations::on_idle(b + 1, <() as WeightInfo>::on_idle_prune(1));
        assert_eq!(CheckerTallies::<Test>::iter_prefix(1).count(), 0);
    });
    ext.commit_all().unwrap();
    ext.execute_with(|| {
        System::set_block_number(b + 2);
        PopwAttestations::on_idle(b + 2, Weight::MAX);
        assert_eq!(TallyPruneEpoch::<Test>::get(), 2);
        assert!(TallyPruneCursor::<Test>::get().is_none());
        assert!(has_event(Event::TalliesPruned { epoch: 1 }));
        for l in &licenses {
            assert_eq!(
                PopwAttestations::performance(1, *l),
                CheckerTally::default()
            );
        }
        // Epoch 2 is not old enough yet (for the tallies nor the retained votes: two checks).
        assert_eq!(
            PopwAttestations::on_idle(b + 2, Weight::MAX),
            <() as WeightInfo>::on_idle_prune(0).saturating_mul(2)
        );
        assert_eq!(TallyPruneEpoch::<Test>::get(), 2);
        PopwAttestations::do_try_state().expect("invariants hold");
    });
}

// ------------------------------------------------------------------------------------------
// Canaries
// ------------------------------------------------------------------------------------------

/// A second worker, a canary that answers deliberately wrong.
const CANARY: WorkerId = 7;

fn canary_builder() -> ExtBuilder {
    ExtBuilder::default().workers([(CANARY, 700, 701, WorkerStatus::Active)])
}

#[test]
fn canaries_are_committed_before_their_epoch_by_the_canary_origin_only() {
    canary_builder().build_and_execute(|| {
        let list = vec![(CANARY, false)];
        let c = canary_commitment(1, &list, &[9; 32]);
        assert_noop!(
            PopwAttestations::commit_canaries(RuntimeOrigin::signed(STRANGER), 1, c),
            sp_runtime::DispatchError::BadOrigin
        );
        assert_ok!(PopwAttestations::commit_canaries(
            RuntimeOrigin::root(),
            1,
            c
        ));
        assert!(has_event(Event::CanariesCommitted { epoch: 1 }));
        assert_noop!(
            PopwAttestations::commit_canaries(RuntimeOrigin::root(), 1, [0; 32]),
            E::CanariesAlreadyCommitted
        );
        // Once the epoch began (its assignment seed is drawn) it is too late.
        run_to_block(start(2));
        assert_noop!(
            PopwAttestations::commit_canaries(RuntimeOrigin::root(), 2, c),
            E::CanaryEpochStarted
        );
        assert_noop!(
            PopwAttestations::commit_canaries(RuntimeOrigin::root(), 1, c),
            E::CanaryEpochStarted
        );
    });
}

#[test]
fn canary_caught_scores_each_slot_by_whether_it_got_the_canary_right() {
    canary_builder().build_and_execute(|| {
        // Epoch 1: CANARY answers deliberately wrong. Epoch 2: WORKER is an honest canary.
        let (wrong_list, honest_list) = (vec![(CANARY, false)], vec![(WORKER, true)]);
        let salt = [5; 32];
        assert_ok!(PopwAttestations::commit_canaries(
            RuntimeOrigin::root(),
            1,
            canary_commitment(1, &wrong_list, &salt)
        ));
        assert_ok!(PopwAttestations::commit_canaries(
            RuntimeOrigin::root(),
            2,
            canary_commitment(2, &honest_list, &salt)
        ));
        let wrong = Some((CheckVerdict::Wrong, 0));
        // Two slots catch the wrong canary, one lazily passes it.
        let canary_slots = run_check(1, CANARY, &[wrong, wrong, pass(3)]);
        assert_eq!(RetainedVotes::<Test>::iter_prefix(1).count(), 1);
        // Not before the epoch ended.
        let reveal = |epoch, list: &Vec<(WorkerId, bool)>, salt| {
            PopwAttestations::reveal_canaries(
                RuntimeOrigin::root(),
                epoch,
                list.clone().try_into().unwrap(),
                salt,
            )
        };
        assert_noop!(reveal(1, &wrong_list, salt), E::CanaryRevealNotOpen);
        // Two pass the honest canary, one wrongly fails it.
        let honest_slots = run_check(2, WORKER, &[pass(5), pass(5), wrong]);
        // A different list or salt does not open the commitment; only the canary origin may.
        assert_noop!(reveal(1, &vec![(CANARY, true)], salt), E::CanaryMismatch);
        assert_noop!(reveal(1, &wrong_list, [0; 32]), E::CanaryMismatch);
        assert_noop!(
            PopwAttestations::reveal_canaries(
                RuntimeOrigin::signed(STRANGER),
                1,
                wrong_list.clone().try_into().unwrap(),
                salt
            ),
            sp_runtime::DispatchError::BadOrigin
        );
        let scored = |epoch, slots: &[(u32, AccountId)]| {
            for (i, (s, _)) in slots.iter().enumerate() {
                let t = tally(epoch, *s);
                assert_eq!(
                    (t.canary_checks, t.canary_errors),
                    (1, (i == 2) as u32),
                    "epoch {epoch}, slot {s}"
                );
            }
        };
        assert_ok!(reveal(1, &wrong_list, salt));
        assert!(has_event(Event::CanariesRevealed {
            epoch: 1,
            canaries: 1,
            scored: 3,
            errors: 1
        }));
        scored(1, &canary_slots);
        // Consumed: a replay finds no commitment; the canary's votes are gone.
        assert_noop!(reveal(1, &wrong_list, salt), E::NoCanaryCommitment);
        assert_eq!(RetainedVotes::<Test>::iter_prefix(1).count(), 0);
        run_to_block(start(3));
        assert_ok!(reveal(2, &honest_list, salt));
        assert!(has_event(Event::CanariesRevealed {
            epoch: 2,
            canaries: 1,
            scored: 3,
            errors: 1
        }));
        scored(2, &honest_slots);
    });
}

#[test]
fn silent_slots_are_not_scored_and_unrevealed_canaries_expire() {
    canary_builder().build_and_execute(|| {
        let list = vec![(CANARY, false)];
        let salt = [6; 32];
        assert_ok!(PopwAttestations::commit_canaries(
            RuntimeOrigin::root(),
            1,
            canary_commitment(1, &list, &salt)
        ));
        let wrong = Some((CheckVerdict::Wrong, 0));
        run_check(1, CANARY, &[wrong, wrong, None]);
        run_to_block(PopwAttestations::reveal_deadline(1));
        assert_ok!(PopwAttestations::finalize(
            RuntimeOrigin::signed(STRANGER),
            1,
            CANARY
        ));
        assert_eq!(RetainedVotes::<Test>::iter_prefix(1).count(), 1);
        // Nobody reveals: after CANARY_REVEAL_EPOCHS the reveal is closed and on_idle prunes.
        let after = start(1 + CANARY_REVEAL_EPOCHS + 1);
        run_to_block(after);
        assert_noop!(
            PopwAttestations::reveal_canaries(
                RuntimeOrigin::root(),
                1,
                list.try_into().unwrap(),
                salt
            ),
            E::CanaryRevealNotOpen
        );
        for _ in 0..4 {
            PopwAttestations::on_idle(after, Weight::MAX);
        }
        assert_eq!(RetainedVotes::<Test>::iter_prefix(1).count(), 0);
        assert!(CanaryCommitments::<Test>::get(1).is_none());
        assert!(VotesPruneEpoch::<Test>::get() > 1);
    });
}

#[test]
fn epochs_without_canaries_retain_no_votes() {
    ExtBuilder::default().build_and_execute(|| {
        run_check(1, WORKER, &[pass(1), pass(1), pass(1)]);
        assert_eq!(RetainedVotes::<Test>::iter().count(), 0);
    });
}

#[test]
fn too_many_canaries_do_not_decode() {
    use codec::Decode;
    use frame_support::BoundedVec;
    let list: Vec<(WorkerId, bool)> = (0..5).map(|w| (w, true)).collect();
    let encoded = list.encode();
    assert!(
        BoundedVec::<(WorkerId, bool), <Test as Config>::MaxCanaries>::decode(&mut &encoded[..])
            .is_err()
    );
}

// ------------------------------------------------------------------------------------------
// Escalation: contests and disputes
// ------------------------------------------------------------------------------------------

/// Twelve slots: room for a 2K+1 re-check that excludes the contested check's K slots.
fn escalation_builder() -> ExtBuilder {
    ExtBuilder::default().slots(
        (0..12)
            .map(|i| slot(i, OWNER0 + i as u64, OP0 + i as u64))
            .collect(),
    )
}

/// The drawn (or drawable) re-check slots of `worker`, with their operators.
fn recheck_slots(worker: WorkerId) -> Vec<(u32, AccountId)> {
    PopwAttestations::recheck_assignment(worker)
        .into_iter()
        .map(|i| (i, MockSlots::slot(i).unwrap().operator))
        .collect()
}

/// A nonce for re-check slots, distinct from the regular checks'.
fn recheck_nonce(slot: u32) -> Hash32 {
    let mut n = nonce(900, slot);
    n[31] = 0xBB;
    n
}

/// Run `worker`'s open re-check in its epoch: `vote(i)` is what the `i`-th drawn slot does
/// (`None`: silent). Returns the drawn slots.
fn run_recheck(
    worker: WorkerId,
    vote: impl Fn(usize) -> Option<(CheckVerdict, u64)>,
) -> Vec<(u32, AccountId)> {
    let epoch = Rechecks::<Test>::get(worker).unwrap().epoch;
    run_to_block(start(epoch).max(System::block_number()));
    let slots = recheck_slots(worker);
    assert!(
        slots.len() >= K as usize,
        "a re-check draws at least K slots here"
    );
    for (i, (slot, op)) in slots.iter().enumerate() {
        if vote(i).is_some() {
            assert_ok!(PopwAttestations::commit_recheck_nonce(
                RuntimeOrigin::signed(*op),
                worker,
                *slot,
                nonce_commitment(&recheck_nonce(*slot))
            ));
        }
    }
    run_to_block(start(epoch) + COMMIT);
    let mut atts = Vec::new();
    for (i, (slot, op)) in slots.iter().enumerate() {
        if let Some((verdict, gops)) = vote(i) {
            let a = attestation(epoch, worker, *op, recheck_nonce(*slot), verdict, gops);
            assert_ok!(PopwAttestations::seal_recheck(
                RuntimeOrigin::signed(*op),
                worker,
                *slot,
                seal_of(&a, &salt(*slot))
            ));
            atts.push((*slot, *op, a));
        }
    }
    if atts.len() < slots.len() {
        run_to_block(start(epoch) + COMMIT + SEAL);
    }
    for (slot, op, a) in atts {
        assert_ok!(PopwAttestations::reveal_recheck(
            RuntimeOrigin::signed(op),
            worker,
            slot,
            a,
            salt(slot)
        ));
    }
    slots
}

fn wrong() -> Option<(CheckVerdict, u64)> {
    Some((CheckVerdict::Wrong, 0))
}

fn held(who: AccountId) -> Balance {
    use frame_support::traits::fungible::InspectHold;
    Balances::total_balance_on_hold(&who)
}

fn free(who: AccountId) -> Balance {
    Balances::free_balance(who)
}

fn paused(worker: WorkerId) -> bool {
    <PopwAttestations as kaisar_primitives::WorkerVerdicts<u64>>::maturity_paused(worker)
}

fn concluded(result: RecheckResult) -> bool {
    System::events().iter().any(|r| {
        matches!(
            &r.event,
            RuntimeEvent::PopwAttestations(Event::RecheckConcluded { result: got, .. })
                if *got == result
        )
    })
}

#[test]
fn contest_overturning_a_pass_returns_the_bond_slashes_the_majority_and_suspends() {
    escalation_builder().build_and_execute(|| {
        let first = run_check(0, WORKER, &[pass(900), pass(900), pass(900)]);
        assert_eq!(MockRegistry::status(WORKER), Some(WorkerStatus::Active));
        assert_ok!(PopwAttestations::contest(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        assert_eq!(held(STRANGER), CONTEST_BOND);
        assert_eq!(Rechecks::<Test>::get(WORKER).unwrap().epoch, 1);
        assert!(paused(WORKER));

        let fresh = run_recheck(WORKER, |_| wrong());
        // Fresh: none of the contested check's slots.
        assert!(fresh.iter().all(|s| !first.contains(s)));
        assert!(fresh.len() <= RECHECK as usize);
        assert!(concluded(RecheckResult::Upheld));
        // The contester is right: bond back, the passing majority slashed, worker suspended.
        assert_eq!(held(STRANGER), 0);
        assert_eq!(free(STRANGER), ENDOWMENT);
        for (slot, _) in &first {
            let license = slot; // licenses equal slot indices in the builder
            assert_eq!(PopwAttestations::slashes(1, *license), 1);
        }
        assert_eq!(MockRegistry::status(WORKER), Some(WorkerStatus::Suspended));
        assert!(!paused(WORKER));
        assert!(Rechecks::<Test>::get(WORKER).is_none());
        // The re-check's slots agreed with its verdict.
        for (slot, _) in &fresh {
            assert_eq!(tally(1, *slot).agreed, 1);
        }
    });
}

#[test]
fn contest_confirmed_by_the_recheck_forfeits_the_bond_to_the_pot() {
    escalation_builder().build_and_execute(|| {
        run_check(0, WORKER, &[pass(900), pass(900), pass(900)]);
        assert_ok!(PopwAttestations::contest(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        run_recheck(WORKER, |_| pass(1_000));
        assert!(concluded(RecheckResult::Rejected));
        assert_eq!(held(STRANGER), 0);
        assert_eq!(free(STRANGER), ENDOWMENT - CONTEST_BOND);
        assert_eq!(free(POT), CONTEST_BOND);
        assert_eq!(Slashes::<Test>::iter().count(), 0);
        assert_eq!(MockRegistry::status(WORKER), Some(WorkerStatus::Active));
        // The re-check is a passing verdict of its epoch: payments mature up to it.
        let state = WorkerStates::<Test>::get(WORKER).unwrap();
        assert_eq!(state.last_passed, Some(1));
        assert_eq!(state.throughput_gops, Some(1_000));
        // The verdict was settled: it cannot be contested again.
        assert_noop!(
            PopwAttestations::contest(RuntimeOrigin::signed(STRANGER), WORKER),
            E::NoVerdictToContest
        );
    });
}

#[test]
fn contest_overturning_a_failure_clears_it_and_slashes_the_failing_votes() {
    escalation_builder()
        .workers([(2, PROVIDER, AGENT, WorkerStatus::Active)])
        .build_and_execute(|| {
            let first = run_check(0, 2, &[pass(900), wrong(), wrong()]);
            assert_eq!(
                WorkerStates::<Test>::get(2).unwrap().consecutive_failures,
                1
            );
            assert_eq!(failed_verdict_hook_calls(), vec![2]);
            assert_ok!(PopwAttestations::contest(
                RuntimeOrigin::signed(PROVIDER),
                2
            ));
            run_recheck(2, |_| pass(1_000));
            assert!(concluded(RecheckResult::Upheld));
            assert_eq!(free(PROVIDER), ENDOWMENT);
            // The two failing votes were the overturned majority; the passing one was right.
            assert_eq!(PopwAttestations::slashes(1, first[0].0), 0);
            assert_eq!(PopwAttestations::slashes(1, first[1].0), 1);
            assert_eq!(PopwAttestations::slashes(1, first[2].0), 1);
            let state = WorkerStates::<Test>::get(2).unwrap();
            assert_eq!(state.consecutive_failures, 0);
            assert_eq!(MockRegistry::status(2), Some(WorkerStatus::Active));
        });
}

#[test]
fn contests_need_a_verdict_in_its_window_one_at_a_time_and_a_bond() {
    escalation_builder().build_and_execute(|| {
        assert_noop!(
            PopwAttestations::contest(RuntimeOrigin::signed(STRANGER), WORKER),
            E::NoVerdictToContest
        );
        assert_noop!(
            PopwAttestations::contest(RuntimeOrigin::none(), WORKER),
            sp_runtime::DispatchError::BadOrigin
        );
        run_check(0, WORKER, &[pass(900), pass(900), pass(900)]);
        // Someone who cannot hold the bond.
        assert_noop!(
            PopwAttestations::contest(RuntimeOrigin::signed(4_242), WORKER),
            E::InsufficientBond
        );
        // Still contestable in the next epoch, not after.
        run_to_block(start(1) + 1);
        assert_ok!(PopwAttestations::contest(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        assert_noop!(
            PopwAttestations::contest(RuntimeOrigin::signed(OWNER0), WORKER),
            E::RecheckPending
        );
        assert_eq!(Rechecks::<Test>::get(WORKER).unwrap().epoch, 2);
    });
    escalation_builder().build_and_execute(|| {
        run_check(0, WORKER, &[pass(900), pass(900), pass(900)]);
        run_to_block(start(2));
        assert_noop!(
            PopwAttestations::contest(RuntimeOrigin::signed(STRANGER), WORKER),
            E::ContestWindowClosed
        );
    });
}

#[test]
fn dispute_passed_pays_the_bond_to_the_provider_and_refunds_nothing() {
    escalation_builder()
        .workers([(2, PROVIDER, AGENT, WorkerStatus::Active)])
        .build_and_execute(|| {
            set_running(7, Some((USER, 2)));
            assert_ok!(PopwAttestations::dispute(RuntimeOrigin::signed(USER), 7));
            assert_eq!(held(USER), DISPUTE_BOND);
            assert!(paused(2));
            run_recheck(2, |_| pass(800));
            assert!(concluded(RecheckResult::Rejected));
            assert_eq!(free(USER), ENDOWMENT - DISPUTE_BOND);
            assert_eq!(free(PROVIDER), ENDOWMENT + DISPUTE_BOND);
            assert!(failed_verdict_hook_calls().is_empty());
            assert_eq!(MockRegistry::status(2), Some(WorkerStatus::Active));
            assert!(!paused(2));
            assert_eq!(WorkerStates::<Test>::get(2).unwrap().last_passed, Some(1));
        });
}

#[test]
fn dispute_failed_returns_the_bond_and_suspends_the_worker_at_once() {
    escalation_builder()
        .workers([(2, PROVIDER, AGENT, WorkerStatus::Active)])
        .build_and_execute(|| {
            set_running(7, Some((USER, 2)));
            assert_ok!(PopwAttestations::dispute(RuntimeOrigin::signed(USER), 7));
            // A majority fails it, one slot passes.
            run_recheck(2, |i| if i == 0 { pass(800) } else { wrong() });
            assert!(concluded(RecheckResult::Upheld));
            assert_eq!(free(USER), ENDOWMENT);
            assert_eq!(held(USER), 0);
            // Suspended by one re-check (the suspension refunds the worker's orders).
            assert_eq!(MockRegistry::status(2), Some(WorkerStatus::Suspended));
            assert!(MockRegistry::verifications().contains(&(2, "suspend")));
            // A dispute slashes nobody.
            assert_eq!(Slashes::<Test>::iter().count(), 0);
        });
}

#[test]
fn disputes_need_the_users_running_order_and_one_recheck_at_a_time() {
    escalation_builder()
        .workers([(2, PROVIDER, AGENT, WorkerStatus::Active)])
        .build_and_execute(|| {
            assert_noop!(
                PopwAttestations::dispute(RuntimeOrigin::signed(USER), 7),
                E::OrderNotRunning
            );
            set_running(7, Some((USER, 2)));
            assert_noop!(
                PopwAttestations::dispute(RuntimeOrigin::signed(STRANGER), 7),
                E::NotOrderUser
            );
            assert_ok!(PopwAttestations::dispute(RuntimeOrigin::signed(USER), 7));
            // Replay, or another order on the same worker: one re-check at a time.
            assert_noop!(
                PopwAttestations::dispute(RuntimeOrigin::signed(USER), 7),
                E::RecheckPending
            );
            set_running(8, Some((STRANGER, 2)));
            assert_noop!(
                PopwAttestations::dispute(RuntimeOrigin::signed(STRANGER), 8),
                E::RecheckPending
            );
            // The worker cannot be forgotten while re-checked.
            MockRegistry::remove(2);
            WorkerStates::<Test>::insert(2, WorkerCheckState::default());
            assert_noop!(
                PopwAttestations::forget_worker(RuntimeOrigin::signed(STRANGER), 2),
                E::WorkerStillRegistered
            );
            // A worker gone before its re-check: nothing to draw, the re-check is void.
            run_to_block(start(1) + COMMIT + SEAL + REVEAL);
            assert_ok!(PopwAttestations::finalize_recheck(
                RuntimeOrigin::signed(STRANGER),
                2
            ));
            assert!(concluded(RecheckResult::Void));
            assert_eq!(free(USER), ENDOWMENT);
            WorkerStates::<Test>::remove(2);
        });
}

#[test]
fn silent_recheck_is_void_and_returns_the_bond_after_its_reveal_deadline() {
    escalation_builder().build_and_execute(|| {
        run_check(0, WORKER, &[pass(900), pass(900), pass(900)]);
        assert_ok!(PopwAttestations::contest(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        run_to_block(start(1) + COMMIT + SEAL + REVEAL - 1);
        assert_noop!(
            PopwAttestations::finalize_recheck(RuntimeOrigin::signed(STRANGER), WORKER),
            E::TooEarly
        );
        run_to_block(start(1) + COMMIT + SEAL + REVEAL);
        assert_ok!(PopwAttestations::finalize_recheck(
            RuntimeOrigin::signed(OWNER0),
            WORKER
        ));
        assert!(concluded(RecheckResult::Void));
        assert_eq!(free(STRANGER), ENDOWMENT);
        assert_eq!(MockRegistry::status(WORKER), Some(WorkerStatus::Active));
        assert_noop!(
            PopwAttestations::finalize_recheck(RuntimeOrigin::signed(OWNER0), WORKER),
            E::NoRecheck
        );
    });
}

#[test]
fn recheck_calls_check_epoch_caller_window_and_replay() {
    escalation_builder().build_and_execute(|| {
        let first = run_check(0, WORKER, &[pass(900), pass(900), pass(900)]);
        assert_noop!(
            PopwAttestations::commit_recheck_nonce(RuntimeOrigin::signed(OP0), WORKER, 0, [1; 32]),
            E::NoRecheck
        );
        assert_ok!(PopwAttestations::contest(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        // Before its epoch.
        let (s0, op0) = recheck_slots(WORKER).first().copied().unwrap_or((0, OP0));
        assert_noop!(
            PopwAttestations::commit_recheck_nonce(RuntimeOrigin::signed(op0), WORKER, s0, [1; 32]),
            E::WrongEpoch
        );
        run_to_block(start(1));
        let slots = recheck_slots(WORKER);
        let (s0, op0) = slots[0];
        // A slot of the contested check is not drawn again.
        let (old_slot, old_op) = first[0];
        assert_noop!(
            PopwAttestations::commit_recheck_nonce(
                RuntimeOrigin::signed(old_op),
                WORKER,
                old_slot,
                [1; 32]
            ),
            E::NotAssigned
        );
        // Only the slot's operator.
        assert_noop!(
            PopwAttestations::commit_recheck_nonce(
                RuntimeOrigin::signed(STRANGER),
                WORKER,
                s0,
                [1; 32]
            ),
            E::NotSlotOperator
        );
        assert_ok!(PopwAttestations::commit_recheck_nonce(
            RuntimeOrigin::signed(op0),
            WORKER,
            s0,
            nonce_commitment(&recheck_nonce(s0))
        ));
        assert_noop!(
            PopwAttestations::commit_recheck_nonce(RuntimeOrigin::signed(op0), WORKER, s0, [2; 32]),
            E::AlreadyCommitted
        );
        let (s1, op1) = slots[1];
        assert_noop!(
            PopwAttestations::commit_recheck_nonce(
                RuntimeOrigin::signed(op1),
                WORKER,
                s1,
                nonce_commitment(&recheck_nonce(s0))
            ),
            E::NonceReused
        );
        // Sealing before the commit window closed, and committing after.
        assert_noop!(
            PopwAttestations::seal_recheck(RuntimeOrigin::signed(op0), WORKER, s0, [3; 32]),
            E::SealWindowNotOpen
        );
        run_to_block(start(1) + COMMIT);
        assert_noop!(
            PopwAttestations::commit_recheck_nonce(RuntimeOrigin::signed(op1), WORKER, s1, [4; 32]),
            E::CommitWindowClosed
        );
        assert_noop!(
            PopwAttestations::seal_recheck(RuntimeOrigin::signed(op1), WORKER, s1, [3; 32]),
            E::NotCommitted
        );
        let a = attestation(1, WORKER, op0, recheck_nonce(s0), CheckVerdict::Pass, 900);
        assert_ok!(PopwAttestations::seal_recheck(
            RuntimeOrigin::signed(op0),
            WORKER,
            s0,
            seal_of(&a, &salt(s0))
        ));
        // A copied seal-less reveal and an early reveal are refused.
        run_to_block(start(1) + COMMIT + SEAL);
        assert_noop!(
            PopwAttestations::reveal_recheck(RuntimeOrigin::signed(op1), WORKER, s1, a, salt(s0)),
            E::NotSealed
        );
        let mut forged = a;
        forged.verdict = CheckVerdict::Wrong;
        assert_noop!(
            PopwAttestations::reveal_recheck(
                RuntimeOrigin::signed(op0),
                WORKER,
                s0,
                forged,
                salt(s0)
            ),
            E::SealMismatch
        );
        assert_ok!(PopwAttestations::reveal_recheck(
            RuntimeOrigin::signed(op0),
            WORKER,
            s0,
            a,
            salt(s0)
        ));
        assert_noop!(
            PopwAttestations::reveal_recheck(RuntimeOrigin::signed(op0), WORKER, s0, a, salt(s0)),
            E::AlreadyRevealed
        );
        // One pass out of the drawn slots: the re-check fails the worker at the deadline.
        run_to_block(start(1) + COMMIT + SEAL + REVEAL);
        assert_ok!(PopwAttestations::finalize_recheck(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        assert!(concluded(RecheckResult::Upheld));
        assert_eq!(tally(1, s0).agreed, 0);
        assert_eq!(tally(1, s1).silent, 1);
    });
}

#[test]
fn slashes_are_pruned_with_their_epochs_tallies_and_consumed_with_them() {
    escalation_builder().build_and_execute(|| {
        let first = run_check(0, WORKER, &[pass(900), pass(900), pass(900)]);
        assert_ok!(PopwAttestations::contest(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        run_recheck(WORKER, |_| wrong());
        let license = first[0].0;
        assert_eq!(PopwAttestations::slashes(1, license), 1);
        let _ = PopwAttestations::take_performance(1, license);
        assert_eq!(PopwAttestations::slashes(1, license), 0);
        assert!(Slashes::<Test>::iter().count() > 0);
        run_to_block(start(1 + TALLY_HISTORY + 2));
        assert_eq!(Slashes::<Test>::iter().count(), 0);
        assert!(TallyPruneEpoch::<Test>::get() > 1);
    });
}

#[test]
fn runtime_api_lists_an_operators_recheck_slots_before_and_after_the_draw() {
    escalation_builder().build_and_execute(|| {
        run_check(0, WORKER, &[pass(900), pass(900), pass(900)]);
        assert_ok!(PopwAttestations::contest(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        // Not drawable before its epoch.
        assert!((0..12u64).all(|i| PopwAttestations::recheck_assignments_of(&(OP0 + i)).is_empty()));
        run_to_block(start(1));
        let slots = recheck_slots(WORKER);
        let listed = |op: AccountId| PopwAttestations::recheck_assignments_of(&op);
        for (slot, op) in &slots {
            let got = listed(*op);
            assert_eq!(got.len(), 1);
            assert_eq!((got[0].0, got[0].1, got[0].2.slot), (WORKER, 1, *slot));
        }
        // The same after the first commitment fixed them.
        let (s0, op0) = slots[0];
        assert_ok!(PopwAttestations::commit_recheck_nonce(
            RuntimeOrigin::signed(op0),
            WORKER,
            s0,
            nonce_commitment(&recheck_nonce(s0))
        ));
        for (slot, op) in &slots {
            assert_eq!(listed(*op)[0].2.slot, *slot);
        }
        let total: usize = (0..12u64).map(|i| listed(OP0 + i).len()).sum();
        assert_eq!(total, slots.len());
    });
}

#[test]
fn verdicts_work_canaries_and_slashes_are_told_to_the_rewards() {
    escalation_builder().build_and_execute(|| {
        let slots = run_check(0, WORKER, &[pass(900), pass(900), wrong()]);
        let told = accruals();
        // The two agreeing slots worked; the minority did not.
        for (slot, op) in &slots[..2] {
            assert!(told.contains(&format!("agreed 0 {slot} {op}")), "{told:?}");
        }
        assert!(!told
            .iter()
            .any(|t| t.starts_with(&format!("agreed 0 {} ", slots[2].0))));
        assert!(told.contains(&format!("passed {WORKER} {PROVIDER} 900")));
        // A contest overturns it: the passing majority is slashed, the failure is told.
        assert_ok!(PopwAttestations::contest(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        run_recheck(WORKER, |_| wrong());
        let told = accruals();
        // Told against the overturned verdict's epoch.
        for (slot, _) in &slots[..2] {
            assert!(told.contains(&format!("slashed 0 {slot}")), "{told:?}");
        }
        assert!(told.contains(&format!("failed {WORKER}")));
    });
}

#[test]
fn a_recheck_reveal_after_its_reveal_deadline_is_refused() {
    escalation_builder().build_and_execute(|| {
        run_check(0, WORKER, &[pass(900), pass(900), pass(900)]);
        assert_ok!(PopwAttestations::contest(
            RuntimeOrigin::signed(STRANGER),
            WORKER
        ));
        run_to_block(start(1));
        let slots = recheck_slots(WORKER);
        for (slot, op) in &slots {
            assert_ok!(PopwAttestations::commit_recheck_nonce(
                RuntimeOrigin::signed(*op),
                WORKER,
                *slot,
                nonce_commitment(&recheck_nonce(*slot))
            ));
        }
        run_to_block(start(1) + COMMIT);
        let (s0, op0) = slots[0];
        let a = attestation(1, WORKER, op0, recheck_nonce(s0), CheckVerdict::Pass, 900);
        assert_ok!(PopwAttestations::seal_recheck(
            RuntimeOrigin::signed(op0),
            WORKER,
            s0,
            seal_of(&a, &salt(s0))
        ));
        run_to_block(start(1) + COMMIT + SEAL + REVEAL);
        assert_noop!(
            PopwAttestations::reveal_recheck(RuntimeOrigin::signed(op0), WORKER, s0, a, salt(s0)),
            E::RevealWindowClosed
        );
    });
}
