//! Unit tests of the orders pallet, on the mock runtime with the real registry, escrow, points
//! and balances pallets. Every test ends with the `try_state` of all four Kaisar pallets.

use crate::{
    mock::*, AccessBlobs, Deadlines, Error, Event, FailureReason, NextOrderId, OrderStatus,
    OrdersByWorker, OrdersOf, UsageReport,
};
use codec::{Decode, Encode};
use frame_support::{assert_noop, assert_ok, traits::Hooks, BoundedVec};
use kaisar_primitives::{GpuModel, WorkerAvailabilityHooks, WorkerStatus};

const RTX: GpuModel = GpuModel::Rtx4090;

/// A standard Active worker of ALICE: 2 RTX 4090 at 100 per GPU hour.
fn alice_worker() -> u64 {
    register_active(ALICE, AGENT, RTX, 2, 100)
}

/// One GPU for 20 blocks at up to 100: costs 100 * 1 * 20 / 10 = 200.
fn one_gpu(target: Option<u64>) -> crate::OrderSpec<Test> {
    spec(target, 1, 20, 100)
}

/// `Orders::order_cost` with the error as a `DispatchError` (pallet errors are not `PartialEq`).
fn cost(price: u64, gpus: u32, duration: u64) -> Result<u64, sp_runtime::DispatchError> {
    Orders::order_cost(price, gpus, duration).map_err(Into::into)
}

fn err(e: Error<Test>) -> sp_runtime::DispatchError {
    e.into()
}

// ---------------------------------------------------------------------------------------------
// Happy path and payments
// ---------------------------------------------------------------------------------------------

#[test]
fn happy_path_pays_provider_exactly_the_total_cost() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let alice_before = Balances::free_balance(ALICE);
        let user_before = Balances::free_balance(USER);

        let id = place(USER, one_gpu(None), 0);
        let o = order(id);
        assert_eq!(
            (o.worker, o.provider, o.total_cost, o.discount),
            (w, ALICE, 200, 0)
        );
        assert_eq!(
            o.status,
            OrderStatus::Pending {
                accept_by: 1 + ACCEPT_TIMEOUT
            }
        );
        assert_eq!(escrow_balance(id), 200);
        assert_eq!(Balances::free_balance(USER), user_before - 200);
        assert_eq!(free_gpus(w), 1);

        accept(AGENT, id);
        assert_eq!(
            status(id),
            OrderStatus::Running {
                started_at: 1,
                ends_at: 21,
                paid_until: 1,
                last_report_seq: 0
            }
        );
        assert_eq!(AccessBlobs::<Test>::get(id), Some(blob()));

        run_to_block(6);
        report(AGENT, id, 1);
        run_to_block(11);
        report(AGENT, id, 2);
        assert_eq!(order(id).paid_so_far, 100);
        run_to_block(23);
        report(AGENT, id, 3);

        assert_eq!(status(id), OrderStatus::Completed { at: 23 });
        assert_eq!(order(id).paid_so_far, 200);
        assert_eq!(paid_to_provider(id), vec![50, 50, 100]);
        assert_eq!(Balances::free_balance(ALICE), alice_before + 200);
        assert_eq!(Balances::free_balance(USER), user_before - 200);
        assert_eq!(escrow_balance(id), 0);
        assert_eq!(free_gpus(w), 2);
        assert!(AccessBlobs::<Test>::get(id).is_none());
        assert!(OrdersByWorker::<Test>::get(w).is_empty());
        assert!(orders_events().contains(&Event::OrderCompleted { order_id: id }));
    });
}

#[test]
fn pro_rata_payments_leave_no_dust() {
    ExtBuilder::default().build_and_execute(|| {
        let _ = register_active(ALICE, AGENT, RTX, 1, 11);
        // 11 * 1 * 3 / 10 = 3.3 -> 4 (rounded up).
        let id = place(USER, spec(None, 1, 3, 11), 0);
        assert_eq!(order(id).total_cost, 4);
        accept(AGENT, id);
        for (seq, block) in [(1, 2), (2, 3), (3, 4)] {
            run_to_block(block);
            report(AGENT, id, seq);
        }
        // floor(4/3) = 1, floor(8/3) = 2 (so 1 more), then exactly what is left.
        assert_eq!(paid_to_provider(id), vec![1, 1, 2]);
        assert_eq!(status(id), OrderStatus::Completed { at: 4 });
    });
}

#[test]
fn report_after_end_pays_only_up_to_end_and_completes() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        run_to_block(21 + GRACE);
        report(AGENT, id, 1);
        assert_eq!(paid_to_provider(id), vec![200]);
        assert_eq!(status(id), OrderStatus::Completed { at: 21 + GRACE });
    });
}

#[test]
fn place_order_picks_the_cheapest_matching_worker() {
    ExtBuilder::default().build_and_execute(|| {
        let pricey = register_active(ALICE, AGENT, RTX, 2, 90);
        let cheap = register_active(BOB, AGENT2, RTX, 2, 80);
        let _other_model = register_active(CHARLIE, AGENT3, GpuModel::H100Sxm, 4, 10);
        let id = place(USER, one_gpu(None), 0);
        assert_eq!(order(id).worker, cheap);
        assert_eq!(order(id).price_per_gpu_hour, 80);
        assert_eq!(order(id).total_cost, 160);
        // Asking for both GPUs twice: the cheap one has one left, so the second goes to `pricey`.
        let id2 = place(USER, spec(None, 2, 20, 100), 0);
        assert_eq!(order(id2).worker, pricey);
    });
}

#[test]
fn place_order_records_the_spec_for_the_agent() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let mut s = one_gpu(Some(w));
        s.ports = BoundedVec::truncate_from(vec![22, 8888]);
        s.user_public_key = [9; 32];
        let id = place(USER, s.clone(), 0);
        let o = order(id);
        assert_eq!(o.image, s.image);
        assert_eq!(o.ports.into_inner(), vec![22, 8888]);
        assert_eq!(o.user_public_key, [9; 32]);
        assert_eq!(
            (o.gpu_model, o.gpu_count, o.duration, o.created_at),
            (RTX, 1, 20, 1)
        );
        assert_eq!(
            orders_events().last(),
            Some(&Event::OrderPlaced {
                order_id: id,
                user: USER,
                worker: w,
                total_cost: 200,
                discount: 0
            })
        );
    });
}

// ---------------------------------------------------------------------------------------------
// place_order: bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn place_order_rejects_invalid_specs() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let user = RuntimeOrigin::signed(USER);
        let mut s = one_gpu(Some(w));
        s.image = BoundedVec::new();
        assert_noop!(
            Orders::place_order(user.clone(), s, 0),
            err(Error::EmptyImage)
        );
        assert_noop!(
            Orders::place_order(user.clone(), spec(Some(w), 0, 20, 100), 0),
            err(Error::InvalidGpuCount)
        );
        assert_noop!(
            Orders::place_order(
                user.clone(),
                spec(Some(w), MAX_GPUS_PER_ORDER + 1, 20, 100),
                0
            ),
            err(Error::InvalidGpuCount)
        );
        assert_noop!(
            Orders::place_order(user.clone(), spec(Some(w), 1, MIN_DURATION - 1, 100), 0),
            err(Error::DurationTooShort)
        );
        assert_noop!(
            Orders::place_order(user.clone(), spec(Some(w), 1, MAX_DURATION + 1, 100), 0),
            err(Error::DurationTooLong)
        );
        assert_noop!(
            Orders::place_order(RuntimeOrigin::none(), one_gpu(Some(w)), 0),
            sp_runtime::DispatchError::BadOrigin
        );
    });
}

#[test]
fn place_order_with_a_target_checks_each_condition() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let pending = register_worker(BOB, AGENT2, RTX, 2, 100);
        let user = RuntimeOrigin::signed(USER);
        assert_noop!(
            Orders::place_order(user.clone(), one_gpu(Some(999)), 0),
            err(Error::WorkerNotFound)
        );
        assert_noop!(
            Orders::place_order(user.clone(), one_gpu(Some(pending)), 0),
            err(Error::WorkerNotActive)
        );
        let mut wrong_model = one_gpu(Some(w));
        wrong_model.gpu_model = GpuModel::H100Sxm;
        assert_noop!(
            Orders::place_order(user.clone(), wrong_model, 0),
            err(Error::GpuModelMismatch)
        );
        assert_noop!(
            Orders::place_order(user.clone(), spec(Some(w), 3, 20, 100), 0),
            err(Error::NotEnoughFreeGpus)
        );
        assert_noop!(
            Orders::place_order(user.clone(), spec(Some(w), 1, 20, 99), 0),
            err(Error::PriceTooHigh)
        );
        // The same request without a target finds nothing either.
        assert_noop!(
            Orders::place_order(user, spec(None, 1, 20, 99), 0),
            err(Error::NoMatchingWorker)
        );
    });
}

#[test]
fn place_order_without_any_match_fails() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(None), 0),
            err(Error::NoMatchingWorker)
        );
        alice_worker();
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER), spec(None, 3, 20, 100), 0),
            err(Error::NoMatchingWorker)
        );
    });
}

#[test]
fn place_order_on_a_paused_target_is_refused_and_the_matcher_skips_it() {
    ExtBuilder::default().build_and_execute(|| {
        // The cheapest RTX worker, with room for more orders after the two below.
        let paused = register_active(ALICE, AGENT, RTX, 4, 80);
        let running = place(USER, one_gpu(Some(paused)), 0);
        accept(AGENT, running);
        let pending = place(USER, one_gpu(None), 0);
        assert_eq!(order(pending).worker, paused);
        assert_ok!(WorkerRegistry::pause_worker(
            RuntimeOrigin::signed(ALICE),
            paused
        ));
        assert!(worker(paused).paused);
        assert_eq!(worker_status(paused), WorkerStatus::Active);
        assert_eq!(free_gpus(paused), 2);

        // An explicit target: a typed error.
        let user = RuntimeOrigin::signed(USER);
        assert_noop!(
            Orders::place_order(user.clone(), one_gpu(Some(paused)), 0),
            err(Error::WorkerPaused)
        );
        // The matcher: nothing else fits, so nothing matches (the paused worker is not taken).
        assert_noop!(
            Orders::place_order(user.clone(), one_gpu(None), 0),
            err(Error::NoMatchingWorker)
        );
        // With a pricier worker, the matcher skips the paused one for it.
        let pricey = register_active(BOB, AGENT2, RTX, 2, 100);
        let matched = place(USER, one_gpu(None), 0);
        assert_eq!(order(matched).worker, pricey);
        assert_eq!(order(matched).price_per_gpu_hour, 100);

        // The paused worker keeps serving its open orders: the Pending one can still be
        // accepted, both run, are paid for what is reported and complete.
        accept(AGENT, pending);
        run_to_block(6);
        report(AGENT, running, 1);
        report(AGENT, pending, 1);
        assert_eq!(order(running).paid_so_far, 40);
        assert_eq!(order(pending).paid_so_far, 40);
        let alice_before = Balances::free_balance(ALICE);
        run_to_block(23);
        report(AGENT, running, 2);
        report(AGENT, pending, 2);
        assert_eq!(status(running), OrderStatus::Completed { at: 23 });
        assert_eq!(status(pending), OrderStatus::Completed { at: 23 });
        assert_eq!(Balances::free_balance(ALICE), alice_before + 2 * 120);
        assert_eq!(free_gpus(paused), 4);
        assert!(OrdersByWorker::<Test>::get(paused).is_empty());
        // Still paused with all GPUs free: still refused, still skipped.
        assert_noop!(
            Orders::place_order(user.clone(), one_gpu(Some(paused)), 0),
            err(Error::WorkerPaused)
        );
        assert_eq!(order(place(USER, one_gpu(None), 0)).worker, pricey);

        // Resumed, it is the cheapest match again.
        assert_ok!(WorkerRegistry::resume_worker(
            RuntimeOrigin::signed(ALICE),
            paused
        ));
        assert_eq!(order(place(USER, one_gpu(None), 0)).worker, paused);
    });
}

#[test]
fn place_order_cost_overflow_is_a_typed_error() {
    ExtBuilder::default().build_and_execute(|| {
        let w = register_active(ALICE, AGENT, RTX, 4, u64::MAX / 2);
        assert_noop!(
            Orders::place_order(
                RuntimeOrigin::signed(USER),
                spec(Some(w), 4, MAX_DURATION, u64::MAX),
                0
            ),
            err(Error::Overflow)
        );
    });
}

#[test]
fn place_order_without_funds_holds_reserves_and_spends_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        grant_points(POOR, 10);
        let before = (
            Balances::free_balance(POOR),
            points_of(POOR),
            Balances::free_balance(pot()),
        );
        // POOR can pay 10 with points but not the other 190 in tokens.
        assert!(Orders::place_order(RuntimeOrigin::signed(POOR), one_gpu(Some(w)), 10).is_err());
        assert_eq!(
            (
                Balances::free_balance(POOR),
                points_of(POOR),
                Balances::free_balance(pot())
            ),
            before
        );
        assert_eq!(free_gpus(w), 2);
        assert_eq!(NextOrderId::<Test>::get(), 0);
        assert!(OrdersByWorker::<Test>::get(w).is_empty());
        assert_eq!(Deadlines::<Test>::iter().count(), 0);
        assert_eq!(escrow_balance(0), 0);
    });
}

#[test]
fn place_order_respects_the_per_worker_order_limit() {
    ExtBuilder::default().build_and_execute(|| {
        let w = register_active(ALICE, AGENT, RTX, MAX_GPUS_PER_WORKER, 100);
        for i in 0..MAX_ORDERS_PER_WORKER {
            // Different blocks, so that the deadline buckets do not fill first.
            run_to_block(1 + i as u64);
            place(USER, one_gpu(Some(w)), 0);
        }
        assert!(free_gpus(w) > 0);
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(Some(w)), 0),
            err(Error::WorkerOrderLimit)
        );
    });
}

