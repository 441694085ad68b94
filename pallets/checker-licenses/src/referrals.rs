//! Referral codes: what a valid code is, the [`Referrals`] trait the rewards pallet reads, and
//! [`kaisar_primitives::LicenseOwners`] (a license's owner share follows its NFT).

use super::*;
use frame_support::pallet_prelude::*;
use kaisar_primitives::Referrals;

/// The lowercase form of a valid referral code: 3..=MaxCodeLen bytes of ASCII letters,
/// digits, `-` and `_`.
pub(crate) fn normalize_code<T: Config>(code: &[u8]) -> Option<ReferralCode<T>> {
    if code.len() < 3 || code.len() > T::MaxCodeLen::get() as usize {
        return None;
    }
    if !code
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    {
        return None;
    }
    BoundedVec::try_from(code.to_ascii_lowercase()).ok()
}

impl<T: Config> Referrals<T::AccountId> for Pallet<T> {
    fn referrer_of(who: &T::AccountId) -> Option<T::AccountId> {
        ReferrerOf::<T>::get(who)
    }
}

/// For the rewards pallet: a license's owner share follows its NFT.
impl<T: Config> kaisar_primitives::LicenseOwners<T::AccountId> for Pallet<T> {
    fn owner_of(license: kaisar_primitives::LicenseId) -> Option<T::AccountId> {
        Pallet::<T>::owner_of(license)
    }
}
