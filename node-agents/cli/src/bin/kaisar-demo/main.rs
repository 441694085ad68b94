//! `kaisar-demo`: the whole Kaisar GPU cloud on a local development chain, every role played by
//! what really plays it, told step by step. `scripts/devnet` starts a chain and runs it;
//! `scripts/e2e` runs it too, as the end-to-end scenario of all three roles.
//!
//! - **Checker nodes**: governance opens a node-sale round; Ferdie registers a referral code;
//!   Dave buys three licenses with it through the `kaisar` CLI, claims them and delegates one
//!   to each of three operators (Ferdie, himself and Eve), who each start a real
//!   `kaisar-checker` daemon (a separate process with its own key file, config and state).
//! - **Bob, a GPU provider**, starts a real `kaisar-provider` agent on his host: the fake GPU
//!   backend (no GPU here), real containers through the Docker Engine API of `podman system
//!   service`, and an image built locally. The agent registers its worker; the checker daemons
//!   challenge it over HTTP, verify its answers and attest on chain: the worker becomes Active
//!   with nobody's sudo.
//! - **Charlie, a user**, uses only the `kaisar` CLI: orders a container, reads the access
//!   details decrypted with his key and reaches the container with them, sees usage paid to
//!   Bob as it matures and his workload's crash as a structured exit event. Bob's agent is
//!   killed (`kill -9`) mid-order and restarted: it finds the same container and reports on at
//!   the next sequence number. Then Bob's host goes down: the next check fails and Charlie's
//!   order is refunded as points. The agent comes back (the ended order's container removed)
//!   while Eve's checker is offline: the two others pass the worker again, Eve's slot recorded
//!   silent. Charlie spends his points on a second order, reaches it and cancels it.
//!
//! Time: on Chopsticks the demo builds a block every 2 s (transactions wait for the next block,
//! as on a node); on a real node blocks come every 6 s. Exits 0 when
//! every step did what it should; the daemons' logs stay in the demo's directory.

mod daemons;
mod narrator;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::Parser;
use kaisar_chain_client::{
    kaisar,
    kaisar::runtime_types::pallet_popw_attestations::types::CheckOutcome,
    signer::{account_of, parse_signer},
    subxt_signer::sr25519::Keypair,
    types::*,
    AccountId32, Balance, BlockNumber, Client, Engine, Signer, UNITS,
};
use kaisar_cli::format;

use daemons::{free_port, http_get, AgentSetup, Podman, Process};
use narrator::Narration;

/// Walk through the Kaisar GPU cloud on a local development chain, with the real daemons.
#[derive(Parser, Debug)]
#[command(name = "kaisar-demo", version)]
struct Args {
    /// The node's WebSocket URL.
    #[arg(long, env = "KAISAR_WS", default_value = "ws://127.0.0.1:9944")]
    url: String,
    /// The `kaisar` binary Charlie uses (default: the one next to this binary).
    #[arg(long)]
    kaisar: Option<PathBuf>,
    /// The `kaisar-provider` binary (default: the one next to this binary).
    #[arg(long)]
    provider: Option<PathBuf>,
    /// The `kaisar-checker` binary (default: the one next to this binary).
    #[arg(long)]
    checker: Option<PathBuf>,
    /// The demo's directory: keys, configs, daemons' state and logs, the Podman socket and
    /// Charlie's order keys (default: a fresh temporary directory). Wiped at the start.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seconds to keep trying to reach the node.
    #[arg(long, default_value_t = 60)]
    connect_timeout: u64,
    /// After the scenario, keep the network running for the dApp and other clients (the
    /// daemons up, a block every 2 s on Chopsticks) until SIGTERM or SIGINT (Ctrl-C), then stop
    /// the daemons cleanly as the scenario does. Prints `kaisar-demo: serving` when ready.
    #[arg(long)]
    serve: bool,
    /// With `--serve`: also create this file when ready (for scripts waiting on the demo).
    #[arg(long, requires = "serve")]
    ready_file: Option<PathBuf>,
}