#[test]
fn a_full_deadline_bucket_spills_so_one_account_cannot_stall_ordering() {
    ExtBuilder::default().build_and_execute(|| {
        let w1 = register_active(ALICE, AGENT, RTX, 4, 100);
        let w2 = register_active(BOB, AGENT2, RTX, 4, 100);
        let accept_by = 1 + ACCEPT_TIMEOUT;
        // One account fills the bucket of this block's accept deadline...
        for target in [w1, w1, w2] {
            place(USER, one_gpu(Some(target)), 0);
        }
        assert_eq!(
            Deadlines::<Test>::get(accept_by).len() as u32,
            MAX_DEADLINES_PER_BLOCK
        );
        // ...and someone else still orders: the deadline spills into the next block's bucket.
        let spilled = place(USER2, one_gpu(Some(w2)), 0);
        assert_eq!(order(spilled).deadline, Some(accept_by + 1));
        assert_eq!(
            status(spilled),
            OrderStatus::Pending { accept_by },
            "the accept deadline itself does not move"
        );
        place(USER2, one_gpu(Some(w1)), 0);
        place(USER2, one_gpu(Some(w2)), 0);
        // Only a full spill window refuses, with a typed error, and only for this block.
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER2), one_gpu(Some(w1)), 0),
            err(Error::DeadlineQueueFull)
        );
        run_to_block(2);
        let next = place(USER2, one_gpu(Some(w1)), 0);
        assert_eq!(order(next).deadline, Some(accept_by + 2));
        // The spilled order cannot be accepted past `accept_by`, and fails one block late.
        run_to_block(accept_by);
        assert!(matches!(status(spilled), OrderStatus::Pending { .. }));
        assert_noop!(
            Orders::accept_order(RuntimeOrigin::signed(AGENT2), spilled, blob()),
            err(Error::AcceptDeadlinePassed)
        );
        run_to_block(accept_by + 1);
        assert_eq!(
            status(spilled),
            OrderStatus::Failed {
                at: accept_by + 1,
                reason: FailureReason::NotAccepted
            }
        );
    });
}

#[test]
fn place_order_with_too_large_inputs_does_not_decode() {
    ExtBuilder::default().build_and_execute(|| {
        let good = one_gpu(None);
        // Same encoding as `OrderSpec`, with unbounded vectors.
        let raw = |image: Vec<u8>, ports: Vec<u16>| {
            (
                image,
                good.gpu_model,
                good.gpu_count,
                good.duration,
                good.max_price_per_gpu_hour,
                good.target_worker,
                good.user_public_key,
                ports,
            )
                .encode()
        };
        let ok = raw(vec![1; MAX_IMAGE_LEN as usize], vec![1; MAX_PORTS as usize]);
        assert!(crate::OrderSpec::<Test>::decode(&mut &ok[..]).is_ok());
        let long_image = raw(vec![1; MAX_IMAGE_LEN as usize + 1], vec![]);
        assert!(crate::OrderSpec::<Test>::decode(&mut &long_image[..]).is_err());
        let many_ports = raw(vec![1], vec![1; MAX_PORTS as usize + 1]);
        assert!(crate::OrderSpec::<Test>::decode(&mut &many_ports[..]).is_err());

        // And as a whole call: the oversized argument makes the extrinsic undecodable.
        let call = RuntimeCall::Orders(crate::Call::place_order {
            spec: good.clone(),
            max_points: 0,
        });
        let mut bytes = call.encode();
        let spec_start = 2; // pallet index, call index
        bytes.splice(
            spec_start..spec_start + good.encode().len(),
            long_image.clone(),
        );
        assert!(RuntimeCall::decode(&mut &bytes[..]).is_err());
    });
}

#[test]
fn place_order_replay_creates_a_second_order() {
    // Placing is not idempotent by design: the same call twice is two orders (the transaction
    // nonce prevents accidental replays of one signed extrinsic).
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let a = place(USER, one_gpu(Some(w)), 0);
        let b = place(USER, one_gpu(Some(w)), 0);
        assert_ne!(a, b);
        assert_eq!(free_gpus(w), 0);
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(Some(w)), 0),
            err(Error::NotEnoughFreeGpus)
        );
    });
}

// ---------------------------------------------------------------------------------------------
// accept_order / reject_order
// ---------------------------------------------------------------------------------------------

#[test]
fn accept_order_checks_caller_state_and_replay() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        register_active(BOB, AGENT2, RTX, 2, 100);
        let id = place(USER, spec(None, 1, 20, 100), 0);
        assert_eq!(order(id).worker, 0);
        assert_noop!(
            Orders::accept_order(RuntimeOrigin::signed(AGENT2), id, blob()),
            err(Error::NotWorkerAgent)
        );
        assert_noop!(
            Orders::accept_order(RuntimeOrigin::signed(USER), id, blob()),
            err(Error::NotWorkerAgent)
        );
        assert_noop!(
            Orders::accept_order(RuntimeOrigin::signed(AGENT), 77, blob()),
            err(Error::UnknownOrder)
        );
        run_to_block(3);
        accept(AGENT, id);
        assert_eq!(
            orders_events().last(),
            Some(&Event::OrderAccepted {
                order_id: id,
                ends_at: 23
            })
        );
        // Replay.
        assert_noop!(
            Orders::accept_order(RuntimeOrigin::signed(AGENT), id, blob()),
            err(Error::InvalidOrderState)
        );
        // A cancelled order cannot be accepted either.
        let id2 = place(USER, one_gpu(Some(0)), 0);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id2));
        assert_noop!(
            Orders::accept_order(RuntimeOrigin::signed(AGENT), id2, blob()),
            err(Error::InvalidOrderState)
        );
    });
}

#[test]
fn accept_order_with_too_large_blob_does_not_decode() {
    ExtBuilder::default().build_and_execute(|| {
        let full: Vec<u8> = vec![7; MAX_ACCESS_BLOB_LEN as usize];
        let call = |access: Vec<u8>| {
            let mut bytes = RuntimeCall::Orders(crate::Call::accept_order {
                order_id: 0,
                access: BoundedVec::new(),
            })
            .encode();
            bytes.truncate(bytes.len() - 1); // drop the empty vector's length byte
            bytes.extend(access.encode());
            bytes
        };
        assert!(RuntimeCall::decode(&mut &call(full.clone())[..]).is_ok());
        let mut long = full;
        long.push(7);
        assert!(RuntimeCall::decode(&mut &call(long)[..]).is_err());
    });
}

#[test]
fn accept_after_the_deadline_fails_even_before_the_hook_runs() {
    // Corner case: the block's `on_initialize` has not run (we set the block number directly),
    // so the order is still Pending; the deadline check itself must refuse it.
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        System::set_block_number(1 + ACCEPT_TIMEOUT);
        assert_noop!(
            Orders::accept_order(RuntimeOrigin::signed(AGENT), id, blob()),
            err(Error::AcceptDeadlinePassed)
        );
        // Let the hook of that block run, as it would have, so that try_state holds.
        Orders::on_initialize(1 + ACCEPT_TIMEOUT);
        assert!(matches!(status(id), OrderStatus::Failed { .. }));
    });
}

#[test]
fn reject_order_refunds_in_full_and_checks_caller_state_and_replay() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        set_prefers_points(USER, false);
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        assert_noop!(
            Orders::reject_order(RuntimeOrigin::signed(USER), id),
            err(Error::NotWorkerAgent)
        );
        assert_ok!(Orders::reject_order(RuntimeOrigin::signed(AGENT), id));
        assert_eq!(
            status(id),
            OrderStatus::Failed {
                at: 1,
                reason: FailureReason::Rejected
            }
        );
        assert_eq!(Balances::free_balance(USER), before);
        assert_eq!(free_gpus(w), 2);
        assert!(orders_events().contains(&Event::OrderRefunded {
            order_id: id,
            tokens: 200,
            points: 0
        }));
        // Replay.
        assert_noop!(
            Orders::reject_order(RuntimeOrigin::signed(AGENT), id),
            err(Error::InvalidOrderState)
        );
        // A running order cannot be rejected.
        let id2 = place(USER, one_gpu(None), 0);
        accept(AGENT, id2);
        assert_noop!(
            Orders::reject_order(RuntimeOrigin::signed(AGENT), id2),
            err(Error::InvalidOrderState)
        );
    });
}

#[test]
fn reject_order_refunds_as_points_by_default() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let before = Balances::free_balance(USER);
        let pot_before = Balances::free_balance(pot());
        let id = place(USER, one_gpu(None), 0);
        assert_ok!(Orders::reject_order(RuntimeOrigin::signed(AGENT), id));
        // The tokens went to the pot; the user holds points for them.
        assert_eq!(Balances::free_balance(USER), before - 200);
        assert_eq!(Balances::free_balance(pot()), pot_before + 200);
        assert_eq!(points_of(USER), 200 * POINTS_PER_TOKEN);
        assert!(orders_events().contains(&Event::OrderRefunded {
            order_id: id,
            tokens: 0,
            points: 200 * POINTS_PER_TOKEN
        }));
    });
}

// ---------------------------------------------------------------------------------------------
// report_usage
// ---------------------------------------------------------------------------------------------

#[test]
fn report_usage_checks_caller_state_sequence_and_replay() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        register_active(BOB, AGENT2, RTX, 2, 100);
        let id = place(USER, one_gpu(Some(0)), 0);
        let usage = UsageReport {
            gpu_util_permille: 870,
            gpu_mem_used_mib: 20_000,
            uptime_secs: 60,
        };
        // Pending: no reports yet.
        assert_noop!(
            Orders::report_usage(RuntimeOrigin::signed(AGENT), id, 1, usage),
            err(Error::InvalidOrderState)
        );
        accept(AGENT, id);
        run_to_block(5);
        assert_noop!(
            Orders::report_usage(RuntimeOrigin::signed(AGENT2), id, 1, usage),
            err(Error::NotWorkerAgent)
        );
        assert_noop!(
            Orders::report_usage(RuntimeOrigin::signed(AGENT), id, 0, usage),
            err(Error::StaleReport)
        );
        assert_noop!(
            Orders::report_usage(RuntimeOrigin::signed(AGENT), id, 2, usage),
            err(Error::StaleReport)
        );
        assert_ok!(Orders::report_usage(
            RuntimeOrigin::signed(AGENT),
            id,
            1,
            usage
        ));
        assert!(orders_events().contains(&Event::UsageReported {
            order_id: id,
            seq: 1,
            usage
        }));
        assert!(orders_events().contains(&Event::ProviderPaid {
            order_id: id,
            provider: ALICE,
            amount: 40
        }));
        // Replay of the same report.
        assert_noop!(
            Orders::report_usage(RuntimeOrigin::signed(AGENT), id, 1, usage),
            err(Error::StaleReport)
        );
        // A second report in the same block is accepted and pays nothing more.
        assert_ok!(Orders::report_usage(
            RuntimeOrigin::signed(AGENT),
            id,
            2,
            usage
        ));
        assert_eq!(paid_to_provider(id), vec![40]);
        // Completed orders take no reports.
        run_to_block(21);
        report(AGENT, id, 3);
        assert_noop!(
            Orders::report_usage(RuntimeOrigin::signed(AGENT), id, 4, usage),
            err(Error::InvalidOrderState)
        );
    });
}

#[test]
fn report_usage_rejects_utilisation_above_1000_permille() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        run_to_block(5);
        let too_high = UsageReport {
            gpu_util_permille: 1001,
            gpu_mem_used_mib: 1,
            uptime_secs: 1,
        };
        assert_noop!(
            Orders::report_usage(RuntimeOrigin::signed(AGENT), id, 1, too_high),
            err(Error::InvalidUsageReport)
        );
        let full = UsageReport {
            gpu_util_permille: 1000,
            ..too_high
        };
        assert_ok!(Orders::report_usage(
            RuntimeOrigin::signed(AGENT),
            id,
            1,
            full
        ));
    });
}

#[test]
fn report_usage_call_has_a_fixed_size_encoding() {
    // `report_usage` takes only fixed-size arguments: nothing can be too long, and trailing
    // bytes make the call undecodable.
    ExtBuilder::default().build_and_execute(|| {
        let call = RuntimeCall::Orders(crate::Call::report_usage {
            order_id: u64::MAX,
            seq: u32::MAX,
            usage: UsageReport {
                gpu_util_permille: u16::MAX,
                gpu_mem_used_mib: u32::MAX,
                uptime_secs: u32::MAX,
            },
        });
        let bytes = call.encode();
        assert_eq!(bytes.len(), 2 + 8 + 4 + 2 + 4 + 4);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(RuntimeCall::decode(&mut &bytes[..]).is_ok());
        assert!(codec::DecodeAll::decode_all(&mut &longer[..])
            .map(|c: RuntimeCall| c)
            .is_err());
    });
}

#[test]
fn order_id_calls_refuse_unsigned_origins_and_unknown_orders() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        let none = RuntimeOrigin::none;
        let bad = sp_runtime::DispatchError::BadOrigin;
        assert_noop!(Orders::accept_order(none(), id, blob()), bad);
        assert_noop!(Orders::reject_order(none(), id), bad);
        assert_noop!(
            Orders::report_usage(none(), id, 1, UsageReport::default()),
            bad
        );
        assert_noop!(Orders::cancel_order(none(), id), bad);
        assert_noop!(Orders::expire_order(none(), id), bad);
        assert_noop!(Orders::drop_order(none(), id), bad);
        assert_noop!(Orders::accept_order(RuntimeOrigin::root(), id, blob()), bad);
        assert_noop!(Orders::cancel_order(RuntimeOrigin::root(), id), bad);

        let unknown = u64::MAX;
        let signed = RuntimeOrigin::signed;
        assert_noop!(
            Orders::accept_order(signed(AGENT), unknown, blob()),
            err(Error::UnknownOrder)
        );
        assert_noop!(
            Orders::reject_order(signed(AGENT), unknown),
            err(Error::UnknownOrder)
        );
        assert_noop!(
            Orders::report_usage(signed(AGENT), unknown, 1, UsageReport::default()),
            err(Error::UnknownOrder)
        );
        assert_noop!(
            Orders::cancel_order(signed(USER), unknown),
            err(Error::UnknownOrder)
        );
        assert_noop!(
            Orders::expire_order(signed(ANYONE), unknown),
            err(Error::UnknownOrder)
        );
        assert_noop!(
            Orders::drop_order(signed(ANYONE), unknown),
            err(Error::UnknownOrder)
        );
    });
}

