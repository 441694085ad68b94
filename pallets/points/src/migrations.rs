//! Storage migrations of the points pallet.

/// v0 -> v1: the promotion pot holds at least the existential deposit.
///
/// Chains started before v1 may have no pot account at all (a genesis that did not fund it, or a
/// pot emptied by governance). Then a service-failure refund below the existential deposit
/// cannot be paid into it (`pallet-balances` refuses deposits that leave an account below the
/// minimum) and the order it refunds stays open. The migration mints the shortfall (at most the
/// existential deposit, once), as the genesis build of v1 does for new chains. No storage
/// layout changes.
pub mod v1 {
    use crate::{BalanceOf, Config, Pallet};
    use frame_support::{
        migrations::VersionedMigration,
        traits::{Get, UncheckedOnRuntimeUpgrade},
        weights::Weight,
    };
    #[cfg(feature = "try-runtime")]
    use {
        alloc::vec::Vec,
        codec::{Decode, Encode},
        frame_support::{ensure, traits::fungible::Inspect},
        sp_runtime::{traits::Saturating, TryRuntimeError},
    };

    /// Tops the pot up to the existential deposit; see the module docs. Run it through
    /// [`MigrateV0ToV1`], which runs it once.
    pub struct InnerMigrateV0ToV1<T>(core::marker::PhantomData<T>);

    impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
        fn on_runtime_upgrade() -> Weight {
            // Fails only if the total issuance would overflow: then leave the pot as it is
            // (try_state reports it) rather than fail the upgrade.
            let _minted: Result<BalanceOf<T>, _> = Pallet::<T>::top_up_pot_to_minimum();
            // The pot's account and the total issuance, each read and written.
            T::DbWeight::get().reads_writes(2, 2)
        }

        /// Records the total issuance before the upgrade.
        #[cfg(feature = "try-runtime")]
        fn pre_upgrade() -> Result<Vec<u8>, TryRuntimeError> {
            Ok(T::Currency::total_issuance().encode())
        }

        /// Checks that the pot holds the existential deposit and that at most the existential
        /// deposit was minted.
        #[cfg(feature = "try-runtime")]
        fn post_upgrade(state: Vec<u8>) -> Result<(), TryRuntimeError> {
            let before = BalanceOf::<T>::decode(&mut &state[..])
                .map_err(|_| "pre_upgrade state does not decode")?;
            let ed = T::Currency::minimum_balance();
            ensure!(
                T::Currency::balance(&Pallet::<T>::pot()) >= ed,
                "the pot holds less than the existential deposit after the upgrade"
            );
            ensure!(
                T::Currency::total_issuance().saturating_sub(before) <= ed,
                "the upgrade minted more than the existential deposit"
            );
            Ok(())
        }
    }

    /// The v0 -> v1 migration, run once (it checks and bumps the storage version).
    pub type MigrateV0ToV1<T> = VersionedMigration<
        0,
        1,
        InnerMigrateV0ToV1<T>,
        Pallet<T>,
        <T as frame_system::Config>::DbWeight,
    >;
}
