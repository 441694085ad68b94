//! Unit tests of the points pallet: its calls, and the [`Points`] trait through pallet-balances.

use crate::{mock::*, Error, Event, PointsOf, RefundPreference, RefundPreferences, TotalPoints};
use frame_support::{
    assert_noop, assert_ok,
    traits::{
        fungible::{Inspect, Mutate},
        tokens::Preservation,
        GetCallName, Hooks,
    },
};
use kaisar_primitives::Points as _;
use sp_runtime::{DispatchError, FixedU128, TokenError};

type P = crate::Pallet<Test>;

fn points_events() -> Vec<Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::Points(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn last_event() -> Event<Test> {
    points_events().pop().expect("a points event")
}

fn free(who: AccountId) -> Balance {
    Balances::balance(&who)
}

fn rate(n: u128, d: u128) -> FixedU128 {
    FixedU128::from_rational(n, d)
}

/// Credit `points` to `who` without an event (for setting up a test).
fn give(who: AccountId, points: Balance) {
    PointsOf::<Test>::mutate(who, |p| *p += points);
    TotalPoints::<Test>::mutate(|t| *t += points);
}

/// Empty the pot's account, as root could (`force_set_balance` to zero): it is reaped.
fn reap_pot() {
    <Balances as Mutate<AccountId>>::set_balance(&pot(), 0);
    assert!(!System::account_exists(&pot()));
}

// ---- pot, preference queries ----

#[test]
fn pot_account_is_derived_from_pot_id() {
    ExtBuilder::default().build_and_execute(|| {
        use sp_runtime::traits::AccountIdConversion;
        let expected: AccountId = PotId::get().into_account_truncating();
        assert_eq!(P::pot_account(), expected);
        assert_eq!(free(P::pot_account()), POT_INITIAL);
        assert!(![ALICE, BOB, POOR].contains(&expected));
    });
}

#[test]
fn refunds_are_points_by_default() {
    ExtBuilder::default().build_and_execute(|| {
        assert!(P::prefers_points(&ALICE));
        assert_eq!(P::refund_preference(&ALICE), RefundPreference::Points);
        assert_eq!(RefundPreferences::<Test>::iter().count(), 0);
    });
}

// ---- credit_refund ----

#[test]
fn credit_refund_credits_points_at_the_rate() {
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(P::credit_refund(&ALICE, 100), 200);
        assert_eq!(P::points_of(&ALICE), 200);
        assert_eq!(TotalPoints::<Test>::get(), 200);
        assert_eq!(
            last_event(),
            Event::PointsCredited {
                who: ALICE,
                points: 200,
                tokens: 100
            }
        );
        // Credits add up, per account.
        assert_eq!(P::credit_refund(&ALICE, 1), 2);
        assert_eq!(P::credit_refund(&BOB, 10), 20);
        assert_eq!(P::points_of(&ALICE), 202);
        assert_eq!(P::points_of(&BOB), 20);
        assert_eq!(TotalPoints::<Test>::get(), 222);
    });
}

#[test]
fn credit_refund_rounds_points_down() {
    ExtBuilder::default()
        .rate(rate(3, 2))
        .build_and_execute(|| {
            // 5 * 1.5 = 7.5 -> 7.
            assert_eq!(P::credit_refund(&ALICE, 5), 7);
            assert_eq!(P::points_of(&ALICE), 7);
            assert_eq!(
                last_event(),
                Event::PointsCredited {
                    who: ALICE,
                    points: 7,
                    tokens: 5
                }
            );
        });
}

#[test]
fn credit_refund_worth_less_than_a_point_credits_nothing_but_is_recorded() {
    ExtBuilder::default()
        .rate(rate(1, 3))
        .build_and_execute(|| {
            assert_eq!(P::credit_refund(&ALICE, 2), 0);
            assert_eq!(P::points_of(&ALICE), 0);
            assert!(!PointsOf::<Test>::contains_key(ALICE));
            assert_eq!(
                last_event(),
                Event::PointsCredited {
                    who: ALICE,
                    points: 0,
                    tokens: 2
                }
            );
        });
}

