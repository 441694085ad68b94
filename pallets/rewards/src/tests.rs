//! Mock-runtime tests, one behaviour each (every `build_and_execute` runs `try_state` after).
//! The numbers of `hand_computed_era_matches_docs_rewards_md` are worked out in
//! `docs/rewards.md`.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use kaisar_primitives::RewardAccrual;
use sp_runtime::Perbill;

type E = Error<Test>;

const P1: AccountId = 1;
const P2: AccountId = 2;
const P3: AccountId = 3;
const W1: u64 = 11;
const W2: u64 = 12;
const W3: u64 = 13;
const A1: AccountId = 21;
const A2: AccountId = 22;
const A3: AccountId = 23;
const O1: AccountId = 31;
const R: AccountId = 40;

fn free(who: AccountId) -> Balance {
    Balances::free_balance(who)
}

fn held_on_pot() -> Balance {
    Balances::balance_on_hold(&HoldReason::EraBudget.into(), &Rewards::pot())
}

fn claim(
    who: AccountId,
    era: RewardEra,
    b: Beneficiary,
) -> sp_runtime::DispatchResultWithInfo<frame_support::dispatch::PostDispatchInfo> {
    Rewards::claim(RuntimeOrigin::signed(who), era, b)
}

/// The era-0 activity of `docs/rewards.md`.
fn era_zero() {
    set_owner(1, A1);
    set_owner(2, A2);
    set_owner(3, A3);
    set_slots(&[
        (1, O1, Perbill::from_percent(10)),
        (2, A2, Perbill::zero()),
        (3, A3, Perbill::zero()),
    ]);
    // Providers.
    Rewards::worker_passed(W1, &P1, 900);
    Rewards::worker_passed(W1, &P1, 1_100);
    Rewards::usage_delivered(W1, &P1, 300);
    Rewards::worker_passed(W2, &P2, 1_000);
    Rewards::usage_delivered(W2, &P2, 100);
    Rewards::worker_passed(W3, &P3, 500);
    Rewards::usage_delivered(W3, &P3, 50);
    Rewards::worker_failed(W3);
    // Checkers: L1 10 agreed, 4 canaries with 1 error; L2 10 agreed, slashed once; L3 5
    // agreed, 2 canaries both wrong.
    for _ in 0..10 {
        Rewards::checker_agreed(0, 1, &O1);
        Rewards::checker_agreed(1, 2, &A2);
    }
    for _ in 0..5 {
        Rewards::checker_agreed(1, 3, &A3);
    }
    for erred in [true, false, false, false] {
        Rewards::canary_scored(0, 1, erred);
    }
    Rewards::vote_slashed(1, 2);
    Rewards::canary_scored(1, 3, true);
    Rewards::canary_scored(1, 3, true);
}

#[test]
fn hand_computed_era_matches_docs_rewards_md() {
    ExtBuilder::default().build_and_execute(|| {
        era_zero();
        let totals = EraTotalsOf::<Test>::get(0);
        assert_eq!(totals.poc, 3_000);
        assert_eq!(totals.pod, 400);
        assert_eq!(totals.checker, 12_000_000_000);
        assert_noop!(
            Rewards::close_era(RuntimeOrigin::signed(P1), 0),
            E::EraNotFinished
        );
        run_to_block(start(3));
        assert_ok!(Rewards::close_era(RuntimeOrigin::signed(P1), 0));
        let b = EraBudgets::<Test>::get(0).unwrap();
        assert_eq!(
            (b.poc_pool, b.pod_pool, b.checker_pool, b.held),
            (200, 300, 500, 1_100)
        );
        assert_eq!(held_on_pot(), 1_100);
        let grant = |x| Rewards::grant_of(0, &b, x).unwrap().0;
        assert_eq!(grant(Beneficiary::Provider(W1)), 133 + 225);
        assert_eq!(grant(Beneficiary::Provider(W2)), 66 + 75);
        assert_eq!(grant(Beneficiary::Provider(W3)), 0);
        assert_eq!(grant(Beneficiary::LicenseOwner(1)), 280);
        assert_eq!(grant(Beneficiary::LicenseOperator(1)), 31);
        assert_eq!(grant(Beneficiary::LicenseOwner(2)), 187);
        assert_eq!(grant(Beneficiary::LicenseOperator(2)), 0);
        assert_eq!(grant(Beneficiary::LicenseOwner(3)), 0);
        assert_noop!(
            Rewards::close_era(RuntimeOrigin::signed(P1), 0),
            E::EraClosed
        );
    });
}

