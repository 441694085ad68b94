//! Unit tests of the worker registry against the mock runtime (real pallet-balances).
//!
//! Every test runs through [`ExtBuilder::build_and_execute`], which checks `try_state` at the
//! end. Per call: happy path, wrong caller, wrong state, too-large input and replay.

use crate::{mock::*, *};
use codec::{Decode, Encode};
use frame_support::{
    assert_noop, assert_ok,
    dispatch::{Pays, PostDispatchInfo},
    traits::{
        fungible::{Inspect, InspectHold},
        ConstU32, Hooks,
    },
};
use kaisar_primitives::{WorkerRegistry as RegistryApi, WorkerSummary, WorkerVerification};
use sp_runtime::{traits::BadOrigin, BoundedVec, DispatchError, TokenError};

const RTX: GpuModel = GpuModel::Rtx4090;
const H100: GpuModel = GpuModel::H100Sxm;

type Registry = WorkerRegistry;
type Weights = ();

// ---- helpers ----

fn held(who: AccountId) -> Balance {
    Balances::balance_on_hold(
        &RuntimeHoldReason::WorkerRegistry(HoldReason::WorkerDeposit),
        &who,
    )
}

fn free(who: AccountId) -> Balance {
    Balances::balance(&who)
}

fn info(id: WorkerId) -> WorkerInfoOf<Test> {
    Workers::<Test>::get(id).expect("worker exists")
}

fn status(id: WorkerId) -> WorkerStatus {
    info(id).status
}

fn agent(id: WorkerId) -> RuntimeOrigin {
    RuntimeOrigin::signed(info(id).spec.agent)
}

fn last_event() -> Event<Test> {
    registry_events().pop().expect("a registry event")
}

fn find(model: GpuModel, gpus: u32, max_price: Balance) -> Option<WorkerId> {
    <Registry as RegistryApi<AccountId, Balance>>::find_cheapest(model, gpus, max_price).worker
}

fn reserve(id: WorkerId, gpus: u32) -> Result<(), DispatchError> {
    <Registry as RegistryApi<AccountId, Balance>>::reserve_gpus(id, gpus)
}

fn release(id: WorkerId, gpus: u32) {
    <Registry as RegistryApi<AccountId, Balance>>::release_gpus(id, gpus)
}

fn summary(id: WorkerId) -> Option<WorkerSummary<AccountId, Balance>> {
    <Registry as RegistryApi<AccountId, Balance>>::worker(id)
}

fn set_hook_releases(gpus: u32) {
    HOOK_RELEASES.with(|r| *r.borrow_mut() = gpus);
}

/// Move to block `n` without running the sweep (to observe overdue, unswept workers).
fn jump_to(n: u64) {
    System::set_block_number(n);
}

fn heartbeat(id: WorkerId) {
    assert_ok!(Registry::heartbeat(agent(id), id, 0));
}

fn deregister(id: WorkerId) {
    assert_ok!(Registry::deregister_worker(
        RuntimeOrigin::signed(info(id).provider),
        id
    ));
}

fn count_with(status: WorkerStatus) -> usize {
    Workers::<Test>::iter()
        .filter(|(_, w)| w.status == status)
        .count()
}

fn endpoint(bytes: &[u8]) -> EndpointOf<Test> {
    BoundedVec::try_from(bytes.to_vec()).expect("within bound")
}

/// A spec type with looser bounds: encodes like [`WorkerSpecOf<Test>`], so it can build call
/// bytes that the runtime must refuse to decode.
type LooseSpec = WorkerSpec<AccountId, Balance, ConstU32<64>, ConstU32<64>, ConstU32<64>>;

fn loose_spec(gpus: u32, region_len: usize, endpoint_len: usize) -> LooseSpec {
    WorkerSpec {
        host_class: HostClass::Pc,
        gpus: BoundedVec::truncate_from(
            (0..gpus)
                .map(|i| GpuDevice {
                    model: RTX,
                    vram_mib: 8_192,
                    uuid_hash: uuid(9, i),
                })
                .collect(),
        ),
        cpu_cores: 8,
        ram_mib: 16_384,
        disk_gib: 500,
        region: BoundedVec::truncate_from(vec![b'r'; region_len]),
        price_per_gpu_hour: 10,
        endpoint: BoundedVec::truncate_from(vec![b'e'; endpoint_len]),
        agent: agent_of(9),
    }
}

/// Pallet index of the registry in the mock runtime.
const PALLET_INDEX: u8 = 2;

fn register_call_bytes(spec: &LooseSpec) -> Vec<u8> {
    let mut bytes = vec![PALLET_INDEX, 0];
    spec.encode_to(&mut bytes);
    bytes
}

fn update_call_bytes(
    id: WorkerId,
    price: Option<Balance>,
    endpoint: Option<BoundedVec<u8, ConstU32<64>>>,
) -> Vec<u8> {
    let mut bytes = vec![PALLET_INDEX, 5];
    (id, price, endpoint).encode_to(&mut bytes);
    bytes
}

// ---- register_worker ----

#[test]
fn register_worker_charges_fee_to_treasury_holds_deposit_and_stores_pending_worker() {
    ExtBuilder::default().build_and_execute(|| {
        let issuance = Balances::total_issuance();
        let spec = spec_with(RTX, 2, 50, agent_of(1), 1);
        assert_ok!(Registry::register_worker(
            RuntimeOrigin::signed(ALICE),
            spec.clone()
        ));

        assert_eq!(free(ALICE), INITIAL - FEE - DEPOSIT);
        assert_eq!(held(ALICE), DEPOSIT);
        assert_eq!(free(TREASURY), INITIAL + FEE);
        assert_eq!(Balances::total_issuance(), issuance);
        assert_eq!(
            info(0),
            WorkerInfo {
                provider: ALICE,
                spec,
                status: WorkerStatus::PendingVerification,
                reserved_gpus: 0,
                reported_free_gpus: 0,
                deposit: DEPOSIT,
                registered_at: 1,
                last_heartbeat: 1,
                indexed: false,
                unlock_at: None,
                paused: false,
                pending_expires_at: Some(1 + PENDING_TIMEOUT),
            }
        );
        assert_eq!(NextWorkerId::<Test>::get(), 1);
        assert_eq!(GpuOwner::<Test>::get(uuid(1, 0)), Some(0));
        assert_eq!(GpuOwner::<Test>::get(uuid(1, 1)), Some(0));
        assert_eq!(WorkerByAgent::<Test>::get(agent_of(1)), Some(0));
        assert!(index_of(RTX).is_empty());
        assert_eq!(find(RTX, 1, 1_000), None);
        assert_eq!(
            last_event(),
            Event::WorkerRegistered {
                worker_id: 0,
                provider: ALICE,
                agent: agent_of(1),
                gpu_model: RTX,
                gpu_count: 2,
                price_per_gpu_hour: 50,
                fee: FEE,
                deposit: DEPOSIT,
            }
        );
    });
}

#[test]
fn register_worker_burns_fee_when_no_destination_is_configured() {
    ExtBuilder::default().build_and_execute(|| {
        FeeDest::set(None);
        let issuance = Balances::total_issuance();
        register(ALICE, 50, 1);
        assert_eq!(Balances::total_issuance(), issuance - FEE);
        assert_eq!(free(ALICE), INITIAL - FEE - DEPOSIT);
        assert_eq!(held(ALICE), DEPOSIT);
        assert_eq!(free(TREASURY), INITIAL);
    });
}

#[test]
fn register_worker_with_zero_fee_charges_only_the_deposit() {
    ExtBuilder::default().build_and_execute(|| {
        RegFee::set(0);
        let issuance = Balances::total_issuance();
        register(ALICE, 50, 1);
        assert_eq!(free(ALICE), INITIAL - DEPOSIT);
        assert_eq!(free(TREASURY), INITIAL);
        assert_eq!(Balances::total_issuance(), issuance);
        assert!(matches!(
            last_event(),
            Event::WorkerRegistered { fee: 0, .. }
        ));
    });
}

#[test]
fn register_worker_with_zero_deposit_holds_nothing_and_withdraws_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        DepositAmount::set(0);
        let id = register(ALICE, 50, 1);
        assert_eq!(held(ALICE), 0);
        assert_eq!(info(id).deposit, 0);
        deregister(id);
        run_to_block(1 + UNBONDING);
        assert_ok!(Registry::withdraw_deposit(RuntimeOrigin::signed(ALICE), id));
        assert_eq!(
            last_event(),
            Event::DepositWithdrawn {
                worker_id: id,
                provider: ALICE,
                deposit: 0
            }
        );
        assert_eq!(free(ALICE), INITIAL - FEE);
    });
}

#[test]
fn register_worker_accepts_every_host_class_and_maximal_specs() {
    ExtBuilder::default().build_and_execute(|| {
        let classes = [
            HostClass::Pc,
            HostClass::Laptop,
            HostClass::Server,
            HostClass::BareMetal,
        ];
        for (seed, class) in classes.into_iter().enumerate() {
            let seed = seed as u64 + 1;
            let mut spec = spec_with(H100, MAX_GPUS, 7, agent_of(seed), seed);
            spec.host_class = class;
            spec.region = BoundedVec::truncate_from(vec![b'r'; MAX_REGION as usize]);
            spec.endpoint = BoundedVec::truncate_from(vec![b'e'; MAX_ENDPOINT as usize]);
            let id = NextWorkerId::<Test>::get();
            assert_ok!(Registry::register_worker(
                RuntimeOrigin::signed(BOB),
                spec.clone()
            ));
            assert_eq!(info(id).spec, spec);
            assert_eq!(info(id).spec.gpu_count(), MAX_GPUS);
        }
        // An empty region means "unspecified" and is fine.
        let mut spec = spec_with(RTX, 1, 7, agent_of(9), 9);
        spec.region = BoundedVec::new();
        assert_ok!(Registry::register_worker(RuntimeOrigin::signed(BOB), spec));
        assert_eq!(held(BOB), 5 * DEPOSIT);
        assert_eq!(NextWorkerId::<Test>::get(), 5);
    });
}

#[test]
fn register_worker_requires_a_signed_origin() {
    ExtBuilder::default().build_and_execute(|| {
        let spec = spec_with(RTX, 2, 50, agent_of(1), 1);
        assert_noop!(
            Registry::register_worker(RuntimeOrigin::root(), spec.clone()),
            BadOrigin
        );
        assert_noop!(
            Registry::register_worker(RuntimeOrigin::none(), spec),
            BadOrigin
        );
    });
}