#[test]
fn accept_order_on_a_worker_that_is_not_active_fails() {
    // Defensive path: the registry's hook fails the orders of a worker that goes Offline, so an
    // open order of an unavailable worker only exists if that hook failed. Simulate it.
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let id = place(USER, one_gpu(None), 0);
        let set_status = |s: WorkerStatus| {
            pallet_worker_registry::Workers::<Test>::mutate_extant(w, |info| info.status = s)
        };
        set_status(WorkerStatus::Offline);
        assert_noop!(
            Orders::accept_order(RuntimeOrigin::signed(AGENT), id, blob()),
            err(Error::WorkerNotActive)
        );
        set_status(WorkerStatus::Active);
        accept(AGENT, id);
    });
}

#[test]
fn report_usage_after_the_grace_period_is_refused() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        run_to_block(21 + GRACE);
        // The report deadline's block, before the deadline index fails the order.
        System::set_block_number(21 + GRACE + 1);
        assert_noop!(
            Orders::report_usage(RuntimeOrigin::signed(AGENT), id, 1, UsageReport::default()),
            err(Error::ReportDeadlinePassed)
        );
        Orders::on_initialize(21 + GRACE + 1);
        assert!(matches!(status(id), OrderStatus::Failed { .. }));
    });
}

// ---------------------------------------------------------------------------------------------
// cancel_order
// ---------------------------------------------------------------------------------------------

#[test]
fn cancel_before_start_refunds_in_full() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        run_to_block(3);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_eq!(status(id), OrderStatus::Cancelled { at: 3 });
        // Tokens even though the user prefers points: the user caused it.
        assert_eq!(Balances::free_balance(USER), before);
        assert_eq!(points_of(USER), 0);
        assert_eq!(free_gpus(w), 2);
        assert_eq!(escrow_balance(id), 0);
        assert!(Deadlines::<Test>::get(1 + ACCEPT_TIMEOUT).is_empty());
        assert_eq!(order(id).deadline, Some(3 + RETENTION));
        assert!(orders_events().contains(&Event::OrderRefunded {
            order_id: id,
            tokens: 200,
            points: 0
        }));
        // Replay.
        assert_noop!(
            Orders::cancel_order(RuntimeOrigin::signed(USER), id),
            err(Error::InvalidOrderState)
        );
    });
}

#[test]
fn cancel_while_running_pays_only_the_reported_blocks() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let alice_before = Balances::free_balance(ALICE);
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        run_to_block(6);
        report(AGENT, id, 1); // 5 blocks: 50
        run_to_block(9);
        // 3 more blocks served, but not reported: not paid.
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_eq!(paid_to_provider(id), vec![50]);
        assert_eq!(Balances::free_balance(ALICE), alice_before + 50);
        assert_eq!(Balances::free_balance(USER), before - 50);
        assert_eq!(status(id), OrderStatus::Cancelled { at: 9 });
        assert_eq!(free_gpus(w), 2);
        assert!(AccessBlobs::<Test>::get(id).is_none());
    });
}

#[test]
fn cancel_after_silence_refunds_everything_and_pays_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        set_prefers_points(USER, false);
        let alice_before = Balances::free_balance(ALICE);
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        // The agent accepts with a junk access blob and never reports.
        assert_ok!(Orders::accept_order(
            RuntimeOrigin::signed(AGENT),
            id,
            BoundedVec::truncate_from(b"junk".to_vec())
        ));
        // Past `ends_at` (21), within the report grace period.
        run_to_block(21 + 1);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_eq!(status(id), OrderStatus::Cancelled { at: 22 });
        assert!(paid_to_provider(id).is_empty());
        assert_eq!(Balances::free_balance(ALICE), alice_before);
        assert_eq!(Balances::free_balance(USER), before);
    });
}

#[test]
fn cancel_past_the_report_deadline_fails_the_order_like_expire() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let alice_before = Balances::free_balance(ALICE);
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        run_to_block(21 + GRACE);
        // The report deadline's block, before the deadline index got to the order.
        System::set_block_number(21 + GRACE + 1);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_eq!(
            status(id),
            OrderStatus::Failed {
                at: 21 + GRACE + 1,
                reason: FailureReason::NoFinalReport
            }
        );
        // A service failure: refunded as points (the user's default), nothing paid.
        assert_eq!(Balances::free_balance(ALICE), alice_before);
        assert_eq!(Balances::free_balance(USER), before - 200);
        assert_eq!(points_of(USER), 200 * POINTS_PER_TOKEN);
        run_to_block(21 + GRACE + 2);
    });
}

#[test]
fn cancel_order_checks_caller_and_state() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        assert_noop!(
            Orders::cancel_order(RuntimeOrigin::signed(USER2), id),
            err(Error::NotOrderOwner)
        );
        assert_noop!(
            Orders::cancel_order(RuntimeOrigin::signed(AGENT), id),
            err(Error::NotOrderOwner)
        );
        assert_noop!(
            Orders::cancel_order(RuntimeOrigin::signed(USER), 42),
            err(Error::UnknownOrder)
        );
        accept(AGENT, id);
        run_to_block(21);
        report(AGENT, id, 1);
        assert_noop!(
            Orders::cancel_order(RuntimeOrigin::signed(USER), id),
            err(Error::InvalidOrderState)
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Deadlines: on_initialize and expire_order
// ---------------------------------------------------------------------------------------------

#[test]
fn accept_timeout_refunds_via_on_initialize() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        set_prefers_points(USER, false);
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        run_to_block(ACCEPT_TIMEOUT); // the block before the deadline: still pending
        assert!(matches!(status(id), OrderStatus::Pending { .. }));
        run_to_block(1 + ACCEPT_TIMEOUT);
        assert_eq!(
            status(id),
            OrderStatus::Failed {
                at: 1 + ACCEPT_TIMEOUT,
                reason: FailureReason::NotAccepted
            }
        );
        assert_eq!(Balances::free_balance(USER), before);
        assert_eq!(free_gpus(w), 2);
        assert_eq!(order(id).deadline, Some(1 + ACCEPT_TIMEOUT + RETENTION));
    });
}

#[test]
fn accept_timeout_refunds_as_points_when_preferred() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        run_to_block(1 + ACCEPT_TIMEOUT);
        assert!(matches!(status(id), OrderStatus::Failed { .. }));
        assert_eq!(Balances::free_balance(USER), before - 200);
        assert_eq!(points_of(USER), 200 * POINTS_PER_TOKEN);
    });
}

#[test]
fn on_initialize_reports_weight_per_expired_order() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        place(USER, one_gpu(None), 0);
        place(USER, one_gpu(None), 0);
        let deadline = 1 + ACCEPT_TIMEOUT;
        System::set_block_number(deadline);
        let used = Orders::on_initialize(deadline);
        assert_eq!(
            used,
            <() as crate::WeightInfo>::on_initialize(2) + Orders::accrual_weight() * 2
        );
        // An empty bucket costs the base weight only.
        assert_eq!(
            Orders::on_initialize(deadline + 1),
            <() as crate::WeightInfo>::on_initialize(0)
        );
        System::set_block_number(deadline + 1);
    });
}

#[test]
fn expire_order_fails_a_running_order_without_final_report() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        set_prefers_points(USER, false);
        let alice_before = Balances::free_balance(ALICE);
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        run_to_block(8);
        report(AGENT, id, 1); // 70 paid
        run_to_block(21 + GRACE);
        assert_noop!(
            Orders::expire_order(RuntimeOrigin::signed(ANYONE), id),
            err(Error::NotExpired)
        );
        // The report deadline's block, before the deadline index gets to the order.
        System::set_block_number(21 + GRACE + 1);
        assert_ok!(Orders::expire_order(RuntimeOrigin::signed(ANYONE), id));
        assert_eq!(
            status(id),
            OrderStatus::Failed {
                at: 21 + GRACE + 1,
                reason: FailureReason::NoFinalReport
            }
        );
        assert_eq!(Balances::free_balance(ALICE), alice_before + 70);
        assert_eq!(Balances::free_balance(USER), before - 70);
        assert_eq!(free_gpus(w), 2);
        // Replay.
        assert_noop!(
            Orders::expire_order(RuntimeOrigin::signed(ANYONE), id),
            err(Error::InvalidOrderState)
        );
    });
}

#[test]
fn expire_order_of_a_pending_order_waits_for_the_deadline() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        assert_noop!(
            Orders::expire_order(RuntimeOrigin::signed(ANYONE), id),
            err(Error::NotExpired)
        );
        assert_noop!(
            Orders::expire_order(RuntimeOrigin::signed(ANYONE), 9),
            err(Error::UnknownOrder)
        );
        assert_noop!(
            Orders::expire_order(RuntimeOrigin::none(), id),
            sp_runtime::DispatchError::BadOrigin
        );
        // Corner case: the deadline block's hook has not run yet; anyone may expire it.
        System::set_block_number(1 + ACCEPT_TIMEOUT);
        assert_ok!(Orders::expire_order(RuntimeOrigin::signed(ANYONE), id));
        assert_eq!(
            status(id),
            OrderStatus::Failed {
                at: 1 + ACCEPT_TIMEOUT,
                reason: FailureReason::NotAccepted
            }
        );
        // The hook then finds nothing to do.
        assert_eq!(
            Orders::on_initialize(1 + ACCEPT_TIMEOUT),
            <() as crate::WeightInfo>::on_initialize(0)
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Worker unavailable: offline, suspended
// ---------------------------------------------------------------------------------------------

#[test]
fn worker_offline_mid_order_refunds_the_unserved_part_in_points() {
    ExtBuilder::default().build_and_execute(|| {
        set_heartbeat_timeout(10);
        let w = alice_worker();
        let alice_before = Balances::free_balance(ALICE);
        let before = Balances::free_balance(USER);
        let pending = place(USER, one_gpu(None), 0);
        let running = place(USER2, one_gpu(None), 0);
        accept(AGENT, running);
        run_to_block(5);
        report(AGENT, running, 1); // 40 paid
                                   // Run on without heartbeats: the sweep takes the worker offline at block 12.
        run_to_block(12);
        assert_eq!(worker_status(w), WorkerStatus::Offline);
        assert_eq!(
            status(running),
            OrderStatus::Failed {
                at: 12,
                reason: FailureReason::WorkerUnavailable
            }
        );
        // The pending one had already failed at its accept deadline (block 6).
        assert!(matches!(
            status(pending),
            OrderStatus::Failed {
                reason: FailureReason::NotAccepted,
                ..
            }
        ));
        // Provider keeps the 40 paid up to the last report; USER2 gets 160 as points.
        assert_eq!(Balances::free_balance(ALICE), alice_before + 40);
        assert_eq!(points_of(USER2), 160 * POINTS_PER_TOKEN);
        assert_eq!(points_of(USER), 200 * POINTS_PER_TOKEN);
        assert_eq!(Balances::free_balance(USER), before - 200);
        assert_eq!(free_gpus(w), 2);
        assert!(OrdersByWorker::<Test>::get(w).is_empty());
    });
}

#[test]
fn worker_offline_mid_order_refunds_the_unserved_part_in_tokens() {
    ExtBuilder::default().build_and_execute(|| {
        set_heartbeat_timeout(10);
        let w = alice_worker();
        set_prefers_points(USER, false);
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        run_to_block(4);
        report(AGENT, id, 1); // 30 paid
                              // Worker goes offline by a permissionless report once overdue (before the sweep of
                              // block 12 would find it).
        run_to_block(11);
        System::set_block_number(12);
        assert_ok!(WorkerRegistry::report_offline(
            RuntimeOrigin::signed(ANYONE),
            w
        ));
        assert_eq!(worker_status(w), WorkerStatus::Offline);
        assert_eq!(
            status(id),
            OrderStatus::Failed {
                at: 12,
                reason: FailureReason::WorkerUnavailable
            }
        );
        assert_eq!(Balances::free_balance(USER), before - 30);
        assert_eq!(points_of(USER), 0);
        assert!(orders_events().contains(&Event::OrderRefunded {
            order_id: id,
            tokens: 170,
            points: 0
        }));
    });
}

#[test]
fn worker_back_online_takes_new_orders_but_old_ones_stay_failed() {
    ExtBuilder::default().build_and_execute(|| {
        set_heartbeat_timeout(10);
        let w = alice_worker();
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        run_to_block(12);
        assert!(matches!(status(id), OrderStatus::Failed { .. }));
        assert_ok!(WorkerRegistry::heartbeat(
            RuntimeOrigin::signed(AGENT),
            w,
            2
        ));
        assert_eq!(worker_status(w), WorkerStatus::Active);
        // The agent cannot resurrect the failed order.
        assert_noop!(
            Orders::report_usage(RuntimeOrigin::signed(AGENT), id, 1, UsageReport::default()),
            err(Error::InvalidOrderState)
        );
        let id2 = place(USER, one_gpu(None), 0);
        assert_eq!(order(id2).worker, w);
    });
}

#[test]
fn suspension_fails_every_open_order_of_the_worker() {
    ExtBuilder::default().build_and_execute(|| {
        let w = register_active(ALICE, AGENT, RTX, 4, 100);
        let other = register_active(BOB, AGENT2, RTX, 2, 100);
        set_prefers_points(USER, false);
        let before = Balances::free_balance(USER);
        let a = place(USER, one_gpu(Some(w)), 0);
        let b = place(USER, one_gpu(Some(w)), 0);
        let c = place(USER, one_gpu(Some(other)), 0);
        accept(AGENT, b);
        run_to_block(3);
        report(AGENT, b, 1); // 20 paid
        assert_ok!(WorkerRegistry::suspend_worker(RuntimeOrigin::root(), w));
        for id in [a, b] {
            assert_eq!(
                status(id),
                OrderStatus::Failed {
                    at: 3,
                    reason: FailureReason::WorkerUnavailable
                }
            );
        }
        assert!(matches!(status(c), OrderStatus::Pending { .. }));
        assert_eq!(Balances::free_balance(USER), before - 20 - 200);
        assert_eq!(free_gpus(w), 4);
        assert_eq!(worker_status(w), WorkerStatus::Suspended);
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(Some(w)), 0),
            err(Error::WorkerNotActive)
        );
    });
}

