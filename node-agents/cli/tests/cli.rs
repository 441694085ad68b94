//! The `kaisar` binary against a running chain: what a user types, what they see, and what
//! happens on chain.
//!
//! These tests need a chain, so they are `#[ignore]`d in plain `cargo test`. `scripts/e2e`
//! runs them (`--include-ignored`) against the chain it starts, after the kaisar-e2e suite.
//! By hand: `KAISAR_WS=ws://127.0.0.1:9944 cargo test -p kaisar-cli --test cli --
//! --include-ignored`; without `KAISAR_WS` the kaisar-e2e harness starts a Chopsticks chain
//! for this test binary (building the runtime's Wasm the first time).
//!
//! Each run uses a fresh user (`//Charlie//cli//<run tag>`, funded by Charlie) and a fresh
//! worker, so the tests can run again on the same long-lived chain.

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Command, Output},
};

use kaisar_chain_client::{kaisar, signer::account_of, types::*, Balance, Client, Signer, UNITS};
use kaisar_cli::{access, keystore::KeyStore};
use kaisar_e2e::*;

/// A user of the CLI: a secret URI and a key directory.
struct User {
    suri: String,
    signer: Signer,
    keys: tempfile::TempDir,
}

impl User {
    /// A fresh account derived from Charlie's for this run, funded with 100 KAI.
    async fn fresh(client: &Client, label: &str) -> User {
        let suri = format!("//Charlie//cli-{label}//{}", run_tag());
        let signer = key(&suri);
        fund(client, &key("charlie"), &account_of(&signer), 100 * UNITS).await;
        User {
            suri,
            signer,
            keys: tempfile::tempdir().unwrap(),
        }
    }

