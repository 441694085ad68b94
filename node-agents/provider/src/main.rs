//! `kaisar-provider`: the provider agent. See `docs/provider-agent.md`.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use kaisar_provider::config::{self, Config};
use kaisar_provider::containers::ContainerRuntime;
use kaisar_provider::daemon;
use kaisar_provider::gpu::GpuBackend;
use kaisar_provider::metrics::Metrics;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "kaisar-provider", version, about = "The Kaisar provider agent")]
struct Cli {
    /// The TOML configuration file.
    #[arg(long, env = "KAISAR_PROVIDER_CONFIG")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the GPU inventory (identity, live state, UUID hash, chain model) as JSON.
    Probe,
    /// List this agent's containers (by the `kaisar.agent` label) as JSON.
    Containers,
    /// Run the PoPW responder alone, with the static `[responder.dev]` expectations, until
    /// SIGTERM or ctrl-c (development).
    Serve,
    /// Run the agent: register or find the worker, heartbeat, serve orders in containers,
    /// report usage and exits, answer PoPW challenges checked against the chain, serve
    /// `/metrics`; until SIGTERM or ctrl-c.
    Run,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kaisar-provider: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Probe => probe(&config),
            Command::Containers => containers(&config).await,
            Command::Serve => serve(&config).await,
            Command::Run => run(&config).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            tracing::error!("{}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn init_logging(log: &config::LogConfig) {
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    log_subscriber(filter, log.json, ansi, std::io::stderr).init();
}

/// The `tracing` subscriber of `[log]`: JSON lines when `json`, else text (with colours when
/// `ansi`), to `writer`.
fn log_subscriber<W>(
    filter: tracing_subscriber::EnvFilter,
    json: bool,
    ansi: bool,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    if json {
        Box::new(builder.json().finish())
    } else {
        Box::new(builder.finish())
    }
}

fn open_gpus(config: &Config) -> anyhow::Result<Arc<dyn GpuBackend>> {
    daemon::open_gpus(config)
}

fn probe(config: &Config) -> anyhow::Result<()> {
    let gpus = open_gpus(config)?;
    let started = std::time::Instant::now();
    let report = gpus.report()?;
    tracing::info!(took = ?started.elapsed(), gpus = report.gpus.len(), "probed");
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn containers(config: &Config) -> anyhow::Result<()> {
    let Some(c) = config.containers.clone() else {
        bail!("no [containers] section in the configuration");
    };
    let runtime = ContainerRuntime::connect(c).await?;
    let list: Vec<_> = runtime
        .list()
        .await?
        .into_iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id, "name": c.name, "order_id": c.order_id, "image": c.image,
                "running": c.running, "state": c.state,
            })
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&list)?);
    Ok(())
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    let gpus = open_gpus(config)?;
    let seed = config::load_seed(&config.agent)?;
    let Some(dev) = &config.responder.dev else {
        bail!(
            "`serve` runs the responder alone, with static development expectations: configure \
             [responder.dev], or use `run` (the chain's nonce commitments)"
        );
    };
    let expectations = Arc::new(dev.parse().map_err(anyhow::Error::msg)?);
    tracing::warn!(
        "[responder.dev]: challenges are checked against a static configuration, not the chain"
    );
    let inventory = gpus.probe()?;
    let identities = daemon::identities(&inventory, config.agent.worker_id)?;
    let listener = tokio::net::TcpListener::bind(config.responder.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.responder.listen))?;
    daemon::serve_responder(
        config,
        &seed,
        gpus,
        &inventory,
        identities,
        expectations,
        listener,
        shutdown_signal(),
    )
    .await?;
    tracing::info!("stopped");
    Ok(())
}

async fn run(config: &Config) -> anyhow::Result<()> {
    daemon::run(config, shutdown_signal(), Arc::new(Metrics::default())).await?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or ctrl-c.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot watch SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("ctrl-c: shutting down"),
    }
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
        let filter = tracing_subscriber::EnvFilter::new("info");
        let subscriber = log_subscriber(filter, json, false, writer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(order = 7, "order accepted");
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
        assert_eq!(line["fields"]["message"], "order accepted");
        assert_eq!(line["fields"]["order"], 7);
        let text = log_one_event(false);
        assert!(serde_json::from_str::<serde_json::Value>(text.trim()).is_err());
        assert!(
            text.contains("order accepted") && text.contains("order=7"),
            "{text}"
        );
    }
}