#[test]
fn worker_unavailable_hook_reports_bounded_weight() {
    ExtBuilder::default().build_and_execute(|| {
        let w = register_active(ALICE, AGENT, RTX, 4, 100);
        place(USER, one_gpu(Some(w)), 0);
        place(USER, one_gpu(Some(w)), 0);
        let used = <Orders as WorkerAvailabilityHooks>::on_worker_unavailable(w);
        assert_eq!(
            used,
            <() as crate::WeightInfo>::on_worker_unavailable(2) + Orders::accrual_weight() * 2
        );
        assert_eq!(
            <Orders as WorkerAvailabilityHooks>::max_weight(),
            <() as crate::WeightInfo>::on_worker_unavailable(MAX_ORDERS_PER_WORKER)
                + Orders::accrual_weight() * MAX_ORDERS_PER_WORKER as u64
        );
        assert!(used.all_lte(<Orders as WorkerAvailabilityHooks>::max_weight()));
        // Nothing left to fail.
        assert_eq!(
            <Orders as WorkerAvailabilityHooks>::on_worker_unavailable(w),
            <() as crate::WeightInfo>::on_worker_unavailable(0)
        );
    });
}

#[test]
fn busy_worker_cannot_deregister_until_its_orders_end() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let id = place(USER, one_gpu(None), 0);
        assert!(WorkerRegistry::deregister_worker(RuntimeOrigin::signed(ALICE), w).is_err());
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_ok!(WorkerRegistry::deregister_worker(
            RuntimeOrigin::signed(ALICE),
            w
        ));
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(Some(w)), 0),
            err(Error::WorkerNotActive)
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Points: discounts, the pot
// ---------------------------------------------------------------------------------------------

// The mock's rate is POINTS_PER_TOKEN = 2: a refund of t tokens as points credits 2t points,
// and p points are worth a discount of floor(p / 2) tokens.

#[test]
fn discount_with_points_still_pays_the_provider_in_full() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        grant_points(USER, 100);
        let alice_before = Balances::free_balance(ALICE);
        let before = Balances::free_balance(USER);
        let pot_before = Balances::free_balance(pot());
        let id = place(USER, one_gpu(None), 160); // offers all 100 points: 50 tokens
        assert_eq!(order(id).discount, 50);
        assert_eq!(points_of(USER), 0);
        assert_eq!(Balances::free_balance(USER), before - 150);
        assert_eq!(Balances::free_balance(pot()), pot_before - 50);
        // The user escrows only the discounted price; the pot sponsors the rest.
        assert_eq!((escrow_held(USER), escrow_held(pot())), (150, 50));
        assert_eq!(escrow_balance(id), 200);
        accept(AGENT, id);
        run_to_block(11);
        report(AGENT, id, 1);
        // Half served: 100 paid, pro rata 75 from the user and 25 from the pot.
        assert_eq!(paid_to_provider(id), vec![100]);
        assert_eq!((escrow_held(USER), escrow_held(pot())), (75, 25));
        run_to_block(21);
        report(AGENT, id, 2);
        assert_eq!(Balances::free_balance(ALICE), alice_before + 200);
        assert_eq!(Balances::free_balance(USER), before - 150);
        assert_eq!(Balances::free_balance(pot()), pot_before - 50);
        assert_eq!((escrow_held(USER), escrow_held(pot())), (0, 0));
    });
}

#[test]
fn max_points_caps_the_points_offered() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        grant_points(USER, 500);
        let id = place(USER, one_gpu(None), 30);
        assert_eq!(order(id).discount, 15);
        assert_eq!(points_of(USER), 470);
    });
}

#[test]
fn points_worth_more_than_the_order_are_given_back() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        grant_points(USER, 470);
        let before = Balances::free_balance(USER);
        // 470 points are worth 235 tokens; the order costs 200: fully sponsored, and the 35
        // tokens of excess come back as 70 points.
        let id = place(USER, one_gpu(None), u64::MAX);
        assert_eq!(order(id).discount, 200);
        assert_eq!(points_of(USER), 70);
        assert_eq!(Balances::free_balance(USER), before);
        assert_eq!((escrow_held(USER), escrow_held(pot())), (0, 200));
        accept(AGENT, id);
        run_to_block(21);
        report(AGENT, id, 1);
        assert_eq!(paid_to_provider(id), vec![200]);
        assert_eq!(escrow_held(pot()), 0);
    });
}

#[test]
fn only_the_points_the_order_needs_are_spent_so_a_small_pot_suffices() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        // 1000 points are worth 500 tokens, but the order costs 200 and the pot can sponsor
        // exactly 200: only the 400 points the order needs are offered, so it goes through.
        grant_points(USER, 1000);
        drain_pot_to(201);
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), u64::MAX);
        assert_eq!(order(id).discount, 200);
        assert_eq!(points_of(USER), 600);
        assert_eq!(Balances::free_balance(USER), before);
        assert_eq!((escrow_held(USER), escrow_held(pot())), (0, 200));
        assert_eq!(Balances::free_balance(pot()), 1);
    });
}

#[test]
fn points_worth_less_than_a_token_give_no_discount() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        grant_points(USER, 1);
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 1);
        assert_eq!(order(id).discount, 0);
        assert_eq!(points_of(USER), 1);
        assert_eq!(Balances::free_balance(USER), before - 200);
        assert_eq!(escrow_held(pot()), 0);
    });
}

#[test]
fn odd_points_leave_the_unspendable_point_with_the_user() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        grant_points(USER, 41);
        let id = place(USER, one_gpu(None), 41);
        // 41 points: a 20-token discount costing 40 points; 1 point stays.
        assert_eq!(order(id).discount, 20);
        assert_eq!(points_of(USER), 1);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_eq!(points_of(USER), 41);
    });
}

#[test]
fn a_fractional_points_rate_is_applied_by_the_points_pallet() {
    ExtBuilder::default().build_and_execute(|| {
        // 3 points per 2 tokens.
        PointsRate::set(sp_runtime::FixedU128::from_rational(3, 2));
        alice_worker();
        grant_points(USER, 100);
        let before = Balances::free_balance(USER);
        // 100 points: a floor(100 / 1.5) = 66-token discount costing ceil(66 * 1.5) = 99.
        let id = place(USER, one_gpu(None), 100);
        assert_eq!(order(id).discount, 66);
        assert_eq!(points_of(USER), 1);
        assert_ok!(Orders::reject_order(RuntimeOrigin::signed(AGENT), id));
        // Refund as points: the user's 134 tokens are credited floor(134 * 1.5) = 201 points,
        // the sponsored 66 come back as ceil(66 * 1.5) = 99.
        assert_eq!(points_of(USER), 1 + 201 + 99);
        assert_eq!(Balances::free_balance(USER), before - 134);
        assert!(orders_events().contains(&Event::OrderRefunded {
            order_id: id,
            tokens: 0,
            points: 300
        }));
    });
}

#[test]
fn cancel_restores_the_unused_discount_points() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        grant_points(USER, 200);
        let before = Balances::free_balance(USER);
        let pot_before = Balances::free_balance(pot());
        let id = place(USER, one_gpu(None), 200); // 100 tokens + 100 sponsored
        assert_eq!(order(id).discount, 100);
        accept(AGENT, id);
        run_to_block(11);
        // 10 blocks of 20 served and reported: 100 paid, 50 from the user and 50 from the pot.
        report(AGENT, id, 1);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_eq!(paid_to_provider(id), vec![100]);
        assert_eq!(Balances::free_balance(USER), before - 50);
        // The unused 50 tokens of discount come back as the 100 points they cost.
        assert_eq!(points_of(USER), 100);
        assert_eq!(Balances::free_balance(pot()), pot_before - 50);
        assert!(orders_events().contains(&Event::OrderRefunded {
            order_id: id,
            tokens: 50,
            points: 100
        }));
    });
}

#[test]
fn cancel_before_start_restores_all_discount_points() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        grant_points(USER, 60);
        let before = Balances::free_balance(USER);
        let pot_before = Balances::free_balance(pot());
        let id = place(USER, one_gpu(None), 60);
        assert_eq!(order(id).discount, 30);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_eq!(points_of(USER), 60);
        assert_eq!(Balances::free_balance(USER), before);
        assert_eq!(Balances::free_balance(pot()), pot_before);
    });
}

#[test]
fn failure_with_a_discount_refunds_points_for_both_parts() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        grant_points(USER, 200);
        let before = Balances::free_balance(USER);
        let pot_before = Balances::free_balance(pot());
        let id = place(USER, one_gpu(None), 200); // 100 tokens + 100 sponsored
        assert_ok!(Orders::reject_order(RuntimeOrigin::signed(AGENT), id));
        // The user's 100 tokens went to the pot as 200 points, the sponsored 100 came back as
        // the 200 points they cost.
        assert_eq!(Balances::free_balance(USER), before - 100);
        assert_eq!(points_of(USER), 100 * POINTS_PER_TOKEN + 200);
        assert_eq!(Balances::free_balance(pot()), pot_before + 100);
        assert!(orders_events().contains(&Event::OrderRefunded {
            order_id: id,
            tokens: 0,
            points: 400
        }));
    });
}

#[test]
fn failure_with_a_discount_refunds_tokens_and_points_when_tokens_preferred() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        set_prefers_points(USER, false);
        grant_points(USER, 100);
        let before = Balances::free_balance(USER);
        let pot_before = Balances::free_balance(pot());
        let id = place(USER, one_gpu(None), 100);
        assert_ok!(Orders::reject_order(RuntimeOrigin::signed(AGENT), id));
        assert_eq!(Balances::free_balance(USER), before);
        assert_eq!(points_of(USER), 100);
        assert_eq!(Balances::free_balance(pot()), pot_before);
    });
}

#[test]
fn promotion_pot_exhausted_rejects_the_order_and_touches_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        grant_points(USER, 300);
        drain_pot_to(100); // the pot can sponsor at most 99 more (it must stay alive)
        let before = (
            Balances::free_balance(USER),
            points_of(USER),
            Balances::free_balance(pot()),
        );
        // 300 points are worth 150 tokens: more than the pot can sponsor.
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(None), 300),
            pallet_points::Error::<Test>::PotExhausted
        );
        assert_eq!(
            (
                Balances::free_balance(USER),
                points_of(USER),
                Balances::free_balance(pot())
            ),
            before
        );
        assert_eq!(free_gpus(w), 2);
        // A smaller discount fits.
        let id = place(USER, one_gpu(None), 180);
        assert_eq!(order(id).discount, 90);
    });
}

// ---------------------------------------------------------------------------------------------
// drop_order
// ---------------------------------------------------------------------------------------------

#[test]
fn drop_order_removes_terminal_orders_after_retention_before_the_index_does() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        assert_noop!(
            Orders::drop_order(RuntimeOrigin::signed(ANYONE), id),
            err(Error::InvalidOrderState)
        );
        run_to_block(2);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        run_to_block(2 + RETENTION - 1);
        assert_noop!(
            Orders::drop_order(RuntimeOrigin::signed(ANYONE), id),
            err(Error::TooEarly)
        );
        // Retention is over, but the deadline index has not removed the order yet.
        System::set_block_number(2 + RETENTION);
        let info = Orders::drop_order(RuntimeOrigin::signed(ANYONE), id).expect("droppable");
        assert!(Deadlines::<Test>::get(2 + RETENTION).is_empty());
        assert_eq!(info.pays_fee, frame_support::dispatch::Pays::No);
        assert!(crate::Orders::<Test>::get(id).is_none());
        assert!(orders_events().contains(&Event::OrderDropped { order_id: id }));
        // Replay.
        assert_noop!(
            Orders::drop_order(RuntimeOrigin::signed(ANYONE), id),
            err(Error::UnknownOrder)
        );
        assert_noop!(
            Orders::drop_order(RuntimeOrigin::none(), id),
            sp_runtime::DispatchError::BadOrigin
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Arithmetic helpers
// ---------------------------------------------------------------------------------------------

#[test]
fn order_cost_rounds_up_and_checks_overflow() {
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(cost(100, 1, 20), Ok(200));
        assert_eq!(cost(7, 1, 3), Ok(3)); // 2.1 -> 3
        assert_eq!(cost(10, 2, 5), Ok(10)); // exact
        assert_eq!(cost(1, 1, 1), Ok(1)); // 0.1 -> 1
        assert_eq!(cost(u64::MAX, 1, 10), Ok(u64::MAX));
        assert_eq!(cost(u64::MAX, 2, 10), Err(err(Error::Overflow)));
    });
}

// ---------------------------------------------------------------------------------------------
// Issue #10 regressions: deadlines without a caller, deposits, self-dealing, weights, errors
// ---------------------------------------------------------------------------------------------