#[test]
fn register_worker_rejects_invalid_specs() {
    ExtBuilder::default().build_and_execute(|| {
        let origin = || RuntimeOrigin::signed(ALICE);
        let valid = spec_with(RTX, 2, 50, agent_of(1), 1);

        let mut spec = valid.clone();
        spec.gpus = BoundedVec::new();
        assert_noop!(
            Registry::register_worker(origin(), spec),
            Error::<Test>::NoGpus
        );

        let mut spec = valid.clone();
        spec.gpus[1].model = H100;
        assert_noop!(
            Registry::register_worker(origin(), spec),
            Error::<Test>::MixedGpuModels
        );

        let mut spec = valid.clone();
        spec.gpus[1].uuid_hash = spec.gpus[0].uuid_hash;
        assert_noop!(
            Registry::register_worker(origin(), spec),
            Error::<Test>::DuplicateGpuInSpec
        );

        let mut spec = valid.clone();
        spec.price_per_gpu_hour = 0;
        assert_noop!(
            Registry::register_worker(origin(), spec),
            Error::<Test>::ZeroPrice
        );

        let mut spec = valid.clone();
        spec.endpoint = BoundedVec::new();
        assert_noop!(
            Registry::register_worker(origin(), spec),
            Error::<Test>::EmptyEndpoint
        );

        assert_ok!(Registry::register_worker(origin(), valid));
    });
}

#[test]
fn register_worker_replay_fails_on_registered_gpus_and_agent() {
    ExtBuilder::default().build_and_execute(|| {
        let spec = spec_with(RTX, 2, 50, agent_of(1), 1);
        assert_ok!(Registry::register_worker(
            RuntimeOrigin::signed(ALICE),
            spec.clone()
        ));
        // The same call again, by the same or another provider.
        assert_noop!(
            Registry::register_worker(RuntimeOrigin::signed(ALICE), spec.clone()),
            Error::<Test>::GpuAlreadyRegistered
        );
        assert_noop!(
            Registry::register_worker(RuntimeOrigin::signed(BOB), spec.clone()),
            Error::<Test>::GpuAlreadyRegistered
        );
        // One GPU shared with the registered worker is enough to refuse.
        let mut shares_a_gpu = spec_with(RTX, 2, 50, agent_of(2), 2);
        shares_a_gpu.gpus[1].uuid_hash = uuid(1, 1);
        assert_noop!(
            Registry::register_worker(RuntimeOrigin::signed(BOB), shares_a_gpu),
            Error::<Test>::GpuAlreadyRegistered
        );
        // New GPUs, but the agent key already acts for worker 0.
        assert_noop!(
            Registry::register_worker(
                RuntimeOrigin::signed(BOB),
                spec_with(RTX, 2, 50, agent_of(1), 2)
            ),
            Error::<Test>::AgentInUse
        );
        assert_eq!(NextWorkerId::<Test>::get(), 1);
    });
}

#[test]
fn register_worker_with_too_large_spec_does_not_decode() {
    ExtBuilder::default().build_and_execute(|| {
        // The byte layout is the real call's: a spec within bounds decodes to it.
        let fits = loose_spec(MAX_GPUS, MAX_REGION as usize, MAX_ENDPOINT as usize);
        let bytes = register_call_bytes(&fits);
        let call = RuntimeCall::decode(&mut &bytes[..]).expect("within bounds decodes");
        let expected = spec_with(RTX, 1, 10, agent_of(9), 9);
        assert!(matches!(
            &call,
            RuntimeCall::WorkerRegistry(Call::register_worker { spec })
                if spec.gpu_count() == MAX_GPUS && spec.agent == expected.agent
        ));
        assert_eq!(call.encode(), bytes);

        for too_large in [
            loose_spec(MAX_GPUS + 1, 1, 1),
            loose_spec(1, MAX_REGION as usize + 1, 1),
            loose_spec(1, 1, MAX_ENDPOINT as usize + 1),
        ] {
            assert!(RuntimeCall::decode(&mut &register_call_bytes(&too_large)[..]).is_err());
        }
    });
}

#[test]
fn register_worker_without_funds_for_fee_and_deposit_charges_nothing() {
    ExtBuilder::default().build_and_execute(|| {
        // POOR can pay the fee but then not hold the deposit: the fee transfer is undone.
        assert_noop!(
            Registry::register_worker(
                RuntimeOrigin::signed(POOR),
                spec_with(RTX, 2, 50, agent_of(1), 1)
            ),
            TokenError::FundsUnavailable
        );
        FeeDest::set(None);
        assert_noop!(
            Registry::register_worker(
                RuntimeOrigin::signed(POOR),
                spec_with(RTX, 2, 50, agent_of(1), 1)
            ),
            TokenError::FundsUnavailable
        );
        // An account that does not exist cannot pay the fee at all.
        assert!(Registry::register_worker(
            RuntimeOrigin::signed(12_345),
            spec_with(RTX, 2, 50, agent_of(1), 1)
        )
        .is_err());
        assert_eq!(free(POOR), FEE + DEPOSIT - 1);
        assert_eq!(held(POOR), 0);
    });
}

// ---- development-only models (GpuModel::DevCpu) ----

#[test]
fn dev_cpu_worker_is_refused_by_default_and_nothing_moves() {
    ExtBuilder::default().build_and_execute(|| {
        assert!(!DevModelsEnabled::<Test>::get());
        let before = free(ALICE);
        assert_noop!(
            Registry::register_worker(
                RuntimeOrigin::signed(ALICE),
                spec_with(GpuModel::DevCpu, 1, 50, agent_of(1), 1)
            ),
            Error::<Test>::DevModelNotEnabled
        );
        assert_eq!(free(ALICE), before);
        assert_eq!(held(ALICE), 0);
        assert!(!GpuOwner::<Test>::contains_key(uuid(1, 0)));
        // A dev model mixed into a GPU spec is refused too (as mixed models, first).
        let mut spec = spec_with(RTX, 2, 50, agent_of(2), 2);
        spec.gpus[0].model = GpuModel::DevCpu;
        assert_noop!(
            Registry::register_worker(RuntimeOrigin::signed(ALICE), spec),
            Error::<Test>::MixedGpuModels
        );
        // Real models still register on a chain without dev models.
        register(ALICE, 50, 3);
    });
}

#[test]
fn dev_cpu_worker_registers_and_is_matched_when_genesis_enables_dev_models() {
    ExtBuilder::default()
        .with_dev_models()
        .build_and_execute(|| {
            assert!(DevModelsEnabled::<Test>::get());
            let id = register_model(ALICE, GpuModel::DevCpu, 1, 50, 1);
            assert_eq!(info(id).spec.gpus[0].model, GpuModel::DevCpu);
            assert_eq!(held(ALICE), DEPOSIT);
            assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), id));
            // An order for DevCpu matches the DevCpu worker, and only such an order.
            assert_eq!(index_of(GpuModel::DevCpu), vec![(50, id)]);
            assert_eq!(find(GpuModel::DevCpu, 1, 50), Some(id));
            assert_eq!(find(RTX, 1, 1_000), None);
            let rtx = register_active(BOB, 10, 2);
            assert_eq!(find(RTX, 1, 1_000), Some(rtx));
            assert_eq!(find(GpuModel::DevCpu, 1, 1_000), Some(id));
        });
}

#[test]
fn dev_models_flag_is_set_only_by_genesis() {
    // The genesis config's default refuses dev models; no call changes the flag (there is no
    // call taking it, so this is the storage as each genesis leaves it).
    assert!(!GenesisConfig::<Test>::default().dev_models);
    new_test_ext().execute_with(|| assert!(!DevModelsEnabled::<Test>::get()));
    new_test_ext_with(true).execute_with(|| assert!(DevModelsEnabled::<Test>::get()));
}

// ---- verify_worker ----

#[test]
fn verify_worker_activates_and_indexes_a_pending_worker() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(ALICE, 50, 1);
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), id));
        assert_eq!(status(id), WorkerStatus::Active);
        assert!(info(id).indexed);
        assert_eq!(index_of(RTX), vec![(50, id)]);
        assert_eq!(find(RTX, 2, 50), Some(id));
        assert_eq!(
            last_event(),
            Event::WorkerVerified {
                worker_id: id,
                status: WorkerStatus::Active
            }
        );
    });
}

#[test]
fn verify_worker_leaves_an_overdue_worker_offline_until_it_heartbeats() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(ALICE, 50, 1);
        jump_to(2 + TIMEOUT);
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), id));
        assert_eq!(status(id), WorkerStatus::Offline);
        assert!(!info(id).indexed);
        assert_eq!(
            last_event(),
            Event::WorkerVerified {
                worker_id: id,
                status: WorkerStatus::Offline
            }
        );
        // Nothing was running: going Offline at verification does not call the hook.
        assert!(hook_calls().is_empty());

        heartbeat(id);
        assert_eq!(status(id), WorkerStatus::Active);
        assert_eq!(index_of(RTX), vec![(50, id)]);
        assert!(registry_events().contains(&Event::WorkerBackOnline { worker_id: id }));
    });
}

#[test]
fn verify_worker_requires_the_verifier_origin() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(ALICE, 50, 1);
        for who in [ALICE, agent_of(1), CHARLIE] {
            assert_noop!(
                Registry::verify_worker(RuntimeOrigin::signed(who), id),
                BadOrigin
            );
        }
        assert_noop!(
            Registry::verify_worker(RuntimeOrigin::none(), id),
            BadOrigin
        );
    });
}

#[test]
fn verify_worker_replay_and_wrong_states_are_invalid() {
    ExtBuilder::default().build_and_execute(|| {
        let active = register_active(ALICE, 50, 1);
        // Replay.
        assert_noop!(
            Registry::verify_worker(RuntimeOrigin::root(), active),
            Error::<Test>::InvalidWorkerState
        );

        let offline = register_active(ALICE, 60, 2);
        jump_to(2 + TIMEOUT);
        assert_ok!(Registry::report_offline(
            RuntimeOrigin::signed(CHARLIE),
            offline
        ));
        assert_noop!(
            Registry::verify_worker(RuntimeOrigin::root(), offline),
            Error::<Test>::InvalidWorkerState
        );

        let leaving = register(ALICE, 70, 3);
        deregister(leaving);
        assert_noop!(
            Registry::verify_worker(RuntimeOrigin::root(), leaving),
            Error::<Test>::InvalidWorkerState
        );
    });
}

#[test]
fn verify_worker_of_an_unknown_id_is_not_found() {
    ExtBuilder::default().build_and_execute(|| {
        register(ALICE, 50, 1);
        for id in [1, WorkerId::MAX] {
            assert_noop!(
                Registry::verify_worker(RuntimeOrigin::root(), id),
                Error::<Test>::WorkerNotFound
            );
        }
    });
}

#[test]
fn verify_worker_lifts_a_suspension() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        assert_ok!(Registry::suspend_worker(RuntimeOrigin::root(), id));
        assert!(index_of(RTX).is_empty());
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), id));
        assert_eq!(status(id), WorkerStatus::Active);
        assert_eq!(index_of(RTX), vec![(50, id)]);
    });
}

