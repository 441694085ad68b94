//! # The Kaisar provider agent
//!
//! Runs on a GPU host. What exists so far (the chain side, registration and orders, comes
//! next; see `docs/provider-agent.md`):
//!
//! - [`gpu`]: the host's GPUs (identity and live state) through NVML, or a JSON fixture for
//!   development;
//! - [`containers`]: order containers through the Docker Engine API (Docker or Podman's
//!   `podman system service`);
//! - [`responder`]: the worker side of the PoPW exchange over HTTP, whose wire protocol (routes and
//!   a client for the checker daemon) is [`popw_http`];
//! - [`config`]: the TOML configuration and the agent key.

pub mod config;
pub mod containers;
pub mod gpu;
pub mod popw_http;
pub mod responder;