#[test]
fn vesting_pays_linearly_before_at_and_after_the_unlock_period_with_partial_claims() {
    ExtBuilder::default().build_and_execute(|| {
        era_zero();
        let closed = start(3);
        run_to_block(closed);
        // The first claim closes the era; nothing vested yet at its close.
        assert_noop!(claim(P1, 0, Beneficiary::Provider(W1)), E::NothingToClaim);
        assert_ok!(Rewards::close_era(RuntimeOrigin::signed(P2), 0));
        let p1 = free(P1);
        run_to_block(closed + UNLOCK / 4);
        assert_ok!(claim(P1, 0, Beneficiary::Provider(W1)));
        assert_eq!(free(P1), p1 + 358 / 4); // 89
        assert_noop!(claim(P1, 0, Beneficiary::Provider(W1)), E::NothingToClaim);
        run_to_block(closed + UNLOCK / 2);
        assert_ok!(claim(P1, 0, Beneficiary::Provider(W1)));
        assert_eq!(free(P1), p1 + 179);
        // At and after the period: all of it, once.
        run_to_block(closed + UNLOCK);
        assert_ok!(claim(P1, 0, Beneficiary::Provider(W1)));
        assert_eq!(free(P1), p1 + 358);
        run_to_block(closed + 3 * UNLOCK);
        assert_noop!(claim(P1, 0, Beneficiary::Provider(W1)), E::NothingEarned);
        // Paid in full: the record is gone.
        assert!(ProviderScores::<Test>::get(0, W1).is_none());
        // Nobody else's share moved; unclaimed rewards stay claimable long after.
        run_to_block(closed + 50 * UNLOCK);
        let p2 = free(P2);
        assert_ok!(claim(P2, 0, Beneficiary::Provider(W2)));
        assert_eq!(free(P2), p2 + 141);
    });
}

#[test]
fn an_empty_pot_scales_every_reward_down_pro_rata_and_is_never_overdrawn() {
    // The pot can spend 549 of the 1100 budget (one unit stays as its existential deposit).
    ExtBuilder::default().pot(550).build_and_execute(|| {
        era_zero();
        run_to_block(start(3));
        assert_ok!(Rewards::close_era(RuntimeOrigin::signed(P1), 0));
        let b = EraBudgets::<Test>::get(0).unwrap();
        // base = 549 / 1.1 = 499: provider 249 (poc 99, pod 150), checker 250.
        assert_eq!((b.poc_pool, b.pod_pool, b.checker_pool), (99, 150, 250));
        assert!(b.held <= 549);
        assert!(System::events().iter().any(|r| matches!(
            r.event,
            RuntimeEvent::Rewards(Event::EraClosed {
                scaled_down: true,
                ..
            })
        )));
        run_to_block(start(3) + UNLOCK);
        for (who, b) in [
            (P1, Beneficiary::Provider(W1)),
            (P2, Beneficiary::Provider(W2)),
            (A1, Beneficiary::LicenseOwner(1)),
            (O1, Beneficiary::LicenseOperator(1)),
            (A2, Beneficiary::LicenseOwner(2)),
        ] {
            assert_ok!(claim(who, 0, b));
        }
        // Every grant paid, the pot kept its existential deposit plus the rounding.
        assert!(free(Rewards::pot()) >= 1);
        let spent = EraBudgets::<Test>::get(0).unwrap().spent;
        assert!(spent <= b.held);
        // The next era: nothing left to budget, nothing held.
        Rewards::worker_passed(W1, &P1, 100);
        run_to_block(start(6));
        assert_ok!(Rewards::close_era(RuntimeOrigin::signed(P1), 1));
        assert_eq!(EraBudgets::<Test>::get(1).unwrap().held, 0);
    });
}