#[test]
fn verification_trait_verifies_and_suspends() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(ALICE, 50, 1);
        assert_ok!(<Registry as WorkerVerification>::verify(id));
        assert_eq!(status(id), WorkerStatus::Active);
        assert_noop!(
            <Registry as WorkerVerification>::verify(id),
            Error::<Test>::InvalidWorkerState
        );
        assert_ok!(<Registry as WorkerVerification>::suspend(id));
        assert_eq!(status(id), WorkerStatus::Suspended);
        assert_eq!(hook_calls(), vec![id]);
        assert_noop!(
            <Registry as WorkerVerification>::suspend(id),
            Error::<Test>::InvalidWorkerState
        );
        assert_noop!(
            <Registry as WorkerVerification>::verify(99),
            Error::<Test>::WorkerNotFound
        );
    });
}

// ---- suspend_worker ----

#[test]
fn suspend_worker_unindexes_and_tells_the_availability_hook() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        assert_ok!(reserve(id, 2));
        // The hook fails the worker's orders, which gives their GPUs back.
        set_hook_releases(2);
        assert_eq!(
            Registry::suspend_worker(RuntimeOrigin::root(), id),
            Ok(PostDispatchInfo {
                actual_weight: Some(
                    <Weights as WeightInfo>::suspend_worker().saturating_add(HOOK_WEIGHT)
                ),
                pays_fee: Pays::Yes,
            })
        );
        assert_eq!(status(id), WorkerStatus::Suspended);
        assert!(!info(id).indexed);
        assert!(!PriceIndex::<Test>::contains_key(RTX));
        assert_eq!(hook_calls(), vec![id]);
        assert_eq!(info(id).reserved_gpus, 0);
        let events = registry_events();
        assert!(events.ends_with(&[
            Event::WorkerSuspended { worker_id: id },
            Event::GpusReleased {
                worker_id: id,
                gpus: 2
            },
        ]));
        assert_eq!(find(RTX, 1, 1_000), None);
        assert_noop!(reserve(id, 1), Error::<Test>::WorkerNotActive);
    });
}

#[test]
fn suspend_worker_applies_to_pending_and_offline_workers() {
    ExtBuilder::default().build_and_execute(|| {
        let pending = register(ALICE, 50, 1);
        let offline = register_active(ALICE, 60, 2);
        jump_to(2 + TIMEOUT);
        assert_ok!(Registry::report_offline(
            RuntimeOrigin::signed(CHARLIE),
            offline
        ));
        for id in [pending, offline] {
            assert_ok!(Registry::suspend_worker(RuntimeOrigin::root(), id));
            assert_eq!(status(id), WorkerStatus::Suspended);
        }
        assert_eq!(hook_calls(), vec![offline, pending, offline]);
    });
}

#[test]
fn suspend_worker_requires_the_verifier_origin() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        for who in [ALICE, agent_of(1), CHARLIE] {
            assert_noop!(
                Registry::suspend_worker(RuntimeOrigin::signed(who), id),
                BadOrigin
            );
        }
        assert_noop!(
            Registry::suspend_worker(RuntimeOrigin::none(), id),
            BadOrigin
        );
        assert!(hook_calls().is_empty());
    });
}

#[test]
fn suspend_worker_replay_and_deregistering_worker_are_invalid() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        assert_ok!(Registry::suspend_worker(RuntimeOrigin::root(), id));
        assert_noop!(
            Registry::suspend_worker(RuntimeOrigin::root(), id),
            Error::<Test>::InvalidWorkerState
        );
        let leaving = register_active(ALICE, 60, 2);
        deregister(leaving);
        assert_noop!(
            Registry::suspend_worker(RuntimeOrigin::root(), leaving),
            Error::<Test>::InvalidWorkerState
        );
        assert_eq!(hook_calls(), vec![id]);
    });
}

#[test]
fn suspend_worker_of_an_unknown_id_is_not_found() {
    ExtBuilder::default().build_and_execute(|| {
        for id in [0, WorkerId::MAX] {
            assert_noop!(
                Registry::suspend_worker(RuntimeOrigin::root(), id),
                Error::<Test>::WorkerNotFound
            );
        }
    });
}

// ---- heartbeat ----

#[test]
fn heartbeat_records_liveness_and_reported_free_gpus() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        jump_to(5);
        assert_ok!(Registry::heartbeat(agent(id), id, 1));
        assert_eq!(info(id).last_heartbeat, 5);
        assert_eq!(info(id).reported_free_gpus, 1);
        assert_eq!(status(id), WorkerStatus::Active);
        assert_eq!(
            last_event(),
            Event::Heartbeat {
                worker_id: id,
                free_gpus_reported: 1
            }
        );
        // Matching uses the chain's own reservations, not the report.
        assert_eq!(summary(id).unwrap().free_gpus, 2);
        // Heartbeating keeps the worker active past the original timeout.
        run_to_block(5 + TIMEOUT);
        assert_eq!(status(id), WorkerStatus::Active);
    });
}

#[test]
fn heartbeat_brings_an_offline_worker_back_into_the_index() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        run_to_block(2 + TIMEOUT + SWEEP as u64);
        assert_eq!(status(id), WorkerStatus::Offline);
        assert!(index_of(RTX).is_empty());
        assert_ok!(Registry::heartbeat(agent(id), id, 2));
        assert_eq!(status(id), WorkerStatus::Active);
        assert_eq!(index_of(RTX), vec![(50, id)]);
        assert!(registry_events().ends_with(&[
            Event::WorkerBackOnline { worker_id: id },
            Event::Heartbeat {
                worker_id: id,
                free_gpus_reported: 2
            },
        ]));
        assert_eq!(find(RTX, 2, 50), Some(id));
    });
}

#[test]
fn heartbeat_of_a_pending_worker_keeps_it_pending_and_fresh() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(ALICE, 50, 1);
        jump_to(1 + TIMEOUT);
        heartbeat(id);
        assert_eq!(status(id), WorkerStatus::PendingVerification);
        assert!(index_of(RTX).is_empty());
        // Fresh thanks to the heartbeat: verification activates it.
        jump_to(2 + TIMEOUT);
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), id));
        assert_eq!(status(id), WorkerStatus::Active);
    });
}

#[test]
fn heartbeat_only_from_the_workers_agent() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        let other = register_active(BOB, 60, 2);
        jump_to(2);
        // The provider, another worker's agent, a stranger.
        for who in [ALICE, info(other).spec.agent, CHARLIE] {
            assert_noop!(
                Registry::heartbeat(RuntimeOrigin::signed(who), id, 0),
                Error::<Test>::NotWorkerAgent
            );
        }
        assert_noop!(Registry::heartbeat(RuntimeOrigin::root(), id, 0), BadOrigin);
        assert_noop!(Registry::heartbeat(RuntimeOrigin::none(), id, 0), BadOrigin);
    });
}

#[test]
fn heartbeat_of_suspended_or_deregistering_worker_is_invalid() {
    ExtBuilder::default().build_and_execute(|| {
        let suspended = register_active(ALICE, 50, 1);
        let leaving = register_active(ALICE, 60, 2);
        assert_ok!(Registry::suspend_worker(RuntimeOrigin::root(), suspended));
        deregister(leaving);
        jump_to(2);
        for id in [suspended, leaving] {
            assert_noop!(
                Registry::heartbeat(agent(id), id, 0),
                Error::<Test>::InvalidWorkerState
            );
        }
    });
}

#[test]
fn heartbeat_replay_in_the_same_block_is_too_soon() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        // Registration counts as the heartbeat of block 1.
        assert_noop!(
            Registry::heartbeat(agent(id), id, 0),
            Error::<Test>::HeartbeatTooSoon
        );
        jump_to(2);
        assert_ok!(Registry::heartbeat(agent(id), id, 0));
        assert_noop!(
            Registry::heartbeat(agent(id), id, 0),
            Error::<Test>::HeartbeatTooSoon
        );
        jump_to(3);
        assert_ok!(Registry::heartbeat(agent(id), id, 0));
    });
}

#[test]
fn heartbeat_reporting_more_free_gpus_than_the_worker_has_fails() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        jump_to(2);
        for reported in [3, u32::MAX] {
            assert_noop!(
                Registry::heartbeat(agent(id), id, reported),
                Error::<Test>::ReportedGpusExceedTotal
            );
        }
        assert_ok!(Registry::heartbeat(agent(id), id, 2));
    });
}

#[test]
fn heartbeat_for_an_unknown_worker_is_not_found() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(
            Registry::heartbeat(RuntimeOrigin::signed(agent_of(1)), WorkerId::MAX, 0),
            Error::<Test>::WorkerNotFound
        );
    });
}

// ---- report_offline ----

#[test]
fn report_offline_takes_an_overdue_worker_offline_free_of_fees() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        jump_to(2 + TIMEOUT);
        assert_eq!(
            Registry::report_offline(RuntimeOrigin::signed(CHARLIE), id),
            Ok(PostDispatchInfo {
                actual_weight: Some(
                    <Weights as WeightInfo>::report_offline().saturating_add(HOOK_WEIGHT)
                ),
                pays_fee: Pays::No,
            })
        );
        assert_eq!(status(id), WorkerStatus::Offline);
        assert!(index_of(RTX).is_empty());
        assert_eq!(hook_calls(), vec![id]);
        assert_eq!(
            last_event(),
            Event::WorkerWentOffline {
                worker_id: id,
                reporter: Some(CHARLIE)
            }
        );
    });
}

#[test]
fn report_offline_of_a_worker_within_its_timeout_is_not_overdue() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        jump_to(1 + TIMEOUT);
        assert_noop!(
            Registry::report_offline(RuntimeOrigin::signed(CHARLIE), id),
            Error::<Test>::NotOverdue
        );
        // Heartbeat at block 1 + TIMEOUT: overdue from 2 + 2 * TIMEOUT on.
        heartbeat(id);
        jump_to(1 + 2 * TIMEOUT);
        assert_noop!(
            Registry::report_offline(RuntimeOrigin::signed(CHARLIE), id),
            Error::<Test>::NotOverdue
        );
        jump_to(2 + 2 * TIMEOUT);
        assert_ok!(Registry::report_offline(RuntimeOrigin::signed(CHARLIE), id));
    });
}

#[test]
fn report_offline_replay_and_non_active_workers_are_invalid() {
    ExtBuilder::default().build_and_execute(|| {
        let active = register_active(ALICE, 50, 1);
        let pending = register(ALICE, 60, 2);
        let suspended = register_active(ALICE, 70, 3);
        let leaving = register_active(ALICE, 80, 4);
        assert_ok!(Registry::suspend_worker(RuntimeOrigin::root(), suspended));
        deregister(leaving);
        jump_to(2 + TIMEOUT);
        assert_ok!(Registry::report_offline(
            RuntimeOrigin::signed(CHARLIE),
            active
        ));
        // Replay, and the overdue workers that are not Active.
        for id in [active, pending, suspended, leaving] {
            assert_noop!(
                Registry::report_offline(RuntimeOrigin::signed(BOB), id),
                Error::<Test>::InvalidWorkerState
            );
        }
        assert_eq!(hook_calls(), vec![suspended, active]);
    });
}