    fn run_in(&self, key_dir: &Path, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_kaisar"))
            .args(args)
            .env("KAISAR_WS", chain_url())
            .env("KAISAR_SURI", &self.suri)
            .env("KAISAR_KEY_DIR", key_dir)
            .output()
            .expect("running kaisar");
        eprintln!(
            "$ kaisar {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Run `kaisar ARGS` as this user; expect success and return stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run_in(self.keys.path(), args);
        assert!(
            out.status.success(),
            "kaisar {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run `kaisar ARGS` as this user; expect failure and return stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run_in(self.keys.path(), args);
        assert!(
            !out.status.success(),
            "kaisar {} succeeded, expected a failure",
            args.join(" ")
        );
        String::from_utf8(out.stderr).unwrap()
    }
}

fn order_id(out: &str) -> u64 {
    out.lines()
        .find_map(|l| {
            l.strip_prefix("Order ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no order id in {out}"))
}

async fn order(client: &Client, id: u64) -> Order {
    client.order(id).await.unwrap().expect("order stored")
}

async fn free(client: &Client, signer: &Signer) -> Balance {
    client.account(&account_of(signer)).await.unwrap().free
}

/// List → place (key file written, public key on chain) → status pending → the agent accepts
/// with sealed access details → status shows them decrypted (and not with another key
/// directory) → a usage report pays the provider → cancel refunds the rest → list; wrong
/// caller and wrong state are refused with readable errors.
#[tokio::test]
#[ignore = "needs a chain: run by scripts/e2e, or with KAISAR_WS and --include-ignored"]
async fn user_places_reads_access_details_and_cancels_with_the_cli() {
    let _serial = serial().await;
    let client = connect().await;
    let price = 3 * UNITS;
    let worker = active_worker(&client, "//Dave", "cli", GpuModel::L40S, 2, price).await;
    let user = User::fresh(&client, "orders").await;

    // The worker is listed with its status, model, GPUs and price.
    let listed = user.ok(&["workers"]);
    let row = listed
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&worker.id.to_string()))
        .unwrap_or_else(|| panic!("worker {} not listed:\n{listed}", worker.id));
    for part in ["active", "server", "L40S", "3 KAI", "eu-west"] {
        assert!(row.contains(part), "`{part}` missing from `{row}`");
    }

    // A quote first: the worker, its price and what would be held; a maximum below the price
    // is refused with the lowest price, and nothing is signed or stored either way.
    let w = worker.id.to_string();
    let quote = |max: &str, more: &[&str]| {
        let mut args = vec!["order", "quote", "--gpu-model", "l40s", "--blocks", "20"];
        args.extend(["--max-price", max, "--worker", w.as_str()]);
        args.extend(more);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>, ok: bool| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if ok {
            user.ok(&args)
        } else {
            user.fails(&args)
        }
    };
    let quoted = run(quote("4", &[]), true);
    assert!(
        quoted.contains(&format!(
            "would go to worker {} at 3 KAI per GPU-hour",
            worker.id
        )),
        "{quoted}"
    );
    assert!(quoted.contains("total cost:  0.1 KAI"), "{quoted}");
    assert!(
        quoted.contains("you pay:     0.1 KAI into escrow"),
        "{quoted}"
    );
    let refused = run(quote("2", &[]), false);
    assert!(refused.contains("no order possible now"), "{refused}");
    assert!(refused.contains("Orders::PriceTooHigh"), "{refused}");
    let refused = run(quote("4", &["--gpus", "3"]), false);
    assert!(refused.contains("Orders::NotEnoughFreeGpus"), "{refused}");
    assert_eq!(std::fs::read_dir(user.keys.path()).unwrap().count(), 0);

    // Place: the key file is written (0600) and its public key is the order's.
    let placed = user.ok(&[
        "order",
        "place",
        "--image",
        "docker.io/library/python:3.12",
        "--gpu-model",
        "l40s",
        "--gpus",
        "1",
        "--blocks",
        "20",
        "--max-price",
        "4",
        "--worker",
        &w,
        "--port",
        "22",
    ]);
    let id = order_id(&placed);
    assert!(placed.contains("total cost:  0.1 KAI"), "{placed}");
    let key_path = user.keys.path().join(format!("{id}.key"));
    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key file mode");
    let stored = KeyStore::read(&key_path).unwrap();
    let o = order(&client, id).await;
    assert_eq!(o.user, account_of(&user.signer));
    assert_eq!(o.user_public_key, stored.keys.public_key());
    assert_eq!((o.worker, o.gpu_count, o.duration), (worker.id, 1, 20));
    assert_eq!(o.ports.0, vec![22]);
    assert_eq!(o.total_cost, price * 20 / 600);

    let status = user.ok(&["order", "status", &id.to_string()]);
    assert!(
        status.starts_with(&format!("Order {id}: pending")),
        "{status}"
    );

    // The agent accepts with the access details sealed to the order's key.
    let details = "ssh -p 2200 root@198.51.100.9 (password hunter2)";
    let sealed = access::seal(&o.user_public_key, details.as_bytes()).unwrap();
    let accepted = ok(
        &client,
        "accept_order",
        &kaisar::tx().orders().accept_order(id, BoundedVec(sealed)),
        &worker.agent,
    )
    .await;
    let started = accepted.block_number;

    let status = user.ok(&["order", "status", &id.to_string()]);
    assert!(
        status.starts_with(&format!("Order {id}: running")),
        "{status}"
    );
    assert!(
        status.contains(details),
        "access details not decrypted:\n{status}"
    );
    // Another key directory does not hold the key: the details stay sealed.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = user.run_in(elsewhere.path(), &["order", "status", &id.to_string()]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        !shown.contains(details) && shown.contains("not in"),
        "{shown}"
    );

    // A usage report: its period is paid to the provider once it matured.
    client.advance_blocks(3).await.unwrap();
    let report = ok(
        &client,
        "report_usage",
        &kaisar::tx().orders().report_usage(
            id,
            1,
            UsageReport {
                gpu_util_permille: 500,
                gpu_mem_used_mib: 1000,
                uptime_secs: 18,
            },
        ),
        &worker.agent,
    )
    .await;
    assert!(report.block_number > started);
    let status = user.ok(&["order", "status", &id.to_string()]);
    assert!(status.contains("reported, not yet paid"), "{status}");

    // Only the owner may cancel; the CLI refuses before submitting.
    let stranger = User::fresh(&client, "stranger").await;
    let err = stranger.fails(&["order", "cancel", &id.to_string()]);
    assert!(err.contains("was placed by"), "{err}");

