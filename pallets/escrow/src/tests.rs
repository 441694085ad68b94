//! Unit tests of the escrow pallet, through the [`Escrow`] trait and pallet-balances.

use crate::{mock::*, Error, EscrowAccount, Escrows, Event, HoldReason};
use frame_support::{
    assert_noop, assert_ok,
    traits::fungible::{Inspect, InspectHold},
};
use kaisar_primitives::{Escrow as _, EscrowSplit};
use sp_runtime::TokenError;

type E = crate::Pallet<Test>;

fn held(who: AccountId) -> Balance {
    Balances::balance_on_hold(&RuntimeHoldReason::Escrow(HoldReason::OrderEscrow), &who)
}

fn free(who: AccountId) -> Balance {
    Balances::balance(&who)
}

fn split(from_payer: Balance, from_sponsor: Balance) -> EscrowSplit<Balance> {
    EscrowSplit {
        from_payer,
        from_sponsor,
    }
}

fn last_event() -> Event<Test> {
    System::events()
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::Escrow(e) => Some(e),
            _ => None,
        })
        .last()
        .expect("an escrow event")
}

// ---- lock ----

#[test]
fn lock_holds_payer_and_sponsor_parts() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(7, &ALICE, 300, Some((&POT, 100))));
        assert_eq!(held(ALICE), 300);
        assert_eq!(held(POT), 100);
        assert_eq!(free(ALICE), INITIAL - 300);
        assert_eq!(free(POT), INITIAL - 100);
        assert_eq!(E::balance(7), 400);
        assert_eq!(
            Escrows::<Test>::get(7),
            Some(EscrowAccount {
                payer: ALICE,
                payer_held: 300,
                sponsor: Some((POT, 100))
            })
        );
        assert_eq!(
            last_event(),
            Event::Locked {
                id: 7,
                payer: ALICE,
                payer_amount: 300,
                sponsor: Some(POT),
                sponsor_amount: 100
            }
        );
    });
}

#[test]
fn lock_with_zero_sponsor_part_has_no_sponsor() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 300, Some((&POT, 0))));
        assert_eq!(Escrows::<Test>::get(1).unwrap().sponsor, None);
        assert_eq!(held(POT), 0);
        assert_eq!(
            last_event(),
            Event::Locked {
                id: 1,
                payer: ALICE,
                payer_amount: 300,
                sponsor: None,
                sponsor_amount: 0
            }
        );
    });
}

#[test]
fn lock_of_nothing_is_zero_amount() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(E::lock(1, &ALICE, 0, None), Error::<Test>::ZeroAmount);
        assert_noop!(
            E::lock(1, &ALICE, 0, Some((&POT, 0))),
            Error::<Test>::ZeroAmount
        );
    });
}

#[test]
fn fully_sponsored_lock_holds_only_from_the_sponsor() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 0, Some((&POT, 50))));
        assert_eq!((held(ALICE), held(POT)), (0, 50));
        assert_eq!(E::pay(1, &BOB, 20), Ok(split(0, 20)));
        assert_eq!(E::close(1), Ok(split(0, 30)));
        assert_eq!(free(POT), INITIAL - 20);
    });
}

#[test]
fn lock_with_an_open_id_fails_and_keeps_the_first_escrow() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 100, None));
        // Replay, and a different payer with the same id.
        assert_noop!(E::lock(1, &ALICE, 100, None), Error::<Test>::EscrowExists);
        assert_noop!(
            E::lock(1, &BOB, 10, Some((&POT, 10))),
            Error::<Test>::EscrowExists
        );
        assert_eq!(held(ALICE), 100);
        assert_eq!(E::balance(1), 100);
    });
}

#[test]
fn lock_the_sponsor_cannot_afford_leaves_no_hold_behind() {
    ExtBuilder::default().build_and_execute(|| {
        // POOR sponsors more than it has: the payer's hold, placed first, must be undone.
        assert_noop!(
            E::lock(1, &ALICE, 100, Some((&POOR, POOR_INITIAL + 1))),
            TokenError::FundsUnavailable
        );
        assert_eq!((held(ALICE), held(POOR)), (0, 0));
        assert_eq!(free(ALICE), INITIAL);
        assert!(!Escrows::<Test>::contains_key(1));
        // The id is still free.
        assert_ok!(E::lock(1, &ALICE, 100, None));
    });
}

