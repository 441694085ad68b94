//! Storage migrations of the orders pallet.
//!
//! - [`MigrateV0ToV1`]: `Order` gains `deposit` (zero for every existing order: v0 took none)
//!   and `deadline`; the deadline index (same storage as v0's `AcceptDeadlines`) gains the
//!   report deadlines of Running orders and the removals of terminal orders. Pending orders keep
//!   their bucket (`deadline = accept_by`).
//!
//! - [`MigrateV1ToV2`]: the account index [`OrdersOf`] is built from the orders there are (each
//!   under its user and its provider).
//!
//! The integrator lists `MigrateV0ToV1<Runtime>` and then `MigrateV1ToV2<Runtime>` in the
//! runtime's `Migrations`.

use crate::*;
use frame_support::{
    migrations::VersionedMigration,
    pallet_prelude::*,
    traits::{Get, UncheckedOnRuntimeUpgrade},
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::Zero;

#[cfg(feature = "try-runtime")]
use alloc::vec::Vec;

/// The v0 layout.
pub mod v0 {
    use super::*;
    use kaisar_primitives::{GpuModel, WorkerId};

    /// An order as v0 stored it: [`Order`] without `deposit` and `deadline` (fields as there).
    #[allow(missing_docs)]
    #[derive(Encode, Decode)]
    pub struct OldOrder<T: Config> {
        pub user: T::AccountId,
        pub worker: WorkerId,
        pub provider: T::AccountId,
        pub image: BoundedVec<u8, T::MaxImageLen>,
        pub gpu_model: GpuModel,
        pub gpu_count: u32,
        pub duration: BlockNumberFor<T>,
        pub price_per_gpu_hour: BalanceOf<T>,
        pub user_public_key: [u8; 32],
        pub ports: BoundedVec<u16, T::MaxPorts>,
        pub total_cost: BalanceOf<T>,
        pub discount: BalanceOf<T>,
        pub paid_so_far: BalanceOf<T>,
        pub status: OrderStatus<BlockNumberFor<T>>,
        pub created_at: BlockNumberFor<T>,
    }

    /// v0's `Orders`.
    #[frame_support::storage_alias]
    pub type Orders<T: Config> =
        StorageMap<Pallet<T>, Blake2_128Concat, kaisar_primitives::OrderId, OldOrder<T>>;
}

/// v0 -> v1 without the version check; use [`MigrateV0ToV1`].
///
/// Reads and rewrites every order once (the chain has no v0 history beyond its first release,
/// so the order count is small); for each Running or terminal order it schedules one deadline
/// (at most `MaxDeadlineSpill` bucket reads). Orders whose deadline finds no room keep
/// `deadline = None`: a terminal one is removed by `drop_order`; a Running one (logged) by
/// `expire_order` or a cancellation. Deadlines already past are scheduled in the next block.
pub struct InnerMigrateV0ToV1<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
    fn on_runtime_upgrade() -> Weight {
        let mut orders = 0u64;
        let mut bucket_reads = 0u64;
        let spill = u64::from(T::MaxDeadlineSpill::get().max(1));
        Orders::<T>::translate::<v0::OldOrder<T>, _>(|id, old| {
            orders += 1;
            let now = frame_system::Pallet::<T>::block_number();
            let deadline = match old.status {
                // Still in its v0 bucket (`AcceptDeadlines` is the same storage).
                OrderStatus::Pending { accept_by } if accept_by > now => Some(accept_by),
                // An open order must have a deadline: a Pending one whose v0 bucket is gone
                // (its failure did not go through) and every Running one are scheduled in the
                // first bucket with room, however far (the migration is not bounded by the
                // spill window; each try is charged).
                status if status.is_open() => {
                    let (at, tries) = schedule_anywhere::<T>(id, Pallet::<T>::deadline_of(&status));
                    bucket_reads += tries;
                    Some(at)
                }
                // A terminal order's removal is best effort (half a bucket at most, within the
                // spill window); without room `drop_order` removes it.
                status => {
                    bucket_reads += spill;
                    Pallet::<T>::schedule(id, Pallet::<T>::deadline_of(&status), true).ok()
                }
            };
            Some(Order {
                user: old.user,
                worker: old.worker,
                provider: old.provider,
                image: old.image,
                gpu_model: old.gpu_model,
                gpu_count: old.gpu_count,
                duration: old.duration,
                price_per_gpu_hour: old.price_per_gpu_hour,
                user_public_key: old.user_public_key,
                ports: old.ports,
                total_cost: old.total_cost,
                discount: old.discount,
                paid_so_far: old.paid_so_far,
                status: old.status,
                created_at: old.created_at,
                deposit: Zero::zero(),
                deadline,
            })
        });
        log::info!(target: LOG_TARGET, "v1 migration: {orders} orders translated");
        T::DbWeight::get().reads_writes(
            orders.saturating_add(bucket_reads),
            orders.saturating_add(bucket_reads),
        )
    }

    #[cfg(feature = "try-runtime")]
    fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
        Ok((v0::Orders::<T>::iter().count() as u64).encode())
    }

    #[cfg(feature = "try-runtime")]
    fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
        same_order_count::<T>(&state, "v1 migration lost orders")?;
        for (_, order) in Orders::<T>::iter() {
            ensure!(order.deposit.is_zero(), "v1 migration invented a deposit");
            if order.status.is_open() {
                ensure!(order.deadline.is_some(), "open order without a deadline");
            }
        }
        // Every invariant of the pallet (deadline buckets list exactly the scheduled orders,
        // escrows and deposits match the records).
        Pallet::<T>::do_try_state()
    }
}

