//! Benchmarks of the points pallet (frame-benchmarking v2): its two calls, and the
//! [`Points`] trait functions that `pallet-orders` calls (for it to include in its weights),
//! each in its worst case.

use super::*;
use crate::Pallet as PointsPallet;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::{Inspect, Mutate};
use frame_system::RawOrigin;
use kaisar_primitives::Points;
use sp_runtime::traits::{One, Saturating, Zero};

const SEED: u32 = 0;

/// A unit at least as large as the existential deposit (and never zero).
fn unit<T: Config>() -> BalanceOf<T> {
    T::Currency::minimum_balance().max(One::one())
}

/// An account funded with 1000 units.
fn funded<T: Config>(name: &'static str) -> T::AccountId {
    let who: T::AccountId = account(name, 0, SEED);
    T::Currency::set_balance(&who, unit::<T>().saturating_mul(1000u32.into()));
    who
}

/// A discount of 100 units, and an account holding twice the points it costs (so that the
/// spend leaves an entry behind, like a typical partial spend), with the pot funded for it.
fn spender<T: Config>() -> (T::AccountId, BalanceOf<T>, BalanceOf<T>) {
    let who: T::AccountId = account("user", 0, SEED);
    let discount = unit::<T>().saturating_mul(100u32.into());
    let cost = PointsPallet::<T>::points_for_discount(discount).expect("small numbers");
    give_points::<T>(&who, cost.saturating_mul(2u32.into()));
    T::Currency::set_balance(
        &PointsPallet::<T>::pot(),
        unit::<T>().saturating_mul(1000u32.into()),
    );
    (who, cost, discount)
}

/// An account that already holds some points (so a credit updates an existing entry).
fn holder<T: Config>() -> T::AccountId {
    let who: T::AccountId = account("holder", 0, SEED);
    let points = unit::<T>().saturating_mul(10u32.into());
    give_points::<T>(&who, points);
    who
}

/// Credit `points` to `who` directly in storage (keeping `TotalPoints` consistent with
/// whatever the genesis already holds).
fn give_points<T: Config>(who: &T::AccountId, points: BalanceOf<T>) {
    PointsOf::<T>::mutate(who, |p| p.saturating_accrue(points));
    TotalPoints::<T>::mutate(|t| t.saturating_accrue(points));
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// Worst case: from the default to `Tokens` (an entry is written).
    #[benchmark]
    fn set_refund_preference() {
        let who: T::AccountId = account("user", 0, SEED);

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), RefundPreference::Tokens);

        assert_eq!(
            RefundPreferences::<T>::get(&who),
            Some(RefundPreference::Tokens)
        );
    }

    /// Worst case: the pot does not exist yet and is created.
    #[benchmark]
    fn fund_pot() {
        let who = funded::<T>("funder");
        let amount = unit::<T>().saturating_mul(100u32.into());
        let pot = PointsPallet::<T>::pot();
        // Remove the pot if the genesis funded it (nothing holds or freezes its funds).
        T::Currency::set_balance(&pot, Zero::zero());
        let before = T::Currency::balance(&pot);

        #[extrinsic_call]
        _(RawOrigin::Signed(who), amount);

        assert_eq!(T::Currency::balance(&pot), before.saturating_add(amount));
    }

    /// A spend that reads the pot's balance and leaves points behind.
    #[benchmark]
    fn spend() {
        let (who, cost, discount) = spender::<T>();
        let got;

        #[block]
        {
            got = PointsPallet::<T>::spend(&who, cost).expect("enough points, funded pot");
        }

        // Exactly `discount` for rates of at least one point per token unit.
        assert!(got >= discount);
        assert!(!PointsPallet::<T>::points_of(&who).is_zero());
    }

    /// Restore onto an existing entry.
    #[benchmark]
    fn restore() {
        let who = holder::<T>();
        let before = PointsPallet::<T>::points_of(&who);
        let tokens = unit::<T>().saturating_mul(100u32.into());

        #[block]
        {
            PointsPallet::<T>::restore(&who, tokens);
        }

        assert!(PointsPallet::<T>::points_of(&who) > before);
    }

    /// Credit onto an existing entry.
    #[benchmark]
    fn credit_refund() {
        let who = holder::<T>();
        let before = PointsPallet::<T>::points_of(&who);
        let tokens = unit::<T>().saturating_mul(100u32.into());

        #[block]
        {
            PointsPallet::<T>::credit_refund(&who, tokens);
        }

        assert!(PointsPallet::<T>::points_of(&who) >= before);
    }

    impl_benchmark_test_suite!(
        PointsPallet,
        crate::mock::ExtBuilder::default()
            .points(alloc::vec![(1, 7)])
            .build(),
        crate::mock::Test
    );
}