#[test]
fn credit_refund_of_zero_tokens_does_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(P::credit_refund(&ALICE, 0), 0);
        assert!(!PointsOf::<Test>::contains_key(ALICE));
        assert!(points_events().is_empty());
    });
}

#[test]
fn credit_refund_is_capped_so_total_points_cannot_overflow() {
    ExtBuilder::default().build_and_execute(|| {
        give(BOB, Balance::MAX - 10);
        // u64::MAX tokens at rate 2 saturate, and only 10 points are left before the cap.
        assert_eq!(P::credit_refund(&ALICE, Balance::MAX), 10);
        assert_eq!(P::points_of(&ALICE), 10);
        assert_eq!(TotalPoints::<Test>::get(), Balance::MAX);
        assert_eq!(
            last_event(),
            Event::PointsCredited {
                who: ALICE,
                points: 10,
                tokens: Balance::MAX
            }
        );
        // Nothing more fits.
        assert_eq!(P::credit_refund(&ALICE, 1), 0);
        assert_eq!(P::points_of(&ALICE), 10);
    });
}

// ---- spend ----

#[test]
fn spend_converts_points_to_a_discount_at_the_rate() {
    ExtBuilder::default().build_and_execute(|| {
        give(ALICE, 300);
        assert_eq!(P::spend(&ALICE, 200), Ok(100));
        assert_eq!(P::points_of(&ALICE), 100);
        assert_eq!(TotalPoints::<Test>::get(), 100);
        assert_eq!(
            last_event(),
            Event::PointsSpent {
                who: ALICE,
                points: 200,
                discount: 100
            }
        );
        // Spending does not move tokens: the pot sponsors the discount through the escrow.
        assert_eq!(free(pot()), POT_INITIAL);
        assert_eq!(free(ALICE), INITIAL);
    });
}

#[test]
fn spending_all_points_removes_the_entry() {
    ExtBuilder::default().build_and_execute(|| {
        give(ALICE, 200);
        assert_eq!(P::spend(&ALICE, 200), Ok(100));
        assert!(!PointsOf::<Test>::contains_key(ALICE));
        assert_eq!(TotalPoints::<Test>::get(), 0);
    });
}

#[test]
fn spend_rounds_the_discount_down_and_keeps_the_remainder() {
    ExtBuilder::default().build_and_execute(|| {
        give(ALICE, 201);
        // 201 / 2 = 100.5 -> 100 tokens, which cost 200 points; the odd point stays.
        assert_eq!(P::spend(&ALICE, 201), Ok(100));
        assert_eq!(P::points_of(&ALICE), 1);
        assert_eq!(
            last_event(),
            Event::PointsSpent {
                who: ALICE,
                points: 200,
                discount: 100
            }
        );
    });
}

#[test]
fn spend_with_a_fractional_rate_never_over_sponsors() {
    ExtBuilder::default()
        .rate(rate(3, 2))
        .build_and_execute(|| {
            give(ALICE, 10);
            // 10 / 1.5 = 6.67 -> 6 tokens, costing ceil(6 * 1.5) = 9 points.
            assert_eq!(P::spend(&ALICE, 10), Ok(6));
            assert_eq!(P::points_of(&ALICE), 1);
            assert_eq!(
                last_event(),
                Event::PointsSpent {
                    who: ALICE,
                    points: 9,
                    discount: 6
                }
            );
        });
}

#[test]
fn spend_with_a_rate_below_one_gives_more_tokens_than_points() {
    ExtBuilder::default()
        .rate(rate(1, 4))
        .build_and_execute(|| {
            give(ALICE, 5);
            assert_eq!(P::spend(&ALICE, 5), Ok(20));
            assert!(!PointsOf::<Test>::contains_key(ALICE));
        });
}

#[test]
fn spend_of_points_worth_less_than_a_token_spends_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        give(ALICE, 1);
        assert_eq!(P::spend(&ALICE, 1), Ok(0));
        assert_eq!(P::points_of(&ALICE), 1);
        assert!(points_events().is_empty());
    });
}

#[test]
fn spend_of_zero_points_does_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        // Even without any points.
        assert_eq!(P::spend(&ALICE, 0), Ok(0));
        assert!(points_events().is_empty());
    });
}

