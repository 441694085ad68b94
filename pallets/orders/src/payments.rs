//! Money flows of an order: pricing, provider payments out of the escrow, and refunds (tokens or
//! points). Every movement goes through [`Config::Escrow`] and [`Config::Points`].

use crate::*;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{Escrow, EscrowSplit, OrderId, Points};
use sp_runtime::{
    helpers_128bit::multiply_by_rational_with_rounding,
    traits::{Saturating, Zero},
    Rounding,
};

impl<T: Config> Pallet<T> {
    /// Total price of an order: `price_per_gpu_hour * gpu_count * duration / BlocksPerHour`,
    /// rounded up (a started block-fraction of an hour is paid). All arithmetic is checked in
    /// `u128`.
    pub(crate) fn order_cost(
        price_per_gpu_hour: BalanceOf<T>,
        gpu_count: u32,
        duration: BlockNumberFor<T>,
    ) -> Result<BalanceOf<T>, Error<T>> {
        let price: u128 = price_per_gpu_hour
            .try_into()
            .map_err(|_| Error::<T>::Overflow)?;
        let duration: u128 = duration.try_into().map_err(|_| Error::<T>::Overflow)?;
        let blocks_per_hour: u128 = T::BlocksPerHour::get()
            .try_into()
            .map_err(|_| Error::<T>::Overflow)?;
        // `integrity_test` rules a zero out; a misconfigured runtime gets a clear error.
        ensure!(blocks_per_hour != 0, Error::<T>::ZeroBlocksPerHour);
        let numerator = price
            .checked_mul(u128::from(gpu_count))
            .and_then(|x| x.checked_mul(duration))
            .ok_or(Error::<T>::Overflow)?;
        BalanceOf::<T>::try_from(numerator.div_ceil(blocks_per_hour))
            .map_err(|_| Error::<T>::Overflow)
    }

    /// What the provider is owed in total for the first `served` blocks of `order`:
    /// `total_cost * served / duration` rounded down, and exactly `total_cost` once `served`
    /// reaches the duration (so no dust is left in the escrow).
    pub(crate) fn owed_for(
        order: &Order<T>,
        served: BlockNumberFor<T>,
    ) -> Result<BalanceOf<T>, DispatchError> {
        if served >= order.duration {
            return Ok(order.total_cost);
        }
        let total: u128 = order
            .total_cost
            .try_into()
            .map_err(|_| Error::<T>::Overflow)?;
        let served: u128 = served.try_into().map_err(|_| Error::<T>::Overflow)?;
        let duration: u128 = order
            .duration
            .try_into()
            .map_err(|_| Error::<T>::Overflow)?;
        let owed = multiply_by_rational_with_rounding(total, served, duration, Rounding::Down)
            .ok_or(Error::<T>::Overflow)?;
        // `owed <= total`, so it fits the balance type.
        Ok(BalanceOf::<T>::try_from(owed).map_err(|_| Error::<T>::Overflow)?)
    }

    /// Close the escrow of an order and give everything left in it back to the user in tokens
    /// (the payer's part is released to the user, the sponsor's part goes back to the pot and
    /// the user gets those discount points back). Used for refunds the user caused.
    pub(crate) fn refund_in_tokens(order_id: OrderId, user: &T::AccountId) -> DispatchResult {
        let split = Self::close_escrow(order_id)?;
        Self::settle_token_refund(order_id, user, split, Zero::zero());
        Ok(())
    }

    /// Refund everything left in an order's escrow as a service failure: in points if the user
    /// prefers points (the escrowed tokens move to the promotion pot, the user is credited
    /// points for the payer's part and gets the sponsored discount points back), else in
    /// tokens like [`Self::refund_in_tokens`]. Closes the escrow.
    pub(crate) fn refund_service_failure(order_id: OrderId, user: &T::AccountId) -> DispatchResult {
        if !T::Points::prefers_points(user) {
            return Self::refund_in_tokens(order_id, user);
        }
        let remaining = T::Escrow::balance(order_id);
        let mut points = BalanceOf::<T>::zero();
        if !remaining.is_zero() {
            let pot = T::Points::pot_account();
            let split = T::Escrow::pay(order_id, &pot, remaining)?;
            if !split.from_payer.is_zero() {
                points = T::Points::credit_refund(user, split.from_payer);
            }
            points = points.saturating_add(Self::restore_points(user, split.from_sponsor));
        }
        // Everything was paid to the pot, so the escrow is empty and already removed; should
        // anything be left, it is refunded in tokens rather than stuck.
        let rest = Self::close_escrow(order_id)?;
        Self::settle_token_refund(order_id, user, rest, points);
        Ok(())
    }

    /// Close escrow `order_id`, returning what it gave back. An escrow that payments emptied is
    /// already removed by the escrow pallet (closing it would fail): nothing to give back then.
    fn close_escrow(order_id: OrderId) -> Result<EscrowSplit<BalanceOf<T>>, DispatchError> {
        if T::Escrow::balance(order_id).is_zero() {
            return Ok(EscrowSplit::default());
        }
        T::Escrow::close(order_id)
    }

    /// Give `user` points back for `tokens` of an unused discount (the sponsor's part of a
    /// refund, back in the pot); returns the points given back, as the points pallet counts
    /// them at its rate.
    fn restore_points(user: &T::AccountId, tokens: BalanceOf<T>) -> BalanceOf<T> {
        if tokens.is_zero() {
            return Zero::zero();
        }
        let before = T::Points::points_of(user);
        T::Points::restore(user, tokens);
        T::Points::points_of(user).saturating_sub(before)
    }

    /// Give the sponsor part of a token refund back to the user as points and emit
    /// `OrderRefunded` (unless nothing at all was refunded).
    fn settle_token_refund(
        order_id: OrderId,
        user: &T::AccountId,
        split: EscrowSplit<BalanceOf<T>>,
        mut points: BalanceOf<T>,
    ) {
        points = points.saturating_add(Self::restore_points(user, split.from_sponsor));
        if !split.from_payer.is_zero() || !points.is_zero() {
            Self::deposit_event(Event::<T>::OrderRefunded {
                order_id,
                tokens: split.from_payer,
                points,
            });
        }
    }
}
