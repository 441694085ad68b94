//! A checker-license sale and a delegation through the runtime's calls, on the development
//! genesis: the runtime-level counterpart of the (not yet written) end-to-end test.

use frame_support::{
    assert_ok,
    traits::{tokens::nonfungibles_v2::Inspect, Hooks, TryState, TryStateSelect},
};
use kaisar_primitives::{CheckerSlots, Referrals};
use kaisar_runtime::{
    configs::TreasuryAccount, genesis_config_presets::preset_genesis_config, AccountId,
    AllPalletsWithSystem, BuildStorage, CheckerLicenses, Nfts, Runtime, RuntimeCall, RuntimeOrigin,
    System, UNITS,
};
use pallet_checker_licenses::{Call, LicenseCollection, TierTerms};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{traits::Dispatchable, Perbill};

fn ext() -> sp_io::TestExternalities {
    let storage = preset_genesis_config("development")
        .expect("preset fits the runtime")
        .build_storage()
        .expect("genesis storage builds");
    sp_io::TestExternalities::new(storage)
}

fn call(
    who: Option<&AccountId>,
    c: Call<Runtime>,
) -> frame_support::dispatch::DispatchResultWithPostInfo {
    let origin = match who {
        Some(w) => RuntimeOrigin::signed(w.clone()),
        None => RuntimeOrigin::root(),
    };
    RuntimeCall::CheckerLicenses(c).dispatch(origin)
}

#[test]
fn a_sale_with_a_referral_then_claims_and_a_delegation_through_the_runtime() {
    ext().execute_with(|| {
        System::set_block_number(1);
        let alice = Sr25519Keyring::Alice.to_account_id();
        let bob = Sr25519Keyring::Bob.to_account_id();
        let charlie = Sr25519Keyring::Charlie.to_account_id();
        let dave = Sr25519Keyring::Dave.to_account_id();

        assert_ok!(call(
            Some(&charlie),
            Call::register_referral_code {
                code: b"charlie".to_vec().try_into().unwrap()
            }
        ));
        assert_ok!(call(
            None,
            Call::open_round {
                start: 1,
                end: 10,
                tiers: vec![TierTerms {
                    price: 100 * UNITS,
                    supply: 3
                }]
                .try_into()
                .unwrap(),
                cap_per_wallet: 5,
                allow_list_root: None,
                beneficiary: TreasuryAccount::get(),
            }
        ));
        assert_ok!(call(
            Some(&alice),
            Call::commit {
                round: 0,
                tier: 0,
                licenses: 2,
                referral_code: Some(b"CHARLIE".to_vec().try_into().unwrap()),
                proof: Default::default(),
            }
        ));
        assert_ok!(call(
            Some(&bob),
            Call::commit {
                round: 0,
                tier: 0,
                licenses: 2,
                referral_code: None,
                proof: Default::default()
            }
        ));
        assert_eq!(
            <CheckerLicenses as Referrals<AccountId>>::referrer_of(&alice),
            Some(charlie.clone())
        );

        System::set_block_number(11);
        assert_ok!(call(Some(&bob), Call::settle { round: 0 }));
        assert_ok!(call(Some(&alice), Call::claim { round: 0 }));
        assert_ok!(call(Some(&bob), Call::claim { round: 0 }));

        // 4 committed for 3: the licenses are NFTs in pallet-nfts, 3 in total.
        let collection = LicenseCollection::<Runtime>::get().expect("created at genesis");
        let owner = |i: u32| <Nfts as Inspect<AccountId>>::owner(&collection, &i);
        let alices: Vec<u32> = (0..3)
            .filter(|i| owner(*i) == Some(alice.clone()))
            .collect();
        let bobs = (0..3).filter(|i| owner(*i) == Some(bob.clone())).count();
        assert_eq!(alices.len() + bobs, 3);
        assert!(owner(3).is_none());

        // Alice delegates her first license to Dave, an operator; active from the next epoch.
        assert_ok!(call(
            Some(&dave),
            Call::set_commission {
                commission: Perbill::from_percent(10)
            }
        ));
        assert_ok!(call(
            Some(&alice),
            Call::delegate {
                license: alices[0],
                operator: dave.clone()
            }
        ));
        assert_eq!(
            <CheckerLicenses as CheckerSlots<AccountId>>::slot_count(),
            0
        );
        let boundary = CheckerLicenses::epoch_length();
        System::set_block_number(boundary);
        CheckerLicenses::on_initialize(boundary);
        assert_eq!(
            <CheckerLicenses as CheckerSlots<AccountId>>::slot_count(),
            1
        );
        let slot = <CheckerLicenses as CheckerSlots<AccountId>>::slot(0).unwrap();
        assert_eq!(
            (slot.license, slot.owner, slot.operator),
            (alices[0], alice, dave)
        );
        assert_eq!(slot.commission, Perbill::from_percent(10));

        <AllPalletsWithSystem as TryState<u32>>::try_state(boundary, TryStateSelect::All)
            .expect("invariants hold");
    });
}
