//! `kaisar`: the command line of the Kaisar GPU cloud for end users.
//!
//! ```text
//! kaisar workers
//! kaisar order place --image IMG --gpu-model rtx4090 --gpus 1 --hours 2 --max-price 6 [--worker ID] [--points N] [--port 22]
//! kaisar order status ID
//! kaisar order cancel ID
//! kaisar order list
//! kaisar order settle ID
//! kaisar points
//! kaisar points prefer tokens|points
//! kaisar balance [ACCOUNT]
//! kaisar license rounds
//! kaisar license buy --round R --tier T --count N [--referral CODE] [--proof 0x..]
//! kaisar license claim --round R
//! kaisar license list [ACCOUNT]
//! kaisar license delegate LICENSE --operator ACCOUNT|self
//! kaisar license undelegate LICENSE
//! kaisar referral register CODE
//! kaisar referral show [ACCOUNT]
//! kaisar operator commission PERCENT
//! kaisar operator max-licenses N|none
//! kaisar operator show [ACCOUNT]
//! ```
//!
//! Global options: `--url` (or `KAISAR_WS`, default `ws://127.0.0.1:9944`), `--suri` (or
//! `KAISAR_SURI`, default `//Alice`: the account that signs), `--key-dir` (or `KAISAR_KEY_DIR`,
//! default `~/.kaisar/keys`: where order access keys are kept).

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use kaisar_chain_client::H256;
use kaisar_chain_client::{
    signer::{account_of, parse_account, parse_signer},
    types::RefundPreference,
    Signer,
};
use kaisar_cli::{
    commands::{self, OrderLength, PlaceRequest},
    format,
    keystore::KeyStore,
    licenses::{self, BuyRequest},
};

/// The Kaisar GPU cloud from the command line: find GPU workers, rent them, read the access
/// details of your orders, manage refund points.
#[derive(Parser, Debug)]
#[command(name = "kaisar", version)]
struct Cli {
    /// The node's WebSocket URL.
    #[arg(
        long,
        global = true,
        env = "KAISAR_WS",
        default_value = "ws://127.0.0.1:9944"
    )]
    url: String,

    /// Secret URI of the account that signs: a dev account (`//Alice`, `bob`), a mnemonic or a
    /// hex seed, optionally with derivation paths (`//Bob//user`).
    #[arg(
        long,
        global = true,
        env = "KAISAR_SURI",
        default_value = "//Alice",
        hide_env_values = true
    )]
    suri: String,

    /// Where order access keys are kept (default `~/.kaisar/keys`).
    #[arg(long, global = true, env = "KAISAR_KEY_DIR")]
    key_dir: Option<PathBuf>,

    /// Seconds to keep trying to reach the node.
    #[arg(long, global = true, default_value_t = 15)]
    connect_timeout: u64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the registered workers: id, status, host class, GPU model, GPUs (total and free),
    /// price per GPU-hour, the throughput PoPW checkers measured at its latest passing check,
    /// region.
    Workers,
    /// Place, inspect, cancel and list orders.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Show your points and refund preference, or change the preference.
    Points {
        #[command(subcommand)]
        command: Option<PointsCommand>,
    },
    /// Show an account's tokens (free and held) and points (default: the signer's).
    Balance {
        /// SS58 address or 0x-hex account id.
        account: Option<String>,
    },
    /// Checker node licenses: sale rounds, buy, claim, list, delegate.
    #[command(subcommand)]
    License(LicenseCommand),
    /// Referral codes for the node sale.
    #[command(subcommand)]
    Referral(ReferralCommand),
    /// Run a checker node for delegated licenses: commission and cap.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Rewards earned as a provider, license owner or operator: show, claim.
    #[command(subcommand)]
    Rewards(RewardsCommand),
}

#[derive(Subcommand, Debug)]
enum RewardsCommand {
    /// What an account earned per era, with the formula's terms, vesting and what is claimable.
    Show {
        /// SS58 address or 0x-hex account id (default: the signer's).
        account: Option<String>,
        /// How many recent eras to show.
        #[arg(long, default_value_t = kaisar_cli::rewards::DEFAULT_ERAS)]
        eras: u32,
    },
    /// Claim what has vested of the signer's grants of recent eras.
    Claim {
        /// How many recent eras to claim from.
        #[arg(long, default_value_t = kaisar_cli::rewards::DEFAULT_ERAS)]
        eras: u32,
    },
}

