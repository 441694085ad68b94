//! Benchmarks of the orders pallet (frame-benchmarking v2). Every benchmark sets up the worst
//! case of its bounds: longest image, most ports, largest access blob, a points discount (so
//! every escrow movement has a sponsor part), refunds as points where that is the costlier path,
//! nearly full per-worker indexes, order deposits, and every deadline scheduled through a full
//! spill window of the deadline index (`MaxDeadlineSpill - 1` full buckets first).

use super::*;
use crate::Pallet as Orders;
use alloc::{vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::{
    traits::{fungible::Inspect, Get, Hooks},
    BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use kaisar_primitives::{GpuModel, OrderId, WorkerAvailabilityHooks, WorkerId, WorkerRegistry};
use sp_runtime::traits::{Bounded, One, Saturating, Zero};

const MODEL: GpuModel = GpuModel::H100Sxm;

fn price<T: Config>() -> BalanceOf<T> {
    1_000u32.into()
}

fn now<T: Config>() -> BlockNumberFor<T> {
    frame_system::Pallet::<T>::block_number()
}

fn set_block<T: Config>(n: BlockNumberFor<T>) {
    frame_system::Pallet::<T>::set_block_number(n);
}

/// Cost of a one-GPU order of the shortest duration.
fn unit_cost<T: Config>() -> BalanceOf<T> {
    Orders::<T>::order_cost(price::<T>(), 1, T::MinDuration::get()).expect("small numbers")
}

/// An Active worker with `gpus` GPUs; returns its id and agent.
fn worker<T: Config>(seed: u32, gpus: u32) -> (WorkerId, T::AccountId) {
    // The harness wipes the state between component values (block 0) and moves a block-0 state
    // to block 1 just before the measured call: start at 1 so that deadlines computed here
    // are the call's.
    if now::<T>().is_zero() {
        set_block::<T>(One::one());
    }
    let provider: T::AccountId = account("provider", seed, 0);
    let agent: T::AccountId = account("agent", seed, 0);
    let id = T::BenchmarkHelper::active_worker(&provider, &agent, MODEL, gpus, price::<T>());
    (id, agent)
}

/// A user funded for `orders` one-GPU orders, holding half of each order's cost in points and
/// wanting failure refunds as points.
fn user<T: Config>(seed: u32, orders: u32) -> T::AccountId {
    let user: T::AccountId = account("user", seed, 0);
    let cost = unit_cost::<T>();
    let ed = T::Currency::minimum_balance();
    let orders: BalanceOf<T> = orders.max(1).into();
    T::BenchmarkHelper::fund(
        &user,
        cost.saturating_add(T::OrderDeposit::get())
            .saturating_mul(orders)
            .saturating_mul(2u32.into())
            .saturating_add(ed.saturating_mul(10u32.into())),
    );
    let half = cost / 2u32.into();
    T::BenchmarkHelper::give_points(&user, half.max(One::one()).saturating_mul(orders));
    T::BenchmarkHelper::set_prefers_points(&user, true);
    user
}

/// The largest order spec: longest image, most ports.
fn spec<T: Config>(target: Option<WorkerId>) -> OrderSpec<T> {
    let image_len = T::MaxImageLen::get().max(1) as usize;
    OrderSpec {
        image: BoundedVec::truncate_from(vec![b'i'; image_len]),
        gpu_model: MODEL,
        gpu_count: 1,
        duration: T::MinDuration::get(),
        max_price_per_gpu_hour: price::<T>(),
        target_worker: target,
        user_public_key: [7u8; 32],
        ports: BoundedVec::truncate_from((0..T::MaxPorts::get()).map(|p| p as u16).collect()),
    }
}

/// Place a one-GPU order on `worker` with half its cost paid in points.
fn place<T: Config>(user: &T::AccountId, worker: WorkerId) -> OrderId {
    let max_points = (unit_cost::<T>() / 2u32.into()).max(One::one());
    Orders::<T>::do_place_order(user.clone(), spec::<T>(Some(worker)), max_points)
        .expect("benchmark order is valid")
        .0
}

/// The largest access blob.
fn blob<T: Config>() -> BoundedVec<u8, T::MaxAccessBlobLen> {
    BoundedVec::truncate_from(vec![0xab; T::MaxAccessBlobLen::get() as usize])
}

fn accept<T: Config>(agent: &T::AccountId, id: OrderId) {
    Orders::<T>::do_accept_order(agent.clone(), id, blob::<T>()).expect("order is pending");
}

fn status<T: Config>(id: OrderId) -> OrderStatus<BlockNumberFor<T>> {
    crate::Orders::<T>::get(id).expect("order exists").status
}

/// Fill the buckets of the `MaxDeadlineSpill - 1` blocks from `from` on (with ids no order
/// has), so that a deadline due at `from` tries every bucket of its spill window.
fn fill_spill_window<T: Config>(from: BlockNumberFor<T>) {
    let full: Vec<OrderId> = (0..T::MaxDeadlinesPerBlock::get())
        .map(|i| OrderId::MAX - i as OrderId)
        .collect();
    let mut at = from;
    for _ in 1..T::MaxDeadlineSpill::get() {
        Deadlines::<T>::insert(at, BoundedVec::truncate_from(full.clone()));
        at = at.saturating_add(One::one());
    }
}

/// Where the removal of an order ending now is scheduled from.
fn retention_from<T: Config>() -> BlockNumberFor<T> {
    now::<T>().saturating_add(T::OrderRetention::get())
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// Automatic matching through `n` entries of the price index, where only the last worker
    /// fits (the others have no free GPU); a points discount; the worker's order list one short
    /// of full; the accept deadline spilling through its whole window.
    #[benchmark]
    fn place_order(n: Linear<1, { T::Workers::max_scanned().max(1) }>) {
        let mut worker_id = 0;
        for i in 0..n {
            worker_id = worker::<T>(i, 1).0;
            if i + 1 < n {
                T::Workers::reserve_gpus(worker_id, 1).expect("a free GPU");
            }
        }
        let user = user::<T>(0, 1);
        let accept_by = now::<T>().saturating_add(T::AcceptTimeout::get());
        let filler = |n: u32| (0..n.saturating_sub(1)).map(|i| OrderId::MAX - i as OrderId);
        OrdersByWorker::<T>::insert(
            worker_id,
            BoundedVec::truncate_from(filler(T::MaxOrdersPerWorker::get()).collect::<Vec<_>>()),
        );
        fill_spill_window::<T>(accept_by);
        let id = NextOrderId::<T>::get();

        #[extrinsic_call]
        _(
            RawOrigin::Signed(user),
            spec::<T>(None),
            BalanceOf::<T>::max_value(),
        );

        let order = crate::Orders::<T>::get(id).expect("placed");
        assert_eq!(order.worker, worker_id);
        assert!(!order.discount.is_zero());
        assert_eq!(order.status, OrderStatus::Pending { accept_by });
    }

    #[benchmark]
    fn accept_order() {
        let (worker_id, agent) = worker::<T>(0, 1);
        let id = place::<T>(&user::<T>(0, 1), worker_id);
        fill_spill_window::<T>(
            now::<T>()
                .saturating_add(T::MinDuration::get())
                .saturating_add(T::ReportGracePeriod::get())
                .saturating_add(One::one()),
        );

        #[extrinsic_call]
        _(RawOrigin::Signed(agent), id, blob::<T>());

        assert!(matches!(status::<T>(id), OrderStatus::Running { .. }));
    }

    /// A full refund as points, with a sponsored part.
    #[benchmark]
    fn reject_order() {
        let (worker_id, agent) = worker::<T>(0, 1);
        let id = place::<T>(&user::<T>(0, 1), worker_id);
        fill_spill_window::<T>(retention_from::<T>());

        #[extrinsic_call]
        _(RawOrigin::Signed(agent), id);

        assert!(matches!(status::<T>(id), OrderStatus::Failed { .. }));
    }

    /// The final report: pays the rest and completes the order.
    #[benchmark]
    fn report_usage() {
        let (worker_id, agent) = worker::<T>(0, 1);
        let id = place::<T>(&user::<T>(0, 1), worker_id);
        accept::<T>(&agent, id);
        set_block::<T>(now::<T>().saturating_add(T::MinDuration::get()));
        let usage = UsageReport {
            gpu_util_permille: 1000,
            gpu_mem_used_mib: 80_000,
            uptime_secs: 1,
        };
        fill_spill_window::<T>(retention_from::<T>());

        #[extrinsic_call]
        _(RawOrigin::Signed(agent), id, 1, usage);

        assert!(matches!(status::<T>(id), OrderStatus::Completed { .. }));
    }

    /// A Pending order: its deposit is forfeited (a transfer), the payment refunded, the
    /// discount points restored. (A Running order's cancellation pays nothing and refunds the
    /// same; one past its report deadline fails as in `expire_order`, which the call's weight
    /// also covers.)
    #[benchmark]
    fn cancel_order() {
        let (worker_id, _) = worker::<T>(0, 1);
        let user = user::<T>(0, 1);
        let id = place::<T>(&user, worker_id);
        fill_spill_window::<T>(retention_from::<T>());

        #[extrinsic_call]
        _(RawOrigin::Signed(user), id);

        assert!(matches!(status::<T>(id), OrderStatus::Cancelled { .. }));
    }

    /// A running order without final report: refunded as points.
    #[benchmark]
    fn expire_order() {
        let (worker_id, agent) = worker::<T>(0, 1);
        let id = place::<T>(&user::<T>(0, 1), worker_id);
        accept::<T>(&agent, id);
        set_block::<T>(
            now::<T>()
                .saturating_add(T::MinDuration::get())
                .saturating_add(T::ReportGracePeriod::get())
                .saturating_add(One::one()),
        );
        fill_spill_window::<T>(retention_from::<T>());
        let caller: T::AccountId = whitelisted_caller();

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), id);

        assert!(matches!(status::<T>(id), OrderStatus::Failed { .. }));
    }

    #[benchmark]
    fn drop_order() {
        let (worker_id, _) = worker::<T>(0, 1);
        let user = user::<T>(0, 1);
        let id = place::<T>(&user, worker_id);
        Orders::<T>::do_cancel_order(user, id).expect("pending order of its user");
        set_block::<T>(now::<T>().saturating_add(T::OrderRetention::get()));
        let caller: T::AccountId = whitelisted_caller();

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), id);

        assert!(crate::Orders::<T>::get(id).is_none());
    }

    /// `n` orders of the deadline bucket fail: Pending orders at their accept deadline (one
    /// worker each), which release a deposit and refund everything (as points); each schedules
    /// its removal through a full spill window. (Running orders failing at their report deadline
    /// do the same minus the deposit plus an access blob; removals after retention are a single
    /// storage removal.)
    #[benchmark]
    fn on_initialize(n: Linear<0, { T::MaxDeadlinesPerBlock::get() }>) {
        let user = user::<T>(0, n);
        let ids: Vec<OrderId> = (0..n)
            .map(|i| place::<T>(&user, worker::<T>(i, 1).0))
            .collect();
        let deadline = now::<T>().saturating_add(T::AcceptTimeout::get());
        set_block::<T>(deadline);
        fill_spill_window::<T>(retention_from::<T>());

        #[block]
        {
            Orders::<T>::on_initialize(deadline);
        }

        for id in ids {
            assert!(matches!(status::<T>(id), OrderStatus::Failed { .. }));
        }
    }

    /// A worker with `n` running, partly paid orders becomes unavailable.
    #[benchmark]
    fn on_worker_unavailable(n: Linear<0, { T::MaxOrdersPerWorker::get() }>) {
        let (worker_id, agent) = worker::<T>(0, n.max(1));
        let user = user::<T>(0, n);
        // Accepting takes an order out of its deadline bucket, so all fit in one block.
        let ids: Vec<OrderId> = (0..n)
            .map(|_| {
                let id = place::<T>(&user, worker_id);
                accept::<T>(&agent, id);
                id
            })
            .collect();
        // Pay each for part of its run (unless the shortest order is a single block).
        let half = T::MinDuration::get() / 2u32.into();
        if !half.is_zero() {
            set_block::<T>(now::<T>().saturating_add(half));
            for id in &ids {
                Orders::<T>::do_report_usage(agent.clone(), *id, 1, UsageReport::default())
                    .expect("running order");
            }
        }
        fill_spill_window::<T>(retention_from::<T>());

        #[block]
        {
            <Orders<T> as WorkerAvailabilityHooks>::on_worker_unavailable(worker_id);
        }

        for id in ids {
            assert!(matches!(status::<T>(id), OrderStatus::Failed { .. }));
        }
    }

    impl_benchmark_test_suite!(
        Orders,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
