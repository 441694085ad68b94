//! Property test of the sale: for random rounds and commitments, tokens are conserved
//! (`held + paid to the beneficiary + commissions + released = committed`, at every claim and
//! in total) and no tier mints more than its supply (and an oversubscribed tier exactly its
//! supply).

use crate::{mock::*, *};
use frame_support::{
    assert_ok,
    traits::fungible::{Inspect, InspectHold},
    BoundedVec,
};
use proptest::prelude::*;

/// One buyer: its commitments (tier, units) and whether it uses the referral code.
#[derive(Clone, Debug)]
struct Buyer {
    commits: Vec<(u8, u32)>,
    referral: bool,
}

fn buyers_strategy(tiers: usize) -> impl Strategy<Value = Vec<Buyer>> {
    prop::collection::vec(
        (
            prop::collection::vec((0..tiers as u8, 1u32..=8), 1..=3),
            any::<bool>(),
        )
            .prop_map(|(commits, referral)| Buyer { commits, referral }),
        1..40,
    )
}

fn round_strategy() -> impl Strategy<Value = (Vec<(Balance, u32)>, Vec<Buyer>, u64)> {
    prop::collection::vec((1u64..1_000, 1u32..60), 1..=3).prop_flat_map(|tiers| {
        let n = tiers.len();
        (Just(tiers), buyers_strategy(n), any::<u64>())
    })
}

const REFERRER: AccountId = 500;
const FIRST_BUYER: AccountId = 1_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sale_conserves_tokens_and_respects_supply((tiers, buyers, parent) in round_strategy()) {
        let accounts = (0..buyers.len() as u64).map(|i| (FIRST_BUYER + i, 10_000_000)).chain([(REFERRER, 1_000)]);
        ExtBuilder::default().with_accounts(accounts).build().execute_with(|| -> Result<(), TestCaseError> {
            assert_ok!(CheckerLicenses::register_referral_code(
                RuntimeOrigin::signed(REFERRER),
                BoundedVec::try_from(b"ref".to_vec()).unwrap()
            ));
            let terms = BoundedVec::truncate_from(
                tiers.iter().map(|&(price, supply)| TierTerms { price, supply }).collect::<Vec<_>>(),
            );
            assert_ok!(CheckerLicenses::open_round(RuntimeOrigin::root(), 1, 3, terms, 20, None, TREASURY));
            let mut committed_total: Balance = 0;
            let mut committed_units = vec![0u32; tiers.len()];
            for (i, b) in buyers.iter().enumerate() {
                let who = FIRST_BUYER + i as u64;
                for &(tier, units) in &b.commits {
                    let code = b.referral.then(|| BoundedVec::try_from(b"REF".to_vec()).unwrap());
                    // Refusals (second commitment to a tier, cap) are fine; count what was held.
                    if CheckerLicenses::commit(RuntimeOrigin::signed(who), 0, tier, units, code, BoundedVec::new()).is_ok() {
                        committed_total += tiers[tier as usize].0 * units as u64;
                        committed_units[tier as usize] += units;
                    }
                }
            }
            let held_of = |who| Balances::balance_on_hold(&HoldReason::SaleCommitment.into(), &who);
            let all_held = || (0..buyers.len() as u64).map(|i| held_of(FIRST_BUYER + i)).sum::<Balance>();
            prop_assert_eq!(all_held(), committed_total);

            run_to_block(4);
            System::set_parent_hash(sp_core::H256::from_low_u64_be(parent));
            assert_ok!(CheckerLicenses::settle(RuntimeOrigin::signed(ALICE), 0));

            let treasury0 = Balances::balance(&TREASURY);
            let referrer0 = Balances::balance(&REFERRER);
            let (mut paid, mut commissions, mut released) = (0, 0, 0);
            for i in 0..buyers.len() as u64 {
                let who = FIRST_BUYER + i;
                let held_before = held_of(who);
                let free_before = Balances::balance(&who);
                match CheckerLicenses::do_claim(who, 0) {
                    Ok(o) => {
                        prop_assert_eq!(held_before, o.paid + o.commission + o.released);
                        prop_assert_eq!(Balances::balance(&who), free_before + o.released);
                        paid += o.paid;
                        commissions += o.commission;
                        released += o.released;
                    },
                    Err(_) => prop_assert_eq!(held_before, 0),
                }
                prop_assert_eq!(held_of(who), 0);
                // Conservation at every step.
                prop_assert_eq!(all_held() + paid + commissions + released, committed_total);
            }
            prop_assert_eq!(Balances::balance(&TREASURY) - treasury0, paid);
            prop_assert_eq!(Balances::balance(&REFERRER) - referrer0, commissions);
            for (t, &(_, supply)) in tiers.iter().enumerate() {
                let minted = Licenses::<Test>::iter_values().filter(|l| l.tier == t as u8).count() as u32;
                prop_assert!(minted <= supply, "tier {} minted {} > supply {}", t, minted, supply);
                prop_assert_eq!(minted, committed_units[t].min(supply));
            }
            CheckerLicenses::do_try_state().expect("invariants hold");
            Ok(())
        })?;
    }
}
