//! PoPW checking on the chain, end to end: three checkers with licenses (granted by governance,
//! self-delegated) check a worker that was registered with no governance involved. Each checker
//! commits a nonce, runs a real `kaisar-popw` challenge against the worker's agent (played
//! in-process with the CPU backend at a small work shape), seals its attestation, and reveals
//! it; the third reveal finalizes the check and the worker becomes Active. In a later epoch
//! the worker stops answering: the checkers attest `Unreachable`, the failed verdict fails the
//! worker's running order, and the user (who prefers points) is refunded as points.
//!
//! The checkers judge the rows (Freivalds checks against the Merkle commitment) for real; they
//! do not judge the timing (`min_ratio` 0), since a CPU in a test cannot meet a GPU model's
//! calibrated speed: production checkers keep the calibrated bounds.

use std::time::{Duration, Instant};

use kaisar_chain_client::{
    kaisar::{self, popw_attestations::events as attest_events},
    signer::account_of,
    subxt::ext::codec::Encode,
    subxt_signer::sr25519::Keypair,
    types::*,
    AccountId32, Balance, BlockNumber, Client, Signer, UNITS,
};
use kaisar_e2e::*;
use kaisar_popw::{
    checker::AfterCommit, messages, CalibrationTable, ChallengeExpectation, ChallengeRequest,
    Checker, CheckerConfig, CpuBackend, GpuSnapshot, GpuUuidHash, Nonce, Params, Worker,
    WorkerIdentity,
};

/// The small work shape of the test (a real worker accepts only the standard shape).
const PARAMS: Params = Params {
    m: 16,
    n: 16,
    k: 32,
    chunks: 4,
};
const MODEL: GpuModel = GpuModel::L40S;
/// The same model as `kaisar-popw` names it.
const POPW_MODEL: kaisar_primitives::GpuModel = kaisar_primitives::GpuModel::L40S;

fn blake2(bytes: &[u8]) -> [u8; 32] {
    sp_crypto_hashing::blake2_256(bytes)
}

/// An sr25519 key usable both to sign transactions and PoPW messages.
fn seeded(label: &str) -> ([u8; 32], Signer) {
    let seed = blake2(format!("kaisar-e2e/{}/{label}", run_tag()).as_bytes());
    (seed, Keypair::from_secret_key(seed).expect("valid seed"))
}

/// Build blocks (Chopsticks) or wait for them (a node) until the best block is `target`.
async fn reach(client: &Client, target: BlockNumber) {
    let now = client.best_number().await.unwrap();
    if now < target {
        client.advance_blocks(target - now).await.unwrap();
    }
}

async fn epoch_length(client: &Client) -> BlockNumber {
    client
        .fetch(kaisar::storage().checker_licenses().epoch_length(), ())
        .await
        .unwrap()
        .expect("epoch length")
}

struct TestChecker {
    signer: Signer,
    /// The seed of `signer`, for its `kaisar-popw` signer.
    seed: [u8; 32],
    license: u32,
}

