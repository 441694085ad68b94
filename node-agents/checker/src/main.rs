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
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(config.log.filter.as_deref().unwrap_or("info")));
    log_subscriber(filter, config.log.json, std::io::stdout).init();
}

/// The `tracing` subscriber of `[log]`: JSON lines when `json`, else text, to `writer`.
fn log_subscriber<W>(
    filter: EnvFilter,
    json: bool,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        Box::new(builder.json().finish())
    } else {
        Box::new(builder.finish())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// What a subscriber built by [`log_subscriber`] writes for one event.
    fn log_one_event(json: bool) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let writer = move || Sink(sink.clone());
        let subscriber = log_subscriber(EnvFilter::new("info"), json, writer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(worker = 7, "checked");
        });
        let bytes = out.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_json_writes_one_json_object_per_event_and_text_otherwise() {
        let json = log_one_event(true);
        let line: serde_json::Value = serde_json::from_str(json.trim()).expect("a JSON line");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["fields"]["message"], "checked");
        assert_eq!(line["fields"]["worker"], 7);
        let text = log_one_event(false);
        assert!(serde_json::from_str::<serde_json::Value>(text.trim()).is_err());
        assert!(
            text.contains("checked") && text.contains("worker"),
            "{text}"
        );
    }
}
