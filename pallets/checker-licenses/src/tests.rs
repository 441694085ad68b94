//! Mock-runtime tests, one behaviour each.

use crate::{mock::*, *};
use frame_support::{
    assert_noop, assert_ok,
    traits::{
        fungible::{Inspect, InspectHold},
        tokens::nonfungibles_v2::Inspect as NftInspect,
    },
    BoundedVec,
};
use kaisar_primitives::{CheckerSlot, CheckerSlots, Referrals};
use sp_core::H256;
use sp_runtime::{DispatchError, Perbill};

type E = Error<Test>;

fn tiers(v: &[(Balance, u32)]) -> BoundedVec<TierTerms<Balance>, ConstU32Tiers> {
    BoundedVec::truncate_from(
        v.iter()
            .map(|&(price, supply)| TierTerms { price, supply })
            .collect(),
    )
}
type ConstU32Tiers = <Test as Config>::MaxTiers;

/// Open a round in blocks `now..=now+4` with `tiers`, cap `cap`, beneficiary TREASURY.
fn open(t: &[(Balance, u32)], cap: u32, root: Option<H256>) -> RoundId {
    let id = NextRoundId::<Test>::get();
    let now = System::block_number();
    assert_ok!(CheckerLicenses::open_round(
        RuntimeOrigin::root(),
        now,
        now + 4,
        tiers(t),
        cap,
        root,
        TREASURY
    ));
    id
}

fn code(s: &str) -> ReferralCode<Test> {
    BoundedVec::try_from(s.as_bytes().to_vec()).unwrap()
}

fn no_proof() -> BoundedVec<H256, <Test as Config>::MaxProofLen> {
    BoundedVec::new()
}

fn commit(who: AccountId, round: RoundId, tier: Tier, n: u32) -> sp_runtime::DispatchResult {
    CheckerLicenses::commit(RuntimeOrigin::signed(who), round, tier, n, None, no_proof())
}

/// Move past the round's window and settle it.
fn end_and_settle(round: RoundId) {
    let end = Rounds::<Test>::get(round).unwrap().end;
    run_to_block(end + 1);
    assert_ok!(CheckerLicenses::settle(RuntimeOrigin::signed(DAVE), round));
}

fn held(who: AccountId) -> Balance {
    Balances::balance_on_hold(&HoldReason::SaleCommitment.into(), &who)
}

fn collection() -> u32 {
    LicenseCollection::<Test>::get().unwrap()
}

fn owned_by(who: AccountId) -> Vec<LicenseId> {
    let mut v: Vec<_> = Licenses::<Test>::iter_keys().collect::<Vec<_>>();
    v.retain(|l| CheckerLicenses::owner_of(*l) == Some(who));
    v.sort();
    v
}

// ------------------------------------------------------------------------------------------
// Sale
// ------------------------------------------------------------------------------------------

#[test]
fn genesis_creates_the_collection_owned_by_the_pallet() {
    ExtBuilder::default().build_and_execute(|| {
        let c = collection();
        assert_eq!(
            <Nfts as NftInspect<AccountId>>::collection_owner(&c),
            Some(CheckerLicenses::account_id())
        );
    });
}

#[test]
fn full_round_commit_settle_claim_mints_and_pays() {
    ExtBuilder::default().build_and_execute(|| {
        let r = open(&[(100, 10)], 5, None);
        assert_ok!(commit(ALICE, r, 0, 3));
        assert_ok!(commit(BOB, r, 0, 2));
        assert_eq!(held(ALICE), 300);
        assert_eq!(held(BOB), 200);
        assert_eq!(Balances::balance(&ALICE), INITIAL - 300);

        end_and_settle(r);
        assert_ok!(CheckerLicenses::claim(RuntimeOrigin::signed(ALICE), r));
        assert_ok!(CheckerLicenses::claim(RuntimeOrigin::signed(BOB), r));

        assert_eq!(held(ALICE), 0);
        assert_eq!(Balances::total_balance(&ALICE), INITIAL - 300);
        assert_eq!(Balances::total_balance(&BOB), INITIAL - 200);
        assert_eq!(Balances::balance(&TREASURY), INITIAL + 500);
        assert_eq!(owned_by(ALICE), vec![0, 1, 2]);
        assert_eq!(owned_by(BOB), vec![3, 4]);
        // The NFT exists in pallet-nfts with its attributes.
        let c = collection();
        assert_eq!(<Nfts as NftInspect<_>>::owner(&c, &0), Some(ALICE));
        assert_eq!(
            <Nfts as NftInspect<AccountId>>::system_attribute(&c, Some(&0), b"tier"),
            Some(vec![0u8])
        );
        assert_eq!(
            <Nfts as NftInspect<AccountId>>::system_attribute(&c, Some(&0), b"round"),
            Some(codec::Encode::encode(&Some(r)))
        );
        assert_eq!(
            Licenses::<Test>::get(0),
            Some(LicenseInfo {
                tier: 0,
                round: Some(r),
                minted_at: 6
            })
        );
        let round = Rounds::<Test>::get(r).unwrap();
        assert_eq!((round.held, round.unclaimed), (0, 0));
    });
}

