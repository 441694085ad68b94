//! What each `kaisar` command does. Every command prints plain-language lines to stdout; errors
//! (including the chain's typed module errors, e.g. `Orders::PriceTooHigh`) come back as
//! `anyhow` errors for the binary to print.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use kaisar_chain_client::{
    kaisar::{self, orders::events as order_events},
    signer::account_of,
    types::*,
    AccountId32, Balance, BlockNumber, Client, RetryPolicy, Signer, TxOutcome,
};

use crate::{
    access::{fingerprint, AccessKeyPair},
    format,
    keystore::KeyStore,
};

/// Connect to a node, retrying for up to `timeout` while it is not up.
pub async fn connect(url: &str, timeout: Duration) -> Result<Client> {
    let retry = RetryPolicy {
        timeout,
        ..RetryPolicy::default()
    };
    Client::connect_with(url, retry)
        .await
        .with_context(|| format!("connecting to {url}"))
}

/// A worker as listed by `kaisar workers`.
#[derive(Clone, Debug)]
pub struct WorkerRow {
    /// Its id.
    pub id: u64,
    /// Its record.
    pub info: WorkerInfo,
}

/// Every registered worker, by id.
pub async fn all_workers(client: &Client) -> Result<Vec<WorkerRow>> {
    let mut rows: Vec<WorkerRow> = client
        .entries(kaisar::storage().worker_registry().workers(), ())
        .await
        .context("reading workers")?
        .into_iter()
        .map(|((id,), info)| WorkerRow { id, info })
        .collect();
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// `kaisar workers`: a table of the registered workers, with what the checkers measured.
pub async fn workers(client: &Client) -> Result<()> {
    let rows = all_workers(client).await?;
    if rows.is_empty() {
        println!("No workers registered yet.");
        return Ok(());
    }
    // What PoPW checking found: the median throughput of the latest passing verdict.
    let checked: std::collections::BTreeMap<u64, _> = client
        .entries(kaisar::storage().popw_attestations().worker_states(), ())
        .await
        .context("reading the checking state")?
        .into_iter()
        .map(|((id,), state)| (id, state))
        .collect();
    let table: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            let spec = &r.info.spec;
            let model = spec
                .gpus
                .0
                .first()
                .map(|g| format::gpu_model(&g.model))
                .unwrap_or("-");
            let count = spec.gpus.0.len() as u32;
            let region = String::from_utf8_lossy(&spec.region.0).to_string();
            let measured = checked
                .get(&r.id)
                .and_then(|s| Some((s.throughput_gops?, s.last_passed?)))
                .map_or("-".to_string(), |(gops, epoch)| {
                    format!("{} (epoch {epoch})", format::tops(gops))
                });
            [
                r.id.to_string(),
                format::worker_status(&r.info.status).to_string(),
                format::host_class(&spec.host_class).to_string(),
                model.to_string(),
                count.to_string(),
                count.saturating_sub(r.info.reserved_gpus).to_string(),
                format::tokens(spec.price_per_gpu_hour),
                measured,
                if region.is_empty() {
                    "-".into()
                } else {
                    region
                },
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "STATUS",
            "HOST",
            "GPU MODEL",
            "GPUS",
            "FREE",
            "PRICE/GPU-HOUR",
            "CHECKED",
            "REGION",
        ],
        &table,
    );
    Ok(())
}

pub(crate) fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.len());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths.iter()).enumerate() {
            if i + 1 == N {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(|c| c.as_str()).collect());
    }
}

/// How long an order runs.
#[derive(Clone, Copy, Debug)]
pub enum OrderLength {
    /// A number of blocks.
    Blocks(BlockNumber),
    /// A number of hours (may be fractional), rounded to whole blocks.
    Hours(f64),
}

/// What `kaisar order place` was asked for.
#[derive(Clone, Debug)]
pub struct PlaceRequest {
    /// Container image reference.
    pub image: String,
    /// GPU model.
    pub gpu_model: GpuModel,
    /// Number of GPUs.
    pub gpus: u32,
    /// How long.
    pub duration: OrderLength,
    /// Most to pay per GPU-hour, in the smallest unit.
    pub max_price: Balance,
    /// A specific worker, or the cheapest match.
    pub worker: Option<u64>,
    /// Most points to spend as a discount, in the smallest unit.
    pub points: Balance,
    /// Container ports to expose.
    pub ports: Vec<u16>,
}