#[test]
fn report_offline_requires_a_signed_origin() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        jump_to(2 + TIMEOUT);
        assert_noop!(
            Registry::report_offline(RuntimeOrigin::root(), id),
            BadOrigin
        );
        assert_noop!(
            Registry::report_offline(RuntimeOrigin::none(), id),
            BadOrigin
        );
        // Anyone signed may report, the provider and the agent included.
        assert_ok!(Registry::report_offline(agent(id), id));
    });
}

#[test]
fn report_offline_of_an_unknown_worker_is_not_found() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(
            Registry::report_offline(RuntimeOrigin::signed(CHARLIE), WorkerId::MAX),
            Error::<Test>::WorkerNotFound
        );
    });
}

// ---- update_worker ----

#[test]
fn update_worker_price_resorts_the_index() {
    ExtBuilder::default().build_and_execute(|| {
        let a = register_active(ALICE, 10, 1);
        let b = register_active(ALICE, 20, 2);
        let c = register_active(BOB, 30, 3);
        assert_eq!(find(RTX, 1, 100), Some(a));
        assert_ok!(Registry::update_worker(
            RuntimeOrigin::signed(ALICE),
            a,
            Some(25),
            None
        ));
        assert_eq!(index_of(RTX), vec![(20, b), (25, a), (30, c)]);
        assert_eq!(info(a).spec.price_per_gpu_hour, 25);
        assert_eq!(find(RTX, 1, 100), Some(b));
        assert_eq!(
            last_event(),
            Event::WorkerUpdated {
                worker_id: a,
                price_per_gpu_hour: 25,
                endpoint_updated: false
            }
        );
    });
}

#[test]
fn update_worker_endpoint_keeps_price_and_index() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        assert_ok!(Registry::update_worker(
            RuntimeOrigin::signed(ALICE),
            id,
            None,
            Some(endpoint(b"10.0.0.1:443"))
        ));
        assert_eq!(info(id).spec.endpoint, endpoint(b"10.0.0.1:443"));
        assert_eq!(index_of(RTX), vec![(10, id)]);
        assert_eq!(
            last_event(),
            Event::WorkerUpdated {
                worker_id: id,
                price_per_gpu_hour: 10,
                endpoint_updated: true
            }
        );
        // Both at once, with a maximal endpoint.
        let longest = endpoint(&[b'x'; MAX_ENDPOINT as usize]);
        assert_ok!(Registry::update_worker(
            RuntimeOrigin::signed(ALICE),
            id,
            Some(12),
            Some(longest.clone())
        ));
        assert_eq!(info(id).spec.endpoint, longest);
        assert_eq!(index_of(RTX), vec![(12, id)]);
    });
}

#[test]
fn update_worker_to_a_cheaper_price_lets_an_unindexed_worker_evict() {
    ExtBuilder::default().build_and_execute(|| {
        let a = register_active(ALICE, 10, 1);
        let b = register_active(ALICE, 20, 2);
        let c = register_active(ALICE, 30, 3);
        let d = register_active(ALICE, 40, 4);
        assert!(!info(d).indexed);
        assert_ok!(Registry::update_worker(
            RuntimeOrigin::signed(ALICE),
            d,
            Some(5),
            None
        ));
        assert_eq!(index_of(RTX), vec![(5, d), (10, a), (20, b)]);
        assert!(info(d).indexed);
        assert!(!info(c).indexed);
        assert!(registry_events().contains(&Event::EvictedFromIndex {
            worker_id: c,
            gpu_model: RTX,
            by: d
        }));
    });
}

#[test]
fn update_worker_of_a_non_active_worker_does_not_index_it() {
    ExtBuilder::default().build_and_execute(|| {
        let pending = register(ALICE, 10, 1);
        let suspended = register_active(ALICE, 20, 2);
        assert_ok!(Registry::suspend_worker(RuntimeOrigin::root(), suspended));
        for id in [pending, suspended] {
            assert_ok!(Registry::update_worker(
                RuntimeOrigin::signed(ALICE),
                id,
                Some(7),
                None
            ));
            assert_eq!(info(id).spec.price_per_gpu_hour, 7);
            assert!(!info(id).indexed);
        }
        assert!(index_of(RTX).is_empty());
        // Verification indexes the new price.
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), pending));
        assert_eq!(index_of(RTX), vec![(7, pending)]);
    });
}

#[test]
fn update_worker_only_by_the_provider() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        for who in [agent_of(1), BOB, TREASURY] {
            assert_noop!(
                Registry::update_worker(RuntimeOrigin::signed(who), id, Some(5), None),
                Error::<Test>::NotProvider
            );
        }
        assert_noop!(
            Registry::update_worker(RuntimeOrigin::root(), id, Some(5), None),
            BadOrigin
        );
        assert_noop!(
            Registry::update_worker(RuntimeOrigin::none(), id, Some(5), None),
            BadOrigin
        );
    });
}

#[test]
fn update_worker_of_a_deregistering_worker_is_invalid() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        deregister(id);
        assert_noop!(
            Registry::update_worker(RuntimeOrigin::signed(ALICE), id, Some(5), None),
            Error::<Test>::InvalidWorkerState
        );
    });
}

#[test]
fn update_worker_rejects_empty_zero_and_missing_changes() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        let origin = || RuntimeOrigin::signed(ALICE);
        assert_noop!(
            Registry::update_worker(origin(), id, None, None),
            Error::<Test>::NothingToUpdate
        );
        assert_noop!(
            Registry::update_worker(origin(), id, Some(0), None),
            Error::<Test>::ZeroPrice
        );
        assert_noop!(
            Registry::update_worker(origin(), id, None, Some(BoundedVec::new())),
            Error::<Test>::EmptyEndpoint
        );
        // A bad half spoils the whole update.
        assert_noop!(
            Registry::update_worker(origin(), id, Some(5), Some(BoundedVec::new())),
            Error::<Test>::EmptyEndpoint
        );
        assert_noop!(
            Registry::update_worker(origin(), WorkerId::MAX, Some(5), None),
            Error::<Test>::WorkerNotFound
        );
    });
}

#[test]
fn update_worker_with_too_long_endpoint_does_not_decode() {
    ExtBuilder::default().build_and_execute(|| {
        let fits = BoundedVec::truncate_from(vec![b'e'; MAX_ENDPOINT as usize]);
        let bytes = update_call_bytes(0, Some(5), Some(fits));
        let call = RuntimeCall::decode(&mut &bytes[..]).expect("within bounds decodes");
        assert_eq!(
            call,
            RuntimeCall::WorkerRegistry(Call::update_worker {
                worker_id: 0,
                price_per_gpu_hour: Some(5),
                endpoint: Some(endpoint(&[b'e'; MAX_ENDPOINT as usize])),
            })
        );
        let too_long = BoundedVec::truncate_from(vec![b'e'; MAX_ENDPOINT as usize + 1]);
        assert!(RuntimeCall::decode(&mut &update_call_bytes(0, None, Some(too_long))[..]).is_err());
    });
}

#[test]
fn update_worker_replay_is_idempotent() {
    ExtBuilder::default().build_and_execute(|| {
        let a = register_active(ALICE, 10, 1);
        let b = register_active(ALICE, 20, 2);
        for _ in 0..2 {
            assert_ok!(Registry::update_worker(
                RuntimeOrigin::signed(ALICE),
                a,
                Some(30),
                Some(endpoint(b"new:1"))
            ));
            assert_eq!(index_of(RTX), vec![(20, b), (30, a)]);
            assert_eq!(info(a).spec.endpoint, endpoint(b"new:1"));
        }
    });
}

// ---- deregister_worker ----

#[test]
fn deregister_worker_starts_unbonding_and_leaves_the_index() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        jump_to(3);
        deregister(id);
        assert_eq!(status(id), WorkerStatus::Deregistering);
        assert_eq!(info(id).unlock_at, Some(3 + UNBONDING));
        assert!(index_of(RTX).is_empty());
        assert_eq!(held(ALICE), DEPOSIT);
        assert_eq!(
            last_event(),
            Event::WorkerDeregistering {
                worker_id: id,
                unlock_at: 3 + UNBONDING
            }
        );
        assert_eq!(find(RTX, 1, 100), None);
        assert_noop!(reserve(id, 1), Error::<Test>::WorkerNotActive);
        // No order can run on it, so the hook has nothing to do and is not called.
        assert!(hook_calls().is_empty());
        // The sweep leaves it alone.
        run_to_block(3 + TIMEOUT * 2);
        assert_eq!(status(id), WorkerStatus::Deregistering);
    });
}

#[test]
fn deregister_worker_from_pending_offline_and_suspended() {
    ExtBuilder::default().build_and_execute(|| {
        let pending = register(ALICE, 10, 1);
        let offline = register_active(ALICE, 20, 2);
        let suspended = register_active(ALICE, 30, 3);
        assert_ok!(Registry::suspend_worker(RuntimeOrigin::root(), suspended));
        jump_to(2 + TIMEOUT);
        assert_ok!(Registry::report_offline(
            RuntimeOrigin::signed(CHARLIE),
            offline
        ));
        for id in [pending, offline, suspended] {
            deregister(id);
            assert_eq!(status(id), WorkerStatus::Deregistering);
        }
    });
}

#[test]
fn deregister_worker_is_blocked_while_gpus_are_reserved() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        assert_ok!(reserve(id, 1));
        assert_noop!(
            Registry::deregister_worker(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::WorkerBusy
        );
        assert_ok!(reserve(id, 1));
        release(id, 1);
        assert_noop!(
            Registry::deregister_worker(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::WorkerBusy
        );
        release(id, 1);
        deregister(id);
    });
}

#[test]
fn deregister_worker_only_by_the_provider() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        for who in [agent_of(1), BOB] {
            assert_noop!(
                Registry::deregister_worker(RuntimeOrigin::signed(who), id),
                Error::<Test>::NotProvider
            );
        }
        assert_noop!(
            Registry::deregister_worker(RuntimeOrigin::root(), id),
            BadOrigin
        );
    });
}

#[test]
fn deregister_worker_replay_is_invalid_and_keeps_the_unlock_block() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        deregister(id);
        jump_to(5);
        assert_noop!(
            Registry::deregister_worker(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::InvalidWorkerState
        );
        assert_eq!(info(id).unlock_at, Some(1 + UNBONDING));
    });
}

#[test]
fn deregister_worker_of_an_unknown_id_is_not_found() {
    ExtBuilder::default().build_and_execute(|| {
        assert_noop!(
            Registry::deregister_worker(RuntimeOrigin::signed(ALICE), WorkerId::MAX),
            Error::<Test>::WorkerNotFound
        );
    });
}

// ---- withdraw_deposit ----