#[test]
fn oversubscribed_tier_allocates_pro_rata_with_exact_total() {
    ExtBuilder::default().build_and_execute(|| {
        // 15 committed for 10: shares 7*10/15 = 4.67, 5*10/15 = 3.33, 3*10/15 = 2.
        let r = open(&[(10, 10)], 20, None);
        assert_ok!(commit(ALICE, r, 0, 7));
        assert_ok!(commit(BOB, r, 0, 5));
        assert_ok!(commit(CHARLIE, r, 0, 3));
        end_and_settle(r);
        let sale = Rounds::<Test>::get(r).unwrap().tiers[0].clone();
        assert!(sale.offset < 15);
        let mut total = 0;
        for (who, units, position) in [(ALICE, 7u32, 0u32), (BOB, 5, 7), (CHARLIE, 3, 12)] {
            let expected = allocation(position, units, 15, 10, sale.offset);
            let floor = units * 10 / 15;
            assert!(expected == floor || expected == floor + 1);
            assert_ok!(CheckerLicenses::claim(RuntimeOrigin::signed(who), r));
            assert_eq!(owned_by(who).len() as u32, expected);
            // Paid exactly the allocated licenses; the rest released.
            assert_eq!(
                Balances::total_balance(&who),
                INITIAL - 10 * expected as u64
            );
            total += expected;
        }
        assert_eq!(total, 10);
        assert_eq!(Balances::balance(&TREASURY), INITIAL + 100);
    });
}

#[test]
fn allocation_rule_sums_to_supply_for_every_offset() {
    // Many buyers with uneven commitments; every offset; the total is exactly the supply and
    // each buyer gets its pro-rata share rounded down or up.
    let units: Vec<u32> = (0..997u32).map(|i| 1 + (i * 7919) % 13).collect();
    let committed: u32 = units.iter().sum();
    for supply in [1u32, 2, 100, 997, committed - 1] {
        for offset in (0..committed).step_by(37).chain([committed - 1]) {
            let mut position = 0;
            let mut total = 0;
            for &u in &units {
                let a = allocation(position, u, committed, supply, offset);
                let floor = (u as u64 * supply as u64 / committed as u64) as u32;
                assert!(a == floor || a == floor + 1, "a={a} floor={floor}");
                total += a;
                position += u;
            }
            assert_eq!(total, supply, "supply {supply} offset {offset}");
        }
    }
    // Not oversubscribed: everyone gets everything.
    assert_eq!(allocation(5, 3, 10, 10, 0), 3);
}

#[test]
fn per_wallet_cap_counts_all_tiers() {
    ExtBuilder::default().build_and_execute(|| {
        let r = open(&[(10, 100), (20, 100)], 5, None);
        assert_ok!(commit(ALICE, r, 0, 3));
        assert_noop!(commit(ALICE, r, 1, 3), E::CapExceeded);
        assert_ok!(commit(ALICE, r, 1, 2));
        assert_noop!(commit(BOB, r, 0, 6), E::CapExceeded);
        assert_noop!(commit(ALICE, r, 0, 0), E::ZeroLicenses);
    });
}

#[test]
fn second_commitment_to_the_same_tier_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        let r = open(&[(10, 100)], 5, None);
        assert_ok!(commit(ALICE, r, 0, 1));
        assert_noop!(commit(ALICE, r, 0, 1), E::AlreadyCommittedToTier);
    });
}

