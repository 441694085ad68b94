//! Quotes: what [`Pallet::place_order`] would do now, asked before paying (runtime API
//! [`crate::runtime_api::OrdersApi::quote`], the dApp's and `kaisar order quote`'s source).
//!
//! A quote is a dry run of the order itself: the same code as `place_order` runs inside a
//! storage transaction that is always rolled back, so the answer cannot drift from what an
//! order placed in the same state would get (the worker, the price, the points spent, the
//! discount, what is held), and a refusal is the very error the order would fail with. When no
//! worker matched, the quote says why: no worker of the model is listed, all of them are busy,
//! none has enough free GPUs, or the cheapest one asks more than the given maximum (and how
//! much).

use crate::*;
use codec::{Decode, Encode};
use frame_support::{
    storage::{with_transaction, TransactionOutcome},
    BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use kaisar_primitives::{GpuModel, Points, WorkerId, WorkerRegistry};
use scale_info::TypeInfo;
use sp_runtime::traits::{Bounded, Saturating};
use sp_runtime::DispatchError;

/// What an order would get if placed now.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct OrderQuote<AccountId, Balance> {
    /// The worker the order would go to.
    pub worker: WorkerId,
    /// That worker's provider (who is paid).
    pub provider: AccountId,
    /// The worker's price per GPU per hour.
    pub price_per_gpu_hour: Balance,
    /// The order's full cost: price × GPUs × duration.
    pub total_cost: Balance,
    /// Points the order would spend (at most the given maximum, the balance, and what the
    /// largest allowed discount is worth).
    pub points_spent: Balance,
    /// The discount those points buy, paid by the promotion pot.
    pub discount: Balance,
    /// What the user pays into escrow: `total_cost - discount`.
    pub user_pays: Balance,
    /// The order deposit held besides (returned once the order is accepted; forfeited if the
    /// user cancels it while it is still pending).
    pub deposit: Balance,
}

/// Why an order would not be placed now.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum QuoteRefusal<Balance> {
    /// No worker of this GPU model takes orders now (none registered and verified, or all
    /// paused by their providers, offline or suspended).
    NoWorkerOfModel,
    /// Workers of this model take orders, but every one is fully booked (or overdue on its
    /// heartbeat and about to go offline).
    AllBusy,
    /// Workers of this model have free GPUs, but none has as many free as asked for.
    NotEnoughFreeGpus,
    /// Workers with enough free GPUs exist, but the cheapest asks more than the given maximum
    /// price per GPU per hour.
    PriceTooLow {
        /// The cheapest price per GPU per hour an order like this one could get now.
        lowest_price: Balance,
    },
    /// `place_order` would fail with this error (an invalid request, a targeted worker that
    /// does not qualify, not enough free balance, ...).
    Refused(DispatchError),
}

impl<T: Config> Pallet<T> {
    /// What [`Pallet::place_order`] by `who` would do now with these terms (see the module
    /// docs). Changes nothing: the dry run is rolled back whatever its outcome.
    #[allow(clippy::too_many_arguments)]
    pub fn quote(
        who: T::AccountId,
        gpu_model: GpuModel,
        gpu_count: u32,
        duration: BlockNumberFor<T>,
        max_price_per_gpu_hour: BalanceOf<T>,
        max_points: BalanceOf<T>,
        target_worker: Option<WorkerId>,
    ) -> Result<OrderQuote<T::AccountId, BalanceOf<T>>, QuoteRefusal<BalanceOf<T>>> {
        let spec = OrderSpec::<T> {
            // Any non-empty image: the image is not part of matching or pricing.
            image: BoundedVec::truncate_from(b"quote".to_vec()),
            gpu_model,
            gpu_count,
            duration,
            max_price_per_gpu_hour,
            target_worker,
            user_public_key: [0; 32],
            ports: BoundedVec::new(),
        };
        let dry_run = with_transaction(|| {
            let points_before = T::Points::points_of(&who);
            let outcome =
                Self::place_order_inner(who.clone(), spec, max_points).and_then(|(order_id, _)| {
                    let order = Orders::<T>::get(order_id).ok_or(Error::<T>::UnknownOrder)?;
                    let points_spent = points_before.saturating_sub(T::Points::points_of(&who));
                    Ok(OrderQuote {
                        worker: order.worker,
                        provider: order.provider,
                        price_per_gpu_hour: order.price_per_gpu_hour,
                        user_pays: order.total_cost.saturating_sub(order.discount),
                        total_cost: order.total_cost,
                        points_spent,
                        discount: order.discount,
                        deposit: order.deposit,
                    })
                });
            TransactionOutcome::Rollback(Ok::<_, DispatchError>(outcome))
        });
        match dry_run {
            Ok(Ok(quote)) => Ok(quote),
            Ok(Err(error)) if error == Error::<T>::NoMatchingWorker.into() => {
                Err(Self::why_no_match(gpu_model, gpu_count))
            }
            Ok(Err(error)) | Err(error) => Err(QuoteRefusal::Refused(error)),
        }
    }

    /// Why no worker matched an order of `gpus` GPUs of `model` (valid terms: at least one GPU).
    /// At most three bounded index searches.
    fn why_no_match(model: GpuModel, gpus: u32) -> QuoteRefusal<BalanceOf<T>> {
        let any_price = BalanceOf::<T>::max_value();
        if let Some(worker) = T::Workers::find_cheapest(model, gpus, any_price)
            .worker
            .and_then(T::Workers::worker)
        {
            return QuoteRefusal::PriceTooLow {
                lowest_price: worker.price_per_gpu_hour,
            };
        }
        if gpus > 1
            && T::Workers::find_cheapest(model, 1, any_price)
                .worker
                .is_some()
        {
            return QuoteRefusal::NotEnoughFreeGpus;
        }
        if T::Workers::listed_workers(model) > 0 {
            QuoteRefusal::AllBusy
        } else {
            QuoteRefusal::NoWorkerOfModel
        }
    }
}