/// What placing an order did.
#[derive(Debug)]
pub struct Placed {
    /// The new order.
    pub order_id: u64,
    /// The worker it went to.
    pub worker: u64,
    /// Its total cost.
    pub total_cost: Balance,
    /// The part paid with points.
    pub discount: Balance,
    /// Where the access key is stored.
    pub key_path: std::path::PathBuf,
}

async fn blocks_per_hour(client: &Client) -> Result<BlockNumber> {
    Ok(client
        .constant(kaisar::constants().orders().blocks_per_hour())
        .await?)
}

/// `kaisar order place`: generate an access key pair, store its secret, place the order with its
/// public key.
/// An order's length in blocks, checked against the chain's limits (with the limits in words).
async fn order_blocks(client: &Client, length: OrderLength) -> Result<BlockNumber> {
    let bph = blocks_per_hour(client).await?;
    let duration = match length {
        OrderLength::Blocks(b) => b,
        OrderLength::Hours(h) => {
            if !(h.is_finite() && h > 0.0) {
                bail!("--hours must be a positive number");
            }
            let b = (h * f64::from(bph)).round();
            if b < 1.0 || b > f64::from(u32::MAX) {
                bail!("--hours {h} is out of range");
            }
            b as BlockNumber
        }
    };
    let min = client
        .constant(kaisar::constants().orders().min_duration())
        .await?;
    let max = client
        .constant(kaisar::constants().orders().max_duration())
        .await?;
    if duration < min || duration > max {
        bail!(
            "an order runs between {} and {}; asked for {}",
            format::blocks(min, bph),
            format::blocks(max, bph),
            format::blocks(duration, bph)
        );
    }
    Ok(duration)
}

/// What `place_order` by `who` would do now with `req`'s terms and `duration` blocks (runtime
/// API `OrdersApi::quote`), or why it would not be placed, in words.
pub async fn quote(
    client: &Client,
    who: &AccountId32,
    req: &PlaceRequest,
    duration: BlockNumber,
) -> Result<std::result::Result<OrderQuote, String>> {
    let answer = client
        .call_api(kaisar::runtime_apis().orders_api().quote(
            who.clone(),
            req.gpu_model.clone(),
            req.gpus,
            duration,
            req.max_price,
            req.points,
            req.worker,
        ))
        .await
        .context("asking the chain for a quote")?;
    Ok(match answer {
        Ok(quote) => Ok(quote),
        Err(refusal) => Err(refusal_in_words(client, &req.gpu_model, req.gpus, &refusal).await),
    })
}

/// Why an order would not be placed, for people.
pub async fn refusal_in_words(
    client: &Client,
    gpu_model: &GpuModel,
    gpus: u32,
    refusal: &QuoteRefusal,
) -> String {
    let model = format::gpu_model(gpu_model);
    match refusal {
        QuoteRefusal::NoWorkerOfModel => format!(
            "no {model} worker takes orders now (none is registered and verified, or all are \
             paused, offline or suspended)"
        ),
        QuoteRefusal::AllBusy => format!("every {model} worker is fully booked right now"),
        QuoteRefusal::NotEnoughFreeGpus => {
            format!("no {model} worker has {gpus} free GPUs right now (ask for fewer)")
        }
        QuoteRefusal::PriceTooLow { lowest_price } => format!(
            "your maximum price is below every {model} worker's: the lowest is {} per GPU-hour",
            format::tokens(*lowest_price)
        ),
        QuoteRefusal::Refused(kaisar::runtime_types::sp_runtime::DispatchError::Module(m)) => {
            format!(
                "the order would fail: {}",
                client.explain_module_error(m.index, m.error).await
            )
        }
        QuoteRefusal::Refused(other) => format!("the order would fail: {other:?}"),
    }
}

