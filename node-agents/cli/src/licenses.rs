//! The checker-node commands of `kaisar`: buy licenses in a sale round, claim them, list and
//! delegate them (`kaisar license ...`), referral codes (`kaisar referral ...`) and an
//! operator's commission (`kaisar operator ...`). See docs/checker-licenses.md for the rules the
//! chain applies; these commands check what they can before signing and explain the outcome.

use anyhow::{anyhow, bail, Context, Result};
use kaisar_chain_client::{
    kaisar::{self, checker_licenses::events as license_events},
    signer::account_of,
    types::*,
    AccountId32, Balance, BlockNumber, Client, Signer, H256,
};

use crate::{commands::print_table, format};

/// The licenses pallet's epoch length, in blocks.
async fn epoch_length(client: &Client) -> Result<BlockNumber> {
    client
        .fetch(kaisar::storage().checker_licenses().epoch_length(), ())
        .await?
        .ok_or_else(|| anyhow!("the chain has no checking epoch length"))
}

/// The current checking epoch.
async fn current_epoch(client: &Client) -> Result<u32> {
    Ok(client
        .fetch(kaisar::storage().checker_licenses().current_epoch(), ())
        .await?
        .unwrap_or_default())
}

/// A sale round.
pub async fn round(client: &Client, id: u32) -> Result<Round> {
    client
        .fetch(kaisar::storage().checker_licenses().rounds(), (id,))
        .await?
        .ok_or_else(|| anyhow!("no sale round {id} on this chain"))
}

/// Every sale round, by id.
pub async fn all_rounds(client: &Client) -> Result<Vec<(u32, Round)>> {
    let mut rows: Vec<(u32, Round)> = client
        .entries(kaisar::storage().checker_licenses().rounds(), ())
        .await
        .context("reading sale rounds")?
        .into_iter()
        .map(|((id,), round)| (id, round))
        .collect();
    rows.sort_by_key(|(id, _)| *id);
    Ok(rows)
}

/// Where a round stands at block `now`.
fn round_phase(round: &Round, now: BlockNumber) -> &'static str {
    match round.status {
        RoundStatus::Settled => "settled (claim)",
        RoundStatus::Open if now < round.start => "upcoming",
        RoundStatus::Open if now <= round.end => "open",
        RoundStatus::Open => "ended (settle, then claim)",
    }
}

/// `kaisar license rounds`: the sale rounds with their tiers.
pub async fn rounds(client: &Client) -> Result<()> {
    let rounds = all_rounds(client).await?;
    if rounds.is_empty() {
        println!("No sale rounds yet.");
        return Ok(());
    }
    let now = client.best_number().await?;
    let mut table: Vec<[String; 8]> = Vec::new();
    for (id, r) in &rounds {
        for (tier, t) in r.tiers.0.iter().enumerate() {
            table.push([
                id.to_string(),
                round_phase(r, now).to_string(),
                format!("#{}..#{}", r.start, r.end),
                tier.to_string(),
                format::tokens(t.price),
                t.supply.to_string(),
                t.committed.to_string(),
                r.cap_per_wallet.to_string(),
            ]);
        }
    }
    print_table(
        &[
            "ROUND",
            "PHASE",
            "WINDOW",
            "TIER",
            "PRICE/LICENSE",
            "SUPPLY",
            "COMMITTED",
            "CAP/WALLET",
        ],
        &table,
    );
    println!("(now #{now}; a tier committed beyond its supply is allocated pro rata)");
    Ok(())
}

/// What `kaisar license buy` was asked for.
#[derive(Clone, Debug)]
pub struct BuyRequest {
    /// The sale round.
    pub round: u32,
    /// The tier.
    pub tier: u8,
    /// How many licenses.
    pub licenses: u32,
    /// A referral code.
    pub referral_code: Option<String>,
    /// The allow-list proof (sibling hashes, leaf to root), if the round has an allow-list.
    pub proof: Vec<H256>,
}

