//! The genesis presets build a working state: dev accounts funded, sudo, Aura, para id and the
//! marketplace's demo configuration.

use kaisar_runtime::{
    configs::kaisar::points_pot_account,
    genesis_config_presets::{
        demo_points_holder, dev_accounts, preset_genesis_config, preset_names, DEMO_POINTS,
        DEMO_POT_BALANCE, DEV_ACCOUNT_BALANCE, PARA_ID,
    },
    Balances, BuildStorage, ParachainInfo, Runtime, System,
};
use sp_keyring::Sr25519Keyring;

fn preset_ext(preset: &str) -> sp_io::TestExternalities {
    let storage = preset_genesis_config(preset)
        .expect("preset fits the runtime")
        .build_storage()
        .expect("genesis storage builds");
    sp_io::TestExternalities::new(storage)
}

#[test]
fn both_presets_are_listed_and_unknown_ones_are_rejected() {
    assert_eq!(
        preset_names(),
        vec!["development".to_string(), "local_testnet".to_string()]
    );
    let err = preset_genesis_config("mainnet")
        .err()
        .expect("no mainnet preset");
    assert!(err.contains("development"), "{err}");
}

#[test]
fn development_preset_funds_each_dev_account_with_a_million_units() {
    preset_ext("development").execute_with(|| {
        assert_eq!(dev_accounts().len(), 6);
        for who in dev_accounts() {
            assert_eq!(Balances::free_balance(&who), DEV_ACCOUNT_BALANCE);
            assert_eq!(System::account_nonce(&who), 0);
        }
        assert_eq!(DEV_ACCOUNT_BALANCE, 1_000_000 * kaisar_runtime::UNITS);
    });
}

#[test]
fn development_preset_total_issuance_is_the_sum_of_genesis_balances() {
    preset_ext("development").execute_with(|| {
        let genesis: u128 = preset_genesis_config("development")
            .unwrap()
            .balances
            .balances
            .iter()
            .map(|(_, amount)| *amount)
            .sum();
        assert_eq!(pallet_balances::TotalIssuance::<Runtime>::get(), genesis);
    });
}

#[test]
fn development_preset_makes_alice_sudo_and_sole_aura_authority() {
    preset_ext("development").execute_with(|| {
        assert_eq!(
            pallet_sudo::Key::<Runtime>::get(),
            Some(Sr25519Keyring::Alice.to_account_id())
        );
        let authorities = pallet_aura::Authorities::<Runtime>::get().into_inner();
        assert_eq!(authorities, vec![Sr25519Keyring::Alice.public().into()]);
        assert_eq!(u32::from(ParachainInfo::parachain_id()), PARA_ID);
    });
}

#[test]
fn local_testnet_preset_has_alice_and_bob_as_aura_authorities() {
    preset_ext("local_testnet").execute_with(|| {
        let authorities = pallet_aura::Authorities::<Runtime>::get().into_inner();
        assert_eq!(
            authorities,
            vec![
                Sr25519Keyring::Alice.public().into(),
                Sr25519Keyring::Bob.public().into()
            ]
        );
        assert_eq!(
            pallet_sudo::Key::<Runtime>::get(),
            Some(Sr25519Keyring::Alice.to_account_id())
        );
        for who in dev_accounts() {
            assert_eq!(Balances::free_balance(&who), DEV_ACCOUNT_BALANCE);
        }
    });
}

#[test]
fn treasury_exists_at_genesis_so_fees_can_be_paid_into_it() {
    preset_ext("development").execute_with(|| {
        let treasury = kaisar_runtime::configs::TreasuryAccount::get();
        assert!(Balances::free_balance(&treasury) >= kaisar_runtime::EXISTENTIAL_DEPOSIT);
        assert!(System::account_exists(&treasury));
    });
}

