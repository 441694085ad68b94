//! The daemon loop: connect (with backoff, again whenever the node goes away), poll the best
//! block, step the core, stop gracefully.

use std::{path::PathBuf, sync::Arc, time::Duration};

use kaisar_chain_client::{Client, RetryPolicy};
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::{
    chain::{Chain, ClientChain},
    core::{Core, CoreConfig, CoreError},
    keys::OperatorKey,
    metrics::Metrics,
    state::StateStore,
    transport::Transport,
};

/// What the loop needs besides the core's configuration.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    /// The node's WebSocket URL.
    pub chain_url: String,
    /// The state directory.
    pub state_dir: PathBuf,
    /// How often the best block is polled.
    pub poll_interval: Duration,
    /// Consecutive chain failures after which the daemon reconnects.
    pub reconnect_after_failures: u32,
    /// The core's configuration.
    pub core: CoreConfig,
}

/// Connect, retrying with backoff until it works or `shutdown` is set.
async fn connect(
    url: &str,
    metrics: &Metrics,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Client> {
    let mut pause = Duration::from_millis(500);
    loop {
        let attempt = Client::connect_with(
            url,
            RetryPolicy {
                timeout: Duration::from_secs(30),
                initial_backoff: Duration::from_millis(250),
                max_backoff: Duration::from_secs(4),
            },
        );
        tokio::select! {
            r = attempt => match r {
                Ok(c) => {
                    metrics.connection_made();
                    metrics.set_connected(true);
                    info!(url, "connected");
                    return Some(c);
                }
                Err(e) => {
                    metrics.set_connected(false);
                    warn!(url, error = %e, "cannot connect; retrying");
                }
            },
            _ = shutdown.wait_for(|s| *s) => return None,
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.wait_for(|s| *s) => return None,
        }
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}

/// Run the checker for `key` until `shutdown` turns true: every assignment of the operator is
/// checked through `transport`. Returns after the transaction in flight and with the state
/// saved; an error only if the state cannot be read or written.
pub async fn run(
    config: DaemonConfig,
    key: OperatorKey,
    transport: Arc<dyn Transport>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let account = key.account();
    info!(operator = %account, url = %config.chain_url, "kaisar-checker starting");
    let mut core: Option<Core> = None;
    let mut genesis: Option<[u8; 32]> = None;
    'connection: loop {
        let Some(client) = connect(&config.chain_url, &metrics, &mut shutdown).await else {
            break;
        };
        let chain = ClientChain::new(client, key.tx.clone());
        let chain_genesis = chain.genesis();
        if genesis.is_some_and(|g| g != chain_genesis) {
            anyhow::bail!("the node at {} serves another chain", config.chain_url);
        }
        genesis = Some(chain_genesis);
        let chain: Arc<dyn Chain> = chain;
        let core = match core.as_mut() {
            Some(c) => {
                c.set_chain(chain.clone());
                c
            }
            None => {
                let store = StateStore::open(&config.state_dir, chain_genesis, account.0)?;
                info!(
                    entries = store.entries.len(),
                    path = %store.path().display(),
                    "state loaded"
                );
                let c = Core::new(
                    chain.clone(),
                    transport.clone(),
                    store,
                    key.popw_signer(),
                    config.core.clone(),
                    metrics.clone(),
                );
                let stop = c.stop_flag();
                let mut rx = shutdown.clone();
                tokio::spawn(async move {
                    let _ = rx.wait_for(|s| *s).await;
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                });
                core.insert(c)
            }
        };
        let mut failures = 0u32;
        let mut last_best = None;
        loop {
            if *shutdown.borrow() {
                break 'connection;
            }
            // Step on a new best block, or when a challenge ended.
            let best = match chain.best_number().await {
                Ok(b) => Some(b),
                Err(e) => {
                    failures += 1;
                    warn!(error = %e, failures, "cannot read the best block");
                    None
                }
            };
            if best.is_some() && (best != last_best || core.has_finished_challenge()) {
                match core.step().await {
                    Ok(report) => {
                        failures = 0;
                        metrics.set_connected(true);
                        last_best = Some(report.best);
                    }
                    Err(CoreError::Chain(e)) => {
                        failures += 1;
                        warn!(error = %e, failures, "step failed; retrying");
                    }
                    Err(CoreError::State(e)) => {
                        error!(error = %e, "cannot save the state: stopping");
                        let _ = core.shutdown();
                        return Err(e.into());
                    }
                }
            }
            if failures >= config.reconnect_after_failures.max(1) {
                metrics.set_connected(false);
                warn!("the node does not answer: reconnecting");
                continue 'connection;
            }
            tokio::select! {
                _ = tokio::time::sleep(config.poll_interval) => {}
                _ = shutdown.wait_for(|s| *s) => {}
            }
        }
    }
    if let Some(mut core) = core {
        core.shutdown()?;
        info!(running_aborted = 0, "state saved; stopped");
    }
    metrics.set_connected(false);
    Ok(())
}