const USER: &str = "//Charlie";
const LICENSE_BUYER: &str = "//Dave";
/// The referrer, and the first checker operator.
const OPERATOR: &str = "//Ferdie";
/// The three checker operators: Ferdie, Dave (his own node) and Eve.
const OPERATORS: [(&str, &str); 3] = [("Ferdie", "//Ferdie"), ("Dave", "//Dave"), ("Eve", "//Eve")];
/// Ferdie's referral code in the demo.
const REFERRAL_CODE: &str = "ferdie-node";
/// Price of a checker license in the demo's sale round.
const LICENSE_PRICE: Balance = 50 * UNITS;
const SUDO: &str = "//Alice";
/// The image Charlie orders (built locally by the demo).
const IMAGE: &str = "localhost/kaisar-demo-app:latest";
/// Bob's price per GPU-hour.
const PRICE: Balance = 6 * UNITS;
/// The device the fake backend reports: this machine has no GPU, so the worker claims the
/// development-only `DevCpu` model (accepted by the development chain's genesis only), whose
/// small PoPW challenge a CPU answers in a few seconds, timing judged. A CPU never passes a
/// real GPU model's check.
const GPU_NAME: &str = "Kaisar DevCpu";
const GPU_MODEL_ARG: &str = "devcpu";

struct Demo {
    client: Client,
    url: String,
    kaisar: PathBuf,
    dir: PathBuf,
    key_dir: PathBuf,
    step: u32,
    charlie: Signer,
    alice: Signer,
    bph: BlockNumber,
    epoch_length: BlockNumber,
    started: Instant,
    narration: Narration,
    podman: Option<Podman>,
    agent: Option<Process>,
    checkers: Vec<Process>,
    provider_bin: PathBuf,
    checker_bin: PathBuf,
    /// `--serve`, with its ready file.
    serve: Option<Option<PathBuf>>,
}

fn short(a: &AccountId32) -> String {
    let s = a.to_string();
    format!("{}…{}", &s[..6], &s[s.len() - 4..])
}

