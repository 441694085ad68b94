//! PoPW checking through the runtime's calls, on the development genesis, with the real worker
//! registry and checker licenses: a worker registered with no governance involved becomes
//! Active through three checkers' attestations, and a license undelegated during an epoch keeps
//! its checks until the epoch ends. (The runtime-level counterpart of the future e2e test.)

use codec::Encode;
use frame_support::{
    assert_ok,
    traits::{Hooks, TryState, TryStateSelect},
    BoundedVec,
};
use kaisar_primitives::{
    CheckerSlots, CheckingEpoch, CheckingEpochs, GpuModel, HostClass, WorkerId,
    WorkerRegistry as _, WorkerStatus,
};
use kaisar_runtime::{
    genesis_config_presets::preset_genesis_config, AccountId, AllPalletsWithSystem, BlockNumber,
    BuildStorage, CheckerLicenses, PopwAttestations, Runtime, RuntimeCall, RuntimeOrigin, System,
    WorkerRegistry, UNITS,
};
use pallet_popw_attestations::{
    challenge_id, nonce_commitment, seal_of, Attestation, ChainValues, ChallengeParams,
    ChallengeTerms, CheckVerdict, Seeds,
};
use pallet_worker_registry::{GpuDevice, WorkerSpec};
use sp_keyring::Sr25519Keyring;
use sp_runtime::traits::Dispatchable;

fn ext() -> sp_io::TestExternalities {
    let storage = preset_genesis_config("development")
        .expect("preset fits the runtime")
        .build_storage()
        .expect("genesis storage builds");
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}

/// Advance to block `n`, running the licenses' and the checking pallet's hooks (in the
/// runtime's order) in each block.
fn run_to(n: BlockNumber) {
    while System::block_number() < n {
        let b = System::block_number() + 1;
        System::set_block_number(b);
        System::set_parent_hash(sp_core::H256::from_low_u64_be(b as u64));
        CheckerLicenses::on_initialize(b);
        PopwAttestations::on_initialize(b);
    }
}

fn epoch_start(e: CheckingEpoch) -> BlockNumber {
    <CheckerLicenses as CheckingEpochs<BlockNumber>>::epoch_start(e)
}

fn popw(who: &AccountId, c: pallet_popw_attestations::Call<Runtime>) {
    assert_ok!(RuntimeCall::PopwAttestations(c).dispatch(RuntimeOrigin::signed(who.clone())));
}

fn agent() -> AccountId {
    AccountId::from([7u8; 32])
}

/// Ferdie registers a one-GPU H100 SXM worker (PendingVerification).
fn register_worker() -> WorkerId {
    let provider = Sr25519Keyring::Ferdie.to_account_id();
    let id = pallet_worker_registry::NextWorkerId::<Runtime>::get();
    let spec = WorkerSpec {
        host_class: HostClass::Server,
        gpus: BoundedVec::truncate_from(vec![GpuDevice {
            model: GpuModel::H100Sxm,
            vram_mib: 81_920,
            uuid_hash: sp_core::H256(kaisar_primitives::gpu_uuid_hash(b"GPU-test-1")),
        }]),
        cpu_cores: 64,
        ram_mib: 512 * 1024,
        disk_gib: 4_000,
        region: BoundedVec::truncate_from(b"eu".to_vec()),
        price_per_gpu_hour: UNITS,
        endpoint: BoundedVec::truncate_from(b"https://w.invalid".to_vec()),
        agent: agent(),
    };
    assert_ok!(WorkerRegistry::register_worker(
        RuntimeOrigin::signed(provider),
        spec
    ));
    assert_eq!(
        WorkerRegistry::worker(id).unwrap().status,
        WorkerStatus::PendingVerification
    );
    id
}

/// Alice, Bob, Charlie and Dave each get a license and delegate it to themselves.
fn four_self_delegated_licenses() -> Vec<AccountId> {
    let owners: Vec<AccountId> = [
        Sr25519Keyring::Alice,
        Sr25519Keyring::Bob,
        Sr25519Keyring::Charlie,
        Sr25519Keyring::Dave,
    ]
    .iter()
    .map(|k| k.to_account_id())
    .collect();
    for owner in &owners {
        let license = pallet_checker_licenses::NextLicenseId::<Runtime>::get();
        assert_ok!(CheckerLicenses::grant(
            RuntimeOrigin::root(),
            owner.clone(),
            0,
            1
        ));
        assert_ok!(CheckerLicenses::delegate(
            RuntimeOrigin::signed(owner.clone()),
            license,
            owner.clone()
        ));
    }
    owners
}

