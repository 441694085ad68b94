//! Benchmarks of the orders pallet (frame-benchmarking v2). Every benchmark sets up the worst
//! case of its bounds: longest image, most ports, largest access blob, a points discount (so
//! every escrow movement has a sponsor part), refunds as points where that is the costlier path,
//! nearly full per-worker indexes, order deposits, and every deadline scheduled through a full
//! spill window of the deadline index (`MaxDeadlineSpill - 1` full buckets first). Orders that
//! report usage carry unmatured periods (a full queue of `MaxUnmatured` where the call reads
//! it), of which the matured ones are paid by the measured call (one escrow payment) and the
//! others refunded where it fails the order.

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

/// The duration of the benchmarks' orders: the shortest that holds `MaxUnmatured` reports one
/// block apart before its end (and at least three blocks).
fn duration<T: Config>() -> BlockNumberFor<T> {
    T::MinDuration::get()
        .max((T::MaxUnmatured::get().saturating_add(1)).into())
        .max(3u32.into())
}

/// Cost of a one-GPU order of the benchmarks' duration.
fn unit_cost<T: Config>() -> BalanceOf<T> {
    Orders::<T>::order_cost(price::<T>(), 1, duration::<T>()).expect("small numbers")
}

/// Report usage of Running order `id` at the current block with sequence number `seq`.
fn report<T: Config>(agent: &T::AccountId, id: OrderId, seq: u32) {
    Orders::<T>::do_report_usage(agent.clone(), id, seq, UsageReport::default())
        .expect("running order, next sequence number");
}