/// A fresh secret seed: an x25519 secret drawn from the OS's randomness (32 random bytes).
fn fresh_seed() -> [u8; 32] {
    *kaisar_cli::access::AccessKeyPair::generate().secret_bytes()
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

    /// An error if a daemon that should run has exited.
    fn check_daemons(&mut self) -> Result<()> {
        if let Some(a) = self.agent.as_mut() {
            a.ensure_running()?;
        }
        for c in &mut self.checkers {
            c.ensure_running()?;
        }
        Ok(())
    }

    /// Wait (blocks pass: the narrator builds them on Chopsticks) until `f` gives `Some`, at
    /// most `blocks` blocks from now; the daemons must keep running meanwhile.
    async fn until<T, F, Fut>(&mut self, what: &str, blocks: BlockNumber, mut f: F) -> Result<T>
    where
        F: FnMut(Client) -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let deadline_block = self.client.best_number().await? + blocks;
        // A stuck chain must not hang the demo: 6 s a block (a node's pace) and a margin.
        let deadline = Instant::now() + Duration::from_secs(6 * u64::from(blocks) + 120);
        loop {
            if let Some(v) = f(self.client.clone()).await? {
                return Ok(v);
            }
            self.check_daemons()?;
            let now = self.client.best_number().await?;
            ensure!(
                now <= deadline_block && Instant::now() < deadline,
                "{what}: not done by block #{deadline_block} (now #{now})"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    async fn order(&self, id: u64) -> Result<Order> {
        self.client
            .order(id)
            .await?
            .ok_or_else(|| anyhow!("order {id} not found"))
    }

    async fn balances(&self, bob: &AccountId32) -> Result<()> {
        let charlie = account_of(&self.charlie);
        let bob_acc = self.client.account(bob).await?;
        let deposit = self.client.held(bob, &worker_deposit_hold()).await?;
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

    /// Start (or restart) Bob's agent.
    fn start_agent(&mut self) -> Result<()> {
        let agent = self.agent.as_mut().expect("the agent is set up");
        let pid = agent.start()?;
        let log = agent.log.display().to_string();
        self.say(format!("kaisar-provider run (pid {pid}); its log: {log}"));
        Ok(())
    }

    /// `kill -9` Bob's agent.
    async fn kill_agent(&mut self) -> Result<()> {
        let agent = self.agent.as_mut().expect("the agent is set up");
        let pid = agent.pid();
        agent.kill9().await?;
        self.say(format!("$ kill -9 {}", pid.unwrap_or_default()));
        Ok(())
    }

    /// Charlie's access details for `order`, as the CLI shows them decrypted: (host port of
    /// container port 8080, token).
    async fn access_of(&self, order: u64) -> Result<(u16, String)> {
        let out = self
            .kaisar(&["order", "status", &order.to_string()])
            .await?;
        let json = out
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with('{') && l.contains("\"token\""))
            .ok_or_else(|| anyhow!("the CLI did not show the decrypted access details"))?;
        let v: serde_json::Value = serde_json::from_str(json)?;
        let token = v["token"]
            .as_str()
            .ok_or_else(|| anyhow!("no token in the access details"))?
            .to_string();
        let port = v["ports"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["container"] == 8080))
            .and_then(|p| p["host"].as_u64())
            .ok_or_else(|| anyhow!("no published port 8080 in the access details"))?;
        Ok((port as u16, token))
    }

    /// GET `/` on the container until it answers (30 s): the body.
    async fn reach(&self, port: u16) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match http_get(port, "/").await {
                Ok((status, body)) if status.contains(" 200") => return Ok(body),
                r => ensure!(
                    Instant::now() < deadline,
                    "the container does not answer on port {port}: {r:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn place(&self, worker: u64, points: &str) -> Result<u64> {
        let worker = worker.to_string();
        let out = self
            .kaisar(&[
                "order",
                "place",
                "--image",
                IMAGE,
                "--gpu-model",
                GPU_MODEL_ARG,
                "--gpus",
                "1",
                "--hours",
                "1",
                "--max-price",
                "8",
                "--worker",
                &worker,
                "--points",
                points,
                "--port",
                "8080",
            ])
            .await?;
        parse_order_id(&out)
    }

    fn last_seq(order: &Order) -> Option<u32> {
        match order.status {
            OrderStatus::Running {
                last_report_seq, ..
            } => Some(last_report_seq),
            _ => None,
        }
    }

    async fn run(&mut self) -> Result<()> {
        let charlie = account_of(&self.charlie);
        let engine = self.client.engine().await?;
        println!("== Kaisar GPU cloud: local devnet demo, every role by its real program ==");
        println!(
            "chain {} at block #{} ({}); {} blocks an hour, checking epochs of {} blocks",
            self.url,
            self.client.best_number().await?,
            match engine {
                Engine::Chopsticks => "Chopsticks: the demo builds a block every 2 s",
                Engine::Node => "a real node: one block every 6 s",
            },
            self.bph,
            self.epoch_length,
        );
        println!(
            "the demo's directory (keys, configs, logs): {}",
            self.dir.display()
        );
        println!("lines marked · are what the daemons did, as it lands on chain");

        // -- Bob's host: container engine and image.
        self.step("Bob's GPU host: the container engine (Docker Engine API) and an image");
        let agent_name = format!("kaisar-demo-{}", std::process::id());
        let podman = Podman::start(&self.dir, &agent_name).await?;
        self.say(format!(
            "podman system service serves the Docker Engine API on {}",
            podman.socket.display()
        ));
        podman.build_image(&self.dir.join("image"), IMAGE).await?;
        self.say(format!(
            "built {IMAGE} locally (a static HTTP server, FROM scratch): it answers its access \
             token on port 8080, and /exit<N> makes it exit with code N"
        ));
        self.podman = Some(podman);

        // -- Checker licenses and the three checker daemons.
        let sale = self.license_sale().await?;
        self.step("Ferdie, Dave and Eve start their checker daemons");
        for (name, suri) in OPERATORS {
            let dir = self.dir.join(format!("checker-{}", name.to_lowercase()));
            let config = daemons::write_checker_files(&dir, &self.url, suri)?;
            let mut p = Process::new(
                &format!("{name}'s kaisar-checker"),
                &self.checker_bin,
                &["--config", &config.to_string_lossy()],
                dir.join("checker.log"),
            );
            let pid = p.start()?;
            self.say(format!(
                "{name}: kaisar-checker --config {} (pid {pid}; key in a 0600 file, log {})",
                config.display(),
                p.log.display()
            ));
            self.checkers.push(p);
        }

        // -- Bob's agent registers the worker.
        self.step("Bob starts the provider agent on his host; it registers the worker");
        let bob_dev = parse_signer("//Bob")?;
        let provider_seed = fresh_seed();
        let agent_seed = fresh_seed();
        let provider = Keypair::from_secret_key(provider_seed)?;
        let agent = Keypair::from_secret_key(agent_seed)?;
        let bob = account_of(&provider);
        let agent_id = account_of(&agent);
        self.submit(
            "funding Bob's provider account",
            &kaisar::tx()
                .balances()
                .transfer_keep_alive(bob.clone().into(), 500 * UNITS),
            &bob_dev,
        )
        .await?;
        self.submit(
            "funding the agent",
            &kaisar::tx()
                .balances()
                .transfer_keep_alive(agent_id.clone().into(), 10 * UNITS),
            &provider,
        )
        .await?;
        self.say(format!(
            "Bob's provider account {} (500 KAI) pays the registration; the agent signs with \
             its own key {} (10 KAI for fees). Both keys are 0600 files on the host.",
            short(&bob),
            short(&agent_id)
        ));
        let responder_port = free_port()?;
        let fixture = fixture_json(&format!("GPU-kaisar-demo-{}", hex_of(&agent_id.0[..8])));
        let agent_dir = self.dir.join("agent");
        let config = daemons::write_agent_files(&AgentSetup {
            dir: &agent_dir,
            chain_url: &self.url,
            podman_socket: &self.podman.as_ref().expect("started").socket,
            agent_name: &agent_name,
            agent_seed_hex: &hex_of(&agent_seed),
            provider_seed_hex: &hex_of(&provider_seed),
            fixture: &fixture,
            responder_port,
            price_per_gpu_hour: PRICE,
        })?;
        self.say(format!(
            "config {}: fake GPU backend with one {GPU_NAME} device (this machine has no GPU; \
             the development chain accepts this CPU stand-in), containers through Podman, PoPW \
             responder (CPU backend) on port {responder_port}, {} per GPU-hour",
            config.display(),
            format::tokens(PRICE)
        ));
        self.agent = Some(Process::new(
            "Bob's kaisar-provider",
            &self.provider_bin,
            &["--config", &config.to_string_lossy(), "run"],
            agent_dir.join("agent.log"),
        ));
        self.start_agent()?;
        let worker = self
            .until("the agent's registration", 30, |c| {
                let a = agent_id.clone();
                async move { Ok(c.worker_of_agent(&a).await?) }
            })
            .await?;
        self.narration.set_worker(worker);
        let info = self
            .client
            .worker(worker)
            .await?
            .ok_or_else(|| anyhow!("worker {worker} vanished"))?;
        self.say(format!(
            "worker {worker} is {} (nobody can rent it until the checkers verify it)",
            format::worker_status(&info.status)
        ));

        // -- The checkers verify it.
        self.step("The checker daemons check the new worker: commit, challenge, seal, reveal");
        self.say(
            "each assigned checker commits to a secret nonce, sends a PoPW challenge to the \
             agent's endpoint,\nverifies the answer, seals its attestation and reveals it; the \
             chain takes the majority",
        );
        self.until(
            "the worker's verification",
            4 * self.epoch_length,
            |c| async move {
                let w = c.worker(worker).await?;
                Ok(w.filter(|w| w.status == WorkerStatus::Active).map(|_| ()))
            },
        )
        .await?;
        self.say(format!(
            "worker {worker} is Active: verified by the checkers"
        ));
        self.kaisar(&["workers"]).await?;
        self.balances(&bob).await?;

        // -- Charlie's order.
        if self.client.refund_preference(&charlie).await? != RefundPreference::Points {
            self.kaisar(&["points", "prefer", "points"]).await?;
        }
        self.step(&format!(
            "Charlie rents the GPU on worker {worker} for an hour, running {IMAGE}"
        ));
        self.say(
            "the CLI makes a fresh x25519 key pair for this order, keeps the secret in a 0600 \
             file\nand puts the public key in the order; the payment is held in escrow",
        );
        let o1 = self.place(worker, "0").await?;
        self.until("the agent's acceptance", 30, |c| async move {
            let o = c.order(o1).await?;
            Ok(o.and_then(|o| Self::last_seq(&o)))
        })
        .await?;

        self.step(
            "Charlie reads the access details (decrypted with his key) and reaches the container",
        );
        let (port, token) = self.access_of(o1).await?;
        let body = self.reach(port).await?;
        ensure!(
            body.trim() == token,
            "the container answered {body:?}, not the access token"
        );
        self.say(format!(
            "$ curl http://127.0.0.1:{port}/  ->  {}  (the token from the sealed access details)",
            body.trim()
        ));

        self.step("The agent reports usage; Bob is paid as each report matures");
        let delay = self.maturity_delay().await?;
        self.say(format!(
            "a report matures after {} unless a check or a dispute catches a fake machine",
            format::blocks(delay, self.bph)
        ));
        self.until("a matured payment", delay + 40, |c| async move {
            let o = c.order(o1).await?;
            Ok(o.filter(|o| o.paid_so_far > 0).map(|_| ()))
        })
        .await?;
        self.kaisar(&["order", "status", &o1.to_string()]).await?;
        self.balances(&bob).await?;

        // -- The workload crashes: a structured exit event.
        self.step("Charlie's workload crashes with exit code 3");
        let _ = http_get(port, "/exit3").await;
        self.say(format!("$ curl http://127.0.0.1:{port}/exit3"));
        self.until("the exit report", 30, |c| async move {
            let r = c
                .fetch(kaisar::storage().orders().exit_records(), (o1,))
                .await?;
            Ok(r.filter(|r| !r.0.is_empty()).map(|_| ()))
        })
        .await?;
        let status = self.kaisar(&["order", "status", &o1.to_string()]).await?;
        ensure!(
            status.contains("container exit"),
            "`kaisar order status` does not show the exit"
        );
        let body = self.reach(port).await?;
        ensure!(
            body.trim() == token,
            "the restarted container lost the token"
        );
        self.say(
            "the agent restarted the container (same port, same token): Charlie reaches it again",
        );

        // -- kill -9 of the agent mid-order.
        self.step("Bob's agent is killed (kill -9) mid-order, then started again");
        let podman = self.podman.as_ref().expect("started");
        let before = podman.containers().of(o1).await?;
        ensure!(before.len() == 1, "order {o1} has containers {before:?}");
        let seq = Self::last_seq(&self.order(o1).await?).unwrap_or_default();
        self.kill_agent().await?;
        self.start_agent()?;
        // The first report seen after the restart (the next one comes blocks later).
        let seq_now = self
            .until("the next usage report", 30, |c| async move {
                let o = c.order(o1).await?;
                Ok(o.and_then(|o| Self::last_seq(&o)).filter(|s| *s > seq))
            })
            .await?;
        let after = self
            .podman
            .as_ref()
            .expect("started")
            .containers()
            .of(o1)
            .await?;
        ensure!(
            after == before,
            "the restarted agent did not keep the container: {before:?} -> {after:?}"
        );
        ensure!(
            seq_now == seq + 1,
            "reports jumped from #{seq} to #{seq_now}"
        );
        self.say(format!(
            "the restarted agent found container {} of order {o1} (labelled with the order) \
             and reported usage #{seq_now}, right after #{seq}: nothing reported twice",
            &after[0][..12]
        ));

        // -- The host goes down: the check fails and the order is refunded as points.
        self.step("Bob's host goes down (the agent is killed) and the next check fails");
        let points_before = self.client.points_of(&charlie).await?;
        self.kill_agent().await?;
        self.say("the checkers' challenges find nobody at the worker's endpoint: they attest Unreachable");
        let failed_epoch = self
            .until("the failed check", 4 * self.epoch_length, |c| async move {
                let s = c
                    .fetch(
                        kaisar::storage().popw_attestations().last_verdicts(),
                        (worker,),
                    )
                    .await?;
                Ok(s.filter(|v| v.outcome != CheckOutcome::Passed)
                    .map(|v| v.epoch))
            })
            .await?;
        let o1_now = self
            .until("order 1's refund", 10, |c| async move {
                let o = c.order(o1).await?;
                Ok(o.filter(|o| matches!(o.status, OrderStatus::Failed { .. })))
            })
            .await?;
        self.kaisar(&["order", "status", &o1.to_string()]).await?;
        let points = self.client.points_of(&charlie).await?;
        ensure!(
            points > points_before,
            "the failed service was not refunded as points"
        );
        self.kaisar(&["points"]).await?;
        self.say(format!(
            "Bob was paid {} for the time reported and matured; the unpaid rest came back to \
             Charlie as {}",
            format::tokens(o1_now.paid_so_far),
            format::points(points - points_before)
        ));

        // -- The agent is back; Eve's checker is offline for an epoch.
        self.step("Bob's agent is back, while Eve's checker node is offline");
        let eve = self.checkers.len() - 1;
        let eve_pid = self.checkers[eve].pid();
        self.checkers[eve].kill9().await?;
        self.say(format!(
            "$ kill -9 {}   (Eve's kaisar-checker)",
            eve_pid.unwrap_or_default()
        ));
        self.start_agent()?;
        let containers = self.podman.as_ref().expect("started").containers();
        self.until("the ended order's container removed", 30, |_| {
            let containers = containers.clone();
            async move { Ok(containers.of(o1).await?.is_empty().then_some(())) }
        })
        .await?;
        self.say(format!(
            "the restarted agent reconciled: order {o1} has ended on chain, so its container \
             was removed"
        ));
        // The next passing verdict that drew Eve's slot (the draw can miss a slot in an epoch:
        // then the one after), so that her silence is seen, not assumed.
        let eve_license = sale.licenses[2];
        let verdict = self
            .until(
                "the next passing check with Eve's slot drawn",
                5 * self.epoch_length,
                |c| async move {
                    let s = c
                        .fetch(
                            kaisar::storage().popw_attestations().last_verdicts(),
                            (worker,),
                        )
                        .await?;
                    Ok(s.filter(|v| {
                        v.epoch > failed_epoch
                            && v.outcome == CheckOutcome::Passed
                            && v.votes.0.iter().any(|vote| vote.license == eve_license)
                    }))
                },
            )
            .await?;
        let eve_vote = verdict
            .votes
            .0
            .iter()
            .find(|v| v.license == eve_license)
            .expect("the verdict was chosen with Eve's slot");
        ensure!(
            eve_vote.verdict.is_none(),
            "Eve's offline slot has a vote: {eve_vote:?}"
        );
        let silent = verdict
            .votes
            .0
            .iter()
            .filter(|v| v.verdict.is_none())
            .count();
        self.say(format!(
            "epoch {}: the worker passed with {} of {} slots; Eve's slot is recorded silent (no \
             attestation: no reward for it)",
            verdict.epoch,
            verdict.votes.0.len() - silent,
            verdict.votes.0.len(),
        ));
        let pid = self.checkers[eve].start()?;
        self.say(format!(
            "Eve's node is back (pid {pid}); its nonces and attestations survive restarts in \
             its state file"
        ));

        // -- Charlie spends his points.
        self.step("Charlie spends his points on a second order");
        let spend = format::tokens(points).replace(" KAI", "");
        let o2 = self.place(worker, &spend).await?;
        let o2_info = self.order(o2).await?;
        self.until("the agent's acceptance", 30, |c| async move {
            let o = c.order(o2).await?;
            Ok(o.and_then(|o| Self::last_seq(&o)))
        })
        .await?;
        let (port2, token2) = self.access_of(o2).await?;
        ensure!(
            self.reach(port2).await?.trim() == token2,
            "the second container does not answer its token"
        );
        ensure!(
            self.client.points_of(&charlie).await? < points,
            "no points were spent"
        );
        let spent = points - self.client.points_of(&charlie).await?;
        self.say(format!(
            "order {o2} costs {}, {} of it paid with points (the discount is capped per order); \
             Charlie reaches its container on port {port2}",
            format::tokens(o2_info.total_cost),
            format::points(spent)
        ));

        self.step("Charlie cancels the second order");
        self.kaisar(&["order", "cancel", &o2.to_string()]).await?;
        let containers = self.podman.as_ref().expect("started").containers();
        self.until("the cancelled order's container removed", 30, |_| {
            let containers = containers.clone();
            async move { Ok(containers.of(o2).await?.is_empty().then_some(())) }
        })
        .await?;
        self.say("the agent removed the container of the cancelled order");
        self.kaisar(&["order", "list"]).await?;

        // -- Summary.
        self.step("Summary");
        // The agent idle (no order, no container; it follows blocks, heartbeats and answers
        // the checks due meanwhile): what it costs a provider's host.
        let before = self.agent.as_ref().and_then(|a| a.usage());
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(10)).await;
        self.check_daemons()?;
        if let (Some(b), Some(a)) = (before, self.agent.as_ref().and_then(|a| a.usage())) {
            let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
            self.say(format!(
                "Bob's agent idle for {:.0} s: {:.1} MiB resident (peak {:.1} MiB since its last \
                 start), {:.2}% of one core",
                t0.elapsed().as_secs_f64(),
                mib(a.rss),
                mib(a.peak_rss),
                100.0 * a.cpu.saturating_sub(b.cpu).as_secs_f64() / t0.elapsed().as_secs_f64()
            ));
        }
        self.balances(&bob).await?;
        self.say(format!(
            "Dave paid {} for {} checker licenses ({} back as his referral discount); Ferdie \
             earned {} referral commission; licenses {:?} check for Ferdie's, Dave's and Eve's \
             nodes",
            format::tokens(sale.paid + sale.commission),
            sale.licenses.len(),
            format::tokens(sale.discount),
            format::tokens(sale.commission),
            sale.licenses
        ));
        if let Some(ready_file) = self.serve.clone() {
            self.serve_until_stopped(ready_file.as_deref()).await?;
        }
        self.say("stopping the daemons (SIGTERM: each finishes its transaction in flight)");
        self.stop_daemons(true).await?;
        println!();
        println!(
            "Demo finished in {:.0} s: worker {worker} verified by three checker daemons, order \
             {o1} served, crashed, restarted and refunded as points, order {o2} paid partly in \
             points and cancelled.",
            self.started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// `--serve`: the network stays up (daemons, blocks) until SIGTERM or SIGINT; a daemon that
    /// dies meanwhile fails the demo.
    async fn serve_until_stopped(&mut self, ready_file: Option<&std::path::Path>) -> Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        self.step("Serving the network until stopped (SIGTERM or Ctrl-C)");
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        self.say(format!(
            "chain {}, Bob's worker with its agent, three checker daemons; the daemons' logs in {}",
            self.url,
            self.dir.display()
        ));
        println!("kaisar-demo: serving");
        if let Some(file) = ready_file {
            std::fs::write(file, format!("KAISAR_WS={}\n", self.url))
                .with_context(|| format!("writing {}", file.display()))?;
        }
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = tokio::time::sleep(Duration::from_secs(2)) => self.check_daemons()?,
            }
        }
        self.say("asked to stop");
        Ok(())
    }

    /// Stop the daemons; with `strict`, an error unless each exited cleanly.
    async fn stop_daemons(&mut self, strict: bool) -> Result<()> {
        let mut unclean = Vec::new();
        if let Some(a) = self.agent.as_mut() {
            if !a.stop(Duration::from_secs(60)).await? {
                unclean.push(a.name.clone());
            }
        }
        for c in &mut self.checkers {
            if !c.stop(Duration::from_secs(60)).await? {
                unclean.push(c.name.clone());
            }
        }
        if let Some(p) = self.podman.as_mut() {
            p.stop().await;
        }
        self.narration
            .stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        ensure!(
            !strict || unclean.is_empty(),
            "not stopped cleanly: {unclean:?}"
        );
        Ok(())
    }

    /// The chain's usage maturity delay, in blocks.
    async fn maturity_delay(&self) -> Result<BlockNumber> {
        Ok(self
            .client
            .fetch(kaisar::storage().orders().maturity_delay(), ())
            .await?
            .unwrap_or_default())
    }
}