fn nonce(slot: u32) -> [u8; 32] {
    let mut n = [0x11u8; 32];
    n[..4].copy_from_slice(&slot.to_le_bytes());
    n
}

fn attestation(e: CheckingEpoch, worker: WorkerId, slot: u32, op: &AccountId) -> Attestation {
    let terms = ChallengeTerms {
        nonce: nonce(slot),
        gpu_uuid_hash: kaisar_primitives::gpu_uuid_hash(b"GPU-test-1"),
        params: ChallengeParams {
            m: 8192,
            n: 8192,
            k: 32768,
            chunks: 2205,
        },
        commit_timeout_ms: 30_000,
        open_timeout_ms: 10_000,
    };
    let w = WorkerRegistry::worker(worker).unwrap();
    let (agent, checker) = (w.agent.encode(), op.encode());
    let id = challenge_id(
        &ChainValues {
            genesis_hash: PopwAttestations::genesis_hash(),
            epoch_randomness: Seeds::<Runtime>::get(e).unwrap().challenge.unwrap(),
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
        throughput_gops: 1_385_000,
        ratio_ppm: 1_000_000,
        verdict: CheckVerdict::Pass,
        openings_digest: [2; 32],
        snapshots_digest: [3; 32],
    }
}

/// The assigned slots of `worker` in epoch `e` all commit, seal and reveal `Pass`.
fn three_checkers_pass(e: CheckingEpoch, worker: WorkerId) -> Vec<(u32, AccountId)> {
    use pallet_popw_attestations::Call;
    let slots: Vec<(u32, AccountId)> = PopwAttestations::assignment(e, worker)
        .into_iter()
        .map(|i| {
            (
                i,
                <CheckerLicenses as CheckerSlots<AccountId>>::slot(i)
                    .unwrap()
                    .operator,
            )
        })
        .collect();
    assert_eq!(slots.len(), 3);
    for (slot, op) in &slots {
        popw(
            op,
            Call::commit_nonce {
                epoch: e,
                worker,
                slot: *slot,
                commitment: nonce_commitment(&nonce(*slot)),
            },
        );
    }
    run_to(PopwAttestations::commit_deadline(e));
    for (slot, op) in &slots {
        let a = attestation(e, worker, *slot, op);
        popw(
            op,
            Call::seal {
                epoch: e,
                worker,
                slot: *slot,
                seal: seal_of(&a, &[9; 32]),
            },
        );
    }
    // The agent keeps heartbeating (a verified worker that is overdue goes Offline).
    assert_ok!(WorkerRegistry::heartbeat(
        RuntimeOrigin::signed(agent()),
        worker,
        1
    ));
    for (slot, op) in &slots {
        let a = attestation(e, worker, *slot, op);
        popw(
            op,
            Call::reveal {
                epoch: e,
                worker,
                slot: *slot,
                attestation: a,
                salt: [9; 32],
            },
        );
    }
    slots
}

fn try_state_all() {
    <AllPalletsWithSystem as TryState<BlockNumber>>::try_state(
        System::block_number(),
        TryStateSelect::All,
    )
    .expect("invariants hold");
}

#[test]
fn a_registered_worker_becomes_active_through_three_checkers_without_governance() {
    ext().execute_with(|| {
        let worker = register_worker();
        four_self_delegated_licenses();
        run_to(epoch_start(1));
        assert_eq!(
            <CheckerLicenses as CheckerSlots<AccountId>>::slot_count(),
            4
        );
        three_checkers_pass(1, worker);
        assert_eq!(
            WorkerRegistry::worker(worker).unwrap().status,
            WorkerStatus::Active
        );
        assert_eq!(PopwAttestations::worker_throughput(worker), Some(1_385_000));
        try_state_all();
    });
}

#[test]
fn a_license_undelegated_during_an_epoch_keeps_its_checks_until_the_epoch_ends() {
    ext().execute_with(|| {
        let worker = register_worker();
        let owners = four_self_delegated_licenses();
        run_to(epoch_start(1));
        let first = PopwAttestations::assignment(1, worker)[0];
        let slot = <CheckerLicenses as CheckerSlots<AccountId>>::slot(first).unwrap();
        let owner = owners.iter().find(|o| **o == slot.owner).unwrap().clone();
        assert_ok!(CheckerLicenses::undelegate(
            RuntimeOrigin::signed(owner),
            slot.license
        ));
        three_checkers_pass(1, worker);
        assert_eq!(
            <pallet_popw_attestations::Pallet<Runtime> as kaisar_primitives::CheckerPerformance>::performance(1, slot.license).agreed,
            1
        );
        try_state_all();
        run_to(epoch_start(2));
        assert_eq!(
            <CheckerLicenses as CheckerSlots<AccountId>>::slot_count(),
            3
        );
        for i in PopwAttestations::assignment(2, worker) {
            assert_ne!(
                <CheckerLicenses as CheckerSlots<AccountId>>::slot(i)
                    .unwrap()
                    .license,
                slot.license
            );
        }
        try_state_all();
    });
}

/// The rewards of a checked worker's era: after the era's finality the provider and the three
/// checkers (self-delegated, so each is its license's owner and operator) claim part of their
/// vested grants from the reward pot; the pot's held budget and balances add up.
#[test]
fn a_passing_verdict_earns_the_provider_and_the_checkers_rewards_they_claim_as_they_vest() {
    use frame_support::traits::fungible::{Inspect, InspectHold};
    use kaisar_runtime::{configs::rewards::reward_pot_account, Balances, Rewards};
    use pallet_rewards::Beneficiary;
    ext().execute_with(|| {
        let worker = register_worker();
        four_self_delegated_licenses();
        run_to(epoch_start(1));
        let slots = three_checkers_pass(1, worker);
        let era = Rewards::era_of(1);
        let provider = WorkerRegistry::worker(worker).unwrap().provider;
        // Not before its finality.
        assert!(Rewards::claim(
            RuntimeOrigin::signed(provider.clone()),
            era,
            Beneficiary::Provider(worker)
        )
        .is_err());
        let finality = epoch_start(Rewards::finality_epoch(era));
        run_to(finality + 1_000);
        let pot = reward_pot_account();
        let pot_total = Balances::total_balance(&pot);
        let before = Balances::free_balance(&provider);
        assert_ok!(Rewards::claim(
            RuntimeOrigin::signed(provider.clone()),
            era,
            Beneficiary::Provider(worker)
        ));
        let got = Balances::free_balance(&provider) - before;
        assert!(got > 0, "part of the provider's grant vested");
        let budget = pallet_rewards::EraBudgets::<Runtime>::get(era).unwrap();
        // Only proof of capacity was earned: the delivery pool was not taken.
        assert!(budget.poc_pool > 0 && budget.pod_pool == 0 && budget.checker_pool > 0);
        let grant = Rewards::grant_of(era, &budget, Beneficiary::Provider(worker))
            .unwrap()
            .0;
        assert_eq!(
            grant, budget.poc_pool,
            "the only worker gets the whole pool"
        );
        assert!(got < grant, "vesting: not all of it yet");
        for (slot, op) in &slots {
            let license = <CheckerLicenses as CheckerSlots<AccountId>>::slot(*slot)
                .unwrap()
                .license;
            let before = Balances::free_balance(op);
            assert_ok!(Rewards::claim(
                RuntimeOrigin::signed(op.clone()),
                era,
                Beneficiary::LicenseOwner(license)
            ));
            assert!(Balances::free_balance(op) > before);
        }
        // Money only moved out of the pot's held budget.
        let held = Balances::balance_on_hold(
            &kaisar_runtime::RuntimeHoldReason::Rewards(pallet_rewards::HoldReason::EraBudget),
            &pot,
        );
        let spent = pallet_rewards::EraBudgets::<Runtime>::get(era)
            .unwrap()
            .spent;
        assert_eq!(held, budget.held - spent);
        assert!(Balances::total_balance(&pot) < pot_total);
        try_state_all();
    });
}