#[test]
fn withdraw_deposit_only_after_the_unbonding_period() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        deregister(id);
        run_to_block(UNBONDING);
        assert_noop!(
            Registry::withdraw_deposit(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::StillUnbonding
        );
        run_to_block(1 + UNBONDING);
        assert_eq!(
            Registry::withdraw_deposit(RuntimeOrigin::signed(ALICE), id),
            Ok(Some(<Weights as WeightInfo>::withdraw_deposit(2)).into())
        );
        assert_eq!(held(ALICE), 0);
        assert_eq!(free(ALICE), INITIAL - FEE);
        assert!(!Workers::<Test>::contains_key(id));
        assert!(!GpuOwner::<Test>::contains_key(uuid(1, 0)));
        assert!(!GpuOwner::<Test>::contains_key(uuid(1, 1)));
        assert!(!WorkerByAgent::<Test>::contains_key(agent_of(1)));
        assert_eq!(
            last_event(),
            Event::DepositWithdrawn {
                worker_id: id,
                provider: ALICE,
                deposit: DEPOSIT
            }
        );
        // The GPUs and the agent key can be registered again, under a new id.
        let again = register(BOB, 10, 1);
        assert_eq!(again, id + 1);
    });
}

#[test]
fn withdraw_deposit_requires_a_deregistering_worker() {
    ExtBuilder::default().build_and_execute(|| {
        let active = register_active(ALICE, 10, 1);
        let pending = register(ALICE, 20, 2);
        run_to_block(2 + UNBONDING);
        for id in [active, pending] {
            assert_noop!(
                Registry::withdraw_deposit(RuntimeOrigin::signed(ALICE), id),
                Error::<Test>::InvalidWorkerState
            );
        }
    });
}

#[test]
fn withdraw_deposit_only_by_the_provider() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        deregister(id);
        run_to_block(1 + UNBONDING);
        for who in [agent_of(1), BOB] {
            assert_noop!(
                Registry::withdraw_deposit(RuntimeOrigin::signed(who), id),
                Error::<Test>::NotProvider
            );
        }
        assert_noop!(
            Registry::withdraw_deposit(RuntimeOrigin::root(), id),
            BadOrigin
        );
    });
}

#[test]
fn withdraw_deposit_replay_finds_no_worker() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        deregister(id);
        run_to_block(1 + UNBONDING);
        assert_ok!(Registry::withdraw_deposit(RuntimeOrigin::signed(ALICE), id));
        assert_noop!(
            Registry::withdraw_deposit(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::WorkerNotFound
        );
        assert_noop!(
            Registry::withdraw_deposit(RuntimeOrigin::signed(ALICE), WorkerId::MAX),
            Error::<Test>::WorkerNotFound
        );
        assert_eq!(free(ALICE), INITIAL - FEE);
    });
}

#[test]
fn withdraw_deposit_releases_the_recorded_deposit_after_a_config_change() {
    ExtBuilder::default().build_and_execute(|| {
        let old = register_active(ALICE, 10, 1);
        DepositAmount::set(3 * DEPOSIT);
        let new = register_active(ALICE, 20, 2);
        assert_eq!(held(ALICE), 4 * DEPOSIT);
        deregister(old);
        run_to_block(1 + UNBONDING);
        assert_ok!(Registry::withdraw_deposit(
            RuntimeOrigin::signed(ALICE),
            old
        ));
        assert_eq!(held(ALICE), 3 * DEPOSIT);
        assert_eq!(info(new).deposit, 3 * DEPOSIT);
    });
}

// ---- the offline sweep ----

#[test]
fn sweep_takes_at_most_max_per_block_offline() {
    ExtBuilder::default().build_and_execute(|| {
        let ids: Vec<WorkerId> = (1..=7)
            .map(|seed| register_active(ALICE, 10, seed))
            .collect();
        // The sweep runs in every block but nobody is overdue yet.
        run_to_block(1 + TIMEOUT);
        assert_eq!(count_with(WorkerStatus::Active), 7);

        jump_to(2 + TIMEOUT);
        let used = Registry::on_initialize(2 + TIMEOUT);
        assert_eq!(count_with(WorkerStatus::Offline), SWEEP as usize);
        assert_eq!(
            used,
            <Weights as WeightInfo>::sweep(SWEEP).saturating_add(HOOK_WEIGHT.saturating_mul(3))
        );
        run_to_block(3 + TIMEOUT);
        assert_eq!(count_with(WorkerStatus::Offline), 2 * SWEEP as usize);
        // With 7 workers and 3 per block, every worker is visited within 3 blocks.
        run_to_block(4 + TIMEOUT);
        assert_eq!(count_with(WorkerStatus::Offline), 7);

        let mut called = hook_calls();
        called.sort();
        assert_eq!(called, ids);
        assert!(index_of(RTX).is_empty());
        let offline_events = registry_events()
            .into_iter()
            .filter(|e| matches!(e, Event::WorkerWentOffline { reporter: None, .. }))
            .count();
        assert_eq!(offline_events, 7);
    });
}

#[test]
fn sweep_visits_each_worker_once_per_block_when_there_are_few() {
    ExtBuilder::default().build_and_execute(|| {
        let a = register_active(ALICE, 10, 1);
        let b = register_active(ALICE, 20, 2);
        jump_to(2 + TIMEOUT);
        // Two workers, room for three: both looked at once (the cursor is not passed).
        let used = Registry::on_initialize(2 + TIMEOUT);
        assert_eq!(
            used,
            <Weights as WeightInfo>::sweep(2).saturating_add(HOOK_WEIGHT.saturating_mul(2))
        );
        let mut called = hook_calls();
        called.sort();
        assert_eq!(called, vec![a, b]);
        // Nothing left to do: only the visits are charged.
        jump_to(3 + TIMEOUT);
        assert_eq!(
            Registry::on_initialize(3 + TIMEOUT),
            <Weights as WeightInfo>::sweep(2)
        );
        assert_eq!(hook_calls().len(), 2);
    });
}

#[test]
fn sweep_leaves_fresh_and_non_active_workers_alone() {
    ExtBuilder::default().build_and_execute(|| {
        let fresh = register_active(ALICE, 10, 1);
        let pending = register(ALICE, 20, 2);
        let suspended = register_active(ALICE, 30, 3);
        assert_ok!(Registry::suspend_worker(RuntimeOrigin::root(), suspended));
        let leaving = register_active(ALICE, 40, 4);
        deregister(leaving);
        for block in 2..=(3 * TIMEOUT) {
            run_to_block(block);
            if block % 5 == 0 {
                heartbeat(fresh);
            }
        }
        assert_eq!(status(fresh), WorkerStatus::Active);
        assert_eq!(status(pending), WorkerStatus::PendingVerification);
        assert_eq!(status(suspended), WorkerStatus::Suspended);
        assert_eq!(status(leaving), WorkerStatus::Deregistering);
        // Only the suspension called the hook.
        assert_eq!(hook_calls(), vec![suspended]);
    });
}

#[test]
fn sweep_with_no_workers_clears_its_cursor_and_survives_removed_workers() {
    ExtBuilder::default().build_and_execute(|| {
        assert_eq!(
            Registry::on_initialize(1),
            <Weights as WeightInfo>::sweep(0)
        );
        assert_eq!(SweepCursor::<Test>::get(), None);

        let ids: Vec<WorkerId> = (1..=4)
            .map(|seed| register_active(ALICE, 10, seed))
            .collect();
        run_to_block(2);
        let cursor = SweepCursor::<Test>::get().expect("the sweep moved");
        // The worker under the cursor leaves the registry entirely.
        deregister(cursor);
        run_to_block(2 + UNBONDING);
        assert_ok!(Registry::withdraw_deposit(
            RuntimeOrigin::signed(ALICE),
            cursor
        ));
        for id in ids.iter().filter(|id| **id != cursor) {
            heartbeat(*id);
        }
        SweepCursor::<Test>::put(cursor);
        // The sweep goes on from where the removed worker was, over the three left.
        jump_to(3 + UNBONDING + TIMEOUT);
        let used = Registry::on_initialize(3 + UNBONDING + TIMEOUT);
        assert_eq!(
            used,
            <Weights as WeightInfo>::sweep(3).saturating_add(HOOK_WEIGHT.saturating_mul(3))
        );
        assert_eq!(count_with(WorkerStatus::Offline), 3);

        // All gone: the cursor is cleared.
        for id in ids.iter().filter(|id| **id != cursor) {
            deregister(*id);
        }
        run_to_block(4 + 2 * UNBONDING + TIMEOUT);
        for id in ids.iter().filter(|id| **id != cursor) {
            assert_ok!(Registry::withdraw_deposit(
                RuntimeOrigin::signed(ALICE),
                *id
            ));
        }
        run_to_block(5 + 2 * UNBONDING + TIMEOUT);
        assert_eq!(SweepCursor::<Test>::get(), None);
    });
}

#[test]
fn going_offline_with_reserved_gpus_lets_the_hook_free_them_for_deregistration() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        assert_ok!(reserve(id, 2));
        set_hook_releases(2);
        run_to_block(2 + TIMEOUT);
        assert_eq!(status(id), WorkerStatus::Offline);
        assert_eq!(hook_calls(), vec![id]);
        assert_eq!(info(id).reserved_gpus, 0);
        assert!(registry_events().ends_with(&[
            Event::WorkerWentOffline {
                worker_id: id,
                reporter: None
            },
            Event::GpusReleased {
                worker_id: id,
                gpus: 2
            },
        ]));
        deregister(id);
    });
}

// ---- price index and find_cheapest ----

#[test]
fn price_index_keeps_the_cheapest_sorted_and_evicts_the_most_expensive() {
    ExtBuilder::default().build_and_execute(|| {
        let w30 = register_active(ALICE, 30, 1);
        let w10 = register_active(ALICE, 10, 2);
        let w20 = register_active(ALICE, 20, 3);
        assert_eq!(index_of(RTX), vec![(10, w10), (20, w20), (30, w30)]);

        // Full: a dearer worker stays out of the index but is Active.
        let w40 = register_active(ALICE, 40, 4);
        assert_eq!(status(w40), WorkerStatus::Active);
        assert!(!info(w40).indexed);
        assert!(registry_events().contains(&Event::WorkerNotIndexed {
            worker_id: w40,
            gpu_model: RTX
        }));

        // A cheaper one evicts the most expensive.
        let w15 = register_active(ALICE, 15, 5);
        assert_eq!(index_of(RTX), vec![(10, w10), (15, w15), (20, w20)]);
        assert!(!info(w30).indexed);
        assert_eq!(
            registry_events()
                .into_iter()
                .filter(|e| matches!(e, Event::EvictedFromIndex { .. }))
                .collect::<Vec<_>>(),
            vec![Event::EvictedFromIndex {
                worker_id: w30,
                gpu_model: RTX,
                by: w15
            }]
        );
        assert_eq!(find(RTX, 1, 1_000), Some(w10));
    });
}

#[test]
fn price_index_keeps_the_incumbent_on_equal_price() {
    ExtBuilder::default().build_and_execute(|| {
        let ids: Vec<WorkerId> = (1..=3)
            .map(|seed| register_active(ALICE, 20, seed))
            .collect();
        let late = register_active(ALICE, 20, 4);
        assert_eq!(
            index_of(RTX),
            ids.iter().map(|id| (20, *id)).collect::<Vec<_>>()
        );
        assert!(!info(late).indexed);
    });
}

