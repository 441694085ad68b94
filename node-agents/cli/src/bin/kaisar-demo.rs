//! `kaisar-demo`: a walk through the Kaisar GPU cloud on a local development chain, told step
//! by step in plain language with balances. `scripts/devnet` starts a chain and runs it.
//!
//! Two parties play:
//!
//! - **Bob, a GPU provider**, and his machine's **agent** (key `//Bob//kaisar-demo-agent`):
//!   Bob registers a worker (2 x RTX 4090), Alice (the sudo key of the dev chain) verifies it,
//!   the agent heartbeats, accepts orders with the access details sealed to the user's key
//!   (`kaisar_cli::access::seal`), and reports usage, which pays Bob per period out of escrow.
//!   This side is played in-process with the chain client, as a provider's agent would.
//! - **Charlie, a user**, who only uses the `kaisar` CLI (run as a separate process; every
//!   command is shown as typed): lists workers, places an order, reads its status and the
//!   decrypted access details, watches it run to completion; places a second order and cancels
//!   it (refunded in tokens); has a third one rejected by the worker (refunded as points).
//! - **Dave, a checker-license buyer, and Ferdie, a checker-node operator**, also only through
//!   the `kaisar` CLI: governance (Alice) opens a node-sale round; Ferdie registers a referral
//!   code and a commission; Dave commits to two licenses with Ferdie's code, claims them after
//!   the window (minted as NFTs, Ferdie paid his referral commission), delegates one to Ferdie
//!   and watches it become a checker slot at the next epoch.
//!
//! Time: on Chopsticks the demo asks for blocks (`dev_newBlock`); on a real node it waits for
//! them (6 s each). Exits 0 when every step did what it should.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::Parser;
use kaisar_chain_client::{
    kaisar::{self, orders::events as order_events, worker_registry::events as registry_events},
    signer::{account_of, parse_signer},
    types::*,
    AccountId32, Balance, BlockNumber, Client, Engine, Signer, H256, UNITS,
};
use kaisar_cli::{access, format};

/// Walk through the Kaisar GPU cloud on a local development chain.
#[derive(Parser, Debug)]
#[command(name = "kaisar-demo", version)]
struct Args {
    /// The node's WebSocket URL.
    #[arg(long, env = "KAISAR_WS", default_value = "ws://127.0.0.1:9944")]
    url: String,
    /// The `kaisar` binary Charlie uses (default: the one next to this binary).
    #[arg(long)]
    kaisar: Option<PathBuf>,
    /// Where Charlie's order access keys go (default: a fresh temporary directory).
    #[arg(long)]
    key_dir: Option<PathBuf>,
    /// Length of the first order, in blocks (the chain's minimum is 10).
    #[arg(long, default_value_t = 30)]
    blocks: u32,
    /// Blocks between usage reports of the first order.
    #[arg(long, default_value_t = 10)]
    report_every: u32,
    /// Seconds to keep trying to reach the node.
    #[arg(long, default_value_t = 60)]
    connect_timeout: u64,
}

const PROVIDER: &str = "//Bob";
const AGENT: &str = "//Bob//kaisar-demo-agent";
const USER: &str = "//Charlie";
const LICENSE_BUYER: &str = "//Dave";
const OPERATOR: &str = "//Ferdie";
/// Ferdie's referral code in the demo.
const REFERRAL_CODE: &str = "ferdie-node";
/// Price of a checker license in the demo's sale round.
const LICENSE_PRICE: Balance = 50 * UNITS;
const SUDO: &str = "//Alice";
const IMAGE: &str = "docker.io/pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime";
const PRICE: Balance = 6 * UNITS;
const GPUS: u32 = 2;

struct Demo {
    client: Client,
    url: String,
    kaisar: PathBuf,
    key_dir: PathBuf,
    step: u32,
    bob: Signer,
    agent: Signer,
    charlie: Signer,
    alice: Signer,
    bph: BlockNumber,
    started: Instant,
    /// Length of the first order, in blocks.
    blocks: u32,
    /// Blocks between usage reports of the first order.
    report_every: u32,
}

fn short(a: &AccountId32) -> String {
    let s = a.to_string();
    format!("{}…{}", &s[..6], &s[s.len() - 4..])
}

impl Demo {
    fn step(&mut self, title: &str) {
        self.step += 1;
        println!();
        println!("[{}] {title}", self.step);
    }

    fn say(&self, line: impl AsRef<str>) {
        for l in line.as_ref().lines() {
            println!("    {l}");
        }
    }