#[test]
fn spend_more_than_held_fails_and_spends_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        give(ALICE, 100);
        assert_noop!(P::spend(&ALICE, 101), Error::<Test>::InsufficientPoints);
        assert_noop!(P::spend(&BOB, 2), Error::<Test>::InsufficientPoints);
        assert_noop!(
            P::spend(&ALICE, Balance::MAX),
            Error::<Test>::InsufficientPoints
        );
        assert_eq!(P::points_of(&ALICE), 100);
    });
}

#[test]
fn spent_points_cannot_be_spent_again() {
    ExtBuilder::default().build_and_execute(|| {
        give(ALICE, 100);
        assert_eq!(P::spend(&ALICE, 100), Ok(50));
        assert_noop!(P::spend(&ALICE, 100), Error::<Test>::InsufficientPoints);
    });
}

#[test]
fn spend_fails_when_the_pot_cannot_sponsor_the_discount() {
    ExtBuilder::default().build_and_execute(|| {
        // The pot can sponsor its balance above the existential deposit.
        let spendable = POT_INITIAL - ED;
        assert_eq!(P::pot_spendable(), spendable);
        give(ALICE, 2 * (spendable + 1));
        assert_noop!(
            P::spend(&ALICE, 2 * (spendable + 1)),
            Error::<Test>::PotExhausted
        );
        // Exactly what it can sponsor works.
        assert_eq!(P::spend(&ALICE, 2 * spendable), Ok(spendable));
        assert_eq!(P::points_of(&ALICE), 2);
    });
}

#[test]
fn spend_fails_when_the_pot_holds_only_the_existential_deposit() {
    ExtBuilder::default().pot_balance(0).build_and_execute(|| {
        assert_eq!(free(pot()), ED);
        give(ALICE, 2);
        assert_noop!(P::spend(&ALICE, 2), Error::<Test>::PotExhausted);
    });
}

#[test]
fn spend_fails_when_root_reaped_the_pot_and_keeps_the_points() {
    ExtBuilder::default().build().execute_with(|| {
        reap_pot();
        give(ALICE, 2);
        assert_noop!(P::spend(&ALICE, 2), Error::<Test>::PotExhausted);
        assert_eq!(P::points_of(&ALICE), 2);
    });
}

// ---- restore ----

#[test]
fn restore_gives_points_back_at_the_rate() {
    ExtBuilder::default().build_and_execute(|| {
        P::restore(&ALICE, 30);
        assert_eq!(P::points_of(&ALICE), 60);
        assert_eq!(TotalPoints::<Test>::get(), 60);
        assert_eq!(
            last_event(),
            Event::PointsRestored {
                who: ALICE,
                points: 60,
                tokens: 30
            }
        );
    });
}

#[test]
fn restore_rounds_points_up() {
    ExtBuilder::default()
        .rate(rate(3, 2))
        .build_and_execute(|| {
            // 5 * 1.5 = 7.5 -> 8.
            P::restore(&ALICE, 5);
            assert_eq!(P::points_of(&ALICE), 8);
            assert_eq!(
                last_event(),
                Event::PointsRestored {
                    who: ALICE,
                    points: 8,
                    tokens: 5
                }
            );
        });
}

#[test]
fn restore_of_zero_tokens_does_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        P::restore(&ALICE, 0);
        assert!(!PointsOf::<Test>::contains_key(ALICE));
        assert!(points_events().is_empty());
    });
}

#[test]
fn restore_is_capped_so_total_points_cannot_overflow() {
    ExtBuilder::default().build_and_execute(|| {
        give(BOB, Balance::MAX - 3);
        P::restore(&ALICE, 100);
        assert_eq!(P::points_of(&ALICE), 3);
        assert_eq!(TotalPoints::<Test>::get(), Balance::MAX);
        assert_eq!(
            last_event(),
            Event::PointsRestored {
                who: ALICE,
                points: 3,
                tokens: 100
            }
        );
    });
}