#[test]
fn unindexed_worker_rejoins_the_index_on_heartbeat_when_room_appears() {
    ExtBuilder::default().build_and_execute(|| {
        let a = register_active(ALICE, 10, 1);
        let _b = register_active(ALICE, 20, 2);
        let _c = register_active(ALICE, 30, 3);
        let late = register_active(ALICE, 40, 4);
        jump_to(2);
        // Still full: the heartbeat leaves it out again.
        heartbeat(late);
        assert!(!info(late).indexed);
        deregister(a);
        jump_to(3);
        heartbeat(late);
        assert!(info(late).indexed);
        assert_eq!(index_of(RTX).last(), Some(&(40, late)));
    });
}

#[test]
fn unindexed_active_worker_can_still_be_reserved_by_name() {
    ExtBuilder::default().build_and_execute(|| {
        for seed in 1..=3 {
            register_active(ALICE, 10, seed);
        }
        let late = register_active(ALICE, 40, 4);
        assert!(!info(late).indexed);
        assert_ok!(reserve(late, 2));
        assert_eq!(summary(late).unwrap().free_gpus, 0);
    });
}

#[test]
fn find_cheapest_returns_the_cheapest_worker_that_fits() {
    ExtBuilder::default().build_and_execute(|| {
        let a = register_active(ALICE, 10, 1);
        let b = register_active(ALICE, 15, 2);
        let c = register_model(BOB, RTX, 4, 20, 3);
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), c));

        assert_eq!(find(RTX, 1, 100), Some(a));
        assert_eq!(find(RTX, 2, 100), Some(a));
        // Only c has 4 GPUs.
        assert_eq!(find(RTX, 3, 100), Some(c));
        assert_eq!(find(RTX, 5, 100), None);
        // The price cap.
        assert_eq!(find(RTX, 1, 9), None);
        assert_eq!(find(RTX, 1, 10), Some(a));
        assert_eq!(find(RTX, 3, 19), None);
        // Reservations count.
        assert_ok!(reserve(a, 2));
        assert_eq!(find(RTX, 1, 100), Some(b));
        assert_ok!(reserve(b, 1));
        assert_eq!(find(RTX, 1, 100), Some(b));
        assert_eq!(find(RTX, 2, 100), Some(c));
        assert_eq!(find(RTX, 2, 15), None);
        release(a, 1);
        assert_eq!(find(RTX, 1, 100), Some(a));
        // Nothing asked, nothing found; other models are separate.
        assert_eq!(find(RTX, 0, 100), None);
        assert_eq!(find(H100, 1, 100), None);
    });
}

#[test]
fn find_cheapest_breaks_price_ties_by_the_lower_id() {
    ExtBuilder::default().build_and_execute(|| {
        let first = register(ALICE, 10, 1);
        let second = register_active(ALICE, 10, 2);
        // Verified later, but the lower id still sorts first.
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), first));
        assert_eq!(index_of(RTX), vec![(10, first), (10, second)]);
        assert_eq!(find(RTX, 1, 10), Some(first));
    });
}

#[test]
fn find_cheapest_skips_an_overdue_worker_not_yet_swept() {
    ExtBuilder::default().build_and_execute(|| {
        let stale = register_active(ALICE, 10, 1);
        let alive = register_active(ALICE, 20, 2);
        jump_to(5);
        heartbeat(alive);
        jump_to(2 + TIMEOUT);
        assert_eq!(status(stale), WorkerStatus::Active);
        assert_eq!(find(RTX, 1, 100), Some(alive));
    });
}

#[test]
fn each_gpu_model_has_its_own_index() {
    ExtBuilder::default().build_and_execute(|| {
        let rtx: Vec<WorkerId> = (1..=3)
            .map(|seed| register_active(ALICE, 10, seed))
            .collect();
        let h100 = register_model(BOB, H100, 1, 100, 4);
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), h100));
        assert!(info(h100).indexed);
        assert_eq!(index_of(H100), vec![(100, h100)]);
        assert_eq!(index_of(RTX).len(), rtx.len());
        assert_eq!(find(H100, 1, 100), Some(h100));
        assert_eq!(find(H100, 2, 100), None);
    });
}

// ---- reserve / release ----

#[test]
fn reserve_and_release_gpus_track_free_gpus() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_model(ALICE, RTX, 4, 10, 1);
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), id));
        assert_ok!(reserve(id, 3));
        assert_eq!(
            last_event(),
            Event::GpusReserved {
                worker_id: id,
                gpus: 3
            }
        );
        assert_eq!(info(id).reserved_gpus, 3);
        assert_eq!(
            summary(id),
            Some(WorkerSummary {
                provider: ALICE,
                agent: agent_of(1),
                status: WorkerStatus::Active,
                gpu_model: RTX,
                gpu_count: 4,
                free_gpus: 1,
                price_per_gpu_hour: 10,
                paused: false,
                heartbeat_overdue: false,
            })
        );
        release(id, 2);
        assert_eq!(
            last_event(),
            Event::GpusReleased {
                worker_id: id,
                gpus: 2
            }
        );
        assert_eq!(info(id).reserved_gpus, 1);
        assert_eq!(summary(99), None);
    });
}

#[test]
fn reserve_gpus_rejects_zero_too_many_inactive_and_unknown() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        let pending = register(ALICE, 10, 2);
        assert_noop!(reserve(id, 0), Error::<Test>::ZeroGpus);
        assert_noop!(reserve(id, 3), Error::<Test>::NotEnoughFreeGpus);
        assert_noop!(reserve(id, u32::MAX), Error::<Test>::NotEnoughFreeGpus);
        assert_ok!(reserve(id, 2));
        assert_noop!(reserve(id, 1), Error::<Test>::NotEnoughFreeGpus);
        assert_noop!(reserve(pending, 1), Error::<Test>::WorkerNotActive);
        assert_noop!(reserve(WorkerId::MAX, 1), Error::<Test>::WorkerNotFound);
    });
}

#[test]
fn release_gpus_releases_at_most_what_is_reserved() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        assert_ok!(reserve(id, 1));
        release(id, 5);
        assert_eq!(info(id).reserved_gpus, 0);
        assert_eq!(
            last_event(),
            Event::GpusReleased {
                worker_id: id,
                gpus: 1
            }
        );
        // Nothing reserved, or no such worker: a no-op without an event.
        let events = registry_events().len();
        release(id, 1);
        release(WorkerId::MAX, 1);
        release(id, 0);
        assert_eq!(registry_events().len(), events);
    });
}

// ---- invariants and configuration ----

#[test]
fn integrity_test_accepts_the_mock_configuration() {
    ExtBuilder::default().build_and_execute(|| {
        <Registry as Hooks<u64>>::integrity_test();
    });
}

#[test]
fn try_state_catches_broken_invariants() {
    ExtBuilder::default().build_and_execute(|| {
        let a = register_active(ALICE, 10, 1);
        let b = register_active(ALICE, 20, 2);
        assert_ok!(Registry::do_try_state());

        let corrupt = |f: &dyn Fn(&mut WorkerInfoOf<Test>)| {
            let original = info(a);
            Workers::<Test>::mutate_extant(a, |w| f(w));
            assert!(Registry::do_try_state().is_err());
            Workers::<Test>::insert(a, original);
            assert_ok!(Registry::do_try_state());
        };
        corrupt(&|w| w.deposit += 1);
        corrupt(&|w| w.reserved_gpus = 3);
        corrupt(&|w| w.reported_free_gpus = 3);
        corrupt(&|w| w.status = WorkerStatus::Offline);
        corrupt(&|w| w.spec.price_per_gpu_hour = 11);
        corrupt(&|w| w.indexed = false);
        corrupt(&|w| w.unlock_at = Some(5));
        corrupt(&|w| w.spec.agent = CHARLIE);
        corrupt(&|w| w.paused = true);
        corrupt(&|w| w.pending_expires_at = Some(100));

        // A pending worker without an expiry, and a rotated-out agent key left behind.
        let p = register(ALICE, 30, 3);
        Workers::<Test>::mutate_extant(p, |w| w.pending_expires_at = None);
        assert!(Registry::do_try_state().is_err());
        Workers::<Test>::mutate_extant(p, |w| w.pending_expires_at = Some(1 + PENDING_TIMEOUT));
        assert_ok!(Registry::do_try_state());
        WorkerByAgent::<Test>::insert(CHARLIE, b);
        WorkerByAgent::<Test>::remove(agent_of(3));
        assert!(Registry::do_try_state().is_err());
        WorkerByAgent::<Test>::remove(CHARLIE);
        WorkerByAgent::<Test>::insert(agent_of(3), p);
        assert_ok!(Registry::do_try_state());

        let index = PriceIndex::<Test>::get(RTX);
        let mut reversed = index.clone().into_inner();
        reversed.reverse();
        PriceIndex::<Test>::insert(RTX, BoundedVec::truncate_from(reversed));
        assert!(Registry::do_try_state().is_err());
        PriceIndex::<Test>::insert(RTX, index);

        GpuOwner::<Test>::insert(uuid(77, 0), b);
        assert!(Registry::do_try_state().is_err());
        GpuOwner::<Test>::remove(uuid(77, 0));

        SweepCursor::<Test>::put(WorkerId::MAX);
        assert!(Registry::do_try_state().is_err());
        SweepCursor::<Test>::kill();
    });
}

#[test]
fn full_lifecycle_from_registration_to_withdrawal() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(ALICE, 10, 1);
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), id));
        assert_ok!(reserve(id, 1));
        run_to_block(5);
        assert_ok!(Registry::heartbeat(agent(id), id, 1));
        release(id, 1);
        run_to_block(6 + TIMEOUT);
        assert_eq!(status(id), WorkerStatus::Offline);
        assert_ok!(Registry::heartbeat(agent(id), id, 2));
        assert_eq!(status(id), WorkerStatus::Active);
        assert_ok!(Registry::suspend_worker(RuntimeOrigin::root(), id));
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), id));
        deregister(id);
        let unlock_at = info(id).unlock_at.unwrap();
        run_to_block(unlock_at);
        assert_ok!(Registry::withdraw_deposit(RuntimeOrigin::signed(ALICE), id));
        assert_eq!(free(ALICE), INITIAL - FEE);
        assert_eq!(free(TREASURY), INITIAL + FEE);
        assert_eq!(Workers::<Test>::iter().count(), 0);
        assert!(!PriceIndex::<Test>::contains_key(RTX));
    });
}

// ---- pending expiry: expire_pending and the sweep (#10 item 8) ----

/// Block at which a worker registered at block 1 has expired.
const EXPIRED_AT: u64 = 1 + PENDING_TIMEOUT;

