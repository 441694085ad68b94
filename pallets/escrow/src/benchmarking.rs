//! Benchmarks of the escrow operations. The pallet has no extrinsics: these measure the
//! [`Escrow`] trait functions, each in its worst case (a sponsored escrow, both holds moving, a
//! payee account to create), so that callers such as `pallet-orders` can include them.

use super::*;
use crate::Pallet as EscrowPallet;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::{Inspect, InspectHold, Mutate};
use kaisar_primitives::Escrow;
use sp_runtime::traits::{One, Saturating, Zero};

const SEED: u32 = 0;
const ID: kaisar_primitives::EscrowId = 1;

/// A unit at least as large as the existential deposit (and never zero).
fn unit<T: Config>() -> BalanceOf<T> {
    T::Currency::minimum_balance().max(One::one())
}

/// A payer and a sponsor, each funded with 1000 units.
fn funded_parties<T: Config>() -> (T::AccountId, T::AccountId) {
    let payer: T::AccountId = account("payer", 0, SEED);
    let sponsor: T::AccountId = account("sponsor", 0, SEED);
    let funds = unit::<T>().saturating_mul(1000u32.into());
    T::Currency::set_balance(&payer, funds);
    T::Currency::set_balance(&sponsor, funds);
    (payer, sponsor)
}

/// A sponsored escrow: 300 units from the payer and 100 from the sponsor.
fn sponsored_escrow<T: Config>() -> (T::AccountId, T::AccountId) {
    let (payer, sponsor) = funded_parties::<T>();
    let u = unit::<T>();
    EscrowPallet::<T>::lock(
        ID,
        &payer,
        u.saturating_mul(300u32.into()),
        Some((&sponsor, u.saturating_mul(100u32.into()))),
    )
    .expect("funded parties can lock");
    (payer, sponsor)
}

fn reason<T: Config>() -> T::RuntimeHoldReason {
    HoldReason::OrderEscrow.into()
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// Worst case: both the payer and the sponsor hold.
    #[benchmark]
    fn lock() {
        let (payer, sponsor) = funded_parties::<T>();
        let u = unit::<T>();
        let amount = u.saturating_mul(300u32.into());
        let sponsor_amount = u.saturating_mul(100u32.into());

        #[block]
        {
            EscrowPallet::<T>::lock(ID, &payer, amount, Some((&sponsor, sponsor_amount)))
                .expect("funded parties can lock");
        }

        assert_eq!(T::Currency::balance_on_hold(&reason::<T>(), &payer), amount);
        assert_eq!(
            T::Currency::balance_on_hold(&reason::<T>(), &sponsor),
            sponsor_amount
        );
    }

    /// Worst case: both holds pay, the payee account is created, the escrow stays open.
    #[benchmark]
    fn pay() {
        let (_payer, _sponsor) = sponsored_escrow::<T>();
        let payee: T::AccountId = account("payee", 0, SEED);
        let amount = unit::<T>().saturating_mul(200u32.into());
        let split;

        #[block]
        {
            split = EscrowPallet::<T>::pay(ID, &payee, amount).expect("escrow holds enough");
        }

        assert!(!split.from_payer.is_zero() && !split.from_sponsor.is_zero());
        assert_eq!(T::Currency::balance(&payee), amount);
    }

    /// Worst case: both holds release and the escrow is removed.
    #[benchmark]
    fn close() {
        let (payer, sponsor) = sponsored_escrow::<T>();

        #[block]
        {
            EscrowPallet::<T>::close(ID).expect("escrow is open");
        }

        assert!(T::Currency::balance_on_hold(&reason::<T>(), &payer).is_zero());
        assert!(T::Currency::balance_on_hold(&reason::<T>(), &sponsor).is_zero());
        assert!(!Escrows::<T>::contains_key(ID));
    }

    impl_benchmark_test_suite!(
        EscrowPallet,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