#[test]
fn spend_then_restore_of_the_whole_discount_leaves_the_user_as_before() {
    // Several rates, several amounts: a full restore gives back exactly what the spend took,
    // and restoring the discount in two parts never gives back less.
    for (n, d) in [(1, 1), (2, 1), (3, 2), (1, 3), (7, 3), (100, 1), (1, 100)] {
        for points in [1u64, 2, 3, 10, 99, 100, 101, 997] {
            ExtBuilder::default()
                .rate(rate(n, d))
                .pot_balance(1_000_000)
                .build_and_execute(|| {
                    give(ALICE, points);
                    let discount = P::spend(&ALICE, points).unwrap();
                    P::restore(&ALICE, discount);
                    assert_eq!(
                        P::points_of(&ALICE),
                        points,
                        "rate {n}/{d}, {points} points"
                    );

                    let discount = P::spend(&ALICE, points).unwrap();
                    let half = discount / 2;
                    P::restore(&ALICE, half);
                    P::restore(&ALICE, discount - half);
                    assert!(
                        P::points_of(&ALICE) >= points,
                        "rate {n}/{d}, {points} points"
                    );
                });
        }
    }
}

// ---- set_refund_preference ----

#[test]
fn set_refund_preference_to_tokens_and_back() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(Points::set_refund_preference(
            RuntimeOrigin::signed(ALICE),
            RefundPreference::Tokens
        ));
        assert!(!P::prefers_points(&ALICE));
        assert_eq!(
            RefundPreferences::<Test>::get(ALICE),
            Some(RefundPreference::Tokens)
        );
        assert_eq!(
            last_event(),
            Event::RefundPreferenceSet {
                who: ALICE,
                preference: RefundPreference::Tokens
            }
        );
        // Others are unaffected.
        assert!(P::prefers_points(&BOB));

        assert_ok!(Points::set_refund_preference(
            RuntimeOrigin::signed(ALICE),
            RefundPreference::Points
        ));
        assert!(P::prefers_points(&ALICE));
        // The default is not stored.
        assert!(!RefundPreferences::<Test>::contains_key(ALICE));
        assert_eq!(
            last_event(),
            Event::RefundPreferenceSet {
                who: ALICE,
                preference: RefundPreference::Points
            }
        );
    });
}

#[test]
fn set_refund_preference_to_the_current_value_fails() {
    ExtBuilder::default().build_and_execute(|| {
        // The default is points.
        assert_noop!(
            Points::set_refund_preference(RuntimeOrigin::signed(ALICE), RefundPreference::Points),
            Error::<Test>::PreferenceUnchanged
        );
        // Replay of a change.
        assert_ok!(Points::set_refund_preference(
            RuntimeOrigin::signed(ALICE),
            RefundPreference::Tokens
        ));
        assert_noop!(
            Points::set_refund_preference(RuntimeOrigin::signed(ALICE), RefundPreference::Tokens),
            Error::<Test>::PreferenceUnchanged
        );
    });
}

#[test]
fn set_refund_preference_needs_a_signed_origin() {
    ExtBuilder::default().build_and_execute(|| {
        for origin in [RuntimeOrigin::none(), RuntimeOrigin::root()] {
            assert_noop!(
                Points::set_refund_preference(origin, RefundPreference::Tokens),
                DispatchError::BadOrigin
            );
        }
    });
}

#[test]
fn refund_preference_does_not_affect_points_held() {
    ExtBuilder::default().build_and_execute(|| {
        give(ALICE, 10);
        assert_ok!(Points::set_refund_preference(
            RuntimeOrigin::signed(ALICE),
            RefundPreference::Tokens
        ));
        assert_eq!(P::points_of(&ALICE), 10);
        // Points already held can still be spent.
        assert_eq!(P::spend(&ALICE, 10), Ok(5));
    });
}

// ---- fund_pot ----

#[test]
fn fund_pot_transfers_to_the_pot_and_conserves_issuance() {
    ExtBuilder::default().build_and_execute(|| {
        let issuance = Balances::total_issuance();
        assert_ok!(Points::fund_pot(RuntimeOrigin::signed(ALICE), 300));
        assert_eq!(free(ALICE), INITIAL - 300);
        assert_eq!(free(pot()), POT_INITIAL + 300);
        assert_eq!(Balances::total_issuance(), issuance);
        assert_eq!(
            last_event(),
            Event::PotFunded {
                who: ALICE,
                amount: 300
            }
        );
        // Funding adds no points.
        assert_eq!(TotalPoints::<Test>::get(), 0);
    });
}

