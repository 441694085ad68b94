//! Parsing what users type and showing what the chain stores: token amounts, GPU models, host
//! classes, statuses, block counts.

use anyhow::{anyhow, bail, Result};
use kaisar_chain_client::{types::*, Balance, BlockNumber, UNITS};

/// The native token's symbol.
pub const SYMBOL: &str = "KAI";
/// Decimals of the native token (and of points: one point is one token unit of discount).
pub const DECIMALS: u32 = 18;

/// Parse a decimal amount of tokens (`6`, `0.25`, `1_000`) into the smallest unit.
pub fn parse_amount(input: &str) -> Result<Balance> {
    let s: String = input.trim().chars().filter(|c| *c != '_').collect();
    if s.is_empty() {
        bail!("empty amount");
    }
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s.as_str(), ""),
    };
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        bail!("`{input}` is not a decimal amount");
    }
    if whole.is_empty() && frac.is_empty() {
        bail!("`{input}` is not a decimal amount");
    }
    if frac.len() > DECIMALS as usize {
        bail!("`{input}` has more than {DECIMALS} decimals");
    }
    let whole: Balance = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| anyhow!("`{input}` is too large"))?
    };
    let frac_units: Balance = if frac.is_empty() {
        0
    } else {
        frac.parse::<Balance>()? * 10u128.pow(DECIMALS - frac.len() as u32)
    };
    whole
        .checked_mul(UNITS)
        .and_then(|w| w.checked_add(frac_units))
        .ok_or_else(|| anyhow!("`{input}` is too large"))
}

/// An amount in the smallest unit as a decimal number of tokens, at most 6 decimals (rounded
/// down), trailing zeros trimmed: `12.5`, `0.000123`. A non-zero amount below one millionth
/// shows as `<0.000001`.
pub fn amount(value: Balance) -> String {
    const SHOWN: u32 = 6;
    let whole = value / UNITS;
    let frac = (value % UNITS) / 10u128.pow(DECIMALS - SHOWN);
    if whole == 0 && frac == 0 && value != 0 {
        return "<0.000001".into();
    }
    let mut s = format!("{whole}.{frac:0width$}", width = SHOWN as usize);
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s
}

/// [`amount`] followed by the token symbol.
pub fn tokens(value: Balance) -> String {
    format!("{} {SYMBOL}", amount(value))
}

/// [`amount`] followed by "points".
pub fn points(value: Balance) -> String {
    format!("{} points", amount(value))
}

