//! The marketplace end to end inside the runtime: the development preset's genesis, then block
//! after block (`Executive::initialize_block`, the timestamp inherent,
//! signed extrinsics applied by `Executive` with real signatures, nonces and fees, every
//! pallet's `on_finalize`), the whole lifecycle of a worker and four orders. Afterwards every
//! pallet's `try_state` runs and the money is accounted for to the last unit.
//!
//! Not modelled: the relay chain. `ParachainSystem` needs a `set_validation_data` inherent
//! with a relay-chain state proof in every block, so its `on_finalize` (which only reads that
//! inherent's data) is left out; block authorship is Aura with Alice, slot = block number.

use std::collections::BTreeMap;

use codec::Encode;
use frame_support::{
    assert_ok,
    dispatch::{DispatchClass, GetDispatchInfo},
    traits::{fungible::InspectHold, OnFinalize, OnIdle, TryState, TryStateSelect},
    BoundedVec,
};
use kaisar_primitives::{GpuModel, HostClass, OrderId, WorkerId, WorkerStatus};
use kaisar_runtime::{
    configs::{
        kaisar::{
            points_pot_account, AcceptTimeout, HeartbeatTimeout, MinDuration, OrderDeposit,
            DEV_MATURITY_DELAY, WORKER_DEPOSIT, WORKER_REGISTRATION_FEE,
        },
        TreasuryAccount,
    },
    genesis_config_presets::{
        demo_points_holder, preset_genesis_config, DEMO_POINTS, DEMO_POT_BALANCE,
        DEV_ACCOUNT_BALANCE,
    },
    AllPalletsWithSystem, Aura, AuraExt, Balance, Balances, BlockNumber, BuildStorage, Escrow,
    Executive, Hash, Header, Orders, ParachainInfo, Points, Runtime, RuntimeCall, RuntimeEvent,
    RuntimeHoldReason, Sudo, System, Timestamp, TransactionPayment, TxExtension,
    UncheckedExtrinsic, WeightReclaim, WorkerRegistry, EXISTENTIAL_DEPOSIT, SLOT_DURATION, UNITS,
};
use pallet_orders::{FailureReason, OrderSpec, OrderStatus, UsageReport};
use pallet_worker_registry::{GpuDevice, WorkerSpec};
use sp_consensus_aura::{Slot, AURA_ENGINE_ID};
use sp_core::{crypto::AccountId32, H256};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{
    generic::{Digest, DigestItem, Era, SignedPayload},
    traits::Header as _,
    transaction_validity::{InvalidTransaction, TransactionValidityError},
    ApplyExtrinsicResult, DispatchError, MultiAddress, MultiSignature,
};

/// Every pallet's `on_finalize` except `ParachainSystem`'s (see the crate docs).
type FinalizedPallets = (
    System,
    Timestamp,
    ParachainInfo,
    WeightReclaim,
    Balances,
    TransactionPayment,
    Sudo,
    Aura,
    AuraExt,
    WorkerRegistry,
    Escrow,
    Points,
    Orders,
);

/// The chain under test: the externalities plus what the blocks so far produced.
struct Chain {
    ext: sp_io::TestExternalities,
    parent_hash: Hash,
    /// Every event of every finished block, in order.
    events: Vec<RuntimeEvent>,
    /// Transaction fees paid, per account.
    fees: BTreeMap<AccountId32, Balance>,
}

impl Chain {
    /// The development preset's genesis, before block 1.
    fn development() -> Self {
        let storage = preset_genesis_config("development")
            .expect("preset fits the runtime")
            .build_storage()
            .expect("genesis storage builds");
        let mut ext = sp_io::TestExternalities::new(storage);
        let parent_hash = ext.execute_with(|| System::block_hash(0));
        Chain {
            ext,
            parent_hash,
            events: Vec::new(),
            fees: BTreeMap::new(),
        }
    }