    async fn free(&self, who: &AccountId32) -> Result<Balance> {
        Ok(self.client.account(who).await?.free)
    }

    /// Run the `kaisar` CLI as Charlie; show the command and its output.
    async fn kaisar(&self, args: &[&str]) -> Result<String> {
        self.kaisar_as(USER, args).await
    }

    /// Run the `kaisar` CLI as `suri`; show the command and its output.
    async fn kaisar_as(&self, suri: &str, args: &[&str]) -> Result<String> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.to_string()
                }
            })
            .collect();
        println!("    $ kaisar --suri {suri} {}", shown.join(" "));
        let out = tokio::process::Command::new(&self.kaisar)
            .arg("--suri")
            .arg(suri)
            .args(args)
            .env("KAISAR_WS", &self.url)
            .env("KAISAR_KEY_DIR", &self.key_dir)
            .output()
            .await
            .with_context(|| format!("running {}", self.kaisar.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        for line in stdout.lines() {
            println!("    │ {line}");
        }
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            for line in stderr.lines() {
                println!("    │ {line}");
            }
            bail!("`kaisar {}` failed ({})", args.join(" "), out.status);
        }
        Ok(stdout)
    }

    async fn submit<C: kaisar_chain_client::subxt::transactions::Payload>(
        &self,
        what: &str,
        call: &C,
        signer: &Signer,
    ) -> Result<kaisar_chain_client::TxOutcome> {
        self.client
            .submit(call, signer)
            .await
            .with_context(|| what.to_string())
    }

    async fn advance(&self, n: u32) -> Result<BlockNumber> {
        Ok(self.client.advance_blocks(n).await?)
    }

    async fn balances(&self) -> Result<()> {
        let bob = account_of(&self.bob);
        let charlie = account_of(&self.charlie);
        let bob_acc = self.client.account(&bob).await?;
        let deposit = self.client.held(&bob, &worker_deposit_hold()).await?;
        let charlie_acc = self.client.account(&charlie).await?;
        let escrow = self.client.held(&charlie, &order_escrow_hold()).await?;
        self.say(format!(
            "balances: Bob {} free + {} deposit held | Charlie {} free + {} in escrow, {}",
            format::tokens(bob_acc.free),
            format::tokens(deposit),
            format::tokens(charlie_acc.free),
            format::tokens(escrow),
            format::points(self.client.points_of(&charlie).await?)
        ));
        Ok(())
    }

    // ---- the provider side -------------------------------------------------------------

    /// The demo worker: reuse the agent's worker from an earlier run on this chain if it can
    /// still serve, else register one. Returns its id.
    async fn provider_setup(&mut self) -> Result<u64> {
        let bob = account_of(&self.bob);
        let agent = account_of(&self.agent);

        self.step("Bob, a GPU provider, sets up an agent key for his machine");
        self.say(format!(
            "Bob's account is {}; the agent on his machine signs with its own key {} \
             ({AGENT}),\nso Bob's own key never has to sit on the GPU box. Bob gives the agent \
             5 KAI for transaction fees.",
            short(&bob),
            short(&agent)
        ));
        if self.free(&agent).await? < UNITS {
            self.submit(
                "funding the agent",
                &kaisar::tx()
                    .balances()
                    .transfer_keep_alive(agent.into(), 5 * UNITS),
                &self.bob,
            )
            .await?;
        }
        self.say(format!(
            "agent balance: {}",
            format::tokens(self.free(&agent).await?)
        ));

        if let Some(id) = self.client.worker_of_agent(&agent).await? {
            let info = self
                .client
                .worker(id)
                .await?
                .ok_or_else(|| anyhow!("worker {id} vanished"))?;
            ensure!(
                info.status != WorkerStatus::Deregistering,
                "the demo agent's worker {id} is deregistering; start the demo on a fresh chain"
            );
            self.step("Bob's worker is already registered (an earlier demo run on this chain)");
            self.say(format!(
                "worker {id} is {}",
                format::worker_status(&info.status)
            ));
            if matches!(
                info.status,
                WorkerStatus::PendingVerification | WorkerStatus::Suspended
            ) {
                self.verify(id).await?;
            }
            self.heartbeat(id).await?;
            return Ok(id);
        }

        self.step("Bob registers his machine as a worker");
        let bob_free0 = self.free(&bob).await?;
        let gpus = (0..GPUS)
            .map(|i| GpuDevice {
                model: GpuModel::Rtx4090,
                vram_mib: 24_576,
                uuid_hash: gpu_uuid_hash(&agent, i),
            })
            .collect();
        let spec = WorkerSpec {
            host_class: HostClass::Server,
            gpus: BoundedVec(gpus),
            cpu_cores: 32,
            ram_mib: 128 * 1024,
            disk_gib: 2_000,
            region: BoundedVec(b"eu-west".to_vec()),
            price_per_gpu_hour: PRICE,
            endpoint: BoundedVec(b"https://bob-gpu-1.demo.invalid:8443".to_vec()),
            agent,
        };
        self.say(format!(
            "a server with {GPUS} x RTX 4090 (24 GiB), 32 cores, 128 GiB RAM, in eu-west, at {} \
             per GPU-hour",
            format::tokens(PRICE)
        ));
        let outcome = self
            .submit(
                "register_worker",
                &kaisar::tx().worker_registry().register_worker(spec),
                &self.bob,
            )
            .await?;
        let ev = outcome.expect_event::<registry_events::WorkerRegistered>()?;
        self.say(format!(
            "worker {} registered in block #{}: Bob paid a {} registration fee (to the treasury) \
             and {} is held as his deposit",
            ev.worker_id,
            outcome.block_number,
            format::tokens(ev.fee),
            format::tokens(ev.deposit)
        ));
        self.say(format!(
            "Bob: {} -> {} free (fee + deposit + transaction fee)",
            format::tokens(bob_free0),
            format::tokens(self.free(&bob).await?)
        ));
        let id = ev.worker_id;
        let status = self.client.worker(id).await?.map(|w| w.status);
        self.say(format!(
            "status: {} (nobody can rent it until it is verified)",
            status.as_ref().map_or("?", format::worker_status)
        ));

        self.verify(id).await?;
        self.heartbeat(id).await?;
        Ok(id)
    }

    async fn verify(&mut self, id: u64) -> Result<()> {
        self.step(
            "Alice (the dev chain's sudo key, standing in for governance) verifies the worker",
        );
        let call = kaisar::tx().sudo().sudo(kaisar::Call::WorkerRegistry(
            kaisar::worker_registry::Call::verify_worker { worker_id: id },
        ));
        let outcome = self
            .submit("sudo verify_worker", &call, &self.alice)
            .await?;
        let sudid = outcome.expect_event::<kaisar::sudo::events::Sudid>()?;
        if let Err(e) = sudid.sudo_result {
            bail!("verify_worker under sudo failed: {e:?}");
        }
        let ev = outcome.expect_event::<registry_events::WorkerVerified>()?;
        self.say(format!(
            "worker {id} verified in block #{}: it is {} and listed in the RTX 4090 price index",
            outcome.block_number,
            format::worker_status(&ev.status)
        ));
        Ok(())
    }

    async fn heartbeat(&mut self, id: u64) -> Result<()> {
        let free = self
            .client
            .worker(id)
            .await?
            .map(|w| (w.spec.gpus.0.len() as u32).saturating_sub(w.reserved_gpus))
            .unwrap_or(0);
        let outcome = self
            .submit(
                "heartbeat",
                &kaisar::tx().worker_registry().heartbeat(id, free),
                &self.agent,
            )
            .await?;
        let back = outcome.has::<registry_events::WorkerBackOnline>();
        self.say(format!(
            "the agent sent a heartbeat in block #{} ({free} GPU{} free){}",
            outcome.block_number,
            if free == 1 { "" } else { "s" },
            if back {
                "; the worker is back online"
            } else {
                ""
            }
        ));
        Ok(())
    }

    /// The agent looks at its worker's queue and finds the pending order `expected`.
    async fn agent_finds(&self, worker: u64, expected: u64) -> Result<Order> {
        let queue = self.client.open_orders_of_worker(worker).await?;
        ensure!(
            queue.contains(&expected),
            "order {expected} is not in worker {worker}'s queue {queue:?}"
        );
        let order = self
            .client
            .order(expected)
            .await?
            .ok_or_else(|| anyhow!("order {expected} not found"))?;
        ensure!(
            matches!(order.status, OrderStatus::Pending { .. }),
            "order {expected} is not pending"
        );
        self.say(format!(
            "the agent sees order {expected} in its queue: {} x {}, image {}, {}",
            order.gpu_count,
            format::gpu_model(&order.gpu_model),
            String::from_utf8_lossy(&order.image.0),
            format::blocks(order.duration, self.bph)
        ));
        Ok(order)
    }

    /// The agent starts the container (pretend) and accepts the order with the access details
    /// sealed to the user's key. Returns the block it started in and the end block.
    async fn agent_accepts(
        &mut self,
        id: u64,
        order: &Order,
    ) -> Result<(BlockNumber, BlockNumber)> {
        let token = hex_of(&access::AccessKeyPair::generate().public_key()[..12]);
        let password = hex_of(&access::AccessKeyPair::generate().public_key()[..9]);
        let ssh_port = 22000 + (id % 1000) as u16;
        let details = format!(
            "container: kaisar-order-{id} ({})\nssh:       ssh -p {ssh_port} root@203.0.113.7   \
             (password {password})\njupyter:   http://203.0.113.7:{}/?token={token}",
            String::from_utf8_lossy(&order.image.0),
            28_000 + (id % 1000) as u16,
        );
        let sealed = access::seal(&order.user_public_key, details.as_bytes())
            .map_err(|e| anyhow!("sealing the access details: {e}"))?;
        self.say(format!(
            "the agent starts the container and seals its access details ({} bytes) to the \
             order's public key {}:\nonly the holder of Charlie's key can read them; on chain they \
             are {} opaque bytes",
            details.len(),
            access::fingerprint(&order.user_public_key),
            sealed.len()
        ));
        let outcome = self
            .submit(
                "accept_order",
                &kaisar::tx().orders().accept_order(id, BoundedVec(sealed)),
                &self.agent,
            )
            .await?;
        let ev = outcome.expect_event::<order_events::OrderAccepted>()?;
        self.say(format!(
            "order {id} accepted in block #{}: it runs until block #{}",
            outcome.block_number, ev.ends_at
        ));
        Ok((outcome.block_number, ev.ends_at))
    }

    /// The agent reports usage; returns what Bob was paid for it.
    async fn agent_reports(&mut self, id: u64, seq: u32, started: BlockNumber) -> Result<Balance> {
        let now = self.client.best_number().await?;
        let usage = UsageReport {
            gpu_util_permille: 850 + (seq as u16 * 37) % 140,
            gpu_mem_used_mib: 18_000 + seq * 512,
            uptime_secs: (now + 1).saturating_sub(started) * 6,
        };
        let outcome = self
            .submit(
                "report_usage",
                &kaisar::tx().orders().report_usage(id, seq, usage.clone()),
                &self.agent,
            )
            .await?;
        let paid: Balance = outcome
            .find::<order_events::ProviderPaid>()?
            .iter()
            .map(|e| e.amount)
            .sum();
        let delay = self.maturity_delay().await?;
        self.say(format!(
            "usage report #{seq} in block #{}: GPU {:.1}% busy, {} MiB in use -> queued; paid to \
             Bob {} later, once no check or dispute caught a fake machine{}",
            outcome.block_number,
            f64::from(usage.gpu_util_permille) / 10.0,
            usage.gpu_mem_used_mib,
            format::blocks(delay, self.bph),
            if paid > 0 {
                format!(
                    "; earlier reports matured: Bob is paid {} from the escrow",
                    format::tokens(paid)
                )
            } else {
                String::new()
            }
        ));
        if let Some(s) = outcome.find_first::<order_events::OrderSettling>()? {
            self.say(format!(
                "that was the final report: order {id} is over for the worker (GPUs released); \
                 it settles at block #{} when its last report matured",
                s.settles_at
            ));
        }
        Ok(paid)
    }

    /// The chain's usage maturity delay, in blocks.
    async fn maturity_delay(&self) -> Result<BlockNumber> {
        Ok(self
            .client
            .fetch(kaisar::storage().orders().maturity_delay(), ())
            .await?
            .unwrap_or_default())
    }

    /// Let the blocks pass until `id` settled (its last reported usage matured); returns it.
    async fn until_settled(&mut self, id: u64) -> Result<Order> {
        let order = self
            .client
            .order(id)
            .await?
            .ok_or_else(|| anyhow!("order {id} vanished"))?;
        if let OrderStatus::Settling { settles_at, .. } = order.status {
            let now = self.client.best_number().await?;
            let at = self.advance(settles_at.saturating_sub(now)).await?;
            self.say(format!(
                "... the reported usage matures (block #{at}): the chain settles order {id} by \
                 itself"
            ));
        }
        self.client
            .order(id)
            .await?
            .ok_or_else(|| anyhow!("order {id} vanished"))
    }

    async fn agent_rejects(&mut self, id: u64) -> Result<()> {
        let outcome = self
            .submit(
                "reject_order",
                &kaisar::tx().orders().reject_order(id),
                &self.agent,
            )
            .await?;
        let refunds = outcome.find::<order_events::OrderRefunded>()?;
        let (tokens, points) = refunds
            .iter()
            .fold((0, 0), |(t, p), e| (t + e.tokens, p + e.points));
        self.say(format!(
            "the agent rejects order {id} in block #{} (say, a GPU failed its health check): \
             a service failure, so Charlie is refunded {} and {}",
            outcome.block_number,
            format::tokens(tokens),
            format::points(points)
        ));
        Ok(())
    }

    // ---- the user side ------------------------------------------------------------------

    async fn place(&self, worker: u64, length: &[&str]) -> Result<u64> {
        let worker = worker.to_string();
        let mut args = vec![
            "order",
            "place",
            "--image",
            IMAGE,
            "--gpu-model",
            "rtx4090",
            "--gpus",
            "1",
        ];
        args.extend_from_slice(length);
        args.extend_from_slice(&[
            "--max-price",
            "8",
            "--worker",
            &worker,
            "--port",
            "22",
            "--port",
            "8888",
        ]);
        let out = self.kaisar(&args).await?;
        parse_order_id(&out)
    }

    async fn run(&mut self) -> Result<()> {
        let bob = account_of(&self.bob);
        let charlie = account_of(&self.charlie);
        let engine = self.client.engine().await?;
        println!("== Kaisar GPU cloud: local devnet demo ==");
        println!(
            "chain {} at block #{} ({}); {} blocks an hour",
            self.url,
            self.client.best_number().await?,
            match engine {
                Engine::Chopsticks => "Chopsticks: the demo makes blocks on demand",
                Engine::Node => "a real node: one block every 6 s, the demo waits for them",
            },
            self.bph
        );
        println!(
            "Bob {} is a GPU provider, Charlie {} rents GPUs with the `kaisar` CLI, Alice is sudo.",
            short(&bob),
            short(&charlie)
        );
        println!(
            "Charlie's commands run with KAISAR_WS={} KAISAR_KEY_DIR={}",
            self.url,
            self.key_dir.display()
        );
        let charlie_total0 = self.client.account(&charlie).await?.total();
        let bob_free0 = self.free(&bob).await?;
        self.balances().await?;

        // -- Provider onboarding.
        let worker = self.provider_setup().await?;
        let bob_after_setup = self.free(&bob).await?;

        // -- Order 1: runs to completion, paid per period.
        self.step("Charlie looks for GPUs");
        self.kaisar(&["workers"]).await?;

        // Service-failure refunds go to points by default; make sure Charlie has the default
        // (an earlier run on this chain may have changed it).
        if self.client.refund_preference(&charlie).await? != RefundPreference::Points {
            self.kaisar(&["points", "prefer", "points"]).await?;
        }

        self.step(&format!(
            "Charlie rents one RTX 4090 on worker {worker} for {}",
            format::blocks(self.blocks, self.bph)
        ));
        self.say(
            "the CLI makes a fresh x25519 key pair for this order, keeps the secret in a 0600 \
             file\nand puts the public key in the order; the payment is held in escrow",
        );
        let blocks = self.blocks.to_string();
        let o1 = self.place(worker, &["--blocks", &blocks]).await?;
        self.balances().await?;
        self.kaisar(&["order", "status", &o1.to_string()]).await?;

        self.step("Bob's agent accepts the order");
        let order = self.agent_finds(worker, o1).await?;
        let (started, ends_at) = self.agent_accepts(o1, &order).await?;

        self.step("Charlie reads the access details, decrypted with the key only he has");
        let status = self.kaisar(&["order", "status", &o1.to_string()]).await?;
        ensure!(
            status.contains("ssh -p"),
            "the CLI did not show the decrypted access details"
        );

        self.step("The order runs; the agent reports usage and Bob is paid as each report matures");
        let mut seq = 0;
        let mut paid_o1: Balance = 0;
        loop {
            let now = self.client.best_number().await?;
            if now >= ends_at {
                break;
            }
            let wait = self.report_every.min(ends_at - now);
            let at = self.advance(wait).await?;
            self.say(format!(
                "... {} pass (block #{at}{})",
                format::blocks(wait, self.bph),
                if at >= ends_at {
                    ", the order's end"
                } else {
                    ""
                }
            ));
            self.heartbeat(worker).await?;
            seq += 1;
            paid_o1 += self.agent_reports(o1, seq, started).await?;
            self.balances().await?;
            let running = matches!(
                self.client.order(o1).await?.map(|o| o.status),
                Some(OrderStatus::Running { .. })
            );
            if !running {
                break;
            }
        }
        self.kaisar(&["order", "status", &o1.to_string()]).await?;
        let o1_final = self.until_settled(o1).await?;
        ensure!(
            matches!(o1_final.status, OrderStatus::Completed { .. }),
            "order {o1} did not complete: {:?}",
            o1_final.status
        );
        ensure!(
            o1_final.paid_so_far == o1_final.total_cost,
            "Bob was paid {}, the order cost {}",
            o1_final.paid_so_far,
            o1_final.total_cost
        );
        self.kaisar(&["order", "status", &o1.to_string()]).await?;
        self.balances().await?;
        self.say(format!(
            "Bob received the full {} ({} of it as reports matured during the order, the rest \
             when it settled); nothing is left in escrow",
            format::tokens(o1_final.total_cost),
            format::tokens(paid_o1)
        ));

        // -- Order 2: cancelled while running.
        self.step("Charlie rents another GPU for an hour, but changes his mind");
        let o2 = self.place(worker, &["--hours", "1"]).await?;
        let order = self.agent_finds(worker, o2).await?;
        let (started2, _) = self.agent_accepts(o2, &order).await?;
        let at = self.advance(5).await?;
        self.say(format!("... 5 blocks pass (block #{at})"));
        let paid_report = self.agent_reports(o2, 1, started2).await?;
        let charlie_free = self.free(&charlie).await?;
        let escrow_before = self
            .client
            .escrow(o2)
            .await?
            .map(|e| e.payer_held)
            .unwrap_or(0);
        self.step("Charlie cancels the running order");
        self.kaisar(&["order", "cancel", &o2.to_string()]).await?;
        let cancelled_at = self.client.best_number().await?;
        let o2_final = self.until_settled(o2).await?;
        ensure!(
            matches!(o2_final.status, OrderStatus::Cancelled { .. }),
            "order {o2} is not cancelled: {:?}",
            o2_final.status
        );
        ensure!(
            self.client.escrow(o2).await?.is_none(),
            "order {o2} still has an escrow"
        );
        let refunded = escrow_before - (o2_final.paid_so_far - paid_report);
        self.say(format!(
            "Bob was paid {} in all for the {} the order ran; Charlie got {} back \
             (free balance {} -> {}, less the transaction fee)",
            format::tokens(o2_final.paid_so_far),
            format::blocks(cancelled_at.saturating_sub(started2), self.bph),
            format::tokens(refunded),
            format::tokens(charlie_free),
            format::tokens(self.free(&charlie).await?)
        ));
        self.balances().await?;

        // -- Order 3: rejected by the worker, refunded as points.
        self.step("A third order is rejected by the worker: a service failure");
        let o3 = self.place(worker, &["--blocks", "20"]).await?;
        self.agent_finds(worker, o3).await?;
        self.agent_rejects(o3).await?;
        self.kaisar(&["order", "status", &o3.to_string()]).await?;
        self.step("Charlie checks his points and decides he prefers tokens next time");
        self.kaisar(&["points"]).await?;
        let points = self.client.points_of(&charlie).await?;
        ensure!(points > 0, "the rejected order was not refunded as points");
        self.kaisar(&["points", "prefer", "tokens"]).await?;
        self.kaisar(&["order", "list"]).await?;

        // -- Checker node licenses.
        let sale = self.license_sale().await?;

        // -- Summary.
        self.step("Summary");
        let charlie_total1 = self.client.account(&charlie).await?.total();
        let bob_free1 = self.free(&bob).await?;
        let earned = o1_final.paid_so_far + o2_final.paid_so_far;
        let spent = charlie_total0.saturating_sub(charlie_total1);
        let o3_cost = self.client.order(o3).await?.map_or(0, |o| o.total_cost);
        self.say(format!(
            "Bob earned {} from Charlie's orders ({} + {}); his free balance went {} -> {} \
             (registration fee and deposit {}, agent funding and transaction fees included)",
            format::tokens(earned),
            format::tokens(o1_final.paid_so_far),
            format::tokens(o2_final.paid_so_far),
            format::tokens(bob_free0),
            format::tokens(bob_free1),
            if bob_after_setup < bob_free0 {
                "paid in this run"
            } else {
                "paid in an earlier run"
            }
        ));
        self.say(format!(
            "Charlie spent {}: {} for GPU time, {} turned into {} (the rejected order), and {} \
             in transaction fees",
            format::tokens(spent),
            format::tokens(earned),
            format::tokens(o3_cost),
            format::points(points),
            format::tokens(spent.saturating_sub(earned + o3_cost))
        ));
        ensure!(
            spent >= earned + o3_cost,
            "Charlie's balance does not add up"
        );
        self.say(format!(
            "Dave paid {} for {} checker licenses ({} back as his referral discount); Ferdie \
             earned {} referral commission; license #{} checks for Ferdie's node",
            format::tokens(sale.paid + sale.commission),
            sale.licenses.len(),
            format::tokens(sale.discount),
            format::tokens(sale.commission),
            sale.licenses[0]
        ));
        self.balances().await?;
        println!();
        println!(
            "Demo finished in {:.0} s: worker {worker}, orders {o1} (completed), {o2} (cancelled), \
             {o3} (rejected).",
            self.started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

impl Demo {
    /// The node sale: governance opens a round, Ferdie (an operator) registers a referral code
    /// and a commission, Dave buys two licenses with the code, claims them and delegates one to
    /// Ferdie, which becomes a checker slot at the next epoch.
    async fn license_sale(&mut self) -> Result<kaisar_cli::licenses::Claimed> {
        let dave = account_of(&parse_signer(LICENSE_BUYER)?);
        let ferdie = account_of(&parse_signer(OPERATOR)?);
        self.step("Governance opens a checker-node license sale round");
        let round: u32 = self
            .client
            .fetch(kaisar::storage().checker_licenses().next_round_id(), ())
            .await?
            .unwrap_or_default();
        let now = self.client.best_number().await?;
        // A few blocks ahead (a real node may include the call a block or two later); long
        // enough for Dave's commitment at 6 s blocks.
        let (start, end) = (now + 3, now + 10);
        let open = kaisar::tx().sudo().sudo(kaisar::Call::CheckerLicenses(
            kaisar::checker_licenses::Call::open_round {
                start,
                end,
                tiers: BoundedVec(vec![TierTerms {
                    price: LICENSE_PRICE,
                    supply: 100,
                }]),
                cap_per_wallet: 5,
                allow_list_root: None,
                beneficiary: account_of(&self.alice),
            },
        ));
        let outcome = self
            .submit("opening the sale round", &open, &self.alice)
            .await?;
        let sudid = outcome.expect_event::<kaisar::sudo::events::Sudid>()?;
        if let Err(e) = sudid.sudo_result {
            bail!("open_round under sudo failed: {e:?}");
        }
        self.say(format!(
            "round {round}: blocks #{start}..#{end}, {} a license, 100 for sale, at most 5 per \
             wallet; proceeds to Alice",
            format::tokens(LICENSE_PRICE)
        ));
        self.kaisar_as(LICENSE_BUYER, &["license", "rounds"])
            .await?;

        self.step("Ferdie runs a checker node: he sets a commission and a referral code");
        self.kaisar_as(OPERATOR, &["operator", "commission", "5%"])
            .await?;
        let has_code = self
            .client
            .fetch(kaisar::storage().checker_licenses().code_of(), (ferdie,))
            .await?
            .is_some();
        if has_code {
            self.say("(Ferdie registered his code in an earlier demo run on this chain)");
        } else {
            self.kaisar_as(OPERATOR, &["referral", "register", REFERRAL_CODE])
                .await?;
        }

        self.step("Dave buys two checker licenses with Ferdie's referral code");
        let now = self.client.best_number().await?;
        if now < start {
            self.advance(start - now).await?;
        }
        let r = round.to_string();
        self.kaisar_as(
            LICENSE_BUYER,
            &[
                "license",
                "buy",
                "--round",
                &r,
                "--count",
                "2",
                "--referral",
                REFERRAL_CODE,
            ],
        )
        .await?;

        self.step("After the window Dave claims: the licenses are minted to him as NFTs");
        let now = self.client.best_number().await?;
        if now <= end {
            self.advance(end + 1 - now).await?;
        }
        let ferdie_before = self.free(&ferdie).await?;
        self.kaisar_as(LICENSE_BUYER, &["license", "claim", "--round", &r])
            .await?;
        let out = self
            .client
            .fetch(kaisar::storage().checker_licenses().referrer_of(), (dave,))
            .await?;
        ensure!(out.is_some(), "Dave's referrer was not recorded");
        let mine = kaisar_cli::licenses::licenses_of(&self.client, &dave).await?;
        let fresh: Vec<u32> = mine
            .iter()
            .filter(|l| l.info.round == Some(round))
            .map(|l| l.id)
            .collect();
        ensure!(
            fresh.len() == 2,
            "Dave holds {} licenses of round {round}",
            fresh.len()
        );
        let commission = self.free(&ferdie).await?.saturating_sub(ferdie_before);
        let gross = 2 * LICENSE_PRICE;
        let discount = gross / 20;

        self.step("Dave delegates one license to Ferdie's node");
        let lic = fresh[0].to_string();
        self.kaisar_as(
            LICENSE_BUYER,
            &[
                "license",
                "delegate",
                &lic,
                "--operator",
                &ferdie.to_string(),
            ],
        )
        .await?;
        let len: BlockNumber = self
            .client
            .fetch(kaisar::storage().checker_licenses().epoch_length(), ())
            .await?
            .unwrap_or(1)
            .max(1);
        let now = self.client.best_number().await?;
        let next = (now / len + 1) * len;
        self.say(format!(
            "the delegation takes effect at the next checking epoch (block #{next}; epochs are \
             {len} blocks on this development chain)"
        ));
        self.advance(next - now).await?;
        self.kaisar_as(LICENSE_BUYER, &["license", "list"]).await?;
        let slot = self
            .client
            .fetch(kaisar::storage().checker_licenses().slot_of(), (fresh[0],))
            .await?;
        ensure!(slot.is_some(), "license #{} has no checker slot", fresh[0]);
        Ok(kaisar_cli::licenses::Claimed {
            licenses: fresh,
            paid: gross - discount - commission,
            commission,
            discount,
            released: 0,
        })
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A GPU's `uuid_hash`, unique to the agent and the GPU's index: the one definition
/// ([`kaisar_primitives::gpu_uuid_hash`]) applied to a fake NVML UUID string
/// (`GPU-kaisar-demo-<agent hex>-<index>`).
fn gpu_uuid_hash(agent: &AccountId32, index: u32) -> H256 {
    let uuid = format!("GPU-kaisar-demo-{}-{index}", hex_of(&agent.0));
    H256(kaisar_primitives::gpu_uuid_hash(uuid.as_bytes()))
}

/// The order id in `kaisar order place`'s output ("Order 12 placed on worker 0: ...").
fn parse_order_id(out: &str) -> Result<u64> {
    out.lines()
        .find_map(|l| {
            l.strip_prefix("Order ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|id| id.parse().ok())
        })
        .ok_or_else(|| anyhow!("no order id in the CLI's output"))
}

fn default_kaisar() -> Result<PathBuf> {
    let me = std::env::current_exe().context("locating kaisar-demo")?;
    let dir = me.parent().unwrap_or(Path::new("."));
    let candidate = dir.join("kaisar");
    ensure!(
        candidate.exists(),
        "no `kaisar` binary next to {} (build it with `cargo build -p kaisar-cli`, or pass \
         --kaisar)",
        me.display()
    );
    Ok(candidate)
}

async fn main_inner() -> Result<()> {
    let args = Args::parse();
    ensure!(args.blocks >= 1, "--blocks must be positive");
    let kaisar = match &args.kaisar {
        Some(p) => p.clone(),
        None => default_kaisar()?,
    };
    let key_dir = match &args.key_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("kaisar-demo-keys-{}", std::process::id())),
    };
    let client =
        kaisar_cli::commands::connect(&args.url, Duration::from_secs(args.connect_timeout)).await?;
    let bph = client
        .constant(kaisar::constants().orders().blocks_per_hour())
        .await?;
    let url = args.url.clone();
    let mut demo = Demo {
        client,
        url,
        kaisar,
        key_dir,
        step: 0,
        bob: parse_signer(PROVIDER)?,
        agent: parse_signer(AGENT)?,
        charlie: parse_signer(USER)?,
        alice: parse_signer(SUDO)?,
        bph,
        started: Instant::now(),
        blocks: args.blocks,
        report_every: args.report_every.max(1),
    };
    demo.run().await
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match main_inner().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!();
            eprintln!("demo failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_id_is_read_from_the_cli_output() {
        let out = "Order 12 placed on worker 0: 1 x RTX 4090 for 30 blocks (3 min) at 6 KAI per \
                   GPU-hour.\n  total cost:  0.3 KAI\n";
        assert_eq!(parse_order_id(out).unwrap(), 12);
        assert!(parse_order_id("nothing here").is_err());
    }

    #[test]
    fn gpu_ids_differ_per_gpu_and_agent() {
        let a = AccountId32([1; 32]);
        let b = AccountId32([2; 32]);
        assert_ne!(gpu_uuid_hash(&a, 0), gpu_uuid_hash(&a, 1));
        assert_ne!(gpu_uuid_hash(&a, 0), gpu_uuid_hash(&b, 0));
    }
}