    // Cancel: the reported usage stays in escrow until it matures; the unreported rest is
    // refunded when the order settles.
    let free_before = free(&client, &user.signer).await;
    let cancelled = user.ok(&["order", "cancel", &id.to_string()]);
    assert!(
        cancelled.contains(&format!("Order {id} cancelled")),
        "{cancelled}"
    );
    assert!(
        cancelled.contains("stays in escrow until it matures"),
        "{cancelled}"
    );
    let OrderStatus::Settling { settles_at, .. } = order(&client, id).await.status else {
        panic!("a cancelled order with reported usage settles first");
    };
    let status = user.ok(&["order", "status", &id.to_string()]);
    assert!(status.contains("settles by block"), "{status}");
    let err = user.fails(&["order", "settle", &id.to_string()]);
    assert!(err.contains("Orders::NothingToSettle"), "{err}");
    // At its maturity the chain settles it by itself.
    let now = client.best_number().await.unwrap();
    client
        .advance_blocks(settles_at.saturating_sub(now))
        .await
        .unwrap();
    let o = order(&client, id).await;
    assert!(
        matches!(o.status, OrderStatus::Cancelled { .. }),
        "{:?}",
        o.status
    );
    assert!(client.escrow(id).await.unwrap().is_none());
    let refund = o.total_cost - o.paid_so_far;
    assert!(refund > 0 && o.paid_so_far > 0);
    let free_after = free(&client, &user.signer).await;
    assert!(
        free_after > free_before && free_after <= free_before + refund,
        "refund of {refund} not received (free {free_before} -> {free_after})"
    );

    // A second cancel is refused by the chain with its typed error.
    let err = user.fails(&["order", "cancel", &id.to_string()]);
    assert!(err.contains("Orders::InvalidOrderState"), "{err}");

    let status = user.ok(&["order", "status", &id.to_string()]);
    assert!(status.contains("cancelled at block"), "{status}");
    let list = user.ok(&["order", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with(&format!("{id} ")) && l.contains("cancelled")),
        "{list}"
    );

    assert_chain_consistent(&client).await;
}

/// `points` shows the default preference (points); `points prefer tokens` changes it, a second
/// time is a no-op; a service failure is then refunded in tokens. `--hours` is converted to
/// blocks.
#[tokio::test]
#[ignore = "needs a chain: run by scripts/e2e, or with KAISAR_WS and --include-ignored"]
async fn refund_preference_is_set_with_the_cli_and_applies_to_a_rejected_order() {
    let _serial = serial().await;
    let client = connect().await;
    let worker = active_worker(&client, "//Dave", "cli-pref", GpuModel::A10, 1, 2 * UNITS).await;
    let user = User::fresh(&client, "points").await;

    let points = user.ok(&["points"]);
    assert!(points.contains(": 0 points"), "{points}");
    assert!(points.contains("refund preference: points"), "{points}");
    let set = user.ok(&["points", "prefer", "tokens"]);
    assert!(set.contains("as tokens"), "{set}");
    assert_eq!(
        client
            .refund_preference(&account_of(&user.signer))
            .await
            .unwrap(),
        RefundPreference::Tokens
    );
    let again = user.ok(&["points", "prefer", "tokens"]);
    assert!(again.contains("already"), "{again}");
    assert!(user.ok(&["points"]).contains("refund preference: tokens"));

    // 0.05 h = 30 blocks at 600 blocks an hour.
    let w = worker.id.to_string();
    let placed = user.ok(&[
        "order",
        "place",
        "--image",
        "img",
        "--gpu-model",
        "A10",
        "--hours",
        "0.05",
        "--max-price",
        "2",
        "--worker",
        &w,
    ]);
    let id = order_id(&placed);
    assert_eq!(order(&client, id).await.duration, 30);
    let free_before = free(&client, &user.signer).await;
    ok(
        &client,
        "reject_order",
        &kaisar::tx().orders().reject_order(id),
        &worker.agent,
    )
    .await;
    let o = order(&client, id).await;
    assert!(matches!(
        o.status,
        OrderStatus::Failed {
            reason: FailureReason::Rejected,
            ..
        }
    ));
    // Refunded in tokens (the preference), not points.
    // The order deposit (held while Pending) comes back with a rejection.
    let deposit = client
        .constant(kaisar::constants().orders().order_deposit())
        .await
        .unwrap();
    assert_eq!(
        free(&client, &user.signer).await,
        free_before + o.total_cost + deposit
    );
    assert_eq!(
        client.points_of(&account_of(&user.signer)).await.unwrap(),
        0
    );
    let status = user.ok(&["order", "status", &id.to_string()]);
    assert!(status.contains("the worker rejected it"), "{status}");

    assert_chain_consistent(&client).await;
}