#[test]
fn both_presets_fund_the_promotion_pot_and_give_the_demo_user_points() {
    for preset in ["development", "local_testnet"] {
        preset_ext(preset).execute_with(|| {
            let pot = points_pot_account();
            assert_eq!(Balances::free_balance(&pot), DEMO_POT_BALANCE, "{preset}");
            assert_eq!(pot, pallet_points::Pallet::<Runtime>::pot());
            assert_eq!(demo_points_holder(), Sr25519Keyring::Eve.to_account_id());
            assert_eq!(
                pallet_points::PointsOf::<Runtime>::get(demo_points_holder()),
                DEMO_POINTS
            );
            assert_eq!(pallet_points::TotalPoints::<Runtime>::get(), DEMO_POINTS);
            // Nothing else of the marketplace exists yet: workers register on the running chain.
            assert_eq!(
                pallet_worker_registry::Workers::<Runtime>::iter().count(),
                0
            );
            assert_eq!(pallet_orders::Orders::<Runtime>::iter().count(), 0);
        });
    }
}

#[test]
fn genesis_state_satisfies_every_pallets_invariants() {
    use frame_support::traits::{TryState, TryStateSelect};
    for preset in ["development", "local_testnet"] {
        preset_ext(preset).execute_with(|| {
            <kaisar_runtime::AllPalletsWithSystem as TryState<u32>>::try_state(
                0,
                TryStateSelect::All,
            )
            .unwrap_or_else(|e| panic!("{preset}: {e:?}"));
        });
    }
}

#[test]
fn both_presets_create_the_licenses_collection_owned_by_the_licenses_pallet() {
    use frame_support::traits::tokens::nonfungibles_v2::Inspect;
    for preset in ["development", "local_testnet"] {
        preset_ext(preset).execute_with(|| {
            let collection = pallet_checker_licenses::LicenseCollection::<Runtime>::get()
                .unwrap_or_else(|| panic!("{preset}: no licenses collection"));
            assert_eq!(
                <kaisar_runtime::Nfts as Inspect<_>>::collection_owner(&collection),
                Some(kaisar_runtime::CheckerLicenses::account_id()),
                "{preset}"
            );
        });
    }
}

// ---- the promotion pot always exists (issue #10, item 5) and the runtime's migrations ----

/// Every pallet's `try_state`.
fn assert_every_invariant() {
    use frame_support::traits::{TryState, TryStateSelect};
    <kaisar_runtime::AllPalletsWithSystem as TryState<u32>>::try_state(0, TryStateSelect::All)
        .unwrap_or_else(|e| panic!("{e:?}"));
}

#[test]
fn a_chain_spec_without_a_funded_pot_still_takes_a_one_unit_refund_into_it() {
    use kaisar_primitives::Escrow as _;
    use kaisar_runtime::{Escrow, EXISTENTIAL_DEPOSIT};

    let mut genesis = preset_genesis_config("development").expect("preset fits the runtime");
    genesis
        .balances
        .balances
        .retain(|(who, _)| *who != points_pot_account());
    let storage = genesis.build_storage().expect("genesis storage builds");
    sp_io::TestExternalities::new(storage).execute_with(|| {
        let pot = points_pot_account();
        // The points genesis minted the existential deposit into the pot.
        assert_eq!(Balances::free_balance(&pot), EXISTENTIAL_DEPOSIT);
        assert!(System::account_exists(&pot));

        // A service-failure refund of one unit, paid into the pot out of an escrow (what
        // `pallet-orders` does for a refund as points).
        let alice = Sr25519Keyring::Alice.to_account_id();
        Escrow::lock(1, &alice, 1, None).expect("Alice can escrow one unit");
        let split = Escrow::pay(1, &pot, 1).expect("one unit can be paid into the pot");
        assert_eq!(split.from_payer, 1);
        assert_eq!(Balances::free_balance(&pot), EXISTENTIAL_DEPOSIT + 1);
        assert_every_invariant();
    });
}

