//! The runtime API: what checker daemons and dApps read.

use crate::{EpochSeeds, OperatorAssignment};
use alloc::vec::Vec;
use codec::Codec;
use kaisar_primitives::{CheckingEpoch, WorkerId};

sp_api::decl_runtime_apis! {
    /// Assignments, seeds and measured throughputs of the PoPW checking pallet.
    pub trait PopwAttestationsApi<AccountId> where AccountId: Codec {
        /// The current checking epoch (the slot set's).
        fn current_epoch() -> CheckingEpoch;
        /// The checks `operator`'s slots are assigned in `epoch` (the current epoch, or an
        /// epoch with open checks). Iterates every registered worker: off-chain only.
        fn assignments_of(operator: AccountId, epoch: CheckingEpoch) -> Vec<OperatorAssignment>;
        /// The slot indices assigned to `worker` in `epoch` (empty if not derivable).
        fn assignment(epoch: CheckingEpoch, worker: WorkerId) -> Vec<u32>;
        /// The seeds of `epoch`, if kept (the challenge randomness is the `epoch_randomness`
        /// a checker puts in its challenges).
        fn epoch_seeds(epoch: CheckingEpoch) -> Option<EpochSeeds>;
        /// The median throughput of `worker`'s latest passing verdict, in GOPS (for users
        /// choosing a worker).
        fn worker_throughput(worker: WorkerId) -> Option<u64>;
        /// `operator`'s slots in open re-checks (contests and disputes), with each re-check's
        /// epoch (whose windows it uses). Iterates the open re-checks: off-chain only.
        fn recheck_assignments_of(operator: AccountId) -> Vec<(WorkerId, CheckingEpoch, OperatorAssignment)>;
    }
}