/// An order nothing matches fails with the chain's error and leaves no key file behind; bad
/// input is refused before anything is sent.
#[tokio::test]
#[ignore = "needs a chain: run by scripts/e2e, or with KAISAR_WS and --include-ignored"]
async fn unmatched_or_invalid_orders_fail_cleanly() {
    let _serial = serial().await;
    let client = connect().await;
    let user = User::fresh(&client, "nomatch").await;
    let err = user.fails(&[
        "order",
        "place",
        "--image",
        "img",
        "--gpu-model",
        "h200",
        "--blocks",
        "20",
        "--max-price",
        "0.000001",
    ]);
    // The quote taken before signing says why (other tests may have H200 workers on the
    // same chain, all dearer than the maximum).
    assert!(err.contains("the order was not placed"), "{err}");
    assert!(
        err.contains("no H200 worker takes orders now")
            || err.contains("your maximum price is below every H200 worker's: the lowest is"),
        "{err}"
    );
    let quoted = user.fails(&[
        "order",
        "quote",
        "--gpu-model",
        "h200",
        "--blocks",
        "20",
        "--max-price",
        "0.000001",
    ]);
    assert!(quoted.contains("no order possible now"), "{quoted}");
    assert_eq!(
        std::fs::read_dir(user.keys.path())
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "a key file was left behind"
    );

    let err = user.fails(&[
        "order",
        "place",
        "--image",
        "img",
        "--gpu-model",
        "gtx1080",
        "--blocks",
        "20",
        "--max-price",
        "1",
    ]);
    assert!(err.contains("unknown GPU model"), "{err}");
    let err = user.fails(&[
        "order",
        "place",
        "--image",
        "img",
        "--gpu-model",
        "h200",
        "--blocks",
        "1",
        "--max-price",
        "1",
    ]);
    assert!(err.contains("an order runs between"), "{err}");
    let err = user.fails(&["order", "status", "18446744073709551615"]);
    assert!(err.contains("no order"), "{err}");
    // Disputing an order that is not running is refused in words.
    let err = user.fails(&["order", "dispute", "18446744073709551615"]);
    assert!(err.contains("PopwAttestations::OrderNotRunning"), "{err}");
    // A fresh account has earned no rewards and has nothing to claim.
    let out = user.ok(&["rewards", "show", "--eras", "3"]);
    assert!(out.contains("current era"), "{out}");
    assert!(out.contains("nothing earned"), "{out}");
    let out = user.ok(&["rewards", "claim"]);
    assert!(out.contains("Nothing to claim"), "{out}");
}