#[derive(Subcommand, Debug)]
enum LicenseCommand {
    /// The sale rounds: window, tiers, prices, supply and what is committed so far.
    Rounds,
    /// Commit to licenses in an open sale round; the price is held until you claim.
    Buy {
        /// The sale round.
        #[arg(long)]
        round: u32,
        /// The tier (0 is the first).
        #[arg(long, default_value_t = 0)]
        tier: u8,
        /// How many licenses.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// A referral code: you get the referral discount, its owner a commission.
        #[arg(long)]
        referral: Option<String>,
        /// Allow-list proof: sibling hashes from your leaf to the root, 0x-hex (repeat).
        #[arg(long = "proof", value_parser = parse_h256)]
        proof: Vec<H256>,
    },
    /// After the round's window: settle it if nobody has, mint your allocated licenses, pay for
    /// them and release the rest.
    Claim {
        /// The sale round.
        #[arg(long)]
        round: u32,
    },
    /// Licenses of an account (default: the signer), their delegation and slot, and unclaimed
    /// commitments.
    List {
        /// SS58 address or 0x-hex account id.
        account: Option<String>,
    },
    /// Delegate a license to an operator (or `self` to run the checker node yourself), from
    /// the next checking epoch.
    Delegate {
        /// The license id.
        license: u32,
        /// The operator's account, or `self`.
        #[arg(long)]
        operator: String,
    },
    /// Take a license back from its operator at the end of the epoch.
    Undelegate {
        /// The license id.
        license: u32,
    },
}

#[derive(Subcommand, Debug)]
enum ReferralCommand {
    /// Register your referral code (3-16 of a-z, 0-9, `-`, `_`; unique ignoring case).
    Register {
        /// The code.
        code: String,
    },
    /// An account's referral code and who referred it (default: the signer).
    Show {
        /// SS58 address or 0x-hex account id.
        account: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum OperatorCommand {
    /// Set your commission on delegators' rewards (registers you as an operator). A decrease
    /// applies from the next epoch, an increase after a delay.
    Commission {
        /// A percentage, e.g. `5` or `2.5%`.
        percent: String,
    },
    /// Cap how many licenses you accept (`none`: no cap).
    MaxLicenses {
        /// A number or `none`.
        max: String,
    },
    /// An operator's commission, pending change, delegated licenses and cap.
    Show {
        /// SS58 address or 0x-hex account id.
        account: Option<String>,
    },
}

fn parse_h256(s: &str) -> Result<H256, String> {
    let hex_str = s.strip_prefix("0x").unwrap_or(s);
    let bytes = hex::decode(hex_str).map_err(|e| format!("not hex: {e}"))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "a proof hash is 32 bytes".to_string())?;
    Ok(H256(arr))
}

fn account_or_signer(
    cli: &Cli,
    account: &Option<String>,
) -> Result<kaisar_chain_client::AccountId32> {
    Ok(match account {
        Some(a) => parse_account(a)?,
        None => account_of(&signer(cli)?),
    })
}

#[derive(Subcommand, Debug)]
enum OrderCommand {
    /// Rent GPUs. Generates a fresh x25519 key pair for the access details, stores its secret
    /// in the key directory (mode 0600) and puts the public key in the order.
    Place(PlaceArgs),
    /// What an order with these terms would get now (the worker, price, discount, what is
    /// held), or why it would not be placed: no worker of the model, all busy, the lowest price
    /// above your maximum, not enough balance, ... Signs nothing (the signer is the buyer whose
    /// balance and points count).
    Quote(TermsArgs),
    /// An order's status, worker, payments and escrow, and its access details (decrypted with
    /// your key) once the worker accepted it.
    Status {
        /// The order id.
        id: u64,
    },
    /// Cancel an order: a pending one is refunded in full (cancelling inside the accept window
    /// forfeits the order deposit); for a running one the provider keeps what the agent's usage
    /// reports were paid and the unreported rest is refunded, in tokens.
    Cancel {
        /// The order id.
        id: u64,
    },
    /// The signer's orders.
    List,
    /// Pay an order's matured usage to the provider now and, once all of it matured, end the
    /// order and refund the rest (anyone may; the chain also does it at the order's deadline).
    Settle {
        /// The order id.
        id: u64,
    },
    /// Dispute a Running order's service (its user only), holding a small bond: fresh
    /// checkers re-check the worker next epoch and its payments stop maturing meanwhile. A
    /// failed re-check suspends the worker and refunds the order (bond returned); a passed one
    /// pays the bond to the provider.
    Dispute {
        /// The order id.
        id: u64,
    },
}

#[derive(Args, Debug)]
struct PlaceArgs {
    /// Container image to run, e.g. docker.io/pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime.
    #[arg(long)]
    image: String,
    #[command(flatten)]
    terms: TermsArgs,
    /// A container port to expose (repeat for several).
    #[arg(long = "port")]
    ports: Vec<u16>,
}

/// An order's terms: what is matched and priced (a quote needs only these).
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("length").required(true).args(["hours", "blocks"])))]
struct TermsArgs {
    /// GPU model, e.g. rtx4090, h100-sxm, a100-sxm-80g.
    #[arg(long)]
    gpu_model: String,
    /// Number of GPUs.
    #[arg(long, default_value_t = 1)]
    gpus: u32,
    /// How long to run, in hours (fractions allowed; rounded to whole blocks).
    #[arg(long)]
    hours: Option<f64>,
    /// How long to run, in blocks (6 s each).
    #[arg(long)]
    blocks: Option<u32>,
    /// The most you pay per GPU-hour, in KAI (e.g. 6 or 0.5).
    #[arg(long)]
    max_price: String,
    /// Run on this worker (default: the cheapest active worker that fits).
    #[arg(long)]
    worker: Option<u64>,
    /// Spend up to this many points as a discount.
    #[arg(long, default_value = "0")]
    points: String,
}