/// `kaisar order quote`: what an order with these terms would get now, or why it would not be
/// placed. Fails (exit code 1) when it would not.
pub async fn show_quote(client: &Client, who: &AccountId32, req: &PlaceRequest) -> Result<()> {
    let bph = blocks_per_hour(client).await?;
    let duration = order_blocks(client, req.duration).await?;
    let q = quote(client, who, req, duration)
        .await?
        .map_err(|why| anyhow!("no order possible now: {why}"))?;
    println!(
        "An order of {} x {} for {} would go to worker {} at {} per GPU-hour.",
        req.gpus,
        format::gpu_model(&req.gpu_model),
        format::blocks(duration, bph),
        q.worker,
        format::tokens(q.price_per_gpu_hour)
    );
    println!("  provider:    {}", q.provider);
    println!("  total cost:  {}", format::tokens(q.total_cost));
    if q.points_spent > 0 {
        println!(
            "  discount:    {} for {}",
            format::tokens(q.discount),
            format::points(q.points_spent)
        );
    }
    println!(
        "  you pay:     {} into escrow, paid to the provider as reported usage matures",
        format::tokens(q.user_pays)
    );
    if q.deposit > 0 {
        println!(
            "  deposit:     {} held besides (returned when the worker accepts; kept if you \
             cancel before)",
            format::tokens(q.deposit)
        );
    }
    Ok(())
}

pub async fn place_order(
    client: &Client,
    signer: &Signer,
    keys: &KeyStore,
    req: PlaceRequest,
) -> Result<Placed> {
    let bph = blocks_per_hour(client).await?;
    let duration = order_blocks(client, req.duration).await?;
    // Ordering never fails silently, nor for a reason the chain could tell beforehand: ask for
    // a quote first and say why no order would be placed.
    quote(client, &account_of(signer), &req, duration)
        .await?
        .map_err(|why| anyhow!("the order was not placed: {why}"))?;

    let access = AccessKeyPair::generate();
    let pending = keys.save_pending(&access)?;
    let spec = OrderSpec {
        image: BoundedVec(req.image.clone().into_bytes()),
        gpu_model: req.gpu_model.clone(),
        gpu_count: req.gpus,
        duration,
        max_price_per_gpu_hour: req.max_price,
        target_worker: req.worker,
        user_public_key: access.public_key(),
        ports: BoundedVec(req.ports.clone()),
    };
    let outcome = client
        .submit(&kaisar::tx().orders().place_order(spec, req.points), signer)
        .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            // Nothing was placed: the key is of no use.
            let _ = std::fs::remove_file(&pending);
            return Err(e).context("placing the order");
        }
    };
    let ev = outcome.expect_event::<order_events::OrderPlaced>()?;
    let key_path = keys.assign(&access, ev.order_id)?;
    let placed = Placed {
        order_id: ev.order_id,
        worker: ev.worker,
        total_cost: ev.total_cost,
        discount: ev.discount,
        key_path,
    };
    let price = client
        .worker(placed.worker)
        .await?
        .map(|w| w.spec.price_per_gpu_hour)
        .unwrap_or_default();
    println!(
        "Order {} placed on worker {}: {} x {} for {} at {} per GPU-hour.",
        placed.order_id,
        placed.worker,
        req.gpus,
        format::gpu_model(&req.gpu_model),
        format::blocks(duration, bph),
        format::tokens(price)
    );
    if placed.discount > 0 {
        println!(
            "  total cost:  {} ({} of it paid with points)",
            format::tokens(placed.total_cost),
            format::tokens(placed.discount)
        );
    } else {
        println!("  total cost:  {}", format::tokens(placed.total_cost));
    }
    println!(
        "  in escrow:   {} of yours, paid to the provider as its reported usage matures",
        format::tokens(placed.total_cost - placed.discount)
    );
    println!(
        "  access key:  {} (x25519, fingerprint {})",
        placed.key_path.display(),
        fingerprint(&access.public_key())
    );
    println!(
        "The worker has to accept it; then `kaisar order status {}` shows how to reach it.",
        placed.order_id
    );
    Ok(placed)
}