#[test]
fn referral_shares_pay_the_referrer_from_the_pot_one_level_and_never_self() {
    ExtBuilder::default().build_and_execute(|| {
        era_zero();
        set_referrer(A1, R);
        // A chain: R was referred by A2; A2 earns nothing from A1's rewards.
        set_referrer(R, A2);
        // Self-referral is ignored.
        set_referrer(A2, A2);
        run_to_block(start(3) + UNLOCK);
        assert_ok!(Rewards::close_era(RuntimeOrigin::signed(P1), 0));
        let (r, a2) = (free(R), free(A2));
        let pot_free = free(Rewards::pot());
        assert_ok!(claim(A1, 0, Beneficiary::LicenseOwner(1)));
        assert_eq!(free(R), r + 28, "10% of 280, paid on top");
        assert_eq!(free(A1), 100 + 280, "the referee keeps all of its reward");
        assert_eq!(free(A2), a2, "no second level");
        assert!(System::events().iter().any(|e| matches!(
            e.event,
            RuntimeEvent::Rewards(Event::ReferralPaid {
                referrer: R,
                referee: A1,
                amount: 28,
                ..
            })
        )));
        // A2 referred itself: its share goes back to the pot's free balance.
        assert_ok!(claim(A2, 0, Beneficiary::LicenseOwner(2)));
        assert_eq!(free(A2), a2 + 187);
        assert_eq!(free(Rewards::pot()), pot_free + 18);
    });
}

#[test]
fn commission_splits_the_license_reward_with_rounding_in_the_pots_favour() {
    ExtBuilder::default().build_and_execute(|| {
        set_owner(7, A1);
        set_slots(&[(7, O1, Perbill::from_percent(33))]);
        Rewards::checker_agreed(0, 7, &O1);
        Rewards::worker_passed(W1, &P1, 1);
        run_to_block(start(3) + UNLOCK);
        assert_ok!(claim(O1, 0, Beneficiary::LicenseOperator(7)));
        assert_ok!(claim(A1, 0, Beneficiary::LicenseOwner(7)));
        let b = EraBudgets::<Test>::get(0).unwrap();
        // The whole checker pool (500) to the one license: 33% is 165, the owner 335.
        assert_eq!(b.checker_pool, 500);
        assert_eq!(free(O1), 100 + 165);
        assert_eq!(free(A1), 100 + 335);
        // Callers: the owner cannot claim the operator's part, nor the reverse.
        assert!(CheckerScores::<Test>::get(0, 7).is_none(), "paid in full");
    });
    ExtBuilder::default().build_and_execute(|| {
        set_owner(7, A1);
        set_slots(&[(7, O1, Perbill::from_rational(1u32, 3u32))]);
        for _ in 0..3 {
            Rewards::checker_agreed(0, 7, &O1);
        }
        run_to_block(start(3) + UNLOCK);
        assert_noop!(
            claim(A1, 0, Beneficiary::LicenseOperator(7)),
            E::NotBeneficiary
        );
        assert_noop!(
            claim(O1, 0, Beneficiary::LicenseOwner(7)),
            E::NotBeneficiary
        );
        assert_ok!(claim(O1, 0, Beneficiary::LicenseOperator(7)));
        assert_ok!(claim(A1, 0, Beneficiary::LicenseOwner(7)));
        // 500 x 1/3 = 166.67 -> 166 and 500 x 2/3 = 333.33 -> 333: one unit stays in the pot.
        assert_eq!(free(O1) + free(A1), 200 + 499);
    });
}