impl TermsArgs {
    /// An order request with these terms.
    fn request(&self, image: String, ports: Vec<u16>) -> Result<PlaceRequest> {
        let length = match (self.hours, self.blocks) {
            (Some(h), None) => OrderLength::Hours(h),
            (None, Some(b)) => OrderLength::Blocks(b),
            _ => bail!("give --hours or --blocks"),
        };
        Ok(PlaceRequest {
            image,
            gpu_model: format::parse_gpu_model(&self.gpu_model)?,
            gpus: self.gpus,
            duration: length,
            max_price: format::parse_amount(&self.max_price)?,
            worker: self.worker,
            points: format::parse_amount(&self.points)?,
            ports,
        })
    }
}

#[derive(Subcommand, Debug)]
enum PointsCommand {
    /// How refunds for service failures are paid to you.
    Prefer {
        /// `tokens` or `points`.
        #[arg(value_enum)]
        currency: Currency,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Currency {
    Tokens,
    Points,
}

fn signer(cli: &Cli) -> Result<Signer> {
    Ok(parse_signer(&cli.suri)?)
}

fn key_store(cli: &Cli) -> Result<KeyStore> {
    Ok(KeyStore::new(match &cli.key_dir {
        Some(dir) => dir.clone(),
        None => KeyStore::default_dir()?,
    }))
}

async fn run(cli: Cli) -> Result<()> {
    let client = commands::connect(&cli.url, Duration::from_secs(cli.connect_timeout)).await?;
    match &cli.command {
        Command::Workers => commands::workers(&client).await,
        Command::Order(OrderCommand::Quote(terms)) => {
            let req = terms.request(String::new(), Vec::new())?;
            commands::show_quote(&client, &account_of(&signer(&cli)?), &req).await
        }
        Command::Order(OrderCommand::Place(args)) => {
            let req = args.terms.request(args.image.clone(), args.ports.clone())?;
            commands::place_order(&client, &signer(&cli)?, &key_store(&cli)?, req)
                .await
                .map(|_| ())
        }
        Command::Order(OrderCommand::Status { id }) => {
            commands::order_status(&client, &key_store(&cli)?, *id).await
        }
        Command::Order(OrderCommand::Cancel { id }) => {
            commands::cancel_order(&client, &signer(&cli)?, *id)
                .await
                .map(|_| ())
        }
        Command::Order(OrderCommand::Settle { id }) => {
            commands::settle_order(&client, &signer(&cli)?, *id)
                .await
                .map(|_| ())
        }
        Command::Order(OrderCommand::Dispute { id }) => {
            commands::dispute_order(&client, &signer(&cli)?, *id)
                .await
                .map(|_| ())
        }
        Command::Order(OrderCommand::List) => {
            commands::list_orders(&client, &account_of(&signer(&cli)?)).await
        }
        Command::Points { command: None } => {
            commands::show_points(&client, &account_of(&signer(&cli)?)).await
        }
        Command::Points {
            command: Some(PointsCommand::Prefer { currency }),
        } => {
            let pref = match currency {
                Currency::Tokens => RefundPreference::Tokens,
                Currency::Points => RefundPreference::Points,
            };
            commands::prefer(&client, &signer(&cli)?, pref).await
        }
        Command::Balance { account } => {
            commands::balance(&client, &account_or_signer(&cli, account)?).await
        }
        Command::License(LicenseCommand::Rounds) => licenses::rounds(&client).await,
        Command::License(LicenseCommand::Buy {
            round,
            tier,
            count,
            referral,
            proof,
        }) => {
            let req = BuyRequest {
                round: *round,
                tier: *tier,
                licenses: *count,
                referral_code: referral.clone(),
                proof: proof.clone(),
            };
            licenses::buy(&client, &signer(&cli)?, req)
                .await
                .map(|_| ())
        }
        Command::License(LicenseCommand::Claim { round }) => {
            licenses::claim(&client, &signer(&cli)?, *round)
                .await
                .map(|_| ())
        }
        Command::License(LicenseCommand::List { account }) => {
            licenses::list(&client, &account_or_signer(&cli, account)?).await
        }
        Command::License(LicenseCommand::Delegate { license, operator }) => {
            let signer = signer(&cli)?;
            let operator = if operator == "self" {
                account_of(&signer)
            } else {
                parse_account(operator)?
            };
            licenses::delegate(&client, &signer, *license, &operator).await
        }
        Command::License(LicenseCommand::Undelegate { license }) => {
            licenses::undelegate(&client, &signer(&cli)?, *license).await
        }
        Command::Referral(ReferralCommand::Register { code }) => {
            licenses::register_code(&client, &signer(&cli)?, code).await
        }
        Command::Referral(ReferralCommand::Show { account }) => {
            licenses::show_referral(&client, &account_or_signer(&cli, account)?).await
        }
        Command::Operator(OperatorCommand::Commission { percent }) => {
            let parts = format::parse_percent(percent)?;
            licenses::set_commission(&client, &signer(&cli)?, parts).await
        }
        Command::Operator(OperatorCommand::MaxLicenses { max }) => {
            let max = match max.as_str() {
                "none" => None,
                n => Some(
                    n.parse::<u32>()
                        .map_err(|_| anyhow::anyhow!("`{n}` is not a number or `none`"))?,
                ),
            };
            licenses::set_max_licenses(&client, &signer(&cli)?, max).await
        }
        Command::Operator(OperatorCommand::Show { account }) => {
            licenses::show_operator(&client, &account_or_signer(&cli, account)?).await
        }
        Command::Rewards(RewardsCommand::Show { account, eras }) => {
            kaisar_cli::rewards::show(&client, &account_or_signer(&cli, account)?, *eras).await
        }
        Command::Rewards(RewardsCommand::Claim { eras }) => {
            let signer = signer(&cli)?;
            kaisar_cli::rewards::claim(&client, &signer, &account_of(&signer), *eras)
                .await
                .map(|_| ())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn place_needs_exactly_one_length() {
        let base = [
            "kaisar",
            "order",
            "place",
            "--image",
            "img",
            "--gpu-model",
            "rtx4090",
            "--max-price",
            "6",
        ];
        assert!(Cli::try_parse_from(base).is_err());
        let mut hours = base.to_vec();
        hours.extend(["--hours", "1.5"]);
        assert!(Cli::try_parse_from(&hours).is_ok());
        let mut both = hours.clone();
        both.extend(["--blocks", "10"]);
        assert!(Cli::try_parse_from(&both).is_err());
    }

    #[test]
    fn license_commands_parse() {
        let cli = Cli::try_parse_from([
            "kaisar",
            "license",
            "buy",
            "--round",
            "2",
            "--tier",
            "1",
            "--count",
            "3",
            "--referral",
            "abc",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::License(LicenseCommand::Buy {
                round: 2,
                tier: 1,
                count: 3,
                ..
            })
        ));
        let proof = format!("0x{}", "11".repeat(32));
        let cli = Cli::try_parse_from([
            "kaisar", "license", "buy", "--round", "0", "--proof", &proof,
        ])
        .unwrap();
        match cli.command {
            Command::License(LicenseCommand::Buy {
                proof,
                count: 1,
                tier: 0,
                ..
            }) => {
                assert_eq!(proof, vec![H256([0x11; 32])])
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from([
            "kaisar", "license", "buy", "--round", "0", "--proof", "0x12"
        ])
        .is_err());
        assert!(Cli::try_parse_from(["kaisar", "license", "buy"]).is_err());
        assert!(Cli::try_parse_from(["kaisar", "license", "delegate", "4"]).is_err());
        assert!(
            Cli::try_parse_from(["kaisar", "license", "delegate", "4", "--operator", "self"])
                .is_ok()
        );
        assert!(Cli::try_parse_from(["kaisar", "operator", "commission", "2.5%"]).is_ok());
        assert!(Cli::try_parse_from(["kaisar", "referral", "show"]).is_ok());
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        let cli = Cli::try_parse_from(["kaisar", "--suri", "//Charlie", "workers"]).unwrap();
        assert_eq!(cli.suri, "//Charlie");
        let cli = Cli::try_parse_from(["kaisar", "order", "status", "3", "--suri", "bob"]).unwrap();
        assert_eq!(cli.suri, "bob");
        assert!(matches!(
            cli.command,
            Command::Order(OrderCommand::Status { id: 3 })
        ));
    }
}
