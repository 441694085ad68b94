//! The runtime API: what dApps and the CLI ask before placing an order.

use crate::quote::{OrderQuote, QuoteRefusal};
use codec::Codec;
use kaisar_primitives::{GpuModel, WorkerId};

sp_api::decl_runtime_apis! {
    /// Quotes of the orders pallet.
    pub trait OrdersApi<AccountId, Balance, BlockNumber>
    where
        AccountId: Codec,
        Balance: Codec,
        BlockNumber: Codec,
    {
        /// What `place_order` by `who` with these terms would do now: the worker, price,
        /// cost, points spent, discount and what is held; or why it would not be placed (no
        /// worker of the model, all busy, too few free GPUs, the lowest price above the
        /// maximum, or the error the order would fail with). A dry run: changes nothing.
        #[allow(clippy::too_many_arguments)]
        fn quote(
            who: AccountId,
            gpu_model: GpuModel,
            gpu_count: u32,
            duration: BlockNumber,
            max_price_per_gpu_hour: Balance,
            max_points: Balance,
            target_worker: Option<WorkerId>,
        ) -> Result<OrderQuote<AccountId, Balance>, QuoteRefusal<Balance>>;
    }
}