#[test]
fn squatted_gpus_and_agent_key_are_freed_when_the_pending_registration_expires() {
    ExtBuilder::default().build_and_execute(|| {
        // BOB front-runs ALICE's registration with her GPUs (seed 1) and agent key.
        let squat = register(BOB, 10, 1);
        assert_noop!(
            Registry::register_worker(
                RuntimeOrigin::signed(ALICE),
                spec_with(RTX, 2, 10, agent_of(1), 1)
            ),
            Error::<Test>::GpuAlreadyRegistered
        );
        assert_eq!(info(squat).pending_expires_at, Some(EXPIRED_AT));

        jump_to(EXPIRED_AT);
        let treasury = free(TREASURY);
        assert_eq!(
            Registry::expire_pending(RuntimeOrigin::signed(CHARLIE), squat),
            Ok(PostDispatchInfo {
                actual_weight: Some(<Weights as WeightInfo>::expire_pending(2)),
                pays_fee: Pays::No,
            })
        );
        // The deposit is back, the fee stays with the treasury.
        assert!(!Workers::<Test>::contains_key(squat));
        assert_eq!(held(BOB), 0);
        assert_eq!(free(BOB), INITIAL - FEE);
        assert_eq!(free(TREASURY), treasury);
        assert_eq!(GpuOwner::<Test>::get(uuid(1, 0)), None);
        assert_eq!(WorkerByAgent::<Test>::get(agent_of(1)), None);
        assert_eq!(
            last_event(),
            Event::PendingRegistrationExpired {
                worker_id: squat,
                provider: BOB,
                deposit: DEPOSIT,
                by: Some(CHARLIE),
            }
        );
        // ALICE registers her own GPUs and agent now.
        let id = register(ALICE, 10, 1);
        assert_eq!(WorkerByAgent::<Test>::get(agent_of(1)), Some(id));
    });
}

#[test]
fn expire_pending_before_the_timeout_is_not_expired() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(BOB, 10, 1);
        jump_to(EXPIRED_AT - 1);
        assert_noop!(
            Registry::expire_pending(RuntimeOrigin::signed(CHARLIE), id),
            Error::<Test>::PendingNotExpired
        );
        assert_eq!(status(id), WorkerStatus::PendingVerification);
    });
}

#[test]
fn expire_pending_requires_a_signed_origin() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(BOB, 10, 1);
        jump_to(EXPIRED_AT);
        assert_noop!(
            Registry::expire_pending(RuntimeOrigin::none(), id),
            BadOrigin
        );
        assert_noop!(
            Registry::expire_pending(RuntimeOrigin::root(), id),
            BadOrigin
        );
    });
}

#[test]
fn verified_suspended_or_deregistering_workers_never_expire() {
    ExtBuilder::default().build_and_execute(|| {
        let active = register_active(ALICE, 10, 1);
        let suspended = register(ALICE, 10, 2);
        assert_ok!(Registry::suspend_worker(RuntimeOrigin::root(), suspended));
        let leaving = register(ALICE, 10, 3);
        deregister(leaving);
        for id in [active, suspended, leaving] {
            assert_eq!(info(id).pending_expires_at, None);
        }
        jump_to(EXPIRED_AT + 100);
        for id in [active, suspended, leaving] {
            assert_noop!(
                Registry::expire_pending(RuntimeOrigin::signed(CHARLIE), id),
                Error::<Test>::NotPending
            );
        }
    });
}

#[test]
fn expire_pending_replay_and_unknown_worker_are_not_found() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(BOB, 10, 1);
        jump_to(EXPIRED_AT);
        assert_ok!(Registry::expire_pending(RuntimeOrigin::signed(CHARLIE), id));
        assert_noop!(
            Registry::expire_pending(RuntimeOrigin::signed(CHARLIE), id),
            Error::<Test>::WorkerNotFound
        );
        assert_noop!(
            Registry::expire_pending(RuntimeOrigin::signed(CHARLIE), WorkerId::MAX),
            Error::<Test>::WorkerNotFound
        );
        assert_eq!(held(BOB), 0);
    });
}

#[test]
fn sweep_removes_expired_pending_registrations_and_charges_for_them() {
    ExtBuilder::default().build_and_execute(|| {
        let squat = register(BOB, 10, 1);
        jump_to(5);
        let later = register(ALICE, 10, 2);
        run_to_block(EXPIRED_AT - 1);
        assert!(Workers::<Test>::contains_key(squat));

        jump_to(EXPIRED_AT);
        let used = Registry::on_initialize(EXPIRED_AT);
        assert_eq!(
            used,
            <Weights as WeightInfo>::sweep(2)
                .saturating_add(<Weights as WeightInfo>::expire_pending(2))
        );
        assert!(!Workers::<Test>::contains_key(squat));
        assert_eq!(held(BOB), 0);
        assert_eq!(GpuOwner::<Test>::get(uuid(1, 0)), None);
        assert!(
            registry_events().contains(&Event::PendingRegistrationExpired {
                worker_id: squat,
                provider: BOB,
                deposit: DEPOSIT,
                by: None,
            })
        );
        // Registered later: not expired yet, and the sweep takes it when it is.
        assert_eq!(status(later), WorkerStatus::PendingVerification);
        run_to_block(5 + PENDING_TIMEOUT + SWEEP as u64);
        assert!(!Workers::<Test>::contains_key(later));
        assert_eq!(held(ALICE), 0);
        assert!(hook_calls().is_empty());
    });
}

// ---- force_deregister (#10 items 8 and 11) ----

#[test]
fn force_deregister_fails_the_orders_frees_everything_and_returns_the_deposit() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 50, 1);
        assert_ok!(reserve(id, 2));
        set_hook_releases(2);
        assert_eq!(
            Registry::force_deregister(RuntimeOrigin::root(), id, false),
            Ok(PostDispatchInfo {
                actual_weight: Some(
                    <Weights as WeightInfo>::force_deregister(2).saturating_add(HOOK_WEIGHT)
                ),
                pays_fee: Pays::Yes,
            })
        );
        assert_eq!(hook_calls(), vec![id]);
        assert!(!Workers::<Test>::contains_key(id));
        assert!(index_of(RTX).is_empty());
        assert_eq!(GpuOwner::<Test>::get(uuid(1, 0)), None);
        assert_eq!(WorkerByAgent::<Test>::get(agent_of(1)), None);
        assert_eq!(held(ALICE), 0);
        assert_eq!(free(ALICE), INITIAL - FEE);
        assert_eq!(
            last_event(),
            Event::WorkerForceDeregistered {
                worker_id: id,
                provider: ALICE,
                returned: DEPOSIT,
                slashed: 0,
            }
        );
        // The GPUs and agent can be registered again at once.
        register(BOB, 50, 1);
    });
}

#[test]
fn force_deregister_of_a_pending_squatter_slashes_its_deposit_to_the_treasury() {
    ExtBuilder::default().build_and_execute(|| {
        let squat = register(BOB, 10, 1);
        let treasury = free(TREASURY);
        let issuance = Balances::total_issuance();
        // A pending worker has no orders: the hook is not called nor charged.
        assert_eq!(
            Registry::force_deregister(RuntimeOrigin::root(), squat, true),
            Ok(PostDispatchInfo {
                actual_weight: Some(<Weights as WeightInfo>::force_deregister(2)),
                pays_fee: Pays::Yes,
            })
        );
        assert!(hook_calls().is_empty());
        assert_eq!(held(BOB), 0);
        assert_eq!(free(BOB), INITIAL - FEE - DEPOSIT);
        assert_eq!(free(TREASURY), treasury + DEPOSIT);
        assert_eq!(Balances::total_issuance(), issuance);
        assert_eq!(
            last_event(),
            Event::WorkerForceDeregistered {
                worker_id: squat,
                provider: BOB,
                returned: 0,
                slashed: DEPOSIT,
            }
        );
        register(ALICE, 10, 1);
    });
}

#[test]
fn force_deregister_with_slash_burns_the_deposit_without_fee_destination() {
    ExtBuilder::default().build_and_execute(|| {
        FeeDest::set(None);
        let id = register_active(BOB, 10, 1);
        let issuance = Balances::total_issuance();
        assert_ok!(Registry::force_deregister(RuntimeOrigin::root(), id, true));
        assert_eq!(held(BOB), 0);
        assert_eq!(Balances::total_issuance(), issuance - DEPOSIT);
    });
}

#[test]
fn force_deregister_slashes_a_deregistering_worker_during_unbonding() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(BOB, 10, 1);
        deregister(id);
        let treasury = free(TREASURY);
        assert_ok!(Registry::force_deregister(RuntimeOrigin::root(), id, true));
        assert!(hook_calls().is_empty());
        assert_eq!(free(TREASURY), treasury + DEPOSIT);
        assert_noop!(
            Registry::withdraw_deposit(RuntimeOrigin::signed(BOB), id),
            Error::<Test>::WorkerNotFound
        );
    });
}

#[test]
fn force_deregister_requires_the_force_origin() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        for origin in [
            RuntimeOrigin::signed(ALICE),
            RuntimeOrigin::signed(agent_of(1)),
            RuntimeOrigin::none(),
        ] {
            assert_noop!(Registry::force_deregister(origin, id, true), BadOrigin);
        }
    });
}

#[test]
fn force_deregister_replay_and_unknown_worker_are_not_found() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        assert_ok!(Registry::force_deregister(RuntimeOrigin::root(), id, false));
        assert_noop!(
            Registry::force_deregister(RuntimeOrigin::root(), id, false),
            Error::<Test>::WorkerNotFound
        );
        assert_noop!(
            Registry::force_deregister(RuntimeOrigin::root(), WorkerId::MAX, true),
            Error::<Test>::WorkerNotFound
        );
    });
}

#[test]
fn force_deregister_tolerates_gpus_the_hook_left_reserved() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        assert_ok!(reserve(id, 2));
        // The hook releases nothing: the worker is removed anyway, later releases are no-ops.
        assert_ok!(Registry::force_deregister(RuntimeOrigin::root(), id, false));
        assert!(!Workers::<Test>::contains_key(id));
        release(id, 2);
        assert_eq!(held(ALICE), 0);
    });
}

// ---- suspend weight (#10 item 11) ----

#[test]
fn verification_trait_suspend_returns_the_hooks_weight() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        assert_eq!(
            <Registry as WorkerVerification>::suspend(id),
            Ok(HOOK_WEIGHT)
        );
    });
}

#[test]
fn suspend_worker_pre_charges_the_hooks_max_weight() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        let call = RuntimeCall::WorkerRegistry(Call::suspend_worker { worker_id: id });
        use frame_support::dispatch::GetDispatchInfo;
        assert_eq!(
            call.get_dispatch_info().call_weight,
            <Weights as WeightInfo>::suspend_worker().saturating_add(HOOK_WEIGHT)
        );
        let call = RuntimeCall::WorkerRegistry(Call::force_deregister {
            worker_id: id,
            slash_deposit: false,
        });
        assert_eq!(
            call.get_dispatch_info().call_weight,
            <Weights as WeightInfo>::force_deregister(MAX_GPUS).saturating_add(HOOK_WEIGHT)
        );
    });
}

// ---- rotate_agent (#10 item 10) ----