#[test]
fn fund_pot_creates_a_reaped_pot() {
    ExtBuilder::default().build_and_execute(|| {
        reap_pot();
        assert_ok!(Points::fund_pot(RuntimeOrigin::signed(ALICE), ED));
        assert_eq!(free(pot()), ED);
        // The pot keeps its existential deposit: it can sponsor nothing yet.
        assert_eq!(P::pot_spendable(), 0);
    });
}

#[test]
fn fund_pot_below_the_existential_deposit_of_a_reaped_pot_fails() {
    ExtBuilder::default().build().execute_with(|| {
        reap_pot();
        assert_noop!(
            Points::fund_pot(RuntimeOrigin::signed(ALICE), ED - 1),
            TokenError::BelowMinimum
        );
    });
}

#[test]
fn fund_pot_below_the_existential_deposit_works_for_the_genesis_pot() {
    ExtBuilder::default().pot_balance(0).build_and_execute(|| {
        assert_ok!(Points::fund_pot(RuntimeOrigin::signed(ALICE), 1));
        assert_eq!(free(pot()), ED + 1);
    });
}

#[test]
fn fund_pot_of_zero_fails() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(
            Points::fund_pot(RuntimeOrigin::signed(ALICE), 0),
            Error::<Test>::ZeroAmount
        );
    });
}

#[test]
fn fund_pot_keeps_the_funder_alive() {
    ExtBuilder::default().build_and_execute(|| {
        // Everything would kill the account.
        assert_noop!(
            Points::fund_pot(RuntimeOrigin::signed(POOR), POOR_INITIAL),
            TokenError::NotExpendable
        );
        // Everything above the existential deposit is fine.
        assert_ok!(Points::fund_pot(
            RuntimeOrigin::signed(POOR),
            POOR_INITIAL - ED
        ));
        assert_eq!(free(POOR), ED);
    });
}

#[test]
fn fund_pot_of_more_than_the_balance_fails() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(
            Points::fund_pot(RuntimeOrigin::signed(ALICE), INITIAL + 1),
            TokenError::FundsUnavailable
        );
        // Whatever error the currency gives for an absurd amount, nothing moves.
        assert!(Points::fund_pot(RuntimeOrigin::signed(ALICE), Balance::MAX).is_err());
        assert_eq!(free(ALICE), INITIAL);
        assert_eq!(free(pot()), POT_INITIAL);
    });
}

#[test]
fn fund_pot_can_be_repeated() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(Points::fund_pot(RuntimeOrigin::signed(ALICE), 100));
        assert_ok!(Points::fund_pot(RuntimeOrigin::signed(ALICE), 100));
        assert_eq!(free(pot()), POT_INITIAL + 200);
        assert_eq!(points_events().len(), 2);
    });
}

#[test]
fn fund_pot_needs_a_signed_origin() {
    ExtBuilder::default().build_and_execute(|| {
        for origin in [RuntimeOrigin::none(), RuntimeOrigin::root()] {
            assert_noop!(Points::fund_pot(origin, 100), DispatchError::BadOrigin);
        }
    });
}

#[test]
fn funded_pot_sponsors_larger_discounts() {
    ExtBuilder::default().pot_balance(ED).build_and_execute(|| {
        give(ALICE, 200);
        assert_noop!(P::spend(&ALICE, 200), Error::<Test>::PotExhausted);
        assert_ok!(Points::fund_pot(RuntimeOrigin::signed(BOB), 100));
        assert_eq!(P::spend(&ALICE, 200), Ok(100));
    });
}

// ---- non-transferability ----

#[test]
fn points_cannot_be_transferred() {
    // The only calls are the preference and the pot funding: no call moves points between
    // accounts, and moving tokens does not move points.
    assert_eq!(
        crate::Call::<Test>::get_call_names(),
        &["set_refund_preference", "fund_pot"]
    );
    ExtBuilder::default().build_and_execute(|| {
        give(ALICE, 100);
        assert_ok!(<Balances as Mutate<_>>::transfer(
            &ALICE,
            &BOB,
            500,
            Preservation::Preserve
        ));
        assert_eq!(P::points_of(&ALICE), 100);
        assert_eq!(P::points_of(&BOB), 0);
    });
}