    fn execute<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.ext.execute_with(f)
    }

    /// Build one block: initialise, `on_initialize`, timestamp inherent, then `extrinsics`
    /// (what `Executive::apply_extrinsic` says of each is returned), `on_finalize`, finalise.
    fn block(&mut self, extrinsics: Vec<UncheckedExtrinsic>) -> Vec<ApplyExtrinsicResult> {
        let parent_hash = self.parent_hash;
        let (header, results, events) = self.ext.execute_with(|| {
            let number = System::block_number() + 1;
            let slot = Slot::from(u64::from(number));
            let digest = Digest {
                logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())],
            };
            // Reset events, runtime-upgrade hooks (first block), system initialise, every
            // pallet's `on_initialize` with its weight registered.
            Executive::initialize_block(&Header::new(
                number,
                Default::default(),
                Default::default(),
                parent_hash,
                digest,
            ));

            let now = u64::from(number) * SLOT_DURATION;
            let inherent = RuntimeCall::Timestamp(pallet_timestamp::Call::set { now });
            assert_ok!(
                Executive::apply_extrinsic(UncheckedExtrinsic::new_bare(inherent))
                    .expect("timestamp inherent is valid")
            );
            Executive::inherents_applied();

            let results = extrinsics
                .into_iter()
                .map(Executive::apply_extrinsic)
                .collect::<Vec<_>>();

            // `Executive::finalize_block` without `ParachainSystem` (see the crate docs).
            System::note_finished_extrinsics();
            let remaining = <Runtime as frame_system::Config>::BlockWeights::get()
                .max_block
                .saturating_sub(System::block_weight().total());
            let idle = <FinalizedPallets as OnIdle<BlockNumber>>::on_idle(number, remaining);
            System::register_extra_weight_unchecked(idle, DispatchClass::Mandatory);
            <FinalizedPallets as OnFinalize<BlockNumber>>::on_finalize(number);
            let events = System::events()
                .into_iter()
                .map(|r| r.event)
                .collect::<Vec<_>>();
            (System::finalize(), results, events)
        });
        for event in &events {
            if let RuntimeEvent::TransactionPayment(
                pallet_transaction_payment::Event::TransactionFeePaid {
                    who,
                    actual_fee,
                    tip,
                },
            ) = event
            {
                *self.fees.entry(who.clone()).or_default() += actual_fee + tip;
            }
        }
        self.events.extend(events);
        self.parent_hash = header.hash();
        results
    }

    /// Build one block with `extrinsics`, all of which must be valid and dispatch successfully.
    fn block_ok(&mut self, extrinsics: Vec<UncheckedExtrinsic>) {
        let results = self.block(extrinsics);
        let number = self.number();
        for (i, result) in results.into_iter().enumerate() {
            assert_eq!(result, Ok(Ok(())), "extrinsic {i} of block {number}");
        }
    }

    /// Build empty blocks until the chain is at block `n`.
    fn run_to(&mut self, n: BlockNumber) {
        while self.number() < n {
            self.block(vec![]);
        }
    }

    fn number(&mut self) -> BlockNumber {
        self.execute(System::block_number)
    }

    fn fees_of(&self, who: &AccountId32) -> Balance {
        self.fees.get(who).copied().unwrap_or_default()
    }

    /// A signed transaction of `who` with its current nonce: immortal, no tip, no metadata
    /// hash; signed over the real `TxExtension` payload.
    fn signed(&mut self, who: Sr25519Keyring, call: RuntimeCall) -> UncheckedExtrinsic {
        let nonce = self.execute(|| System::account_nonce(who.to_account_id()));
        let extension: TxExtension = (
            frame_system::CheckNonZeroSender::<Runtime>::new(),
            frame_system::CheckSpecVersion::<Runtime>::new(),
            frame_system::CheckTxVersion::<Runtime>::new(),
            frame_system::CheckGenesis::<Runtime>::new(),
            frame_system::CheckEra::<Runtime>::from(Era::Immortal),
            frame_system::CheckNonce::<Runtime>::from(nonce),
            frame_system::CheckWeight::<Runtime>::new(),
            pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
            frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(false),
        )
            .into();
        let payload = self.execute(|| {
            SignedPayload::new(call.clone(), extension.clone()).expect("implicit data is known")
        });
        let signature = payload.using_encoded(|bytes| who.sign(bytes));
        UncheckedExtrinsic::new_signed(
            call,
            MultiAddress::Id(who.to_account_id()),
            MultiSignature::Sr25519(signature),
            extension,
        )
    }

    /// The events of the last finished block.
    fn last_block_events(&mut self) -> Vec<RuntimeEvent> {
        self.execute(|| System::events().into_iter().map(|r| r.event).collect())
    }
}