/// `post_upgrade`: as many orders as `pre_upgrade` counted (its state: the count, SCALE).
#[cfg(feature = "try-runtime")]
fn same_order_count<T: Config>(
    state: &[u8],
    lost: &'static str,
) -> Result<(), sp_runtime::TryRuntimeError> {
    let before = u64::decode(&mut &state[..])
        .map_err(|_| sp_runtime::TryRuntimeError::Other("pre_upgrade state"))?;
    ensure!(Orders::<T>::iter().count() as u64 == before, lost);
    Ok(())
}

/// Migrates the orders pallet from storage version 0 to 1 (see [`InnerMigrateV0ToV1`]).
pub type MigrateV0ToV1<T> = VersionedMigration<
    0,
    1,
    InnerMigrateV0ToV1<T>,
    Pallet<T>,
    <T as frame_system::Config>::DbWeight,
>;

/// Put `id` in the first bucket with room from `due` on (never before the next block), however
/// far: for the migration only, which must give every open order a deadline. Returns the block
/// and the number of buckets tried. Terminates: removals take at most half a bucket, so every
/// bucket past the last one in use has room.
fn schedule_anywhere<T: Config>(
    id: kaisar_primitives::OrderId,
    due: frame_system::pallet_prelude::BlockNumberFor<T>,
) -> (frame_system::pallet_prelude::BlockNumberFor<T>, u64) {
    use sp_runtime::traits::{One, Saturating};
    let next = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
    let mut at = due.max(next);
    let mut tries = 0u64;
    loop {
        tries += 1;
        if Deadlines::<T>::try_mutate(at, |ids| ids.try_push(id)).is_ok() {
            return (at, tries);
        }
        at = at.saturating_add(One::one());
    }
}

/// v1 -> v2 without the version check; use [`MigrateV1ToV2`].
///
/// Reads every order once and writes its one or two index entries. The orders there are are
/// the open ones and the terminal ones within `OrderRetention` (removed after it), so the count
/// is what the chain carries in a few days of orders, and the weight is charged per order.
pub struct InnerMigrateV1ToV2<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV1ToV2<T> {
    fn on_runtime_upgrade() -> Weight {
        let mut orders = 0u64;
        for (id, order) in Orders::<T>::iter() {
            orders += 1;
            OrdersOf::<T>::insert(&order.user, id, ());
            OrdersOf::<T>::insert(&order.provider, id, ());
        }
        log::info!(target: LOG_TARGET, "v2 migration: {orders} orders indexed");
        T::DbWeight::get().reads_writes(orders, orders.saturating_mul(2))
    }

    #[cfg(feature = "try-runtime")]
    fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
        ensure!(
            OrdersOf::<T>::iter_keys().next().is_none(),
            "v1 has no account index"
        );
        Ok((Orders::<T>::iter().count() as u64).encode())
    }

    #[cfg(feature = "try-runtime")]
    fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
        same_order_count::<T>(&state, "v2 migration lost orders")?;
        // Every order indexed under its user and provider, nothing else indexed.
        Pallet::<T>::do_try_state()
    }
}

/// Migrates the orders pallet from storage version 1 to 2 (see [`InnerMigrateV1ToV2`]).
pub type MigrateV1ToV2<T> = VersionedMigration<
    1,
    2,
    InnerMigrateV1ToV2<T>,
    Pallet<T>,
    <T as frame_system::Config>::DbWeight,
>;
