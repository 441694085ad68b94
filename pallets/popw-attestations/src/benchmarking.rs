//! Benchmarks of the PoPW attestations pallet (frame-benchmarking v2): every call and the
//! hook's three cases, each in its worst case.

use super::*;
use crate::{challenge_id, draw_slot, nonce_commitment, seal_of, ChainValues, Pallet as Popw};
use alloc::vec::Vec;
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::{
    traits::{EnsureOrigin, Get, Hooks},
    weights::Weight,
    BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use kaisar_primitives::{CheckerSlots, CheckingEpoch, CheckingEpochs, WorkerId, WorkerRegistry};
use sp_runtime::traits::{One, Saturating};

const SEED: u32 = 0;
/// Slots in the benchmarks' slot set.
const SLOTS: u32 = 100;

fn set_block<T: Config>(n: BlockNumberFor<T>) {
    frame_system::Pallet::<T>::set_block_number(n);
}

/// Move to the first block of the next epoch and draw its seeds.
fn next_epoch<T: Config>() -> CheckingEpoch {
    let now = frame_system::Pallet::<T>::block_number();
    let e = T::Slots::epoch_of(now).saturating_add(1);
    let b = T::Slots::epoch_start(e);
    set_block::<T>(b);
    Popw::<T>::on_initialize(b);
    e
}

/// A pending worker and the current epoch's slot set in which its assignment makes `tries`
/// draws (`K <= tries <= MaxAssignmentTries`): the first `tries - K` draws hit slots of the
/// worker's own provider. Returns the epoch, the worker and its assigned (slot, operator)s.
fn setup<T: Config>(tries: u32) -> (CheckingEpoch, WorkerId, Vec<(u32, T::AccountId)>) {
    let provider: T::AccountId = account("provider", 0, SEED);
    let worker = T::BenchmarkHelper::pending_worker(&provider);
    let e = next_epoch::<T>();
    let seed = Seeds::<T>::get(e).expect("drawn").assignment;
    let k = T::CheckersPerWorker::get();
    let mut owners: Vec<T::AccountId> = (0..SLOTS).map(|i| account("checker", i, SEED)).collect();
    for t in 0..tries.saturating_sub(k) {
        owners[draw_slot(&seed, worker, t, SLOTS) as usize] = provider.clone();
    }
    T::BenchmarkHelper::set_slots(&owners);
    assert_eq!(T::Slots::current_epoch(), e);
    let agent = T::Workers::worker(worker).expect("registered").agent;
    let (chosen, _) = Popw::<T>::draw_assignment(&seed, worker, &provider, &agent);
    assert!(!chosen.is_empty(), "an assignment");
    let slots = chosen.into_iter().map(|(i, s)| (i, s.operator)).collect();
    (e, worker, slots)
}

fn nonce(slot: u32) -> Hash32 {
    let mut n = [0xA5u8; 32];
    n[..4].copy_from_slice(&slot.to_le_bytes());
    n
}

fn attestation<T: Config>(
    e: CheckingEpoch,
    worker: WorkerId,
    (slot, op): &(u32, T::AccountId),
    verdict: CheckVerdict,
) -> Attestation {
    let terms = ChallengeTerms {
        nonce: nonce(*slot),
        gpu_uuid_hash: T::BenchmarkHelper::gpu_of(worker),
        params: ChallengeParams {
            m: 8192,
            n: 8192,
            k: 32768,
            chunks: 2205,
        },
        commit_timeout_ms: 30_000,
        open_timeout_ms: 10_000,
    };
    let w = T::Workers::worker(worker).expect("registered");
    let agent = w.agent.encode();
    let checker = op.encode();
    let id = challenge_id(
        &ChainValues {
            genesis_hash: Popw::<T>::genesis_hash(),
            epoch_randomness: Seeds::<T>::get(e).and_then(|s| s.challenge).expect("drawn"),
            worker_id: worker,
            worker_agent: &agent,
            checker: &checker,
            claimed_model: w.gpu_model,
        },
        &terms,
    );
    Attestation {
        challenge_id: id,
        terms,
        merkle_root: [1; 32],
        work_time_ms: 7_000,
        throughput_gops: 1_000_000,
        ratio_ppm: 1_000_000,
        verdict,
        openings_digest: [2; 32],
        snapshots_digest: [3; 32],
    }
}

/// Commit every assigned slot, move to the commit deadline (drawing the randomness) and seal
/// the slots in `sealed`.
fn commit_all_and_seal<T: Config>(
    e: CheckingEpoch,
    worker: WorkerId,
    slots: &[(u32, T::AccountId)],
    sealed: usize,
) {
    for (slot, op) in slots {
        Popw::<T>::commit_nonce(
            RawOrigin::Signed(op.clone()).into(),
            e,
            worker,
            *slot,
            nonce_commitment(&nonce(*slot)),
        )
        .expect("commit");
    }
    let b = Popw::<T>::commit_deadline(e);
    set_block::<T>(b);
    Popw::<T>::on_initialize(b);
    for s in slots.iter().take(sealed) {
        let a = attestation::<T>(e, worker, s, CheckVerdict::Pass);
        Popw::<T>::seal(
            RawOrigin::Signed(s.1.clone()).into(),
            e,
            worker,
            s.0,
            seal_of(&a, &salt()),
        )
        .expect("seal");
    }
}

fn salt() -> Hash32 {
    [0x5A; 32]
}

/// Give `who` enough to hold any bond.
fn fund<T: Config>(who: &T::AccountId) {
    use frame_support::traits::fungible::{Inspect, Mutate};
    let amount = T::ContestBond::get()
        .max(T::DisputeBond::get())
        .saturating_mul(10u32.into())
        .saturating_add(T::Currency::minimum_balance());
    T::Currency::set_balance(who, amount);
}

/// K licenses of a contested verdict that all voted `Pass` (none in the slot set: nothing to
/// skip, every one compared against each draw).
fn previous_votes<T: Config>() -> BoundedVec<SlotVote, T::CheckersPerWorker> {
    BoundedVec::truncate_from(
        (0..T::CheckersPerWorker::get())
            .map(|i| SlotVote {
                license: u32::MAX - i,
                verdict: Some(CheckVerdict::Pass),
            })
            .collect(),
    )
}

/// A contest of a passing verdict of a pending worker, re-checked in the current epoch (the
/// bond held), in a slot set where drawing its slots takes `tries` draws
/// (`RecheckCheckers <= tries <= max_recheck_tries`). Returns the epoch, the worker and the
/// drawn (slot, operator)s.
fn open_recheck<T: Config>(tries: u32) -> (CheckingEpoch, WorkerId, Vec<(u32, T::AccountId)>) {
    use frame_support::traits::fungible::MutateHold;
    let provider: T::AccountId = account("provider", 0, SEED);
    let worker = T::BenchmarkHelper::pending_worker(&provider);
    let e = next_epoch::<T>();
    let seed = Popw::<T>::recheck_seed(&Seeds::<T>::get(e).expect("drawn").assignment);
    let r = T::RecheckCheckers::get();
    let mut owners: Vec<T::AccountId> = (0..SLOTS).map(|i| account("checker", i, SEED)).collect();
    for t in 0..tries.saturating_sub(r) {
        owners[draw_slot(&seed, worker, t, SLOTS) as usize] = provider.clone();
    }
    T::BenchmarkHelper::set_slots(&owners);
    let contester: T::AccountId = account("contester", 0, SEED);
    fund::<T>(&contester);
    let bond = T::ContestBond::get();
    T::Currency::hold(&HoldReason::ContestBond.into(), &contester, bond).expect("funded");
    let previous = previous_votes::<T>();
    Rechecks::<T>::insert(
        worker,
        Recheck {
            epoch: e,
            cause: RecheckCause::Contest {
                contester,
                bond,
                epoch: e.saturating_sub(1),
                outcome: CheckOutcome::Passed,
            },
            previous: previous.clone(),
            check: None,
        },
    );
    let (chosen, _) = Popw::<T>::draw_recheck(e, worker, &previous).expect("drawable");
    assert!(!chosen.is_empty(), "a re-check assignment");
    let slots = chosen.into_iter().map(|(i, s)| (i, s.operator)).collect();
    (e, worker, slots)
}

/// Commit every drawn re-check slot, move to the commit deadline and seal the first `sealed`
/// slots (with `verdict`).
fn commit_and_seal_recheck<T: Config>(
    e: CheckingEpoch,
    worker: WorkerId,
    slots: &[(u32, T::AccountId)],
    sealed: usize,
    verdict: CheckVerdict,
) {
    for (slot, op) in slots {
        Popw::<T>::commit_recheck_nonce(
            RawOrigin::Signed(op.clone()).into(),
            worker,
            *slot,
            nonce_commitment(&nonce(*slot)),
        )
        .expect("commit");
    }
    let b = Popw::<T>::commit_deadline(e);
    set_block::<T>(b);
    Popw::<T>::on_initialize(b);
    for s in slots.iter().take(sealed) {
        let a = attestation::<T>(e, worker, s, verdict);
        Popw::<T>::seal_recheck(
            RawOrigin::Signed(s.1.clone()).into(),
            worker,
            s.0,
            seal_of(&a, &salt()),
        )
        .expect("seal");
    }
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// The first commitment of a check: draws the assignment (`t` draws) and opens it.
    #[benchmark]
    fn commit_nonce(t: Linear<{ T::CheckersPerWorker::get() }, { T::MaxAssignmentTries::get() }>) {
        let (e, worker, slots) = setup::<T>(t);
        let (slot, op) = slots.last().cloned().expect("assigned");
        #[extrinsic_call]
        _(
            RawOrigin::Signed(op),
            e,
            worker,
            slot,
            nonce_commitment(&nonce(slot)),
        );
        assert!(Checks::<T>::get(e, worker).is_some());
    }

    #[benchmark]
    fn seal() {
        let (e, worker, slots) = setup::<T>(T::MaxAssignmentTries::get());
        commit_all_and_seal::<T>(e, worker, &slots, slots.len() - 1);
        let last = slots.last().cloned().expect("assigned");
        let a = attestation::<T>(e, worker, &last, CheckVerdict::Pass);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(last.1.clone()),
            e,
            worker,
            last.0,
            seal_of(&a, &salt()),
        );
        assert_eq!(
            Checks::<T>::get(e, worker).expect("open").sealed,
            slots.len() as u32
        );
    }

    /// A reveal that does not finalize (the finalizing one is `reveal + finalize`).
    #[benchmark]
    fn reveal() {
        let (e, worker, slots) = setup::<T>(T::MaxAssignmentTries::get());
        commit_all_and_seal::<T>(e, worker, &slots, slots.len());
        // Reveal all but one first, so that the measured reveal scans a full record.
        for s in slots.iter().skip(2) {
            let a = attestation::<T>(e, worker, s, CheckVerdict::Pass);
            Popw::<T>::reveal(
                RawOrigin::Signed(s.1.clone()).into(),
                e,
                worker,
                s.0,
                a,
                salt(),
            )
            .expect("reveal");
        }
        let first = slots[0].clone();
        let a = attestation::<T>(e, worker, &first, CheckVerdict::Pass);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(first.1.clone()),
            e,
            worker,
            first.0,
            a,
            salt(),
        );
        assert!(Checks::<T>::get(e, worker).is_some() || slots.len() == 1);
    }

    /// Finalizing an open check with every assigned slot but one revealed `Pass`: the
    /// verdict verifies the pending worker (its registry cost is charged apart, at
    /// `WorkerVerification::max_weight`).
    #[benchmark]
    fn finalize() {
        let (e, worker, slots) = setup::<T>(T::MaxAssignmentTries::get());
        // K assigned slots (the most tallies to write), all but one revealed.
        let k = slots.len();
        commit_all_and_seal::<T>(e, worker, &slots, slots.len());
        for s in slots.iter().take(k.saturating_sub(1)) {
            let a = attestation::<T>(e, worker, s, CheckVerdict::Pass);
            Popw::<T>::reveal(
                RawOrigin::Signed(s.1.clone()).into(),
                e,
                worker,
                s.0,
                a,
                salt(),
            )
            .expect("reveal");
        }
        let b = Popw::<T>::reveal_deadline(e);
        set_block::<T>(b);
        let caller: T::AccountId = whitelisted_caller();
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), e, worker);
        assert!(Checks::<T>::get(e, worker).is_none());
    }

    /// Finalizing a check nobody opened: draws the assignment (`t` draws), records silence.
    #[benchmark]
    fn finalize_unopened(
        t: Linear<{ T::CheckersPerWorker::get() }, { T::MaxAssignmentTries::get() }>,
    ) {
        let (e, worker, _) = setup::<T>(t);
        let b = Popw::<T>::reveal_deadline(e);
        set_block::<T>(b);
        let caller: T::AccountId = whitelisted_caller();
        #[extrinsic_call]
        finalize(RawOrigin::Signed(caller), e, worker);
        assert!(WorkerStates::<T>::get(worker).is_some());
    }

    #[benchmark]
    fn forget_worker() {
        let gone: WorkerId = WorkerId::MAX;
        assert!(T::Workers::worker(gone).is_none());
        WorkerStates::<T>::insert(gone, WorkerCheckState::default());
        let caller: T::AccountId = whitelisted_caller();
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), gone);
        assert!(WorkerStates::<T>::get(gone).is_none());
    }

    /// A block with nothing to draw.
    #[benchmark]
    fn on_initialize_idle() {
        let e = next_epoch::<T>();
        let b = T::Slots::epoch_start(e).saturating_add(One::one());
        #[block]
        {
            Popw::<T>::on_initialize(b);
        }
        assert!(Seeds::<T>::get(e).is_some());
    }

    /// An epoch's first block: draws the assignment seed and prunes an old epoch's seeds.
    #[benchmark]
    fn on_initialize_seed() {
        // Fill the seed history so that a prune happens.
        for _ in 0..T::SeedHistory::get() {
            next_epoch::<T>();
        }
        let now = frame_system::Pallet::<T>::block_number();
        let e = T::Slots::epoch_of(now).saturating_add(1);
        let b = T::Slots::epoch_start(e);
        set_block::<T>(b);
        #[block]
        {
            Popw::<T>::on_initialize(b);
        }
        assert!(Seeds::<T>::get(e).is_some());
        assert_eq!(Seeds::<T>::iter().count() as u32, T::SeedHistory::get());
    }

    /// The block that draws the challenge randomness.
    #[benchmark]
    fn on_initialize_randomness() {
        let e = next_epoch::<T>();
        let b = Popw::<T>::commit_deadline(e);
        set_block::<T>(b);
        #[block]
        {
            Popw::<T>::on_initialize(b);
        }
        assert!(Seeds::<T>::get(e).expect("seeds").challenge.is_some());
    }

    /// Pruning `n` tallies of an epoch `TallyHistory` epochs old.
    #[benchmark]
    fn on_idle_prune(n: Linear<0, { T::MaxTalliesPrunedPerBlock::get() }>) {
        for license in 0..n {
            CheckerTallies::<T>::insert(0, license, kaisar_primitives::CheckerTally::default());
        }
        let b = T::Slots::epoch_start(T::TallyHistory::get());
        set_block::<T>(b);
        #[block]
        {
            Popw::<T>::on_idle(b, Weight::MAX);
        }
        assert_eq!(CheckerTallies::<T>::iter_prefix(0).count(), 0);
        assert_eq!(TallyPruneEpoch::<T>::get(), 1);
    }

    /// Committing an epoch's canaries.
    #[benchmark]
    fn commit_canaries() -> Result<(), BenchmarkError> {
        let origin =
            T::CanaryOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let e = T::Slots::current_epoch().saturating_add(1);
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, e, [1; 32]);
        assert!(CanaryCommitments::<T>::get(e).is_some());
        Ok(())
    }

    /// Revealing `n` canaries, each with K retained revealed votes to score.
    #[benchmark]
    fn reveal_canaries(n: Linear<0, { T::MaxCanaries::get() }>) -> Result<(), BenchmarkError> {
        let origin =
            T::CanaryOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        // Epoch 1 current, so that epoch 0's canaries may be revealed.
        set_block::<T>(T::Slots::epoch_start(1));
        T::BenchmarkHelper::set_slots(&[]);
        let k = T::CheckersPerWorker::get();
        let list: Vec<(WorkerId, bool)> = (0..n)
            .map(|i| (1_000 + i as WorkerId, i % 2 == 0))
            .collect();
        for (worker, _) in &list {
            let votes: Vec<_> = (0..k).map(|j| (j, Some(CheckVerdict::Pass))).collect();
            RetainedVotes::<T>::insert(0, worker, BoundedVec::truncate_from(votes));
        }
        let salt = [3; 32];
        CanaryCommitments::<T>::insert(0, crate::canary_commitment(0, &list, &salt));
        let canaries: BoundedVec<_, T::MaxCanaries> = BoundedVec::truncate_from(list);
        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, 0, canaries, salt);
        assert!(CanaryCommitments::<T>::get(0).is_none());
        assert_eq!(RetainedVotes::<T>::iter_prefix(0).count(), 0);
        Ok(())
    }

    /// Contesting a worker's verdict: a bond held, a re-check recorded.
    #[benchmark]
    fn contest() {
        let provider: T::AccountId = account("provider", 0, SEED);
        let worker = T::BenchmarkHelper::pending_worker(&provider);
        let e = next_epoch::<T>();
        LastVerdicts::<T>::insert(
            worker,
            VerdictRecord {
                epoch: e,
                outcome: CheckOutcome::Passed,
                votes: previous_votes::<T>(),
            },
        );
        let caller: T::AccountId = whitelisted_caller();
        fund::<T>(&caller);
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), worker);
        assert!(Rechecks::<T>::get(worker).is_some());
    }

    /// A user's dispute of a Running order on a worker with a latest verdict.
    #[benchmark]
    fn dispute() {
        let provider: T::AccountId = account("provider", 0, SEED);
        let worker = T::BenchmarkHelper::pending_worker(&provider);
        let user: T::AccountId = whitelisted_caller();
        let order = T::BenchmarkHelper::running_order(&user, worker);
        fund::<T>(&user);
        LastVerdicts::<T>::insert(
            worker,
            VerdictRecord {
                epoch: 0,
                outcome: CheckOutcome::Passed,
                votes: previous_votes::<T>(),
            },
        );
        #[extrinsic_call]
        _(RawOrigin::Signed(user), order);
        assert!(Rechecks::<T>::get(worker).is_some());
    }

    /// The first commitment of a re-check: draws its slots (`t` draws).
    #[benchmark]
    fn commit_recheck_nonce(
        t: Linear<{ T::RecheckCheckers::get() }, { Popw::<T>::max_recheck_tries() }>,
    ) {
        let (_, worker, slots) = open_recheck::<T>(t);
        let (slot, op) = slots.last().cloned().expect("drawn");
        #[extrinsic_call]
        _(
            RawOrigin::Signed(op),
            worker,
            slot,
            nonce_commitment(&nonce(slot)),
        );
        assert!(Rechecks::<T>::get(worker).expect("open").check.is_some());
    }

    #[benchmark]
    fn seal_recheck() {
        let (e, worker, slots) = open_recheck::<T>(Popw::<T>::max_recheck_tries());
        commit_and_seal_recheck::<T>(e, worker, &slots, slots.len() - 1, CheckVerdict::Pass);
        let last = slots.last().cloned().expect("drawn");
        let a = attestation::<T>(e, worker, &last, CheckVerdict::Pass);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(last.1.clone()),
            worker,
            last.0,
            seal_of(&a, &salt()),
        );
        let rc = Rechecks::<T>::get(worker).expect("open");
        assert_eq!(rc.check.expect("drawn").sealed, slots.len() as u32);
    }

    /// A re-check reveal that does not conclude it.
    #[benchmark]
    fn reveal_recheck() {
        let (e, worker, slots) = open_recheck::<T>(Popw::<T>::max_recheck_tries());
        commit_and_seal_recheck::<T>(e, worker, &slots, slots.len(), CheckVerdict::Pass);
        for s in slots.iter().skip(2) {
            let a = attestation::<T>(e, worker, s, CheckVerdict::Pass);
            Popw::<T>::reveal_recheck(
                RawOrigin::Signed(s.1.clone()).into(),
                worker,
                s.0,
                a,
                salt(),
            )
            .expect("reveal");
        }
        let first = slots[0].clone();
        let a = attestation::<T>(e, worker, &first, CheckVerdict::Pass);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(first.1.clone()),
            worker,
            first.0,
            a,
            salt(),
        );
        assert!(Rechecks::<T>::get(worker).is_some() || slots.len() == 1);
    }

    /// Concluding a re-check that overturns the contested pass: every drawn slot but one
    /// revealed `Wrong`; tallies for each, K slashes, the bond released (the suspension's
    /// registry cost is charged apart).
    #[benchmark]
    fn finalize_recheck() {
        let (e, worker, slots) = open_recheck::<T>(Popw::<T>::max_recheck_tries());
        commit_and_seal_recheck::<T>(e, worker, &slots, slots.len(), CheckVerdict::Wrong);
        for s in slots.iter().take(slots.len().saturating_sub(1)) {
            let a = attestation::<T>(e, worker, s, CheckVerdict::Wrong);
            Popw::<T>::reveal_recheck(
                RawOrigin::Signed(s.1.clone()).into(),
                worker,
                s.0,
                a,
                salt(),
            )
            .expect("reveal");
        }
        set_block::<T>(Popw::<T>::reveal_deadline(e));
        let caller: T::AccountId = whitelisted_caller();
        #[extrinsic_call]
        _(RawOrigin::Signed(caller), worker);
        assert!(Rechecks::<T>::get(worker).is_none());
        assert_eq!(
            Slashes::<T>::iter_prefix(e).count() as u32,
            T::CheckersPerWorker::get()
        );
    }

    impl_benchmark_test_suite!(
        Popw,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
