//! The Kaisar pallets' bounds fit the runtime's blocks: the worst case of every hook and call,
//! by the pallets' weight functions (`SubstrateWeight<Runtime>`) at the configured bounds, is
//! within what a block allows. Re-check when weights are regenerated or bounds change.

use frame_support::{dispatch::DispatchClass, weights::Weight};
use kaisar_primitives::WorkerAvailabilityHooks;
use kaisar_runtime::{
    configs::{kaisar::*, RuntimeBlockWeights},
    Orders, Runtime,
};
use pallet_orders::WeightInfo as _;
use pallet_worker_registry::WeightInfo as _;

type RegistryWeights = <Runtime as pallet_worker_registry::Config>::WeightInfo;
type OrdersWeights = <Runtime as pallet_orders::Config>::WeightInfo;

fn pretty(w: Weight) -> String {
    format!(
        "{:.1} ms, {} KiB proof",
        w.ref_time() as f64 / 1e9,
        w.proof_size() / 1024
    )
}

/// What the mandatory hooks may take in the worst block: every swept worker goes offline and
/// each fails `MaxOrdersPerWorker` orders (or is an expired pending registration with the most
/// GPUs, removed, whichever costs more), and a full bucket of accept deadlines expires.
fn worst_case_hooks() -> Weight {
    let per_worker = <Orders as WorkerAvailabilityHooks>::max_weight()
        .max(RegistryWeights::expire_pending(MaxGpusPerWorker::get()));
    let sweep = RegistryWeights::sweep(MaxSweepPerBlock::get())
        + per_worker.saturating_mul(MaxSweepPerBlock::get().into());
    let deadlines = OrdersWeights::on_initialize(MaxDeadlinesPerBlock::get());
    sweep + deadlines
}

#[test]
fn worst_case_on_initialize_leaves_most_of_the_block_for_transactions() {
    let limits = RuntimeBlockWeights::get();
    let hooks = worst_case_hooks();
    println!(
        "worst-case hooks: {}; block: {}",
        pretty(hooks),
        pretty(limits.max_block)
    );
    // Mandatory work past the block limit would stall the chain; keep it under half.
    assert!(
        hooks.all_lte(limits.max_block / 2),
        "hooks {} exceed half the block {}",
        pretty(hooks),
        pretty(limits.max_block)
    );
}

#[test]
fn every_call_at_its_bounds_fits_a_normal_transaction() {
    let limits = RuntimeBlockWeights::get();
    let max = limits
        .get(DispatchClass::Normal)
        .max_extrinsic
        .expect("a normal-class limit");
    let hook = <Orders as WorkerAvailabilityHooks>::max_weight();
    let calls = [
        (
            "register_worker",
            RegistryWeights::register_worker(MaxGpusPerWorker::get()),
        ),
        ("verify_worker", RegistryWeights::verify_worker()),
        ("suspend_worker", RegistryWeights::suspend_worker() + hook),
        ("heartbeat", RegistryWeights::heartbeat()),
        ("report_offline", RegistryWeights::report_offline() + hook),
        ("update_worker", RegistryWeights::update_worker()),
        ("deregister_worker", RegistryWeights::deregister_worker()),
        (
            "withdraw_deposit",
            RegistryWeights::withdraw_deposit(MaxGpusPerWorker::get()),
        ),
        (
            "expire_pending",
            RegistryWeights::expire_pending(MaxGpusPerWorker::get()),
        ),
        (
            "force_deregister",
            RegistryWeights::force_deregister(MaxGpusPerWorker::get()) + hook,
        ),
        ("rotate_agent", RegistryWeights::rotate_agent()),
        ("pause_worker", RegistryWeights::pause_worker()),
        ("resume_worker", RegistryWeights::resume_worker()),
        (
            "place_order",
            OrdersWeights::place_order(MaxIndexedPerModel::get()),
        ),
        ("accept_order", OrdersWeights::accept_order()),
        ("reject_order", OrdersWeights::reject_order()),
        ("report_usage", OrdersWeights::report_usage()),
        (
            "cancel_order",
            OrdersWeights::cancel_order().max(OrdersWeights::expire_order()),
        ),
        ("expire_order", OrdersWeights::expire_order()),
        ("drop_order", OrdersWeights::drop_order()),
        ("settle_order", OrdersWeights::settle_order()),
    ];
    for (name, weight) in calls {
        println!("{name}: {}", pretty(weight));
        assert!(
            weight.all_lte(max),
            "{name} ({}) exceeds {}",
            pretty(weight),
            pretty(max)
        );
    }
}