/// Every GPU model the chain knows, with its display name.
pub fn gpu_models() -> Vec<(GpuModel, &'static str)> {
    vec![
        (GpuModel::RtxA4000, "RTX A4000"),
        (GpuModel::Rtx3090, "RTX 3090"),
        (GpuModel::Rtx4090, "RTX 4090"),
        (GpuModel::Rtx5090, "RTX 5090"),
        (GpuModel::L4, "L4"),
        (GpuModel::L40S, "L40S"),
        (GpuModel::A10, "A10"),
        (GpuModel::A100Pcie40G, "A100 PCIe 40G"),
        (GpuModel::A100Sxm80G, "A100 SXM 80G"),
        (GpuModel::H100Pcie, "H100 PCIe"),
        (GpuModel::H100Sxm, "H100 SXM"),
        (GpuModel::H200, "H200"),
        // Development only: refused by chains whose genesis did not enable dev models.
        (GpuModel::DevCpu, "DevCpu"),
    ]
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Parse a GPU model, ignoring case, spaces, `-` and `_`: `rtx4090`, `RTX-4090`, `h100-sxm`,
/// `a100sxm80g`.
pub fn parse_gpu_model(input: &str) -> Result<GpuModel> {
    let wanted = squash(input);
    gpu_models()
        .into_iter()
        .find(|(_, name)| squash(name) == wanted)
        .map(|(m, _)| m)
        .ok_or_else(|| {
            anyhow!(
                "unknown GPU model `{input}`; one of: {}",
                gpu_models()
                    .iter()
                    .map(|(_, n)| squash(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// The display name of a GPU model.
pub fn gpu_model(model: &GpuModel) -> &'static str {
    gpu_models()
        .into_iter()
        .find(|(m, _)| m == model)
        .map(|(_, n)| n)
        .unwrap_or("?")
}

/// The display name of a host class.
pub fn host_class(class: &HostClass) -> &'static str {
    match class {
        HostClass::Pc => "PC",
        HostClass::Laptop => "laptop",
        HostClass::Server => "server",
        HostClass::BareMetal => "bare metal",
    }
}

/// The display name of a worker status.
pub fn worker_status(status: &WorkerStatus) -> &'static str {
    match status {
        WorkerStatus::PendingVerification => "pending verification",
        WorkerStatus::Active => "active",
        WorkerStatus::Offline => "offline",
        WorkerStatus::Suspended => "suspended",
        WorkerStatus::Deregistering => "deregistering",
    }
}

/// Why an order failed, in words.
pub fn failure_reason(reason: &FailureReason) -> &'static str {
    match reason {
        FailureReason::NotAccepted => "the worker did not accept it in time",
        FailureReason::Rejected => "the worker rejected it",
        FailureReason::WorkerUnavailable => "the worker went offline or was suspended",
        FailureReason::NoFinalReport => "the worker sent no final usage report",
        FailureReason::ServiceFailed => {
            "the provider could not serve the container (image unavailable or engine failure)"
        }
    }
}

/// How an order's container stopped, in words.
pub fn exit_kind(
    kind: &kaisar_chain_client::kaisar::runtime_types::pallet_orders::types::ExitKind,
) -> String {
    use kaisar_chain_client::kaisar::runtime_types::pallet_orders::types::ExitKind;
    match kind {
        ExitKind::Exited { code } => format!("the container's process exited with code {code}"),
        ExitKind::OomKilled => "killed for exceeding the order's memory limit".into(),
        ExitKind::ImageUnavailable => {
            "the image is unavailable on the host (provider's fault)".into()
        }
        ExitKind::StartFailed => {
            "the container engine could not start it (provider's fault)".into()
        }
    }
}

/// One of an order's exit records, as `kaisar order status` prints it. A provider's fault
/// reported before the container ever ran (restarts 0: the order failed at its first start)
/// says the container could not be started rather than that it exited.
pub fn exit_record(
    at: BlockNumber,
    restarts: u32,
    kind: &kaisar_chain_client::kaisar::runtime_types::pallet_orders::types::ExitKind,
) -> String {
    use kaisar_chain_client::kaisar::runtime_types::pallet_orders::types::ExitKind;
    let provider_fault = matches!(kind, ExitKind::ImageUnavailable | ExitKind::StartFailed);
    if provider_fault && restarts == 0 {
        format!(
            "container not started at block #{at}: {}; the order failed and is refunded",
            exit_kind(kind)
        )
    } else {
        format!(
            "container exit at block #{at} (after {restarts} restart{}): {}",
            if restarts == 1 { "" } else { "s" },
            exit_kind(kind)
        )
    }
}

/// The short name of an order status.
pub fn order_status_name(status: &OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending { .. } => "pending",
        OrderStatus::Running { .. } => "running",
        OrderStatus::Completed { .. } => "completed",
        OrderStatus::Cancelled { .. } => "cancelled",
        OrderStatus::Failed { .. } => "failed",
        OrderStatus::Settling { .. } => "settling",
    }
}

/// A number of blocks with its wall-clock length (6 s blocks): `30 blocks (3 min)`.
pub fn blocks(n: BlockNumber, blocks_per_hour: BlockNumber) -> String {
    let secs = if blocks_per_hour == 0 {
        0
    } else {
        u64::from(n) * 3600 / u64::from(blocks_per_hour)
    };
    let human = if secs < 120 {
        format!("{secs} s")
    } else if secs < 2 * 3600 {
        format!("{} min", secs / 60)
    } else if secs < 2 * 86_400 {
        format!("{:.1} h", secs as f64 / 3600.0)
    } else {
        format!("{:.1} days", secs as f64 / 86_400.0)
    };
    let unit = if n == 1 { "block" } else { "blocks" };
    format!("{n} {unit} ({human})")
}

/// Parse a percentage (`5`, `5%`, `2.5 %`, at most 7 decimals) into parts per billion (what a
/// `Perbill` holds). Refuses more than 100 %.
pub fn parse_percent(input: &str) -> Result<u32> {
    let s = input.trim().trim_end_matches('%').trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if (whole.is_empty() && frac.is_empty())
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        bail!("`{input}` is not a percentage");
    }
    if frac.len() > 7 {
        bail!("`{input}` has more than 7 decimals (the chain counts parts per billion)");
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| anyhow!("`{input}` is over 100 %"))?
    };
    let frac_parts: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>()? * 10u64.pow(7 - frac.len() as u32)
    };
    let parts = whole
        .checked_mul(10_000_000)
        .and_then(|w| w.checked_add(frac_parts))
        .filter(|p| *p <= 1_000_000_000)
        .ok_or_else(|| anyhow!("`{input}` is over 100 %"))?;
    Ok(parts as u32)
}

/// Parts per billion as a percentage: `5 %`, `2.5 %`, `0.0000001 %`.
pub fn percent(parts_per_billion: u32) -> String {
    let whole = parts_per_billion / 10_000_000;
    let frac = parts_per_billion % 10_000_000;
    if frac == 0 {
        return format!("{whole} %");
    }
    let mut f = format!("{frac:07}");
    while f.ends_with('0') {
        f.pop();
    }
    format!("{whole}.{f} %")
}

/// A throughput in GOPS (10^9 INT8 operations a second) as TOPS: `661.2 TOPS`, `0.004 TOPS`.
pub fn tops(gops: u64) -> String {
    if gops >= 100_000 {
        format!("{} TOPS", gops / 1000)
    } else {
        let s = format!("{:.3}", gops as f64 / 1000.0);
        let s = s.trim_end_matches('0').trim_end_matches('.');
        format!("{s} TOPS")
    }
}