#[test]
fn lock_the_payer_cannot_afford_holds_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        // Holding must leave the existential deposit free.
        assert_noop!(
            E::lock(1, &POOR, POOR_INITIAL - ED + 1, Some((&POT, 10))),
            TokenError::FundsUnavailable
        );
        assert_eq!((held(POOR), held(POT)), (0, 0));
    });
}

#[test]
fn payer_may_sponsor_its_own_escrow() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 60, Some((&ALICE, 40))));
        assert_eq!(held(ALICE), 100);
        assert_eq!(E::pay(1, &BOB, 50), Ok(split(30, 20)));
        assert_eq!(held(ALICE), 50);
        assert_eq!(E::close(1), Ok(split(30, 20)));
        assert_eq!(free(ALICE), INITIAL - 50);
    });
}

#[test]
fn lock_overflowing_the_balance_type_fails() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(
            E::lock(1, &ALICE, Balance::MAX, Some((&POT, 1))),
            Error::<Test>::Overflow
        );
    });
}

// ---- pay ----

#[test]
fn pay_splits_pro_rata_with_an_exact_sum() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 333, Some((&POT, 167))));
        // Sponsor floor(101 * 167 / 500) = 33, payer the rest.
        assert_eq!(E::pay(1, &BOB, 101), Ok(split(68, 33)));
        assert_eq!(free(BOB), INITIAL + 101);
        assert_eq!((held(ALICE), held(POT)), (265, 134));
        assert_eq!(
            last_event(),
            Event::Paid {
                id: 1,
                to: BOB,
                from_payer: 68,
                from_sponsor: 33
            }
        );
        // Sponsor floor(7 * 134 / 399) = 2.
        assert_eq!(E::pay(1, &BOB, 7), Ok(split(5, 2)));
        assert_eq!(E::balance(1), 392);
    });
}

#[test]
fn many_small_payments_add_up_exactly_and_drain_both_holds() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 331, Some((&POT, 97))));
        let mut paid = 0;
        while E::balance(1) > 0 {
            let amount = E::balance(1).min(13);
            let s = E::pay(1, &BOB, amount).unwrap();
            assert_eq!(s.from_payer + s.from_sponsor, amount);
            paid += amount;
        }
        assert_eq!(paid, 428);
        assert_eq!(free(BOB), INITIAL + 428);
        assert_eq!((held(ALICE), held(POT)), (0, 0));
        assert_eq!((free(ALICE), free(POT)), (INITIAL - 331, INITIAL - 97));
        assert!(!Escrows::<Test>::contains_key(1));
    });
}

#[test]
fn pay_to_the_sponsor_itself_returns_its_part_and_moves_the_payer_part() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 300, Some((&POT, 100))));
        assert_eq!(E::pay(1, &POT, 200), Ok(split(150, 50)));
        assert_eq!((held(ALICE), held(POT)), (150, 50));
        // POT paid 100 in, got 50 back from its own hold and 150 from ALICE.
        assert_eq!(free(POT), INITIAL - 100 + 200);
        assert_eq!(free(ALICE), INITIAL - 300);
    });
}

#[test]
fn pay_to_the_payer_itself_works() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 300, Some((&POT, 100))));
        assert_eq!(E::pay(1, &ALICE, 400), Ok(split(300, 100)));
        assert_eq!(free(ALICE), INITIAL + 100);
        assert_eq!(free(POT), INITIAL - 100);
        assert!(!Escrows::<Test>::contains_key(1));
    });
}

#[test]
fn pay_beyond_the_escrow_balance_fails_and_moves_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 300, Some((&POT, 100))));
        assert_noop!(E::pay(1, &BOB, 401), Error::<Test>::InsufficientEscrow);
        assert_ok!(E::pay(1, &BOB, 100));
        assert_noop!(E::pay(1, &BOB, 301), Error::<Test>::InsufficientEscrow);
    });
}