#[test]
fn silent_running_order_fails_on_its_own_at_the_report_deadline() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        set_prefers_points(USER, false);
        let alice_before = Balances::free_balance(ALICE);
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        assert_eq!(order(id).deadline, Some(21 + GRACE + 1));
        run_to_block(8);
        report(AGENT, id, 1); // 70 paid; then the agent goes silent
        run_to_block(21 + GRACE);
        assert!(matches!(status(id), OrderStatus::Running { .. }));
        // Nobody calls anything: the deadline index fails it.
        run_to_block(21 + GRACE + 1);
        assert_eq!(
            status(id),
            OrderStatus::Failed {
                at: 21 + GRACE + 1,
                reason: FailureReason::NoFinalReport
            }
        );
        assert_eq!(Balances::free_balance(ALICE), alice_before + 70);
        assert_eq!(Balances::free_balance(USER), before - 70);
        assert_eq!(free_gpus(w), 2);
        assert!(AccessBlobs::<Test>::get(id).is_none());
        assert!(OrdersByWorker::<Test>::get(w).is_empty());
    });
}

#[test]
fn terminal_orders_are_removed_after_retention_without_a_caller() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let cancelled = place(USER, one_gpu(None), 0);
        let completed = place(USER, one_gpu(None), 0);
        accept(AGENT, completed);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), cancelled));
        run_to_block(1 + RETENTION - 1);
        assert!(crate::Orders::<Test>::contains_key(cancelled));
        run_to_block(1 + RETENTION);
        assert!(!crate::Orders::<Test>::contains_key(cancelled));
        assert!(orders_events().contains(&Event::OrderDropped {
            order_id: cancelled
        }));
        run_to_block(21);
        report(AGENT, completed, 1);
        assert!(matches!(status(completed), OrderStatus::Completed { .. }));
        run_to_block(21 + RETENTION - 1);
        assert!(crate::Orders::<Test>::contains_key(completed));
        run_to_block(21 + RETENTION);
        assert!(!crate::Orders::<Test>::contains_key(completed));
        assert_eq!(Deadlines::<Test>::iter().count(), 0);
    });
}

#[test]
fn self_cancel_while_pending_forfeits_the_deposit_to_the_treasury() {
    ExtBuilder::default().build_and_execute(|| {
        OrderDeposit::set(5);
        let w = alice_worker();
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(Some(w)), 0);
        assert_eq!(order(id).deposit, 5);
        assert_eq!(deposit_held(USER), 5);
        assert_eq!(Balances::free_balance(USER), before - 200 - 5);
        run_to_block(2);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_eq!(deposit_held(USER), 0);
        assert_eq!(order(id).deposit, 0);
        // The payment is refunded, the deposit is gone to the treasury.
        assert_eq!(Balances::free_balance(USER), before - 5);
        assert_eq!(Balances::free_balance(TREASURY), ED + 5);
        assert!(orders_events().contains(&Event::DepositForfeited {
            order_id: id,
            user: USER,
            amount: 5
        }));
    });
}

#[test]
fn deposit_is_released_on_acceptance_and_on_provider_failures() {
    ExtBuilder::default().build_and_execute(|| {
        OrderDeposit::set(5);
        let w = register_active(ALICE, AGENT, RTX, 4, 100);
        set_prefers_points(USER, false);
        let before = Balances::free_balance(USER);
        let accepted = place(USER, one_gpu(Some(w)), 0);
        let rejected = place(USER, one_gpu(Some(w)), 0);
        let timed_out = place(USER, one_gpu(Some(w)), 0);
        assert_eq!(deposit_held(USER), 15);
        accept(AGENT, accepted);
        assert_eq!(deposit_held(USER), 10);
        assert_ok!(Orders::reject_order(RuntimeOrigin::signed(AGENT), rejected));
        assert_eq!(deposit_held(USER), 5);
        run_to_block(1 + ACCEPT_TIMEOUT);
        assert!(matches!(
            status(timed_out),
            OrderStatus::Failed {
                reason: FailureReason::NotAccepted,
                ..
            }
        ));
        assert_eq!(deposit_held(USER), 0);
        // Only the running order's payment is still out; no deposit was lost.
        assert_eq!(Balances::free_balance(USER), before - 200);
        assert_eq!(Balances::free_balance(TREASURY), ED);
    });
}

#[test]
fn cancelling_a_pending_order_past_its_accept_deadline_releases_the_deposit() {
    ExtBuilder::default().build_and_execute(|| {
        OrderDeposit::set(5);
        alice_worker();
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 0);
        // The deadline's block, before the index got to it: the worker missed the deadline.
        System::set_block_number(1 + ACCEPT_TIMEOUT);
        set_prefers_points(USER, false);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert!(matches!(
            status(id),
            OrderStatus::Failed {
                reason: FailureReason::NotAccepted,
                ..
            }
        ));
        assert_eq!(Balances::free_balance(USER), before);
        assert_eq!(Balances::free_balance(TREASURY), ED);
        run_to_block(2 + ACCEPT_TIMEOUT);
    });
}

#[test]
fn points_discount_on_own_worker_is_refused_for_provider_and_agent() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        grant_points(ALICE, 100);
        grant_points(AGENT, 100);
        assert_ok!(<Balances as frame_support::traits::fungible::Mutate<
            AccountId,
        >>::mint_into(&AGENT, 1_000));
        for who in [ALICE, AGENT] {
            assert_noop!(
                Orders::place_order(RuntimeOrigin::signed(who), one_gpu(Some(w)), 100),
                err(Error::SelfDealingDiscount)
            );
        }
        // Matched automatically to its own worker: refused just the same.
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(ALICE), one_gpu(None), 100),
            err(Error::SelfDealingDiscount)
        );
        // Without points, ordering from one's own worker is allowed (it pays itself).
        let id = place(ALICE, one_gpu(Some(w)), 0);
        assert_eq!(order(id).discount, 0);
        // Others may still spend points on it.
        grant_points(USER, 100);
        let id = place(USER, one_gpu(Some(w)), 100);
        assert_eq!(order(id).discount, 50);
    });
}

#[test]
fn discount_is_capped_at_max_discount_of_the_cost() {
    ExtBuilder::default().build_and_execute(|| {
        MaxDiscount::set(sp_runtime::Perbill::from_percent(50));
        alice_worker();
        grant_points(USER, 1_000); // worth 500 tokens
        let pot_before = Balances::free_balance(pot());
        let id = place(USER, one_gpu(None), u64::MAX);
        // Cost 200: points pay at most 100 of it (200 points), the user pays the rest.
        assert_eq!(order(id).discount, 100);
        assert_eq!(points_of(USER), 1_000 - 200);
        assert_eq!(escrow_held(USER), 100);
        assert_eq!(Balances::free_balance(pot()), pot_before - 100);
    });
}

#[test]
fn place_order_on_an_overdue_target_is_refused_up_front() {
    ExtBuilder::default().build_and_execute(|| {
        set_heartbeat_timeout(3);
        let w = alice_worker();
        // Past the heartbeat timeout; the registry's sweep has not marked it Offline yet.
        System::set_block_number(1 + 3 + 1);
        assert!(worker(w).heartbeat_overdue);
        assert_eq!(worker_status(w), WorkerStatus::Active);
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(Some(w)), 0),
            err(Error::WorkerOverdue)
        );
    });
}

#[test]
fn place_order_refunds_the_weight_of_unscanned_index_entries() {
    use frame_support::dispatch::GetDispatchInfo;
    type W = <Test as crate::Config>::WeightInfo;
    ExtBuilder::default().build_and_execute(|| {
        let cheap = register_active(ALICE, AGENT, RTX, 1, 50);
        register_active(BOB, AGENT2, RTX, 1, 100);
        let max =
            <WorkerRegistry as kaisar_primitives::WorkerRegistry<AccountId, Balance>>::max_scanned(
            );
        let call = crate::Call::<Test>::place_order {
            spec: one_gpu(None),
            max_points: 0,
        };
        assert_eq!(
            call.get_dispatch_info().call_weight,
            <W as crate::WeightInfo>::place_order(max)
        );
        let info = Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(None), 0)
            .expect("matches the cheap worker");
        assert_eq!(
            info.actual_weight,
            Some(<W as crate::WeightInfo>::place_order(1))
        );
        assert_eq!(order(0).worker, cheap);
        // The cheap worker is busy now: the match reads two entries.
        let info = Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(None), 0)
            .expect("matches the second worker");
        assert_eq!(
            info.actual_weight,
            Some(<W as crate::WeightInfo>::place_order(2))
        );
    });
}

#[test]
fn agent_calls_on_an_order_of_a_removed_worker_say_worker_not_found() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let id = place(USER, one_gpu(Some(w)), 0);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_ok!(WorkerRegistry::deregister_worker(
            RuntimeOrigin::signed(ALICE),
            w
        ));
        run_to_block(1 + UNBONDING);
        assert_ok!(WorkerRegistry::withdraw_deposit(
            RuntimeOrigin::signed(ALICE),
            w
        ));
        assert_noop!(
            Orders::accept_order(RuntimeOrigin::signed(AGENT), id, blob()),
            err(Error::WorkerNotFound)
        );
        assert_noop!(
            Orders::reject_order(RuntimeOrigin::signed(AGENT), id),
            err(Error::WorkerNotFound)
        );
    });
}

#[test]
fn zero_blocks_per_hour_is_a_clear_error() {
    ExtBuilder::default().build_and_execute(|| {
        BlocksPerHourParam::set(0);
        assert_eq!(cost(100, 1, 20), Err(err(Error::ZeroBlocksPerHour)));
        BlocksPerHourParam::set(BLOCKS_PER_HOUR);
    });
}

/// The orders the account index lists for `who`, in id order.
fn orders_of(who: AccountId) -> Vec<u64> {
    let mut ids: Vec<u64> = OrdersOf::<Test>::iter_key_prefix(who).collect();
    ids.sort();
    ids
}

#[test]
fn orders_are_indexed_under_their_user_and_provider_until_removed() {
    ExtBuilder::default().build_and_execute(|| {
        let w = register_active(ALICE, AGENT, RTX, 4, 100);
        let a = place(USER, one_gpu(Some(w)), 0);
        let b = place(USER2, one_gpu(Some(w)), 0);
        // The provider's own order on its worker: one entry.
        let own = place(ALICE, one_gpu(Some(w)), 0);
        assert_eq!(orders_of(USER), vec![a]);
        assert_eq!(orders_of(USER2), vec![b]);
        assert_eq!(orders_of(ALICE), vec![a, b, own]);
        assert!(orders_of(ANYONE).is_empty());
        // A terminal order stays listed through its retention, like the order itself.
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), a));
        accept(AGENT, b);
        run_to_block(RETENTION);
        assert_eq!(orders_of(USER), vec![a]);
        // The deadline tick removes it after retention, and its index entries with it.
        run_to_block(1 + RETENTION);
        assert!(crate::Orders::<Test>::get(a).is_none());
        assert!(orders_of(USER).is_empty());
        assert_eq!(orders_of(USER2), vec![b]);
        assert_eq!(orders_of(ALICE), vec![b, own]);
    });
}

#[test]
fn migration_v1_to_v2_indexes_every_order_under_its_accounts() {
    use crate::migrations::{InnerMigrateV1ToV2, MigrateV1ToV2};
    use frame_support::traits::{
        GetStorageVersion, OnRuntimeUpgrade, StorageVersion, UncheckedOnRuntimeUpgrade,
    };
    ExtBuilder::default().build_and_execute(|| {
        let w = register_active(ALICE, AGENT, RTX, 4, 100);
        let pending = place(USER, one_gpu(Some(w)), 0);
        let running = place(USER2, one_gpu(Some(w)), 0);
        let own = place(ALICE, one_gpu(Some(w)), 0);
        let cancelled = place(USER, one_gpu(Some(w)), 0);
        accept(AGENT, running);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), cancelled));
        // v1 had no index.
        let _ = OrdersOf::<Test>::clear(u32::MAX, None);
        StorageVersion::new(1).put::<Orders>();

        MigrateV1ToV2::<Test>::on_runtime_upgrade();

        assert_eq!(Orders::on_chain_storage_version(), StorageVersion::new(2));
        assert_eq!(orders_of(USER), vec![pending, cancelled]);
        assert_eq!(orders_of(USER2), vec![running]);
        assert_eq!(orders_of(ALICE), vec![pending, running, own, cancelled]);
        // Once: at version 2 it does nothing (the index cleared here stays empty until the
        // unversioned migration builds it again).
        let _ = OrdersOf::<Test>::clear(u32::MAX, None);
        MigrateV1ToV2::<Test>::on_runtime_upgrade();
        assert!(orders_of(ALICE).is_empty());
        InnerMigrateV1ToV2::<Test>::on_runtime_upgrade();
        assert_eq!(orders_of(ALICE), vec![pending, running, own, cancelled]);
    });
}