fn account(who: Sr25519Keyring) -> AccountId32 {
    who.to_account_id()
}

fn free(who: &AccountId32) -> Balance {
    Balances::free_balance(who)
}

fn held(reason: RuntimeHoldReason, who: &AccountId32) -> Balance {
    Balances::balance_on_hold(&reason, who)
}

const DEPOSIT_HOLD: RuntimeHoldReason =
    RuntimeHoldReason::WorkerRegistry(pallet_worker_registry::HoldReason::WorkerDeposit);
const ESCROW_HOLD: RuntimeHoldReason =
    RuntimeHoldReason::Escrow(pallet_escrow::HoldReason::OrderEscrow);

/// Price of the demo worker: 6 tokens per GPU per hour (0.01 token per GPU per block).
const PRICE: Balance = 6 * UNITS;

fn worker_spec(agent: Sr25519Keyring) -> pallet_worker_registry::WorkerSpecOf<Runtime> {
    WorkerSpec {
        host_class: HostClass::Server,
        gpus: BoundedVec::truncate_from(
            (0..2u8)
                .map(|i| GpuDevice {
                    model: GpuModel::Rtx4090,
                    vram_mib: 24_576,
                    uuid_hash: H256(sp_io::hashing::blake2_256(
                        &[b"GPU-flow-".as_slice(), &[i]].concat(),
                    )),
                })
                .collect(),
        ),
        cpu_cores: 32,
        ram_mib: 128 * 1024,
        disk_gib: 2_000,
        region: BoundedVec::truncate_from(b"eu-west".to_vec()),
        price_per_gpu_hour: PRICE,
        endpoint: BoundedVec::truncate_from(b"https://worker.example:8443".to_vec()),
        agent: account(agent),
    }
}

fn order_spec(worker: WorkerId, duration: BlockNumber) -> OrderSpec<Runtime> {
    OrderSpec {
        image: BoundedVec::truncate_from(b"docker.io/pytorch/pytorch:2.5.1-cuda12.4".to_vec()),
        gpu_model: GpuModel::Rtx4090,
        gpu_count: 1,
        duration,
        max_price_per_gpu_hour: PRICE,
        target_worker: Some(worker),
        user_public_key: [7; 32],
        ports: BoundedVec::truncate_from(vec![22, 8888]),
    }
}

fn place(spec: OrderSpec<Runtime>, max_points: Balance) -> RuntimeCall {
    RuntimeCall::Orders(pallet_orders::Call::place_order { spec, max_points })
}

fn accept(order_id: OrderId) -> RuntimeCall {
    RuntimeCall::Orders(pallet_orders::Call::accept_order {
        order_id,
        access: BoundedVec::truncate_from(b"sealed: ssh root@203.0.113.7 -p 2222".to_vec()),
    })
}

fn report(order_id: OrderId, seq: u32) -> RuntimeCall {
    RuntimeCall::Orders(pallet_orders::Call::report_usage {
        order_id,
        seq,
        usage: UsageReport {
            gpu_util_permille: 870,
            gpu_mem_used_mib: 20_000,
            uptime_secs: 60,
        },
    })
}