/// A license id from a line like "... minted: #3, #4." (the first one).
fn minted_ids(out: &str) -> Vec<u32> {
    let line = out
        .lines()
        .find(|l| l.contains("minted"))
        .unwrap_or_else(|| panic!("no minted line in {out}"));
    line.split('#')
        .skip(2) // "Claimed round N (block #B): ... minted: #x, #y."
        .filter_map(|s| {
            s.trim_end_matches(['.', ',', ' '])
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// The node sale as buyers and an operator use it through the CLI: governance opens a round;
/// a referrer registers a code; two buyers commit (one with the code, the price held); after
/// the window `claim` settles the round and mints the licenses as NFTs in `pallet-nfts`
/// (visible in its `Item`/`Account` storage), pays the beneficiary and the referrer and
/// gives the discount back; the referrer is recorded; an operator sets a commission and a
/// buyer delegates a license to it from the next epoch, which is then reached and the slot is
/// active. Wrong caller and wrong state are refused readably.
#[tokio::test]
#[ignore = "needs a chain: run by scripts/e2e, or with KAISAR_WS and --include-ignored"]
async fn node_sale_referral_claim_and_delegation_through_the_cli() {
    let _serial = serial().await;
    let client = connect().await;
    let referrer = User::fresh(&client, "referrer").await;
    let alice_buyer = User::fresh(&client, "buyer1").await;
    let bob_buyer = User::fresh(&client, "buyer2").await;
    let operator = User::fresh(&client, "operator").await;
    let beneficiary = fresh_key("//Ferdie//sale");
    let beneficiary_id = account_of(&beneficiary);

    // Governance opens a round: one tier, 10 KAI a license, 10 for sale, 5 per wallet.
    let price = 10 * UNITS;
    let round_id: u32 = client
        .fetch(kaisar::storage().checker_licenses().next_round_id(), ())
        .await
        .unwrap()
        .unwrap_or_default();
    let now = client.best_number().await.unwrap();
    // A few blocks ahead, so that the round is not in the past when the call lands on a real
    // node; the window is long enough for the buyers' transactions at 6 s blocks.
    let (start, end) = (now + 3, now + 13);
    let open = kaisar::tx().sudo().sudo(kaisar::Call::CheckerLicenses(
        kaisar::checker_licenses::Call::open_round {
            start,
            end,
            tiers: BoundedVec(vec![TierTerms { price, supply: 10 }]),
            cap_per_wallet: 5,
            allow_list_root: None,
            beneficiary: beneficiary_id,
        },
    ));
    let opened = ok(&client, "sudo open_round", &open, &key("alice")).await;
    let sudid = opened
        .expect_event::<kaisar::sudo::events::Sudid>()
        .unwrap();
    assert!(sudid.sudo_result.is_ok(), "{:?}", sudid.sudo_result);
    let r = round_id.to_string();
    let rounds = referrer.ok(&["license", "rounds"]);
    assert!(
        rounds
            .lines()
            .any(|l| l.starts_with(&format!("{r} ")) && l.contains("10 KAI")),
        "{rounds}"
    );

    // A referral code, unique to this run; a buyer cannot use its own.
    let code = format!("k{}", &run_tag()[run_tag().len() - 12..]);
    let out = referrer.ok(&["referral", "register", &code]);
    assert!(out.contains("registered"), "{out}");
    let err = referrer.fails(&["referral", "register", "no"]);
    assert!(err.contains("3 to 16"), "{err}");

    // Two buyers commit: 2 licenses without a code, 1 with the code (in upper case: codes are
    // case-insensitive). The price is held.
    let now = client.best_number().await.unwrap();
    client
        .advance_blocks(start.saturating_sub(now))
        .await
        .unwrap();
    let out = alice_buyer.ok(&["license", "buy", "--round", &r, "--count", "2"]);
    assert!(out.contains("held:      20 KAI"), "{out}");
    let upper = code.to_uppercase();
    let out = bob_buyer.ok(&[
        "license",
        "buy",
        "--round",
        &r,
        "--count",
        "1",
        "--referral",
        &upper,
    ]);
    assert!(
        out.contains(&account_of(&referrer.signer).to_string()),
        "{out}"
    );
    let err = referrer.fails(&["license", "buy", "--round", &r, "--referral", &code]);
    assert!(err.contains("SelfReferral"), "{err}");
    assert_eq!(
        client
            .held(&account_of(&bob_buyer.signer), &license_commitment_hold())
            .await
            .unwrap(),
        price
    );
    // Claiming before the window ends is refused.
    let err = alice_buyer.fails(&["license", "claim", "--round", &r]);
    assert!(err.contains("claim after it"), "{err}");

    // After the window: the first claim settles the round; both claim.
    let now = client.best_number().await.unwrap();
    if now <= end {
        client.advance_blocks(end + 1 - now).await.unwrap();
    }
    let ben_before = client.account(&beneficiary_id).await.unwrap().free;
    let ref_before = free(&client, &referrer.signer).await;
    let out = alice_buyer.ok(&["license", "claim", "--round", &r]);
    assert!(out.contains("2 licenses minted"), "{out}");
    let alice_licenses = minted_ids(&out);
    assert_eq!(alice_licenses.len(), 2, "{out}");
    let out = bob_buyer.ok(&["license", "claim", "--round", &r]);
    assert!(out.contains("1 license minted"), "{out}");
    assert!(out.contains("discount:  0.5 KAI"), "{out}");
    let bob_licenses = minted_ids(&out);
    assert_eq!(bob_licenses.len(), 1);
    let err = bob_buyer.fails(&["license", "claim", "--round", &r]);
    assert!(err.contains("NothingToClaim"), "{err}");

    // Money: the beneficiary got 20 + (10 - 5% discount - 10% commission) = 28.5 KAI, the
    // referrer 1 KAI; nothing is held any more.
    assert_eq!(
        client.account(&beneficiary_id).await.unwrap().free - ben_before,
        20 * UNITS + 85 * UNITS / 10
    );
    assert_eq!(free(&client, &referrer.signer).await - ref_before, UNITS);
    for b in [&alice_buyer, &bob_buyer] {
        assert_eq!(
            client
                .held(&account_of(&b.signer), &license_commitment_hold())
                .await
                .unwrap(),
            0
        );
    }

    // The licenses are NFTs of the licenses collection in pallet-nfts.
    let collection: u32 = client
        .fetch(
            kaisar::storage().checker_licenses().license_collection(),
            (),
        )
        .await
        .unwrap()
        .expect("licenses collection");
    for (owner, ids) in [(&alice_buyer, &alice_licenses), (&bob_buyer, &bob_licenses)] {
        for id in ids.iter() {
            let item = client
                .fetch(kaisar::storage().nfts().item(), (collection, *id))
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("NFT {collection}/{id} missing"));
            assert_eq!(item.owner, account_of(&owner.signer));
            assert!(client
                .fetch(
                    kaisar::storage().nfts().account(),
                    (account_of(&owner.signer), collection, *id)
                )
                .await
                .unwrap()
                .is_some());
        }
    }
    let listed = alice_buyer.ok(&["license", "list"]);
    for id in &alice_licenses {
        assert!(listed.contains(&format!("#{id}")), "{listed}");
    }
    // The referrer is recorded on the buyer's account.
    let shown = bob_buyer.ok(&["referral", "show"]);
    assert!(
        shown.contains(&format!("referred by: {}", account_of(&referrer.signer))),
        "{shown}"
    );

    // Delegation: only to a registered operator, only by the owner.
    let op = account_of(&operator.signer).to_string();
    let lic = alice_licenses[0].to_string();
    let err = alice_buyer.fails(&["license", "delegate", &lic, "--operator", &op]);
    assert!(err.contains("not an operator"), "{err}");
    let out = operator.ok(&["operator", "commission", "5%"]);
    assert!(out.contains("5 %"), "{out}");
    let err = bob_buyer.fails(&["license", "delegate", &lic, "--operator", &op]);
    assert!(err.contains("NotOwner"), "{err}");
    let out = alice_buyer.ok(&["license", "delegate", &lic, "--operator", &op]);
    assert!(out.contains("checks from epoch"), "{out}");
    let listed = alice_buyer.ok(&["license", "list"]);
    assert!(listed.contains("from epoch"), "{listed}");
    let delegation = client
        .fetch(
            kaisar::storage().checker_licenses().delegations(),
            (alice_licenses[0],),
        )
        .await
        .unwrap()
        .expect("delegation stored");
    assert_eq!(delegation.operator, account_of(&operator.signer));
    let shown = operator.ok(&["operator", "show"]);
    assert!(shown.contains("delegated licenses: 1"), "{shown}");
    // A delegated license cannot be transferred (the delegation would go stale).
    let transfer = kaisar::tx().nfts().transfer(
        collection,
        alice_licenses[0],
        account_of(&bob_buyer.signer).into(),
    );
    assert!(client.submit(&transfer, &alice_buyer.signer).await.is_err());

    // The slot becomes active at the next epoch (the development chain's epochs are short).
    {
        let len: u32 = client
            .fetch(kaisar::storage().checker_licenses().epoch_length(), ())
            .await
            .unwrap()
            .unwrap();
        assert!(
            len <= 60,
            "the development chain has short epochs ({len} blocks)"
        );
        let now = client.best_number().await.unwrap();
        let next = (now / len + 1) * len;
        client.advance_blocks(next - now).await.unwrap();
        let slot = client
            .fetch(
                kaisar::storage().checker_licenses().slot_of(),
                (alice_licenses[0],),
            )
            .await
            .unwrap();
        assert!(slot.is_some(), "no slot after the epoch boundary");
        let listed = alice_buyer.ok(&["license", "list"]);
        assert!(listed.contains("slot "), "{listed}");
    }
    let out = alice_buyer.ok(&["license", "undelegate", &lic]);
    assert!(out.contains("undelegated"), "{out}");
    assert_chain_consistent(&client).await;
}
