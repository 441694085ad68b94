//! Benchmarks of the points pallet (frame-benchmarking v2): its two calls, each in its worst
//! case. The [`kaisar_primitives::Points`] functions that `pallet-orders` calls are measured as
//! part of the orders extrinsics' own benchmarks.

use super::*;
use crate::Pallet as PointsPallet;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::{Inspect, Mutate};
use frame_system::RawOrigin;
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

    /// Worst case: the pot does not exist and is created (it always exists unless root reaped
    /// it, see the crate docs).
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

    impl_benchmark_test_suite!(
        PointsPallet,
        crate::mock::ExtBuilder::default()
            .points(alloc::vec![(1, 7)])
            .build(),
        crate::mock::Test
    );
}