fn heartbeat(worker_id: WorkerId) -> RuntimeCall {
    RuntimeCall::WorkerRegistry(pallet_worker_registry::Call::heartbeat {
        worker_id,
        free_gpus_reported: 2,
    })
}

fn order(id: OrderId) -> pallet_orders::Order<Runtime> {
    pallet_orders::Orders::<Runtime>::get(id).expect("order stored")
}

fn worker_status(id: WorkerId) -> WorkerStatus {
    pallet_worker_registry::Workers::<Runtime>::get(id)
        .expect("worker stored")
        .status
}

fn points_of(who: &AccountId32) -> Balance {
    pallet_points::PointsOf::<Runtime>::get(who)
}

/// Every account's balance (free + reserved, holds included) adds up to the total issuance.
fn assert_accounts_add_up_to_issuance() {
    let sum: Balance = frame_system::Account::<Runtime>::iter()
        .map(|(_, info)| info.data.free + info.data.reserved)
        .sum();
    assert_eq!(
        sum,
        Balances::total_issuance(),
        "accounts do not add up to the total issuance"
    );
}

#[test]
fn marketplace_lifecycle_block_by_block_keeps_every_invariant_and_conserves_money() {
    let bob = Sr25519Keyring::Bob; // provider
    let dave = Sr25519Keyring::Dave; // Bob's worker's agent
    let charlie = Sr25519Keyring::Charlie; // user
    let eve = Sr25519Keyring::Eve; // demo user with genesis points
    assert_eq!(account(eve), demo_points_holder());

    let mut chain = Chain::development();
    let issuance = chain.execute(|| {
        assert_accounts_add_up_to_issuance();
        assert_eq!(free(&points_pot_account()), DEMO_POT_BALANCE);
        assert_eq!(points_of(&account(eve)), DEMO_POINTS);
        Balances::total_issuance()
    });
    let treasury = TreasuryAccount::get();
    let pot = points_pot_account();

    // Block 1: Bob registers a 2-GPU worker run by agent Dave: fee to the treasury, deposit held.
    let register = RuntimeCall::WorkerRegistry(pallet_worker_registry::Call::register_worker {
        spec: worker_spec(dave),
    });
    let xt = chain.signed(bob, register);
    chain.block_ok(vec![xt]);
    let worker: WorkerId = 0;
    chain.execute(|| {
        assert_eq!(worker_status(worker), WorkerStatus::PendingVerification);
        assert_eq!(held(DEPOSIT_HOLD, &account(bob)), WORKER_DEPOSIT);
    });

    // Block 2: the dev chain's governance (sudo Alice) verifies it. A non-root caller cannot.
    let verify = RuntimeCall::WorkerRegistry(pallet_worker_registry::Call::verify_worker {
        worker_id: worker,
    });
    let by_charlie = chain.signed(charlie, verify.clone());
    let by_sudo = chain.signed(
        Sr25519Keyring::Alice,
        RuntimeCall::Sudo(pallet_sudo::Call::sudo {
            call: Box::new(verify),
        }),
    );
    let results = chain.block(vec![by_charlie, by_sudo]);
    // Included (Charlie pays the fee) but fails; sudo succeeds.
    assert_eq!(results, vec![Ok(Err(DispatchError::BadOrigin)), Ok(Ok(()))]);
    assert!(chain.last_block_events().iter().any(|e| matches!(
        e,
        RuntimeEvent::Sudo(pallet_sudo::Event::Sudid {
            sudo_result: Ok(())
        })
    )));
    chain.execute(|| assert_eq!(worker_status(worker), WorkerStatus::Active));

    // Block 3: the agent heartbeats.
    let xt = chain.signed(dave, heartbeat(worker));
    chain.block_ok(vec![xt]);

    // Block 4: Charlie orders one GPU for 20 blocks (order 0). Block 5: the agent accepts it.
    let duration = 2 * MinDuration::get();
    let xt = chain.signed(charlie, place(order_spec(worker, duration), 0));
    chain.block_ok(vec![xt]);
    let order0: OrderId = 0;
    let total0 = chain.execute(|| {
        let o = order(order0);
        // 6 tokens/GPU/hour for 20 blocks of 6 s = 2 minutes: 0.2 tokens.
        assert_eq!(o.total_cost, UNITS / 5);
        assert_eq!(held(ESCROW_HOLD, &account(charlie)), o.total_cost);
        o.total_cost
    });
    let xt = chain.signed(dave, accept(order0));
    chain.block_ok(vec![xt]);
    let started = chain.number();
    chain.execute(|| {
        assert!(matches!(order(order0).status, OrderStatus::Running { started_at, .. } if started_at == started))
    });

    // Block 10: a periodic usage report queues the 5 blocks served; they are paid when they
    // mature, DEV_MATURITY_DELAY (20) blocks later.
    chain.run_to(9);
    let xt = chain.signed(dave, report(order0, 1));
    chain.block_ok(vec![xt]);
    chain.execute(|| {
        assert_eq!(order(order0).paid_so_far, 0);
        let periods = pallet_orders::Unmatured::<Runtime>::get(order0);
        assert_eq!(periods.len(), 1);
        assert_eq!(periods[0].owed, total0 * 5 / 20);
        assert_eq!(periods[0].reported_at + DEV_MATURITY_DELAY, 30);
    });

    // Block 11: Charlie orders again (order 1); block 12: cancels while pending. Full refund of
    // the payment; the order deposit is forfeited to the treasury.
    let xt = chain.signed(charlie, place(order_spec(worker, duration), 0));
    chain.block_ok(vec![xt]);
    let order1: OrderId = 1;
    let xt = chain.signed(
        charlie,
        RuntimeCall::Orders(pallet_orders::Call::cancel_order { order_id: order1 }),
    );
    chain.block_ok(vec![xt]);
    chain.execute(|| {
        assert!(matches!(
            order(order1).status,
            OrderStatus::Cancelled { .. }
        ));
        assert_eq!(held(ESCROW_HOLD, &account(charlie)), total0);
    });

    // Block 13: Eve orders with half the cost in points (order 2): the pot sponsors that half.
    // Nobody accepts it: AcceptTimeout blocks later the orders pallet's `on_initialize` fails it
    // and (Eve prefers points, the default) the refund becomes points, its tokens the pot's.
    let xt = chain.signed(eve, place(order_spec(worker, duration), total0 / 2));
    chain.block_ok(vec![xt]);
    let order2: OrderId = 2;
    let placed2 = chain.number();
    let discount2 = chain.execute(|| {
        let o = order(order2);
        assert_eq!(o.discount, total0 / 2);
        assert_eq!(held(ESCROW_HOLD, &pot), o.discount);
        assert_eq!(points_of(&account(eve)), DEMO_POINTS - o.discount);
        o.discount
    });

    // Block 26: the final report after the end (started 5 + 20) ends order 0 for the worker
    // (GPU free, `OrderCompleted`), but nothing has matured yet: it is Settling until its last
    // period matures at 26 + 20.
    chain.run_to(started + duration);
    let xt = chain.signed(dave, report(order0, 2));
    chain.block_ok(vec![xt]);
    let final0 = chain.number();
    chain.execute(|| {
        let o = order(order0);
        assert_eq!(
            o.status,
            OrderStatus::Settling {
                ended_at: final0,
                cancelled: false,
                settles_at: final0 + DEV_MATURITY_DELAY
            }
        );
        assert_eq!(o.paid_so_far, 0);
        // Its GPU is free: only Eve's pending order 2 holds one.
        assert_eq!(
            pallet_worker_registry::Workers::<Runtime>::get(worker)
                .unwrap()
                .reserved_gpus,
            1
        );
    });
    assert!(chain.last_block_events().iter().any(|e| matches!(
        e,
        RuntimeEvent::Orders(pallet_orders::Event::OrderCompleted { order_id: 0 })
    )));

    // Block 30: the agent heartbeats again (the worker would go Offline 100 blocks after the
    // last heartbeat).
    chain.run_to(29);
    let xt = chain.signed(dave, heartbeat(worker));
    chain.block_ok(vec![xt]);
    let last_heartbeat = chain.number();

    // Order 2 times out.
    chain.run_to(placed2 + AcceptTimeout::get());
    chain.execute(|| {
        let o = order(order2);
        assert_eq!(
            o.status,
            OrderStatus::Failed {
                at: placed2 + AcceptTimeout::get(),
                reason: FailureReason::NotAccepted
            }
        );
        assert_eq!(held(ESCROW_HOLD, &pot), 0);
        assert_eq!(held(ESCROW_HOLD, &account(eve)), 0);
        // The sponsored half came back as points; the half Eve paid was credited as points.
        assert_eq!(points_of(&account(eve)), DEMO_POINTS + (total0 - discount2));
        // Meanwhile order 0 settled by itself at its maturity: the provider has the total.
        let o = order(order0);
        assert_eq!(
            o.status,
            OrderStatus::Completed {
                at: final0 + DEV_MATURITY_DELAY
            }
        );
        assert_eq!(o.paid_so_far, total0);
    });

    // Block 70-71: Charlie orders a long job (order 3) and the agent accepts it; one report.
    chain.run_to(69);
    let long = 20 * MinDuration::get();
    let xt = chain.signed(charlie, place(order_spec(worker, long), 0));
    chain.block_ok(vec![xt]);
    let order3: OrderId = 3;
    let xt = chain.signed(dave, accept(order3));
    chain.block_ok(vec![xt]);
    chain.run_to(79);
    let xt = chain.signed(dave, report(order3, 1));
    chain.block_ok(vec![xt]);
    let (total3, paid3) = chain.execute(|| {
        let o = order(order3);
        assert_eq!(o.paid_so_far, 0);
        let reported = pallet_orders::Unmatured::<Runtime>::get(order3)[0].owed;
        (o.total_cost, reported)
    });
    assert!(paid3 > 0 && paid3 < total3);

    // The agent goes silent. The registry's sweep takes the worker Offline once its heartbeat
    // is overdue, and the orders pallet (its availability hook) fails order 3: the reported
    // period matured meanwhile and is paid, the unserved rest is refunded to Charlie as
    // points.
    chain.run_to(last_heartbeat + HeartbeatTimeout::get() + 2);
    chain.execute(|| {
        assert_eq!(worker_status(worker), WorkerStatus::Offline);
        let o = order(order3);
        assert!(
            matches!(
                o.status,
                OrderStatus::Failed {
                    reason: FailureReason::WorkerUnavailable,
                    ..
                }
            ),
            "{:?}",
            o.status
        );
        assert_eq!(o.paid_so_far, paid3);
        assert_eq!(points_of(&account(charlie)), total3 - paid3);
    });
    assert!(chain.events.iter().any(|e| matches!(
        e,
        RuntimeEvent::WorkerRegistry(pallet_worker_registry::Event::WorkerWentOffline {
            worker_id: 0,
            reporter: None
        })
    )));

    // After the flow: every pallet's invariants, and the money.
    let end = chain.number();
    let fees_bob = chain.fees_of(&account(bob));
    let fees_charlie = chain.fees_of(&account(charlie));
    let fees_eve = chain.fees_of(&account(eve));
    let fees_total: Balance = chain.fees.values().sum();
    assert!(fees_bob > 0 && fees_charlie > 0 && fees_eve > 0);
    chain.execute(|| {
        assert_ok!(<AllPalletsWithSystem as TryState<BlockNumber>>::try_state(
            end,
            TryStateSelect::All
        ));

        // Nothing minted or burnt: fees went to the treasury, refunds-as-points to the pot.
        assert_eq!(Balances::total_issuance(), issuance);
        assert_accounts_add_up_to_issuance();

        // No escrow left; only the worker's deposit is held.
        for who in [account(bob), account(charlie), account(eve), pot.clone()] {
            assert_eq!(held(ESCROW_HOLD, &who), 0);
        }
        assert_eq!(held(DEPOSIT_HOLD, &account(bob)), WORKER_DEPOSIT);
        assert_eq!(pallet_escrow::Escrows::<Runtime>::iter().count(), 0);

        // Every account, to the last unit.
        assert_eq!(
            free(&treasury),
            EXISTENTIAL_DEPOSIT + WORKER_REGISTRATION_FEE + fees_total + OrderDeposit::get()
        );
        assert_eq!(
            free(&account(bob)),
            DEV_ACCOUNT_BALANCE - WORKER_REGISTRATION_FEE - WORKER_DEPOSIT - fees_bob
                + total0
                + paid3
        );
        assert_eq!(
            free(&account(charlie)),
            DEV_ACCOUNT_BALANCE - fees_charlie - total0 - total3 - OrderDeposit::get()
        );
        assert_eq!(
            free(&account(eve)),
            DEV_ACCOUNT_BALANCE - fees_eve - (total0 - discount2)
        );
        assert_eq!(
            free(&pot),
            DEMO_POT_BALANCE + (total0 - discount2) + (total3 - paid3)
        );
        assert_eq!(
            pallet_points::TotalPoints::<Runtime>::get(),
            DEMO_POINTS + (total0 - discount2) + (total3 - paid3)
        );
    });
}

