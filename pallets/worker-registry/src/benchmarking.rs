//! Benchmarks of the worker registry (frame-benchmarking v2): every call and the
//! `on_initialize` sweep, each in its worst case. The price index of the benchmarked model is
//! full wherever the call touches it, so that entering it evicts a worker (one more worker
//! record written) and leaving it rewrites the longest index; specs have the longest region
//! and endpoint.

use super::*;
use crate::Pallet as Registry;
use alloc::{vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::{
    traits::{
        fungible::{Inspect, InspectHold, Mutate},
        EnsureOrigin, Get, Hooks,
    },
    BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_core::H256;
use sp_runtime::traits::{One, Saturating, Zero};

const SEED: u32 = 0;
/// The model whose index the single-worker benchmarks fill.
const MODEL: GpuModel = GpuModel::H100Sxm;
/// Every GPU model, so that the sweep can spread its workers over all indexes. Not
/// `GpuModel::DevCpu`: development-only, refused unless the genesis enabled dev models (and a
/// benchmark of it would measure the same paths).
const MODELS: [GpuModel; 12] = [
    GpuModel::RtxA4000,
    GpuModel::Rtx3090,
    GpuModel::Rtx4090,
    GpuModel::Rtx5090,
    GpuModel::L4,
    GpuModel::L40S,
    GpuModel::A10,
    GpuModel::A100Pcie40G,
    GpuModel::A100Sxm80G,
    GpuModel::H100Pcie,
    GpuModel::H100Sxm,
    GpuModel::H200,
];
/// Prices: the benchmarked worker is cheaper than every worker filling the index.
const CHEAP: u32 = 1_000;
const FILLER: u32 = 2_000;
const DEAR: u32 = 5_000;

fn now<T: Config>() -> BlockNumberFor<T> {
    frame_system::Pallet::<T>::block_number()
}

fn set_block<T: Config>(n: BlockNumberFor<T>) {
    frame_system::Pallet::<T>::set_block_number(n);
}

/// A GPU UUID hash unique per `(worker seed, gpu index)`.
fn uuid(seed: u32, gpu: u32) -> H256 {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&seed.to_le_bytes());
    bytes[4..8].copy_from_slice(&gpu.to_le_bytes());
    H256(bytes)
}

fn agent<T: Config>(seed: u32) -> T::AccountId {
    account("agent", seed, SEED)
}

fn provider<T: Config>(seed: u32) -> T::AccountId {
    account("provider", seed, SEED)
}

/// The longest endpoint.
fn endpoint<T: Config>(byte: u8) -> EndpointOf<T> {
    BoundedVec::truncate_from(vec![byte; T::MaxEndpointLen::get() as usize])
}

/// A spec with `gpus` GPUs of `model`, the longest region and endpoint, priced `price`.
fn spec<T: Config>(seed: u32, model: GpuModel, gpus: u32, price: u32) -> WorkerSpecOf<T> {
    WorkerSpec {
        host_class: HostClass::BareMetal,
        gpus: BoundedVec::truncate_from(
            (0..gpus)
                .map(|g| GpuDevice {
                    model,
                    vram_mib: 81_920,
                    uuid_hash: uuid(seed, g),
                })
                .collect(),
        ),
        cpu_cores: 128,
        ram_mib: 2 * 1024 * 1024,
        disk_gib: 30_000,
        region: BoundedVec::truncate_from(vec![b'r'; T::MaxRegionLen::get() as usize]),
        price_per_gpu_hour: price.into(),
        endpoint: endpoint::<T>(b'e'),
        agent: agent::<T>(seed),
    }
}

/// Fund `who` for a registration (fee and deposit, twice over) and make sure the fee
/// destination exists, so that a fee below the existential deposit can be paid into it.
fn fund<T: Config>(who: &T::AccountId) {
    let ed = T::Currency::minimum_balance();
    let needed = T::RegistrationFee::get()
        .saturating_add(T::WorkerDeposit::get())
        .saturating_add(ed)
        .saturating_mul(2u32.into())
        .max(One::one());
    T::Currency::set_balance(who, needed);
    if let Some(destination) = T::FeeDestination::get() {
        if T::Currency::total_balance(&destination) < ed {
            T::Currency::set_balance(&destination, ed);
        }
    }
}

/// Register a `PendingVerification` worker; returns its id.
fn register<T: Config>(seed: u32, model: GpuModel, gpus: u32, price: u32) -> WorkerId {
    let who = provider::<T>(seed);
    fund::<T>(&who);
    Registry::<T>::do_register_worker(who, spec::<T>(seed, model, gpus, price))
        .expect("funded provider with fresh GPUs and agent registers")
}

/// Register and verify a one-GPU worker of `model`; returns its id.
fn active<T: Config>(seed: u32, model: GpuModel, price: u32) -> WorkerId {
    let id = register::<T>(seed, model, 1, price);
    Registry::<T>::do_verify_worker(id).expect("a fresh pending worker verifies");
    id
}

/// Fill `MODEL`'s price index with `MaxIndexedPerModel` Active workers priced from `FILLER`
/// up (seeds `1_000_000..`); returns their ids, cheapest first.
fn fill_index<T: Config>() -> Vec<WorkerId> {
    let ids: Vec<WorkerId> = (0..T::MaxIndexedPerModel::get())
        .map(|k| active::<T>(1_000_000 + k, MODEL, FILLER + k))
        .collect();
    assert!(PriceIndex::<T>::get(MODEL).is_full());
    ids
}

fn info<T: Config>(id: WorkerId) -> WorkerInfoOf<T> {
    Workers::<T>::get(id).expect("worker exists")
}

fn verifier<T: Config>() -> Result<T::RuntimeOrigin, BenchmarkError> {
    T::VerifierOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// `g` GPUs, the longest region and endpoint; the fee is transferred (or burnt) and the
    /// deposit held.
    #[benchmark]
    fn register_worker(g: Linear<1, { T::MaxGpusPerWorker::get() }>) {
        let who = provider::<T>(0);
        fund::<T>(&who);
        let spec = spec::<T>(0, MODEL, g, CHEAP);
        let id = NextWorkerId::<T>::get();

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), spec);

        assert_eq!(info::<T>(id).status, WorkerStatus::PendingVerification);
        assert_eq!(info::<T>(id).spec.gpu_count(), g);
        assert_eq!(
            T::Currency::balance_on_hold(&HoldReason::WorkerDeposit.into(), &who),
            T::WorkerDeposit::get()
        );
    }

    /// The verified worker enters a full index and evicts its most expensive worker.
    #[benchmark]
    fn verify_worker() -> Result<(), BenchmarkError> {
        let origin = verifier::<T>()?;
        let fillers = fill_index::<T>();
        let id = register::<T>(0, MODEL, 1, CHEAP);

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, id);

        assert_eq!(info::<T>(id).status, WorkerStatus::Active);
        assert!(info::<T>(id).indexed);
        let evicted = *fillers.last().expect("the index has room for one worker");
        assert!(!info::<T>(evicted).indexed);
        Ok(())
    }

    /// The cheapest worker of a full index is suspended (the whole index is rewritten); the
    /// availability hook's own weight is added by the call.
    #[benchmark]
    fn suspend_worker() -> Result<(), BenchmarkError> {
        let origin = verifier::<T>()?;
        let id = fill_index::<T>()[0];

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, id);

        assert_eq!(info::<T>(id).status, WorkerStatus::Suspended);
        assert!(!info::<T>(id).indexed);
        Ok(())
    }

    /// An Offline worker heartbeats back online and evicts the most expensive worker of its
    /// model's full index.
    #[benchmark]
    fn heartbeat() {
        let id = active::<T>(0, MODEL, CHEAP);
        Registry::<T>::take_offline(id, info::<T>(id), None);
        let fillers = fill_index::<T>();
        set_block::<T>(now::<T>().saturating_add(One::one()));
        let gpus = info::<T>(id).spec.gpu_count();

        #[extrinsic_call]
        _(RawOrigin::Signed(agent::<T>(0)), id, gpus);

        assert_eq!(info::<T>(id).status, WorkerStatus::Active);
        assert_eq!(info::<T>(id).last_heartbeat, now::<T>());
        assert!(info::<T>(id).indexed);
        let evicted = *fillers.last().expect("the index has room for one worker");
        assert!(!info::<T>(evicted).indexed);
    }

    /// The cheapest worker of a full index is overdue and reported; the availability hook's
    /// own weight is added by the call.
    #[benchmark]
    fn report_offline() {
        let id = fill_index::<T>()[0];
        set_block::<T>(
            now::<T>()
                .saturating_add(T::HeartbeatTimeout::get())
                .saturating_add(One::one()),
        );
        let reporter: T::AccountId = account("reporter", 0, SEED);

        #[extrinsic_call]
        _(RawOrigin::Signed(reporter), id);

        assert_eq!(info::<T>(id).status, WorkerStatus::Offline);
        assert!(!info::<T>(id).indexed);
    }

    /// An Active worker left out of a full index lowers its price, enters the index evicting
    /// the most expensive worker, and changes its endpoint.
    #[benchmark]
    fn update_worker() {
        let fillers = fill_index::<T>();
        let id = active::<T>(0, MODEL, DEAR);
        assert!(!info::<T>(id).indexed);
        let who = provider::<T>(0);
        let new_endpoint = endpoint::<T>(b'n');
        let price: BalanceOf<T> = CHEAP.into();

        #[extrinsic_call]
        _(
            RawOrigin::Signed(who),
            id,
            Some(price),
            Some(new_endpoint.clone()),
        );

        let worker = info::<T>(id);
        assert!(worker.indexed);
        assert_eq!(worker.spec.price_per_gpu_hour, price);
        assert_eq!(worker.spec.endpoint, new_endpoint);
        let evicted = *fillers.last().expect("the index has room for one worker");
        assert!(!info::<T>(evicted).indexed);
    }

    /// The cheapest worker of a full index leaves it and starts unbonding.
    #[benchmark]
    fn deregister_worker() {
        let id = fill_index::<T>()[0];
        let who = info::<T>(id).provider;

        #[extrinsic_call]
        _(RawOrigin::Signed(who), id);

        assert_eq!(info::<T>(id).status, WorkerStatus::Deregistering);
        assert!(!info::<T>(id).indexed);
    }

    /// An unbonded worker with `g` GPUs is removed and its deposit released.
    #[benchmark]
    fn withdraw_deposit(g: Linear<1, { T::MaxGpusPerWorker::get() }>) {
        let id = register::<T>(0, MODEL, g, CHEAP);
        let who = provider::<T>(0);
        Registry::<T>::do_deregister_worker(who.clone(), id).expect("an idle worker deregisters");
        set_block::<T>(info::<T>(id).unlock_at.expect("Deregistering"));

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), id);

        assert!(!Workers::<T>::contains_key(id));
        assert!(T::Currency::balance_on_hold(&HoldReason::WorkerDeposit.into(), &who).is_zero());
    }

    /// The `on_initialize` sweep looks at `n` workers, all Active, indexed (spread over every
    /// model's index) and overdue, and takes them all offline. The availability hook runs for
    /// each; the sweep adds the hook's reported weight on top.
    #[benchmark]
    fn sweep(n: Linear<0, { T::MaxSweepPerBlock::get() }>) {
        let ids: Vec<WorkerId> = (0..n)
            .map(|i| active::<T>(i, MODELS[i as usize % MODELS.len()], CHEAP + i))
            .collect();
        SweepCursor::<T>::kill();
        let at = now::<T>()
            .saturating_add(T::HeartbeatTimeout::get())
            .saturating_add(One::one());
        set_block::<T>(at);

        #[block]
        {
            <Registry<T> as Hooks<BlockNumberFor<T>>>::on_initialize(at);
        }

        for id in ids {
            assert_eq!(info::<T>(id).status, WorkerStatus::Offline);
        }
    }

    /// An expired pending worker with `g` GPUs is removed and its deposit released.
    #[benchmark]
    fn expire_pending(g: Linear<1, { T::MaxGpusPerWorker::get() }>) {
        let id = register::<T>(0, MODEL, g, CHEAP);
        let who = provider::<T>(0);
        set_block::<T>(
            info::<T>(id)
                .pending_expires_at
                .expect("PendingVerification"),
        );
        let caller: T::AccountId = account("caller", 0, SEED);

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), id);

        assert!(!Workers::<T>::contains_key(id));
        assert!(T::Currency::balance_on_hold(&HoldReason::WorkerDeposit.into(), &who).is_zero());
    }

    /// The cheapest worker of a full index, with `g` GPUs, is removed with its deposit slashed
    /// (transferred to `FeeDestination`, or burnt); the availability hook's own weight is
    /// added by the call.
    #[benchmark]
    fn force_deregister(
        g: Linear<1, { T::MaxGpusPerWorker::get() }>,
    ) -> Result<(), BenchmarkError> {
        let origin =
            T::ForceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let id = register::<T>(0, MODEL, g, CHEAP);
        Registry::<T>::do_verify_worker(id).expect("a fresh pending worker verifies");
        fill_index::<T>();
        assert!(info::<T>(id).indexed);
        let who = provider::<T>(0);

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, id, true);

        assert!(!Workers::<T>::contains_key(id));
        assert!(T::Currency::balance_on_hold(&HoldReason::WorkerDeposit.into(), &who).is_zero());
        Ok(())
    }

    /// The agent key of a worker is replaced by a fresh one.
    #[benchmark]
    fn rotate_agent() {
        let id = active::<T>(0, MODEL, CHEAP);
        let who = provider::<T>(0);
        let new_agent: T::AccountId = account("new-agent", 0, SEED);

        #[extrinsic_call]
        _(RawOrigin::Signed(who), id, new_agent.clone());

        assert_eq!(info::<T>(id).spec.agent, new_agent);
        assert_eq!(WorkerByAgent::<T>::get(&new_agent), Some(id));
        assert!(!WorkerByAgent::<T>::contains_key(agent::<T>(0)));
    }

    /// The cheapest worker of a full index is paused (the whole index is rewritten).
    #[benchmark]
    fn pause_worker() {
        let id = fill_index::<T>()[0];
        let who = info::<T>(id).provider;

        #[extrinsic_call]
        _(RawOrigin::Signed(who), id);

        assert!(info::<T>(id).paused);
        assert!(!info::<T>(id).indexed);
    }

    /// A paused Active worker resumes and evicts the most expensive worker of its model's
    /// full index.
    #[benchmark]
    fn resume_worker() {
        let id = active::<T>(0, MODEL, CHEAP);
        let who = provider::<T>(0);
        Registry::<T>::do_pause_worker(who.clone(), id).expect("an active worker pauses");
        let fillers = fill_index::<T>();

        #[extrinsic_call]
        _(RawOrigin::Signed(who), id);

        assert!(!info::<T>(id).paused);
        assert!(info::<T>(id).indexed);
        let evicted = *fillers.last().expect("the index has room for one worker");
        assert!(!info::<T>(evicted).indexed);
    }

    // `build_and_execute` checks `try_state` after each benchmark.
    impl_benchmark_test_suite!(
        Registry,
        crate::mock::ExtBuilder::default(),
        crate::mock::Test,
        exec_name = build_and_execute
    );
}
