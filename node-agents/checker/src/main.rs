//! `kaisar-checker --config checker.toml`: see `docs/checker-daemon.md`.

use std::{path::PathBuf, sync::Arc, time::Duration};

use clap::Parser;
use kaisar_checker::{
    config::Config, daemon, keys::OperatorKey, metrics, DaemonConfig, HttpTransport, Metrics,
    Transport,
};
use tracing_subscriber::EnvFilter;

/// The Kaisar checker daemon: checks the workers assigned to the operator's slots.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The TOML configuration file.
    #[arg(long, short)]
    config: PathBuf,
    /// Check the configuration and the key, print the operator account, and exit.
    #[arg(long)]
    check: bool,
}

fn init_logs(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(config.log.filter.as_deref().unwrap_or("info")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log.json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config::load(&args.config)?;
    let key = OperatorKey::load(config.key_file.as_deref())?;
    let core = config.core()?;
    if args.check {
        println!("operator {}", key.account());
        return Ok(());
    }
    init_logs(&config);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = config.metrics_addr {
        let (bound, _) = metrics::serve(addr, metrics.clone(), stop_rx.clone()).await?;
        tracing::info!(%bound, "metrics on /metrics");
    }
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("stopping after the transaction in flight");
        let _ = stop_tx.send(true);
    });
    let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(Duration::from_secs(
        config.check.request_timeout_secs,
    )));
    daemon::run(
        DaemonConfig {
            chain_url: config.chain_url.clone(),
            state_dir: config.state_dir.clone(),
            poll_interval: Duration::from_millis(config.poll_interval_ms),
            reconnect_after_failures: config.reconnect_after_failures,
            core,
        },
        key,
        transport,
        metrics,
        stop_rx,
    )
    .await
}