impl Demo {
    /// The node sale: governance opens a round, Ferdie (an operator) registers a referral code
    /// and a commission, Dave buys three licenses with the code, claims them and delegates one
    /// to each operator's node; they become checker slots at the next epoch.
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
        let (start, end) = (now + 3, now + 12);
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

        self.step(
            "Ferdie and Eve run checker nodes: they set a commission; Ferdie a referral code",
        );
        self.kaisar_as(OPERATOR, &["operator", "commission", "5%"])
            .await?;
        self.kaisar_as("//Eve", &["operator", "commission", "3%"])
            .await?;
        let has_code = self
            .client
            .fetch(
                kaisar::storage().checker_licenses().code_of(),
                (ferdie.clone(),),
            )
            .await?
            .is_some();
        if has_code {
            self.say("(Ferdie registered his code in an earlier demo run on this chain)");
        } else {
            self.kaisar_as(OPERATOR, &["referral", "register", REFERRAL_CODE])
                .await?;
        }

        self.step("Dave buys three checker licenses with Ferdie's referral code");
        self.until("the sale's start", 10, |c| async move {
            Ok((c.best_number().await? >= start).then_some(()))
        })
        .await?;
        let r = round.to_string();
        self.kaisar_as(
            LICENSE_BUYER,
            &[
                "license",
                "buy",
                "--round",
                &r,
                "--count",
                "3",
                "--referral",
                REFERRAL_CODE,
            ],
        )
        .await?;