#[test]
fn allow_list_admits_only_listed_accounts_with_a_valid_proof() {
    ExtBuilder::default().build_and_execute(|| {
        let leaves: Vec<H256> = [ALICE, BOB, CHARLIE]
            .iter()
            .map(allow_list::allow_list_leaf::<AccountId>)
            .collect();
        let (root, alice_proof) = allow_list::allow_list_root_and_proof(&leaves, 0);
        let (_, charlie_proof) = allow_list::allow_list_root_and_proof(&leaves, 2);
        let r = open(&[(10, 100)], 5, Some(root));
        let p = |v: Vec<H256>| BoundedVec::try_from(v).unwrap();
        assert_noop!(
            CheckerLicenses::commit(
                RuntimeOrigin::signed(DAVE),
                r,
                0,
                1,
                None,
                p(alice_proof.clone())
            ),
            E::NotAllowListed
        );
        assert_noop!(commit(ALICE, r, 0, 1), E::NotAllowListed);
        assert_noop!(
            CheckerLicenses::commit(
                RuntimeOrigin::signed(ALICE),
                r,
                0,
                1,
                None,
                p(charlie_proof.clone())
            ),
            E::NotAllowListed
        );
        assert_ok!(CheckerLicenses::commit(
            RuntimeOrigin::signed(ALICE),
            r,
            0,
            1,
            None,
            p(alice_proof)
        ));
        assert_ok!(CheckerLicenses::commit(
            RuntimeOrigin::signed(CHARLIE),
            r,
            0,
            1,
            None,
            p(charlie_proof)
        ));
    });
}

#[test]
fn referral_gives_discount_and_commission_on_the_allocated_part_only() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::register_referral_code(
            RuntimeOrigin::signed(CHARLIE),
            code("Kaisar-1")
        ));
        // Oversubscribed 2x: ALICE (with code) and BOB commit 10 each for 10 licenses.
        let r = open(&[(1_000, 10)], 10, None);
        assert_ok!(CheckerLicenses::commit(
            RuntimeOrigin::signed(ALICE),
            r,
            0,
            10,
            Some(code("KAISAR-1")),
            no_proof()
        ));
        assert_eq!(CheckerLicenses::referrer_of(&ALICE), Some(CHARLIE));
        assert_ok!(commit(BOB, r, 0, 10));
        end_and_settle(r);
        let charlie_before = Balances::balance(&CHARLIE);
        assert_ok!(CheckerLicenses::claim(RuntimeOrigin::signed(ALICE), r));
        let a = owned_by(ALICE).len() as u64;
        assert_eq!(a, 5); // 10 * 10 / 20 exactly
        let gross = 1_000 * a;
        let discount = gross * 5 / 100;
        let commission = gross * 10 / 100;
        assert_eq!(
            Balances::total_balance(&ALICE),
            INITIAL - (gross - discount)
        );
        assert_eq!(Balances::balance(&CHARLIE), charlie_before + commission);
        assert_eq!(
            Balances::balance(&TREASURY),
            INITIAL + gross - discount - commission
        );
        System::assert_has_event(
            Event::Claimed {
                round: r,
                who: ALICE,
                licenses: 5,
                paid: gross - discount - commission,
                commission,
                discount,
                released: 10_000 - (gross - discount),
            }
            .into(),
        );
    });
}

#[test]
fn self_referral_unknown_code_and_mixed_codes_are_refused() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::register_referral_code(
            RuntimeOrigin::signed(ALICE),
            code("alice")
        ));
        assert_ok!(CheckerLicenses::register_referral_code(
            RuntimeOrigin::signed(BOB),
            code("bob")
        ));
        let r = open(&[(10, 100), (10, 100)], 10, None);
        let c = |who, tier, s: &str| {
            CheckerLicenses::commit(
                RuntimeOrigin::signed(who),
                r,
                tier,
                1,
                Some(code(s)),
                no_proof(),
            )
        };
        assert_noop!(c(ALICE, 0, "ALICE"), E::SelfReferral);
        assert_noop!(c(ALICE, 0, "nobody"), E::UnknownReferralCode);
        assert_noop!(c(ALICE, 0, "a!"), E::UnknownReferralCode);
        assert_ok!(c(CHARLIE, 0, "bob"));
        assert_noop!(c(CHARLIE, 1, "alice"), E::ReferralMismatch);
        // Without a code the first referrer still applies.
        assert_ok!(commit(CHARLIE, r, 1, 1));
        assert_eq!(
            Commitments::<Test>::get(r, CHARLIE).unwrap().referrer,
            Some(BOB)
        );
        // The referrer of an account is recorded once.
        let r2 = open(&[(10, 100)], 10, None);
        assert_ok!(CheckerLicenses::commit(
            RuntimeOrigin::signed(CHARLIE),
            r2,
            0,
            1,
            Some(code("alice")),
            no_proof()
        ));
        assert_eq!(CheckerLicenses::referrer_of(&CHARLIE), Some(BOB));
    });
}

