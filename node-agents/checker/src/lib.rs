//! # kaisar-checker
//!
//! The checker daemon: an operator runs it with the account its checker licenses are delegated
//! to, and it does the checkers' part of the on-chain checking protocol
//! (`pallet-popw-attestations`, `docs/checking.md`; the off-chain exchange is `kaisar-popw`,
//! `docs/popw.md`) for every slot the operator holds, regular checks and re-checks alike:
//! commit a nonce, run the PoPW challenge against the worker once the epoch's challenge
//! randomness is drawn, seal the attestation, reveal it, and finalize the check after the reveal
//! deadline if nobody did.
//!
//! - [`core`]: the per-assignment state machine, driven by the best block.
//! - [`state`]: the state file (nonces, salts and attestations are written before any
//!   transaction commits to them).
//! - [`transport`]: the [`transport::Transport`] trait (the four PoPW messages), the exchange
//!   driver and in-process workers for tests.
//! - [`chain`]: the chain as the core sees it, and its implementation over
//!   `kaisar-chain-client`.
//! - [`daemon`]: connect, poll, step, reconnect, stop.
//! - [`keys`], [`config`], [`metrics`].
//!
//! `docs/checker-daemon.md` is the operator's reference.

pub mod chain;
pub mod config;
pub mod core;
pub mod daemon;
pub mod http_transport;
pub mod keys;
pub mod metrics;
pub mod state;
pub mod transport;

pub use crate::core::{Core, CoreConfig, Timeline};
pub use daemon::{run, DaemonConfig};
pub use http_transport::HttpTransport;
pub use keys::OperatorKey;
pub use metrics::Metrics;
pub use transport::{InProcessTransport, InProcessWorker, Transport, TransportError};
