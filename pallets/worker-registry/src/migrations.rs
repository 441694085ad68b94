//! Storage migrations of the worker registry.
//!
//! Add [`MigrateV0ToV1`] to the runtime's `Migrations` tuple.

use super::*;
use codec::{Decode, Encode};
use frame_support::{
    migrations::VersionedMigration,
    pallet_prelude::Twox64Concat,
    traits::{Get, UncheckedOnRuntimeUpgrade},
    weights::Weight,
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::Saturating;

/// The v0 layout (before pause and pending expiry).
pub mod v0 {
    use super::*;

    /// A worker record as stored in v0: [`WorkerInfo`] without `paused` and
    /// `pending_expires_at`.
    #[derive(Encode, Decode)]
    pub struct WorkerInfoV0<T: Config> {
        /// See [`WorkerInfo::provider`].
        pub provider: T::AccountId,
        /// See [`WorkerInfo::spec`].
        pub spec: WorkerSpecOf<T>,
        /// See [`WorkerInfo::status`].
        pub status: WorkerStatus,
        /// See [`WorkerInfo::reserved_gpus`].
        pub reserved_gpus: u32,
        /// See [`WorkerInfo::reported_free_gpus`].
        pub reported_free_gpus: u32,
        /// See [`WorkerInfo::deposit`].
        pub deposit: BalanceOf<T>,
        /// See [`WorkerInfo::registered_at`].
        pub registered_at: BlockNumberFor<T>,
        /// See [`WorkerInfo::last_heartbeat`].
        pub last_heartbeat: BlockNumberFor<T>,
        /// See [`WorkerInfo::indexed`].
        pub indexed: bool,
        /// See [`WorkerInfo::unlock_at`].
        pub unlock_at: Option<BlockNumberFor<T>>,
    }

    /// [`crate::Workers`] with v0 records.
    #[frame_support::storage_alias]
    pub type Workers<T: Config> =
        StorageMap<crate::Pallet<T>, Twox64Concat, WorkerId, WorkerInfoV0<T>>;
}

/// v0 -> v1: every worker record gains `paused: false` and, when `PendingVerification`,
/// `pending_expires_at = registered_at + PendingVerificationTimeout` (so registrations already
/// pending longer than the timeout can be expired at once: they are the squatting this
/// version stops); `None` otherwise. Reads and writes every worker once: fine for the worker
/// counts of the first releases (a multi-block migration would be needed for very many).
pub struct InnerMigrateV0ToV1<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
    fn on_runtime_upgrade() -> Weight {
        let timeout = T::PendingVerificationTimeout::get();
        let mut count: u64 = 0;
        Workers::<T>::translate::<v0::WorkerInfoV0<T>, _>(|_, old| {
            count = count.saturating_add(1);
            let pending_expires_at = (old.status == WorkerStatus::PendingVerification)
                .then(|| old.registered_at.saturating_add(timeout));
            Some(WorkerInfo {
                provider: old.provider,
                spec: old.spec,
                status: old.status,
                reserved_gpus: old.reserved_gpus,
                reported_free_gpus: old.reported_free_gpus,
                deposit: old.deposit,
                registered_at: old.registered_at,
                last_heartbeat: old.last_heartbeat,
                indexed: old.indexed,
                unlock_at: old.unlock_at,
                paused: false,
                pending_expires_at,
            })
        });
        log::info!(target: LOG_TARGET, "migrated {count} workers to v1");
        T::DbWeight::get().reads_writes(count, count)
    }

    #[cfg(feature = "try-runtime")]
    fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, sp_runtime::TryRuntimeError> {
        let count = v0::Workers::<T>::iter().count() as u64;
        Ok(count.encode())
    }

    #[cfg(feature = "try-runtime")]
    fn post_upgrade(state: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
        let before = u64::decode(&mut &state[..]).map_err(|_| "bad pre_upgrade state")?;
        let mut after: u64 = 0;
        for (_, worker) in Workers::<T>::iter() {
            after += 1;
            frame_support::ensure!(!worker.paused, "a migrated worker is paused");
            frame_support::ensure!(
                (worker.status == WorkerStatus::PendingVerification)
                    == worker.pending_expires_at.is_some(),
                "pending_expires_at set exactly when PendingVerification"
            );
        }
        frame_support::ensure!(before == after, "workers lost or added by the migration");
        Ok(())
    }
}

/// [`InnerMigrateV0ToV1`], run only when the on-chain storage version is 0, then set to 1.
pub type MigrateV0ToV1<T> = VersionedMigration<
    0,
    1,
    InnerMigrateV0ToV1<T>,
    crate::Pallet<T>,
    <T as frame_system::Config>::DbWeight,
>;