/// The slots `checkers` hold in the check of `worker` in `epoch` (slot index, checker).
async fn assigned<'a>(
    client: &Client,
    checkers: &'a [TestChecker],
    epoch: u32,
    worker: u64,
) -> Vec<(u32, &'a TestChecker)> {
    let slots = client
        .call_api(
            kaisar::runtime_apis()
                .popw_attestations_api()
                .assignment(epoch, worker),
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    for slot in slots {
        let record = client
            .fetch(kaisar::storage().checker_licenses().slots(), (slot,))
            .await
            .unwrap()
            .expect("assigned slot exists");
        let c = checkers
            .iter()
            .find(|c| c.license == record.license)
            .unwrap_or_else(|| {
                panic!(
                    "slot {slot} (license {}, operator {}) is not one of this test's checkers: \
                     this chain has licenses delegated by someone else",
                    record.license, record.operator
                )
            });
        out.push((slot, c));
    }
    out
}

/// What a checker attests after one exchange: `answer` false plays a worker that never answers.
struct Exchange {
    nonce: [u8; 32],
    attestation: kaisar::runtime_types::pallet_popw_attestations::types::Attestation,
}

#[allow(clippy::too_many_arguments)]
fn run_challenge(
    checker: &TestChecker,
    agent_seed: &[u8; 32],
    worker_id: u64,
    gpu_uuid: &str,
    genesis: [u8; 32],
    randomness: [u8; 32],
    nonce: Nonce,
    answer: bool,
) -> Exchange {
    use kaisar::runtime_types::pallet_popw_attestations::types::{
        Attestation, ChallengeParams, ChallengeTerms, CheckVerdict,
    };
    let gpu = GpuUuidHash::of_uuid(gpu_uuid);
    // A table in which the claimed model is slow enough for any CPU; the rows are checked.
    let table = CalibrationTable::parse(
        "[[model]]\nmodel = \"L40S\"\nint8_dense_tops = 1e-9\ncalibrated_fraction = 1.0\n\
         status = \"estimate\"\nsource = \"e2e test\"\n",
    )
    .unwrap();
    let config = CheckerConfig {
        openings: 16,
        min_ratio: 0.0,
        max_ratio: f64::MAX,
        commit_timeout: Duration::from_secs(30),
        open_timeout: Duration::from_secs(10),
    };
    let agent = kaisar_popw::Signer::from_seed(agent_seed);
    let checker_key = kaisar_popw::Signer::from_seed(&checker.seed).public();
    let popw_checker =
        Checker::with_table(kaisar_popw::Signer::from_seed(&checker.seed), config, table);
    let request = ChallengeRequest {
        genesis_hash: genesis,
        epoch_randomness: randomness,
        nonce,
        worker_id,
        worker_agent: agent.public(),
        gpu_uuid_hash: gpu,
        claimed_model: POPW_MODEL,
        params: Some(PARAMS),
    };
    let t0 = Instant::now();
    let (mut session, challenge_bytes) = popw_checker.issue(&request, t0).unwrap();
    let challenge = session.challenge().clone();
    let terms = ChallengeTerms {
        nonce: nonce.0,
        gpu_uuid_hash: gpu.0,
        params: ChallengeParams {
            m: PARAMS.m,
            n: PARAMS.n,
            k: PARAMS.k,
            chunks: PARAMS.chunks,
        },
        commit_timeout_ms: challenge.commit_timeout_ms,
        open_timeout_ms: challenge.open_timeout_ms,
    };
    if !answer {
        // The worker never commits: the checker gives up at its commit timeout.
        let verdict = session
            .check_timeout(t0 + Duration::from_secs(31))
            .expect("a timeout verdict");
        assert!(!verdict.passed());
        return Exchange {
            nonce: nonce.0,
            attestation: Attestation {
                challenge_id: session.id().0,
                terms,
                merkle_root: [0; 32],
                work_time_ms: 0,
                throughput_gops: 0,
                ratio_ppm: 0,
                verdict: CheckVerdict::Unreachable,
                openings_digest: [0; 32],
                snapshots_digest: [0; 32],
            },
        };
    }
    let agent_key = agent.public();
    let mut worker = Worker::new(
        agent,
        WorkerIdentity {
            worker_id,
            gpu_uuid_hash: gpu,
            model: POPW_MODEL,
        },
        CpuBackend::new(),
    )
    .with_shape(PARAMS.shape());
    let accepted = worker
        .accept(
            &challenge_bytes,
            &ChallengeExpectation {
                checker: checker_key,
                nonce_commitment: nonce.commitment(),
                genesis_hash: genesis,
                epoch_randomness: randomness,
            },
        )
        .expect("the worker accepts the challenge");
    let mut clock = 1_700_000_000_000u64;
    let mut snapshot = move || {
        clock += 1000;
        GpuSnapshot::without_telemetry(gpu, clock)
    };
    let (pending, commit_bytes) = worker.work(accepted, &mut snapshot).unwrap();
    let open = match session
        .receive_commit(&commit_bytes, Instant::now())
        .unwrap()
    {
        AfterCommit::SendOpen(bytes) => bytes,
        AfterCommit::Done(v) => panic!("no open request: {v:?}"),
    };
    let openings = worker.open(&pending, &open).unwrap();
    let verdict = session.receive_openings(&openings, Instant::now()).unwrap();
    assert!(verdict.passed(), "{verdict:?}");
    let commit: kaisar_popw::Commit =
        messages::unseal(&commit_bytes, messages::max_commit_len(), &agent_key).unwrap();
    let work_time = verdict.work_time.unwrap_or_default();
    let mut snapshots = commit.before.encode();
    snapshots.extend(commit.after.encode());
    Exchange {
        nonce: nonce.0,
        attestation: Attestation {
            challenge_id: verdict.challenge_id.0,
            terms,
            merkle_root: commit.root,
            work_time_ms: work_time.as_millis().min(u32::MAX as u128) as u32,
            throughput_gops: verdict
                .throughput_tops
                .map_or(0, |t| (t * 1000.0).min(u64::MAX as f64) as u64),
            ratio_ppm: verdict
                .ratio
                .map_or(0, |r| (r * 1e6).min(u32::MAX as f64) as u32),
            verdict: CheckVerdict::Pass,
            openings_digest: blake2(&openings),
            snapshots_digest: blake2(&snapshots),
        },
    }
}

/// One whole check of `worker` in `epoch` by `checkers` (all assigned slots must be theirs):
/// commit, challenge, seal, reveal. Returns the outcome event of the finalizing reveal and the
/// epoch the check ran in: on this chain the three checkers hold the only three slots, and the
/// assignment draws at most `MaxAssignmentTries` times with replacement, so now and then it finds
/// only two of them; nothing happens to an epoch's check nobody commits to, so the check then
/// runs in the next epoch (a fresh draw) instead.
#[allow(clippy::too_many_arguments)]
async fn check(
    client: &Client,
    checkers: &[TestChecker],
    epoch: u32,
    worker_id: u64,
    agent_seed: &[u8; 32],
    gpu_uuid: &str,
    answer: bool,
) -> (
    attest_events::CheckFinalized,
    kaisar_chain_client::TxOutcome,
    u32,
) {
    let len = epoch_length(client).await;
    let mut epoch = epoch;
    let mut tries = 0;
    let slots = loop {
        reach(client, epoch * len).await;
        let slots = assigned(client, checkers, epoch, worker_id).await;
        if slots.len() == 3 {
            break slots;
        }
        tries += 1;
        assert!(
            tries < 4,
            "three slots assigned in none of 4 epochs: {}",
            slots.len()
        );
        epoch += 1;
    };
    let start = epoch * len;

    // Commit nonces (before the challenge randomness is drawn).
    let mut nonces = Vec::new();
    for (slot, c) in &slots {
        let nonce = Nonce::random();
        ok(
            client,
            "commit_nonce",
            &kaisar::tx().popw_attestations().commit_nonce(
                epoch,
                worker_id,
                *slot,
                nonce.commitment().0,
            ),
            &c.signer,
        )
        .await;
        nonces.push(nonce);
    }
    // Wait for the challenge randomness.
    let seeds = loop {
        let seeds = client
            .call_api(
                kaisar::runtime_apis()
                    .popw_attestations_api()
                    .epoch_seeds(epoch),
            )
            .await
            .unwrap()
            .expect("seeds of the epoch");
        if let Some(r) = seeds.challenge {
            break r;
        }
        let now = client.best_number().await.unwrap();
        client.advance_blocks(1).await.unwrap();
        assert!(
            now < start + len,
            "no challenge randomness in epoch {epoch}"
        );
    };
    let genesis = client.genesis_hash().0;

    // Challenge off-chain, then seal.
    let mut exchanges = Vec::new();
    for ((slot, c), nonce) in slots.iter().zip(nonces) {
        let ex = run_challenge(
            c, agent_seed, worker_id, gpu_uuid, genesis, seeds, nonce, answer,
        );
        let salt = blake2(&[&ex.nonce[..], b"salt"].concat());
        let mut sealed = ex.attestation.encode();
        sealed.extend_from_slice(&salt);
        ok(
            client,
            "seal",
            &kaisar::tx()
                .popw_attestations()
                .seal(epoch, worker_id, *slot, blake2(&sealed)),
            &c.signer,
        )
        .await;
        exchanges.push((*slot, c, ex, salt));
    }

    // Reveal (open as soon as every assigned slot sealed); the last one finalizes.
    let mut finalized = None;
    for (slot, c, ex, salt) in exchanges {
        let out = ok(
            client,
            "reveal",
            &kaisar::tx()
                .popw_attestations()
                .reveal(epoch, worker_id, slot, ex.attestation, salt),
            &c.signer,
        )
        .await;
        if let Some(ev) = out.find_first::<attest_events::CheckFinalized>().unwrap() {
            finalized = Some((ev, out));
        }
    }
    let (ev, out) = finalized.expect("the third reveal finalizes the check");
    (ev, out, epoch)
}

#[tokio::test]
async fn a_worker_is_activated_by_three_checkers_and_a_failed_verdict_refunds_its_order_as_points()
{
    let _serial = serial().await;
    let client = connect().await;
    let alice = key("alice");
    let len = epoch_length(&client).await;

    // Three checkers: a license each (granted by governance), delegated to themselves.
    let mut checkers = Vec::new();
    for i in 0..3 {
        let (seed, signer) = seeded(&format!("checker{i}"));
        fund(&client, &key("ferdie"), &account_of(&signer), 10 * UNITS).await;
        let license = self_delegated_license(&client, &alice, &signer).await;
        checkers.push(TestChecker {
            signer,
            seed,
            license,
        });
    }

    // A provider registers a worker: no governance verifies it.
    let provider = fresh_key("//Dave//checked-provider");
    fund(&client, &key("dave"), &account_of(&provider), 1_000 * UNITS).await;
    let (agent_seed, agent) = seeded("agent");
    fund(&client, &provider, &account_of(&agent), 10 * UNITS).await;
    let spec = worker_spec("checked", &account_of(&agent), MODEL, 1, 3 * UNITS);
    let gpu_uuid = format!("GPU-{}-checked-gpu0", run_tag());
    assert_eq!(
        GpuUuidHash::of_uuid(&gpu_uuid).0,
        spec.gpus.0[0].uuid_hash.0,
        "the test's GPU UUID is the registered one"
    );
    let registered = ok(
        &client,
        "register_worker",
        &kaisar::tx().worker_registry().register_worker(spec),
        &provider,
    )
    .await;
    let worker_id = registered
        .expect_event::<kaisar::worker_registry::events::WorkerRegistered>()
        .unwrap()
        .worker_id;
    let status = client.worker(worker_id).await.unwrap().unwrap().status;
    assert_eq!(status, WorkerStatus::PendingVerification);

    // The slots are active from the next epoch; the worker is checked there.
    let epoch = client.best_number().await.unwrap() / len + 1;
    let (finalized, _, _) = check(
        &client,
        &checkers,
        epoch,
        worker_id,
        &agent_seed,
        &gpu_uuid,
        true,
    )
    .await;
    assert_eq!(finalized.worker, worker_id);
    assert_eq!(finalized.passes, 3, "{finalized:?}");
    let info = client.worker(worker_id).await.unwrap().unwrap();
    assert_eq!(
        info.status,
        WorkerStatus::Active,
        "verified by the checkers"
    );
    let throughput = client
        .call_api(
            kaisar::runtime_apis()
                .popw_attestations_api()
                .worker_throughput(worker_id),
        )
        .await
        .unwrap();
    assert!(throughput.is_some(), "median throughput stored");

    // A user who prefers points rents the worker; the agent accepts.
    let (_, user) = seeded("user");
    fund(&client, &key("eve"), &account_of(&user), 100 * UNITS).await;
    assert_eq!(
        client.refund_preference(&account_of(&user)).await.unwrap(),
        RefundPreference::Points,
        "service failures are refunded as points by default"
    );
    ok(
        &client,
        "heartbeat",
        &kaisar::tx().worker_registry().heartbeat(worker_id, 1),
        &agent,
    )
    .await;
    let spec = order_spec(worker_id, MODEL, 1, 10 * len, 3 * UNITS);
    let (ev, _) = place_order(&client, &user, spec, 0).await;
    let order_id = ev.order_id;
    ok(
        &client,
        "accept_order",
        &kaisar::tx()
            .orders()
            .accept_order(order_id, BoundedVec(b"sealed access".to_vec())),
        &agent,
    )
    .await;
    let user_id: AccountId32 = account_of(&user);
    let total = client.order(order_id).await.unwrap().unwrap().total_cost;

    // The agent reports usage late in the epoch: the period waits `MaturityDelay` blocks, but
    // the worker's passing verdict in the next epoch matures it before that.
    let delay = client
        .fetch(kaisar::storage().orders().maturity_delay(), ())
        .await
        .unwrap()
        .unwrap_or_default();
    let next = client.best_number().await.unwrap() / len + 1;
    reach(&client, (next * len).saturating_sub(4)).await;
    let report = ok(
        &client,
        "report_usage",
        &kaisar::tx().orders().report_usage(
            order_id,
            1,
            UsageReport {
                gpu_util_permille: 900,
                gpu_mem_used_mib: 1_000,
                uptime_secs: 60,
            },
        ),
        &agent,
    )
    .await;
    assert!(!report.has::<kaisar::orders::events::ProviderPaid>());
    let (finalized, _, maturity_epoch) = check(
        &client,
        &checkers,
        next,
        worker_id,
        &agent_seed,
        &gpu_uuid,
        true,
    )
    .await;
    assert_eq!(finalized.passes, 3, "{finalized:?}");
    let settled = ok(
        &client,
        "settle_order",
        &kaisar::tx().orders().settle_order(order_id),
        &user,
    )
    .await;
    assert!(
        settled.block_number < report.block_number + delay,
        "matured by the verdict (block {}), not by time (block {})",
        settled.block_number,
        report.block_number + delay
    );
    let paid = settled
        .expect_event::<kaisar::orders::events::ProviderPaid>()
        .unwrap();
    assert!(paid.amount > 0);
    let paid_so_far = client.order(order_id).await.unwrap().unwrap().paid_so_far;
    assert_eq!(paid_so_far, paid.amount);

    // The user disputes the service: a bond is held and fresh checkers re-check the worker
    // next epoch. Here every slot of the network checked its latest verdict, so no fresh slot
    // is left: the re-check is void and the bond comes back once it is finalized.
    let disputed = ok(
        &client,
        "dispute",
        &kaisar::tx().popw_attestations().dispute(order_id),
        &user,
    )
    .await;
    let dispute = disputed
        .expect_event::<attest_events::ServiceDisputed>()
        .unwrap();
    assert_eq!(dispute.worker, worker_id);
    let held_bond = |holds: Vec<(RuntimeHoldReason, Balance)>| -> Balance {
        holds
            .into_iter()
            .filter(|(r, _)| *r == dispute_bond_hold())
            .map(|(_, a)| a)
            .sum()
    };
    assert_eq!(
        held_bond(client.holds(&user_id).await.unwrap()),
        dispute.bond
    );
    assert_chain_consistent(&client).await;
    let points_before = client.points_of(&user_id).await.unwrap();

    // The next epoch the worker does not answer: three Unreachable attestations fail it.
    let epoch = client.best_number().await.unwrap() / len + 1;
    assert_eq!(epoch, dispute.recheck_epoch);
    let (finalized, outcome, _) = check(
        &client,
        &checkers,
        epoch,
        worker_id,
        &agent_seed,
        &gpu_uuid,
        false,
    )
    .await;
    assert_eq!(finalized.passes, 0, "{finalized:?}");
    let order = client.order(order_id).await.unwrap().unwrap();
    assert!(
        matches!(order.status, OrderStatus::Failed { .. }),
        "{:?}",
        order.status
    );
    assert_eq!(
        order.paid_so_far, paid_so_far,
        "only the matured period was paid"
    );
    let refunded = client.points_of(&user_id).await.unwrap() - points_before;
    let refund = outcome
        .expect_event::<kaisar::orders::events::OrderRefunded>()
        .unwrap();
    assert_eq!(refund.order_id, order_id);
    assert_eq!(refund.tokens, 0, "the refund is paid as points");
    assert!(refund.points > 0);
    assert_eq!(refunded, refund.points);
    // Points are credited at the chain's rate (a FixedU128; 10^18 is one point per unit).
    let per_token = client.points_per_token().await.unwrap();
    assert_eq!(
        refund.points,
        ((total - paid_so_far) * per_token) / 1_000_000_000_000_000_000,
        "everything not paid is refunded"
    );
    assert!(client.escrow(order_id).await.unwrap().is_none());

    // The dispute's re-check had no fresh slot: after its reveal deadline anyone finalizes it,
    // it is void and the bond is returned.
    let deadline_blocks = (len / 4).max(1) * 3;
    reach(&client, epoch * len + deadline_blocks).await;
    let concluded = ok(
        &client,
        "finalize_recheck",
        &kaisar::tx().popw_attestations().finalize_recheck(worker_id),
        &key("ferdie"),
    )
    .await
    .expect_event::<attest_events::RecheckConcluded>()
    .unwrap();
    assert_eq!(concluded.assigned, 0, "no fresh slot: {concluded:?}");
    assert!(matches!(
        concluded.result,
        kaisar::runtime_types::pallet_popw_attestations::types::RecheckResult::Void
    ));
    assert_eq!(concluded.bond_to, user_id);
    assert_eq!(held_bond(client.holds(&user_id).await.unwrap()), 0);

    // Rewards: the era of the second check (one epoch on the dev chain), in which the worker
    // passed and its reported usage matured and was paid, closes three epochs after it; then
    // the provider and a checker claim what has vested of their grants (vesting runs 30 days:
    // a small part so far), paid from the reward pot. (The checks' measured throughput on a
    // CPU at the test's small shape rounds to 0 GOPS: the provider earns by delivery here.)
    let era = client
        .call_api(kaisar::runtime_apis().rewards_api().current_era())
        .await
        .unwrap();
    let first_era = maturity_epoch; // one epoch per era on the dev chain
    assert!(era > first_era);
    let era_len = client
        .fetch(kaisar::storage().rewards().era_length(), ())
        .await
        .unwrap()
        .unwrap_or(1);
    assert_eq!(era_len, 1, "the dev preset's one-epoch eras");
    let finality_epochs = client
        .constant(kaisar::constants().rewards().finality_epochs())
        .await
        .unwrap();
    reach(&client, (first_era + 1 + finality_epochs) * len + 2).await;
    let lines = client
        .call_api(kaisar::runtime_apis().rewards_api().rewards_of(
            account_of(&provider),
            first_era,
            first_era,
        ))
        .await
        .unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].grant > 0 && lines[0].terms[1] > 0, "{lines:?}");
    type Beneficiary = kaisar::runtime_types::pallet_rewards::types::Beneficiary;
    let provider_claim = ok(
        &client,
        "claim (provider)",
        &kaisar::tx()
            .rewards()
            .claim(first_era, Beneficiary::Provider(worker_id)),
        &provider,
    )
    .await;
    assert!(provider_claim.has::<kaisar::rewards::events::EraClosed>());
    let paid = provider_claim
        .expect_event::<kaisar::rewards::events::RewardClaimed>()
        .unwrap();
    assert!(paid.amount > 0 && paid.amount < lines[0].grant, "{paid:?}");
    let checker = &checkers[0];
    let checker_claim = ok(
        &client,
        "claim (license owner)",
        &kaisar::tx()
            .rewards()
            .claim(first_era, Beneficiary::LicenseOwner(checker.license)),
        &checker.signer,
    )
    .await;
    assert!(
        checker_claim
            .expect_event::<kaisar::rewards::events::RewardClaimed>()
            .unwrap()
            .amount
            > 0
    );
    assert_chain_consistent(&client).await;

    // Leave no slots behind for later runs on the same chain.
    for c in &checkers {
        ok(
            &client,
            "undelegate",
            &kaisar::tx().checker_licenses().undelegate(c.license),
            &c.signer,
        )
        .await;
    }
    assert_chain_consistent(&client).await;
}