#[test]
fn migrations_fund_the_pot_of_a_pre_v1_chain_once_and_keep_every_invariant() {
    use frame_support::traits::{
        fungible::Mutate, GetStorageVersion, OnRuntimeUpgrade, StorageVersion,
    };
    use kaisar_runtime::{Migrations, Points, EXISTENTIAL_DEPOSIT};

    preset_ext("development").execute_with(|| {
        // State in the previous layout: points at storage version 0 and no pot account.
        let pot = points_pot_account();
        <Balances as Mutate<_>>::set_balance(&pot, 0);
        assert!(!System::account_exists(&pot));
        StorageVersion::new(0).put::<Points>();
        let issuance = pallet_balances::TotalIssuance::<Runtime>::get();

        // With the pre- and post-upgrade checks of every migration.
        let weight = <Migrations as OnRuntimeUpgrade>::try_on_runtime_upgrade(true)
            .expect("the migrations and their checks pass");
        assert!(weight.ref_time() > 0);
        assert_eq!(Balances::free_balance(&pot), EXISTENTIAL_DEPOSIT);
        assert_eq!(
            pallet_balances::TotalIssuance::<Runtime>::get(),
            issuance + EXISTENTIAL_DEPOSIT
        );
        assert_eq!(Points::on_chain_storage_version(), 1);
        assert_eq!(
            Points::on_chain_storage_version(),
            Points::in_code_storage_version()
        );
        assert_every_invariant();

        // Running them again changes nothing.
        <Migrations as OnRuntimeUpgrade>::on_runtime_upgrade();
        assert_eq!(Balances::free_balance(&pot), EXISTENTIAL_DEPOSIT);
        assert_eq!(
            pallet_balances::TotalIssuance::<Runtime>::get(),
            issuance + EXISTENTIAL_DEPOSIT
        );
    });
}

#[test]
fn migrations_take_a_v1_orders_pallet_to_v2_with_its_checks() {
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
    use kaisar_runtime::{Migrations, Orders};

    preset_ext("development").execute_with(|| {
        StorageVersion::new(1).put::<Orders>();
        <Migrations as OnRuntimeUpgrade>::try_on_runtime_upgrade(true)
            .expect("the migrations and their checks pass");
        assert_eq!(Orders::on_chain_storage_version(), 2);
        assert_eq!(
            Orders::on_chain_storage_version(),
            Orders::in_code_storage_version()
        );
        assert_every_invariant();
    });
}

#[test]
fn genesis_is_at_the_in_code_storage_version_so_the_migrations_do_nothing() {
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade};
    use kaisar_runtime::{Migrations, Points};

    preset_ext("development").execute_with(|| {
        assert_eq!(
            Points::on_chain_storage_version(),
            Points::in_code_storage_version()
        );
        let pot_before = Balances::free_balance(&points_pot_account());
        <Migrations as OnRuntimeUpgrade>::try_on_runtime_upgrade(true)
            .expect("the migrations and their checks pass");
        assert_eq!(Balances::free_balance(&points_pot_account()), pot_before);
        assert_every_invariant();
    });
}

#[test]
fn dev_presets_accept_dev_cpu_workers_and_the_default_genesis_does_not() {
    use kaisar_runtime::RuntimeGenesisConfig;
    use pallet_worker_registry::DevModelsEnabled;

    for preset in ["development", "local_testnet"] {
        assert!(
            preset_genesis_config(preset)
                .unwrap()
                .worker_registry
                .dev_models,
            "{preset}"
        );
        preset_ext(preset).execute_with(|| assert!(DevModelsEnabled::<Runtime>::get(), "{preset}"));
    }
    // What a production chain spec starts from: no development-only models.
    let default = RuntimeGenesisConfig::default();
    assert!(!default.worker_registry.dev_models);
    let storage = default.build_storage().expect("default genesis builds");
    sp_io::TestExternalities::new(storage)
        .execute_with(|| assert!(!DevModelsEnabled::<Runtime>::get()));
}