fn unmatured<T: Config>(id: OrderId) -> u32 {
    crate::Unmatured::<T>::get(id).len() as u32
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
        duration: duration::<T>(),
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

/// Running orders `ids` (accepted in the current block, by the same worker's `agent`) report
/// usage in the next two blocks; the maturity delay is set so that at block `matured_at` (at
/// least three blocks after acceptance) the first period has matured and the second has not.
fn two_periods<T: Config>(agent: &T::AccountId, ids: &[OrderId], matured_at: BlockNumberFor<T>) {
    let accepted = now::<T>();
    let first = accepted.saturating_add(One::one());
    MaturityDelay::<T>::put(matured_at.saturating_sub(first));
    for (offset, seq) in [(1u32, 1u32), (2, 2)] {
        set_block::<T>(accepted.saturating_add(offset.into()));
        for id in ids {
            report::<T>(agent, *id, seq);
        }
    }
    for id in ids {
        assert_eq!(unmatured::<T>(*id), 2);
    }
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
                .saturating_add(duration::<T>())
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

    /// The final report on a full queue of `MaxUnmatured` periods that all matured: pays them
    /// (one escrow payment), queues the final period and makes the order Settling (its GPUs
    /// released, its access blob removed, its deadline moved through a full spill window).
    #[benchmark]
    fn report_usage() {
        let (worker_id, agent) = worker::<T>(0, 1);
        let id = place::<T>(&user::<T>(0, 1), worker_id);
        accept::<T>(&agent, id);
        let started = now::<T>();
        let ends_at = started.saturating_add(duration::<T>());
        let max = T::MaxUnmatured::get();
        // Nothing matures while the queue fills up.
        MaturityDelay::<T>::put(duration::<T>().saturating_add(100u32.into()));
        for seq in 1..=max {
            set_block::<T>(started.saturating_add(seq.into()));
            report::<T>(&agent, id, seq);
        }
        assert_eq!(unmatured::<T>(id), max);
        // At the end, all of them have matured; the final period has not.
        set_block::<T>(ends_at);
        MaturityDelay::<T>::put(ends_at.saturating_sub(started.saturating_add(max.into())));
        let usage = UsageReport {
            gpu_util_permille: 1000,
            gpu_mem_used_mib: 80_000,
            uptime_secs: 1,
        };
        fill_spill_window::<T>(ends_at.saturating_add(MaturityDelay::<T>::get()));

        #[extrinsic_call]
        _(RawOrigin::Signed(agent), id, max + 1, usage);

        assert!(matches!(status::<T>(id), OrderStatus::Settling { .. }));
        assert_eq!(unmatured::<T>(id), 1);
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

    /// A running order without final report, with a matured period (paid) and an unmatured
    /// one: the rest is refunded as points.
    #[benchmark]
    fn expire_order() {
        let (worker_id, agent) = worker::<T>(0, 1);
        let id = place::<T>(&user::<T>(0, 1), worker_id);
        accept::<T>(&agent, id);
        let deadline = now::<T>()
            .saturating_add(duration::<T>())
            .saturating_add(T::ReportGracePeriod::get())
            .saturating_add(One::one());
        two_periods::<T>(&agent, &[id], deadline);
        set_block::<T>(deadline);
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

    /// `n` orders of the deadline bucket fail: Running orders at their report deadline (one
    /// worker each), each with a matured period (paid: one escrow payment) and an unmatured one,
    /// refunded with the unserved rest as points; each schedules its removal through a full
    /// spill window. (Pending orders failing at their accept deadline release a deposit instead
    /// of paying; Settling orders settling at their maturity pay, refund in tokens and end the
    /// same way; removals after retention are a single storage removal.)
    #[benchmark]
    fn on_initialize(n: Linear<0, { T::MaxDeadlinesPerBlock::get() }>) {
        let user = user::<T>(0, n);
        let agents: Vec<(OrderId, T::AccountId)> = (0..n)
            .map(|i| {
                let (worker_id, agent) = worker::<T>(i, 1);
                let id = place::<T>(&user, worker_id);
                accept::<T>(&agent, id);
                (id, agent)
            })
            .collect();
        let ids: Vec<OrderId> = agents.iter().map(|(id, _)| *id).collect();
        let deadline = now::<T>()
            .saturating_add(duration::<T>())
            .saturating_add(T::ReportGracePeriod::get())
            .saturating_add(One::one());
        for (id, agent) in &agents {
            two_periods::<T>(agent, &[*id], deadline);
            // Back to the block of acceptance for the next order: all report at the same blocks.
            set_block::<T>(
                deadline.saturating_sub(
                    duration::<T>()
                        .saturating_add(T::ReportGracePeriod::get())
                        .saturating_add(One::one()),
                ),
            );
        }
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

    /// A worker with `n` open orders becomes unavailable: as many Running orders as it has
    /// GPUs, the others Settling (cancelled, their GPU serving the next order); each with a
    /// matured period (paid) and an unmatured one (refunded with the rest, as points).
    #[benchmark]
    fn on_worker_unavailable(n: Linear<0, { T::MaxOrdersPerWorker::get() }>) {
        // A worker has at least as many GPUs as one order may ask for.
        let gpus = n.clamp(1, T::MaxGpusPerOrder::get().max(1));
        let (worker_id, agent) = worker::<T>(0, gpus);
        let user = user::<T>(0, n);
        let start = now::<T>();
        // Every order is accepted at `start` and reports at `start + 1` and `start + 2`, so
        // that one maturity delay and one block suit them all.
        let matured_at = start.saturating_add(3u32.into());
        let mut ids = Vec::new();
        for i in 0..n {
            set_block::<T>(start);
            let id = place::<T>(&user, worker_id);
            accept::<T>(&agent, id);
            two_periods::<T>(&agent, &[id], matured_at);
            // The GPUs beyond the worker's serve the later orders: cancel to Settling.
            if i + gpus < n {
                Orders::<T>::do_cancel_order(user.clone(), id).expect("running order");
                assert!(matches!(status::<T>(id), OrderStatus::Settling { .. }));
            }
            ids.push(id);
        }
        set_block::<T>(matured_at);
        fill_spill_window::<T>(retention_from::<T>());

        #[block]
        {
            <Orders<T> as WorkerAvailabilityHooks>::on_worker_unavailable(worker_id);
        }

        for id in ids {
            assert!(matches!(status::<T>(id), OrderStatus::Failed { .. }));
        }
    }

    /// A cancelled Settling order whose full queue of `MaxUnmatured` periods matured: pays them
    /// (one escrow payment), refunds the unreported rest (tokens, with a sponsored part), ends
    /// the order and schedules its removal through a full spill window.
    #[benchmark]
    fn settle_order() {
        let (worker_id, agent) = worker::<T>(0, 1);
        let user = user::<T>(0, 1);
        let id = place::<T>(&user, worker_id);
        accept::<T>(&agent, id);
        let started = now::<T>();
        let max = T::MaxUnmatured::get();
        MaturityDelay::<T>::put(duration::<T>().saturating_add(100u32.into()));
        for seq in 1..=max {
            set_block::<T>(started.saturating_add(seq.into()));
            report::<T>(&agent, id, seq);
        }
        Orders::<T>::do_cancel_order(user, id).expect("running order of its user");
        let OrderStatus::Settling { settles_at, .. } = status::<T>(id) else {
            panic!("cancelled with unmatured periods: Settling");
        };
        assert_eq!(unmatured::<T>(id), max);
        set_block::<T>(settles_at);
        fill_spill_window::<T>(retention_from::<T>());
        let caller: T::AccountId = whitelisted_caller();

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), id);

        assert!(matches!(status::<T>(id), OrderStatus::Cancelled { .. }));
        assert_eq!(unmatured::<T>(id), 0);
    }

    /// A provider's fault reported on a running order with a matured and an unmatured period
    /// and a full exit record list: the order fails, the matured period is paid, the rest
    /// refunded as points.
    #[benchmark]
    fn report_exit() {
        let (worker_id, agent) = worker::<T>(0, 1);
        let id = place::<T>(&user::<T>(0, 1), worker_id);
        accept::<T>(&agent, id);
        let matured_at = now::<T>().saturating_add(3u32.into());
        two_periods::<T>(&agent, &[id], matured_at);
        set_block::<T>(matured_at);
        for restarts in 0..crate::MAX_EXIT_RECORDS {
            ExitRecords::<T>::mutate(id, |r| {
                let _ = r.try_push(ExitRecord {
                    kind: ExitKind::OomKilled,
                    restarts,
                    at: matured_at,
                });
            });
        }
        fill_spill_window::<T>(retention_from::<T>());

        #[extrinsic_call]
        _(RawOrigin::Signed(agent), id, ExitKind::ImageUnavailable, 3);

        assert!(matches!(status::<T>(id), OrderStatus::Failed { .. }));
    }

    impl_benchmark_test_suite!(
        Orders,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
