//! The rewards commands of `kaisar`: what an account earned per reward era as a provider,
//! license owner or operator, with the formula's terms and the vesting (`kaisar rewards show`),
//! and claiming what has vested (`kaisar rewards claim`). See docs/rewards.md.

use anyhow::{Context, Result};
use kaisar_chain_client::{
    kaisar::{self, rewards::events as reward_events},
    AccountId32, Balance, Client, Signer,
};

use crate::{commands::print_table, format};

type Beneficiary = kaisar::runtime_types::pallet_rewards::types::Beneficiary;
type RewardLine = kaisar::runtime_types::pallet_rewards::runtime_api::RewardLine<Balance>;

/// How many past eras `show` and `claim` look at by default.
pub const DEFAULT_ERAS: u32 = 30;

fn beneficiary_text(b: &Beneficiary) -> String {
    match b {
        Beneficiary::Provider(w) => format!("provider of worker {w}"),
        Beneficiary::LicenseOwner(l) => format!("owner of license {l}"),
        Beneficiary::LicenseOperator(l) => format!("operator of license {l}"),
    }
}

fn terms_text(line: &RewardLine) -> String {
    match (&line.beneficiary, line.terms.as_slice()) {
        (Beneficiary::Provider(_), [poc, pod]) => format!(
            "PoC {poc} GOPS-epochs of {}, PoD {pod} GPU-blocks of {}",
            line.totals.poc, line.totals.pod
        ),
        (_, [agreed, checks, errors, slashes, score]) => format!(
            "{agreed} agreed, canaries {errors}/{checks} wrong, {slashes} slashed: score {score} of {}",
            line.totals.checker
        ),
        _ => String::new(),
    }
}

/// The current reward era.
pub async fn current_era(client: &Client) -> Result<u32> {
    client
        .call_api(kaisar::runtime_apis().rewards_api().current_era())
        .await
        .context("reading the current reward era")
}

/// `who`'s reward lines over the last `eras` eras (the current one included).
pub async fn lines_of(client: &Client, who: &AccountId32, eras: u32) -> Result<Vec<RewardLine>> {
    let now = current_era(client).await?;
    let from = now.saturating_sub(eras.saturating_sub(1));
    client
        .call_api(
            kaisar::runtime_apis()
                .rewards_api()
                .rewards_of(who.clone(), from, now),
        )
        .await
        .context("reading rewards")
}

/// `kaisar rewards show`: earned per era with the formula's terms, vesting, claimable now.
pub async fn show(client: &Client, who: &AccountId32, eras: u32) -> Result<()> {
    let lines = lines_of(client, who, eras).await?;
    let era = current_era(client).await?;
    println!("Rewards of {who} (current era {era}):");
    if lines.is_empty() {
        println!("  nothing earned in the last {eras} eras");
        return Ok(());
    }
    let rows: Vec<[String; 7]> = lines
        .iter()
        .map(|l| {
            [
                l.era.to_string(),
                beneficiary_text(&l.beneficiary),
                if l.closed {
                    "closed".into()
                } else {
                    "accruing".into()
                },
                format::tokens(l.grant),
                format::tokens(l.vested),
                format::tokens(l.claimable),
                terms_text(l),
            ]
        })
        .collect();
    print_table(
        &[
            "ERA",
            "AS",
            "ERA STATE",
            "GRANT",
            "VESTED",
            "CLAIMABLE",
            "TERMS",
        ],
        &rows,
    );
    println!(
        "(an accruing era's grant is what its scores would get of a full budget; it is fixed \
         when the era closes, then vests linearly)"
    );
    Ok(())
}

/// `kaisar rewards claim`: claim what has vested of every grant of the last `eras` eras (an
/// era past its finality is closed by the first claim). Returns the total claimed.
pub async fn claim(
    client: &Client,
    signer: &Signer,
    who: &AccountId32,
    eras: u32,
) -> Result<Balance> {
    let now = current_era(client).await?;
    let mut total: Balance = 0;
    let mut claimed_any = false;
    for line in lines_of(client, who, eras).await? {
        // Open eras are tried once they are over: the chain says whether they can close yet.
        let worth_trying = if line.closed {
            line.claimable > 0
        } else {
            line.era < now && line.grant > 0
        };
        if !worth_trying {
            continue;
        }
        let call = kaisar::tx()
            .rewards()
            .claim(line.era, line.beneficiary.clone());
        match client.submit(&call, signer).await {
            Ok(outcome) => {
                for ev in outcome.find::<reward_events::RewardClaimed>()? {
                    println!(
                        "Era {}: {} claimed as {} (block #{}).",
                        ev.era,
                        format::tokens(ev.amount),
                        beneficiary_text(&ev.beneficiary),
                        outcome.block_number
                    );
                    total += ev.amount;
                    claimed_any = true;
                }
                for ev in outcome.find::<reward_events::ReferralPaid>()? {
                    println!(
                        "  referral share to {}: {}",
                        ev.referrer,
                        format::tokens(ev.amount)
                    );
                }
            }
            Err(e) if e.is_module_error("Rewards", "EraNotFinished") => {
                println!(
                    "Era {}: still accruing (canary reveals and contests of its verdicts); claim later.",
                    line.era
                );
            }
            Err(e) if e.is_module_error("Rewards", "NothingToClaim") => {}
            Err(e) => return Err(e).context(format!("claiming era {}", line.era)),
        }
    }
    if !claimed_any {
        println!("Nothing to claim right now.");
    }
    Ok(total)
}