#[test]
fn referral_codes_are_unique_ignoring_case_and_validated() {
    ExtBuilder::default().build_and_execute(|| {
        let reg = |who, s: &str| {
            CheckerLicenses::register_referral_code(RuntimeOrigin::signed(who), code(s))
        };
        assert_noop!(reg(ALICE, "ab"), E::InvalidCode);
        assert_noop!(reg(ALICE, "a b c"), E::InvalidCode);
        assert_noop!(reg(ALICE, "ümlaut"), E::InvalidCode);
        assert_ok!(reg(ALICE, "Kaisar_01"));
        assert_eq!(ReferralCodes::<Test>::get(code("kaisar_01")), Some(ALICE));
        assert_noop!(reg(BOB, "KAISAR_01"), E::CodeTaken);
        assert_noop!(reg(ALICE, "another"), E::AlreadyHasCode);
    });
}

#[test]
fn oversized_inputs_are_refused() {
    ExtBuilder::default().build_and_execute(|| {
        use codec::{Decode, Encode};
        // A code longer than MaxCodeLen (12) does not even decode.
        let long = vec![b'a'; 13].encode();
        assert!(ReferralCode::<Test>::decode(&mut &long[..]).is_err());
        // Too many tiers do not decode either.
        let many = vec![
            TierTerms::<Balance> {
                price: 1,
                supply: 1
            };
            4
        ]
        .encode();
        assert!(BoundedVec::<TierTerms<Balance>, ConstU32Tiers>::decode(&mut &many[..]).is_err());
        // Caps and grants above MaxPerWallet (20) are refused.
        let now = System::block_number();
        assert_noop!(
            CheckerLicenses::open_round(
                RuntimeOrigin::root(),
                now,
                now + 1,
                tiers(&[(1, 1)]),
                21,
                None,
                TREASURY
            ),
            E::InvalidCap
        );
        assert_noop!(
            CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 21),
            E::CapExceeded
        );
    });
}

#[test]
fn open_round_validates_its_terms() {
    ExtBuilder::default().build_and_execute(|| {
        run_to_block(5);
        let o = |s, e, t: &[(Balance, u32)], cap| {
            CheckerLicenses::open_round(RuntimeOrigin::root(), s, e, tiers(t), cap, None, TREASURY)
        };
        assert_noop!(o(4, 10, &[(1, 1)], 1), E::InvalidWindow);
        assert_noop!(o(10, 9, &[(1, 1)], 1), E::InvalidWindow);
        assert_noop!(o(5, 9, &[], 1), E::InvalidTiers);
        assert_noop!(o(5, 9, &[(0, 1)], 1), E::InvalidTiers);
        assert_noop!(o(5, 9, &[(1, 0)], 1), E::InvalidTiers);
        assert_noop!(o(5, 9, &[(1, 1)], 0), E::InvalidCap);
        assert_noop!(
            CheckerLicenses::open_round(
                RuntimeOrigin::signed(ALICE),
                5,
                9,
                tiers(&[(1, 1)]),
                1,
                None,
                ALICE
            ),
            DispatchError::BadOrigin
        );
    });
}

#[test]
fn commit_outside_the_window_or_to_unknown_things_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        let now = System::block_number();
        assert_ok!(CheckerLicenses::open_round(
            RuntimeOrigin::root(),
            now + 2,
            now + 4,
            tiers(&[(30, 10)]),
            5,
            None,
            TREASURY
        ));
        assert_noop!(commit(ALICE, 0, 0, 1), E::NotInWindow);
        assert_noop!(commit(ALICE, 7, 0, 1), E::UnknownRound);
        run_to_block(now + 2);
        assert_noop!(commit(ALICE, 0, 1, 1), E::UnknownTier);
        assert_noop!(commit(POOR, 0, 0, 5), E::InsufficientBalance);
        assert_ok!(commit(ALICE, 0, 0, 1));
        run_to_block(now + 5);
        assert_noop!(commit(BOB, 0, 0, 1), E::NotInWindow);
    });
}

