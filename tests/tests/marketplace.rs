//! The marketplace end to end: real signed transactions against a running chain (see the crate
//! docs of `kaisar-e2e` for where the chain comes from).
//!
//! Every amount is checked exactly: the chain's prices are `ceil(price * gpus * duration /
//! BlocksPerHour)` per order and the provider is owed `floor(total * served / duration)` after
//! `served` blocks, so the tests compute what each payment must be from the block numbers the
//! transactions landed in, not from assumed block timing.

use kaisar_chain_client::{
    kaisar::{self, orders::events as order_events},
    signer::account_of,
    types::*,
    AccountId32, Balance, Client, UNITS,
};
use kaisar_e2e::*;

/// `ceil(price * gpus * duration / blocks_per_hour)`, as pallet-orders prices an order.
fn order_cost(price: Balance, gpus: u32, duration: u32, blocks_per_hour: u32) -> Balance {
    (price * gpus as u128 * duration as u128).div_ceil(blocks_per_hour as u128)
}

/// What the provider is owed after `served` blocks of an order.
fn owed(total: Balance, served: u32, duration: u32) -> Balance {
    if served >= duration {
        total
    } else {
        total * served as u128 / duration as u128
    }
}

async fn blocks_per_hour(client: &Client) -> u32 {
    client
        .constant(kaisar::constants().orders().blocks_per_hour())
        .await
        .unwrap()
}

async fn min_duration(client: &Client) -> u32 {
    client
        .constant(kaisar::constants().orders().min_duration())
        .await
        .unwrap()
}