#[test]
fn slashed_minority_silent_and_failed_parties_earn_nothing_or_less() {
    ExtBuilder::default().build_and_execute(|| {
        era_zero();
        run_to_block(start(3) + UNLOCK);
        // L3: every canary wrong: nothing.
        assert_noop!(claim(A3, 0, Beneficiary::LicenseOwner(3)), E::NothingEarned);
        // W3 failed a verdict in the era: nothing, though it passed and delivered before.
        assert_noop!(claim(P3, 0, Beneficiary::Provider(W3)), E::NothingEarned);
        // A slot that never agreed (minority or silent) has no record at all.
        assert_noop!(
            claim(A1, 0, Beneficiary::LicenseOwner(99)),
            E::NothingEarned
        );
        // L2 was slashed once: the overturned agreement is no work, and half of the rest
        // counts (9 x 50% = 4.5 against L1's 7.5: 187 of the 500).
        assert_ok!(claim(A2, 0, Beneficiary::LicenseOwner(2)));
        assert_eq!(free(A2), 100 + 187);
    });
}

#[test]
fn a_failed_worker_earns_nothing_more_in_the_era_but_does_in_the_next() {
    ExtBuilder::default().build_and_execute(|| {
        Rewards::worker_passed(W1, &P1, 100);
        Rewards::worker_failed(W1);
        Rewards::worker_passed(W1, &P1, 100);
        Rewards::usage_delivered(W1, &P1, 100);
        assert_eq!(EraTotalsOf::<Test>::get(0), EraTotals::default());
        run_to_block(start(2));
        Rewards::worker_passed(W1, &P1, 100);
        assert_eq!(EraTotalsOf::<Test>::get(1).poc, 100);
    });
}

#[test]
fn late_events_for_a_final_era_change_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        set_slots(&[(1, O1, Perbill::zero())]);
        Rewards::checker_agreed(0, 1, &O1);
        run_to_block(start(3));
        // Past the era's finality: a late finalization of an old check does not count.
        Rewards::checker_agreed(1, 1, &O1);
        Rewards::canary_scored(1, 1, true);
        Rewards::vote_slashed(0, 1);
        assert_eq!(CheckerScores::<Test>::get(0, 1).unwrap().agreed, 1);
        assert_eq!(CheckerScores::<Test>::get(0, 1).unwrap().slashes, 0);
        assert_eq!(EraTotalsOf::<Test>::get(0).checker, 1_000_000_000);
        assert_ok!(Rewards::close_era(RuntimeOrigin::signed(O1), 0));
        Rewards::checker_agreed(1, 1, &O1);
        assert!(EraTotalsOf::<Test>::get(0) == EraTotals::default());
    });
}

#[test]
fn claims_check_the_caller_the_era_and_replay() {
    ExtBuilder::default().build_and_execute(|| {
        era_zero();
        assert_noop!(claim(P1, 0, Beneficiary::Provider(W1)), E::EraNotFinished);
        assert_noop!(
            Rewards::claim(RuntimeOrigin::none(), 0, Beneficiary::Provider(W1)),
            sp_runtime::DispatchError::BadOrigin
        );
        run_to_block(start(3) + UNLOCK);
        assert_noop!(claim(P2, 0, Beneficiary::Provider(W1)), E::NotBeneficiary);
        assert_noop!(claim(P1, 7, Beneficiary::Provider(W1)), E::EraNotFinished);
        assert_ok!(claim(P1, 0, Beneficiary::Provider(W1)));
        // Replay: paid in full, nothing more.
        assert_noop!(claim(P1, 0, Beneficiary::Provider(W1)), E::NothingEarned);
        // The license's owner share follows the NFT: a new owner claims it.
        set_owner(1, A3);
        assert_noop!(
            claim(A1, 0, Beneficiary::LicenseOwner(1)),
            E::NotBeneficiary
        );
        assert_ok!(claim(A3, 0, Beneficiary::LicenseOwner(1)));
    });
}