#[test]
fn settle_and_claim_refuse_the_wrong_state() {
    ExtBuilder::default().build_and_execute(|| {
        let r = open(&[(10, 10)], 5, None);
        assert_ok!(commit(ALICE, r, 0, 2));
        assert_noop!(
            CheckerLicenses::settle(RuntimeOrigin::signed(BOB), r),
            E::RoundNotEnded
        );
        assert_noop!(
            CheckerLicenses::claim(RuntimeOrigin::signed(ALICE), r),
            E::NotSettled
        );
        assert_noop!(
            CheckerLicenses::settle(RuntimeOrigin::signed(BOB), 9),
            E::UnknownRound
        );
        assert_noop!(
            CheckerLicenses::settle(RuntimeOrigin::none(), r),
            DispatchError::BadOrigin
        );
        end_and_settle(r);
        assert_noop!(
            CheckerLicenses::settle(RuntimeOrigin::signed(BOB), r),
            E::AlreadySettled
        );
        assert_noop!(
            CheckerLicenses::claim(RuntimeOrigin::signed(BOB), r),
            E::NothingToClaim
        );
        assert_ok!(CheckerLicenses::claim(RuntimeOrigin::signed(ALICE), r));
        // Replay.
        assert_noop!(
            CheckerLicenses::claim(RuntimeOrigin::signed(ALICE), r),
            E::NothingToClaim
        );
        assert_eq!(owned_by(ALICE).len(), 2);
    });
}

#[test]
fn grant_mints_through_the_mint_origin_only() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(
            CheckerLicenses::grant(RuntimeOrigin::signed(ALICE), ALICE, 1, 1),
            DispatchError::BadOrigin
        );
        assert_noop!(
            CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 1, 0),
            E::ZeroLicenses
        );
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 1, 2));
        assert_eq!(owned_by(ALICE), vec![0, 1]);
        assert_eq!(Licenses::<Test>::get(1).unwrap().round, None);
        // Nobody mints through pallet-nfts directly (the pallet account is the only issuer).
        assert!(pallet_nfts::Pallet::<Test>::mint(
            RuntimeOrigin::signed(ALICE),
            collection(),
            99,
            ALICE,
            None
        )
        .is_err());
    });
}

// ------------------------------------------------------------------------------------------
// Delegation and slots
// ------------------------------------------------------------------------------------------

fn slot(i: u32) -> Option<CheckerSlot<AccountId>> {
    <CheckerLicenses as CheckerSlots<AccountId>>::slot(i)
}

fn slot_count() -> u32 {
    <CheckerLicenses as CheckerSlots<AccountId>>::slot_count()
}

#[test]
fn genesis_epoch_length_replaces_the_default() {
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(CheckerLicenses::epoch_length(), EPOCH);
    });
    let short = 4;
    assert_ne!(short, EPOCH);
    ExtBuilder::default()
        .with_epoch_length(short)
        .build_and_execute(|| {
            assert_eq!(CheckerLicenses::epoch_length(), short);
            assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 1));
            assert_ok!(CheckerLicenses::delegate(
                RuntimeOrigin::signed(ALICE),
                0,
                ALICE
            ));
            run_to_block(short - 1);
            assert_eq!(slot_count(), 0);
            run_to_block(short);
            assert_eq!(CurrentEpoch::<Test>::get(), 1);
            assert_eq!(slot_count(), 1);
        });
}

#[test]
#[should_panic(expected = "at least one block")]
fn genesis_refuses_a_zero_epoch_length() {
    ExtBuilder::default().with_epoch_length(0).build();
}