#[test]
fn a_worker_has_an_order_slot_per_gpu_and_more_for_settling_orders() {
    // Every Pending or Running order holds at least one GPU; Settling orders (ended, their
    // usage not matured yet) hold none but take the slots beyond.
    assert!(MaxOrdersPerWorker::get() > MaxGpusPerWorker::get());
    assert!(MaxGpusPerOrder::get() <= MaxGpusPerWorker::get());
    assert!(MinDuration::get() <= MaxDuration::get());
    assert!(HeartbeatTimeout::get() > 0 && AcceptTimeout::get() > 0);
}

#[test]
fn checker_licenses_epoch_boundary_and_calls_fit_the_block() {
    use frame_support::traits::Get;
    use kaisar_runtime::configs::licenses::MaxPendingDelegationChanges;
    use pallet_checker_licenses::WeightInfo as _;
    type C = <Runtime as pallet_checker_licenses::Config>::WeightInfo;
    type Cfg = Runtime;
    let per_wallet = <<Cfg as pallet_checker_licenses::Config>::MaxPerWallet as Get<u32>>::get();
    let tiers = <<Cfg as pallet_checker_licenses::Config>::MaxTiers as Get<u32>>::get();
    let proof = <<Cfg as pallet_checker_licenses::Config>::MaxProofLen as Get<u32>>::get();
    let limits = RuntimeBlockWeights::get();
    // An epoch boundary may fall in the marketplace's worst block.
    let hooks = worst_case_hooks() + C::on_initialize_epoch(MaxPendingDelegationChanges::get());
    println!("worst-case hooks with an epoch boundary: {}", pretty(hooks));
    assert!(
        hooks.all_lte(limits.max_block / 2),
        "hooks {} exceed half the block {}",
        pretty(hooks),
        pretty(limits.max_block)
    );
    let max = limits
        .get(DispatchClass::Normal)
        .max_extrinsic
        .expect("a normal-class limit");
    let calls = [
        ("open_round", C::open_round(tiers)),
        ("commit", C::commit(proof)),
        ("settle", C::settle(tiers)),
        ("claim", C::claim(per_wallet)),
        ("grant", C::grant(per_wallet)),
        ("register_referral_code", C::register_referral_code()),
        ("delegate", C::delegate()),
        ("undelegate", C::undelegate()),
        ("set_commission", C::set_commission()),
        ("set_max_licenses", C::set_max_licenses()),
    ];
    for (name, weight) in calls {
        println!("{name}: {}", pretty(weight));
        assert!(
            weight.all_lte(max),
            "{name} ({}) exceeds {}",
            pretty(weight),
            pretty(max)
        );
    }
}

#[test]
fn popw_attestations_hook_and_calls_fit_the_block() {
    use kaisar_primitives::WorkerVerification;
    use kaisar_runtime::configs::{
        attestations::PopwMaxAssignmentTries, licenses::MaxPendingDelegationChanges,
    };
    use pallet_checker_licenses::WeightInfo as _;
    use pallet_popw_attestations::WeightInfo as _;
    type C = <Runtime as pallet_checker_licenses::Config>::WeightInfo;
    type P = <Runtime as pallet_popw_attestations::Config>::WeightInfo;
    let limits = RuntimeBlockWeights::get();
    // The hook's worst block (drawing a seed) on an epoch boundary in the marketplace's worst
    // block.
    let popw_hook = P::on_initialize_seed()
        .max(P::on_initialize_randomness())
        .max(P::on_initialize_idle());
    let hooks =
        worst_case_hooks() + C::on_initialize_epoch(MaxPendingDelegationChanges::get()) + popw_hook;
    println!("worst-case hooks with the PoPW seed: {}", pretty(hooks));
    assert!(
        hooks.all_lte(limits.max_block / 2),
        "hooks {} exceed half the block {}",
        pretty(hooks),
        pretty(limits.max_block)
    );
    let max = limits
        .get(DispatchClass::Normal)
        .max_extrinsic
        .expect("a normal-class limit");
    let tries = PopwMaxAssignmentTries::get();
    let verdict = <kaisar_runtime::WorkerRegistry as WorkerVerification>::max_weight();
    let calls = [
        ("commit_nonce", P::commit_nonce(tries)),
        ("seal", P::seal()),
        ("reveal", P::reveal() + P::finalize() + verdict),
        (
            "finalize",
            P::finalize().max(P::finalize_unopened(tries)) + verdict,
        ),
        ("forget_worker", P::forget_worker()),
    ];
    for (name, weight) in calls {
        println!("{name}: {}", pretty(weight));
        assert!(
            weight.all_lte(max),
            "{name} ({}) exceeds {}",
            pretty(weight),
            pretty(max)
        );
    }
}