fn drop_record(
    era: RewardEra,
    b: Beneficiary,
) -> sp_runtime::DispatchResultWithInfo<frame_support::dispatch::PostDispatchInfo> {
    Rewards::drop_record(RuntimeOrigin::signed(R), era, b)
}

#[test]
fn records_owing_nothing_are_dropped_by_anyone_and_owed_ones_are_kept() {
    ExtBuilder::default().build_and_execute(|| {
        era_zero();
        // Not before the era is over.
        assert_noop!(drop_record(0, Beneficiary::Provider(W3)), E::EraNotFinished);
        assert_noop!(
            Rewards::drop_record(RuntimeOrigin::none(), 0, Beneficiary::Provider(W3)),
            sp_runtime::DispatchError::BadOrigin
        );
        // Half vested: P2 claims half of its grant.
        run_to_block(start(3) + UNLOCK / 2);
        assert_ok!(claim(P2, 0, Beneficiary::Provider(W2)));
        let held = held_on_pot();
        let budget = EraBudgets::<Test>::get(0).unwrap();
        // W3 failed a verdict in the era (a zero grant): anyone removes its record.
        assert_ok!(drop_record(0, Beneficiary::Provider(W3)));
        assert!(ProviderScores::<Test>::get(0, W3).is_none());
        System::assert_last_event(
            Event::RecordDropped {
                era: 0,
                record: Beneficiary::Provider(W3),
            }
            .into(),
        );
        // L3's canaries were all wrong (a zero score): either license variant names it.
        assert_ok!(drop_record(0, Beneficiary::LicenseOperator(3)));
        assert!(CheckerScores::<Test>::get(0, 3).is_none());
        // No funds move: nothing was held for them.
        assert_eq!(held_on_pot(), held);
        assert_eq!(EraBudgets::<Test>::get(0).unwrap(), budget);
        // Owed grants stay, untouched or partly paid; the owner's part of L1 keeps the
        // license's record whatever the variant.
        assert_noop!(drop_record(0, Beneficiary::Provider(W1)), E::StillOwed);
        assert_noop!(drop_record(0, Beneficiary::Provider(W2)), E::StillOwed);
        assert_noop!(
            drop_record(0, Beneficiary::LicenseOperator(1)),
            E::StillOwed
        );
        // Replay, and records that never were.
        assert_noop!(drop_record(0, Beneficiary::Provider(W3)), E::NothingEarned);
        assert_noop!(
            drop_record(0, Beneficiary::LicenseOwner(99)),
            E::NothingEarned
        );
        // Their beneficiaries still claim the rest in full.
        run_to_block(start(3) + UNLOCK);
        assert_ok!(claim(P1, 0, Beneficiary::Provider(W1)));
        assert_ok!(claim(P2, 0, Beneficiary::Provider(W2)));
        assert!(ProviderScores::<Test>::get(0, W1).is_none());
        assert_noop!(drop_record(0, Beneficiary::Provider(W1)), E::NothingEarned);
    });
}

#[test]
fn dropping_a_record_closes_the_era_first_when_nobody_has() {
    ExtBuilder::default().build_and_execute(|| {
        era_zero();
        run_to_block(start(3));
        assert_ok!(drop_record(0, Beneficiary::Provider(W3)));
        assert!(EraBudgets::<Test>::get(0).is_some());
        assert!(held_on_pot() > 0);
    });
}

#[test]
fn an_era_nobody_earned_in_takes_nothing_from_the_pot() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(start(3));
        assert_ok!(Rewards::close_era(RuntimeOrigin::signed(P1), 0));
        assert_eq!(EraBudgets::<Test>::get(0).unwrap().held, 0);
        assert_eq!(held_on_pot(), 0);
        assert_eq!(free(Rewards::pot()), POT_FUNDS);
    });
}

