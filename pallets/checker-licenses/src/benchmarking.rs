//! Benchmarks of the checker-licenses pallet (frame-benchmarking v2): every call and the epoch
//! hook, each in its worst case.

use super::*;
use crate::Pallet as CheckerLicenses;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
    traits::{fungible::Mutate, EnsureOrigin, Get, Hooks},
    BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_core::H256;
use sp_runtime::{
    traits::{One, Saturating},
    Perbill,
};

const SEED: u32 = 0;

/// A price at least as large as the existential deposit.
fn price<T: Config>() -> BalanceOf<T> {
    use frame_support::traits::fungible::Inspect;
    T::Currency::minimum_balance()
        .max(One::one())
        .saturating_mul(10u32.into())
}

/// An account funded for `MaxPerWallet` licenses of every tier, several times over.
fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
    let who: T::AccountId = account(name, i, SEED);
    let amount =
        price::<T>().saturating_mul((T::MaxPerWallet::get() * T::MaxTiers::get() * 4 + 100).into());
    T::Currency::set_balance(&who, amount);
    who
}

fn tier_terms<T: Config>(n: u32, supply: u32) -> BoundedVec<TierTerms<BalanceOf<T>>, T::MaxTiers> {
    BoundedVec::truncate_from(
        (0..n)
            .map(|_| TierTerms {
                price: price::<T>(),
                supply,
            })
            .collect::<Vec<_>>(),
    )
}

/// Open a round with `tiers` tiers of `supply` each, window `now..=now+10`, cap MaxPerWallet.
fn open<T: Config>(tiers: u32, supply: u32, root: Option<H256>) -> RoundId {
    let now = frame_system::Pallet::<T>::block_number();
    let id = NextRoundId::<T>::get();
    let beneficiary = funded::<T>("beneficiary", 0);
    CheckerLicenses::<T>::do_open_round(
        now,
        now.saturating_add(10u32.into()),
        tier_terms::<T>(tiers, supply),
        T::MaxPerWallet::get(),
        root,
        beneficiary,
    )
    .expect("valid round");
    id
}

/// A registered referral code owned by a fresh account.
fn referral<T: Config>() -> ReferralCode<T> {
    let owner = funded::<T>("referrer", 0);
    let code: ReferralCode<T> =
        BoundedVec::truncate_from(alloc::vec![b'r'; T::MaxCodeLen::get() as usize]);
    CheckerLicenses::<T>::do_register_referral_code(owner, code.clone()).expect("fresh code");
    code
}

fn set_block<T: Config>(n: BlockNumberFor<T>) {
    frame_system::Pallet::<T>::set_block_number(n);
}