#[test]
fn migration_v0_to_v1_adds_deposits_and_schedules_every_order() {
    use crate::migrations::{v0, MigrateV0ToV1};
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
    ExtBuilder::default().build_and_execute(|| {
        let w = register_active(ALICE, AGENT, RTX, 4, 100);
        let pending = place(USER, one_gpu(Some(w)), 0);
        let running = place(USER, one_gpu(Some(w)), 0);
        let cancelled = place(USER, one_gpu(Some(w)), 0);
        accept(AGENT, running);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), cancelled));
        run_to_block(3);
        // Rewrite the state as v0 had it: orders without the new fields, only accept deadlines
        // in the index.
        let ids = [pending, running, cancelled];
        for id in ids {
            let o = order(id);
            v0::Orders::<Test>::insert(
                id,
                v0::OldOrder::<Test> {
                    user: o.user,
                    worker: o.worker,
                    provider: o.provider,
                    image: o.image,
                    gpu_model: o.gpu_model,
                    gpu_count: o.gpu_count,
                    duration: o.duration,
                    price_per_gpu_hour: o.price_per_gpu_hour,
                    user_public_key: o.user_public_key,
                    ports: o.ports,
                    total_cost: o.total_cost,
                    discount: o.discount,
                    paid_so_far: o.paid_so_far,
                    status: o.status,
                    created_at: o.created_at,
                },
            );
        }
        let _ = Deadlines::<Test>::clear(u32::MAX, None);
        Deadlines::<Test>::insert(1 + ACCEPT_TIMEOUT, BoundedVec::truncate_from(vec![pending]));
        StorageVersion::new(0).put::<Orders>();

        MigrateV0ToV1::<Test>::on_runtime_upgrade();

        assert_eq!(Orders::on_chain_storage_version(), StorageVersion::new(1));
        assert_eq!(order(pending).deadline, Some(1 + ACCEPT_TIMEOUT));
        assert_eq!(order(running).deadline, Some(21 + GRACE + 1));
        assert_eq!(order(cancelled).deadline, Some(1 + RETENTION));
        for id in ids {
            assert_eq!(order(id).deposit, 0);
        }
        // Consistent with every invariant (checked again after the test), and it runs on.
        all_try_state();
        run_to_block(21 + GRACE + 1);
        assert!(matches!(
            status(running),
            OrderStatus::Failed {
                reason: FailureReason::NoFinalReport,
                ..
            }
        ));
    });
}

// ---------------------------------------------------------------------------------------------
// Review fixes: removals never crowd out deadlines; a dead worker's orders leave for free
// ---------------------------------------------------------------------------------------------

#[test]
fn removals_take_at_most_half_a_bucket_so_reject_churn_cannot_stall_ordering() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        // A provider churns place-then-reject on its own worker (the deposit comes back on a
        // rejection): every rejected order asks for a removal slot a retention period ahead.
        let churned: Vec<u64> = (0..2 * MAX_DEADLINES_PER_BLOCK * MAX_DEADLINE_SPILL)
            .map(|_| {
                let id = place(USER, one_gpu(Some(w)), 0);
                assert_ok!(Orders::reject_order(RuntimeOrigin::signed(AGENT), id));
                id
            })
            .collect();
        let removal_at = 1 + RETENTION;
        let half = (MAX_DEADLINES_PER_BLOCK / 2) as usize;
        for b in removal_at..removal_at + u64::from(MAX_DEADLINE_SPILL) {
            assert_eq!(Deadlines::<Test>::get(b).len(), half, "bucket {b}");
        }
        // The rest stay unscheduled: `drop_order` removes them after retention.
        let unscheduled = churned.iter().filter(|id| order(**id).deadline.is_none());
        assert_eq!(
            unscheduled.count(),
            churned.len() - half * MAX_DEADLINE_SPILL as usize
        );
        // When those buckets come up as accept deadlines, honest users still order.
        run_to_block(removal_at - ACCEPT_TIMEOUT);
        let honest = place(USER2, one_gpu(Some(w)), 0);
        assert_eq!(order(honest).deadline, Some(removal_at));
        run_to_block(removal_at + RETENTION);
        let last = *churned.last().unwrap();
        assert!(orders_of(USER).contains(&last));
        assert_ok!(Orders::drop_order(RuntimeOrigin::signed(ANYONE), last));
        // The index goes with the order.
        assert!(!orders_of(USER).contains(&last));
        assert!(!OrdersOf::<Test>::contains_key(ALICE, last));
    });
}

#[test]
fn cancelling_a_pending_order_on_a_worker_that_cannot_serve_returns_the_deposit() {
    ExtBuilder::default().build_and_execute(|| {
        OrderDeposit::set(5);
        let w = alice_worker();
        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(Some(w)), 0);
        assert_eq!(deposit_held(USER), 5);
        // The provider pauses its worker (or it went silent): leaving is not the user's fault.
        assert_ok!(WorkerRegistry::pause_worker(
            RuntimeOrigin::signed(ALICE),
            w
        ));
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_eq!(deposit_held(USER), 0);
        assert_eq!(Balances::free_balance(USER), before, "everything back");
        assert!(!orders_events()
            .iter()
            .any(|e| matches!(e, Event::DepositForfeited { .. })));
    });
}

#[test]
fn place_order_refuses_a_payer_without_the_free_balance() {
    ExtBuilder::default().build_and_execute(|| {
        OrderDeposit::set(5);
        let w = alice_worker();
        // 200 for the order plus 5 of deposit, keeping the existential deposit.
        let _ =
            <Balances as frame_support::traits::fungible::Mutate<_>>::set_balance(&USER, 200 + 5);
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(Some(w)), 0),
            err(Error::InsufficientFreeBalance)
        );
        let _ = <Balances as frame_support::traits::fungible::Mutate<_>>::set_balance(
            &USER,
            200 + 5 + ED,
        );
        place(USER, one_gpu(Some(w)), 0);
        assert_eq!(Balances::free_balance(USER), ED);
    });
}

#[test]
fn frozen_funds_cannot_pay_for_an_order() {
    use frame_support::traits::fungible::MutateFreeze;
    ExtBuilder::default().build_and_execute(|| {
        OrderDeposit::set(5);
        let w = alice_worker();
        let free = Balances::free_balance(USER);
        // A vesting-like lock on all but what the order needs: the order is still refused,
        // since its 200 + 5 would come out of the locked part.
        assert_ok!(Balances::set_freeze(
            &crate::mock::TestFreezeReason::Vesting,
            &USER,
            free - 200
        ));
        assert_noop!(
            Orders::place_order(RuntimeOrigin::signed(USER), one_gpu(Some(w)), 0),
            err(Error::InsufficientFreeBalance)
        );
        // With the lock leaving room for payment, deposit and the existential deposit it works.
        assert_ok!(Balances::set_freeze(
            &crate::mock::TestFreezeReason::Vesting,
            &USER,
            free - 200 - 5 - ED
        ));
        place(USER, one_gpu(Some(w)), 0);
    });
}

// ---------------------------------------------------------------------------------------------
// Maturing payments (issue #12): reported usage is paid only once it matured
// ---------------------------------------------------------------------------------------------

/// The maturity delay of these tests.
const DELAY: u64 = 5;

/// The unmatured periods of order `id` as `(until, reported_at, owed)`.
fn periods(id: u64) -> Vec<(u64, u64, u64)> {
    crate::Unmatured::<Test>::get(id)
        .iter()
        .map(|p| (p.until, p.reported_at, p.owed))
        .collect()
}

#[test]
fn reported_usage_is_paid_only_after_the_maturity_delay() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            alice_worker();
            let alice_before = Balances::free_balance(ALICE);
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1); // blocks 1..6: 50, matures at 11
            assert!(paid_to_provider(id).is_empty());
            assert_eq!(periods(id), vec![(6, 6, 50)]);
            assert_eq!(escrow_balance(id), 200);
            run_to_block(10);
            report(AGENT, id, 2); // blocks 6..10: owed 90 in all, matures at 15
            assert!(paid_to_provider(id).is_empty());
            assert_eq!(periods(id), vec![(6, 6, 50), (10, 10, 90)]);
            // One block early: nothing matured.
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::NothingToSettle)
            );
            run_to_block(11);
            assert_ok!(Orders::settle_order(RuntimeOrigin::signed(ANYONE), id));
            assert_eq!(paid_to_provider(id), vec![50]);
            assert_eq!(Balances::free_balance(ALICE), alice_before + 50);
            assert_eq!(periods(id), vec![(10, 10, 90)]);
            assert!(matches!(
                status(id),
                OrderStatus::Running { paid_until: 6, .. }
            ));
            // The next report pays what matured meanwhile before queueing its own period.
            run_to_block(15);
            report(AGENT, id, 3);
            assert_eq!(paid_to_provider(id), vec![50, 40]);
            assert_eq!(periods(id), vec![(15, 15, 140)]);
            assert_eq!(order(id).paid_so_far, 90);
            assert_eq!(escrow_balance(id), 110);
        });
}

#[test]
fn matured_payments_tell_the_rewards_the_gpu_blocks_they_pay_for() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            let w = alice_worker();
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1); // 5 blocks of one GPU
            assert!(Delivered::get().is_empty(), "not paid yet");
            run_to_block(6 + DELAY);
            assert_ok!(Orders::settle_order(RuntimeOrigin::signed(ANYONE), id));
            assert_eq!(Delivered::get(), vec![(w, ALICE, 5)]);
        });
}

#[test]
fn a_passing_verdict_matures_the_periods_reported_before_it() {
    ExtBuilder::default()
        .maturity_delay(100)
        .build_and_execute(|| {
            let w = alice_worker();
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1); // 50
            run_to_block(8);
            pass_verdict(w);
            run_to_block(10);
            // The verdict at 8 matured the period reported at 6 (paid now), not the one
            // reported at 10.
            report(AGENT, id, 2);
            assert_eq!(paid_to_provider(id), vec![50]);
            assert_eq!(periods(id), vec![(10, 10, 90)]);
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::NothingToSettle)
            );
            // A verdict of another worker matures nothing.
            let other = register_active(BOB, AGENT2, RTX, 1, 100);
            pass_verdict(other);
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::NothingToSettle)
            );
            // A verdict in the report's block counts (at or after the report).
            pass_verdict(w);
            assert_ok!(Orders::settle_order(RuntimeOrigin::signed(ANYONE), id));
            assert_eq!(paid_to_provider(id), vec![50, 40]);
            assert!(periods(id).is_empty());
        });
}

#[test]
fn worker_unavailable_before_maturity_refunds_unmatured_periods_as_points_and_pays_matured() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            let w = alice_worker();
            let alice_before = Balances::free_balance(ALICE);
            let user_before = Balances::free_balance(USER);
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1); // 50, matures at 11
            run_to_block(9);
            report(AGENT, id, 2); // 30 more, matures at 14
            run_to_block(12);
            // A failed verdict (or governance) suspends the worker.
            assert_ok!(WorkerRegistry::suspend_worker(RuntimeOrigin::root(), w));
            assert_eq!(
                status(id),
                OrderStatus::Failed {
                    at: 12,
                    reason: FailureReason::WorkerUnavailable
                }
            );
            // The matured period is paid; the unmatured one (30) and the unserved rest (120)
            // are refunded as points (the default preference).
            assert_eq!(paid_to_provider(id), vec![50]);
            assert_eq!(Balances::free_balance(ALICE), alice_before + 50);
            assert_eq!(points_of(USER), 150 * POINTS_PER_TOKEN);
            assert_eq!(Balances::free_balance(USER), user_before - 200);
            assert!(periods(id).is_empty());
            assert_eq!(escrow_balance(id), 0);
            assert_eq!(free_gpus(w), 2);
        });
}

#[test]
fn cancel_with_an_unmatured_period_settles_through_settle_order() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            let w = alice_worker();
            set_prefers_points(USER, false);
            let alice_before = Balances::free_balance(ALICE);
            let user_before = Balances::free_balance(USER);
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1); // 50, matures at 11
            run_to_block(8);
            assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
            // Over for the worker: GPUs free, access gone; the escrow stays open.
            assert_eq!(
                status(id),
                OrderStatus::Settling {
                    ended_at: 8,
                    cancelled: true,
                    settles_at: 11
                }
            );
            assert!(orders_events().contains(&Event::OrderCancelled { order_id: id }));
            assert!(orders_events().contains(&Event::OrderSettling {
                order_id: id,
                settles_at: 11
            }));
            assert_eq!(free_gpus(w), 2);
            assert!(AccessBlobs::<Test>::get(id).is_none());
            assert_eq!(OrdersByWorker::<Test>::get(w).into_inner(), vec![id]);
            assert_eq!(escrow_balance(id), 200);
            assert!(paid_to_provider(id).is_empty());
            // Not twice, and no more reports.
            assert_noop!(
                Orders::cancel_order(RuntimeOrigin::signed(USER), id),
                err(Error::InvalidOrderState)
            );
            assert_noop!(
                Orders::report_usage(RuntimeOrigin::signed(AGENT), id, 2, Default::default()),
                err(Error::InvalidOrderState)
            );
            assert_noop!(
                Orders::drop_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::InvalidOrderState)
            );
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::NothingToSettle)
            );
            // A passing verdict matures it early; anyone settles it.
            run_to_block(9);
            pass_verdict(w);
            assert_ok!(Orders::settle_order(RuntimeOrigin::signed(ANYONE), id));
            assert_eq!(status(id), OrderStatus::Cancelled { at: 9 });
            assert!(orders_events().contains(&Event::OrderSettled { order_id: id }));
            assert_eq!(paid_to_provider(id), vec![50]);
            assert_eq!(Balances::free_balance(ALICE), alice_before + 50);
            // The unreported part comes back in tokens.
            assert_eq!(Balances::free_balance(USER), user_before - 50);
            assert!(OrdersByWorker::<Test>::get(w).is_empty());
            assert!(periods(id).is_empty());
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::InvalidOrderState)
            );
            // Removed after the retention, from the settlement on.
            run_to_block(9 + RETENTION);
            assert!(crate::Orders::<Test>::get(id).is_none());
        });
}

#[test]
fn cancelled_settling_order_settles_by_itself_at_maturity() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            alice_worker();
            set_prefers_points(USER, false);
            let user_before = Balances::free_balance(USER);
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1);
            run_to_block(7);
            report(AGENT, id, 2); // until 7: 60 in all, matures at 12
            assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
            assert_eq!(order(id).deadline, Some(12));
            run_to_block(11);
            assert!(matches!(status(id), OrderStatus::Settling { .. }));
            // Nobody calls anything: the deadline index settles it.
            run_to_block(12);
            assert_eq!(status(id), OrderStatus::Cancelled { at: 12 });
            assert_eq!(paid_to_provider(id), vec![60]);
            assert_eq!(Balances::free_balance(USER), user_before - 60);
            assert_eq!(order(id).deadline, Some(12 + RETENTION));
        });
}