#[test]
fn runtime_api_lists_a_partys_grants_with_the_formulas_terms() {
    ExtBuilder::default().build_and_execute(|| {
        era_zero();
        set_owner(2, A2);
        let open = Rewards::rewards_of(&A2, 0, 0);
        assert_eq!(open.len(), 2, "owner and operator lines of license 2");
        assert!(!open[0].closed);
        run_to_block(start(3) + UNLOCK / 2);
        assert_ok!(Rewards::close_era(RuntimeOrigin::signed(P1), 0));
        let lines = Rewards::rewards_of(&P1, 0, 5);
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(l.beneficiary, Beneficiary::Provider(W1));
        assert_eq!(l.terms, vec![2_000, 300]);
        assert_eq!((l.grant, l.vested, l.paid, l.claimable), (358, 179, 0, 179));
    });
}

/// 10,000 workers and 1,000 slots over several eras: accrual and claims are O(1) each (no hook
/// iterates), the totals add up, nothing is paid beyond the budgets, and try_state holds.
#[test]
fn scale_10k_workers_1k_slots_over_several_eras_pays_within_budget() {
    ExtBuilder::default().pot(10_000_000).build_and_execute(|| {
        let slots: Vec<_> = (0..1_000u32)
            .map(|l| (l, 1_000 + l as u64, Perbill::from_percent(5)))
            .collect();
        for l in 0..1_000u32 {
            set_owner(l, 1_000 + l as u64);
        }
        set_slots(&slots);
        let pot_before = free(Rewards::pot());
        let mut paid: Balance = 0;
        for era in 0..3u32 {
            run_to_block(start(era * ERA_EPOCHS));
            for w in 0..10_000u64 {
                Rewards::worker_passed(w, &(50_000 + w % 500), 1_000 + w % 7);
                if w % 3 == 0 {
                    Rewards::usage_delivered(w, &(50_000 + w % 500), 10 + w % 11);
                }
                if w % 97 == 0 {
                    Rewards::worker_failed(w);
                }
            }
            for l in 0..1_000u32 {
                for _ in 0..(1 + l % 5) {
                    Rewards::checker_agreed(era * ERA_EPOCHS, l, &(1_000 + l as u64));
                }
                if l % 10 == 0 {
                    Rewards::canary_scored(era * ERA_EPOCHS, l, l % 20 == 0);
                }
            }
        }
        run_to_block(start(3 * ERA_EPOCHS + FINALITY) + UNLOCK);
        for era in 0..3u32 {
            assert_ok!(Rewards::close_era(RuntimeOrigin::signed(1), era));
            // A sample of claims (every claim is the same O(1) work).
            for w in (0..10_000u64).step_by(250) {
                let before = free(50_000 + w % 500);
                if claim(50_000 + w % 500, era, Beneficiary::Provider(w)).is_ok() {
                    paid += free(50_000 + w % 500) - before;
                }
            }
            for l in (0..1_000u32).step_by(25) {
                let who = 1_000 + l as u64;
                let before = free(who);
                let _ = claim(who, era, Beneficiary::LicenseOwner(l));
                let _ = claim(who, era, Beneficiary::LicenseOperator(l));
                paid += free(who) - before;
            }
            let b = EraBudgets::<Test>::get(era).unwrap();
            assert!(b.held <= ERA_BUDGET.max(b.held));
            assert!(b.spent <= b.held);
        }
        let held: Balance = (0..3)
            .map(|e| EraBudgets::<Test>::get(e).unwrap().held)
            .sum();
        assert!(held <= 3 * ERA_BUDGET, "never more than the budgets");
        assert!(paid <= held);
        assert_eq!(free(Rewards::pot()) + held_on_pot() + paid, pot_before);
    });
}