#[test]
fn pay_from_an_unknown_escrow_fails() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(E::pay(1, &BOB, 1), Error::<Test>::UnknownEscrow);
        assert_noop!(E::pay(1, &BOB, 0), Error::<Test>::UnknownEscrow);
    });
}

#[test]
fn pay_of_zero_is_a_no_op() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 300, Some((&POT, 100))));
        System::reset_events();
        assert_eq!(E::pay(1, &BOB, 0), Ok(split(0, 0)));
        assert_eq!(E::balance(1), 400);
        assert!(System::events().is_empty());
    });
}

#[test]
fn pay_creating_an_account_below_the_existential_deposit_fails_and_moves_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 300, Some((&POT, 100))));
        assert_noop!(E::pay(1, &NOBODY, ED - 1), TokenError::CannotCreate);
        // Large enough: creates the account.
        assert_eq!(E::pay(1, &NOBODY, 40), Ok(split(30, 10)));
        assert_eq!(free(NOBODY), 40);
    });
}

#[test]
fn pay_emptying_the_escrow_removes_it_and_close_then_fails() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 300, Some((&POT, 100))));
        assert_eq!(E::pay(1, &BOB, 400), Ok(split(300, 100)));
        assert!(!Escrows::<Test>::contains_key(1));
        assert_eq!(E::balance(1), 0);
        assert_eq!(
            last_event(),
            Event::Closed {
                id: 1,
                payer: ALICE,
                to_payer: 0,
                sponsor: None,
                to_sponsor: 0
            }
        );
        assert_noop!(E::close(1), Error::<Test>::UnknownEscrow);
        // The id can be used again.
        assert_ok!(E::lock(1, &ALICE, 10, None));
    });
}

// ---- close ----

#[test]
fn close_after_a_payment_refunds_the_rest_to_both_owners() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 333, Some((&POT, 167))));
        assert_eq!(E::pay(1, &BOB, 101), Ok(split(68, 33)));
        assert_eq!(E::close(1), Ok(split(265, 134)));
        // The sponsor got back everything it did not pay.
        assert_eq!(free(POT), INITIAL - 33);
        assert_eq!(free(ALICE), INITIAL - 68);
        assert_eq!((held(ALICE), held(POT)), (0, 0));
        assert_eq!(
            last_event(),
            Event::Closed {
                id: 1,
                payer: ALICE,
                to_payer: 265,
                sponsor: Some(POT),
                to_sponsor: 134
            }
        );
    });
}

#[test]
fn close_twice_fails_with_unknown_escrow() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 300, None));
        assert_eq!(E::close(1), Ok(split(300, 0)));
        assert_noop!(E::close(1), Error::<Test>::UnknownEscrow);
        assert_eq!(free(ALICE), INITIAL);
    });
}

#[test]
fn close_of_a_never_locked_escrow_fails() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(E::close(42), Error::<Test>::UnknownEscrow);
    });
}

#[test]
fn escrows_of_the_same_parties_are_kept_apart() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(E::lock(1, &ALICE, 100, Some((&POT, 50))));
        assert_ok!(E::lock(2, &ALICE, 200, Some((&POT, 20))));
        assert_eq!((held(ALICE), held(POT)), (300, 70));
        assert_eq!(E::close(1), Ok(split(100, 50)));
        assert_eq!((held(ALICE), held(POT)), (200, 20));
        assert_eq!(E::balance(2), 220);
    });
}

#[test]
fn try_state_detects_a_hold_without_an_escrow() {
    ExtBuilder::default().build().execute_with(|| {
        use frame_support::traits::fungible::MutateHold;
        assert_ok!(Balances::hold(&HoldReason::OrderEscrow.into(), &ALICE, 10));
        assert!(E::do_try_state().is_err());
    });
}

#[test]
fn try_state_detects_an_escrow_without_its_hold() {
    ExtBuilder::default().build().execute_with(|| {
        Escrows::<Test>::insert(
            1,
            EscrowAccount {
                payer: ALICE,
                payer_held: 10,
                sponsor: None,
            },
        );
        assert!(E::do_try_state().is_err());
    });
}