/// Bytes as text if they are printable UTF-8, else hex.
pub fn text_or_hex(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => s.to_string(),
        _ => format!("0x{}", hex::encode(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_records_say_whether_the_container_exited_or_never_started() {
        use kaisar_chain_client::kaisar::runtime_types::pallet_orders::types::ExitKind;
        assert_eq!(
            exit_record(12, 0, &ExitKind::ImageUnavailable),
            "container not started at block #12: the image is unavailable on the host \
             (provider's fault); the order failed and is refunded"
        );
        assert_eq!(
            exit_record(30, 1, &ExitKind::Exited { code: 7 }),
            "container exit at block #30 (after 1 restart): the container's process exited \
             with code 7"
        );
        assert_eq!(
            exit_record(40, 2, &ExitKind::StartFailed),
            "container exit at block #40 (after 2 restarts): the container engine could not \
             start it (provider's fault)"
        );
    }

    #[test]
    fn amounts_parse_in_whole_and_fractional_tokens() {
        assert_eq!(parse_amount("6").unwrap(), 6 * UNITS);
        assert_eq!(parse_amount("0.25").unwrap(), UNITS / 4);
        assert_eq!(parse_amount(".5").unwrap(), UNITS / 2);
        assert_eq!(parse_amount("1_000").unwrap(), 1000 * UNITS);
        assert_eq!(parse_amount("0.000000000000000001").unwrap(), 1);
        assert!(parse_amount("").is_err());
        assert!(parse_amount(".").is_err());
        assert!(parse_amount("1.2.3").is_err());
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("0.0000000000000000001").is_err());
        assert!(parse_amount("999999999999999999999999").is_err());
    }

    #[test]
    fn amounts_show_at_most_six_decimals() {
        assert_eq!(amount(0), "0");
        assert_eq!(amount(6 * UNITS), "6");
        assert_eq!(amount(UNITS / 4), "0.25");
        assert_eq!(amount(UNITS + UNITS / 1_000_000), "1.000001");
        assert_eq!(amount(UNITS / 10_000_000), "<0.000001");
        assert_eq!(tokens(2 * UNITS), "2 KAI");
        assert_eq!(points(UNITS / 2), "0.5 points");
    }

    #[test]
    fn gpu_models_parse_loosely_and_round_trip() {
        assert_eq!(parse_gpu_model("rtx4090").unwrap(), GpuModel::Rtx4090);
        assert_eq!(parse_gpu_model("RTX-4090").unwrap(), GpuModel::Rtx4090);
        assert_eq!(parse_gpu_model("h100_sxm").unwrap(), GpuModel::H100Sxm);
        assert_eq!(
            parse_gpu_model("A100 SXM 80G").unwrap(),
            GpuModel::A100Sxm80G
        );
        assert!(parse_gpu_model("gtx1080").is_err());
        for (model, name) in gpu_models() {
            assert_eq!(parse_gpu_model(name).unwrap(), model);
            assert_eq!(gpu_model(&model), name);
        }
    }

    #[test]
    fn percentages_parse_to_parts_per_billion_and_back() {
        assert_eq!(parse_percent("5").unwrap(), 50_000_000);
        assert_eq!(parse_percent("5%").unwrap(), 50_000_000);
        assert_eq!(parse_percent(" 2.5 % ").unwrap(), 25_000_000);
        assert_eq!(parse_percent("100").unwrap(), 1_000_000_000);
        assert_eq!(parse_percent("0.0000001").unwrap(), 1);
        assert!(parse_percent("100.0000001").is_err());
        assert!(parse_percent("101").is_err());
        assert!(parse_percent("99999999999999999999").is_err());
        assert!(parse_percent("0.00000001").is_err());
        assert!(parse_percent("-1").is_err());
        assert!(parse_percent("%").is_err());
        assert!(parse_percent("five").is_err());
        for s in [
            "5 %",
            "2.5 %",
            "0 %",
            "100 %",
            "0.0000001 %",
            "12.3456789 %",
        ] {
            assert_eq!(percent(parse_percent(s).unwrap()), s);
        }
    }

    #[test]
    fn throughput_shows_in_tops() {
        assert_eq!(tops(661_234), "661 TOPS");
        assert_eq!(tops(12_500), "12.5 TOPS");
        assert_eq!(tops(4), "0.004 TOPS");
        assert_eq!(tops(0), "0 TOPS");
    }

    #[test]
    fn block_counts_show_wall_clock_time() {
        assert_eq!(blocks(10, 600), "10 blocks (60 s)");
        assert_eq!(blocks(600, 600), "600 blocks (60 min)");
        assert_eq!(blocks(1, 600), "1 block (6 s)");
        assert_eq!(blocks(6000, 600), "6000 blocks (10.0 h)");
    }
}