/// `kaisar order status`: the order, its money, and its access details decrypted.
pub async fn order_status(client: &Client, keys: &KeyStore, id: u64) -> Result<()> {
    let order = client
        .order(id)
        .await?
        .ok_or_else(|| anyhow!("no order {id} on this chain"))?;
    let bph = blocks_per_hour(client).await?;
    let now = client.best_number().await?;
    let escrow = client.escrow(id).await?;
    let in_escrow = escrow
        .as_ref()
        .map(|e| e.payer_held + e.sponsor.as_ref().map_or(0, |(_, h)| *h))
        .unwrap_or(0);

    println!("Order {id}: {}", format::order_status_name(&order.status));
    println!("  user:        {}", order.user);
    println!(
        "  worker:      {} (provider {})",
        order.worker, order.provider
    );
    println!("  image:       {}", String::from_utf8_lossy(&order.image.0));
    let ports = if order.ports.0.is_empty() {
        String::new()
    } else {
        format!(
            ", ports {}",
            order
                .ports
                .0
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    println!(
        "  GPUs:        {} x {}{ports}",
        order.gpu_count,
        format::gpu_model(&order.gpu_model)
    );
    println!(
        "  duration:    {} at {} per GPU-hour",
        format::blocks(order.duration, bph),
        format::tokens(order.price_per_gpu_hour)
    );
    if order.discount > 0 {
        println!(
            "  total cost:  {} ({} paid with points)",
            format::tokens(order.total_cost),
            format::tokens(order.discount)
        );
    } else {
        println!("  total cost:  {}", format::tokens(order.total_cost));
    }
    println!(
        "  paid so far: {} to the provider",
        format::tokens(order.paid_so_far)
    );
    println!("  in escrow:   {}", format::tokens(in_escrow));
    match &order.status {
        OrderStatus::Pending { accept_by } => {
            println!("  waiting for the worker to accept it, until block #{accept_by} (now #{now})")
        }
        OrderStatus::Running {
            started_at,
            ends_at,
            paid_until,
            last_report_seq,
        } => {
            println!(
                "  running since block #{started_at}, ends at #{ends_at} (now #{now}, {} left)",
                format::blocks(ends_at.saturating_sub(now), bph)
            );
            println!(
                "  provider paid up to block #{paid_until} ({last_report_seq} usage report{})",
                if *last_report_seq == 1 { "" } else { "s" }
            );
        }
        OrderStatus::Completed { at } => println!("  completed at block #{at}"),
        OrderStatus::Cancelled { at } => println!("  cancelled at block #{at}"),
        OrderStatus::Failed { at, reason } => println!(
            "  failed at block #{at}: {}",
            format::failure_reason(reason)
        ),
        OrderStatus::Settling {
            ended_at,
            cancelled,
            settles_at,
        } => println!(
            "  {} at block #{ended_at}; settles by block #{settles_at} (now #{now}): the \
             reported usage is paid to the provider as it matures, then the rest is refunded",
            if *cancelled { "cancelled" } else { "ended" }
        ),
    }
    let exits = client
        .fetch(kaisar::storage().orders().exit_records(), (id,))
        .await?
        .map(|r| r.0)
        .unwrap_or_default();
    for exit in &exits {
        println!(
            "  {}",
            format::exit_record(exit.at, exit.restarts, &exit.kind)
        );
    }
    if matches!(
        order.status,
        OrderStatus::Running { .. } | OrderStatus::Settling { .. }
    ) {
        let periods = client
            .fetch(kaisar::storage().orders().unmatured(), (id,))
            .await?
            .map(|p| p.0)
            .unwrap_or_default();
        let delay = client
            .fetch(kaisar::storage().orders().maturity_delay(), ())
            .await?
            .unwrap_or_default();
        if let Some(last) = periods.last() {
            println!(
                "  reported, not yet paid: {} up to block #{} ({} period{}; each is paid {} \
                 after its report, or earlier once the worker passes a PoPW check)",
                format::tokens(last.owed.saturating_sub(order.paid_so_far)),
                last.until,
                periods.len(),
                if periods.len() == 1 { "" } else { "s" },
                format::blocks(delay, bph)
            );
        }
    }

    if let OrderStatus::Running { .. } = order.status {
        match client.access_blob(id).await? {
            None => println!("  access details: none published"),
            Some(blob) => match keys.find(id, &order.user_public_key)? {
                None => println!(
                    "  access details: sealed to key {}, which is not in {} (only the key that \
                     placed the order can read them)",
                    fingerprint(&order.user_public_key),
                    keys.dir().display()
                ),
                Some(key) => match key.keys.open(&blob) {
                    Ok(details) => {
                        println!("  access details (decrypted with {}):", key.path.display());
                        for line in format::text_or_hex(&details).lines() {
                            println!("    {line}");
                        }
                    }
                    Err(e) => println!("  access details: cannot decrypt: {e}"),
                },
            },
        }
    } else if !matches!(order.status, OrderStatus::Pending { .. }) {
        println!("  access details: removed (the order has ended)");
    }
    Ok(())
}

/// `kaisar order cancel`.
pub async fn cancel_order(client: &Client, signer: &Signer, id: u64) -> Result<TxOutcome> {
    let order = client
        .order(id)
        .await?
        .ok_or_else(|| anyhow!("no order {id} on this chain"))?;
    if order.user != account_of(signer) {
        bail!(
            "order {id} was placed by {}, not by the signer {}",
            order.user,
            account_of(signer)
        );
    }
    let outcome = client
        .submit(&kaisar::tx().orders().cancel_order(id), signer)
        .await
        .context("cancelling the order")?;
    let paid: Balance = outcome
        .find::<order_events::ProviderPaid>()?
        .iter()
        .map(|e| e.amount)
        .sum();
    let (tokens, points) = outcome
        .find::<order_events::OrderRefunded>()?
        .iter()
        .fold((0, 0), |(t, p), e| (t + e.tokens, p + e.points));
    println!("Order {id} cancelled at block #{}.", outcome.block_number);
    if let Some(settling) = outcome.find_first::<order_events::OrderSettling>()? {
        let now = client.order(id).await?;
        let paid_so_far = now.as_ref().map_or(order.paid_so_far, |o| o.paid_so_far);
        let reported = client
            .fetch(kaisar::storage().orders().unmatured(), (id,))
            .await?
            .and_then(|p| p.0.last().map(|l| l.owed))
            .unwrap_or(paid_so_far);
        println!(
            "  the usage the agent reported ({}) stays in escrow until it matures at block #{}: \
             then the provider is paid for it and the rest ({}) is refunded to you, by the chain \
             (or `kaisar order settle {id}`); a failed check of the worker before then refunds it",
            format::tokens(reported.saturating_sub(paid_so_far)),
            settling.settles_at,
            format::tokens(order.total_cost.saturating_sub(reported))
        );
        if paid > 0 {
            println!(
                "  the provider was paid {} of matured usage",
                format::tokens(paid)
            );
        }
        return Ok(outcome);
    }
    if matches!(order.status, OrderStatus::Running { .. }) {
        let total_paid = client
            .order(id)
            .await?
            .map_or(order.paid_so_far + paid, |o| o.paid_so_far);
        println!(
            "  the provider was paid {} for the time since its last payment ({} in all)",
            format::tokens(paid),
            format::tokens(total_paid)
        );
    }
    println!("  refunded to you: {}", format::tokens(tokens));
    if points > 0 {
        println!("  points given back: {}", format::points(points));
    }
    Ok(outcome)
}

/// `kaisar order settle`: pay an order's matured usage and, once everything matured, end it
/// (anyone may; the chain also does it by itself at the order's deadline).
pub async fn settle_order(client: &Client, signer: &Signer, id: u64) -> Result<TxOutcome> {
    let outcome = client
        .submit(&kaisar::tx().orders().settle_order(id), signer)
        .await
        .context("settling the order")?;
    let paid: Balance = outcome
        .find::<order_events::ProviderPaid>()?
        .iter()
        .map(|e| e.amount)
        .sum();
    println!(
        "Order {id}: {} of matured usage paid to the provider (block #{}).",
        format::tokens(paid),
        outcome.block_number
    );
    if outcome.has::<order_events::OrderSettled>() {
        let refunded: Balance = outcome
            .find::<order_events::OrderRefunded>()?
            .iter()
            .map(|e| e.tokens)
            .sum();
        println!(
            "  settled: the order is over; refunded to the user: {}",
            format::tokens(refunded)
        );
    }
    Ok(outcome)
}

/// `kaisar order dispute`: dispute a Running order's service with a bond (re-check of the
/// worker by fresh checkers in the next epoch).
pub async fn dispute_order(client: &Client, signer: &Signer, id: u64) -> Result<TxOutcome> {
    let outcome = client
        .submit(&kaisar::tx().popw_attestations().dispute(id), signer)
        .await
        .context("disputing the order")?;
    let ev = outcome
        .expect_event::<kaisar::popw_attestations::events::ServiceDisputed>()
        .context("reading the dispute")?;
    println!(
        "Order {id} disputed (block #{}): {} held; worker {} is re-checked by fresh checkers in epoch {}; its payments stop maturing until then.",
        outcome.block_number,
        format::tokens(ev.bond),
        ev.worker,
        ev.recheck_epoch
    );
    Ok(outcome)
}

/// `kaisar order list`: the signer's orders.
pub async fn list_orders(client: &Client, who: &AccountId32) -> Result<()> {
    // The account index lists the orders it placed and those on its workers: keep the former.
    let mut rows: Vec<(u64, Order)> = client
        .orders_of(who)
        .await
        .context("reading orders")?
        .into_iter()
        .filter(|(_, order)| order.user == *who)
        .collect();
    if rows.is_empty() {
        println!("No orders of {who}.");
        return Ok(());
    }
    rows.sort_by_key(|(id, _)| *id);
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|(id, o)| {
            [
                id.to_string(),
                format::order_status_name(&o.status).to_string(),
                o.worker.to_string(),
                format!("{} x {}", o.gpu_count, format::gpu_model(&o.gpu_model)),
                format::tokens(o.total_cost),
                format::tokens(o.paid_so_far),
            ]
        })
        .collect();
    print_table(
        &["ORDER", "STATUS", "WORKER", "GPUS", "TOTAL", "PAID"],
        &table,
    );
    Ok(())
}

/// `kaisar points`: points balance and refund preference.
pub async fn show_points(client: &Client, who: &AccountId32) -> Result<()> {
    let points = client.points_of(who).await?;
    let pref = client.refund_preference(who).await?;
    println!("Points of {who}: {}", format::points(points));
    println!("  spend them as a discount with `kaisar order place --points N`");
    match pref {
        RefundPreference::Points => println!(
            "  refund preference: points (a refund for a service failure is paid as points; \
             cancellations are always refunded in tokens)"
        ),
        RefundPreference::Tokens => println!(
            "  refund preference: tokens (a refund for a service failure is paid in tokens)"
        ),
    }
    Ok(())
}

/// `kaisar points prefer tokens|points`.
pub async fn prefer(client: &Client, signer: &Signer, want: RefundPreference) -> Result<()> {
    let who = account_of(signer);
    let name = match want {
        RefundPreference::Points => "points",
        RefundPreference::Tokens => "tokens",
    };
    if client.refund_preference(&who).await? == want {
        println!("Refunds for service failures are already paid to {who} as {name}.");
        return Ok(());
    }
    let outcome = client
        .submit(&kaisar::tx().points().set_refund_preference(want), signer)
        .await
        .context("setting the refund preference")?;
    println!(
        "From now on refunds for service failures are paid to {who} as {name} (block #{}).",
        outcome.block_number
    );
    Ok(())
}

/// `kaisar balance`: tokens (free and held, by reason) and points.
pub async fn balance(client: &Client, who: &AccountId32) -> Result<()> {
    let acc = client.account(who).await?;
    let holds = client.holds(who).await?;
    println!("Account {who}");
    println!("  free:   {}", format::tokens(acc.free));
    println!("  held:   {}", format::tokens(acc.reserved));
    for (reason, amount) in holds {
        let what = if reason == order_escrow_hold() {
            "order escrow"
        } else if reason == worker_deposit_hold() {
            "worker deposit"
        } else {
            "other"
        };
        println!("    {what}: {}", format::tokens(amount));
    }
    println!("  points: {}", format::points(client.points_of(who).await?));
    Ok(())
}
