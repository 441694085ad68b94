//! Types of the points pallet, and the conversion between tokens and points.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::fmt::Debug;
use scale_info::TypeInfo;
use sp_runtime::{
    helpers_128bit::multiply_by_rational_with_rounding, traits::AtLeast32BitUnsigned,
    FixedPointNumber, FixedU128, Rounding,
};

/// How an account wants refunds caused by a service failure paid.
///
/// Refunds caused by the user (cancelling an order) are always paid in tokens, whatever this
/// says.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub enum RefundPreference {
    /// As points, at the configured rate (the default).
    #[default]
    #[codec(index = 0)]
    Points,
    /// As tokens, back to the account.
    #[codec(index = 1)]
    Tokens,
}

/// `amount * rate`, rounded as `rounding`; `None` if the result does not fit the balance type.
pub fn mul_rate<B: AtLeast32BitUnsigned + Copy>(
    amount: B,
    rate: FixedU128,
    rounding: Rounding,
) -> Option<B> {
    let amount: u128 = amount.try_into().ok()?;
    let result =
        multiply_by_rational_with_rounding(amount, rate.into_inner(), FixedU128::DIV, rounding)?;
    result.try_into().ok()
}

/// `amount / rate`, rounded as `rounding`; `None` if `rate` is zero or the result does not fit
/// the balance type.
pub fn div_rate<B: AtLeast32BitUnsigned + Copy>(
    amount: B,
    rate: FixedU128,
    rounding: Rounding,
) -> Option<B> {
    let amount: u128 = amount.try_into().ok()?;
    let result =
        multiply_by_rational_with_rounding(amount, FixedU128::DIV, rate.into_inner(), rounding)?;
    result.try_into().ok()
}