#[test]
fn delegation_takes_effect_at_the_next_epoch_and_undelegation_too() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 2));
        assert_ok!(CheckerLicenses::set_commission(
            RuntimeOrigin::signed(OPERATOR),
            Perbill::from_percent(10)
        ));
        run_to_block(3);
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            0,
            OPERATOR
        ));
        assert_eq!(slot_count(), 0);
        run_to_block(EPOCH - 1);
        assert_eq!(slot_count(), 0);
        run_to_epoch(1);
        assert_eq!(
            <CheckerLicenses as CheckerSlots<AccountId>>::current_epoch(),
            1
        );
        assert_eq!(slot_count(), 1);
        assert_eq!(
            slot(0),
            Some(CheckerSlot {
                license: 0,
                owner: ALICE,
                operator: OPERATOR,
                commission: Perbill::from_percent(10)
            })
        );
        assert_eq!(
            <CheckerLicenses as CheckerSlots<AccountId>>::slot_of(0),
            Some(0)
        );
        // Undelegate mid-epoch: the slot stays until the epoch ends.
        run_to_block(EPOCH + 4);
        assert_ok!(CheckerLicenses::undelegate(RuntimeOrigin::signed(ALICE), 0));
        assert_eq!(slot_count(), 1);
        run_to_epoch(2);
        assert_eq!(slot_count(), 0);
        assert_eq!(slot(0), None);
        assert_eq!(Operators::<Test>::get(OPERATOR).unwrap().delegated, 0);
    });
}

#[test]
fn self_delegation_needs_no_registration_and_has_no_commission() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 1));
        assert_noop!(
            CheckerLicenses::delegate(RuntimeOrigin::signed(ALICE), 0, OPERATOR),
            E::UnknownOperator
        );
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            0,
            ALICE
        ));
        assert_noop!(
            CheckerLicenses::delegate(RuntimeOrigin::signed(ALICE), 0, ALICE),
            E::AlreadyDelegated
        );
        run_to_epoch(1);
        assert_eq!(
            slot(0),
            Some(CheckerSlot {
                license: 0,
                owner: ALICE,
                operator: ALICE,
                commission: Perbill::zero()
            })
        );
    });
}

#[test]
fn redelegation_moves_the_slot_at_the_next_epoch() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 1));
        assert_ok!(CheckerLicenses::set_commission(
            RuntimeOrigin::signed(OPERATOR),
            Perbill::from_percent(10)
        ));
        assert_ok!(CheckerLicenses::set_commission(
            RuntimeOrigin::signed(OPERATOR2),
            Perbill::from_percent(20)
        ));
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            0,
            OPERATOR
        ));
        run_to_epoch(1);
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            0,
            OPERATOR2
        ));
        assert_eq!(slot(0).unwrap().operator, OPERATOR);
        run_to_epoch(2);
        assert_eq!(slot(0).unwrap().operator, OPERATOR2);
        assert_eq!(slot(0).unwrap().commission, Perbill::from_percent(20));
        assert_eq!(Operators::<Test>::get(OPERATOR).unwrap().delegated, 0);
        assert_eq!(Operators::<Test>::get(OPERATOR2).unwrap().delegated, 1);
    });
}

#[test]
fn slots_stay_dense_after_swap_remove() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 4));
        for l in 0..4 {
            assert_ok!(CheckerLicenses::delegate(
                RuntimeOrigin::signed(ALICE),
                l,
                ALICE
            ));
        }
        run_to_epoch(1);
        assert_eq!(slot_count(), 4);
        assert_ok!(CheckerLicenses::undelegate(RuntimeOrigin::signed(ALICE), 1));
        run_to_epoch(2);
        assert_eq!(slot_count(), 3);
        let mut seen: Vec<_> = (0..3).map(|i| slot(i).unwrap().license).collect();
        seen.sort();
        assert_eq!(seen, vec![0, 2, 3]);
        for i in 0..3 {
            assert_eq!(SlotOf::<Test>::get(slot(i).unwrap().license), Some(i));
        }
        assert_eq!(slot(3), None);
    });
}

#[test]
fn undelegate_then_delegate_in_one_epoch_keeps_the_slot() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 1));
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            0,
            ALICE
        ));
        run_to_epoch(1);
        assert_ok!(CheckerLicenses::undelegate(RuntimeOrigin::signed(ALICE), 0));
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            0,
            ALICE
        ));
        assert_eq!(PendingQueue::<Test>::get().len(), 1);
        run_to_epoch(2);
        assert_eq!(slot_count(), 1);
    });
}

