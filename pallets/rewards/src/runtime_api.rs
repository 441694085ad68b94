//! The runtime API: what the CLI and the dApp show a party about its rewards.

use crate::{Beneficiary, EraTotals, RewardEra};
use alloc::vec::Vec;
use codec::{Codec, Decode, Encode};
use core::fmt::Debug as RuntimeDebug;
use scale_info::TypeInfo;

/// One grant of an era, with the formula's terms.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, RuntimeDebug)]
pub struct RewardLine<Balance> {
    /// The era.
    pub era: RewardEra,
    /// Whose grant.
    pub beneficiary: Beneficiary,
    /// The party's score terms: for a provider `[poc, pod]`; for a license
    /// `[agreed, canary_checks, canary_errors, slashes, score]`.
    pub terms: Vec<u128>,
    /// The era's totals of the pools the grant is from.
    pub totals: EraTotals,
    /// Whether the era is closed (the grant is final and vesting); before, `grant` is what the
    /// current scores would give of a full `EraBudget`.
    pub closed: bool,
    /// The grant.
    pub grant: Balance,
    /// Vested so far.
    pub vested: Balance,
    /// Paid so far.
    pub paid: Balance,
    /// Claimable now (`vested - paid`).
    pub claimable: Balance,
}

sp_api::decl_runtime_apis! {
    /// Rewards of providers, license owners and operators.
    pub trait RewardsApi<AccountId, Balance> where AccountId: Codec, Balance: Codec {
        /// The current reward era.
        fn current_era() -> RewardEra;
        /// `who`'s grants in the eras `from..=to` (at most 64 eras), as provider, license owner
        /// or operator. Iterates the eras' scores: off-chain only.
        fn rewards_of(who: AccountId, from: RewardEra, to: RewardEra) -> Vec<RewardLine<Balance>>;
    }
}

impl<T: crate::Config> crate::Pallet<T> {
    /// `who`'s grants in the eras `from..=to` (at most 64 eras): for the runtime API,
    /// off-chain only (iterates the eras' scores).
    pub fn rewards_of(
        who: &T::AccountId,
        from: RewardEra,
        to: RewardEra,
    ) -> Vec<RewardLine<crate::BalanceOf<T>>> {
        use crate::*;
        use frame_support::traits::Get;
        use kaisar_primitives::LicenseOwners;
        use sp_runtime::traits::UniqueSaturatedInto;
        let to = to.min(from.saturating_add(63));
        let now = frame_system::Pallet::<T>::block_number();
        let slash = T::SlashFraction::get();
        let mut out = Vec::new();
        for era in from..=to {
            let budget = EraBudgets::<T>::get(era);
            // An open era: what the current scores would give of a full budget.
            let view = budget.unwrap_or_else(|| {
                let totals = EraTotalsOf::<T>::get(era);
                let full: u128 = T::EraBudget::get().unique_saturated_into();
                let provider = T::ProviderShare::get().mul_floor(full);
                let poc = T::PocShare::get().mul_floor(provider);
                let b = |v: u128| -> BalanceOf<T> { v.unique_saturated_into() };
                EraBudget {
                    vests_from: now,
                    poc_pool: b(poc),
                    pod_pool: b(provider.saturating_sub(poc)),
                    checker_pool: b(full.saturating_sub(provider)),
                    totals,
                    held: b(0),
                    spent: b(0),
                }
            });
            let closed = budget.is_some();
            let mut push = |beneficiary: Beneficiary, terms: Vec<u128>| {
                let Some((grant, paid)) = Self::grant_of(era, &view, beneficiary) else {
                    return;
                };
                let vested = if closed {
                    Self::vested(grant, view.vests_from, now)
                } else {
                    0
                };
                let b = |v: u128| -> BalanceOf<T> { v.unique_saturated_into() };
                out.push(RewardLine {
                    era,
                    beneficiary,
                    terms,
                    totals: view.totals,
                    closed,
                    grant: b(grant),
                    vested: b(vested),
                    paid: b(paid),
                    claimable: b(vested.saturating_sub(paid)),
                });
            };
            for (worker, s) in ProviderScores::<T>::iter_prefix(era) {
                if &s.provider == who {
                    push(Beneficiary::Provider(worker), alloc::vec![s.poc, s.pod]);
                }
            }
            for (license, s) in CheckerScores::<T>::iter_prefix(era) {
                let terms = alloc::vec![
                    s.agreed as u128,
                    s.canary_checks as u128,
                    s.canary_errors as u128,
                    s.slashes as u128,
                    s.score(slash),
                ];
                if T::Licenses::owner_of(license).is_some_and(|o| &o == who) {
                    push(Beneficiary::LicenseOwner(license), terms.clone());
                }
                if &s.operator == who {
                    push(Beneficiary::LicenseOperator(license), terms);
                }
            }
        }
        out
    }
}
