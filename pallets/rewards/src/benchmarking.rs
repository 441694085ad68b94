//! Benchmarks of the rewards pallet (frame-benchmarking v2), each in its worst case.

use super::*;
use crate::Pallet as Rewards;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use kaisar_primitives::{CheckingEpochs, RewardAccrual};
use sp_runtime::traits::Saturating;

const SEED: u32 = 0;

/// Fund the pot with twice the era budget (and the existential deposit).
fn fund_pot<T: Config>() {
    use frame_support::traits::fungible::Inspect;
    let amount = T::EraBudget::get()
        .saturating_mul(2u32.into())
        .saturating_add(T::Currency::minimum_balance());
    T::Currency::set_balance(&Rewards::<T>::pot(), amount);
}

/// Move to the first block of `era`'s finality epoch.
fn finish<T: Config>(era: RewardEra) {
    let b: BlockNumberFor<T> = T::Slots::epoch_start(Rewards::<T>::finality_epoch(era));
    frame_system::Pallet::<T>::set_block_number(b.max(1u32.into()));
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// Accrual in its worst case: a new checker record (the slot set read) replacing its old
    /// score in the totals.
    #[benchmark]
    fn accrue() {
        let operator: T::AccountId = account("operator", 0, SEED);
        #[block]
        {
            Rewards::<T>::checker_agreed(0, 0, &operator);
        }
        assert!(CheckerScores::<T>::get(0, 0).is_some());
    }

    /// Closing an era with every pool earned in (the largest hold).
    #[benchmark]
    fn close_era() {
        fund_pot::<T>();
        let provider: T::AccountId = account("provider", 0, SEED);
        let operator: T::AccountId = account("operator", 0, SEED);
        Rewards::<T>::worker_passed(0, &provider, 1_000);
        Rewards::<T>::usage_delivered(0, &provider, 100);
        Rewards::<T>::checker_agreed(0, 0, &operator);
        finish::<T>(0);
        let caller: T::AccountId = whitelisted_caller();
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), 0);
        assert!(EraBudgets::<T>::get(0).is_some());
    }

    /// A provider's claim of half its vested grant (a transfer on hold, and the referral
    /// share given back to the pot).
    #[benchmark]
    fn claim() {
        fund_pot::<T>();
        let provider: T::AccountId = whitelisted_caller();
        Rewards::<T>::worker_passed(0, &provider, 1_000);
        Rewards::<T>::usage_delivered(0, &provider, 100);
        Rewards::<T>::worker_passed(1, &account("other", 0, SEED), 1_000);
        finish::<T>(0);
        Rewards::<T>::do_close_era(0).expect("closable");
        let later = frame_system::Pallet::<T>::block_number()
            .saturating_add(T::UnlockPeriod::get() / 2u32.into())
            .saturating_add(1u32.into());
        frame_system::Pallet::<T>::set_block_number(later);
        #[extrinsic_call]
        _(RawOrigin::Signed(provider), 0, Beneficiary::Provider(0));
        assert!(EraBudgets::<T>::get(0).expect("closed").spent > 0u32.into());
    }

    /// Dropping a failed worker's record (the worst case of the two kinds: a provider record
    /// and its grant computed; a license record reads no more).
    #[benchmark]
    fn drop_record() {
        fund_pot::<T>();
        let provider: T::AccountId = account("provider", 0, SEED);
        Rewards::<T>::worker_passed(0, &provider, 1_000);
        Rewards::<T>::worker_failed(0);
        Rewards::<T>::worker_passed(1, &account("other", 0, SEED), 1_000);
        finish::<T>(0);
        Rewards::<T>::do_close_era(0).expect("closable");
        let caller: T::AccountId = whitelisted_caller();
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), 0, Beneficiary::Provider(0));
        assert!(ProviderScores::<T>::get(0, 0).is_none());
    }

    impl_benchmark_test_suite!(
        Rewards,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