#[test]
fn transactions_pay_fees_to_the_treasury_and_weights_come_from_the_pallets() {
    let mut chain = Chain::development();
    let treasury = TreasuryAccount::get();
    let before = chain.execute(|| free(&treasury));
    let call = RuntimeCall::Points(pallet_points::Call::set_refund_preference {
        preference: pallet_points::RefundPreference::Tokens,
    });
    let weight = call.get_dispatch_info().call_weight;
    assert!(
        weight.ref_time() > 0,
        "SubstrateWeight gives the call a weight"
    );
    let xt = chain.signed(Sr25519Keyring::Ferdie, call);
    chain.block_ok(vec![xt.clone()]);
    let fee = chain.fees_of(&account(Sr25519Keyring::Ferdie));
    assert!(fee > 0);
    chain.execute(|| {
        assert_eq!(free(&treasury), before + fee);
        assert_eq!(
            free(&account(Sr25519Keyring::Ferdie)),
            DEV_ACCOUNT_BALANCE - fee
        );
        assert_eq!(
            pallet_points::RefundPreferences::<Runtime>::get(account(Sr25519Keyring::Ferdie)),
            Some(pallet_points::RefundPreference::Tokens)
        );
    });
    // The same signed transaction cannot be replayed: its nonce is used.
    assert_eq!(
        chain.block(vec![xt]),
        vec![Err(TransactionValidityError::Invalid(
            InvalidTransaction::Stale
        ))]
    );
    chain.execute(|| assert_eq!(System::account_nonce(account(Sr25519Keyring::Ferdie)), 1));
}

/// The checks above are not vacuous: the Kaisar pallets' `try_state` runs in this test build
/// and catches a broken invariant.
#[test]
fn try_state_catches_a_points_ledger_that_does_not_add_up() {
    let mut chain = Chain::development();
    chain.block_ok(vec![]);
    chain.execute(|| {
        let n = System::block_number();
        assert_ok!(<AllPalletsWithSystem as TryState<BlockNumber>>::try_state(
            n,
            TryStateSelect::All
        ));
        // Points out of thin air: `TotalPoints` no longer is the sum of `PointsOf`.
        pallet_points::PointsOf::<Runtime>::insert(account(Sr25519Keyring::Ferdie), 5);
        assert!(
            <AllPalletsWithSystem as TryState<BlockNumber>>::try_state(n, TryStateSelect::All)
                .is_err()
        );
        assert!(pallet_points::Pallet::<Runtime>::do_try_state().is_err());
    });
}