/// `kaisar license buy`: commit to licenses in a sale round; the price is held until the claim.
pub async fn buy(client: &Client, signer: &Signer, req: BuyRequest) -> Result<Balance> {
    let r = round(client, req.round).await?;
    let now = client.best_number().await?;
    if r.status != RoundStatus::Open || now >= r.end {
        bail!(
            "round {} took commitments from block #{} to #{} (now #{now})",
            req.round,
            r.start,
            r.end
        );
    }
    let tier = r.tiers.0.get(req.tier as usize).ok_or_else(|| {
        anyhow!(
            "round {} has tiers 0..={}",
            req.round,
            r.tiers.0.len().saturating_sub(1)
        )
    })?;
    if req.licenses == 0 {
        bail!("buy at least one license");
    }
    if r.allow_list_root.is_some() && req.proof.is_empty() {
        bail!(
            "round {} is for an allow-list: give your proof with --proof",
            req.round
        );
    }
    let code = req
        .referral_code
        .as_ref()
        .map(|c| BoundedVec(c.as_bytes().to_vec()));
    let call = kaisar::tx().checker_licenses().commit(
        req.round,
        req.tier,
        req.licenses,
        code,
        BoundedVec(req.proof.clone()),
    );
    let outcome = client
        .submit(&call, signer)
        .await
        .context("committing to the licenses")?;
    let ev = outcome.expect_event::<license_events::Committed>()?;
    println!(
        "Committed to {} tier-{} license{} in round {} at {} each (block #{}).",
        ev.licenses,
        ev.tier,
        if ev.licenses == 1 { "" } else { "s" },
        ev.round,
        format::tokens(tier.price),
        outcome.block_number
    );
    println!("  held:      {} until you claim", format::tokens(ev.held));
    if let Some(referrer) = &ev.referrer {
        println!("  referrer:  {referrer} (your discount is paid back at the claim)");
    }
    println!(
        "After block #{} claim them with `kaisar license claim --round {}`; if the tier is \
         oversubscribed you get a pro-rata share and the rest is released.",
        r.end, req.round
    );
    Ok(ev.held)
}

/// What a claim did.
#[derive(Debug, Default)]
pub struct Claimed {
    /// The licenses minted to the buyer.
    pub licenses: Vec<u32>,
    /// Paid to the sale's beneficiary.
    pub paid: Balance,
    /// Paid to the referrer.
    pub commission: Balance,
    /// Referral discount given back.
    pub discount: Balance,
    /// Released (not allocated).
    pub released: Balance,
}