// ---- genesis ----

#[test]
fn genesis_tops_an_unfunded_pot_up_to_the_existential_deposit() {
    ExtBuilder::default().pot_balance(0).build_and_execute(|| {
        assert_eq!(free(pot()), ED);
        assert!(System::account_exists(&pot()));
        // Minted: the issuance is the genesis balances plus the existential deposit.
        assert_eq!(Balances::total_issuance(), 2 * INITIAL + POOR_INITIAL + ED);
        // It sponsors nothing yet.
        assert_eq!(P::pot_spendable(), 0);
    });
}

#[test]
fn genesis_leaves_a_funded_pot_as_it_is() {
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(free(pot()), POT_INITIAL);
        assert_eq!(
            Balances::total_issuance(),
            2 * INITIAL + POOR_INITIAL + POT_INITIAL
        );
    });
}

#[test]
fn refund_of_one_unit_into_an_unfunded_genesis_pot_succeeds() {
    ExtBuilder::default().pot_balance(0).build_and_execute(|| {
        // A service-failure refund of one unit (below the existential deposit) paid to the pot.
        assert_ok!(<Balances as Mutate<AccountId>>::transfer(
            &ALICE,
            &pot(),
            1,
            Preservation::Preserve
        ));
        assert_eq!(free(pot()), ED + 1);
        assert_eq!(P::credit_refund(&ALICE, 1), 2);
    });
}

#[test]
fn a_provider_reference_alone_does_not_let_the_pot_receive_one_unit() {
    // Why the pot holds the existential deposit rather than a provider reference: the balances
    // pallet refuses a deposit that leaves the free balance below the minimum, whatever the
    // providers.
    ExtBuilder::default().build().execute_with(|| {
        reap_pot();
        frame_system::Pallet::<Test>::inc_providers(&pot());
        assert!(System::account_exists(&pot()));
        assert_noop!(
            <Balances as Mutate<AccountId>>::transfer(&ALICE, &pot(), 1, Preservation::Preserve),
            TokenError::BelowMinimum
        );
    });
}

#[test]
fn genesis_points_are_credited_and_totalled() {
    ExtBuilder::default()
        .points(vec![(ALICE, 100), (BOB, 50), (POOR, 0)])
        .build_and_execute(|| {
            assert_eq!(P::points_of(&ALICE), 100);
            assert_eq!(P::points_of(&BOB), 50);
            assert!(!PointsOf::<Test>::contains_key(POOR));
            assert_eq!(TotalPoints::<Test>::get(), 150);
        });
}

#[test]
#[should_panic(expected = "listed twice")]
fn genesis_with_an_account_twice_panics() {
    ExtBuilder::default()
        .points(vec![(ALICE, 100), (ALICE, 50)])
        .build();
}

#[test]
#[should_panic(expected = "overflow")]
fn genesis_points_overflowing_panics() {
    ExtBuilder::default()
        .points(vec![(ALICE, Balance::MAX), (BOB, 1)])
        .build();
}

// ---- hooks, invariants ----

#[test]
fn integrity_test_passes_with_a_positive_rate() {
    ExtBuilder::default().build_and_execute(|| {
        <Points as Hooks<u64>>::integrity_test();
    });
}

#[test]
#[should_panic(expected = "PointsPerToken must not be zero")]
fn integrity_test_rejects_a_zero_rate() {
    ExtBuilder::default()
        .rate(FixedU128::from_u32(0))
        .build()
        .execute_with(<Points as Hooks<u64>>::integrity_test);
}

#[test]
fn try_state_detects_a_wrong_total() {
    ExtBuilder::default().build().execute_with(|| {
        PointsOf::<Test>::insert(ALICE, 10);
        assert!(P::do_try_state().is_err());
        TotalPoints::<Test>::put(10);
        assert_ok!(P::do_try_state());
    });
}

