//! Prometheus metrics (text exposition format 0.0.4) and the `/metrics` HTTP endpoint.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicI64, AtomicU64, Ordering},
        Mutex,
    },
};

/// The daemon's counters and gauges.
#[derive(Default, Debug)]
pub struct Metrics {
    checks: Mutex<BTreeMap<&'static str, u64>>,
    txs_submitted: Mutex<BTreeMap<&'static str, u64>>,
    txs_failed: Mutex<BTreeMap<(&'static str, String), u64>>,
    dropped: AtomicU64,
    connections: AtomicU64,
    chain_connected: AtomicI64,
    current_epoch: AtomicI64,
    best_block: AtomicI64,
    assignments_open: AtomicI64,
    challenges_running: AtomicI64,
}

impl Metrics {
    /// A challenge ended with `verdict` (label of [`crate::state::VerdictKind`]).
    pub fn check_run(&self, verdict: &'static str) {
        *self.checks.lock().unwrap().entry(verdict).or_default() += 1;
    }

    /// A transaction was included and succeeded.
    pub fn tx_submitted(&self, call: &'static str) {
        *self.txs_submitted.lock().unwrap().entry(call).or_default() += 1;
    }

    /// A transaction failed (`error`: the module error's name, or `transient`/`failed`).
    pub fn tx_failed(&self, call: &'static str, error: &str) {
        *self
            .txs_failed
            .lock()
            .unwrap()
            .entry((call, error.to_string()))
            .or_default() += 1;
    }

    /// An assignment was dropped (its window closed, or the chain refused it).
    pub fn assignment_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the daemon is connected to a node.
    pub fn set_connected(&self, connected: bool) {
        self.chain_connected
            .store(connected as i64, Ordering::Relaxed);
    }

    /// A connection to a node was made (the first, or a reconnection).
    pub fn connection_made(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections made to a node so far (1 + reconnections).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Whether the daemon is connected to a node now.
    pub fn connected(&self) -> bool {
        self.chain_connected.load(Ordering::Relaxed) == 1
    }

    /// The chain's position.
    pub fn set_position(&self, best: u32, epoch: u32) {
        self.best_block.store(best as i64, Ordering::Relaxed);
        self.current_epoch.store(epoch as i64, Ordering::Relaxed);
    }

    /// Assignments in progress and challenges running.
    pub fn set_load(&self, open: usize, running: usize) {
        self.assignments_open.store(open as i64, Ordering::Relaxed);
        self.challenges_running
            .store(running as i64, Ordering::Relaxed);
    }

    /// Checks run with `verdict` so far.
    pub fn checks(&self, verdict: &str) -> u64 {
        self.checks
            .lock()
            .unwrap()
            .get(verdict)
            .copied()
            .unwrap_or(0)
    }

    /// Transactions of `call` that succeeded so far.
    pub fn submitted(&self, call: &str) -> u64 {
        self.txs_submitted
            .lock()
            .unwrap()
            .get(call)
            .copied()
            .unwrap_or(0)
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        out.push_str("# HELP kaisar_checker_checks_total Challenges run, by attested verdict.\n");
        out.push_str("# TYPE kaisar_checker_checks_total counter\n");
        for (v, n) in self.checks.lock().unwrap().iter() {
            let _ = writeln!(out, "kaisar_checker_checks_total{{verdict=\"{v}\"}} {n}");
        }
        out.push_str(
            "# HELP kaisar_checker_txs_submitted_total Transactions included and succeeded, by call.\n",
        );
        out.push_str("# TYPE kaisar_checker_txs_submitted_total counter\n");
        for (c, n) in self.txs_submitted.lock().unwrap().iter() {
            let _ = writeln!(
                out,
                "kaisar_checker_txs_submitted_total{{call=\"{c}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP kaisar_checker_txs_failed_total Transactions that failed, by call and error.\n",
        );
        out.push_str("# TYPE kaisar_checker_txs_failed_total counter\n");
        for ((c, e), n) in self.txs_failed.lock().unwrap().iter() {
            let _ = writeln!(
                out,
                "kaisar_checker_txs_failed_total{{call=\"{c}\",error=\"{}\"}} {n}",
                esc(e)
            );
        }
        let gauges: [(&str, &str, &str, i64); 7] = [
            (
                "kaisar_checker_assignments_dropped_total",
                "counter",
                "Assignments given up (window closed, refused by the chain).",
                self.dropped.load(Ordering::Relaxed) as i64,
            ),
            (
                "kaisar_checker_chain_connections_total",
                "counter",
                "Connections made to a node (the first and every reconnection).",
                self.connections.load(Ordering::Relaxed) as i64,
            ),
            (
                "kaisar_checker_chain_connected",
                "gauge",
                "1 while connected to a node.",
                self.chain_connected.load(Ordering::Relaxed),
            ),
            (
                "kaisar_checker_current_epoch",
                "gauge",
                "The checking epoch of the best block.",
                self.current_epoch.load(Ordering::Relaxed),
            ),
            (
                "kaisar_checker_best_block",
                "gauge",
                "The best block number seen.",
                self.best_block.load(Ordering::Relaxed),
            ),
            (
                "kaisar_checker_assignments_open",
                "gauge",
                "Assignments not done yet.",
                self.assignments_open.load(Ordering::Relaxed),
            ),
            (
                "kaisar_checker_challenges_running",
                "gauge",
                "Challenges in progress.",
                self.challenges_running.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, v) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        out
    }
}

/// Serve `GET /metrics` on `addr` until `shutdown` turns true. Returns the bound address (port
/// 0 picks a free one).
pub async fn serve(
    addr: SocketAddr,
    metrics: std::sync::Arc<Metrics>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    use axum::{http::header, routing::get, Router};
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let m = metrics.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    m.render(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::warn!(error = %e, "metrics server stopped");
        }
    });
    Ok((bound, handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_labelled_counters_and_gauges() {
        let m = Metrics::default();
        m.check_run("pass");
        m.check_run("pass");
        m.tx_submitted("seal");
        m.tx_failed("reveal", "RevealWindowClosed");
        m.set_connected(true);
        m.connection_made();
        m.connection_made();
        m.set_position(45, 2);
        let text = m.render();
        assert!(text.contains("kaisar_checker_checks_total{verdict=\"pass\"} 2"));
        assert!(text.contains("kaisar_checker_txs_submitted_total{call=\"seal\"} 1"));
        assert!(text.contains(
            "kaisar_checker_txs_failed_total{call=\"reveal\",error=\"RevealWindowClosed\"} 1"
        ));
        assert!(text.contains("kaisar_checker_chain_connected 1"));
        assert!(text.contains("kaisar_checker_chain_connections_total 2"));
        assert!(m.connected());
        assert_eq!(m.connections(), 2);
        assert!(text.contains("kaisar_checker_current_epoch 2"));
    }
}
