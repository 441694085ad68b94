//! The agent's Prometheus metrics (`GET /metrics`, text exposition format 0.0.4), kept in
//! atomics: no metrics library.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counters and gauges of the agent.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Orders accepted (containers started and access details posted).
    pub orders_served: AtomicU64,
    /// Orders failed before their container started: rejected (`reject_order`), or reported
    /// on-chain as `ImageUnavailable` / `StartFailed` on the Pending order (`report_exit`).
    pub orders_rejected: AtomicU64,
    /// Usage reports accepted by the chain.
    pub usage_reports: AtomicU64,
    /// Container exits reported on-chain.
    pub exits_reported: AtomicU64,
    /// Containers started again after an exit or an agent restart.
    pub containers_restarted: AtomicU64,
    /// Containers removed because their order was over.
    pub containers_removed: AtomicU64,
    /// Heartbeats accepted by the chain.
    pub heartbeats: AtomicU64,
    /// Transactions that failed (any call).
    pub tx_failures: AtomicU64,
    /// Ticks that waited for transactions of the agent key still in the node's pool.
    pub pool_waits: AtomicU64,
    /// Connections to the node made (the first and every reconnection).
    pub connections: AtomicU64,
    /// 1 while connected to the node.
    pub chain_connected: AtomicU64,
    /// The last best block seen.
    pub best_block: AtomicU64,
    /// This agent's containers at the last block.
    pub containers: AtomicU64,
}

impl Metrics {
    /// Add one to `counter`.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Set `gauge`.
    pub fn set(gauge: &AtomicU64, value: u64) {
        gauge.store(value, Ordering::Relaxed);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(out, "# HELP kaisar_provider_{name} {help}");
            let _ = writeln!(out, "# TYPE kaisar_provider_{name} {kind}");
            let _ = writeln!(out, "kaisar_provider_{name} {}", v.load(Ordering::Relaxed));
        };
        metric(
            "orders_served_total",
            "counter",
            "Orders accepted with a running container.",
            &self.orders_served,
        );
        metric(
            "orders_rejected_total",
            "counter",
            "Orders rejected.",
            &self.orders_rejected,
        );
        metric(
            "usage_reports_total",
            "counter",
            "Usage reports accepted by the chain.",
            &self.usage_reports,
        );
        metric(
            "exits_reported_total",
            "counter",
            "Container exits reported on-chain.",
            &self.exits_reported,
        );
        metric(
            "containers_restarted_total",
            "counter",
            "Containers started again for a Running order.",
            &self.containers_restarted,
        );
        metric(
            "containers_removed_total",
            "counter",
            "Containers removed because their order was over.",
            &self.containers_removed,
        );
        metric(
            "heartbeats_total",
            "counter",
            "Heartbeats accepted by the chain.",
            &self.heartbeats,
        );
        metric(
            "tx_failures_total",
            "counter",
            "Transactions that failed.",
            &self.tx_failures,
        );
        metric(
            "pool_waits_total",
            "counter",
            "Blocks at which the agent waited for its transactions still in the pool.",
            &self.pool_waits,
        );
        metric(
            "chain_connections_total",
            "counter",
            "Connections made to the node.",
            &self.connections,
        );
        metric(
            "chain_connected",
            "gauge",
            "1 while connected to the node.",
            &self.chain_connected,
        );
        metric(
            "best_block",
            "gauge",
            "The last best block seen.",
            &self.best_block,
        );
        metric(
            "containers",
            "gauge",
            "This agent's containers.",
            &self.containers,
        );
        out
    }

    /// `GET /metrics`.
    pub fn router(self: &Arc<Self>) -> Router {
        let metrics = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let body = metrics.render();
                async move {
                    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
                }
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_metric_with_its_value() {
        let m = Metrics::default();
        Metrics::inc(&m.usage_reports);
        Metrics::inc(&m.usage_reports);
        Metrics::set(&m.chain_connected, 1);
        let text = m.render();
        assert!(text.contains("# TYPE kaisar_provider_usage_reports_total counter\n"));
        assert!(text.contains("kaisar_provider_usage_reports_total 2\n"));
        assert!(text.contains("kaisar_provider_chain_connected 1\n"));
        assert!(text.contains("kaisar_provider_orders_served_total 0\n"));
        assert!(text.contains("kaisar_provider_exits_reported_total 0\n"));
    }
}