#[test]
fn rotate_agent_moves_the_agent_key_and_frees_the_old_one() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        let old = agent_of(1);
        let new = agent_of(50);
        assert_ok!(Registry::rotate_agent(
            RuntimeOrigin::signed(ALICE),
            id,
            new
        ));
        assert_eq!(info(id).spec.agent, new);
        assert_eq!(WorkerByAgent::<Test>::get(new), Some(id));
        assert_eq!(WorkerByAgent::<Test>::get(old), None);
        assert_eq!(
            last_event(),
            Event::AgentRotated {
                worker_id: id,
                old_agent: old,
                new_agent: new,
            }
        );
        assert_eq!(summary(id).map(|s| s.agent), Some(new));
        // Only the new key acts for the worker.
        jump_to(2);
        assert_noop!(
            Registry::heartbeat(RuntimeOrigin::signed(old), id, 0),
            Error::<Test>::NotWorkerAgent
        );
        assert_ok!(Registry::heartbeat(RuntimeOrigin::signed(new), id, 0));
        // The old key may act for another worker.
        assert_ok!(Registry::register_worker(
            RuntimeOrigin::signed(BOB),
            spec_with(RTX, 1, 10, old, 2)
        ));
    });
}

#[test]
fn rotate_agent_only_by_the_provider() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        for who in [BOB, agent_of(1)] {
            assert_noop!(
                Registry::rotate_agent(RuntimeOrigin::signed(who), id, agent_of(50)),
                Error::<Test>::NotProvider
            );
        }
        assert_noop!(
            Registry::rotate_agent(RuntimeOrigin::none(), id, agent_of(50)),
            BadOrigin
        );
    });
}

#[test]
fn rotate_agent_to_a_key_in_use_or_replayed_is_agent_in_use() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        register(BOB, 10, 2);
        assert_noop!(
            Registry::rotate_agent(RuntimeOrigin::signed(ALICE), id, agent_of(2)),
            Error::<Test>::AgentInUse
        );
        assert_noop!(
            Registry::rotate_agent(RuntimeOrigin::signed(ALICE), id, agent_of(1)),
            Error::<Test>::AgentInUse
        );
        assert_ok!(Registry::rotate_agent(
            RuntimeOrigin::signed(ALICE),
            id,
            agent_of(50)
        ));
        assert_noop!(
            Registry::rotate_agent(RuntimeOrigin::signed(ALICE), id, agent_of(50)),
            Error::<Test>::AgentInUse
        );
    });
}

#[test]
fn rotate_agent_of_a_deregistering_or_unknown_worker_fails() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        deregister(id);
        assert_noop!(
            Registry::rotate_agent(RuntimeOrigin::signed(ALICE), id, agent_of(50)),
            Error::<Test>::InvalidWorkerState
        );
        assert_noop!(
            Registry::rotate_agent(RuntimeOrigin::signed(ALICE), WorkerId::MAX, agent_of(50)),
            Error::<Test>::WorkerNotFound
        );
    });
}

// ---- pause_worker / resume_worker (#10 items 9 and 10) ----

#[test]
fn paused_worker_serves_its_orders_and_heartbeats_but_takes_no_new_orders() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(ALICE, 10, 1);
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), id));
        assert_ok!(reserve(id, 1));
        assert_ok!(Registry::pause_worker(RuntimeOrigin::signed(ALICE), id));
        assert_eq!(last_event(), Event::WorkerPaused { worker_id: id });
        assert_eq!(status(id), WorkerStatus::Active);
        assert!(info(id).paused);
        assert!(index_of(RTX).is_empty());
        let s = summary(id).expect("worker exists");
        assert!(s.paused);
        assert!(!s.takes_new_orders());
        assert_eq!(find(RTX, 1, 1_000), None);
        assert_noop!(reserve(id, 1), Error::<Test>::WorkerPaused);

        // Its open order goes on: heartbeats and releases work.
        jump_to(2);
        heartbeat(id);
        release(id, 1);
        assert_eq!(info(id).reserved_gpus, 0);
        // Neither a heartbeat nor a price update brings it back into the index.
        assert_ok!(Registry::update_worker(
            RuntimeOrigin::signed(ALICE),
            id,
            Some(5),
            None
        ));
        assert!(index_of(RTX).is_empty());
        // Going offline and coming back keeps it paused and out of the index.
        run_to_block(3 + TIMEOUT + SWEEP as u64);
        assert_eq!(status(id), WorkerStatus::Offline);
        heartbeat(id);
        assert_eq!(status(id), WorkerStatus::Active);
        assert!(info(id).paused);
        assert!(index_of(RTX).is_empty());
    });
}

#[test]
fn resume_worker_puts_an_active_worker_back_in_the_index() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        assert_ok!(Registry::pause_worker(RuntimeOrigin::signed(ALICE), id));
        assert_ok!(Registry::resume_worker(RuntimeOrigin::signed(ALICE), id));
        assert_eq!(
            last_event(),
            Event::WorkerResumed {
                worker_id: id,
                indexed: true
            }
        );
        assert!(!info(id).paused);
        assert_eq!(index_of(RTX), vec![(10, id)]);
        assert_eq!(find(RTX, 1, 1_000), Some(id));
        assert_ok!(reserve(id, 1));
    });
}

#[test]
fn resume_worker_of_a_pending_or_offline_worker_indexes_it_once_active() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register(ALICE, 10, 1);
        assert_ok!(Registry::pause_worker(RuntimeOrigin::signed(ALICE), id));
        // Verified while paused: Active but not indexed.
        assert_ok!(Registry::verify_worker(RuntimeOrigin::root(), id));
        assert!(index_of(RTX).is_empty());
        run_to_block(2 + TIMEOUT + SWEEP as u64);
        assert_eq!(status(id), WorkerStatus::Offline);
        assert_ok!(Registry::resume_worker(RuntimeOrigin::signed(ALICE), id));
        assert_eq!(
            last_event(),
            Event::WorkerResumed {
                worker_id: id,
                indexed: false
            }
        );
        heartbeat(id);
        assert_eq!(index_of(RTX), vec![(10, id)]);
    });
}

#[test]
fn pause_and_resume_only_by_the_provider() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        for who in [BOB, agent_of(1)] {
            assert_noop!(
                Registry::pause_worker(RuntimeOrigin::signed(who), id),
                Error::<Test>::NotProvider
            );
        }
        assert_noop!(Registry::pause_worker(RuntimeOrigin::root(), id), BadOrigin);
        assert_ok!(Registry::pause_worker(RuntimeOrigin::signed(ALICE), id));
        for who in [BOB, agent_of(1)] {
            assert_noop!(
                Registry::resume_worker(RuntimeOrigin::signed(who), id),
                Error::<Test>::NotProvider
            );
        }
        assert_noop!(
            Registry::resume_worker(RuntimeOrigin::none(), id),
            BadOrigin
        );
    });
}

#[test]
fn pause_and_resume_replays_are_already_paused_and_not_paused() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        assert_noop!(
            Registry::resume_worker(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::NotPaused
        );
        assert_ok!(Registry::pause_worker(RuntimeOrigin::signed(ALICE), id));
        assert_noop!(
            Registry::pause_worker(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::AlreadyPaused
        );
        assert_ok!(Registry::resume_worker(RuntimeOrigin::signed(ALICE), id));
        assert_noop!(
            Registry::resume_worker(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::NotPaused
        );
    });
}

#[test]
fn pause_and_resume_of_a_deregistering_or_unknown_worker_fail() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        let paused = register_active(ALICE, 10, 2);
        assert_ok!(Registry::pause_worker(RuntimeOrigin::signed(ALICE), paused));
        deregister(id);
        deregister(paused);
        assert_noop!(
            Registry::pause_worker(RuntimeOrigin::signed(ALICE), id),
            Error::<Test>::InvalidWorkerState
        );
        assert_noop!(
            Registry::resume_worker(RuntimeOrigin::signed(ALICE), paused),
            Error::<Test>::InvalidWorkerState
        );
        for id in [WorkerId::MAX, 77] {
            assert_noop!(
                Registry::pause_worker(RuntimeOrigin::signed(ALICE), id),
                Error::<Test>::WorkerNotFound
            );
            assert_noop!(
                Registry::resume_worker(RuntimeOrigin::signed(ALICE), id),
                Error::<Test>::WorkerNotFound
            );
        }
    });
}

// ---- reserve_gpus and the summary (#10 item 9) ----

#[test]
fn reserve_gpus_refuses_a_worker_overdue_on_heartbeats_but_not_yet_swept() {
    ExtBuilder::default().build_and_execute(|| {
        let id = register_active(ALICE, 10, 1);
        jump_to(2 + TIMEOUT);
        assert_eq!(status(id), WorkerStatus::Active);
        let s = summary(id).expect("worker exists");
        assert!(s.heartbeat_overdue);
        assert!(!s.takes_new_orders());
        assert_noop!(reserve(id, 1), Error::<Test>::HeartbeatOverdue);
        heartbeat(id);
        assert!(summary(id).expect("worker exists").takes_new_orders());
        assert_ok!(reserve(id, 1));
    });
}

// ---- migration v0 -> v1 (#10 item 12) ----

#[test]
fn migration_v0_to_v1_adds_the_pause_flag_and_the_pending_expiry() {
    use crate::migrations::{v0, MigrateV0ToV1};
    use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
    ExtBuilder::default().build_and_execute(|| {
        let pending = register(ALICE, 10, 1);
        let active = register_active(ALICE, 20, 2);
        let leaving = register_active(BOB, 30, 3);
        deregister(leaving);
        let expected: Vec<WorkerInfoOf<Test>> =
            [pending, active, leaving].into_iter().map(info).collect();
        // Rewrite the records in the v0 layout.
        for (id, w) in [pending, active, leaving]
            .into_iter()
            .zip(expected.iter().cloned())
        {
            v0::Workers::<Test>::insert(
                id,
                v0::WorkerInfoV0::<Test> {
                    provider: w.provider,
                    spec: w.spec,
                    status: w.status,
                    reserved_gpus: w.reserved_gpus,
                    reported_free_gpus: w.reported_free_gpus,
                    deposit: w.deposit,
                    registered_at: w.registered_at,
                    last_heartbeat: w.last_heartbeat,
                    indexed: w.indexed,
                    unlock_at: w.unlock_at,
                },
            );
            assert!(
                Workers::<Test>::try_get(id).is_err(),
                "v0 bytes do not decode as v1"
            );
        }
        StorageVersion::new(0).put::<Registry>();

        MigrateV0ToV1::<Test>::on_runtime_upgrade();
        assert_eq!(Registry::on_chain_storage_version(), StorageVersion::new(1));
        for (id, w) in [pending, active, leaving].into_iter().zip(expected) {
            assert_eq!(info(id), w);
        }
        assert_eq!(info(pending).pending_expires_at, Some(1 + PENDING_TIMEOUT));
        assert_eq!(info(active).pending_expires_at, None);

        // Run again: a no-op, the version is 1 already.
        let before: Vec<_> = Workers::<Test>::iter().collect();
        MigrateV0ToV1::<Test>::on_runtime_upgrade();
        assert_eq!(Workers::<Test>::iter().collect::<Vec<_>>(), before);
    });
}