#[test]
fn a_recheck_pauses_maturing_by_time_until_it_concludes() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            let w = alice_worker();
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1); // 50, matures at 11 by time
            set_rechecked(w, true);
            run_to_block(12);
            // Past its delay, but the worker is being re-checked: nothing matures.
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::NothingToSettle)
            );
            run_to_block(13);
            report(AGENT, id, 2);
            assert!(paid_to_provider(id).is_empty());
            // The re-check passes: the periods reported before it mature at once.
            pass_verdict(w);
            set_rechecked(w, false);
            assert_ok!(Orders::settle_order(RuntimeOrigin::signed(ANYONE), id));
            assert_eq!(paid_to_provider(id), vec![120]);
            assert!(periods(id).is_empty());
        });
}

#[test]
fn a_settling_order_under_recheck_is_looked_at_again_a_delay_later_not_every_block() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            let w = alice_worker();
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1); // 50, matures at 11
            assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
            assert_eq!(order(id).deadline, Some(11));
            set_rechecked(w, true);
            run_to_block(11);
            // Due, but paused: still Settling, due again one delay later.
            assert!(matches!(status(id), OrderStatus::Settling { .. }));
            assert_eq!(order(id).deadline, Some(11 + DELAY));
            assert!(paid_to_provider(id).is_empty());
            set_rechecked(w, false);
            run_to_block(11 + DELAY);
            assert!(matches!(status(id), OrderStatus::Cancelled { .. }));
            assert_eq!(paid_to_provider(id), vec![50]);
        });
}

#[test]
fn running_orders_lists_only_running_orders_with_their_user_and_worker() {
    use kaisar_primitives::RunningOrders;
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let id = place(USER, one_gpu(None), 0);
        assert_eq!(<Orders as RunningOrders<_>>::running_order(id), None);
        accept(AGENT, id);
        assert_eq!(
            <Orders as RunningOrders<_>>::running_order(id),
            Some((USER, w))
        );
        assert_eq!(<Orders as RunningOrders<_>>::running_order(id + 1), None);
        assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
        assert_eq!(<Orders as RunningOrders<_>>::running_order(id), None);
    });
}

#[test]
fn cancel_with_every_period_matured_ends_at_once() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            alice_worker();
            set_prefers_points(USER, false);
            let user_before = Balances::free_balance(USER);
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1);
            run_to_block(11);
            assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
            assert_eq!(status(id), OrderStatus::Cancelled { at: 11 });
            assert_eq!(paid_to_provider(id), vec![50]);
            assert_eq!(Balances::free_balance(USER), user_before - 50);
        });
}

#[test]
fn final_report_with_unmatured_periods_settles_then_completes() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            let w = alice_worker();
            let alice_before = Balances::free_balance(ALICE);
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1);
            run_to_block(22);
            report(AGENT, id, 2); // final: the first period matured, the rest did not
            assert_eq!(paid_to_provider(id), vec![50]);
            assert_eq!(
                status(id),
                OrderStatus::Settling {
                    ended_at: 22,
                    cancelled: false,
                    settles_at: 27
                }
            );
            assert!(orders_events().contains(&Event::OrderCompleted { order_id: id }));
            assert_eq!(periods(id), vec![(21, 22, 200)]);
            assert_eq!(free_gpus(w), 2);
            assert!(AccessBlobs::<Test>::get(id).is_none());
            // A Settling order still takes a place in the worker's order list.
            assert_eq!(OrdersByWorker::<Test>::get(w).into_inner(), vec![id]);
            // The GPUs serve a new order meanwhile.
            let next = place(USER2, spec(Some(w), 2, 20, 100), 0);
            accept(AGENT, next);
            run_to_block(27);
            assert_eq!(status(id), OrderStatus::Completed { at: 27 });
            assert_eq!(paid_to_provider(id), vec![50, 150]);
            assert_eq!(Balances::free_balance(ALICE), alice_before + 200);
            assert_eq!(escrow_balance(id), 0);
            assert_eq!(OrdersByWorker::<Test>::get(w).into_inner(), vec![next]);
            assert!(orders_events().contains(&Event::OrderSettled { order_id: id }));
        });
}

#[test]
fn settling_order_whose_worker_fails_refunds_its_unmatured_periods() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            let w = alice_worker();
            let alice_before = Balances::free_balance(ALICE);
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1);
            run_to_block(21);
            report(AGENT, id, 2); // final; the first period matured at 11 and is paid
            assert!(matches!(status(id), OrderStatus::Settling { .. }));
            run_to_block(23);
            assert_ok!(WorkerRegistry::suspend_worker(RuntimeOrigin::root(), w));
            assert_eq!(
                status(id),
                OrderStatus::Failed {
                    at: 23,
                    reason: FailureReason::WorkerUnavailable
                }
            );
            assert_eq!(paid_to_provider(id), vec![50]);
            assert_eq!(Balances::free_balance(ALICE), alice_before + 50);
            assert_eq!(points_of(USER), 150 * POINTS_PER_TOKEN);
            // Its GPUs were released when it ended for the worker, not again.
            assert_eq!(free_gpus(w), 2);
            assert!(OrdersByWorker::<Test>::get(w).is_empty());
        });
}

#[test]
fn silent_order_expiry_pays_matured_periods_and_refunds_the_unmatured_ones() {
    ExtBuilder::default()
        .maturity_delay(10)
        .build_and_execute(|| {
            alice_worker();
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1); // 50, matures at 16
            run_to_block(20);
            report(AGENT, id, 2); // 190 in all, matures at 30
            assert_eq!(paid_to_provider(id), vec![50]);
            // No final report: the deadline index fails it at 21 + GRACE + 1.
            run_to_block(21 + GRACE + 1);
            assert!(matches!(
                status(id),
                OrderStatus::Failed {
                    reason: FailureReason::NoFinalReport,
                    ..
                }
            ));
            assert_eq!(paid_to_provider(id), vec![50]);
            assert_eq!(points_of(USER), 150 * POINTS_PER_TOKEN);
        });
}

#[test]
fn a_full_queue_merges_the_newest_period_which_then_matures_later() {
    ExtBuilder::default()
        .maturity_delay(10)
        .build_and_execute(|| {
            alice_worker();
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            for (seq, block) in [(1, 3), (2, 5), (3, 7)] {
                run_to_block(block);
                report(AGENT, id, seq);
            }
            assert_eq!(periods(id), vec![(3, 3, 20), (5, 5, 40), (7, 7, 60)]);
            run_to_block(9);
            report(AGENT, id, 4);
            // MAX_UNMATURED = 3: merged into the last period, reported now.
            assert_eq!(periods(id), vec![(3, 3, 20), (5, 5, 40), (9, 9, 80)]);
            run_to_block(15);
            assert_ok!(Orders::settle_order(RuntimeOrigin::signed(ANYONE), id));
            assert_eq!(paid_to_provider(id), vec![40]);
            // The time reported at 7 would have matured at 17; merged, it matures at 19.
            run_to_block(17);
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::NothingToSettle)
            );
            run_to_block(19);
            assert_ok!(Orders::settle_order(RuntimeOrigin::signed(ANYONE), id));
            assert_eq!(paid_to_provider(id), vec![40, 40]);
            assert!(matches!(
                status(id),
                OrderStatus::Running { paid_until: 9, .. }
            ));
        });
}

#[test]
fn settle_order_checks_origin_state_and_unknown_orders() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            alice_worker();
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), 42),
                err(Error::UnknownOrder)
            );
            let id = place(USER, one_gpu(None), 0);
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::none(), id),
                sp_runtime::DispatchError::BadOrigin
            );
            // Pending: nothing was reported.
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::InvalidOrderState)
            );
            accept(AGENT, id);
            run_to_block(4);
            // Running, nothing reported yet.
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::NothingToSettle)
            );
            report(AGENT, id, 1);
            run_to_block(9);
            assert_ok!(Orders::settle_order(RuntimeOrigin::signed(ANYONE), id));
            // Replay: nothing more matured.
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::NothingToSettle)
            );
            assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
            // Cancelled (terminal).
            assert_noop!(
                Orders::settle_order(RuntimeOrigin::signed(ANYONE), id),
                err(Error::InvalidOrderState)
            );
        });
}

#[test]
fn replayed_and_old_reports_are_refused_while_periods_are_unmatured() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            alice_worker();
            let usage = UsageReport::default();
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1);
            for seq in [0, 1, 3] {
                assert_noop!(
                    Orders::report_usage(RuntimeOrigin::signed(AGENT), id, seq, usage),
                    err(Error::StaleReport)
                );
            }
            // A second report in the same block adds no period.
            report(AGENT, id, 2);
            assert_eq!(periods(id), vec![(6, 6, 50)]);
            // The next period starts at the last reported block, not at `paid_until`.
            run_to_block(8);
            report(AGENT, id, 3);
            assert_eq!(periods(id), vec![(6, 6, 50), (8, 8, 70)]);
            assert_eq!(order(id).paid_so_far, 0);
            // After the final report (Settling) no report is taken.
            run_to_block(21);
            report(AGENT, id, 4);
            assert!(matches!(status(id), OrderStatus::Settling { .. }));
            assert_noop!(
                Orders::report_usage(RuntimeOrigin::signed(AGENT), id, 5, usage),
                err(Error::InvalidOrderState)
            );
        });
}

#[test]
fn zero_maturity_delay_pays_reported_usage_at_once() {
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(crate::MaturityDelay::<Test>::get(), 0);
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        run_to_block(6);
        report(AGENT, id, 1);
        assert_eq!(paid_to_provider(id), vec![50]);
        assert!(periods(id).is_empty());
        run_to_block(21);
        report(AGENT, id, 2);
        assert_eq!(status(id), OrderStatus::Completed { at: 21 });
    });
}

#[test]
fn maturity_delay_defaults_to_the_config_unless_genesis_sets_one() {
    use sp_runtime::BuildStorage;
    DefaultMaturityDelay::set(1200);
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    sp_io::TestExternalities::new(storage.clone())
        .execute_with(|| assert_eq!(crate::MaturityDelay::<Test>::get(), 1200));
    crate::GenesisConfig::<Test> {
        maturity_delay: Some(20),
        _config: Default::default(),
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    sp_io::TestExternalities::new(storage)
        .execute_with(|| assert_eq!(crate::MaturityDelay::<Test>::get(), 20));
    DefaultMaturityDelay::set(0);
}

#[test]
fn order_status_values_stored_before_settling_existed_still_decode() {
    /// `OrderStatus` as it was before `Settling` was appended.
    #[derive(Encode)]
    enum OldStatus {
        #[codec(index = 0)]
        Pending { accept_by: u64 },
        #[codec(index = 1)]
        Running {
            started_at: u64,
            ends_at: u64,
            paid_until: u64,
            last_report_seq: u32,
        },
        #[codec(index = 2)]
        Completed { at: u64 },
        #[codec(index = 3)]
        Cancelled { at: u64 },
        #[codec(index = 4)]
        Failed { at: u64, reason: FailureReason },
    }
    let cases = [
        (
            OldStatus::Pending { accept_by: 7 },
            OrderStatus::Pending { accept_by: 7 },
        ),
        (
            OldStatus::Running {
                started_at: 1,
                ends_at: 21,
                paid_until: 6,
                last_report_seq: 2,
            },
            OrderStatus::Running {
                started_at: 1,
                ends_at: 21,
                paid_until: 6,
                last_report_seq: 2,
            },
        ),
        (
            OldStatus::Completed { at: 9 },
            OrderStatus::Completed { at: 9 },
        ),
        (
            OldStatus::Cancelled { at: 9 },
            OrderStatus::Cancelled { at: 9 },
        ),
        (
            OldStatus::Failed {
                at: 9,
                reason: FailureReason::NoFinalReport,
            },
            OrderStatus::Failed {
                at: 9,
                reason: FailureReason::NoFinalReport,
            },
        ),
    ];
    for (old, new) in cases {
        assert_eq!(OrderStatus::<u64>::decode(&mut &old.encode()[..]), Ok(new));
        assert_eq!(old.encode(), new.encode());
    }
}

#[test]
fn a_settling_order_whose_maturity_moved_later_is_scheduled_again() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            alice_worker();
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(6);
            report(AGENT, id, 1);
            assert_ok!(Orders::cancel_order(RuntimeOrigin::signed(USER), id));
            assert_eq!(order(id).deadline, Some(11));
            // Governance lengthens the window (a storage change): the period reported at 6 now
            // matures at 16, not 11.
            crate::MaturityDelay::<Test>::put(10);
            run_to_block(11);
            assert_eq!(
                status(id),
                OrderStatus::Settling {
                    ended_at: 6,
                    cancelled: true,
                    settles_at: 16
                }
            );
            assert_eq!(order(id).deadline, Some(16));
            assert!(paid_to_provider(id).is_empty());
            run_to_block(16);
            assert_eq!(status(id), OrderStatus::Cancelled { at: 16 });
            assert_eq!(paid_to_provider(id), vec![50]);
        });
}

#[test]
fn a_worker_cannot_deregister_while_its_orders_settle() {
    ExtBuilder::default()
        .maturity_delay(DELAY)
        .build_and_execute(|| {
            let w = alice_worker();
            let id = place(USER, one_gpu(None), 0);
            accept(AGENT, id);
            run_to_block(21);
            report(AGENT, id, 1);
            // Ended for the worker, its GPUs free, but the reported usage has not matured: it
            // must stay checkable (a Deregistering worker cannot be suspended).
            assert!(matches!(status(id), OrderStatus::Settling { .. }));
            assert_eq!(free_gpus(w), 2);
            assert_noop!(
                WorkerRegistry::deregister_worker(RuntimeOrigin::signed(ALICE), w),
                pallet_worker_registry::Error::<Test>::WorkerBusy
            );
            run_to_block(26);
            assert_eq!(status(id), OrderStatus::Completed { at: 26 });
            assert_ok!(WorkerRegistry::deregister_worker(
                RuntimeOrigin::signed(ALICE),
                w
            ));
        });
}