#[test]
fn commission_increase_waits_the_delay_and_decrease_the_next_epoch() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 1));
        assert_ok!(CheckerLicenses::set_commission(
            RuntimeOrigin::signed(OPERATOR),
            Perbill::from_percent(10)
        ));
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            0,
            OPERATOR
        ));
        run_to_epoch(1);
        assert_ok!(CheckerLicenses::set_commission(
            RuntimeOrigin::signed(OPERATOR),
            Perbill::from_percent(30)
        ));
        // Raised in epoch 1: applies from epoch 1 + 1 + 2 = 4.
        for e in [1, 2, 3] {
            run_to_epoch(e);
            assert_eq!(
                slot(0).unwrap().commission,
                Perbill::from_percent(10),
                "epoch {e}"
            );
        }
        run_to_epoch(4);
        assert_eq!(slot(0).unwrap().commission, Perbill::from_percent(30));
        // A decrease applies from the next epoch, not mid-epoch.
        assert_ok!(CheckerLicenses::set_commission(
            RuntimeOrigin::signed(OPERATOR),
            Perbill::from_percent(5)
        ));
        assert_eq!(slot(0).unwrap().commission, Perbill::from_percent(30));
        run_to_epoch(5);
        assert_eq!(slot(0).unwrap().commission, Perbill::from_percent(5));
        assert_noop!(
            CheckerLicenses::set_commission(
                RuntimeOrigin::signed(OPERATOR),
                Perbill::from_percent(51)
            ),
            E::CommissionTooHigh
        );
    });
}

#[test]
fn transfer_of_a_delegated_license_is_blocked_until_its_slot_ends() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 1));
        let c = collection();
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            0,
            ALICE
        ));
        assert_noop!(
            Nfts::transfer(RuntimeOrigin::signed(ALICE), c, 0, BOB),
            pallet_nfts::Error::<Test>::ItemLocked
        );
        assert_noop!(
            Nfts::burn(RuntimeOrigin::signed(ALICE), c, 0),
            pallet_nfts::Error::<Test>::ItemLocked
        );
        run_to_epoch(1);
        assert_ok!(CheckerLicenses::undelegate(RuntimeOrigin::signed(ALICE), 0));
        // Still in this epoch's slot set.
        assert_noop!(
            Nfts::transfer(RuntimeOrigin::signed(ALICE), c, 0, BOB),
            pallet_nfts::Error::<Test>::ItemLocked
        );
        run_to_epoch(2);
        assert_ok!(Nfts::transfer(RuntimeOrigin::signed(ALICE), c, 0, BOB));
        // The new owner may delegate; the old one may not.
        assert_noop!(
            CheckerLicenses::delegate(RuntimeOrigin::signed(ALICE), 0, ALICE),
            E::NotOwner
        );
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(BOB),
            0,
            BOB
        ));
    });
}

#[test]
fn operator_cap_limits_accepted_licenses() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 2));
        assert_noop!(
            CheckerLicenses::set_max_licenses(RuntimeOrigin::signed(OPERATOR), Some(1)),
            E::UnknownOperator
        );
        assert_ok!(CheckerLicenses::set_commission(
            RuntimeOrigin::signed(OPERATOR),
            Perbill::zero()
        ));
        assert_ok!(CheckerLicenses::set_max_licenses(
            RuntimeOrigin::signed(OPERATOR),
            Some(1)
        ));
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            0,
            OPERATOR
        ));
        assert_noop!(
            CheckerLicenses::delegate(RuntimeOrigin::signed(ALICE), 1, OPERATOR),
            E::OperatorFull
        );
        assert_ok!(CheckerLicenses::set_max_licenses(
            RuntimeOrigin::signed(OPERATOR),
            None
        ));
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            1,
            OPERATOR
        ));
    });
}

#[test]
fn delegation_calls_refuse_wrong_callers_and_states() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 1));
        assert_noop!(
            CheckerLicenses::delegate(RuntimeOrigin::signed(BOB), 0, BOB),
            E::NotOwner
        );
        assert_noop!(
            CheckerLicenses::delegate(RuntimeOrigin::signed(BOB), 5, BOB),
            E::UnknownLicense
        );
        assert_noop!(
            CheckerLicenses::undelegate(RuntimeOrigin::signed(ALICE), 0),
            E::NotDelegated
        );
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            0,
            ALICE
        ));
        assert_noop!(
            CheckerLicenses::undelegate(RuntimeOrigin::signed(BOB), 0),
            E::NotOwner
        );
        assert_noop!(
            CheckerLicenses::delegate(RuntimeOrigin::none(), 0, ALICE),
            DispatchError::BadOrigin
        );
        assert_noop!(
            CheckerLicenses::set_commission(RuntimeOrigin::root(), Perbill::zero()),
            DispatchError::BadOrigin
        );
    });
}

