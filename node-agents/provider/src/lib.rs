//! # The Kaisar provider agent
//!
//! Runs on a GPU host (see `docs/provider-agent.md`):
//!
//! - [`gpu`]: the host's GPUs (identity and live state) through NVML, or a JSON fixture for
//!   development;
//! - [`containers`]: order containers through the Docker Engine API (Docker or Podman's
//!   `podman system service`), with the kernel's word on OOM kills in [`oom`] where the engine
//!   does not report them;
//! - [`responder`]: the worker side of the PoPW exchange over HTTP, whose wire protocol (routes and
//!   a client for the checker daemon) is [`popw_http`], with the chain's expectations from
//!   [`expectations`];
//! - [`agent`]: the chain half: registration, heartbeats, orders, usage and exit reports,
//!   reconciliation after a restart, deciding with the pure [`plan`] and remembering per-order
//!   secrets in [`state`];
//! - [`daemon`]: `kaisar-provider run`, all of it with reconnection and [`metrics`];
//! - [`config`]: the TOML configuration and the keys.

pub mod agent;
pub mod config;
pub mod containers;
pub mod daemon;
pub mod expectations;
pub mod gpu;
pub mod metrics;
pub mod oom;
pub mod plan;
/// The wire protocol, from its own crate (the checker daemon's client lives there too).
pub use kaisar_popw_http as popw_http;
pub mod responder;
pub mod state;
