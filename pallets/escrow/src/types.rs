//! Types of the escrow pallet, and the pro-rata arithmetic on them.

use codec::{Decode, Encode, MaxEncodedLen};
use core::fmt::Debug;
use kaisar_primitives::EscrowSplit;
use scale_info::TypeInfo;
use sp_runtime::{
    helpers_128bit::multiply_by_rational_with_rounding, traits::AtLeast32BitUnsigned, Rounding,
};

/// One open escrow: what the payer and the (optional) sponsor still have held in it.
///
/// Invariants (checked by `try_state`): the total is never zero (an emptied escrow is removed),
/// and a stored sponsor part is never zero (it becomes `None` when it runs out). The payer part
/// may be zero: a fully sponsored order, or a payer part used up before the sponsor's through
/// rounding.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct EscrowAccount<AccountId, Balance> {
    /// Who paid into the escrow and gets the payer part of refunds.
    pub payer: AccountId,
    /// What is still held from the payer.
    pub payer_held: Balance,
    /// The sponsor (the promotion pot) and what is still held from it.
    pub sponsor: Option<(AccountId, Balance)>,
}

/// Why an escrow movement could not be split.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SplitError {
    /// The amount is more than the escrow holds.
    Insufficient,
    /// The balance type does not fit in `u128` (never the case for real runtimes).
    Overflow,
}

impl<AccountId, Balance: AtLeast32BitUnsigned + Copy> EscrowAccount<AccountId, Balance> {
    /// What is still held from the sponsor (zero without a sponsor).
    pub fn sponsor_held(&self) -> Balance {
        self.sponsor
            .as_ref()
            .map_or_else(Balance::zero, |(_, held)| *held)
    }

    /// Everything still held in the escrow.
    ///
    /// Saturating: `lock` checked that the sum fits, and both parts only ever decrease.
    pub fn total(&self) -> Balance {
        self.payer_held.saturating_add(self.sponsor_held())
    }

    /// Split `amount` between the payer and the sponsor in proportion to what each still holds.
    ///
    /// The sponsor part is `floor(amount * sponsor_held / total)` and the payer pays the rest, so
    /// the two parts always add up to exactly `amount` and neither exceeds what its owner holds.
    pub fn split(&self, amount: Balance) -> Result<EscrowSplit<Balance>, SplitError> {
        let total = self.total();
        if amount > total {
            return Err(SplitError::Insufficient);
        }
        let sponsor_held = self.sponsor_held();
        if amount.is_zero() || sponsor_held.is_zero() {
            return Ok(EscrowSplit {
                from_payer: amount,
                from_sponsor: Balance::zero(),
            });
        }
        // `total` is non-zero here because `sponsor_held` is.
        let to_u128 = |b: Balance| -> Result<u128, SplitError> {
            b.try_into().map_err(|_| SplitError::Overflow)
        };
        let part = multiply_by_rational_with_rounding(
            to_u128(amount)?,
            to_u128(sponsor_held)?,
            to_u128(total)?,
            Rounding::Down,
        )
        .ok_or(SplitError::Overflow)?;
        // `part <= amount` because `sponsor_held <= total`, so it converts back.
        let from_sponsor: Balance = part.try_into().map_err(|_| SplitError::Overflow)?;
        // Defensive clamps; with the floor above they never change anything: the payer part is
        // `ceil(amount * payer_held / total) <= payer_held` because `amount <= total`.
        let from_sponsor = from_sponsor.min(sponsor_held);
        let mut from_payer = amount.saturating_sub(from_sponsor);
        let mut from_sponsor = from_sponsor;
        if from_payer > self.payer_held {
            from_payer = self.payer_held;
            // `amount <= total`, so the sponsor can cover the rest.
            from_sponsor = amount.saturating_sub(from_payer);
        }
        Ok(EscrowSplit {
            from_payer,
            from_sponsor,
        })
    }

    /// Take `split` out of the record. A sponsor part that reaches zero is dropped.
    ///
    /// Saturating: `split` came from [`Self::split`], so neither part exceeds what is held.
    pub fn deduct(&mut self, split: &EscrowSplit<Balance>) {
        self.payer_held = self.payer_held.saturating_sub(split.from_payer);
        if let Some((_, held)) = self.sponsor.as_mut() {
            *held = held.saturating_sub(split.from_sponsor);
            if held.is_zero() {
                self.sponsor = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escrow(payer_held: u128, sponsor_held: u128) -> EscrowAccount<u64, u128> {
        EscrowAccount {
            payer: 1,
            payer_held,
            sponsor: (sponsor_held > 0).then_some((2, sponsor_held)),
        }
    }

    #[test]
    fn split_parts_always_sum_to_the_amount_and_stay_within_holds() {
        for (payer, sponsor) in [
            (7u128, 3u128),
            (1, 1),
            (999, 1),
            (1, 999),
            (333, 667),
            (0, 5),
        ] {
            let e = escrow(payer, sponsor);
            for amount in 0..=payer + sponsor {
                let s = e.split(amount).unwrap();
                assert_eq!(s.from_payer + s.from_sponsor, amount);
                assert!(s.from_payer <= payer, "{payer}/{sponsor} {amount}");
                assert!(s.from_sponsor <= sponsor, "{payer}/{sponsor} {amount}");
            }
        }
    }

    #[test]
    fn split_rounds_the_sponsor_part_down() {
        // Payer 2, sponsor 1: paying 2 gives the sponsor floor(2 * 1 / 3) = 0, paying 3 gives 1.
        let e = escrow(2, 1);
        assert_eq!(
            e.split(2).unwrap(),
            EscrowSplit {
                from_payer: 2,
                from_sponsor: 0
            }
        );
        assert_eq!(
            e.split(3).unwrap(),
            EscrowSplit {
                from_payer: 2,
                from_sponsor: 1
            }
        );
    }

    #[test]
    fn split_beyond_total_is_insufficient() {
        assert_eq!(escrow(5, 5).split(11), Err(SplitError::Insufficient));
    }

    #[test]
    fn split_does_not_overflow_with_huge_balances() {
        let e = escrow(u128::MAX / 2, u128::MAX / 2);
        let s = e.split(u128::MAX / 2).unwrap();
        assert_eq!(s.from_payer + s.from_sponsor, u128::MAX / 2);
        assert_eq!(s.from_sponsor, u128::MAX / 4);
    }

    #[test]
    fn deduct_drops_an_exhausted_sponsor() {
        let mut e = escrow(5, 2);
        e.deduct(&EscrowSplit {
            from_payer: 1,
            from_sponsor: 2,
        });
        assert_eq!(
            e,
            EscrowAccount {
                payer: 1,
                payer_held: 4,
                sponsor: None
            }
        );
    }
}