#[test]
fn a_full_pending_queue_refuses_changes_until_the_boundary() {
    ExtBuilder::default().build_and_execute(|| {
        assert_ok!(CheckerLicenses::grant(RuntimeOrigin::root(), ALICE, 0, 9));
        for l in 0..8 {
            assert_ok!(CheckerLicenses::delegate(
                RuntimeOrigin::signed(ALICE),
                l,
                ALICE
            ));
        }
        assert_noop!(
            CheckerLicenses::delegate(RuntimeOrigin::signed(ALICE), 8, ALICE),
            E::PendingQueueFull
        );
        run_to_epoch(1);
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(ALICE),
            8,
            ALICE
        ));
        run_to_epoch(2);
        assert_eq!(slot_count(), 9);
    });
}

#[test]
fn referrals_trait_reports_the_recorded_referrer() {
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(
            <CheckerLicenses as Referrals<AccountId>>::referrer_of(&ALICE),
            None
        );
        assert_ok!(CheckerLicenses::register_referral_code(
            RuntimeOrigin::signed(BOB),
            code("bobby")
        ));
        let r = open(&[(10, 10)], 5, None);
        assert_ok!(CheckerLicenses::commit(
            RuntimeOrigin::signed(ALICE),
            r,
            0,
            1,
            Some(code("bobby")),
            no_proof()
        ));
        assert_eq!(
            <CheckerLicenses as Referrals<AccountId>>::referrer_of(&ALICE),
            Some(BOB)
        );
    });
}

#[test]
fn try_state_detects_a_hold_that_differs_from_the_commitments() {
    ExtBuilder::default().build().execute_with(|| {
        let r = open(&[(10, 10)], 5, None);
        assert_ok!(commit(ALICE, r, 0, 2));
        assert_ok!(CheckerLicenses::do_try_state());
        Commitments::<Test>::mutate(r, ALICE, |c| c.as_mut().unwrap().held = 5);
        assert!(CheckerLicenses::do_try_state().is_err());
    });
}

#[test]
fn a_round_of_100_000_commitments_allocates_exactly_its_supply() {
    // Settlement is O(tiers) whatever the number of buyers; each claim computes its own share.
    // Here: 100,000 commitments of 1 to 20 licenses for a supply of 50,000, three offsets.
    let units: Vec<u32> = (0..100_000u32)
        .map(|i| 1 + (i.wrapping_mul(2_654_435_761) >> 7) % 20)
        .collect();
    let committed: u32 = units.iter().sum();
    let supply = 50_000;
    assert!(committed > supply);
    for offset in [0, committed / 3, committed - 1] {
        let mut position = 0;
        let mut total = 0u32;
        let mut rounded_up = 0u32;
        for &u in &units {
            let a = allocation(position, u, committed, supply, offset);
            let floor = (u as u64 * supply as u64 / committed as u64) as u32;
            assert!(a == floor || a == floor + 1);
            rounded_up += a - floor;
            total += a;
            position += u;
        }
        assert_eq!(total, supply);
        // The leftover is fewer than the number of buyers.
        assert!(rounded_up < units.len() as u32);
    }
}

#[test]
fn checking_epochs_schedule_matches_the_slot_set_epochs() {
    use kaisar_primitives::CheckingEpochs;
    ExtBuilder::default().build_and_execute(|| {
        type P = CheckerLicenses;
        assert_eq!(<P as CheckingEpochs<u64>>::epoch_length(), EPOCH);
        for e in 0..5u32 {
            let s = <P as CheckingEpochs<u64>>::epoch_start(e);
            assert_eq!(s, e as u64 * EPOCH);
            assert_eq!(<P as CheckingEpochs<u64>>::epoch_of(s), e);
            assert_eq!(<P as CheckingEpochs<u64>>::epoch_of(s + EPOCH - 1), e);
        }
        run_to_epoch(3);
        assert_eq!(
            <P as CheckerSlots<AccountId>>::current_epoch(),
            <P as CheckingEpochs<u64>>::epoch_of(System::block_number())
        );
        assert_eq!(
            <P as CheckingEpochs<u64>>::epoch_start(u32::MAX),
            u64::from(u32::MAX) * EPOCH
        );
    });
}