/// The chain's usage maturity delay, in blocks.
async fn maturity_delay(client: &Client) -> u32 {
    client
        .fetch(kaisar::storage().orders().maturity_delay(), ())
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn order_deposit(client: &Client) -> Balance {
    client
        .constant(kaisar::constants().orders().order_deposit())
        .await
        .unwrap()
}

async fn free(client: &Client, who: &AccountId32) -> Balance {
    client.account(who).await.unwrap().free
}

async fn escrow_held(client: &Client, who: &AccountId32) -> Balance {
    client.held(who, &order_escrow_hold()).await.unwrap()
}

async fn order(client: &Client, id: u64) -> Order {
    client
        .order(id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("order {id} not found"))
}

/// Register → verify → heartbeat → place → accept → a usage report (queued, not paid) → a
/// report after the maturity delay (pays the first period exactly) → final report (completed
/// for the worker, GPUs released; settles at maturity without a caller: provider paid in full,
/// nothing left in escrow).
#[tokio::test]
async fn order_runs_to_completion_and_pays_the_provider_as_reported_periods_mature() {
    let _serial = serial().await;
    let client = connect().await;
    let bph = blocks_per_hour(&client).await;
    let duration = min_duration(&client).await.max(40);
    let price = 6 * UNITS;

    // Provider Bob registers a 2-GPU worker run by agent //Bob//agent-lifecycle//<run>.
    let worker = active_worker(&client, "//Bob", "lifecycle", GpuModel::Rtx4090, 2, price).await;
    let info = client
        .worker(worker.id)
        .await
        .unwrap()
        .expect("worker stored");
    assert_eq!(info.status, WorkerStatus::Active);
    assert_eq!(info.provider, account_of(&worker.provider));
    assert_eq!(info.spec.agent, account_of(&worker.agent));
    assert_eq!(
        client
            .worker_of_agent(&account_of(&worker.agent))
            .await
            .unwrap(),
        Some(worker.id)
    );

    // Charlie orders one GPU on it.
    let charlie = key("charlie");
    let charlie_id = account_of(&charlie);
    let bob_id = account_of(&worker.provider);
    let free0 = free(&client, &charlie_id).await;
    let held0 = escrow_held(&client, &charlie_id).await;
    let spec = order_spec(worker.id, GpuModel::Rtx4090, 1, duration, price);
    let user_key = spec.user_public_key;
    let (ev, placed) = place_order(&client, &charlie, spec, 0).await;
    let total = order_cost(price, 1, duration, bph);
    assert_eq!(
        (ev.user, ev.worker, ev.total_cost, ev.discount),
        (charlie_id, worker.id, total, 0)
    );
    let id = ev.order_id;
    assert_eq!(
        free(&client, &charlie_id).await,
        free0 - total - fee_paid(&placed) - order_deposit(&client).await
    );
    assert_eq!(escrow_held(&client, &charlie_id).await, held0 + total);
    let o = order(&client, id).await;
    assert!(
        matches!(o.status, OrderStatus::Pending { .. }),
        "{:?}",
        o.status
    );
    assert_eq!(o.user_public_key, user_key);
    assert_eq!(
        client
            .worker(worker.id)
            .await
            .unwrap()
            .unwrap()
            .reserved_gpus,
        1
    );
    let escrow = client.escrow(id).await.unwrap().expect("escrow opened");
    assert_eq!(
        (escrow.payer, escrow.payer_held, escrow.sponsor),
        (charlie_id, total, None)
    );

    // Only the worker's agent may accept.
    fails_with(
        &client,
        "accept by the user",
        &kaisar::tx()
            .orders()
            .accept_order(id, BoundedVec(b"x".to_vec())),
        &charlie,
        "Orders",
        "NotWorkerAgent",
    )
    .await;

    // The agent accepts with the access details sealed to the user's key.
    let blob = b"sealed-to-user: ssh root@203.0.113.7 -p 2222".to_vec();
    let bob_free0 = free(&client, &bob_id).await;
    let accepted = ok(
        &client,
        "accept_order",
        &kaisar::tx()
            .orders()
            .accept_order(id, BoundedVec(blob.clone())),
        &worker.agent,
    )
    .await;
    let started = accepted.block_number;
    let ends_at = accepted
        .expect_event::<order_events::OrderAccepted>()
        .unwrap()
        .ends_at;
    assert_eq!(ends_at, started + duration);
    assert_eq!(client.access_blob(id).await.unwrap(), Some(blob));

    // A usage report queues its period; it is paid once it matured (MaturityDelay blocks
    // later): at the next report after that, or when the order settles.
    let delay = maturity_delay(&client).await;
    let usage = |seq: u32| UsageReport {
        gpu_util_permille: 870,
        gpu_mem_used_mib: 20_000,
        uptime_secs: 60 * seq,
    };
    client.advance_blocks(3).await.unwrap();
    let first = ok(
        &client,
        "report_usage",
        &kaisar::tx().orders().report_usage(id, 1, usage(1)),
        &worker.agent,
    )
    .await;
    let owed1 = owed(total, first.block_number - started, duration);
    assert!(owed1 > 0);
    assert!(
        !first.has::<order_events::ProviderPaid>(),
        "a fresh period is not paid"
    );
    let reported = first.expect_event::<order_events::UsageReported>().unwrap();
    assert_eq!((reported.seq, reported.usage), (1, usage(1)));
    assert_eq!(order(&client, id).await.paid_so_far, 0);
    assert_eq!(free(&client, &bob_id).await, bob_free0);

    // MaturityDelay later, the next report pays exactly the first period.
    let now = client.best_number().await.unwrap();
    client
        .advance_blocks((first.block_number + delay).saturating_sub(now))
        .await
        .unwrap();
    let second = ok(
        &client,
        "report_usage",
        &kaisar::tx().orders().report_usage(id, 2, usage(2)),
        &worker.agent,
    )
    .await;
    assert!(second.block_number < ends_at, "the order is long enough");
    let pay = second.expect_event::<order_events::ProviderPaid>().unwrap();
    assert_eq!(
        (pay.order_id, pay.provider, pay.amount),
        (id, bob_id, owed1)
    );
    assert_eq!(free(&client, &bob_id).await, bob_free0 + owed1);
    assert_eq!(order(&client, id).await.paid_so_far, owed1);
    assert_eq!(
        client.escrow(id).await.unwrap().unwrap().payer_held,
        total - owed1
    );

    // Replaying the last report is refused.
    fails_with(
        &client,
        "replayed report",
        &kaisar::tx().orders().report_usage(
            id,
            2,
            UsageReport {
                gpu_util_permille: 0,
                gpu_mem_used_mib: 0,
                uptime_secs: 0,
            },
        ),
        &worker.agent,
        "Orders",
        "StaleReport",
    )
    .await;

    // Run to the end; the final report ends the order for the worker (GPUs released) and it
    // settles when its last period matured, paying the rest, with no one calling.
    let now = client.best_number().await.unwrap();
    if now < ends_at {
        client.advance_blocks(ends_at - now).await.unwrap();
    }
    let last = ok(
        &client,
        "final report_usage",
        &kaisar::tx().orders().report_usage(
            id,
            3,
            UsageReport {
                gpu_util_permille: 500,
                gpu_mem_used_mib: 1,
                uptime_secs: 600,
            },
        ),
        &worker.agent,
    )
    .await;
    assert!(last.block_number >= ends_at);
    last.expect_event::<order_events::OrderCompleted>().unwrap();
    let settling = last.expect_event::<order_events::OrderSettling>().unwrap();
    let OrderStatus::Settling { settles_at, .. } = order(&client, id).await.status else {
        panic!("a completed order with unmatured usage settles first");
    };
    assert_eq!(settling.settles_at, settles_at);
    assert_eq!(
        client
            .worker(worker.id)
            .await
            .unwrap()
            .unwrap()
            .reserved_gpus,
        0,
        "GPUs released at the end, before settling"
    );
    fails_with(
        &client,
        "settle before maturity",
        &kaisar::tx().orders().settle_order(id),
        &charlie,
        "Orders",
        "NothingToSettle",
    )
    .await;
    let now = client.best_number().await.unwrap();
    client
        .advance_blocks(settles_at.saturating_sub(now))
        .await
        .unwrap();
    assert!(matches!(
        order(&client, id).await.status,
        OrderStatus::Completed { .. }
    ));
    assert_eq!(
        free(&client, &bob_id).await,
        bob_free0 + total,
        "provider paid the total cost"
    );
    assert_eq!(client.escrow(id).await.unwrap(), None);
    assert_eq!(client.access_blob(id).await.unwrap(), None);
    assert_eq!(escrow_held(&client, &charlie_id).await, held0);
    assert_eq!(
        client
            .worker(worker.id)
            .await
            .unwrap()
            .unwrap()
            .reserved_gpus,
        0
    );
    assert!(!client
        .open_orders_of_worker(worker.id)
        .await
        .unwrap()
        .contains(&id));

    assert_chain_consistent(&client).await;
}

/// A Pending order cancelled is refunded in full (tokens) and forfeits its deposit; a Running order cancelled leaves the
/// provider what its agent's usage reports paid (nothing for the unreported blocks since) and
/// refunds the rest.
#[tokio::test]
async fn cancelled_orders_refund_the_user() {
    let _serial = serial().await;
    let client = connect().await;
    let bph = blocks_per_hour(&client).await;
    let duration = min_duration(&client).await.max(20);
    let price = 3 * UNITS;
    let worker = active_worker(&client, "//Dave", "cancel", GpuModel::Rtx3090, 1, price).await;
    let dave_id = account_of(&worker.provider);
    let eve = key("eve");
    let eve_id = account_of(&eve);
    let total = order_cost(price, 1, duration, bph);

    // Pending → cancelled: everything back.
    let free0 = free(&client, &eve_id).await;
    let held0 = escrow_held(&client, &eve_id).await;
    let spec = order_spec(worker.id, GpuModel::Rtx3090, 1, duration, price);
    let (ev, placed) = place_order(&client, &eve, spec, 0).await;
    let a = ev.order_id;
    assert_eq!(escrow_held(&client, &eve_id).await, held0 + total);
    fails_with(
        &client,
        "cancel by the agent",
        &kaisar::tx().orders().cancel_order(a),
        &worker.agent,
        "Orders",
        "NotOrderOwner",
    )
    .await;
    let cancelled = ok(
        &client,
        "cancel_order",
        &kaisar::tx().orders().cancel_order(a),
        &eve,
    )
    .await;
    cancelled
        .expect_event::<order_events::OrderCancelled>()
        .unwrap();
    let refund = cancelled
        .expect_event::<order_events::OrderRefunded>()
        .unwrap();
    assert_eq!(
        (refund.order_id, refund.tokens, refund.points),
        (a, total, 0)
    );
    assert!(!cancelled.has::<order_events::ProviderPaid>());
    // Cancelling inside the accept window forfeits the order deposit (to the treasury): what a
    // flood of place-then-cancel orders costs. Everything escrowed comes back.
    let forfeited = cancelled
        .expect_event::<order_events::DepositForfeited>()
        .unwrap();
    assert_eq!(
        (forfeited.order_id, forfeited.amount),
        (a, order_deposit(&client).await)
    );
    assert_eq!(
        free(&client, &eve_id).await,
        free0 - fee_paid(&placed) - fee_paid(&cancelled) - forfeited.amount,
        "escrow refunded in full, deposit forfeited"
    );
    assert_eq!(escrow_held(&client, &eve_id).await, held0);
    assert!(matches!(
        order(&client, a).await.status,
        OrderStatus::Cancelled { .. }
    ));
    assert_eq!(
        client
            .worker(worker.id)
            .await
            .unwrap()
            .unwrap()
            .reserved_gpus,
        0,
        "GPU released"
    );
    fails_with(
        &client,
        "cancel twice",
        &kaisar::tx().orders().cancel_order(a),
        &eve,
        "Orders",
        "InvalidOrderState",
    )
    .await;

    // Running → cancelled: the provider keeps what the agent's report paid for; the blocks
    // after the last report are not paid (nobody reported them); the rest is refunded.
    let free1 = free(&client, &eve_id).await;
    let dave_free1 = free(&client, &dave_id).await;
    let spec = order_spec(worker.id, GpuModel::Rtx3090, 1, duration, price);
    let (ev, placed) = place_order(&client, &eve, spec, 0).await;
    let b = ev.order_id;
    let accepted = ok(
        &client,
        "accept_order",
        &kaisar::tx()
            .orders()
            .accept_order(b, BoundedVec(b"sealed".to_vec())),
        &worker.agent,
    )
    .await;
    let started = accepted.block_number;
    client.advance_blocks(2).await.unwrap();
    let report = ok(
        &client,
        "report_usage",
        &kaisar::tx().orders().report_usage(
            b,
            1,
            UsageReport {
                gpu_util_permille: 700,
                gpu_mem_used_mib: 8_000,
                uptime_secs: 30,
            },
        ),
        &worker.agent,
    )
    .await;
    let reported = report.block_number - started;
    let paid = owed(total, reported, duration);
    assert!(
        paid > 0 && paid < total,
        "reported {reported} of {duration} blocks"
    );
    assert!(
        !report.has::<order_events::ProviderPaid>(),
        "not matured yet"
    );
    client.advance_blocks(3).await.unwrap();
    let cancelled = ok(
        &client,
        "cancel running order",
        &kaisar::tx().orders().cancel_order(b),
        &eve,
    )
    .await;
    let served = cancelled.block_number - started;
    assert!(
        owed(total, served, duration) > paid,
        "the unreported blocks {reported}..{served} must be worth something"
    );
    assert!(
        !cancelled.has::<order_events::ProviderPaid>(),
        "nothing paid at cancel: the reported period has not matured, the rest was not reported"
    );
    cancelled
        .expect_event::<order_events::OrderCancelled>()
        .unwrap();
    // The reported period stays in escrow until it matures; then the provider is paid for it
    // and the user refunded the rest, with no one calling.
    let OrderStatus::Settling {
        cancelled: true,
        settles_at,
        ..
    } = order(&client, b).await.status
    else {
        panic!("a cancelled order with unmatured usage settles first");
    };
    let now = client.best_number().await.unwrap();
    client
        .advance_blocks(settles_at.saturating_sub(now))
        .await
        .unwrap();
    assert!(matches!(
        order(&client, b).await.status,
        OrderStatus::Cancelled { .. }
    ));
    assert_eq!(order(&client, b).await.paid_so_far, paid);
    assert_eq!(free(&client, &dave_id).await, dave_free1 + paid);
    assert_eq!(
        free(&client, &eve_id).await,
        free1 - fee_paid(&placed) - fee_paid(&cancelled) - paid,
        "user pays only what was reported"
    );
    assert_eq!(escrow_held(&client, &eve_id).await, held0);
    assert_eq!(client.escrow(b).await.unwrap(), None);

    assert_chain_consistent(&client).await;
}

/// Wrong callers get typed module errors back; non-sudo verification is a bad origin.
#[tokio::test]
async fn wrong_callers_get_module_errors() {
    let _serial = serial().await;
    let client = connect().await;
    let worker = active_worker(&client, "//Ferdie", "errors", GpuModel::L4, 1, UNITS).await;
    let charlie = key("charlie");

    fails_with(
        &client,
        "heartbeat by a stranger",
        &kaisar::tx().worker_registry().heartbeat(worker.id, 1),
        &charlie,
        "WorkerRegistry",
        "NotWorkerAgent",
    )
    .await;
    fails_with(
        &client,
        "heartbeat claiming more GPUs",
        &kaisar::tx().worker_registry().heartbeat(worker.id, 5),
        &worker.agent,
        "WorkerRegistry",
        "ReportedGpusExceedTotal",
    )
    .await;
    fails_with(
        &client,
        "unknown worker",
        &kaisar::tx().worker_registry().heartbeat(u64::MAX, 1),
        &worker.agent,
        "WorkerRegistry",
        "WorkerNotFound",
    )
    .await;
    fails_with(
        &client,
        "deregister by a stranger",
        &kaisar::tx().worker_registry().deregister_worker(worker.id),
        &charlie,
        "WorkerRegistry",
        "NotProvider",
    )
    .await;
    let spec = order_spec(
        worker.id,
        GpuModel::Rtx4090,
        1,
        min_duration(&client).await,
        UNITS,
    );
    fails_with(
        &client,
        "wrong GPU model",
        &kaisar::tx().orders().place_order(spec, 0),
        &charlie,
        "Orders",
        "GpuModelMismatch",
    )
    .await;
    let spec = order_spec(
        worker.id,
        GpuModel::L4,
        2,
        min_duration(&client).await,
        UNITS,
    );
    fails_with(
        &client,
        "too many GPUs",
        &kaisar::tx().orders().place_order(spec, 0),
        &charlie,
        "Orders",
        "NotEnoughFreeGpus",
    )
    .await;

    // verify_worker needs the verifier origin (Root here): a signed call is a bad origin.
    match client
        .submit(
            &kaisar::tx().worker_registry().verify_worker(worker.id),
            &charlie,
        )
        .await
    {
        Err(Error::Dispatch(msg)) => assert!(msg.to_lowercase().contains("origin"), "{msg}"),
        other => panic!("expected a BadOrigin dispatch error, got {other:?}"),
    }

    assert_chain_consistent(&client).await;
}

/// `floor(tokens * rate)` with `rate` a `FixedU128` inner value.
fn points_for(tokens: Balance, rate: u128) -> Balance {
    tokens * rate / 1_000_000_000_000_000_000
}

/// A service failure (the agent rejects the order) is refunded as points by default: the
/// tokens go to the promotion pot. Spending those points sponsors part of the next order from
/// the pot; cancelling that order gives the points back and returns the pot's part to the pot.
#[tokio::test]
async fn rejected_order_is_refunded_as_points_that_discount_the_next_order() {
    let _serial = serial().await;
    let client = connect().await;
    let bph = blocks_per_hour(&client).await;
    let duration = min_duration(&client).await.max(10);
    let price = 2 * UNITS;
    let worker = active_worker(&client, "//Ferdie", "points", GpuModel::A10, 1, price).await;
    let user = fresh_key("//Charlie//points-user");
    let user_id = account_of(&user);
    fund(&client, &key("charlie"), &user_id, 100 * UNITS).await;
    assert_eq!(
        client.refund_preference(&user_id).await.unwrap(),
        RefundPreference::Points
    );
    let pot = client.pot_account().await.unwrap();
    let rate = client.points_per_token().await.unwrap();
    let total = order_cost(price, 1, duration, bph);

    // Rejected by the agent: Failed, refund credited as points, tokens to the pot.
    let free0 = free(&client, &user_id).await;
    let pot0 = free(&client, &pot).await;
    let spec = order_spec(worker.id, GpuModel::A10, 1, duration, price);
    let (ev, placed) = place_order(&client, &user, spec, 0).await;
    let id = ev.order_id;
    let rejected = ok(
        &client,
        "reject_order",
        &kaisar::tx().orders().reject_order(id),
        &worker.agent,
    )
    .await;
    let failed = rejected
        .expect_event::<order_events::OrderFailed>()
        .unwrap();
    assert_eq!(
        (failed.order_id, failed.reason),
        (id, FailureReason::Rejected)
    );
    let points = points_for(total, rate);
    assert!(points > 0);
    let refund = rejected
        .expect_event::<order_events::OrderRefunded>()
        .unwrap();
    assert_eq!((refund.tokens, refund.points), (0, points));
    let credited = rejected
        .expect_event::<kaisar::points::events::PointsCredited>()
        .unwrap();
    assert_eq!(
        (credited.who, credited.points, credited.tokens),
        (user_id, points, total)
    );
    assert_eq!(client.points_of(&user_id).await.unwrap(), points);
    assert_eq!(
        free(&client, &pot).await,
        pot0 + total,
        "the refunded tokens went to the pot"
    );
    assert_eq!(
        free(&client, &user_id).await,
        free0 - total - fee_paid(&placed)
    );
    assert!(matches!(
        order(&client, id).await.status,
        OrderStatus::Failed {
            reason: FailureReason::Rejected,
            ..
        }
    ));

    // Spend the points on the next order: the pot sponsors the discount.
    let free1 = free(&client, &user_id).await;
    let spec = order_spec(worker.id, GpuModel::A10, 1, duration, price);
    let placed = ok(
        &client,
        "place_order with points",
        &kaisar::tx().orders().place_order(spec, points),
        &user,
    )
    .await;
    let ev = placed.expect_event::<order_events::OrderPlaced>().unwrap();
    let spent = placed
        .expect_event::<kaisar::points::events::PointsSpent>()
        .unwrap();
    assert!(ev.discount > 0 && ev.discount <= total);
    assert_eq!(spent.discount, ev.discount);
    let escrow = client.escrow(ev.order_id).await.unwrap().expect("escrow");
    assert_eq!(escrow.payer_held, total - ev.discount);
    assert_eq!(escrow.sponsor, Some((pot, ev.discount)));
    assert_eq!(
        free(&client, &user_id).await,
        free1 - (total - ev.discount) - fee_paid(&placed) - order_deposit(&client).await
    );
    assert_eq!(
        client.points_of(&user_id).await.unwrap(),
        points - spent.points
    );
    assert_chain_consistent(&client).await;

    // Cancel it: tokens back to the user, the pot's part back to the pot, the points restored.
    let cancelled = ok(
        &client,
        "cancel_order",
        &kaisar::tx().orders().cancel_order(ev.order_id),
        &user,
    )
    .await;
    let refund = cancelled
        .expect_event::<order_events::OrderRefunded>()
        .unwrap();
    assert_eq!(refund.tokens, total - ev.discount);
    cancelled
        .expect_event::<kaisar::points::events::PointsRestored>()
        .unwrap();
    assert_eq!(
        client.points_of(&user_id).await.unwrap(),
        points,
        "discount points restored"
    );
    assert_eq!(
        free(&client, &user_id).await,
        free1 - fee_paid(&placed) - fee_paid(&cancelled) - order_deposit(&client).await
    );
    assert_eq!(client.escrow(ev.order_id).await.unwrap(), None);

    assert_chain_consistent(&client).await;
}

/// A Running order whose agent accepted (access details delivered) and then never reported
/// usage is cancelled by the user: the provider is paid only for reported periods, i.e. nothing,
/// and the user gets the whole escrow back in tokens (issue #10 item 1: paying "up to now" on
/// cancel paid for time nobody reported).
#[tokio::test]
async fn cancel_after_silent_accept_refunds_everything_and_pays_the_provider_nothing() {
    let _serial = serial().await;
    let client = connect().await;
    let bph = blocks_per_hour(&client).await;
    let duration = min_duration(&client).await.max(20);
    let price = 3 * UNITS;
    let worker = active_worker(&client, "//Dave", "silent", GpuModel::Rtx3090, 1, price).await;
    let dave_id = account_of(&worker.provider);
    let user = fresh_key("//Charlie//silent-user");
    let user_id = account_of(&user);
    fund(&client, &key("charlie"), &user_id, 100 * UNITS).await;
    let total = order_cost(price, 1, duration, bph);

    let free0 = free(&client, &user_id).await;
    let held0 = escrow_held(&client, &user_id).await;
    let dave_free0 = free(&client, &dave_id).await;
    let spec = order_spec(worker.id, GpuModel::Rtx3090, 1, duration, price);
    let (ev, placed) = place_order(&client, &user, spec, 0).await;
    let id = ev.order_id;
    assert_eq!(escrow_held(&client, &user_id).await, held0 + total);

    // The agent accepts with the access details, then stays silent: no usage report.
    let accepted = ok(
        &client,
        "accept_order",
        &kaisar::tx().orders().accept_order(
            id,
            BoundedVec(b"sealed-to-user: ssh root@203.0.113.9".to_vec()),
        ),
        &worker.agent,
    )
    .await;
    let started = accepted.block_number;
    assert!(matches!(
        order(&client, id).await.status,
        OrderStatus::Running { .. }
    ));
    client.advance_blocks(4).await.unwrap();

    let cancelled = ok(
        &client,
        "cancel silent running order",
        &kaisar::tx().orders().cancel_order(id),
        &user,
    )
    .await;
    let silent = cancelled.block_number - started;
    // Paying "up to now" would have paid for these unreported blocks: the test would catch it.
    assert!(
        owed(total, silent, duration) > 0,
        "{silent} silent blocks are too few to tell the rules apart"
    );
    cancelled
        .expect_event::<order_events::OrderCancelled>()
        .unwrap();
    let paid: Balance = cancelled
        .find::<order_events::ProviderPaid>()
        .unwrap()
        .iter()
        .filter(|p| p.order_id == id)
        .map(|p| p.amount)
        .sum();
    assert_eq!(
        paid, 0,
        "the provider was paid for {silent} blocks its agent never reported"
    );
    let refund = cancelled
        .expect_event::<order_events::OrderRefunded>()
        .unwrap();
    assert_eq!(
        (refund.order_id, refund.tokens, refund.points),
        (id, total, 0),
        "the whole escrow goes back to the user in tokens"
    );
    assert_eq!(
        free(&client, &dave_id).await,
        dave_free0,
        "provider paid nothing"
    );
    assert_eq!(
        free(&client, &user_id).await,
        free0 - fee_paid(&placed) - fee_paid(&cancelled),
        "user refunded everything but the fees"
    );
    assert_eq!(escrow_held(&client, &user_id).await, held0);
    assert_eq!(client.escrow(id).await.unwrap(), None);
    assert_eq!(client.access_blob(id).await.unwrap(), None);
    let o = order(&client, id).await;
    assert!(
        matches!(o.status, OrderStatus::Cancelled { .. }),
        "{:?}",
        o.status
    );
    assert_eq!(o.paid_so_far, 0);
    assert_eq!(
        client
            .worker(worker.id)
            .await
            .unwrap()
            .unwrap()
            .reserved_gpus,
        0,
        "GPU released"
    );

    assert_chain_consistent(&client).await;
}