/// A registered operator with a commission, a pending change and a cap.
fn operator<T: Config>(i: u32) -> T::AccountId {
    let op = funded::<T>("operator", i);
    CheckerLicenses::<T>::do_set_commission(op.clone(), Perbill::zero()).expect("register");
    CheckerLicenses::<T>::do_set_max_licenses(op.clone(), Some(u32::MAX)).expect("registered");
    op
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn open_round(t: Linear<1, { T::MaxTiers::get() }>) {
        let origin = T::SaleOrigin::try_successful_origin()
            .map_err(|_| BenchmarkError::Weightless)
            .unwrap();
        let now = frame_system::Pallet::<T>::block_number();
        let beneficiary = funded::<T>("beneficiary", 0);
        let root = Some(H256::repeat_byte(1));
        #[extrinsic_call]
        _(
            origin as T::RuntimeOrigin,
            now.saturating_add(10u32.into()),
            now.saturating_add(20u32.into()),
            tier_terms::<T>(t, 100),
            T::MaxPerWallet::get(),
            root,
            beneficiary,
        );
        assert!(Rounds::<T>::contains_key(NextRoundId::<T>::get() - 1));
    }

    /// Worst case: allow-list proof of `p` nodes, a referral code (recorded as referrer), and
    /// an earlier commitment of the buyer in another tier.
    #[benchmark]
    fn commit(p: Linear<0, { T::MaxProofLen::get() }>) {
        let buyer = funded::<T>("buyer", 0);
        let siblings: Vec<H256> = (0..p).map(|i| H256::repeat_byte(i as u8 + 1)).collect();
        let root = siblings
            .iter()
            .fold(allow_list::allow_list_leaf(&buyer), |acc, s| {
                allow_list::allow_list_node(acc, *s)
            });
        let tiers = T::MaxTiers::get();
        let round = open::<T>(tiers, 100, Some(root));
        let proof: BoundedVec<H256, T::MaxProofLen> = BoundedVec::truncate_from(siblings);
        let code = referral::<T>();
        let last = (tiers - 1) as Tier;
        if tiers > 1 {
            CheckerLicenses::<T>::do_commit(
                buyer.clone(),
                round,
                0,
                1,
                Some(code.clone()),
                proof.clone(),
            )
            .expect("first commitment");
        }
        #[extrinsic_call]
        _(
            RawOrigin::Signed(buyer.clone()),
            round,
            last,
            1,
            Some(code),
            proof,
        );
        assert!(Commitments::<T>::contains_key(round, &buyer));
    }

    /// Worst case: every tier oversubscribed.
    #[benchmark]
    fn settle(t: Linear<1, { T::MaxTiers::get() }>) {
        let round = open::<T>(t, 1, None);
        let buyer = funded::<T>("buyer", 0);
        for tier in 0..t {
            CheckerLicenses::<T>::do_commit(
                buyer.clone(),
                round,
                tier as Tier,
                2,
                None,
                BoundedVec::new(),
            )
            .expect("commit");
        }
        let end = Rounds::<T>::get(round).unwrap().end;
        set_block::<T>(end.saturating_add(One::one()));
        let caller = funded::<T>("caller", 0);
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), round);
        assert_eq!(
            Rounds::<T>::get(round).unwrap().status,
            RoundStatus::Settled
        );
    }

    /// `n` licenses allocated, with a referral (commission and beneficiary transfers and a
    /// release: the buyer committed one license more than the tier's supply allows it).
    #[benchmark]
    fn claim(n: Linear<1, { T::MaxPerWallet::get() }>) {
        let round = open::<T>(1, n, None);
        let buyer = funded::<T>("buyer", 0);
        let code = referral::<T>();
        CheckerLicenses::<T>::do_commit(buyer.clone(), round, 0, n, Some(code), BoundedVec::new())
            .expect("commit");
        // A second buyer oversubscribes the tier so that the first one gets some released.
        let other = funded::<T>("buyer", 1);
        CheckerLicenses::<T>::do_commit(other, round, 0, 1, None, BoundedVec::new())
            .expect("commit");
        let end = Rounds::<T>::get(round).unwrap().end;
        set_block::<T>(end.saturating_add(One::one()));
        CheckerLicenses::<T>::do_settle(round).expect("settle");
        #[extrinsic_call]
        _(RawOrigin::Signed(buyer.clone()), round);
        assert!(!Commitments::<T>::contains_key(round, &buyer));
    }

    #[benchmark]
    fn grant(n: Linear<1, { T::MaxPerWallet::get() }>) {
        let origin = T::MintOrigin::try_successful_origin()
            .map_err(|_| BenchmarkError::Weightless)
            .unwrap();
        let to = funded::<T>("owner", 0);
        let before = NextLicenseId::<T>::get();
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, to, 0, n);
        assert_eq!(NextLicenseId::<T>::get(), before + n);
    }

    #[benchmark]
    fn register_referral_code() {
        let who = funded::<T>("referrer", 1);
        let code: ReferralCode<T> =
            BoundedVec::truncate_from(alloc::vec![b'K'; T::MaxCodeLen::get() as usize]);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), code);
        assert!(CodeOf::<T>::contains_key(&who));
    }

    /// Worst case: re-delegation from one capped operator to another.
    #[benchmark]
    fn delegate() {
        let owner = funded::<T>("owner", 0);
        let license = CheckerLicenses::<T>::mint_license(&owner, 0, None).expect("mint");
        let first = operator::<T>(0);
        let second = operator::<T>(1);
        CheckerLicenses::<T>::do_delegate(owner.clone(), license, first).expect("delegate");
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), license, second.clone());
        assert_eq!(Delegations::<T>::get(license).unwrap().operator, second);
    }

    /// Worst case: an active delegation (the license is queued for the boundary).
    #[benchmark]
    fn undelegate() {
        let owner = funded::<T>("owner", 0);
        let license = CheckerLicenses::<T>::mint_license(&owner, 0, None).expect("mint");
        let op = operator::<T>(0);
        CheckerLicenses::<T>::do_delegate(owner.clone(), license, op).expect("delegate");
        CheckerLicenses::<T>::apply_pending();
        #[extrinsic_call]
        _(RawOrigin::Signed(owner), license);
        assert!(!Delegations::<T>::contains_key(license));
    }

    /// Worst case: a registered operator with a pending change raises its commission.
    #[benchmark]
    fn set_commission() {
        let op = operator::<T>(0);
        CheckerLicenses::<T>::do_set_commission(op.clone(), Perbill::zero()).expect("set");
        let max = T::MaxCommission::get();
        #[extrinsic_call]
        _(RawOrigin::Signed(op.clone()), max);
        assert!(Operators::<T>::get(&op).unwrap().pending.is_some());
    }

    #[benchmark]
    fn set_max_licenses() {
        let op = operator::<T>(0);
        #[extrinsic_call]
        _(RawOrigin::Signed(op.clone()), Some(7));
        assert_eq!(Operators::<T>::get(&op).unwrap().max_licenses, Some(7));
    }

    /// A block inside an epoch.
    #[benchmark]
    fn on_initialize_idle() {
        let now = frame_system::Pallet::<T>::block_number();
        #[block]
        {
            CheckerLicenses::<T>::on_initialize(now);
        }
    }

    /// The first block of an epoch with `n` pending changes, each a swap-remove of an active
    /// slot (the most writes).
    #[benchmark]
    fn on_initialize_epoch(n: Linear<0, { T::MaxPendingChanges::get() }>) {
        let owner: T::AccountId = account("owner", 0, SEED);
        // n + 1 active slots; the first n are undelegated (so each removal moves the last).
        for l in 0..=n {
            Slots::<T>::insert(
                l,
                SlotRecord {
                    license: l,
                    owner: owner.clone(),
                    operator: owner.clone(),
                },
            );
            SlotOf::<T>::insert(l, l);
        }
        SlotCount::<T>::put(n + 1);
        let queue: Vec<LicenseId> = (0..n).collect();
        for l in queue.iter() {
            Pending::<T>::insert(l, ());
        }
        PendingQueue::<T>::put(BoundedVec::truncate_from(queue));
        let epoch = CurrentEpoch::<T>::get();
        let next: BlockNumberFor<T> = EpochLength::<T>::get().saturating_mul((epoch + 1).into());
        #[block]
        {
            CheckerLicenses::<T>::on_initialize(next);
        }
        assert_eq!(SlotCount::<T>::get(), 1);
        assert_eq!(CurrentEpoch::<T>::get(), epoch + 1);
    }

    impl_benchmark_test_suite!(
        CheckerLicenses,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