/// `kaisar license claim`: settle the round first if nobody has, then claim.
pub async fn claim(client: &Client, signer: &Signer, round_id: u32) -> Result<Claimed> {
    let r = round(client, round_id).await?;
    let now = client.best_number().await?;
    if r.status == RoundStatus::Open {
        if now <= r.end {
            bail!(
                "round {round_id} takes commitments until block #{} (now #{now}); claim after it",
                r.end
            );
        }
        match client
            .submit(&kaisar::tx().checker_licenses().settle(round_id), signer)
            .await
        {
            Ok(o) => println!("Settled round {round_id} (block #{}).", o.block_number),
            // Someone else settled it between the read and now.
            Err(e) if e.is_module_error("CheckerLicenses", "AlreadySettled") => {}
            Err(e) => return Err(e).context("settling the round"),
        }
    }
    let outcome = client
        .submit(&kaisar::tx().checker_licenses().claim(round_id), signer)
        .await
        .context("claiming")?;
    let ev = outcome.expect_event::<license_events::Claimed>()?;
    let minted: Vec<u32> = outcome
        .find::<license_events::LicenseMinted>()?
        .iter()
        .map(|m| m.license)
        .collect();
    println!(
        "Claimed round {round_id} (block #{}): {} license{} minted{}.",
        outcome.block_number,
        ev.licenses,
        if ev.licenses == 1 { "" } else { "s" },
        if minted.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                minted
                    .iter()
                    .map(|l| format!("#{l}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    println!("  paid:      {}", format::tokens(ev.paid));
    if ev.discount > 0 {
        println!("  discount:  {} (referral)", format::tokens(ev.discount));
    }
    println!("  released:  {}", format::tokens(ev.released));
    Ok(Claimed {
        licenses: minted,
        paid: ev.paid,
        commission: ev.commission,
        discount: ev.discount,
        released: ev.released,
    })
}

/// A license as `kaisar license list` shows it.
#[derive(Clone, Debug)]
pub struct LicenseRow {
    /// The license (its NFT item id in the licenses collection).
    pub id: u32,
    /// Its record.
    pub info: License,
    /// Its delegation as the owner wants it now.
    pub delegation: Option<Delegation<AccountId32>>,
    /// Its slot index in the current epoch's slot set, if active.
    pub slot: Option<u32>,
}

/// The licenses collection's id in `pallet-nfts`.
pub async fn collection(client: &Client) -> Result<u32> {
    client
        .fetch(
            kaisar::storage().checker_licenses().license_collection(),
            (),
        )
        .await?
        .ok_or_else(|| anyhow!("this chain has no checker-licenses collection yet"))
}

/// The checker licenses `who` owns, read from `pallet-nfts` (`Account` by owner and
/// collection), with their records, delegations and slots.
pub async fn licenses_of(client: &Client, who: &AccountId32) -> Result<Vec<LicenseRow>> {
    let collection = collection(client).await?;
    let mut ids: Vec<u32> = client
        .entries(kaisar::storage().nfts().account(), (*who, collection))
        .await
        .context("reading NFTs")?
        .into_iter()
        .map(|((_, _, item), ())| item)
        .collect();
    ids.sort_unstable();
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let info = client
            .fetch(kaisar::storage().checker_licenses().licenses(), (id,))
            .await?
            .ok_or_else(|| anyhow!("NFT {id} of the licenses collection has no license record"))?;
        let delegation = client
            .fetch(kaisar::storage().checker_licenses().delegations(), (id,))
            .await?;
        let slot = client
            .fetch(kaisar::storage().checker_licenses().slot_of(), (id,))
            .await?;
        rows.push(LicenseRow {
            id,
            info,
            delegation,
            slot,
        });
    }
    Ok(rows)
}

/// `kaisar license list`: an account's licenses and unclaimed commitments.
pub async fn list(client: &Client, who: &AccountId32) -> Result<()> {
    let rows = licenses_of(client, who).await?;
    let epoch = current_epoch(client).await?;
    if rows.is_empty() {
        println!("{who} owns no checker licenses.");
    } else {
        println!("Checker licenses of {who} (checking epoch {epoch}):");
        let table: Vec<[String; 5]> = rows
            .iter()
            .map(|r| {
                let operator = match &r.delegation {
                    None => "-".to_string(),
                    Some(d) if d.operator == *who => "self".to_string(),
                    Some(d) => d.operator.to_string(),
                };
                let slot = match (&r.delegation, r.slot) {
                    (Some(_), Some(i)) => format!("slot {i}"),
                    (Some(_), None) => format!("from epoch {}", epoch + 1),
                    (None, Some(i)) => format!("slot {i} until epoch {epoch} ends"),
                    (None, None) => "-".to_string(),
                };
                [
                    format!("#{}", r.id),
                    r.info.tier.to_string(),
                    r.info
                        .round
                        .map_or("grant".to_string(), |rd| rd.to_string()),
                    operator,
                    slot,
                ]
            })
            .collect();
        print_table(
            &["LICENSE", "TIER", "ROUND", "DELEGATED TO", "CHECKING"],
            &table,
        );
    }
    for (id, _) in all_rounds(client).await? {
        let c = client
            .fetch(
                kaisar::storage().checker_licenses().commitments(),
                (id, *who),
            )
            .await?;
        if let Some(c) = c {
            let units: u32 = c.tiers.0.iter().map(|t| t.units).sum();
            println!(
                "Unclaimed in round {id}: {units} license{} committed, {} held \
                 (`kaisar license claim --round {id}`).",
                if units == 1 { "" } else { "s" },
                format::tokens(c.held)
            );
        }
    }
    Ok(())
}

/// `kaisar license delegate`: delegate a license to an operator (or to yourself, to run the
/// checker node), effective from the next epoch.
pub async fn delegate(
    client: &Client,
    signer: &Signer,
    license: u32,
    operator: &AccountId32,
) -> Result<()> {
    let who = account_of(signer);
    if *operator != who
        && client
            .fetch(
                kaisar::storage().checker_licenses().operators(),
                (*operator,),
            )
            .await?
            .is_none()
    {
        bail!(
            "{operator} is not an operator yet (an operator registers by setting its commission: \
             `kaisar operator commission PERCENT`)"
        );
    }
    let outcome = client
        .submit(
            &kaisar::tx()
                .checker_licenses()
                .delegate(license, (*operator).into()),
            signer,
        )
        .await
        .context("delegating the license")?;
    let ev = outcome.expect_event::<license_events::Delegated>()?;
    let len = epoch_length(client).await?;
    println!(
        "License #{license} delegated to {}; it checks from epoch {} (block #{}).",
        if ev.operator == who {
            "yourself".to_string()
        } else {
            ev.operator.to_string()
        },
        ev.from,
        u64::from(ev.from) * u64::from(len)
    );
    Ok(())
}

/// `kaisar license undelegate`.
pub async fn undelegate(client: &Client, signer: &Signer, license: u32) -> Result<()> {
    let outcome = client
        .submit(&kaisar::tx().checker_licenses().undelegate(license), signer)
        .await
        .context("undelegating the license")?;
    let ev = outcome.expect_event::<license_events::Undelegated>()?;
    println!(
        "License #{license} undelegated; its slot ends with epoch {}.",
        ev.from.saturating_sub(1)
    );
    Ok(())
}

/// `kaisar referral register`.
pub async fn register_code(client: &Client, signer: &Signer, code: &str) -> Result<()> {
    let max = client
        .constant(kaisar::constants().checker_licenses().max_code_len())
        .await?;
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if code.len() < 3 || code.len() > max as usize || !code.chars().all(ok_char) {
        bail!("a referral code is 3 to {max} characters of a-z, 0-9, `-` and `_`");
    }
    let outcome = client
        .submit(
            &kaisar::tx()
                .checker_licenses()
                .register_referral_code(BoundedVec(code.as_bytes().to_vec())),
            signer,
        )
        .await
        .context("registering the referral code")?;
    let ev = outcome.expect_event::<license_events::ReferralCodeRegistered>()?;
    println!(
        "Referral code `{}` registered to {}. Buyers pass it with `kaisar license buy --referral {}`.",
        String::from_utf8_lossy(&ev.code.0),
        ev.who,
        String::from_utf8_lossy(&ev.code.0)
    );
    Ok(())
}

/// `kaisar referral show`: an account's code and its referrer.
pub async fn show_referral(client: &Client, who: &AccountId32) -> Result<()> {
    let code = client
        .fetch(kaisar::storage().checker_licenses().code_of(), (*who,))
        .await?;
    let referrer = client
        .fetch(kaisar::storage().checker_licenses().referrer_of(), (*who,))
        .await?;
    println!("Referrals of {who}");
    match code {
        Some(c) => println!("  code:     {}", String::from_utf8_lossy(&c.0)),
        None => println!("  code:     none (`kaisar referral register CODE`)"),
    }
    match referrer {
        Some(r) => println!("  referred by: {r}"),
        None => println!("  referred by: nobody"),
    }
    Ok(())
}

/// `kaisar operator commission`: set (or register with) a commission.
pub async fn set_commission(
    client: &Client,
    signer: &Signer,
    parts_per_billion: u32,
) -> Result<()> {
    let max = client
        .constant(kaisar::constants().checker_licenses().max_commission())
        .await?;
    if parts_per_billion > max.0 {
        bail!("the commission can be at most {}", format::percent(max.0));
    }
    let outcome = client
        .submit(
            &kaisar::tx()
                .checker_licenses()
                .set_commission(Perbill(parts_per_billion)),
            signer,
        )
        .await
        .context("setting the commission")?;
    let ev = outcome.expect_event::<license_events::CommissionSet>()?;
    let epoch = current_epoch(client).await?;
    if ev.from <= epoch {
        println!(
            "Commission of {} is {} from now on.",
            ev.operator,
            format::percent(ev.commission.0)
        );
    } else {
        println!(
            "Commission of {} becomes {} from epoch {} (now {}).",
            ev.operator,
            format::percent(ev.commission.0),
            ev.from,
            epoch
        );
    }
    Ok(())
}

/// `kaisar operator max-licenses`.
pub async fn set_max_licenses(client: &Client, signer: &Signer, max: Option<u32>) -> Result<()> {
    client
        .submit(
            &kaisar::tx().checker_licenses().set_max_licenses(max),
            signer,
        )
        .await
        .context("setting the cap")?;
    match max {
        Some(n) => println!(
            "{} accepts at most {n} delegated licenses.",
            account_of(signer)
        ),
        None => println!(
            "{} accepts any number of delegated licenses.",
            account_of(signer)
        ),
    }
    Ok(())
}

/// `kaisar operator show`.
pub async fn show_operator(client: &Client, who: &AccountId32) -> Result<()> {
    let Some(info) = client
        .fetch(kaisar::storage().checker_licenses().operators(), (*who,))
        .await?
    else {
        println!("{who} is not an operator (`kaisar operator commission PERCENT` registers one).");
        return Ok(());
    };
    let epoch = current_epoch(client).await?;
    println!("Operator {who}");
    println!("  commission: {}", format::percent(info.commission.0));
    if let Some((next, from)) = info.pending {
        if from > epoch {
            println!(
                "  changes to: {} from epoch {from}",
                format::percent(next.0)
            );
        } else {
            println!(
                "  (now {}: the change applied at epoch {from})",
                format::percent(next.0)
            );
        }
    }
    println!("  delegated licenses: {}", info.delegated);
    match info.max_licenses {
        Some(m) => println!("  accepts at most: {m}"),
        None => println!("  accepts at most: no cap"),
    }
    Ok(())
}