#[test]
fn try_state_detects_a_zero_entry() {
    ExtBuilder::default().build().execute_with(|| {
        PointsOf::<Test>::insert(ALICE, 0);
        assert!(P::do_try_state().is_err());
    });
}

#[test]
fn try_state_detects_a_stored_default_preference() {
    ExtBuilder::default().build().execute_with(|| {
        RefundPreferences::<Test>::insert(ALICE, RefundPreference::Points);
        assert!(P::do_try_state().is_err());
    });
}

#[test]
fn try_state_detects_a_pot_below_the_existential_deposit() {
    ExtBuilder::default().build().execute_with(|| {
        assert_ok!(P::do_try_state());
        reap_pot();
        assert!(P::do_try_state().is_err());
    });
}

#[test]
fn try_state_does_not_require_the_pot_to_back_all_points() {
    ExtBuilder::default().pot_balance(0).build_and_execute(|| {
        assert_eq!(P::credit_refund(&ALICE, 1_000_000), 2_000_000);
        assert_ok!(P::do_try_state());
    });
}

#[test]
fn points_for_discount_buys_at_least_that_discount_at_any_rate() {
    for (n, d) in [(1, 1), (2, 1), (3, 2), (1, 3), (7, 3), (100, 1), (1, 100)] {
        for tokens in [1u64, 2, 3, 10, 99, 100, 101, 997] {
            ExtBuilder::default()
                .rate(rate(n, d))
                .pot_balance(1_000_000)
                .build_and_execute(|| {
                    let points =
                        <P as kaisar_primitives::Points<_, _>>::points_for_discount(tokens);
                    give(ALICE, points);
                    let discount = P::spend(&ALICE, points).unwrap();
                    assert!(discount >= tokens, "rate {n}/{d}, {tokens} tokens");
                    // One point fewer would not do (for rates of at least one point per token).
                    if n >= d {
                        assert!(P::discount_for(points - 1).unwrap() < tokens);
                    }
                });
        }
    }
}

#[test]
fn points_for_discount_saturates_instead_of_overflowing() {
    ExtBuilder::default()
        .rate(rate(2, 1))
        .build_and_execute(|| {
            assert_eq!(
                <P as kaisar_primitives::Points<_, _>>::points_for_discount(u64::MAX),
                u64::MAX
            );
        });
}

// ---- migrations ----

mod migration_v1 {
    use super::*;
    use crate::migrations::v1::MigrateV0ToV1;
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};

    /// The state of a chain started before v1 without funding the pot: storage version 0 and
    /// no pot account.
    fn v0_chain_without_a_pot() {
        reap_pot();
        StorageVersion::new(0).put::<Points>();
    }

    #[test]
    fn migration_v1_tops_up_a_missing_pot_once() {
        ExtBuilder::default().build_and_execute(|| {
            v0_chain_without_a_pot();
            let issuance = Balances::total_issuance();
            assert!(P::do_try_state().is_err());

            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            assert_eq!(free(pot()), ED);
            assert_eq!(Balances::total_issuance(), issuance + ED);
            assert_eq!(Points::on_chain_storage_version(), 1);
            assert_eq!(Points::in_code_storage_version(), 1);
            assert_ok!(P::do_try_state());
            // Now a one-unit refund can go into the pot.
            assert_ok!(<Balances as Mutate<AccountId>>::transfer(
                &ALICE,
                &pot(),
                1,
                Preservation::Preserve
            ));

            // A second run does nothing (the version is already 1).
            reap_pot();
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            assert!(!System::account_exists(&pot()));
            // (Leave a valid state for the final try_state.)
            assert_ok!(P::top_up_pot_to_minimum());
        });
    }

    #[test]
    fn migration_v1_leaves_a_funded_pot_alone_and_bumps_the_version() {
        ExtBuilder::default().build_and_execute(|| {
            StorageVersion::new(0).put::<Points>();
            let issuance = Balances::total_issuance();
            MigrateV0ToV1::<Test>::on_runtime_upgrade();
            assert_eq!(free(pot()), POT_INITIAL);
            assert_eq!(Balances::total_issuance(), issuance);
            assert_eq!(Points::on_chain_storage_version(), 1);
        });
    }
}