// ---- freezes (a vesting lock must not strand escrowed funds) ----

use frame_support::traits::fungible::{InspectFreeze as _, MutateFreeze as _};

/// Freeze all of `who`'s balance, as a vesting schedule of its whole balance would.
fn freeze_everything(who: AccountId) {
    let total = Balances::total_balance(&who);
    assert_ok!(Balances::set_freeze(
        &TestFreezeReason::Vesting,
        &who,
        total
    ));
    assert_eq!(
        Balances::balance_frozen(&TestFreezeReason::Vesting, &who),
        total
    );
}

#[test]
fn pay_from_a_fully_frozen_payer_and_sponsor_reaches_the_provider() {
    ExtBuilder::default().build_and_execute(|| {
        freeze_everything(ALICE);
        freeze_everything(POT);
        // Holds ignore freezes: the lock succeeds.
        assert_ok!(E::lock(1, &ALICE, 300, Some((&POT, 100))));
        // So the payout must ignore them too (a `Polite` transfer out of the hold fails here).
        assert_eq!(E::pay(1, &BOB, 200), Ok(split(150, 50)));
        assert_eq!(free(BOB), INITIAL + 200);
        assert_eq!((held(ALICE), held(POT)), (150, 50));
        // Paying the rest empties the escrow.
        assert_eq!(E::pay(1, &BOB, 200), Ok(split(150, 50)));
        assert!(!Escrows::<Test>::contains_key(1));
        assert_eq!(free(BOB), INITIAL + 400);
        assert_eq!(Balances::total_balance(&ALICE), INITIAL - 300);
        assert_eq!(Balances::total_balance(&POT), INITIAL - 100);
    });
}

#[test]
fn pay_from_a_fully_frozen_payer_to_a_new_provider_account_works() {
    ExtBuilder::default().build_and_execute(|| {
        freeze_everything(ALICE);
        assert_ok!(E::lock(1, &ALICE, 300, None));
        assert_eq!(E::pay(1, &NOBODY, 300), Ok(split(300, 0)));
        assert_eq!(free(NOBODY), 300);
        assert_eq!(held(ALICE), 0);
    });
}

#[test]
fn pay_of_a_frozen_escrow_back_to_its_payer_and_into_the_sponsor_works() {
    ExtBuilder::default().build_and_execute(|| {
        freeze_everything(ALICE);
        freeze_everything(POT);
        assert_ok!(E::lock(1, &ALICE, 300, Some((&POT, 100))));
        // A refund paid as points goes into the pot (the sponsor itself).
        assert_eq!(E::pay(1, &POT, 100), Ok(split(75, 25)));
        assert_eq!(free(POT), INITIAL - 100 + 25 + 75);
        // A refund paid as tokens goes back to the payer.
        assert_eq!(E::pay(1, &ALICE, 100), Ok(split(75, 25)));
        assert_eq!(free(ALICE), INITIAL - 300 + 75 + 25);
        assert_eq!((held(ALICE), held(POT)), (150, 50));
    });
}

#[test]
fn close_of_a_fully_frozen_payer_and_sponsor_releases_the_rest() {
    ExtBuilder::default().build_and_execute(|| {
        freeze_everything(ALICE);
        freeze_everything(POT);
        assert_ok!(E::lock(1, &ALICE, 333, Some((&POT, 167))));
        assert_eq!(E::pay(1, &BOB, 101), Ok(split(68, 33)));
        assert_eq!(E::close(1), Ok(split(265, 134)));
        assert_eq!((held(ALICE), held(POT)), (0, 0));
        assert_eq!(free(ALICE), INITIAL - 68);
        assert_eq!(free(POT), INITIAL - 33);
        assert_eq!(free(BOB), INITIAL + 101);
        // The freezes are still in place (now larger than the balances they cover).
        assert_eq!(
            Balances::balance_frozen(&TestFreezeReason::Vesting, &ALICE),
            INITIAL
        );
    });
}