        self.step("After the window Dave claims: the licenses are minted to him as NFTs");
        self.until("the sale's end", 20, |c| async move {
            Ok((c.best_number().await? > end).then_some(()))
        })
        .await?;
        let ferdie_before = self.free(&ferdie).await?;
        self.kaisar_as(LICENSE_BUYER, &["license", "claim", "--round", &r])
            .await?;
        let out = self
            .client
            .fetch(kaisar::storage().checker_licenses().referrer_of(), (dave,))
            .await?;
        ensure!(out.is_some(), "Dave's referrer was not recorded");
        let dave = account_of(&parse_signer(LICENSE_BUYER)?);
        let mine = kaisar_cli::licenses::licenses_of(&self.client, &dave).await?;
        let fresh: Vec<u32> = mine
            .iter()
            .filter(|l| l.info.round == Some(round))
            .map(|l| l.id)
            .collect();
        ensure!(
            fresh.len() == 3,
            "Dave holds {} licenses of round {round}",
            fresh.len()
        );
        let commission = self.free(&ferdie).await?.saturating_sub(ferdie_before);
        let gross = 3 * LICENSE_PRICE;
        let discount = gross / 20;

        self.step("Dave delegates one license to each checker node: Ferdie's, his own and Eve's");
        for ((name, suri), lic) in OPERATORS.iter().zip(&fresh) {
            let operator = account_of(&parse_signer(suri)?);
            let lic = lic.to_string();
            self.kaisar_as(
                LICENSE_BUYER,
                &[
                    "license",
                    "delegate",
                    &lic,
                    "--operator",
                    &operator.to_string(),
                ],
            )
            .await?;
            self.say(format!("(license #{lic} to {name}'s node)"));
        }
        let len = self.epoch_length;
        let now = self.client.best_number().await?;
        let next = (now / len + 1) * len;
        self.say(format!(
            "the delegations take effect at the next checking epoch (block #{next}; epochs are \
             {len} blocks on this development chain): the operators start their daemons now"
        ));
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

/// The fake GPU backend's fixture: one [`GPU_NAME`] device with the UUID `uuid` (as
/// `node-agents/provider/fixtures/devcpu.json`).
fn fixture_json(uuid: &str) -> String {
    format!(
        r#"{{ "gpus": [{{
  "identity": {{
    "index": 0, "uuid": "{uuid}", "name": "{GPU_NAME}", "serial": null,
    "pci_bus_id": "00000000:00:00.0", "memory_total_bytes": 8589934592,
    "driver_version": "none (development CPU)", "cuda_version": "none"
  }},
  "state": {{
    "utilization_pct": 0, "memory_utilization_pct": 0, "memory_used_bytes": 0,
    "temperature_c": null, "power_mw": null, "total_energy_mj": null,
    "sm_clock_mhz": null, "mem_clock_mhz": null, "ecc_uncorrected_volatile": null,
    "mig_mode": "unsupported", "process_count": 0
  }}
}}] }}
"#
    )
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