#[test]
fn container_exits_of_the_users_workload_are_recorded_and_the_order_keeps_running() {
    use crate::ExitKind;
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        run_to_block(3);
        assert_ok!(Orders::report_exit(
            RuntimeOrigin::signed(AGENT),
            id,
            ExitKind::Exited { code: 3 },
            0
        ));
        assert_ok!(Orders::report_exit(
            RuntimeOrigin::signed(AGENT),
            id,
            ExitKind::OomKilled,
            1
        ));
        assert!(matches!(status(id), OrderStatus::Running { .. }));
        let records = crate::ExitRecords::<Test>::get(id);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].kind, ExitKind::Exited { code: 3 });
        assert_eq!(
            (records[1].kind, records[1].restarts, records[1].at),
            (ExitKind::OomKilled, 1, 3)
        );
        // Bounded: the oldest is dropped.
        for i in 0..crate::MAX_EXIT_RECORDS {
            assert_ok!(Orders::report_exit(
                RuntimeOrigin::signed(AGENT),
                id,
                ExitKind::Exited { code: i as i32 },
                i
            ));
        }
        let records = crate::ExitRecords::<Test>::get(id);
        assert_eq!(records.len() as u32, crate::MAX_EXIT_RECORDS);
        assert_eq!(records[0].kind, ExitKind::Exited { code: 0 });
    });
}

#[test]
fn a_providers_fault_fails_the_order_and_refunds_it_as_points() {
    use crate::ExitKind;
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        accept(AGENT, id);
        let points_before = points_of(USER);
        assert_ok!(Orders::report_exit(
            RuntimeOrigin::signed(AGENT),
            id,
            ExitKind::ImageUnavailable,
            0
        ));
        assert!(matches!(
            status(id),
            OrderStatus::Failed {
                reason: FailureReason::ServiceFailed,
                ..
            }
        ));
        assert!(points_of(USER) > points_before, "refunded as points");
    });
}

#[test]
fn exit_reports_check_the_agent_and_the_orders_state() {
    use crate::ExitKind;
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        assert_noop!(
            Orders::report_exit(RuntimeOrigin::signed(AGENT), id, ExitKind::OomKilled, 0),
            err(Error::InvalidOrderState)
        );
        accept(AGENT, id);
        assert_noop!(
            Orders::report_exit(RuntimeOrigin::signed(USER), id, ExitKind::OomKilled, 0),
            err(Error::NotWorkerAgent)
        );
        assert_noop!(
            Orders::report_exit(RuntimeOrigin::signed(AGENT), id + 9, ExitKind::OomKilled, 0),
            err(Error::UnknownOrder)
        );
        assert_noop!(
            Orders::report_exit(RuntimeOrigin::none(), id, ExitKind::OomKilled, 0),
            sp_runtime::DispatchError::BadOrigin
        );
    });
}

#[test]
fn image_unavailable_on_a_pending_order_is_recorded_and_refunded_in_full() {
    use crate::{ExitKind, ExitRecord};
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        set_prefers_points(USER, false);
        let user_before = Balances::free_balance(USER);
        let alice_before = Balances::free_balance(ALICE);
        let issuance_before = Balances::total_issuance();
        let id = place(USER, one_gpu(None), 0);
        assert_eq!(free_gpus(w), 1);
        run_to_block(2);

        assert_ok!(Orders::report_exit(
            RuntimeOrigin::signed(AGENT),
            id,
            ExitKind::ImageUnavailable,
            0
        ));

        // The user sees why: the exit record and the event.
        assert_eq!(
            crate::ExitRecords::<Test>::get(id).into_inner(),
            vec![ExitRecord {
                kind: ExitKind::ImageUnavailable,
                restarts: 0,
                at: 2
            }]
        );
        let events = orders_events();
        assert!(events.contains(&Event::ContainerExited {
            order_id: id,
            kind: ExitKind::ImageUnavailable,
            restarts: 0
        }));
        // Ended as a service failure, exactly like a rejection: a full refund, nothing paid.
        assert_eq!(
            status(id),
            OrderStatus::Failed {
                at: 2,
                reason: FailureReason::ServiceFailed
            }
        );
        assert!(events.contains(&Event::OrderFailed {
            order_id: id,
            reason: FailureReason::ServiceFailed
        }));
        assert!(events.contains(&Event::OrderRefunded {
            order_id: id,
            tokens: 200,
            points: 0
        }));
        assert_eq!(Balances::free_balance(USER), user_before);
        assert_eq!(Balances::free_balance(ALICE), alice_before);
        assert_eq!(Balances::total_issuance(), issuance_before);
        assert_eq!(escrow_balance(id), 0);
        assert_eq!(order(id).deposit, 0);
        assert_eq!(free_gpus(w), 2);
        assert!(AccessBlobs::<Test>::get(id).is_none());
        assert!(OrdersByWorker::<Test>::get(w).is_empty());
    });
}

#[test]
fn start_failed_on_a_pending_order_refunds_as_points_by_default() {
    use crate::ExitKind;
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        assert_ok!(Orders::report_exit(
            RuntimeOrigin::signed(AGENT),
            id,
            ExitKind::StartFailed,
            0
        ));
        assert!(matches!(
            status(id),
            OrderStatus::Failed {
                reason: FailureReason::ServiceFailed,
                ..
            }
        ));
        assert_eq!(points_of(USER), 200 * POINTS_PER_TOKEN);
    });
}

#[test]
fn a_users_exit_kind_on_a_pending_order_is_refused() {
    use crate::ExitKind;
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        for kind in [ExitKind::Exited { code: 1 }, ExitKind::OomKilled] {
            assert_noop!(
                Orders::report_exit(RuntimeOrigin::signed(AGENT), id, kind, 0),
                err(Error::InvalidOrderState)
            );
        }
        assert!(matches!(status(id), OrderStatus::Pending { .. }));
        assert!(crate::ExitRecords::<Test>::get(id).is_empty());
    });
}

#[test]
fn only_the_workers_agent_reports_an_image_unavailable_on_a_pending_order() {
    use crate::ExitKind;
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        for who in [USER, ALICE] {
            assert_noop!(
                Orders::report_exit(
                    RuntimeOrigin::signed(who),
                    id,
                    ExitKind::ImageUnavailable,
                    0
                ),
                err(Error::NotWorkerAgent)
            );
        }
        assert!(matches!(status(id), OrderStatus::Pending { .. }));
    });
}

#[test]
fn a_second_exit_report_on_an_order_failed_before_start_is_refused() {
    use crate::ExitKind;
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let id = place(USER, one_gpu(None), 0);
        assert_ok!(Orders::report_exit(
            RuntimeOrigin::signed(AGENT),
            id,
            ExitKind::ImageUnavailable,
            0
        ));
        for kind in [
            ExitKind::ImageUnavailable,
            ExitKind::StartFailed,
            ExitKind::OomKilled,
        ] {
            assert_noop!(
                Orders::report_exit(RuntimeOrigin::signed(AGENT), id, kind, 0),
                err(Error::InvalidOrderState)
            );
        }
        assert_noop!(
            Orders::reject_order(RuntimeOrigin::signed(AGENT), id),
            err(Error::InvalidOrderState)
        );
        assert_eq!(crate::ExitRecords::<Test>::get(id).len(), 1);
    });
}

// ---------------------------------------------------------------------------------------------
// Quotes (runtime API `OrdersApi::quote`): a dry run of `place_order`
// ---------------------------------------------------------------------------------------------

use crate::quote::{OrderQuote, QuoteRefusal};

/// `Orders::quote` by `who` for `spec`'s terms.
fn quote_of(
    who: AccountId,
    spec: &crate::OrderSpec<Test>,
    max_points: Balance,
) -> Result<OrderQuote<AccountId, Balance>, QuoteRefusal<Balance>> {
    Orders::quote(
        who,
        spec.gpu_model,
        spec.gpu_count,
        spec.duration,
        spec.max_price_per_gpu_hour,
        max_points,
        spec.target_worker,
    )
}

fn state_root() -> Vec<u8> {
    sp_io::storage::root(sp_runtime::StateVersion::V1)
}

#[test]
fn quote_is_what_place_order_then_does_and_changes_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        OrderDeposit::set(7);
        let w = alice_worker();
        grant_points(USER, 100);
        let (root, events) = (state_root(), System::events().len());
        let quoted = quote_of(USER, &one_gpu(None), 60).unwrap();
        assert_eq!(
            quoted,
            OrderQuote {
                worker: w,
                provider: ALICE,
                price_per_gpu_hour: 100,
                total_cost: 200,
                points_spent: 60,
                discount: 30,
                user_pays: 170,
                deposit: 7,
            }
        );
        // Nothing was reserved, spent, held or emitted.
        assert_eq!(state_root(), root);
        assert_eq!(System::events().len(), events);

        let before = Balances::free_balance(USER);
        let id = place(USER, one_gpu(None), 60);
        let placed = order(id);
        assert_eq!(
            (placed.worker, placed.price_per_gpu_hour, placed.total_cost),
            (quoted.worker, quoted.price_per_gpu_hour, quoted.total_cost)
        );
        assert_eq!(
            (placed.discount, placed.deposit),
            (quoted.discount, quoted.deposit)
        );
        assert_eq!(points_of(USER), 100 - quoted.points_spent);
        assert_eq!(
            Balances::free_balance(USER),
            before - quoted.user_pays - quoted.deposit
        );
    });
}

#[test]
fn quote_picks_the_cheapest_fitting_worker_like_an_order() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        let cheap = register_active(BOB, AGENT2, RTX, 1, 60);
        assert_eq!(quote_of(USER, &one_gpu(None), 0).unwrap().worker, cheap);
        // Two GPUs: only ALICE's worker has them.
        let two = spec(None, 2, 20, 100);
        let quoted = quote_of(USER, &two, 0).unwrap();
        assert_eq!((quoted.provider, quoted.total_cost), (ALICE, 400));
        assert_eq!(order(place(USER, two, 0)).worker, quoted.worker);
    });
}

#[test]
fn quote_says_no_worker_of_the_model_is_listed() {
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(
            quote_of(USER, &one_gpu(None), 0),
            Err(QuoteRefusal::NoWorkerOfModel)
        );
        // A registered but unverified worker is not listed either.
        register_worker(ALICE, AGENT, RTX, 2, 100);
        assert_eq!(
            quote_of(USER, &one_gpu(None), 0),
            Err(QuoteRefusal::NoWorkerOfModel)
        );
    });
}

#[test]
fn quote_gives_the_lowest_price_when_the_maximum_is_below_it() {
    ExtBuilder::default().build_and_execute(|| {
        alice_worker();
        register_active(BOB, AGENT2, RTX, 2, 150);
        assert_eq!(
            quote_of(USER, &spec(None, 1, 20, 99), 0),
            Err(QuoteRefusal::PriceTooLow { lowest_price: 100 })
        );
    });
}

#[test]
fn quote_tells_too_few_free_gpus_from_all_busy() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        assert_eq!(
            quote_of(USER, &spec(None, 3, 20, 100), 0),
            Err(QuoteRefusal::NotEnoughFreeGpus)
        );
        place(USER2, spec(Some(w), 2, 20, 100), 0);
        assert_eq!(
            quote_of(USER, &one_gpu(None), 0),
            Err(QuoteRefusal::AllBusy)
        );
    });
}

#[test]
fn quote_counts_a_paused_worker_as_taking_no_orders() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        assert_ok!(WorkerRegistry::pause_worker(
            RuntimeOrigin::signed(ALICE),
            w
        ));
        assert_eq!(
            quote_of(USER, &one_gpu(None), 0),
            Err(QuoteRefusal::NoWorkerOfModel)
        );
    });
}

#[test]
fn quote_refusal_is_the_error_the_order_would_fail_with() {
    ExtBuilder::default().build_and_execute(|| {
        let w = alice_worker();
        let refused = |who, spec: crate::OrderSpec<Test>, points| {
            let quoted = quote_of(who, &spec, points);
            let placed = Orders::place_order(RuntimeOrigin::signed(who), spec, points);
            assert_eq!(
                quoted,
                Err(QuoteRefusal::Refused(placed.unwrap_err().error))
            );
            quoted
        };
        let refused_with = |e| Err(QuoteRefusal::Refused(err(e)));
        assert_eq!(
            refused(USER, spec(None, 0, 20, 100), 0),
            refused_with(Error::InvalidGpuCount)
        );
        assert_eq!(
            refused(USER, spec(None, MAX_GPUS_PER_ORDER + 1, 20, 100), 0),
            refused_with(Error::InvalidGpuCount)
        );
        assert_eq!(
            refused(USER, spec(None, 1, MIN_DURATION - 1, 100), 0),
            refused_with(Error::DurationTooShort)
        );
        assert_eq!(
            refused(USER, spec(None, 1, MAX_DURATION + 1, 100), 0),
            refused_with(Error::DurationTooLong)
        );
        assert_eq!(
            refused(USER, spec(Some(w), 1, 20, 99), 0),
            refused_with(Error::PriceTooHigh)
        );
        assert_eq!(
            refused(USER, spec(Some(w + 1), 1, 20, 100), 0),
            refused_with(Error::WorkerNotFound)
        );
        assert_eq!(
            refused(POOR, one_gpu(None), 0),
            refused_with(Error::InsufficientFreeBalance)
        );
        // Points spent on one's own worker.
        grant_points(ALICE, 100);
        assert_eq!(
            refused(ALICE, one_gpu(None), 100),
            refused_with(Error::SelfDealingDiscount)
        );
        assert_ok!(WorkerRegistry::pause_worker(
            RuntimeOrigin::signed(ALICE),
            w
        ));
        assert_eq!(
            refused(USER, one_gpu(Some(w)), 0),
            refused_with(Error::WorkerPaused)
        );
    });
}