/// `name` next to this binary, unless given.
fn sibling(given: &Option<PathBuf>, name: &str, package: &str) -> Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.clone());
    }
    let me = std::env::current_exe().context("locating kaisar-demo")?;
    let dir = me.parent().unwrap_or(Path::new("."));
    let candidate = dir.join(name);
    ensure!(
        candidate.exists(),
        "no `{name}` binary next to {} (build it with `cargo build -p {package}`, or pass its \
         path)",
        me.display()
    );
    Ok(candidate)
}

async fn main_inner() -> Result<()> {
    let args = Args::parse();
    let kaisar = sibling(&args.kaisar, "kaisar", "kaisar-cli")?;
    let provider_bin = sibling(&args.provider, "kaisar-provider", "kaisar-provider")?;
    let checker_bin = sibling(&args.checker, "kaisar-checker", "kaisar-checker")?;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("kaisar-demo-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let client =
        kaisar_cli::commands::connect(&args.url, Duration::from_secs(args.connect_timeout)).await?;
    let bph = client
        .constant(kaisar::constants().orders().blocks_per_hour())
        .await?;
    let epoch_length: BlockNumber = client
        .fetch(kaisar::storage().checker_licenses().epoch_length(), ())
        .await?
        .unwrap_or(1)
        .max(1);
    let narration = Narration::new();
    // On Chopsticks, a block every 2 s (transactions wait for it, as on a node): the
    // development chain's 5-block seal window is 10 s, room for the three checkers'
    // challenges, which the worker's one device answers one after the other.
    let chopsticks = client.engine().await? == Engine::Chopsticks;
    if chopsticks {
        narrator::set_build_mode(&client, "Manual").await?;
    }
    let narrator = narrator::spawn(
        client.clone(),
        narration.clone(),
        chopsticks,
        Duration::from_secs(2),
    );
    let mut demo = Demo {
        client,
        url: args.url.clone(),
        kaisar,
        key_dir: dir.join("charlie-keys"),
        dir,
        step: 0,
        charlie: parse_signer(USER)?,
        alice: parse_signer(SUDO)?,
        bph,
        epoch_length,
        started: Instant::now(),
        narration,
        podman: None,
        agent: None,
        checkers: Vec::new(),
        provider_bin,
        checker_bin,
        serve: args.serve.then(|| args.ready_file.clone()),
    };
    let result = demo.run().await;
    if result.is_err() {
        // Leave nothing running; the logs stay for a look.
        let _ = demo.stop_daemons(false).await;
        println!();
        println!("the daemons' logs: {}", demo.dir.display());
    }
    demo.narration
        .stop
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = narrator.await;
    if chopsticks {
        // Back to a block per transaction (what the other tests on this chain expect).
        narrator::set_build_mode(&demo.client, "Instant").await?;
    }
    result
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
    fn the_fixture_is_json_with_the_gpu() {
        let f = fixture_json("GPU-x");
        assert!(f.contains("\"uuid\": \"GPU-x\""));
        assert!(f.contains(GPU_NAME));
    }
}
